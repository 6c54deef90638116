"""`fastgd.fit`: validation -> plan -> one backend -> result.

The iteration loop itself runs inside the backend's compiled code; this module only hands it
blocks of iterations (a few milliseconds each, so that callbacks and Ctrl-C are heard between
them) and turns its status into a result or a clear error.
"""

from __future__ import annotations

import math
import os
import re
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from . import _config, coordinates, curvature, stopping
from ._status import CONVERGED, LOSS_INCREASED, LOSS_NOT_FINITE, PARAMS_NOT_FINITE, RAN
from ._validation import check_flag, check_start, check_threads, data_kind
from .backend import Settings, Targets
from .curvature import KAPPA_LIMIT, loss_scale, stable_limit
from .errors import ConditioningWarning, ConvergenceWarning, DivergenceError, FitInterrupted
from .folds import fold_ranges
from .gradient import (
    LOSS,
    LOSS_PARAMETER,
    LR,
    MOMENTUM,
    NOISE,
    OFFSET,
    SLOPE,
    increase_allowance,
    rule_size,
    stationarity,
    write_penalty,
)
from .gradient import penalty as penalty_of
from .options import DEFAULT_TOL, Options, check_options
from .penalties import Penalty, make_penalty
from .plan import INPUTS, Plan, labelled_fold_moments, make_plan, make_targets
from .result import FitResult


