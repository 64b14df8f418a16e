"""/v2/host (servers, containers, controllers, host changes) and /v2/reports."""

from __future__ import annotations

from areautil import RFC3339, login, replay

H, R = "/v2/host", "/v2/reports"
LXC = {"class_name": "CmonLxcServer", "hostname": "core4"}


def servers(client):
    reply = client.call(H, "getServers")
    assert reply["request_status"] == "Ok", reply
    assert reply["total"] == len(reply["servers"])
    return {s["hostname"]: s for s in reply["servers"]}


def test_servers_of_the_default_world(system):
    found = servers(system)
    assert list(found) == ["lxc-host-1"]
    s = found["lxc-host-1"]
    for key in ("hostId", "unique_id", "lastseen", "timestamp", "owner_user_id", "clusterid",
                "max_containers"):
        assert type(s[key]) is int, key
    assert s["ip"] == "192.168.20.100" and s["hoststatus"] == "CmonHostOnline"
    assert [c["alias"] for c in s["containers"]] == ["ci-runner-1", "ci-runner-2", "staging-db"]
    assert [c["status"] for c in s["containers"]] == ["RUNNING", "STOPPED", "RUNNING"]
    assert s["memory"]["memory_total_mb"] == sum(b["size"] for b in s["memory"]["banks"]) \
        // 1024 ** 2
    assert s["processors"] and s["disk_devices"] and s["network_interfaces"]


#: The fields of a server that follow the clock (two reads may straddle a second).
CLOCK_FIELDS = ("timestamp", "lastseen", "last_container_collect")


def without_clock(server: dict) -> dict:
    return {k: v for k, v in server.items() if k not in CLOCK_FIELDS}


def test_register_start_stop_unregister(system):
    reply = system.call(H, "registerServers", servers=[LXC])
    assert reply["request_status"] == "Ok" and reply["servers"][0]["hostname"] == "core4"
    assert set(servers(system)) == {"lxc-host-1", "core4"}
    first, again = servers(system)["core4"], servers(system)["core4"]   # stable hardware
    assert without_clock(first) == without_clock(again)
    twice = system.call(H, "registerServers", servers=[LXC])
    assert twice["request_status"] == "InvalidRequest"
    down = system.call(H, "shutdownServers", servers=[{"hostname": "lxc-host-1"}])
    assert down["request_status"] == "Ok"
    s = servers(system)["lxc-host-1"]
    assert s["hoststatus"] == "CmonHostShutDown" and {c["status"] for c in s["containers"]} == {
        "STOPPED"}
    system.call(H, "startServers", servers=[{"hostname": "lxc-host-1"}])
    assert servers(system)["lxc-host-1"]["hoststatus"] == "CmonHostOnline"
    gone = system.call(H, "unregisterServers", servers=[LXC])
    assert gone["messages"] == ["Unregistered server 'core4'."]
    assert set(servers(system)) == {"lxc-host-1"}
    again = system.call(H, "unregisterServers", servers=[LXC])
    assert again["request_status"] == "ObjectNotFound"
    odd = system.call(H, "registerServers", servers=[{**LXC, "hostname": "10.1.1.\u00b2"}])
    assert odd["request_status"] == "Ok"       # not an IPv4 address ("²".isdigit()): a name


def test_server_permissions(cmon, reader, system):
    # Registering takes write access to '/', which CMON gives everybody: a user whose
    # '/' is closed is denied; an ordinary user registers and owns the server.
    chmod = {"operation": "chmod", "path": "/", "acl": "rwxrwxr-x"}
    assert system.post("/v2/tree", chmod).json["request_status"] == "Ok"
    denied = reader.call(H, "registerServers", servers=[LXC])
    assert denied["request_status"] == "AccessDenied"
    assert denied["error_string"] == "Write access to '/' for user readeruser is denied."
    assert system.post("/v2/tree", dict(chmod, acl="rwxrwxrwx")).json["request_status"] == "Ok"
    mine = reader.call(H, "registerServers", servers=[LXC])["servers"][0]
    assert (mine["owner_user_name"], mine["owner_group_name"]) == ("readeruser", "readers")
    dba = login(cmon, "dba", "dba-pass")
    assert servers(dba) == {}                 # other::--- on the server
    hidden = dba.call(H, "unregisterServers", servers=[{"hostname": "lxc-host-1"}])
    assert (hidden["request_status"], hidden["error_string"]) == (
        "AccessDenied", "Server was not found.")          # CMON's words, access first
    acl = system.post(H, {"operation": "getAcl", "path": "/lxc-host-1"}).json
    assert (acl["object_name"], acl["acl"], acl["owner_user_name"]) == (
        "lxc-host-1", "user::rwx,group::rwx,other::---", "system")


def test_containers_and_controllers(system):
    reply = system.call(H, "getContainers")
    assert reply["total"] == 3 and {c["parent_server"] for c in reply["containers"]} == {
        "lxc-host-1"}
    assert all(type(c["memory_limit"]) is int for c in reply["containers"])
    ctl = system.call(H, "getControllers")
    assert ctl["total"] == 1 and ctl["controllers"][0]["hostname"] == "192.168.20.10"
    assert type(ctl["controllers"][0]["port"]) is int


