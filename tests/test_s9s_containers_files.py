"""What s9s sends in s9s-tools' container, tree-file and save/restore scripts
(ft_cmon_cloud, ft_importconfig, ft_clustersave, ft_controllersave...), replayed over TLS.

As in ``tests/test_s9s_deploy.py``: each test sends the requests of the s9s commands a
script runs and asserts what the script checks, in the reply fields s9s prints from.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from fakecmon.testing import FakeCmon
from fakecmon.timefmt import rfc3339
from test_s9s_deploy import (CLUSTERS, HOST, ME, TREE, create_container, create_galera,
                             fails, make_user, ok, run_job, s9s, system, tree)
from test_s9s_functional import S9s

pytestmark = [pytest.mark.cmon_world("../fixtures/fresh.yaml"), pytest.mark.fakecmon_strict]


def create_server(cmon: FakeCmon, client: S9s, hostname: str) -> dict[str, Any]:
    """``server --create --servers=cmon-cloud://HOST --wait``."""
    return run_job(cmon, client, "create_container_server", {
        "disable_firewall": True, "disable_selinux": True, "install_software": True,
        "ssh_keyfile": "/home/pipas/.ssh/id_rsa",
        "server": {"class_name": "CmonCloudServer", "hostname": hostname,
                   "ssh_credentials": {"class_name": "CmonSshCredentials",
                                       "public_key_file": "/home/pipas/.ssh/id_rsa"}}},
        title="Create Container Server")


def cloud_server(hostname: str) -> list[dict[str, Any]]:
    """``--servers=cmon-cloud://HOST`` as s9s sends it to unregisterServers."""
    return [{"class_name": "CmonCloudServer", "hostname": hostname}]


def test_cmon_cloud_server_created_by_a_job_then_unregistered(cmon):
    """ft_cmon_cloud installCmonCloud: a container gets an address, ``server --create``
    on it registers a cmon-cloud server of the user (listed, on-line), and ``server
    --unregister`` finds it by that address."""
    make_user(cmon)
    me = s9s(cmon)
    ok(me.call(HOST, "registerServers", servers=[{"class_name": "CmonLxcServer",
                                                   "hostname": "vm"}]))
    made = create_container(cmon, me, "ft_cmon_cloud_ubuntu_focal_00")
    assert made["status"] == "FINISHED", made
    (container,) = ok(me.call(HOST, "getContainers"))["containers"]
    address = container["ip"]
    job = create_server(cmon, me, address)
    assert job["status"] == "FINISHED", job
    listed = ok(me.call(HOST, "getServers", servers=cloud_server(address)))["servers"]
    assert [(s["hostname"], s["class_name"], s["hoststatus"], s["owner_user_name"])
            for s in listed] == [(address, "CmonCloudServer", "CmonHostOnline", ME)]
    assert address in {i["item_name"] for i in tree(me)["sub_items"]}
    again = create_server(cmon, me, address)
    assert again["status"] == "FAILED"
    assert again["status_text"] == f"Server '{address}' is already registered."
    ok(me.call(HOST, "unregisterServers", servers=cloud_server(address)))
    assert [s["hostname"] for s in ok(me.call(HOST, "getServers"))["servers"]] == ["vm"]


def test_create_server_needs_a_host_name(cmon):
    job = run_job(cmon, system(cmon), "create_container_server",
                  {"server": {"class_name": "CmonCloudServer"}})
    assert job["status"] == "FAILED"
    assert "hostname" in job["status_text"]
    assert ok(system(cmon).call(HOST, "getServers"))["total"] == 0


# ---- ft_clustersavelocal, ft_controllersavelocal (and their postgres/multi wrappers)


def save_cluster(cmon: FakeCmon, client: S9s, folder: Path, name: str,
                 cluster_id: int | None = 1) -> dict[str, Any]:
    """``backup --save-cluster-info [--cluster-id=N] --backup-directory=D --output-file=F``."""
    body = {} if cluster_id is None else {"cluster_id": cluster_id}
    return run_job(cmon, client, "save_cluster", {
        "backupdir": str(folder), "output_file": name,
        "ssh_keyfile": "/home/pipas/.ssh/id_rsa"}, title="Save Cluster", **body)


def restore(cmon: FakeCmon, client: S9s, command: str, path: Path) -> dict[str, Any]:
    """``backup --restore-cluster-info|--restore-controller --input-file=F``."""
    return run_job(cmon, client, command, {"input_file": str(path),
                                           "ssh_keyfile": "/home/pipas/.ssh/id_rsa"})


