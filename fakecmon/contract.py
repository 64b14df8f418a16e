"""The request contract of every operation, read from the handlers themselves.

CMON ignores request fields it does not use, so a client that misspells a field
(``clusterid``), sends the wrong type or names a job command CMON does not know
gets a plausible answer and its test passes. fakecmon knows which fields each
operation reads, because its handlers read them: this module walks the source
of every registered handler (and of the helpers it hands the ``Call`` to, such
as ``Call.arg``, ``Call.cluster``, ``_common.obj``/``field`` and the job plans)
and records each read of the request body: ``call.arg(name, kind[, default])``,
``call.body.get(name)``, ``call.body[name]``, ``name in call.body``, and the same
on nested objects. A second, hand-kept table would drift; this cannot, because
it is the code that answers. At run time the request body is a ``TrackedBody``
that records the fields a handler actually read, so a read the scan missed never
becomes a false finding (and the test suite checks that the scan misses none).

Public API (stable; fuzzers and contract tests build requests from it)::

    from fakecmon.contract import request_contracts, job_commands

    for (path, op), contract in request_contracts().items():
        # path: "clusters" (the part after /v2/), op: "getallclusterinfo" (lower case)
        contract.name            # "getAllClusterInfo" (the spelling CMON documents)
        contract.open            # True: the operation takes any field (no unknown-field check)
        for f in contract.fields:            # top-level request fields, sorted by name
            f.name, f.type, f.required       # "cluster_id", "integer", False
            f.fields                         # nested fields of an "object" (same shape)
            f.open                           # an object whose keys are free-form
    for command, job in job_commands().items():
        job.command, job.open                # open: any job_data key is accepted
        job.keys                             # {key: Field} of job_data the job reads

Types are JSON types: "string", "integer", "number", "boolean", "object",
"array", "any" ("any": the handler accepts more than one type). ``required``
means the operation answers InvalidRequest without it (a default makes it
optional). Fields every request may carry (``operation``, ``request_id``,
``request_created``, ``authenticate``, ``class_name``) are in ``common_fields()``, not repeated
per operation.

``check(path, body, read)`` lists the findings of one request (unknown fields,
with a did-you-mean; wrong types; unknown job commands and job_data keys).
"""

from __future__ import annotations

import ast
import builtins
import difflib
import inspect
import linecache
import textwrap
import types
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson

JSON_TYPES = ("string", "integer", "number", "boolean", "object", "array", "any")
_PY_TO_JSON = {str: "string", int: "integer", float: "number", bool: "boolean",
               dict: "object", list: "array"}


# ---- the public model

@dataclass
class Field:
    """One request field an operation reads."""

    name: str
    type: str = "any"
    required: bool = False
    fields: list["Field"] = field(default_factory=list)   # nested fields of an object
    open: bool = False      # an object read as a whole: any key is accepted

    def child(self, name: str) -> "Field | None":
        return next((f for f in self.fields if f.name == name), None)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": self.name, "type": self.type, "required": self.required}
        if self.fields:
            doc["fields"] = [f.to_json() for f in self.fields]
        if self.open:
            doc["open"] = True
        return doc


@dataclass
class RequestContract:
    """What one operation reads from its request."""

    path: str           # "clusters"
    name: str           # "getAllClusterInfo"
    fields: list[Field]
    open: bool = False  # the handler reads the body as a whole: unknown fields are not known

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "operation": self.name, "open": self.open,
                "fields": [f.to_json() for f in self.fields]}


@dataclass
class JobContract:
    """A job command fakecmon knows and the ``job_data`` keys its job reads."""

    command: str
    keys: dict[str, Field]
    open: bool = False   # the job does not model its data: any key is accepted

    def to_json(self) -> dict[str, Any]:
        return {"command": self.command, "open": self.open,
                "job_data": [f.to_json() for f in self.keys.values()]}


# ---- the scan: an abstract walk of handler source

@dataclass(frozen=True)
class _Ref:
    """A part of a request document: ``root`` ("body" or "job_data") and a key path."""

    root: str
    path: tuple[str, ...]


@dataclass(frozen=True)
class _Obj:
    """An object whose attributes lead to the request: the Call, a JobContext, a Job."""

    kind: str   # "call", "ctx", "job"


@dataclass(frozen=True)
class _Method:
    self_value: Any
    fn: Any


@dataclass(frozen=True)
class _RefMethod:
    ref: _Ref
    name: str


@dataclass(frozen=True)
class _Tup:
    """A tuple the source builds from values some of which lead to the request."""

    items: tuple[Any, ...]


@dataclass(frozen=True)
class _Py:
    """A real Python value the source names (a constant, function, class or module)."""

    value: Any


