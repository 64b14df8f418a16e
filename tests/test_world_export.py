"""The world as a file, both ways: export -> load -> export is identical, and every
read operation answers the same before and after (default world and a busy one)."""

from __future__ import annotations

import json
import re
import ssl
import urllib.request
from typing import Any

import pytest
import yaml

from fakecmon import cli
from fakecmon.client import RpcClient
from fakecmon.rpc import OPERATIONS
from fakecmon.testing import FakeCmon

J, C, U, T = "/v2/jobs", "/v2/clusters", "/v2/users", "/v2/tree"
READ_PREFIXES = ("get", "list", "check", "find", "dir", "can", "ping")
#: Reply fields that name the request or the moment it was answered, not the world.
VOLATILE = ("request_created", "request_processed", "request_id", "debug_messages")


def job(client: RpcClient, command: str, data: dict[str, Any], cluster_id: int = 0) -> int:
    reply = client.call(J, "createJobInstance", cluster_id=cluster_id, job={
        "class_name": "CmonJobInstance", "job_spec": {"command": command, "job_data": data}})
    assert reply["request_status"] == "Ok", reply
    return reply["job"]["job_id"]


def busy_world(cmon: FakeCmon, system: RpcClient) -> list[int]:
    """Many operations of many areas; returns the ids of jobs left running."""
    cmon.freeze()
    job(system, "create_cluster", {"cluster_type": "postgresql_single", "vendor": "default",
                                   "version": "16", "cluster_name": "pg-export",
                                   "nodes": [{"hostname": "10.77.0.1"},
                                             {"hostname": "10.77.0.2"}]})
    job(system, "add_cluster", {"cluster_type": "replication", "vendor": "oracle",
                                "version": "8.0", "cluster_name": "imported",
                                "nodes": [{"hostname": "10.78.0.1"}, "10.78.0.2:3307"]})
    job(system, "backup", {"backup_method": "mysqldump", "hostname": "auto"}, cluster_id=1)
    job(system, "success", {"timeout": 30})
    cmon.advance(20)
    running = [job(system, "success", {"timeout": 600}), job(system, "fail", {"timeout": 5})]
    cmon.advance(1)
    calls = [
        (U, "createGroup", {"group": {"class_name": "CmonGroup", "group_name": "exporters"}}),
        (U, "createUser", {"new_password": "pw-12345", "create_group": True,
                           "user": {"class_name": "CmonUser", "user_name": "newbie",
                                    "first_name": "New", "email_address": "n@example.com"}}),
        (U, "createUser", {"user": {"class_name": "CmonUser", "user_name": "nopass",
                                    "groups": [{"group_name": "exporters"}]}}),
        (T, "mkdir", {"path": "/home/newbie/folder"}),
        (T, "addAcl", {"path": "/home/newbie/folder", "acl": "group:exporters:r-x"}),
        (T, "addAcl", {"path": "/galera-prod", "acl": "user:newbie:r--"}),
        (C, "setConfig", {"cluster_id": 1, "configuration": [
            {"name": "host_stats_collection_interval", "value": "120"}]}),
        (C, "createAccount", {"cluster_id": 1, "account": {
            "class_name": "CmonAccount", "user_name": "report", "password": "r3p",
            "host_allow": "10.0.%", "grants": "shop.*:SELECT"}}),
        (C, "createDatabase", {"cluster_id": 1, "database": {"database_name": "ledger"}}),
        ("/v2/maintenance", "addMaintenance", {
            "cluster_id": 1, "initiate": "2000-01-01T00:00:00.000Z",
            "deadline": "2099-01-01T00:00:00.000Z", "reason": "export test"}),
        ("/v2/imperative", "saveScript", {"filename": "/tools/x.js", "content": "print(1);"}),
        ("/v2/spreadsheets", "createSpreadsheet", {"spreadsheet_name": "budget",
                                                   "format": "csv", "content": "1,2\n3,4"}),
        ("/v2/host", "registerServers", {"servers": [{"class_name": "CmonLxcServer",
                                                      "hostname": "lxc-export",
                                                      "protocol": "lxc"}]}),
    ]
    for path, operation, fields in calls:
        reply = system.post(path, {"operation": operation, **fields}).json
        assert reply["request_status"] == "Ok", (operation, reply)
    assert system.call(U, "authenticateWithPassword", user_name="newbie",
                       password="wrong")["request_status"] != "Ok"
    return running


