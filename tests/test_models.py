"""Penalized least squares (issue 14): l2, l1 and elastic net on every path, against the slow
reference (tests/naive.py) step by step and against scikit-learn's Ridge, Lasso and ElasticNet
at convergence."""

import naive
import numpy as np
import pytest

import fastgd

PATHS = [
    {"method": "loop", "threads": 1},
    {"method": "loop", "threads": 2},
    {"method": "gram", "threads": 1},
]
PENALTIES = [("l2", 0.0), ("l1", 1.0), ("elasticnet", 0.3)]


def data(rng, n=200, d=5, offset=3.0):
    X = rng.normal(offset, 2.0, size=(n, d))
    y = X @ np.array([1.0, 0.0, -2.0, 0.0, 0.5])[:d] + 1.0 + rng.normal(size=n)
    return X, y


def weights_of(penalty, alpha, l1_ratio):
    """(l2, l1) of fit's penalty, as naive's (l2 / 2)|beta|^2 + l1 |beta|_1."""
    if penalty == "l2":
        return alpha, 0.0
    if penalty == "l1":
        return 0.0, alpha
    return alpha * (1 - l1_ratio), alpha * l1_ratio


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("penalty, l1_ratio", PENALTIES)
@pytest.mark.parametrize("standardize", [False, True])
def test_penalized_steps_are_the_reference(rng, path, penalty, l1_ratio, standardize):
    X, y = data(rng, n=60, d=3)
    weights = rng.uniform(0.2, 2.0, size=60)
    alpha = 0.8
    lr = 0.2 if standardize else 0.2 * fastgd.max_stable_lr(X, y, weights)
    for momentum in (0.0, 0.7):
        result = fastgd.gradient_descent(
            X, y, lr=lr, n_iter=20, momentum=momentum, standardize=standardize,
            penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, sample_weight=weights, **path,
        )  # fmt: skip
        l2, l1 = weights_of(penalty, alpha, l1_ratio)
        b, w, history = naive.standardized_gradient_descent(
            X, y, lr, 20, sample_weight=weights, momentum=momentum, l2=l2, l1=l1,
            standardize=standardize,
        )  # fmt: skip
        assert result.intercept == pytest.approx(b, rel=1e-9, abs=1e-12)
        np.testing.assert_allclose(result.coef, w, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(result.loss_history, history, rtol=1e-9)


def sklearn_peer(penalty, alpha_sklearn, l1_ratio):
    linear_model = pytest.importorskip("sklearn.linear_model")
    if penalty == "l2":
        return linear_model.Ridge(alpha=alpha_sklearn)
    if penalty == "l1":
        return linear_model.Lasso(alpha=alpha_sklearn, tol=1e-14, max_iter=1_000_000)
    return linear_model.ElasticNet(
        alpha=alpha_sklearn, l1_ratio=l1_ratio, tol=1e-14, max_iter=1_000_000
    )


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("penalty, l1_ratio", PENALTIES)
def test_converges_to_scikit_learns_solution(rng, path, penalty, l1_ratio):
    X, y = data(rng, n=300)
    n = len(y)
    a = 30.0 if penalty == "l2" else 0.1
    alpha = 2 * a / n if penalty == "l2" else 2 * a  # the documented equivalents
    peer = sklearn_peer(penalty, a, l1_ratio).fit(X, y)
    result = fastgd.gradient_descent(
        X, y, penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, momentum="auto", tol=1e-12,
        n_iter=200_000, **path,
    )  # fmt: skip
    assert result.converged
    np.testing.assert_allclose(result.coef, peer.coef_, rtol=1e-8, atol=1e-10)
    assert result.intercept == pytest.approx(peer.intercept_, rel=1e-8)
    # The bounds hold, and l1 gives exact zeros where scikit-learn's does.
    assert np.all(np.abs(result.coef - peer.coef_) <= result.coef_bound + 1e-12)
    if penalty != "l2":
        np.testing.assert_array_equal(result.coef == 0.0, peer.coef_ == 0.0)
    # The objective never rises above the start (FISTA with lr = 1 / L).
    assert np.all(result.loss_history <= result.loss_history[0])


def test_weighted_ridge_is_scikit_learns(rng):
    linear_model = pytest.importorskip("sklearn.linear_model")
    X, y = data(rng, n=150)
    weights = rng.uniform(0.1, 3.0, size=150)
    peer = linear_model.Ridge(alpha=5.0).fit(X, y, sample_weight=weights)
    result = fastgd.gradient_descent(
        X, y, sample_weight=weights, penalty="l2", alpha=2 * 5.0 / weights.sum(),
        momentum="auto", tol=1e-12, n_iter=100_000, method="gram",
    )  # fmt: skip
    np.testing.assert_allclose(result.coef, peer.coef_, rtol=1e-8)


def test_standardized_penalty_is_on_the_standardized_coefficients(rng):
    # glmnet's convention: the same fit as scikit-learn's on StandardScaler'd X, mapped back.
    linear_model = pytest.importorskip("sklearn.linear_model")
    X, y = data(rng, n=200)
    scale = X.std(axis=0)
    Z = (X - X.mean(axis=0)) / scale
    peer = linear_model.Lasso(alpha=0.05, tol=1e-14, max_iter=1_000_000).fit(Z, y)
    result = fastgd.gradient_descent(
        X, y, standardize=True, penalty="l1", alpha=0.1, momentum="auto", tol=1e-12,
        n_iter=100_000,
    )  # fmt: skip
    np.testing.assert_allclose(result.coef * scale, peer.coef_, rtol=1e-8, atol=1e-12)


def test_bad_penalties_are_named():
    x, y = np.arange(5.0), np.arange(5.0)
    cases = [
        ({"penalty": "l3"}, ValueError, "penalty must be"),
        ({"penalty": "l2", "alpha": -1.0}, ValueError, "alpha must be >= 0"),
        ({"penalty": "elasticnet", "alpha": 1.0, "l1_ratio": 1.5}, ValueError, "l1_ratio"),
        ({"alpha": 1.0}, ValueError, "penalty=None"),
        ({"penalty": "l1", "alpha": "big"}, TypeError, "alpha must be a real number"),
    ]
    for options, error, pattern in cases:
        with pytest.raises(error, match=pattern):
            fastgd.gradient_descent(x, y, **options)


def test_the_estimator_and_the_command_line(rng, tmp_path, capsys):
    pytest.importorskip("sklearn")
    from fastgd.cli import main

    X, y = data(rng, n=100, d=2)
    model = fastgd.LinearRegressionGD(penalty="l1", alpha=0.5).fit(X, y)
    direct = fastgd.gradient_descent(
        X, y, penalty="l1", alpha=0.5, standardize=True, momentum="auto", tol=1e-13,
        n_iter=100_000,
    )  # fmt: skip
    np.testing.assert_array_equal(model.coef_, direct.coef)
    path = tmp_path / "data.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",")
    argv = ["fit", str(path), "--penalty", "l2", "--alpha", "0.5", "--iters", "30", "--plain"]
    assert main(argv) == 0
    assert "After 30 iterations" in capsys.readouterr().out
