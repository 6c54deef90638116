"""Cross-validation from one pass (fastgd/folds.py, fastgd/cross_validation.py): every fold's
moments against their definition (tests/naive.py), and LassoCVGD, ElasticNetCVGD and RidgeCVGD
against scikit-learn's LassoCV, ElasticNetCV and RidgeCV on real data (the diabetes study)."""

import warnings

import naive
import numpy as np
import pytest
from estimator_checks import checks_not_passed

from fastgd.errors import PerformanceWarning
from fastgd.fit import fold_moments
from fastgd.folds import fold_labels, fold_ranges, merged

sklearn = pytest.importorskip("sklearn", reason="the sklearn extra (in the README's test command)")
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import ElasticNetCV, LassoCV, RidgeCV  # noqa: E402
from sklearn.model_selection import GroupKFold, KFold, ShuffleSplit  # noqa: E402

from fastgd.cross_validation import ElasticNetCVGD, LassoCVGD, RidgeCVGD  # noqa: E402

TIGHT = {"tol": 1e-14, "max_iter": 100_000}


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


def assert_moments_equal(ours, reference, rtol=1e-10):
    weight, means, comoment = reference
    assert ours.weight == pytest.approx(weight, rel=1e-12)
    np.testing.assert_allclose(ours.mean, means, rtol=rtol, atol=1e-12)
    scale = np.abs(np.asarray(comoment)).max()
    np.testing.assert_allclose(ours.comoment, comoment, rtol=0, atol=rtol * scale)


@pytest.mark.parametrize(
    ("shuffle", "threads", "weighted", "dtype"),
    [(False, 1, False, np.float64), (True, 1, True, np.float64), (True, 2, False, np.float32),
     (True, 2, True, np.float64), (False, 2, True, np.float32)],
)  # fmt: skip
def test_every_folds_moments_from_one_pass(rng, shuffle, threads, weighted, dtype):
    n = 2 * 512 + 301  # more than a block per fold and thread, and a partial block
    X = (rng.normal(size=(n, 3)) + 5.0).astype(dtype)
    y = (X @ np.array([1.0, -1.0, 2.0]) + rng.normal(size=n)).astype(dtype)
    s = rng.uniform(0.5, 2.0, n).astype(dtype) if weighted else None
    splits = list(KFold(3, shuffle=shuffle, random_state=0 if shuffle else None).split(X))
    labels = fold_labels(n, splits)
    assert (fold_ranges(labels) is None) == shuffle
    ours = fold_moments(X, y, s, labels, threads)
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    for one, reference in zip(ours, naive.fold_moments(X, y, labels, s)):
        assert_moments_equal(one, reference, rtol)
    assert_moments_equal(merged(ours), naive.centered_moments(X, y, s), rtol)


def test_fold_labels_know_a_partition(rng):
    n = 20
    assert (
        fold_labels(n, list(KFold(4, shuffle=True, random_state=1).split(np.zeros(n)))) is not None
    )
    assert fold_labels(n, list(ShuffleSplit(3, random_state=1).split(np.zeros(n)))) is None
    rows = np.arange(n)
    overlapping = [(rows[10:], rows[:12]), (rows[:10], rows[10:])]
    assert fold_labels(n, overlapping) is None
    not_the_rest = [(rows[12:], rows[:10]), (rows[:10], rows[10:])]  # rows 10, 11 left out
    assert fold_labels(n, not_the_rest) is None
    assert fold_ranges(np.array([1, 1, 0, 0, 2])) == [(2, 4), (0, 2), (4, 5)]
    assert fold_ranges(np.array([0, 1, 0])) is None


def test_sparse_and_dask_folds_equal_the_in_memory_ones(rng):
    import scipy.sparse

    da = pytest.importorskip("dask.array")
    n = 700
    X = rng.normal(size=(n, 3))
    X[rng.random(X.shape) < 0.6] = 0.0
    y = X @ np.array([1.0, 2.0, 3.0]) + rng.normal(size=n)
    for shuffle in (False, True):
        splits = list(KFold(4, shuffle=shuffle, random_state=0 if shuffle else None).split(X))
        labels = fold_labels(n, splits)
        reference = fold_moments(X, y, None, labels, 1)
        others = [(scipy.sparse.csr_array(X), y),
                  (da.from_array(X, chunks=(150, 3)), da.from_array(y, chunks=150))]  # fmt: skip
        for data, target in others:
            for one, ref in zip(fold_moments(data, target, None, labels), reference):
                assert_moments_equal(one, (ref.weight, ref.mean, ref.comoment))


