"""/v2/clusters availableUpgrades: the package upgrades of a cluster's nodes.

World data: for each online node, its server package with the installed version
(the host's ``version``) and the newest patch release of the same series, as
CMON's last package check found them.
"""

from __future__ import annotations

import re
from typing import Any

from fakecmon.errors import INVALID_REQUEST, invalid
from fakecmon.rpc import Call, Payload, operation
from fakecmon.timefmt import rfc3339
from fakecmon.world.models import Cluster, Host

from fakecmon.api._common import page, visible_cluster  # isort: skip

PATH = "/v2/clusters"

#: (cluster type or node type, vendor) -> package name; vendor "" matches any.
PACKAGES = {
    ("GALERA", "percona"): "percona-xtradb-cluster-server",
    ("GALERA", "mariadb"): "mariadb-server",
    ("GALERA", ""): "galera-server",
    ("REPLICATION", "percona"): "percona-server-server",
    ("REPLICATION", "mariadb"): "mariadb-server",
    ("REPLICATION", ""): "mysql-server",
    ("MYSQL_SINGLE", ""): "mysql-server",
    ("GROUP_REPLICATION", ""): "mysql-server",
    ("POSTGRESQL_SINGLE", ""): "postgresql-{major}",
    ("MONGODB", "percona"): "percona-server-mongodb",
    ("MONGODB", ""): "mongodb-org-server",
    ("REDIS", ""): "redis-server",
    ("VALKEY", ""): "valkey-server",
    ("haproxy", ""): "haproxy",
    ("proxysql", ""): "proxysql2",
    ("maxscale", ""): "maxscale",
    ("pgbouncer", ""): "pgbouncer",
}


def package_of(cluster: Cluster, host: Host) -> str | None:
    for key in ((host.nodetype, cluster.vendor), (host.nodetype, ""),
                (cluster.cluster_type, cluster.vendor), (cluster.cluster_type, "")):
        if key in PACKAGES:
            major = (host.version or cluster.version or "0").split(".")[0]
            return PACKAGES[key].format(major=major)
    return None


def newer(version: str) -> str | None:
    """The latest patch release of ``version``'s series (last number + 2); None if unknown."""
    m = re.match(r"^(\d+\.\d+)(?:\.(\d+))?(.*)$", version)
    if not m:
        return None
    series, patch, rest = m.group(1), m.group(2), m.group(3)
    if patch is None:
        return f"{series}.2"
    return f"{series}.{int(patch) + 2}{rest}"


def _wanted(call: Call) -> set[str]:
    nodes = call.body.get("nodes")
    if nodes in (None, []):
        return set()
    if not isinstance(nodes, list):
        raise invalid("The 'nodes' field must be a list of host names.")
    names = set()
    for node in nodes:
        name = node.get("hostname") if isinstance(node, dict) else node
        if not isinstance(name, str):
            raise invalid("The 'nodes' field must be a list of host names.")
        names.add(name.split(":")[0])
    return names


@operation(PATH, "availableUpgrades", kind="world-data")
def available_upgrades(call: Call) -> Payload:
    cluster = visible_cluster(call, INVALID_REQUEST)
    wanted = _wanted(call)
    checked = rfc3339(call.world.created - 3600)
    found: list[dict[str, Any]] = []
    for host in cluster.hosts:
        if not host.online or (wanted and host.hostname not in wanted):
            continue
        package, version = package_of(cluster, host), host.version
        available = newer(version) if version else None
        if package is None or available is None:
            continue
        found.append({"class_name": "CmonPackageUpgrade", "host_name": host.hostname,
                      "host_class_name": host.class_name, "package_name": package,
                      "installed_version": version, "available_version": available,
                      "last_updated": checked})
    return {"total": len(found), "packages": page(call, found)}
