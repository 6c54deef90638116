"""The Huber loss (issue 14): huber(r) = r**2 for |r| <= epsilon, 2 epsilon |r| - epsilon**2
beyond (the lecture's scale: the mean squared error for small residuals), on the loop path of
every backend, against the slow reference step by step and against scipy's minimizer."""

import naive
import numpy as np
import pytest

import fastgd

PATHS = [{"method": "loop", "threads": 1}, {"method": "loop", "threads": 2}]


def data_with_outliers(rng, n=200, d=3):
    X = rng.normal(2.0, 1.5, size=(n, d))
    y = X @ np.array([1.0, -2.0, 0.5])[:d] + 1.0 + 0.3 * rng.normal(size=n)
    y[rng.choice(n, n // 10, replace=False)] += rng.normal(0.0, 20.0, size=n // 10)
    return X, y


def huber_objective(theta, X, y, epsilon, weights=None):
    r = y - theta[0] - X @ theta[1:]
    small = np.abs(r) <= epsilon
    values = np.where(small, r * r, 2 * epsilon * np.abs(r) - epsilon**2)
    slopes = np.clip(r, -epsilon, epsilon)
    s = np.ones_like(y) if weights is None else weights
    total = s.sum()
    gradient = -2.0 * np.concatenate(([s @ slopes], X.T @ (s * slopes))) / total
    return float(s @ values / total), gradient


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("standardize", [False, True])
def test_huber_steps_are_the_reference(rng, path, standardize):
    X, y = data_with_outliers(rng, n=60)
    weights = rng.uniform(0.2, 2.0, size=60)
    lr = 0.2 if standardize else 0.2 * fastgd.max_stable_lr(X, y, weights)
    for momentum in (0.0, 0.6):
        result = fastgd.gradient_descent(
            X, y, lr=lr, n_iter=20, momentum=momentum, standardize=standardize, loss="huber",
            epsilon=0.8, sample_weight=weights, **path,
        )  # fmt: skip
        b, w, history = naive.standardized_gradient_descent(
            X, y, lr, 20, sample_weight=weights, momentum=momentum, standardize=standardize,
            epsilon=0.8,
        )  # fmt: skip
        assert result.intercept == pytest.approx(b, rel=1e-9, abs=1e-12)
        np.testing.assert_allclose(result.coef, w, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(result.loss_history, history, rtol=1e-9)


@pytest.mark.parametrize("path", PATHS)
def test_converges_to_the_huber_minimum(rng, path):
    optimize = pytest.importorskip("scipy.optimize")
    X, y = data_with_outliers(rng)
    result = fastgd.gradient_descent(
        X, y, loss="huber", epsilon=1.0, standardize=True, momentum="auto", tol=1e-12,
        n_iter=100_000, **path,
    )  # fmt: skip
    assert result.converged and result.method == "loop"
    found = optimize.minimize(
        huber_objective, np.zeros(4), args=(X, y, 1.0), jac=True, method="BFGS",
        options={"gtol": 1e-13, "maxiter": 100_000},
    ).x  # fmt: skip
    np.testing.assert_allclose(np.r_[result.intercept, result.coef], found, rtol=1e-6)
    # Robust: the outliers move the squared-error fit, not this one.
    truth = np.array([1.0, 1.0, -2.0, 0.5])
    squared = fastgd.gradient_descent(
        X, y, standardize=True, momentum="auto", tol=1e-12, n_iter=10_000
    )
    assert (
        np.abs(found - truth).max() < np.abs(np.r_[squared.intercept, squared.coef] - truth).max()
    )


def test_auto_picks_the_loop_and_gram_refuses(rng):
    X, y = data_with_outliers(rng, n=50)
    assert fastgd.gradient_descent(X, y, loss="huber", n_iter=5).method == "loop"
    with pytest.raises(ValueError, match=r"gram.*huber|huber.*gram"):
        fastgd.gradient_descent(X, y, loss="huber", method="gram")
    with pytest.raises(ValueError, match="epsilon must be > 0"):
        fastgd.gradient_descent(X, y, loss="huber", epsilon=0.0)
    with pytest.raises(ValueError, match="loss must be"):
        fastgd.gradient_descent(X, y, loss="absolute")


def test_a_large_epsilon_is_the_squared_error(rng):
    X, y = data_with_outliers(rng, n=80)
    huber = fastgd.gradient_descent(
        X, y, loss="huber", epsilon=1e6, lr=0.01, n_iter=30, method="loop"
    )
    squared = fastgd.gradient_descent(X, y, lr=0.01, n_iter=30, method="loop")
    np.testing.assert_allclose(huber.coef, squared.coef, rtol=1e-12)


def test_the_estimator_the_command_line_and_dask(rng, tmp_path, capsys):
    X, y = data_with_outliers(rng, n=120)
    direct = fastgd.gradient_descent(
        X, y, loss="huber", epsilon=0.5, lr=0.01, n_iter=40, method="loop"
    )
    if pytest.importorskip("sklearn"):
        model = fastgd.LinearRegressionGD(
            loss="huber", epsilon=0.5, lr=0.01, n_iter=40, tol=None, standardize=False,
            momentum=0.0,
        ).fit(X, y)  # fmt: skip
        np.testing.assert_array_equal(model.coef_, direct.coef)
    from fastgd.cli import main

    path = tmp_path / "data.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",")
    argv = [
        "fit",
        str(path),
        "--loss",
        "huber",
        "--epsilon",
        "0.5",
        "--plain",
        "--lr",
        "0.01",
        "--iters",
        "40",
    ]
    assert main(argv) == 0
    assert f"error = {direct.loss!r}" in capsys.readouterr().out
    da = pytest.importorskip("dask.array")
    import dask

    with dask.config.set(scheduler="sync"):
        on_dask = fastgd.gradient_descent(
            da.from_array(X, chunks=(50, 3)), da.from_array(y, chunks=50), loss="huber",
            epsilon=0.5, lr=0.01, n_iter=40,
        )  # fmt: skip
    np.testing.assert_allclose(on_dask.coef, direct.coef, rtol=1e-10)
    np.testing.assert_allclose(on_dask.loss_history, direct.loss_history, rtol=1e-10)
