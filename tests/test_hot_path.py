"""What the request hot path keeps from one request to the next (issue 10) stays right:
reply headers, journal entries and their contract findings, the cluster info cache
counters, and the connection timeouts kept by one timer for all connections. Each
test changes what a client sees and checks the next reply shows it. (Speed itself is
measured by bench/bench.py, never asserted here.)"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from fakecmon.testing import FakeCmon
from tests.rawtls import (closed_by_server, exchange, insecure_context, parse_reply, post_bytes,
                          s9s_request)

IDLE = 0.8


def raw_call(cmon: FakeCmon, path: str, body: bytes, cookie: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if cookie:
        headers["Cookie"] = cookie
    return parse_reply(exchange(cmon.port, post_bytes(path, body, headers)))


def login_cookie(cmon: FakeCmon) -> str:
    reply = raw_call(cmon, "/v2/auth", b'{"operation": "authenticateWithPassword", '
                     b'"user_name": "system", "password": "secret"}')
    return reply.header("Set-Cookie")[0].split(";")[0]


def test_the_server_header_follows_a_new_world_version(cmon: FakeCmon) -> None:
    before = raw_call(cmon, "/v2/info", b'{"operation": "ping"}')
    assert before.header("Server") == ["cmon/2.3.1"]
    cmon.load_yaml("controller:\n  version: 2.4.0\n")
    after = raw_call(cmon, "/v2/info", b'{"operation": "ping"}')
    assert after.header("Server") == ["cmon/2.4.0"]
    cmon.reset()
    assert raw_call(cmon, "/v2/info", b'{"operation": "ping"}').header("Server") == ["cmon/2.3.1"]


@pytest.mark.fakecmon_strict(False)      # findings on purpose
def test_the_same_request_bytes_again_get_their_findings_again(cmon: FakeCmon) -> None:
    def counted() -> tuple[int, int]:
        """(calls, findings) of getAllClusterInfo in the server's report so far."""
        row = next((r for r in cmon.report()["operations"]
                    if r["operation"] == "getAllClusterInfo"), {"calls": 0, "findings": {}})
        return row["calls"], row["findings"].get(finding, 0)

    finding = "unknown field 'withhosts' (did you mean 'with_hosts'?)"
    calls, findings = counted()
    cookie = login_cookie(cmon)
    body = b'{"operation": "getAllClusterInfo", "withhosts": true}'
    for _ in range(3):
        assert raw_call(cmon, "/v2/clusters", body, cookie).json["request_status"] == "Ok"
    good = raw_call(cmon, "/v2/clusters", b'{"operation": "getAllClusterInfo"}', cookie)
    assert good.json["request_status"] == "Ok"
    entries = cmon.requests("getAllClusterInfo")
    assert [e.contract for e in entries] == [[finding]] * 3 + [[]]
    entries[0].contract.append("changed by the caller")    # a copy: the next one is intact
    assert cmon.requests("getAllClusterInfo")[1].contract == [finding]
    assert counted() == (calls + 4, findings + 3)


def test_the_journal_masks_secrets_of_what_it_kept_as_received(cmon: FakeCmon) -> None:
    login_cookie(cmon)
    entry = cmon.requests("authenticateWithPassword")[-1]
    assert entry.body["password"] == "********" and entry.body["user_name"] == "system"
    assert entry.to_json()["body"]["password"] == "********"
    assert entry.to_json()["user"] == "system"


