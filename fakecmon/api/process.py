"""/v2/process: the processes running on a cluster's hosts (``s9s process --list/--top``)."""

from __future__ import annotations

from fakecmon import permissions
from fakecmon.rpc import Call, Payload, operation
from fakecmon.world import telemetry

PATH = "/v2/process"


@operation(PATH, "getRunningProcesses", kind="world-data")
def get_running_processes(call: Call) -> Payload:
    """Per online host of the cluster: its processes, as ``top`` would show them now."""
    user = call.login_user()
    cluster = call.cluster()
    assert cluster is not None
    permissions.check_cluster(call.world, user, cluster, cluster.cluster_id, permissions.READ)
    data = [{"class_name": "CmonProcessList", "hostname": host.hostname, "hostid": host.host_id,
             "port": host.port, "processes": telemetry.processes(host, call.now)}
            for host in cluster.hosts if host.online]
    return {"total": len(data), "data": data}
