"""/v2/jobs over TLS: the job lifecycle in simulated time, listing, the world effects.

Every test drives the controller clock (``cmon.advance``) instead of sleeping; the
clock is frozen so that what a test sees between two advances does not depend on
how fast the machine is.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import SHARED_CONTRACT
from shapes import load_capture, same_shape

from fakecmon.client import RpcClient
from fakecmon.testing import FakeCmon

J = "/v2/jobs"
C = "/v2/clusters"
ENDED = ("FINISHED", "FAILED", "ABORTED")


@pytest.fixture
def clock(cmon: FakeCmon) -> Iterator[FakeCmon]:
    """The test server with its clock frozen (the reset after the test unfreezes it)."""
    cmon.freeze()
    try:
        yield cmon
    finally:
        cmon.unfreeze()


def create(client: RpcClient, command: str, job_data: dict[str, Any] | None = None,
           cluster_id: int | None = None, **job: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"job": {"class_name": "CmonJobInstance",
                                    "job_spec": {"command": command, "job_data": job_data or {}},
                                    **job}}
    if cluster_id is not None:
        body["cluster_id"] = cluster_id
    return client.call(J, "createJobInstance", **body)


def job_id_of(reply: dict[str, Any]) -> int:
    assert reply["request_status"] == "Ok", reply
    return reply["job"]["job_id"]


def wait(cmon: FakeCmon, client: RpcClient, job_id: int, step: float = 0.5,
         limit: float = 300) -> tuple[dict[str, Any], list[str]]:
    """Poll getJobInstance as ``s9s job --wait`` does, moving the clock between polls."""
    seen: list[str] = []
    moved = 0.0
    while moved <= limit:
        reply = client.call(J, "getJobInstance", job_id=job_id)
        assert reply["request_status"] == "Ok", reply
        job = reply["job"]
        if not seen or seen[-1] != job["status"]:
            seen.append(job["status"])
        if job["status"] in ENDED:
            return job, seen
        cmon.advance(step)
        moved += step
    raise AssertionError(f"job {job_id} did not end: {seen}")


def follow_log(cmon: FakeCmon, client: RpcClient, job_id: int) -> tuple[list[dict], str]:
    """Read the log as ``s9s job --log`` does: ascending, limit 300, offset = lines printed."""
    lines: list[dict] = []
    for _ in range(200):
        body: dict[str, Any] = {"job_id": job_id, "ascending": True, "limit": 300}
        if lines:
            body["offset"] = len(lines)
        reply = client.call(J, "getJobLog", **body)
        assert reply["request_status"] == "Ok", reply
        lines += reply["messages"]
        if reply["job"]["status"] in ENDED:
            return lines, reply["job"]["status"]
        cmon.advance(1)
    raise AssertionError("the log never ended")


def clusters(client: RpcClient) -> dict[str, dict[str, Any]]:
    reply = client.call(C, "getAllClusterInfo", with_hosts=True)
    assert reply["request_status"] == "Ok"
    return {c["cluster_name"]: c for c in reply["clusters"]}


def host(client: RpcClient, cluster: str, hostname: str) -> dict[str, Any]:
    return next(h for h in clusters(client)[cluster]["hosts"] if h["hostname"] == hostname)


def run(cmon: FakeCmon, client: RpcClient, command: str, job_data: dict | None = None,
        cluster_id: int | None = None, **job: Any) -> dict[str, Any]:
    job_id = job_id_of(create(client, command, job_data, cluster_id, **job))
    return wait(cmon, client, job_id)[0]


def messages(client: RpcClient, job_id: int) -> list[str]:
    reply = client.call(J, "getJobLog", job_id=job_id, ascending=True)
    return [m["message_text"] for m in reply["messages"]]


# ---- lifecycle

def test_success_job_goes_defined_running_finished(clock, system):
    reply = create(system, "success", title="Simulated Success", tags=["success", "test"])
    job = reply["job"]
    assert job["status"] == "DEFINED" and job["status_text"] == "Pending"
    assert isinstance(job["job_id"], int) and job["cluster_id"] == 0
    assert job["user_name"] == "system" and job["group_name"] == "admins"
    assert "started" not in job and "has_progress" not in job
    job_id = job["job_id"]
    running = system.call(J, "getJobInstance", job_id=job_id)["job"]
    assert running["status"] == "RUNNING" and running["can_be_aborted"] is True
    assert running["can_be_deleted"] is False and running["has_progress"] is True
    clock.advance(0.6)
    half = system.call(J, "getJobInstance", job_id=job_id)["job"]
    assert half["status"] == "RUNNING" and 0 < half["progress_percent"] < 100
    done, seen = wait(clock, system, job_id)
    assert seen[-1] == "FINISHED" and done["exit_code"] == 0
    assert done["progress_percent"] == 100 and done["status_text"] == "Job finished."
    assert done["ended"] >= done["started"] >= done["created"]
    assert done["tags"] == ["success", "test"] and done["title"] == "Simulated Success"
    assert done["job_spec"] == {"command": "success", "job_data": {}}


def test_fail_job_fails_with_a_log_line_that_says_why(clock, system):
    job_id = job_id_of(create(system, "fail"))
    lines, status = follow_log(clock, system, job_id)
    assert status == "FAILED"
    assert lines[-1]["message_status"] == "JOB_FAILED"
    job = system.call(J, "getJobInstance", job_id=job_id)["job"]
    assert job["exit_code"] == 1 and job["status_text"] == lines[-1]["message_text"]
    assert len({m["message_id"] for m in lines}) == len(lines)   # nothing printed twice


def test_job_log_follows_like_s9s_and_pages(clock, system):
    job_id = job_id_of(create(system, "stop", {"node": {"hostname": "10.0.1.12"}}, 1))
    lines, status = follow_log(clock, system, job_id)
    assert status == "FINISHED" and len(lines) >= 3
    assert all(m["job_id"] == job_id and m["class_name"] == "CmonJobMessage" for m in lines)
    texts = [m["message_text"] for m in lines]
    one_shot = system.call(J, "getJobLog", job_id=job_id, limit=-1, offset=-1, ascending=True)
    assert [m["message_text"] for m in one_shot["messages"]] == texts
    assert one_shot["job"]["status"] == "FINISHED"
    newest = system.call(J, "getJobLog", job_id=job_id, limit=2)
    assert [m["message_text"] for m in newest["messages"]] == texts[::-1][:2]
    past = system.call(J, "getJobLog", job_id=job_id, ascending=True, offset=len(texts))
    assert past["messages"] == [] and past["job"]["status"] == "FINISHED"


def test_kill_aborts_a_running_job(clock, system):
    job_id = job_id_of(create(system, "success", {"timeout": 120}))
    clock.advance(5)
    assert system.call(J, "getJobInstance", job_id=job_id)["job"]["status"] == "RUNNING"
    reply = system.call(J, "killJobInstance", job_id=job_id, signal=15)
    assert reply["request_status"] == "Ok"
    clock.advance(200)
    job = system.call(J, "getJobInstance", job_id=job_id)["job"]
    assert job["status"] == "ABORTED" and job["status_text"] == "Job aborted."
    assert job["can_be_deleted"] is True and job["can_be_aborted"] is False
    assert messages(system, job_id)[-1] == "Job aborted by system."
    again = system.call(J, "killJobInstance", job_id=job_id, signal=15)
    assert again["request_status"] == "InvalidRequest"


def test_delete_and_clone(clock, system):
    job_id = job_id_of(create(system, "success", {"timeout": 30}, 2))
    clock.advance(1)
    running = system.call(J, "deleteJobInstance", job_id=job_id)
    assert running["request_status"] == "InvalidRequest"
    clone = system.call(J, "cloneJobInstance", job_id=job_id)
    clone_id = job_id_of(clone)
    assert clone_id > job_id and clone["job"]["cluster_id"] == 2
    assert clone["job"]["job_spec"] == {"command": "success", "job_data": {"timeout": 30}}
    wait(clock, system, job_id)
    assert system.call(J, "deleteJobInstance", job_id=job_id)["request_status"] == "Ok"
    gone = system.call(J, "getJobInstance", job_id=job_id)
    assert gone["request_status"] == "ObjectNotFound"
    assert system.call(J, "getJobInstance", job_id=clone_id)["request_status"] == "Ok"


def test_durations_come_from_the_world_and_the_clock_jumps(clock, system):
    clock.load_yaml("job_settings: {durations: {success: 30}, start_delay: 2}\n")
    system = clock.client("system", "secret")
    job_id = job_id_of(create(system, "success"))
    clock.advance(1)
    assert system.call(J, "getJobInstance", job_id=job_id)["job"]["status"] == "DEFINED"
    clock.advance(20)
    assert system.call(J, "getJobInstance", job_id=job_id)["job"]["status"] == "RUNNING"
    clock.advance(11)
    assert system.call(J, "getJobInstance", job_id=job_id)["job"]["status"] == "FINISHED"


def test_scheduled_job_waits_until_due(clock, system):
    when = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(clock.now() + 3600))
    job_id = job_id_of(create(system, "success", {"timeout": 60}, scheduled=when))
    job = system.call(J, "getJobInstance", job_id=job_id)["job"]
    assert job["status"] == "SCHEDULED" and job["scheduled"] == when
    clock.advance(3000)
    assert system.call(J, "getJobInstance", job_id=job_id)["job"]["status"] == "SCHEDULED"
    clock.advance(602)
    assert system.call(J, "getJobInstance", job_id=job_id)["job"]["status"] == "RUNNING"


def test_recurring_job_fires_and_can_be_disabled(clock, system):
    reply = create(system, "success", cluster_id=1, status="SCHEDULED",
                   recurrence="*/10 * * * *", title="Every ten minutes")
    template = job_id_of(reply)
    assert reply["job"]["status"] == "SCHEDULED" and reply["job"]["recurrence"] == "*/10 * * * *"

    def children() -> list[dict]:
        jobs = system.call(J, "getJobInstances", cluster_id=1)["jobs"]
        return [j for j in jobs if j.get("parent_job_id") == template]

    clock.advance(601)
    first = children()
    assert len(first) == 1 and first[0]["title"] == "Every ten minutes"
    assert system.call(J, "getJobInstance", job_id=template)["job"]["status"] == "SCHEDULED"
    off = system.call(J, "updateJobInstance", job={"class_name": "CmonJobInstance",
                                                    "job_id": template, "status": "PAUSED"})
    assert off["request_status"] == "Ok" and off["job"]["status"] == "PAUSED"
    clock.advance(1800)
    assert len(children()) == 1
    on = system.call(J, "updateJobInstance", job={"class_name": "CmonJobInstance",
                                                   "job_id": template, "status": "SCHEDULED"})
    assert on["job"]["status"] == "SCHEDULED"
    clock.advance(601)
    assert len(children()) == 2
    listed = system.call(J, "getJobInstances", show_scheduled=True)["jobs"]
    assert template in [j["job_id"] for j in listed]
    assert all(j["status"] in ("SCHEDULED", "PAUSED") for j in listed)
    bad = system.call(J, "updateJobInstance", job={"job_id": first[0]["job_id"],
                                                    "status": "PAUSED"})
    assert bad["request_status"] == "InvalidRequest"


# ---- creating: permissions and bad requests

def test_readeruser_may_read_but_not_execute(clock, system, reader):
    denied = create(reader, "stop", {"clusterid": 21, "node": {"hostname": "192.168.20.53"}}, 21)
    assert denied["request_status"] == "AccessDenied"
    assert denied["error_string"] == "Execute access to cluster 21 for user readeruser is denied."
    job_id = job_id_of(create(system, "success", {"timeout": 60}, 21))
    assert reader.call(J, "getJobInstance", job_id=job_id)["request_status"] == "Ok"
    assert job_id in [j["job_id"] for j in reader.call(J, "getJobInstances")["jobs"]]
    assert reader.call(J, "getJobLog", job_id=job_id)["request_status"] == "Ok"
    kill = reader.call(J, "killJobInstance", job_id=job_id, signal=15)
    assert kill["request_status"] == "AccessDenied"
    assert reader.call(J, "deleteJobInstance", job_id=job_id)["request_status"] == "AccessDenied"


def test_controller_jobs_follow_the_job_executor_acls(clock, cmon, reader):
    """Cluster 0 (no ``cluster_id``) is the controller's: /.runtime/jobs/jobExecutor decides
    who runs jobs there, jobExecutorCreateCluster who creates clusters."""
    dba = cmon.client("dba", "dba-pass")
    denied = create(reader, "success")
    assert (denied["request_status"], denied["error_string"]) == (
        "AccessDenied", "Execute access to cluster 0 for user readeruser is denied.")
    new = {"cluster_type": "galera", "cluster_name": "dba-new", "nodes": [{"hostname": "10.9.9.1"}]}
    assert create(dba, "success")["job"]["cluster_id"] == 0
    assert create(dba, "create_cluster", new)["request_status"] == "Ok"
    system = cmon.client("system", "secret")
    acl = system.post("/v2/tree", {"operation": "addAcl", "acl": "user:dba:---",
                                   "path": "/.runtime/jobs/jobExecutorCreateCluster"}).json
    assert acl["request_status"] == "Ok", acl
    refused = create(dba, "create_cluster", dict(new, cluster_name="dba-other"))
    assert (refused["request_status"], refused["error_string"]) == (
        "AccessDenied", "User dba has no privileges to create clusters.")
    assert create(dba, "success")["request_status"] == "Ok"


def test_create_errors(clock, system):
    unknown = create(system, "success", cluster_id=999)
    assert (unknown["request_status"], unknown["error_string"]) == (
        "ObjectNotFound", "Cluster was not found.")
    by_name = system.call(J, "createJobInstance", cluster_name="nope",
                          job={"job_spec": {"command": "success"}})
    assert by_name["request_status"] == "ObjectNotFound"
    assert system.call(J, "createJobInstance")["request_status"] == "InvalidRequest"
    for spec in ({}, {"job_spec": "not json"}, {"job_spec": {"job_data": {}}},
                 {"job_spec": {"command": "success", "job_data": [1]}},
                 {"job_spec": {"command": "success"}, "recurrence": "every day"}):
        reply = system.call(J, "createJobInstance", job=spec)
        assert reply["request_status"] == "InvalidRequest" and reply["error_string"], spec
    as_text = system.call(J, "createJobInstance", job={
        "job_spec": json.dumps({"command": "success", "job_data": {"x": 1}})})
    assert as_text["job"]["job_spec"] == {"command": "success", "job_data": {"x": 1}}
    assert as_text["job"]["cluster_id"] == 0


def test_impossible_jobs_fail_and_say_why(clock, system):
    cases = [
        ("stop", {"node": {"hostname": "10.9.9.9"}}, 1, "is not found in cluster 1"),
        ("stop", {"job_dat": {"node": {"hostname": "192.168.20.53"}}}, 21, "needs a node"),
        ("start", {"node": {"hostname": "10.0.1.11"}}, 1, "is already running"),
        ("stop_cluster", {}, 5, "already stopped"),
        ("start_cluster", {}, 1, "already started"),
        ("rolling_restart", {}, 4, "needs every node online"),
        ("create_cluster", {"cluster_type": "galera", "nodes": []}, None, "No nodes"),
        ("create_cluster", {"cluster_type": "nosuchdb", "nodes": ["1.2.3.4"]}, None,
         "not supported"),
        ("add_cluster", {"cluster_type": "galera", "cluster_name": "galera-prod",
                         "nodes": [{"hostname": "10.7.0.1"}]}, None, "already exists"),
        ("addnode", {"node": {"hostname": "10.0.1.11", "port": 3306}}, 1, "already in the"),
        ("remove_cluster", {"clusterid": 99}, None, "Cluster 99 was not found."),
        ("remove_cluster", {}, None, "needs a cluster"),
        ("restore_backup", {"backupid": 999}, 1, "Backup 999 was not found."),
        ("backup", {"hostname": "10.0.5.51"}, 5, "is not online"),
        ("frobnicate", {}, None, "Unknown job command 'frobnicate'."),
    ]
    ids = [(job_id_of(create(system, cmd, data, cid)), why) for cmd, data, cid, why in cases]
    clock.advance(30)
    for job_id, why in ids:
        job = system.call(J, "getJobInstance", job_id=job_id)["job"]
        assert job["status"] == "FAILED", (job, why)
        assert why in job["status_text"], (job["status_text"], why)
        assert why in messages(system, job_id)[-1]
    assert clusters(system)["galera-prod"]["state"] == "STARTED"    # nothing half done


def test_commands_without_effects_finish(clock, system):
    before = clusters(system)
    for command, cid in (("collect_logs", 1), ("error_report", 2), ("execute", 0),
                         ("setup_ssl", 3), ("verify_backup", 1)):
        job = run(clock, system, command, {"path": "/tests/x.js"}, cid)
        assert job["status"] == "FINISHED", (command, job)
    after = clusters(system)
    assert {n: (c["state"], [h["hoststatus"] for h in c["hosts"]]) for n, c in before.items()} == \
        {n: (c["state"], [h["hoststatus"] for h in c["hosts"]]) for n, c in after.items()}


# ---- listing

def test_pagination_contract(clock, system):
    created = [job_id_of(create(system, "success", cluster_id=2, tags=["page"]))
               for _ in range(40)]
    full = system.call(J, "getJobInstances", tags=["page"])
    ids = [j["job_id"] for j in full["jobs"]]
    assert full["total"] == 40 and ids == sorted(created, reverse=True)
    pages, offset = [], 0
    while True:
        page = system.call(J, "getJobInstances", tags=["page"], limit=32, offset=offset)
        assert page["total"] == 40
        if not page["jobs"]:
            break
        pages += [j["job_id"] for j in page["jobs"]]
        offset += 32
    assert pages == ids
    past = system.call(J, "getJobInstances", tags=["page"], limit=10, offset=100)
    assert past["jobs"] == [] and past["total"] == 40
    unset = system.call(J, "getJobInstances", tags=["page"], limit=-1, offset=-1)
    assert [j["job_id"] for j in unset["jobs"]] == ids
    every = system.call(J, "getJobInstances")
    all_ids = [j["job_id"] for j in every["jobs"]]
    assert all_ids == sorted(all_ids, reverse=True) and every["total"] == len(all_ids) >= 45


def test_last_jobs_loop_of_cmon_proxy_ends(clock, system):
    """cmon-proxy GetLastJobs: pages of 32 until an empty page, skipping ids already seen."""
    for _ in range(70):
        create(system, "success", cluster_id=1)
    kept: list[int] = []
    offset, rounds = 0, 0
    while rounds < 10:
        rounds += 1
        page = system.call(J, "getJobInstances", cluster_ids=[1], limit=32, offset=offset)
        if not page["jobs"]:
            break
        kept += [j["job_id"] for j in page["jobs"] if not kept or j["job_id"] < kept[-1]]
        offset += 32
    assert rounds == 4 and len(kept) == len(set(kept)) == 70 + 2   # + the world's jobs 2 and 6


def test_filters(clock, system):
    ok = job_id_of(create(system, "success", cluster_id=3, tags=["success", "test"]))
    bad = job_id_of(create(system, "fail", cluster_id=3, tags=["fail", "test"]))
    wait(clock, system, ok)
    wait(clock, system, bad)

    def ids(**filters: Any) -> list[int]:
        reply = system.call(J, "getJobInstances", **filters)
        assert reply["request_status"] == "Ok", reply
        assert reply["total"] == len(reply["jobs"])
        return [j["job_id"] for j in reply["jobs"]]

    assert ids(cluster_id=3, show_failed=True) == [bad]
    assert ids(cluster_id=3, show_finished=True) == [ok, 3]     # + the world's backup job 3
    assert ids(cluster_id=3, show_finished=True, show_failed=True) == [bad, ok, 3]
    assert ids(tags=["test"]) == [bad, ok]
    assert ids(tags="success") == [ok]
    assert ids(cluster_name="postgres-main") == [bad, ok, 3]
    assert ids(cluster_ids=[3, 4]) == [bad, ok, 4, 3]
    assert ids(cluster_id=0) == []
    assert ids(show_running=True, cluster_id=3) == []
    missing = system.call(J, "getJobInstances", cluster_id=77)
    assert missing["request_status"] == "ObjectNotFound"


def test_job_statistics_follow_the_jobs(clock, system):
    def by_state() -> dict[str, int]:
        return clusters(system)["mysql-replication"]["job_statistics"]["by_state"]

    assert by_state() == {"ABORTED": 0, "DEFINED": 0, "DEQUEUED": 0, "FAILED": 0,
                          "FINISHED": 0, "RUNNING": 0}
    a = job_id_of(create(system, "success", {"timeout": 10}, 2))
    job_id_of(create(system, "fail", cluster_id=2))
    assert by_state()["RUNNING"] == 2
    system.call(J, "killJobInstance", job_id=a, signal=15)
    clock.advance(20)
    assert by_state() == {"ABORTED": 1, "DEFINED": 0, "DEQUEUED": 0, "FAILED": 1,
                          "FINISHED": 0, "RUNNING": 0}


# ---- load: many clients at once, busy polling

def test_200_concurrent_creates_give_200_distinct_listed_jobs(cmon, system):
    def one(i: int) -> int:
        client = RpcClient(cmon.base_url, cmon.ssl_context())
        client.sid = system.sid
        return job_id_of(create(client, "success", cluster_id=1 + i % 2, tags=["crowd"]))

    with ThreadPoolExecutor(max_workers=50) as pool:
        ids = list(pool.map(one, range(200)))
    assert len(set(ids)) == 200
    listed = system.call(J, "getJobInstances", tags=["crowd"])
    assert listed["total"] == 200
    assert sorted(j["job_id"] for j in listed["jobs"]) == sorted(ids)
    for job_id in ids[::20]:
        assert system.call(J, "getJobInstance", job_id=job_id)["job"]["job_id"] == job_id


def test_busy_polling_stays_cheap_and_bounded(clock, system):
    job_id = job_id_of(create(system, "rolling_restart", cluster_id=1))
    queued = clock.run(lambda c: len(c.world.extensions["jobs"]._queue))

    def kept(c: Any) -> tuple[int, ...]:
        """What the controller keeps that requests could add to (the journal is a ring)."""
        logs = c.world.extensions["logs"]
        return (len(logs.entries), len(logs.audit), len(c.sessions), len(c.world.extensions))

    assert system.call(J, "getJobInstance", job_id=job_id)["job"]["status"] == "RUNNING"
    before = clock.run(kept)
    for _ in range(300):
        reply = system.call(J, "getJobInstance", job_id=job_id)
        assert reply["job"]["status"] == "RUNNING"
        log = system.call(J, "getJobLog", job_id=job_id, ascending=True, limit=300)
        assert log["job"]["status"] == "RUNNING"
    assert clock.run(lambda c: len(c.world.extensions["jobs"]._queue)) <= queued
    assert clock.run(kept) == before
    assert clock.run(lambda c: len(c.world.extensions["jobs"].jobs[job_id].messages)) < 5
    assert wait(clock, system, job_id)[0]["status"] == "FINISHED"


def test_a_snapshot_keeps_running_jobs(clock, system):
    job_id = job_id_of(create(system, "restart", {"node": {"hostname": "10.0.2.22"}}, 2))
    clock.advance(1)
    clock.snapshot("mid-job")          # a deep copy of the world, running jobs included
    clock.restore("mid-job")
    assert system.call(J, "getJobInstance", job_id=job_id)["job"]["status"] == "RUNNING"
    assert wait(clock, system, job_id)[0]["status"] == "FINISHED"
    assert host(system, "mysql-replication", "10.0.2.22")["hoststatus"] == "CmonHostOnline"
    clock.restore("mid-job")           # time does not go back: the copy catches up at once
    assert system.call(J, "getJobInstance", job_id=job_id)["job"]["status"] == "FINISHED"
    assert host(system, "mysql-replication", "10.0.2.22")["hoststatus"] == "CmonHostOnline"


# ---- the world effects

def test_create_cluster_makes_a_cluster_owned_by_the_user(clock, cmon):
    dba = cmon.client("dba", "dba-pass")
    data = {"cluster_name": "pg-new", "cluster_type": "postgresql_single", "type": "postgresql",
            "vendor": "default", "version": "16", "ssh_port": "22", "port": 5432,
            "nodes": [{"hostname": "10.9.0.1", "port": "5432", "hostname_data": "10.9.0.1",
                       "hostname_internal": "", "synchronous": False, "datadir": ""},
                      {"hostname": "10.9.0.2", "port": "5432"}],
            "install_software": True}
    job_id = job_id_of(create(dba, "create_cluster", data, title="Create PostgreSQL Cluster"))
    clock.advance(2)
    assert "pg-new" not in clusters(dba)
    job, seen = wait(clock, dba, job_id)
    assert seen == ["RUNNING", "FINISHED"] and job["cluster_id"] == 0
    found = dba.call(C, "getClusterInfo", cluster_name="pg-new")
    assert found["request_status"] == "Ok"
    cluster = found["cluster"]
    assert cluster["owner_user_name"] == "dba" and cluster["group_owner"]["group_name"] == "users"
    assert (cluster["cluster_type"], cluster["state"], cluster["version"]) == (
        "POSTGRESQL_SINGLE", "STARTED", "16")
    hosts = [h for h in cluster["hosts"] if h["nodetype"] != "controller"]
    assert [(h["hostname"], h["port"], h["role"], h["hoststatus"]) for h in hosts] == [
        ("10.9.0.1", 5432, "master", "CmonHostOnline"),
        ("10.9.0.2", 5432, "slave", "CmonHostOnline")]
    assert any("Installing" in m for m in messages(dba, job_id))
    # A taken name: CMON creates the cluster as NAME~1 (s9s-tools' ft_galera_new).
    again = run(clock, dba, "create_cluster", dict(data, nodes=[{"hostname": "10.9.0.3"}]))
    assert again["status"] == "FINISHED"
    names = {c["cluster_name"] for c in dba.call(C, "getAllClusterInfo")["clusters"]}
    assert {data["cluster_name"], data["cluster_name"] + "~1"} <= names


def test_add_cluster_registers_a_running_cluster(clock, system):
    job = run(clock, system, "add_cluster", {
        "cluster_type": "replication", "vendor": "oracle", "version": "8.0",
        "cluster_name": "imported", "nodes": [{"hostname": "10.8.0.1"}, "10.8.0.2:3307"]})
    assert job["status"] == "FINISHED"
    cluster = clusters(system)["imported"]
    assert cluster["owner_user_name"] == "system" and cluster["state"] == "STARTED"
    assert [(h["hostname"], h["port"], h["role"]) for h in cluster["hosts"][:2]] == [
        ("10.8.0.1", 3306, "master"), ("10.8.0.2", 3307, "slave")]


def test_remove_cluster(clock, system):
    job_id = job_id_of(create(system, "remove_cluster",
                              {"clusterid": 4, "remove_backups": True}))
    assert system.call(J, "getJobInstance", job_id=job_id)["job"]["cluster_id"] == 4
    job, _ = wait(clock, system, job_id)
    assert job["status"] == "FINISHED"
    assert "mongo-rs0" not in clusters(system)
    assert system.call(C, "getClusterInfo", cluster_id=4)["request_status"] != "Ok"


def test_addnode_and_removenode(clock, system):
    added = run(clock, system, "addnode", {"node": {"hostname": "10.0.2.24"},
                                           "install_software": True}, 2)
    assert added["status"] == "FINISHED"
    new = host(system, "mysql-replication", "10.0.2.24")
    assert (new["port"], new["role"], new["hoststatus"]) == (3306, "slave", "CmonHostOnline")
    removed = run(clock, system, "removenode", {"nodes": [{"hostname": "10.0.2.24",
                                                           "port": 3306}]}, 2)
    assert removed["status"] == "FINISHED"
    assert "10.0.2.24" not in [h["hostname"] for h in clusters(system)["mysql-replication"]["hosts"]]
    assert clusters(system)["mysql-replication"]["state"] == "STARTED"


def test_stop_and_start_a_node(clock, system):
    stop = {"clusterid": 21, "node": {"hostname": "192.168.20.53"}}
    assert run(clock, system, "stop", stop, 21)["status"] == "FINISHED"
    node = host(system, "mariadb-galera", "192.168.20.53")
    assert node["hoststatus"] == "CmonHostShutDown" and node["connected"] is False
    assert clusters(system)["mariadb-galera"]["state"] == "DEGRADED"
    twice = run(clock, system, "stop", stop, 21)
    assert twice["status"] == "FAILED" and "already stopped" in twice["status_text"]
    assert run(clock, system, "start", stop, 21)["status"] == "FINISHED"
    assert host(system, "mariadb-galera", "192.168.20.53")["hoststatus"] == "CmonHostOnline"
    assert clusters(system)["mariadb-galera"]["state"] == "STARTED"


def test_restart_takes_the_node_down_then_up(clock, system):
    job_id = job_id_of(create(system, "restart", {"hostname": "10.0.3.32", "port": 5432}, 3))
    clock.advance(0.8)
    system.call(J, "getJobInstance", job_id=job_id)
    assert host(system, "postgres-main", "10.0.3.32")["hoststatus"] == "CmonHostShutDown"
    assert clusters(system)["postgres-main"]["state"] == "DEGRADED"
    assert wait(clock, system, job_id)[0]["status"] == "FINISHED"
    assert host(system, "postgres-main", "10.0.3.32")["hoststatus"] == "CmonHostOnline"
    assert clusters(system)["postgres-main"]["state"] == "STARTED"


def test_stop_and_start_a_cluster(clock, system):
    job_id = job_id_of(create(system, "stop_cluster", {"stop_timeout": 60}, 1))
    clock.advance(0.5)
    assert clusters(system)["galera-prod"]["state"] == "SHUTTING_DOWN"
    assert wait(clock, system, job_id)[0]["status"] == "FINISHED"
    cluster = clusters(system)["galera-prod"]
    assert cluster["state"] == "STOPPED"
    statuses = {h["hostname"]: h["hoststatus"] for h in cluster["hosts"]}
    assert statuses["10.0.1.11"] == statuses["10.0.1.12"] == statuses["10.0.1.13"] == \
        "CmonHostShutDown"
    assert statuses["10.0.1.10"] == "CmonHostOnline"     # the load balancer stays up
    assert run(clock, system, "start_cluster", {}, 1)["status"] == "FINISHED"
    cluster = clusters(system)["galera-prod"]
    assert cluster["state"] == "STARTED"
    assert all(h["hoststatus"] == "CmonHostOnline" for h in cluster["hosts"])


def test_start_cluster_brings_a_stopped_cluster_up(clock, system):
    assert run(clock, system, "start_cluster", {}, 5)["status"] == "FINISHED"
    cluster = clusters(system)["redis-cache"]
    assert cluster["state"] == "STARTED"
    assert {h["hoststatus"] for h in cluster["hosts"]} == {"CmonHostOnline"}


def test_rolling_restart_one_node_at_a_time(clock, system):
    job_id = job_id_of(create(system, "rolling_restart", {}, 21))
    states, down_counts = set(), set()
    while True:
        job = system.call(J, "getJobInstance", job_id=job_id)["job"]
        cluster = clusters(system)["mariadb-galera"]
        states.add(cluster["state"])
        down_counts.add(sum(h["hoststatus"] != "CmonHostOnline" for h in cluster["hosts"]))
        if job["status"] in ENDED:
            break
        clock.advance(0.1)
    assert job["status"] == "FINISHED"
    assert states == {"STARTED", "DEGRADED"} and down_counts == {0, 1}
    assert clusters(system)["mariadb-galera"]["state"] == "STARTED"


def test_killed_cluster_job_leaves_a_consistent_state(clock, system):
    job_id = job_id_of(create(system, "stop_cluster", {}, 2))
    clock.advance(1.2)
    assert clusters(system)["mysql-replication"]["state"] == "SHUTTING_DOWN"
    system.call(J, "killJobInstance", job_id=job_id, signal=15)
    cluster = clusters(system)["mysql-replication"]
    down = [h for h in cluster["hosts"] if h["hoststatus"] == "CmonHostShutDown"]
    assert 0 < len(down) < 3 and cluster["state"] == "DEGRADED"


def test_backup_job_makes_a_record(clock, system):
    job = run(clock, system, "backup", {"backup_method": "mysqldump", "backupdir": "/tmp",
                                        "backupsubdir": "BACKUP-%I", "hostname": "10.0.2.22",
                                        "compression": True,
                                        "description": "Backup created by s9s-tools."}, 2)
    assert job["status"] == "FINISHED"
    flat = system.call("/v2/backup", "getBackups", cluster_id=2, ascending=True)
    record = flat["backup_records"][-1]
    assert flat["total"] == 1 and record["job_id"] == job["job_id"]
    assert (record["method"], record["backup_host"], record["status"]) == (
        "mysqldump", "10.0.2.22", "Completed")
    assert record["root_dir"] == f"/tmp/BACKUP-{record['id']}"
    assert record["config"]["description"] == "Backup created by s9s-tools."
    assert "crm" in record["backup"][0]["database_names"]      # the cluster's own database
    v2 = system.call("/v2/backup", "getBackups", cluster_id=2, backup_record_version=2)
    meta = v2["backup_records"][0]["metadata"]
    assert (meta["id"], meta["job_id"]) == (record["id"], job["job_id"])
    auto = run(clock, system, "backup", {}, 4)
    assert auto["status"] == "FINISHED"
    chosen = system.call("/v2/backup", "getBackups", cluster_id=4)["backup_records"][0]
    assert chosen["backup_host"] == "10.0.4.42" and chosen["method"] == "mongodump"


def test_restore_backup(clock, system):
    job_id = job_id_of(create(system, "restore_backup", {
        "backupid": 1, "bootstrap": True, "backup_datadir_before_restore": False}, 1))
    clock.advance(1.5)
    system.call(J, "getJobInstance", job_id=job_id)
    assert host(system, "galera-prod", "10.0.1.12")["hoststatus"] == "CmonHostShutDown"
    job, _ = wait(clock, system, job_id)
    assert job["status"] == "FINISHED"
    assert host(system, "galera-prod", "10.0.1.12")["hoststatus"] == "CmonHostOnline"
    assert any("Backup 1 is restored." == m for m in messages(system, job_id))
    wrong = run(clock, system, "restore_backup", {"backupid": 2}, 1)
    assert wrong["status"] == "FAILED" and "belongs to cluster 3" in wrong["status_text"]


def test_delete_backup_job(clock, system):
    assert run(clock, system, "delete_backup", {"backupid": 3, "clusterid": 21}, 21)[
        "status"] == "FINISHED"
    assert system.call("/v2/backup", "getBackups", cluster_id=21)["total"] == 0


def test_create_maintenance(clock, system):
    job = run(clock, system, "create_maintenance", {
        "reason": "kernel upgrade", "maintenance_minutes": 90,
        "nodes": [{"hostname": "10.0.1.13"}]}, 1)
    assert job["status"] == "FINISHED"
    periods = clock.run(lambda c: [(p.hostname, p.cluster_id, round(p.deadline - p.initiate))
                                   for p in c.world.extensions["maintenance"].periods.values()
                                   if p.reason == "kernel upgrade"])
    assert periods == [("10.0.1.13", 1, 5400)]
    assert host(system, "galera-prod", "10.0.1.13")["maintenance_mode_active"] is True
    bad = run(clock, system, "create_maintenance", {"maintenance_minutes": 10,
                                                    "nodes": ["10.0.9.9"]}, 1)
    assert bad["status"] == "FAILED"
    for data in ({"maintenance_minutes": 1e308}, {"begin_relative": 1e307},
                 {"end": 1e300}):
        bad = run(clock, system, "create_maintenance", data, 1)
        assert bad["status"] == "FAILED"
        assert "Invalid maintenance period" in messages(system, bad["job_id"])[-1]


def test_job_events_reach_the_listeners(clock, system):
    seen: list[tuple[str, int]] = []
    from fakecmon import events

    def listener(world: Any, event: Any) -> None:
        seen.append((event.kind, event.data.get("job_id", 0)))

    events.LISTENERS.append(listener)
    try:
        job_id = job_id_of(create(system, "stop", {"node": {"hostname": "10.0.2.23"}}, 2))
        wait(clock, system, job_id)
    finally:
        events.LISTENERS.remove(listener)
    kinds = [k for k, j in seen if j == job_id]
    assert kinds[0] == "job.created" and kinds[1] == "job.started" and kinds[-1] == "job.ended"
    assert "host.status" in kinds and "cluster.state" in kinds


# ---- the captured replies

def _compare(ours: dict, theirs: dict) -> None:
    assert ours["request_status"] == theirs["request_status"], ours
    assert set(ours) == set(theirs) - {"reply_received"}
    for key in ("job", "jobs", "messages"):
        if key in theirs:
            same_shape(ours[key], theirs[key], key, exact_keys=False,
                       skip=frozenset({"job_data"}))


def test_job_captures_replay(clock, system, contract):
    req, rep = load_capture(contract, "Ok-createJobInstance")
    created = system.post(J, req).json
    _compare(created, rep)
    assert set(created["job"]) == set(rep["job"])
    job_id = created["job"]["job_id"]
    assert wait(clock, system, job_id)[0]["status"] == "FINISHED"

    req, rep = load_capture(contract, "Ok-getJobInstance")
    got = system.post(J, dict(req, job_id=job_id)).json
    _compare(got, rep)
    assert set(got["job"]) == set(rep["job"])

    req, rep = load_capture(contract, "Ok-getJobLog")
    _compare(system.post(J, dict(req, job_id=job_id)).json, rep)

    req, rep = load_capture(contract, "Ok-getJobInstances")
    _compare(system.post(J, req).json, rep)

    req, rep = load_capture(contract, "ObjectNotFound-createJobInstance")
    missing = system.post(J, req).json
    _compare(missing, rep)
    assert missing["error_string"] == rep["error_string"]


# ---- killJobInstance: running jobs only

def test_kill_refuses_jobs_that_are_not_running(clock, system):
    """Only a RUNNING job ``can_be_aborted``; waiting and ended jobs stay as they are."""
    when = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(clock.now() + 3600))
    scheduled = job_id_of(create(system, "success", cluster_id=1, scheduled=when))
    recurring = job_id_of(create(system, "success", cluster_id=1, recurrence="0 3 * * *"))
    paused = job_id_of(create(system, "success", cluster_id=1, recurrence="0 4 * * *",
                              status="PAUSED"))
    ended = run(clock, system, "success", cluster_id=1)["job_id"]
    clock.run(lambda c: c.world.extensions["jobs"].settings.__setattr__("start_delay", 30))
    defined = job_id_of(create(system, "success", {"timeout": 60}, 1))
    for job_id, status in ((scheduled, "SCHEDULED"), (recurring, "SCHEDULED"),
                           (paused, "PAUSED"), (ended, "FINISHED"), (defined, "DEFINED")):
        job = system.call(J, "getJobInstance", job_id=job_id)["job"]
        assert (job["status"], job["can_be_aborted"]) == (status, False)
        reply = system.call(J, "killJobInstance", job_id=job_id, signal=15)
        assert (reply["request_status"], reply["error_string"]) == (
            "InvalidRequest", f"Job {job_id} is not running: it is {status}."), reply
        assert system.call(J, "getJobInstance", job_id=job_id)["job"]["status"] == status
    clock.advance(31)
    job = system.call(J, "getJobInstance", job_id=defined)["job"]
    assert (job["status"], job["can_be_aborted"]) == ("RUNNING", True)
    assert system.call(J, "killJobInstance", job_id=defined)["request_status"] == "Ok"


# ---- every command of the contract runs through the lifecycle

README = Path(__file__).resolve().parents[1] / "README.md"
JOB_COMMANDS = SHARED_CONTRACT / "job-commands.tsv"

#: (cluster_id, job_data) that fit the default world for the commands with effects.
EFFECT_JOBS: dict[str, tuple[int | None, dict[str, Any]]] = {
    "create_cluster": (None, {"cluster_type": "galera", "cluster_name": "tsv-new",
                              "nodes": [{"hostname": "10.9.0.1"}]}),
    "add_cluster": (None, {"cluster_type": "replication", "cluster_name": "tsv-imported",
                           "nodes": [{"hostname": "10.9.0.2"}]}),
    "remove_cluster": (None, {"clusterid": 4}),
    "addnode": (2, {"node": {"hostname": "10.0.2.24"}}),
    "add_replication_slave": (2, {"master_address": "10.0.2.21", "slave_address": "10.0.2.25"}),
    "stop_replication_slave": (2, {"replication_slave": {"hostname": "10.0.2.22", "port": 3306}}),
    "start_replication_slave": (2, {"replication_slave": {"hostname": "10.0.2.22", "port": 3306}}),
    "stage_replication_slave": (2, {"replication_slave": {"hostname": "10.0.2.22", "port": 3306},
                                    "replication_master": {"hostname": "10.0.2.21"}}),
    "promote_replication_slave": (2, {"replication_slave": {"hostname": "10.0.2.23"}}),
    "delete_database": (1, {"database": "shop"}),
    "delete_old_backups": (1, {"backup_retention": 0, "safety_copies": 0}),
    "proxysql": (2, {"action": "setupProxySql", "nodes": [{"hostname": "10.0.2.40",
                                                           "port": 6032}]}),
    "haproxy": (2, {"action": "setupHaProxy", "nodes": [{"hostname": "10.0.2.41"}]}),
    "maxscale": (2, {"action": "setupMaxScale", "nodes": [{"hostname": "10.0.2.42"}]}),
    "pgbouncer": (3, {"action": "setup", "nodes": [{"hostname": "10.0.3.40"}]}),
    "keepalived": (2, {"action": "setupKeepalived", "nodes": [{"hostname": "10.0.2.43"}],
                       "virtual_ip": "10.0.2.200", "eth_interface": "eth0"}),
    "removenode": (2, {"nodes": [{"hostname": "10.0.2.23"}]}),
    "stop": (21, {"node": {"hostname": "192.168.20.53"}}),
    "start": (5, {"node": {"hostname": "10.0.5.51"}}),
    "restart": (3, {"hostname": "10.0.3.32", "port": 5432}),
    "reboot": (3, {"hostname": "10.0.3.32", "port": 5432}),
    "stop_cluster": (1, {}),
    "start_cluster": (5, {}),
    "rolling_restart": (21, {}),
    "backup": (2, {"backup_method": "mysqldump", "hostname": "10.0.2.22"}),
    "restore_backup": (1, {"backupid": 1}),
    "create_maintenance": (1, {"maintenance_minutes": 60, "nodes": [{"hostname": "10.0.1.13"}]}),
    "delete_container": (0, {"container": {"class_name": "CmonContainer", "alias": "ci-runner-1"}}),
    "start_container": (0, {"container": {"class_name": "CmonContainer", "alias": "ci-runner-2"}}),
    "stop_container": (0, {"container": {"class_name": "CmonContainer", "alias": "ci-runner-1"}}),
    "create_container_server": (0, {"server": {"class_name": "CmonCloudServer",
                                               "hostname": "10.9.0.30"}}),
    "save_cluster": (1, {"backupdir": "{tmp}", "output_file": "cluster.tgz"}),
    "save_controller": (0, {"backupdir": "{tmp}", "output_file": "controller.tgz"}),
    "restore_cluster": (0, {"input_file": "{tmp}/cluster.tgz"}),
    "restore_controller": (0, {"input_file": "{tmp}/controller.tgz"}),
}


def saved_archive(folder: Path, kind: str) -> None:
    """A ``kind`` archive as save_cluster / save_controller write it, holding one cluster
    that is not in the world (for the restore jobs)."""
    from fakecmon.world.saves import FORMAT, tgz
    entry = {"cluster_name": f"tsv-restored-{kind}", "cluster_type": "GALERA",
             "vendor": "percona", "version": "8.0", "owner": "system", "group": "admins",
             "hosts": [{"hostname": f"10.9.0.{31 if kind == 'cluster' else 32}", "port": 3306}]}
    head = {"archive_type": kind, "format": FORMAT,
            "clusters": [{"cluster_id": 9, "folder": "cluster_9"}]}
    (folder / f"{kind}.tgz").write_bytes(tgz({
        "archive.json": json.dumps(head).encode(),
        "cluster_9/cluster.json": json.dumps(entry).encode()}, 0))


def job_data_in(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """``data`` with its ``{tmp}`` placeholders naming ``folder``."""
    return {k: v.replace("{tmp}", str(folder)) if isinstance(v, str) else v
            for k, v in data.items()}


def contract_job_commands() -> list[Any]:
    if not JOB_COMMANDS.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(
            reason="../shared/contract is not present"))]
    lines = JOB_COMMANDS.read_text().splitlines()[1:]
    return sorted({line.split("\t", 1)[0] for line in lines if line.strip()})


def readme_effect_commands() -> set[str]:
    """The commands of the README's "Commands that change the world" table."""
    text = README.read_text().split("**Commands that change the world**", 1)[1]
    rows = [line for line in text.strip().splitlines()[2:]]
    table = rows[:next(i for i, line in enumerate(rows) if not line.startswith("|"))]
    return {name for row in table for name in re.findall(r"`([a-z_]+)`", row.split("|")[1])}


