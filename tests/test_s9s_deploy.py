"""What s9s sends in s9s-tools' deploy and tree scripts (ft_tree, ft_treechroot, ft_access,
ft_galera, ft_postgresql, ft_mysqlreplication...), replayed byte for byte over TLS.

Each test replays the requests of the s9s commands a script runs (as
``tests/test_s9s_functional.py`` does) and asserts what the script checks, in the
reply fields s9s prints from: ``cluster_type_properties`` keyed by type name,
``/.runtime/cmon_license``, servers and containers in the tree and the lists, the
owners s9s prints for the controller, nodes and clusters after a user is deleted.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from fakecmon.testing import FakeCmon
from test_s9s_functional import S9s, exit_code, fails, ok

#: The real clients' recorded flows keep to the request contract: any finding fails
#: the test (fakecmon/contract.py, tests/test_contract.py).
pytestmark = [pytest.mark.cmon_world("../fixtures/fresh.yaml"), pytest.mark.fakecmon_strict]

ME, ME_PASSWORD = "pipas", "p"
TREE, HOST, JOBS, CLUSTERS = "/v2/tree/", "/v2/host/", "/v2/jobs/", "/v2/clusters/"

#: What ft_tree's testLicenseUpload saves: base64 of the license JSON, the separator,
#: then a (here made up) binary signature.
LICENSE_JSON = {"company": "one", "email_address": "two",
                "expiration_date": "2021-12-31T00:00:00.001Z", "licensed_nodes": 0,
                "type": "Demo"}


def signed_license(doc: dict[str, Any] = LICENSE_JSON) -> str:
    raw = (json.dumps(doc, indent=4).encode() + b"\n{s9s-signature-separator}\n"
           + bytes(range(7, 250, 3)))
    text = base64.b64encode(raw).decode()
    return "\n".join(text[i:i + 76] for i in range(0, len(text), 76)) + "\n"


def s9s(cmon: FakeCmon, user: str = ME, password: str = ME_PASSWORD) -> S9s:
    return S9s(cmon, user, password)


def system(cmon: FakeCmon) -> S9s:
    return S9s(cmon, "system", "secret")


def make_user(cmon: FakeCmon, name: str = ME, group: str = "users") -> None:
    """``s9s user --create --group=G --new-password=P NAME`` as system."""
    ok(system(cmon).call("/v2/users/", "createUser", new_password=ME_PASSWORD,
                         create_group=False,
                         user={"class_name": "CmonUser", "user_name": name,
                               "groups": [{"class_name": "CmonGroup", "group_name": group}]}))


def run_job(cmon: FakeCmon, client: S9s, command: str, job_data: dict[str, Any],
            title: str = "", **body: Any) -> dict[str, Any]:
    """``... --wait``: createJobInstance, then the job as getJobInstance shows it at its end."""
    job = {"class_name": "CmonJobInstance", "title": title or command,
           "job_spec": {"command": command, "job_data": job_data}}
    reply = ok(client.call(JOBS, "createJobInstance", job=job, **body))
    job_id = reply["job"]["job_id"]
    for _ in range(120):
        cmon.advance(1)
        found = ok(client.call(JOBS, "getJobInstance", job_id=job_id))["job"]
        if found["status"] in ("FINISHED", "FAILED", "ABORTED"):
            return found
    raise AssertionError(f"job {job_id} did not end")


def tree(client: S9s, path: str = "/") -> dict[str, Any]:
    """``tree --list --long [--recursive] PATH``: getTree."""
    return ok(client.call(TREE, "getTree", path=path))["cdt"]


def flat(item: dict[str, Any], path: str = "") -> dict[str, dict[str, Any]]:
    """``--full-path``: every item below by its full path."""
    found = {}
    for sub in item.get("sub_items", []):
        full = f"{path}/{sub['item_name']}"
        found[full] = sub
        found.update(flat(sub, full))
    return found


def mode(item: dict[str, Any]) -> str:
    """The MODE column of ``tree --list --long``: type letter and the base privileges."""
    letter = {"Folder": "d", "File": "-", "User": "u", "Group": "g", "Cluster": "c",
              "Server": "s", "Container": "c", "Database": "b"}[item["item_type"]]
    base = {}
    for entry in item["item_acl"].split(","):
        kind, name, letters = entry.split(":")
        if not name:
            base[kind] = letters
    return letter + base["user"] + base["group"] + base["other"]


# ---- symptom 1: cluster types


def test_list_cluster_types_long_has_a_row_per_version(cmon):
    """``metatype --list-cluster-types --long`` looks every name up in the object."""
    reply = ok(system(cmon).call("/v2/discovery/", "getSupportedClusterTypes"))
    names, props = reply["cluster_type_names"], reply["cluster_type_properties"]
    assert isinstance(props, dict) and reply["total"] == len(names) == len(props)
    rows = [(n, v["name"], ver) for n in names for v in props[n]["vendors"]
            for ver in v["versions"]]
    assert ("galera", "percona", "8.0") in rows and len(rows) > len(names)
    assert props["postgresql"]["long_name"] == "PostgreSQL Cluster"
    assert props["myqlcluster"]["type_name"] == "myqlcluster"   # sic: CMON's spelling


# ---- symptom 6: the license file


def test_license_file_refuses_invalid_and_takes_a_signed_license(cmon):
    make_user(cmon)
    me, root = s9s(cmon), system(cmon)
    # testLicense: only the superuser reads it.
    assert exit_code(me.call(TREE, "cat", path="/.runtime/cmon_license")["request_status"]) != 0
    before = ok(root.call(TREE, "cat", path="/.runtime/cmon_license"))["file_content"]
    assert json.loads(before)["company"] == "fakecmon"
    # testLicenseUpload: `echo "$license" | s9s tree --save /.runtime/cmon_license`
    bad = "wo" + signed_license()[2:]
    refused = fails(root.call(TREE, "setcontent", path="/.runtime/cmon_license", content=bad), 2)
    assert "license" in refused["error_string"]
    fails(me.call(TREE, "setcontent", path="/.runtime/cmon_license",
                  content=signed_license()))
    ok(root.call(TREE, "setcontent", path="/.runtime/cmon_license", content=signed_license()))
    shown = json.loads(ok(root.call(TREE, "cat", path="/.runtime/cmon_license"))["file_content"])
    assert shown == LICENSE_JSON
    info = ok(root.call(CLUSTERS, "getAllClusterInfo", with_license_check=True))
    assert (info["license"]["company"], info["license"]["type"]) == ("one", "Demo")
    assert info["license_check"]["has_license"] is False      # it ran out in 2021
    assert ok(root.call("/v2/config/", "getLicense"))["license"]["email_address"] == "two"


def test_license_without_signature_separator_part_is_refused(cmon):
    """A signed key whose signature is empty is not a license."""
    raw = json.dumps(LICENSE_JSON).encode() + b"\n{s9s-signature-separator}\n"
    fails(system(cmon).call(TREE, "setcontent", path="/.runtime/cmon_license",
                            content=base64.b64encode(raw).decode()), 2)
    shown = ok(system(cmon).call(TREE, "cat", path="/.runtime/cmon_license"))["file_content"]
    assert json.loads(shown)["company"] == "fakecmon"


# ---- symptoms 7 and 8: servers and containers


def register(client: S9s, hostname: str) -> dict[str, Any]:
    """``server --register --servers=lxc://HOST``."""
    return client.call(HOST, "registerServers", servers=[{
        "class_name": "CmonLxcServer", "hostname": hostname,
        "ssh_credentials": {"class_name": "CmonSshCredentials",
                            "public_key_file": "/home/pipas/.ssh/id_rsa"}}])


