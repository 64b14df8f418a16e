"""CMON's metatype catalogue: the classes its JSON objects belong to, with their properties.

``getMetaTypes`` lists the types, ``getMetaTypeInfo`` the properties of one type
(its own and those it inherits). The properties listed are the fields fakecmon
puts in its own objects of that class, so the catalogue describes what clients
actually receive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# type name -> (parent type name, description)
TYPES: dict[str, tuple[str, str]] = {
    "CmonAccount": ("", "A database account (user) on a cluster."),
    "CmonAlarm": ("", "One incident the controller raised."),
    "CmonAlarmStatistics": ("", "Counts of alarms by severity."),
    "CmonBackupSchedule": ("", "A backup that runs on a schedule."),
    "CmonCdtEntry": ("", "An entry (folder or object) of the object tree."),
    "CmonClusterConfig": ("", "The configuration files of a cluster."),
    "CmonClusterInfo": ("", "What the controller knows about a cluster."),
    "CmonContainer": ("", "A virtual machine or container on a container server."),
    "CmonContainerServer": ("CmonHost", "A server that runs containers or virtual machines."),
    "CmonController": ("CmonHost", "The host of a controller."),
    "CmonCpuStats": ("CmonStats", "CPU usage samples."),
    "CmonDataBase": ("", "A database (schema) on a cluster."),
    "CmonDatabaseStats": ("CmonStats", "Size samples of a database."),
    "CmonDateTime": ("", "A date and time."),
    "CmonDiskInfo": ("", "A disk with its partitions."),
    "CmonDiskStats": ("CmonStats", "Disk and file system samples."),
    "CmonEvent": ("", "Something that happened in the controller or on a managed host."),
    "CmonFile": ("", "A file on a host."),
    "CmonGaleraHost": ("CmonMySqlHost", "A node of a Galera cluster."),
    "CmonGroup": ("", "A group of controller users."),
    "CmonGroupReplHost": ("CmonMySqlHost", "A node of a MySQL group replication cluster."),
    "CmonHaProxyHost": ("CmonHost", "A HAProxy load balancer."),
    "CmonHaProxyStats": ("CmonStats", "HAProxy samples."),
    "CmonHost": ("", "A computer managed by the controller."),
    "CmonJobInstance": ("", "A job the controller runs or ran."),
    "CmonJobMessage": ("", "A message a job wrote to its log."),
    "CmonJobStatistics": ("", "Counts of jobs by state."),
    "CmonKeepalivedHost": ("CmonHost", "A keepalived node holding a virtual IP."),
    "CmonLogMessage": ("", "An entry of the controller's log."),
    "CmonMaintenancePeriod": ("", "A time when a host or cluster is under maintenance."),
    "CmonMaxScaleHost": ("CmonHost", "A MaxScale proxy."),
    "CmonMemoryStats": ("CmonStats", "Memory usage samples."),
    "CmonMongoHost": ("CmonHost", "A MongoDB node."),
    "CmonMongoStats": ("CmonStats", "MongoDB samples."),
    "CmonMsSqlHost": ("CmonHost", "A Microsoft SQL Server node."),
    "CmonMySqlHost": ("CmonHost", "A MySQL or MariaDB server."),
    "CmonNdbHost": ("CmonHost", "A management, data or API node of a MySQL NDB cluster."),
    "CmonNdbStats": ("CmonStats", "MySQL NDB cluster samples."),
    "CmonNetworkStats": ("CmonStats", "Network interface samples."),
    "CmonPgBouncerHost": ("CmonHost", "A PgBouncer connection pooler."),
    "CmonPostgreSqlHost": ("CmonHost", "A PostgreSQL server."),
    "CmonPrometheusHost": ("CmonHost", "A Prometheus server."),
    "CmonProxySqlHost": ("CmonHost", "A ProxySQL proxy."),
    "CmonProxySqlStats": ("CmonStats", "ProxySQL samples."),
    "CmonPublicKey": ("", "A public key a user logs in with."),
    "CmonRedisHost": ("CmonHost", "A Redis or Valkey node."),
    "CmonReport": ("", "A report the controller generated."),
    "CmonSqlStats": ("CmonStats", "SQL server samples."),
    "CmonStats": ("", "Basic type for statistical samples of a host."),
    "CmonTcpStats": ("CmonStats", "TCP samples."),
    "CmonTimeZone": ("", "A time zone."),
    "CmonUser": ("", "A user of the controller."),
    "CmonVariant": ("", "A value of any type."),
    "CmonVerbatim": ("", "Preformatted text in a document."),
}

# (name, type, default, description, writable, public, unit)
Prop = tuple[str, str, Any, str, bool, bool, str]

_OWNED: list[Prop] = [
    ("acl", "String", "", "The access control list, as a string.", False, True, ""),
    ("cdt_path", "String", "", "The folder of the object in the object tree.", False, True, ""),
    ("owner_user_id", "Int", 0, "The id of the owner user.", False, True, ""),
    ("owner_group_id", "Int", 0, "The id of the owner group.", False, True, ""),
]

_STATS: list[Prop] = [
    ("created", "Ulonglong", 0, "When the sample was taken.", False, True, "s"),
    ("hostid", "Int", 0, "The id of the host the sample is about.", False, True, ""),
    ("interval", "Ulonglong", 0, "The length of the sampled period.", False, True, "ms"),
    ("sampleends", "Ulonglong", 0, "When the sampled period ended.", False, True, "s"),
    ("samplekey", "String", "", "A key naming the series of the sample.", False, True, ""),
]

PROPERTIES: dict[str, list[Prop]] = {
    "CmonJobStatistics": [
        ("cluster_id", "Int", 0, "The cluster the jobs are of.", False, True, ""),
        ("by_state", "Map", {}, "How many jobs are in each state.", False, True, ""),
    ],
    "CmonAlarmStatistics": [
        ("cluster_id", "Int", 0, "The cluster the alarms are of.", False, True, ""),
        ("created_after", "String", "", "Alarms created after this are counted.", False, True, ""),
        ("critical", "Int", 0, "The number of critical alarms.", False, True, ""),
        ("reported_after", "String", "", "Alarms reported after this are counted.", False, True, ""),
        ("warning", "Int", 0, "The number of warnings.", False, True, ""),
    ],
    "CmonFile": [
        ("access", "Int", 0, "The access bits, in decimal.", False, True, ""),
        ("changed", "String", "", "When the metadata last changed.", False, True, ""),
        ("content/as_string", "String", "", "The content of the file, or part of it.", False, True, ""),
        ("content/end_index", "Ulonglong", 0, "Where the returned content ends.", False, True, ""),
        ("content/start_index", "Ulonglong", 0, "Where the returned content starts.", False, True, ""),
        ("exists", "Bool", True, "True if the file exists.", False, True, ""),
        ("full_path", "String", "", "The path name of the file.", False, True, ""),
        ("group", "String", "", "The name of the owner group.", False, True, ""),
        ("hard_links", "Int", 0, "How many hard links the file has.", False, True, ""),
        ("host_name", "String", "", "The host that holds the file.", False, False, ""),
        ("modified", "String", "", "When the content last changed.", False, True, ""),
        ("size", "Ulonglong", 0, "The size of the file.", False, True, ""),
        ("used", "String", "", "When the file was last read or written.", False, True, ""),
        ("user", "String", "", "The name of the owner.", False, True, ""),
    ],
    "CmonUser": _OWNED + [
        ("user_id", "Int", 0, "The unique id of the user.", False, True, ""),
        ("user_name", "String", "", "The name the user logs in with.", True, True, ""),
        ("first_name", "String", "", "The first name of the user.", True, True, ""),
        ("last_name", "String", "", "The last name of the user.", True, True, ""),
        ("title", "String", "", "The title of the user.", True, True, ""),
        ("email_address", "String", "", "The email address of the user.", True, True, ""),
        ("disabled", "Bool", False, "True if the user may not log in.", True, True, ""),
        ("suspended", "Bool", False, "True if the account is suspended.", False, True, ""),
        ("created", "String", "", "When the user was created.", False, True, ""),
        ("last_login", "String", "", "When the user last logged in.", False, True, ""),
        ("last_failed_login", "String", "", "When a login of the user last failed.", False, True, ""),
        ("n_failed_logins", "Int", 0, "Failed logins since the last success.", False, True, ""),
        ("origin", "String", "CmonDb", "Where the user comes from (CmonDb, LDAP).", False, True, ""),
        ("groups", "List", [], "The groups of the user.", True, True, ""),
        ("timezone", "Map", {}, "The time zone of the user.", True, True, ""),
    ],
    "CmonGroup": _OWNED + [
        ("owner_user_name", "String", "", "The name of the owner user.", False, True, ""),
        ("owner_group_name", "String", "", "The name of the owner group.", False, True, ""),
        ("tags", "List", [], "The tags of the group.", True, True, ""),
        ("group_id", "Int", 0, "The unique id of the group.", False, True, ""),
        ("group_name", "String", "", "The name of the group.", True, True, ""),
        ("created", "String", "", "When the group was created.", False, True, ""),
    ],
    "CmonClusterInfo": _OWNED + [
        ("cluster_id", "Int", 0, "The unique id of the cluster.", False, True, ""),
        ("cluster_name", "String", "", "The name of the cluster.", True, True, ""),
        ("cluster_type", "String", "", "The type of the cluster (GALERA, POSTGRESQL_SINGLE...).", False, True, ""),
        ("state", "String", "", "The state of the cluster (STARTED, DEGRADED...).", False, True, ""),
        ("status_text", "String", "", "The state of the cluster in words.", False, True, ""),
        ("vendor", "String", "", "The vendor of the database software.", False, True, ""),
        ("version", "String", "", "The version of the database software.", False, True, ""),
        ("tags", "List", [], "The tags of the cluster.", True, True, ""),
        ("maintenance_mode_active", "Bool", False, "True while the cluster is under maintenance.", False, True, ""),
        ("cluster_auto_recovery", "Bool", True, "True if the controller recovers the cluster.", True, True, ""),
        ("node_auto_recovery", "Bool", True, "True if the controller recovers failed nodes.", True, True, ""),
        ("hosts", "List", [], "The hosts of the cluster.", False, True, ""),
    ],
    "CmonHost": _OWNED + [
        ("hostId", "Int", 0, "The unique id of the host.", False, True, ""),
        ("hostname", "String", "", "The name or address of the host.", False, True, ""),
        ("port", "Int", 0, "The port the service listens on.", False, True, ""),
        ("ip", "String", "", "The IP address of the host.", False, True, ""),
        ("clusterid", "Int", 0, "The cluster the host belongs to.", False, True, ""),
        ("hoststatus", "String", "", "The state of the host (CmonHostOnline...).", False, True, ""),
        ("nodetype", "String", "", "The service the host runs.", False, True, ""),
        ("role", "String", "", "The role of the host in its cluster.", False, True, ""),
        ("version", "String", "", "The version of the service.", False, True, ""),
        ("connected", "Bool", False, "True if the controller reaches the service.", False, True, ""),
        ("datadir", "String", "", "The data directory of the service.", False, True, ""),
        ("lastseen", "Ulonglong", 0, "When the host was last seen.", False, True, "s"),
        ("uptime", "Ulonglong", 0, "How long the service has been running.", False, True, "s"),
        ("maintenance_mode_active", "Bool", False, "True while the host is under maintenance.", False, True, ""),
        ("message", "String", "", "The state of the host in words.", False, True, ""),
        ("distribution", "Map", {}, "The operating system of the host.", False, True, ""),
    ],
    "CmonJobInstance": _OWNED + [
        ("job_id", "Int", 0, "The unique id of the job.", False, True, ""),
        ("cluster_id", "Int", 0, "The cluster the job runs on (0: the controller).", False, True, ""),
        ("title", "String", "", "The title of the job.", True, True, ""),
        ("status", "String", "DEFINED", "The state of the job.", True, True, ""),
        ("status_text", "String", "", "What the job is doing.", False, True, ""),
        ("progress_percent", "Double", 0, "How far the job is.", False, True, "%"),
        ("created", "String", "", "When the job was created.", False, True, ""),
        ("started", "String", "", "When the job started.", False, True, ""),
        ("ended", "String", "", "When the job ended.", False, True, ""),
        ("exit_code", "Int", 0, "The exit code of the job.", False, True, ""),
        ("user_id", "Int", 0, "The user who created the job.", False, True, ""),
        ("user_name", "String", "", "The name of the user who created the job.", False, True, ""),
        ("group_name", "String", "", "The group of the user who created the job.", False, True, ""),
        ("job_spec", "Map", {}, "The command and the data of the job.", False, True, ""),
        ("tags", "List", [], "The tags of the job.", True, True, ""),
        ("can_be_aborted", "Bool", False, "True if the job can be killed.", False, True, ""),
        ("can_be_deleted", "Bool", True, "True if the job can be deleted.", False, True, ""),
    ],
    "CmonAlarm": [
        ("alarm_id", "Int", 0, "The unique id of the alarm.", False, True, ""),
        ("cluster_id", "Int", 0, "The cluster of the alarm.", False, True, ""),
        ("component_name", "String", "", "The part of the system the alarm is about.", False, True, ""),
        ("type_name", "String", "", "What kind of alarm it is.", False, True, ""),
        ("severity_name", "String", "", "ALARM_WARNING or ALARM_CRITICAL.", False, True, ""),
        ("title", "String", "", "The title of the alarm.", False, True, ""),
        ("message", "String", "", "What happened.", False, True, ""),
        ("recommendation", "String", "", "What to do about it.", False, True, ""),
        ("hostname", "String", "", "The host the alarm is about.", False, True, ""),
        ("ignored", "Int", 0, "1 if the alarm is ignored.", True, True, ""),
        ("counter", "Int", 1, "How many times the alarm was raised.", False, True, ""),
        ("created", "String", "", "When the alarm was first raised.", False, True, ""),
        ("reported", "String", "", "When the alarm was last raised.", False, True, ""),
    ],
    "CmonAlarmStatistics": [
        ("cluster_id", "Int", 0, "The cluster the alarms are counted for.", False, True, ""),
        ("created_after", "String", "", "Alarms created after this are counted.", False, True,
         ""),
        ("critical", "Int", 0, "The number of critical alarms.", False, True, ""),
        ("reported_after", "String", "", "Alarms reported after this are counted.", False,
         True, ""),
        ("warning", "Int", 0, "The number of warnings.", False, True, ""),
    ],
    "CmonStats": _STATS,
    "CmonCpuStats": [
        ("cpuid", "Int", 0, "The CPU the sample is about.", False, True, ""),
        ("cpumhz", "Double", 0, "The clock speed of the CPU.", False, True, "MHz"),
        ("cpumodelname", "String", "", "The model of the CPU.", False, True, ""),
        ("cputemp", "Double", 0, "The temperature of the CPU.", False, True, "C"),
        ("busy", "Double", 0, "The busy ratio of the CPU.", False, True, ""),
        ("idle", "Double", 0, "The idle ratio of the CPU.", False, True, ""),
        ("iowait", "Double", 0, "The ratio of time waiting for I/O.", False, True, ""),
        ("sys", "Double", 0, "The ratio of time in the kernel.", False, True, ""),
        ("user", "Double", 0, "The ratio of time in user space.", False, True, ""),
        ("steal", "Double", 0, "The ratio of time stolen by the hypervisor.", False, True, ""),
        ("loadavg1", "Double", 0, "The load average of the last minute.", False, True, ""),
        ("loadavg5", "Double", 0, "The load average of the last five minutes.", False, True, ""),
        ("loadavg15", "Double", 0, "The load average of the last fifteen minutes.", False, True, ""),
        ("uptime", "Ulonglong", 0, "How long the host has been up.", False, True, "s"),
    ],
    "CmonMemoryStats": [
        ("memoryutilization", "Double", 0, "The used ratio of the memory.", False, True, ""),
        ("ramtotal", "Ulonglong", 0, "The size of the memory.", False, True, "byte"),
        ("ramfree", "Ulonglong", 0, "The free memory.", False, True, "byte"),
        ("ramfreemin", "Ulonglong", 0, "The least free memory in the period.", False, True, "byte"),
        ("ramcached", "Ulonglong", 0, "The memory used as cache.", False, True, "byte"),
        ("rambuffers", "Ulonglong", 0, "The memory used as buffers.", False, True, "byte"),
        ("swaptotal", "Ulonglong", 0, "The size of the swap space.", False, True, "byte"),
        ("swapfree", "Ulonglong", 0, "The free swap space.", False, True, "byte"),
        ("swaputilization", "Double", 0, "The used ratio of the swap space.", False, True, ""),
        ("pgpgin", "Ulonglong", 0, "Pages read in the period.", False, True, ""),
        ("pgpgout", "Ulonglong", 0, "Pages written in the period.", False, True, ""),
        ("pswpin", "Ulonglong", 0, "Pages swapped in in the period.", False, True, ""),
        ("pswpout", "Ulonglong", 0, "Pages swapped out in the period.", False, True, ""),
    ],
    "CmonDiskStats": [
        ("device", "String", "", "The partition.", False, True, ""),
        ("mountpoint", "String", "", "Where the partition is mounted.", False, True, ""),
        ("filesystem", "String", "", "The file system of the partition.", False, True, ""),
        ("total", "Ulonglong", 0, "The size of the file system.", False, True, "byte"),
        ("free", "Ulonglong", 0, "The free space of the file system.", False, True, "byte"),
        ("blocksize", "Int", 4096, "The block size.", False, True, "byte"),
        ("reads", "Ulonglong", 0, "Reads in the period.", False, True, ""),
        ("writes", "Ulonglong", 0, "Writes in the period.", False, True, ""),
        ("readspersec", "Double", 0, "Reads per second.", False, True, "1/s"),
        ("writespersec", "Double", 0, "Writes per second.", False, True, "1/s"),
        ("utilization", "Double", 0, "The busy ratio of the device.", False, True, ""),
    ],
    "CmonNetworkStats": [
        ("interface", "String", "", "The network interface.", False, True, ""),
        ("rxBytes", "Ulonglong", 0, "Bytes received in the period.", False, True, "byte"),
        ("txBytes", "Ulonglong", 0, "Bytes sent in the period.", False, True, "byte"),
        ("rxPackets", "Ulonglong", 0, "Packets received in the period.", False, True, ""),
        ("txPackets", "Ulonglong", 0, "Packets sent in the period.", False, True, ""),
        ("rxErrors", "Ulonglong", 0, "Receive errors in the period.", False, True, ""),
        ("txErrors", "Ulonglong", 0, "Transmit errors in the period.", False, True, ""),
    ],
    "CmonEvent": [
        ("event_class", "String", "", "What the event is about (EventJob, EventHost...).", False, True, ""),
        ("event_name", "String", "", "What happened (Created, Changed...).", False, True, ""),
        ("event_origins", "Map", {}, "Where and when the event was raised.", False, True, ""),
        ("event_specifics", "Map", {}, "The objects the event is about.", False, True, ""),
    ],
    "CmonTimeZone": [
        ("name", "String", "", "The name of the time zone.", False, True, ""),
        ("abbreviation", "String", "", "The short name of the time zone.", False, True, ""),
        ("offset", "Int", 0, "The offset from UTC.", False, True, "min"),
        ("use_dst", "Bool", False, "True if daylight saving time applies.", False, True, ""),
    ],
    "CmonPublicKey": [
        ("name", "String", "", "The name of the key.", False, True, ""),
        ("key", "String", "", "The key in PEM format.", False, True, ""),
        ("created", "String", "", "When the key was added.", False, True, ""),
    ],
    "CmonAccount": [
        ("user_name", "String", "", "The name of the account.", True, True, ""),
        ("host_allow", "String", "%", "The hosts the account may connect from.", True, True, ""),
        ("password", "String", "", "The password of the account.", True, False, ""),
        ("grants", "String", "", "The privileges of the account.", True, True, ""),
        ("max_connections", "Int", 0, "The most connections the account may open.", True, True, ""),
        ("connections", "Int", 0, "The connections the account has open.", False, True, ""),
    ],
    "CmonDataBase": [
        ("database_name", "String", "", "The name of the database.", True, True, ""),
        ("database_size", "Ulonglong", 0, "The size of the database.", False, True, "byte"),
        ("number_of_tables", "Int", 0, "How many tables the database has.", False, True, ""),
        ("cluster_id", "Int", 0, "The cluster of the database.", False, True, ""),
    ],
}


@dataclass(frozen=True)
class MetaType:
    name: str
    parent: str
    description: str

    def to_json(self) -> dict[str, Any]:
        return {"description": self.description, "parent_type_name": self.parent,
                "type_name": self.name}


def metatypes() -> list[MetaType]:
    return [MetaType(name, parent, text) for name, (parent, text) in sorted(TYPES.items())]


def find(name: str) -> MetaType | None:
    if name not in TYPES:
        return None
    parent, text = TYPES[name]
    return MetaType(name, parent, text)


def properties(name: str) -> list[dict[str, Any]]:
    """The property specs of ``name``: inherited ones first, each named by its owner type."""
    chain = []
    current = name
    while current:
        chain.append(current)
        current = TYPES.get(current, ("", ""))[0]
    out = []
    for owner in reversed(chain):
        for prop, kind, default, text, writable, public, unit in PROPERTIES.get(owner, []):
            spec: dict[str, Any] = {
                "class_name": "CmonParamSpec",
                "default_value": default,
                "description": text,
                "is_counter": False,
                "is_public": public,
                "is_writable": writable,
                "owner_type_name": owner,
                "property_name": prop,
                "type_name": kind,
            }
            if unit:
                spec["unit"] = unit
            out.append(spec)
    return out
