"""The capacity model (benchmarks/capacity.py): its arithmetic and the limit it names, on fixed inputs.

Nothing here depends on this machine's speed: the measured costs are made up for each test.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pagefan.local.client.cost import pipeline_requests
from pagefan.local.client.prices import Prices
from pagefan.local.emulator.template import load_template

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "benchmarks"))

import capacity  # noqa: E402  (benchmarks/ is not a package)
from capacity import Assumptions, Measured, Settings  # noqa: E402

PRICES = Prices.load(ROOT / "benchmarks" / "prices.json")
ASL: dict[str, Any] = json.loads((ROOT / "statemachine" / "document_job.asl.json").read_text())

MEASURED = Measured(
    pages=2000,
    split_pages_per_s=1000.0,
    worker_ms_per_page=10.0,
    combine_ms_per_page=1.0,
    svg_ms_per_page=1.0,
    pdf_ms_per_page=100.0,
    init_ms={
        "Splitter": 300.0,
        "PageWorker": 400.0,
        "Combiner": 200.0,
        "SvgExporter": 300.0,
        "PdfExporter": 300.0,
    },
)
# A Splitter that is never the bottleneck, so the page stage shows its own limits.
FAST_SPLIT = replace(MEASURED, split_pages_per_s=1e9)
WIDE_WRITES = Settings(writes_in_flight=100_000)


def document(
    pages: int, settings: Settings, measured: Measured = FAST_SPLIT, **kw: Any
) -> capacity.Prediction:
    return capacity.predict_document(pages, measured, settings, PRICES, ASL, **kw)


def test_raising_page_concurrency_shortens_the_page_stage_until_another_limit_binds() -> None:
    stages = {
        c: document(10_000, replace(WIDE_WRITES, page_concurrency=c)).stage("Pages recorded")
        for c in (10, 50, 200, 900)
    }
    assert stages[10].binding.limit.startswith("PageConcurrency 10")
    assert stages[50].binding.limit.startswith("PageConcurrency 50")
    assert stages[10].seconds > stages[50].seconds > stages[200].seconds
    # At 900 the pages would be recorded faster than one partition takes writes: the job's partition binds.
    assert stages[900].binding.limit.startswith("DynamoDB partition 1000 WCU/s")
    assert stages[900].binding.seconds == pytest.approx(10_000 / 1000)
    assert stages[900].seconds <= stages[200].seconds


def test_page_concurrency_beyond_what_the_account_can_reserve_is_named() -> None:
    lifted = {"dynamodb_partition_wcu": 1e9, "s3_put_per_prefix": 1e9, "s3_get_per_prefix": 1e9}
    at_900 = document(100_000, replace(WIDE_WRITES, page_concurrency=900), quota_overrides=lifted)
    at_1000 = document(100_000, replace(WIDE_WRITES, page_concurrency=1000), quota_overrides=lifted)
    binding = at_1000.stage("Pages recorded").binding
    assert binding.limit.startswith("account concurrency 1000 (at most 900 reservable)")
    assert binding.seconds == at_900.stage("Pages recorded").binding.seconds
    more = document(
        100_000,
        replace(WIDE_WRITES, page_concurrency=1000),
        quota_overrides={**lifted, "lambda_account_concurrency": 3000},
    )
    assert more.stage("Pages recorded").binding.limit.startswith("PageConcurrency 1000")


def test_the_splitters_puts_bind_until_more_are_in_flight() -> None:
    slow_split = replace(MEASURED, split_pages_per_s=1e9)
    eight = document(10_000, Settings(writes_in_flight=8), slow_split).stage("Pages recorded")
    assert eight.binding.limit == "Splitter PUTs (8 in flight)"
    assert eight.binding.seconds == pytest.approx(10_000 * Assumptions().s3_put_s / 8)
    many = document(10_000, Settings(writes_in_flight=64), slow_split).stage("Pages recorded")
    assert many.seconds < eight.seconds


def test_lambda_cpu_share_follows_memory_up_to_one_vcpu() -> None:
    q = capacity.quota_values()
    a = Assumptions()
    assert capacity.cpu_factor(1024, a, q) == pytest.approx(1769 / 1024)
    assert capacity.cpu_factor(256, a, q) == pytest.approx(1769 / 256)
    assert capacity.cpu_factor(1769, a, q) == 1.0
    assert capacity.cpu_factor(2048, a, q) == 1.0


def test_pdf_parts_wait_for_the_maps_concurrency_and_the_inline_map_caps_it_at_40() -> None:
    ten = document(10_000, Settings(pdf_map_concurrency=10)).stage("Export")
    assert ten.binding.limit == "PDF parts: Map MaxConcurrency 10 (200 parts)"
    forty = document(10_000, Settings(pdf_map_concurrency=40)).stage("Export")
    hundred = document(10_000, Settings(pdf_map_concurrency=100)).stage("Export")
    pdf_bound = [b for b in hundred.bounds if "Map" in b.limit]
    assert pdf_bound[0].limit.startswith("inline Map: 40 iterations at a time")
    assert pdf_bound[0].seconds == pytest.approx(next(b for b in forty.bounds if "Map" in b.limit).seconds)
    assert forty.seconds < ten.seconds


def test_the_poll_that_sees_the_last_page_comes_on_the_next_interval() -> None:
    p = document(2000, Settings(poll_interval_s=5))
    poll = p.stage("Progress seen (poll)")
    assert poll.start_s == p.stage("Pages recorded").end_s
    assert 0 < poll.seconds <= 5 + 1
    assert poll.binding.limit == "PollIntervalSeconds 5"


def test_query_pages_and_read_units_follow_the_1_mb_pages() -> None:
    q = capacity.quota_values()
    a = Assumptions(page_item_kb=0.3)
    assert capacity.query_pages(3000, a, q) == 1
    assert capacity.query_pages(10_000, a, q) == 3
    per_call = math.floor(1024 / 0.3)
    assert capacity.poll_read_units(10_000, a, q) == 2 * math.ceil(per_call * 0.3 / 4) + math.ceil(
        (10_000 - 2 * per_call) * 0.3 / 4
    )
    assert (
        capacity.transitions_per_poll(10_000, a, q) == a.poll_transitions + 2 * a.extra_query_page_transitions
    )


def test_history_quota_is_checked_against_polling_until_the_deadline() -> None:
    fast = next(
        c for c in document(10_000, Settings(poll_interval_s=5)).checks if c.quota == "sfn_history_events"
    )
    assert fast.utilisation < 1
    assert "continues as a new one" in fast.note
    slow = next(
        c for c in document(10_000, Settings(poll_interval_s=30)).checks if c.quota == "sfn_history_events"
    )
    assert "continues as a new one" not in slow.note


def burst(settings: Settings, **kw: Any) -> capacity.Prediction:
    return capacity.predict_burst(1000, 50, 60.0, MEASURED, settings, PRICES, ASL, **kw)


def test_a_burst_is_held_by_page_concurrency_then_by_the_uploads_themselves() -> None:
    low = burst(Settings(page_concurrency=10)).stage("Pages recorded (all documents)")
    assert low.binding.limit.startswith("PageConcurrency 10")
    high = burst(Settings(page_concurrency=900)).stage("Pages recorded (all documents)")
    assert high.binding.limit == "1,000 uploads within 60 s"
    assert high.seconds < low.seconds


def test_state_transitions_throttle_only_above_the_refill_rate() -> None:
    other_region = {"sfn_transition_refill": 800.0, "sfn_transition_bucket": 800.0}
    backlog = Settings(page_concurrency=10)  # every execution keeps polling through the backlog
    throttled = burst(backlog, quota_overrides=other_region)
    check = next(c for c in throttled.checks if c.quota == "sfn_transition_refill")
    assert check.utilisation > 1
    assert "stretched" in throttled.stage("Progress seen (poll)").binding.limit
    roomy = burst(backlog)
    assert "stretched" not in roomy.stage("Progress seen (poll)").binding.limit
    # Twice the interval, half the polling transitions.
    slower = burst(replace(backlog, poll_interval_s=10), quota_overrides=other_region)
    slower_check = next(c for c in slower.checks if c.quota == "sfn_transition_refill")
    assert slower_check.demand < check.demand


def test_cost_prices_the_modelled_usage_with_one_write_unit_per_page_item() -> None:
    p = document(2000, Settings())
    items = {i.what: i for i in p.cost.items}
    job_writes = pipeline_requests(0)["dynamodb_write_units"]
    assert items["DynamoDB writes"].quantity == 2000 + job_writes
    parts = math.ceil(2000 / Settings().pdf_pages_per_part)
    assert items["S3 PUT requests"].quantity == pipeline_requests(2000, pdf_parts=parts)["s3_puts"]
    assert items["Lambda PageWorker requests"].quantity == 2000
    assert items["Lambda PdfExporter requests"].quantity == parts + 1
    assert p.cost.total_usd == pytest.approx(sum(i.usd for i in p.cost.items))
    many = burst(Settings())
    assert {i.what: i for i in many.cost.items}["Lambda PageWorker requests"].quantity == 50_000


def test_measured_costs_come_from_the_nearest_benchmarked_size() -> None:
    def size(pages: int) -> dict[str, Any]:
        return {
            "pages": pages,
            "split_pages_per_s": float(pages),
            "worker_ms_per_page": 1.0,
            "combine_ms": 2.0 * pages,
            "svg_ms_per_page": 1.0,
            "pdf_ms_per_page": 1.0,
        }

    results = {"sizes": {str(n): size(n) for n in (50, 500, 2000)}, "import_ms": {}}
    assert Measured.from_results(results, 10_000).pages == 2000
    assert Measured.from_results(results, 50).pages == 50
    assert Measured.from_results(results, 400).pages == 500
    assert Measured.from_results(results, 10_000).combine_ms_per_page == 2.0


def test_settings_are_the_templates_defaults() -> None:
    template = load_template(ROOT / "template.yaml")
    settings = Settings.from_template(ROOT / "template.yaml")
    params = template["Parameters"]
    assert settings.page_concurrency == params["PageConcurrency"]["Default"]
    assert settings.poll_interval_s == params["PollIntervalSeconds"]["Default"]
    assert settings.pdf_pages_per_part == params["PdfPagesPerPart"]["Default"]
    assert (
        settings.memory_mb["SvgExporter"] == template["Resources"]["SvgExporter"]["Properties"]["MemorySize"]
    )
    maps = [s for s in capacity._all_states(ASL).values() if s.get("Type") == "Map"]
    assert settings.pdf_map_concurrency == maps[0]["MaxConcurrency"]


def test_every_quota_names_its_source_and_overrides_must_name_a_quota() -> None:
    for quota in capacity.QUOTAS_TABLE:
        assert quota.source.startswith("https://docs.aws.amazon.com/")
    with pytest.raises(KeyError):
        capacity.quota_values({"no_such_quota": 1})


def test_results_md_section_names_the_binding_limits_and_the_knobs() -> None:
    results = json.loads((ROOT / "benchmarks" / "results.json").read_text())
    text = "\n".join(capacity.capacity_section(results))
    assert "## Capacity model: predictions for AWS" in text
    assert "One document of 10,000 pages" in text
    assert "1,000 documents of 50 pages uploaded within 60 s" in text
    assert "PageConcurrency 50 → 200" in text
    for quota in capacity.QUOTAS_TABLE:
        assert quota.source in text


def test_pages_arriving_faster_than_the_concurrency_serves_are_flagged_as_throttled() -> None:
    def throttle(settings: Settings) -> capacity.Check:
        p = document(10_000, settings, MEASURED)
        return next(c for c in p.checks if c.quota == "lambda_async_throttle_retry_s")

    assert throttle(Settings(page_concurrency=200)).utilisation < 1
    starved = throttle(Settings(page_concurrency=2))
    assert starved.utilisation > 1
    assert "up to 300 s" in starved.note