def fit(
    X: ArrayLike,
    y: ArrayLike,
    *,
    lr: float | Literal["auto"] = "auto",
    n_iter: int = 100_000,
    b0: float = 0.0,
    w0: ArrayLike | None = None,
    device: Literal["auto", "cpu", "cuda"] = "auto",
    threads: int | None = None,
    sample_weight: ArrayLike | None = None,
    tol: float | None = 1e-13,
    callback: Callable[[int, float, np.ndarray, float], bool | None] | None = None,
    check_every: int | None = None,
    method: Literal["auto", "loop", "gram"] = "auto",
    fit_intercept: bool = True,
    standardize: bool = True,
    momentum: float | Literal["auto"] = "auto",
    penalty: Literal["l2", "l1", "elasticnet"] | None = None,
    alpha: float = 0.0,
    l1_ratio: float = 0.5,
    loss: Literal["squared_error", "huber", "logistic", "poisson", "gamma", "tweedie"] = (
        "squared_error"
    ),
    epsilon: float = 1.0,
    power: float = 1.5,
    positive: bool = False,
    penalty_weights: ArrayLike | None = None,
    coef_bounds: tuple[ArrayLike | None, ArrayLike | None] | None = None,
    minimum_norm: bool = False,
) -> FitResult:
    """Fit y ~ X @ w + b: the least-squares optimum (or the penalized, robust or bounded one
    the options ask for), by gradient descent, to a certified tolerance.

    By default every fit descends in the coordinates of the standardized features with the
    optimal momentum, and stops once the parameters are provably within a relative distance
    `tol` of the optimum (`converged` is then True); where `n_iter` runs out first, a
    `ConvergenceWarning` says how far the answer may still be and what would help. The
    lecture's plain gradient descent -- n_iter steps of size lr in X's own units, no momentum,
    no stopping rule -- is `fastgd.gradient_descent`. Every option: docs/fit.md.

    Parameters
    ----------
    X : array of shape (n,) or (n, d)
        The features: NumPy (float64 or float32 used without a copy), scipy.sparse CSR, a
        memory-mapped file, a GPU array or a Dask array. Never modified.
    y : array of shape (n,), or (n, k) for k targets that share X
    lr : float > 0 or "auto"
        The step; "auto" is 1/L from the data's moments, a step that always decreases the loss.
    n_iter : int >= 0
        The most gradient steps (a budget: the fit stops at `tol`).
    tol : float >= 0 or None
        Stop once |u - u*| <= tol |u| is proven, u = (b, w) in the fit's coordinates (an
        iterate whose gradient is down to its rounding counts too); None runs all n_iter.
    standardize : bool
        Descend in the coordinates of the centred, scaled features (on the fly; the results
        stay in X's units); False: in X's own coordinates.
    momentum : float in [0, 1) or "auto"
        Nesterov's momentum; "auto": the optimal one for the data's conditioning; 0: none.
    method : "auto", "loop" or "gram"
        "loop": one pass over the data per step; "gram": the same steps from the data's
        moments (one pass in all); "auto": the cheaper (`FitResult.method` says which ran).
    device : "auto", "cpu" or "cuda";  threads : int, optional
        Where it runs; CPU threads (default: the idle cores, one for small data).
    sample_weight : array of shape (n,), optional
        Non-negative weights: the loss becomes sum(s * r**2) / sum(s).
    b0, w0 : the starting point (zeros);  fit_intercept : bool (False: y ~ X @ w)
    penalty : None, "l2", "l1" or "elasticnet";  alpha : float;  l1_ratio : float
        Minimize the loss + alpha * R(w) (the intercept is never penalized; with
        `standardize`, on the standardized coefficients, as glmnet does; docs/models.md has
        scikit-learn's equivalents).
    loss : "squared_error", "huber", "logistic", "poisson", "gamma" or "tweedie"
    epsilon : float;  power : float
        The Huber loss: r**2 up to epsilon (in y's units), linear beyond. The logistic loss:
        the log-loss log(1 + e^p) - y p of y in [0, 1] at the log-odds p = X @ coef +
        intercept (logistic regression; `predict` gives p). Poisson (counts y >= 0), Gamma
        (y > 0) and Tweedie of `power` (1 to 2, y >= 0): half the unit deviance at the mean e^p
        (scikit-learn's PoissonRegressor, GammaRegressor, TweedieRegressor(link="log")),
        starting from the best constant, b = log(mean y), where b0 and w0 are left at theirs;
        their curvature has no bound, so lr="auto" is a guess that the fit shortens,
        starting again, where the loss rises (momentum="auto" is 0 for them: plain steps show
        a step too long at once). Tweedie's powers 1 to 2 here; others by TweedieRegressorGD
        (Newton's method). All on the loop path.
    positive : bool;  coef_bounds : (lower, upper);  penalty_weights : array (d,)
        Bounds on the coefficients (positive: w >= 0) and a weight per feature for the penalty.
    minimum_norm : bool
        Among optima that fit equally well, return the one of least |w|.
    callback : callable;  check_every : int
        callback(k, intercept, coef, loss) between blocks of steps; True stops the fit.

    Returns
    -------
    FitResult: intercept, coef, loss, n_iter, converged, the bounds on the distance to the
    optimum, predict(X), ...

    Raises and warns: DivergenceError (a step that diverges), FitInterrupted (Ctrl-C: it
    carries the last iterate), ConvergenceWarning (n_iter ran out before tol),
    ConditioningWarning (collinear features); ValueError/TypeError on bad input.
    """
    options = check_options(locals())
    kind = data_kind(X, y, options.sample_weight)
    check_input, locate_non_finite = INPUTS[kind]
    X, y, sample_weight, total_weight = check_input(X, y, options.sample_weight)
    if hasattr(options.loss, "check_y"):  # a loss with a domain (no call on other fits)
        _check_targets_of_loss(options.loss, y, kind)
    several = y.ndim == 2  # k targets y (n, k); a 1-D y keeps the scalar shapes
    n_targets, d = (y.shape[1] if several else 1), X.shape[1]
    B, W, checked_penalty = _start_and_penalty(options, d, n_targets if several else None)
    plan = make_plan(
        X.shape[0], d, options.device, options.threads, method=options.method,
        n_iter=options.n_iter, moments_needed=options.moments_needed, data=kind,
    )  # fmt: skip
    targets = make_targets(plan, X, y, sample_weight, total_weight)
    history = np.empty((n_targets, options.n_iter + 1))
    rules = np.zeros((n_targets, rule_size(d)))
    rules[:, LOSS], rules[:, LOSS_PARAMETER] = options.loss.code, options.loss.parameter
    shift, precondition = coordinates.plain(d, options.fit_intercept)
    settings = Settings(rules, shift, precondition, np.zeros((n_targets, d + 1)))
    # Standardized fits run the kernels that shift the rows: compiled now too (a placeholder).
    compiled = settings._replace(shift=np.ones(d)) if options.standardize else settings
    targets.compile(B, W, compiled, history, statistics=options.moments_needed)
    moments_used = options.quadratic and (options.moments_needed or plan.method == "gram")
    stopping.compile_host_math(moments=moments_used)  # the Huber loss's bounds need none

    start = time.perf_counter()
    needed = options.moments_needed or plan.method == "gram"
    moments = _moments(targets, needed, n_targets, lambda: locate_non_finite(X, y))
    if options.standardize:  # from X's moments, the same in every target's
        shift, precondition = coordinates.standardized(moments[0], options.fit_intercept)
        settings = settings._replace(shift=shift, precondition=precondition)
    write_penalty(rules, checked_penalty)
    if not options.quadratic and _starts_at_the_best_constant(options, moments[0]):
        B[:] = math.log(max(moments[0].y_mean, 1e-300))
    start_B, start_W = B.copy(), W.copy()  # for a restart (`_restarts`)
    _start_loss(targets, B, W, settings, history, lambda: locate_non_finite(X, y))
    spectrum, step, momentum = _step_and_momentum(
        options, moments[0], settings, checked_penalty, float(start_B[0])
    )
    rules[:, LR], rules[:, MOMENTUM] = step, momentum
    known = spectrum if options.quadratic else None  # the Huber loss's mu is not known
    done = _write_stopping(
        options, plan, targets, moments, known, checked_penalty, B, W, settings, history,
        X.shape[0], total_weight,
    )  # fmt: skip
    block = _block_size(
        X.shape, plan.method, options.n_iter,
        options.check_every if options.callback is not None else None,
    )  # fmt: skip
    restarts = 0 if options.quadratic else _restarts(options)
    for restart in range(restarts + 1):
        try:
            status, k, reached = _iterate_in_blocks(
                targets, B, W, settings, options.n_iter, block, history, options.callback,
                several, done,
            )  # fmt: skip
            break
        except DivergenceError:
            if restart == restarts:
                raise
        # The step was too long for where the fit went: again from the start, with a quarter.
        step /= 4.0
        rules[:, LR] = step
        B[:], W[:] = start_B, start_W
        settings.velocity[:] = 0.0
        _start_loss(targets, B, W, settings, history, lambda: locate_non_finite(X, y))
    seconds = time.perf_counter() - start
    bounds, converged = _finish(
        options, status, reached, moments, spectrum, known, checked_penalty, B, W, settings
    )
    common = dict(
        device=plan.device, seconds=seconds, converged=converged, method=plan.method,
        threads=targets.threads if plan.threads is None else plan.threads, lr=step,
        momentum=momentum, standardized=options.standardize,
    )  # fmt: skip
    return _result(several, B, W, history, k, reached, bounds, options.n_iter, common)


