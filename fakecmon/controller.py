"""The controller: configuration, clock, world and sessions of one fakecmon server."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fakecmon.clock import Clock
from fakecmon.events import Event, emit
from fakecmon.faults import Faults
from fakecmon.journal import Journal
from fakecmon.sessions import SessionStore
from fakecmon.world import logs, passwords
from fakecmon.world.loader import build_world
from fakecmon.world.logs import LogFile
from fakecmon.world.models import User
from fakecmon.world.state import World
from fakecmon.world.yamlfile import Node, read_yaml

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
    #: Requests kept in the journal (a ring buffer: the oldest fall out).
    journal_size: int = 1000
    #: Token the control API (/_fakecmon/) asks for; without one, loopback peers only.
    control_token: str | None = None
    #: Where passwordReset "mails" its token (``<dir>/<email>/email_NNNN.json``, as CMON
    #: spools mails); the token is also kept for ``FakeCmon.password_reset_token``.
    password_reset_mail_dir: Path | None = None
    #: A file the controller log (what ``/v2/log`` lists) is also appended to, one line an
    #: entry, as CMON writes its log file (s9s's functional tests grep it).
    log_file: Path | None = None


class Controller:
    """Owns the state that handlers read and change; ``reset()`` brings back the loaded world."""

    def __init__(self, config: Config | None = None, clock: Clock | None = None) -> None:
        self.config = config or Config()
        self.clock = clock or Clock()
        self.files: list[tuple[Path, Node]] = [(Path(p), read_yaml(Path(p)))
                                               for p in self.config.world_paths]
        self.log_file = LogFile(self.config.log_file) if self.config.log_file else None
        self.world = self._build(self.files)
        self.sessions = SessionStore(self.config.session_idle_timeout, self.config.max_sessions)
        # For tests and the control API (fakecmon/control.py): the files the server
        # started with (a full reset goes back to them), the request journal, the
        # injected faults and named world snapshots.
        self.startup_files = self.files
        self.journal = Journal(self.config.journal_size)
        self.faults = Faults()
        self.snapshots: dict[str, World] = {}

    def _build(self, files: list[tuple[Path, Node]]) -> World:
        world = build_world(files, created=self.clock.now(),
                            controller_id=self.config.controller_id)
        for hook in WORLD_HOOKS:
            hook(self, world)
        logs.book(world).sink = self.log_file
        return world

    def reset(self) -> None:
        """Back to the loaded world files (already parsed, so this is cheap)."""
        self.world = self._build(self.files)

    def replace_files(self, files: list[tuple[Path, Node]]) -> None:
        """Swap in new world files atomically: the old world stays if they are invalid."""
        world = self._build(files)
        self.files, self.world = files, world

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
