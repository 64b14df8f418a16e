"""``fakecmon import``: a world file made from a live controller, read over RPC v2.

Clusters with their hosts, users and groups, tree folders and ACLs, jobs of the
last N days, backups, alarms and maintenance periods, as ``fakecmon serve
--world`` loads them. Secrets are not exported (CMON does not give them out
either): every user gets the placeholder password the file's header states.
Times are written relative to the import (``ago``, seconds offsets), so the
estate looks as current when the file is loaded as it did when it was read.
"""

from __future__ import annotations

import argparse
import http.client
import socket
import ssl
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from fakecmon.client import RpcClient
from fakecmon.recorder import RecordError, upstream_ssl, write_atomic
from fakecmon.timefmt import parse_time

PLACEHOLDER_PASSWORD = "fakecmon"
#: Job states a world file can hold (running ones are not imported: nothing runs them).
PAST_STATES = ("FINISHED", "FAILED", "ABORTED", "SCHEDULED", "PAUSED")
#: Hosts CMON lists in every cluster that fakecmon adds by itself.
SYNTHETIC_NODETYPES = ("controller",)
HOST_KEYS = ("hostname", "port", "nodetype", "role", "hoststatus", "version", "datadir", "ip",
             "hostname_internal", "class_name")


class ImportError_(Exception):
    """Why the import failed; one line."""


class Source:
    """The controller read from: one logged-in RpcClient, errors as one line."""

    def __init__(self, url: str, ctx: ssl.SSLContext) -> None:
        self.url = url
        self.client = RpcClient(url, ctx, timeout=30.0)

    def call(self, path: str, operation: str, **fields: Any) -> dict[str, Any]:
        try:
            reply = self.client.call(path, operation, **fields)
        except ssl.SSLError as exc:
            raise ImportError_(f"TLS error with {self.url}: {exc.reason or exc}") from None
        except (OSError, http.client.HTTPException) as exc:
            cause = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise ImportError_(f"cannot reach {self.url}: {cause}") from None
        if not isinstance(reply, dict) or "request_status" not in reply:
            raise ImportError_(f"{self.url} {path} {operation}: not a CMON reply")
        return reply

    def ok(self, path: str, operation: str, **fields: Any) -> dict[str, Any]:
        reply = self.call(path, operation, **fields)
        if reply["request_status"] != "Ok":
            raise ImportError_(f"{path} {operation}: {reply['request_status']}: "
                               f"{reply.get('error_string', '')}".rstrip(": "))
        return reply

    def login(self, user: str, password: str) -> None:
        reply = self.call("/v2/auth", "authenticateWithPassword", user_name=user,
                          password=password)
        if reply["request_status"] != "Ok":
            raise ImportError_(f"cannot log in to {self.url} as {user}: "
                               f"{reply.get('error_string') or reply['request_status']}")


def _ctx(ca: Path | None, insecure: bool) -> ssl.SSLContext:
    try:
        return upstream_ssl(ca, insecure)
    except RecordError as exc:
        raise ImportError_(str(exc)) from None


