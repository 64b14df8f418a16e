"""/v2/users (and /v2/auth passwordReset) over TLS, as clients see them.

Users made through the API log in at once by password and by key, see only what
their ACLs allow and get CMON's errors; the captures of user and group operations
replay with the same status, fields and JSON types.
"""

from __future__ import annotations

import json

import pytest

from cdtutil import capture, compare, key_login, login, new_key, op, openssh, pem_pkcs1, replay

U = "/v2/users"

KEY = new_key()
OTHER_KEY = new_key()


def create(client, name, *, groups=("users",), password="pw-" + "x", create_group=False,
           keys=(), **texts):
    return op(client, U, "createUser", new_password=password, create_group=create_group,
              user={"class_name": "CmonUser", "user_name": name,
                    "groups": [{"class_name": "CmonGroup", "group_name": g} for g in groups],
                    "public_keys": [{"name": "No Name", "key": k} for k in keys] or
                    [{"name": "No Name", "key": ""}],  # what s9s sends without a key
                    **texts})


def users_by_name(client):
    reply = op(client, U, "getUsers", class_name="CmonRpcRequest")
    assert reply["request_status"] == "Ok"
    return {u["user_name"]: u for u in reply["users"]}


# ---- the life of a user


def test_created_user_logs_in_by_password_and_key(cmon, system):
    reply = create(system, "kirk", groups=["tos"], create_group=True, password="secret",
                   keys=[pem_pkcs1(KEY)], first_name="James", last_name="Kirk",
                   email_address="kirk@enterprise.com", title="Captain")
    assert reply["request_status"] == "Ok", reply
    user = reply["user"]
    assert user["user_name"] == "kirk" and user["owner_user_name"] == "kirk"
    assert user["owner_group_name"] == "admins"
    assert user["acl"] == "user::rwx,group::r--,other::r--"
    assert [g["group_name"] for g in user["groups"]] == ["tos"]
    group = next(g for g in op(system, U, "getGroups")["groups"] if g["group_name"] == "tos")
    assert (group["owner_user_name"], group["owner_group_name"]) == ("system", "admins")

    by_password = login(cmon, "kirk", "secret")
    me = op(by_password, U, "whoAmI", with_extended_privileges=True)
    assert me["user"]["user_name"] == "kirk" and me["request_user_id"] == user["user_id"]

    by_key, reply = key_login(cmon, "kirk", KEY)
    assert reply["request_status"] == "Ok", reply
    assert reply["user"]["user_name"] == "kirk" and reply["is_superuser"] is False
    assert op(by_key, U, "whoAmI")["user"]["user_name"] == "kirk"


def test_wrong_key_and_password_are_counted(cmon, system):
    create(system, "odo", keys=[pem_pkcs1(KEY)], password="odo")
    _, reply = key_login(cmon, "odo", OTHER_KEY)
    assert reply["request_status"] == "AccessDenied"
    assert cmon.client().login("odo", "wrong")["request_status"] == "AccessDenied"
    odo = users_by_name(system)["odo"]
    assert odo["n_failed_logins"] == 2 and odo["last_failed_login"]
    login(cmon, "odo", "odo")
    assert users_by_name(system)["odo"]["n_failed_logins"] == 0


def test_key_added_later_logs_in_openssh_too(cmon, system):
    create(system, "worf", password="worf")
    worf = login(cmon, "worf", "worf")
    assert key_login(cmon, "worf", KEY)[1]["request_status"] == "AccessDenied"
    reply = op(worf, U, "addKey", user={"class_name": "CmonUser", "user_name": "worf"},
               public_key={"name": "The_SSH_key", "key": openssh(KEY)})
    assert reply["request_status"] == "Ok", reply
    assert key_login(cmon, "worf", KEY)[1]["request_status"] == "Ok"
    keys = op(worf, U, "getKeys", user={"class_name": "CmonUser", "user_name": "worf"})
    assert keys["total"] == 1 and keys["public_keys"][0]["name"] == "The_SSH_key"
    again = op(worf, U, "addKey", user={"user_name": "worf"},
               public_key={"name": "again", "key": openssh(KEY)})
    assert again["request_status"] == "InvalidRequest"
    gone = op(worf, U, "deleteKey", user={"user_name": "worf"},
              public_key={"name": "The_SSH_key"})
    assert gone["request_status"] == "Ok"
    assert key_login(cmon, "worf", KEY)[1]["request_status"] == "AccessDenied"
    # somebody else's keys are not yours to change
    other = op(worf, U, "addKey", user={"user_name": "dba"},
               public_key={"name": "k", "key": openssh(KEY)})
    assert other["request_status"] == "AccessDenied"
    assert other["error_string"] == "Access to user 'dba' is denied for user 'worf'."


