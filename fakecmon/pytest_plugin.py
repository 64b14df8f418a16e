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

Contract testing (fakecmon/contract.py): ``--fakecmon-strict`` (or the ``fakecmon_strict``
ini setting, or ``FakeCmon(strict=True)`` for a server of your own, or the marker
``@pytest.mark.fakecmon_strict``) fails a test whose requests had contract findings,
after the test ran, listing each request and finding; ``@pytest.mark.fakecmon_strict(False)``
exempts one test. ``--fakecmon-report=FILE.json`` writes the coverage report of every
server of the session (calls, statuses, findings per operation; the operations of the
paths used that were never called) and the terminal summary shows it as a table.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from fakecmon.testing import FakeCmon

MARKER = "cmon_world"
STRICT_MARKER = "fakecmon_strict"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fakecmon")
    group.addoption("--fakecmon-world", action="append", default=None, metavar="FILE",
                    help="world file of the fakecmon test server (repeatable)")
    parser.addini("fakecmon_world", type="linelist", default=[],
                  help="world files of the fakecmon test server (relative to the rootdir)")
    parser.addini("fakecmon_journal_size", default="1000",
                  help="requests the fakecmon journal keeps")
    group.addoption("--fakecmon-strict", action="store_true", default=None,
                    help="fail tests whose requests break fakecmon's request contract "
                         "(unknown fields, wrong types, unknown job commands)")
    parser.addini("fakecmon_strict", type="bool", default=False,
                  help="fail tests whose requests break fakecmon's request contract")
    group.addoption("--fakecmon-report", metavar="FILE.json", default=None,
                    help="write fakecmon's coverage report (operations called, statuses, "
                         "contract findings, operations never called) to FILE.json")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(*files, extend=False): serve these fakecmon world files "
                   "(relative to the test file) to this test")
    config.addinivalue_line(
        "markers", f"{STRICT_MARKER}(on=True): fail this test on fakecmon contract findings "
                   "(False exempts it from --fakecmon-strict)")


def session_strict(config: pytest.Config) -> bool:
    given = config.getoption("--fakecmon-strict")
    return bool(given) if given is not None else bool(config.getini("fakecmon_strict"))


def _test_strict(item: pytest.Item, server: "FakeCmon") -> bool:
    marker = item.get_closest_marker(STRICT_MARKER)
    if marker is not None:
        return bool(marker.args[0]) if marker.args else True
    return server.strict


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
    with FakeCmon(world=_session_worlds(pytestconfig), journal_size=size,
                  strict=session_strict(pytestconfig)) as server:
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


_BEFORE: list[set[int]] = []     # ids of servers running when a (nested) session began
_OUTER_USAGE: list[Any] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    """A session counts only its own servers (pytester runs sessions inside sessions)."""
    from fakecmon import testing
    from fakecmon.contract import Usage
    _BEFORE.append({id(s) for s in list(testing._LIVE)})
    _OUTER_USAGE.append(testing.SESSION_USAGE)
    testing.SESSION_USAGE = Usage()
    session.config._fakecmon_session = True      # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    from fakecmon import testing
    if getattr(config, "_fakecmon_session", False) and _OUTER_USAGE:
        testing.SESSION_USAGE = _OUTER_USAGE.pop()
        _BEFORE.pop()


def _live_servers() -> list["FakeCmon"]:
    from fakecmon import testing
    before = _BEFORE[-1] if _BEFORE else set()
    return [s for s in list(testing._LIVE) if s.controller is not None and id(s) not in before]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Each test gets a fresh strict-mode window on every running server."""
    from fakecmon import testing
    testing.STOPPED_FINDINGS.clear()
    for server in _live_servers():
        try:
            server.mark_contract()
        except Exception:  # noqa: BLE001 - a server stopping meanwhile
            pass
    testing.IN_TEST = True
    try:
        yield
    finally:
        testing.IN_TEST = False


def _contract_failure(item: pytest.Item) -> str | None:
    from fakecmon import testing
    from fakecmon.contract import findings_text
    texts = []
    marker = item.get_closest_marker(STRICT_MARKER)
    stopped = list(testing.STOPPED_FINDINGS)
    testing.STOPPED_FINDINGS.clear()
    if stopped and (marker is None or not marker.args or marker.args[0]):
        texts.append(findings_text(stopped))
    for server in _live_servers():
        if not _test_strict(item, server):
            continue
        try:
            flagged = server.findings_since_mark()
        except Exception:  # noqa: BLE001
            continue
        if flagged:
            texts.append(findings_text(flagged))
    return "\n".join(texts) or None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        failure = _contract_failure(item)
        if failure is not None:
            if report.passed:
                report.outcome = "failed"
                report.longrepr = failure
            else:
                report.sections.append(("fakecmon contract", failure))
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


# ---- the coverage report

@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    from fakecmon import testing
    for server in _live_servers():       # servers a test left running count as well
        try:
            testing.SESSION_USAGE.merge(server.report())
        except Exception:  # noqa: BLE001
            pass
    config = session.config
    if hasattr(config, "workerinput"):   # an xdist worker: the controller merges
        config.workeroutput["fakecmon_usage"] = testing.SESSION_USAGE.report()
        return
    path = config.getoption("--fakecmon-report")
    if path:
        _write_report(Path(config.invocation_params.dir, path), testing.SESSION_USAGE.report())


def pytest_testnodedown(node: Any, error: Any) -> None:
    from fakecmon import testing
    doc = getattr(node, "workeroutput", {}).get("fakecmon_usage")
    if doc:
        testing.SESSION_USAGE.merge(doc)


def _write_report(path: Path, doc: dict[str, Any]) -> None:
    import json
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(path)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not config.getoption("--fakecmon-report") or hasattr(config, "workerinput"):
        return
    from fakecmon import testing
    from fakecmon.contract import summary_table
    terminalreporter.section("fakecmon coverage")
    for line in summary_table(testing.SESSION_USAGE.report()):
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"report: {config.getoption('--fakecmon-report')}")
