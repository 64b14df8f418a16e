"""The database software CMON can deploy: cluster types, vendors, versions.

One catalogue answers ``/v2/discovery getSupportedClusterTypes`` and the
``/v2/dbversions`` operations, so both always agree. Major versions are what
create_cluster jobs take; patch versions are what a vendor repository offers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClusterType:
    name: str                       # as clients send it in job_data.cluster_type
    long_name: str
    vendors: dict[str, dict[str, tuple[str, ...]]]   # vendor -> major -> patch versions
    #: The name getSupportedClusterTypes lists it by, where CMON's differs (sic: CMON
    #: spells the NDB one "myqlcluster"), and its short name there.
    cmon_name: str = ""
    short_name: str = ""

    @property
    def type_name(self) -> str:
        return self.cmon_name or self.name


_MYSQL = {
    "oracle": {"8.0": ("8.0.39", "8.0.40", "8.0.41"), "8.4": ("8.4.2", "8.4.3", "8.4.4")},
    "percona": {"8.0": ("8.0.39-30", "8.0.40-31", "8.0.41-32"),
                "8.4": ("8.4.2-2", "8.4.3-3")},
    "mariadb": {"10.6": ("10.6.19", "10.6.20"), "10.11": ("10.11.9", "10.11.10"),
                "11.4": ("11.4.3", "11.4.4")},
}

CLUSTER_TYPES: tuple[ClusterType, ...] = (
    ClusterType("mysql_single", "MySQL / MariaDB standalone", _MYSQL),
    ClusterType("replication", "MySQL Replication", _MYSQL, short_name="Replication"),
    ClusterType("galera", "Galera Cluster for MySQL",
                {"percona": {"8.0": ("8.0.39-30.1", "8.0.40-31.1")},
                 "mariadb": _MYSQL["mariadb"]}, short_name="Galera"),
    ClusterType("group_replication", "MySQL Group Replication",
                {"oracle": _MYSQL["oracle"], "percona": _MYSQL["percona"]},
                cmon_name="groupreplication", short_name="Group Replication"),
    ClusterType("mysqlcluster", "MySQL NDB Cluster",
                {"oracle": {"8.0": ("8.0.39", "8.0.40"), "8.4": ("8.4.2", "8.4.3")}},
                cmon_name="myqlcluster", short_name="NDB Cluster"),
    ClusterType("postgresql_single", "PostgreSQL Cluster",
                {"default": {"13": ("13.16", "13.18"), "14": ("14.13", "14.15"),
                             "15": ("15.8", "15.10"), "16": ("16.4", "16.6"),
                             "17": ("17.0", "17.2")},
                 "enterprisedb": {"15": ("15.8",), "16": ("16.4",)}},
                cmon_name="postgresql", short_name="PostgreSQL"),
    ClusterType("mongodb", "MongoDB Cluster",
                {"percona": {"6.0": ("6.0.18-15",), "7.0": ("7.0.14-8", "7.0.15-9")},
                 "10gen": {"6.0": ("6.0.18",), "7.0": ("7.0.14", "7.0.15"),
                           "8.0": ("8.0.3", "8.0.4")}}, short_name="MongoDB"),
    ClusterType("redis", "Redis with Sentinel",
                {"redis": {"6": ("6.2.16",), "7": ("7.2.6", "7.4.1")}}),
    ClusterType("valkey", "Valkey with Sentinel",
                {"valkey": {"7": ("7.2.7",), "8": ("8.0.1",)}}),
    ClusterType("redis_sharded", "Redis / Valkey cluster (sharded)",
                {"redis": {"7": ("7.2.6", "7.4.1")}, "valkey": {"8": ("8.0.1",)}}),
    ClusterType("elastic", "Elasticsearch",
                {"elasticsearch": {"7.17": ("7.17.24",), "8.15": ("8.15.3",)}}),
    ClusterType("mssql_single", "Microsoft SQL Server standalone",
                {"microsoft": {"2019": ("15.0.4395.2",), "2022": ("16.0.4145.4",)}}),
    ClusterType("mssql_ao_async", "Microsoft SQL Server Always On (asynchronous)",
                {"microsoft": {"2019": ("15.0.4395.2",), "2022": ("16.0.4145.4",)}}),
    ClusterType("clickhouse", "ClickHouse",
                {"clickhouse": {"24.8": ("24.8.6.70",), "24.10": ("24.10.2.80",)}}),
)

BY_NAME = {n: t for t in CLUSTER_TYPES for n in {t.name, t.type_name}}
#: The names CMON lists the types by, in both getClusterTypes and getSupportedClusterTypes.
TYPE_NAMES: tuple[str, ...] = tuple(t.type_name for t in CLUSTER_TYPES)


def cluster_type(name: str) -> ClusterType | None:
    return BY_NAME.get(name.lower())


def vendors() -> list[str]:
    return sorted({v for t in CLUSTER_TYPES for v in t.vendors})
