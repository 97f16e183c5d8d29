"""Duplicated, reordered deliveries and crashing workers change nothing in the outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pagefan.formats.jobs_table import JobStatus
from pagefan.local.emulator.faults import FaultPlan
from tests.documents import make_sample_pdf
from tests.integration.pipeline import Pipeline, pipeline

pytestmark = pytest.mark.slow

DOCUMENT = make_sample_pdf(8)


def test_outputs_under_duplicates_and_crashes_equal_a_clean_run(tmp_path: Path) -> None:
    with pipeline(tmp_path / "clean") as stack:
        clean = stack.run(DOCUMENT, "report.pdf")
        assert clean.status == JobStatus.COMPLETED
        expected = stack.comparable_outputs(clean)

    plan = FaultPlan(duplicate=0.5, crash=0.4, seed=7)
    with pipeline(tmp_path / "faulty", faults=plan) as stack:
        record = stack.run(DOCUMENT, "report.pdf")
        stack.account.wait_until_idle()
        schedule = stack.account.schedule
        # The schedule really did duplicate deliveries and crash invocations...
        assert schedule.duplicated > 0 and schedule.crashes > 0
        # A crash happens only if the invocation reaches its crash point: a duplicate Splitter delivery
        # returns before writing anything.
        died = sum(environments.stats.errors for environments in stack.account.functions.values())
        assert 0 < died <= schedule.crashes
        assert stack.account.functions["PageWorker"].stats.invocations > 8
        # ...and every page still counts exactly once.
        assert record.status == JobStatus.COMPLETED, record.error
        assert (record.pages_done, record.pages_failed) == (8, 0)
        pages = stack.pages(record.job_id)
        assert sorted(page.page_number for page in pages) == list(range(1, 9))
        assert stack.failed_invocations() == []
        assert len(stack.job_events(record.job_id)) == 1
        assert stack.comparable_outputs(record) == expected


def _executions(stack: Pipeline) -> list[dict[str, Any]]:
    sfn = stack.account.client("stepfunctions")
    return sfn.list_executions(stateMachineArn=stack.outputs["DocumentJobArn"])["executions"]


def test_every_event_delivered_two_or_three_times_makes_one_job_and_one_execution(tmp_path: Path) -> None:
    with pipeline(tmp_path, faults=FaultPlan(duplicate=1.0, seed=3)) as stack:
        record = stack.run(make_sample_pdf(5), "twice.pdf")
        stack.account.wait_until_idle()
        # 1 upload event + 5 page events, each delivered 2 or 3 times (the Splitter's copies run at
        # once, as on Lambda, so a page object can be written, and its event sent, by more than one)
        assert stack.account.schedule.duplicated >= 6
        assert stack.account.functions["Splitter"].stats.invocations >= 2
        assert record.status == JobStatus.COMPLETED
        assert (record.pages_done, record.pages_failed) == (5, 0)
        assert sorted(page.page_number for page in stack.pages(record.job_id)) == [1, 2, 3, 4, 5]
        assert [e["name"] for e in _executions(stack)] == [record.job_id]
        assert len(stack.job_events(record.job_id)) == 1


def test_every_first_attempt_crashing_is_recovered_by_retries(tmp_path: Path) -> None:
    # The Splitter dies after writing its first, second or third object; each PageWorker dies
    # before writing its result, after writing it, or after recording the page.
    with pipeline(tmp_path, faults=FaultPlan(crash=1.0, seed=11)) as stack:
        record = stack.run(make_sample_pdf(6), "crashy.pdf")
        stack.account.wait_until_idle()
        functions = stack.account.functions
        assert functions["Splitter"].stats.errors == 1
        # At least once per page: a page the crashed Splitter had already written is written (and
        # delivered) again by its retry, and that delivery's first attempt crashes too.
        assert functions["PageWorker"].stats.errors >= 6
        # Each crashed attempt was retried once, and every retry is counted against the job, the
        # Splitter's (whose event names the upload, not a page) too
        crashed = functions["Splitter"].stats.errors + functions["PageWorker"].stats.errors
        assert stack.account.contention.of(record.job_id)["retried_invocations"] == crashed
        assert record.status == JobStatus.COMPLETED, record.error
        assert (record.pages_done, record.pages_failed) == (6, 0)
        assert len(stack.pages(record.job_id)) == 6
        assert [e["name"] for e in _executions(stack)] == [record.job_id]
        assert stack.keys("WorkBucketName", f"pages/{record.job_id}/") == [
            f"pages/{record.job_id}/{n:05d}.pdf" for n in range(1, 7)
        ]
        assert stack.failed_invocations() == []
