"""What the Go clients, the Terraform provider and the generated SDKs do on the wire, and
how they decode the replies (contract/clients/go-clients.md, sdk-and-openapi.md).

Wire: raw TLS sockets with each client's exact headers. ``HttpConn`` is one HTTP/1.1
keep-alive connection (Go's transport); ``one_shot()`` opens a connection per call (the
Python SDK builds a new ``ApiClient``, hence a new pool, for every call).

Decoding: ``go_decode(doc, TYPE)`` lists what makes Go's ``json.Unmarshal`` fail on a
reply; the type descriptors below transcribe the clients' structs. Go decodes the whole
reply or nothing: one mistyped field anywhere fails it, which is why the tests check
every reply whole. ``null`` decodes into anything (Go leaves the zero value); JSON keys
match struct fields exactly or else case-insensitively; unknown keys are ignored.
"""

from __future__ import annotations

import gzip
import re
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from rawtls import insecure_context

# ============================================================== wire


@dataclass
class Reply:
    """One HTTP reply as a client reads it."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    interim: list[int] = field(default_factory=list)   # 1xx statuses before the reply
    connection: int = 0                                # which connection carried it

    def header(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


class HttpConn:
    """HTTP/1.1 over TLS as Go's ``http.Transport`` does it: one connection kept alive,
    a new one only when the server closed the previous."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 5.0,
                 alpn: list[str] | None = None) -> None:
        self.port, self.host, self.timeout = port, host, timeout
        self.alpn = alpn
        self.sock: Any = None
        self.buf = b""
        self.opened = 0   # connections opened so far

    def _connect(self) -> None:
        raw = socket.create_connection((self.host, self.port), timeout=self.timeout)
        ctx = insecure_context()
        if self.alpn:
            ctx.set_alpn_protocols(self.alpn)
        self.sock = ctx.wrap_socket(raw, server_hostname=self.host)
        # Go speaks HTTP/2 only when the server picks "h2"; this client speaks HTTP/1.1.
        assert self.sock.selected_alpn_protocol() in (None, "http/1.1"), \
            self.sock.selected_alpn_protocol()
        self.buf = b""
        self.opened += 1

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def _read_head(self) -> tuple[int, list[tuple[str, str]]]:
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionError(f"connection closed in a reply head: {self.buf[:200]!r}")
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        assert parts[0] == "HTTP/1.1", f"not an HTTP/1.1 reply: {lines[0]!r}"
        headers = [(k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in lines[1:])]
        return int(parts[1]), headers

    def _read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise ConnectionError("connection closed in a reply body")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _read_chunked(self) -> bytes:
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                if not self._fill():
                    raise ConnectionError("connection closed in a chunk")
            line, _, self.buf = self.buf.partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            if size == 0:
                self._read_exact(2)
                return out
            out += self._read_exact(size)
            self._read_exact(2)

    def request(self, path: str, headers: list[tuple[str, str]], body: bytes, *,
                wait_continue: float | None = None) -> Reply:
        """POST ``body``; with ``wait_continue`` the body waits for ``100 Continue`` that
        long (Go's ``ExpectContinueTimeout``), else it follows the head at once."""
        if self.sock is None:
            self._connect()
        head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
        interim: list[int] = []
        if wait_continue is None:
            self.sock.sendall(head.encode("latin-1") + b"\r\n" + body)
        else:
            self.sock.sendall(head.encode("latin-1") + b"\r\n")
            self.sock.settimeout(wait_continue)
            try:
                status, _ = self._read_head()
                assert status == 100, f"expected 100 Continue, got {status}"
                interim.append(status)
            except socket.timeout:
                interim.append(0)   # no 100 Continue: Go sends the body after the timeout
            finally:
                self.sock.settimeout(self.timeout)
            self.sock.sendall(body)
        status, hdrs = self._read_head()
        while 100 <= status < 200:
            interim.append(status)
            status, hdrs = self._read_head()
        reply = Reply(status, hdrs, b"", interim, self.opened)
        if any(v.lower() == "chunked" for v in reply.header("Transfer-Encoding")):
            data = self._read_chunked()
        elif reply.header("Content-Length"):
            data = self._read_exact(int(reply.header("Content-Length")[0]))
        else:
            while self._fill():
                pass
            data, self.buf = self.buf, b""
            self.close()
        if any(v.lower() == "gzip" for v in reply.header("Content-Encoding")):
            data = gzip.decompress(data)   # Go's transport asked for gzip and unpacks it
        reply.body = data
        if any(v.lower() == "close" for v in reply.header("Connection")):
            self.close()
        return reply


def one_shot(port: int, path: str, headers: list[tuple[str, str]], body: bytes) -> Reply:
    """One request on a connection of its own (the Python SDK's new pool per call)."""
    conn = HttpConn(port)
    try:
        return conn.request(path, headers, body)
    finally:
        conn.close()


def go_json(doc: Any) -> bytes:
    """Go's ``json.Marshal``: compact, HTML characters escaped."""
    out = orjson.dumps(doc)
    return out.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")


# ============================================================== Go's http.Cookie


