"""The shape of the package, checked: who may import whom (docs/architecture.md).

One fit() call flows fit -> _validation -> plan -> a backend's Run; the backends share the math
(gradient, iteration, moments, curvature, coordinates, stopping, losses, penalties) and know
nothing of fit, plan or the command line; validation and the math know no backend, and plan is
the one module outside the backends that names one. No two modules import each other, even
through others. Imports are read with `ast`, including those inside functions.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "fastgd"

BACKENDS = {"cpu", "gram", "cuda", "cuda_kernels", "distributed", "sparse", "streamed"}
SHARED_MATH = {
    "gradient", "iteration", "moments", "curvature", "coordinates", "stopping", "losses",
    "penalties",
}  # fmt: skip
DRIVERS = {"fit", "plan", "estimator"}
COMMAND_LINE = {
    "cli", "datafiles", "arrowfiles", "model_file", "convert", "progress", "plot", "benchmark",
    "peers", "compile_notice", "_words", "glm_command", "cv_command", "__main__",
}  # fmt: skip
# The built-in data set is the command line's (fastgd demo) and the docs' examples', not a fit's.
LIBRARY_NEVER_IMPORTS = COMMAND_LINE | {"datasets"}


def _module_name(path):
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path):
    """The fastgd modules `path` imports (top-level names: "distributed.loop" -> "distributed")."""
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = [*base, *(node.module.split(".") if node.module else [])]
                names = [target] if node.module else [[*base, a.name] for a in node.names]
            elif node.module and node.module.split(".")[0] == "fastgd":
                inner = node.module.split(".")[1:]  # fastgd.x, or fastgd itself
                names = [inner] if inner else [[a.name] for a in node.names]
            else:
                continue
            found.update(name[0] for name in names if name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "fastgd" and len(parts) > 1:
                    found.add(parts[1])
    return found


def _modules():
    return {path: _module_name(path) for path in PACKAGE.rglob("*.py")}


def test_the_import_reader_reads_imports():
    imports = _imports(PACKAGE / "fit.py")
    assert {"plan", "_validation", "backend", "penalties"} <= imports
    assert "distributed" in _imports(PACKAGE / "plan.py")
    assert "iteration" in _imports(PACKAGE / "distributed" / "loop.py")


def test_validation_imports_no_backend():
    assert _imports(PACKAGE / "_validation.py") & (BACKENDS | DRIVERS | COMMAND_LINE) == set()


def test_backends_and_the_math_import_no_driver_and_no_command_line():
    for path, name in _modules().items():
        top = name.split(".")[0]
        if top in BACKENDS | SHARED_MATH:
            forbidden = _imports(path) & (DRIVERS | COMMAND_LINE)
            assert not forbidden, f"{name} imports {sorted(forbidden)}"


def test_the_math_imports_no_backend():
    for path, name in _modules().items():
        if name.split(".")[0] in SHARED_MATH:
            forbidden = _imports(path) & BACKENDS
            assert not forbidden, f"{name} imports the backends {sorted(forbidden)}"


def test_only_plan_names_a_backend():
    # fit, the estimator, the command line and the rest reach a backend through plan (its
    # INPUTS table and make_plan), so a new backend is one module and its lines there.
    for path, name in _modules().items():
        top = name.split(".")[0]
        if top not in BACKENDS | {"plan"}:
            named = _imports(path) & BACKENDS
            assert not named, f"{name} imports the backends {sorted(named)}: go through plan"


def test_no_import_cycle():
    graph = {}
    for path, name in _modules().items():
        top = name.split(".")[0]
        graph.setdefault(top, set()).update(_imports(path) - {top})
    done, path = set(), []

    def visit(module):
        if module in path:
            cycle = [*path[path.index(module) :], module]
            raise AssertionError("an import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        path.append(module)
        for other in sorted(graph.get(module, ())):
            visit(other)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_the_cycle_finder_finds_a_cycle(monkeypatch):
    real = _imports

    def with_a_cycle(path):
        found = real(path)
        return found | {"fit"} if path.name == "plan.py" else found

    monkeypatch.setitem(globals(), "_imports", with_a_cycle)
    try:
        test_no_import_cycle()
    except AssertionError as error:
        assert "fit -> plan -> fit" in str(error) or "plan -> fit -> plan" in str(error)
    else:
        raise AssertionError("the cycle fit -> plan -> fit was not found")


def test_the_library_does_not_import_the_command_line():
    for path, name in _modules().items():
        if name.split(".")[0] not in LIBRARY_NEVER_IMPORTS:
            forbidden = _imports(path) & LIBRARY_NEVER_IMPORTS
            assert not forbidden, f"{name} imports {sorted(forbidden)}"


def test_every_backend_run_follows_the_protocol():
    import inspect

    from fastgd import backend, cpu, cuda, distributed, gram, sparse

    protocol = {
        name: inspect.signature(member)
        for name, member in vars(backend.Run).items()
        if name in ("compile", "evaluate", "statistics", "iterate", "__init__")
    }
    runs = (cpu.Run, gram.Run, cuda.Run, cuda.Gram, distributed.Run, distributed.GramRun,
            sparse.Run, sparse.Gram)  # fmt: skip
    for run in runs:
        for name, signature in protocol.items():
            parameters = list(inspect.signature(getattr(run, name)).parameters)
            assert parameters == list(signature.parameters), (run, name, parameters)


def test_every_targets_follows_its_protocol():
    import inspect

    from fastgd import backend, cpu, gram

    protocol = {
        name: inspect.signature(member)
        for name, member in vars(backend.Targets).items()
        if name in ("compile", "evaluate", "statistics", "iterate", "sums_of")
    }
    assert len(protocol) == 5
    for targets in (backend.Columns, cpu.Targets, gram.Targets):
        for name, signature in protocol.items():
            parameters = list(inspect.signature(getattr(targets, name)).parameters)
            assert parameters == list(signature.parameters), (targets, name, parameters)
