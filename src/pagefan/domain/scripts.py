"""Writing systems in drawn text: which font covers a run, and the order cairo must draw it in.

A PDF stores right-to-left text (Hebrew, Arabic) in visual order; the text extraction gives it back in
logical order, the order it is read and searched in, and that is what the page model and the SVG hold
(a browser lays logical text out right to left itself). cairo, which draws the rebuilt PDF, does no
bidirectional layout: given logical text it draws it mirrored. :func:`visual_order` turns a run back
into the left-to-right order of its glyphs, for cairo only.

cairo also draws a run in the one font its family names, with no fallback per glyph, so a run in
Arabic, Hebrew or a CJK script gets a family that covers it first (:func:`script_family`); the generic
families stay behind it for viewers without that font.

cairo does no text shaping either: it would draw every Arabic letter in its isolated form.
:func:`visual_clusters` gives the glyphs cairo must draw for a run, Arabic letters in their contextual
forms (Unicode's Arabic Presentation Forms), each with the logical text it stands for, so that the
rebuilt PDF is read back as that text.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from arabic_reshaper import ArabicReshaper  # type: ignore[import-untyped]

ARABIC_FAMILY = "Noto Sans Arabic"
HEBREW_FAMILY = "Noto Sans Hebrew"
CJK_FAMILY = "Noto Sans CJK JP"  # one collection for Japanese, Chinese and Korean (Hangul included)
SCRIPT_FAMILIES = (ARABIC_FAMILY, HEBREW_FAMILY, CJK_FAMILY)

_CJK = re.compile(
    "[\u1100-\u11ff\u2e80-\u2fdf\u3000-\u30ff\u3100-\u31ff\u3200-\u9fff\ua960-\ua97f"
    "\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f]"
)
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u0870-\u08ff\ufb50-\ufdff\ufe70-\ufefe]")
_HEBREW = re.compile("[\u0590-\u05ff\ufb1d-\ufb4f]")

# Pairs of Bidi_Mirrored characters and their mirror glyphs, from Unicode's BidiMirroring.txt: the
# ASCII brackets and < >, guillemets, the quill, superscript and subscript brackets, the less-than and
# greater-than relations, ceilings and floors, the mathematical angle and white brackets, the CJK
# brackets, and their small, fullwidth and halfwidth forms. Not covered: the other mathematical
# operators of the file (such as U+2208 and U+220B, element of and contains as member).
_MIRROR_PAIRS = (
    "()<>[]{}\u00ab\u00bb\u2039\u203a\u2045\u2046\u207d\u207e\u208d\u208e"
    "\u2264\u2265\u2266\u2267\u226a\u226b\u2308\u2309\u230a\u230b\u2329\u232a"
    "\u27e6\u27e7\u27e8\u27e9\u27ea\u27eb\u2983\u2984"
    "\u3008\u3009\u300a\u300b\u300c\u300d\u300e\u300f\u3010\u3011"
    "\u3014\u3015\u3016\u3017\u3018\u3019\u301a\u301b"
    "\ufe59\ufe5a\ufe5b\ufe5c\ufe5d\ufe5e\ufe64\ufe65"
    "\uff08\uff09\uff1c\uff1e\uff3b\uff3d\uff5b\uff5d\uff5f\uff60\uff62\uff63"
)
MIRRORS = {
    **dict(zip(_MIRROR_PAIRS[::2], _MIRROR_PAIRS[1::2], strict=True)),
    **dict(zip(_MIRROR_PAIRS[1::2], _MIRROR_PAIRS[::2], strict=True)),
}
"""Each covered Bidi_Mirrored character and the character whose glyph is its mirror image."""


class Cluster(NamedTuple):
    """One thing cairo draws: the characters whose glyphs it draws, and the text they stand for.

    The text is in logical order, except for a glyph that stands for several characters (a lam-alef)
    in a right-to-left run: poppler (pdftotext) spreads a glyph's text over the glyph left to right
    and then reverses the run, so that text is given in visual order. pdfium reverses such a text
    itself and reads it the other way round: the PDF readers disagree here.
    """

    drawn: str
    text: str


def script_family(text: str) -> str | None:
    """The font family to draw ``text`` with when the generic families lack its script, else None."""
    if _CJK.search(text):
        return CJK_FAMILY
    if _ARABIC.search(text):
        return ARABIC_FAMILY
    if _HEBREW.search(text):
        return HEBREW_FAMILY
    return None


def _strength(char: str) -> str:
    """Classify a character: R (right-to-left letter), L (left-to-right letter or digit), N (other)."""
    kind = unicodedata.bidirectional(char)
    if kind in ("R", "AL"):
        return "R"
    if kind in ("L", "EN", "AN"):
        return "L"
    return "N"


def right_to_left(text: str) -> bool:
    """Whether ``text`` reads right to left: its first strong letter is a right-to-left one.

    The base direction :func:`visual_order` lays a run out in, as Unicode's rules P2 and P3 find
    it: digits are not strong letters, so "2024 שלום" reads right to left, its number at the right.
    """
    kinds = (unicodedata.bidirectional(char) for char in text)
    return next((kind for kind in kinds if kind in ("L", "R", "AL")), "L") != "L"


def visual_order(text: str) -> str:
    """``text`` (logical order) in the left-to-right order its glyphs appear on the page.

    A simplified Unicode bidirectional algorithm for one line: the base direction is the first strong
    letter's (:func:`right_to_left`); a run of neutral characters (spaces, punctuation) between two
    characters of one direction takes that direction, otherwise the base direction; digits keep their
    left-to-right order; then the levels are reversed as the algorithm's rule L2 does, and a character of
    a right-to-left level that has a mirror image in :data:`MIRRORS` (brackets, angle brackets,
    guillemets, ...) is replaced by it, as rule L4 does: a logical "(" at the right of a Hebrew word is
    drawn as ")". Text without a right-to-left letter is returned as it is. Explicit embedding controls
    and the pairing of brackets (rule N0) are not handled.

    Args:
        text: One run of text in logical order.

    Returns:
        The same characters in visual order, mirrored where they are right to left.

    """
    return "".join(cluster.drawn for cluster in _reorder(text, [Cluster(char, char) for char in text]))


def visual_clusters(text: str) -> list[Cluster]:
    """What cairo must draw for ``text`` (logical order), left to right, with the text of each glyph.

    Arabic letters take their contextual forms first (:func:`arabic_forms`); then the clusters are put
    in visual order and mirrored as :func:`visual_order` does with characters. A mirrored bracket
    keeps its own character as its text: a reader of the PDF gets the page's text back, not the
    glyphs' (see :class:`Cluster` for the order of a lam-alef's two letters).

    Args:
        text: One run of text in logical order.

    Returns:
        The clusters in the left-to-right order of their glyphs.

    """
    return _reorder(text, arabic_forms(text))


def arabic_forms(text: str) -> list[Cluster]:
    """``text`` with its Arabic letters in the forms their neighbours give them, in logical order.

    Each letter becomes the Arabic Presentation Forms character of its isolated, initial, medial or
    final form, and lam followed by alef (plain, with hamza or madda) the lam-alef ligature, as the
    ``arabic-reshaper`` package shapes them; harakat (vowel marks) are kept. A cluster's ``text`` is
    the logical text its glyph stands for (two letters for a lam-alef). Text without Arabic, or that
    the shaper returns in a form that cannot be matched back to ``text``, stays as it is.

    Args:
        text: One run of text in logical order.

    Returns:
        One cluster per glyph, in logical order.

    """
    plain = [Cluster(char, char) for char in text]
    if not _ARABIC.search(text):
        return plain
    shaped = _reshaper().reshape(text)
    clusters: list[Cluster] = []
    dropped = ""  # joiners the shaper consumed (ZWJ): their text goes with the glyph before them
    index = 0
    for drawn in shaped:
        wanted = unicodedata.normalize("NFKC", drawn)
        length = _matching(text, index, wanted)
        while not length and index < len(text) and unicodedata.category(text[index]) == "Cf":
            dropped, index = dropped + text[index], index + 1
            length = _matching(text, index, wanted)
        if not length:
            return plain
        if dropped and clusters:
            clusters[-1] = Cluster(clusters[-1].drawn, clusters[-1].text + dropped)
            dropped = ""
        clusters.append(Cluster(drawn, dropped + text[index : index + length]))
        dropped, index = "", index + length
    rest = text[index:]
    if not clusters or any(unicodedata.category(char) != "Cf" for char in rest):
        return plain
    if rest:
        clusters[-1] = Cluster(clusters[-1].drawn, clusters[-1].text + rest)
    return clusters


def _matching(text: str, index: int, wanted: str) -> int:
    """How many characters of ``text`` from ``index`` one shaped glyph (NFKC ``wanted``) stands for, or 0."""
    for length in (1, 2, 3):
        if unicodedata.normalize("NFKC", text[index : index + length]) == wanted:
            return length
    return 0


@functools.cache
def _reshaper() -> ArabicReshaper:
    # Imported on first use: only runs with Arabic need it (about 15 ms to import).
    from arabic_reshaper import ArabicReshaper

    return ArabicReshaper(
        configuration={
            # Harakat are text: drawn (and read back) as they are.
            "delete_harakat": False,
            # The lam-alef ligatures stay (every Arabic font forms them); the word ligature of the name
            # of God is optional, and fonts such as Noto Sans Arabic draw the word with joined letters.
            "ARABIC LIGATURE ALLAH": False,
        }
    )


def _reorder(text: str, clusters: list[Cluster]) -> list[Cluster]:
    """``clusters`` (logical order, together ``text``) in visual order, mirrored where right to left."""
    strengths = [_strength(char) for char in text]
    if "R" not in strengths:
        return clusters
    base = "R" if right_to_left(text) else "L"
    resolved = list(strengths)
    index = 0
    while index < len(resolved):
        if resolved[index] != "N":
            index += 1
            continue
        end = index
        while end < len(resolved) and resolved[end] == "N":
            end += 1
        before = resolved[index - 1] if index > 0 else base
        after = resolved[end] if end < len(resolved) else base
        resolved[index:end] = [before if before == after else base] * (end - index)
        index = end
    if base == "L":
        char_levels = [0 if strength == "L" else 1 for strength in resolved]
    else:
        char_levels = [2 if strength == "L" else 1 for strength in resolved]
    # A cluster takes the level of its first character (a lam-alef's two letters have one level).
    levels, start = [], 0
    for cluster in clusters:
        levels.append(char_levels[start])
        start += len(cluster.text)
    ordered = [
        Cluster(MIRRORS.get(cluster.drawn, cluster.drawn), cluster.text[::-1]) if level % 2 else cluster
        for cluster, level in zip(clusters, levels, strict=True)
    ]
    for level in range(max(levels), 0, -1):
        index = 0
        while index < len(ordered):
            if levels[index] < level:
                index += 1
                continue
            end = index
            while end < len(ordered) and levels[end] >= level:
                end += 1
            ordered[index:end] = ordered[index:end][::-1]
            levels[index:end] = levels[index:end][::-1]
            index = end
    return ordered
