"""/v2/config (node config files, templates, LDAP) and /v2/clusters getConfig/setConfig.

``/v2/clusters setConfig`` is how Terraform renames and retags a cluster
(``configuration: [{name: "name"|"tags", value}]``, tags joined by ``;``): those
settings are the cluster's own fields, so the change shows everywhere at once.
See ``fakecmon/world/config.py`` for what is stored and what is derived.
"""

from __future__ import annotations

import copy
from typing import Any

from fakecmon import permissions
from fakecmon.errors import ACCESS_DENIED, OBJECT_NOT_FOUND, RpcError, invalid
from fakecmon.rpc import Call, Payload, operation
from fakecmon.world import config
from fakecmon.world.config import ConfigFile, Option
from fakecmon.world.models import Cluster, Host

from fakecmon.api._common import announce, readable_host  # isort: skip

PATH = "/v2/config"
CLUSTERS = "/v2/clusters"


# ---- /v2/clusters getConfig / setConfig: CMON's own settings of a cluster

def _config_cluster(call: Call, verb: str) -> Cluster | None:
    """The cluster whose settings are read or written; None is the controller (cluster 0).

    CMON words the refusal "Read access to configuration 0 for user 'pipas'is denied."
    (sic: no space) and answers InvalidRequest.
    """
    user = call.login_user()
    world = call.world
    if call.body.get("cluster_name") not in (None, ""):
        cluster = world.cluster_by_name(call.arg("cluster_name", str))
        cid = cluster.cluster_id if cluster is not None else -1
    else:
        cid = call.arg("cluster_id", int, 0)
        cluster = world.clusters.get(cid) if cid else None
    denied = RpcError("InvalidRequest" if verb == "Read" else ACCESS_DENIED,
                      f"{verb} access to configuration {max(cid, 0)} for user "
                      f"'{user.user_name}'is denied.")
    if cid == 0:
        if not world.is_superuser(user):
            raise denied
        return None
    if cluster is None:
        raise invalid("Cluster was not found.")
    wanted = permissions.READ if verb == "Read" else permissions.WRITE
    if not permissions.can(world, user, cluster, permissions.READ):
        raise invalid("Cluster was not found.")
    if not permissions.can(world, user, cluster, wanted):
        raise denied
    return cluster


def _value_json(call: Call, cluster: Cluster | None, option: Option) -> dict[str, Any]:
    book = config.book(call.world)
    return {"name": option.name, "current_value": book.current(call.world, cluster, option),
            "default_value": option.default, "description": option.description,
            "keys": list(option.all_keys), "sql_keys": list(option.sql_keys)}


@operation(CLUSTERS, "getConfig")
def cluster_get_config(call: Call) -> Payload:
    cluster = _config_cluster(call, "Read")
    cid = cluster.cluster_id if cluster is not None else 0
    return {"configuration": {"values": [_value_json(call, cluster, o)
                                         for o in config.options_for(cid)]}}


def _changes(call: Call, cid: int) -> list[tuple[Option, Any]]:
    items = call.body.get("configuration")
    if not isinstance(items, list) or not items:
        raise invalid("The 'configuration' field must be a non-empty list of {name, value}.")
    changes = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise invalid("Each 'configuration' entry needs a 'name' string and a 'value'.")
        option = config.find_option(cid, item["name"])
        if option is None:
            raise invalid(f"Unknown configuration option '{item['name']}'.")
        if option.readonly:
            raise invalid(f"The configuration option '{option.name}' is read-only.")
        try:
            value = config.parse_value(option, item.get("value"))
        except ValueError as exc:
            raise invalid(f"Invalid value for '{option.name}': {exc}.") from None
        changes.append((option, value))
    return changes


