"""Build a World from YAML world files, checking every field.

Each top-level section has one loader, registered in ``SECTIONS`` in the order
sections must load (groups before the users that join them...). Later files
extend earlier ones: an entry naming an existing user, group or cluster replaces it.
A broken file raises WorldError naming the file, the line, the place and the cause;
nothing is half-loaded because the World is only returned when every file loaded.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from fakecmon.world.acl import Acl
from fakecmon.world.models import (
    CLUSTER_ACL, GROUP_ACL, HOST_CLASSES, HOST_STATUS_SPELLINGS, NODETYPE_CLASSES, USER_ACL,
    Cluster, Group, Host, PublicKey, User,
)
from fakecmon.world.state import World
from fakecmon.world.yamlfile import Node, WorldError, line_of, read_yaml, reparse_with_lines, no_gc, materialize

REQUIRED = object()


class Reader:
    """Typed access to one world file's nodes, with errors that say where."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: dict[tuple[str, str], tuple[int, int]] = {}
        self._acls: dict[str, Acl] = {}   # the same few ACL texts, parsed once

    def once(self, kind: str, name: str, m: Node, key: str, place: str) -> None:
        """One entry per name and kind in a file: a repeat is a mistake, not an override
        (overriding is what a later file does)."""
        entry, line = self._seen.setdefault((kind, name), (id(m), line_of(m, key)))
        if entry != id(m):
            raise self.fail(m, key, f"{place}.{key}",
                            f"duplicate {kind} '{name}' (first at line {line})")

    def fail(self, container: Any, key: Any, place: str, cause: str) -> WorldError:
        line = line_of(container, key)
        where = f"line {line}: " if line else ""
        return WorldError(f"{self.path}: {where}{place}: {cause}")

    def mapping(self, container: Any, key: Any, place: str) -> Node:
        value = container[key]
        if not isinstance(value, dict):
            raise self.fail(container, key, place, f"expected a mapping, got {_kind(value)}")
        return value  # type: ignore[return-value]

    def each(self, data: Node, section: str) -> Iterator[tuple[int, Node]]:
        """``items`` one at a time; from a disposable file (``yamlfile.for_one_build``)
        each entry is let go once the loader has built it."""
        value = data[section]
        if not data.disposable or type(value) is not list:
            yield from self.items(data, section)
            return
        for i in range(len(value)):
            yield i, self.mapping(value, i, f"{section}[{i}]")
            value[i] = None

    def items(self, data: Node, section: str) -> list[tuple[int, Node]]:
        value = data[section]
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(data, section, section, f"expected a list, got {_kind(value)}")
        return [(i, self.mapping(value, i, f"{section}[{i}]")) for i in range(len(value))]

    def get(self, m: Node, place: str, key: str, kind: type | tuple[type, ...],
            default: Any = REQUIRED) -> Any:
        value = m.get(key)
        if value.__class__ is kind:
            return value      # the common case, checked first: big worlds read millions
        if key not in m or m[key] is None:
            if default is REQUIRED:
                raise self.fail(m, key, place, f"missing required field '{key}'")
            return default
        value = m[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.fail(m, key, f"{place}.{key}", f"expected {_names(kinds)}, got a boolean")
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kinds):
            raise self.fail(m, key, f"{place}.{key}", f"expected {_names(kinds)}, got {_kind(value)}")
        return value

    def strings(self, m: Node, place: str, key: str) -> list[str]:
        if m.get(key) is None:
            return []
        value = self.get(m, place, key, (list, str), [])
        if isinstance(value, str):
            return [value]
        for i, v in enumerate(value):
            if not isinstance(v, str):
                raise self.fail(value, i, f"{place}.{key}[{i}]", f"expected a string, got {_kind(v)}")
        return list(value)

    def only(self, m: Node, place: str, allowed: Iterable[str]) -> None:
        known = _KNOWN.get(allowed) if isinstance(allowed, tuple) else None
        if known is None:
            known = set(allowed)
            if isinstance(allowed, tuple):
                _KNOWN[allowed] = known
        if known.issuperset(m):
            return
        for key in m:
            if key not in known:
                raise self.fail(m, key, f"{place}.{key}",
                                f"unknown field (known: {', '.join(sorted(known))})")

    def acl(self, m: Node, place: str, default: str) -> Acl:
        text = self.get(m, place, "acl", str, default)
        parsed = self._acls.get(text)
        if parsed is None:
            try:
                parsed = self._acls[text] = Acl.parse(text)
            except ValueError as exc:
                raise self.fail(m, "acl", f"{place}.acl", str(exc)) from None
        return parsed.copy()


