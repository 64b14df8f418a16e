"""Where nothing was recorded, what today's s9s and CMON show (issue 9, part A), over TLS.

One rule for renames whichever operation s9s sends; CMON's texts for failed logins and a
missing group; the login counters; the password reset mail in the recipient's mbox;
replies shaped as a real CMON gives them (tags, keys, current maintenance, LDAP
settings, deleteGroup and unregisterServers denials); ``TZ=`` recurrences.
"""

from __future__ import annotations

import mailbox
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
import pytest

from cdtutil import login, op
from fakecmon.timefmt import rfc3339
from rawtls import exchange, post_bytes
from test_cli import serving

T, U = "/v2/tree", "/v2/users"
FRESH = Path(__file__).resolve().parents[1] / "fixtures" / "fresh.yaml"
USER_LOGIN_FIELDS = ("last_login", "last_failed_login", "n_failed_logins")


def make_user(system, name, group, password="secret", **texts):
    reply = op(system, U, "createUser", new_password=password, create_group=True,
               user={"class_name": "CmonUser", "user_name": name,
                     "groups": [{"class_name": "CmonGroup", "group_name": group}], **texts})
    assert reply["request_status"] == "Ok", reply
    return reply["user"]


def user_names(system):
    return {u["user_name"] for u in op(system, U, "getUsers")["users"]}


def group_names(system):
    return {g["group_name"] for g in op(system, U, "getGroups")["groups"]}


# ---- symptom 2: rename and move, one rule for one change


@pytest.mark.parametrize("how", ["rename", "move to a bare name", "move beside"])
def test_a_plain_user_renames_users_and_groups_whichever_operation(cmon, system, how):
    """``s9s tree --move /groups/tos TOS`` sends ``rename`` (s9s HEAD), older s9s sent
    ``move``; ``move /kirk /Kirk`` is the same change: all three are allowed to a plain
    user (dba, in users) as CMON allows them, and all three stop at superusers."""
    make_user(system, "kirk", "tos")
    dba = login(cmon, "dba", "dba-pass")

    def rename(source, name):
        if how == "rename":
            return op(dba, T, "rename", source_path=source, target_name=name)
        folder = source.rpartition("/")[0] or ""
        target = name if how == "move to a bare name" else f"{folder}/{name}"
        return op(dba, T, "move", source_path=source, target_path=target)

    assert rename("/groups/tos", "TOS")["request_status"] == "Ok"
    assert rename("/kirk", "Kirk")["request_status"] == "Ok"
    assert {"Kirk"} <= user_names(system) and "kirk" not in user_names(system)
    assert "TOS" in group_names(system) and "tos" not in group_names(system)
    assert login(cmon, "Kirk", "secret") is not None
    for source, name in (("/admin", "boss"), ("/groups/admins", "wheel")):
        refused = rename(source, name)
        assert refused["request_status"] in ("AccessDenied", "InvalidRequest"), refused
        assert refused["error_string"]
    assert {"admin", "system"} <= user_names(system) and "admins" in group_names(system)


def test_rename_of_a_file_needs_write_access_to_its_folder_either_way(cmon, system):
    kirk = make_user(system, "kirk", "tos")["user_name"]
    owner = login(cmon, kirk, "secret")
    op(owner, T, "mkdir", path="/private")
    op(owner, T, "mkfile", path="/private/f")
    op(owner, T, "addAcl", path="/private", acl="other::r-x")
    dba = login(cmon, "dba", "dba-pass")
    by_rename = op(dba, T, "rename", source_path="/private/f", target_name="g")
    by_move = op(dba, T, "move", source_path="/private/f", target_path="g")
    assert by_rename["request_status"] == by_move["request_status"] == "AccessDenied"
    assert by_rename["error_string"] == by_move["error_string"]
    assert op(owner, T, "rename", source_path="/private/f", target_name="g"
              )["request_status"] == "Ok"


# ---- symptoms 3 and 4: createUser's missing group, failed logins


def test_create_user_with_a_missing_group_in_cmons_words(cmon, system):
    before = user_names(system)
    reply = op(system, U, "createUser", create_group=False, user={
        "class_name": "CmonUser", "user_name": "kirk", "title": "Captain",
        "groups": [{"class_name": "CmonGroup", "group_name": "nosuchgroup"}]})
    assert (reply["request_status"], reply["error_string"]) == (
        "ObjectNotFound", "Group 'nosuchgroup' does not exists.")      # sic
    assert user_names(system) == before and "nosuchgroup" not in group_names(system)


