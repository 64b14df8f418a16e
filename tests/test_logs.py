"""/v2/log and /v2/audit: entries written by what happens."""

from __future__ import annotations

from areautil import RFC3339, login, replay
from fakecmon.events import Event, emit
from fakecmon.timefmt import rfc3339
from fakecmon.world import logs

L, AU = "/v2/log", "/v2/audit"


def entries(client, **fields):
    reply = client.call(L, "getLogEntries", **fields)
    assert reply["request_status"] == "Ok", reply
    return reply


def emit_many(cmon, count, cluster_id=1, kind="backup.created", severity="LOG_INFO"):
    def go(c):
        for i in range(count):
            emit(c.world, Event(kind, c.clock.now(), cluster_id=cluster_id,
                                message=f"event {i}", data={"severity": severity}))
    cmon.run(go)


def test_a_login_writes_a_log_and_an_audit_entry(cmon, system):
    login(cmon, "admin", "admin")
    bad = cmon.client().login("admin", "wrong")
    assert bad["request_status"] == "AccessDenied"
    found = entries(system, cluster_id=0, limit=5)["log_entries"]
    texts = [e["log_specifics"]["message_text"] for e in found]
    assert texts[:2] == ["User admin failed to log in with password.",
                         "User admin logged in."]
    assert found[0]["severity"] == "LOG_WARNING" and found[1]["severity"] == "LOG_INFO"
    audit = system.call(AU, "getEntries", cluster_id=0, limit=3)["audit_entries"]
    assert [(a["entry_type"], a["username"]) for a in audit[:2]] == [
        ("UserLoginFailed", "admin"), ("UserLogin", "admin")]


def test_entry_shape_and_json_types(system):
    found = entries(system)
    assert found["total"] >= len(found["log_entries"]) > 0
    for e in found["log_entries"]:
        assert e["class_name"] == "CmonLogMessage" and isinstance(e["log_id"], int)
        assert RFC3339.match(e["created"]) and isinstance(e["log_class"], str)
        assert isinstance(e["log_specifics"]["cluster_id"], int)
        assert isinstance(e["log_specifics"]["message_text"], str)
        origins = e["log_origins"]
        for key in ("sender_line", "sender_pid", "tv_nsec", "tv_sec"):
            assert type(origins[key]) is int
        assert origins["sender_binary"] == "cmon"
    counts = found["log_entry_counts"]
    assert set(counts) == {"component", "hostname", "sender_binary", "severity"}
    assert sum(counts["severity"].values()) == len(found["log_entries"])


def test_paging_order_and_filters(cmon, system):
    emit_many(cmon, 30)
    emit_many(cmon, 3, severity="LOG_ERR")
    every = entries(system, cluster_id=1)
    ids = [e["log_id"] for e in every["log_entries"]]
    assert ids == sorted(ids, reverse=True) and every["total"] == len(ids) >= 33
    first = entries(system, cluster_id=1, limit=10, offset=0)
    second = entries(system, cluster_id=1, limit=10, offset=10)
    assert [e["log_id"] for e in first["log_entries"] + second["log_entries"]] == ids[:20]
    assert first["total"] == every["total"]
    past = entries(system, cluster_id=1, limit=10, offset=every["total"])
    assert past["log_entries"] == []
    ascending = entries(system, cluster_id=1, ascending=True, limit=3)
    assert [e["log_id"] for e in ascending["log_entries"]] == sorted(ids)[:3]
    errors = entries(system, cluster_id=1, severity="LOG_ERR")
    assert errors["total"] == 3 and {e["severity"] for e in errors["log_entries"]} == {"LOG_ERR"}
    assert entries(system, cluster_id=1, severity="err,crit")["total"] == 3
    assert system.call(L, "getLogEntries", severity="LOUD")["request_status"] == "InvalidRequest"


def test_time_filters(cmon, system):
    t0 = cmon.run(lambda c: c.clock.now())
    cmon.advance(100)
    emit_many(cmon, 2, cluster_id=2)
    cmon.advance(100)
    emit_many(cmon, 1, cluster_id=2)
    after = entries(system, cluster_id=2, created_after=rfc3339(t0 + 50))
    assert after["total"] == 3
    window = entries(system, cluster_id=2, created_after=rfc3339(t0 + 50),
                     created_before=rfc3339(t0 + 150))
    assert window["total"] == 2
    bad = system.call(L, "getLogEntries", created_after="yesterday")
    assert bad["request_status"] == "InvalidRequest"


