"""What one job costs on AWS: measured Lambda durations and the template's memory sizes, priced.

A pure model, no AWS call: ``job_cost(usage, prices)`` turns a job's usage (per-function invocations,
billed milliseconds and MemorySize; S3, DynamoDB, Step Functions, EventBridge and SQS request counts)
into dollars, item by item. The usage comes from a local run's measured durations
(``usage_from_run_summaries``) or, for one job, from what Lambda and Step Functions record of it
(``usage_from_reports``: the REPORT lines of the job's invocations and its execution history),
which ``pagefan.local.client.jobs_client`` reads from CloudWatch Logs and Step Functions.
``pipeline_requests`` gives the request counts pagefan's code makes for a
job of N pages (read from the stages, listed in its docstring) and ``state_transitions`` walks the
state machine's ASL along the successful path (:mod:`.transitions`). Prices come from
:mod:`.prices`, the REPORT lines from :mod:`.reports`. Free tiers, storage, data transfer and
CloudWatch Logs are not counted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pagefan.local.client.prices import Prices
from pagefan.local.client.reports import InvocationReport
from pagefan.local.client.transitions import polls_for, state_transitions


@dataclass(frozen=True)
class FunctionUsage:
    """One function's share of a job: invocations, billed milliseconds, MemorySize."""

    invocations: int
    billed_ms: float
    memory_mb: int

    @classmethod
    def from_durations(cls, durations_ms: Iterable[float], memory_mb: int) -> FunctionUsage:
        """Lambda bills each invocation's duration rounded up to the next millisecond."""
        durations = list(durations_ms)
        return cls(len(durations), float(sum(math.ceil(d) for d in durations)), memory_mb)

    @property
    def gb_seconds(self) -> float:
        """Billed milliseconds times MemorySize, in GB-seconds."""
        return self.billed_ms / 1000 * self.memory_mb / 1024


@dataclass(frozen=True)
class JobUsage:
    """Everything a job is billed for in this model."""

    pages: int
    functions: Mapping[str, FunctionUsage]
    s3_puts: int = 0
    s3_gets: int = 0
    state_transitions: int = 0
    dynamodb_write_units: int = 0
    dynamodb_read_units: int = 0
    eventbridge_events: int = 0
    sqs_requests: int = 0


@dataclass(frozen=True)
class CostItem:
    """One line of a bill: what, how much of it, its unit and its price."""

    what: str
    quantity: float
    unit: str
    usd: float


@dataclass(frozen=True)
class JobCost:
    """A job's bill, item by item."""

    pages: int
    items: tuple[CostItem, ...]
    prices_as_of: str
    region: str
    notes: tuple[str, ...] = field(default=())

    @property
    def total_usd(self) -> float:
        """The sum of the items."""
        return sum(item.usd for item in self.items)

    @property
    def per_1000_pages_usd(self) -> float:
        """The total spread over the pages, for 1,000 of them."""
        return self.total_usd / self.pages * 1000 if self.pages else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, rounded."""
        return {
            "pages": self.pages,
            "total_usd": round(self.total_usd, 8),
            "per_1000_pages_usd": round(self.per_1000_pages_usd, 6),
            "items": [
                {"what": i.what, "quantity": round(i.quantity, 3), "unit": i.unit, "usd": round(i.usd, 8)}
                for i in self.items
            ],
            "prices_as_of": self.prices_as_of,
            "region": self.region,
            "notes": list(self.notes),
        }


def job_cost(usage: JobUsage, prices: Prices) -> JobCost:
    """Price a job's usage, one item per function (compute and requests) and per service."""
    p = prices.unit_usd
    items: list[CostItem] = []
    for name, f in sorted(usage.functions.items()):
        items.append(
            CostItem(
                f"Lambda {name} compute ({f.memory_mb} MB)",
                f.gb_seconds,
                "GB-s",
                f.gb_seconds * p["lambda_arm64_gb_second"],
            )
        )
        items.append(
            CostItem(
                f"Lambda {name} requests", f.invocations, "requests", f.invocations * p["lambda_request"]
            )
        )
    for what, quantity, unit, key in (
        ("S3 PUT requests", usage.s3_puts, "requests", "s3_put_request"),
        ("S3 GET requests", usage.s3_gets, "requests", "s3_get_request"),
        ("Step Functions transitions", usage.state_transitions, "transitions", "sfn_standard_transition"),
        ("DynamoDB writes", usage.dynamodb_write_units, "WRU", "dynamodb_write_request_unit"),
        ("DynamoDB reads", usage.dynamodb_read_units, "RRU", "dynamodb_read_request_unit"),
        ("EventBridge events", usage.eventbridge_events, "events", "eventbridge_event"),
        ("SQS requests", usage.sqs_requests, "requests", "sqs_request"),
    ):
        items.append(CostItem(what, quantity, unit, quantity * p[key]))
    return JobCost(
        pages=usage.pages,
        items=tuple(items),
        prices_as_of=prices.as_of,
        region=prices.region,
        notes=(
            "List prices without free tiers; storage, data transfer and CloudWatch Logs not counted.",
            "Request counts are pagefan's model of a successful job "
            "(pagefan.local.client.cost.pipeline_requests).",
        ),
    )


