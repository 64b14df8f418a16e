"""Faults on demand, each as a client sees it over TLS."""

from __future__ import annotations

import http.client
import time

import orjson
import pytest

from fakecmon.client import RawReply, RpcClient
from fakecmon.faults import FaultError

CLUSTERS = "/v2/clusters"


class ProxyLikeClient(RpcClient):
    """Requests the way cmon-proxy's Go client makes them (go-clients.md §2.1).

    The stored cookie goes back with its attributes; an HTTP 401 or 403 makes it
    log in again and repeat the request once; any other status is decoded as is.
    """

    def __init__(self, base_url: str, user: str, password: str) -> None:
        super().__init__(base_url)
        self.user, self.password = user, password
        self.logins = 0

    def authenticate(self) -> None:
        self.logins += 1
        doc = self.login(self.user, self.password)
        assert doc["request_status"] == "Ok", doc

    def request(self, path: str, operation: str, **fields: object) -> dict:
        if self.sid is None:
            self.authenticate()
        body = {"operation": operation, **fields}
        reply = self._send(path, body)
        if reply.status in (401, 403):
            self.authenticate()
            reply = self._send(path, body)
        return reply.json

    def _send(self, path: str, body: dict) -> RawReply:
        headers = {"Cookie": f"cmon-sid={self.sid}; Path=/; HttpOnly"} if self.sid else {}
        sid, self.sid = self.sid, None  # the header above carries the cookie
        try:
            return self.post(path, body, headers)
        finally:
            self.sid = self.sid or sid


@pytest.fixture
def system(cmon) -> RpcClient:
    return cmon.client("system", "secret")


def all_clusters(client: RpcClient) -> RawReply:
    return client.post(CLUSTERS, {"operation": "getAllClusterInfo"})


# ---- envelope faults

def test_status_fault_for_the_next_request_only(cmon, system):
    handle = cmon.fault("status", operation="getAllClusterInfo", request_status="TryAgain",
                        message="The controller is busy.", times=1)
    reply = all_clusters(system)
    assert reply.status == 200
    assert reply.json["request_status"] == "TryAgain"
    assert reply.json["error_string"] == "The controller is busy."
    assert reply.json["controller_id"] and reply.json["request_processed"].endswith("Z")
    assert all_clusters(system).json["request_status"] == "Ok"
    assert handle.fired == 1 and not handle.active
    (entry,) = cmon.requests(status="TryAgain")
    assert entry.fault == "status"


@pytest.mark.parametrize("request_status", ["UnknownError", "AccessDenied", "ObjectNotFound"])
def test_status_fault_kinds(cmon, system, request_status):
    cmon.fault("status", request_status=request_status, message="Injected.")
    doc = system.call(CLUSTERS, "getClusterInfo", cluster_id=1)
    assert doc["request_status"] == request_status and doc["error_string"] == "Injected."


def test_auth_required_status_fault_answers_401(cmon, system):
    cmon.fault("status", request_status="AuthRequired", message="Session expired.", times=1)
    assert all_clusters(system).status == 401


@pytest.mark.parametrize("code, status, message", [
    (500, "UnknownError", "Internal server error."),
    (502, "UnknownError", "Bad gateway."),
    (503, "TryAgain", "Service unavailable."),
])
def test_http_status_faults_carry_an_envelope(cmon, system, code, status, message):
    cmon.fault("http", http_status=code, times=1)
    reply = all_clusters(system)
    assert reply.status == code
    assert reply.header("content-type").startswith("application/json")
    assert reply.json["request_status"] == status and reply.json["error_string"] == message
    assert all_clusters(system).status == 200


def test_redirect_as_an_ha_follower(cmon, system):
    cmon.fault("redirect", hostname="10.0.0.7", port=9501)
    doc = all_clusters(system).json
    assert doc["request_status"] == "Redirect"
    assert doc["status"] == "CmonControllerFollower"
    assert doc["leader_controller"]["hostname"] == "10.0.0.7"
    assert doc["leader_controller"]["port"] == 9501
    # s9s reconnects to the controller whose role is "leader" (s9s.md §7.4).
    leaders = [c for c in doc["controllers"].values() if c["role"] == "leader"]
    assert [(c["hostname"], c["port"]) for c in leaders] == [("10.0.0.7", 9501)]
    followers = [c for c in doc["controllers"].values() if c["role"] == "follower"]
    assert [(c["hostname"], c["port"]) for c in followers] == [("127.0.0.1", cmon.port)]
    assert all(isinstance(c["port"], int) for c in doc["controllers"].values())


# ---- connection faults

def test_dropped_connection_is_a_connection_error(cmon, system):
    cmon.fault("drop", times=1)
    with pytest.raises(ConnectionError):
        all_clusters(system)
    assert all_clusters(system).json["request_status"] == "Ok"
    (entry,) = cmon.requests(operation="getAllClusterInfo", status=None)[:1]
    assert entry.fault == "drop" and entry.status is None and entry.http_status is None


def failed_logins(cmon) -> int:
    return cmon.run(lambda c: c.world.user_by_name("dba").n_failed_logins)


@pytest.mark.parametrize("process, counted", [(False, 0), (True, 1)])
def test_drop_runs_the_request_only_when_asked(cmon, process, counted):
    cmon.fault("drop", operation="authenticateWithPassword", process=process, times=1)
    with pytest.raises(ConnectionError):
        cmon.client().login("dba", "wrong")
    assert failed_logins(cmon) == counted


def test_empty_reply(cmon, system):
    cmon.fault("empty", times=1)
    reply = all_clusters(system)
    assert reply.status == 200 and reply.body == b"" and reply.header("content-length") == "0"
    assert reply.header("server").startswith("cmon/")


