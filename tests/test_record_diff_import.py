"""``fakecmon record``, ``fakecmon diff`` and ``fakecmon import``, tested with a second
fakecmon as the "real" controller: another world, another port, loopback only."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fakecmon.client import RpcClient
from fakecmon.testing import FakeCmon

FAKECMON = [sys.executable, "-m", "fakecmon"]
UPSTREAM_WORLD = """
controller: {controller_id: upstream-ctl}
groups: [{group_name: admins, group_id: 1}, {group_name: ops, group_id: 2}]
users:
  - {user_name: system, user_id: 1, password: secret, groups: [admins]}
  - {user_name: olga, user_id: 2, password: olga-pass, groups: [ops], first_name: Olga,
     email_address: olga@example.com, public_keys: [{name: laptop, key: "%s"}]}
clusters:
  - cluster_id: 7
    cluster_name: shop-db
    cluster_type: galera
    vendor: mariadb
    version: "10.11"
    owner: olga
    group: ops
    tags: [shop]
    hosts:
      - {hostname: 10.9.0.1, role: master, version: 10.11.8-MariaDB}
      - {hostname: 10.9.0.2, role: master, version: 10.11.8-MariaDB, hoststatus: CmonHostOffline}
tree:
  - {path: /teams/ops, owner: olga, group: ops, acl: "user::rwx,group::rwx,other::---"}
jobs:
  - {job_id: 3, command: backup, cluster: shop-db, title: Nightly, ago: 7200, duration: 60,
     user: olga, job_data: {backup_method: mariabackupfull, hostname: 10.9.0.1}}
backups:
  - {backup_id: 4, cluster: shop-db, method: mariabackupfull, host: 10.9.0.1, ago: 7100,
     duration: 60, job_id: 3, databases: [shop]}
alarms:
  - {cluster: shop-db, type_name: BackupFailed, created: -1h, message: "Backup failed: disk full."}
maintenance:
  - {cluster: shop-db, initiate: +1h, deadline: +3h, owner: olga, reason: "Kernel update"}
