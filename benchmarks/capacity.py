"""Capacity model: how long and how much one big document, and a burst of small ones, take on AWS.

.venv/bin/python benchmarks/capacity.py            # prints the predictions (Markdown)
.venv/bin/python benchmarks/capacity.py --write    # and re-renders benchmarks/RESULTS.md (report.py)

A pure model, no AWS call and no timing of its own. It takes

- the per-stage costs ``make bench`` measured (benchmarks/results.json: split pages/s, worker, combine, SVG
  and PDF milliseconds per page, each handler's import as deployed), from the size nearest the document's;
- the template's settings (template.yaml's defaults: PageConcurrency, PollIntervalSeconds, PdfPagesPerPart,
  JobDeadlineSeconds, each function's MemorySize; the ASL's RenderPdfParts MaxConcurrency);
- AWS's published quotas (``QUOTAS``, one typed table, each with its documentation page);
- a few stated assumptions (``Assumptions``: request latencies, CPU equivalence, history sizes),

and predicts, stage by stage, when each stage ends and which limit binds it: for each stage, every limit
that applies gives the time the stage would take if that limit alone held it back, and the longest one is
the binding limit. ``knob_effects`` re-runs a scenario with one setting or quota changed, to show which
knob moves a prediction and by how much. Costs are priced by ``pagefan.local.client.cost`` (``job_cost`` with
``benchmarks/prices.json``), from the modelled durations and the request counts of
``pagefan.local.client.cost.pipeline_requests``; this design's page recording is one 1-WRU
``PutItem`` per page.

The design modelled: the Splitter (one invocation per upload) writes the page objects eight at a time,
creates the job and starts one DocumentJob execution; one PageWorker per page (S3-triggered, reserved
concurrency ``PageConcurrency``) reads its page, writes its result and puts its own page item (partition
key = job id); the execution polls with a ``Query`` (``Select: COUNT``, paginated at 1 MB) every
``PollIntervalSeconds``, then runs the Combiner, then the SvgExporter beside a Map of PDF parts
(``PdfPagesPerPart`` pages each) and a merge, then marks the job and publishes its event.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pagefan.aws.objects import READ_AHEAD, WRITE_CONCURRENCY
from pagefan.local.client.cost import FunctionUsage, JobCost, JobUsage, job_cost, pipeline_requests
from pagefan.local.client.prices import Prices
from pagefan.local.client.transitions import state_transitions
from pagefan.local.emulator.template import load_template

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


# --- AWS's published quotas ----------------------------------------------------------------------


@dataclass(frozen=True)
class Quota:
    """One AWS quota the model checks: its default value, where AWS publishes it, how it may change."""

    key: str
    what: str
    value: float
    unit: str
    source: str
    adjustable: str
    # False where the documentation excerpts searched did not show the figure itself: re-check it first.
    seen: bool = True


QUOTAS_TABLE: tuple[Quota, ...] = (
    # https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html
    # "By default, Lambda provides your account with a total concurrency limit of 1,000 concurrent
    # executions across all functions in an AWS Region."
    Quota(
        "lambda_account_concurrency",
        "Lambda concurrent executions per account and region",
        1000,
        "executions",
        "https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html",
        "quota increase (Service Quotas)",
    ),
    # https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
    # "You can reserve up to the Unreserved account concurrency value ... minus 100 for functions that
    # don't have reserved concurrency."
    Quota(
        "lambda_unreserved_minimum",
        "Lambda concurrency that must stay unreserved",
        100,
        "executions",
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html",
        "fixed",
    ),
    # https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html
    # "for each function, your concurrency scaling rate is 1,000 execution environment instances every
    # 10 seconds"
    Quota(
        "lambda_scaling_per_10s",
        "Lambda new execution environments per function every 10 s",
        1000,
        "environments / 10 s",
        "https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html",
        "fixed",
    ),
    # https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
    # "At 1,769 MB, a function has the equivalent of one vCPU (one vCPU-second of credits per second)."
    Quota(
        "lambda_mb_per_vcpu",
        "Lambda MemorySize that buys one vCPU (CPU share is proportional below it)",
        1769,
        "MB",
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html",
        "MemorySize",
    ),
    # https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
    # "For throttling errors (429) ... Lambda returns the event to the queue and attempts to run the function
    # again for up to 6 hours by default. The retry interval increases exponentially from 1 second after the
    # first attempt to a maximum of 5 minutes."
    Quota(
        "lambda_async_throttle_retry_s",
        "Lambda: longest wait before a throttled asynchronous event is retried (backoff from 1 s)",
        300,
        "s",
        "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html",
        "fixed (more concurrency avoids it)",
    ),
    # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html
    # "each individual partition is limited to 1,000 write units per second and 3,000 read units per second"
    Quota(
        "dynamodb_partition_wcu",
        "DynamoDB write units per second per partition (one partition key without split for heat)",
        1000,
        "WCU/s",
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html",
        "fixed (spread the key)",
    ),
    Quota(
        "dynamodb_partition_rcu",
        "DynamoDB read units per second per partition",
        3000,
        "RCU/s",
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html",
        "fixed (spread the key)",
    ),
    # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html
    # "Newly created on-demand tables can sustain up to 4,000 writes per second and 12,000 reads per second";
    # traffic up to double the previous peak is accommodated at once.
    Quota(
        "dynamodb_new_table_wcu",
        "DynamoDB new on-demand table: write units per second at once",
        4000,
        "WCU/s",
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html",
        "grows with the table's peak; warm throughput can be set",
    ),
    Quota(
        "dynamodb_new_table_rcu",
        "DynamoDB new on-demand table: read units per second at once",
        12000,
        "RCU/s",
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html",
        "grows with the table's peak; warm throughput can be set",
    ),
    # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.Other.html
    # A Query returns at most 1 MB per call; larger results are paginated (Count is then partial).
    Quota(
        "dynamodb_query_page_kb",
        "DynamoDB Query: data read per call before pagination",
        1024,
        "KB",
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.Other.html",
        "fixed",
    ),
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html (also quoted by
    # https://docs.aws.amazon.com/athena/latest/ug/performance-tuning-s3-throttling-reduce-throttling-at-the-service-level.html:
    # "Amazon S3 has a limit of 5500 GET requests per second per partitioned prefix")
    # "at least 3,500 PUT/COPY/POST/DELETE or 5,500 GET/HEAD requests per second per partitioned prefix";
    # S3 partitions a prefix further only after sustained load (503 SlowDown meanwhile).
    Quota(
        "s3_put_per_prefix",
        "S3 PUT requests per second per partitioned prefix",
        3500,
        "requests/s",
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html",
        "S3 partitions busy prefixes over time; spread keys",
    ),
    Quota(
        "s3_get_per_prefix",
        "S3 GET requests per second per partitioned prefix",
        5500,
        "requests/s",
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html",
        "S3 partitions busy prefixes over time; spread keys",
    ),
    # https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html, "Quotas related to state
    # throttling": StateTransition of Standard workflows, per account and region, a token bucket. The
    # searched excerpts of that page show the section and "New AWS accounts have reduced state transition
    # quotas", not the table's rows. DESIGN.md gives a refill of 800 per second outside us-east-1, us-west-2
    # and eu-west-1; the 5,000 (bucket and refill) of those three regions is not confirmed here: re-check.
    Quota(
        "sfn_transition_refill",
        "Step Functions Standard state transitions per second (refill; us-east-1, us-west-2, eu-west-1)",
        5000,
        "transitions/s",
        "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html",
        "quota increase; 800/s in other regions, less in new accounts",
        seen=False,
    ),
    Quota(
        "sfn_transition_bucket",
        "Step Functions Standard state transitions in the bucket (burst)",
        5000,
        "transitions",
        "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html",
        "quota increase; 800 in other regions",
        seen=False,
    ),
    # Same page, "Quotas related to API action throttling": StartExecution (Standard), a refill of 300 per
    # second in us-east-1, us-west-2 and eu-west-1 (150 elsewhere); not in the searched excerpts: re-check.
    Quota(
        "sfn_start_execution_refill",
        "Step Functions StartExecution calls per second (refill; us-east-1)",
        300,
        "calls/s",
        "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html",
        "quota increase; 150/s in smaller regions",
        seen=False,
    ),
    # https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html ("Maximum execution history
    # size: 25,000 events. If the execution history reaches this quota, the execution will fail.")
    Quota(
        "sfn_history_events",
        "Step Functions Standard execution history events",
        25000,
        "events",
        "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html",
        "fixed (continue as a new execution)",
    ),
    # https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html
    # "In this mode, the Map state supports up to 40 concurrent iterations."
    Quota(
        "sfn_inline_map_concurrency",
        "Step Functions inline Map concurrent iterations",
        40,
        "iterations",
        "https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html",
        "fixed (a distributed Map goes further)",
    ),
)

QUOTAS: dict[str, Quota] = {q.key: q for q in QUOTAS_TABLE}

SHORT_NAMES: dict[str, str] = {
    "lambda_account_concurrency": "Lambda account concurrency",
    "lambda_async_throttle_retry_s": "PageWorker throttled",
    "dynamodb_partition_wcu": "DynamoDB partition writes",
    "dynamodb_partition_rcu": "DynamoDB partition reads",
    "dynamodb_new_table_wcu": "DynamoDB table writes",
    "s3_put_per_prefix": "S3 PUTs per prefix",
    "s3_get_per_prefix": "S3 GETs per prefix",
    "sfn_transition_refill": "Step Functions transitions",
    "sfn_start_execution_refill": "StartExecution rate",
    "sfn_history_events": "execution history",
}


def quota_values(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """The quotas' values by key, with ``overrides`` (a quota increase, another region) applied."""
    values = {q.key: q.value for q in QUOTAS_TABLE}
    for key, value in (overrides or {}).items():
        if key not in values:
            raise KeyError(f"no quota {key!r}")
        values[key] = value
    return values


