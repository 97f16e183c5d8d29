from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from pagefan.domain.svg import render_page_svg
from pagefan.formats.page_result import PageResult, TextRun

NS = "{http://www.w3.org/2000/svg}"
SANS = "Helvetica, Arial, sans-serif"
SERIF = "'Times New Roman', Times, serif"
MONO = "'Courier New', Courier, monospace"
HOSTILE = "<&]]>\x00\x07\ud800\ufffe'\"<image href='http://evil/x.svg'/>"


def page(
    runs: list[TextRun] | None = None, *, rotation: int = 0, width: float = 612, height: float = 792
) -> PageResult:
    return PageResult(
        job_id="j",
        page_number=3,
        width=width,
        height=height,
        rotation=rotation,
        text="",
        words=[],
        runs=runs or [],
        image_count=0,
    )


def run(
    text: str = "Hello",
    x: float = 72,
    y: float = 700,
    *,
    size: float = 12,
    font: str = "Helvetica",
    angle: float = 0,
) -> TextRun:
    return TextRun(text=text, x=x, y=y, size=size, font=font, angle=angle)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode("utf-8"))


def texts(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(f"{NS}text"))


def test_document_background_and_size_without_a_frame_the_source_never_had() -> None:
    root = parse(render_page_svg(page(), title="report.pdf — page 3", max_elements=100))
    assert root.tag == f"{NS}svg"
    assert (root.get("version"), root.get("viewBox")) == ("1.1", "0 0 612 792")
    assert (root.get("width"), root.get("height")) == ("612pt", "792pt")
    assert root.findtext(f"{NS}title") == "report.pdf — page 3"
    [background] = root.findall(f"{NS}rect")
    assert (background.get("fill"), background.get("width"), background.get("height")) == (
        "#ffffff",
        "612",
        "792",
    )
    assert texts(root) == []  # a page without text is still a valid drawing


@pytest.mark.parametrize(
    ("rotation", "view_box"),
    [(0, "0 0 612 792"), (90, "0 0 792 612"), (180, "0 0 612 792"), (270, "0 0 792 612")],
)
def test_view_box_is_the_displayed_size(rotation: int, view_box: str) -> None:
    root = parse(render_page_svg(page(rotation=rotation), title="t", max_elements=10))
    assert root.get("viewBox") == view_box
    w, h = view_box.split()[2:]
    assert (root.get("width"), root.get("height")) == (f"{w}pt", f"{h}pt")


def test_run_lands_at_its_position_with_y_flipped() -> None:
    root = parse(render_page_svg(page([run("Hello", 72, 700, size=12.5)]), title="t", max_elements=10))
    [element] = texts(root)
    assert element.text == "Hello"
    assert (element.get("x"), element.get("y"), element.get("font-size")) == ("72", "92", "12.5")
    assert element.get("transform") is None


def apply(transform: str, point: tuple[float, float]) -> tuple[float, float]:
    """Apply an SVG transform list made of translate() and rotate() to a point."""
    x, y = point
    for name, arguments in reversed(re.findall(r"(\w+)\(([^)]*)\)", transform)):
        values = [float(value) for value in arguments.replace(",", " ").split()]
        if name == "translate":
            x, y = x + values[0], y + (values[1] if len(values) > 1 else 0)
        elif name == "rotate":
            angle = math.radians(values[0])
            cx, cy = (values[1], values[2]) if len(values) == 3 else (0.0, 0.0)
            dx, dy = x - cx, y - cy
            x, y = (
                cx + dx * math.cos(angle) - dy * math.sin(angle),
                cy + dx * math.sin(angle) + dy * math.cos(angle),
            )
        else:
            raise AssertionError(f"unexpected transform {name}")
    return x, y


@pytest.mark.parametrize(
    ("rotation", "expected"),
    [
        # A run at the unrotated page's top-left corner (PDF 0, 792) shows at...
        (0, (0, 0)),  # ...the top left,
        (90, (792, 0)),  # ...the top right (the page turned clockwise),
        (180, (612, 792)),  # ...the bottom right,
        (270, (0, 612)),  # ...the bottom left.
    ],
)
def test_rotation_puts_text_where_a_viewer_shows_it(rotation: int, expected: tuple[float, float]) -> None:
    root = parse(
        render_page_svg(page([run("corner", 0, 792)], rotation=rotation), title="t", max_elements=10)
    )
    group = root.find(f"{NS}g")
    assert group is not None
    [element] = texts(root)
    point = (float(element.get("x", "nan")), float(element.get("y", "nan")))
    assert apply(group.get("transform", ""), point) == pytest.approx(expected, abs=1e-6)


def test_run_angle_becomes_a_rotation_about_its_origin() -> None:
    root = parse(render_page_svg(page([run("up", 100, 100, angle=90.0)]), title="t", max_elements=10))
    [element] = texts(root)
    # Counter-clockwise in PDF space is a negative rotate() on screen, where y points down.
    assert element.get("transform") == "rotate(-90 100 692)"


def test_hostile_text_and_title_stay_well_formed_and_inert() -> None:
    svg = render_page_svg(page([run(HOSTILE, font=HOSTILE)]), title=HOSTILE, max_elements=10)
    root = parse(svg)
    [element] = texts(root)
    expected = "<&]]>'\"<image href='http://evil/x.svg'/>"
    assert element.text == expected
    assert root.findtext(f"{NS}title") == expected
    assert list(root.iter(f"{NS}image")) == []
    assert "evil" not in (element.get("font-family") or "")
    assert element.get("font-family") == SANS


