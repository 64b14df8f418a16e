"""/v2/alarm: alarms from the world's state and the world file, ignoring, statistics."""

from __future__ import annotations

import pytest

from areautil import RFC3339, login, set_host_status
from fakecmon.controller import Config, Controller
from fakecmon.events import Event, emit
from fakecmon.timefmt import rfc3339
from fakecmon.world.yamlfile import WorldError
from worldfile import worlds

A = "/v2/alarm"
ALARM_TYPES = {"alarm_id": int, "cluster_id": int, "component": int, "component_name": str,
               "counter": int, "created": str, "hostname": str, "ignored": int, "measured": int,
               "message": str, "recommendation": str, "reported": str, "severity": int,
               "severity_name": str, "title": str, "type": int, "type_name": str}


def alarms(client, cluster_id=None):
    fields = {"cluster_id": cluster_id} if cluster_id is not None else {}
    reply = client.call(A, "getAlarms", **fields)
    assert reply["request_status"] == "Ok", reply
    return reply["alarms"]


def stats(client, cluster_id):
    cluster = client.call("/v2/clusters", "getClusterInfo", cluster_id=cluster_id)["cluster"]
    return cluster["alarm_statistics"]["critical"], cluster["alarm_statistics"]["warning"]


def test_alarm_fields_and_json_types(system):
    found = alarms(system)
    assert {a["type_name"] for a in found} >= {"ClusterTimeDrift", "ReplicationLag",
                                              "BackupFailed", "HostUnreachable",
                                              "ClusterDegraded"}
    for alarm in found:
        for key, kind in ALARM_TYPES.items():
            assert isinstance(alarm[key], kind) and not isinstance(alarm[key], bool), (key, alarm)
        assert alarm["class_name"] == "CmonAlarm"
        assert alarm["ignored"] in (0, 1)
        assert alarm["severity_name"] in ("ALARM_WARNING", "ALARM_CRITICAL")
        assert RFC3339.match(alarm["created"]) and RFC3339.match(alarm["reported"])
    assert [a["alarm_id"] for a in found] == sorted(a["alarm_id"] for a in found)


def test_offline_host_of_the_default_world_has_a_critical_alarm(system):
    found = alarms(system, 4)
    down = [a for a in found if a["hostname"] == "10.0.4.43"]
    assert len(down) == 1 and down[0]["severity_name"] == "ALARM_CRITICAL"
    assert down[0]["type_name"] == "HostUnreachable" and down[0]["component_name"] == "Network"
    assert isinstance(down[0]["host_id"], int)
    assert stats(system, 4) == (1, 1)        # + ClusterDegraded (warning)


def test_node_down_raises_an_alarm_and_up_clears_it(cmon, system):
    assert stats(system, 21) == (0, 0) and alarms(system, 21) == []
    set_host_status(cmon, 21, "192.168.20.53", "CmonHostShutDown")
    found = alarms(system, 21)
    assert [(a["hostname"], a["type_name"], a["severity_name"]) for a in found] == [
        ("192.168.20.53", "HostShutDown", "ALARM_CRITICAL")]
    assert stats(system, 21) == (1, 0)
    everywhere = system.call("/v2/clusters", "getAllClusterInfo")["clusters"]
    assert [c["alarm_statistics"]["critical"] for c in everywhere if c["cluster_id"] == 21] == [1]
    set_host_status(cmon, 21, "192.168.20.53", "CmonHostOnline")
    assert alarms(system, 21) == [] and stats(system, 21) == (0, 0)


def test_host_status_event_raises_the_alarm_when_it_happens(cmon, system):
    def stop(c):
        host = c.world.clusters[21].host("192.168.20.52")
        host.hoststatus = "CmonHostFailed"
        now = c.clock.now()
        emit(c.world, Event("host.status", now, cluster_id=21,
                            data={"hostname": "192.168.20.52", "port": 3306,
                                  "hoststatus": "CmonHostFailed",
                                  "previous": "CmonHostOnline"}))
        return now
    when = cmon.run(stop)
    cmon.advance(600)
    found = alarms(system, 21)
    assert len(found) == 1 and found[0]["type_name"] == "HostUnreachable"
    assert found[0]["created"] == found[0]["reported"] == rfc3339(when)  # not the read's time


def test_hosts_in_maintenance_raise_no_alarm(cmon, system):
    reply = system.call("/v2/maintenance", "addMaintenance", hostname="192.168.20.51",
                        initiate="2000-01-01T00:00:00.000Z", deadline="2099-01-01T00:00:00.000Z",
                        reason="disk swap")
    assert reply["request_status"] == "Ok"
    set_host_status(cmon, 21, "192.168.20.51", "CmonHostOffLine")
    assert alarms(system, 21) == []
    # the stopped cache cluster of the default world is in maintenance too
    assert alarms(system, 5) == []


def test_cluster_failure_alarm(cmon, system):
    cmon.run(lambda c: setattr(c.world.clusters[2], "state", "FAILURE"))
    found = [a for a in alarms(system, 2) if a["type_name"] == "ClusterFailure"]
    assert len(found) == 1 and found[0]["component_name"] == "Cluster"
    assert found[0]["hostname"] == "" and "host_id" not in found[0]


def test_ignore_alarm(system):
    target = next(a for a in alarms(system, 2) if a["type_name"] == "BackupFailed")
    before = stats(system, 2)
    reply = system.call(A, "ignoreAlarm", alarm_id=target["alarm_id"], ignore=True, cluster_id=2)
    assert reply["request_status"] == "Ok"
    again = system.call(A, "getAlarm", alarm_id=target["alarm_id"])["alarm"]
    assert again["ignored"] == 1
    assert stats(system, 2) == (before[0] - 1, before[1])
    system.call(A, "ignoreAlarm", alarm_id=target["alarm_id"], ignore=False)
    assert system.call(A, "getAlarm", alarm_id=target["alarm_id"])["alarm"]["ignored"] == 0
    assert stats(system, 2) == before