def _apply_to_cluster(call: Call, cluster: Cluster, option: Option, value: Any) -> None:
    world = call.world
    if option.name == "name":
        if not value or "/" in value:
            raise invalid(f"Invalid cluster name '{value}'.")
        other = world.cluster_by_name(value)
        if other is not None and other is not cluster:
            raise invalid(f"Cluster name '{value}' is already used.")
        world.remove_cluster(cluster)
        cluster.cluster_name = value
        world.add_cluster(cluster)
    elif option.name == "tags":
        cluster.tags = list(dict.fromkeys(value or []))
    elif option.name == "enable_node_autorecovery":
        cluster.node_auto_recovery = bool(value)
    elif option.name == "enable_cluster_autorecovery":
        cluster.cluster_auto_recovery = bool(value)


@operation(CLUSTERS, "setConfig")
def cluster_set_config(call: Call) -> Payload:
    """Check every entry first, then apply them all (no half-changed configuration)."""
    cluster = _config_cluster(call, "Write")
    cid = cluster.cluster_id if cluster is not None else 0
    changes = _changes(call, cid)
    for option, value in changes:
        if option.name == "name" and cluster is not None:
            other = call.world.cluster_by_name(value or "")
            if not value or "/" in value or (other is not None and other is not cluster):
                raise invalid(f"Cluster name '{value}' is invalid or already used.")
    stored = config.book(call.world).values.setdefault(cid, {})
    for option, value in changes:
        if option.name in config.MIRRORED and cluster is not None:
            _apply_to_cluster(call, cluster, option, value)
            kind = "cluster.changed"
        else:
            stored[option.name] = value
            kind = "config.changed"
        text = f"Configuration value '{option.name}' is set to '{_show(value)}'."
        announce(call, kind, cid, text, name=option.name, value=_show(value))
    return {}    # CMON's reply carries no messages here (the capture)


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ";".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# ---- /v2/config: the config files of a node

_SYNTAX = {"ini": "MySQL", "plain": "Plain", "space": "Plain", "yaml": "YAML", "cmon": "Plain"}
#: The port of the controller host as the host lists show it (fakecmon/world/views.py).
CONTROLLER_PORT = 9500


def _node(call: Call, wanted: str) -> tuple[Cluster, Host]:
    cluster, host = readable_host(call, call.arg("hostname", str),
                                  call.arg("port", int, 0) or None, call.arg("cluster_id", int, 0))
    permissions.check_cluster(call.world, call.login_user(), cluster, cluster.cluster_id, wanted)
    return cluster, host


def _controller_of(call: Call, wanted: str) -> Cluster | None:
    """The cluster whose controller host the request names, when no node of a readable
    cluster has that name: the controller is a host of every cluster (``nodetype``
    ``controller``), and without a ``cluster_id`` the first readable cluster is taken,
    as for any other host. None when the name is not the controller's."""
    world = call.world
    port = call.arg("port", int, 0)
    if call.arg("hostname", str) != world.hostname or port not in (0, CONTROLLER_PORT):
        return None
    user = call.login_user()
    cid = call.arg("cluster_id", int, 0)
    for found in ([world.clusters.get(cid)] if cid else
                  [world.clusters[c] for c in sorted(world.clusters)]):
        if found is not None and permissions.can(world, user, found, permissions.READ):
            permissions.check_cluster(world, user, found, found.cluster_id, wanted)
            return found
    return None


def _file_json(hostname: str, port: int, f: ConfigFile) -> dict[str, Any]:
    content, values = f.render()
    syntax = "PostgreSQL" if "postgresql" in f.path else (
        "Redis" if f.path.endswith(("redis.conf", "valkey.conf")) else _SYNTAX[f.syntax])
    return {"class_name": "CmonConfigFile", "filename": f.filename, "path": f.path,
            "hostname": hostname, "port": port, "syntax": syntax,
            "content": content, "values": values}


def _config_reply(cluster: Cluster, hostname: str, port: int, f: ConfigFile) -> Payload:
    files = [_file_json(hostname, port, f)]
    # s9s lists ``config.files`` and saves the top-level ``files`` (node --pull-config).
    return {"config": {"class_name": "CmonClusterConfig", "cluster_id": cluster.cluster_id,
                       "hostname": hostname, "port": port, "files": files},
            "files": files}


