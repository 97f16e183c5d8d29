"""`pagefan serve`: an emulated stack that other tools reach at one endpoint, until Ctrl-C."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click

from pagefan.local.cli.options import (
    CONFIG_ENV_OPTION,
    CONFIG_FILE_OPTION,
    DEBUG_OPTION,
    LAMBDA_TIME_SCALE_OPTION,
    LOCAL_STACK_NAME,
    PARAMETER_OVERRIDES_OPTION,
    TEMPLATE_OPTION,
    WORKERS_OPTION,
    OneLineUsageError,
    SamStyleCommand,
    checked_parameters,
    default_template,
    read_config,
    show_runtime_logs,
)


@click.command(cls=SamStyleCommand)
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

    template = template or default_template()
    config = read_config(config_file, config_env, template)
    stack_name = stack_name or config.stack_name or LOCAL_STACK_NAME
    region = region or config.region or REGION
    parameters = checked_parameters(
        parameter_overrides, config, template, stack_name=stack_name, region=region
    )
    if debug:
        show_runtime_logs(ctx)
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
