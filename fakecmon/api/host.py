"""/v2/host: container servers, the controllers, and a few per-host changes.

Servers are CDT objects at ``/<hostname>``: listing shows the ones the caller may
read, registering takes write access to ``/``, changing or removing one takes
write (start/stop: execute) access to it. ``setHost`` and ``unregisterHost``
change a cluster's host and take write access to the cluster.
World files may declare servers in a ``servers`` section (see ``load_section``).
"""

from __future__ import annotations

from typing import Any

from fakecmon import permissions
from fakecmon.errors import ACCESS_DENIED, OBJECT_NOT_FOUND, RpcError, invalid
from fakecmon.rpc import Call, Payload, operation
from fakecmon.world import accounts, loader, servers
from fakecmon.world.cdt import CONTAINER, SERVER, Entry, cdt_of
from fakecmon.world.container_jobs import register_server, registration_problem
from fakecmon.world.servers import Container, Server
from fakecmon.world.state import World
from fakecmon.world.yamlfile import Node

from fakecmon.api._common import announce, readable_host  # isort: skip

PATH = "/v2/host"


def _server_specs(call: Call, required: bool = True,
                  empty_host: bool = False) -> list[dict[str, Any]]:
    value = call.body.get("servers")
    if value in (None, []) and not required:
        return []
    if not isinstance(value, list) or not value:
        raise invalid("The 'servers' field must be a non-empty list of servers.")
    for spec in value:
        if not isinstance(spec, dict) or not isinstance(spec.get("hostname"), str) \
                or not (spec["hostname"] or empty_host):
            raise invalid("Each server needs a 'hostname' string.")
    return value


def _readable(call: Call, server: Server) -> bool:
    return permissions.can(call.world, call.login_user(), server, permissions.READ)


def _existing(call: Call, wanted: str) -> list[Server]:
    """The servers named in the request, checked for ``wanted`` access (all before any change)."""
    book = servers.book(call.world)
    found = []
    for spec in _server_specs(call):
        server = book.servers.get(spec["hostname"])
        if server is None or not _readable(call, server):
            raise RpcError(OBJECT_NOT_FOUND, f"Server '{spec['hostname']}' is not registered.")
        permissions.check_object(call.world, call.login_user(), server,
                                 f"/{server.hostname}", wanted)
        found.append(server)
    return found


@operation(PATH, "getServers")
def get_servers(call: Call) -> Payload:
    """Every readable server, or the ones named in ``servers``."""
    book = servers.book(call.world)
    names = [s["hostname"] for s in _server_specs(call, required=False)]
    chosen = [book.servers[n] for n in names if n in book.servers] if names else [
        book.servers[n] for n in sorted(book.servers)]
    listed = [servers.server_json(call.world, s, call.now) for s in chosen if _readable(call, s)]
    return {"total": len(listed), "servers": listed}


@operation(PATH, "registerServers")
def register_servers(call: Call) -> Payload:
    """A server lands at ``/<hostname>``, so registering takes write access to ``/`` (every
    user has it in CMON); the caller and its primary group own the server. A server
    without a host name (``s9s server --register --servers=lxc://``) is the controller's
    own machine."""
    user = call.login_user()
    world = call.world
    tree = cdt_of(world)
    permissions.check_object(world, user, tree.root, "/", permissions.WRITE)
    specs = [dict(s, hostname=s.get("hostname") or world.hostname)
             for s in _server_specs(call, empty_host=True)]
    names = [s["hostname"] for s in specs]
    for spec in specs:
        name = spec["hostname"]
        problem = registration_problem(world, name)
        if problem is None and names.count(name) > 1:
            problem = f"Server '{name}' is already registered."
        if problem is not None:
            raise invalid(problem)
        cls = spec.get("class_name", "CmonLxcServer")
        if cls not in servers.SERVER_CLASSES:
            raise invalid(f"Unknown server class '{cls}' "
                          f"(known: {', '.join(servers.SERVER_CLASSES)}).")
    folders = [_folder_for(call, spec) for spec in specs]
    added = []
    for spec, folder in zip(specs, folders):
        server = register_server(world, user, spec["hostname"],
                                 spec.get("class_name", "CmonLxcServer"), call.now, folder)
        added.append(servers.server_json(world, server, call.now))
        announce(call, "server.registered", 0, f"Registered server '{server.hostname}'.",
                 hostname=server.hostname)
    return {"servers": added}


