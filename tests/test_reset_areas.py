"""A reset gives back the whole world, every area of it, however it was changed.

The pristine copy is kept area by area (the World's containers and every extension),
and a restored world unpickles an area on its first touch (fakecmon/world/pristine.py).
These tests change each area in every way (replaced, changed in place, touched or
not, before or after its neighbours) and check the world after a reset is, byte for
byte, the world of a fresh restore: a reset that forgot an area, or restored one
from a copy that a test had changed, fails here.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fakecmon.clock import Clock
from fakecmon.controller import SHARED_TYPES, Config, Controller
from fakecmon.testing import FakeCmon
from fakecmon.world import pristine as pristine_module
from fakecmon.world.pristine import Extensions, Pristine, world_bytes
from fakecmon.world.jobs import jobs_of
from tests.invariants import same_as_a_fresh_restore
from tests.test_world_export import busy_world


def frozen_controller() -> Controller:
    """A controller whose clock stands still: its resets never rebuild the world."""
    clock = Clock()
    clock.freeze()
    return Controller(Config(), clock)


def areas(c: Controller) -> list[tuple[str, Any]]:
    assert c._pristine is not None
    return ([("attr", n) for n in c._pristine.attrs]
            + [("ext", k) for k in c._pristine.ext_keys])


def state(c: Controller) -> bytes:
    return world_bytes(c.world, SHARED_TYPES)


class Junk:
    """What a careless test leaves in an area."""


def spoil_in_place(value: Any) -> bool:
    """Change a container or an object where it is; False when it has no way in."""
    if isinstance(value, dict):
        value[("junk",)] = Junk()
    elif isinstance(value, list):
        value.append(Junk())
    elif isinstance(value, set):
        value.add(("junk",))
    elif hasattr(value, "__dict__") and not callable(value):
        value.__dict__["junk"] = Junk()
    else:
        return False
    return True


@pytest.fixture(params=["small areas together", "every area apart"], autouse=True)
def granularity(request, monkeypatch):
    """Every test runs with the default world's small areas in one component, and with
    every area that shares nothing in a component of its own (as a big world has)."""
    if request.param == "every area apart":
        monkeypatch.setattr(pristine_module, "SMALL_COMPONENT", 0)
    return request.param


def test_the_pristine_copy_is_kept_area_by_area(granularity):
    c = frozen_controller()
    assert c._pristine is not None and c._pristine.copy is None
    names = {m for _, members in c._pristine.components for m in members}
    assert {("attr", "users"), ("attr", "clusters"), ("ext", "jobs")} <= names
    if granularity == "every area apart":
        assert len(c._pristine.components) >= 8, "areas that share nothing are apart"
        assert [("ext", "jobs"), ("ext", "job_counts")] in [
            m for _, m in c._pristine.components], "a bound method goes with its object"
    else:
        assert len(c._pristine.components) == 2, "the small areas are one component"
    assert [("ext", "logs")] in [m for _, m in c._pristine.components], \
        "the log book a reset touches is apart"
    c.reset()
    assert "_lazy" in vars(c.world) and "users" not in vars(c.world)
    assert c.world.count("users") == len(c.world.users)   # counted without unpickling
    assert "users" in vars(c.world)


def test_a_reset_restores_every_area_replaced_or_changed_in_place():
    c = frozen_controller()
    c.reset()
    pristine = state(c)
    checked = 0
    for kind, key in areas(c):
        for how in ("replace", "in place", "in place after the others"):
            c.reset()
            w = c.world
            if how == "in place after the others":
                state(c)                      # every other area unpickled first
            value = getattr(w, key) if kind == "attr" else w.extensions[key]
            if how == "replace":
                if kind == "attr":
                    setattr(w, key, Junk())
                else:
                    w.extensions[key] = Junk()
            elif not spoil_in_place(value):
                continue
            assert state(c) != pristine, (kind, key, how)
            c.reset()
            assert state(c) == pristine, f"{kind} {key!r} ({how}) was not restored"
            checked += 1
    assert checked > 2 * len(areas(c))


def test_areas_added_or_removed_after_the_start_are_undone():
    c = frozen_controller()
    c.reset()
    pristine = state(c)
    w = c.world
    w.extensions["a new area"] = {"x": 1}
    del w.extensions[next(iter(w.extensions))]
    w.extensions.pop(list(w.extensions)[-2])
    w.brand_new = [1, 2]
    c.reset()
    assert "a new area" not in c.world.extensions and not hasattr(c.world, "brand_new")
    assert state(c) == pristine


def test_a_restored_world_reads_like_a_plain_dict_and_copies_whole():
    c = frozen_controller()
    c.reset()
    ext = c.world.extensions
    assert isinstance(ext, Extensions)
    plain = dict(ext)                       # C merging goes through __getitem__
    assert all(type(v).__name__ != "_Pending" for v in plain.values())
    c.reset()
    merged = {**c.world.extensions}
    assert merged.keys() == plain.keys()
    assert all(type(v).__name__ != "_Pending" for v in merged.values())
    c.reset()
    snapshot = copy.deepcopy(c.world)       # a named snapshot of an untouched world
    assert type(snapshot.extensions) is dict and "_lazy" not in vars(snapshot)
    assert len(snapshot.users) == c.world.count("users")
    assert world_bytes(snapshot, SHARED_TYPES) == state(c)


def test_the_pristine_copy_never_changes_with_the_world_it_gave():
    c = frozen_controller()
    c.reset()
    pristine = state(c)
    for _ in range(3):
        w = c.world
        next(iter(w.users.values())).user_name = "renamed"
        next(iter(w.clusters.values())).hosts.clear()
        jobs_of(w).jobs.clear()
        c.reset()
        assert state(c) == pristine


@pytest.mark.parametrize("touch_first", [False, True])
def test_a_reset_after_a_busy_server_gives_a_fresh_restore(touch_first):
    """Every area changed through the API (jobs, users, tree, config, accounts,
    maintenance, scripts, sheets, servers...), then reset: the world served is the
    pristine copy's, byte for byte."""
    with FakeCmon() as cmon:
        if touch_first:   # every area unpickled before the changes, or left pending
            cmon.run(lambda c: state(c))
        system = cmon.client("system", "secret")
        busy_world(cmon, system)
        assert not cmon.run(same_as_a_fresh_restore)
        cmon.reset()
        assert cmon.run(same_as_a_fresh_restore)
        system = cmon.client("system", "secret")
        assert system.call("/v2/clusters", "getAllClusterInfo")["request_status"] == "Ok"


def test_a_world_that_cannot_be_pickled_is_kept_as_a_deep_copy():
    """A lambda somewhere (a running job's plan loaded from an export): the copy is a
    deep one, restored whole, and still never changes with the worlds it gave."""
    c = frozen_controller()
    c.world.extensions["odd"] = {"fn": lambda: 1}
    pristine = Pristine(c.world, SHARED_TYPES)
    assert pristine.copy is not None and not pristine.components
    first = pristine.restore()
    assert "_lazy" not in vars(first) and first.extensions["odd"]["fn"]() == 1
    archive = jobs_of(first).archive
    assert archive is jobs_of(c.world).archive, "past jobs are shared, not copied"
    first.users.clear()
    first.extensions["odd"]["fn"] = None
    second = pristine.restore()
    assert second.users and second.extensions["odd"]["fn"]() == 1
