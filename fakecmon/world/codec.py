"""Plain data (YAML/JSON-able) from the state areas keep in ``world.extensions``, and back.

The areas (jobs, alarms, the tree, config, logs...) keep their state in plain
objects: dataclasses and small classes of ``fakecmon.world`` and ``fakecmon.api``,
dicts, lists, tuples, sets and, in job plans, references to module functions.
Writing a world file section for each of them by hand would have to follow every
field they add; this codec follows them by itself, so an export always covers
everything the world holds.

Encoding: scalars stay scalars, lists stay lists, dicts whose keys are all strings
(and do not start with ``!``) stay mappings. Everything else is a one-key mapping
whose key starts with ``!``: ``!obj`` (class and attributes), ``!pairs`` (a dict
with other keys), ``!tuple``, ``!set``, ``!frozenset``, ``!deque``, ``!bytes``, ``!fn``,
``!const`` (a function in a module's table), ``!method``, ``!float`` (inf, nan), ``!world``, and references to the world's own
users, groups, clusters and hosts (``!user``, ``!group``, ``!cluster``, ``!host``).
An object reached more than once is written once as ``{"!id": n, "!value": ...}``
and then as ``{"!ref": n}``, so shared objects stay shared and cycles load.

Decoding only builds classes and functions of fakecmon's own world and API modules,
so a world file cannot name anything else to import or call.
"""

from __future__ import annotations

import base64
import collections
import importlib
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fakecmon.world.state import World

#: Modules whose classes and functions a world file may name.
ALLOWED_MODULES = ("fakecmon.world.", "fakecmon.api.", "fakecmon.events")
_SCALARS = (str, int, bool, type(None))
#: Exact types that are never containers (a fast test before the isinstance ones).
_LEAVES = frozenset((str, int, bool, type(None), float))


def _slots(cls: type) -> list[str]:
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        for name in getattr(klass, "__slots__", ()):
            if name not in names and name not in ("__dict__", "__weakref__"):
                names.append(name)
    return names


def attributes(obj: Any) -> dict[str, Any]:
    """An object's state: its ``__dict__`` or, for slotted classes, its slots. Attributes
    a class names in ``__transient__`` (runtime attachments such as an open log file,
    set again whenever a world is built) are saved as None."""
    state = dict(getattr(obj, "__dict__", {}))
    for name in _slots(type(obj)):
        if hasattr(obj, name):
            state[name] = getattr(obj, name)
    for name in getattr(type(obj), "__transient__", ()):
        if name in state:
            state[name] = None
    return state


def _name_of(obj: Any) -> str:
    return f"{obj.__module__}:{obj.__qualname__}"


def _allowed(module: str) -> bool:
    return module.startswith(ALLOWED_MODULES) or module in ALLOWED_MODULES


class Encoder:
    """One encoding pass over a world's extensions (shared objects written once)."""

    def __init__(self, world: "World") -> None:
        self.world = world
        self.core: dict[int, dict[str, Any]] = {id(world): {"!world": True}}
        for uid, user in world.users.items():
            self.core[id(user)] = {"!user": uid}
        for gid, group in world.groups.items():
            self.core[id(group)] = {"!group": gid}
        for cid, cluster in world.clusters.items():
            self.core[id(cluster)] = {"!cluster": cid}
            for i, host in enumerate(cluster.hosts):
                self.core[id(host)] = {"!host": [cid, i]}
        self.seen: dict[int, int] = {}
        self.ids: dict[int, int] = {}
        self._keep: list[Any] = []  # objects counted, kept alive so ids stay unique

    def encode(self, value: Any) -> Any:
        self._count(value)
        return self._encode(value)

    # -- pass 1: which objects are reached more than once

    def _count(self, value: Any) -> None:
        stack = [value]
        seen, core = self.seen, self.core
        while stack:
            v = stack.pop()
            if type(v) in _LEAVES or isinstance(v, (*_SCALARS, float)) or id(v) in core:
                continue
            if callable(v) and not hasattr(v, "__self__") and not _is_instance(v):
                continue
            key = id(v)
            if key in seen:
                seen[key] += 1
                continue
            seen[key] = 1
            self._keep.append(v)
            # As ``_plain`` writes them: a subclass of dict or tuple is an object
            # (its attributes), not its items.
            if type(v) is dict:
                stack.extend(v.keys())
                stack.extend(v.values())
            elif isinstance(v, (list, set, frozenset, collections.deque)) or type(v) is tuple:
                stack.extend(v)
            elif hasattr(v, "__self__") and hasattr(v, "__func__"):
                stack.append(v.__self__)
            else:
                stack.extend(attributes(v).values())

    # -- pass 2: the plain data

    def _encode(self, v: Any) -> Any:
        if type(v) in _LEAVES and type(v) is not float or isinstance(v, _SCALARS):
            return v
        if isinstance(v, float):
            return v if math.isfinite(v) else {"!float": repr(v)}
        if id(v) in self.core:
            return dict(self.core[id(v)])
        key = id(v)
        if key in self.ids:
            return {"!ref": self.ids[key]}
        if self.seen.get(key, 0) > 1:
            self.ids[key] = len(self.ids) + 1
            return {"!id": self.ids[key], "!value": self._plain(v)}
        return self._plain(v)

    def _plain(self, v: Any) -> Any:
        if isinstance(v, list):
            return [self._encode(x) for x in v]
        if isinstance(v, dict) and type(v) is dict:
            if all(isinstance(k, str) and not k.startswith("!") for k in v):
                return {k: self._encode(x) for k, x in v.items()}
            return {"!pairs": [[self._encode(k), self._encode(x)] for k, x in v.items()]}
        if isinstance(v, tuple) and type(v) is tuple:
            return {"!tuple": [self._encode(x) for x in v]}
        if isinstance(v, (set, frozenset)):
            kind = "!set" if isinstance(v, set) else "!frozenset"
            return {kind: [self._encode(x) for x in _ordered(v)]}
        if isinstance(v, bytes):
            return {"!bytes": base64.b64encode(v).decode()}
        if isinstance(v, collections.deque):
            return {"!deque": [self._encode(x) for x in v], "maxlen": v.maxlen}
        if hasattr(v, "__self__") and hasattr(v, "__func__"):
            return {"!method": [self._encode(v.__self__), v.__func__.__name__]}
        if callable(v) and not _is_instance(v):
            if "<locals>" in v.__qualname__ or v.__name__ == "<lambda>":
                return {"!const": _constant_path(v)}
            return {"!fn": _checked_name(v)}
        if isinstance(v, (dict, tuple)) and len(v) and not getattr(type(v), "__cache__", False):
            # Its items would be lost: only a class that says they are a cache (rebuilt
            # when needed) may be written without them.
            raise TypeError(f"cannot export {_name_of(type(v))}: a {type(v).__bases__[0].__name__}"
                            " subclass with items")
        return {"!obj": _checked_name(type(v)),
                **{k: self._encode(x) for k, x in attributes(v).items()}}


