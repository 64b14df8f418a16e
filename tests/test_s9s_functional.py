"""The s9s CLI's own functional tests (s9s-tools ``tests/ft_*.sh``) replayed against fakecmon.

The s9s binary is not here, so every ``s9s`` command of a script is replayed as the
requests s9s sends (its exact bytes: HTTP/1.0, ``Transfer-Encoding: identity``, sorted
4-space JSON, paths with a trailing slash, one TLS connection per request, a login per
process) and the test asserts what the script asserts, translated to the reply fields
s9s reads: exit code 0 <=> ``Ok``, 3 <=> ``AccessDenied``, 2 <=> the other errors
(s9s.md §7.3). Tests are named ``test_<script>_<case>``; each starts from a freshly
installed controller (``fixtures/fresh.yaml``) and first replays the steps of the script
that its case depends on (``grant_user`` and the earlier cases).
"""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cdtutil import new_key, openssh, pem_pkcs1
from fakecmon import usermgmt
from fakecmon.testing import FakeCmon
from rawtls import exchange, s9s_request

#: The real clients' recorded flows keep to the request contract: any finding fails
#: the test (fakecmon/contract.py, tests/test_contract.py).
pytestmark = [pytest.mark.cmon_world("../fixtures/fresh.yaml"), pytest.mark.fakecmon_strict]

ME = "pipas"            # $USER of the scripts: S9STEST_USER, made by grant_user()
ME_PASSWORD = "pwd"     # S9STEST_USER_PASSWORD's default
ADMIN = f"admin_{ME}"   # S9STEST_ADMIN_USER: the superuser grant_user() makes first
ADMIN_PASSWORD = "adminpwd"
EMAIL = f"{ME}@ft-host"  # S9STEST_USER_EMAIL (and the admin's): $USER@$(hostname)
USERS, TREE, JOBS = "/v2/users/", "/v2/tree/", "/v2/jobs/"
SET_COOKIE = re.compile(r"Set-Cookie: ([^=]*)=([^,;\r\n]*)", re.IGNORECASE)
CREATED = "2021-02-08T09:06:49.666Z"
EXECUTORS = ("/.runtime/jobs/jobExecutor", "/.runtime/jobs/jobExecutorCreateCluster",
             "/.runtime/jobs/jobExecutorDeleteOldJobs")

_KEYS: dict[str, rsa.RSAPrivateKey] = {}


def key_of(name: str) -> rsa.RSAPrivateKey:
    """``~/.s9s/<name>.key`` as ``--generate-key`` makes it (one per name and session)."""
    if name not in _KEYS:
        _KEYS[name] = new_key()
    return _KEYS[name]


# ---- one s9s process


def exit_code(status: str) -> int:
    """s9s's exit code for a ``request_status`` (s9s.md §7.3)."""
    return {"Ok": 0, "AccessDenied": 3, "ClusterNotFound": 4}.get(status, 2)


