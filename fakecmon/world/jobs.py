"""Jobs: CMON's job model and an engine that runs jobs in simulated time.

A job goes DEFINED -> RUNNING -> FINISHED, FAILED or ABORTED (a scheduled one
waits as SCHEDULED, a disabled one as PAUSED). Nothing sleeps: the engine keeps
a heap of the next moment each unfinished job changes, and ``sync(now)`` (run
before every RPC call) applies, in time order and exactly once, every change
that is due by the controller clock. So ``cmon.advance(60)`` ends a job at once,
and a busy-polling client costs one heap peek per request.

What a job does is a *plan* (see ``fakecmon.world.job_effects``): built when the
job starts, which is when it checks that it can do what it asks, then applied
step by step over the job's duration. Plans are lists of plain functions and
arguments, so a World with running jobs stays deep-copyable.

The engine lives in ``world.extensions["jobs"]``; ``world.extensions["job_counts"]``
counts jobs by state for ``job_statistics``. World files hold past jobs in a
``jobs`` section and timing in ``job_settings``.
"""

from __future__ import annotations

import functools
from array import array
import heapq
import sys
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from fakecmon.events import Event, emit
from fakecmon.timefmt import rfc3339
from fakecmon.world.cron import Cron
from fakecmon.world.loader import SECTIONS, Reader
from fakecmon.world.models import Cluster
from fakecmon.world.state import World

if TYPE_CHECKING:
    from fakecmon.world.yamlfile import Node

log = logging.getLogger("fakecmon")

DEFINED, RUNNING, FINISHED, FAILED, ABORTED = "DEFINED", "RUNNING", "FINISHED", "FAILED", "ABORTED"
SCHEDULED, PAUSED, DEQUEUED = "SCHEDULED", "PAUSED", "DEQUEUED"
ENDED = frozenset((FINISHED, FAILED, ABORTED))
WAITING = frozenset((DEFINED, DEQUEUED, SCHEDULED, PAUSED))
#: The tag of each run of a recurring job.
RECURRENCE_TAG = "recurrence"
#: The states ``job_statistics.by_state`` counts.
COUNTED = ("ABORTED", "DEFINED", "DEQUEUED", "FAILED", "FINISHED", "RUNNING")

JOB_SUCCESS, JOB_WARNING, JOB_FAILED, JOB_DEBUG = (
    "JOB_SUCCESS", "JOB_WARNING", "JOB_FAILED", "JOB_DEBUG")
_LEVELS = {JOB_DEBUG: 0, JOB_SUCCESS: 1, JOB_WARNING: 2, JOB_FAILED: 3}

STATUS_TEXTS = {DEFINED: "Pending", RUNNING: "Running...", FINISHED: "Job finished.",
                FAILED: "Job failed.", ABORTED: "Job aborted.", SCHEDULED: "Scheduled",
                PAUSED: "Paused", DEQUEUED: "Dequeued"}

#: Seconds a job runs, by command, unless the world's ``job_settings`` say otherwise.
DEFAULT_DURATIONS: dict[str, float] = {
    "create_cluster": 5.0, "add_cluster": 3.0, "remove_cluster": 2.0, "addnode": 3.0,
    "removenode": 2.0, "stop_cluster": 3.0, "start_cluster": 3.0, "rolling_restart": 4.0,
    "restart": 2.0, "reboot": 2.0, "backup": 3.0, "restore_backup": 4.0,
    "upgrade_cluster": 5.0, "verify_backup": 3.0, "add_replication_slave": 3.0,
}
DEFAULT_DURATION = 1.0
#: Ended jobs a world keeps unless the server says otherwise (``--max-jobs``).
MAX_ENDED_JOBS = 200_000


class JobFailed(Exception):
    """Raised by a plan step: the job ends FAILED, the message is its last log line."""


@dataclass
class JobSettings:
    """How long jobs take. ``durations`` maps a command to seconds of RUNNING."""

    start_delay: float = 0.0
    default_duration: float = DEFAULT_DURATION
    durations: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DURATIONS))

    def duration_for(self, job: "Job") -> float:
        """The test commands take ``job_data.timeout`` seconds when given, as in CMON."""
        timeout = job.job_data.get("timeout")
        if job.command in ("success", "fail") and isinstance(timeout, (int, float)) \
                and not isinstance(timeout, bool) and timeout > 0:
            return float(timeout)
        return self.durations.get(job.command, self.default_duration)


