"""The loop with several features against a plain read of the same data (issue 15, item 1).

Run: python -m pytest bench/test_features.py   (prints the table at the end)

Target (measured, never asserted; ratios of medians in the same run): one pass of the loop
within 1.15x of a compiled plain read of X and y, for d = 2..64, float32 and float64, one
thread and all threads. The rows are issue 15's table, re-measured side by side, and d = 2, 64.
"""

import functools

import numba
import numpy as np
import pytest
from numba import njit, prange

import fastgd

ITERATIONS = 10
CASES = [
    (1_000_000, 2, np.float64),
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
    X = rng.normal(size=(n, d)).astype(dtype)
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


def loop(case, threads):
    X, y = data(*case)
    return fastgd.fit(X, y, lr=1e-3, n_iter=ITERATIONS, method="loop", threads=threads)


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
