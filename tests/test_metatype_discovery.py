"""/v2/metatype, /v2/discovery, /v2/dbversions, /v2/repositories: catalogue and checks."""

from __future__ import annotations

from typing import Any

from cdtutil import capture, json_type, replay, type_mismatches


def body(reply: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in reply.items() if k not in (
        "controller_id", "request_processed", "request_id", "request_created")}


# ---- metatype

def test_get_meta_types_replays_the_capture(system, contract):
    req, rep = capture(contract, "Ok-getMetaTypes")
    ours = replay(system, "/v2/metatype/", req)
    assert ours["request_status"] == rep["request_status"]
    assert set(ours) == set(rep) - {"reply_received"}
    assert not type_mismatches(ours["metatype_info"], rep["metatype_info"])
    names = [t["type_name"] for t in ours["metatype_info"]]
    assert names == sorted(names)
    # what s9s's ft_metatype.sh looks for
    assert {"CmonAccount", "CmonVerbatim", "CmonFile", "CmonStats"} <= set(names)
    stats = next(t for t in ours["metatype_info"] if t["type_name"] == "CmonStats")
    assert stats["description"].startswith("Basic type for")
    # every class fakecmon sends appears in the catalogue
    assert {"CmonUser", "CmonGroup", "CmonClusterInfo", "CmonGaleraHost", "CmonEvent",
            "CmonJobInstance", "CmonAlarm"} <= set(names)


def test_get_meta_type_info_replays_the_capture(system, contract):
    req, rep = capture(contract, "Ok-getMetaTypeInfo")
    ours = replay(system, "/v2/metatype/", req)
    assert ours["request_status"] == "Ok"
    assert set(ours) == set(rep) - {"reply_received"}
    assert (ours["type_name"], ours["parent_type_name"]) == (rep["type_name"], rep["parent_type_name"])
    theirs = {p["property_name"]: p for p in rep["metatype_info"]}
    mine = {p["property_name"]: p for p in ours["metatype_info"]}
    assert set(mine) == set(theirs)
    for name, prop in mine.items():
        assert set(prop) == set(theirs[name]), name
        assert not type_mismatches(prop, theirs[name]), name
    assert "The name of the owner" in mine["user"]["description"]
    assert mine["host_name"]["is_public"] is False


def test_meta_type_info_inherits_and_fails_cleanly(system):
    galera = system.call("/v2/metatype", "getMetaTypeInfo", type_name="CmonGaleraHost")
    owners = {p["owner_type_name"] for p in galera["metatype_info"]}
    assert galera["parent_type_name"] == "CmonMySqlHost" and "CmonHost" in owners
    assert "hostId" in {p["property_name"] for p in galera["metatype_info"]}
    memory = system.call("/v2/metatype", "getMetaTypeInfo", **{"type-name": "CmonMemoryStats"})
    ramtotal = next(p for p in memory["metatype_info"] if p["property_name"] == "ramtotal")
    assert ramtotal["unit"] == "byte" and ramtotal["owner_type_name"] == "CmonMemoryStats"
    assert {"created", "hostid"} <= {p["property_name"] for p in memory["metatype_info"]}
    missing = system.call("/v2/metatype", "getMetaTypeInfo", **{"type-name": "CmonNoSuch"})
    assert missing["request_status"] == "ObjectNotFound"
    assert system.call("/v2/metatype", "getMetaTypeInfo")["request_status"] == "InvalidRequest"


def test_metatype_needs_a_login(cmon):
    assert cmon.client().call("/v2/metatype", "getMetaTypes")["request_status"] == "AuthRequired"


# ---- discovery

def test_check_cluster_name(system, cmon):
    taken = system.call("/v2/discovery", "checkClusterName", new_cluster_name="galera-prod")
    assert taken["request_status"] == "Ok" and taken["is_acceptable"] is False
    free = system.call("/v2/discovery", "checkClusterName", new_cluster_name="foo")
    assert free["is_acceptable"] is True
    for bad in ("", "a/b"):
        assert system.call("/v2/discovery", "checkClusterName",
                           new_cluster_name=bad)["is_acceptable"] is False
    assert system.call("/v2/discovery", "checkClusterName")["request_status"] == "InvalidRequest"
    # follows the world: a removed cluster frees its name
    cmon.run(lambda c: c.world.remove_cluster(c.world.clusters[1]))
    assert system.call("/v2/discovery", "checkClusterName",
                       new_cluster_name="galera-prod")["is_acceptable"] is True


