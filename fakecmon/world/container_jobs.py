"""Container jobs (``s9s container --create/--delete/--start/--stop``): what they do.

``create_containers`` makes each container of ``job_data.containers`` on a
registered server (the one named by ``parent_server``/``servers``, else the first
running server the job's user may use) and gives it an address; the container is
then listed by getContainers, ``s9s server --list-containers`` and the tree
(``/<server>/containers/<alias>``), owned by the job's user and primary group.
``delete_container``, ``start_container`` and ``stop_container`` name one container
in ``job_data.container`` by ``alias``; the cluster nodes in a stopped container are
off line until it starts again.
"""

from __future__ import annotations

from typing import Any

from fakecmon import permissions
from fakecmon.world import servers
from fakecmon.world.acl import Acl
from fakecmon.world.jobs import PLANS, JobContext, Step
from fakecmon.world.models import Owned
from fakecmon.world.servers import Container, Server

RUNNING, STOPPED = "RUNNING", "STOPPED"


def _job_owner(ctx: JobContext) -> Owned:
    world, job = ctx.world, ctx.job
    group = world.group_by_name(job.group_name)
    user = world.users.get(job.user_id)
    gid = group.group_id if group else (user.group_ids[0] if user and user.group_ids else 0)
    return Owned(owner_user_id=job.user_id, owner_group_id=gid,
                 acl=Acl.parse(servers.CONTAINER_ACL))


def _may_use(ctx: JobContext, server: Server) -> bool:
    user = ctx.world.users.get(ctx.job.user_id)
    return user is not None and permissions.can(ctx.world, user, server, permissions.READ)


def _server_for(ctx: JobContext, spec: dict[str, Any]) -> Server:
    book = servers.book(ctx.world)
    wanted = spec.get("parent_server") or spec.get("server")
    named = ctx.data.get("servers")
    if not wanted and isinstance(named, list) and named and isinstance(named[0], dict):
        wanted = named[0].get("hostname")
    if isinstance(wanted, str) and wanted:
        server = book.servers.get(wanted.split("://", 1)[-1])
        if server is None or not _may_use(ctx, server):
            ctx.fail(f"Server '{wanted}' is not registered.")
        return server
    for name in sorted(book.servers):
        server = book.servers[name]
        if server.online and _may_use(ctx, server):
            return server
    ctx.fail("There is no registered container server to create the container on.")


def plan_create_containers(ctx: JobContext) -> list[Step]:
    return container_steps(ctx, ctx.data.get("containers"))


def container_steps(ctx: JobContext, specs: Any) -> list[Step]:
    """The steps that make the containers of ``job_data.containers`` (also of a
    create_cluster job that deploys its nodes into new containers)."""
    if not isinstance(specs, list) or not specs or not all(isinstance(c, dict) for c in specs):
        ctx.fail("The 'job_data.containers' field must be a non-empty list of containers.")
    book = servers.book(ctx.world)
    steps, aliases = [], set()
    for spec in specs:
        alias = spec.get("alias")
        if not isinstance(alias, str) or not alias.strip():
            ctx.fail("Each container in 'job_data.containers' needs an 'alias'.")
        if alias in aliases or book.container(alias) is not None:
            ctx.fail(f"Container '{alias}' already exists.")
        aliases.add(alias)
        server = _server_for(ctx, spec)
        ctx.log(f"Creating container '{alias}' on server '{server.hostname}'.")
        template = spec.get("template") if isinstance(spec.get("template"), str) else ""
        steps.append(Step(1, make_container, (server.hostname, alias, template or "ubuntu")))
    return steps


