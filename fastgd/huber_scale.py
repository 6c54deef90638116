"""The Huber loss with its scale estimated jointly: scikit-learn's `HuberRegressor` objective,
minimized by Newton's method (`HuberRegressorGD` in fastgd/sklearn_twins.py).

For the residuals r = y - X w - b, sample weights s (S their sum) and epsilon >= 1,

    F(w, b, sigma) = S sigma + sum_in s r² / sigma + sum_out s (2 epsilon |r| - epsilon² sigma)
                     + alpha |w|²,

"in" the rows with |r| <= epsilon sigma. It is scale-invariant (y and X times c give w the
same, b and sigma times c: which rows are outliers does not depend on y's units), and jointly
convex in (w, b, sigma): sigma H(r / sigma) is the perspective of the Huber function H.

Why Newton and not gradient steps: with a fixed epsilon the Huber loss's curvature comes from
the inlier rows only, which the squared error's curvature bounds from above, so gradient steps
at the step that bound allows crawl wherever few rows are inliers; and sigma moves the
threshold. Alternating exact sigma updates with fastgd's Huber gradient descent took two
million steps and still missed scikit-learn's scale by 1e-4 to 0.5 (relative) on its own test
data and on the diabetes data. F is once continuously differentiable and piecewise quadratic
in (w, b) for a fixed in/out split, so Newton's method with the split's Hessian (a semismooth
Newton method) and a backtracking line search on F takes a few steps, each one pass over X for
the gradient and one for the inlier rows' weighted products X_in' S X_in (a BLAS product).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import newton

# sigma's lower bound, scikit-learn's (its L-BFGS-B bounds): a fit whose residuals all vanish
# drives sigma to 0, where F's terms divide by it.
SIGMA_FLOOR = 10 * np.finfo(np.float64).eps
# sigma this small against y's spread: every row is (as good as) fitted exactly.
_INTERPOLATED = 1e-8


class HuberFit(NamedTuple):
    coef: np.ndarray
    intercept: float
    scale: float
    n_iter: int  # Newton steps taken
    converged: bool
    objective: float
    step: float  # the last Newton step's size relative to the parameters' (the distance's estimate)
    interpolated: bool  # sigma went to 0: the rows are fitted exactly (see `fit_huber_scale`)


def _objective(absolute, s, scale, epsilon, alpha, coef):
    outlier = absolute > epsilon * scale
    inlier_sum = float(np.dot(s[~outlier], absolute[~outlier] ** 2))
    outlier_sum = float(np.dot(s[outlier], 2.0 * epsilon * absolute[outlier] - epsilon**2 * scale))
    return float(np.sum(s)) * scale + inlier_sum / scale + outlier_sum + alpha * float(coef @ coef)


def best_scale(absolute, s, epsilon):
    """The sigma that minimizes F for these residuals |r| (the other parameters fixed): F is
    convex in sigma, its derivative S - sum_in s r² / sigma² - epsilon² S_out rises, and is
    continuous where a row crosses the threshold; between two thresholds the inliers are the
    rows of the smallest |r|, and the root there is sqrt(Q_m / (S - epsilon² (S - S_m)))."""
    order = np.argsort(absolute, kind="stable")
    a, w = absolute[order], s[order]
    total = float(np.sum(w))
    squares = np.concatenate(([0.0], np.cumsum(w * a * a)))  # Q_m: the m smallest rows' s r²
    weights = np.concatenate(([0.0], np.cumsum(w)))  # S_m
    denominator = total - epsilon**2 * (total - weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        roots = np.sqrt(squares / denominator)
    # The root for m inliers must put exactly those rows in: a_m <= epsilon sigma < a_(m+1).
    low = np.concatenate(([0.0], a)) / epsilon
    high = np.concatenate((a, [np.inf])) / epsilon
    consistent = np.flatnonzero((denominator > 0.0) & (roots >= low) & (roots <= high))
    best = float(roots[consistent[0]]) if consistent.size else SIGMA_FLOOR
    return max(best, SIGMA_FLOOR)


def _gradient_and_hessian(X, r, s, scale, epsilon, alpha, coef, fit_intercept):
    """F's gradient and (generalized) Hessian in (w, [b,] sigma), for the split at `scale`."""
    d = X.shape[1]
    outlier = np.abs(r) > epsilon * scale
    s_in = np.where(outlier, 0.0, s)
    sign_out = np.where(outlier, np.sign(r) * s, 0.0)
    inlier_r = s_in * r  # s r on the inliers, 0 on the outliers
    # The gradient: d/dw, d/db, d/dsigma.
    gw = -(2.0 / scale) * np.asarray(X.T @ inlier_r).ravel()
    gw -= 2.0 * epsilon * np.asarray(X.T @ sign_out).ravel()
    gw += 2.0 * alpha * coef
    gb = -(2.0 / scale) * float(np.sum(inlier_r)) - 2.0 * epsilon * float(np.sum(sign_out))
    inlier_squares = float(np.dot(inlier_r, r))
    gs = float(np.sum(s)) - epsilon**2 * float(np.sum(s[outlier])) - inlier_squares / scale**2
    # The Hessian of the split's piecewise quadratic: X_in' S X_in etc.
    weighted = X.multiply(s_in[:, None]) if hasattr(X, "multiply") else X * s_in[:, None]
    xx = np.asarray((X.T @ weighted).todense() if hasattr(weighted, "todense") else X.T @ weighted)
    xs = np.asarray(X.T @ s_in).ravel()
    xr = np.asarray(X.T @ inlier_r).ravel()
    size = d + (2 if fit_intercept else 1)
    hessian = np.zeros((size, size))
    hessian[:d, :d] = (2.0 / scale) * xx + 2.0 * alpha * np.eye(d)
    hessian[:d, -1] = hessian[-1, :d] = (2.0 / scale**2) * xr
    hessian[-1, -1] = 2.0 * inlier_squares / scale**3
    gradient = np.concatenate((gw, [gb] if fit_intercept else [], [gs]))
    if fit_intercept:
        hessian[:d, d] = hessian[d, :d] = (2.0 / scale) * xs
        hessian[d, d] = (2.0 / scale) * float(np.sum(s_in))
        hessian[d, -1] = hessian[-1, d] = (2.0 / scale**2) * float(np.sum(inlier_r))
    return gradient, hessian


