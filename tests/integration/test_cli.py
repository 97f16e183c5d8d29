"""The `pagefan` command as a person runs it: a separate process, its output and exit status."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pypdf
import pytest

from pagefan.local.emulator import interpreters
from pagefan.local.emulator.account import EmulatedAccount
from pagefan.local.emulator.contention import Pressure
from tests.documents import make_sample_pdf
from tests.integration.pipeline import Pipeline, pipeline

pytestmark = pytest.mark.slow

PAGEFAN = str(Path(sys.executable).parent / "pagefan")


def _ctrl_c_as_in_a_terminal() -> None:
    """In the child, before it runs: SIGINT at its default, as a terminal's Ctrl-C finds it.

    A shell without job control starts a background job with SIGINT ignored, and a process
    inherits that (Python then installs no handler for it): a test run started that way would
    otherwise send a Ctrl-C that nothing hears.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


ROOT = Path(__file__).resolve().parents[2]


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
    """`pagefan run --stack-name` of ``document`` from another process, outputs into ``out/`` beside it."""
    return _pagefan(
        "run",
        "--stack-name",
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
            "status",
            summary["job_id"],
            "--stack-name",
            stack.account.stack_name,
            "--json",
            cwd=tmp_path,
            env=env,
        )
        retry = _pagefan(
            "retry", summary["job_id"], "--stack-name", stack.account.stack_name, cwd=tmp_path, env=env
        )
        unknown = _pagefan(
            "status", "no-such-job", "--stack-name", stack.account.stack_name, cwd=tmp_path, env=env
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
            "cost", record.job_id, "--stack-name", stack.account.stack_name, "--json", cwd=tmp_path, env=env
        )
        text = _pagefan(
            "cost", record.job_id, "--stack-name", stack.account.stack_name, cwd=tmp_path, env=env
        )
        unknown = _pagefan("cost", "0" * 32, "--stack-name", stack.account.stack_name, cwd=tmp_path, env=env)
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
        result = _pagefan("run", "--stack-name", "no-such-stack", str(document), cwd=tmp_path, env=env)
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
    # every function on its Runtime's Python (python3.13) when this machine has one, as on Lambda
    runtime_python = interpreters.choose("python3.13", ROOT / "src", []).version
    assert {function["python"] for function in summary["functions"].values()} == {runtime_python}
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
        preexec_fn=_ctrl_c_as_in_a_terminal,
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_keeps_an_account_that_other_commands_reach(tmp_path: Path) -> None:
    # GIVEN an account served on a chosen port, its stack named by the project's samconfig.toml
    port = _free_port()
    server = subprocess.Popen(
        [PAGEFAN, "serve", "--workers", "1", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ctrl_c_as_in_a_terminal,
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
        assert exports["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{port}"
        stack = tomllib.loads((ROOT / "samconfig.toml").read_text())["default"]["global"]["parameters"][
            "stack_name"
        ]
        document = tmp_path / "served.pdf"
        document.write_bytes(make_sample_pdf(2))
        env = {**os.environ, **exports}
        # WHEN a document runs on it, and the stack commands name no stack: samconfig.toml does
        result = _pagefan(
            "run", "--stack-name", stack, str(document), "--json", "--out", "out", cwd=tmp_path, env=env
        )
        assert result.returncode == 0, result.stderr
        job_id = json.loads(result.stdout.splitlines()[-1])["job_id"]
        status = _pagefan("status", job_id, cwd=tmp_path, env=env)
        assert status.returncode == 0 and f"job {job_id}: COMPLETED" in status.stdout
        cost = _pagefan("cost", job_id, "--json", cwd=tmp_path, env=env)
        assert cost.returncode == 0, cost.stderr
        items = {item["what"]: item["quantity"] for item in json.loads(cost.stdout)["items"]}
        assert items["Lambda PageWorker requests"] == 2
        # THEN another config file names another stack, its environments theirs, and the command line wins
        config = tmp_path / "samconfig.toml"
        config.write_text(
            'version = 0.1\n[default.deploy.parameters]\nstack_name = "elsewhere"\n'
            f'[staging.global.parameters]\nstack_name = "{stack}"\n'
        )
        elsewhere = _pagefan("status", job_id, "--config-file", str(config), cwd=tmp_path, env=env)
        staging = _pagefan(
            "status", job_id, "--config-file", str(config), "--config-env", "staging", cwd=tmp_path, env=env
        )
        named = _pagefan(
            "status", job_id, "--config-file", str(config), "--stack-name", stack, cwd=tmp_path, env=env
        )
        # and --region reaches another region of the account, where the stack is not
        other_region = _pagefan("status", job_id, "--region", "eu-west-1", cwd=tmp_path, env=env)
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=300)  # a guard against a hang: the stop takes seconds
    assert server.returncode == 0
    assert elsewhere.returncode == 2 and "cannot read stack elsewhere" in elsewhere.stderr
    assert staging.returncode == 0 and named.returncode == 0
    assert other_region.returncode == 2 and f"cannot read stack {stack}" in other_region.stderr


def test_invoke_takes_the_event_on_stdin_env_vars_and_debug(tmp_path: Path) -> None:
    # GIVEN variables for every function and for JobMetrics alone (which wins), and one the template lacks
    env_vars = tmp_path / "env.json"
    env_vars.write_text(
        json.dumps(
            {
                "Parameters": {"POWERTOOLS_SERVICE_NAME": "every-function"},
                "JobMetrics": {"POWERTOOLS_SERVICE_NAME": "job-metrics-only", "NOT_IN_TEMPLATE": "x"},
            }
        )
    )
    # WHEN JobMetrics is invoked with its sample event on standard input, with the runtime's logs
    result = subprocess.run(
        [PAGEFAN, "invoke", "JobMetrics", "-e", "-", "--env-vars", str(env_vars), "--debug"],
        input=(ROOT / "events" / "job_metrics.json").read_text(),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )

    # THEN the function answers for the event it read, with the variable in its environment
    assert result.returncode == 0, result.stderr
    job_id = json.loads((ROOT / "events" / "combiner.json").read_text())["job_id"]
    assert json.loads(result.stdout) == {"job_id": job_id, "status": "FAILED"}
    [failed] = [json.loads(line) for line in result.stderr.splitlines() if '"job failed"' in line]
    assert failed["service"] == "job-metrics-only"
    assert "--env-vars: NOT_IN_TEMPLATE is not an environment variable of JobMetrics" in result.stderr
    # and --debug shows the runtime's own lines: the deployment and the invocation
    assert "pagefan.local.emulator.account: deploying stack pagefan" in result.stderr
    assert "pagefan.local.emulator.environments: JobMetrics: succeeded" in result.stderr
