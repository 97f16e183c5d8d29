"""The PdfExporter's task input: parts planned from two numbers, merges, and bare JobInputs."""

from __future__ import annotations

from typing import Any

import pytest

from pagefan import layout
from pagefan.errors import FormatVersionError, InvalidTaskInput
from pagefan.formats.payloads import JobInput, PdfExportInput, PdfExportMode, pdf_part_ranges

JOB = JobInput(job_id="job", pages_total=7, deadline="2099-01-01T00:00:00.000Z")


def payload(**changes: Any) -> dict[str, Any]:
    data = {"format_version": 1, "mode": "part", "job": JOB.to_dict(), "pages_per_part": 3, "first_page": 4}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_ranges_cover_every_page_once_in_order() -> None:
    assert pdf_part_ranges(7, 3) == [(1, 3), (4, 6), (7, 7)]
    assert pdf_part_ranges(6, 3) == [(1, 3), (4, 6)]
    assert pdf_part_ranges(2, 50) == [(1, 2)]
    assert pdf_part_ranges(0, 50) == []
    for total in range(1, 40):
        for size in range(1, 12):
            pages = [p for first, last in pdf_part_ranges(total, size) for p in range(first, last + 1)]
            assert pages == list(range(1, total + 1))


def test_a_part_knows_its_range_and_round_trips() -> None:
    task = PdfExportInput.from_dict(payload())
    assert (task.mode, task.job, task.page_range) == (PdfExportMode.PART, JOB, (4, 6))
    assert PdfExportInput.from_dict(payload(first_page=7)).page_range == (7, 7)
    assert PdfExportInput.from_dict(task.to_dict()) == task
    assert layout.pdf_part_key("job", 4, 6) == "pdf-parts/job/00004-00006.pdf"


def test_a_merge_names_every_part() -> None:
    task = PdfExportInput.from_dict(payload(mode="merge", first_page=None))
    assert task.mode == PdfExportMode.MERGE
    assert task.part_ranges == [(1, 3), (4, 6), (7, 7)]
    assert "first_page" not in task.to_dict()


def test_a_bare_job_input_is_the_whole_document_in_one_invocation() -> None:
    # What DocumentJob sent before page ranges: an execution started before an upgrade.
    task = PdfExportInput.from_dict(JOB.to_dict())
    assert (task.mode, task.job, task.page_range, task.part_ranges) == (
        PdfExportMode.DOCUMENT,
        JOB,
        (1, 7),
        [(1, 7)],
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"first_page": 5},  # not where a part starts: the merge would never read it
        {"first_page": 8},
        {"first_page": 0},
        {"first_page": None},
        {"first_page": True},
        {"first_page": "4"},
        {"pages_per_part": 0},
        {"pages_per_part": None},
        {"pages_per_part": 2.5},
        {"mode": "render"},
    ],
)
def test_inputs_the_plan_cannot_have_made_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidTaskInput):
        PdfExportInput.from_dict(payload(**changes))


def test_other_format_versions_are_refused() -> None:
    with pytest.raises(FormatVersionError):
        PdfExportInput.from_dict(payload(format_version=2))
    with pytest.raises(FormatVersionError):
        PdfExportInput.from_dict(payload(job={**JOB.to_dict(), "format_version": 2}))
