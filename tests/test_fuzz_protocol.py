"""Protocol garbage at scale: slow senders, bodies cut short, pipelining, the HTTP/2
preface, TLS records of random bytes, mid-request disconnects, generated HTTP
heads and 10,000 requests on one keep-alive connection. Each is handled at a
bounded cost: the server answers with an envelope (or closes the connection),
other clients are served meanwhile, and it stays up."""

from __future__ import annotations

import random
import socket
import ssl
import threading
import time

import orjson
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from fakecmon.testing import FakeCmon
from tests.fuzzgen import fuzz_seed
from tests.rawtls import exchange, insecure_context, parse_reply

PING = b'{"operation": "ping"}'


def request(body: bytes = PING, path: str = "/v2/info", extra: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"{extra}Content-Length: {len(body)}\r\n\r\n").encode() + body


def tls(port: int, timeout: float = 10.0) -> ssl.SSLSocket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return insecure_context().wrap_socket(sock, server_hostname="127.0.0.1")


def alive(cmon: FakeCmon) -> None:
    assert cmon.client().call("/v2/info", "ping")["request_status"] == "Ok"


class Replies:
    """Reads HTTP/1.1 replies (Content-Length framed) off one connection."""

    def __init__(self, sock: ssl.SSLSocket) -> None:
        self.sock = sock
        self.buffer = b""

    def next(self) -> tuple[int, dict]:
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(1 << 16)
            assert chunk, "connection closed"
            self.buffer += chunk
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")))
        while len(rest) < length:
            chunk = self.sock.recv(1 << 16)
            assert chunk, "connection closed"
            rest += chunk
        self.buffer = rest[length:]
        return int(head.split(b" ", 2)[1]), orjson.loads(rest[:length])


def first_reply(port: int, data: bytes, head_only: bool = False, wait: float = 1.0) -> bytes:
    """The first reply to ``data`` (head and Content-Length body), or what came before
    the server closed; b"" when it waits for more (a body still owed: the idle timeout
    ends that connection)."""
    out = b""
    try:
        with tls(port, timeout=wait) as sock:
            sock.sendall(data)
            while True:
                head, sep, rest = out.partition(b"\r\n\r\n")
                if sep:
                    lengths = [int(v) for k, _, v in (ln.partition(b":") for ln in
                               head.split(b"\r\n")[1:]) if k.strip().lower() ==
                               b"content-length" and v.strip().isdigit()]
                    if head_only or (lengths and len(rest) >= lengths[0]):
                        return out
                chunk = sock.recv(1 << 16)
                if not chunk:
                    return out
                out += chunk
    except (ConnectionError, ssl.SSLError, TimeoutError, socket.timeout):
        return out if b"\r\n\r\n" in out else b""


def assert_envelope_or_closed(raw: bytes) -> None:
    """What a garbage request may get: nothing (closed) or a 4xx JSON envelope."""
    if not raw:
        return
    reply = parse_reply(raw)
    assert 400 <= reply.status < 500, raw[:300]
    assert reply.header("content-type")[0].startswith("application/json"), raw[:300]
    assert reply.json["request_status"] in ("InvalidRequest",), reply.json
    assert reply.header("server")[0].startswith("cmon/")


def test_ten_thousand_requests_on_one_keep_alive_connection(cmon: FakeCmon) -> None:
    with tls(cmon.port) as sock:
        replies = Replies(sock)
        batch = 100
        for start in range(0, 10_000, batch):
            sock.sendall(b"".join(request(orjson.dumps({"operation": "ping",
                                                        "request_id": start + i}))
                                  for i in range(batch)))
            for i in range(batch):
                status, doc = replies.next()
                assert status == 200 and doc["request_id"] == start + i, doc
    assert cmon.run(lambda c: c.journal.total) >= 10_000
    alive(cmon)


def test_pipelined_requests_are_answered_in_order(cmon: FakeCmon) -> None:
    ops = ["ping", "nosuchop", "ping", "getAllClusterInfo"]
    with tls(cmon.port) as sock:
        sock.sendall(b"".join(request(orjson.dumps({"operation": op, "request_id": i}),
                                      path="/v2/clusters" if i else "/v2/info")
                              for i, op in enumerate(ops)))
        replies = Replies(sock)
        got = [replies.next() for _ in ops]
    assert [doc["request_id"] for _, doc in got] == list(range(len(ops)))
    assert [doc["request_status"] for _, doc in got] == [
        "Ok", "InvalidRequest", "AuthRequired", "AuthRequired"]
    assert [status for status, _ in got] == [200, 200, 401, 401]


