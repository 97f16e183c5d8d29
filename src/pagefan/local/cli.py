"""The `pagefan` command: the whole pipeline on this machine, or on a deployed stack.

Its options follow the SAM CLI's: ``-t/--template``, ``--parameter-overrides``, ``--stack-name``,
``--region``, ``--profile``, ``--config-file``/``--config-env`` (samconfig.toml, read as
:mod:`pagefan.local.sam_conventions` says), ``-e -`` and ``--env-vars`` for `invoke`, and ``--debug``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from pagefan.formats.jobs_table import JobStatus
from pagefan.local import project
from pagefan.local.sam_conventions import (
    ConventionError,
    SamConfig,
    function_variables,
    parse_parameter_overrides,
    read_env_vars,
)

EXIT_OK, EXIT_FAILED_JOB, EXIT_USAGE = 0, 1, 2
EXIT_JOB_RUNNING = 3
"""`pagefan status`: the job has not ended yet (SPLITTING or RUNNING)."""
DEFAULT_STACK_NAME = "pagefan"
"""The deployed stack the stack commands reach when neither --stack-name nor samconfig.toml names one."""
LOCAL_STACK_NAME = "pagefan-local"
"""The emulated stack of a local run; of `pagefan serve` when no --stack-name or samconfig.toml names one."""
# Options that take several values after one flag, as the SAM CLI's do.
MULTIPLE_VALUE_OPTIONS = frozenset({"--parameter-overrides"})

F = TypeVar("F", bound=Callable[..., Any])


def _default_template() -> Path:
    """The working directory's template.yaml, else the project's (a checkout, or the wheel's copy)."""
    try:
        return project.default_template()
    except project.ProjectFilesMissing as missing:
        raise click.UsageError(str(missing)) from None


class OneLineUsageError(click.UsageError):
    """A usage error shown as one line (``Error: ...``), exit status 2, without the usage text."""

    def show(self, file: IO[Any] | None = None) -> None:
        """Print the one line to stderr."""
        click.echo(f"Error: {self.format_message()}", err=True)


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


def spread_multiple_values(args: list[str]) -> list[str]:
    """SAM's ``--parameter-overrides A=1 B=2`` as click reads it: the flag repeated before each value.

    The values after such a flag run while they hold ``=`` and do not start with ``-``, so that a
    positional argument after them (a PDF, a function) stays what it is.
    """
    spread: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        spread.append(arg)
        if arg == "--":
            spread.extend(args[index:])
            break
        flag = arg.split("=", 1)[0]
        if flag not in MULTIPLE_VALUE_OPTIONS:
            continue
        if flag == arg and index < len(args):  # the flag's first value, whatever it looks like
            spread.append(args[index])
            index += 1
        while index < len(args) and "=" in args[index] and not args[index].startswith("-"):
            spread += [flag, args[index]]
            index += 1
    return spread


class SamStyleCommand(click.Command):
    """A command whose multiple-value options take their values as the SAM CLI's do."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Spread the multiple-value options' values, then parse as click does."""
        return super().parse_args(ctx, spread_multiple_values(args))


class SamStyleGroup(click.Group):
    """The command group: every command is a :class:`SamStyleCommand`."""

    command_class = SamStyleCommand


@click.group(cls=SamStyleGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pagefan", prog_name="pagefan", message="%(prog)s %(version)s")
def main() -> None:
    """pagefan: split PDFs into pages, analyse them in parallel, combine and export.

    Runs the real template.yaml, state machine and handlers on this machine (no Docker, no AWS
    account), or drives a deployed stack with --stack-name. Options follow the SAM CLI's, and
    samconfig.toml gives the stack name, region and parameters as it gives them to `sam deploy`.
    """


# --- options shared by several commands -------------------------------------------------------------

TEMPLATE_OPTION = click.option(
    "-t",
    "--template",
    "template",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The SAM template [default: ./template.yaml, else the project's].",
)
WORKERS_OPTION = click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Environments at once of each function without reserved concurrency [default: what memory "
    "allows]. A reserved function (the PageWorker) always runs its reservation, as on AWS.",
)
LAMBDA_TIME_SCALE_OPTION = click.option(
    "--lambda-time-scale",
    type=click.FloatRange(min=0, min_open=True, max=1),
    default=1.0,
    show_default=True,
    help="Run Lambda's asynchronous clock (retry delays, throttle backoff, event age) this many times "
    "AWS's: 0.01 retries a failed page after 0.6 s instead of a minute. Below 1, a retry can no longer "
    "arrive after its job's deadline as it can on AWS.",
)
PARAMETER_OVERRIDES_OPTION = click.option(
    "--parameter-overrides",
    "parameter_overrides",
    multiple=True,
    metavar="NAME=VALUE ...",
    help="Template parameters, as `sam deploy --parameter-overrides` takes them: Name=Value or "
    "ParameterKey=Name,ParameterValue=Value, several after one flag. Checked against the template's "
    "constraints and Rules before anything starts [default: samconfig.toml's parameter_overrides].",
)
REGION_OPTION = click.option(
    "--region", default=None, help="The stack's region [default: samconfig.toml's, else AWS's configuration]."
)
PROFILE_OPTION = click.option(
    "--profile",
    default=None,
    help="The AWS profile whose credentials to use [default: samconfig.toml's, else AWS's configuration].",
)
CONFIG_FILE_OPTION = click.option(
    "--config-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="samconfig.toml to read the stack name, region, profile and parameters from [default: "
    "samconfig.toml beside the template].",
)
CONFIG_ENV_OPTION = click.option(
    "--config-env",
    default=None,
    help="The environment of the config file to read [default: default]. Its deploy parameters "
    "are read, else its global ones; an option on the command line wins.",
)
DEBUG_OPTION = click.option(
    "--debug", is_flag=True, help="Print the local runtime's own logs (deployment, environments) to stderr."
)


def stack_options(command: F) -> F:
    """--stack-name, --region, --profile and the config file's options, for commands that reach a stack."""
    for option in reversed(
        (
            click.option(
                "--stack-name",
                default=None,
                metavar="NAME",
                help="The stack (with AWS_ENDPOINT_URL: the account `pagefan serve` runs) [default: "
                f"samconfig.toml's stack_name, else {DEFAULT_STACK_NAME}].",
            ),
            REGION_OPTION,
            PROFILE_OPTION,
            CONFIG_FILE_OPTION,
            CONFIG_ENV_OPTION,
        )
    ):
        command = option(command)
    return command


# --- what the options resolve to ----------------------------------------------------------------------


def _config(config_file: Path | None, config_env: str | None, template: Path | None) -> SamConfig:
    """The samconfig.toml settings that apply (beside the template, unless --config-file says)."""
    try:
        return SamConfig.find(config_file, config_env, project_dir=(template or _default_template()).parent)
    except ConventionError as problem:
        raise OneLineUsageError(str(problem)) from None


def _parameters(
    overrides: tuple[str, ...], config: SamConfig, template: Path, *, stack_name: str, region: str
) -> dict[str, str]:
    """The parameters to deploy with (the command line's, else samconfig's), as the template accepts them.

    Refused in one line naming the parameter, before any account starts.
    """
    from pagefan.local.emulator.parameters import ParameterError, check_parameters
    from pagefan.local.emulator.stack import pseudo_parameters
    from pagefan.local.emulator.template import load_template

    where = "--parameter-overrides" if overrides else f"parameter_overrides of {config.path}"
    try:
        chosen = parse_parameter_overrides(overrides) if overrides else dict(config.parameter_overrides)
        check_parameters(
            load_template(template), chosen, pseudo=pseudo_parameters(region=region, stack_name=stack_name)
        )
    except (ConventionError, ParameterError) as problem:
        raise OneLineUsageError(f"{where}: {problem}") from None
    return chosen


def _show_runtime_logs(ctx: click.Context) -> None:
    """Send the local runtime's logging to stderr until the command ends (--debug)."""
    runtime = logging.getLogger("pagefan.local")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    previous = runtime.level
    runtime.setLevel(logging.DEBUG)
    runtime.addHandler(handler)

    def restore() -> None:
        runtime.removeHandler(handler)
        runtime.setLevel(previous)

    ctx.call_on_close(restore)


def _session(region: str | None, profile: str | None, config: SamConfig) -> Any:
    """A boto3 Session with the region and profile asked for (the command line's, else samconfig's)."""
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.Session(region_name=region or config.region, profile_name=profile or config.profile)
    except BotoCoreError as problem:
        raise OneLineUsageError(str(problem)) from None


def _stack_client(
    stack_name: str | None, region: str | None, profile: str | None, config: SamConfig
) -> tuple[Any, str]:
    """A JobsClient for a deployed stack found by name, and that name.

    AWS_ENDPOINT_URL points it at another endpoint, such as the account `pagefan serve` runs.
    """
    from pagefan.local.client.jobs_client import JobsClient, StackOutputs

    stack = stack_name or config.stack_name or DEFAULT_STACK_NAME
    session = _session(region, profile, config)
    try:
        description = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}
        names = StackOutputs.from_outputs(outputs)
    except Exception as error:
        raise OneLineUsageError(f"cannot read stack {stack}: {error}") from None
    client = JobsClient(
        session.client("s3"),
        session.client("dynamodb"),
        names,
        session.client("stepfunctions"),
        logs=session.client("logs"),
        lambda_=session.client("lambda"),
    )
    return client, stack


# --- commands -------------------------------------------------------------------------------------------


@main.command()
@click.argument("files", nargs=-1, required=True, callback=_pdf_files)
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
    config = _config(config_file, config_env, template)
    parameters: dict[str, str] = {}
    if not stack_name:
        template = template or _default_template()
        parameters = _parameters(
            parameter_overrides, config, template, stack_name=LOCAL_STACK_NAME, region=REGION
        )
    if debug:
        _show_runtime_logs(ctx)
    progress: Progress = RichProgress() if sys.stderr.isatty() and not as_json else PlainProgress()
    try:
        costs: dict[str, dict[str, Any]] = {}
        if stack_name:
            client, _ = _stack_client(stack_name, region, profile, config)
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
        click.echo("Interrupted: emulated services stopped.", err=True)
        sys.exit(130)
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


def _price_job(client: Any, job_id: str, prices_path: Path | None = None) -> Any:
    """One job's JobCost, from what the stack recorded of it (LookupError: no such job)."""
    from pagefan.local.client.cost import job_cost
    from pagefan.local.client.prices import Prices, default_prices_path

    usage = client.usage(job_id)
    return job_cost(usage, Prices.load(prices_path or default_prices_path()))


def _job_bill(client: Any, job_id: str) -> dict[str, Any]:
    """One job's itemised cost as `pagefan run --json` gives it, or why it cannot be given."""
    try:
        bill: dict[str, Any] = _price_job(client, job_id).to_dict()
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


@main.command()
@click.argument("function")
@click.option(
    "-e",
    "--event",
    "event_path",
    required=True,
    type=click.Path(path_type=Path, allow_dash=True),
    help="The event to invoke FUNCTION with: a JSON file, or - to read it from standard input (as "
    "`sam local invoke -e` takes it).",
)
@click.option(
    "--file",
    "source_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Upload this file when the event names an upload that does not exist "
    "[default: samples/<the key's file name>].",
)
@TEMPLATE_OPTION
@PARAMETER_OVERRIDES_OPTION
@click.option(
    "--env-vars",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help='JSON file of environment variables, as `sam local invoke --env-vars` takes it: {"Function": '
    '{"VAR": "value"}, "Parameters": {"VAR": "for every function"}}. Only variables the template gives '
    "a function are changed.",
)
@CONFIG_FILE_OPTION
@CONFIG_ENV_OPTION
@click.option(
    "--traceback", "show_traceback", is_flag=True, help="Show the function's traceback in its logs."
)
@click.option(
    "--enforce-iam/--no-enforce-iam",
    default=True,
    show_default=True,
    help="Run the function (and what prepares its event) as its own role with IAM enforced.",
)
@DEBUG_OPTION
@click.pass_context
def invoke(
    ctx: click.Context,
    function: str,
    event_path: Path,
    source_file: Path | None,
    template: Path | None,
    parameter_overrides: tuple[str, ...],
    env_vars: Path | None,
    config_file: Path | None,
    config_env: str | None,
    show_traceback: bool,
    enforce_iam: bool,
    debug: bool,
) -> None:
    """Invoke FUNCTION (a logical id of the template) once with EVENT, like `sam local invoke`, no Docker.

    The template runs in a fresh emulated account, deployed with --parameter-overrides (else
    samconfig.toml's): what the event points at (the upload, the pages, the page results) is
    first made by the real upstream functions from samples/. Prints the response to stdout and
    the function's logs to stderr. Exit status: 0 when the function succeeded, 1 on a function
    error, 2 for usage errors.
    """
    from pagefan.local.emulator import invocation as local_invoke
    from pagefan.local.emulator.account import REGION
    from pagefan.local.emulator.sample_events import STACK_NAME
    from pagefan.local.emulator.template import load_template

    template = template or _default_template()
    config = _config(config_file, config_env, template)
    parameters = _parameters(parameter_overrides, config, template, stack_name=STACK_NAME, region=REGION)
    environment: dict[str, dict[str, str]] = {}
    if env_vars is not None:
        try:
            overrides = read_env_vars(env_vars, function_variables(load_template(template)))
        except ConventionError as problem:
            raise OneLineUsageError(str(problem)) from None
        environment = overrides.variables
        for line in overrides.ignored:
            click.echo(f"--env-vars: {line}", err=True)
    if debug:
        _show_runtime_logs(ctx)
    if event_path == local_invoke.STDIN and sys.stdin.isatty():
        click.echo("Reading the event from standard input (end it with Ctrl-D)...", err=True)

    def say(line: str) -> None:
        click.echo(line, err=True)

    try:
        invocation = local_invoke.run_invoke(
            function,
            event_path,
            template_path=template,
            source_file=source_file,
            enforce_iam=enforce_iam,
            say=say,
            parameters=parameters,
            environment=environment,
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


@main.command()
@click.argument("job_id")
@stack_options
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
def status(
    job_id: str,
    stack_name: str | None,
    region: str | None,
    profile: str | None,
    config_file: Path | None,
    config_env: str | None,
    as_json: bool,
) -> None:
    """Show a job's state, page counts, failed pages with their reasons, and timings.

    Exit status: 0 when the job COMPLETED, 1 when it FAILED, 3 while it is still running
    (SPLITTING or RUNNING), 2 for usage errors (an unknown job or stack included).
    """
    client, _ = _stack_client(stack_name, region, profile, _config(config_file, config_env, None))
    try:
        report = client.status(job_id)
    except LookupError as missing:
        raise OneLineUsageError(str(missing)) from None
    if as_json:
        click.echo(json.dumps(report))
    else:
        click.echo(f"job {report['job_id']}: {report['status']} ({report['source']})")
        click.echo(
            f"pages: {report['pages_done']} done, {report['pages_failed']} failed, "
            f"{report['pages_total']} in all"
        )
        if report["error"]:
            click.echo(f"error ({report['error']['stage']}): {report['error']['reason']}")
        for page in report["failed_pages"]:
            click.echo(f"  page {page['page']}: {page['reason']}")
        for name, key in sorted(report["outputs"].items()):
            click.echo(f"output {name}: {key}")
        times = report["timings"]
        click.echo(
            f"created {times['created_at']}, updated {times['updated_at']}, deadline {times['deadline']}"
        )
    exit_codes = {JobStatus.COMPLETED: EXIT_OK, JobStatus.FAILED: EXIT_FAILED_JOB}
    sys.exit(exit_codes.get(report["status"], EXIT_JOB_RUNNING))


@main.command()
@click.argument("job_id")
@stack_options
def retry(
    job_id: str,
    stack_name: str | None,
    region: str | None,
    profile: str | None,
    config_file: Path | None,
    config_env: str | None,
) -> None:
    """Process a FAILED job's failed pages again and resume the job to its end.

    Safe to run twice: a job that is no longer FAILED is left alone.
    """
    client, _ = _stack_client(stack_name, region, profile, _config(config_file, config_env, None))
    try:
        outcome = client.retry(job_id)
    except LookupError as missing:
        raise OneLineUsageError(str(missing)) from None
    click.echo(f"job {job_id}: {outcome.message}")


@main.command()
@click.argument("job_id")
@stack_options
@click.option("--follow", is_flag=True, help="Keep printing new lines until the job ended and went quiet.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON lines as logged, one per line.")
def logs(
    job_id: str,
    stack_name: str | None,
    region: str | None,
    profile: str | None,
    config_file: Path | None,
    config_env: str | None,
    follow: bool,
    as_json: bool,
) -> None:
    """Show one job's log lines from every function and the state machine, merged by time.

    Each line shows its time, the function (or DocumentJob), the page it is about and its level.
    --json prints the handlers' and the state machine's JSON lines as logged (they carry
    function_name and page themselves); Lambda's START/END/REPORT lines are text and appear
    only without --json. Needs logs:FilterLogEvents, lambda:GetFunctionConfiguration,
    states:DescribeStateMachine and dynamodb:GetItem.
    """
    client, _ = _stack_client(stack_name, region, profile, _config(config_file, config_env, None))
    try:
        reader, start_ms = client.job_logs(job_id)
    except LookupError as missing:
        raise OneLineUsageError(str(missing)) from None
    except ValueError as problem:
        raise OneLineUsageError(f"cannot read the logs of job {job_id}: {problem}") from None

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
@WORKERS_OPTION
@LAMBDA_TIME_SCALE_OPTION
@TEMPLATE_OPTION
@click.option(
    "--stack-name",
    default=None,
    metavar="NAME",
    help=f"Name of the emulated stack [default: samconfig.toml's stack_name, else {LOCAL_STACK_NAME}].",
)
@click.option(
    "--region",
    default=None,
    help="The emulated account's region [default: samconfig.toml's, else us-east-1].",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    help="Port of the emulated services on 127.0.0.1 [default: a free one].",
)
@PARAMETER_OVERRIDES_OPTION
@CONFIG_FILE_OPTION
@CONFIG_ENV_OPTION
@DEBUG_OPTION
@click.pass_context
def serve(
    ctx: click.Context,
    workers: int | None,
    lambda_time_scale: float,
    template: Path | None,
    stack_name: str | None,
    region: str | None,
    port: int,
    parameter_overrides: tuple[str, ...],
    config_file: Path | None,
    config_env: str | None,
    debug: bool,
) -> None:
    """Keep an emulated account with the stack deployed until Ctrl-C.

    Point AWS_ENDPOINT_URL at it (the command prints how) and use `pagefan run/status/retry
    --stack-name`. The stack is deployed with --parameter-overrides (else samconfig.toml's).
    """
    from pagefan.local.emulator.account import CREDENTIALS, REGION, EmulatedAccount, PortUnavailable

    template = template or _default_template()
    config = _config(config_file, config_env, template)
    stack_name = stack_name or config.stack_name or LOCAL_STACK_NAME
    region = region or config.region or REGION
    parameters = _parameters(parameter_overrides, config, template, stack_name=stack_name, region=region)
    if debug:
        _show_runtime_logs(ctx)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="pagefan-") as scratch,
            EmulatedAccount(
                template,
                workers=workers,
                work_dir=Path(scratch),
                stack_name=stack_name,
                lambda_time_scale=lambda_time_scale,
                parameters=parameters,
                region=region,
                port=port,
            ) as account,
        ):
            click.echo(f"stack {stack_name} is deployed in an emulated account. In another shell:")
            click.echo(f"  export AWS_ENDPOINT_URL={account.endpoint} AWS_DEFAULT_REGION={region}")
            click.echo(
                f"  export AWS_ACCESS_KEY_ID={CREDENTIALS['AWS_ACCESS_KEY_ID']} "
                f"AWS_SECRET_ACCESS_KEY={CREDENTIALS['AWS_SECRET_ACCESS_KEY']}"
            )
            click.echo(
                f"  pagefan run --stack-name {stack_name} FILE.pdf; "
                f"pagefan status --stack-name {stack_name} JOB_ID"
            )
            click.echo("Ctrl-C stops it.", err=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                click.echo("Stopped.", err=True)
    except PortUnavailable as problem:
        raise OneLineUsageError(f"--port: {problem}") from None


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
@TEMPLATE_OPTION
@stack_options
def cost(
    source: str,
    as_json: bool,
    prices_path: Path | None,
    template: Path | None,
    stack_name: str | None,
    region: str | None,
    profile: str | None,
    config_file: Path | None,
    config_env: str | None,
) -> None:
    """Price a local run, or one job of a deployed stack, on AWS.

    SUMMARY is the output of `pagefan run --json` (a file, or - for stdin), e.g.
    `pagefan run --json report.pdf | pagefan cost`: Lambda is priced from each function's measured
    milliseconds at its MemorySize (arm64), with the S3, DynamoDB, Step Functions and EventBridge
    requests pagefan makes for that many pages. --template gives the state machine and poll
    interval the run had.

    JOB_ID prices one job of the stack --stack-name names (with AWS_ENDPOINT_URL: the account
    `pagefan serve` runs) from what AWS recorded of it: the Billed Duration and Memory Size of
    every invocation that logged the job id (Lambda's REPORT lines in CloudWatch Logs), the job's
    executions' state transitions, and its page count.
    """
    from pagefan.local.client.cost import JobCost, job_cost
    from pagefan.local.client.prices import Prices, default_prices_path

    bill: JobCost
    if JOB_ID_SHAPE.match(source) and not Path(source).exists():
        client, _ = _stack_client(stack_name, region, profile, _config(config_file, config_env, template))
        try:
            bill = _price_job(client, source, prices_path)
        except LookupError as missing:
            raise OneLineUsageError(str(missing)) from None
        except (ValueError, KeyError, OSError) as problem:
            raise OneLineUsageError(f"cannot price job {source}: {problem}") from None
    else:
        from pagefan.local.client.cost import usage_from_run_summaries
        from pagefan.local.client.transitions import template_inputs
        from pagefan.local.emulator.template import load_template

        template = template or _default_template()
        try:
            with click.open_file(source, "r") as summary:
                lines = [json.loads(line) for line in summary if line.strip()]
            asl, poll = template_inputs(load_template(template), template.parent)
            usage = usage_from_run_summaries(lines, asl, poll_interval_s=poll)
            prices = Prices.load(prices_path or default_prices_path())
        except (ValueError, KeyError, OSError) as problem:
            raise OneLineUsageError(f"cannot price this run: {problem}") from None
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


@main.command()
@TEMPLATE_OPTION
@click.option("--write", is_flag=True, help="Rewrite the files that differ from what they derive.")
def events(template: Path | None, write: bool) -> None:
    """Check the sample events of events/ against the template and samples/sample.pdf, or --write them.

    The events (one per function, for `pagefan invoke -e` and `sam local invoke -e`) derive from
    the template and samples/sample.pdf: after changing either, run `pagefan events --write`.
    Exit status: 0 when every file is up to date (or was written), 1 when some are not.
    """
    from pagefan.local.emulator.sample_events import render_events, write_events

    template = template or _default_template()
    directory = template.parent / "events"

    def shown(path: Path) -> str:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)

    if write:
        for path in write_events(template, directory):
            click.echo(f"wrote {shown(path)}")
        return
    rendered = render_events(template)
    stale = 0
    for name, text in sorted(rendered.items()):
        path = directory / name
        state = "up to date" if path.is_file() and path.read_text(encoding="utf-8") == text else "out of date"
        stale += state != "up to date"
        click.echo(f"{shown(path)}: {state}")
    for path in sorted(directory.glob("*.json")):
        if path.name not in rendered:
            click.echo(f"{shown(path)}: not a sample event of {template.name}")
    if stale:
        click.echo("Run `pagefan events --write` to rewrite them.", err=True)
        sys.exit(EXIT_FAILED_JOB)