def _time(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def _owner_names(doc: dict[str, Any]) -> dict[str, str]:
    out = {}
    if doc.get("owner_user_name"):
        out["owner"] = doc["owner_user_name"]
    if doc.get("owner_group_name"):
        out["group"] = doc["owner_group_name"]
    return out


# ---- one section each

def groups_of(src: Source) -> list[dict[str, Any]]:
    return [{"group_name": g["group_name"], "group_id": g["group_id"],
             **({"acl": g["acl"]} if g.get("acl") else {})}
            for g in src.ok("/v2/users", "getGroups").get("groups", [])]


def users_of(src: Source) -> list[dict[str, Any]]:
    users = []
    for u in src.ok("/v2/users", "getUsers").get("users", []):
        doc: dict[str, Any] = {"user_name": u["user_name"], "user_id": u["user_id"],
                               "password": PLACEHOLDER_PASSWORD,
                               "groups": [g["group_name"] for g in u.get("groups", [])]}
        for key in ("first_name", "last_name", "email_address", "title", "origin", "acl"):
            if u.get(key):
                doc[key] = u[key]
        for key in ("disabled", "suspended"):
            if u.get(key):
                doc[key] = True
        if u.get("tags"):
            doc["tags"] = list(u["tags"])
        keys = _public_keys(src, u["user_name"])
        if keys:
            doc["public_keys"] = keys      # public halves: key logins keep working
        users.append(doc)
    return users


def _public_keys(src: Source, user: str) -> list[dict[str, str]]:
    reply = src.call("/v2/users", "getKeys", user={"class_name": "CmonUser", "user_name": user})
    if reply["request_status"] != "Ok":
        return []
    return [{"name": k.get("name", "No Name"), "key": k["key"]}
            for k in reply.get("public_keys", []) or [] if isinstance(k.get("key"), str)]


def clusters_of(src: Source) -> list[dict[str, Any]]:
    clusters = []
    reply = src.ok("/v2/clusters", "getAllClusterInfo", with_hosts=True)
    for c in reply.get("clusters", []):
        doc: dict[str, Any] = {k: c[k] for k in ("cluster_id", "cluster_name", "cluster_type",
                                                  "vendor", "version", "state", "status_text",
                                                  "acl", "tags") if c.get(k) not in (None, "")}
        doc["cluster_type"] = str(c.get("cluster_type", "")).lower()
        owner, group = c.get("owner"), c.get("group_owner")
        if isinstance(owner, dict) and owner.get("user_name"):
            doc["owner"] = owner["user_name"]
        if isinstance(group, dict) and group.get("group_name"):
            doc["group"] = group["group_name"]
        for key in ("cluster_auto_recovery", "node_auto_recovery"):
            if isinstance(c.get(key), bool):
                doc[key] = c[key]
        doc["hosts"] = [{k: h[k] for k in HOST_KEYS if h.get(k) not in (None, "")}
                        for h in c.get("hosts", [])
                        if h.get("nodetype") not in SYNTHETIC_NODETYPES]
        clusters.append(doc)
    return clusters


def tree_of(src: Source) -> list[dict[str, Any]]:
    """Folders and files with their owners and ACLs (users, groups and clusters carry theirs)."""
    entries: list[dict[str, Any]] = []

    def walk(item: dict[str, Any]) -> None:
        kind = item.get("item_type")
        parent = item.get("item_path", "/")
        name = item.get("item_name", "")
        path = (parent.rstrip("/") + "/" + name) if name else "/"
        if kind in ("Folder", "File") and path != "/":
            entries.append({"path": path, "type": kind.lower(), **_owner_names(item),
                            **({"acl": item["item_acl"]} if item.get("item_acl") else {})})
        for sub in item.get("sub_items", []) or []:
            walk(sub)

    walk(src.ok("/v2/tree", "getTree").get("cdt", {}))
    return entries


def jobs_of(src: Source, now: float, days: float, names: dict[int, str]) -> list[dict[str, Any]]:
    jobs = []
    reply = src.ok("/v2/jobs", "getJobInstances", limit=100_000)
    for j in reply.get("jobs", []):
        created = _time(j.get("created"))
        if created is None or now - created > days * 86400 or j.get("status") not in PAST_STATES:
            continue
        spec = j.get("job_spec") or {}
        doc: dict[str, Any] = {"job_id": j["job_id"], "command": spec.get("command", ""),
                               "title": j.get("title", ""), "status": j["status"],
                               "ago": round(now - created, 3)}
        if names.get(j.get("cluster_id", 0)):
            doc["cluster"] = names[j["cluster_id"]]
        started, ended = _time(j.get("started")), _time(j.get("ended"))
        if started is not None and ended is not None and ended >= started:
            doc["duration"] = round(ended - started, 3)
        for key in ("status_text", "recurrence"):
            if j.get(key):
                doc[key] = j[key]
        if j.get("user_name"):
            doc["user"] = j["user_name"]
        if j.get("tags"):
            doc["tags"] = list(j["tags"])
        if spec.get("job_data"):
            doc["job_data"] = spec["job_data"]
        jobs.append(doc)
    return sorted(jobs, key=lambda d: d["job_id"])


def backups_of(src: Source, now: float, names: dict[int, str]) -> list[dict[str, Any]]:
    backups = []
    for b in src.ok("/v2/backup", "getBackups").get("backup_records", []) or []:
        cluster = names.get(b.get("cid", 0))
        created = _time(b.get("created"))
        if cluster is None or created is None:
            continue
        doc: dict[str, Any] = {"backup_id": b["id"], "cluster": cluster,
                               "ago": round(now - created, 3)}
        finished = _time(b.get("finished"))
        if finished is not None and finished >= created:
            doc["duration"] = round(finished - created, 3)
        for key, src_key in (("method", "method"), ("status", "status"), ("host", "backup_host"),
                             ("job_id", "job_id"), ("title", "title"),
                             ("description", "description"), ("created_by", "created_by"),
                             ("size", "total_datadir_size")):
            if b.get(src_key) not in (None, ""):
                doc[key] = b[src_key]
        for key in ("compressed", "encrypted"):
            if isinstance(b.get(key), bool):
                doc[key] = b[key]
        dbs = sorted({d for e in b.get("backup", []) or [] for d in e.get("database_names", [])})
        if dbs:
            doc["databases"] = dbs
        root = b.get("root_dir")
        if isinstance(root, str) and root.endswith(f"/BACKUP-{b['id']}"):
            doc["backupdir"] = root[:-len(f"/BACKUP-{b['id']}")]
        backups.append(doc)
    return backups


def alarms_of(src: Source, now: float, names: dict[int, str]) -> list[dict[str, Any]]:
    """Alarms, but those fakecmon raises by itself from the imported cluster and host states."""
    from fakecmon.world.alarms import CLUSTER_STATE_ALARMS, HOST_STATUS_ALARMS
    derived = set(CLUSTER_STATE_ALARMS.values()) | set(HOST_STATUS_ALARMS.values())
    alarms = []
    for cid, name in sorted(names.items()):
        for a in src.ok("/v2/alarm", "getAlarms", cluster_id=cid).get("alarms", []) or []:
            if a.get("type_name") in derived:
                continue
            created = _time(a.get("created"))
            doc: dict[str, Any] = {"cluster": name, "type_name": a.get("type_name", "")}
            for key in ("hostname", "title", "message", "recommendation"):
                if a.get(key):
                    doc[key] = a[key]
            if a.get("severity_name"):
                doc["severity"] = a["severity_name"]
            if a.get("ignored"):
                doc["ignored"] = True
            if created is not None:
                doc["created"] = round(created - now, 3)
            alarms.append(doc)
    return alarms


def maintenance_of(src: Source, now: float) -> list[dict[str, Any]]:
    periods = []
    reply = src.ok("/v2/maintenance", "getMaintenance")
    for record in reply.get("maintenance_records", []) or []:
        cluster = (record.get("cluster") or {}).get("cluster_name")
        host = (record.get("host") or {}).get("hostname")
        for p in record.get("maintenance_periods", []) or []:
            start, end = _time(p.get("initiate")), _time(p.get("deadline"))
            if start is None or end is None:
                continue
            doc: dict[str, Any] = {"hostname": host} if host else {"cluster": cluster}
            doc.update({"initiate": round(start - now, 3), "deadline": round(end - now, 3),
                        "reason": p.get("reason", "")})
            if p.get("username"):
                doc["owner"] = p["username"]
            periods.append(doc)
    return periods


def _controller_hostname(src: Source) -> str | None:
    """The controller's own host, as every cluster lists it."""
    reply = src.ok("/v2/clusters", "getAllClusterInfo", with_hosts=True)
    for cluster in reply.get("clusters", []):
        for host in cluster.get("hosts", []):
            if host.get("nodetype") in SYNTHETIC_NODETYPES and host.get("hostname"):
                return str(host["hostname"])
    return None


def read_world(src: Source, days: float) -> dict[str, Any]:
    """Every section, read in the order the world file needs them."""
    info = src.ok("/v2/clusters", "getAllClusterInfo", with_hosts=False)
    now = _time(info.get("request_processed")) or 0.0
    clusters = clusters_of(src)
    names = {c["cluster_id"]: c["cluster_name"] for c in clusters}
    controller = {"controller_id": info.get("controller_id", "")}
    hostname = _controller_hostname(src)
    if hostname:
        controller["hostname"] = hostname
    world: dict[str, Any] = {
        "controller": controller,
        "groups": groups_of(src), "users": users_of(src), "clusters": clusters,
        "tree": tree_of(src), "jobs": jobs_of(src, now, days, names),
        "backups": backups_of(src, now, names), "alarms": alarms_of(src, now, names),
        "maintenance": maintenance_of(src, now),
    }
    return {k: v for k, v in world.items() if v}


def header(url: str, user: str, days: float) -> str:
    return (f"# A fakecmon world imported from {url} by {user} (fakecmon import).\n"
            f"# Secrets are not exported: every user's password is "
            f"'{PLACEHOLDER_PASSWORD}'.\n"
            f"# Jobs of the last {days:g} days; times are relative to the import.\n")


def cmd_import(args: argparse.Namespace) -> int:
    from fakecmon.contract_cli import fail
    from fakecmon.controller import Config, Controller
    from fakecmon.world.yamlfile import WorldError
    parts = urlsplit(args.source)
    if parts.scheme != "https" or not parts.hostname:
        return fail("import", f"--from must be an https:// URL, not {args.source!r}")
    out: Path = args.output
    if not out.parent.is_dir():
        return fail("import", f"cannot write {out}: {out.parent} is not a directory")
    try:
        src = Source(args.source, _ctx(args.ca, args.insecure))
        src.login(args.user, args.password)
        world = read_world(src, args.days)
    except ImportError_ as exc:
        return fail("import", str(exc))
    except socket.timeout:
        return fail("import", f"{args.source} did not answer in time")
    text = header(args.source, args.user, args.days) + yaml.safe_dump(
        world, sort_keys=False, allow_unicode=True, width=100)
    with tempfile.TemporaryDirectory(prefix="fakecmon-import-") as tmp:
        check = Path(tmp, out.name)
        check.write_text(text)
        try:        # the file must load as it is: fail here, not when it is served
            Controller(Config(world_paths=[check]))
        except WorldError as exc:
            return fail("import", f"the imported world does not load: {exc}")
    try:
        write_atomic(out, text.encode())
    except OSError as exc:
        return fail("import", f"cannot write {out}: {exc.strerror or exc}")
    print(f"wrote {out}: {len(world.get('clusters', []))} cluster(s), "
          f"{len(world.get('users', []))} user(s), {len(world.get('jobs', []))} job(s)")
    return 0
