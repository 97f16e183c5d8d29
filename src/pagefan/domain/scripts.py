"""Writing systems in drawn text: which font covers a run, and the order cairo must draw it in.

A PDF stores right-to-left text (Hebrew, Arabic) in visual order; the text extraction gives it back in
logical order, the order it is read and searched in, and that is what the page model and the SVG hold
(a browser lays logical text out right to left itself). cairo, which draws the rebuilt PDF, does no
bidirectional layout: given logical text it draws it mirrored. :func:`visual_order` turns a run back
into the left-to-right order of its glyphs, for cairo only.

cairo also draws a run in the one font its family names, with no fallback per glyph, so a run in
Arabic, Hebrew or a CJK script gets a family that covers it first (:func:`script_family`); the generic
families stay behind it for viewers without that font.
"""

from __future__ import annotations

import re
import unicodedata

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


def visual_order(text: str) -> str:
    """``text`` (logical order) in the left-to-right order its glyphs appear on the page.

    A simplified Unicode bidirectional algorithm for one line: the base direction is the first strong
    character's; a run of neutral characters (spaces, punctuation) between two characters of one
    direction takes that direction, otherwise the base direction; digits keep their left-to-right order;
    then the levels are reversed as the algorithm's rule L2 does. Text without a right-to-left letter is
    returned as it is. Mirrored brackets and explicit embedding controls are not handled.

    Args:
        text: One run of text in logical order.

    Returns:
        The same characters in visual order.

    """
    strengths = [_strength(char) for char in text]
    if "R" not in strengths:
        return text
    base = next(strength for strength in strengths if strength != "N")
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
        levels = [0 if strength == "L" else 1 for strength in resolved]
    else:
        levels = [2 if strength == "L" else 1 for strength in resolved]
    chars = list(text)
    for level in range(max(levels), 0, -1):
        index = 0
        while index < len(chars):
            if levels[index] < level:
                index += 1
                continue
            end = index
            while end < len(chars) and levels[end] >= level:
                end += 1
            chars[index:end] = chars[index:end][::-1]
            levels[index:end] = levels[index:end][::-1]
            index = end
    return "".join(chars)