def test_supported_cluster_types_and_dbversions_agree(system):
    reply = system.call("/v2/discovery", "getSupportedClusterTypes")
    names = reply["cluster_type_names"]
    # CMON's own names (s9s's request examples): "myqlcluster" is CMON's spelling.
    assert {"galera", "replication", "groupreplication", "myqlcluster", "postgresql",
            "mongodb", "redis"} <= set(names)
    assert reply["total"] == len(names)
    props = reply["cluster_type_properties"]
    assert list(props) == names and all(props[n]["type_name"] == n for n in names)
    galera = props["galera"]
    assert isinstance(galera["long_name"], str)
    vendors = {v["name"]: v["versions"] for v in galera["vendors"]}
    assert "8.0" in vendors["percona"] and "10.11" in vendors["mariadb"]
    assert system.call("/v2/dbversions", "getClusterTypes")["cluster_types"] == names
    versions = system.call("/v2/dbversions", "getDbVersions", cluster_type="galera",
                           vendor="mariadb")["db_versions"]
    assert versions == vendors["mariadb"]
    patches = system.call("/v2/dbversions", "getDbVersions", cluster_type="galera",
                          vendor="mariadb", patch_number=True)["db_versions"]
    assert all(any(p.startswith(v + ".") for v in versions) for p in patches)
    assert "percona" in system.call("/v2/dbversions", "getVendors")["vendors"]
    assert system.call("/v2/dbversions", "getVendors", cluster_type="mongodb")["vendors"] == [
        "10gen", "percona"]
    bad = system.call("/v2/dbversions", "getDbVersions", cluster_type="galera", vendor="oracle")
    assert bad["request_status"] == "InvalidRequest"
    assert system.call("/v2/dbversions", "getDbVersions", cluster_type="nosql",
                       vendor="x")["request_status"] == "InvalidRequest"


def test_check_hosts(system):
    reply = system.call("/v2/discovery", "checkHosts", check_ssh_sudo=True,
                        check_if_already_registered=True,
                        nodes=[{"host_name": "10.0.0.254", "class_name": "CmonHost", "port": 5432},
                               {"hostname": "192.0.2.7", "port": 3306},
                               "10.0.1.11:3306"])
    assert reply["request_status"] == "Ok" and reply["total"] == 3
    checked = {c["host"]["hostname"]: c for c in reply["checked_hosts"]}
    ok = checked["10.0.0.254"]
    assert ok["status"]["error_code"] == "HostIsOk" and ok["host"]["port"] == 5432
    assert ok["status"]["sudo_ok"] is True
    assert checked["192.0.2.7"]["status"]["error_code"] != "HostIsOk"
    assert checked["192.0.2.7"]["status"]["error_message"]
    assert checked["10.0.1.11"]["status"]["error_code"] == "HostAlreadyRegistered"
    again = system.call("/v2/discovery", "checkHosts", nodes=["10.0.1.11"])
    bad_port = system.call("/v2/discovery", "checkHosts",
                           nodes=[{"hostname": "10.0.0.254", "port": "\u00b2"}])
    assert bad_port["request_status"] == "InvalidRequest"     # "²".isdigit(), but no port
    assert again["checked_hosts"][0]["status"]["error_code"] == "HostIsOk"
    job = {"class_name": "CmonJobInstance", "job_spec": {"command": "create_cluster", "job_data": {
        "cluster_type": "group_replication", "nodes": [{"class_name": "CmonHost",
                                                         "host_name": "10.9.9.9"}]}}}
    with_job = system.call("/v2/discovery", "checkHosts", check_job=True, job=job, nodes=[])
    assert [c["host"]["hostname"] for c in with_job["checked_hosts"]] == ["10.9.9.9"]
    assert system.call("/v2/discovery", "checkHosts", nodes=[])["request_status"] == "InvalidRequest"
    assert system.call("/v2/discovery", "checkHosts", nodes="x")["request_status"] == "InvalidRequest"


def test_ssh_credentials(system, cmon):
    reply = system.call("/v2/discovery", "getSshCredentials", cluster_id=3)
    creds = reply["ssh_credentials"]
    assert creds["user_name"] == "root" and type(creds["port"]) is int
    dba = cmon.client()
    dba.login("dba", "dba-pass")
    assert dba.call("/v2/discovery", "getSshCredentials", cluster_id=1)[
        "request_status"] == "AccessDenied"


# ---- repositories

def test_repositories_follow_the_clusters(system, cmon):
    reply = system.call("/v2/repositories", "getRepositories")
    assert reply["request_status"] == "Ok" and reply["total"] == len(reply["repositories"])
    names = {r["name"] for r in reply["repositories"]}
    assert "percona-8.0-jammy" in names and "mariadb-10.11-jammy" in names
    for repo in reply["repositories"]:
        assert all(type(c) is int for c in repo["clusters"])
        assert json_type(repo["local"]) == "boolean"
    only = system.call("/v2/repositories", "getRepositories", cluster_id=3)
    assert [r["vendor"] for r in only["repositories"]] == ["default"]
    setups = system.call("/v2/repositories", "getSupportedSetups")
    assert setups["total"] == len(setups["setups"]) > 50
    assert {"cluster_type", "vendor", "db_version", "os", "os_release"} <= set(setups["setups"][0])