def create_container(cmon: FakeCmon, client: S9s, alias: str) -> dict[str, Any]:
    """``container --create --template=ubuntu --wait ALIAS``."""
    return run_job(cmon, client, "create_containers", {
        "ssh_keyfile": "/home/pipas/.ssh/id_rsa",
        "containers": [{"class_name": "CmonContainer", "alias": alias, "template": "ubuntu"}]},
        title="Create Containers")


def test_ordinary_user_registers_a_server_it_then_owns(cmon):
    """ft_tree testRegisterServer: a user made through the FIFO is not denied "Write
    access to '/'"; the server is in the tree as ``srwxrwx---`` of the user and its group."""
    make_user(cmon)
    me = s9s(cmon)
    ok(register(me, "core4"))
    item = next(i for i in tree(me)["sub_items"] if i["item_name"] == "core4")
    assert (item["owner_user_name"], item["owner_group_name"], mode(item)) == (
        ME, "users", "srwxrwx---")
    server = ok(me.call(HOST, "getServers"))["servers"][0]
    assert (server["hostname"], server["owner_user_name"]) == ("core4", ME)
    assert fails(register(me, "core4"), 2)["error_string"] == "Server 'core4' is already registered."
    # `lxc://` names no host: the controller's own machine.
    assert ok(register(me, ""))["servers"][0]["hostname"] == "127.0.0.1"