@dataclass
class GoCookie:
    """``net/http.Cookie`` as ``readSetCookies`` parses a ``Set-Cookie`` value."""

    name: str
    value: str
    path: str = ""
    domain: str = ""
    max_age: int = 0
    http_only: bool = False
    secure: bool = False
    same_site: str = ""
    expires: str = ""

    @classmethod
    def parse(cls, line: str) -> "GoCookie | None":
        parts = [p.strip() for p in line.strip().split(";")]
        name, eq, value = parts[0].partition("=")
        if not eq or not name.strip():
            return None
        value = value.strip()
        if len(value) > 1 and value[0] == value[-1] == '"':
            value = value[1:-1]
        cookie = cls(name.strip(), value)
        for attr in parts[1:]:
            key, _, val = attr.partition("=")
            key = key.strip().lower()
            if key == "path":
                cookie.path = val
            elif key == "domain":
                cookie.domain = val.lstrip(".")
            elif key == "max-age":
                cookie.max_age = int(val) if re.fullmatch(r"-?\d+", val) else 0
            elif key == "httponly":
                cookie.http_only = True
            elif key == "secure":
                cookie.secure = True
            elif key == "samesite":
                cookie.same_site = val.capitalize()
            elif key == "expires":
                cookie.expires = val
        return cookie

    def string(self) -> str:
        """``Cookie.String()``: what cmon-proxy puts in its ``Cookie`` header."""
        out = f"{self.name}={self.value}"
        if self.path:
            out += f"; Path={self.path}"
        if self.domain:
            out += f"; Domain={self.domain}"
        if self.expires:
            out += f"; Expires={self.expires}"
        if self.max_age:
            out += f"; Max-Age={max(self.max_age, 0)}"
        if self.http_only:
            out += "; HttpOnly"
        if self.secure:
            out += "; Secure"
        if self.same_site in ("None", "Lax", "Strict"):
            out += f"; SameSite={self.same_site}"
        return out

    def pair(self) -> str:
        """``Request.AddCookie``: name and value only (the Go SDK, Terraform)."""
        return f"{self.name}={self.value}"


def go_cookies(reply: Reply) -> list[GoCookie]:
    """``Response.Cookies()``: every parseable ``Set-Cookie``, in order."""
    return [c for c in (GoCookie.parse(v) for v in reply.header("Set-Cookie")) if c]


# ============================================================== Go's json.Unmarshal


@dataclass(frozen=True)
class Int:
    """A Go integer type: an integer literal in range (``1.0`` and ``"1"`` fail)."""

    name: str
    lo: int
    hi: int


INT = INT64 = Int("int64", -2**63, 2**63 - 1)
INT32 = Int("int32", -2**31, 2**31 - 1)
UINT64 = Int("uint64", 0, 2**64 - 1)
STRING, BOOL, FLOAT = "string", "bool", "float64"
CMON_INT = "CmonInt"        # number, numeric string or "" (cmon-proxy cmon/api/cmon_int.go)
NULL_TIME = "NullTime"      # RFC 3339, "null" or null; "" fails (cmon/api/null_time.go)
TIME = "time.Time"          # RFC 3339 or null
ANY = "any"                 # json.RawMessage, interface{} or a lenient custom decoder


@dataclass(frozen=True)
class List:
    item: Any


@dataclass(frozen=True)
class OneOf:
    """A custom decoder accepting any of these (cmon-proxy HEAD's pool ``properties``)."""

    options: tuple[Any, ...]


Struct = dict  # JSON key -> type; embedded structs are written out flat

_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)")


def rfc3339_ok(text: str) -> bool:
    """Go's strict RFC 3339 parse (``time.Time.UnmarshalJSON``)."""
    if not _RFC3339.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00")[:19])
    except ValueError:
        return False
    return True


def _kind(v: Any) -> str:
    return {bool: "bool", int: "number", float: "number", str: "string", list: "array",
            dict: "object"}.get(type(v), type(v).__name__)


def go_decode(value: Any, typ: Any, path: str = "$") -> list[str]:
    """Every reason ``json.Unmarshal`` of ``value`` into ``typ`` fails (empty: it decodes)."""
    if value is None:
        return []
    target = getattr(typ, "name", typ)
    bad = [f"{path}: cannot unmarshal {_kind(value)} {value!r:.60} into {target}"]
    if isinstance(typ, Int):
        ok = isinstance(value, int) and not isinstance(value, bool) and typ.lo <= value <= typ.hi
        return [] if ok else bad
    if typ == STRING:
        return [] if isinstance(value, str) else bad
    if typ == BOOL:
        return [] if isinstance(value, bool) else bad
    if typ == FLOAT:
        return [] if isinstance(value, (int, float)) and not isinstance(value, bool) else bad
    if typ == ANY:
        return []
    if typ == CMON_INT:
        if isinstance(value, str):
            s = value.strip("\r\n\t '\"")
            return [] if value == "" or re.fullmatch(r"[+-]?\d{1,18}", s) else bad
        return go_decode(value, INT64, path)
    if typ in (NULL_TIME, TIME):
        if isinstance(value, str) and (rfc3339_ok(value) or (typ == NULL_TIME and value == "null")):
            return []
        return bad
    if isinstance(typ, OneOf):
        if any(not go_decode(value, t, path) for t in typ.options):
            return []
        return bad
    if isinstance(typ, List):
        if not isinstance(value, list):
            return bad
        out: list[str] = []
        for i, item in enumerate(value):
            out += go_decode(item, typ.item, f"{path}[{i}]")
        return out
    if isinstance(typ, dict):
        if not isinstance(value, dict):
            return bad
        out = []
        lower = {k.lower(): k for k in typ}
        for key, item in value.items():
            name = key if key in typ else lower.get(key.lower())   # Go: exact, else folded
            if name is not None:
                out += go_decode(item, typ[name], f"{path}.{key}")
        return out
    raise AssertionError(f"unknown type descriptor {typ!r}")


