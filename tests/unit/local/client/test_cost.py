"""The cost model: pure arithmetic over usage and dated prices."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pagefan.local.client.cost import (
    FunctionUsage,
    JobUsage,
    job_cost,
    pipeline_requests,
    usage_from_reports,
    usage_from_run_summaries,
    usage_from_run_summary,
)
from pagefan.local.client.prices import PRICE_KEYS, Prices, default_prices_path
from pagefan.local.client.reports import InvocationReport, parse_report, request_ids_of_job
from pagefan.local.client.transitions import execution_counts, polls_for, state_transitions, template_inputs

ROOT = Path(__file__).resolve().parents[4]
ASL = json.loads((ROOT / "statemachine" / "document_job.asl.json").read_text())

UNIT = Prices(as_of="2000-01-01", region="test", unit_usd=dict.fromkeys(PRICE_KEYS, 1.0))


def test_the_prices_file_is_dated_and_complete() -> None:
    prices = Prices.load(default_prices_path())
    assert prices.as_of and prices.region == "us-east-1" and prices.sources
    assert set(PRICE_KEYS) <= set(prices.unit_usd)


def test_prices_without_a_key_are_refused() -> None:
    with pytest.raises(ValueError, match="lambda_request"):
        Prices.from_dict({"as_of": "x", "region": "r", "usd": {"lambda_arm64_gb_second": 1}})


def test_lambda_bills_each_invocation_rounded_up_to_the_millisecond() -> None:
    usage = FunctionUsage.from_durations([0.2, 1.0, 10.4], memory_mb=2048)
    assert usage.invocations == 3
    assert usage.billed_ms == 1 + 1 + 11
    assert usage.gb_seconds == pytest.approx(13 / 1000 * 2)


def test_every_item_is_quantity_times_its_unit_price() -> None:
    usage = JobUsage(
        pages=10,
        functions={"PageWorker": FunctionUsage(10, 1000.0, 1024)},
        s3_puts=3,
        s3_gets=5,
        state_transitions=7,
        dynamodb_write_units=11,
        dynamodb_read_units=13,
        eventbridge_events=1,
        sqs_requests=2,
    )
    prices = Prices(as_of="d", region="r", unit_usd={**dict.fromkeys(PRICE_KEYS, 0.0), "s3_put_request": 0.5})
    cost = job_cost(usage, prices)
    assert cost.total_usd == pytest.approx(1.5)
    assert job_cost(usage, UNIT).total_usd == pytest.approx(1.0 + 10 + 3 + 5 + 7 + 11 + 13 + 1 + 2)
    assert job_cost(usage, UNIT).per_1000_pages_usd == pytest.approx(53.0 / 10 * 1000)
    assert {i["what"] for i in cost.to_dict()["items"]} >= {"Lambda PageWorker compute (1024 MB)"}


def test_a_job_of_no_pages_has_no_per_page_cost() -> None:
    assert job_cost(JobUsage(pages=0, functions={}), UNIT).per_1000_pages_usd == 0.0


def test_requests_grow_with_pages_as_the_stages_make_them() -> None:
    one, two = pipeline_requests(1), pipeline_requests(2)
    assert two["s3_puts"] - one["s3_puts"] == 3  # page, result, SVG
    assert two["s3_gets"] - one["s3_gets"] == 4  # worker, combiner (one pass), two exporters
    assert two["dynamodb_write_units"] - one["dynamodb_write_units"] == 1  # the page item, once


def test_a_pdf_in_parts_reads_its_info_per_part_and_its_parts_once() -> None:
    whole, parts = pipeline_requests(100), pipeline_requests(100, pdf_parts=2)
    # each part reads the document info and writes itself; the merge reads info and both parts
    assert parts["s3_gets"] - whole["s3_gets"] == (2 + 1 + 2) - 1
    assert parts["s3_puts"] - whole["s3_puts"] == (2 + 1) - 1


def test_transitions_follow_the_success_path_of_the_real_state_machine() -> None:
    one = state_transitions(ASL, polls=1)
    # Prepare, WasRejected, 6 loop states, Combine, Export with at least a state per branch,
    # MarkCompleted, Publish, Succeed.
    assert one >= 2 + 6 + 1 + 1 + len(ASL["States"]["Export"]["Branches"]) + 3
    assert state_transitions(ASL, polls=3) == one + 2 * 6
    with pytest.raises(ValueError):
        state_transitions(ASL, polls=0)


def test_polls_count_the_first_read_and_one_per_interval() -> None:
    assert polls_for(0.0, 5) == 1
    assert polls_for(12.0, 5) == 4


def test_a_run_summary_becomes_usage() -> None:
    summary = {
        "pages_total": 4,
        "timings": {"seconds_to_pages": 1.0, "seconds_to_combining_and_exporting": 6.0},
        "functions": {
            "PageWorker": {"invocations": 4, "total_ms": 100.0, "memory_size_mb": 1024},
            "FailureRecorder": {"invocations": 0, "total_ms": 0.0, "memory_size_mb": 256},
        },
    }
    usage = usage_from_run_summary(summary, ASL, poll_interval_s=5)
    assert set(usage.functions) == {"PageWorker"}
    assert usage.functions["PageWorker"].billed_ms == 102.0
    # Cold starts' init time is billed too (Lambda bills the INIT phase since August 2025).
    summary["functions"]["PageWorker"]["init_ms"] = 300.0  # type: ignore[index]
    assert usage_from_run_summary(summary, ASL, poll_interval_s=5).functions["PageWorker"].billed_ms == 402.0
    assert usage.state_transitions == state_transitions(ASL, polls=2)
    assert usage.dynamodb_read_units == pipeline_requests(4)["dynamodb_read_units"] + 2


def test_a_run_of_several_documents_counts_the_shared_function_stats_once() -> None:
    functions = {"PageWorker": {"invocations": 6, "total_ms": 60.0, "memory_size_mb": 1024}}
    lines = [
        {"pages_total": 2, "timings": {}, "functions": functions},
        {"pages_total": 4, "timings": {}, "functions": functions},
    ]
    usage = usage_from_run_summaries(lines, ASL, poll_interval_s=5)
    assert usage.pages == 6
    assert usage.functions["PageWorker"].invocations == 6
    assert usage.s3_puts == pipeline_requests(2)["s3_puts"] + pipeline_requests(4)["s3_puts"]
    assert usage.state_transitions == 2 * state_transitions(ASL, polls=1)
    with pytest.raises(ValueError, match="function stats"):
        usage_from_run_summaries([{"pages_total": 1, "functions": {}}], ASL, poll_interval_s=5)


def test_the_template_names_the_state_machine_and_poll_interval() -> None:
    from pagefan.local.emulator.template import load_template

    asl, poll = template_inputs(load_template(ROOT / "template.yaml"), ROOT)
    assert asl == ASL
    assert poll == 5


def test_pagefan_cost_prices_a_run_summary() -> None:
    from click.testing import CliRunner

    from pagefan.local.cli import main

    line = {
        "pages_total": 10,
        "timings": {"seconds_to_pages": 1.0, "seconds_to_combining_and_exporting": 2.0},
        "functions": {"PdfExporter": {"invocations": 1, "total_ms": 1000.0, "memory_size_mb": 2048}},
    }
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["cost", "--json", "-", "--template", str(ROOT / "template.yaml")],
        input=json.dumps(line) + "\n",
    )
    assert result.exit_code == 0, result.output
    bill = json.loads(result.output)
    assert bill["pages"] == 10 and bill["total_usd"] > 0
    empty = runner.invoke(main, ["cost", "-"], input='{"pages_total": 1, "functions": {}}\n')
    assert empty.exit_code == 2


REQUEST = "8f5c2b9e-1d2a-4c1b-9a57-0b6f1e2d3c4a"


def test_lambda_report_lines_are_read_in_text_and_json_formats() -> None:
    text = (
        f"REPORT RequestId: {REQUEST}\tDuration: 101.25 ms\tBilled Duration: 402 ms\t"
        "Memory Size: 1024 MB\tMax Memory Used: 80 MB\tInit Duration: 300.40 ms\t\n"
    )
    assert parse_report(text) == InvocationReport(REQUEST, 101.25, 402, 1024, 80, 300.4)
    warm = f"REPORT RequestId: {REQUEST} Duration: 5.00 ms Billed Duration: 5 ms Memory Size: 256 MB"
    assert parse_report(warm) == InvocationReport(REQUEST, 5.0, 5, 256)
    platform = {
        "time": "2026-11-23T12:00:00.000Z",
        "type": "platform.report",
        "record": {
            "requestId": REQUEST,
            "metrics": {
                "durationMs": 7.5,
                "billedDurationMs": 8,
                "memorySizeMB": 2048,
                "maxMemoryUsedMB": 90,
            },
        },
    }
    assert parse_report(json.dumps(platform)) == InvocationReport(REQUEST, 7.5, 8, 2048, 90)
    for other in (f"START RequestId: {REQUEST} Version: $LATEST", '{"level":"INFO"}', "{not json", ""):
        assert parse_report(other) is None


def test_the_jobs_invocations_are_those_whose_lines_name_the_job() -> None:
    lines = [
        json.dumps({"message": "working on job", "job_id": "job-1", "function_request_id": "a"}),
        json.dumps({"message": "x", "correlation_id": "job-1", "function_request_id": "b"}),
        json.dumps({"message": "x", "job_id": "job-2", "function_request_id": "c"}),
        json.dumps({"message": "no request id", "job_id": "job-1"}),
        "REPORT RequestId: d Duration: 1.00 ms Billed Duration: 1 ms Memory Size: 128 MB job-1",
        "{broken",
    ]
    assert request_ids_of_job(lines, "job-1") == {"a", "b"}


def test_an_execution_history_gives_transitions_and_progress_reads() -> None:
    def entered(name: str, kind: str = "TaskStateEntered") -> dict[str, Any]:
        return {"type": kind, "stateEnteredEventDetails": {"name": name}}

    history: list[dict[str, Any]] = [
        {"type": "ExecutionStarted"},
        entered("Prepare", "PassStateEntered"),
        entered("CountPages"),
        {"type": "TaskStateExited"},
        entered("CountMorePages"),
        entered("Export", "ParallelStateEntered"),
        entered("ExportSvg"),
        {"type": "ExecutionSucceeded"},
    ]
    assert execution_counts(history, ASL) == (5, 2)


def test_usage_from_reports_bills_lambdas_own_figures() -> None:
    reports = {
        "PageWorker": [
            InvocationReport("a", 10.2, 311, 1024, init_ms=300.0),
            InvocationReport("b", 9.0, 9, 1024),
        ],
        "FailureRecorder": [],
    }
    usage = usage_from_reports(pages=2, reports=reports, state_transitions=17, progress_reads=3)
    assert set(usage.functions) == {"PageWorker"}
    assert usage.functions["PageWorker"] == FunctionUsage(2, 320.0, 1024)
    assert usage.state_transitions == 17
    # Each progress read is a Query over the job's page items: two small items fit one read unit.
    assert usage.dynamodb_read_units == pipeline_requests(2)["dynamodb_read_units"] + 3 * 1
    assert usage.s3_gets == pipeline_requests(2)["s3_gets"]
