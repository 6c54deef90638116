"""Same input, device and thread count give bit-identical results, also across processes.

Within one process this is checked in test_fit.py. Here two fresh interpreters fit the same data
and must print the same bits: the kernels come from numba's on-disk cache there (written by this
test session at the latest), as they do for every run after the first (see README,
"Determinism").
"""

import os
import subprocess
import sys

import numpy as np
from tiers import FULL

SCRIPT = """
import numpy as np, fastgd
rng = np.random.default_rng(3)
for d in (1, 3):
    X = rng.normal(size=(300_001, d)); y = rng.normal(size=300_001)
    for threads in (1, 2):
        for method in ("loop", "gram"):
            r = fastgd.gradient_descent(X, y, lr=0.1, n_iter=40, threads=threads, method=method)
            print(d, threads, method, r.intercept.hex(), *[c.hex() for c in r.coef], r.loss.hex())
"""


def _run():
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return completed.stdout


def test_fresh_processes_give_identical_bits():
    _run()  # compiles whatever this session has not compiled yet, and caches it
    first = _run()
    assert first.count("\n") == 8
    assert _run() == first


FRESH_SCRIPT = """
import sys
import numpy as np, fastgd
rng = np.random.default_rng(3)
for d in map(int, sys.argv[1:]):
    X = rng.normal(size=(30_001, d)); y = rng.normal(size=30_001)
    for method, threads in (("loop", 1), ("gram", 1), ("loop", 2), ("gram", 2)):
        r = fastgd.gradient_descent(X, y, lr=0.1, n_iter=60, threads=threads, method=method)
        print(d, method, threads, r.intercept.hex(), *[c.hex() for c in r.coef], r.loss.hex())
for k in (4, 16):  # several targets: both layouts of gradient.target_sums
    Y = rng.normal(size=(30_001, k))
    r = fastgd.gradient_descent(X, Y, lr=0.1, n_iter=60, threads=1, method="loop")
    print(k, "targets", 1, *[v.hex() for v in (*r.intercept, *r.coef.ravel(), *r.loss)])
"""


def _numbers(line):
    return np.array([float.fromhex(value) for value in line.split()[3:]])


def test_the_process_that_compiles_agrees_with_those_that_load_the_cache(tmp_path):
    # Every process that loads the kernels from numba's cache runs the same machine code: the
    # same bits, on any CPU. The process that compiled them may differ in the last bits, one
    # thread or several (docs/determinism.md): numba compiles a function that a kernel calls
    # (a prange body, the loop's layout `gradient._layout_loop`) as a library of its own and
    # links a copy into the kernel; the compiling process calls its own library's copy, the
    # others the kernel's, which LLVM optimized again inside the kernel. Seen for the one-thread
    # loop on an AMD EPYC (Zen 3, no AVX-512), and here with NUMBA_CPU_NAME=znver3.
    # Every kernel compiles here in an empty cache: CI's tier takes the layout for 3 features
    # (the one that calls a separately compiled loop), the full tier the one-feature layout too.
    environment = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    widths = ["1", "3"] if FULL else ["3"]

    def run():
        return subprocess.run(
            [sys.executable, "-c", FRESH_SCRIPT, *widths],
            capture_output=True, text=True, check=True, timeout=600, env=environment,
        ).stdout.splitlines()  # fmt: skip

    compiled = run()
    loaded = run()
    assert len(compiled) == len(loaded) == 4 * len(widths) + 2
    assert run() == loaded
    for fresh, cached in zip(compiled, loaded):
        assert fresh.split()[:3] == cached.split()[:3]
        np.testing.assert_allclose(_numbers(fresh), _numbers(cached), rtol=1e-12, err_msg=fresh)