def _is_instance(v: Any) -> bool:
    """A plain object (possibly with ``__call__``), not a function or a class."""
    return not isinstance(v, type) and not hasattr(v, "__code__") and \
        not type(v).__name__.endswith(("function", "method"))


def _checked_name(obj: Any) -> str:
    module = getattr(obj, "__module__", None) or ""
    name = f"{module}:{getattr(obj, '__qualname__', repr(obj))}"
    if not _allowed(module) or "<locals>" in name:
        raise TypeError(f"cannot export {name}: not a fakecmon world object")
    return name


_CONSTANTS: dict[int, str] = {}


def _constant_path(fn: Any) -> str:
    """Where a closure or lambda sits in a module's constant tables (``RUNTIME_FILES.3.4``):
    areas keep such functions in tables, and an object refers to one of them."""
    if id(fn) not in _CONSTANTS:
        for name, module in list(sys.modules.items()):
            if _allowed(name) and module is not None:
                for attr, value in vars(module).items():
                    if attr.isupper():
                        _index(value, f"{name}:{attr}", 3)
    if id(fn) not in _CONSTANTS:
        raise TypeError(f"cannot export {_name_of(fn)}: not in a table of a fakecmon module")
    return _CONSTANTS[id(fn)]


def _index(value: Any, path: str, depth: int) -> None:
    if callable(value) and not isinstance(value, type):
        _CONSTANTS.setdefault(id(value), path)
    elif depth and isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _index(item, f"{path}.{i}", depth - 1)
    elif depth and isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "." not in key:
                _index(item, f"{path}.{key}", depth - 1)


def _ordered(values: Any) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        return list(values)


class DecodeError(ValueError):
    """Saved data that does not make a world object; the loader adds file and line."""


