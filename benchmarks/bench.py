"""`make bench`: stage throughput, memory, cold-start imports, end-to-end overhead and cost per 1,000 pages.

For each size (generated text-heavy documents, several fonts):

- **stages**: the plain sequential loop over the domain functions (split, analyse every page, combine,
  SVG, PDF), each stage in a fresh interpreter that first imports its handler module with the
  function's environment from the template, streams its input from local files as the handler streams
  it from S3, and reports its time and peak resident memory (VmHWM, as the local runtime measures it);
- **e2e**: `pagefan run --json` on the same document, timed as a user runs it (fresh process, emulated
  account start included); ``e2e_vs_bare_ratio`` is its wall time over the sum of the stage times,
  measured in the same run;
- **cost**: `pagefan.local.client.cost` over the handlers' measured durations (e2e) or the stages' (when e2e
  is not run at that size), the template's MemorySize and ``benchmarks/prices.json``.

Import times: each handler module imported in a fresh interpreter (median of 3), the cold-start proxy.

    .venv/bin/python benchmarks/bench.py                      # what `make bench` runs
    .venv/bin/python benchmarks/bench.py --sizes 50 --e2e-sizes 50
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
TEMPLATE = ROOT / "template.yaml"
ASL = ROOT / "statemachine" / "document_job.asl.json"

# Stage → the function whose handler does that work (its module, env and MemorySize are used).
STAGES = {
    "split": "Splitter",
    "work": "PageWorker",
    "combine": "Combiner",
    "svg": "SvgExporter",
    "pdf": "PdfExporter",
}


# --- one stage, in its own interpreter ----------------------------------------------------------


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _results(work: Path, pages: int) -> Any:
    from pagefan.formats.page_result import PageResult

    for number in range(1, pages + 1):
        yield PageResult.from_json((work / "results" / f"{number:05d}.json").read_bytes())


def run_stage(stage: str, handler_module: str, work: Path) -> dict[str, float]:
    """Import the handler, then do its stage's work on ``work``; report seconds and peak memory."""
    import importlib

    started = time.perf_counter()
    module = importlib.import_module(handler_module)
    import_ms = (time.perf_counter() - started) * 1000
    settings = getattr(module, "SETTINGS", None)

    from pagefan.formats.document import DocumentInfo, SourceRef
    from pagefan.formats.versions import dumps

    started = time.perf_counter()
    if stage == "split":
        from pagefan.domain.split import document_metadata, document_outline, open_document, split_pages

        body = (work / "document.pdf").read_bytes()
        reader = open_document(body, max_bytes=len(body) + 1, max_pages=100_000)
        source = SourceRef(bucket="raw", key="bench.pdf", version_id=None, etag="e", size=len(body))
        info = DocumentInfo(
            "bench", source, len(reader.pages), document_metadata(reader), document_outline(reader)
        )
        hashlib.sha256(body).hexdigest()
        (work / "info.json").write_bytes(dumps(info.to_dict()))
        (work / "pages").mkdir(exist_ok=True)
        for number, page in split_pages(reader):
            (work / "pages" / f"{number:05d}.pdf").write_bytes(page)
    else:
        info = DocumentInfo.from_json((work / "info.json").read_bytes())
        pages = info.pages_total
    if stage == "work":
        from pagefan.config import PageWorkerSettings
        from pagefan.domain.analysis import read_page
        from pagefan.stages.page_analysis import graphics_limits

        limit = getattr(settings, "max_page_content_bytes", 50 * 1024 * 1024)
        limits = graphics_limits(settings) if isinstance(settings, PageWorkerSettings) else None
        (work / "results").mkdir(exist_ok=True)
        (work / "images").mkdir(exist_ok=True)
        for number in range(1, pages + 1):
            analysis = read_page(
                (work / "pages" / f"{number:05d}.pdf").read_bytes(),
                job_id="bench",
                page_number=number,
                max_content_bytes=limit,
                limits=limits,
            )
            # As the PageWorker: the images beside the result, one file per distinct image.
            for image in analysis.images:
                path = work / "images" / image.sha256
                if not path.exists():
                    path.write_bytes(image.data)
            (work / "results" / f"{number:05d}.json").write_bytes(dumps(analysis.result.to_dict()))
    elif stage == "combine":
        from pagefan.domain.combine import write_documents

        # As the Combiner: one pass over the page results feeds both files.
        with (
            (work / "document.json").open("w", encoding="utf-8") as json_out,
            (work / "document.txt").open("w", encoding="utf-8") as text_out,
        ):
            write_documents(
                job_id="bench", info=info, pages=_results(work, pages), json_out=json_out, text_out=text_out
            )
    elif stage in ("svg", "pdf"):
        from pagefan.domain.svg import render_page_svg
        from pagefan.stages.exporting import page_title

        limit = getattr(settings, "max_svg_elements", 20_000)

        def image(ref: Any) -> bytes | None:
            # As the exporters: read the image, keep it only if its bytes hash to its name.
            data = (work / "images" / ref.sha256).read_bytes()
            return data if hashlib.sha256(data).hexdigest() == ref.sha256 else None

        svgs = (
            render_page_svg(page, title=page_title(info, page.page_number), max_elements=limit, images=image)
            for page in _results(work, pages)
        )
        if stage == "svg":
            (work / "svg").mkdir(exist_ok=True)
            for number, svg in enumerate(svgs, start=1):
                (work / "svg" / f"{number:05d}.svg").write_text(svg, encoding="utf-8")
        else:
            # What the PdfExporter's invocations do, one after another: each part of the template's
            # PdfPagesPerPart pages rendered to a file, then the parts merged (the Map runs the parts in
            # parallel; this is the sequential sum, so ms/page stays comparable with the single invocation).
            from pagefan.domain.pdf_merge import merge_pdf
            from pagefan.domain.pdf_render import render_pdf_part
            from pagefan.formats.payloads import pdf_part_ranges
            from pagefan.local.emulator.template import load_template

            pages_per_part = int(load_template(TEMPLATE)["Parameters"]["PdfPagesPerPart"]["Default"])
            numbered = enumerate(svgs, start=1)
            part_paths = []
            for first, last in pdf_part_ranges(pages, pages_per_part):
                path = work / f"part-{first:05d}-{last:05d}.pdf"
                with path.open("wb") as out:
                    render_pdf_part((next(numbered) for _ in range(first, last + 1)), out)
                part_paths.append(path)
            with (work / "document.out.pdf").open("wb") as out:
                merge_pdf(
                    (path.read_bytes() for path in part_paths),
                    metadata=info.metadata,
                    outline=info.outline,
                    out=out,
                )
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "import_ms": import_ms, "peak_rss_mb": _peak_rss_mb()}


