"""The test suite on every supported Python: ``nox`` (or ``make matrix`` for 3.12 and 3.13,
CI's extra step after ``make test`` on the default Python).

Each session installs fakecmon as ``make test`` does (editable, with the ``test`` extra
and the versions pinned in constraints.txt) into a fresh virtual environment and runs
pytest there. The installed wheel itself is tested by tests/test_packaging.py.

Interpreters: ``python3.12`` and so on from PATH. pyenv's shims answer only for the
versions it has activated, so for one that does not run, the newest
``$(pyenv root)/versions/3.12.*`` is linked into ``.nox/.interpreters`` (put first on
PATH): a machine with pyenv needs no ``pyenv global`` for the matrix.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import nox

PYTHONS = ["3.11", "3.12", "3.13"]
ROOT = Path(__file__).resolve().parent
LINKS = ROOT / ".nox" / ".interpreters"

nox.options.sessions = [f"tests-{v}" for v in PYTHONS]
nox.options.error_on_missing_interpreters = True


def _runs(executable: str) -> bool:
    try:
        return subprocess.run([executable, "-c", ""], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _pyenv_root() -> Path:
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    try:
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=30)
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip())
    except (OSError, subprocess.TimeoutExpired):
        pass
    return Path.home() / ".pyenv"


def _patch_level(path: Path) -> tuple[int, ...]:
    """(3, 12, 1) from .../versions/3.12.1/bin/python3.12; pre-releases sort first."""
    numbers = re.match(r"(\d+)\.(\d+)\.(\d+)$", path.parents[1].name)
    return tuple(int(n) for n in numbers.groups()) if numbers else (0,)


def _find_interpreters() -> None:
    """Link each supported Python that PATH cannot run from pyenv's versions."""
    for version in PYTHONS:
        name = f"python{version}"
        if _runs(name):
            continue
        found = sorted(_pyenv_root().glob(f"versions/{version}.*/bin/{name}"), key=_patch_level)
        if not found:
            continue   # nox reports the missing interpreter (an error, as on CI)
        LINKS.mkdir(parents=True, exist_ok=True)
        link = LINKS / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(found[-1])
    if LINKS.is_dir():
        os.environ["PATH"] = f"{LINKS}{os.pathsep}{os.environ.get('PATH', '')}"


_find_interpreters()


@nox.session(python=PYTHONS, venv_backend="venv")
def tests(session: nox.Session) -> None:
    """The suite on one Python; arguments after ``--`` go to pytest (default -n 2)."""
    session.install("-c", "constraints.txt", "-e", ".[test]")
    session.run("python", "-c", "import sys, fakecmon; print(sys.version, fakecmon.__file__)")
    session.run("pytest", *(session.posargs or ["-n", "2"]))
