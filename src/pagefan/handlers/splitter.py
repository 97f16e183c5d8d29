"""Splitter: S3 ObjectCreated on the raw bucket → a job with one page object per page."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from pagefan.aws.clients import dynamodb_client, s3_client, sfn_client
from pagefan.aws.jobs import JobStore
from pagefan.config import SplitterSettings, load_settings
from pagefan.formats.document import SourceRef
from pagefan.handlers.observability import count, logger, metrics, tag_job, tracer
from pagefan.job_ids import derive_job_id
from pagefan.stages.splitting import split_upload

SETTINGS = load_settings(SplitterSettings)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=S3Event)
def handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    """Split every uploaded object the event names; return the job of each."""
    jobs = JobStore(dynamodb_client(), SETTINGS.jobs_table, ttl_days=SETTINGS.job_ttl_days)
    results = []
    for record in event.records:
        obj = record.s3.get_object
        # S3 events carry the key URL-encoded ("naïve file.pdf" arrives as "na%C3%AFve+file.pdf"),
        # and Powertools' S3Object.key returns it as it arrives.
        source = SourceRef(
            bucket=record.s3.bucket.name,
            key=unquote_plus(obj.key),
            version_id=obj.version_id,
            etag=obj.etag,
            size=obj.size,
        )
        # Tagged before the work, so every line the split logs carries the job id.
        tag_job(derive_job_id(source.bucket, source.key, source.version_id, source.etag))
        outcome = split_upload(s3=s3_client(), sfn=sfn_client(), jobs=jobs, settings=SETTINGS, source=source)
        if outcome.duplicate:
            logger.info("duplicate upload event: job already split", extra={"key": source.key})
        elif outcome.rejection:
            count("DocumentsRejected")
            logger.warning("document rejected", extra={"key": source.key, "reason": outcome.rejection})
        else:
            count("DocumentsSplit")
            count("PagesSplit", outcome.pages_total)
            logger.info("document split", extra={"key": source.key, "pages_total": outcome.pages_total})
        results.append(
            {"job_id": outcome.job_id, "pages_total": outcome.pages_total, "rejection": outcome.rejection}
        )
    return {"jobs": results}
