"""/v2/jobs: create jobs, follow them (instance, list, log), kill, delete, enable, clone.

The jobs themselves run in ``fakecmon.world.jobs`` (simulated time); what they do
to the world is in ``fakecmon.world.job_effects``. Before every RPC call the
engine catches up with the controller clock, so any operation sees the world as
of now.
"""

from __future__ import annotations

from typing import Any

import orjson

from fakecmon import permissions
from fakecmon.controller import WORLD_HOOKS
from fakecmon.errors import OBJECT_NOT_FOUND, RpcError, invalid
from fakecmon.rpc import CATCH_UP, Call, Payload, coerce, operation
from fakecmon.timefmt import parse_time
from fakecmon.world import job_effects  # noqa: F401  (fills jobs.PLANS)
from fakecmon.world.cron import Cron
from fakecmon.world.jobs import (
    LOG_LEVELS, PAUSED, RUNNING, SCHEDULED, WAITING, Job, JobEngine, default_title, jobs_of,
    messages_for,
)
from fakecmon.world.models import Cluster, User

from fakecmon.api._common import named_cluster, page, paging  # isort: skip

PATH = "/v2/jobs"
#: Commands that make a new cluster: they need the create-cluster privilege as well.
CREATING = ("create_cluster", "add_cluster")
#: ``show_*`` flags of getJobInstances and the states each one shows.
SHOW_FLAGS = {"show_aborted": ("ABORTED",), "show_defined": ("DEFINED", "DEQUEUED"),
              "show_failed": ("FAILED",), "show_finished": ("FINISHED",),
              "show_running": ("RUNNING", "RUNNING2", "RUNNING3", "RUNNING_EXT"),
              "show_scheduled": ("SCHEDULED", "PAUSED")}


# ---- request fields

