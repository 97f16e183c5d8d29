"""PdfExporter: a range of a job's pages rendered with cairo, or the ranges merged into one PDF."""

from __future__ import annotations

from pagefan.config import ExporterSettings, load_settings
from pagefan.formats.payloads import PdfExportInput
from pagefan.handlers.job_task import task_handler
from pagefan.stages.exporting import export_pdf

SETTINGS = load_settings(ExporterSettings)
handler = task_handler("PdfExporter", export_pdf, SETTINGS, PdfExportInput.from_dict)