def assert_decodes(doc: Any, typ: Any, what: str = "reply") -> None:
    errors = go_decode(doc, typ)
    assert not errors, f"a Go client fails to decode the {what}:\n  " + "\n  ".join(errors[:20])


# ---- cmon-proxy's structs (cmon/api/*.go at HEAD; go-clients.md §7)

ENVELOPE: Struct = {   # WithControllerID + WithResponseData
    "xid": STRING, "controller_id": STRING, "request_id": UINT64,
    "request_created": NULL_TIME, "request_processed": NULL_TIME,
    "request_status": STRING, "error_string": STRING,
}
WITH_TOTAL: Struct = {"total": INT64}

GROUP: Struct = {"class_name": STRING, "group_id": UINT64, "group_name": STRING}
USER: Struct = {
    "class_name": STRING, "xid": STRING, "controller_id": STRING, "first_name": STRING,
    "last_name": STRING, "user_name": STRING, "email_address": STRING, "origin": STRING,
    "user_id": UINT64, "last_login": NULL_TIME, "groups": List(GROUP),
}
AUTHENTICATE_RESPONSE: Struct = {**ENVELOPE, "challenge": STRING, "user": USER}

PING_RESPONSE: Struct = {**ENVELOPE, "package_name": STRING, "package_version": STRING}
INFO_PING_RESPONSE: Struct = {
    **PING_RESPONSE, "pool_id": STRING, "hostname": STRING, "port": INT, "rpcv2_port": INT,
    "controllers_pool": List({"controller_id": UINT64, "hostname": STRING, "port": INT,
                              "rpcv2_port": INT, "properties": STRING, "report_ts": STRING,
                              "status": STRING}),
}

POOL_STATS: Struct = {"cpu_pct": STRING, "mem_used": STRING, "mem_total": STRING,
                      "fd_used": INT, "fd_total": INT}
POOL_PROPERTIES: Struct = {"role": STRING, "dynamic_id": INT, "stats": POOL_STATS}


def pool_controller(properties: Any) -> Struct:
    return {"controller_id": INT, "hostname": STRING, "port": INT, "properties": properties,
            "report_ts": STRING, "status": STRING, "clusters": List(STRING)}


def get_controllers_response(properties: Any) -> Struct:
    return {**ENVELOPE, "pool_id": STRING, "full_controller_id": STRING, "total": INT,
            "controllers": List(pool_controller(properties)), "debug_messages": List(STRING)}


#: cmon_exporter pins cmon-proxy v0.3.2, whose pool ``properties`` is a plain string.
GET_CONTROLLERS_V032 = get_controllers_response(STRING)
GET_CONTROLLERS_HEAD = get_controllers_response(OneOf((STRING, POOL_PROPERTIES)))

SSL_CERT: Struct = {"ca": STRING, "id": INT64, "key": STRING, "path": STRING,
                    "ssl_enabled": BOOL}
HOST: Struct = {
    "class_name": STRING, "acl": STRING, "cdt_path": STRING, "clusterid": CMON_INT,
    "connected": BOOL, "container": BOOL, "datadir": STRING,
    "distribution": {"codename": STRING, "name": STRING, "release": STRING, "type": STRING},
    "hostId": UINT64, "hostname": STRING, "hostname_data": STRING,
    "hostname_internal": STRING, "hoststatus": STRING, "ip": STRING, "lastseen": INT64,
    "listening_port": CMON_INT, "log_bin": STRING, "log_bin_basename": STRING,
    "logfile": STRING, "maintenance_mode": STRING, "maintenance_mode_active": BOOL,
    "message": STRING, "nodetype": STRING, "performance_schema": BOOL, "pid": INT64,
    "pidfile": STRING, "pingstatus": INT, "pingtime": INT64, "port": CMON_INT,
    "readonly": BOOL, "role": STRING, "ro_port": CMON_INT, "rw_port": CMON_INT,
    "replication_slave": {"master_cluster_id": CMON_INT, "master_host": STRING,
                          "master_port": STRING, "prev_master_host": STRING,
                          "prev_master_port": STRING, "seconds_behind_master": CMON_INT,
                          "status": STRING, "slave_io_running": STRING,
                          "slave_sql_running": STRING},
    "service_started": INT64, "ssl_certs": {"replication": SSL_CERT, "server": SSL_CERT},
    "stopped_at": STRING, "unique_id": UINT64, "uptime": INT64,
    "replica": {"synchronization_health": STRING}, "replication_state": STRING,
}
DATABASE: Struct = {
    "class_name": STRING, "acl": STRING, "cdt_path": STRING, "cluster_id": INT64,
    "data_directory": STRING, "database_id": INT64, "database_name": STRING,
    "database_size": INT64, "deleted": BOOL, "dirty": BOOL, "name": STRING,
    "number_of_tables": INT64, "owner_group_id": INT64, "owner_group_name": STRING,
    "owner_user_id": INT64, "owner_user_name": STRING, "version": INT64,
}
CLUSTER: Struct = {
    "class_name": STRING, "cluster_id": UINT64, "cluster_name": STRING,
    "cluster_type": STRING, "state": STRING, "maintenance_mode_active": BOOL,
    "tags": List(STRING), "hosts": List(HOST), "databases": List(DATABASE),
    "cluster_auto_recovery": BOOL, "node_auto_recovery": BOOL, "vendor": STRING,
    "version": STRING,
}
GET_ALL_CLUSTER_INFO_RESPONSE: Struct = {
    **ENVELOPE, **WITH_TOTAL, "clusters": List(CLUSTER),
    "license": {"class_name": STRING, "company": STRING, "days_left": INT,
                "email_address": STRING, "expiration_date": STRING, "licensed_nodes": INT,
                "type": STRING, "used_nodes": INT, "valid_date": BOOL},
    "license_check": {"class_name": STRING, "expires_days": INT, "has_license": BOOL,
                      "status_text": STRING},
}
GET_CLUSTER_INFO_RESPONSE: Struct = {**ENVELOPE, "cluster": CLUSTER}

