"""Saved clusters and controllers (``s9s backup --save-cluster-info / --restore-cluster-info
/ --save-controller / --restore-controller``): ``save_cluster``, ``restore_cluster``,
``save_controller`` and ``restore_controller`` jobs.

As CMON does, a save writes one ``tar.gz`` on the controller's machine
(``job_data.backupdir``/``output_file``) and a restore reads one
(``job_data.input_file``), so the file can be carried to another controller. Inside,
under ``archive/``: ``archive.json`` (what the file holds), per cluster
``cluster_<id>/cluster.json`` (the cluster and its hosts, in the shape of a world
file's ``clusters`` entry), ``clusterconfig.json`` (its changed CMON settings) and
``ssh-key.json`` (how the controller reaches its hosts); a controller save also has
``controllerconfig.json`` and ``cmondb.sql`` (the clusters and hosts as rows of
CMON's tables). ``keep_temp_dir`` with ``temp_dir_path`` also leaves the unpacked
``archive/`` folder there, as CMON leaves its working folder.

A restored cluster gets the next free cluster id (a restored controller's clusters keep
theirs where free) and keeps its name, owner, hosts and settings; a name or host already
on the controller is refused (nothing is restored).
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path, PurePosixPath
from typing import Any

from fakecmon.timefmt import rfc3339
from fakecmon.world import config
from fakecmon.world.cdt import cdt_of
from fakecmon.world.export import cluster_entry, controller_entry
from fakecmon.world.job_effects import doing
from fakecmon.world.jobs import PLANS, JobContext, Step
from fakecmon.world.loader import Reader, load_clusters
from fakecmon.world.models import Cluster
from fakecmon.world.state import World
from fakecmon.world.yamlfile import WorldError

#: Format of archive.json; a restore refuses other formats.
FORMAT = 1
ROOT = "archive"
#: What the controller reaches cluster hosts with (``/v2/discovery getSshCredentials``).
SSH_CREDENTIALS = {"class_name": "CmonSshCredentials", "user_name": "root",
                   "key_file": "/root/.ssh/id_rsa", "port": 22, "timeout": 30,
                   "tty_for_sudo": False}
#: An archive larger than this is not read (a restore never unpacks without bound).
MAX_ARCHIVE = 64 * 1024 * 1024


# ---- what an archive holds

def _json(doc: Any) -> bytes:
    return (json.dumps(doc, indent=4, sort_keys=True) + "\n").encode()


def cluster_members(world: World, cluster: Cluster) -> dict[str, bytes]:
    """``cluster_<id>/...`` files of one cluster."""
    folder = f"cluster_{cluster.cluster_id}"
    values = config.book(world).values.get(cluster.cluster_id, {})
    return {f"{folder}/cluster.json": _json(cluster_entry(world, cluster)),
            f"{folder}/clusterconfig.json": _json({"cluster_id": cluster.cluster_id,
                                                    "settings": values}),
            f"{folder}/ssh-key.json": _json(SSH_CREDENTIALS)}


def _sql_text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "''") + "'"


def cmondb_sql(world: World, clusters: list[Cluster]) -> bytes:
    """The clusters and hosts as rows of CMON's ``cluster`` and ``hosts`` tables."""
    lines = [f"-- CMON database of controller {world.controller_id} (version {world.version})"]
    for c in clusters:
        row = ", ".join(_sql_text(v) for v in (c.cluster_id, c.cluster_name,
                                               c.cluster_type.lower(), c.vendor, c.version))
        lines.append(f"INSERT INTO cluster (id, name, type, vendor, version) VALUES ({row});")
        for h in c.hosts:
            row = ", ".join(_sql_text(v) for v in (h.host_id, c.cluster_id, h.hostname,
                                                   h.port, h.nodetype, h.role))
            lines.append("INSERT INTO hosts (id, cid, hostname, port, nodetype, role) "
                         f"VALUES ({row});")
    return ("\n".join(lines) + "\n").encode()


def archive_members(world: World, kind: str, clusters: list[Cluster],
                    now: float) -> dict[str, bytes]:
    """Every file of a ``kind`` ("cluster" or "controller") archive, by path below archive/."""
    members = {"archive.json": _json({
        "archive_type": kind, "format": FORMAT, "created": rfc3339(now),
        "controller_id": world.controller_id, "cmon_version": world.version,
        "clusters": [{"cluster_id": c.cluster_id, "cluster_name": c.cluster_name,
                      "folder": f"cluster_{c.cluster_id}"} for c in clusters]})}
    if kind == "controller":
        members["controllerconfig.json"] = _json(controller_entry(world))
        members["cmondb.sql"] = cmondb_sql(world, clusters)
    for cluster in clusters:
        members.update(cluster_members(world, cluster))
    return members


