"""What s9s sends in s9s-tools' MySQL-family scripts (ft_backup, ft_backup_ndb, ft_galera*,
ft_mysqlreplication*, ft_ndb...), replayed over TLS: the reply fields the scripts check.

Each test replays the requests of the s9s commands a script runs, as
``tests/test_s9s_deploy.py`` does, and asserts what the script reads back.
"""

from __future__ import annotations

from typing import Any

import pytest

from test_s9s_deploy import (
    CLUSTERS, HOST, create_cluster, create_galera, make_user, register, run_job, s9s,
)
from test_s9s_functional import S9s, ok

pytestmark = [pytest.mark.cmon_world("../fixtures/fresh.yaml"), pytest.mark.fakecmon_strict]

BACKUP = "/v2/backup/"


def backup_files(client: S9s, backup_id: int) -> list[str]:
    """``backup --list-files --full-path --backup-id=N``: root_dir + each file's path."""
    records = ok(client.call(BACKUP, "getBackups", ascending=False))["backup_records"]
    record = next(r for r in records if r["id"] == backup_id)
    return [f"{record['root_dir'].rstrip('/')}/{f['path']}"
            for entry in record["backup"] for f in entry["files"]]


def test_subdirectory_markup_and_a_file_per_database(cmon):
    """ft_backup testCreateBackup01: ``--subdirectory="backup-%03i-%04I"
    --to-individual-files`` (no method: mysqldump is the one that writes a file per
    database) lands in /tmp/backup-001-0001, with a directory per database."""
    make_user(cmon)
    me = s9s(cmon)
    create_galera(cmon, me, "galera_001", ["127.0.100.12"])
    ok(me.call("/v2/clusters/", "createDatabase", cluster_id=1, database={
        "class_name": "CmonDataBase", "database_name": "testCreateDatabase"}))
    job = run_job(cmon, me, "backup", {
        "hostname": "127.0.100.12", "backupdir": "/tmp", "backupsubdir": "backup-%03i-%04I",
        "backup_individual_schemas": True, "use_pigz": True, "xtrabackup_parallellism": 5,
        "encrypt_backup": True, "compression": True,
        "backup_title": "Backup created by 'ft_backup.sh'"}, cluster_id=1)
    assert job["status"] == "FINISHED", job
    files = backup_files(me, 1)
    assert [f for f in files if f.startswith("/tmp/backup-001-0001/testCreateDatabase/")]
    assert [f for f in files if f.startswith("/tmp/backup-001-0001/mysql/")]
    record = ok(me.call(BACKUP, "getBackups"))["backup_records"][0]
    assert record["method"] == "mysqldump"
    assert record["config"]["backupToIndividualFiles"] is True
    # The same pattern twice: the backup id differs, so does the directory.
    again = run_job(cmon, me, "backup", {"hostname": "127.0.100.12", "backupdir": "/tmp",
                                         "backupsubdir": "backup-%03i-%04I"}, cluster_id=1)
    assert again["status"] == "FINISHED"
    assert backup_files(me, 2)[0].startswith("/tmp/backup-001-0002/")


def test_fixed_subdirectory_with_markup_is_not_written_over(cmon):
    """A pattern without %I, %J or %B names one directory: the second backup fails."""
    make_user(cmon)
    me = s9s(cmon)
    create_galera(cmon, me, "galera_001", ["127.0.100.12"])
    data = {"hostname": "127.0.100.12", "backupdir": "/tmp", "backupsubdir": "c%02i-%M"}
    assert run_job(cmon, me, "backup", data, cluster_id=1)["status"] == "FINISHED"
    assert backup_files(me, 1)[0].startswith("/tmp/c01-xtrabackupfull/")
    assert run_job(cmon, me, "backup", data, cluster_id=1)["status"] == "FAILED"


def test_ndb_backup_has_files_of_every_data_node(cmon):
    """ft_backup_ndb testCreateBackup01: a backup of an NDB cluster (default method: ndb)
    lists at least two files under /tmp/BACKUP-1/: each data node's files."""
    make_user(cmon)
    me = s9s(cmon)
    job = create_cluster(cmon, me, cluster_name="ndb", cluster_type="ndb", vendor="oracle",
                         version="8.0", mysql_hostnames=["127.0.100.12", "127.0.100.13"],
                         mgmd_hostnames=["127.0.100.12", "127.0.100.13"],
                         ndbd_hostnames=["127.0.100.14", "127.0.100.15"])
    assert job["status"] == "FINISHED", job
    backup = run_job(cmon, me, "backup", {"hostname": "127.0.100.12", "port": 3306,
                                          "backupdir": "/tmp", "use_pigz": True}, cluster_id=1)
    assert backup["status"] == "FINISHED", backup
    files = [f for f in backup_files(me, 1) if f.startswith("/tmp/BACKUP-1/")]
    assert len(files) >= 2
    assert "/tmp/BACKUP-1/BACKUP-1.3.ctl" in files and "/tmp/BACKUP-1/BACKUP-1-0.4.Data" in files


