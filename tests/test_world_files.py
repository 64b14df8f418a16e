"""World files: a broken one stops ``fakecmon serve`` with file, line and cause; later files extend."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fakecmon.controller import DEFAULT_WORLD, Config, Controller
from fakecmon.testing import FakeCmon
from fakecmon.world.yamlfile import WorldError, read_yaml
from worldfile import write_world

# name -> (file text, line, words of the cause)
BROKEN = {
    "yaml-syntax": ("users:\n  - user_name: bob\n    groups: [admins\n", 4, "YAML syntax error"),
    "tab-indent": ("users:\n\t- user_name: bob\n", 2, "YAML syntax error"),
    "duplicate-key": ("users:\n  - user_name: bob\n    user_name: rob\n    groups: [admins]\n", 3,
                      "duplicate key 'user_name'"),
    "wrong-type": ("users:\n  - user_name: bob\n    user_id: seven\n    groups: [admins]\n", 3,
                   "users[0].user_id: expected an integer, got a string"),
    "wrong-bool": ("users:\n  - user_name: bob\n    groups: [admins]\n    disabled: 'no'\n", 4,
                   "users[0].disabled: expected a boolean, got a string"),
    "unknown-field": ("users:\n  - user_name: bob\n    groups: [admins]\n    colour: blue\n", 4,
                      "users[0].colour: unknown field"),
    "unknown-group": ("users:\n  - user_name: bob\n    groups: [admins, wizards]\n", 3,
                      "unknown group 'wizards'"),
    "unknown-owner": ("clusters:\n  - cluster_name: c9\n    cluster_type: galera\n"
                      "    owner: ghost\n", 4, "clusters[0].owner: unknown user 'ghost'"),
    "duplicate-id": ("users:\n  - user_name: bob\n    user_id: 70\n    groups: [admins]\n"
                     "  - user_name: rob\n    user_id: 70\n    groups: [admins]\n", 6,
                     "user id 70 is already used by user 'bob'"),
    "id-of-default-user": ("users:\n  - user_name: bob\n    user_id: 5\n    groups: [admins]\n", 3,
                           "user id 5 is already used by user 'readeruser'"),
    "duplicate-cluster-id": ("clusters:\n  - cluster_name: other\n    cluster_type: galera\n"
                             "    cluster_id: 21\n", 4, "cluster id 21 is already used"),
    "duplicate-name": ("users:\n  - user_name: bob\n    groups: [admins]\n"
                       "  - user_name: bob\n    groups: [users]\n", 4, "duplicate user 'bob'"),
    "unknown-section": ("users: []\nspaceships:\n  - name: enterprise\n", 2,
                        "spaceships: unknown section"),
    "section-not-a-list": ("users:\n  user_name: bob\n", 1, "users: expected a list, got a mapping"),
    "top-level-list": ("- users\n- clusters\n", 1, "top level must be a mapping"),
    "bad-acl": ("clusters:\n  - cluster_name: c9\n    cluster_type: galera\n    acl: 'user::rwz'\n",
                4, "Invalid permission"),
    "bad-cluster-type": ("clusters:\n  - cluster_name: c9\n    cluster_type: oracle\n", 3,
                         "unknown cluster type 'ORACLE'"),
    "bad-host-port": ("clusters:\n  - cluster_name: c9\n    cluster_type: galera\n    hosts:\n"
                      "      - {hostname: 10.1.1.1, port: 70000}\n", 5, "port 70000 is out of range"),
    "missing-field": ("clusters:\n  - cluster_type: galera\n", 2,
                      "missing required field 'cluster_name'"),
}


#: the cases also run through a real ``fakecmon serve`` process (the rest load in-process,
#: through the same loader, to keep the file fast)
CLI_CASES = ("yaml-syntax", "wrong-type", "unknown-field", "unknown-group", "duplicate-id",
             "unknown-section")


@pytest.fixture(scope="module")
def broken_runs(tmp_path_factory) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    """``fakecmon serve --port 0 --world default.yaml --world bad.yaml`` per CLI case, at once."""
    tmp = tmp_path_factory.mktemp("broken")
    procs = {}
    for name in CLI_CASES:
        path = tmp / f"{name}.yaml"
        path.write_text(BROKEN[name][0])
        procs[name] = (path, subprocess.Popen(
            [sys.executable, "-m", "fakecmon", "serve", "--port", "0", "--certs-dir",
             str(tmp / "certs"), "--world", str(DEFAULT_WORLD), "--world", str(path)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    runs = {}
    try:
        for name, (path, proc) in procs.items():
            out, err = proc.communicate(timeout=30)
            runs[name] = (path, subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    finally:
        for _, proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return runs


def check_message(message: str, path: Path, name: str) -> None:
    _, line, cause = BROKEN[name]
    assert message.count("\n") == 0, message          # one line, no traceback
    assert "Traceback" not in message
    assert str(path) in message
    assert f"line {line}" in message, message
    assert cause in message, message


@pytest.mark.parametrize("name", CLI_CASES)
def test_broken_world_stops_fakecmon_serve(broken_runs, name):
    path, run = broken_runs[name]
    assert run.returncode == 1          # the README promises exit code 1
    assert "listening on" not in run.stdout
    assert run.stderr.startswith("fakecmon: cannot load the world: ")
    check_message(run.stderr.strip(), path, name)


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_world_message(tmp_path, name):
    path = tmp_path / f"{name}.yaml"
    path.write_text(BROKEN[name][0])
    with pytest.raises(WorldError) as exc:
        Controller(Config(world_paths=[DEFAULT_WORLD, path]))
    check_message(str(exc.value), path, name)


def test_missing_world_file(tmp_path):
    run = subprocess.run([sys.executable, "-m", "fakecmon", "serve", "--port", "0", "--certs-dir",
                          str(tmp_path), "--world", str(tmp_path / "nope.yaml")],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 1          # the README promises exit code 1
    assert "nope.yaml" in run.stderr and "cannot read" in run.stderr


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("users:\n  - user_name: j\xfcrgen\n".encode("latin-1"))
    with pytest.raises(WorldError, match="not UTF-8"):
        read_yaml(path)


def test_world_without_system_user(tmp_path):
    path = write_world(tmp_path, {"groups": [{"group_name": "admins"}]}, "alone.yaml")
    with pytest.raises(WorldError, match="no 'system' user"):
        Controller(Config(world_paths=[path]))


def test_replacing_files_never_half_loads(tmp_path):
    controller = Controller(Config())
    before = controller.world
    bad = write_world(tmp_path, {"users": [{"user_name": "zed", "groups": ["admins"]},
                                           {"user_name": "bad", "groups": ["wizards"]}]})
    with pytest.raises(WorldError):
        controller.replace_files([*controller.files, (bad, read_yaml(bad))])
    assert controller.world is before
    assert controller.world.user_by_name("zed") is None


def test_the_default_world_loads_and_is_complete():
    world = Controller(Config()).world
    assert {u.user_name for u in world.users.values()} >= {
        "system", "admin", "ccrpc", "readeruser", "dba", "nobody"}
    assert {c.cluster_type for c in world.clusters.values()} >= {
        "GALERA", "REPLICATION", "POSTGRESQL_SINGLE", "MONGODB", "REDIS"}
    assert world.clusters[21].host("192.168.20.53") is not None
    assert world.user_by_name("readeruser").user_id == 5


# ---- later files extend earlier ones

@pytest.fixture(scope="module")
def extended(tmp_path_factory) -> Iterator[FakeCmon]:
    tmp = tmp_path_factory.mktemp("extend")
    second = write_world(tmp, {
        "groups": [{"group_name": "ops"}],
        "users": [{"user_name": "admin", "password": "new-admin-pass", "groups": ["ops"]},
                  {"user_name": "olga", "password": "olga-pass", "groups": ["ops"]}],
        "clusters": [{"cluster_name": "pg-ops", "cluster_type": "postgresql_single",
                      "owner": "olga", "group": "ops", "hosts": [{"hostname": "10.7.0.1"}]}],
    }, "second.yaml")
    third = write_world(tmp, {
        "controller": {"controller_id": "0000aaaa-1111-2222-3333-444455556666", "version": "2.3.2"},
        "clusters": [{"cluster_name": "redis-cache", "cluster_id": 5, "cluster_type": "redis",
                      "state": "STARTED", "hosts": [{"hostname": "10.0.5.99"}]}],
    }, "third.yaml")
    with FakeCmon(world=[DEFAULT_WORLD, second, third]) as cmon:
        yield cmon


def test_later_file_replaces_a_user(extended):
    assert extended.client().login("admin", "admin")["request_status"] == "AccessDenied"
    doc = extended.client().login("admin", "new-admin-pass")
    assert doc["request_status"] == "Ok" and doc["is_superuser"] is False
    assert doc["user"]["user_id"] == 3                      # keeps its id
    assert [g["group_name"] for g in doc["user"]["groups"]] == ["ops"]


def test_later_file_adds_users_groups_and_clusters(extended):
    client = extended.client()
    assert client.login("olga", "olga-pass")["request_status"] == "Ok"
    doc = client.call("/v2/clusters", "getAllClusterInfo")
    assert [c["cluster_name"] for c in doc["clusters"]] == ["pg-ops"]
    cluster = doc["clusters"][0]
    assert cluster["cluster_id"] == 22 and cluster["owner"]["user_name"] == "olga"
    assert cluster["effective_privileges"] == "rwx"
    assert client.call("/v2/clusters", "getClusterInfo", cluster_id=1)["request_status"] == \
        "AccessDenied"


def test_later_file_replaces_a_cluster_and_the_controller(extended):
    client = extended.client()
    client.login("system", "secret")
    doc = client.call("/v2/clusters", "getClusterInfo", cluster_id=5, with_hosts=True)
    assert doc["controller_id"] == "0000aaaa-1111-2222-3333-444455556666"
    assert doc["cluster"]["state"] == "STARTED"
    assert [h["hostname"] for h in doc["cluster"]["hosts"] if h["nodetype"] != "controller"] == \
        ["10.0.5.99"]
    assert client.post("/v2/info", {"operation": "ping"}).header("server") == "cmon/2.3.2"
    # the untouched rest of the default world is still there
    assert client.login("readeruser", "s3cr3tP455")["request_status"] == "Ok"
    assert client.call("/v2/clusters", "getClusterInfo", cluster_id=21)["request_status"] == "Ok"
