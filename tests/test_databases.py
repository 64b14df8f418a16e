"""/v2/clusters accounts, databases, SQL processes, top queries and package upgrades."""

from __future__ import annotations

import re

from areautil import RFC3339, login, replay, set_host_status

C = "/v2/clusters"
ELAPSED = re.compile(r"^\d{2,}:\d\d:\d\d\.\d{6}$")


def accounts(client, cluster_id, **fields):
    reply = client.call(C, "getAccounts", cluster_id=cluster_id, **fields)
    assert reply["request_status"] == "Ok", reply
    return reply


def names(client, cluster_id):
    return [(a["user_name"], a["host_allow"]) for a in accounts(client, cluster_id)["accounts"]]


def test_accounts_of_the_default_world(system):
    reply = accounts(system, 1)
    assert reply["total"] == len(reply["accounts"])
    assert ("shop_app", "10.0.9.%") in names(system, 1) and ("cmon", "192.168.20.10") in \
        names(system, 1)
    for a in reply["accounts"]:
        assert a["class_name"] == "CmonAccount" and isinstance(a["system_user"], bool)
        for key in ("max_connections", "max_questions", "max_updates", "max_user_connections",
                    "connections"):
            assert type(a[key]) is int
        assert a["password"].startswith("*") and len(a["password"]) == 41   # mysql_native hash
    pg = accounts(system, 3)["accounts"]
    assert all(a["password"].startswith("md5") for a in pg)
    paged = accounts(system, 1, limit=2, offset=1)
    assert paged["accounts"] == reply["accounts"][1:3] and paged["total"] == reply["total"]


def test_create_grant_revoke_delete_account(system):
    created = system.call(C, "createAccount", cluster_id=1, account={
        "class_name": "CmonAccount", "user_name": "report", "password": "r3p",
        "host_allow": "10.0.%", "grants": "shop.*:SELECT;inventory.*:SELECT,INSERT"})
    assert created["request_status"] == "Ok"
    assert created["messages"] == ["Account 'report' created.",
                                   "Grant processed: GRANT SELECT ON shop.* TO 'report'",
                                   "Grant processed: GRANT SELECT, INSERT ON inventory.* TO "
                                   "'report'"]
    listed = next(a for a in accounts(system, 1)["accounts"] if a["user_name"] == "report")
    assert listed["grants"] == "shop.*:SELECT;inventory.*:SELECT,INSERT"
    assert system.call(C, "createAccount", cluster_id=1, account={
        "user_name": "report", "host_allow": "10.0.%"})["request_status"] == "InvalidRequest"
    granted = system.call(C, "grantPrivileges", cluster_id=1,
                          account={"user_name": "report"}, privileges="shop.*:UPDATE")
    assert granted["request_status"] == "Ok"
    revoked = system.call(C, "revokePrivileges", cluster_id=1,
                          account={"user_name": "report"}, privileges="inventory.*:INSERT")
    assert revoked["request_status"] == "Ok"
    listed = next(a for a in accounts(system, 1)["accounts"] if a["user_name"] == "report")
    assert listed["grants"] == "shop.*:SELECT,UPDATE;inventory.*:SELECT"
    assert system.call(C, "revokeAllPrivileges", cluster_id=1,
                       account={"user_name": "report"})["request_status"] == "Ok"
    assert next(a for a in accounts(system, 1)["accounts"]
                if a["user_name"] == "report")["grants"] == ""
    deleted = system.call(C, "deleteAccount", cluster_id=1, account={"user_name": "report"})
    assert deleted["request_status"] == "Ok"
    assert "report" not in [n for n, _ in names(system, 1)]
    missing = system.call(C, "deleteAccount", cluster_id=1, account={"user_name": "report"})
    assert missing["request_status"] == "ObjectNotFound"


def test_system_accounts_need_force(system):
    refused = system.call(C, "deleteAccount", cluster_id=1,
                          account={"user_name": "cmon", "host_allow": "192.168.20.10"})
    assert refused["request_status"] == "InvalidRequest"
    forced = system.call(C, "deleteAccount", cluster_id=1, force_delete=True,
                         account={"user_name": "cmon", "host_allow": "192.168.20.10"})
    assert forced["request_status"] == "Ok"


def test_account_permissions_and_bad_input(cmon, reader, system):
    assert accounts(reader, 1)["total"] > 0
    denied = reader.call(C, "createAccount", cluster_id=1, account={"user_name": "x"})
    assert denied["request_status"] == "AccessDenied"
    bad = system.call(C, "createAccount", cluster_id=1, account={"user_name": "x",
                                                                 "grants": "*.*:DROP;;x:1$"})
    assert bad["request_status"] == "InvalidRequest"
    assert "x" not in [n for n, _ in names(system, 1)]
    assert system.call(C, "getAccounts", cluster_id=5)["request_status"] == "InvalidRequest"
    stopped = system.call(C, "createAccount", cluster_id=4, account={"user_name": "y"})
    assert stopped["request_status"] == "Ok"          # mongo: 2 of 3 nodes online
    for host in ("10.0.4.41", "10.0.4.42"):
        set_host_status(cmon, 4, host, "CmonHostOffLine")
    down = system.call(C, "createAccount", cluster_id=4, account={"user_name": "z"})
    assert down["request_status"] == "InvalidRequest" and "reachable" in down["error_string"]


