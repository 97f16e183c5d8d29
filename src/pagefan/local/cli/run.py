"""`pagefan run`: documents through the whole pipeline, on this machine or a deployed stack."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from pagefan.formats.jobs_table import JobStatus
from pagefan.local.cli.options import (
    CONFIG_ENV_OPTION,
    CONFIG_FILE_OPTION,
    DEBUG_OPTION,
    EXIT_FAILED_JOB,
    EXIT_OK,
    LAMBDA_TIME_SCALE_OPTION,
    LOCAL_STACK_NAME,
    PARAMETER_OVERRIDES_OPTION,
    PROFILE_OPTION,
    REGION_OPTION,
    TEMPLATE_OPTION,
    WORKERS_OPTION,
    OneLineUsageError,
    SamStyleCommand,
    checked_parameters,
    default_template,
    exit_interrupted,
    pdf_files,
    price_job,
    read_config,
    show_runtime_logs,
    stack_client,
)


@click.command(cls=SamStyleCommand)
@click.argument("files", nargs=-1, required=True, callback=pdf_files)
@WORKERS_OPTION
@LAMBDA_TIME_SCALE_OPTION
@click.option(
    "--out",
    "out_root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("pagefan-out"),
    show_default=True,
    help="Where each document's outputs go (<out>/<document>/).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object per document instead of a table."
)
@click.option(
    "--faults", default="", metavar="SPEC", help="Inject faults locally, e.g. duplicate=0.3,crash=0.1,seed=7."
)
@click.option(
    "--stack-name",
    default=None,
    metavar="NAME",
    help="Run on this deployed stack instead of locally (with AWS_ENDPOINT_URL: the account "
    "`pagefan serve` runs).",
)
@REGION_OPTION
@PROFILE_OPTION
@TEMPLATE_OPTION
@PARAMETER_OVERRIDES_OPTION
@CONFIG_FILE_OPTION
@CONFIG_ENV_OPTION
@click.option(
    "--timeout",
    type=click.FloatRange(1),
    default=None,
    help="Give up following jobs after this many seconds [default: the job deadline + 2 min].",
)
@click.option(
    "--enforce-iam/--no-enforce-iam",
    default=True,
    show_default=True,
    help="Run every handler as its own role with IAM enforced, so a permission missing from the template "
    "fails locally as on AWS.",
)
@DEBUG_OPTION
@click.pass_context
def run(
    ctx: click.Context,
    files: list[Path],
    workers: int | None,
    lambda_time_scale: float,
    out_root: Path,
    as_json: bool,
    faults: str,
    stack_name: str | None,
    region: str | None,
    profile: str | None,
    template: Path | None,
    parameter_overrides: tuple[str, ...],
    config_file: Path | None,
    config_env: str | None,
    timeout: float | None,
    enforce_iam: bool,
    debug: bool,
) -> None:
    """Run FILES through the whole pipeline and write the outputs under --out.

    Locally, the template is deployed with --parameter-overrides (else samconfig.toml's
    parameter_overrides) into a fresh emulated account; with --stack-name, FILES run on that
    deployed stack, reached with --region and --profile.

    Exit status: 0 when every job COMPLETED, 1 when any FAILED (or its outputs could not be
    downloaded), 2 for usage errors.
    """
    from pagefan.local.client.jobs_client import DownloadFailed
    from pagefan.local.client.runner import PlainProgress, Progress, RichProgress
    from pagefan.local.emulator.account import REGION
    from pagefan.local.emulator.faults import FaultPlan

    try:
        plan = FaultPlan.parse(faults)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--faults") from None
    if stack_name and plan.active:
        raise OneLineUsageError("--faults works only on local runs, not with --stack-name")
    if stack_name and parameter_overrides:
        raise OneLineUsageError(
            "--parameter-overrides works only on local runs: a deployed stack has the parameters it "
            "was deployed with"
        )
    if not stack_name and (region or profile):
        raise OneLineUsageError(
            "--region and --profile choose a deployed stack's account: give --stack-name too"
        )
    config = read_config(config_file, config_env, template)
    parameters: dict[str, str] = {}
    if not stack_name:
        template = template or default_template()
        parameters = checked_parameters(
            parameter_overrides, config, template, stack_name=LOCAL_STACK_NAME, region=REGION
        )
    if debug:
        show_runtime_logs(ctx)
    progress: Progress = RichProgress() if sys.stderr.isatty() and not as_json else PlainProgress()
    try:
        costs: dict[str, dict[str, Any]] = {}
        if stack_name:
            client, _ = stack_client(stack_name, region, profile, config)
            runs, stats = (
                _run_on_stack(client, files, out_root, progress, timeout or 3600 + 120),
                dict[str, Any](),
            )
        else:
            assert template is not None  # resolved above for a local run
            runs, stats, costs = _run_locally(
                files,
                workers,
                out_root,
                plan,
                template,
                progress,
                timeout,
                enforce_iam,
                lambda_time_scale,
                parameters,
            )
    except KeyboardInterrupt:
        exit_interrupted()
    except DownloadFailed as failure:
        # The job itself may have completed: say which output could not be fetched, and why.
        click.echo(f"Error: {failure}", err=True)
        sys.exit(EXIT_FAILED_JOB)
    summaries = [r.summary() for r in runs]
    for job_run, summary in zip(runs, summaries, strict=True):
        summary["cost"] = costs.get(job_run.upload.job_id) or {
            # On AWS, Lambda's REPORT lines reach CloudWatch Logs some seconds after the job ends.
            "error": f"not priced on a stack: run `pagefan cost {job_run.upload.job_id} --stack-name "
            f"{stack_name}` once its logs have arrived"
        }
    if as_json:
        for summary in summaries:
            summary["functions"] = stats
            click.echo(json.dumps(summary))
    else:
        _print_table(summaries, stats)
    sys.exit(EXIT_OK if all(s["status"] == JobStatus.COMPLETED for s in summaries) else EXIT_FAILED_JOB)


def _run_locally(
    files: list[Path],
    workers: int | None,
    out_root: Path,
    plan: Any,
    template: Path,
    progress: Any,
    timeout: float | None,
    enforce_iam: bool = True,
    lambda_time_scale: float = 1.0,
    parameters: dict[str, str] | None = None,
) -> tuple[list[Any], dict[str, Any], dict[str, dict[str, Any]]]:
    """Run the files in a fresh emulated account: the runs, each function's stats, each job's cost."""
    from pagefan.local.client.jobs_client import JobsClient, StackOutputs
    from pagefan.local.client.runner import follow
    from pagefan.local.emulator.account import EmulatedAccount
    from pagefan.local.emulator.environments import log_group_of

    out_root.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="pagefan-") as scratch,
        EmulatedAccount(
            template,
            workers=workers,
            work_dir=Path(scratch),
            faults=plan,
            enforce_iam=enforce_iam,
            lambda_time_scale=lambda_time_scale,
            parameters=parameters,
            stack_name=LOCAL_STACK_NAME,
        ) as account,
    ):
        outputs = StackOutputs.from_outputs(account.deployment.outputs)
        client = JobsClient(
            account.client("s3"),
            account.client("dynamodb"),
            outputs,
            account.client("stepfunctions"),
            logs=account.client("logs"),
            # moto refuses Lambda API calls signed by the runtime's user under IAM enforcement
            # (SignatureDoesNotMatch); the deployment knows each function's log group anyway.
            log_groups={spec.name: log_group_of(spec) for spec in account.deployment.functions.values()},
        )
        if timeout is None:
            timeout = float(account.parameters.get("JobDeadlineSeconds", 3600)) + 120
        account.timeline.started = time.monotonic()
        uploads = [client.upload(path) for path in files]
        runs = follow(
            client,
            uploads,
            out_root=out_root,
            progress=progress,
            timeout=timeout,
            timeline=account.timeline.events,
            contention=account.contention.of,
        )
        account.wait_until_idle(timeout=30)
        stats = {
            logical_id: {
                "invocations": env.stats.invocations,
                "errors": env.stats.errors,
                "cold_starts": env.stats.cold_starts,
                "total_ms": round(env.stats.total_ms, 1),
                "max_ms": round(max(env.stats.durations_ms, default=0.0), 1),
                "init_ms": round(env.stats.init_ms, 1),
                "max_rss_mb": round(env.stats.max_rss_mb, 1),
                "memory_size_mb": env.spec.memory_mb,
                "peak_concurrency": env.stats.peak_concurrency,
                "python": env.python,
            }
            for logical_id, env in account.functions.items()
        }
        # Each job priced from what the runtime wrote to CloudWatch Logs and Step Functions, as
        # `pagefan cost JOB_ID` prices it on AWS: per document, however many ran together.
        costs = {run.upload.job_id: _job_bill(client, run.upload.job_id) for run in runs}
        logs = out_root / "logs"
        logs.mkdir(exist_ok=True)
        for log in (Path(scratch) / "logs").glob("*.log"):
            (logs / log.name).write_bytes(log.read_bytes())
    return runs, stats, costs


def _run_on_stack(client: Any, files: list[Path], out_root: Path, progress: Any, timeout: float) -> list[Any]:
    from pagefan.local.client.runner import follow

    uploads = [client.upload(path) for path in files]
    return follow(client, uploads, out_root=out_root, progress=progress, timeout=timeout)


def _job_bill(client: Any, job_id: str) -> dict[str, Any]:
    """One job's itemised cost as `pagefan run --json` gives it, or why it cannot be given."""
    try:
        bill: dict[str, Any] = price_job(client, job_id).to_dict()
    except (ValueError, KeyError, OSError, LookupError) as problem:
        return {"error": f"cannot price job {job_id}: {problem}"}
    return bill


