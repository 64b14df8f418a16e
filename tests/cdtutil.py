"""Helpers of the user and tree tests: requests with a ``path`` field, key logins, replays."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from fakecmon.client import RpcClient
from fakecmon.testing import FakeCmon


def op(client: RpcClient, path: str, operation: str, /, **fields: Any) -> dict[str, Any]:
    """One request like s9s sends it (``RpcClient.call`` cannot take a ``path`` field)."""
    client.request_id += 1
    body = {"operation": operation, "request_id": client.request_id,
            "request_created": "2021-02-09T10:04:32.360Z", **fields}
    return client.post(path, body).json


def login(cmon: FakeCmon, user: str, password: str) -> RpcClient:
    client = cmon.client()
    reply = client.login(user, password)
    assert reply["request_status"] == "Ok", reply
    return client


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem_pkcs1(key: rsa.RSAPrivateKey) -> str:
    """The public key as ``s9s user --generate-key`` writes it: ``BEGIN RSA PUBLIC KEY``."""
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.PKCS1).decode()


def openssh(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                         serialization.PublicFormat.OpenSSH).decode() + " me@host\n"


def key_login(cmon: FakeCmon, user: str, key: rsa.RSAPrivateKey) -> tuple[RpcClient, dict[str, Any]]:
    """s9s's RSA login: ``authenticate {username}``, sign the challenge, answer on a new
    connection joined by the cookie only."""
    client = cmon.client()
    first = op(client, "/v2/auth", "authenticate", username=user)
    challenge = first.get("challenge", "")
    signature = base64.b64encode(key.sign(challenge.encode(), padding.PKCS1v15(),
                                          hashes.SHA256())).decode()
    second = op(client, "/v2/auth", "authenticateResponse", signature=signature)
    return client, second


# ---- capture replays


def capture(contract: Path, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    base = contract / "captures" / name
    return (json.loads(Path(f"{base}-req.json").read_text()),
            json.loads(Path(f"{base}-rep.json").read_text()))


def json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(v)]


def type_mismatches(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Every place where both documents have a value and the JSON types differ
    (lists: every element of ours against the first of theirs)."""
    if json_type(ours) != json_type(theirs):
        return [f"{path or '.'}: {json_type(ours)} where CMON has {json_type(theirs)}"]
    if isinstance(ours, dict):
        out = []
        for key in ours.keys() & theirs.keys():
            out += type_mismatches(ours[key], theirs[key], f"{path}.{key}")
        return out
    if isinstance(ours, list) and theirs:
        out = []
        for i, item in enumerate(ours):
            out += type_mismatches(item, theirs[0], f"{path}[{i}]")
        return out
    return []


def replay(client: RpcClient, path: str, req: dict[str, Any], /, **changes: Any) -> dict[str, Any]:
    """Send a captured request, with some fields changed to fit the test world."""
    body = {**req, **changes}
    return client.post(path, {k: v for k, v in body.items() if v is not None}).json


def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Same status, same top-level fields (``reply_received`` is s9s's), same JSON types."""
    assert ours["request_status"] == theirs["request_status"], ours
    assert set(ours) == set(theirs) - {"reply_received"}, ours
    mismatches = type_mismatches({k: v for k, v in ours.items() if k in theirs}, theirs)
    assert not mismatches, mismatches
