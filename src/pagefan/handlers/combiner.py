"""Combiner: merge a job's page results into document.json and document.txt."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pagefan.aws.clients import s3_client
from pagefan.config import CombinerSettings, load_settings
from pagefan.formats.payloads import JobInput
from pagefan.handlers.observability import logger, observed, tag_job
from pagefan.stages.combining import combine_job

SETTINGS = load_settings(CombinerSettings)


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    """Combine the job the state machine names; return the keys written."""
    job = JobInput.from_dict(event)
    tag_job(job.job_id)
    outputs = combine_job(s3=s3_client(), settings=SETTINGS, job=job)
    logger.info("Combiner finished", extra={"outputs": outputs, "pages_total": job.pages_total})
    return outputs
