"""``FakeCmon``: the real fakecmon server, started from Python for tests.

    with FakeCmon() as cmon:
        client = cmon.client("system", "secret")
        client.call("/v2/clusters", "getAllClusterInfo")
        cmon.assert_called("getAllClusterInfo", times=1)

The server runs over TLS on an ephemeral port through exactly the code path of
``fakecmon serve``: in a background thread with its own event loop (``with`` /
``start()``), or in the caller's event loop (``async with`` / ``await astart()``).
Its state (world, journal, faults, clock) is only touched on the server's loop;
the methods here get there through ``run()``.
"""

from __future__ import annotations

import asyncio
import ssl
import tempfile
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import orjson

from fakecmon import control
from fakecmon.certs import CertPaths, ensure_certificates
from fakecmon.client import RpcClient
from fakecmon.clock import Clock
from fakecmon.contract import Usage, findings_text
from fakecmon.controller import DEFAULT_WORLD, Config, Controller
from fakecmon.faults import Fault
from fakecmon.journal import Entry, Filter, closest
from fakecmon.server import CmonServer, server_ssl_context
from fakecmon.world import accounts, export
from fakecmon.world.yamlfile import Node, parse_yaml, read_yaml

T = TypeVar("T")
#: Running servers (the pytest plugin checks the strict ones after each test) and the
#: counts of the stopped ones (``pytest --fakecmon-report``).
_LIVE: "weakref.WeakSet[FakeCmon]" = weakref.WeakSet()
SESSION_USAGE = Usage()
#: Findings of strict servers that stopped during the current test.
STOPPED_FINDINGS: list[Entry] = []
IN_TEST = False     # set by the pytest plugin while a test function runs
WorldSpec = str | Path | list[str | Path] | tuple[str | Path, ...] | None


class FaultHandle:
    """An active fault: ``fired`` counts the requests it hit; ``clear()`` (or ``with``) ends it."""

    def __init__(self, cmon: "FakeCmon", fault: Fault) -> None:
        self._cmon = cmon
        self._fault = fault
        self.id = fault.id
        self.kind = fault.kind

    @property
    def fired(self) -> int:
        return self._fault.fired

    @property
    def active(self) -> bool:
        return self._cmon.run(lambda c: any(f.id == self.id for f in c.faults))

    def clear(self) -> None:
        self._cmon.run(lambda c: c.faults.remove(self.id))

    def __enter__(self) -> "FaultHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.clear()

    def __repr__(self) -> str:
        return f"<fault {self.id} {self.kind} fired={self.fired}>"


