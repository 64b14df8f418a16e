"""Elasticsearch snapshot repositories: where the snapshots of an Elasticsearch cluster go.

CMON registers them on the cluster (``/v2/backup snapshotRepository``) before
snapshot backups can use them: an ``s3`` repository (a bucket in a region, with
cloud credentials) or an ``fs`` repository (a directory every node mounts,
served by a storage host). Each belongs to one cluster; the store lives in
``world.extensions["snapshot_repositories"]`` (cluster id -> repositories).
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from typing import Any

from fakecmon.timefmt import rfc3339
from fakecmon.world.models import Cluster
from fakecmon.world.state import World

KEY = "snapshot_repositories"
TYPES = ("s3", "fs")
#: Characters Elasticsearch refuses in a repository name.
BAD_NAME_CHARS = set('\\/*?"<>|, #')


@dataclass
class SnapshotRepository:
    name: str
    repo_type: str
    created: float
    created_by: str
    uuid: str
    bucket: str = ""
    region: str = ""
    credential_id: int = 0
    location: str = ""
    storage_host: str = ""

    def settings(self) -> dict[str, Any]:
        """Elasticsearch's ``settings`` of the repository (strings, as Elasticsearch has them)."""
        if self.repo_type == "s3":
            return {"bucket": self.bucket, "region": self.region, "compress": "true"}
        return {"location": self.location, "compress": "true"}

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.repo_type, "uuid": self.uuid,
                "storage_host": self.storage_host, "credential_id": self.credential_id,
                "created": rfc3339(int(self.created)), "created_by": self.created_by,
                "settings": self.settings()}


@dataclass
class ClusterRepositories:
    """The repositories of one cluster (its name guards against a reused cluster id)."""

    cluster_name: str
    repositories: dict[str, SnapshotRepository] = field(default_factory=dict)


def _store(world: World) -> dict[int, ClusterRepositories]:
    return world.extensions.setdefault(KEY, {})


def repositories_of(world: World, cluster: Cluster) -> dict[str, SnapshotRepository]:
    """The cluster's repositories by name (changes to the dict are kept)."""
    store = _store(world)
    held = store.get(cluster.cluster_id)
    if held is None or held.cluster_name != cluster.cluster_name:
        held = store[cluster.cluster_id] = ClusterRepositories(cluster.cluster_name)
    return held.repositories


def check_name(name: object) -> str:
    """A repository name as Elasticsearch takes it: lower case, no separators or wildcards."""
    if not isinstance(name, str) or not name:
        raise ValueError("The snapshot repository needs a name ('snapshot_repository').")
    if len(name) > 255:
        raise ValueError(f"The snapshot repository name '{name[:40]}...' is too long.")
    bad = sorted(BAD_NAME_CHARS & set(name))
    if bad or name != name.lower() or name.startswith(("_", "-", "+")):
        raise ValueError(f"The snapshot repository name '{name}' is not valid: lower case, "
                         "not starting with '_', '-' or '+', without spaces or any of "
                         '\\ / * ? " < > | , #')
    return name


def repository_uuid(cluster: Cluster, name: str, created: float) -> str:
    """A 22 character id like the ones Elasticsearch gives repositories."""
    raw = uuid.uuid5(uuid.NAMESPACE_OID, f"{cluster.cluster_id}/{name}/{created}").bytes
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
