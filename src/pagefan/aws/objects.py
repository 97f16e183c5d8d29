"""Reading and writing S3 objects with pagefan's metadata conventions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from pagefan.errors import DocumentRejected
from pagefan.formats import METADATA_FORMAT, dumps

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class StoredObject:
    """An object's bytes with the facts that identify its version."""

    body: bytes
    metadata: dict[str, str]
    etag: str
    version_id: str | None
    size: int


def read_object(
    s3: S3Client, bucket: str, key: str, *, version_id: str | None = None, max_bytes: int | None = None
) -> StoredObject:
    """Read one object (one version of it when ``version_id`` is given).

    With ``max_bytes``, an object larger than the limit is rejected from its Content-Length,
    before its body is read.
    """
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    response = s3.get_object(**kwargs)
    size = int(response["ContentLength"])
    if max_bytes is not None and size > max_bytes:
        response["Body"].close()
        raise DocumentRejected(
            "too_large",
            f"The file is {size / 1_048_576:.1f} MB; the limit is {max_bytes / 1_048_576:.1f} MB "
            "(MaxUploadBytes parameter).",
        )
    body = response["Body"].read()
    return StoredObject(
        body=body,
        metadata=dict(response.get("Metadata", {})),
        etag=str(response.get("ETag", "")).strip('"'),
        version_id=response.get("VersionId"),
        size=size,
    )


def write_object(
    s3: S3Client,
    bucket: str,
    key: str,
    body: bytes | BinaryIO,
    *,
    content_type: str,
    metadata: Mapping[str, str],
) -> None:
    """Write one object; ``metadata`` must carry the format version (see formats.object_metadata)."""
    if METADATA_FORMAT not in metadata:
        raise ValueError(f"object {key} would be written without its format version")
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, Metadata=dict(metadata))


def write_json(
    s3: S3Client, bucket: str, key: str, data: Mapping[str, Any], metadata: Mapping[str, str]
) -> None:
    """Write a JSON body the way every pagefan writer does."""
    write_object(s3, bucket, key, dumps(data), content_type="application/json", metadata=metadata)


def upload_file(
    s3: S3Client, bucket: str, key: str, path: str, *, content_type: str, metadata: Mapping[str, str]
) -> None:
    """Upload a local file (multipart for large ones), with pagefan's metadata."""
    if METADATA_FORMAT not in metadata:
        raise ValueError(f"object {key} would be written without its format version")
    s3.upload_file(path, bucket, key, ExtraArgs={"ContentType": content_type, "Metadata": dict(metadata)})
