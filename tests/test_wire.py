"""Wire compatibility with the real clients (contract/clients): exact request bytes over TLS."""

from __future__ import annotations

import http.client
import re
import socket
from collections.abc import Iterator

import orjson
import pytest

from fakecmon.testing import FakeCmon
from rawtls import exchange, insecure_context, parse_reply, post_bytes, s9s_request
from worldfile import worlds

S9S_COOKIE = re.compile(rb"Set-Cookie: ([^=]*)=([^,;\r\n]*)", re.IGNORECASE)  # s9s.md §4
S9S_SERVER = re.compile(rb"Server: ([^\r\n]*)")


def s9s_login(cmon: FakeCmon, user: str = "system", password: str = "secret") -> str:
    raw = exchange(cmon.port, s9s_request("/v2/auth", {
        "operation": "authenticateWithPassword", "user_name": user, "password": password,
        "request_created": "2021-02-09T09:24:47.552Z", "request_id": 1}))
    cookies = S9S_COOKIE.findall(raw)
    assert len(cookies) == 1 and cookies[0][0] == b"cmon-sid", raw[:400]
    return cookies[0][1].decode()


def test_s9s_exact_bytes_get_a_normal_reply(cmon):
    sid = s9s_login(cmon)
    raw = exchange(cmon.port, s9s_request("/v2/clusters/", {
        "all_pool": False, "class_name": "CmonRpcRequest", "operation": "getAllClusterInfo",
        "request_created": "2021-02-09T09:24:47.552Z", "request_id": 2,
        "with_containers": False, "with_databases": False, "with_hosts": True,
        "with_sheet_info": True}, cookie=sid))
    # exchange() returned, so the server closed the connection after the reply (s9s reads to EOF)
    reply = parse_reply(raw)
    assert reply.status == 200 and reply.status_line.startswith("HTTP/1.0 ")
    assert reply.header("Content-Length") == [str(len(reply.body))]
    assert not reply.header("Transfer-Encoding")
    assert S9S_SERVER.findall(reply.head) == [b"cmon/2.3.1"]
    doc = reply.json
    assert doc["request_status"] == "Ok"
    assert doc["request_id"] == 2 and doc["request_created"] == "2021-02-09T09:24:47.552Z"
    assert doc["total"] == len(doc["clusters"]) >= 6
    assert all("hosts" in c for c in doc["clusters"])


def test_s9s_head_split_over_many_tls_records(cmon):
    data = s9s_request("/v2/info/", {"operation": "ping", "request_id": 1})
    pieces = [data[i:i + 5] for i in range(0, len(data), 5)]
    reply = parse_reply(exchange(cmon.port, pieces))
    assert reply.json["request_status"] == "Ok"
    assert reply.json["authenticated"] is False


def test_s9s_bootstrap_empty_request_reads_server_header(cmon):
    """s9s.md §6.5: an empty /v2/auth request only to read the Server header."""
    raw = exchange(cmon.port, s9s_request("/v2/auth", {"request_created": "2021-02-09T10:03:44.018Z",
                                                       "request_id": 1}))
    assert S9S_SERVER.findall(raw) == [b"cmon/2.3.1"]
    doc = parse_reply(raw).json
    assert doc["request_status"] == "InvalidRequest"
    assert doc["error_string"] == "Unexpected request '' in state ''"


def test_http10_without_connection_header_is_closed(cmon):
    raw = exchange(cmon.port, post_bytes("/v2/info", b'{"operation": "ping"}'))
    assert parse_reply(raw).json["request_status"] == "Ok"


@pytest.mark.parametrize("path", ["/v2/info", "/_fakecmon/health", "/index.html"])
def test_http10_asking_for_keep_alive_is_closed_too(cmon, path):
    """CMON closes after every HTTP/1.0 reply; exchange() times out if the server keeps
    the connection open."""
    raw = exchange(cmon.port, post_bytes(path, b'{"operation": "ping"}',
                                         {"Connection": "keep-alive"}), timeout=2)
    reply = parse_reply(raw)
    assert reply.status_line.startswith("HTTP/1.0 ")
    assert reply.header("Connection") in ([], ["close"])
    assert reply.header("Content-Length") == [str(len(reply.body))]


@pytest.mark.parametrize("path", ["/v2/clusters", "/v2/clusters/", "/v2/clusters//"])
def test_trailing_slash_or_not(system, path):
    reply = system.post(path, {"operation": "getAllClusterInfo"})
    assert reply.status == 200 and reply.json["request_status"] == "Ok"


