"""`fastgd.fit`: validation -> plan -> one backend -> result.

The iteration loop itself runs inside the backend's compiled code; this module only hands it
blocks of iterations (a few milliseconds each, so that callbacks and Ctrl-C are heard between
them) and turns its status into a result or a clear error.
"""

from __future__ import annotations

import math
import re
import signal
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from . import _config, cuda
from ._status import CONVERGED, LOSS_INCREASED, LOSS_NOT_FINITE, PARAMS_NOT_FINITE, RAN
from ._validation import (
    check_count,
    check_dask_data,
    check_data,
    check_device,
    check_flag,
    check_lr,
    check_method,
    check_real,
    check_start,
    check_threads,
    data_kind,
    locate_non_finite,
    locate_non_finite_dask,
)
from .backend import Run
from .curvature import auto_lr, loss_scale, stable_limit
from .errors import ConvergenceWarning, DivergenceError, FitInterrupted
from .gradient import increase_allowance
from .plan import make_plan
from .result import FitResult


def fit(
    X: ArrayLike,
    y: ArrayLike,
    *,
    lr: float | Literal["auto"] = "auto",
    n_iter: int = 1000,
    b0: float = 0.0,
    w0: ArrayLike | None = None,
    device: Literal["auto", "cpu", "cuda"] = "auto",
    threads: int | None = None,
    sample_weight: ArrayLike | None = None,
    tol: float | None = None,
    callback: Callable[[int, float, np.ndarray, float], bool | None] | None = None,
    check_every: int | None = None,
    method: Literal["auto", "loop", "gram"] = "auto",
    fit_intercept: bool = True,
) -> FitResult:
    """Fit y ~ X @ w + b by batch gradient descent on the (weighted) mean squared error.

    Parameters
    ----------
    X : array of shape (n,) or (n, d)
        The features. C-contiguous float64 or float32 arrays are used without a copy; other real
        dtypes are converted once. The caller's arrays are never modified.
    y : array of shape (n,) or (n, 1)
        The targets; converted to X's float dtype.
    lr : float > 0 or "auto"
        The learning rate of the lecture's update b <- b - lr * dloss/db, w <- w - lr * dloss/dw.
        "auto" (the default) uses 1/L, L the largest eigenvalue of the loss's Hessian, computed
        from the data's moments: the loss then decreases at every iteration. Any lr above 2/L
        (`fastgd.max_stable_lr`) diverges.
    n_iter : int >= 0
        The (maximum) number of gradient steps, 1000 by default.
    b0, w0 : float and array of shape (d,), optional
        The starting point (zeros by default).
    device : "auto", "cpu" or "cuda"
        "auto" runs on a GPU when the data already is on one, or when a GPU is usable and the
        data is large (see `plan.make_plan`); else on the CPU. X, y and sample_weight may be GPU
        arrays (numba device arrays, CuPy arrays, PyTorch CUDA tensors): they are used in place.
    threads : int, optional
        CPU threads for this call (numba's thread count is restored afterwards). By default
        numba's current count, or one thread for small data.
    sample_weight : array of shape (n,), optional
        Non-negative weights: the loss becomes sum(s * r**2) / sum(s).
    tol : float >= 0, optional
        Stop at the first iterate k >= 1 whose relative decrease of the loss is at most tol:
        loss[k - 1] - loss[k] <= tol * loss[k - 1] (`converged` is then True). If n_iter runs
        out first, a `ConvergenceWarning` says so. None (the default): run all n_iter steps.
    callback : callable, optional
        Called as callback(k, intercept, coef, loss) every `check_every` iterations with the
        current iterate; returning True stops the fit there.
    check_every : int >= 1, optional
        Iterations between callbacks (default: enough for about 10**7 values, n * d per
        iteration in the loop, (d + 1)**2 in gram, so that calling back costs well under 1%).
    method : "auto", "loop" or "gram"
        "loop" runs the lecture's iteration as written: one pass over the data per step. "gram"
        computes the data's centred moments in one pass and then runs exactly the same steps
        from them, at O(d**2) per step (see fastgd/gram.py). "auto" (the default) picks the
        cheaper one; `FitResult.method` says which ran.
    fit_intercept : bool
        True (the default): the lecture's model y ~ X @ w + b. False: y ~ X @ w, with b fixed at
        0 (scikit-learn's name); every backend and method, and lr="auto" uses the curvature in
        w alone.

    Returns
    -------
    FitResult

    Raises
    ------
    DivergenceError
        If the loss rises (beyond its rounding) or the loss or the parameters stop being
        finite: the learning rate is above the stable limit.
    FitInterrupted
        On Ctrl-C (SIGINT) during the iterations; it carries the last complete iterate.
    """
    device = check_device(device)
    method = check_method(method)
    kind = data_kind(X, y, sample_weight)
    check_input, locate_non_finite = _BY_KIND[kind]
    X, y, sample_weight, total_weight = check_input(X, y, sample_weight)
    checked_lr = check_lr(lr)
    n_iter = check_count(n_iter, "n_iter", minimum=0)
    tol_given = tol is not None
    tol = -1.0 if tol is None else check_real(tol, "tol")  # kernels read tol < 0 as "none"
    if tol_given and tol < 0.0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    threads = check_threads(threads)
    fit_intercept = check_flag(fit_intercept, "fit_intercept")
    b, w = check_start(b0, w0, X.shape[1])
    if not fit_intercept and b != 0.0:
        raise ValueError(
            f"b0={b0!r} but fit_intercept=False: the model y ~ X @ w has no intercept; leave b0 "
            "at 0, or subtract the offset from y first"
        )
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {callback!r}")
    if check_every is not None:
        check_every = check_count(check_every, "check_every", minimum=1)

    auto = checked_lr == "auto"
    step = 1.0 if checked_lr == "auto" else checked_lr  # for "auto": set from the moments below
    plan = make_plan(
        X.shape[0], X.shape[1], device, threads, method=method, n_iter=n_iter,
        moments_needed=auto, data=kind,
    )  # fmt: skip
    run: Run = plan.run(X, y, sample_weight, total_weight, plan.threads)
    history = np.empty(n_iter + 1)
    run.compile(b, w, step, tol, history, statistics=auto)

    start = time.perf_counter()
    history[0] = run.evaluate(b, w)
    if not math.isfinite(history[0]):
        raise locate_non_finite(X, y) or DivergenceError(
            f"the loss at the starting point overflows (it is {history[0]}): the data or the "
            "starting point is too large in magnitude; scale X and y (e.g. standardize them)"
        )
    if auto:
        step = _auto_step(run, fit_intercept)
    # gram's loss is a difference of moments, rounded to about epsilon times y's variance.
    scale = loss_scale(run.statistics()) if plan.method == "gram" else 0.0
    noise = increase_allowance(history[0], scale)
    block = _block_size(X.shape, plan.method, n_iter, check_every if callback is not None else None)
    status, k, b = _iterate_in_blocks(
        run, b, w, step, n_iter, block, tol, noise, fit_intercept, history, callback
    )
    seconds = time.perf_counter() - start
    if tol_given and status != CONVERGED and k == n_iter and n_iter > 0:
        _warn_tol_unmet(tol, n_iter, history, auto)

    return FitResult(
        intercept=float(b),
        coef=w,
        loss=float(history[k]),
        loss_history=history[: k + 1].copy() if k < n_iter else history,
        n_iter=k,
        device=plan.device,
        seconds=seconds,
        threads=run.threads if plan.threads is None else plan.threads,
        converged=status == CONVERGED,
        method=plan.method,
        lr=step,
    )


