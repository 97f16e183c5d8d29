"""The FailureRecorder's handler, called with events/failure_recorder.json (moto in-process)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.typing import LambdaContext

from pagefan import layout
from pagefan.formats.jobs_table import PageStatus
from tests.lambda_environment import (
    Account,
    ColdStart,
    LoadEvent,
    metric_values,
    output_records,
    without_metrics,
)


def test_the_page_workers_failed_invocation_records_its_page_failed_once(
    account: Account, start: ColdStart, load_event: LoadEvent, lambda_context: LambdaContext, capsys: Any
) -> None:
    # GIVEN the sample job split, and the on-failure record of its page 1 (three attempts failed)
    account.split(load_event("splitter"))
    recorder = start("FailureRecorder")
    event = load_event("failure_recorder")
    failure = json.loads(event["Records"][0]["body"])
    page = layout.parse_page_key(failure["requestPayload"]["Records"][0]["s3"]["object"]["key"])
    assert page is not None
    job_id, page_number = page
    # WHEN the FailureRecorder receives the message, twice (SQS delivers at least once)
    responses = [recorder.handler(event, lambda_context) for _ in range(2)]
    # THEN the page is recorded FAILED with Lambda's error, and counted once
    assert responses == [{"batchItemFailures": []}] * 2
    jobs = account.jobs(recorder.SETTINGS)
    [recorded] = jobs.iter_pages(job_id)
    error = failure["responsePayload"]
    reason = (
        f"The PageWorker failed {failure['requestContext']['approximateInvokeCount']} times: "
        f"{error['errorType']}: {error['errorMessage']}"
    )
    assert (recorded.page_number, recorded.status, recorded.reason) == (
        page_number,
        PageStatus.FAILED,
        reason,
    )
    assert jobs.first_failure(job_id) == f"page {page_number}: {reason}"
    records = output_records(capsys.readouterr().out)
    assert metric_values(records) == {"FailedInvocationsRecorded": [1.0], "FailuresNotRecorded": [0.0, 0.0]}
    logged = [line for line in records if line.get("message") == "failed invocation recorded"]
    assert [(line["job_id"], line["page"], line["changed"]) for line in logged] == [
        (job_id, page_number, True),
        (job_id, page_number, False),
    ]


def test_a_message_that_cannot_be_recorded_is_reported_alone_for_its_retry(
    account: Account, start: ColdStart, load_event: LoadEvent, lambda_context: LambdaContext, capsys: Any
) -> None:
    # GIVEN the sample job split, and a batch of the failure message and a damaged copy of it
    account.split(load_event("splitter"))
    recorder = start("FailureRecorder")
    event = load_event("failure_recorder")
    [message] = event["Records"]
    damaged = {**message, "messageId": f"{message['messageId']}-damaged", "body": message["body"][:-1]}
    event["Records"].append(damaged)
    # WHEN the FailureRecorder receives the batch
    response = recorder.handler(event, lambda_context)
    # THEN the damaged message alone goes back to the queue, and the metric the alarm watches counts it
    assert response == {"batchItemFailures": [{"itemIdentifier": damaged["messageId"]}]}
    assert metric_values(output_records(capsys.readouterr().out)) == {
        "FailedInvocationsRecorded": [1.0],
        "FailuresNotRecorded": [1.0],
    }


@without_metrics  # Powertools raises before the handler counts: the function's Errors metric counts it
def test_a_batch_none_of_which_can_be_recorded_fails_whole(
    account: Account, start: ColdStart, load_event: LoadEvent, lambda_context: LambdaContext
) -> None:
    # GIVEN the failure message, and no jobs table to record it in
    recorder = start("FailureRecorder")
    # WHEN the FailureRecorder receives it THEN the invocation fails, so Lambda retries the batch
    with pytest.raises(BatchProcessingError):
        recorder.handler(load_event("failure_recorder"), lambda_context)
