"""What the local runtime writes where Lambda writes: REPORT lines and CloudWatch Logs streams."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pagefan.handlers.observability import NoTracer, tracing_enabled
from pagefan.local.client.reports import InvocationReport, parse_report
from pagefan.local.emulator.environments import CloudWatchLogSink, report_line


def test_a_report_line_reads_back_as_lambda_bills_it() -> None:
    cold = report_line("req-1", 10.25, 1024, 80.4, 300.5)
    warm = report_line("req-2", 10.0, 256, 60.0, None)
    # Billed Duration: rounded up to the millisecond, with a cold start's Init Duration.
    assert parse_report(cold) == InvocationReport("req-1", 10.25, 311, 1024, 80, 300.5)
    assert parse_report(warm) == InvocationReport("req-2", 10.0, 10, 256, 60)


@pytest.fixture
def logs() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("logs", region_name="us-east-1")


def test_the_sink_writes_each_stream_of_a_group_and_creates_a_missing_group(logs: Any) -> None:
    # GIVEN a group the stack created, and one it did not
    logs.create_log_group(logGroupName="/aws/lambda/pagefan-splitter")
    sink = CloudWatchLogSink(lambda: logs)
    now = int(time.time() * 1000)  # CloudWatch Logs refuses events older than 14 days

    # WHEN two invocations of one environment and one of another function write their lines
    sink("/aws/lambda/pagefan-splitter", "2026/11/23/[$LATEST]a", [(now, "START"), (now + 1, "REPORT one")])
    sink("/aws/lambda/pagefan-splitter", "2026/11/23/[$LATEST]a", [(now + 2, "REPORT two")])
    sink("/aws/lambda/other", "2026/11/23/[$LATEST]b", [(now + 3, "REPORT three")])
    sink("/aws/lambda/other", "2026/11/23/[$LATEST]b", [])

    # THEN every line is in its group, in order
    def messages(group: str) -> list[str]:
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group)
        return [event["message"] for page in pages for event in page["events"]]

    assert messages("/aws/lambda/pagefan-splitter") == ["START", "REPORT one", "REPORT two"]
    assert messages("/aws/lambda/other") == ["REPORT three"]


@pytest.mark.parametrize(
    ("environ", "traced"),
    [
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "0"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
        ({}, False),
    ],
)
def test_tracing_is_on_only_where_powertools_would_trace(environ: dict[str, str], traced: bool) -> None:
    assert tracing_enabled(environ) is traced


def test_without_tracing_the_tracer_changes_nothing_and_xray_is_never_imported() -> None:
    tracer = NoTracer()

    def handler(event: dict[str, Any], context: object) -> str:
        return "done"

    assert tracer.capture_lambda_handler(handler) is handler
    assert tracer.capture_lambda_handler()(handler) is handler
    tracer.put_annotation(key="job_id", value="j")
    # A handler's cold start with tracing off (the local runtime's setting) skips the X-Ray SDK.
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true", "LAMBDA_TASK_ROOT": "/var/task"}
    code = "import sys, pagefan.handlers.observability; print('aws_xray_sdk' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
