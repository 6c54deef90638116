"""The loss's curvature: the step size and momentum of "auto", and the stable limit.

The moments (fastgd/moments.py) give the loss's Hessian in (b, w),

    H = 2 [[1, m^T], [m, xx / S + m m^T]],   m = x_mean - h

(h the shift of fastgd/gradient.py, 0 for plain gradient descent), and in the coordinates the
fit runs in, with the diagonal preconditioner p (fastgd/coordinates.py), H_p = P^1/2 H P^1/2.
Its largest eigenvalue L sets the step: gradient descent on a quadratic is stable for
lr < 2 / L (`stable_limit`, `fastgd.max_stable_lr`), and lr = 1 / L (lr="auto", from `spectrum`)
decreases the loss monotonically. Its smallest, mu, sets the pace: plain gradient descent needs
about kappa = L / mu steps per e-fold of the error, Nesterov's momentum
(sqrt(kappa) - 1) / (sqrt(kappa) + 1) (`nesterov_momentum`, momentum="auto") about sqrt(kappa).
"""

import math
from typing import NamedTuple

import numpy as np

from . import _config

# Eigenvalues below 1 / KAPPA_LIMIT of the largest are taken as zero: directions of (b, w) that
# the data does not determine to useful accuracy in float64 (kappa * machine epsilon would be
# 1e-4 or more). Collinear and nearly collinear features have them; `fit` warns.
KAPPA_LIMIT = 1e12


def hessian(moments, fit_intercept=True, shift=None, precondition=None):
    """The loss's Hessian in (b, w_1, ..., w_d) -- in w alone without an intercept (b is not a
    variable then) -- for rows shifted by `shift` and, with a `precondition`, in the
    preconditioned coordinates P^1/2 H P^1/2 (module doc)."""
    m = np.asarray(moments.x_mean, dtype=np.float64)
    if shift is not None:
        m = m - shift
    d = m.shape[0]
    H = np.empty((d + 1, d + 1))
    H[0, 0] = 1.0
    H[0, 1:] = m
    H[1:, 0] = m
    H[1:, 1:] = moments.xx / moments.weight + np.outer(m, m)
    H *= 2.0
    if precondition is not None:
        root = np.sqrt(precondition)
        H = root[:, None] * H * root[None, :]
    return H if fit_intercept else H[1:, 1:]


class Spectrum(NamedTuple):
    """The extreme eigenvalues of the Hessian in the coordinates the fit runs in, over the
    parameters that move (precondition > 0)."""

    largest: float  # L
    smallest: float  # mu, >= 0 (nan: not computed, for more than EIGVALSH_MAX_FEATURES)
    determined: float  # the smallest eigenvalue above L / KAPPA_LIMIT (nan: not computed)
    # mu for momentum="auto": `determined`, or above EIGVALSH_MAX_FEATURES parameters an
    # estimate from above by power iteration (not a bound: the stopping rule does not use it;
    # too high a mu only makes the momentum smaller than optimal).
    pace: float = math.nan

    @property
    def condition(self):
        """kappa = L / mu (inf for a singular Hessian, nan when mu is not known)."""
        if math.isnan(self.smallest):
            return math.nan
        return self.largest / self.smallest if self.smallest > 0.0 else math.inf


def _closed_form_one_feature(moments, fit_intercept, shift, precondition, ridge):
    """(L, mu) for one feature, without LAPACK (the lecture's case, where its call would cost
    more than a small fit). With an intercept H_p = 2 [[p0, m r], [m r, p1 c]] (r = sqrt(p0 p1),
    c = v + m**2, v = xx / S): L = (a + e) / 2 + hypot((a - e) / 2, off), a sum of non-negative
    terms, and mu = det / L with det = 4 p0 p1 v exactly (no cancellation)."""
    p0, p1 = (1.0, 1.0) if precondition is None else (precondition[0], precondition[1])
    m = float(moments.mean[0]) - (0.0 if shift is None else float(shift[0]))
    v = float(moments.comoment[0, 0]) / moments.weight
    c = v + m * m
    if not fit_intercept or p0 == 0.0:
        return 2.0 * p1 * c + ridge, 2.0 * p1 * c + ridge
    if p1 == 0.0:  # a constant feature that does not move: only b does
        return 2.0 * p0, 2.0 * p0
    a, e, off = 2.0 * p0, 2.0 * p1 * c + ridge, 2.0 * m * math.sqrt(p0 * p1)
    largest = 0.5 * (a + e) + math.hypot(0.5 * (a - e), off)
    if not math.isfinite(largest):
        return math.inf, math.nan
    smallest = (4.0 * p0 * p1 * v + a * ridge) / largest if largest > 0.0 else 0.0
    return largest, smallest


