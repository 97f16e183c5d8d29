"""Random fault schedules over random documents, through the local runtime (hypothesis).

Invariant after each: the job is terminal, pages_done + pages_failed == pages_total, no page item
twice, one execution, and a COMPLETED job's outputs equal those of a clean run of the same document.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pagefan.formats.jobs_table import JobStatus
from pagefan.local.emulator.faults import FaultPlan, FaultSchedule
from tests.documents import make_sample_pdf
from tests.integration.pipeline import Pipeline, pipeline

pytestmark = pytest.mark.slow

# Every schedule run is recorded here, for the summary the last test prints.
RUNS: list[dict[str, Any]] = []


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    with pipeline(tmp_path_factory.mktemp("schedules")) as running:
        yield running


_clean: dict[tuple[int, int], dict[str, Any]] = {}


def _clean_outputs(stack: Pipeline, pages: int, seed: int, pdf: bytes) -> dict[str, Any]:
    if (pages, seed) not in _clean:
        stack.account.schedule = FaultSchedule(FaultPlan())
        record = stack.run(pdf, f"doc-{pages}-{seed}.pdf")
        assert record.status == JobStatus.COMPLETED, record.error
        _clean[(pages, seed)] = stack.comparable_outputs(record)
    return _clean[(pages, seed)]


# CI runs a few schedules; PAGEFAN_FAULT_SCHEDULES=200 runs a long sweep.
@settings(
    max_examples=int(os.environ.get("PAGEFAN_FAULT_SCHEDULES", "6")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    pages=st.integers(min_value=1, max_value=4),
    document_seed=st.integers(min_value=0, max_value=3),
    duplicate=st.sampled_from([0.0, 0.5, 1.0]),
    crash=st.sampled_from([0.0, 0.3, 1.0]),
    schedule_seed=st.integers(min_value=0, max_value=10_000),
)
def test_random_fault_schedules_count_every_page_once_and_end_every_job(
    stack: Pipeline, pages: int, document_seed: int, duplicate: float, crash: float, schedule_seed: int
) -> None:
    pdf = make_sample_pdf(pages, seed=document_seed)
    expected = _clean_outputs(stack, pages, document_seed, pdf)
    stack.account.schedule = FaultSchedule(FaultPlan(duplicate=duplicate, crash=crash, seed=schedule_seed))
    record = stack.run(pdf, f"doc-{pages}-{document_seed}.pdf")
    stack.account.wait_until_idle()

    assert record.terminal
    assert record.pages_done + record.pages_failed == record.pages_total == pages
    numbers = [page.page_number for page in stack.pages(record.job_id)]
    assert sorted(numbers) == list(range(1, pages + 1))
    sfn = stack.account.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=stack.outputs["DocumentJobArn"])["executions"]
    assert [e["name"] for e in executions].count(record.job_id) == 1
    # Crashes hit first attempts only, so every schedule is recoverable: the job must complete.
    assert record.status == JobStatus.COMPLETED, record.error
    assert stack.comparable_outputs(record) == expected
    RUNS.append(
        {
            "pages": pages,
            "duplicated": stack.account.schedule.duplicated,
            "crashes": stack.account.schedule.crashes,
        }
    )


def test_schedules_ran(record_property: Any) -> None:
    assert RUNS, "the property test ran no schedule"
    record_property("schedules", len(RUNS))
    duplicated = sum(run["duplicated"] for run in RUNS)
    crashes = sum(run["crashes"] for run in RUNS)
    pages = sum(run["pages"] for run in RUNS)
    record_property("pages", pages)
    print(
        f"{len(RUNS)} fault schedules, {pages} pages, {duplicated} duplicated deliveries, {crashes} crashes"
    )
