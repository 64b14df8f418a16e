"""The request contract (fakecmon/contract.py): read from the handlers, checked per request."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from fakecmon.contract import (
    JSON_TYPES, check, check_job, common_fields, contract_for, job_commands, request_contracts,
)
from fakecmon.client import RpcClient
from fakecmon.rpc import OPERATIONS

pytest_plugins = ["pytester"]


def test_every_operation_has_a_contract_keyed_by_short_path_and_lower_name():
    contracts = request_contracts()
    registered = {(p.removeprefix("/v2/"), lower) for p, ops in OPERATIONS.items() for lower in ops}
    assert set(contracts) == registered
    for (path, lower), c in contracts.items():
        assert c.path == path and c.name.lower() == lower
        for f in c.fields:
            assert f.type in JSON_TYPES and isinstance(f.required, bool)


def test_fields_types_and_required_come_from_the_handlers():
    ping = contract_for("/v2/clusters", "ping")
    assert {f.name: f.type for f in ping.fields} == {"cluster_id": "integer",
                                                     "cluster_name": "string"}
    paging = contract_for("jobs", "getJobInstances")
    assert paging.field("limit").type == "integer" and not paging.field("limit").required
    create = contract_for("jobs", "createJobInstance")
    job = create.field("job")
    assert job.type == "object" and job.required
    assert {"job_spec", "title"} <= {f.name for f in job.fields}
    user = contract_for("users", "createUser").field("user")
    assert user.required and user.child("user_name").type == "string"
    assert {f.name for f in common_fields()} >= {"operation", "request_id", "request_created"}


def test_job_commands_and_their_job_data_keys():
    jobs = job_commands()
    assert "backup" in jobs and "create_cluster" in jobs and "backups" not in jobs
    assert {"backup_method", "backupdir", "hostname"} <= set(jobs["backup"].keys)
    assert not jobs["backup"].open
    assert check_job("backups", {})[0] == "unknown job command 'backups' (did you mean 'backup'?)"
    assert check_job("backup", {"backup_metod": "x"}) == [
        "unknown job_data key 'backup_metod' for command 'backup' (did you mean 'backup_method'?)"]


@pytest.mark.parametrize("body, finding", [
    ({"clusterid": 1}, "unknown field 'clusterid' (did you mean 'cluster_id'?)"),
    ({"cluster_id": "one"}, "'cluster_id' must be an integer, got string"),
    ({"limit": "10"}, "'limit' must be an integer, got string"),
    ({"job": {"title": "t", "job_spec": {"command": "backups"}}},
     "unknown job command 'backups' (did you mean 'backup'?)"),
    ({"job": {"titel": "t", "job_spec": {"command": "backup"}}},
     "unknown field 'job.titel' (did you mean 'job.title'?)"),
])
def test_findings_of_one_request(body, finding):
    op = "getJobInstances" if "limit" in body else "createJobInstance"
    assert finding in check("/v2/jobs", op, {"operation": op, **body})


def test_fields_the_handler_read_at_run_time_are_never_unknown():
    body = {"operation": "ping", "surprise": 1}
    assert check("/v2/clusters", "ping", body) == ["unknown field 'surprise'"]
    assert check("/v2/clusters", "ping", body, frozenset({"surprise"})) == []


def test_unknown_operations_have_no_findings():
    assert check("/v2/clusters", "noSuchOperation", {"x": 1}) == []


@pytest.mark.fakecmon_strict(False)      # findings on purpose
def test_the_journal_entry_carries_the_findings_and_the_reply_is_unchanged(cmon):
    cmon.freeze()   # both replies show the same clock fields (uptimes, last seen)
    client = cmon.client("admin", "admin")
    good = client.call("/v2/clusters", "getAllClusterInfo")
    bad = client.call("/v2/clusters", "getAllClusterInfo", withhosts=True)
    assert good["request_status"] == bad["request_status"] == "Ok"
    assert good["clusters"] == bad["clusters"]
    entries = cmon.requests("getAllClusterInfo")
    assert entries[0].contract == []
    assert entries[1].contract == ["unknown field 'withhosts' (did you mean 'with_hosts'?)"]
    assert entries[1].to_json()["contract"] == entries[1].contract


# ---- the real clients' recorded requests keep to the contract

CAPTURES = Path(__file__).resolve().parents[2] / "shared" / "contract" / "captures"
#: Operations several paths answer: where s9s sends the captured ones.
CAPTURE_PATHS = {"ping": "clusters", "getconfig": "clusters", "setconfig": "clusters"}


def capture_requests() -> list[Path]:
    return sorted(CAPTURES.glob("*-req.json")) if CAPTURES.is_dir() else []


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="../shared/contract/captures is absent")
def test_every_captured_request_keeps_to_the_contract():
    by_name: dict[str, list[str]] = {}
    for path, lower in request_contracts():
        by_name.setdefault(lower, []).append(path)
    checked = 0
    for file in capture_requests():
        req = json.loads(file.read_text())
        op = req.get("operation", "")
        paths = by_name.get(op.lower(), [])
        if not paths:
            continue              # the captured request without an operation
        path = CAPTURE_PATHS.get(op.lower(), paths[0])
        assert len(paths) == 1 or op.lower() in CAPTURE_PATHS, (file.name, paths)
        assert check(f"/v2/{path}", op, req) == [], file.name
        checked += 1
    assert checked >= 65


# ---- strict mode, the coverage report

STRICT_TESTS = """
    import pytest
    from fakecmon.testing import FakeCmon

    def test_clean(cmon):
        cmon.client("admin", "admin").call("/v2/clusters", "getAllClusterInfo", with_hosts=True)

    def test_misspelled(cmon):
        cmon.client("admin", "admin").call("/v2/clusters", "getAllClusterInfo", withhosts=True)

    @pytest.mark.fakecmon_strict(False)
    def test_exempt(cmon):
        cmon.client("admin", "admin").call("/v2/jobs", "getJobInstances", limit="5")
