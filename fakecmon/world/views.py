"""CMON JSON shapes of world objects, in the field names and types clients decode."""

from __future__ import annotations

import os
import re
from typing import Any

import orjson

from fakecmon.timefmt import rfc3339
from fakecmon.world import config, maintenance
from fakecmon.world.cdt import cdt_of
from fakecmon.world.replication import replication_docs
from fakecmon.world.models import TIMEZONE, Cluster, Group, Host, Owned, User
from fakecmon.world.state import World


def _owner_fields(world: World, obj: Owned, cdt_path: str) -> dict[str, Any]:
    owner = world.users.get(obj.owner_user_id)
    group = world.groups.get(obj.owner_group_id)
    return {
        "cdt_path": cdt_path,
        "owner_user_id": obj.owner_user_id,
        "owner_user_name": owner.user_name if owner else "",
        "owner_group_id": obj.owner_group_id,
        "owner_group_name": group.group_name if group else "",
        "acl": str(obj.acl),
    }


def group_json(world: World, group: Group) -> dict[str, Any]:
    doc: dict[str, Any] = {"class_name": "CmonGroup"}
    doc.update(_owner_fields(world, group, "/groups"))
    doc.update({"created": rfc3339(group.created), "group_id": group.group_id,
                "group_name": group.group_name})
    return doc


def _time_or_blank(when: float | None) -> str:
    return "" if when is None else rfc3339(when)


def user_json(world: World, user: User) -> dict[str, Any]:
    doc: dict[str, Any] = {"class_name": "CmonUser"}
    doc.update(_owner_fields(world, user, "/"))
    if user.tags:
        doc["tags"] = list(user.tags)
    # CMON leaves out empty texts; the login times and counter are always there, a time
    # that never happened as "" (the 2021 captures left them out for users who never
    # logged in; today's CMON does not).
    fields: dict[str, Any] = {
        "created": rfc3339(user.created),
        "disabled": user.disabled,
        "email_address": user.email_address or None,
        "first_name": user.first_name or None,
        "last_failed_login": _time_or_blank(user.last_failed_login),
        "last_login": _time_or_blank(user.last_login),
        "last_name": user.last_name or None,
        "n_failed_logins": user.n_failed_logins,
        "origin": user.origin,
        "suspended": user.suspended,
        "title": user.title or None,
        "user_id": user.user_id,
        "user_name": user.user_name,
    }
    doc.update((k, v) for k, v in fields.items() if v is not None)
    doc["groups"] = [group_json(world, g) for g in world.user_groups(user)]
    doc["timezone"] = TIMEZONE
    return doc


JOB_STATES = ("ABORTED", "DEFINED", "DEQUEUED", "FAILED", "FINISHED", "RUNNING")


def job_statistics(world: World, cluster_id: int) -> dict[str, Any]:
    """``job_statistics.by_state``: counted by the jobs area when it is loaded."""
    counter = world.extensions.get("job_counts")
    by_state = dict.fromkeys(JOB_STATES, 0)
    if counter is not None:
        by_state.update(counter(cluster_id))
    return {"class_name": "CmonJobStatistics", "cluster_id": cluster_id, "by_state": by_state}


def alarm_statistics(world: World, cluster_id: int) -> dict[str, Any]:
    counter = world.extensions.get("alarm_counts")
    critical, warning = counter(cluster_id) if counter is not None else (0, 0)
    return {"class_name": "CmonAlarmStatistics", "cluster_id": cluster_id,
            "created_after": "1970-01-01T00:00:00.000Z", "critical": critical,
            "reported_after": "1970-01-01T00:00:00.000Z", "warning": warning}


def cluster_json(world: World, cluster: Cluster, now: float, *, privileges: str,
                 with_hosts: bool = True) -> dict[str, Any]:
    doc: dict[str, Any] = {"class_name": "CmonClusterInfo"}
    doc.update(_owner_fields(world, cluster, cdt_of(world).folder_of(cluster).path()))
    doc.update({
        "tags": list(cluster.tags),
        "cluster_auto_recovery": cluster.cluster_auto_recovery,
        "cluster_id": cluster.cluster_id,
        "cluster_name": cluster.cluster_name,
        "cluster_type": cluster.cluster_type,
        "configuration_file": f"/etc/cmon.d/cmon_{cluster.cluster_id}.cnf",
        "effective_privileges": privileges,
        "log_file": f"/var/log/cmon_{cluster.cluster_id}.log",
        "maintenance_mode_active": cluster.maintenance_mode_active,
        "managed": True,
        "node_auto_recovery": cluster.node_auto_recovery,
        "state": cluster.state,
        "status_text": cluster.status_text,
        "vendor": cluster.vendor,
        "version": cluster.version,
        "alarm_statistics": alarm_statistics(world, cluster.cluster_id),
        "job_statistics": job_statistics(world, cluster.cluster_id),
    })
    group = world.groups.get(cluster.owner_group_id)
    owner = world.users.get(cluster.owner_user_id)
    if group is not None:
        doc["group_owner"] = group_json(world, group)
    if owner is not None:
        doc["owner"] = user_json(world, owner)
    if with_hosts:
        doc["hosts"] = [host_json(world, cluster, h, now) for h in cluster.hosts] + [
            _controller_host(world, cluster, now)]
    return doc


