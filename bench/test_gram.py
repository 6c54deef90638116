"""Gram benchmarks: exact iterations from the moments against the loop and direct solvers.

Run: python -m pytest bench/test_gram.py   (prints the table at the end; scikit-learn, from the
`bench` extra, is an optional peer: its rows are skipped without it)

Targets (measured, never asserted; ratios of medians in the same run):
  - method="gram" >= 100x method="loop" at N = 1e6, 1000 iterations (one thread each);
  - time to the least-squares optimum (loss within a relative 1e-6 of numpy.linalg.lstsq's)
    with lr="auto" on 1e6 x d standardized random data, d in {1, 8, 32}: no slower than
    scikit-learn's LinearRegression; numpy.linalg.lstsq shown too;
  - the same on badly scaled data (features offset far from zero), where plain gradient descent
    needs millions of iterations: reported as measured, whichever way it goes;
  - the lecture's 100 points: lr="auto" with gram reaches b = 7.99102, w = 1.32243 (the
    least-squares line) in well under a second.

In the "to the optimum" rows, "iterations" is 1, so the ns/point column is the whole solve's
time per data point; each fastgd label says how many gradient steps it needed (found once,
before timing, as the first iterate within 1e-6 of the optimum).
"""

import functools
import pathlib

import numpy as np
import pytest
from quick import rows, steps

import fastgd
from fastgd import datasets

N = rows(1_000_000)
LECTURE_DATA = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"


@functools.cache
def random_data(d, offset):
    rng = np.random.default_rng(d)
    X = rng.normal(size=(N, d))
    if offset:
        X += rng.uniform(5.0, 15.0, size=d)  # means 5 to 15 standard deviations from zero
    y = X @ rng.normal(size=d) + 1.0 + rng.normal(size=N)
    return np.ascontiguousarray(X), y


def lstsq(X, y):
    design = np.column_stack([np.ones(len(y)), X])
    return np.linalg.lstsq(design, y, rcond=None)[0]


def optimal_loss(X, y):
    coefficients = lstsq(X, y)
    residual = y - coefficients[0] - X @ coefficients[1:]
    return float(np.mean(residual * residual))


@functools.cache
def steps_to_optimum(d, offset, rtol=1e-6):
    """The first iterate of lr="auto" whose loss is within rtol of the optimum (found once)."""
    X, y = random_data(d, offset)
    target = optimal_loss(X, y) * (1 + rtol)
    budget = 1000
    while True:
        history = fastgd.gradient_descent(X, y, n_iter=budget, method="gram").loss_history
        reached = np.flatnonzero(history <= target)
        if reached.size:
            return int(reached[0])
        budget *= 4


def sklearn_linear_regression():
    try:
        from sklearn.linear_model import LinearRegression
    except ImportError:
        pytest.skip("scikit-learn is not installed: python3 -m pip install -e '.[bench]'")
    return LinearRegression


# --- gram against the loop, N = 1e6, 1000 iterations ----------------------------------------


LOOP_STEPS = steps(1000)


def lecture_like():
    x, y = datasets.lecture_like(N, seed=1)
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def test_loop_1e6(benchmark, record):
    x, y = lecture_like()
    fastgd.gradient_descent(x[:10], y[:10], lr=1e-4, n_iter=1, method="loop", threads=1)
    record("loop, 1 thread, N=1e6", N, 1000)
    benchmark.pedantic(
        fastgd.gradient_descent,
        (x, y),
        {"lr": 1e-4, "n_iter": LOOP_STEPS, "method": "loop", "threads": 1},
        rounds=3,
    )


def test_gram_1e6(benchmark, record):
    x, y = lecture_like()
    fastgd.gradient_descent(x[:10], y[:10], lr=1e-4, n_iter=1, method="gram", threads=1)
    record("gram, 1 thread, N=1e6", N, 1000, versus=["test_loop_1e6"])
    result = benchmark.pedantic(
        fastgd.gradient_descent,
        (x, y),
        {"lr": 1e-4, "n_iter": LOOP_STEPS, "method": "gram", "threads": 1},
        rounds=20,
        warmup_rounds=1,
    )
    loop = fastgd.gradient_descent(x, y, lr=1e-4, n_iter=LOOP_STEPS, method="loop", threads=1)
    np.testing.assert_allclose(result.loss_history, loop.loss_history, rtol=1e-9)


