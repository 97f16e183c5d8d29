"""The `pagefan` command: the whole pipeline on this machine, or on a deployed stack."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from pagefan.formats.jobs_table import JobStatus

EXIT_OK, EXIT_FAILED_JOB, EXIT_USAGE = 0, 1, 2


def _default_template() -> Path:
    """template.yaml of the project (the working directory's, else the one beside the package)."""
    here = Path.cwd() / "template.yaml"
    if here.exists():
        return here
    return Path(__file__).resolve().parents[3] / "template.yaml"


def _pdf_files(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list[Path]:
    paths = []
    for value in values:
        path = Path(value)
        if not path.exists():
            raise click.BadParameter(f"{value}: no such file")
        if path.is_dir():
            raise click.BadParameter(f"{value} is a directory; give PDF files")
        if not os.access(path, os.R_OK):
            raise click.BadParameter(f"{value} cannot be read")
        paths.append(path)
    return paths


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """pagefan: split PDFs into pages, analyse them in parallel, combine and export.

    Runs the real template.yaml, state machine and handlers on this machine (no Docker, no AWS
    account), or drives a deployed stack with --stack.
    """


@main.command()
@click.argument("files", nargs=-1, required=True, callback=_pdf_files)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Environments at once of each function without reserved concurrency [default: what memory "
    "allows]. A reserved function (the PageWorker) always runs its reservation, as on AWS.",
)
@click.option(
    "--lambda-time-scale",
    type=click.FloatRange(min=0, min_open=True, max=1),
    default=1.0,
    show_default=True,
    help="Run Lambda's asynchronous clock (retry delays, throttle backoff, event age) this many times "
    "AWS's: 0.01 retries a failed page after 0.6 s instead of a minute. Below 1, a retry can no longer "
    "arrive after its job's deadline as it can on AWS.",
)
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
@click.option("--stack", default=None, metavar="NAME", help="Run on this deployed stack instead of locally.")
@click.option(
    "--template",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The SAM template to run [default: ./template.yaml].",
)
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
def run(
    files: list[Path],
    workers: int | None,
    lambda_time_scale: float,
    out_root: Path,
    as_json: bool,
    faults: str,
    stack: str | None,
    template: Path | None,
    timeout: float | None,
    enforce_iam: bool,
) -> None:
    """Run FILES through the whole pipeline and write the outputs under --out.

    Exit status: 0 when every job COMPLETED, 1 when any FAILED (or its outputs could not be
    downloaded), 2 for usage errors.
    """
    from pagefan.local.client.jobs_client import DownloadFailed
    from pagefan.local.client.runner import PlainProgress, Progress, RichProgress
    from pagefan.local.emulator.faults import FaultPlan

    try:
        plan = FaultPlan.parse(faults)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--faults") from None
    if stack and plan.active:
        raise click.UsageError("--faults works only on local runs, not with --stack")
    progress: Progress = RichProgress() if sys.stderr.isatty() and not as_json else PlainProgress()
    try:
        costs: dict[str, dict[str, Any]] = {}
        if stack:
            runs, stats = (
                _run_on_stack(stack, files, out_root, progress, timeout or 3600 + 120),
                dict[str, Any](),
            )
        else:
            runs, stats, costs = _run_locally(
                files, workers, out_root, plan, template, progress, timeout, enforce_iam, lambda_time_scale
            )
    except KeyboardInterrupt:
        click.echo("Interrupted: emulated services stopped.", err=True)
        sys.exit(130)
    except DownloadFailed as failure:
        # The job itself may have completed: say which output could not be fetched, and why.
        click.echo(f"Error: {failure}", err=True)
        sys.exit(EXIT_FAILED_JOB)
    summaries = [r.summary() for r in runs]
    for run, summary in zip(runs, summaries, strict=True):
        summary["cost"] = costs.get(run.upload.job_id) or {
            # On AWS, Lambda's REPORT lines reach CloudWatch Logs some seconds after the job ends.
            "error": f"not priced on a stack: run `pagefan cost {run.upload.job_id} --stack {stack}` "
            "once its logs have arrived"
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
    template: Path | None,
    progress: Any,
    timeout: float | None,
    enforce_iam: bool = True,
    lambda_time_scale: float = 1.0,
) -> tuple[list[Any], dict[str, Any], dict[str, dict[str, Any]]]:
    """Run the files in a fresh emulated account: the runs, each function's stats, each job's cost."""
    from pagefan.local.client.jobs_client import JobsClient, StackOutputs
    from pagefan.local.client.runner import follow
    from pagefan.local.emulator.account import EmulatedAccount
    from pagefan.local.emulator.environments import log_group_of

    template = template or _default_template()
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
                "init_ms": round(env.stats.init_ms, 1),
                "max_rss_mb": round(env.stats.max_rss_mb, 1),
                "memory_size_mb": env.spec.memory_mb,
                "peak_concurrency": env.stats.peak_concurrency,
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


def _stack_client(stack: str) -> Any:
    """A JobsClient for a deployed stack, found by name with the ambient AWS credentials.

    AWS_ENDPOINT_URL points it at another endpoint, such as the account `pagefan serve` runs.
    """
    import boto3

    from pagefan.local.client.jobs_client import JobsClient, StackOutputs

    session = boto3.Session()
    try:
        description = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}
        names = StackOutputs.from_outputs(outputs)
    except Exception as error:
        raise click.UsageError(f"cannot read stack {stack}: {error}") from None
    return JobsClient(
        session.client("s3"),
        session.client("dynamodb"),
        names,
        session.client("stepfunctions"),
        logs=session.client("logs"),
        lambda_=session.client("lambda"),
    )


def _price_job(client: Any, job_id: str, prices_path: Path | None = None) -> Any:
    """One job's JobCost, from what the stack recorded of it (LookupError: no such job)."""
    from pagefan.local.client.cost import Prices, default_prices_path, job_cost

    usage = client.usage(job_id)
    return job_cost(usage, Prices.load(prices_path or default_prices_path()))


def _job_bill(client: Any, job_id: str) -> dict[str, Any]:
    """One job's itemised cost as `pagefan run --json` gives it, or why it cannot be given."""
    try:
        bill: dict[str, Any] = _price_job(client, job_id).to_dict()
    except (ValueError, KeyError, OSError, LookupError) as problem:
        return {"error": f"cannot price job {job_id}: {problem}"}
    return bill


def _run_on_stack(stack: str, files: list[Path], out_root: Path, progress: Any, timeout: float) -> list[Any]:
    from pagefan.local.client.runner import follow

    client = _stack_client(stack)
    uploads = [client.upload(path) for path in files]
    return follow(client, uploads, out_root=out_root, progress=progress, timeout=timeout)


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


@main.command()
@click.argument("function")
@click.option(
    "-e",
    "--event",
    "event_path",
    required=True,
    type=click.Path(path_type=Path),
    help="The event to invoke FUNCTION with (a JSON file, as `sam local invoke -e` takes).",
)
@click.option(
    "--file",
    "source_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Upload this file when the event names an upload that does not exist "
    "[default: samples/<the key's file name>].",
)
@click.option(
    "--template",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The SAM template [default: ./template.yaml].",
)
@click.option(
    "--traceback", "show_traceback", is_flag=True, help="Show the function's traceback in its logs."
)
@click.option(
    "--enforce-iam/--no-enforce-iam",
    default=True,
    show_default=True,
    help="Run the function (and what prepares its event) as its own role with IAM enforced.",
)
def invoke(
    function: str,
    event_path: Path,
    source_file: Path | None,
    template: Path | None,
    show_traceback: bool,
    enforce_iam: bool,
) -> None:
    """Invoke FUNCTION (a logical id of the template) once with EVENT, like `sam local invoke`, no Docker.

    The template runs in a fresh emulated account: what the event points at (the upload, the
    pages, the page results) is first made by the real upstream functions from samples/. Prints
    the response to stdout and the function's logs to stderr. Exit status: 0 when the function
    succeeded, 1 on a function error, 2 for usage errors.
    """
    from pagefan.local.emulator import invocation as local_invoke

    def say(line: str) -> None:
        click.echo(line, err=True)

    try:
        invocation = local_invoke.run_invoke(
            function,
            event_path,
            template_path=template or _default_template(),
            source_file=source_file,
            enforce_iam=enforce_iam,
            say=say,
        )
    except local_invoke.UsageProblem as problem:
        click.echo(f"Error: {problem}", err=True)
        sys.exit(EXIT_USAGE)
    except local_invoke.PreparationFailed as failure:
        click.echo(f"Error: {failure}", err=True)
        sys.exit(EXIT_FAILED_JOB)
    except KeyboardInterrupt:
        click.echo("Interrupted: emulated services stopped.", err=True)
        sys.exit(130)
    lines = invocation.log_lines if show_traceback else local_invoke.without_tracebacks(invocation.log_lines)
    for line in [*lines, *invocation.aftermath]:
        click.echo(line, err=True)
    click.echo(json.dumps(invocation.response))
    result = invocation.result
    if not result.ok:
        click.echo(f"{result.error_type}: {result.error_message}", err=True)
        sys.exit(EXIT_FAILED_JOB)


STACK_OPTION = click.option(
    "--stack",
    default="pagefan",
    show_default=True,
    metavar="NAME",
    help="The stack the job ran on (with AWS_ENDPOINT_URL: the account `pagefan serve` runs).",
)


@main.command()
@click.argument("job_id")
@STACK_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
def status(job_id: str, stack: str, as_json: bool) -> None:
    """Show a job's state, page counts, failed pages with their reasons, and timings."""
    try:
        report = _stack_client(stack).status(job_id)
    except LookupError as missing:
        raise click.UsageError(str(missing)) from None
    if as_json:
        click.echo(json.dumps(report))
        return
    click.echo(f"job {report['job_id']}: {report['status']} ({report['source']})")
    click.echo(
        f"pages: {report['pages_done']} done, {report['pages_failed']} failed, {report['pages_total']} in all"
    )
    if report["error"]:
        click.echo(f"error ({report['error']['stage']}): {report['error']['reason']}")
    for page in report["failed_pages"]:
        click.echo(f"  page {page['page']}: {page['reason']}")
    for name, key in sorted(report["outputs"].items()):
        click.echo(f"output {name}: {key}")
    timings = report["timings"]
    click.echo(
        f"created {timings['created_at']}, updated {timings['updated_at']}, deadline {timings['deadline']}"
    )


@main.command()
@click.argument("job_id")
@STACK_OPTION
def retry(job_id: str, stack: str) -> None:
    """Process a FAILED job's failed pages again and resume the job to its end.

    Safe to run twice: a job that is no longer FAILED is left alone.
    """
    try:
        outcome = _stack_client(stack).retry(job_id)
    except LookupError as missing:
        raise click.UsageError(str(missing)) from None
    click.echo(f"job {job_id}: {outcome.message}")


@main.command()
@click.argument("job_id")
@STACK_OPTION
@click.option("--follow", is_flag=True, help="Keep printing new lines until the job ended and went quiet.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON lines as logged, one per line.")
def logs(job_id: str, stack: str, follow: bool, as_json: bool) -> None:
    """Show one job's log lines from every function and the state machine, merged by time.

    Each line shows its time, the function (or DocumentJob), the page it is about and its level.
    --json prints the handlers' and the state machine's JSON lines as logged (they carry
    function_name and page themselves); Lambda's START/END/REPORT lines are text and appear
    only without --json. Needs logs:FilterLogEvents, lambda:GetFunctionConfiguration,
    states:DescribeStateMachine and dynamodb:GetItem.
    """
    client = _stack_client(stack)
    try:
        reader, start_ms = client.job_logs(job_id)
    except LookupError as missing:
        raise click.UsageError(str(missing)) from None
    except ValueError as problem:
        raise click.UsageError(f"cannot read the logs of job {job_id}: {problem}") from None

    def ended() -> bool:
        record = client.jobs.get_job(job_id)
        return record is None or record.terminal

    lines = reader.follow(job_id, start_ms, ended=ended) if follow else iter(reader.lines(job_id, start_ms))
    try:
        for line in lines:
            if not as_json:
                click.echo(line.render())
            elif line.record is not None:
                click.echo(line.message.strip())
    except KeyboardInterrupt:
        return


@main.command()
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Environments at once of each function without reserved concurrency [default: what memory "
    "allows]. A reserved function (the PageWorker) always runs its reservation, as on AWS.",
)
@click.option(
    "--lambda-time-scale",
    type=click.FloatRange(min=0, min_open=True, max=1),
    default=1.0,
    show_default=True,
    help="Run Lambda's asynchronous clock (retry delays, throttle backoff, event age) this many times "
    "AWS's: 0.01 retries a failed page after 0.6 s instead of a minute. Below 1, a retry can no longer "
    "arrive after its job's deadline as it can on AWS.",
)
@click.option("--template", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@click.option("--stack-name", default="pagefan-local", show_default=True, help="Name of the emulated stack.")
def serve(workers: int | None, lambda_time_scale: float, template: Path | None, stack_name: str) -> None:
    """Keep an emulated account with the stack deployed until Ctrl-C.

    Point AWS_ENDPOINT_URL at it (the command prints how) and use `pagefan run/status/retry --stack`.
    """
    from pagefan.local.emulator.account import CREDENTIALS, REGION, EmulatedAccount

    with (
        tempfile.TemporaryDirectory(prefix="pagefan-") as scratch,
        EmulatedAccount(
            template or _default_template(),
            workers=workers,
            work_dir=Path(scratch),
            stack_name=stack_name,
            lambda_time_scale=lambda_time_scale,
        ) as account,
    ):
        click.echo(f"stack {stack_name} is deployed in an emulated account. In another shell:")
        click.echo(f"  export AWS_ENDPOINT_URL={account.endpoint} AWS_DEFAULT_REGION={REGION}")
        click.echo(
            f"  export AWS_ACCESS_KEY_ID={CREDENTIALS['AWS_ACCESS_KEY_ID']} "
            f"AWS_SECRET_ACCESS_KEY={CREDENTIALS['AWS_SECRET_ACCESS_KEY']}"
        )
        click.echo(f"  pagefan run --stack {stack_name} FILE.pdf; pagefan status --stack {stack_name} JOB_ID")
        click.echo("Ctrl-C stops it.", err=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            click.echo("Stopped.", err=True)


JOB_ID_SHAPE = re.compile(r"^[0-9a-f]{32}$")


@main.command()
@click.argument("source", default="-", metavar="[SUMMARY|JOB_ID]")
@click.option("--json", "as_json", is_flag=True, help="Print the itemised cost as one JSON object.")
@click.option(
    "--prices",
    "prices_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Prices file [default: benchmarks/prices.json, dated; re-check its prices].",
)
@click.option("--template", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@STACK_OPTION
def cost(source: str, as_json: bool, prices_path: Path | None, template: Path | None, stack: str) -> None:
    """Price a local run, or one job of a deployed stack, on AWS.

    SUMMARY is the output of `pagefan run --json` (a file, or - for stdin), e.g.
    `pagefan run --json report.pdf | pagefan cost`: Lambda is priced from each function's measured
    milliseconds at its MemorySize (arm64), with the S3, DynamoDB, Step Functions and EventBridge
    requests pagefan makes for that many pages.

    JOB_ID prices one job of the stack --stack names (with AWS_ENDPOINT_URL: the account `pagefan
    serve` runs) from what AWS recorded of it: the Billed Duration and Memory Size of every
    invocation that logged the job id (Lambda's REPORT lines in CloudWatch Logs), the job's
    executions' state transitions, and its page count.
    """
    from pagefan.local.client.cost import JobCost, Prices, default_prices_path, job_cost

    bill: JobCost
    if JOB_ID_SHAPE.match(source) and not Path(source).exists():
        try:
            bill = _price_job(_stack_client(stack), source, prices_path)
        except LookupError as missing:
            raise click.UsageError(str(missing)) from None
        except (ValueError, KeyError, OSError) as problem:
            raise click.UsageError(f"cannot price job {source}: {problem}") from None
    else:
        from pagefan.local.client.cost import template_inputs, usage_from_run_summaries
        from pagefan.local.emulator.template import load_template

        template = template or _default_template()
        try:
            with click.open_file(source, "r") as summary:
                lines = [json.loads(line) for line in summary if line.strip()]
            asl, poll = template_inputs(load_template(template), template.parent)
            usage = usage_from_run_summaries(lines, asl, poll_interval_s=poll)
            prices = Prices.load(prices_path or default_prices_path())
        except (ValueError, KeyError, OSError) as problem:
            raise click.UsageError(f"cannot price this run: {problem}") from None
        bill = job_cost(usage, prices)
    if as_json:
        click.echo(json.dumps(bill.to_dict()))
        return
    for item in bill.items:
        if item.quantity:
            click.echo(f"{item.what:<45} {item.quantity:>12,.3f} {item.unit:<12} ${item.usd:.6f}")
    click.echo(
        f"{'total':<45} {bill.pages:>12,} pages       ${bill.total_usd:.6f} "
        f"(${bill.per_1000_pages_usd:.4f} per 1,000 pages; prices as of {bill.prices_as_of}, {bill.region})"
    )
