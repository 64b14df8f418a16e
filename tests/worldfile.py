"""Extra world files for tests: written to a temp dir, loaded after the default world."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fakecmon.controller import DEFAULT_WORLD


def write_world(directory: Path, doc: dict[str, Any], name: str = "extra.yaml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def worlds(directory: Path, doc: dict[str, Any]) -> list[Path]:
    """``[default.yaml, extra.yaml]``: what ``FakeCmon(world=...)`` takes."""
    return [DEFAULT_WORLD, write_world(directory, doc)]