# --- inputs: measured costs, template settings, assumptions ----------------------------------------


@dataclass(frozen=True)
class Measured:
    """Per-stage costs ``make bench`` measured on one machine core (one size of its documents)."""

    pages: int
    split_pages_per_s: float
    worker_ms_per_page: float
    combine_ms_per_page: float
    svg_ms_per_page: float
    pdf_ms_per_page: float
    init_ms: Mapping[str, float]
    source: str = ""

    @classmethod
    def from_results(cls, results: Mapping[str, Any], pages: int) -> Measured:
        """The size of results.json nearest ``pages`` (combine ms spread per page); imports as deployed."""
        sizes = list(results["sizes"].values())
        size = min(sizes, key=lambda s: (abs(int(s["pages"]) - pages), -int(s["pages"])))
        init = {
            str(entry["function"]): float(entry.get("as_deployed", entry)["import_ms"])
            for entry in results.get("import_ms", {}).values()
        }
        return cls(
            pages=int(size["pages"]),
            split_pages_per_s=float(size["split_pages_per_s"]),
            worker_ms_per_page=float(size["worker_ms_per_page"]),
            combine_ms_per_page=float(size["combine_ms"]) / int(size["pages"]),
            svg_ms_per_page=float(size["svg_ms_per_page"]),
            pdf_ms_per_page=float(size["pdf_ms_per_page"]),
            init_ms=init,
            source=f"benchmarks/results.json, {size['pages']} pages ({results.get('generated_at', '?')})",
        )


@dataclass(frozen=True)
class Settings:
    """The deployment's knobs: template parameters, MemorySize, the ASL's Map concurrency, I/O in flight."""

    page_concurrency: int = 50
    poll_interval_s: int = 5
    pdf_pages_per_part: int = 50
    job_deadline_s: int = 3600
    pdf_map_concurrency: int = 10
    memory_mb: Mapping[str, int] = field(
        default_factory=lambda: {
            "Splitter": 1024,
            "PageWorker": 1024,
            "Combiner": 1024,
            "SvgExporter": 256,
            "PdfExporter": 2048,
        }
    )
    # pagefan.aws.objects: PUTs a writer keeps in flight, GETs a reader keeps ahead.
    writes_in_flight: int = WRITE_CONCURRENCY
    reads_ahead: int = READ_AHEAD

    @classmethod
    def from_template(cls, template_path: Path) -> Settings:
        """The template's parameter defaults, each function's MemorySize and the ASL's Map concurrency."""
        template = load_template(template_path)
        params = template.get("Parameters", {})

        def default(name: str, fallback: int) -> int:
            return int(params.get(name, {}).get("Default", fallback))

        memory: dict[str, int] = {}
        asl_path: Path | None = None
        for name, resource in template["Resources"].items():
            props = resource.get("Properties", {})
            if resource.get("Type") == "AWS::Serverless::Function" and "MemorySize" in props:
                memory[name] = int(props["MemorySize"])
            if resource.get("Type") == "AWS::Serverless::StateMachine" and isinstance(
                props.get("DefinitionUri"), str
            ):
                asl_path = template_path.parent / props["DefinitionUri"]
        map_concurrency = cls.pdf_map_concurrency
        if asl_path is not None:
            states = _all_states(json.loads(asl_path.read_text(encoding="utf-8")))
            maps = [s for s in states.values() if s.get("Type") == "Map" and "MaxConcurrency" in s]
            if maps:
                map_concurrency = int(maps[0]["MaxConcurrency"])
        return cls(
            page_concurrency=default("PageConcurrency", cls.page_concurrency),
            poll_interval_s=default("PollIntervalSeconds", cls.poll_interval_s),
            pdf_pages_per_part=default("PdfPagesPerPart", cls.pdf_pages_per_part),
            job_deadline_s=default("JobDeadlineSeconds", cls.job_deadline_s),
            pdf_map_concurrency=map_concurrency,
            memory_mb={**Settings().memory_mb, **memory},
        )


def _all_states(machine: Mapping[str, Any]) -> dict[str, Any]:
    states = dict(machine.get("States", {}))
    for state in list(states.values()):
        for branch in state.get("Branches", []):
            states.update(_all_states(branch))
        if "ItemProcessor" in state or "Iterator" in state:
            states.update(_all_states(state.get("ItemProcessor") or state["Iterator"]))
    return states


