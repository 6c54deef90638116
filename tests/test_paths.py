"""fastgd.path: the elastic net's regularization path from one pass over X (fastgd/paths.py),
against coordinate descent on the rows themselves (tests/naive.py) and scikit-learn's
enet_path on real data (the diabetes study)."""

import warnings

import naive
import numpy as np
import pytest
from tiers import pairwise

import fastgd
from fastgd.coordinate_descent import alpha_grid, quadratic
from fastgd.fit import data_moments

sklearn = pytest.importorskip("sklearn", reason="the sklearn extra (in the README's test command)")
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.linear_model import enet_path  # noqa: E402


def small_data(rng, n=40, d=4, offset=2.0):
    X = rng.normal(size=(n, d)) + offset
    y = X @ np.array([1.5, -2.0, 0.0, 0.7])[:d] + 3.0 + rng.normal(size=n)
    return X, y


@pytest.mark.parametrize(
    "case",
    pairwise({
        "penalty": [("l1", 1.0), ("elasticnet", 0.4)],
        "weights": [False, True],
        "fit_intercept": [True, False],
        "positive": [False, True],
    }),
)  # fmt: skip
def test_each_alpha_is_the_optimum_coordinate_descent_on_the_rows_reaches(rng, case):
    X, y = small_data(rng)
    s = rng.uniform(0.5, 2.0, len(y)) if case["weights"] else None
    penalty, l1_ratio = case["penalty"]
    options = {"fit_intercept": case["fit_intercept"], "positive": case["positive"]}
    result = fastgd.path(X, y, penalty=penalty, l1_ratio=l1_ratio, alphas=5, eps=1e-2,
                         sample_weight=s, tol=1e-15, max_iter=100_000, **options)  # fmt: skip
    assert result.converged.all()
    assert result.coef.shape == (5, 4) and np.all(np.diff(result.alphas) < 0)
    for alpha, coef, intercept in zip(result.alphas, result.coef, result.intercept):
        b, w = naive.elastic_net_descent(X, y, alpha, l1_ratio, 300, s, **options)
        np.testing.assert_allclose(coef, w, rtol=1e-7, atol=1e-9)
        assert intercept == pytest.approx(b, rel=1e-7, abs=1e-9)
    # The first alpha is alpha_max: nothing enters; just below it, something does.
    assert np.all(result.coef[0] == 0.0)
    assert np.any(result.coef[1] != 0.0)


def test_equals_scikit_learns_enet_path_on_the_diabetes_data():
    X, y = load_diabetes(return_X_y=True)
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    for l1_ratio in (1.0, 0.3):
        ours = fastgd.path(X, y, penalty="elasticnet", l1_ratio=l1_ratio, tol=1e-14,
                           max_iter=100_000)  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tol=1e-14: scikit-learn may warn on rounding
            alphas, coefs, _ = enet_path(Xc, yc, l1_ratio=l1_ratio, alphas=100, eps=1e-3,
                                         tol=1e-14, max_iter=100_000)  # fmt: skip
        np.testing.assert_allclose(ours.alphas, alphas, rtol=1e-12)
        scale = np.abs(coefs).max()
        np.testing.assert_allclose(ours.coef, coefs.T, rtol=0, atol=1e-8 * scale)
        np.testing.assert_allclose(ours.intercept, y.mean() - ours.coef @ X.mean(axis=0))


def test_ridge_alphas_are_scikit_learns_ridge_in_its_scale(rng):
    from sklearn.linear_model import Ridge

    X, y = small_data(rng, n=60)
    result = fastgd.path(X, y, penalty="l2", alphas=[0.01, 1.0, 0.1])
    np.testing.assert_array_equal(result.alphas, [1.0, 0.1, 0.01])
    for alpha, coef, intercept in zip(result.alphas, result.coef, result.intercept):
        twin = Ridge(alpha=alpha * len(y)).fit(X, y)  # Ridge's squares are not halved / n
        np.testing.assert_allclose(coef, twin.coef_, rtol=1e-10)
        assert intercept == pytest.approx(twin.intercept_, rel=1e-10)
    assert np.all(result.n_iter == 0)  # each one solve
    assert np.all(result.dual_gap < 1e-10) and result.converged.all()


def test_float32_sparse_and_dask_give_the_same_path(rng):
    import scipy.sparse

    da = pytest.importorskip("dask.array")
    X, y = small_data(rng, n=300, d=4)
    X[rng.random(X.shape) < 0.5] = 0.0
    reference = fastgd.path(X, y, alphas=8, tol=1e-12)
    for data in (scipy.sparse.csr_array(X), da.from_array(X, chunks=(70, 4))):
        result = fastgd.path(data, y, alphas=8, tol=1e-12)
        np.testing.assert_allclose(result.coef, reference.coef, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(result.alphas, reference.alphas, rtol=1e-12)
    single = fastgd.path(X.astype(np.float32), y.astype(np.float32), alphas=8, tol=1e-10)
    np.testing.assert_allclose(single.coef, reference.coef, rtol=1e-4, atol=1e-5)


def test_warm_start_from_coef_init_and_the_alpha_grid(rng):
    X, y = small_data(rng, n=80)
    problem = quadratic(data_moments(X, y), True)
    grid = alpha_grid(problem, 1.0, False, 10, 1e-3)
    result = fastgd.path(X, y, alphas=10)
    np.testing.assert_allclose(result.alphas, grid)
    assert result.alphas[-1] == pytest.approx(1e-3 * result.alphas[0])
    restarted = fastgd.path(X, y, alphas=result.alphas[-1:], coef_init=result.coef[-1])
    assert restarted.n_iter[0] <= 1


def test_an_unfinished_path_warns_and_says_where(rng):
    X, y = small_data(rng, n=80)
    with pytest.warns(fastgd.ConvergenceWarning, match=r"max_iter=1 .*raise max_iter"):
        result = fastgd.path(X, y, alphas=5, tol=1e-15, max_iter=1)
    assert not result.converged[1:].all()
    assert np.all(result.dual_gap[~result.converged] > 1e-15 * np.var(y))


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"penalty": "l0"}, ValueError, "penalty must be"),
        ({"penalty": "elasticnet", "l1_ratio": 2.0}, ValueError, r"l1_ratio must be in \[0, 1\]"),
        ({"alphas": 0}, ValueError, "alphas must be >= 1"),
        ({"alphas": [1.0, -1.0]}, ValueError, "alphas must be finite and >= 0"),
        ({"alphas": [[1.0]]}, ValueError, "a 1-D list"),
        ({"penalty": "l2"}, ValueError, r"l1_ratio > 0.*pass alphas="),
        ({"eps": 0.0}, ValueError, "eps must be > 0"),
        ({"tol": -1.0}, ValueError, "tol must be >= 0"),
        ({"max_iter": 0}, ValueError, "max_iter must be >= 1"),
        ({"coef_init": [1.0]}, ValueError, r"coef_init must have shape \(4,\)"),
        ({"fit_intercept": 1}, TypeError, "fit_intercept must be True or False"),
    ],
)
def test_bad_options_are_named(rng, options, error, message):
    X, y = small_data(rng)
    with pytest.raises(error, match=message):
        fastgd.path(X, y, **options)


def test_bad_data_is_named(rng):
    X, y = small_data(rng)
    with pytest.raises(ValueError, match=r"y must be 1-D .*once per column"):
        fastgd.path(X, np.column_stack([y, y]))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"X\[3, 1\] is nan"):
        fastgd.path(X, y)