def host_json(world: World, cluster: Cluster, host: Host, now: float) -> dict[str, Any]:
    """A node as CMON shows it: with the names of its owner and group (the cluster's),
    which s9s prints (``%O``/``%G``) instead of the bare ids."""
    doc = host.to_json(cluster, now)
    names = _owner_fields(world, cluster, _cluster_path(world, cluster))
    for key in ("cdt_path", "owner_user_name", "owner_group_name"):
        doc[key] = names[key]
    if host.nodetype != "controller":   # a list for nodes, as CMON sends (the capture)
        doc.setdefault("configfile", [config.config_path(world, cluster, host)])
    doc.update(replication_docs(world, cluster, host))
    return doc


def _cluster_path(world: World, cluster: Cluster) -> str:
    """Where the cluster is in the tree (``/<name>`` unless it was moved)."""
    folder = cdt_of(world).folder_of(cluster).path()
    return ("" if folder == "/" else folder) + "/" + cluster.cluster_name


def _controller_host(world: World, cluster: Cluster, now: float) -> dict[str, Any]:
    """CMON lists itself as a ``controller`` host in every cluster."""
    doc: dict[str, Any] = {"class_name": "CmonHost"}
    doc.update(_owner_fields(world, cluster, _cluster_path(world, cluster)))
    doc.update({
        "clusterid": cluster.cluster_id,
        "configfile": f"/etc/cmon.d/cmon_{cluster.cluster_id}.cnf",
        "connected": True, "container": False,
        "hostId": 100000 + cluster.cluster_id, "hostname": world.hostname,
        "hoststatus": "CmonHostOnline", "ip": world.hostname,
        "lastseen": int(now), "logfile": f"/var/log/cmon_{cluster.cluster_id}.log",
        "maintenance_mode": maintenance.mode_text(False, maintenance.cluster_affected(cluster)),
        "maintenance_mode_active": False,
        "message": "Up and running.", "nodetype": "controller", "pid": 4242,
        "pingstatus": -1, "pingtime": -1, "port": 9500, "role": "controller",
        "timestamp": int(now), "unique_id": 100000 + cluster.cluster_id,
        "uptime": int(now - world.created), "version": world.version,
        "wallclock": int(now), "wallclocktimestamp": int(now),
        "distribution": {"name": "ubuntu", "codename": "jammy", "release": "22.04",
                         "type": "debian"},
    })
    return doc


# ---- cached, pre-serialised cluster views
#
# ``getAllClusterInfo`` is what dashboards, exporters and cmon-proxy repeat; building
# its documents is most of a request's time, and nothing in them changes between two
# reads of an unchanged world except the clock fields of hosts and the caller's
# privileges. So a cluster's view is serialised once per world generation as a
# *template*: bytes with holes where the time-derived integers and
# ``effective_privileges`` go. The template is made by running ``cluster_json`` itself
# with a marker for ``now`` (so the view never drifts from the dict one): ``int(now)``
# and ``int(now - t)`` give numbered sentinel integers, anything else the marker is
# used for raises, and that cluster is then served uncached.

_SENTINEL = 987_654_321_000_000
_SENTINEL_RE = re.compile(rb"(?<=:)(9876543210\d{5})(?=[,}\]])")
_PRIVILEGES = ("p",)
_NOW = ("n",)


class _Unsupported(Exception):
    """The view uses the clock in a way a template cannot replay."""


class _Clock(float):
    """``now`` while a template is made: records what each integer it yields means."""

    holes: list[tuple[Any, ...]]
    offset: float | None

    def __new__(cls, holes: list[tuple[Any, ...]], offset: float | None = None) -> "_Clock":
        obj = super().__new__(cls, float("nan"))
        obj.holes, obj.offset = holes, offset
        return obj

    def __int__(self) -> int:
        self.holes.append(_NOW if self.offset is None else ("s", self.offset))
        return _SENTINEL + len(self.holes) - 1

    def __sub__(self, other: Any) -> "_Clock":
        if self.offset is not None or not isinstance(other, (int, float)):
            raise _Unsupported("now - now")
        return _Clock(self.holes, float(other))

    def _refuse(self, *_: Any) -> Any:
        raise _Unsupported("the view uses the clock in another way")

    __add__ = __radd__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __floordiv__ = _refuse
    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = __round__ = __float__ = _refuse
    __hash__ = float.__hash__


Template = list[Any]   # bytes, then a hole, then bytes...


