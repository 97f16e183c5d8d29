"""What a person running `pagefan run` on hostile files sees: reasons, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pagefan.local.emulator.template import load_template
from tests.hostile.generator import hostile_inputs

pytestmark = pytest.mark.slow

PAGEFAN = str(Path(sys.executable).parent / "pagefan")
TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
# Files a user could well have on their disk: a misnamed image, a locked PDF, a bomb, a page
# too deeply nested to read, and a valid document whose name has spaces and accents.
CLASSES = (
    "png_named_pdf",
    "encrypted_user_password",
    "decompression_bomb",
    "deeply_nested_operands",
    "key_unicode_and_spaces",
)


def _template_with_an_unreached_time_budget(tmp_path: Path) -> Path:
    """template.yaml whose PageTimeBudgetSeconds defaults to its highest, beside links to its code.

    Each page here meets its own limit within a second; the default budget (20 s) could still
    strike first on a machine loaded enough, and the reason shown would not be the page's.
    """
    template = load_template(TEMPLATE)
    budget = template["Parameters"]["PageTimeBudgetSeconds"]
    budget["Default"] = budget["MaxValue"]
    folder = tmp_path / "stack"
    folder.mkdir()
    for linked in ("src", "statemachine", "events", "samples"):
        (folder / linked).symlink_to(TEMPLATE.parent / linked)
    path = folder / "template.yaml"
    path.write_text(yaml.safe_dump(template, sort_keys=False), encoding="utf-8")
    return path


def test_pagefan_run_shows_each_reason_and_no_traceback(tmp_path: Path) -> None:
    catalogue = {
        hostile.name: hostile
        for hostile in hostile_inputs(
            sentinel_url="http://127.0.0.1:9",
            marker_path=str(tmp_path / "marker"),
            max_upload_bytes=0,
            max_pages=0,
        )
    }
    files = []
    for name in CLASSES:
        hostile = catalogue[name]
        path = tmp_path / hostile.key.rsplit("/", 1)[-1]
        path.write_bytes(hostile.data)
        files.append(str(path))
    # A wide terminal, so the table never wraps a reason; plain progress lines (not a tty).
    env = {**os.environ, "COLUMNS": "400"}
    result = subprocess.run(
        [
            PAGEFAN,
            "run",
            *files,
            "--out",
            str(tmp_path / "out"),
            "--workers",
            "2",
            "--template",
            str(_template_with_an_unreached_time_budget(tmp_path)),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=240,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output
    assert "internal error" not in output.lower()
    for reason in (
        "It looks like a PNG image.",
        "The PDF is protected by a password.",
        "Page 1 was not analysed: its content is larger than 52,428,800 bytes once decompressed "
        "(MaxPageContentBytes parameter)",
        "its content nests arrays, dictionaries or forms too deeply",
    ):
        assert reason in result.stdout, reason
    assert result.stdout.count("FAILED") == 4
    assert result.stdout.count("COMPLETED") == 1
    assert (tmp_path / "out" / "naïve file ü" / "document.pdf").exists()