def test_disabled_user_cannot_log_in(cmon, system):
    create(system, "bashir", keys=[pem_pkcs1(KEY)], password="julian")
    session = login(cmon, "bashir", "julian")
    assert op(system, U, "disable", user={"class_name": "CmonUser", "user_name": "bashir"}
              )["request_status"] == "Ok"
    assert op(session, U, "whoAmI")["request_status"] == "AuthRequired"
    assert cmon.client().login("bashir", "julian")["request_status"] == "AccessDenied"
    assert key_login(cmon, "bashir", KEY)[1]["request_status"] == "AccessDenied"
    assert users_by_name(system)["bashir"]["disabled"] is True
    assert op(system, U, "enable", user={"user_name": "bashir"})["request_status"] == "Ok"
    login(cmon, "bashir", "julian")
    # nobody disables itself, and only who may write the user disables it
    assert op(system, U, "disable", user={"user_name": "system"})["request_status"] == "InvalidRequest"
    reader = login(cmon, "readeruser", "s3cr3tP455")
    denied = op(reader, U, "disable", user={"user_name": "bashir"})
    assert denied["request_status"] == "AccessDenied"


def test_suspended_user_cannot_log_in(cmon, system):
    create(system, "quark", password="latinum")
    cmon.run(lambda c: setattr(c.world.user_by_name("quark"), "suspended", True))
    assert cmon.client().login("quark", "latinum")["request_status"] == "AccessDenied"
    op(system, U, "enable", user={"user_name": "quark"})
    login(cmon, "quark", "latinum")


def test_set_user(cmon, system, reader):
    reply = op(system, U, "setUser", user={"class_name": "CmonUser", "user_name": "dba",
                                           "email_address": "dba@new.example", "title": "DBA"})
    assert reply["request_status"] == "Ok"
    assert reply["user"]["email_address"] == "dba@new.example" and reply["user"]["title"] == "DBA"
    mine = op(reader, U, "setUser", user={"user_name": "readeruser", "first_name": "Reed"})
    assert mine["request_status"] == "Ok" and mine["user"]["first_name"] == "Reed"
    other = op(reader, U, "setUser", user={"user_name": "dba", "first_name": "Evil"})
    assert other["request_status"] == "AccessDenied"
    assert users_by_name(system)["dba"]["first_name"] == "Dana"
    wrong_type = op(system, U, "setUser", user={"user_name": "dba", "first_name": 7})
    assert wrong_type["request_status"] == "InvalidRequest"


def test_change_password(cmon, system):
    create(system, "sisko", password="old")
    # a superuser sets another user's password without the old one
    assert op(system, U, "changePassword", user={"class_name": "CmonUser", "user_name": "sisko"},
              new_password="p")["request_status"] == "Ok"
    sisko = login(cmon, "sisko", "p")
    # the user itself needs the old one
    wrong = op(sisko, U, "changePassword", user={"user_name": "sisko"}, old_password="nope",
               new_password="pp")
    assert (wrong["request_status"], wrong["error_string"]) == (
        "ObjectNotFound", "Username or password is incorrect.")
    assert op(sisko, U, "changePassword", user={"user_name": "sisko"}, old_password="p",
              new_password="pp")["request_status"] == "Ok"
    login(cmon, "sisko", "pp")
    assert cmon.client().login("sisko", "p")["request_status"] == "AccessDenied"
    # nor may a user set somebody else's password
    denied = op(sisko, U, "changePassword", user={"user_name": "dba"}, new_password="x")
    assert denied["request_status"] == "AccessDenied"
    empty = op(system, U, "changePassword", user={"user_name": "sisko"}, new_password="")
    assert empty["request_status"] == "InvalidRequest"


