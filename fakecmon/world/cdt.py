"""The CMON directory tree (CDT): one tree of every object, each with owner, group and ACL.

CMON keeps its users at ``/``, its groups in ``/groups``, its clusters at ``/``
and its own status files in ``/.runtime``; users add folders and files anywhere
they may write. Folders and files are stored here as ``Entry`` objects. Users,
groups and clusters are not copied into the tree: their entries are made from
the World on each lookup (``Node``), so a cluster's owner, group and ACL *are*
its tree entry's, and a cluster created by a job is in the tree at once.

This module only models the tree; who may do what is decided in
``fakecmon.permissions``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from fakecmon.errors import invalid
from fakecmon.timefmt import rfc3339
from fakecmon.world import config, servers
from fakecmon.world.acl import Acl
from fakecmon.world.models import Cluster, Group, Owned, User
from fakecmon.world.state import ADMINS, World

FOLDER, FILE, USER, GROUP, CLUSTER = "Folder", "File", "User", "Group", "Cluster"
SERVER, CONTAINER, DATABASE = "Server", "Container", "Database"
#: The folders CMON shows inside a server (its containers) and a cluster (its databases).
CONTAINERS, DATABASES, RUNTIME = "containers", "databases", ".runtime"

MAX_NAME = 255
MAX_PATH = 4096

#: What ``mkdir`` and ``mkfile`` give a new entry (``drwxrwxrwx``, as CMON does).
NEW_ENTRY_ACL = "user::rwx,group::rwx,other::rwx"
ROOT_ACL = "user::rwx,group::rwx,other::rwx"
SYSTEM_FOLDER_ACL = "user::rwx,group::rwx,other::r--"
RUNTIME_RO_ACL = "user::r--,group::---,other::---"
RUNTIME_RW_ACL = "user::rw-,group::---,other::---"
ISSUE_ACL = "user::rw-,group::r--,other::r--"
#: ``/.runtime/jobs/jobExecutor*``: members of ``users`` may run jobs and create clusters;
#: everybody may read (this file stands for cluster 0, whose data every user could read).
JOB_EXECUTOR_ACL = "user::rwx,group::r-x,other::r--"

#: Makes a file's content when it is read (status files of the controller).
Generator = Callable[[World, float], str]
#: Takes what is saved into a file CMON interprets (``/.runtime/cmon_license``);
#: raises ValueError, saying why, for content it refuses.
Writer = Callable[[World, str], object]

CDT_KEY = "cdt"
#: Where the databases of each cluster are kept (``fakecmon.world.dbaccounts``).
DATABASES_KEY = "databases"


@dataclass(eq=False)
class Entry(Owned):
    """A stored folder or file. Device files (``major``/``minor``) show CMON's internals."""

    name: str = ""
    kind: str = FILE
    parent: Entry | None = field(default=None, repr=False)
    children: dict[str, Entry] = field(default_factory=dict, repr=False)
    content: str = ""
    device: tuple[int, int] | None = None
    generator: Generator | None = field(default=None, repr=False)
    writer: Writer | None = field(default=None, repr=False)
    #: Part of CMON's own layout: never moved, renamed or removed.
    system: bool = False
    created: float = 0.0
    #: The cluster whose own folders and files this top entry holds (0: none); its path
    #: is the cluster's, wherever the cluster is (``Cdt.entry_path``).
    anchor: int = 0

    # Entries are compared by identity (the tree links them by reference).
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def text(self, world: World, now: float) -> str:
        return self.generator(world, now) if self.generator is not None else self.content

    @property
    def writable(self) -> bool:
        """Generated status files are read-only whatever their ACL says, except the ones
        the controller reads back (a ``writer`` takes what is saved)."""
        return self.kind == FILE and (self.generator is None or self.writer is not None)

    def path(self) -> str:
        names: list[str] = []
        entry: Entry | None = self
        while entry is not None and entry.parent is not None:
            names.append(entry.name)
            entry = entry.parent
        return "/" + "/".join(reversed(names))

    def is_within(self, other: Entry) -> bool:
        """True when this entry is ``other`` or somewhere below it."""
        entry: Entry | None = self
        while entry is not None:
            if entry is other:
                return True
            entry = entry.parent
        return False


