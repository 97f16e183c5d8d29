"""The wheel carries the project files `pagefan run`, `invoke`, `serve` and `cost` read (pagefan.local.project).

They live at the checkout's root (sam needs template.yaml there); build_py copies them into the built
package, laid out as in the checkout. The rest of the build is pyproject.toml's.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# Also in MANIFEST.in, so that a wheel built from the sdist has them too.
PROJECT_FILES = (
    "template.yaml",
    "statemachine/*.asl.json",
    "events/*.json",
    "samples/sample.pdf",
    "benchmarks/prices.json",
)
PACKAGED_ROOT = Path("pagefan", "local", "project_files")


class BuildWithProjectFiles(build_py):
    """build_py, plus the project files under pagefan/local/project_files/."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install runs from the checkout, which has them
        for pattern in PROJECT_FILES:
            sources = sorted(ROOT.glob(pattern))
            if not sources:
                raise FileNotFoundError(f"no {pattern} to package")
            for source in sources:
                target = Path(self.build_lib, PACKAGED_ROOT, source.relative_to(ROOT))
                self.mkpath(str(target.parent))
                self.copy_file(str(source), str(target))


setup(cmdclass={"build_py": BuildWithProjectFiles})
