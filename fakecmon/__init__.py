"""fakecmon: a faithful, stateful stand-in for the ClusterControl controller (CMON)."""

__version__ = "0.1.0"

#: The CMON version fakecmon reports in ``Server: cmon/<version>`` and ``ping``.
CMON_VERSION = "2.3.1"

#: ``package_bugreport`` of ping replies.
PACKAGE_BUGREPORT = "fakecmon maintainers (see README.md)"
