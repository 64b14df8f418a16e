"""/v2/stat: host statistics, CPU and host information, database growth.

The values come from ``fakecmon.world.telemetry`` (derived from the world's
hosts, stable for a given window), in the shapes s9s and cmon-proxy decode:
``statByName`` answers ``{total, data: [samples]}`` where every sample carries
``created``/``sampleends`` epoch seconds, ``hostid`` and ``interval`` in ms.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from typing import Any

from fakecmon.errors import invalid
from fakecmon.rpc import Call, Payload, operation
from fakecmon.timefmt import parse_time
from fakecmon.world import telemetry
from fakecmon.world.views import host_json
from fakecmon.world.models import Cluster, Host

from fakecmon.api._common import checked_cluster  # isort: skip

PATH = "/v2/stat"
DEFAULT_WINDOW = 3600.0
_CLOCK_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def _readable_cluster(call: Call) -> Cluster:
    return checked_cluster(call)


def stat_time(call: Call, names: tuple[str, ...], default: float) -> float:
    """A time field: epoch seconds, RFC 3339 (``Z`` or ``+hh:mm``), Go time or ``HH:MM`` today."""
    for name in names:
        value = call.body.get(name)
        if value in (None, ""):
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, str):
            raise invalid(f"The '{name}' field must be a time string or epoch seconds.")
        text = value.strip()
        if re.fullmatch(r"\d{9,11}(\.\d+)?", text):
            return float(text)
        clock = _CLOCK_TIME.match(text)
        if clock:
            day = datetime.fromtimestamp(call.now, timezone.utc).replace(
                hour=int(clock[1]), minute=int(clock[2]), second=int(clock[3] or 0), microsecond=0)
            return day.timestamp()
        try:
            return parse_time(text)
        except ValueError:
            raise invalid(f"Invalid time '{value}' in the '{name}' field.") from None
    return default


def _hosts(call: Call, cluster: Cluster) -> list[Host]:
    """The cluster's hosts, narrowed by ``hostid`` or ``host_port`` (``host:port``)."""
    hosts = list(cluster.hosts)
    if call.body.get("hostid") not in (None, 0, ""):
        hid = call.arg("hostid", int)
        hosts = [h for h in hosts if h.host_id == hid]
    host_port = call.arg("host_port", str, "")
    if host_port:
        name, _, port = host_port.rpartition(":")
        if not name or not (port.isascii() and port.isdigit()):
            name, port = host_port, ""
        hosts = [h for h in hosts if h.hostname == name and (not port or h.port == int(port))]
    return hosts


@operation(PATH, "statByName", kind="world-data")
def stat_by_name(call: Call) -> Payload:
    """Samples of one statistics (cpustat, memorystat, diskstat...) over a time window."""
    cluster = _readable_cluster(call)
    name = call.arg("name", str)
    if name.lower() not in telemetry.STATS:
        raise invalid(f"Unknown statistics name '{name}' (known: "
                      f"{', '.join(sorted(telemetry.STATS))}).")
    end = stat_time(call, ("end_datetime", "enddate"), call.now)
    start = stat_time(call, ("start_datetime", "startdate"), end - DEFAULT_WINDOW)
    if start > end:
        raise invalid("The start of the time window is after its end.")
    times, step = telemetry.window(start, end, call.now)
    data = telemetry.samples(name, _hosts(call, cluster), times, step)
    if call.arg("calculate_per_sec", bool, False):
        data = [_per_second(d) for d in data]
    payload: Payload = {"total": len(data), "data": data}
    if call.arg("with_hosts", bool, False):
        payload["hosts"] = [host_json(call.world, cluster, h, call.now) for h in cluster.hosts]
    return payload


_GAUGES = {"created", "hostid", "interval", "sampleends", "cpuid", "cpuphysicalid", "cpucores",
           "total", "free", "ramtotal", "ramfree", "ramfreemin", "swaptotal", "swapfree",
           "ramcached", "rambuffers", "blocksize", "uptime", "CONNECTIONS", "connections",
           "THREADS_RUNNING", "REPLICATION_LAG", "CurrEstab", "connections_current",
           "connections_available", "mem_resident", "mem_virtual", "repl_lag", "scur", "smax",
           "slim", "data_size", "index_size", "total_size", "data_memory_total",
           "data_memory_used", "index_memory_total", "index_memory_used", "Active_Transactions",
           "Client_Connections_connected", "Server_Connections_connected"}


