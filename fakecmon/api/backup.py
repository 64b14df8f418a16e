"""/v2/backup: backup records and backup schedules.

Records come from ``backup`` jobs and from world files (``fakecmon.world.backups``).
s9s asks without ``backup_record_version`` and reads flat records; the Go clients
ask for version 2 and read ``metadata``. Both page newest first by default.
A backup schedule is what CMON makes of it: a recurring ``backup`` job (status
SCHEDULED, or PAUSED when disabled), so it also shows in ``getJobInstances``.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from fakecmon import permissions
from fakecmon.errors import OBJECT_NOT_FOUND, RpcError, invalid
from fakecmon.events import Event, emit
from fakecmon.rpc import Call, Payload, coerce, operation
from fakecmon.timefmt import rfc3339
from fakecmon.world import snapshots
from fakecmon.world.backups import BackupRecord, backups_of, binlog_backups
from fakecmon.world.cron import Cron
from fakecmon.world.jobs import PAUSED, SCHEDULED, Job, jobs_of
from fakecmon.world.models import Cluster

from fakecmon.api._common import (  # isort: skip
    ReadableIds, named_cluster, page, readable_clusters, require)
from fakecmon.api.cloud import cloud  # isort: skip

PATH = "/v2/backup"


def _readable(call: Call, cluster: Cluster | None) -> Container[int]:
    """The ids of ``cluster`` (already checked) or of every cluster the caller may read."""
    return {cluster.cluster_id} if cluster is not None else ReadableIds(call, controller=False)


def _descending(call: Call) -> bool:
    """``order: "created DESC"`` (Terraform) wins over ``ascending`` (default: newest first)."""
    order = call.arg("order", str, "")
    if order:
        words = order.split()
        if len(words) > 1 and words[-1].upper() in ("ASC", "DESC"):
            return words[-1].upper() == "DESC"
    return not call.arg("ascending", bool, False)


@operation(PATH, "getBackups")
def get_backups(call: Call) -> Payload:
    world = call.world
    cluster = named_cluster(call)
    if cluster is not None:
        require(call, cluster, permissions.READ)
    parent = call.arg("parent_id", int, -1)
    version = call.arg("backup_record_version", int, 1)
    records = backups_of(world).listed(_readable(call, cluster), descending=_descending(call),
                                       parent_id=parent if parent >= 0 else None)
    return {"total": len(records),
            "backup_records": [_json(r, version, world.clusters.get(r.cluster_id))
                               for r in page(call, records)]}


def _json(record: BackupRecord, version: int, cluster: Cluster | None) -> dict[str, Any]:
    return record.v2_json(cluster) if version >= 2 else record.flat_json()


def _backup_ids(call: Call) -> list[int]:
    """``backup_record: {backup_id}``, ``backup_id_list`` or ``backup_id``."""
    ids: list[Any] = []
    record = call.body.get("backup_record")
    if record is not None:
        if not isinstance(record, dict) or record.get("backup_id") is None:
            raise invalid("The 'backup_record' must be an object with a 'backup_id'.")
        ids.append(record["backup_id"])
    listed = call.body.get("backup_id_list")
    if listed is not None:
        if not isinstance(listed, list):
            raise invalid("The 'backup_id_list' must be a list of backup ids.")
        ids += listed
    if call.body.get("backup_id") is not None:
        ids.append(call.body["backup_id"])
    if not ids:
        raise invalid("Missing 'backup_record' field in the request.")
    return [coerce(v, int, "backup_id") for v in ids]


@operation(PATH, "deleteBackupRecord")
def delete_backup_record(call: Call) -> Payload:
    """Forget backup records (the files stay where they are, as in CMON)."""
    user = call.login_user()
    world = call.world
    store = backups_of(world)
    found = []
    for bid in _backup_ids(call):
        record = store.records.get(bid)
        cluster = world.clusters.get(record.cluster_id) if record is not None else None
        if record is None or cluster is None or not permissions.can(
                world, user, cluster, permissions.READ):
            raise RpcError(OBJECT_NOT_FOUND, f"Backup record {bid} was not found.")
        permissions.check_cluster(world, user, cluster, cluster.cluster_id, permissions.WRITE)
        found.append(record)
    for record in found:
        store.remove(record.backup_id)
        emit(world, Event("backup.deleted", call.now, cluster_id=record.cluster_id,
                          user_name=user.user_name,
                          message=f"Backup record {record.backup_id} is deleted.",
                          data={"backup_id": record.backup_id}))
    return {}


operation(PATH, "deleteBackupList")(delete_backup_record)


# ---- backup schedules: recurring ``backup`` jobs, as CMON keeps them

def _schedule_json(job: Job) -> dict[str, Any]:
    return {
        "class_name": "CmonBackupSchedule",
        "id": job.job_id,
        "cluster_id": job.cluster_id,
        "created": rfc3339(int(job.created)),
        "enabled": job.status != PAUSED,
        "status": job.status,
        "schedule": job.recurrence,
        "recurrence": job.recurrence,
        "description": str(job.job_data.get("description") or job.title),
        "job": {"command": job.command, "job_data": job.job_data},
    }


def _schedules(world: Any, cluster_id: int | None) -> list[Job]:
    return jobs_of(world).listed(lambda j: j.command == "backup" and bool(j.recurrence)
                                 and j.status in (SCHEDULED, PAUSED)
                                 and (cluster_id is None or j.cluster_id == cluster_id))


@operation(PATH, "getBackupSchedules")
def get_backup_schedules(call: Call) -> Payload:
    """The recurring backup jobs of a cluster (or of every cluster the caller may read)."""
    world = call.world
    cluster = named_cluster(call)
    if cluster is not None:
        require(call, cluster, permissions.READ)
    readable = _readable(call, cluster)
    found = [j for j in _schedules(world, cluster.cluster_id if cluster else None)
             if j.cluster_id in readable]
    return {"total": len(found), "backup_schedules": [_schedule_json(j) for j in found]}


@operation(PATH, "scheduleBackup")
def schedule_backup(call: Call) -> Payload:
    """A new backup schedule (or a changed one, with ``schedule_id``): a recurring backup job."""
    user = call.login_user()
    world = call.world
    spec = call.arg("schedule", dict)
    cluster = named_cluster(call)
    if cluster is None:
        raise invalid("The request has no 'cluster_id' or 'cluster_name'.")
    permissions.check_cluster(world, user, cluster, cluster.cluster_id, permissions.EXECUTE)
    recurrence = spec.get("schedule", spec.get("recurrence"))
    if not isinstance(recurrence, str) or not recurrence.strip():
        raise invalid("The 'schedule' needs a 'schedule' (a cron expression).")
    try:
        Cron(recurrence)
    except ValueError as exc:
        raise invalid(str(exc)) from None
    job_spec = spec.get("job") if spec.get("job") is not None else {"command": "backup"}
    if not isinstance(job_spec, dict):
        raise invalid("The schedule's 'job' must be an object.")
    if job_spec.get("command", "backup") != "backup":
        raise invalid("A backup schedule runs 'backup' jobs only.")
    job_data = job_spec.get("job_data", {})
    if not isinstance(job_data, dict):
        raise invalid("The schedule's 'job.job_data' must be an object.")
    enabled = spec.get("enabled", True) is not False
    engine = jobs_of(world)
    existing = spec.get("schedule_id")
    if existing not in (None, 0):
        job = engine.jobs.get(coerce(existing, int, "schedule_id"))
        if job is None or job not in _schedules(world, cluster.cluster_id):
            raise RpcError(OBJECT_NOT_FOUND, f"Backup schedule {existing} was not found.")
        job.recurrence, job.job_data = recurrence.strip(), dict(job_data)
        engine.set_enabled(job, enabled, call.now)
        return {"backup_schedule": _schedule_json(job)}
    group = world.groups.get(user.group_ids[0]) if user.group_ids else None
    job = Job(job_id=0, cluster_id=cluster.cluster_id, command="backup",
              job_data=dict(job_data), title=str(job_data.get("description") or "Backup Schedule"),
              user_id=user.user_id, user_name=user.user_name,
              group_id=group.group_id if group else 0,
              group_name=group.group_name if group else "", created=call.now,
              recurrence=recurrence.strip(), status=SCHEDULED if enabled else PAUSED,
              ip_address=call.peer or "127.0.0.1")
    engine.add(job, call.now)
    return {"backup_schedule": _schedule_json(job)}


# ---- binary log backups (point-in-time recovery of MySQL-family clusters)

@operation(PATH, "getBinlogBackups")
def get_binlog_backups(call: Call) -> Payload:
    """The binary logs kept with the full backups (fakecmon/world/backups.py), of one
    cluster or of every cluster the caller may read; newest first unless ``ascending``."""
    world = call.world
    cluster = named_cluster(call)
    if cluster is not None:
        require(call, cluster, permissions.READ)
    clusters = [cluster] if cluster is not None else readable_clusters(call)
    found = [b for c in clusters for b in binlog_backups(world, c, call.now)]
    found.sort(key=lambda b: (b.created, b.binlog_id), reverse=not call.arg("ascending", bool,
                                                                              False))
    return {"total": len(found), "binlog_backups": [b.to_json() for b in page(call, found)]}


# ---- Elasticsearch snapshot repositories

def _elastic_cluster(call: Call, wanted: str) -> Cluster:
    """The Elasticsearch cluster the request names, checked for ``wanted`` access."""
    cluster = named_cluster(call)
    if cluster is None:
        raise invalid("The request has no 'cluster_id' or 'cluster_name'.")
    permissions.check_cluster(call.world, call.login_user(), cluster, cluster.cluster_id, wanted)
    if cluster.cluster_type != "ELASTIC":
        raise invalid(f"Cluster {cluster.cluster_id} is a {cluster.cluster_type} cluster: "
                      "snapshot repositories belong to Elasticsearch clusters.")
    return cluster


def _repositories_json(world: Any, cluster: Cluster) -> dict[str, Any]:
    repos = snapshots.repositories_of(world, cluster)
    return {name: repos[name].to_json() for name in sorted(repos)}


@operation(PATH, "getSnapshotRepositories")
def get_snapshot_repositories(call: Call) -> Payload:
    cluster = _elastic_cluster(call, permissions.READ)
    repos = _repositories_json(call.world, cluster)
    return {"cluster_id": cluster.cluster_id, "total": len(repos),
            "snapshot_repositories": repos}


@operation(PATH, "getAllSnapshotRepositories")
def get_all_snapshot_repositories(call: Call) -> Payload:
    """The repositories of every Elasticsearch cluster the caller may read (or of the one
    named), one entry per cluster."""
    user = call.login_user()
    world = call.world
    named = named_cluster(call)
    if named is not None:
        permissions.check_cluster(world, user, named, named.cluster_id, permissions.READ)
    clusters = [named] if named is not None else [world.clusters[c] for c in sorted(world.clusters)]
    entries = [{"cluster_id": c.cluster_id, "cluster_name": c.cluster_name,
                "snapshot_repositories": _repositories_json(world, c)}
               for c in clusters if c.cluster_type == "ELASTIC"
               and permissions.can(world, user, c, permissions.READ)]
    return {"total": sum(len(e["snapshot_repositories"]) for e in entries),
            "snapshot_repositories_list": entries}


def _repository_spec(call: Call) -> dict[str, Any]:
    """The settings s9s sends in ``repository.job.job_data`` (or straight in ``repository``)."""
    repo = call.arg("repository", dict)
    job = repo.get("job")
    if job is None:
        return repo
    data = job.get("job_data") if isinstance(job, dict) else None
    if not isinstance(data, dict):
        raise invalid("The 'repository.job' must be an object with a 'job_data' object.")
    return data


def _text(spec: dict[str, Any], name: str, required: bool = True) -> str:
    value = spec.get(name)
    if value in (None, "") and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"The snapshot repository needs '{name}' (a non-empty string).")
    return value.strip()


@operation(PATH, "snapshotRepository")
def snapshot_repository(call: Call) -> Payload:
    """Create a snapshot repository on an Elasticsearch cluster: ``s3`` (``s3_bucket``,
    ``s3_region``, ``credential_id`` of S3 cloud credentials) or ``fs``
    (``snapshot_location`` on ``storage_host``). Write access to the cluster is needed."""
    user = call.login_user()
    world = call.world
    cluster = _elastic_cluster(call, permissions.WRITE)
    spec = _repository_spec(call)
    try:
        name = snapshots.check_name(spec.get("snapshot_repository"))
    except ValueError as exc:
        raise invalid(str(exc)) from None
    kind = _text(spec, "snapshot_repository_type").lower()
    if kind not in snapshots.TYPES:
        raise invalid(f"Unknown snapshot repository type '{kind}' "
                      f"(known: {', '.join(snapshots.TYPES)}).")
    repo = snapshots.SnapshotRepository(
        name=name, repo_type=kind, created=call.now, created_by=user.user_name,
        uuid=snapshots.repository_uuid(cluster, name, call.now))
    if kind == "s3":
        repo.bucket, repo.region = _text(spec, "s3_bucket"), _text(spec, "s3_region")
        repo.credential_id = coerce(spec.get("credential_id"), int, "credential_id") \
            if spec.get("credential_id") is not None else 0
        credential = cloud(world).credentials.get(repo.credential_id)
        if credential is None or credential.provider not in ("aws", "s3"):
            raise RpcError(OBJECT_NOT_FOUND, f"S3 cloud credentials with id "
                                             f"{repo.credential_id} are not found.")
    else:
        repo.location = _text(spec, "snapshot_location")
        if not repo.location.startswith("/"):
            raise invalid("The 'snapshot_location' must be an absolute path.")
        repo.storage_host = _text(spec, "storage_host", required=False) or (
            cluster.hosts[0].hostname if cluster.hosts else world.hostname)
    if cluster.state not in ("STARTED", "DEGRADED"):
        raise invalid(f"Cluster {cluster.cluster_id} is {cluster.state}: Elasticsearch must "
                      "be running to register a snapshot repository.")
    repos = snapshots.repositories_of(world, cluster)
    if name in repos:
        raise invalid(f"Snapshot repository '{name}' already exists in cluster "
                      f"{cluster.cluster_id}.")
    repos[name] = repo
    message = f"Snapshot repository '{name}' is created in cluster {cluster.cluster_id}."
    emit(world, Event("backup.repository_created", call.now, cluster_id=cluster.cluster_id,
                      user_name=user.user_name, message=message, data={"name": name}))
    return {"snapshot_repository": repo.to_json(), "messages": [message]}


@operation(PATH, "deleteSnapshotRepository")
def delete_snapshot_repository(call: Call) -> Payload:
    """Unregister a repository (the snapshots stay where they are, as in Elasticsearch)."""
    user = call.login_user()
    world = call.world
    cluster = _elastic_cluster(call, permissions.WRITE)
    name = call.arg("snapshot_repository", str)
    repos = snapshots.repositories_of(world, cluster)
    if name not in repos:
        raise RpcError(OBJECT_NOT_FOUND, f"Snapshot repository '{name}' is not found in "
                                         f"cluster {cluster.cluster_id}.")
    del repos[name]
    message = f"Snapshot repository '{name}' is deleted from cluster {cluster.cluster_id}."
    emit(world, Event("backup.repository_deleted", call.now, cluster_id=cluster.cluster_id,
                      user_name=user.user_name, message=message, data={"name": name}))
    return {"messages": [message]}
