"""Fixtures shared by every test folder, and the line between the fast tier and the slow one.

``pytest -m "not slow"`` is the fast tier. A test is slow when it boots an emulated account
(moto's server, the template deployed, an execution-environment process per function: seconds to
minutes each), runs ``pagefan run``, ``invoke`` or ``serve`` in a subprocess, or runs long for
another reason its mark says.

A fixture that boots an account asks for :func:`boots_emulated_account`, and every test that uses
it, however indirectly, is marked slow at collection. A test that boots one in its own body is
marked by hand (its module's ``pytestmark`` when all of its tests do). The mark cannot be forgotten:
while a test without it runs, starting an account or a ``pagefan`` subprocess that would start one
raises :class:`UnmarkedSlowTest`, in every run.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from pagefan.local.emulator.account import EmulatedAccount

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"
ACCOUNT_FIXTURE = "boots_emulated_account"
# `pagefan` subcommands that start an emulated account (or reach one that a slow test started).
ACCOUNT_SUBCOMMANDS = frozenset({"run", "invoke", "serve"})


class UnmarkedSlowTest(BaseException):
    """A test not marked slow did what only a slow test may do.

    A BaseException, so that code under test which turns every Exception into a message (the
    command line does) cannot hide it.
    """


class _SlowGuard:
    """Which running test, if any, may not start an account: set before each test's setup."""

    unmarked: str | None = None

    def refuse(self, what: str) -> None:
        if self.unmarked is not None:
            raise UnmarkedSlowTest(
                f"{self.unmarked} {what}: mark it slow (or have its fixture ask for {ACCOUNT_FIXTURE})"
            )


_guard = _SlowGuard()
_originals: dict[str, Any] = {}

# Hypothesis's two clocks, its deadline per example and its health check on slow data generation,
# would fail a property on a loaded machine: no verdict here depends on speed. (A test that sets
# its own suppress_health_check lists too_slow itself.)
settings.register_profile("pagefan", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("pagefan")


def _starts_an_account(args: Any) -> bool:
    """Whether a command line runs one of the `pagefan` subcommands that start an account."""
    if isinstance(args, (str, bytes, Path)) or len(args) < 2:
        return False
    return Path(str(args[0])).name == "pagefan" and str(args[1]) in ACCOUNT_SUBCOMMANDS


def pytest_configure(config: pytest.Config) -> None:
    start = _originals["start"] = EmulatedAccount.start
    popen_init = _originals["popen_init"] = subprocess.Popen.__init__

    def guarded_start(self: EmulatedAccount) -> Any:
        _guard.refuse("boots an emulated account")
        return start(self)

    def guarded_popen_init(self: subprocess.Popen[Any], args: Any, *more: Any, **options: Any) -> None:
        if _starts_an_account(args):
            _guard.refuse(f"runs `pagefan {args[1]}` in a subprocess")
        popen_init(self, args, *more, **options)

    EmulatedAccount.start = guarded_start  # type: ignore[method-assign]
    subprocess.Popen.__init__ = guarded_popen_init  # type: ignore[method-assign]


def pytest_unconfigure(config: pytest.Config) -> None:
    if _originals:
        EmulatedAccount.start = _originals.pop("start")  # type: ignore[method-assign]
        subprocess.Popen.__init__ = _originals.pop("popen_init")  # type: ignore[method-assign]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if ACCOUNT_FIXTURE in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Before any fixture of the test is set up: a module's account starts in its first test's setup.
    _guard.unmarked = None if item.get_closest_marker("slow") else item.nodeid


@pytest.fixture(scope="session")
def boots_emulated_account() -> None:
    """Asked for by each fixture that boots an emulated account, so that its tests are marked slow."""


@pytest.fixture
def load_event() -> Callable[[str], Any]:
    """Read ``events/<name>.json``: the sample events `sam local invoke -e` and `pagefan invoke -e` take."""

    def load(name: str) -> Any:
        return json.loads((EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8"))

    return load
