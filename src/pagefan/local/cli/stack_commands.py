"""The commands that read or act on one job of a stack: status, retry, logs, cost."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click

from pagefan.formats.jobs_table import JobStatus
from pagefan.local.cli.options import (
    EXIT_FAILED_JOB,
    EXIT_JOB_RUNNING,
    EXIT_OK,
    TEMPLATE_OPTION,
    OneLineUsageError,
    SamStyleCommand,
    default_template,
    price_job,
    read_config,
    stack_client,
    stack_options,
)


@click.command(cls=SamStyleCommand)
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
    client, _ = stack_client(stack_name, region, profile, read_config(config_file, config_env, None))
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


@click.command(cls=SamStyleCommand)
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
    client, _ = stack_client(stack_name, region, profile, read_config(config_file, config_env, None))
    try:
        outcome = client.retry(job_id)
    except LookupError as missing:
        raise OneLineUsageError(str(missing)) from None
    click.echo(f"job {job_id}: {outcome.message}")


@click.command(cls=SamStyleCommand)
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
    client, _ = stack_client(stack_name, region, profile, read_config(config_file, config_env, None))
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


JOB_ID_SHAPE = re.compile(r"^[0-9a-f]{32}$")


@click.command(cls=SamStyleCommand)
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
        client, _ = stack_client(stack_name, region, profile, read_config(config_file, config_env, template))
        try:
            bill = price_job(client, source, prices_path)
        except LookupError as missing:
            raise OneLineUsageError(str(missing)) from None
        except (ValueError, KeyError, OSError) as problem:
            raise OneLineUsageError(f"cannot price job {source}: {problem}") from None
    else:
        from pagefan.local.client.cost import usage_from_run_summaries
        from pagefan.local.client.transitions import template_inputs
        from pagefan.local.emulator.template import load_template

        template = template or default_template()
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