class Decoder:
    """Builds the objects an ``Encoder`` wrote, for ``world``."""

    def __init__(self, world: "World") -> None:
        self.world = world
        self.ids: dict[int, Any] = {}

    def fail(self, cause: str) -> DecodeError:
        return DecodeError(cause)

    def decode(self, v: Any) -> Any:
        if isinstance(v, (*_SCALARS, float)):
            return v
        if isinstance(v, list):
            return [self.decode(x) for x in v]
        if not isinstance(v, dict):
            raise self.fail(f"unexpected value {v!r}")
        tags = [k for k in v if isinstance(k, str) and k.startswith("!")]
        if not tags:
            return {str(k): self.decode(x) for k, x in v.items()}
        tag = tags[0]
        handler = _TAGS.get(tag)
        if handler is None:
            raise self.fail(f"unknown tag '{tag}' (known: {', '.join(_TAGS)})")
        return handler(self, v)

    def _ident(self, v: dict[str, Any]) -> Any:
        inner = v.get("!value")
        n = v["!id"]
        # Containers and objects exist before their contents, so cycles load.
        if isinstance(inner, list):
            made: Any = []
            self.ids[n] = made
            made.extend(self.decode(x) for x in inner)
            return made
        if isinstance(inner, dict) and "!obj" in inner:
            return self._obj(inner, n)
        if isinstance(inner, dict) and ("!pairs" in inner or not any(
                isinstance(k, str) and k.startswith("!") for k in inner)):
            made = {}
            self.ids[n] = made
            made.update(self.decode(inner) if "!pairs" not in inner else
                        self._pairs(inner))
            return made
        self.ids[n] = value = self.decode(inner)
        return value

    def _ref(self, v: dict[str, Any]) -> Any:
        n = v["!ref"]
        if n not in self.ids:
            raise self.fail(f"reference !ref {n} before its !id")
        return self.ids[n]

    def _pairs(self, v: dict[str, Any]) -> dict[Any, Any]:
        pairs = v["!pairs"]
        if not isinstance(pairs, list) or not all(
                isinstance(p, list) and len(p) == 2 for p in pairs):
            raise self.fail("!pairs must be a list of [key, value]")
        return {_hashable(self.decode(k)): self.decode(x) for k, x in pairs}

    def _obj(self, v: dict[str, Any], ident: int | None = None) -> Any:
        cls = self._resolve(v["!obj"])
        if not isinstance(cls, type) or issubclass(cls, BaseException):
            raise self.fail(f"'{v['!obj']}' is not a world object class")
        obj = cls.__new__(cls)
        if ident is not None:
            self.ids[ident] = obj
        for name, raw in v.items():
            if name != "!obj":
                object.__setattr__(obj, str(name), self.decode(raw))
        return obj

    def _resolve(self, name: Any) -> Any:
        if not isinstance(name, str) or ":" not in name:
            raise self.fail(f"bad name {name!r} (module:qualname)")
        module, qualname = name.split(":", 1)
        if not _allowed(module) or "<" in qualname:
            raise self.fail(f"'{name}' is not part of fakecmon's world")
        try:
            found: Any = importlib.import_module(module)
            for part in qualname.split("."):
                found = getattr(found, part)
        except (ImportError, AttributeError):
            raise self.fail(f"'{name}' does not exist in this fakecmon") from None
        return found

    def _fn(self, v: dict[str, Any]) -> Callable[..., Any]:
        fn = self._resolve(v["!fn"])
        if isinstance(fn, type) or not callable(fn):
            raise self.fail(f"'{v['!fn']}' is not a function")
        return fn

    def _const(self, v: dict[str, Any]) -> Any:
        path = v["!const"]
        if not isinstance(path, str):
            raise self.fail(f"bad !const {path!r}")
        module, _, rest = path.partition(":")
        head, *steps = rest.split(".")
        if not head.isupper():
            raise self.fail(f"'{path}' is not in a table of a fakecmon module")
        found = self._resolve(f"{module}:{head}")
        try:
            for step in steps:
                found = found[int(step)] if isinstance(found, (list, tuple)) else found[step]
        except (KeyError, IndexError, ValueError, TypeError):
            raise self.fail(f"'{path}' does not exist in this fakecmon") from None
        if not callable(found):
            raise self.fail(f"'{path}' is not a function")
        return found

    def _method(self, v: dict[str, Any]) -> Any:
        owner, name = v["!method"]
        method = getattr(self.decode(owner), name, None) if isinstance(name, str) else None
        if not callable(method):
            raise self.fail(f"no method '{name}'")
        return method

    def _core(self, table: str, key: Any) -> Any:
        found = getattr(self.world, table).get(key)
        if found is None:
            raise self.fail(f"no {table[:-1]} with id {key!r}")
        return found

    def _host(self, v: dict[str, Any]) -> Any:
        cid, index = v["!host"]
        cluster = self._core("clusters", cid)
        if not isinstance(index, int) or not 0 <= index < len(cluster.hosts):
            raise self.fail(f"cluster {cid} has no host number {index}")
        return cluster.hosts[index]

    def _float(self, v: dict[str, Any]) -> float:
        try:
            return float(v["!float"])
        except (TypeError, ValueError):
            raise self.fail(f"bad !float {v['!float']!r}") from None


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(x) for x in value)
    return value


_TAGS: dict[str, Callable[[Decoder, dict[str, Any]], Any]] = {
    "!id": Decoder._ident,
    "!ref": Decoder._ref,
    "!obj": Decoder._obj,
    "!pairs": Decoder._pairs,
    "!tuple": lambda d, v: tuple(d.decode(x) for x in v["!tuple"]),
    "!set": lambda d, v: {_hashable(x) for x in d.decode(v["!set"])},
    "!frozenset": lambda d, v: frozenset(_hashable(x) for x in d.decode(v["!frozenset"])),
    "!deque": lambda d, v: collections.deque(d.decode(v["!deque"]), v.get("maxlen")),
    "!fn": Decoder._fn,
    "!const": Decoder._const,
    "!method": Decoder._method,
    "!float": Decoder._float,
    "!bytes": lambda d, v: base64.b64decode(str(v["!bytes"]), validate=True),
    "!world": lambda d, v: d.world,
    "!user": lambda d, v: d._core("users", v["!user"]),
    "!group": lambda d, v: d._core("groups", v["!group"]),
    "!cluster": lambda d, v: d._core("clusters", v["!cluster"]),
    "!host": Decoder._host,
}