ALARM: Struct = {
    "alarm_id": INT64, "cluster_id": UINT64, "component_name": STRING, "created": NULL_TIME,
    "hostname": STRING, "title": STRING, "message": STRING, "recommendation": STRING,
    "severity_name": STRING, "type_name": STRING, "ignored": INT,
}
GET_ALARMS_REPLY: Struct = {**ENVELOPE, "alarms": List(ALARM)}

LOG: Struct = {
    "log_id": INT64, "log_class": STRING, "created": NULL_TIME, "severity": STRING,
    "log_specifics": {"cluster_id": INT64, "message_text": STRING},
    "log_origins": {"sender_binary": STRING, "sender_file": STRING, "sender_line": INT64,
                    "sender_pid": INT64, "tv_nsec": INT64, "tv_sec": INT64},
}
GET_LOGS_REPLY: Struct = {**ENVELOPE, **WITH_TOTAL, "log_entries": List(LOG)}

AUDIT_ENTRY: Struct = {"cluster_id": INT64, "client_hostname": STRING, "report_ts": NULL_TIME,
                       "entry_type": STRING, "message_text": STRING, "username": STRING}
GET_AUDIT_ENTRIES_REPLY: Struct = {**ENVELOPE, "audit_entries": List(AUDIT_ENTRY)}

JOB: Struct = {
    "class_name": STRING, "owner_user_id": UINT64, "owner_user_name": STRING,
    "tags": List(STRING), "cluster_id": UINT64, "user_id": UINT64, "user_name": STRING,
    "group_id": UINT64, "group_name": STRING, "can_be_aborted": BOOL, "can_be_deleted": BOOL,
    "created": NULL_TIME, "ended": NULL_TIME, "exit_code": INT64, "ip_address": STRING,
    "job_id": UINT64, "parent_job_id": UINT64, "rpc_version": STRING, "started": NULL_TIME,
    "status": STRING, "status_text": STRING, "title": STRING, "recurrence": STRING,
    "job_spec": ANY,   # JobSpec.UnmarshalJSON takes an object, its JSON text or free text
    "has_progress": BOOL, "progress_percent": INT,
}
GET_JOB_INSTANCES_RESPONSE: Struct = {**ENVELOPE, **WITH_TOTAL, "jobs": List(JOB)}
JOB_RESPONSE: Struct = {**ENVELOPE, "job": JOB}
BACKUP_JOB_DATA: Struct = {
    "backup_failover": BOOL, "backup_failover_host": STRING, "backup_method": STRING,
    "backup_retention": INT64, "backupdir": STRING, "compression": BOOL,
    "compression_level": INT64, "hostname": STRING, "port": INT64, "rpc_version": STRING,
    "wsrep_desync": BOOL,
}

_LOCATION: Struct = {"type": STRING, "created_time": NULL_TIME, "finished_time": NULL_TIME,
                     "being_deleted": BOOL, "retention": INT}
BACKUP_RECORD_V2: Struct = {
    "metadata": {
        "class_name": STRING, "id": UINT64, "cid": UINT64, "parent_id": UINT64,
        "chain_up": UINT64, "children": UINT64, "method": STRING, "status": STRING,
        "created": NULL_TIME, "finished": NULL_TIME,
        "backup": List({"db": STRING, "start_time": TIME,
                        "files": List({"class_name": STRING, "created": TIME, "hash": STRING,
                                       "path": STRING, "size": INT64, "type": STRING})}),
    },
    "host_locations": List({**_LOCATION, "host_location_uuid": STRING, "root_dir": STRING,
                            "storage_host": STRING}),
    "cloud_locations": List({**_LOCATION, "cloud_location_uuid": STRING,
                             "bucket_and_path": STRING, "credentials_id": INT,
                             "provider": STRING, "storage_service": STRING}),
}
LIST_BACKUPS_RESPONSE: Struct = {**ENVELOPE, **WITH_TOTAL, "backup_records": List(BACKUP_RECORD_V2)}

