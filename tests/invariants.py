"""World invariants, checked after generated requests and after every state-machine step.

Reads go through the real handlers, in-process on the server's loop (``direct``):
the same code the TLS requests reach, without a TLS round trip per read, so every
step can afford to ask every read for every user.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from fakecmon.rpc import Call, catch_up, dispatch, envelope
from fakecmon.server import path_parts
from fakecmon.testing import FakeCmon
from fakecmon.world import export
from fakecmon.world.export import export_world
from fakecmon.world.jobs import jobs_of

#: Reads of one cluster: Ok exactly when the user may see the cluster.
PER_CLUSTER_READS = [
    ("/v2/clusters", "getClusterInfo", {}),
    ("/v2/alarm", "getAlarms", {}),
    ("/v2/backup", "getBackups", {}),
    ("/v2/maintenance", "getMaintenance", {}),
]


def direct(cmon: FakeCmon, user_name: str, rpc_path: str, operation: str,
           **fields: Any) -> dict[str, Any]:
    """One request as ``user_name``, through dispatch on the server's loop."""
    async def go() -> dict[str, Any]:
        controller = cmon.controller
        assert controller is not None
        call = Call(controller, rpc_path, {"operation": operation, **fields})
        call.user = controller.world.user_by_name(user_name)
        status, payload, error = await dispatch(call, path_parts(rpc_path))
        # Replies may hold pre-serialised pieces (orjson.Fragment): read them as a client would.
        return orjson.loads(orjson.dumps(envelope(call, status, payload, error)))
    loop = cmon._loop
    assert loop is not None
    return asyncio.run_coroutine_threadsafe(go(), loop).result(30)


def settle(cmon: FakeCmon) -> None:
    """Let clock-driven state catch up (as the next request would) before reading it."""
    direct(cmon, "system", "/v2/controller", "ping")


def snapshot_ids(cmon: FakeCmon) -> dict[str, set[int]]:
    """Ids in use now, by kind."""
    def read(c: Any) -> dict[str, set[int]]:
        w = c.world
        return {"user": set(w.users), "group": set(w.groups), "cluster": set(w.clusters),
                "job": set(jobs_of(w).jobs)}
    return cmon.run(read)