@dataclass
class Node:
    """One object of the tree as a path finds it: a stored entry or a World object."""

    kind: str
    name: str
    folder: str                  # the ``item_path``: the path of the containing folder
    obj: Owned                   # whose owner, group and ACL are this node's
    entry: Entry | None = None   # for folders and files
    link_target: str | None = None
    #: The server or cluster a ``containers``/``databases`` folder (or its item) is of.
    holder: object = None

    @property
    def path(self) -> str:
        if not self.name:
            return "/"
        return ("" if self.folder == "/" else self.folder) + "/" + self.name

    @property
    def is_folder(self) -> bool:
        return self.kind == FOLDER


# ---- paths and names


def check_name(name: object, what: str = "name") -> str:
    """A name of one tree object (also of users and groups): CMON's rules, clear errors."""
    if not isinstance(name, str):
        raise invalid(f"The {what} must be a string.")
    if name == "":
        raise invalid(f"The {what} is empty.")
    if len(name) > MAX_NAME:
        raise invalid(f"The {what} '{name[:40]}...' is too long ({len(name)} characters, "
                      f"at most {MAX_NAME}).")
    if "/" in name:
        raise invalid(f"The {what} '{name}' contains '/', which separates path elements.")
    if name in (".", ".."):
        raise invalid(f"The {what} '{name}' is not a valid name.")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise invalid(f"The {what} '{name!r}' contains control characters.")
    return name


def check_principal_name(name: object, what: str) -> str:
    """A user or group name: a tree name that also fits in an ACL entry (no ``:`` or ``,``)."""
    checked = check_name(name, what)
    if ":" in checked or "," in checked:
        raise invalid(f"The {what} '{checked}' contains ':' or ',', which separate ACL entries.")
    return checked


def split_path(path: object, what: str = "path") -> list[str]:
    """The names along ``path`` (relative paths start at ``/``); no ``.`` or ``..``."""
    if not isinstance(path, str):
        raise invalid(f"The {what} must be a string.")
    if path.strip() == "":
        raise invalid(f"The {what} is empty.")
    if len(path) > MAX_PATH:
        raise invalid(f"The {what} is too long ({len(path)} characters, at most {MAX_PATH}).")
    names = [p for p in path.split("/") if p]
    for name in names:
        if name in (".", ".."):
            raise invalid(f"The {what} '{path}' contains '{name}': CDT paths are absolute, "
                          "without '.' or '..'.")
        check_name(name, f"name '{name}' in the {what}")
    return names


def join(folder: str, name: str) -> str:
    return ("" if folder == "/" else folder) + "/" + name


def parent_of(names: list[str]) -> str:
    return "/" + "/".join(names[:-1])


# ---- the tree


