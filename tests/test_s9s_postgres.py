"""What s9s sends in s9s-tools' PostgreSQL, MongoDB and SQL Server scripts
(ft_pgbouncer_postgresql, ft_mssqlsingleserver, ft_postgresql...), replayed over TLS.

Each test replays the requests of the s9s commands a script runs and asserts what the
script reads from the replies (the node list s9s prints, exit codes from
``request_status``, the job's end state).
"""

from __future__ import annotations

from typing import Any

import pytest

from test_s9s_deploy import (
    CLUSTERS, HOST, create_cluster, job_log, make_user, run_job, s9s,
)
from test_s9s_functional import fails, ok

pytestmark = [pytest.mark.cmon_world("../fixtures/fresh.yaml"), pytest.mark.fakecmon_strict]


def nodes_of(client: Any, cluster_id: int = 1) -> list[dict[str, Any]]:
    """``node --list --long``: the hosts of getAllClusterInfo, controller left out."""
    clusters = ok(client.call(CLUSTERS, "getAllClusterInfo", with_hosts=True))["clusters"]
    return [h for c in clusters if c["cluster_id"] == cluster_id for h in c["hosts"]
            if h["nodetype"] != "controller"]


def test_postgresql_cluster_with_a_pgbouncer_on_the_same_host(cmon):
    """ft_pgbouncer_postgresql createCluster: ``--nodes="HOST;PgBouncer://HOST"`` sends the
    host twice, the second with ``class_name: CmonPgBouncerHost``: the cluster gets a
    PostgreSQL node and a PgBouncer (port 6432) on that host (pgbouncer_node_name greps
    the 'b' rows). ``node --unregister --nodes=PgBouncer://HOST:6432`` takes it out,
    ``node --register --nodes=PgBouncer://HOST`` (a pgbouncer job, action register)
    takes it in again."""
    make_user(cmon)
    me = s9s(cmon)
    job = create_cluster(cmon, me, cluster_name="pgb", cluster_type="postgresql_single",
                         type="postgresql", vendor="", version="11",
                         postgre_user="postmaster", postgre_password="passwd12",
                         nodes=[{"hostname": "127.0.100.12"},
                                {"class_name": "CmonPgBouncerHost",
                                 "hostname": "127.0.100.12"}])
    assert job["status"] == "FINISHED", job
    assert [(h["class_name"], h["port"], h["role"]) for h in nodes_of(me)] == [
        ("CmonPostgreSqlHost", 5432, "master"), ("CmonPgBouncerHost", 6432, "pgbouncer")]
    bouncer = {"class_name": "CmonPgBouncerHost", "hostname": "127.0.100.12", "port": 6432}
    ok(me.call(HOST, "unregisterHost", host=bouncer))
    assert [h["class_name"] for h in nodes_of(me)] == ["CmonPostgreSqlHost"]
    registered = run_job(cmon, me, "pgbouncer", {
        "action": "register", "nodes": [{"class_name": "CmonPgBouncerHost",
                                         "hostname": "127.0.100.12"}]},
        title="Register PgBouncer Node", cluster_id=1)
    assert registered["status"] == "FINISHED", registered
    assert [(h["class_name"], h["port"], h["hoststatus"]) for h in nodes_of(me)] == [
        ("CmonPostgreSqlHost", 5432, "CmonHostOnline"),
        ("CmonPgBouncerHost", 6432, "CmonHostOnline")]
    again = run_job(cmon, me, "pgbouncer", {
        "action": "register", "nodes": [{"class_name": "CmonPgBouncerHost",
                                         "hostname": "127.0.100.12"}]}, cluster_id=1)
    assert again["status"] == "FAILED"                   # it is there already