class S9s:
    """One ``s9s`` command: a login (password wins over the key), then its requests.

    ``request_id`` counts from 1 per process; cookies are whatever Set-Cookie brought.
    """

    def __init__(self, cmon: FakeCmon, user: str, password: str | None = None,
                 key: rsa.RSAPrivateKey | None = None) -> None:
        self.port = urlsplit(cmon.url).port
        self.cookies: dict[str, str] = {}
        self.request_id = 0
        if password is not None:
            self.login = self.send("/v2/auth", {"operation": "authenticateWithPassword",
                                                "user_name": user, "password": password})
        else:
            challenge = self.send("/v2/auth", {"operation": "authenticate", "username": user})
            signed = (key or key_of(user)).sign(str(challenge.get("challenge", "")).encode(),
                                                padding.PKCS1v15(), hashes.SHA256())
            self.login = self.send("/v2/auth", {"operation": "authenticateResponse",
                                                "signature": base64.b64encode(signed).decode()})
        self.logged_in = self.login["request_status"] == "Ok"

    def send(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self.request_id += 1
        body = {**body, "request_created": CREATED, "request_id": self.request_id}
        raw = exchange(self.port, s9s_request(path, body, self.cookies.get("cmon-sid")))
        head, _, payload = raw.partition(b"\r\n\r\n")   # s9s ignores the status line
        for name, value in SET_COOKIE.findall(head.decode("latin-1")):
            self.cookies[name] = value
        return orjson.loads(payload)

    def call(self, path: str, operation: str, /, **fields: Any) -> dict[str, Any]:
        """A request after the login; a failed login is what the command reports (exit 3)."""
        if not self.logged_in:
            return self.login
        return self.send(path, {"operation": operation, **fields})


def s9s(cmon: FakeCmon, user: str = ME, password: str | None = None, **kw: Any) -> S9s:
    """``s9s ... [--cmon-user=USER] [--password=PASSWORD]``; no password: the user's key."""
    return S9s(cmon, user, password, **kw)


def system(cmon: FakeCmon) -> S9s:
    return s9s(cmon, "system", "secret")


def admin(cmon: FakeCmon) -> S9s:
    """``--cmon-user=$S9STEST_ADMIN_USER --password=$S9STEST_ADMIN_USER_PASSWORD``: what
    include.sh's checks (get_user_group, check_group, check_entry...) run as."""
    return s9s(cmon, ADMIN, ADMIN_PASSWORD)


def ok(reply: dict[str, Any]) -> dict[str, Any]:
    assert reply["request_status"] == "Ok", reply
    return reply


def fails(reply: dict[str, Any], code: int | None = None) -> dict[str, Any]:
    assert exit_code(reply["request_status"]) != 0, reply
    if code is not None:
        assert exit_code(reply["request_status"]) == code, reply
    return reply


# ---- what the s9s commands send


def user_spec(name: str, **props: Any) -> dict[str, Any]:
    return {"class_name": "CmonUser", "user_name": name, **props}


def create_user_request(name: str, group: str = "", key: rsa.RSAPrivateKey | None = None,
                        new_password: str | None = None, create_group: bool = False,
                        **props: str) -> dict[str, Any]:
    """``user --create [--group=G] [--create-group] --generate-key [--new-password=P] NAME``:
    s9s always sends ``groups`` (an empty name without ``--group``), the key it made, the
    texts it was given and ``force_password_update``."""
    user = user_spec(name, groups=[{"class_name": "CmonGroup", "group_name": group}],
                     public_keys=[{"name": "No Name", "key": pem_pkcs1(key) if key else ""}],
                     **props)
    body: dict[str, Any] = {"operation": "createUser", "user": user,
                            "create_group": create_group, "force_password_update": False}
    if new_password is not None:
        body["new_password"] = new_password
    return body


def create_user(client: S9s, name: str, **kw: Any) -> dict[str, Any]:
    body = create_user_request(name, key=key_of(name), **kw)
    return client.call(USERS, body.pop("operation"), **body)


def users(cmon: FakeCmon, by: str = ADMIN, password: str | None = ADMIN_PASSWORD
          ) -> dict[str, dict]:
    """``user --list`` / ``user --stat``: getUsers, then s9s picks the user by name
    (include.sh asks as the admin user, with its password)."""
    reply = ok(s9s(cmon, by, password).call(USERS, "getUsers", class_name="CmonRpcRequest"))
    return {u["user_name"]: u for u in reply["users"]}


def user_group(cmon: FakeCmon, name: str) -> str:
    """``user --list --user-format=%G NAME`` (get_user_group): the group names, comma separated."""
    return ",".join(g["group_name"] for g in users(cmon)[name]["groups"])


def group_owner(cmon: FakeCmon, name: str) -> tuple[str, str]:
    """check_group: ``user --list-groups --long`` as the admin, the owner and its group."""
    groups = ok(admin(cmon).call(USERS, "getGroups"))["groups"]
    group = next(g for g in groups if g["group_name"] == name)
    return group["owner_user_name"], group["owner_group_name"]


def whoami(cmon: FakeCmon, user: str = ME, password: str | None = None, **kw: Any) -> str:
    """``user --whoami``: prints the user name (or fails like the login)."""
    reply = s9s(cmon, user, password, **kw).call(USERS, "whoAmI", with_extended_privileges=True)
    return reply["user"]["user_name"] if reply["request_status"] == "Ok" else ""


def access(cmon: FakeCmon, user: str, path: str, privileges: str,
           password: str | None = None) -> int:
    """``tree --access --privileges=P PATH``: the exit code."""
    reply = s9s(cmon, user, password).call(TREE, "checkAccess", path=path, privileges=privileges)
    return exit_code(reply["request_status"])


def tree_entry(cmon: FakeCmon, path: str, by: str = ME) -> dict[str, Any]:
    """``tree --list --long --directory PATH`` (check_entry): the entry itself."""
    reply = ok(s9s(cmon, by).call("/v2/tree", "getTree", path=path))
    return reply["cdt"]


def listing(cmon: FakeCmon, path: str | None = None, by: str = ME,
            password: str | None = None) -> dict[str, dict]:
    """``tree --list --long [PATH]``: the entries of a folder by name."""
    fields = {} if path is None else {"path": path}
    reply = ok(s9s(cmon, by, password).call("/v2/tree", "getTree", **fields))
    return {i["item_name"]: i for i in reply["cdt"].get("sub_items", [])}


def acl_string(acl: str, item_type: str = "") -> str:
    """How ``tree --list --long`` prints an ACL: type letter, ``rwxrwxrwx``, ``+`` for named
    entries (``user --stat`` prints it without the letter)."""
    base, named = {}, False
    for entry in acl.split(","):
        kind, name, letters = entry.split(":")
        if name:
            named = True
        else:
            base[kind] = letters
    letter = {"Folder": "d", "File": "-", "User": "u", "Group": "g", "Cluster": "c"}.get(
        item_type, "")
    return letter + base["user"] + base["group"] + base["other"] + ("+" if named else "")


def log_messages(cmon: FakeCmon) -> list[str]:
    """check_log_messages: ``log --list --long --cluster-id=0`` as system, the message texts."""
    reply = ok(system(cmon).call("/v2/log/", "getLogEntries", class_name="CmonRpcRequest",
                                 cluster_id=0, ascending=False))
    return [e.get("log_specifics", {}).get("message_text", "") for e in reply["log_entries"]]


def in_log(cmon: FakeCmon, text: str) -> bool:
    return any(text in m for m in log_messages(cmon))


# ---- include.sh: grant_user, the first users, the admin made through the FIFO


def fifo_request(name: str, **kw: Any) -> dict[str, Any]:
    """The createUser request ``user --create`` writes into usermgmt.fifo without credentials."""
    return {**create_user_request(name, **kw), "request_created": CREATED, "request_id": 1}


def through_fifo(cmon: FakeCmon, doc: dict[str, Any]) -> tuple[str, str]:
    return cmon.run(lambda c: usermgmt.apply_request(c, doc))


NAMES = {"first_name": "Firstname", "last_name": "Lastname"}    # s9s leaves out empty texts


def grant_user(cmon: FakeCmon, name: str = ME) -> None:
    """include.sh grant_user() at HEAD: ``admin_pipas`` (admins) through the FIFO, then
    ``pipas`` (users) by that admin over RPC, the job executor ACLs, a tag and the SSH key
    of each, and ``system``'s password set to ``secret``."""
    status, text = through_fifo(cmon, fifo_request(
        ADMIN, group="admins", key=key_of(ADMIN), new_password=ADMIN_PASSWORD,
        email_address=EMAIL, **NAMES))
    assert status == "Ok", text
    assert ADMIN in users(cmon)                                        # user --stat admin
    ssh_key = {"name": "The_SSH_key", "key": openssh(key_of("ssh:" + ME))}
    ok(admin(cmon).call(USERS, "addKey", user=user_spec(ADMIN), public_key=ssh_key))
    ok(create_user(admin(cmon), name, group="users", new_password=ME_PASSWORD,
                   email_address=EMAIL, **NAMES))
    assert name in users(cmon)                                         # user --stat pipas
    for path in EXECUTORS:
        ok(admin(cmon).call(TREE, "addAcl", path=path, acl=f"user:{name}:r-x"))
    tagged = ok(admin(cmon).call(TREE, "appendTag", path=f"/{name}", tag="testUser"))
    assert (tagged["tags"], tagged["object_name"], tagged["object_path"]) == (
        ["testUser"], name, "/")
    assert "testUser" in users(cmon)[name]["tags"]
    ok(admin(cmon).call(USERS, "addKey", user=user_spec(name), public_key=ssh_key))
    ok(admin(cmon).call(USERS, "changePassword", user=user_spec("system"),
                        new_password="secret"))
    assert whoami(cmon, "system", "secret") == "system"


# ===================================================================== ft_user.sh


def test_ft_user_testPing(cmon):
    grant_user(cmon)
    ok(system(cmon).call("/v2/clusters/", "ping", cluster_id=0))   # cluster --ping --cluster-id=0


def test_ft_user_testUser(cmon):
    grant_user(cmon)
    assert whoami(cmon) == ME                                          # by key
    keys = s9s(cmon).call(USERS, "getKeys", user=user_spec(ME))        # user --list-keys
    assert keys["total"] == 2                                          # "Total: 2"
    assert {k["name"] for k in keys["public_keys"]} == {"No Name", "The_SSH_key"}


def test_ft_user_testUserManager(cmon):
    """``tree --add-acl --cmon-user=system --password=secret --acl=user:pipas:rwx
    /.runtime/user_manager``."""
    grant_user(cmon)
    ok(system(cmon).call(TREE, "addAcl", path="/.runtime/user_manager", acl=f"user:{ME}:rwx"))
    assert f"user:{ME}:rwx" in get_acl(cmon, "/.runtime/user_manager")


def test_ft_user_testStat(cmon):
    grant_user(cmon)
    me = users(cmon, ME, None)[ME]                                     # user --stat pipas
    assert me["user_name"] == ME and me["class_name"] == "CmonUser"
    assert acl_string(me["acl"]) == "rwxr--r--"
    assert me["cdt_path"] == "/"
    assert (me["owner_user_name"], me["owner_group_name"]) == (ME, "admins")


CMON_GROUP_PROPERTIES = {"acl", "cdt_path", "created", "group_id", "group_name", "owner_group_id",
                         "owner_group_name", "owner_user_id", "owner_user_name", "tags"}


def test_ft_user_testCmonGroup(cmon):
    grant_user(cmon)
    reply = ok(s9s(cmon).call("/v2/metatype/", "getMetaTypeInfo", class_name="CmonRpcRequest",
                              **{"type-name": "CmonGroup"}))
    names = {p["property_name"] for p in reply["metatype_info"]}
    assert names <= CMON_GROUP_PROPERTIES                              # "Unidentified property"
    assert len(names) >= 9


def set_user(cmon: FakeCmon) -> None:
    """testSetUser: ``user --set --email-address=...`` by system on itself, twice; pipas
    lists it (``user --list --user-format=%M system``)."""
    for address in ("system@mydomain.com", "system@mynewdomain.com"):
        ok(system(cmon).call(USERS, "setUser", user=user_spec("system", email_address=address)))
        assert users(cmon, ME, None)["system"]["email_address"] == address


def test_ft_user_testSetUser(cmon):
    grant_user(cmon)
    set_user(cmon)


def set_other_user(cmon: FakeCmon) -> None:
    for address in ("nobody@mydomain.com", "nobody@mynewdomain.com"):
        ok(system(cmon).call(USERS, "setUser", user=user_spec("nobody", email_address=address)))
        assert users(cmon, ME, None)["nobody"]["email_address"] == address
    missing = system(cmon).call(USERS, "setUser", user=user_spec(
        "nonexistinguser", email_address="nobody@mynewdomain.com"))
    fails(missing)


def test_ft_user_testSetOtherUser(cmon):
    grant_user(cmon)
    set_other_user(cmon)


def create_outsider(cmon: FakeCmon) -> None:
    """shared_test_cases.sh testCreateOutsider: grumio in a new group plebs."""
    ok(create_user(system(cmon), "grumio", group="plebs", create_group=True, new_password="p",
                   first_name="Grumio", email_address="grumio@rome.com"))


def test_ft_user_testCreateOutsider(cmon):
    grant_user(cmon)
    create_outsider(cmon)
    assert user_group(cmon, "grumio") == "plebs"


def test_ft_user_testSystemUsers(cmon):
    grant_user(cmon)
    set_user(cmon)
    listed = ok(s9s(cmon).call(USERS, "getUsers", class_name="CmonRpcRequest"))["users"]
    rows = [(u["user_id"], u["user_name"], u["groups"][0]["group_name"]) for u in listed]
    assert rows[:2] == [(1, "system", "admins"), (2, "nobody", "nobody")]
    assert user_group(cmon, "system") == "admins"                      # check_user system
    assert whoami(cmon, "system", "secret") == "system"
    assert users(cmon)["system"]["email_address"] == "system@mynewdomain.com"
    assert user_group(cmon, "nobody") == "nobody"
    assert user_group(cmon, "admin") == "admins"


def fail_no_group(cmon: FakeCmon) -> None:
    """testFailNoGroup, as system: no user without its group (CMON's words, sic); then
    ``--create-group`` without a group puts kirk in ``users``."""
    missing = fails(create_user(system(cmon), "kirk", group="nosuchgroup", title="Captain"))
    assert missing["error_string"] == "Group 'nosuchgroup' does not exists."
    assert "kirk" not in users(cmon, ME, None)                         # user --list kirk
    ok(create_user(system(cmon), "kirk", title="Captain", create_group=True, first_name="James",
                   last_name="Kirk", email_address="kirk@enterprise.com", new_password="secret"))
    assert user_group(cmon, "kirk") == "users"
    assert whoami(cmon, "kirk", "secret") == "kirk"
    assert users(cmon)["kirk"]["email_address"] == "kirk@enterprise.com"


def test_ft_user_testFailNoGroup(cmon):
    grant_user(cmon)
    fail_no_group(cmon)


def test_ft_user_testFailWrongPassword(cmon):
    """A wrong password and a wrong name: exit 3 and the same text; the failure shows in
    ``user --stat system`` (Failure: a time, not "-") and in the log."""
    grant_user(cmon)
    wrong = s9s(cmon, "system", "wrongone")
    assert exit_code(wrong.login["request_status"]) == 3
    assert wrong.login["error_string"] == "Username or password is incorrect."
    system_user = users(cmon, ME, None)["system"]
    assert system_user["last_failed_login"] not in ("", "-")
    assert system_user["n_failed_logins"] == 1
    assert in_log(cmon, "failed to log in with password")
    wrong_name = s9s(cmon, "sys", "secret")
    assert exit_code(wrong_name.login["request_status"]) == 3
    assert wrong_name.login["error_string"] == "Username or password is incorrect."
    assert whoami(cmon, "system", "secret") == "system"               # a good login resets
    assert users(cmon, ME, None)["system"]["n_failed_logins"] == 0


DS9 = [("sisko", "Captain", "Benjamin", "Sisko", "sisko@ds9.com", "secret"),
       ("odo", "", "Odo", "", "odo@ds9.com", "odo"),
       ("jake", "", "Jake", "Sisko", "jake.sisko@ds9.com", None),
       ("bashir", "Dr.", "Julian", "Bashir", "drbashir@ds9.com", None),
       ("chief", "Chief", "Miles", "O'Brien", "chief@ds9.com", None),
       ("jadzia", "Lt.", "Jadzia", "Dax", "dax@ds9.com", None),
       ("worf", "Lt.", "Worf", "", "warrior@ds9.com", None)]


def create_users(cmon: FakeCmon) -> None:
    """testCreateUsers: the ds9 crew, group ds9 made by the first one (as system); worf
    first by pipas, who may not add users to ds9, then by system."""
    for name, title, first, last, email, password in DS9:
        props = {k: v for k, v in (("title", title), ("first_name", first),
                                   ("last_name", last), ("email_address", email)) if v}
        kw: dict[str, Any] = {"new_password": password} if password else {}
        if name == "worf":
            denied = create_user(s9s(cmon), name, group="ds9", create_group=True, **props)
            assert exit_code(denied["request_status"]) != 0, denied
        ok(create_user(system(cmon), name, group="ds9", create_group=True, **kw, **props))
        if name != "worf":
            assert in_log(cmon, f"Creating new cmon user '{name}'")
        if name == "sisko":
            assert group_owner(cmon, "ds9") == ("system", "admins")
        if password:
            assert user_group(cmon, name) == "ds9"
            assert whoami(cmon, name, password) == name
            assert whoami(cmon, name) == name                          # --check-key
    assert whoami(cmon) == ME


def test_ft_user_testCreateUsers(cmon):
    grant_user(cmon)
    create_users(cmon)


def change_password(cmon: FakeCmon) -> None:
    """testChangePassword: system sets nobody's password, nobody changes it again."""
    ok(system(cmon).call(USERS, "changePassword", user=user_spec("nobody"),
                         old_password="secret", new_password="p"))
    assert whoami(cmon, "nobody", "p") == "nobody"
    ok(s9s(cmon, "nobody", "p").call(USERS, "changePassword", user=user_spec("nobody"),
                                     old_password="p", new_password="pp"))
    assert whoami(cmon, "nobody", "pp") == "nobody"


def test_ft_user_testChangePassword(cmon):
    grant_user(cmon)
    change_password(cmon)


def test_ft_user_testChangePassword_without_old_password(cmon):
    """The same when s9s leaves the old password out for another user."""
    grant_user(cmon)
    ok(system(cmon).call(USERS, "changePassword", user=user_spec("nobody"), new_password="p"))
    assert whoami(cmon, "nobody", "p") == "nobody"


def test_ft_user_testPrivateKey(cmon):
    grant_user(cmon)
    fail_no_group(cmon)
    create_users(cmon)
    ok(system(cmon).call(USERS, "addKey", user=user_spec("worf"), public_key={
        "name": "mykeyfile", "key": pem_pkcs1(key_of("kirk"))}))      # kirk.pub for worf
    assert whoami(cmon, "worf", key=key_of("kirk")) == "worf"


def set_group(cmon: FakeCmon) -> None:
    """testSetGroup: ``user --set-group --group=admins pipas`` as system."""
    ok(system(cmon).call(USERS, "addToGroup", user=user_spec(ME), group_name="admins",
                         replace_primary_group=True))
    assert user_group(cmon, ME) == "admins"


def test_ft_user_testSetGroup(cmon):
    grant_user(cmon)
    set_group(cmon)


def test_ft_user_testAcl(cmon):
    grant_user(cmon)
    create_users(cmon)
    set_group(cmon)
    ok(s9s(cmon).call(TREE, "addAcl", path="/sisko", acl=f"user:{ME}:rwx"))
    sisko = listing(cmon, "sisko")                                     # tree --list --long sisko
    item = sisko.get("sisko") or tree_entry(cmon, "/sisko")
    assert acl_string(item["item_acl"], item["item_type"]) == "urwxr--r--+"
    assert acl_string(users(cmon)["sisko"]["acl"]) == "rwxr--r--+"


def add_to_group(cmon: FakeCmon) -> None:
    """testAddToGroup, as pipas (in admins since testSetGroup)."""
    assert access(cmon, "sisko", "/groups", "rwx") != 0
    ok(s9s(cmon).call(USERS, "addToGroup", user=user_spec("sisko"), group_name="admins",
                      replace_primary_group=False))
    assert user_group(cmon, "sisko") == "ds9,admins"
    assert access(cmon, "sisko", "/groups", "rwx") == 0
    again = s9s(cmon).call(USERS, "addToGroup", user=user_spec("sisko"), group_name="admins",
                           replace_primary_group=False)
    assert exit_code(again["request_status"]) == 2
    assert again["error_string"] == "User 'sisko' is already a member of group 'admins'."
    ok(s9s(cmon).call(USERS, "removeFromGroup", user=user_spec("sisko"), group_name="admins"))
    assert access(cmon, "sisko", "/groups", "rwx") != 0
    assert user_group(cmon, "sisko") == "ds9"


def test_ft_user_testAddToGroup(cmon):
    grant_user(cmon)
    create_users(cmon)
    set_group(cmon)
    add_to_group(cmon)


def extended_privileges(cmon: FakeCmon, user: str) -> tuple[bool, bool, bool, bool]:
    """check_extended_privileges: the two checkAccess and the two whoAmI flags."""
    execute = access(cmon, user, "/.runtime/jobs/jobExecutor", "r-x") == 0
    create = access(cmon, user, "/.runtime/jobs/jobExecutorCreateCluster", "r-x") == 0
    who = ok(s9s(cmon, user).call(USERS, "whoAmI", with_extended_privileges=True))
    flags = who["user_extended_privileges"]
    return execute, create, flags["can_execute_jobs"], flags["can_create_clusters"]


def test_ft_user_checkExtendedPrivileges(cmon):
    grant_user(cmon)
    fail_no_group(cmon)
    create_users(cmon)
    set_group(cmon)
    assert extended_privileges(cmon, ME) == (True, True, True, True)
    assert extended_privileges(cmon, "kirk") == (True, True, True, True)   # kirk is in users
    for path in EXECUTORS[:2]:
        ok(s9s(cmon).call(TREE, "addAcl", path=path, acl="user:kirk:---"))
        assert "user:kirk:---" in ok(s9s(cmon).call(TREE, "getAcl", path=path))["acl"]
    assert extended_privileges(cmon, "kirk") == (False, False, False, False)
    for path in EXECUTORS[:2]:
        ok(s9s(cmon).call(TREE, "addAcl", path=path, acl="other::r-x"))
    assert extended_privileges(cmon, "worf") == (True, True, True, True)   # worf: ds9 only
    for path in EXECUTORS[:2]:
        ok(s9s(cmon).call(TREE, "addAcl", path=path, acl="group:ds9:---"))
    assert extended_privileges(cmon, "worf") == (False, False, False, False)
    assert extended_privileges(cmon, ME)[2:] == (True, True)


def user_self_admin(cmon: FakeCmon) -> None:
    """testUserSelfAdmin: an admin "test" makes "student", who cannot make itself an admin."""
    ok(create_user(s9s(cmon), "test", group="admins", new_password="admin",
                   email_address="test@severalnines.com", first_name="QA", last_name="s9s"))
    ok(create_user(s9s(cmon, "test"), "student", group="students", new_password="student",
                   create_group=True))
    assert group_owner(cmon, "students") == ("test", "admins")
    for replace in (True, False):                                      # --set-group, --add-to-group
        fails(s9s(cmon, "student").call(USERS, "addToGroup", user=user_spec("student"),
                                        group_name="admins", replace_primary_group=replace))
    assert user_group(cmon, "student") == "students"                   # "Groups: students "


def test_ft_user_testUserSelfAdmin(cmon):
    grant_user(cmon)
    set_group(cmon)
    user_self_admin(cmon)


def weird_char(cmon: FakeCmon) -> None:
    ok(create_user(system(cmon), "User#1", group="Group#1", new_password="User#1",
                   create_group=True))
    assert user_group(cmon, "User#1") == "Group#1"
    assert whoami(cmon, "User#1", "User#1") == "User#1"
    assert whoami(cmon, "User#1") == "User#1"
    assert group_owner(cmon, "Group#1") == ("system", "admins")


def test_ft_user_testWeirdChar(cmon):
    grant_user(cmon)
    weird_char(cmon)


def delete_group(client: S9s, name: str) -> dict[str, Any]:
    return client.call(USERS, "deleteGroup", group={"class_name": "CmonGroup", "group_name": name})


def test_ft_user_testDeleteGroup(cmon):
    grant_user(cmon)
    set_group(cmon)
    user_self_admin(cmon)
    weird_char(cmon)
    fails(delete_group(s9s(cmon), "nonexisting"))
    member = fails(delete_group(s9s(cmon), "Group#1"))
    assert member["error_string"] == "Group 'Group#1' can not be deleted for it has 1 member(s)."
    ok(s9s(cmon).call(USERS, "createGroup", group={"class_name": "CmonGroup",
                                                   "group_name": "tmpgroup"}))
    assert group_owner(cmon, "tmpgroup") == (ME, "admins")
    assert in_log(cmon, "Creating new cmon group 'tmpgroup'")
    denied = fails(delete_group(s9s(cmon, "student", "student"), "tmpgroup"), 3)
    assert denied["error_string"] == "Write access to group 'tmpgroup' is denied for user 'student'."
    ok(delete_group(s9s(cmon), "tmpgroup"))
    names = [g["group_name"] for g in ok(s9s(cmon).call(USERS, "getGroups"))["groups"]]
    assert "tmpgroup" not in names


def test_ft_user_checkPasswordReset(cmon, tmp_path):
    """The mail is read from ``/var/mail/$USER`` (``--mail-spool``): an mbox message whose
    ``To:`` is pipas's address and whose ``--token=`` line holds the token; the JSON spool
    (``--password-reset-mail-dir``) gets it too."""
    grant_user(cmon)
    port = urlsplit(cmon.url).port
    spool, outgoing = tmp_path / "mail", tmp_path / "outgoing"

    def reset(**fields: Any) -> dict[str, Any]:         # user --password-reset: no login
        body = {"operation": "passwordReset", "request_created": CREATED, "request_id": 1,
                **fields}
        raw = exchange(port, s9s_request("/v2/auth/", body))
        return orjson.loads(raw.partition(b"\r\n\r\n")[2])

    def mail_to(mbox: Any, outgoing_dir: Any) -> None:
        cmon.run(lambda c: (setattr(c.config, "mail_spool", mbox),
                            setattr(c.config, "password_reset_mail_dir", outgoing_dir)))

    mail_to(spool, outgoing)
    try:
        fails(reset(user_name="admin"))                                # no email address
        assert not (spool / "admin").exists()
        ok(reset(user_name=ME))
    finally:
        mail_to(None, None)
    mailbox = (spool / ME).read_text()                                 # /var/mail/pipas
    assert mailbox.startswith("From ")
    token_lines = [ln for ln in mailbox.splitlines() if "--token" in ln]
    assert len(token_lines) == 1
    token = token_lines[0].split()[0].split("=")[1].replace('"', "")   # awk, cut, tr
    recipients = [ln.split(" ")[1] for ln in mailbox.splitlines() if ln.startswith("To: ")]
    assert recipients == [EMAIL]
    spooled = orjson.loads((outgoing / EMAIL / "email_0000.json").read_bytes())
    assert spooled["elements"][0]["values"]["@PASSWORD_RESET_TOKEN@"] == token
    ok(reset(user_name=ME, password_reset_token=token, new_password="newpassword"))
    assert whoami(cmon, ME, "newpassword") == ME
    messages = ok(s9s(cmon, ME, "newpassword").call(
        "/v2/log/", "getLogEntries", class_name="CmonRpcRequest", cluster_id=0))["log_entries"]
    texts = [m["log_specifics"]["message_text"] for m in messages]
    assert any("Created password reset token" in t for t in texts)
    assert any("Password reset token is validated" in t for t in texts)


# ===================================================================== ft_acl.sh


def acl_create_users(cmon: FakeCmon) -> None:
    """testCreateUser (grant_user: pipas in users) and testCreateSupervisorUser: the
    superuser supervisor, made by system."""
    grant_user(cmon)
    ok(create_user(system(cmon), "supervisor", group="admins", new_password="supervisor",
                   email_address=EMAIL, first_name="Cmon", last_name="Administrator"))


def test_ft_acl_testCreateSupervisorUser(cmon):
    acl_create_users(cmon)
    assert user_group(cmon, ME) == "users" and user_group(cmon, "supervisor") == "admins"


def test_ft_acl_checkTree01(cmon):
    """``tree --cmon-user=supervisor --list --long --directory /`` and ``--list --long``
    (supervisor has no key: s9s logs it in with the key it made, ~/.s9s/supervisor.key)."""
    acl_create_users(cmon)
    root = ok(s9s(cmon, "supervisor").call("/v2/tree", "getTree", path="/"))["cdt"]
    assert root["item_path"] == "/" and root["item_name"] in ("", "/")
    assert (acl_string(root["item_acl"], root["item_type"]), root["owner_user_name"],
            root["owner_group_name"]) == ("drwxrwxrwx", "system", "admins")
    top = listing(cmon, None, "supervisor")
    assert ME in top
    me = top["supervisor"]
    assert (acl_string(me["item_acl"], me["item_type"]), me["owner_user_name"],
            me["owner_group_name"]) == ("urwxr--r--", "supervisor", "admins")


def test_ft_acl_checkTree02(cmon):
    acl_create_users(cmon)
    assert access(cmon, "supervisor", "/", "rwx") == 0
    assert access(cmon, ME, "/", "rwx") == 0


def acl_mkdir(cmon: FakeCmon) -> None:
    ok(s9s(cmon).call(TREE, "mkdir", path="/home"))
    home = listing(cmon, None, "supervisor")["home"]
    assert (acl_string(home["item_acl"], home["item_type"]), home["owner_user_name"],
            home["owner_group_name"]) == ("drwxrwxrwx", ME, "users")


def test_ft_acl_testMkdir(cmon):
    acl_create_users(cmon)
    acl_mkdir(cmon)


def get_acl(cmon: FakeCmon, path: str) -> list[str]:
    """``tree --get-acl PATH``: one line per ACL entry."""
    return ok(s9s(cmon).call(TREE, "getAcl", path=path))["acl"].split(",")


def test_ft_acl_testAcl_testAddAcl_testRetrictiveAcl(cmon):
    acl_create_users(cmon)
    acl_mkdir(cmon)
    assert {"user::rwx", "group::rwx", "other::rwx"} <= set(get_acl(cmon, "/home"))
    ok(s9s(cmon).call(TREE, "addAcl", path="/home", acl="user:nobody:r-x"))
    assert "user:nobody:r-x" in get_acl(cmon, "/home")
    ok(s9s(cmon).call(TREE, "addAcl", path="/home", acl="other::---"))
    assert "other::---" in get_acl(cmon, "/home")


def test_ft_acl_testRmdir(cmon):
    acl_create_users(cmon)
    acl_mkdir(cmon)
    ok(s9s(cmon).call(TREE, "rmdir", path="/home"))
    assert "home" not in listing(cmon, None, "supervisor")


# ===================================================================== ft_folders.sh


def entry(cmon: FakeCmon, path: str) -> tuple[str, str, str, Any]:
    """check_entry (``tree --list --long --directory ... PATH`` as the admin: getTree of
    the path, the entry itself printed): ACL, owner, group and size of one CDT entry."""
    item = ok(admin(cmon).call("/v2/tree", "getTree", path=path))["cdt"]
    assert item["item_path"].rstrip("/") + "/" + item["item_name"] == path
    return (acl_string(item["item_acl"], item["item_type"]), item["owner_user_name"],
            item["owner_group_name"], item.get("size"))


def all_paths(cmon: FakeCmon) -> set[str]:
    """``tree --list --recursive --full-path --all``: every path of the tree."""
    found: set[str] = set()

    def walk(item: dict[str, Any]) -> None:
        found.add(item["item_path"].rstrip("/") + "/" + item["item_name"])
        for sub in item.get("sub_items", []):
            walk(sub)
    walk(ok(s9s(cmon).call("/v2/tree", "getTree"))["cdt"])
    return found


def test_ft_folders_testMkdir1(cmon):
    grant_user(cmon)
    ok(s9s(cmon).call(TREE, "mkdir", path=f"/home/{ME}/.config"))     # folders made on the way
    for path in ("/home", f"/home/{ME}"):
        assert entry(cmon, path)[:3] == ("drwxrwxrwx", ME, "users")
    assert f"/home/{ME}" in all_paths(cmon)
    ok(s9s(cmon).call(TREE, "rmdir", path=f"/home/{ME}/.config"))


def test_ft_folders_testMkdir2(cmon):
    grant_user(cmon)
    ok(s9s(cmon).call(TREE, "mkdir", path="/testMkdir2"))
    assert entry(cmon, "/testMkdir2")[:3] == ("drwxrwxrwx", ME, "users")
    fails(s9s(cmon).call(TREE, "mkdir", path="/testMkdir2"))
    ok(s9s(cmon).call(TREE, "rmdir", path="/testMkdir2"))


def folders_touch(cmon: FakeCmon) -> None:
    path, new_path = f"/home/{ME}/test.text", f"/home/{ME}/testfile.txt"
    ok(s9s(cmon).call(TREE, "mkdir", path=f"/home/{ME}"))
    ok(s9s(cmon).call(TREE, "mkfile", path=path))                      # tree --touch
    assert entry(cmon, path) == ("-rwxrwxrwx", ME, "users", 0)
    ok(s9s(cmon).call(TREE, "setcontent", path=path,                   # tree --save
                      content="File content...\nSecond line.\n"))
    assert ok(s9s(cmon).call(TREE, "cat", path=path))["file_content"] == (
        "File content...\nSecond line.\n")
    ok(s9s(cmon).call(TREE, "rename", source_path=path, target_name="testfile.txt"))
    assert entry(cmon, new_path) == ("-rwxrwxrwx", ME, "users", 29)
    fails(s9s(cmon).call(TREE, "mkfile", path="/.runtime/ak.txt"))
    fails(s9s(cmon).call(TREE, "mkfile", path="/no_such_folder/ak.txt"))


def test_ft_folders_testTouch(cmon):
    grant_user(cmon)
    folders_touch(cmon)


def folders_create_user(cmon: FakeCmon) -> None:
    ok(create_user(system(cmon), "kirk", group="tos", title="Captain", create_group=True,
                   first_name="James", last_name="Kirk", email_address="kirk@enterprise.com",
                   new_password="secret"))
    assert user_group(cmon, "kirk") == "tos"
    assert users(cmon)["kirk"]["email_address"] == "kirk@enterprise.com"
    assert whoami(cmon, "kirk", "secret") == whoami(cmon, "kirk") == "kirk"
    ok(s9s(cmon).call(TREE, "mkdir", path="/home/kirk"))
    ok(s9s(cmon).call(TREE, "chown", path="/home/kirk", owner_user_name="kirk",
                      owner_group_name="tos", recursive=True))
    assert entry(cmon, "/home/kirk")[:3] == ("drwxrwxrwx", "kirk", "tos")


def test_ft_folders_testCreateUser(cmon):
    grant_user(cmon)
    folders_create_user(cmon)


def rename_group(cmon: FakeCmon) -> None:
    """``tree --move /groups/tos TOS``: s9s sends ``rename`` for a bare target; pipas (in
    users) may rename a group it cannot write, as it may through ``move``."""
    ok(s9s(cmon).call(TREE, "rename", source_path="/groups/tos", target_name="TOS"))
    assert entry(cmon, "/groups/TOS")[:3] == ("grwxrwx---", "system", "admins")
    assert entry(cmon, "/home/kirk")[:3] == ("drwxrwxrwx", "kirk", "TOS")


def test_ft_folders_testRenameGroup(cmon):
    grant_user(cmon)
    folders_create_user(cmon)
    rename_group(cmon)


def test_ft_folders_testRenameUser(cmon):
    grant_user(cmon)
    folders_create_user(cmon)
    rename_group(cmon)
    ok(s9s(cmon).call(TREE, "rename", source_path="/kirk", target_name="Kirk"))
    _KEYS["Kirk"] = key_of("kirk")                                     # mv kirk.key Kirk.key
    assert user_group(cmon, "Kirk") == "TOS"
    assert users(cmon)["Kirk"]["email_address"] == "kirk@enterprise.com"
    assert whoami(cmon, "Kirk", "secret") == whoami(cmon, "Kirk") == "Kirk"
    assert entry(cmon, "/Kirk")[:3] == ("urwxr--r--", "Kirk", "admins")
    assert entry(cmon, "/home/kirk")[:3] == ("drwxrwxrwx", "Kirk", "TOS")


def test_ft_folders_moves_need_write_access(cmon):
    """What the bare-name rename does not open: moving others' files, renaming clusters."""
    grant_user(cmon)
    folders_create_user(cmon)
    ok(s9s(cmon, "kirk", "secret").call(TREE, "mkdir", path="/private"))
    ok(s9s(cmon, "kirk", "secret").call(TREE, "mkfile", path="/private/f"))
    ok(s9s(cmon, "kirk", "secret").call(TREE, "addAcl", path="/private", acl="other::r-x"))
    denied = s9s(cmon).call(TREE, "move", source_path="/private/f", target_path="g")
    assert exit_code(denied["request_status"]) == 3
    assert "f" in listing(cmon, "/private")


# ===================================================================== ft_cdt.sh


def test_ft_cdt_testCreateUser(cmon):
    """testCreateUser is grant_user (pipas in users, its key registered)."""
    grant_user(cmon)
    assert whoami(cmon) == ME and user_group(cmon, ME) == "users"


def test_ft_cdt_testRootFolder(cmon):
    grant_user(cmon)
    root = tree_entry(cmon, "/")
    assert (acl_string(root["item_acl"], root["item_type"]), root["owner_user_name"],
            root["owner_group_name"], root["item_path"]) == ("drwxrwxrwx", "system", "admins", "/")


def test_ft_cdt_testGroupsFolder(cmon):
    grant_user(cmon)
    groups = tree_entry(cmon, "/groups")
    assert (groups["item_name"], groups["owner_user_name"], groups["owner_group_name"]) == (
        "groups", "system", "admins")
    # the listing shows the device numbers in the size column: six columns
    assert (groups["major_device_number"], groups["minor_devide_number"]) == (1, 0)


# ===================================================================== ft_jobs.sh


def create_job(cmon: FakeCmon, command: str, tags: list[str] | None = None,
               **job_data: Any) -> int:
    """``job --success|--fail [--job-tags=A,B] [--timeout=N]``: the job id s9s prints
    (s9s puts the user's SSH key file and name into every job's data)."""
    titles = {"success": "Simulated Success", "fail": "Simulated Failure"}
    data = {"ssh_keyfile": f"/home/{ME}/.ssh/id_rsa", "ssh_user": ME, **job_data}
    job: dict[str, Any] = {"class_name": "CmonJobInstance", "title": titles[command],
                           "job_spec": {"command": command, "job_data": data}}
    if tags:
        job["tags"] = tags
    reply = ok(s9s(cmon).call(JOBS, "createJobInstance", class_name="CmonRpcRequest", job=job))
    return reply["job"]["job_id"]


def wait(cmon: FakeCmon, job_id: int) -> int:
    """``--wait``: getJobInstance until the job ends; exit 1 for FAILED only."""
    client = s9s(cmon)
    for _ in range(100):
        job = ok(client.call(JOBS, "getJobInstance", job_id=job_id))["job"]
        if job["status"] in ("FINISHED", "FAILED", "ABORTED"):
            return 1 if job["status"] == "FAILED" else 0
        cmon.advance(1)
    raise AssertionError(f"job {job_id} never ended")


def job_lines(cmon: FakeCmon, **filters: Any) -> int:
    """``job --list --batch [filters] | wc -l``."""
    reply = ok(s9s(cmon).call(JOBS, "getJobInstances", **filters))
    assert reply["total"] == len(reply["jobs"])
    return len(reply["jobs"])


def simple_jobs(cmon: FakeCmon) -> None:
    assert wait(cmon, create_job(cmon, "success", ["success", "test", "one"])) == 0
    assert wait(cmon, create_job(cmon, "fail", ["fail", "test", "two"])) == 1
    assert job_lines(cmon, show_failed=True) == 1
    assert job_lines(cmon, show_finished=True) == 1
    assert job_lines(cmon, tags=["test"]) == 2
    assert job_lines(cmon, tags=["success"]) == 1
    assert job_lines(cmon) == 2
    assert job_lines(cmon, tags=["one", "two"]) == 2                   # one || two


def test_ft_jobs_testSimpleJobs(cmon):
    grant_user(cmon)
    simple_jobs(cmon)


def abort(cmon: FakeCmon, command: str, job_id: int) -> None:
    assert create_job(cmon, command, timeout=120) == job_id
    cmon.advance(5)                                                    # sleep 5
    assert job_lines(cmon) >= 3                                        # job --list
    killed = ok(s9s(cmon).call(JOBS, "killJobInstance", job_id=job_id, signal=15))
    assert "job" not in killed                                         # CMON's bare reply
    cmon.advance(3)                                                    # sleep 3
    job = ok(s9s(cmon).call(JOBS, "getJobInstance", job_id=job_id))["job"]
    assert job["status"] == "ABORTED"                                  # job --list --job-id


def test_ft_jobs_testAbortSuccess(cmon):
    grant_user(cmon)
    simple_jobs(cmon)
    abort(cmon, "success", 3)


def test_ft_jobs_testAbortFail(cmon):
    grant_user(cmon)
    simple_jobs(cmon)
    abort(cmon, "success", 3)
    abort(cmon, "fail", 4)


# ===================================================================== ft_superuser.sh, ft_adminuser.sh


def test_ft_superuser_testBoostrap_testPrint_testAuth(cmon):
    """``user --create --generate-key --group=admins --new-password=admin superuser``
    without credentials goes through the FIFO; then ``user --list --long`` by the key s9s
    made (s9s.conf now names superuser) and by password."""
    status, text = through_fifo(cmon, fifo_request("superuser", group="admins",
                                                   key=key_of("superuser"), new_password="admin",
                                                   email_address=EMAIL, **NAMES))
    assert status == "Ok", text
    by_key = users(cmon, "superuser", None)
    assert [g["group_name"] for g in by_key["superuser"]["groups"]] == ["admins"]
    client = s9s(cmon, "superuser", "admin")
    assert client.login["is_superuser"] is True
    assert "superuser" in users(cmon, "superuser", "admin")


def test_ft_superuser_bootstrap_of_an_existing_user_grants_it(cmon):
    """The FIFO request for a user that exists (``admin`` on a fresh controller) grants it:
    its key is registered and its password set."""
    status, text = through_fifo(cmon, fifo_request("admin", group="admins", key=key_of("admin"),
                                                   new_password="admin", email_address=EMAIL))
    assert status == "Ok", text
    assert whoami(cmon, "admin", "admin") == whoami(cmon, "admin") == "admin"
    listed = users(cmon, "admin", "admin")
    assert [g["group_name"] for g in listed["admin"]["groups"]] == ["admins"]


def test_ft_adminuser_testCreateUser_testUser(cmon):
    """ft_adminuser: testCreateUser is grant_user; then ``user --whoami`` (s9s.conf names
    pipas, /etc/s9s.conf the controller) and ``user --list --long``."""
    grant_user(cmon)
    assert whoami(cmon) == ME
    assert {"system", "nobody", "admin", ADMIN, ME} <= set(users(cmon, ME, None))


# ===================================================================== ft_metatype.sh


def test_ft_metatype_testTypes(cmon):
    grant_user(cmon)
    types = ok(s9s(cmon).call("/v2/metatype/", "getMetaTypes",
                              class_name="CmonRpcRequest"))["metatype_info"]
    by_name = {t["type_name"]: t for t in types}
    assert {"CmonAccount", "CmonVerbatim"} <= set(by_name)
    assert "Basic type for" in by_name["CmonStats"]["description"]


def test_ft_metatype_testProperties(cmon):
    grant_user(cmon)
    reply = ok(s9s(cmon).call("/v2/metatype/", "getMetaTypeInfo", class_name="CmonRpcRequest",
                              **{"type-name": "CmonFile"}))
    props = {p["property_name"]: p for p in reply["metatype_info"]}
    assert {"user", "host_name"} <= set(props)
    assert "The name of the owner" in props["user"]["description"]


# ===================================================================== ft_errors.sh


def test_ft_errors_grant_user(cmon):
    """Every case of ft_errors.sh is an option error s9s reports itself, before any
    request; what reaches the controller is grant_user() and the login of each command."""
    grant_user(cmon)
    assert s9s(cmon).logged_in and s9s(cmon, ME, ME_PASSWORD).logged_in
