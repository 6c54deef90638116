"""RidgeGD, LassoGD and ElasticNetGD: scikit-learn's Ridge, Lasso and ElasticNet by their names,
parameters and objective scales (fastgd/sklearn_twins.py), checked against scikit-learn itself on
real data (the diabetes set, unscaled) and by scikit-learn's estimator checks. Needs the sklearn
extra."""

import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="the sklearn extra is not installed")

from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import ElasticNet, Lasso, Ridge  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

import fastgd  # noqa: E402

# (fastgd's twin, scikit-learn's model, parameters); scikit-learn to its own 1e-12 tolerance.
CASES = [
    ("RidgeGD", Ridge, {"alpha": 0.5}),
    ("RidgeGD", Ridge, {"alpha": 30.0, "fit_intercept": False}),
    ("LassoGD", Lasso, {"alpha": 0.1}),
    ("LassoGD", Lasso, {"alpha": 0.5, "positive": True}),
    ("ElasticNetGD", ElasticNet, {"alpha": 0.01, "l1_ratio": 0.3}),
    ("ElasticNetGD", ElasticNet, {"alpha": 0.2, "l1_ratio": 0.9, "fit_intercept": False}),
]


def _exact(model, parameters):
    if model is Ridge:
        return model(**parameters, solver="cholesky")
    return model(**parameters, tol=1e-14, max_iter=1_000_000)


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True, scaled=False)
    return X, y


@pytest.mark.parametrize("name, model, parameters", CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_the_same_coefficients_as_scikit_learn(diabetes, name, model, parameters, weighted):
    X, y = diabetes
    X = (X - X.mean(axis=0)) / X.std(axis=0) * [1, 2, 0.5, 1, 3, 1, 1, 0.2, 1, 1]
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(y)) if weighted else None
    expected = _exact(model, parameters).fit(X, y, sample_weight=weights)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        twin = getattr(fastgd, name)(**parameters).fit(X, y, sample_weight=weights)
    scale = np.max(np.abs(expected.coef_))
    assert twin.coef_ == pytest.approx(expected.coef_, abs=1e-9 * scale)
    assert twin.intercept_ == pytest.approx(expected.intercept_, abs=1e-9 * np.abs(y).max())
    # The same exact zeros (l1): scikit-learn's coordinate descent sets them exactly too.
    assert np.array_equal(twin.coef_ == 0, expected.coef_ == 0)
    assert twin.n_iter_ > 0


def test_the_same_parameters_as_scikit_learn():
    for name, model in (("RidgeGD", Ridge), ("LassoGD", Lasso), ("ElasticNetGD", ElasticNet)):
        twin = getattr(fastgd, name)()
        assert sorted(twin.get_params()) == sorted(model().get_params()), name
        assert twin.get_params()["alpha"] == model().get_params()["alpha"] == 1.0


def test_warm_start_starts_from_the_last_fit(diabetes):
    X, y = diabetes
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    cold = fastgd.LassoGD(alpha=0.1).fit(X, y)
    warm = fastgd.LassoGD(alpha=0.1, warm_start=True).fit(X, y)
    steps = warm.n_iter_
    warm.fit(X, y)  # from the optimum: nothing left to do
    assert warm.n_iter_ < steps / 10
    assert warm.coef_ == pytest.approx(cold.coef_, abs=1e-9 * np.max(np.abs(cold.coef_)))


def test_a_budget_too_small_warns_in_scikit_learns_terms(diabetes):
    X, y = diabetes
    with pytest.warns(ConvergenceWarning, match=r"LassoGD did not reach tol=1e-13 in "
                      r"max_iter=3 iterations.*; raise max_iter$"):  # fmt: skip
        fastgd.LassoGD(alpha=0.1, max_iter=3).fit(X, y)


def test_solver_and_alpha_arrays_are_refused_with_the_remedy(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match=r"solver='svd' is one of scikit-learn's solvers; "
                       r"RidgeGD has one, gradient descent: leave solver='auto'"):  # fmt: skip
        fastgd.RidgeGD(solver="svd").fit(X, y)
    with pytest.raises(ValueError, match=r"RidgeGD takes one alpha for all targets"):
        fastgd.RidgeGD(alpha=[1.0, 2.0]).fit(X, np.column_stack([y, y]))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", ["RidgeGD", "LassoGD", "ElasticNetGD"])
def test_passes_every_scikit_learn_check(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        results = check_estimator(getattr(fastgd, name)(), on_fail=None, on_skip=None)
    not_passed = [
        f"{r['check_name']}: {r['status']} {r['exception']!r}"
        for r in results
        if r["status"] != "passed"
    ]
    assert len(results) > 40
    assert not not_passed, "\n".join(not_passed)
