"""Measurements of the world's hosts: hardware, time series, processes, database sizes.

fakecmon runs no databases, so what CMON would sample from real hosts is derived
here from the world instead: every value is a pure function of the host (its
name, type and role) and of the time, seeded by a small integer hash. The same
request over the same window therefore always gets the same reply, values vary
smoothly over time around levels plausible for the host's kind, and hosts that
are not online have no samples.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Any

from fakecmon.world.models import Cluster, Host

GIB = 1024 ** 3
MIB = 1024 ** 2
#: Seconds between samples for windows up to MAX_SAMPLES minutes; longer windows
#: get a proportionally longer step so one reply stays bounded.
BASE_STEP = 60
MAX_SAMPLES = 720
#: CMON keeps about a month of samples.
RETENTION = 31 * 86400

_M64 = (1 << 64) - 1


def _mix(x: int) -> int:
    """splitmix64: a cheap, well-spread integer hash."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def seed_of(*parts: Any) -> int:
    """A stable seed for names and ids (never Python's randomised ``hash``)."""
    return zlib.crc32("\x1f".join(str(p) for p in parts).encode())


def unit(seed: int, n: int) -> float:
    """A deterministic number in [0, 1) for ``seed`` and step ``n``."""
    return _mix(seed * 1_000_003 + n) / 2 ** 64