def clusters(client: S9s) -> dict[str, dict[str, Any]]:
    found = ok(client.call(CLUSTERS, "getAllClusterInfo", with_hosts=True))["clusters"]
    return {c["cluster_name"]: c for c in found}


def drop(cmon: FakeCmon, client: S9s, cluster_id: int) -> None:
    assert run_job(cmon, client, "remove_cluster", {}, cluster_id=cluster_id)[
        "status"] == "FINISHED"


def test_cluster_saved_into_a_file_dropped_and_restored(cmon, tmp_path):
    """testSaveClusterFail, testSaveCluster, testDropCluster, testRestoreCluster."""
    root = system(cmon)
    assert create_galera(cmon, root, "galera_01", ["127.0.100.12"])["status"] == "FINISHED"
    ok(root.call("/v2/clusters/", "setConfig", cluster_id=1, configuration=[
        {"name": "ssh_port", "value": "2207"}]))
    target = tmp_path / "cmon-saved-clusters" / "ft_clustersavelocal_1.tgz"
    failed = save_cluster(cmon, root, target.parent, target.name, cluster_id=None)
    assert failed["status"] == "FAILED" and not target.exists()
    assert save_cluster(cmon, root, target.parent, target.name)["status"] == "FINISHED"
    with tarfile.open(target) as tar:
        names = set(tar.getnames())
        head = json.load(tar.extractfile("archive/archive.json"))
    assert {"archive/archive.json", "archive/cluster_1/cluster.json",
            "archive/cluster_1/clusterconfig.json", "archive/cluster_1/ssh-key.json"} <= names
    assert head["archive_type"] == "cluster"
    again = save_cluster(cmon, root, target.parent, target.name)
    assert again["status"] == "FAILED"            # an existing file is never overwritten
    drop(cmon, root, 1)
    assert restore(cmon, root, "restore_cluster", target)["status"] == "FINISHED"
    restored = clusters(root)["galera_01"]
    assert (restored["cluster_id"], restored["state"], restored["cluster_type"]) == (
        2, "STARTED", "GALERA")
    assert "127.0.100.12" in {h["hostname"] for h in restored["hosts"]}
    port = ok(root.call("/v2/clusters/", "getConfig", cluster_id=2))
    assert "2207" in json.dumps(port)
    twice = restore(cmon, root, "restore_cluster", target)
    assert twice["status"] == "FAILED" and len(clusters(root)) == 1
    missing = restore(cmon, root, "restore_cluster", tmp_path / "nothing.tgz")
    assert missing["status"] == "FAILED"


def test_controller_saved_with_its_working_folder_and_restored(cmon, tmp_path):
    """ft_controllersavelocal testSave (the tgz and the kept temp folder's files),
    testDropCluster, testRestore (the clusters are back, started, by name)."""
    make_user(cmon)
    me = s9s(cmon)
    assert create_galera(cmon, me, "galera_01", ["127.0.100.12"])["status"] == "FINISHED"
    assert create_galera(cmon, me, "galera_02", ["127.0.100.13"])["status"] == "FINISHED"
    temp, out = tmp_path / "cmon-temp-1", tmp_path / "saved"
    job = run_job(cmon, me, "save_controller", {
        "backupdir": str(out), "keep_temp_dir": True, "output_file": "c.tgz",
        "temp_dir_path": str(temp)}, title="Save Controller")
    assert job["status"] == "FINISHED", job
    for name in ("archive.json", "cmondb.sql", "controllerconfig.json",
                 "cluster_1/cluster.json", "cluster_1/clusterconfig.json",
                 "cluster_1/ssh-key.json", "cluster_2/cluster.json"):
        assert (temp / "archive" / name).is_file(), name
    assert (out / "c.tgz").is_file()
    drop(cmon, me, 1)
    drop(cmon, me, 2)
    assert restore(cmon, me, "restore_controller", out / "c.tgz")["status"] == "FINISHED"
    found = clusters(me)
    assert {n: (c["cluster_id"], c["state"]) for n, c in found.items()} == {
        "galera_01": (1, "STARTED"), "galera_02": (2, "STARTED")}   # the ids are kept
    assert found["galera_01"]["owner_user_name"] == ME
    # A saved controller is not a saved cluster.
    assert restore(cmon, me, "restore_cluster", out / "c.tgz")["status"] == "FAILED"


