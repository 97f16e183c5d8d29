"""Operating a stack: alarms, the dashboard, job events and one job's logs, through the local runtime.

One account runs three documents: one COMPLETED, one FAILED by a page whose content is too large,
and one FAILED through the failure queue (its PageWorker then points at a table that does not
exist, so Lambda gives up on the page and the FailureRecorder records it). What the handlers wrote
to their environments' logs is then the truth the alarms, the dashboard and the schemas are held to.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter

from pagefan.formats.jobs_table import JobRecord, JobStatus
from pagefan.local.client.job_logs import STATE_MACHINE, JobLogLine, JobLogs, state_machine_log_group
from pagefan.local.emulator.environments import log_group_of
from pagefan.local.emulator.template import load_template
from pagefan.schemas import validate_job_event
from tests.documents import make_sample_pdf
from tests.integration.pipeline import TEMPLATE, Pipeline, pipeline

ROOT = TEMPLATE.parent
PAGEFAN = str(Path(sys.executable).parent / "pagefan")
MAPPING = load_template(TEMPLATE)["Mappings"]["PagefanMetrics"]
NAMESPACE = MAPPING["Emf"]["Namespace"]

Metric = tuple[str, str, frozenset[tuple[str, str]]]
"""(namespace, metric name, dimension (name, value) pairs), as EMF declares and CloudWatch stores it."""


def failed_jobs_pattern() -> dict[str, Any]:
    """The README's sample rule pattern for "FAILED jobs of this stack"."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- failed-jobs-pattern -->\s*```json\n(.*?)```", readme, re.DOTALL)
    assert block is not None, "README.md lost its failed-jobs pattern"
    pattern: dict[str, Any] = json.loads(block.group(1))
    return pattern