def test_mssql_database_is_created_but_accounts_are_not_managed(cmon):
    """ft_mssqlsingleserver testCreateDatabase: ``cluster --create-database`` on an
    mssql_single cluster succeeds (exit code 0) and the database is listed; CMON manages
    no accounts of SQL Server clusters (``account --list`` is refused)."""
    make_user(cmon)
    me = s9s(cmon)
    job = create_cluster(cmon, me, cluster_name="ms", cluster_type="mssql_single",
                         vendor="mssql", db_user="SQLServerAdmin", db_password="S9ss9ss9s_",
                         nodes=[{"hostname": "127.0.100.12"}])
    assert job["status"] == "FINISHED", job
    ok(me.call(CLUSTERS, "createDatabase", cluster_id=1, database={
        "class_name": "CmonDataBase", "database_name": "testCreateDatabase",
        "database_owner": ""}))
    info = ok(me.call(CLUSTERS, "getAllClusterInfo", with_databases=True))["clusters"][0]
    assert [d["database_name"] for d in info["databases"]] == ["testCreateDatabase"]
    assert "not managed" in fails(me.call(CLUSTERS, "getAccounts", cluster_id=1),
                                  2)["error_string"]


def test_postgresql_account_created_again_alters_the_role(cmon):
    """ft_postgresql_1 testCreateAccount04/05: ``cluster --create-account
    --account=user04:password04@0.0.0.0/32`` twice, the second time with more privileges:
    on PostgreSQL the second one succeeds and the role has both sets of privileges
    (``account --list --long user04``); on MySQL the second one is refused."""
    make_user(cmon)
    me = s9s(cmon)
    create_cluster(cmon, me, cluster_name="pg", cluster_type="postgresql_single",
                   version="10", nodes=[{"hostname": "127.0.100.12", "port": 8089}])

    def create(cid: int, grants: str) -> dict[str, Any]:
        return me.call(CLUSTERS, "createAccount", cluster_id=cid, account={
            "class_name": "CmonAccount", "user_name": "user04", "password": "password04",
            "host_allow": "0.0.0.0/32", "grants": grants})

    ok(create(1, "testcreatedatabase:CREATE,CONNECT"))
    ok(create(1, "CREATEDB,REPLICATION,SUPER;testcreatedatabase:CREATE,CONNECT"))
    found = [a for a in ok(me.call(CLUSTERS, "getAccounts", cluster_id=1))["accounts"]
             if a["user_name"] == "user04"]
    assert len(found) == 1
    assert "testcreatedatabase:CREATE,CONNECT" in found[0]["grants"]
    assert "REPLICATION" in found[0]["grants"]
    create_cluster(cmon, me, cluster_name="my", cluster_type="replication", vendor="percona",
                   version="8.0", nodes=[{"hostname": "127.0.100.20", "port": 3306}])
    ok(create(2, "db1.*:ALL"))
    assert "already exists" in fails(create(2, "db1.*:ALL"), 2)["error_string"]


