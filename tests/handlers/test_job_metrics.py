"""The JobMetrics handler, called with events/job_metrics.json: nothing but the event is needed."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from pagefan.formats.jobs_table import JobStatus
from tests.lambda_environment import ColdStart, LoadEvent, metric_values, output_records, without_metrics


def test_a_failed_job_counts_once_in_all_and_once_by_the_stage_that_failed_it(
    start: ColdStart, load_event: LoadEvent, lambda_context: LambdaContext, capsys: Any
) -> None:
    event = load_event("job_metrics")
    detail = event["detail"]
    response = start("JobMetrics").handler(event, lambda_context)
    assert response == {"job_id": detail["job_id"], "status": JobStatus.FAILED}
    records = output_records(capsys.readouterr().out)
    assert metric_values(records) == {"JobsFailedByStage": [1.0], "JobsFailed": [1.0]}
    [by_stage] = [record for record in records if "JobsFailedByStage" in record]
    assert by_stage["stage"] == detail["stage"]
    [failed] = [line for line in records if line.get("message") == "job failed"]
    assert (failed["job_id"], failed["correlation_id"]) == (detail["job_id"], detail["job_id"])
    assert (failed["stage"], failed["reason"]) == (detail["stage"], detail["reason"])


def test_a_completed_job_counts_as_completed(
    start: ColdStart, load_event: LoadEvent, lambda_context: LambdaContext, capsys: Any
) -> None:
    event = load_event("job_metrics")
    event["detail-type"] = "JobCompleted"
    event["detail"].update(status=JobStatus.COMPLETED, pages_total=load_event("combiner")["pages_total"])
    response = start("JobMetrics").handler(event, lambda_context)
    assert response == {"job_id": event["detail"]["job_id"], "status": JobStatus.COMPLETED}
    assert metric_values(output_records(capsys.readouterr().out)) == {"JobsCompleted": [1.0]}


@without_metrics
def test_an_event_of_another_type_is_refused(
    start: ColdStart, load_event: LoadEvent, lambda_context: LambdaContext
) -> None:
    event = load_event("job_metrics")
    event["detail-type"] = "JobStarted"
    with pytest.raises(ValueError, match="not a job event: detail-type 'JobStarted'"):
        start("JobMetrics").handler(event, lambda_context)
