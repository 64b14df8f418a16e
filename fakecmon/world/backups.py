"""Backup records: what ``backup`` jobs leave behind and ``/v2/backup getBackups`` lists.

Two JSON shapes, as CMON has them: the flat record s9s reads (no
``backup_record_version`` in the request) and the version 2 record of the Go
clients, where everything about the backup sits in ``metadata`` and where it is
stored in ``host_locations``. The store lives in ``world.extensions["backups"]``;
world files add records with a ``backups`` section.
"""

from __future__ import annotations

import re
import uuid
import zlib
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any

from fakecmon.timefmt import rfc3339
from fakecmon.world.loader import SECTIONS, Reader
from fakecmon.world.models import Cluster
from fakecmon.world.state import World
from fakecmon.world.yamlfile import Node

STATUSES = ("Completed", "Failed", "Running", "Pending", "Aborted")

#: cluster_type -> (default backup method, databases a backup holds)
METHODS: dict[str, tuple[str, list[str]]] = {
    "GALERA": ("xtrabackupfull", ["mysql", "sys"]),
    "REPLICATION": ("xtrabackupfull", ["mysql", "sys"]),
    "MYSQL_SINGLE": ("mysqldump", ["mysql", "sys"]),
    "GROUP_REPLICATION": ("xtrabackupfull", ["mysql", "sys"]),
    "MYSQLCLUSTER": ("ndb", ["mysql"]),
    "POSTGRESQL_SINGLE": ("pg_basebackup", ["postgres"]),
    "MONGODB": ("mongodump", ["admin", "config"]),
    "REDIS": ("redis-rdb", ["0"]),
    "VALKEY": ("valkey-rdb", ["0"]),
    "REDIS_SHARDED": ("redis-rdb", ["0"]),
    "ELASTIC": ("elasticsearch-snapshot", ["indices"]),
    "MSSQL_SINGLE": ("mssqlfull", ["master"]),
    "MSSQL_AO_ASYNC": ("mssqlfull", ["master"]),
    "CLICKHOUSE": ("clickhouse-backup", ["default"]),
}


def default_method(cluster: Cluster) -> str:
    """What CMON picks when a backup job names no method (MariaDB has its own xtrabackup)."""
    method = METHODS.get(cluster.cluster_type, ("mysqldump", []))[0]
    if cluster.vendor.lower() == "mariadb" and method.startswith("xtrabackup"):
        return method.replace("xtrabackup", "mariabackup")
    return method


def _file_name(method: str, created: float) -> tuple[str, str]:
    """A backup file name and its ``type`` for a method, in CMON's naming."""
    stamp = rfc3339(created)[:19].replace("T", "_").replace(":", "")
    if method == "mysqldump":
        return f"mysqldump_{stamp}_dbdumpfile.sql.gz", "data,schema"
    if "backup" in method and ("xtra" in method or "maria" in method):
        kind = "incr" if method.endswith("incr") else "full"
        return f"backup-{kind}-{stamp}.xbstream.gz", kind
    if method.startswith("pg"):
        return f"pg_basebackup_{stamp}.tar.gz", "full"
    if method.startswith("mongo") or method.startswith("percona-backup"):
        return f"mongodump_{stamp}.tar.gz", "full"
    return f"{method}_{stamp}.tar.gz", "full"


#: A field of CMON's ``backupsubdir`` markup (``s9s backup --subdirectory``), with an
#: optional printf width: ``%03i``.
_SUBDIR_FIELD = re.compile(r"%(0?)(\d{0,3})([BHiIJMOS%])")
#: Fields that differ from one backup to the next: a pattern without them names one directory.
_UNIQUE_FIELDS = frozenset("BIJ")


def expand_subdir(pattern: str, fields: dict[str, Any]) -> str:
    """The subdirectory a pattern names: %B start time, %H backup host, %i cluster id,
    %I backup id, %J job id, %M method, %O user, %S storage host, %% a percent sign
    (CMON's markup, s9s-backup(1)); a number pads the field (``%03i`` -> ``001``)."""
    def one(m: re.Match[str]) -> str:
        zero, width, key = m.groups()
        if key == "%":
            return "%"
        text = str(fields.get(key, ""))
        return text.rjust(int(width or 0), "0" if zero else " ")
    return _SUBDIR_FIELD.sub(one, pattern)