def test_password_reset_token_flow(cmon, system, tmp_path):
    cmon.run(lambda c: setattr(c.config, "password_reset_mail_dir", tmp_path))
    try:
        anon = cmon.client()
        first = op(anon, "/v2/auth", "passwordReset", user_name="dba")
        assert first["request_status"] == "Ok" and "request_user_id" not in first
        token = cmon.password_reset_token("dba")
        assert token and len(token) == 32
        mail = json.loads((tmp_path / "dba@example.com" / "email_0000.json").read_text())
        values = mail["elements"][0]["values"]
        assert values["@PASSWORD_RESET_TOKEN@"] == token
        assert values["@RECIPIENT@"] == "dba@example.com"
    finally:
        cmon.run(lambda c: setattr(c.config, "password_reset_mail_dir", None))
    bad = op(anon, "/v2/auth", "passwordReset", user_name="dba", password_reset_token="0" * 32,
             new_password="new")
    assert bad["request_status"] == "AccessDenied"
    ok = op(anon, "/v2/auth", "passwordReset", user_name="dba", password_reset_token=token,
            new_password="newpassword")
    assert ok["request_status"] == "Ok"
    login(cmon, "dba", "newpassword")
    again = op(anon, "/v2/auth", "passwordReset", user_name="dba", password_reset_token=token,
               new_password="other")
    assert again["request_status"] == "AccessDenied"  # a token works once
    # it expires
    op(anon, "/v2/auth", "passwordReset", user_name="dba")
    late = cmon.password_reset_token("dba")
    cmon.advance(2 * 86400)
    expired = op(anon, "/v2/auth", "passwordReset", user_name="dba", password_reset_token=late,
                 new_password="late")
    assert expired["request_status"] == "AccessDenied"
    unknown = op(anon, "/v2/auth", "passwordReset", user_name="nosuchuser")
    assert unknown["request_status"] == "ObjectNotFound"
    # the API spec's second step, "newpassword", takes the token the same way
    op(anon, "/v2/auth", "passwordReset", user_name="dba")
    spec = op(anon, "/v2/auth", "newpassword", user_name="dba", new_password="spec",
              password_reset_token=cmon.password_reset_token("dba"))
    assert spec["request_status"] == "Ok"
    login(cmon, "dba", "spec")
    no_token = op(anon, "/v2/auth", "newpassword", user_name="dba", new_password="x")
    assert no_token["request_status"] == "InvalidRequest"


def test_delete_user(cmon, system):
    created = create(system, "jadzia", password="dax")["user"]
    session = login(cmon, "jadzia", "dax")
    assert op(system, U, "deleteUser", user={"class_name": "CmonUser", "user_name": "jadzia"}
              )["request_status"] == "Ok"
    assert "jadzia" not in users_by_name(system)
    assert op(session, U, "whoAmI")["request_status"] == "AuthRequired"
    assert cmon.client().login("jadzia", "dax")["request_status"] == "AccessDenied"
    # ids are not reused: a new user does not inherit what the old one owned
    assert create(system, "ezri")["user"]["user_id"] > created["user_id"]
    gone = op(system, U, "deleteUser", user={"user_name": "jadzia"})
    assert (gone["request_status"], gone["error_string"]) == ("ObjectNotFound",
                                                              "User 'jadzia' is not found.")
    assert op(system, U, "deleteUser", user={"user_name": "system"})["request_status"] == "InvalidRequest"


# ---- groups


def test_groups(cmon, system, reader):
    made = op(system, U, "createGroup", group={"class_name": "CmonGroup", "group_name": "ds9"})
    assert made["request_status"] == "Ok" and made["group"]["group_name"] == "ds9"
    assert op(system, U, "createGroup", group={"group_name": "ds9"})["request_status"] == "InvalidRequest"
    listed = op(reader, U, "getGroups")
    assert listed["total"] == len(listed["groups"])
    assert [g["group_name"] for g in listed["groups"]][-1] == "ds9"
    assert op(reader, U, "createGroup", group={"group_name": "mine"})["request_status"] == "AccessDenied"
    denied = op(reader, U, "deleteGroup", group={"group_name": "ds9"})
    assert denied["error_string"] == "Write access to group 'ds9' is denied for user 'readeruser'."
    busy = op(system, U, "deleteGroup", group={"group_name": "users"})
    assert busy["error_string"] == "Group 'users' can not be deleted for it has 1 member(s)."
    assert op(system, U, "deleteGroup", group={"group_name": "ds9"})["request_status"] == "Ok"
    missing = op(system, U, "deleteGroup", group={"group_name": "ds9"})
    assert missing["request_status"] == "ObjectNotFound"