def test_permissions(cmon, system):
    emit_many(cmon, 2, cluster_id=1)
    dba = login(cmon, "dba", "dba-pass")
    seen = {e["log_specifics"]["cluster_id"] for e in entries(dba)["log_entries"]}
    assert 1 not in seen
    hidden = dba.call(L, "getLogEntries", cluster_id=1)
    assert (hidden["request_status"], hidden["error_string"]) == (
        "ObjectNotFound", "Cluster was not found.")
    assert dba.call(AU, "getEntries", cluster_ids=[1])["request_status"] == "ObjectNotFound"


def test_ring_buffer_is_bounded(cmon, system):
    emit_many(cmon, logs.LOG_LIMIT + 50)
    size = cmon.run(lambda c: len(logs.book(c.world).entries))
    assert size == logs.LOG_LIMIT
    newest = entries(system, limit=1)["log_entries"][0]
    assert newest["log_specifics"]["message_text"] == f"event {logs.LOG_LIMIT + 49}"


def test_get_log_entry_and_statistics(cmon, system):
    newest = entries(system, limit=1)["log_entries"][0]
    one = system.call(L, "getLogEntry", message_id=newest["log_id"])
    assert one["log_entry"] == newest
    assert system.call(L, "getLogEntry", message_id=999999)["request_status"] == "ObjectNotFound"
    stats = system.call(L, "getLogStatistics")["log_statistics"]
    assert RFC3339.match(stats["current_time"]) and stats["writer_thread_running"] is True
    per = {s["cluster_id"]: s["entries_received"] for s in stats["cluster_log_statistics"]}
    assert per[0] >= 1 and all(type(v) is int for v in per.values())


def test_job_and_host_events_become_entries(cmon, system):
    job = {"job_id": 77, "title": "Simulated Success", "status": "FINISHED",
           "job_spec": {"command": "success", "job_data": {}}}

    def go(c):
        now = c.clock.now()
        emit(c.world, Event("job.started", now, cluster_id=1, user_name="system",
                            data={"job": job}))
        emit(c.world, Event("job.ended", now, cluster_id=1, user_name="system",
                            data={"job": job}))
        emit(c.world, Event("host.status", now, cluster_id=1,
                            data={"hostname": "10.0.1.11", "port": 3306,
                                  "hoststatus": "CmonHostOffLine",
                                  "previous": "CmonHostOnline"}))
    cmon.run(go)
    found = entries(system, cluster_id=1, limit=3)["log_entries"]
    assert [e["log_class"] for e in found] == ["HostStateChange", "JobEnded", "JobStarted"]
    assert found[0]["component"] == "Node" and found[0]["severity"] == "LOG_WARNING"
    assert found[0]["log_specifics"]["host"] == {"hostname": "10.0.1.11", "port": 3306}
    assert found[1]["log_specifics"]["job_instance"]["job_id"] == 77
    assert found[1]["log_specifics"]["message_text"] == "Job 'Simulated Success' is ended."
    audit_types = [a["entry_type"] for a in system.call(AU, "getEntries", cluster_id=1)[
        "audit_entries"]]
    assert "JobStarted" not in audit_types and "JobEnded" not in audit_types


def test_audit_shape_and_paging(cmon, system):
    for i in range(5):
        login(cmon, "admin", "admin")
    every = system.call(AU, "getEntries")
    assert every["request_status"] == "Ok" and every["total"] >= 6
    for a in every["audit_entries"]:
        assert type(a["cluster_id"]) is int and RFC3339.match(a["report_ts"])
        for key in ("client_hostname", "entry_type", "message_text", "username"):
            assert isinstance(a[key], str)
    page = system.call(AU, "getEntries", limit=2, offset=1)["audit_entries"]
    assert page == every["audit_entries"][1:3]
    ascending = system.call(AU, "getEntries", ascending=True, limit=1)["audit_entries"]
    assert ascending[0] == every["audit_entries"][-1]


def test_capture(system, contract):
    replay(system, contract, "Ok-getLogEntries", L)
