"""Coordinate descent on the moments: the elastic net's fits for many alphas from d x d numbers
(what `fastgd.path` and the cross-validated twins run; fastgd/paths.py has the why).

The least-squares objective with an elastic-net penalty, in scikit-learn's scale,

    P(w) = ||y - X w - b||² / (2 S) + alpha l1_ratio ||w||₁ + alpha (1 - l1_ratio) ||w||² / 2

is, in the data's centred moments per unit of weight (G = xx / S, c = xy / S, yy / S; see
fastgd/moments.py), w'G w / 2 - c'w + yy / 2 + the penalty, b = y_mean - x_mean'w.

The solver is scikit-learn's `precompute=True` coordinate descent, the glmnet "covariance"
update: a coordinate's step costs O(1) while it stays at zero and O(d) when it moves (G w is kept
up to date), so a sweep over mostly-zero coefficients is nearly free. It stops where
scikit-learn's does, at the same duality gap (`_gap`). With no L1 part (ridge) each alpha is a
d x d linear solve instead.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from .moments import Moments


class Quadratic(NamedTuple):
    """The objective's quadratic form in w, per unit of weight: w'G w / 2 - c'w + yy / 2.

    Centred when the intercept is fitted (then b = y_mean - x_mean'w), about zero otherwise
    (x_mean and y_mean zero, b = 0)."""

    gram: np.ndarray  # G (d, d)
    correlation: np.ndarray  # c (d,)
    yy: float
    x_mean: np.ndarray
    y_mean: float


def quadratic(moments: Moments, fit_intercept: bool) -> Quadratic:
    """The `Quadratic` of data with these moments."""
    weight = float(moments.weight)
    gram = np.ascontiguousarray(moments.xx, dtype=np.float64) / weight
    correlation = np.ascontiguousarray(moments.xy, dtype=np.float64) / weight
    yy = moments.yy / weight
    x_mean = np.asarray(moments.x_mean, dtype=np.float64)
    y_mean = moments.y_mean
    if fit_intercept:
        return Quadratic(gram, correlation, yy, x_mean.copy(), y_mean)
    # About zero: the uncentred products, from the centred ones and the means (exact).
    gram += np.outer(x_mean, x_mean)
    correlation += x_mean * y_mean
    d = x_mean.shape[0]
    return Quadratic(gram, correlation, yy + y_mean * y_mean, np.zeros(d), 0.0)


@njit(cache=True, nogil=True)
def _product(gram, w, q):
    """q = G w, in a fixed order."""
    d = w.shape[0]
    for j in range(d):
        total = 0.0
        row = gram[j]
        for k in range(d):
            total += row[k] * w[k]
        q[j] = total


@njit(cache=True, nogil=True)
def gap_rounding(gram_w, correlation, yy, w):
    """How far rounding alone can move `_gap`: its residual term ||r||² / S = yy + w'G w - 2 c'w
    is a difference of terms this large (times a few machine epsilons); where the model nearly
    interpolates the data, the true gap is far below it and no sweep can show it smaller."""
    cw = 0.0
    wqw = 0.0
    for j in range(w.shape[0]):
        cw += abs(correlation[j] * w[j])
        wqw += abs(w[j] * gram_w[j])
    return 16.0 * 2.220446049250313e-16 * (yy + wqw + 2.0 * cw)


@njit(cache=True, nogil=True)
def _gap(gram_w, correlation, yy, l1, l2, positive, w):
    """scikit-learn's duality gap of the elastic net (`gap_enet_gram`), per unit of weight, at w
    with q = G w: formulation A with an L1 part, B for ridge, and for least squares the squared
    norm of the gradient (there is no dual point then)."""
    d = w.shape[0]
    l1_norm = 0.0
    l2_norm2 = 0.0
    cw = 0.0
    wqw = 0.0
    for j in range(d):
        l1_norm += abs(w[j])
        l2_norm2 += w[j] * w[j]
        cw += correlation[j] * w[j]
        wqw += w[j] * gram_w[j]
    residual2 = yy + wqw - 2.0 * cw  # ||r||² / S
    ry = yy - cw  # r'y / S
    if l1 == 0.0:
        gradient2 = 0.0
        for j in range(d):
            g = correlation[j] - gram_w[j]
            gradient2 += g * g
        if l2 == 0.0:
            return gradient2
        return residual2 + 0.5 * l2 * l2_norm2 - ry + gradient2 / (2.0 * l2)
    dual_norm = -math.inf if positive else 0.0
    for j in range(d):
        g = correlation[j] - gram_w[j] - l2 * w[j]
        dual_norm = max(dual_norm, g if positive else abs(g))
    primal = 0.5 * (residual2 + l2 * l2_norm2) + l1 * l1_norm
    scale = l1 / dual_norm if dual_norm > l1 else 1.0
    dual = -0.5 * scale * scale * (residual2 + l2 * l2_norm2) + scale * ry
    return primal - dual


# G w is updated with each move, and its rounding errors add up: over thousands of sweeps the
# updates drifted far enough that the sweeps settled on a point whose gap was 500 times the
# tolerance (a wide lasso at tol=1e-14). Computed again from w every this many sweeps (and for
# every gap), the drift stays at a few sweeps' worth.
REFRESH_SWEEPS = 16


@njit(cache=True, nogil=True)
def descend(gram, correlation, yy, l1, l2, positive, w, tol, max_sweeps):
    """Coordinate descent on w'G w / 2 - c'w + l1 ||w||₁ + l2 ||w||² / 2 from w (updated in
    place), w >= 0 if `positive`; return (sweeps, gap, floor), floor the gap's rounding.

    scikit-learn's stopping rule: after a sweep whose largest change is at most tol times the
    largest coefficient (or the last sweep), the duality gap; stop once it is at most tol * yy,
    or down to its own rounding (`gap_rounding`: a tolerance below what float64 can show).
    G w is updated with each move and computed again, exactly, every `REFRESH_SWEEPS` sweeps and
    for every gap: the gap then says where w is, not where the updates drifted to.
    """
    d = w.shape[0]
    gram_w = np.empty(d)
    _product(gram, w, gram_w)
    target = tol * yy
    # Changes below a few epsilons are the updates' rounding, not progress.
    change_tol = max(tol, 4.0 * 2.220446049250313e-16)
    gap = _gap(gram_w, correlation, yy, l1, l2, positive, w)
    floor = gap_rounding(gram_w, correlation, yy, w)
    if 0.0 <= gap <= target:
        return 0, gap, floor
    for sweep in range(max_sweeps):
        largest = 0.0
        largest_change = 0.0
        for j in range(d):
            diagonal = gram[j, j]
            if diagonal == 0.0:  # a constant column: its coefficient stays where it is
                continue
            old = w[j]
            z = correlation[j] - gram_w[j] + old * diagonal
            if positive and z < 0.0:
                new = 0.0
            else:
                new = math.copysign(max(abs(z) - l1, 0.0), z) / (diagonal + l2)
            if new != old:
                delta = new - old
                row = gram[j]
                for k in range(d):
                    gram_w[k] += delta * row[k]
                w[j] = new
                largest_change = max(largest_change, abs(delta))
            largest = max(largest, abs(new))
        if largest == 0.0 or largest_change <= change_tol * largest or sweep == max_sweeps - 1:
            _product(gram, w, gram_w)
            gap = _gap(gram_w, correlation, yy, l1, l2, positive, w)
            # At the gap's rounding nothing more can be shown: stop (the caller's tolerance
            # decides whether that is converged).
            floor = gap_rounding(gram_w, correlation, yy, w)
            if gap <= target or gap <= floor:
                return sweep + 1, gap, floor
        elif sweep % REFRESH_SWEEPS == REFRESH_SWEEPS - 1:
            _product(gram, w, gram_w)
    return max_sweeps, gap, floor


# Coordinate descent slows to a crawl where the answer's features are nearly collinear (a lasso
# whose support is close to the number of rows: 100 000 sweeps left a gap 100x above tol). Its
# support and signs are right long before its values: then the optimum on that face is one
# linear solve, (G_AA + l2 I) w_A = c_A - l1 sign(w_A).
POLISH_AFTER_SWEEPS = 50


def minimize(gram, correlation, yy, l1, l2, positive, w, tol, max_sweeps):
    """`descend`, and where its sweeps are slow, the optimum on the face of w's support and
    signs by one linear solve (`POLISH_AFTER_SWEEPS`), kept when its signs are w's (the
    objective is then no higher) and sweeps resumed from it; return (sweeps, gap)."""
    done = 0
    chunk = POLISH_AFTER_SWEEPS
    while True:
        count, gap, floor = descend(gram, correlation, yy, l1, l2, positive, w, tol,
                                    min(chunk, max_sweeps - done))  # fmt: skip
        done += int(count)
        if gap <= max(tol * yy, floor) or done >= max_sweeps:
            return done, gap
        optimum_on_the_face(gram, correlation, l1, l2, w)
        chunk *= 2


def optimum_on_the_face(gram, correlation, l1, l2, w):
    """w (in place) made the optimum on its support and signs, where that keeps the signs (the
    objective is then no higher): one solve, (G_AA + l2 I) w_A = c_A - l1 sign(w_A)."""
    active = np.flatnonzero(w)
    if not active.size:
        return
    signs = np.sign(w[active])
    system = gram[np.ix_(active, active)] + l2 * np.eye(active.size)
    try:
        face = np.linalg.solve(system, correlation[active] - l1 * signs)
    except np.linalg.LinAlgError:
        return
    if np.all(np.isfinite(face)) and np.all(np.sign(face) == signs):
        w[active] = face


def ridge_solve(problem: Quadratic, l2: float) -> tuple[np.ndarray, float]:
    """The ridge optimum (G + l2 I) w = c, and its gap (formulation B): a d x d solve, no
    iterations. Without a penalty and with a singular G, the least-norm optimum."""
    system = problem.gram + l2 * np.eye(problem.gram.shape[0])
    try:
        w = np.linalg.solve(system, problem.correlation) if l2 > 0.0 else None
    except np.linalg.LinAlgError:
        w = None
    if w is None:
        w = np.linalg.lstsq(system, problem.correlation, rcond=None)[0]
    gram_w = problem.gram @ w
    return w, float(_gap(gram_w, problem.correlation, problem.yy, 0.0, l2, False, w))


def alpha_max(problem: Quadratic, l1_ratio: float, positive: bool) -> float:
    """The smallest alpha at which w = 0 is the optimum: max |c_j| / l1_ratio (the largest c_j
    with positive=True), scikit-learn's `_alpha_grid`'s."""
    c = problem.correlation
    top = max(0.0, float(np.max(c))) if positive else float(np.max(np.abs(c)))
    return top / l1_ratio


def alpha_grid(problem: Quadratic, l1_ratio: float, positive: bool, n_alphas: int,
               eps: float) -> np.ndarray:  # fmt: skip
    """n_alphas alphas from alpha_max down to eps * alpha_max, evenly in the log (scikit-learn's
    grid)."""
    if l1_ratio == 0.0:
        raise ValueError(
            "an automatic alpha grid needs an L1 part (l1_ratio > 0): with l1_ratio=0 (ridge) "
            "every alpha keeps every coefficient, so there is no alpha_max; pass alphas=[...]"
        )
    top = alpha_max(problem, l1_ratio, positive)
    resolution = np.finfo(np.float64).resolution
    if top <= resolution:
        return np.full(n_alphas, resolution)
    return np.geomspace(top, top * eps, num=n_alphas)


class PathFits(NamedTuple):
    """Each alpha's fit, in the alphas' (decreasing) order."""

    coef: np.ndarray  # (n_alphas, d)
    intercept: np.ndarray  # (n_alphas,)
    dual_gap: np.ndarray  # (n_alphas,): per unit of weight, as scikit-learn's `dual_gap_` / n
    n_iter: np.ndarray  # (n_alphas,) sweeps (0 for a ridge solve)
    converged: np.ndarray  # (n_alphas,) bool: the gap is at most tol * yy


def solve_path(
    problem: Quadratic,
    alphas: np.ndarray,
    l1_ratio: float,
    positive: bool,
    tol: float,
    max_iter: int,
    coef_init: np.ndarray | None = None,
) -> PathFits:
    """Every alpha's optimum, each started from the last (alphas in decreasing order)."""

    def solve_one(alpha: float, w: np.ndarray) -> tuple:
        l1, l2 = alpha * l1_ratio, alpha * (1.0 - l1_ratio)
        if l1 == 0.0 and not positive:
            w, gap = ridge_solve(problem, l2)
            return w, gap, 0
        count, gap = minimize(problem.gram, problem.correlation, problem.yy, l1, l2, positive, w,
                              tol, max_iter)  # fmt: skip
        return w, gap, count

    return follow_path(alphas, coef_init, problem.correlation.shape[0], solve_one,
                       tol * problem.yy, problem.x_mean, problem.y_mean)  # fmt: skip


def follow_path(alphas, coef_init, d, solve_one, target, x_mean, y_mean) -> PathFits:
    """The `PathFits` of `solve_one(alpha, w) -> (w, gap, sweeps)` at each alpha in turn, each
    from the last one's w (from coef_init, or zeros), converged where the gap is within
    target; the intercepts from the means."""
    n = alphas.shape[0]
    coef = np.zeros((n, d))
    gaps = np.zeros(n)
    sweeps = np.zeros(n, dtype=np.int64)
    w = np.zeros(d) if coef_init is None else np.array(coef_init, dtype=np.float64)
    for i, alpha in enumerate(alphas):
        w, gaps[i], sweeps[i] = solve_one(float(alpha), w)
        coef[i] = w
    intercept = y_mean - coef @ x_mean
    return PathFits(coef, intercept, gaps, sweeps, gaps <= target)
