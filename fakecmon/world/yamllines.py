"""World files in the plain subset of YAML they are written in, read line by line.

libyaml makes a Python event object per scalar and per bracket, and a production-sized
world file (``fakecmon world generate``: a hundred thousand one-line jobs) is millions
of them: seconds before the world can be built. Generated and hand-written world files
keep to a small subset: block mappings and sequences by indentation, one-line flow
mappings and lists (``- {job_id: 1, status: FINISHED, tags: [a, b]}``), plain words
and numbers, double-quoted texts without escapes, whole-line or trailing comments.
That subset is read here with a few regular expressions per line, and each plain
scalar is resolved by PyYAML's own resolver and constructor (so ``yes``, ``~``,
``0x1F``, ``1_000``, dates... mean exactly what they mean to libyaml).

Anything else (anchors, tags, quotes with escapes, multi-line values, tabs, a
duplicate key, an indentation this reader does not follow...) raises ``Unsupported``
and the caller parses the text with libyaml: this reader never gives a different
value, it only gives up.
"""

from __future__ import annotations

import re
from itertools import repeat
from typing import Any

import yaml

_STR, _INT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int"

_KEY = r"[A-Za-z_][A-Za-z0-9_]*"
#: A plain scalar: no indicator first, no ``:``, ``#``, ``,``, brackets or quotes
#: anywhere, no ``- `` start, no space at either end.
_PLAIN = r"(?!-(?: |$))[A-Za-z0-9_./+~-](?:[A-Za-z0-9_./+@~ -]*[A-Za-z0-9_./+@~-])?"
_PLAIN_RE = re.compile(_PLAIN)
_KEY_RE = re.compile(_KEY)
_ENTRY_RE = re.compile(rf"({_KEY}):(?: +(.*))?")
_QUOTED_RE = re.compile(r'"([^"\\]*)"')
#: The common line: a flow mapping of plain keys and plain values.
_SIMPLE_MAP_RE = re.compile(rf"\{{ *({_KEY}: +{_PLAIN}(?: *, +{_KEY}: +{_PLAIN})*) *\}}")
_SPLIT_RE = re.compile(r": +| *, +")
#: What YAML does not allow in a text or reads as a line break (the reader gives up).
_SPECIAL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff\t]")
_FLOW_TOKEN = re.compile(rf' *(?:([\[\]{{}},])|(: )|"([^"\\]*)"|({_PLAIN})) *')


class Unsupported(Exception):
    """The text is outside the subset: parse it with libyaml."""


class _Scalars:
    """Plain scalars to values, as libyaml's resolver and SafeConstructor make them;
    each distinct text is resolved once (world files repeat the same words), and
    equal texts give one shared value."""

    def __init__(self) -> None:
        self.resolver = yaml.resolver.Resolver()
        self.constructor = yaml.constructor.SafeConstructor()
        self.known: dict[str, Any] = {}

    def value(self, text: str) -> Any:
        tag = self.resolver.resolve(yaml.ScalarNode, text, (True, False))
        if tag == _STR:
            value: Any = text
        elif tag == _INT and text.isdigit() and (text[0] != "0" or text == "0"):
            value = int(text)
        elif tag == "tag:yaml.org,2002:merge":
            raise Unsupported
        else:
            value = self.constructor.construct_object(yaml.ScalarNode(tag, text), deep=True)
        self.known[text] = value
        return value


_MISSING: Any = object()


