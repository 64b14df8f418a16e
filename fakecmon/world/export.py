"""The world as a world file: ``export_world`` writes what ``--world`` loads back.

An export has the readable sections a person writes (``controller``, ``groups``,
``users``, ``clusters`` with their hosts) and one ``saved`` section with the rest,
exactly: the moment the world was made, the fields of users, groups, clusters and
hosts that the readable sections do not carry (ids, times, login counters...),
password hashes, and every area's state from ``world.extensions`` (jobs with their
logs and plans, the tree and its ACLs, alarms, backups, maintenance, config,
accounts, databases, servers, scripts, spreadsheets, counters...) through
``fakecmon.world.codec``. Loading an export and exporting again gives the same file.

Readable sections are written by one small function per model (``user_entry``,
``host_entry``...), reading the model's attributes by name. The ``saved`` fields of
a model are "every field but those": a field added to a model later is saved
without a change here. Plain passwords are never written: a hash is.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import orjson
import yaml

from fakecmon.world import codec, passwords
from fakecmon.world.loader import SECTIONS, Reader
from fakecmon.world.models import Cluster, Group, Host, User
from fakecmon.world.state import World
from fakecmon.world.yamlfile import Node

SAVED = "saved"
#: Format of the ``saved`` section; a newer fakecmon reads older ones or says why not.
FORMAT = 1


# ---- readable sections: one function per model

def controller_entry(world: World) -> dict[str, Any]:
    return {"controller_id": world.controller_id, "version": world.version,
            "rpc_key": world.rpc_key, "hostname": world.hostname}


def group_entry(group: Group) -> dict[str, Any]:
    return {"group_name": group.group_name, "group_id": group.group_id, "acl": str(group.acl)}


def user_entry(world: World, user: User) -> dict[str, Any]:
    """No password: the ``saved`` section keeps its hash (see ``passwords``)."""
    return {"user_name": user.user_name, "user_id": user.user_id,
            "groups": [world.groups[g].group_name for g in user.group_ids if g in world.groups],
            "first_name": user.first_name, "last_name": user.last_name,
            "email_address": user.email_address, "title": user.title,
            "public_keys": [{"name": k.name, "key": k.key} for k in user.public_keys],
            "disabled": user.disabled, "suspended": user.suspended, "origin": user.origin,
            "tags": list(user.tags), "acl": str(user.acl)}


def host_entry(host: Host) -> dict[str, Any]:
    return {"hostname": host.hostname, "port": host.port, "nodetype": host.nodetype,
            "class_name": host.class_name, "role": host.role, "hoststatus": host.hoststatus,
            "version": host.version, "datadir": host.datadir, "ip": host.ip,
            "hostname_internal": host.hostname_internal,
            "maintenance_mode_active": host.maintenance_mode_active,
            "extra": _plain(host.extra)}


def cluster_entry(world: World, cluster: Cluster) -> dict[str, Any]:
    return {"cluster_id": cluster.cluster_id, "cluster_name": cluster.cluster_name,
            "cluster_type": cluster.cluster_type, "vendor": cluster.vendor,
            "version": cluster.version, "state": cluster.state,
            "status_text": cluster.status_text,
            "owner": _user_name(world, cluster.owner_user_id),
            "group": _group_name(world, cluster.owner_group_id),
            "acl": str(cluster.acl), "tags": list(cluster.tags),
            "cluster_auto_recovery": cluster.cluster_auto_recovery,
            "node_auto_recovery": cluster.node_auto_recovery,
            "hosts": [host_entry(h) for h in cluster.hosts]}


#: Fields the readable entries carry (under these or other names); the rest is saved.
READABLE: dict[type, frozenset[str]] = {
    Group: frozenset(("group_name", "group_id", "acl")),
    User: frozenset(("user_name", "user_id", "group_ids", "first_name", "last_name",
                     "email_address", "title", "public_keys", "disabled", "suspended",
                     "origin", "tags", "acl", "password")),
    Host: frozenset(("hostname", "port", "nodetype", "class_name", "role", "hoststatus",
                     "version", "datadir", "ip", "hostname_internal",
                     "maintenance_mode_active", "extra")),
    Cluster: frozenset(("cluster_id", "cluster_name", "cluster_type", "vendor", "version",
                        "state", "status_text", "owner_user_id", "owner_group_id", "acl",
                        "tags", "hosts", "cluster_auto_recovery", "node_auto_recovery")),
}


def _user_name(world: World, uid: int) -> str:
    """The owner's name; a removed owner becomes ``system``, as a reload would need one."""
    user = world.users.get(uid)
    return user.user_name if user is not None else "system"


