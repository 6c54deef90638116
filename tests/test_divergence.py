"""A fit that diverges is never reported as a success.

For the squared loss a gradient step below the stable limit 2 / L always decreases the loss, so
a loss that rises (beyond the rounding of the loss itself) means the learning rate is too large:
every backend raises DivergenceError then, with or without tol, and tol's rule only ever stops
a fit as converged by the gradient (never because the loss stopped falling). With momentum the
loss may rise between steps, but never above the starting loss for lr <= 1 / L.
"""

import numpy as np
import pytest

import fastgd
from fastgd import gradient
from fastgd._status import CONVERGED, LOSS_INCREASED, LOSS_NOT_FINITE, RAN


def regression(rng, n=2_000, d=2):
    X = rng.normal(loc=1.0, size=(n, d))
    y = X @ np.arange(1.0, d + 1.0) + 0.5 + rng.normal(size=n)
    return X, y


@pytest.mark.parametrize("method, threads", [("loop", 1), ("loop", 2), ("gram", 1), ("gram", 2)])
@pytest.mark.parametrize("tol", [None, 0.0, 1e-8])
def test_a_learning_rate_above_the_limit_raises(rng, method, threads, tol):
    X, y = regression(rng)
    limit = fastgd.max_stable_lr(X, y)
    with pytest.raises(fastgd.DivergenceError, match=r"diverged at iteration \d+ .*rose from"):
        fastgd.gradient_descent(
            X, y, lr=5 * limit, n_iter=200, tol=tol, method=method, threads=threads
        )
    # Just above the limit the loss falls for a while, then rises: still an error.
    with pytest.raises(fastgd.DivergenceError, match="exceeds the stable limit"):
        fastgd.gradient_descent(
            X, y, lr=1.05 * limit, n_iter=5000, tol=tol, method=method, threads=threads
        )


def test_the_issue_case_lr_10_with_tol(rng):
    # Reported: converged=True, n_iter=1, loss 5045 from a start of 14.
    X, y = regression(rng, n=500, d=3)
    with pytest.raises(fastgd.DivergenceError, match="iteration 1 "):
        fastgd.gradient_descent(X, y, lr=10, tol=1e-8)


@pytest.mark.parametrize("method", ["loop", "gram"])
def test_a_stable_fit_with_tol_converges_near_the_optimum(rng, method):
    X, y = regression(rng)
    result = fastgd.gradient_descent(X, y, tol=1e-10, n_iter=100_000, method=method)
    assert result.converged
    optimum = np.linalg.lstsq(np.column_stack([np.ones(len(y)), X]), y, rcond=None)[0]
    found = np.concatenate(([result.intercept], result.coef))
    assert np.linalg.norm(found - optimum) <= 1e-10 * np.linalg.norm(optimum) + 1e-13


def test_the_divergence_rule_against_its_definition():
    noise = 1e-6
    cases = [
        # reference, loss -> status
        (1.0, 0.5, RAN),
        (1.0, 1.0 + 0.5 * noise, RAN),  # a rise within the noise: go on
        (1.0, 1.0 + 2.0 * noise, LOSS_INCREASED),
        (1.0, np.inf, LOSS_NOT_FINITE),
        (1.0, np.nan, LOSS_NOT_FINITE),
    ]
    for reference, loss, expected in cases:
        assert gradient.divergence_status(reference, loss, noise) == expected, (reference, loss)


def test_the_gradient_rule_against_its_definition(rng):
    # converged iff sqrt(sum p_j g_j**2) <= slope * sqrt(sum theta_j**2 / p_j) + offset, over
    # the parameters with p_j > 0, where g_j = -2 sums[1 + j] / S.
    for _ in range(200):
        d = int(rng.integers(1, 5))
        sums = rng.normal(size=d + 2)
        precondition = rng.uniform(0.1, 3.0, size=d + 1) * (rng.uniform(size=d + 1) > 0.2)
        b, w = float(rng.normal()), rng.normal(size=d)
        slope, offset = rng.uniform(0, 2), rng.uniform(0, 1)
        total_weight = float(rng.uniform(1, 10))
        theta = np.concatenate(([b], w))
        moving = precondition > 0
        g = -2.0 * sums[1:] / total_weight
        gradient_norm = np.sqrt(np.sum(precondition * g * g))
        size = np.sqrt(np.sum(theta[moving] ** 2 / precondition[moving]))
        expected = CONVERGED if gradient_norm <= slope * size + offset else RAN
        rule = gradient.make_rule(0.1, w.shape[0], slope=slope, offset=offset)
        got = gradient.gradient_status(sums, total_weight, rule, b, w, precondition)
        assert got == expected
    rule = gradient.make_rule(0.1, 1)  # offset < 0: never
    assert gradient.gradient_status(np.zeros(3), 1.0, rule, 0.0, np.zeros(1), np.ones(2)) == RAN


def test_the_noise_allowance_covers_gram_rounding_near_an_exact_fit(rng):
    # An exact plane: gram's loss ends as rounding noise and wobbles; that is no divergence.
    X = rng.normal(1.0, 1.0, size=(1000, 3))
    y = X @ np.array([1.0, 2.0, 3.0]) + 3.0
    result = fastgd.gradient_descent(X, y, method="gram", n_iter=50_000, tol=0.0)
    assert result.converged and result.loss < 1e-12


def test_the_estimator_raises_instead_of_a_silent_bad_fit(rng):
    pytest.importorskip("sklearn")
    X, y = regression(rng, n=300, d=3)
    with pytest.raises(fastgd.DivergenceError):
        fastgd.LinearRegressionGD(lr=10).fit(X, y)


def test_the_command_line_exits_1_on_a_rising_loss(rng, tmp_path, capsys):
    # Reported: `fastgd fit data.csv --lr 10 --tol 1e-6` printed a result and exited 0.
    from fastgd.cli import main

    X, y = regression(rng, n=200, d=1)
    path = tmp_path / "data.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",")
    status = main(["fit", str(path), "--lr", "10", "--tol", "1e-6"])
    captured = capsys.readouterr()
    assert status == 1 and captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "diverged at iteration 1 " in lines[0] and "rose from" in lines[0]


@pytest.mark.parametrize("method", ["loop", "gram"])
def test_momentum_above_the_limit_raises_and_auto_never_does(rng, method):
    X, y = regression(rng)
    limit = fastgd.max_stable_lr(X, y)
    with pytest.raises(fastgd.DivergenceError, match=r"above its starting value|stopped being"):
        fastgd.gradient_descent(X, y, lr=2 * limit, momentum=0.5, n_iter=500, method=method)
    for offset in (0.0, 10.0, 100.0):  # ill-conditioned: momentum near 1, the loss not monotone
        shifted = X + offset
        result = fastgd.gradient_descent(shifted, y, momentum="auto", n_iter=3000, method=method)
        assert np.all(result.loss_history <= result.loss_history[0] * (1 + 1e-9))
