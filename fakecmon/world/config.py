"""Configuration: each cluster's CMON settings and each node's database config files.

*Cluster settings* (``/v2/clusters getConfig/setConfig``) are CMON's
``cmon_<id>.cnf`` options. Some mirror the cluster itself (``name``, ``tags``,
the auto-recovery switches: setting them changes the cluster), some are derived
and read-only (``cluster_id``, the server address lists...), the rest are plain
values with CMON's defaults that a ``setConfig`` overrides.

*Node config files* (``/v2/config getConfig/setConfig/unsetConfig``) are the
``my.cnf``/``postgresql.conf``/``mongod.conf``/``redis.conf`` of a host, built
from the host and its cluster on first use, then kept (and changed) per world.

State: ``world.extensions["config"]`` (a ``ConfigBook``).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fakecmon.timefmt import parse_time, rfc3339

from fakecmon.world.models import Cluster, Host
from fakecmon.world.state import World

KEY = "config"

Getter = Callable[[World, Cluster], Any]


@dataclass(frozen=True)
class Option:
    """One CMON setting: its names, type, default, and where its value comes from."""

    name: str
    kind: type
    default: Any
    description: str
    keys: tuple[str, ...] = ()
    sql_keys: tuple[str, ...] = ()
    getter: Getter | None = None        # derived from the world instead of stored
    readonly: bool = False

    @property
    def all_keys(self) -> tuple[str, ...]:
        return (self.name,) + tuple(k for k in self.keys if k != self.name)


#: Settings that are the cluster's own fields: setting them changes the cluster.
MIRRORED = ("name", "tags", "enable_node_autorecovery", "enable_cluster_autorecovery")

MYSQL_TYPES = {"GALERA", "REPLICATION", "MYSQL_SINGLE", "GROUP_REPLICATION", "MYSQLCLUSTER"}


def _addresses(kinds: set[str]) -> Getter:
    def get(world: World, cluster: Cluster) -> Any:
        if cluster.cluster_type not in kinds:
            return None
        found = [f"{h.hostname}:{h.port}" for h in cluster.hosts
                 if h.nodetype not in ("haproxy", "proxysql", "maxscale", "pgbouncer",
                                       "keepalived", "garbd", "prometheus", "controller")]
        return found or None
    return get


def _datadirs(world: World, cluster: Cluster) -> Any:
    dirs = sorted({h.datadir for h in cluster.hosts if h.datadir})
    return dirs or None


def _os(world: World, cluster: Cluster) -> Any:
    for h in cluster.hosts:
        return "redhat" if h.distribution.get("type") == "redhat" else "debian"
    return "debian"


def _folder(world: World, cluster: Cluster) -> str:
    """The CDT folder the cluster is in (``/`` unless it was moved)."""
    from fakecmon.world.cdt import cdt_of   # cdt imports this module
    return cdt_of(world).folder_of(cluster).path() if cluster.cluster_id else "/"


def _o(name: str, kind: type, default: Any, description: str, *keys: str,
       sql: tuple[str, ...] | None = None, getter: Getter | None = None,
       readonly: bool = False) -> Option:
    return Option(name, kind, default, description, tuple(keys),
                  sql if sql is not None else (name.upper(),), getter, readonly)


CLUSTER_OPTIONS: tuple[Option, ...] = (
    _o("controller_id", str, None, "The identifier of this controller instance.",
       getter=lambda w, c: w.controller_id, readonly=True),
    _o("cluster_id", int, None, "The cluster ID.", sql=(),
       getter=lambda w, c: c.cluster_id, readonly=True),
    _o("created_by_job", int, None, "The ID of the job that created the cluster.",
       readonly=True),    # stored when a job creates or registers it (``created_by``)
    _o("cluster_type", str, None, "The type of the cluster.", "type", sql=(),
       getter=lambda w, c: c.cluster_type.lower(), readonly=True),
    _o("config_file_path", str, None, "The path of the cluster's CMON configuration file.",
       "cmon_config_path", sql=("CMON_CONFIG_PATH",),
       getter=lambda w, c: f"/etc/cmon.d/cmon_{c.cluster_id}.cnf", readonly=True),
    _o("logfile", str, None, "The log file of the cluster.", sql=(),
       getter=lambda w, c: f"/var/log/cmon_{c.cluster_id}.log", readonly=True),
    _o("name", str, None, "The name of the cluster.", "cluster_name", sql=("CLUSTER_NAME",),
       getter=lambda w, c: c.cluster_name),
    _o("tags", list, None, "Strings users attach to the cluster (separated by ';').",
       getter=lambda w, c: list(c.tags) or None),
    _o("owner", int, None, "The CMON user ID of the cluster's owner.",
       getter=lambda w, c: c.owner_user_id, readonly=True),
    _o("group_owner", int, None, "The CMON group ID of the group owning the cluster.",
       getter=lambda w, c: c.owner_group_id, readonly=True),
    _o("cdt_path", str, None, "Where the cluster is in the CMON Directory Tree.",
       getter=lambda w, c: _folder(w, c), readonly=True),
    _o("acl", str, None, "The Access Control List of the cluster.",
       getter=lambda w, c: str(c.acl), readonly=True),
    _o("os", str, None, "The OS family of the nodes: 'debian' or 'redhat'.", getter=_os),
    _o("enable_node_autorecovery", bool, True, "Whether failed nodes are recovered.",
       getter=lambda w, c: c.node_auto_recovery),
    _o("enable_cluster_autorecovery", bool, True, "Whether a failed cluster is recovered.",
       getter=lambda w, c: c.cluster_auto_recovery),
    _o("vendor", str, None, "The database vendor used for deployments.", "galera_vendor",
       "mongodb_vendor", getter=lambda w, c: c.vendor or None),
    _o("server_version", str, None, "The database server version used for deployments.",
       "mysql_version", getter=lambda w, c: c.version or None),
    _o("hostname", str, None, "The controller's host name.", "cmon_hostname",
       sql=("CMON_HOSTNAME",), getter=lambda w, c: w.hostname, readonly=True),
    _o("mysql_server_addresses", list, None, "The MySQL/MariaDB server instances.", sql=(),
       getter=_addresses(MYSQL_TYPES), readonly=True),
    _o("postgresql_server_addresses", list, None, "The PostgreSQL server instances.", sql=(),
       getter=_addresses({"POSTGRESQL_SINGLE"}), readonly=True),
    _o("mongodb_server_addresses", list, None, "The MongoDB server instances.", sql=(),
       getter=_addresses({"MONGODB"}), readonly=True),
    _o("redis_server_addresses", list, None, "The Redis/Valkey server instances.", sql=(),
       getter=_addresses({"REDIS", "VALKEY", "REDIS_SHARDED"}), readonly=True),
    _o("monitored_mountpoints", list, None, "The mount points watched for disk space.",
       "monitored_mount_points", getter=_datadirs),
    _o("cmon_db", str, "cmon", "The CMON database name.", "cmondb_database"),
    _o("mysql_hostname", str, "127.0.0.1", "The CMON database server's host name.",
       "cmondb_hostname", sql=("CMONDB_HOSTNAME",)),
    _o("mysql_port", int, 3306, "The CMON database server's port.", "cmondb_port"),
    _o("cmon_user", str, "cmon", "The account accessing the CMON database.", "cmondb_user"),
    _o("osuser", str, "root", "The SSH user accessing the nodes.", "os_user", "ssh_user",
       sql=("OS_USER", "SSH_USER")),
    _o("ssh_port", int, 22, "The SSH port of the nodes."),
    _o("ssh_keypath", str, "/root/.ssh/id_rsa", "The SSH key used to reach the nodes.",
       "ssh_identity", "identity_file"),
    _o("sudo_opts", str, "sudo -n 2>/dev/null", "How superuser privileges are obtained.",
       "sudo", sql=("SUDO",)),
    _o("libssh_timeout", int, 30, "Network timeout of SSH connections (seconds).",
       "ssh_timeout"),
    _o("backup_user", str, "backupuser", "The database account used for backups."),
    _o("backupdir", str, "/var/backups", "The default backup directory."),
    _o("backup_subdir", str, "BACKUP-%I", "The name pattern of backup subdirectories."),
    _o("backup_retention", int, 31, "Days a backup is kept."),
    _o("backup_cloud_retention", int, 180, "Days a backup uploaded to the cloud is kept."),
    _o("backup_n_safety_copies", int, 1, "Completed full backups kept regardless of age."),
    _o("ops_report_retention", int, 31, "Days an operational report is kept."),
    _o("save_history_days", int, 7, "Days the controller keeps collected data.", "purge",
       sql=("PURGE",)),
    _o("enable_icmp_ping", bool, True, "Whether the controller pings the nodes."),
    _o("host_stats_collection_interval", int, 30, "Host (CPU, memory...) sampling interval."),
    _o("host_stats_window_size", int, 180, "Window (seconds) host statistics are judged on."),
    _o("db_stats_collection_interval", int, 30, "Database statistics sampling interval."),
    _o("lb_stats_collection_interval", int, 15, "Load balancer statistics sampling interval."),
    _o("db_schema_stats_collection_interval", int, 10800, "Schema statistics interval."),
    _o("cpu_warning", int, 80, "CPU usage (%) raising a warning alarm."),
    _o("cpu_critical", int, 90, "CPU usage (%) raising a critical alarm."),
    _o("ram_warning", int, 80, "RAM usage (%) raising a warning alarm."),
    _o("ram_critical", int, 90, "RAM usage (%) raising a critical alarm."),
    _o("diskspace_warning", int, 80, "Disk usage (%) raising a warning alarm."),
    _o("diskspace_critical", int, 90, "Disk usage (%) raising a critical alarm."),
    _o("swap_warning", int, 20, "Swap usage (%) raising a warning alarm."),
    _o("swap_critical", int, 90, "Swap usage (%) raising a critical alarm."),
    _o("max_replication_lag", int, 10, "Replication lag (seconds) raising an alarm."),
    _o("long_query_time", str, "0.5", "Threshold (seconds) of the slow query monitor."),
    _o("enable_query_monitor", int, 1, "Query monitor interval (seconds), -1 disables it.",
       "query_monitor_enabled", sql=("QUERY_SAMPLE_INTERVAL",)),
    _o("send_clear_cluster_failure", bool, True, "Whether cleared cluster alarms are mailed.",
       "send_clear_alarm", sql=("SEND_CLEAR_ALARM",)),
)

CONTROLLER_OPTIONS: tuple[Option, ...] = (
    _o("controller_id", str, None, "The identifier of this controller instance.",
       getter=lambda w, c: w.controller_id, readonly=True),
    _o("hostname", str, None, "The controller's host name.", "cmon_hostname",
       sql=("CMON_HOSTNAME",), getter=lambda w, c: w.hostname, readonly=True),
    _o("logfile", str, "/var/log/cmon.log", "The controller's log file.", sql=()),
    _o("rpc_port", int, 9500, "The port of the RPC interface."),
    _o("cmon_db", str, "cmon", "The CMON database name.", "cmondb_database"),
    _o("mysql_hostname", str, "127.0.0.1", "The CMON database server's host name.",
       "cmondb_hostname", sql=("CMONDB_HOSTNAME",)),
    _o("mysql_port", int, 3306, "The CMON database server's port.", "cmondb_port"),
    _o("cmon_user", str, "cmon", "The account accessing the CMON database.", "cmondb_user"),
    _o("enable_html_emails", bool, True, "Whether e-mails are sent as HTML."),
    _o("frontend_url", str, None, "The web UI address put in e-mails."),
)


def options_for(cluster_id: int) -> tuple[Option, ...]:
    return CLUSTER_OPTIONS if cluster_id else CONTROLLER_OPTIONS


def find_option(cluster_id: int, name: str) -> Option | None:
    for option in options_for(cluster_id):
        if name in option.all_keys:
            return option
    return None


def parse_value(option: Option, value: Any) -> Any:
    """A request value (often a string) as the option's type; ValueError says why not."""
    if value is None:
        return None
    kind = option.kind
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        raise ValueError("expected true or false")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        if text.lstrip("-").isascii() and text.lstrip("-").isdigit() and len(text) < 20:
            return int(text)
        raise ValueError("expected an integer")
    if kind is list:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return [v for v in value if v]
        if isinstance(value, str):
            return [v.strip() for v in value.replace(",", ";").split(";") if v.strip()]
        raise ValueError("expected a list of strings or a ';'-separated string")
    if isinstance(value, (dict, list)):
        raise ValueError("expected a string")
    return str(value).lower() if isinstance(value, bool) else str(value)


