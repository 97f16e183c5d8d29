"""Where the project's files are: a checkout, or the copy an installed wheel carries.

`pagefan run`, `invoke`, `serve` and `cost` read template.yaml, the state machine's ASL beside it,
the sample events and document (`invoke` prepares its events from them) and the prices file. In a
checkout they are at its root. A wheel carries the same files, laid out as in the checkout, under
``pagefan/local/project_files/`` (setup.py copies them in), so a path relative to the template means
the same in both. Building and deploying with sam needs a checkout.
"""

from __future__ import annotations

from pathlib import Path

import pagefan

PACKAGED_ROOT = Path(__file__).resolve().parent / "project_files"
"""Where a wheel puts the project's files (absent from a checkout)."""

PACKAGED_CODE_URI = "src"
"""The CodeUri of the packaged template's functions: the directory that holds the pagefan package."""


class ProjectFilesMissing(FileNotFoundError):
    """Neither a checkout nor the wheel's copy of the project files: name the template instead."""


def checkout_root() -> Path | None:
    """The checkout this package runs from (an editable install or PYTHONPATH=src), if it does."""
    root = Path(__file__).resolve().parents[3]
    if (root / "template.yaml").is_file() and (root / "src" / "pagefan").is_dir():
        return root
    return None


def project_root() -> Path:
    """The folder with template.yaml, statemachine/, events/, samples/ and benchmarks/prices.json."""
    root = checkout_root()
    if root is not None:
        return root
    if (PACKAGED_ROOT / "template.yaml").is_file():
        return PACKAGED_ROOT
    raise ProjectFilesMissing(
        f"no template.yaml: this pagefan is neither a checkout nor a wheel with its project files "
        f"({PACKAGED_ROOT}); give the template with --template"
    )


def default_template() -> Path:
    """The working directory's template.yaml, else the project's."""
    here = Path.cwd() / "template.yaml"
    if here.exists():
        return here
    return project_root() / "template.yaml"


def default_prices_path() -> Path:
    """The project's prices file (benchmarks/prices.json)."""
    return project_root() / "benchmarks" / "prices.json"


def code_dir(template_root: Path, code_uri: str) -> Path:
    """The directory a function's local CodeUri names, relative to its template's folder.

    The packaged template's CodeUri is the checkout's src/: in a wheel, that is the directory the
    pagefan package is installed in.
    """
    path = (template_root / code_uri).resolve()
    packaged = template_root.resolve() == PACKAGED_ROOT
    if packaged and not path.exists() and Path(code_uri) == Path(PACKAGED_CODE_URI):
        return Path(pagefan.__file__).resolve().parents[1]
    return path
