"""The moto internals the runtime replaces: the release they were read in; a loud failure when one is gone."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from pagefan.local.emulator import moto_targets
from pagefan.local.emulator.moto_targets import MOTO_VERSION, TARGETS, MotoChanged

ROOT = Path(__file__).resolve().parents[4]


def test_moto_is_the_release_the_corrections_were_written_for() -> None:
    # A new moto may have fixed what a correction corrects, or moved what it replaces: re-read each
    # target, run test_moto_behaviour.py, then move MOTO_VERSION and the pins together.
    assert importlib.metadata.version("moto") == MOTO_VERSION
    constraints = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    assert f"moto=={MOTO_VERSION}" in constraints
    local = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]["local"]
    assert f"moto[server]=={MOTO_VERSION}" in local


def test_every_target_is_there_in_the_installed_moto() -> None:
    moto_targets.check()


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_a_target_moto_no_longer_has_fails_loudly_by_name(
    target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a moto without the target (gone from every class that defined it)
    module_name, path = target.split(":")
    owner: Any = importlib.import_module(module_name)
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    scopes = owner.__mro__[:-1] if isinstance(owner, type) else (owner,)
    for scope in scopes:
        if name in vars(scope):
            monkeypatch.delattr(scope, name)
    # WHEN the runtime checks moto THEN it stops, naming the target
    with pytest.raises(MotoChanged, match=f"{re.escape(target)} is gone") as changed:
        moto_targets.check()
    assert changed.value.problems[target] == "is gone"


def test_a_replacement_of_an_unlisted_internal_is_refused() -> None:
    from moto import backends

    with pytest.raises(ValueError, match=re.escape("moto.backends:get_service_from_url is not in")):
        moto_targets.replace(backends, "get_service_from_url", lambda url: None)
    assert backends.get_service_from_url.__module__ == "moto.backends"


# In a fresh process: the replacements are process-wide.
_INSTALL = """
import json
from moto.events.models import Rule
from pagefan.local.emulator import iam, moto_fixes, moto_hooks, moto_targets

kept = Rule.send_to_targets
del Rule.send_to_targets
try:
    moto_fixes.apply()
except moto_targets.MotoChanged as changed:
    refused = str(changed)
before = sorted(moto_targets.replaced())
Rule.send_to_targets = kept
moto_fixes.apply()
moto_hooks.install(
    on_s3_notification=lambda arn, event: None,
    on_lambda_invoke=lambda arn, event: (True, None),
    on_execution_ended=lambda arn: None,
)
iam.install()
print(json.dumps({"refused": refused, "before": before, "after": sorted(moto_targets.replaced())}))
"""


@pytest.mark.slow  # a fresh interpreter per case
def test_the_runtime_replaces_every_target_and_nothing_while_one_is_gone() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _INSTALL], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    outcome = json.loads(done.stdout.splitlines()[-1])
    assert outcome["refused"].startswith(
        "moto changed: moto.events.models:Rule.send_to_targets is gone"
        " (moto_hooks: rules invoke Lambda targets)."
    )
    assert outcome["before"] == []
    assert outcome["after"] == sorted(TARGETS)
