"""/v2/discovery: checks clients make before creating a cluster.

fakecmon reaches no real hosts, so every address counts as reachable over SSH
except those of TEST-NET-1 (192.0.2.0/24, RFC 5737), which are unreachable: a
test can make ``checkHosts`` fail on purpose. Hosts already in a cluster of the
world are reported as registered when ``check_if_already_registered`` is set.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from fakecmon.errors import invalid
from fakecmon.rpc import Call, Payload, operation
from fakecmon.world import dbtypes, saves
from fakecmon.world.state import World

from fakecmon.api._common import checked_cluster, checked_cluster_if_named  # isort: skip

PATH = "/v2/discovery"
UNREACHABLE = ipaddress.ip_network("192.0.2.0/24")


def unreachable(hostname: str) -> bool:
    try:
        return ipaddress.ip_address(hostname) in UNREACHABLE
    except ValueError:
        return hostname.endswith(".invalid")


def _registered_in(world: World, hostname: str) -> str | None:
    for cluster in world.clusters.values():
        if cluster.host(hostname) is not None:
            return cluster.cluster_name
    return None


def _node(value: Any, place: str) -> dict[str, Any]:
    """A node as clients send it: ``{hostname|host_name, port, class_name}`` or ``"host:port"``."""
    if isinstance(value, str):
        name, _, port = value.partition(":")
        value = {"hostname": name, "port": int(port) if port.isascii() and port.isdigit() else 0}
    if not isinstance(value, dict):
        raise invalid(f"The '{place}' entries must be objects or strings.")
    name = value.get("hostname", value.get("host_name"))
    if not isinstance(name, str) or not name.strip():
        raise invalid(f"A node in '{place}' has no hostname.")
    port = value.get("port", 0)
    if isinstance(port, str) and port.isascii() and port.isdigit():
        port = int(port)
    if not isinstance(port, int) or isinstance(port, bool):
        raise invalid(f"The port of node '{name}' must be a number.")
    return {"class_name": value.get("class_name", "CmonHost") or "CmonHost",
            "hostname": name.strip(), "port": port}


def _nodes(call: Call) -> list[dict[str, Any]]:
    raw = call.body.get("nodes", [])
    if not isinstance(raw, list):
        raise invalid("The 'nodes' field must be a list.")
    nodes = [_node(n, "nodes") for n in raw]
    job = call.body.get("job")
    if call.arg("check_job", bool, False) and isinstance(job, dict):
        spec = job.get("job_spec")
        data = spec.get("job_data") if isinstance(spec, dict) else None
        if isinstance(data, dict) and isinstance(data.get("nodes"), list):
            nodes += [_node(n, "job.job_spec.job_data.nodes") for n in data["nodes"]]
    if not nodes:
        raise invalid("The request has no nodes to check.")
    return nodes


@operation(PATH, "checkHosts", kind="world-data")
def check_hosts(call: Call) -> Payload:
    """SSH reachability (and registration) of each node; ``HostIsOk`` when usable."""
    cluster = checked_cluster_if_named(call)
    check_registered = call.arg("check_if_already_registered", bool, False)
    check_sudo = call.arg("check_ssh_sudo", bool, False)
    checked = []
    for node in _nodes(call):
        name = node["hostname"]
        owner = _registered_in(call.world, name) if check_registered else None
        if unreachable(name):
            code, message = "HostIsUnreachable", f"{name}: SSH connection failed: No route to host."
        elif owner is not None:
            code, message = "HostAlreadyRegistered", f"{name} is already in cluster '{owner}'."
        else:
            code, message = "HostIsOk", ""
        status: dict[str, Any] = {"class_name": "CmonHostCheckStatus", "error_code": code,
                                  "error_message": message, "ssh_ok": code != "HostIsUnreachable"}
        if check_sudo:
            status["sudo_ok"] = code != "HostIsUnreachable"
        checked.append({"host": node, "status": status})
    return {"total": len(checked), "checked_hosts": checked}


@operation(PATH, "checkClusterName", kind="world-data")
def check_cluster_name(call: Call) -> Payload:
    """``is_acceptable`` is false for an empty name, a ``/`` in it, or a name already in use."""
    call.login_user()
    name = call.arg("new_cluster_name", str)
    if not name.strip():
        reason = "The cluster name is empty."
    elif "/" in name:
        reason = f"The cluster name '{name}' contains a '/'."
    elif call.world.cluster_by_name(name) is not None:
        reason = f"A cluster named '{name}' already exists."
    else:
        return {"is_acceptable": True, "messages": [f"The cluster name '{name}' is available."]}
    return {"is_acceptable": False, "messages": [reason]}


@operation(PATH, "getSupportedClusterTypes", kind="world-data")
def get_supported_cluster_types(call: Call) -> Payload:
    """CMON lists the types by its own names, and ``cluster_type_properties`` is an object
    keyed by those names (``s9s cluster --list-types --long`` looks each row up there)."""
    call.login_user()
    types = dbtypes.CLUSTER_TYPES
    return {
        "total": len(types),
        "cluster_type_names": list(dbtypes.TYPE_NAMES),
        "cluster_type_properties": {t.type_name: _type_properties(t) for t in types},
    }


def _type_properties(t: dbtypes.ClusterType) -> dict[str, Any]:
    return {"long_name": t.long_name, "short_name": t.short_name or t.long_name,
            "type_name": t.type_name,
            "vendors": [{"name": vendor, "versions": list(majors)}
                        for vendor, majors in t.vendors.items()]}


@operation(PATH, "getSshCredentials", kind="world-data")
def get_ssh_credentials(call: Call) -> Payload:
    """How the controller reaches the cluster's hosts over SSH."""
    checked_cluster(call)
    return {"ssh_credentials": dict(saves.SSH_CREDENTIALS)}
