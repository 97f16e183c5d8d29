"""JobMetrics: a JobCompleted or JobFailed event of the stack's bus → pagefan's job metrics.

Jobs end inside DocumentJob (a direct DynamoDB update and an EventBridge event), where no handler
runs; this function turns each ending into metrics the alarms and the dashboard watch, and into
one log line with the job id that `pagefan logs` shows with the job's other lines.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from pagefan.formats.jobs_table import JobStatus
from pagefan.handlers.observability import count, logger, observed, tag_job

JOB_EVENT_STATUS = {"JobCompleted": JobStatus.COMPLETED, "JobFailed": JobStatus.FAILED}
"""The job events DocumentJob publishes, by detail-type."""


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Count the job's ending: JobsCompleted, or JobsFailed in all and by the stage that failed it."""
    job_event = EventBridgeEvent(event)
    status = JOB_EVENT_STATUS.get(job_event.detail_type)
    if status is None:
        # The rule lets through only the two types; anything else is a rule changed without this code.
        raise ValueError(f"not a job event: detail-type {job_event.detail_type!r}")
    detail = job_event.detail
    tag_job(str(detail["job_id"]))
    _count(status, detail)
    return {"job_id": detail["job_id"], "status": status}


def _count(status: str, detail: dict[str, Any]) -> None:
    if status == JobStatus.COMPLETED:
        count("JobsCompleted")
        logger.info("job completed", extra={"pages_total": detail["pages_total"]})
    else:
        stage = str(detail["stage"])
        count("JobsFailed")
        # Its own record: the stage dimension must not join the function's other metrics.
        with single_metric(name="JobsFailedByStage", unit=MetricUnit.Count, value=1) as metric:
            metric.add_dimension(name="stage", value=stage)
        logger.warning("job failed", extra={"stage": stage, "reason": detail["reason"]})