def test_containers_are_created_listed_and_in_the_tree(cmon):
    """ft_tree testCreateContainer / deleteContainers, ft_treechroot: the container job
    makes the container; ``server --list-containers --long NAME`` shows its address;
    ``tree --list --long SERVER/containers`` shows it as ``crwxrwx---`` of the user."""
    make_user(cmon)
    me = s9s(cmon)
    assert create_container(cmon, me, "c0")["status"] == "FAILED"    # no server yet
    ok(register(me, "core4"))
    job = create_container(cmon, me, "ft_tree_01")
    assert job["status"] == "FINISHED", job
    containers = ok(me.call(HOST, "getContainers"))["containers"]
    (found,) = [c for c in containers if c["alias"] == "ft_tree_01"]
    assert found["parent_server"] == "core4" and found["ip"].startswith("127.0.")
    assert found["network"]["private_ip"] == [found["ip"]] and found["template"] == "ubuntu"
    items = flat(tree(me, "/"), "")
    folder, item = items["/core4/containers"], items["/core4/containers/ft_tree_01"]
    assert (folder["owner_user_name"], mode(folder)) == (ME, "drwxr--r--")
    assert (item["owner_user_name"], item["owner_group_name"], mode(item)) == (
        ME, "users", "crwxrwx---")
    assert create_container(cmon, me, "ft_tree_01")["status"] == "FAILED"   # name taken
    alias = {"class_name": "CmonContainer", "alias": "ft_tree_01"}
    assert run_job(cmon, me, "stop_container", {"container": alias})["status"] == "FINISHED"
    assert ok(me.call(HOST, "getContainers"))["containers"][0]["status"] == "STOPPED"
    assert run_job(cmon, me, "start_container", {"container": alias})["status"] == "FINISHED"
    assert ok(me.call(HOST, "getContainers"))["containers"][0]["status"] == "RUNNING"
    done = run_job(cmon, system(cmon), "delete_container", {"container": alias})
    assert done["status"] == "FINISHED"
    assert ok(me.call(HOST, "getContainers"))["total"] == 0
    assert "ft_tree_01" not in str(tree(me, "/core4/containers"))


def test_objects_moved_into_a_folder_and_back(cmon):
    """ft_tree testMoveObjects / testMoveBack: the user moves its server, its cluster and
    itself into ``/home/pipas``; they are listed there (full paths as system), the cluster
    still answers by name, and system moves them back. A server keeps its name."""
    make_user(cmon)
    me, root = s9s(cmon), system(cmon)
    ok(register(me, "core4"))
    assert create_galera(cmon, me, "galera_001", ["127.0.100.12"])["status"] == "FINISHED"
    ok(me.call(TREE, "mkdir", path="/home/pipas"))
    for source in ("/core4", "/galera_001", "/pipas"):
        ok(me.call(TREE, "move", source_path=source, target_path="/home/pipas"))
    items = flat(tree(root), "")
    assert {p for p in items if p.startswith("/home/pipas/")} >= {
        "/home/pipas/core4", "/home/pipas/core4/containers", "/home/pipas/galera_001",
        "/home/pipas/galera_001/databases", "/home/pipas/pipas"}
    assert "/galera_001" not in items and "/pipas" not in items
    user = items["/home/pipas/pipas"]
    assert (user["owner_user_name"], user["owner_group_name"], mode(user)) == (
        ME, "admins", "urwxr--r--")
    fails(me.call(TREE, "rmdir", path="/home/pipas"), 2)             # not empty
    fails(me.call(TREE, "move", source_path="/home/pipas/core4", target_path="/home/x"), 2)
    fails(me.call(TREE, "move", source_path="/home/pipas/core4/containers",
                  target_path="/home"), 2)
    fails(me.call(TREE, "delete", path="/home/pipas/core4/containers"), 2)
    assert ok(me.call("/v2/users/", "whoAmI"))["user"]["user_name"] == ME
    info = ok(me.call(CLUSTERS, "getAllClusterInfo", with_hosts=True))["clusters"][0]
    assert (info["cluster_name"], info["cdt_path"]) == ("galera_001", "/home/pipas")
    assert {h["cdt_path"] for h in info["hosts"]} == {"/home/pipas/galera_001"}
    # ft_treechroot: what the moved user creates goes next to its user object.
    ok(register(me, "core5"))
    assert "/home/pipas/core5" in flat(tree(root), "")
    for source in ("/home/pipas/core4", "/home/pipas/galera_001"):
        ok(root.call(TREE, "move", source_path=source, target_path="/"))
    items = flat(tree(root), "")
    assert "/galera_001" in items and "/core4/containers" in items


# ---- symptom 9 and the deploy details: clusters on handed-out addresses


def create_galera(cmon: FakeCmon, client: S9s, name: str, nodes: list[str]) -> dict[str, Any]:
    """``cluster --create --cluster-type=galera --nodes=... --vendor=percona --wait``."""
    return run_job(cmon, client, "create_cluster", {
        "cluster_name": name, "cluster_type": "galera", "vendor": "percona", "version": "8.0",
        "nodes": [{"class_name": "CmonGaleraHost", "hostname": n, "port": 3306}
                  for n in nodes]}, title="Create Galera Cluster")


