"""Cached cluster views (fakecmon/world/views.py) change when what they show changes,
whatever changed it: jobs as the clock runs, the tree, users, config, the control API,
a reload, the test API. The cross-check of every view against a fresh one is off here
(FAKECMON_VERIFY_VIEWS=0), so these tests see what the cache alone serves."""

from __future__ import annotations

import asyncio
import http.client
import json
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from fakecmon import DEFAULT_WORLD, FakeCmon
from fakecmon.client import RpcClient
from fakecmon.controller import Controller
from fakecmon.rpc import catch_up
from fakecmon.world.jobs import jobs_of
from fakecmon.world import views
from fakecmon.world.views import StaleView, cluster_json, cluster_view

C = "/v2/clusters"


@pytest.fixture(autouse=True)
def cache_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "VERIFY", False)


def info(client: RpcClient, cluster_id: int) -> dict[str, Any]:
    """The cluster as getAllClusterInfo lists it (the cached, with_hosts view)."""
    reply = client.call(C, "getAllClusterInfo")
    assert reply["request_status"] == "Ok", reply
    return next(c for c in reply["clusters"] if c["cluster_id"] == cluster_id)


def ctl(cmon: FakeCmon, method: str, path: str, body: Any = None) -> Any:
    conn = http.client.HTTPSConnection("127.0.0.1", cmon.port, context=cmon.ssl_context())
    try:
        conn.request(method, "/_fakecmon" + path,
                     body=None if body is None else json.dumps(body).encode())
        resp = conn.getresponse()
        assert resp.status == 200, resp.read()
        return json.loads(resp.read())
    finally:
        conn.close()


def test_the_view_is_cached_and_answers_like_the_plain_one(cmon, system):
    cmon.freeze()   # both replies show the same clock fields (uptimes, last seen)
    first = system.call(C, "getAllClusterInfo")
    again = system.call(C, "getAllClusterInfo")
    assert first["clusters"] == again["clusters"]
    views = cmon.run(lambda c: dict(c.world.views))
    assert {key[1] for key in views if key[0] == "cluster"} == {
        c["cluster_id"] for c in first["clusters"]}

    def compare(c: Controller) -> None:
        now = c.clock.now()
        for cluster in c.world.clusters.values():
            for hosts in (True, False):
                cached = bytes(orjson.dumps(cluster_view(c.world, cluster, now,
                                                         privileges="r-x", with_hosts=hosts)))
                assert cached == orjson.dumps(cluster_json(c.world, cluster, now,
                                                           privileges="r-x", with_hosts=hosts))
    cmon.run(compare)


def test_privileges_stay_per_caller(system, reader):
    assert info(system, 1)["effective_privileges"] == "rwx"
    assert info(reader, 1)["effective_privileges"] == "r--"
    assert info(system, 1)["effective_privileges"] == "rwx"


def test_host_clock_fields_follow_the_clock(cmon, system):
    cmon.freeze()
    before = info(system, 1)["hosts"][0]
    cmon.run(lambda c: c.clock.set(c.clock.now() + 0.6))  # not through changed(): a read
    after = info(system, 1)["hosts"][0]
    assert after["lastseen"] >= before["lastseen"]
    assert (after["uptime"] - before["uptime"]) in (0, 1)
    cmon.advance(100)
    later = info(system, 1)["hosts"][0]
    assert later["lastseen"] - after["lastseen"] in (100, 101)
    assert later["uptime"] - after["uptime"] in (100, 101)


def test_a_job_changes_the_view_as_the_clock_runs(cmon, system):
    """Nothing but the clock catch-up (no write request, no test API) moves the job."""
    cmon.load_yaml("job_settings: {start_delay: 0, durations: {stop_cluster: 0.2}}\n")
    assert info(system, 1)["state"] == "STARTED"
    reply = system.call("/v2/jobs", "createJobInstance", cluster_id=1, job={
        "class_name": "CmonJobInstance", "job_spec": {"command": "stop_cluster"}})
    assert reply["request_status"] == "Ok", reply
    deadline = time.monotonic() + 30
    while info(system, 1)["state"] != "STOPPED":
        assert time.monotonic() < deadline, "the cluster view never showed the job's effect"
        time.sleep(0.05)
    stopped = info(system, 1)
    assert stopped["state"] == "STOPPED"
    assert "CmonHostShutDown" in {h["hoststatus"] for h in stopped["hosts"]}
    assert stopped["job_statistics"]["by_state"]["FINISHED"] >= 1


