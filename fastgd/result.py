"""The result of a fit."""

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True, repr=False)
class FitResult:
    """Parameters found by `fastgd.fit`, with the loss history and how the fit ran.

    loss_history[k] is the (weighted) mean squared error at iterate k, from the starting point
    (k = 0) to the returned parameters (k = n_iter); `loss` is its last value.

    For several targets (y of shape (n, k)) each field has a leading axis of k, one per target,
    in scikit-learn's shapes: intercept (k,), coef (k, d), loss (k,), n_iter (k,) (each
    target's own: a target stops where its own fit would), loss_history (k, m + 1) for m =
    max(n_iter) (after a target stopped its loss stays), the bounds (k,) and (k, d).
    `converged` is True when every target converged.
    """

    intercept: float | np.ndarray
    coef: np.ndarray
    loss: float | np.ndarray
    loss_history: np.ndarray
    n_iter: int | np.ndarray
    device: str
    seconds: float
    threads: int = 1
    converged: bool = field(default=False)
    method: str = "loop"  # "loop" (one pass per iteration) or "gram" (from the moments)
    lr: float = float("nan")  # the learning rate used (1/L for lr="auto")
    momentum: float = 0.0  # Nesterov's momentum used (the one momentum="auto" chose)
    standardized: bool = False  # whether the fit ran in standardized coordinates
    # How far the returned parameters may be from the least-squares optimum, from the gradient
    # and the loss's smallest curvature (fastgd/stopping.py): |u - u*| in the coordinates the
    # fit ran in, |b - b*| and |w_j - w*_j|. nan where the data's moments were not computed
    # (a loop fit with a given lr and no tol, standardize or momentum="auto"). Exact bounds up
    # to the rounding of the gradient; where features are collinear, to the nearest optimum.
    distance_bound: float | np.ndarray = float("nan")
    intercept_bound: float | np.ndarray = float("nan")
    coef_bound: np.ndarray | None = None

    def predict(self, X: ArrayLike) -> np.ndarray:
        """X @ coef + intercept, for X of shape (n,) or (n, d): (n,), or (n, k) for k
        targets."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X.reshape(-1, 1)
        d = self.coef.shape[-1]
        if X.ndim != 2 or X.shape[1] != d:
            raise ValueError(f"X must have {d} feature(s), shape (n, {d}), got shape {X.shape}")
        return X @ self.coef.T + self.intercept

    def __repr__(self) -> str:
        def show(value: Any, digits: int = 6) -> str:
            if np.ndim(value) == 0:
                return f"{value:.{digits}g}"
            return np.array2string(np.asarray(value), precision=digits, threshold=8, separator=", ")

        optional = ""
        if self.momentum:
            optional += f"momentum={self.momentum:.4g}, "
        if self.standardized:
            optional += "standardized=True, "
        if not np.all(np.isnan(self.distance_bound)):
            optional += f"distance_bound={show(self.distance_bound, 3)}, "
        return (
            f"FitResult(intercept={show(self.intercept)}, coef={show(self.coef)}, "
            f"loss={show(self.loss)}, "
            f"n_iter={self.n_iter}, converged={self.converged}, lr={self.lr:.4g}, {optional}"
            f"method={self.method!r}, device={self.device!r}, "
            f"threads={self.threads}, seconds={self.seconds:.3g})"
        )