"""
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
UPSTREAM_WORLD %= KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode().replace("\n", "\\n")
#: Values that differ between two servers by time alone.
VOLATILE = {"created", "request_processed", "lastseen", "timestamp", "wallclock", "uptime",
            "wallclocktimestamp", "request_id", "reported", "last_login"}


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[tuple[FakeCmon, Path]]:
    world = tmp_path / "upstream.yaml"
    world.write_text(UPSTREAM_WORLD)
    with FakeCmon(world=world) as server:
        yield server, world


def one_line_error(run: subprocess.CompletedProcess[str], *words: str) -> str:
    assert run.returncode == 1, (run.returncode, run.stdout, run.stderr)
    err = run.stderr.strip()
    assert err and "\n" not in err and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    return err


def fakecmon(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*FAKECMON, *args], capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- record

@contextmanager
def recording(up: FakeCmon, out: Path, certs: Path, *trust: str) -> Iterator[RpcClient]:
    args = [*FAKECMON, "record", "--upstream", up.base_url, "--out", str(out), "--port", "0",
            "--certs-dir", str(certs), *(trust or ("--upstream-ca", str(up.ca_path)))]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()                        # type: ignore[union-attr]
        assert line.startswith("listening on https://127.0.0.1:"), (line, proc.stderr.read())
        assert proc.stdout.readline().startswith("recording ")  # type: ignore[union-attr]
        yield RpcClient(line.split()[-1])
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
    assert proc.returncode == 0


def drive(client: RpcClient) -> None:
    """What a client does through the recorder (the replies are checked as it goes)."""
    assert client.login("olga", "wrong")["request_status"] == "AccessDenied"
    assert client.login("system", "secret")["request_status"] == "Ok"
    assert client.call("/v2/clusters", "getAllClusterInfo", with_hosts=True)["total"] == 1
    assert client.call("/v2/users", "getUsers")["total"] == 2
    assert client.call("/v2/tree", "getTree")["request_status"] == "Ok"
    reply = client.call("/v2/clusters", "getClusterInfo", cluster_id=99)
    assert reply["request_status"] != "Ok"
    reply = client.call("/v2/users", "createUser", new_password="n3w-Secret",
                        user={"class_name": "CmonUser", "user_name": "nina", "groups": [
                            {"class_name": "CmonGroup", "group_name": "ops"}]})
    assert reply["request_status"] == "Ok", reply


def test_record_writes_masked_pairs_in_the_captures_form(upstream, tmp_path):
    up, _ = upstream
    out = tmp_path / "rec"
    with recording(up, out, tmp_path / "certs") as client:
        drive(client)
    names = sorted(p.name for p in out.iterdir())
    assert names[:4] == ["0001-authenticateWithPassword-rep.json",
                         "0001-authenticateWithPassword-req.json",
                         "0002-authenticateWithPassword-rep.json",
                         "0002-authenticateWithPassword-req.json"]
    assert "0007-createUser-req.json" in names and "index.json" in names
    assert not [n for n in names if n.endswith(".tmp") or n.startswith(".")]
    login = json.loads((out / "0002-authenticateWithPassword-req.json").read_text())
    assert login == {"operation": "authenticateWithPassword", "password": "********",
                     "request_id": 2, "user_name": "system"}
    created = json.loads((out / "0007-createUser-req.json").read_text())
    assert created["new_password"] == "********" and created["user"]["user_name"] == "nina"
    reply = json.loads((out / "0003-getAllClusterInfo-rep.json").read_text())
    assert reply["controller_id"] == "upstream-ctl" and reply["clusters"][0]["cluster_id"] == 7
    text = "".join(p.read_text() for p in out.iterdir())
    assert "secret" not in text and "n3w-Secret" not in text and "wrong" not in text
    index = json.loads((out / "index.json").read_text())["pairs"]
    assert [(r["path"], r["user"]) for r in index[:3]] == [
        ("/v2/auth", "olga"), ("/v2/auth", "system"), ("/v2/clusters", "system")]
    assert up.requests("createUser")[0].user == "system"     # cookies passed through


def test_a_failing_upstream_is_answered_and_recorded_as_failed(tmp_path):
    world = tmp_path / "w.yaml"
    world.write_text(UPSTREAM_WORLD)
    up = FakeCmon(world=world).start()
    out = tmp_path / "rec"
    try:
        with recording(up, out, tmp_path / "certs") as client:
            assert client.login("system", "secret")["request_status"] == "Ok"
            up.stop()
            reply = client.call("/v2/clusters", "getAllClusterInfo")
    finally:
        if up.controller is not None and up._loop is not None:
            up.stop()
    assert reply["request_status"] == "UnknownError"
    assert "cannot reach" in reply["error_string"] and up.base_url in reply["error_string"]
    index = json.loads((out / "index.json").read_text())["pairs"]
    assert "failed" not in index[0] and "cannot reach" in index[1]["failed"]
    assert (out / "0002-getAllClusterInfo-rep.json").exists()


def test_record_bad_input_is_one_line_and_writes_nothing(upstream, tmp_path):
    up, _ = upstream
    out = tmp_path / "rec"
    closed = f"https://127.0.0.1:{free_port()}"
    one_line_error(fakecmon("record", "--upstream", closed, "--out", str(out), "--port", "0",
                            "--certs-dir", str(tmp_path / "c"), "--insecure"), "cannot reach")
    other = FakeCmon().start()                # its CA did not sign the upstream's certificate
    try:
        one_line_error(fakecmon("record", "--upstream", up.base_url, "--out", str(out),
                                "--port", "0", "--certs-dir", str(tmp_path / "c"),
                                "--upstream-ca", str(other.ca_path)), "TLS error")
    finally:
        other.stop()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    one_line_error(fakecmon("record", "--upstream", up.base_url, "--out", str(blocker / "rec"),
                            "--port", "0", "--insecure"), "cannot write to")
    assert not out.exists() or not list(out.iterdir())


# ---- diff

def record_session(up: FakeCmon, out: Path, certs: Path) -> None:
    with recording(up, out, certs) as client:
        assert client.login("system", "secret")["request_status"] == "Ok"
        client.call("/v2/clusters", "getAllClusterInfo", with_hosts=True)
        client.call("/v2/users", "getUsers")
        client.call("/v2/clusters", "getClusterInfo", cluster_id=7)
        client.call("/v2/jobs", "getJobInstances", limit=10)


def test_diff_against_the_same_world_matches(upstream, tmp_path):
    up, world = upstream
    record_session(up, tmp_path / "rec", tmp_path / "certs")
    run = fakecmon("diff", str(tmp_path / "rec"), "--world", str(world))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "5 pair(s): 5 same, 0 differ, 0 skipped" in run.stdout


def test_diff_against_another_world_reports_each_difference(upstream, tmp_path):
    up, _ = upstream
    record_session(up, tmp_path / "rec", tmp_path / "certs")
    run = fakecmon("diff", str(tmp_path / "rec"))          # fakecmon's default world
    assert run.returncode == 3, run.stdout + run.stderr
    out = run.stdout
    assert "shape: .user.email_address: extra (string, CMON has none)" in out  # system's
    assert ("0004-getClusterInfo /v2/clusters getClusterInfo" in out
            and "request_status: recorded 'Ok', fakecmon 'InvalidRequest'" in out)
    assert "error_string: recorded None, fakecmon 'Cluster was not found.'" in out
    assert "shape: .cluster: missing (CMON has object)" in out
    doc = json.loads(fakecmon("diff", str(tmp_path / "rec"), "--json").stdout)
    assert doc["differ"] >= 1 and doc["pairs"][3]["same"] is False


def test_diff_shape_differences_at_every_depth(tmp_path):
    out = tmp_path / "rec"
    out.mkdir()
    (out / "0001-whoAmI-req.json").write_text('{"operation": "whoAmI"}')
    rep = {"request_status": "AuthRequired", "error_string": "Authentication required.",
           "controller_id": "x", "request_processed": "2026-01-01T00:00:00.000Z",
           "extra_top": 1, "nested": {"deep": [{"class_name": "CmonX", "n": "1"}]}}
    (out / "0001-whoAmI-rep.json").write_text(json.dumps(rep))
    run = fakecmon("diff", str(out))
    assert run.returncode == 3
    assert "shape: .extra_top: missing (CMON has integer)" in run.stdout
    assert "shape: .nested: missing (CMON has object)" in run.stdout


def test_diff_bad_input_is_one_line(tmp_path):
    out = tmp_path / "rec"
    out.mkdir()
    one_line_error(fakecmon("diff", str(out)), "no request/reply pairs")
    (out / "0001-ping-req.json").write_text('{"operation": "ping"}')
    one_line_error(fakecmon("diff", str(out)), "0001-ping-rep.json", "missing")
    (out / "0001-ping-rep.json").write_text('{"request_status": "Ok", ')
    one_line_error(fakecmon("diff", str(out)), "0001-ping-rep.json", "not valid JSON")
    one_line_error(fakecmon("diff", str(tmp_path / "nothing")), "not a directory")
    (out / "0001-ping-rep.json").write_text('{"request_status": "Ok"}')
    one_line_error(fakecmon("diff", str(out), "--world", str(tmp_path / "no.yaml")),
                   "no such world file")


# ---- import

def normalized(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    return value


def differences(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Where two normalized replies differ, by path (the assertion message)."""
    if type(ours) is not type(theirs):
        return [f"{path}: {ours!r:.60} != {theirs!r:.60}"]
    if isinstance(ours, dict):
        out = [f"{path}.{k}: only one side" for k in ours.keys() ^ theirs.keys()]
        for k in ours.keys() & theirs.keys():
            out += differences(ours[k], theirs[k], f"{path}.{k}")
        return out
    if isinstance(ours, list):
        out = [f"{path}: {len(ours)} items != {len(theirs)}"] if len(ours) != len(theirs) else []
        for i, (a, b) in enumerate(zip(ours, theirs)):
            out += differences(a, b, f"{path}[{i}]")
        return out
    return [] if ours == theirs else [f"{path}: {ours!r:.60} != {theirs!r:.60}"]


