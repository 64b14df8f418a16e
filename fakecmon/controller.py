"""The controller: configuration, clock, world and sessions of one fakecmon server."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fakecmon.clock import Clock
from fakecmon.connections import HANDSHAKE_TIMEOUT, IDLE_TIMEOUT, MAX_CONNECTIONS
from fakecmon.contract import Usage, request_contracts
from fakecmon.events import Event, emit
from fakecmon.faults import Faults
from fakecmon.journal import Journal
from fakecmon.sessions import SessionStore
from fakecmon.world import logs, passwords
from fakecmon.world.jobs import MAX_ENDED_JOBS, Archive, jobs_of
from fakecmon.world.loader import build_world
from fakecmon.world.logs import LogFile
from fakecmon.world.models import User
from fakecmon.world.pristine import Pristine
from fakecmon.world.state import World
from fakecmon.world.yamlfile import Node, for_one_build, light, no_gc, read_yaml

#: The default world (``fixtures/default.yaml``, shipped inside the package as well).
DEFAULT_WORLD = Path(__file__).resolve().parent / "data" / "default.yaml"

#: Called with (controller, world) whenever a world is built (start, reset, reload),
#: so that areas such as jobs can set up their state in ``world.extensions``.
WORLD_HOOKS: list[Callable[["Controller", World], None]] = []

import fakecmon.api  # noqa: E402,F401  (registers operations, world sections and hooks)
from fakecmon.world import export as _export  # noqa: E402

_export.register()  # the 'saved' section of exports loads after every area's sections


@dataclass
class Config:
    world_paths: list[Path] = field(default_factory=lambda: [DEFAULT_WORLD])
    controller_id: str | None = None
    #: HTTP status of AuthRequired replies: 401 lets cmon-proxy and the Java SDK log in again.
    auth_required_http_status: int = 401
    max_body_size: int = 8 * 1024 * 1024
    session_idle_timeout: float = 1800.0
    max_sessions: int = 100_000
    #: Bounds of ``fakecmon serve`` (see ``fakecmon.connections`` and ``serve --help``).
    max_connections: int = MAX_CONNECTIONS
    handshake_timeout: float = HANDSHAKE_TIMEOUT
    idle_timeout: float = IDLE_TIMEOUT
    #: Ended jobs kept (oldest ended first fall out); jobs not ended are always kept.
    max_jobs: int = MAX_ENDED_JOBS
    #: Event-stream subscribers at once; one more gets TryAgain.
    max_subscribers: int = 256
    #: Named world snapshots (control API) at once.
    max_snapshots: int = 64
    #: Requests kept in the journal (a ring buffer: the oldest fall out).
    journal_size: int = 1000
    #: Token the control API (/_fakecmon/) asks for; without one, loopback peers only.
    control_token: str | None = None
    #: Where passwordReset "mails" its token (``<dir>/<email>/email_NNNN.json``, as CMON
    #: spools mails); the token is also kept for ``FakeCmon.password_reset_token``.
    password_reset_mail_dir: Path | None = None
    #: Where mails are also delivered as the local mail system does (``<dir>/<user>``,
    #: one mbox per recipient's local part), like CMON's mail through ``/var/mail``.
    mail_spool: Path | None = None
    #: A file the controller log (what ``/v2/log`` lists) is also appended to, one line an
    #: entry, as CMON writes its log file (s9s's functional tests grep it).
    log_file: Path | None = None
    #: The local CA certificate, served to anyone at ``GET /_fakecmon/ca.pem`` (None
    #: when the server runs on a certificate of the user's own, ``--cert``).
    ca_cert: Path | None = None
    #: Log one WARNING per contract finding (fakecmon/contract.py); the findings are in
    #: the journal either way, and the pytest plugin fails tests on them when strict.
    strict: bool = False


#: Parts of a world that never change once loaded (the jobs that had ended): the
#: pristine copy refers to them instead of holding copies.
SHARED_TYPES: tuple[type, ...] = (Archive,)


#: A world that takes longer than this to build is big (see Controller.__init__).
BIG_BUILD_SECONDS = 0.5


class Controller:
    """Owns the state that handlers read and change; ``reset()`` brings back the loaded world."""

    def __init__(self, config: Config | None = None, clock: Clock | None = None) -> None:
        self.config = config or Config()
        self.clock = clock or Clock()
        files = [(Path(p), for_one_build(read_yaml(Path(p)))) for p in self.config.world_paths]
        self.log_file = LogFile(self.config.log_file) if self.config.log_file else None
        self._pristine: Pristine | None = None
        self._collected = 0      # Pristine.unpickled at the last collection
        self._build_seconds = 0.0
        self.world = self._serve(self._build(files))
        self.files: list[tuple[Path, Node]] = [(p, light(data)) for p, data in files]
        if self._build_seconds > BIG_BUILD_SECONDS:
            # A big world lives as long as the server: out of the collector's sight,
            # its collections stop walking a hundred thousand jobs each time.
            gc.freeze()
        if self.config.strict:   # findings on every request: read the handlers now
            request_contracts()
        self.sessions = SessionStore(self.config.session_idle_timeout, self.config.max_sessions)
        # For tests and the control API (fakecmon/control.py): the files the server
        # started with (a full reset goes back to them), the request journal, the
        # injected faults and named world snapshots.
        self.startup_files = self.files
        self.journal = Journal(self.config.journal_size)
        self.faults = Faults()
        self.snapshots: dict[str, World] = {}
        #: Calls, statuses and contract findings per operation (``GET /_fakecmon/report``).
        self.usage = Usage()

    def _build(self, files: list[tuple[Path, Node]]) -> World:
        """A world built from parsed files, not yet served (its pristine copy is made
        from it by ``_serve``)."""
        started = time.perf_counter()
        with no_gc():
            world = build_world(files, created=self.clock.now(),
                                controller_id=self.config.controller_id)
            for hook in WORLD_HOOKS:
                hook(self, world)
            engine = jobs_of(world)
            engine.max_ended = self.config.max_jobs
            engine.purge()
        self._build_seconds = time.perf_counter() - started
        return world

    def _serve(self, world: World) -> World:
        """Keep ``world`` as the pristine copy a reset restores, and return it to serve."""
        with no_gc():
            # (a restored world's log book gets the log file at once)
            self._pristine = Pristine(world, SHARED_TYPES, apart=(("ext", logs.KEY),))
        self._collected = 0
        logs.book(world).sink = self.log_file
        return world

    def reset(self) -> None:
        """Back to the loaded world files, from the pristine copy: no parsing, no building.

        A restored world is the one built at ``_pristine.created``: its times (jobs'
        ``created``, maintenance windows...) are relative to that moment. So that they
        stay close to a world built now, a pristine copy older (or younger) in clock
        time than ``max(1 s, 100 x its build time)`` is built again first: a few
        percent of the time at most goes to building, whatever the world's size.

        Either way the world served is a fresh restore: its areas are unpickled when
        first touched (``fakecmon.world.pristine``), so a reset costs next to nothing
        and a test pays only for the areas it uses.
        """
        assert self._pristine is not None
        age = abs(self.clock.now() - self._pristine.created)
        if age > max(1.0, 100 * self._build_seconds):
            self._serve(self._build(self.files))
            assert self._pristine is not None
        with no_gc():
            world = self._pristine.restore()
        logs.book(world).sink = self.log_file
        self.world = world
        self._collect()

    def _collect(self) -> None:
        """Worlds let go of hold cycles (the job engine knows its world): the collector
        frees them only when it walks everything, which a big world's test suite may
        not reach for a long time. Once four whole copies' worth were unpickled since
        the last walk, a reset walks: memory stays bounded, and the time of a walk is
        spread over the resets before it."""
        pristine = self._pristine
        assert pristine is not None
        if pristine.unpickled - self._collected > 4 * max(pristine.size, 1):
            self._collected = pristine.unpickled
            gc.collect()

    def replace_files(self, files: list[tuple[Path, Node]]) -> None:
        """Swap in new world files atomically: the old world stays if they are invalid."""
        world = self._build(files)
        self.world = self._serve(world)
        # Big parsed files are kept as text (``light``): a reset needs only the
        # pristine world, and applying the files again parses the text again.
        self.files = [(p, light(data)) for p, data in files]

    # ---- logins

    def check_password(self, user_name: str, password: str) -> User | None:
        """The user if the password is right and the account usable; counts failures."""
        user = self.world.user_by_name(user_name)
        if user is None:
            return None
        if not passwords.check(self.world, user, password) or user.disabled or user.suspended:
            self.login_failed(user, "with password")
            return None
        self.login_succeeded(user)
        return user

    def login_failed(self, user: User, how: str = "") -> None:
        """Counts the failure and logs it (``how``: "with password", as CMON words it)."""
        user.n_failed_logins += 1
        user.last_failed_login = self.clock.now()
        words = f" {how}" if how else ""
        emit(self.world, Event("user.login_failed", self.clock.now(), user_name=user.user_name,
                               message=f"User {user.user_name} failed to log in{words}."))

    def login_succeeded(self, user: User) -> None:
        user.n_failed_logins = 0
        user.last_login = self.clock.now()
        emit(self.world, Event("user.login", self.clock.now(), user_name=user.user_name,
                               message=f"User {user.user_name} logged in."))
