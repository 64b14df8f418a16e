"""/v2/tree: the CMON directory tree over TLS, as s9s and other clients see it.

The tree shows CMON's layout, and its owners and ACLs are the permission model:
``addAcl`` or ``chown`` on a cluster's path decides who sees and uses the cluster.
"""

from __future__ import annotations

import pytest

from cdtutil import capture, compare, login, op, replay, type_mismatches

T = "/v2/tree"
U = "/v2/users"


def tree(client, path=None, **fields):
    if path is not None:
        fields["path"] = path
    reply = op(client, T, "getTree", **fields)
    assert reply["request_status"] == "Ok", reply
    return reply["cdt"]


def names(item):
    return [i["item_name"] for i in item.get("sub_items", [])]


def find(item, name):
    return next(i for i in item["sub_items"] if i["item_name"] == name)


def outsider(cmon, system, name="outsider"):
    """A user in a group of its own: no cluster is shared with it."""
    reply = op(system, U, "createUser", new_password="out", create_group=True,
               user={"class_name": "CmonUser", "user_name": name,
                     "groups": [{"class_name": "CmonGroup", "group_name": name + "s"}]})
    assert reply["request_status"] == "Ok", reply
    return login(cmon, name, "out")


CLUSTERS = {"galera-prod", "mysql-replication", "postgres-main", "mongo-rs0", "redis-cache",
            "mariadb-galera"}


# ---- the layout


def test_default_layout(system):
    root = tree(system)
    assert (root["item_name"], root["item_path"], root["item_type"]) == ("", "/", "Folder")
    assert (root["owner_user_name"], root["owner_group_name"]) == ("system", "admins")
    assert root["item_acl"] == "user::rwx,group::rwx,other::rwx"
    top = names(root)
    assert top[:2] == [".runtime", "groups"]  # folders first, then the rest by name
    assert {".issue", "system", "admin", "dba", "readeruser"} | CLUSTERS <= set(top)
    kinds = {i["item_name"]: i["item_type"] for i in root["sub_items"]}
    assert kinds["system"] == "User" and kinds["galera-prod"] == "Cluster"
    assert find(root, "system")["item_spec"] == "System User"
    groups = find(root, "groups")
    assert names(groups) == ["admins", "nobody", "readers", "users"]
    assert all(g["item_type"] == "Group" and g["item_path"] == "/groups"
               for g in groups["sub_items"])
    assert (groups["major_device_number"], groups["minor_devide_number"]) == (1, 0)
    runtime = find(root, ".runtime")
    assert names(runtime)[:6] == ["LDAP", "cloud", "cmon_ha", "files", "jobs", "rpc"]
    clock = find(runtime, "controller_clock")
    assert clock["size"] == 24 and "major_device_number" not in clock
    jobs = find(runtime, "jobs")
    executor = find(jobs, "jobExecutor")
    assert (executor["owner_user_name"], executor["owner_group_name"]) == ("system", "users")
    cluster = find(root, "galera-prod")
    assert cluster["item_acl"] == "user::rwx,group::rwx,group:readers:r--,other::---"


def test_capture_get_tree(cmon, system, contract):
    req, rep = capture(contract, "Ok-getTree")
    client = outsider(cmon, system, "pipas")
    ours = replay(client, T, req)
    compare(ours, rep)

    def by_kind(item, out):
        out.setdefault((item["item_type"], "major_device_number" in item), item)
        for sub in item.get("sub_items", []):
            by_kind(sub, out)
        return out

    theirs, mine = by_kind(rep["cdt"], {}), by_kind(ours["cdt"], {})
    assert set(theirs) <= set(mine)
    for kind, item in theirs.items():
        keys = set(item) - {"sub_items"}
        assert keys <= set(mine[kind]), (kind, keys - set(mine[kind]))
        assert not type_mismatches(mine[kind], item), kind
    assert find(ours["cdt"], "pipas")["effective_privileges"] == "rwx"
    assert find(ours["cdt"], "system")["effective_privileges"] == "r--"
    assert find(find(ours["cdt"], ".runtime"), "cluster_manager")["effective_privileges"] == "---"


# ---- who sees what


