"""DocumentJob's PDF branch alone, on moto's Step Functions engine: the plan, the Map, the merge.

The branch is taken from statemachine/document_job.asl.json (placeholders substituted as the
template does) and run as a state machine of its own, with the PdfExporter replaced by a recorder:
what each invocation receives is what the ranges and the merge are built from.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from pagefan import layout
from pagefan.formats.payloads import PdfExportInput, PdfExportMode, pdf_part_ranges

ROOT = Path(__file__).resolve().parents[3]
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:pdf-exporter"


def pdf_branch(pages_per_part: int) -> dict[str, Any]:
    """The Export state's PDF branch, with the template's substitutions made."""
    text = (ROOT / "statemachine" / "document_job.asl.json").read_text()
    text = text.replace("${PdfPagesPerPart}", str(pages_per_part))
    text = text.replace("${PdfExporterFunctionArn}", FUNCTION_ARN)
    definition = json.loads(text)
    [branch] = [b for b in definition["States"]["Export"]["Branches"] if "PlanPdfParts" in b["States"]]
    return dict(branch)


class Recorder:
    """Stands in for the PdfExporter: records each payload, answers as the handler would."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.parts = 0
        self.meeting: threading.Barrier | None = None
        """When set, the first parts wait for one another (as many as the barrier's parties)."""
        self.running = 0
        self.most_running = 0
        """The most part invocations that were running at one time."""

    def __call__(self, parameters: dict[str, Any], region: str, state_credentials: Any) -> dict[str, Any]:
        from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

        raw = parameters["Payload"]
        payload = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
        with self.lock:
            self.payloads.append(payload)
        task = PdfExportInput.from_dict(payload)  # the handler's own parsing: rejects a bad range
        if task.mode == PdfExportMode.PART:
            with self.lock:
                self.running += 1
                self.most_running = max(self.most_running, self.running)
                self.parts += 1
                meets = self.meeting is not None and self.parts <= self.meeting.parties
            if meets:
                assert self.meeting is not None
                self.meeting.wait(timeout=120)  # a guard against a hang; parts run one by one never meet
            with self.lock:
                self.running -= 1
            result = {"pdf_part": layout.pdf_part_key("j", *task.page_range)}
        else:
            result = {"document_pdf": "jobs/j/pdf/document.pdf"}
        body = io.BytesIO(json.dumps(result).encode())
        return {"StatusCode": 200, "Payload": lambda_eval_utils._from_payload(body)}


@pytest.fixture
def engine() -> Iterator[Recorder]:
    from pagefan.local.emulator import moto_fixes

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):  # type: ignore[arg-type]
        moto_fixes.apply()
        from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

        recorder = Recorder()
        original = lambda_eval_utils._invoke_lambda_function
        lambda_eval_utils._invoke_lambda_function = recorder
        try:
            yield recorder
        finally:
            lambda_eval_utils._invoke_lambda_function = original


def run(branch: dict[str, Any], pages_total: int) -> dict[str, Any]:
    import boto3

    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    arn = sfn.create_state_machine(
        name="pdf-branch", definition=json.dumps(branch), roleArn="arn:aws:iam::123456789012:role/r"
    )["stateMachineArn"]
    job = {
        "job_id": "j",
        "pages_total": pages_total,
        "deadline": "2099-01-01T00:00:00.000Z",
        "format_version": 1,
    }
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"job": job}))["executionArn"]
    deadline = time.monotonic() + 120  # a guard against a hang: the wait is for a state
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the branch did not finish"
        time.sleep(0.05)
    return dict(described)


@pytest.mark.parametrize(
    ("pages_total", "pages_per_part"),
    # The Map at its 1,000 parts: 1,000 iterations of moto's engine, several seconds of CPU.
    [(7, 3), (6, 3), (1, 50), pytest.param(1000, 1, marks=pytest.mark.slow)],
)
def test_one_part_invocation_per_range_then_one_merge(
    engine: Recorder, pages_total: int, pages_per_part: int
) -> None:
    execution = run(pdf_branch(pages_per_part), pages_total)

    assert execution["status"] == "SUCCEEDED", execution
    assert json.loads(execution["output"]) == {"document_pdf": "jobs/j/pdf/document.pdf"}
    parts = [PdfExportInput.from_dict(p) for p in engine.payloads[:-1]]
    assert sorted(part.page_range for part in parts) == pdf_part_ranges(pages_total, pages_per_part)
    merge = PdfExportInput.from_dict(engine.payloads[-1])
    assert (merge.mode, merge.pages_per_part, merge.job.pages_total) == ("merge", pages_per_part, pages_total)


def test_parts_run_concurrently(engine: Recorder) -> None:
    # 5 parts, the first two of which return only once both are running: a Map that ran its
    # iterations one at a time would never get past the first (its wait's guard would fail it).
    engine.meeting = threading.Barrier(2)
    execution = run(pdf_branch(2), 10)
    assert execution["status"] == "SUCCEEDED"
    assert engine.most_running >= 2


def test_more_pages_than_1000_parts_hold_fail_before_any_invocation(engine: Recorder) -> None:
    execution = run(pdf_branch(2), 2001)

    assert execution["status"] == "FAILED"
    assert execution["error"] == "TooManyPdfParts"
    assert "1,000 PDF parts of 2 pages" in execution["cause"]
    assert "raise the PdfPagesPerPart parameter" in execution["cause"]
    assert engine.payloads == []
