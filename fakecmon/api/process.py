"""/v2/process: the processes running on a cluster's hosts (``s9s process --list/--top``)."""

from __future__ import annotations

from fakecmon.rpc import Call, Payload, operation
from fakecmon.world import telemetry

from fakecmon.api._common import checked_cluster  # isort: skip

PATH = "/v2/process"


@operation(PATH, "getRunningProcesses", kind="world-data")
def get_running_processes(call: Call) -> Payload:
    """Per online host of the cluster: its processes, as ``top`` would show them now."""
    cluster = checked_cluster(call)
    data = [{"class_name": "CmonProcessList", "hostname": host.hostname, "hostid": host.host_id,
             "port": host.port, "processes": telemetry.processes(host, call.now)}
            for host in cluster.hosts if host.online]
    return {"total": len(data), "data": data}