class _Reader:
    def __init__(self, rows: list[tuple[int, str]]) -> None:
        self.rows = rows
        self.scalars = _Scalars()
        self.known = self.scalars.known

    def scalar(self, text: str) -> Any:
        value = self.known.get(text, _MISSING)
        if value is _MISSING:
            if text.isdigit() and (text[0] != "0" or text == "0"):
                return int(text)      # what the resolver says of such digits, sooner
            value = self.scalars.value(text)
        return value

    # ---- block structure

    def node(self, i: int) -> tuple[Any, int]:
        indent, content = self.rows[i]
        if content[:2] == "- " or content == "-":
            return self.sequence(i, indent)
        return self.mapping(i, indent)

    def mapping(self, i: int, indent: int) -> tuple[dict[Any, Any], int]:
        rows, result = self.rows, {}
        while i < len(rows) and rows[i][0] == indent:
            found = _ENTRY_RE.fullmatch(rows[i][1])
            if found is None:
                raise Unsupported
            key = self.scalar(found.group(1))
            if key in result:
                raise Unsupported     # a duplicate key: the line loader says where
            rest = found.group(2)
            i += 1
            if rest:
                result[key] = self.inline(rest)
            elif i < len(rows) and (rows[i][0] > indent or (
                    rows[i][0] == indent and rows[i][1][:2] == "- ")):
                result[key], i = self.node(i)
            else:
                result[key] = None
        if i < len(rows) and rows[i][0] > indent:
            raise Unsupported
        return result, i

    def sequence(self, i: int, indent: int) -> tuple[list[Any], int]:
        rows, result = self.rows, []
        while i < len(rows) and rows[i][0] == indent and rows[i][1][:2] == "- ":
            rest = rows[i][1][2:]
            inner = rest.lstrip(" ")
            if inner[:2] == "- " or inner == "-" or not inner:
                raise Unsupported
            if _ENTRY_RE.match(inner) and _ENTRY_RE.fullmatch(inner):
                # ``- key: value`` opens a block mapping at the column of ``key``
                column = indent + 2 + len(rest) - len(inner)
                rows[i] = (column, inner)
                value, i = self.mapping(i, column)
            else:
                value = self.inline(inner)
                i += 1
            result.append(value)
        if i < len(rows) and (rows[i][0] > indent or rows[i][1] == "-"):
            raise Unsupported
        return result, i

    # ---- one line's value

    def inline(self, text: str) -> Any:
        first = text[0]
        if first == "{":
            simple = _SIMPLE_MAP_RE.fullmatch(text)
            if simple is not None:
                # keys and values in turn; known texts looked up in C, the rest resolved
                inner = simple.group(1)
                if "  " in inner or " ," in inner:
                    texts = _SPLIT_RE.split(inner)
                else:   # one space after each separator (no text holds ',' or ':')
                    texts = inner.replace(", ", ": ").split(": ")
                values = list(map(self.known.get, texts, repeat(_MISSING)))
                if _MISSING in values:
                    scalar = self.scalar
                    values = [scalar(t) if v is _MISSING else v
                              for t, v in zip(texts, values)]
                result = dict(zip(values[::2], values[1::2]))
                if 2 * len(result) != len(values):
                    raise Unsupported     # a duplicate key
                return result
            return self.flow(text)
        if first == "[":
            return self.flow(text)
        if first == '"':
            quoted = _QUOTED_RE.fullmatch(text)
            if quoted is None:
                raise Unsupported
            return quoted.group(1)
        if _PLAIN_RE.fullmatch(text) is None:
            raise Unsupported
        return self.scalar(text)

    def flow(self, text: str) -> Any:
        tokens: list[tuple[str, str, str, str]] = []
        end = 0
        for m in _FLOW_TOKEN.finditer(text):
            if m.start() != end or m.end() == m.start():
                raise Unsupported
            end = m.end()
            tokens.append(m.groups(""))  # type: ignore[arg-type]
        if end != len(text):
            raise Unsupported
        value, at = self.flow_value(tokens, 0)
        if at != len(tokens):
            raise Unsupported
        return value

    def flow_value(self, tokens: list[tuple[str, str, str, str]], at: int) -> tuple[Any, int]:
        if at >= len(tokens):
            raise Unsupported
        bracket, colon, quoted, plain = tokens[at]
        if bracket == "{":
            return self.flow_mapping(tokens, at + 1)
        if bracket == "[":
            return self.flow_sequence(tokens, at + 1)
        if bracket or colon:
            raise Unsupported
        if plain:
            return self.scalar(plain), at + 1
        return quoted, at + 1

    def flow_mapping(self, tokens: list[tuple[str, str, str, str]],
                     at: int) -> tuple[dict[Any, Any], int]:
        result: dict[Any, Any] = {}
        if at < len(tokens) and tokens[at][0] == "}":
            return result, at + 1
        while True:
            if at + 1 >= len(tokens) or not _KEY_RE.fullmatch(tokens[at][3]) \
                    or not tokens[at + 1][1]:
                raise Unsupported
            key = self.scalar(tokens[at][3])
            if key in result:
                raise Unsupported
            result[key], at = self.flow_value(tokens, at + 2)
            if at >= len(tokens):
                raise Unsupported
            if tokens[at][0] == "}":
                return result, at + 1
            if tokens[at][0] != ",":
                raise Unsupported
            at += 1

    def flow_sequence(self, tokens: list[tuple[str, str, str, str]],
                      at: int) -> tuple[list[Any], int]:
        result: list[Any] = []
        if at < len(tokens) and tokens[at][0] == "]":
            return result, at + 1
        while True:
            value, at = self.flow_value(tokens, at)
            result.append(value)
            if at >= len(tokens):
                raise Unsupported
            if tokens[at][0] == "]":
                return result, at + 1
            if tokens[at][0] != ",":
                raise Unsupported
            at += 1


def _rows(text: str) -> list[tuple[int, str]]:
    """(indent, content) of every line that holds something, comments cut off."""
    if _SPECIAL_RE.search(text):
        raise Unsupported
    rows = []
    for line in text.split("\n"):
        content = line.lstrip(" ")
        if not content or content[0] == "#":
            continue
        indent = len(line) - len(content)
        if "#" in content:
            if '"' in content:
                raise Unsupported
            cut = content.find(" #")
            if cut < 0:
                raise Unsupported
            content = content[:cut]
        rows.append((indent, content.rstrip(" ")))
    return rows


def parse(text: str) -> Any:
    """The values of ``text`` as libyaml's safe loader gives them, or ``Unsupported``."""
    rows = _rows(text)
    if not rows:
        return None
    reader = _Reader(rows)
    value, end = reader.node(0)
    if end != len(rows):
        raise Unsupported
    return value