@dataclass(frozen=True)
class Assumptions:
    """What the model assumes where neither a measurement nor a published quota gives a figure."""

    # One core of the benchmark machine does as much as one Lambda vCPU; below 1,769 MB a function gets
    # MemorySize / 1,769 of one (1,024 MB: 0.58 vCPU), and single-threaded Python gains nothing above it.
    core_per_vcpu: float = 1.0
    # In-region request latencies for small objects and items (typical, not published by AWS).
    s3_get_s: float = 0.015
    s3_put_s: float = 0.025
    dynamodb_write_s: float = 0.010
    dynamodb_query_page_s: float = 0.020
    # From the object's PUT to its S3 event's Lambda invocation.
    s3_event_delay_s: float = 1.0
    # Step Functions' own time per state entered (scheduling, a service integration's round trip).
    sfn_state_s: float = 0.05
    # A page item (job id, page, status, timestamps): 1 WCU to write, read back by the poll's Query.
    page_item_kb: float = 0.3
    # The poll loop (Wait, StartCount, the Query task, AddPageCounts, MorePages, CheckProgress): history
    # events and state transitions per poll, and per extra Query page beyond the first (ASL loops on
    # LastEvaluatedKey); the state machine counts the same 8 + 9 per page against PollEventBudget.
    poll_events: int = 17
    poll_transitions: int = 6
    extra_query_page_events: int = 9
    extra_query_page_transitions: int = 3
    # Events outside the poll loop: the fixed states, and each Map iteration (entered, scheduled, started,
    # succeeded, exited, iteration started and succeeded).
    fixed_events: int = 60
    map_iteration_events: int = 7


# --- the model -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bound:
    """How long a stage would take if this limit alone held it back."""

    limit: str
    seconds: float


@dataclass(frozen=True)
class Stage:
    """One stage of a scenario: when it starts and ends, and the limit that binds it."""

    name: str
    start_s: float
    end_s: float
    bounds: tuple[Bound, ...]
    fixed_s: float = 0.0

    @property
    def seconds(self) -> float:
        """The stage's duration."""
        return self.end_s - self.start_s

    @property
    def binding(self) -> Bound:
        """The limit that holds the stage back most."""
        return max(self.bounds, key=lambda b: b.seconds)

    @property
    def runner_up(self) -> Bound | None:
        """The next limit: what binds once the binding one is lifted."""
        rest = sorted(self.bounds, key=lambda b: b.seconds, reverse=True)[1:]
        return rest[0] if rest else None


@dataclass(frozen=True)
class Check:
    """One quota against the scenario's peak demand on it."""

    quota: str
    demand: float
    limit: float
    unit: str
    note: str = ""
    label: str = ""

    @property
    def what(self) -> str:
        """What is checked: the label, or the quota's own description."""
        return self.label or QUOTAS[self.quota].what

    @property
    def utilisation(self) -> float:
        """Demand over limit: above 1 the quota throttles or refuses."""
        return self.demand / self.limit if self.limit else math.inf


@dataclass(frozen=True)
class Prediction:
    """A scenario's stages, end-to-end time, quota checks and bill."""

    scenario: str
    documents: int
    pages_per_document: int
    stages: tuple[Stage, ...]
    checks: tuple[Check, ...]
    cost: JobCost
    notes: tuple[str, ...] = ()

    @property
    def end_to_end_s(self) -> float:
        """From the first upload to the last document COMPLETED."""
        return max(s.end_s for s in self.stages)

    def stage(self, name: str) -> Stage:
        """The stage called ``name``."""
        return next(s for s in self.stages if s.name == name)


def cpu_factor(memory_mb: int, assumptions: Assumptions, quotas: Mapping[str, float]) -> float:
    """How many times longer CPU work takes at ``memory_mb`` than on one benchmark core."""
    vcpu = min(1.0, memory_mb / quotas["lambda_mb_per_vcpu"])
    return 1.0 / (vcpu * assumptions.core_per_vcpu)


def page_seconds(
    measured: Measured, settings: Settings, assumptions: Assumptions, quotas: Mapping[str, float]
) -> float:
    """One PageWorker invocation: analysis at its CPU share, GET page, PUT result, PutItem page item."""
    cpu = (
        measured.worker_ms_per_page / 1000 * cpu_factor(settings.memory_mb["PageWorker"], assumptions, quotas)
    )
    return cpu + assumptions.s3_get_s + assumptions.s3_put_s + assumptions.dynamodb_write_s


def query_pages(pages: int, assumptions: Assumptions, quotas: Mapping[str, float]) -> int:
    """Query calls one progress read takes: the job's page items, 1 MB a call."""
    return max(1, math.ceil(pages * assumptions.page_item_kb / quotas["dynamodb_query_page_kb"]))


def poll_read_units(pages: int, assumptions: Assumptions, quotas: Mapping[str, float]) -> int:
    """Read units of one strongly consistent progress read (each call's items summed, rounded up to 4 KB)."""
    calls = query_pages(pages, assumptions, quotas)
    per_call = min(pages, math.floor(quotas["dynamodb_query_page_kb"] / assumptions.page_item_kb))
    units = 0
    left = pages
    for _ in range(calls):
        items = min(left, per_call)
        units += max(1, math.ceil(items * assumptions.page_item_kb / 4))
        left -= items
    return units


def transitions_per_poll(pages: int, assumptions: Assumptions, quotas: Mapping[str, float]) -> int:
    """State transitions of one pass of the poll loop (more Query pages, more states)."""
    extra = query_pages(pages, assumptions, quotas) - 1
    return assumptions.poll_transitions + assumptions.extra_query_page_transitions * extra


def events_per_poll(pages: int, assumptions: Assumptions, quotas: Mapping[str, float]) -> int:
    """History events of one pass of the poll loop."""
    extra = query_pages(pages, assumptions, quotas) - 1
    return assumptions.poll_events + assumptions.extra_query_page_events * extra


def pdf_parts(pages: int, settings: Settings) -> int:
    """PDF parts of a document (the Map's items)."""
    return math.ceil(pages / settings.pdf_pages_per_part)


@dataclass(frozen=True)
class _Document:
    """One document's stage durations and bounds, before any queueing with others."""

    split: Stage
    combine: Stage
    export: Stage
    page_s: float
    part_s: float
    merge_s: float
    svg_s: float


