"""The last operations of the client contract: user preferences, tree getObject, snapshot
repositories, binary log backups, the cluster info cache statistics, host start and
the pool members' start/stop. Requests are shaped as s9s sends them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fakecmon import coverage
from fakecmon.client import RpcClient
from fakecmon.testing import FakeCmon
from shapes import json_type, login

U, T, B, C, H, P = ("/v2/users", "/v2/tree", "/v2/backup", "/v2/clusters", "/v2/host",
                    "/v2/poolcontrollers")


def call(client: RpcClient, where: str, name: str, /, **fields: Any) -> dict[str, Any]:
    """A request with what s9s's composeRequest adds (``class_name``) where s9s adds it."""
    if where not in (T, H, P):
        fields = {"class_name": "CmonRpcRequest", **fields}
    client.request_id += 1
    return client.post(where, {"operation": name, "request_id": client.request_id,
                               **fields}).json


def types(doc: dict[str, Any], **wanted: str) -> None:
    """Each named field is there with this JSON type."""
    assert {k: json_type(doc.get(k)) for k in wanted} == wanted, doc


def status(reply: dict[str, Any], wanted: str, text: str = "") -> None:
    assert reply["request_status"] == wanted, reply
    if wanted != "Ok":
        assert text in reply["error_string"], reply


def dba(cmon: FakeCmon) -> RpcClient:
    return login(cmon, "dba", "dba-pass")


def test_every_operation_of_the_contract_is_answered(contract: Path):
    wanted = coverage.contract(contract / "operations.tsv")
    assert coverage.unanswered(wanted, coverage.answered()) == []


# ---- user preferences


def prefs_user(name: str, **prefs: Any) -> dict[str, Any]:
    user: dict[str, Any] = {"class_name": "CmonUser", "user_name": name}
    if prefs:
        user["preferences"] = prefs
    return user


def test_preferences_are_kept_per_user(cmon, system):
    got = call(system, U, "getUserPreferences", user=prefs_user("system"))
    status(got, "Ok")
    assert got["preferences"] == {} and got["total"] == 0
    saved = call(system, U, "setUserPreferences",
                 user=prefs_user("system", theme="dark", page_size=50, layout={"cols": [1, 2]}))
    status(saved, "Ok")
    types(saved, preferences="object", messages="array", total="integer", user_name="string")
    again = call(system, U, "setUserPreferences", user=prefs_user("system", page_size=None,
                                                                    lang="en"))
    assert again["preferences"] == {"theme": "dark", "layout": {"cols": [1, 2]}, "lang": "en"}
    # another session (a later s9s process) sees the same; another user has its own
    later = login(cmon)
    assert call(later, U, "getUserPreferences", user=prefs_user("system"))["preferences"] == \
        again["preferences"]
    mine = dba(cmon)
    assert call(mine, U, "getUserPreferences")["preferences"] == {}
    status(call(mine, U, "setUserPreferences", user=prefs_user("dba", theme="light")), "Ok")
    assert call(system, U, "getUserPreferences", user=prefs_user("dba"))["preferences"] == {
        "theme": "light"}
    # delete some, then all
    gone = call(system, U, "deleteUserPreferences", user=prefs_user("system", theme=""))
    status(gone, "Ok")
    assert set(gone["preferences"]) == {"layout", "lang"}
    assert call(system, U, "deleteUserPreferences", user=prefs_user("system"))["total"] == 0
    assert call(later, U, "getUserPreferences")["preferences"] == {}
    cmon.reset()
    fresh = login(cmon, "dba", "dba-pass")
    assert call(fresh, U, "getUserPreferences")["preferences"] == {}


def test_preferences_are_shown_only_to_the_user_and_superusers(cmon, system, reader):
    call(system, U, "setUserPreferences", user=prefs_user("system", secret="x"))
    status(call(reader, U, "getUserPreferences", user=prefs_user("system")), "AccessDenied",
           "readeruser has no privileges")
    status(call(dba(cmon), U, "setUserPreferences", user=prefs_user("readeruser", a="b")),
           "AccessDenied", "preferences of user readeruser")
    status(call(reader, U, "deleteUserPreferences", user=prefs_user("system")), "AccessDenied")
    assert call(system, U, "getUserPreferences")["preferences"] == {"secret": "x"}
    # a superuser may read and change anybody's
    status(call(system, U, "setUserPreferences", user=prefs_user("readeruser", a="b")), "Ok")
    assert call(reader, U, "getUserPreferences")["preferences"] == {"a": "b"}


def test_preferences_bad_input(cmon, system):
    call(system, U, "setUserPreferences", user=prefs_user("system", kept=1))
    for user, text in [({"class_name": "CmonUser", "user_name": "system", "preferences": 5},
                        "must be an object"),
                       (prefs_user("system"), "must be an object"),
                       ({"user_name": "system", "preferences": {"": 1}}, "non-empty string"),
                       ({"user_name": "system", "preferences": {"k" * 300: 1}}, "too long"),
                       ({"user_name": "system", "preferences": {"big": "x" * 70000}},
                        "more than the")]:
        status(call(system, U, "setUserPreferences", user=user), "InvalidRequest", text)
    status(call(system, U, "getUserPreferences", user=prefs_user("ghost")), "ObjectNotFound",
           "User 'ghost' is not found.")
    status(call(system, U, "getUserPreferences", user="system"), "InvalidRequest")
    status(call(system, U, "deleteUserPreferences", user=prefs_user("system", kept=0, nope=0)),
           "ObjectNotFound", "no preference 'nope'")
    assert call(system, U, "getUserPreferences")["preferences"] == {"kept": 1}


# ---- tree getObject


def test_get_object_gives_the_object_at_a_path(system):
    root = call(system, T, "getObject", path="/")
    status(root, "Ok")
    assert root["object"]["class_name"] == "CmonTreeItem" and "sub_items" not in root["object"]
    assert root["object"]["item_type"] == "Folder"
    cluster = call(system, T, "getObject", path="/galera-prod")["object"]
    types(cluster, cluster_id="integer", cluster_name="string", cluster_type="string",
          acl="string", effective_privileges="string")
    assert (cluster["class_name"], cluster["cluster_id"]) == ("CmonClusterInfo", 1)
    user = call(system, T, "getObject", path="/dba")["object"]
    assert (user["class_name"], user["user_name"], user["user_id"]) == ("CmonUser", "dba", 6)
    group = call(system, T, "getObject", path="/groups/readers")["object"]
    assert (group["class_name"], group["group_name"]) == ("CmonGroup", "readers")
    member = call(system, T, "getObject", path="/groups/admins/system")["object"]
    assert member["user_name"] == "system"
    file = call(system, T, "getObject", path="/.issue")["object"]
    assert file["item_type"] == "File" and json_type(file["size"]) == "integer"
    device = call(system, T, "getObject", path="/.runtime/controller")["object"]
    assert (device["item_type"], json_type(device["major_device_number"])) == ("File",
                                                                               "integer")


def test_get_object_is_permission_checked_like_get_tree(cmon, system, reader):
    assert call(reader, T, "getObject", path="/galera-prod")["object"]["cluster_name"] == \
        "galera-prod"
    mine = dba(cmon)
    status(call(mine, T, "getObject", path="/galera-prod"), "ObjectNotFound",
           "CDT path '/galera-prod' is not found.")
    status(call(mine, T, "getObject", path="/.runtime/controller"), "AccessDenied",
           "Read access to '/.runtime/controller' for user dba is denied.")
    assert call(mine, T, "getObject", path="/postgres-main")["object"]["cluster_id"] == 3
    # a change of the ACL shows at once
    call(system, T, "addAcl", path="/galera-prod", acl="user:dba:r--")
    assert call(mine, T, "getObject", path="/galera-prod")["request_status"] == "Ok"


def test_get_object_bad_input(system):
    status(call(system, T, "getObject"), "InvalidRequest", "Missing 'path'")
    status(call(system, T, "getObject", path="/a/../b"), "InvalidRequest", "'..'")
    status(call(system, T, "getObject", path="/no/such"), "ObjectNotFound", "'/no/such'")
    status(call(system, T, "getObject", path=7), "InvalidRequest", "must be a string")


# ---- Elasticsearch snapshot repositories

ELASTIC = """
clusters:
  - cluster_id: 7
    cluster_name: es-logs
    cluster_type: elastic
    vendor: elasticsearch
    version: "8.15"
    acl: "user::rwx,group::rwx,group:readers:r--,other::---"
    hosts:
      - {hostname: 10.0.7.71, version: 8.15.3}
      - {hostname: 10.0.7.72, version: 8.15.3}
"""


def s3_credentials(system: RpcClient) -> int:
    added = call(system, "/v2/cloud", "addCredentials", provider="aws", name="backups",
                 credentials={"access_key_id": "AKIA1", "access_key_secret": "s",
                              "access_key_region": "eu-west-1"})
    return added["id"]


def repository(**data: Any) -> dict[str, Any]:
    """``repository`` as ``s9s backup --create-snapshot-repository`` sends it."""
    return {"class_name": "CmonElasticsearchCluster",
            "job": {"command": "backup", "description": "Snapshot repository created by s9s",
                    "job_data": {"description": "Backup created by s9s-tools.", **data}}}


def test_snapshot_repositories_are_created_listed_and_deleted(cmon, system, reader):
    cmon.load_yaml(ELASTIC)
    cid = s3_credentials(system)
    empty = call(system, B, "getSnapshotRepositories", cluster_id=7)
    status(empty, "Ok")
    assert empty["snapshot_repositories"] == {} and empty["total"] == 0
    made = call(system, B, "snapshotRepository", cluster_id=7, repository=repository(
        snapshot_repository="s3-repo", snapshot_repository_type="s3", credential_id=cid,
        s3_bucket="es-snapshots", s3_region="eu-west-1"))
    status(made, "Ok")
    assert made["messages"] == ["Snapshot repository 's3-repo' is created in cluster 7."]
    status(call(system, B, "snapshotRepository", cluster_name="es-logs", repository=repository(
        snapshot_repository="nfs-repo", snapshot_repository_type="fs",
        snapshot_location="/mnt/es-snapshots", storage_host="10.0.7.99")), "Ok")
    listed = call(reader, B, "getSnapshotRepositories", cluster_id=7)
    repos = listed["snapshot_repositories"]
    assert sorted(repos) == ["nfs-repo", "s3-repo"] and listed["total"] == 2
    s3 = repos["s3-repo"]
    types(s3, type="string", uuid="string", storage_host="string", settings="object")
    assert s3["type"] == "s3" and len(s3["uuid"]) == 22
    assert (s3["settings"]["bucket"], s3["settings"]["region"]) == ("es-snapshots", "eu-west-1")
    fs = repos["nfs-repo"]
    assert (fs["type"], fs["settings"]["location"], fs["storage_host"]) == (
        "fs", "/mnt/es-snapshots", "10.0.7.99")
    every = call(system, B, "getAllSnapshotRepositories")
    types(every, snapshot_repositories_list="array", total="integer")
    assert [(e["cluster_id"], sorted(e["snapshot_repositories"]))
            for e in every["snapshot_repositories_list"]] == [(7, ["nfs-repo", "s3-repo"])]
    assert call(dba(cmon), B, "getAllSnapshotRepositories")["snapshot_repositories_list"] == []
    gone = call(system, B, "deleteSnapshotRepository", cluster_id=7,
                snapshot_repository="s3-repo")
    status(gone, "Ok")
    assert list(call(system, B, "getSnapshotRepositories", cluster_id=7)[
        "snapshot_repositories"]) == ["nfs-repo"]


def test_snapshot_repositories_check_cluster_type_permissions_and_input(cmon, system, reader):
    cmon.load_yaml(ELASTIC)
    cid = s3_credentials(system)
    good = {"snapshot_repository": "repo", "snapshot_repository_type": "s3",
            "credential_id": cid, "s3_bucket": "b", "s3_region": "r"}

    def create(client: RpcClient, cluster_id: int = 7, **data: Any) -> dict[str, Any]:
        return call(client, B, "snapshotRepository", cluster_id=cluster_id,
                    repository=repository(**{**good, **data}))

    status(create(system, cluster_id=1), "InvalidRequest", "GALERA cluster")
    status(call(system, B, "getSnapshotRepositories", cluster_id=1), "InvalidRequest",
           "Elasticsearch")
    status(create(system, cluster_id=99), "ObjectNotFound", "Cluster was not found.")
    status(create(reader), "AccessDenied", "Write access to cluster 7 for user readeruser")
    status(create(dba(cmon)), "AccessDenied", "cluster 7 for user dba")
    status(call(dba(cmon), B, "getSnapshotRepositories", cluster_id=7), "AccessDenied")
    for data, wanted, text in [
            ({"snapshot_repository": "Bad Name"}, "InvalidRequest", "is not valid"),
            ({"snapshot_repository": None}, "InvalidRequest", "needs a name"),
            ({"snapshot_repository_type": "ftp"}, "InvalidRequest", "Unknown snapshot"),
            ({"s3_bucket": ""}, "InvalidRequest", "'s3_bucket'"),
            ({"credential_id": 42}, "ObjectNotFound", "credentials with id 42"),
            ({"snapshot_repository_type": "fs"}, "InvalidRequest", "'snapshot_location'"),
            ({"snapshot_repository_type": "fs", "snapshot_location": "rel/dir"},
             "InvalidRequest", "absolute path")]:
        status(create(system, **data), wanted, text)
    status(call(system, B, "snapshotRepository", cluster_id=7, repository="x"),
           "InvalidRequest", "'repository'")
    status(create(system), "Ok")
    status(create(system), "InvalidRequest", "already exists")
    status(call(system, B, "deleteSnapshotRepository", cluster_id=7,
                snapshot_repository="other"), "ObjectNotFound", "'other' is not found")
    status(call(reader, B, "deleteSnapshotRepository", cluster_id=7,
                snapshot_repository="repo"), "AccessDenied")
    assert list(call(system, B, "getSnapshotRepositories", cluster_id=7)[
        "snapshot_repositories"]) == ["repo"]
    # a stopped cluster takes no new repository
    cmon.run(lambda c: setattr(c.world.clusters[7], "state", "STOPPED"))
    status(create(system, snapshot_repository="later"), "InvalidRequest", "STOPPED")


# ---- binary log backups


def binlogs(client: RpcClient, **fields: Any) -> dict[str, Any]:
    return call(client, B, "getBinlogBackups", **fields)


def test_binlog_backups_follow_the_full_backups(cmon, system):
    galera = binlogs(system, ascending=True, cluster_id=1)
    status(galera, "Ok")
    # backup 1 of galera-prod ended 86400 - 420 s ago: 23 hourly binary logs since
    assert galera["total"] == 23 and len(galera["binlog_backups"]) == 23
    first = galera["binlog_backups"][0]
    types(first, cid="integer", cluster_id="integer", created="string", file_name="string",
          full_bid="integer", hostname="string", path="string", size="integer")
    assert (first["file_name"], first["full_bid"], first["hostname"]) == (
        "binlog.000001", 1, "10.0.1.12")
    assert first["path"].endswith("/binlogs/binlog.000001")
    created = [b["created"] for b in galera["binlog_backups"]]
    assert created == sorted(created)
    newest = binlogs(system, cluster_id=1, limit=2)
    assert [b["file_name"] for b in newest["binlog_backups"]] == ["binlog.000023",
                                                                   "binlog.000022"]
    maria = binlogs(system, cluster_id=21, ascending=True)["binlog_backups"]
    assert [b["file_name"] for b in maria] == ["mysql-bin.000001", "mysql-bin.000002"]
    postgres = binlogs(system, cluster_id=3)
    assert (postgres["total"], postgres["binlog_backups"]) == (0, [])
    assert binlogs(system)["total"] == 25
    # the log goes on rotating; deleting the full backup takes its binary logs along
    cmon.advance(2 * 3600 + 5)
    assert binlogs(system, cluster_id=21)["total"] == 4
    status(system.call(B, "deleteBackupRecord", backup_record={"backup_id": 3}), "Ok")
    assert binlogs(system, cluster_id=21)["total"] == 0


def test_binlog_backups_permissions_and_bad_input(cmon, reader):
    assert binlogs(reader)["total"] == 25
    mine = dba(cmon)
    assert binlogs(mine)["total"] == 0
    status(binlogs(mine, cluster_id=1), "AccessDenied", "Read access to cluster 1")
    status(binlogs(reader, cluster_id=99), "ObjectNotFound", "Cluster was not found.")
    status(binlogs(reader, cluster_id="one"), "InvalidRequest", "'cluster_id'")
    status(binlogs(reader, ascending=[1]), "InvalidRequest", "'ascending'")


# ---- the cluster info cache


def stats(client: RpcClient, **fields: Any) -> dict[str, Any]:
    reply = call(client, C, "getClusterInfoCacheStatistics", **fields)
    status(reply, "Ok")
    return reply["cache_statistics"]


def test_cluster_info_cache_counts_what_clients_ask(cmon, system):
    empty = stats(system)
    types(empty, cache_size="integer", hit_rate_percent="number",
          last_refresh_duration_ms="integer", max_refresh_duration_ms="integer",
          refresh_interval_seconds="integer", total_hits="integer", total_misses="integer",
          total_refreshes="integer")
    assert (empty["cache_size"], empty["total_hits"], empty["total_misses"]) == (0, 0, 0)
    system.call(C, "getAllClusterInfo", with_hosts=True)
    first = stats(system)
    assert (first["cache_size"], first["total_misses"], first["total_refreshes"]) == (6, 6, 6)
    system.call(C, "getAllClusterInfo", with_hosts=True)
    second = stats(system)
    assert (second["total_hits"], second["hit_rate_percent"]) == (6, 50.0)
    cmon.advance(second["refresh_interval_seconds"] + 1)
    system.call(C, "getClusterInfo", cluster_id=1)
    one = stats(system, cluster_id=1)
    assert (one["cache_size"], one["total_hits"], one["total_misses"]) == (1, 1, 2)
    assert one["last_refresh_duration_ms"] > 0
    assert stats(system)["total_refreshes"] == 7


def test_cluster_info_cache_statistics_permissions(cmon, system, reader):
    reader.call(C, "getAllClusterInfo")
    assert stats(reader)["total_misses"] == 6
    mine = dba(cmon)
    assert stats(mine, cluster_id=3)["total_misses"] == 1
    status(call(mine, C, "getClusterInfoCacheStatistics", cluster_id=1), "AccessDenied",
           "Read access to cluster 1 for user dba is denied.")
    status(call(mine, C, "getClusterInfoCacheStatistics", cluster_id=99), "InvalidRequest",
           "Cluster was not found.")


# ---- host start


def server(client: RpcClient, name: str = "lxc-host-1") -> dict[str, Any]:
    found = client.call(H, "getServers", servers=[{"hostname": name}])["servers"]
    assert len(found) == 1
    return found[0]