def _group_name(world: World, gid: int) -> str:
    group = world.groups.get(gid)
    return group.group_name if group is not None else "admins"


def _plain(value: Any) -> Any:
    """JSON-like copy (host ``extra`` holds only what a world file or the API gave)."""
    return orjson.loads(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))


# ---- the ``saved`` section

def _field_names(obj: Any) -> list[str]:
    if dataclasses.is_dataclass(obj):
        return [f.name for f in dataclasses.fields(obj)]
    return list(codec.attributes(obj))


def saved_fields(enc: codec.Encoder, obj: Any) -> dict[str, Any]:
    """The fields of a user, group, cluster or host that its readable entry does not carry."""
    skip = READABLE[type(obj)]
    return {name: enc.encode(getattr(obj, name)) for name in _field_names(obj)
            if name not in skip}


def saved_section(world: World) -> dict[str, Any]:
    enc = codec.Encoder(world)
    users = {}
    for user in world.users.values():
        entry = saved_fields(enc, user)
        entry["public_key_times"] = [k.created for k in user.public_keys]
        secret = passwords.stored_hash(world, user)
        if secret is not None:
            entry["password_hash"] = secret
        users[user.user_name] = entry
    clusters = {}
    for cluster in world.clusters.values():
        entry = saved_fields(enc, cluster)
        entry["hosts"] = [saved_fields(enc, h) for h in cluster.hosts]
        clusters[cluster.cluster_name] = entry
    extensions = {k: v for k, v in world.extensions.items() if k != passwords.KEY}
    return {
        "format": FORMAT,
        "created": world.created,
        "host_sequence": world._host_seq,
        "groups": {g.group_name: saved_fields(enc, g) for g in world.groups.values()},
        "users": users,
        "clusters": clusters,
        "extensions": enc.encode(extensions),
    }


def export_world(world: World) -> dict[str, Any]:
    """The whole world as a world file document (sections in load order)."""
    return {
        "controller": controller_entry(world),
        "groups": [group_entry(g) for g in world.groups.values()],
        "users": [user_entry(world, u) for u in world.users.values()],
        "clusters": [cluster_entry(world, c) for c in world.clusters.values()],
        SAVED: saved_section(world),
    }


def to_yaml(doc: dict[str, Any]) -> str:
    header = ("# fakecmon world export: load it with `fakecmon serve --world FILE`.\n"
              "# The 'saved' section keeps what the other sections cannot say; edit those.\n")
    return header + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                              default_flow_style=False, width=100)


