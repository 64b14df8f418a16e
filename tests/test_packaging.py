"""fakecmon as a user installs it: ``python -m build`` makes an sdist and a wheel that carry
everything ``serve`` needs; the wheel, installed into a fresh virtual environment outside
the checkout, serves the default world over TLS. Plus ``--version`` and the metadata.

The build needs the package registry for its build backend (pinned by constraints.txt),
as CI has it.
"""

from __future__ import annotations

import email.parser
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import tarfile
import tomllib
import venv
import zipfile
from pathlib import Path

import fakecmon
from fakecmon import CMON_VERSION, __version__

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "constraints.txt"
LISTENING = re.compile(r"listening on https://127\.0\.0\.1:(\d+)$")


def package_files() -> dict[str, bytes]:
    """Every file of the fakecmon package in the checkout (symlinks read through), by its
    path in a wheel: what an installed fakecmon must carry."""
    files = {}
    for path in sorted((ROOT / "fakecmon").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files[path.relative_to(ROOT).as_posix()] = path.read_bytes()
    return files


def build(outdir: Path) -> tuple[Path, Path]:
    """``python -m build``: the sdist, then the wheel built from it (as a release is made)."""
    env = {**os.environ, "PIP_CONSTRAINT": str(CONSTRAINTS)}
    run = subprocess.run([sys.executable, "-m", "build", "--outdir", str(outdir), str(ROOT)],
                         capture_output=True, text=True, timeout=900, env=env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    sdists, wheels = list(outdir.glob("*.tar.gz")), list(outdir.glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, list(outdir.iterdir())
    return sdists[0], wheels[0]


def check_sdist(sdist: Path, wanted: dict[str, bytes]) -> None:
    assert sdist.name == f"fakecmon-{__version__}.tar.gz"
    top = f"fakecmon-{__version__}/"
    with tarfile.open(sdist) as tar:
        members = {m.name.removeprefix(top): m for m in tar.getmembers()}
        links = [name for name, m in members.items() if m.issym() or m.islnk()]
        assert links == [], f"the sdist must carry real files, not links: {links}"
        for name in ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md",
                     "constraints.txt", *wanted):
            assert name in members and members[name].isfile(), name
        assert not [n for n in members if n.startswith("tests/")], "a half test suite"
        for name, data in wanted.items():
            extracted = tar.extractfile(members[name])
            assert extracted is not None and extracted.read() == data, name


def check_wheel(wheel: Path, wanted: dict[str, bytes]) -> None:
    assert wheel.name == f"fakecmon-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        for name, data in wanted.items():      # the default world, py.typed, static files
            assert name in names, f"the wheel lacks {name}"
            assert whl.read(name) == data, name
        assert not any(n.startswith(("tests/", "fixtures/", "bench/")) for n in names)
        info = f"fakecmon-{__version__}.dist-info/"
        meta = email.parser.Parser().parsestr(whl.read(info + "METADATA").decode())
        entry_points = whl.read(info + "entry_points.txt").decode()
        assert f"{info}licenses/LICENSE" in names
    assert meta["Name"] == "fakecmon" and meta["Version"] == __version__
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta["Requires-Python"] == ">=3.11"
    assert {"cmon", "clustercontrol", "testing"} <= set(meta["Keywords"].split(","))
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert {"Homepage", "Source", "Issues", "Changelog"} <= set(urls)
    classifiers = meta.get_all("Classifier")
    for version in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    assert "Typing :: Typed" in classifiers
    requires = {re.split(r"[<>=!~ ;\[]", r, maxsplit=1)[0].lower()
                for r in meta.get_all("Requires-Dist") if "extra ==" not in r}
    assert requires == {"aiohttp", "cryptography", "pyyaml", "orjson"}
    assert "fakecmon = fakecmon.cli:main" in entry_points
    assert "fakecmon = fakecmon.pytest_plugin" in entry_points


def fresh_venv(where: Path, wheel: Path) -> Path:
    """A new virtual environment with the wheel and its pinned dependencies; its bin/."""
    venv.create(where, with_pip=True)
    run = subprocess.run([str(where / "bin" / "python"), "-m", "pip", "install", "--quiet",
                          "--disable-pip-version-check", "-c", str(CONSTRAINTS), str(wheel)],
                         capture_output=True, text=True, timeout=900, cwd=where)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return where / "bin"


def user_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: none of the checkout's or fakecmon's settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FAKECMON_", "PYTHON", "VIRTUAL_ENV", "RPC_BIND"))}
    return {**env, **extra}


def https(port: int, ctx: ssl.SSLContext, name: str, method: str, path: str,
          body: dict | None = None, cookie: str = "") -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname=name) as tls:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.sock = tls
            headers = {"Content-Type": "application/json", **({"Cookie": cookie} if cookie else {})}
            conn.request(method, path, body=json.dumps(body) if body is not None else None,
                         headers=headers)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()


def serve_from(bin_dir: Path, home: Path) -> None:
    """``fakecmon serve`` of the installed wheel, run from outside the checkout, answers
    a verified TLS client: login, the default world's clusters, the CA certificate."""
    certs = home / "certs"
    proc = subprocess.Popen([str(bin_dir / "fakecmon"), "serve", "--port", "0", "--quiet",
                             "--certs-dir", str(certs), "--cert-hostname", "wheel.example.test"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=home, env=user_env(HOME=str(home)))
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        match = LISTENING.match(first)
        assert match, (first, proc.stderr.read() if proc.poll() is not None else "")
        port = int(match.group(1))
        assert proc.stdout.readline().strip() == f"CA certificate: {certs / 'ca.pem'}"
        ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        status, headers, raw = https(port, ctx, "wheel.example.test", "POST", "/v2/auth",
                                     {"operation": "authenticateWithPassword",
                                      "user_name": "system", "password": "secret"})
        assert status == 200 and json.loads(raw)["request_status"] == "Ok", raw
        assert headers["Server"] == f"cmon/{CMON_VERSION}"
        sid = headers["Set-Cookie"].split(";")[0]
        status, _, raw = https(port, ctx, "localhost", "POST", "/v2/clusters",
                               {"operation": "getAllClusterInfo"}, sid)
        reply = json.loads(raw)
        assert reply["request_status"] == "Ok" and reply["total"] >= 1, reply
        status, headers, raw = https(port, ctx, "127.0.0.1", "GET", "/_fakecmon/ca.pem")
        assert status == 200 and raw == (certs / "ca.pem").read_bytes()
        health = subprocess.run([str(bin_dir / "python"), "-m", "fakecmon.healthcheck",
                                 "--port", str(port)], capture_output=True, text=True,
                                timeout=60, cwd=home, env=user_env())
        assert health.returncode == 0 and health.stdout.strip() == "healthy", health.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""


def test_the_wheel_installs_outside_the_checkout_and_serves(tmp_path):
    wanted = package_files()
    assert "fakecmon/data/default.yaml" in wanted and "fakecmon/py.typed" in wanted
    sdist, wheel = build(tmp_path / "dist")
    check_sdist(sdist, wanted)
    check_wheel(wheel, wanted)

    home = tmp_path / "user"
    home.mkdir()
    bin_dir = fresh_venv(home / "venv", wheel)
    where = subprocess.run([str(bin_dir / "python"), "-c", "import fakecmon; "
                            "print(fakecmon.__file__); print(fakecmon.DEFAULT_WORLD)"],
                           capture_output=True, text=True, timeout=60, cwd=home,
                           env=user_env())
    module, world = where.stdout.split()
    assert Path(module).is_relative_to(home / "venv"), module      # not the checkout
    assert Path(world).is_file() and not Path(world).is_symlink()
    version = subprocess.run([str(bin_dir / "fakecmon"), "--version"], capture_output=True,
                             text=True, timeout=60, cwd=home, env=user_env())
    assert version.stdout.strip() == f"fakecmon {__version__} (CMON {CMON_VERSION} RPC v2 API)"
    serve_from(bin_dir, home)


# ---- fast checks, no build

def test_version():
    run = subprocess.run([sys.executable, "-m", "fakecmon", "--version"], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0
    assert run.stdout.strip() == f"fakecmon {__version__} (CMON {CMON_VERSION} RPC v2 API)"


def test_the_package_is_typed():
    assert (Path(fakecmon.__file__).parent / "py.typed").is_file()


def test_the_changelog_starts_with_this_version():
    text = (ROOT / "CHANGELOG.md").read_text()
    first = re.search(r"^## \[(\d+\.\d+\.\d+)\]", text, re.M)
    assert first and first.group(1) == __version__


def pins() -> dict[str, str]:
    """name -> version of constraints.txt (names normalised as pip does)."""
    found = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt pins exact versions: {line!r}"
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def test_every_dependency_is_pinned_within_its_range():
    """The image and CI install with constraints.txt; a dependency or test extra added to
    pyproject.toml without a pin (or with a range the pin misses) fails here."""
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned = pins()
    needed = [*project["dependencies"], *project["optional-dependencies"]["test"],
              *tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]]
    for spec in needed:
        req = Requirement(spec)
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        assert name in pinned, f"{req.name} has no pin in constraints.txt"
        assert req.specifier.contains(pinned[name], prereleases=True), (spec, pinned[name])


def test_metadata_in_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0" and (ROOT / "LICENSE").is_file()
    assert set(project["urls"]) >= {"Homepage", "Source", "Issues", "Changelog"}
    assert project["keywords"] and project["classifiers"]
    assert project["dynamic"] == ["version"]     # fakecmon.__version__ is the one place
