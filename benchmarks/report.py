"""benchmarks/RESULTS.md from benchmarks/results.json (written by bench.py; rerun alone to re-render).

Its last section is the capacity model's predictions (benchmarks/capacity.py), computed from the same results.

.venv/bin/python benchmarks/report.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from capacity import capacity_section  # benchmarks/capacity.py: the predictions for AWS

HERE = Path(__file__).resolve().parent

# Why a target is missed and what would close it, by target prefix.
EXPLAIN = {
    "e2e_vs_bare_ratio": (
        "The bare loop is one process doing CPU work only, dominated by PDF rendering (see `PDF ms/page`). "
        "`pagefan run` spreads the same work over two cores (pages and PDF parts on `--workers` "
        "environments), but adds what the loop does not have: every S3, DynamoDB and Step Functions "
        "request goes through the emulated services, which run in the runtime's own process and share "
        "the two cores and one GIL with the engine (moto checks IAM on each request, and its HTTP server "
        "opens a new connection per request); every invocation crosses a process boundary; and the "
        "critical path is sequential where the loop's work is: the pages, then the Combiner, then the "
        "exporters (the PDF parts sharing the cores with the SvgExporter), then the downloads. What would "
        "close it: the exporters started beside the Combiner (they read page results, not its output), "
        "PDF parts rendered as soon as their pages are done rather than after the last one, and fewer, "
        "larger objects per page range instead of per page. On AWS the same design runs the pages and "
        "the parts on as many environments as there are pages or parts."
    ),
    "SvgExporter": "The exporter streams one page at a time; memory that grows with pages is a leak to find.",
    "PdfExporter": (
        "Each invocation renders one part of PdfPagesPerPart pages, and the merge streams (one part in "
        "memory at a time): memory that grows with pages is a leak to find."
    ),
    "every handler import": (
        "As deployed the template turns tracing on, so Powertools' Tracer imports the X-Ray SDK; the "
        "rest is what every handler uses: botocore/boto3, Powertools' Logger and Metrics, and for the "
        "Splitter and PageWorker pypdf (which imports cryptography, for encrypted PDFs). Figures on this "
        "shared VM vary by a third from run to run. Importing lazily would only move the cost into the "
        "first invocation, where Lambda gives a function less CPU than during its init phase, so it is "
        "not done. What would close it: Lambda SnapStart for Python (restores a snapshot taken after "
        "init, so cold starts skip the imports; it needs published versions and adds a cache and "
        "restore charge), or provisioned concurrency for the PageWorker."
    ),
    "cost": (
        "S3 PUT requests dominate (three per page: page, result, SVG), then DynamoDB's two-item "
        "transaction per page and PdfExporter's GB-seconds. Fewer, larger objects (page results "
        "written per range, SVGs per range) would cut the PUTs; small documents also carry the "
        "per-job state transitions."
    ),
}


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if c is None else str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _growth(sizes: dict[str, Any]) -> list[str]:
    """How each function's peak memory grows per 1,000 pages between the two largest sizes."""
    ordered = sorted(sizes.values(), key=lambda e: e["pages"])
    if len(ordered) < 2:
        return []
    small, large = ordered[-2], ordered[-1]
    lines = []
    for name, big in large["stage_peak_rss_mb"].items():
        slope = (big["peak_rss_mb"] - small["stage_peak_rss_mb"][name]["peak_rss_mb"]) / (
            large["pages"] - small["pages"]
        )
        if slope * 1000 >= 20:
            at_5000 = big["peak_rss_mb"] + slope * (5000 - large["pages"])
            lines.append(
                f"- **{name}**'s peak memory grows with the page count: {slope * 1000:.0f} MB per "
                "1,000 pages "
                f"between {small['pages']} and {large['pages']} pages; at the template's default MaxPages "
                f"(5,000) that extrapolates to about {at_5000:.0f} MB of its {big['memory_size_mb']} MB."
            )
    return [*lines, ""] if lines else []


