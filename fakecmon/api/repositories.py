"""/v2/repositories: software repositories (``s9s repo --list``, ``--list-setups``).

``getRepositories`` lists the vendor repositories the world's clusters install
from (one per vendor, version and operating system in use); ``getSupportedSetups``
lists every combination a local mirror can be created for.
"""

from __future__ import annotations

from typing import Any

from fakecmon import permissions
from fakecmon.rpc import Call, Payload, operation
from fakecmon.world import dbtypes
from fakecmon.world.models import Cluster

from fakecmon.api._common import checked_cluster_if_named  # isort: skip

PATH = "/v2/repositories"
OPERATING_SYSTEMS = (("ubuntu", "jammy", "22.04"), ("ubuntu", "noble", "24.04"),
                     ("debian", "bookworm", "12"), ("redhat", "el8", "8"),
                     ("redhat", "el9", "9"))


def _type_name(cluster: Cluster) -> str:
    return cluster.cluster_type.lower()


def _repository(cluster: Cluster, os: dict[str, str]) -> dict[str, Any]:
    vendor = cluster.vendor or "default"
    name = f"{vendor}-{cluster.version or 'latest'}-{os.get('codename', os.get('release', ''))}"
    return {
        "class_name": "CmonRepository",
        "name": name,
        "cluster_type": _type_name(cluster),
        "vendor": vendor,
        "db_version": cluster.version,
        "os": os.get("name", ""),
        "os_release": os.get("release", ""),
        "os_codename": os.get("codename", ""),
        "local": False,
        "clusters": [cluster.cluster_id],
    }


@operation(PATH, "getRepositories", kind="world-data")
def get_repositories(call: Call) -> Payload:
    """The repositories of the clusters the caller may read (``cluster_id`` narrows)."""
    only = checked_cluster_if_named(call)
    user = call.login_user()
    found: dict[str, dict[str, Any]] = {}
    for cid in [only.cluster_id] if only is not None else sorted(call.world.clusters):
        cluster = call.world.clusters[cid]
        if not permissions.can(call.world, user, cluster, permissions.READ):
            continue
        for host in cluster.hosts:
            repo = _repository(cluster, host.distribution)
            if repo["name"] in found:
                if cid not in found[repo["name"]]["clusters"]:
                    found[repo["name"]]["clusters"].append(cid)
            else:
                found[repo["name"]] = repo
    repos = list(found.values())
    return {"total": len(repos), "repositories": repos}


@operation(PATH, "getSupportedSetups", kind="world-data")
def get_supported_setups(call: Call) -> Payload:
    """Every (cluster type, vendor, version, operating system) a mirror can serve."""
    call.login_user()
    setups = [{"cluster_type": ctype.name, "vendor": vendor, "db_version": major,
               "os": os, "os_codename": codename, "os_release": release}
              for ctype in dbtypes.CLUSTER_TYPES
              for vendor, majors in ctype.vendors.items()
              for major in majors
              for os, codename, release in OPERATING_SYSTEMS]
    return {"total": len(setups), "setups": setups}
