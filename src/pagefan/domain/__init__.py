"""The document work itself, as plain Python: no AWS, no Lambda, no cairo at import time.

The domain imports :mod:`pagefan.formats` and :mod:`pagefan.errors`, never ``pagefan.aws``,
``pagefan.stages``, ``pagefan.handlers`` or ``pagefan.config``.

- ``split`` (Splitter): recognise, limit, read metadata and outline, cut into pages.
- ``analysis`` (PageWorker): one page's geometry, text and runs, joining the three below and
  ``graphics``:

  - ``text_runs``: where the text is drawn (runs placed on the page, font, size, colour);
  - ``content_limits``: the bounds on a page's content, checked before the heavy work;
  - ``stand_in_fonts``: fonts a page uses but lacks, so its text reads as a viewer shows it.

- ``graphics`` (PageWorker): paths, images, clipping and forms, read with pdfium.
- ``combine`` (Combiner): document.json and document.txt.
- ``svg`` (both exporters): one page as SVG; ``scripts`` the fonts and order of its scripts.
- ``pdf_render`` (PdfExporter, a part): SVG to PDF with cairo, imported lazily; ``cairo_text`` the
  glyphs cairo draws for a run's text (imported once cairo has loaded).
- ``pdf_merge`` (PdfExporter, the merge): the parts into one PDF, pypdf only.
- ``parsing`` and ``matrices``: what they share about pypdf (errors, objects) and PDF matrices.
"""
