"""/v2/imperative: scripts kept and run by the controller (``s9s script``).

Scripts are saved in the world (``world.extensions["scripts"]``, path -> source)
and run by ``fakecmon.scripting``, which interprets the core of CMON's
JavaScript-like language: ``print`` output comes back as messages with their
line numbers, ``exit(value)`` (or ``main``'s return value) as ``exitStatus``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fakecmon import permissions
from fakecmon.errors import invalid, not_found
from fakecmon.rpc import Call, Payload, operation
from fakecmon.scripting import execute
from fakecmon.timefmt import rfc3339
from fakecmon.world.state import World

PATH = "/v2/imperative"
MAX_SCRIPT = 1024 * 1024


@dataclass
class Script:
    path: str
    content: str
    saved: float
    owner_user_id: int


@dataclass
class Scripts:
    items: dict[str, Script] = field(default_factory=dict)


def scripts(world: World) -> Scripts:
    return world.extensions.setdefault("scripts", Scripts())


def script_path(call: Call) -> str:
    """``filename`` as an absolute path in the script tree (``./a/b.js`` -> ``/a/b.js``)."""
    raw = call.arg("filename", str).strip()
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise invalid(f"'{raw}' is not a valid script file name.")
    return "/" + "/".join(parts)


def _check(call: Call, wanted: str) -> None:
    """Scripts run on a cluster (``cluster_id``) or on the controller."""
    user = call.login_user()
    cluster = call.cluster(required=False)
    permissions.check_cluster(call.world, user, cluster,
                              cluster.cluster_id if cluster is not None else 0, wanted)


def _content(call: Call) -> str:
    content = call.arg("content", str)
    if len(content) > MAX_SCRIPT:
        raise invalid(f"The script is larger than {MAX_SCRIPT} bytes.")
    return content


@operation(PATH, "saveScript")
def save_script(call: Call) -> Payload:
    _check(call, permissions.WRITE)
    path = script_path(call)
    store = scripts(call.world).items
    if any(p.startswith(path + "/") for p in store):
        raise invalid(f"'{path}' is a folder.")
    store[path] = Script(path, _content(call), call.now, call.login_user().user_id)
    return {"messages": [f"Script '{path}' is saved."]}


@operation(PATH, "removeScript")
def remove_script(call: Call) -> Payload:
    _check(call, permissions.WRITE)
    path = script_path(call)
    if scripts(call.world).items.pop(path, None) is None:
        raise not_found(f"Script '{path}' is not found.")
    return {"messages": [f"Script '{path}' is removed."]}


def _tree(items: dict[str, Script]) -> dict[str, Any]:
    root: dict[str, Any] = {"name": "/", "type": "folder", "contents": []}
    for path in sorted(items):
        node = root
        *folders, name = path.strip("/").split("/")
        for folder in folders:
            child = next((c for c in node["contents"] if c["name"] == folder
                          and c["type"] == "folder"), None)
            if child is None:
                child = {"name": folder, "type": "folder", "contents": []}
                node["contents"].append(child)
            node = child
        script = items[path]
        node["contents"].append({"name": name, "type": "file", "size": len(script.content),
                                 "saved": rfc3339(script.saved)})
    return root


@operation(PATH, "dirTree")
def dir_tree(call: Call) -> Payload:
    _check(call, permissions.READ)
    return {"data": _tree(scripts(call.world).items)}


@operation(PATH, "executeScript")
def execute_script(call: Call) -> Payload:
    """Run a saved script with ``arguments`` (a string, split on white space)."""
    _check(call, permissions.EXECUTE)
    path = script_path(call)
    script = scripts(call.world).items.get(path)
    if script is None:
        raise not_found(f"Script '{path}' is not found.")
    run = execute(call.arg("filename", str), script.content, call.arg("arguments", str, ""))
    return {"results": run.to_json()}


@operation(PATH, "executeExternalScript")
def execute_external_script(call: Call) -> Payload:
    """Run the ``content`` the client sends (``s9s script --execute FILE``)."""
    _check(call, permissions.EXECUTE)
    name = call.arg("filename", str, "") or "external.js"
    run = execute(name, _content(call), call.arg("arguments", str, ""))
    return {"results": run.to_json()}
