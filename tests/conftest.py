"""Fixtures shared by every test folder."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"


@pytest.fixture
def load_event() -> Callable[[str], Any]:
    """Read ``events/<name>.json``: the sample events `sam local invoke -e` and `pagefan invoke -e` take."""

    def load(name: str) -> Any:
        return json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))

    return load