def _document(
    pages: int, measured: Measured, settings: Settings, a: Assumptions, q: Mapping[str, float]
) -> _Document:
    mem = settings.memory_mb
    init = {name: ms / 1000 for name, ms in measured.init_ms.items()}
    writes, reads = settings.writes_in_flight, settings.reads_ahead

    f_split = cpu_factor(mem["Splitter"], a, q)
    split_fixed = init.get("Splitter", 0.0) + a.s3_get_s + 2 * a.dynamodb_write_s + a.sfn_state_s
    split = Stage(
        "Splitter",
        0.0,
        0.0,
        (
            Bound(
                f"Splitter CPU ({mem['Splitter']} MB = {1 / f_split:.2f} vCPU)",
                pages / measured.split_pages_per_s * f_split,
            ),
            Bound(f"Splitter PUTs ({writes} in flight)", pages * a.s3_put_s / writes),
        ),
        split_fixed,
    )

    f_comb = cpu_factor(mem["Combiner"], a, q)
    combine = Stage(
        "Combiner",
        0.0,
        0.0,
        (
            Bound(
                f"Combiner CPU ({mem['Combiner']} MB = {1 / f_comb:.2f} vCPU)",
                pages * measured.combine_ms_per_page / 1000 * f_comb,
            ),
            Bound(f"Combiner GETs ({reads} ahead)", pages * a.s3_get_s / reads),
        ),
        init.get("Combiner", 0.0) + a.s3_get_s + 2 * a.s3_put_s + a.sfn_state_s,
    )

    f_svg = cpu_factor(mem["SvgExporter"], a, q)
    svg_bounds = (
        Bound(
            f"SvgExporter CPU ({mem['SvgExporter']} MB = {1 / f_svg:.2f} vCPU)",
            pages * measured.svg_ms_per_page / 1000 * f_svg,
        ),
        Bound(f"SvgExporter GETs ({reads} ahead)", pages * a.s3_get_s / reads),
        Bound(f"SvgExporter PUTs ({writes} in flight)", pages * a.s3_put_s / writes),
    )
    svg_fixed = init.get("SvgExporter", 0.0) + a.s3_get_s + a.sfn_state_s
    svg_s = svg_fixed + max(b.seconds for b in svg_bounds)

    parts = pdf_parts(pages, settings)
    per_part = min(pages, settings.pdf_pages_per_part)
    f_pdf = cpu_factor(mem["PdfExporter"], a, q)
    # pdf_ms_per_page is the sequential sum of the parts and the merge (bench.py).
    part_s = (
        per_part * measured.pdf_ms_per_page / 1000 * f_pdf
        + per_part * a.s3_get_s / reads
        + a.s3_get_s
        + a.s3_put_s
        + a.sfn_state_s
    )
    merge_s = a.s3_get_s + parts * a.s3_get_s / reads + a.s3_put_s + a.sfn_state_s
    at_once = min(settings.pdf_map_concurrency, int(q["sfn_inline_map_concurrency"]), parts)
    waves = math.ceil(parts / at_once)
    if settings.pdf_map_concurrency > q["sfn_inline_map_concurrency"] and parts > at_once:
        map_limit = f"inline Map: {q['sfn_inline_map_concurrency']:.0f} iterations at a time (quota)"
    elif parts > at_once:
        map_limit = f"PDF parts: Map MaxConcurrency {settings.pdf_map_concurrency} ({parts} parts)"
    else:
        map_limit = f"PDF part of PdfPagesPerPart {settings.pdf_pages_per_part} pages (CPU, 1 wave)"
    pdf_fixed = init.get("PdfExporter", 0.0) + merge_s
    pdf_s = pdf_fixed + waves * part_s
    export = Stage(
        "Export",
        0.0,
        0.0,
        (
            *(Bound(b.limit, b.seconds + svg_fixed) for b in svg_bounds),
            Bound(map_limit, pdf_s),
        ),
        a.sfn_state_s,
    )
    return _Document(
        split=split,
        combine=combine,
        export=export,
        page_s=page_seconds(measured, settings, a, q),
        part_s=part_s,
        merge_s=merge_s,
        svg_s=svg_s,
    )


def _placed(stage: Stage, start: float) -> Stage:
    """The stage starting at ``start``: its fixed time plus its binding bound."""
    return replace(stage, start_s=start, end_s=start + stage.fixed_s + stage.binding.seconds)


def _effective_concurrency(settings: Settings, q: Mapping[str, float]) -> tuple[int, str]:
    """PageConcurrency as deployable: reserved concurrency leaves 100 of the account unreserved."""
    reservable = int(q["lambda_account_concurrency"] - q["lambda_unreserved_minimum"])
    if settings.page_concurrency > reservable:
        return (
            reservable,
            f"account concurrency {q['lambda_account_concurrency']:.0f} (at most {reservable} reservable)",
        )
    return settings.page_concurrency, f"PageConcurrency {settings.page_concurrency} (reserved concurrency)"


def _scaling_ramp_s(concurrency: int, q: Mapping[str, float]) -> float:
    """Seconds before a function reaches ``concurrency`` environments (1,000 at once, 1,000 more per 10 s)."""
    step = q["lambda_scaling_per_10s"]
    return max(0.0, math.ceil(concurrency / step) - 1) * 10.0


def _usage(
    documents: int,
    pages: int,
    doc: _Document,
    polls: int,
    environments: Mapping[str, int],
    measured: Measured,
    settings: Settings,
    a: Assumptions,
    q: Mapping[str, float],
    asl: Mapping[str, Any],
) -> JobUsage:
    """What ``documents`` documents of ``pages`` pages are billed for, with the cost module's counts."""
    parts = pdf_parts(pages, settings)
    init = measured.init_ms

    def billed(name: str, invocations: int, seconds: float) -> FunctionUsage:
        cold = environments.get(name, invocations)
        ms = invocations * seconds * 1000 + cold * init.get(name, 0.0)
        # Lambda rounds each invocation up to the next millisecond: half a millisecond on average.
        return FunctionUsage(invocations, ms + 0.5 * invocations, settings.memory_mb[name])

    split_s = doc.split.fixed_s + doc.split.binding.seconds - init.get("Splitter", 0.0) / 1000
    combine_s = doc.combine.fixed_s + doc.combine.binding.seconds - init.get("Combiner", 0.0) / 1000
    functions = {
        "Splitter": billed("Splitter", documents, split_s),
        "PageWorker": billed("PageWorker", documents * pages, doc.page_s),
        "Combiner": billed("Combiner", documents, combine_s),
        "SvgExporter": billed("SvgExporter", documents, doc.svg_s - init.get("SvgExporter", 0.0) / 1000),
        "PdfExporter": billed(
            "PdfExporter",
            documents * (parts + 1),
            (parts * doc.part_s + doc.merge_s) / (parts + 1),
        ),
    }
    requests = pipeline_requests(pages, pdf_parts=parts)
    # This design records a page with one PutItem of its own item (1 WRU), not a transaction: the job's
    # own writes are pipeline_requests' writes of a job without pages.
    job_writes = pipeline_requests(0, pdf_parts=0)["dynamodb_write_units"]
    # The states outside the poll loop, walked in the ASL; the loop and the Map's items counted here.
    one_poll = state_transitions(asl, polls=1)
    loop = state_transitions(asl, polls=2) - one_poll
    transitions = one_poll - loop + polls * transitions_per_poll(pages, a, q) + (parts - 1)
    return JobUsage(
        pages=documents * pages,
        functions=functions,
        s3_puts=documents * requests["s3_puts"],
        s3_gets=documents * requests["s3_gets"],
        state_transitions=documents * transitions,
        dynamodb_write_units=documents * (job_writes + pages),
        dynamodb_read_units=documents
        * (requests["dynamodb_read_units"] + polls * poll_read_units(pages, a, q)),
        eventbridge_events=documents * requests["eventbridge_events"],
        sqs_requests=documents * requests["sqs_requests"],
    )


