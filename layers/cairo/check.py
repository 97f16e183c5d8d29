"""Check of the cairo layer: cairo loads from the layer, and every script the SVG names is drawn in its font.

The Dockerfile's check stage runs it inside the python3.13 Lambda image, with the layer under /opt and
FONTCONFIG_PATH=/opt/fonts as the functions have it; the build fails unless it passes. It needs only what
that image has and the dependency layer brings (cairosvg, cairocffi, pypdf).

    FONTCONFIG_PATH=/opt/fonts python3 check.py [--lib-dir /opt/lib]

It draws an SVG through cairosvg, as the PdfExporter does, and fails, naming what is wrong, unless

- libcairo was loaded from the layer's library folder (``--lib-dir``, which ``LD_LIBRARY_PATH`` must list);
- the PDF embeds a font for the Latin line (fonts.conf maps Helvetica to Liberation Sans, else DejaVu);
- for Arabic, Hebrew and CJK, the PDF embeds the Noto font the SVG names for that script
  (``pagefan.domain.scripts``), and cairo finds a real glyph, not .notdef (a box), for each character of
  the line, in regular and in bold. A layer without one of those fonts would draw that script as boxes
  without any error: that is the failure this check exists to catch.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Script:
    """A writing system the SVG draws in a font of its own, and a line of it."""

    name: str
    family: str  # the font-family the SVG names (pagefan.domain.scripts)
    sample: str


# "Hello, world" in Arabic and in Hebrew; "Japanese", "Chinese" and "Korean" (Hangul) in those languages.
SCRIPTS = (
    Script("Arabic", "Noto Sans Arabic", "مرحبا بالعالم"),
    Script("Hebrew", "Noto Sans Hebrew", "שלום עולם"),
    Script("CJK", "Noto Sans CJK JP", "日本語 中文 한국어"),
)
LATIN = Script("Latin", "Helvetica", "pagefan cairo layer")
# A subset font is named "ABCDEF+PostScriptName" (PDF 32000-1, 9.6.4).
_SUBSET_PREFIX = re.compile(r"^[A-Z]{6}\+")


def _svg() -> bytes:
    """One line of Latin, then each script's line in regular and in bold, as pagefan's SVG writes them."""
    lines = [f'<text x="5" y="20" font-family="{LATIN.family}" font-size="12">{LATIN.sample}</text>']
    y = 20
    for script in SCRIPTS:
        for weight in ("", ' font-weight="bold"'):
            y += 20
            family = f"'{script.family}', sans-serif"
            text = escape(script.sample)
            lines.append(f'<text x="5" y="{y}" font-family="{family}" font-size="12"{weight}>{text}</text>')
    height = y + 10
    body = "".join(lines)
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="300" height="{height}">{body}</svg>'.encode()


def _embedded_fonts(pdf: bytes) -> list[str]:
    """The names of the fonts the PDF's page embeds, without subset prefix ("NotoSansArabic-Regular")."""
    from pypdf import PdfReader

    resources: Any = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]
    names = []
    for reference in resources["/Font"].values():
        font = reference.get_object()
        # A composite (Type0) font keeps its program in its descendant's descriptor.
        described = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
        descriptor = described.get("/FontDescriptor")
        descriptor = descriptor.get_object() if descriptor is not None else {}
        if any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")):
            names.append(_SUBSET_PREFIX.sub("", str(font.get("/BaseFont", "")).lstrip("/")))
    return names


def _notdef_count(family: str, text: str, *, bold: bool) -> int:
    """How many of ``text``'s characters cairo draws as glyph 0 (.notdef) in ``family``, as cairosvg asks."""
    import cairocffi  # type: ignore[import-untyped]  # comes with cairosvg

    context = cairocffi.Context(cairocffi.PDFSurface(None, 10, 10))
    weight = cairocffi.FONT_WEIGHT_BOLD if bold else cairocffi.FONT_WEIGHT_NORMAL
    context.select_font_face(family, cairocffi.FONT_SLANT_NORMAL, weight)
    context.set_font_size(12)
    glyphs = context.get_scaled_font().text_to_glyphs(0, 0, text, with_clusters=False)
    return sum(1 for glyph in glyphs if glyph[0] == 0)


def _boxes(script: Script, *, bold: bool) -> str | None:
    """Why ``script``'s line draws boxes, or None when every character has a glyph."""
    missing = _notdef_count(script.family, script.sample, bold=bold)
    if not missing:
        return None
    weight = " in bold" if bold else ""
    return (
        f"{script.name} text draws {missing} of its {len(script.sample)} characters as boxes (.notdef) "
        f"with the font fontconfig gives for '{script.family}'{weight}"
    )


def problems(pdf: bytes, loaded: list[str], lib_dir: str) -> list[str]:
    """What is wrong with the layer, one sentence each; empty when it is fit to ship."""
    if not pdf.startswith(b"%PDF"):
        return ["cairosvg did not produce a PDF"]
    found = []
    if not any(path.startswith(lib_dir.rstrip("/") + "/") for path in loaded):
        found.append(f"libcairo was not loaded from {lib_dir}: {sorted(set(loaded))}")
    fonts = _embedded_fonts(pdf)
    # PostScript names are the family's without spaces ("NotoSansCJKjp-Regular" for Noto Sans CJK JP).
    script_fonts = {script.name: script.family.replace(" ", "").lower() for script in SCRIPTS}
    if all(name.lower().startswith(tuple(script_fonts.values())) for name in fonts):
        found.append("no font embedded for the Latin line: the layer's fonts folder has no Latin font")
    reasons = [_boxes(LATIN, bold=False)]
    for script in SCRIPTS:
        if not any(name.lower().startswith(script_fonts[script.name]) for name in fonts):
            embedded = ", ".join(sorted(set(fonts))) or "no font"
            found.append(
                f"{script.name} text is not drawn with {script.family} (the PDF embeds {embedded}): "
                f"the layer's fonts folder has no {script.family}"
            )
        reasons += [_boxes(script, bold=False), _boxes(script, bold=True)]
    return found + [reason for reason in reasons if reason is not None]


def main() -> None:
    """Check the layer in this environment; exit non-zero with the reasons when it is not fit to ship."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--lib-dir", default="/opt/lib", help="where libcairo must be loaded from (Lambda's /opt/lib)"
    )
    lib_dir = parser.parse_args().lib_dir
    if lib_dir not in os.environ.get("LD_LIBRARY_PATH", "").split(":"):
        sys.exit(f"LD_LIBRARY_PATH lacks {lib_dir}: this is not the environment the layer is checked in")
    fonts_dir = os.environ.get("FONTCONFIG_PATH", "")
    if not os.path.isfile(os.path.join(fonts_dir, "fonts.conf")):
        sys.exit(f"FONTCONFIG_PATH ({fonts_dir!r}) has no fonts.conf: set it to the layer's fonts folder")

    import cairosvg  # loads libcairo.so.2 through cairocffi

    pdf = cairosvg.svg2pdf(bytestring=_svg())
    with open("/proc/self/maps") as maps:
        loaded = [line.split()[-1] for line in maps if "libcairo.so" in line]
    found = problems(pdf, loaded, lib_dir)
    if found:
        sys.exit("cairo layer check failed:\n" + "\n".join(f"- {problem}" for problem in found))
    fonts = ", ".join(sorted(set(_embedded_fonts(pdf))))
    print(f"cairo layer OK: {len(pdf)} bytes of PDF, libcairo from {loaded[0]}, fonts {fonts}")


if __name__ == "__main__":
    main()
