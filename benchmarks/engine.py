"""The graphics engine measured: pypdf's text analysis alone (today) against pdfium's graphics on top.

For each fixture of tests/graphics_fixtures.py and a text-only page of the sample document, in a
fresh interpreter per engine and page (so peak memory is that work's own, native allocations
included): milliseconds per page (median of 5 after one warm-up) and peak resident memory
(ru_maxrss). Import time of each library in a fresh interpreter (median of 5). Ink recall of the
SVG against poppler with and without the graphics (needs pdftoppm and rsvg-convert).

    .venv/bin/python benchmarks/engine.py            # prints a Markdown table
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_WORKER = r"""
import json, resource, statistics, sys, time
from tests.graphics_fixtures import FIXTURES
from pagefan.local.samples import make_sample_pdf
from pagefan.domain.split import split_pages
name, engine = sys.argv[1], sys.argv[2]
if name == "text-only":
    import io
    from pypdf import PdfReader, PdfWriter
    reader = PdfReader(io.BytesIO(make_sample_pdf(1, seed=11, words_per_page=900)))
    writer = PdfWriter()
    writer.add_page(reader.pages[0])
    out = io.BytesIO()
    writer.write(out)
    pdf = out.getvalue()
else:
    pdf = FIXTURES[name]()
if engine == "pypdf":
    from pagefan.domain.analysis import _analyse as work
    run = lambda: work(pdf, job_id="j", page_number=1, max_content_bytes=10**8)
else:
    from pagefan.domain.graphics import GraphicsLimits, read_graphics
    run = lambda: read_graphics(pdf, left=0, bottom=0, width=612, height=792, limits=GraphicsLimits())
run()
times = []
for _ in range(5):
    started = time.perf_counter(); run(); times.append((time.perf_counter() - started) * 1000)
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"ms": statistics.median(times), "peak_mb": peak_mb}))
"""


def _measure(name: str, engine: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _WORKER, name, engine], cwd=ROOT, capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _import_ms(module: str) -> float:
    times = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
        times.append((time.perf_counter() - started) * 1000)
    baseline = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        baseline.append((time.perf_counter() - started) * 1000)
    return statistics.median(times) - statistics.median(baseline)


def _recalls(name: str) -> tuple[float, float]:
    from tests.graphics_fixtures import FIXTURES
    from tests.visual.scoring import ink_recall, render_pdf, render_svg

    from pagefan.domain.analysis import read_page
    from pagefan.domain.svg import render_page_svg

    pdf = FIXTURES[name]()
    analysis = read_page(pdf, job_id="j", page_number=1, max_content_bytes=10**8)
    images = {image.sha256: image.data for image in analysis.images}
    source = render_pdf(pdf)
    text_only = analysis.result.__class__(**{**analysis.result.__dict__, "graphics": [], "clips": []})
    before = ink_recall(source, render_svg(render_page_svg(text_only, title="", max_elements=10**4)))
    after = ink_recall(
        source,
        render_svg(
            render_page_svg(
                analysis.result, title="", max_elements=10**4, images=lambda ref: images.get(ref.sha256)
            )
        ),
    )
    return before, after


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from tests.graphics_fixtures import FIXTURES

    print(f"import pypdf: {_import_ms('pypdf'):.0f} ms; import pypdfium2: {_import_ms('pypdfium2'):.0f} ms\n")
    print(
        "| page | pypdf text ms | pypdf peak MB | pdfium graphics ms | pdfium peak MB "
        "| ink recall text only | with graphics |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in ["text-only", *FIXTURES]:
        text, graphics = _measure(name, "pypdf"), _measure(name, "pdfium")
        recall = ("", "") if name == "text-only" else tuple(f"{value:.3f}" for value in _recalls(name))
        print(
            f"| {name} | {text['ms']:.1f} | {text['peak_mb']:.0f} | {graphics['ms']:.1f} "
            f"| {graphics['peak_mb']:.0f} | {recall[0]} | {recall[1]} |"
        )


if __name__ == "__main__":
    main()
