"""The FailureRecorder's answer to an execution that ended before its job did (moto in-process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pagefan.aws.jobs import JobStore
from pagefan.config import FailureRecorderSettings
from pagefan.formats.document import SourceRef
from pagefan.job_ids import job_id_of_execution
from pagefan.stages.failures import ENDED_MARK, record_ended_execution
from tests.jobs_table import create_jobs_table

TABLE = "jobs"
JOB = "0123456789abcdef0123456789abcdef"


@dataclass
class Account:
    dynamodb: Any
    jobs: JobStore
    sfn: Any
    settings: FailureRecorderSettings


@pytest.fixture
def account() -> Iterator[Account]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_jobs_table(dynamodb, TABLE)
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        machine = sfn.create_state_machine(
            name="document-job",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/document-job",
        )["stateMachineArn"]
        settings = FailureRecorderSettings(
            jobs_table=TABLE, state_machine_arn=machine, job_deadline_seconds=60, job_ttl_days=1
        )
        jobs = JobStore(dynamodb, TABLE)
        source = SourceRef(bucket="raw", key="a.pdf", version_id="v", etag="e", size=1)
        assert jobs.create_job(JOB, source, deadline="2099-01-01T00:00:00.000Z")
        jobs.mark_running(JOB, pages_total=3, sha256="0" * 64)
        yield Account(dynamodb, jobs, sfn, settings)


def _ended(name: str, status: str) -> dict[str, Any]:
    return {
        "detail-type": "Step Functions Execution Status Change",
        "detail": {"name": name, "status": status},
    }


def _executions(account: Account) -> list[str]:
    listed = account.sfn.list_executions(stateMachineArn=account.settings.state_machine_arn)
    return sorted(str(e["name"]) for e in listed["executions"])


def test_an_execution_that_failed_before_recording_its_job_end_is_ended_by_a_new_one(
    account: Account,
) -> None:
    # GIVEN a RUNNING job whose execution FAILED (BookkeepingFailed: the job's end was never written)
    # WHEN the status change reaches the FailureRecorder, twice (EventBridge delivers at least once)
    for _ in range(2):
        [outcome] = record_ended_execution(
            _ended(JOB, "FAILED"), jobs=account.jobs, sfn=account.sfn, settings=account.settings
        )
    # THEN one execution, named after the job and within the 80-character limit, ends the job FAILED
    [name] = _executions(account)
    assert name.startswith(f"{JOB}{ENDED_MARK}") and len(name) <= 80
    assert job_id_of_execution(name) == JOB
    execution = account.sfn.describe_execution(
        executionArn=account.settings.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
    )
    job = json.loads(execution["input"])
    assert (job["job_id"], job["rejection_stage"]) == (JOB, "execution")
    assert outcome.reason.startswith(f"The job's execution {JOB} ended FAILED")


def test_a_continued_or_retried_execution_names_its_job(account: Account) -> None:
    continued = f"{JOB}-continued-27c332f0-11c1-4c1d-8671-df92a9e3faae"
    record_ended_execution(
        _ended(continued, "TIMED_OUT"), jobs=account.jobs, sfn=account.sfn, settings=account.settings
    )
    [name] = _executions(account)
    assert job_id_of_execution(name) == job_id_of_execution(continued) == JOB
    assert job_id_of_execution(f"{JOB}-retry-2") == JOB


def test_an_execution_that_ended_its_job_is_left_alone(account: Account) -> None:
    account.dynamodb.update_item(
        TableName=TABLE,
        Key={"job_id": {"S": JOB}, "item": {"S": "JOB"}},
        UpdateExpression="SET #s = :failed",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":failed": {"S": "FAILED"}},
    )
    assert (
        record_ended_execution(
            _ended(JOB, "FAILED"), jobs=account.jobs, sfn=account.sfn, settings=account.settings
        )
        == []
    )
    assert _executions(account) == []


def test_when_the_ending_execution_fails_too_the_message_is_refused_not_looped(account: Account) -> None:
    ending = f"{JOB}{ENDED_MARK}0123456789abcdef"
    with pytest.raises(RuntimeError, match="run `pagefan retry`"):
        record_ended_execution(
            _ended(ending, "FAILED"), jobs=account.jobs, sfn=account.sfn, settings=account.settings
        )
    assert _executions(account) == []


def test_a_page_event_given_up_for_its_age_is_recorded_with_what_to_change(account: Account) -> None:
    from pagefan import layout
    from pagefan.stages.failures import record_failed_invocation

    record = {
        "requestContext": {"condition": "EventAgeExceeded", "approximateInvokeCount": 0},
        "requestPayload": {
            "Records": [
                {
                    "s3": {
                        "bucket": {"name": "work"},
                        "object": {"key": layout.page_key(JOB, 2), "eTag": "e", "size": 1},
                    }
                }
            ]
        },
        "responsePayload": None,
    }
    [outcome] = record_failed_invocation(
        record, jobs=account.jobs, sfn=account.sfn, settings=account.settings
    )
    assert (outcome.page_number, outcome.changed) == (2, True)
    assert outcome.reason.startswith(
        "The PageWorker never ran: its event waited longer than MaximumEventAgeInSeconds"
    )
    assert "PageConcurrency" in outcome.reason