"""


def test_strict_option_fails_the_test_that_sent_the_finding(pytester):
    pytester.makepyfile(STRICT_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", "--fakecmon-strict")
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    assert "test_misspelled" in out and "1 contract finding(s) in 1 request(s)" in out
    assert "unknown field 'withhosts' (did you mean 'with_hosts'?)" in out
    assert '"withhosts":true' in out              # the request itself is shown
    assert "FAILED test_strict_option_fails_the_test_that_sent_the_finding.py::test_misspelled" in out


def test_without_strict_findings_do_not_fail(pytester):
    pytester.makepyfile(STRICT_TESTS)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_strict_ini_setting_and_a_strict_server_of_your_own(pytester):
    pytester.makeini("[pytest]\nfakecmon_strict = true\n")
    pytester.makepyfile(STRICT_TESTS + """
    def test_own_server():
        with FakeCmon(strict=True) as mine:
            mine.client("admin", "admin").call("/v2/clusters", "ping", clusterid=1)
""")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=2)
    assert "unknown field 'clusterid' (did you mean 'cluster_id'?)" in result.stdout.str()


@pytest.mark.fakecmon_strict(False)      # findings on purpose
def test_assert_contract_clean(cmon):
    client = cmon.client("admin", "admin")
    client.call("/v2/clusters", "getAllClusterInfo")
    cmon.assert_contract_clean()
    client.call("/v2/jobs", "createJobInstance", cluster_id=1,
                job={"title": "x", "job_spec": {"command": "backups", "job_data": {}}})
    with pytest.raises(AssertionError) as exc:
        cmon.assert_contract_clean()
    text = str(exc.value)
    assert "unknown job command 'backups' (did you mean 'backup'?)" in text
    assert "createJobInstance" in text and text.count("\n") >= 2


def test_report_file_and_terminal_table(pytester):
    pytester.makepyfile(STRICT_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", "--fakecmon-report=report.json")
    result.assert_outcomes(passed=3)
    doc = json.loads((pytester.path / "report.json").read_text())
    ops = {(r["path"], r["operation"]): r for r in doc["operations"]}
    gaci = ops[("/v2/clusters", "getAllClusterInfo")]
    assert gaci["calls"] == 2 and gaci["statuses"] == {"Ok": 2}
    assert gaci["findings"] == {"unknown field 'withhosts' (did you mean 'with_hosts'?)": 1}
    assert ops[("/v2/auth", "authenticateWithPassword")]["calls"] == 3
    assert "getClusterInfo" in doc["not_called"]["/v2/clusters"]
    assert "getJobInstance" in doc["not_called"]["/v2/jobs"]
    assert "/v2/alarm" not in doc["not_called"]           # a path the client never used
    assert doc["findings"] == 2 and doc["requests"] == 6
    out = result.stdout.str()
    assert "fakecmon coverage" in out and "getAllClusterInfo" in out
    assert "6 request(s), 3 operation(s), 2 contract finding(s)" in out


@pytest.mark.fakecmon_strict(False)
def test_report_through_the_control_api(cmon):
    def gaci() -> dict:
        url = cmon.control_url + "/report"      # the session's counts: never cleared here
        with urllib.request.urlopen(url, context=cmon.ssl_context()) as resp:
            doc = json.loads(resp.read())
        return next((r for r in doc["operations"] if r["operation"] == "getAllClusterInfo"),
                    {"calls": 0, "findings": {}})

    before, requests = gaci(), cmon.report()["requests"]
    cmon.client("admin", "admin").call("/v2/clusters", "getAllClusterInfo", withhosts=1)
    after = gaci()
    assert after["calls"] == before["calls"] + 1
    assert sum(after["findings"].values()) == sum(before["findings"].values()) + 1
    assert cmon.report()["requests"] == requests + 2


def test_serve_strict_logs_one_warning_per_finding(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "fakecmon", "serve", "--port", "0", "--strict",
                             "--quiet", "--certs-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for line in proc.stdout:                               # type: ignore[union-attr]
            if line.startswith("listening on "):
                port = int(line.rsplit(":", 1)[1])
                break
        assert port
        client = RpcClient(f"https://127.0.0.1:{port}")
        client.login("admin", "admin")
        reply = client.call("/v2/clusters", "getAllClusterInfo", withhosts=True, limit="x")
        assert reply["request_status"] == "Ok"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    warnings = [ln for ln in err.splitlines() if "WARNING" in ln and "contract:" in ln]
    assert len(warnings) == 2, err
    assert any("/v2/clusters getAllClusterInfo: unknown field 'withhosts'" in w for w in warnings)


def test_contract_command_prints_what_the_handlers_read():
    run = subprocess.run([sys.executable, "-m", "fakecmon", "contract", "--operation",
                          "getAllClusterInfo"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    (op,) = doc["operations"]
    assert op["path"] == "clusters" and op["operation"] == "getAllClusterInfo"
    assert {"name": "with_hosts", "type": "boolean", "required": False} in op["fields"]
    run = subprocess.run([sys.executable, "-m", "fakecmon", "contract", "--operation", "nope"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and run.stderr.strip() == "fakecmon contract: no operation 'nope'"


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="../shared/contract/captures is absent")
def test_the_scan_knows_every_field_the_handlers_read_at_run_time(cmon):
    """TrackedBody records what a handler really read: the static contract covers it."""
    system = cmon.client("system", "secret")
    by_name: dict[str, list[str]] = {}
    for path, lower in request_contracts():
        by_name.setdefault(lower, []).append(path)
    for file in capture_requests():
        req = json.loads(file.read_text())
        paths = by_name.get(str(req.get("operation", "")).lower())
        if paths and req["operation"].lower() not in ("authenticate", "authenticateresponse"):
            system.post(f"/v2/{CAPTURE_PATHS.get(req['operation'].lower(), paths[0])}", req)
    common = {f.name for f in common_fields()}
    missed = {}
    for entry in cmon.requests():
        contract = contract_for(entry.path, entry.operation)
        if contract is not None and not contract.open:
            unknown = set(entry.read) - contract.names - common
            if unknown:
                missed[f"{entry.path} {entry.operation}"] = sorted(unknown)
    assert len(cmon.requests()) > 60 and missed == {}


def test_report_merges_the_xdist_workers(pytester):
    pytester.makepyfile(STRICT_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2",
                                           "--fakecmon-report=report.json")
    result.assert_outcomes(passed=3)
    doc = json.loads((pytester.path / "report.json").read_text())
    assert doc["requests"] == 6 and doc["findings"] == 2
    assert "6 request(s), 3 operation(s), 2 contract finding(s)" in result.stdout.str()


def test_the_contract_api_works_as_the_first_import_of_a_process():
    code = ("from fakecmon.contract import job_commands, request_contracts\n"
            "assert len(job_commands()) > 50 and len(request_contracts()) > 150\n"
            "assert 'ssh_user' in job_commands()['success'].keys")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
