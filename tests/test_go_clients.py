"""cmon-proxy's ``cmon`` package (also used by cmon_exporter and cmon-sd) against fakecmon,
unchanged: its request sequences, its HTTP behaviour and its decoding (go-clients.md §2-4, §7).

The client is emulated in tests/clientsim.py: HTTP/1.1 kept alive over one TLS
connection, ``Expect: 100-continue`` with the body sent at once, no Content-Type,
``User-Agent: Go-http-client/1.1``, the cookie echoed with its attributes, a re-login
and one retry on HTTP 401/403; every reply is checked whole against the Go structs
(one mistyped field fails ``json.Unmarshal`` of the whole reply).
"""

from __future__ import annotations

import time

import orjson
import pytest

from clientsim import (
    ACCOUNT_RESPONSE, ALARM, AUTHENTICATE_RESPONSE, DATABASE_RESPONSE, ENVELOPE,
    GET_CLUSTER_INFO_RESPONSE, GET_CONTROLLERS_HEAD, GET_CONTROLLERS_V032,
    GET_JOB_INSTANCES_RESPONSE, HOST, JOB, LIST_ACCOUNTS_RESPONSE, SQL_PROCESSES_RESPONSE,
    STAT_BY_NAME_RESPONSE, TOP_QUERIES_RESPONSE, ClientError, CmonProxyClient, GoCookie, HttpConn,
    Reply, assert_decodes, go_decode, go_json, go_time,
)
from fakecmon.testing import FakeCmon

#: The real clients' recorded flows keep to the request contract: any finding fails
#: the test (fakecmon/contract.py, tests/test_contract.py).
pytestmark = pytest.mark.fakecmon_strict

USER, PASSWORD = "system", "secret"


def proxy(cmon: FakeCmon, user: str = USER, password: str = PASSWORD) -> CmonProxyClient:
    return CmonProxyClient(cmon.port, user, password)


def create_jobs(cmon: FakeCmon, cluster_id: int, count: int, command: str = "success") -> list[int]:
    client = cmon.client(USER, PASSWORD)
    ids = []
    for _ in range(count):
        reply = client.call("/v2/jobs", "createJobInstance", cluster_id=cluster_id,
                            job={"class_name": "CmonJobInstance",
                                 "job_spec": {"command": command, "job_data": {}}})
        assert reply["request_status"] == "Ok", reply
        ids.append(reply["job"]["job_id"])
    return ids


# ---- the decoder itself must be able to fail (or the tests below prove nothing)

@pytest.mark.parametrize("value,typ", [
    ({"hostId": "7"}, HOST), ({"hostId": -1}, HOST), ({"hostid": 1.0}, HOST),
    ({"port": "33x"}, HOST), ({"connected": 1}, HOST), ({"ignored": True}, ALARM),
    ({"created": ""}, ALARM), ({"created": "2024-05-01 10:00:00"}, ALARM),
    ({"job_id": "5"}, JOB), ({"tags": "a;b"}, JOB), ({"status": 3}, JOB),
])
def test_go_decoder_rejects_what_go_rejects(value, typ):
    assert go_decode(value, typ)


@pytest.mark.parametrize("value,typ", [
    ({"port": "3306", "listening_port": "", "clusterid": 1, "hostid": 7}, HOST),
    ({"created": None, "ignored": 0}, ALARM), ({"created": "null"}, ALARM),
    ({"job_spec": "Galera recovery", "created": "2021-02-09T09:27:15.000Z"}, JOB),
    ({"unknown_field": [1, "x"]}, JOB),
])
def test_go_decoder_accepts_what_go_accepts(value, typ):
    assert not go_decode(value, typ)


def test_go_cookie_string_keeps_the_attributes():
    cookie = GoCookie.parse("cmon-sid=abc123; Path=/; HttpOnly; Secure")
    assert cookie is not None
    assert cookie.string() == "cmon-sid=abc123; Path=/; HttpOnly; Secure"
    assert cookie.pair() == "cmon-sid=abc123"


# ---- cmon-proxy's router cycle (multi/router/router.go)

