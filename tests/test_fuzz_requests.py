"""Generated requests for every operation (hypothesis, seeded), sent over TLS to the
real server as every user of the default world and as nobody.

Budget: ``FAKECMON_FUZZ_BUDGET`` requests in all (default ``fuzzgen.DEFAULT_BUDGET``,
spread over the operations); ``FAKECMON_FUZZ_SEED`` picks the seed; bench/fuzz.py
runs the long budget. Every reply passes ``fuzzgen.check_reply``; after each
operation's requests the server still answers and the world's invariants hold.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from fakecmon.testing import FakeCmon
from tests.fuzzgen import (OpSpec, Pools, Wire, budget, check_reply, fuzz_seed,
                           operation_specs, request_body)
from tests.invariants import Checker

SPECS = operation_specs()
PER_OPERATION = max(5, -(-budget() // len(SPECS)))     # at least the budget in all
COUNTS: dict[str, Any] = {"requests": 0, "operations": 0, "invariant_checks": 0,
                          "statuses": {}, "ok_operations": 0}


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    """Writes the counts to ``FAKECMON_FUZZ_REPORT`` (bench/fuzz.py reads them)."""
    yield
    path = os.environ.get("FAKECMON_FUZZ_REPORT")
    if path:
        with open(path, "ab") as out:
            out.write(orjson.dumps({**COUNTS, "per_operation": PER_OPERATION,
                                    "seed": fuzz_seed(), "pid": os.getpid()}) + b"\n")


def sessions_of(cmon: FakeCmon) -> dict[str, str | None]:
    """A live session for every user who may log in, made in-process; and nobody."""
    def make(c: Any) -> dict[str, str | None]:
        out: dict[str, str | None] = {"(anonymous)": None}
        for user in c.world.users.values():
            session = c.sessions.create()
            session.user_id = user.user_id
            out[user.user_name] = session.sid
        return out
    return cmon.run(make)


def test_every_operation_has_a_contract() -> None:
    assert len(SPECS) >= 150
    assert all(spec.fields for spec in SPECS)


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_generated_requests(cmon: FakeCmon, spec: OpSpec) -> None:
    pools = cmon.run(lambda c: Pools.of(c.world))
    sessions = sessions_of(cmon)
    wire = Wire(cmon.port)
    auth_status = cmon.config.auth_required_http_status
    statuses: dict[str, int] = {}

    @seed(fuzz_seed())
    @settings(max_examples=PER_OPERATION, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(who=st.sampled_from(sorted(sessions)), body=request_body(spec.fields, pools),
           request_id=st.integers(1, 2**31))
    def one(who: str, body: dict[str, Any], request_id: int) -> None:
        body = {**body, "operation": spec.name, "request_id": request_id}
        status, ctype, raw = wire.post(who, spec.path, body, sessions[who])
        doc = check_reply(status, ctype, raw, body, auth_status)
        statuses[doc["request_status"]] = statuses.get(doc["request_status"], 0) + 1

    checker = Checker(cmon)
    checker.ids_only_grow()
    try:
        one()
    finally:
        COUNTS["requests"] += wire.sent
        wire.close()
    COUNTS["operations"] += 1
    COUNTS["ok_operations"] += bool(statuses.get("Ok"))
    for name, n in statuses.items():
        COUNTS["statuses"][name] = COUNTS["statuses"].get(name, 0) + n
    assert cmon.client().call("/v2/info", "ping")["request_status"] == "Ok"
    checker.ids_only_grow()
    checker.no_orphans()
    checker.visibility_agrees()
    COUNTS["invariant_checks"] += checker.checks


@pytest.mark.parametrize("status, ctype, raw, why", [
    (500, "application/json", b'{"request_status": "UnknownError"}', "HTTP 500"),
    (200, "text/plain", b"Internal Server Error", "text/plain"),
    (200, "application/json", b'{"request_status": "Fine", "controller_id": "x",'
                              b' "request_processed": "t"}', "request_status"),
    (200, "application/json", b'{"request_status": "UnknownError", "controller_id": "x",'
                              b' "request_processed": "t", "error_string":'
                              b' "Internal error in fakecmon; see its log."}', "Internal"),
    (200, "application/json", b'{"request_status": "AuthRequired", "controller_id": "x",'
                              b' "request_processed": "t"}', "HTTP 200 for AuthRequired"),
    (200, "application/json", b'{"request_status": "Ok", "controller_id": "x",'
                              b' "request_processed": "t", "request_id": 2}', "request_id"),
])
def test_the_oracle_rejects_what_it_must(status: int, ctype: str, raw: bytes, why: str) -> None:
    """The oracle can fail: each of these breaks one rule."""
    with pytest.raises(AssertionError) as exc:
        check_reply(status, ctype, raw, {"request_id": 1})
    assert exc.value.args, why
    ok = b'{"request_status": "Ok", "controller_id": "x", "request_processed": "t",' \
         b' "request_id": 1}'
    assert check_reply(200, "application/json", ok, {"request_id": 1})["request_status"] == "Ok"


def test_regression_an_integer_past_64_bits_is_refused_and_never_poisons_replies(
        cmon: FakeCmon) -> None:
    """Shrunk by the long fuzz: setmaxclusterscapacity kept max_clusters = 2**64, and
    every later reply showing it failed to serialise (HTTP 500)."""
    admin = cmon.client("admin", "admin")
    for value in (2**64, 10**30, "18446744073709551616", "-9223372036854775809", 1e300):
        reply = admin.post("/v2/poolcontrollers", json.dumps({
            "operation": "setmaxclusterscapacity", "max_clusters": value}).encode()).json
        assert reply["request_status"] == "InvalidRequest", reply
        assert "out of range" in reply["error_string"]
    listed = admin.call("/v2/poolcontrollers", "listControllers")
    assert listed["request_status"] in ("Ok", "AccessDenied")


def test_a_reply_with_a_huge_integer_still_serialises() -> None:
    from fakecmon.server import dumps
    assert dumps({"n": 2**70}) == b'{"n": 1180591620717411303424}'