def test_owner_names_of_nodes_and_after_the_owner_is_deleted(cmon):
    """ft_access testDeleteUser: chown the cluster to a user, delete the user: s9s shows
    ``system`` as the owner of the controller, the nodes and the cluster (never '' or a
    bare id, never '-'), and the group stays."""
    make_user(cmon)
    make_user(cmon, "laszlo")
    root = system(cmon)
    assert create_galera(cmon, root, "galera_001", ["127.0.100.12"])["status"] == "FINISHED"
    ok(root.call(TREE, "chown", path="/galera_001", recursive=True,
                 owner_user_name="laszlo", owner_group_name="users"))
    hosts = ok(root.call(CLUSTERS, "getAllClusterInfo", with_hosts=True))["clusters"][0]["hosts"]
    assert {(h["owner_user_name"], h["owner_group_name"]) for h in hosts} == {("laszlo", "users")}
    ok(root.call("/v2/users/", "deleteUser", user={"class_name": "CmonUser",
                                                   "user_name": "laszlo"}))
    cluster = ok(root.call(CLUSTERS, "getAllClusterInfo", with_hosts=True))["clusters"][0]
    assert (cluster["owner"]["user_name"], cluster["group_owner"]["group_name"]) == (
        "system", "users")
    by_role = {h["nodetype"]: h for h in cluster["hosts"]}
    for host in by_role.values():
        assert (host["owner_user_name"], host["owner_group_name"]) == ("system", "users")
    assert by_role["controller"]["owner_user_id"] == 1


def test_change_config_in_an_upper_case_group_is_read_back(cmon):
    """ft_galera testSetConfig01: ``node --change-config --opt-group=MYSQLD
    --opt-name=max_connections --opt-value=200`` then ``node --list-config
    --opt-name=max_connections`` prints one row, 200 (MySQL groups ignore case)."""
    root = system(cmon)
    assert create_galera(cmon, root, "g1", ["127.0.100.12", "127.0.100.13"])["status"] == \
        "FINISHED"
    ok(root.call("/v2/config/", "setConfig", class_name="CmonRpcRequest",
                 hostname="127.0.100.12",
                 configuration=[{"name": "max_connections", "group": "MYSQLD", "value": "200"}]))
    files = ok(root.call("/v2/config/", "getConfig", hostname="127.0.100.12"))["config"]["files"]
    rows = [(v["section"], v["value"]) for f in files for v in f["values"]
            if v["variablename"] == "max_connections"]
    assert rows == [("mysqld", "200")]


def create_cluster(cmon: FakeCmon, client: S9s, **job_data: Any) -> dict[str, Any]:
    return run_job(cmon, client, "create_cluster", job_data, title="Create Cluster")


def host(client: S9s, hostname: str) -> dict[str, Any]:
    """``node --list --node-format=... HOST``: the host in getAllClusterInfo."""
    clusters = ok(client.call(CLUSTERS, "getAllClusterInfo", with_hosts=True))["clusters"]
    return next(h for c in clusters for h in c["hosts"] if h["hostname"] == hostname)


def test_postgresql_slave_added_with_its_address(cmon):
    """ft_postgresql testAddNode: ``cluster --add-node --nodes="M?master;S?slave"`` sends
    add_replication_slave; the slave is then a node with its address, the default port,
    the config file of the version, the cluster's owner names, and a replication link."""
    make_user(cmon)
    me = s9s(cmon)
    job = create_cluster(cmon, me, cluster_name="pg", cluster_type="postgresql_single",
                         type="postgresql", vendor="", version="10",
                         nodes=[{"hostname": "127.0.100.12", "port": 8089}])
    assert job["status"] == "FINISHED", job
    added = run_job(cmon, me, "add_replication_slave", {
        "master_address": "127.0.100.12", "slave_address": "127.0.100.13",
        "install_software": True}, title="Add Slave to Cluster", cluster_id=1)
    assert added["status"] == "FINISHED", added
    slave = host(me, "127.0.100.13")
    assert (slave["ip"], slave["port"], slave["role"], slave["hoststatus"]) == (
        "127.0.100.13", 5432, "slave", "CmonHostOnline")
    assert slave["configfile"] == ["/etc/postgresql/10/main/postgresql.conf"]
    assert (slave["owner_user_name"], slave["owner_group_name"]) == (ME, "users")
    assert slave["replication_slave"]["master_host"] == "127.0.100.12"
    assert slave["replication_slave"]["master_port"] == "8089"
    assert host(me, "127.0.100.12")["datadir"] == "/var/lib/postgresql/10/main"
    bad = run_job(cmon, me, "add_replication_slave", {
        "master_address": "127.0.100.99", "slave_address": "127.0.100.14"}, cluster_id=1)
    assert bad["status"] == "FAILED"


def replication_link(client: S9s, slave: str) -> str:
    """``replication --list --link-format="%s\\n" --slave=HOST``: the slave's host status
    without "CmonHost", for a host whose ``replication_slave`` names a master."""
    found = host(client, slave)
    if not found.get("replication_slave", {}).get("master_host"):
        return ""
    return found["hoststatus"].replace("CmonHost", "")


