"""pagefan: a serverless document-processing pipeline (split, analyse, combine, export)."""

__version__ = "0.1.0"