def test_start_a_server_or_a_container_by_path(cmon, system):
    stopped = [c["alias"] for c in server(system)["containers"] if c["status"] != "RUNNING"]
    assert stopped == ["ci-runner-2"]
    started = call(system, H, "start", path="/lxc-host-1/containers/ci-runner-2")
    status(started, "Ok")
    assert started["messages"] == ["Container 'ci-runner-2' on server 'lxc-host-1' is started."]
    assert all(c["status"] == "RUNNING" for c in server(system)["containers"])
    status(system.call(H, "shutdownServers", servers=[{"hostname": "lxc-host-1"}]), "Ok")
    assert server(system)["hoststatus"] == "CmonHostShutDown"
    status(call(system, H, "start", path="/lxc-host-1/containers/staging-db"),
           "InvalidRequest", "the server is not running")
    status(call(system, H, "start", path="/lxc-host-1"), "Ok")
    assert server(system)["hoststatus"] == "CmonHostOnline"
    assert call(system, H, "start", path="/lxc-host-1")["messages"] == [
        "Server 'lxc-host-1' is already running."]


def test_start_checks_access_and_input(cmon, system, reader):
    status(call(reader, H, "start", path="/lxc-host-1"), "ObjectNotFound",
           "CDT path '/lxc-host-1' is not found.")
    status(call(system, H, "start", path="/galera-prod"), "InvalidRequest",
           "only servers and containers")
    status(call(system, H, "start", path="/lxc-host-1/containers/nope"), "ObjectNotFound")
    status(call(system, H, "start", path="/nowhere"), "ObjectNotFound")
    status(call(system, H, "start", path="/x/../y"), "InvalidRequest", "'..'")
    status(call(system, H, "start"), "InvalidRequest", "Missing 'path'")
    # execute access on the server is what it takes (as for startServers)
    cmon.run(lambda c: c.world.extensions["servers"].servers["lxc-host-1"].acl.users.update(
        dba="r--"))
    status(call(dba(cmon), H, "start", path="/lxc-host-1"), "AccessDenied",
           "Execute access to '/lxc-host-1' for user dba is denied.")


# ---- pool members


def pool_on(system: RpcClient) -> None:
    status(system.call(P, "setPoolMode", pool_mode=True, conf_storage="/var/lib/cmon/pool"),
           "Ok")


def members(client: RpcClient) -> list[tuple[int, str]]:
    return [(m["controller_id"], m["status"])
            for m in client.call(P, "listControllers")["controllers"]]


def test_pool_controllers_start_and_stop_in_pool_mode_only(cmon, system):
    for op in ("stopController", "startController"):
        status(system.call(P, op, controller_id=1), "InvalidRequest", "not in pool mode")
    pool_on(system)
    assert members(system) == [(1, "active")]
    stopped = system.call(P, "stopController", controller_id=1)
    status(stopped, "Ok")
    types(stopped, messages="array", pool_id="string")
    assert members(system) == [(1, "stopped")]
    assert system.call(P, "stopController", controller_id=1)["messages"] == [
        "Pool controller 1 is already stopped."]
    status(system.call(P, "startController", controller_id=1), "Ok")
    assert members(system) == [(1, "active")]


def test_pool_controllers_permissions_and_input(cmon, system):
    pool_on(system)
    status(dba(cmon).call(P, "stopController", controller_id=1), "AccessDenied",
           "no privileges to stop pool controllers")
    status(system.call(P, "stopController", controller_id=7), "ObjectNotFound",
           "Pool controller 7 is not found.")
    status(system.call(P, "stopController"), "InvalidRequest", "Missing 'controller_id'")
    status(system.call(P, "startController", controller_id="x"), "InvalidRequest")
    assert members(system) == [(1, "active")]


@pytest.mark.parametrize("path, op, fields", [
    (U, "getUserPreferences", {"user": {"user_name": "system"}}),
    (T, "getObject", {"path": "/"}),
    (B, "getBinlogBackups", {"ascending": True}),
    (B, "getAllSnapshotRepositories", {}),
    (C, "getClusterInfoCacheStatistics", {}),
])
def test_the_new_operations_need_a_login(cmon, path, op, fields):
    reply = call(cmon.client(), path, op, **fields)
    assert reply["request_status"] == "AuthRequired"
