"""The Splitter's handler, called with events/splitter.json in an emulated account (moto in-process)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pagefan import layout
from pagefan.formats.jobs_table import JobStatus
from pagefan.formats.payloads import JobInput
from tests.lambda_environment import Account, ColdStart, LoadEvent, metric_values, output_records


def test_the_sample_upload_becomes_a_job_with_a_page_object_per_page_and_an_execution(
    account: Account,
    start: ColdStart,
    load_event: LoadEvent,
    lambda_context: LambdaContext,
    capsys: Any,
) -> None:
    # GIVEN the upload events/splitter.json names, and what the Splitter's settings name
    splitter = start("Splitter")
    event = load_event("splitter")
    account.provide(splitter.SETTINGS)
    account.upload(event)
    # WHEN the Splitter is invoked with the event
    response = splitter.handler(event, lambda_context)
    # THEN the job is the one the downstream events name: its pages, its page count
    page_object = load_event("page_worker")["Records"][0]["s3"]["object"]
    job = JobInput.from_dict(load_event("combiner"))
    assert layout.parse_page_key(page_object["key"]) == (job.job_id, 1)
    assert response == {"jobs": [{"job_id": job.job_id, "pages_total": job.pages_total, "rejection": None}]}
    # one page object per page, page 1 exactly as the PageWorker's event describes it
    work_bucket = splitter.SETTINGS.work_bucket
    assert account.keys(work_bucket, layout.PAGES_PREFIX) == [
        layout.page_key(job.job_id, page) for page in range(1, job.pages_total + 1)
    ]
    head = account.s3.head_object(Bucket=work_bucket, Key=page_object["key"])
    assert (head["ContentLength"], head["ETag"].strip('"')) == (page_object["size"], page_object["eTag"])
    assert account.keys(work_bucket, layout.document_info_key(job.job_id)) != []
    # the job RUNNING in the table, and its execution started with the job's input
    record = account.jobs(splitter.SETTINGS).get_job(job.job_id)
    assert record is not None and (record.status, record.pages_total) == (JobStatus.RUNNING, job.pages_total)
    assert record.deadline is not None
    assert account.executions(splitter.SETTINGS.state_machine_arn) == {
        job.job_id: JobInput(job.job_id, job.pages_total, record.deadline).to_dict()
    }
    # the metrics and the log line of a split, the line tagged with the job
    records = output_records(capsys.readouterr().out)
    assert metric_values(records) == {"DocumentsSplit": [1.0], "PagesSplit": [float(job.pages_total)]}
    [split] = [line for line in records if line.get("message") == "document split"]
    assert split["job_id"] == split["correlation_id"] == job.job_id
    assert (split["key"], split["pages_total"]) == (
        event["Records"][0]["s3"]["object"]["key"],
        job.pages_total,
    )
    assert split["function_request_id"] == lambda_context.aws_request_id