def subdir_is_fixed(pattern: str) -> bool:
    """Whether every backup made with this pattern lands in the same directory."""
    return not any(m.group(3) in _UNIQUE_FIELDS for m in _SUBDIR_FIELD.finditer(pattern))


@dataclass(slots=True)
class BackupRecord:
    backup_id: int
    cluster_id: int
    method: str
    created: float
    finished: float | None = None
    status: str = "Completed"
    job_id: int = 0
    backup_host: str = ""
    root_dir: str = ""
    title: str = "Untitled Backup Record"
    description: str = ""
    created_by: str = ""
    compressed: bool = True
    encrypted: bool = False
    databases: list[str] = field(default_factory=list)
    size: int = 0
    db_vendor: str = ""
    server_version: str = ""
    parent_id: int = 0
    retention: int = 31
    verified: bool = False
    config: dict[str, Any] = field(default_factory=dict)
    #: ``backup_individual_schemas``: a mysqldump file per database, each in its directory.
    individual: bool = False
    #: NDB node ids of the data nodes an ``ndb`` backup has files from.
    data_nodes: list[int] = field(default_factory=list)

    @property
    def location_uuid(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_OID, f"fakecmon-backup-{self.cluster_id}-{self.backup_id}"))

    def _entries(self) -> list[dict[str, Any]]:
        """``backup[]``: the files of the backup; a mysqldump to individual files has one
        entry and directory per database, an NDB native backup three files per data node."""
        if self.status != "Completed":
            return []
        name, kind = _file_name(self.method, self.created)
        if self.individual and self.method == "mysqldump":
            return [self._entry([db], [f"{db}/{name}"], kind) for db in self.databases]
        if self.method == "ndb" and self.data_nodes:
            stem = f"BACKUP-{self.backup_id}"
            return [self._entry(self.databases, [
                path for n in self.data_nodes
                for path in (f"{stem}-0.{n}.Data", f"{stem}.{n}.ctl", f"{stem}.{n}.log")],
                "full")]
        return [self._entry(self.databases, [name], kind)]

    def _entry(self, databases: list[str], paths: list[str], kind: str) -> dict[str, Any]:
        size = self.size // max(len(paths) * (len(self.databases) if self.individual else 1), 1)
        return {
            "class_name": "CmonBackupRecordEntry",
            "db": ",".join(databases),
            "start_time": rfc3339(int(self.created) + 1),
            "database_names": list(databases),
            "files": [{
                "class_name": "CmonBackupFile",
                "created": rfc3339(int(self.finished or self.created)),
                "hash": "md5:" + uuid.uuid5(uuid.NAMESPACE_OID, path).hex,
                "path": path,
                "size": size,
                "type": kind,
            } for path in paths],
        }

    def _verified(self) -> dict[str, Any]:
        return {"message": "", "status": "Verified" if self.verified else "NotVerified",
                "verified_time": rfc3339(self.finished) if self.verified else ""}

    def _config(self) -> dict[str, Any]:
        """The backup's settings, in the (mixed-case) names CMON stores them under."""
        directory, _, subdir = self.root_dir.rpartition("/")
        doc: dict[str, Any] = {
            "backupDir": directory, "backupHost": self.backup_host,
            "backupMethod": self.method, "backupSubDir": subdir,
            "backupToIndividualFiles": self.individual, "backup_failover": False,
            "backup_failover_host": "", "backup_retention": self.retention,
            "backup_title": self.title, "ccStorage": False, "checkHost": False,
            "compression": self.compressed, "compressionLevel": -1,
            "createdBy": self.created_by, "description": self.description,
            "encrypt_backup": self.encrypted, "excludeTables": None, "includeDatabases": None,
            "includeTables": None,
            "mysqldump_type": "DbDumpFile" if self.method == "mysqldump" else "",
            "netcat_port": 0, "pitr_compatible": False, "set_gtid_purged_off": True,
            "stanzaName": "", "storageHost": self.backup_host, "throttle_rate_iops": 0,
            "throttle_rate_netbw": 0, "usePigz": False, "wsrep_desync": False,
            "xtrabackupParallellism": 1, "xtrabackup_lock_ddl_per_table": False,
            "xtrabackup_locks": False,
        }
        doc.update(self.config)
        return doc

    def flat_json(self) -> dict[str, Any]:
        """The record as s9s reads it (``backup --list``)."""
        return {
            "class_name": "CmonBackupRecord",
            "backup_host": self.backup_host,
            "backup_name": "",
            "backup_tool_version": self.server_version,
            "chain_up": 0,
            "children": 0,
            "cid": self.cluster_id,
            "compressed": self.compressed,
            "created": rfc3339(int(self.created)),
            "created_by": self.created_by,
            "db_vendor": self.db_vendor,
            "description": self.description,
            "encrypted": self.encrypted,
            "encryption_md5": "",
            "finished": rfc3339(self.finished) if self.finished is not None else "",
            "id": self.backup_id,
            "job_id": self.job_id,
            "log_file": "",
            "lsn": 0,
            "method": self.method,
            "mysqldump_type": "DbDumpFile" if self.method == "mysqldump" else "",
            "parent_id": self.parent_id,
            "root_dir": self.root_dir,
            "schedule_id": 0,
            "server_version": self.server_version,
            "stanza_name": "",
            "status": self.status,
            "storage_host": self.backup_host,
            "timezone": "UTC",
            "title": self.title,
            "total_datadir_size": self.size * 3,
            "use_for_pitr": False,
            "version": 1,
            "backup": self._entries(),
            "config": self._config(),
            "verified": self._verified(),
        }

    def v2_json(self, cluster: Cluster | None) -> dict[str, Any]:
        """The record as the Go clients read it (``backup_record_version: 2``)."""
        created = rfc3339(int(self.created))
        finished = rfc3339(self.finished) if self.finished is not None else ""
        doc: dict[str, Any] = {
            "class_name": "CmonBackupRecordV2",
            "version": 2,
            "metadata": {
                "class_name": "CmonBackupMetadata",
                "id": self.backup_id,
                "cid": self.cluster_id,
                "job_id": self.job_id,
                "parent_id": self.parent_id,
                "chain_up": 0,
                "children": 0,
                "method": self.method,
                "status": self.status,
                "created": created,
                "finished": finished,
                "backup_host": self.backup_host,
                "compressed": self.compressed,
                "encrypted": self.encrypted,
                "created_by": self.created_by,
                "description": self.description,
                "title": self.title,
                "db_vendor": self.db_vendor,
                "server_version": self.server_version,
                "total_datadir_size": self.size * 3,
                "backup": self._entries(),
                "config": self._config(),
                "verified": self._verified(),
            },
            "host_locations": [{
                "class_name": "CmonBackupHostLocation",
                "type": "hostLocation",
                "created_time": created,
                "finished_time": finished,
                "being_deleted": False,
                "retention": self.retention,
                "host_location_uuid": self.location_uuid,
                "root_dir": self.root_dir,
                "storage_host": self.backup_host,
            }],
            "cloud_locations": [],
        }
        if cluster is not None:
            doc["cluster"] = {"class_name": "CmonClusterInfo", "cluster_id": cluster.cluster_id,
                              "cluster_name": cluster.cluster_name,
                              "cluster_type": cluster.cluster_type.lower()}
        return doc


