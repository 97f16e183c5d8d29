"""Render a page three ways and score each against poppler's rendering of the source.

The source PDF and the rebuilt PDF are rendered by poppler (``pdftoppm``); an SVG (pagefan's, or
``pdftocairo -svg``'s for comparison) is rasterised by cairo, as the PdfExporter draws it. All are
grey at :data:`DPI`. Two scores: SSIM (structural similarity, Wang et al. 2004, 7x7 uniform
windows) and ink recall, the share of the source's dark pixels that the output also inks within
:data:`TOLERANCE_PX` pixels.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from pagefan.domain.pdf_render import svg_to_png

DPI = 40
TOLERANCE_PX = 2
DARK = 128  # a source pixel darker than this is ink
INKED = 200  # an output pixel darker than this inks
_WINDOW = 7


def require_poppler() -> None:
    """Fail clearly when the renderers are missing (``make test`` installs them)."""
    missing = [tool for tool in ("pdftoppm", "pdftocairo", "rsvg-convert") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(
            f"{', '.join(missing)} not found: install poppler-utils and librsvg2-bin (make renderers does)"
        )


def render_pdf(pdf: bytes, dpi: int = DPI) -> np.ndarray:
    """Page 1 of ``pdf`` in grey, rendered by pdftoppm."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                str(dpi),
                "-gray",
                "-png",
                "-singlefile",
                "-f",
                "1",
                "-l",
                "1",
                str(source),
                str(Path(folder) / "out"),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return _grey((Path(folder) / "out.png").read_bytes())


def poppler_svg(pdf: bytes) -> str:
    """Page 1 of ``pdf`` as ``pdftocairo -svg`` draws it (the reference for SSIM)."""
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "in.pdf", Path(folder) / "out.svg"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftocairo", "-svg", "-f", "1", "-l", "1", str(source), str(target)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return target.read_text(encoding="utf-8")


def render_svg(svg: str, dpi: int = DPI) -> np.ndarray:
    """An SVG in grey, rasterised by librsvg (``rsvg-convert``, as a browser-like viewer) on white."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.svg"
        source.write_text(svg, encoding="utf-8")
        done = subprocess.run(
            [
                "rsvg-convert",
                "--dpi-x",
                str(dpi),
                "--dpi-y",
                str(dpi),
                "--background-color",
                "white",
                str(source),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return _grey(done.stdout)


def render_svg_with_cairosvg(svg: str, dpi: int = DPI) -> np.ndarray:
    """An SVG in grey, rasterised by cairosvg, as the PdfExporter draws it."""
    return _grey(svg_to_png(svg, dpi=dpi))


def _grey(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    if image.mode in ("RGBA", "LA", "P"):
        background = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return np.asarray(image.convert("L"), dtype=np.float64)


def _same_size(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both images cropped to their common size (renderers round the page size differently)."""
    height, width = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    return a[:height, :width], b[:height, :width]


def _box_mean(image: np.ndarray) -> np.ndarray:
    """Mean over every 7x7 window (valid positions only), by summed-area table."""
    table = np.pad(image, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    w = _WINDOW
    total = table[w:, w:] - table[:-w, w:] - table[w:, :-w] + table[:-w, :-w]
    return total / (w * w)


def ssim(source: np.ndarray, output: np.ndarray) -> float:
    """Mean structural similarity of two grey images (0-255)."""
    a, b = _same_size(source, output)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = _box_mean(a), _box_mean(b)
    var_a = _box_mean(a * a) - mu_a**2
    var_b = _box_mean(b * b) - mu_b**2
    cov = _box_mean(a * b) - mu_a * mu_b
    index = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(index.mean())


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    grown = mask.copy()
    height, width = mask.shape
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            shifted = np.zeros_like(mask)
            shifted[max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = mask[
                max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)
            ]
            grown |= shifted
    return grown


def ink_recall(source: np.ndarray, output: np.ndarray) -> float:
    """Share of the source's dark pixels that the output inks within TOLERANCE_PX pixels (1.0 if none)."""
    a, b = _same_size(source, output)
    dark = a < DARK
    if not dark.any():
        return 1.0
    inked = _dilate(b < INKED, TOLERANCE_PX)
    return float((dark & inked).sum() / dark.sum())


@dataclass(frozen=True)
class Scores:
    """One output's scores against the source's rendering."""

    ssim: float
    ink_recall: float


def score(source: np.ndarray, output: np.ndarray) -> Scores:
    """SSIM and ink recall of ``output`` against ``source``."""
    return Scores(ssim=ssim(source, output), ink_recall=ink_recall(source, output))
