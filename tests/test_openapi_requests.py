"""Every request schema of the OpenAPI spec reaches a handler.

For each path of ``clustercontrol-v2.yaml`` and each value of its ``operation``
enum, a request is built from the schema's field names (values fitting the
default world) and sent logged in as ``system``. The reply may be any status
the operation chooses (the spec puts the fields of all verbs of a path side by
side), but never CMON's unknown-operation reply, except for the few operations
in ``ABSENT``: those fakecmon leaves unanswered, each with its reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

SPEC = Path(__file__).resolve().parents[2] / "shared" / "contract" / "openapi" / "clustercontrol-v2.yaml"

#: (path, operation) -> why fakecmon does not answer it. Keep this list short.
ABSENT: dict[tuple[str, str], str] = {
    ("/v2/stat/cmonagent", "/cmonagent"):
        "reads query-monitor samples from cmnd agents on the hosts; fakecmon deploys none",
    ("/v2/stat/prometheus/query", "/prometheus"):
        "proxies PromQL to a Prometheus server; fakecmon has none and evaluates no PromQL",
}

#: The envelope every reply carries; an Ok reply with nothing more is a "bare" Ok.
ENVELOPE = {"controller_id", "request_processed", "request_status", "request_id",
            "request_created", "request_user_id", "debug_messages", "error_string", "total"}

#: (path, operation) -> why its Ok carries only the envelope. Everything else that
#: answers Ok must say something (a payload or ``messages``): no empty Ok that does nothing.
BARE_OK: dict[tuple[str, str], str] = {
    ("/v2/auth", "logout"): "ends the session; the next request is AuthRequired",
    ("/v2/backup", "deleteBackupRecord"): "the record leaves getBackups",
    ("/v2/config", "setLdapConfig"): "CMON's capture Ok-setLdapConfig is bare; getLdapConfig shows it",
    ("/v2/jobs", "deleteJobInstance"): "the job leaves getJobInstances",
    ("/v2/users", "changePassword"): "CMON's capture Ok-changePassword is bare; the new password logs in",
    ("/v2/users", "canCreateUser"): "the status is the answer (AccessDenied for others)",
    ("/v2/users", "canCreateGroup"): "the status is the answer (AccessDenied for others)",
}

#: Values for field names, fitting the default world (cluster 1 is galera-prod).
STRINGS = {
    "cluster_name": "galera-prod", "hostname": "10.0.1.11", "host_name": "10.0.1.11",
    "user_name": "system", "password": "secret", "new_password": "secret2",
    "old_password": "secret", "group_name": "users", "path": "/galera-prod",
    "acl": "user:dba:r--", "new_cluster_name": "new-cluster", "provider": "aws",
    "name": "main", "comment": "fakecmon test", "UUID": "00000000-0000-0000-0000-000000000000",
    "initiate": "2030-01-01T10:00:00.000Z", "deadline": "2030-01-01T12:00:00.000Z",
    "reason": "test", "start_datetime": "10:00", "end_datetime": "10:30",
    "access_key_id": "AKIA0000", "access_key_secret": "secret", "access_key_region": "eu-west-1",
    "schedule": "0 3 * * *", "recurrence": "0 3 * * *", "title": "openapi test",
}
INTEGERS = {"cluster_id": 1, "port": 3306, "limit": 10, "offset": 0, "pagesize": 10, "page": 0,
            "start": 1622105617, "end": 1622108317, "step": 10, "returnfrom": 0}


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def value(spec: dict[str, Any], name: str, schema: dict[str, Any], depth: int = 0) -> Any:
    """A value for field ``name`` from its schema: enum first, then the world tables."""
    schema = resolve(spec, schema)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if kind == "object":
        if depth > 6:
            return {}
        return {k: value(spec, k, v, depth + 1)
                for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [value(spec, name, schema.get("items", {}), depth + 1)]
    if kind == "integer":
        return INTEGERS.get(name, 1)
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    return STRINGS.get(name, name)


def cases() -> list[Any]:
    if not SPEC.is_file():
        return [pytest.param(None, None, None, marks=pytest.mark.skip(
            reason="../shared/contract is not present"))]
    spec = yaml.safe_load(SPEC.read_text())
    out = []
    for path, item in spec["paths"].items():
        schema = resolve(spec, item["post"]["requestBody"]["content"]["application/json"]["schema"])
        fields = {k: v for k, v in schema.get("properties", {}).items() if k != "operation"}
        for op in resolve(spec, schema["properties"]["operation"])["enum"]:
            body = {"operation": op, **{k: value(spec, k, v) for k, v in fields.items()}}
            out.append(pytest.param("/v2" + path, op, body, id=f"{path}:{op}"))
    return out


def unknown(reply: dict[str, Any]) -> bool:
    """CMON's reply to an operation it does not know (see fakecmon.rpc.unknown_operation)."""
    text = reply.get("error_string", "")
    return reply.get("request_status") == "InvalidRequest" and (
        text.startswith("Invalid operation") or text.startswith("Unexpected request"))


@pytest.mark.parametrize("path,operation,body", cases())
def test_spec_request_reaches_a_handler(system, path, operation, body):
    reply = system.post(path, body).json
    assert "request_status" in reply, reply
    if (path, operation) in ABSENT:
        assert unknown(reply), f"{path} {operation} is answered now: drop it from ABSENT"
    else:
        assert not unknown(reply), f"{path} {operation}: {reply.get('error_string')}"
    if reply["request_status"] == "Ok" and not set(reply) - ENVELOPE:
        assert (path, operation) in BARE_OK, f"{path} {operation} answers an empty Ok"