def test_databases(system):
    info = system.call(C, "getClusterInfo", cluster_id=1, with_databases=True)["cluster"]
    assert [d["database_name"] for d in info["databases"]] == ["shop", "inventory"]
    for d in info["databases"]:
        for key in ("cluster_id", "database_id", "database_size", "number_of_tables",
                    "owner_user_id", "owner_group_id", "version"):
            assert type(d[key]) is int
    created = system.call(C, "createDatabase", cluster_id=1,
                          database={"class_name": "CmonDataBase", "database_name": "ledger"})
    assert created["request_status"] == "Ok"
    assert created["database"] == {"class_name": "CmonDataBase", "owner_user_id": 1,
                                   "owner_group_id": 1, "database_name": "ledger"}
    again = system.call(C, "getAllClusterInfo", with_databases=True)["clusters"]
    galera = next(c for c in again if c["cluster_id"] == 1)
    assert [d["database_name"] for d in galera["databases"]] == ["shop", "inventory", "ledger"]
    assert all(isinstance(c["databases"], list) for c in again)
    dup = system.call(C, "createDatabase", cluster_id=1, database={"database_name": "ledger"})
    assert dup["request_status"] == "InvalidRequest"
    bad = system.call(C, "createDatabase", cluster_id=1, database={"database_name": "a/b"})
    assert bad["request_status"] == "InvalidRequest"


def test_captures(cmon, system, contract):
    replay(system, contract, "Ok-createAccount", C, cluster_name="galera-prod")
    replay(system, contract, "Ok-createDatabase", C, cluster_name="galera-prod")
    dba = login(cmon, "dba", "dba-pass")        # may not see cluster 1, like grumio
    replay(dba, contract, "InvalidRequest-getAccounts", C)
    replay(dba, contract, "InvalidRequest-createDatabase", C)


def test_sql_processes(cmon, system):
    reply = system.call(C, "getSqlProcesses", cluster_id=1, limit=100, offset=0)
    assert reply["request_status"] == "Ok" and reply["processes"]
    for p in reply["processes"]:
        for key in ("currentTime", "duration", "host_id", "lastseen", "mysql_trx_id", "pid",
                    "report_ts", "time"):
            assert type(p[key]) is int, key
        for key in ("client", "command", "db", "host", "hostname", "info", "instance", "query",
                    "state", "user", "userName", "blocked_by_trx_id", "innodb_trx_id"):
            assert isinstance(p[key], str), key
        assert ELAPSED.match(p["elapsedTime"])
    hosts = {p["hostname"] for p in reply["processes"]}
    assert hosts == {"10.0.1.11", "10.0.1.12", "10.0.1.13"}       # not the haproxy
    set_host_status(cmon, 1, "10.0.1.13", "CmonHostOffLine")
    later = system.call(C, "getSqlProcesses", cluster_id=1)["processes"]
    assert "10.0.1.13" not in {p["hostname"] for p in later}
    pg = system.call(C, "getSqlProcesses", cluster_id=3)["processes"]
    assert {p["class_name"] for p in pg} == {"CmonPostgreSqlProcess"}
    assert system.call(C, "getSqlProcesses", cluster_id=5)["processes"] == []
    limited = system.call(C, "getSqlProcesses", cluster_id=1, limit=2)
    assert len(limited["processes"]) == 2


def test_top_queries(cmon, system):
    reply = system.call(C, "getTopQueries", cluster_id=1, limit=5, offset=0)
    assert reply["request_status"] == "Ok" and reply["total"] >= 5 == len(reply["digests"])
    for d in reply["digests"]:
        assert RFC3339.match(d["dtFirstSeen"]) and RFC3339.match(d["dtLastSeen"])
        assert d["dtFirstSeen"] <= d["dtLastSeen"]
        assert type(d["count"]) is int and type(d["affectedRows"]) is int
        for key in ("waitMillisAvg", "waitMillisMax", "waitMillisMin", "waitMillisSum"):
            assert isinstance(d[key], float)
    sums = [d["waitMillisSum"] for d in reply["digests"]]
    assert sums == sorted(sums, reverse=True)
    before = {(d["instance"], d["statementPattern"]): d["count"] for d in reply["digests"]}
    cmon.advance(3600)
    after = system.call(C, "getTopQueries", cluster_id=1, limit=500)["digests"]
    grown = [d["count"] > before[(d["instance"], d["statementPattern"])] for d in after
             if (d["instance"], d["statementPattern"]) in before]
    assert len(grown) == 5 and all(grown)
    only = system.call(C, "getTopQueries", cluster_id=1, filterStrings=["inventory"])["digests"]
    assert only and all("inventory" in d["statementPattern"] for d in only)
    dba = login(cmon, "dba", "dba-pass")
    assert dba.call(C, "getTopQueries", cluster_id=1)["request_status"] == "InvalidRequest"


def test_available_upgrades(cmon, system):
    reply = system.call(C, "availableUpgrades", cluster_id=21)
    assert reply["request_status"] == "Ok" and reply["total"] == 3
    first = reply["packages"][0]
    assert first == {**first, "host_name": "192.168.20.51", "package_name": "mariadb-server",
                     "installed_version": "10.11.8-MariaDB-log",
                     "available_version": "10.11.10-MariaDB-log"}
    assert RFC3339.match(first["last_updated"])
    one = system.call(C, "availableUpgrades", cluster_id=21, nodes=["192.168.20.52"])
    assert [p["host_name"] for p in one["packages"]] == ["192.168.20.52"]
