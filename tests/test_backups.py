"""/v2/backup over TLS: backup records in the two shapes clients read, paging, deleting,
and the ``backups`` / ``jobs`` / ``job_settings`` world file sections."""

from __future__ import annotations

from pathlib import Path

import pytest
from shapes import load_capture, same_shape

from fakecmon.controller import DEFAULT_WORLD
from fakecmon.world.loader import build_world
from fakecmon.world.yamlfile import WorldError, parse_yaml, read_yaml

B = "/v2/backup"


def test_getbackups_capture_replays_as_s9s_reads_it(system, contract):
    req, rep = load_capture(contract, "Ok-getBackups")
    got = system.post(B, req).json
    assert got["request_status"] == "Ok"
    assert set(got) == set(rep) - {"reply_received"}
    assert got["total"] == len(got["backup_records"]) == 3
    assert [r["id"] for r in got["backup_records"]] == [1, 2, 3]    # ascending: true
    for record in got["backup_records"]:
        same_shape(record, rep["backup_records"][0], "backup_records[]")


def test_unknown_cluster_capture(system, contract):
    req, rep = load_capture(contract, "ObjectNotFound-getBackups")
    got = system.post(B, dict(req, cluster_id=999)).json
    assert set(got) == set(rep) - {"reply_received"}
    assert (got["request_status"], got["error_string"]) == (
        rep["request_status"], rep["error_string"])
    named = system.call(B, "getBackups", cluster_name="no-such-cluster")
    assert named["request_status"] == "ObjectNotFound"


def test_version_2_records_for_the_go_clients(system):
    got = system.call(B, "getBackups", cluster_id=1, backup_record_version=2,
                      order="created DESC", ascending=False, limit=500, offset=0)
    assert got["request_status"] == "Ok" and got["total"] == 1
    record = got["backup_records"][0]
    meta = record["metadata"]
    assert (meta["id"], meta["cid"], meta["job_id"], meta["method"], meta["status"]) == (
        1, 1, 2, "xtrabackupfull", "Completed")
    assert meta["created"].endswith("Z") and meta["finished"] > meta["created"]
    assert isinstance(meta["backup"][0]["files"][0]["size"], int)
    location = record["host_locations"][0]
    assert location["root_dir"] == "/root/backups/BACKUP-1"
    assert location["storage_host"] == "10.0.1.12" and location["being_deleted"] is False
    assert record["cloud_locations"] == [] and record["cluster"]["cluster_name"] == "galera-prod"


def test_paging_newest_first(cmon, system):
    for _ in range(5):
        job = system.call("/v2/jobs", "createJobInstance", cluster_id=2, job={
            "job_spec": {"command": "backup", "job_data": {"backup_method": "mysqldump"}}})
        assert job["request_status"] == "Ok"
    cmon.advance(30)
    every = system.call(B, "getBackups", backup_record_version=2)
    ids = [r["metadata"]["id"] for r in every["backup_records"]]
    assert ids == sorted(ids, reverse=True) and every["total"] == len(ids) == 8
    pages, offset = [], 0
    while True:
        page = system.call(B, "getBackups", backup_record_version=2, limit=3, offset=offset,
                           ascending=False, parent_id=0)
        assert page["total"] == 8
        if not page["backup_records"]:
            break
        pages += [r["metadata"]["id"] for r in page["backup_records"]]
        offset += 3
    assert pages == ids
    up = system.call(B, "getBackups", ascending=True, limit=-1, offset=-1)
    assert [r["id"] for r in up["backup_records"]] == sorted(ids)
    past = system.call(B, "getBackups", limit=5, offset=50)
    assert past["backup_records"] == [] and past["total"] == 8
    mine = system.call(B, "getBackups", cluster_id=2)
    assert mine["total"] == 5 and {r["cid"] for r in mine["backup_records"]} == {2}


def test_reader_lists_but_may_not_delete(system, reader):
    listed = reader.call(B, "getBackups")
    assert listed["request_status"] == "Ok" and listed["total"] == 3
    denied = reader.call(B, "deleteBackupRecord", backup_record={"backup_id": 1})
    assert denied["request_status"] == "AccessDenied"
    assert denied["error_string"] == "Write access to cluster 1 for user readeruser is denied."
    assert system.call(B, "getBackups", cluster_id=1)["total"] == 1


def test_delete_backup_record(system):
    reply = system.call(B, "deleteBackupRecord", backup_record={"backup_id": 2})
    assert reply["request_status"] == "Ok"
    assert [r["id"] for r in system.call(B, "getBackups")["backup_records"]] == [3, 1]
    again = system.call(B, "deleteBackupRecord", backup_record={"backup_id": 2})
    assert again["request_status"] == "ObjectNotFound"
    assert system.call(B, "deleteBackupRecord")["request_status"] == "InvalidRequest"
    both = system.call(B, "deleteBackupRecord", backup_id_list=[1, 42])
    assert both["request_status"] == "ObjectNotFound"
    assert system.call(B, "getBackups")["total"] == 2      # all or nothing


def test_removed_cluster_takes_its_backups_when_asked(cmon, system):
    job = system.call("/v2/jobs", "createJobInstance", job={"job_spec": {
        "command": "remove_cluster", "job_data": {"clusterid": 3, "remove_backups": True}}})
    assert job["request_status"] == "Ok"
    cmon.advance(30)
    assert system.call("/v2/jobs", "getJobInstance",
                       job_id=job["job"]["job_id"])["job"]["status"] == "FINISHED"
    assert [r["cid"] for r in system.call(B, "getBackups")["backup_records"]] == [21, 1]


