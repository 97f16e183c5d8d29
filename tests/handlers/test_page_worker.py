"""The PageWorker's handler, called with events/page_worker.json in an emulated account (moto in-process)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pagefan import layout
from pagefan.formats.jobs_table import PageStatus
from tests.lambda_environment import (
    Account,
    ColdStart,
    LoadEvent,
    metric_values,
    output_records,
    without_metrics,
)


@without_metrics  # the repeated delivery's
def test_the_page_event_analyses_page_one_and_counts_it_once(
    account: Account,
    start: ColdStart,
    load_event: LoadEvent,
    lambda_context: LambdaContext,
    capsys: Any,
) -> None:
    # GIVEN the sample split into the page objects the page event names
    account.split(load_event("splitter"))
    worker = start("PageWorker")
    event = load_event("page_worker")
    page = layout.parse_page_key(event["Records"][0]["s3"]["object"]["key"])
    assert page is not None
    job_id, page_number = page
    # WHEN the PageWorker is invoked with the event, twice (S3 delivers at least once)
    first = worker.handler(event, lambda_context)
    again = worker.handler(event, lambda_context)
    # THEN the page's result is in the work bucket and the page is recorded DONE, once
    expected = {"pages": [{"job_id": job_id, "page": page_number, "status": PageStatus.DONE}]}
    assert first == again == expected
    result = json.loads(
        account.read(worker.SETTINGS.work_bucket, layout.page_result_key(job_id, page_number))
    )
    assert result["page_number"] == page_number
    [recorded] = account.jobs(worker.SETTINGS).iter_pages(job_id)
    assert (recorded.page_number, recorded.status) == (page_number, PageStatus.DONE)
    records = output_records(capsys.readouterr().out)
    assert metric_values(records).keys() == {"PagesProcessed", "PageDuration"}
    assert metric_values(records)["PagesProcessed"] == [1.0]
    messages = [
        (line["message"], line.get("job_id"), line.get("page")) for line in records if "message" in line
    ]
    assert ("page processed", job_id, page_number) in messages
    assert ("page already recorded by an earlier delivery", job_id, page_number) in messages