def test_clusters_show_to_who_may_read_them(cmon, system, reader):
    assert CLUSTERS <= set(names(tree(reader)))
    assert {find(tree(reader), c)["effective_privileges"] for c in CLUSTERS} == {"r--"}
    out = outsider(cmon, system)
    top = names(tree(out))
    assert not CLUSTERS & set(top)
    assert {"system", "outsider", "groups", ".runtime"} <= set(top)
    assert op(out, "/v2/clusters", "getAllClusterInfo")["total"] == 0
    hidden = op(out, T, "getAcl", path="/galera-prod")
    assert hidden["request_status"] == "ObjectNotFound"


def test_add_acl_grants_and_remove_acl_revokes(cmon, system):
    out = outsider(cmon, system)
    denied = op(out, "/v2/clusters", "getClusterInfo", cluster_id=1)
    assert (denied["request_status"], denied["error_string"]) == (
        "AccessDenied", "Read access to cluster 1 for user outsider is denied.")
    granted = op(system, T, "addAcl", path="/galera-prod", acl="user:outsider:r-x")
    assert granted["request_status"] == "Ok"
    assert granted["acl"] == "user::rwx,user:outsider:r-x,group::rwx,group:readers:r--,other::---"
    assert (granted["object_name"], granted["object_path"]) == ("galera-prod", "/")
    seen = op(out, "/v2/clusters", "getAllClusterInfo")
    assert [c["cluster_name"] for c in seen["clusters"]] == ["galera-prod"]
    assert seen["clusters"][0]["effective_privileges"] == "r-x"
    assert "galera-prod" in names(tree(out))
    assert op(out, T, "checkAccess", path="/galera-prod", privileges="r-x")["request_status"] == "Ok"
    no_write = op(out, T, "checkAccess", path="/galera-prod", privileges="w")
    assert (no_write["request_status"], no_write["error_string"]) == (
        "InvalidRequest", "Access to object for user 'outsider' is not granted.")
    # only the owner (or a superuser) changes an ACL
    assert op(out, T, "addAcl", path="/galera-prod", acl="user:outsider:rwx"
              )["request_status"] == "AccessDenied"
    assert op(system, T, "removeAcl", path="/galera-prod", acl="user:outsider"
              )["request_status"] == "Ok"
    assert op(out, "/v2/clusters", "getAllClusterInfo")["total"] == 0
    assert op(out, "/v2/clusters", "getClusterInfo", cluster_id=1)["request_status"] == "AccessDenied"
    assert "galera-prod" not in names(tree(out))
    again = op(system, T, "removeAcl", path="/galera-prod", acl="user:outsider")
    assert again["request_status"] == "ObjectNotFound"


def test_check_access_with_combinations(cmon, system):
    """checkAccess grants only when every asked letter is granted, in any order."""
    op(system, T, "mkdir", path="/perm")
    assert op(system, T, "addAcl", path="/perm", acl="user:dba:r-x,other::---")["request_status"] == "Ok"
    dba = login(cmon, "dba", "dba-pass")
    for privileges in ("r", "x", "r-x", "xr", "r--", "--x", "---"):
        reply = op(dba, T, "checkAccess", path="/perm", privileges=privileges)
        assert reply["request_status"] == "Ok", (privileges, reply)
    for privileges in ("w", "rw", "rwx", "-w-", "wx", "xw"):
        reply = op(dba, T, "checkAccess", path="/perm", privileges=privileges)
        assert (reply["request_status"], reply["error_string"]) == (
            "InvalidRequest", "Access to object for user 'dba' is not granted."), privileges
    for privileges in ("rwz", "rrr", "R", "rwxr"):
        reply = op(dba, T, "checkAccess", path="/perm", privileges=privileges)
        assert reply["request_status"] == "InvalidRequest", privileges
        assert reply["error_string"].startswith("Invalid permission"), (privileges, reply)
    assert op(system, T, "checkAccess", path="/perm", privileges="rwx")["request_status"] == "Ok"
    op(system, T, "removeAcl", path="/perm", acl="user:dba")
    assert op(dba, T, "checkAccess", path="/perm", privileges="r")["request_status"] == "InvalidRequest"


def test_group_acl_entry(cmon, system):
    out = outsider(cmon, system)
    op(system, T, "addAcl", path="/redis-cache", acl="group:outsiders:rwx")
    seen = op(out, "/v2/clusters", "getAllClusterInfo")
    assert [(c["cluster_name"], c["effective_privileges"]) for c in seen["clusters"]] == [
        ("redis-cache", "rwx")]