ACCOUNT: Struct = {
    "class_name": STRING, "grants": STRING, "host_allow": STRING, "own_database": STRING,
    "password": STRING, "password_expired": BOOL, "user_name": STRING, "system_user": BOOL,
    "max_connections": INT64, "max_questions": INT64, "max_updates": INT64,
    "max_user_connections": INT64,
}
ACCOUNT_RESPONSE: Struct = {**ENVELOPE, "account": ACCOUNT}
LIST_ACCOUNTS_RESPONSE: Struct = {**ENVELOPE, **WITH_TOTAL, "accounts": List(ACCOUNT)}
DATABASE_RESPONSE: Struct = {**ENVELOPE, "database": DATABASE}
SQL_PROCESS: Struct = {
    "blocked_by_trx_id": STRING, "client": STRING, "command": STRING, "currentTime": INT64,
    "db": STRING, "duration": INT64, "host": STRING, "host_id": UINT64, "hostname": STRING,
    "info": STRING, "innodb_status": STRING, "innodb_trx_id": STRING, "instance": STRING,
    "lastseen": INT64, "message": STRING, "mysql_trx_id": INT64, "pid": INT64, "query": STRING,
    "report_ts": INT64, "sql": STRING, "state": STRING, "time": INT64, "user": STRING,
    "userName": STRING, "elapsedTime": STRING,
}
SQL_PROCESSES_RESPONSE: Struct = {**ENVELOPE, "processes": List(SQL_PROCESS)}
TOP_QUERIES_RESPONSE: Struct = {**ENVELOPE, **WITH_TOTAL, "digests": List({
    "class_name": STRING, "affectedRows": INT64, "count": INT64, "databaseName": STRING,
    "dtFirstSeen": TIME, "dtLastSeen": TIME, "instance": STRING, "statementPattern": STRING,
    "waitMillisMax": FLOAT, "waitMillisMin": FLOAT, "waitMillisSum": FLOAT,
    "waitMillisAvg": FLOAT})}
STAT_BY_NAME_RESPONSE: Struct = {**ENVELOPE, **WITH_TOTAL, "data": ANY}

# ---- the Terraform provider's reply structs (internal/provider/response.go) over the Go SDK
# models (go/pkg/openapi): untagged fields match JSON keys case-insensitively.

SDK_HOST: Struct = {
    "class_name": STRING, "hostid": INT32, "datadir": STRING, "hostname": STRING,
    "hostname_data": STRING, "hostname_internal": STRING, "role": STRING,
    "synchronous": BOOL, "member_role": STRING, "roleid": INT32, "rs": STRING,
    "version": STRING, "elastic_roles": STRING,
}
SDK_CLUSTER: Struct = {
    "class_name": STRING, "operation": STRING, "cluster_id": INT32, "cluster_name": STRING,
    "cluster_type": STRING, "vendor": STRING, "version": STRING, "tags": List(STRING),
    "hosts": List(SDK_HOST),
}
TF_CLUSTER_RESPONSE: Struct = {"Request_Status": STRING, "Cluster": SDK_CLUSTER}
TF_JOB_RESPONSE: Struct = {"Request_Status": STRING,
                           "Job": {"Job_Id": INT32, "Status": STRING, "Status_Text": STRING}}
TF_MAINTENANCE_RESPONSE: Struct = {"Request_Status": STRING, "UUID": STRING}
SDK_BACKUP_RECORD: Struct = {
    "version": INT32,
    "cloud_locations": List({"host_location_uuid": STRING}),
    "host_locations": List({"host_location_uuid": STRING, "root_dir": STRING,
                            "storage_host": STRING}),
    "metadata": {"id": INT32, "job_id": INT32},
    "cluster": {"cluster_name": STRING, "cluster_id": INT32, "cluster_auto_recovery": BOOL,
                "maintenance_mode_active": BOOL,
                "maintenance_periods": List({"UUID": STRING, "initiate": STRING,
                                             "deadline": STRING, "is_active": BOOL,
                                             "reason": STRING})},
}
TF_BACKUPS_TOP: Struct = {"Controller_Id": STRING, "Request_Status": STRING, "Total": INT32}
TF_BACKUPS: Struct = {"Request_Status": STRING, "Total": INT32,
                      "Backup_Records": List(SDK_BACKUP_RECORD)}


# ============================================================== the Python SDK's models


def pydantic_alarm_response_errors(reply: Reply) -> list[str]:
    """``AlarmsApi.alarm_post`` deserialises every 2xx reply into the strict
    ``AlarmResponse`` (sdk-and-openapi.md §3.3)."""
    ctype = (reply.header("Content-Type") or [None])[0]
    if ctype is not None and not re.match(r"^application/(json|[\w!#$&.+\-^_]+\+json)\s*(;|$)",
                                          ctype, re.IGNORECASE):
        return [f"Unsupported content type: {ctype}"]
    doc = orjson.loads(reply.body) if reply.body else ""
    if doc is None:
        return []
    if not isinstance(doc, dict):
        return [f"the reply is {_kind(doc)}, not an object"]
    errors = []
    if doc.get("operation") not in (None, "getStatistics", "getAlarm", "getAlarms", "ignoreAlarm"):
        errors.append(f"operation: {doc['operation']!r} is not one of the enum values")
    for name in ("cluster_id", "alarm_id"):
        v = doc.get(name)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
            errors.append(f"{name}: {v!r} is not a StrictInt")
    if doc.get("class_name") not in (None, "CmonRpcRequest"):
        errors.append(f"class_name: {doc['class_name']!r} is not 'CmonRpcRequest'")
    if doc.get("ignore") is not None and not isinstance(doc["ignore"], bool):
        errors.append(f"ignore: {doc['ignore']!r} is not a StrictBool")
    return errors


