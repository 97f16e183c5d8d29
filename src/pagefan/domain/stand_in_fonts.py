"""Stand-in fonts: text drawn in a font the page does not define reads as a viewer shows it.

A viewer draws such text in a default font; pypdf reads every character of it as U+FFFD. The
stand-ins are added to the in-memory copy of the page that is analysed, never to a stored file.
"""

from __future__ import annotations

import re

from pypdf.generic import DictionaryObject, NameObject, StreamObject

from pagefan.domain.parsing import PARSE_ERRORS, resolve

# Font names a page may select but not define (see add_stand_in_fonts), at most.
MAX_STAND_IN_FONTS = 256
# "/F9 12 Tf": a font selection in a content stream (a name, whitespace, a number, Tf). The
# quantifiers are possessive: the scan is linear in the content, where plain ones would
# backtrack quadratically on a long run of digits (hostile content; a regex ignores SIGALRM).
_FONT_SELECTION = re.compile(
    rb"/([^\s/\[\]()<>{}%]++)\s++[-+]?+(?:\d++\.?+\d*+|\.\d++)\s++Tf(?![^\s/\[\]()<>{}%])"
)
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


def _stand_in_font() -> DictionaryObject:
    """Helvetica in WinAnsi: what viewers draw a missing font's text with."""
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
        }
    )


def _selected_fonts(streams: list[StreamObject]) -> set[str]:
    """Names of the fonts the streams select with Tf (their decoded data is cached by pypdf)."""
    names: set[str] = set()
    for stream in streams:
        for match in _FONT_SELECTION.finditer(stream.get_data()):
            raw = _NAME_ESCAPE.sub(lambda escape: bytes([int(escape.group(1), 16)]), match.group(1))
            try:
                names.add("/" + raw.decode("utf-8"))
            except UnicodeDecodeError:
                names.add("/" + raw.decode("latin-1"))
            if len(names) >= MAX_STAND_IN_FONTS:
                return names
    return names


def add_stand_in_fonts(owner: DictionaryObject, streams: list[StreamObject]) -> None:
    """Give every font the streams select but ``owner``'s resources lack a Helvetica stand-in.

    A viewer draws text whose font is missing (not in the resources, a dangling reference, a
    string where a font dictionary belongs) in a default font, and the text reads normally;
    pypdf reads every character of it as U+FFFD. The stand-ins, added to this in-memory copy of
    the page only, make the extracted text what a viewer shows. Fonts that are dictionaries,
    however broken, are left to pypdf.
    """
    try:
        resources = resolve(owner.get("/Resources"))
        if resources is None and not isinstance(owner, StreamObject):
            resources = owner[NameObject("/Resources")] = DictionaryObject()
        if not isinstance(resources, DictionaryObject):
            return
        fonts = resolve(resources.get("/Font"))
        if not isinstance(fonts, DictionaryObject):
            fonts = resources[NameObject("/Font")] = DictionaryObject()
        for name in {*(str(key) for key in fonts), *_selected_fonts(streams)}:
            if not isinstance(resolve(fonts.get(name)), DictionaryObject):
                fonts[NameObject(name)] = _stand_in_font()
    except PARSE_ERRORS:
        # Text extraction copes (with U+FFFD) without the stand-ins.
        return
