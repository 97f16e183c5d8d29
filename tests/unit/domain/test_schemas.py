"""The shipped JSON Schemas: valid, in step with each other, and true to what the writers write."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
import tomllib
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from pagefan.domain.analysis import analyse_page
from pagefan.domain.combine import write_document_json
from pagefan.domain.split import document_metadata, document_outline, open_document, split_pages
from pagefan.errors import FormatVersionError, SchemaViolation
from pagefan.formats.document import DocumentInfo, SourceRef
from pagefan.formats.page_result import PageResult
from pagefan.formats.versions import check_format_version, dumps
from pagefan.schemas import (
    CURRENT_VERSIONS,
    EVENT_SCHEMA_NAMES,
    SCHEMA_NAMES,
    load_schema,
    validate_document,
    validate_job_event,
    validate_page_result,
)
from tests.documents import make_sample_pdf

REPO = Path(__file__).resolve().parents[3]
LIMIT = 10**6


def analysed(pdf: bytes, job_id: str = "job-1") -> tuple[DocumentInfo, list[PageResult]]:
    """Run the Splitter's and the PageWorker's domain code over a whole document."""
    reader = open_document(pdf, max_bytes=10**9, max_pages=100)
    info = DocumentInfo(
        job_id=job_id,
        source=SourceRef(
            bucket="raw",
            key="in/report.pdf",
            version_id=None,
            etag='"abc"',
            size=len(pdf),
            sha256=hashlib.sha256(pdf).hexdigest(),
        ),
        pages_total=len(reader.pages),
        metadata=document_metadata(reader),
        outline=document_outline(reader),
    )
    pages = [
        analyse_page(data, job_id=job_id, page_number=number, max_content_bytes=LIMIT)
        for number, data in split_pages(reader)
    ]
    return info, pages


def document_of(pdf: bytes) -> dict[str, Any]:
    """document.json exactly as the Combiner writes it, decoded."""
    info, pages = analysed(pdf)
    out = StringIO()
    write_document_json(job_id=info.job_id, info=info, pages=iter(pages), out=out)
    decoded: dict[str, Any] = json.loads(out.getvalue())
    return decoded


@pytest.fixture(scope="module")
def sample_document() -> dict[str, Any]:
    return document_of(make_sample_pdf(6))


# --- the schema files ---------------------------------------------------------------------


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_each_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    for version in range(1, CURRENT_VERSIONS[name] + 1):
        schema = load_schema(name, version)
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == f"urn:pagefan:schema:{name}-v{version}"
        assert schema["properties"]["format_version"] == {
            "description": "Version of this format. Readers reject versions they do not know.",
            "const": version,
        }


def test_the_page_of_document_json_is_the_version_1_page_result_without_job_and_version() -> None:
    document, page_result = load_schema("document"), load_schema("page-result", 1)
    page = document["$defs"]["page"]
    expected = {k: v for k, v in page_result["properties"].items() if k not in ("job_id", "format_version")}
    assert page["properties"] == expected
    assert page["required"] == page_result["required"][2:]
    assert document["$defs"]["run"] == page_result["$defs"]["run"]
    assert document["$defs"]["job_id"] == page_result["$defs"]["job_id"]


def test_every_object_is_closed() -> None:
    def objects(node: Any) -> list[dict[str, Any]]:
        found = []
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                found.append(node)
            for value in node.values():
                found.extend(objects(value))
        elif isinstance(node, list):
            for value in node:
                found.extend(objects(value))
        return found

    for name in SCHEMA_NAMES:
        for node in objects(load_schema(name)):
            assert node["additionalProperties"] is False
            assert sorted(node["required"]) == sorted(node["properties"])


def test_schemas_ship_as_package_data() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "schemas/*.json" in pyproject["tool"]["setuptools"]["package-data"]["pagefan"]
    shipped = sorted(path.name for path in (REPO / "src" / "pagefan" / "schemas").glob("*.json"))
    assert shipped == sorted(
        [
            "document-v1.json",
            "page-result-v1.json",
            "page-result-v2.json",
            "job-completed-v1.json",
            "job-failed-v1.json",
        ]
    )


@pytest.mark.parametrize("name", EVENT_SCHEMA_NAMES)
def test_each_job_event_schema_closes_and_versions_its_detail(name: str) -> None:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"urn:pagefan:schema:{name}-v1"
    detail = schema["properties"]["detail"]
    assert detail["additionalProperties"] is False
    assert sorted(detail["required"]) == sorted(detail["properties"])
    assert detail["properties"]["format_version"]["const"] == 1
    assert schema["properties"]["source"] == {"const": "pagefan"}


def test_a_job_event_is_checked_against_the_schema_of_its_detail_type(load_event: Any) -> None:
    # GIVEN the sample JobFailed event (events/job_metrics.json, the JobMetrics function's)
    event = load_event("job_metrics")
    assert validate_job_event(event) is True
    # WHEN its detail loses its version, gains a field, or its type claims another event
    unversioned = {**event, "detail": {k: v for k, v in event["detail"].items() if k != "format_version"}}
    with pytest.raises(FormatVersionError):
        validate_job_event(unversioned)
    with pytest.raises(SchemaViolation, match="/detail: Additional properties"):
        validate_job_event({**event, "detail": {**event["detail"], "outputs": {}}})
    with pytest.raises(SchemaViolation, match="/detail"):
        validate_job_event({**event, "detail-type": "JobCompleted"})
    with pytest.raises(SchemaViolation, match="not a job event"):
        validate_job_event({**event, "detail-type": "Something"})


def test_unknown_schema_name_or_version() -> None:
    with pytest.raises(ValueError, match="no schema is called 'documents'"):
        load_schema("documents")
    with pytest.raises(FormatVersionError, match="no document schema for format version 2"):
        load_schema("document", 2)


def test_load_schema_gives_a_fresh_copy() -> None:
    load_schema("document")["title"] = "changed"
    assert load_schema("document")["title"] == "pagefan document.json, format version 1"


# --- what the writers write validates -----------------------------------------------------


def test_the_combiners_document_json_validates(sample_document: dict[str, Any]) -> None:
    assert validate_document(sample_document) is True
    assert len(sample_document["pages"]) == sample_document["pages_total"] == 6
    assert sample_document["outline"][0]["children"][2] == {
        "title": "Page 3",
        "page_number": 3,
        "children": [],
    }


@pytest.mark.parametrize(
    "pdf",
    [
        make_sample_pdf(4, seed=3, mixed_fonts=True),
        make_sample_pdf(2, text_heavy=True),
        make_sample_pdf(1, words_per_page=0),
    ],
    ids=["mixed-fonts", "text-heavy", "heading-only"],
)
def test_other_documents_validate(pdf: bytes) -> None:
    assert validate_document(document_of(pdf)) is True


def test_every_page_result_validates_as_stored() -> None:
    _info, pages = analysed(make_sample_pdf(4, seed=1, mixed_fonts=True))
    for page in pages:
        assert validate_page_result(json.loads(dumps(page.to_dict()))) is True


@pytest.mark.parametrize(
    "content",
    [
        b"",  # no text at all
        b"BT /F1 12 Tf 72 700 Td (<&]]> \\000\\007 quotes \" ') Tj ET",  # hostile characters
        b"BT /F1 0 Tf 72 700 Td (zero size) Tj ET",
        b"BT /F1 12 Tf -1 0 0 -1 500 500 Tm (upside down) Tj ET",
        b"BT /F9 12 Tf 72 700 Td (no such font) Tj ET",
        b"q 0 0 0 0 0 0 cm BT /F1 12 Tf (degenerate matrix) Tj ET Q",
    ],
)
def test_page_results_of_odd_pages_validate(pdfs: Any, content: bytes) -> None:
    for rotate in (None, b"270"):
        result = analyse_page(
            pdfs.one_page(content, rotate=rotate, mediabox=b"[10 20 300.5 400]"),
            job_id="j",
            page_number=1,
            max_content_bytes=LIMIT,
        )
        assert validate_page_result(json.loads(dumps(result.to_dict()))) is True


def test_a_document_without_outline_metadata_or_pages_validates(sample_document: dict[str, Any]) -> None:
    document = {**sample_document, "metadata": {}, "outline": [], "pages": [], "pages_total": 0}
    document["source"] = {**document["source"], "version_id": "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"}
    assert validate_document(document) is True


# --- what is not a v1 document fails ------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    *parents, last = path.split("/")

    def change(document: dict[str, Any]) -> None:
        node: Any = document
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return change


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    *parents, last = path.split("/")

    def change(document: dict[str, Any]) -> None:
        node: Any = document
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]

    return change


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (_delete("pages_total"), "/", "'pages_total' is a required property"),
        (_delete("pages/0/runs"), "/pages/0", "'runs' is a required property"),
        (_set("pages/0/width", "612"), "/pages/0/width", "'612' is not of type 'number'"),
        (_set("pages/1/page_number", 2.5), "/pages/1/page_number", "2.5 is not of type 'integer'"),
        (_set("pages/0/rotation", 45), "/pages/0/rotation", "45 is not one of [0, 90, 180, 270]"),
        (_set("pages/0/runs/0/size", -1), "/pages/0/runs/0/size", "-1 is less than the minimum of 0"),
        (_set("pages/0/runs/0/text", ""), "/pages/0/runs/0/text", "'' should be non-empty"),
        (_set("pages/0/words/0", ""), "/pages/0/words/0", "'' should be non-empty"),
        (_set("pages/0/surprise", True), "/pages/0", "Additional properties are not allowed"),
        (_set("outline/0/page_number", 0), "/outline/0/page_number", "0 is less than the minimum of 1"),
        (_set("metadata/title", None), "/metadata/title", "None is not of type 'string'"),
        (_set("source/sha256", "F00"), "/source/sha256", "'F00' does not match"),
        (_set("job_id", "no spaces please"), "/job_id", "does not match"),
        (_set("pages", {}), "/pages", "{} is not of type 'array'"),
    ],
)
def test_a_broken_document_fails_with_the_place_named(
    sample_document: dict[str, Any], change: Callable[[dict[str, Any]], None], path: str, message: str
) -> None:
    document = copy.deepcopy(sample_document)
    change(document)
    with pytest.raises(SchemaViolation) as caught:
        validate_document(document)
    assert any(error.startswith(f"{path}: ") and message in error for error in caught.value.errors), (
        caught.value.errors
    )
    assert str(caught.value).startswith("document.json does not match its schema: ")


def test_a_page_result_needs_its_job_and_version(sample_document: dict[str, Any]) -> None:
    page = sample_document["pages"][0]
    with pytest.raises(SchemaViolation, match="/: 'job_id' is a required property"):
        validate_page_result({**page, "format_version": 1})
    with pytest.raises(FormatVersionError):
        validate_page_result({**page, "job_id": "j"})


def test_many_errors_are_summarised(sample_document: dict[str, Any]) -> None:
    document = copy.deepcopy(sample_document)
    for page in document["pages"]:
        for run in page["runs"]:
            run["x"] = "left"
    with pytest.raises(SchemaViolation, match=r"\(and \d+ more\)$") as caught:
        validate_document(document)
    assert len(caught.value.errors) > 20


@pytest.mark.parametrize("value", [[], "{}", None, 1])
def test_something_that_is_not_an_object_fails(value: Any) -> None:
    with pytest.raises(SchemaViolation, match="expected a JSON object"):
        validate_document(value)


# --- format versions ----------------------------------------------------------------------


def test_a_version_2_document_is_rejected_with_a_clear_message(sample_document: dict[str, Any]) -> None:
    with pytest.raises(FormatVersionError) as caught:
        validate_document({**sample_document, "format_version": 2})
    assert str(caught.value) == (
        "document.json has format version 2; this pagefan reads version 1. A newer pagefan wrote it: "
        "read it with that version (its reader upgrades older versions, never the other way round)"
    )


@pytest.mark.parametrize("version", [None, 0, -1, True, "1", 1.5])
def test_a_document_of_no_known_version_is_rejected(sample_document: dict[str, Any], version: Any) -> None:
    document = {key: value for key, value in sample_document.items() if key != "format_version"}
    if version is not None:
        document["format_version"] = version
    with pytest.raises(
        FormatVersionError, match=f"document.json has format version {version!r}; this pagefan"
    ):
        validate_document(document)


def test_true_is_not_version_1() -> None:
    # JSON true decodes to Python True, which equals 1: the reader must still refuse it.
    with pytest.raises(FormatVersionError):
        check_format_version({"format_version": True}, "page result")
    with pytest.raises(FormatVersionError):
        PageResult.from_dict({"format_version": True})


# --- without jsonschema (as in the Lambda functions) --------------------------------------


def test_without_jsonschema_only_the_version_is_checked(
    monkeypatch: pytest.MonkeyPatch, sample_document: dict[str, Any]
) -> None:
    import builtins

    real_import = builtins.__import__

    def without_jsonschema(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] == "jsonschema":
            raise ImportError("No module named 'jsonschema'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_jsonschema)
    broken = {**sample_document, "pages": "not a list"}
    assert validate_document(broken) is False
    with pytest.raises(FormatVersionError):
        validate_document({**sample_document, "format_version": 2})


def test_importing_the_schemas_does_not_import_jsonschema() -> None:
    code = (
        "import sys, pagefan.schemas, pagefan.domain.combine; "
        "pagefan.schemas.load_schema('document'); "
        "assert 'jsonschema' not in sys.modules, 'jsonschema imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_page_result_schema_names_exactly_the_omission_codes_a_reader_accepts() -> None:
    from pagefan.formats.page_result import OmissionCode

    schema = load_schema("page-result", 2)
    assert schema["$defs"]["omission_code"]["enum"] == [code.value for code in OmissionCode]
    # A code outside the set fails validation, as the reader refuses it.
    validator = Draft202012Validator({**schema["$defs"]["omission_code"], "$defs": schema["$defs"]})
    assert not validator.is_valid("pixels_too_many")
    assert all(validator.is_valid(code.value) for code in OmissionCode)
