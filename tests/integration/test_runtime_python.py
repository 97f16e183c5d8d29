"""Functions run on the Python their Runtime names (python3.13), as on Lambda, when this machine has it.

The runtime itself runs on whatever Python started it; `make .venv-3.13` gives the checkout an
interpreter of the functions' version with the project's pins.
"""

from __future__ import annotations

import sys
import sysconfig
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from pagefan.local.emulator import interpreters
from pagefan.local.emulator.environments import FunctionEnvironments
from pagefan.local.emulator.interpreters import FunctionCode, Interpreter
from pagefan.local.emulator.stack import FunctionSpec

RUNTIME = "python3.13"

HANDLER = '''
import os
import sys


def handler(event, context):
    """Say where this environment runs: its Python, its import path, its environment."""
    return {
        "version": list(sys.version_info[:2]),
        "path": sys.path,
        "environ": dict(os.environ),
        "app": __file__,
    }
'''


def _spec(code_dir: Path) -> FunctionSpec:
    return FunctionSpec(
        logical_id="Where",
        name="where",
        arn="arn:aws:lambda:us-east-1:123456789012:function:where",
        handler="app.handler",
        code_dir=code_dir,
        environment={"STAGE": "test"},
        memory_mb=512,
        timeout_s=60,
        role_arn="arn:aws:iam::123456789012:role/where",
        runtime=RUNTIME,
    )


@pytest.fixture
def functions(tmp_path: Path) -> Iterator[FunctionEnvironments]:
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / "app.py").write_text(HANDLER, encoding="utf-8")
    (tmp_path / "logs").mkdir()
    environments = FunctionEnvironments(
        _spec(code_dir), base_env={"PATH": "/usr/bin:/bin"}, concurrency=1, log_dir=tmp_path / "logs"
    )
    yield environments
    environments.close()


def test_a_python313_function_runs_on_python_313_with_its_own_import_path(
    functions: FunctionEnvironments,
) -> None:
    if sys.version_info[:2] == (3, 13):
        pytest.skip("the runtime runs on 3.13 itself: no other Python to start")
    code = FunctionCode(functions.spec.code_dir, functions.spec.handler, functions.environment)
    chosen = interpreters.choose(RUNTIME, functions.spec.code_dir, [code])
    if chosen.runtime_path is not None:
        pytest.skip("no Python 3.13 with the project's dependencies here (make .venv-3.13 makes one)")
    ready = Future[Interpreter]()
    ready.set_result(chosen)
    functions.run_on(ready)

    result = functions.invoke({})

    assert result.ok, result.error_message
    assert result.payload["version"] == [3, 13]
    assert functions.python.startswith("3.13.")
    # Nothing of the runtime's environment: its packages are built for another Python.
    runtime_packages = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    assert not runtime_packages & set(result.payload["path"])
    # The function's code is its code directory's, and its variables are the function's alone.
    assert result.payload["app"] == str(functions.spec.code_dir / "app.py")
    assert result.payload["environ"] == functions.environment


def test_on_the_runtimes_own_python_a_function_keeps_its_import_path(functions: FunctionEnvironments) -> None:
    result = functions.invoke({})

    assert result.ok, result.error_message
    assert result.payload["version"] == list(sys.version_info[:2])
    assert result.payload["path"] == [str(functions.spec.code_dir), *sys.path]
    assert result.payload["environ"] == functions.environment