def _recording_section(recording: list[dict[str, Any]] | None) -> list[str]:
    """Pages recorded per second on one job, old design against new (benchmarks/recording.py)."""
    if not recording:
        return []
    rows = [
        [
            r["design"],
            f"{r['recorded']:,} of {r['pages']:,}",
            f"{r['refused']:,}",
            r["pages_per_second"],
            f"{r['transaction_conflicts']:,}",
            f"{r['throttled_writes']:,}",
        ]
        for r in recording
    ]
    return [
        "## Page recording under DynamoDB's limits",
        "",
        "One job's pages recorded by 50 concurrent recorders (the PageWorker's reserved concurrency), "
        "each with the handlers' client (botocore standard retries, 5 attempts), against the emulated "
        "DynamoDB at AWS's limits (`benchmarks/recording.py`). old: a transaction of the page item and a "
        "counter on the JOB item; new: one conditional PutItem of the page's own item. A refused page "
        "would fail its invocation on AWS.",
        "",
        _table(
            ["design", "recorded", "refused", "pages/s", "transaction conflicts", "throttled writes"],
            rows,
        ),
        "",
    ]


def render(results: dict[str, Any]) -> str:
    sizes = results["sizes"]
    machine = results["machine"]
    out = [
        "# pagefan benchmarks",
        "",
        f"Generated by `make bench` on {results['generated_at']} ({machine['cores']} cores, "
        f"{machine['arch']}, Python {machine['python']}) in {results['bench_seconds']:.0f} s, at commit "
        f"`{results.get('git', {}).get('commit', '?')[:10]}`"
        + (
            f" with uncommitted changes in {', '.join(results['git']['dirty_files'])}"
            if results.get("git", {}).get("dirty_files")
            else ""
        )
        + ". "
        f"Prices as of {results['prices']} (`benchmarks/prices.json`, us-east-1 list prices: re-check them).",
        "",
        "## Per stage",
        "",
        "Each stage runs the domain functions in a fresh interpreter that first imports its handler with "
        "the function's environment, streaming from local files as the handler streams from S3 "
        "(S3 latency not included). `bare loop` is their sum: a plain sequential loop.",
        "",
        _table(
            [
                "pages",
                "split pages/s",
                "worker ms/page",
                "combine ms",
                "SVG ms/page",
                "PDF ms/page",
                "bare loop s",
                "`pagefan run` s",
                "e2e / bare",
                "$ / 1,000 pages",
            ],
            [
                [
                    e["pages"],
                    e["split_pages_per_s"],
                    e["worker_ms_per_page"],
                    e["combine_ms"],
                    e["svg_ms_per_page"],
                    e["pdf_ms_per_page"],
                    e["bare_loop_s"],
                    e["e2e"]["wall_s"] if "e2e" in e else "not run",
                    e["e2e_vs_bare_ratio"] if e["e2e_vs_bare_ratio"] is not None else "—",
                    f"{e['cost_per_1000_pages_usd']:.4f}",
                ]
                for e in sizes.values()
            ],
        ),
        "",
    ]
    not_run = [e["pages"] for e in sizes.values() if "e2e" not in e]
    if not_run:
        out += [
            f"`pagefan run` is not measured at {', '.join(map(str, not_run))} pages inside `make bench`: on "
            "2 cores it takes several minutes alone at 2,000 pages (about 4x the 500-page run), which "
            "would break the 15-minute budget. Stage figures, peak "
            "memory and cost at that size come from the stage processes. Run it by hand with "
            "`.venv/bin/python benchmarks/bench.py --sizes 2000 --e2e-sizes 2000`.",
            "",
        ]
    e2e = [e for e in sizes.values() if "e2e" in e]
    if e2e:
        out += [
            "## `pagefan run`: where the time goes",
            "",
            _table(
                ["pages", "to pages s", "pages done s", "completed s", "wall s"]
                + [f"{n} ms (calls)" for n in e2e[0]["e2e"]["functions"]],
                [
                    [
                        e["pages"],
                        e["e2e"]["timings"]["seconds_to_pages"],
                        e["e2e"]["timings"]["seconds_to_combining_and_exporting"],
                        e["e2e"]["timings"]["seconds_to_completed"],
                        e["e2e"]["wall_s"],
                    ]
                    + [f"{f['total_ms']:.0f} ({f['invocations']})" for f in e["e2e"]["functions"].values()]
                    for e in e2e
                ],
            ),
            "",
        ]
    peak = results["peak_rss_mb"]
    out += [
        f"## Peak memory at {peak['pages']} pages",
        "",
        _table(
            ["function", "peak RSS MB (stage process)", "`pagefan run` max RSS MB", "MemorySize MB"],
            [
                [name, f["peak_rss_mb"], f.get("pagefan_run_max_rss_mb", "not run"), f["memory_size_mb"]]
                for name, f in peak["functions"].items()
            ],
        ),
        "",
        "Peak memory by size (stage process, MB): "
        + "; ".join(
            f"{e['pages']} pages: "
            + ", ".join(f"{n} {v['peak_rss_mb']:.0f}" for n, v in e["stage_peak_rss_mb"].items())
            for e in sizes.values()
        ),
        "",
        *_growth(sizes),
        "## Handler imports (fresh interpreter, median of 5)",
        "",
        "As deployed: Lambda's environment with the template's `Tracing: Active`, so Powertools' Tracer "
        "and the X-Ray SDK are imported. Tracing off: the local runtime, where no X-Ray daemon runs.",
        "",
        _table(
            [
                "module",
                "function",
                "as deployed ms",
                "tracing off ms",
                "where the time goes as deployed (ms of own import time by package, -X importtime)",
            ],
            [
                [
                    module,
                    i["function"],
                    i["as_deployed"]["import_ms"],
                    i["import_ms"],
                    ", ".join(f"{n} {ms:.0f}" for n, ms in i["as_deployed"]["heaviest_ms"].items()),
                ]
                for module, i in results["import_ms"].items()
            ],
        ),
        "",
    ]
    largest_e2e = max(e2e, key=lambda e: e["pages"]) if e2e else max(sizes.values(), key=lambda e: e["pages"])
    cost = largest_e2e["cost"]
    out += [
        f"## Cost of one {cost['pages']}-page job",
        "",
        f"Source: {largest_e2e['cost_source']}. Total ${cost['total_usd']:.5f}, "
        f"${cost['per_1000_pages_usd']:.4f} per 1,000 pages; with Lambda's CPU share below 1,769 MB "
        f"(durations scaled by 1769/MemorySize) ${largest_e2e['cpu_share_scaled_per_1000_pages_usd']:.4f}.",
        "",
        _table(
            ["item", "quantity", "unit", "USD"],
            [
                [i["what"], i["quantity"], i["unit"], f"{i['usd']:.6f}"]
                for i in cost["items"]
                if i["quantity"]
            ],
        ),
        "",
        *[f"- {note}" for note in cost["notes"]],
        "",
        "## Targets (issue 8)",
        "",
        _table(
            ["target", "measured", "met"],
            [[t["target"], t["measured"], "met" if t["met"] else "**missed**"] for t in results["targets"]],
        ),
        "",
    ]
    for t in results["targets"]:
        if not t["met"]:
            key = next((k for k in EXPLAIN if k in t["target"]), None)
            if key:
                out += [f"- **{t['target']}** missed: {EXPLAIN[key]}", ""]
    out += [*_recording_section(results.get("recording"))]
    out += [
        *capacity_section(results),
        "Reproduce: `make bench` (7 to 9 minutes on 2 cores); `benchmarks/results.json` holds every figure.",
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    data = json.loads((HERE / "results.json").read_text())
    (HERE / "RESULTS.md").write_text(render(data))
