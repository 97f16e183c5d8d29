"""Graphics: two engines weighed, the PageWorker before and after, output sizes, the SvgExporter with images.

Not a test; prints Markdown tables (the README's "Graphics engine" and "Performance" sections quote them).
Two graphics engines are measured the same way: pdfium (pagefan.domain.graphics, shipped) and a
prototype on pypdf alone (benchmarks/pypdf_graphics.py, which says what it covers and leaves out).

1. **Engines and PageWorker**: import time of each engine (alone, and beside pypdf, which the
   PageWorker imports for the text anyway). For a text-only page of the sample document and each
   fixture of tests/graphics_fixtures.py, in a fresh interpreter per measurement (so the peak resident
   memory is that work's own, native allocations included): pypdf's text analysis alone (what the
   PageWorker did before it read graphics), each engine's graphics alone, and the whole analysis with
   each (``read_page`` with pdfium; the same text analysis, then the prototype on the page pypdf has
   open); milliseconds per page (median of 5 after one warm-up; the figure is the median of
   ``--rounds`` such interpreters, the engines taking turns so that both see the same load) and peak
   RSS. SSIM and ink recall of each SVG against poppler's rendering of the source: text only, with
   each engine's graphics, and ``pdftocairo -svg``'s for reference (needs pdftoppm, rsvg-convert).
2. **Hostile suite**: every distinct page the Splitter makes of each class of tests/hostile/generator.py,
   read by each engine alone in a fresh interpreter under the PageWorker's time budget and memory
   ceiling and an address-space limit, killed past a time limit: completed, raised (a Python
   exception, the time budget's included), crashed (a signal, or no answer), hung (killed).
3. **Output size per page**: the source page, pagefan's SVG (images embedded), ``pdftocairo -svg``'s.
4. **SvgExporter with images**: a document of ``--pages`` pages (default 2,000) cycling through the
   fixtures goes through the bench's split, work and svg stages (benchmarks/bench.py, each in a fresh
   interpreter with its function's environment from the template); the svg stage's time and peak RSS,
   against the SvgExporter's 256 MB.

    .venv/bin/python benchmarks/engine.py                   # all four (about 15 minutes on 2 cores)
    .venv/bin/python benchmarks/engine.py --parts engine,hostile
    .venv/bin/python benchmarks/engine.py --pages 200       # a smaller document for part 4
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent

_WORKER = r"""
import io, json, resource, statistics, sys, time
sys.path.insert(0, "benchmarks")
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
if engine == "text":
    from pagefan.domain.analysis import _analyse as work
    run = lambda: work(pdf, job_id="j", page_number=1, max_content_bytes=10**8)
elif engine in ("pdfium", "pypdf"):
    if engine == "pdfium":
        from pagefan.domain.graphics import GraphicsLimits, read_graphics
    else:
        from pagefan.domain.graphics import GraphicsLimits
        from pypdf_graphics import read_graphics
    run = lambda: read_graphics(pdf, left=0, bottom=0, width=612, height=792, limits=GraphicsLimits())
elif engine == "page-pdfium":
    from pagefan.domain.analysis import read_page
    run = lambda: read_page(pdf, job_id="j", page_number=1, max_content_bytes=10**8)
else:  # page-pypdf: the same text analysis, the graphics read from the page pypdf has open
    from pagefan.domain.analysis import _analyse
    from pagefan.domain.graphics import GraphicsLimits
    from pagefan.domain.parsing import streams_up_to
    from pypdf_graphics import read_page_graphics

    def run():
        with streams_up_to(len(pdf)):
            result, (left, bottom), page = _analyse(pdf, job_id="j", page_number=1, max_content_bytes=10**8)
            size = {"width": result.width, "height": result.height}
            read_page_graphics(page, left=left, bottom=bottom, limits=GraphicsLimits(), **size)
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


def _median_ms(code: str) -> float:
    times = []
    for _ in range(9):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _import_ms(module: str, beside: str = "") -> float:
    """Milliseconds to import ``module`` in a fresh interpreter, after ``beside`` if given."""
    base = f"import {beside}" if beside else "pass"
    return _median_ms(f"{base}; import {module}") - _median_ms(base)


# What each graphics engine imports: pdfium's walker draws its bitmaps with Pillow; the prototype
# decodes with pypdf and Pillow (benchmarks/ on the path for it, as in the workers).
_ENGINE_IMPORTS = {
    "pdfium": "pypdfium2, PIL.Image, pagefan.domain.graphics",
    "pypdf": "sys; sys.path.insert(0, 'benchmarks'); import pypdf_graphics",
}