def lasso_pair(**options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tol=1e-14: scikit-learn may warn on rounding
        return LassoCV(**options, **TIGHT), LassoCVGD(**options, **TIGHT)


@pytest.mark.parametrize(
    "options",
    [{}, {"cv": KFold(5, shuffle=True, random_state=1)}, {"cv": 3, "positive": True},
     {"fit_intercept": False, "alphas": 20}, {"alphas": [0.01, 1.0, 0.1, 3.0]}],
)  # fmt: skip
def test_lasso_cv_finds_scikit_learns_alpha_and_coefficients(diabetes, options):
    X, y = diabetes
    theirs, ours = lasso_pair(**options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(X, y)
    ours.fit(X, y)
    assert ours.alpha_ == pytest.approx(theirs.alpha_, rel=1e-12)
    np.testing.assert_allclose(ours.alphas_, theirs.alphas_, rtol=1e-12)
    np.testing.assert_allclose(ours.mse_path_, theirs.mse_path_, rtol=1e-8)
    scale = np.abs(theirs.coef_).max()
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-8 * scale)
    assert ours.intercept_ == pytest.approx(theirs.intercept_, rel=1e-10, abs=1e-8)
    assert not hasattr(ours, "l1_ratio_")
    assert ours.dual_gap_ <= 1e-14 * np.var(y)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-8)


def test_elastic_net_cv_with_weights_and_l1_ratios(diabetes, rng):
    X, y = diabetes
    s = rng.uniform(0.2, 3.0, len(y))
    options = {"l1_ratio": [0.2, 0.7, 1.0], **TIGHT}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = ElasticNetCV(**options).fit(X, y, sample_weight=s)
    ours = ElasticNetCVGD(**options).fit(X, y, sample_weight=s)
    assert (ours.alpha_, ours.l1_ratio_) == (pytest.approx(theirs.alpha_, rel=1e-12),
                                             theirs.l1_ratio_)  # fmt: skip
    assert ours.mse_path_.shape == theirs.mse_path_.shape == (3, 100, 5)
    assert ours.alphas_.shape == (3, 100)
    np.testing.assert_allclose(ours.mse_path_, theirs.mse_path_, rtol=1e-8)
    np.testing.assert_allclose(
        ours.coef_, theirs.coef_, rtol=0, atol=1e-8 * np.abs(theirs.coef_).max()
    )


def test_splits_that_are_no_partition_read_each_split_and_say_so(diabetes):
    X, y = diabetes
    cv = ShuffleSplit(3, test_size=0.3, random_state=0)
    theirs, ours = lasso_pair(cv=cv, alphas=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.fit(X, y)
    with pytest.warns(PerformanceWarning, match="not a partition"):
        ours.fit(X, y)
    assert ours.alpha_ == pytest.approx(theirs.alpha_, rel=1e-12)
    np.testing.assert_allclose(ours.mse_path_, theirs.mse_path_, rtol=1e-8)


def test_groups_reach_the_splitter(diabetes):
    X, y = diabetes
    groups = np.arange(len(y)) % 7
    ours = LassoCVGD(cv=GroupKFold(4), alphas=30).fit(X, y, groups=groups)
    folds = list(GroupKFold(4).split(X, y, groups))
    given = LassoCVGD(cv=folds, alphas=30).fit(X, y)
    assert ours.alpha_ == given.alpha_
    np.testing.assert_array_equal(ours.mse_path_, given.mse_path_)


def test_sparse_and_dask_x_choose_the_same(diabetes):
    import scipy.sparse

    da = pytest.importorskip("dask.array")
    X, y = diabetes
    reference = LassoCVGD(cv=KFold(4, shuffle=True, random_state=2), alphas=40).fit(X, y)
    others = [(scipy.sparse.csr_array(X), y),
              (da.from_array(X, chunks=(100, 10)), da.from_array(y, chunks=100))]  # fmt: skip
    for data, target in others:
        ours = LassoCVGD(cv=KFold(4, shuffle=True, random_state=2), alphas=40).fit(data, target)
        assert ours.alpha_ == reference.alpha_
        np.testing.assert_allclose(ours.mse_path_, reference.mse_path_, rtol=1e-9)
        np.testing.assert_allclose(ours.coef_, reference.coef_, rtol=1e-9, atol=1e-9)
        predicted = ours.predict(data)
        predicted = predicted.compute() if hasattr(predicted, "compute") else predicted
        np.testing.assert_allclose(predicted, reference.predict(X), rtol=1e-9)


@pytest.mark.parametrize(
    "options",
    [{}, {"fit_intercept": False}, {"alphas": np.logspace(-4, 2, 13)}, {"cv": 5},
     {"cv": KFold(4, shuffle=True, random_state=3), "alphas": [0.0, 0.01, 1.0]}],
)  # fmt: skip
@pytest.mark.parametrize("weighted", [False, True])
def test_ridge_cv_finds_scikit_learns_alpha(diabetes, rng, options, weighted):
    X, y = diabetes
    s = rng.uniform(0.2, 3.0, len(y)) if weighted else None
    theirs = RidgeCV(**options).fit(X, y, sample_weight=s)
    ours = RidgeCVGD(**options).fit(X, y, sample_weight=s)
    assert ours.alpha_ == theirs.alpha_
    assert ours.best_score_ == pytest.approx(theirs.best_score_, rel=1e-9)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9, atol=1e-9)
    assert ours.intercept_ == pytest.approx(theirs.intercept_, rel=1e-9, abs=1e-9)