def _folder_for(call: Call, spec: dict[str, Any]) -> Entry | None:
    """The folder a server is registered into (``lxc://HOST?cdt_path=/FOLDER``): it must
    exist, hold objects, and be writable by the caller; None: the caller's own folder."""
    path = spec.get("cdt_path")
    if path in (None, ""):
        return None
    if not isinstance(path, str):
        raise invalid("The 'cdt_path' of a server must be a string.")
    tree = cdt_of(call.world)
    node = tree.resolve(path, "'cdt_path'")
    folder = tree.as_folder(node) if node is not None else None
    if folder is None or folder.entry is None or folder.entry is tree.groups \
            or tree.is_inside_cluster(folder.entry):
        raise RpcError(OBJECT_NOT_FOUND, f"Folder '{path}' is not found.")
    permissions.check_object(call.world, call.login_user(), folder.obj, folder.path,
                             permissions.WRITE)
    return folder.entry


@operation(PATH, "unregisterServers")
def unregister_servers(call: Call) -> Payload:
    """Access is checked before existence: a user who may not remove a server (or one
    that is not there) hears CMON's AccessDenied "Server was not found."; only a
    superuser learns that a server is not registered."""
    world, user = call.world, call.login_user()
    if not world.is_superuser(user):
        book = servers.book(world)
        for spec in _server_specs(call):
            server = book.servers.get(spec["hostname"])
            if server is None or not permissions.can(world, user, server, permissions.WRITE):
                raise RpcError(ACCESS_DENIED, "Server was not found.")
    found = _existing(call, permissions.WRITE)
    book = servers.book(call.world)
    messages = []
    for server in found:
        del book.servers[server.hostname]
        messages.append(f"Unregistered server '{server.hostname}'.")
        announce(call, "server.unregistered", 0, messages[-1], hostname=server.hostname)
    return {"messages": messages}


def _power(call: Call, status: str, verb: str) -> Payload:
    return {"messages": [_set_power(call, server, status, verb)
                         for server in _existing(call, permissions.EXECUTE)]}


def _set_power(call: Call, server: Server, status: str, verb: str) -> str:
    """Start or shut down one server (access checked by the caller); returns the message."""
    server.hoststatus = status
    for c in server.containers:
        if status == "CmonHostOnline" and c.autostart:
            c.status = "RUNNING"
    message = f"Server '{server.hostname}' is {verb}."
    announce(call, f"server.{'started' if status == 'CmonHostOnline' else 'stopped'}", 0,
             message, hostname=server.hostname)
    return message


@operation(PATH, "startServers")
def start_servers(call: Call) -> Payload:
    return _power(call, "CmonHostOnline", "started")


@operation(PATH, "shutdownServers")
def shutdown_servers(call: Call) -> Payload:
    return _power(call, "CmonHostShutDown", "shut down")


@operation(PATH, "start")
def start(call: Call) -> Payload:
    """Start what a path names (``s9s server --start PATH``): a server (``/<hostname>``,
    or wherever it was moved) or one of its containers (``.../containers/<alias>``);
    execute access to the server is needed, as for startServers. A server the caller
    may not read is not found."""
    path = call.arg("path", str)
    node = cdt_of(call.world).resolve(path)
    server = node.obj if node is not None and node.kind == SERVER else (
        node.holder if node is not None and node.kind == CONTAINER else None)
    if node is not None and server is None:
        raise invalid(f"'{path}' can not be started: only servers and containers can.")
    if not isinstance(server, Server) or not _readable(call, server):
        raise RpcError(OBJECT_NOT_FOUND, f"CDT path '{path}' is not found.")
    assert node is not None
    permissions.check_object(call.world, call.login_user(), server, node.path,
                             permissions.EXECUTE)
    if node.kind == SERVER:
        if server.online:
            return {"messages": [f"Server '{server.hostname}' is already running."]}
        return {"messages": [_set_power(call, server, "CmonHostOnline", "started")]}
    container = next(c for c in server.containers if c.alias == node.name)
    where = f"Container '{container.alias}' on server '{server.hostname}'"
    if not server.online:
        raise invalid(f"{where} can not be started: the server is not running.")
    if container.status == "RUNNING":
        return {"messages": [f"{where} is already running."]}
    container.status = "RUNNING"
    announce(call, "container.started", 0, f"{where} is started.", hostname=server.hostname,
             alias=container.alias)
    return {"messages": [f"{where} is started."]}


