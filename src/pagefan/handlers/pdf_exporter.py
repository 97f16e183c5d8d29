"""PdfExporter: the job's pages rendered with cairo and merged into one PDF."""

from __future__ import annotations

from pagefan.config import ExporterSettings, load_settings
from pagefan.handlers.job_task import job_task_handler
from pagefan.stages.exporting import export_pdf

SETTINGS = load_settings(ExporterSettings)
handler = job_task_handler("PdfExporter", export_pdf, SETTINGS)