def csv_rows(client: S9s, path: str) -> list[list[str]]:
    """``tree --cat PATH`` read as ft_importconfig does: ``awk -F,`` with quotes removed."""
    text = ok(client.call("/v2/tree/", "cat", path=path))["file_content"]
    return [[field.replace('"', "") for field in line.split(",")]
            for line in text.splitlines() if line]


def test_imported_config_files_are_listed(cmon):
    """ft_importconfig testCreateGalera: after the deploy every row of
    ``/.runtime/files/config_files.csv`` is version 0.0.1, committed, of my.cnf or
    secrets-backup.cnf; config_versions.csv has the cluster's version."""
    root = system(cmon)
    assert csv_rows(root, "/.runtime/files/config_files.csv")[0][0] == "Version"
    assert create_galera(cmon, root, "galera_01", ["127.0.100.12"])["status"] == "FINISHED"
    header, *rows = csv_rows(root, "/.runtime/files/config_files.csv")
    assert header[:4] == ["Version", "Committed", "Host", "Path"]
    assert sorted((r[0], r[1], r[3]) for r in rows) == [
        ("0.0.1", "true", "/etc/mysql/my.cnf"), ("0.0.1", "true", "/etc/mysql/secrets-backup.cnf")]
    versions = csv_rows(root, "/.runtime/files/config_versions.csv")
    assert versions[0][0] == "Version" and versions[1][:3] == ["0.0.1", "1", "2"]


def test_container_with_unknown_cloud_subnet_or_image_is_refused(cmon):
    """ft_containers_lxc createFail: ``container --create --cloud=no_such_cloud``,
    ``--subnet-id=no_such_subnet``, ``--image=no_such_image`` fail; a known image
    (``--image=centos_7``, createCentos7) and the server's own subnet are taken."""
    make_user(cmon)
    me = s9s(cmon)
    ok(me.call(HOST, "registerServers", servers=[{"class_name": "CmonLxcServer",
                                                   "hostname": "vm"}]))

    def create(alias: str, **spec: Any) -> dict[str, Any]:
        return run_job(cmon, me, "create_containers", {"containers": [
            {"class_name": "CmonContainer", "alias": alias, **spec}]})

    assert create("c1", provider="no_such_cloud")["status"] == "FAILED"
    assert create("c2", subnet={"id": "no_such_subnet"})["status"] == "FAILED"
    assert create("c3", image="no_such_image")["status"] == "FAILED"
    assert ok(me.call(HOST, "getContainers"))["total"] == 0
    assert create("c4", image="centos_7", provider="lxc",
                  subnet={"id": "vm-br0"})["status"] == "FINISHED"
    (made,) = ok(me.call(HOST, "getContainers"))["containers"]
    assert (made["alias"], made["image"], made["subnet"]["id"]) == ("c4", "centos_7", "vm-br0")
    # ft_containers_lxc createServer: `server --create --servers=lxc://IP` is an LXC server.
    job = run_job(cmon, me, "create_container_server", {"server": {
        "class_name": "CmonLxcServer", "hostname": made["ip"]}})
    assert job["status"] == "FINISHED", job
    listed = ok(me.call(HOST, "getServers", servers=[{"hostname": made["ip"]}]))["servers"]
    assert [s["class_name"] for s in listed] == ["CmonLxcServer"]


def test_folders_and_files_inside_a_cluster_follow_it(cmon):
    """ft_scripts testUploadCluster: ``tree --mkdir /CLUSTER/tests``, ``tree --save
    /CLUSTER/tests/F`` and ``tree --access`` on it work; what is stored inside moves
    with the cluster; users, clusters and servers are never moved into a cluster."""
    root = system(cmon)
    assert create_galera(cmon, root, "ft_scripts_1", ["127.0.100.12"])["status"] == "FINISHED"
    ok(root.call(TREE, "mkdir", path="/ft_scripts_1/tests"))
    ok(root.call(TREE, "setContent", path="/ft_scripts_1/tests/imperative_cluster_001.js",
                 content="print(1);\n"))
    ok(root.call(TREE, "checkAccess", path="/ft_scripts_1/tests/imperative_cluster_001.js",
                 privileges="rwx"))
    names = {i["item_name"] for i in tree(root, "/ft_scripts_1")["sub_items"]}
    assert {"databases", "tests"} <= names
    ok(root.call(TREE, "mkdir", path="/home"))
    ok(root.call(TREE, "move", source_path="/ft_scripts_1", target_path="/home"))
    moved = ok(root.call(TREE, "cat", path="/home/ft_scripts_1/tests/imperative_cluster_001.js"))
    assert moved["file_content"] == "print(1);\n"
    acl = ok(root.call(TREE, "getAcl", path="/home/ft_scripts_1/tests"))
    assert (acl["object_path"], acl["object_name"]) == ("/home/ft_scripts_1", "tests")
    assert fails(root.call(TREE, "move", source_path="/admin",
                           target_path="/home/ft_scripts_1/tests"), 2)
    assert fails(root.call(TREE, "mkdir", path="/home/ft_scripts_1/databases/x"), 2)
    ok(root.call(TREE, "delete", path="/home/ft_scripts_1/tests/imperative_cluster_001.js"))
    ok(root.call(TREE, "rmdir", path="/home/ft_scripts_1/tests"))
    names = {i["item_name"] for i in tree(root, "/home/ft_scripts_1")["sub_items"]}
    assert "tests" not in names