def test_mysql_replication_links_stop_and_start(cmon):
    """ft_mysqlreplication testStopStartReplication: both slaves are Online; stopping one
    makes the cluster DEGRADED, starting it makes it STARTED and Online again."""
    make_user(cmon)
    me = s9s(cmon)
    nodes = [{"hostname": f"127.0.100.{n}", "port": 3306} for n in (12, 13, 14)]
    job = create_cluster(cmon, me, cluster_name="repl", cluster_type="replication",
                         vendor="percona", version="8.0", nodes=nodes)
    assert job["status"] == "FINISHED", job
    assert [replication_link(me, f"127.0.100.{n}") for n in (12, 13, 14)] == [
        "", "Online", "Online"]
    master = host(me, "127.0.100.12")["replication_master"]
    assert master["file"] == "binlog.000001"
    slave = {"hostname": "127.0.100.13", "port": 3306}

    def state() -> str:
        return ok(me.call(CLUSTERS, "getAllClusterInfo"))["clusters"][0]["state"]

    stop = run_job(cmon, me, "stop_replication_slave",
                   {"clusterid": 1, "replication_slave": slave}, cluster_id=1)
    assert stop["status"] == "FINISHED", stop
    assert host(me, "127.0.100.13")["replication_slave"]["slave_io_running"] == "No"
    assert (replication_link(me, "127.0.100.13"), state()) == ("Failed", "DEGRADED")
    start = run_job(cmon, me, "start_replication_slave",
                    {"clusterid": 1, "replication_slave": slave}, cluster_id=1)
    assert start["status"] == "FINISHED", start
    assert (replication_link(me, "127.0.100.13"), state()) == ("Online", "STARTED")
    stage = run_job(cmon, me, "stage_replication_slave", {
        "clusterid": 1, "replication_slave": {"hostname": "127.0.100.14", "port": 3306},
        "replication_master": {"hostname": "127.0.100.12", "port": 3306}}, cluster_id=1)
    assert stage["status"] == "FINISHED" and replication_link(me, "127.0.100.14") == "Online"
    not_slave = run_job(cmon, me, "stop_replication_slave", {
        "clusterid": 1, "replication_slave": {"hostname": "127.0.100.12", "port": 3306}},
        cluster_id=1)
    assert not_slave["status"] == "FAILED"


def config_rows(reply: dict[str, Any]) -> list[str]:
    """``node --list-config`` without ``--long``: GROUP (``-`` when empty), OPTION NAME and
    VALUE of every value of ``config.files``, one row each (widths aside)."""
    return [f"{v['section'] or '-'} {v['variablename']} {v['value']}"
            for f in reply["config"]["files"] for v in f["values"]]


def test_controller_config_of_a_new_cluster(cmon):
    """ft_mysqlreplicationconfig checkController: ``node --list --long`` has the controller
    (its row starts with ``c``); ``node --list-config --nodes=<its address>`` (getConfig
    with that ``hostname`` only) prints the cluster's ``cmon_1.cnf``: ``cdt_path /``,
    ``created_by_job`` the creating job, ``group_owner`` the owner group's id, ``logfile
    /var/log/cmon_1.log``."""
    make_user(cmon)
    me = s9s(cmon)
    nodes = [{"hostname": f"127.0.100.{n}", "port": 3306} for n in (12, 13, 14)]
    job = create_cluster(cmon, me, cluster_name="repl", cluster_type="replication",
                         vendor="percona", version="5.6", nodes=nodes)
    assert job["status"] == "FINISHED", job
    cluster = ok(me.call(CLUSTERS, "getAllClusterInfo", with_hosts=True))["clusters"][0]
    (controller,) = [h for h in cluster["hosts"] if h["nodetype"] == "controller"]
    rows = config_rows(ok(me.call("/v2/config/", "getConfig",
                                  hostname=controller["hostname"])))
    group_id = cluster["group_owner"]["group_id"]
    for pattern in (r"^- +cdt_path +/ *$", rf"^- +created_by_job +{job['job_id']} *$",
                    rf"^- +group_owner +{group_id} *$", r"^- +logfile +/var/log/cmon_1.log *$"):
        assert any(re.match(pattern, row) for row in rows), (pattern, rows)


def test_cluster_list_with_container_info_and_all_pool(cmon):
    """``cluster --list --include-container-info --all-pool`` sends ``with_containers`` and
    ``all_pool`` true (s9s prints nothing more for them): the same clusters come back."""
    make_user(cmon)
    me = s9s(cmon)
    assert create_galera(cmon, system(cmon), "g1", ["127.0.100.12"])["status"] == "FINISHED"
    fields = {"class_name": "CmonRpcRequest", "with_hosts": True, "with_sheet_info": True,
              "with_databases": False}
    plain = ok(system(cmon).call(CLUSTERS, "getAllClusterInfo", all_pool=False,
                                 with_containers=False, **fields))
    both = ok(system(cmon).call(CLUSTERS, "getAllClusterInfo", all_pool=True,
                                with_containers=True, **fields))
    assert [c["cluster_name"] for c in both["clusters"]] == ["g1"] and both["total"] == 1

    def nodes(reply: dict[str, Any]) -> list[tuple[str, int, str]]:
        return [(h["hostname"], h["port"], h["nodetype"]) for h in reply["clusters"][0]["hosts"]]
    assert nodes(both) == nodes(plain)
    assert ok(me.call(CLUSTERS, "getAllClusterInfo", all_pool=True, with_containers=True,
                      **fields))["total"] == 0


