"""When a fit has converged, and how far from the optimum it may still be.

`converged=True` means "close to the least-squares optimum", never "the loss stopped falling":
on ill-conditioned data the loss can change by less than any tolerance per step while the
parameters are still far away. For the quadratic loss the gradient tells the distance exactly:
in the coordinates the fit runs in (u, fastgd/coordinates.py), u - u* = H^-1 g, so

    |u - u*| <= |g| / mu,

mu the Hessian's smallest eigenvalue (fastgd/curvature.py). `rule` turns `tol` into the
constants of `gradient.gradient_status`, which stops the compiled loop at the first iterate with
|g| <= tol mu |u| -- a relative distance to the optimum of at most tol -- or with |g| within the
rounding of its own computation, where no further step can help. Where mu is not known (more
than _config.EIGVALSH_MAX_FEATURES parameters) it falls back to the gradient's reduction,
|g| <= tol |g_0|. After the fit, `bounds` reports the bound on FitResult.
"""

import math
from typing import NamedTuple

import numpy as np
from numba import types

from .gradient import BOUNDED, L1, make_rule, penalty, stationarity
from .moments import sums_from_moments

# The rounding of a computed gradient, as a fraction of (d + 1) L |u|, the size of the terms it
# adds up: below it, a gradient is as good as zero in float64. Measured rather than derived: the
# worst-case bound (several machine epsilons) stopped the NIST StRD Wampler fits two digits short
# of what further steps reach, while at epsilon / 16 every NIST set still converges and meets
# its target (docs/convergence.md). Set too low, a fit would only run to n_iter and warn.
GRADIENT_ROUNDING = np.finfo(np.float64).eps / 16


_host_math_compiled: set = set()


def compile_host_math(moments):
    """Compile (or load from numba's cache) the step's functions that the host calls too, once
    per process: `gradient.penalty` (the objective at the start), `gradient.stationarity`, and
    with `moments` `moments.sums_from_moments` (tol's rule and the bounds). The kernels call
    the same functions, and may have compiled them already; asking here, before the fit's
    timer, makes every first fit ask for them alike, whatever numba's cache holds (which is
    what tests/test_compile_budget.py counts)."""
    if moments in _host_math_compiled:
        return
    vector, matrix, number = types.float64[::1], types.float64[:, ::1], types.float64
    penalty.compile((vector, vector, vector))
    stationarity.compile((vector, number, vector, number, vector, vector))
    if moments:
        sums_from_moments.compile((number, vector, matrix, number, vector, vector, vector))
    _host_math_compiled.add(moments)


def gradient_norm(moments, b, w, shift, precondition, rule=None):
    """|G| at (b, w) (b: the intercept of the shifted rows), exactly from the moments: the
    gradient of the objective, or with an l1 penalty its proximal mapping
    (`gradient.stationarity`; `rule` holds lr and the penalty, None for none)."""
    sums = np.zeros(w.shape[0] + 2)
    sums_from_moments(moments.weight, moments.mean, moments.comoment, b, w, shift, sums)
    if rule is None:
        rule = make_rule(1.0, w.shape[0])  # no penalty: the plain gradient
    with np.errstate(over="ignore", invalid="ignore"):  # huge data: an inf bound, no warning
        return float(stationarity(sums, moments.weight, rule, b, w, precondition)[0])


def parameters_norm(b, w, precondition):
    """|u| = sqrt(sum theta_j**2 / p_j) over the parameters that move (scaled by the largest,
    as `gradient.stationarity`'s norms: no underflow for parameters of 1e-170)."""
    theta = np.concatenate(([b], w))
    moving = precondition > 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        u = np.abs(theta[moving] / np.sqrt(precondition[moving]))
        largest = float(u.max()) if u.size else 0.0
        if not 0.0 < largest < math.inf:  # all 0; inf or NaN as they are
            return largest if u.size and not np.isnan(u).any() else float(np.sum(u))
        return largest * float(np.sqrt(np.sum((u / largest) ** 2)))


def rule(tol, spectrum, start_gradient, n_features, n_terms=1, factor=1.0):
    """(slope, offset) of `gradient.gradient_status` for `tol` (None: never stop early).

    `n_terms`: how many rounded terms each partial sum adds up -- the rows for a pass over the
    data, 1 for gram, whose sums come from exact formulas in the moments -- whose rounding
    grows about as their square root. `factor`: the bound's |G| / mu multiple (3 with an l1
    penalty, see `bounds`)."""
    if tol is None:
        return 0.0, -1.0
    rounding = GRADIENT_ROUNDING * (n_features + 1) * math.sqrt(max(n_terms, 1))
    if spectrum is None or not spectrum.determined > 0.0:  # mu unknown: the gradient's reduction
        return 0.0, max(tol, rounding) * start_gradient
    slope = max(tol * spectrum.determined / factor, rounding * spectrum.largest)
    return slope, rounding * start_gradient


class Bounds(NamedTuple):
    """How far the fit's parameters may be from the least-squares optimum (nan: unknown)."""

    distance: float  # |u - u*|, in the coordinates the fit ran in (units of y if standardized)
    intercept: float  # |b - b*|
    coef: np.ndarray  # |w_j - w*_j|


def bounds(moments, spectrum, b, w, shift, precondition, fit_intercept, rule=None):
    """The `Bounds` at (b, w) (b: the intercept of the shifted rows): |g| / mu, where mu is the
    smallest eigenvalue the data determines (to the nearest of the optimal parameters, where
    collinear features leave many). Each coordinate u_j = theta_j / sqrt(p_j), so
    |w_j - w*_j| <= sqrt(p_j) |u - u*|, and b = c - h . w gives |b - b*| <= |(sqrt(p_0),
    h_j sqrt(p_j))| |u - u*|."""
    d = w.shape[0]
    if moments is None or spectrum is None or not spectrum.determined > 0.0:
        return Bounds(math.nan, math.nan, np.full(d, math.nan))
    # With an l1 penalty (or a projection onto the coefficients' bounds: the same argument),
    # 3 |G| / mu: the mapping's point x+ = u - lr G has a subgradient of size <= |G| + L lr |G|
    # <= 2 |G|, so |x+ - u*| <= 2 |G| / mu, and |u - x+| = lr |G|.
    proximal = rule is not None and (rule[L1] > 0.0 or rule[BOUNDED] > 0.0)
    factor = 3.0 if proximal else 1.0
    gradient = gradient_norm(moments, b, w, shift, precondition, rule)
    distance = factor * gradient / spectrum.determined
    root = np.sqrt(precondition)
    with np.errstate(over="ignore", invalid="ignore"):
        coef = root[1:] * distance
        intercept = math.hypot(root[0], float(np.linalg.norm(shift * root[1:]))) * distance
    return Bounds(distance, intercept if fit_intercept else 0.0, coef)