def hosts_of(client: S9s, nodetype: str) -> list[dict[str, Any]]:
    """``node --list --long``: the cluster's nodes of a type."""
    return [h for h in ok(client.call(CLUSTERS, "getAllClusterInfo", with_hosts=True))[
        "clusters"][0]["hosts"] if h["nodetype"] == nodetype]


def test_maxscale_in_a_new_container_follows_it(cmon):
    """ft_maxscale: ``cluster --add-node --nodes=maxscale://C --containers=C`` makes the
    container and puts MaxScale (port 6603) on its address; ``container --stop C`` takes
    the node off line, ``--start`` brings it back; ``node --unregister
    --nodes=maxscale://IP:6603`` removes it, ``node --register`` (action register) adds it
    again; ``node --stop --nodes=maxscale://IP:6603`` shuts it down."""
    make_user(cmon)
    me = s9s(cmon)
    ok(register(me, "127.0.100.250"))
    create_galera(cmon, me, "galera_001", ["127.0.100.12"])
    container = {"class_name": "CmonContainer", "alias": "ms_19", "template": "ubuntu"}
    added = run_job(cmon, me, "maxscale", {
        "action": "setupMaxScale", "containers": [container],
        "nodes": [{"class_name": "CmonMaxScaleHost", "hostname": "ms_19"}]},
        title="Add MaxScale to Cluster", cluster_id=1)
    assert added["status"] == "FINISHED", added
    address = ok(me.call(HOST, "getContainers"))["containers"][0]["ip"]
    (node,) = hosts_of(me, "maxscale")
    assert (node["hostname"], node["port"], node["hoststatus"]) == (
        address, 6603, "CmonHostOnline")
    alias = {"class_name": "CmonContainer", "alias": "ms_19"}
    assert run_job(cmon, me, "stop_container", {"container": alias})["status"] == "FINISHED"
    assert hosts_of(me, "maxscale")[0]["hoststatus"] == "CmonHostOffLine"
    assert run_job(cmon, me, "start_container", {"container": alias})["status"] == "FINISHED"
    assert hosts_of(me, "maxscale")[0]["hoststatus"] == "CmonHostOnline"
    where = {"class_name": "CmonMaxScaleHost", "hostname": address, "port": 6603}
    stopped = run_job(cmon, me, "stop", {"node": where}, cluster_id=1)
    assert stopped["status"] == "FINISHED", stopped
    assert hosts_of(me, "maxscale")[0]["hoststatus"] == "CmonHostShutDown"
    ok(me.call(HOST, "unregisterHost", host=where))
    assert hosts_of(me, "maxscale") == []
    again = run_job(cmon, me, "maxscale", {"action": "register", "nodes": [
        {"class_name": "CmonMaxScaleHost", "hostname": address}]},
        title="Register MaxScale Node", cluster_id=1)
    assert again["status"] == "FINISHED", again
    assert [(h["hostname"], h["port"]) for h in hosts_of(me, "maxscale")] == [(address, 6603)]


def test_proxysql_in_a_stopped_container_failed_a_stopped_node_stays_down(cmon):
    """ft_proxysql testStopProxySql: ``container --stop`` under ProxySQL: CMON, watching it
    through its admin port, sees it failed; ``--start`` brings it back. A node shut down
    before its container stops stays down when the container starts
    (ft_mysqlreplicationstartstop: the cluster is started afterwards)."""
    make_user(cmon)
    me = s9s(cmon)
    ok(register(me, "127.0.100.250"))
    create_galera(cmon, me, "galera_001", ["127.0.100.12", "127.0.100.13"])
    added = run_job(cmon, me, "proxysql", {
        "action": "setupProxySql", "containers": [
            {"class_name": "CmonContainer", "alias": "px_9", "template": "ubuntu"}],
        "nodes": [{"class_name": "CmonProxySqlHost", "hostname": "px_9", "port": 6032}]},
        cluster_id=1)
    assert added["status"] == "FINISHED", added
    alias = {"container": {"class_name": "CmonContainer", "alias": "px_9"}}
    run_job(cmon, me, "stop_container", alias)
    assert hosts_of(me, "proxysql")[0]["hoststatus"] == "CmonHostFailed"
    run_job(cmon, me, "start_container", alias)
    assert hosts_of(me, "proxysql")[0]["hoststatus"] == "CmonHostOnline"
    proxy = {"class_name": "CmonProxySqlHost", "hostname": hosts_of(me, "proxysql")[0][
        "hostname"], "port": 6032}
    assert run_job(cmon, me, "stop", {"node": proxy}, cluster_id=1)["status"] == "FINISHED"
    run_job(cmon, me, "stop_container", alias)
    run_job(cmon, me, "start_container", alias)
    assert hosts_of(me, "proxysql")[0]["hoststatus"] == "CmonHostShutDown"


