"""LinearRegressionGD as a drop-in for scikit-learn's LinearRegression (issue 16): its
constructor parameters, and its answer where many fit equally well (rank-deficient or
underdetermined X): the least-norm coefficients of the centred problem, with a free
intercept."""

import warnings

import numpy as np
import pytest

import fastgd
from fastgd.plan import choose_method

linear_model = pytest.importorskip("sklearn.linear_model")


def _rank_deficient(n, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10.0, size=d) + 3.0 * rng.normal(size=d)
    if n > d:  # collinear columns: rank d - 1
        X[:, -1] = 2.0 * X[:, 0] - X[:, 1]
    return X, rng.normal(size=n), rng.random(n) + 0.1


@pytest.mark.parametrize(("n", "d"), [(10, 20), (40, 6), (5, 5)])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("method", ["loop", "gram"])
@pytest.mark.parametrize("standardize", [True, False])
def test_least_norm_answer_like_scikit_learn(n, d, fit_intercept, method, standardize):
    X, y, weights = _rank_deficient(n, d, seed=n + d)
    reference = linear_model.LinearRegression(fit_intercept=fit_intercept).fit(X, y, weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the conditioning warning: expected here
        ours = fastgd.LinearRegressionGD(
            fit_intercept=fit_intercept, method=method, standardize=standardize,
            n_iter=400_000,
        ).fit(X, y, weights)  # fmt: skip
    scale = np.abs(reference.coef_).max()
    np.testing.assert_allclose(ours.coef_, reference.coef_, atol=1e-8 * scale)
    np.testing.assert_allclose(ours.intercept_, reference.intercept_, atol=1e-8 * (scale + 1))
    assert np.linalg.norm(ours.coef_) <= np.linalg.norm(reference.coef_) * (1 + 1e-9)


def test_least_norm_changes_no_prediction():
    from fastgd import coordinates, curvature
    from fastgd.moments import centered_moments

    X, y, weights = _rank_deficient(40, 6, seed=1)
    moments = centered_moments(X, y, weights)
    rng = np.random.default_rng(1)
    for fit_intercept in (True, False):
        for shift, precondition in (
            coordinates.plain(6, fit_intercept),
            coordinates.standardized(moments, fit_intercept),
        ):
            w = rng.normal(size=6)
            c = float(rng.normal()) if fit_intercept else 0.0
            c_new, w_new = curvature.minimum_norm(moments, fit_intercept, shift, precondition,
                                                  c, w)  # fmt: skip
            before = c + (X - shift) @ w
            np.testing.assert_allclose(c_new + (X - shift) @ w_new, before, atol=1e-9)
            assert np.linalg.norm(w_new) < np.linalg.norm(w)
            # The least: nothing left along the null direction (2, -1, 0, 0, 0, -1).
            assert abs(w_new @ [2.0, -1.0, 0.0, 0.0, 0.0, -1.0]) < 1e-9


def test_a_penalty_or_a_constraint_keeps_its_own_unique_answer():
    X, y, _ = _rank_deficient(10, 20, seed=2)
    ridge = fastgd.gradient_descent(X, y, penalty="l2", alpha=0.1, standardize=False, tol=1e-12,
                       momentum="auto", n_iter=100_000, minimum_norm=True)  # fmt: skip
    reference = linear_model.Ridge(alpha=0.1 * 10 / 2).fit(X, y)
    np.testing.assert_allclose(ridge.coef, reference.coef_, rtol=1e-7, atol=1e-10)


def test_constructor_takes_linear_regressions_parameters():
    X, y, weights = _rank_deficient(60, 4, seed=3)
    X[:, -1] += np.random.default_rng(3).normal(size=60)  # full rank
    before = X.copy()
    for params in ({"copy_X": False}, {"n_jobs": -1}, {"n_jobs": 1}, {"positive": True}):
        ours = fastgd.LinearRegressionGD(**params).fit(X, y, weights)
        np.testing.assert_array_equal(X, before)  # copy_X=False changes nothing either
        theirs = linear_model.LinearRegression(**params).fit(X.copy(), y, weights)
        np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-9)
    assert fastgd.LinearRegressionGD(n_jobs=2).get_params()["n_jobs"] == 2
    with pytest.raises(ValueError, match="threads"):
        fastgd.LinearRegressionGD(n_jobs=10**6).fit(X, y)


def test_auto_method_prefers_gram_on_a_tie():
    # Equal costs: gram, whose gradient's rounding does not grow with the rows.
    assert choose_method(100, 100, 100, moments_needed=True) == "gram"
    assert choose_method(10**6, 1, 1, moments_needed=False) == "loop"


def test_fit_returns_its_own_iterate_unless_asked():
    X, y, _ = _rank_deficient(10, 20, seed=4)
    options = dict(standardize=True, momentum="auto", tol=1e-12, n_iter=10_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        iterate = fastgd.gradient_descent(X, y, **options)
        least = fastgd.gradient_descent(X, y, minimum_norm=True, **options)
    reference = linear_model.LinearRegression().fit(X, y)
    np.testing.assert_allclose(least.coef, reference.coef_, atol=1e-8)
    assert np.linalg.norm(least.coef) < np.linalg.norm(iterate.coef) * (1 - 1e-3)
    np.testing.assert_allclose(iterate.predict(X), least.predict(X), atol=1e-9)
