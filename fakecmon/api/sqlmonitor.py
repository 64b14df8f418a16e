"""/v2/clusters getSqlProcesses and getTopQueries: what the database nodes are running.

World data, not simulation: derived from the cluster's online database nodes,
its databases and accounts and the controller clock (times and counters move
with it), in the shapes cmon-proxy and s9s decode (``elapsedTime`` as
``HH:MM:SS.ffffff``, ``dtFirstSeen``/``dtLastSeen`` always RFC 3339).
"""

from __future__ import annotations

import hashlib
from typing import Any

from fakecmon.errors import INVALID_REQUEST, invalid
from fakecmon.rpc import Call, Payload, operation
from fakecmon.timefmt import rfc3339
from fakecmon.world import dbaccounts
from fakecmon.world.config import MYSQL_TYPES
from fakecmon.world.models import Cluster, Host

from fakecmon.api._common import page, visible_cluster  # isort: skip
from fakecmon.api.databases import PROXY_NODETYPES  # isort: skip

PATH = "/v2/clusters"


def _seed(*parts: Any) -> int:
    return int(hashlib.sha1("/".join(map(str, parts)).encode()).hexdigest()[:8], 16)


def _db_hosts(cluster: Cluster) -> list[Host]:
    return [h for h in cluster.hosts if h.online and h.nodetype not in PROXY_NODETYPES]


def _elapsed(seconds: float) -> str:
    whole = int(seconds)
    micro = int((seconds - whole) * 1_000_000)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}.{micro:06d}"


def _app_users(call: Call, cluster: Cluster) -> list[str]:
    users = [a.user_name for a in dbaccounts.accounts_of(call.world, cluster).sorted()
             if not a.system_user]
    return users or ["app"]


def _process(call: Call, cluster: Cluster, host: Host, pid: int, user: str, client: str,
             command: str, state: str, seconds: float, db: str = "",
             query: str = "") -> dict[str, Any]:
    now = int(call.now)
    postgres = cluster.cluster_type == "POSTGRESQL_SINGLE"
    return {
        "class_name": "CmonPostgreSqlProcess" if postgres else "CmonMySqlProcess",
        "blocked_by_trx_id": "", "client": client, "command": command,
        "currentTime": now, "db": db, "duration": int(seconds * 1000),
        "elapsedTime": _elapsed(seconds), "host": client, "host_id": host.host_id,
        "hostname": host.hostname, "info": query, "innodb_status": "", "innodb_trx_id": "",
        "instance": f"{host.hostname}:{host.port}", "lastseen": now, "message": "",
        "mysql_trx_id": 0, "pid": pid, "query": query, "report_ts": now, "sql": query,
        "state": state, "time": int(seconds), "user": user, "userName": user,
        "waiting": False,
    }