def test_spaces_are_preserved() -> None:
    root = parse(render_page_svg(page([run("a  b")]), title="t", max_elements=10))
    assert root.get("{http://www.w3.org/XML/1998/namespace}space") == "preserve"
    assert texts(root)[0].text == "a b"  # pypdf's runs are one line: whitespace collapses to spaces


def test_every_xml_forbidden_character_is_stripped() -> None:
    forbidden = "".join(chr(code) for code in range(0x20) if chr(code) not in "\t\n\r") + "\ufffe\uffff\udc00"
    svg = render_page_svg(page([run(f"a{forbidden}b😀")]), title=f"t{forbidden}", max_elements=10)
    root = parse(svg)
    assert texts(root)[0].text == "ab😀"
    assert root.findtext(f"{NS}title") == "t"
    svg.encode("utf-8")  # no lone surrogate left either


def test_too_many_runs_are_cut_with_a_note() -> None:
    runs = [run(f"r{index}", 72, 700 - index) for index in range(10)]
    root = parse(render_page_svg(page(runs), title="t", max_elements=3))
    drawn = [element.text for element in texts(root)]
    assert drawn == ["r0", "r1", "r2", "7 more text runs not shown (MaxSvgElements parameter)"]


def test_no_note_when_everything_fits() -> None:
    runs = [run(f"r{index}") for index in range(3)]
    svg = render_page_svg(page(runs), title="t", max_elements=3)
    assert "not shown" not in svg


def test_non_finite_runs_are_skipped() -> None:
    root = parse(render_page_svg(page([run("bad", math.nan, 1), run("good")]), title="t", max_elements=10))
    assert [element.text for element in texts(root)] == ["good"]


@pytest.mark.parametrize(
    ("font", "family", "weight", "style"),
    [
        ("Helvetica", SANS, None, None),
        ("Helvetica-BoldOblique", SANS, "bold", "italic"),
        ("Times-Roman", SERIF, None, None),
        ("Times-BoldItalic", SERIF, "bold", "italic"),
        ("Georgia", SERIF, None, None),
        ("Courier", MONO, None, None),
        ("DejaVuSansMono-Bold", MONO, "bold", None),
        ("ArialMT", SANS, None, None),
        ("unknown", SANS, None, None),
    ],
)
def test_font_mapping(font: str, family: str, weight: str | None, style: str | None) -> None:
    root = parse(render_page_svg(page([run(font=font)]), title="t", max_elements=10))
    [element] = texts(root)
    assert element.get("font-family") == family
    assert element.get("font-weight") == weight
    assert element.get("font-style") == style


def test_sample_page_renders_every_run(sample_pages: list[bytes]) -> None:
    from pagefan.domain.analysis import analyse_page

    result = analyse_page(sample_pages[0], job_id="j", page_number=1, max_content_bytes=10**6)
    root = parse(render_page_svg(result, title="sample.pdf — page 1", max_elements=1000))
    assert [element.text for element in texts(root)] == [r.text for r in result.runs]


ROTATION = "{urn:pagefan:svg}rotation"


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_a_rotated_page_says_its_rotate(rotation: int) -> None:
    root = parse(render_page_svg(page(rotation=rotation), title="t", max_elements=10))
    assert root.get(ROTATION) == str(rotation)


def test_an_upright_page_has_no_rotation_attribute() -> None:
    assert parse(render_page_svg(page(), title="t", max_elements=10)).get(ROTATION) is None


def test_a_space_at_either_end_of_a_run_is_kept_as_one() -> None:
    runs = [run("Hello \t"), run(" world"), run("  both  ends  ")]
    root = parse(render_page_svg(page(runs), title="t", max_elements=10))
    assert [element.text for element in texts(root)] == ["Hello ", " world", " both ends "]


def test_runs_of_a_mixed_font_line_follow_each_other() -> None:
    from pagefan.domain.analysis import analyse_page
    from pagefan.domain.split import open_document, split_pages
    from tests.documents import make_sample_pdf

    reader = open_document(make_sample_pdf(1, mixed_fonts=True), max_bytes=10**9, max_pages=10)
    [(_number, data)] = list(split_pages(reader))
    result = analyse_page(data, job_id="j", page_number=1, max_content_bytes=10**6)
    root = parse(render_page_svg(result, title="t", max_elements=1000))
    lines: dict[str, list[float]] = {}
    for element in texts(root):
        if element.get("transform") is None:
            lines.setdefault(element.get("y", ""), []).append(float(element.get("x", "nan")))
    # Several runs share a baseline, each starting further right than the one before.
    assert max(len(xs) for xs in lines.values()) >= 3
    assert all(xs == sorted(set(xs)) for xs in lines.values())
    # The margin note reads upwards.
    [note] = [element for element in texts(root) if element.get("transform")]
    assert note.text and note.text.startswith("note:")
    assert note.get("transform", "").startswith("rotate(-90 ")


@pytest.mark.parametrize(
    ("text", "right_to_left"),
    [
        ("שלום עולם", True),
        ("(שלום) עולם", True),  # opens with a bracket: SVG's default direction would misplace it
        ("2024 السلام", True),  # digits are not strong letters
        ("Hello שלום", False),
        ("Hello", False),
        ("2024", False),
    ],
)
def test_a_run_that_reads_right_to_left_is_laid_out_right_to_left_from_its_left_edge(
    text: str, right_to_left: bool
) -> None:
    root = parse(render_page_svg(page([run(text, 72, 700)]), title="t", max_elements=10))
    [element] = texts(root)
    assert element.get("x") == "72"
    expected = ("rtl", "end") if right_to_left else (None, None)
    assert (element.get("direction"), element.get("text-anchor")) == expected
