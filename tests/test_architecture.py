"""The package's layers (``[tool.importlinter]`` in pyproject.toml) hold, and no module can
slip past them: every import of the package is at module level, where import-linter sees it,
and every top-level module is named in the contracts."""
import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "analysis"


def contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"]


def top_level_modules() -> set[str]:
    """``analysis.<name>`` of every module file and sub-package directly under analysis/."""
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    return {f"analysis.{name}" for name in modules | packages}


def test_import_linter_contracts_are_kept():
    # importlinter.cli has no __main__: `python -m importlinter.cli` would do nothing and
    # succeed, so the command is called as the `lint-imports` script does
    command = [sys.executable, "-c", "import sys; from importlinter.cli import "
               "lint_imports_command; sys.exit(lint_imports_command())", "--no-cache"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert f"Contracts: {len(contracts())} kept, 0 broken." in report, report


def function_level_imports(path: Path) -> list[str]:
    """``line: statement`` of each import of the package inside a function of ``path``."""
    found = []

    def visit(node, in_function: bool):
        if in_function and isinstance(node, (ast.Import, ast.ImportFrom)):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:  # a relative import is always the package's own
                names = ["analysis" if node.level else (node.module or "")]
            if any(name == "analysis" or name.startswith("analysis.") for name in names):
                found.append(f"{node.lineno}: {ast.unparse(node)}")
        inside = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                  ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(ast.parse(path.read_text(), str(path)), False)
    return found


def test_the_check_of_function_level_imports_sees_them(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("import numpy\nfrom analysis import config\n\n"
                      "def f():\n    import analysis.scores\n    from . import cache\n"
                      "    import json\n\n"
                      "class C:\n    def g(self):\n        if True:\n"
                      "            from analysis.figures import bars\n")
    assert function_level_imports(source) == [
        "5: import analysis.scores", "6: from . import cache",
        "12: from analysis.figures import bars"]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_the_package_inside_a_function(path):
    """An import inside a function hides a dependency (and a cycle) until the function runs;
    the package's own modules are imported at the top of each file."""
    assert function_level_imports(path) == []


def test_every_top_level_module_is_in_the_layers_contract():
    [layers] = [c for c in contracts() if c["type"] == "layers"]
    named = {module.strip() for layer in layers["layers"] for module in layer.split("|")}
    modules = top_level_modules()
    assert {"analysis.scores", "analysis.figures", "analysis.demo"} <= modules
    assert sorted(modules - named) == [], "modules outside the layers contract"
    assert sorted(named - modules) == [], "the contract names modules that do not exist"


def test_every_core_module_is_forbidden_to_import_the_demo():
    [forbidden] = [c for c in contracts() if c["type"] == "forbidden"]
    assert forbidden["forbidden_modules"] == ["analysis.demo"]
    core = top_level_modules() - {"analysis.demo"}
    assert sorted(core - set(forbidden["source_modules"])) == []