def test_import_makes_a_world_that_answers_the_same(upstream, tmp_path):
    up, _ = upstream
    target = tmp_path / "world.yaml"
    run = fakecmon("import", "--from", up.base_url, "--ca", str(up.ca_path), "--user", "system",
                   "--password", "secret", "-o", str(target))
    assert run.returncode == 0, run.stderr
    text = target.read_text()
    assert "every user's password is 'fakecmon'" in text
    assert "secret" not in text and "olga-pass" not in text
    with FakeCmon(world=target) as imported:
        theirs, ours = up.client("system", "secret"), imported.client("system", "fakecmon")
        for path, op, fields in [("/v2/clusters", "getAllClusterInfo", {"with_hosts": True}),
                                 ("/v2/users", "getUsers", {}), ("/v2/tree", "getTree", {}),
                                 ("/v2/users", "getGroups", {})]:
            assert differences(normalized(ours.call(path, op, **fields)),
                               normalized(theirs.call(path, op, **fields))) == [], op
        jobs = ours.call("/v2/jobs", "getJobInstances")["jobs"]
        assert [(j["job_id"], j["title"], j["user_name"]) for j in jobs] == [(3, "Nightly", "olga")]
        backups = ours.call("/v2/backup", "getBackups")["backup_records"]
        assert [(b["id"], b["job_id"], b["cid"]) for b in backups] == [(4, 3, 7)]
        alarms = ours.call("/v2/alarm", "getAlarms", cluster_id=7)["alarms"]
        assert sorted(a["type_name"] for a in alarms) == sorted(
            a["type_name"] for a in theirs.call("/v2/alarm", "getAlarms", cluster_id=7)["alarms"])
        periods = ours.call("/v2/maintenance", "getMaintenance")["maintenance_records"]
        assert periods[0]["maintenance_periods"][0]["reason"] == "Kernel update"
        assert imported.client("olga", "fakecmon").call("/v2/users", "whoAmI")[
            "request_status"] == "Ok"
        keys = ours.call("/v2/users", "getKeys", user={"user_name": "olga"})["public_keys"]
        assert [k["name"] for k in keys] == ["laptop"]


def test_import_bad_input_is_one_line_and_writes_nothing(upstream, tmp_path):
    up, _ = upstream
    target = tmp_path / "world.yaml"
    base = ["-o", str(target), "--user", "system"]
    one_line_error(fakecmon("import", "--from", f"https://127.0.0.1:{free_port()}", *base,
                            "--password", "secret", "--insecure"), "cannot reach")
    one_line_error(fakecmon("import", "--from", up.base_url, *base, "--password", "secret"),
                   "TLS error")                       # the system CAs do not trust it
    one_line_error(fakecmon("import", "--from", up.base_url, *base, "--password", "nope",
                            "--insecure"), "cannot log in", "as system")
    one_line_error(fakecmon("import", "--from", up.base_url, "-o", str(tmp_path / "no" / "w.yaml"),
                            "--user", "system", "--password", "secret", "--insecure"),
                   "not a directory")
    assert not target.exists() and not list(tmp_path.glob("*.tmp"))
