"""Housekeeping jobs of a cluster's data.

``delete_database`` (``s9s cluster --delete-database --db-name=NAME``): the database
named by ``job_data.database`` is dropped from the cluster (getAllClusterInfo
``with_databases``, the tree's ``/<cluster>/databases``).

``delete_old_backups`` (``s9s backup --delete-old [--backup-retention=DAYS]
[--safety-copies=N] [--dry]``): the backups older than the retention (31 days by
default) go, except the newest ``safety_copies`` (1 by default); ``dry_run`` only says
which would go.
"""

from __future__ import annotations

from fakecmon.world.backups import backups_of
from fakecmon.world.dbaccounts import databases_of
from fakecmon.world.jobs import PLANS, JobContext, Step


def plan_delete_database(ctx: JobContext) -> list[Step]:
    cluster = ctx.cluster()
    name = ctx.data.get("database") or ctx.data.get("db_name")
    if not isinstance(name, str) or not name:
        ctx.fail("The 'job_data.database' field must name the database to delete.")
    if not any(d.get("database_name") == name for d in databases_of(ctx.world,
                                                                    cluster.cluster_id)):
        ctx.fail(f"Database '{name}' was not found on cluster {cluster.cluster_id}.")
    ctx.log(f"Dropping database '{name}' on cluster {cluster.cluster_id} "
            f"('{cluster.cluster_name}').")
    return [Step(1, drop_database, (cluster.cluster_id, name))]


def drop_database(ctx: JobContext, cluster_id: int, name: str) -> None:
    found = databases_of(ctx.world, cluster_id)
    kept = [d for d in found if d.get("database_name") != name]
    if len(kept) == len(found):
        ctx.fail(f"Database '{name}' was not found on cluster {cluster_id}.")
    found[:] = kept
    ctx.log(f"Database '{name}' is dropped.")
    ctx.emit("database.deleted", f"Database '{name}' is dropped.", cluster_id,
             database_name=name)


def _count(ctx: JobContext, key: str, default: int) -> int:
    value = ctx.data.get(key, default)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        ctx.fail(f"The 'job_data.{key}' field must be a number of at least 0.")
    return value


def plan_delete_old_backups(ctx: JobContext) -> list[Step]:
    cluster = ctx.cluster()
    retention = _count(ctx, "backup_retention", 31)
    safety = _count(ctx, "safety_copies", 1)
    dry = ctx.data.get("dry_run") is True
    records = [r for r in backups_of(ctx.world).listed({cluster.cluster_id})
               if r.status == "Completed"]          # newest first
    expired = [r for r in records if r.created < ctx.now - retention * 86400]
    ctx.log(f"Backup retention is {retention} day(s), {safety} safety copies are kept"
            f"{' (dry run)' if dry else ''}.")
    if not expired:
        ctx.log("No old backup records found, nothing to delete.")
        return []
    if len(records) <= safety:
        ctx.log(f"There are {len(records)} backup(s) and {safety} safety copies must be "
                "kept: no backup can be deleted.")
        return []
    kept = {r.backup_id for r in records[:safety]}
    doomed = [r for r in expired if r.backup_id not in kept]
    if any(r.backup_id in kept for r in expired):
        ctx.log(f"The newest {safety} backup(s) are the safety copies, not considering other "
                "expired backups among them.")
    steps = []
    for record in doomed:
        if dry:
            ctx.log(f"Backup {record.backup_id} would be deleted (dry run).")
        else:
            steps.append(Step(1, drop_old, (record.backup_id,)))
    return steps


def drop_old(ctx: JobContext, backup_id: int) -> None:
    from fakecmon.world.job_effects import drop_backup   # one way a backup goes
    drop_backup(ctx, backup_id)


PLANS["delete_database"] = plan_delete_database
PLANS["delete_old_backups"] = plan_delete_old_backups