def _auto_step(run: Run, fit_intercept: bool) -> float:
    """lr="auto": 1 / L, from the data's moments (fastgd/curvature.py)."""
    step = auto_lr(run.statistics(), fit_intercept)
    if not step > 0.0:
        raise DivergenceError(
            "the loss's curvature overflows: the data is too large in magnitude for "
            "lr='auto'; scale X and y (e.g. standardize them)"
        )
    return step


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
    run: Run,
    b: float,
    w: np.ndarray,
    step: float,
    n_iter: int,
    block: int,
    tol: float,
    noise: float,
    fit_intercept: bool,
    history: np.ndarray,
    callback: Callable[[int, float, np.ndarray, float], bool | None] | None,
) -> tuple[int, int, float]:
    """The fit's iterations, one block at a time: (status, k reached, b); w is updated in place.
    Between blocks: divergence is raised, convergence and the callback stop, Ctrl-C raises
    FitInterrupted at the block's last iterate."""
    k, status = 0, RAN
    with Interruptible(several_blocks=n_iter > block) as interrupted:
        while k < n_iter:
            stop = min(n_iter, k + block)
            status, k, b = run.iterate(b, w, step, k, stop, tol, noise, fit_intercept, history)
            if status in (LOSS_NOT_FINITE, PARAMS_NOT_FINITE, LOSS_INCREASED):
                message = _divergence_message(status, k, step, history, run, fit_intercept)
                raise DivergenceError(message)
            if status == CONVERGED:
                break
            if callback is not None and callback(k, b, w.copy(), history[k]):
                break
            if interrupted():
                raise FitInterrupted(k, float(b), w.copy(), float(history[k]))
    return status, k, b


