"""`LinearRegressionGD`: `fastgd.fit` as a scikit-learn regressor.

Needs the `sklearn` extra (python3 -m pip install -e ".[sklearn]" in a checkout of fastgd).
`import fastgd` does not import this module; `fastgd.LinearRegressionGD` loads it on first use.

Data and weights are checked the scikit-learn way (validate_data, _check_sample_weight), so the
estimator behaves like every other regressor in pipelines and searches; the fit itself is one
`fastgd.fit` call, which checks the parameters and raises fastgd's own errors.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

try:
    from sklearn.base import BaseEstimator, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
except ImportError as error:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "fastgd.LinearRegressionGD needs scikit-learn >= 1.6; install it with "
        'python3 -m pip install -e ".[sklearn]" in a checkout of fastgd'
    ) from error

import numpy as np
from numpy.typing import ArrayLike

from . import errors
from .fit import fit as _fit
from .options import PARAMETERS
from .result import FitResult

_FLOATS = [np.float64, np.float32]
_SPARSE = ["csr", "csc", "coo"]  # scipy.sparse X: CSR used as is, the others converted once


class LinearRegressionGD(RegressorMixin, BaseEstimator):
    """Linear regression by batch gradient descent on the (weighted) mean squared error.

    The parameters are those of `fastgd.fit`; see its documentation.

    Parameters
    ----------
    lr : float or "auto", default="auto"
        The learning rate. "auto" picks 1 / L from the data's curvature, the largest step with
        which the loss never rises above where it started.
    n_iter : int, default=100_000
        The largest number of gradient steps (a budget: the fit stops at `tol`).
    tol : float or None, default=1e-13
        Stop once the parameters are provably within a relative distance tol of the
        least-squares optimum (in the standardized coordinates), from the gradient and the
        loss's smallest curvature, or the gradient is down to its rounding (see `fastgd.fit`);
        None runs all n_iter steps. When n_iter runs out first, scikit-learn's
        ConvergenceWarning says how far the answer may still be.
    method : "auto", "loop" or "gram", default="auto"
        "loop" makes one pass over the data per step (the lecture's loop); "gram" makes one pass
        in all and iterates on the statistics; "auto" picks the cheaper.
    device : "auto", "cpu" or "cuda", default="auto"
    threads : int, default=None
        CPU threads for the fit (None: the idle cores, one for small data).
    fit_intercept : bool, default=True
        Whether to fit b (scikit-learn's name). False: the model is y ~ X w, and intercept_ is
        0.0.
    standardize : bool, default=True
        Descend in the coordinates of the standardized features (centred, scaled by their
        standard deviation; computed on the fly, X is neither copied nor changed), and report
        the coefficients in X's own units. This is what makes gradient descent reach the
        least-squares answer on features far from zero or on different scales.
    momentum : float in [0, 1) or "auto", default="auto"
        Nesterov's momentum; "auto" takes the optimal one for the data's conditioning.
    penalty : None, "l2", "l1" or "elasticnet", default=None
    alpha : float, default=0.0
    l1_ratio : float, default=0.5
        Minimize the mean squared error + alpha * R(w), scikit-learn's names (see `fastgd.fit`;
        the intercept is never penalized; alpha is unused without a penalty). With
        standardize=True (the default) the penalty is on the standardized coefficients, as
        glmnet does; standardize=False penalizes w as scikit-learn's Ridge, Lasso and
        ElasticNet do (docs/models.md has the alpha equivalents).
    loss : "squared_error" or "huber", default="squared_error"
    epsilon : float, default=1.0
        The Huber loss r**2 for |r| <= epsilon, 2 epsilon |r| - epsilon**2 beyond, in y's
        units: robust to outliers (the loop path, on the CPU, the GPU and Dask; see
        `fastgd.fit`).
    positive : bool, default=False
        Constrain the coefficients to be >= 0 (a projection after each step; see
        `fastgd.fit`), as scikit-learn's LinearRegression(positive=True).
    penalty_weights : array of shape (n_features,), default=None
        A weight >= 0 per feature for the penalty's terms (0: unpenalized; glmnet's
        penalty.factor). Needs a penalty.
    coef_bounds : (lower, upper), default=None
        Bounds on the coefficients, each a number or one per feature, None for none
        (scipy's lsq_linear's bounds; positive=True is (0, None)).
    copy_X : bool, default=True
        Accepted for scikit-learn's LinearRegression's sake; fastgd never writes to X (nor
        copies a C-contiguous float array), whatever its value.
    n_jobs : int, default=None
        The CPU threads, LinearRegression's name, where `threads` is None: -1 for all of
        numba's threads, None for fastgd's default (the idle cores).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        (n_targets, n_features) when y is 2-D, as in scikit-learn's LinearRegression.
    intercept_ : float or ndarray of shape (n_targets,)
    lr_ : float
        The learning rate used (the one lr="auto" chose).
    momentum_ : float
        The momentum used (the one momentum="auto" chose).
    n_iter_ : int or ndarray of shape (n_targets,)
        The gradient steps taken (fewer than n_iter when the tolerance was met), per target for
        a 2-D y.
    distance_bound_ : float
        A bound on the distance from the returned parameters to the least-squares optimum, in
        the standardized coordinates (units of y); see `fastgd.FitResult.distance_bound`.
    coef_bound_ : ndarray of shape (n_features,)
        |coef_[j] - optimum[j]| <= coef_bound_[j].
    loss_curve_ : ndarray of shape (n_iter_ + 1,)
        The loss at every iterate, from the starting point (zeros) to the returned parameters.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined only when X has feature names that are all strings (e.g. a pandas DataFrame).
    """

    def __init__(
        self,
        lr: float | Literal["auto"] = "auto",
        n_iter: int = 100_000,
        tol: float | None = 1e-13,
        method: Literal["auto", "loop", "gram"] = "auto",
        device: Literal["auto", "cpu", "cuda"] = "auto",
        threads: int | None = None,
        fit_intercept: bool = True,
        standardize: bool = True,
        momentum: float | Literal["auto"] = "auto",
        penalty: Literal["l2", "l1", "elasticnet"] | None = None,
        alpha: float = 0.0,
        l1_ratio: float = 0.5,
        loss: Literal["squared_error", "huber"] = "squared_error",
        epsilon: float = 1.0,
        positive: bool = False,
        penalty_weights: ArrayLike | None = None,
        coef_bounds: tuple[ArrayLike | None, ArrayLike | None] | None = None,
        copy_X: bool = True,
        n_jobs: int | None = None,
    ) -> None:
        self.lr = lr
        self.n_iter = n_iter
        self.tol = tol
        self.method = method
        self.device = device
        self.threads = threads
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.momentum = momentum
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.loss = loss
        self.epsilon = epsilon
        self.positive = positive
        self.penalty_weights = penalty_weights
        self.coef_bounds = coef_bounds
        self.copy_X = copy_X
        self.n_jobs = n_jobs

    def fit(
        self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> LinearRegressionGD:
        """Fit the model to X (n_samples, n_features; dense, or scipy.sparse: fastgd/sparse.py)
        and y (n_samples,) or, for several
        targets fitted together (one pass over X serves all), (n_samples, n_targets); return
        self."""
        X, y = validate_data(
            self, X, y, dtype=_FLOATS, order="C", y_numeric=True, multi_output=True,
            accept_sparse=_SPARSE,
        )  # fmt: skip
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
        options = self._fit_options(y, sample_weight)
        with warnings.catch_warnings():
            # Said below as scikit-learn's ConvergenceWarning, which its users filter.
            warnings.simplefilter("ignore", errors.ConvergenceWarning)
            result = _fit(
                X, y, **options, sample_weight=sample_weight,
                minimum_norm=True,  # LinearRegression's answer on collinear data
            )  # fmt: skip
        n_iter = options["n_iter"]
        if options["tol"] is not None and not result.converged and np.all(result.n_iter == n_iter):
            warnings.warn(
                self._unconverged_message(result, options), ConvergenceWarning, stacklevel=2
            )
        # A 2-D y has scikit-learn's 2-D shapes, (n, 1) too, which fit() reads as one target.
        one_column = np.ndim(y) == 2 and y.shape[1] == 1
        self.coef_ = result.coef.reshape(1, -1) if one_column else result.coef
        self.intercept_: float | np.ndarray = result.intercept
        if not self.fit_intercept:
            self.intercept_ = 0.0  # as scikit-learn's linear models, whatever y's shape
        elif one_column:
            self.intercept_ = np.array([result.intercept])
        self.n_iter_ = np.array([result.n_iter]) if one_column else result.n_iter
        self.loss_curve_ = result.loss_history.reshape(1, -1) if one_column else result.loss_history
        self.lr_ = result.lr
        self.momentum_ = result.momentum
        self.distance_bound_ = result.distance_bound
        self.coef_bound_ = result.coef_bound
        self._after_fit(X, y, sample_weight)
        return self

    def _after_fit(self, X: Any, y: Any, sample_weight: Any) -> None:
        """A subclass's own attributes, from the checked data (scikit-learn's twins)."""

    def _fit_options(self, y: Any, sample_weight: Any) -> dict:
        """fastgd.fit's keyword arguments for this estimator's parameters."""
        # fit's options that the estimator shares by name (fastgd/options.py's table), as they
        # are; then those it sets itself.
        options = {name: getattr(self, name) for name in _shared_options()}
        # Without a penalty alpha is unused, as in scikit-learn's SGDRegressor (fit() itself
        # refuses the pair, which is more likely a slip there).
        alpha = self.alpha if self.penalty is not None else 0.0
        return options | {"threads": self._threads(), "alpha": alpha}

    # The name of the step budget, for the warning (the scikit-learn twins': max_iter).
    _budget = "n_iter"

    def _threads(self) -> int | None:
        """`threads`, or LinearRegression's `n_jobs` where threads is None (-1: all)."""
        if self.threads is not None or self.n_jobs is None:
            return self.threads
        if self.n_jobs == -1:
            import numba

            return int(numba.config.NUMBA_NUM_THREADS)
        return self.n_jobs  # fit() checks it and names the argument "threads"

    def _unconverged_message(self, result: FitResult, options: dict) -> str:
        worst = ""
        if result.coef_bound is not None and np.isfinite(result.coef_bound).all():
            scale = np.maximum(np.abs(result.coef), np.finfo(np.float64).tiny)
            relative = float(np.max(result.coef_bound / scale))
            worst = (
                f"; the coefficients may still be up to {relative:.2g} (relative, the worst "
                f"of them) from the optimum (distance bound "
                f"{float(np.max(result.distance_bound)):.3g})"
            )
        remedy = f"raise {self._budget}"
        if "standardize" in self._get_param_names() and not options["standardize"]:
            remedy += ", or use standardize=True"
        if "momentum" in self._get_param_names() and options["momentum"] != "auto":
            remedy += ", or momentum='auto'"
        return (
            f"{type(self).__name__} did not reach tol={options['tol']:g} in "
            f"{self._budget}={options['n_iter']} iterations{worst}; {remedy}"
        )

    def predict(self, X: ArrayLike) -> np.ndarray:
        """X @ coef_.T + intercept_, for X of shape (n_samples, n_features): (n_samples,), or
        (n_samples, n_targets) when fitted to several."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=_FLOATS, reset=False, accept_sparse=_SPARSE)
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y of shape (n, k): fitted together
        tags.input_tags.sparse = True  # scipy.sparse X (fastgd/sparse.py)
        return tags


# The estimator's own ways with these: threads (n_jobs too), alpha (unused without a penalty).
_SET_BY_THE_ESTIMATOR = {"threads", "alpha", "sample_weight", "minimum_norm"}


def _shared_options() -> list[str]:
    """The names of fit's options (`options.PARAMETERS`) that LinearRegressionGD's constructor
    takes and passes on as they are."""
    own = LinearRegressionGD._get_param_names()
    return [
        parameter.name
        for parameter in PARAMETERS
        if parameter.name in own and parameter.name not in _SET_BY_THE_ESTIMATOR
    ]