@operation(PATH, "getContainers")
def get_containers(call: Call) -> Payload:
    book = servers.book(call.world)
    names = {s["hostname"] for s in _server_specs(call, required=False)}
    listed = []
    for name in sorted(book.servers):
        server = book.servers[name]
        if (names and name not in names) or not _readable(call, server):
            continue
        listed += [servers.container_json(call.world, server, c) for c in server.containers]
    return {"total": len(listed), "containers": listed}


@operation(PATH, "getAcl")
def get_acl(call: Call) -> Payload:
    """The ACL of a server, named by ``servers`` or by ``path`` (``/<hostname>``)."""
    path = call.arg("path", str, "")
    name = path.strip("/") if path else _server_specs(call)[0]["hostname"]
    server = servers.book(call.world).servers.get(name)
    if server is None or not _readable(call, server):
        raise RpcError(OBJECT_NOT_FOUND, f"Server '{name}' is not registered.")
    owner = call.world.users.get(server.owner_user_id)
    group = call.world.groups.get(server.owner_group_id)
    return {"acl": str(server.acl), "object_name": server.hostname,
            "object_path": f"/{server.hostname}",
            "owner_user_name": owner.user_name if owner else "",
            "owner_group_name": group.group_name if group else ""}


@operation(PATH, "getControllers", kind="world-data")
def get_controllers(call: Call) -> Payload:
    """The controllers of this installation: just this one (no CMON HA)."""
    call.login_user()
    world = call.world
    root = permissions.controller_object(world)
    owner = world.users.get(root.owner_user_id)
    group = world.groups.get(root.owner_group_id)
    doc = {
        "class_name": "CmonController", "acl": str(root.acl), "alias": "", "cdt_path": "/",
        "configfile": "/etc/cmon.cnf", "datadir": "/var/lib/cmon", "hostId": 1,
        "hostname": world.hostname, "hoststatus": "CmonHostOnline", "id": 1,
        "ip": world.hostname, "logfile": "/var/log/cmon.log",
        "owner_user_id": root.owner_user_id,
        "owner_user_name": owner.user_name if owner else "",
        "owner_group_id": root.owner_group_id,
        "owner_group_name": group.group_name if group else "", "pid": 4242, "port": 9500,
        "role": "controller", "tags": [], "unique_id": 1, "version": world.version,
    }
    return {"total": 1, "controllers": [doc]}


# ---- hosts of clusters

SETTABLE = {"alias": str, "description": str, "tags": list}


@operation(PATH, "setHost")
def set_host(call: Call) -> Payload:
    """Change a host's ``alias``, ``description`` or ``tags`` (``properties``)."""
    props = call.arg("properties", dict)
    cluster, host = readable_host(call, call.arg("hostname", str), call.arg("port", int, 0) or None)
    permissions.check_cluster(call.world, call.login_user(), cluster, cluster.cluster_id,
                              permissions.WRITE)
    for key, value in props.items():
        kind = SETTABLE.get(key)
        if kind is None:
            raise invalid(f"The host property '{key}' can not be changed "
                          f"(settable: {', '.join(SETTABLE)}).")
        if not isinstance(value, kind) or (kind is list and not all(
                isinstance(v, str) for v in value)):
            raise invalid(f"The host property '{key}' must be "
                          f"{'a string' if kind is str else 'a list of strings'}.")
    host.extra.update({k: (list(v) if isinstance(v, list) else v) for k, v in props.items()})
    announce(call, "host.changed", cluster.cluster_id,
             f"Host {host.hostname}:{host.port} properties changed: {', '.join(props)}.",
             hostname=host.hostname, port=host.port)
    return {"messages": [f"Host {host.hostname}:{host.port} is changed."]}


