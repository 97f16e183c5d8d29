"""FailureRecorder: the failed-invocations queue → failed pages and failed jobs."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pagefan.aws.clients import dynamodb_client, sfn_client
from pagefan.aws.jobs import JobStore
from pagefan.config import FailureRecorderSettings, load_settings
from pagefan.handlers.observability import count, logger, metrics, tracer
from pagefan.stages.failures import record_failure

SETTINGS = load_settings(FailureRecorderSettings)


class BatchNotRecorded(RuntimeError):
    """No message of the batch could be recorded: the invocation fails and SQS delivers them again."""


def _record(body: str) -> None:
    jobs = JobStore(dynamodb_client(), SETTINGS.jobs_table, ttl_days=SETTINGS.job_ttl_days)
    for outcome in record_failure(json.loads(body), jobs=jobs, sfn=sfn_client(), settings=SETTINGS):
        logger.warning(
            "failed invocation recorded",
            extra={
                "job_id": outcome.job_id,
                "page": outcome.page_number,
                "reason": outcome.reason,
                "changed": outcome.changed,
            },
        )
        if outcome.changed:
            count("FailedInvocationsRecorded")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    """Record every failed invocation in the batch; report the ones that could not be recorded.

    A partial batch response (ReportBatchItemFailures), as Powertools' BatchProcessor gives it but
    written out: its module imports asyncio and every event data class (~65 ms of cold start)
    for what is one loop here. As there, a batch of which nothing could be recorded fails whole.
    """
    records = event.get("Records", [])
    failures = []
    for record in records:
        try:
            _record(record["body"])
        except Exception:
            logger.exception(
                "failed invocation not recorded: SQS delivers it again",
                extra={"message_id": record.get("messageId")},
            )
            failures.append({"itemIdentifier": record["messageId"]})
    if records and len(failures) == len(records):
        raise BatchNotRecorded(f"none of the {len(records)} message(s) could be recorded")
    return {"batchItemFailures": failures}
