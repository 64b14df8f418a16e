"""What fakecmon answers, against what clients are known to send (``fakecmon operations``).

Every registered operation is listed by path and marked *stateful* (it reads and
changes the world) or *world-data* (values derived from the world, such as
statistics). With the client contract's ``operations.tsv`` at hand, the
operations clients send that fakecmon does not answer yet are listed too; those
get CMON's unknown-operation reply.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from fakecmon.rpc import OPERATIONS, Operation

#: ``../shared/contract/operations.tsv`` next to a checkout of this repository.
DEFAULT_CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "contract" / "operations.tsv"
MARKS = {"stateful": "S", "world-data": "W"}


@dataclass(frozen=True)
class Wanted:
    """One (path, operation) a client is known to send, and who sends it."""

    path: str
    name: str
    used_by: str


def answered() -> dict[str, list[Operation]]:
    """Registered operations by path, both sorted (case-insensitively)."""
    import fakecmon.controller  # noqa: F401  (imports every fakecmon.api module)

    return {path: sorted(ops.values(), key=lambda o: o.name.lower())
            for path, ops in sorted(OPERATIONS.items()) if ops}


def contract(tsv: Path) -> list[Wanted]:
    """The (path, operation) rows of ``operations.tsv``."""
    with tsv.open(newline="", encoding="utf-8") as f:
        rows = csv.DictReader(f, delimiter="\t")
        return [Wanted(r["path"].rstrip("/"), r["operation"], r.get("used_by") or "")
                for r in rows if r.get("path") and r.get("operation")]


def unanswered(wanted: list[Wanted], ops: dict[str, list[Operation]]) -> list[Wanted]:
    """The wanted operations no handler answers (names match case-insensitively, as in CMON)."""
    have = {(path, op.name.lower()) for path, group in ops.items() for op in group}
    return [w for w in wanted if (w.path, w.name.lower()) not in have]


def render_text(ops: dict[str, list[Operation]], missing: list[Wanted] | None,
                source: Path | None = None) -> str:
    total = sum(len(group) for group in ops.values())
    lines = [f"fakecmon answers {total} operations on {len(ops)} paths "
             f"(S = stateful, W = world-data; * = no login needed):"]
    for path, group in ops.items():
        lines.append(f"  {path}")
        for op in group:
            lines.append(f"    {MARKS.get(op.kind, '?')} {op.name}{'' if op.login else ' *'}")
    lines.append("")
    if missing is None:
        lines.append("operations.tsv of the client contract was not found: nothing to compare.")
    elif not missing:
        lines.append(f"Every operation of {source or 'operations.tsv'} is answered.")
    else:
        lines.append(f"Not answered yet ({len(missing)} of {source or 'operations.tsv'}; "
                     f"CMON's unknown-operation reply):")
        for w in missing:
            lines.append(f"    {w.path} {w.name}  [{w.used_by}]")
    return "\n".join(lines) + "\n"


def render_markdown(ops: dict[str, list[Operation]], missing: list[Wanted] | None) -> str:
    """The README table: one row per path; *W* marks world-data operations."""
    lines = ["| Path | Operations (stateful; *W* = world-data; † = no login) |", "|---|---|"]
    for path, group in ops.items():
        names = [f"{op.name}{'' if op.kind == 'stateful' else ' *W*'}{'' if op.login else ' †'}"
                 for op in group]
        lines.append(f"| `{path}` | {', '.join(names)} |")
    if missing:
        lines += ["", "Not answered (CMON's unknown-operation reply):", "",
                  "| Path | Operations |", "|---|---|"]
        by_path: dict[str, list[str]] = {}
        for w in missing:
            by_path.setdefault(w.path, []).append(w.name)
        lines += [f"| `{p}` | {', '.join(names)} |" for p, names in sorted(by_path.items())]
    return "\n".join(lines) + "\n"


def report(tsv: Path | None = None, markdown: bool = False) -> str:
    ops = answered()
    source = tsv or DEFAULT_CONTRACT
    missing = unanswered(contract(source), ops) if source.is_file() else None
    return render_markdown(ops, missing) if markdown else render_text(ops, missing, source)
