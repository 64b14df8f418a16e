"""A model-checked world: a hypothesis RuleBasedStateMachine drives users, groups,
keys, tree folders and ACLs, clusters created and dropped by jobs, nodes stopped
and started, backups and maintenance over TLS against the real server, and checks
the world's invariants (tests/invariants.py) after every step:

* getAllClusterInfo, getTree, checkAccess and every per-cluster read agree on who
  may see which cluster, for every user;
* ids only grow and are never reused;
* every acknowledged job is listed until it is deleted;
* a cluster's tree entry exists exactly while the cluster does;
* no orphan host, backup or alarm;
* reset returns exactly the initial world.

Every reply also passes the envelope oracle. Budget: ``FAKECMON_SM_EXAMPLES``
(default 12) runs of up to ``FAKECMON_SM_STEPS`` (default 20) steps; seeded by
hypothesis' derandomized seed. Shrunk failures are kept as regression tests below.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, invariant, precondition, rule,
                                 run_state_machine_as_test)

from fakecmon.testing import FakeCmon
from tests.fuzzgen import Wire, check_reply
from tests.invariants import Checker, initial_world_digest, same_as_a_fresh_restore

EXAMPLES = int(os.environ.get("FAKECMON_SM_EXAMPLES", "12"))
STEPS = int(os.environ.get("FAKECMON_SM_STEPS", "20"))
#: ``FAKECMON_SM_SHRINK=0`` reports the first failure as found (quick diagnosis).
PHASES = [Phase.explicit, Phase.reuse, Phase.generate] + (
    [Phase.shrink] if os.environ.get("FAKECMON_SM_SHRINK", "1") != "0" else [])
COUNTS = {"runs": 0, "steps": 0, "invariant_checks": 0}

names = st.text("abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=8)
_KEY = rsa.generate_private_key(public_exponent=65537, key_size=1024)
PUBLIC_PEM = _KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode()


class Server:
    """The one server the machine runs against (state machines take no fixtures)."""

    cmon: FakeCmon | None = None
    initial: dict[str, Any] = {}

    @classmethod
    def get(cls) -> FakeCmon:
        if cls.cmon is None:
            cls.cmon = FakeCmon().start()
            cls.initial = initial_world_digest(cls.cmon)
        return cls.cmon


@pytest.fixture(scope="module", autouse=True)
def _server_lifetime() -> Any:
    yield
    path = os.environ.get("FAKECMON_FUZZ_REPORT")
    if path and COUNTS["runs"]:
        with open(path, "a") as out:
            out.write(json.dumps({"machine_runs": COUNTS["runs"],
                                  "machine_steps": COUNTS["steps"],
                                  "invariant_checks": COUNTS["invariant_checks"]}) + "\n")
    if Server.cmon is not None:
        Server.cmon.stop()
        Server.cmon = None


class WorldMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.cmon = Server.get()
        self.cmon.reset()
        self.cmon.freeze()   # time moves only when a rule says so: reads see one moment
        self.wire = Wire(self.cmon.port)
        self.sid = self.cmon.run(self._system_session)
        self.checker = Checker(self.cmon)
        self.acknowledged: set[int] = set()
        self.deleted: set[int] = set()
        self.users: list[str] = []
        self.groups: list[str] = []
        self.folders: list[str] = []
        self.maintenances: list[str] = []
        COUNTS["runs"] += 1

    @staticmethod
    def _system_session(c: Any) -> str:
        session = c.sessions.create()
        session.user_id = c.world.user_by_name("system").user_id
        return session.sid

    def call(self, rpc_path: str, operation: str, **fields: Any) -> dict[str, Any]:
        body = {"operation": operation, **fields}
        status, ctype, raw = self.wire.post("system", rpc_path, body, self.sid)
        return check_reply(status, ctype, raw, body)

    def teardown(self) -> None:
        self.wire.close()
        self.cmon.unfreeze()

    # ---- reading the world

    def clusters(self) -> dict[int, Any]:
        return self.cmon.run(lambda c: {i: (x.cluster_name, [(h.hostname, h.port, h.online)
                                                              for h in x.hosts if h.port])
                                        for i, x in c.world.clusters.items()})

    def job(self, command: str, cluster_id: int = 0, **data: Any) -> None:
        fields: dict[str, Any] = {"job": {"class_name": "CmonJobInstance", "job_spec": {
            "command": command, "job_data": data}}}
        if cluster_id:
            fields["cluster_id"] = cluster_id
        reply = self.call("/v2/jobs", "createJobInstance", **fields)
        if reply["request_status"] == "Ok":
            self.acknowledged.add(reply["job"]["job_id"])

    # ---- users, groups, keys

    @rule(name=names, group=st.sampled_from(["users", "admins", ""]))
    def create_user(self, name: str, group: str) -> None:
        reply = self.call("/v2/users", "createUser", new_password="pw-12345",
                          create_group=not group, user={
                              "class_name": "CmonUser", "user_name": name,
                              "first_name": name.title(), "email_address": f"{name}@example.com",
                              "groups": [{"class_name": "CmonGroup", "group_name": group}]})
        if reply["request_status"] == "Ok":
            self.users.append(name)

    @precondition(lambda self: self.users)
    @rule(data=st.data())
    def delete_user(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(self.users))
        if self.call("/v2/users", "deleteUser", user={"user_name": name})["request_status"] == "Ok":
            self.users.remove(name)

    @rule(name=names)
    def create_group(self, name: str) -> None:
        reply = self.call("/v2/users", "createGroup", group={"class_name": "CmonGroup",
                                                             "group_name": "g" + name})
        if reply["request_status"] == "Ok":
            self.groups.append("g" + name)

    @precondition(lambda self: self.groups)
    @rule(data=st.data())
    def delete_group(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(self.groups))
        if self.call("/v2/users", "deleteGroup",
                     group={"group_name": name})["request_status"] == "Ok":
            self.groups.remove(name)

    @precondition(lambda self: self.users and self.groups)
    @rule(data=st.data(), primary=st.booleans())
    def add_to_group(self, data: st.DataObject, primary: bool) -> None:
        self.call("/v2/users", "addToGroup", user={"user_name": data.draw(
            st.sampled_from(self.users))}, group_name=data.draw(st.sampled_from(self.groups)),
            replace_primary_group=primary)

    @precondition(lambda self: self.users)
    @rule(data=st.data())
    def add_key(self, data: st.DataObject) -> None:
        self.call("/v2/users", "addKey", user={"user_name": data.draw(st.sampled_from(
            self.users))}, public_key={"name": "k", "key": PUBLIC_PEM})

    @precondition(lambda self: self.users)
    @rule(data=st.data(), disable=st.booleans())
    def disable_or_enable(self, data: st.DataObject, disable: bool) -> None:
        self.call("/v2/users", "disable" if disable else "enable",
                  user={"user_name": data.draw(st.sampled_from(self.users))})

    # ---- tree folders and ACLs

    @rule(name=names)
    def mkdir(self, name: str) -> None:
        path = f"/home/{name}"
        if self.call("/v2/tree", "mkdir", path=path)["request_status"] == "Ok":
            self.folders.append(path)

    @precondition(lambda self: self.folders)
    @rule(data=st.data())
    def rmdir(self, data: st.DataObject) -> None:
        path = data.draw(st.sampled_from(self.folders))
        if self.call("/v2/tree", "rmdir", path=path)["request_status"] == "Ok":
            self.folders.remove(path)

    @rule(data=st.data(), perm=st.sampled_from(["r--", "---", "rw-", "rwx"]),
          remove=st.booleans())
    def cluster_acl(self, data: st.DataObject, perm: str, remove: bool) -> None:
        clusters = self.clusters()
        principals = [f"user:{u}" for u in self.users + ["readeruser", "dba"]] + \
                     [f"group:{g}" for g in self.groups + ["users"]]
        if not clusters:
            return
        name = data.draw(st.sampled_from(sorted(c[0] for c in clusters.values())))
        acl = f"{data.draw(st.sampled_from(principals))}:{perm}"
        self.call("/v2/tree", "removeAcl" if remove else "addAcl", path=f"/{name}", acl=acl)

    @rule(data=st.data())
    def chown_cluster(self, data: st.DataObject) -> None:
        clusters = self.clusters()
        if not clusters:
            return
        name = data.draw(st.sampled_from(sorted(c[0] for c in clusters.values())))
        owner = data.draw(st.sampled_from(self.users + ["dba", "system"]))
        group = data.draw(st.sampled_from(self.groups + ["users", "admins"]))
        self.call("/v2/tree", "chown", path=f"/{name}", owner_user_name=owner,
                  owner_group_name=group)

    # ---- clusters by jobs, nodes, backups, maintenance

    @rule(name=names, n=st.integers(1, 3), kind=st.sampled_from(["galera", "postgresql"]))
    def create_cluster(self, name: str, n: int, kind: str) -> None:
        self.job("create_cluster", cluster_type=kind, cluster_name="c" + name,
                 vendor="percona" if kind == "galera" else "postgresql",
                 version="8.0" if kind == "galera" else "15",
                 nodes=[{"hostname": f"10.77.{len(name)}.{i + 1}"} for i in range(n)])

    @rule(data=st.data(), remove_backups=st.booleans())
    def remove_cluster(self, data: st.DataObject, remove_backups: bool) -> None:
        clusters = self.clusters()
        if clusters:
            cid = data.draw(st.sampled_from(sorted(clusters)))
            self.job("remove_cluster", clusterid=cid, remove_backups=remove_backups)

    @rule(data=st.data(), stop=st.booleans())
    def stop_or_start_node(self, data: st.DataObject, stop: bool) -> None:
        nodes = [(cid, h) for cid, (_, hosts) in self.clusters().items() for h in hosts]
        if nodes:
            cid, (host, port, _) = data.draw(st.sampled_from(nodes))
            self.job("stop" if stop else "start", cid, hostname=host, port=port)

    @rule(data=st.data())
    def backup(self, data: st.DataObject) -> None:
        clusters = self.clusters()
        if clusters:
            self.job("backup", data.draw(st.sampled_from(sorted(clusters))))

    @rule(data=st.data())
    def delete_backup(self, data: st.DataObject) -> None:
        ids = self.cmon.run(lambda c: sorted(__import__(
            "fakecmon.world.backups", fromlist=["x"]).backups_of(c.world).records))
        if ids:
            self.call("/v2/backup", "deleteBackupRecord",
                      backup_record={"backup_id": data.draw(st.sampled_from(ids))})

    @rule(data=st.data(), minutes=st.integers(1, 120))
    def maintenance(self, data: st.DataObject, minutes: int) -> None:
        clusters = self.clusters()
        if not clusters:
            return
        cid = data.draw(st.sampled_from(sorted(clusters)))
        now = self.cmon.now()
        from fakecmon.timefmt import rfc3339
        reply = self.call("/v2/maintenance", "addMaintenance", cluster_id=cid,
                          initiate=rfc3339(now), deadline=rfc3339(now + minutes * 60),
                          reason="model")
        if reply["request_status"] == "Ok":
            self.maintenances.append(reply["UUID"])

    @precondition(lambda self: self.maintenances)
    @rule(data=st.data())
    def end_maintenance(self, data: st.DataObject) -> None:
        uuid = data.draw(st.sampled_from(self.maintenances))
        self.maintenances.remove(uuid)
        self.call("/v2/maintenance", "removeMaintenance", UUID=uuid)

    @precondition(lambda self: self.acknowledged - self.deleted)
    @rule(data=st.data())
    def delete_job(self, data: st.DataObject) -> None:
        job_id = data.draw(st.sampled_from(sorted(self.acknowledged - self.deleted)))
        if self.call("/v2/jobs", "deleteJobInstance", job_id=job_id)["request_status"] == "Ok":
            self.deleted.add(job_id)

    @rule(seconds=st.sampled_from([1, 5, 30, 600]))
    def time_passes(self, seconds: int) -> None:
        self.cmon.advance(seconds)

    @rule()
    def reset(self) -> None:
        self.cmon.reset(sessions=False)
        self.cmon.freeze()
        assert initial_world_digest(self.cmon) == Server.initial
        assert self.cmon.run(same_as_a_fresh_restore), "an area was not reset"
        self.checker = Checker(self.cmon)
        self.acknowledged.clear()
        self.deleted.clear()
        self.users.clear()
        self.groups.clear()
        self.folders.clear()
        self.maintenances.clear()

    # ---- after every step

    @invariant()
    def world_holds(self) -> None:
        COUNTS["steps"] += 1
        self.checker.all(self.acknowledged, self.deleted)
        COUNTS["invariant_checks"] += 4


def test_world_machine() -> None:
    """Seeded: derandomized, so every run explores the same examples."""
    run_state_machine_as_test(WorldMachine, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
        derandomize=True, suppress_health_check=list(HealthCheck),
        phases=PHASES))


# ---- shrunk failures the machine found, kept as regression tests

def _run_job(cmon: FakeCmon, client: Any, command: str, **data: Any) -> dict[str, Any]:
    reply = client.call("/v2/jobs", "createJobInstance", job={"job_spec": {
        "command": command, "job_data": data}})
    assert reply["request_status"] == "Ok", reply
    cmon.advance(60)
    job = client.call("/v2/jobs", "getJobInstance", job_id=reply["job"]["job_id"])["job"]
    assert job["status"] == "FINISHED", job
    return job


def test_a_dropped_clusters_id_is_not_reused(cmon: FakeCmon) -> None:
    """Shrunk: remove_cluster(21), the highest id, then create_cluster got id 6."""
    system = cmon.client("system", "secret")
    _run_job(cmon, system, "remove_cluster", clusterid=21)
    _run_job(cmon, system, "create_cluster", cluster_type="galera", cluster_name="caaa",
             vendor="percona", version="8.0", nodes=[{"hostname": "10.77.3.1"}])
    ids = {c["cluster_id"] for c in system.call("/v2/clusters", "getAllClusterInfo")["clusters"]}
    assert 21 not in ids and max(ids) == 22


def test_a_dropped_cluster_leaves_no_orphan_backups(cmon: FakeCmon) -> None:
    """Shrunk: remove_cluster(remove_backups=False) left 'backup 1 of missing cluster 1'."""
    system = cmon.client("system", "secret")
    before = system.call("/v2/backup", "getBackups")["backup_records"]
    assert any(r["cid"] == 1 for r in before)
    _run_job(cmon, system, "remove_cluster", clusterid=1, remove_backups=False)
    Checker(cmon).no_orphans()
    after = system.call("/v2/backup", "getBackups")["backup_records"]
    assert [r for r in after if r["cid"] == 1] == []
    assert len(after) == len([r for r in before if r["cid"] != 1])
