"""/v2/cloud: cloud credentials the controller keeps (backups to S3, cloud deployments).

Credentials live in the world (``world.extensions["cloud"]``); secrets are never
sent back (``****``). fakecmon reaches no cloud, so ``verifyCredentials`` checks
what can be checked offline: the provider is known and every field it needs is
present and non-empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fakecmon import permissions
from fakecmon.errors import invalid, not_found
from fakecmon.rpc import Call, Payload, operation
from fakecmon.timefmt import rfc3339
from fakecmon.world.state import World

PATH = "/v2/cloud"
MASK = "****"

#: provider -> fields its credentials need
PROVIDERS: dict[str, tuple[str, ...]] = {
    "aws": ("access_key_id", "access_key_secret", "access_key_region"),
    "s3": ("access_key_id", "access_key_secret", "endpoint"),
    "gce": ("project_id", "client_email", "private_key"),
    "az": ("subscription_id", "tenant_id", "client_id", "client_secret"),
}
SECRETS = ("access_key_secret", "private_key", "client_secret", "password")


@dataclass
class Credential:
    id: int
    provider: str
    name: str
    comment: str
    credentials: dict[str, Any]
    created: float
    owner_user_id: int

    def to_json(self) -> dict[str, Any]:
        shown = {k: (MASK if k in SECRETS and v else v) for k, v in self.credentials.items()}
        return {"id": self.id, "provider": self.provider, "name": self.name,
                "comment": self.comment, "credentials": shown, "created": rfc3339(self.created),
                "owner_user_id": self.owner_user_id}


@dataclass
class CloudState:
    next_id: int = 1
    credentials: dict[int, Credential] = field(default_factory=dict)


def cloud(world: World) -> CloudState:
    return world.extensions.setdefault("cloud", CloudState())


def _check(call: Call, wanted: str) -> None:
    user = call.login_user()
    root = permissions.controller_object(call.world)
    permissions.check_object(call.world, user, root, "/", wanted)


def _provider(call: Call) -> str:
    provider = call.arg("provider", str).lower()
    if provider not in PROVIDERS:
        raise invalid(f"Unknown cloud provider '{provider}' (known: {', '.join(PROVIDERS)}).")
    return provider


def _credentials(call: Call, provider: str, required: bool) -> dict[str, Any]:
    creds = call.arg("credentials", dict) if required else call.arg("credentials", dict, {})
    for key, value in creds.items():
        if not isinstance(value, (str, int, float, bool)):
            raise invalid(f"The credential field '{key}' must be a string.")
    if required:
        missing = [k for k in PROVIDERS[provider] if not str(creds.get(k, "")).strip()]
        if missing:
            raise invalid(f"The {provider} credentials need {', '.join(missing)}.")
    return dict(creds)


def _find(call: Call) -> Credential:
    cid = call.arg("id", int)
    cred = cloud(call.world).credentials.get(cid)
    if cred is None or ("provider" in call.body and call.arg("provider", str).lower()
                        != cred.provider):
        raise not_found(f"Cloud credentials with id {cid} are not found.")
    return cred


@operation(PATH, "addCredentials")
def add_credentials(call: Call) -> Payload:
    _check(call, permissions.WRITE)
    provider = _provider(call)
    name = call.arg("name", str).strip()
    if not name:
        raise invalid("The credentials need a 'name'.")
    state = cloud(call.world)
    if any(c.name == name and c.provider == provider for c in state.credentials.values()):
        raise invalid(f"There are already {provider} credentials named '{name}'.")
    cred = Credential(state.next_id, provider, name, call.arg("comment", str, ""),
                      _credentials(call, provider, True), call.now, call.login_user().user_id)
    state.credentials[cred.id] = cred
    state.next_id += 1
    return {"id": cred.id, "credential": cred.to_json()}


@operation(PATH, "listCredentials")
def list_credentials(call: Call) -> Payload:
    """Credentials by provider (``provider`` narrows the list)."""
    _check(call, permissions.READ)
    only = call.arg("provider", str, "").lower()
    result: dict[str, list[dict[str, Any]]] = {p: [] for p in PROVIDERS if not only or p == only}
    for cred in sorted(cloud(call.world).credentials.values(), key=lambda c: c.id):
        if cred.provider in result:
            result[cred.provider].append(cred.to_json())
    return {"total": sum(len(v) for v in result.values()), "result": result}


@operation(PATH, "getCredentials")
def get_credentials(call: Call) -> Payload:
    _check(call, permissions.READ)
    return {"credential": _find(call).to_json()}


@operation(PATH, "updateCredentials")
def update_credentials(call: Call) -> Payload:
    """Change the name, comment or credential fields (fields not sent stay)."""
    _check(call, permissions.WRITE)
    cred = _find(call)
    merged = {**cred.credentials, **_credentials(call, cred.provider, False)}
    missing = [k for k in PROVIDERS[cred.provider] if not str(merged.get(k, "")).strip()]
    if missing:
        raise invalid(f"The {cred.provider} credentials need {', '.join(missing)}.")
    name = call.arg("name", str, cred.name).strip() or cred.name
    cred.name, cred.comment = name, call.arg("comment", str, cred.comment)
    cred.credentials = merged
    return {"credential": cred.to_json()}


@operation(PATH, "removeCredentials")
def remove_credentials(call: Call) -> Payload:
    _check(call, permissions.WRITE)
    cred = _find(call)
    del cloud(call.world).credentials[cred.id]
    return {}


@operation(PATH, "verifyCredentials", kind="world-data")
def verify_credentials(call: Call) -> Payload:
    """Stored credentials (``id``) or sent ones (``provider`` + ``credentials``), checked offline."""
    _check(call, permissions.READ)
    if call.body.get("id") not in (None, ""):
        cred = _find(call)
        provider, creds = cred.provider, cred.credentials
    else:
        provider = _provider(call)
        creds = _credentials(call, provider, False)
    missing = [k for k in PROVIDERS[provider] if not str(creds.get(k, "")).strip()]
    if missing:
        return {"verified": False, "provider": provider,
                "messages": [f"The {provider} credentials lack {', '.join(missing)}."]}
    return {"verified": True, "provider": provider,
            "messages": [f"The {provider} credentials are complete."]}
