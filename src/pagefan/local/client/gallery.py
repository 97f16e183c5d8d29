"""index.html: every page's SVG beside its text, and the job's timeline."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;background:#f6f6f4}
h1{margin-bottom:.2rem} .meta{color:#666;margin-bottom:1.5rem}
.page{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:1.5rem;margin:1.5rem 0;
  padding:1rem;background:#fff;border:1px solid #ddd;border-radius:6px}
.page img{width:100%;border:1px solid #ccc;background:#fff}
.page pre{white-space:pre-wrap;font-size:.85rem;margin:0;max-height:40rem;overflow:auto}
table{border-collapse:collapse;font-size:.85rem}
td,th{padding:.2rem .6rem;border-bottom:1px solid #e5e5e5;text-align:left}
.failed{color:#a40000}
"""


def write_gallery(out_dir: Path, summary: dict[str, Any], timeline: list[dict[str, Any]]) -> Path:
    """Write ``out_dir/index.html`` for one processed document and return its path."""
    title = escape(str(summary.get("document", "document")))
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{title} — pagefan</title><style>{_STYLE}</style></head><body>",
        f"<h1>{title}</h1>",
        f"<p class='meta'>job {escape(str(summary.get('job_id')))} · {escape(str(summary.get('status')))} · "
        f"{summary.get('pages_done', 0)} of {summary.get('pages_total', 0)} pages</p>",
    ]
    if summary.get("error"):
        parts.append(f"<p class='failed'>{escape(str(summary['error']))}</p>")
    document_json = out_dir / "document.json"
    if document_json.exists():
        document = json.loads(document_json.read_text(encoding="utf-8"))
        for page in document.get("pages", []):
            number = int(page["page_number"])
            svg = f"svg/page-{number:05d}.svg"
            parts.append(
                f"<section class='page' id='page-{number}'><div><h2>Page {number}</h2>"
                f"<img src='{svg}' alt='page {number}' loading='lazy'></div>"
                f"<div><h3>Text</h3><pre>{escape(str(page.get('text', '')))}</pre></div></section>"
            )
    parts.append("<h2>Timeline</h2><table><tr><th>t (s)</th><th>event</th><th>details</th></tr>")
    for event in timeline:
        details = ", ".join(f"{k}={v}" for k, v in event.items() if k not in ("t", "kind"))
        parts.append(
            f"<tr><td>{event['t']:.3f}</td><td>{escape(event['kind'])}</td><td>{escape(details)}</td></tr>"
        )
    parts.append("</table></body></html>")
    index = out_dir / "index.html"
    index.write_text("\n".join(parts), encoding="utf-8")
    return index
