"""The FailureRecorder's stage on the failed-invocations queue's messages (moto in-process).

Each message is built from the sample events: Lambda's on-failure record of events/failure_recorder.json
(the PageWorker's event after three failed attempts), or the same record for the Splitter's event.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pagefan.config import FailureRecorderSettings
from pagefan.formats.jobs_table import JobStatus, PageStatus
from pagefan.stages.failures import RecordedFailure, record_failure
from tests.lambda_environment import Account, LoadEvent, function_settings


@pytest.fixture
def settings(account: Account) -> FailureRecorderSettings:
    settings = function_settings("FailureRecorder", FailureRecorderSettings)
    account.provide(settings)
    return settings


def _failure(load_event: LoadEvent, request: str | None = None) -> dict[str, Any]:
    """The on-failure record the sample message carries, for the event of ``request`` if given."""
    failure: dict[str, Any] = json.loads(load_event("failure_recorder")["Records"][0]["body"])
    if request is not None:
        failure["requestPayload"] = load_event(request)
    return failure


def _record(
    account: Account, settings: FailureRecorderSettings, message: dict[str, Any]
) -> list[RecordedFailure]:
    return record_failure(message, jobs=account.jobs(settings), sfn=account.sfn, settings=settings)


def test_a_pages_failed_invocation_records_the_page_failed_once(
    account: Account, settings: FailureRecorderSettings, load_event: LoadEvent
) -> None:
    # GIVEN the sample split, and the on-failure record of its page 1
    split = account.split(load_event("splitter"))
    failure = _failure(load_event)
    # WHEN the record arrives twice
    [first] = _record(account, settings, failure)
    [again] = _record(account, settings, failure)
    # THEN page 1 is FAILED with Lambda's last error, changed by the first delivery only
    reason = "The PageWorker failed 3 times: ResourceNotFoundException: Requested resource not found"
    assert first == RecordedFailure(split.job_id, 1, reason, True)
    assert again == RecordedFailure(split.job_id, 1, reason, False)
    [page] = account.jobs(settings).iter_pages(split.job_id)
    assert (page.page_number, page.status, page.reason) == (1, PageStatus.FAILED, reason)


def test_an_uploads_failed_split_starts_its_job_with_the_failure_as_the_rejection(
    account: Account, settings: FailureRecorderSettings, load_event: LoadEvent
) -> None:
    # GIVEN the on-failure record of the Splitter's event: the upload was never split
    failure = _failure(load_event, "splitter")
    # WHEN the record arrives twice
    [first] = _record(account, settings, failure)
    [again] = _record(account, settings, failure)
    # THEN the job exists, and one execution was started to end it FAILED with the reason (the
    # second start, with the same name and input while it runs, is the first one: AWS answers success)
    key = load_event("splitter")["Records"][0]["s3"]["object"]["key"]
    reason = f"Splitting {key} failed 3 times: ResourceNotFoundException: Requested resource not found"
    assert first == RecordedFailure(first.job_id, None, reason, True)
    assert (again.job_id, again.reason) == (first.job_id, reason)
    record = account.jobs(settings).get_job(first.job_id)
    assert record is not None and record.status == JobStatus.SPLITTING
    [(name, task)] = account.executions(settings.state_machine_arn).items()
    assert (name, task["pages_total"], task["rejection"], task["deadline"]) == (
        first.job_id,
        0,
        reason,
        record.deadline,
    )


def test_an_uploads_failed_invocation_after_its_split_finished_changes_nothing(
    account: Account, settings: FailureRecorderSettings, load_event: LoadEvent
) -> None:
    # GIVEN the sample split (a later attempt got through), and the failure of an earlier attempt
    split = account.split(load_event("splitter"))
    # WHEN the failure record arrives
    [outcome] = _record(account, settings, _failure(load_event, "splitter"))
    # THEN the job runs on: no change, and only the split's own execution
    assert (outcome.job_id, outcome.changed) == (split.job_id, False)
    record = account.jobs(settings).get_job(split.job_id)
    assert record is not None and record.status == JobStatus.RUNNING
    [(_, task)] = account.executions(settings.state_machine_arn).items()
    assert "rejection" not in task


def test_a_page_event_that_outlived_its_maximum_age_says_it_never_ran_and_what_to_raise(
    account: Account, settings: FailureRecorderSettings, load_event: LoadEvent
) -> None:
    split = account.split(load_event("splitter"))
    failure = _failure(load_event)
    failure["requestContext"]["condition"] = "EventAgeExceeded"
    [outcome] = _record(account, settings, failure)
    assert (outcome.job_id, outcome.page_number) == (split.job_id, 1)
    assert outcome.reason.startswith("The PageWorker never ran")
    assert "Raise PageConcurrency or JobDeadlineSeconds" in outcome.reason