def _host_processes(call: Call, cluster: Cluster, host: Host,
                    databases: list[str]) -> list[dict[str, Any]]:
    now, uptime = call.now, max(call.now - host.started_at, 0.0)
    ctl = call.world.hostname
    tick = int(now)
    found = []
    if cluster.cluster_type in MYSQL_TYPES:
        found.append(_process(call, cluster, host, 1, "event_scheduler", "localhost", "Daemon",
                              "Waiting on empty queue", uptime))
        if cluster.cluster_type == "GALERA":
            found.append(_process(call, cluster, host, 2, "system user", "", "Sleep",
                                  "wsrep aborter idle", uptime))
        elif host.role in ("slave", "replica"):
            found.append(_process(call, cluster, host, 2, "system user", "", "Connect",
                                  "Replica has read all relay log; waiting for more updates",
                                  tick % 40 + 0.25))
        found.append(_process(call, cluster, host, 11, "cmon", f"{ctl}:{40000 + host.host_id}",
                              "Sleep", "", tick % 7 + 0.5))
        found.append(_process(call, cluster, host, 12, "cmonexporter", "127.0.0.1:51724",
                              "Sleep", "", tick % 13 + 0.1))
    else:
        found.append(_process(call, cluster, host, 1001, "postgres", "", "autovacuum launcher",
                              "idle", uptime))
        found.append(_process(call, cluster, host, 1002, "cmon", f"{ctl}",
                              "idle", "idle", tick % 9 + 0.3, "postgres"))
    users = _app_users(call, cluster)
    for n, db in enumerate(databases[:3]):
        seed = _seed(cluster.cluster_id, host.host_id, db)
        user = users[n % len(users)]
        if (tick // 5 + seed) % 3 == 0:
            continue      # this connection is between queries right now
        seconds = ((tick + seed) % 3000) / 1000 + 0.002
        query = f"SELECT id, status, updated_at FROM {db}.orders WHERE customer_id = {seed % 997}"
        found.append(_process(call, cluster, host, 100 + (seed % 900), user,
                              f"10.0.9.{seed % 200 + 20}:{seed % 20000 + 30000}",
                              "Query" if cluster.cluster_type in MYSQL_TYPES else "active",
                              "Sending data" if cluster.cluster_type in MYSQL_TYPES
                              else "active", seconds, db, query))
    return found


@operation(PATH, "getSqlProcesses", kind="world-data")
def get_sql_processes(call: Call) -> Payload:
    cluster = visible_cluster(call, INVALID_REQUEST)
    found: list[dict[str, Any]] = []
    if cluster.cluster_type in MYSQL_TYPES | {"POSTGRESQL_SINGLE"}:
        dbs = [d["database_name"] for d in dbaccounts.databases_of(call.world, cluster.cluster_id)]
        for host in _db_hosts(cluster):
            found += _host_processes(call, cluster, host, dbs)
    found.sort(key=lambda p: (p["instance"], p["pid"]))
    return {"total": len(found), "processes": page(call, found)}


_PATTERNS = (
    "SELECT id, status, updated_at FROM {db}.orders WHERE customer_id = ?",
    "UPDATE {db}.orders SET status = ?, updated_at = NOW() WHERE id = ?",
    "INSERT INTO {db}.order_items (order_id, product_id, qty) VALUES (?, ?, ?)",
    "SELECT COUNT(*) FROM {db}.sessions WHERE expires_at > ?",
    "DELETE FROM {db}.sessions WHERE expires_at < ?",
)


def _filters(call: Call) -> list[str]:
    value = call.body.get("filterStrings", call.body.get("filter_strings"))
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise invalid("The 'filterStrings' field must be a string or a list of strings.")


@operation(PATH, "getTopQueries", kind="world-data")
def get_top_queries(call: Call) -> Payload:
    """Statement digests of the cluster's databases, counters growing with the clock."""
    cluster = visible_cluster(call, INVALID_REQUEST)
    filters = [f.lower() for f in _filters(call)]
    digests: list[dict[str, Any]] = []
    hosts = _db_hosts(cluster) if cluster.cluster_type in MYSQL_TYPES | {
        "POSTGRESQL_SINGLE"} else []
    dbs = [d["database_name"] for d in dbaccounts.databases_of(call.world, cluster.cluster_id)]
    age = max(call.now - call.world.created, 0.0)
    for host in hosts[:1] + [h for h in hosts[1:] if h.role in ("master", "primary")]:
        for db in dbs:
            for pattern in _PATTERNS:
                statement = pattern.format(db=db)
                if filters and not any(f in statement.lower() for f in filters):
                    continue
                seed = _seed(host.host_id, statement)
                count = 500 + seed % 50000 + int(age / (1 + seed % 7))
                avg = 0.2 + (seed % 4000) / 1000
                first = call.world.created - 86400 * (1 + seed % 20)
                digests.append({
                    "class_name": "CmonQueryDigest",
                    "affectedRows": count * (seed % 3),
                    "count": count,
                    "databaseName": db,
                    "dtFirstSeen": rfc3339(first),
                    "dtLastSeen": rfc3339(max(call.now - seed % 120, first)),
                    "instance": f"{host.hostname}:{host.port}",
                    "statementPattern": statement,
                    "waitMillisAvg": round(avg, 3),
                    "waitMillisMax": round(avg * (3 + seed % 5), 3),
                    "waitMillisMin": round(avg / (2 + seed % 3), 3),
                    "waitMillisSum": round(avg * count, 3),
                })
    digests.sort(key=lambda d: (-d["waitMillisSum"], d["statementPattern"]))
    return {"total": len(digests), "digests": page(call, digests)}
