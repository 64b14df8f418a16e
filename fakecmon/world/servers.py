"""Container servers (``/v2/host`` registerServers & co): LXC hosts and cloud accounts.

A registered server is a CDT object (owner, group, ACL, ``cdt_path`` ``/``) with
containers. Its hardware (processors, memory banks, disks, NICs) is what CMON
would have discovered over SSH: derived from the host name, so the same server
always looks the same. State: ``world.extensions["servers"]`` (host name -> Server).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from fakecmon.world.acl import Acl
from fakecmon.world.models import Owned
from fakecmon.world.state import World

KEY = "servers"
SERVER_ACL = "user::rwx,group::rwx,other::---"
SERVER_CLASSES = {"CmonLxcServer": "lxc", "CmonCloudServer": "cmon-cloud",
                  "CmonContainerServer": "lxc"}


def seed(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16)


def address_of(hostname: str) -> str:
    """The host name itself if it is an IPv4 address, else a stable private address."""
    parts = hostname.split(".")
    if len(parts) == 4 and all(p.isascii() and p.isdigit() and int(p) < 256 for p in parts):
        return hostname
    s = seed(hostname)
    return f"192.168.{s % 200 + 1}.{s // 200 % 250 + 2}"


CONTAINER_ACL = "user::rwx,group::rwx,other::---"
#: ``/<server>/containers``: the folder CMON lists a server's containers in.
CONTAINERS_FOLDER_ACL = "user::rwx,group::r--,other::r--"


@dataclass
class Container:
    alias: str
    hostname: str
    ip: str
    status: str = "RUNNING"
    image: str = "ubuntu_jammy"
    memory_limit: int = 4 * 1024 ** 3
    autostart: bool = True
    os: tuple[str, str, str, str] = ("ubuntu", "jammy", "22.04", "debian")
    #: Who made it (a create_containers job); None: the server's owner, group and ACL.
    owned: Owned | None = None
    template: str = ""


@dataclass
class Server(Owned):
    hostname: str = ""
    class_name: str = "CmonLxcServer"
    ip: str = ""
    host_id: int = 0
    hoststatus: str = "CmonHostOnline"
    version: str = "2.0.11"
    registered: float = 0.0
    containers: list[Container] = field(default_factory=list)

    @property
    def provider(self) -> str:
        return SERVER_CLASSES.get(self.class_name, "lxc")

    @property
    def online(self) -> bool:
        return self.hoststatus == "CmonHostOnline"


class ServerBook:
    def __init__(self) -> None:
        self.servers: dict[str, Server] = {}
        self.next_id = 1
        self.next_address = 1

    def new_address(self) -> str:
        """An address for a container a job creates: loopback (127.0.200.x and up), so
        that whatever a client sends to it never leaves the machine."""
        n = self.next_address
        self.next_address += 1
        return f"127.0.{200 + n // 250}.{n % 250 + 1}"

    def container(self, alias: str) -> tuple[Server, Container] | None:
        for server in self.servers.values():
            for c in server.containers:
                if c.alias == alias:
                    return server, c
        return None

    def add(self, server: Server) -> Server:
        server.host_id = self.next_id
        self.next_id += 1
        self.servers[server.hostname] = server
        return server


def book(world: World) -> ServerBook:
    found = world.extensions.get(KEY)
    if found is None:
        found = world.extensions[KEY] = ServerBook()
    return found


def new_server(hostname: str, class_name: str, owner_user_id: int, owner_group_id: int,
               now: float, ip: str = "", acl: str = SERVER_ACL) -> Server:
    return Server(owner_user_id=owner_user_id, owner_group_id=owner_group_id,
                  acl=Acl.parse(acl), hostname=hostname, class_name=class_name,
                  ip=ip or address_of(hostname), registered=now)


# ---- JSON

def _owner(world: World, obj: Owned, cdt_path: str) -> dict[str, Any]:
    owner = world.users.get(obj.owner_user_id)
    group = world.groups.get(obj.owner_group_id)
    return {"cdt_path": cdt_path, "owner_user_id": obj.owner_user_id,
            "owner_user_name": owner.user_name if owner else "",
            "owner_group_id": obj.owner_group_id,
            "owner_group_name": group.group_name if group else "", "acl": str(obj.acl)}


def subnet_id(server: Server) -> str:
    return f"{server.hostname}-br0"


def _subnet(server: Server) -> dict[str, Any]:
    return {"class_name": "CmonSubnet", "name": "br0", "az": "region1",
            "cidr": f"{server.ip}/24", "id": subnet_id(server),
            "provider": server.provider, "region": "region1", "state": "available",
            "vpc_id": "vpc-region1"}


def container_owner(server: Server, c: Container) -> Owned:
    return c.owned if c.owned is not None else server


def container_json(world: World, server: Server, c: Container) -> dict[str, Any]:
    doc: dict[str, Any] = {"class_name": "CmonContainer"}
    doc.update(_owner(world, container_owner(server, c), f"/{server.hostname}/containers"))
    name, codename, release, family = c.os
    doc.update({
        "alias": c.alias, "architecture": "x86_64", "autostart": c.autostart, "cluster_id": 0,
        "configfile": f"/var/lib/lxc/{c.alias}/config", "hostname": c.hostname,
        "image": c.image, "ip": c.ip, "is_claimed": False, "memory_limit": c.memory_limit,
        "parent_server": server.hostname, "provider": server.provider, "region": "region1",
        "root_fs_path": f"/var/lib/lxc/{c.alias}/rootfs",
        "status": c.status if server.online else "STOPPED", "type": server.provider,
        "version": 1,
        "network": {"private_ip": [c.ip], "public_ip": []},
        "os_version": {"class_name": "CmonOsVersion", "name": name, "codename": codename,
                       "release": release, "type": family},
        "subnet": _subnet(server),
    })
    if c.template:
        doc["template"] = c.template
    return doc


def _hardware(server: Server) -> dict[str, Any]:
    s = seed(server.hostname)
    sockets, cores = 1 + s % 2, (8, 10, 12, 16)[s % 4]
    bank_gb = (8, 16, 32)[s // 7 % 3]
    banks = 4 * sockets * (1 + s // 11 % 2)
    total_mb = banks * bank_gb * 1024
    disk_mb = (480, 960, 1920)[s // 13 % 3] * 1024
    free_mb = disk_mb * (35 + s % 50) // 100
    return {
        "model": ("PowerEdge R640", "ProLiant DL360 Gen10", "System x3850 X5")[s % 3],
        "processors": [{"cores": cores, "cpu_max_ghz": 2.4 + (s % 10) / 10, "id": i + 1,
                        "model": "Intel(R) Xeon(R) Silver 4210R CPU @ 2.40GHz",
                        "siblings": cores * 2, "vendor": "Intel Corp."}
                       for i in range(sockets)],
        "memory": {"class_name": "CmonMemoryInfo",
                   "memory_available_mb": total_mb * 3 // 4,
                   "memory_free_mb": total_mb // 3, "memory_total_mb": total_mb,
                   "swap_free_mb": 0, "swap_total_mb": 0,
                   "banks": [{"name": "DIMM DDR4 Synchronous 2933 MHz", "bank": str(i),
                              "size": bank_gb * 1024 ** 3} for i in range(banks)]},
        "disk_devices": [
            {"class_name": "CmonDiskDevice", "device": "/dev/sda1", "filesystem": "ext4",
             "free_mb": free_mb, "mountpoint": "/", "total_mb": disk_mb},
            {"device": "/dev/sda", "is_hardware_storage": True, "model": "PERC H730P",
             "total_mb": disk_mb,
             "volumes": [{"description": "EXT4 volume", "device": "/dev/sda1",
                          "filesystem": "ext4", "free_mb": free_mb, "mount_point": "/",
                          "total_mb": disk_mb}]},
        ],
        "network_interfaces": [
            {"name": "eno1", "gbits": 10, "link": True, "mac": _mac(s, 0),
             "model": "Ethernet Controller X710"},
            {"name": "eno2", "gbits": 10, "link": False, "mac": _mac(s, 1),
             "model": "Ethernet Controller X710"},
            {"name": "br0", "gbits": 0, "ip": server.ip, "mac": "", "model": ""},
        ],
    }


def _mac(s: int, n: int) -> str:
    octets = [0x6C, 0xAE, (s >> 16) & 0xFF, (s >> 8) & 0xFF, s & 0xFF, n * 2]
    return ":".join(f"{o:02x}" for o in octets)


IMAGES = ("ubuntu_jammy", "ubuntu_noble", "debian_bookworm", "rockylinux_9", "almalinux_9")
#: The distributions LXC's download template offers images of (``<distribution>_<release>``).
IMAGE_DISTRIBUTIONS = frozenset(("ubuntu", "debian", "centos", "rockylinux", "almalinux",
                                 "oracle", "fedora", "opensuse", "gentoo", "alpine",
                                 "amazonlinux", "archlinux"))


def server_json(world: World, server: Server, now: float) -> dict[str, Any]:
    doc: dict[str, Any] = {"class_name": server.class_name}
    doc.update(_owner(world, server, "/"))
    up = server.online
    doc.update({
        "clusterid": 0, "connected": up, "hostId": server.host_id, "hostname": server.hostname,
        "hoststatus": server.hoststatus, "ip": server.ip,
        "last_container_collect": int(now) if up else int(server.registered),
        "last_hw_collect": int(server.registered), "lastseen": int(now) if up else
        int(server.registered), "maintenance_mode": "none", "maintenance_mode_active": False,
        "max_containers": -1, "max_containers_running": -1,
        "message": "Up and running." if up else "Server is shut down.",
        "protocol": server.provider,
        "statereason": "SSH is ok." if up else "The server is shut down.",
        "timestamp": int(now), "unique_id": server.host_id, "version": server.version,
        "containers": [container_json(world, server, c) for c in server.containers],
    })
    doc.update(_hardware(server))
    doc.update({
        "images": [{"name": i, "provider": server.provider, "region": "region1"}
                   for i in IMAGES],
        "regions": [{"name": "region1", "has_credentials": True, "provider": server.provider}],
        "subnets": [_subnet(server)],
        "templates": [{"name": n, "provider": server.provider, "region": "region1"}
                      for n in ("ubuntu", "debian12")],
    })
    return doc


# ---- status files (``/.runtime/server_manager``, ``/<server>/.runtime/state``)

def _capacity(server: Server) -> tuple[int, int, int]:
    """(processors, CPU threads, memory in GiB) as the hardware of the server says."""
    hw = _hardware(server)
    threads = sum(p["siblings"] for p in hw["processors"])
    return len(hw["processors"]), threads, hw["memory"]["memory_total_mb"] // 1024


def _lines(pairs: list[tuple[str, object]]) -> str:
    width = max(len(k) for k, _ in pairs)
    return "".join(f"{k.rjust(width)} : {v}\n" for k, v in pairs)


def state_text(server: Server) -> str:
    """What ``s9s tree --cat /<server>/.runtime/state`` shows."""
    processors, threads, memory = _capacity(server)
    return _lines([("container_server_instance", f"0x{seed(server.hostname):08x}"),
                   ("container_server_class", server.class_name),
                   ("server_name", server.hostname), ("number_of_processors", processors),
                   ("number_of_cpu_threads", threads), ("total_memory_gbyte", memory)])


def manager_text(world: World) -> str:
    """``/.runtime/server_manager``: the registered servers and their capacity."""
    found = [_capacity(s) for s in book(world).servers.values()]
    return _lines([("server_manager_instance", f"0x{seed(world.controller_id):08x}"),
                   ("number_of_servers", len(found)),
                   ("number_of_processors", sum(c[0] for c in found)),
                   ("number_of_processor_threads", sum(c[1] for c in found)),
                   ("total_memory_gbyte", sum(c[2] for c in found))])