def _history_check(
    pages: int, polls: int, settings: Settings, a: Assumptions, q: Mapping[str, float]
) -> Check:
    per_poll = events_per_poll(pages, a, q)
    fixed = a.fixed_events + a.map_iteration_events * pdf_parts(pages, settings)
    at_deadline = fixed + per_poll * math.ceil(settings.job_deadline_s / settings.poll_interval_s)
    return Check(
        "sfn_history_events",
        fixed + per_poll * polls,
        q["sfn_history_events"],
        "events",
        f"{per_poll} events per poll; polling until JobDeadlineSeconds ({settings.job_deadline_s} s) would "
        f"reach {at_deadline:,}"
        + (" (the execution continues as a new one first)" if at_deadline > q["sfn_history_events"] else ""),
    )


def _throttle_check(arriving: float, served: float, q: Mapping[str, float]) -> Check:
    """Pages arriving at the PageWorker against what its concurrency serves; above it, events throttle."""
    note = "S3 events arriving against what the PageWorker's concurrency serves"
    if arriving > served:
        note += (
            "; throttled events come back after 1 s, 2 s, ... up to "
            f"{q['lambda_async_throttle_retry_s']:.0f} s, so the backlog's last pages can land minutes "
            "after the modelled end"
        )
    return Check(
        "lambda_async_throttle_retry_s",
        arriving,
        served,
        "pages/s",
        note,
        label="PageWorker: pages arriving / pages served at its concurrency",
    )


def _rates_note(
    doc: _Document, measured: Measured, settings: Settings, concurrency: int, split_rate: float
) -> str:
    return (
        f"PageWorker on Lambda: {doc.page_s * 1000:.0f} ms a page ({measured.worker_ms_per_page:.1f} ms of "
        f"analysis measured, at {settings.memory_mb['PageWorker']} MB's CPU share, plus GET, PUT and "
        "PutItem), "
        f"so {concurrency} environments serve {concurrency / doc.page_s:,.0f} pages/s; one Splitter writes "
        f"{split_rate:,.0f} pages/s."
    )


def predict_document(
    pages: int,
    measured: Measured,
    settings: Settings,
    prices: Prices,
    asl: Mapping[str, Any],
    *,
    assumptions: Assumptions | None = None,
    quota_overrides: Mapping[str, float] | None = None,
) -> Prediction:
    """Scenario (a): one document of ``pages`` pages alone in the account."""
    a = assumptions or Assumptions()
    q = quota_values(quota_overrides)
    doc = _document(pages, measured, settings, a, q)
    concurrency, concurrency_limit = _effective_concurrency(settings, q)
    page_init = measured.init_ms.get("PageWorker", 0.0) / 1000

    upload = Stage(
        "S3 event to the Splitter", 0.0, a.s3_event_delay_s, (Bound("S3 event delivery", a.s3_event_delay_s),)
    )
    split = _placed(doc.split, upload.end_s)
    # Pages run while the Splitter writes them; each bound is the time from the first page object on.
    page_bounds = (
        *(Bound(b.limit, b.seconds) for b in doc.split.bounds),
        Bound(concurrency_limit, pages * doc.page_s / concurrency + _scaling_ramp_s(concurrency, q)),
        Bound(
            f"DynamoDB partition {q['dynamodb_partition_wcu']:.0f} WCU/s (one job = one partition key)",
            pages / q["dynamodb_partition_wcu"],
        ),
        Bound(
            f"S3 {q['s3_put_per_prefix']:.0f} PUT/s per prefix (pages and results, work bucket)",
            2 * pages / q["s3_put_per_prefix"],
        ),
        Bound(f"S3 {q['s3_get_per_prefix']:.0f} GET/s per prefix", pages / q["s3_get_per_prefix"]),
    )
    pages_start = upload.end_s + doc.split.fixed_s
    pages_stage = Stage(
        "Pages recorded",
        pages_start,
        pages_start + max(b.seconds for b in page_bounds) + a.s3_event_delay_s + page_init + doc.page_s,
        page_bounds,
        a.s3_event_delay_s + page_init + doc.page_s,
    )
    poll, polls = _poll_stage(pages, split.end_s, pages_stage.end_s, settings.poll_interval_s, 1.0, a, q)
    combine = _placed(doc.combine, poll.end_s)
    export = _placed(doc.export, combine.end_s)
    finish = Stage(
        "MarkCompleted and event",
        export.end_s,
        export.end_s + 2 * a.sfn_state_s + a.dynamodb_write_s,
        (Bound("two states", 2 * a.sfn_state_s + a.dynamodb_write_s),),
    )
    page_rate = pages / max(b.seconds for b in page_bounds)
    parts = pdf_parts(pages, settings)
    checks = (
        Check(
            "lambda_account_concurrency",
            min(concurrency, pages) + 1 + min(parts, settings.pdf_map_concurrency, 40) + 1,
            q["lambda_account_concurrency"],
            "executions",
            "PageWorker environments, Splitter, PDF parts and SvgExporter at their peak",
        ),
        Check(
            "dynamodb_partition_wcu", page_rate, q["dynamodb_partition_wcu"], "WCU/s", "page items of one job"
        ),
        Check(
            "dynamodb_partition_rcu",
            poll_read_units(pages, a, q),
            q["dynamodb_partition_rcu"],
            "RCU/s",
            "a poll reads every page item, strongly consistent, within a second (then none until the next)",
        ),
        Check(
            "s3_put_per_prefix",
            2 * page_rate,
            q["s3_put_per_prefix"],
            "requests/s",
            "page objects and results",
        ),
        Check("s3_get_per_prefix", page_rate, q["s3_get_per_prefix"], "requests/s", "PageWorkers' GETs"),
        _history_check(pages, polls, settings, a, q),
        _throttle_check(pages / doc.split.binding.seconds, concurrency / doc.page_s, q),
    )
    environments = {
        "PageWorker": min(concurrency, pages),
        "PdfExporter": min(parts, settings.pdf_map_concurrency) + 1,
    }
    usage = _usage(1, pages, doc, polls, environments, measured, settings, a, q, asl)
    return Prediction(
        scenario=f"one document of {pages:,} pages",
        documents=1,
        pages_per_document=pages,
        stages=(upload, split, pages_stage, poll, combine, export, finish),
        checks=checks,
        cost=job_cost(usage, prices),
        notes=(
            f"Measured costs: {measured.source}.",
            _rates_note(doc, measured, settings, concurrency, pages / doc.split.binding.seconds),
        ),
    )


def _poll_stage(
    pages: int,
    execution_start: float,
    pages_done: float,
    poll_interval_s: int,
    stretch: float,
    a: Assumptions,
    q: Mapping[str, float],
) -> tuple[Stage, int]:
    """The poll that first sees every page recorded: the loop waits first, then reads, every interval."""
    interval = poll_interval_s * stretch
    polls = max(1, math.ceil((pages_done - execution_start) / interval))
    read = (
        query_pages(pages, a, q) * a.dynamodb_query_page_s + transitions_per_poll(pages, a, q) * a.sfn_state_s
    )
    end = execution_start + polls * interval + read
    limit = f"PollIntervalSeconds {poll_interval_s}"
    if stretch > 1:
        limit += f" stretched x{stretch:.2f} by state-transition throttling"
    return (
        Stage(
            "Progress seen (poll)",
            pages_done,
            max(end, pages_done),
            (Bound(limit, max(0.0, end - pages_done)),),
        ),
        polls,
    )


