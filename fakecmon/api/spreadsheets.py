"""/v2/spreadsheets: small spreadsheets kept by the controller (``s9s sheet``).

Sheets belong to a cluster (or to the controller, cluster 0) and live in the
world (``world.extensions["spreadsheets"]``). A cell holds what was typed
(``contentString``) and its value: a number, a string, or the result of a
formula (``=A1+B2*2``, ``=SUM(A1:A3)``, also AVERAGE, MIN, MAX, COUNT), which is
computed again whenever the sheet is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fakecmon import permissions
from fakecmon.errors import invalid, not_found
from fakecmon.rpc import Call, Payload, operation
from fakecmon.timefmt import rfc3339
from fakecmon.world.state import World

PATH = "/v2/spreadsheets"
MAX_INDEX = 10_000
Key = tuple[int, int, int]          # sheet, column, row


@dataclass
class Spreadsheet:
    id: int
    name: str
    cluster_id: int
    cells: dict[Key, str] = field(default_factory=dict)
    created: float = 0.0

    def to_json(self, with_cells: bool = True) -> dict[str, Any]:
        doc: dict[str, Any] = {"class_name": "CmonSpreadsheet", "id": self.id, "name": self.name,
                               "cluster_id": self.cluster_id, "created": rfc3339(self.created)}
        if with_cells:
            doc["cells"] = [cell_json(self, key) for key in sorted(self.cells)]
        return doc


@dataclass
class Sheets:
    next_id: int = 1
    items: dict[tuple[int, str], Spreadsheet] = field(default_factory=dict)


def sheets(world: World) -> Sheets:
    return world.extensions.setdefault("spreadsheets", Sheets())


# ---- values and formulas

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?|\.\d+)|([A-Za-z]+\d+(?::[A-Za-z]+\d+)?)|"
                    r"([A-Za-z]+)\s*\(|(.))")
FUNCTIONS = {"SUM": sum, "MIN": min, "MAX": max, "COUNT": len,
             "AVERAGE": lambda v: sum(v) / len(v) if v else 0.0}
FUNCTIONS["AVG"] = FUNCTIONS["AVERAGE"]


class FormulaError(Exception):
    pass


def ref(text: str) -> tuple[int, int]:
    """``B3`` -> (column 1, row 2), zero-based."""
    m = re.fullmatch(r"([A-Za-z]+)(\d+)", text)
    if not m or int(m[2]) < 1:
        raise FormulaError(f"bad cell reference '{text}'")
    col = 0
    for ch in m[1].upper():
        col = col * 26 + (ord(ch) - 64)
    return col - 1, int(m[2]) - 1


class Formula:
    """A recursive-descent evaluator over cell values of one sheet (no Python eval)."""

    def __init__(self, sheet: Spreadsheet, index: int, text: str, depth: int) -> None:
        self.sheet, self.index, self.depth = sheet, index, depth
        self.tokens = self._lex(text)
        self.pos = 0

    @staticmethod
    def _lex(text: str) -> list[tuple[str, str]]:
        out, pos = [], 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if not m:
                raise FormulaError(f"cannot read '{text[pos:]}'")
            pos = m.end()
            if m[1]:
                out.append(("num", m[1]))
            elif m[2]:
                out.append(("ref", m[2]))
            elif m[3]:
                out.append(("fn", m[3].upper()))
            elif m[4].strip():
                out.append(("op", m[4]))
        return out

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def _take(self) -> tuple[str, str]:
        tok = self._peek()
        self.pos += 1
        return tok

    def evaluate(self) -> float:
        value = self._sum()
        if self._peek()[0] != "end":
            raise FormulaError(f"unexpected '{self._peek()[1]}'")
        return value

    def _sum(self) -> float:
        value = self._product()
        while self._peek() in (("op", "+"), ("op", "-")):
            value = value + self._product() if self._take()[1] == "+" else value - self._product()
        return value

    def _product(self) -> float:
        value = self._unary()
        while self._peek() in (("op", "*"), ("op", "/")):
            if self._take()[1] == "*":
                value *= self._unary()
            else:
                divisor = self._unary()
                if divisor == 0:
                    raise FormulaError("division by zero")
                value /= divisor
        return value

    def _unary(self) -> float:
        if self._peek() == ("op", "-"):
            self._take()
            return -self._unary()
        return self._atom()

    def _atom(self) -> float:
        kind, text = self._take()
        if kind == "num":
            return float(text)
        if kind == "ref" and ":" not in text:
            return self._number(*ref(text))
        if kind == "fn":
            if text not in FUNCTIONS:
                raise FormulaError(f"unknown function {text}")
            values = self._arguments()
            return float(FUNCTIONS[text](values))
        if (kind, text) == ("op", "("):
            value = self._sum()
            if self._take() != ("op", ")"):
                raise FormulaError("missing ')'")
            return value
        raise FormulaError(f"unexpected '{text or 'end'}'")

    def _arguments(self) -> list[float]:
        values: list[float] = []
        while True:
            kind, text = self._peek()
            if kind == "ref" and ":" in text:
                self._take()
                (c1, r1), (c2, r2) = (ref(p) for p in text.split(":"))
                for col in range(min(c1, c2), max(c1, c2) + 1):
                    for row in range(min(r1, r2), max(r1, r2) + 1):
                        if (self.index, col, row) in self.sheet.cells:
                            values.append(self._number(col, row))
            else:
                values.append(self._sum())
            sep = self._take()
            if sep == ("op", ")"):
                return values
            if sep not in (("op", ","), ("op", ";")):
                raise FormulaError("missing ')'")

    def _number(self, col: int, row: int) -> float:
        value = evaluate(self.sheet, (self.index, col, row), self.depth + 1)
        if isinstance(value, str):
            if value == "":
                return 0.0
            raise FormulaError(f"cell {col},{row} is not a number")
        return value


def evaluate(sheet: Spreadsheet, key: Key, depth: int = 0) -> float | str:
    """The value of a cell; formulas raise FormulaError (also on reference cycles)."""
    text = sheet.cells.get(key, "")
    if depth > 64:
        raise FormulaError("circular reference")
    if text.startswith("="):
        return Formula(sheet, key[0], text[1:], depth).evaluate()
    if _NUMBER.match(text.strip()):
        return float(text)
    return text


def cell_json(sheet: Spreadsheet, key: Key) -> dict[str, Any]:
    text = sheet.cells[key]
    try:
        value: Any = evaluate(sheet, key)
        kind = "Double" if isinstance(value, float) else "String"
    except FormulaError as exc:
        value, kind = f"#ERROR: {exc}", "Invalid"
    return {"sheetIndex": key[0], "columnIndex": key[1], "rowIndex": key[2],
            "contentString": text, "value": value, "valuetype": kind}


# ---- handlers

def _owner(call: Call, wanted: str) -> int:
    """The cluster the sheet belongs to (0: the controller), checked for ``wanted``."""
    user = call.login_user()
    cluster = call.cluster(required=False)
    cid = cluster.cluster_id if cluster is not None else 0
    permissions.check_cluster(call.world, user, cluster, cid, wanted)
    return cid


def _sheet(call: Call, cid: int) -> Spreadsheet:
    name = call.arg("spreadsheet_name", str)
    sheet = sheets(call.world).items.get((cid, name))
    if sheet is None:
        raise not_found(f"Spreadsheet '{name}' is not found.")
    return sheet


def _index(call: Call, name: str) -> int:
    value = call.arg(name, int)
    if not 0 <= value < MAX_INDEX:
        raise invalid(f"The '{name}' field must be between 0 and {MAX_INDEX - 1}.")
    return value


@operation(PATH, "createSpreadsheet")
def create_spreadsheet(call: Call) -> Payload:
    """A new sheet; ``content`` in ``format`` "csv" fills it (one line a row)."""
    cid = _owner(call, permissions.WRITE)
    name = call.arg("spreadsheet_name", str).strip()
    if not name or "/" in name:
        raise invalid(f"'{name}' is not a valid spreadsheet name.")
    state = sheets(call.world)
    if (cid, name) in state.items:
        raise invalid(f"Spreadsheet '{name}' already exists.")
    sheet = Spreadsheet(state.next_id, name, cid, created=call.now)
    content = call.arg("content", str, "")
    fmt = call.arg("format", str, "csv").lower()
    if content and fmt != "csv":
        raise invalid(f"Unknown spreadsheet format '{fmt}' (known: csv).")
    for row, line in enumerate(content.splitlines()):
        for col, text in enumerate(line.split(",")):
            if text.strip():
                sheet.cells[(0, col, row)] = text.strip()
    state.items[(cid, name)] = sheet
    state.next_id += 1
    return {"spreadsheet": sheet.to_json(with_cells=False)}


@operation(PATH, "getSpreadsheet")
def get_spreadsheet(call: Call) -> Payload:
    cid = _owner(call, permissions.READ)
    return {"spreadsheet": _sheet(call, cid).to_json()}


@operation(PATH, "getSpreadsheetNames")
def get_spreadsheet_names(call: Call) -> Payload:
    cid = _owner(call, permissions.READ)
    found = [s.to_json(with_cells=False) for (owner, _), s in sorted(sheets(call.world).items.items())
             if owner == cid]
    return {"total": len(found), "spreadsheets": found}


@operation(PATH, "setCell")
def set_cell(call: Call) -> Payload:
    """Type ``contentString`` into a cell (an empty string clears it)."""
    cid = _owner(call, permissions.WRITE)
    sheet = _sheet(call, cid)
    key = (_index(call, "sheetIndex"), _index(call, "columnIndex"), _index(call, "rowIndex"))
    text = call.arg("contentString", str, "")
    if text:
        sheet.cells[key] = text
        return {"cell": cell_json(sheet, key)}
    sheet.cells.pop(key, None)
    return {"cell": {"sheetIndex": key[0], "columnIndex": key[1], "rowIndex": key[2],
                     "contentString": "", "value": "", "valuetype": "String"}}
