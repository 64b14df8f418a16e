"""``fakecmon world generate``: a production-sized world file, the same for the same seed.

UIs, exporters and cmon-proxy need to be tried against a controller with a thousand
clusters and a hundred thousand jobs; so does the benchmark. The file is plain world
YAML (one flow mapping a line, so it stays readable and loads fast) that any
``fakecmon serve --world`` takes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: (cluster_type, vendor, version, hosts' role of the first node, of the others)
KINDS = (
    ("GALERA", "percona", "8.0", "", ""),
    ("REPLICATION", "oracle", "8.0", "master", "slave"),
    ("POSTGRESQL_SINGLE", "postgresql", "16", "master", "slave"),
    ("MONGODB", "mongodb", "7.0", "shardsvr", "shardsvr"),
    ("REDIS", "redis", "7.2", "master", "slave"),
)
COMMANDS = ("rolling_restart", "backup", "restart", "verify_backup", "start_cluster",
            "stop_cluster", "addnode", "reboot")
ENDINGS = ("FINISHED",) * 8 + ("FAILED", "ABORTED")
METHODS = {"GALERA": "xtrabackupfull", "REPLICATION": "xtrabackupfull",
           "POSTGRESQL_SINGLE": "pg_basebackup", "MONGODB": "mongodump", "REDIS": "redis"}
ALARMS = ("ClusterTimeDrift", "BackupFailed", "DiskSpaceUsageHigh", "CpuUsageHigh",
          "MemoryUsageHigh")


@dataclass
class Shape:
    """How big a world to make."""

    clusters: int = 1000
    hosts: int = 3          # per cluster
    jobs: int = 100_000
    users: int = 2000
    backups: int = 2000
    alarms: int = 500
    seed: int = 1


def _q(text: str) -> str:
    """A YAML double-quoted scalar (the generator only writes plain ASCII)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lines(shape: Shape) -> Iterator[str]:
    """The world file, line by line."""
    rnd = random.Random(shape.seed)
    yield f"# fakecmon world generate: {shape.clusters} clusters x {shape.hosts} hosts, " \
          f"{shape.jobs} jobs, {shape.users} users, {shape.backups} backups, " \
          f"{shape.alarms} alarms (seed {shape.seed})"
    yield "controller:"
    yield f"  controller_id: {_q(f'00000000-0000-4000-8000-{shape.seed:012d}')}"
    yield '  version: "2.3.1"'
    yield "  hostname: 10.0.0.1"
    yield "  rpc_key: rpc-secret-key"
    teams = max(1, min(50, shape.users // 40))
    yield "groups:"
    yield "  - {group_name: admins, group_id: 1}"
    yield "  - {group_name: users, group_id: 2}"
    yield "  - {group_name: readers, group_id: 3}"
    for t in range(teams):
        yield f"  - {{group_name: team{t + 1:02d}, group_id: {t + 4}}}"
    yield "users:"
    yield "  - {user_name: system, user_id: 1, password: secret, groups: [admins], " \
          "first_name: System, last_name: User, email_address: system@example.com}"
    yield "  - {user_name: admin, user_id: 2, password: admin, groups: [admins], " \
          "first_name: Ada, last_name: Admin, email_address: admin@example.com}"
    yield "  - {user_name: ccrpc, user_id: 3, password: rpc-secret-key, groups: [admins]}"
    yield "  - {user_name: readeruser, user_id: 4, password: s3cr3tP455, groups: [readers]}"
    for u in range(4, max(4, shape.users)):
        team = f"team{u % teams + 1:02d}"
        yield (f"  - {{user_name: user{u + 1:05d}, user_id: {u + 1}, password: pass{u + 1}, "
               f"groups: [{team}, users], first_name: User, last_name: N{u + 1}, "
               f"email_address: user{u + 1}@example.com}}")
    yield "clusters:"
    types: list[str] = []
    for c in range(shape.clusters):
        ctype, vendor, version, first, other = KINDS[c % len(KINDS)]
        types.append(ctype)
        state = "DEGRADED" if rnd.random() < 0.05 else "STARTED"
        yield f"  - cluster_id: {c + 1}"
        yield f"    cluster_name: cluster-{c + 1:04d}"
        yield f"    cluster_type: {ctype}"
        yield f"    vendor: {vendor}"
        yield f"    version: {_q(version)}"
        yield f"    tags: [gen, {ctype.lower()}, team{c % teams + 1:02d}]"
        yield "    hosts:"
        for h in range(shape.hosts):
            role = first if h == 0 else other
            status = "CmonHostOffline" if state == "DEGRADED" and h == shape.hosts - 1 \
                else "CmonHostOnline"
            extra = f", role: {role}" if role else ""
            yield (f"      - {{hostname: 10.{c // 250 + 1}.{c % 250}.{h + 10}{extra}, "
                   f"hoststatus: {status}}}")
    if shape.jobs:
        yield "jobs:"
    users = max(4, shape.users)
    for j in range(shape.jobs):
        cid = rnd.randrange(shape.clusters) + 1 if shape.clusters else 0
        command = COMMANDS[rnd.randrange(len(COMMANDS))]
        user = "system" if j % 3 else f"user{rnd.randrange(4, users) + 1:05d}" \
            if users > 4 else "admin"
        ago = (shape.jobs - j) * 30 + rnd.randrange(30)
        yield (f"  - {{job_id: {j + 1}, command: {command}, cluster: {cid}, "
               f"status: {ENDINGS[rnd.randrange(len(ENDINGS))]}, user: {user}, ago: {ago}, "
               f"duration: {rnd.randrange(5, 600)}}}")
    if shape.backups and shape.clusters:
        yield "backups:"
    for b in range(shape.backups if shape.clusters else 0):
        c = rnd.randrange(shape.clusters)
        yield (f"  - {{backup_id: {b + 1}, cluster: {c + 1}, method: {METHODS[types[c]]}, "
               f"host: 10.{c // 250 + 1}.{c % 250}.10, ago: {(shape.backups - b) * 600}, "
               f"duration: {rnd.randrange(60, 3600)}}}")
    if shape.alarms and shape.clusters:
        yield "alarms:"
    for _ in range(shape.alarms if shape.clusters else 0):
        c = rnd.randrange(shape.clusters)
        yield (f"  - {{cluster: {c + 1}, type_name: {ALARMS[rnd.randrange(len(ALARMS))]}, "
               f"hostname: 10.{c // 250 + 1}.{c % 250}.10, created: -{rnd.randrange(1, 72)}h}}")


def write(shape: Shape, path: Path) -> int:
    """Write the world file; returns its size in bytes."""
    text = "\n".join(lines(shape)) + "\n"
    path.write_text(text, encoding="utf-8")
    return len(text.encode())
