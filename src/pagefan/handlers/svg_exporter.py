"""SvgExporter: one SVG per page of a job (low memory; never imports cairo)."""

from __future__ import annotations

from pagefan.config import ExporterSettings, load_settings
from pagefan.handlers.job_task import job_task_handler
from pagefan.stages.exporting import export_svg

SETTINGS = load_settings(ExporterSettings)
handler = job_task_handler("SvgExporter", export_svg, SETTINGS)