# ---- world file sections

def _build(text: str) -> Any:
    extra = parse_yaml(text, Path("extra.yaml"))
    return build_world([(DEFAULT_WORLD, read_yaml(DEFAULT_WORLD)), (Path("extra.yaml"), extra)],
                       created=1_700_000_000.0)


def test_world_sections_load(cmon, system):
    cmon.load_yaml(
        "job_settings: {default_duration: 10, durations: {backup: 60}}\n"
        "jobs:\n"
        "  - {job_id: 50, command: success, cluster: 2, ago: 60, duration: 5,\n"
        "     messages: [first line, {text: second line, status: JOB_WARNING}]}\n"
        "backups:\n"
        "  - {cluster: redis-cache, ago: 7200, size: 1234, status: Failed}\n")
    system = cmon.client("system", "secret")
    job = system.call("/v2/jobs", "getJobInstance", job_id=50)["job"]
    assert (job["status"], job["cluster_id"], job["progress_percent"]) == ("FINISHED", 2, 100)
    log = system.call("/v2/jobs", "getJobLog", job_id=50, ascending=True)["messages"]
    assert [(m["message_text"], m["message_status"]) for m in log] == [
        ("first line", "JOB_SUCCESS"), ("second line", "JOB_WARNING")]
    record = system.call(B, "getBackups", cluster_id=5)["backup_records"][0]
    assert (record["id"], record["status"], record["backup_host"]) == (4, "Failed", "10.0.5.51")
    settings = cmon.run(lambda c: c.world.extensions["jobs"].settings)
    assert settings.default_duration == 10 and settings.durations["backup"] == 60


@pytest.mark.parametrize("text, where", [
    ("backups:\n  - {cluster: nowhere}\n", "line 2: backups[0].cluster: unknown cluster"),
    ("backups:\n  - {cluster: galera-prod, host: 1.1.1.1}\n", "backups[0].host"),
    ("backups:\n  - {cluster: galera-prod, status: Lost}\n", "unknown status 'Lost'"),
    ("backups:\n  - {cluster: galera-prod, backup_id: 1}\n", "already used"),
    ("jobs:\n  - {command: success, status: RUNNING}\n", "jobs[0].status"),
    ("jobs:\n  - {command: backup, status: SCHEDULED}\n", "needs a 'recurrence'"),
    ("jobs:\n  - {command: backup, recurrence: 'at noon', status: PAUSED}\n",
     "jobs[0].recurrence: Invalid recurrence"),
    ("jobs:\n  - {command: success, user: ghost}\n", "unknown user 'ghost'"),
    ("jobs:\n  - {command: success, job_id: 2}\n", "already used"),
    ("jobs:\n  - {command: success, colour: red}\n", "jobs[0].colour: unknown field"),
    ("job_settings: {durations: {backup: -1}}\n", "job_settings.durations.backup"),
])
def test_world_section_errors_say_where(text, where):
    with pytest.raises(WorldError, match="extra.yaml: ") as caught:
        _build(text)
    assert where in str(caught.value)


# ---- backup schedules (recurring backup jobs)

def test_backup_schedules_are_recurring_backup_jobs(cmon, system, reader):
    cmon.freeze()
    listed = system.call(B, "getBackupSchedules", cluster_id=1)
    assert listed["request_status"] == "Ok" and listed["total"] == 1
    world_schedule = listed["backup_schedules"][0]
    assert (world_schedule["id"], world_schedule["enabled"], world_schedule["schedule"]) == (
        6, False, "0 3 * * *")
    made = system.call(B, "scheduleBackup", cluster_id=2, schedule={
        "class_name": "CmonBackupSchedule", "enabled": True, "schedule": "*/30 * * * *",
        "job": {"command": "backup", "job_data": {"backup_method": "mysqldump",
                                                  "description": "half-hourly"}}})
    assert made["request_status"] == "Ok"
    schedule = made["backup_schedule"]
    assert schedule["enabled"] is True and schedule["description"] == "half-hourly"
    scheduled = system.call("/v2/jobs", "getJobInstances", show_scheduled=True)["jobs"]
    assert schedule["id"] in [j["job_id"] for j in scheduled]
    cmon.advance(1800 + 60)
    records = system.call(B, "getBackups", cluster_id=2, backup_record_version=2)
    assert records["total"] == 1 and records["backup_records"][0]["metadata"]["method"] == \
        "mysqldump"
    off = system.call(B, "scheduleBackup", cluster_id=2, schedule={
        "schedule_id": schedule["id"], "enabled": False, "schedule": "*/30 * * * *",
        "job": {"command": "backup", "job_data": {"backup_method": "mysqldump"}}})
    assert off["backup_schedule"]["enabled"] is False
    cmon.advance(3600)
    assert system.call(B, "getBackups", cluster_id=2)["total"] == 1
    denied = reader.call(B, "scheduleBackup", cluster_id=2,
                         schedule={"schedule": "0 1 * * *", "job": {"command": "backup"}})
    assert denied["request_status"] == "AccessDenied"
    bad = system.call(B, "scheduleBackup", cluster_id=2, schedule={"schedule": "often"})
    assert bad["request_status"] == "InvalidRequest"
    assert reader.call(B, "getBackupSchedules")["total"] == 2       # clusters 1 and 2
    cmon.unfreeze()
