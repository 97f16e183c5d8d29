"""Job identity: the same upload always maps to the same job, however often S3 reports it."""

from __future__ import annotations

import hashlib


def derive_job_id(bucket: str, key: str, version_id: str | None, etag: str) -> str:
    """Return the job id of one uploaded object version.

    Derived from bucket, key and version id (the ETag when the bucket is unversioned), so a
    duplicated S3 event names the same job and the same Step Functions execution. 32 hex
    characters fit the execution-name limit (80) and its character set.
    """
    identity = "\x1f".join((bucket, key, version_id or "", etag.strip('"')))
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def job_id_of_execution(name: str) -> str:
    """The job id an execution name starts with: ``<job id>`` or ``<job id>-<what it is>``.

    Job ids are hex (:mod:`pagefan.job_ids`), so the first ``-`` ends one: retries
    (``-retry-N``), continuations (``-continued-<uuid>``) and the FailureRecorder's own
    (``-ended-<hash>``) all name their job this way.
    """
    return name.split("-", 1)[0]
