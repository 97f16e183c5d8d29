"""End-to-end wall time of `pagefan run` against a plain sequential loop over the same domain functions.

Both are measured in the same run, on the same generated document, so the ratio is comparable across
machines. `pagefan run` is timed as a user runs it (a fresh process, emulated account start included)
and from upload to COMPLETED, with 1 and 2 workers.

    .venv/bin/python benchmarks/e2e.py --pages 200
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pagefan.domain.analysis import analyse_page
from pagefan.domain.combine import write_document_json, write_document_text
from pagefan.domain.pdf_render import merge_pdf, svg_to_pdf
from pagefan.domain.split import document_metadata, document_outline, open_document, split_pages
from pagefan.domain.svg import render_page_svg
from pagefan.formats import DocumentInfo, SourceRef
from pagefan.local.samples import make_sample_pdf

ROOT = Path(__file__).resolve().parents[1]


def bare_loop(pdf: bytes) -> float:
    """Seconds for split, analysis, combine, SVG and PDF export of every page, one after another."""
    started = time.perf_counter()
    reader = open_document(pdf, max_bytes=len(pdf) + 1, max_pages=100_000)
    pages = [
        analyse_page(page, job_id="bench", page_number=number, max_content_bytes=50 * 1024 * 1024)
        for number, page in split_pages(reader)
    ]
    source = SourceRef(bucket="b", key="bench.pdf", version_id=None, etag="e", size=len(pdf))
    info = DocumentInfo("bench", source, len(pages), document_metadata(reader), document_outline(reader))
    write_document_json(job_id="bench", info=info, pages=pages, out=io.StringIO())
    write_document_text(pages, io.StringIO())
    svgs = [render_page_svg(page, title=f"page {page.page_number}", max_elements=20000) for page in pages]
    merge_pdf((svg_to_pdf(svg) for svg in svgs), metadata=info.metadata, outline=info.outline, out=io.BytesIO())
    return time.perf_counter() - started


def pagefan_run(path: Path, workers: int, out: Path) -> dict[str, float]:
    """Wall time of the `pagefan run` command and its upload-to-COMPLETED time."""
    started = time.perf_counter()
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "pagefan"), "run", str(path), "--workers", str(workers),
         "--out", str(out), "--json"],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"pagefan run failed ({completed.returncode}): {completed.stdout}{completed.stderr[-2000:]}")
    summary = json.loads(completed.stdout.splitlines()[-1])
    timings = summary["timings"]
    return {
        "wall_s": wall,
        "job_s": timings["seconds_to_completed"],
        # From the first page started to the last page counted: the part the workers share.
        "pages_s": timings["seconds_to_combining_and_exporting"] - timings["seconds_to_pages"],
        "pdf_export_ms": summary["functions"]["PdfExporter"]["total_ms"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "e2e-results.json")
    args = parser.parse_args()
    pdf = make_sample_pdf(args.pages, text_heavy=True)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / f"bench-{args.pages}.pdf"
        path.write_bytes(pdf)
        bare = bare_loop(pdf)
        runs = {workers: pagefan_run(path, workers, Path(scratch) / f"out{workers}") for workers in (1, 2)}
    report = {
        "pages": args.pages,
        "cores": os.cpu_count(),
        "bare_loop_s": round(bare, 2),
        **{f"pagefan_run_{w}_workers_wall_s": round(r["wall_s"], 2) for w, r in runs.items()},
        **{f"pagefan_run_{w}_workers_job_s": round(r["job_s"], 2) for w, r in runs.items()},
        "e2e_vs_bare_ratio": round(runs[2]["wall_s"] / bare, 2),
        "job_vs_bare_ratio": round(runs[2]["job_s"] / bare, 2),
        **{f"pages_phase_{w}_workers_s": round(r["pages_s"], 2) for w, r in runs.items()},
        "pages_phase_speedup_1_to_2_workers": round(runs[1]["pages_s"] / runs[2]["pages_s"], 2),
        "pdf_exporter_s": round(runs[2]["pdf_export_ms"] / 1000, 2),
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
