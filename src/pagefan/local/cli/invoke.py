"""`pagefan invoke` (one function, one event, as `sam local invoke`) and `pagefan events`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from pagefan.local.cli.options import (
    CONFIG_ENV_OPTION,
    CONFIG_FILE_OPTION,
    DEBUG_OPTION,
    EXIT_FAILED_JOB,
    EXIT_USAGE,
    PARAMETER_OVERRIDES_OPTION,
    TEMPLATE_OPTION,
    OneLineUsageError,
    SamStyleCommand,
    checked_parameters,
    default_template,
    exit_interrupted,
    read_config,
    show_runtime_logs,
)
from pagefan.local.sam_conventions import (
    ConventionError,
    function_variables,
    read_env_vars,
)


@click.command(cls=SamStyleCommand)
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

    template = template or default_template()
    config = read_config(config_file, config_env, template)
    parameters = checked_parameters(
        parameter_overrides, config, template, stack_name=STACK_NAME, region=REGION
    )
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
        show_runtime_logs(ctx)
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
        exit_interrupted()
    lines = invocation.log_lines if show_traceback else local_invoke.without_tracebacks(invocation.log_lines)
    for line in [*lines, *invocation.aftermath]:
        click.echo(line, err=True)
    click.echo(json.dumps(invocation.response))
    result = invocation.result
    if not result.ok:
        click.echo(f"{result.error_type}: {result.error_message}", err=True)
        sys.exit(EXIT_FAILED_JOB)


@click.command(cls=SamStyleCommand)
@TEMPLATE_OPTION
@click.option("--write", is_flag=True, help="Rewrite the files that differ from what they derive.")
def events(template: Path | None, write: bool) -> None:
    """Check the sample events of events/ against the template and samples/sample.pdf, or --write them.

    The events (one per function, for `pagefan invoke -e` and `sam local invoke -e`) derive from
    the template and samples/sample.pdf: after changing either, run `pagefan events --write`.
    Exit status: 0 when every file is up to date (or was written), 1 when some are not.
    """
    from pagefan.local.emulator.sample_events import render_events, write_events

    template = template or default_template()
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
