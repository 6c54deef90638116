"""Time to the least-squares answer: standardization and momentum (issue 13).

Run: python -m pytest bench/test_convergence.py   (prints the table at the end; scikit-learn,
from the `bench` extra, is the peer)

Targets (measured, never asserted; ratios of medians in the same run):
  - LinearRegressionGD() at its defaults (standardize=True, momentum="auto", tol=1e-13) on
    N = 1e6 rows whose features sit 5 to 15 standard deviations from zero, d = 1, 8, 32:
    >= 3x faster than scikit-learn's LinearRegression (its loss within 1e-6 of lstsq's:
    asserted, as a correctness check);
  - the lecture's 100 points with standardize=True, momentum="auto": the least-squares line
    in < 1 ms of fit time (FitResult.seconds; plain gradient descent needs 1e6 steps);
  - the loop path (one pass per step, as on a GPU or Dask) on the same kind of data: >= 100x
    fewer passes to the optimum than plain gradient descent (the labels give the counts);
  - each NIST StRD set at LinearRegressionGD()'s defaults: < 0.5 s (tests/test_nist.py checks
    the digits).

In the "to the optimum" rows, "iterations" is 1, so the ns/point column is the whole solve's
time per data point.
"""

import functools
import pathlib
import sys
import warnings

import numpy as np
import pytest
from quick import rows, steps

import fastgd

N = rows(1_000_000)
SHARED = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"


@functools.cache
def offset_data(n, d):
    rng = np.random.default_rng(d)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 2.0, size=d)
    X += rng.uniform(5.0, 15.0, size=d) * X.std(axis=0)  # means 5 to 15 sd from zero
    y = X @ rng.normal(size=d) + 1.0 + rng.normal(size=n)
    return np.ascontiguousarray(X), y


@functools.cache
def optimal_loss(n, d):
    X, y = offset_data(n, d)
    coefficients = np.linalg.lstsq(np.column_stack([np.ones(n), X]), y, rcond=None)[0]
    residual = y - coefficients[0] - X @ coefficients[1:]
    return float(np.mean(residual * residual))


def sklearn():
    try:
        from sklearn import linear_model
    except ImportError:
        pytest.skip("scikit-learn is not installed: python3 -m pip install -e '.[bench]'")
    return linear_model


D = [1, 8, 32]


@pytest.mark.parametrize("d", D, ids=[f"d{d}" for d in D])
def test_sklearn_offset(benchmark, record, d):
    X, y = offset_data(N, d)
    record(f"sklearn LinearRegression, d={d} offset", N, 1)
    benchmark.pedantic(lambda: sklearn().LinearRegression().fit(X, y), rounds=3, warmup_rounds=1)


@pytest.mark.parametrize("d", D, ids=[f"d{d}" for d in D])
def test_defaults_offset(benchmark, record, d):
    sklearn()
    X, y = offset_data(N, d)
    model = fastgd.LinearRegressionGD().fit(X[:100], y[:100])  # compile outside the timing
    record(f"LinearRegressionGD(), d={d} offset", N, 1, versus=[f"test_sklearn_offset[d{d}]"])
    model = benchmark.pedantic(
        lambda: fastgd.LinearRegressionGD().fit(X, y), rounds=5, warmup_rounds=1
    )
    residual = y - model.predict(X)
    assert np.mean(residual * residual) <= optimal_loss(N, d) * (1 + 1e-6)
    benchmark.extra_info["label"] += f" ({model.n_iter_} steps, {model.loss_curve_.size} losses)"


# --- the loop: passes to the optimum ----------------------------------------------------------

PASSES_N = 2_000
PASSES_D = 2  # plain gradient descent needs ~kappa ln(1e6) passes: with d = 8, about 10^7


def passes_to_optimum(**options):
    X, y = offset_data(PASSES_N, PASSES_D)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastgd.ConvergenceWarning)
        return fastgd.gradient_descent(X, y, method="loop", threads=1, tol=1e-6, **options)


def test_loop_plain_passes(benchmark, record):
    record(f"loop, plain GD, d={PASSES_D}", PASSES_N, 1)  # millions of passes: timed once
    result = benchmark.pedantic(passes_to_optimum, kwargs={"n_iter": steps(5_000_000)}, rounds=1)
    benchmark.extra_info["label"] += f" ({result.n_iter} passes)"


def test_loop_standardized_passes(benchmark, record):
    result = passes_to_optimum(n_iter=100_000, standardize=True, momentum="auto")
    assert result.converged
    record(
        f"loop, standardized+momentum ({result.n_iter} passes), d={PASSES_D}", PASSES_N, 1,
        versus=["test_loop_plain_passes"],
    )  # fmt: skip
    benchmark.pedantic(
        passes_to_optimum, kwargs={"n_iter": 100_000, "standardize": True, "momentum": "auto"},
        rounds=5, warmup_rounds=1,
    )  # fmt: skip


# --- the lecture's 100 points and NIST StRD ---------------------------------------------------


def test_lecture_standardized(benchmark, record):
    path = SHARED / "lecture_data.csv"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    points = np.loadtxt(path, delimiter=",")
    x, y = np.ascontiguousarray(points[:, 0]), np.ascontiguousarray(points[:, 1])
    options = {"standardize": True, "momentum": "auto", "tol": 1e-12, "n_iter": 100}
    result = fastgd.gradient_descent(x, y, **options)
    record(f"lecture, standardized+momentum ({result.n_iter} steps)", 100, 1)
    result = benchmark(fastgd.gradient_descent, x, y, **options)
    assert (round(result.intercept, 5), round(result.coef[0], 5)) == (7.99102, 1.32243)
    benchmark.extra_info["label"] += f", fit {result.seconds * 1e6:.0f} us"


NIST = ["Norris", "Pontius", "Longley", "Wampler1", "Wampler4", "NoInt1"]


@pytest.mark.parametrize("name", NIST)
def test_nist_defaults(benchmark, record, name):
    sklearn()
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
    import nist

    if not nist.NIST_DIR.exists():
        pytest.skip(f"{nist.NIST_DIR} is absent")
    data = nist.load(name)
    model = fastgd.LinearRegressionGD(fit_intercept=data.fit_intercept)
    model.fit(data.X, data.y)
    digits = nist.digits(model.intercept_ if data.fit_intercept else None, model.coef_, data)
    record(f"NIST {name} ({model.n_iter_} steps, {digits:.1f} digits)", len(data.y), 1)
    benchmark(model.fit, data.X, data.y)
