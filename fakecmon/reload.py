"""Hot reload for ``fakecmon serve --reload``: watch the world files, swap the world.

Polling (every half second by default) keeps this free of platform file-watch
APIs and notices editors that replace a file by renaming. A change swaps the
world atomically on the server's loop and keeps the sessions; a file that does
not load leaves the old world in place, and the log says why.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from fakecmon.control import reload_startup
from fakecmon.world.yamlfile import WorldError

if TYPE_CHECKING:
    from fakecmon.controller import Controller

log = logging.getLogger("fakecmon")

Stamp = tuple[int, int, int] | None


def stamp(path: Path) -> Stamp:
    """What changes when a file is written or replaced (None: it is missing)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class WorldWatcher:
    """Notices changes to the startup world files and reloads them."""

    def __init__(self, controller: "Controller") -> None:
        self.controller = controller
        self._stamps = self._current()
        self.last_error: str | None = None

    def _current(self) -> dict[Path, Stamp]:
        return {p: stamp(p) for p, _ in self.controller.startup_files}

    def check(self) -> bool | None:
        """Reload if a file changed: True when the world was swapped, False when the
        new files are invalid (the old world stays), None when nothing changed."""
        now = self._current()
        if now == self._stamps:
            return None
        self._stamps = now
        try:
            reload_startup(self.controller)
        except WorldError as exc:
            self.last_error = str(exc)
            log.error("world files changed but not reloaded; still serving the previous "
                      "world: %s", exc)
            return False
        self.last_error = None
        w = self.controller.world
        log.info("world reloaded from %s: %d users, %d clusters (sessions kept)",
                 ", ".join(str(p) for p, _ in self.controller.startup_files),
                 len(w.users), len(w.clusters))
        self._stamps = self._current()
        return True

    async def run(self, interval: float = 0.5) -> None:
        """Poll until cancelled."""
        while True:
            await asyncio.sleep(interval)
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the watcher must outlive one bad reload
                log.exception("world reload failed")