class BackupStore:
    """Every backup record of the controller, by id (ids grow, never reused)."""

    def __init__(self) -> None:
        self.records: dict[int, BackupRecord] = {}
        self.next_id = 1

    def add(self, record: BackupRecord) -> BackupRecord:
        if not record.backup_id:
            record.backup_id = self.next_id
        self.records[record.backup_id] = record
        self.next_id = max(self.next_id, record.backup_id + 1)
        return record

    def new_id(self) -> int:
        return self.next_id

    def remove(self, backup_id: int) -> BackupRecord | None:
        return self.records.pop(backup_id, None)

    def remove_cluster(self, cluster_id: int) -> int:
        gone = [bid for bid, r in self.records.items() if r.cluster_id == cluster_id]
        for bid in gone:
            del self.records[bid]
        return len(gone)

    def listed(self, cluster_ids: Container[int], *, descending: bool = True,
               parent_id: int | None = None) -> list[BackupRecord]:
        """The records of these clusters, sorted by id (newest first by default)."""
        found = [r for r in self.records.values() if r.cluster_id in cluster_ids
                 and (parent_id is None or r.parent_id == parent_id)]
        found.sort(key=lambda r: r.backup_id, reverse=descending)
        return found


def backups_of(world: World) -> BackupStore:
    """The world's backup store (made on first use, so a world without backups has one too)."""
    store = world.extensions.get("backups")
    if store is None:
        store = world.extensions["backups"] = BackupStore()
    return store


