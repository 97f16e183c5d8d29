"""Typed definitions of every piece of data that crosses a boundary, one module per boundary.

S3 objects, table items and state machine payloads each have one definition here, shared by
the writer and the reader. Every one carries ``format_version``; readers reject versions they
do not know (:class:`~pagefan.errors.FormatVersionError`) instead of guessing.

- ``versions``: the format versions, the S3 metadata every written object carries, the version
  checks of bodies and of metadata, and the one JSON serialisation of bodies.
- ``timestamps``: the ISO 8601 UTC form (milliseconds, ``Z``) of every stored time.
- ``page_result``: what the PageWorker stores for one page (text runs, graphics, images,
  omissions) and the checks its readers make of it.
- ``document``: the uploaded source and the document-level facts the Splitter stores.
- ``payloads``: the inputs of the DocumentJob execution and of the tasks it invokes.
- ``jobs_table``: the items of the jobs table, their keys and statuses.

The modules import only :mod:`pagefan.errors` and each other: every layer above may use them.
"""