@dataclass(slots=True)
class JobMessage:
    message_id: int
    job_id: int
    created: float
    status: str
    text: str
    file_name: str = "CmonCommandHandlerWorker.cpp"
    line_number: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"class_name": "CmonJobMessage", "created": rfc3339(int(self.created)),
                "file_name": self.file_name, "job_id": self.job_id,
                "line_number": self.line_number, "message_id": self.message_id,
                "message_status": self.status, "message_text": self.text}


@dataclass(frozen=True, slots=True)
class Step:
    """One thing a job does: ``action(ctx, *args)`` after ``weight`` parts of its duration."""

    weight: float
    action: Callable[..., None]
    args: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class _Planned:
    at: float
    progress: int
    action: Callable[..., None]
    args: tuple[Any, ...]


@dataclass(slots=True)
class Job:
    job_id: int
    cluster_id: int
    command: str
    job_data: dict[str, Any]
    title: str
    user_id: int
    user_name: str
    group_id: int
    group_name: str
    created: float
    status: str = DEFINED
    status_text: str = STATUS_TEXTS[DEFINED]
    progress_percent: int = 0
    started: float | None = None
    ended: float | None = None
    exit_code: int = 0
    tags: list[str] = field(default_factory=list)
    scheduled: float | None = None
    recurrence: str = ""
    parent_job_id: int = 0
    ip_address: str = "127.0.0.1"
    rpc_version: str = "2.0"
    messages: list[JobMessage] = field(default_factory=list)
    #: A loaded past job without a ``messages`` list has a two-line log made up from
    #: its fields, numbered from this message id (0: none); ``log()`` writes it out.
    #: Kept as one number, a hundred thousand such jobs take no room for their logs.
    made_up_log: int = 0
    # the engine's bookkeeping
    # (empty tuples until the job runs: a hundred thousand loaded jobs share them)
    plan: list[_Planned] | tuple[()] = ()
    step: int = 0
    version: int = 0
    touched: frozenset[int] | set[int] = frozenset()

    def log(self) -> list[JobMessage]:
        """The job's messages, oldest first."""
        if not self.made_up_log:
            return self.messages
        first = self.made_up_log
        when = self.ended if self.ended is not None else self.created
        final = JOB_SUCCESS if self.status == FINISHED else JOB_FAILED
        return [JobMessage(first, self.job_id, self.started or self.created, JOB_SUCCESS,
                           f"Running '{self.title}' ({self.command}).", line_number=120),
                JobMessage(first + 1, self.job_id, when, final, self.status_text,
                           line_number=131), *self.messages]

    def to_json(self) -> dict[str, Any]:
        """The ``CmonJobInstance`` object, with the fields CMON sends in each state."""
        doc: dict[str, Any] = {
            "class_name": "CmonJobInstance",
            "can_be_aborted": self.status == RUNNING,
            "can_be_deleted": self.status != RUNNING,
            "cluster_id": self.cluster_id,
            "created": rfc3339(int(self.created)),
        }
        if self.ended is not None:
            doc["ended"] = rfc3339(int(self.ended))
        doc.update({"exit_code": self.exit_code, "group_id": self.group_id,
                    "group_name": self.group_name})
        if self.started is not None:
            doc["has_progress"] = True
        doc.update({"ip_address": self.ip_address, "job_id": self.job_id})
        if self.started is not None:
            doc["progress_percent"] = self.progress_percent
        doc["rpc_version"] = self.rpc_version
        if self.started is not None:
            doc["started"] = rfc3339(int(self.started))
        doc.update({"status": self.status, "status_text": self.status_text, "title": self.title,
                    "user_id": self.user_id, "user_name": self.user_name})
        if self.tags:
            doc["tags"] = list(self.tags)
        if self.scheduled is not None:
            doc["scheduled"] = rfc3339(int(self.scheduled))
        if self.recurrence:
            doc["recurrence"] = self.recurrence
        if self.parent_job_id:
            doc["parent_job_id"] = self.parent_job_id
        doc["job_spec"] = {"command": self.command, "job_data": self.job_data}
        return doc


