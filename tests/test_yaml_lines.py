"""The line-by-line reader of world files gives exactly what libyaml gives, or gives up.

``fakecmon.world.yamllines`` reads the plain subset of YAML world files are written in
without libyaml's per-event objects. It must never give a different value, nor accept
a text libyaml refuses or reads with a duplicate key (the error would then not name
the line): random documents built from YAML's tricky pieces check both, against
PyYAML's safe loader.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakecmon.world import yamllines
from fakecmon.world.generate import Shape, write

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

#: Scalars whose meaning YAML 1.1 decides: words, numbers, dates, nulls, near misses.
SCALARS = ["a", "word", "two words", "yes", "No", "ON", "off", "true", "False", "null",
           "Null", "~", "0", "7", "010", "0x1F", "0b11", "1_000", "-3", "+4", "3.5", ".5",
           ".inf", "-.inf", ".nan", "1e3", "1.5e3", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
           "10.0.0.1", "-3h", "a-b", "a.b", "x@y.z", "/var/lib", "~x", "-", "- x", "a b ",
           " a", '"quoted"', '"with #"', '"a, b"', '"esc\\n"', "'single'", "a:b", "a: b",
           "a #c", "a#b", "&anchor x", "*alias", "!tag x", "|", ">", "[x]", "{}", "[]",
           "%x", "@x", "`x", "?", "? x", ":", "=", "<<", "1:30", "é", "x\t", "0o17"]
KEYS = ["k", "key", "job_id", "yes", "null", "on", "a1", "_x", "1", "k k", "<<", '"q"',
        "x-y", "é"]


#: Those the line reader reads (drawn more often, so that documents stay in the subset).
PLAIN = [s for s in SCALARS if s[:1].isalnum() and not set(s) & set(":#,[]{}'\"\t ")]


@functools.lru_cache(maxsize=None)
def scalar() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(PLAIN), st.sampled_from(PLAIN),
                     st.sampled_from(SCALARS))


@functools.lru_cache(maxsize=None)
def flow(depth: int = 0) -> st.SearchStrategy[str]:
    if depth >= 1:
        return scalar() if depth >= 2 else st.one_of(scalar(), scalar(), flow(2).map(
            lambda v: f"[{v}]"), st.tuples(st.sampled_from(KEYS), scalar()).map(
            lambda t: f"{{{t[0]}: {t[1]}}}"))
    item = st.deferred(lambda: flow(depth + 1))
    pair = st.tuples(st.sampled_from(KEYS), st.sampled_from([": ", ":", ":  "]), item)
    sep = st.sampled_from([", ", ",", " , ", ",  "])
    mapping = st.tuples(st.lists(pair, max_size=4), sep).map(
        lambda t: "{" + t[1].join(k + c + v for k, c, v in t[0]) + "}")
    sequence = st.tuples(st.lists(item, max_size=4), sep).map(
        lambda t: "[" + t[1].join(t[0]) + "]")
    return st.one_of(scalar(), mapping, sequence)


@functools.lru_cache(maxsize=None)
def block(depth: int, indent: int) -> st.SearchStrategy[list[str]]:
    """Lines of a block mapping or sequence at ``indent`` (valid YAML structure)."""
    pad = " " * indent
    key = st.sampled_from(KEYS[:6] * 3 + KEYS)
    nested = (st.deferred(lambda: block(depth + 1, indent + 2)) if depth < 2
              else flow().map(lambda v: [f"{pad}  {v}"]))
    entry = st.one_of(
        st.tuples(key, flow()).map(lambda t: [f"{pad}{t[0]}: {t[1]}"]),
        st.tuples(key, nested).map(lambda t: [f"{pad}{t[0]}:", *t[1]]),
        st.tuples(key, st.lists(flow(), min_size=1, max_size=3)).map(   # same-indent list
            lambda t: [f"{pad}{t[0]}:", *[f"{pad}- {v}" for v in t[1]]]))
    item = st.one_of(
        flow().map(lambda v: [f"{pad}- {v}"]),
        st.tuples(key, flow(), st.lists(st.tuples(key, flow()), max_size=3)).map(
            lambda t: [f"{pad}- {t[0]}: {t[1]}", *[f"{pad}  {k}: {v}" for k, v in t[2]]]))
    return st.one_of(st.lists(entry, min_size=1, max_size=4),
                     st.lists(item, min_size=1, max_size=4)).map(
        lambda groups: [line for g in groups for line in g])


@st.composite
def documents(draw: Any) -> str:
    """A block document, then a few of YAML's accidents: comments, stray spaces or
    tabs, a line moved by one column, a character that means something."""
    lines = draw(block(0, 0))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(lines) - 1))
        accident = draw(st.sampled_from(["comment line", "trailing comment", "blank",
                                         "space", "tab", "shift", "junk"]))
        if accident == "comment line":
            lines.insert(at, " " * draw(st.integers(0, 4)) + "# note: {x}")
        elif accident == "trailing comment":
            lines[at] += draw(st.sampled_from([" # c", "  #c", "#c"]))
        elif accident == "blank":
            lines.insert(at, "")
        elif accident == "space":
            lines[at] += " "
        elif accident == "tab":
            lines[at] += "\t"
        elif accident == "shift":
            lines[at] = " " + lines[at]
        else:
            pos = draw(st.integers(0, len(lines[at])))
            lines[at] = lines[at][:pos] + draw(st.sampled_from(list(":#,[]{}-&*!|>'\"%@? "))) \
                + lines[at][pos:]
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))


class _Strict(yaml.SafeLoader):
    """PyYAML's safe loader that refuses duplicate keys, as world files do."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        keys = [self.construct_object(k, deep=True) for k, _ in node.value]
        try:
            if len(set(keys)) != len(keys):
                raise yaml.constructor.ConstructorError(None, None, "duplicate key",
                                                        node.start_mark)
        except TypeError:    # an unhashable key: libyaml's own error follows
            pass
        return super().construct_mapping(node, deep=deep)