class FakeCmon:
    """One fakecmon server for tests; see the module docstring."""

    def __init__(self, world: WorldSpec = None, port: int = 0, *, bind: str = "127.0.0.1",
                 certs_dir: str | Path | None = None, controller_id: str | None = None,
                 strict: bool = False, **config: Any) -> None:
        worlds = [world] if isinstance(world, (str, Path)) else list(world or [DEFAULT_WORLD])
        self.config = Config(world_paths=[Path(w) for w in worlds], controller_id=controller_id,
                             strict=strict, **config)
        #: Strict: the pytest plugin fails a test whose requests had contract findings
        #: (fakecmon/contract.py) and the server logs a WARNING for each finding.
        self.strict = strict
        self._contract_mark = 0
        self.bind = bind
        self.port = port
        self._certs_dir = Path(certs_dir) if certs_dir else None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.certs: CertPaths | None = None
        self.controller: Controller | None = None
        self._server: CmonServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread_id: int | None = None
        self._thread: threading.Thread | None = None
        self._parsed: dict[Path, tuple[float, Node]] = {}

    # ---- life cycle

    def _prepare(self) -> None:
        if self._certs_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="fakecmon-certs-")
            self._certs_dir = Path(self._tmp.name)
        self.certs = ensure_certificates(self._certs_dir, [self.bind])
        self.config.ca_cert = self.certs.ca_cert
        self.controller = Controller(self.config, Clock())
        self._server = CmonServer(self.controller,
                                  server_ssl_context(str(self.certs.cert), str(self.certs.key)),
                                  [self.bind], self.port)

    def start(self) -> "FakeCmon":
        """Start the server in a background thread; returns once it accepts connections."""
        if self._loop is not None:
            raise RuntimeError("This FakeCmon is already running.")
        self._prepare()
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            assert self._loop is not None and self._server is not None
            asyncio.set_event_loop(self._loop)
            self._loop_thread_id = threading.get_ident()
            try:
                self.port = self._loop.run_until_complete(self._server.start())
            except BaseException as exc:  # noqa: BLE001 - reported to start()
                failure.append(exc)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._server.stop())
            self._loop.close()

        _LIVE.add(self)
        self._thread = threading.Thread(target=run, name="fakecmon", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._loop = self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._thread is None and self._loop is not None:
            raise RuntimeError("This FakeCmon runs in an event loop: use 'await astop()'.")
        self._keep_usage()
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
        self._loop = self._thread = None
        self._cleanup()

    async def astart(self) -> "FakeCmon":
        """Start the server in the running event loop (for aiohttp / anyio tests)."""
        if self._loop is not None:
            raise RuntimeError("This FakeCmon is already running.")
        self._prepare()
        assert self._server is not None
        self._loop = asyncio.get_running_loop()
        self._loop_thread_id = threading.get_ident()
        try:
            self.port = await self._server.start()
        except BaseException:
            self._loop = None
            raise
        _LIVE.add(self)
        return self

    async def astop(self) -> None:
        self._keep_usage()
        if self._server is not None and self._thread is None and self._loop is not None:
            await self._server.stop()
        self._loop = None
        self._cleanup()

    def _keep_usage(self) -> None:
        """A stopping server's counts go to the session's coverage report."""
        if self.controller is not None and self._loop is not None:
            if self.strict and IN_TEST:   # a test's own strict server, stopped inside it
                STOPPED_FINDINGS.extend(self.findings_since_mark())

            def take(c: Controller) -> dict[str, Any]:
                doc = c.usage.report()
                c.usage.clear()
                return doc
            SESSION_USAGE.merge(self.run(take))
        _LIVE.discard(self)

    def _cleanup(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self._certs_dir = None

    def __enter__(self) -> "FakeCmon":
        return self.start()



    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> "FakeCmon":
        return await self.astart()

    async def __aexit__(self, *exc: object) -> None:
        await self.astop()

    # ---- what a test needs to reach the server

    @property
    def base_url(self) -> str:
        host = f"[{self.bind}]" if ":" in self.bind else self.bind
        return f"https://{host}:{self.port}"

    @property
    def url(self) -> str:
        """``https://127.0.0.1:PORT/v2``, what clients are configured with."""
        return self.base_url + "/v2"

    @property
    def control_url(self) -> str:
        return self.base_url + control.PREFIX

    @property
    def ca_path(self) -> Path:
        assert self.certs is not None, "start() first"
        return self.certs.ca_cert

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's CA (and checks the host name)."""
        return ssl.create_default_context(cafile=str(self.ca_path))

    @property
    def controller_id(self) -> str:
        return self.run(lambda c: c.world.controller_id)

    def client(self, user: str | None = None, password: str | None = None) -> RpcClient:
        """An RpcClient for this server; logged in when ``user`` and ``password`` are given."""
        client = RpcClient(self.base_url, self.ssl_context())
        if user is not None:
            reply = client.login(user, password or "")
            if reply.get("request_status") != "Ok":
                raise AssertionError(f"fakecmon: login as {user!r} failed: "
                                     f"{reply.get('request_status')} "
                                     f"{reply.get('error_string', '')}".rstrip())
        return client

    # ---- state, changed on the server's own loop

    def run(self, fn: Callable[[Controller], T]) -> T:
        """Run ``fn(controller)`` on the server's loop (state is only touched there)."""
        assert self._loop is not None and self.controller is not None, "start() first"
        controller = self.controller

        def changing() -> T:
            try:
                return fn(controller)
            finally:
                controller.world.changed()   # fn may change the world: views are stale

        if threading.get_ident() == self._loop_thread_id:
            return changing()

        async def call() -> T:
            return changing()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result()

    def reset(self, *, world: bool = True, journal: bool = True, faults: bool = True,
              clock: bool = True, sessions: bool = True) -> None:
        """Back to how the server started: cheap, no restart.

        The startup world files (already parsed), an empty journal, no faults,
        real time and no sessions; each part can be kept (``sessions=False``...).
        Named snapshots stay.
        """
        self.run(lambda c: control.full_reset(c, world=world, journal=journal, faults=faults,
                                              clock=clock, sessions=sessions))

    def _parse(self, path: str | Path) -> tuple[Path, Node]:
        """A world file, parsed once per modification (worlds switch per test, cheaply)."""
        p = Path(path).resolve()
        mtime = p.stat().st_mtime if p.exists() else -1.0
        cached = self._parsed.get(p)
        if cached is None or cached[0] != mtime:
            cached = (mtime, read_yaml(p))
            self._parsed[p] = cached
        return p, cached[1]

    def load(self, *paths: str | Path, replace: bool = False) -> None:
        """Add world files to the current world (or replace it); ``reset()`` undoes it.

        Atomic: an invalid file raises WorldError (naming file, line and cause) and
        the world is unchanged.
        """
        files = [self._parse(p) for p in paths]
        self.run(lambda c: control.load_world(c, files, replace=replace))

    def load_yaml(self, text: str, *, replace: bool = False, name: str = "inline.yaml") -> None:
        """Like ``load()`` with world file text instead of a path."""
        files = [(Path(name), parse_yaml(text, Path(name)))]
        self.run(lambda c: control.load_world(c, files, replace=replace))

    def use_world(self, *paths: str | Path, extend: bool = False) -> None:
        """Serve exactly these world files (or the startup ones plus these) until reset."""
        files = [self._parse(p) for p in paths]
        self.run(lambda c: c.replace_files([*c.startup_files, *files] if extend else files))

    def snapshot(self, name: str) -> None:
        """Save the world as it is now under ``name`` (resets keep snapshots).

        The clock is not part of it: a restored world catches up with the time
        as it is then (jobs that were running may have finished).
        """
        self.run(lambda c: control.save_snapshot(c, name))

    def restore(self, name: str) -> None:
        """Bring back a saved world (it can be restored again later)."""
        self.run(lambda c: control.restore_snapshot(c, name))

    def expire_sessions(self, user: str | None = None) -> int:
        """End ``user``'s sessions (or everybody's) now; returns how many ended."""
        return self.run(lambda c: control.expire_sessions(c, user))

    def password_reset_token(self, user: str) -> str | None:
        """The live token a ``passwordReset`` request made for ``user`` (the "mail" CMON sends)."""
        return self.run(lambda c: accounts.reset_token(c.world, user))

    def export_world(self, format: str = "yaml") -> str:
        """Everything the world holds as a world file (``load_yaml`` or ``--world`` loads it back);
        ``format="json"`` for JSON. Passwords are written as hashes, never in plain."""
        if format not in ("yaml", "json"):
            raise ValueError(f"Unknown format '{format}' (yaml or json).")
        doc = self.run(control.export_now)
        return export.to_yaml(doc) if format == "yaml" else export.to_json(doc).decode()

    # ---- the clock

    def now(self) -> float:
        return self.run(lambda c: c.clock.now())

    def advance(self, seconds: float) -> float:
        """Move the controller clock forward (jobs progress with it); no sleeping."""
        return self.run(lambda c: c.clock.advance(seconds))

    def set_time(self, when: float | str) -> float:
        """Jump to epoch seconds or an RFC 3339 time."""
        t = control.to_epoch(when)
        return self.run(lambda c: c.clock.set(t))

    def freeze(self) -> float:
        return self.run(lambda c: c.clock.freeze())

    def unfreeze(self) -> float:
        return self.run(lambda c: c.clock.unfreeze())

    # ---- faults

    def fault(self, kind: str, *, operation: str | None = None, path: str | None = None,
              user: str | None = None, times: int | None = None,
              fraction: float | None = None, seed: int | None = None,
              **fields: Any) -> FaultHandle:
        """Make matching requests fail; see ``fakecmon.faults`` for the kinds and fields.

            cmon.fault("status", operation="getAllClusterInfo", request_status="TryAgain",
                       message="Busy.", times=1)
            cmon.fault("drop", path="/v2/jobs", fraction=0.3, seed=7)
            cmon.fault("expire", target_user="system", times=1)
        """
        spec = {"kind": kind, "operation": operation, "path": path, "user": user,
                "times": times, "fraction": fraction, "seed": seed, **fields}
        spec = {k: v for k, v in spec.items() if v is not None}
        return FaultHandle(self, self.run(lambda c: c.faults.add(spec)))

    def clear_faults(self) -> None:
        self.run(lambda c: c.faults.clear())

    # ---- the journal

    def requests(self, operation: str | None = None, *, path: str | None = None,
                 user: str | None = None, status: str | None = None,
                 with_fields: dict[str, Any] | None = None) -> list[Entry]:
        """Journal entries (oldest first) matching every given criterion."""
        flt = Filter(path=path, operation=operation, user=user, status=status,
                     fields=dict(with_fields or {}))
        return self.run(lambda c: c.journal.select(flt))

    def clear_requests(self) -> None:
        self.run(lambda c: c.journal.clear())

    def journal_text(self, limit: int = 20) -> str:
        """The last requests received, one line each (what failure reports show)."""
        entries, total = self.run(lambda c: (c.journal.select(limit=limit), c.journal.total))
        if not entries:
            return "fakecmon received no request."
        head = f"fakecmon received {total} request(s)"
        head += f"; the last {len(entries)}:" if total > len(entries) else ":"
        return "\n".join([head, *(f"  {e.line()}" for e in entries)])

    def assert_called(self, operation: str | None = None, *, times: int | None = None,
                      with_fields: dict[str, Any] | None = None, path: str | None = None,
                      user: str | None = None, status: str | None = None) -> list[Entry]:
        """Check that the server received matching requests: ``times`` exactly, else at least one.

        ``with_fields`` must be a subset of the request body (dicts compared
        recursively; masked secrets read ``********``). On failure the message
        lists the closest requests received and what differs in each.
        """
        flt = Filter(path=path, operation=operation, user=user, status=status,
                     fields=dict(with_fields or {}))

        def check(c: Controller) -> tuple[list[Entry], list[Entry]]:
            return c.journal.select(flt), c.journal.select()

        found, everything = self.run(check)
        if (times is None and found) or (times is not None and len(found) == times):
            return found
        want = _describe(operation, path, user, status, with_fields)
        expected = "at least once" if times is None else _times(times)
        lines = [f"fakecmon: expected {want} {expected}; received {_times(len(found))}."]
        if times is not None and found:
            lines.append("Matching requests:")
            lines.extend(f"  {e.line()}" for e in found[-10:])
        elif not everything:
            lines.append("No request was received at all.")
        else:
            lines.append(f"Closest of the {len(everything)} request(s) received:")
            for entry, diffs in closest(everything, operation, path, with_fields):
                differs = f"\n      differs: {', '.join(diffs)}" if diffs else ""
                lines.append(f"  {entry.line()}{differs}")
        raise AssertionError("\n".join(lines))

    def assert_not_called(self, operation: str | None = None, **criteria: Any) -> None:
        self.assert_called(operation, times=0, **criteria)

    # ---- the request contract (fakecmon/contract.py)

    def contract_findings(self) -> list[Entry]:
        """Journal entries (oldest first) whose requests had contract findings: unknown
        fields, wrong types, unknown job commands or job_data keys."""
        return self.run(lambda c: [e for e in c.journal.select() if e.contract])

    def assert_contract_clean(self) -> None:
        """Check that every request in the journal kept to the request contract; the
        message lists each request with its findings (CMON would have ignored them)."""
        flagged = self.contract_findings()
        if flagged:
            raise AssertionError(findings_text(flagged))

    def report(self) -> dict[str, Any]:
        """The coverage report of this server so far: per operation called, calls,
        statuses and findings; the operations of the paths used never called."""
        return self.run(lambda c: c.usage.report())

    def mark_contract(self) -> None:
        """Start a new strict-mode window (the plugin does this before each test)."""
        self._contract_mark = self.run(lambda c: c.usage.total)

    def findings_since_mark(self) -> list[Entry]:
        """Requests with findings since ``mark_contract`` (those the journal lost too)."""
        mark = self._contract_mark
        return self.run(lambda c: c.usage.flagged_since(mark))


def _times(n: int) -> str:
    return {0: "0 times", 1: "once", 2: "twice"}.get(n, f"{n} times")


def _describe(operation: str | None, path: str | None, user: str | None, status: str | None,
              fields: dict[str, Any] | None) -> str:
    parts = [operation or "a request"]
    if path:
        parts.append(f"on {path}")
    if user:
        parts.append(f"from {user}")
    if status:
        parts.append(f"answered {status}")
    if fields:
        parts.append(f"with {orjson.dumps(fields).decode()}")
    return " ".join(parts)