def tgz(members: dict[str, bytes], mtime: float) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"{ROOT}/{name}")
            info.size, info.mtime, info.mode = len(data), int(mtime), 0o600
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def read_tgz(data: bytes) -> dict[str, bytes]:
    """The regular files below archive/ of a tar.gz (other members are ignored)."""
    members: dict[str, bytes] = {}
    total = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for info in tar:
            parts = PurePosixPath(info.name).parts
            total += info.size
            if total > MAX_ARCHIVE:
                raise tarfile.TarError("it unpacks to more than "
                                       f"{MAX_ARCHIVE // (1024 * 1024)} MiB")
            if info.isfile() and len(parts) > 1 and parts[0] == ROOT and ".." not in parts:
                found = tar.extractfile(info)
                if found is not None:
                    members["/".join(parts[1:])] = found.read()
    return members


# ---- files on the controller's machine

def _absolute(ctx: JobContext, key: str) -> Path:
    value = ctx.data.get(key)
    if not isinstance(value, str) or not value.startswith("/") or "\0" in value \
            or ".." in PurePosixPath(value).parts:
        ctx.fail(f"The 'job_data.{key}' must be an absolute path on the controller.")
    return Path(value)


def _write(ctx: JobContext, path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("xb") as f:
            f.write(data)
    except FileExistsError:
        ctx.fail(f"The file '{path}' already exists.")
    except OSError as e:
        ctx.fail(f"Could not write '{path}': {e.strerror or e}.")


def _read(ctx: JobContext, path: Path) -> dict[str, bytes]:
    try:
        if path.stat().st_size > MAX_ARCHIVE:
            ctx.fail(f"The file '{path}' is too large to be a saved archive.")
        members = read_tgz(path.read_bytes())
    except FileNotFoundError:
        ctx.fail(f"The file '{path}' is not found.")
    except (OSError, tarfile.TarError, EOFError) as e:
        ctx.fail(f"The file '{path}' is not a saved archive: {e}.")
    if "archive.json" not in members:
        ctx.fail(f"The file '{path}' is not a saved archive: it has no archive/archive.json.")
    return members


# ---- the save jobs

def _output(ctx: JobContext, default_name: str) -> Path:
    folder = _absolute(ctx, "backupdir")
    name = ctx.data.get("output_file") or default_name
    if not isinstance(name, str) or "/" in name or name in (".", ".."):
        ctx.fail("The 'job_data.output_file' must be a file name.")
    return folder / name


def _save_steps(ctx: JobContext, kind: str, default_name: str) -> list[Step]:
    ctx.settings("temp_dir_path", "keep_temp_dir")
    target = _output(ctx, default_name)
    if target.exists():
        ctx.fail(f"The file '{target}' already exists.")
    temp = _absolute(ctx, "temp_dir_path") if ctx.data.get("keep_temp_dir") is True \
        and ctx.data.get("temp_dir_path") else None
    return [Step(1, doing, ("Collecting the data.", "Collecting the cluster data.")),
            Step(1, write_archive, (kind, str(target), str(temp) if temp else ""))]


def _saved_clusters(ctx: JobContext, kind: str) -> list[Cluster]:
    if kind == "cluster":
        return [ctx.cluster()]
    return [ctx.world.clusters[cid] for cid in sorted(ctx.world.clusters)]


def write_archive(ctx: JobContext, kind: str, target: str, temp: str) -> None:
    clusters = _saved_clusters(ctx, kind)
    members = archive_members(ctx.world, kind, clusters, ctx.now)
    if temp:
        for name, data in members.items():
            _write(ctx, Path(temp) / ROOT / name, data)
        ctx.log(f"The working folder '{temp}' is kept.")
    _write(ctx, Path(target), tgz(members, ctx.now))
    what = f"cluster {clusters[0].cluster_id}" if kind == "cluster" else "the controller"
    doing(ctx, f"Saved {what}.", f"Saved {what} into '{target}'.")


def plan_save_cluster(ctx: JobContext) -> list[Step]:
    cluster = ctx.cluster()
    ctx.log(f"Saving cluster {cluster.cluster_id} ('{cluster.cluster_name}').")
    stamp = time.strftime("%Y-%m-%d_%H%M%S", time.gmtime(ctx.now))
    return _save_steps(ctx, "cluster", f"cluster_{cluster.cluster_id}_{stamp}.tar.gz")


def plan_save_controller(ctx: JobContext) -> list[Step]:
    ctx.log(f"Saving the controller ({len(ctx.world.clusters)} cluster(s)).")
    stamp = time.strftime("%Y-%m-%d_%H%M%S", time.gmtime(ctx.now))
    return _save_steps(ctx, "controller", f"controller_{stamp}.tar.gz")


# ---- the restore jobs

def _archive(ctx: JobContext, kind: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    path = _absolute(ctx, "input_file")
    members = _read(ctx, path)
    try:
        head = json.loads(members["archive.json"])
    except ValueError:
        ctx.fail(f"The file '{path}' is not a saved archive: archive.json is not JSON.")
    if not isinstance(head, dict) or head.get("format") != FORMAT \
            or head.get("archive_type") not in ("cluster", "controller"):
        ctx.fail(f"The file '{path}' is not a saved archive of this controller version.")
    if kind == "cluster" and head["archive_type"] != "cluster":
        ctx.fail(f"The file '{path}' holds a saved controller, not a saved cluster.")
    return head, members


def _entries(ctx: JobContext, head: dict[str, Any], members: dict[str, bytes],
             kind: str) -> list[dict[str, Any]]:
    """The cluster entries of an archive, each with its ``settings`` and the id it keeps
    (a restored controller keeps its clusters' ids, as its database is restored; a
    restored cluster is a new cluster of this controller)."""
    found = []
    listed = head.get("clusters") or []
    if not isinstance(listed, list):
        ctx.fail("The saved archive's archive.json has no list of clusters.")
    for item in listed:
        folder = item.get("folder") if isinstance(item, dict) else None
        try:
            entry = json.loads(members[f"{folder}/cluster.json"])
            settings = json.loads(members.get(f"{folder}/clusterconfig.json", b"{}"))
        except (KeyError, ValueError):
            ctx.fail(f"The saved archive has no readable '{folder}/cluster.json'.")
        if not isinstance(entry, dict) or not isinstance(settings, dict):
            ctx.fail(f"The saved archive's '{folder}' is not a cluster.")
        saved_id = entry.pop("cluster_id", None)
        found.append({"entry": entry, "settings": settings.get("settings") or {},
                      "cluster_id": saved_id if kind == "controller" else None})
    return found


def _conflict(world: World, entry: dict[str, Any]) -> str | None:
    name = entry.get("cluster_name")
    if world.cluster_by_name(name) is not None:
        return f"A cluster named '{name}' is already on the controller."
    taken = {h.hostname for c in world.clusters.values() for h in c.hosts}
    for host in entry.get("hosts") or []:
        if isinstance(host, dict) and host.get("hostname") in taken:
            return f"Host {host['hostname']} of cluster '{name}' is already in a cluster."
    return None


def _restore_steps(ctx: JobContext, kind: str) -> list[Step]:
    head, members = _archive(ctx, kind)
    clusters = _entries(ctx, head, members, kind)
    if kind == "cluster" and len(clusters) != 1:
        ctx.fail("A saved cluster holds exactly one cluster.")
    restore = []
    for item in clusters:
        problem = _conflict(ctx.world, item["entry"])
        if problem is not None and kind == "cluster":
            ctx.fail(problem)
        if problem is not None:
            ctx.log(f"{problem} It is not restored.")
        else:
            restore.append(item)
    if clusters and not restore:
        ctx.fail("None of the saved clusters can be restored.")
    return [Step(1, restore_cluster, (item,)) for item in restore] + [
        Step(1, doing, (f"{len(restore)} cluster(s) restored.",
                        f"{len(restore)} cluster(s) of the archive are restored."))]


def restore_cluster(ctx: JobContext, item: dict[str, Any]) -> None:
    world, entry = ctx.world, dict(item["entry"])
    problem = _conflict(world, entry)
    if problem is not None:
        ctx.fail(problem)
    if world.user_by_name(entry.get("owner", "")) is None:
        user = world.users.get(ctx.job.user_id)
        entry["owner"] = user.user_name if user is not None else "system"
    if world.group_by_name(entry.get("group", "")) is None:
        entry["group"] = "admins"
    kept = item.get("cluster_id")
    free = isinstance(kept, int) and not isinstance(kept, bool) and kept > 0 \
        and kept not in world.clusters
    cid = entry["cluster_id"] = kept if free else world.next_cluster_id()
    try:
        load_clusters(Reader(Path(ctx.data["input_file"])), {"clusters": [entry]}, world)
    except WorldError as e:
        ctx.fail(f"The saved cluster can not be restored: {e}.")
    cluster = world.clusters[cid]
    cluster.created = ctx.now
    for host in cluster.hosts:
        host.started_at = ctx.now
    settings = item["settings"]
    if isinstance(settings, dict) and settings:
        config.book(world).values[cid] = dict(settings)
    cdt_of(world).place(cluster, cdt_of(world).root)
    ctx.emit("cluster.created", f"Cluster {cid} '{cluster.cluster_name}' is restored.", cid,
             cluster_name=cluster.cluster_name, cluster_type=cluster.cluster_type)
    doing(ctx, f"Cluster {cid} is restored.",
          f"Cluster {cid} ('{cluster.cluster_name}') is restored.")


def plan_restore_cluster(ctx: JobContext) -> list[Step]:
    return _restore_steps(ctx, "cluster")


def plan_restore_controller(ctx: JobContext) -> list[Step]:
    return _restore_steps(ctx, "controller")


PLANS.update({
    "save_cluster": plan_save_cluster, "restore_cluster": plan_restore_cluster,
    "save_controller": plan_save_controller, "restore_controller": plan_restore_controller,
})