class JobContext:
    """What a plan step may do: log, set the status text, fail, change the world."""

    def __init__(self, engine: "JobEngine", job: Job, now: float) -> None:
        self.engine = engine
        self.job = job
        self.now = now

    @property
    def world(self) -> World:
        return self.engine.world

    @property
    def data(self) -> dict[str, Any]:
        return self.job.job_data

    def settings(self, *keys: str) -> None:
        """Log the ``job_data`` settings CMON takes for this job whose effect fakecmon
        does not model (SSH user, firewall...), as CMON's job log lists its parameters;
        that makes them part of the job's contract (fakecmon/contract.py)."""
        given = []
        for key in keys:
            value = self.data.get(key)
            if value is not None:
                secret = "password" in key or "token" in key or "key" in key
                given.append(f"{key}: {'********' if secret else value}")
        if given:
            self.log("Job settings: " + ", ".join(given) + ".")

    def log(self, text: str, status: str = JOB_SUCCESS) -> None:
        self.engine.add_message(self.job, self.now, text, status)

    def status(self, text: str) -> None:
        self.job.status_text = text

    def fail(self, reason: str) -> NoReturn:
        raise JobFailed(reason)

    def emit(self, kind: str, message: str, cluster_id: int | None = None, **data: Any) -> None:
        emit(self.world, Event(kind, self.now,
                               cluster_id=self.job.cluster_id if cluster_id is None else cluster_id,
                               user_name=self.job.user_name, message=message,
                               data={"job_id": self.job.job_id, **data}))

    def cluster(self, cluster_id: int | None = None) -> Cluster:
        """The job's cluster (or ``cluster_id``); the job fails if it is gone."""
        cid = self.job.cluster_id if cluster_id is None else cluster_id
        named = self.data.get("clusterid")
        if cid == 0 and isinstance(named, int) and not isinstance(named, bool) and named > 0:
            cid = named      # named in the job data, but no such cluster when it was created
        if cid == 0:
            self.fail(f"The '{self.job.command}' job needs a cluster: "
                      "set 'cluster_id' (or 'job_data.clusterid').")
        cluster = self.world.clusters.get(cid)
        if cluster is None:
            self.fail(f"Cluster {cid} was not found.")
        return cluster

    def touch(self, cluster: Cluster) -> None:
        """Remember that the cluster's state must follow its hosts when the job ends."""
        self.job.touched = {*self.job.touched, cluster.cluster_id}


Plan = Callable[[JobContext], list[Step]]

#: ``job_data`` CMON takes for any job, as the job reaches hosts over SSH (s9s sends
#: them with every job); fakecmon has no SSH: ``run_plan`` logs them.
SSH_ACCESS = ("ssh_user", "ssh_keyfile", "ssh_port", "sudo_password")


def run_plan(plan: "Plan", ctx: JobContext) -> list[Step]:
    """Start a job's plan, its SSH settings logged first (every command takes them; the
    request contract of a command is what this reads: fakecmon/contract.py)."""
    ctx.settings(*SSH_ACCESS)
    return plan(ctx)


#: command -> what the job does; filled by ``fakecmon.world.job_effects``. A command
#: missing here is unknown: its jobs fail, as CMON fails a job it cannot run.
PLANS: dict[str, Plan] = {}


class Archive(dict):  # type: ignore[type-arg]
    """Jobs that had ended when the world was loaded: job id -> Job, never changed.

    A world restored from its pristine copy shares them instead of copying a hundred
    thousand past jobs (``fakecmon.controller`` pickles an Archive by reference); a
    deep copy (snapshots) copies them like anything else. A world export writes it
    empty (``__cache__``): its jobs are in ``JobEngine.jobs`` anyway.
    """

    __cache__ = True