def _concatenate(*documents: bytes) -> bytes:
    writer = PdfWriter()
    for document in documents:
        writer.append(PdfReader(io.BytesIO(document)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@dataclass
class Operated:
    stack: Pipeline
    completed: JobRecord
    failed_page: JobRecord
    failed_queue: JobRecord
    consumer_url: str

    def emitted(self) -> set[Metric]:
        """Every metric the environments' logs declare in EMF (namespace, name, dimension set)."""
        found: set[Metric] = set()
        for log in (self.stack.account.work_dir / "logs").glob("*.log"):
            for line in log.read_text(encoding="utf-8").splitlines():
                if not line.startswith('{"_aws"'):
                    continue
                record = json.loads(line)
                for directive in record["_aws"]["CloudWatchMetrics"]:
                    for dimensions in directive["Dimensions"]:
                        pairs = frozenset((name, str(record[name])) for name in dimensions)
                        for metric in directive["Metrics"]:
                            found.add((directive["Namespace"], metric["Name"], pairs))
        return found


@pytest.fixture(scope="module")
def operated(tmp_path_factory: pytest.TempPathFactory, boots_emulated_account: None) -> Iterator[Operated]:
    with pipeline(tmp_path_factory.mktemp("operations"), parameters={"MaxPageContentBytes": "2048"}) as stack:
        # A consumer of the stack's events, subscribed with the README's pattern, before any job runs
        sqs, events = stack.account.client("sqs"), stack.account.client("events")
        url = sqs.create_queue(QueueName="failed-jobs-consumer")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        bus = stack.outputs["JobEventBusName"]
        events.put_rule(Name="failed-jobs", EventBusName=bus, EventPattern=json.dumps(failed_jobs_pattern()))
        events.put_targets(Rule="failed-jobs", EventBusName=bus, Targets=[{"Id": "consumer", "Arn": arn}])

        completed = stack.run(make_sample_pdf(2, words_per_page=10), "fine.pdf")
        failed_page = stack.run(
            _concatenate(make_sample_pdf(3, words_per_page=10), make_sample_pdf(1, text_heavy=True)),
            "bad-page.pdf",
        )
        stack.account.functions["PageWorker"].update_configuration(JOBS_TABLE="no-such-table")
        failed_queue = stack.run(make_sample_pdf(1, words_per_page=10), "lost-page.pdf")
        assert stack.account.wait_until_idle(timeout=120)
        assert [completed.status, failed_page.status, failed_queue.status] == [
            JobStatus.COMPLETED,
            JobStatus.FAILED,
            JobStatus.FAILED,
        ]
        yield Operated(stack, completed, failed_page, failed_queue, url)


# --- alarms ---------------------------------------------------------------------------------


def _alarms(operated: Operated) -> list[dict[str, Any]]:
    cloudwatch = operated.stack.account.client("cloudwatch")
    return [
        alarm
        for page in cloudwatch.get_paginator("describe_alarms").paginate()
        for alarm in page["MetricAlarms"]
    ]


def _watched(alarm: dict[str, Any]) -> list[Metric]:
    """The metrics an alarm reads: its one metric, or each metric of its metric math."""
    metrics = [query["MetricStat"]["Metric"] for query in alarm.get("Metrics") or [] if "MetricStat" in query]
    if alarm.get("MetricName"):
        metrics.append(alarm)
    return [
        (m["Namespace"], m["MetricName"], frozenset((d["Name"], d["Value"]) for d in m.get("Dimensions", [])))
        for m in metrics
    ]


def test_every_alarm_on_a_pagefan_metric_watches_one_the_handlers_emit(operated: Operated) -> None:
    emitted = operated.emitted()
    ours = [
        (alarm["AlarmName"], metric)
        for alarm in _alarms(operated)
        for metric in _watched(alarm)
        if metric[0] == NAMESPACE
    ]

    # jobs FAILED, the FailureRecorder's own, and the failed executions beyond failed jobs: each on
    # a metric some handler emitted with exactly that namespace, name and dimension set
    stack = operated.stack.account.stack_name
    assert sorted((name.removeprefix(stack), metric[1]) for name, metric in ours) == [
        ("-executions-failed", "JobsFailed"),
        ("-failures-not-recorded", "FailuresNotRecorded"),
        ("-jobs-failed", "JobsFailed"),
    ]
    for name, metric in ours:
        assert metric in emitted, f"{name} watches {metric}, which nothing emits"
    # and the check can fail: a dimension the handlers do not add is not among them
    assert (NAMESPACE, "JobsFailed", frozenset({("service", "pagefan"), ("stage", "pages")})) not in emitted


def test_every_function_queue_and_execution_outcome_has_its_alarm(operated: Operated) -> None:
    deployment = operated.stack.account.deployment
    watched = {metric for alarm in _alarms(operated) for metric in _watched(alarm)}
    for spec in deployment.functions.values():
        for name in ("Errors", "Throttles"):
            assert ("AWS/Lambda", name, frozenset({("FunctionName", spec.name)})) in watched, spec.logical_id
    queue = deployment.outputs["FailedInvocationsQueueUrl"].rsplit("/", 1)[1]
    for name in ("ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"):
        assert ("AWS/SQS", name, frozenset({("QueueName", queue)})) in watched
    machine = deployment.outputs["DocumentJobArn"]
    for name in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"):
        assert ("AWS/States", name, frozenset({("StateMachineArn", machine)})) in watched
    # Without AlarmTopicArn or AlarmEmail the alarms exist and notify nobody
    assert all(alarm["AlarmActions"] == alarm["OKActions"] == [] for alarm in _alarms(operated))
    assert all(alarm["TreatMissingData"] == "notBreaching" for alarm in _alarms(operated))


# --- dashboard ------------------------------------------------------------------------------


def _dashboard(operated: Operated) -> dict[str, Any]:
    name = operated.stack.outputs["DashboardName"]
    body = operated.stack.account.client("cloudwatch").get_dashboard(DashboardName=name)["DashboardBody"]
    dashboard: dict[str, Any] = json.loads(body)
    return dashboard


def _plotted(dashboard: dict[str, Any]) -> Iterator[list[Any]]:
    for widget in dashboard["widgets"]:
        yield from widget["properties"]["metrics"]


def test_the_dashboard_is_json_and_plots_only_pagefan_metrics_the_handlers_emit(operated: Operated) -> None:
    dashboard = _dashboard(operated)
    emitted = operated.emitted()
    emitted_dimension_names = {(ns, name, frozenset(d for d, _ in dims)) for ns, name, dims in emitted}

    plotted: set[Metric] = set()
    searched: set[tuple[str, str, frozenset[str]]] = set()
    for row in _plotted(dashboard):
        if isinstance(row[0], dict):  # an expression: SEARCH names a namespace, dimensions and a metric
            search = re.match(r"SEARCH\('\{([^}]*)\} MetricName=\"([^\"]+)\"'", row[0]["expression"])
            if search:
                namespace, *dimensions = search.group(1).split(",")
                searched.add((namespace, search.group(2), frozenset(dimensions)))
            continue
        names = [part for part in row if isinstance(part, str)]
        if names[0] == NAMESPACE:
            plotted.add((names[0], names[1], frozenset(zip(names[2::2], names[3::2], strict=True))))
    assert {name for _, name, _ in plotted} == {
        "PagesProcessed",
        "PagesFailed",
        "DocumentsSplit",
        "JobsCompleted",
        "JobsFailed",
        "PageDuration",
        "FailuresNotRecorded",
    }
    assert plotted <= emitted, plotted - emitted
    assert searched == {(NAMESPACE, "JobsFailedByStage", frozenset({"service", "stage"}))}
    assert searched <= emitted_dimension_names


def test_the_dashboard_prices_every_function_at_its_memory_size(operated: Operated) -> None:
    rows = list(_plotted(_dashboard(operated)))
    functions = operated.stack.account.deployment.functions.values()
    durations = {row[4]["id"]: row[3] for row in rows if row[:2] == ["AWS/Lambda", "Duration"]}
    memory = {spec.name: spec.memory_mb for spec in functions}
    expressions = [
        row[0]["expression"] for row in rows if isinstance(row[0], dict) and "/ 1024" in row[0]["expression"]
    ]
    priced = {}
    for expression in expressions:
        match = re.fullmatch(r"(\w+) / 1000 \* (\d+) / 1024", expression)
        assert match, expression
        priced[durations[match.group(1)]] = int(match.group(2))
    assert priced == memory
    for metric in ("Invocations", "Throttles"):
        assert {row[3] for row in rows if row[:2] == ["AWS/Lambda", metric]} == set(memory)


# --- job events -----------------------------------------------------------------------------


def test_the_published_job_events_match_their_schemas(operated: Operated) -> None:
    for record in (operated.completed, operated.failed_page, operated.failed_queue):
        [event] = operated.stack.job_events(record.job_id)
        assert validate_job_event(event) is True
        assert event["detail"]["status"] == record.status


def test_the_sample_rule_delivers_the_failed_jobs_of_the_stack_only(operated: Operated) -> None:
    sqs = operated.stack.account.client("sqs")
    received = []
    for _ in range(5):
        batch = sqs.receive_message(QueueUrl=operated.consumer_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        received += [json.loads(message["Body"]) for message in batch]
    assert sorted(event["detail"]["job_id"] for event in received) == sorted(
        [operated.failed_page.job_id, operated.failed_queue.job_id]
    )
    assert {event["detail-type"] for event in received} == {"JobFailed"}


# --- pagefan logs ---------------------------------------------------------------------------


def _pagefan(operated: Operated, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": operated.stack.account.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return subprocess.run(
        [PAGEFAN, *args, "--stack-name", operated.stack.account.stack_name],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_pagefan_logs_merges_a_failed_jobs_lines_from_every_function(operated: Operated) -> None:
    job_id = operated.failed_page.job_id
    # GIVEN a line as Step Functions logs an execution's failure, in the state machine's log group
    logs = operated.stack.account.client("logs")
    group = state_machine_log_group(
        operated.stack.account.client("stepfunctions"), operated.stack.outputs["DocumentJobArn"]
    )
    assert group is not None
    execution = (
        operated.stack.outputs["DocumentJobArn"].replace(":stateMachine:", ":execution:") + f":{job_id}"
    )
    logs.create_log_stream(logGroupName=group, logStreamName="states/document-job")
    first_ms = min(line.timestamp_ms for line in _reader_lines(operated, job_id))
    logs.put_log_events(
        logGroupName=group,
        logStreamName="states/document-job",
        logEvents=[
            {
                "timestamp": first_ms + 1,
                "message": json.dumps(
                    {"type": "TaskFailed", "execution_arn": execution, "details": {"error": "Lambda.Unknown"}}
                ),
            }
        ],
    )

    # WHEN a person asks for the job's logs, in text and as JSON
    text = _pagefan(operated, "logs", job_id)
    as_json = _pagefan(operated, "logs", job_id, "--json")

    # THEN every function that worked on the job is there, the failed page named on its lines
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    sources = {line.split()[1] for line in lines}
    assert sources == {"Splitter", "PageWorker", "JobMetrics", STATE_MACHINE}
    failures = [line for line in lines if "page failed" in line]
    assert len(failures) == 1, "\n".join(lines)
    [failure] = failures
    assert failure.split()[1:4] == ["PageWorker", "p4", "WARNING"] and "content_too_large" in failure
    assert {line.split()[2] for line in lines if line.split()[1] == "PageWorker"} == {"p1", "p2", "p3", "p4"}
    assert any("REPORT RequestId" in line and line.split()[2] == "p4" for line in lines)
    assert any(line.split()[1] == STATE_MACHINE and "TaskFailed" in line for line in lines)
    assert [line.split()[0] for line in lines] == sorted(line.split()[0] for line in lines)
    assert any("job failed" in line and "stage=pages" in line for line in lines)
    # and nothing of the other jobs; --json gives the JSON lines as logged
    assert operated.completed.job_id not in text.stdout and operated.failed_queue.job_id not in text.stdout
    records = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert records and all(job_id in json.dumps(record) for record in records)
    assert {record["page"] for record in records if "page" in record} == {1, 2, 3, 4}


def test_pagefan_logs_of_an_unknown_job_is_a_usage_error(operated: Operated) -> None:
    result = _pagefan(operated, "logs", "0" * 32)
    assert result.returncode == 2 and "no job" in result.stderr


def test_each_invocation_is_reported_once_in_its_log_group_even_after_its_environments_are_retired(
    operated: Operated,
) -> None:
    # GIVEN the PageWorker's environments retired by a configuration update between two documents
    logs = operated.stack.account.client("logs")
    group = log_group_of(operated.stack.account.functions["PageWorker"].spec)
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, filterPattern="REPORT")
    reports = [
        event["message"].split()[2]
        for page in pages
        for event in page["events"]
        if event["message"].startswith("REPORT RequestId:")
    ]
    # THEN the environments started after it wrote logs of their own: no invocation is reported twice
    assert len(reports) >= 7  # the first two documents' 6 pages and the third's attempts
    assert len(reports) == len(set(reports))


def _reader_lines(operated: Operated, job_id: str) -> list[JobLogLine]:
    from pagefan.local.client.jobs_client import JobsClient, StackOutputs

    account = operated.stack.account
    client = JobsClient(
        account.client("s3"),
        account.client("dynamodb"),
        StackOutputs.from_outputs(account.deployment.outputs),
        account.client("stepfunctions"),
        logs=account.client("logs"),
        lambda_=account.client("lambda"),
    )
    reader, start_ms = client.job_logs(job_id)
    return reader.lines(job_id, start_ms)


def test_following_a_job_yields_each_line_once_and_stops_when_it_has_ended(operated: Operated) -> None:
    job_id = operated.failed_queue.job_id
    lines = _reader_lines(operated, job_id)
    account = operated.stack.account
    groups = {
        spec.logical_id: spec.log_group or f"/aws/lambda/{spec.name}"
        for spec in account.deployment.functions.values()
    }
    reader = JobLogs(account.client("logs"), groups)
    polls: list[float] = []
    ended = iter([False, False, True])

    followed = list(reader.follow(job_id, 0, ended=lambda: next(ended), settle_s=0, sleep=polls.append))

    # Three polls of the same lines: each printed once, and the follow ends once the job has ended
    assert [line.message for line in followed] == [
        line.message for line in lines if line.source != STATE_MACHINE
    ]
    assert len(polls) == 2
    # The FailureRecorder recorded the lost page: its line is among the job's
    assert any(
        line.source == "FailureRecorder" and "failed invocation recorded" in line.message for line in lines
    )