def read_operations(system: RpcClient, cmon: FakeCmon) -> dict[str, Any]:
    """Every read operation, without arguments and for each cluster, minus volatile fields."""
    cluster_ids = [c["cluster_id"] for c in
                   system.call(C, "getAllClusterInfo")["clusters"]]
    job_ids = [j["job_id"] for j in system.call(J, "getJobInstances")["jobs"]]
    answers: dict[str, Any] = {}
    for path, ops in sorted(OPERATIONS.items()):
        for op in sorted(ops.values(), key=lambda o: o.name):
            if not op.name.startswith(READ_PREFIXES) or op.name == "getSessions":
                continue
            for fields in [{}, *({"cluster_id": c} for c in cluster_ids)]:
                reply = system.call(path, op.name, **fields)
                answers[f"{path} {op.name} {fields}"] = strip(reply)
    for job_id in job_ids:
        answers[f"log {job_id}"] = strip(system.call(J, "getJobLog", job_id=job_id,
                                                     ascending=True, limit=500))
    return answers


def strip(reply: Any) -> Any:
    if isinstance(reply, dict):
        return {k: strip(v) for k, v in reply.items() if k not in VOLATILE}
    if isinstance(reply, list):
        return [strip(v) for v in reply]
    return reply


def round_trip(cmon: FakeCmon) -> None:
    """Reads before == reads after loading the export; export of the export is the same."""
    cmon.freeze()
    system = cmon.client("system", "secret")
    cmon.snapshot("before-export")
    before = read_operations(system, cmon)
    cmon.restore("before-export")
    first = cmon.export_world()
    cmon.load_yaml(first, replace=True, name="export.yaml")
    assert cmon.export_world() == first
    after = read_operations(system, cmon)
    differ = [k for k in before if before[k] != after.get(k)]
    assert not differ, f"{len(differ)} reads differ, first: {differ[0]}\n" \
                       f"{before[differ[0]]}\n{after.get(differ[0])}"
    assert len(before) > 100


def test_default_world_round_trip(cmon):
    round_trip(cmon)


def test_busy_world_round_trip(cmon, system):
    running = busy_world(cmon, system)
    round_trip(cmon)
    # The running job goes on after the load: the plan was saved too.
    cmon.advance(700)
    for job_id in running:
        status = system.call(J, "getJobInstance", job_id=job_id)["job"]["status"]
        assert status in ("FINISHED", "FAILED")
    assert "pg-export" in [c["cluster_name"] for c in
                           system.call(C, "getAllClusterInfo")["clusters"]]


def test_export_never_writes_a_password(cmon, system):
    assert system.call(U, "createUser", user={
        "class_name": "CmonUser", "user_name": "nopass",
        "groups": [{"group_name": "users"}]})["request_status"] == "Ok"
    text = cmon.export_world()
    doc = yaml.safe_load(text)
    assert not re.search(r"\bsecret\b(?!-)", text.replace("rpc-secret", ""))  # system's
    assert all("password" not in u for u in doc["users"])
    saved = doc["saved"]["users"]
    assert "password_hash" not in saved["nopass"]       # never set: no secret at all
    assert saved["system"]["password_hash"].startswith("pbkdf2-sha256$")
    # The hash logs in after a load, and a wrong password does not.
    cmon.load_yaml(text, replace=True)
    assert cmon.client().login("system", "secret")["request_status"] == "Ok"
    assert cmon.client().login("system", "secre")["request_status"] != "Ok"
    assert cmon.client().login("nopass", "")["request_status"] != "Ok"


def _get(cmon: FakeCmon, path: str) -> tuple[int, bytes, str]:
    ctx = ssl.create_default_context(cafile=str(cmon.ca_path))
    ctx.check_hostname = False
    try:
        with urllib.request.urlopen(cmon.base_url + path, context=ctx, timeout=10) as r:
            return r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Content-Type", "")


def test_export_route_yaml_and_json(cmon):
    cmon.freeze()   # the export says when it was made (alarms' "now"...)
    status, body, ctype = _get(cmon, "/_fakecmon/world/export")
    assert status == 200 and ctype.startswith("application/yaml")
    assert body.decode() == cmon.export_world()
    status, body, ctype = _get(cmon, "/_fakecmon/world/export?format=json")
    assert status == 200 and ctype.startswith("application/json")
    assert json.loads(body) == yaml.safe_load(cmon.export_world())
    cmon.load_yaml(body.decode(), replace=True, name="export.json")   # JSON is YAML too
    status, body, _ = _get(cmon, "/_fakecmon/world/export?format=xml")
    assert status == 400 and "yaml or json" in json.loads(body)["error"]


