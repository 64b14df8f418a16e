"""Hot reload of the world files, and the request log lines of ``fakecmon serve``."""

from __future__ import annotations

import logging
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakecmon import DEFAULT_WORLD, FakeCmon
from fakecmon.client import RpcClient
from fakecmon.reload import WorldWatcher

ALICE = "\nusers:\n  - {user_name: alice, password: wonderland, groups: [users]}\n"
BROKEN = "\ngroups:\n  - {group_name: ops, group_id: not-a-number}\n"


def bump(path: Path, text: str) -> None:
    """Write a world file so that its stamp changes even within one clock tick."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))


@pytest.fixture
def world(tmp_path) -> Path:
    """The second world file (the default world comes first); the tests edit it."""
    path = tmp_path / "world.yaml"
    path.write_text("# nothing yet\n")
    return path


@pytest.fixture
def served(world) -> Iterator[tuple[FakeCmon, WorldWatcher]]:
    with FakeCmon(world=[DEFAULT_WORLD, world]) as cmon:
        yield cmon, cmon.run(WorldWatcher)


def login_status(cmon: FakeCmon, user: str, password: str) -> str:
    return cmon.client().login(user, password)["request_status"]


def test_valid_change_swaps_the_world_and_keeps_sessions(served, world):
    cmon, watcher = served
    system = cmon.client("system", "secret")
    assert cmon.run(lambda c: watcher.check()) is None          # nothing changed yet
    bump(world, world.read_text() + ALICE)
    assert cmon.run(lambda c: watcher.check()) is True
    assert login_status(cmon, "alice", "wonderland") == "Ok"
    assert system.call("/v2/users", "whoAmI")["user"]["user_name"] == "system"
    cmon.reset()  # a reset now goes back to the reloaded files
    assert login_status(cmon, "alice", "wonderland") == "Ok"


def test_invalid_change_keeps_the_old_world_and_says_why(served, world, caplog):
    cmon, watcher = served
    good = world.read_text() + ALICE
    bump(world, good)
    assert cmon.run(lambda c: watcher.check()) is True
    bump(world, good + BROKEN)
    with caplog.at_level(logging.ERROR, logger="fakecmon"):
        assert cmon.run(lambda c: watcher.check()) is False
    assert login_status(cmon, "alice", "wonderland") == "Ok"    # still the previous world
    assert re.search(r"world\.yaml: line 7: groups\[0\]\.group_id: expected an integer",
                     watcher.last_error or ""), watcher.last_error
    assert "still serving the previous world" in caplog.text and "group_id" in caplog.text
    bump(world, good.replace("wonderland", "looking-glass"))        # fixed again
    assert cmon.run(lambda c: watcher.check()) is True
    assert login_status(cmon, "alice", "looking-glass") == "Ok"


def test_deleted_file_keeps_the_old_world(served, world):
    cmon, watcher = served
    world.unlink()
    assert cmon.run(lambda c: watcher.check()) is False
    assert "cannot read the world file" in (watcher.last_error or "")
    assert login_status(cmon, "system", "secret") == "Ok"


# ---- the command line: fakecmon serve --reload, and its log lines

class Serve:
    """``fakecmon serve`` in a subprocess, its log lines read as they come."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fakecmon", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        match = re.match(r"listening on (https://\S+)", first)
        assert match, first + self.proc.stderr.read()
        self.url = match.group(1)
        self.lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def client(self) -> RpcClient:
        return RpcClient(self.url)

    def wait_for(self, pattern: str, timeout: float = 10.0) -> str:
        """The next log line matching ``pattern`` (fails after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no log line like {pattern!r}; saw {seen}") from None
            seen.append(line)
            if re.search(pattern, line):
                return line

    def stop(self) -> str:
        self.proc.terminate()
        self.proc.wait(10)
        self._reader.join(10)            # every line the server wrote, up to its EOF
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        return "".join(rest)


def test_serve_reload_and_request_log(world, tmp_path):
    serve = Serve("--reload", "--world", str(DEFAULT_WORLD), "--world", str(world),
                  "--certs-dir", str(tmp_path / "certs"))
    try:
        system = serve.client()
        assert system.login("system", "secret")["request_status"] == "Ok"
        line = serve.wait_for(r"/v2/auth")
        assert re.search(r" INFO /v2/auth authenticateWithPassword user=system Ok \d+\.\dms$",
                         line.rstrip()), line
        bump(world, world.read_text() + ALICE)
        serve.wait_for(r"INFO world reloaded from .*world\.yaml: 7 users")
        assert serve.client().login("alice", "wonderland")["request_status"] == "Ok"
        bump(world, world.read_text() + BROKEN)
        line = serve.wait_for(r"ERROR world files changed but not reloaded")
        assert re.search(r"world\.yaml: line \d+: groups\[0\]\.group_id", line), line
        assert serve.client().login("alice", "wonderland")["request_status"] == "Ok"
        assert system.call("/v2/users", "whoAmI")["request_status"] == "Ok"   # session kept
    finally:
        serve.stop()


def test_serve_quiet_has_no_request_lines(tmp_path):
    serve = Serve("--quiet", "--certs-dir", str(tmp_path / "certs"))
    try:
        assert serve.client().call("/v2/info", "ping")["request_status"] == "Ok"
    finally:
        rest = serve.stop()
    assert "/v2/info" not in rest


def test_serve_verbose_logs_masked_bodies(tmp_path):
    serve = Serve("--verbose", "--certs-dir", str(tmp_path / "certs"))
    try:
        serve.client().login("system", "secret")
        line = serve.wait_for(r"request body:")
        assert '"password":"********"' in line and "secret" not in line
    finally:
        serve.stop()