def same_or_unsupported(text: str) -> bool:
    """True when the line reader read it (and agreed), False when it gave up."""
    try:
        ours = yamllines.parse(text)
    except yamllines.Unsupported:
        return False
    theirs = yaml.load(text, Loader=_Strict)  # noqa: S506 (a SafeLoader); must not raise
    assert repr(ours) == repr(theirs) and ours == theirs, text
    return True


@settings(max_examples=800, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(documents())
def test_random_documents_read_the_same_or_not_at_all(text):
    same_or_unsupported(text)


def test_enough_random_documents_are_read_by_the_line_reader():
    """The generator reaches the subset, not only its refusals."""
    read = 0

    @settings(max_examples=300, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(documents())
    def count(text: str) -> None:
        nonlocal read
        read += same_or_unsupported(text)

    count()
    assert read > 50


@pytest.mark.parametrize("text", [
    "a: 1\na: 2\n", "- {a: 1, a: 2}\n", "k: [a, {b: 1, b: 2}]\n",   # duplicate keys
    "a:\n  b: 1\n c: 2\n", "- a\n - b\n", "a: b\n  c\n", "a:\n  hello\n",  # indentation
    "a: {b: 1\n", "a: [1, 2\n", "a: {b: 1,}\n", "a: 'x'\n", "a: \"x\\ty\"\n",
    "a: &x 1\nb: *x\n", "a: !!str 1\n", "<<: {a: 1}\n", "--- \na: 1\n", "a: 1\n...\n",
    "a: |\n  x\n", "? a\n: b\n", "a:\tb\n", "a: b # c\n  d\n",
])
def test_texts_outside_the_subset_are_left_to_libyaml(text):
    with pytest.raises(yamllines.Unsupported):
        yamllines.parse(text)


def test_world_files_are_read_the_same(tmp_path):
    big = tmp_path / "world.yaml"
    write(Shape(clusters=30, hosts=3, jobs=500, users=40, backups=20, alarms=10, seed=3), big)
    for path in [big, *FIXTURES.glob("*.yaml")]:
        text = path.read_text()
        try:
            ours = yamllines.parse(text)
        except yamllines.Unsupported:
            assert path.parent == FIXTURES, f"{path.name}: the generated world is in the subset"
            continue
        assert ours == yaml.safe_load(text)
    assert yamllines.parse(big.read_text())["jobs"][0]["job_id"] == 1
