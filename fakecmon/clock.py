"""The controller's clock: real time by default, movable by tests so that nobody sleeps."""

from __future__ import annotations

import math
import time

from fakecmon.timefmt import check_epoch


class Clock:
    """Wall-clock time plus an offset, optionally frozen.

    Everything in fakecmon that has a notion of time (session idle timeouts,
    job durations, ``request_processed``) asks this clock, so a test can
    ``advance()`` it instead of sleeping.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._frozen_at: float | None = None

    def now(self) -> float:
        """Current controller time in epoch seconds."""
        if self._frozen_at is not None:
            return self._frozen_at
        return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Move time forward (frozen or not) and return the new time."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("The clock only moves forward, by a finite number of seconds.")
        check_epoch(self.now() + seconds, "new clock time")
        if self._frozen_at is not None:
            self._frozen_at += seconds
        else:
            self._offset += seconds
        return self.now()

    def set(self, t: float) -> float:
        """Jump to epoch time ``t`` (keeps a frozen clock frozen)."""
        check_epoch(t, "clock time")
        if self._frozen_at is not None:
            self._frozen_at = t
        else:
            self._offset = t - time.time()
        return self.now()

    def freeze(self) -> float:
        self._frozen_at = self.now()
        return self._frozen_at

    def unfreeze(self) -> float:
        if self._frozen_at is not None:
            self._offset = self._frozen_at - time.time()
            self._frozen_at = None
        return self.now()

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def reset(self) -> None:
        self._offset = 0.0
        self._frozen_at = None