def to_json(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Safe YAML (the C emitter when PyYAML has it: a saved world is written often), no
    anchors: the codec writes shared objects as ``!ref``."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


# ---- loading the ``saved`` section back

def load_saved(r: Reader, data: Node, world: World) -> None:
    """Put back what the readable sections could not say. Entries name users, groups and
    clusters; an entry whose object a later edit removed or renamed is skipped."""
    m = r.mapping(data, SAVED, SAVED)
    r.only(m, SAVED, ("format", "created", "host_sequence", "groups", "users", "clusters",
                      "extensions"))
    fmt = r.get(m, SAVED, "format", int)
    if fmt != FORMAT:
        raise r.fail(m, "format", f"{SAVED}.format",
                     f"format {fmt} is not one this fakecmon reads ({FORMAT})")
    dec = codec.Decoder(world)
    created = r.get(m, SAVED, "created", float)
    if not math.isfinite(created):
        raise r.fail(m, "created", f"{SAVED}.created", "must be a time in epoch seconds")
    world.created = created
    world._host_seq = r.get(m, SAVED, "host_sequence", int, world._host_seq)
    for name, entry in _entries(r, m, "groups"):
        group = world.group_by_name(name)
        if group is not None:
            _apply(r, dec, group, entry, f"{SAVED}.groups.{name}")
    hashes: dict[int, str] = {}
    for name, entry in _entries(r, m, "users"):
        user = world.user_by_name(name)
        if user is not None:
            _load_user(r, dec, user, entry, f"{SAVED}.users.{name}", hashes)
    for name, entry in _entries(r, m, "clusters"):
        cluster = world.cluster_by_name(name)
        if cluster is not None:
            _load_cluster(r, dec, cluster, entry, f"{SAVED}.clusters.{name}")
    table = r.get(m, SAVED, "extensions", dict, {})
    extensions = {}
    for key in table:   # one area at a time, so an error names its line
        try:
            extensions[str(key)] = dec.decode(table[key])
        except (KeyError, TypeError, ValueError) as exc:
            raise r.fail(table, key, f"{SAVED}.extensions.{key}", str(exc)) from None
    world.extensions.clear()
    world.extensions.update(extensions)
    if hashes:
        world.extensions[passwords.KEY] = hashes


def _entries(r: Reader, m: Node, key: str) -> list[tuple[str, Node]]:
    table = r.get(m, SAVED, key, dict, {})
    return [(str(name), r.mapping(table, name, f"{SAVED}.{key}.{name}")) for name in table]


def _apply(r: Reader, dec: codec.Decoder, obj: Any, entry: Node, place: str,
           skip: tuple[str, ...] = ()) -> None:
    known = set(_field_names(obj)) - READABLE[type(obj)]
    for name, raw in entry.items():
        if name in skip:
            continue
        if name not in known:
            raise r.fail(entry, name, f"{place}.{name}",
                         f"unknown field (known: {', '.join(sorted(known))})")
        try:
            setattr(obj, name, dec.decode(raw))
        except (KeyError, TypeError, ValueError) as exc:
            raise r.fail(entry, name, f"{place}.{name}", str(exc)) from None


def _load_user(r: Reader, dec: codec.Decoder, user: User, entry: Node, place: str,
               hashes: dict[int, str]) -> None:
    _apply(r, dec, user, entry, place, ("public_key_times", "password_hash"))
    times = r.get(entry, place, "public_key_times", list, [])
    for key, when in zip(user.public_keys, times):
        if isinstance(when, (int, float)) and not isinstance(when, bool):
            key.created = float(when)
    secret = r.get(entry, place, "password_hash", str, None)
    if secret is not None:
        if not passwords.valid(secret):
            raise r.fail(entry, "password_hash", f"{place}.password_hash",
                         f"not a {passwords.SCHEME} hash")
        if user.password is None:  # a password in the users section wins
            hashes[user.user_id] = secret


def _load_cluster(r: Reader, dec: codec.Decoder, cluster: Cluster, entry: Node,
                  place: str) -> None:
    _apply(r, dec, cluster, entry, place, ("hosts",))
    hosts = r.get(entry, place, "hosts", list, [])
    if len(hosts) != len(cluster.hosts):
        return  # the hosts were edited: they keep what the clusters section says
    for j, (host, host_entry_) in enumerate(zip(cluster.hosts, hosts)):
        if not isinstance(host_entry_, dict):
            raise r.fail(hosts, j, f"{place}.hosts[{j}]", "expected a mapping")
        _apply(r, dec, host, host_entry_, f"{place}.hosts[{j}]")


def register() -> None:
    """Make ``saved`` the last section to load, after every area's own (the controller
    calls this once all areas are imported): it replaces what they loaded."""
    SECTIONS.pop(SAVED, None)
    SECTIONS[SAVED] = load_saved


register()
