"""The line between the fast tier and the slow one (tests/conftest.py), and the guard that keeps it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pagefan.local.emulator.account import EmulatedAccount
from tests.conftest import UnmarkedSlowTest

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"
PAGEFAN = str(Path(sys.executable).parent / "pagefan")


def test_a_test_not_marked_slow_cannot_start_an_emulated_account(tmp_path: Path) -> None:
    account = EmulatedAccount(TEMPLATE, work_dir=tmp_path / "account")
    with pytest.raises(UnmarkedSlowTest, match="boots an emulated account: mark it slow"):
        account.start()
    with pytest.raises(UnmarkedSlowTest), account:
        pass
    # Refused before anything started: no work folder, no server.
    assert not (tmp_path / "account").exists()


@pytest.mark.parametrize("subcommand", ["run", "invoke", "serve"])
def test_nor_run_a_pagefan_command_that_starts_one(tmp_path: Path, subcommand: str) -> None:
    with pytest.raises(UnmarkedSlowTest, match=f"runs `pagefan {subcommand}` in a subprocess"):
        subprocess.run([PAGEFAN, subcommand, "document.pdf"], cwd=tmp_path, check=False)


def test_other_subprocesses_run_as_usual() -> None:
    done = subprocess.run([sys.executable, "-c", "print('ran')"], capture_output=True, text=True, check=True)
    assert done.stdout == "ran\n"


@pytest.fixture
def an_account_fixture(boots_emulated_account: None) -> Iterator[None]:
    """Stands for a fixture that boots an account (without booting one)."""
    yield


def test_a_test_whose_fixture_boots_an_account_is_marked_slow(
    an_account_fixture: None, request: pytest.FixtureRequest
) -> None:
    assert request.node.get_closest_marker("slow") is not None
