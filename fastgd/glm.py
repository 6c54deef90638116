"""Generalized linear models by Newton's method: Poisson, Gamma, Tweedie and logistic
regression (issue 28).

A family (fastgd/families.py) gives, for the linear predictor eta = b + x.w of a row and its
target y, the row's loss l(y, eta) (half its unit deviance: scikit-learn's scale), its
derivative l' and its curvature h in eta. The objective is scikit-learn's

    f(b, w) = (1 / S) sum_i s_i l(y_i, eta_i) + (alpha / 2) |w|²,     S = sum_i s_i,

and Newton's step solves the (d + 1)-square system of f's Hessian and gradient, which one pass
over X computes together at each point (fastgd/glm_pass.py): a Newton step is one pass,
whatever the number of rows, and a small solve. A backtracking line search on f (along the
segment, on eta interpolated: no further pass) keeps every step a descent; where a row's
curvature is negative (Tweedie powers above 2, the normal with the log link) and the system is
not definite, Fisher's curvature (always > 0) defines the step. The stop: the step's size
relative to the parameters' below `tol` (near the optimum, Newton's step is the distance to
it), or steps that no longer shrink (the rounding of the gradient).

Two things spare passes on large data without changing the answer (the last steps are
Newton's on all the rows, to the same stopping rule):
- **The start from a sample.** With many rows, the fit starts where the same objective on every
  SAMPLE_STRIDE-th row has its optimum (found the same way, on a sixteenth of the data): within
  the sampling error of the optimum (about 1e-2 relative), from which Newton's steps need two
  or three passes where the best constant needed five or six.
- **Chord steps.** Once a step is below CHORD_STEP of the parameters, the Hessian barely
  changes any more: the next passes add up the value and gradient alone (no d² products, about
  half the pass's time) and the steps reuse the last Hessian. Each such step shrinks the
  distance by about the relative change of the Hessian since it was computed (the size of the
  steps since); a step that shrinks less than CHORD_RATE asks for a new Hessian.

Multinomial logistic regression (`fit_multinomial`) is NumPy's for now: its Hessian's k² blocks
by products of X.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import newton, proximal_newton
from ._validation import is_dask_array
from .families import FAMILIES, LARGEST_ETA, LOG, LOGIT, Binomial, Family, tweedie
from .glm_pass import GRADIENT, HESSIAN, VALUE
from .plan import newton_pass

__all__ = [
    "FAMILIES", "Binomial", "Family", "GLMFit", "best_constant", "fit_glm", "fit_multinomial",
    "tweedie",
]  # fmt: skip


class GLMFit(NamedTuple):
    intercept: float
    coef: np.ndarray
    n_iter: int
    converged: bool
    objective: float
    step: float  # the last Newton step's size, relative to the parameters'


def _newton_step(sums, w, alpha, total, fit_intercept):
    """Newton's step (db, dw) from a pass's sums at (b, w), or None where its system is not
    positive definite.

    The system is H dw = -grad with the intercept's row and column eliminated (the curvature-
    weighted means m = H[:d, d] / H[d, d] centre the others): (H_xx - H[d, d] m m' + alpha S) dw
    = -(grad_x - m grad_b) - alpha S w. The right-hand side is the gradient itself -- never the
    working response -l' / h of the classic IRLS form, whose rows blow up where h is small and
    whose rounding at the point's own size would hold the steps at the system's condition
    times epsilon."""
    d = w.shape[0]
    grad, hessian = sums.grad, sums.hessian
    weight = float(hessian[d, d])
    if fit_intercept:
        if not weight > 0.0:
            return None
        m = hessian[:d, d] / weight
        xx = hessian[:d, :d] - np.outer(hessian[:d, d], m)
        right = -(grad[:d] - m * grad[d])
    else:
        xx, right = hessian[:d, :d], -grad[:d]
    system = xx / total + alpha * np.eye(d)
    right = right / total - alpha * w
    try:
        np.linalg.cholesky(system)
        dw = np.linalg.solve(system, right)
    except np.linalg.LinAlgError:
        eigenvalues = np.linalg.eigvalsh(system)
        if eigenvalues[0] < -1e-12 * max(abs(eigenvalues[-1]), 1e-300):
            return None  # indefinite: a row's negative curvature (the caller takes Fisher's)
        # Singular (collinear columns without a penalty): the least-norm step, which moves
        # within the columns' span and reaches the least-norm optimum (predictions unique).
        dw = np.linalg.lstsq(system, right, rcond=None)[0]
    db = (-float(grad[d]) - float(hessian[:d, d] @ dw)) / weight if fit_intercept else 0.0
    return db, dw


def best_constant(family, y, s, total, offset):
    """A start for the intercept: the best constant model's. Without offsets, the link of y's
    weighted mean; with them, for the log link, the root of the intercept's score equation
    sum s (mu - y) mu^(1-p) = 0 at mu = e^(b + offset): e^b = sum s y e^((1-p) offset) /
    sum s e^((2-p) offset) (exact for every power); else the link of the mean less the
    offsets' mean (Newton's steps do the rest)."""
    mean = float(s @ y) / total
    if not offset.any():
        return family.link_of(mean)
    if family.kind == LOG:
        p = family.power
        o = np.minimum(offset, LARGEST_ETA / 2.0)
        top, bottom = float(s @ (y * np.exp((1.0 - p) * o))), float(s @ np.exp((2.0 - p) * o))
        return family.link_of(top / bottom) if bottom > 0.0 else 0.0
    return family.link_of(mean) - float(s @ offset) / total


SHIFT_ROWS = 4096


def _pass_data(X, y, sample_weight, offset, fit_intercept):
    """(y, s, offset, shift) as the pass takes them: float64 arrays (Dask arrays chunked as X's
    rows for Dask), s and offset filled in (1 and 0), and the columns' shift (0 without an
    intercept, and for a sparse X, which is never shifted). The shift only keeps the pass's
    products of data far from 0 from losing digits (any value near the data's centre does): the
    means of at most SHIFT_ROWS rows spread over X, where NumPy's column means of all the rows
    took as long as a Newton pass (55 ms at 1e6 x 32)."""
    n, d = X.shape
    if is_dask_array(X):
        import dask.array as da

        rows = X.chunks[0]

        def along(values, fill):
            if values is None:
                return da.full(n, fill, chunks=(rows,), dtype=np.float64)
            return da.asarray(values).astype(np.float64).rechunk((rows,))

        shift = np.zeros(d)
        if fit_intercept:  # as below: rows spread over the chunks, not another pass
            spread = X[:: max(1, n // SHIFT_ROWS)]
            shift = np.asarray(spread.mean(axis=0).compute(), dtype=np.float64)
        return along(y, 0.0), along(sample_weight, 1.0), along(offset, 0.0), shift
    y = np.ascontiguousarray(y, dtype=np.float64)
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    offset = np.zeros(n) if offset is None else np.ascontiguousarray(offset, dtype=np.float64)
    dense = fit_intercept and not hasattr(X, "tocsr")
    shift = np.zeros(d)
    if dense:
        spread = X[:: max(1, n // SHIFT_ROWS)]
        shift = np.asarray(spread.mean(axis=0, dtype=np.float64), dtype=np.float64).ravel()
    return y, s, offset, shift


def _proximal_step(sums, w, l1, l2, total, fit_intercept):
    """`_newton_step` with an l1 part in the penalty: proximal Newton's (db, dw), the optimum of
    the model of f plus the penalty (fastgd/proximal_newton.py), or None where it is not
    convex."""
    d = w.shape[0]
    free = np.zeros(d + 1, dtype=bool)
    free[d] = True  # the intercept's row and column, last in the pass's sums
    if fit_intercept:
        if not float(sums.hessian[d, d]) > 0.0:
            return None  # as `_newton_step`: no curvature along the intercept (Fisher's has)
        full = proximal_newton.step(sums.hessian / total, sums.grad / total, w, free, l1, l2)
    else:  # the coefficients alone
        hessian, grad = sums.hessian[:d, :d] / total, sums.grad[:d] / total
        full = proximal_newton.step(hessian, grad, w, free[:d], l1, l2)
    if full is None:
        return None
    return (float(full[d]) if fit_intercept else 0.0), full[:d]


SAMPLE_STRIDE = 16  # the start's sample: every 16th row
SAMPLE_ROWS = 20_000  # the fewest rows in that sample (and 20 per parameter)
SAMPLE_MAX_VALUES = 1 << 24  # the most values in it (128 MB): a sparser stride beyond
SAMPLE_TOL = 1e-4  # the sample's fit: well below its distance to the optimum on all rows
SAMPLE_STEPS = 30  # the sample's Newton steps at most (not converged: the usual start instead)
CHORD_STEP = 1e-3  # a relative step below which the next steps reuse its Hessian
CHORD_MIN_VALUES = 1_000_000  # chord steps from this many values of X (n d) on: a pass's
# milliseconds, where the second kernel they compile (glm_pass._range_gradient) pays
CHORD_RATE = 0.05  # the shrinking a chord step must achieve, else a new Hessian


def _stride(X, sample_weight):
    """The sample's stride, every SAMPLE_STRIDE-th row (more for a sample above
    SAMPLE_MAX_VALUES values), or None where the fit starts as usual: X not a dense array (a
    NumPy or Dask one), fewer than SAMPLE_STRIDE x max(SAMPLE_ROWS, 20 parameters' worth) rows,
    or no weight in the sample (a mask of period 16 or a divisor of it, 0 on every sampled
    row)."""
    if not (isinstance(X, np.ndarray) or is_dask_array(X)):  # a sparse X: its own costs
        return None
    n, d = X.shape
    if n < SAMPLE_STRIDE * max(SAMPLE_ROWS, 20 * (d + 1)):
        return None
    stride = max(SAMPLE_STRIDE, -(-n * d // SAMPLE_MAX_VALUES))
    if sample_weight is not None and not float(np.sum(_every(sample_weight, stride))) > 0.0:
        return None
    return stride


def _every(values, stride):
    """Every stride-th row of values (None stays None), in memory and contiguous (a Dask
    array's computed: the sample is at most SAMPLE_MAX_VALUES values)."""
    if values is None:
        return None
    rows = values[::stride]
    return np.ascontiguousarray(rows.compute() if is_dask_array(rows) else np.asarray(rows))


def _sample_start(family, X, y, sample_weight, offset, **options):
    """(b, w) at the optimum of the objective on every stride-th row (`_stride`), or None where
    the fit starts as usual, or the sample's fit did not converge (separable classes in the
    sample, say): then the fit starts from the best constant."""
    stride = _stride(X, sample_weight)
    if stride is None:
        return None
    options.update(tol=SAMPLE_TOL, max_iter=min(options["max_iter"], SAMPLE_STEPS))
    solved = fit_glm(family, _every(X, stride), _every(y, stride), _every(sample_weight, stride),
                     offset=_every(offset, stride), **options)  # fmt: skip
    if not (
        solved.converged and math.isfinite(solved.intercept) and np.all(np.isfinite(solved.coef))
    ):
        return None
    return solved.intercept, solved.coef


def fit_glm(family, X, y, sample_weight, *, alpha, fit_intercept, tol, max_iter, start=None,
            threads=1, offset=None, l1_ratio=0.0):  # fmt: skip
    """Minimize f by Newton steps from `start` = (b, w) (None: w = 0 and b the best constant
    model's). eta = b + x.w + offset, with a fixed `offset` per row (None: 0): the log of each
    row's exposure for a Poisson rate. Returns a `GLMFit`.

    `l1_ratio` > 0 splits alpha's penalty as the elastic net's (scikit-learn's and glum's
    scale): alpha l1_ratio |w|₁ + alpha (1 - l1_ratio) / 2 |w|², and each step is proximal
    Newton's (fastgd/proximal_newton.py), the same pass and line search.

    Each step takes one pass over X (`glm_pass`): the value, gradient and Hessian at the
    point the last step reached, so a full step accepted by the line search costs exactly one
    pass; a shorter one is found on the pass's eta (no pass) and costs one more. (On large
    data: the start from a sample and the chord steps of the module's doc.)"""
    if start is None:
        start = _sample_start(family, X, y, sample_weight, offset, alpha=alpha,
                              fit_intercept=fit_intercept, tol=tol, max_iter=max_iter,
                              threads=threads, l1_ratio=l1_ratio)  # fmt: skip
    d = X.shape[1]
    evaluate_at = newton_pass(X)
    y, s, offset, shift = _pass_data(X, y, sample_weight, offset, fit_intercept)
    total = float(s.sum())

    def evaluate(b_c, w, fisher=False, parts=HESSIAN):
        return evaluate_at(
            family, X, y, s, offset, shift, b_c, w, fisher=fisher, parts=parts, threads=threads
        )

    l1, l2 = alpha * l1_ratio, alpha * (1.0 - l1_ratio)

    def objective(sums_value, w):
        return sums_value / total + 0.5 * l2 * float(w @ w) + l1 * float(np.abs(w).sum())

    def newton_step(sums):
        if l1 > 0.0:
            return _proximal_step(sums, w, l1, l2, total, fit_intercept)
        return _newton_step(sums, w, l2, total, fit_intercept)

    if start is None:
        w = np.zeros(d)
        b = best_constant(family, y, s, total, offset) if fit_intercept else 0.0
    else:
        b, w = float(start[0]), np.array(start[1], dtype=np.float64)
    b_c = b + float(shift @ w)
    sums = evaluate(b_c, w)
    value = objective(sums.value, w)
    relative_step, converged = math.inf, False
    stopping = newton.Stopping(tol)
    chord = False  # whether sums.hessian is an earlier point's (the chord steps)
    chords = X.shape[0] * d >= CHORD_MIN_VALUES
    k = 0
    for k in range(max_iter + 1):
        # Newton's own system, where it is definite (always for 1 <= power <= 2); else
        # Fisher's (one more pass), definite wherever alpha > 0 or X has full rank.
        step = newton_step(sums)
        if step is None and family.kind != LOGIT:  # the logit's curvature is Fisher's
            step = newton_step(evaluate(b_c, w, fisher=True))
        if step is None:
            break  # singular even so: X's columns collinear without a penalty
        step_c, step_w = step
        step_b = step_c - float(shift @ step_w)
        size = math.sqrt((b_c - float(shift @ w)) ** 2 + float(w @ w))
        last_step = relative_step
        relative_step = math.sqrt(step_b**2 + float(step_w @ step_w)) / max(size, 1e-300)
        if chord and relative_step > CHORD_RATE * last_step:  # too slow: a new Hessian
            sums, chord = evaluate(b_c, w), False
            continue
        if stopping.converged(relative_step):
            converged = True
            break
        if k == max_iter:
            break
        # The objective's slope along the step, from the gradient; the full step's pass, and
        # shorter steps' values on eta's segment, without another pass over X.
        # (With an l1 part, the penalty's decrease along the step: proximal_newton.decrease.)
        whole = np.append(step_w, step_c)  # the step in the pass's order: the intercept last
        slope = proximal_newton.decrease(sums.grad / total, whole, w, step_w, l1, l2)
        next_chord = chords and relative_step <= CHORD_STEP
        trial = evaluate(b_c + step_c, w + step_w, parts=GRADIENT if next_chord else HESSIAN)
        eta = sums.eta
        step_eta = None if eta is None else trial.eta - eta

        def at(t, b_c=b_c, w=w, eta=eta, step_eta=step_eta, step_c=step_c, step_w=step_w,
               trial=trial):  # fmt: skip
            if t == 1.0:
                return objective(trial.value, w + step_w), None
            if eta is None:  # the rows' eta are where the chunks are: a value-only pass
                shorter = evaluate(b_c + t * step_c, w + t * step_w, parts=VALUE)
                return objective(shorter.value, w + t * step_w), None
            losses = family.loss(y, eta + t * step_eta)
            return objective(float(s @ losses), w + t * step_w), None

        found = newton.backtrack(at, value, slope)
        if found is None:  # no step lowers f: as far as float64 goes, if the step is small
            converged = relative_step <= newton.ROUNDING_STEP
            break
        t, value, _ = found
        b_c, w = b_c + t * step_c, w + t * step_w
        if t < 1.0:  # a shorter step: not where chord steps pay
            sums, chord = evaluate(b_c, w), False
        elif next_chord:
            sums, chord = trial._replace(hessian=sums.hessian), True
        else:
            sums, chord = trial, False
    return GLMFit(b_c - float(shift @ w), w, k, converged, value, relative_step)


def _softmax(eta):
    shifted = eta - eta.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True), np.log(exp.sum(axis=1)) + eta.max(axis=1)


def _multinomial_objective(eta, Y, s, total, l1, l2, W):
    _, log_total = _softmax(eta)
    rows = log_total - np.einsum("ij,ij->i", Y, eta)
    return float(s @ rows) / total + 0.5 * l2 * float(np.sum(W * W)) + l1 * float(np.abs(W).sum())


def _with_intercept(rows, X, fit_intercept):
    """[1, X]' rows (the intercept's column first, if fitted): (columns, m) for rows (n, m),
    without copying X into a design matrix (a sparse X stays sparse)."""
    products = np.asarray(X.T @ rows)
    return np.vstack([rows.sum(axis=0), products]) if fit_intercept else products


def _weighted_products(X, u, fit_intercept):
    """[1, X]' diag(u) [1, X] (the intercept first, if fitted), for a dense or sparse X."""
    if hasattr(X, "multiply"):  # scipy.sparse: diag(u) X stays sparse
        scaled = X.multiply(u[:, None]).tocsr()
        xx = np.asarray((X.T @ scaled).todense())
    else:
        scaled = u[:, None] * X
        xx = X.T @ scaled
    if not fit_intercept:
        return xx
    xu = np.asarray(scaled.sum(axis=0)).ravel()
    top = np.concatenate([[u.sum()], xu])
    return np.block([[top[None, :]], [xu[:, None], xx]])


def fit_multinomial(X, Y, sample_weight, *, alpha, fit_intercept, tol, max_iter, start=None,
                    l1_ratio=0.0, offset=None):  # fmt: skip
    """Multinomial logistic regression (softmax over k classes, Y (n, k) one-hot) by Newton's
    method: minimizes (1 / S) sum s (log sum_c e^eta_c - eta_y) + alpha / 2 |W|², eta = X W' +
    B. Each step's Hessian is the k (d + 1)-square matrix of the blocks
    X' diag(s p_a (delta_ab - p_b)) X (one product per pair of classes); the intercepts, free to
    move together, are kept summing to 0 (the least-norm choice, scikit-learn's). With
    `l1_ratio` > 0 the penalty is the elastic net's, alpha (l1_ratio |W|₁ + (1 - l1_ratio) / 2
    |W|²), and each step proximal Newton's (fastgd/proximal_newton.py). `offset` (n, k), or
    None: a fixed term of each row's and class's eta. Returns (B (k,), W (k, d), steps,
    converged, last relative step)."""
    l1, l2 = alpha * l1_ratio, alpha * (1.0 - l1_ratio)
    n, d = X.shape
    k = Y.shape[1]
    stride = _stride(X, sample_weight) if start is None else None
    if stride is not None:  # fit_glm's: the optimum on every 16th row
        solved = fit_multinomial(
            *(_every(values, stride) for values in (X, Y, sample_weight)), alpha=alpha,
            fit_intercept=fit_intercept, tol=SAMPLE_TOL, max_iter=min(max_iter, SAMPLE_STEPS),
            l1_ratio=l1_ratio, offset=_every(offset, stride),
        )  # fmt: skip
        if solved[3] and np.all(np.isfinite(solved[0])) and np.all(np.isfinite(solved[1])):
            start = solved[:2]
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    total = float(s.sum())
    if start is None:
        W = np.zeros((k, d))
        shares = np.maximum((s @ Y) / total, 1e-300)
        B = np.log(shares) - np.log(shares).mean() if fit_intercept else np.zeros(k)
    else:
        B, W = np.array(start[0], dtype=np.float64), np.array(start[1], dtype=np.float64)
    columns = d + 1 if fit_intercept else d
    eta = np.asarray(X @ W.T) + B
    if offset is not None:
        eta = eta + offset
    value = _multinomial_objective(eta, Y, s, total, l1, l2, W)
    penalty = np.ones(columns)
    if fit_intercept:
        penalty[0] = 0.0
    relative_step, converged = math.inf, False
    stopping = newton.Stopping(tol)
    # Chord steps (fit_glm's): once a step is below CHORD_STEP, the next ones reuse its
    # Hessian, whose k² / 2 blocks of products cost far more than the gradient.
    chords = n * d * k >= CHORD_MIN_VALUES
    kept = None  # the Hessian the chord steps reuse (None: compute it at this point)
    k_step = 0
    for k_step in range(max_iter + 1):
        P, _ = _softmax(eta)
        theta = np.hstack([B[:, None], W]) if fit_intercept else W.copy()
        gradient = _with_intercept(s[:, None] * (P - Y), X, fit_intercept).T / total  # f's
        if kept is None:
            hessian = np.zeros((k, columns, k, columns))
            for a in range(k):
                for b in range(a, k):
                    u = s * P[:, a] * ((1.0 if a == b else 0.0) - P[:, b]) / total
                    block = _weighted_products(X, u, fit_intercept)
                    hessian[a, :, b, :] = block
                    hessian[b, :, a, :] = block.T
        else:
            hessian = kept.copy()
        raw = hessian.copy() if chords else None  # before the l2 branch adds to it
        size = k * columns
        if l1 > 0.0:  # the coefficients W, class by class, are theta's penalized entries
            free = np.broadcast_to(penalty == 0.0, (k, columns)).reshape(size)
            full = proximal_newton.step(hessian.reshape(size, size), gradient.reshape(size),
                                        W.reshape(k * d), free, l1, l2)  # fmt: skip
            if full is None:  # the softmax's curvature is never negative: not reached
                break
            step = full.reshape(k, columns)
        else:
            gradient = gradient + l2 * theta * penalty
            for a in range(k):
                hessian[a, :, a, :] += l2 * np.diag(penalty)
            step = -np.linalg.lstsq(hessian.reshape(size, size), gradient.reshape(size),
                                    rcond=None)[0].reshape(k, columns)  # fmt: skip
        if fit_intercept:
            step[:, 0] -= step[:, 0].mean()  # the intercepts' free direction: none of it
        norm = math.sqrt(float(np.sum(theta * theta)))
        last_step = relative_step
        relative_step = math.sqrt(float(np.sum(step * step))) / max(norm, 1e-300)
        if kept is not None and relative_step > CHORD_RATE * last_step:  # a new Hessian
            kept = None
            continue
        if stopping.converged(relative_step):
            converged = True
            break
        if k_step == max_iter:
            break
        step_B = step[:, 0] if fit_intercept else np.zeros(k)
        step_W = step[:, 1:] if fit_intercept else step
        step_eta = np.asarray(X @ step_W.T) + step_B

        def at(t, eta=eta, W=W, step_eta=step_eta, step_W=step_W):
            trial_eta, trial_W = eta + t * step_eta, W + t * step_W
            value = _multinomial_objective(trial_eta, Y, s, total, l1, l2, trial_W)
            return value, (trial_eta, trial_W)

        if l1 > 0.0:
            slope = proximal_newton.decrease(
                gradient.reshape(size), step.reshape(size), W.ravel(), step_W.ravel(), l1, l2
            )
        else:
            slope = float(np.sum(gradient * step))
        found = newton.backtrack(at, value, slope)
        if found is None:
            converged = relative_step <= newton.ROUNDING_STEP
            break
        t, value, (eta, W) = found
        B = B + t * step_B
        if chords and t == 1.0 and relative_step <= CHORD_STEP:
            kept = raw if kept is None else kept  # this point's Hessian, for the next steps
        else:
            kept = None
    return B, W, k_step, converged, relative_step