def test_add_to_and_remove_from_group(cmon, system, reader):
    escalate = op(reader, U, "addToGroup", user={"user_name": "readeruser"}, group_name="admins",
                  replace_primary_group=False)
    assert (escalate["request_status"], escalate["error_string"]) == (
        "AccessDenied", "Access to group 'admins' is denied for user 'readeruser'.")
    added = op(system, U, "addToGroup", user={"class_name": "CmonUser", "user_name": "dba"},
               group_name="admins", replace_primary_group=False)
    assert [g["group_name"] for g in added["user"]["groups"]] == ["users", "admins"]
    dba = login(cmon, "dba", "dba-pass")
    assert dba.call("/v2/auth", "authenticateWithPassword", user_name="dba",
                    password="dba-pass")["is_superuser"] is True
    twice = op(system, U, "addToGroup", user={"user_name": "dba"}, group_name="admins")
    assert twice["error_string"] == "User 'dba' is already a member of group 'admins'."
    removed = op(system, U, "removeFromGroup", user={"user_name": "dba"}, group_name="admins")
    assert [g["group_name"] for g in removed["user"]["groups"]] == ["users"]
    last = op(system, U, "removeFromGroup", user={"user_name": "dba"}, group_name="users")
    assert last["request_status"] == "InvalidRequest"
    primary = op(system, U, "addToGroup", user={"user_name": "dba"}, group_name="readers",
                 replace_primary_group=True)
    assert [g["group_name"] for g in primary["user"]["groups"]] == ["readers"]
    unknown = op(system, U, "addToGroup", user={"user_name": "dba"}, group_name="nosuch")
    assert unknown["request_status"] == "ObjectNotFound"


def test_group_membership_decides_cluster_access(cmon, system):
    create(system, "nog", password="nog", groups=["nogs"], create_group=True)
    nog = login(cmon, "nog", "nog")
    assert op(nog, "/v2/clusters", "getAllClusterInfo")["total"] == 0
    op(system, U, "addToGroup", user={"user_name": "nog"}, group_name="readers")
    seen = op(nog, "/v2/clusters", "getAllClusterInfo")
    assert seen["total"] == 6 and {c["effective_privileges"] for c in seen["clusters"]} == {"r--"}


# ---- bad input leaves nothing behind


@pytest.mark.parametrize("name", ["", "a/b", "x" * 256, "..", "tab\there", "a:b", "a,b"])
def test_bad_user_names(system, name):
    reply = create(system, name)
    assert reply["request_status"] == "InvalidRequest" and reply["error_string"]


@pytest.mark.parametrize("name, why", [
    ("", "is empty"), ("a/b", "contains '/'"), ("x" * 256, "is too long"),
    ("..", "is not a valid name")])
def test_bad_group_names(system, name, why):
    before = op(system, U, "getGroups")["total"]
    reply = op(system, U, "createGroup", group={"class_name": "CmonGroup", "group_name": name})
    assert reply["request_status"] == "InvalidRequest" and why in reply["error_string"]
    assert op(system, U, "getGroups")["total"] == before


def test_refused_create_user_changes_nothing(cmon, system, reader):
    before = op(system, U, "getGroups")["total"]
    no_group = create(system, "rom", groups=["nosuchgroup"])
    assert (no_group["request_status"], no_group["error_string"]) == (
        "ObjectNotFound", "Group 'nosuchgroup' does not exists.")   # sic
    # dba (in users) may add to users but not to admins: the new group is not made either
    dba = login(cmon, "dba", "dba-pass")
    mixed = create(dba, "leeta", groups=["newgroup", "admins"], create_group=True)
    assert mixed["request_status"] == "AccessDenied"
    assert op(system, U, "getGroups")["total"] == before
    assert not {"rom", "leeta"} & set(users_by_name(system))
    assert create(system, "galera-prod")["request_status"] == "InvalidRequest"  # a cluster's name
    assert op(system, U, "createUser", user="kirk")["request_status"] == "InvalidRequest"