def test_truncated_reply_is_an_incomplete_read(cmon, system):
    cmon.fault("truncate", times=1)
    with pytest.raises(http.client.IncompleteRead):
        all_clusters(system)


def test_malformed_reply_is_not_json(cmon, system):
    whole = all_clusters(system).body
    cmon.fault("malformed", times=1)
    reply = all_clusters(system)
    assert reply.status == 200 and 0 < len(reply.body) < len(whole)
    assert int(reply.header("content-length")) == len(reply.body)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(reply.body)


def test_latency(cmon, system):
    cmon.fault("latency", operation="getAllClusterInfo", seconds=0.2, times=1)
    started = time.perf_counter()
    assert all_clusters(system).json["request_status"] == "Ok"
    assert time.perf_counter() - started >= 0.2
    (entry,) = cmon.requests("getAllClusterInfo")
    assert entry.latency_ms >= 200


def test_latency_combines_with_another_fault(cmon, system):
    cmon.fault("latency", seconds=0.05, times=1)
    cmon.fault("status", request_status="TryAgain", times=1)
    started = time.perf_counter()
    assert all_clusters(system).json["request_status"] == "TryAgain"
    assert time.perf_counter() - started >= 0.05


# ---- session expiry

def test_proxy_logs_in_again_after_a_401_session_expiry(cmon):
    proxy = ProxyLikeClient(cmon.base_url, "system", "secret")
    assert proxy.request(CLUSTERS, "getAllClusterInfo")["request_status"] == "Ok"
    cmon.fault("expire", target_user="system", times=1)
    assert proxy.request(CLUSTERS, "getAllClusterInfo")["request_status"] == "Ok"
    assert proxy.logins == 2
    seen = [(e.operation, e.status, e.http_status, e.fault) for e in cmon.requests()]
    assert seen[-3:] == [("getAllClusterInfo", "AuthRequired", 401, "expire"),
                         ("authenticateWithPassword", "Ok", 200, None),
                         ("getAllClusterInfo", "Ok", 200, None)]


def test_expiry_for_one_user_leaves_the_others(cmon):
    system = cmon.client("system", "secret")
    reader = cmon.client("readeruser", "s3cr3tP455")
    assert cmon.expire_sessions("readeruser") == 1
    assert all_clusters(system).json["request_status"] == "Ok"
    expired = all_clusters(reader)
    assert expired.status == 401 and expired.json["request_status"] == "AuthRequired"


def test_expiry_for_everybody(cmon):
    clients = [cmon.client("system", "secret"), cmon.client("readeruser", "s3cr3tP455")]
    cmon.fault("expire", operation="getAllClusterInfo", times=1)
    assert [all_clusters(c).status for c in clients] == [401, 401]


def test_expire_fault_for_one_users_requests(cmon):
    system = cmon.client("system", "secret")
    reader = cmon.client("readeruser", "s3cr3tP455")
    cmon.fault("expire", user="readeruser", target_user="readeruser")
    assert all_clusters(system).status == 200
    assert all_clusters(reader).status == 401


# ---- which requests: scope, counts, seeded fractions

def test_scope_by_path_operation_and_user(cmon, system):
    reader = cmon.client("readeruser", "s3cr3tP455")
    cmon.fault("status", path="/v2/clusters", user="readeruser", request_status="TryAgain")
    assert system.call("/v2/clusters", "getAllClusterInfo")["request_status"] == "Ok"
    assert reader.call("/v2/info", "ping")["request_status"] == "Ok"
    assert reader.call("/v2/clusters", "getAllClusterInfo")["request_status"] == "TryAgain"
    cmon.clear_faults()
    assert reader.call("/v2/clusters", "getAllClusterInfo")["request_status"] == "Ok"


def test_until_cleared_and_as_a_context_manager(cmon, system):
    with cmon.fault("status", operation="getAllClusterInfo", request_status="TryAgain") as f:
        assert [all_clusters(system).json["request_status"] for _ in range(3)] == ["TryAgain"] * 3
        assert f.fired == 3
    assert all_clusters(system).json["request_status"] == "Ok"


def fraction_pattern(cmon, system, seed: int) -> list[bool]:
    cmon.fault("status", operation="ping", fraction=0.5, seed=seed, request_status="TryAgain")
    pattern = [system.call("/v2/info", "ping")["request_status"] == "TryAgain"
               for _ in range(24)]
    cmon.clear_faults()
    return pattern


def test_seeded_fraction_is_reproducible(cmon, system):
    first = fraction_pattern(cmon, system, 42)
    assert 0 < sum(first) < len(first)
    assert fraction_pattern(cmon, system, 42) == first
    assert fraction_pattern(cmon, system, 7) != first


@pytest.mark.parametrize("spec, message", [
    ({"kind": "nope"}, "'kind' must be one of"),
    ({"kind": "status"}, "needs 'request_status'"),
    ({"kind": "status", "request_status": "Ok"}, "'Ok' is not a fault"),
    ({"kind": "http", "http_status": 200}, "400 or more"),
    ({"kind": "latency"}, "needs 'seconds'"),
    ({"kind": "drop", "fraction": 2}, "'fraction' must be between 0.0 and 1.0"),
    ({"kind": "drop", "seed": 3}, "'seed' goes with 'fraction'"),
    ({"kind": "drop", "times": 0}, "'times' must be at least 1"),
    ({"kind": "drop", "bogus": 1}, "Unknown fault field(s): bogus"),
])
def test_bad_fault_specifications_say_why(cmon, spec, message):
    with pytest.raises(FaultError) as failure:
        cmon.run(lambda c: c.faults.add(spec))
    assert message in str(failure.value)
