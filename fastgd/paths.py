"""Regularization paths from the moments: `fastgd.path`.

The elastic net's objective in scikit-learn's scale (`enet_path`, `Lasso`, `ElasticNet`)
depends on the data only through their moments (fastgd/coordinate_descent.py), so one pass over
X gives every alpha's fit: the path then runs on d x d numbers and never reads X again, and so
can the cross-validated twins (fastgd/cross_validation.py), which need each fold's moments and
nothing more. Every alpha starts from the last alpha's coefficients (a warm start), from
alpha_max, where w = 0, down.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

from . import working_set
from ._validation import check_count, check_flag, check_real, data_kind
from .coordinate_descent import PathFits, alpha_grid, quadratic, solve_path
from .errors import ConvergenceWarning, DivergenceError
from .fit import data_moments
from .plan import INPUTS


class Path(NamedTuple):
    """What `fastgd.path` returns: one row per alpha, in decreasing order of alpha."""

    alphas: np.ndarray  # (n_alphas,)
    coef: np.ndarray  # (n_alphas, d)
    intercept: np.ndarray  # (n_alphas,)
    dual_gap: np.ndarray  # (n_alphas,) the duality gap (scikit-learn's dual_gap_)
    n_iter: np.ndarray  # (n_alphas,) coordinate-descent sweeps
    converged: np.ndarray  # (n_alphas,) the gap is within tol (scikit-learn's rule)


_PENALTIES = {"l1": 1.0, "l2": 0.0}


def check_alphas(alphas: Any) -> int | np.ndarray:
    """An int (how many alphas on the automatic grid) or the alphas given, as float64 in
    decreasing order (scikit-learn sorts them so too)."""
    if isinstance(alphas, (int, np.integer)) and not isinstance(alphas, (bool, np.bool_)):
        return check_count(alphas, "alphas", minimum=1)
    values = np.asarray(alphas, dtype=np.float64) if np.ndim(alphas) == 1 else None
    if values is None or values.size == 0:
        raise ValueError(
            f"alphas must be a number of alphas (an int) or a 1-D list of them, got {alphas!r}"
        )
    if not np.all(np.isfinite(values)) or np.any(values < 0.0):
        raise ValueError(f"alphas must be finite and >= 0, got {values}")
    return np.sort(values)[::-1].copy()


def check_path_options(penalty: str, l1_ratio: float, eps: float, tol: float,
                       max_iter: int) -> float:  # fmt: skip
    """Check the options of a path; return the l1_ratio the penalty means."""
    if penalty not in ("l1", "l2", "elasticnet"):
        raise ValueError(f"penalty must be 'l1', 'l2' or 'elasticnet', got {penalty!r}")
    check_real(eps, "eps", positive=True)
    if check_real(tol, "tol") < 0.0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    check_count(max_iter, "max_iter", minimum=1)
    if penalty in _PENALTIES:
        return _PENALTIES[penalty]
    l1_ratio = check_real(l1_ratio, "l1_ratio")
    if not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"l1_ratio must be in [0, 1], got {l1_ratio}")
    return l1_ratio


def path(
    X: Any,
    y: Any,
    *,
    penalty: str = "l1",
    alphas: Any = 100,
    l1_ratio: float = 0.5,
    eps: float = 1e-3,
    fit_intercept: bool = True,
    positive: bool = False,
    sample_weight: Any = None,
    tol: float = 1e-4,
    max_iter: int = 1000,
    coef_init: Any = None,
    threads: int | None = None,
) -> Path:
    """The elastic net's regularization path: every alpha's fit, from one pass over X.

    Minimizes, for each alpha, scikit-learn's objective (that of `enet_path`, `Lasso` and
    `ElasticNet`, `LassoGD` and `ElasticNetGD`)

        ||y - X w - b||² / (2 S) + alpha l1_ratio ||w||₁ + alpha (1 - l1_ratio) ||w||² / 2

    with squares weighted by `sample_weight` (S their sum) and the penalty on w in X's own
    units. penalty="l1" is l1_ratio=1 (the lasso), "l2" l1_ratio=0 (ridge in this scale: alpha
    here is scikit-learn's `Ridge` alpha / S), "elasticnet" takes `l1_ratio`.

    alphas: an int, how many alphas from alpha_max (the smallest with w = 0) down to
    eps * alpha_max, evenly in the log; or the alphas themselves (sorted, largest first).
    Each fit starts from the last one's coefficients (`coef_init`, default zeros, for the first)
    and stops as scikit-learn's coordinate descent does, at a duality gap below tol times the
    centred y's mean square, after at most `max_iter` sweeps (a ConvergenceWarning names the
    alphas that did not get there).

    X is anything `fastgd.fit` takes -- a NumPy array, a scipy.sparse matrix, a Dask array,
    streamed rows, a GPU array -- read once, for its moments (`fastgd/moments.py`); y is 1-D
    (one target: call path once per column for several). The alphas' fits then run on those
    d x d numbers alone.

    Returns a `Path`: alphas, coef (n_alphas, d), intercept, dual_gap, n_iter, converged,
    one row per alpha (scikit-learn's enet_path returns coefs as (d, n_alphas)).
    """
    l1_ratio = check_path_options(penalty, l1_ratio, eps, tol, max_iter)
    alphas = check_alphas(alphas)
    fit_intercept = check_flag(fit_intercept, "fit_intercept")
    positive = check_flag(positive, "positive")
    if np.ndim(y) != 1:
        raise ValueError(
            f"y must be 1-D (one target), got shape {np.shape(y)}: call path once per column"
        )
    kind = data_kind(X, y, sample_weight)
    if kind in ("host", "sparse") and l1_ratio > 0.0 and working_set.wide(np.shape(X)):
        data = _working_set_data(kind, X, y, sample_weight, fit_intercept)
        coef_init = _check_start(coef_init, data.X.shape[1])
        if isinstance(alphas, int):
            alphas = working_set.alpha_grid(data, l1_ratio, positive, alphas, eps)
        fits = working_set.solve_path(data, alphas, l1_ratio, positive, tol, max_iter, coef_init)
    else:
        problem = quadratic(data_moments(X, y, sample_weight, threads), fit_intercept)
        coef_init = _check_start(coef_init, problem.correlation.shape[0])
        if isinstance(alphas, int):
            alphas = alpha_grid(problem, l1_ratio, positive, alphas, eps)
        fits = solve_path(problem, alphas, l1_ratio, positive, tol, max_iter, coef_init)
    warn_unconverged(alphas, fits, tol, max_iter)
    return Path(alphas, *fits)


def _working_set_data(kind: str, X: Any, y: Any, sample_weight: Any,
                      fit_intercept: bool) -> working_set.Data:  # fmt: skip
    """`working_set.Data` of checked data (`plan.INPUTS`), its NaN or inf named."""
    check_input, locate_non_finite = INPUTS[kind]
    X_checked, y, sample_weight, _ = check_input(X, y, sample_weight)
    if kind == "sparse":  # SparseRows: the CSR arrays, checked; scipy's matrix around them
        import scipy.sparse

        X_checked = scipy.sparse.csr_matrix(
            (X_checked.data, X_checked.indices, X_checked.indptr), shape=X_checked.shape
        )
    with np.errstate(invalid="ignore", over="ignore"):  # a NaN or inf is named just below
        data = working_set.Data(X_checked, y, sample_weight, fit_intercept)
    sums = (data.x_mean, data.correlation, data.squares, np.array([data.yy]))
    if not all(np.all(np.isfinite(v)) for v in sums):
        raise locate_non_finite(X_checked, y) or DivergenceError(
            "the data's sums overflow: scale X and y (e.g. standardize them)"
        )
    return data


def _check_start(coef_init: Any, d: int) -> np.ndarray | None:
    if coef_init is None:
        return None
    coef_init = np.asarray(coef_init, dtype=np.float64)
    if coef_init.shape != (d,):
        raise ValueError(
            f"coef_init must have shape ({d},), one coefficient per column of X, "
            f"got {coef_init.shape}"
        )
    return coef_init


def warn_unconverged(alphas: np.ndarray, fits: PathFits, tol: float, max_iter: int,
                     where: str = "") -> None:  # fmt: skip
    """A ConvergenceWarning naming the alphas whose gap stayed above tol, with the remedy."""
    missed = np.flatnonzero(~fits.converged)
    if missed.size == 0:
        return
    shown = ", ".join(f"{alphas[i]:.3g}" for i in missed[:5])
    more = f" and {missed.size - 5} more" if missed.size > 5 else ""
    warnings.warn(
        f"coordinate descent did not reach tol={tol:g} in max_iter={max_iter} sweeps{where} "
        f"at alpha = {shown}{more} (the largest duality gap left: {np.max(fits.dual_gap):.3g}); "
        "raise max_iter, or tol, or scale X's columns",
        ConvergenceWarning,
        stacklevel=3,
    )