def _node_or_controller(call: Call, wanted: str) -> tuple[Cluster, Host | None]:
    """The node the request names, or (its cluster, None) for the controller host."""
    try:
        return _node(call, wanted)
    except RpcError as exc:
        if exc.status != OBJECT_NOT_FOUND:
            raise
        cluster = _controller_of(call, wanted)
        if cluster is None:
            raise
        return cluster, None


@operation(PATH, "getConfig")
def get_config(call: Call) -> Payload:
    """A node's config file; of the controller host, the controller's configuration file
    of that cluster (``cmon_<id>.cnf``, fakecmon/world/config.py ``controller_file``)."""
    cluster, host = _node_or_controller(call, permissions.READ)
    if host is None:
        return _config_reply(cluster, call.world.hostname, CONTROLLER_PORT,
                             config.controller_file(call.world, cluster))
    return _config_reply(cluster, host.hostname, host.port,
                         config.book(call.world).node_file(cluster, host))


def _writable_node(call: Call) -> tuple[Cluster, Host]:
    """The node whose file setConfig/unsetConfig change; the controller's file is not
    one of them: its settings change through ``/v2/clusters setConfig``."""
    cluster, host = _node_or_controller(call, permissions.WRITE)
    if host is None:
        raise invalid(f"The configuration file of the controller (/etc/cmon.d/cmon_"
                      f"{cluster.cluster_id}.cnf) is changed with the setConfig operation "
                      f"of /v2/clusters.")
    return cluster, host


def _entries(call: Call, need_value: bool) -> list[tuple[str, str, str | None]]:
    items = call.body.get("configuration")
    if not isinstance(items, list) or not items:
        raise invalid("The 'configuration' field must be a non-empty list of {name, value}.")
    found = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise invalid("Each 'configuration' entry needs a 'name' string.")
        value = item.get("value")
        if need_value and (value is None or isinstance(value, (dict, list))):
            raise invalid(f"The configuration entry '{item['name']}' needs a scalar 'value'.")
        group = item.get("group")
        if group is not None and not isinstance(group, str):
            raise invalid("The 'group' of a configuration entry must be a string.")
        text = _show(value) if value is not None else ""
        found.append((item["name"], text, group))
    return found


def _section(f: ConfigFile, group: str | None) -> str:
    if group is not None:
        return group
    return "mysqld" if f.section("mysqld") is not None else f.default_section()


#: Server variables whose value is a plain number: the controller refuses anything else
#: (ft_postgresql testConfigFail: ``max_connections`` set to a word fails).
INTEGER_VARIABLES = frozenset((
    "max_connections", "port", "max_wal_senders", "max_replication_slots",
    "max_worker_processes", "server_id", "server-id", "auto_increment_increment",
    "auto_increment_offset", "max_connect_errors", "thread_cache_size",
))


@operation(PATH, "setConfig")
def set_config(call: Call) -> Payload:
    cluster, host = _writable_node(call)
    entries = _entries(call, True)
    f = config.book(call.world).node_file(cluster, host)
    messages = []
    for name, value, _ in entries:
        if name.lower() in INTEGER_VARIABLES and not value.strip().lstrip("-").isdigit():
            raise invalid(f"The value of '{name}' must be an integer, not '{value}'.")
    for name, value, group in entries:
        lines = f.section(_section(f, group), create=True)
        assert lines is not None
        for line in lines:
            if line[0] == name:
                line[1] = value
                break
        else:
            lines.append([name, value])
        messages.append(f"{host.hostname}:{host.port}: '{name}' is set to '{value}' in {f.path}.")
    announce(call, "config.changed", cluster.cluster_id, "; ".join(messages),
             hostname=host.hostname, port=host.port)
    return {"messages": messages}


