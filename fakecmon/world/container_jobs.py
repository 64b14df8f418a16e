"""Container jobs (``s9s container --create/--delete/--start/--stop``): what they do.

``create_containers`` makes each container of ``job_data.containers`` on a
registered server (the one named by ``parent_server``/``servers``, else the first
running server the job's user may use) and gives it an address; the container is
then listed by getContainers, ``s9s server --list-containers`` and the tree
(``/<server>/containers/<alias>``), owned by the job's user and primary group.
``delete_container``, ``start_container`` and ``stop_container`` name one container
in ``job_data.container`` by ``alias``; the cluster nodes in a stopped container are
off line until it starts again. ``create_container_server`` (``s9s server
--create --servers=cmon-cloud://HOST``) installs the container server software on a
host and registers it, as registerServers does.
"""

from __future__ import annotations

from typing import Any

from fakecmon import permissions
from fakecmon.world import accounts, servers
from fakecmon.world.acl import Acl
from fakecmon.world.cdt import Entry, cdt_of
from fakecmon.world.jobs import PLANS, JobContext, Step
from fakecmon.world.models import OFFLINE, Owned, User
from fakecmon.world.servers import Container, Server
from fakecmon.world.state import World

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
    """The server named by the container (or the job), else the first running server of
    the container's cloud (``provider``, ``s9s container --cloud``) the user may use."""
    server = _named_or_first_server(ctx, spec)
    provider = spec.get("provider")
    if isinstance(provider, str) and provider and provider != server.provider:
        ctx.fail(f"There is no registered server of cloud '{provider}' to create the "
                 "container on.")
    subnet = spec.get("subnet")
    wanted_subnet = subnet.get("id") if isinstance(subnet, dict) else None
    if wanted_subnet and wanted_subnet != servers.subnet_id(server):
        ctx.fail(f"Subnet '{wanted_subnet}' is not found on server '{server.hostname}'.")
    return server


def _image(ctx: JobContext, spec: dict[str, Any], server: Server) -> str:
    """The image (``--image``) LXC's download template names ``<distribution>_<release>``."""
    image = spec.get("image")
    if not image:
        return ""
    if not isinstance(image, str) or image.split("_", 1)[0] not in servers.IMAGE_DISTRIBUTIONS:
        ctx.fail(f"Image '{image}' is not available on server '{server.hostname}'.")
    return image


def _named_or_first_server(ctx: JobContext, spec: dict[str, Any]) -> Server:
    book = servers.book(ctx.world)
    provider = spec.get("provider")
    wanted = spec.get("parent_server") or spec.get("server")
    named = ctx.data.get("servers")
    if not wanted and isinstance(named, list) and named and isinstance(named[0], dict):
        wanted = named[0].get("hostname")
    if isinstance(wanted, str) and wanted:
        server = book.servers.get(wanted.split("://", 1)[-1])
        if server is None or not _may_use(ctx, server):
            ctx.fail(f"Server '{wanted}' is not registered.")
        return server
    usable = [book.servers[n] for n in sorted(book.servers)
              if book.servers[n].online and _may_use(ctx, book.servers[n])]
    for server in usable:
        if not provider or server.provider == provider:
            return server
    if usable:
        return usable[0]
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
        image = _image(ctx, spec, server)
        ctx.log(f"Creating container '{alias}' on server '{server.hostname}'.")
        template = spec.get("template") if isinstance(spec.get("template"), str) else ""
        steps.append(Step(1, make_container,
                          (server.hostname, alias, template or "ubuntu", image)))
    return steps