def test_creating_a_user_that_exists_grants_it_its_key_and_password(cmon, system, reader):
    """s9s's ``user --create`` of an existing user (s9s-tools' functional tests create
    their users twice) succeeds as the usermgmt FIFO does: the key is registered and
    the password set, nothing else changes; it takes the right to change that user."""
    before = users_by_name(system)["dba"]
    denied = create(reader, "dba", password="taken-over", keys=[openssh(KEY)])
    assert denied["request_status"] == "AccessDenied", denied
    # one's own password changes only with the old one (changePassword), not this way
    dba = login(cmon, "dba", "dba-pass")
    own = create(dba, "dba", password="no-old-one", keys=[openssh(KEY)])
    assert own["request_status"] == "AccessDenied", own
    assert login(cmon, "dba", "dba-pass") is not None
    assert key_login(cmon, "dba", KEY)[1]["request_status"] == "AccessDenied"
    again = create(system, "dba", groups=["admins"], password="dba-new", keys=[openssh(KEY)],
                   first_name="Other")
    assert again["request_status"] == "Ok", again
    assert again["user"]["user_id"] == before["user_id"]
    after = users_by_name(system)["dba"]
    assert [g["group_name"] for g in after["groups"]] == [g["group_name"]
                                                          for g in before["groups"]]
    assert after.get("first_name") == before.get("first_name")
    assert key_login(cmon, "dba", KEY)[1]["request_status"] == "Ok"
    assert op(login(cmon, "dba", "dba-new"), U, "getUsers")["request_status"] == "Ok"
    same = create(system, "dba", password="", keys=[openssh(KEY)])   # nothing new
    assert same["request_status"] == "Ok"
    keys = op(system, U, "getKeys", user={"class_name": "CmonUser", "user_name": "dba"})
    assert keys["total"] == 1
    bad = op(system, U, "createUser", new_password="never-set",
             user={"user_name": "dba", "public_keys": "not a list"})
    assert bad["request_status"] == "InvalidRequest", bad
    assert op(login(cmon, "dba", "dba-new"), U, "getUsers")["request_status"] == "Ok"


def test_default_group_and_extended_privileges(cmon, system):
    create(system, "rom", password="rom", groups=())
    rom = login(cmon, "rom", "rom")
    me = op(rom, U, "whoAmI", with_extended_privileges=True)
    assert [g["group_name"] for g in me["user"]["groups"]] == ["users"]
    assert me["user_extended_privileges"] == {"class_name": "CmonExtendedPrivileges",
                                              "can_create_clusters": True,
                                              "can_execute_jobs": True}
    # the privileges are the ACLs of /.runtime/jobs/jobExecutor*
    for name in ("jobExecutor", "jobExecutorCreateCluster"):
        assert op(system, "/v2/tree", "addAcl", path=f"/.runtime/jobs/{name}",
                  acl="user:rom:---")["request_status"] == "Ok"
    me = op(rom, U, "whoAmI", with_extended_privileges=True)
    assert me["user_extended_privileges"]["can_execute_jobs"] is False
    assert me["user_extended_privileges"]["can_create_clusters"] is False
    reader = login(cmon, "readeruser", "s3cr3tP455")
    assert op(reader, U, "whoAmI")["user_extended_privileges"]["can_execute_jobs"] is False


def test_can_create(cmon, system, reader):
    assert op(system, U, "canCreateUser")["request_status"] == "Ok"
    assert op(system, U, "canCreateGroup")["request_status"] == "Ok"
    assert op(reader, U, "canCreateGroup")["request_status"] == "AccessDenied"


# ---- the s9s user and group commands: the fields s9s reads


