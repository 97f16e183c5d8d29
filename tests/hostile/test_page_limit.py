"""A document of exactly MaxPages is accepted and completes; one page more is rejected.

At the default (5,000 pages) the Splitter's part, the only one the limit concerns, is checked
directly, and 5,001 pages go through the local runtime in test_hostile_runs.py. A whole 5,000-page
job does not run locally in any reasonable time: moto's DynamoDB deep-copies the whole jobs
table on every TransactWriteItems (one per page), so the cost grows with the square of the page
count (1,000 pages: about 2 minutes and 1.7 GB in the runtime's process; 5,000 pages: past 15 GB
at 2,800). The end-to-end check therefore runs at a MaxPages of 20, the same code path.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pagefan.domain.split import open_document, split_pages
from pagefan.formats.jobs_table import JobStatus
from tests.hostile.generator import blank_pages
from tests.integration.pipeline import pipeline

DEFAULT_MAX_PAGES = 5000
DEFAULT_MAX_UPLOAD_BYTES = 104857600
SMALL_MAX_PAGES = 20


# 5,000 pages parsed and split: several seconds of CPU. (How long a split takes against the
# Splitter's Timeout is a measurement: benchmarks/, not a verdict here.)
@pytest.mark.slow
def test_exactly_the_default_max_pages_is_accepted_and_split_into_as_many_pages() -> None:
    document = blank_pages(DEFAULT_MAX_PAGES)
    reader = open_document(document, max_bytes=DEFAULT_MAX_UPLOAD_BYTES, max_pages=DEFAULT_MAX_PAGES)
    pages = [number for number, _page in split_pages(reader)]
    assert pages == list(range(1, DEFAULT_MAX_PAGES + 1))


@pytest.mark.slow
def test_exactly_max_pages_completes_and_one_more_is_rejected_end_to_end(tmp_path: Path) -> None:
    with pipeline(tmp_path, parameters={"MaxPages": str(SMALL_MAX_PAGES)}) as stack:
        uploads = {}
        for pages in (SMALL_MAX_PAGES, SMALL_MAX_PAGES + 1):
            path = tmp_path / f"{pages}.pdf"
            path.write_bytes(blank_pages(pages))
            uploads[pages] = stack.client.upload(path).job_id
        at_limit = stack.client.wait(uploads[SMALL_MAX_PAGES], timeout=180)
        over = stack.client.wait(uploads[SMALL_MAX_PAGES + 1], timeout=180)

    assert at_limit is not None and at_limit.status == JobStatus.COMPLETED, at_limit
    assert (at_limit.pages_total, at_limit.pages_done) == (SMALL_MAX_PAGES, SMALL_MAX_PAGES)
    assert over is not None and over.status == JobStatus.FAILED and over.error is not None
    assert (over.error.stage, over.error.reason) == (
        "split",
        f"The PDF has {SMALL_MAX_PAGES + 1} pages; "
        f"pagefan accepts documents of up to {SMALL_MAX_PAGES} pages (MaxPages parameter).",
    )