def test_ridge_leave_one_out_is_n_fits(rng):
    X = rng.normal(size=(25, 3)) + 1.0
    y = X @ np.array([1.0, 0.5, -1.0]) + rng.normal(size=25)
    s = rng.uniform(0.5, 2.0, 25)
    for weights in (None, s):
        for fit_intercept in (True, False):
            ours = RidgeCVGD(alphas=[0.3, 3.0], fit_intercept=fit_intercept, store_cv_results=True)
            ours.fit(X, y, sample_weight=weights)
            for i, alpha in enumerate([0.3, 3.0]):
                expected = naive.leave_one_out_ridge(X, y, alpha, weights, fit_intercept)
                assert ours.cv_results_[:, i].mean() == pytest.approx(expected, rel=1e-10)


def test_ridge_cv_results_equal_scikit_learns(diabetes):
    X, y = diabetes
    theirs = RidgeCV(alphas=[0.1, 1.0], store_cv_results=True).fit(X, y)
    ours = RidgeCVGD(alphas=[0.1, 1.0], store_cv_results=True).fit(X, y)
    np.testing.assert_allclose(ours.cv_results_, theirs.cv_results_, rtol=1e-8)


@pytest.mark.parametrize(
    ("estimator", "fit_arguments", "error", "message"),
    [
        (LassoCVGD(), {"y": "two"}, ValueError, r"y must be 1-D .*one estimator per column"),
        (ElasticNetCVGD(l1_ratio=[0.5, 2.0]), {}, ValueError, r"l1_ratio must be in \[0, 1\]"),
        (LassoCVGD(alphas=-1), {}, ValueError, "alphas must be >= 1"),
        (LassoCVGD(selection="best"), {}, ValueError, "selection must be"),
        (RidgeCVGD(scoring="r2"), {}, ValueError, "use scikit-learn's RidgeCV"),
        (RidgeCVGD(alphas=[0.0, 1.0]), {}, ValueError, "alphas must be finite and > 0"),
        (RidgeCVGD(cv=3, store_cv_results=True), {}, ValueError, "incompatible"),
        (LassoCVGD(), {"color": 1}, TypeError, "only groups="),
    ],
)
def test_bad_parameters_are_named(rng, estimator, fit_arguments, error, message):
    X = rng.normal(size=(30, 3))
    y = rng.normal(size=30)
    if fit_arguments.get("y") == "two":
        y = np.column_stack([y, y])
        fit_arguments = {}
    with pytest.raises(error, match=message):
        estimator.fit(X, y, **fit_arguments)


@pytest.mark.parametrize("estimator", [LassoCVGD(), ElasticNetCVGD(), RidgeCVGD()])
def test_check_estimator(estimator):
    # The checks' small random data sets take more than max_iter=1000 sweeps at their smallest
    # alphas, as LassoCV's and ElasticNetCV's do: their ConvergenceWarning is the right answer.
    ran, not_passed = checks_not_passed(estimator, (RuntimeWarning, ConvergenceWarning))
    assert ran > 30
    assert not_passed == []


@pytest.mark.parametrize("sparse", [False, True])
def test_wide_data_cross_validates_by_working_sets(rng, sparse):
    import scipy.sparse

    n, d = 80, 200
    X = rng.normal(size=(n, d))
    X[rng.random(X.shape) < 0.5] = 0.0
    y = X[:, :6] @ np.array([3.0, -2.0, 1.5, 1.0, -1.0, 2.0]) + rng.normal(size=n)
    s = rng.uniform(0.5, 2.0, n)
    options = {"l1_ratio": [0.5, 1.0], "alphas": 12, "cv": KFold(4, shuffle=True, random_state=0),
               **TIGHT}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = ElasticNetCV(**options).fit(X, y, sample_weight=s)
    data = scipy.sparse.csr_array(X) if sparse else X
    ours = ElasticNetCVGD(**options).fit(data, y, sample_weight=s)
    assert (ours.alpha_, ours.l1_ratio_) == (pytest.approx(theirs.alpha_, rel=1e-12),
                                             theirs.l1_ratio_)  # fmt: skip
    np.testing.assert_allclose(ours.mse_path_, theirs.mse_path_, rtol=1e-7)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-7 * np.abs(theirs.coef_).max())
