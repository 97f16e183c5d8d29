"""Imports in the shipped package flow one way: handlers → stages → domain and aws → formats.

config, layout, job_ids and errors sit at the bottom with formats; the domain never reaches AWS.
Imports inside functions count too (the exporters import the PDF renderer lazily).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pagefan

PACKAGE = Path(pagefan.__file__).parent

BOTTOM = {"errors", "formats", "layout", "job_ids"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "layout": set(),
    "job_ids": set(),
    "formats": {"errors", "formats"},
    "config": {"errors"},
    "schemas": {"errors", "formats"},
    "domain": {"domain", "errors", "formats"},
    "aws": {"aws", *BOTTOM},
    "stages": {"stages", "aws", "domain", "config", *BOTTOM},
    "handlers": {"handlers", "stages", "aws", "config", *BOTTOM},
}
"""The parts of pagefan each part may import (a part is a top-level module or package)."""


def _part(module: str) -> str:
    return module.split(".")[1]


def _shipped_modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(part for part in relative.parts if part != "__init__")
        if module != "pagefan" and _part(module) != "local":
            found.append((module, path))
    return found


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "pagefan":
                names.update(f"pagefan.{alias.name}" for alias in node.names)
            else:
                names.add(node.module)
    return {name for name in names if name.startswith("pagefan.")}


def test_every_part_of_the_shipped_package_has_a_place_in_the_layers() -> None:
    assert {_part(module) for module, _ in _shipped_modules()} == set(ALLOWED)


@pytest.mark.parametrize(("module", "path"), _shipped_modules(), ids=lambda value: str(value))
def test_imports_flow_one_way(module: str, path: Path) -> None:
    allowed = ALLOWED[_part(module)]
    wrong = sorted(name for name in _imported(path) if _part(name) not in allowed)
    assert not wrong, f"{module} imports {wrong}; {_part(module)} may import only {sorted(allowed)}"