def test_pull_config_and_refused_values(cmon):
    """ft_postgresql testConfig / testConfigFail: ``node --pull-config`` saves the files of
    the top-level ``files``; ``max_connections`` set to a word is refused."""
    make_user(cmon)
    me = s9s(cmon)
    create_cluster(cmon, me, cluster_name="pg", cluster_type="postgresql_single",
                   version="10", nodes=[{"hostname": "127.0.100.12", "port": 8089}])
    reply = ok(me.call("/v2/config/", "getConfig", hostname="127.0.100.12"))
    (pulled,) = reply["files"]
    assert pulled["filename"] == "postgresql.conf" and "data_directory" in pulled["content"]
    refused = fails(me.call("/v2/config/", "setConfig", hostname="127.0.100.12", configuration=[
        {"name": "max_connections", "value": "notaninteger"}]), 2)
    assert "max_connections" in refused["error_string"]
    ok(me.call("/v2/config/", "setConfig", hostname="127.0.100.12",
               configuration=[{"name": "max_connections", "value": "200"}]))


def test_script_with_prefix_increment_prints_its_warning(cmon):
    """ft_postgresql testRunScript: ``script --execute`` of a loop with ``++a``."""
    make_user(cmon)
    me = s9s(cmon)
    create_cluster(cmon, me, cluster_name="pg", cluster_type="postgresql_single",
                   version="10", nodes=[{"hostname": "127.0.100.12", "port": 8089}])
    source = ('function main()\n{\n    print("Test for producing a few messages.");\n'
              '    for (a = 0; a < 3; ++a)\n        print("  a*a = ", a * a);\n'
              '    warning("This is a warning message.");\n'
              '    error("This is an error message.");\n    exit(0);\n}\n')
    reply = ok(me.call("/v2/imperative/", "executeExternalScript", cluster_id=1,
                       filename="scripts/test_output_lines.js", content=source,
                       arguments=""))
    texts = [m["message"] for m in reply["results"]["messages"]]
    assert "  a*a = 4" in texts and "This is a warning message." in texts


def test_databases_in_the_tree_and_deleted_by_a_job(cmon):
    """ft_tree testCreateDatabase / testDeleteDatabase: ``cluster --create-database``
    shows the database in ``tree --list --long CLUSTER/databases`` (``brwxrwx---``, the
    cluster's owner); ``cluster --delete-database`` (a delete_database job) removes it."""
    make_user(cmon)
    me = s9s(cmon)
    assert create_galera(cmon, me, "galera_001", ["127.0.100.12"])["status"] == "FINISHED"
    for name in ("domain_names_ngtlds_diff", "domain_names_diff"):
        ok(me.call(CLUSTERS, "createDatabase", cluster_name="galera_001",
                   database={"class_name": "CmonDataBase", "database_name": name}))
    listed = {i["item_name"]: i for i in tree(me, "/galera_001/databases")["sub_items"]}
    assert set(listed) == {"domain_names_ngtlds_diff", "domain_names_diff"}
    item = listed["domain_names_diff"]
    assert (item["owner_user_name"], item["owner_group_name"], mode(item)) == (
        ME, "users", "brwxrwx---")
    job = run_job(cmon, me, "delete_database", {"database": "domain_names_ngtlds_diff",
                                                "ssh_user": ME}, title="Delete Database",
                  cluster_name="galera_001")
    assert job["status"] == "FINISHED", job
    assert [i["item_name"] for i in tree(me, "/galera_001/databases")["sub_items"]] == [
        "domain_names_diff"]
    again = run_job(cmon, me, "delete_database", {"database": "domain_names_ngtlds_diff"},
                    cluster_name="galera_001")
    assert again["status"] == "FAILED"


