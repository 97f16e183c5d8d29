"""Whole documents through the local runtime with IAM enforced: each handler as its own role.

A complete run proves the template grants everything the code and the state machine do; a run on a
template missing one statement proves a missing permission fails locally the way it fails on AWS.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pypdf
import pytest
import yaml

from pagefan.formats.jobs_table import JobStatus, PageStatus
from pagefan.local.emulator.invocation import run_invoke
from pagefan.local.emulator.sample_events import event_file_name
from pagefan.local.emulator.template import load_template
from tests.documents import make_sample_pdf
from tests.integration.pipeline import TEMPLATE, pipeline

pytestmark = pytest.mark.slow


def test_a_document_completes_with_every_function_acting_as_its_own_role(tmp_path: Path) -> None:
    # GIVEN the template deployed with IAM enforced and a 6-page document
    with pipeline(tmp_path, enforce_iam=True) as stack:
        # WHEN it is uploaded
        record = stack.run(make_sample_pdf(6), "report.pdf")

        # THEN the job completes: every call of every handler and of the state machine was allowed
        assert record.status == JobStatus.COMPLETED, record.error
        assert [page.status for page in stack.pages(record.job_id)] == [PageStatus.DONE] * 6
        assert len(stack.keys("ResultsBucketName", record.outputs["svg_prefix"])) == 6
        rebuilt = stack.read("ResultsBucketName", record.outputs["document_pdf"])
        assert len(pypdf.PdfReader(io.BytesIO(rebuilt)).pages) == 6
        assert [e["detail-type"] for e in stack.job_events(record.job_id)] == ["JobCompleted"]
        # and each function ran with its role's credentials, not the runtime's
        assert stack.account.iam is not None
        for environments in stack.account.functions.values():
            key = environments._env["AWS_ACCESS_KEY_ID"]
            assert key != "testing" and not key.startswith("AKIA")


def _template_without(tmp_path: Path, role: str, sid: str) -> Path:
    """template.yaml with one statement of one role removed, beside links to the code it deploys."""
    template = load_template(TEMPLATE)
    statements = template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    kept = [statement for statement in statements if statement.get("Sid") != sid]
    assert len(kept) == len(statements) - 1, f"{role} has no statement {sid}"
    statements[:] = kept
    folder = tmp_path / "stack"
    folder.mkdir()
    for linked in ("src", "statemachine", "events", "samples"):
        (folder / linked).symlink_to(TEMPLATE.parent / linked)
    path = folder / "template.yaml"
    path.write_text(yaml.safe_dump(template, sort_keys=False), encoding="utf-8")
    return path


def test_a_write_the_template_does_not_grant_fails_the_job_as_on_aws(tmp_path: Path) -> None:
    # GIVEN the template without the SVG exporter's write grant, deployed with IAM enforced
    template = _template_without(tmp_path, "SvgExporterRole", "WriteSvgPagesOnly")
    with pipeline(tmp_path, template=template, enforce_iam=True) as stack:
        # WHEN a document is uploaded
        record = stack.run(make_sample_pdf(2), "report.pdf")

        # THEN its job fails at the export, with S3's denial as the reason
        assert record.status == JobStatus.FAILED
        assert record.error is not None and record.error.stage == "export"
        assert "AccessDenied" in record.error.reason


def test_a_table_write_the_template_does_not_grant_fails_the_worker_as_on_aws(tmp_path: Path) -> None:
    # GIVEN the template without the PageWorker's grant on the jobs table, deployed with IAM enforced
    template = _template_without(tmp_path, "PageWorkerRole", "RecordPages")
    with pipeline(tmp_path, template=template, enforce_iam=True) as stack:
        # WHEN a one-page document is uploaded
        stack.client.upload(_write(tmp_path / "report.pdf", make_sample_pdf(1)), key="report.pdf")

        # THEN every attempt of the worker is denied its transaction (authorised per item, on the
        # table's ARN), and Lambda hands the event to the on-failure destination
        deadline = time.monotonic() + 120  # a guard against a hang: the wait is for a state
        while time.monotonic() < deadline and not stack.account.failed_deliveries:
            time.sleep(0.2)
        (delivery,) = stack.account.failed_deliveries
        assert delivery["requestContext"]["functionArn"].startswith(
            stack.account.functions["PageWorker"].spec.arn
        )
        assert delivery["requestContext"]["approximateInvokeCount"] == 3
        message = delivery["responsePayload"]["errorMessage"]
        table_arn = stack.account.resolver.attributes["JobsTable"]["Arn"]
        assert "AccessDeniedException" in message
        assert f"dynamodb:PutItem on resource: {table_arn}" in message


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_pagefan_invoke_runs_the_function_as_its_role_and_is_denied_what_it_lacks(tmp_path: Path) -> None:
    # GIVEN the template without the SVG exporter's write grant
    template = _template_without(tmp_path, "SvgExporterRole", "WriteSvgPagesOnly")
    event = TEMPLATE.parent / "events" / event_file_name("SvgExporter")

    # WHEN the SvgExporter is invoked with its sample event, as `pagefan invoke` does
    invocation = run_invoke("SvgExporter", event, template_path=template)

    # THEN the upstream functions made what the event points at, and the exporter is denied its write
    assert not invocation.result.ok
    assert "AccessDenied" in (invocation.result.error_message or "")