@pytest.mark.parametrize("path", ["/v2/auth", "/v2/auth/"])
def test_auth_path_with_and_without_slash(cmon, path):
    reply = cmon.client().post(path, {"operation": "authenticateWithPassword",
                                      "user_name": "system", "password": "secret"})
    assert reply.json["request_status"] == "Ok"


@pytest.mark.parametrize("name", ["getAllClusterInfo", "getallclusterinfo", "GETALLCLUSTERINFO"])
def test_operation_names_match_case_insensitively(system, name):
    assert system.call("/v2/clusters", name)["request_status"] == "Ok"


def test_go_client_expect_continue_no_content_type_cookie_with_attributes(cmon, system):
    """cmon-proxy (go-clients.md §1, §2.1): HTTP/1.1, Expect: 100-continue, body at once,
    no Content-Type, Cookie with the attributes of the Set-Cookie."""
    body = b'{"operation":"getAllClusterInfo","with_license_check":true}'
    raw = exchange(cmon.port, post_bytes("/v2/clusters", body, {
        "User-Agent": "Go-http-client/1.1", "Expect": "100-continue",
        "Cookie": f"cmon-sid={system.sid}; Path=/; HttpOnly", "Accept-Encoding": "gzip",
    }, version="1.1"))
    reply = parse_reply(raw)
    assert reply.status == 200
    assert reply.header("Content-Length") == [str(len(reply.body))]
    doc = reply.json
    assert doc["request_status"] == "Ok" and doc["request_user_id"] == 1
    assert doc["license"]["days_left"] > 0 and doc["license_check"]["has_license"] is True


def test_go_client_over_http_client(cmon, system):
    """The same through a real HTTP/1.1 client that handles 100 Continue itself."""
    conn = http.client.HTTPSConnection("127.0.0.1", cmon.port, context=insecure_context(), timeout=5)
    try:
        conn.putrequest("POST", "/v2/users", skip_accept_encoding=True)
        body = b'{"operation":"whoAmI"}'
        for k, v in (("Expect", "100-continue"), ("Content-Length", str(len(body))),
                     ("Cookie", f"cmon-sid={system.sid}; Path=/; HttpOnly")):
            conn.putheader(k, v)
        conn.endheaders(body)
        resp = conn.getresponse()
        doc = orjson.loads(resp.read())
    finally:
        conn.close()
    assert resp.status == 200 and doc["user"]["user_name"] == "system"


@pytest.mark.parametrize("cookie", [
    "cmon-sid={sid}",
    "cmon-sid={sid}; Path=/; HttpOnly",
    "cmon-sid={sid}; Path=/; HttpOnly; Secure",          # Python SDK: Set-Cookie value verbatim
    "a=1; cmon-sid={sid}; z=2",                          # s9s: every cookie, sorted by name
    'cmon-sid="{sid}"',
])
def test_cookie_header_variants(cmon, system, cookie):
    client = cmon.client()
    reply = client.post("/v2/users", {"operation": "whoAmI"},
                        headers={"Cookie": cookie.format(sid=system.sid)})
    assert reply.json["request_status"] == "Ok", reply.json
    assert reply.json["user"]["user_name"] == "system"


def test_set_cookie_exactly_once_with_attributes_and_random_id(cmon):
    sids = set()
    for _ in range(3):
        reply = cmon.client().post("/v2/auth", {"operation": "authenticateWithPassword",
                                                "user_name": "system", "password": "secret"})
        cookies = reply.headers.get("set-cookie", [])
        assert len(cookies) == 1
        m = re.fullmatch(r"cmon-sid=([0-9a-f]+); Path=/; HttpOnly; Secure", cookies[0])
        assert m, cookies[0]
        assert len(m.group(1)) * 4 >= 128
        sids.add(m.group(1))
    assert len(sids) == 3


def test_no_cookie_on_ordinary_replies(system):
    reply = system.post("/v2/clusters", {"operation": "getAllClusterInfo"})
    assert "set-cookie" not in reply.headers


def test_reply_headers(system):
    reply = system.post("/v2/clusters", {"operation": "getAllClusterInfo"})
    assert reply.header("server") == "cmon/2.3.1"
    assert reply.header("content-length") == str(len(reply.body))
    assert reply.header("transfer-encoding") is None
    assert reply.header("content-type").startswith("application/json")