def test_failed_logins_move_the_counters_as_cmon_does(cmon, system):
    def dba():
        return next(u for u in op(system, U, "getUsers")["users"] if u["user_name"] == "dba")

    fresh = dba()
    assert (fresh["last_login"], fresh["last_failed_login"], fresh["n_failed_logins"]) == (
        "", "", 0)
    for n in (1, 2):
        refused = cmon.client().login("dba", "wrong")
        assert refused["error_string"] == "Username or password is incorrect."
        assert dba()["n_failed_logins"] == n
    failed_at = dba()["last_failed_login"]
    assert failed_at.endswith("Z") and dba()["last_login"] == ""
    unknown = cmon.client().login("dbaa", "dba-pass")
    assert unknown["error_string"] == "Username or password is incorrect."
    assert dba()["n_failed_logins"] == 2                # an unknown name counts for no one
    login(cmon, "dba", "dba-pass")
    after = dba()
    assert after["n_failed_logins"] == 0 and after["last_failed_login"] == failed_at
    assert after["last_login"].endswith("Z")


def test_user_objects_always_carry_the_login_fields(cmon, system):
    """CMON's user objects carry ``last_login``/``last_failed_login`` ("" when none) and
    ``n_failed_logins`` also for users who never logged in (getUsers, whoAmI, createUser,
    getKeys, addToGroup...)."""
    made = make_user(system, "newbie", "newbies")
    listed = op(system, U, "getUsers")["users"]
    for user in [made, *listed, op(system, U, "whoAmI")["user"]]:
        assert all(k in user for k in USER_LOGIN_FIELDS), user
        assert isinstance(user["n_failed_logins"], int)
        assert isinstance(user["last_login"], str) and isinstance(user["last_failed_login"], str)
    assert (made["last_login"], made["last_failed_login"], made["n_failed_logins"]) == ("", "", 0)


# ---- symptom 5: the password reset mail, in the recipient's mbox


def reset(port, **fields):
    raw = exchange(port, post_bytes("/v2/auth/", orjson.dumps(
        {"operation": "passwordReset", **fields})))
    return orjson.loads(raw.partition(b"\r\n\r\n")[2])


def test_reset_mail_is_delivered_to_the_mbox_of_the_recipient(tmp_path):
    """``fakecmon serve --mail-spool DIR``: each mail appended to ``DIR/<local part>``, as
    /var/mail/$USER gets CMON's mail; ft_user.sh reads ``To:`` and the ``--token=`` line;
    ``--password-reset-mail-dir`` keeps the JSON spool too."""
    spool, outgoing = tmp_path / "mail", tmp_path / "outgoing"
    world = tmp_path / "world.yaml"
    world.write_text("users:\n  - {user_name: pipas, password: old, groups: [users],\n"
                     "     email_address: pipas@ft-host, first_name: Laszlo}\n"
                     "  - {user_name: weird, password: w, groups: [users],\n"
                     "     email_address: '../../etc/x@evil'}\n")
    with serving(["--certs-dir", str(tmp_path), "--world", str(FRESH),
                  "--world", str(world), "--mail-spool", str(spool),
                  "--password-reset-mail-dir", str(outgoing)]) as s:
        _, port = s.urls[0]
        assert reset(port, user_name="admin")["request_status"] == "ObjectNotFound"
        assert reset(port, user_name="pipas")["request_status"] == "Ok"
        assert reset(port, user_name="pipas")["request_status"] == "Ok"    # a second mail
        assert reset(port, user_name="weird")["request_status"] == "Ok"
        box = mailbox.mbox(spool / "pipas")
        messages = list(box)
        assert len(messages) == 2
        assert all(m["To"] == "pipas@ft-host" and m["Subject"] for m in messages)
        text = (spool / "pipas").read_text()
        token_lines = [ln for ln in messages[1].get_payload().splitlines() if "--token" in ln]
        assert len(token_lines) == 1
        token = token_lines[0].split()[0].split("=")[1].replace('"', "")
        spooled = sorted((outgoing / "pipas@ft-host").glob("email_*.json"))
        assert orjson.loads(spooled[-1].read_bytes())["elements"][0]["values"][
            "@PASSWORD_RESET_TOKEN@"] == token
        used = reset(port, user_name="pipas", password_reset_token=token,
                     new_password="newpassword")
        assert used["request_status"] == "Ok"
        body = orjson.dumps({"operation": "authenticateWithPassword", "user_name": "pipas",
                             "password": "newpassword"})
        assert b'"Ok"' in exchange(port, post_bytes("/v2/auth", body))
    assert text.count("\nFrom ") + text.startswith("From ") == 2       # mbox separators
    assert sorted(p.name for p in spool.iterdir()) == ["_.._.._etc_x", "pipas"]
    assert not (tmp_path / "etc").exists()


