"""`pagefan run` fetching a finished job's outputs: every file, byte for byte, or a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pagefan import layout
from tests.documents import make_sample_pdf
from tests.integration.pipeline import Pipeline, pipeline
from tests.integration.test_cli import run_on_stack

pytestmark = pytest.mark.slow

# More pages than downloads run at once, so the outputs are fetched by several workers.
PAGES = 12


def _local_name(job_id: str, key: str) -> str:
    """Where `pagefan run` puts an output key, relative to the document's folder."""
    relative = key.removeprefix(f"{layout.JOBS_PREFIX}{job_id}/")
    return relative.removeprefix("pdf/")


def _bucket_outputs(stack: Pipeline, job_id: str) -> dict[str, bytes]:
    """Every object of the job in the results bucket, by the name it gets on disk."""
    return {
        _local_name(job_id, key): stack.read("ResultsBucketName", key)
        for key in stack.keys("ResultsBucketName", f"{layout.JOBS_PREFIX}{job_id}/")
    }


def _files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_runs_outputs_are_every_object_of_the_job_byte_for_byte(tmp_path: Path) -> None:
    # GIVEN a stack another process can reach, and a document of more pages than download workers
    document = tmp_path / "memo.pdf"
    document.write_bytes(make_sample_pdf(PAGES))
    with pipeline(tmp_path / "account") as stack:
        # WHEN pagefan runs it there and downloads its outputs
        result = run_on_stack(stack, document, "--json")
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout.splitlines()[-1])
        expected = _bucket_outputs(stack, summary["job_id"])
    # THEN the document's folder holds exactly the job's objects, identical, plus the gallery
    # (no temporary file left behind by the concurrent downloads)
    downloaded = _files_under(tmp_path / "out" / "memo")
    assert downloaded.pop("index.html")
    assert sorted(downloaded) == sorted(expected)
    assert len([name for name in expected if name.startswith("svg/")]) == PAGES
    for name, body in expected.items():
        assert downloaded[name] == body, f"{name} differs from its object"
    assert set(summary["outputs"]) == {"document_json", "document_text", "document_pdf", "svg", "gallery"}


def test_an_output_that_cannot_be_written_is_named_in_one_line(tmp_path: Path) -> None:
    # GIVEN a document folder where one page's SVG cannot be written (a directory is in the way)
    document = tmp_path / "memo.pdf"
    document.write_bytes(make_sample_pdf(PAGES))
    obstacle = tmp_path / "out" / "memo" / "svg" / "page-00002.svg"
    obstacle.mkdir(parents=True)
    with pipeline(tmp_path / "account") as stack:
        # WHEN pagefan runs the document and downloads its outputs
        result = run_on_stack(stack, document)
        job_id = stack.keys("ResultsBucketName")[0].split("/")[1]
        expected = _bucket_outputs(stack, job_id)
    # THEN the run fails with the output and the reason, and no traceback
    assert result.returncode == 1, result.stdout + result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: cannot download s3://") and "svg/page-00002.svg" in last, last
    assert "Is a directory" in last
    assert "Traceback" not in result.stdout + result.stderr
    # AND every file that is there is a whole copy of its object: none half written, none temporary
    for name, body in _files_under(tmp_path / "out" / "memo").items():
        assert expected.get(name) == body, f"{name} is not a complete output"
