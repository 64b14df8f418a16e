"""The pristine copy of a loaded world, restored area by area on first touch.

A reset must give back exactly the world the files built, whatever happened since,
and must not pay the world's size: a production-sized world is a hundred thousand
objects, and unpickling them all takes longer than the test that asked for the reset.

So the copy is kept as one pickle per *component*. Every container of the World
(``users``, ``clusters``, the name indexes...) and every entry of ``world.extensions``
(the job engine, backups, alarms...) is an area; areas that share a mutable object (a
book that holds cluster objects, ``job_counts`` bound to the job engine) are one
component, pickled together so that identity is kept exactly. A restored world starts
with every component pending, and the first touch of any of its areas
(``world.users``, ``world.extensions.get("jobs")``...) unpickles that component. A
reset is then O(number of areas), and a test pays only for the areas it uses.

Nothing is tracked, so nothing can be forgotten: a restored world is always a whole
fresh copy, whatever was changed before (no dirty flags to keep right on every
mutation path). The World object itself and the never-changing parts of
``shared_types`` (the archive of ended jobs) are referenced, not copied.
"""

from __future__ import annotations

import copy
import enum
import io
import pickle
import threading
import types
from collections.abc import Iterator
from typing import Any

from fakecmon.world.state import World
from fakecmon.world.yamlfile import no_gc

#: Objects of these types are the same whichever copy holds them (values, or pickled by
#: name): two areas holding one of them need not be pickled together.
_IMMUTABLE: tuple[type, ...] = (str, bytes, int, float, complex, bool, type(None), tuple,
                                frozenset, range, type, types.FunctionType,
                                types.BuiltinFunctionType, types.MethodType, enum.Enum)

Area = tuple[str, Any]

#: Components pickled smaller than this are unpickled together, on the first touch of
#: any of them (a default world is then one component).
SMALL_COMPONENT = 16 * 1024       # ("attr", name) of the World, or ("ext", key) of its extensions


def _world() -> World:
    raise RuntimeError("only a pristine copy's unpickler gives the world")


def _shared(index: int) -> Any:
    raise RuntimeError("only a pristine copy's unpickler gives its shared parts")


class _Pickler(pickle.Pickler):
    """Pickles the World and the ``shared`` parts by reference. A reducer, not a
    persistent_id: it is not asked about the hundred thousands of strings, numbers,
    lists and dicts (a method, not an instance attribute: Python 3.13 makes those
    read-only)."""

    def __init__(self, buf: io.BytesIO, world: World, shared: list[Any],
                 shared_types: tuple[type, ...]) -> None:
        super().__init__(buf, protocol=pickle.HIGHEST_PROTOCOL)
        self.world, self.shared, self.shared_types = world, shared, shared_types

    def reducer_override(self, obj: Any) -> Any:
        if obj is self.world:
            return (_world, ())
        if type(obj) in self.shared_types:
            for i, known in enumerate(self.shared):
                if known is obj:
                    return (_shared, (i,))
            self.shared.append(obj)
            return (_shared, (len(self.shared) - 1,))
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, world: World, shared: list[Any]) -> None:
        super().__init__(io.BytesIO(data))
        self.world, self.shared = world, shared

    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name == "_world":
            return lambda: self.world
        if module == __name__ and name == "_shared":
            return self.shared.__getitem__
        return super().find_class(module, name)


