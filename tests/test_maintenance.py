"""/v2/maintenance: periods of hosts and clusters, and ``maintenance_mode_active``."""

from __future__ import annotations

import pytest

from areautil import RFC3339, login, replay
from fakecmon.controller import Config, Controller
from fakecmon.timefmt import rfc3339
from fakecmon.world.yamlfile import WorldError
from worldfile import worlds

M = "/v2/maintenance"
PERIOD_TYPES = {"class_name": str, "UUID": str, "deadline": str, "groupname": str,
                "initiate": str, "is_active": bool, "reason": str, "username": str}


def now(cmon) -> float:
    return cmon.run(lambda c: c.clock.now())


def add(client, **fields):
    reply = client.call(M, "addMaintenance", **fields)
    assert reply["request_status"] == "Ok", reply
    return reply["UUID"]


def host_flags(client, cluster_id):
    cluster = client.call("/v2/clusters", "getClusterInfo", cluster_id=cluster_id)["cluster"]
    return cluster["maintenance_mode_active"], {
        h["hostname"]: h["maintenance_mode_active"] for h in cluster["hosts"]
        if h["nodetype"] != "controller"}


def test_host_maintenance_shows_in_cluster_info_and_ends_with_the_clock(cmon, system):
    t = now(cmon)
    uuid = add(system, hostname="10.0.1.12", initiate=rfc3339(t - 60),
               deadline=rfc3339(t + 3600), reason="kernel upgrade")
    assert host_flags(system, 1) == (False, {"10.0.1.11": False, "10.0.1.12": True,
                                             "10.0.1.13": False, "10.0.1.10": False})
    everywhere = system.call("/v2/clusters", "getAllClusterInfo")["clusters"]
    galera = next(c for c in everywhere if c["cluster_id"] == 1)
    assert [h["hostname"] for h in galera["hosts"] if h["maintenance_mode_active"]] == ["10.0.1.12"]
    records = system.call(M, "getMaintenance", hostname="10.0.1.12")["maintenance_records"]
    assert records[0]["hostname"] == "10.0.1.12" and records[0]["is_active"] is True
    assert records[0]["maintenance_periods"][0]["UUID"] == uuid
    cmon.advance(3601)
    assert host_flags(system, 1)[1]["10.0.1.12"] is False
    assert system.call(M, "getMaintenance", hostname="10.0.1.12")["total"] == 0


def test_cluster_maintenance_starts_later_and_covers_every_host(cmon, system):
    t = now(cmon)
    add(system, cluster_id=21, initiate=rfc3339(t + 600), deadline=rfc3339(t + 1200),
        reason="upgrade")
    assert host_flags(system, 21) == (False, dict.fromkeys(
        ["192.168.20.51", "192.168.20.52", "192.168.20.53"], False))
    nxt = system.call(M, "getNextMaintenance", cluster_id=21)
    assert nxt["found_maintenance"] is True
    assert nxt["maintenance_period"]["initiate"] == rfc3339(t + 600)
    assert system.call(M, "getCurrentMaintenance", cluster_id=21)["found_maintenance"] is False
    cmon.advance(601)
    assert host_flags(system, 21) == (True, dict.fromkeys(
        ["192.168.20.51", "192.168.20.52", "192.168.20.53"], True))
    current = system.call(M, "getCurrentMaintenance", hostname="192.168.20.52")
    assert current["found_maintenance"] is True and current["maintenance_period"]["reason"] == "upgrade"
    assert isinstance(current["ui_string"], str) and "upgrade" in current["ui_string"]
    cmon.advance(600)
    assert host_flags(system, 21)[0] is False


def test_terraform_go_time_strings(cmon, system):
    """Terraform sends Go's time.String(): ``2026-12-01 10:00:00 +0000 UTC``."""
    uuid = add(system, cluster_id=2, initiate="2099-12-01 10:00:00 +0000 UTC",
               deadline="2099-12-01 12:30:00 +0000 UTC", reason="terraform")
    period = system.call(M, "getMaintenance", cluster_id=2)["maintenance_records"][0][
        "maintenance_periods"][0]
    assert (period["UUID"], period["initiate"], period["deadline"]) == (
        uuid, "2099-12-01T10:00:00.000Z", "2099-12-01T12:30:00.000Z")
    reply = system.call(M, "removeMaintenance", UUID=uuid)
    assert reply["request_status"] == "Ok"
    assert system.call(M, "getMaintenance", cluster_id=2)["total"] == 0


def test_get_maintenance_records_and_types(system):
    reply = system.call(M, "getMaintenance")
    assert reply["total"] == len(reply["maintenance_records"]) == 2   # world file: 2 clusters
    for record in reply["maintenance_records"]:
        assert record["class_name"] == "CmonMaintenanceInfo"
        assert isinstance(record["cluster_id"], int) and isinstance(record["is_active"], bool)
        assert record["cluster"]["cluster_id"] == record["cluster_id"]
        assert record["cluster"]["maintenance_periods"] == record["maintenance_periods"]
        for period in record["maintenance_periods"]:
            for key, kind in PERIOD_TYPES.items():
                assert isinstance(period[key], kind), (key, period)
            assert RFC3339.match(period["initiate"]) and RFC3339.match(period["deadline"])
    active = {r["cluster"]["cluster_name"]: r["is_active"] for r in reply["maintenance_records"]}
    assert active == {"redis-cache": True, "postgres-main": False}
    paged = system.call(M, "getMaintenance", pagesize=1, page=1)
    assert paged["total"] == 2 and len(paged["maintenance_records"]) == 1
    assert paged["maintenance_records"][0] == reply["maintenance_records"][1]