def predict_burst(
    documents: int,
    pages: int,
    window_s: float,
    measured: Measured,
    settings: Settings,
    prices: Prices,
    asl: Mapping[str, Any],
    *,
    assumptions: Assumptions | None = None,
    quota_overrides: Mapping[str, float] | None = None,
) -> Prediction:
    """Scenario (b): ``documents`` documents of ``pages`` pages uploaded evenly within ``window_s``.

    The pages of all documents share the PageWorker's reserved concurrency, the work bucket's request
    rates and the table's throughput; each execution polls on its own, and all of them share the
    account's state-transition bucket. The stages are those of the last document uploaded.
    """
    a = assumptions or Assumptions()
    q = quota_values(quota_overrides)
    doc = _document(pages, measured, settings, a, q)
    concurrency, concurrency_limit = _effective_concurrency(settings, q)
    total = documents * pages
    doc_rate = documents / window_s
    page_init = measured.init_ms.get("PageWorker", 0.0) / 1000
    split_s = doc.split.fixed_s + doc.split.binding.seconds
    job_writes = pipeline_requests(0, pdf_parts=0)["dynamodb_write_units"]

    last_upload = window_s * (documents - 1) / documents
    upload = Stage(
        "Uploads (the last one)",
        0.0,
        last_upload + a.s3_event_delay_s,
        (Bound(f"{documents:,} uploads within {window_s:.0f} s", last_upload + a.s3_event_delay_s),),
    )
    split = _placed(doc.split, upload.end_s)
    # All pages of the burst through the shared limits, from the first page object on.
    page_bounds = (
        Bound(f"{documents:,} uploads within {window_s:.0f} s", last_upload + split_s),
        Bound(concurrency_limit, total * doc.page_s / concurrency + _scaling_ramp_s(concurrency, q)),
        Bound(
            f"DynamoDB new on-demand table {q['dynamodb_new_table_wcu']:.0f} WCU/s",
            documents * (pages + job_writes) / q["dynamodb_new_table_wcu"],
        ),
        Bound(
            f"S3 {q['s3_put_per_prefix']:.0f} PUT/s per prefix (pages and results, work bucket)",
            2 * total / q["s3_put_per_prefix"],
        ),
        Bound(
            f"S3 {q['s3_get_per_prefix']:.0f} GET/s per prefix (PageWorkers)", total / q["s3_get_per_prefix"]
        ),
    )
    tail = a.s3_event_delay_s + page_init + doc.page_s
    pages_start = a.s3_event_delay_s + doc.split.fixed_s
    pages_stage = Stage(
        "Pages recorded (all documents)",
        pages_start,
        pages_start + max(b.seconds for b in page_bounds) + tail,
        page_bounds,
        tail,
    )
    page_rate = total / max(b.seconds for b in page_bounds)

    # Executions alive at once: each lives from its split to its completion, plus the page backlog.
    unloaded = doc.split.fixed_s + doc.split.binding.seconds + tail + settings.poll_interval_s
    unloaded += (
        doc.combine.fixed_s + doc.combine.binding.seconds + doc.export.fixed_s + doc.export.binding.seconds
    )
    backlog = max(0.0, pages_stage.end_s - (last_upload + a.s3_event_delay_s + split_s + tail))
    alive = min(documents, math.ceil(doc_rate * (unloaded + backlog)))
    per_poll = transitions_per_poll(pages, a, q)
    one_poll = state_transitions(asl, polls=1)
    fixed_transitions = (
        one_poll - (state_transitions(asl, polls=2) - one_poll) + pdf_parts(pages, settings) - 1
    )
    demand = alive * per_poll / settings.poll_interval_s + doc_rate * fixed_transitions
    refill, bucket = q["sfn_transition_refill"], q["sfn_transition_bucket"]
    busy_s = pages_stage.end_s
    stretch = 1.0
    if demand > refill and bucket / (demand - refill) < busy_s:
        stretch = demand / refill
    worst_demand = documents * per_poll / settings.poll_interval_s

    poll, polls = _poll_stage(pages, split.end_s, pages_stage.end_s, settings.poll_interval_s, stretch, a, q)
    combine = _placed(doc.combine, poll.end_s)
    export = _placed(doc.export, combine.end_s)
    finish = Stage(
        "MarkCompleted and event",
        export.end_s,
        export.end_s + 2 * a.sfn_state_s + a.dynamodb_write_s,
        (Bound("two states", 2 * a.sfn_state_s + a.dynamodb_write_s),),
    )
    parts = pdf_parts(pages, settings)
    others = doc_rate * (split_s + doc.combine.fixed_s + doc.combine.binding.seconds + doc.svg_s)
    others += doc_rate * (parts * doc.part_s + doc.merge_s)
    reads_per_page = 4  # PageWorker, Combiner, SvgExporter and the PDF part read every page result or page
    checks = (
        Check(
            "lambda_account_concurrency",
            concurrency + others,
            q["lambda_account_concurrency"],
            "executions",
            f"PageWorker's {concurrency} reserved plus {others:.0f} Splitter, Combiner and exporter "
            "invocations at once",
        ),
        Check(
            "dynamodb_new_table_wcu",
            page_rate + doc_rate * job_writes,
            q["dynamodb_new_table_wcu"],
            "WCU/s",
            "page items and job writes, whole table",
        ),
        Check(
            "dynamodb_partition_wcu",
            min(float(pages), page_rate, concurrency / doc.page_s),
            q["dynamodb_partition_wcu"],
            "WCU/s",
            "one job's page items in its busiest second",
        ),
        Check(
            "s3_put_per_prefix",
            2 * page_rate,
            q["s3_put_per_prefix"],
            "requests/s",
            "page objects and results",
        ),
        Check(
            "s3_get_per_prefix",
            reads_per_page * min(page_rate, doc_rate * pages),
            q["s3_get_per_prefix"],
            "requests/s",
            "pages, and page results read by the Combiner and both exporters",
        ),
        Check(
            "sfn_transition_refill",
            demand,
            refill,
            "transitions/s",
            f"{alive:,} executions alive at once (modelled), each {per_poll} transitions per "
            f"{settings.poll_interval_s} s poll; all {documents:,} at once would need {worst_demand:,.0f}/s",
        ),
        Check(
            "sfn_start_execution_refill",
            doc_rate,
            q["sfn_start_execution_refill"],
            "calls/s",
            "one per upload",
        ),
        _history_check(pages, polls, settings, a, q),
        _throttle_check(total / window_s, concurrency / doc.page_s, q),
    )
    environments = {
        "PageWorker": min(concurrency, total),
        "Splitter": max(1, math.ceil(doc_rate * split_s)),
        "Combiner": max(1, math.ceil(doc_rate * (doc.combine.fixed_s + doc.combine.binding.seconds))),
        "SvgExporter": max(1, math.ceil(doc_rate * doc.svg_s)),
        "PdfExporter": max(1, math.ceil(doc_rate * (parts * doc.part_s + doc.merge_s))),
    }
    # The page backlog grows through the burst: the first document polls as if alone, the last one
    # longest; in between, linearly.
    first_wait = tail + pages * doc.page_s / min(concurrency, pages)
    polls_first = max(1, math.ceil(first_wait / (settings.poll_interval_s * stretch)))
    mean_polls = math.ceil((polls_first + polls) / 2)
    usage = _usage(documents, pages, doc, mean_polls, environments, measured, settings, a, q, asl)
    return Prediction(
        scenario=f"{documents:,} documents of {pages} pages uploaded within {window_s:.0f} s",
        documents=documents,
        pages_per_document=pages,
        stages=(upload, split, pages_stage, poll, combine, export, finish),
        checks=checks,
        cost=job_cost(usage, prices),
        notes=(
            f"Measured costs: {measured.source}.",
            _rates_note(doc, measured, settings, concurrency, pages / doc.split.binding.seconds),
            "Stages after the pages are those of the last document uploaded; its pages are the last ones "
            "recorded (S3 events are served roughly in order).",
        ),
    )


