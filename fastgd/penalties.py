"""The penalties and the bounds on the coefficients, each a type, and their math, defined once.

Every penalty fastgd fits is *separable*: coefficient j adds

    c_j ((l2 / 2) u_j**2 + l1 |u_j|),    subject to    lower_j <= w_j <= upper_j,

where u_j = w_j / sqrt(p_j) is the coefficient in the fit's coordinates (fastgd/coordinates.py;
u = w without `standardize`), c_j >= 0 its weight (1 by default; 0 leaves a feature unpenalized,
glmnet's penalty.factor) and the bounds are in the user's units (-inf and inf by default;
positive=True is (0, inf)). The intercept is never penalized nor bounded.

A user's penalty is a type here (`NoPenalty`, `L2`, `L1`, `ElasticNet`: scikit-learn's names)
that knows its strengths (l2, l1); `make_penalty` checks it with the weights and the bounds into
one `Penalty`. The kernels never see the types: they read the numbers from the fit's `rule`
(fastgd/gradient.py: the strengths, a flag for the bounds, and c, lower and upper for each
feature), so every penalty and every bound runs the same compiled code -- runtime values, not
types, and nothing more to compile.

The math, each once, for every backend (the GPU compiles these functions' source too,
fastgd/cuda_kernels.py):

- `proximal_coefficient`: the penalty's part of a step, the soft-threshold of the l1 part and the
  projection onto the bounds (`gradient.apply_step`; the l2 part's gradient joins the loss's);
- `coefficient_penalty`: one coefficient's share of the objective (`gradient.penalty`);
- the stationarity measure, the proximal gradient mapping, is `gradient.stationarity`'s, from
  the same `proximal_coefficient` in u.

A new separable penalty with these proximal steps is a class here (its `strengths`) and one line
in `PENALTIES`. One with another proximal step (SCAD, MCP, group lasso) also needs its formula in
`proximal_coefficient` and `coefficient_penalty`, chosen by a runtime slot of the rule.
"""

import functools
import math
from typing import NamedTuple

import numpy as np
from numba import njit

from ._config import FASTMATH
from ._validation import as_array, check_flag, check_real


class NoPenalty(NamedTuple):
    """The loss alone (the lecture's)."""

    @property
    def strengths(self):
        return 0.0, 0.0


class L2(NamedTuple):
    """alpha |u|^2 / 2: ridge regression."""

    alpha: float

    @property
    def strengths(self):
        return self.alpha, 0.0


class L1(NamedTuple):
    """alpha |u|_1: the lasso."""

    alpha: float

    @property
    def strengths(self):
        return 0.0, self.alpha


class ElasticNet(NamedTuple):
    """alpha (l1_ratio |u|_1 + (1 - l1_ratio) |u|^2 / 2)."""

    alpha: float
    l1_ratio: float

    @property
    def strengths(self):
        return self.alpha * (1.0 - self.l1_ratio), self.alpha * self.l1_ratio


# The penalties by the name `fit(penalty=...)` takes, each made from fit's alpha and l1_ratio: a
# new one is a class above and a line here.
PENALTIES = {
    None: lambda alpha, l1_ratio: NoPenalty(),
    "l2": lambda alpha, l1_ratio: L2(alpha),
    "l1": lambda alpha, l1_ratio: L1(alpha),
    "elasticnet": ElasticNet,
}


class Penalty(NamedTuple):
    """A checked penalty (`make_penalty`): its type, its strengths, each feature's weight and
    bounds ((d,) each), and what they imply, worked out once (a small fit reads them often)."""

    kind: NoPenalty | L2 | L1 | ElasticNet
    l2: float
    l1: float
    weights: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    bounded: bool  # some coefficient has a finite bound: the steps project onto them
    # A step has a proximal part (a soft-threshold or a projection): the stopping rule then
    # measures the proximal gradient mapping, FISTA's estimate is its proximal point, and the
    # distance bound is 3 |G| / mu (fastgd/stopping.py).
    proximal: bool


@functools.lru_cache(maxsize=64)
def unpenalized(n_features):
    """No penalty, no bounds (read-only arrays, one set per width: most fits have no
    penalty, and a small fit would spend microseconds making them)."""
    plain = _checked(NoPenalty(), np.ones(n_features), None, None, n_features)
    for values in (plain.weights, plain.lower, plain.upper):
        values.flags.writeable = False
    return plain


def _checked(kind, weights, lower, upper, n_features):
    """The `Penalty` of a type, the weights and the bounds (None: none)."""
    l2, l1 = kind.strengths
    bounded = lower is not None or upper is not None
    lower = np.full(n_features, -math.inf) if lower is None else lower
    upper = np.full(n_features, math.inf) if upper is None else upper
    if bounded:
        bounded = bool(np.isfinite(lower).any() or np.isfinite(upper).any())
    return Penalty(kind, l2, l1, weights, lower, upper, bounded, l1 > 0.0 or bounded)