class Cdt:
    """The tree of one World: stored folders and files, World objects seen through it."""

    def __init__(self, world: World) -> None:
        self.world = world
        system = world.user_by_name("system")
        admins = world.group_by_name(ADMINS)
        users = world.group_by_name("users")
        self.system_uid = system.user_id if system else 1
        self.admins_gid = admins.group_id if admins else 1
        users_gid = users.group_id if users else self.admins_gid
        self.root = self._entry(None, "", FOLDER, ROOT_ACL)
        self.root.system = True
        self.groups = self._entry(self.root, "groups", FOLDER, SYSTEM_FOLDER_ACL, device=(1, 0))
        self._entry(self.root, ".issue", FILE, ISSUE_ACL,
                    content=f"fakecmon {world.version}: a CMON stand-in\n")
        runtime = self._entry(self.root, ".runtime", FOLDER, SYSTEM_FOLDER_ACL)
        self._runtime(runtime)
        jobs = runtime.children["jobs"]
        self.job_executor = self._entry(jobs, "jobExecutor", FILE, JOB_EXECUTOR_ACL,
                                        group=users_gid)
        self.create_cluster_executor = self._entry(jobs, "jobExecutorCreateCluster", FILE,
                                                   JOB_EXECUTOR_ACL, group=users_gid)
        self._entry(jobs, "jobExecutorDeleteOldJobs", FILE, JOB_EXECUTOR_ACL, group=users_gid,
                    content=DELETE_OLD_JOBS)
        for entry in self.walk_entries(self.root):
            entry.system = True
        #: Users, clusters and servers moved out of ``/`` (CMON's "chroot": whatever a
        #: user creates goes where its own user object is): (kind, key) -> folder.
        self.placed: dict[tuple[str, object], Entry] = {}

    def _entry(self, parent: Entry | None, name: str, kind: str, acl: str, *,
               group: int | None = None, content: str = "", device: tuple[int, int] | None = None,
               generator: Generator | None = None) -> Entry:
        entry = Entry(owner_user_id=self.system_uid,
                      owner_group_id=self.admins_gid if group is None else group,
                      acl=Acl.parse(acl), name=name, kind=kind, parent=parent, content=content,
                      device=device, generator=generator, created=self.world.created)
        if parent is not None:
            parent.children[name] = entry
        return entry

    def _runtime(self, runtime: Entry) -> None:
        """CMON's ``/.runtime``: status files (read-only) and a few settings files."""
        folders = {name: self._entry(runtime, name, FOLDER, SYSTEM_FOLDER_ACL)
                   for name in ("LDAP", "cloud", "cmon_ha", "files", "jobs", "rpc")}
        for folder, name, acl, device, generator in RUNTIME_FILES:
            parent = folders[folder] if folder else runtime
            content = "false\n" if name == "enabled" else ""
            entry = self._entry(parent, name, FILE, acl, device=device, generator=generator,
                                content=content)
            entry.writer = RUNTIME_WRITERS.get(name)

    # ---- nodes

    def root_node(self) -> Node:
        return Node(FOLDER, "", "/", self.root, self.root)

    def entry_node(self, entry: Entry) -> Node:
        if entry.parent is None:
            return self.root_node()
        return Node(entry.kind, entry.name, self.entry_path(entry.parent), entry, entry)

    def entry_path(self, entry: Entry) -> str:
        """The path of a stored entry; below a cluster (``/<cluster>/tests``) it follows
        the cluster wherever it is moved or renamed."""
        names: list[str] = []
        top = entry
        while top.parent is not None:
            names.append(top.name)
            top = top.parent
        base = "/"
        if top.anchor:
            cluster = self.world.clusters.get(top.anchor)
            base = self.cluster_node(cluster).path if cluster is not None else "/"
        for name in reversed(names):
            base = join(base, name)
        return base

    # ---- folders and files inside clusters (``s9s tree --mkdir /<cluster>/tests``)

    def _inside(self) -> dict[int, Entry]:
        return self.__dict__.setdefault("inside", {})

    def cluster_folder(self, cluster: Cluster, create: bool = False) -> Entry | None:
        """The entry holding what users stored inside ``cluster`` (made on first use)."""
        found = self._inside().get(cluster.cluster_id)
        if found is None and create:
            found = self._inside()[cluster.cluster_id] = Entry(
                owner_user_id=cluster.owner_user_id, owner_group_id=cluster.owner_group_id,
                acl=Acl.parse(str(cluster.acl)), name=cluster.cluster_name, kind=FOLDER,
                created=self.world.created, anchor=cluster.cluster_id)
        return found

    def as_folder(self, node: Node) -> Node | None:
        """``node`` as a folder to store folders and files in: a stored folder, or a
        cluster (whose permissions apply); None for anything else."""
        if node.kind == FOLDER and node.entry is not None and node.holder is None:
            return node
        if node.kind == CLUSTER and isinstance(node.obj, Cluster):
            entry = self.cluster_folder(node.obj, create=True)
            return Node(FOLDER, node.name, node.folder, node.obj, entry)
        return None

    @staticmethod
    def is_inside_cluster(entry: Entry) -> bool:
        while entry.parent is not None:
            entry = entry.parent
        return entry.anchor != 0

    def _stored_in_cluster(self, node: Node) -> list[Node]:
        folder = self.cluster_folder(node.obj) if isinstance(node.obj, Cluster) else None
        return [self.entry_node(e) for e in folder.children.values()] if folder else []

    def user_node(self, user: User, group_path: str | None = None) -> Node:
        """A user where it is, or (``group_path``) as a member link inside its group."""
        if group_path is not None:
            return Node(USER, user.user_name, group_path, user,
                        link_target=join(self.folder_of(user).path(), user.user_name))
        return Node(USER, user.user_name, self.folder_of(user).path(), user)

    def group_node(self, group: Group) -> Node:
        return Node(GROUP, group.group_name, "/groups", group)

    def cluster_node(self, cluster: Cluster) -> Node:
        return Node(CLUSTER, cluster.cluster_name, self.folder_of(cluster).path(), cluster)

    def server_node(self, server: servers.Server) -> Node:
        return Node(SERVER, server.hostname, self.folder_of(server).path(), server)

    # ---- where users, clusters and servers are

    @staticmethod
    def _key(obj: Owned) -> tuple[str, object]:
        if isinstance(obj, User):
            return USER, obj.user_id
        if isinstance(obj, Cluster):
            return CLUSTER, obj.cluster_id
        if isinstance(obj, servers.Server):
            return SERVER, obj.hostname
        raise TypeError(f"{type(obj).__name__} has no place of its own in the tree")

    def folder_of(self, obj: Owned) -> Entry:
        """The folder a user, cluster or server is in (``/`` unless it was moved); a folder
        that was removed meanwhile puts it back at ``/``."""
        folder = self.placed.get(self._key(obj))
        if folder is None or not folder.is_within(self.root):
            return self.root
        return folder

    def place(self, obj: Owned, folder: Entry) -> None:
        if folder is self.root:
            self.placed.pop(self._key(obj), None)
        else:
            self.placed[self._key(obj)] = folder

    def home_of(self, user: User | None) -> Entry:
        """Where what ``user`` creates (clusters, servers) goes: the folder of its user
        object, so a user moved into ``/home/kirk`` keeps its clusters there."""
        return self.root if user is None else self.folder_of(user)

    def _placed_in(self, folder: Entry) -> list[Node]:
        """The users, clusters and servers in ``folder`` (only the moved ones are looked
        at for a folder other than ``/``)."""
        world = self.world
        if folder is self.root:
            users = list(world.users.values())
            clusters = list(world.clusters.values())
            hosts = list(servers.book(world).servers.values())
        else:
            keys = [k for k, f in self.placed.items() if f is folder]
            users = [world.users[i] for kind, i in keys if kind == USER and i in world.users]
            clusters = [world.clusters[i] for kind, i in keys
                        if kind == CLUSTER and i in world.clusters]
            book = servers.book(world).servers
            hosts = [book[n] for kind, n in keys if kind == SERVER and n in book]
        return ([self.user_node(u) for u in users if self.folder_of(u) is folder]
                + [self.cluster_node(c) for c in clusters if self.folder_of(c) is folder]
                + [self.server_node(h) for h in hosts if self.folder_of(h) is folder])

    def has_content(self, entry: Entry) -> bool:
        return bool(entry.children) or bool(self._placed_in(entry))

    def _held(self, node: Node) -> list[Node]:
        """What CMON shows inside a server (``containers``) and a cluster (``databases``),
        and in those folders: the server's containers, the cluster's databases."""
        if node.kind == SERVER and isinstance(node.obj, servers.Server):
            server = node.obj
            folder = Owned(owner_user_id=server.owner_user_id,
                           owner_group_id=server.owner_group_id,
                           acl=Acl.parse(servers.CONTAINERS_FOLDER_ACL))
            return [Node(FOLDER, RUNTIME, node.path, folder, holder=server),
                    Node(FOLDER, CONTAINERS, node.path, folder, holder=server)]
        if node.name == RUNTIME and isinstance(node.holder, servers.Server):
            server = node.holder
            return [_state_file(node, server, lambda world, now: servers.state_text(server))]
        if node.kind == CLUSTER:
            return [Node(FOLDER, RUNTIME, node.path, node.obj, holder=node.obj),
                    Node(FOLDER, DATABASES, node.path, node.obj, holder=node.obj)]
        if node.name == RUNTIME and isinstance(node.holder, Cluster):
            cluster = node.holder
            return [_state_file(node, cluster, lambda world, now: _cluster_state(cluster))]
        holder = node.holder
        if isinstance(holder, servers.Server):
            return [Node(CONTAINER, c.alias, node.path, servers.container_owner(holder, c),
                         holder=holder) for c in holder.containers]
        if isinstance(holder, Cluster):
            names = [str(d.get("database_name", "")) for d in
                     self.world.extensions.get(DATABASES_KEY, {}).get(holder.cluster_id, [])]
            return [Node(DATABASE, name, node.path, holder, holder=holder) for name in names]
        return []

    def child(self, node: Node, name: str) -> Node | None:
        """The object called ``name`` in ``node`` (a folder, or a group for its members)."""
        world = self.world
        if node.kind == GROUP:
            group = node.obj
            user = world.user_by_name(name)
            if isinstance(group, Group) and user is not None and group.group_id in user.group_ids:
                return self.user_node(user, node.path)
            return None
        if node.kind == CLUSTER:
            return next((n for n in self._held(node) + self._stored_in_cluster(node)
                         if n.name == name), None)
        if node.kind == SERVER or (node.kind == FOLDER and node.holder is not None):
            return next((n for n in self._held(node) if n.name == name), None)
        if node.entry is None or node.kind != FOLDER:
            return None
        if node.entry.anchor and node.entry.parent is None:     # a cluster as a folder
            cluster = world.clusters.get(node.entry.anchor)
            return self.child(self.cluster_node(cluster), name) if cluster else None
        entry = node.entry.children.get(name)
        if entry is not None:
            return self.entry_node(entry)
        found: Owned | None = world.user_by_name(name)
        if found is None:
            found = world.cluster_by_name(name)
        if found is None:
            found = servers.book(world).servers.get(name)
        if found is not None and self.folder_of(found) is node.entry:
            if isinstance(found, User):
                return self.user_node(found)
            if isinstance(found, Cluster):
                return self.cluster_node(found)
            assert isinstance(found, servers.Server)
            return self.server_node(found)
        if node.entry is self.groups:
            group = world.group_by_name(name)
            if group is not None:
                return self.group_node(group)
        return None

    def children(self, node: Node) -> list[Node]:
        """Everything in a folder (or a group's members): folders first, then by name."""
        world = self.world
        found: list[Node] = []
        if node.kind == GROUP:
            gid = node.obj.group_id if isinstance(node.obj, Group) else -1
            found = [self.user_node(u, node.path) for u in world.users.values()
                     if gid in u.group_ids]
        elif node.kind == CLUSTER:
            found = self._held(node) + self._stored_in_cluster(node)
        elif node.kind == SERVER or (node.kind == FOLDER and node.holder is not None):
            found = self._held(node)
        elif node.kind == FOLDER and node.entry is not None:
            found = [self.entry_node(e) for e in node.entry.children.values()]
            found += self._placed_in(node.entry)
            if node.entry is self.groups:
                found += [self.group_node(g) for g in world.groups.values()]
        found.sort(key=lambda n: (n.kind != FOLDER, n.name))
        return found

    def resolve(self, path: object, what: str = "path") -> Node | None:
        """The node at ``path``; None when an element is missing (bad paths: InvalidRequest)."""
        node: Node | None = self.root_node()
        for name in split_path(path, what):
            assert node is not None
            node = self.child(node, name)
            if node is None:
                return None
        return node

    def walk(self, node: Node) -> Iterator[Node]:
        """``node`` and everything below it (a group's member links are not descended)."""
        yield node
        if node.kind == FOLDER:
            for child in self.children(node):
                yield from self.walk(child)

    def walk_entries(self, entry: Entry) -> Iterator[Entry]:
        yield entry
        for child in entry.children.values():
            yield from self.walk_entries(child)

    def all_owned(self) -> Iterator[Owned]:
        """Every object with an ACL: stored entries, users, groups and clusters."""
        yield from self.walk_entries(self.root)
        yield from self.world.users.values()
        yield from self.world.groups.values()
        yield from self.world.clusters.values()

    def hand_over(self, user_id: int) -> None:
        """What a deleted user owned now belongs to ``system``, as in CMON (s9s then shows
        ``system`` as the owner of the cluster, its nodes and the controller, never a
        bare id or nothing); the owner group stays."""
        book = servers.book(self.world).servers.values()
        owned = list(self.all_owned()) + list(book) + [
            c.owned for s in book for c in s.containers if c.owned is not None]
        self.placed.pop((USER, user_id), None)
        for obj in owned:
            if obj.owner_user_id == user_id:
                obj.owner_user_id = self.system_uid

    def rename_in_acls(self, kind: str, old: str, new: str | None) -> None:
        """Named ``user:``/``group:`` ACL entries follow a renamed user or group, and go
        with a deleted one (a later namesake must not inherit its rights)."""
        for obj in self.all_owned():
            table = obj.acl.users if kind == "user" else obj.acl.groups
            if old in table:
                letters = table.pop(old)
                if new is not None:
                    table[new] = letters

    # ---- changes (callers have checked names, permissions and collisions)

    def add(self, parent: Entry, name: str, kind: str, owner: int, group: int,
            now: float) -> Entry:
        entry = Entry(owner_user_id=owner, owner_group_id=group, acl=Acl.parse(NEW_ENTRY_ACL),
                      name=name, kind=kind, parent=parent, created=now)
        parent.children[name] = entry
        return entry

    def remove(self, entry: Entry) -> None:
        if entry.parent is not None:
            del entry.parent.children[entry.name]
            entry.parent = None

    def move(self, entry: Entry, folder: Entry, name: str) -> None:
        self.remove(entry)
        entry.name = name
        entry.parent = folder
        folder.children[name] = entry


