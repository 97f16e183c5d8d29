"""The one shape of every function the state machine invokes with a job's task input."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from aws_lambda_powertools.utilities.typing import LambdaContext

from pagefan.aws.clients import s3_client
from pagefan.formats.payloads import JobInput
from pagefan.handlers.observability import logger, metrics, tag_job, tracer

SettingsT = TypeVar("SettingsT", contravariant=True)


class TaskInput(Protocol):
    """What the handler needs of any task input: the job it belongs to."""

    @property
    def job_id(self) -> str:
        """The job's id."""

    @property
    def pages_total(self) -> int:
        """The job's page count."""


InputT = TypeVar("InputT", bound=TaskInput, contravariant=True)


class JobStage(Protocol[SettingsT, InputT]):
    """A stage run for one job: reads and writes S3, returns the keys it wrote."""

    def __call__(self, *, s3: Any, settings: SettingsT, job: InputT) -> dict[str, str]:
        """Do the stage's work for ``job``."""


def task_handler(
    name: str,
    stage: JobStage[SettingsT, InputT],
    settings: SettingsT,
    parse: Callable[[Mapping[str, Any]], InputT],
) -> Callable[[dict[str, Any], LambdaContext], dict[str, str]]:
    """A Lambda handler that parses its event with ``parse`` and runs ``stage`` for that task."""

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
        task = parse(event)
        tag_job(task.job_id)
        outputs = stage(s3=s3_client(), settings=settings, job=task)
        logger.info(f"{name} finished", extra={"outputs": outputs, "pages_total": task.pages_total})
        return outputs

    handler.__doc__ = f"{name}: run the task the state machine names; return the keys written."
    return handler


def job_task_handler(
    name: str, stage: JobStage[SettingsT, JobInput], settings: SettingsT
) -> Callable[[dict[str, Any], LambdaContext], dict[str, str]]:
    """A Lambda handler that runs ``stage`` for the job a state machine task names (a JobInput)."""
    return task_handler(name, stage, settings, JobInput.from_dict)