def test_world_file_ignored_alarm_is_listed_but_not_counted(system):
    found = alarms(system, 3)
    assert [(a["type_name"], a["ignored"]) for a in found] == [("DiskSpaceUsageHigh", 1)]
    assert stats(system, 3) == (0, 0)


def test_get_statistics(system):
    reply = system.call(A, "getStatistics", cluster_id=4)
    assert reply["request_status"] == "Ok"
    assert reply["alarm_statistics"] == [{
        "class_name": "CmonAlarmStatistics", "cluster_id": 4, "critical": 1, "warning": 1,
        "created_after": "1970-01-01T00:00:00.000Z", "reported_after": "1970-01-01T00:00:00.000Z"}]
    every = system.call(A, "getStatistics")["alarm_statistics"]
    assert [s["cluster_id"] for s in every] == [1, 2, 3, 4, 5, 21]


def test_permissions(cmon, reader):
    assert alarms(reader, 4)                 # readers may look...
    alarm_id = alarms(reader, 4)[0]["alarm_id"]
    denied = reader.call(A, "ignoreAlarm", alarm_id=alarm_id, ignore=True)
    assert denied["request_status"] == "AccessDenied"       # ...but not ignore
    assert "Write access to cluster 4" in denied["error_string"]
    dba = login(cmon, "dba", "dba-pass")     # dba sees postgres-main only
    hidden = dba.call(A, "getAlarms", cluster_id=1)
    assert (hidden["request_status"], hidden["error_string"]) == (
        "ObjectNotFound", "Cluster was not found.")
    assert {a["cluster_id"] for a in alarms(dba)} == {3}
    assert dba.call(A, "getAlarm", alarm_id=alarm_id)["request_status"] == "ObjectNotFound"


@pytest.mark.parametrize("op,fields", [
    ("getAlarms", {"cluster_id": 4}), ("getAlarms", {}), ("getAlarm", {"alarm_id": 1}),
    ("ignoreAlarm", {"alarm_id": 1, "ignore": True}), ("getStatistics", {"cluster_id": 1}),
    ("getStatistics", {}),
])
def test_python_sdk_reply_rules(system, op, fields):
    """The Python SDK validates class_name/operation/cluster_id/alarm_id/ignore of /v2/alarm."""
    raw = system.post(A, {"operation": op, **fields})
    assert raw.header("content-type").startswith("application/json")
    reply = raw.json
    assert reply["request_status"] == "Ok", reply
    assert reply.get("class_name", "CmonRpcRequest") == "CmonRpcRequest"
    assert reply.get("operation", op) == op
    for key in ("cluster_id", "alarm_id"):
        if key in reply:
            assert type(reply[key]) is int
    if "ignore" in reply:
        assert type(reply["ignore"]) is bool


def test_get_alarm_only_in_the_named_cluster(system):
    alarm_id = alarms(system, 4)[0]["alarm_id"]
    assert system.call(A, "getAlarm", alarm_id=alarm_id, cluster_id=4)["alarm"]["cluster_id"] == 4
    other = system.call(A, "getAlarm", alarm_id=alarm_id, cluster_id=1)
    assert (other["request_status"], other["error_string"]) == (
        "ObjectNotFound", f"Alarm {alarm_id} was not found.")


def test_unknown_alarm_and_bad_input(system):
    missing = system.call(A, "getAlarm", alarm_id=999)
    assert (missing["request_status"], missing["error_string"]) == (
        "ObjectNotFound", "Alarm 999 was not found.")
    bad = system.call(A, "getAlarm", alarm_id="one")
    assert bad["request_status"] == "InvalidRequest"
    unknown = system.call(A, "getAlarms", cluster_id=99)
    assert (unknown["request_status"], unknown["error_string"]) == (
        "ObjectNotFound", "Cluster was not found.")


def test_world_file_alarm_errors(tmp_path):
    for doc, text in [
        ({"alarms": [{"cluster": "nope", "type_name": "X"}]}, "unknown cluster 'nope'"),
        ({"alarms": [{"cluster": 1, "type_name": "X", "severity": "bad"}]},
         "expected 'critical' or 'warning'"),
        ({"alarms": [{"cluster": 1, "type_name": "X", "hostname": "10.9.9.9"}]},
         "has no host '10.9.9.9'"),
    ]:
        with pytest.raises(WorldError, match="alarms\\[0\\]") as err:
            Controller(Config(world_paths=worlds(tmp_path, doc)))
        assert text in str(err.value)


def test_stop_job_raises_and_start_job_clears(cmon, system):
    """The issue's case: a node stopped by a job raises an alarm, starting it clears it."""
    def job(command):
        reply = system.call("/v2/jobs", "createJobInstance", cluster_id=21, job={
            "class_name": "CmonJobInstance", "job_spec": {
                "command": command,
                "job_data": {"clusterid": 21, "node": {"hostname": "192.168.20.53"}}}})
        assert reply["request_status"] == "Ok", reply
        cmon.advance(600)
        done = system.call("/v2/jobs", "getJobInstance", job_id=reply["job"]["job_id"])
        assert done["job"]["status"] == "FINISHED", done

    job("stop")
    assert ("192.168.20.53", "ALARM_CRITICAL") in {
        (a["hostname"], a["severity_name"]) for a in alarms(system, 21)}
    assert stats(system, 21)[0] == 1
    job("start")
    assert [a for a in alarms(system, 21) if a["hostname"] == "192.168.20.53"] == []
    assert stats(system, 21)[0] == 0