class _Pending:
    """The value of an extension whose component is not unpickled yet."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<pending>"


PENDING: Any = _Pending()


class Extensions(dict):  # type: ignore[type-arg]
    """``world.extensions`` of a restored world: entries still PENDING are unpickled
    when read, by whichever way they are read (``[k]``, ``get``, ``items``...).

    ``__iter__`` is defined so that C code merging it (``dict(x)``, ``{**x}``) goes
    through ``keys`` and ``__getitem__`` rather than reading the raw values.
    """

    __slots__ = ("lazy",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: _Lazy | None = None

    def _fill(self, key: Any) -> Any:
        assert self.lazy is not None
        self.lazy.load(("ext", key))
        return dict.__getitem__(self, key)

    def _all(self) -> None:
        if self.lazy is not None:
            self.lazy.load_all()

    def __getitem__(self, key: Any) -> Any:
        value = dict.__getitem__(self, key)
        return self._fill(key) if value is PENDING else value

    def get(self, key: Any, default: Any = None) -> Any:
        value = dict.get(self, key, default)
        return self._fill(key) if value is PENDING else value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        value = dict.setdefault(self, key, default)
        return self._fill(key) if value is PENDING else value

    def pop(self, key: Any, *default: Any) -> Any:
        if dict.get(self, key) is PENDING:
            self._fill(key)
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[Any, Any]:
        self._all()
        return dict.popitem(self)

    def items(self) -> Any:
        self._all()
        return dict.items(self)

    def values(self) -> Any:
        self._all()
        return dict.values(self)

    def __iter__(self) -> Iterator[Any]:
        return dict.__iter__(self)

    def copy(self) -> dict[Any, Any]:
        self._all()
        return dict(dict.items(self))

    def __eq__(self, other: object) -> bool:
        self._all()
        if isinstance(other, Extensions):
            other._all()
        return dict.__eq__(self, other)  # type: ignore[no-any-return]

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]

    def __or__(self, other: Any) -> dict[Any, Any]:
        return {**self.copy(), **other}

    def __ror__(self, other: Any) -> dict[Any, Any]:
        return {**other, **self.copy()}

    def __repr__(self) -> str:
        self._all()
        return dict.__repr__(self)

    def __reduce__(self) -> Any:
        """Copies and pickles of it are plain dicts of whole values."""
        return (dict, (self.copy(),))


class Pristine:
    """The pristine copy of one world: ``restore()`` gives a fresh world equal to it."""

    def __init__(self, world: World, shared_types: tuple[type, ...] = (),
                 apart: tuple[Area, ...] = ()) -> None:
        """``shared_types``: parts never changed, referenced rather than copied; ``apart``:
        areas every restore touches at once (kept out of the small areas' component)."""
        self.created = world.created
        self.shared: list[Any] = []
        self.copy: World | None = None      # when some part cannot be pickled
        self.scalars: dict[str, Any] = {}
        self.attrs: list[str] = []
        self.lengths: dict[str, int] = {}     # of the World's containers
        self.ext_keys: list[Any] = []
        self.component_of: dict[Area, int] = {}
        #: Per component: its pickle and its areas (one area: the pickle is its value;
        #: several: a dict area -> value).
        self.components: list[tuple[bytes, list[Area]]] = []
        #: Bytes unpickled by every world restored from this copy so far: roughly how
        #: much the worlds a reset let go of hold (``Controller.reset`` collects them).
        self.unpickled = 0
        try:
            self._split(world, shared_types, apart)
        except (pickle.PicklingError, AttributeError, TypeError):
            # A lambda or an open file somewhere: a deep copy, restored whole (the
            # shared parts still shared, also those the pickling did not reach).
            self.components, self.component_of = [], {}
            for area in world.extensions.values():
                found = getattr(area, "archive", None)
                if type(found) in shared_types and all(found is not s for s in self.shared):
                    self.shared.append(found)
            self.copy = copy.deepcopy(world, {id(a): a for a in self.shared})

    def _split(self, world: World, shared_types: tuple[type, ...],
               apart: tuple[Area, ...]) -> None:
        areas: list[Area] = []
        values: list[Any] = []
        for name, value in world.__dict__.items():
            if name in ("views", "extensions"):
                continue
            if isinstance(value, (str, int, float, bool, type(None))):
                self.scalars[name] = value
            else:
                self.attrs.append(name)
                if hasattr(value, "__len__"):
                    self.lengths[name] = len(value)
                areas.append(("attr", name))
                values.append(value)
        for key, value in world.extensions.items():
            self.ext_keys.append(key)
            areas.append(("ext", key))
            values.append(value)
        parent = list(range(len(areas)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        # A bound method (``job_counts`` is the job engine's) goes with its object.
        index_of = {id(v): i for i, v in enumerate(values)}
        for i, value in enumerate(values):
            if isinstance(value, types.MethodType) and id(value.__self__) in index_of:
                parent[root(i)] = root(index_of[id(value.__self__)])
        while True:
            groups: dict[int, list[int]] = {}
            for i in range(len(areas)):
                groups.setdefault(root(i), []).append(i)
            dumps: list[tuple[bytes, list[Area]]] = []
            memos: list[dict[int, Any]] = []   # kept until the end: ids stay unique
            owner: dict[int, int] = {}
            merged = False
            for group, members in groups.items():
                buf = io.BytesIO()
                pickler = _Pickler(buf, world, self.shared, shared_types)
                pickler.dump(values[members[0]] if len(members) == 1
                             else {areas[i]: values[i] for i in members})
                dumps.append((buf.getvalue(), [areas[i] for i in members]))
                memo = pickler.memo.copy()
                memos.append(memo)
                for oid, (_, obj) in memo.items():
                    if isinstance(obj, _IMMUTABLE) or obj is world:
                        continue
                    first = owner.setdefault(oid, group)
                    if first != group and root(first) != root(group):
                        parent[root(group)] = root(first)   # they share an object
                        merged = True
            if not merged:
                break
        # Small components go together: one unpickling costs more than a few KB of it.
        def is_small(data: bytes, members: list[Area]) -> bool:
            return len(data) < SMALL_COMPONENT and not set(members) & set(apart)

        small = [members for data, members in dumps if is_small(data, members)]
        if len(small) > 1:
            dumps = [(data, members) for data, members in dumps
                     if not is_small(data, members)]
            together = [area for members in small for area in members]
            buf = io.BytesIO()
            _Pickler(buf, world, self.shared, shared_types).dump(
                {area: values[areas.index(area)] for area in together})
            dumps.append((buf.getvalue(), together))
        for data, members in dumps:
            for area in members:
                self.component_of[area] = len(self.components)
            self.components.append((data, members))

    @property
    def size(self) -> int:
        """Bytes of the pickled copy."""
        return sum(len(data) for data, _ in self.components)

    def restore(self) -> World:
        """A fresh world equal to the pristine one; its areas unpickle on first touch."""
        if self.copy is not None:
            return copy.deepcopy(self.copy, {id(a): a for a in self.shared})
        world = World.__new__(World)
        lazy = _Lazy(self, world)
        state = world.__dict__
        state.update(self.scalars)
        state["views"] = {}
        ext = Extensions(dict.fromkeys(self.ext_keys, PENDING))
        ext.lazy = lazy
        state["extensions"] = ext
        state["_lazy"] = lazy
        return world

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("a pristine copy is not itself copied")


class _Lazy:
    """What a restored world still has to unpickle (``World.__getattr__`` and
    ``Extensions`` call ``load``)."""

    __slots__ = ("pristine", "world", "loaded", "lock")

    def __init__(self, pristine: Pristine, world: World) -> None:
        self.pristine, self.world = pristine, world
        self.loaded: set[int] = set()
        # A test thread may touch the world while the server's loop does: one
        # component is unpickled once, whoever asks first.
        self.lock = threading.RLock()

    def pending_attr(self, name: str) -> bool:
        return ("attr", name) in self.pristine.component_of and name not in self.world.__dict__

    def load(self, area: Area) -> None:
        index = self.pristine.component_of.get(area)
        if index is None or index in self.loaded:
            return
        with self.lock:
            if index not in self.loaded:
                self._load(index)

    def _load(self, index: int) -> None:
        data, members = self.pristine.components[index]
        # The collector stays out while tens of thousands of objects are made: none of
        # them is garbage.
        with no_gc():
            value = _Unpickler(data, self.world, self.pristine.shared).load()
        self.pristine.unpickled += len(data)
        found = {members[0]: value} if len(members) == 1 else value
        state, ext = self.world.__dict__, self.world.__dict__["extensions"]
        for (kind, key), v in found.items():
            if kind == "attr":
                state.setdefault(key, v)      # unless set meanwhile
            elif dict.get(ext, key) is PENDING:
                dict.__setitem__(ext, key, v)
        self.loaded.add(index)     # (only now: another thread may look without the lock)
        if len(self.loaded) == len(self.pristine.components):
            self.done()

    def load_all(self) -> None:
        for index in range(len(self.pristine.components)):
            if index not in self.loaded:
                self.load(self.pristine.components[index][1][0])
        self.done()

    def done(self) -> None:
        state = self.world.__dict__
        if state.get("_lazy") is self:
            del state["_lazy"]
        ext = state.get("extensions")
        if isinstance(ext, Extensions) and ext.lazy is self:
            ext.lazy = None


def world_bytes(world: World, shared_types: tuple[type, ...] = ()) -> bytes:
    """Everything a world holds as bytes, attributes in name order (the World itself
    and ``shared_types`` parts by reference): equal bytes, equal worlds. For tests that
    check a reset gave back the whole world."""
    state = sorted(world.__getstate__().items(), key=lambda item: item[0])
    buf = io.BytesIO()
    _Pickler(buf, world, [], shared_types).dump(state)
    return buf.getvalue()