@operation(PATH, "unsetConfig")
def unset_config(call: Call) -> Payload:
    cluster, host = _writable_node(call)
    entries = _entries(call, False)
    f = config.book(call.world).node_file(cluster, host)
    targets = []
    for name, _, group in entries:
        lines = f.section(_section(f, group))
        line = next((ln for ln in lines or [] if ln[0] == name), None)
        if lines is None or line is None:
            raise invalid(f"The variable '{name}' is not set in {f.path}.")
        targets.append((lines, line))
    messages = []
    for lines, line in targets:
        lines.remove(line)
        messages.append(f"{host.hostname}:{host.port}: '{line[0]}' is removed from {f.path}.")
    announce(call, "config.changed", cluster.cluster_id, "; ".join(messages),
             hostname=host.hostname, port=host.port)
    return {"messages": messages}


#: (cluster type, vendor, version, template file) of the templates CMON ships.
TEMPLATES = (
    ("galera", "percona", "8.0", "my.cnf.80-pxc"),
    ("galera", "mariadb", "10.11", "my.cnf.mdb10x-galera"),
    ("galera", "mariadb", "11.4", "my.cnf.mdb11x-galera"),
    ("replication", "oracle", "8.0", "my.cnf.80-repl"),
    ("replication", "percona", "8.0", "my.cnf.80-repl"),
    ("replication", "mariadb", "10.11", "my.cnf.mdb10x-replication"),
    ("group_replication", "oracle", "8.0", "my.cnf.grouprepl"),
    ("postgresql_single", "default", "16", "postgresql.conf.j2"),
    ("mongodb", "percona", "7.0", "mongodb.conf.percona"),
    ("mongodb", "10gen", "7.0", "mongodb.conf.org"),
    ("redis", "redis", "7", "redis.conf.j2"),
    ("valkey", "valkey", "8", "valkey.conf.j2"),
    ("mssql_single", "microsoft", "2022", "mssql.conf.j2"),
    ("elastic", "elastic", "8", "elasticsearch.yml.j2"),
)


@operation(PATH, "listTemplates", kind="world-data")
def list_templates(call: Call) -> Payload:
    """The configuration templates deployments use (optionally of one ``cluster_type``)."""
    call.login_user()
    wanted = call.arg("cluster_type", str, "").lower()
    found = [{"class_name": "CmonConfigTemplate", "cluster_type": ctype, "vendor": vendor,
              "version": version, "name": name, "path": f"/etc/cmon/templates/{name}"}
             for ctype, vendor, version, name in TEMPLATES if not wanted or ctype == wanted]
    return {"total": len(found), "templates": found}


# ---- LDAP settings (superusers only: they hold the LDAP admin password)

LDAP_STRINGS = ("ldapAdminPassword", "ldapAdminUser", "ldapGroupSearchRoot", "ldapServerUri",
                "ldapUserSearchRoot")


