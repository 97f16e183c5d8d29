"""FailureRecorder: the failed-invocations queue → failed pages and failed jobs."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from pagefan.aws.clients import job_store, sfn_client
from pagefan.config import FailureRecorderSettings, load_settings
from pagefan.handlers.observability import count, logger, observed
from pagefan.stages.failures import record_failure

SETTINGS = load_settings(FailureRecorderSettings)
# Partial batch responses: a message that cannot be recorded now is retried alone, not the batch.
# Powertools' batch module costs about 65 ms of cold start; this function runs only when something
# failed, and stays well inside the 300 ms import budget with it.
processor = BatchProcessor(event_type=EventType.SQS)


def _record(record: SQSRecord) -> None:
    message = json.loads(record.body)
    for outcome in record_failure(message, jobs=job_store(SETTINGS), sfn=sfn_client(), settings=SETTINGS):
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


@observed
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Record every failed invocation in the batch; report the ones that could not be recorded."""
    response = process_partial_response(
        event=event, record_handler=_record, processor=processor, context=context
    )
    # Emitted with every batch, 0 included, so the alarm on it watches a metric that exists.
    count("FailuresNotRecorded", len(response.get("batchItemFailures", [])))
    return response