def make_container(ctx: JobContext, hostname: str, alias: str, template: str,
                   image: str = "") -> None:
    book = servers.book(ctx.world)
    server = book.servers.get(hostname)
    if server is None:
        ctx.fail(f"Server '{hostname}' is not registered any more.")
    if book.container(alias) is not None:
        ctx.fail(f"Container '{alias}' already exists.")
    container = Container(alias=alias, hostname=alias, ip=book.new_address(),
                          image=image or (f"{template}_jammy" if template == "ubuntu"
                                          else template),
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
    _follow_container(ctx, found[1], status)


#: What CMON sees of a node whose container stopped: it cannot reach the host
#: (CmonHostOffLine), except ProxySQL, watched through its admin port, which failed.
UNREACHABLE = {"proxysql": "CmonHostFailed"}


def _follow_container(ctx: JobContext, container: Container, status: str) -> None:
    """The nodes in a container stop answering when it stops and come back when it
    starts; their clusters follow (DEGRADED, alarms), as CMON sees them. A node shut
    down before stays down (its service was stopped)."""
    from fakecmon.world.job_effects import set_host_status   # (job_effects imports us)
    for cid in sorted(ctx.world.clusters):
        cluster = ctx.world.clusters[cid]
        for host in cluster.hosts:
            if host.hoststatus == "CmonHostShutDown" or not (
                    host.hostname in (container.ip, container.alias)
                    or host.extra.get("container_id") == container.alias):
                continue
            down = UNREACHABLE.get(host.nodetype, OFFLINE)
            if status == RUNNING and host.hoststatus == down:
                set_host_status(ctx, cluster, host, "CmonHostOnline")
            elif status != RUNNING:
                set_host_status(ctx, cluster, host, down)


# ---- registering container servers (registerServers and create_container_server)

def registration_problem(world: World, hostname: str) -> str | None:
    """Why a server called ``hostname`` can not be registered (it lands at ``/<hostname>``)."""
    if hostname in servers.book(world).servers:
        return f"Server '{hostname}' is already registered."
    if cdt_of(world).root.children.get(hostname) is not None \
            or world.user_by_name(hostname) is not None \
            or world.cluster_by_name(hostname) is not None:
        return f"The '/{hostname}' already exists."
    return None


def register_server(world: World, user: User, hostname: str, class_name: str,
                    now: float, folder: Entry | None = None) -> Server:
    """The server, owned by ``user`` and its primary group, in ``folder`` (by default
    the folder of ``user``)."""
    server = servers.book(world).add(servers.new_server(
        hostname, class_name, user.user_id, accounts.primary_group_id(world, user), now))
    tree = cdt_of(world)
    tree.place(server, folder if folder is not None else tree.home_of(user))
    return server


def plan_create_container_server(ctx: JobContext) -> list[Step]:
    """Install the container server software on ``job_data.server`` and register it."""
    spec = ctx.data.get("server")
    hostname = spec.get("hostname") if isinstance(spec, dict) else None
    if not isinstance(hostname, str) or not hostname.strip():
        ctx.fail("The 'job_data.server' field must be an object with a 'hostname'.")
    class_name = spec.get("class_name") or "CmonCloudServer"
    if class_name not in servers.SERVER_CLASSES:
        ctx.fail(f"Unknown server class '{class_name}'.")
    ctx.settings("install_software", "disable_firewall", "disable_selinux", "timeout")
    user = ctx.world.users.get(ctx.job.user_id)
    tree = cdt_of(ctx.world)
    if user is None or not permissions.can(ctx.world, user, tree.root, permissions.WRITE):
        ctx.fail("Write access to '/' is needed to register a server.")
    _check_registrable(ctx, hostname)
    _log_ssh_credentials(ctx, hostname, spec.get("ssh_credentials"))
    steps = [Step(1, _say, (f"Installing container server software on '{hostname}'.",))]
    if ctx.data.get("install_software") is False:
        steps = [Step(1, _say, (f"Software installation on '{hostname}' is skipped.",))]
    return steps + [Step(1, _register, (hostname, class_name))]


def _log_ssh_credentials(ctx: JobContext, hostname: str, creds: Any) -> None:
    """The SSH credentials CMON reaches the new server with (s9s sends its own key file);
    fakecmon reaches no host, so they are only logged (secrets masked)."""
    if not isinstance(creds, dict):
        return
    shown = [f"{k}: {'********' if 'password' in k else v}" for k, v in sorted(creds.items())
             if k != "class_name"]
    if shown:
        ctx.log(f"SSH credentials for '{hostname}': {', '.join(shown)}.")


def _check_registrable(ctx: JobContext, hostname: str) -> None:
    problem = registration_problem(ctx.world, hostname)
    if problem is not None:
        ctx.fail(problem)


def _say(ctx: JobContext, text: str) -> None:
    ctx.status(text)
    ctx.log(text)


def _register(ctx: JobContext, hostname: str, class_name: str) -> None:
    _check_registrable(ctx, hostname)
    user = ctx.world.users.get(ctx.job.user_id)
    if user is None:
        ctx.fail(f"The user of job {ctx.job.job_id} is gone.")
    register_server(ctx.world, user, hostname, class_name, ctx.now)
    ctx.log(f"Server '{hostname}' is registered.")
    ctx.emit("server.registered", f"Registered server '{hostname}'.", 0, hostname=hostname)


PLANS.update({
    "create_container_server": plan_create_container_server,
    "create_containers": plan_create_containers,
    "delete_container": plan_delete_container,
    "start_container": _power_plan(RUNNING, "start"),
    "stop_container": _power_plan(STOPPED, "stop"),
})
