"""The reply envelope, unknown operations and bad input: always an envelope, never a traceback."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from fakecmon.errors import RpcError
from fakecmon.rpc import OPERATIONS, operation
from fakecmon.testing import FakeCmon
from fakecmon.timefmt import parse_time
from rawtls import exchange, parse_reply, post_bytes

RFC3339_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
ENVELOPE = {"controller_id", "request_processed", "request_status"}


def check_envelope(doc: dict) -> None:
    assert ENVELOPE <= set(doc), doc
    assert isinstance(doc["controller_id"], str) and doc["controller_id"]
    assert RFC3339_MS.fullmatch(doc["request_processed"]), doc["request_processed"]
    assert "reply_received" not in doc


# ---- envelope fields

def test_envelope_before_login(cmon):
    doc = cmon.client().post("/v2/info", {"operation": "ping"}).json
    check_envelope(doc)
    assert doc["request_status"] == "Ok"
    assert "request_id" not in doc and "request_created" not in doc
    assert "request_user_id" not in doc and "debug_messages" not in doc


def test_envelope_echoes_request_id_and_created(system):
    doc = system.post("/v2/clusters", {"operation": "getAllClusterInfo", "request_id": 77,
                                       "request_created": "2021-02-09T09:24:47.552Z"}).json
    check_envelope(doc)
    assert doc["request_id"] == 77 and doc["request_created"] == "2021-02-09T09:24:47.552Z"
    assert doc["request_user_id"] == 1
    assert doc["debug_messages"] == ["RPC V2 authenticated user is 'system'."]
    assert doc["total"] == len(doc["clusters"])


def test_controller_id_is_stable(cmon, system):
    ids = {system.call("/v2/clusters", "getAllClusterInfo")["controller_id"],
           cmon.client().call("/v2/info", "ping")["controller_id"],
           system.call("/v2/clusters", "nosuchop")["controller_id"]}
    cmon.reset()
    ids.add(cmon.client().call("/v2/info", "ping")["controller_id"])
    assert ids == {cmon.controller_id}


def test_request_processed_follows_the_controller_clock(cmon):
    before = cmon.client().call("/v2/info", "ping")["request_processed"]
    cmon.advance(86400 * 400)
    after = cmon.client().call("/v2/info", "ping")["request_processed"]
    gap = parse_time(after) - parse_time(before)
    assert 86400 * 400 <= gap < 86400 * 400 + 60


def test_errors_carry_error_string_and_login_fields(system):
    doc = system.call("/v2/clusters", "getClusterInfo", cluster_id=999)
    check_envelope(doc)
    assert doc["request_status"] == "InvalidRequest"
    assert doc["error_string"] == "Cluster was not found."
    assert doc["request_user_id"] == 1 and doc["debug_messages"]


def test_unknown_operation_worded_as_cmon(system):
    doc = system.post("/v2/clusters", {"operation": "noSuchThing"}).json
    check_envelope(doc)
    assert doc["request_status"] == "InvalidRequest"
    assert doc["error_string"] == "Invalid operation 'noSuchThing' on '/v2/clusters'."
    assert doc["request_operation"] == "noSuchThing"
    assert doc["request_path"] == ["v2", "clusters"]


def test_unknown_operation_without_login(cmon):
    reply = cmon.client().post("/v2/clusters/", {"operation": "frobnicate"})
    assert reply.status == 200
    assert reply.json["request_status"] == "InvalidRequest"
    assert reply.json["request_path"] == ["v2", "clusters"]


def test_empty_operation_on_bare_v2(cmon):
    doc = cmon.client().post("/v2", {}).json
    assert {k for k in doc} == ENVELOPE | {"error_string", "request_operation", "request_path"}
    assert doc["error_string"] == "Invalid operation '' on '/v2/info'."
    assert doc["request_path"] == ["v2"] and doc["request_operation"] == ""


def test_unknown_auth_operation(cmon):
    doc = cmon.client().post("/v2/auth", {"operation": "frobnicate"}).json
    assert doc["request_status"] == "InvalidRequest"
    assert doc["error_string"] == "Unexpected request 'frobnicate' in state ''"


# ---- bad input: InvalidRequest with a clear error_string, and the server serves on

BAD_BODIES = {
    "malformed": (b'{"operation": "getAllClusterInfo",', "not valid JSON"),
    "garbage": (b"operation=getAllClusterInfo", "not valid JSON"),
    "array": (b'[{"operation": "getAllClusterInfo"}]', "must be a JSON object, not an array"),
    "string": (b'"getAllClusterInfo"', "must be a JSON object, not a string"),
    "number": (b"42", "must be a JSON object"),
    "null": (b"null", "must be a JSON object"),
    "operation-number": (b'{"operation": 5}', "'operation' field must be a string"),
    "invalid-utf8": (b'\xff\xfe{"operation"', "not valid JSON"),
    "deep-array": (b"[" * 100_000, "not valid JSON"),
    "deep-inside-object": (b'{"operation": "getAllClusterInfo", "x": ' + b"[" * 5000 + b"]" * 5000
                           + b"}", "not valid JSON"),
    "huge-integer": (b'{"operation": "getAllClusterInfo", "x": 1' + b"0" * 6000 + b"}",
                     "not valid JSON"),
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_bad_bodies(system, name):
    body, words = BAD_BODIES[name]
    reply = system.post("/v2/clusters", body)
    assert reply.status == 200
    doc = reply.json
    check_envelope(doc)
    assert doc["request_status"] == "InvalidRequest"
    assert words in doc["error_string"]
    assert "Traceback" not in doc["error_string"]
    assert system.call("/v2/clusters", "getAllClusterInfo")["request_status"] == "Ok"


@pytest.mark.parametrize("fields, words", [
    ({"cluster_id": "abc"}, "'cluster_id' field must be an integer, not a string"),
    ({"cluster_id": "²"}, "'cluster_id' field must be an integer"),
    ({"cluster_id": "9" * 5000}, "'cluster_id' field must be an integer"),
    ({"cluster_id": True}, "'cluster_id' field must be an integer, not a boolean"),
    ({"cluster_id": 1.5}, "'cluster_id' field must be an integer, not a number"),
    ({"cluster_id": [1]}, "'cluster_id' field must be an integer, not a list"),
    ({"cluster_id": 1, "with_hosts": {}}, "'with_hosts' field must be a boolean, not an object"),
    ({"cluster_id": 1, "with_hosts": "maybe"}, "'with_hosts' field must be a boolean"),
    ({"cluster_name": 7}, "'cluster_name' field must be a string"),
])
def test_wrong_field_types(system, fields, words):
    doc = system.call("/v2/clusters", "getClusterInfo", **fields)
    assert doc["request_status"] == "InvalidRequest"
    assert words in doc["error_string"], doc["error_string"]


@pytest.mark.parametrize("fields", [{"cluster_id": "21"}, {"cluster_id": 21.0},
                                    {"cluster_id": 21, "with_hosts": "false"},
                                    {"cluster_id": 21, "with_hosts": 0}])
def test_lenient_numbers_and_booleans(system, fields):
    doc = system.call("/v2/clusters", "getClusterInfo", **fields)
    assert doc["request_status"] == "Ok", doc
    assert doc["cluster"]["cluster_id"] == 21
    assert ("hosts" in doc["cluster"]) is (fields.get("with_hosts", True) not in ("false", 0))


def test_nan_infinity_and_raw_control_characters_pass(system):
    """s9s writes NaN/Infinity and sends control characters raw (s9s.md §3)."""
    body = (b'{\n    "operation": "getAllClusterInfo",\n    "ratio": NaN,\n    "big": Infinity,\n'
            b'    "note": "tab\there \x01 and bell \x07",\n    "request_id": 3\n}')
    doc = system.post("/v2/clusters/", body).json
    assert doc["request_status"] == "Ok", doc
    assert doc["request_id"] == 3


def test_empty_body_is_an_empty_request(cmon):
    doc = cmon.client().post("/v2/clusters", b"").json
    assert doc["request_status"] == "InvalidRequest"
    assert doc["error_string"] == "Invalid operation '' on '/v2/clusters'."


@pytest.fixture(scope="module")
def small_limit() -> Iterator[FakeCmon]:
    with FakeCmon(max_body_size=1024) as cmon:
        yield cmon


def test_body_over_the_limit(small_limit):
    body = b'{"operation": "ping", "pad": "' + b"x" * 2000 + b'"}'
    reply = small_limit.client().post("/v2/info", body)
    assert reply.status == 413
    doc = reply.json
    check_envelope(doc)
    assert doc["request_status"] == "InvalidRequest"
    assert "too large" in doc["error_string"] and "1024" in doc["error_string"]
    assert small_limit.client().call("/v2/info", "ping")["request_status"] == "Ok"


def test_body_just_under_the_limit(small_limit):
    body = b'{"operation": "ping", "pad": "' + b"x" * 900 + b'"}'
    assert small_limit.client().post("/v2/info", body).json["request_status"] == "Ok"


def test_default_limit_is_8_mib(cmon):
    limit = 8 * 1024 * 1024
    head = b"x" * (limit - 40)
    body = b'{"operation": "ping", "pad": "' + head + b'"}'
    body += b" " * (limit - len(body))                       # exactly 8 MiB: served
    assert len(body) == limit
    assert cmon.client().post("/v2/info", body).json["request_status"] == "Ok"
    reply = cmon.client().post("/v2/info", body + b" ")       # one byte more: refused
    assert reply.status == 413 and reply.json["request_status"] == "InvalidRequest"
    assert reply.json["error_string"] == ("The request body is too large (8388609 bytes); "
                                          "the limit is 8388608 bytes.")


def test_chunked_body_over_the_limit(small_limit):
    data = b'{"operation": "ping", "pad": "' + b"x" * 3000 + b'"}'
    raw = exchange(small_limit.port, [
        b"POST /v2/info HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n",
        b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)])
    reply = parse_reply(raw)
    assert reply.status == 413
    assert reply.json["request_status"] == "InvalidRequest"
    assert "too large" in reply.json["error_string"]
    assert small_limit.client().call("/v2/info", "ping")["request_status"] == "Ok"


def test_raw_http10_bad_json_over_tls(cmon):
    reply = parse_reply(exchange(cmon.port, post_bytes("/v2/clusters/", b"{nope")))
    assert reply.status == 200
    assert reply.json["request_status"] == "InvalidRequest"
    assert reply.header("Content-Type")[0].startswith("application/json")


# ---- a bug in a handler still answers with an envelope

@pytest.fixture
def broken_operation() -> Iterator[str]:
    path = "/v2/fakecmon-test-broken"

    @operation(path, "boom", login=False)
    def boom(call):  # noqa: ANN001, ANN202 - a deliberately broken handler
        raise KeyError("deliberate")

    @operation(path, "refuse", login=False)
    def refuse(call):  # noqa: ANN001, ANN202
        raise RpcError("TryAgain", "Come back later.", retry_after=5)

    yield path
    OPERATIONS.pop(path, None)


def test_internal_error_is_an_envelope_without_traceback(cmon, broken_operation):
    reply = cmon.client().post(broken_operation, {"operation": "boom", "request_id": 9})
    assert reply.status == 500
    doc = reply.json
    check_envelope(doc)
    assert doc["request_status"] == "UnknownError" and doc["request_id"] == 9
    assert "Traceback" not in reply.body.decode() and "deliberate" not in reply.body.decode()
    assert cmon.client().call("/v2/info", "ping")["request_status"] == "Ok"


def test_error_extra_fields(cmon, broken_operation):
    doc = cmon.client().call(broken_operation, "refuse")
    assert doc["request_status"] == "TryAgain" and doc["error_string"] == "Come back later."
    assert doc["retry_after"] == 5