#: Every key of CMON's LDAP configuration (its camelCase names), unset: what
#: getLdapConfig shows for what was never set.
LDAP_UNSET: dict[str, Any] = {
    "enabled": False, **dict.fromkeys(LDAP_STRINGS), "groupMappings": [],
    "ldapSettings": dict.fromkeys((
        "ldapEmailAttributes", "ldapGroupClassName", "ldapGroupIdAttributes",
        "ldapGroupNameAttribute", "ldapMemberAttributes", "ldapNetworkTimeout",
        "ldapProtocolVersion", "ldapQueryTimeLimit", "ldapRealnameAttributes",
        "ldapUserClassName", "ldapUsernameAttributes")),
    "security": dict.fromkeys(("caCertFile", "certFile", "keyFile")),
}
#: The example values CMON shows beside the configuration (``defaults``).
LDAP_DEFAULTS: dict[str, Any] = {
    "enabled": False, "ldapAdminPassword": "",
    "ldapAdminUser": "CN=Administrator,CN=Users,DC=ldap,DC=mydomain,DC=com",
    "ldapGroupSearchRoot": "CN=Groups,OU=IT,DC=ldap,DC=mydomain,DC=com",
    "ldapServerUri": "ldaps://ldap.mydomain.com:686",
    "ldapUserSearchRoot": "CN=Users,DC=ldap,DC=mydomain,DC=com",
    "groupMappings": [],
    "ldapSettings": {
        "ldapEmailAttributes": "mail,userPrincipalName", "ldapGroupClassName": "",
        "ldapGroupIdAttributes": "dn,uid", "ldapGroupNameAttribute": "cn",
        "ldapMemberAttributes": "member,memberUid", "ldapNetworkTimeout": 5,
        "ldapProtocolVersion": 3, "ldapQueryTimeLimit": 5,
        "ldapRealnameAttributes": "cn,displayName", "ldapUserClassName": "objectclass=*",
        "ldapUsernameAttributes": "uid,sAMAccountName"},
    "security": {"caCertFile": "/etc/ssl/certs/ldap-ca.crt",
                 "certFile": "/etc/ssl/certs/ldap.crt", "keyFile": "/etc/ssl/certs/ldap.pem"},
}


def _ldap_view(stored: dict[str, Any]) -> dict[str, Any]:
    """The stored settings over every key unset (sections merged key by key)."""
    doc = copy.deepcopy(LDAP_UNSET)
    for key, value in copy.deepcopy(stored).items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            doc[key].update(value)
        else:
            doc[key] = value
    doc["defaults"] = copy.deepcopy(LDAP_DEFAULTS)
    return doc


@operation(PATH, "getLdapConfig")
def get_ldap_config(call: Call) -> Payload:
    user = call.login_user()
    permissions.require_superuser(call.world, user, "read the LDAP configuration")
    mine = permissions.privileges(call.world, user, permissions.controller_object(call.world))
    return {"ldap_configuration": _ldap_view(config.book(call.world).ldap),
            "effective_privileges": mine}


@operation(PATH, "setLdapConfig")
def set_ldap_config(call: Call) -> Payload:
    permissions.require_superuser(call.world, call.login_user(), "change the LDAP configuration")
    spec = call.body.get("ldap_configuration")
    if not isinstance(spec, dict):
        raise invalid("The 'ldap_configuration' field must be an object.")
    if "enabled" in spec and not isinstance(spec["enabled"], bool):
        raise invalid("The 'enabled' field of the LDAP configuration must be a boolean.")
    for name in LDAP_STRINGS:
        if spec.get(name) is not None and not isinstance(spec[name], str):
            raise invalid(f"The '{name}' field of the LDAP configuration must be a string.")
    for name in ("groupMappings",):
        if spec.get(name) is not None and not isinstance(spec[name], list):
            raise invalid(f"The '{name}' field of the LDAP configuration must be a list.")
    book = config.book(call.world)
    book.ldap = {**book.ldap, **copy.deepcopy(spec)}
    announce(call, "config.ldap_changed", 0, "The LDAP configuration is changed.",
             enabled=bool(book.ldap.get("enabled")))
    return {}


# ---- the license

@operation(PATH, "getLicense")
def get_license(call: Call) -> Payload:
    call.login_user()
    return config.license_docs(call.world, call.now)


@operation(PATH, "setLicense")
def set_license(call: Call) -> Payload:
    """``licensedata``: the key, JSON ``{company, email_address, expiration_date,
    licensed_nodes, type}`` as is or base64-encoded; superusers only."""
    permissions.require_superuser(call.world, call.login_user(), "change the license")
    data = call.arg("licensedata", str)
    try:
        lic = config.install_license(call.world, data)
    except ValueError as exc:
        raise invalid(f"The license data is invalid: {exc}.") from None
    announce(call, "config.license_changed", 0,
             f"License of {lic.company} installed (expires {config.rfc3339(lic.expiration)}).")
    return config.license_docs(call.world, call.now)
