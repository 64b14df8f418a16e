"""``delete_database`` (``s9s cluster --delete-database --db-name=NAME``): the database
named by ``job_data.database`` is dropped from the cluster (getAllClusterInfo
``with_databases``, the tree's ``/<cluster>/databases``)."""

from __future__ import annotations

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


PLANS["delete_database"] = plan_delete_database
