"""The `pagefan` command as a person runs it: a separate process, its output and exit status."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest

from pagefan.local.emulator.account import EmulatedAccount
from pagefan.local.emulator.contention import Pressure
from tests.documents import make_sample_pdf
from tests.integration.pipeline import Pipeline, pipeline

pytestmark = pytest.mark.slow

PAGEFAN = str(Path(sys.executable).parent / "pagefan")


def _pagefan(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PAGEFAN, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600, check=False
    )


def _reaching(account: EmulatedAccount) -> dict[str, str]:
    """The environment of a process that talks to ``account`` as to a deployed stack's account."""
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": account.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def run_on_stack(stack: Pipeline, document: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """`pagefan run --stack` of ``document`` from another process, its outputs into ``out/`` beside it."""
    return _pagefan(
        "run",
        "--stack",
        stack.account.stack_name,
        str(document),
        "--out",
        "out",
        *options,
        cwd=document.parent,
        env=_reaching(stack.account),
    )


def test_run_on_a_deployed_stack_uploads_follows_and_downloads(tmp_path: Path) -> None:
    # GIVEN a stack deployed into an account that another process can reach (moto's server)
    document = tmp_path / "memo.pdf"
    document.write_bytes(make_sample_pdf(3))
    with pipeline(tmp_path / "account") as stack:
        env = _reaching(stack.account)
        # WHEN pagefan runs the document on it by stack name
        result = run_on_stack(stack, document, "--json")
        summary = json.loads(result.stdout.splitlines()[-1])
        # and its status and a (pointless) retry are one command away
        status = _pagefan(
            "status", summary["job_id"], "--stack", stack.account.stack_name, "--json", cwd=tmp_path, env=env
        )
        retry = _pagefan(
            "retry", summary["job_id"], "--stack", stack.account.stack_name, cwd=tmp_path, env=env
        )
        unknown = _pagefan(
            "status", "no-such-job", "--stack", stack.account.stack_name, cwd=tmp_path, env=env
        )
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["status"] == "COMPLETED"
    assert retry.returncode == 0 and "COMPLETED: nothing to retry" in retry.stdout
    assert unknown.returncode == 2 and "no job no-such-job" in unknown.stderr
    # THEN the job completes and its outputs are downloaded in the same layout as a local run
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    assert (summary["status"], summary["pages_done"]) == ("COMPLETED", 3)
    out = tmp_path / "out" / "memo"
    assert len(pypdf.PdfReader(out / "document.pdf").pages) == 3
    assert len(list((out / "svg").glob("*.svg"))) == 3
    assert (out / "index.html").exists()


def test_cost_of_one_job_is_lambdas_billed_durations_as_the_runtime_measured_them(tmp_path: Path) -> None:
    # GIVEN a job that ran on a stack: the runtime wrote each invocation's log lines and Lambda's
    # REPORT line (billed duration, memory size) to the function's log group, as Lambda does
    with pipeline(tmp_path / "account") as stack:
        record = stack.run(make_sample_pdf(3))
        # every invocation has returned and logged its REPORT line before the bill is read
        assert stack.account.wait_until_idle(timeout=120)
        env = _reaching(stack.account)
        # WHEN pagefan prices the job by its id
        result = _pagefan(
            "cost", record.job_id, "--stack", stack.account.stack_name, "--json", cwd=tmp_path, env=env
        )
        text = _pagefan("cost", record.job_id, "--stack", stack.account.stack_name, cwd=tmp_path, env=env)
        unknown = _pagefan("cost", "0" * 32, "--stack", stack.account.stack_name, cwd=tmp_path, env=env)
        functions = {name: (f.stats, f.spec.memory_mb) for name, f in stack.account.functions.items()}
    assert result.returncode == 0, result.stderr
    bill = json.loads(result.stdout)
    items = {item["what"]: item["quantity"] for item in bill["items"]}
    # THEN each function is billed what the runtime measured of its invocations (run and cold
    # start), within Lambda's rounding up to the millisecond
    for name, (stats, memory_mb) in functions.items():
        compute = f"Lambda {name} compute ({memory_mb} MB)"
        if not stats.invocations:
            assert compute not in items
            continue
        assert items[f"Lambda {name} requests"] == stats.invocations
        measured_ms = stats.total_ms + stats.init_ms
        to_gb_s = memory_mb / 1024 / 1000
        assert (
            measured_ms * to_gb_s - 0.001
            <= items[compute]
            <= (measured_ms + stats.invocations) * to_gb_s + 0.001
        )
    # and the job's pages, requests and transitions come from its record and its execution
    assert bill["pages"] == 3 and items["S3 PUT requests"] > 3 and items["Step Functions transitions"] > 10
    assert text.returncode == 0 and "per 1,000 pages" in text.stdout
    assert unknown.returncode == 2 and "no job" in unknown.stderr


def test_run_of_an_unknown_stack_is_a_usage_error(tmp_path: Path) -> None:
    document = tmp_path / "memo.pdf"
    document.write_bytes(make_sample_pdf(1))
    with pipeline(tmp_path / "account") as stack:
        env = _reaching(stack.account)
        result = _pagefan("run", "--stack", "no-such-stack", str(document), cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "cannot read stack no-such-stack" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_local_run_writes_outputs_a_gallery_and_a_json_summary(tmp_path: Path) -> None:
    document = tmp_path / "report.pdf"
    document.write_bytes(make_sample_pdf(4))
    result = _pagefan("run", str(document), "--out", "out", "--json", "--workers", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    assert set(summary) >= {
        "job_id",
        "status",
        "pages_total",
        "pages_done",
        "pages_failed",
        "error",
        "outputs",
        "timings",
        "contention",
    }
    assert (summary["status"], summary["pages_total"], summary["pages_failed"]) == ("COMPLETED", 4, 0)
    assert summary["functions"]["PageWorker"]["invocations"] == 4
    # what the emulated account refused or delayed: 4 pages fit in PageConcurrency (50), so nothing
    assert set(summary["contention"]) == {kind.value for kind in Pressure}
    assert summary["contention"][Pressure.LAMBDA_THROTTLES] == 0
    # and the job's cost, from what the runtime wrote to CloudWatch Logs as Lambda would
    cost = {item["what"]: item["quantity"] for item in summary["cost"]["items"]}
    assert summary["cost"]["pages"] == 4 and cost["Lambda PageWorker requests"] == 4
    gallery = (tmp_path / "out" / "report" / "index.html").read_text()
    assert gallery.count("<img src='svg/page-") == 4


def test_a_document_that_is_not_a_pdf_fails_its_job_without_a_traceback(tmp_path: Path) -> None:
    fake = tmp_path / "photo.pdf"
    fake.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    result = _pagefan("run", str(fake), "--out", "out", cwd=tmp_path)
    assert result.returncode == 1
    assert "FAILED" in result.stdout and "JPEG" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_usage_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    missing = _pagefan("run", "nowhere.pdf", cwd=tmp_path)
    assert missing.returncode == 2 and "nowhere.pdf: no such file" in missing.stderr
    directory = _pagefan("run", str(tmp_path), cwd=tmp_path)
    assert directory.returncode == 2 and "is a directory" in directory.stderr
    flag = _pagefan("run", "--faults", "explode=1", str(tmp_path), cwd=tmp_path)
    assert flag.returncode == 2
    for result in (missing, directory, flag):
        assert "Traceback" not in result.stderr


def test_every_subcommand_has_help(tmp_path: Path) -> None:
    for command in ([], ["run"]):
        result = _pagefan(*command, "--help", cwd=tmp_path)
        assert result.returncode == 0 and "Usage:" in result.stdout


def test_ctrl_c_stops_the_run_cleanly(tmp_path: Path) -> None:
    document = tmp_path / "long.pdf"
    document.write_bytes(make_sample_pdf(80, text_heavy=True))
    process = subprocess.Popen(
        [PAGEFAN, "run", str(document), "--out", "out"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Interrupt once pages are under way (the first progress line after the split).
    assert process.stderr is not None
    for line in process.stderr:
        if "pages" in line:
            break
    process.send_signal(signal.SIGINT)
    # A guard against a hang, not a measurement: the stop takes about 4 s here, loaded or not.
    out, err = process.communicate(timeout=300)
    assert process.returncode == 130
    assert err.strip().splitlines()[-1] == "Interrupted: emulated services stopped."
    assert "Traceback" not in out + err


def test_serve_keeps_an_account_that_other_commands_reach(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [PAGEFAN, "serve", "--workers", "1"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        exports = {}
        for line in server.stdout:
            for assignment in line.split()[1:] if line.strip().startswith("export") else []:
                name, _, value = assignment.partition("=")
                exports[name] = value
            if line.strip().startswith("pagefan run"):
                break
        document = tmp_path / "served.pdf"
        document.write_bytes(make_sample_pdf(2))
        env = {**os.environ, **exports}
        result = _pagefan(
            "run", "--stack", "pagefan-local", str(document), "--json", "--out", "out", cwd=tmp_path, env=env
        )
        assert result.returncode == 0, result.stderr
        job_id = json.loads(result.stdout.splitlines()[-1])["job_id"]
        status = _pagefan("status", job_id, "--stack", "pagefan-local", cwd=tmp_path, env=env)
        assert status.returncode == 0 and f"job {job_id}: COMPLETED" in status.stdout
        cost = _pagefan("cost", job_id, "--stack", "pagefan-local", "--json", cwd=tmp_path, env=env)
        assert cost.returncode == 0, cost.stderr
        items = {item["what"]: item["quantity"] for item in json.loads(cost.stdout)["items"]}
        assert items["Lambda PageWorker requests"] == 2
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=300)  # a guard against a hang: the stop takes seconds
    assert server.returncode == 0
