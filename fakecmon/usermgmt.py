"""CMON's user management FIFO (``/var/lib/cmon/usermgmt.fifo``): the bootstrap of the first user.

``s9s user --create`` without credentials (no cmon_user, password or key yet) cannot
log in, so it writes its createUser request into this named pipe with
``echo "<json>" | sudo tee /var/lib/cmon/usermgmt.fifo``; whoever may write the pipe
(root: it is mode 0600) is trusted, and the controller applies the request as the
``system`` user. Nothing is answered: s9s only knows that ``tee`` succeeded.

Two request shapes arrive here:

- the createUser request s9s sends over RPC (``{"operation": "createUser",
  "user": {...}, "new_password", "create_group"}``), pretty-printed over several lines;
- the flat request of controllers up to 1.4.2 (``{"user_name", "pubkey", "group",
  "create_group", "first_name", ...}``).

With dash as ``/bin/sh`` the ``echo`` turns the ``\\n`` escapes inside the PEM key into
real newlines, so documents are parsed with ``strict=False``. Naming a user that
exists *grants* it access: its key is registered and, when given, its password set
(what s9s calls "Grant user ... succeeded").

The pipe is read without blocking the event loop: it is opened ``O_RDWR |
O_NONBLOCK`` (so there is always a writer and no EOF between two ``tee`` runs) and
watched with ``loop.add_reader``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fakecmon.api.users import grant_user
from fakecmon.errors import RpcError
from fakecmon.rpc import Call, catch_up, find_operation
from fakecmon.world.models import User

if TYPE_CHECKING:
    from fakecmon.controller import Controller

log = logging.getLogger("fakecmon.usermgmt")

USERS_PATH = "/v2/users"
#: A request bigger than this is garbage: it is dropped (a key is a few KiB).
MAX_REQUEST = 1024 * 1024
_DECODER = json.JSONDecoder(strict=False)


class UsermgmtError(Exception):
    """The FIFO cannot be made or opened (a file that is not a FIFO is in the way...)."""


def ensure_fifo(path: Path) -> None:
    """Make ``path`` a FIFO with mode 0600 unless one is there already."""
    try:
        st = path.stat()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path, 0o600)
        os.chmod(path, 0o600)   # mkfifo's mode goes through the umask
        return
    if not stat.S_ISFIFO(st.st_mode):
        raise UsermgmtError(f"{path} exists and is not a FIFO")


def split_documents(buffer: str) -> tuple[list[Any], list[str], str]:
    """The complete JSON documents at the start of ``buffer``, the errors of broken ones,
    and what is left (an incomplete document waits for more bytes).

    A document that cannot be parsed although it has ended (the text so far ends with
    ``}`` and a newline, as every ``echo`` does) is reported and dropped.
    """
    docs: list[Any] = []
    errors: list[str] = []
    pos = 0
    while True:
        while pos < len(buffer) and buffer[pos].isspace():
            pos += 1
        if pos >= len(buffer):
            return docs, errors, ""
        try:
            doc, end = _DECODER.raw_decode(buffer, pos)
        except json.JSONDecodeError as exc:
            rest = buffer[pos:]
            if rest.rstrip().endswith("}") and rest.endswith("\n") and not _incomplete(exc, buffer):
                errors.append(f"{exc.msg} at character {exc.pos - pos}")
                return docs, errors, ""
            return docs, errors, rest
        docs.append(doc)
        pos = end


def _incomplete(exc: json.JSONDecodeError, text: str) -> bool:
    """True when parsing stopped because the text ended, not at a wrong character."""
    return exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")


def create_user_body(doc: dict[str, Any]) -> dict[str, Any]:
    """The createUser request of either shape (see the module doc)."""
    if "user" in doc or str(doc.get("operation", "")).lower() == "createuser":
        return {**doc, "operation": "createUser"}
    user: dict[str, Any] = {"class_name": "CmonUser", "user_name": doc.get("user_name")}
    for key in ("title", "first_name", "last_name", "email_address"):
        if doc.get(key) is not None:
            user[key] = doc[key]
    if doc.get("group"):
        user["groups"] = [{"class_name": "CmonGroup", "group_name": doc["group"]}]
    if doc.get("pubkey"):
        user["public_keys"] = [{"name": "No Name", "key": doc["pubkey"]}]
    body: dict[str, Any] = {"operation": "createUser", "user": user}
    if doc.get("create_group") is not None:
        body["create_group"] = doc["create_group"]
    for key in ("new_password", "password"):
        if isinstance(doc.get(key), str):
            body["new_password"] = doc[key]
            break
    return body


def apply_request(controller: "Controller", doc: Any) -> tuple[str, str]:
    """Apply one request read from the FIFO as the ``system`` user; returns (status, text).

    Like a request over RPC, a refused one changes nothing.
    """
    if not isinstance(doc, dict):
        return "InvalidRequest", "The request is not a JSON object."
    body = create_user_body(doc)
    spec = body.get("user")
    name = spec.get("user_name") if isinstance(spec, dict) else None
    if not isinstance(name, str) or not name:
        return "InvalidRequest", "The request names no user."
    world = controller.world
    system = world.user_by_name("system")
    if system is None:
        return "UnknownError", "The controller has no 'system' user to act as."
    call = Call(controller, USERS_PATH, body, peer="usermgmt.fifo")
    call.user = system
    catch_up(world, call.now)
    existing = world.user_by_name(name)
    if existing is not None:
        try:
            return _grant(call, existing, body)
        finally:
            world.changed()
    op = find_operation(USERS_PATH, "createUser")
    assert op is not None
    try:
        op.handler(call)
    except RpcError as exc:
        return exc.status, exc.message or exc.status
    finally:
        world.changed()
    return "Ok", f"User '{name}' created."


def _grant(call: Call, user: User, body: dict[str, Any]) -> tuple[str, str]:
    """An existing user: what createUser over RPC does for it (``grant_user``)."""
    try:
        done = grant_user(call, user, body["user"])
    except RpcError as exc:
        return exc.status, exc.message or exc.status
    return "Ok", f"User '{user.user_name}' granted: {', '.join(done) or 'nothing to change'}."


def _decode_prefix(data: bytes) -> tuple[str, bytes]:
    """The text of ``data`` and the bytes of a UTF-8 character cut by the chunk end."""
    try:
        return data.decode("utf-8"), b""
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return data[:exc.start].decode("utf-8", errors="replace"), data[exc.start:]
        return data.decode("utf-8", errors="replace"), b""


class UsermgmtFifo:
    """Reads ``path`` on the running event loop and applies what arrives."""

    def __init__(self, controller: "Controller", path: Path) -> None:
        self.controller = controller
        self.path = Path(path)
        self.fd: int | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._bytes = b""

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            ensure_fifo(self.path)
            # O_RDWR: the pipe always has a writer (us), so no EOF storm between two
            # writers and no blocking open; O_NONBLOCK: reads never stall the loop.
            self.fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK)
        except OSError as exc:
            raise UsermgmtError(f"{self.path}: {exc.strerror}") from None
        self.loop = loop
        loop.add_reader(self.fd, self._readable)
        log.info("reading user management requests from %s", self.path)

    def stop(self) -> None:
        if self.fd is None:
            return
        if self.loop is not None:
            self.loop.remove_reader(self.fd)
        os.close(self.fd)
        self.fd = None

    def _readable(self) -> None:
        assert self.fd is not None
        try:
            while chunk := os.read(self.fd, 65536):
                self._bytes += chunk
        except BlockingIOError:
            pass
        if len(self._bytes) > MAX_REQUEST:
            log.warning("usermgmt.fifo: dropped %d bytes without a complete request",
                        len(self._bytes))
            self._bytes = b""
            return
        text, tail = _decode_prefix(self._bytes)
        docs, errors, rest = split_documents(text)
        self._bytes = rest.encode("utf-8") + tail
        for error in errors:
            log.warning("usermgmt.fifo: InvalidRequest: not a JSON request: %s", error)
        for doc in docs:
            status, text = apply_request(self.controller, doc)
            if status == "Ok":
                log.info("usermgmt.fifo: createUser Ok: %s", text)
            else:
                log.warning("usermgmt.fifo: createUser %s: %s", status, text)
