"""The Python cost of a small fit, above its compiled kernels.

Run: python -m pytest bench/test_overhead.py   (prints the table and the overhead at the end)

Users who fit many small models (per group, bootstrap, grid search) pay fit()'s validation,
planning and result building every time. Target (this 2-core machine; measured, never
asserted): fit() on 100 points with one iteration costs <= 30 us above its kernels, i.e.
median(fit) - median(the same kernels called directly). numpy.linalg.lstsq is shown beside.
"""

import numpy as np
import pytest

import fastgd
from fastgd import coordinates, cpu, gradient
from fastgd.backend import Settings
from fastgd.losses import SquaredError

N = 100


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(0)
    x = rng.uniform(20, 80, N)
    return x.reshape(N, 1), 1.3 * x + 8 + rng.normal(size=N)


def _fit(X, y):
    return fastgd.gradient_descent(X, y, lr=1e-4, n_iter=1, method="loop", threads=1)


def _kernels(X, y, partials, sums, history, w, settings):
    # What fit() runs for this call, without it: the loss at the start, then one step.
    w[:] = 0.0
    rest = (settings.rule, None, *settings[2:], partials, sums, history)
    cpu.iterate_serial(X, y, None, SquaredError(), (0,), float(N), 0.0, w, 0, 0, *rest)
    history[0] = sums[0] / N
    return cpu.iterate_serial(X, y, None, SquaredError(), (0,), float(N), 0.0, w, 0, 1, *rest)


def _buffers():
    shift, precondition = coordinates.plain(1, fit_intercept=True)
    rule = gradient.make_rule(1e-4, 1)  # no momentum, no noise, no tol, no penalty
    settings = Settings(rule, shift, precondition, np.zeros(2))
    return np.zeros((1, 3)), np.zeros(3), np.empty(2), np.zeros(1), settings


def test_fit_small(benchmark, record, points):
    _fit(*points)
    record("fit(), 100 points, 1 iteration", N, 1, versus=["test_kernels_alone"])
    benchmark.pedantic(_fit, points, rounds=2000, warmup_rounds=100)


def test_kernels_alone(benchmark, record, points):
    arguments = (*points, *_buffers())
    _kernels(*arguments)
    record("its kernels called directly", N, 1)
    benchmark.pedantic(_kernels, arguments, rounds=2000, warmup_rounds=100)


def test_numpy_lstsq(benchmark, record, points):
    X, y = points
    design = np.column_stack([np.ones(N), X])
    record("numpy.linalg.lstsq (exact)", N, 1, versus=["test_kernels_alone"])
    benchmark.pedantic(np.linalg.lstsq, (design, y), rounds=2000, warmup_rounds=100)
