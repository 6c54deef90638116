"""fit_intercept=False: the model y ~ X w, with b fixed at 0, on every backend and method.

Checked against the slow reference (tests/naive.py) step by step, against the least-squares
solution without an intercept (numpy.linalg.lstsq on X alone) at convergence, and through
lr="auto", whose step then comes from the curvature in w alone.
"""

import naive
import numpy as np
import pytest

import fastgd
from fastgd import curvature, moments


def data(rng, n=400, d=3):
    X = rng.normal(loc=2.0, size=(n, d))
    y = X @ np.arange(1.0, d + 1.0) + 5.0 + rng.normal(size=n)
    return X, y


@pytest.mark.parametrize("method, threads", [("loop", 1), ("loop", 2), ("gram", 1)])
@pytest.mark.parametrize("weighted", [False, True])
def test_each_step_is_the_references(rng, method, threads, weighted):
    X, y = data(rng)
    weights = rng.uniform(0.0, 2.0, len(y)) if weighted else None
    result = fastgd.gradient_descent(
        X, y, lr=0.01, n_iter=30, method=method, threads=threads, sample_weight=weights,
        fit_intercept=False,
    )  # fmt: skip
    b, w, history = naive.gradient_descent(
        X, y, 0.01, 30, sample_weight=weights, fit_intercept=False
    )
    assert result.intercept == b == 0.0
    np.testing.assert_allclose(result.coef, w, rtol=1e-10)
    np.testing.assert_allclose(result.loss_history, history, rtol=1e-10)


@pytest.mark.parametrize("method", ["loop", "gram"])
def test_converges_to_least_squares_without_intercept(rng, method):
    X, y = data(rng)
    result = fastgd.gradient_descent(
        X, y, n_iter=20_000, method=method, fit_intercept=False, tol=0.0
    )
    solution = np.linalg.lstsq(X, y, rcond=None)[0]
    # tol=0 stops where the loss stops falling in float64: the coefficients are then as close as
    # a loss rounded to 1e-16 can tell, about its square root.
    assert result.converged
    np.testing.assert_allclose(result.coef, solution, rtol=1e-6)
    # ... which is not the fit with an intercept: the data has one (5.0).
    with_intercept = fastgd.gradient_descent(X, y, n_iter=20_000, method=method, tol=0.0)
    assert abs(with_intercept.intercept - 5.0) < 0.5
    assert not np.allclose(with_intercept.coef, solution, rtol=1e-3)


def test_lr_auto_uses_the_curvature_in_w_alone(rng):
    X, y = data(rng)
    m = moments.centered_moments(X, y)
    full = np.linalg.eigvalsh(curvature.hessian(m))[-1]
    in_w = np.linalg.eigvalsh(2.0 * (X.T @ X) / len(y))[-1]  # from its definition
    assert curvature.largest_curvature(m, fit_intercept=False) == pytest.approx(in_w, rel=1e-12)
    assert in_w <= full  # interlacing: dropping b never steepens the loss
    result = fastgd.gradient_descent(X, y, n_iter=3, method="loop", fit_intercept=False)
    assert result.lr == pytest.approx(1.0 / in_w, rel=1e-12)
    limit = fastgd.max_stable_lr(X, y, fit_intercept=False)
    assert limit == pytest.approx(2.0 / in_w, rel=1e-12)
    for d in (1, 2):  # one feature: in closed form
        m1 = moments.centered_moments(X[:, :d].copy(), y)
        reference = np.linalg.eigvalsh(2.0 * (X[:, :d].T @ X[:, :d]) / len(y))[-1]
        assert curvature.largest_curvature(m1, False) == pytest.approx(reference, rel=1e-12)


def test_divergence_uses_the_limit_without_intercept(rng):
    X, y = data(rng)
    limit = fastgd.max_stable_lr(X, y, fit_intercept=False)
    with pytest.raises(fastgd.DivergenceError, match="exceeds the stable limit"):
        fastgd.gradient_descent(
            X, y, lr=1.5 * limit, n_iter=2000, method="gram", fit_intercept=False
        )
    fastgd.gradient_descent(X, y, lr=0.9 * limit, n_iter=2000, method="gram", fit_intercept=False)


def test_bad_values_are_named(rng):
    X, y = data(rng)
    with pytest.raises(TypeError, match="fit_intercept must be True or False"):
        fastgd.gradient_descent(X, y, fit_intercept=0)
    with pytest.raises(ValueError, match=r"b0=1\.0 but fit_intercept=False"):
        fastgd.gradient_descent(X, y, b0=1.0, fit_intercept=False)


def test_the_estimator_and_the_command_line(rng, tmp_path, capsys):
    pytest.importorskip("sklearn")
    from fastgd.cli import main

    X, y = data(rng, n=200, d=1)
    model = fastgd.LinearRegressionGD(
        fit_intercept=False, lr=0.01, n_iter=50, tol=None, standardize=False, momentum=0.0
    ).fit(X, y)
    b, w, _ = naive.gradient_descent(X, y, 0.01, 50, fit_intercept=False)
    assert model.intercept_ == b == 0.0
    np.testing.assert_allclose(model.coef_, w, rtol=1e-10)
    np.testing.assert_allclose(model.predict(X), X @ np.asarray(w), rtol=1e-10)

    path = tmp_path / "data.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",")
    status = main(["fit", str(path), "--plain", "--lr", "0.01", "--iters", "50", "--no-intercept"])
    out = capsys.readouterr().out
    assert status == 0
    line = next(line for line in out.splitlines() if line.startswith("After 50 iterations"))
    assert line.startswith("After 50 iterations b = 0.0, m = ")
    printed_m = float(line.split("m = ")[1].split(",")[0])
    assert printed_m == pytest.approx(w[0], rel=1e-10)
    assert main(["fit", str(path), "--no-intercept", "--b0", "1"]) == 2
    # In the command line's terms.
    assert "--b0 1.0 but --no-intercept: " in capsys.readouterr().err
