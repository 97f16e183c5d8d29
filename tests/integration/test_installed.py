"""An installed pagefan (`pipx install .`) runs a document from any folder, with no checkout around.

The test builds the wheel from the project's files as a clean clone has them, installs it with its
dependencies into a new virtual environment (resolved by pip from the package index, pinned by
constraints.txt; pip's cache makes every install after the first quick), and runs the command
from a folder of its own. Nothing of the checkout or of the test's environment is on its path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _run(command: list[str | Path], *, cwd: Path, env: dict[str, str], timeout: float = 900) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _clean_clone(destination: Path) -> Path:
    """The project's files as a clone of this tree has them: tracked, or new and not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A new virtual environment with the wheel installed, and an environment without the checkout."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the project's git checkout to list its files")
    work = tmp_path_factory.mktemp("installed")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    project = _clean_clone(work / "project")
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", work / "dist", project],
        cwd=work,
        env=env,
    )
    [wheel] = (work / "dist").glob("pagefan-*.whl")
    _run([sys.executable, "-m", "venv", work / "venv"], cwd=work, env=env)
    pip = work / "venv" / "bin" / "pip"
    _run(
        [pip, "install", "--quiet", "--disable-pip-version-check", "-c", ROOT / "constraints.txt", wheel],
        cwd=work,
        env=env,
    )
    return work, env


def test_the_wheel_carries_the_project_files_the_command_reads(
    installed: tuple[Path, dict[str, str]],
) -> None:
    work, _ = installed
    [wheel] = (work / "dist").glob("pagefan-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        template = archive.read("pagefan/local/project_files/template.yaml")
    assert template == (ROOT / "template.yaml").read_bytes()
    assert {
        "pagefan/local/project_files/statemachine/document_job.asl.json",
        "pagefan/local/project_files/events/splitter.json",
        "pagefan/local/project_files/samples/sample.pdf",
        "pagefan/local/project_files/benchmarks/prices.json",
    } <= names


def test_an_installed_pagefan_runs_a_document_from_any_folder(installed: tuple[Path, dict[str, str]]) -> None:
    # GIVEN a folder with a PDF in it and no template, far from any checkout
    work, env = installed
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(ROOT / "samples" / "sample.pdf", elsewhere / "sample.pdf")

    # WHEN the installed command runs it
    output = _run([work / "venv" / "bin" / "pagefan", "run", "--json", "sample.pdf"], cwd=elsewhere, env=env)

    # THEN the job completes with the wheel's template, and its outputs and cost are there
    summary = json.loads(output.splitlines()[-1])
    assert (summary["status"], summary["pages_failed"]) == ("COMPLETED", 0), summary
    assert (elsewhere / "pagefan-out" / "sample" / "index.html").is_file()
    assert summary["cost"]["pages"] == summary["pages_total"]
    assert all(f["python"] for f in summary["functions"].values())


def test_an_installed_pagefan_invokes_a_function_with_the_wheels_sample_event(
    installed: tuple[Path, dict[str, str]],
) -> None:
    work, env = installed
    [event] = (work / "venv" / "lib").glob(
        "python3.*/site-packages/pagefan/local/project_files/events/splitter.json"
    )
    output = _run([work / "venv" / "bin" / "pagefan", "invoke", "Splitter", "-e", event], cwd=work, env=env)
    response = json.loads(output.splitlines()[-1])
    assert response["jobs"][0]["pages_total"] > 0