# ---- node configuration files

@dataclass
class ConfigFile:
    """One config file of a node: ordered sections of ordered ``name = value`` lines."""

    path: str
    syntax: str                      # "ini", "plain" (key = value), "space", "yaml", "cmon"
    sections: list[tuple[str, list[list[str]]]] = field(default_factory=list)

    @property
    def filename(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def section(self, name: str, create: bool = False) -> list[list[str]] | None:
        """An INI group is found whatever the case of its name (``--opt-group=MYSQLD``
        changes ``[mysqld]``: MySQL reads group names case-insensitively)."""
        folded = name.lower() if self.syntax == "ini" else name
        for sname, lines in self.sections:
            if (sname.lower() if self.syntax == "ini" else sname) == folded:
                return lines
        if create:
            self.sections.append((name, []))
            return self.sections[-1][1]
        return None

    def render(self) -> tuple[str, list[dict[str, Any]]]:
        """(content, values with line numbers) of the file."""
        out: list[str] = [f"# {self.path}: managed by ClusterControl"]
        values: list[dict[str, Any]] = []
        for sname, lines in self.sections:
            indent = ""
            if sname and self.syntax == "ini":
                out += ["", f"[{sname}]"]
            elif sname and self.syntax == "yaml":
                out += ["", f"{sname}:"]
                indent = "  "
            for name, value in lines:
                sep = {"ini": " = ", "plain": " = ", "space": " ", "yaml": ": ",
                       "cmon": "="}[self.syntax]
                out.append(f"{indent}{name}{sep}{value}")
                values.append({"filepath": self.path, "linenumber": len(out),
                               "section": sname, "value": value, "variablename": name})
        return "\n".join(out) + "\n", values

    def default_section(self) -> str:
        return self.sections[0][0] if self.sections else ""


def _mysql_file(cluster: Cluster, host: Host) -> ConfigFile:
    mysqld = [["datadir", host.datadir.rstrip("/") or "/var/lib/mysql"], ["port", str(host.port)],
              ["bind-address", "0.0.0.0"], ["server_id", str(1000 + host.host_id)],
              ["max_connections", "500"], ["innodb_buffer_pool_size", "2G"],
              ["innodb_log_file_size", "512M"], ["innodb_flush_log_at_trx_commit", "2"],
              ["log_bin", "binlog"], ["binlog_format", "ROW"],
              ["slow_query_log", "ON"], ["long_query_time", "0.5"]]
    if cluster.cluster_type == "GALERA":
        nodes = ",".join(h.hostname for h in cluster.hosts if h.nodetype == host.nodetype)
        sst = "mariabackup" if cluster.vendor == "mariadb" else "xtrabackup-v2"
        mysqld += [["wsrep_on", "ON"], ["wsrep_cluster_name", cluster.cluster_name],
                   ["wsrep_cluster_address", f"gcomm://{nodes}"],
                   ["wsrep_node_address", host.hostname],
                   ["wsrep_provider", "/usr/lib/galera/libgalera_smm.so"],
                   ["wsrep_sst_method", sst]]
    else:
        mysqld += [["gtid_mode", "ON"], ["enforce_gtid_consistency", "ON"],
                   ["read_only", "OFF" if host.role in ("master", "primary", "") else "ON"]]
    return ConfigFile("/etc/mysql/my.cnf", "ini", [
        ("client", [["port", str(host.port)], ["socket", "/var/run/mysqld/mysqld.sock"]]),
        ("mysqld", mysqld),
        ("mysqldump", [["max_allowed_packet", "512M"]]),
    ])


def _postgres_file(cluster: Cluster, host: Host) -> ConfigFile:
    major = (cluster.version or "16").split(".")[0]
    return ConfigFile(f"/etc/postgresql/{major}/main/postgresql.conf", "plain", [("", [
        ["data_directory", f"'{host.datadir or '/var/lib/postgresql/' + major + '/main'}'"],
        ["listen_addresses", "'*'"], ["port", str(host.port)], ["max_connections", "100"],
        ["shared_buffers", "512MB"], ["effective_cache_size", "1536MB"],
        ["wal_level", "replica"], ["max_wal_senders", "10"], ["hot_standby", "on"],
        ["log_min_duration_statement", "500"]])])


def _mongo_file(cluster: Cluster, host: Host) -> ConfigFile:
    return ConfigFile("/etc/mongod.conf", "yaml", [
        ("storage", [["dbPath", host.datadir or "/var/lib/mongodb"], ["journal.enabled", "true"]]),
        ("net", [["port", str(host.port)], ["bindIp", "0.0.0.0"]]),
        ("replication", [["replSetName", "rs0"]]),
        ("systemLog", [["destination", "file"], ["path", "/var/log/mongodb/mongod.log"]]),
    ])


def _redis_file(cluster: Cluster, host: Host) -> ConfigFile:
    name = "valkey" if cluster.cluster_type == "VALKEY" else "redis"
    return ConfigFile(f"/etc/{name}/{name}.conf", "space", [("", [
        ["bind", "0.0.0.0"], ["port", str(host.port)], ["dir", host.datadir or f"/var/lib/{name}"],
        ["maxmemory", "2gb"], ["maxmemory-policy", "allkeys-lru"], ["appendonly", "yes"]])])


def _generic_file(cluster: Cluster, host: Host) -> ConfigFile:
    if host.nodetype == "haproxy":
        return ConfigFile("/etc/haproxy/haproxy.cfg", "space", [
            ("", [["maxconn", "8192"], ["timeout_connect", "10s"], ["timeout_client", "30m"],
                  ["bind", f"*:{host.port}"]])])
    return ConfigFile(f"/etc/{host.nodetype or 'db'}/{host.nodetype or 'db'}.conf", "plain", [
        ("", [["port", str(host.port)], ["data_dir", host.datadir or "/var/lib/db"]])])


def default_file(cluster: Cluster, host: Host) -> ConfigFile:
    """The config file a freshly deployed node of this kind would have."""
    if host.nodetype in ("haproxy", "proxysql", "maxscale", "pgbouncer", "keepalived"):
        return _generic_file(cluster, host)
    if cluster.cluster_type in MYSQL_TYPES:
        return _mysql_file(cluster, host)
    if cluster.cluster_type == "POSTGRESQL_SINGLE":
        return _postgres_file(cluster, host)
    if cluster.cluster_type == "MONGODB":
        return _mongo_file(cluster, host)
    if cluster.cluster_type in ("REDIS", "VALKEY", "REDIS_SHARDED"):
        return _redis_file(cluster, host)
    return _generic_file(cluster, host)


# ---- the controller's own file of a cluster (``/etc/cmon.d/cmon_<id>.cnf``)

#: Settings that are not lines of the file: its own path, and the controller's id
#: (``/etc/cmon.cnf``).
NOT_IN_CLUSTER_FILE = frozenset(("config_file_path", "controller_id"))
#: Characters that make CMON single-quote a value in its configuration files.
_QUOTED = frozenset(" \t#;'\"")


def cmon_value(option: Option, value: Any) -> str:
    """A setting as a line of a CMON configuration file writes it."""
    if isinstance(value, list):
        text = (";" if option.name == "tags" else ",").join(value)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    if _QUOTED & set(text):
        text = "'" + text.replace("'", "\\'") + "'"
    return text


def controller_file(world: World, cluster: Cluster) -> ConfigFile:
    """The controller's configuration file of ``cluster`` (``name=value`` lines in name
    order): every setting of the cluster that has a value, as ``/v2/clusters getConfig``
    shows it, so a ``setConfig`` there shows here too. Built on every read, never stored."""
    settings = book(world)
    lines = []
    for option in CLUSTER_OPTIONS:
        if option.name in NOT_IN_CLUSTER_FILE:
            continue
        value = settings.current(world, cluster, option)
        if value is not None and value != []:
            lines.append([option.name, cmon_value(option, value)])
    return ConfigFile(f"/etc/cmon.d/cmon_{cluster.cluster_id}.cnf", "cmon",
                      [("", sorted(lines))])


#: The credentials file of the backup user CMON writes next to ``my.cnf`` of MySQL nodes.
SECRETS_BACKUP = "/etc/mysql/secrets-backup.cnf"
#: The version CMON gives the configuration files it imports from a node.
FIRST_VERSION = "0.0.1"


def _csv(*values: object) -> str:
    return ",".join('"' + str(v).replace('"', '""') + '"' for v in values) + "\n"


def imported_files(world: World) -> list[tuple[Cluster, Host, str]]:
    """The configuration files the controller keeps of each database node (cluster id
    order): the node's config file and, on MySQL nodes, ``secrets-backup.cnf``."""
    found = []
    for cid in sorted(world.clusters):
        cluster = world.clusters[cid]
        for host in cluster.hosts:
            if host.nodetype == "controller":
                continue
            found.append((cluster, host, config_path(world, cluster, host)))
            if cluster.cluster_type in MYSQL_TYPES and host.nodetype not in (
                    "haproxy", "proxysql", "maxscale", "keepalived", "garbd"):
                found.append((cluster, host, SECRETS_BACKUP))
    return found


def config_files_csv(world: World, now: float) -> str:
    """``/.runtime/files/config_files.csv``: one row per imported configuration file."""
    rows = [_csv("Version", "Committed", "Host", "Path", "Cluster ID")]
    rows += [_csv(FIRST_VERSION, "true", f"{h.hostname}:{h.port}", path, c.cluster_id)
             for c, h, path in imported_files(world)]
    return "".join(rows)


def config_versions_csv(world: World, now: float) -> str:
    """``/.runtime/files/config_versions.csv``: the configuration versions per cluster."""
    counts: dict[int, int] = {}
    for cluster, _, _ in imported_files(world):
        counts[cluster.cluster_id] = counts.get(cluster.cluster_id, 0) + 1
    rows = [_csv("Version", "Cluster ID", "Files", "Created")]
    rows += [_csv(FIRST_VERSION, cid, n, rfc3339(world.clusters[cid].created))
             for cid, n in counts.items()]
    return "".join(rows)


def config_path(world: World, cluster: Cluster, host: Host) -> str:
    """The node's config file (``configfile`` of the host, s9s's ``%C``)."""
    stored = book(world).files.get((cluster.cluster_id, host.hostname, host.port))
    return stored.path if stored is not None else default_file(cluster, host).path


class ConfigBook:
    """Overridden cluster settings, node config files and the LDAP settings of one world."""

    def __init__(self) -> None:
        self.values: dict[int, dict[str, Any]] = {}
        self.files: dict[tuple[int, str, int], ConfigFile] = {}
        self.ldap: dict[str, Any] = {"enabled": False}

    def current(self, world: World, cluster: Cluster | None, option: Option) -> Any:
        """A stored override, else the value derived from the world, else the default."""
        stored = self.values.get(cluster.cluster_id if cluster is not None else 0, {})
        if option.name in stored:
            return stored[option.name]
        if option.getter is not None:
            return option.getter(world, cluster if cluster is not None else Cluster())
        return option.default

    def node_file(self, cluster: Cluster, host: Host) -> ConfigFile:
        key = (cluster.cluster_id, host.hostname, host.port)
        found = self.files.get(key)
        if found is None:
            found = self.files[key] = default_file(cluster, host)
        return found


def book(world: World) -> ConfigBook:
    found = world.extensions.get(KEY)
    if found is None:
        found = world.extensions[KEY] = ConfigBook()
    return found


# ---- the license (``/v2/config getLicense/setLicense``, ``with_license_check``)

LICENSE = "license"


@dataclass
class License:
    company: str
    email_address: str
    expiration: float
    licensed_nodes: int = -1
    type: str = "Enterprise"


#: What separates the license JSON from its signature in a signed key (s9s-tools'
#: ft_tree uploads such keys with ``s9s tree --save /.runtime/cmon_license``).
SIGNATURE_SEPARATOR = b"{s9s-signature-separator}"


def parse_license(data: str) -> License:
    """A license key: JSON ``{company, email_address, expiration_date, licensed_nodes, type}``,
    plain or base64-encoded, or a signed key: base64 of that JSON, then
    ``{s9s-signature-separator}``, then the signature. ValueError says what is wrong."""
    raw = data.strip().encode()
    if not raw.startswith(b"{"):
        try:
            raw = base64.b64decode(b"".join(raw.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the license data is neither JSON nor base64-encoded JSON") from None
    if SIGNATURE_SEPARATOR in raw:
        raw, signature = raw.split(SIGNATURE_SEPARATOR, 1)
        if not signature.strip():
            raise ValueError("the license has an empty signature")
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise ValueError("the license data is neither JSON nor base64-encoded JSON") from None
    try:
        doc = json.loads(text)
    except ValueError:
        raise ValueError("the license data is not valid JSON") from None
    if not isinstance(doc, dict):
        raise ValueError("the license data must be a JSON object")
    for key in ("company", "email_address", "expiration_date"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise ValueError(f"the license has no '{key}'")
    nodes = doc.get("licensed_nodes", -1)
    if not isinstance(nodes, int) or isinstance(nodes, bool):
        raise ValueError("'licensed_nodes' must be an integer")
    kind = doc.get("type", "Enterprise")
    if not isinstance(kind, str):
        raise ValueError("'type' must be a string")
    try:
        expiration = parse_time(doc["expiration_date"])
    except ValueError:
        raise ValueError("'expiration_date' is not a date") from None
    return License(doc["company"], doc["email_address"], expiration, nodes, kind)


def current_license(world: World, now: float) -> License:
    """The installed license; without a ``setLicense`` a year-long one that never runs out."""
    lic = world.extensions.get(LICENSE)
    return lic if lic is not None else License("fakecmon", "license@fakecmon.invalid",
                                               now + 365 * 86400)


def license_text(world: World, now: float) -> str:
    """``/.runtime/cmon_license`` as ``s9s tree --cat`` shows it: the license's JSON."""
    lic = current_license(world, now)
    return json.dumps({"company": lic.company, "email_address": lic.email_address,
                       "expiration_date": rfc3339(lic.expiration),
                       "licensed_nodes": lic.licensed_nodes, "type": lic.type}, indent=4) + "\n"


def install_license(world: World, data: str) -> License:
    """Check and install a key (setLicense, or saving ``/.runtime/cmon_license``)."""
    lic = parse_license(data)
    world.extensions[LICENSE] = lic
    return lic


def license_docs(world: World, now: float) -> dict[str, Any]:
    """``license`` and ``license_check`` as getAllClusterInfo and getLicense report them.

    Without a ``setLicense`` the controller has a year-long license that never runs out.
    """
    lic = current_license(world, now)
    days_left = max(math.ceil((lic.expiration - now) / 86400), 0)
    valid = lic.expiration > now
    used = sum(len(c.hosts) for c in world.clusters.values())
    return {
        "license": {"class_name": "CmonLicense", "company": lic.company,
                    "days_left": days_left, "email_address": lic.email_address,
                    "expiration_date": rfc3339(lic.expiration),
                    "licensed_nodes": lic.licensed_nodes, "type": lic.type,
                    "used_nodes": used, "valid_date": valid},
        "license_check": {"class_name": "CmonLicenseCheck", "expires_days": days_left,
                          "has_license": valid,
                          "status_text": "License is valid." if valid else "License expired."},
    }