def make_penalty(
    penalty, alpha, l1_ratio, n_features, *, penalty_weights=None, positive=False,
    coef_bounds=None,
):  # fmt: skip
    """The `Penalty` of fit's penalty=, alpha=, l1_ratio=, penalty_weights=, positive= and
    coef_bounds=, checked, for `n_features` coefficients."""
    if not isinstance(penalty, (str, type(None))) or penalty not in PENALTIES:
        names = [repr(name) for name in PENALTIES]
        choices = ", ".join(names[:-1]) + " or " + names[-1]
        raise ValueError(f"penalty must be {choices}, got {penalty!r}")
    strength = check_real(alpha, "alpha")
    if strength < 0.0:
        raise ValueError(f"alpha must be >= 0, got {strength}")
    ratio = check_real(l1_ratio, "l1_ratio")
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"l1_ratio must be in [0, 1], got {ratio}")
    if penalty is None and strength != 0.0:
        raise ValueError(
            f"alpha={strength:g} but penalty=None: choose penalty='l2', 'l1' or 'elasticnet', "
            "or leave alpha at 0"
        )
    if penalty is None and penalty_weights is None and coef_bounds is None and positive is False:
        return unpenalized(n_features)
    kind = PENALTIES[penalty](strength, ratio)
    weights = np.ones(n_features)
    if penalty_weights is not None:
        if penalty is None:
            raise ValueError(
                "penalty_weights were given but penalty=None: they weigh a penalty's terms; "
                "choose penalty='l2', 'l1' or 'elasticnet', or leave penalty_weights out"
            )
        weights = _per_feature(penalty_weights, "penalty_weights", n_features)
        if not (np.isfinite(weights).all() and (weights >= 0.0).all()):
            raise ValueError(
                "penalty_weights must be finite and >= 0 (0 leaves a feature unpenalized), "
                f"got {penalty_weights!r}"
            )
    lower = upper = None
    positive = check_flag(positive, "positive")
    if positive and coef_bounds is not None:
        raise ValueError(
            "positive=True and coef_bounds were both given: positive=True is "
            "coef_bounds=(0, inf); give one of them"
        )
    if positive:
        lower = np.zeros(n_features)
    elif coef_bounds is not None:
        lower, upper = _bounds(coef_bounds, n_features)
    return _checked(kind, weights, lower, upper, n_features)


def _per_feature(value, name, n_features):
    """A number or one value per feature, as a new float64 array (d,)."""
    array = np.asarray(as_array(value, name), dtype=np.float64)
    if array.ndim == 0:
        return np.full(n_features, float(array))
    if array.shape != (n_features,):
        raise ValueError(
            f"{name} must be a number or one value per feature, shape ({n_features},), got "
            f"shape {array.shape}"
        )
    return array.copy()


def _bounds(coef_bounds, n_features):
    """coef_bounds=(lower, upper): each a number or (d,), -inf/inf (or None) for no bound."""
    if not isinstance(coef_bounds, (tuple, list)) or len(coef_bounds) != 2:
        raise ValueError(
            "coef_bounds must be a pair (lower, upper), each a number or one value per feature "
            f"(None or -inf/inf: no bound), e.g. (0, None); got {coef_bounds!r}"
        )
    lower, upper = (
        np.full(n_features, default) if value is None else _per_feature(value, name, n_features)
        for value, name, default in zip(
            coef_bounds, ("coef_bounds[0]", "coef_bounds[1]"), (-math.inf, math.inf)
        )
    )
    if np.isnan(lower).any() or np.isnan(upper).any():
        raise ValueError("coef_bounds must not hold NaN: use -inf/inf (or None) for no bound")
    if not (lower <= upper).all():
        j = int(np.flatnonzero(~(lower <= upper))[0])
        raise ValueError(
            f"coef_bounds: the lower bound {lower[j]} of coefficient {j} is above its upper "
            f"bound {upper[j]}: no coefficient can meet both"
        )
    if (lower == math.inf).any() or (upper == -math.inf).any():
        raise ValueError("coef_bounds: a lower bound of inf or an upper bound of -inf admits no "
                         "coefficient; use finite bounds")  # fmt: skip
    return lower, upper


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def soft_threshold(value, threshold):
    """The proximal step of threshold * |value|: towards 0 by threshold, stopping at 0."""
    if value > threshold:
        return value - threshold
    if value < -threshold:
        return value + threshold
    return 0.0


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def proximal_coefficient(value, threshold, lower, upper):
    """The proximal step of threshold |x| + (0 on [lower, upper], inf outside) at `value`:
    the soft-threshold, then the projection onto the bounds (exact for an interval, whether
    or not it holds 0). With threshold 0 and infinite bounds, `value` itself, to the bit."""
    if threshold > 0.0:
        value = soft_threshold(value, threshold)
    if value < lower:
        return lower
    if value > upper:
        return upper
    return value


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def coefficient_penalty(l2, l1, weight, w, p):
    """weight ((l2 / 2) u**2 + l1 |u|), u = w / sqrt(p): one coefficient's share of the
    objective."""
    return weight * (0.5 * l2 * w * w / p + l1 * abs(w) / math.sqrt(p))