def test_chown_gives_a_cluster_away(cmon, system):
    out = outsider(cmon, system)
    reply = op(system, T, "chown", path="/postgres-main", owner_user_name="outsider",
               owner_group_name="", recursive=False)
    assert reply["request_status"] == "Ok"
    assert (reply["owner_user_name"], reply["owner_group_name"]) == ("outsider", "users")
    info = op(out, "/v2/clusters", "getClusterInfo", cluster_name="postgres-main")
    assert info["request_status"] == "Ok"
    assert info["cluster"]["effective_privileges"] == "rwx"
    assert info["cluster"]["owner"]["user_name"] == "outsider"
    # dba, in the owner group "users", keeps its rights; chown to a group moves them
    dba = login(cmon, "dba", "dba-pass")
    dba_sees = op(dba, "/v2/clusters", "getAllClusterInfo")
    assert [c["cluster_name"] for c in dba_sees["clusters"]] == ["postgres-main"]
    op(system, T, "chown", path="/postgres-main", owner_group_name="outsiders")
    assert op(dba, "/v2/clusters", "getAllClusterInfo")["total"] == 0


def test_new_clusters_are_in_the_tree(cmon, system):
    from fakecmon.world.acl import Acl
    from fakecmon.world.models import CLUSTER_ACL, Cluster

    def add(c):  # what a create_cluster job does
        dba = c.world.user_by_name("dba")
        c.world.add_cluster(Cluster(cluster_id=30, cluster_name="fresh", cluster_type="GALERA",
                                    owner_user_id=dba.user_id, owner_group_id=dba.group_ids[0],
                                    acl=Acl.parse(CLUSTER_ACL)))
    cmon.run(add)
    item = find(tree(system), "fresh")
    assert (item["item_type"], item["owner_user_name"]) == ("Cluster", "dba")
    assert "fresh" in names(tree(login(cmon, "dba", "dba-pass")))
    assert "fresh" not in names(tree(outsider(cmon, system)))


# ---- folders and files


def test_folders_and_files(cmon, system):
    dba = login(cmon, "dba", "dba-pass")
    assert op(dba, T, "mkdir", path="/home/dba/.config")["request_status"] == "Ok"
    home = tree(dba, "/home")
    assert (home["owner_user_name"], home["owner_group_name"], home["item_acl"]) == (
        "dba", "users", "user::rwx,group::rwx,other::rwx")
    assert names(home) == ["dba"] and names(find(home, "dba")) == [".config"]
    again = op(dba, T, "mkdir", path="/home/dba")
    assert again["request_status"] == "InvalidRequest"

    path = "/home/dba/test.text"
    assert op(dba, T, "mkfile", path=path)["request_status"] == "Ok"
    assert find(tree(dba, "/home/dba"), "test.text")["size"] == 0
    assert op(dba, T, "setcontent", path=path, content="File content...\nSecond line.\n"
              )["request_status"] == "Ok"
    assert find(tree(dba, "/home/dba"), "test.text")["size"] == 29
    assert op(dba, T, "cat", path=path)["file_content"] == "File content...\nSecond line.\n"

    assert op(dba, T, "rename", source_path=path, target_name="testfile.txt"
              )["request_status"] == "Ok"
    assert op(dba, T, "move", source_path="/home/dba/testfile.txt", target_path="/home"
              )["request_status"] == "Ok"
    assert set(names(tree(dba, "/home"))) == {"dba", "testfile.txt"}
    assert op(dba, T, "move", source_path="/home/testfile.txt",
              target_path="/home/dba/.config/renamed.txt")["request_status"] == "Ok"
    assert op(dba, T, "cat", path="/home/dba/.config/renamed.txt")["file_content"].startswith("File")

    full = op(dba, T, "rmdir", path="/home/dba/.config")
    assert full["request_status"] == "InvalidRequest"
    assert op(dba, T, "delete", path="/home/dba/.config/renamed.txt")["request_status"] == "Ok"
    assert op(dba, T, "rmdir", path="/home/dba/.config")["request_status"] == "Ok"
    assert names(tree(dba, "/home/dba")) == []


