"""/v2/clusters getConfig/setConfig (CMON settings) and /v2/config (node files, templates,
LDAP, license)."""

from __future__ import annotations

import base64
import json

from areautil import login, replay
from cdtutil import op
from fakecmon.timefmt import rfc3339

C, CFG = "/v2/clusters", "/v2/config"


def values(client, cluster_id):
    reply = client.call(C, "getConfig", cluster_id=cluster_id)
    assert reply["request_status"] == "Ok", reply
    return {v["name"]: v for v in reply["configuration"]["values"]}


def cluster(client, cluster_id):
    return client.call(C, "getClusterInfo", cluster_id=cluster_id)["cluster"]


def test_cluster_settings_shape(system):
    found = values(system, 1)
    for v in found.values():
        assert set(v) == {"name", "current_value", "default_value", "description", "keys",
                          "sql_keys"}
        assert isinstance(v["keys"], list) and v["name"] in v["keys"]
    assert found["cluster_id"]["current_value"] == 1
    assert found["name"]["current_value"] == "galera-prod"
    assert found["cluster_type"]["current_value"] == "galera"
    assert found["mysql_server_addresses"]["current_value"] == [
        "10.0.1.11:3306", "10.0.1.12:3306", "10.0.1.13:3306"]
    assert found["enable_node_autorecovery"]["current_value"] is True
    assert found["backup_retention"] == {**found["backup_retention"], "current_value": 31,
                                         "default_value": 31}


def test_terraform_renames_and_retags_a_cluster(system):
    reply = system.call(C, "setConfig", cluster_id=2, configuration=[
        {"name": "name", "value": "mysql-repl-renamed"}, {"name": "tags", "value": "staging;tf"}])
    assert reply["request_status"] == "Ok", reply
    info = cluster(system, 2)
    assert (info["cluster_name"], info["tags"]) == ("mysql-repl-renamed", ["staging", "tf"])
    by_name = system.call(C, "getClusterInfo", cluster_name="mysql-repl-renamed")
    assert by_name["cluster"]["cluster_id"] == 2
    assert system.call(C, "getClusterInfo", cluster_name="mysql-replication")[
        "request_status"] == "ObjectNotFound"
    assert values(system, 2)["tags"]["current_value"] == ["staging", "tf"]


def test_set_plain_and_mirrored_values(system):
    reply = system.call(C, "setConfig", cluster_id=1, configuration=[
        {"name": "host_stats_collection_interval", "value": "120"},
        {"name": "enable_node_autorecovery", "value": "false"},
        {"name": "cluster_name", "value": "galera-main"}])          # an alias of 'name'
    assert reply["request_status"] == "Ok"
    found = values(system, 1)
    assert found["host_stats_collection_interval"]["current_value"] == 120
    assert found["host_stats_collection_interval"]["default_value"] == 30
    assert cluster(system, 1)["node_auto_recovery"] is False
    assert cluster(system, 1)["cluster_name"] == "galera-main"


def test_bad_settings_change_nothing(system):
    before = values(system, 1)
    for entries, text in [
        ([{"name": "cpu_warning", "value": "70"}, {"name": "no_such_option", "value": "1"}],
         "Unknown configuration option 'no_such_option'."),
        ([{"name": "cpu_warning", "value": "70"}, {"name": "cluster_id", "value": "9"}],
         "read-only"),
        ([{"name": "cpu_warning", "value": "lots"}], "expected an integer"),
        ([{"name": "cpu_warning", "value": "70"}, {"name": "name", "value": "postgres-main"}],
         "already used"),
    ]:
        reply = system.call(C, "setConfig", cluster_id=1, configuration=entries)
        assert reply["request_status"] == "InvalidRequest" and text in reply["error_string"]
    assert values(system, 1) == before
    assert system.call(C, "setConfig", cluster_id=1)["request_status"] == "InvalidRequest"


def test_permissions(cmon, reader, system):
    assert values(reader, 1)["name"]["current_value"] == "galera-prod"
    denied = reader.call(C, "setConfig", cluster_id=1,
                         configuration=[{"name": "cpu_warning", "value": "70"}])
    assert denied["request_status"] == "AccessDenied"
    assert denied["error_string"] == "Write access to configuration 1 for user " \
                                     "'readeruser'is denied."
    controller = reader.call(C, "getConfig", cluster_id=0)
    assert controller["error_string"] == "Read access to configuration 0 for user " \
                                         "'readeruser'is denied."
    assert values(system, 0)["controller_id"]["current_value"] == cmon.controller_id
    dba = login(cmon, "dba", "dba-pass")
    assert dba.call(C, "getConfig", cluster_id=1)["error_string"] == "Cluster was not found."