#: ``only``'s field tuples as sets, made once.
_KNOWN: dict[tuple[str, ...], set[str]] = {}


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "nothing"}.get(
        type(value).__mro__[-2] if type(value).__mro__[-2] in (dict, list) else type(value),
        type(value).__name__)


def _names(kinds: tuple[type, ...]) -> str:
    return " or ".join({str: "a string", int: "an integer", float: "a number", bool: "a boolean",
                        list: "a list", dict: "a mapping"}.get(k, k.__name__) for k in kinds)


Loader = Callable[[Reader, Node, World], None]


def load_controller(r: Reader, data: Node, world: World) -> None:
    m = r.mapping(data, "controller", "controller")
    r.only(m, "controller", ("controller_id", "version", "rpc_key", "hostname"))
    world.controller_id = r.get(m, "controller", "controller_id", str, world.controller_id)
    world.version = str(r.get(m, "controller", "version", (str, float, int), world.version))
    world.rpc_key = r.get(m, "controller", "rpc_key", str, world.rpc_key)
    world.hostname = r.get(m, "controller", "hostname", str, world.hostname)


def _owner(r: Reader, world: World, m: Node, place: str, user_default: str,
           group_default: str) -> tuple[int, int]:
    user_name = r.get(m, place, "owner", str, user_default)
    group_name = r.get(m, place, "group", str, group_default)
    user = world.user_by_name(user_name)
    if user is None:
        raise r.fail(m, "owner", f"{place}.owner", f"unknown user '{user_name}'")
    group = world.group_by_name(group_name)
    if group is None:
        raise r.fail(m, "group", f"{place}.group", f"unknown group '{group_name}'")
    return user.user_id, group.group_id


def _identity(r: Reader, m: Node, place: str, kind: str, find: Callable[[str], Any],
              by_id: dict[int, Any], next_id: Callable[[], int]) -> tuple[str, int, Any]:
    """``(name, id, earlier)`` of a ``kind`` ("user" or "group") entry.

    A name given again (in a later file) replaces the earlier object and keeps its
    id unless the entry sets one; an id may not be another object's.
    """
    name = r.get(m, place, f"{kind}_name", str)
    if not name or "/" in name:
        raise r.fail(m, f"{kind}_name", f"{place}.{kind}_name", f"invalid {kind} name '{name}'")
    r.once(kind, name, m, f"{kind}_name", place)
    old = find(name)
    oid = r.get(m, place, f"{kind}_id", int, None)
    if oid is None:   # (next_id walks every id: only when needed)
        oid = getattr(old, f"{kind}_id") if old is not None else next_id()
    other_name = getattr(by_id[oid], f"{kind}_name") if oid in by_id else name
    if other_name != name:
        raise r.fail(m, f"{kind}_id", f"{place}.{kind}_id",
                     f"{kind} id {oid} is already used by {kind} '{other_name}'")
    return name, oid, old


def load_groups(r: Reader, data: Node, world: World) -> None:
    for i, m in r.items(data, "groups"):
        place = f"groups[{i}]"
        r.only(m, place, ("group_name", "group_id", "acl"))
        name, gid, old = _identity(r, m, place, "group", world.group_by_name, world.groups,
                                   world.next_group_id)
        if old is not None and old.group_id != gid:
            world.remove_group(old)
        world.add_group(Group(group_id=gid, group_name=name, created=world.created,
                              acl=r.acl(m, place, GROUP_ACL)))


