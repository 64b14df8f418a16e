"""A small interpreter for the JavaScript-like language of CMON's imperative scripts.

It runs the core of the language that test and utility scripts use: functions
(``main`` runs first when defined), variables, numbers, strings, booleans,
arrays, arithmetic, comparison and logical operators, ``if``/``else``,
``while``, ``for``, ``return``, and the built-ins ``print`` (joins its
arguments), ``exit`` (ends the script with a status) and ``length``. It has no
access to hosts or databases; a script calling anything else fails with a
message naming the line, as a script error does in CMON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MAX_STEPS = 200_000
MAX_DEPTH = 200

_TOKENS = re.compile(r"""
    (?P<space>[ \t\r]+) | (?P<newline>\n) | (?P<comment>//[^\n]*|/\*.*?\*/) |
    (?P<number>\d+\.\d*|\.\d+|\d+) |
    (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*') |
    (?P<name>[A-Za-z_][A-Za-z0-9_]*) |
    (?P<op>==|!=|<=|>=|&&|\|\||\+\+|--|\+=|-=|\*=|/=|[-+*/%<>=!(){}\[\],;.:])
""", re.VERBOSE | re.DOTALL)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}


class ScriptError(Exception):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class Token:
    kind: str
    text: str
    line: int


def tokenize(source: str) -> list[Token]:
    tokens, line, pos = [], 1, 0
    while pos < len(source):
        m = _TOKENS.match(source, pos)
        if not m:
            raise ScriptError(f"Unexpected character '{source[pos]}'.", line)
        kind, text = m.lastgroup or "", m.group()
        if kind in ("number", "string", "name", "op"):
            tokens.append(Token(kind, text, line))
        line += text.count("\n")
        pos = m.end()
    tokens.append(Token("end", "", line))
    return tokens


# ---- parser: statements and expressions as small tuples ("kind", line, ...)

class Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens, self.pos = tokens, 0

    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def take(self) -> Token:
        tok = self.peek()
        self.pos += 1
        return tok

    def accept(self, text: str) -> bool:
        if self.peek().text == text and self.peek().kind in ("op", "name"):
            self.pos += 1
            return True
        return False

    def expect(self, text: str) -> Token:
        tok = self.take()
        if tok.text != text:
            raise ScriptError(f"Expected '{text}' but found '{tok.text or 'end of file'}'.",
                              tok.line)
        return tok

    def program(self) -> tuple[dict[str, tuple], list[tuple]]:
        functions: dict[str, tuple] = {}
        body = []
        while self.peek().kind != "end":
            if self.peek().text == "function":
                line = self.take().line
                name = self.take()
                if name.kind != "name":
                    raise ScriptError("A function needs a name.", name.line)
                self.expect("(")
                params = []
                while not self.accept(")"):
                    param = self.take()
                    if param.kind != "name":
                        raise ScriptError(f"Bad parameter '{param.text}'.", param.line)
                    params.append(param.text)
                    if self.peek().text != ")":
                        self.expect(",")
                functions[name.text] = ("function", line, params, self.block())
            else:
                body.append(self.statement())
        return functions, body

    def block(self) -> tuple:
        line = self.expect("{").line
        stmts = []
        while not self.accept("}"):
            if self.peek().kind == "end":
                raise ScriptError("Missing '}'.", self.peek().line)
            stmts.append(self.statement())
        return ("block", line, stmts)

    def statement(self) -> tuple:
        tok = self.peek()
        if tok.text == "{":
            return self.block()
        if tok.text == ";":
            self.take()
            return ("block", tok.line, [])
        if tok.kind == "name" and tok.text in ("if", "while", "for", "return", "var", "break",
                                               "continue"):
            self.take()
            if tok.text == "if":
                self.expect("(")
                cond = self.expression()
                self.expect(")")
                then = self.statement()
                other = self.statement() if self.accept("else") else None
                return ("if", tok.line, cond, then, other)
            if tok.text == "while":
                self.expect("(")
                cond = self.expression()
                self.expect(")")
                return ("while", tok.line, cond, self.statement())
            if tok.text == "for":
                self.expect("(")
                init = None if self.peek().text == ";" else self.simple()
                self.expect(";")
                cond = None if self.peek().text == ";" else self.expression()
                self.expect(";")
                step = None if self.peek().text == ")" else self.simple()
                self.expect(")")
                return ("for", tok.line, init, cond, step, self.statement())
            if tok.text == "return":
                value = None if self.peek().text in (";", "}") else self.expression()
                self.accept(";")
                return ("return", tok.line, value)
            if tok.text in ("break", "continue"):
                self.accept(";")
                return (tok.text, tok.line)
            stmt = self.simple()                  # var x = ...
            self.accept(";")
            return stmt
        stmt = self.simple()
        self.accept(";")
        return stmt

    def simple(self) -> tuple:
        """An assignment, ``x++``/``x--``/``++x``/``--x`` or an expression."""
        self.accept("var")
        pre = self.peek()
        if pre.text in ("++", "--") and pre.kind == "op":
            self.take()
            target = self.postfix(self.primary())
            if target[0] not in ("name", "index"):
                raise ScriptError("Only variables and elements can be incremented.", pre.line)
            return ("assign", pre.line, target, "+=" if pre.text == "++" else "-=",
                    ("const", pre.line, 1))
        target = self.expression()
        tok = self.peek()
        if tok.text in ("=", "+=", "-=", "*=", "/="):
            self.take()
            if target[0] not in ("name", "index"):
                raise ScriptError("Only variables and elements can be assigned.", tok.line)
            return ("assign", tok.line, target, tok.text, self.expression())
        if tok.text in ("++", "--"):
            self.take()
            return ("assign", tok.line, target, "+=" if tok.text == "++" else "-=",
                    ("const", tok.line, 1))
        return ("expr", target[1], target)

    _LEVELS = (("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"),
               ("*", "/", "%"))

    def expression(self, level: int = 0) -> tuple:
        if level == len(self._LEVELS):
            return self.unary()
        left = self.expression(level + 1)
        while self.peek().kind == "op" and self.peek().text in self._LEVELS[level]:
            op = self.take()
            left = ("binary", op.line, op.text, left, self.expression(level + 1))
        return left

    def unary(self) -> tuple:
        tok = self.peek()
        if tok.text in ("-", "!") and tok.kind == "op":
            self.take()
            return ("unary", tok.line, tok.text, self.unary())
        return self.postfix(self.primary())

    def postfix(self, node: tuple) -> tuple:
        while True:
            tok = self.peek()
            if tok.text == "(" and node[0] == "name":
                self.take()
                args = []
                while not self.accept(")"):
                    args.append(self.expression())
                    if self.peek().text != ")":
                        self.expect(",")
                node = ("call", tok.line, node[2], args)
            elif tok.text == "[":
                self.take()
                index = self.expression()
                self.expect("]")
                node = ("index", tok.line, node, index)
            elif tok.text == "." and self.peek(1).kind == "name":
                self.take()
                node = ("member", tok.line, node, self.take().text)
            else:
                return node

    def primary(self) -> tuple:
        tok = self.take()
        if tok.kind == "number":
            return ("const", tok.line, float(tok.text) if "." in tok.text else int(tok.text))
        if tok.kind == "string":
            body = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), tok.text[1:-1])
            return ("const", tok.line, body)
        if tok.kind == "name":
            if tok.text in ("true", "false"):
                return ("const", tok.line, tok.text == "true")
            if tok.text == "null":
                return ("const", tok.line, None)
            return ("name", tok.line, tok.text)
        if tok.text == "(":
            inner = self.expression()
            self.expect(")")
            return inner
        if tok.text == "[":
            items = []
            while not self.accept("]"):
                items.append(self.expression())
                if self.peek().text != "]":
                    self.expect(",")
            return ("array", tok.line, items)
        raise ScriptError(f"Unexpected '{tok.text or 'end of file'}'.", tok.line)


# ---- running

class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


class _Exit(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def text_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, list):
        return "[" + ", ".join(text_of(v) for v in value) + "]"
    return str(value)


def truthy(value: Any) -> bool:
    return value not in (None, False, 0, 0.0, "") and value != []


@dataclass
class Message:
    line: int
    text: str
    severity: str = "MESSAGE"


@dataclass
class Run:
    """The outcome of a script: its exit status, messages and whether it ended or failed."""

    file_name: str
    exit_status: Any = None
    failed: bool = False
    messages: list[Message] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        msgs = []
        for m in self.messages:
            doc: dict[str, Any] = {"fileName": self.file_name, "lineNumber": m.line,
                                   "message": m.text}
            if m.severity != "MESSAGE":
                doc["severity"] = m.severity
            msgs.append(doc)
        return {"exitStatus": self.exit_status, "fileName": self.file_name,
                "status": "Failed" if self.failed else "Ended", "messages": msgs}


class Interpreter:
    def __init__(self, functions: dict[str, tuple], run: Run, arguments: list[str]) -> None:
        self.functions, self.run, self.arguments = functions, run, arguments
        self.globals: dict[str, Any] = {}
        self.steps = 0
        self.depth = 0

    def tick(self, line: int) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise ScriptError(f"The script ran more than {MAX_STEPS} steps.", line)

    def exec(self, node: tuple, scope: dict[str, Any]) -> None:
        kind, line = node[0], node[1]
        self.tick(line)
        if kind == "block":
            for stmt in node[2]:
                self.exec(stmt, scope)
        elif kind == "expr":
            self.eval(node[2], scope)
        elif kind == "assign":
            self.assign(node, scope)
        elif kind == "if":
            if truthy(self.eval(node[2], scope)):
                self.exec(node[3], scope)
            elif node[4] is not None:
                self.exec(node[4], scope)
        elif kind in ("while", "for"):
            self.loop(node, scope)
        elif kind == "return":
            raise _Return(None if node[2] is None else self.eval(node[2], scope))
        elif kind == "break":
            raise _Break()
        elif kind == "continue":
            raise _Continue()
        else:
            raise ScriptError(f"Unknown statement '{kind}'.", line)

    def loop(self, node: tuple, scope: dict[str, Any]) -> None:
        if node[0] == "while":
            cond, step, body = node[2], None, node[3]
        else:
            if node[2] is not None:
                self.exec(node[2], scope)
            cond, step, body = node[3], node[4], node[5]
        while cond is None or truthy(self.eval(cond, scope)):
            self.tick(node[1])
            try:
                self.exec(body, scope)
            except _Break:
                break
            except _Continue:
                pass
            if step is not None:
                self.exec(step, scope)

    def assign(self, node: tuple, scope: dict[str, Any]) -> None:
        _, line, target, op, expr = node
        value = self.eval(expr, scope)
        if op != "=":
            value = self.binary(op[0], self.eval(target, scope), value, line)
        if target[0] == "name":
            name = target[2]
            local = name in scope or (scope is not self.globals and name not in self.globals)
            (scope if local else self.globals)[name] = value
        else:
            container, index = self.eval(target[2], scope), self.eval(target[3], scope)
            if not isinstance(container, list) or not isinstance(index, int) or \
                    not 0 <= index <= len(container):
                raise ScriptError("Bad array element in assignment.", line)
            if index == len(container):
                container.append(value)
            else:
                container[index] = value

    def eval(self, node: tuple, scope: dict[str, Any]) -> Any:
        kind, line = node[0], node[1]
        if kind == "const":
            return node[2]
        if kind == "name":
            if node[2] in scope:
                return scope[node[2]]
            if node[2] in self.globals:
                return self.globals[node[2]]
            raise ScriptError(f"Variable '{node[2]}' is not defined.", line)
        if kind == "array":
            return [self.eval(item, scope) for item in node[2]]
        if kind == "unary":
            value = self.eval(node[3], scope)
            if node[2] == "!":
                return not truthy(value)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ScriptError(f"Cannot negate {text_of(value)}.", line)
            return -value
        if kind == "binary":
            if node[2] == "&&":
                left = self.eval(node[3], scope)
                return self.eval(node[4], scope) if truthy(left) else left
            if node[2] == "||":
                left = self.eval(node[3], scope)
                return left if truthy(left) else self.eval(node[4], scope)
            return self.binary(node[2], self.eval(node[3], scope), self.eval(node[4], scope), line)
        if kind == "index":
            container, index = self.eval(node[2], scope), self.eval(node[3], scope)
            if isinstance(container, (list, str)) and isinstance(index, int) and \
                    0 <= index < len(container):
                return container[index]
            raise ScriptError("Index out of range.", line)
        if kind == "member":
            value = self.eval(node[2], scope)
            if node[3] == "length" and isinstance(value, (list, str)):
                return len(value)
            raise ScriptError(f"Unknown member '{node[3]}'.", line)
        if kind == "call":
            return self.call(node[2], [self.eval(a, scope) for a in node[3]], line)
        raise ScriptError(f"Unknown expression '{kind}'.", line)

    def binary(self, op: str, a: Any, b: Any, line: int) -> Any:
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if op == "+" and (isinstance(a, str) or isinstance(b, str)):
            return text_of(a) + text_of(b)
        if op == "+" and isinstance(a, list) and isinstance(b, list):
            return a + b
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
        if op in ("<", ">", "<=", ">=") and (numbers or (isinstance(a, str) and isinstance(b, str))):
            return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        if not numbers:
            raise ScriptError(f"Cannot apply '{op}' to {text_of(a)} and {text_of(b)}.", line)
        if op in ("/", "%") and b == 0:
            raise ScriptError("Division by zero.", line)
        if op == "/":
            return a / b if not (isinstance(a, int) and isinstance(b, int) and a % b == 0) \
                else a // b
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        return a % b

    def call(self, name: str, args: list[Any], line: int) -> Any:
        if name == "print":
            self.run.messages.append(Message(line, "".join(text_of(a) for a in args)))
            return None
        if name in ("error", "warning"):
            self.run.messages.append(Message(line, "".join(text_of(a) for a in args),
                                             name.upper()))
            return None
        if name == "exit":
            raise _Exit(args[0] if args else None)
        if name == "length" and len(args) == 1 and isinstance(args[0], (list, str)):
            return len(args[0])
        if name == "arguments":
            return list(self.arguments)
        func = self.functions.get(name)
        if func is None:
            raise ScriptError(f"Function '{name}' is not defined.", line)
        _, _, params, body = func
        if len(args) > len(params):
            raise ScriptError(f"Function '{name}' takes {len(params)} arguments.", line)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ScriptError("Too deep recursion.", line)
        try:
            self.exec(body, dict(zip(params, args + [None] * (len(params) - len(args)))))
        except _Return as ret:
            return ret.value
        finally:
            self.depth -= 1
        return None


def execute(file_name: str, source: str, arguments: str = "") -> Run:
    """Run a script: its top-level statements, then ``main`` if it defines one."""
    run = Run(file_name)
    try:
        functions, body = Parser(tokenize(source)).program()
        interp = Interpreter(functions, run, arguments.split())
        interp.exec(("block", 1, body), interp.globals)
        if "main" in functions:
            run.exit_status = interp.call("main", [], functions["main"][1])
    except _Exit as done:
        run.exit_status = done.value
    except ScriptError as exc:
        run.failed = True
        run.exit_status = False
        run.messages.append(Message(exc.line, str(exc), "ERROR"))
    except RecursionError:
        run.failed = True
        run.exit_status = False
        run.messages.append(Message(0, "The script nests too deeply.", "ERROR"))
    return run