def test_cluster_config_captures(cmon, system, contract):
    dba = login(cmon, "dba", "dba-pass")       # not a superuser, like the capture's pipas
    replay(dba, contract, "InvalidRequest-getConfig", C)
    replay(system, contract, "Ok-getConfig", C)
    replay(system, contract, "Ok-setConfig", C)
    assert values(system, 1)["host_stats_collection_interval"]["current_value"] == 120


# ---- node config files

def node_file(client, hostname, **fields):
    reply = client.call(CFG, "getConfig", hostname=hostname, **fields)
    assert reply["request_status"] == "Ok", reply
    files = reply["config"]["files"]
    assert len(files) == 1
    return files[0]


def test_node_config_files(system):
    mycnf = node_file(system, "10.0.1.11", port=3306)
    assert (mycnf["filename"], mycnf["path"], mycnf["syntax"]) == ("my.cnf", "/etc/mysql/my.cnf",
                                                                  "MySQL")
    names = {(v["section"], v["variablename"]): v["value"] for v in mycnf["values"]}
    assert names[("mysqld", "wsrep_cluster_address")] == "gcomm://10.0.1.11,10.0.1.12,10.0.1.13"
    lines = mycnf["content"].splitlines()
    for v in mycnf["values"]:
        assert type(v["linenumber"]) is int and lines[v["linenumber"] - 1].startswith(
            v["variablename"])
        assert v["filepath"] == "/etc/mysql/my.cnf"
    pg = node_file(system, "10.0.3.31")
    assert pg["path"] == "/etc/postgresql/16/main/postgresql.conf" and pg["syntax"] == "PostgreSQL"
    assert node_file(system, "10.0.4.41")["filename"] == "mongod.conf"
    missing = system.call(CFG, "getConfig", hostname="10.9.9.9")
    assert missing["request_status"] == "ObjectNotFound"


def test_node_set_and_unset(system, reader):
    reply = system.call(CFG, "setConfig", hostname="10.0.1.12", port=3306, configuration=[
        {"name": "max_connections", "value": 800},
        {"name": "performance_schema", "value": "ON", "group": "mysqld"}])
    assert reply["request_status"] == "Ok" and len(reply["messages"]) == 2
    text = node_file(system, "10.0.1.12")["content"]
    assert "max_connections = 800" in text and "performance_schema = ON" in text
    assert "max_connections = 500" in node_file(system, "10.0.1.11")["content"]   # per node
    gone = system.call(CFG, "unsetConfig", hostname="10.0.1.12",
                       configuration=[{"name": "performance_schema"}])
    assert gone["request_status"] == "Ok"
    assert "performance_schema" not in node_file(system, "10.0.1.12")["content"]
    again = system.call(CFG, "unsetConfig", hostname="10.0.1.12",
                        configuration=[{"name": "performance_schema"}])
    assert again["request_status"] == "InvalidRequest"
    denied = reader.call(CFG, "setConfig", hostname="10.0.1.12",
                         configuration=[{"name": "max_connections", "value": 1}])
    assert denied["request_status"] == "AccessDenied"


def controller_values(client, **fields):
    """``node --list-config --nodes=<controller>``: (section, name) -> value."""
    f = node_file(client, "192.168.20.10", **fields)
    return f, {(v["section"], v["variablename"]): v["value"] for v in f["values"]}


def test_controller_config_file(system, reader):
    """The controller is a host of every cluster: its file there is ``cmon_<id>.cnf``, one
    ``name=value`` line per setting with a value, the same values ``/v2/clusters getConfig``
    shows (a change there shows here); without a ``cluster_id`` the first cluster's."""
    f, found = controller_values(system)
    assert (f["path"], f["filename"], f["hostname"], f["port"]) == (
        "/etc/cmon.d/cmon_1.cnf", "cmon_1.cnf", "192.168.20.10", 9500)
    assert {section for section, _ in found} == {""}
    names = [name for _, name in found]
    assert names == sorted(names)
    assert found[("", "logfile")] == "/var/log/cmon_1.log"
    assert found[("", "cdt_path")] == "/"
    assert found[("", "cluster_id")] == "1"
    settings = values(system, 1)
    assert found[("", "group_owner")] == str(settings["group_owner"]["current_value"])
    assert found[("", "mysql_server_addresses")] == "10.0.1.11:3306,10.0.1.12:3306,10.0.1.13:3306"
    assert ("", "config_file_path") not in found and ("", "controller_id") not in found
    lines = f["content"].splitlines()
    for v in f["values"]:
        assert lines[v["linenumber"] - 1] == f"{v['variablename']}={v['value']}"
    ok = system.call(C, "setConfig", cluster_id=1, configuration=[
        {"name": "host_stats_collection_interval", "value": "120"},
        {"name": "name", "value": "galera main"}])
    assert ok["request_status"] == "Ok", ok
    _, found = controller_values(system)
    assert found[("", "host_stats_collection_interval")] == "120"
    assert found[("", "name")] == "'galera main'"
    second, found = controller_values(reader, cluster_id=2, port=9500)
    assert second["path"] == "/etc/cmon.d/cmon_2.cnf"
    assert found[("", "logfile")] == "/var/log/cmon_2.log"
    assert system.call(CFG, "getConfig", hostname="192.168.20.10", port=3306)[
        "request_status"] == "ObjectNotFound"


