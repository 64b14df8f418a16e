"""Shared fixtures. ``cmon`` (a real fakecmon server over TLS on an ephemeral port, one
per session or xdist worker, with a fresh world per test) comes from fakecmon's own
pytest plugin, as it does for every user of fakecmon."""

from __future__ import annotations

import os
from pathlib import Path

# Every cached view is checked against a freshly built one: a mutation path that
# leaves a stale view fails the test that takes it (fakecmon/world/views.py).
os.environ.setdefault("FAKECMON_VERIFY_VIEWS", "1")   # servers run as processes

import pytest

from fakecmon.client import RpcClient
from fakecmon.testing import FakeCmon
from fakecmon.world import views

views.VERIFY = os.environ["FAKECMON_VERIFY_VIEWS"] not in ("", "0")   # and in this one

SHARED_CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "contract"


@pytest.fixture
def system(cmon: FakeCmon) -> RpcClient:
    """A client logged in as the superuser ``system``."""
    client = cmon.client()
    assert client.login("system", "secret")["request_status"] == "Ok"
    return client


@pytest.fixture
def reader(cmon: FakeCmon) -> RpcClient:
    """A client logged in as ``readeruser`` (read-only on every cluster)."""
    client = cmon.client()
    assert client.login("readeruser", "s3cr3tP455")["request_status"] == "Ok"
    return client


@pytest.fixture
def contract() -> Path:
    """``../shared/contract``; tests that need it skip cleanly where it is absent."""
    if not SHARED_CONTRACT.is_dir():
        pytest.skip("../shared/contract is not present")
    return SHARED_CONTRACT