def load_users(r: Reader, data: Node, world: World) -> None:
    for i, m in r.items(data, "users"):
        place = f"users[{i}]"
        r.only(m, place, ("user_name", "user_id", "password", "groups", "first_name", "last_name",
                          "email_address", "title", "public_keys", "disabled", "suspended",
                          "origin", "tags", "acl"))
        name, uid, old = _identity(r, m, place, "user", world.user_by_name, world.users,
                                   world.next_user_id)
        group_ids = []
        for gname in r.strings(m, place, "groups"):
            group = world.group_by_name(gname)
            if group is None:
                raise r.fail(m, "groups", f"{place}.groups", f"unknown group '{gname}'")
            group_ids.append(group.group_id)
        if not group_ids:
            raise r.fail(m, "groups", place, "a user needs at least one group")
        keys = []
        raw_keys = r.get(m, place, "public_keys", list, [])
        for k, km in enumerate(raw_keys):
            kplace = f"{place}.public_keys[{k}]"
            if isinstance(km, str):
                keys.append(PublicKey(name="No Name", key=km, created=world.created))
                continue
            if not isinstance(km, dict):
                raise r.fail(raw_keys, k, kplace, f"expected a mapping or a string, got {_kind(km)}")
            r.only(km, kplace, ("name", "key"))
            keys.append(PublicKey(name=r.get(km, kplace, "name", str, "No Name"),
                                  key=r.get(km, kplace, "key", str), created=world.created))
        if old is not None:
            world.remove_user(old)
        user = User(
            user_id=uid, user_name=name, password=r.get(m, place, "password", str, None),
            group_ids=group_ids,
            first_name=r.get(m, place, "first_name", str, ""),
            last_name=r.get(m, place, "last_name", str, ""),
            email_address=r.get(m, place, "email_address", str, ""),
            title=r.get(m, place, "title", str, ""),
            public_keys=keys,
            disabled=r.get(m, place, "disabled", bool, False),
            suspended=r.get(m, place, "suspended", bool, False),
            origin=r.get(m, place, "origin", str, "CmonDb"),
            tags=r.strings(m, place, "tags"),
            created=world.created,
            # CMON's user objects belong to the user itself and to 'admins'.
            owner_user_id=uid, owner_group_id=_admins_id(world, group_ids[0]),
            acl=r.acl(m, place, USER_ACL),
        )
        world.add_user(user)


def _admins_id(world: World, fallback: int) -> int:
    admins = world.group_by_name("admins")
    return admins.group_id if admins else fallback


HOST_FIELDS = ("hostname", "port", "nodetype", "class_name", "role", "hoststatus", "version",
               "datadir", "ip", "hostname_internal", "maintenance_mode_active", "extra")


def load_host(r: Reader, world: World, cluster_type: str, m: Node, place: str,
              cluster_version: str) -> Host:
    r.only(m, place, HOST_FIELDS)
    default_class, default_nodetype, default_port, default_datadir = HOST_CLASSES.get(
        cluster_type, ("CmonHost", "", 0, ""))
    nodetype = r.get(m, place, "nodetype", str, default_nodetype)
    class_name = r.get(m, place, "class_name", str,
                       NODETYPE_CLASSES.get(nodetype, default_class))
    hoststatus = r.get(m, place, "hoststatus", str, "CmonHostOnline")
    if not hoststatus.startswith("CmonHost"):
        raise r.fail(m, "hoststatus", f"{place}.hoststatus",
                     f"'{hoststatus}' is not a host status (CmonHostOnline, CmonHostOffLine, ...)")
    hoststatus = HOST_STATUS_SPELLINGS.get(hoststatus, hoststatus)
    port = r.get(m, place, "port", int, default_port)
    if not 0 <= port <= 65535:
        raise r.fail(m, "port", f"{place}.port", f"port {port} is out of range")
    return Host(
        host_id=world.next_host_id(), hostname=r.get(m, place, "hostname", str), port=port,
        class_name=class_name, nodetype=nodetype,
        role=r.get(m, place, "role", str, ""), hoststatus=hoststatus,
        version=str(r.get(m, place, "version", (str, int, float), cluster_version)),
        datadir=r.get(m, place, "datadir", str, default_datadir if class_name == default_class else ""),
        ip=r.get(m, place, "ip", str, ""),
        hostname_internal=r.get(m, place, "hostname_internal", str, ""),
        maintenance_mode_active=r.get(m, place, "maintenance_mode_active", bool, False),
        started_at=world.created - 86400 * 3,
        extra=dict(r.get(m, place, "extra", dict, {})),
    )


CLUSTER_STATES = ("STARTED", "DEGRADED", "FAILURE", "STOPPED", "UNKNOWN", "STARTING",
                  "SHUTTING_DOWN", "RECOVERING", "MGMD_NO_CONTACT", "NOT_STARTED")


