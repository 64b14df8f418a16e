"""FakeCmon from Python: start, reach, reset, load, snapshots, journal, assertions, clock, async."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import aiohttp
import pytest

from fakecmon import FakeCmon
from fakecmon.world.yamlfile import WorldError

ALICE = """
users:
  - user_name: alice
    password: wonderland
    groups: [users]
"""


def login_status(cmon: FakeCmon, user: str, password: str) -> str:
    return cmon.client().login(user, password)["request_status"]


def processed(reply: dict) -> float:
    return datetime.fromisoformat(reply["request_processed"].replace("Z", "+00:00")).timestamp()


# ---- life cycle and reaching the server

def test_a_new_server_answers_its_first_tls_request():
    """(How fast it starts is measured by bench/bench.py, not asserted here.)"""
    with FakeCmon() as cmon:
        reply = cmon.client().call("/v2/info", "ping")
    assert reply["request_status"] == "Ok"


def test_what_a_client_needs(cmon):
    assert cmon.url == f"https://127.0.0.1:{cmon.port}/v2"
    assert cmon.ca_path.read_text().startswith("-----BEGIN CERTIFICATE-----")
    ctx = cmon.ssl_context()
    assert ctx.check_hostname  # the CA verifies the server certificate for 127.0.0.1
    reply = cmon.client().call("/v2/info", "ping")
    assert reply["controller_id"] == cmon.controller_id == "3f2b8c1e-5d7a-4c1e-9b0a-6f4e2d1c0a99"


def test_client_logs_in_or_says_why_not(cmon):
    assert cmon.client("system", "secret").call("/v2/users", "whoAmI")["user"]["user_name"] \
        == "system"
    with pytest.raises(AssertionError, match="login as 'system' failed: AccessDenied"):
        cmon.client("system", "wrong")


def test_import_fakecmon_stays_light():
    code = ("import sys, fakecmon; assert 'aiohttp' not in sys.modules, 'heavy import'; "
            "from fakecmon import FakeCmon; print(FakeCmon.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "FakeCmon"


def test_two_servers_side_by_side_are_independent(cmon):
    with FakeCmon() as other:
        other.load_yaml(ALICE)
        assert login_status(other, "alice", "wonderland") == "Ok"
        assert login_status(cmon, "alice", "wonderland") == "AccessDenied"
        assert other.port != cmon.port


def test_stop_then_the_port_is_closed():
    cmon = FakeCmon().start()
    client = cmon.client()
    cmon.stop()
    with pytest.raises(ConnectionError):
        client.call("/v2/info", "ping")


# ---- async use, in the caller's loop

def test_async_with_runs_in_the_callers_loop():
    async def scenario() -> tuple[str, int]:
        threads = set(threading.enumerate())
        async with FakeCmon() as cmon:
            assert set(threading.enumerate()) == threads            # no server thread...
            assert cmon.run(lambda c: asyncio.get_running_loop()) is asyncio.get_running_loop()
            connector = aiohttp.TCPConnector(ssl=cmon.ssl_context())
            async with aiohttp.ClientSession(connector=connector) as session:
                async with session.post(cmon.url + "/auth", json={
                        "operation": "authenticateWithPassword", "user_name": "system",
                        "password": "secret"}) as resp:
                    doc = await resp.json()
            # Journal, faults and clock work from the loop itself, without a thread.
            entries = cmon.assert_called("authenticateWithPassword", times=1, user="system")
            cmon.advance(60)
            return doc["request_status"], len(entries)

    assert asyncio.run(scenario()) == ("Ok", 1)


def test_sync_stop_refuses_an_async_server():
    async def scenario() -> None:
        cmon = await FakeCmon().astart()
        try:
            with pytest.raises(RuntimeError, match="astop"):
                cmon.stop()
        finally:
            await cmon.astop()

    asyncio.run(scenario())


# ---- world: reset, load, snapshots

def test_reset_brings_back_the_startup_world(cmon):
    cmon.load_yaml(ALICE)
    assert login_status(cmon, "alice", "wonderland") == "Ok"
    cmon.reset()
    assert login_status(cmon, "alice", "wonderland") == "AccessDenied"
    assert login_status(cmon, "system", "secret") == "Ok"


def test_every_reset_gives_back_the_first_world(cmon):
    """Resets in a row each restore the world as loaded (how fast a reset is, is
    measured by bench/bench.py, never asserted here)."""
    for round_ in range(20):
        cmon.load_yaml(ALICE)
        assert login_status(cmon, "alice", "wonderland") == "Ok", round_
        cmon.reset()
        assert login_status(cmon, "alice", "wonderland") != "Ok", round_
        assert login_status(cmon, "system", "secret") == "Ok", round_


def test_load_world_file_and_replace(cmon, tmp_path):
    extra = tmp_path / "alice.yaml"
    extra.write_text(ALICE)
    cmon.load(extra)
    assert login_status(cmon, "alice", "wonderland") == "Ok"
    assert login_status(cmon, "system", "secret") == "Ok"   # added to, not replaced


def test_invalid_world_keeps_the_old_one(cmon):
    cmon.load_yaml(ALICE)
    with pytest.raises(WorldError, match=r"broken\.yaml: line 3.*groups"):
        cmon.load_yaml("users:\n  - user_name: bob\n    groups: [no-such-group]\n",
                       name="broken.yaml")
    assert login_status(cmon, "alice", "wonderland") == "Ok"


def test_use_world_then_reset(cmon, tmp_path):
    world = tmp_path / "tiny.yaml"
    world.write_text("""