@operation(PATH, "unregisterHost")
def unregister_host(call: Call) -> Payload:
    """Remove a node from its cluster without touching the node (``dry_run`` only checks)."""
    spec = call.body.get("host")
    if not isinstance(spec, dict) or not isinstance(spec.get("hostname"), str):
        raise invalid("The 'host' field must be an object with a 'hostname'.")
    port = spec.get("port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool)):
        raise invalid("The 'port' of the host must be an integer.")
    cluster, host = readable_host(call, spec["hostname"], port, call.arg("cluster_id", int, 0))
    permissions.check_cluster(call.world, call.login_user(), cluster, cluster.cluster_id,
                              permissions.WRITE)
    if call.arg("dry_run", bool, False):
        return {"messages": [f"Host {host.hostname}:{host.port} can be unregistered "
                             f"from cluster {cluster.cluster_id} (dry run)."]}
    cluster.hosts.remove(host)
    announce(call, "host.removed", cluster.cluster_id,
             f"Host {host.hostname}:{host.port} is unregistered from cluster "
             f"{cluster.cluster_id}.", hostname=host.hostname, port=host.port)
    return {"messages": [f"Host {host.hostname}:{host.port} is unregistered."]}


# ---- world files

def load_section(r: loader.Reader, data: Node, world: World) -> None:
    """``servers: [{hostname, class_name, ip, owner, group, acl, hoststatus, containers}]``."""
    book = servers.book(world)
    for i, m in r.items(data, "servers"):
        place = f"servers[{i}]"
        r.only(m, place, ("hostname", "class_name", "ip", "owner", "group", "acl",
                          "hoststatus", "containers"))
        name = r.get(m, place, "hostname", str)
        if name in book.servers:
            raise r.fail(m, "hostname", f"{place}.hostname", f"server '{name}' is listed twice")
        cls = r.get(m, place, "class_name", str, "CmonLxcServer")
        if cls not in servers.SERVER_CLASSES:
            raise r.fail(m, "class_name", f"{place}.class_name",
                         f"unknown server class (known: {', '.join(servers.SERVER_CLASSES)})")
        owner = world.user_by_name(r.get(m, place, "owner", str, "system"))
        group = world.group_by_name(r.get(m, place, "group", str, "admins"))
        if owner is None or group is None:
            raise r.fail(m, "owner", place, "unknown owner user or group")
        server = servers.new_server(name, cls, owner.user_id, group.group_id, world.created,
                                    ip=r.get(m, place, "ip", str, ""),
                                    acl=str(r.acl(m, place, servers.SERVER_ACL)))
        server.hoststatus = r.get(m, place, "hoststatus", str, "CmonHostOnline")
        for j, cm in enumerate(r.get(m, place, "containers", list, [])):
            cplace = f"{place}.containers[{j}]"
            cm = r.mapping(m["containers"], j, cplace)
            r.only(cm, cplace, ("alias", "ip", "status", "image", "memory_gb", "autostart"))
            alias = r.get(cm, cplace, "alias", str)
            server.containers.append(Container(
                alias=alias, hostname=alias,
                ip=r.get(cm, cplace, "ip", str, servers.address_of(f"{name}/{alias}")),
                status=r.get(cm, cplace, "status", str, "RUNNING").upper(),
                image=r.get(cm, cplace, "image", str, "ubuntu_jammy"),
                memory_limit=r.get(cm, cplace, "memory_gb", int, 4) * 1024 ** 3,
                autostart=r.get(cm, cplace, "autostart", bool, True)))
        book.add(server)


loader.SECTIONS["servers"] = load_section
