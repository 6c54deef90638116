"""CPU benchmarks: fastgd against the lecture's pure-Python loops, NumPy and a plain read.

Run: python -m pytest bench/test_cpu.py   (prints the table at the end)

Targets (this 2-core machine; measured, never asserted):
  - >= 1000x the lecture's pure-Python loops (N = 1e4; as written, on a NumPy array; also
    shown against the same loops on Python lists, a stronger peer)
  - >= 8x NumPy vectorized gradient descent (N = 1e6, float64, one thread)
  - one iteration within 1.2x of a plain read of the same arrays (N = 2e7)
  - 2 threads >= 1.6x one thread (N = 1e6)
"""

import numba
import numpy as np
import pytest
from quick import rows, steps

import fastgd
from fastgd import datasets, peers


def data(n):
    x, y = datasets.lecture_like(rows(n), seed=1)
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def fit(x, y, iterations, threads):
    # lr small enough to be stable for the lecture-like data (its limit is about 4e-4).
    # The lecture's loop, one pass over the data per iteration (method="auto" would pick the
    # gram path, which bench/test_gram.py measures).
    return fastgd.gradient_descent(x, y, lr=1e-4, n_iter=iterations, threads=threads, method="loop")


# --- N = 1e4: against the lecture's loops --------------------------------------------------


def test_lecture_as_written_1e4(benchmark, record):
    x, y = data(10_000)
    points = np.column_stack([x, y])
    record("lecture code as written, N=1e4", 10_000, 1)
    benchmark.pedantic(peers.lecture_gradient_descent, (points, 0.0, 0.0, 1e-4, 1), rounds=3)


def test_lecture_python_1e4(benchmark, record):
    x, y = data(10_000)
    points = np.column_stack([x, y]).tolist()
    record("lecture loops on Python lists, N=1e4", 10_000, 2)
    benchmark.pedantic(peers.python_gradient_descent, (points, 0.0, 0.0, 1e-4, 2), rounds=3)


def test_fastgd_serial_1e4(benchmark, record):
    x, y = data(10_000)
    fit(x, y, 1, 1)
    record(
        "fastgd 1 thread, N=1e4",
        10_000,
        1000,
        versus=["test_lecture_as_written_1e4", "test_lecture_python_1e4"],
    )
    benchmark(fit, x, y, steps(1000), 1)


# --- N = 1e6: against NumPy, and threads -----------------------------------------------------


def test_numpy_1e6(benchmark, record):
    x, y = data(1_000_000)
    record("NumPy vectorized GD, N=1e6", 1_000_000, 20)
    benchmark.pedantic(
        peers.numpy_gradient_descent, (x, y, 1e-4, steps(20)), rounds=5, warmup_rounds=1
    )


def test_fastgd_serial_1e6(benchmark, record):
    x, y = data(1_000_000)
    fit(x, y, 1, 1)
    record("fastgd 1 thread, N=1e6", 1_000_000, 100, versus=["test_numpy_1e6"])
    benchmark.pedantic(fit, (x, y, steps(100), 1), rounds=7, warmup_rounds=1)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 threads")
def test_fastgd_parallel_1e6(benchmark, record):
    x, y = data(1_000_000)
    fit(x, y, 1, 2)
    record(
        "fastgd 2 threads, N=1e6", 1_000_000, 100,
        versus=["test_numpy_1e6", "test_fastgd_serial_1e6"],
    )  # fmt: skip
    benchmark.pedantic(fit, (x, y, steps(100), 2), rounds=7, warmup_rounds=1)


# --- N = 2e7 (DRAM): against a plain read -----------------------------------------------------


def test_read_2e7(benchmark, record):
    x, y = data(20_000_000)
    peers.read_pass(x, y)
    record("plain read of x and y, N=2e7", 20_000_000, 1)
    benchmark.pedantic(peers.read_pass, (x, y), rounds=15, warmup_rounds=1)


def test_fastgd_serial_2e7(benchmark, record):
    x, y = data(20_000_000)
    fit(x, y, 1, 1)
    record("fastgd 1 thread, N=2e7", 20_000_000, 10, versus=["test_read_2e7"])
    benchmark.pedantic(fit, (x, y, steps(10), 1), rounds=5, warmup_rounds=1)
