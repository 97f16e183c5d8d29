"""Starting DocumentJob executions, named after the job so a duplicate start is harmless."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from pagefan.formats.payloads import JobInput

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


def start_job_execution(
    sfn: SFNClient, state_machine_arn: str, job: JobInput, *, name: str | None = None
) -> bool:
    """Start the job's execution (named ``name``, else the job id); False when it already exists.

    AWS answers a repeated StartExecution with the same name and input with success while the
    first runs, and with ExecutionAlreadyExists once it has ended (moto 5.2.5 does the same): both
    mean the job is already being tracked. So True means "started, or found running": a caller
    that counts starts counts a start repeated while the first runs twice.
    """
    try:
        sfn.start_execution(
            stateMachineArn=state_machine_arn, name=name or job.job_id, input=json.dumps(job.to_dict())
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
            return False
        raise
    return True