def test_where_files_may_not_be_made(cmon, system):
    dba = login(cmon, "dba", "dba-pass")
    runtime = op(dba, T, "mkfile", path="/.runtime/ak.txt")
    assert (runtime["request_status"], runtime["error_string"]) == (
        "AccessDenied", "Write access to '/.runtime' for user dba is denied.")
    nowhere = op(dba, T, "mkfile", path="/no_such_folder/ak.txt")
    assert nowhere["request_status"] == "ObjectNotFound"
    in_user = op(dba, T, "mkdir", path="/dba/sub")
    assert in_user["request_status"] == "InvalidRequest"
    groups = op(system, T, "mkdir", path="/groups/sub")
    assert groups["request_status"] == "InvalidRequest"
    # somebody else's folder, once closed, is closed
    op(system, T, "mkdir", path="/private")
    op(system, T, "addAcl", path="/private", acl="other::r-x")
    assert op(dba, T, "mkfile", path="/private/x")["request_status"] == "AccessDenied"


def test_read_and_write_rights_on_files(cmon, system, reader):
    denied = op(reader, T, "cat", path="/.runtime/controller_hostname")
    assert (denied["request_status"], denied["error_string"]) == ("InvalidRequest", "Access denied.")
    assert op(system, T, "cat", path="/.runtime/controller_hostname")["file_content"] == "192.168.20.10"
    assert "galera-prod" in op(system, T, "cat", path="/.runtime/cluster_manager")["file_content"]
    save = op(reader, T, "setcontent", path="/.runtime/cmon_license", content="x")
    assert (save["request_status"], save["error_string"]) == (
        "InvalidRequest", "Error while saving: Access Denied.")
    read_only = op(system, T, "setcontent", path="/.runtime/controller_clock", content="x")
    assert read_only["request_status"] == "InvalidRequest"
    assert op(system, T, "setcontent", path="/.runtime/cmon_ha/enabled", content="true"
              )["request_status"] == "Ok"
    assert op(system, T, "cat", path="/.runtime/cmon_ha/enabled")["file_content"] == "true"
    folder = op(system, T, "cat", path="/groups")
    assert folder["request_status"] == "InvalidRequest"


# ---- moving, renaming users and groups


def test_rename_user_and_group_through_the_tree(cmon, system):
    op(system, U, "createUser", new_password="secret", create_group=True,
       user={"user_name": "kirk", "groups": [{"group_name": "tos"}]})
    op(system, T, "mkdir", path="/home/kirk")
    op(system, T, "chown", path="/home/kirk", owner_user_name="kirk", owner_group_name="tos",
       recursive=True)
    op(system, T, "addAcl", path="/galera-prod", acl="user:kirk:r--,group:tos:r--")

    assert op(system, T, "rename", source_path="/groups/tos", target_name="TOS"
              )["request_status"] == "Ok"
    kirk = login(cmon, "kirk", "secret")
    me = op(kirk, U, "whoAmI")["user"]
    assert [g["group_name"] for g in me["groups"]] == ["TOS"]
    assert tree(system, "/home/kirk")["owner_group_name"] == "TOS"

    assert op(system, T, "move", source_path="/kirk", target_path="/Kirk")["request_status"] == "Ok"
    assert cmon.client().login("kirk", "secret")["request_status"] == "AccessDenied"
    renamed = login(cmon, "Kirk", "secret")
    assert op(renamed, U, "whoAmI")["user"]["user_name"] == "Kirk"
    item = find(tree(system), "Kirk")
    assert (item["item_type"], item["owner_user_name"], item["owner_group_name"]) == (
        "User", "Kirk", "admins")
    assert tree(system, "/home/kirk")["owner_user_name"] == "Kirk"
    acl = op(system, T, "getAcl", path="/galera-prod")["acl"]
    assert "user:Kirk:r--" in acl and "group:TOS:r--" in acl
    assert op(renamed, "/v2/clusters", "getAllClusterInfo")["total"] == 1