def test_the_http2_preface_gets_an_envelope(cmon: FakeCmon) -> None:
    raw = exchange(cmon.port, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    assert_envelope_or_closed(raw)
    assert b"HTTP/2" in raw
    alive(cmon)


def test_a_slow_sender_is_served_and_delays_nobody(cmon: FakeCmon) -> None:
    data = request()
    out: list[bytes] = []

    def slow() -> None:
        with tls(cmon.port) as sock:
            for i in range(len(data)):
                sock.sendall(data[i:i + 1])
                time.sleep(0.01)
            out.append(Replies(sock).next()[1]["request_status"].encode())

    worker = threading.Thread(target=slow)
    worker.start()
    served = 0
    while worker.is_alive():
        alive(cmon)
        served += 1
    worker.join()
    assert out == [b"Ok"]
    assert served >= 3


def test_mid_request_disconnects_leave_nothing_behind(cmon: FakeCmon) -> None:
    whole = request(orjson.dumps({"operation": "createUser", "new_password": "x" * 20,
                                  "user": {"user_name": "halfway"}}), path="/v2/users")
    rng = random.Random(fuzz_seed())
    for _ in range(60):
        cut = rng.randrange(1, len(whole))
        with tls(cmon.port) as sock:
            sock.sendall(whole[:cut])
        # and some that vanish without a TLS goodbye
        raw = socket.create_connection(("127.0.0.1", cmon.port))
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        wrapped = insecure_context().wrap_socket(raw, server_hostname="127.0.0.1")
        wrapped.sendall(whole[:cut])
        wrapped.close()
    alive(cmon)
    system = cmon.client("system", "secret")
    users = system.call("/v2/users", "getUsers")["users"]
    assert "halfway" not in {u["user_name"] for u in users}


def test_bodies_short_of_their_length_and_closed(cmon: FakeCmon) -> None:
    for body in (b"{", b'{"operation": "ping"', b""):
        data = (b"POST /v2/info HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n" + body)
        with tls(cmon.port) as sock:
            sock.sendall(data)
        alive(cmon)


@seed(fuzz_seed())
@settings(max_examples=80, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.binary(min_size=1, max_size=600))
def test_tls_records_of_random_bytes(fakecmon_server: FakeCmon, data: bytes) -> None:
    """Raw bytes where a TLS ClientHello should be, some framed as TLS records."""
    for payload in (data, b"\x16\x03\x01" + len(data).to_bytes(2, "big") + data,
                    b"\x17\x03\x03" + len(data).to_bytes(2, "big") + data):
        with socket.create_connection(("127.0.0.1", fakecmon_server.port), timeout=5) as sock:
            try:
                sock.sendall(payload)
                sock.shutdown(socket.SHUT_WR)     # nothing more is coming: no waiting
                sock.settimeout(5)
                while sock.recv(4096):
                    pass
            except (ConnectionError, TimeoutError, socket.timeout):
                pass
    alive(fakecmon_server)


http_token = st.text(st.sampled_from("GETPOSTHEADOPTIONSPUTDELETEPATCHTRACE abc/?%\x00\xff\t"),
                     max_size=12)
head_line = st.one_of(
    st.builds(lambda k, v: f"{k}: {v}", st.sampled_from(
        ["Content-Length", "Transfer-Encoding", "Host", "Cookie", "Content-Type", "Expect",
         "Connection", "Upgrade", "X"]),
        st.one_of(st.sampled_from(["-1", "99999999999999999999", "chunked", "identity",
                                   "gzip, chunked", "100-continue", "close", "h2c",
                                   "cmon-sid=" + "A" * 100, "0", " 5", "5 5"]),
                  st.text(max_size=20))),
    st.text(max_size=40))


@seed(fuzz_seed())
@settings(max_examples=100, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(method=st.one_of(st.sampled_from(["POST", "GET", "HEAD", "PUT", "OPTIONS", "PRI"]),
                        http_token),
       path=st.one_of(st.sampled_from(["/v2/info", "/v2/clusters", "/v2", "*", "/../..",
                                       "/v2/%00", "http://x/v2/info", "/_fakecmon/status"]),
                      st.text(max_size=30)),
       version=st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "HTTP/1.2",
                                "HTTPS/1.1", ""]),
       lines=st.lists(head_line, max_size=6),
       body=st.one_of(st.just(PING), st.binary(max_size=200)))
def test_generated_http_heads(fakecmon_server: FakeCmon, method: str, path: str, version: str,
                              lines: list[str], body: bytes) -> None:
    head = "\r\n".join([f"{method} {path} {version}".strip(), *lines])
    data = head.encode("utf-8", "surrogateescape") + b"\r\n\r\n" + body
    raw = first_reply(fakecmon_server.port, data, head_only=method.upper() == "HEAD")
    if raw:
        reply = parse_reply(raw)
        assert reply.status != 500, raw[:300]
        if reply.body:
            ctype = (reply.header("content-type") or [""])[0]
            if method.upper() != "HEAD":
                assert ctype.startswith("application/json"), raw[:300]
                assert isinstance(orjson.loads(reply.body), dict)
    alive(fakecmon_server)
