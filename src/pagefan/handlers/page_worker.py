"""PageWorker: S3 ObjectCreated on the work bucket's pages/ → one page analysed and counted."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from pagefan import layout
from pagefan.aws.clients import job_store, s3_client
from pagefan.config import PageWorkerSettings, load_settings
from pagefan.formats.jobs_table import PageStatus
from pagefan.handlers.observability import count, logger, observed, tag_job
from pagefan.stages.page_analysis import PageOutcome, process_page

SETTINGS = load_settings(PageWorkerSettings)


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Process the page object(s) the event names."""
    return {"pages": [process(record) for record in S3Event(event).records]}


def process(record: S3EventRecord) -> dict[str, Any]:
    """Analyse and record one page object; return its job, page number and status."""
    key = record.s3.get_object.key
    page = layout.parse_page_key(key)
    if page is not None:  # tagged before the work, so every line carries the job and page
        tag_job(*page)
    outcome = process_page(
        s3=s3_client(), jobs=job_store(SETTINGS), settings=SETTINGS, bucket=record.s3.bucket.name, key=key
    )
    if page is None:
        tag_job(outcome.job_id, outcome.page_number)
    _report(outcome)
    return {"job_id": outcome.job_id, "page": outcome.page_number, "status": outcome.status}


def _report(outcome: PageOutcome) -> None:
    if not outcome.counted:
        logger.info("page already recorded by an earlier delivery")
    elif outcome.status == PageStatus.DONE:
        count("PagesProcessed")
        count("PageDuration", outcome.duration_ms, MetricUnit.Milliseconds)
        logger.info("page processed", extra={"duration_ms": outcome.duration_ms})
    else:
        count("PagesFailed")
        logger.warning("page failed", extra={"reason": outcome.reason})