# --- time to the least-squares optimum, 1e6 x d ----------------------------------------------

CASES = [(1, False), (8, False), (32, False), (1, True), (8, True)]
IDS = ["d1", "d8", "d32", "d1-offset", "d8-offset"]


def label(d, offset):
    return f"d={d}{', offset' if offset else ''}, N=1e6"


@pytest.mark.parametrize("d, offset", CASES, ids=IDS)
def test_lstsq_to_optimum(benchmark, record, d, offset):
    X, y = random_data(d, offset)
    record(f"numpy lstsq, {label(d, offset)}", N, 1)
    benchmark.pedantic(lstsq, (X, y), rounds=3, warmup_rounds=1)


@pytest.mark.parametrize("d, offset", CASES, ids=IDS)
def test_sklearn_to_optimum(benchmark, record, d, offset):
    LinearRegression = sklearn_linear_regression()
    X, y = random_data(d, offset)
    record(f"sklearn LinearRegression, {label(d, offset)}", N, 1)
    benchmark.pedantic(lambda: LinearRegression().fit(X, y), rounds=3, warmup_rounds=1)


@pytest.mark.parametrize("d, offset", CASES, ids=IDS)
def test_fastgd_to_optimum(benchmark, record, d, offset):
    X, y = random_data(d, offset)
    steps = steps_to_optimum(d, offset)
    case = IDS[CASES.index((d, offset))]
    record(
        f"fastgd lr=auto ({steps} steps), {label(d, offset)}", N, 1,
        versus=[f"test_sklearn_to_optimum[{case}]", f"test_lstsq_to_optimum[{case}]"],
    )  # fmt: skip
    result = benchmark.pedantic(
        fastgd.gradient_descent, (X, y), {"n_iter": steps}, rounds=5, warmup_rounds=1
    )
    assert result.method == "gram"
    assert result.loss <= optimal_loss(X, y) * (1 + 1e-6)


# --- the lecture's 100 points ---------------------------------------------------------------


def lecture_points():
    path = LECTURE_DATA / "lecture_data.csv"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    points = np.loadtxt(path, delimiter=",")
    return np.ascontiguousarray(points[:, 0]), np.ascontiguousarray(points[:, 1])


LECTURE_STEPS = 1_000_000  # enough for b and w to agree with the least-squares line to 6 digits


def test_lecture_sklearn(benchmark, record):
    LinearRegression = sklearn_linear_regression()
    x, y = lecture_points()
    record("sklearn LinearRegression, lecture data", 100, 1)
    benchmark(lambda: LinearRegression().fit(x.reshape(-1, 1), y))


def test_lecture_loop_to_optimum(benchmark, record):
    x, y = lecture_points()
    record("loop lr=auto, 1e6 steps, lecture data", 100, 1)
    result = benchmark.pedantic(
        fastgd.gradient_descent,
        (x, y),
        {"n_iter": LECTURE_STEPS, "method": "loop"},
        rounds=3,
        warmup_rounds=1,
    )
    assert (round(result.intercept, 5), round(result.coef[0], 5)) == (7.99102, 1.32243)


def test_lecture_gram_to_optimum(benchmark, record):
    x, y = lecture_points()
    record(
        "gram lr=auto, 1e6 steps, lecture data", 100, 1,
        versus=["test_lecture_loop_to_optimum", "test_lecture_sklearn"],
    )  # fmt: skip
    result = benchmark.pedantic(
        fastgd.gradient_descent,
        (x, y),
        {"n_iter": LECTURE_STEPS, "method": "gram"},
        rounds=5,
        warmup_rounds=1,
    )
    assert (round(result.intercept, 5), round(result.coef[0], 5)) == (7.99102, 1.32243)
