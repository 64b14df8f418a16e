"""``fakecmon serve --state-dir``: the world survives restarts, crashes never tear it."""

from __future__ import annotations

import os
import random
import signal
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

from fakecmon.client import RpcClient
from fakecmon.persist import prepare
from fakecmon.world.yamlfile import read_yaml
from test_cli import FAKECMON, clean_env, serving

U = "/v2/users"


def client(served) -> RpcClient:
    host, port = served.urls[0]
    c = RpcClient(f"https://{host}:{port}")
    assert c.login("system", "secret")["request_status"] == "Ok"
    return c


def group_names(c: RpcClient) -> list[str]:
    return [g["group_name"] for g in c.call(U, "getGroups")["groups"]]


def create_group(c: RpcClient, name: str) -> None:
    reply = c.call(U, "createGroup", group={"class_name": "CmonGroup", "group_name": name})
    assert reply["request_status"] == "Ok", reply


def saved_text(state: Path) -> str:
    path = state / "world.json"
    return path.read_text() if path.exists() else ""


def wait_for(check, seconds: float = 20.0) -> bool:
    """Poll (a save is due within a second; the bound is generous for a busy machine)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_the_world_survives_a_restart(tmp_path):
    state, certs = tmp_path / "state", tmp_path / "certs"
    args = ["--state-dir", str(state), "--certs-dir", str(certs)]
    with serving(args) as s:
        assert (state / "world.json").is_file()          # saved at start
        c = client(s)
        create_group(c, "kept-group")
        reply = c.call(U, "createUser", new_password="kept-pw-1", user={
            "class_name": "CmonUser", "user_name": "keeper",
            "groups": [{"group_name": "kept-group"}]})
        assert reply["request_status"] == "Ok", reply
        # Saved while serving, within a second or so: not only at exit.
        assert wait_for(lambda: "keeper" in saved_text(state))
    assert "kept-pw-1" not in saved_text(state)           # a hash, never the password
    with serving(args) as s:
        c = client(s)
        assert "kept-group" in group_names(c)
        keeper = RpcClient(f"https://{s.urls[0][0]}:{s.urls[0][1]}")
        assert keeper.login("keeper", "kept-pw-1")["request_status"] == "Ok"
        assert keeper.login("keeper", "wrong")["request_status"] != "Ok"


def test_state_dir_from_the_environment(tmp_path):
    state = tmp_path / "env-state"
    env = clean_env(FAKECMON_STATE_DIR=str(state))
    with serving(["--certs-dir", str(tmp_path / "certs")], env=env) as s:
        create_group(client(s), "from-env")
    assert "from-env" in saved_text(state)


def test_sigkill_in_a_burst_never_tears_the_state(tmp_path):
    """Killed at random moments of bursts of writes, many times: every restart loads, keeps
    what was there, and has a prefix of the new writes (those saved before the kill)."""
    state, certs = tmp_path / "state", tmp_path / "certs"
    args = ["--state-dir", str(state), "--certs-dir", str(certs)]
    rng = random.Random(12)
    before: list[str] = []
    last_writes: list[str] = []
    saved_mid_burst = 0
    for round_ in range(8):
        with serving(args) as s:
            c = client(s)
            now = [n for n in group_names(c) if n.startswith("burst-")]
            assert set(before) <= set(now), "a saved write was lost"
            new = [n for n in now if n not in before]
            assert new == last_writes[:len(new)], "not a prefix of the acknowledged writes"
            saved_mid_burst += bool(new)
            before, last_writes = now, []
            for k in range(rng.randrange(5, 40)):
                name = f"burst-{round_}-{k:03d}"
                create_group(c, name)
                last_writes.append(name)
                if rng.random() < 0.1:
                    time.sleep(rng.random() * 1.2)   # let saves land mid-burst
            s.proc.kill()
            s.proc.wait()
            s.proc.returncode = 0  # killed on purpose: serving() expects a clean exit
        read_yaml(state / "world.json")  # always a whole world file
    assert saved_mid_burst, "no round had a save before the kill: the test proved nothing"


def run_serve(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*FAKECMON, "serve", "--port", "0", "--quiet", *args],
                          capture_output=True, text=True, timeout=60, env=env or clean_env())


def test_an_unloadable_state_stops_the_start_with_file_line_and_cause(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    broken = "controller:\n  controller_id: x\ngroups:\n  - group_name: a\n    colour: blue\n"
    (state / "world.json").write_text(broken)
    done = run_serve(["--state-dir", str(state), "--certs-dir", str(tmp_path / "c")])
    assert done.returncode == 1
    assert f"{state / 'world.json'}: line 5: groups[0].colour: unknown field" in done.stderr
    assert "--state-reset" in done.stderr and "listening" not in done.stdout
    assert (state / "world.json").read_text() == broken        # untouched

    with serving(["--state-dir", str(state), "--state-reset",
                  "--certs-dir", str(tmp_path / "c")]) as s:
        assert "burst" not in group_names(client(s))
    assert (state / "world.json.bad").read_text() == broken
    assert read_yaml(state / "world.json")["controller"]


def test_a_state_dir_that_cannot_be_written_fails_the_start(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    done = run_serve(["--state-dir", str(blocker / "state"), "--certs-dir", str(tmp_path)])
    assert done.returncode == 1
    assert f"the state directory {blocker / 'state'} is not writable" in done.stderr
    if os.geteuid() != 0:   # root writes anywhere: only the non-root case has mode bits
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        done = run_serve(["--state-dir", str(ro), "--certs-dir", str(tmp_path)])
        assert done.returncode == 1 and "not writable" in done.stderr


def test_state_reset_needs_a_state_dir(tmp_path):
    done = run_serve(["--state-reset", "--certs-dir", str(tmp_path)])
    assert done.returncode == 2 and "--state-reset needs --state-dir" in done.stderr


def test_bad_files_are_numbered(tmp_path):
    state = tmp_path / "s"
    for i in range(3):
        state.mkdir(exist_ok=True)
        (state / "world.json").write_text(f"broken {i}")
        prepare(state, reset=True)
    assert sorted(p.name for p in state.glob("*.bad")) == [
        "world.json.2.bad", "world.json.3.bad", "world.json.bad"]


def test_sigint_saves_the_last_change_and_a_reset_is_saved_too(tmp_path):
    state, certs = tmp_path / "state", tmp_path / "certs"
    args = ["--state-dir", str(state), "--certs-dir", str(certs)]
    with serving(args) as s:
        create_group(client(s), "last-one")
        s.proc.send_signal(signal.SIGINT)        # at once: the exit save must have it
        assert s.proc.wait(timeout=20) == 0
    assert "last-one" in saved_text(state)
    with serving(args) as s:
        c = client(s)
        assert "last-one" in group_names(c)
        host, port = s.urls[0]
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        req = urllib.request.Request(f"https://{host}:{port}/_fakecmon/reset", data=b"{}",
                                     method="POST")
        assert urllib.request.urlopen(req, context=ctx, timeout=10).status == 200
        assert wait_for(lambda: "last-one" not in saved_text(state))
    assert "last-one" not in saved_text(state)


def test_a_json_state_that_does_not_load_names_its_line(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "world.json").write_text('{\n  "groups": [\n    {"group_name": "a",\n'
                                      '     "colour": "blue"}\n  ]\n}\n')
    done = run_serve(["--state-dir", str(state), "--certs-dir", str(tmp_path / "c")])
    assert done.returncode == 1
    assert f"{state / 'world.json'}: line 4: groups[0].colour: unknown field" in done.stderr
