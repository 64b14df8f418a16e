"""Plain model classes of the controller's world, and their CMON JSON shapes.

Field names follow CMON's own (``hostId``, ``hoststatus``, ``clusterid``...), and
every ``to_json`` gives the JSON types the real clients decode (see the README).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fakecmon.timefmt import rfc3339
from fakecmon.world.acl import Acl

USER_ACL = "user::rwx,group::r--,other::r--"
GROUP_ACL = "user::rwx,group::rwx,other::---"
CLUSTER_ACL = "user::rwx,group::rwx,other::---"

TIMEZONE = {
    "class_name": "CmonTimeZone",
    "name": "Coordinated Universal Time",
    "abbreviation": "UTC",
    "offset": 0,
    "use_dst": False,
}


@dataclass(slots=True)
class Owned:
    """Anything with a CDT entry: an owner user, an owner group and an ACL."""

    owner_user_id: int = 1
    owner_group_id: int = 1
    acl: Acl = field(default_factory=lambda: Acl.parse(USER_ACL))


@dataclass(slots=True)
class PublicKey:
    name: str
    key: str
    created: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"class_name": "CmonPublicKey", "name": self.name, "key": self.key,
                "created": rfc3339(self.created)}


@dataclass(slots=True)
class Group(Owned):
    group_id: int = 0
    group_name: str = ""
    created: float = 0.0


@dataclass(slots=True)
class User(Owned):
    user_id: int = 0
    user_name: str = ""
    password: str | None = None
    group_ids: list[int] = field(default_factory=list)
    first_name: str = ""
    last_name: str = ""
    email_address: str = ""
    title: str = ""
    public_keys: list[PublicKey] = field(default_factory=list)
    disabled: bool = False
    suspended: bool = False
    origin: str = "CmonDb"
    tags: list[str] = field(default_factory=list)
    created: float = 0.0
    last_login: float | None = None
    last_failed_login: float | None = None
    n_failed_logins: int = 0


HOST_CLASSES: dict[str, tuple[str, str, int, str]] = {
    # cluster_type -> (host class_name, nodetype, default port, datadir)
    "GALERA": ("CmonGaleraHost", "galera", 3306, "/var/lib/mysql/"),
    "REPLICATION": ("CmonMySqlHost", "mysql", 3306, "/var/lib/mysql/"),
    "MYSQL_SINGLE": ("CmonMySqlHost", "mysql", 3306, "/var/lib/mysql/"),
    "GROUP_REPLICATION": ("CmonGroupReplHost", "grouprepl", 3306, "/var/lib/mysql/"),
    "MYSQLCLUSTER": ("CmonNdbHost", "ndb", 3306, "/var/lib/mysql/"),
    "POSTGRESQL_SINGLE": ("CmonPostgreSqlHost", "postgres", 5432, "/var/lib/postgresql/16/main"),
    "MONGODB": ("CmonMongoHost", "mongo", 27017, "/var/lib/mongodb"),
    "REDIS": ("CmonRedisHost", "redis", 6379, "/var/lib/redis"),
    "VALKEY": ("CmonRedisHost", "valkey", 6379, "/var/lib/valkey"),
    "REDIS_SHARDED": ("CmonRedisShardedHost", "redis-sharded", 6379, "/var/lib/redis"),
    "ELASTIC": ("CmonElasticHost", "elastic", 9200, "/var/lib/elasticsearch"),
    "MSSQL_SINGLE": ("CmonMsSqlHost", "mssql", 1433, "/var/opt/mssql"),
    "MSSQL_AO_ASYNC": ("CmonMsSqlHost", "mssql", 1433, "/var/opt/mssql"),
    "CLICKHOUSE": ("CmonClickHouseHost", "clickhouse", 9000, "/var/lib/clickhouse"),
}

NODETYPE_CLASSES: dict[str, str] = {
    "controller": "CmonHost",
    "haproxy": "CmonHaProxyHost",
    "proxysql": "CmonProxySqlHost",
    "maxscale": "CmonMaxScaleHost",
    "pgbouncer": "CmonPgBouncerHost",
    "garbd": "CmonGarbdHost",
    "keepalived": "CmonKeepalivedHost",
    "prometheus": "CmonPrometheusHost",
}

#: CMON's spelling (s9s maps "CmonHostOffLine" to its 'l' state); world files may also
#: say "CmonHostOffline".
OFFLINE = "CmonHostOffLine"
HOST_STATUS_SPELLINGS = {"CmonHostOffline": OFFLINE}

HOST_MESSAGES = {
    "CmonHostOnline": "Up and running.",
    OFFLINE: "Host is offline.",
    "CmonHostShutDown": "Node is shut down by the user.",
    "CmonHostFailed": "Host is not responding.",
    "CmonHostRecovery": "Host is in recovery.",
    "CmonHostUnknown": "Host status is unknown.",
}


@dataclass(slots=True)
class Host:
    host_id: int
    hostname: str
    port: int
    class_name: str
    nodetype: str
    role: str = ""
    hoststatus: str = "CmonHostOnline"
    version: str = ""
    datadir: str = ""
    ip: str = ""
    hostname_internal: str = ""
    distribution: dict[str, str] = field(default_factory=lambda: {
        "name": "ubuntu", "codename": "jammy", "release": "22.04", "type": "debian"})
    maintenance_mode_active: bool = False
    started_at: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    #: Why the host is in maintenance, as CMON lists it: "host" (a period of its own),
    #: "cluster" (its cluster, or a host of it, has one), both ("host,cluster") or "none".
    maintenance_mode: str = "none"

    @property
    def online(self) -> bool:
        return self.hoststatus == "CmonHostOnline"

    def to_json(self, cluster: "Cluster", now: float) -> dict[str, Any]:
        up = self.online
        doc: dict[str, Any] = {
            "class_name": self.class_name,
            "cdt_path": f"/{cluster.cluster_name}",
            "owner_user_id": cluster.owner_user_id,
            "owner_group_id": cluster.owner_group_id,
            "acl": str(cluster.acl),
            "clusterid": cluster.cluster_id,
            "connected": up,
            "container": False,
            "datadir": self.datadir,
            "distribution": self.distribution,
            "hostId": self.host_id,
            "hostname": self.hostname,
            "hostname_data": self.hostname,
            "hostname_internal": self.hostname_internal,
            "hoststatus": self.hoststatus,
            "ip": self.ip or self.hostname,
            "lastseen": int(now),
            "maintenance_mode": self.maintenance_mode,
            "maintenance_mode_active": self.maintenance_mode_active,
            "message": HOST_MESSAGES.get(self.hoststatus, ""),
            "nodetype": self.nodetype,
            "pid": 1000 + self.host_id * 7 if up else -1,
            "pingstatus": 1 if up else -1,
            "pingtime": 1 if up else -1,
            "port": self.port,
            "role": self.role,
            "timestamp": int(now),
            "unique_id": self.host_id,
            "uptime": int(now - self.started_at) if up else 0,
            "version": self.version,
            "wallclock": int(now),
            "wallclocktimestamp": int(now),
        }
        doc.update(self.extra)
        return doc


@dataclass(slots=True)
class Cluster(Owned):
    cluster_id: int = 0
    cluster_name: str = ""
    cluster_type: str = "GALERA"
    vendor: str = ""
    version: str = ""
    state: str = "STARTED"
    status_text: str = "All nodes are operational."
    tags: list[str] = field(default_factory=list)
    hosts: list[Host] = field(default_factory=list)
    cluster_auto_recovery: bool = True
    node_auto_recovery: bool = True
    maintenance_mode_active: bool = False
    created: float = 0.0

    def host(self, hostname: str, port: int | None = None) -> Host | None:
        for h in self.hosts:
            if h.hostname == hostname and (port is None or h.port == port):
                return h
        return None