def test_router_cycle_over_one_kept_alive_connection(cmon):
    """PingWithControllers, Ping, GetAllClusterInfo, per cluster GetAlarms / GetLogs /
    GetAuditEntries, GetLastJobs, GetLastBackups, GetBackupJobs: every reply decodes,
    every call is Ok, and Go's transport never needs a second connection."""
    client = proxy(cmon)
    started = time.time()
    pool = client.get_controllers(GET_CONTROLLERS_V032)   # first call: logs in first
    assert pool["request_status"] == "Ok" and pool["controllers"] == [] and pool["total"] == 0
    assert client.user is not None and client.user["user_name"] == USER
    assert client.controller_id == cmon.controller_id and client.server_version == "2.3.1"
    assert client.ping()["package_version"] == "2.3.1"

    info = client.get_all_cluster_info(with_hosts=True, with_tags=True)
    ids = [c["cluster_id"] for c in info["clusters"]]
    assert ids == [1, 2, 3, 4, 5, 21] and info["total"] == 6
    assert info["license"]["days_left"] > 0 and info["license_check"]["has_license"] is True
    assert all(c["hosts"] and c["tags"] for c in info["clusters"][:3])

    alarms = {cid: client.get_alarms(cid)["alarms"] for cid in ids}
    assert {a["type_name"] for a in alarms[2]} >= {"ReplicationLag", "BackupFailed"}
    assert all(a["ignored"] in (0, 1) for found in alarms.values() for a in found)
    for cid in ids:
        logs = client.get_logs(cid)
        assert logs["total"] >= len(logs["log_entries"])
        client.get_audit_entries(cid)

    jobs, pages = client.get_last_jobs(ids, 12, time.time())
    # The default world's jobs 6, 5 and 4 are younger than 12 hours; job 3 (12 hours
    # old) ends the paging on the first page.
    assert [j["job_id"] for j in jobs] == [6, 5, 4] and pages == 1
    backups, pages = client.get_last_backups(7, time.time())
    assert [b["metadata"]["id"] for b in backups] == [3, 2, 1]
    assert pages == 2   # the second page (offset 32) is empty: the end
    scheduled = client.get_backup_jobs()["jobs"]
    assert [j["job_id"] for j in scheduled] == [6] and scheduled[0]["status"] == "PAUSED"

    assert client.conn.opened == 1, "the server closed a kept-alive connection"
    assert all(r.status == 200 and r.interim == [100] for r in client.replies)
    assert time.time() - started < 5
    logins = cmon.requests("authenticateWithPassword")
    assert len(logins) == 1   # cookie kept: no re-login


def test_requests_carry_go_headers_and_the_cookie_with_attributes(cmon):
    client = proxy(cmon)
    client.ping()
    path, body, headers = client.sent[-1]
    names = [k for k, _ in headers]
    assert "Content-Type" not in names and ("Expect", "100-continue") in headers
    cookie = dict(headers)["Cookie"]
    assert cookie.startswith("cmon-sid=") and cookie.endswith("; Path=/; HttpOnly; Secure")
    assert body == {"operation": "ping", "cluster_id": 0}
    # the server saw the same session as the login made
    entries = cmon.requests("ping", path="/v2/clusters")
    assert entries and entries[-1].user == USER


def test_info_ping_needs_no_login(cmon):
    client = CmonProxyClient(cmon.port)   # no credentials, no cookie
    doc = client.info_ping()
    assert doc["controller_id"] == cmon.controller_id
    assert doc["package_name"] == "cmon" and doc["package_version"] == "2.3.1"
    assert client.sent[0][2] and "Cookie" not in dict(client.sent[0][2])


def test_get_cluster_info_with_databases_never_null(cmon):
    """ListDatabases reads ``cluster.databases`` and fails on null."""
    client = proxy(cmon)
    for cid in (1, 2, 3, 4, 5, 21):
        doc = client._ok(client.request("clusters", {"operation": "getClusterInfo",
                                                     "cluster_id": cid, "with_databases": True},
                                        GET_CLUSTER_INFO_RESPONSE))
        assert isinstance(doc["cluster"]["databases"], list), cid


# ---- pagination (go-clients.md §2.4)

def test_get_last_jobs_pages_until_an_empty_page(cmon):
    """40 new jobs on a cluster without old ones: pages of 32, 8, then [] ends the loop."""
    created = create_jobs(cmon, 2, 40)
    jobs, pages = proxy(cmon).get_last_jobs([2], 12, time.time())
    assert [j["job_id"] for j in jobs] == sorted(created, reverse=True)
    assert pages == 3


def test_get_last_jobs_skips_what_it_has_seen_when_new_jobs_push_the_pages(cmon):
    """A job created between two pages shifts the list by one: the client skips the job
    it already has (its id is not lower than the last kept) and still terminates."""
    created = create_jobs(cmon, 2, 40)
    client = proxy(cmon)
    original = client.request

    def request(module, body, typ, *args, **kwargs):
        doc = original(module, body, typ, *args, **kwargs)
        if body.get("operation") == "getJobInstances" and body.get("offset") == 0:
            created.extend(create_jobs(cmon, 2, 1))   # lands before the next page
        return doc

    client.request = request   # type: ignore[method-assign]
    jobs, pages = client.get_last_jobs([2], 12, time.time())
    ids = [j["job_id"] for j in jobs]
    assert ids == sorted(set(ids), reverse=True)
    assert ids == sorted(created[:40], reverse=True) and pages == 3