def test_mongodb_shards_with_config_servers_and_routers(cmon):
    """ft_mongodb_shards createCluster: ``--nodes="mongodb://A;mongodb://B;
    mongodb://C?rs=replset_2;...;mongocfg://E;mongos://E"`` sends ``rs`` and ``protocol``
    in the nodes and the version as ``mongodb_version``: each replica set has its
    primary, the config server (27019) and the router (27017) on one host are two nodes,
    the cluster and its nodes have the version asked for, and the ``--db-admin``
    (``mongodb_user``) is an account. ``cluster --add-node --nodes=mongodb://F?rs=...``
    (addnode, ``node_type: mongodb``) adds a secondary ``mongo`` node."""
    make_user(cmon)
    me = s9s(cmon)
    nodes = [{"hostname": "127.0.100.12"}, {"hostname": "127.0.100.13"},
             {"hostname": "127.0.100.14", "rs": "replset_2"},
             {"hostname": "127.0.100.15", "rs": "replset_2"},
             {"hostname": "127.0.100.16", "protocol": "MongoCfg"},
             {"hostname": "127.0.100.16", "protocol": "Mongos"}]
    job = create_cluster(cmon, me, cluster_name="mg", cluster_type="mongodb", vendor="10gen",
                         mongodb_version="5.0", mongodb_user="admin", mongodb_password="pw",
                         deploy_agents=True, nodes=nodes)
    assert job["status"] == "FINISHED", job
    assert [(h["hostname"], h["port"], h["role"], h["nodetype"], h["version"])
            for h in nodes_of(me)] == [
        ("127.0.100.12", 27017, "primary", "mongo", "5.0"),
        ("127.0.100.13", 27017, "secondary", "mongo", "5.0"),
        ("127.0.100.14", 27017, "primary", "mongo", "5.0"),
        ("127.0.100.15", 27017, "secondary", "mongo", "5.0"),
        ("127.0.100.16", 27019, "configsvr", "mongo", "5.0"),
        ("127.0.100.16", 27017, "mongos", "mongo", "5.0")]
    cluster = ok(me.call(CLUSTERS, "getAllClusterInfo"))["clusters"][0]
    assert (cluster["vendor"], cluster["version"]) == ("10gen", "5.0")
    accounts = ok(me.call(CLUSTERS, "getAccounts", cluster_id=1))["accounts"]
    assert "admin" in [a["user_name"] for a in accounts]
    added = run_job(cmon, me, "addnode", {
        "hostname": "127.0.100.18", "replicaset": "replset_2", "node_type": "mongodb",
        "install_software": True, "disable_firewall": True, "disable_selinux": True},
        title="Add Node to Cluster", cluster_id=1)
    assert added["status"] == "FINISHED", added
    new = [h for h in nodes_of(me) if h["hostname"] == "127.0.100.18"]
    assert [(h["port"], h["role"], h["nodetype"], h["class_name"]) for h in new] == [
        (27017, "secondary", "mongo", "CmonMongoHost")]


def test_postgresql_with_timescaledb(cmon):
    """ft_timescaledb testCreateCluster: ``cluster --create --with-timescaledb`` sends
    ``install_timescaledb``; the job installs the extension on the node (its log says
    so) and the cluster is a PostgreSQL one."""
    make_user(cmon)
    me = s9s(cmon)
    job = create_cluster(cmon, me, cluster_name="ts", cluster_type="postgresql_single",
                         type="postgresql", vendor="", version="12",
                         install_timescaledb=True, postgre_user="postmaster",
                         postgre_password="passwd12",
                         nodes=[{"hostname": "127.0.100.12", "port": 8089}])
    assert job["status"] == "FINISHED", job
    assert "127.0.100.12:8089: Installing the TimescaleDB extension." in job_log(
        me, job["job_id"])
    cluster = ok(me.call(CLUSTERS, "getAllClusterInfo"))["clusters"][0]
    assert (cluster["cluster_type"], cluster["version"]) == ("POSTGRESQL_SINGLE", "12")


def test_postgresql_simple_add_slave_and_stat_as_s9s_sends_them(cmon):
    """ft_postgresqlsimple testAddNode and testCreateCluster's ``cluster --stat``: the
    add_replication_slave job_data carries ``disable_firewall``/``disable_selinux``
    (the job logs them), getAllClusterInfo carries ``all_pool`` and ``with_containers``;
    both are part of the request contract (the strict plugin finds nothing)."""
    make_user(cmon)
    me = s9s(cmon)
    create_cluster(cmon, me, cluster_name="pg", cluster_type="postgresql_single",
                   type="postgresql", vendor="", version="10",
                   nodes=[{"hostname": "127.0.100.12", "port": 8089}])
    added = run_job(cmon, me, "add_replication_slave", {
        "disable_firewall": True, "disable_selinux": True, "install_software": True,
        "master_address": "127.0.100.12", "slave_address": "127.0.100.13"},
        title="Add Slave to Cluster", cluster_id=1)
    assert added["status"] == "FINISHED", added
    assert "disable_selinux: True" in job_log(me, added["job_id"])
    stat = ok(me.call(CLUSTERS, "getAllClusterInfo", all_pool=False, with_hosts=True,
                      with_sheet_info=True, with_containers=False, with_databases=False))
    assert [(h["hostname"], h["role"]) for h in stat["clusters"][0]["hosts"]
            if h["nodetype"] == "postgres"] == [("127.0.100.12", "master"),
                                                ("127.0.100.13", "slave")]
