"""PageWorker: S3 ObjectCreated on the work bucket's pages/ → one page analysed and counted."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from pagefan import layout
from pagefan.aws.clients import dynamodb_client, s3_client
from pagefan.aws.jobs import JobStore
from pagefan.config import PageWorkerSettings, load_settings
from pagefan.formats.jobs_table import PageStatus
from pagefan.handlers.observability import count, logger, metrics, tag_job, tracer
from pagefan.stages.page_analysis import process_page

SETTINGS = load_settings(PageWorkerSettings)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=S3Event)
def handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    """Process the page object(s) the event names."""
    jobs = JobStore(dynamodb_client(), SETTINGS.jobs_table, ttl_days=SETTINGS.job_ttl_days)
    pages = []
    for record in event.records:
        key = record.s3.get_object.key
        page = layout.parse_page_key(key)
        if page is not None:  # tagged before the work, so every line carries the job and page
            tag_job(*page)
        outcome = process_page(
            s3=s3_client(),
            jobs=jobs,
            settings=SETTINGS,
            bucket=record.s3.bucket.name,
            key=key,
        )
        if page is None:
            tag_job(outcome.job_id, outcome.page_number)
        if not outcome.counted:
            logger.info("page already recorded by an earlier delivery")
        elif outcome.status == PageStatus.DONE:
            count("PagesProcessed")
            count("PageDuration", outcome.duration_ms, MetricUnit.Milliseconds)
            logger.info("page processed", extra={"duration_ms": outcome.duration_ms})
        else:
            count("PagesFailed")
            logger.warning("page failed", extra={"reason": outcome.reason})
        pages.append({"job_id": outcome.job_id, "page": outcome.page_number, "status": outcome.status})
    return {"pages": pages}
