"""Splitter: S3 ObjectCreated on the raw bucket → a job with one page object per page."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from pagefan.aws.clients import job_store, s3_client, sfn_client
from pagefan.config import SplitterSettings, load_settings
from pagefan.formats.document import SourceRef
from pagefan.handlers.observability import count, logger, observed, tag_job
from pagefan.job_ids import derive_job_id
from pagefan.stages.splitting import SplitOutcome, split_upload

SETTINGS = load_settings(SplitterSettings)


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Split every uploaded object the event names; return the job of each."""
    return {"jobs": [split(record) for record in S3Event(event).records]}


def split(record: S3EventRecord) -> dict[str, Any]:
    """Split one upload into its job; return the job's id, page count and rejection."""
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
    outcome = split_upload(
        s3=s3_client(), sfn=sfn_client(), jobs=job_store(SETTINGS), settings=SETTINGS, source=source
    )
    _report(outcome, source.key)
    return {"job_id": outcome.job_id, "pages_total": outcome.pages_total, "rejection": outcome.rejection}


def _report(outcome: SplitOutcome, key: str) -> None:
    if outcome.duplicate:
        logger.info("duplicate upload event: job already split", extra={"key": key})
    elif outcome.rejection:
        count("DocumentsRejected")
        logger.warning("document rejected", extra={"key": key, "reason": outcome.rejection})
    else:
        count("DocumentsSplit")
        count("PagesSplit", outcome.pages_total)
        logger.info(
            "document split",
            extra={"key": key, "pages_total": outcome.pages_total, "pages_resumed": outcome.pages_resumed},
        )