def test_maintenance_mode_of_the_hosts_says_why(cmon):
    """ft_maintenance testCreateTwoPeriods: with periods of its first node, ``node --list
    --print-json`` shows that node's maintenance_mode as "host,cluster" and the other
    host of the cluster (the controller) as "cluster"; "none" once they are over."""
    root = system(cmon)
    assert create_galera(cmon, root, "galera_01", ["127.0.100.12"])["status"] == "FINISHED"

    def modes() -> list[tuple[str, str]]:
        (cluster,) = ok(root.call(CLUSTERS, "getAllClusterInfo", with_hosts=True))["clusters"]
        return [(h["hostname"], h["maintenance_mode"]) for h in cluster["hosts"]]

    assert {m for _, m in modes()} == {"none"}
    now = cmon.run(lambda c: c.clock.now())
    for reason, seconds in (("longer", 60), ("shorter", 10)):
        ok(root.call("/v2/maintenance/", "addMaintenance", hostname="127.0.100.12",
                     initiate=rfc3339(now), deadline=rfc3339(now + seconds), reason=reason))
    assert dict(modes()) == {"127.0.100.12": "host,cluster", "127.0.0.1": "cluster"}
    cmon.advance(61)
    assert {m for _, m in modes()} == {"none"}


def test_job_statistics_count_scheduled_jobs_and_are_described(cmon):
    """ft_maintenance testScheduledJob (include.sh check_job_statistics --check-metatype):
    CmonJobStatistics has the properties cluster_id and by_state (CmonAlarmStatistics
    its five); a scheduled job of the cluster is counted in by_state.SCHEDULED."""
    root = system(cmon)
    for type_name, names in (("CmonJobStatistics", {"cluster_id", "by_state"}),
                             ("CmonAlarmStatistics", {"cluster_id", "created_after", "critical",
                                                      "reported_after", "warning"})):
        info = ok(root.call("/v2/metatype/", "getMetaTypeInfo", type_name=type_name))
        assert {p["property_name"] for p in info["metatype_info"]} == names
    assert create_galera(cmon, root, "galera_01", ["127.0.100.12"])["status"] == "FINISHED"

    def by_state() -> dict[str, int]:
        (cluster,) = ok(root.call(CLUSTERS, "getAllClusterInfo"))["clusters"]
        return cluster["job_statistics"]["by_state"]

    assert "SCHEDULED" not in by_state()          # as CMON shows it: no such jobs
    when = rfc3339(cmon.run(lambda c: c.clock.now()) + 10)
    ok(root.call("/v2/jobs/", "createJobInstance", cluster_id=1, job={
        "class_name": "CmonJobInstance", "title": "Simulated Success", "scheduled": when,
        "tags": ["testScheduledJob"], "job_spec": {"command": "success", "job_data": {}}}))
    assert by_state()["SCHEDULED"] == 1
    cmon.advance(60)
    assert "SCHEDULED" not in by_state() and by_state()["FINISHED"] == 1


def test_runs_of_a_recurring_job_are_tagged_recurrence(cmon):
    """ft_maintenance testRecurringJob: ``job --success --recurrence="*/2 * * * *"
    --job-tags=T``: the job stays SCHEDULED; its runs are listed by
    ``job --list --with-tags=recurrence`` and finish."""
    root = system(cmon)
    assert create_galera(cmon, root, "galera_01", ["127.0.100.12"])["status"] == "FINISHED"
    ok(root.call("/v2/jobs/", "createJobInstance", cluster_id=1, job={
        "class_name": "CmonJobInstance", "title": "Simulated Success",
        "recurrence": "*/2 * * * *", "tags": ["testRecurringJob"],
        "job_spec": {"command": "success", "job_data": {}}}))
    cmon.advance(180)
    runs = ok(root.call("/v2/jobs/", "getJobInstances", tags=["recurrence"]))["jobs"]
    assert runs and {j["status"] for j in runs} == {"FINISHED"}
    assert all(set(j["tags"]) == {"testRecurringJob", "recurrence"} for j in runs)
    mine = ok(root.call("/v2/jobs/", "getJobInstances", show_scheduled=True,
                        tags=["testRecurringJob"]))["jobs"]
    assert "SCHEDULED" in {j["status"] for j in mine}


