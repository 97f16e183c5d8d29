"""PdfExporter: a range of a job's pages rendered with cairo, or the ranges merged into one PDF."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pagefan.aws.clients import s3_client
from pagefan.config import ExporterSettings, load_settings
from pagefan.formats.payloads import PdfExportInput
from pagefan.handlers.observability import logger, observed, tag_job
from pagefan.stages.exporting import export_pdf

SETTINGS = load_settings(ExporterSettings)


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    """Do the PdfExporter task the state machine names (a part, or the merge); return the key written."""
    task = PdfExportInput.from_dict(event)
    tag_job(task.job_id)
    outputs = export_pdf(s3=s3_client(), settings=SETTINGS, job=task)
    logger.info("PdfExporter finished", extra={"outputs": outputs, "pages_total": task.pages_total})
    return outputs
