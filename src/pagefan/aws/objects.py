"""Reading and writing S3 objects with pagefan's metadata conventions."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable, Mapping
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from botocore.exceptions import ClientError

from pagefan.errors import ObjectTooLarge
from pagefan.formats.versions import METADATA_FORMAT, dumps

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


def is_missing(error: ClientError) -> bool:
    """Whether S3 answered that the object is not there.

    Without s3:ListBucket (pagefan's roles have none), S3 answers a missing key with 403, not 404.
    """
    return error.response.get("Error", {}).get("Code") in ("NoSuchKey", "AccessDenied")


def read_object(
    s3: S3Client, bucket: str, key: str, *, version_id: str | None = None, max_bytes: int | None = None
) -> StoredObject:
    """Read one object (one version of it when ``version_id`` is given).

    With ``max_bytes``, an object larger than the limit raises ObjectTooLarge, from its
    Content-Length, before its body is read.
    """
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    response = s3.get_object(**kwargs)
    size = int(response["ContentLength"])
    if max_bytes is not None and size > max_bytes:
        response["Body"].close()
        raise ObjectTooLarge(bucket, key, size=size, max_bytes=max_bytes)
    body = response["Body"].read()
    return StoredObject(
        body=body,
        metadata=dict(response.get("Metadata", {})),
        etag=str(response.get("ETag", "")).strip('"'),
        version_id=response.get("VersionId"),
        size=size,
    )


READ_AHEAD = 8
"""GETs :func:`read_objects` has in flight or waiting their turn. Beside a :func:`write_objects`
on the same client (the SvgExporter) the two need up to 16 connections: the clients of
:mod:`pagefan.aws.clients` pool 20, so no request waits for one or opens one that is dropped."""


def read_objects(
    s3: S3Client, bucket: str, keys: Iterable[str], *, concurrency: int = READ_AHEAD
) -> Generator[StoredObject, None, None]:
    """Read many objects, several GETs at a time, and yield them in the order of ``keys``.

    Each GET costs a round trip, so the next ones are already on their way while the caller works
    on the one yielded. Besides the one the caller has, at most ``concurrency`` objects are held:
    being read, or read and waiting their turn. An error (the GET's own, e.g. a ClientError) is
    raised in order: at the object it belongs to, once every object before it was yielded. When
    the caller stops early (closes the generator, or drops it), the GETs not yet started are
    cancelled and those running are waited for, so no thread outlives the generator.
    """
    remaining = iter(keys)
    pending: deque[Future[StoredObject]] = deque()
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="s3-read")
    try:
        while True:
            # Refill up to `concurrency` reads held, the one just yielded no longer among them.
            while len(pending) < concurrency and (key := next(remaining, None)) is not None:
                pending.append(pool.submit(read_object, s3, bucket, key))
            if not pending:
                return
            # The future is dropped here, so its body lives on only with the caller.
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def write_object(
    s3: S3Client,
    bucket: str,
    key: str,
    body: bytes | BinaryIO,
    *,
    content_type: str,
    metadata: Mapping[str, str],
) -> None:
    """Write one object; ``metadata`` must carry the format version (see ``object_metadata``)."""
    if METADATA_FORMAT not in metadata:
        raise ValueError(f"object {key} would be written without its format version")
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, Metadata=dict(metadata))


WRITE_CONCURRENCY = 8
"""PUTs in flight at once in :func:`write_objects`: within the clients' connection pool (see
:data:`READ_AHEAD`), so no request waits for a connection."""
MAX_BYTES_IN_FLIGHT = 64 * 1024 * 1024
"""Bodies :func:`write_objects` holds at once (besides the one being produced): a few large pages
must not take a small function's memory."""


@dataclass(frozen=True)
class ObjectToWrite:
    """One object for :func:`write_objects`."""

    key: str
    body: bytes
    content_type: str
    metadata: Mapping[str, str]


def write_objects(
    s3: S3Client,
    bucket: str,
    objects: Iterable[ObjectToWrite],
    *,
    concurrency: int = WRITE_CONCURRENCY,
    max_bytes_in_flight: int = MAX_BYTES_IN_FLIGHT,
    written: Callable[[str], None] | None = None,
) -> int:
    """Write many objects, several PUTs at a time, taking each from ``objects`` only when there is room.

    Each PUT costs a round trip while the next body can already be produced (``objects`` is
    consumed in the calling thread, so a generator that renders or splits overlaps the uploads).
    At most ``concurrency`` writes, and about ``max_bytes_in_flight`` bytes of bodies, are held at
    once. An error, from ``objects`` or from a write, is raised once the writes already started
    have finished; nothing more is taken from ``objects`` after it. Objects are written in no
    particular order; ``written`` is called, in the calling thread, with the key of each object
    whose write is seen to succeed (before an error is raised, writes that finish after it are not
    reported). Returns how many were written.
    """
    count = 0
    pending: dict[Future[None], ObjectToWrite] = {}
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="s3-write") as pool:
        # Leaving the with block waits for every write in flight, whatever was raised.
        for item in objects:
            if METADATA_FORMAT not in item.metadata:  # here, before the write is started
                raise ValueError(f"object {item.key} would be written without its format version")
            size = len(item.body)
            while pending and (
                len(pending) >= concurrency
                or sum(len(held.body) for held in pending.values()) + size > max_bytes_in_flight
            ):
                count += _settle(pending, FIRST_COMPLETED, written)
            future = pool.submit(
                write_object,
                s3,
                bucket,
                item.key,
                item.body,
                content_type=item.content_type,
                metadata=item.metadata,
            )
            pending[future] = item
        count += _settle(pending, ALL_COMPLETED, written)
    return count


def _settle(
    pending: dict[Future[None], ObjectToWrite], return_when: str, written: Callable[[str], None] | None
) -> int:
    """Wait for some writes of ``pending`` (FIRST_COMPLETED or ALL_COMPLETED); raise the first error."""
    done, _ = wait(pending, return_when=return_when)
    settled = [(future, pending.pop(future)) for future in done]
    for future, item in settled:
        if future.exception() is None and written is not None:
            written(item.key)
    for future, _item in settled:
        future.result()
    return len(done)


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
