"""`fastgd.fit`: validation -> plan -> one backend -> result.

The iteration loop itself runs inside the backend's compiled code; this module only hands it
blocks of iterations (one block, unless a callback wants to hear about progress) and turns
its status into a result or a clear error.
"""

import time

import numpy as np

from . import _config, cpu, distributed
from ._status import CONVERGED, LOSS_NOT_FINITE, PARAMS_NOT_FINITE, RAN
from ._validation import (
    check_count,
    check_data,
    check_device,
    check_real,
    check_start,
    check_threads,
    locate_non_finite,
)
from .errors import DivergenceError
from .plan import make_plan
from .result import FitResult


def fit(
    X,
    y,
    *,
    lr,
    n_iter,
    b0=0.0,
    w0=None,
    device="auto",
    threads=None,
    sample_weight=None,
    tol=None,
    callback=None,
    check_every=None,
):
    """Fit y ~ X @ w + b by batch gradient descent on the (weighted) mean squared error.

    Parameters
    ----------
    X : array of shape (n,) or (n, d)
        The features. C-contiguous float64 or float32 arrays are used without a copy; other real
        dtypes are converted once. The caller's arrays are never modified.
    y : array of shape (n,) or (n, 1)
        The targets; converted to X's float dtype.
    lr : float > 0
        The learning rate of the lecture's update b <- b - lr * dloss/db, w <- w - lr * dloss/dw.
    n_iter : int >= 0
        The number of gradient steps.
    b0, w0 : float and array of shape (d,), optional
        The starting point (zeros by default).
    device : "auto", "cpu" or "cuda"
    threads : int, optional
        CPU threads for this call (numba's thread count is restored afterwards). By default
        numba's current count, or one thread for small data.
    sample_weight : array of shape (n,), optional
        Non-negative weights: the loss becomes sum(s * r**2) / sum(s).
    tol : float >= 0, optional
        Stop at the first iterate k >= 1 with loss[k - 1] - loss[k] <= tol * loss[k - 1].
    callback : callable, optional
        Called as callback(k, intercept, coef, loss) every `check_every` iterations with the
        current iterate; returning True stops the fit there.
    check_every : int >= 1, optional
        Iterations between callbacks (default 100).

    Returns
    -------
    FitResult

    Raises
    ------
    DivergenceError
        If the loss or the parameters stop being finite (the learning rate is too large).
    """
    device = check_device(device)
    on_dask = distributed.is_dask_array(X) or distributed.is_dask_array(y)
    if on_dask:
        X, y, sample_weight, total_weight = distributed.check_data(X, y, sample_weight)
    else:
        X, y, sample_weight, total_weight = check_data(X, y, sample_weight)
    lr = check_real(lr, "lr", positive=True)
    n_iter = check_count(n_iter, "n_iter", minimum=0)
    tol = 0.0 if tol is None else check_real(tol, "tol")
    if tol < 0.0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    threads = check_threads(threads)
    b, w = check_start(b0, w0, X.shape[1])
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {callback!r}")
    if check_every is None:
        check_every = _config.DEFAULT_CHECK_EVERY if callback is not None else max(n_iter, 1)
    else:
        check_every = check_count(check_every, "check_every", minimum=1)

    if on_dask:
        run = distributed.Run(X, y, sample_weight, total_weight, device, threads)
        plan = run.plan
    else:
        plan = make_plan(X.shape[0], X.shape[1], device, threads)
        run = cpu.Run(X, y, sample_weight, total_weight, plan.threads)

    history = np.empty(n_iter + 1)
    run.compile(b, w, lr, tol, history)
    start = time.perf_counter()
    history[0] = run.evaluate(b, w)
    if not np.isfinite(history[0]):
        locate = distributed.locate_non_finite if on_dask else locate_non_finite
        raise locate(X, y) or DivergenceError(
            f"the loss at the starting point overflows (it is {history[0]}): the data or the "
            "starting point is too large in magnitude; scale X and y (e.g. standardize them)"
        )
    k, status = 0, RAN
    while k < n_iter:
        status, k, b = run.iterate(b, w, lr, k, min(n_iter, k + check_every), tol, history)
        if status in (LOSS_NOT_FINITE, PARAMS_NOT_FINITE):
            raise DivergenceError(
                f"gradient descent diverged at iteration {k} (lr={lr:g}): the "
                f"{'loss' if status == LOSS_NOT_FINITE else 'parameters'} stopped being "
                "finite; the learning rate is too large for this data: use a smaller lr or "
                "scale X and y"
            )
        if status == CONVERGED:
            break
        if callback is not None and callback(k, b, w.copy(), history[k]):
            break
    seconds = time.perf_counter() - start

    return FitResult(
        intercept=float(b),
        coef=w,
        loss=float(history[k]),
        loss_history=history[: k + 1].copy() if k < n_iter else history,
        n_iter=k,
        device=plan.device,
        seconds=seconds,
        threads=plan.threads,
        converged=status == CONVERGED,
    )