def test_bare_name_move_by_a_plain_user_stops_at_superusers(cmon, system):
    """``move`` to a bare name lets a plain user rename users and groups it cannot write
    (as CMON does for ft_folders.sh), but never a superuser or ``admins``, and with the
    name checks of every rename: nothing is changed by a refused one."""
    op(system, U, "createUser", new_password="secret", create_group=True,
       user={"user_name": "kirk", "groups": [{"group_name": "tos"}]})
    dba = login(cmon, "dba", "dba-pass")
    before = tree(system)
    refused = [
        ("/admin", "boss", "AccessDenied"),          # a superuser: its own ACL decides
        ("/ccrpc", "rpc", "AccessDenied"),
        ("/system", "root", "InvalidRequest"),       # kept for everybody
        ("/groups/admins", "wheel", "InvalidRequest"),
        ("/groups/tos", "admins", "InvalidRequest"),  # taken: no second 'admins'
        ("/kirk", "admin", "InvalidRequest"),
        ("/dba", "admin", "InvalidRequest"),
        ("/kirk", "a:b", "InvalidRequest"),           # not a principal name
        ("/groups/tos", "x,y", "InvalidRequest"),
        ("/kirk", "..", "InvalidRequest"),
    ]
    for source, target, status in refused:
        reply = op(dba, T, "move", source_path=source, target_path=target)
        assert reply["request_status"] == status, (source, target, reply)
        assert reply["error_string"]
    assert tree(system) == before
    assert op(dba, T, "move", source_path="/admin", target_path="/boss"
              )["request_status"] == "AccessDenied"   # the full-path move as before
    assert op(dba, T, "move", source_path="/groups/tos", target_path="TOS")["request_status"] == "Ok"
    assert op(dba, T, "move", source_path="/kirk", target_path="Kirk")["request_status"] == "Ok"
    assert login(cmon, "Kirk", "secret") is not None
    assert op(system, T, "move", source_path="/admin", target_path="boss")["request_status"] == "Ok"


def test_refused_moves_change_nothing(cmon, system):
    dba = login(cmon, "dba", "dba-pass")
    op(dba, T, "mkdir", path="/a/b/c")
    op(dba, T, "mkfile", path="/a/f")
    before = tree(system)
    bad = [
        ("move", {"source_path": "/a", "target_path": "/a/b"}),            # into itself
        ("move", {"source_path": "/a", "target_path": "/a/b/c/d"}),
        ("move", {"source_path": "/a/f", "target_path": "/a/b/../f"}),     # '..'
        ("move", {"source_path": "/groups/users", "target_path": "/a"}),   # groups stay
        ("move", {"source_path": "/groups", "target_path": "/a"}),         # CMON's own
        ("move", {"source_path": "/a/f", "target_path": "/galera-prod"}),  # taken
        ("rename", {"source_path": "/a/f", "target_name": "x/y"}),
        ("rename", {"source_path": "/a/f", "target_name": ""}),
        ("rename", {"source_path": "/a/f", "target_name": "n" * 256}),
        ("rename", {"source_path": "/a/f", "target_name": "b"}),           # taken
        ("rename", {"source_path": "/dba", "target_name": "system"}),
        ("rename", {"source_path": "/system", "target_name": "root"}),
        ("rename", {"source_path": "/groups/users", "target_name": "admins"}),
        ("rename", {"source_path": "/groups/admins", "target_name": "wheel"}),
        ("delete", {"path": "/.runtime/controller"}),
        ("rmdir", {"path": "/"}),
        ("mkdir", {"path": ""}),
        ("mkdir", {"path": "/a/../etc"}),
        ("mkdir", {"path": "/" + "n" * 300}),
    ]
    for operation, fields in bad:
        reply = op(system, T, operation, **fields)
        assert reply["request_status"] == "InvalidRequest", (operation, fields, reply)
        assert reply["error_string"]
    missing = op(system, T, "move", source_path="/nothing", target_path="/a")
    assert missing["request_status"] == "ObjectNotFound"
    unknown = op(system, T, "chown", path="/a", owner_user_name="nosuch", recursive=True)
    assert unknown["request_status"] == "ObjectNotFound"
    not_owner = op(login(cmon, "readeruser", "s3cr3tP455"), T, "chown", path="/a",
                   owner_user_name="readeruser")
    assert not_owner["request_status"] == "AccessDenied"
    assert tree(system) == before


def test_chown_recursive(cmon, system):
    dba = login(cmon, "dba", "dba-pass")
    op(dba, T, "mkdir", path="/proj/src")
    op(dba, T, "mkfile", path="/proj/src/main.js")
    reply = op(dba, T, "chown", path="/proj", owner_user_name="readeruser",
               owner_group_name="readers", recursive=True)
    assert reply["request_status"] == "Ok"
    for path in ("/proj", "/proj/src"):
        item = tree(system, path)
        assert (item["owner_user_name"], item["owner_group_name"]) == ("readeruser", "readers")
    leaf = find(tree(system, "/proj/src"), "main.js")
    assert leaf["owner_user_name"] == "readeruser"