def pydantic_job_response_errors(doc: Any) -> list[str]:
    """The example's ``JobResponse`` (lax pydantic, every field required): ``{controller_id:
    str, request_status: str, job: {job_id: int, status: str, status_text: str}}``."""
    if not isinstance(doc, dict):
        return ["the reply is not an object"]
    errors = []
    for name in ("controller_id", "request_status"):
        if not isinstance(doc.get(name), str):
            errors.append(f"{name}: {doc.get(name)!r} is not a str")
    job = doc.get("job")
    if not isinstance(job, dict):
        return errors + [f"job: {job!r} is not an object"]
    jid = job.get("job_id")
    if not ((isinstance(jid, int) and not isinstance(jid, bool))
            or (isinstance(jid, str) and re.fullmatch(r"[+-]?\d+", jid.strip()))):
        errors.append(f"job.job_id: {jid!r} is not an int")
    for name in ("status", "status_text"):
        if not isinstance(job.get(name), str):
            errors.append(f"job.{name}: {job.get(name)!r} is not a str")
    return errors


# ============================================================== the clients


class ClientError(Exception):
    """A call the client gives up on: ``kind`` is a request_status or an HTTP error."""

    def __init__(self, kind: str, message: str = "") -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class CmonProxyClient:
    """cmon-proxy's ``cmon.Client`` (cmon/client.go, also cmon_exporter's and cmon-sd's):
    HTTP/1.1 keep-alive, ``Expect: 100-continue`` with the body at once, no Content-Type,
    the stored ``cmon-sid`` cookie sent as ``Cookie.String()`` (attributes included),
    a re-login and one retry on HTTP 401/403, every reply decoded into its struct."""

    def __init__(self, port: int, user: str = "", password: str = "",
                 session: GoCookie | None = None) -> None:
        self.port = port
        self.conn = HttpConn(port)
        self.user_name, self.password = user, password
        self.ses = session
        self.user: dict[str, Any] | None = None
        self.controller_id = ""
        self.server_version = ""
        self.last_status = ""
        self.sent: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = []
        self.replies: list[Reply] = []

    # ---- client.go

    def request_bytes(self, module: str, body: dict[str, Any], no_auto_auth: bool = False) -> bytes:
        auto_auth = not no_auto_auth
        self.last_status = ""
        if auto_auth and self.ses is None:
            self.authenticate()
        data = go_json(body)
        headers = [("Host", f"127.0.0.1:{self.port}"), ("User-Agent", "Go-http-client/1.1"),
                   ("Content-Length", str(len(data)))]
        if self.ses is not None:
            headers.append(("Cookie", self.ses.string()))
        headers += [("Expect", "100-continue"), ("Accept-Encoding", "gzip")]
        path = f"/v2/{module}"
        self.sent.append((path, body, headers))
        reply = self.conn.request(path, headers, data)
        self.replies.append(reply)
        if "auth" in path:
            server = (reply.header("Server") or [""])[0].split("/")
            if len(server) > 1:
                self.server_version = server[1].strip("\r\n\t '\"")
        for cookie in go_cookies(reply):
            if cookie.name == "cmon-sid":
                self.ses = cookie
                break
        if auto_auth and reply.status in (401, 403):
            self.authenticate()
            return self.request_bytes(module, body, True)
        return reply.body

    def request(self, module: str, body: dict[str, Any], typ: Struct,
                no_auto_auth: bool = False, auth: bool = False) -> dict[str, Any]:
        raw = self.request_bytes(module, body, no_auto_auth)
        doc = orjson.loads(raw)
        if auth and isinstance(doc, dict) and isinstance(doc.get("controller_id"), str):
            self.controller_id = doc["controller_id"]
        self.last_status = doc.get("request_status", "") if isinstance(doc, dict) else ""
        assert_decodes(doc, typ, f"{body.get('operation')} reply")
        assert isinstance(doc, dict) and "request_status" in doc, (
            f"{body.get('operation')}: no request_status, the client dereferences nil: {doc}")
        return doc

    @staticmethod
    def _ok(doc: dict[str, Any]) -> dict[str, Any]:
        if doc["request_status"] != "Ok":
            raise ClientError(doc["request_status"], doc.get("error_string", ""))
        return doc

    def authenticate(self) -> None:
        if self.password:
            self.authenticate_with_password()
            return
        self.last_status = "AuthRequired"
        raise ClientError("AuthRequired", "no password or keyfile is defined")

    def authenticate_with_password(self) -> dict[str, Any]:
        doc = self._ok(self.request("auth", {"operation": "authenticateWithPassword",
                                             "user_name": self.user_name,
                                             "password": self.password},
                                    AUTHENTICATE_RESPONSE, no_auto_auth=True, auth=True))
        self.user = doc.get("user")
        return doc

    def authenticate_with_cookie(self) -> dict[str, Any]:
        doc = self._ok(self.request("users", {"operation": "whoAmI"}, AUTHENTICATE_RESPONSE,
                                    no_auto_auth=True))
        self.user = doc.get("user")
        return doc

    # ---- the operations cmon-proxy and the exporter call (cmon/*.go)

    def info_ping(self) -> dict[str, Any]:
        return self._ok(self.request("info", {"operation": "ping"}, INFO_PING_RESPONSE,
                                     no_auto_auth=True))

    def ping(self) -> dict[str, Any]:
        return self._ok(self.request("clusters", {"operation": "ping", "cluster_id": 0},
                                     PING_RESPONSE))

    def get_controllers(self, typ: Struct = GET_CONTROLLERS_V032) -> dict[str, Any]:
        return self.request("poolcontrollers", {"operation": "listcontrollers"}, typ)

    def get_all_cluster_info(self, **flags: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"operation": "getAllClusterInfo"}
        body.update({k: True for k, v in flags.items() if v})
        body["with_license_check"] = True
        return self._ok(self.request("clusters", body, GET_ALL_CLUSTER_INFO_RESPONSE))

    def get_alarms(self, cluster_id: int) -> dict[str, Any]:
        body: dict[str, Any] = {"operation": "getAlarms"}
        if cluster_id:
            body["cluster_id"] = cluster_id
        return self._ok(self.request("alarm", body, GET_ALARMS_REPLY))

    def get_logs(self, cluster_id: int) -> dict[str, Any]:
        return self._ok(self.request("log", {"operation": "getLogEntries", "cluster_id": cluster_id,
                                             "limit": 100, "offset": 0}, GET_LOGS_REPLY))

    def get_audit_entries(self, cluster_id: int) -> dict[str, Any]:
        return self._ok(self.request("audit", {"operation": "getEntries", "cluster_id": cluster_id,
                                               "limit": 100, "offset": 0},
                                     GET_AUDIT_ENTRIES_REPLY))

    def get_last_jobs(self, cluster_ids: list[int], hours: int, now: float,
                      max_pages: int = 200) -> tuple[list[dict[str, Any]], int]:
        """cmon/job.go GetLastJobs: pages of 32, newest first, until an empty page or a
        job created before the cut-off; returns (jobs kept, pages fetched)."""
        req: dict[str, Any] = {"operation": "getJobInstances", "cluster_ids": cluster_ids,
                               "limit": 32, "offset": 0}
        cutoff = now - hours * 3600
        kept: list[dict[str, Any]] = []
        for page in range(1, max_pages + 1):
            doc = self.request("jobs", req, GET_JOB_INSTANCES_RESPONSE)
            if doc["request_status"] in ("ClusterNotFound", "ObjectNotFound", "AccessDenied"):
                return kept, page
            self._ok(doc)
            jobs = doc.get("jobs") or []
            end = not jobs
            for job in jobs:
                if kept and kept[-1]["job_id"] <= job["job_id"]:
                    continue
                if go_time(job.get("created")) < cutoff:
                    end = True
                    break
                kept.append(job)
            if end:
                return kept, page
            req["offset"] += 32
        raise AssertionError(f"GetLastJobs still paging after {max_pages} pages (offset "
                             f"{req['offset']}): the server ignores offset or never ends")

    def get_last_backups(self, days: int, now: float, cluster_id: int = 0,
                         max_pages: int = 200) -> tuple[list[dict[str, Any]], int]:
        """cmon/backup.go GetLastBackups (HEAD: every cluster in one listing)."""
        req: dict[str, Any] = {"operation": "getBackups", "limit": 32, "offset": 0,
                               "ascending": False, "parent_id": 0, "backup_record_version": 2}
        if cluster_id:
            req["cluster_id"] = cluster_id
        cutoff = now - days * 86400
        kept: list[dict[str, Any]] = []
        for page in range(1, max_pages + 1):
            doc = self.request("backup", req, LIST_BACKUPS_RESPONSE)
            if doc["request_status"] in ("ClusterNotFound", "ObjectNotFound", "AccessDenied"):
                return kept, page
            self._ok(doc)
            records = doc.get("backup_records") or []
            end = not records
            for record in records:
                meta = record.get("metadata")
                assert isinstance(meta, dict), f"record without metadata (nil deref): {record}"
                if kept and kept[-1]["metadata"]["id"] <= meta["id"]:
                    continue
                if go_time(meta.get("created")) < cutoff:
                    end = True
                    break
                kept.append(record)
            if end:
                return kept, page
            req["offset"] += 32
        raise AssertionError(f"GetLastBackups still paging after {max_pages} pages")

    def get_backup_jobs(self) -> dict[str, Any]:
        return self._ok(self.request("jobs", {"operation": "getJobInstances",
                                              "show_scheduled": True},
                                     GET_JOB_INSTANCES_RESPONSE))


