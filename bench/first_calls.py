"""A user's first calls, each in a fresh process: cold (an empty numba cache) and cached.

Run: python3 bench/first_calls.py            (every call below; a few minutes on 2 cores)
     python3 bench/first_calls.py demo loop   (some of them, by name)

A user's first fit pays for every kernel it compiles, and so does every fresh container, CI job
and notebook on a new machine. Each call runs in its own interpreter with its own empty numba
cache (NUMBA_CACHE_DIR), so nothing one call compiled helps another, then again with that cache
filled. Printed per call: the seconds of the whole process (wall clock, interpreter start
included), how many functions it compiled (numba's compile events: kernels and the functions they
call) and how many kernels it needed (the signatures Python asked numba for, compiled or loaded
from the cache). Issue 26's
targets: each cold call <= 3 s (the two-thread loop and 16 targets <= 5 s), all together
<= 30 s, cached <= 0.5 s. Measured, never asserted: tests/test_compile_budget.py counts the
kernels (a number, not a time) against the expected ones.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

# name: (the data, the call). `x, y`: the lecture-like 100 points; `X, Y`: 10**4 rows, 8
# features. The call is timed from the start of the process to its end.
_POINTS = "from fastgd.datasets import lecture_like; x, y = lecture_like(100)"
_TABLE = (
    "import numpy as np; rng = np.random.default_rng(0); X = rng.normal(size=(10_000, 8)); "
    "y = X @ np.arange(1.0, 9.0) + 3.0 + rng.normal(size=10_000)"
)
CASES = {
    "import": ("", "pass"),
    "1-D, defaults": (_POINTS, "fastgd.fit(x, y)"),
    "(10^4, 8), defaults": (_TABLE, "fastgd.fit(X, y)"),
    "loop, one thread": (_TABLE, "fastgd.fit(X, y, method='loop', threads=1)"),
    "loop, two threads": (_TABLE, "fastgd.fit(X, y, method='loop', threads=2)"),
    "standardize, momentum, tol": (
        _TABLE,
        "fastgd.fit(X, y, standardize=True, momentum='auto', tol=1e-8)",
    ),
    "LinearRegressionGD": (_TABLE, "fastgd.LinearRegressionGD().fit(X, y)"),
    "penalty l1": (_TABLE, "fastgd.fit(X, y, penalty='l1', alpha=0.1)"),
    "huber": (_TABLE, "fastgd.fit(X, y, loss='huber')"),
    "16 targets, loop": (
        _TABLE + "; Y = np.column_stack([y + t for t in range(16)])",
        "fastgd.fit(X, Y, method='loop')",
    ),
    "CSR X": (_TABLE + "; import scipy.sparse as sp; S = sp.csr_matrix(X)", "fastgd.fit(S, y)"),
    "float32, loop": (
        _TABLE + "; X = X.astype(np.float32); y = y.astype(np.float32)",
        "fastgd.fit(X, y, method='loop')",
    ),
    "logistic, loop": (  # labels with noise: classes that overlap, as real ones do
        _TABLE + "; c = (y + 15 * rng.normal(size=10_000) > 3) * 1.0",
        "fastgd.fit(X, c, loss='logistic')",
    ),
    "PoissonRegressorGD (Newton)": (
        _TABLE + "; counts = np.floor(np.abs(y))",
        "fastgd.PoissonRegressorGD().fit(X, counts)",
    ),
    "demo": ("", "from fastgd import cli; cli.main(['demo'])"),
}

# Run in the child: the call, then what it compiled and what it needed, as one JSON line. A
# kernel is needed when Python asks numba for it (a call, or fastgd.compiled.compile_for): the
# outermost `Dispatcher.compile`, whether it compiles or loads numba's cache; the functions that
# a kernel calls compile inside it (nested), or come with it from the cache, and do not count.
_CHILD = """
import io, json, contextlib, warnings
from numba.core import event
from numba.core.dispatcher import Dispatcher
compiled, needed, depth = [], {{}}, [0]
class _Listener(event.Listener):
    def on_start(self, ev): pass
    def on_end(self, ev): compiled.append(1)
event.register("numba:compile", _Listener())
_compile = Dispatcher.compile
def _counted(self, sig):
    if depth[0] == 0:
        module = getattr(self.py_func, "__module__", "") or ""
        if module.split(".")[0] == "fastgd":
            needed.setdefault(module + "." + self.py_func.__qualname__, set()).add(str(sig))
    depth[0] += 1
    try:
        return _compile(self, sig)
    finally:
        depth[0] -= 1
Dispatcher.compile = _counted
warnings.simplefilter("ignore")
import fastgd
{data}
with contextlib.redirect_stdout(io.StringIO()):
    {call}
needed = {{name: len(signatures) for name, signatures in needed.items()}}
print("FIRST-CALL " + json.dumps({{"compiled": len(compiled), "needed": needed}}))
"""


def run(name, cache_dir=None):
    """Run case `name` in a fresh interpreter with numba's cache in `cache_dir` (None: where
    this process's environment puts it): (seconds, kernels compiled, {kernel: signatures
    needed})."""
    data, call = CASES[name]
    source = _CHILD.format(data=data, call=call)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    environment = {**os.environ, "PYTHONPATH": path, "PYTHONWARNINGS": "ignore"}
    if cache_dir is not None:
        environment["NUMBA_CACHE_DIR"] = cache_dir
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, env=environment
    )
    seconds = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.startswith("FIRST-CALL ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{name!r} failed:\n{done.stdout}\n{done.stderr}")
    report = json.loads(lines[-1][len("FIRST-CALL ") :])
    return seconds, report["compiled"], report["needed"]


def main(names):
    names = names or list(CASES)
    unknown = [name for name in names if name not in CASES]
    if unknown:
        sys.exit(f"unknown case(s) {unknown}; choose from {list(CASES)}")
    print(f"{'first call':<28} {'cold s':>7} {'cached s':>9} {'compiled':>9} {'kernels':>8}")
    total = 0.0
    for name in names:
        with tempfile.TemporaryDirectory() as cache_dir:
            cold, compiled, needed = run(name, cache_dir)
            cached, _, _ = run(name, cache_dir)
        total += cold
        kernels = sum(needed.values())
        print(f"{name:<28} {cold:>7.2f} {cached:>9.2f} {compiled:>9d} {kernels:>8d}", flush=True)
    print(f"{'all, each cold':<28} {total:>7.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
