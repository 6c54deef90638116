"""The lasso on wide dense and on sparse data, against scikit-learn, skglm, celer and glum
(issue 29's two losing rows).

Run: python -m pytest bench/test_wide.py   (peers: scikit-learn; skglm, celer and glum where
installed -- skglm and glum are in the `bench` extra; a missing peer's rows are skipped)

Targets (measured, never asserted; ratios of medians in the same run), each fit to a relative
suboptimality below 1e-14 of the best objective any of them reaches (checked for fastgd,
printed for the peers):
- Lasso, 5 000 x 2 000 dense, about 200 nonzeros: LassoGD at least as fast as scikit-learn's
  coordinate descent (the fastest peer measured);
- Lasso, 1e5 x 1e4 CSR, 0.5 % dense, about 900 nonzeros: LassoGD at least as fast as skglm.
"""

import functools

import numpy as np
import pytest
from quick import QUICK

import fastgd

sklearn = pytest.importorskip("sklearn")
import scipy.sparse  # noqa: E402
from sklearn.linear_model import Lasso  # noqa: E402

TOL = 1e-14
CASES = {
    # name: (rows, features, density, nonzeros of the truth, alpha / alpha_max)
    "dense": (5_000, 2_000, 1.0, 200, 0.1),
    "sparse": (100_000, 10_000, 0.005, 1_000, 0.02),
}
if QUICK:  # still wide enough for working sets (>= 1024 features), and quick
    CASES = {"dense": (600, 1_100, 1.0, 20, 0.2), "sparse": (3_000, 1_100, 0.02, 30, 0.1)}


@functools.cache
def data(case):
    n, d, density, support, share = CASES[case]
    rng = np.random.default_rng(29)
    if density < 1.0:
        X = scipy.sparse.random(n, d, density=density, format="csr", random_state=29)
    else:
        X = rng.normal(size=(n, d))
    coef = np.zeros(d)
    coef[rng.choice(d, support, replace=False)] = rng.normal(size=support)
    y = np.asarray(X @ coef).ravel() + 0.1 * rng.normal(size=n)
    centred = y - y.mean()
    mean = np.asarray(X.mean(axis=0)).ravel()
    alpha_max = float(np.max(np.abs(X.T @ centred - mean * centred.sum()))) / n
    return X, y, share * alpha_max


def objective(case, coef, intercept):
    X, y, alpha = data(case)
    residual = y - np.asarray(X @ coef).ravel() - intercept
    return 0.5 * float(residual @ residual) / len(y) + alpha * float(np.abs(coef).sum())


@functools.cache
def best_objective(case):
    X, y, alpha = data(case)
    fitted = fastgd.LassoGD(alpha=alpha, tol=1e-16, max_iter=1_000_000).fit(X, y)
    return objective(case, fitted.coef_, fitted.intercept_)


def suboptimality(case, fitted):
    coef = np.ravel(fitted.coef_)
    intercept = float(np.ravel([fitted.intercept_])[0])
    best = best_objective(case)
    return (objective(case, coef, intercept) - best) / best


def peer(name, alpha):
    if name == "scikit-learn":
        return Lasso(alpha=alpha, tol=1e-12, max_iter=100_000)
    if name == "skglm":
        skglm = pytest.importorskip("skglm")
        return skglm.Lasso(alpha=alpha, tol=1e-12, max_iter=1_000)
    if name == "celer":
        celer = pytest.importorskip("celer")
        return celer.Lasso(alpha=alpha, tol=1e-12, max_iter=1_000)
    glum = pytest.importorskip("glum")
    return glum.GeneralizedLinearRegressor(alpha=alpha, l1_ratio=1.0, gradient_tol=1e-12,
                                           max_iter=10_000)  # fmt: skip


PEERS = ["scikit-learn", "skglm", "celer", "glum"]


@pytest.mark.parametrize("case", list(CASES))
def test_fastgd(benchmark, record, case):
    X, y, alpha = data(case)
    fastgd.LassoGD(alpha=alpha).fit(X[:100], y[:100])  # compile outside the timing
    n, d = X.shape
    record(f"LassoGD {case} {n}x{d}", X.shape[0] * X.shape[1], 1,
           versus=[f"test_peer[{case}-{name}]" for name in PEERS])  # fmt: skip
    model = fastgd.LassoGD(alpha=alpha, tol=TOL)
    fitted = benchmark.pedantic(lambda: model.fit(X, y), rounds=5, warmup_rounds=1)
    gap = suboptimality(case, fitted)
    assert fitted.solver_ == "working_sets" and gap <= 1e-13
    nonzeros = np.count_nonzero(fitted.coef_)
    benchmark.extra_info["label"] += f" ({nonzeros} nonzeros, {gap:.0e})"


@pytest.mark.parametrize("case, name", [(c, name) for c in CASES for name in PEERS])
def test_peer(benchmark, record, case, name):
    X, y, alpha = data(case)
    estimator = peer(name, alpha)
    record(f"{name} {case}", X.shape[0] * X.shape[1], 1)
    fitted = benchmark.pedantic(lambda: estimator.fit(X, y), rounds=3, warmup_rounds=1)
    benchmark.extra_info["label"] += f" ({suboptimality(case, fitted):.0e})"
