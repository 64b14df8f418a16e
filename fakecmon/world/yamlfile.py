"""Read YAML world files keeping line numbers, so a broken fixture names its place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class WorldError(Exception):
    """A world file that cannot be loaded: says file, place and cause."""


class Node(dict):
    """A YAML mapping that remembers the line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]


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


def parse_yaml(text: str, path: Path) -> Node:
    """Parse world file text (``path`` names it in errors); the top level must be a mapping."""
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


def line_of(container: Any, key: Any) -> int:
    """Best known line of ``container[key]`` (0 when unknown)."""
    if isinstance(container, Node):
        return container.key_lines.get(key, container.line)
    if isinstance(container, NodeList) and isinstance(key, int) and key < len(container.item_lines):
        return container.item_lines[key]
    return getattr(container, "line", 0)