class _Reads:
    """What a scan found: per root, key path -> (types, required); open paths."""

    def __init__(self) -> None:
        self.types: dict[tuple[str, tuple[str, ...]], set[str]] = {}
        self.hints: dict[tuple[str, tuple[str, ...]], set[str]] = {}
        self.required: set[tuple[str, tuple[str, ...]]] = set()
        self.optional: set[tuple[str, tuple[str, ...]]] = set()
        self.open: set[tuple[str, tuple[str, ...]]] = set()

    def read(self, ref: _Ref, key: str, kind: str | None = None,
             required: bool = False) -> _Ref:
        child = _Ref(ref.root, ref.path + (key,))
        where = (child.root, child.path)
        self.types.setdefault(where, set())
        if kind is not None:
            self.types[where].add(kind)
        (self.required if required else self.optional).add(where)
        return child

    def typed(self, ref: _Ref, kind: str) -> None:
        if ref.path:
            self.types.setdefault((ref.root, ref.path), set()).add(kind)

    def hint(self, ref: _Ref, kind: str) -> None:
        if ref.path:
            self.hints.setdefault((ref.root, ref.path), set()).add(kind)

    def opened(self, ref: _Ref) -> None:
        self.open.add((ref.root, ref.path))

    def tree(self, root: str) -> tuple[list[Field], bool]:
        """The fields under ``root`` as a tree, and whether the root itself is open."""
        paths = {p for r, p in self.types if r == root and p}
        for p in list(paths):
            paths.update(p[:i] for i in range(1, len(p)))
        nodes: dict[tuple[str, ...], Field] = {}
        scalar: set[tuple[str, ...]] = set()
        for path in sorted(paths, key=len):
            has_children = any(len(q) > len(path) and q[:len(path)] == path for q in paths)
            if any(path[:i] in scalar for i in range(1, len(path))):
                continue        # ``"," in name``: a substring test on a string, not a key
            kind = self._type(root, path, has_children)
            if kind not in ("object", "any", "array"):
                scalar.add(path)
            where = (root, path)
            node = Field(path[-1], kind, where in self.required and where not in self.optional,
                         open=where in self.open and kind in ("object", "any"))
            nodes[path] = node
            if len(path) > 1:
                nodes[path[:-1]].fields.append(node)
        top = [n for p, n in nodes.items() if len(p) == 1]
        return _sorted(top), (root, ()) in self.open

    def _type(self, root: str, path: tuple[str, ...], has_children: bool) -> str:
        kinds = set(self.types.get((root, path), set()))
        if not kinds:
            kinds = set(self.hints.get((root, path), set()))
            if kinds & {"integer", "number"}:    # "a number, but not a bool"
                kinds.discard("boolean")
                if kinds == {"integer", "number"}:
                    kinds = {"number"}
        if has_children and not kinds:
            kinds = {"object"}
        if has_children and kinds == {"any"}:
            kinds = {"object"}
        return kinds.pop() if len(kinds) == 1 else "any"


def _sorted(fields: list[Field]) -> list[Field]:
    for f in fields:
        f.fields = _sorted(f.fields)
    return sorted(fields, key=lambda f: f.name)


_MAX_DEPTH = 12
#: Methods of a dict that read one key / read it as a whole.
_KEY_METHODS = ("get", "pop", "setdefault")
_WHOLE_METHODS = ("items", "keys", "values", "copy", "update", "__iter__")