def test_replies_built_on_the_same_view_keep_their_own_envelope(cmon: FakeCmon) -> None:
    """With the clock standing still every reply is written in the same millisecond
    around the same cluster list: what differs in the envelope (the echoed request_id,
    1, 1.0, true and "1" alike in Python, not in JSON, and 0.0 and -0.0; the user) and a
    change of the world still show in the bytes."""
    cmon.freeze()
    cookie = login_cookie(cmon)
    seen = {}
    for request_id in (b"1", b"1.0", b"true", b'"1"', b"0.0", b"-0.0", b"1", None):
        body = b'{"operation": "getAllClusterInfo", "with_hosts": true' + (
            b', "request_id": ' + request_id if request_id is not None else b"") + b"}"
        raw = raw_call(cmon, "/v2/clusters", body, cookie).body
        echoed = raw.split(b'"request_id":', 1)[1].split(b",", 1)[0] if request_id else None
        assert echoed == request_id, raw[:300]
        seen[request_id] = raw
    assert seen[None] != seen[b"1"] and b'"request_id"' not in seen[None]
    assert seen[b"1"].replace(b'"request_id":1,', b"") == seen[None]
    other = raw_call(cmon, "/v2/clusters", b'{"operation": "getAllClusterInfo", "with_hosts": '
                     b'true, "authenticate": {"username": "admin", "password": "admin"}}')
    assert other.json["debug_messages"] == ["RPC V2 authenticated user is 'admin'."]
    assert other.json["request_user_id"] != orjson.loads(seen[None])["request_user_id"]
    cmon.load_yaml("clusters:\n  - cluster_id: 78\n    cluster_name: same-millisecond\n"
                   "    cluster_type: galera\n")
    after = raw_call(cmon, "/v2/clusters", b'{"operation": "getAllClusterInfo", '
                     b'"with_hosts": true}', login_cookie(cmon)).json
    assert after["request_processed"] == orjson.loads(seen[None])["request_processed"]
    assert "same-millisecond" in [c["cluster_name"] for c in after["clusters"]]


def test_a_decoded_line_break_in_a_path_gets_an_envelope(cmon: FakeCmon) -> None:
    """The RPC routes take any tail: a path with %0A is answered like any unknown path."""
    rpc = raw_call(cmon, "/v2/clu%0Asters", b'{"operation": "ping"}')
    assert rpc.status == 200 and rpc.json["request_status"] == "InvalidRequest"
    assert rpc.json["error_string"] == "Invalid operation 'ping' on '/v2/clu\nsters'."
    other = raw_call(cmon, "/x%0Ay", b'{"operation": "ping"}')
    assert other.status == 404 and other.json["request_status"] == "InvalidRequest"


def test_what_an_embedder_adds_to_the_app_still_applies_to_rpc_requests(tmp_path: Any) -> None:
    """RPC requests skip the router only while the app is what make_app made: a
    middleware added to ``CmonServer.app`` before ``start()`` sees them too."""
    import asyncio
    import threading

    from aiohttp import web

    from fakecmon.certs import ensure_certificates
    from fakecmon.controller import Controller
    from fakecmon.server import CmonServer, server_ssl_context

    seen: list[str] = []

    @web.middleware
    async def note(request: web.Request, handler: Any) -> web.StreamResponse:
        seen.append(request.path)
        return await handler(request)

    certs = ensure_certificates(tmp_path)
    ready = threading.Event()
    state: dict[str, Any] = {}

    def serve() -> None:
        loop = asyncio.new_event_loop()
        server = CmonServer(Controller(), server_ssl_context(str(certs.cert), str(certs.key)),
                            port=0)
        server.app.middlewares.append(note)
        state["port"] = loop.run_until_complete(server.start())
        state["stop"] = lambda: loop.call_soon_threadsafe(loop.stop)
        ready.set()
        loop.run_forever()
        loop.run_until_complete(server.stop())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        reply = parse_reply(exchange(state["port"], post_bytes(
            "/v2/clusters", b'{"operation": "getAllClusterInfo"}')))
        assert reply.json["request_status"] == "AuthRequired"
        assert seen == ["/v2/clusters"]
    finally:
        state["stop"]()
        thread.join(10)