def pipeline_requests(pages: int, *, pdf_parts: int = 0) -> dict[str, int]:
    """Requests a successful job of ``pages`` pages makes, besides Lambda and Step Functions.

    Read from the stages (one item per call; DynamoDB items are under 1 KB, transactions cost twice):

    - upload: 1 S3 PUT (the user's upload into the raw bucket);
    - Splitter: 1 GET (the upload), 1 PUT (document info) + 1 PUT per page; DynamoDB create_job
      (1 WRU), get_job consistent (1 RRU), mark_running (1 WRU);
    - PageWorker, per page: 1 GET, 1 PUT (result), one conditional PutItem of its page item (1 WRU);
    - Combiner: 1 GET (info) + 1 GET per page (one pass feeds document.json and document.txt),
      2 PUTs;
    - SvgExporter: 1 GET + 1 GET and 1 PUT per page;
    - PdfExporter in ``pdf_parts`` parts: per part 1 GET (info), 1 GET per page of its range and
      1 PUT (the part); the merge 1 GET (info), 1 GET per part and 1 PUT. With ``pdf_parts`` 0,
      one invocation renders the whole document: 1 GET + 1 GET per page, 1 PUT. (A multipart
      upload adds a few more.)
    - state machine: MarkCompleted (1 WRU), one EventBridge event; polls are priced in
      ``state_transitions`` and by ``progress_read_units``.
    """
    pdf_gets, pdf_puts = (pdf_parts + pages + 1 + pdf_parts, pdf_parts + 1) if pdf_parts else (1 + pages, 1)
    return {
        "s3_puts": 1 + (1 + pages) + pages + 2 + pages + pdf_puts,
        "s3_gets": 1 + pages + (1 + pages) + (1 + pages) + pdf_gets,
        "dynamodb_write_units": 1 + 1 + pages + 1,
        "dynamodb_read_units": 1,
        "eventbridge_events": 1,
        "sqs_requests": 0,
    }


# A page item's size as DynamoDB counts it (names and values), rounded up.
PAGE_ITEM_BYTES = 256


def progress_read_units(pages: int) -> int:
    """Read units of one progress read: a strongly consistent Query over every page item.

    DynamoDB charges a Query by the bytes it reads, 4 KB a unit, filtered or counted or not;
    priced as if every page were already recorded (an upper bound for the early polls).
    """
    return max(1, math.ceil(pages * PAGE_ITEM_BYTES / 4096))


def usage_from_run_summary(
    summary: Mapping[str, Any], asl: Mapping[str, Any], *, poll_interval_s: int
) -> JobUsage:
    """A JobUsage from one ``pagefan run --json`` line (its ``functions`` stats and ``timings``).

    Functions billed by their measured total milliseconds (``total_ms``, plus the cold starts'
    ``init_ms``, which Lambda bills since August 2025, plus half a millisecond per invocation for
    Lambda's rounding up) at their MemorySize. The polling loop is sized from the
    measured time the pages took and the template's poll interval.
    """
    pages = int(summary["pages_total"])
    functions = {
        name: FunctionUsage(
            int(f["invocations"]),
            float(f["total_ms"]) + float(f.get("init_ms", 0.0)) + 0.5 * int(f["invocations"]),
            int(f["memory_size_mb"]),
        )
        for name, f in summary.get("functions", {}).items()
        if int(f["invocations"])
    }
    timings = summary.get("timings", {})
    pages_seconds = float(timings.get("seconds_to_combining_and_exporting", 0.0)) - float(
        timings.get("seconds_to_pages", 0.0)
    )
    polls = polls_for(max(pages_seconds, 0.0), poll_interval_s)
    return _modelled_usage(pages, functions, state_transitions(asl, polls=polls), progress_reads=polls)