class _Scanner:
    """Walks function source abstractly, following the request into helpers."""

    def __init__(self, reads: _Reads) -> None:
        self.reads = reads
        self.stack: list[Any] = []
        self.seen: set[tuple[Any, ...]] = set()

    # -- functions

    def run(self, fn: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        fn = inspect.unwrap(fn)
        if not isinstance(fn, types.FunctionType) or len(self.stack) >= _MAX_DEPTH:
            return None
        if fn in self.stack:
            return None
        key = (fn, tuple(map(_key, args)), tuple(sorted((k, _key(v)) for k, v in kwargs.items())))
        if key in self.seen:
            return _SEEN_RESULTS.get(key)
        self.seen.add(key)
        tree = _parse(fn)
        if tree is None:
            return None
        env = self._bind(fn, tree, args, kwargs)
        self.stack.append(fn)
        try:
            result = _FunctionWalk(self, fn, env).walk(tree.body)
        finally:
            self.stack.pop()
        _SEEN_RESULTS[key] = result
        return result

    @staticmethod
    def _bind(fn: Any, tree: ast.FunctionDef | ast.AsyncFunctionDef, args: list[Any],
              kwargs: dict[str, Any]) -> dict[str, Any]:
        params = [a.arg for a in tree.args.posonlyargs + tree.args.args]
        env: dict[str, Any] = {}
        defaults = fn.__defaults__ or ()
        for name, value in zip(params[len(params) - len(defaults):], defaults):
            env[name] = _Py(value)
        for name, value in (fn.__kwdefaults__ or {}).items():
            env[name] = _Py(value)
        for name in [a.arg for a in tree.args.kwonlyargs]:
            env.setdefault(name, None)
        for name, value in zip(params, args):
            env[name] = value
        if tree.args.vararg is not None:
            rest = args[len(params):]
            env[tree.args.vararg.arg] = _Py(tuple(v.value for v in rest)) if all(
                isinstance(v, _Py) for v in rest) else _Tup(tuple(rest))
        for name, value in kwargs.items():
            env[name] = value
        for name in params:
            env.setdefault(name, None)
        return env


_SEEN_RESULTS: dict[tuple[Any, ...], Any] = {}


def _key(value: Any) -> Any:
    if isinstance(value, _Py):
        try:
            hash(value.value)
            return ("py", value.value)
        except TypeError:
            return ("py", id(value.value))
    return value


def _last_line(code: types.CodeType) -> int:
    last = code.co_firstlineno
    for _line, end, _col, _end_col in code.co_positions():
        if end is not None and end > last:
            last = end
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            last = max(last, _last_line(const))
    return last


@lru_cache(maxsize=None)
def _parse_code(code: types.CodeType) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The function's syntax tree, from its lines in the source file (the code object
    knows where it ends; ``inspect.getsource`` tokenizes, which is ten times slower)."""
    lines = linecache.getlines(code.co_filename)
    if not lines:
        return None
    text = "".join(lines[code.co_firstlineno - 1:_last_line(code)])
    try:
        module = ast.parse(textwrap.dedent(text))
    except SyntaxError:
        return None
    node = module.body[0] if module.body else None
    return node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


def _parse(fn: Any) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    code = getattr(fn, "__code__", None)
    return _parse_code(code) if code is not None else None


def _ours(fn: Any) -> bool:
    return (getattr(fn, "__module__", None) or "").startswith("fakecmon") and \
        isinstance(fn, types.FunctionType)


def _interesting(value: Any) -> bool:
    if isinstance(value, _Tup):
        return any(_interesting(v) for v in value.items)
    return isinstance(value, (_Ref, _Obj))


class _FunctionWalk:
    """One function body, walked once: every branch, every loop body."""

    def __init__(self, scanner: _Scanner, fn: Any, env: dict[str, Any]) -> None:
        self.scanner = scanner
        self.reads = scanner.reads
        self.fn = fn
        self.env = env
        self.globals = fn.__globals__
        self.returns: list[Any] = []

    def walk(self, body: list[ast.stmt]) -> Any:
        for stmt in body:
            self.stmt(stmt)
        refs = [r for r in self.returns if _interesting(r)]
        return refs[0] if refs else None

    # -- statements

    def stmt(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign):
            if isinstance(node.value, ast.Tuple) and all(
                    isinstance(t, ast.Tuple) and len(t.elts) == len(node.value.elts)
                    for t in node.targets):
                values = [self.expr(v) for v in node.value.elts]
                for target in node.targets:
                    for elt, value in zip(target.elts, values):   # type: ignore[attr-defined]
                        self.assign(elt, value)
                return
            value = self.expr(node.value)
            for target in node.targets:
                self.assign(target, value)
        elif isinstance(node, ast.AnnAssign):
            value = self.expr(node.value) if node.value is not None else None
            self.assign(node.target, value)
        elif isinstance(node, ast.AugAssign):
            self.expr(node.value)
        elif isinstance(node, (ast.Return, ast.Expr)):
            value = self.expr(node.value) if node.value is not None else None
            if isinstance(node, ast.Return):
                self.returns.append(value)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.loop(node.target, node.iter, node.body)
            self.block(node.orelse)
        elif isinstance(node, ast.While):
            self.expr(node.test)
            self.block(node.body)
            self.block(node.orelse)
        elif isinstance(node, ast.If):
            self.expr(node.test)
            self.block(node.body)
            self.block(node.orelse)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                value = self.expr(item.context_expr)
                if item.optional_vars is not None:
                    self.assign(item.optional_vars, value)
            self.block(node.body)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            self.block(node.body)                      # type: ignore[attr-defined]
            for handler in node.handlers:              # type: ignore[attr-defined]
                self.block(handler.body)
            self.block(node.orelse)                    # type: ignore[attr-defined]
            self.block(node.finalbody)                 # type: ignore[attr-defined]
        elif isinstance(node, ast.Match):
            self.expr(node.subject)
            for case in node.cases:
                self.block(case.body)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.env[node.name] = None
            self.block(node.body)       # a closure: its reads are the function's reads
        elif isinstance(node, (ast.Raise, ast.Assert)):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child)

    def block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self.stmt(stmt)

    def assign(self, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Name):
            # Every branch is walked in turn: ``raw = orjson.loads(raw)`` in one branch
            # must not hide that ``raw`` is a request object in the next one.
            if value is not None or not _interesting(self.env.get(target.id)):
                self.env[target.id] = value
        elif isinstance(target, (ast.Tuple, ast.List)):
            parts: list[Any] | None = None
            if isinstance(value, _Py) and isinstance(value.value, tuple):
                parts = [_Py(v) for v in value.value]
            elif isinstance(value, _Tup):
                parts = list(value.items)
            if parts is not None and len(parts) != len(target.elts):
                parts = None
            for i, elt in enumerate(target.elts):
                self.assign(elt, parts[i] if parts is not None else None)
        else:
            self.expr(target)

    def loop(self, target: ast.expr, iter_node: ast.expr, body: list[ast.stmt]) -> None:
        items = self.expr(iter_node)
        values = _constants(items)
        if values is None:
            if isinstance(items, _Ref):
                self.reads.opened(items)
            self.assign(target, None)
            self.block(body)
            return
        for value in values or [None]:
            self.assign(target, _Py(value) if value is not None else None)
            self.block(body)

    # -- expressions

    def expr(self, node: ast.expr | None) -> Any:
        if node is None:
            return None
        method = getattr(self, "e_" + type(node).__name__, None)
        if method is not None:
            return method(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.expr(child)
        return None

    def e_Constant(self, node: ast.Constant) -> Any:
        return _Py(node.value)

    def e_Name(self, node: ast.Name) -> Any:
        if node.id in self.env:
            return self.env[node.id]
        if node.id in self.globals:
            return _Py(self.globals[node.id])
        if hasattr(builtins, node.id):
            return _Py(getattr(builtins, node.id))
        return None

    def e_Attribute(self, node: ast.Attribute) -> Any:
        base = self.expr(node.value)
        attr = node.attr
        if isinstance(base, _Obj):
            return self._obj_attr(base, attr)
        if isinstance(base, _Ref):
            return _RefMethod(base, attr)
        if isinstance(base, _Py):
            try:
                return _Py(getattr(base.value, attr))
            except Exception:  # noqa: BLE001 - a property that needs an instance
                return None
        return None

    def _obj_attr(self, base: _Obj, attr: str) -> Any:
        if base.kind == "call" and attr == "body":
            return _Ref("body", ())
        if base.kind == "ctx" and attr == "data":
            return _Ref("job_data", ())
        if base.kind == "ctx" and attr == "job":
            return _Obj("job")
        if base.kind == "job" and attr == "job_data":
            return _Ref("job_data", ())
        cls = _OBJ_CLASSES.get(base.kind)
        member = inspect.getattr_static(cls, attr, None) if cls is not None else None
        if isinstance(member, property) and member.fget is not None:
            return self.scanner.run(member.fget, [base], {})
        if isinstance(member, types.FunctionType):
            return _Method(base, member)
        return None

    def e_Subscript(self, node: ast.Subscript) -> Any:
        base = self.expr(node.value)
        key = self.expr(node.slice)
        if isinstance(base, _Ref):
            if isinstance(key, _Py) and isinstance(key.value, str):
                return self.reads.read(base, key.value)
            self.reads.opened(base)
        return None

    def e_Compare(self, node: ast.Compare) -> Any:
        left = self.expr(node.left)
        for op, comp in zip(node.ops, node.comparators):
            right = self.expr(comp)
            if isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, _Ref):
                if isinstance(left, _Py) and isinstance(left.value, str):
                    self.reads.read(right, left.value)
                else:
                    self.reads.opened(right)
            left = right
        return None

    def e_BoolOp(self, node: ast.BoolOp) -> Any:
        values = [self.expr(v) for v in node.values]
        return next((v for v in values if _interesting(v)), None)

    def e_IfExp(self, node: ast.IfExp) -> Any:
        self.expr(node.test)
        values = [self.expr(node.body), self.expr(node.orelse)]
        return next((v for v in values if _interesting(v)), None)

    def e_NamedExpr(self, node: ast.NamedExpr) -> Any:
        value = self.expr(node.value)
        self.assign(node.target, value)
        return value

    def e_Lambda(self, node: ast.Lambda) -> Any:
        for arg in node.args.args:
            self.env.setdefault(arg.arg, None)
        self.expr(node.body)
        return None

    def _comprehension(self, node: Any, elts: list[ast.expr]) -> Any:
        for gen in node.generators:
            items = self.expr(gen.iter)
            values = _constants(items)
            if values is None and isinstance(items, _Ref):
                self.reads.opened(items)
            for value in (values or [None]):
                self.assign(gen.target, _Py(value) if value is not None else None)
                for cond in gen.ifs:
                    self.expr(cond)
                for elt in elts:
                    self.expr(elt)
        return None

    def e_ListComp(self, node: ast.ListComp) -> Any:
        return self._comprehension(node, [node.elt])

    e_SetComp = e_ListComp
    e_GeneratorExp = e_ListComp

    def e_DictComp(self, node: ast.DictComp) -> Any:
        return self._comprehension(node, [node.key, node.value])

    def e_Dict(self, node: ast.Dict) -> Any:
        for k, v in zip(node.keys, node.values):
            self.expr(k)
            value = self.expr(v)
            if k is None and isinstance(value, _Ref):   # {**call.body}
                self.reads.opened(value)
        return None

    def e_Starred(self, node: ast.Starred) -> Any:
        value = self.expr(node.value)
        if isinstance(value, _Ref):
            self.reads.opened(value)
        return None

    def e_Tuple(self, node: ast.Tuple) -> Any:
        items = tuple(self.expr(e) for e in node.elts)
        if all(isinstance(i, _Py) for i in items):
            return _Py(tuple(i.value for i in items))
        return _Tup(items)

    def e_Await(self, node: ast.Await) -> Any:
        return self.expr(node.value)

    # -- calls

    def e_Call(self, node: ast.Call) -> Any:
        func = self.expr(node.func)
        args: list[Any] = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                value = self.expr(a.value)
                if isinstance(value, _Py) and isinstance(value.value, (tuple, list)):
                    args.extend(_Py(v) for v in value.value)
                    continue
                if isinstance(value, _Ref):
                    self.reads.opened(value)
                args.append(None)
            else:
                args.append(self.expr(a))
        kwargs: dict[str, Any] = {}
        for kw in node.keywords:
            value = self.expr(kw.value)
            if kw.arg is None:
                if isinstance(value, _Ref):
                    self.reads.opened(value)
            else:
                kwargs[kw.arg] = value
        if isinstance(func, _RefMethod):
            return self._ref_method(func, args)
        if isinstance(func, _Method):
            if func.fn is _CALL_ARG:
                return self._call_arg(args, kwargs)
            return self.scanner.run(func.fn, [func.self_value, *args], kwargs)
        if isinstance(func, _Py):
            return self._py_call(func.value, args, kwargs)
        return None

    def _ref_method(self, func: _RefMethod, args: list[Any]) -> Any:
        if func.name in _KEY_METHODS:
            if args and isinstance(args[0], _Py) and isinstance(args[0].value, str):
                return self.reads.read(func.ref, args[0].value)
            self.reads.opened(func.ref)
        elif func.name in _WHOLE_METHODS:
            self.reads.opened(func.ref)
        return None

    def _call_arg(self, args: list[Any], kwargs: dict[str, Any]) -> Any:
        name = args[0] if args else kwargs.get("name")
        kind = args[1] if len(args) > 1 else kwargs.get("kind")
        has_default = len(args) > 2 or "default" in kwargs
        if not (isinstance(name, _Py) and isinstance(name.value, str)):
            self.reads.opened(_Ref("body", ()))
            return None
        json_type = _PY_TO_JSON.get(kind.value) if isinstance(kind, _Py) else None
        return self.reads.read(_Ref("body", ()), name.value, json_type, not has_default)

    def _py_call(self, fn: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if fn is _COERCE:
            if args and isinstance(args[0], _Ref) and len(args) > 1 and isinstance(args[1], _Py):
                kind = _PY_TO_JSON.get(args[1].value)
                if kind:
                    self.reads.typed(args[0], kind)
            return args[0] if args else None
        if fn is isinstance:
            if args and isinstance(args[0], _Ref) and len(args) > 1 and isinstance(args[1], _Py):
                kinds = args[1].value if isinstance(args[1].value, tuple) else (args[1].value,)
                names = {_PY_TO_JSON.get(k) for k in kinds if k is not type(None)}
                if names == {"integer", "number"}:
                    names = {"number"}
                if len(names) == 1 and None not in names:
                    self.reads.hint(args[0], names.pop())  # type: ignore[arg-type]
                else:
                    self.reads.hint(args[0], "any")
            return None
        if _ours(fn) and any(_interesting(a) for a in [*args, *kwargs.values()]):
            return self.scanner.run(fn, args, kwargs)
        if isinstance(fn, type) and _ours_class(fn):
            init = inspect.getattr_static(fn, "__init__", None)
            if isinstance(init, types.FunctionType) and any(_interesting(a) for a in args):
                self.scanner.run(init, [None, *args], kwargs)
            else:
                self._open_refs(args, kwargs)
            return None
        if fn in (str, int, float, bool, len, repr, print, type):
            return None     # a leaf value used as one
        owner = getattr(fn, "__self__", None)
        if isinstance(owner, (dict, tuple, list, frozenset, set)) and \
                getattr(fn, "__name__", "") in ("items", "keys", "values") and not args:
            return _Py(tuple(fn()))
        self._open_refs(args, kwargs)
        return None

    def _open_refs(self, args: list[Any], kwargs: dict[str, Any]) -> None:
        for value in [*args, *kwargs.values()]:
            if isinstance(value, _Ref):
                self.reads.opened(value)


def _ours_class(cls: type) -> bool:
    return (getattr(cls, "__module__", None) or "").startswith("fakecmon")


def _constants(value: Any) -> list[Any] | None:
    """The values a loop over ``value`` takes, when the source names them."""
    if isinstance(value, _Py) and isinstance(value.value, (tuple, list, set, frozenset, dict)):
        items = list(value.value)
        if all(isinstance(v, (str, int)) or (isinstance(v, tuple) and v and isinstance(
                v[0], (str, int))) for v in items):
            return items
    return None


def _classes() -> dict[str, type]:
    from fakecmon.rpc import Call
    from fakecmon.world.jobs import Job, JobContext
    return {"call": Call, "ctx": JobContext, "job": Job}


def _init_primitives() -> None:
    global _CALL_ARG, _COERCE, _OBJ_CLASSES
    from fakecmon import rpc
    _CALL_ARG = rpc.Call.arg
    _COERCE = rpc.coerce
    _OBJ_CLASSES = _classes()


_CALL_ARG: Any = None
_COERCE: Any = None
_OBJ_CLASSES: dict[str, type] = {}



# ---- building the contracts

def _scan(*functions: Any, root: str = "body", start: Any = None) -> tuple[list[Field], bool]:
    reads = _Reads()
    scanner = _Scanner(reads)
    for fn in functions:
        scanner.run(fn, [start if start is not None else _Obj("call")], {})
    return reads.tree(root)


def _common_fields() -> list[Field]:
    from fakecmon import rpc
    reads = _Reads()
    scanner = _Scanner(reads)
    scanner.run(rpc.dispatch, [_Obj("call"), None], {})
    scanner.run(rpc.envelope, [_Obj("call"), None, None, None], {})
    reads.read(_Ref("body", ()), "operation", "string")   # the server reads it before dispatch
    reads.read(_Ref("body", ()), CLASS_NAME.name, CLASS_NAME.type)
    fields, _ = reads.tree("body")
    return fields


def _short(path: str) -> str:
    return path.removeprefix("/v2/").removeprefix("/v2").strip("/") or "info"


@lru_cache(maxsize=1)
def common_fields() -> tuple[Field, ...]:
    """Fields every request may carry (``operation``, ``request_id``...)."""
    import fakecmon.api  # noqa: F401  (registers every operation)
    _init_primitives()
    return tuple(_common_fields())


@lru_cache(maxsize=None)
def _path_contracts(short: str) -> dict[str, RequestContract]:
    """The contracts of one path's operations, read on first use (a path's handlers take
    milliseconds to read; a server reads only the paths its clients use)."""
    from fakecmon.rpc import OPERATIONS
    common_names = {f.name for f in common_fields()}
    contracts = {}
    for lower, op in OPERATIONS.get(f"/v2/{short}", {}).items():
        fields, is_open = _scan(op.handler)
        fields = [f for f in fields if f.name not in common_names or f.fields]
        contracts[lower] = RequestContract(short, op.name, fields, is_open)
    return contracts


@lru_cache(maxsize=1)
def request_contracts() -> dict[tuple[str, str], RequestContract]:
    """Every operation's request contract, keyed by (path, operation name in lower case)."""
    from fakecmon.rpc import OPERATIONS
    common_fields()
    return {(_short(path), lower): contract for path in OPERATIONS
            for lower, contract in _path_contracts(_short(path)).items()}