def load_clusters(r: Reader, data: Node, world: World) -> None:
    for i, m in r.items(data, "clusters"):
        place = f"clusters[{i}]"
        r.only(m, place, ("cluster_id", "cluster_name", "cluster_type", "vendor", "version",
                          "state", "status_text", "owner", "group", "acl", "tags", "hosts",
                          "cluster_auto_recovery", "node_auto_recovery"))
        name = r.get(m, place, "cluster_name", str)
        if not name or "/" in name:
            raise r.fail(m, "cluster_name", f"{place}.cluster_name", f"invalid cluster name '{name}'")
        r.once("cluster", name, m, "cluster_name", place)
        ctype = r.get(m, place, "cluster_type", str).upper()
        if ctype not in HOST_CLASSES:
            raise r.fail(m, "cluster_type", f"{place}.cluster_type",
                         f"unknown cluster type '{ctype}' (known: {', '.join(HOST_CLASSES)})")
        old = world.cluster_by_name(name)
        cid = r.get(m, place, "cluster_id", int, None)
        if cid is None:
            cid = old.cluster_id if old else world.next_cluster_id()
        if cid <= 0:
            raise r.fail(m, "cluster_id", f"{place}.cluster_id", "cluster ids start at 1")
        other = world.clusters.get(cid)
        if other is not None and other.cluster_name != name:
            raise r.fail(m, "cluster_id", f"{place}.cluster_id",
                         f"cluster id {cid} is already used by cluster '{other.cluster_name}'")
        state = r.get(m, place, "state", str, "STARTED").upper()
        if state not in CLUSTER_STATES:
            raise r.fail(m, "state", f"{place}.state",
                         f"unknown cluster state '{state}' (known: {', '.join(CLUSTER_STATES)})")
        version = str(r.get(m, place, "version", (str, int, float), ""))
        owner_id, group_id = _owner(r, world, m, place, "system", "admins")
        hosts_node = r.get(m, place, "hosts", list, [])
        hosts = [load_host(r, world, ctype, r.mapping(hosts_node, j, f"{place}.hosts[{j}]"),
                           f"{place}.hosts[{j}]", version)
                 for j in range(len(hosts_node))]
        if old is not None:
            world.remove_cluster(old)
        world.add_cluster(Cluster(
            cluster_id=cid, cluster_name=name, cluster_type=ctype,
            vendor=r.get(m, place, "vendor", str, ""), version=version, state=state,
            status_text=r.get(m, place, "status_text", str, _status_text(state)),
            tags=r.strings(m, place, "tags"), hosts=hosts,
            cluster_auto_recovery=r.get(m, place, "cluster_auto_recovery", bool, True),
            node_auto_recovery=r.get(m, place, "node_auto_recovery", bool, True),
            owner_user_id=owner_id, owner_group_id=group_id,
            acl=r.acl(m, place, CLUSTER_ACL), created=world.created,
        ))


def _status_text(state: str) -> str:
    return {"STARTED": "All nodes are operational.",
            "DEGRADED": "Not all nodes are operational.",
            "FAILURE": "The cluster failed.",
            "STOPPED": "The cluster is stopped."}.get(state, "")


#: Section name -> loader, in load order. Other modules register their sections here.
SECTIONS: dict[str, Loader] = {
    "controller": load_controller,
    "groups": load_groups,
    "users": load_users,
    "clusters": load_clusters,
}


def load_world(paths: list[Path], *, created: float, controller_id: str | None = None) -> World:
    """Read and apply every world file in order; raises WorldError on the first fault."""
    files = [(Path(p), read_yaml(Path(p))) for p in paths]
    return build_world(files, created=created, controller_id=controller_id)


def build_world(files: list[tuple[Path, Node]], *, created: float,
                controller_id: str | None = None) -> World:
    """Apply already parsed world files to a fresh World.

    Fast-parsed files carry no lines: when they fail, they are parsed again with
    lines and applied again, so the error names the line as it always did.
    """
    files = [(p, materialize(p, data)) for p, data in files]
    try:
        with no_gc():
            return _build_world(files, created=created, controller_id=controller_id)
    except WorldError:
        located = reparse_with_lines(files)
        if located is None:
            raise
        _build_world(located, created=created, controller_id=controller_id)
        raise   # the located files built: keep the first error (should not happen)


def _build_world(files: list[tuple[Path, Node]], *, created: float,
                 controller_id: str | None) -> World:
    world = World(created=created)
    world.controller_id = controller_id or _stable_id(files)
    for path, data in files:
        r = Reader(path)
        for section in data:
            if section not in SECTIONS:
                raise r.fail(data, section, section,
                             f"unknown section (known: {', '.join(SECTIONS)})")
        for section, loader in SECTIONS.items():
            if section in data:
                loader(r, data, world)
    if controller_id:
        world.controller_id = controller_id
    world.check()
    return world


def _stable_id(files: list[tuple[Path, Node]]) -> str:
    """A controller id that stays the same for the same world files."""
    names = "|".join(str(p.resolve()) for p, _ in files)
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "fakecmon:" + names))
