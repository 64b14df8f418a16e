"""Login sessions behind the ``cmon-sid`` cookie."""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass

import time
from collections.abc import Callable
from fakecmon.errors import RpcError


#: How many of the oldest sessions a full store looks through for a challenge to drop.
_UNPROVEN_SCAN = 1000


@dataclass
class Session:
    sid: str
    user_id: int | None = None          # None while a key login waits for its signature
    challenge: str | None = None
    challenge_user_id: int | None = None
    last_used: float = 0.0


class SessionStore:
    """Sessions in least-recently-used order, expired after ``idle_timeout`` seconds.

    Clients log in again and again without logging out (the exporter on every
    scrape), so the number is bounded: expired sessions are dropped first, and when
    ``max_sessions`` live ones exist a new login is refused with TryAgain rather
    than dropping a live session early.
    """

    def __init__(self, idle_timeout: float = 1800.0, max_sessions: int = 100_000,
                 now: Callable[[], float] = time.monotonic) -> None:
        # Idle time is real time, not the controller clock: a test that moves the
        # clock a day ahead to finish a job should not lose its login for it.
        self.now = now
        self.idle_timeout = idle_timeout
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def _expired(self, session: Session, now: float) -> bool:
        return now - session.last_used > self.idle_timeout

    def sweep(self) -> int:
        """Drop expired sessions (oldest first, so the work is what expired)."""
        now = self.now()
        dropped = 0
        while self._sessions:
            oldest = next(iter(self._sessions.values()))
            if not self._expired(oldest, now):
                break
            self._sessions.popitem(last=False)
            dropped += 1
        return dropped

    def create(self) -> Session:
        self.sweep()
        if len(self._sessions) >= self.max_sessions and not self._drop_unproven():
            raise RpcError("TryAgain", "Too many sessions, try again later.")
        sid = secrets.token_hex(16)  # 128 random bits
        session = Session(sid=sid, last_used=self.now())
        self._sessions[sid] = session
        return session

    def _drop_unproven(self) -> bool:
        """Make room by dropping the least recently used session nobody has logged in
        with (a key login's challenge): a storm of challenges never locks users out.
        Looks at the oldest ``_UNPROVEN_SCAN`` only, so a full store costs O(1)."""
        for n, (sid, session) in enumerate(self._sessions.items()):
            if n >= _UNPROVEN_SCAN:
                break
            if session.user_id is None and session.challenge is not None:
                del self._sessions[sid]
                return True
        return False

    def get(self, sid: str | None) -> Session | None:
        """The live session for ``sid``, marked as used now; None if unknown or expired."""
        if not sid:
            return None
        session = self._sessions.get(sid)
        if session is None:
            return None
        now = self.now()
        if self._expired(session, now):
            del self._sessions[sid]
            return None
        session.last_used = now
        self._sessions.move_to_end(sid)
        return session

    def drop(self, sid: str) -> None:
        self._sessions.pop(sid, None)

    def drop_user(self, user_id: int | None = None) -> int:
        """End the sessions of one user (or all): how a test makes sessions expire."""
        doomed = [sid for sid, s in self._sessions.items()
                  if user_id is None or s.user_id == user_id]
        for sid in doomed:
            del self._sessions[sid]
        return len(doomed)