def test_job_pages_are_descending_with_parseable_created_and_empty_past_the_end(cmon, system):
    create_jobs(cmon, 2, 5)
    seen = []
    for offset in (0, 3, 6, 9, 12, 1000):
        doc = system.call("/v2/jobs", "getJobInstances", cluster_ids=[1, 2, 3, 4, 5, 21],
                          limit=3, offset=offset)
        assert_decodes(doc, GET_JOB_INSTANCES_RESPONSE)
        assert doc["total"] == 11
        assert len(doc["jobs"]) == max(0, min(3, 11 - offset))   # [] past the end
        seen += doc["jobs"]
    ids = [j["job_id"] for j in seen]
    assert ids == sorted(ids, reverse=True) == list(range(11, 0, -1))
    created = [go_time(j["created"]) for j in seen]
    assert created == sorted(created, reverse=True), "a higher job id is never older"


def test_get_last_backups_pages_every_cluster_until_an_empty_page(cmon, system):
    """34 new backups plus the world's 3: pages of 32, 5, then []; newest id first,
    every record with metadata and a parseable created."""
    for _ in range(34):
        reply = system.call("/v2/jobs", "createJobInstance", cluster_id=2, job={
            "class_name": "CmonJobInstance",
            "job_spec": {"command": "backup", "job_data": {"backup_method": "mysqldump",
                                                           "hostname": "10.0.2.21"}}})
        assert reply["request_status"] == "Ok", reply
    cmon.advance(120)
    backups, pages = proxy(cmon).get_last_backups(7, time.time())
    ids = [b["metadata"]["id"] for b in backups]
    assert len(ids) == 37 and ids == sorted(ids, reverse=True) and pages == 3
    created = [go_time(b["metadata"]["created"]) for b in backups]
    assert created == sorted(created, reverse=True), "a higher backup id is never older"


# ---- logins

def test_whoami_cookie_login(cmon, system):
    """cmon-proxy's AuthenticateWithCookie and its whoAmI user provider: a browser's
    cmon-sid, sent bare; needs HTTP 200 and user.user_name, groups and origin."""
    client = CmonProxyClient(cmon.port, session=GoCookie("cmon-sid", system.sid or ""))
    doc = client.authenticate_with_cookie()
    assert client.replies[-1].status == 200
    assert doc["user"]["user_name"] == USER and doc["user"]["origin"] == "CmonDb"
    assert [g["group_name"] for g in doc["user"]["groups"]] == ["admins"]
    assert client.sent[-1][2][3] == ("Cookie", f"cmon-sid={system.sid}")

    stranger = CmonProxyClient(cmon.port, session=GoCookie("cmon-sid", "0" * 32))
    with pytest.raises(ClientError) as err:
        stranger.authenticate_with_cookie()
    assert err.value.kind == "AuthRequired" and stranger.replies[-1].status == 401


def test_relogin_on_401_then_one_retry(cmon):
    client = proxy(cmon)
    client.ping()
    old = client.ses
    assert cmon.expire_sessions(USER) >= 1
    info = client.get_all_cluster_info(with_hosts=True)
    assert info["total"] == 6
    statuses = [(r.status, path) for r, (path, _, _) in zip(client.replies, client.sent)]
    assert statuses[-3:] == [(401, "/v2/clusters"), (200, "/v2/auth"), (200, "/v2/clusters")]
    login_headers, retry_headers = dict(client.sent[-2][2]), dict(client.sent[-1][2])
    assert old is not None and login_headers["Cookie"] == old.string()   # the old cookie goes along
    assert client.ses is not None and retry_headers["Cookie"] == client.ses.string() != old.string()
    unauthorized = client.replies[-3].json
    assert_decodes(unauthorized, AUTHENTICATE_RESPONSE)
    assert unauthorized["request_status"] == "AuthRequired" and unauthorized["controller_id"]
    assert client.conn.opened == 1