class Checker:
    """Invariants of one world; remembers the ids it has seen, so that a reused id
    (an id that went away and came back for something else) is caught."""

    def __init__(self, cmon: FakeCmon) -> None:
        self.cmon = cmon
        self._last: dict[str, set[int]] | None = None
        self.high: dict[str, int] = {"user": 0, "group": 0, "cluster": 0, "job": 0}
        self.checks = 0

    def all(self, acknowledged_jobs: set[int] | None = None,
            deleted_jobs: set[int] | None = None) -> None:
        settle(self.cmon)
        self.ids_only_grow()
        self.no_orphans()
        self.visibility_agrees()
        if acknowledged_jobs is not None:
            self.jobs_listed(acknowledged_jobs, deleted_jobs or set())

    # ---- ids

    def ids_only_grow(self) -> None:
        """A new id is above every id seen before: never reused, never going down."""
        now = snapshot_ids(self.cmon)
        for kind, ids in now.items():
            if self._last is not None:
                new = ids - self._last[kind]
                assert all(i > self.high[kind] for i in new), \
                    f"new {kind} ids {sorted(new)} not above {self.high[kind]} (reused)"
            self.high[kind] = max([self.high[kind], *ids])
        self._last = now
        self.checks += 1

    # ---- structure

    def no_orphans(self) -> None:
        def read(c: Any) -> list[str]:
            from fakecmon.world.alarms import book
            from fakecmon.world.backups import backups_of
            w = c.world
            problems = []
            clusters = set(w.clusters)
            for b in backups_of(w).records.values():
                if b.cluster_id not in clusters:
                    problems.append(f"backup {b.backup_id} of missing cluster {b.cluster_id}")
            for a in book(w).alarms.values():
                if a.cluster_id and a.cluster_id not in clusters:
                    problems.append(f"alarm {a.alarm_id} of missing cluster {a.cluster_id}")
            hosts: dict[int, int] = {}
            for cid, cl in w.clusters.items():
                for h in cl.hosts:
                    if h.host_id in hosts and hosts[h.host_id] != cid:
                        problems.append(f"host id {h.host_id} in clusters {hosts[h.host_id]} "
                                        f"and {cid}")
                    hosts[h.host_id] = cid
            for u in w.users.values():
                missing = [g for g in u.group_ids if g not in w.groups]
                if missing:
                    problems.append(f"user {u.user_name} in missing groups {missing}")
            return problems
        problems = self.cmon.run(read)
        assert not problems, problems
        self.checks += 1

    # ---- who may see what

    def visibility_agrees(self, users: list[str] | None = None) -> None:
        cmon = self.cmon
        settle(cmon)
        world_clusters = cmon.run(lambda c: {x.cluster_id: x.cluster_name
                                             for x in c.world.clusters.values()})
        names = users or cmon.run(lambda c: [u.user_name for u in c.world.users.values()
                                             if not u.disabled and not u.suspended])
        system_tree = direct(cmon, "system", "/v2/tree", "getTree", path="/", depth=1)
        assert system_tree["request_status"] == "Ok", system_tree
        in_tree = {i["item_name"] for i in system_tree["cdt"].get("sub_items", [])
                   if i.get("item_type") == "Cluster"}
        assert in_tree == set(world_clusters.values()), \
            f"tree clusters {sorted(in_tree)} != clusters {sorted(world_clusters.values())}"
        for name in names:
            info = direct(cmon, name, "/v2/clusters", "getAllClusterInfo")
            if info["request_status"] != "Ok":
                continue    # e.g. a user with no access at all answers AccessDenied
            listed = {c["cluster_id"] for c in info.get("clusters", [])}
            assert listed <= set(world_clusters), (name, listed, world_clusters)
            tree = direct(cmon, name, "/v2/tree", "getTree", path="/", depth=1)
            tree_names = set()
            if tree["request_status"] == "Ok":
                tree_names = {i["item_name"] for i in tree["cdt"].get("sub_items", [])
                              if i.get("item_type") == "Cluster"}
            for cid, cname in world_clusters.items():
                seen = cid in listed
                access = direct(cmon, name, "/v2/tree", "checkAccess", path=f"/{cname}",
                                privileges="r")["request_status"] == "Ok"
                assert access == seen, \
                    f"{name}: getAllClusterInfo {'lists' if seen else 'hides'} {cname} " \
                    f"but checkAccess r says {access}"
                if tree["request_status"] == "Ok":
                    assert (cname in tree_names) == seen, \
                        f"{name}: getTree and getAllClusterInfo disagree on {cname}"
                for rpc_path, op, extra in PER_CLUSTER_READS:
                    got = direct(cmon, name, rpc_path, op, cluster_id=cid, **extra)
                    ok = got["request_status"] == "Ok"
                    assert ok == seen, f"{name}: {op} on cluster {cid} is " \
                        f"{got['request_status']} but getAllClusterInfo " \
                        f"{'lists' if seen else 'hides'} it: {got.get('error_string')}"
        self.checks += 1

    # ---- jobs

    def jobs_listed(self, acknowledged: set[int], deleted: set[int]) -> None:
        reply = direct(self.cmon, "system", "/v2/jobs", "getJobInstances", limit=100000)
        assert reply["request_status"] == "Ok", reply
        listed = {j["job_id"] for j in reply.get("jobs", [])}
        missing = acknowledged - deleted - listed
        assert not missing, f"acknowledged jobs not listed: {sorted(missing)}"
        self.checks += 1


def same_as_a_fresh_restore(c: Any) -> bool:
    """The served world exports (jobs' plans and all) as a fresh restore of the
    pristine copy does, both caught up with the clock (the server's tick may have
    caught the served one up already): what a reset must give (run it with
    ``cmon.run``)."""
    now = c.clock.now()
    fresh = c._pristine.restore()
    for world in (c.world, fresh):
        catch_up(world, now)
    return export.to_json(export_world(c.world)) == export.to_json(export_world(fresh))


def initial_world_digest(cmon: FakeCmon) -> dict[str, Any]:
    """What the reset world looks like, to compare after ``reset()``."""
    def read(c: Any) -> dict[str, Any]:
        w = c.world
        return {"users": sorted((u.user_id, u.user_name, tuple(u.group_ids), u.password,
                                 u.disabled) for u in w.users.values()),
                "groups": sorted((g.group_id, g.group_name) for g in w.groups.values()),
                "clusters": sorted((x.cluster_id, x.cluster_name, x.state,
                                    tuple((h.host_id, h.hostname, h.port, h.hoststatus)
                                          for h in x.hosts), str(x.acl)) for x in
                                   w.clusters.values()),
                "jobs": sorted((j.job_id, j.status) for j in jobs_of(w).jobs.values())}
    return cmon.run(read)