def wave(seed: int, t: float, low: float, high: float, period: float = 86400.0) -> float:
    """A value between ``low`` and ``high``: a daily swell plus per-minute jitter."""
    phase = unit(seed, -1) * 2 * math.pi
    smooth = 0.5 + 0.35 * math.sin(2 * math.pi * t / period + phase)
    jitter = 0.15 * (unit(seed, int(t // BASE_STEP)) - 0.5) * 2
    return low + (high - low) * min(1.0, max(0.0, smooth + jitter))


# ---- what kind of host this is

DB_KINDS = {
    "galera": "mysql", "mysql": "mysql", "grouprepl": "mysql", "ndb": "mysql",
    "postgres": "postgres", "mongo": "mongo", "redis": "redis", "valkey": "redis",
    "redis-sharded": "redis", "elastic": "elastic", "mssql": "mssql",
    "clickhouse": "clickhouse",
}

DAEMONS = {
    "mysql": ("mysqld", "mysql"), "postgres": ("postgres", "postgres"),
    "mongo": ("mongod", "mongodb"), "redis": ("redis-server", "redis"),
    "elastic": ("java", "elasticsearch"), "mssql": ("sqlservr", "mssql"),
    "clickhouse": ("clickhouse-server", "clickhouse"), "haproxy": ("haproxy", "haproxy"),
    "proxysql": ("proxysql", "proxysql"), "maxscale": ("maxscale", "maxscale"),
    "pgbouncer": ("pgbouncer", "postgres"), "garbd": ("garbd", "nobody"),
    "keepalived": ("keepalived", "root"), "prometheus": ("prometheus", "prometheus"),
}


def db_kind(host: Host) -> str | None:
    """``mysql``, ``postgres``, ``mongo``... for database nodes; None for proxies and the like."""
    if host.nodetype == "galera" and host.class_name == "CmonGarbdHost":
        return None
    return DB_KINDS.get(host.nodetype)


def service(host: Host) -> str:
    return db_kind(host) or host.nodetype or "host"


def busy(host: Host) -> float:
    """How loaded the host's role makes it (writers and primaries work harder)."""
    role = host.role.lower()
    if role in ("master", "primary", "leader"):
        return 1.0
    if db_kind(host) is None:
        return 0.45
    return 0.7


# ---- hardware

CPU_MODELS = (
    ("GenuineIntel", "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz", 2100.0),
    ("GenuineIntel", "Intel(R) Xeon(R) Silver 4214R CPU @ 2.40GHz", 2400.0),
    ("AuthenticAMD", "AMD EPYC 7543 32-Core Processor", 2800.0),
    ("AuthenticAMD", "AMD EPYC 7R13 Processor", 2650.0),
)


@dataclass(frozen=True)
class Disk:
    device: str
    mountpoint: str
    filesystem: str
    total: int
    model: str


@dataclass(frozen=True)
class Hardware:
    """What a host is built of: fixed for its name, like a real machine."""

    seed: int
    sockets: int
    cores: int                 # per socket
    vendor: str
    model: str
    mhz: float
    ram: int
    swap: int
    disks: tuple[Disk, ...]
    nic: str
    mac: str

    @property
    def cpus(self) -> int:
        """Logical CPUs (two threads per core)."""
        return self.sockets * self.cores * 2


def hardware(host: Host) -> Hardware:
    seed = seed_of("hardware", host.hostname)
    vendor, model, mhz = CPU_MODELS[int(unit(seed, 1) * len(CPU_MODELS))]
    database = db_kind(host) is not None
    cores = (4, 8, 8, 16)[int(unit(seed, 2) * 4)] if database else (2, 2, 4)[int(unit(seed, 2) * 3)]
    ram = (16, 32, 64, 128)[int(unit(seed, 3) * 4)] * GIB if database else (4, 8)[int(unit(seed, 3) * 2)] * GIB
    disks = [Disk("/dev/sda1", "/", "ext4", (40, 60, 80)[int(unit(seed, 4) * 3)] * GIB,
                  "Virtual disk")]
    if database:
        mount = _data_mount(host)
        disks.append(Disk("/dev/sdb1", mount, "xfs",
                          (200, 500, 1000, 2000)[int(unit(seed, 5) * 4)] * GIB, "SSD"))
    mac = ":".join(f"{(_mix(seed + i) & 0xFF):02x}" for i in range(6))
    mac = "52:54:00" + mac[8:]
    return Hardware(seed, 1 + int(unit(seed, 6) * 2) if database else 1, cores, vendor, model,
                    mhz, ram, ram // 4, tuple(disks), "eth0", mac)


def _data_mount(host: Host) -> str:
    parts = [p for p in (host.datadir or "/var/lib/data").split("/") if p]
    return "/" + "/".join(parts[:3])


# ---- time windows

def window(start: float, end: float, now: float) -> tuple[list[int], int]:
    """Sample times within [start, end] (never in the future, at most a month) and the step."""
    end = min(end, now)
    start = max(start, end - RETENTION)
    if end < start:
        return [], BASE_STEP
    step = BASE_STEP * max(1, math.ceil((end - start) / (BASE_STEP * MAX_SAMPLES)))
    first = math.ceil(start / step) * step
    return list(range(int(first), int(end) + 1, step)), step


# ---- samples per statistics name (the names CMON's statByName takes)

def _base(host: Host, kind: str, t: int, step: int, key: str = "") -> dict[str, Any]:
    return {
        "created": t,
        "hostid": host.host_id,
        "interval": step * 1000,
        "sampleends": t + step,
        "samplekey": f"{kind}-{host.host_id}" + (f"-{key}" if key else ""),
    }


def cpu_sample(host: Host, t: int, step: int) -> list[dict[str, Any]]:
    hw = hardware(host)
    s = seed_of("cpu", host.hostname)
    load = busy(host)
    user = wave(s, t, 0.03, 0.45 * load)
    sys = wave(s + 1, t, 0.01, 0.12 * load)
    iowait = wave(s + 2, t, 0.0, 0.08 * load)
    steal = wave(s + 3, t, 0.0, 0.01)
    idle = max(0.0, 1.0 - user - sys - iowait - steal)
    load1 = (user + sys + iowait) * hw.cpus * wave(s + 4, t, 0.9, 1.3)
    doc = _base(host, "CmonCpuStats", t, step, "0")
    doc.update({
        "cpuid": 0, "cpuphysicalid": 0, "cpucores": hw.sockets * hw.cores,
        "cpumhz": round(hw.mhz * wave(s + 5, t, 0.85, 1.05), 3),
        "cpumodelname": hw.model, "cputemp": round(wave(s + 6, t, 38.0, 62.0 + 10 * load), 1),
        "busy": round(1.0 - idle, 6), "idle": round(idle, 6), "iowait": round(iowait, 6),
        "nice": 0.0, "steal": round(steal, 6), "sys": round(sys, 6), "user": round(user, 6),
        "loadavg1": round(load1, 2), "loadavg5": round(load1 * 0.95, 2),
        "loadavg15": round(load1 * 0.9, 2),
        "uptime": max(0, int(t - host.started_at)),
    })
    return [doc]


def memory_sample(host: Host, t: int, step: int) -> list[dict[str, Any]]:
    hw = hardware(host)
    s = seed_of("memory", host.hostname)
    used_ratio = wave(s, t, 0.35, 0.55 + 0.3 * busy(host))
    cached = int(hw.ram * wave(s + 1, t, 0.05, 0.2))
    free = max(0, int(hw.ram * (1 - used_ratio)) - cached)
    swap_used = int(hw.swap * wave(s + 2, t, 0.0, 0.05))
    doc = _base(host, "CmonMemoryStats", t, step)
    doc.update({
        "memoryutilization": round(used_ratio, 6),
        "pgpgin": int(wave(s + 3, t, 0, 4000)), "pgpgout": int(wave(s + 4, t, 0, 9000)),
        "pswpin": 0, "pswpout": 0,
        "rambuffers": int(hw.ram * 0.01), "ramcached": cached, "ramfree": free,
        "ramfreemin": int(free * 0.97), "ramtotal": hw.ram,
        "swapfree": hw.swap - swap_used, "swaptotal": hw.swap,
        "swaputilization": round(swap_used / hw.swap, 6) if hw.swap else 0.0,
    })
    return [doc]


def disk_fill(host: Host, disk: Disk, t: float) -> float:
    """Used fraction of a disk: data disks fill slowly over the month."""
    s = seed_of("disk", host.hostname, disk.device)
    base = 0.15 + 0.45 * unit(s, 0)
    growth = 0.0 if disk.mountpoint == "/" else 0.002 * ((t % RETENTION) / 86400)
    return min(0.97, base + growth + 0.01 * unit(s, int(t // 3600)))


def disk_samples(host: Host, t: int, step: int) -> list[dict[str, Any]]:
    out = []
    load = busy(host)
    for disk in hardware(host).disks:
        s = seed_of("diskio", host.hostname, disk.device)
        data_disk = disk.mountpoint != "/"
        reads = int(wave(s, t, 10, 3000 * load if data_disk else 200) * step / 60)
        writes = int(wave(s + 1, t, 20, 5000 * load if data_disk else 300) * step / 60)
        doc = _base(host, "CmonDiskStats", t, step, disk.device)
        doc.update({
            "blocksize": 4096, "device": disk.device, "filesystem": disk.filesystem,
            "free": int(disk.total * (1 - disk_fill(host, disk, t))),
            "mount_option": "rw,relatime", "mountpoint": disk.mountpoint,
            "reads": reads, "readspersec": round(reads / step, 3),
            "sectorsread": reads * 8, "sectorswritten": writes * 8,
            "total": disk.total,
            "utilization": round(wave(s + 2, t, 0.01, 0.4 * load if data_disk else 0.05), 6),
            "writes": writes, "writespersec": round(writes / step, 3),
        })
        out.append(doc)
    return out


def net_sample(host: Host, t: int, step: int) -> list[dict[str, Any]]:
    hw = hardware(host)
    s = seed_of("net", host.hostname)
    rx = int(wave(s, t, 20_000, 8_000_000 * busy(host)) * step)
    tx = int(wave(s + 1, t, 20_000, 6_000_000 * busy(host)) * step)
    doc = _base(host, "CmonNetworkStats", t, step, hw.nic)
    doc.update({
        "interface": hw.nic,
        "rxBytes": rx, "txBytes": tx,
        "rxPackets": rx // 900, "txPackets": tx // 900,
        "rxErrors": int(unit(s + 2, t // step) > 0.97), "txErrors": 0,
        "rxDrops": 0, "txDrops": 0,
    })
    return [doc]


def tcp_sample(host: Host, t: int, step: int) -> list[dict[str, Any]]:
    s = seed_of("tcp", host.hostname)
    load = busy(host)
    segs = int(wave(s, t, 1000, 400_000 * load) * step / 60)
    doc = _base(host, "CmonTcpStats", t, step)
    doc.update({
        "ActiveOpens": int(wave(s + 1, t, 5, 300 * load)), "PassiveOpens": int(wave(s + 2, t, 5, 900 * load)),
        "AttemptFails": int(unit(s + 3, t // step) * 3), "EstabResets": int(unit(s + 4, t // step) * 5),
        "CurrEstab": int(wave(s + 5, t, 8, 250 * load)), "InSegs": segs, "OutSegs": int(segs * 0.9),
        "RetransSegs": int(segs * 0.001), "InErrs": 0, "OutRsts": int(unit(s + 6, t // step) * 10),
    })
    return [doc]


def sql_sample(host: Host, t: int, step: int) -> list[dict[str, Any]]:
    """MySQL-family counters (COM_*) or PostgreSQL row activity, per sample interval."""
    kind = db_kind(host)
    if kind not in ("mysql", "postgres"):
        return []
    s = seed_of("sql", host.hostname)
    load = busy(host)
    qps = wave(s, t, 20, 1500 * load)
    doc = _base(host, "CmonSqlStats", t, step)
    if kind == "mysql":
        reads = int(qps * step * 0.7)
        writes = 0 if host.role.lower() == "slave" else int(qps * step * 0.3)
        doc.update({
            "COM_SELECT": reads, "COM_INSERT": int(writes * 0.5), "COM_UPDATE": int(writes * 0.35),
            "COM_DELETE": int(writes * 0.1), "COM_REPLACE": int(writes * 0.05),
            "COM_COMMIT": int(writes * 0.4), "COM_ROLLBACK": int(writes * 0.002),
            "QUESTIONS": reads + writes, "QUERIES": reads + writes,
            "SLOW_QUERIES": int(unit(s + 1, t // step) * 4),
            "CONNECTIONS": int(wave(s + 2, t, 5, 180 * load)),
            "THREADS_RUNNING": int(wave(s + 3, t, 1, 24 * load)),
            "BYTES_RECEIVED": int(qps * step * 350), "BYTES_SENT": int(qps * step * 1900),
            "INNODB_ROWS_READ": reads * 14, "INNODB_ROWS_INSERTED": int(writes * 0.5),
            "REPLICATION_LAG": int(wave(s + 4, t, 0, 3)) if host.role.lower() == "slave" else 0,
        })
    else:
        writes = 0 if host.role.lower() in ("slave", "replica") else int(qps * step * 0.3)
        doc.update({
            "rows-fetched": int(qps * step * 6), "rows-returned": int(qps * step * 9),
            "rows-inserted": int(writes * 0.5), "rows-updated": int(writes * 0.4),
            "rows-deleted": int(writes * 0.1),
            "commits": int(qps * step * 0.4), "rollbacks": int(unit(s + 1, t // step) * 3),
            "connections": int(wave(s + 2, t, 5, 120 * load)),
            "blks-read": int(qps * step * 2), "blks-hit": int(qps * step * 90),
            "deadlocks": 0, "temp-files": int(unit(s + 3, t // step) * 2),
            "REPLICATION_LAG": int(wave(s + 4, t, 0, 2)) if not writes else 0,
        })
    return [doc]


def mongo_sample(host: Host, t: int, step: int) -> list[dict[str, Any]]:
    if db_kind(host) != "mongo":
        return []
    s = seed_of("mongo", host.hostname)
    load = busy(host)
    ops = wave(s, t, 10, 2000 * load)
    primary = host.role.lower() == "primary"
    doc = _base(host, "CmonMongoStats", t, step)
    doc.update({
        "opcounters_query": int(ops * step * 0.6), "opcounters_getmore": int(ops * step * 0.05),
        "opcounters_insert": int(ops * step * 0.2) if primary else 0,
        "opcounters_update": int(ops * step * 0.1) if primary else 0,
        "opcounters_delete": int(ops * step * 0.02) if primary else 0,
        "opcounters_command": int(ops * step * 0.3),
        "connections_current": int(wave(s + 1, t, 5, 300 * load)),
        "connections_available": 51200,
        "mem_resident": int(wave(s + 2, t, 800, 6000 * load)),
        "mem_virtual": int(wave(s + 3, t, 2000, 9000 * load)),
        "repl_lag": 0 if primary else int(wave(s + 4, t, 0, 2)),
    })
    return [doc]


def haproxy_sample(host: Host, t: int, step: int) -> list[dict[str, Any]]:
    if host.nodetype != "haproxy":
        return []
    s = seed_of("haproxy", host.hostname)
    doc = _base(host, "CmonHaProxyStats", t, step)
    sessions = int(wave(s, t, 5, 400))
    doc.update({
        "pxname": "admin_page", "svname": "FRONTEND", "status": "OPEN",
        "scur": sessions, "smax": int(sessions * 1.4), "slim": 8192,
        "stot": int(wave(s + 1, t, 100, 40_000) * step / 60),
        "bin": int(wave(s + 2, t, 1e5, 5e7) * step / 60),
        "bout": int(wave(s + 3, t, 1e5, 9e7) * step / 60),
        "ereq": 0, "econ": 0, "eresp": 0,
    })
    return [doc]


def proxysql_sample(host: Host, t: int, step: int) -> list[dict[str, Any]]:
    if host.nodetype != "proxysql":
        return []
    s = seed_of("proxysql", host.hostname)
    doc = _base(host, "CmonProxySqlStats", t, step)
    doc.update({
        "Active_Transactions": int(wave(s, t, 0, 40)),
        "Client_Connections_connected": int(wave(s + 1, t, 5, 500)),
        "Server_Connections_connected": int(wave(s + 2, t, 5, 200)),
        "Questions": int(wave(s + 3, t, 100, 60_000) * step / 60),
        "Slow_queries": int(unit(s + 4, t // step) * 3),
    })
    return [doc]


def ndb_sample(host: Host, t: int, step: int) -> list[dict[str, Any]]:
    if host.nodetype != "ndb":
        return []
    s = seed_of("ndb", host.hostname)
    doc = _base(host, "CmonNdbStats", t, step)
    total = 8 * GIB
    doc.update({"data_memory_total": total,
                "data_memory_used": int(total * wave(s, t, 0.2, 0.6)),
                "index_memory_total": total // 4,
                "index_memory_used": int(total // 4 * wave(s + 1, t, 0.1, 0.5))})
    return [doc]


def db_sample(host: Host, t: int, step: int) -> list[dict[str, Any]]:
    """Per-host database totals (dbstat): sizes of what the host stores."""
    if db_kind(host) is None:
        return []
    data_disk = hardware(host).disks[-1]
    used = int(data_disk.total * (disk_fill(host, data_disk, t) - 0.05))
    doc = _base(host, "CmonDbStats", t, step)
    doc.update({"data_size": max(0, int(used * 0.8)), "index_size": max(0, int(used * 0.2)),
                "total_size": max(0, used)})
    return [doc]


STATS = {
    "cpustat": cpu_sample,
    "memorystat": memory_sample,
    "diskstat": disk_samples,
    "netstat": net_sample,
    "tcpstat": tcp_sample,
    "sqlstat": sql_sample,
    "dbstat": db_sample,
    "mongostat": mongo_sample,
    "haproxystat": haproxy_sample,
    "proxysqlstat": proxysql_sample,
    "ndbstat": ndb_sample,
}


def samples(name: str, hosts: list[Host], times: list[int], step: int) -> list[dict[str, Any]]:
    """Every sample of statistics ``name`` for ``hosts`` at ``times``, host by host."""
    make = STATS[name.lower()]
    out: list[dict[str, Any]] = []
    for host in hosts:
        if not host.online:
            continue
        for t in times:
            out.extend(make(host, t, step))
    return out


# ---- processes

def processes(host: Host, now: float) -> list[dict[str, Any]]:
    """A plausible ``top`` of the host: system daemons plus the service it runs."""
    hw = hardware(host)
    s = seed_of("proc", host.hostname)
    load = busy(host)
    daemon, owner = DAEMONS.get(service(host), ("sshd", "root"))
    table = [
        (1, "root", "/sbin/init", 0.0, 12 * MIB, 160 * MIB),
        (310 + int(unit(s, 1) * 200), "root", "/lib/systemd/systemd-journald", 0.1, 40 * MIB, 90 * MIB),
        (620 + int(unit(s, 2) * 200), "root", "/usr/sbin/cron", 0.0, 3 * MIB, 9 * MIB),
        (680 + int(unit(s, 3) * 200), "syslog", "/usr/sbin/rsyslogd", 0.05, 6 * MIB, 220 * MIB),
        (900 + int(unit(s, 4) * 200), "root", "/usr/sbin/sshd", 0.0, 7 * MIB, 15 * MIB),
        (1200 + int(unit(s, 5) * 400), "prometheus", "/usr/local/bin/node_exporter", 0.3,
         18 * MIB, 720 * MIB),
    ]
    if service(host) != "host":
        rss = int(hw.ram * (0.55 if db_kind(host) else 0.02))
        table.append((1000 + host.host_id * 7, owner, daemon, 100.0 * load, rss, int(rss * 1.6)))
    out = []
    for i, (pid, user, exe, cpu, rss, virt) in enumerate(table):
        cpu_now = round(cpu * wave(s + 10 + i, now, 0.2, 1.0) if cpu else 0.0, 2)
        out.append({
            "class_name": "CmonProcStats",
            "cpu_usage": cpu_now,
            "executable": exe.rsplit("/", 1)[-1],
            "mem_usage": round(100.0 * rss / hw.ram, 2),
            "pid": pid,
            "priority": 20,
            "res_mem": rss,
            "state": "R" if cpu_now > 20 else "S",
            "user": user,
            "virt_mem": virt,
        })
    return out


# ---- database growth

#: Day (since the epoch, 2019-04-14) from which the synthetic databases grow.
GROWTH_START = 18000
TABLES = ("customers", "orders", "order_items", "products", "payments", "sessions",
          "events", "audit_log", "invoices", "shipments", "accounts", "settings")


def database_names(world_databases: list[Any]) -> list[str]:
    """The cluster's databases as the world knows them (``databases`` extension)."""
    names = []
    for entry in world_databases:
        name = entry.get("database_name") if isinstance(entry, dict) else getattr(
            entry, "database_name", None)
        if isinstance(name, str) and name:
            names.append(name)
    return names


def database_size(cluster: Cluster, db: str, day: int, with_tables: bool) -> dict[str, Any]:
    """Size of ``db`` on day number ``day`` (days since the epoch): it grows a little daily."""
    s = seed_of("dbgrowth", cluster.cluster_id, db)
    n_tables = 3 + int(unit(s, 0) * 8)
    tables = []
    for i in range(n_tables):
        ts = s + 101 * (i + 1)
        rows0 = int(10 ** (3 + 4 * unit(ts, 0)))
        rows = int(rows0 * (1 + 0.001 * (1 + 2 * unit(ts, 1)) * max(0, day - GROWTH_START)))
        row_bytes = 80 + int(unit(ts, 2) * 900)
        tables.append({"table_name": TABLES[(i + int(unit(s, 1) * len(TABLES))) % len(TABLES)],
                       "row_count": rows, "data_size": rows * row_bytes,
                       "index_size": int(rows * row_bytes * (0.1 + 0.4 * unit(ts, 3)))})
    doc: dict[str, Any] = {
        "db_name": db,
        "row_count": sum(t["row_count"] for t in tables),
        "data_size": sum(t["data_size"] for t in tables),
        "index_size": sum(t["index_size"] for t in tables),
    }
    if with_tables:
        doc["tables"] = tables
    return doc