def test_cluster_deployed_into_new_containers(cmon):
    """ft_mysqlreplicationstartstop createCluster: ``cluster --create --containers="a;b"
    --nodes="a;b"`` makes the containers, then the nodes on their addresses; each node
    names its container (``%v``); the container jobs then stop and start them."""
    make_user(cmon)
    me = s9s(cmon)
    ok(register(me, "core1"))
    names = ["ft_01", "ft_02"]
    job = create_cluster(cmon, me, cluster_name="rs", cluster_type="replication",
                         vendor="percona", version="5.7",
                         containers=[{"class_name": "CmonContainer", "alias": n,
                                      "template": "ubuntu"} for n in names],
                         nodes=[{"hostname": n} for n in names],
                         topology={"master_slave_links": [{"ft_01": "ft_02"}]})
    assert job["status"] == "FINISHED", job
    containers = {c["alias"]: c for c in ok(me.call(HOST, "getContainers"))["containers"]}
    hosts = [h for h in ok(me.call(CLUSTERS, "getAllClusterInfo", with_hosts=True))[
        "clusters"][0]["hosts"] if h["nodetype"] != "controller"]
    assert [(h["hostname"], h["container_id"]) for h in hosts] == [
        (containers[n]["ip"], n) for n in names]
    stop = run_job(cmon, me, "stop_container",
                   {"container": {"class_name": "CmonContainer", "alias": "ft_01"}})
    assert stop["status"] == "FINISHED" and ok(me.call(HOST, "getContainers"))[
        "containers"][0]["status"] == "STOPPED"


def test_proxysql_node_added_and_removed(cmon):
    """shared_test_cases testAddRemoveProxySql: ``cluster --add-node
    --nodes=proxySql://HOST:6032`` (a proxysql job) adds a ProxySQL node (s9s counts the
    ``CmonProxySqlHost`` nodes); ``--remove-node --force`` (removenode) takes it away."""
    make_user(cmon)
    me = s9s(cmon)
    nodes = [{"hostname": f"127.0.100.{n}", "port": 3306} for n in (12, 13)]
    create_cluster(cmon, me, cluster_name="repl", cluster_type="replication",
                   vendor="percona", version="8.0", nodes=nodes)
    proxy = {"class_name": "CmonProxySqlHost", "hostname": "127.0.100.20", "port": 6032}

    def proxies() -> list[dict[str, Any]]:
        return [h for h in ok(me.call(CLUSTERS, "getAllClusterInfo", with_hosts=True))[
            "clusters"][0]["hosts"] if h["class_name"] == "CmonProxySqlHost"]

    added = run_job(cmon, me, "proxysql", {"action": "setupProxySql", "nodes": [proxy],
                                           "import_accounts": True}, cluster_id=1)
    assert added["status"] == "FINISHED", added
    assert [(h["hostname"], h["port"], h["nodetype"]) for h in proxies()] == [
        ("127.0.100.20", 6032, "proxysql")]
    removed = run_job(cmon, me, "removenode", {"force": True, "nodes": [proxy]}, cluster_id=1)
    assert removed["status"] == "FINISHED", removed
    assert proxies() == []
    assert run_job(cmon, me, "haproxy", {"action": "setupHaProxy"}, cluster_id=1)[
        "status"] == "FAILED"                                   # no node given


def cat_pairs(client: S9s, path: str) -> dict[str, str]:
    """``tree --cat --batch PATH`` read as check_container_server reads it."""
    text = ok(client.call(TREE, "cat", path=path))["file_content"]
    return {line.split()[0]: line.split(" : ", 1)[1] for line in text.splitlines()}


def test_server_state_files(cmon):
    """check_container_server: ``/<server>/.runtime/state`` and ``/.runtime/server_manager``
    name the server, its class and its capacity."""
    make_user(cmon)
    me = s9s(cmon)
    ok(register(me, "core4"))
    state = cat_pairs(me, "/core4/.runtime/state")
    assert (state["container_server_class"], state["server_name"]) == ("CmonLxcServer", "core4")
    assert int(state["number_of_processors"]) >= 1 and int(state["total_memory_gbyte"]) >= 2
    manager = cat_pairs(system(cmon), "/.runtime/server_manager")
    assert manager["number_of_servers"] == "1" and "server_manager_instance" in manager
    fails(me.call(TREE, "cat", path="/.runtime/server_manager"))     # system's file


def test_cluster_state_file(cmon):
    """ft_specialfiles testTree: ``/<cluster>/.runtime/state`` (system reads it)."""
    make_user(cmon)
    me = s9s(cmon)
    create_galera(cmon, me, "galera_001", ["127.0.100.12"])
    state = cat_pairs(system(cmon), "/galera_001/.runtime/state")
    assert "s9scluster_instance" in state and state["cluster_state"] == "STARTED"
    assert "/galera_001/databases" in flat(tree(me), "")


