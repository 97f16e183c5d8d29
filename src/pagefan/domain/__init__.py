"""The document work itself, as plain Python: no AWS, no Lambda, no cairo at import time.

``split`` (Splitter: recognise, limit, read metadata and outline, cut into pages), ``analysis``
(PageWorker: one page's geometry, text and runs), ``combine`` (Combiner: document.json and
document.txt), ``svg`` (both exporters: one page as SVG) and ``pdf_render`` (PdfExporter: SVG to
PDF with cairo, imported lazily, and the merge). ``parsing`` holds what they share about pypdf's
errors.
"""