# --- the template's functions -------------------------------------------------------------------


def template_functions() -> dict[str, dict[str, Any]]:
    """Each function's handler module, environment (as the local runtime gives it) and MemorySize."""
    from pagefan.local.emulator.account import CREDENTIALS, REGION, EmulatedAccount

    with (
        tempfile.TemporaryDirectory(prefix="pagefan-bench-") as scratch,
        EmulatedAccount(TEMPLATE, work_dir=Path(scratch)) as account,
    ):
        functions = {}
        for logical_id, environments in account.functions.items():
            spec = environments.spec
            env = {
                **CREDENTIALS,
                "AWS_ENDPOINT_URL": account.endpoint,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "POWERTOOLS_TRACE_DISABLED": "true",
                "PATH": os.environ.get("PATH", ""),
                "TZ": "UTC",
                **spec.environment,
            }
            functions[logical_id] = {
                "module": spec.handler.rsplit(".", 1)[0],
                "memory_mb": spec.memory_mb,
                "env": env,
            }
        poll = int(account.template.parameter_defaults().get("PollIntervalSeconds", "5"))
    functions["_poll_interval_s"] = {"value": poll}
    return functions


def _git_state() -> dict[str, Any]:
    """The commit measured, and whether the tree differed from it (others may be editing it)."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT, check=False).stdout

    return {
        "commit": git("rev-parse", "HEAD").strip(),
        "dirty_files": git("status", "--porcelain", "src").split()[1::2],
    }


def _python(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, check=False, cwd=ROOT
    )


def as_deployed(env: dict[str, str]) -> dict[str, str]:
    """``env`` as Lambda gives it under ``Tracing: Active``: the real Tracer, X-Ray SDK included."""
    deployed = {key: value for key, value in env.items() if key != "POWERTOOLS_TRACE_DISABLED"}
    return {**deployed, "LAMBDA_TASK_ROOT": str(ROOT / "src"), "AWS_LAMBDA_FUNCTION_NAME": "bench"}


def measure_import(module: str, env: dict[str, str], runs: int = 5) -> dict[str, Any]:
    """Milliseconds to import ``module`` in a fresh interpreter (median), and where they go by package."""
    code = f"import time; t = time.perf_counter(); import {module}; print((time.perf_counter() - t) * 1000)"
    times = []
    for _ in range(runs):
        done = _python(env, "-c", code)
        if done.returncode:
            raise SystemExit(f"importing {module} failed:\n{done.stderr[-2000:]}")
        times.append(float(done.stdout.strip().splitlines()[-1]))
    # One more run with -X importtime: its self times, summed by top-level package, add up to the import.
    trace = _python(env, "-X", "importtime", "-c", f"import {module}").stderr.splitlines()
    by_package: dict[str, float] = {}
    for line in trace:
        if not line.startswith("import time:") or "|" not in line:
            continue
        own, _cumulative, name = line[len("import time:") :].split("|")
        if not own.strip().isdigit():
            continue
        root = name.strip().split(".")[0]
        by_package[root] = by_package.get(root, 0.0) + int(own) / 1000
    top = sorted(by_package.items(), key=lambda item: -item[1])[:6]
    return {
        "import_ms": round(statistics.median(times), 1),
        "runs_ms": [round(t, 1) for t in times],
        "heaviest_ms": {name: round(ms, 1) for name, ms in top},
    }


def measure_stages(pages: int, pdf: bytes, functions: dict[str, Any], scratch: Path) -> dict[str, Any]:
    work = scratch / f"stages-{pages}"
    work.mkdir()
    (work / "document.pdf").write_bytes(pdf)
    stages = {}
    for stage, function in STAGES.items():
        spec = functions[function]
        done = _python(
            {**spec["env"], "PYTHONHASHSEED": "0"},
            str(Path(__file__).resolve()),
            "stage",
            stage,
            "--module",
            spec["module"],
            "--work",
            str(work),
        )
        if done.returncode:
            raise SystemExit(f"stage {stage} at {pages} pages failed:\n{done.stderr[-3000:]}")
        stages[stage] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"  {pages} pages: {stage} {stages[stage]['seconds']:.1f} s", file=sys.stderr, flush=True)
    return stages


def run_e2e(path: Path, out: Path) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "pagefan"), "run", str(path), "--out", str(out), "--json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"pagefan run failed ({done.returncode}): {done.stdout}{done.stderr[-2000:]}")
    summary: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    summary["wall_s"] = wall
    return summary


# --- cost ---------------------------------------------------------------------------------------


def stage_usage_summary(pages: int, stages: dict[str, Any], functions: dict[str, Any]) -> dict[str, Any]:
    """A run-summary-shaped record from the stage timings (one invocation per stage, a page each for
    the PageWorker, a part each and a merge for the PdfExporter), for sizes where `pagefan run` is not
    measured."""
    from pagefan.formats.payloads import pdf_part_ranges
    from pagefan.local.emulator.template import load_template

    pages_per_part = int(load_template(TEMPLATE)["Parameters"]["PdfPagesPerPart"]["Default"])
    # The PdfExporter runs once per part (DocumentJob's Map), then once to merge.
    pdf_invocations = len(pdf_part_ranges(pages, pages_per_part)) + 1
    invocations = {"split": 1, "work": pages, "combine": 1, "svg": 1, "pdf": pdf_invocations}
    return {
        "pages_total": pages,
        "timings": {"seconds_to_pages": 0.0, "seconds_to_combining_and_exporting": stages["work"]["seconds"]},
        "functions": {
            STAGES[stage]: {
                "invocations": invocations[stage],
                "total_ms": stages[stage]["seconds"] * 1000,
                "memory_size_mb": functions[STAGES[stage]]["memory_mb"],
            }
            for stage in STAGES
        },
    }


def price(summary: dict[str, Any], asl: dict[str, Any], poll_interval_s: int) -> dict[str, Any]:
    from pagefan.local.client.cost import FunctionUsage, JobUsage, job_cost, usage_from_run_summary
    from pagefan.local.client.prices import Prices

    prices = Prices.load(HERE / "prices.json")
    usage = usage_from_run_summary(summary, asl, poll_interval_s=poll_interval_s)
    cost = job_cost(usage, prices)
    # Lambda gives a function one vCPU at 1,769 MB and a share below it; local durations were measured
    # on a whole core, so CPU-bound work may take up to 1769/MemorySize times longer on Lambda.
    scaled = JobUsage(
        **{
            **usage.__dict__,
            "functions": {
                name: FunctionUsage(f.invocations, f.billed_ms * max(1.0, 1769 / f.memory_mb), f.memory_mb)
                for name, f in usage.functions.items()
            },
        }
    )
    return {
        "cost": cost.to_dict(),
        "cpu_share_scaled_per_1000_pages_usd": round(job_cost(scaled, prices).per_1000_pages_usd, 5),
    }


# --- the report ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 500, 2000])
    parser.add_argument(
        "--e2e-sizes",
        type=int,
        nargs="*",
        default=[50, 500],
        help="sizes also run end to end with `pagefan run` [default: 50 500; 2,000 takes ~10 min alone]",
    )
    parser.add_argument("--out-dir", type=Path, default=HERE)
    args = parser.parse_args()

    from tests.documents import make_sample_pdf

    begun = time.perf_counter()
    asl = json.loads(ASL.read_text())
    functions = template_functions()
    poll_interval_s = int(functions.pop("_poll_interval_s")["value"])
    print("imports", file=sys.stderr, flush=True)
    imports = {
        f["module"]: {
            "function": name,
            **measure_import(f["module"], f["env"]),
            "as_deployed": measure_import(f["module"], as_deployed(f["env"])),
        }
        for name, f in functions.items()
    }
    sizes: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="pagefan-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        for pages in args.sizes:
            pdf = make_sample_pdf(pages, text_heavy=True)
            path = scratch / f"bench-{pages}.pdf"
            path.write_bytes(pdf)
            stages = measure_stages(pages, pdf, functions, scratch)
            bare_s = sum(s["seconds"] for s in stages.values())
            entry: dict[str, Any] = {
                "pages": pages,
                "pdf_bytes": len(pdf),
                "bare_loop_s": round(bare_s, 2),
                "split_pages_per_s": round(pages / stages["split"]["seconds"], 1),
                "worker_ms_per_page": round(stages["work"]["seconds"] * 1000 / pages, 2),
                "combine_ms": round(stages["combine"]["seconds"] * 1000, 1),
                "svg_ms_per_page": round(stages["svg"]["seconds"] * 1000 / pages, 2),
                "pdf_ms_per_page": round(stages["pdf"]["seconds"] * 1000 / pages, 2),
                "stage_peak_rss_mb": {
                    STAGES[s]: {
                        "peak_rss_mb": round(v["peak_rss_mb"], 1),
                        "memory_size_mb": functions[STAGES[s]]["memory_mb"],
                    }
                    for s, v in stages.items()
                },
            }
            if pages in args.e2e_sizes:
                print(f"  {pages} pages: pagefan run", file=sys.stderr, flush=True)
                summary = run_e2e(path, scratch / f"out-{pages}")
                entry["e2e"] = {
                    "status": summary["status"],
                    "wall_s": round(summary["wall_s"], 2),
                    "timings": summary["timings"],
                    "functions": summary["functions"],
                }
                entry["e2e_vs_bare_ratio"] = round(summary["wall_s"] / bare_s, 2)
                entry["job_vs_bare_ratio"] = round(summary["timings"]["seconds_to_completed"] / bare_s, 2)
                entry.update(price(summary, asl, poll_interval_s))
                entry["cost_source"] = "pagefan run: the handlers' measured durations"
            else:
                entry["e2e_vs_bare_ratio"] = None
                entry.update(price(stage_usage_summary(pages, stages, functions), asl, poll_interval_s))
                entry["cost_source"] = "stage durations (pagefan run not measured at this size)"
            entry["cost_per_1000_pages_usd"] = entry["cost"]["per_1000_pages_usd"]
            sizes[str(pages)] = entry
    largest = sizes[str(max(args.sizes))]
    peak = {
        name: {
            **values,
            "measured_by": "stage process",
            **(
                {"pagefan_run_max_rss_mb": largest["e2e"]["functions"][name]["max_rss_mb"]}
                if "e2e" in largest and name in largest["e2e"]["functions"]
                else {}
            ),
        }
        for name, values in largest["stage_peak_rss_mb"].items()
    }
    results = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "arch": platform.machine(),
        },
        "bench_seconds": round(time.perf_counter() - begun, 1),
        "git": _git_state(),
        "prices": json.loads((HERE / "prices.json").read_text())["as_of"],
        "sizes": sizes,
        "peak_rss_mb": {"pages": max(args.sizes), "functions": peak},
        "import_ms": imports,
    }
    print("recording: old design against new", file=sys.stderr, flush=True)
    from recording import recording_rates  # benchmarks/recording.py

    results["recording"] = recording_rates(pages=2000, recorders=50)
    results["targets"] = targets(results)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    from report import render  # benchmarks/report.py

    (args.out_dir / "RESULTS.md").write_text(render(results))
    print(json.dumps({k: results[k] for k in ("bench_seconds", "targets")}, indent=2))


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 8 with its measured figure."""
    sizes = results["sizes"]
    found: list[dict[str, Any]] = []
    ratio = sizes.get("500", {}).get("e2e_vs_bare_ratio")
    found.append(
        {
            "target": "e2e_vs_bare_ratio <= 1.0 at 500 pages",
            "measured": ratio,
            "met": ratio is not None and ratio <= 1.0,
        }
    )
    peak = results["peak_rss_mb"]
    for name, ceiling in (("SvgExporter", 256), ("PdfExporter", None)):
        f = peak["functions"][name]
        limit = ceiling or f["memory_size_mb"]
        measured = max(f["peak_rss_mb"], f.get("pagefan_run_max_rss_mb", 0.0))
        found.append(
            {
                "target": f"{name} peak memory <= {limit} MB at {peak['pages']} pages",
                "measured": measured,
                "met": measured <= limit,
            }
        )
    # Judged as deployed (tracing on, the X-Ray SDK imported), which is the cold start on AWS.
    slowest = max(results["import_ms"].items(), key=lambda item: item[1]["as_deployed"]["import_ms"])
    found.append(
        {
            "target": "every handler import <= 300 ms (as deployed, tracing on)",
            "measured": f"{slowest[1]['as_deployed']['import_ms']} ms ({slowest[0]})",
            "met": slowest[1]["as_deployed"]["import_ms"] <= 300,
        }
    )
    costs = {size: entry["cost_per_1000_pages_usd"] for size, entry in sizes.items()}
    # Judged at 500 pages, as the overhead target is; smaller documents carry the per-job fixed costs
    # (state transitions, exporter start) over fewer pages.
    reference = costs.get("500", max(costs.values()))
    found.append(
        {
            "target": "cost <= $0.03 per 1,000 pages (at 500 pages)",
            "measured": ", ".join(f"{size} pages: ${c:.4f}" for size, c in costs.items()),
            "met": reference <= 0.03,
        }
    )
    return found


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "stage":
        stage_parser = argparse.ArgumentParser()
        stage_parser.add_argument("stage", choices=["stage"])
        stage_parser.add_argument("name", choices=sorted(STAGES))
        stage_parser.add_argument("--module", required=True)
        stage_parser.add_argument("--work", type=Path, required=True)
        ns = stage_parser.parse_args()
        print(json.dumps(run_stage(ns.name, ns.module, ns.work)))
    else:
        sys.path.insert(0, str(HERE))
        main()