def test_acl_entries_are_checked(cmon, system):
    op(system, T, "mkdir", path="/acl")
    for acl, status in [("user:nosuch:r--", "ObjectNotFound"), ("group:nosuch:r--", "ObjectNotFound"),
                        ("user:dba:rwz", "InvalidRequest"), ("nonsense", "InvalidRequest"),
                        ("user:dba", "InvalidRequest"), ("", "InvalidRequest")]:
        assert op(system, T, "addAcl", path="/acl", acl=acl)["request_status"] == status, acl
    assert op(system, T, "removeAcl", path="/acl", acl="other::")["request_status"] == "InvalidRequest"
    reply = op(system, T, "addAcl", path="/acl", acl="user:dba:r-x,other::---")
    assert reply["acl"] == "user::rwx,user:dba:r-x,group::rwx,other::---"
    got = op(system, T, "getAcl", path="/acl")
    assert {k: got[k] for k in ("acl", "object_name", "object_path", "owner_user_name",
                                "owner_group_name")} == {
        "acl": reply["acl"], "object_name": "acl", "object_path": "/",
        "owner_user_name": "system", "owner_group_name": "admins"}
    moded = op(system, T, "chmod", path="/acl", acl="rwxr-x---")
    assert moded["acl"] == "user::rwx,user:dba:r-x,group::r-x,other::---"


def test_delete_users_and_groups_through_the_tree(cmon, system):
    op(system, U, "createUser", new_password="p", create_group=True,
       user={"user_name": "odo", "groups": [{"group_name": "changelings"}]})
    assert op(system, T, "delete", path="/groups/changelings")["request_status"] == "InvalidRequest"
    assert op(system, T, "delete", path="/odo")["request_status"] == "Ok"
    assert op(system, T, "delete", path="/groups/changelings")["request_status"] == "Ok"
    assert "odo" not in names(tree(system))
    assert op(system, T, "delete", path="/galera-prod")["request_status"] == "InvalidRequest"


def test_group_members_and_listing_options(cmon, system):
    users = tree(system, "/groups/users")
    assert users["item_type"] == "Group"
    members = users["sub_items"]
    assert [(m["item_name"], m["link_target"], m["item_type"]) for m in members] == [
        ("dba", "/dba", "User")]
    shallow = tree(system, "/", depth=1)
    assert all("sub_items" not in i for i in shallow["sub_items"])
    dotted = tree(system, "/.runtime", with_dot_dot=True)
    assert names(dotted)[:2] == [".", ".."]
    assert dotted["sub_items"][1]["item_acl"] == "user::rwx,group::rwx,other::rwx"
    closed = op(login(cmon, "readeruser", "s3cr3tP455"), T, "getTree", path="/groups/admins")
    assert closed["request_status"] == "AccessDenied"
    missing = op(system, T, "getTree", path="/nothing/here")
    assert missing["request_status"] == "ObjectNotFound"


# ---- the s9s tree commands and the captures


def test_s9s_tree_commands(cmon, system):
    """The requests of s9s tree --list/--mkdir/--cat/--chown/--get-acl/--access."""
    listed = op(system, T, "getTree")  # s9s sends no path for the whole tree
    assert {"cdt"} <= set(listed)
    for item in listed["cdt"]["sub_items"]:
        assert {"item_name", "item_path", "item_type", "item_acl", "owner_user_name",
                "owner_group_name", "owner_user_id", "owner_group_id", "class_name"} <= set(item)
    assert op(system, T, "mkdir", path="/s9s")["request_status"] == "Ok"
    assert op(system, T, "cat", path="/.issue")["file_content"]
    owned = op(system, T, "chown", path="/s9s", owner_user_name="dba", owner_group_name="users",
               recursive=False)
    assert {"acl", "object_name", "object_path", "owner_user_name", "owner_group_name"} <= set(owned)
    acl = op(system, T, "getAcl", path="/s9s")
    assert acl["owner_user_name"] == "dba"
    assert op(system, T, "checkAccess", path="/s9s", privileges="rwx")["request_status"] == "Ok"