def _per_second(sample: dict[str, Any]) -> dict[str, Any]:
    """``calculate_per_sec``: counters of the interval become rates per second."""
    seconds = sample["interval"] / 1000.0
    out = {}
    for key, value in sample.items():
        if (isinstance(value, int) and not isinstance(value, bool) and key not in _GAUGES
                and not key.endswith("persec")):
            out[key] = round(value / seconds, 3)
        else:
            out[key] = value
    return out


@operation(PATH, "getCpuPhysicalInfo", kind="world-data")
def get_cpu_physical_info(call: Call) -> Payload:
    """The physical CPUs of the cluster's hosts (one entry per socket)."""
    cluster = _readable_cluster(call)
    data = []
    for host in cluster.hosts:
        hw = telemetry.hardware(host)
        for socket in range(hw.sockets):
            data.append({
                "class_name": "CmonCpuInfo",
                "hostid": host.host_id,
                "hostname": host.hostname,
                "cpuphysicalid": socket,
                "cpucores": hw.cores,
                "siblings": hw.cores * 2,
                "cpumodelname": hw.model,
                "vendor": hw.vendor,
                "cpumhz": hw.mhz,
                "cpumaxmhz": round(hw.mhz * 1.3, 1),
            })
    return {"total": len(data), "data": data}


@operation(PATH, "getInfo", kind="world-data")
def get_info(call: Call) -> Payload:
    """A summary per host: hardware, operating system and current usage."""
    cluster = _readable_cluster(call)
    now = int(call.now)
    data = []
    for host in cluster.hosts:
        hw = telemetry.hardware(host)
        entry: dict[str, Any] = {
            "class_name": "CmonHostInfo",
            "hostid": host.host_id,
            "hostname": host.hostname,
            "cluster_id": cluster.cluster_id,
            "hoststatus": host.hoststatus,
            "distribution": dict(host.distribution),
            "cpu_model": hw.model,
            "cpu_cores": hw.sockets * hw.cores,
            "cpu_count": hw.cpus,
            "cpu_mhz": hw.mhz,
            "memory_total": hw.ram,
            "swap_total": hw.swap,
            "disk_total": sum(d.total for d in hw.disks),
            "network_interfaces": [{"interface": hw.nic, "mac": hw.mac,
                                    "ip": host.ip or host.hostname}],
            "uptime": int(now - host.started_at) if host.online else 0,
        }
        if host.online:
            cpu = telemetry.cpu_sample(host, now, telemetry.BASE_STEP)[0]
            mem = telemetry.memory_sample(host, now, telemetry.BASE_STEP)[0]
            entry.update({"loadavg1": cpu["loadavg1"], "cpu_usage": cpu["busy"],
                          "memory_free": mem["ramfree"],
                          "memory_utilization": mem["memoryutilization"],
                          "disk_free": sum(int(d.total * (1 - telemetry.disk_fill(host, d, now)))
                                           for d in hw.disks)})
        data.append(entry)
    return {"total": len(data), "data": data}


@operation(PATH, "getdbgrowth", kind="world-data")
def get_db_growth(call: Call) -> Payload:
    """Daily sizes of the cluster's databases over the last 31 days (``include_tables``)."""
    cluster = _readable_cluster(call)
    with_tables = call.arg("include_tables", bool, False)
    names = telemetry.database_names(
        call.world.extensions.get("databases", {}).get(cluster.cluster_id, []))
    host = next((h for h in cluster.hosts if telemetry.db_kind(h) and h.role.lower() in (
        "master", "primary")), next((h for h in cluster.hosts if telemetry.db_kind(h)), None))
    data = []
    today = int(call.now // 86400)
    for day in range(today - 30, today + 1):
        stamp = time.gmtime(day * 86400)
        data.append({
            "class_name": "CmonDbGrowth",
            "clusterid": cluster.cluster_id,
            "hostname": host.hostname if host else "",
            "created": time.strftime("%a %b %d", stamp),
            "year": stamp.tm_year,
            "dbs": [telemetry.database_size(cluster, db, day, with_tables) for db in names],
        })
    return {"total": len(data), "data": data}
