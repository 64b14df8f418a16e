"""Read YAML world files fast, and with line numbers when something is wrong.

A world file is parsed into plain dicts and lists: line by line when it keeps to the
plain subset world files are written in (``fakecmon.world.yamllines``), else by
libyaml (PyYAML's C parser); a production-sized world needs either. Only when that parse or the world's
checks fail is the text read again with the line-tracking loader, so the error
names file, line and place exactly as it always has (``reparse_with_lines``).
"""

from __future__ import annotations

import gc
import hashlib
import marshal
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from fakecmon.world import yamllines


@contextmanager
def no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused while a world is read or built.

    Building millions of small objects triggers a collection every few hundred
    allocations, each walking everything built so far: a production-sized world
    then loads five times slower. Nothing built here is garbage until it is done.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class WorldError(Exception):
    """A world file that cannot be loaded: says file, place and cause."""


class Node(dict):
    """A YAML mapping that remembers the line of itself and of each key.

    The top level of a fast-parsed file is a Node without lines (its ``text`` is
    kept so that an error can be located by parsing it again with lines).
    """

    line: int = 0
    key_lines: dict[str, int] = {}
    text: str | None = None
    hollow = False
    #: Read for one build only (a big file, whose values ``light`` drops afterwards):
    #: loaders may let go of each entry once built, so that the memory of a hundred
    #: thousand parsed jobs is reused by the jobs themselves.
    disposable = False


class NodeList(list):
    line: int = 0
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Node:  # type: ignore[override]
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        result = Node(super().construct_mapping(node, deep=True))
        result.line = node.start_mark.line + 1
        result.key_lines = {
            self.construct_object(k, deep=True): k.start_mark.line + 1 for k, _ in node.value
        }
        return result

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> NodeList:  # type: ignore[override]
        result = NodeList(super().construct_sequence(node, deep=True))
        result.line = node.start_mark.line + 1
        result.item_lines = [n.start_mark.line + 1 for n in node.value]
        return result


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping)
_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _LineLoader.construct_sequence)