def _job_spec(spec: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(command, job_data) from ``job.job_spec``, an object or its JSON text."""
    raw = spec.get("job_spec")
    if raw is None:
        raise invalid("The job has no 'job_spec'.")
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise invalid("The 'job_spec' string is not valid JSON.") from None
    if not isinstance(raw, dict):
        raise invalid("The 'job_spec' must be an object (or a JSON string of one).")
    command = raw.get("command")
    if not isinstance(command, str) or not command.strip():
        raise invalid("The 'job_spec' has no 'command'.")
    data = raw.get("job_data", {})
    if isinstance(data, str):
        try:
            data = orjson.loads(data) if data.strip() else {}
        except orjson.JSONDecodeError:
            raise invalid("The 'job_data' string is not valid JSON.") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise invalid("The 'job_data' must be an object.")
    return command.strip(), data


def _tags(value: Any, name: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [t for t in value.replace(",", ";").split(";") if t]
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return list(value)
    raise invalid(f"The '{name}' field must be a list of strings.")


def _recurrence(value: Any) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        raise invalid("The 'recurrence' must be a string (a cron expression).")
    try:
        Cron(value)
    except ValueError as exc:
        raise invalid(str(exc)) from None
    return value.strip()


def _scheduled(value: Any) -> float | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise invalid("The 'scheduled' field must be a time string.")
    try:
        return parse_time(value)
    except ValueError as exc:
        raise invalid(str(exc)) from None


def _job_id(call: Call) -> int:
    """``job_id``, or ``job.job_id`` as updateJobInstance sends it."""
    if call.body.get("job_id") is not None:
        return call.arg("job_id", int)
    job = call.body.get("job")
    if isinstance(job, dict) and job.get("job_id") is not None:
        return coerce(job["job_id"], int, "job.job_id")
    raise invalid("Missing 'job_id' field in the request.")


# ---- permission helpers

def _cluster_of(call: Call, job: Job) -> Cluster | None:
    return call.world.clusters.get(job.cluster_id) if job.cluster_id else None


def _check(call: Call, job: Job, wanted: str) -> None:
    permissions.check_cluster(call.world, call.login_user(), _cluster_of(call, job),
                              job.cluster_id, wanted)


def _find(call: Call, wanted: str = permissions.READ) -> Job:
    job_id = _job_id(call)
    job = jobs_of(call.world).jobs.get(job_id)
    if job is None:
        raise RpcError(OBJECT_NOT_FOUND, f"Job instance {job_id} was not found.")
    _check(call, job, wanted)
    return job


def _new_job(call: Call, user: User, cluster_id: int, command: str, data: dict[str, Any],
             title: str) -> Job:
    group = call.world.groups.get(user.group_ids[0]) if user.group_ids else None
    return Job(job_id=0, cluster_id=cluster_id, command=command, job_data=data, title=title,
               user_id=user.user_id, user_name=user.user_name,
               group_id=group.group_id if group else 0,
               group_name=group.group_name if group else "", created=call.now,
               ip_address=call.peer or "127.0.0.1")


# ---- operations

@operation(PATH, "createJobInstance")
def create_job_instance(call: Call) -> Payload:
    """A new job; it starts when the engine next syncs (or when ``scheduled`` is due)."""
    user = call.login_user()
    spec = call.arg("job", dict)
    cluster = named_cluster(call)
    command, data = _job_spec(spec)
    if cluster is None:   # remove_cluster & co. name their cluster in the job data
        cid = data.get("clusterid", data.get("cluster_id"))
        if isinstance(cid, int) and not isinstance(cid, bool) and cid > 0:
            cluster = call.world.clusters.get(cid)
    cluster_id = cluster.cluster_id if cluster is not None else 0
    permissions.check_cluster(call.world, user, cluster, cluster_id, permissions.EXECUTE)
    if command in CREATING:
        permissions.check_create_cluster(call.world, user)
    title = spec.get("title")
    if title is not None and not isinstance(title, str):
        raise invalid("The job 'title' must be a string.")
    job = _new_job(call, user, cluster_id, command, data, title or default_title(command))
    job.tags = _tags(spec.get("tags"), "job.tags")
    job.recurrence = _recurrence(spec.get("recurrence"))
    job.scheduled = _scheduled(spec.get("scheduled"))
    if job.recurrence and str(spec.get("status", "")).upper() == PAUSED:
        job.status = PAUSED
    jobs_of(call.world).add(job, call.now)
    return {"job": job.to_json()}


@operation(PATH, "getJobInstance", readonly=True)
def get_job_instance(call: Call) -> Payload:
    """One job by ``job_id`` (``cluster_id``, which cmon-proxy always sends, is not needed)."""
    job = _find(call)
    return {"total": 1, "job": job.to_json()}


@operation(PATH, "getJobInstances", readonly=True)
def get_job_instances(call: Call) -> Payload:
    """Jobs newest first, filtered, paged by ``limit``/``offset`` with the full ``total``."""
    user = call.login_user()
    world = call.world
    clusters: set[int] | None = None
    if call.body.get("cluster_id") is not None or call.body.get("cluster_name") not in (None, ""):
        cluster = named_cluster(call)
        cid = cluster.cluster_id if cluster is not None else 0
        permissions.check_cluster(world, user, cluster, cid, permissions.READ)
        clusters = {cid}
    if call.body.get("cluster_ids") is not None:
        ids = call.arg("cluster_ids", list)
        wanted = {coerce(v, int, "cluster_ids") for v in ids}
        clusters = wanted if clusters is None else clusters & wanted
    states: set[str] = set()
    for flag, shown in SHOW_FLAGS.items():
        if call.arg(flag, bool, False):
            states.update(shown)
    tags = set(_tags(call.body.get("tags"), "tags"))
    readable: dict[int, bool] = {}

    def keep(job: Job) -> bool:
        if clusters is not None and job.cluster_id not in clusters:
            return False
        if states and job.status not in states:
            return False
        if tags and not tags & set(job.tags):
            return False
        if job.cluster_id not in readable:
            readable[job.cluster_id] = permissions.can_read_cluster_id(world, user,
                                                                       job.cluster_id)
        return readable[job.cluster_id]

    engine = jobs_of(world)
    ids = None if states or tags else _readable_ids(call, engine, clusters)
    if ids is not None:   # O(page): no filter but the clusters
        offset, limit = paging(call)
        return {"total": len(ids),
                "jobs": [job.to_json() for job in engine.newest_page(ids, offset, limit)]}
    found = engine.listed(keep)
    return {"total": len(found), "jobs": [job.to_json() for job in page(call, found)]}


def _readable_ids(call: Call, engine: JobEngine, clusters: set[int] | None) -> list[int] | None:
    """Ascending ids of the jobs listed when only clusters filter them: all jobs when the
    caller reads every cluster that has jobs, one cluster's; None in other cases."""
    world, user = call.world, call.login_user()
    if clusters is not None:
        if len(clusters) != 1:
            return None
        cid = next(iter(clusters))
        return engine.ids(cid) if permissions.can_read_cluster_id(world, user, cid) else []
    if world.is_superuser(user) or all(permissions.can_read_cluster_id(world, user, cid)
                                       for cid in engine.cluster_ids()):
        return engine.ids()
    return None


@operation(PATH, "getJobLog", readonly=True)
def get_job_log(call: Call) -> Payload:
    """The job's messages, always with ``job`` (s9s stops following on ``job.status``)."""
    job = _find(call)
    level = call.arg("log_level", str, "")
    if level and level.upper() not in LOG_LEVELS:
        raise invalid(f"Invalid log_level '{level}' (DEBUG, INFO, WARNING or ERROR).")
    messages = messages_for(job, ascending=call.arg("ascending", bool, False),
                            level=LOG_LEVELS.get(level.upper()) if level else None)
    return {"job": job.to_json(), "messages": [m.to_json() for m in page(call, messages)]}


@operation(PATH, "killJobInstance")
def kill_job_instance(call: Call) -> Payload:
    """Abort a running job (``signal`` is accepted, any value aborts). Only a RUNNING job
    ``can_be_aborted``: a job that waits is paused with updateJobInstance or deleted."""
    job = _find(call, permissions.EXECUTE)
    call.arg("signal", int, 15)
    if job.status != RUNNING:
        raise invalid(f"Job {job.job_id} is not running: it is {job.status}.")
    jobs_of(call.world).kill(job, call.now, call.login_user().user_name)
    return {}   # CMON answers with the bare envelope; getJobInstance shows the job


@operation(PATH, "deleteJobInstance")
def delete_job_instance(call: Call) -> Payload:
    """Forget a job (and its log); a running job must be killed first."""
    job = _find(call, permissions.EXECUTE)
    if job.status == RUNNING:
        raise invalid(f"Job {job.job_id} is running: it can not be deleted.")
    jobs_of(call.world).delete(job)
    return {}


@operation(PATH, "updateJobInstance")
def update_job_instance(call: Call) -> Payload:
    """Enable (``status: SCHEDULED``) or disable (``PAUSED``) a job that waits; a waiting
    job's ``title``, ``tags``, ``recurrence`` and ``job_spec`` may change too."""
    spec = call.arg("job", dict)
    job = _find(call, permissions.EXECUTE)
    if job.status not in WAITING:
        raise invalid(f"Job {job.job_id} is {job.status}: only jobs that wait "
                      "(scheduled, paused or defined) can be updated.")
    status = spec.get("status")
    if status is not None and (not isinstance(status, str)
                               or status.upper() not in (SCHEDULED, PAUSED)):
        raise invalid("The job 'status' can be set to SCHEDULED (enable) or PAUSED (disable).")
    title = spec.get("title")
    if title is not None and not isinstance(title, str):
        raise invalid("The job 'title' must be a string.")
    new_spec = _job_spec(spec) if "job_spec" in spec else None
    tags = _tags(spec.get("tags"), "job.tags") if "tags" in spec else None
    recurrence = _recurrence(spec.get("recurrence")) if "recurrence" in spec else None
    engine = jobs_of(call.world)
    if title:
        job.title = title
    if tags is not None:
        job.tags = tags
    if new_spec is not None:
        job.command, job.job_data = new_spec
    if recurrence is not None:
        job.recurrence = recurrence
    if status is not None:
        engine.set_enabled(job, status.upper() == SCHEDULED, call.now)
    elif recurrence is not None and job.status != PAUSED:
        engine.arm(job, call.now)
    return {"job": job.to_json()}


@operation(PATH, "cloneJobInstance")
def clone_job_instance(call: Call) -> Payload:
    """A new job doing what ``job_id`` did, run by the caller on the same cluster."""
    original = _find(call, permissions.READ + permissions.EXECUTE)
    user = call.login_user()
    if original.command in CREATING:
        permissions.check_create_cluster(call.world, user)
    job = _new_job(call, user, original.cluster_id, original.command,
                   orjson.loads(orjson.dumps(original.job_data)), original.title)
    job.tags = list(original.tags)
    job.recurrence = original.recurrence
    jobs_of(call.world).add(job, call.now)
    return {"job": job.to_json()}


# ---- wiring: every world gets a job engine; every call first catches up with the clock

def _world_hook(_controller: Any, world: Any) -> None:
    jobs_of(world)


def _catch_up(world: Any, now: float) -> bool:
    engine = world.extensions.get("jobs")
    return engine is not None and engine.sync(now)


WORLD_HOOKS.append(_world_hook)
CATCH_UP.append(_catch_up)