def test_cdt_path_is_the_folder_of_the_cluster(system):
    assert op(system, "/v2/tree", "mkdir", path="/prod")["request_status"] == "Ok"
    moved = op(system, "/v2/tree", "move", source_path="/galera-prod", target_path="/prod")
    assert moved["request_status"] == "Ok", moved
    assert values(system, 1)["cdt_path"]["current_value"] == "/prod"
    assert controller_values(system)[1][("", "cdt_path")] == "/prod"
    assert values(system, 2)["cdt_path"]["current_value"] == "/"


def test_controller_config_file_is_changed_through_the_cluster(system):
    for operation in ("setConfig", "unsetConfig"):
        reply = system.call(CFG, operation, hostname="192.168.20.10", cluster_id=1,
                            configuration=[{"name": "cpu_warning", "value": "70"}])
        assert reply["request_status"] == "InvalidRequest"
        assert reply["error_string"] == ("The configuration file of the controller "
                                         "(/etc/cmon.d/cmon_1.cnf) is changed with the "
                                         "setConfig operation of /v2/clusters.")
    assert values(system, 1)["cpu_warning"]["current_value"] == 80


def test_controller_config_file_needs_read_access(cmon):
    """Clusters the caller may not read do not count: ``dba`` reads only cluster 3."""
    dba = login(cmon, "dba", "dba-pass")
    assert node_file(dba, "192.168.20.10")["path"] == "/etc/cmon.d/cmon_3.cnf"
    reply = dba.call(CFG, "getConfig", hostname="192.168.20.10", cluster_id=1)
    assert (reply["request_status"], reply["error_string"]) == (
        "ObjectNotFound", "Host '192.168.20.10' was not found.")


def test_templates(system):
    reply = system.call(CFG, "listTemplates")
    assert reply["request_status"] == "Ok" and reply["total"] == len(reply["templates"]) > 5
    galera = system.call(CFG, "listTemplates", cluster_type="galera")["templates"]
    assert galera and {t["cluster_type"] for t in galera} == {"galera"}


def test_ldap(system, reader, contract):
    replay(system, contract, "Ok-setLdapConfig", CFG)
    got = system.call(CFG, "getLdapConfig")["ldap_configuration"]
    assert got["enabled"] is True and got["ldapServerUri"] == "ldap://ldap.homelab.local:389"
    assert reader.call(CFG, "getLdapConfig")["request_status"] == "AccessDenied"
    bad = system.call(CFG, "setLdapConfig", ldap_configuration={"enabled": "yes"})
    assert bad["request_status"] == "InvalidRequest"


def test_license(cmon, system, reader):
    start = system.call(CFG, "getLicense")
    assert start["license"]["days_left"] == 365 and start["license_check"]["has_license"]
    expires = rfc3339(cmon.run(lambda c: c.clock.now()) + 10 * 86400)
    key = base64.b64encode(json.dumps({
        "company": "Example Corp", "email_address": "ops@example.com",
        "expiration_date": expires, "licensed_nodes": 20, "type": "Advanced"}).encode()).decode()
    assert reader.call(CFG, "setLicense", licensedata=key)["request_status"] == "AccessDenied"
    reply = system.call(CFG, "setLicense", licensedata=key)
    assert reply["request_status"] == "Ok" and reply["license"]["company"] == "Example Corp"
    info = system.call(C, "getAllClusterInfo", with_license_check=True)
    assert (info["license"]["licensed_nodes"], info["license"]["days_left"]) == (20, 10)
    cmon.advance(11 * 86400)
    later = system.call(C, "getAllClusterInfo", with_license_check=True)
    assert later["license_check"]["has_license"] is False and later["license"]["days_left"] == 0
    bad = system.call(CFG, "setLicense", licensedata="not a key")
    assert bad["request_status"] == "InvalidRequest"