def test_bad_requests(cmon, system):
    t = now(cmon)
    cases = [
        ({"cluster_id": 1, "initiate": "tomorrow", "deadline": rfc3339(t + 60)}, "InvalidRequest"),
        ({"cluster_id": 1, "initiate": rfc3339(t + 60), "deadline": rfc3339(t)}, "InvalidRequest"),
        ({"cluster_id": 1, "initiate": rfc3339(t - 120), "deadline": rfc3339(t - 60)},
         "InvalidRequest"),
        ({"initiate": rfc3339(t), "deadline": rfc3339(t + 60)}, "InvalidRequest"),
        ({"cluster_id": 1, "deadline": rfc3339(t + 60)}, "InvalidRequest"),
        ({"hostname": "10.9.9.9", "initiate": rfc3339(t), "deadline": rfc3339(t + 60)},
         "ObjectNotFound"),
        ({"cluster_id": 77, "initiate": rfc3339(t), "deadline": rfc3339(t + 60)},
         "ObjectNotFound"),
    ]
    for fields, status in cases:
        reply = system.call(M, "addMaintenance", **fields)
        assert reply["request_status"] == status, (fields, reply)
        assert reply["error_string"]
    assert system.call(M, "getMaintenance")["total"] == 2      # nothing was added
    gone = system.call(M, "removeMaintenance", UUID="no-such-uuid")
    assert gone["request_status"] == "ObjectNotFound"


def test_permissions(cmon, reader):
    t = now(cmon)
    denied = reader.call(M, "addMaintenance", cluster_id=1, initiate=rfc3339(t),
                         deadline=rfc3339(t + 60))
    assert denied["request_status"] == "AccessDenied"
    assert reader.call(M, "getMaintenance")["total"] == 2
    dba = login(cmon, "dba", "dba-pass")
    mine = dba.call(M, "getMaintenance")
    assert [r["cluster_id"] for r in mine["maintenance_records"]] == [3]
    uuid = mine["maintenance_records"][0]["maintenance_periods"][0]["UUID"]
    assert reader.call(M, "removeMaintenance", UUID=uuid)["request_status"] == "AccessDenied"
    assert dba.call(M, "removeMaintenance", UUID=uuid)["request_status"] == "Ok"


def test_maintenance_is_logged_and_audited(cmon, system):
    t = now(cmon)
    add(system, cluster_id=1, initiate=rfc3339(t), deadline=rfc3339(t + 60), reason="audit me")
    entries = system.call("/v2/audit", "getEntries", cluster_id=1)["audit_entries"]
    assert entries[0]["entry_type"] == "MaintenanceAdded" and "audit me" in \
        entries[0]["message_text"] and entries[0]["username"] == "system"
    logs = system.call("/v2/log", "getLogEntries", cluster_id=1, limit=1)["log_entries"]
    assert "audit me" in logs[0]["log_specifics"]["message_text"]


def test_world_file_host_flag_becomes_a_period(tmp_path):
    doc = {"clusters": [{"cluster_name": "flagged", "cluster_type": "galera",
                         "hosts": [{"hostname": "10.7.0.1", "maintenance_mode_active": True},
                                   {"hostname": "10.7.0.2"}]}]}
    c = Controller(Config(world_paths=worlds(tmp_path, doc)))
    cluster = c.world.cluster_by_name("flagged")
    assert [h.maintenance_mode_active for h in cluster.hosts] == [True, False]
    periods = [p for p in c.world.extensions["maintenance"].periods.values()
               if p.hostname == "10.7.0.1"]
    assert len(periods) == 1 and periods[0].active(c.clock.now())


def test_world_file_errors(tmp_path):
    for doc, text in [
        ({"maintenance": [{"cluster": "nope", "initiate": "+1h", "deadline": "+2h"}]},
         "unknown cluster 'nope'"),
        ({"maintenance": [{"cluster": 1, "initiate": "+2h", "deadline": "+1h"}]},
         "the deadline is before the start"),
        ({"maintenance": [{"cluster": 1, "initiate": "soon", "deadline": "+1h"}]},
         "expected a time"),
        ({"maintenance": [{"initiate": "+1h", "deadline": "+2h"}]}, "needs a 'hostname'"),
    ]:
        with pytest.raises(WorldError, match=r"maintenance\[0\]") as err:
            Controller(Config(world_paths=worlds(tmp_path, doc)))
        assert text in str(err.value) or "Invalid time" in str(err.value), err.value


def test_captures(system, contract, cmon):
    t = now(cmon)
    replay(system, contract, "Ok-getMaintenance", M)
    added, _ = replay(system, contract, "Ok-addMaintenance", M,
                      initiate=rfc3339(t), deadline=rfc3339(t + 5))
    replay(system, contract, "Ok-removeMaintenance", M, UUID=added["UUID"])
