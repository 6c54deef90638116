"""The library does not depend on the command line: no library module imports a CLI-side one.

The CLI side (the `fastgd` command, its file reading, benchmark, plots and messages) uses the
library; the library (fit and its kernels, the estimator, the lecture's functions) must work
without it. Imports are read from the source, those inside functions too.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "fastgd"
CLI_SIDE = {
    "cli", "datafiles", "convert", "benchmark", "progress", "plot", "peers", "datasets",
    "compile_notice", "_words",
}  # fmt: skip
# Runs the command line: the one module besides the CLI side that may import it.
ENTRY_POINTS = {"__main__"}
LIBRARY = sorted(
    path.stem for path in PACKAGE.glob("*.py") if path.stem not in CLI_SIDE | ENTRY_POINTS
)


def imported_modules(name):
    """The fastgd modules that fastgd/<name>.py imports, anywhere in it."""
    tree = ast.parse((PACKAGE / f"{name}.py").read_text(), filename=f"{name}.py")
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module is None:  # from . import a, b
                found.update(alias.name for alias in node.names)
            elif node.level == 1:  # from .a import b
                found.add(node.module.split(".")[0])
            elif node.module and node.module.split(".")[0] == "fastgd":
                parts = node.module.split(".")
                found.update([parts[1]] if len(parts) > 1 else (a.name for a in node.names))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "fastgd" and len(parts) > 1:
                    found.add(parts[1])
    return found


def test_the_module_lists_are_current():
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    assert CLI_SIDE <= modules and ENTRY_POINTS <= modules
    assert {"fit", "plan", "cpu", "gram", "cuda", "estimator", "threads"} <= set(LIBRARY)


def test_imports_are_found():
    # The reader itself: cli imports both ways (from . import x; from .x import y) and lazily.
    assert {"datasets", "compile_notice", "fit", "benchmark", "plot"} <= imported_modules("cli")
    assert {"cpu", "cuda", "distributed", "gram", "plan"} <= imported_modules("fit")


@pytest.mark.parametrize("name", LIBRARY)
def test_library_modules_import_no_cli_module(name):
    assert not imported_modules(name) & CLI_SIDE
