"""A job that polls for long hands itself to a new execution before Step Functions' history quota."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from pagefan.aws.jobs import JobStore
from pagefan.formats.document import SourceRef
from pagefan.formats.jobs_table import PageCounts, page_sort_key
from pagefan.formats.payloads import JobInput
from pagefan.local.emulator.dynamodb_limits import DynamoDbLimits
from tests.integration.pipeline import pipeline

pytestmark = pytest.mark.slow


def test_a_job_whose_polls_spend_their_budget_continues_in_a_new_execution(tmp_path: Path) -> None:
    # GIVEN the smallest history budget for polling, and a running job whose pages never finish
    with pipeline(tmp_path, parameters={"PollEventBudget": "100"}) as stack:
        jobs = JobStore(stack.account.client("dynamodb"), stack.outputs["JobsTableName"])
        source = SourceRef(bucket="raw", key="slow.pdf", version_id="v", etag="e", size=1)
        job_id = "0123456789abcdef0123456789abcdef"
        assert jobs.create_job(job_id, source, deadline="2099-01-01T00:00:00.000Z")
        jobs.mark_running(job_id, pages_total=2, sha256="0" * 64)
        job = JobInput(job_id=job_id, pages_total=2, deadline="2099-01-01T00:00:00.000Z")
        sfn = stack.account.client("stepfunctions")
        machine = stack.outputs["DocumentJobArn"]
        sfn.start_execution(stateMachineArn=machine, name=job_id, input=json.dumps(job.to_dict()))

        # WHEN its first execution has polled through its budget
        deadline = time.monotonic() + 120  # a guard against a hang: the wait is for a state
        continued: list[dict[str, object]] = []
        while not continued:
            assert time.monotonic() < deadline, "the job was never handed to a new execution"
            time.sleep(0.5)
            continued = [
                execution
                for execution in sfn.list_executions(stateMachineArn=machine)["executions"]
                if str(execution["name"]).startswith(f"{job_id}-continued-")
            ]

        # THEN the first ended SUCCEEDED, having handed the same input to one that runs on
        first = sfn.describe_execution(
            executionArn=machine.replace(":stateMachine:", ":execution:") + f":{job_id}"
        )
        assert first["status"] == "SUCCEEDED"
        successor = sfn.describe_execution(executionArn=str(continued[0]["executionArn"]))
        assert json.loads(successor["input"]) == job.to_dict()
        assert len(str(successor["name"])) <= 80
        record = jobs.get_job(job_id)
        assert record is not None and record.status == "RUNNING"
        sfn.stop_execution(executionArn=str(continued[0]["executionArn"]))


def test_progress_is_counted_across_query_pages(tmp_path: Path) -> None:
    # GIVEN a job of 1,200 recorded pages whose items, over 1 KB each, take two 1 MB query pages
    # (written fast, so this test alone turns the partition's throughput limit off)
    pages = 1200
    with pipeline(tmp_path, dynamodb_limits=DynamoDbLimits(throttling=False)) as stack:
        dynamodb = stack.account.client("dynamodb")
        table = stack.outputs["JobsTableName"]
        jobs = JobStore(dynamodb, table)
        source = SourceRef(bucket="raw", key="big.pdf", version_id="v", etag="e", size=1)
        job_id = "fedcba9876543210fedcba9876543210"
        assert jobs.create_job(job_id, source, deadline="2099-01-01T00:00:00.000Z")
        jobs.mark_running(job_id, pages_total=pages, sha256="0" * 64)
        items = [
            {
                "PutRequest": {
                    "Item": {
                        "job_id": {"S": job_id},
                        "item": {"S": page_sort_key(page)},
                        "page_number": {"N": str(page)},
                        "status": {"S": "FAILED" if page == pages else "DONE"},
                        "padding": {"S": "x" * 1024},
                    }
                }
            }
            for page in range(1, pages + 1)
        ]
        for start in range(0, pages, 25):
            dynamodb.batch_write_item(RequestItems={table: items[start : start + 25]})
        assert jobs.count_pages(job_id) == PageCounts(done=pages - 1, failed=1)

        # WHEN its execution polls
        job = JobInput(job_id=job_id, pages_total=pages, deadline="2099-01-01T00:00:00.000Z")
        sfn = stack.account.client("stepfunctions")
        machine = stack.outputs["DocumentJobArn"]
        sfn.start_execution(stateMachineArn=machine, name=job_id, input=json.dumps(job.to_dict()))
        record = stack.client.wait(job_id, timeout=120)

        # THEN it counted every page over both query pages, and failed the job for its one failed page
        assert record is not None and record.error is not None
        assert record.error.stage == "pages", record.error.reason
        assert record.error.reason.startswith(f"1 of {pages} pages could not be processed")
        history = sfn.get_execution_history(
            executionArn=machine.replace(":stateMachine:", ":execution:") + f":{job_id}", maxResults=1000
        )["events"]
        entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
        assert entered.count("CountMorePages") >= 1
