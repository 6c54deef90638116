"""A fit that diverges is never reported as a success.

For the squared loss a gradient step below the stable limit 2 / L always decreases the loss, so
a loss that rises (beyond the rounding of the loss itself) means the learning rate is too large:
every backend raises DivergenceError then, with or without tol, and tol's rule only ever stops
a fit on a decrease.
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
        fastgd.fit(X, y, lr=5 * limit, n_iter=200, tol=tol, method=method, threads=threads)
    # Just above the limit the loss falls for a while, then rises: still an error.
    with pytest.raises(fastgd.DivergenceError, match="exceeds the stable limit"):
        fastgd.fit(X, y, lr=1.05 * limit, n_iter=5000, tol=tol, method=method, threads=threads)


def test_the_issue_case_lr_10_with_tol(rng):
    # Reported: converged=True, n_iter=1, loss 5045 from a start of 14.
    X, y = regression(rng, n=500, d=3)
    with pytest.raises(fastgd.DivergenceError, match="iteration 1 "):
        fastgd.fit(X, y, lr=10, tol=1e-8)


@pytest.mark.parametrize("method", ["loop", "gram"])
def test_a_stable_fit_with_tol_converges_only_on_a_decrease(rng, method):
    X, y = regression(rng)
    result = fastgd.fit(X, y, tol=1e-10, n_iter=100_000, method=method)
    assert result.converged
    history = result.loss_history
    assert history[-1] <= history[-2]  # stopped on a decrease
    assert history[-2] - history[-1] <= 1e-10 * history[-2]


def test_the_stopping_rule_against_its_definition():
    noise = 1e-6
    cases = [
        # previous, loss, tol -> status
        (1.0, 0.5, -1.0, RAN),  # no tol: go on
        (1.0, 0.5, 0.6, CONVERGED),  # decreased by 50% <= 60%
        (1.0, 0.5, 0.4, RAN),
        (1.0, 1.0, 0.0, CONVERGED),  # tol=0: stops once the loss stops falling
        (1.0, 1.0 + 0.5 * noise, 0.1, RAN),  # a rise within the noise: neither
        (1.0, 1.0 + 2.0 * noise, 0.1, LOSS_INCREASED),
        (1.0, 1.0 + 2.0 * noise, -1.0, LOSS_INCREASED),
        (1.0, np.inf, 0.1, LOSS_NOT_FINITE),
        (1.0, np.nan, -1.0, LOSS_NOT_FINITE),
    ]
    for previous, loss, tol, expected in cases:
        assert gradient.loss_status(previous, loss, tol, noise) == expected, (previous, loss, tol)


def test_the_noise_allowance_covers_gram_rounding_near_an_exact_fit(rng):
    # An exact plane: gram's loss ends as rounding noise and wobbles; that is no divergence.
    X = rng.normal(1.0, 1.0, size=(1000, 3))
    y = X @ np.array([1.0, 2.0, 3.0]) + 3.0
    result = fastgd.fit(X, y, method="gram", n_iter=50_000, tol=0.0)
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