def test_cli_export(cmon, tmp_path, capsys):
    cmon.freeze()
    out = tmp_path / "world.yaml"
    assert cli.main(["export", "--url", cmon.base_url, "--output", str(out)]) == 0
    assert out.read_text() == cmon.export_world()
    assert cli.main(["export", "--url", cmon.base_url, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["controller"]["controller_id"] == \
        cmon.controller_id
    assert cli.main(["export", "--url", "https://127.0.0.1:1"]) == 1
    assert "cannot export" in capsys.readouterr().err


@pytest.mark.parametrize("bad, cause", [
    ("saved: {format: 99, created: 1}", "format 99"),
    ("saved: {format: 1, created: 1, extensions: {x: {'!obj': 'os:system'}}}",
     "not part of fakecmon"),
    ("saved: {format: 1, created: 1, extensions: {x: {'!fn': 'fakecmon.world.nope:f'}}}",
     "does not exist"),
    ("saved: {format: 1, created: 1, extensions: {x: {'!ref': 3}}}", "before its !id"),
    ("saved: {format: 1, created: 1, users: {system: {password_hash: plain}}}",
     "not a pbkdf2-sha256 hash"),
    ("saved: {format: 1, created: 1, users: {system: {shoe_size: 3}}}", "unknown field"),
])
def test_broken_saved_section_names_the_place(cmon, bad, cause):
    from fakecmon.world.yamlfile import WorldError
    with pytest.raises(WorldError, match=f"broken.yaml: line 1: saved.*{cause}"):
        cmon.load_yaml(bad, name="broken.yaml")


def test_a_broken_area_names_its_line(cmon):
    from fakecmon.world.yamlfile import WorldError
    text = cmon.export_world()
    assert "\n    jobs:\n" in text
    broken = text.replace("\n    jobs:\n", "\n    jobs:\n      '!ref': 999\n", 1)
    line = broken.split("\n").index("    jobs:") + 1
    with pytest.raises(WorldError, match=f"b.yaml: line {line}: saved.extensions.jobs: "
                                         "reference !ref 999 before its !id"):
        cmon.load_yaml(broken, name="b.yaml")


def test_export_with_a_log_file(tmp_path):
    """The controller's open --log-file is not part of the world: the export skips it and
    the loaded world writes to the file again."""
    log = tmp_path / "cmon.log"
    with FakeCmon(log_file=log) as server:
        server.freeze()
        server.client("system", "secret")
        text = server.export_world()
        assert "cmon.log" not in text
        server.load_yaml(text, replace=True)
        assert server.export_world() == text
        server.client("system", "secret")
    assert log.read_text().count("logged in") >= 2


def test_codec_keeps_shapes_sharing_and_cycles():
    """What areas may keep: every container kind, shared objects, a cycle, bytes, inf."""
    import collections

    from fakecmon.controller import Controller
    from fakecmon.world.codec import Decoder, Encoder

    world = Controller().world
    shared = {"n": 1}
    cyclic: list[Any] = ["head"]
    cyclic.append(cyclic)
    value = {"t": (1, "a"), "s": {3, 1}, "f": frozenset({"x"}), "d": collections.deque([1], 5),
             "ints": {1: "one", 2: shared}, "again": shared, "b": b"\x00\xff", "inf": float("inf"),
             "cycle": cyclic, "world": world, "cluster": world.clusters[1],
             "host": world.clusters[1].hosts[0]}
    doc = Encoder(world).encode(value)
    back = Decoder(world).decode(yaml.safe_load(yaml.safe_dump(doc, sort_keys=False)))
    assert back["t"] == (1, "a") and back["s"] == {1, 3} and back["f"] == frozenset({"x"})
    assert back["d"] == collections.deque([1], 5) and back["d"].maxlen == 5
    assert back["ints"][2] is back["again"] and back["ints"][1] == "one"
    assert back["b"] == b"\x00\xff" and back["inf"] == float("inf")
    assert back["cycle"][1] is back["cycle"]
    assert back["world"] is world and back["cluster"] is world.clusters[1]
    assert back["host"] is world.clusters[1].hosts[0]


def test_codec_refuses_to_drop_the_items_of_a_dict_subclass():
    """A dict subclass is written as an object (its attributes): one with items is an
    error unless its class says the items are a cache (the jobs Archive)."""
    from fakecmon.controller import Controller
    from fakecmon.world.codec import Encoder
    from fakecmon.world.jobs import Archive
    from fakecmon.world.yamlfile import Node

    world = Controller().world
    with pytest.raises(TypeError, match="a dict subclass with items"):
        Encoder(world).encode({"x": Node({"a": 1})})
    doc = Encoder(world).encode({"x": Archive({1: "job"})})
    assert doc["x"] == {"!obj": "fakecmon.world.jobs:Archive"}


def test_an_export_serves_with_world(cmon, system, tmp_path):
    """``fakecmon serve --world export.yaml`` builds its controller like this."""
    from fakecmon.controller import Config, Controller
    busy_world(cmon, system)
    path = tmp_path / "export.yaml"
    path.write_text(cmon.export_world())
    loaded = Controller(Config(world_paths=[path]), clock=cmon.run(lambda c: c.clock))
    assert "pg-export" in [c.cluster_name for c in loaded.world.clusters.values()]
    assert loaded.world.controller_id == cmon.controller_id