def spectrum(moments, fit_intercept=True, shift=None, precondition=None, ridge=0.0):
    """The `Spectrum` of the fit's Hessian: in closed form for one feature, by LAPACK up to
    _config.EIGVALSH_MAX_FEATURES parameters, L alone by power iteration above. `ridge`: an l2
    penalty's sum c_j (l2 / 2) u_j^2 on the coefficients adds c_j l2 to their diagonal (a
    number: the same for each, or one per coefficient)."""
    if moments.n_features == 1:
        largest, smallest = _closed_form_one_feature(
            moments, fit_intercept, shift, precondition, float(np.reshape(ridge, -1)[0])
        )
        smallest = max(smallest, 0.0)
        determined = smallest if smallest > largest / KAPPA_LIMIT else largest
        return Spectrum(largest, smallest, determined, determined)
    with np.errstate(over="ignore", invalid="ignore"):  # huge data: inf, caught below
        H = hessian(moments, fit_intercept, shift, precondition)
        if np.any(ridge):
            first = 1 if fit_intercept else 0  # the coefficients', not the intercept's
            H[np.arange(first, H.shape[0]), np.arange(first, H.shape[0])] += ridge
    if precondition is not None:  # the parameters that do not move have no say
        active = precondition > 0.0 if fit_intercept else precondition[1:] > 0.0
        H = H[np.ix_(active, active)]
    if H.shape[0] == 0:
        return Spectrum(0.0, 0.0, math.nan)
    if not np.all(np.isfinite(H)):
        return Spectrum(math.inf, math.nan, math.nan)
    if H.shape[0] > _config.EIGVALSH_MAX_FEATURES:
        largest = _power_iteration(H)
        # L I - H's largest eigenvalue is L - mu; its Rayleigh quotient approaches it from
        # below, so mu is approached from above. A few hundred steps: an estimate will do.
        shifted = largest * np.eye(H.shape[0]) - H
        pace = max(largest - _power_iteration(shifted, max_iter=300), largest / KAPPA_LIMIT)
        return Spectrum(largest, math.nan, math.nan, pace)
    eigenvalues = np.linalg.eigvalsh(H)
    largest = float(eigenvalues[-1])
    smallest = max(float(eigenvalues[0]), 0.0)
    above = eigenvalues[eigenvalues > largest / KAPPA_LIMIT]
    determined = float(above[0]) if above.size else math.nan
    return Spectrum(largest, smallest, determined, determined)


def scaled(spectrum, factor):
    """The `Spectrum` of the Hessian times `factor` (a loss's curvature bound)."""
    return Spectrum(*(factor * value for value in spectrum))


def nesterov_momentum(lr, mu):
    """momentum="auto": Nesterov's (sqrt(kappa) - 1) / (sqrt(kappa) + 1) for the effective
    kappa = 1 / (lr mu) (L / mu for lr = 1 / L); 0 when mu is unknown or kappa <= 1. With an
    overestimated mu the fit is slower, never unstable: any momentum in [0, 1) converges for
    lr <= 1 / L."""
    if not (mu > 0.0 and lr > 0.0) or math.isnan(mu):
        return 0.0
    root = math.sqrt(1.0 / (lr * mu))
    return (root - 1.0) / (root + 1.0) if root > 1.0 else 0.0


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


def largest_curvature(moments, fit_intercept=True, shift=None, precondition=None):
    """L, the largest eigenvalue of the loss's Hessian (`hessian`), always > 0 for data that
    varies (exact: closed form, LAPACK, or power iteration above
    _config.EIGVALSH_MAX_FEATURES)."""
    value = spectrum(moments, fit_intercept, shift, precondition).largest
    return value if math.isfinite(value) else math.inf


def stable_limit(moments, fit_intercept=True):
    """2 / L: gradient descent on this data converges for lr < stable_limit and diverges above."""
    return 2.0 / largest_curvature(moments, fit_intercept)


def loss_scale(moments):
    """The size of the terms whose difference is gram's loss, y's variance yy / S: the loss is
    rounded to a few machine epsilons of it (see `gradient.increase_allowance`)."""
    return moments.yy / moments.weight if moments.weight > 0.0 else 0.0


def minimum_norm(moments, fit_intercept, shift, precondition, intercept, w):
    """(intercept, w) moved to the least-squares solution of least norm |w| among those that
    fit exactly as well: scikit-learn's answer where the features are collinear or fewer than
    the rows (rank-deficient X), which gradient descent, from wherever it started and in
    whatever coordinates, does not single out. `intercept` is the kernels' (of rows shifted by
    `shift`, fastgd/coordinates.py).

    The directions the data do not determine are the null space of the Hessian in w (the
    centred X^T S X with an intercept, the uncentred one without): eigenvalues at most
    L / KAPPA_LIMIT in the fit's coordinates, where columns of any scale compare. Removing
    w's component along them changes no prediction but through the mean row, which the
    intercept absorbs: c += (mean - shift) . (w - w_new). Unchanged above
    _config.EIGVALSH_MAX_FEATURES parameters (no eigendecomposition there) or when the
    Hessian is regular."""
    moving = precondition[1:] > 0.0
    d_moving = int(moving.sum())
    if d_moving == 0 or d_moving + 1 > _config.EIGVALSH_MAX_FEATURES:
        return intercept, w
    H = hessian(moments, fit_intercept, shift, precondition)
    block = H[1:, 1:] if fit_intercept else H
    if fit_intercept:  # the Hessian in w with b at its optimum: the centred moments
        block = block - np.outer(H[1:, 0], H[0, 1:]) / H[0, 0]
    block = block[np.ix_(moving, moving)]
    if not np.all(np.isfinite(block)):
        return intercept, w
    eigenvalues, vectors = np.linalg.eigh(block)
    null = eigenvalues <= max(eigenvalues[-1], 0.0) / KAPPA_LIMIT
    if not null.any():
        return intercept, w
    # u_j = w_j / sqrt(p_j): a null direction n of the Hessian in u is sqrt(p) n in w.
    directions = np.sqrt(precondition[1:][moving])[:, None] * vectors[:, null]
    basis, _ = np.linalg.qr(directions)
    change = np.zeros_like(w)
    change[moving] = basis @ (basis.T @ w[moving])
    offset = np.asarray(moments.x_mean, dtype=np.float64) - shift
    return float(intercept + offset @ change), w - change