def read_yaml(path: Path) -> Node:
    """Parse one world file; the top level must be a mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorldError(f"{path}: cannot read the world file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise WorldError(f"{path}: the world file is not UTF-8: {exc}") from None
    return parse_yaml(text, path)


class _Slow(Exception):
    """The fast parse cannot give exactly what the line-tracking loader gives."""


_STR, _INT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int"
_MAP, _SEQ = yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG
_MERGE = "tag:yaml.org,2002:merge"


class _FastLoader(yaml.CSafeLoader):  # type: ignore[misc,name-defined]
    """libyaml's composer with a resolver that remembers the tag of each plain value
    (world files repeat the same words thousands of times) and no path resolvers."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._tags: dict[str, str] = {}

    def descend_resolver(self, *_: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return _STR
            tag = self._tags.get(value)
            if tag is None:
                tag = self._tags[value] = super().resolve(kind, value, implicit)
            return tag
        return _MAP if kind is yaml.MappingNode else _SEQ


def _fast_parse(text: str) -> Any:
    loader = _FastLoader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    if node is None:
        return None
    other = yaml.constructor.SafeConstructor()
    scalar, mapping = yaml.ScalarNode, yaml.MappingNode

    def build(n: Any) -> Any:
        cls = n.__class__
        if cls is scalar:
            if n.tag == _STR:
                return n.value
            if n.tag == _INT and n.value.isdigit() and (n.value[0] != "0" or n.value == "0"):
                return int(n.value)
            return other.construct_object(n, deep=True)
        if cls is mapping:
            if n.tag != _MAP:
                raise _Slow
            result = {}
            for k, v in n.value:
                if k.tag == _MERGE:
                    raise _Slow
                result[build(k)] = build(v)
            if len(result) != len(n.value):
                raise _Slow     # a duplicate key: the line loader says where
            return result
        if n.tag != _SEQ:
            raise _Slow
        return [build(x) for x in n.value]

    return build(node)


def _event_parse(text: str) -> Any:
    """Plain values straight from libyaml's events, without a node tree in between
    (half the memory of composing). Anchors, tags, merge keys, duplicate keys or
    several documents: _Slow, and the composing parse takes over."""
    loader = _FastLoader(text)
    resolve, tags = loader.resolve, loader._tags
    other = yaml.constructor.SafeConstructor()
    scalar_node = yaml.ScalarNode
    ScalarEvent, MappingStart, SequenceStart = (yaml.ScalarEvent, yaml.MappingStartEvent,
                                                yaml.SequenceStartEvent)
    EndEvents = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    get = loader.get_event
    try:
        get(), get()   # stream start, document start (or stream end)
        stack: list[Any] = []      # open containers: lists and _Maps
        root: Any = None
        while True:
            ev = get()
            cls = ev.__class__
            if cls is ScalarEvent:
                if ev.anchor is not None or ev.tag is not None:
                    raise _Slow
                value = ev.value
                if ev.implicit[0]:
                    tag = tags.get(value) or resolve(scalar_node, value, ev.implicit)
                    if tag == _STR:
                        pass
                    elif tag == _INT and value.isdigit() and (value[0] != "0" or value == "0"):
                        value = int(value)
                    elif tag == _MERGE:
                        raise _Slow
                    else:
                        value = other.construct_object(scalar_node(tag, value), deep=True)
            elif cls is MappingStart or cls is SequenceStart:
                if ev.anchor is not None or ev.tag is not None:
                    raise _Slow
                stack.append(_Map() if cls is MappingStart else [])
                continue
            elif cls in EndEvents:
                top = stack.pop()
                if top.__class__ is list:
                    value = top
                else:
                    value = top.items
                    if len(value) != top.count:
                        raise _Slow     # a duplicate key: the line loader says where
            else:
                raise _Slow     # an alias, or the document ended where it should not
            if not stack:
                root = value
                break
            parent = stack[-1]
            if parent.__class__ is list:
                parent.append(value)
            elif parent.key is _NO_KEY:
                parent.key = value
            else:
                parent.items[parent.key] = value
                parent.key = _NO_KEY
                parent.count += 1
        if not isinstance(get(), yaml.DocumentEndEvent) or not isinstance(
                get(), yaml.StreamEndEvent):
            raise _Slow     # more than one document: the loaders say so
        return root
    finally:
        loader.dispose()


_NO_KEY: Any = object()


class _Map:
    """A mapping being read: its items, the key waiting for its value, keys seen."""

    __slots__ = ("items", "key", "count")

    def __init__(self) -> None:
        self.items: dict[Any, Any] = {}
        self.key: Any = _NO_KEY
        self.count = 0


#: Files bigger than this have their parsed form cached (see ``_cached_parse``).
CACHE_ABOVE = 1024 * 1024


def cache_dir() -> Path:
    """``FAKECMON_CACHE_DIR``, else ``$XDG_CACHE_HOME/fakecmon/worlds`` (~/.cache)."""
    given = os.environ.get("FAKECMON_CACHE_DIR")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fakecmon" / "worlds"


def _cached_parse(text: str) -> Any:
    """Parse, keeping the result of a big file by the hash of its text.

    Even libyaml makes one Python object per event: a 10 MB world takes seconds to
    parse, every time the server starts. The parsed values of a file bigger than
    CACHE_ABOVE are kept (marshal, keyed by the SHA-256 of the text and the Python
    version), so the next start with the same text reads them back in a fraction of
    a second. Only a valid parse is kept; a changed file is a new key; a cache that
    cannot be read or written is ignored.
    """
    if len(text) <= CACHE_ABOVE:
        return _parse_fast(text)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    where = cache_dir() / f"{digest}-py{sys.version_info[0]}{sys.version_info[1]}.marshal"
    try:
        return marshal.loads(where.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        pass
    data = _parse_fast(text)
    try:
        blob = marshal.dumps(data)
        where.parent.mkdir(parents=True, exist_ok=True)
        part = where.with_suffix(f".{os.getpid()}.part")
        part.write_bytes(blob)
        part.replace(where)
    except (OSError, ValueError):   # a value marshal cannot write (dates), a read-only home
        pass
    return data


def _parse_fast(text: str) -> Any:
    """The plain subset world files are written in line by line (``yamllines``), else
    libyaml's events, else libyaml's node tree (anchors, tags, merge keys)."""
    try:
        return yamllines.parse(text)
    except yamllines.Unsupported:
        pass
    try:
        return _event_parse(text)
    except _Slow:
        return _fast_parse(text)


def parse_yaml(text: str, path: Path) -> Node:
    """Parse world file text (``path`` names it in errors); the top level must be a mapping."""
    try:
        with no_gc():
            data = _cached_parse(text)
    except Exception:  # noqa: BLE001 - any trouble: the line loader gives the exact error
        return parse_yaml_with_lines(text, path)
    if data is None:
        return Node()
    if not isinstance(data, dict):
        return parse_yaml_with_lines(text, path)
    top = Node(data)
    top.text = text
    return top


def parse_yaml_with_lines(text: str, path: Path) -> Node:
    """Parse with a line for every mapping, key and list item (slow: for errors)."""
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 (SafeLoader subclass)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        cause = exc.problem or str(exc)
        if exc.context:
            cause = f"{exc.context}: {cause}"
        raise WorldError(f"{path}: {where}: YAML syntax error: {cause}") from None
    except yaml.YAMLError as exc:
        raise WorldError(f"{path}: YAML error: {exc}") from None
    if data is None:
        data = Node()
    if not isinstance(data, Node):
        raise WorldError(f"{path}: line 1: the top level must be a mapping of sections, "
                         f"not {'a list' if isinstance(data, list) else type(data).__name__}")
    return data


#: Parsed files bigger than this are kept as their text once the world is built.
LIGHT_ABOVE = 256 * 1024


def light(data: Node) -> Node:
    """``data``, or for a big fast-parsed file an empty Node keeping only its text
    (``materialize`` parses it again when the files are applied once more)."""
    if data.text is None or len(data.text) <= LIGHT_ABOVE:
        return data
    hollow = Node()
    hollow.text = data.text
    hollow.hollow = True
    return hollow


def materialize(path: Path, data: Node) -> Node:
    if not data.hollow:
        return data
    fresh = parse_yaml(data.text or "", path)
    fresh.disposable = fresh.text is not None
    return fresh


def for_one_build(data: Node) -> Node:
    """``data``, marked disposable when ``light`` will keep only its text."""
    if data.text is not None and len(data.text) > LIGHT_ABOVE:
        data.disposable = True
    return data


def reparse_with_lines(files: list[tuple[Path, Node]]) -> list[tuple[Path, Node]] | None:
    """The same files parsed with lines (None when every file already has them)."""
    if all(data.text is None for _, data in files):
        return None
    return [(p, parse_yaml_with_lines(data.text, p) if data.text is not None else data)
            for p, data in files]


def line_of(container: Any, key: Any) -> int:
    """Best known line of ``container[key]`` (0 when unknown)."""
    if isinstance(container, Node):
        return container.key_lines.get(key, container.line)
    if isinstance(container, NodeList) and isinstance(key, int) and key < len(container.item_lines):
        return container.item_lines[key]
    return getattr(container, "line", 0)