def gradient_descent(
    X: ArrayLike,
    y: ArrayLike,
    *,
    lr: float | Literal["auto"] = "auto",
    n_iter: int = 1000,
    tol: float | None = None,
    standardize: bool = False,
    momentum: float | Literal["auto"] = 0.0,
    **options: Any,
) -> FitResult:
    """The lecture's plain gradient descent: n_iter steps of size lr (1/L with "auto") in X's
    own coordinates, from the starting point, with no momentum and no stopping rule.

    `fit` with these five defaults (any of them, and every other option of `fit`, may still be
    given). The answer is where n_iter steps reach, which on most data is far from the optimum
    (`converged` and `distance_bound` say how far); `fit` gets there. `fastgd demo` runs this.
    """
    return fit(X, y, lr=lr, n_iter=n_iter, tol=tol, standardize=standardize, momentum=momentum,
               **options)  # fmt: skip


def _check_targets_of_loss(loss: Any, y: Any, kind: str) -> None:
    """The targets within the loss's domain (the logistic's y in [0, 1], the Poisson's and
    Tweedie's y >= 0, the Gamma's y > 0), named where not; one target only (these losses have
    no form across targets)."""
    if kind == "stream":  # a stream's plan refuses the loss
        return
    if y.ndim == 2:
        what = ("fastgd.LogisticRegressionGD's multinomial model" if loss.name == "logistic"
                else "fastgd.PoissonRegressorGD, GammaRegressorGD")  # fmt: skip
        raise ValueError(
            f"loss={loss.name!r} fits one target at a time; y has {y.shape[1]} columns: fit "
            f"each column (or use {what})"
        )
    if kind == "dask":
        import dask

        low, high = (float(v) for v in dask.compute(y.min(), y.max()))
        within = {"logistic": low >= 0.0 and high <= 1.0, "poisson": low >= 0.0,
                  "tweedie": low >= 0.0}  # fmt: skip
        if within.get(loss.name, low > 0.0):
            return
        y = y.compute()  # only on this error path: the row to name
    elif kind == "device":
        y = y.copy_to_host() if hasattr(y, "copy_to_host") else y.get()
    loss.check_y(np.asarray(y))


def _start_and_penalty(
    options: Options, d: int, n_targets: int | None
) -> tuple[np.ndarray, np.ndarray, Penalty]:
    """The starting point B (k,), W (k, d), within the coefficients' bounds, and the penalty."""
    B, W = check_start(options.b0, options.w0, d, n_targets)
    if not options.fit_intercept and np.any(B != 0.0):
        raise ValueError(
            f"b0={options.b0!r} but fit_intercept=False: the model y ~ X @ w has no intercept; "
            "leave b0 at 0, or subtract the offset from y first"
        )
    penalty = make_penalty(
        options.penalty, options.alpha, options.l1_ratio, d,
        penalty_weights=options.penalty_weights, positive=options.positive,
        coef_bounds=options.coef_bounds,
    )  # fmt: skip
    if penalty.bounded:  # start within the bounds, where every later iterate is
        np.clip(W, penalty.lower, penalty.upper, out=W)
    return B, W, penalty


def _moments(
    targets: Targets, needed: bool, n_targets: int, non_finite: Callable[[], Exception | None]
) -> list[Any]:
    """Each target's moments where the fit needs them (else None each); an overflow raises
    the error `non_finite` finds (a NaN or inf in the data), or says the data is too large."""
    if not needed:
        return [None] * n_targets
    moments = [targets.statistics(t) for t in range(n_targets)]
    for each in moments:
        if not (np.all(np.isfinite(each.mean)) and np.all(np.isfinite(each.comoment))):
            raise non_finite() or DivergenceError(
                "the data's moments overflow: the data is too large in magnitude; scale X and y "
                "(e.g. standardize them)"
            )
    return moments