# --- knobs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Knob:
    """One change to try (a template parameter, a code constant, a quota) and the stage it aims at."""

    label: str
    stage: str
    settings: Callable[[Settings], Settings] = lambda s: s
    quotas: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class KnobEffect:
    """A scenario before and after one knob: end to end, cost, the stage aimed at and what binds it after."""

    knob: str
    before_s: float
    after_s: float
    before_usd: float
    after_usd: float
    stage: str
    stage_before_s: float
    stage_after_s: float
    binding_after: str
    over_quota_after: tuple[str, ...] = ()


def knob_effects(
    base: Prediction,
    knobs: Iterable[Knob],
    rerun: Callable[[Settings, Mapping[str, float]], Prediction],
    settings: Settings,
) -> list[KnobEffect]:
    """Re-run the scenario with each knob (from ``settings``); report its stage and what binds it now."""
    effects = []
    for knob in knobs:
        after = rerun(knob.settings(settings), knob.quotas)
        stage = after.stage(knob.stage)
        effects.append(
            KnobEffect(
                knob=knob.label,
                before_s=base.end_to_end_s,
                after_s=after.end_to_end_s,
                before_usd=base.cost.total_usd,
                after_usd=after.cost.total_usd,
                stage=knob.stage,
                stage_before_s=base.stage(knob.stage).seconds,
                stage_after_s=stage.seconds,
                binding_after=stage.binding.limit,
                over_quota_after=tuple(
                    SHORT_NAMES.get(c.quota, c.quota) for c in after.checks if c.utilisation > 1
                ),
            )
        )
    return effects


def _with_memory(name: str, mb: int) -> Callable[[Settings], Settings]:
    return lambda s: replace(s, memory_mb={**s.memory_mb, name: mb})


def _both(*changes: Callable[[Settings], Settings]) -> Callable[[Settings], Settings]:
    def apply(s: Settings) -> Settings:
        for change in changes:
            s = change(s)
        return s

    return apply


_OTHER_REGION = {"sfn_transition_refill": 800.0, "sfn_transition_bucket": 800.0}

DOCUMENT_KNOBS: tuple[Knob, ...] = (
    Knob("PageConcurrency 50 → 200", "Pages recorded", lambda s: replace(s, page_concurrency=200)),
    Knob("PageConcurrency 50 → 10", "Pages recorded", lambda s: replace(s, page_concurrency=10)),
    Knob(
        "Splitter PUTs in flight 8 → 32 (WRITE_CONCURRENCY)",
        "Pages recorded",
        lambda s: replace(s, writes_in_flight=32),
    ),
    Knob(
        "Splitter 32 PUTs in flight and MemorySize 1024 → 1769 (one vCPU)",
        "Pages recorded",
        _both(lambda s: replace(s, writes_in_flight=32), _with_memory("Splitter", 1769)),
    ),
    Knob(
        "those two and PageConcurrency 50 → 200",
        "Pages recorded",
        _both(
            lambda s: replace(s, writes_in_flight=32, page_concurrency=200),
            _with_memory("Splitter", 1769),
        ),
    ),
    Knob("Combiner MemorySize 1024 → 1769", "Combiner", _with_memory("Combiner", 1769)),
    Knob(
        "RenderPdfParts MaxConcurrency 10 → 40 (ASL; the inline Map's quota)",
        "Export",
        lambda s: replace(s, pdf_map_concurrency=40),
    ),
    Knob(
        "MaxConcurrency 40 and SvgExporter MemorySize 256 → 1024",
        "Export",
        _both(lambda s: replace(s, pdf_map_concurrency=40), _with_memory("SvgExporter", 1024)),
    ),
    Knob("PdfPagesPerPart 50 → 25", "Export", lambda s: replace(s, pdf_pages_per_part=25)),
    Knob("PollIntervalSeconds 5 → 2", "Progress seen (poll)", lambda s: replace(s, poll_interval_s=2)),
)

BURST_KNOBS: tuple[Knob, ...] = (
    Knob(
        "PageConcurrency 50 → 200",
        "Pages recorded (all documents)",
        lambda s: replace(s, page_concurrency=200),
    ),
    Knob(
        "PageConcurrency 50 → 900 (all that is reservable)",
        "Pages recorded (all documents)",
        lambda s: replace(s, page_concurrency=900),
    ),
    Knob(
        "PageConcurrency 900 and account concurrency 1,000 → 2,000 (quota increase)",
        "Pages recorded (all documents)",
        lambda s: replace(s, page_concurrency=900),
        {"lambda_account_concurrency": 2000.0},
    ),
    Knob(
        "PageConcurrency 50 → 20", "Pages recorded (all documents)", lambda s: replace(s, page_concurrency=20)
    ),
    Knob("PollIntervalSeconds 5 → 10", "Progress seen (poll)", lambda s: replace(s, poll_interval_s=10)),
    Knob("PdfPagesPerPart 50 → 10", "Export", lambda s: replace(s, pdf_pages_per_part=10)),
    Knob(
        "a region with 800 transitions/s",
        "Progress seen (poll)",
        quotas=_OTHER_REGION,
    ),
    Knob(
        "a region with 800 transitions/s, PageConcurrency 20 (every execution polls through the backlog)",
        "Progress seen (poll)",
        lambda s: replace(s, page_concurrency=20),
        _OTHER_REGION,
    ),
    Knob(
        "the same, PollIntervalSeconds 5 → 10",
        "Progress seen (poll)",
        lambda s: replace(s, page_concurrency=20, poll_interval_s=10),
        _OTHER_REGION,
    ),
)


# --- the report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Both scenarios with their knobs, and the inputs they came from."""

    document: Prediction
    document_knobs: list[KnobEffect]
    burst: Prediction
    burst_knobs: list[KnobEffect]
    settings: Settings
    assumptions: Assumptions


