"""Combiner: merge a job's page results into document.json and document.txt."""

from __future__ import annotations

from pagefan.config import CombinerSettings, load_settings
from pagefan.handlers.job_task import job_task_handler
from pagefan.stages.combining import combine_job

SETTINGS = load_settings(CombinerSettings)
handler = job_task_handler("Combiner", combine_job, SETTINGS)
