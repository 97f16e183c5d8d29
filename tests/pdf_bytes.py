"""Hand-built PDF bytes for tests: objects assembled with a correct xref table, nothing downloaded.

Shared by the domain tests (tests/unit/domain/conftest.py) and the hostile-input generator
(tests/hostile/generator.py), which both need PDFs that no library would write.
"""

from __future__ import annotations

from collections.abc import Sequence


def build_pdf(
    objects: Sequence[bytes],
    *,
    root: int = 1,
    trailer_extra: bytes = b"",
    header: bytes = b"%PDF-1.7\n",
) -> bytes:
    """Assemble numbered objects (1, 2, ...) into a PDF with a correct xref table."""
    out = bytearray(header)
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R " % (len(objects) + 1, root) + trailer_extra + b">>\n"
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def stream(content: bytes, dictionary: bytes = b"") -> bytes:
    """A stream object's body with the right /Length."""
    return b"<< /Length %d %s >>\nstream\n" % (len(content), dictionary) + content + b"\nendstream"