def _page_svgs(name: str) -> tuple[bytes, dict[str, str]]:
    """A fixture's source PDF and its SVGs: text only, with pdfium's graphics, with the prototype's.

    The text-only and prototype pages carry pypdf's runs alone; pdfium's page also carries the
    runs of annotation appearances that pdfium reads (the prototype does not).
    """
    from tests.graphics_fixtures import FIXTURES

    sys.path.insert(0, str(HERE))
    from pagefan.domain.analysis import _analyse, read_page
    from pagefan.domain.graphics import GraphicsLimits
    from pagefan.domain.parsing import streams_up_to
    from pagefan.domain.svg import render_page_svg
    from pypdf_graphics import read_page_graphics

    pdf = FIXTURES[name]()
    analysis = read_page(pdf, job_id="j", page_number=1, max_content_bytes=10**8)
    with streams_up_to(len(pdf)):
        text, (left, bottom), source = _analyse(pdf, job_id="j", page_number=1, max_content_bytes=10**8)
        prototype = read_page_graphics(
            source, left=left, bottom=bottom, width=text.width, height=text.height, limits=GraphicsLimits()
        )
    images = {image.sha256: image.data for image in [*analysis.images, *prototype.images.values()]}
    pages = {
        "text only": text,
        "pdfium": analysis.result,
        "pypdf": text.__class__(
            **{
                **text.__dict__,
                "graphics": prototype.graphics,
                "clips": prototype.clips,
                "omitted": prototype.omitted,
            }
        ),
    }
    return pdf, {
        label: render_page_svg(
            page, title=name, max_elements=10**4, images=lambda ref: images.get(ref.sha256)
        )
        for label, page in pages.items()
    }


