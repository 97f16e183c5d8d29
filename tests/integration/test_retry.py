"""`pagefan status` and `pagefan retry`: failed pages processed again, the job resumed to its end."""

from __future__ import annotations

from pathlib import Path

import pytest

from pagefan.formats.jobs_table import JobStatus, PageStatus
from pagefan.local.client.jobs_client import JobsClient, StackOutputs
from tests.documents import make_sample_pdf
from tests.integration.pipeline import pipeline

pytestmark = pytest.mark.slow


def test_retry_reprocesses_only_the_failed_pages_and_completes_the_job(tmp_path: Path) -> None:
    # GIVEN a job whose pages all failed because the PageWorker was misconfigured
    broken = {"PageWorker": {"environment": {"JOBS_TABLE": "no-such-table"}}}
    with pipeline(tmp_path, function_overrides=broken) as stack:
        record = stack.run(make_sample_pdf(3), "retry-me.pdf")
        assert (record.status, record.pages_failed) == (JobStatus.FAILED, 3)
        account = stack.account
        client = JobsClient(
            account.client("s3"),
            account.client("dynamodb"),
            StackOutputs.from_outputs(stack.outputs),
            account.client("stepfunctions"),
        )
        status = client.status(record.job_id)
        assert [page["page"] for page in status["failed_pages"]] == [1, 2, 3]
        assert status["error"]["stage"] == "pages"

        # WHEN the configuration is fixed and the job retried
        account.functions["PageWorker"].update_configuration(JOBS_TABLE=stack.outputs["JobsTableName"])
        worker_runs = account.functions["PageWorker"].stats.invocations
        outcome = client.retry(record.job_id)
        assert outcome.retried and outcome.pages == [1, 2, 3]
        final = stack.client.wait(record.job_id, timeout=120)

        # THEN each page was processed once more and the job completed with every output
        assert final is not None and final.status == JobStatus.COMPLETED, final and final.error
        assert (final.pages_done, final.pages_failed) == (3, 0)
        assert [p.status for p in stack.pages(record.job_id)] == [PageStatus.DONE] * 3
        assert account.functions["PageWorker"].stats.invocations == worker_runs + 3
        assert set(final.outputs) == {"document_json", "document_text", "svg_prefix", "document_pdf"}
        assert final.error is None
        events = stack.job_events(record.job_id, expect=2)
        assert [e["detail-type"] for e in events] == ["JobFailed", "JobCompleted"]

        # AND a second retry is harmless
        again = client.retry(record.job_id)
        assert not again.retried and "COMPLETED" in again.message
        executions = account.client("stepfunctions").list_executions(
            stateMachineArn=stack.outputs["DocumentJobArn"]
        )
        assert sorted(e["name"] for e in executions["executions"]) == [
            record.job_id,
            f"{record.job_id}-retry-1",
        ]


def test_a_rejected_upload_is_not_retried(tmp_path: Path) -> None:
    with pipeline(tmp_path) as stack:
        record = stack.run(b"not a pdf at all", "notes.pdf")
        client = JobsClient(
            stack.account.client("s3"),
            stack.account.client("dynamodb"),
            StackOutputs.from_outputs(stack.outputs),
            stack.account.client("stepfunctions"),
        )
        outcome = client.retry(record.job_id)
        assert not outcome.retried
        assert "upload a fixed document" in outcome.message
        assert client.jobs.get_job(record.job_id).status == JobStatus.FAILED  # type: ignore[union-attr]
