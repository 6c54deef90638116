"""scikit-learn's penalized and robust regressors by their names: `RidgeGD`, `LassoGD`,
`ElasticNetGD`, `HuberRegressorGD`.

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

On wide or sparse data (`_config.WORKING_SET_MIN_FEATURES` features or more, or more features
than rows) `LassoGD` and `ElasticNetGD` (with an L1 part) solve by working sets instead
(fastgd/working_set.py, `solver_ == "working_sets"`): scikit-learn's coordinate descent on the
few features that can be nonzero, with gap-safe screening. There `tol` bounds the duality gap
relative to y's variance (scikit-learn's meaning; `dual_gap_` is the gap reached), `max_iter`
counts coordinate-descent sweeps, `lr_` and `momentum_` are None, and `distance_bound_` is the
bound the L2 part's strong convexity gives (infinite for the lasso).

`HuberRegressorGD` estimates the residuals' scale with the coefficients, as `HuberRegressor`
does; fastgd's own Huber loss (fit(loss="huber")) has a fixed epsilon in y's units, so it is
solved on its own, by Newton's method (fastgd/huber_scale.py).

Needs the `sklearn` extra, as `LinearRegressionGD`.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _config, glm, working_set
from ._validation import is_dask_array
from .estimator import LinearRegressionGD
from .huber_scale import fit_huber_scale
from .multinomial_pass import softmax
from .options import DEFAULT_TOL
from .threads import default_threads

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

    def _after_fit(self, X: Any, y: Any, sample_weight: Any) -> None:
        # scikit-learn's linear models keep X's precision in coef_ and intercept_ (a NumPy
        # scalar for a 1-D y).
        self.coef_ = np.asarray(self.coef_, dtype=X.dtype)
        self.intercept_ = np.asarray(self.intercept_, dtype=X.dtype)[()]


class RidgeGD(_Twin):
    """scikit-learn's `Ridge` by gradient descent: minimizes ||y - Xw - b||² + alpha ||w||²
    (squares summed, weighted by sample_weight), the intercept unpenalized.

    Parameters are `Ridge`'s (see the module doc for max_iter, tol, solver); alpha is a
    number (an array of one per target is scikit-learn's, not supported here).
    """

    _penalty = "l2"
    solver_: str

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> RidgeGD:
        """Fit to X and y (see LinearRegressionGD.fit); with one alpha per target (y of shape
        (n, k), alpha of shape (k,)), each target is its own fit."""
        n_alphas = np.size(self.alpha)
        if np.ndim(self.alpha) == 1 and np.ndim(y) == 2 and n_alphas != np.shape(y)[1]:
            raise ValueError(
                "Number of targets and number of penalties do not correspond: "
                f"{n_alphas} != {np.shape(y)[1]} (alpha's values, y's columns): give one "
                "alpha per target, or one number for all"
            )
        if np.ndim(self.alpha) == 0 or np.ndim(y) != 2 or np.shape(self.alpha) != (np.shape(y)[1],):
            return super().fit(X, y, sample_weight)
        y = np.asarray(y)
        fits = [
            type(self)(**(self.get_params() | {"alpha": float(a)})).fit(X, y[:, t], sample_weight)
            for t, a in enumerate(np.asarray(self.alpha, dtype=np.float64))
        ]
        self.__dict__.update({k: v for k, v in fits[0].__dict__.items() if k.endswith("_")})
        for name in ("coef_", "intercept_", "n_iter_", "lr_", "momentum_", "distance_bound_"):
            self.__dict__[name] = np.array([getattr(one, name) for one in fits])
        self.coef_bound_ = np.array([one.coef_bound_ for one in fits])
        self.solver_ = fits[0].solver_
        self.loss_curve_ = np.empty(len(fits), dtype=object)  # one curve per target: lengths vary
        self.loss_curve_[:] = [one.loss_curve_ for one in fits]
        return self

    def _after_fit(self, X: Any, y: Any, sample_weight: Any) -> None:
        super()._after_fit(X, y, sample_weight)
        if np.ndim(y) == 2 and y.shape[1] == 1:  # Ridge's shapes here: coef_ (d,), intercept_ (1,)
            self.coef_ = self.coef_.ravel()

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
                "alpha must be a number, or one per target (an array of shape (n_targets,)) "
                f"for a y of shape (n_samples, n_targets): number of targets and number of "
                f"penalties do not correspond, got alpha of shape {np.shape(self.alpha)}"
            )
        self.solver_ = "gradient_descent"  # Ridge's attribute: the solver that ran
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
    dual_gap_: Any

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

    def fit(
        self, X: Any, y: Any, sample_weight: Any = None, check_input: bool = True
    ) -> ElasticNetGD:
        """Fit to X and y (see LinearRegressionGD.fit). `check_input` is ElasticNet's: fastgd
        checks its input always (it copies nothing to do so).

        Wide or sparse X (at least `_config.WORKING_SET_MIN_FEATURES` features, or more features
        than rows) with an L1 part is solved by working sets (fastgd/working_set.py): tol then
        bounds the duality gap relative to y's variance (scikit-learn's meaning), max_iter the
        coordinate-descent sweeps, and `solver_` says "working_sets" (else
        "gradient_descent")."""
        if not is_dask_array(X) and self._has_l1_part():
            X, y = validate_data(
                self, X, y, dtype=[np.float64, np.float32], y_numeric=True, multi_output=True,
                accept_sparse=["csr", "csc", "coo"],
            )  # fmt: skip
            if working_set.wide(X.shape):
                return self._fit_working_sets(X, y, sample_weight)
        super().fit(X, y, sample_weight)
        self.solver_ = "gradient_descent"
        return self

    def _has_l1_part(self) -> bool:
        """An alpha > 0 and an l1_ratio in (0, 1]; fit's checks name a bad alpha or l1_ratio,
        and alpha = 0 is least squares."""
        l1_ratio = getattr(self, "l1_ratio", 1.0)
        if not isinstance(l1_ratio, Real) or not isinstance(self.alpha, Real):
            return False
        return bool(self.alpha > 0 and 0 < l1_ratio <= 1)

    def _fit_working_sets(self, X: Any, y: Any, sample_weight: Any) -> ElasticNetGD:
        """The fit by working sets, of checked X and y."""
        self._fastgd_alpha(0, 0.0)  # its checks
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
        tol = self.tol if self.tol is not None else 0.0
        if not isinstance(tol, Real) or not tol >= 0:
            raise ValueError(f"tol must be a number >= 0, got {self.tol!r}")
        max_iter = _DEFAULT_STEPS if self.max_iter is None else self.max_iter
        if not isinstance(max_iter, Integral) or max_iter < 1:
            raise ValueError(f"max_iter must be an integer >= 1, got {self.max_iter!r}")
        one_target = y.ndim == 1
        Y = y.reshape(-1, 1) if one_target else y
        start = None
        if self.warm_start and hasattr(self, "coef_") and one_target:
            start = np.asarray(self.coef_, dtype=np.float64).ravel()
        l1_ratio = float(getattr(self, "l1_ratio", 1.0))
        solutions = []
        for t in range(Y.shape[1]):
            data = working_set.Data(X, Y[:, t], sample_weight, self.fit_intercept)
            solution = working_set.solve(data, float(self.alpha), l1_ratio, self.positive,
                                         float(tol), int(max_iter), start)  # fmt: skip
            solutions.append(solution)
        missed = [t for t, one in enumerate(solutions) if not one.converged]
        if missed:
            worst = max(solutions[t].dual_gap for t in missed)
            warnings.warn(
                f"{type(self).__name__} did not reach tol={tol:g} in max_iter={max_iter} "
                f"coordinate-descent sweeps (duality gap {worst:.3g}); raise max_iter, or tol",
                ConvergenceWarning,
                stacklevel=3,
            )
        coef = np.array([one.coef for one in solutions])
        intercept = np.array([one.intercept if self.fit_intercept else 0.0 for one in solutions])
        gaps = np.array([one.dual_gap for one in solutions])
        l2 = float(self.alpha) * (1.0 - l1_ratio)
        # With an L2 part the objective is l2-strongly convex: |w - w*|² <= 2 gap / l2.
        bounds = np.sqrt(2.0 * np.maximum(gaps, 0.0) / l2) if l2 > 0 else np.full(gaps.size, np.inf)
        self.coef_ = coef[0] if one_target else coef
        self.intercept_ = intercept[0] if one_target else intercept
        self.n_iter_ = (
            solutions[0].n_iter if one_target else np.array([o.n_iter for o in solutions])
        )
        self.dual_gap_ = float(gaps[0]) if one_target else gaps
        self.distance_bound_ = float(bounds[0]) if one_target else bounds
        self.coef_bound_ = np.full_like(coef, 1.0) * bounds[:, None]
        if one_target:
            self.coef_bound_ = self.coef_bound_[0]
        self.lr_ = None
        self.momentum_ = None
        self.solver_ = "working_sets"
        _Twin._after_fit(self, X, y, sample_weight)
        return self

    def _after_fit(self, X: Any, y: Any, sample_weight: Any) -> None:
        self.dual_gap_ = duality_gap(
            X, y, sample_weight, self.coef_, float(self.alpha), getattr(self, "l1_ratio", 1.0),
            self.positive, self.fit_intercept,
        )  # fmt: skip
        super()._after_fit(X, y, sample_weight)

    def _fastgd_alpha(self, n_rows: int, total_weight: float) -> float:
        if self.selection not in ("cyclic", "random"):
            raise ValueError(f"selection must be 'cyclic' or 'random', got {self.selection!r}")
        # scikit-learn halves the mean squared error; fastgd's loss is the mean itself.
        return 2.0 * float(self.alpha)


def duality_gap(X, y, sample_weight, coef, alpha, l1_ratio, positive, fit_intercept):
    """scikit-learn's `dual_gap_` at coef (a float, or one per target for a 2-D y): the
    elastic net's primal objective minus its dual at the residual's scaled dual point, as
    scikit-learn's coordinate descent computes it (sample weights rescaled to sum to the
    number of rows, the data centred by their weighted means where the intercept is fitted),
    divided by the number of rows. At the optimum it is 0; the objective is within it."""
    if np.ndim(y) == 2:
        return np.array([
            duality_gap(X, y[:, t], sample_weight, coef[t], alpha, l1_ratio, positive,
                        fit_intercept)
            for t in range(y.shape[1])
        ])  # fmt: skip
    n = X.shape[0]
    s = np.ones(n) if sample_weight is None else sample_weight * (n / np.sum(sample_weight))
    w = np.asarray(coef, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64)
    column_means = np.zeros(X.shape[1])
    y_mean = 0.0
    if fit_intercept:
        column_means = np.asarray(X.T @ s).ravel() / n
        y_mean = float(s @ y) / n
    # r = (y - y_mean) - (X - column_means) w, without centring (or densifying) X.
    centred_y = y - y_mean
    r = centred_y - (np.asarray(X @ w).ravel() - float(column_means @ w))
    weighted = s * r
    l1 = alpha * l1_ratio * n
    l2 = alpha * (1.0 - l1_ratio) * n
    correlation = np.asarray(X.T @ weighted).ravel() - column_means * weighted.sum() - l2 * w
    dual_norm = float(np.max(correlation)) if positive else float(np.max(np.abs(correlation)))
    residual_norm2 = float(weighted @ r)
    if dual_norm > l1:
        const = l1 / dual_norm
        gap = 0.5 * (residual_norm2 + residual_norm2 * const**2)
    else:
        const = 1.0
        gap = residual_norm2
    gap += l1 * float(np.sum(np.abs(w))) - const * float(weighted @ centred_y)
    gap += 0.5 * l2 * (1.0 + const**2) * float(w @ w)
    return gap / n


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


class _NewtonTwin(BaseEstimator):
    """What the twins solved by Newton's method share (HuberRegressorGD, the GLMs,
    LogisticRegressionGD): their parameters' checks, their data as float64 (CSR for a sparse X),
    the warning of a budget run out."""

    max_iter: int
    tol: float
    _dtype: np.dtype

    def _check_numbers(self, **limits: tuple[float, bool, str]) -> None:
        """Each parameter `name=(low, strict, note)`: a real number >= low (> low if strict);
        and max_iter a whole number >= 0."""
        for name, (low, strict, note) in limits.items():
            value = getattr(self, name)
            number = not isinstance(value, bool) and isinstance(value, Real)
            if not number or not (float(value) > low if strict else float(value) >= low):
                relation = ">" if strict else ">="
                raise ValueError(f"{name} must be a number {relation} {low:g}{note}, got {value!r}")
        steps = self.max_iter
        if isinstance(steps, bool) or not isinstance(steps, Integral) or steps < 0:
            raise ValueError(f"max_iter must be an integer >= 0, got {steps!r}")

    def _fit_data(self, X: Any, y: Any, sample_weight: Any, numeric: bool = True) -> tuple:
        """(X, y, sample_weight) checked the scikit-learn way, X as float64 (CSR if sparse),
        y as float64 where `numeric` (a regressor's). X's own dtype is kept in `_dtype`: the
        fitted coefficients take it, as scikit-learn's do."""
        X, y = validate_data(
            self, X, y, dtype=[np.float64, np.float32], y_numeric=numeric,
            accept_sparse=_SPARSE_INPUTS,
        )  # fmt: skip
        self._dtype = X.dtype
        X = _as_float64(X)
        if numeric:
            y = np.asarray(y, dtype=np.float64)
        weights = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        return X, y, weights

    def _new_X(self, X: Any) -> Any:
        """X to predict from, checked against the fitted one's columns."""
        check_is_fitted(self)
        return validate_data(self, X, dtype=[np.float64, np.float32], reset=False,
                             accept_sparse=_SPARSE_INPUTS)  # fmt: skip

    def _warn_unconverged(self, step: float, remedy: str = "raise max_iter") -> None:
        warnings.warn(
            f"{type(self).__name__} did not reach tol={self.tol:g} in max_iter={self.max_iter} "
            f"Newton steps: the last step was {step:.2g} of the parameters' size (about their "
            f"distance from the optimum); {remedy}",
            ConvergenceWarning,
            stacklevel=3,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_SPARSE_INPUTS = ["csr", "csc", "coo"]


def _as_float64(X: Any) -> Any:
    return (
        X.tocsr().astype(np.float64)
        if hasattr(X, "tocsr")
        else np.ascontiguousarray(X, dtype=np.float64)
    )


class HuberRegressorGD(RegressorMixin, _NewtonTwin):
    """scikit-learn's `HuberRegressor` by Newton's method: minimizes, over w, b and the scale
    sigma > 0 together,

        sum_i s_i (sigma + H(r_i / sigma) sigma) + alpha ||w||²,   r = y - X w - b,

    H(z) = z² for |z| <= epsilon, 2 epsilon |z| - epsilon² beyond (s: sample_weight), so that
    which rows are outliers does not depend on y's units (fastgd/huber_scale.py has the method:
    Newton steps with a line search, each two passes over X).

    Parameters are `HuberRegressor`'s, with the same defaults: epsilon >= 1, max_iter (Newton
    steps here, L-BFGS iterations there), alpha, warm_start, fit_intercept; `tol` is the
    relative size of the last Newton step (near the optimum, the parameters' distance to it),
    1e-13 by default, where scikit-learn's 1e-5 bounds its gradient.

    Attributes: coef_, intercept_, scale_ (sigma), outliers_ (|r| > epsilon scale_),
    n_iter_ (Newton steps taken), n_features_in_, feature_names_in_.
    """

    coef_: np.ndarray
    intercept_: float
    scale_: float
    n_iter_: int
    outliers_: np.ndarray

    def __init__(
        self,
        *,
        epsilon: float = 1.35,
        max_iter: int = 100,
        alpha: float = 0.0001,
        warm_start: bool = False,
        fit_intercept: bool = True,
        tol: float = DEFAULT_TOL,
    ) -> None:
        self.epsilon = epsilon
        self.max_iter = max_iter
        self.alpha = alpha
        self.warm_start = warm_start
        self.fit_intercept = fit_intercept
        self.tol = tol

    def _check_parameters(self) -> None:
        self._check_numbers(
            epsilon=(1.0, False, " (1.35 keeps 95% efficiency on normal noise)"),
            alpha=(0.0, False, ""), tol=(0.0, False, ""),
        )  # fmt: skip

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> HuberRegressorGD:
        """Fit to X (n_samples, n_features; dense or scipy.sparse) and y (n_samples,)."""
        self._check_parameters()
        X, y, sample_weight = self._fit_data(X, y, sample_weight)
        start = None
        if self.warm_start and hasattr(self, "coef_"):
            start = (self.coef_, self.intercept_ if self.fit_intercept else 0.0, self.scale_)
        solved = fit_huber_scale(
            X, y, sample_weight, epsilon=float(self.epsilon), alpha=float(self.alpha),
            fit_intercept=self.fit_intercept, tol=float(self.tol), max_iter=int(self.max_iter),
            start=start,
        )  # fmt: skip
        if solved.interpolated:
            warnings.warn(
                f"HuberRegressorGD: the scale went to 0 ({solved.scale:.2g}): the model fits "
                "every row exactly (as with fewer rows than features), so the objective has "
                "no minimum at a positive scale and these coefficients are not its limit; use "
                "fewer features, more rows, or a larger alpha",
                ConvergenceWarning,
                stacklevel=2,
            )
        elif not solved.converged:
            self._warn_unconverged(solved.step)
        self.coef_ = solved.coef
        self.intercept_ = float(solved.intercept) if self.fit_intercept else 0.0
        self.scale_ = solved.scale
        self.n_iter_ = solved.n_iter
        residual = np.abs(y - np.asarray(X @ self.coef_).ravel() - self.intercept_)
        self.outliers_ = residual > self.scale_ * self.epsilon
        return self

    def predict(self, X: Any) -> np.ndarray:
        """X @ coef_ + intercept_."""
        return np.asarray(self._new_X(X) @ self.coef_).ravel() + self.intercept_


def _offsets(offset: Any, n_rows: int, n_classes: int | None = None) -> np.ndarray | None:
    """A GLM's `offset` checked: None, or n_rows finite numbers (float64) -- (n_rows,
    n_classes), one per row and class, for multinomial logistic regression."""
    if offset is None:
        return None
    values = np.asarray(offset, dtype=np.float64)
    shape = (n_rows,) if n_classes is None else (n_rows, n_classes)
    if values.shape != shape:
        what = "one value per row of X" if n_classes is None else "one value per row and class"
        raise ValueError(f"offset must have {what}, shape {shape}; got shape "
                         f"{values.shape}")  # fmt: skip
    if not np.all(np.isfinite(values)):
        i = np.unravel_index(int(np.argmax(~np.isfinite(values))), values.shape)
        where = ", ".join(map(str, i))
        raise ValueError(f"offset[{where}] is {values[i]}: offsets must be finite (a log of 0 "
                         "exposure? drop rows with no exposure)")  # fmt: skip
    return values


def _classes_and_codes(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's `check_classification_targets(y)`, then np.unique(y, return_inverse=True):
    the sorted classes and each row's index among them. For numbers, the classes by hashing
    (NumPy 2's `unique_values`), the codes by binary search among them, and the check on the
    classes alone, as `type_of_target` does it on every row (a float class that is not an
    integer: a regression target; more classes than half the rows: a warning): 95 -> 25 ms at
    1e6 rows, a third of a large binary fit's time besides its passes."""
    unique_values = getattr(np, "unique_values", None)
    if unique_values is None or y.ndim != 1 or y.dtype.kind not in "biuf":
        check_classification_targets(y)
        return np.unique(y, return_inverse=True)
    classes = np.sort(unique_values(y))
    if y.dtype.kind == "f" and np.any(classes != classes.astype(int)):
        raise ValueError(
            "Unknown label type: continuous. Maybe you are trying to fit a classifier, which "
            "expects discrete classes on a regression target with continuous values."
        )
    if len(classes) > 2 and len(y) > 20 and len(classes) > round(0.5 * len(y)):
        warnings.warn(
            "The number of unique classes is greater than 50% of the number of samples. `y` "
            "could represent a regression problem, not a classification problem.",
            UserWarning,
            stacklevel=3,
        )
    if len(classes) == 2:  # a comparison, where the binary search took 16 ms at 1e6 rows
        return classes, (y == classes[1]).astype(np.intp)
    if y.dtype.kind != "b" and len(classes) and np.all(classes == np.floor(classes)):
        span = classes[-1].item() - classes[0].item()  # Python's numbers: no overflow
        if span < 1 << 16:  # integers in a short range: each row's code looked up by its
            # offset from the lowest (10 classes at 1e6 rows: 25 -> 5 ms), in y's own dtype
            # (the offsets, 0 to span, fit it)
            table = np.zeros(int(span) + 1, dtype=np.intp)
            table[(classes - classes[0]).astype(np.intp)] = np.arange(len(classes))
            return classes, table[(y - classes[0]).astype(np.intp)]
    return classes, np.searchsorted(classes, y)


def _threads_for(X: Any) -> int:
    """The Newton passes' threads: the idle cores for large data, one for small (where a
    parallel pass costs more than it saves)."""
    return default_threads() if X.shape[0] * X.shape[1] >= _config.PARALLEL_MIN_VALUES else 1


class _GLMTwin(RegressorMixin, _NewtonTwin):
    """scikit-learn's generalized linear regressors by Newton's method (fastgd/glm.py): the
    objective (1 / S) sum s_i l(y_i, eta_i) + alpha / 2 |w|² (l: half the unit deviance), the
    intercept unpenalized. `l1_ratio` (glum's; 0 by default, scikit-learn's objective) makes
    the penalty the elastic net's, alpha (l1_ratio |w|₁ + (1 - l1_ratio) / 2 |w|²), each step
    then proximal Newton's (fastgd/proximal_newton.py). Parameters are scikit-learn's, with its
    defaults; `solver` ("lbfgs"
    or "newton-cholesky") and `verbose` are accepted and change nothing (the solver is Newton's
    method, each step one moment pass over X); `max_iter` counts Newton steps and `tol` is the
    last step's size relative to the parameters' (1e-13 by default, where scikit-learn's 1e-4
    bounds its gradient). `score` is scikit-learn's D², the fraction of deviance explained."""

    coef_: np.ndarray
    intercept_: float
    n_iter_: int

    def _family(self) -> glm.Family:
        raise NotImplementedError

    def _check_parameters(self) -> None:
        self._check_numbers(alpha=(0.0, False, ""), tol=(0.0, False, ""))
        ratio = self.l1_ratio
        if isinstance(ratio, bool) or not isinstance(ratio, Real) or not 0.0 <= float(ratio) <= 1.0:
            raise ValueError(f"l1_ratio must be a number in [0, 1] (0: the l2 penalty, 1: l1), "
                             f"got {ratio!r}")  # fmt: skip
        if self.solver not in ("lbfgs", "newton-cholesky"):
            raise ValueError(
                f"solver must be 'lbfgs' or 'newton-cholesky' (scikit-learn's names; either "
                f"runs Newton's method here), got {self.solver!r}"
            )

    def fit(self, X: Any, y: Any, sample_weight: Any = None, offset: Any = None) -> _GLMTwin:
        """Fit to X (n_samples, n_features; dense or scipy.sparse) and y (n_samples,).

        `offset` (n_samples,), optional: a fixed term of each row's linear predictor, eta =
        X @ coef_ + intercept_ + offset -- the log of each row's exposure for a Poisson rate
        (glum's `offset`, statsmodels' GLM `offset`)."""
        self._check_parameters()
        family = self._family()
        if is_dask_array(X):  # left where it is: each Newton step is one pass on the workers
            X, y, sample_weight, offset = self._dask_data(X, y, sample_weight, offset)
        else:
            X, y, sample_weight = self._fit_data(X, y, sample_weight)
            offset = _offsets(offset, X.shape[0])
        family.check_y(y)
        start = None
        if self.warm_start and hasattr(self, "coef_"):
            start = (self.intercept_ if self.fit_intercept else 0.0, self.coef_)
        solved = glm.fit_glm(
            family, X, y, sample_weight, alpha=float(self.alpha),
            fit_intercept=self.fit_intercept, tol=float(self.tol), max_iter=int(self.max_iter),
            start=start, threads=_threads_for(X), offset=offset, l1_ratio=float(self.l1_ratio),
        )  # fmt: skip
        if not solved.converged:
            self._warn_unconverged(solved.step)
        self.coef_ = solved.coef.astype(self._dtype)
        self.intercept_ = self._dtype.type(solved.intercept) if self.fit_intercept else 0.0
        self.n_iter_ = solved.n_iter
        return self

    def _dask_data(self, X: Any, y: Any, sample_weight: Any, offset: Any) -> tuple:
        """(X, y, sample_weight, offset) of a Dask X, checked without computing X itself
        beyond one pass for NaN and inf: X 2-D with every column in each row chunk (float32 or
        float64), the others float64 arrays chunked as X's rows."""
        import dask.array as da

        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features), got {X.ndim} dimensions")
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        X = X.rechunk({1: -1})
        rows = X.chunks[0]
        self.n_features_in_ = X.shape[1]
        self._dtype = X.dtype

        def along(values, name):
            if values is None:
                return None
            values = da.asarray(values).astype(np.float64)
            if values.shape != (X.shape[0],):
                raise ValueError(f"{name} must have one value per row of X, shape "
                                 f"({X.shape[0]},); got shape {values.shape}")  # fmt: skip
            return values.rechunk((rows,))

        y, sample_weight, offset = (along(values, name) for values, name in
                                    ((y, "y"), (sample_weight, "sample_weight"),
                                     (offset, "offset")))  # fmt: skip
        checks = [da.isfinite(X).all(), da.isfinite(y).all()]
        if sample_weight is not None:
            checks.append((sample_weight >= 0).all() & da.isfinite(sample_weight).all())
        if offset is not None:
            checks.append(da.isfinite(offset).all())
        finite = da.compute(*checks)
        for ok, name in zip(finite, ("X", "y", "sample_weight", "offset")):
            if not ok:
                raise ValueError(f"{name} holds NaN or inf (or a negative weight): every value "
                                 "must be a finite number; drop or impute those rows")  # fmt: skip
        return X, y, sample_weight, offset

    def _linear_predictor(self, X: Any, offset: Any = None) -> np.ndarray:
        if is_dask_array(X):  # lazily, a Dask array of the rows' predictions
            eta = X @ self.coef_ + self.intercept_
            return eta if offset is None else eta + offset
        eta = np.asarray(self._new_X(X) @ self.coef_, dtype=np.float64).ravel() + self.intercept_
        offset = _offsets(offset, eta.shape[0])
        return eta if offset is None else eta + offset

    def predict(self, X: Any, offset: Any = None) -> np.ndarray:
        """The predicted mean: exp(X @ coef_ + intercept_ + offset) for the log link."""
        return self._family().mean(self._linear_predictor(X, offset))

    def score(self, X: Any, y: Any, sample_weight: Any = None, offset: Any = None) -> float:
        """D²: 1 - deviance / the deviance of the best constant (weighted mean), as
        scikit-learn's GLMs score (with an offset, the best constant with the offsets)."""
        eta = self._linear_predictor(X, offset)
        y = np.asarray(y, dtype=np.float64)
        s = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, float)
        family = self._family()
        family.check_y(y)
        offset = _offsets(offset, y.shape[0])
        if offset is None:
            constant = float(s @ y) / float(s.sum())
            null_eta = np.full_like(y, math.log(constant) if family.link == "log" else constant)
        else:  # the best constant with the offsets (a rate's, for exposures): fitted
            null = glm.fit_glm(
                family, np.empty((y.shape[0], 0)), y, s, alpha=0.0, fit_intercept=True,
                tol=1e-12, max_iter=100, offset=offset,
            )  # fmt: skip
            null_eta = null.intercept + offset
        deviance = float(s @ family.loss(y, eta))
        null = float(s @ family.loss(y, null_eta))
        return 1.0 - deviance / null if null > 0.0 else (1.0 if deviance == 0.0 else -math.inf)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # y > 0 or >= 0 for every family but the normal's with the identity link.
        try:
            tags.target_tags.positive_only = self._family().link == "log"
        except ValueError:  # an invalid power or link: fit says so
            pass
        return tags


class PoissonRegressorGD(_GLMTwin):
    """scikit-learn's `PoissonRegressor` (the log link) by Newton's method: see `_GLMTwin`.
    y >= 0 (counts, or rates with sample weights as exposures)."""

    def __init__(
        self,
        *,
        alpha: float = 1.0,
        fit_intercept: bool = True,
        solver: str = "lbfgs",
        max_iter: int = 100,
        tol: float = DEFAULT_TOL,
        warm_start: bool = False,
        verbose: int = 0,
        l1_ratio: float = 0.0,
    ) -> None:
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.verbose = verbose

    def _family(self) -> glm.Family:
        return glm.FAMILIES["poisson"]


class GammaRegressorGD(PoissonRegressorGD):
    """scikit-learn's `GammaRegressor` (the log link) by Newton's method: see `_GLMTwin`.
    y > 0 (costs, durations, claim sizes)."""

    def _family(self) -> glm.Family:
        return glm.FAMILIES["gamma"]


class TweedieRegressorGD(_GLMTwin):
    """scikit-learn's `TweedieRegressor` by Newton's method: see `_GLMTwin`. `power` 0 (normal),
    1 (Poisson), in (1, 2) (compound Poisson-Gamma: y >= 0 with exact zeros), 2 (Gamma) or more;
    `link` "auto" (identity for power 0, else log), "log", or "identity" (power 0 only)."""

    def __init__(
        self,
        *,
        power: float = 0.0,
        alpha: float = 1.0,
        fit_intercept: bool = True,
        link: str = "auto",
        solver: str = "lbfgs",
        max_iter: int = 100,
        tol: float = DEFAULT_TOL,
        warm_start: bool = False,
        verbose: int = 0,
        l1_ratio: float = 0.0,
    ) -> None:
        self.power = power
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.link = link
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.verbose = verbose

    def _family(self) -> glm.Family:
        return glm.tweedie(self.power, self.link)


class LogisticRegressionGD(ClassifierMixin, _NewtonTwin):
    """scikit-learn's `LogisticRegression` by Newton's method: minimizes C sum_i s_i l_i + |W|² / 2
    (or its l1 and elastic-net penalties), l the log-loss of the binomial model for two classes
    and of the multinomial (softmax) model for more, the intercepts unpenalized (fastgd/glm.py:
    binary steps on fastgd's weighted moment pass; multinomial ones on the k (d + 1)-square
    Hessian).

    Parameters are scikit-learn's, with its defaults: C, class_weight, fit_intercept,
    max_iter (Newton steps here), warm_start; `penalty` (deprecated there) "l2", "l1",
    "elasticnet" or None; `l1_ratio` (0: l2; 1: l1; between: the elastic net) and `dual` False.
    With an l1 part each step is proximal Newton's (fastgd/proximal_newton.py), two classes or
    more; `solver` "lbfgs", "newton-cg", "newton-cholesky" or "saga" (each reaches the same
    optimum). `tol` is the last Newton step's size relative to the parameters' (1e-13 by
    default, where scikit-learn's 1e-4 bounds its gradient). `intercept_scaling`,
    `random_state`, `verbose` and `n_jobs` are accepted and change nothing.
    """

    coef_: np.ndarray
    intercept_: np.ndarray
    classes_: np.ndarray
    n_iter_: np.ndarray

    def __init__(
        self,
        penalty: Any = "deprecated",
        *,
        C: float = 1.0,
        l1_ratio: float | None = 0.0,
        dual: bool = False,
        tol: float = DEFAULT_TOL,
        fit_intercept: bool = True,
        intercept_scaling: float = 1,
        class_weight: Any = None,
        random_state: Any = None,
        solver: str = "lbfgs",
        max_iter: int = 100,
        verbose: int = 0,
        warm_start: bool = False,
        n_jobs: int | None = None,
    ) -> None:
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.dual = dual
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.random_state = random_state
        self.solver = solver
        self.max_iter = max_iter
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_jobs = n_jobs

    def _check_parameters(self) -> None:
        if self.penalty not in ("deprecated", "l2", "l1", "elasticnet", None):
            raise ValueError(
                f"penalty={self.penalty!r}: choose 'l2', 'l1', 'elasticnet' or None (or leave it "
                "and set l1_ratio, scikit-learn's newer way)"
            )
        ratio = self.l1_ratio
        if ratio is not None and (isinstance(ratio, bool) or not isinstance(ratio, Real)
                                  or not 0.0 <= float(ratio) <= 1.0):  # fmt: skip
            raise ValueError(f"l1_ratio must be a number in [0, 1], got {ratio!r}")
        if self.dual:
            raise ValueError("dual=True is liblinear's formulation; leave dual=False")
        if self.solver not in ("lbfgs", "newton-cg", "newton-cholesky", "sag", "saga",
                               "liblinear"):  # fmt: skip
            raise ValueError(
                f"solver={self.solver!r}: choose 'lbfgs', 'newton-cg', 'newton-cholesky', "
                "'sag', 'saga' or 'liblinear' (each reaches the same optimum here)"
            )
        self._check_numbers(C=(0.0, True, ""), tol=(0.0, False, ""))
        if self.penalty == "elasticnet" and ratio is None:
            raise ValueError("l1_ratio must be specified when penalty is elasticnet (a number "
                             "in [0, 1]: the l1 penalty's share)")  # fmt: skip
        self._warn_as_scikit_learn()

    def _warn_as_scikit_learn(self) -> None:
        """scikit-learn's warnings about parameters that change nothing or contradict each
        other (the same texts, so that code written against it reads the same)."""
        ratio = self.l1_ratio
        if self.penalty not in ("deprecated", "elasticnet") and ratio is not None and 0 < ratio < 1:
            warnings.warn("l1_ratio parameter is only used when penalty is 'elasticnet'. Got "
                          f"(penalty={self.penalty})", UserWarning, stacklevel=4)  # fmt: skip
        if (self.penalty == "l2" and ratio != 0) or (self.penalty == "l1" and ratio != 1):
            warnings.warn(f"Inconsistent values: penalty={self.penalty} with l1_ratio={ratio}. "
                          "The penalty wins: l1_ratio is ignored", UserWarning,
                          stacklevel=4)  # fmt: skip
        if self.penalty is None and self.C != 1.0:
            warnings.warn("Setting penalty=None will ignore the C and l1_ratio parameters",
                          UserWarning, stacklevel=4)  # fmt: skip
        if self.penalty == "deprecated" and ratio is None:
            warnings.warn("'l1_ratio=None' was deprecated in scikit-learn 1.8: use 0 <= l1_ratio "
                          "<= 1 (None fits the l2 penalty, as 0)", FutureWarning,
                          stacklevel=4)  # fmt: skip
        if self.n_jobs is not None:
            warnings.warn(f"'n_jobs' has no effect (as in scikit-learn since 1.8): you provided "
                          f"'n_jobs={self.n_jobs}', please leave it unspecified",
                          FutureWarning, stacklevel=4)  # fmt: skip

    def _l1_share(self) -> float:
        """The l1 penalty's share: l1_ratio, or 1 for penalty="l1" (0 for l2 or none)."""
        if self.penalty == "l1":
            return 1.0
        if self.penalty in (None, "l2") or self.l1_ratio is None:
            return 0.0
        return float(self.l1_ratio)

    def fit(self, X: Any, y: Any, sample_weight: Any = None, offset: Any = None
            ) -> LogisticRegressionGD:  # fmt: skip
        """Fit to X (n_samples, n_features; dense or scipy.sparse) and class labels y.

        `offset`: a fixed term of each row's log-odds, X @ coef_.T + intercept_ + offset
        (statsmodels' and glum's `offset`): (n_samples,) for two classes, (n_samples,
        n_classes) for more (one per row and class, in classes_'s order)."""
        self._check_parameters()
        X, y, s = self._fit_data(X, y, sample_weight, numeric=False)
        self.classes_, codes = _classes_and_codes(y)
        k = len(self.classes_)
        if k < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {self.classes_[0]!r}"
            )
        if self.class_weight is not None:  # "balanced" by the classes' weighted counts
            given = None if sample_weight is None else s
            weights = compute_class_weight(
                self.class_weight, classes=self.classes_, y=y, sample_weight=given
            )
            s = s * weights[codes]
        total = float(s.sum())
        alpha = 0.0 if self.penalty is None else 1.0 / (float(self.C) * total)
        warm = self.warm_start and hasattr(self, "coef_")
        share = self._l1_share()
        offset = _offsets(offset, X.shape[0], None if k == 2 else k)
        if k == 2:
            start = (
                (self.intercept_[0], self.coef_[0]) if warm and self.coef_.shape[0] == 1 else None
            )
            solved = glm.fit_glm(
                glm.Binomial(), X, codes.astype(np.float64), s, alpha=alpha,
                fit_intercept=self.fit_intercept, tol=float(self.tol),
                max_iter=int(self.max_iter), start=start, threads=_threads_for(X), offset=offset,
                l1_ratio=share,
            )  # fmt: skip
            B, W = np.array([solved.intercept]), solved.coef[None, :]
            steps, converged, step = solved.n_iter, solved.converged, solved.step
        else:
            start = (self.intercept_, self.coef_) if warm and self.coef_.shape[0] == k else None
            B, W, steps, converged, step = glm.fit_multinomial(
                X, codes, k, s, alpha=alpha, fit_intercept=self.fit_intercept,
                tol=float(self.tol), max_iter=int(self.max_iter), start=start, l1_ratio=share,
                offset=offset, threads=_threads_for(X),
            )  # fmt: skip
        if not converged:
            self._warn_unconverged(
                step, "raise max_iter, or lower C (separable classes have no optimum without a "
                "penalty)"
            )  # fmt: skip
        self.coef_ = W.astype(self._dtype)
        self.intercept_ = (B if self.fit_intercept else np.zeros(B.shape[0])).astype(self._dtype)
        self.n_iter_ = np.array([steps])
        return self

    def sparsify(self) -> LogisticRegressionGD:
        """coef_ as a scipy.sparse CSR matrix (scikit-learn's; worth it where most coefficients
        are 0, as the l1 penalty leaves them); `densify` undoes it."""
        import scipy.sparse

        check_is_fitted(self)
        self.coef_ = scipy.sparse.csr_matrix(self.coef_)
        return self

    def densify(self) -> LogisticRegressionGD:
        """coef_ as a NumPy array again (after `sparsify`)."""
        check_is_fitted(self)
        if hasattr(self.coef_, "toarray"):
            self.coef_ = self.coef_.toarray()
        return self

    def decision_function(self, X: Any, offset: Any = None) -> np.ndarray:
        """X @ coef_.T + intercept_ (+ offset): (n,) for two classes (the second's log-odds),
        else (n, k)."""
        product = self._new_X(X) @ self.coef_.T
        if hasattr(product, "toarray"):  # a sparse X times a sparsified coef_
            product = product.toarray()
        scores = np.asarray(product, dtype=np.float64) + self.intercept_
        k = scores.shape[1]
        offset = _offsets(offset, scores.shape[0], None if k == 1 else k)
        if offset is not None:
            scores = scores + (offset[:, None] if k == 1 else offset)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict_proba(self, X: Any, offset: Any = None) -> np.ndarray:
        """Each class's probability, (n_samples, n_classes)."""
        scores = self.decision_function(X, offset)
        if scores.ndim == 1:
            positive = glm.Binomial().mean(scores)
            return np.column_stack([1.0 - positive, positive])
        return softmax(scores)[0]

    def predict_log_proba(self, X: Any, offset: Any = None) -> np.ndarray:
        return np.log(self.predict_proba(X, offset))

    def predict(self, X: Any, offset: Any = None) -> np.ndarray:
        scores = self.decision_function(X, offset)
        chosen = (scores > 0).astype(int) if scores.ndim == 1 else np.argmax(scores, axis=1)
        return self.classes_[chosen]
