"""README.md's security table is the permission matrix, rendered."""

from __future__ import annotations

from pathlib import Path

from tests.security.matrix import load_matrix
from tests.security.render import END, START, render

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_table_is_rendered_from_the_current_matrix() -> None:
    text = README.read_text(encoding="utf-8")
    assert START in text and END in text, "README.md has no permission matrix table"
    current = text[text.index(START) : text.index(END) + len(END)]
    assert current == render(load_matrix()), "README.md is stale: run python -m tests.security.render"
