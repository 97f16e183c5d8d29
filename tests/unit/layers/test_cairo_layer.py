"""The cairo layer's fonts, as collect-fonts.sh assembles them.

The layer is built in a container (layers/cairo/Dockerfile), which this machine cannot run. Its font step is
a plain script, run here as the build runs it: on Debian's fonts (fonts-noto-core, fonts-noto-cjk and
fonts-liberation2, which `make renderers` installs), and on files named as Fedora-derived systems name them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
LAYER = ROOT / "layers" / "cairo"
SYSTEM_FONTS = Path("/usr/share/fonts")


def _collect(source: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(LAYER / "collect-fonts.sh"), str(source), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _without_arabic(source: Path, folder: Path) -> Path:
    """A copy of ``source`` without Noto Sans Arabic: links to its fonts, a fonts.conf of its own."""
    for path in source.rglob("*"):
        if path.is_file() and not path.name.startswith("NotoSansArabic"):
            copy = folder / path.relative_to(source)
            copy.parent.mkdir(parents=True, exist_ok=True)
            if path.name == "fonts.conf":
                shutil.copyfile(path, copy)
            else:
                copy.symlink_to(path)
    return folder


def test_debian_s_fonts_are_collected_with_the_layer_s_fonts_conf(tmp_path: Path) -> None:
    done = _collect(SYSTEM_FONTS, tmp_path / "fonts")
    assert done.returncode == 0, done.stderr
    collected = {path.name for path in (tmp_path / "fonts").iterdir()}
    assert {
        "NotoSansArabic-Regular.ttf",
        "NotoSansHebrew-Bold.ttf",
        "NotoSansCJK-Regular.ttc",
        "LiberationSans-Regular.ttf",
        "fonts.conf",
    } <= collected


def test_collecting_fails_naming_a_script_whose_font_is_missing(tmp_path: Path) -> None:
    source = _without_arabic(SYSTEM_FONTS, tmp_path / "source")
    done = _collect(source, tmp_path / "fonts")
    assert done.returncode == 1
    assert "Arabic: no Noto Sans Arabic" in done.stderr
    assert "Hebrew" not in done.stderr and "CJK" not in done.stderr


def test_collecting_takes_each_packaging_s_file_names_in_regular_and_bold_only(tmp_path: Path) -> None:
    # GIVEN font files named as Fedora-derived distributions (Amazon Linux 2023) package them: static and
    # variable fonts, the CJK collection and the Japanese CJK font, in more weights than the SVG uses
    wanted = {
        "dejavu-sans-fonts/DejaVuSans.ttf",
        "liberation-sans/LiberationSans-Regular.ttf",
        "google-noto-sans-arabic-vf-fonts/NotoSansArabic[wdth,wght].ttf",
        "google-noto/NotoSansHebrew-Regular.ttf",
        "google-noto/NotoSansHebrew-Bold.ttf",
        "google-noto-sans-cjk-vf-fonts/NotoSansCJK-VF.ttc",
        "google-noto-cjk/NotoSansCJK-Regular.ttc",
        "google-noto-cjk/NotoSansCJK-Bold.ttc",
        "google-noto-sans-cjk-jp-fonts/NotoSansCJKjp-Regular.otf",
    }
    unwanted = {
        "google-noto/NotoSansHebrew-Light.ttf",
        "google-noto/NotoSansArabicUI-Regular.ttf",
        "google-noto-sans-arabic-ui-vf-fonts/NotoSansArabicUI[wdth,wght].ttf",
        "google-noto-cjk/NotoSansCJK-Thin.ttc",
        "google-noto-cjk/NotoSerifCJK-Regular.ttc",
        "google-noto-sans-cjk-jp-fonts/NotoSansCJKjp-DemiLight.otf",
        "google-noto/NotoSansArmenian-Regular.ttf",
    }
    for name in wanted | unwanted:
        (tmp_path / "source" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "source" / name).write_bytes(b"")
    # WHEN the layer's fonts are collected from them
    done = _collect(tmp_path / "source", tmp_path / "fonts")
    # THEN exactly the regular and bold (or variable) fonts are taken, with fonts.conf
    assert done.returncode == 0, done.stderr
    collected = {path.name for path in (tmp_path / "fonts").iterdir()}
    assert collected == {Path(name).name for name in wanted} | {"fonts.conf"}
