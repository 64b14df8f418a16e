"""pytest plugin (``pytest11`` entry point): a real fakecmon server for every test session.

Fixtures:

``fakecmon_server``  session-scoped ``FakeCmon`` (one per xdist worker, ephemeral port)
``cmon``             the same server, reset before the test: the startup world, an
                     empty journal, no faults and real time (a reset, not a restart)

Marker: ``@pytest.mark.cmon_world("worlds/small.yaml", extend=False)`` serves those
world files (paths relative to the test file) to that test; ``extend=True`` adds them
to the session's world instead of replacing it. Options: ``--fakecmon-world FILE``
(repeatable) or the ``fakecmon_world`` ini setting choose the session's world;
``fakecmon_journal_size`` sizes the journal.

When a test that used ``cmon`` fails, its report gets a "fakecmon requests" section
listing what the server received.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from fakecmon.testing import FakeCmon

MARKER = "cmon_world"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fakecmon")
    group.addoption("--fakecmon-world", action="append", default=None, metavar="FILE",
                    help="world file of the fakecmon test server (repeatable)")
    parser.addini("fakecmon_world", type="linelist", default=[],
                  help="world files of the fakecmon test server (relative to the rootdir)")
    parser.addini("fakecmon_journal_size", default="1000",
                  help="requests the fakecmon journal keeps")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(*files, extend=False): serve these fakecmon world files "
                   "(relative to the test file) to this test")


def _session_worlds(config: pytest.Config) -> list[Path] | None:
    given = config.getoption("--fakecmon-world")
    if given:
        return [Path(config.invocation_params.dir, p) for p in given]
    ini = config.getini("fakecmon_world")
    if ini:
        return [Path(config.rootpath, p) for p in ini]
    return None


@pytest.fixture(scope="session")
def fakecmon_server(pytestconfig: pytest.Config) -> Iterator["FakeCmon"]:
    """One fakecmon server for the whole session (per xdist worker)."""
    from fakecmon.testing import FakeCmon

    size = int(pytestconfig.getini("fakecmon_journal_size"))
    with FakeCmon(world=_session_worlds(pytestconfig), journal_size=size) as server:
        yield server


@pytest.fixture
def cmon(fakecmon_server: "FakeCmon", request: pytest.FixtureRequest) -> "FakeCmon":
    """The session's fakecmon server, reset for this test: world, journal, faults, clock."""
    fakecmon_server.reset()
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        base = request.path.parent
        files = [Path(base, f) for f in marker.args]
        if not files:
            raise pytest.UsageError(f"@pytest.mark.{MARKER} needs at least one world file")
        fakecmon_server.use_world(*files, extend=bool(marker.kwargs.get("extend", False)))
    return fakecmon_server


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    server = getattr(item, "funcargs", {}).get("cmon")
    text = getattr(server, "journal_text", None)
    if text is None:
        return
    try:
        report.sections.append(("fakecmon requests", text()))
    except Exception as exc:  # noqa: BLE001 - never hide the test's own failure
        report.sections.append(("fakecmon requests", f"(journal unavailable: {exc})"))