def _print_table(summaries: list[dict[str, Any]], stats: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="pagefan run")
    # What the emulated account refused or delayed, shown when any run met some.
    pressured = any(any((s.get("contention") or {}).values()) for s in summaries)
    columns = ("document", "status", "pages", "outputs / reason") + (("contention",) if pressured else ())
    for column in columns:
        table.add_column(column)
    for s in summaries:
        detail = s["error"] or str(Path(s["outputs"].get("gallery", "")))
        pages = f"{s['pages_done']}/{s['pages_total']}" + (
            f" ({s['pages_failed']} failed)" if s["pages_failed"] else ""
        )
        style = "green" if s["status"] == JobStatus.COMPLETED else "red"
        row = [s["document"], f"[{style}]{s['status']}[/{style}]", pages, detail]
        if pressured:
            counts = (s.get("contention") or {}).items()
            row.append(", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts if n) or "none")
        table.add_row(*row)
    console.print(table)
    if stats:
        usage = Table(title="functions")
        for column in ("function", "invocations", "errors", "cold starts", "max memory / MemorySize"):
            usage.add_column(column)
        for name, f in stats.items():
            usage.add_row(
                name,
                str(f["invocations"]),
                str(f["errors"]),
                str(f["cold_starts"]),
                f"{f['max_rss_mb']:.0f} / {f['memory_size_mb']} MB",
            )
        console.print(usage)
