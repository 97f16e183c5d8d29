"""What the commands share: SAM-style options and parsing, the stack a command reaches, exit codes."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, NoReturn, TypeVar

import click

from pagefan.local import project
from pagefan.local.sam_conventions import (
    ConventionError,
    SamConfig,
    parse_parameter_overrides,
)

EXIT_OK, EXIT_FAILED_JOB, EXIT_USAGE = 0, 1, 2
EXIT_JOB_RUNNING = 3
"""`pagefan status`: the job has not ended yet (SPLITTING or RUNNING)."""
EXIT_INTERRUPTED = 130
"""Ctrl-C, as a shell reports it (128 + SIGINT)."""
DEFAULT_STACK_NAME = "pagefan"
"""The deployed stack the stack commands reach when neither --stack-name nor samconfig.toml names one."""
LOCAL_STACK_NAME = "pagefan-local"
"""The emulated stack of a local run; of `pagefan serve` when no --stack-name or samconfig.toml names one."""
# Options that take several values after one flag, as the SAM CLI's do.
MULTIPLE_VALUE_OPTIONS = frozenset({"--parameter-overrides"})

F = TypeVar("F", bound=Callable[..., Any])


def default_template() -> Path:
    """The working directory's template.yaml, else the project's (a checkout, or the wheel's copy)."""
    try:
        return project.default_template()
    except project.ProjectFilesMissing as missing:
        raise click.UsageError(str(missing)) from None


def exit_interrupted() -> NoReturn:
    """Say that Ctrl-C stopped the run, and end the process at once.

    Called once the emulated account has stopped (every environment, the services, the scratch
    directory). What is left are threads finishing calls against services that are gone, and
    objects the interpreter would finalise one by one: neither can change anything any more, but
    either could print after this line, which must be the last a person sees.
    """
    click.echo("Interrupted: emulated services stopped.", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


class OneLineUsageError(click.UsageError):
    """A usage error shown as one line (``Error: ...``), exit status 2, without the usage text."""

    def show(self, file: IO[Any] | None = None) -> None:
        """Print the one line to stderr."""
        click.echo(f"Error: {self.format_message()}", err=True)


def pdf_files(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list[Path]:
    """Click callback of the FILES argument: each an existing, readable file (not a folder)."""
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


def read_config(config_file: Path | None, config_env: str | None, template: Path | None) -> SamConfig:
    """The samconfig.toml settings that apply (beside the template, unless --config-file says)."""
    try:
        return SamConfig.find(config_file, config_env, project_dir=(template or default_template()).parent)
    except ConventionError as problem:
        raise OneLineUsageError(str(problem)) from None


def checked_parameters(
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


def show_runtime_logs(ctx: click.Context) -> None:
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


def boto_session(region: str | None, profile: str | None, config: SamConfig) -> Any:
    """A boto3 Session with the region and profile asked for (the command line's, else samconfig's)."""
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        return boto3.Session(region_name=region or config.region, profile_name=profile or config.profile)
    except BotoCoreError as problem:
        raise OneLineUsageError(str(problem)) from None


def stack_client(
    stack_name: str | None, region: str | None, profile: str | None, config: SamConfig
) -> tuple[Any, str]:
    """A JobsClient for a deployed stack found by name, and that name.

    AWS_ENDPOINT_URL points it at another endpoint, such as the account `pagefan serve` runs.
    """
    from pagefan.local.client.jobs_client import JobsClient, StackOutputs

    stack = stack_name or config.stack_name or DEFAULT_STACK_NAME
    session = boto_session(region, profile, config)
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


def price_job(client: Any, job_id: str, prices_path: Path | None = None) -> Any:
    """One job's JobCost, from what the stack recorded of it (LookupError: no such job)."""
    from pagefan.local.client.cost import job_cost
    from pagefan.local.client.prices import Prices, default_prices_path

    usage = client.usage(job_id)
    return job_cost(usage, Prices.load(prices_path or default_prices_path()))
