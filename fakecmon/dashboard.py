"""The dashboard on ``/_fakecmon/ui/``: the request journal, the world and the test controls
in a browser, on the server's own port.

One page (``fakecmon/ui/index.html``, with ``style.css`` and ``app.js`` put inline when
it is served, so the page is a single guarded request and works offline) reads the
views below and drives the control API (reset, snapshots, faults, clock) with fetch.
Everything is guarded exactly like the control API: loopback peers, or the token
(the page takes it once as ``?token=`` and then sends it as a header), and no
request from another web page.

    GET /_fakecmon/ui/                   the page
    GET /_fakecmon/ui/api/overview       counts, clock, faults, snapshots
    GET /_fakecmon/ui/api/clusters       clusters with hosts and states
    GET /_fakecmon/ui/api/jobs           jobs, newest first
    GET /_fakecmon/ui/api/jobs/{id}      one job: timeline and log
    GET /_fakecmon/ui/api/users          users and groups
    GET /_fakecmon/ui/api/tree           the tree with owners and ACLs
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

from aiohttp import web

from fakecmon.control import PREFIX, ControlError, clock_json
from fakecmon.rpc import catch_up
from fakecmon.timefmt import rfc3339
from fakecmon.world.cdt import FOLDER, cdt_of
from fakecmon.world.jobs import jobs_of

if TYPE_CHECKING:
    from fakecmon.controller import Controller
    from fakecmon.world.cdt import Cdt, Node
    from fakecmon.world.jobs import Job
    from fakecmon.world.models import Cluster, Owned

UI = PREFIX + "/ui"
#: Nodes of the tree the view lists at most (a generated world can hold many).
TREE_LIMIT = 5000
JOBS_LIMIT = 500

#: Sent with the page: nothing loads from elsewhere, nothing frames it.
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
       "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")

Handler = Callable[[web.Request, "Controller"], Awaitable[Any]]


def page() -> str:
    """index.html with its stylesheet and script inline (read from the package each time,
    so an edit shows on reload)."""
    files = resources.files("fakecmon") / "ui"
    text = (files / "index.html").read_text(encoding="utf-8")
    css = (files / "style.css").read_text(encoding="utf-8")
    js = (files / "app.js").read_text(encoding="utf-8")
    return (text.replace("/*STYLE*/", css).replace("/*SCRIPT*/", js.replace("</", "<\\/")))


# ---- views of the world, shaped for the page

def _names(c: "Controller", obj: "Owned") -> dict[str, Any]:
    w = c.world
    owner = w.users.get(obj.owner_user_id)
    group = w.groups.get(obj.owner_group_id)
    return {"owner": owner.user_name if owner else str(obj.owner_user_id),
            "group": group.group_name if group else str(obj.owner_group_id),
            "acl": str(obj.acl)}


def cluster_view(c: "Controller", cluster: "Cluster") -> dict[str, Any]:
    return {"cluster_id": cluster.cluster_id, "name": cluster.cluster_name,
            "type": cluster.cluster_type, "vendor": cluster.vendor, "version": cluster.version,
            "state": cluster.state, "status_text": cluster.status_text,
            "maintenance": cluster.maintenance_mode_active, "tags": list(cluster.tags),
            **_names(c, cluster),
            "hosts": [{"host_id": h.host_id, "hostname": h.hostname, "port": h.port,
                       "nodetype": h.nodetype, "role": h.role, "status": h.hoststatus,
                       "version": h.version, "maintenance": h.maintenance_mode_active}
                      for h in cluster.hosts]}


def job_view(job: "Job") -> dict[str, Any]:
    return {"job_id": job.job_id, "title": job.title, "command": job.command,
            "status": job.status, "status_text": job.status_text,
            "progress": job.progress_percent, "cluster_id": job.cluster_id,
            "user": job.user_name, "created": rfc3339(job.created),
            "started": rfc3339(job.started) if job.started is not None else None,
            "ended": rfc3339(job.ended) if job.ended is not None else None,
            "tags": list(job.tags), "recurrence": job.recurrence}


def timeline(job: "Job") -> list[dict[str, str]]:
    """The states a job went through, with when: DEFINED, RUNNING, then how it ended."""
    steps = [{"state": "DEFINED", "time": rfc3339(job.created)}]
    if job.scheduled is not None and job.started is None:
        steps.append({"state": job.status, "time": rfc3339(job.scheduled)})
    if job.started is not None:
        steps.append({"state": "RUNNING", "time": rfc3339(job.started)})
    if job.ended is not None:
        steps.append({"state": job.status, "time": rfc3339(job.ended)})
    elif job.status not in ("DEFINED", "RUNNING") and steps[-1]["state"] != job.status:
        steps.append({"state": job.status, "time": ""})
    return steps


def tree_view(cdt: "Cdt", c: "Controller") -> tuple[dict[str, Any], int]:
    """The tree, depth first, at most TREE_LIMIT nodes; returns (root, nodes listed)."""
    count = 0

    def visit(node: "Node") -> dict[str, Any]:
        nonlocal count
        count += 1
        doc: dict[str, Any] = {"name": node.name or "/", "path": node.path, "kind": node.kind,
                               **_names(c, node.obj)}
        if node.kind == FOLDER:
            doc["children"] = [visit(child) for child in cdt.children(node)
                               if count < TREE_LIMIT]
        return doc

    return visit(cdt.root_node()), count


# ---- handlers

def _now(c: "Controller") -> float:
    """Clock-driven areas catch up first, as before any RPC call."""
    now = c.clock.now()
    catch_up(c.world, now)
    return now


async def overview(request: web.Request, c: "Controller") -> Any:
    _now(c)
    w = c.world
    engine = jobs_of(w)
    running = sum(1 for j in engine.jobs.values() if j.status == "RUNNING")
    return {"controller_id": w.controller_id, "version": w.version, "clock": clock_json(c),
            "counts": {"clusters": len(w.clusters),
                       "hosts": sum(len(cl.hosts) for cl in w.clusters.values()),
                       "users": len(w.users), "groups": len(w.groups),
                       "jobs": len(engine.jobs), "running_jobs": running},
            "journal": {"size": c.journal.size, "entries": len(c.journal),
                        "received": c.journal.total},
            "faults": [f.to_json() for f in c.faults], "snapshots": sorted(c.snapshots),
            "world_files": [str(p) for p, _ in c.files]}


async def clusters(request: web.Request, c: "Controller") -> Any:
    _now(c)
    return {"clusters": [cluster_view(c, cl) for cl in
                         sorted(c.world.clusters.values(), key=lambda x: x.cluster_id)]}


async def jobs(request: web.Request, c: "Controller") -> Any:
    _now(c)
    engine = jobs_of(c.world)
    listed = engine.listed(lambda j: True)
    return {"total": len(listed), "jobs": [job_view(j) for j in listed[:JOBS_LIMIT]]}


async def job(request: web.Request, c: "Controller") -> Any:
    _now(c)
    jid = request.match_info["id"]
    found = jobs_of(c.world).jobs.get(int(jid)) if jid.isascii() and jid.isdigit() else None
    if found is None:
        raise ControlError(404, f"No job {jid}.")
    return {**job_view(found), "timeline": timeline(found), "job_data": found.job_data,
            "messages": [{"id": m.message_id, "time": rfc3339(m.created), "status": m.status,
                          "text": m.text} for m in found.messages]}


async def users(request: web.Request, c: "Controller") -> Any:
    w = c.world
    return {"users": [{"user_id": u.user_id, "user_name": u.user_name,
                       "full_name": f"{u.first_name} {u.last_name}".strip(),
                       "email": u.email_address, "groups": [g.group_name for g in
                                                            w.user_groups(u)],
                       "disabled": u.disabled, "suspended": u.suspended,
                       "superuser": w.is_superuser(u), "keys": len(u.public_keys),
                       "last_login": rfc3339(u.last_login) if u.last_login else None,
                       "failed_logins": u.n_failed_logins, "acl": str(u.acl)}
                      for u in sorted(w.users.values(), key=lambda x: x.user_id)],
            "groups": [{"group_id": g.group_id, "group_name": g.group_name, "acl": str(g.acl),
                        "members": sorted(u.user_name for u in w.users.values()
                                          if g.group_id in u.group_ids)}
                       for g in sorted(w.groups.values(), key=lambda x: x.group_id)]}


async def tree(request: web.Request, c: "Controller") -> Any:
    root, count = tree_view(cdt_of(c.world), c)
    return {"tree": root, "nodes": count, "limit": TREE_LIMIT}


VIEWS: list[tuple[str, Handler]] = [
    ("/api/overview", overview), ("/api/clusters", clusters), ("/api/jobs", jobs),
    ("/api/jobs/{id}", job), ("/api/users", users), ("/api/tree", tree),
]


def add_dashboard_routes(app: web.Application, controller: "Controller",
                         wrap: Callable[[Handler], Callable[[web.Request],
                                                            Awaitable[web.StreamResponse]]]
                         ) -> None:
    """Mount the page and its views (``wrap`` is the control API's guard and error form)."""

    async def show(request: web.Request, c: "Controller") -> web.Response:
        if request.path == UI:
            query = f"?{request.query_string}" if request.query_string else ""
            return web.Response(status=301, headers={"Location": f"{UI}/{query}"})
        return web.Response(text=page(), content_type="text/html", charset="utf-8",
                            headers={"Content-Security-Policy": CSP,
                                     "X-Content-Type-Options": "nosniff",
                                     "Referrer-Policy": "no-referrer",
                                     "Cache-Control": "no-store"})

    async def unknown(request: web.Request, c: "Controller") -> Any:
        raise ControlError(404, f"No dashboard route {request.method} {request.path}; "
                                f"the dashboard is at {UI}/.")

    guarded = wrap(show)

    async def page_route(request: web.Request) -> web.StreamResponse:
        # The page is opened by hand: a token may come once in the query string.
        token = request.query.get("token")
        if token and "Authorization" not in request.headers:
            request = request.clone(headers={**request.headers,
                                             "X-Fakecmon-Token": token})
        return await guarded(request)

    app.router.add_route("GET", UI, page_route)
    app.router.add_route("GET", UI + "/", page_route)
    for path, handler in VIEWS:
        app.router.add_route("GET", UI + path, wrap(handler))
    app.router.add_route("*", UI + "/{tail:.*}", wrap(unknown))

