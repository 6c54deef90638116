"""Per-feature penalty weights and bounds on the coefficients (fastgd/penalties.py).

Step by step against the slow reference (tests/naive.py), at the optimum against trusted peers
(scipy's lsq_linear for bounds; scikit-learn's Lasso on rescaled columns for weights), on every
backend, and the errors for bad weights and bounds. Runtime values, not types: none of this
compiles anything the plain fit does not.
"""

import naive
import numpy as np
import pytest
from tiers import cases

import fastgd
from fastgd.penalties import L1, L2, PENALTIES, ElasticNet, NoPenalty, make_penalty


def _data(n=80, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) + [1.0, -2.0, 0.5, 3.0][:d]
    coef = np.array([1.5, -2.0, 0.7, -0.4])[:d]
    y = X @ coef + 0.5 + 0.3 * rng.normal(size=n)
    return X, y, rng.random(n) + 0.2


WEIGHTS = [0.0, 1.0, 2.5, 0.5]  # feature 0 unpenalized
LOWER, UPPER = [-np.inf, -1.0, 0.2, -0.1], [1.0, np.inf, 0.6, np.inf]


@pytest.mark.parametrize(
    "momentum, standardize, method, penalty, bounded",
    cases({
        "momentum": [0.0, 0.6],
        "standardize": [False, True],
        "method": ["loop", "gram"],
        "penalty": ["l1", "elasticnet", "l2"],
        "bounded": [False, True],
    }),
)  # fmt: skip
def test_steps_follow_the_reference(momentum, standardize, method, penalty, bounded):
    X, y, weights = _data()
    lr, n_iter = (0.1 if standardize else 0.02), 30
    l2, l1 = {"l1": (0.0, 0.2), "elasticnet": (0.1, 0.1), "l2": (0.2, 0.0)}[penalty]
    bounds = (LOWER, UPPER) if bounded else None
    result = fastgd.gradient_descent(
        X, y, lr=lr, n_iter=n_iter, method=method, momentum=momentum, standardize=standardize,
        sample_weight=weights, penalty=penalty, alpha=0.2, penalty_weights=WEIGHTS,
        coef_bounds=bounds,
    )  # fmt: skip
    b, w, history = naive.standardized_gradient_descent(
        X, y, lr, n_iter, sample_weight=weights, momentum=momentum, standardize=standardize,
        l2=l2, l1=l1, penalty_weights=WEIGHTS, lower=LOWER if bounded else None,
        upper=UPPER if bounded else None,
    )  # fmt: skip
    np.testing.assert_allclose(result.coef, w, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(result.intercept, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(result.loss_history, history, rtol=1e-9)
    if bounded:
        assert np.all(result.coef >= LOWER) and np.all(result.coef <= UPPER)


@pytest.mark.parametrize("method", ["loop", "gram"])
def test_bounded_least_squares_is_scipys(method):
    optimize = pytest.importorskip("scipy.optimize")
    X, y, _ = _data(n=300, seed=1)
    result = fastgd.gradient_descent(
        X, y, coef_bounds=(LOWER, UPPER), standardize=True, momentum="auto", tol=1e-12,
        n_iter=50_000, method=method,
    )  # fmt: skip
    assert result.converged
    A = np.column_stack([np.ones(len(y)), X])
    expected = optimize.lsq_linear(
        A,
        y,
        bounds=([-np.inf, *LOWER], [np.inf, *UPPER]),
        tol=1e-15,
        lsq_solver="exact",
        method="bvls",
    ).x
    active = (np.isclose(expected[1:], LOWER) | np.isclose(expected[1:], UPPER)).sum()
    assert active >= 2  # the bounds bind
    np.testing.assert_allclose(result.coef, expected[1:], atol=1e-8)
    np.testing.assert_allclose(result.intercept, expected[0], atol=1e-8)
    assert np.all(np.abs(result.coef - expected[1:]) <= result.coef_bound + 1e-12)


def test_a_start_outside_the_bounds_is_moved_into_them():
    X, y, _ = _data()
    result = fastgd.gradient_descent(X, y, lr=0.02, n_iter=5, w0=[5.0, -5.0, 5.0, -5.0],
                        coef_bounds=(LOWER, UPPER))  # fmt: skip
    _, w, history = naive.standardized_gradient_descent(
        X, y, 0.02, 5, w0=[5.0, -5.0, 5.0, -5.0], standardize=False, lower=LOWER, upper=UPPER
    )
    np.testing.assert_allclose(result.coef, w, rtol=1e-9)
    np.testing.assert_allclose(result.loss_history, history, rtol=1e-9)


def test_weighted_lasso_is_scikit_learns_lasso_on_rescaled_columns():
    # c_j |w_j| with c_j > 0 is the plain lasso in v_j = c_j w_j, on the columns X_j / c_j.
    linear_model = pytest.importorskip("sklearn.linear_model")
    X, y, _ = _data(n=300, seed=2)
    weights = np.array([0.5, 1.0, 4.0, 2.0])
    a = 0.2  # scikit-learn's alpha; fastgd's scale is twice it
    result = fastgd.gradient_descent(X, y, penalty="l1", alpha=2 * a, penalty_weights=weights,
                        momentum="auto", tol=1e-12, n_iter=100_000)  # fmt: skip
    assert result.converged
    theirs = linear_model.Lasso(alpha=a, tol=1e-14, max_iter=100_000).fit(X / weights, y)
    assert np.sum(theirs.coef_ == 0.0) >= 1  # a weight decides a zero
    np.testing.assert_allclose(result.coef, theirs.coef_ / weights, atol=1e-7)
    np.testing.assert_array_equal(result.coef == 0.0, theirs.coef_ == 0.0)


def test_an_unpenalized_feature_keeps_its_least_squares_coefficient_in_ridge():
    X, y, _ = _data(n=200, seed=3)
    heavy = fastgd.gradient_descent(X, y, penalty="l2", alpha=1e6, penalty_weights=[0, 1, 1, 1],
                       standardize=True, momentum="auto", tol=1e-12, n_iter=100_000)  # fmt: skip
    assert heavy.converged
    alone = np.linalg.lstsq(np.column_stack([np.ones(len(y)), X[:, 0]]), y, rcond=None)[0]
    np.testing.assert_allclose(heavy.coef[0], alone[1], rtol=1e-4)
    assert np.all(np.abs(heavy.coef[1:]) < 1e-4)


def test_every_backend_takes_the_same_steps():
    X, y, _ = _data(n=90)
    options = dict(lr=0.02, n_iter=20, penalty="elasticnet", alpha=0.3, penalty_weights=WEIGHTS,
                   coef_bounds=(LOWER, UPPER), momentum=0.5)  # fmt: skip
    expected = fastgd.gradient_descent(X, y, method="loop", threads=1, **options)
    others = [fastgd.gradient_descent(X, y, method="gram", **options)]
    sparse = pytest.importorskip("scipy.sparse")
    others.append(fastgd.gradient_descent(sparse.csr_matrix(X), y, method="loop", **options))
    da = pytest.importorskip("dask.array")
    others.append(
        fastgd.gradient_descent(
            da.from_array(X, chunks=(40, 4)), da.from_array(y, chunks=40), method="loop", **options
        )
    )
    several = fastgd.gradient_descent(X, np.column_stack([y, y]), method="loop", **options).coef
    for coef in [result.coef for result in others] + list(several):
        np.testing.assert_allclose(coef, expected.coef, rtol=1e-10, atol=1e-14)


def test_the_types_say_their_strengths():
    assert NoPenalty().strengths == (0.0, 0.0)
    assert L2(0.5).strengths == (0.5, 0.0)
    assert L1(0.5).strengths == (0.0, 0.5)
    assert ElasticNet(1.0, 0.25).strengths == (0.75, 0.25)
    assert set(PENALTIES) == {None, "l2", "l1", "elasticnet"}
    checked = make_penalty("l1", 0.1, 0.5, 3, positive=True)
    assert checked.proximal and checked.bounded and checked.lower.tolist() == [0.0] * 3
    assert not make_penalty("l2", 0.1, 0.5, 3).proximal


@pytest.mark.parametrize(
    "options, error, match",
    [
        ({"penalty_weights": [1.0, 1.0, 1.0, 1.0]}, ValueError, "penalty_weights were given but "
                                                                "penalty=None"),
        ({"penalty": "l1", "alpha": 0.1, "penalty_weights": [1.0, 1.0]}, ValueError,
         r"one value per feature, shape \(4,\)"),
        ({"penalty": "l1", "alpha": 0.1, "penalty_weights": [1.0, -1.0, 1.0, 1.0]}, ValueError,
         "finite and >= 0"),
        ({"penalty": "l1", "alpha": 0.1, "penalty_weights": [1.0, np.nan, 1.0, 1.0]}, ValueError,
         "finite and >= 0"),
        ({"coef_bounds": (0.0,)}, ValueError, r"a pair \(lower, upper\)"),
        ({"coef_bounds": (1.0, 0.0)}, ValueError, "lower bound 1.0 of coefficient 0 is above"),
        ({"coef_bounds": (np.nan, None)}, ValueError, "must not hold NaN"),
        ({"coef_bounds": (np.inf, None)}, ValueError, "admits no coefficient"),
        ({"coef_bounds": ([0.0, 0.0], None)}, ValueError, r"coef_bounds\[0\] must be a number or "
                                                          "one value per feature"),
        ({"coef_bounds": (0.0, None), "positive": True}, ValueError, "give one of them"),
        ({"penalty": "l3"}, ValueError, "penalty must be None, 'l2', 'l1' or 'elasticnet'"),
        ({"penalty": ["l1"]}, ValueError, "penalty must be None, 'l2', 'l1' or 'elasticnet'"),
    ],
)  # fmt: skip
def test_bad_weights_and_bounds_are_named(options, error, match):
    X, y, _ = _data()
    with pytest.raises(error, match=match):
        fastgd.gradient_descent(X, y, **options)


def test_the_callers_arrays_are_left_alone():
    X, y, _ = _data()
    weights, lower = np.array(WEIGHTS), np.array([-1.0, -1.0, -1.0, -1.0])
    w0 = np.array([5.0, 5.0, 5.0, 5.0])
    fastgd.gradient_descent(
        X,
        y,
        lr=0.02,
        n_iter=3,
        penalty="l1",
        alpha=0.1,
        penalty_weights=weights,
        coef_bounds=(lower, 1.0),
        w0=w0,
    )
    assert weights.tolist() == WEIGHTS and lower.tolist() == [-1.0] * 4 and w0.tolist() == [5.0] * 4


def test_the_estimator_takes_them():
    base = pytest.importorskip("sklearn.base")
    X, y, _ = _data(n=200, seed=5)
    options = dict(penalty="l1", alpha=0.05, penalty_weights=WEIGHTS, coef_bounds=(LOWER, UPPER))
    model = base.clone(fastgd.LinearRegressionGD(**options)).fit(X, y)
    direct = fastgd.gradient_descent(
        X, y, standardize=True, momentum="auto", tol=1e-13, n_iter=100_000, **options
    )
    assert direct.converged
    np.testing.assert_allclose(model.coef_, direct.coef, atol=1e-9)
    assert np.all(model.coef_ >= LOWER) and np.all(model.coef_ <= UPPER)