def contract_for(path: str, operation: str) -> RequestContract | None:
    """The contract of ``operation`` on ``path`` ("/v2/clusters" or "clusters")."""
    from fakecmon.rpc import OPERATIONS
    common_fields()                 # imports the handlers first
    short = _short(path)
    if f"/v2/{short}" not in OPERATIONS:
        return None
    return _path_contracts(short).get(operation.lower())


def known_job_commands() -> list[str]:
    from fakecmon.world.jobs import PLANS
    common_fields()                 # imports the handlers, and the job plans with them
    return sorted(PLANS)


@lru_cache(maxsize=None)
def _plan_fields(plan: Any) -> tuple[dict[str, Field], bool]:
    """The ``job_data`` keys one plan reads (plans serve several commands: read once)."""
    from fakecmon.world.jobs import JobSettings, run_plan
    common_fields()
    reads = _Reads()
    scanner = _Scanner(reads)
    scanner.run(run_plan, [_Py(plan), _Obj("ctx")], {})
    scanner.run(JobSettings.duration_for, [None, _Obj("job")], {})   # every job's timeout
    fields, is_open = reads.tree("job_data")
    return {f.name: f for f in fields}, is_open


def job_contract(command: str) -> JobContract | None:
    """What the job of ``command`` reads of its ``job_data``; None for an unknown command."""
    from fakecmon.world import job_effects
    from fakecmon.world.jobs import PLANS
    common_fields()
    plan = PLANS.get(command)
    if plan is None:
        return None
    keys, is_open = _plan_fields(plan)
    return JobContract(command, keys, is_open or plan is getattr(job_effects, "plan_generic",
                                                                 None))