def usage_from_run_summaries(
    summaries: Iterable[Mapping[str, Any]], asl: Mapping[str, Any], *, poll_interval_s: int
) -> JobUsage:
    """One JobUsage for a whole `pagefan run --json` (one line per document).

    The ``functions`` stats of a local run are the account's, shared by every document of the run,
    so they are counted once; pages, requests and transitions add up document by document.
    """
    lines = list(summaries)
    if not lines:
        raise ValueError("no run summary given")
    if not lines[0].get("functions"):
        raise ValueError("the summary has no function stats (only local runs measure them)")
    per_document = [
        usage_from_run_summary({**line, "functions": {}}, asl, poll_interval_s=poll_interval_s)
        for line in lines
    ]
    functions = usage_from_run_summary(lines[0], asl, poll_interval_s=poll_interval_s).functions
    return JobUsage(
        pages=sum(u.pages for u in per_document),
        functions=functions,
        s3_puts=sum(u.s3_puts for u in per_document),
        s3_gets=sum(u.s3_gets for u in per_document),
        state_transitions=sum(u.state_transitions for u in per_document),
        dynamodb_write_units=sum(u.dynamodb_write_units for u in per_document),
        dynamodb_read_units=sum(u.dynamodb_read_units for u in per_document),
        eventbridge_events=sum(u.eventbridge_events for u in per_document),
        sqs_requests=sum(u.sqs_requests for u in per_document),
    )


def usage_from_reports(
    *,
    pages: int,
    reports: Mapping[str, Iterable[InvocationReport]],
    state_transitions: int,
    progress_reads: int,
) -> JobUsage:
    """A JobUsage for one job from what AWS recorded of it.

    Args:
        pages: The job's page count (its job record).
        reports: Each function's REPORT lines of the job's invocations, retries and duplicate
            deliveries included (each is billed).
        state_transitions: States its executions entered (their histories).
        progress_reads: Times the executions counted the page items (DynamoDB Query tasks).

    Functions are billed by Lambda's own Billed Duration at the MemorySize the report gives; S3 and
    DynamoDB requests follow ``pipeline_requests`` (nothing records them per job).

    """
    functions = {}
    for name, function_reports in reports.items():
        lines = list(function_reports)
        if lines:
            functions[name] = FunctionUsage(
                invocations=len(lines),
                billed_ms=float(sum(r.billed_ms for r in lines)),
                memory_mb=max(r.memory_mb for r in lines),
            )
    return _modelled_usage(pages, functions, state_transitions, progress_reads=progress_reads)


def _modelled_usage(
    pages: int, functions: dict[str, FunctionUsage], state_transitions: int, *, progress_reads: int
) -> JobUsage:
    """A JobUsage with the S3, DynamoDB, EventBridge and SQS requests of pagefan's model of a job.

    The PDF's parts are counted as the PdfExporter's invocations less the merge.
    """
    pdf = functions.get("PdfExporter")
    requests = pipeline_requests(pages, pdf_parts=pdf.invocations - 1 if pdf and pdf.invocations > 1 else 0)
    return JobUsage(
        pages=pages,
        functions=functions,
        state_transitions=state_transitions,
        s3_puts=requests["s3_puts"],
        s3_gets=requests["s3_gets"],
        dynamodb_write_units=requests["dynamodb_write_units"],
        dynamodb_read_units=requests["dynamodb_read_units"] + progress_reads * progress_read_units(pages),
        eventbridge_events=requests["eventbridge_events"],
        sqs_requests=requests["sqs_requests"],
    )