def test_auth_required_with_http_200_is_not_retried(cmon):
    """With ``--auth-required-status 200`` cmon-proxy does not log in again: the call
    fails (go-clients.md §10.3), which is why fakecmon answers 401 by default."""
    client = proxy(cmon)
    client.ping()
    cmon.run(lambda c: setattr(c.config, "auth_required_http_status", 200))
    try:
        cmon.expire_sessions(USER)
        with pytest.raises(ClientError) as err:
            client.ping()
        assert err.value.kind == "AuthRequired" and client.replies[-1].status == 200
        assert len(cmon.requests("authenticateWithPassword")) == 1
    finally:
        cmon.run(lambda c: setattr(c.config, "auth_required_http_status", 401))


def test_rpc_key_login_of_ccmgradm(cmon):
    client = proxy(cmon, "ccrpc", "rpc-secret-key")
    assert client.ping()["request_status"] == "Ok"
    assert client.user is not None and client.user["user_name"] == "ccrpc"


# ---- pool controllers (v0.3.2 takes properties only as a string)

def test_listcontrollers_in_pool_mode_decodes_for_v032_and_head(cmon, system):
    reply = system.call("/v2/poolcontrollers", "setPoolMode", pool_mode=True,
                        conf_storage="/mnt/cmon-pool")
    assert reply["request_status"] == "Ok", reply
    client = proxy(cmon)
    doc = client.get_controllers(GET_CONTROLLERS_V032)
    assert_decodes(doc, GET_CONTROLLERS_HEAD)
    assert doc["total"] == 1 and doc["full_controller_id"] == cmon.controller_id
    member = doc["controllers"][0]
    assert member["status"] == "active" and member["port"] + 1 == 9501
    assert member["clusters"] == ["1", "2", "3", "4", "5", "21"]
    props = orjson.loads(member["properties"])
    assert props["role"] == "main_controller"
    assert not go_decode(props, GET_CONTROLLERS_HEAD["controllers"].item["properties"].options[1])


# ---- cmon_exporter (cmon_exporter.go: a new client and a login on every scrape)

def scrape(cmon: FakeCmon, user: str = USER, password: str = PASSWORD) -> dict[str, object]:
    """One Prometheus scrape: login, getAllClusterInfo, getAlarms per cluster."""
    client = proxy(cmon, user, password)
    try:
        client.authenticate()
    except ClientError:
        try:
            client.ping()   # only for the log
        except ClientError:
            pass
        return {"cmon_up": 0, "labels": {}}
    labels = {"ControllerId": client.controller_id, "CmonVersion": client.server_version}
    info = client.get_all_cluster_info()
    metrics: dict[str, object] = {"cmon_up": 1, "labels": labels, "clusters": {}, "critical": {}}
    for cluster in info.get("clusters") or []:
        metrics["clusters"][cluster["cluster_name"]] = cluster["state"]  # type: ignore[index]
        for alarm in client.get_alarms(cluster["cluster_id"])["alarms"]:
            if alarm["severity_name"] == "ALARM_CRITICAL":
                key = (cluster["cluster_id"], alarm["type_name"])
                metrics["critical"][key] = metrics["critical"].get(key, 0) + 1  # type: ignore
    return metrics


def test_exporter_scrapes_log_in_every_time(cmon):
    first, second = scrape(cmon), scrape(cmon)
    assert first["cmon_up"] == second["cmon_up"] == 1
    assert first["labels"] == {"ControllerId": cmon.controller_id, "CmonVersion": "2.3.1"}
    states = first["clusters"]
    assert states["galera-prod"] == "STARTED" and set(states.values()) <= {
        "STARTED", "FAILURE", "DEGRADED", "UNKNOWN", "STOPPED", "FAILED"}
    assert first["critical"].get((2, "BackupFailed")) == 1
    assert len(cmon.requests("authenticateWithPassword")) == 2   # sessions pile up
    assert len(cmon.requests("getAllClusterInfo", with_fields={"with_license_check": True})) == 2


def test_exporter_with_a_wrong_password_reports_down(cmon):
    assert scrape(cmon, USER, "wrong")["cmon_up"] == 0
    denied = cmon.requests("authenticateWithPassword")
    assert denied and all(e.status == "AccessDenied" for e in denied)


def test_every_reply_on_the_connection_is_plain_json_with_length(cmon):
    """Go reads by Content-Length or chunks; a reply without either would hang a
    kept-alive connection."""
    conn = HttpConn(cmon.port)
    body = go_json({"operation": "ping"})
    headers = [("Host", "127.0.0.1"), ("User-Agent", "Go-http-client/1.1"),
               ("Content-Length", str(len(body))), ("Expect", "100-continue"),
               ("Accept-Encoding", "gzip")]
    replies: list[Reply] = [conn.request("/v2/info", headers, body) for _ in range(3)]
    assert conn.opened == 1
    assert all(r.header("Content-Length") == [str(len(r.body))] for r in replies)
    assert all(r.json["request_status"] == "Ok" for r in replies)
    conn.close()


