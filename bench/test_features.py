"""The loop with several features against a plain read of the same data (issue 15, item 1).

Run: python -m pytest bench/test_features.py   (prints the table at the end)

Target (measured, never asserted; ratios of medians in the same run): one pass of the loop's
kernel within 1.15x of a compiled plain read of X and y, for d = 2..64, float32 and float64, one
thread and all threads. The rows are issue 15's table, re-measured side by side, and d = 2, 4, 64.
Results: docs/benchmarks.md.
"""

import functools

import numba
import numpy as np
import pytest
from numba import njit, prange
from quick import rows, steps

from fastgd import coordinates, cpu
from fastgd.backend import Settings
from fastgd.gradient import make_rule

ITERATIONS = steps(10)
CASES = [
    (1_000_000, 2, np.float64),
    (1_000_000, 4, np.float64),
    (1_000_000, 4, np.float32),
    (1_000_000, 8, np.float64),
    (4_000_000, 8, np.float32),
    (100_000, 32, np.float64),
    (100_000, 32, np.float32),
    (100_000, 64, np.float64),
]
IDS = [f"N={n:.0e}-d={d}-{np.dtype(t).name}" for n, d, t in CASES]


@functools.cache
def data(n, d, dtype):
    rng = np.random.default_rng(d)
    X = rng.normal(size=(rows(n), d)).astype(dtype)
    y = (X @ rng.normal(size=d)).astype(dtype)
    return X, y


@njit(cache=True, fastmath=True)
def _read(X, y):
    total = 0.0
    flat = X.reshape(X.size)
    for i in range(flat.shape[0]):
        total += flat[i]
    for i in range(y.shape[0]):
        total += y[i]
    return total


@njit(cache=True, fastmath=True, parallel=True)
def _parallel_read(X, y, blocks):
    totals = np.zeros(blocks)
    n = X.shape[0]
    for c in prange(blocks):
        start, stop = c * n // blocks, (c + 1) * n // blocks
        rows, targets = X[start:stop], y[start:stop]
        total = 0.0
        flat = rows.reshape(rows.size)
        for i in range(flat.shape[0]):
            total += flat[i]
        for i in range(targets.shape[0]):
            total += targets[i]
        totals[c] = total
    return totals.sum()


def read(case, threads):
    X, y = data(*case)
    for _ in range(ITERATIONS):
        if threads == 1:
            _read(X, y)
        else:
            _parallel_read(X, y, threads)


@functools.cache
def prepared(case, threads):
    """The CPU loop's Run on the case's data, compiled and at its starting point: `loop` times
    its kernel alone, ITERATIONS passes (fit() adds a pass for the start and one checking the
    data for NaN, which a plain read does not do)."""
    X, y = data(*case)
    d = X.shape[1]
    run = cpu.Run(X, y, None, float(X.shape[0]), threads)
    shift, precondition = coordinates.plain(d, True)
    settings = Settings(make_rule(1e-3, d), shift, precondition, np.zeros(d + 1))
    history = np.empty(ITERATIONS + 1)
    run.compile(0.0, np.zeros(d), settings, history)
    history[0] = run.evaluate(0.0, np.zeros(d), shift)
    return run, settings, history


def loop(case, threads):
    run, settings, history = prepared(case, threads)
    w = np.zeros(len(settings.shift))
    code, reached, _ = run.iterate(0.0, w, 0, ITERATIONS, settings, history)
    assert code == 0 and reached == ITERATIONS  # every pass ran


THREADS = sorted({1, numba.config.NUMBA_NUM_THREADS})


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_read(benchmark, record, case, threads):
    n, d, _ = case
    read(case, threads)
    record(f"read {IDS[CASES.index(case)]} t={threads}", n * d, ITERATIONS)
    benchmark.pedantic(read, (case, threads), rounds=5, warmup_rounds=1)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_loop(benchmark, record, case, threads):
    n, d, _ = case
    loop(case, threads)
    name = IDS[CASES.index(case)]
    record(f"loop {name} t={threads}", n * d, ITERATIONS, versus=[f"test_read[{name}-{threads}]"])
    benchmark.pedantic(loop, (case, threads), rounds=5, warmup_rounds=1)