def _better_scale(r, s, scale, epsilon, alpha, coef):
    """`best_scale` for residuals r, or `scale` where that lowers F no further (rounding)."""
    absolute = np.abs(r)
    best = best_scale(absolute, s, epsilon)
    now = _objective(absolute, s, scale, epsilon, alpha, coef)
    return best if _objective(absolute, s, best, epsilon, alpha, coef) < now else scale


def _newton_step(gradient, hessian):
    """-H^-1 g, or where H is singular (no inlier rows, collinear ones) the least-norm
    solution of the system, made a descent direction by the gradient where it is not one."""
    try:
        step = -np.linalg.solve(hessian, gradient)
    except np.linalg.LinAlgError:
        step = -np.linalg.lstsq(hessian, gradient, rcond=None)[0]
    if not np.all(np.isfinite(step)) or float(step @ gradient) >= 0.0:
        step = -np.linalg.lstsq(hessian, gradient, rcond=None)[0]
    if not np.all(np.isfinite(step)) or float(step @ gradient) >= 0.0:
        step = -gradient / max(float(np.max(np.abs(np.diag(hessian)))), 1.0)
    return step


def fit_huber_scale(X, y, sample_weight, *, epsilon, alpha, fit_intercept, tol, max_iter,
                    start=None):  # fmt: skip
    """Minimize F by Newton steps from `start` = (coef, intercept, scale) (None: zeros and a
    scale of 1, scikit-learn's start). Stops when a step is within `tol` of the parameters'
    size (relative: near the optimum a Newton step is the distance to it) or when no step
    lowers F any more (the gradient is down to its rounding), or after `max_iter` steps."""
    n, d = X.shape
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if start is None:
        coef, intercept, scale = np.zeros(d), 0.0, 1.0
    else:
        coef, intercept, scale = (np.array(start[0], dtype=np.float64), float(start[1]),
                                  max(float(start[2]), SIGMA_FLOOR))  # fmt: skip
    r = y - (X @ coef) - intercept
    # sigma at its best for the start: a start far from the data (zeros, sigma 1) has no inlier
    # rows, where F's Hessian in sigma is 0 and Newton's step says nothing.
    scale = _better_scale(r, s, scale, epsilon, alpha, coef)
    value = _objective(np.abs(r), s, scale, epsilon, alpha, coef)
    relative_step, converged = math.inf, False
    stopping = newton.Stopping(tol)
    for k in range(max_iter + 1):
        gradient, hessian = _gradient_and_hessian(X, r, s, scale, epsilon, alpha, coef,
                                                  fit_intercept)  # fmt: skip
        step = _newton_step(gradient, hessian)
        size = math.sqrt(float(coef @ coef) + intercept**2 + scale**2)
        relative_step = float(np.linalg.norm(step)) / max(size, np.finfo(np.float64).tiny)
        if stopping.converged(relative_step):
            converged = True
            break
        if k == max_iter:
            break
        # Sigma kept above its floor: the step shortened first where it would cross it.
        first = 1.0
        while scale + first * step[-1] < SIGMA_FLOOR:
            first *= 0.5

        def at(t, first=first, step=step, coef=coef, intercept=intercept, scale=scale):
            t *= first
            trial_coef = coef + t * step[:d]
            trial_intercept = intercept + t * step[d] if fit_intercept else 0.0
            trial_scale = max(scale + t * step[-1], SIGMA_FLOOR)
            trial_r = y - (X @ trial_coef) - trial_intercept
            trial = _objective(np.abs(trial_r), s, trial_scale, epsilon, alpha, trial_coef)
            return trial, (trial_coef, trial_intercept, trial_scale, trial_r)

        found = newton.backtrack(at, value, first * float(step @ gradient))
        if found is None:
            # No step lowers F. Near the optimum that is F's rounding (converged: as far as
            # float64 goes); a step still large is a failure, said as not converged.
            converged = relative_step <= newton.ROUNDING_STEP
            break
        coef, intercept, scale, r = found[2]
        # Then sigma at its best for the new residuals (F can only fall): the split stays one
        # with inlier rows.
        scale = _better_scale(r, s, scale, epsilon, alpha, coef)
        value = _objective(np.abs(r), s, scale, epsilon, alpha, coef)
    # Where the model can fit every row exactly (fewer rows than features, say) F falls
    # towards alpha |w|² as sigma goes to 0, and Newton's system, whose terms grow as
    # 1 / sigma, loses its digits on the way: such a fit is never called converged.
    spread = float(np.max(np.abs(y - np.median(y)))) if y.size else 0.0
    interpolated = scale <= _INTERPOLATED * spread
    return HuberFit(coef, intercept, scale, k, converged and not interpolated, value,
                    relative_step, interpolated)  # fmt: skip
