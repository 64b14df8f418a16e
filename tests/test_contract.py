"""The request contract (fakecmon/contract.py): read from the handlers, checked per request."""

from __future__ import annotations

import pytest

from fakecmon.contract import (
    JSON_TYPES, check, check_job, common_fields, contract_for, job_commands, request_contracts,
)
from fakecmon.rpc import OPERATIONS


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


def test_the_journal_entry_carries_the_findings_and_the_reply_is_unchanged(cmon):
    client = cmon.client("admin", "admin")
    good = client.call("/v2/clusters", "getAllClusterInfo")
    bad = client.call("/v2/clusters", "getAllClusterInfo", withhosts=True)
    assert good["request_status"] == bad["request_status"] == "Ok"
    assert good["clusters"] == bad["clusters"]
    entries = cmon.requests("getAllClusterInfo")
    assert entries[0].contract == []
    assert entries[1].contract == ["unknown field 'withhosts' (did you mean 'with_hosts'?)"]
    assert entries[1].to_json()["contract"] == entries[1].contract
