"""Comparing two replies by shape: which keys each has, and the JSON type of every value.

Values differ between any two controllers (ids, times, names); what a client's
decoder cares about is the shape. ``fakecmon diff`` reports these differences
between a recorded CMON reply and fakecmon's; fakecmon's own tests compare with
the captured CMON replies the same way.
"""

from __future__ import annotations

from typing import Any

from fakecmon.contract import json_type

#: Added by s9s to the captures it records; no controller sends it.
CLIENT_ONLY = frozenset({"reply_received"})
#: Objects whose keys are whatever a client put there (a job's data): their keys are
#: data, not shape.
FREE_FORM = frozenset({"job_data"})


def _compatible(ours: str, theirs: str) -> bool:
    """A whole number where CMON wrote a double is the same number to every client."""
    return ours == theirs or (ours, theirs) == ("integer", "number")


def type_mismatches(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Every place where both documents have a value and the JSON types differ.

    Each item of our lists must have the shape of some item of CMON's list (of the
    same ``class_name`` where items have one: hosts of several classes differ); a
    whole number where CMON wrote a double, or anything where CMON wrote ``null``,
    is no mismatch.
    """
    return [d for d in shape_diff(ours, theirs, path, keys=False)]


def shape_diff(ours: Any, theirs: Any, path: str = "", *, keys: bool = True) -> list[str]:
    """Every shape difference of ``ours`` from ``theirs`` (CMON's), at every depth:
    ``missing`` keys (CMON has them, we do not), ``extra`` keys (we have them, CMON
    does not) and JSON type changes. ``keys=False`` reports type changes only."""
    if theirs is None:
        return []
    ours_t, theirs_t = json_type(ours), json_type(theirs)
    if not _compatible(ours_t, theirs_t):
        return [f"{path or '.'}: {ours_t} where CMON has {theirs_t}"]
    out: list[str] = []
    if isinstance(ours, dict):
        if keys and path.rsplit(".", 1)[-1] not in FREE_FORM:
            out += [f"{path}.{k}: missing (CMON has {json_type(theirs[k])})"
                    for k in sorted(theirs.keys() - ours.keys() - CLIENT_ONLY)]
            out += [f"{path}.{k}: extra ({json_type(ours[k])}, CMON has none)"
                    for k in sorted(ours.keys() - theirs.keys() - CLIENT_ONLY)]
        for key in sorted(ours.keys() & theirs.keys()):
            out += shape_diff(ours[key], theirs[key], f"{path}.{key}", keys=keys)
    elif isinstance(ours, list) and theirs:
        for i, item in enumerate(ours):
            out += _item_diff(item, theirs, f"{path}[{i}]", keys)
    return out


def _item_diff(item: Any, theirs: list[Any], path: str, keys: bool) -> list[str]:
    """No difference if some captured item of the same class has the same shape; else
    the differences from the closest one."""
    cls = item.get("class_name") if isinstance(item, dict) else None
    candidates = [t for t in theirs if isinstance(t, dict) and t.get("class_name") == cls]
    best: list[str] | None = None
    for candidate in candidates or theirs:
        found = shape_diff(item, candidate, path, keys=keys)
        if not found:
            return []
        if best is None or len(found) < len(best):
            best = found
    return best or []
