"""positive=True: non-negative least squares by projected (accelerated) gradient descent.

Checked step by step against the slow reference (tests/naive.py, a projection after each step),
at convergence against scipy.optimize.nnls and scikit-learn's LinearRegression(positive=True),
on every backend and method.
"""

import naive
import numpy as np
import pytest

import fastgd


def _data(n=80, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) + [1.0, -2.0, 0.5, 3.0][:d]
    coef = np.array([1.5, -2.0, 0.7, -0.4])[:d]  # two would be negative
    y = X @ coef + 0.5 + 0.3 * rng.normal(size=n)
    return X, y, rng.random(n) + 0.2


@pytest.mark.parametrize("momentum", [0.0, 0.6])
@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("method", ["loop", "gram"])
@pytest.mark.parametrize("weighted", [False, True])
def test_steps_follow_the_projected_reference(momentum, standardize, method, weighted):
    X, y, weights = _data()
    weights = weights if weighted else None
    lr, n_iter = (0.1 if standardize else 0.02), 30
    result = fastgd.gradient_descent(
        X, y, lr=lr, n_iter=n_iter, method=method, positive=True, momentum=momentum,
        standardize=standardize, sample_weight=weights,
    )  # fmt: skip
    b, w, history = naive.standardized_gradient_descent(
        X, y, lr, n_iter, sample_weight=weights, momentum=momentum, standardize=standardize,
        positive=True,
    )  # fmt: skip
    assert np.all(result.coef >= 0.0)
    np.testing.assert_allclose(result.coef, w, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(result.intercept, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(result.loss_history, history, rtol=1e-9)


def _sklearn_positive(X, y, weights=None, fit_intercept=True):
    linear_model = pytest.importorskip("sklearn.linear_model")
    model = linear_model.LinearRegression(positive=True, fit_intercept=fit_intercept)
    return model.fit(X, y, sample_weight=weights)


@pytest.mark.parametrize("method", ["loop", "gram"])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_optimum_is_scikit_learns(method, weighted):
    X, y, weights = _data(n=300, seed=1)
    weights = weights if weighted else None
    result = fastgd.gradient_descent(
        X, y, positive=True, standardize=True, momentum="auto", tol=1e-12, n_iter=50_000,
        method=method, sample_weight=weights,
    )  # fmt: skip
    assert result.converged
    reference = _sklearn_positive(X, y, weights)
    assert np.sum(reference.coef_ == 0.0) >= 1  # the constraint is active
    np.testing.assert_allclose(result.coef, reference.coef_, atol=1e-8)
    np.testing.assert_allclose(result.intercept, reference.intercept_, atol=1e-8)
    np.testing.assert_array_equal(result.coef == 0.0, reference.coef_ == 0.0)  # exact zeros
    assert np.isfinite(result.distance_bound)
    assert np.all(np.abs(result.coef - reference.coef_) <= result.coef_bound + 1e-12)


def test_without_intercept_it_is_nnls():
    optimize = pytest.importorskip("scipy.optimize")
    X, y, _ = _data(n=200, seed=2)
    result = fastgd.gradient_descent(
        X, y, positive=True, fit_intercept=False, standardize=True, momentum="auto", tol=1e-12,
        n_iter=50_000,
    )  # fmt: skip
    expected, _ = optimize.nnls(X, y)
    np.testing.assert_allclose(result.coef, expected, atol=1e-8)
    assert result.intercept == 0.0


def test_several_targets_each_their_own():
    X, y, _ = _data(n=200, seed=3)
    Y = np.column_stack([y, -y, 2 * y + X[:, 1]])
    result = fastgd.gradient_descent(
        X, Y, positive=True, standardize=True, momentum="auto", tol=1e-12, n_iter=50_000
    )
    for t in range(3):
        reference = _sklearn_positive(X, Y[:, t])
        np.testing.assert_allclose(result.coef[t], reference.coef_, atol=1e-8)


def test_with_a_lasso_penalty_and_the_huber_loss():
    X, y, _ = _data(n=60, seed=4)
    for options, reference in (
        ({"penalty": "l1", "alpha": 0.05}, {"l1": 0.05}),
        ({"loss": "huber", "epsilon": 0.5}, {"epsilon": 0.5}),
    ):
        result = fastgd.gradient_descent(X, y, lr=0.1, n_iter=25, standardize=True, momentum=0.5,
                            positive=True, method="loop", **options)  # fmt: skip
        b, w, _ = naive.standardized_gradient_descent(
            X, y, 0.1, 25, momentum=0.5, positive=True, **reference
        )
        np.testing.assert_allclose(result.coef, w, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(result.intercept, b, rtol=1e-9, atol=1e-12)


def test_on_dask():
    da = pytest.importorskip("dask.array")
    X, y, _ = _data(n=90)
    expected = fastgd.gradient_descent(X, y, lr=0.02, n_iter=20, positive=True, method="loop")
    for method in ("loop", "gram"):
        result = fastgd.gradient_descent(
            da.from_array(X, chunks=(40, 4)),
            da.from_array(y, chunks=40),
            lr=0.02,
            n_iter=20,
            positive=True,
            method=method,
        )
        np.testing.assert_allclose(result.coef, expected.coef, rtol=1e-10, atol=1e-14)


def test_positive_must_be_a_flag():
    X, y, _ = _data()
    with pytest.raises(TypeError, match="positive must be True or False"):
        fastgd.gradient_descent(X, y, positive=1)


def test_estimator_matches_linear_regression_positive():
    pytest.importorskip("sklearn")
    X, y, weights = _data(n=200, seed=5)
    ours = fastgd.LinearRegressionGD(positive=True, n_jobs=1, copy_X=False).fit(X, y, weights)
    theirs = _sklearn_positive(X, y, weights)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-8)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, atol=1e-8)


def test_command_line(tmp_path, capsys):
    from fastgd.cli import main

    X, y, _ = _data()
    direct = fastgd.gradient_descent(X, y, lr=0.02, n_iter=40, positive=True)
    path = tmp_path / "data.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",")
    assert main(["fit", str(path), "--positive", "--plain", "--lr", "0.02", "--iters", "40"]) == 0
    assert f"error = {direct.loss!r}" in capsys.readouterr().out