def plan(results: Mapping[str, Any], *, root: Path = ROOT) -> Plan:
    """Both scenarios of issue 13 from bench results, the template at ``root`` and its prices."""
    settings = Settings.from_template(root / "template.yaml")
    prices = Prices.load(root / "benchmarks" / "prices.json")
    asl = json.loads((root / "statemachine" / "document_job.asl.json").read_text(encoding="utf-8"))
    assumptions = Assumptions()
    big = Measured.from_results(results, 10_000)
    small = Measured.from_results(results, 50)

    def document(s: Settings, quotas: Mapping[str, float]) -> Prediction:
        return predict_document(10_000, big, s, prices, asl, assumptions=assumptions, quota_overrides=quotas)

    def burst(s: Settings, quotas: Mapping[str, float]) -> Prediction:
        return predict_burst(
            1000, 50, 60.0, small, s, prices, asl, assumptions=assumptions, quota_overrides=quotas
        )

    doc = document(settings, {})
    many = burst(settings, {})
    return Plan(
        document=doc,
        document_knobs=knob_effects(doc, DOCUMENT_KNOBS, document, settings),
        burst=many,
        burst_knobs=knob_effects(many, BURST_KNOBS, burst, settings),
        settings=settings,
        assumptions=assumptions,
    )


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _duration(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds:.0f} s ({seconds / 60:.1f} min)"
    return f"{seconds:.1f} s"


def _prediction_lines(p: Prediction, knobs: list[KnobEffect]) -> list[str]:
    out = [
        f"### {p.scenario[0].upper()}{p.scenario[1:]}",
        "",
        f"**{_duration(p.end_to_end_s)} end to end, ${p.cost.total_usd:.4f}** "
        f"(${p.cost.per_1000_pages_usd:.4f} per 1,000 pages).",
        "",
        *_table(
            ["stage", "starts s", "ends s", "takes", "binding limit", "next limit"],
            [
                [
                    s.name,
                    f"{s.start_s:.1f}",
                    f"{s.end_s:.1f}",
                    _duration(s.seconds),
                    f"{s.binding.limit} ({s.binding.seconds:.1f} s)",
                    f"{s.runner_up.limit} ({s.runner_up.seconds:.1f} s)" if s.runner_up else "",
                ]
                for s in p.stages
            ],
        ),
        "",
        "Quotas at the scenario's peak:",
        "",
        *_table(
            ["quota", "demand", "limit", "use", "what"],
            [
                [
                    c.what,
                    f"{c.demand:,.0f} {c.unit}",
                    f"{c.limit:,.0f}",
                    f"{c.utilisation:.0%}" + (" **throttled**" if c.utilisation > 1 else ""),
                    c.note,
                ]
                for c in p.checks
            ],
        ),
        "",
        "Which knob moves it (each alone, from the defaults):",
        "",
        *_table(
            ["knob", "end to end", "cost", "stage", "stage takes", "binds it after", "over a quota after"],
            [
                [
                    k.knob,
                    f"{_duration(k.before_s)} → {_duration(k.after_s)}",
                    f"${k.before_usd:.4f} → ${k.after_usd:.4f}",
                    k.stage,
                    f"{_duration(k.stage_before_s)} → {_duration(k.stage_after_s)}",
                    k.binding_after,
                    "; ".join(k.over_quota_after) or "none",
                ]
                for k in knobs
            ],
        ),
        "",
        "Cost: "
        + ", ".join(f"{i.what} ${i.usd:.4f}" for i in sorted(p.cost.items, key=lambda i: -i.usd)[:5] if i.usd)
        + ".",
        "",
        *[f"- {n}" for n in p.notes],
        "",
    ]
    return out


def capacity_section(results: Mapping[str, Any], *, root: Path = ROOT) -> list[str]:
    """RESULTS.md's capacity section: both predictions, their binding limits, knobs, quotas, assumptions."""
    p = plan(results, root=root)
    s, a = p.settings, p.assumptions
    out = [
        "## Capacity model: predictions for AWS",
        "",
        "`benchmarks/capacity.py` predicts, from the per-stage costs above and AWS's published quotas, how "
        "long each stage takes on AWS and which limit binds it. A model, not a measurement: each stage "
        "takes as long as its slowest limit (the others are listed as the next limit).",
        "",
        f"Settings (template defaults): PageConcurrency {s.page_concurrency}, PollIntervalSeconds "
        f"{s.poll_interval_s}, PdfPagesPerPart {s.pdf_pages_per_part}, RenderPdfParts MaxConcurrency "
        f"{s.pdf_map_concurrency}, MemorySize "
        + ", ".join(f"{k} {v}" for k, v in s.memory_mb.items())
        + f" MB; {s.writes_in_flight} PUTs in flight and {s.reads_ahead} GETs ahead per function.",
        "",
        *_prediction_lines(p.document, p.document_knobs),
        *_prediction_lines(p.burst, p.burst_knobs),
        "### Assumptions",
        "",
        f"- CPU: one core of the benchmark machine equals one Lambda vCPU; below "
        f"{QUOTAS['lambda_mb_per_vcpu'].value:.0f} MB a function gets MemorySize / 1,769 of one (1,024 MB: "
        f"{1024 / 1769:.2f} vCPU, 256 MB: {256 / 1769:.2f}), and single-threaded Python gains nothing "
        "above it. Measured stage times are CPU only (bench.py reads and writes local files).",
        f"- Request latencies (typical, not published): S3 GET {a.s3_get_s * 1000:.0f} ms, PUT "
        f"{a.s3_put_s * 1000:.0f} ms, DynamoDB write {a.dynamodb_write_s * 1000:.0f} ms, Query call "
        f"{a.dynamodb_query_page_s * 1000:.0f} ms; S3 event to invocation {a.s3_event_delay_s:.0f} s; "
        f"{a.sfn_state_s * 1000:.0f} ms per state entered. Reads and writes overlap CPU work as the code "
        "does (8 in flight).",
        "- Cold starts: each new environment pays its handler's import as deployed (results.json), once.",
        f"- The poll loop: {a.poll_transitions} transitions and {a.poll_events} history events per poll, "
        f"{a.extra_query_page_transitions} and {a.extra_query_page_events} more per extra Query page (a page "
        f"item is {a.page_item_kb} KB, so about {int(1024 / a.page_item_kb):,} items a call).",
        "- S3: the work bucket is one partitioned prefix (a new bucket is; S3 splits busy prefixes only "
        "after sustained load). DynamoDB: one job's page items share one partition key, held to one "
        "partition's rate (split for heat may do better).",
        "- Costs: pagefan.local.client.cost's prices and request counts, with the modelled durations; "
        "one WRU per page item.",
        "",
        "Quotas (AWS defaults; check them again before relying on one):",
        "",
        *_table(
            ["quota", "default", "unit", "changes with", "source", "figure seen in the source"],
            [
                [
                    q.what,
                    f"{q.value:,.0f}",
                    q.unit,
                    q.adjustable,
                    q.source,
                    "yes" if q.seen else "**no: re-check**",
                ]
                for q in QUOTAS_TABLE
            ],
        ),
        "",
        "Re-run: `.venv/bin/python benchmarks/capacity.py` (prints this section; `--write` re-renders "
        "RESULTS.md).",
        "",
    ]
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--results", type=Path, default=HERE / "results.json")
    parser.add_argument("--write", action="store_true", help="re-render benchmarks/RESULTS.md with report.py")
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text(encoding="utf-8"))
    if args.write:
        from report import render  # benchmarks/report.py: the one generator of RESULTS.md

        (HERE / "RESULTS.md").write_text(render(results), encoding="utf-8")
    sys.stdout.write("\n".join(capacity_section(results)))


if __name__ == "__main__":
    main()
