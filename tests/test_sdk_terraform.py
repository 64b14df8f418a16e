"""The Terraform provider (over the generated Go SDK), the Python SDK example and the Java
binding against fakecmon, unchanged (go-clients.md §5, sdk-and-openapi.md §3-5).

Their wire habits are emulated in tests/clientsim.py: the Go SDK keeps one connection,
sends ``Content-Type: application/json`` and ``Expect: 100-continue`` (waiting up to a
second for ``100 Continue``) and the first cookie of the login reply as ``name=value``;
the Python SDK opens a connection per call and sends the raw ``Set-Cookie`` value back;
the Java binding logs in again on a non-2xx ``AuthRequired``. Replies are decoded into
the structs and models each client uses. Their 10-second polls are ``cmon.advance(10)``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from clientsim import (
    STRING, TF_BACKUPS, TF_BACKUPS_TOP, TF_CLUSTER_RESPONSE, TF_JOB_RESPONSE,
    TF_MAINTENANCE_RESPONSE, ClientError, GoSdkClient, JavaSdkClient, List, PythonSdkClient, Reply,
    assert_decodes, pydantic_alarm_response_errors, pydantic_job_response_errors,
)
from fakecmon.testing import FakeCmon

#: The real clients' recorded flows keep to the request contract: any finding fails
#: the test (fakecmon/contract.py, tests/test_contract.py).
pytestmark = pytest.mark.fakecmon_strict

USER, PASSWORD = "system", "secret"
#: Terraform's envelope struct (internal/provider/response.go MinResponseFields)
TF_MIN_RESPONSE = {"Controller_Id": STRING, "Request_Status": STRING,
                   "Debug_Messages": List(STRING)}
MAX_POLLS = 60   # Terraform and the example poll without a timeout: a stuck job loops forever


# ---- the Terraform provider

def terraform(cmon: FakeCmon) -> GoSdkClient:
    client = GoSdkClient(cmon.port)
    reply = client.login(USER, PASSWORD)
    assert client.cookie is not None and client.cookie.name == "cmon-sid", reply.headers
    assert reply.json["request_status"] == "Ok"
    return client


def send_and_wait(cmon: FakeCmon, tf: GoSdkClient, job: dict[str, Any]) -> tuple[int, list[str]]:
    """internal/provider/job.go SendAndWaitForJobCompletionAndId: create, then every
    10 s getJobInstance until the status contains FINISHED; a status containing neither
    RUNNING nor DEFINED is a failure. Returns the job id and the statuses seen."""
    created = tf.decode(tf.post("jobs", job), TF_JOB_RESPONSE, "createJobInstance reply")
    job_id = created["job"]["job_id"]
    assert isinstance(job_id, int) and job_id > 0, created
    seen = []
    for _ in range(MAX_POLLS):
        cmon.advance(10)
        doc = tf.decode(tf.post("jobs", {"job_id": job_id, "operation": "getJobInstance"}),
                        TF_JOB_RESPONSE, "getJobInstance reply")
        status = doc["job"]["status"]
        seen.append(status)
        if "FINISHED" in status:
            return job_id, seen
        if "RUNNING" not in status and "DEFINED" not in status:
            raise ClientError(f"Job failed. (Status: {status})", doc["job"].get("status_text", ""))
    raise AssertionError(f"job {job_id} still {seen[-1]} after {MAX_POLLS} polls: Terraform "
                         "would poll forever")


def create_cluster_job(name: str, cluster_type: str, vendor: str, version: str, port: int,
                       hosts: list[str]) -> dict[str, Any]:
    return {"operation": "createJobInstance", "job": {
        "class_name": "CmonJobInstance",
        "job_spec": {"command": "create_cluster", "job_data": {
            "cluster_name": name, "cluster_type": cluster_type, "vendor": vendor,
            "version": version, "port": port, "db_user": "admin", "db_password": "p4ss",
            "ssh_user": "root", "ssh_keyfile": "/root/.ssh/id_rsa", "ssh_port": "22",
            "install_software": True, "disable_firewall": True, "disable_selinux": True,
            "enable_uninstall": True, "with_tags": [],
            "nodes": [{"hostname": h, "hostname_data": h, "port": str(port),
                       "synchronous": False} for h in hosts]}}}}


def cluster_by_id(tf: GoSdkClient, cluster_id: int) -> dict[str, Any]:
    doc = tf.decode(tf.post("clusters", {"cluster_id": cluster_id, "limit": 100, "offset": 0,
                                         "operation": "getclusterinfo", "with_hosts": True}),
                    TF_CLUSTER_RESPONSE, "getclusterinfo reply")
    return doc["cluster"]


@pytest.mark.parametrize("cluster_type,vendor,version,port", [
    ("postgresql_single", "default", "16", 5432),
    ("galera", "percona", "8.0", 3306),
    ("replication", "oracle", "8.0", 3306),
    ("mongodb", "10gen", "7.0", 27017),
    ("redis", "redis", "7", 6379),
])
def test_terraform_creates_a_cluster_and_finds_it_by_name(cmon, cluster_type, vendor, version,
                                                         port):
    tf = terraform(cmon)
    name = f"tf-{cluster_type}"
    job = create_cluster_job(name, cluster_type, vendor, version, port, ["10.50.0.1", "10.50.0.2"])
    assert "cluster_id" not in job
    job_id, seen = send_and_wait(cmon, tf, job)
    assert seen[-1] == "FINISHED"
    found = tf.decode(tf.post("clusters", {"cluster_name": name, "operation": "getclusterinfo"}),
                      TF_CLUSTER_RESPONSE, "getclusterinfo reply")
    cluster_id = found["cluster"]["cluster_id"]
    assert isinstance(cluster_id, int) and cluster_id > 0
    cluster = cluster_by_id(tf, cluster_id)
    assert cluster["cluster_type"].lower() == cluster_type and cluster["cluster_name"] == name
    names = {h["hostname"] for h in cluster["hosts"]}
    assert {"10.50.0.1", "10.50.0.2"} <= names
    for host in cluster["hosts"]:
        assert isinstance(host["class_name"], str) and isinstance(host["role"], str)
    # every poll was a getJobInstance of that job, and the connection was kept
    polls = cmon.requests("getJobInstance", with_fields={"job_id": job_id})
    assert len(polls) == len(seen)
    assert tf.conn.opened == 1
    assert all(r.interim == [100] for r in tf.replies)


def test_terraform_cluster_lookup_of_a_missing_name_decodes_as_empty(cmon):
    """request_status is never checked: 200 + ObjectNotFound decodes as cluster id 0."""
    tf = terraform(cmon)
    doc = tf.decode(tf.post("clusters", {"cluster_name": "no-such", "operation": "getclusterinfo"}),
                    TF_CLUSTER_RESPONSE, "getclusterinfo reply")
    assert doc["request_status"] == "ObjectNotFound" and tf.replies[-1].status == 200
    assert (doc.get("cluster") or {}).get("cluster_id", 0) == 0


def test_terraform_set_config_name_and_tags(cmon):
    tf = terraform(cmon)
    for name, value in (("name", "galera-renamed"), ("tags", "prod;eu-west;db")):
        reply = tf.post("clusters", {"cluster_id": 1, "configuration": [{"name": name,
                                                                          "value": value}],
                                     "operation": "setConfig"})
        doc = tf.decode(reply, TF_MIN_RESPONSE, "setConfig reply")
        assert doc["request_status"] == "Ok", doc
    cluster = cluster_by_id(tf, 1)
    assert cluster["cluster_name"] == "galera-renamed"
    assert sorted(cluster["tags"]) == ["db", "eu-west", "prod"]


def test_terraform_backup_then_finds_the_record_by_job_id_and_deletes_it(cmon):
    tf = terraform(cmon)
    job_id, _ = send_and_wait(cmon, tf, {"cluster_id": 1, "operation": "createJobInstance", "job": {
        "class_name": "CmonJobInstance",
        "job_spec": {"command": "backup", "job_data": {
            "backup_method": "xtrabackupfull", "hostname": "10.0.1.12",
            "backupdir": "/root/backups",
            "backupsubdir": "BACKUP-%I", "backup_retention": 7, "compression": True,
            "compression_level": 6, "wsrep_desync": False}}}})
    # utils.go GetBackupIdForCluster
    reply = tf.post("backup", {"ascending": False, "backup_record_version": 2, "cluster_id": 1,
                               "limit": 500, "offset": 0, "operation": "getBackups",
                               "order": "created DESC"})
    top = tf.decode(reply, TF_BACKUPS_TOP, "getBackups reply")
    assert top["total"] > 0, "Terraform: ERROR: Zero backup records."
    full = tf.decode(reply, TF_BACKUPS, "getBackups reply")
    matching = [r["metadata"]["id"] for r in full["backup_records"]
                if r["metadata"].get("job_id") == job_id]
    assert len(matching) == 1 and matching[0] > 0
    backup_id = matching[0]
    ids = [r["metadata"]["id"] for r in full["backup_records"]]
    assert ids == sorted(ids, reverse=True)   # "created DESC"
    # delete_backup (constants.go: backupid, clusterid) on the controller's job queue
    send_and_wait(cmon, tf, {"cluster_id": 1, "operation": "createJobInstance", "job": {
        "class_name": "CmonJobInstance",
        "job_spec": {"command": "delete_backup", "job_data": {"backupid": backup_id,
                                                              "clusterid": 1}}}})
    after = tf.decode(tf.post("backup", {"ascending": False, "backup_record_version": 2,
                                         "cluster_id": 1, "limit": 500, "offset": 0,
                                         "operation": "getBackups", "order": "created DESC"}),
                      TF_BACKUPS, "getBackups reply")
    assert backup_id not in [r["metadata"]["id"] for r in after.get("backup_records") or []]


def test_terraform_backup_schedule_then_delete_with_the_odd_body(cmon):
    tf = terraform(cmon)
    reply = tf.post("jobs", {"cluster_id": 3, "operation": "createJobInstance", "job": {
        "class_name": "CmonJobInstance", "status": "SCHEDULED", "title": "tf nightly",
        "recurrence": "0 3 * * *",
        "job_spec": {"command": "backup", "job_data": {"backup_method": "pg_basebackup",
                                                       "hostname": "10.0.3.31"}}}})
    doc = tf.decode(reply, TF_JOB_RESPONSE, "createJobInstance reply")
    job_id = doc["job"]["job_id"]
    assert doc["request_status"] == "Ok" and doc["job"]["status"] == "SCHEDULED"
    # db_cluster_backup_schedule.go: NewCCJob("deleteJobInstance") + SetJobId: a job
    # without a command next to job_id
    reply = tf.post("jobs", {"job": {"class_name": "CmonJobInstance",
                                     "job_spec": {"job_data": {}}},
                             "job_id": job_id, "operation": "deleteJobInstance"})
    assert reply.status == 200 and reply.json["request_status"] == "Ok", reply.json
    gone = tf.post("jobs", {"job_id": job_id, "operation": "getJobInstance"})
    assert gone.json["request_status"] == "ObjectNotFound"


def go_time_string(rfc3339: str) -> str:
    """Go ``time.Time.UTC().String()`` of a whole-minute time: ``2026-12-01 10:00:00 +0000 UTC``."""
    return rfc3339.replace("T", " ").replace("Z", "") + " +0000 UTC"


def test_terraform_maintenance_with_go_time_strings(cmon, system):
    tf = terraform(cmon)
    reply = tf.post("maintenance", {"cluster_id": 2,
                                    "deadline": go_time_string("2031-12-01T12:30:00Z"),
                                    "initiate": go_time_string("2031-12-01T10:00:00Z"),
                                    "operation": "addMaintenance", "reason": "terraform window"})
    doc = tf.decode(reply, TF_MAINTENANCE_RESPONSE, "addMaintenance reply")
    uuid = doc["UUID"]
    assert doc["request_status"] == "Ok" and re.fullmatch(r"[0-9a-f-]{36}", uuid), doc
    listed = system.call("/v2/maintenance", "getMaintenance", cluster_id=2)
    periods = [p for r in listed.get("maintenance_records", [])
               for p in r.get("cluster", {}).get("maintenance_periods", [])]
    mine = [p for p in periods if p.get("UUID") == uuid]
    assert mine and mine[0]["initiate"].startswith("2031-12-01T10:00:00")
    assert mine[0]["deadline"].startswith("2031-12-01T12:30:00")
    reply = tf.post("maintenance", {"UUID": uuid, "operation": "removeMaintenance"})
    assert reply.json["request_status"] == "Ok"
    listed = system.call("/v2/maintenance", "getMaintenance", cluster_id=2)
    assert uuid not in str(listed)


def test_terraform_sees_http_errors_only(cmon):
    """The Go SDK turns HTTP >= 300 into an error and never logs in again."""
    tf = terraform(cmon)
    cmon.expire_sessions(USER)
    with pytest.raises(ClientError) as err:
        tf.post("clusters", {"operation": "getallclusterinfo"})
    assert err.value.kind == "HTTP 401"
    assert len(cmon.requests("authenticateWithPassword")) == 1


# ---- the Python SDK example (python2/clustercontrol_api_example)

EXAMPLE_JOB_DATA = {
    "cluster_name": "test-cluster", "cluster_type": "postgresql_single", "db_user": "pgadmin",
    "db_password": "vJFmRxw0LrI4n0rcpcdp5KfX", "ssh_keyfile": "/home/ubuntu/.ssh/id_rsa",
    "ssh_user": "ubuntu", "ssh_port": "22", "version": "18", "enable_ssl": True,
    "type": "postgresql", "vendor": "default", "disable_selinux": True, "disable_firewall": True,
    "install_software": True, "use_internal_repos": False, "port": 5432,
    "nodes": [{"hostname": "10.0.0.189", "port": "5432", "hostname_data": "10.0.0.189",
               "hostname_internal": "", "synchronous": False, "datadir": ""}],
}


def test_python_sdk_example_end_to_end(cmon):
    sdk = PythonSdkClient(cmon.port)
    login = sdk.post("auth", {"operation": "authenticateWithPassword", "user_name": USER,
                              "password": PASSWORD})
    assert login.json["request_status"] == "Ok"
    assert sdk.cookie and re.fullmatch(r"cmon-sid=[^;,\s]+; Path=/; HttpOnly; Secure", sdk.cookie)

    missing = sdk.post("clusters", {"operation": "getclusterinfo", "cluster_name": "galera",
                                    "with_hosts": False, "with_sheet_info": False})
    assert missing.status == 200 and missing.json["request_status"] == "ObjectNotFound"
    found = sdk.post("clusters", {"operation": "getclusterinfo", "cluster_name": "galera-prod",
                                  "with_hosts": False, "with_sheet_info": False}).json
    assert found["request_status"] == "Ok" and found["cluster"]["cluster_id"] == 1
    assert "hosts" not in found["cluster"]
    everything = sdk.post("clusters", {"operation": "getallclusterinfo", "with_hosts": False,
                                       "with_sheet_info": False}).json
    assert everything["request_status"] == "Ok" and everything["total"] == 6

    reply = sdk.post("jobs", {"operation": "createJobInstance", "job": {
        "class_name": "CmonJobInstance",
        "job_spec": {"command": "create_cluster", "job_data": EXAMPLE_JOB_DATA}}})
    created = reply.json
    assert not pydantic_job_response_errors(created), pydantic_job_response_errors(created)
    job_id = created["job"]["job_id"]
    statuses = []
    for _ in range(MAX_POLLS):
        cmon.advance(10)   # time.sleep(10)
        doc = sdk.post("jobs", {"operation": "getJobInstance", "job_id": job_id}).json
        errors = pydantic_job_response_errors(doc)
        assert not errors, f"JobResponse fails in the poll loop (caught: polls forever): {errors}"
        statuses.append(doc["job"]["status"])
        if doc["job"]["status"] == "FINISHED":
            break
        assert "RUNNING" in doc["job"]["status"] or "DEFINED" in doc["job"]["status"], statuses
    assert statuses[-1] == "FINISHED", statuses
    cluster = sdk.post("clusters", {"operation": "getclusterinfo",
                                    "cluster_name": "test-cluster"}).json
    assert cluster["request_status"] == "Ok"
    assert cluster["cluster"]["cluster_type"].lower() == "postgresql_single"
    assert sdk.connections == 6 + len(statuses)   # a new ApiClient, so a new connection, per call


def test_python_sdk_job_reply_of_an_error_is_not_a_job_response(cmon):
    """An error envelope has no ``job``: the example's loop would catch the validation
    error and poll again, so a missing job must be ObjectNotFound (never Ok without job)."""
    sdk = PythonSdkClient(cmon.port)
    sdk.post("auth", {"operation": "authenticateWithPassword", "user_name": USER,
                      "password": PASSWORD})
    doc = sdk.post("jobs", {"operation": "getJobInstance", "job_id": 9999}).json
    assert doc["request_status"] == "ObjectNotFound" and "job" not in doc


def alarm_call(sdk: PythonSdkClient, body: dict[str, Any]) -> Reply:
    reply = sdk.post("alarm", body)
    errors = pydantic_alarm_response_errors(reply)
    assert not errors, f"AlarmResponse fails for {body}: {errors}"
    return reply


def test_python_sdk_alarm_replies_fit_the_strict_alarm_response(cmon):
    sdk = PythonSdkClient(cmon.port)
    sdk.post("auth", {"operation": "authenticateWithPassword", "user_name": USER,
                      "password": PASSWORD})
    alarms = alarm_call(sdk, {"operation": "getAlarms", "cluster_id": 2}).json["alarms"]
    assert alarms
    alarm_id = alarms[0]["alarm_id"]
    alarm_call(sdk, {"operation": "getAlarms"})
    alarm_call(sdk, {"operation": "getAlarm", "alarm_id": alarm_id})
    alarm_call(sdk, {"operation": "getStatistics", "cluster_id": 2})
    alarm_call(sdk, {"operation": "ignoreAlarm", "alarm_id": alarm_id, "ignore": True})
    # error replies come with HTTP 200 and are validated too
    alarm_call(sdk, {"operation": "getAlarm", "alarm_id": 999999})
    alarm_call(sdk, {"operation": "getAlarm"})
    alarm_call(sdk, {"operation": "getAlarms", "cluster_id": 999})
    alarm_call(sdk, {"operation": "getalarms", "cluster_id": 2})


def test_alarm_response_check_can_fail():
    bad = Reply(200, [("Content-Type", "application/json")],
                b'{"operation": "getalarms", "cluster_id": "2", "class_name": "CmonAlarm"}')
    assert len(pydantic_alarm_response_errors(bad)) == 3


def test_python_sdk_without_login_raises_unauthorized(cmon):
    sdk = PythonSdkClient(cmon.port)
    with pytest.raises(ClientError) as err:
        sdk.post("clusters", {"operation": "getallclusterinfo"})
    assert err.value.kind == "HTTP 401"


# ---- the Java binding

def test_java_binding_logs_in_again_on_non_2xx_auth_required(cmon):
    java = JavaSdkClient(cmon.port, USER, PASSWORD)
    java.login()
    assert java.cookie and re.fullmatch(r"cmon-sid=[0-9a-f]+", java.cookie)
    assert java.execute("clusters", {"operation": "getallclusterinfo"})["total"] == 6
    cmon.expire_sessions(USER)
    doc = java.execute("clusters", {"operation": "getallclusterinfo"})
    assert doc["request_status"] == "Ok" and doc["total"] == 6
    assert java.logins == 2 and java.retries == 1
    failed = [e for e in cmon.requests("getallclusterinfo") if e.status == "AuthRequired"]
    assert len(failed) == 1 and failed[0].http_status == 401


def test_java_binding_without_a_session_logs_in_on_the_401(cmon):
    """What the binding reads from the 401: request_status, controller_id, error_string,
    request_processed; then it logs in and retries."""
    java = JavaSdkClient(cmon.port, USER, PASSWORD)   # never logged in: no cookie
    reply = java._post("clusters", {"operation": "getallclusterinfo"})
    assert reply.status == 401
    doc = reply.json
    assert doc["request_status"] == "AuthRequired" and doc["error_string"]
    assert isinstance(doc["controller_id"], str) and isinstance(doc["request_processed"], str)
    assert_decodes(doc, TF_MIN_RESPONSE)
    assert java.execute("clusters", {"operation": "getallclusterinfo"})["total"] == 6
    assert java.logins == 1 and java.retries == 1