def test_keepalived_needs_a_virtual_ip_and_an_interface(cmon):
    """ft_keepalived testAddKeepalivedFail / testAddKeepalived: the keepalived job fails
    without ``--virtual-ip`` or without ``--eth-interface``, and adds the nodes (port
    112) when both are given."""
    make_user(cmon)
    me = s9s(cmon)
    create_galera(cmon, me, "galera_001", ["127.0.100.12"])
    nodes = [{"class_name": "CmonKeepalivedHost", "hostname": f"127.0.100.{n}"}
             for n in (20, 21)]
    for vip, eth in (("192.168.42.10", ""), ("", "eth0")):
        failed = run_job(cmon, me, "keepalived", {"action": "setupKeepalived", "nodes": nodes,
                                                  "virtual_ip": vip, "eth_interface": eth},
                         cluster_name="galera_001")
        assert failed["status"] == "FAILED", failed
    assert hosts_of(me, "keepalived") == []
    added = run_job(cmon, me, "keepalived", {"action": "setupKeepalived", "nodes": nodes,
                                             "virtual_ip": "192.168.43.10",
                                             "eth_interface": "eth0"},
                    cluster_name="galera_001")
    assert added["status"] == "FINISHED", added
    assert [(h["hostname"], h["port"]) for h in hosts_of(me, "keepalived")] == [
        ("127.0.100.20", 112), ("127.0.100.21", 112)]


def test_galera_node_in_a_stopped_container_raises_a_critical_alarm(cmon):
    """ft_galera_lxc testAlarms: ``container --stop`` under a Galera node: the node is
    CmonHostOffLine, the cluster DEGRADED, ``alarm --stat`` counts a critical alarm (and
    ``metatype --list-properties --type=CmonAlarmStatistics`` names its fields); the
    container started again clears it all."""
    make_user(cmon)
    me = s9s(cmon)
    ok(register(me, "127.0.100.250"))
    names = ["gl_01", "gl_02"]
    job = create_cluster(cmon, me, cluster_name="gl", cluster_type="galera", vendor="mariadb",
                         version="10.2", containers=[{"class_name": "CmonContainer",
                                                      "alias": n} for n in names],
                         nodes=[{"hostname": n} for n in names])
    assert job["status"] == "FINISHED", job
    alias = {"container": {"class_name": "CmonContainer", "alias": "gl_02"}}

    def stats() -> dict[str, Any]:
        return ok(me.call("/v2/alarm/", "getStatistics", cluster_id=1))["alarm_statistics"][0]

    assert stats()["critical"] == 0
    run_job(cmon, me, "stop_container", alias)
    assert [h["hoststatus"] for h in hosts_of(me, "galera")] == [
        "CmonHostOnline", "CmonHostOffLine"]
    cluster = ok(me.call(CLUSTERS, "getAllClusterInfo"))["clusters"][0]
    assert cluster["state"] == "DEGRADED" and stats()["critical"] >= 1
    props = ok(me.call("/v2/metatype/", "getMetaTypeInfo", **{
        "type-name": "CmonAlarmStatistics"}))["metatype_info"]
    assert sorted(p["property_name"] for p in props) == [
        "cluster_id", "created_after", "critical", "reported_after", "warning"]
    run_job(cmon, me, "start_container", alias)
    cluster = ok(me.call(CLUSTERS, "getAllClusterInfo"))["clusters"][0]
    assert cluster["state"] == "STARTED" and stats()["critical"] == 0


def test_cluster_created_with_a_load_balancer_among_its_nodes(cmon):
    """ft_haproxy_create createCluster: ``cluster --create --nodes="C1;haProxy://C2"
    --containers="C1;C2"``: C2 is an HAProxy node (port 9600) of the new cluster, not a
    database node, and the database node is the first (primary) one."""
    make_user(cmon)
    me = s9s(cmon)
    ok(register(me, "127.0.100.250"))
    job = create_cluster(cmon, me, cluster_name="hc", cluster_type="galera", vendor="percona",
                         version="8.0", containers=[
                             {"class_name": "CmonContainer", "alias": n} for n in ("c1", "h1")],
                         nodes=[{"hostname": "c1"},
                                {"class_name": "CmonHaProxyHost", "hostname": "h1"}])
    assert job["status"] == "FINISHED", job
    (proxy,) = hosts_of(me, "haproxy")
    assert (proxy["class_name"], proxy["port"], proxy["hoststatus"]) == (
        "CmonHaProxyHost", 9600, "CmonHostOnline")
    assert [h["port"] for h in hosts_of(me, "galera")] == [3306]
    cluster = ok(me.call(CLUSTERS, "getAllClusterInfo"))["clusters"][0]
    assert cluster["state"] == "STARTED"