def engine_table(rounds: int) -> None:
    from tests.graphics_fixtures import FIXTURES
    from tests.visual.scoring import ink_recall, poppler_svg, render_pdf, render_svg, ssim

    print("Import, milliseconds in a fresh interpreter less the baseline's (median of 9 each):\n")
    print("| engine | alone | beside pypdf (the PageWorker imports it for the text) |")
    print("|---|---:|---:|")
    for engine, modules in _ENGINE_IMPORTS.items():
        alone, beside = _import_ms(modules), _import_ms(modules, beside="pypdf")
        print(f"| {engine} | {alone:.0f} | {beside:.0f} |")
    print(
        f"\nms per page (median of 5 after a warm-up, in each of {rounds} fresh interpreters taking turns; "
        "the median of theirs) and peak RSS MB (the largest of theirs): "
        "pypdf's text analysis alone, each engine's graphics alone (opening the PDF included), and the "
        "whole analysis with each (the pypdf prototype reads the graphics from the page the text "
        "analysis has open):\n"
    )
    print(
        "| page | pypdf text ms | peak MB | pdfium graphics ms | peak MB | pypdf graphics ms | peak MB "
        "| whole analysis, pdfium ms | peak MB | whole analysis, pypdf ms | peak MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    engines = ("text", "pdfium", "pypdf", "page-pdfium", "page-pypdf")
    for name in ["text-only", *FIXTURES]:
        figures: dict[str, list[dict[str, float]]] = {engine: [] for engine in engines}
        for _ in range(rounds):
            for engine in engines:
                figures[engine].append(_measure(name, engine))
        cells = []
        for engine in engines:
            ms = statistics.median(figure["ms"] for figure in figures[engine])
            peak = max(figure["peak_mb"] for figure in figures[engine])
            cells += [f"{ms:.1f}", f"{peak:.0f}"]
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    print(
        "\nScore of each SVG against poppler's rendering of the source (grey, 40 dpi; "
        "tests/visual/scoring.py), with `pdftocairo -svg`'s SVG as the reference:\n"
    )
    print(
        "| page | SSIM text only | pdfium | pypdf | pdftocairo -svg | ink recall text only | pdfium | pypdf "
        "| pdftocairo -svg |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    totals: dict[str, list[float]] = {}
    for name in FIXTURES:
        pdf, svgs = _page_svgs(name)
        source = render_pdf(pdf)
        drawn = {label: render_svg(svg) for label, svg in svgs.items()}
        drawn["pdftocairo -svg"] = render_svg(poppler_svg(pdf))
        scores = [ssim(source, image) for image in drawn.values()]
        scores += [ink_recall(source, image) for image in drawn.values()]
        for index, value in enumerate(scores):
            totals.setdefault(str(index), []).append(value)
        print(f"| {name} | " + " | ".join(f"{value:.3f}" for value in scores) + " |")
    means = [statistics.mean(values) for values in totals.values()]
    print("| **mean** | " + " | ".join(f"**{value:.3f}**" for value in means) + " |")


_HOSTILE_WORKER = r"""
import json, resource, sys
path, engine, left, bottom, width, height = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:7])
address_space, budget, memory_mb = int(sys.argv[7]), float(sys.argv[8]), int(sys.argv[9])
resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
sys.path.insert(0, "benchmarks")
from pagefan.domain.graphics import GraphicsLimits
from pagefan.domain.parsing import streams_up_to
from pagefan.errors import PageFailed
from pagefan.stages.time_budget import memory_ceiling, time_budget
if engine == "pdfium":
    from pagefan.domain.graphics import read_graphics
else:
    from pypdf_graphics import read_graphics
pdf = open(path, "rb").read()
try:
    # The PageWorker's guards around the analysis (pagefan.stages.page_analysis.process_page).
    with memory_ceiling(memory_mb, "Page"), time_budget(budget, "Page"), streams_up_to(len(pdf)):
        box = {"left": left, "bottom": bottom, "width": width, "height": height}
        found = read_graphics(pdf, limits=GraphicsLimits(), **box)
except PageFailed as failure:
    print(json.dumps({"outcome": "raised", "error": failure.code}))
except (Exception, MemoryError) as exc:
    print(json.dumps({"outcome": "raised", "error": type(exc).__name__}))
else:
    codes = sorted({omission.code.value for omission in found.omitted})
    print(json.dumps({"outcome": "completed", "graphics": len(found.graphics), "omitted": codes}))
"""

_OUTCOMES = ("completed", "raised", "crashed", "hung")
# The hostile run's account limits (tests/hostile/test_hostile_runs.py; MaxPages is the template's default).
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_PAGES = 5000


def _hostile_pages(hostile: Any) -> tuple[list[bytes], str | None]:
    """The distinct one-page PDFs the Splitter makes of a class's document, or why it refuses it."""
    from pagefan.domain.split import open_document, split_pages
    from pagefan.errors import DocumentRejected

    try:
        reader = open_document(hostile.data, max_bytes=MAX_UPLOAD_BYTES, max_pages=MAX_PAGES)
        pages = [page for _, page in split_pages(reader)]
    except DocumentRejected as rejected:
        return [], rejected.code
    return list(dict.fromkeys(pages)), None


def _box(pdf: bytes) -> list[float]:
    """The page's MediaBox (left, bottom, width, height) as the PageWorker reads it; Letter if unreadable."""
    from pypdf import PdfReader

    try:
        box = PdfReader(io.BytesIO(pdf), strict=False).pages[0].mediabox
        left, right = sorted((float(box.left), float(box.right)))
        bottom, top = sorted((float(box.bottom), float(box.top)))
    except Exception:  # any failure: the engines still get the page
        return [0.0, 0.0, 612.0, 792.0]
    return [left, bottom, right - left, top - bottom]


def _limit_address_space(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def _hostile_run(
    pdf: bytes, engine: str, budget: float, timeout: float, address_space: int
) -> dict[str, Any]:
    from pagefan.stages.page_analysis import ANALYSIS_MEMORY_MB

    with tempfile.NamedTemporaryFile(prefix="pagefan-hostile-", suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        arguments = [*map(str, _box(pdf)), str(address_space), str(budget), str(ANALYSIS_MEMORY_MB)]
        started = time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, "-c", _HOSTILE_WORKER, file.name, engine, *arguments],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=timeout,
                preexec_fn=_limit_address_space(address_space),
            )
        except subprocess.TimeoutExpired:
            return {"outcome": "hung", "seconds": timeout}
    seconds = time.perf_counter() - started
    lines = done.stdout.strip().splitlines()
    if done.returncode < 0:
        return {"outcome": "crashed", "error": signal.Signals(-done.returncode).name, "seconds": seconds}
    if done.returncode or not lines:
        tail = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"outcome": "crashed", "error": f"exit {done.returncode}: {tail[:80]}", "seconds": seconds}
    return {**json.loads(lines[-1]), "seconds": seconds}


def _cell(results: list[dict[str, Any]]) -> str:
    """``2 completed (shading_approximated), 1 raised (time_budget)``: a class's outcomes for one engine."""
    parts = []
    for outcome in _OUTCOMES:
        chosen = [result for result in results if result["outcome"] == outcome]
        if not chosen:
            continue
        details = sorted(
            {
                detail
                for result in chosen
                for detail in (result.get("omitted") or ([result["error"]] if "error" in result else []))
            }
        )
        parts.append(f"{len(chosen)} {outcome}" + (f" ({', '.join(details)})" if details else ""))
    return ", ".join(parts)


def hostile_table(budget: float, timeout: float, address_space_gib: float) -> None:
    from tests.hostile.generator import AT_MAX_PAGES, hostile_inputs

    address_space = int(address_space_gib * 1024**3)
    print(
        "\nHostile suite: each distinct page the Splitter makes of each class's document, read by each "
        f"engine alone in a fresh interpreter under the PageWorker's guards ({budget:g} s time budget, "
        f"{_memory_mb()} MB data ceiling) and an address-space limit of {address_space_gib:g} GiB; "
        f"killed after {timeout:g} s (hung). raised = a Python exception (the time budget's included), "
        "crashed = ended by a signal or without an answer.\n"
    )
    print("| class | pages | pdfium | pypdf prototype |")
    print("|---|---:|---|---|")
    totals: dict[str, dict[str, int]] = {
        engine: dict.fromkeys(_OUTCOMES, 0) for engine in ("pdfium", "pypdf")
    }
    slowest: dict[str, float] = {"pdfium": 0.0, "pypdf": 0.0}
    refused = []
    for hostile in hostile_inputs(
        sentinel_url="http://127.0.0.1:9",
        marker_path="/nonexistent",
        max_upload_bytes=MAX_UPLOAD_BYTES,
        max_pages=MAX_PAGES,
    ):
        if hostile.name == AT_MAX_PAGES:
            continue
        pages, rejection = _hostile_pages(hostile)
        if rejection is not None:
            refused.append(f"{hostile.name} ({rejection})")
            continue
        cells = []
        for engine in ("pdfium", "pypdf"):
            results = [_hostile_run(page, engine, budget, timeout, address_space) for page in pages]
            for result in results:
                totals[engine][result["outcome"]] += 1
                if result["outcome"] == "completed":
                    slowest[engine] = max(slowest[engine], result["seconds"])
            cells.append(_cell(results))
        print(f"| {hostile.name} | {len(pages)} | {cells[0]} | {cells[1]} |", flush=True)
    print(
        "| **all pages** | | "
        + " | ".join(
            ", ".join(f"{count} {outcome}" for outcome, count in totals[engine].items()) for engine in totals
        )
        + " |"
    )
    print(
        f"\nSlowest completed page (process start to end): pdfium {slowest['pdfium']:.1f} s, "
        f"pypdf prototype {slowest['pypdf']:.1f} s."
    )
    print(f"\nRefused by the Splitter, so read by neither engine: {', '.join(refused)}.")


def _memory_mb() -> int:
    from pagefan.stages.page_analysis import ANALYSIS_MEMORY_MB

    return ANALYSIS_MEMORY_MB


def size_table() -> None:
    from tests.graphics_fixtures import FIXTURES
    from tests.visual.scoring import poppler_svg

    print("\n| page | source PDF bytes | pagefan SVG bytes | pdftocairo SVG bytes |")
    print("|---|---:|---:|---:|")
    for name in FIXTURES:
        pdf, svgs = _page_svgs(name)
        svg = svgs["pdfium"]
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


PARTS = ("engine", "hostile", "size", "svg")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000, help="pages of the SvgExporter document (part 4)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="fresh interpreters per engine and page (part 1)"
    )
    parser.add_argument("--parts", default=",".join(PARTS), help=f"which parts, of {','.join(PARTS)}")
    parser.add_argument("--budget", type=float, default=10.0, help="hostile pages' time budget, seconds")
    parser.add_argument("--timeout", type=float, default=20.0, help="hostile pages' kill time, seconds")
    parser.add_argument("--address-space", type=float, default=2.0, help="hostile pages' RLIMIT_AS, GiB")
    args = parser.parse_args()
    parts = args.parts.split(",")
    if unknown := set(parts) - set(PARTS):
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    sys.path.insert(0, str(ROOT))
    if "engine" in parts:
        engine_table(args.rounds)
    if "hostile" in parts:
        hostile_table(args.budget, args.timeout, args.address_space)
    if "size" in parts:
        size_table()
    if "svg" in parts:
        svg_exporter_with_images(args.pages)


if __name__ == "__main__":
    main()