def make_container(ctx: JobContext, hostname: str, alias: str, template: str) -> None:
    book = servers.book(ctx.world)
    server = book.servers.get(hostname)
    if server is None:
        ctx.fail(f"Server '{hostname}' is not registered any more.")
    if book.container(alias) is not None:
        ctx.fail(f"Container '{alias}' already exists.")
    container = Container(alias=alias, hostname=alias, ip=book.new_address(),
                          image=f"{template}_jammy" if template == "ubuntu" else template,
                          owned=_job_owner(ctx), template=template)
    server.containers.append(container)
    ctx.log(f"Container '{alias}' is created on '{hostname}' with address {container.ip}.")
    ctx.emit("container.created", f"Container '{alias}' is created.", 0,
             hostname=hostname, alias=alias, ip=container.ip)


def container_address(world: Any, alias: str) -> str | None:
    """The address of the container called ``alias`` (a node named by its container)."""
    found = servers.book(world).container(alias)
    return found[1].ip if found is not None else None


def _named(ctx: JobContext) -> tuple[Server, Container]:
    spec = ctx.data.get("container")
    alias = spec.get("alias") if isinstance(spec, dict) else None
    if not isinstance(alias, str) or not alias:
        ctx.fail("The 'job_data.container' field must be an object with an 'alias'.")
    found = servers.book(ctx.world).container(alias)
    if found is None or not _may_use(ctx, found[0]):
        ctx.fail(f"Container '{alias}' was not found.")
    return found


def plan_delete_container(ctx: JobContext) -> list[Step]:
    server, container = _named(ctx)
    ctx.log(f"Deleting container '{container.alias}' on '{server.hostname}'.")
    return [Step(1, drop_container, (container.alias,))]


def drop_container(ctx: JobContext, alias: str) -> None:
    found = servers.book(ctx.world).container(alias)
    if found is None:
        ctx.fail(f"Container '{alias}' was not found.")
    found[0].containers.remove(found[1])
    ctx.log(f"Container '{alias}' is deleted.")
    ctx.emit("container.deleted", f"Container '{alias}' is deleted.", 0,
             hostname=found[0].hostname, alias=alias)


def _power_plan(status: str, verb: str):
    def plan(ctx: JobContext) -> list[Step]:
        server, container = _named(ctx)
        if status == RUNNING and not server.online:
            ctx.fail(f"Server '{server.hostname}' is not running.")
        ctx.log(f"Container '{container.alias}' on '{server.hostname}' is {verb}ing.")
        return [Step(1, set_container_status, (container.alias, status, verb))]
    return plan


def set_container_status(ctx: JobContext, alias: str, status: str, verb: str) -> None:
    found = servers.book(ctx.world).container(alias)
    if found is None:
        ctx.fail(f"Container '{alias}' was not found.")
    found[1].status = status
    ctx.log(f"Container '{alias}' is {'started' if status == RUNNING else 'stopped'}.")
    _nodes_follow(ctx, found[1], status)


#: What CMON sees of a node whose container stopped: it cannot reach the host
#: (CmonHostOffLine), except ProxySQL, watched through its admin port, which failed.
UNREACHABLE = {"proxysql": "CmonHostFailed"}
ONLINE, SHUT_DOWN = "CmonHostOnline", "CmonHostShutDown"


def _nodes_follow(ctx: JobContext, container: Container, status: str) -> None:
    """The cluster nodes in a container go off line with it and come back with it (a
    node that was shut down before stays down: its service was stopped)."""
    from fakecmon.world.job_effects import set_host_status   # it imports this module
    for cluster in list(ctx.world.clusters.values()):
        for host in cluster.hosts:
            if host.hoststatus == SHUT_DOWN or not (
                    host.hostname in (container.ip, container.alias)
                    or host.extra.get("container_id") == container.alias):
                continue
            down = UNREACHABLE.get(host.nodetype, "CmonHostOffLine")
            if status == RUNNING and host.hoststatus == down:
                set_host_status(ctx, cluster, host, ONLINE)
            elif status != RUNNING:
                set_host_status(ctx, cluster, host, down)


PLANS.update({
    "create_containers": plan_create_containers,
    "delete_container": plan_delete_container,
    "start_container": _power_plan(RUNNING, "start"),
    "stop_container": _power_plan(STOPPED, "stop"),
})
