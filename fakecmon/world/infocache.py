"""The controller's cluster info cache, counted as clients use it.

CMON answers ``getAllClusterInfo`` and ``getClusterInfo`` from a per-cluster
cache that it rebuilds when an entry is older than the refresh interval;
``/v2/clusters getClusterInfoCacheStatistics`` shows its counters. Here every
cluster document those operations build is one lookup: a hit when the cluster's
entry was refreshed less than ``REFRESH_INTERVAL`` seconds ago (controller
clock), else a miss that refreshes it. A refresh takes longer for clusters with
more hosts (``refresh_ms``). The counters live in
``world.extensions["cluster_info_cache"]``, so a reset starts them from zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fakecmon.world.models import Cluster
from fakecmon.world.state import World

KEY = "cluster_info_cache"
#: Seconds a cached cluster info stays fresh.
REFRESH_INTERVAL = 10


@dataclass
class Entry:
    """One cluster's cached info: when it was built, and its own counters."""

    cluster_name: str
    refreshed: float
    hits: int = 0
    misses: int = 0
    refreshes: int = 0
    last_refresh_ms: int = 0
    max_refresh_ms: int = 0


@dataclass
class InfoCache:
    entries: dict[int, Entry] = field(default_factory=dict)

    def lookup(self, cluster: Cluster, now: float) -> bool:
        """Count one lookup of ``cluster``'s info; True for a hit."""
        entry = self.entries.get(cluster.cluster_id)
        if entry is not None and entry.cluster_name != cluster.cluster_name:
            entry = None  # a removed cluster's id, taken by a new cluster: not its info
        if entry is not None and now - entry.refreshed < REFRESH_INTERVAL:
            entry.hits += 1
            return True
        took = refresh_ms(cluster)
        if entry is None:
            entry = self.entries[cluster.cluster_id] = Entry(cluster.cluster_name, now)
        entry.refreshed = now
        entry.misses += 1
        entry.refreshes += 1
        entry.last_refresh_ms = took
        entry.max_refresh_ms = max(entry.max_refresh_ms, took)
        return False

    def lookup_all(self, clusters: list[tuple[Cluster, Any]], now: float) -> None:
        """Count one lookup of each ``(cluster, ...)``'s info (a cluster list's)."""
        entries = self.entries
        for cluster, _ in clusters:
            entry = entries.get(cluster.cluster_id)
            if entry is not None and entry.cluster_name == cluster.cluster_name \
                    and now - entry.refreshed < REFRESH_INTERVAL:
                entry.hits += 1
            else:
                self.lookup(cluster, now)

    def live(self, world: World) -> list[Entry]:
        """The entries of clusters that still exist (a removed cluster's entry is dropped)."""
        return [e for cid, e in sorted(self.entries.items())
                if cid in world.clusters and world.clusters[cid].cluster_name == e.cluster_name]


def refresh_ms(cluster: Cluster) -> int:
    """How long building a cluster's info takes: a base cost plus each host's."""
    return 4 + 3 * len(cluster.hosts)


def cache_of(world: World) -> InfoCache:
    found = world.extensions.get(KEY)
    if found is None:
        found = world.extensions[KEY] = InfoCache()
    return found


def statistics(entries: list[Entry], size: int) -> dict[str, Any]:
    """``cache_statistics`` over some entries (every cluster's, or one cluster's)."""
    hits = sum(e.hits for e in entries)
    misses = sum(e.misses for e in entries)
    last = max(entries, key=lambda e: e.refreshed, default=None)
    return {
        "cache_size": size,
        "hit_rate_percent": round(100.0 * hits / (hits + misses), 2) if hits + misses else 0.0,
        "last_refresh_duration_ms": last.last_refresh_ms if last is not None else 0,
        "max_refresh_duration_ms": max((e.max_refresh_ms for e in entries), default=0),
        "refresh_interval_seconds": REFRESH_INTERVAL,
        "total_hits": hits,
        "total_misses": misses,
        "total_refreshes": sum(e.refreshes for e in entries),
    }
