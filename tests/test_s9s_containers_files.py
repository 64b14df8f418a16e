"""What s9s sends in s9s-tools' container, tree-file and save/restore scripts
(ft_cmon_cloud, ft_importconfig, ft_clustersave, ft_controllersave...), replayed over TLS.

As in ``tests/test_s9s_deploy.py``: each test sends the requests of the s9s commands a
script runs and asserts what the script checks, in the reply fields s9s prints from.
"""

from __future__ import annotations

from typing import Any

import pytest

from fakecmon.testing import FakeCmon
from test_s9s_deploy import (HOST, ME, create_container, make_user, ok, run_job, s9s,
                             system, tree)
from test_s9s_functional import S9s

pytestmark = [pytest.mark.cmon_world("../fixtures/fresh.yaml"), pytest.mark.fakecmon_strict]


def create_server(cmon: FakeCmon, client: S9s, hostname: str) -> dict[str, Any]:
    """``server --create --servers=cmon-cloud://HOST --wait``."""
    return run_job(cmon, client, "create_container_server", {
        "disable_firewall": True, "disable_selinux": True, "install_software": True,
        "ssh_keyfile": "/home/pipas/.ssh/id_rsa",
        "server": {"class_name": "CmonCloudServer", "hostname": hostname,
                   "ssh_credentials": {"class_name": "CmonSshCredentials",
                                       "public_key_file": "/home/pipas/.ssh/id_rsa"}}},
        title="Create Container Server")


def cloud_server(hostname: str) -> list[dict[str, Any]]:
    """``--servers=cmon-cloud://HOST`` as s9s sends it to unregisterServers."""
    return [{"class_name": "CmonCloudServer", "hostname": hostname}]


def test_cmon_cloud_server_created_by_a_job_then_unregistered(cmon):
    """ft_cmon_cloud installCmonCloud: a container gets an address, ``server --create``
    on it registers a cmon-cloud server of the user (listed, on-line), and ``server
    --unregister`` finds it by that address."""
    make_user(cmon)
    me = s9s(cmon)
    ok(me.call(HOST, "registerServers", servers=[{"class_name": "CmonLxcServer",
                                                   "hostname": "vm"}]))
    made = create_container(cmon, me, "ft_cmon_cloud_ubuntu_focal_00")
    assert made["status"] == "FINISHED", made
    (container,) = ok(me.call(HOST, "getContainers"))["containers"]
    address = container["ip"]
    job = create_server(cmon, me, address)
    assert job["status"] == "FINISHED", job
    listed = ok(me.call(HOST, "getServers", servers=cloud_server(address)))["servers"]
    assert [(s["hostname"], s["class_name"], s["hoststatus"], s["owner_user_name"])
            for s in listed] == [(address, "CmonCloudServer", "CmonHostOnline", ME)]
    assert address in {i["item_name"] for i in tree(me)["sub_items"]}
    again = create_server(cmon, me, address)
    assert again["status"] == "FAILED"
    assert again["status_text"] == f"Server '{address}' is already registered."
    ok(me.call(HOST, "unregisterServers", servers=cloud_server(address)))
    assert [s["hostname"] for s in ok(me.call(HOST, "getServers"))["servers"]] == ["vm"]


def test_create_server_needs_a_host_name(cmon):
    job = run_job(cmon, system(cmon), "create_container_server",
                  {"server": {"class_name": "CmonCloudServer"}})
    assert job["status"] == "FAILED"
    assert "hostname" in job["status_text"]
    assert ok(system(cmon).call(HOST, "getServers"))["total"] == 0
