"""The one Logger, Tracer and Metrics of every pagefan function, and the decorator that applies them.

Every handler is ``@observed`` and tags its job with :func:`tag_job` as soon as it knows it.
The service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and
POWERTOOLS_METRICS_NAMESPACE in the template's Globals.

Powertools' ``Tracer()`` imports the X-Ray SDK even when tracing is disabled (it disables the
SDK through the SDK), which was about half of every handler's cold start (100-180 ms). So the
real Tracer is made only where Powertools would trace: in Lambda (LAMBDA_TASK_ROOT), not under
SAM or Chalice's local emulators, and without POWERTOOLS_TRACE_DISABLED. Elsewhere (the local
runtime, tests, benchmarks) ``tracer`` is a stand-in with the same methods that does nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

_FALSE = {"0", "false", "f", "no", "n", "off"}


def tracing_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether Powertools' Tracer would trace here (its own rule, read without importing it)."""
    if environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() not in _FALSE:
        return False
    if environ.get("AWS_SAM_LOCAL") or environ.get("AWS_CHALICE_CLI_MODE"):
        return False
    return bool(environ.get("LAMBDA_TASK_ROOT"))


class NoTracer:
    """What handlers use of ``Tracer`` when tracing is off: every call does nothing."""

    disabled = True

    def capture_lambda_handler(
        self,
        lambda_handler: Callable[..., Any] | None = None,
        capture_response: bool | None = None,
        capture_error: bool | None = None,
    ) -> Callable[..., Any]:
        """Return the handler unchanged (with or without arguments, as Tracer's decorator)."""
        if lambda_handler is None:
            return self.capture_lambda_handler
        return lambda_handler

    def put_annotation(self, key: str, value: Any) -> None:
        """Nothing to annotate: no trace."""

    def put_metadata(self, key: str, value: Any, namespace: str | None = None) -> None:
        """Nothing to record: no trace."""


def _make_tracer() -> Tracer | NoTracer:
    if not tracing_enabled():
        return NoTracer()
    from aws_lambda_powertools import Tracer

    return Tracer()


logger = Logger()
tracer: Tracer | NoTracer = _make_tracer()
metrics = Metrics()

HandlerT = TypeVar("HandlerT", bound=Callable[[dict[str, Any], LambdaContext], Any])


def observed(handler: HandlerT) -> HandlerT:
    """``handler`` with the Lambda context on every log line, a trace, and its metrics flushed.

    Powertools' documented order: the Logger outermost, so that every line of the invocation
    (the Tracer's and the Metrics' included) carries the request id, and ``clear_state`` drops the
    keys the previous invocation's :func:`tag_job` added; the Metrics innermost, flushed in EMF
    when the handler returns or raises.
    """
    traced = tracer.capture_lambda_handler(metrics.log_metrics(handler))
    return cast(HandlerT, logger.inject_lambda_context(traced, clear_state=True))


def tag_job(job_id: str, page_number: int | None = None) -> None:
    """Put the job id (and page) on every following log line and on the trace.

    Logs one line at once, so every invocation for a job leaves a line with the job id and the
    request id even if it then fails or times out: `pagefan cost JOB_ID` finds its REPORT line
    (billed duration) by that request id.
    """
    logger.set_correlation_id(job_id)
    logger.append_keys(job_id=job_id)
    tracer.put_annotation(key="job_id", value=job_id)
    if page_number is not None:
        logger.append_keys(page=page_number)
        tracer.put_annotation(key="page", value=str(page_number))
    logger.info("working on job")


def count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    """Add one metric data point."""
    metrics.add_metric(name=name, unit=unit, value=value)
