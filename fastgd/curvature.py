"""The loss's curvature: the step size of lr="auto" and the stable limit of max_stable_lr.

The moments (fastgd/moments.py) give the loss's Hessian in (b, w),

    H = 2 [[1, x_mean^T], [x_mean, xx / S + x_mean x_mean^T]],

whose largest eigenvalue L sets the step: gradient descent on a quadratic is stable for
lr < 2 / L (`stable_limit`, `fastgd.max_stable_lr`), and lr = 1 / L (`auto_lr`, lr="auto")
decreases the loss monotonically.
"""

import math

import numpy as np

from . import _config


def hessian(moments, fit_intercept=True):
    """The loss's Hessian in (b, w_1, ..., w_d):
    2 [[1, x_mean^T], [x_mean, xx/S + x_mean x_mean^T]]; in w alone without an intercept (b is
    not a variable then): 2 (xx/S + x_mean x_mean^T)."""
    x_mean = np.asarray(moments.x_mean, dtype=np.float64)
    if not fit_intercept:
        return 2.0 * (moments.xx / moments.weight + np.outer(x_mean, x_mean))
    d = x_mean.shape[0]
    H = np.empty((d + 1, d + 1))
    H[0, 0] = 1.0
    H[0, 1:] = x_mean
    H[1:, 0] = x_mean
    H[1:, 1:] = moments.xx / moments.weight + np.outer(x_mean, x_mean)
    return 2.0 * H


def _power_iteration(H, max_iter=10_000, rtol=1e-12):
    """Largest eigenvalue of a symmetric positive semi-definite H by power iteration."""
    v = np.ones(H.shape[0]) + np.linspace(0.0, 1e-3, H.shape[0])  # not orthogonal to the top
    v /= np.linalg.norm(v)
    estimate = 0.0
    for _ in range(max_iter):
        Hv = H @ v
        new = float(v @ Hv)  # Rayleigh quotient: converges from below
        norm = np.linalg.norm(Hv)
        if norm == 0.0:
            return 0.0
        v = Hv / norm
        if abs(new - estimate) <= rtol * abs(new):
            return new
        estimate = new
    return estimate


def largest_curvature(moments, fit_intercept=True):
    """L, the largest eigenvalue of the loss's Hessian (`hessian`), always > 0.

    Exact: in closed form for one feature (the lecture's case, where LAPACK's call would cost
    more than a small fit), by LAPACK up to _config.EIGVALSH_MAX_FEATURES features; power
    iteration above.
    """
    if moments.n_features == 1:
        # H = 2 [[1, m], [m, c]]: its larger eigenvalue is 2 ((1 + c) / 2 + hypot((1 - c) / 2, m)),
        # a sum of non-negative terms (no cancellation); without an intercept H = 2 c.
        m = float(moments.mean[0])
        c = float(moments.comoment[0, 0]) / moments.weight + m * m
        if fit_intercept:
            value = 2.0 * (0.5 * (1.0 + c) + math.hypot(0.5 * (1.0 - c), m))
        else:
            value = 2.0 * c
        return value if math.isfinite(value) else math.inf
    H = hessian(moments, fit_intercept)
    if not np.all(np.isfinite(H)):
        return np.inf
    if moments.n_features <= _config.EIGVALSH_MAX_FEATURES:
        return float(np.linalg.eigvalsh(H)[-1])
    return _power_iteration(H)


def stable_limit(moments, fit_intercept=True):
    """2 / L: gradient descent on this data converges for lr < stable_limit and diverges above."""
    return 2.0 / largest_curvature(moments, fit_intercept)


def loss_scale(moments):
    """The size of the terms whose difference is gram's loss, y's variance yy / S: the loss is
    rounded to a few machine epsilons of it (see `gradient.increase_allowance`)."""
    return moments.yy / moments.weight if moments.weight > 0.0 else 0.0


def auto_lr(moments, fit_intercept=True):
    """1 / L, the step of lr="auto": the loss decreases at every iteration."""
    return 1.0 / largest_curvature(moments, fit_intercept)
