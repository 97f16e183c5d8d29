"""The `pagefan` command: the whole pipeline on this machine, or on a deployed stack.

Its options follow the SAM CLI's: ``-t/--template``, ``--parameter-overrides``, ``--stack-name``,
``--region``, ``--profile``, ``--config-file``/``--config-env`` (samconfig.toml, read as
:mod:`pagefan.local.sam_conventions` says), ``-e -`` and ``--env-vars`` for `invoke`, and ``--debug``.
"""

from __future__ import annotations

import click

from pagefan.local.cli.invoke import events, invoke
from pagefan.local.cli.options import SamStyleGroup
from pagefan.local.cli.run import run
from pagefan.local.cli.serve import serve
from pagefan.local.cli.stack_commands import cost, logs, retry, status


@click.group(cls=SamStyleGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pagefan", prog_name="pagefan", message="%(prog)s %(version)s")
def main() -> None:
    """pagefan: split PDFs into pages, analyse them in parallel, combine and export.

    Runs the real template.yaml, state machine and handlers on this machine (no Docker, no AWS
    account), or drives a deployed stack with --stack-name. Options follow the SAM CLI's, and
    samconfig.toml gives the stack name, region and parameters as it gives them to `sam deploy`.
    """


for command in (run, invoke, status, retry, logs, serve, cost, events):
    main.add_command(command)