class JobEngine:
    """Every job of one World, and the clock-driven machinery that runs them."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.settings = JobSettings()
        self.jobs: dict[int, Job] = {}          # ascending ids: reversed() lists newest first
        self.archive = Archive()
        self.next_job_id = 1
        self.next_message_id = 1
        self._queue: list[tuple[float, int, int, int, str]] = []   # (at, order, job_id, version, what)
        self._order = 0
        self._counts: dict[int, dict[str, int]] = {}
        self._ids: list[int] | None = None                # ascending ids, made on demand
        self._ids_of: dict[int, list[int]] | None = None  # cluster id -> ascending ids
        #: Retention, like CMON's purge of old jobs: at most ``max_ended`` ended jobs
        #: (with their messages) are kept, the oldest ended falling out first.
        self.max_ended = MAX_ENDED_JOBS
        self._ended: dict[int, None] = {}     # ended job ids, in the order they ended

    # ---- copies: the archive is shared, not pickled job by job

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        archive = self.archive
        state["jobs"] = {i: j for i, j in self.jobs.items() if archive.get(i) is not j}
        state["_gone"] = [i for i in archive if i not in self.jobs]
        state["_ids"] = state["_ids_of"] = None
        # A hundred thousand ids: none when they are the archive's, in its order (a
        # loaded world), else one block of bytes; a restore makes the dict in C.
        ended = list(self._ended)
        state["_ended"] = None if ended == list(archive) else array("q", ended)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        own, gone = state.pop("jobs"), state.pop("_gone")
        self.__dict__.update(state)
        ended = state["_ended"]
        self._ended = dict.fromkeys(self.archive if ended is None else ended)
        jobs = dict(self.archive)
        for i in gone:
            del jobs[i]
        in_order = not own or not jobs or min(own) > max(jobs)
        jobs.update(own)
        self.jobs = jobs if in_order else dict(sorted(jobs.items()))

    def archive_ended(self) -> None:
        """Put every job that has ended into the archive (once the world is loaded)."""
        self.archive = Archive((i, j) for i, j in self.jobs.items() if j.status in ENDED)

    # ---- listing in O(page): ids in order, per cluster

    def _changed_list(self) -> None:
        self._ids = self._ids_of = None

    def ids(self, cluster_id: int | None = None) -> list[int]:
        """Job ids in ascending order (of one cluster when given)."""
        if self._ids is None:
            self._ids = list(self.jobs)
        if cluster_id is None:
            return self._ids
        if self._ids_of is None:
            by: dict[int, list[int]] = {}
            for i in self._ids:
                by.setdefault(self.jobs[i].cluster_id, []).append(i)
            self._ids_of = by
        return self._ids_of.get(cluster_id, [])

    def cluster_ids(self) -> list[int]:
        """Every cluster id some job has (or had)."""
        return list(self._counts)

    def newest_page(self, ids: list[int], offset: int, limit: int | None) -> list[Job]:
        """``ids[::-1][offset:offset + limit]`` as jobs, without reversing ``ids``."""
        end = len(ids) - offset
        start = 0 if limit is None else max(0, end - limit)
        return [self.jobs[i] for i in reversed(ids[start:max(end, 0)])]

    # ---- counting (job_statistics.by_state)

    def counts(self, cluster_id: int) -> dict[str, int]:
        """``{state: n}`` for a cluster, in the states ``job_statistics`` shows: always
        the COUNTED ones, SCHEDULED and PAUSED while there are such jobs (ft_maintenance)."""
        have = self._counts.get(cluster_id, {})
        found = {s: have.get(s, 0) for s in COUNTED}
        found.update((s, n) for s, n in have.items() if n > 0 and s not in found)
        return dict(sorted(found.items()))

    def _count(self, job: Job, delta: int) -> None:
        per = self._counts.setdefault(job.cluster_id, {})
        per[job.status] = per.get(job.status, 0) + delta
        self._ended.pop(job.job_id, None)
        if delta > 0 and job.status in ENDED:
            self._ended[job.job_id] = None

    def purge(self) -> None:
        """Drop the oldest ended jobs beyond ``max_ended``: O(jobs dropped)."""
        while len(self._ended) > max(0, self.max_ended):
            job = self.jobs.get(next(iter(self._ended)))
            if job is None:
                self._ended.pop(next(iter(self._ended)))
            else:
                self.delete(job)

    def _set_status(self, job: Job, status: str, text: str | None = None) -> None:
        self._count(job, -1)
        job.status = status
        self._count(job, +1)
        job.status_text = text if text is not None else STATUS_TEXTS.get(status, status)

    # ---- adding jobs

    def add(self, job: Job, now: float, *, queue: bool = True) -> Job:
        """Give ``job`` the next id, keep it and (unless ``queue`` is false) arm it."""
        if not job.job_id:
            job.job_id = self.next_job_id
        self.next_job_id = max(self.next_job_id, job.job_id + 1)
        self.jobs[job.job_id] = job
        self._changed_list()
        self._count(job, +1)
        if job.status in ENDED and len(self._ended) > self.max_ended:
            self.purge()
        if queue:
            self.arm(job, now)
            self._job_event(job, "job.created", now, f"Job {job.job_id} '{job.title}' is created.")
        return job

    def sort(self) -> None:
        """Keep ``jobs`` in ascending id order (world files may give ids out of order)."""
        self.jobs = dict(sorted(self.jobs.items()))
        self._changed_list()

    def _push(self, at: float, job: Job, what: str) -> None:
        self._order += 1
        heapq.heappush(self._queue, (at, self._order, job.job_id, job.version, what))

    def arm(self, job: Job, now: float) -> None:
        """Queue what comes next for a job that has not run yet."""
        job.version += 1
        if job.recurrence:
            if job.status != PAUSED:
                self._set_status(job, SCHEDULED)
                self._push(Cron(job.recurrence).next_after(now), job, "fire")
        elif job.status == PAUSED:
            return
        elif job.scheduled is not None and job.scheduled > now:
            self._set_status(job, SCHEDULED)
            self._push(job.scheduled, job, "start")
        else:
            if job.status != DEFINED:
                self._set_status(job, DEFINED)
            self._push(max(job.created, now) + self.settings.start_delay, job, "start")

    # ---- running

    def sync(self, now: float) -> bool:
        """Apply every job change due by ``now``, in time order (cheap when nothing is due).
        True when something was due (the world's views are then stale)."""
        queue = self._queue
        if not queue or queue[0][0] > now:
            return False
        while queue and queue[0][0] <= now:
            at, _, job_id, version, what = heapq.heappop(queue)
            job = self.jobs.get(job_id)
            if job is None or job.version != version:
                continue   # cancelled: killed, deleted, paused or re-armed
            if what == "start":
                self._start(job, at)
            elif what == "step":
                self._step(job, at)
            elif what == "fire":
                self._fire(job, at, now)
        return True

    def next_due(self) -> float | None:
        """When the next job change is due (None when nothing is queued)."""
        return self._queue[0][0] if self._queue else None

    def _start(self, job: Job, t: float) -> None:
        self._set_status(job, RUNNING)
        job.started = t
        job.progress_percent = 0
        self._job_event(job, "job.started", t, f"Job {job.job_id} '{job.title}' is started.")
        ctx = JobContext(self, job, t)
        plan = PLANS.get(job.command)
        try:
            if plan is None:
                ctx.fail(f"Unknown job command '{job.command}'.")
            steps = run_plan(plan, ctx)
        except JobFailed as exc:
            self._end(job, t, FAILED, str(exc))
            return
        except Exception:  # noqa: BLE001 - a plan's bug fails the job, never the server
            log.exception("job %s (%s) failed to start", job.job_id, job.command)
            self._end(job, t, FAILED, "Internal error while starting the job.")
            return
        duration = self.settings.duration_for(job)
        total = sum(s.weight for s in steps) or 1.0
        done = 0.0
        job.plan = []
        for s in steps:
            done += s.weight
            job.plan.append(_Planned(t + duration * done / total, int(99 * done / total),
                                     s.action, s.args))
        job.step = 0
        if not job.plan:
            self._push(t + duration, job, "step")   # nothing to do but take its time
        else:
            self._push(job.plan[0].at, job, "step")

    def _step(self, job: Job, t: float) -> None:
        if job.step < len(job.plan):
            planned = job.plan[job.step]
            job.step += 1
            try:
                planned.action(JobContext(self, job, t), *planned.args)
            except JobFailed as exc:
                self._end(job, t, FAILED, str(exc))
                return
            except Exception:  # noqa: BLE001
                log.exception("job %s (%s) step failed", job.job_id, job.command)
                self._end(job, t, FAILED, "Internal error while running the job.")
                return
            job.progress_percent = max(job.progress_percent, planned.progress)
        if job.step < len(job.plan):
            self._push(job.plan[job.step].at, job, "step")
        else:
            self._end(job, t, FINISHED)

    def _fire(self, template: Job, t: float, now: float) -> None:
        """A recurring job is due: run a copy of it, then wait for the next time. The copy
        is tagged ``recurrence`` besides the tags of the job (``s9s job --list
        --with-tags=recurrence`` lists the runs, ft_maintenance testRecurringJob)."""
        tags = list(template.tags) + ([] if RECURRENCE_TAG in template.tags else [RECURRENCE_TAG])
        child = Job(job_id=0, cluster_id=template.cluster_id, command=template.command,
                    job_data=dict(template.job_data), title=template.title,
                    user_id=template.user_id, user_name=template.user_name,
                    group_id=template.group_id, group_name=template.group_name, created=t,
                    tags=tags, parent_job_id=template.job_id,
                    ip_address=template.ip_address)
        self.add(child, t)
        self._push(Cron(template.recurrence).next_after(max(t, now)), template, "fire")

    def _end(self, job: Job, t: float, status: str, reason: str = "",
             by: str | None = None) -> None:
        job.version += 1
        job.plan = []
        job.ended = t
        if status == FINISHED:
            job.progress_percent = 100
            job.exit_code = 0
            self._set_status(job, FINISHED)
        elif status == FAILED:
            job.exit_code = 1
            self.add_message(job, t, reason or "Job failed.", JOB_FAILED)
            self._set_status(job, FAILED, reason or None)
        else:
            job.exit_code = 0
            who = f" by {by}" if by else ""
            self.add_message(job, t, f"Job aborted{who}.", JOB_FAILED)
            self._set_status(job, ABORTED)
        for cid in sorted(job.touched):
            cluster = self.world.clusters.get(cid)
            if cluster is not None:
                reconcile(self.world, cluster, t, job)
        self._job_event(job, "job.ended", t, f"Job {job.job_id} '{job.title}' ended: {job.status}.")
        self.purge()

    def _job_event(self, job: Job, kind: str, t: float, message: str) -> None:
        """``job.created`` / ``job.started`` / ``job.ended``, carrying the job object."""
        emit(self.world, Event(kind, t, cluster_id=job.cluster_id, user_name=job.user_name,
                               message=message,
                               data={"job_id": job.job_id, "command": job.command,
                                     "status": job.status, "job": job.to_json()}))

    def add_message(self, job: Job, t: float, text: str, status: str = JOB_SUCCESS) -> None:
        if job.messages.__class__ is not list:   # a loaded job's shared empty log
            job.messages = list(job.messages)
        job.messages.append(JobMessage(self.next_message_id, job.job_id, t, status,
                                       sys.intern(text),
                                       line_number=120 + 11 * len(job.messages)))
        self.next_message_id += 1

    # ---- what the API does to jobs

    def kill(self, job: Job, now: float, by: str) -> None:
        """Abort a running job where it is (the API refuses jobs that are not RUNNING)."""
        self._end(job, now, ABORTED, by=by)

    def delete(self, job: Job) -> None:
        if job.status not in ENDED:   # an ended job has nothing queued (and may be archived)
            job.version += 1
        self._count(job, -1)
        del self.jobs[job.job_id]
        self._changed_list()

    def set_enabled(self, job: Job, enabled: bool, now: float) -> None:
        """``updateJobInstance`` status SCHEDULED (enable) or PAUSED (disable)."""
        if enabled:
            if job.status == PAUSED:
                self._set_status(job, SCHEDULED)
            self.arm(job, now)
        else:
            job.version += 1
            self._set_status(job, PAUSED)

    def listed(self, keep: Callable[[Job], bool]) -> list[Job]:
        """Jobs that ``keep`` accepts, newest (highest id) first."""
        return [job for job in reversed(self.jobs.values()) if keep(job)]


def messages_for(job: Job, *, ascending: bool, level: str | None) -> list[JobMessage]:
    log = job.log()
    msgs: Iterable[JobMessage] = log if ascending else reversed(log)
    if level is not None:
        floor = _LEVELS.get(level, 0)
        msgs = (m for m in msgs if _LEVELS.get(m.status, 1) >= floor)
    return list(msgs)


LOG_LEVELS = {"DEBUG": JOB_DEBUG, "INFO": JOB_SUCCESS, "WARNING": JOB_WARNING,
              "ERROR": JOB_FAILED, "JOB_DEBUG": JOB_DEBUG, "JOB_SUCCESS": JOB_SUCCESS,
              "JOB_WARNING": JOB_WARNING, "JOB_FAILED": JOB_FAILED}


# ---- cluster state follows the hosts

#: Node types that do not hold data: they do not count for the cluster's state.
AUX_NODETYPES = frozenset(("haproxy", "proxysql", "maxscale", "pgbouncer", "keepalived",
                           "garbd", "prometheus", "controller", "nfsserver", "nfsclient"))
STATE_TEXTS = {"STARTED": "All nodes are operational.",
               "DEGRADED": "Not all nodes are operational.",
               "FAILURE": "The cluster failed.", "STOPPED": "The cluster is stopped.",
               "STARTING": "The cluster is starting.", "SHUTTING_DOWN": "The cluster is stopping.",
               "RECOVERING": "The cluster is recovering."}


def data_hosts(cluster: Cluster) -> list[Any]:
    return [h for h in cluster.hosts if h.nodetype not in AUX_NODETYPES]


def derived_state(cluster: Cluster) -> str:
    """STARTED when every data node is up, DEGRADED when some are, else STOPPED or FAILURE."""
    hosts = data_hosts(cluster)
    if not hosts:
        return cluster.state
    up = sum(1 for h in hosts if h.online)
    if up == len(hosts):
        return "STARTED"
    if up:
        return "DEGRADED"
    if all(h.hoststatus == "CmonHostShutDown" for h in hosts):
        return "STOPPED"
    return "FAILURE"


def set_cluster_state(world: World, cluster: Cluster, state: str, t: float,
                      job: Job | None = None) -> None:
    if cluster.state == state:
        return
    old, cluster.state = cluster.state, state
    cluster.status_text = STATE_TEXTS.get(state, cluster.status_text)
    emit(world, Event("cluster.state", t, cluster_id=cluster.cluster_id,
                      user_name=job.user_name if job else None,
                      message=f"Cluster {cluster.cluster_id} state changed: {old} -> {state}.",
                      data={"previous": old, "state": state, "cluster_state": state,
                            "job_id": job.job_id if job else 0}))


def reconcile(world: World, cluster: Cluster, t: float, job: Job | None = None) -> None:
    """Make the cluster's state follow its hosts."""
    set_cluster_state(world, cluster, derived_state(cluster), t, job)


def jobs_of(world: World) -> JobEngine:
    """The world's job engine (made on first use, with the ``job_counts`` the views read)."""
    engine = world.extensions.get("jobs")
    if engine is None:
        engine = world.extensions["jobs"] = JobEngine(world)
        world.extensions["job_counts"] = engine.counts
    return engine


# ---- world file sections: ``job_settings`` and ``jobs``

def plain(value: Any) -> Any:
    """YAML nodes as plain JSON values (dicts and lists without line bookkeeping)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def load_job_settings(r: Reader, data: "Node", world: World) -> None:
    """``job_settings: {start_delay, default_duration, durations: {command: seconds}}``."""
    m = r.mapping(data, "job_settings", "job_settings")
    place = "job_settings"
    r.only(m, place, ("start_delay", "default_duration", "durations"))
    settings = jobs_of(world).settings
    for key in ("start_delay", "default_duration"):
        value = r.get(m, place, key, float, getattr(settings, key))
        if value < 0:
            raise r.fail(m, key, f"{place}.{key}", "must not be negative")
        setattr(settings, key, value)
    durations = r.get(m, place, "durations", dict, {})
    for command in durations:
        value = r.get(durations, f"{place}.durations", command, float)
        if value < 0:
            raise r.fail(durations, command, f"{place}.durations.{command}",
                         "must not be negative")
        settings.durations[str(command)] = value


_JOB_FIELDS = ("job_id", "command", "cluster", "job_data", "title", "status", "status_text",
               "user", "ago", "duration", "tags", "messages", "recurrence")
_PAST = (FINISHED, FAILED, ABORTED, SCHEDULED, PAUSED)


def load_jobs(r: Reader, data: "Node", world: World) -> None:
    """``jobs:`` past jobs (FINISHED, FAILED, ABORTED) and recurring ones (SCHEDULED, PAUSED).

    Times are relative to the moment the world loads: ``ago`` seconds before it the
    job was created, and it ran for ``duration`` seconds. ``messages`` is its log
    (strings, or ``{text, status}``); a short log is made up when it is missing.
    """
    engine = jobs_of(world)
    owners: dict[str, tuple[Any, Any]] = {}   # user name -> (user, first group)
    get = r.get
    for i, m in r.each(data, "jobs"):
        place = f"jobs[{i}]"
        r.only(m, place, _JOB_FIELDS)
        command = get(m, place, "command", str)
        status = get(m, place, "status", str, FINISHED).upper()
        if status not in _PAST:
            raise r.fail(m, "status", f"{place}.status",
                         f"'{status}' is not a status a world file can give "
                         f"(known: {', '.join(_PAST)})")
        ref = get(m, place, "cluster", (str, int), 0)
        cluster = world.clusters.get(ref) if isinstance(ref, int) else world.cluster_by_name(ref)
        if ref != 0 and cluster is None:
            raise r.fail(m, "cluster", f"{place}.cluster", f"unknown cluster {ref!r}")
        user_name = get(m, place, "user", str, "system")
        found = owners.get(user_name)
        if found is None:
            user = world.user_by_name(user_name)
            if user is None:
                raise r.fail(m, "user", f"{place}.user", f"unknown user '{user_name}'")
            found = owners[user_name] = (
                user, world.groups.get(user.group_ids[0]) if user.group_ids else None)
        user, group = found
        job_id = get(m, place, "job_id", int, 0)
        if job_id < 0 or job_id in engine.jobs:
            raise r.fail(m, "job_id", f"{place}.job_id",
                         f"job id {job_id} is negative or already used")
        # (optional fields are looked at only when given: most jobs give few)
        recurrence = get(m, place, "recurrence", str, "") if "recurrence" in m else ""
        if recurrence:
            try:
                Cron(recurrence)
            except ValueError as exc:
                raise r.fail(m, "recurrence", f"{place}.recurrence", str(exc)) from None
        elif status in (SCHEDULED, PAUSED):
            raise r.fail(m, "status", place, f"a {status} job needs a 'recurrence'")
        ago = get(m, place, "ago", float, 3600.0)
        duration = get(m, place, "duration", float, engine.settings.durations.get(
            command, engine.settings.default_duration))
        if ago < 0 or duration < 0:
            raise r.fail(m, "ago", place, "'ago' and 'duration' must not be negative")
        job_data = plain(get(m, place, "job_data", dict, {})) if "job_data" in m else {}
        title = get(m, place, "title", str, None) if "title" in m else None
        created = world.created - ago
        # Texts repeat across thousands of jobs: one string each (interned), and the
        # parsed file's own strings are not kept alive by the world.
        job = Job(job_id=job_id, cluster_id=cluster.cluster_id if cluster else 0,
                  command=sys.intern(command), job_data=job_data,
                  title=sys.intern(title) if title is not None else default_title(command),
                  user_id=user.user_id, user_name=user.user_name,
                  group_id=group.group_id if group else 0,
                  group_name=group.group_name if group else "",
                  created=created, status=sys.intern(status),
                  tags=(r.strings(m, place, "tags") or _NO_TAGS) if "tags" in m else _NO_TAGS,
                  recurrence=recurrence,
                  messages=[] if "messages" in m or status not in ENDED else _NO_MESSAGES)
        if status in ENDED:
            job.started = created
            job.ended = min(created + duration, world.created)
            job.progress_percent = 100 if status == FINISHED else 50
            job.exit_code = 1 if status == FAILED else 0
        job.status_text = sys.intern(get(m, place, "status_text", str, STATUS_TEXTS[status])) \
            if "status_text" in m else STATUS_TEXTS[status]
        engine.add(job, world.created, queue=False)
        _load_messages(r, m, place, engine, job)
        if recurrence:
            engine.arm(job, world.created)
    engine.sort()
    engine.archive_ended()


#: Shared by loaded past jobs without tags or messages (``add_message`` makes a list).
_NO_TAGS: Any = ()
_NO_MESSAGES: Any = ()


def _load_messages(r: Reader, m: "Node", place: str, engine: JobEngine, job: Job) -> None:
    raw = r.get(m, place, "messages", list, None)
    when = job.ended if job.ended is not None else job.created
    if raw is None:
        if job.status in ENDED:   # the made-up log: written out when it is read
            job.made_up_log = engine.next_message_id
            engine.next_message_id += 2
        return
    for k, item in enumerate(raw):
        kplace = f"{place}.messages[{k}]"
        if isinstance(item, str):
            engine.add_message(job, when, item)
            continue
        if not isinstance(item, dict):
            raise r.fail(raw, k, kplace, "expected a string or a mapping {text, status}")
        r.only(item, kplace, ("text", "status"))
        status = r.get(item, kplace, "status", str, JOB_SUCCESS)
        if status not in _LEVELS:
            raise r.fail(item, "status", f"{kplace}.status",
                         f"unknown message status (known: {', '.join(_LEVELS)})")
        engine.add_message(job, when, r.get(item, kplace, "text", str), status)


#: Titles CMON gives jobs whose request has none.
TITLES = {
    "create_cluster": "Create Cluster", "add_cluster": "Import Cluster",
    "remove_cluster": "Remove Cluster", "addnode": "Add Node", "removenode": "Remove Node",
    "stop": "Stop Node", "start": "Start Node", "restart": "Restart Node",
    "reboot": "Reboot Host", "stop_cluster": "Stop Cluster", "start_cluster": "Start Cluster",
    "rolling_restart": "Rolling Restart", "backup": "Create Backup",
    "restore_backup": "Restore Backup", "delete_backup": "Delete Backup",
    "create_maintenance": "Create Maintenance", "success": "Simulated Success",
    "fail": "Simulated Failure",
}


@functools.lru_cache(maxsize=512)
def default_title(command: str) -> str:
    return TITLES.get(command, command.replace("_", " ").strip().title() or "Job")


SECTIONS["job_settings"] = load_job_settings
SECTIONS["jobs"] = load_jobs
