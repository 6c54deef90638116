"""The losses as types (fastgd/losses.py): each one's number, its round trip through the rule,
and the GPU's run-time choice of the same row terms the CPU kernels compile per type."""

import math

import numpy as np
import pytest

from fastgd import gradient, losses


@pytest.mark.parametrize("loss", [losses.SquaredError(), losses.Huber(0.7)])
def test_a_loss_travels_through_the_rule(loss):
    assert list(losses.LOSSES.values()).index(type(loss)) == loss.code
    rule = gradient.make_rule(0.1, 3, loss=loss)
    assert losses.kernel_loss(rule[gradient.LOSS], rule[gradient.LOSS_PARAMETER]) == loss


def test_the_gpus_choice_is_the_cpus_terms():
    rng = np.random.default_rng(0)
    for r, s in zip(rng.normal(scale=2.0, size=50), rng.uniform(0.0, 2.0, size=50)):
        assert losses.terms_by_code(losses.SQUARED_ERROR, 0.0, r, s) == (
            losses.squared_error_terms(0.0, r, s)
        )
        assert losses.terms_by_code(losses.HUBER, 0.7, r, s) == losses.huber_terms(0.7, r, s)
        value, weight = losses.huber_terms(0.7, r, s)
        slope = min(max(r, -0.7), 0.7)
        expected = r * r if abs(r) <= 0.7 else 2 * 0.7 * abs(r) - 0.7**2
        assert value == pytest.approx(s * expected, rel=1e-12) and weight == s * slope
    assert losses.squared_error_terms(0.0, math.inf, 1.0) == (math.inf, math.inf)