def test_router_cycle_for_users_with_less_rights(cmon):
    """A read-only user and a cluster owner: the same cycle over the clusters they see."""
    for user, password in (("readeruser", "s3cr3tP455"), ("dba", "dba-pass")):
        client = proxy(cmon, user, password)
        client.get_controllers(GET_CONTROLLERS_V032)
        client.ping()
        ids = [c["cluster_id"] for c in
               client.get_all_cluster_info(with_hosts=True, with_tags=True).get("clusters") or []]
        assert ids, user
        for cid in ids:
            client.get_alarms(cid)
            client.get_logs(cid)
            client.get_audit_entries(cid)
        jobs, _ = client.get_last_jobs(ids, 12, time.time())
        assert all(j["cluster_id"] in ids for j in jobs)
        backups, _ = client.get_last_backups(7, time.time())
        assert all(b["metadata"]["cid"] in ids for b in backups)
        client.get_backup_jobs()
        assert client.conn.opened == 1


def test_library_calls_accounts_databases_processes_queries_stats(cmon):
    """The rest of the cmon package (cmon/account.go, cluster.go, process.go, stats.go)."""
    client = proxy(cmon)
    account = {"user_name": "goapp", "password": "go-pass", "host_allow": "10.9.%",
               "grants": "shop.*:SELECT"}
    made = client._ok(client.request("clusters", {"operation": "createAccount", "cluster_id": 1,
                                                  "account": account}, ACCOUNT_RESPONSE))
    assert made["account"]["user_name"] == "goapp"
    listed = client._ok(client.request("clusters", {"operation": "getAccounts", "cluster_id": 1,
                                                    "limit": 100, "offset": 0},
                                       LIST_ACCOUNTS_RESPONSE))
    assert "goapp" in [a["user_name"] for a in listed["accounts"]]
    client._ok(client.request("clusters", {"operation": "deleteAccount", "cluster_id": 1,
                                           "account": {"user_name": "goapp"}}, ENVELOPE))
    db = client._ok(client.request("clusters", {"operation": "createDatabase", "cluster_id": 1,
                                                "database": {"database_name": "godb"}},
                                   DATABASE_RESPONSE))
    assert db["database"]["database_name"] == "godb"
    procs = client._ok(client.request("clusters", {"operation": "getSqlProcesses", "cluster_id": 1,
                                                   "limit": 10, "offset": 0},
                                      SQL_PROCESSES_RESPONSE))
    assert procs["processes"]
    top = client._ok(client.request("clusters", {"operation": "getTopQueries", "cluster_id": 1,
                                                 "limit": 10, "offset": 0}, TOP_QUERIES_RESPONSE))
    assert top["digests"] and all(d["dtFirstSeen"] for d in top["digests"])
    # statByName: times in the machine's local zone, Go layout 2006-01-02T15:04:05.000Z07:00
    start = time.strftime("%Y-%m-%dT%H:%M:%S.000+02:00", time.gmtime(time.time() - 3600 + 7200))
    end = time.strftime("%Y-%m-%dT%H:%M:%S.000+02:00", time.gmtime(time.time() + 7200))
    stats = client._ok(client.request("stat", {"operation": "statByName", "cluster_id": 1,
                                               "name": "cpustat", "start_datetime": start,
                                               "end_datetime": end, "with_hosts": True,
                                               "calculate_per_sec": True},
                                      STAT_BY_NAME_RESPONSE))
    assert stats["total"] > 0 and stats["data"]


def test_cmon_sd_targets_from_cluster_hosts(cmon):
    """cmon-sd (cmon_sd.go) turns getAllClusterInfo hosts into Prometheus targets by
    class_name / nodetype, hostname and port."""
    client = proxy(cmon)
    info = client.get_all_cluster_info(with_hosts=True)
    targets = []
    for cluster in info["clusters"]:
        for host in cluster["hosts"]:
            if host["nodetype"] == "controller":
                continue
            port = int(host["port"]) if host.get("port") not in (None, "") else 0
            targets.append((cluster["cluster_id"], host["class_name"], host["nodetype"],
                            f"{host['hostname']}:{port}"))
    classes = {t[1] for t in targets}
    assert {"CmonGaleraHost", "CmonMySqlHost", "CmonPostgreSqlHost", "CmonMongoHost",
            "CmonRedisHost"} <= classes
    assert all(t[2] and ":" in t[3] and not t[3].endswith(":0") for t in targets)