def _start_loss(
    targets: Targets, B: np.ndarray, W: np.ndarray, settings: Settings, history: np.ndarray,
    non_finite: Callable[[], Exception | None],
) -> None:  # fmt: skip
    """history[:, 0]: each target's objective at the start (B taken to the kernels'
    coordinates); an overflow raises as in `_moments`."""
    shift, precondition = settings.shift, settings.precondition
    for t in range(B.shape[0]):
        B[t] = coordinates.intercept_of_shifted(B[t], W[t], shift)
    history[:, 0] = targets.evaluate(B, W, shift)
    for t in range(B.shape[0]):
        history[t, 0] += penalty_of(settings.rule[t], W[t], precondition)
    if not np.all(np.isfinite(history[:, 0])):
        worst = history[:, 0][~np.isfinite(history[:, 0])][0]
        raise non_finite() or DivergenceError(
            f"the loss at the starting point overflows (it is {worst}): the data or the "
            "starting point is too large in magnitude; scale X and y (e.g. standardize them)"
        )


def _starts_at_the_best_constant(options: Options, moments: Any) -> bool:
    """Whether the fit starts from the best constant model, b = log(y's mean), rather than 0:
    for the log link's losses (Poisson, Gamma), whose curvature at b = 0 may be orders of
    magnitude from the optimum's (counts of 1000: e^0 against about 1000), where fit has the
    data's moments (its defaults do), the start is the default one (b0 = 0, no w0) and y's
    mean is positive (Tweedie's power 0 takes any y)."""
    return (
        options.loss.curvature is None and moments is not None and options.fit_intercept
        and options.w0 is None and float(options.b0) == 0.0 and moments.y_mean > 0.0
    )  # fmt: skip


def _step_and_momentum(
    options: Options, moments: Any, settings: Settings, penalty: Penalty, start_intercept: float
) -> tuple[curvature.Spectrum | None, float, float]:
    """The Hessian's spectrum (None without the moments), the step and the momentum: the
    ones given, or lr="auto"'s 1 / L and momentum="auto"'s from it."""
    spectrum = None  # the Hessian's: X's alone, the same for every target
    if moments is not None:
        ridge = penalty.l2 * penalty.weights if penalty.l2 > 0.0 else 0.0
        spectrum = curvature.spectrum(
            moments, options.fit_intercept, settings.shift, settings.precondition, ridge
        )
        if options.quadratic:  # the squared error's conditioning; the Huber loss's unknown
            _warn_if_ill_conditioned(spectrum, options.standardize)
        elif options.loss.curvature is None:
            # No bound (the Poisson and Gamma losses' l'' grows with e^p or e^-p): the
            # curvature where the fit starts or ends, whichever is larger, and `fit` restarts
            # with a quarter of the step where the loss rises (`_restarts`).
            factor = options.loss.start_curvature(start_intercept, moments.y_mean)
            spectrum = curvature.scaled(spectrum, factor)
        elif options.loss.curvature != 1.0:
            # The squared error's Hessian times the loss's curvature bound (the logistic's
            # l'' <= 1/4 against the squared error's 2): the step is longer, and the momentum
            # takes the same scale.
            spectrum = curvature.scaled(spectrum, options.loss.curvature)
    step = options.lr
    if isinstance(step, str):
        assert spectrum is not None  # "auto" computed the moments
        step = _auto_step(spectrum)
    momentum = options.momentum
    if isinstance(momentum, str):
        assert spectrum is not None
        momentum = curvature.nesterov_momentum(step, spectrum.pace)
        if not options.quadratic and options.loss.curvature is None:
            # Plain steps: with momentum a step too long for where the fit went shows only
            # once the loss rises above the start's (it may wander far below it, never
            # converging), where plain steps' loss rises at once, and `fit` restarts.
            momentum = 0.0
    return spectrum, step, momentum


def _write_stopping(
    options: Options, plan: Plan, targets: Targets, moments: list[Any],
    known: curvature.Spectrum | None, penalty: Penalty, B: np.ndarray, W: np.ndarray,
    settings: Settings, history: np.ndarray, n_rows: int, total_weight: float,
) -> np.ndarray:  # fmt: skip
    """Each target's stopping rule (fastgd/stopping.py: tol's constants, from its gradient at
    the start) and its loss's rounding allowance (the divergence rule). Return which targets
    meet the rule at their start already (a warm start at the optimum): they take no step."""
    done = np.zeros(B.shape[0], dtype=np.bool_)
    n_terms = 1 if plan.method == "gram" else n_rows
    factor = 3.0 if penalty.proximal else 1.0  # the distance bound's multiple of |G| / mu
    d = W.shape[1]
    for t in range(B.shape[0]):
        rule = settings.rule[t]
        start_gradient = math.nan
        if options.tol is not None and not options.quadratic:  # from its own sums
            start_gradient = float(
                stationarity(targets.sums_of(t), total_weight, rule, B[t], W[t],
                             settings.precondition)[0]
            )  # fmt: skip
        elif options.tol is not None:
            start_gradient = stopping.gradient_norm(
                moments[t], B[t], W[t], settings.shift, settings.precondition, rule
            )
        rule[SLOPE], rule[OFFSET] = stopping.rule(
            options.tol, known, start_gradient, d, n_terms, factor
        )
        if rule[OFFSET] >= 0.0 and math.isfinite(start_gradient):  # gradient_status's test
            size = stopping.parameters_norm(B[t], W[t], settings.precondition)
            done[t] = start_gradient <= rule[SLOPE] * size + rule[OFFSET]
        # gram's loss is a difference of moments, rounded to about epsilon times y's variance.
        scale = loss_scale(moments[t]) if plan.method == "gram" else 0.0
        rule[NOISE] = increase_allowance(history[t, 0], scale)
    return done


def _finish(
    options: Options, status: int, reached: np.ndarray, moments: list[Any],
    spectrum: curvature.Spectrum | None, known: curvature.Spectrum | None, penalty: Penalty,
    B: np.ndarray, W: np.ndarray, settings: Settings,
) -> tuple[list[stopping.Bounds], bool]:  # fmt: skip
    """From the last iterates to the estimates, in the user's coordinates (B, W in place):
    FISTA's proximal point, the least-norm optimum where asked, the distance bounds, whether
    the fit converged, and the warning where tol was not met."""
    momentum = float(settings.rule[0, MOMENTUM])
    shift, precondition = settings.shift, settings.precondition
    if penalty.proximal and momentum > 0.0:
        # FISTA's iterate is the look-ahead point theta = x + m v; its proximal point x, whose
        # coefficients the soft-threshold (or the projection) set to exact zeros, is the
        # estimate.
        B -= momentum * settings.velocity[:, 0]
        W -= momentum * settings.velocity[:, 1:]
    n_iter, tol = options.n_iter, options.tol
    unconverged = reached == n_iter if status != CONVERGED else np.zeros(B.shape[0], bool)
    singular = spectrum is not None and spectrum.smallest <= spectrum.largest / KAPPA_LIMIT
    plain_least_squares = not penalty.proximal and penalty.l2 == 0.0 and options.quadratic
    if options.minimum_norm and tol is not None and singular and plain_least_squares:
        # Collinear or fewer rows than features: many optima fit equally well. Where tol asked
        # for the optimum and got there, return scikit-learn's, the one of least |w| (no
        # prediction changes, nor the loss).
        for t in map(int, np.flatnonzero(~unconverged)):
            B[t], W[t] = curvature.minimum_norm(
                moments[t], options.fit_intercept, shift, precondition, B[t], W[t]
            )
    bounds = [
        stopping.bounds(moments[t], known, B[t], W[t], shift, precondition,
                        options.fit_intercept, settings.rule[t])
        for t in range(B.shape[0])
    ]  # fmt: skip
    # Converged: stopped by the rule, or the bounds show every target within the tolerance
    # (tol=None: the default one), whichever rule stopped it (n_iter, a callback, gram's
    # exact steps).
    relative = np.array([
        _relative_distance(bounds[t].distance, B[t], W[t], precondition)
        for t in range(B.shape[0])
    ])  # fmt: skip
    certified = relative <= (DEFAULT_TOL if tol is None else tol)  # nan (not known): False
    converged = status == CONVERGED or bool(np.all(certified))
    unconverged &= ~certified
    if tol is not None and n_iter > 0 and unconverged.any():
        plain = not options.standardize, momentum == 0.0  # what could still help
        worst = float(np.max(relative[unconverged]))
        _warn_tol_unmet(tol, n_iter, worst, options.lr == "auto", plain)
    for t in range(B.shape[0]):
        B[t] = coordinates.user_intercept(B[t], W[t], shift)
    return bounds, converged


def _result(
    several: bool, B: np.ndarray, W: np.ndarray, history: np.ndarray, k: int,
    reached: np.ndarray, bounds: list[stopping.Bounds], n_iter: int, common: dict[str, Any],
) -> FitResult:  # fmt: skip
    """The `FitResult`: scalars for a 1-D y, a leading axis of k targets for a 2-D one."""
    if not several:
        return FitResult(
            intercept=float(B[0]),
            coef=W[0],
            loss=float(history[0, k]),
            loss_history=history[0, : k + 1].copy() if k < n_iter else history[0],
            n_iter=k,
            distance_bound=bounds[0].distance,
            intercept_bound=bounds[0].intercept,
            coef_bound=bounds[0].coef,
            **common,
        )
    for t in range(B.shape[0]):  # a target that stopped early stays there: so does its loss
        history[t, reached[t] + 1 : k + 1] = history[t, reached[t]]
    return FitResult(
        intercept=B,
        coef=W,
        loss=history[:, k].copy(),
        loss_history=history[:, : k + 1].copy() if k < n_iter else history,
        n_iter=reached,
        distance_bound=np.array([each.distance for each in bounds]),
        intercept_bound=np.array([each.intercept for each in bounds]),
        coef_bound=np.array([each.coef for each in bounds]),
        **common,
    )


def _relative_distance(distance: float, b: float, w: np.ndarray, precondition: np.ndarray) -> float:
    size = stopping.parameters_norm(b, w, precondition)
    return distance / size if size > 0.0 else distance


RESTARTS = 30  # a quarter of the step each: 4^-30, about 1e-18 of lr="auto"'s first guess


def _restarts(options: Options) -> int:
    """How often a fit may restart with a quarter of its step where the loss rises: lr="auto"
    for a loss whose curvature has no bound (Poisson, Gamma: `_step_and_momentum` guesses it),
    where a rise means the guess was short, not that the fit diverges; never otherwise (a
    given lr is the caller's, and the other losses' steps are below their bound)."""
    return RESTARTS if options.lr == "auto" and options.loss.curvature is None else 0


def _auto_step(spectrum: curvature.Spectrum) -> float:
    """lr="auto": 1 / L, from the data's moments (fastgd/curvature.py)."""
    if spectrum.largest == 0.0:  # nothing can move (no intercept, X all zeros): any step does
        return 1.0
    step = 1.0 / spectrum.largest
    if not step > 0.0:
        raise DivergenceError(
            "the loss's curvature overflows: the data is too large in magnitude for "
            "lr='auto'; scale X and y (e.g. standardize them)"
        )
    return step


_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _warn_caller(warning: Warning) -> None:
    """Warn at the first frame outside fastgd: the user's call of fit, gradient_descent or an
    estimator's fit, however many of fastgd's functions lie between."""
    frame: Any = sys._getframe(1)
    level = 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(warning, stacklevel=level)


def _warn_if_ill_conditioned(spectrum: curvature.Spectrum, standardize: bool) -> None:
    """A ConditioningWarning where kappa * epsilon is near 1 or above (fastgd/curvature.py)."""
    kappa = spectrum.condition
    if not kappa > curvature.KAPPA_LIMIT:
        return
    digits = max(0.0, -math.log10(kappa * np.finfo(np.float64).eps)) if kappa < math.inf else 0
    remedy = "" if standardize else "use standardize=True, or "
    _warn_caller(
        ConditioningWarning(
            f"the features are collinear or nearly so: the loss's Hessian has condition number "
            f"{kappa:.2g}{' (after standardizing)' if standardize else ''}, so float64 gradient "
            f"descent determines the coefficients to about {digits:.0f} digits at best, and not "
            "at all along its flattest directions (the returned parameters are one of many "
            f"that fit about as well); {remedy}drop or combine collinear features, use "
            "orthogonal features (e.g. orthogonal polynomials), or a direct solver "
            "(numpy.linalg.lstsq)",
            condition=kappa,
        ),
    )


def _block_size(shape: tuple[int, int], method: str, n_iter: int, check_every: int | None) -> int:
    """Iterations per block: a callback's check_every, or about CHECK_BLOCK_VALUES values of
    work (one iteration reads n * d values in the loop, a (d + 1)-square matrix in gram): a few
    milliseconds, so returning to Python between blocks -- for the callback and for Ctrl-C --
    costs well under 1%, and Ctrl-C is answered within one block."""
    if check_every is not None:
        return check_every
    n, d = shape
    work = (d + 1) ** 2 if method == "gram" else n * d
    return min(-(-_config.CHECK_BLOCK_VALUES // work), max(n_iter, 1))


def _iterate_in_blocks(
    targets: Targets,
    B: np.ndarray,
    W: np.ndarray,
    settings: Settings,
    n_iter: int,
    block: int,
    history: np.ndarray,
    callback: Callable[..., bool | None] | None,
    several: bool,
    done: np.ndarray,
) -> tuple[int, int, np.ndarray]:
    """The fit's iterations, one block at a time: (status, k reached, each target's last
    iterate); B and W are updated in place (B: the kernels' intercepts, `coordinates`;
    callbacks and FitInterrupted get the user's, as scalars for a 1-D y). Between blocks:
    divergence is raised, convergence of every target and the callback stop, Ctrl-C raises
    FitInterrupted at the block's last iterate. Targets `done` at their start take no step."""
    k, status = 0, RAN
    active = ~done
    reached = np.zeros(B.shape[0], dtype=np.int64)
    if not active.any():
        return CONVERGED, 0, reached
    with Interruptible(several_blocks=n_iter > block) as interrupted:
        while k < n_iter:
            stop = min(n_iter, k + block)
            status, target, k = targets.iterate(B, W, k, stop, settings, history, active, reached)
            if status in (LOSS_NOT_FINITE, PARAMS_NOT_FINITE, LOSS_INCREASED):
                raise DivergenceError(
                    _divergence_message(status, k, target, settings, history, targets, several)
                )
            if status == CONVERGED:
                break
            reached[active] = k
            if callback is None and not interrupted():
                continue
            intercepts = np.array(
                [coordinates.user_intercept(B[t], W[t], settings.shift) for t in range(B.shape[0])]
            )
            losses = history[np.arange(B.shape[0]), reached]
            now = (
                (intercepts, W.copy(), losses)
                if several
                else (intercepts[0], W[0].copy(), float(losses[0]))
            )
            if callback is not None and callback(k, *now):
                break
            if interrupted():
                raise FitInterrupted(k, *now)
    reached[active] = k
    return status, k, reached


def _warn_tol_unmet(
    tol: float, n_iter: int, relative: float, auto: bool, plain: tuple[bool, bool]
) -> None:
    """The ConvergenceWarning: `relative` is the distance bound over the parameters' size;
    `plain`: whether standardize and momentum were off (they could still help)."""
    unused = [name for name, off in zip(("standardize=True", "momentum='auto'"), plain) if off]
    if not auto:
        unused.append("lr='auto'")
    remedy = "raise n_iter" + (", or use " + " and ".join(unused) if unused else "")
    reached = (
        f"the parameters may still be up to {relative:.2g} (relative) from the optimum"
        if math.isfinite(relative)
        else "how far the parameters are from the optimum is not known"
    )
    _warn_caller(
        ConvergenceWarning(
            f"tol={tol:g} was not reached in n_iter={n_iter} iterations: {reached}; {remedy}",
            tol=tol,
            n_iter=n_iter,
            distance=float(relative),
            lr_auto=auto,
        ),
    )


def max_stable_lr(
    X: ArrayLike,
    y: ArrayLike,
    sample_weight: ArrayLike | None = None,
    *,
    threads: int | None = None,
    fit_intercept: bool = True,
) -> float:
    """The largest stable learning rate for this data, 2 / L.

    L is the largest eigenvalue of the (weighted) mean squared error's Hessian in (b, w), from
    one pass over the data (`moments.centered_moments`). Gradient descent converges for any
    lr < max_stable_lr(X, y) and diverges for lr above it (from almost every starting point).
    lr="auto" uses half of it, 1 / L.
    """
    fit_intercept = check_flag(fit_intercept, "fit_intercept")
    return stable_limit(data_moments(X, y, sample_weight, threads), fit_intercept)


def data_moments(X: Any, y: Any, sample_weight: Any = None, threads: int | None = None) -> Any:
    """The checked data's centred `moments.Moments`, from one pass over it, whatever its kind
    (NumPy, sparse, Dask, streamed rows, GPU): what max_stable_lr and fastgd.path start from.
    A NaN or inf in the data is named (ValueError); moments that overflow say so."""
    kind = data_kind(X, y, sample_weight)
    check_input, locate_non_finite = INPUTS[kind]
    X, y, sample_weight, total_weight = check_input(X, y, sample_weight)
    threads = check_threads(threads)
    # The moments alone: on the CPU and the GPU the loop's Run computes them where the data is
    # (nothing else); on Dask and streamed rows the gram Run does, without persisting the data.
    method = "gram" if kind in ("dask", "stream") else "loop"
    device = "cuda" if kind == "device" else "cpu" if kind == "host" else "auto"
    plan = make_plan(X.shape[0], X.shape[1], device, threads, method=method, data=kind)
    moments = plan.run(X, y, sample_weight, total_weight, plan.threads).statistics()
    if not np.all(np.isfinite(moments.comoment)) or not np.all(np.isfinite(moments.mean)):
        raise locate_non_finite(X, y) or DivergenceError(
            "the data's moments overflow: scale X and y (e.g. standardize them)"
        )
    return moments


def fold_moments(X: Any, y: Any, sample_weight: Any, labels: np.ndarray,
                 threads: int | None = None) -> list:  # fmt: skip
    """Each fold's centred `moments.Moments` (a list, fold by fold), row i being in fold
    labels[i] (0..K-1, every fold non-empty), from one pass over the data (fastgd/folds.py).

    Folds of consecutive rows are slices of X, each fold's moments `data_moments` of its slice;
    other folds are sorted out row by row in one pass, in memory or on a Dask cluster's
    workers. A sparse or GPU X with such folds has each fold's rows indexed out of it (one
    fold's copy at a time). Streamed rows cannot be split into folds."""
    kind = data_kind(X, y, sample_weight)
    if kind == "stream":
        raise ValueError(
            "cross-validation needs X in memory, memory-mapped or on a Dask cluster: streamed "
            "rows are read once in order, which cannot be split into folds"
        )
    check_input, locate_non_finite = INPUTS[kind]
    if kind == "host":  # as arrays, to slice (other kinds are checked by data_moments)
        X, y, sample_weight, _ = check_input(X, y, sample_weight)
    n_folds = int(labels.max()) + 1
    ranges = fold_ranges(labels)
    labelled = labelled_fold_moments(kind)
    if ranges is None and labelled is not None:
        if kind != "host":
            X, y, sample_weight, _ = check_input(X, y, sample_weight)
        if kind == "host" and threads is None:
            threads = make_plan(X.shape[0], X.shape[1], "cpu", None, method="gram").threads
        folds = labelled(X, y, sample_weight, labels, n_folds, check_threads(threads))
        if not all(np.all(np.isfinite(f.comoment)) and np.all(np.isfinite(f.mean)) for f in folds):
            raise locate_non_finite(X, y) or DivergenceError(
                "the data's moments overflow: scale X and y (e.g. standardize them)"
            )
        return folds
    rows: list[Any]
    if ranges is None:
        rows = [np.flatnonzero(labels == f) for f in range(n_folds)]
    else:
        rows = [slice(start, stop) for start, stop in ranges]
    return [
        data_moments(X[r], y[r], None if sample_weight is None else sample_weight[r], threads)
        for r in rows
    ]


def _short_e(value: float) -> str:
    """4.0e-4 rather than Python's 4.0e-04."""
    return re.sub(r"e([+-])0*(\d)", r"e\1\2", f"{value:.1e}").replace("e+", "e")


def _limit_note(lr: float, targets: Targets, precondition: np.ndarray, shift: np.ndarray) -> str:
    """ ": lr=0.001 exceeds the stable limit 4.0e-4 for this data" when it does, else " for
    this data"; computed on this error path only (for the loop it costs one pass)."""
    fit_intercept = bool(precondition[0] > 0.0)
    try:
        moments = targets.statistics(0)  # the curvature is X's: any target's moments will do
        L = curvature.largest_curvature(moments, fit_intercept, shift, precondition)
    except (ArithmeticError, ValueError, np.linalg.LinAlgError):
        return " for this data"
    limit = 2.0 / L if L > 0.0 else math.inf
    if not (np.isfinite(limit) and lr > limit):
        return " for this data"
    return f": lr={lr:g} exceeds the stable limit {_short_e(limit)} for this data"


def _divergence_message(
    status: int, k: int, target: int, settings: Settings, history: np.ndarray,
    targets: Targets, several: bool,
) -> str:  # fmt: skip
    lr, momentum = float(settings.rule[target, LR]), float(settings.rule[target, MOMENTUM])
    losses = history[target]
    if status == LOSS_INCREASED and momentum == 0.0:
        what = (
            f"the loss rose from {losses[k - 1]:.6g} to {losses[k]:.6g}, which a step "
            "below the stable limit never does"
        )
    elif status == LOSS_INCREASED:
        what = (
            f"the loss rose to {losses[k]:.6g}, above its starting value {losses[0]:.6g}, "
            f"which with momentum={momentum:g} a step up to 1/L (lr='auto') never does"
        )
    else:
        what = f"the {'loss' if status == LOSS_NOT_FINITE else 'parameters'} stopped being finite"
    if several:
        what = f"on target {target} (y[:, {target}]), {what}"
    note = _limit_note(lr, targets, settings.precondition, settings.shift)
    return (
        f"gradient descent diverged at iteration {k} (lr={lr:g}): {what}; the learning rate is "
        f"too large{note}; use lr='auto' or a smaller lr, or scale X and y"
    )


class Interruptible:
    """Turn Ctrl-C (SIGINT) during the body into a flag that the caller reads between blocks of
    iterations (`interrupted()`), so that the fit stops at a clean iterate rather than wherever
    Python happens to raise KeyboardInterrupt.

    Only where it can matter and is safe: a fit of several blocks, in the main thread, while
    Python's own SIGINT handler is installed (another program's handler is left alone). A class
    rather than a generator: a small fit pays for this on every call.
    """

    def __init__(self, several_blocks: bool) -> None:
        self.several_blocks = several_blocks
        self.received = False
        self.previous: object = None

    def __enter__(self) -> Callable[[], bool]:
        if (
            self.several_blocks
            and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self.previous = signal.signal(signal.SIGINT, self._note)
        return self._interrupted

    def _note(self, signum: int, frame: object) -> None:
        self.received = True

    def _interrupted(self) -> bool:
        return self.received

    def __exit__(self, *exception: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)  # type: ignore[arg-type]