def go_time(value: Any) -> float:
    """A decoded NullTime as epoch seconds (the zero time for null or "null")."""
    if not isinstance(value, str) or value == "null":
        return float("-inf")
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class GoSdkClient:
    """The generated Go SDK (go/pkg/openapi) as the Terraform provider drives it:
    ``http.DefaultTransport`` (keep-alive, body sent after ``100 Continue`` or 1 s),
    ``Content-Type: application/json``, JSON of sorted map keys, the first cookie of the
    login reply by position sent as ``name=value``; HTTP >= 300 is an error, no re-login."""

    def __init__(self, port: int) -> None:
        self.port = port
        # http.DefaultTransport has ForceAttemptHTTP2: it offers h2 first
        self.conn = HttpConn(port, alpn=["h2", "http/1.1"])
        self.cookie: GoCookie | None = None
        self.replies: list[Reply] = []

    def post(self, module: str, body: dict[str, Any]) -> Reply:
        data = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        headers = [("Host", f"127.0.0.1:{self.port}"),
                   ("User-Agent", "OpenAPI-Generator/1.0.0/go"),
                   ("Content-Length", str(len(data))), ("Content-Type", "application/json")]
        if self.cookie is not None:
            headers.append(("Cookie", self.cookie.pair()))
        headers += [("Expect", "100-continue"), ("Accept-Encoding", "gzip")]
        reply = self.conn.request(f"/v2/{module}", headers, data, wait_continue=1.0)
        self.replies.append(reply)
        assert reply.interim and reply.interim[0] == 100, (
            "no 100 Continue: the Go transport waits 1 s before sending each body")
        if reply.status >= 300:
            raise ClientError(f"HTTP {reply.status}", reply.body.decode(errors="replace"))
        return reply

    def login(self, user: str, password: str) -> Reply:
        reply = self.post("auth", {"operation": "authenticateWithPassword", "user_name": user,
                                   "password": password})
        cookies = go_cookies(reply)
        if cookies:
            self.cookie = cookies[0]
        return reply

    def decode(self, reply: Reply, typ: Struct, what: str) -> dict[str, Any]:
        doc = reply.json
        assert_decodes(doc, typ, what)
        return doc


