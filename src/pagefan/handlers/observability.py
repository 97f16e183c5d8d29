"""The one Logger, Tracer and Metrics of every pagefan function.

The service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and
POWERTOOLS_METRICS_NAMESPACE in the template's Globals.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def tag_job(job_id: str, page_number: int | None = None) -> None:
    """Put the job id (and page) on every following log line and on the trace."""
    logger.set_correlation_id(job_id)
    logger.append_keys(job_id=job_id)
    tracer.put_annotation(key="job_id", value=job_id)
    if page_number is not None:
        logger.append_keys(page=page_number)
        tracer.put_annotation(key="page", value=str(page_number))


def count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    """Add one metric data point."""
    metrics.add_metric(name=name, unit=unit, value=value)
