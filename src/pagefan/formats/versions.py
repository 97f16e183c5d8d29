"""The format version every stored object carries, in its JSON body and in its S3 metadata.

Readers reject versions they do not know (:class:`~pagefan.errors.FormatVersionError`) instead
of guessing. Also how every JSON body is serialised, so that all of them read alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pagefan.errors import FormatVersionError

FORMAT_VERSION = 1
"""Version of every stored format but the page result. Bump it (and teach readers the old one) on any
breaking change."""

PAGE_RESULT_FORMAT_VERSION = 2
"""Version of the page result (and of the image objects beside it). Version 2 added graphics, images,
clipping paths, omissions and text colour; :meth:`pagefan.formats.page_result.PageResult.from_dict`
upgrades version 1."""

METADATA_FORMAT = "pagefan-format"
METADATA_JOB_ID = "pagefan-job-id"
METADATA_PAGE = "pagefan-page"
METADATA_PAGES_TOTAL = "pagefan-pages-total"


def check_format_version(data: Mapping[str, Any], what: str) -> None:
    """Raise FormatVersionError unless ``data`` was written by a version this code reads."""
    version = data.get("format_version")
    # bool is an int to Python: "format_version": true must not pass for version 1.
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise FormatVersionError(
            f"{what} has format version {version!r}; this pagefan reads version {FORMAT_VERSION}"
        )


def check_metadata_version(metadata: Mapping[str, str], what: str) -> None:
    """Raise FormatVersionError unless an object's S3 metadata names a version this code reads.

    S3 returns user metadata as text: a missing or non-numeric ``pagefan-format`` is no version.
    """
    text = metadata.get(METADATA_FORMAT)
    version = int(text) if text is not None and text.isdigit() else text
    check_format_version({"format_version": version}, what)


def object_metadata(job_id: str, *, version: int = FORMAT_VERSION, **extra: str | int) -> dict[str, str]:
    """S3 user metadata every object the pipeline writes carries (format ``version`` and job id)."""
    metadata = {METADATA_FORMAT: str(version), METADATA_JOB_ID: job_id}
    metadata.update({f"pagefan-{name.replace('_', '-')}": str(value) for name, value in extra.items()})
    return metadata


def dumps(data: Mapping[str, Any]) -> bytes:
    """Serialise a JSON body the way every pagefan writer does (UTF-8, stable key order)."""
    # NaN and Infinity are not JSON; refusing them here keeps every stored body parseable.
    return json.dumps(
        data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode()