class PythonSdkClient:
    """python2/openapi_cc_client with the example's habits: a new ``ApiClient`` (so a
    new connection) per call, the raw ``Set-Cookie`` value of the last reply that had
    one sent back verbatim as ``Cookie``, ``json.dumps`` bodies; non-2xx raises."""

    cookie: str | None = None

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookie = None
        self.connections = 0

    def post(self, module: str, body: dict[str, Any]) -> Reply:
        import json
        data = json.dumps(body).encode()
        headers = [("Host", f"127.0.0.1:{self.port}"), ("Accept-Encoding", "identity"),
                   ("Content-Type", "application/json")]
        if module == "alarm":
            headers.append(("Accept", "application/json"))
        headers.append(("User-Agent", "OpenAPI-Generator/1.0.0/python"))
        if self.cookie:
            headers.append(("Cookie", self.cookie))
        headers.append(("Content-Length", str(len(data))))
        reply = one_shot(self.port, f"/v2/{module}", headers, data)
        self.connections += 1
        if reply.header("Set-Cookie"):
            self.cookie = ", ".join(reply.header("Set-Cookie"))   # urllib3 getheader()
        if not 200 <= reply.status <= 299:
            raise ClientError(f"HTTP {reply.status}", reply.body.decode(errors="replace"))
        return reply


class JavaSdkClient:
    """The Java binding: keeps a ``Set-Cookie`` starting with ``cmon-sid`` and sends
    ``cmon-sid=value``; a non-2xx reply whose body says ``AuthRequired`` makes it log
    in again and retry (at most 5 times)."""

    def __init__(self, port: int, user: str, password: str) -> None:
        self.port, self.user, self.password = port, user, password
        self.cookie: str | None = None
        self.logins = 0
        self.retries = 0

    def _post(self, module: str, body: dict[str, Any]) -> Reply:
        data = orjson.dumps(body)
        headers = [("Host", f"127.0.0.1:{self.port}"), ("Content-Type", "application/json"),
                   ("Accept", "application/json"), ("User-Agent", "OpenAPI-Generator/1.0.0/java")]
        if self.cookie:
            headers.append(("Cookie", self.cookie))
        headers.append(("Content-Length", str(len(data))))
        reply = one_shot(self.port, f"/v2/{module}", headers, data)
        for value in reply.header("Set-Cookie"):
            if value.startswith("cmon-sid"):
                self.cookie = value.split(";", 1)[0].strip()
        return reply

    def login(self) -> Reply:
        self.logins += 1
        return self._post("auth", {"operation": "authenticateWithPassword",
                                   "user_name": self.user, "password": self.password})

    def execute(self, module: str, body: dict[str, Any]) -> dict[str, Any]:
        for _ in range(5):
            reply = self._post(module, body)
            if 200 <= reply.status <= 299:
                return reply.json
            doc = reply.json
            if str(doc.get("request_status", "")).lower() != "authrequired":
                raise ClientError(f"HTTP {reply.status}", doc.get("error_string", ""))
            self.retries += 1
            self.login()
        raise ClientError("AuthRequired", "gave up after 5 logins")