def test_capture_mkdir_setcontent_checkaccess_rmdir(cmon, system, contract):
    dba = login(cmon, "dba", "dba-pass")
    req, rep = capture(contract, "Ok-mkdir")
    compare(replay(dba, T, req), rep)
    req, rep = capture(contract, "Ok-setcontent")
    compare(replay(dba, T, req), rep)
    req, rep = capture(contract, "Ok-checkAccess")
    compare(replay(dba, T, req), rep)
    req, rep = capture(contract, "Ok-cat")
    ours = replay(dba, T, req, path="/ft_scripts_6683/tests/imperative_cluster_007.js")
    compare(ours, rep)
    req, rep = capture(contract, "Ok-rmdir")
    op(dba, T, "mkdir", path="/home")
    compare(replay(dba, T, req), rep)


def test_capture_denials(cmon, system, contract):
    out = outsider(cmon, system, "pipas")
    req, rep = capture(contract, "InvalidRequest-setcontent")
    ours = replay(out, T, req)
    compare(ours, rep)
    assert ours["error_string"] == rep["error_string"]
    req, rep = capture(contract, "InvalidRequest-checkAccess")
    ours = replay(out, T, req)
    compare(ours, rep)
    assert ours["error_string"] == rep["error_string"]


def test_capture_add_acl(cmon, system, contract):
    req, rep = capture(contract, "Ok-addAcl")
    ours = replay(system, T, req, acl="user:dba:r-x")
    compare(ours, rep)
    assert (ours["object_name"], ours["object_path"]) == (rep["object_name"], rep["object_path"])
    assert ours["acl"] == "user::rwx,user:dba:r-x,group::r-x,other::r--"


def test_world_file_tree_section(cmon):
    cmon.load_yaml("""
tree:
  - {path: /home/dba, owner: dba, acl: "user::rwx,group::rwx,other::---"}
  - {path: /home/dba/notes.txt, type: file, owner: dba, content: "hello"}
  - {path: /.runtime/jobs/jobExecutor, acl: "user::rwx,group::r-x,other::r-x"}
""")
    reader = login(cmon, "readeruser", "s3cr3tP455")
    assert op(reader, U, "whoAmI")["user_extended_privileges"]["can_execute_jobs"] is True
    assert op(reader, T, "getTree", path="/home/dba")["request_status"] == "AccessDenied"
    dba = login(cmon, "dba", "dba-pass")
    assert op(dba, T, "cat", path="/home/dba/notes.txt")["file_content"] == "hello"
    from fakecmon.world.yamlfile import WorldError
    with pytest.raises(WorldError, match=r"line 3: tree\[0\]\.path: .*'\.\.'"):
        cmon.load_yaml("\ntree:\n  - {path: /a/../b}\n")
    with pytest.raises(WorldError, match="unknown user 'nosuch'"):
        cmon.load_yaml("tree:\n  - {path: /x, owner: nosuch}\n")


def test_tags(cmon, system, reader):
    assert op(system, T, "appendTag", path="/galera-prod", tag="gold")["request_status"] == "Ok"
    info = op(system, "/v2/clusters", "getClusterInfo", cluster_id=1)["cluster"]
    assert info["tags"] == ["production", "mysql", "gold"]
    assert op(system, T, "appendTag", path="/galera-prod", tag="gold")["request_status"] == "InvalidRequest"
    assert op(reader, T, "appendTag", path="/galera-prod", tag="x")["request_status"] == "AccessDenied"
    assert op(reader, T, "appendTag", path="/readeruser", tag="me")["request_status"] == "Ok"
    assert op(system, T, "appendTag", path="/.issue", tag="x")["request_status"] == "InvalidRequest"
    assert op(system, T, "removeTag", path="/galera-prod", tag="gold")["request_status"] == "Ok"
    assert op(system, T, "removeTag", path="/galera-prod", tag="gold")["request_status"] == "ObjectNotFound"
    assert op(system, "/v2/clusters", "getClusterInfo", cluster_id=1)["cluster"]["tags"] == [
        "production", "mysql"]


@pytest.mark.parametrize("path", ["/a/./b", "relative/../x", "/" + "x/" * 2100])
def test_bad_paths(system, path):
    reply = op(system, T, "getTree", path=path)
    assert reply["request_status"] == "InvalidRequest" and reply["error_string"]