def test_database_and_account_without_cluster_id_use_the_only_cluster(cmon):
    """ft_mysqlreplication testUploadData: ``cluster --create-database --db-name=X`` and
    ``account --create`` name no cluster; with one cluster in sight, that one is meant.
    With none, the request still says it names no cluster."""
    make_user(cmon)
    me = s9s(cmon)
    database = {"class_name": "CmonDataBase", "database_name": "pipas1", "database_owner": ""}
    assert "cluster_id" in fails(me.call(CLUSTERS, "createDatabase", database=database),
                                 2)["error_string"]
    create_cluster(cmon, me, cluster_name="repl", cluster_type="replication",
                   vendor="percona", version="8.0",
                   nodes=[{"hostname": "127.0.100.12", "port": 3306}])
    ok(me.call(CLUSTERS, "createDatabase", database=database))
    ok(me.call(CLUSTERS, "createAccount", account={
        "class_name": "CmonAccount", "grants": "pipas1.*:ALL", "password": "p",
        "user_name": "pipas1"}))
    names = [a["user_name"] for a in ok(me.call(CLUSTERS, "getAccounts", cluster_id=1))[
        "accounts"]]
    assert "pipas1" in names


def test_database_admin_of_a_new_cluster_is_an_account(cmon):
    """ft_postgresqlsimple testCreateDatabase: the ``--db-admin`` of ``cluster --create``
    (``postgre_user``) is among the accounts (``account --list``)."""
    make_user(cmon)
    me = s9s(cmon)
    create_cluster(cmon, me, cluster_name="pg", cluster_type="postgresql_single",
                   version="10", postgre_user="postmaster", postgre_password="passwd12",
                   nodes=[{"hostname": "127.0.100.12", "port": 8089}])
    accounts = ok(me.call(CLUSTERS, "getAccounts", cluster_id=1))["accounts"]
    assert "postmaster" in [a["user_name"] for a in accounts]


def test_backup_into_a_fixed_directory_twice_is_refused(cmon):
    """ft_backup testCreateBackup03: ``backup --create --backup-dir=/tmp
    --subdirectory=X`` twice: the second job fails (no overwriting)."""
    make_user(cmon)
    me = s9s(cmon)
    create_galera(cmon, me, "galera_001", ["127.0.100.12"])
    data = {"backup_method": "mysqldump", "hostname": "127.0.100.12", "backupdir": "/tmp",
            "backupsubdir": "testCreateBackup03"}
    assert run_job(cmon, me, "backup", data, cluster_id=1)["status"] == "FINISHED"
    assert run_job(cmon, me, "backup", data, cluster_id=1)["status"] == "FAILED"
    numbered = dict(data, backupsubdir="BACKUP-%I")
    assert run_job(cmon, me, "backup", numbered, cluster_id=1)["status"] == "FINISHED"
    assert run_job(cmon, me, "backup", numbered, cluster_id=1)["status"] == "FINISHED"


def job_log(client: S9s, job_id: int) -> str:
    """``job --log --job-id=N``: the messages of the job."""
    reply = ok(client.call(JOBS, "getJobLog", job_id=job_id, limit=-1, offset=0))
    return "\n".join(m.get("message_text", "") for m in reply["messages"])


def test_delete_old_backups(cmon):
    """ft_backup testDeleteOld: nothing old yet; everything kept for the safety copies;
    some kept (dry run); then they go."""
    make_user(cmon)
    me = s9s(cmon)
    create_galera(cmon, me, "galera_001", ["127.0.100.12"])
    for _ in range(4):
        run_job(cmon, me, "backup", {"backup_method": "mysqldump", "hostname": "127.0.100.12",
                                     "backupdir": "/tmp"}, cluster_id=1)
    cmon.advance(60)

    def delete_old(**data: Any) -> str:
        job = run_job(cmon, me, "delete_old_backups", data, cluster_id=1)
        assert job["status"] == "FINISHED", job
        return job_log(me, job["job_id"])

    assert "No old backup records found" in delete_old(dry_run=True)
    assert "no backup can be deleted" in delete_old(backup_retention=0, safety_copies=10,
                                                    dry_run=True)
    assert "not considering other expired" in delete_old(backup_retention=0, safety_copies=3,
                                                         dry_run=True)
    assert ok(me.call("/v2/backup/", "getBackups", cluster_id=1))["total"] == 4
    delete_old(backup_retention=0, safety_copies=3)
    assert ok(me.call("/v2/backup/", "getBackups", cluster_id=1))["total"] == 3


def test_new_cluster_with_a_taken_name_is_renamed(cmon):
    """ft_galera_new testCreateClusterDupl1/2: a cluster created with a name in use is
    created as NAME~1, then NAME~2; registering (add_cluster) a taken name still fails."""
    make_user(cmon)
    me = s9s(cmon)
    for n in (12, 13, 14):
        assert create_galera(cmon, me, "g", [f"127.0.100.{n}"])["status"] == "FINISHED"
    names = [c["cluster_name"] for c in ok(me.call(CLUSTERS, "getAllClusterInfo"))["clusters"]]
    assert sorted(names) == ["g", "g~1", "g~2"]
    again = run_job(cmon, me, "add_cluster", {"cluster_name": "g", "cluster_type": "galera",
                                              "nodes": [{"hostname": "127.0.100.15"}]})
    assert again["status"] == "FAILED"