groups: [{group_name: admins, group_id: 1}]
users: [{user_name: system, user_id: 1, password: tiny, groups: [admins]}]
""")
    cmon.use_world(world)
    client = cmon.client("system", "tiny")
    assert client.call("/v2/clusters", "getAllClusterInfo")["total"] == 0
    cmon.reset()
    assert cmon.client("system", "secret").call("/v2/clusters", "getAllClusterInfo")["total"] > 0


def test_snapshots_survive_resets_and_restore_again(cmon):
    cmon.load_yaml(ALICE)
    cmon.snapshot("with-alice")
    cmon.reset()
    assert login_status(cmon, "alice", "wonderland") == "AccessDenied"
    for _ in range(2):
        cmon.restore("with-alice")
        assert login_status(cmon, "alice", "wonderland") == "Ok"
        cmon.reset()
    with pytest.raises(KeyError, match="No snapshot named 'nope'"):
        cmon.restore("nope")


# ---- journal and assertions

def test_journal_entries(cmon):
    system = cmon.client("system", "secret")
    system.call("/v2/clusters", "getClusterInfo", cluster_id=1)
    cmon.client().call("/v2/clusters", "getAllClusterInfo")  # no login: AuthRequired
    login, info = cmon.requests(user="system")
    assert login.operation == "authenticateWithPassword" and login.path == "/v2/auth"
    assert login.body["password"] == "********" and login.body["user_name"] == "system"
    assert info.body["cluster_id"] == 1 and info.status == "Ok" and info.http_status == 200
    assert info.client == "127.0.0.1" and info.latency_ms > 0 and info.time.endswith("Z")
    (denied,) = cmon.requests(status="AuthRequired")
    assert denied.user is None and denied.http_status == 401
    assert [e.operation for e in cmon.requests(path="/v2/clusters")] == [
        "getClusterInfo", "getAllClusterInfo"]
    assert cmon.requests("GETCLUSTERINFO", with_fields={"cluster_id": 1}) == [info]
    cmon.clear_requests()
    assert cmon.requests() == []


def test_secrets_are_masked_everywhere_in_the_body(cmon):
    cmon.client().post("/v2/auth", {"operation": "authenticateResponse", "signature": "c2ln"})
    cmon.client().call("/v2/clusters", "getAllClusterInfo",
                       authenticate={"username": "system", "password": "secret"},
                       job={"job_spec": {"private_key": "PEM", "ssh_password": "x", "n": 3}})
    sig, nested = cmon.requests()
    assert sig.body["signature"] == "********"
    assert nested.body["authenticate"] == {"username": "system", "password": "********"}
    assert nested.body["job"]["job_spec"] == {"private_key": "********",
                                              "ssh_password": "********", "n": 3}
    assert "secret" not in cmon.journal_text()


def test_journal_is_a_bounded_ring_buffer():
    with FakeCmon(journal_size=3) as cmon:
        client = cmon.client()
        for i in range(5):
            client.call("/v2/info", "ping", request_id=i)
        assert [e.body["request_id"] for e in cmon.requests()] == [2, 3, 4]
        assert "received 5 request(s); the last 3" in cmon.journal_text(limit=3)


def test_assert_called_passes(cmon):
    client = cmon.client("system", "secret")
    client.call("/v2/clusters", "getClusterInfo", cluster_id=1)
    client.call("/v2/clusters", "getClusterInfo", cluster_id=2)
    assert len(cmon.assert_called("getClusterInfo", times=2)) == 2
    cmon.assert_called("getClusterInfo", times=1, with_fields={"cluster_id": 2}, user="system")
    cmon.assert_called(path="/v2/auth", status="Ok")
    cmon.assert_not_called("getAllClusterInfo")


def test_assert_called_failure_lists_the_closest_requests(cmon):
    client = cmon.client("system", "secret")
    client.call("/v2/clusters", "getClusterInfo", cluster_id=1)
    client.call("/v2/info", "ping")
    with pytest.raises(AssertionError) as failure:
        cmon.assert_called("getClusterInfo", with_fields={"cluster_id": 9})
    text = str(failure.value)
    assert text.splitlines()[0] == ('fakecmon: expected getClusterInfo with {"cluster_id":9} '
                                    'at least once; received 0 times.')
    assert "Closest of the 3 request(s) received:" in text
    closest = text.splitlines()[2]
    assert "/v2/clusters getClusterInfo user=system status=Ok" in closest
    assert '"cluster_id":1' in closest
    assert "differs: cluster_id=1" in text.splitlines()[3]


def test_assert_called_times_failure_lists_the_matches(cmon):
    cmon.client().call("/v2/info", "ping")
    cmon.client().call("/v2/info", "ping")
    with pytest.raises(AssertionError, match=r"(?s)expected ping once; received twice\."
                                             r".*Matching requests:.*#1 /v2/info ping.*#2"):
        cmon.assert_called("ping", times=1)


def test_assert_called_on_an_empty_journal(cmon):
    with pytest.raises(AssertionError, match="No request was received at all"):
        cmon.assert_called("createJobInstance")


# ---- clock

def test_clock_freeze_advance_set_and_reset(cmon):
    client = cmon.client()
    cmon.freeze()
    first = processed(client.call("/v2/info", "ping"))
    assert processed(client.call("/v2/info", "ping")) == first
    cmon.advance(3600)
    assert processed(client.call("/v2/info", "ping")) == first + 3600
    cmon.set_time("2030-01-02T03:04:05Z")
    assert client.call("/v2/info", "ping")["request_processed"] == "2030-01-02T03:04:05.000Z"
    cmon.unfreeze()
    assert processed(client.call("/v2/info", "ping")) >= datetime(
        2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc).timestamp()
    cmon.reset()
    assert abs(processed(client.call("/v2/info", "ping")) - time.time()) < 60
    with pytest.raises(ValueError):
        cmon.advance(-1)


def test_a_job_finishes_by_moving_the_clock(cmon):
    cmon.freeze()  # real time stands still: only advance() moves the job
    client = cmon.client("system", "secret")
    job = client.call("/v2/jobs", "createJobInstance", cluster_id=1,
                      job={"job_spec": {"command": "rolling_restart"}})["job"]

    def status() -> str:
        return client.call("/v2/jobs", "getJobInstance", job_id=job["job_id"])["job"]["status"]

    assert status() in ("DEFINED", "RUNNING")
    cmon.advance(3600)
    assert status() == "FINISHED"
    cmon.assert_called("getJobInstance", times=2, with_fields={"job_id": job["job_id"]})