@pytest.mark.parametrize("content", [b"", b"not a tar.gz", b"\x1f\x8b\x08\x00garbage"])
def test_restore_of_a_file_that_is_no_saved_archive_fails_cleanly(cmon, tmp_path, content):
    bad = tmp_path / "bad.tgz"
    bad.write_bytes(content)
    for command in ("restore_cluster", "restore_controller"):
        job = restore(cmon, system(cmon), command, bad)
        assert job["status"] == "FAILED" and "bad.tgz" in job["status_text"]
    assert restore(cmon, system(cmon), "restore_cluster", tmp_path)["status"] == "FAILED"
    job = run_job(cmon, system(cmon), "save_controller", {"backupdir": "relative/dir"})
    assert job["status"] == "FAILED" and "absolute" in job["status_text"]
    assert ok(system(cmon).call(CLUSTERS, "getAllClusterInfo"))["total"] == 0


def test_stopping_a_container_takes_its_node_offline(cmon):
    """ft_cluster_lxc testAlarms, ft_galera_lxc, ft_haproxy: ``container --stop`` of the
    container a node runs in: the node is CmonHostOffLine (s9s's 'l'), the cluster
    DEGRADED with a CRITICAL alarm; ``container --start``: online, STARTED, no alarm."""
    make_user(cmon)
    me = s9s(cmon)
    ok(me.call(HOST, "registerServers", servers=[{"class_name": "CmonLxcServer",
                                                   "hostname": "core1"}]))
    for alias in ("ft_cluster_lxc_11", "ft_cluster_lxc_12"):
        assert create_container(cmon, me, alias)["status"] == "FINISHED"
    address = {c["alias"]: c["ip"] for c in ok(me.call(HOST, "getContainers"))["containers"]}
    assert create_galera(cmon, me, "galera_01", list(address.values()))["status"] == "FINISHED"
    alias = {"class_name": "CmonContainer", "alias": "ft_cluster_lxc_11"}

    def seen() -> tuple[str, str, list[str]]:
        (cluster,) = ok(me.call(CLUSTERS, "getAllClusterInfo", with_hosts=True))["clusters"]
        status = next(h["hoststatus"] for h in cluster["hosts"]
                      if h["hostname"] == address["ft_cluster_lxc_11"])
        alarms = ok(me.call("/v2/alarm/", "getAlarms", cluster_id=1))["alarms"]
        return status, cluster["state"], [a["severity_name"] for a in alarms]

    assert run_job(cmon, me, "stop_container", {"container": alias})["status"] == "FINISHED"
    status, state, severities = seen()
    assert (status, state) == ("CmonHostOffLine", "DEGRADED") and "ALARM_CRITICAL" in severities
    assert run_job(cmon, me, "start_container", {"container": alias})["status"] == "FINISHED"
    assert seen() == ("CmonHostOnline", "STARTED", [])


def test_server_registered_into_a_folder_that_must_exist(cmon):
    """ft_installserver registerServerFails: ``server --register
    --servers="lxc://core3?cdt_path=/non-existing-folder"`` fails, as do duplicates in one
    call; an existing folder takes the server."""
    make_user(cmon)
    me = s9s(cmon)

    def register(*specs: dict[str, Any]) -> dict[str, Any]:
        return me.call(HOST, "registerServers", servers=[
            {"class_name": "CmonLxcServer", **spec} for spec in specs])

    assert fails(register({"hostname": "core2"}, {"hostname": "core2"}))
    assert fails(register({"hostname": "core3", "cdt_path": "/non-existing-folder"}))
    assert fails(register({"hostname": "core3", "cdt_path": "/groups"}))
    assert ok(me.call(HOST, "getServers"))["total"] == 0
    ok(me.call(TREE, "mkdir", path="/home/pipas"))
    ok(register({"hostname": "core3", "cdt_path": "/home/pipas"}))
    assert "core3" in {i["item_name"] for i in tree(me, "/home/pipas")["sub_items"]}
    assert fails(register({"hostname": "core3"}))