def _state_file(folder: Node, holder: Owned, generator: Generator) -> Node:
    """``.runtime/state`` of a server or cluster: read-only, its holder's owner."""
    state = Entry(owner_user_id=holder.owner_user_id, owner_group_id=holder.owner_group_id,
                  acl=Acl.parse(RUNTIME_RO_ACL), name="state", kind=FILE, system=True,
                  generator=generator)
    return Node(FILE, "state", folder.path, state, entry=state, holder=holder)


def cdt_of(world: World) -> Cdt:
    """The tree of ``world``, made on first use (a reset makes a new World, so a new tree).

    The root folder is also kept as ``world.extensions["cdt_root"]``.
    """
    tree = world.extensions.get(CDT_KEY)
    if tree is None:
        tree = Cdt(world)
        world.extensions[CDT_KEY] = tree
        world.extensions["cdt_root"] = tree.root
    return tree


# ---- what the status files of /.runtime say


def _lines(pairs: list[tuple[str, object]]) -> str:
    width = max(len(k) for k, _ in pairs)
    return "".join(f"{k.rjust(width)} : {v}\n" for k, v in pairs)


def _cluster_manager(world: World, now: float) -> str:
    rows = [(str(c.cluster_id), f"{c.cluster_name} {c.cluster_type} {c.state}")
            for c in sorted(world.clusters.values(), key=lambda c: c.cluster_id)]
    return _lines([("number_of_clusters", len(rows))] + rows)