def _template(world: World, cluster: Cluster, with_hosts: bool) -> Template | None:
    holes: list[tuple[Any, ...]] = [_PRIVILEGES]
    try:
        doc = cluster_json(world, cluster, _Clock(holes),  # type: ignore[arg-type]
                           privileges=_SENTINEL, with_hosts=with_hosts)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - _Unsupported, or the markers used in another way:
        return None    # the view is then built per request, as it always was
    pieces = _SENTINEL_RE.split(orjson.dumps(doc))
    template: Template = [pieces[0]]
    for i in range(1, len(pieces), 2):
        index = int(pieces[i]) - _SENTINEL
        if not 0 <= index < len(holes):
            return None    # a number of the world that looks like a sentinel
        template += [holes[index], pieces[i + 1]]
    return template


class _Template:
    """A cluster's serialised view with holes, and its last rendering."""

    __slots__ = ("parts", "offsets", "last_key", "last")

    def __init__(self, parts: Template) -> None:
        self.parts = parts
        #: the distinct ``t`` of the ``int(now - t)`` holes: with ``int(now)`` and the
        #: privileges they decide the rendering, so an equal key reuses the last one.
        self.offsets = tuple(sorted({h[1] for h in parts[1::2] if h[0] == "s"}))
        self.last_key: tuple[Any, ...] | None = None
        self.last = b""

    def render(self, privileges: str, now: float) -> bytes:
        key = (privileges, *_clock_key(now, self.offsets))
        if key == self.last_key:
            return self.last
        parts = self.parts
        out = [parts[0]]
        for i in range(1, len(parts), 2):
            kind = parts[i][0]
            if kind == "p":
                out.append(orjson.dumps(privileges))
            elif kind == "n":
                out.append(b"%d" % int(now))
            else:
                out.append(b"%d" % int(now - parts[i][1]))
            out.append(parts[i + 1])
        self.last_key, self.last = key, b"".join(out)
        return self.last


#: Set (FAKECMON_VERIFY_VIEWS=1, as the test suite does) to check every cached view
#: against a freshly built one: a stale cache then fails loudly instead of lying.
VERIFY = os.environ.get("FAKECMON_VERIFY_VIEWS", "") not in ("", "0")


class StaleView(AssertionError):
    """A cached view differs from the world (a mutation that did not call changed())."""


def _cluster_bytes(world: World, cluster: Cluster, now: float, privileges: str,
                   with_hosts: bool) -> tuple[bytes, _Template] | None:
    """The serialised view and its template; None when the view cannot be templated."""
    key = ("cluster", cluster.cluster_id, with_hosts)
    template = world.views.get(key)
    if template is None:
        generation = world.generation
        parts = _template(world, cluster, with_hosts)
        if parts is None or world.generation != generation:
            return None
        template = world.views[key] = _Template(parts)
    data = template.render(privileges, now)
    if VERIFY:
        fresh = orjson.dumps(cluster_json(world, cluster, now, privileges=privileges,
                                          with_hosts=with_hosts))
        if fresh != data:
            raise StaleView(f"cached view of cluster {cluster.cluster_id} is stale:\n"
                            f"{data.decode()}\n!=\n{fresh.decode()}")
    return data, template


def cluster_view(world: World, cluster: Cluster, now: float, *, privileges: str,
                 with_hosts: bool = True) -> Any:
    """``cluster_json`` as an ``orjson.Fragment``, from a template kept until the world
    changes (see ``World.changed``)."""
    found = _cluster_bytes(world, cluster, now, privileges, with_hosts)
    if found is None:
        return cluster_json(world, cluster, now, privileges=privileges, with_hosts=with_hosts)
    return orjson.Fragment(found[0])


def cluster_list_view(world: World, clusters: list[tuple[Cluster, str]], now: float, *,
                      with_hosts: bool, key: Any) -> Any:
    """The JSON list of several clusters' views (``(cluster, privileges)``) as one
    Fragment, kept under ``key`` while the world and the clock fields stay the same;
    None when a view cannot be templated."""
    entry = world.views.get(key)
    unchanged = entry is not None and _clock_key(now, entry[0]) == entry[1]
    if unchanged and not VERIFY:
        return entry[3]   # the same object: a reply built on it knows it is unchanged
    pieces, offsets_of = [], set()
    for cluster, privileges in clusters:
        found = _cluster_bytes(world, cluster, now, privileges, with_hosts)
        if found is None:
            return None
        pieces.append(found[0])
        offsets_of.update(found[1].offsets)
    data = b"[" + b",".join(pieces) + b"]"
    if unchanged:   # (VERIFY) the kept list must be what was just built
        if entry[2] != data:
            raise StaleView("cached list of cluster views is stale")
        return entry[3]
    offsets = tuple(sorted(offsets_of))
    fragment = orjson.Fragment(data)
    world.views[key] = (offsets, _clock_key(now, offsets), data, fragment)
    return fragment


def _clock_key(now: float, offsets: tuple[float, ...]) -> tuple[int, ...]:
    """What the clock fields of a list of views show at ``now`` (whole seconds since each
    of their times): the list is unchanged while this is."""
    return (int(now), *[int(now - t) for t in offsets])
