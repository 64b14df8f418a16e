"""fakecmon: a faithful, stateful stand-in for the ClusterControl controller (CMON)."""

__version__ = "0.1.0"

#: The CMON version fakecmon reports in ``Server: cmon/<version>`` and ``ping``.
CMON_VERSION = "2.3.1"

#: ``package_bugreport`` of ping replies.
PACKAGE_BUGREPORT = "fakecmon maintainers (see README.md)"

__all__ = ["FakeCmon", "FaultHandle", "DEFAULT_WORLD", "CMON_VERSION", "__version__"]


def __getattr__(name: str):  # noqa: ANN202 - lazy, so that ``import fakecmon`` stays light
    """``fakecmon.FakeCmon`` and friends, imported on first use (no import cycles)."""
    if name in ("FakeCmon", "FaultHandle"):
        from fakecmon import testing
        return getattr(testing, name)
    if name == "DEFAULT_WORLD":
        from fakecmon.controller import DEFAULT_WORLD
        return DEFAULT_WORLD
    raise AttributeError(f"module 'fakecmon' has no attribute {name!r}")