@lru_cache(maxsize=1)
def job_commands() -> dict[str, JobContract]:
    """Every job command fakecmon knows, with the ``job_data`` keys its job reads."""
    return {c: job for c in known_job_commands() if (job := job_contract(c)) is not None}


# ---- checking one request against its contract

class TrackedBody(dict):  # type: ignore[type-arg]
    """A request body that remembers which top-level fields the handler read.

    ``Call.body`` is one of these, so a field a handler reads in a way the scan does
    not follow is still never reported as unknown."""

    __slots__ = ("read",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read: set[str] = set()

    def get(self, key: Any, default: Any = None) -> Any:
        self.read.add(key)
        return dict.get(self, key, default)

    def __getitem__(self, key: Any) -> Any:
        self.read.add(key)
        return dict.__getitem__(self, key)

    def __contains__(self, key: object) -> bool:
        self.read.add(key)   # type: ignore[arg-type]
        return dict.__contains__(self, key)

    def pop(self, key: Any, *default: Any) -> Any:
        self.read.add(key)
        return dict.pop(self, key, *default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self.read.add(key)
        return dict.setdefault(self, key, default)


_ARTICLE = {"string": "a string", "integer": "an integer", "number": "a number",
            "boolean": "a boolean", "object": "an object", "array": "an array"}


def json_type(value: Any) -> str:
    """The JSON type name of a decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def type_matches(want: str, value: Any) -> bool:
    """Does ``value`` have JSON type ``want``? (an integer is also a number)."""
    have = json_type(value)
    return want == "any" or have == want or (want == "number" and have == "integer")


def _suggest(name: str, known: list[str], where: str = "") -> str:
    squashed = {k.replace("_", "").replace("-", "").lower(): k for k in known}
    match = squashed.get(name.replace("_", "").replace("-", "").lower())
    if match is None:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        match = close[0] if close else None
    return f" (did you mean '{where}{match}'?)" if match else ""


def _check_fields(by_name: dict[str, Field], value: dict[str, Any], where: str,
                  is_open: bool, read: set[str] | frozenset[str] = frozenset(),
                  short: str = "") -> list[str]:
    findings: list[str] = []
    for key, item in value.items():
        spec = by_name.get(key)
        if spec is None:
            if not is_open and key not in read:
                findings.append(f"unknown field '{where}{key}'{_suggest(key, list(by_name), where)}")
            continue
        if item is not None and (spec.type != "any" or spec.fields):
            findings.extend(_check_value(spec, item, f"{where}{key}", short))
    return findings


#: CMON builds the objects of a request from JSON by their ``class_name`` (the property
#: its replies carry too): any object, and the request itself, may name its class.
CLASS_NAME = Field("class_name", "string")


def _check_value(spec: Field, value: Any, where: str, short: str = "") -> list[str]:
    if value is None:
        return []
    if not type_matches(spec.type, value):
        return [f"'{where}' must be {_ARTICLE.get(spec.type, spec.type)}, got {json_type(value)}"]
    if isinstance(value, dict) and spec.fields:
        return _check_fields(_children(spec, CLASS_NAME.name in value, short), value,
                             where + ".", spec.open, short=short)
    return []


_CHILDREN: dict[tuple[int, bool], dict[str, Field]] = {}


def _children(spec: Field, classed: bool, short: str) -> dict[str, Field]:
    """The fields of an object (and ``class_name``); of an object that names its class,
    every property of that class is read (as CMON reads a CmonJobInstance whole), i.e.
    what any operation reads of a same-named object."""
    key = (id(spec), classed)
    found = _CHILDREN.get(key)
    if found is None:
        found = {CLASS_NAME.name: CLASS_NAME}
        if classed:
            found.update(_object_fields(short, spec.name))
        found.update((f.name, f) for f in spec.fields)
        _CHILDREN[key] = found
    return found


@lru_cache(maxsize=None)
def _object_fields(short: str, name: str) -> dict[str, Field]:
    """The fields any operation of the path reads of a top-level object called ``name``."""
    found: dict[str, Field] = {}
    for contract in _path_contracts(short).values():
        spec = contract.field(name)
        if spec is not None:
            for child in spec.fields:
                found.setdefault(child.name, child)
    return found


def _job_parts(body: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(command, job_data) of a request that carries ``job.job_spec``, if well formed."""
    job = dict.get(body, "job")
    spec = job.get("job_spec") if isinstance(job, dict) else None
    if isinstance(spec, str):
        try:
            spec = orjson.loads(spec)
        except orjson.JSONDecodeError:
            return None
    if not isinstance(spec, dict) or not isinstance(spec.get("command"), str):
        return None
    data = spec.get("job_data")
    if isinstance(data, str):
        try:
            data = orjson.loads(data) if data.strip() else {}
        except orjson.JSONDecodeError:
            return None
    return spec["command"].strip(), data if isinstance(data, dict) else {}


def check_job(command: str, data: dict[str, Any]) -> list[str]:
    """Findings of one job: an unknown command, unknown or mistyped ``job_data`` keys."""
    job = job_contract(command)
    if job is None:
        return [f"unknown job command '{command}'{_suggest(command, known_job_commands())}"]
    if job.open:
        return []
    findings = []
    for key, value in data.items():
        spec = job.keys.get(key)
        if spec is None:
            findings.append(f"unknown job_data key '{key}' for command '{command}'"
                            f"{_suggest(key, list(job.keys))}")
        else:
            findings.extend(_check_value(spec, value, f"job_data.{key}"))
    return findings


@lru_cache(maxsize=1024)
def _top(path: str, operation: str) -> tuple[RequestContract, dict[str, Field], bool] | None:
    """An operation's contract, its top-level fields with the common ones, and whether
    it takes a job."""
    contract = contract_for(path, operation)
    if contract is None:
        return None
    by_name = {f.name: f for f in common_fields()}
    by_name.update((f.name, f) for f in contract.fields)
    return contract, by_name, contract.field("job") is not None


def check(path: str, operation: str, body: dict[str, Any],
          read: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """The contract findings of one request (empty for an unknown operation: CMON answers
    that itself). ``read``: fields the handler read at run time (``TrackedBody.read``)."""
    top = _top(path, operation) if operation else None
    if top is None:
        return []
    contract, by_name, takes_job = top
    findings = _check_fields(by_name, body, "", contract.open, read, contract.path)
    parts = _job_parts(body) if takes_job else None
    if parts is not None:
        findings.extend(check_job(*parts))
    return findings


# ---- usage: what a client called, how it was answered, what the contract found

class Usage:
    """Per operation: calls, reply statuses and contract findings, for the coverage
    report (``pytest --fakecmon-report``, ``GET /_fakecmon/report``).

    O(1) a request: the requests are counted and checked against the contract in
    batches (and when a report or strict mode asks)."""

    BATCH = 1000

    def __init__(self, keep: int = 1000) -> None:
        self.ops: dict[tuple[str, str], dict[str, Any]] = {}
        self.pending: list[tuple[int, Any]] = []
        #: Requests counted so far; the last ones that had findings, by that number
        #: (strict tests look at those after the test began: the journal may be cleared).
        self.total = 0
        self.flagged: deque[tuple[int, Any]] = deque(maxlen=keep)

    def add(self, entry: Any) -> None:
        """Count one journal entry (anything with path, operation, status, contract)."""
        self.total += 1
        self.pending.append((self.total, entry))
        if len(self.pending) >= self.BATCH:
            self.settle()

    def settle(self) -> None:
        """Count the pending requests, their statuses and contract findings."""
        pending, self.pending = self.pending, []
        for n, entry in pending:
            op = entry.operation or "-"
            row = self.ops.get((entry.path, op.lower()))
            if row is None:
                row = self.ops[(entry.path, op.lower())] = {
                    "path": entry.path, "operation": op, "calls": 0, "statuses": {},
                    "findings": {}}
            row["calls"] += 1
            status = entry.status or "(no reply)"
            row["statuses"][status] = row["statuses"].get(status, 0) + 1
            findings = entry.contract
            if findings:
                self.flagged.append((n, entry))
                for finding in findings:
                    row["findings"][finding] = row["findings"].get(finding, 0) + 1

    def flagged_since(self, mark: int) -> list[Any]:
        """Entries with findings among those counted after ``mark`` (a former ``total``)."""
        self.settle()
        return [entry for n, entry in self.flagged if n > mark]

    def merge(self, doc: dict[str, Any]) -> None:
        """Add another report's counts (an xdist worker's) to these."""
        for row in doc.get("operations", []):
            mine = self.ops.setdefault((row["path"], row["operation"].lower()), {
                "path": row["path"], "operation": row["operation"], "calls": 0,
                "statuses": {}, "findings": {}})
            mine["calls"] += row["calls"]
            for key in ("statuses", "findings"):
                for k, n in row[key].items():
                    mine[key][k] = mine[key].get(k, 0) + n

    def clear(self) -> None:
        self.ops.clear()
        self.pending.clear()
        self.flagged.clear()

    def report(self) -> dict[str, Any]:
        """The coverage report: operations used (sorted) and, for each path the client
        used, the operations it never called."""
        self.settle()
        rows = []
        for (path, lower), row in self.ops.items():
            contract = contract_for(path, lower) if lower != "-" else None
            rows.append(dict(row, operation=contract.name if contract else row["operation"],
                             known=contract is not None,
                             statuses=dict(sorted(row["statuses"].items())),
                             findings=dict(sorted(row["findings"].items()))))
        rows.sort(key=lambda r: (r["path"], r["operation"].lower()))
        called = {(r["path"], r["operation"].lower()) for r in rows}
        not_called: dict[str, list[str]] = {}
        for path in sorted({r["path"] for r in rows if r["known"]}):
            short = path.removeprefix("/v2/")
            names = sorted(c.name for (p, lower), c in request_contracts().items()
                           if p == short and (path, lower) not in called)
            if names:
                not_called[path] = names
        return {"requests": sum(r["calls"] for r in rows),
                "findings": sum(sum(r["findings"].values()) for r in rows),
                "operations": rows, "not_called": not_called}


def summary_table(report: dict[str, Any], width: int = 100) -> list[str]:
    """The coverage report as a short table (the pytest terminal summary)."""
    rows = report.get("operations", [])
    if not rows:
        return ["fakecmon: no request was received."]
    lines = [f"{'path':<22} {'operation':<34} {'calls':>6} {'ok':>6} {'errors':>6} {'findings':>8}"]
    for r in rows:
        ok = r["statuses"].get("Ok", 0)
        lines.append(f"{r['path'][:22]:<22} {r['operation'][:34]:<34} {r['calls']:>6} {ok:>6} "
                     f"{r['calls'] - ok:>6} {sum(r['findings'].values()):>8}")
    missing = sum(len(v) for v in report.get("not_called", {}).values())
    lines.append(f"{report['requests']} request(s), {len(rows)} operation(s), "
                 f"{report['findings']} contract finding(s); {missing} operation(s) of the "
                 f"paths used were never called")
    return [line[:width] for line in lines]


def findings_text(entries: list[Any], limit: int = 20) -> str:
    """Requests and their findings, as strict mode and ``assert_contract_clean`` report them."""
    count = sum(len(e.contract) for e in entries)
    lines = [f"fakecmon: {count} contract finding(s) in {len(entries)} request(s) "
             "(CMON ignores these silently; the replies were unchanged):"]
    for entry in entries[-limit:]:
        lines.append(f"  {entry.line()}")
        lines.extend(f"      - {finding}" for finding in entry.contract)
    if len(entries) > limit:
        lines.append(f"  ... and {len(entries) - limit} earlier request(s)")
    return "\n".join(lines)
