"""scikit-learn's penalized regressors by their names: `RidgeGD`, `LassoGD`, `ElasticNetGD`.

Each takes exactly its scikit-learn twin's parameters, in its objective's scale, so that
`Lasso(alpha=0.1)` -> `LassoGD(alpha=0.1)` gives the same coefficients (to the twin's
tolerance): no translation of alpha (docs/models.md has fastgd's own scale, which these map
to), the penalty on w in X's own units (scikit-learn's convention; `LinearRegressionGD`
penalizes the standardized coefficients by default), sample weights as scikit-learn weighs them.

What differs, by design: `max_iter` counts gradient steps (a budget; the fit stops at `tol`),
so its default is 100 000 rather than a coordinate-descent epoch count; `tol` bounds the
relative distance of the coefficients from the optimum (fastgd.fit's tol), 1e-13 by default;
the solver options of scikit-learn (`solver`, `precompute`, `selection`, `random_state`) are
accepted and change nothing but `solver`, which must be "auto" (there is one solver); `copy_X`
has nothing to do (fastgd never writes to X).

Needs the `sklearn` extra, as `LinearRegressionGD`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .estimator import LinearRegressionGD
from .options import DEFAULT_TOL

_DEFAULT_STEPS = 100_000


class _Twin(LinearRegressionGD):
    """The shared part: fit's options from scikit-learn's parameters (`_penalty` and
    `_fastgd_alpha` are the twin's own)."""

    _budget = "max_iter"
    _penalty: ClassVar[str]
    # Set by each twin's __init__ (scikit-learn's parameters).
    max_iter: int | None
    warm_start: bool

    def _fastgd_alpha(self, n_rows: int, total_weight: float) -> Any:
        raise NotImplementedError

    def _fit_options(self, y: Any, sample_weight: Any) -> dict:
        total = float(len(y) if sample_weight is None else np.sum(sample_weight))
        options: dict[str, Any] = {
            "penalty": self._penalty,
            "alpha": self._fastgd_alpha(len(y), total),
            "l1_ratio": getattr(self, "l1_ratio", 0.5),
            "fit_intercept": self.fit_intercept,
            "positive": self.positive,
            "tol": self.tol,
            "n_iter": _DEFAULT_STEPS if self.max_iter is None else self.max_iter,
            # scikit-learn penalizes w in X's units: descending in standardized coordinates
            # would move the penalty there too.
            "standardize": False,
            "momentum": "auto",
            "lr": "auto",
        }
        if self.warm_start and hasattr(self, "coef_") and np.ndim(y) == 1:
            options["w0"] = np.asarray(self.coef_, dtype=np.float64).ravel()
            options["b0"] = float(np.ravel(self.intercept_)[0]) if self.fit_intercept else 0.0
        return options


class RidgeGD(_Twin):
    """scikit-learn's `Ridge` by gradient descent: minimizes ||y - Xw - b||² + alpha ||w||²
    (squares summed, weighted by sample_weight), the intercept unpenalized.

    Parameters are `Ridge`'s (see the module doc for max_iter, tol, solver); alpha is a
    number (an array of one per target is scikit-learn's, not supported here).
    """

    _penalty = "l2"

    def __init__(
        self,
        alpha: float = 1.0,
        *,
        fit_intercept: bool = True,
        copy_X: bool = True,
        max_iter: int | None = None,
        tol: float = DEFAULT_TOL,
        solver: str = "auto",
        positive: bool = False,
        random_state: Any = None,
    ) -> None:
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver
        self.positive = positive
        self.random_state = random_state

    warm_start = False

    def _fastgd_alpha(self, n_rows: int, total_weight: float) -> float:
        if self.solver != "auto":
            raise ValueError(
                f"solver={self.solver!r} is one of scikit-learn's solvers; RidgeGD has one, "
                "gradient descent: leave solver='auto' (or use sklearn.linear_model.Ridge)"
            )
        if np.ndim(self.alpha) != 0:
            raise ValueError(
                "RidgeGD takes one alpha for all targets; for one per target fit one RidgeGD "
                f"per target, got alpha of shape {np.shape(self.alpha)}"
            )
        # Ridge sums the squared errors; fastgd's loss is their (weighted) mean and its l2
        # penalty alpha ||w||² / 2.
        return 2.0 * float(self.alpha) / total_weight


class ElasticNetGD(_Twin):
    """scikit-learn's `ElasticNet` by gradient descent: minimizes
    ||y - Xw - b||² / (2 n) + alpha l1_ratio ||w||₁ + alpha (1 - l1_ratio) ||w||² / 2
    (the mean weighted by sample_weight), the intercept unpenalized; exact zeros.

    Parameters are `ElasticNet`'s (see the module doc for max_iter, tol and the solver's);
    warm_start=True starts from the previous fit's coefficients (one target).
    """

    _penalty = "elasticnet"

    def __init__(
        self,
        alpha: float = 1.0,
        *,
        l1_ratio: float = 0.5,
        fit_intercept: bool = True,
        precompute: Any = False,
        max_iter: int | None = None,
        copy_X: bool = True,
        tol: float = DEFAULT_TOL,
        warm_start: bool = False,
        positive: bool = False,
        random_state: Any = None,
        selection: str = "cyclic",
    ) -> None:
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.copy_X = copy_X
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection

    def _fastgd_alpha(self, n_rows: int, total_weight: float) -> float:
        if self.selection not in ("cyclic", "random"):
            raise ValueError(f"selection must be 'cyclic' or 'random', got {self.selection!r}")
        # scikit-learn halves the mean squared error; fastgd's loss is the mean itself.
        return 2.0 * float(self.alpha)


class LassoGD(ElasticNetGD):
    """scikit-learn's `Lasso` by gradient descent: minimizes ||y - Xw - b||² / (2 n) +
    alpha ||w||₁ (the mean weighted by sample_weight), the intercept unpenalized; exact zeros.

    Parameters are `Lasso`'s (see the module doc for max_iter, tol and the solver's).
    """

    _penalty = "l1"

    def __init__(
        self,
        alpha: float = 1.0,
        *,
        fit_intercept: bool = True,
        precompute: Any = False,
        copy_X: bool = True,
        max_iter: int | None = None,
        tol: float = DEFAULT_TOL,
        warm_start: bool = False,
        positive: bool = False,
        random_state: Any = None,
        selection: str = "cyclic",
    ) -> None:
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
