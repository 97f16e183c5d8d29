"""The one shape of every function the state machine invokes with a JobInput."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from aws_lambda_powertools.utilities.typing import LambdaContext

from pagefan.aws.clients import s3_client
from pagefan.formats import JobInput
from pagefan.handlers.observability import logger, metrics, tag_job, tracer

SettingsT = TypeVar("SettingsT", contravariant=True)


class JobStage(Protocol[SettingsT]):
    """A stage run for one job: reads and writes S3, returns the keys it wrote."""

    def __call__(self, *, s3: Any, settings: SettingsT, job: JobInput) -> dict[str, str]:
        """Do the stage's work for ``job``."""


def job_task_handler(
    name: str, stage: JobStage[SettingsT], settings: SettingsT
) -> Callable[[dict[str, Any], LambdaContext], dict[str, str]]:
    """A Lambda handler that runs ``stage`` for the job a state machine task names."""

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
        job = JobInput.from_dict(event)
        tag_job(job.job_id)
        outputs = stage(s3=s3_client(), settings=settings, job=job)
        logger.info(f"{name} finished", extra={"outputs": outputs, "pages_total": job.pages_total})
        return outputs

    handler.__doc__ = (
        f"{name}: run for the job the state machine names (a JobInput); return the keys written."
    )
    return handler