def make_record(world: World, cluster: Cluster, *, created: float, finished: float | None,
                method: str | None = None, host: str = "", backupdir: str = "/root/backups",
                subdir: str = "BACKUP-%I", **fields: Any) -> BackupRecord:
    """A record for ``cluster`` with CMON's defaults (host, method, size, root_dir...)."""
    store = backups_of(world)
    bid = fields.pop("backup_id", 0) or store.new_id()
    method = method or default_method(cluster)
    if not host:
        host = cluster.hosts[0].hostname if cluster.hosts else world.hostname
    dbs = fields.pop("databases", None) or _databases(world, cluster)
    server_version = next((h.version for h in cluster.hosts if h.hostname == host),
                          cluster.version)
    subdir = expand_subdir(subdir, {
        "B": rfc3339(created)[:19].replace("T", "_").replace(":", ""), "H": host,
        "i": cluster.cluster_id, "I": bid, "J": fields.get("job_id", 0), "M": method,
        "O": fields.get("created_by", ""), "S": host})
    if method == "ndb":
        fields.setdefault("data_nodes", ndb_data_node_ids(cluster))
    return BackupRecord(
        backup_id=bid, cluster_id=cluster.cluster_id, method=method, created=created,
        finished=finished, backup_host=host, root_dir=f"{backupdir.rstrip('/')}/{subdir}",
        databases=dbs, size=fields.pop("size", 0) or 40_000_000 + (bid * 7_919_113) % 400_000_000,
        db_vendor=cluster.vendor, server_version=server_version, **fields)


def ndb_data_node_ids(cluster: Cluster) -> list[int]:
    """The NDB node ids of the data nodes: the management nodes come first (1, 2...)."""
    mgmds = sum(1 for h in cluster.hosts if h.nodetype == "mgmd")
    ndbds = sum(1 for h in cluster.hosts if h.nodetype == "ndbd")
    return list(range(mgmds + 1, mgmds + ndbds + 1))


def _databases(world: World, cluster: Cluster) -> list[str]:
    """The system databases of the cluster type plus the cluster's own (``databases`` area)."""
    names = list(METHODS.get(cluster.cluster_type, ("", []))[1])
    for db in world.extensions.get("databases", {}).get(cluster.cluster_id, []):
        name = db.get("database_name") if isinstance(db, dict) else None
        if isinstance(name, str) and name not in names:
            names.append(name)
    return names


# ---- binary log backups: derived from the full backups of MySQL-family clusters

#: Cluster types whose servers write binary logs (the others have no binlog backups).
BINLOG_TYPES = ("GALERA", "REPLICATION", "MYSQL_SINGLE", "GROUP_REPLICATION", "MYSQLCLUSTER")
#: Binary logs rotate hourly; at most this many are kept per full backup.
BINLOG_ROTATION = 3600.0
MAX_BINLOGS_PER_BACKUP = 24


@dataclass(slots=True)
class BinlogBackup:
    """One binary log file saved after a full backup, for point-in-time recovery."""

    binlog_id: int
    cluster_id: int
    full_bid: int
    hostname: str
    file_name: str
    path: str
    size: int
    created: float

    def to_json(self) -> dict[str, Any]:
        return {"class_name": "CmonBinlogBackup", "id": self.binlog_id, "cid": self.cluster_id,
                "cluster_id": self.cluster_id, "full_bid": self.full_bid,
                "hostname": self.hostname, "file_name": self.file_name, "path": self.path,
                "size": self.size, "created": rfc3339(int(self.created))}


