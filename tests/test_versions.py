"""Every version is pinned once, or the places that pin it agree.

constraints.txt pins what the tests run; layers/dependencies/requirements.txt pins what the Lambda functions
ship; tools-requirements.txt pins the SAM CLI that translates the template for `sam deploy`. pyproject.toml
declares what the code imports.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "dependencies" / "requirements.txt"

# Packages the layer ships at another version than the tests run, each with its reason. None today: with
# manylinux_2_28 among the layer's platforms, every tested version has an arm64 wheel.
LAYER_DIFFERS: dict[str, str] = {}

# The Lambda platform, for the environment markers of the layer's dependencies.
LAMBDA_MARKERS = {
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "python_version": "3.13",
    "python_full_version": "3.13.0",
    "os_name": "posix",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "aarch64",
}

# Imported only when installed, by code that runs without them (checked by name, not by distribution).
OPTIONAL_IMPORTS = {
    "jsonschema": "pagefan.schemas validates a format only when jsonschema is there (the tests install it)",
}


def _pins(path: Path) -> dict[str, str]:
    """name → version of every ``name==version`` line (extras dropped)."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            requirement = Requirement(text)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"{path.name}: {text} is not pinned"
            pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def _layer_direct() -> dict[str, Requirement]:
    """The layer's ``--- direct ---`` section: what the functions import."""
    text = LAYER.read_text(encoding="utf-8")
    section = text.split("# --- direct ---", 1)[1].split("# --- transitive ---", 1)[0]
    lines = (line.split("#", 1)[0].strip() for line in section.splitlines())
    return {canonicalize_name(req.name): req for req in map(Requirement, filter(None, lines))}


def _pyproject() -> dict[str, list[Requirement]]:
    """[project] dependencies under "", each optional group under its name.

    Without pagefan's own extras (``pagefan[local]`` makes `pipx install .` bring the command's
    packages): what is left under "" is what the functions import.
    """
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = {"": project["dependencies"], **project["optional-dependencies"]}
    return {
        group: [req for req in map(Requirement, texts) if canonicalize_name(req.name) != "pagefan"]
        for group, texts in groups.items()
    }


def test_the_layer_ships_the_versions_the_tests_run() -> None:
    layer, tested = _pins(LAYER), _pins(ROOT / "constraints.txt")
    differ = {name: (pin, tested.get(name)) for name, pin in layer.items() if tested.get(name) != pin}
    # Each: (the layer's pin, constraints.txt's). Make them agree, or list the package in LAYER_DIFFERS.
    assert {name: pins for name, pins in differ.items() if name not in LAYER_DIFFERS} == {}
    assert set(LAYER_DIFFERS) <= set(differ), "LAYER_DIFFERS lists a package whose pins agree"


def test_the_layer_pins_each_shipped_dependency_within_pyproject() -> None:
    declared = {canonicalize_name(req.name): req for req in _pyproject()[""]}
    direct = _layer_direct()
    assert sorted(direct) == sorted(declared)
    for name, requirement in declared.items():
        assert requirement.extras == direct[name].extras, name
        (pin,) = direct[name].specifier
        assert requirement.specifier.contains(pin.version), f"{name}=={pin.version} is not {requirement}"


def test_the_layer_pins_every_package_its_dependencies_need_and_no_other() -> None:
    # The closure as the installed (tested) versions declare it, for Python 3.13 on arm64 Linux.
    needed: set[str] = set()
    visited: set[tuple[str, frozenset[str]]] = set()
    pending = [(req.name, frozenset(req.extras)) for req in _layer_direct().values()]
    while pending:
        name, extras = pending.pop()
        if (canonicalize_name(name), extras) in visited:
            continue
        visited.add((canonicalize_name(name), extras))
        needed.add(canonicalize_name(name))
        for text in importlib.metadata.requires(name) or []:
            requirement = Requirement(text)
            marker = requirement.marker or Marker("python_version >= '3'")
            if any(marker.evaluate({**LAMBDA_MARKERS, "extra": extra}) for extra in ("", *extras)):
                pending.append((requirement.name, frozenset(requirement.extras)))
    assert sorted(needed) == sorted(_pins(LAYER))


def test_the_local_runtime_translates_the_template_with_the_sam_clis_translator() -> None:
    # GIVEN the SAM CLI's pins (tools-requirements.txt records the translator its release requires)
    tools = _pins(ROOT / "tools-requirements.txt")
    # THEN `pagefan run` translates the template with the translator `sam deploy` uses
    assert _pins(ROOT / "constraints.txt")["aws-sam-translator"] == tools["aws-sam-translator"]
    # AND, where the tools are installed, the SAM CLI requires that translator
    for metadata in (ROOT / ".venv-tools").glob("lib/python*/site-packages/aws_sam_cli-*.dist-info/METADATA"):
        text = metadata.read_text(encoding="utf-8")
        assert re.search(r"^Version: (.+)$", text, re.M)[1] == tools["aws-sam-cli"]  # type: ignore[index]
        required = re.search(r"^Requires-Dist: aws-sam-translator==(\S+)$", text, re.M)
        assert required is not None and required[1] == tools["aws-sam-translator"]


def test_every_package_the_code_imports_is_declared() -> None:
    declared = {
        group: {canonicalize_name(req.name) for req in requirements}
        for group, requirements in _pyproject().items()
    }
    distributions = importlib.metadata.packages_distributions()
    undeclared = []
    for source in sorted((ROOT / "src" / "pagefan").rglob("*.py")):
        shipped = "local" not in source.relative_to(ROOT / "src" / "pagefan").parts
        # Shipped code gets only [project] dependencies; the local runtime gets its extra too.
        allowed = declared[""] | (set() if shipped else declared["local"])
        for module in _runtime_imports(source):
            if module in sys.stdlib_module_names or module == "pagefan" or module in OPTIONAL_IMPORTS:
                continue
            names = {canonicalize_name(name) for name in distributions.get(module, [module])}
            if not names & allowed:
                undeclared.append(f"{source.relative_to(ROOT)}: {module} ({', '.join(sorted(names))})")
    assert not undeclared, "imported, not declared in pyproject.toml:\n" + "\n".join(undeclared)


def _runtime_imports(source: Path) -> set[str]:
    """The top-level modules a file imports, outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and ast.unparse(block.test).endswith("TYPE_CHECKING")
        for statement in block.body
        for node in ast.walk(statement)
    }
    modules = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules
