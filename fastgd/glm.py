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
  or three passes where the best constant needed five or six. The sample's last Hessian (per
  unit weight, moved to this fit's shift) is this fit's at the start to the same error: the
  first step is a chord step with it. Never the last one, though: a column whose nonzeros all
  fall between the sampled rows has no curvature in it, and its coefficient would not move;
  convergence is judged on all the rows' Hessian.
- **Chord steps.** Once a step is below CHORD_STEP of the parameters, the Hessian barely
  changes any more: the next passes add up the value and gradient alone (no d² products, about
  half the pass's time) and the steps reuse the last Hessian. Each such step shrinks the
  distance by about the relative change of the Hessian since it was computed (the size of the
  steps since); a step that shrinks less than CHORD_RATE asks for a new Hessian.

Multinomial logistic regression (`fit_multinomial`) takes the same steps on the k classes'
parameters, with one difference: its Hessian has k (k + 1) / 2 blocks of products (55 binary
passes' work for 10 classes), so on large data it comes from about HESSIAN_ROWS rows spread
over X (fastgd/multinomial_pass.py) while the gradient comes from all of them. Its steps
shrink the distance by about the sample's relative error of the Hessian (0.1 or so), and
BFGS's secant updates from the steps taken (`_secant_update`) about halve that.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from typing import NamedTuple

import numpy as np

from . import newton, proximal_newton
from ._validation import is_dask_array
from .families import FAMILIES, LARGEST_ETA, LOG, LOGIT, Binomial, Family, tweedie
from .glm_pass import GRADIENT, HESSIAN, VALUE
from .multinomial_pass import dense_pass, hessian, hessian_stride
from .plan import newton_pass, softmax_pass
from .threads import blas_on_one_thread

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
    # (the Hessian per unit weight in the pass's centred parameters, and the columns' shift):
    # the last one the fit used, for a fit on all the rows that starts where this one ended
    curvature: tuple | None = None


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
    dw = _cholesky_solve(system, right)
    if dw is None:
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
    n = X.shape[0]
    shift = _shift(X, fit_intercept)
    if is_dask_array(X):
        import dask.array as da

        rows = X.chunks[0]

        def along(values, fill):
            if values is None:
                return da.full(n, fill, chunks=(rows,), dtype=np.float64)
            return da.asarray(values).astype(np.float64).rechunk((rows,))

        return along(y, 0.0), along(sample_weight, 1.0), along(offset, 0.0), shift
    y = np.ascontiguousarray(y, dtype=np.float64)
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    offset = np.zeros(n) if offset is None else np.ascontiguousarray(offset, dtype=np.float64)
    return y, s, offset, shift


def _shift(X, fit_intercept):
    """`_pass_data`'s shift: the means of at most SHIFT_ROWS rows spread over a dense X (a
    Dask one's spread over its chunks, not another pass); 0 without an intercept, for a sparse
    X (never shifted) and for no rows."""
    n, d = X.shape
    if not fit_intercept or hasattr(X, "tocsr") or n == 0:
        return np.zeros(d)
    spread = X[:: max(1, n // SHIFT_ROWS)]
    if is_dask_array(spread):
        return np.asarray(spread.mean(axis=0).compute(), dtype=np.float64)
    return np.asarray(spread.mean(axis=0, dtype=np.float64), dtype=np.float64).ravel()


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


def _sample_tol(parameters, rows):
    """The tolerance of a multinomial start's fit on a sample of `rows`: a tenth of that
    sample's own distance to the optimum on all the rows (its sampling error, about
    sqrt(parameters / rows)), SAMPLE_TOL at least -- closer costs steps that the fit on all
    the rows undoes anyway. (fit_glm's sample keeps SAMPLE_TOL: its passes cost a sixteenth
    of the chord steps that a start that far off adds, measured.)"""
    return max(SAMPLE_TOL, 0.1 * math.sqrt(parameters / rows))


def _every(values, stride):
    """Every stride-th row of values (None stays None), in memory and contiguous (a Dask
    array's computed: the sample is at most SAMPLE_MAX_VALUES values)."""
    if values is None:
        return None
    rows = values[::stride]
    return np.ascontiguousarray(rows.compute() if is_dask_array(rows) else np.asarray(rows))


def _sample_start(family, X, y, sample_weight, offset, **options):
    """((b, w), curvature) at the optimum of the objective on every stride-th row (`_stride`),
    curvature its `GLMFit.curvature`; or None where the fit starts as usual, or the sample's
    fit did not converge (separable classes in the sample, say): then the fit starts from the
    best constant."""
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
    return (solved.intercept, solved.coef), solved.curvature


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
    curvature = None  # the sample's Hessian, where the fit starts from its optimum
    if start is None:
        sampled = _sample_start(family, X, y, sample_weight, offset, alpha=alpha,
                                fit_intercept=fit_intercept, tol=tol, max_iter=max_iter,
                                threads=threads, l1_ratio=l1_ratio)  # fmt: skip
        start, curvature = (None, None) if sampled is None else sampled
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
    chords = X.shape[0] * d >= CHORD_MIN_VALUES
    chord = False  # whether sums.hessian is an earlier point's (the chord steps)
    if chords and curvature is not None:
        # The sample's Hessian at its optimum is this one's at the start, to the sample's
        # error: the first steps are chord steps (no d² products), moved to this fit's shift
        # ((x - shift, 1) = M (x - its shift, 1)) and scaled to all the rows' weight.
        per_weight, its_shift = curvature
        move = np.eye(d + 1)
        move[:d, d] = its_shift - shift
        sums = evaluate(b_c, w, parts=GRADIENT)
        sums, chord = sums._replace(hessian=(move @ per_weight @ move.T) * total), True
        from_sample = True  # never the last step's: it may lack a column's curvature
    else:
        sums, from_sample = evaluate(b_c, w), False
    value = objective(sums.value, w)
    relative_step, converged = math.inf, False
    stopping = newton.Stopping(tol)
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
            sums, chord, from_sample = evaluate(b_c, w), False, False
            continue
        if stopping.converged(relative_step) and from_sample:
            # The sample's Hessian: a column whose nonzeros all fell between the sampled rows
            # has no curvature in it, the solve gives that column no step, and the steps stop
            # short of the optimum. Convergence is judged on all the rows' Hessian.
            sums, chord, from_sample = evaluate(b_c, w), False, False
            relative_step = last_step
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

        def at(t, b_c=b_c, w=w, eta=eta, step_c=step_c, step_w=step_w, trial=trial):
            if t == 1.0:  # the full step (most steps): its value is the pass's
                return objective(trial.value, w + step_w), None
            if eta is None:  # the rows' eta are where the chunks are: a value-only pass
                shorter = evaluate(b_c + t * step_c, w + t * step_w, parts=VALUE)
                return objective(shorter.value, w + t * step_w), None
            losses = family.loss(y, eta + t * (trial.eta - eta))  # eta's segment: no pass
            return objective(float(s @ losses), w + t * step_w), None

        found = newton.backtrack(at, value, slope)
        if found is None and chord:  # an earlier point's (or the sample's) Hessian misled
            sums, chord, from_sample = evaluate(b_c, w), False, False
            relative_step = last_step
            continue
        if found is None:  # no step lowers f: as far as float64 goes, if the step is small
            converged = relative_step <= newton.ROUNDING_STEP
            break
        t, value, _ = found
        b_c, w = b_c + t * step_c, w + t * step_w
        if t < 1.0:  # a shorter step: not where chord steps pay
            sums, chord, from_sample = evaluate(b_c, w), False, False
        elif next_chord:
            sums, chord = trial._replace(hessian=sums.hessian), True
        else:
            sums, chord, from_sample = trial, False, False
    curvature = (sums.hessian / total, shift) if total > 0.0 else None
    return GLMFit(b_c - float(shift @ w), w, k, converged, value, relative_step, curvature)


def _cholesky_solve(system, right):
    """system⁻¹ right by Cholesky's factorization (scipy's triangular solves, where scipy is
    installed: NumPy's general solve factorizes a triangle again, 5x the work at 330 x 330),
    or None where the system is not positive definite."""
    try:
        from scipy.linalg import LinAlgError, cho_factor, cho_solve
    except ImportError:  # NumPy alone: its Cholesky tells definiteness, its solve solves
        try:
            np.linalg.cholesky(system)
        except np.linalg.LinAlgError:
            return None
        return np.linalg.solve(system, right)
    try:
        return cho_solve(cho_factor(system, check_finite=False), right, check_finite=False)
    except LinAlgError:
        return None


def _solve_softmax_step(hessian, gradient, used, k, columns, l2, free_shift, singular=False):
    """Newton's step on the `used` entries of the (k, d + 1) parameters: (H + l2 on the
    coefficients) step = -gradient. The softmax is blind to a shift common to all classes: the
    intercepts' always, the coefficients' too without a penalty (`free_shift`). Those
    directions are H's null space, which the gradient is orthogonal to; a term along them makes
    the system definite without changing the step (its least-norm solution, scikit-learn's
    choice), and Cholesky's factorization solves it. A singular system beyond them (collinear
    columns, unpenalized): None, or with `singular` the least-norm solution."""
    d = columns - 1
    system = hessian.copy()
    coefficients = np.zeros((k, columns), dtype=bool)
    coefficients[:, :d] = True
    diagonal = np.flatnonzero(coefficients[used])
    system[diagonal, diagonal] += l2
    shifts = np.zeros((k, columns), dtype=bool)  # the entries whose common shift is free
    shifts[:, d] = True  # the intercepts'
    shifts[:, :d] = free_shift
    shifts &= used
    # The common shift of column j is the unit vector 1_k (x) e_j / sqrt(k): its term, scaled
    # as the system's diagonal, adds scale / k to each pair of entries of column j.
    column_of = np.broadcast_to(np.arange(columns), (k, columns))[used]
    shifted = shifts[used]
    same = (column_of[:, None] == column_of[None, :]) & shifted[:, None] & shifted[None, :]
    system += (max(float(np.trace(system)) / system.shape[0], 1e-300) / k) * same
    step = _cholesky_solve(system, -gradient)
    if step is None:
        if not singular:
            return None
        step = -np.linalg.lstsq(system, gradient, rcond=None)[0]
    full = np.zeros((k, columns))
    full[used] = step
    for j in np.flatnonzero(shifts[0]):  # no part of the step along a common shift
        full[:, j] -= full[:, j].mean()
    return full


SAMPLED_CHORD_STEP = 0.1  # with a sampled Hessian, the relative step below which it is reused
SECANT_STEP = 1e-8  # the relative step below which a step's gradient change is rounding
SAMPLED_RATE = 0.5  # the shrinking a step with a sampled Hessian must keep up, else a new one


def _secant_update(matrix, moved, change):
    """BFGS's update of a Hessian `matrix` (in place) by a step `moved` and the gradient's
    `change` along it: the matrix then maps the step to the change, as the true Hessian does
    near the optimum, and keeps the rest. A reused Hessian -- a sampled one, or an earlier
    point's -- so learns the directions the steps explore, and its steps converge faster than
    its own error would let them (superlinearly). Skipped where the change shows no curvature
    along the step (rounding)."""
    along = matrix @ moved
    curvature, predicted = float(change @ moved), float(moved @ along)
    if not (curvature > 1e-8 * math.sqrt(float(change @ change) * float(moved @ moved))
            and predicted > 0.0):  # fmt: skip
        return
    matrix -= np.outer(along, along) / predicted
    matrix += np.outer(change, change) / curvature


def fit_multinomial(X, labels, classes, sample_weight, *, alpha, fit_intercept, tol, max_iter,
                    start=None, l1_ratio=0.0, offset=None, threads=1):  # fmt: skip
    """Multinomial logistic regression (softmax over k = `classes`, labels (n,) in [0, k)) by
    Newton's method: minimizes (1 / S) sum s (log sum_c e^eta_c - eta_y) + alpha / 2 |W|²,
    eta = X W' + B. Each step's gradient is one pass over all the rows
    (fastgd/multinomial_pass.py), its Hessian -- k (k + 1) / 2 blocks of products -- from
    about HESSIAN_ROWS of them (all of them below that): the steps then shrink the distance
    by the Hessian's sampling error each, and the fit stops as Newton's does (the step within
    `tol` of the parameters). The intercepts, free to move together, are kept summing to 0
    (the least-norm choice, scikit-learn's), and the coefficients likewise without a penalty.
    With `l1_ratio` > 0 the penalty is the elastic net's, alpha (l1_ratio |W|₁ + (1 -
    l1_ratio) / 2 |W|²), and each step proximal Newton's (fastgd/proximal_newton.py).
    `offset` (n, k), or None: a fixed term of each row's and class's eta. On large data the
    fit starts from a sample's optimum (`fit_glm`'s, to a tolerance a tenth of that sample's
    own distance to the optimum, about sqrt(k (d + 1) / its rows)), and a sampled Hessian is
    reused, with secant updates, once the steps are below SAMPLED_CHORD_STEP (an exact one, as
    `fit_glm`'s chord steps, below CHORD_STEP). Returns (B (k,), W (k, d), steps, converged,
    last relative step)."""
    with blas_on_one_thread() if softmax_pass(X, classes) is dense_pass else nullcontext():
        return _fit_multinomial(X, labels, classes, sample_weight, alpha=alpha,
                                fit_intercept=fit_intercept, tol=tol, max_iter=max_iter,
                                start=start, l1_ratio=l1_ratio, offset=offset,
                                threads=threads)  # fmt: skip


def _fit_multinomial(X, labels, classes, sample_weight, *, alpha, fit_intercept, tol, max_iter,
                     start, l1_ratio, offset, threads):  # fmt: skip
    """`fit_multinomial`'s fit (the compiled passes' with BLAS on one thread: its spinning
    workers would hold the cores that the passes' threads want)."""
    l1, l2 = alpha * l1_ratio, alpha * (1.0 - l1_ratio)
    n, d = X.shape
    k = int(classes)
    labels = np.ascontiguousarray(labels, dtype=np.int64)
    if n and not (labels.min() >= 0 and labels.max() < k):  # the kernel indexes by them
        raise ValueError(f"labels must be class indices in [0, {k}), got {labels.min()} to "
                         f"{labels.max()}")  # fmt: skip
    options = {"alpha": alpha, "fit_intercept": fit_intercept, "l1_ratio": l1_ratio,
               "threads": threads}  # fmt: skip
    stride = _stride(X, sample_weight) if start is None else None
    if stride is not None:
        sampled_weight = _every(sample_weight, stride)  # None: every row weighs 1
        if not np.all(np.bincount(_every(labels, stride), sampled_weight, minlength=k) > 0):
            stride = None  # a class without weight in the sample: its optimum is far off
    if stride is not None:  # fit_glm's: the optimum on every 16th row
        solved = fit_multinomial(
            _every(X, stride), _every(labels, stride), k, _every(sample_weight, stride),
            tol=_sample_tol(k * (d + 1), -(-n // stride)),
            max_iter=min(max_iter, SAMPLE_STEPS), offset=_every(offset, stride),
            **options,
        )  # fmt: skip
        if solved[3] and np.all(np.isfinite(solved[0])) and np.all(np.isfinite(solved[1])):
            start = solved[:2]
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if offset is not None:
        offset = np.ascontiguousarray(offset, dtype=np.float64)
    total = float(s.sum())
    shift = _shift(X, fit_intercept)
    run = softmax_pass(X, k)
    compiled = run is dense_pass
    columns = d + 1
    theta = np.zeros((k, columns))  # each class's coefficients, then its intercept (centred)
    if start is None:
        shares = np.maximum(np.bincount(labels, weights=s, minlength=k) / total, 1e-300)
        if fit_intercept:
            theta[:, d] = np.log(shares) - np.log(shares).mean()
    else:
        theta[:, :d] = np.array(start[1], dtype=np.float64)
        theta[:, d] = np.array(start[0], dtype=np.float64) if fit_intercept else 0.0
        theta[:, d] += theta[:, :d] @ shift

    def evaluate(at, parts=GRADIENT):
        value, grad = run(X, labels, s, offset, shift, at[:, d], at[:, :d], parts=parts,
                          threads=threads)  # fmt: skip
        W = at[:, :d]
        return value / total + 0.5 * l2 * float(np.sum(W * W)) + l1 * float(np.abs(W).sum()), grad

    def uncentred(values):  # (B, W) of parameters or a step in the centred ones
        return values[:, d] - values[:, :d] @ shift, values[:, :d]

    used = np.ones((k, columns), dtype=bool)
    if not fit_intercept:
        used[:, d] = False
    free = np.zeros((k, columns), dtype=bool)
    free[:, d] = True
    hessian_every = hessian_stride(n)
    value, grad = evaluate(theta)
    relative_step, converged = math.inf, False
    stopping = newton.Stopping(tol)
    kept = None  # the Hessian the steps reuse (None: compute it at this point)
    reused = False
    previous = None  # (theta, gradient) where the last step started: the secant's pair
    whole_step = False  # whether the last step was the full one
    step_count = 0
    for step_count in range(max_iter + 1):
        gradient = grad / total
        if kept is None:
            B_c, W = theta[:, d], theta[:, :d]
            matrix = hessian(X, s, offset, shift, B_c, W, hessian_every, threads, compiled) / total
            kept, reused = matrix[np.ix_(used.ravel(), used.ravel())], False
        else:
            reused = True
            if previous is not None and hessian_every > 1 and relative_step > SECANT_STEP:
                # a sampled one learns from the steps (above the gradient's rounding)
                _secant_update(kept, (theta - previous[0])[used], (gradient - previous[1])[used])
        previous = None
        if l1 > 0.0:
            full = proximal_newton.step(kept, gradient[used], theta[:, :d].ravel(),
                                        free[used], l1, l2)  # fmt: skip
            if full is None and reused:  # a secant update's rounding: this point's Hessian
                kept = None
                continue
            if full is None:  # the softmax's curvature is never negative: not reached
                break
            step = np.zeros((k, columns))
            step[used] = full
            if fit_intercept:
                step[:, d] -= step[:, d].mean()  # the intercepts' common shift: none of it
        else:
            gradient = gradient + l2 * np.where(free, 0.0, theta)
            step = _solve_softmax_step(kept, gradient[used], used, k, columns, l2,
                                       free_shift=alpha == 0.0)  # fmt: skip
            if step is None and hessian_every > 1:
                # Singular beyond the softmax's own shifts: a column without curvature in the
                # sample (its nonzeros all between the sampled rows) would have its share of
                # the gradient dropped, and the fit stop short. All the rows' Hessian instead.
                hessian_every, kept = 1, None
                continue
            if step is None:  # collinear columns, unpenalized: the least-norm step
                step = _solve_softmax_step(kept, gradient[used], used, k, columns, l2,
                                           free_shift=alpha == 0.0, singular=True)  # fmt: skip
        step_B, step_W = uncentred(step)
        B, W = uncentred(theta)
        size = math.sqrt(float(np.sum(B * B)) + float(np.sum(W * W)))
        last_step = relative_step
        relative_step = math.sqrt(float(np.sum(step_B**2)) + float(np.sum(step_W**2))) / max(
            size, 1e-300
        )
        rate = CHORD_RATE if hessian_every == 1 else SAMPLED_RATE
        if reused and relative_step > rate * last_step:  # too slow: a new Hessian
            relative_step, kept = last_step, None
            continue
        if (hessian_every > 1 and whole_step and last_step < SAMPLED_CHORD_STEP
                and relative_step > SAMPLED_RATE * last_step):  # fmt: skip
            # This point's sampled Hessian does not halve the steps near the optimum either:
            # the sample misses curvature that the rows have (a rare column's). All the rows'.
            relative_step, kept, hessian_every = last_step, None, 1
            continue
        if stopping.converged(relative_step):
            converged = True
            break
        if step_count == max_iter:
            break
        if l1 > 0.0:
            slope = proximal_newton.decrease(gradient[used], step[used], theta[:, :d].ravel(),
                                             step[:, :d].ravel(), l1, l2)  # fmt: skip
        else:
            slope = float(np.sum(gradient * step))
        trial = evaluate(theta + step)

        def at(t, theta=theta, step=step, trial=trial):
            shorter = trial if t == 1.0 else evaluate(theta + t * step)  # its gradient too:
            return shorter[0], shorter  # the step taken needs it, a shorter one as well

        found = newton.backtrack(at, value, slope)
        if found is None and reused:  # an earlier point's Hessian misled: this point's
            relative_step, kept = last_step, None
            continue
        if found is None:
            converged = relative_step <= newton.ROUNDING_STEP
            break
        t, value, state = found
        previous = (theta, grad / total)
        theta = theta + t * step
        whole_step = t == 1.0
        grad = state[1]
        if not whole_step or relative_step > (
            CHORD_STEP if hessian_every == 1 else SAMPLED_CHORD_STEP
        ):
            kept = None  # else reuse this point's Hessian (chord steps)
    B, W = uncentred(theta)
    if fit_intercept:
        B = B - B.mean()
    else:
        B = np.zeros(k)
    if alpha == 0.0:
        W = W - W.mean(axis=0)
    return B, W, step_count, converged, relative_step
