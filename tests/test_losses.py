"""The losses as types (fastgd/losses.py): each one's number, its round trip through the rule,
and the GPU's run-time choice of the same row terms the CPU kernels compile per type."""

import math

import numpy as np
import pytest

from fastgd import gradient, losses


@pytest.mark.parametrize("loss", [losses.SquaredError(), losses.Huber(0.7), losses.Logistic()])
def test_a_loss_travels_through_the_rule(loss):
    assert list(losses.LOSSES.values()).index(type(loss)) == loss.code
    rule = gradient.make_rule(0.1, 3, loss=loss)
    assert losses.kernel_loss(rule[gradient.LOSS], rule[gradient.LOSS_PARAMETER]) == loss


def test_the_gpus_choice_is_the_cpus_terms():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=50).astype(float)
    for y, r, s in zip(labels, rng.normal(scale=2.0, size=50), rng.uniform(0.0, 2.0, size=50)):
        assert losses.terms_by_code(losses.SQUARED_ERROR, 0.0, y, r, s) == (
            losses.squared_error_terms(0.0, r, s)
        )
        assert losses.terms_by_code(losses.HUBER, 0.7, y, r, s) == losses.huber_terms(0.7, r, s)
        assert losses.terms_by_code(losses.LOGISTIC, 0.0, y, r, s) == (
            losses.logistic_terms(y, r, s)
        )
        # The log-loss at the log-odds p = y - r, and half the residual of the probability.
        p = y - r
        sigma = 1.0 / (1.0 + math.exp(-p))
        value, weight = losses.logistic_terms(y, r, s)
        assert value == pytest.approx(s * (math.log1p(math.exp(p)) - y * p), rel=1e-12)
        assert weight == pytest.approx(s * (y - sigma) / 2, rel=1e-12, abs=1e-15)
        value, weight = losses.huber_terms(0.7, r, s)
        slope = min(max(r, -0.7), 0.7)
        expected = r * r if abs(r) <= 0.7 else 2 * 0.7 * abs(r) - 0.7**2
        assert value == pytest.approx(s * expected, rel=1e-12) and weight == s * slope
    assert losses.squared_error_terms(0.0, math.inf, 1.0) == (math.inf, math.inf)
