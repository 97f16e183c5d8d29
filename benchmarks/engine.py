"""Graphics: the engine measured, the PageWorker before and after, output sizes, the SvgExporter with images.

Not a test; prints Markdown tables (the README's "Graphics engine" and "Performance" sections quote them).

1. **Engine and PageWorker**: for a text-only page of the sample document and each fixture of
   tests/graphics_fixtures.py, in a fresh interpreter per measurement (so the peak resident memory is
   that work's own, native allocations included): pypdf's text analysis alone (what the PageWorker did
   before it read graphics), pdfium's graphics alone, and the whole analysis the PageWorker now runs
   (``read_page``); milliseconds per page (median of 5 after one warm-up) and peak RSS. Ink recall of
   the SVG against poppler's rendering, text only and with the graphics (needs pdftoppm, rsvg-convert).
2. **Output size per page**: the source page, pagefan's SVG (images embedded), ``pdftocairo -svg``'s.
3. **SvgExporter with images**: a document of ``--pages`` pages (default 2,000) cycling through the
   fixtures goes through the bench's split, work and svg stages (benchmarks/bench.py, each in a fresh
   interpreter with its function's environment from the template); the svg stage's time and peak RSS,
   against the SvgExporter's 256 MB.

    .venv/bin/python benchmarks/engine.py                 # all three (about 4 minutes on 2 cores)
    .venv/bin/python benchmarks/engine.py --pages 200     # a smaller document for part 3
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent

_WORKER = r"""
import io, json, resource, statistics, sys, time
from tests.graphics_fixtures import FIXTURES
from tests.documents import make_sample_pdf
name, engine = sys.argv[1], sys.argv[2]
if name == "text-only":
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
elif engine == "pdfium":
    from pagefan.domain.graphics import GraphicsLimits, read_graphics
    run = lambda: read_graphics(pdf, left=0, bottom=0, width=612, height=792, limits=GraphicsLimits())
else:
    from pagefan.domain.analysis import read_page
    run = lambda: read_page(pdf, job_id="j", page_number=1, max_content_bytes=10**8)
run()
times = []
for _ in range(5):
    started = time.perf_counter()
    run()
    times.append((time.perf_counter() - started) * 1000)
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
    def median_ms(code: str) -> float:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    return median_ms(f"import {module}") - median_ms("pass")


def _page_svg(name: str) -> tuple[bytes, str, str]:
    """A fixture's source PDF, its SVG as pagefan draws it, and its text-only SVG."""
    from tests.graphics_fixtures import FIXTURES

    from pagefan.domain.analysis import read_page
    from pagefan.domain.svg import render_page_svg

    pdf = FIXTURES[name]()
    analysis = read_page(pdf, job_id="j", page_number=1, max_content_bytes=10**8)
    images = {image.sha256: image.data for image in analysis.images}
    page = analysis.result
    text_only = page.__class__(**{**page.__dict__, "graphics": [], "clips": []})
    return (
        pdf,
        render_page_svg(page, title=name, max_elements=10**4, images=lambda ref: images.get(ref.sha256)),
        render_page_svg(text_only, title=name, max_elements=10**4),
    )


def engine_table() -> None:
    from tests.graphics_fixtures import FIXTURES
    from tests.visual.scoring import ink_recall, render_pdf, render_svg

    print(f"import pypdf: {_import_ms('pypdf'):.0f} ms; import pypdfium2: {_import_ms('pypdfium2'):.0f} ms\n")
    print(
        "| page | before: pypdf text ms | peak MB | pdfium graphics ms | peak MB | after: whole analysis ms "
        "| peak MB | ink recall text only | with graphics |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in ["text-only", *FIXTURES]:
        text, graphics, page = (_measure(name, engine) for engine in ("pypdf", "pdfium", "page"))
        recall = ["", ""]
        if name != "text-only":
            pdf, svg, text_svg = _page_svg(name)
            source = render_pdf(pdf)
            recall = [f"{ink_recall(source, render_svg(drawn)):.3f}" for drawn in (text_svg, svg)]
        print(
            f"| {name} | {text['ms']:.1f} | {text['peak_mb']:.0f} | {graphics['ms']:.1f} "
            f"| {graphics['peak_mb']:.0f} | {page['ms']:.1f} | {page['peak_mb']:.0f} "
            f"| {recall[0]} | {recall[1]} |"
        )


def size_table() -> None:
    from tests.graphics_fixtures import FIXTURES
    from tests.visual.scoring import poppler_svg

    print("\n| page | source PDF bytes | pagefan SVG bytes | pdftocairo SVG bytes |")
    print("|---|---:|---:|---:|")
    for name in FIXTURES:
        pdf, svg, _ = _page_svg(name)
        print(f"| {name} | {len(pdf):,} | {len(svg.encode()):,} | {len(poppler_svg(pdf).encode()):,} |")


def _graphics_document(pages: int) -> bytes:
    from pypdf import PdfReader, PdfWriter
    from tests.graphics_fixtures import FIXTURES

    sources = [PdfReader(io.BytesIO(build())) for build in FIXTURES.values()]
    writer = PdfWriter()
    for number in range(pages):
        writer.add_page(sources[number % len(sources)].pages[0])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def svg_exporter_with_images(pages: int) -> None:
    sys.path.insert(0, str(HERE))
    import bench

    functions = bench.template_functions()
    with tempfile.TemporaryDirectory(prefix="pagefan-engine-") as scratch:
        work = Path(scratch)
        (work / "document.pdf").write_bytes(_graphics_document(pages))
        figures = {}
        for stage in ("split", "work", "svg"):
            spec = functions[bench.STAGES[stage]]
            done = bench._python(
                {**spec["env"], "PYTHONHASHSEED": "0"},
                str(HERE / "bench.py"),
                "stage",
                stage,
                "--module",
                spec["module"],
                "--work",
                str(work),
            )
            if done.returncode:
                raise SystemExit(f"stage {stage} failed:\n{done.stderr[-3000:]}")
            figures[stage] = json.loads(done.stdout.strip().splitlines()[-1])
        svg_bytes = sum(path.stat().st_size for path in (work / "svg").iterdir())
        images = len(list((work / "images").iterdir()))
        memory = functions["SvgExporter"]["memory_mb"]
    print(f"\nSvgExporter, {pages} graphics pages ({images} distinct images stored beside the results):")
    print("| stage | seconds | ms/page | peak RSS MB |")
    print("|---|---:|---:|---:|")
    for stage, figure in figures.items():
        print(
            f"| {stage} | {figure['seconds']:.1f} | {figure['seconds'] * 1000 / pages:.1f} "
            f"| {figure['peak_rss_mb']:.0f} |"
        )
    print(f"\nsvg peak {figures['svg']['peak_rss_mb']:.0f} MB of the SvgExporter's {memory} MB; ", end="")
    print(f"{svg_bytes / pages / 1024:.1f} KiB of SVG a page")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000, help="pages of the SvgExporter document (part 3)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    engine_table()
    size_table()
    svg_exporter_with_images(args.pages)


if __name__ == "__main__":
    main()