def test_an_rpc_request_that_expects_100_continue_gets_it_first(cmon: FakeCmon) -> None:
    """RPC requests skip aiohttp's router, except those that wait for ``100 Continue``
    (the router's match sends it): curl sends bodies over 1 KB that way."""
    body = b'{"operation": "ping", "request_id": "' + b"x" * 2000 + b'"}'
    head = (f"POST /v2/clusters HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", cmon.port), timeout=5) as sock:
        with insecure_context().wrap_socket(sock, server_hostname="127.0.0.1") as tls:
            tls.sendall(head)
            assert tls.recv(4096).startswith(b"HTTP/1.1 100 Continue"), "no 100 Continue"
            tls.sendall(body)
            out = b""
            while chunk := tls.recv(65536):
                out += chunk
    reply = parse_reply(out)
    assert reply.json["request_status"] == "AuthRequired"
    assert reply.json["request_id"] == "x" * 2000


def test_every_cluster_of_a_list_counts_one_cache_lookup(cmon: FakeCmon) -> None:
    system = cmon.client("system", "secret")

    def hits() -> int:
        reply = system.call("/v2/clusters", "getClusterInfoCacheStatistics")
        return int(reply["cache_statistics"]["total_hits"])

    system.call("/v2/clusters", "getAllClusterInfo")     # fills the cache
    first = hits()
    total = system.call("/v2/clusters", "getAllClusterInfo")["total"]
    assert total > 1 and hits() == first + total
    cmon.load_yaml("clusters:\n  - cluster_id: 77\n    cluster_name: hot-path\n"
                   "    cluster_type: galera\n")
    listed = system.call("/v2/clusters", "getAllClusterInfo")   # a new world: misses
    assert "hot-path" in [c["cluster_name"] for c in listed["clusters"]]
    assert listed["total"] == total + 1
    before = hits()
    system.call("/v2/clusters", "getAllClusterInfo")
    assert hits() == before + total + 1


@pytest.fixture(scope="module")
def quick() -> Iterator[FakeCmon]:
    with FakeCmon(idle_timeout=IDLE, handshake_timeout=1.5) as server:
        yield server


PING = (b"POST /v2/info HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 21\r\n\r\n{\"operation\": \"ping\"}")


def served(tls: socket.socket) -> bool:
    tls.sendall(PING)
    return b'"Ok"' in tls.recv(65536)


def tls(port: int) -> socket.socket:
    return insecure_context().wrap_socket(socket.create_connection(("127.0.0.1", port)),
                                          server_hostname="127.0.0.1")


def test_each_idle_connection_is_closed_after_its_own_last_request(quick: FakeCmon) -> None:
    first = tls(quick.port)
    assert served(first)
    time.sleep(IDLE / 2)
    second = tls(quick.port)
    assert served(second)
    second_served = time.monotonic()
    assert closed_by_server(first, within=IDLE + 3)
    assert not closed_by_server(second, within=0.05)     # its own deadline is later
    assert closed_by_server(second, within=IDLE + 3)
    assert time.monotonic() - second_served >= IDLE * 0.9
    first.close()
    second.close()


def test_a_connection_that_keeps_asking_is_not_cut(quick: FakeCmon) -> None:
    busy, idle = tls(quick.port), tls(quick.port)
    assert served(busy) and served(idle)
    for _ in range(6):                                   # 3 idle timeouts long
        time.sleep(IDLE / 2)
        assert served(busy)
    assert closed_by_server(idle, within=0.05)
    assert closed_by_server(busy, within=IDLE + 3)
    busy.close()
    idle.close()


def test_a_connection_that_waits_before_its_handshake_is_served(quick: FakeCmon) -> None:
    raw = socket.create_connection(("127.0.0.1", quick.port))
    time.sleep(0.3)                                      # silent first: the gate holds it
    tls = insecure_context().wrap_socket(raw, server_hostname="127.0.0.1")
    assert served(tls)
    tls.close()
    out = exchange(quick.port, s9s_request("/v2/info", {"operation": "ping"}))  # speaks at once
    assert parse_reply(out).json["request_status"] == "Ok"