def test_s9s_user_commands(cmon, system):
    listed = op(system, U, "getUsers", class_name="CmonRpcRequest")
    assert listed["total"] == len(listed["users"]) and listed["request_user_id"] == 1
    for user in listed["users"]:
        assert {"user_name", "user_id", "groups", "disabled", "suspended", "acl",
                "cdt_path", "owner_user_name", "owner_group_name", "created"} <= set(user)
        assert all("group_name" in g for g in user["groups"])
    who = op(system, U, "whoAmI", with_extended_privileges=True)
    assert who["user"]["user_name"] == "system"
    groups = op(system, U, "getGroups")
    for group in groups["groups"]:
        assert {"group_id", "group_name", "owner_user_name", "owner_group_name"} <= set(group)
    keys = op(system, U, "getKeys", user={"class_name": "CmonUser", "user_name": "system"})
    assert keys["request_status"] == "Ok" and keys["total"] == 0 and keys["public_keys"] == []


# ---- captures


def test_capture_create_user(cmon, system, contract):
    req, rep = capture(contract, "Ok-createUser")
    ours = replay(system, U, req)
    compare(ours, rep)
    assert not {"class_name", "owner_group_name", "acl", "groups"} - set(ours["user"])
    login(cmon, "grumio", "p")


def test_capture_set_user(system, contract):
    req, rep = capture(contract, "Ok-setUser")
    compare(replay(system, U, req), rep)
    req, rep = capture(contract, "ObjectNotFound-setUser")
    ours = replay(system, U, req)
    compare(ours, rep)
    assert ours["error_string"] == rep["error_string"]


def test_capture_change_password(cmon, contract):
    req, rep = capture(contract, "Ok-changePassword")
    dba = login(cmon, "dba", "dba-pass")
    compare(replay(dba, U, req, user={"class_name": "CmonUser", "user_name": "dba"},
                   old_password="dba-pass"), rep)
    login(cmon, "dba", req["new_password"])


def test_capture_password_reset(cmon, contract):
    req, rep = capture(contract, "ObjectNotFound-passwordReset")
    ours = replay(cmon.client(), "/v2/auth", req, user_name="ccrpc")
    compare(ours, rep)
    assert ours["error_string"] == rep["error_string"].replace("'admin'", "'ccrpc'")
    req, rep = capture(contract, "Ok-passwordReset")
    anon = cmon.client()
    assert op(anon, "/v2/auth", "passwordReset", user_name="system")["request_status"] == "Ok"
    ours = replay(anon, "/v2/auth", req, password_reset_token=cmon.password_reset_token("system"))
    compare(ours, rep)
    login(cmon, "system", req["new_password"])


def test_capture_add_key(cmon, contract):
    req, rep = capture(contract, "Ok-addKey")
    dba = login(cmon, "dba", "dba-pass")
    compare(replay(dba, U, req, user={"class_name": "CmonUser", "user_name": "dba"}), rep)


@pytest.mark.parametrize("name", ["Ok-getUsers", "Ok-getGroups", "Ok-whoAmI"])
def test_capture_lists(reader, contract, name):
    req, rep = capture(contract, name)
    compare(replay(reader, U, req), rep)


def test_capture_groups(system, contract):
    req, rep = capture(contract, "Ok-createGroup")
    compare(replay(system, U, req), rep)
    req, rep = capture(contract, "Ok-deleteGroup")
    op(system, U, "createGroup", group={"group_name": "tmpgroup"})
    compare(replay(system, U, req), rep)
    req, rep = capture(contract, "InvalidRequest-deleteGroup")
    ours = replay(system, U, req, group={"class_name": "CmonGroup", "group_name": "readers"})
    compare(ours, rep)
    assert ours["error_string"] == "Group 'readers' can not be deleted for it has 1 member(s)."


def test_capture_add_to_group(cmon, system, reader, contract):
    req, rep = capture(contract, "Ok-addToGroup")
    compare(replay(system, U, req, user={"class_name": "CmonUser", "user_name": "dba"}), rep)
    req, rep = capture(contract, "InvalidRequest-addToGroup")
    ours = replay(system, U, req, user={"class_name": "CmonUser", "user_name": "dba"})
    compare(ours, rep)
    assert ours["error_string"] == rep["error_string"].replace("sisko", "dba")
    req, rep = capture(contract, "AccessDenied-addToGroup")
    ours = replay(reader, U, req, user={"class_name": "CmonUser", "user_name": "readeruser"})
    compare(ours, rep)
    assert ours["error_string"] == rep["error_string"].replace("student", "readeruser")
