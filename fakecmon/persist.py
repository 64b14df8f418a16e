"""``fakecmon serve --state-dir DIR``: the world survives restarts.

At start, ``DIR/world.json`` (a world export, see ``fakecmon.world.export``) is
loaded if it is there; else the ``--world`` files are, and saved. After a change
the world is saved within a second, changes in a burst coalescing into one write,
and once more when the server stops (SIGTERM, SIGINT). A write goes to a temporary
file that is fsync'ed and then renamed over the state, so a crash or a full disk
leaves the previous state or the new one, never a torn one.

A change is noticed cheaply: an RPC request was answered (the journal's counter), an
area reported an event (jobs, clusters, hosts...), or a new world was swapped in
(reset, load, restore). The export is then compared with what was last written, so
a burst of reads writes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from fakecmon import control
from fakecmon.events import LISTENERS, Event
from fakecmon.world.export import to_json
from fakecmon.world.yamlfile import Node, WorldError, read_yaml

if TYPE_CHECKING:
    from fakecmon.controller import Controller
    from fakecmon.world.state import World

log = logging.getLogger("fakecmon")

#: A world file in JSON (JSON is YAML: ``--world`` reads it too): orjson writes and reads
#: it a hundred times faster than YAML, which matters for a world with many jobs.
STATE_FILE = "world.json"
#: Seconds between checks for changes, and the least time between two writes.
POLL_SECONDS = 0.2
MIN_GAP_SECONDS = 0.5

_events = 0


def _count_event(world: "World", event: Event) -> None:
    global _events
    _events += 1


LISTENERS.append(_count_event)


class StateError(Exception):
    """The state directory cannot be used: says which and why."""


def write_atomically(path: Path, data: bytes) -> None:
    """Temporary file in the same directory, fsync, rename, fsync of the directory."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return  # a platform without directory handles: the rename is still atomic
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prepare(state_dir: Path, reset: bool) -> Path:
    """Make sure ``state_dir`` exists and takes writes; with ``reset``, put the old state
    aside as ``world.json.bad`` (or ``world.json.N.bad``). Returns the state file."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        write_atomically(state_dir / ".write-test", b"fakecmon\n")
        (state_dir / ".write-test").unlink()
    except OSError as exc:
        raise StateError(f"the state directory {state_dir} is not writable: "
                         f"{exc.strerror or exc}") from None
    path = state_dir / STATE_FILE
    for stale in state_dir.glob(f".{STATE_FILE}.*.tmp"):
        stale.unlink(missing_ok=True)  # a write a crash interrupted: the state is whole
    if reset and path.exists():
        bad = _free_name(path)
        os.replace(path, bad)
        log.warning("--state-reset: the old state is kept as %s", bad)
    return path


def _free_name(path: Path) -> Path:
    bad = path.with_name(path.name + ".bad")
    n = 2
    while bad.exists():
        bad = path.with_name(f"{path.name}.{n}.bad")
        n += 1
    return bad


def _node(data: dict[str, Any]) -> Node:
    """A parsed world file as the loader takes it (without lines: orjson keeps none)."""
    node = Node(data)
    node.key_lines = {}
    return node


class StateKeeper:
    """Loads the saved world into a controller and keeps saving it."""

    def __init__(self, controller: "Controller", path: Path) -> None:
        self.controller = controller
        self.path = path
        self.last_text: bytes | None = None
        self._seen: tuple[Any, ...] = ()
        self._last_write = 0.0
        self._taken = self._written = 0
        self._lock = threading.Lock()
        self.saves = 0

    def load(self) -> bool:
        """Serve the saved world if there is one (a WorldError names file, line and cause).

        The ``--world`` files stay the startup world: a reset goes back to them. The
        state is read as JSON, fast; only when it does not load is it read again with
        the line-keeping YAML reader, so that the error names the line.
        """
        if not self.path.exists():
            return False
        try:
            data = orjson.loads(self.path.read_bytes())
            if not isinstance(data, dict):
                raise ValueError("not a mapping")
            self.controller.replace_files([(self.path, _node(data))])
        except (OSError, ValueError, WorldError):
            self.controller.replace_files([(self.path, read_yaml(self.path))])
        return True

    def _signature(self) -> tuple[Any, ...]:
        c = self.controller
        return (id(c.world), c.journal.total, _events)

    def _snapshot(self) -> tuple[int, dict[str, Any]]:
        """The world as plain data, taken on the server's loop (the only thread that
        touches it), numbered; writing it out can then happen elsewhere."""
        self._seen = self._signature()
        self._taken += 1
        return self._taken, control.export_now(self.controller)

    def _write(self, taken: tuple[int, dict[str, Any]], force: bool) -> bool:
        """Write a snapshot unless a newer one was written already (a write still in
        its thread when the server stops must not overwrite the final save)."""
        seq, doc = taken
        text = to_json(doc) + b"\n"
        with self._lock:
            if seq <= self._written or (text == self.last_text and not force):
                return False
            write_atomically(self.path, text)
            self._written, self.last_text = seq, text
            self._last_write = time.monotonic()
            self.saves += 1
            return True

    def save(self, force: bool = False) -> bool:
        """Write the world now if it changed since the last write (at start and at exit)."""
        return self._write(self._snapshot(), force)

    async def run(self) -> None:
        """Save within a second of a change, a burst of changes in one write. The YAML
        and the disk work run in a thread, so requests are not held up by them."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            if self._signature() == self._seen:
                continue
            if time.monotonic() - self._last_write < MIN_GAP_SECONDS:
                continue
            try:
                await asyncio.to_thread(self._write, self._snapshot(), False)
            except OSError as exc:
                log.error("cannot save the state to %s: %s (the previous state stays)",
                          self.path, exc.strerror or exc)
            except Exception:  # noqa: BLE001 - keep serving, say why
                log.exception("cannot save the state to %s", self.path)