def world_view(client: RpcClient) -> tuple[Any, ...]:
    """What a client sees of the world that jobs may change."""
    info = client.call(C, "getAllClusterInfo", with_hosts=True, with_databases=True)["clusters"]
    backups = client.call("/v2/backup", "getBackups")["total"]
    periods = client.call("/v2/maintenance", "getMaintenance")["total"]
    containers = sorted((c["alias"], c["status"])
                        for c in client.call("/v2/host", "getContainers")["containers"])
    servers = sorted(s["hostname"] for s in client.call("/v2/host", "getServers")["servers"])
    return (sorted((c["cluster_name"], c["state"], len(c.get("databases", [])),
                    sorted((h["hostname"], h["hoststatus"], h.get("maintenance_mode_active"),
                            h["role"]) for h in c["hosts"])) for c in info), backups, periods,
            containers, servers)


@pytest.mark.parametrize("command", contract_job_commands())
def test_every_contract_command_runs_through_the_lifecycle(clock, system, command, tmp_path):
    """Each command of job-commands.tsv goes DEFINED -> RUNNING -> its end with a log, and
    changes the world (seen at any poll) exactly when the README's effect table names it."""
    cluster_id, data = EFFECT_JOBS.get(command, (1, {}))
    data = job_data_in(data, tmp_path)
    if command.startswith("restore_") and command != "restore_backup":
        saved_archive(tmp_path, command.split("_", 1)[1])
    before = world_view(system)
    reply = create(system, command, data, cluster_id)
    assert reply["job"]["status"] == "DEFINED"
    job_id = job_id_of(reply)
    seen, changed = [], False
    for _ in range(200):
        job = system.call(J, "getJobInstance", job_id=job_id)["job"]
        if not seen or seen[-1] != job["status"]:
            seen.append(job["status"])
        changed = changed or world_view(system) != before
        if job["status"] in ENDED:
            break
        clock.advance(0.25)
    assert seen == ["RUNNING", "FAILED" if command == "fail" else "FINISHED"], (seen, job)
    assert job["exit_code"] == (1 if command == "fail" else 0)
    assert job["ended"] and job["started"] and messages(system, job_id)
    assert changed == (command in readme_effect_commands() - {"success", "fail"}), command
