"""What an execution environment measures and how the runtime picks the Python it runs on."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from pagefan.local.emulator import interpreters
from pagefan.local.emulator.environment_process import max_rss_mb
from pagefan.local.emulator.interpreters import FunctionCode


@pytest.mark.parametrize(
    ("platform", "ru_maxrss"),
    [
        ("linux", 300 * 1024),  # Linux: KiB
        ("darwin", 300 * 1024 * 1024),  # macOS: bytes
    ],
)
def test_peak_memory_reads_each_platforms_unit_of_ru_maxrss(platform: str, ru_maxrss: int) -> None:
    assert max_rss_mb(ru_maxrss, platform) == 300.0


@pytest.mark.parametrize(
    ("runtime", "version"),
    [("python3.13", (3, 13)), ("python3.9", (3, 9)), ("nodejs22.x", None), ("provided.al2023", None)],
)
def test_a_runtime_names_its_python_version(runtime: str, version: tuple[int, int] | None) -> None:
    assert interpreters.runtime_version(runtime) == version


def test_the_variable_comes_first_then_the_checkouts_venv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a checkout with a .venv-3.13, and PAGEFAN_PYTHON_3_13 naming another interpreter
    venv_python = tmp_path / ".venv-3.13" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.touch()
    monkeypatch.setattr(interpreters.project, "checkout_root", lambda: tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    found = interpreters.candidates((3, 13), {"PAGEFAN_PYTHON_3_13": "/opt/python3.13/bin/python3"})

    assert found == [
        ("PAGEFAN_PYTHON_3_13", "/opt/python3.13/bin/python3"),
        ("the checkout's .venv-3.13", str(venv_python)),
    ]


def _code(tmp_path: Path, source: str, environment: dict[str, str] | None = None) -> FunctionCode:
    code_dir = tmp_path / "code"
    code_dir.mkdir(exist_ok=True)
    (code_dir / "app.py").write_text(source, encoding="utf-8")
    return FunctionCode(code_dir, "app.handler", environment or {})


def test_a_python_that_lacks_a_dependency_is_passed_over(tmp_path: Path) -> None:
    code = _code(tmp_path, "import a_dependency_nobody_installed\n")
    _, problem = interpreters.probe(sys.executable, code.code_dir, [code])
    assert problem == "ModuleNotFoundError: No module named 'a_dependency_nobody_installed'"


def test_a_handler_that_refuses_its_configuration_does_not_count_against_the_python(tmp_path: Path) -> None:
    # Its import fails on every Python alike: the function's own error, reported at invocation.
    code = _code(tmp_path, "import os\nSETTING = os.environ['ONLY_IN_THE_TEMPLATE']\n")
    version, problem = interpreters.probe(sys.executable, code.code_dir, [code])
    assert (version, problem) == (".".join(map(str, sys.version_info[:3])), None)


def test_without_a_python_of_the_runtimes_version_the_functions_run_on_this_one_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    other = (3, 12) if sys.version_info[:2] != (3, 12) else (3, 13)
    missing = str(tmp_path / "no-such-python")
    monkeypatch.setattr(interpreters, "candidates", lambda version: [("PAGEFAN_PYTHON", missing)])
    code = _code(tmp_path, "")

    with caplog.at_level(logging.WARNING):
        chosen = interpreters.choose(f"python{other[0]}.{other[1]}", code.code_dir, [code])

    assert chosen == interpreters.own_interpreter()
    [warning] = caplog.messages
    assert "\n" not in warning
    assert f"run on Python {chosen.version} here: no Python {other[0]}.{other[1]}" in warning
    assert f"PAGEFAN_PYTHON: FileNotFoundError: [Errno 2] No such file or directory: '{missing}'" in warning