def test_catch_up_marks_the_world_changed_only_when_something_moved(cmon, system):
    system.call("/v2/jobs", "createJobInstance", cluster_id=1, job={
        "class_name": "CmonJobInstance", "job_spec": {"command": "rolling_restart"}})

    def check(c: Controller) -> tuple[bool, bool]:
        world = c.world
        now = c.clock.now()
        catch_up(world, now)
        quiet = world.generation
        catch_up(world, now)                    # nothing is due: no change
        unchanged = world.generation == quiet
        due = jobs_of(world).next_due()
        assert due is not None
        catch_up(world, due)                    # the job starts: stale
        return unchanged, world.generation != quiet

    assert cmon.run(check) == (True, True)


def test_tree_changes_show(system):
    assert "user:dba:" not in info(system, 1)["acl"]
    reply = system.post("/v2/tree", {"operation": "addAcl", "path": "/galera-prod",
                                     "acl": "user:dba:r--"}).json
    assert reply["request_status"] == "Ok", reply
    assert "user:dba:r--" in info(system, 1)["acl"]
    reply = system.post("/v2/tree", {"operation": "chown", "path": "/galera-prod",
                                     "owner_user_name": "dba"}).json
    assert reply["request_status"] == "Ok", reply
    assert info(system, 1)["owner"]["user_name"] == "dba"


def test_user_changes_show_in_the_owner(system):
    owner = info(system, 1)["owner"]["user_name"]
    reply = system.call("/v2/users", "setUser", user={
        "class_name": "CmonUser", "user_name": owner, "first_name": "Renamed"})
    assert reply["request_status"] == "Ok", reply
    assert info(system, 1)["owner"]["first_name"] == "Renamed"


def test_logins_show_in_the_owner(cmon, system):
    owner = info(system, 1)["owner"]
    assert owner["user_name"] == "system"
    cmon.client().login("system", "wrong password")
    assert info(system, 1)["owner"]["n_failed_logins"] == owner.get("n_failed_logins", 0) + 1


def test_config_changes_show(system):
    reply = system.call(C, "setConfig", cluster_id=1, configuration=[
        {"name": "tags", "value": "cached;view"},
        {"name": "enable_cluster_autorecovery", "value": "false"}])
    assert reply["request_status"] == "Ok", reply
    shown = info(system, 1)
    assert (shown["tags"], shown["cluster_auto_recovery"]) == (["cached", "view"], False)


def test_control_api_changes_show(cmon, system):
    assert len(system.call(C, "getAllClusterInfo")["clusters"]) == 6
    ctl(cmon, "POST", "/world", {"yaml": "clusters:\n  - {cluster_name: added, "
                                         "cluster_type: galera, hosts: [{hostname: 10.9.9.9}]}\n"})
    names = [c["cluster_name"] for c in system.call(C, "getAllClusterInfo")["clusters"]]
    assert "added" in names
    ctl(cmon, "POST", "/snapshots/before")
    system.call(C, "setConfig", cluster_id=1, configuration=[{"name": "tags", "value": "x"}])
    assert info(system, 1)["tags"] == ["x"]
    ctl(cmon, "POST", "/snapshots/before/restore")
    assert info(system, 1)["tags"] != ["x"]
    ctl(cmon, "POST", "/reset", {})
    system.login("system", "secret")
    assert "added" not in [c["cluster_name"] for c in system.call(
        C, "getAllClusterInfo")["clusters"]]


def test_test_api_changes_show(cmon, system):
    info(system, 1)

    def rename(c: Controller) -> None:
        c.world.clusters[1].status_text = "Changed by a test."
    cmon.run(rename)
    assert info(system, 1)["status_text"] == "Changed by a test."


def test_reload_shows(tmp_path: Path):
    world = tmp_path / "world.yaml"
    world.write_text("# nothing yet\n")
    with FakeCmon(world=[DEFAULT_WORLD, world]) as cmon:
        system = cmon.client("system", "secret")
        assert info(system, 1)["status_text"] != "Reloaded."
        world.write_text("clusters:\n  - {cluster_name: galera-prod, cluster_type: galera, "
                         "cluster_id: 1, status_text: Reloaded.}\n")
        ctl(cmon, "POST", "/world/reload")
        system = cmon.client("system", "secret")
        assert info(system, 1)["status_text"] == "Reloaded."


def test_a_stale_view_fails_loudly_when_checked(cmon, system, monkeypatch):
    """With the cross-check on (as in the rest of the suite), a change made behind the
    world's back is an error, not a wrong answer."""
    monkeypatch.setattr(views, "VERIFY", True)
    info(system, 1)
    world = cmon.controller.world   # (changed here without the test API, on purpose)
    now = cmon.controller.clock.now()

    async def behind_its_back() -> None:
        world.clusters[1].status_text = "Not announced."
        with pytest.raises(StaleView):
            cluster_view(world, world.clusters[1], now, privileges="rwx")
    asyncio.run_coroutine_threadsafe(behind_its_back(), cmon._loop).result()
