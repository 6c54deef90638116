"""Working sets for wide and sparse data (fastgd/working_set.py): LassoGD, ElasticNetGD and
fastgd.path on X with more features than rows or than `_config.WORKING_SET_MIN_FEATURES`,
against coordinate descent on the rows (tests/naive.py) and scikit-learn's Lasso, ElasticNet
and enet_path."""

import warnings

import naive
import numpy as np
import pytest

import fastgd
from fastgd.working_set import ColumnMoments, Data

sklearn = pytest.importorskip("sklearn", reason="the sklearn extra (in the README's test command)")
import scipy.sparse  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import ElasticNet, Lasso, enet_path  # noqa: E402

TIGHT = {"tol": 1e-13, "max_iter": 100_000}


def wide_data(rng, n=60, d=150, support=8, sparse=False):
    X = rng.normal(size=(n, d)) + 0.5
    if sparse:
        X[rng.random(X.shape) < 0.8] = 0.0
    coef = np.zeros(d)
    coef[rng.choice(d, support, replace=False)] = rng.normal(size=support) * 3
    y = X @ coef + 1.0 + 0.1 * rng.normal(size=n)
    return X, y


def scikit_learn(model, X, y, s=None, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tol=1e-13: scikit-learn may warn on rounding
        return model(**options, tol=1e-13, max_iter=1_000_000).fit(X, y, sample_weight=s)


@pytest.mark.parametrize(
    ("sparse", "weighted", "fit_intercept", "positive", "l1_ratio"),
    [(False, False, True, False, 1.0), (True, True, True, False, 0.6),
     (False, True, False, True, 0.8), (True, False, False, True, 1.0)],
)  # fmt: skip
def test_wide_fits_equal_coordinate_descent_on_the_rows(rng, sparse, weighted, fit_intercept,
                                                        positive, l1_ratio):  # fmt: skip
    # Few features in the answer (alpha large): the rows' coordinate descent, O(n d) a
    # coordinate, gets there in a few hundred sweeps.
    X, y = wide_data(rng, n=25, d=40, sparse=sparse)
    s = rng.uniform(0.5, 2.0, 25) if weighted else None
    alpha = 0.5
    twin = fastgd.ElasticNetGD(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                               positive=positive, **TIGHT)  # fmt: skip
    twin.fit(scipy.sparse.csr_array(X) if sparse else X, y, sample_weight=s)
    assert twin.solver_ == "working_sets"
    b, w = naive.elastic_net_descent(X, y, alpha, l1_ratio, 500, s, fit_intercept, positive)
    np.testing.assert_allclose(twin.coef_, w, rtol=1e-6, atol=1e-7)
    assert twin.intercept_ == pytest.approx(b, rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("sparse", [False, True])
def test_lasso_and_elastic_net_equal_scikit_learns(rng, sparse):
    X, y = wide_data(rng, n=200, d=1100, support=30, sparse=sparse)
    data = scipy.sparse.csr_array(X) if sparse else X
    s = rng.uniform(0.5, 2.0, 200)
    for model, twin, options in [(Lasso, fastgd.LassoGD, {"alpha": 0.02}),
                                 (ElasticNet, fastgd.ElasticNetGD,
                                  {"alpha": 0.05, "l1_ratio": 0.5})]:  # fmt: skip
        theirs = scikit_learn(model, X, y, s, **options)
        ours = twin(**options).fit(data, y, sample_weight=s)
        assert ours.solver_ == "working_sets"
        scale = np.abs(theirs.coef_).max()
        np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-8 * scale)
        assert ours.intercept_ == pytest.approx(theirs.intercept_, rel=1e-9)
        assert 0 <= ours.dual_gap_ <= 1e-13 * np.average((y - np.average(y, weights=s)) ** 2,
                                                          weights=s)  # fmt: skip
        np.testing.assert_array_equal(ours.coef_ == 0, theirs.coef_ == 0)


def test_tall_data_keeps_gradient_descent_and_the_same_answer(rng):
    X, y = wide_data(rng, n=400, d=30)
    tall = fastgd.LassoGD(alpha=0.05).fit(X, y)
    assert tall.solver_ == "gradient_descent"
    np.testing.assert_allclose(tall.coef_, scikit_learn(Lasso, X, y, alpha=0.05).coef_,
                               atol=1e-9)  # fmt: skip


def test_several_targets_float32_and_a_warm_start(rng):
    X, y = wide_data(rng, n=50, d=120)
    Y = np.column_stack([y, -2.0 * y + 1.0])
    ours = fastgd.LassoGD(alpha=0.05).fit(X, Y)
    theirs = scikit_learn(Lasso, X, Y, alpha=0.05)
    assert ours.coef_.shape == (2, 120) and ours.intercept_.shape == (2,)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-8 * np.abs(theirs.coef_).max())
    single = fastgd.LassoGD(alpha=0.05).fit(X.astype(np.float32), y.astype(np.float32))
    assert single.coef_.dtype == np.float32
    np.testing.assert_allclose(single.coef_, ours.coef_[0], rtol=1e-3, atol=1e-4)
    warm = fastgd.LassoGD(alpha=0.05, warm_start=True).fit(X, y)
    first = warm.n_iter_
    warm.fit(X, y)
    assert warm.n_iter_ < first


def test_an_unfinished_fit_warns_with_the_gap(rng):
    X, y = wide_data(rng, n=50, d=120)
    with pytest.warns(ConvergenceWarning, match=r"duality gap .*raise max_iter"):
        fitted = fastgd.LassoGD(alpha=0.001, tol=1e-15, max_iter=2).fit(X, y)
    assert fitted.dual_gap_ > 1e-15


def test_the_sparse_products_equal_the_dense_ones(rng):
    X, y = wide_data(rng, n=80, d=60, sparse=True)
    s = rng.uniform(0.5, 2.0, 80)
    dense = ColumnMoments(Data(X, y, s, True))
    sparse = ColumnMoments(Data(scipy.sparse.csr_array(X), y, s, True))
    for ws in (np.array([3, 7, 11]), np.array([3, 5, 7, 40, 59]), np.arange(0, 60, 2)):
        np.testing.assert_allclose(sparse.of(ws), dense.of(ws), rtol=1e-10, atol=1e-12)
    weights = s / s.sum()
    centred = X - weights @ X
    np.testing.assert_allclose(dense.of(np.arange(60)), centred.T @ (weights[:, None] * centred),
                               atol=1e-12)  # fmt: skip


@pytest.mark.parametrize("sparse", [False, True])
def test_a_wide_path_equals_scikit_learns(rng, sparse):
    X, y = wide_data(rng, n=60, d=200, support=10, sparse=sparse)
    data = scipy.sparse.csr_array(X) if sparse else X
    ours = fastgd.path(data, y, penalty="elasticnet", l1_ratio=0.7, alphas=15, eps=1e-2,
                       **TIGHT)  # fmt: skip
    assert ours.converged.all()
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alphas, coefs, _ = enet_path(Xc, yc, l1_ratio=0.7, alphas=15, eps=1e-2, **TIGHT)
    np.testing.assert_allclose(ours.alphas, alphas, rtol=1e-12)
    np.testing.assert_allclose(ours.coef, coefs.T, atol=1e-8 * np.abs(coefs).max())


def test_wide_data_with_a_nan_is_named(rng):
    X, y = wide_data(rng, n=30, d=80)
    X[4, 70] = np.inf
    with pytest.raises(ValueError, match=r"X\[4, 70\] is inf"):
        fastgd.path(X, y)