def binlog_backups(world: World, cluster: Cluster, now: float) -> list[BinlogBackup]:
    """The binary logs saved after each completed full backup of ``cluster``, oldest first.

    The backup host's binary log rotates every hour; each full log written between
    the end of a full backup and the start of the next (or now) is kept with the
    backup, so the list grows with the controller clock. Files are numbered on from
    the oldest backup, named as the vendor names them.
    """
    if cluster.cluster_type not in BINLOG_TYPES:
        return []
    fulls = [r for r in backups_of(world).listed({cluster.cluster_id}, descending=False)
             if r.status == "Completed" and not r.method.endswith("incr")]
    prefix = "mysql-bin" if cluster.vendor.lower() == "mariadb" else "binlog"
    found: list[BinlogBackup] = []
    for i, record in enumerate(fulls):
        start = record.finished if record.finished is not None else record.created
        end = fulls[i + 1].created if i + 1 < len(fulls) else now
        count = min(max(int((end - start) // BINLOG_ROTATION), 0), MAX_BINLOGS_PER_BACKUP)
        for n in range(count):
            number = len(found) + 1
            name = f"{prefix}.{number:06d}"
            found.append(BinlogBackup(
                binlog_id=record.backup_id * 1000 + n + 1, cluster_id=cluster.cluster_id,
                full_bid=record.backup_id, hostname=record.backup_host, file_name=name,
                path=f"{record.root_dir}/binlogs/{name}",
                size=1_048_576 * (8 + zlib.crc32(f"{cluster.cluster_id}/{name}".encode()) % 120),
                created=start + (n + 1) * BINLOG_ROTATION))
    return found


# ---- the ``backups`` world file section

_FIELDS = ("backup_id", "cluster", "method", "status", "host", "ago", "duration", "size",
           "databases", "backupdir", "job_id", "title", "description", "created_by",
           "compressed", "encrypted", "verified", "retention")


def load_backups(r: Reader, data: Node, world: World) -> None:
    """``backups:`` a list of records; times are given as ``ago`` seconds before the world loads.

    ::

        backups:
          - {cluster: galera-prod, method: xtrabackupfull, ago: 86400, host: 10.0.1.12}
    """
    store = backups_of(world)
    for i, m in r.items(data, "backups"):
        place = f"backups[{i}]"
        r.only(m, place, _FIELDS)
        ref = r.get(m, place, "cluster", (str, int))
        cluster = (world.clusters.get(ref) if isinstance(ref, int)
                   else world.cluster_by_name(ref))
        if cluster is None:
            raise r.fail(m, "cluster", f"{place}.cluster", f"unknown cluster {ref!r}")
        bid = r.get(m, place, "backup_id", int, 0)
        if bid < 0 or bid in store.records:
            raise r.fail(m, "backup_id", f"{place}.backup_id",
                         f"backup id {bid} is negative or already used")
        status = r.get(m, place, "status", str, "Completed")
        if status not in STATUSES:
            raise r.fail(m, "status", f"{place}.status",
                         f"unknown status '{status}' (known: {', '.join(STATUSES)})")
        host = r.get(m, place, "host", str, "")
        if host and cluster.host(host) is None:
            raise r.fail(m, "host", f"{place}.host",
                         f"host '{host}' is not in cluster '{cluster.cluster_name}'")
        ago = r.get(m, place, "ago", float, 86400.0)
        duration = r.get(m, place, "duration", float, 300.0)
        if ago < 0 or duration < 0:
            raise r.fail(m, "ago", place, "'ago' and 'duration' must not be negative")
        created = world.created - ago
        record = make_record(
            world, cluster, created=created,
            finished=created + duration if status in ("Completed", "Failed") else None,
            method=r.get(m, place, "method", str, None), host=host,
            backupdir=r.get(m, place, "backupdir", str, "/root/backups"),
            backup_id=bid, status=status, size=r.get(m, place, "size", int, 0),
            databases=r.strings(m, place, "databases"),
            job_id=r.get(m, place, "job_id", int, 0),
            title=r.get(m, place, "title", str, "Untitled Backup Record"),
            description=r.get(m, place, "description", str, ""),
            created_by=r.get(m, place, "created_by", str, "system"),
            compressed=r.get(m, place, "compressed", bool, True),
            encrypted=r.get(m, place, "encrypted", bool, False),
            verified=r.get(m, place, "verified", bool, False),
            retention=r.get(m, place, "retention", int, 31))
        store.add(record)


SECTIONS["backups"] = load_backups