# ---- symptom 10: replies as CMON gives them


def test_delete_group_denial_names_the_access(cmon, system):
    make_user(system, "student", "students", "student")
    assert op(system, U, "createGroup", group={"group_name": "tmpgroup"})["request_status"] == "Ok"
    denied = op(login(cmon, "student", "student"), U, "deleteGroup",
                group={"class_name": "CmonGroup", "group_name": "tmpgroup"})
    assert (denied["request_status"], denied["error_string"]) == (
        "AccessDenied", "Write access to group 'tmpgroup' is denied for user 'student'.")
    assert "tmpgroup" in group_names(system)


def test_unregister_servers_checks_access_first(cmon, system):
    outsider = login(cmon, "dba", "dba-pass")
    for host in ("192.168.0.201", "lxc-host-1"):       # not registered / not dba's
        denied = op(outsider, "/v2/host", "unregisterServers",
                    servers=[{"class_name": "CmonLxcServer", "hostname": host}])
        assert (denied["request_status"], denied["error_string"]) == (
            "AccessDenied", "Server was not found."), host
    missing = op(system, "/v2/host", "unregisterServers",
                 servers=[{"class_name": "CmonLxcServer", "hostname": "192.168.0.201"}])
    assert missing["request_status"] == "ObjectNotFound"
    assert op(system, "/v2/host", "getServers")["total"] >= 1


def test_tag_changes_answer_with_the_objects_tags(cmon, system):
    added = op(system, T, "appendTag", path="/dba", tag="testUser")
    assert (added["request_status"], added["tags"], added["object_name"],
            added["object_path"]) == ("Ok", ["testUser"], "dba", "/")
    op(system, T, "appendTag", path="/dba", tag="second")
    removed = op(system, T, "removeTag", path="/dba", tag="testUser")
    assert (removed["tags"], removed["object_name"], removed["object_path"]) == (
        ["second"], "dba", "/")


def test_kill_job_instance_answers_with_the_bare_envelope(cmon, system):
    """As CMON answers ``job --kill`` (ft_jobs.sh testAbortSuccess): no job in the reply."""
    made = op(system, "/v2/jobs", "createJobInstance", job={
        "class_name": "CmonJobInstance",
        "job_spec": {"command": "success", "job_data": {"timeout": 120}}})
    cmon.advance(5)
    reply = op(system, "/v2/jobs", "killJobInstance", job_id=made["job"]["job_id"], signal=15)
    assert reply["request_status"] == "Ok" and "job" not in reply
    assert set(reply) <= {"controller_id", "request_processed", "request_status",
                          "request_user_id", "debug_messages", "request_id", "request_created"}


def test_get_keys_returns_the_user(cmon, system):
    reply = op(system, U, "getKeys", user={"class_name": "CmonUser", "user_name": "dba"})
    assert reply["request_status"] == "Ok" and reply["total"] == len(reply["public_keys"])
    assert reply["user"]["user_name"] == "dba" and reply["user"]["class_name"] == "CmonUser"
    assert all(k in reply["user"] for k in USER_LOGIN_FIELDS)


def test_current_maintenance_is_a_maintenance_period(cmon, system):
    now = cmon.now()
    added = op(system, "/v2/maintenance", "addMaintenance", cluster_id=21,
               initiate=rfc3339(now - 60), deadline=rfc3339(now + 3600),
               reason="testRecoveryJob")
    assert added["request_status"] == "Ok", added
    current = op(system, "/v2/maintenance", "getCurrentMaintenance", cluster_id=21)
    period = current["maintenance_period"]
    assert current["found_maintenance"] is True
    assert current["ui_string"] == "Cluster 21 is under maintenance: testRecoveryJob"
    assert period["class_name"] == "CmonMaintenanceDate" and period["reason"] == "testRecoveryJob"
    assert (period["username"], period["userid"], period["groupname"]) == ("system", 1, "admins")
    assert isinstance(period["groupid"], int) and period["UUID"]
    assert period["deadline"] == rfc3339(now + 3600)
    assert "maintenance" not in current


