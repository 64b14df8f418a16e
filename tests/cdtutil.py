"""Helpers of the user and tree tests: requests with a ``path`` field, key logins, replays."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from fakecmon.client import RpcClient
from fakecmon.testing import FakeCmon
from shapes import compare, json_type, load_capture, login, replay, type_mismatches

__all__ = ["capture", "compare", "json_type", "key_login", "login", "new_key", "op", "openssh",
           "pem_pkcs1", "replay", "type_mismatches"]


def op(client: RpcClient, path: str, operation: str, /, **fields: Any) -> dict[str, Any]:
    """One request like s9s sends it (``RpcClient.call`` cannot take a ``path`` field)."""
    client.request_id += 1
    body = {"operation": operation, "request_id": client.request_id,
            "request_created": "2021-02-09T10:04:32.360Z", **fields}
    return client.post(path, body).json


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
    return load_capture(contract, name)