def _warn_tol_unmet(tol: float, n_iter: int, history: np.ndarray, auto: bool) -> None:
    decrease = (history[-2] - history[-1]) / history[-2] if history[-2] else 0.0
    remedy = "raise n_iter, or scale the features (standardize them)"
    if not auto:
        remedy += ", or use lr='auto'"
    warnings.warn(
        ConvergenceWarning(
            f"tol={tol:g} was not reached in n_iter={n_iter} iterations (the last relative "
            f"decrease of the loss was {decrease:.3g}); {remedy}",
            tol=tol,
            n_iter=n_iter,
            last_decrease=float(decrease),
            lr_auto=auto,
        ),
        stacklevel=3,
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
    kind = data_kind(X, y, sample_weight)
    check_input, locate_non_finite = _BY_KIND[kind]
    X, y, sample_weight, total_weight = check_input(X, y, sample_weight)
    threads = check_threads(threads)
    fit_intercept = check_flag(fit_intercept, "fit_intercept")
    # The moments alone: on the CPU and the GPU the loop's Run computes them where the data is
    # (nothing else); on Dask the gram Run does, without persisting the data.
    method = "gram" if kind == "dask" else "loop"
    device = "cuda" if kind == "device" else "cpu" if kind == "host" else "auto"
    plan = make_plan(X.shape[0], X.shape[1], device, threads, method=method, data=kind)
    moments = plan.run(X, y, sample_weight, total_weight, plan.threads).statistics()
    if not np.all(np.isfinite(moments.comoment)) or not np.all(np.isfinite(moments.mean)):
        raise locate_non_finite(X, y) or DivergenceError(
            "the data's moments overflow: scale X and y (e.g. standardize them)"
        )
    return stable_limit(moments, fit_intercept)


# Each kind of input (see `_validation.data_kind`): its checks, and the search for a NaN or inf
# once a loss or the moments overflowed.
_BY_KIND: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "host": (check_data, locate_non_finite),
    "device": (cuda.check_device_data, cuda.locate_non_finite),
    "dask": (check_dask_data, locate_non_finite_dask),
}


def _short_e(value: float) -> str:
    """4.0e-4 rather than Python's 4.0e-04."""
    return re.sub(r"e([+-])0*(\d)", r"e\1\2", f"{value:.1e}").replace("e+", "e")


def _limit_note(lr: float, run: Run, fit_intercept: bool) -> str:
    """ ": lr=0.001 exceeds the stable limit 4.0e-4 for this data" when it does, else " for
    this data"; computed on this error path only (for the loop it costs one pass)."""
    try:
        limit = stable_limit(run.statistics(), fit_intercept)
    except (ArithmeticError, ValueError, np.linalg.LinAlgError):
        return " for this data"
    if not (np.isfinite(limit) and lr > limit):
        return " for this data"
    return f": lr={lr:g} exceeds the stable limit {_short_e(limit)} for this data"


def _divergence_message(
    status: int, k: int, lr: float, history: np.ndarray, run: Run, fit_intercept: bool
) -> str:
    if status == LOSS_INCREASED:
        what = (
            f"the loss rose from {history[k - 1]:.6g} to {history[k]:.6g}, which a step "
            "below the stable limit never does"
        )
    else:
        what = f"the {'loss' if status == LOSS_NOT_FINITE else 'parameters'} stopped being finite"
    note = _limit_note(lr, run, fit_intercept)
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
