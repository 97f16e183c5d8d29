"""A client of any pagefan stack, emulated or deployed: it speaks boto3 and nothing else.

Owns uploading a document and following its job to the end (``runner``, ``jobs_client``), the
job's logs (``job_logs``), its cost (``cost``: the usage model and the bill, fed by ``prices``,
``transitions`` and ``reports``) and the HTML gallery of its results (``gallery``).

May import the shipped package (``pagefan.*`` outside ``local``) and :mod:`pagefan.local.project`
(the default prices file); never moto or :mod:`pagefan.local.emulator`, so that it behaves the same
against a deployed stack.
"""