def test_set_host_and_unregister_host(cmon, system, reader):
    changed = system.call(H, "setHost", hostname="10.0.2.23", port=3306,
                          properties={"alias": "reporting-replica", "tags": ["reporting"]})
    assert changed["request_status"] == "Ok"
    hosts = system.call("/v2/clusters", "getClusterInfo", cluster_id=2)["cluster"]["hosts"]
    replica = next(h for h in hosts if h["hostname"] == "10.0.2.23")
    assert (replica["alias"], replica["tags"]) == ("reporting-replica", ["reporting"])
    bad = system.call(H, "setHost", hostname="10.0.2.23", properties={"hoststatus": "x"})
    assert bad["request_status"] == "InvalidRequest"
    assert reader.call(H, "unregisterHost", cluster_id=2, host={"hostname": "10.0.2.23"})[
        "request_status"] == "AccessDenied"
    dry = system.call(H, "unregisterHost", cluster_id=2, dry_run=True,
                      host={"hostname": "10.0.2.23", "port": 3306})
    assert dry["request_status"] == "Ok"
    assert len(system.call("/v2/clusters", "getClusterInfo", cluster_id=2)["cluster"][
        "hosts"]) == 4
    done = system.call(H, "unregisterHost", cluster_id=2,
                       host={"hostname": "10.0.2.23", "port": 3306})
    assert done["request_status"] == "Ok"
    left = system.call("/v2/clusters", "getClusterInfo", cluster_id=2)["cluster"]["hosts"]
    assert "10.0.2.23" not in {h["hostname"] for h in left}
    alarms = system.call("/v2/alarm", "getAlarms", cluster_id=2)["alarms"]
    assert "10.0.2.23" not in {a["hostname"] for a in alarms if a["type_name"] != "ReplicationLag"}
    assert system.call(H, "unregisterHost", cluster_id=2, host={"hostname": "10.0.2.23"})[
        "request_status"] == "ObjectNotFound"


def test_host_captures(system, contract):
    replay(system, contract, "Ok-registerServers", H)
    replay(system, contract, "Ok-getServers", H)
    replay(system, contract, "Ok-unregisterServers", H)


# ---- reports

def generate(client, cluster_id, report_type="testreport", **extra):
    return client.call(R, "generateReport", cluster_id=cluster_id, report={
        "class_name": "CmonReport", "report_type": report_type, "recipients": "ops@example.com",
        "text_format": "AnsiTerminal", **extra})


def test_report_life_cycle(cmon, system):
    first = generate(system, 1)
    assert first["request_status"] == "Ok" and first["report"]["report_id"] == 1
    cmon.advance(60)
    second = generate(system, 4, "standard")
    text = second["report"]["content"]
    assert "mongo-rs0" in text and "10.0.4.43:27017" in text and "CmonHostOffLine" in text
    listed = system.call(R, "getReports")
    assert listed["total"] == 2
    assert [r["report_id"] for r in listed["reports"]] == [2, 1]
    for r in listed["reports"]:
        assert RFC3339.match(r["created"]) and isinstance(r["title"], str)
    assert system.call(R, "getReports", cluster_id=4)["total"] == 1
    got = system.call(R, "getReport", report={"report_id": 2})["report"]
    assert got["content"] == text and got["document"]["className"] == "CmonDocument"
    assert system.call(R, "deleteReport", report={"report_id": 2})["request_status"] == "Ok"
    missing = system.call(R, "getReport", report={"report_id": 2})
    assert (missing["request_status"], missing["error_string"]) == (
        "UnknownError", "Report with id 2 was not found.")
    wrong_cluster = system.call(R, "getReport", cluster_id=4, report={"report_id": 1})
    assert wrong_cluster["request_status"] == "UnknownError"
    unknown = generate(system, 1, "no-such-type")
    assert unknown["request_status"] == "InvalidRequest"
    superscript = system.call(R, "getReport", report={"report_id": "\u00b2"})  # isdigit(), not int()
    assert (superscript["request_status"], superscript["error_string"]) == (
        "InvalidRequest", "The 'report_id' field of the report has the wrong type.")


def test_report_permissions(cmon, reader, system):
    assert generate(reader, 1)["request_status"] == "AccessDenied"
    generate(system, 1)
    assert reader.call(R, "getReports")["total"] == 1
    dba = login(cmon, "dba", "dba-pass")
    assert dba.call(R, "getReports")["total"] == 0
    hidden = dba.call(R, "getReport", report={"report_id": 1})
    assert (hidden["request_status"], hidden["error_string"]) == (
        "ObjectNotFound", "Cluster was not found.")


def test_report_captures(cmon, system, contract):
    replay(system, contract, "Ok-getReportTemplates", R)
    replay(system, contract, "Ok-getReports", R)
    replay(system, contract, "UnknownError-getReport", R)
    replay(system, contract, "Ok-generateReport", R)
    replay(system, contract, "Ok-getReport", R)
    dba = login(cmon, "dba", "dba-pass")          # cluster 1 is hidden from dba
    replay(dba, contract, "ObjectNotFound-generateReport", R)
    replay(dba, contract, "ObjectNotFound-getReports", R)
    replay(dba, contract, "ObjectNotFound-getReport", R)
    replay(dba, contract, "ObjectNotFound-deleteReport", R)
    replay(system, contract, "Ok-deleteReport", R)
    assert system.call(R, "getReports")["total"] == 0
