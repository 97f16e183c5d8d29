"""SvgExporter: one SVG per page of a job (low memory; never imports cairo)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pagefan.aws.clients import s3_client
from pagefan.config import ExporterSettings, load_settings
from pagefan.formats.payloads import JobInput
from pagefan.handlers.observability import logger, observed, tag_job
from pagefan.stages.exporting import export_svg

SETTINGS = load_settings(ExporterSettings)


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    """Export the pages of the job the state machine names as SVG; return the prefix written."""
    job = JobInput.from_dict(event)
    tag_job(job.job_id)
    outputs = export_svg(s3=s3_client(), settings=SETTINGS, job=job)
    logger.info("SvgExporter finished", extra={"outputs": outputs, "pages_total": job.pages_total})
    return outputs