def test_http11_keep_alive_serves_several_requests(cmon):
    """Python and Go clients reuse connections: the s9s fix must not break the second request."""
    conn = http.client.HTTPSConnection("127.0.0.1", cmon.port, context=insecure_context(), timeout=5)
    try:
        for op in ("ping", "PING", "ping"):
            conn.request("POST", "/v2/info", body=f'{{"operation": "{op}"}}')
            resp = conn.getresponse()
            assert b'"request_status":"Ok"' in resp.read()
    finally:
        conn.close()


def test_plain_http_to_tls_port_is_refused_and_server_keeps_serving(cmon):
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", cmon.port), timeout=5) as sock:
            sock.sendall(b"POST /v2/clusters HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}")
            got = b""
            try:
                while chunk := sock.recv(4096):
                    got += chunk
            except ConnectionResetError:
                pass
        assert b"HTTP/" not in got and b"request_status" not in got
    assert cmon.client().call("/v2/info", "ping")["request_status"] == "Ok"


def test_path_outside_v2_gets_an_envelope(cmon):
    reply = cmon.client().post("/index.html", {"operation": "ping"})
    assert reply.status == 404
    assert reply.json["request_status"] == "InvalidRequest" and reply.json["error_string"]
    assert reply.header("server") == "cmon/2.3.1"


def test_s9s_path_prefix_is_not_served(cmon):
    """s9s --controller=https://host:9501/prefix posts to /prefix/v2/auth; CMON has no prefix."""
    reply = cmon.client().post("/some/prefix/v2/auth", {"operation": "authenticateWithPassword"})
    assert reply.status == 404 and reply.json["request_status"] == "InvalidRequest"


# ---- raw UTF-8 out, never \u escapes (s9s does not decode them)

@pytest.fixture(scope="module")
def unicode_cmon(tmp_path_factory) -> Iterator[FakeCmon]:
    doc = {
        "users": [{"user_name": "jürgen", "password": "pässwörd", "groups": ["admins"],
                   "first_name": "Jürgen", "last_name": "Çelik", "email_address": "jü@example.com"}],
        "clusters": [{"cluster_id": 40, "cluster_name": "café-prod", "cluster_type": "galera",
                      "tags": ["日本"], "hosts": [{"hostname": "10.9.9.1"}]}],
    }
    with FakeCmon(world=worlds(tmp_path_factory.mktemp("unicode"), doc)) as cmon:
        yield cmon


def test_non_ascii_names_in_and_out_as_raw_utf8(unicode_cmon):
    raw = exchange(unicode_cmon.port, s9s_request("/v2/auth", {
        "operation": "authenticateWithPassword", "user_name": "jürgen", "password": "pässwörd"}))
    reply = parse_reply(raw)
    assert reply.json["request_status"] == "Ok", reply.json
    assert "Jürgen".encode() in reply.body and "Çelik".encode() in reply.body
    assert b"\\u" not in reply.body
    sid = S9S_COOKIE.findall(raw)[0][1].decode()
    raw = exchange(unicode_cmon.port, s9s_request("/v2/clusters/", {
        "operation": "getClusterInfo", "cluster_name": "café-prod", "request_id": 2}, cookie=sid))
    reply = parse_reply(raw)
    assert reply.json["cluster"]["cluster_name"] == "café-prod"
    assert "café-prod".encode() in reply.body and "日本".encode() in reply.body
    assert b"\\u" not in reply.body
    assert reply.header("Content-Length") == [str(len(reply.body))]


@pytest.mark.parametrize("header", ["Transfer-Encoding: identity", "transfer-encoding:identity",
                                    "TRANSFER-ENCODING:  Identity\t"])
def test_identity_encoding_spellings(cmon, header):
    data = s9s_request("/v2/info/", {"operation": "ping"}).replace(
        b"Transfer-Encoding: identity", header.encode())
    reply = parse_reply(exchange(cmon.port, data))
    assert reply.status == 200 and reply.json["request_status"] == "Ok"


def test_identity_encoding_with_body_in_the_same_record_as_the_head(cmon):
    """The filter must hand the body after the rewritten head to the parser untouched."""
    data = s9s_request("/v2/auth", {"operation": "authenticateWithPassword",
                                    "user_name": "readeruser", "password": "s3cr3tP455"})
    reply = parse_reply(exchange(cmon.port, [data[:-10], data[-10:]]))
    assert reply.json["request_status"] == "Ok" and reply.json["user"]["user_id"] == 5