def _cluster_state(cluster: Cluster) -> str:
    """``/<cluster>/.runtime/state``: the cluster object's own status lines."""
    return _lines([("s9scluster_instance", f"0x{servers.seed(cluster.cluster_name):08x}"),
                   ("cluster_id", cluster.cluster_id), ("cluster_name", cluster.cluster_name),
                   ("cluster_type", cluster.cluster_type), ("cluster_state", cluster.state),
                   ("number_of_hosts", len(cluster.hosts))])


def _user_manager(world: World, now: float) -> str:
    return _lines([("number_of_users", len(world.users)),
                   ("number_of_groups", len(world.groups))])


def _host_manager(world: World, now: float) -> str:
    return _lines([("number_of_hosts", sum(len(c.hosts) for c in world.clusters.values()))])


def _controller(world: World, now: float) -> str:
    return _lines([("controller_id", world.controller_id), ("version", world.version),
                   ("hostname", world.hostname), ("started", rfc3339(world.created))])


def _device(name: str) -> Generator:
    """Internals fakecmon has no model of: the device says what it is, nothing more."""
    return lambda world, now: _lines([("device", name), ("controller_id", world.controller_id)])


RUNTIME_FILES: list[tuple[str, str, str, tuple[int, int] | None, Generator | None]] = [
    # (folder under /.runtime, name, ACL, device numbers, content generator)
    ("LDAP", "configuration", RUNTIME_RW_ACL, (120, 4), None),
    ("cloud", "credentials", RUNTIME_RW_ACL, (110, 2), None),
    ("cloud", "credentials_manager", RUNTIME_RO_ACL, (110, 1), _device("credentials_manager")),
    ("cmon_ha", "controller_data", RUNTIME_RO_ACL, (100, 2), _controller),
    ("cmon_ha", "controller_manager", RUNTIME_RO_ACL, (100, 1), _device("controller_manager")),
    ("cmon_ha", "enabled", RUNTIME_RW_ACL, (100, 3), None),
    ("cmon_ha", "self_controller", RUNTIME_RO_ACL, (101, 2), _controller),
    ("files", "config_files.csv", RUNTIME_RO_ACL, (121, 5), config.config_files_csv),
    ("files", "config_versions.csv", RUNTIME_RO_ACL, (121, 2), config.config_versions_csv),
    ("jobs", "job_manager", RUNTIME_RO_ACL, (40, 1), _device("job_manager")),
    ("rpc", "rpc_stats", RUNTIME_RO_ACL, (91, 1), _device("rpc_stats")),
    ("rpc", "rpcv2_service", RUNTIME_RO_ACL, (90, 1), _device("rpcv2_service")),
    ("rpc", "sessions", RUNTIME_RO_ACL, (92, 1), _device("sessions")),
    ("", "cluster_manager", RUNTIME_RO_ACL, (10, 1), _cluster_manager),
    ("", "cmon_license", RUNTIME_RW_ACL, (111, 2), config.license_text),
    ("", "config_manager", RUNTIME_RO_ACL, (121, 1), _device("config_manager")),
    ("", "controller", RUNTIME_RO_ACL, (99, 1), _controller),
    ("", "controller_clock", RUNTIME_RO_ACL, None, lambda w, now: rfc3339(now)),
    ("", "controller_hostname", RUNTIME_RO_ACL, None, lambda w, now: w.hostname),
    ("", "controller_pid", RUNTIME_RO_ACL, None, lambda w, now: "4242"),
    ("", "host_manager", RUNTIME_RO_ACL, (20, 1), _host_manager),
    ("", "mutexes", RUNTIME_RO_ACL, (50, 1), _device("mutexes")),
    ("", "process_manager", RUNTIME_RO_ACL, (41, 1), _device("process_manager")),
    ("", "server_manager", RUNTIME_RO_ACL, (4, 1), lambda w, now: servers.manager_text(w)),
    ("", "threads", RUNTIME_RO_ACL, (60, 1), _device("threads")),
    ("", "user_manager", RUNTIME_RO_ACL, (30, 1), _user_manager),
]

#: Files whose saved content the controller takes in (and may refuse).
RUNTIME_WRITERS: dict[str, Writer] = {"cmon_license": config.install_license}

DELETE_OLD_JOBS = """\
/*
 * Deletes the jobs that ended long ago (run by the controller once a day).
 */
function main()
{
    var days = 30;
    return CmonJobInstance::deleteOldJobs(days);
}
"""
