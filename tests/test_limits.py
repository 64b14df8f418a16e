"""Bounded resources: the connection cap, TLS handshake and idle timeouts, and the
bounds of every store (jobs, event subscribers, snapshots, sessions), asserted on a
server started with small limits. Memory figures are measured by bench/soak.py,
never here."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fakecmon import eventstream
from fakecmon.cli import main
from fakecmon.testing import FakeCmon
from tests.rawtls import closed_by_server, insecure_context, parse_reply, s9s_request

CAP = 6
HANDSHAKE = 1.5
IDLE = 0.8


@pytest.fixture(scope="module")
def small() -> Iterator[FakeCmon]:
    """A server with small bounds (its own: the session server keeps the defaults)."""
    with FakeCmon(max_connections=CAP, handshake_timeout=HANDSHAKE, idle_timeout=IDLE,
                  max_jobs=3, max_subscribers=1, max_snapshots=2, max_sessions=50) as server:
        yield server


@pytest.fixture
def srv(small: FakeCmon) -> FakeCmon:
    small.reset()
    small.expire_sessions()
    wait_for(lambda: _stats(small)["open"] == 0, timeout=10)
    return small


def _stats(cmon: FakeCmon) -> dict[str, Any]:
    server = cmon._server
    assert server is not None and server.gate is not None
    gate = server.gate
    return cmon.run(lambda c: gate.stats())


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def tls_connect(port: int, timeout: float = 5.0) -> ssl.SSLSocket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return insecure_context().wrap_socket(sock, server_hostname="127.0.0.1")


def ping(port: int, timeout: float = 5.0) -> dict[str, Any]:
    with tls_connect(port, timeout) as tls:
        tls.sendall(s9s_request("/v2/info", {"operation": "ping"}))
        out = b""
        while True:
            chunk = tls.recv(65536)
            if not chunk:
                break
            out += chunk
    return parse_reply(out).json


def keepalive_request(path: str, body: bytes) -> bytes:
    """An HTTP/1.1 keep-alive POST, as Go and Python clients send."""
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


PING = keepalive_request("/v2/info", b'{"operation": "ping"}')


def test_serve_help_states_every_bound(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = capsys.readouterr().out
    for flag in ("--max-connections", "--handshake-timeout", "--idle-timeout", "--max-sessions",
                 "--session-timeout", "--journal-size", "--max-jobs", "--max-subscribers",
                 "--max-snapshots", "--max-body-size"):
        assert flag in text, flag
    for store in ("connections", "sessions", "journal", "jobs", "event streams", "logs",
                  "snapshots"):
        assert f"\n  {store} " in text, store
    assert "default 1024" in text


def test_silent_connections_are_closed_after_the_handshake_timeout(srv: FakeCmon) -> None:
    raw = socket.create_connection(("127.0.0.1", srv.port))
    started = time.monotonic()
    assert closed_by_server(raw, within=HANDSHAKE + 3)
    assert time.monotonic() - started >= HANDSHAKE * 0.8
    raw.close()


def test_a_stalled_handshake_is_closed_too(srv: FakeCmon) -> None:
    raw = socket.create_connection(("127.0.0.1", srv.port))
    raw.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")   # a ClientHello's start
    assert closed_by_server(raw, within=HANDSHAKE + 3)
    raw.close()


def test_a_silent_flood_past_the_cap_never_locks_clients_out(srv: FakeCmon) -> None:
    evicted = _stats(srv)["evicted"]
    flood = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(CAP * 5)]
    try:
        for _ in range(3):
            assert ping(srv.port)["request_status"] == "Ok"
        assert _stats(srv)["open"] <= CAP
        assert _stats(srv)["evicted"] > evicted
        closed = sum(closed_by_server(s, within=0.05) for s in flood)
        assert closed >= CAP * 4     # the server holds at most CAP of them
    finally:
        for s in flood:
            s.close()


def test_past_the_cap_a_new_connection_waits_for_a_free_slot() -> None:
    """Every slot holds a TLS connection: the next one waits (kernel backlog), those
    already in are still answered, and it gets in as soon as a slot frees."""
    with FakeCmon(max_connections=3, idle_timeout=30) as srv:
        held = [tls_connect(srv.port) for _ in range(3)]
        wait_for(lambda: _stats(srv)["open"] == 3)
        held[0].sendall(PING)
        assert b'"Ok"' in held[0].recv(65536)          # a connection inside is served
        late = socket.create_connection(("127.0.0.1", srv.port))
        late.settimeout(0.5)
        tls = insecure_context().wrap_socket(late, server_hostname="127.0.0.1",
                                             do_handshake_on_connect=False)
        with pytest.raises((TimeoutError, socket.timeout)):
            tls.do_handshake()                          # not accepted while at the cap
        assert _stats(srv)["open"] == 3
        held.pop().close()
        tls.settimeout(5)
        tls.do_handshake()                              # now it is
        tls.sendall(PING)
        assert b'"Ok"' in tls.recv(65536)
        for s in [*held, tls]:
            s.close()


def test_idle_keep_alive_connections_are_closed_after_the_idle_timeout(srv: FakeCmon) -> None:
    tls = tls_connect(srv.port)
    tls.sendall(PING)
    assert b"\"Ok\"" in tls.recv(65536)
    started = time.monotonic()
    assert closed_by_server(tls, within=IDLE + 3)
    assert time.monotonic() - started >= IDLE * 0.7
    tls.close()
    wait_for(lambda: _stats(srv)["open"] == 0)


def test_a_byte_a_second_request_head_is_cut_and_others_are_served(srv: FakeCmon) -> None:
    tls = tls_connect(srv.port)
    head = b"POST /v2/info HTTP/1.1\r\nHost: x\r\n"
    started = time.monotonic()
    cut = False
    for i in range(len(head)):
        try:
            tls.sendall(head[i:i + 1])
        except OSError:
            cut = True
            break
        assert ping(srv.port)["request_status"] == "Ok"
        if closed_by_server(tls, within=0.2):
            cut = True
            break
    assert cut, "a slow request head held its connection"
    assert time.monotonic() - started < IDLE + 5
    tls.close()


def test_a_body_short_of_its_content_length_gets_an_envelope(srv: FakeCmon) -> None:
    tls = tls_connect(srv.port)
    tls.sendall(b"POST /v2/info HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n{\"operation\": \"pi")
    tls.settimeout(IDLE + 5)
    out = b""
    while b"\r\n\r\n" not in out or not out.rstrip().endswith(b"}"):
        chunk = tls.recv(65536)
        if not chunk:
            break
        out += chunk
    reply = parse_reply(out)
    assert reply.status == 408
    assert reply.json["request_status"] == "InvalidRequest"
    assert "did not arrive" in reply.json["error_string"]
    tls.close()


def test_ended_jobs_beyond_the_retention_fall_out_oldest_first(srv: FakeCmon) -> None:
    client = srv.client("system", "secret")
    before = {j["job_id"] for j in client.call("/v2/jobs", "getJobInstances")["jobs"]}
    ids = []
    for _ in range(5):
        reply = client.call("/v2/jobs", "createJobInstance", job={
            "class_name": "CmonJobInstance", "job_spec": {"command": "success",
                                                          "job_data": {"timeout": 1}}})
        assert reply["request_status"] == "Ok", reply
        ids.append(reply["job"]["job_id"])
        srv.advance(5)
    listed = [j["job_id"] for j in client.call("/v2/jobs", "getJobInstances")["jobs"]]
    assert sorted(set(listed) - before) == ids[-3:]
    assert len(listed) <= 3 + len([j for j in before if j in listed])
    gone = client.call("/v2/jobs", "getJobInstance", job_id=ids[0])
    assert gone["request_status"] != "Ok"


def test_one_event_subscriber_too_many_gets_try_again(srv: FakeCmon) -> None:
    client = srv.client("system", "secret")
    body = {"class_name": "CmonRpcRequest", "operation": "subscribe"}
    first = tls_connect(srv.port)
    try:
        first.sendall(s9s_request("/v2/subscribe_events/", body, cookie=client.sid))
        wait_for(lambda: len(srv.run(eventstream.subscribers)) == 1)
        reply = client.call("/v2/subscribe_events", "subscribe")
        assert reply["request_status"] == "TryAgain"
        assert "subscribers" in reply["error_string"]
    finally:
        first.close()
    wait_for(lambda: len(srv.run(eventstream.subscribers)) == 0)


def test_snapshots_are_bounded(srv: FakeCmon) -> None:
    import urllib.request
    from urllib.error import HTTPError

    def post(name: str) -> int:
        req = urllib.request.Request(f"{srv.control_url}/snapshots/{name}", method="POST",
                                     data=b"")
        try:
            with urllib.request.urlopen(req, context=insecure_context(), timeout=5) as resp:
                return resp.status
        except HTTPError as exc:
            return exc.code

    try:
        assert post("a") == 200 and post("b") == 200
        assert post("c") == 409
        assert post("a") == 200        # saving an existing name again is fine
    finally:
        srv.run(lambda c: c.snapshots.clear())


def test_sessions_are_bounded(srv: FakeCmon) -> None:
    statuses = [srv.client().login("system", "secret")["request_status"] for _ in range(51)]
    assert statuses[:50] == ["Ok"] * 50
    assert statuses[50] == "TryAgain"
    srv.expire_sessions()
    assert srv.client().login("system", "secret")["request_status"] == "Ok"
