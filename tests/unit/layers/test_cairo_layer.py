"""The cairo layer's fonts: collect-fonts.sh assembles them; check.py shows each script in its Noto font.

The layer is built in a container (layers/cairo/Dockerfile), which this machine cannot run. Its font steps are
plain scripts, run here as the build runs them: collect-fonts.sh on Debian's fonts (fonts-noto-core,
fonts-noto-cjk and fonts-liberation2, which `make renderers` installs), then check.py with this machine's
cairo and a fontconfig that sees only the collected folder.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest

from pagefan.domain.scripts import SCRIPT_FAMILIES, script_family

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


def _relocate(fonts: Path, cache: Path) -> None:
    """Point the collected fonts.conf at ``fonts``, wherever the layer's own says the fonts are in Lambda."""
    config = fonts / "fonts.conf"
    text = config.read_text(encoding="utf-8")
    root = ET.fromstring(text)
    for tag, place in (("dir", fonts), ("cachedir", cache)):
        element = root.find(tag)
        assert element is not None and element.text, f"the layer's fonts.conf has no <{tag}>"
        text = text.replace(f"<{tag}>{element.text}</{tag}>", f"<{tag}>{place}</{tag}>")
    config.write_text(text, encoding="utf-8")


def _cairo_lib_dir() -> str:
    """The folder of the libcairo that cairocffi loads here: check.py's stand-in for the layer's /opt/lib."""
    import cairocffi  # type: ignore[import-untyped]  # noqa: F401  # loads libcairo

    with open("/proc/self/maps") as maps:
        paths = [line.split()[-1] for line in maps if "libcairo.so" in line]
    return os.path.dirname(paths[0])


def _check(fonts: Path) -> subprocess.CompletedProcess[str]:
    """Run check.py as the Dockerfile's check stage does, with this machine's cairo for the layer's."""
    lib_dir = _cairo_lib_dir()
    environment = {key: value for key, value in os.environ.items() if key != "FONTCONFIG_FILE"}
    environment |= {"FONTCONFIG_PATH": str(fonts), "LD_LIBRARY_PATH": lib_dir}
    return subprocess.run(
        [sys.executable, str(LAYER / "check.py"), "--lib-dir", lib_dir],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def layer_fonts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fonts folder collect.sh assembles, from Debian's fonts, with fonts.conf pointing at it."""
    fonts = tmp_path_factory.mktemp("layer") / "fonts"
    done = _collect(SYSTEM_FONTS, fonts)
    assert done.returncode == 0, done.stderr
    _relocate(fonts, tmp_path_factory.mktemp("fontconfig-cache"))
    return fonts


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


def test_the_layer_s_fonts_draw_every_script_in_its_noto_font(layer_fonts: Path) -> None:
    done = _check(layer_fonts)
    assert done.returncode == 0, done.stderr
    for font in (
        "NotoSansArabic-Regular",
        "NotoSansHebrew-Regular",
        "NotoSansCJKjp-Regular",
        "LiberationSans",
    ):
        assert font in done.stdout


def test_without_the_arabic_font_the_check_fails_naming_arabic(layer_fonts: Path, tmp_path: Path) -> None:
    # GIVEN the layer's fonts without Noto Sans Arabic
    fonts = _without_arabic(layer_fonts, tmp_path / "fonts")
    _relocate(fonts, tmp_path / "fontconfig-cache")
    # WHEN the layer is checked
    done = _check(fonts)
    # THEN it fails, saying Arabic is not drawn in its font, and nothing else. (The font fontconfig falls
    # back to is its own choice, with Arabic glyphs or without: the embedded font's name tells either way.)
    assert done.returncode != 0
    reasons = [line for line in done.stderr.splitlines() if line.startswith("- ")]
    assert reasons[0].startswith("- Arabic text is not drawn with Noto Sans Arabic (the PDF embeds "), reasons
    assert all(reason.startswith("- Arabic text ") for reason in reasons), reasons


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


def _check_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cairo_layer_check", LAYER / "check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_check_draws_each_script_in_the_family_the_svg_names_for_it() -> None:
    # check.py runs without pagefan (in the Lambda image), so it names the families itself.
    scripts = _check_module().SCRIPTS
    assert [script.family for script in scripts] == list(SCRIPT_FAMILIES)
    assert all(script_family(script.sample) == script.family for script in scripts)


def test_the_check_stage_installs_the_dependency_layer_s_versions() -> None:
    dockerfile = (LAYER / "Dockerfile").read_text(encoding="utf-8")
    requirements = (ROOT / "layers" / "dependencies" / "requirements.txt").read_text(encoding="utf-8")
    layer_pins = dict(re.findall(r"^([a-z0-9-]+)(?:\[[^]]*\])?==(\S+)", requirements, re.MULTILINE))
    check_pins = dict(re.findall(r"\b([a-z0-9-]+)==(\S+)", dockerfile.split("AS check", 1)[1]))
    assert set(check_pins) == {"cairosvg", "cairocffi", "pypdf"}
    assert check_pins == {name: layer_pins[name] for name in check_pins}