def test_ldap_config_has_cmons_keys_and_privileges(cmon, system):
    reply = op(system, "/v2/config", "getLdapConfig")
    assert reply["effective_privileges"] == "rwx"
    conf = reply["ldap_configuration"]
    assert conf["enabled"] is False and conf["ldapServerUri"] is None
    assert set(conf["ldapSettings"]) >= {"ldapUsernameAttributes", "ldapEmailAttributes",
                                         "ldapProtocolVersion", "ldapNetworkTimeout"}
    assert set(conf["security"]) == {"caCertFile", "certFile", "keyFile"}
    assert conf["groupMappings"] == [] and conf["defaults"]["ldapSettings"][
        "ldapProtocolVersion"] == 3
    op(system, "/v2/config", "setLdapConfig", ldap_configuration={
        "enabled": True, "ldapServerUri": "ldap://127.0.0.1:389",
        "ldapSettings": {"ldapUsernameAttributes": "cn"},
        "groupMappings": [{"cmonGroupName": "users", "ldapGroupId": "staff",
                           "sectionName": "mapping1"}]})
    conf = op(system, "/v2/config", "getLdapConfig")["ldap_configuration"]
    assert (conf["enabled"], conf["ldapServerUri"]) == (True, "ldap://127.0.0.1:389")
    assert conf["ldapSettings"]["ldapUsernameAttributes"] == "cn"
    assert conf["ldapSettings"]["ldapEmailAttributes"] is None          # still unset
    assert conf["groupMappings"][0]["cmonGroupName"] == "users"
    denied = op(login(cmon, "dba", "dba-pass"), "/v2/config", "getLdapConfig")
    assert denied["request_status"] == "AccessDenied"


# ---- symptom 11: TZ= recurrences (the Terraform provider's backup schedules)


def children_of(system, job_id):
    jobs = op(system, "/v2/jobs", "getJobInstances", limit=1000)["jobs"]
    return [j for j in jobs if j.get("parent_job_id") == job_id]


def schedule(system, recurrence):
    reply = op(system, "/v2/jobs", "createJobInstance", cluster_id=3, job={
        "class_name": "CmonJobInstance", "status": "SCHEDULED", "title": "tf nightly",
        "recurrence": recurrence,
        "job_spec": {"command": "backup", "job_data": {"backup_method": "pg_basebackup",
                                                       "hostname": "10.0.3.31"}}})
    assert reply["request_status"] == "Ok", reply
    assert reply["job"]["recurrence"] == recurrence
    return reply["job"]["job_id"]


def test_tz_utc_recurrence_is_scheduled_at_utc_midnight(cmon, system):
    cmon.set_time("2026-12-02T23:58:00Z")
    job_id = schedule(system, "TZ=UTC 0 0 * * *")
    cmon.advance(60)
    assert children_of(system, job_id) == []
    cmon.advance(120)
    assert len(children_of(system, job_id)) == 1


def test_tz_zone_recurrence_fires_at_that_zones_wall_clock(cmon, system):
    try:
        ZoneInfo("Europe/Berlin")
    except ZoneInfoNotFoundError:
        pytest.skip("no time zone database on this machine")
    cmon.set_time("2026-12-02T22:58:00Z")            # 23:58 in Berlin (CET, UTC+1)
    berlin = schedule(system, "TZ=Europe/Berlin 0 0 * * *")
    utc = schedule(system, "0 0 * * *")
    cmon.advance(180)
    assert len(children_of(system, berlin)) == 1 and children_of(system, utc) == []
    started = datetime.fromisoformat(children_of(system, berlin)[0]["created"].replace(
        "Z", "+00:00"))
    assert started.astimezone(timezone.utc).hour == 23


@pytest.mark.parametrize("recurrence", ["TZ=Nowhere/Land 0 0 * * *", "TZ=../../etc 0 0 * * *",
                                        "TZ=UTC", "TZ= 0 0 * * *"])
def test_bad_tz_recurrences_are_refused(cmon, system, recurrence):
    before = op(system, "/v2/jobs", "getJobInstances", show_scheduled=True)["total"]
    reply = op(system, "/v2/jobs", "createJobInstance", cluster_id=3, job={
        "class_name": "CmonJobInstance", "status": "SCHEDULED", "recurrence": recurrence,
        "job_spec": {"command": "backup", "job_data": {}}})
    assert reply["request_status"] == "InvalidRequest" and "recurrence" in reply["error_string"]
    assert op(system, "/v2/jobs", "getJobInstances", show_scheduled=True)["total"] == before


def test_backup_schedule_takes_a_tz_prefix(cmon, system):
    reply = op(system, "/v2/backup", "scheduleBackup", cluster_id=3, schedule={
        "schedule": "TZ=UTC 0 0 * * *", "job": {"command": "backup", "job_data": {}}})
    assert reply["request_status"] == "Ok", reply
    listed = op(system, "/v2/backup", "getBackupSchedules", cluster_id=3)["backup_schedules"]
    assert "TZ=UTC 0 0 * * *" in [s["schedule"] for s in listed]
