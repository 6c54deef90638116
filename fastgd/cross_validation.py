"""Cross-validation from one pass: `LassoCVGD`, `ElasticNetCVGD`, `RidgeCVGD`.

scikit-learn's `LassoCV(cv=5)` fits a 100-alpha path five times, each time reading its fold's
training rows many times over (coordinate descent sweeps X), and then fits the chosen alpha on
all the data. A least-squares model's fit and its test error depend on the data only through
moments, so here one pass over X gives every fold's moments (fastgd/folds.py); each training
set's are the other folds' merged, the whole data's all of them merged, and then every fold's
path (fastgd/paths.py), its test errors and the final fit run on (d + 1)-square matrices. X is
read once, whatever the number of folds, alphas and l1_ratios.

A fold's test error at (w, b) from its moments (S_t its weight, means x_t and y_t, centred
products C):

    sum_i s_i (y_i - x_i'w - b)² / S_t = (y_t - x_t'w - b)² + (C_yy - 2 w'C_xy + w'C_xx w) / S_t

Each estimator takes its scikit-learn twin's parameters, alpha in the twin's scale, and finds the
same alpha and coefficients (to the solvers' tolerance); the splitter is scikit-learn's
(`check_cv`: an int, a splitter, or an iterable of (train, test) splits). When the test sets are
not a partition of the rows (ShuffleSplit, say), each split's training and test rows are read on
their own instead: two passes per split, and a warning says so.

X may be a NumPy array (a memory-mapped one too), a scipy.sparse matrix or a Dask array (the
folds' moments computed where the chunks are).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import check_cv
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from . import errors, working_set
from ._validation import is_dask_array
from .coordinate_descent import (
    alpha_grid,
    quadratic,
    ridge_solve,
    solve_path,
)
from .fit import data_moments, fold_moments
from .folds import fold_labels, merged
from .moments import Moments
from .paths import check_alphas, warn_unconverged

_FLOATS = (np.float64, np.float32)
_SPARSE = ("csr", "csc")  # row slices (a COO X becomes CSR)


def test_errors(moments: Moments, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """The weighted mean squared error on data with these moments of each fit (coef (m, d),
    intercept (m,)), from the moments alone (the module doc's formula)."""
    weight = float(moments.weight)
    bias = moments.y_mean - coef @ moments.x_mean - intercept
    xx, xy = moments.xx, moments.xy
    spread = moments.yy - 2.0 * (coef @ xy) + np.einsum("aj,jk,ak->a", coef, xx, coef)
    return bias * bias + np.maximum(spread, 0.0) / weight


def test_r2(moments: Moments, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """R² (scikit-learn's `score`) of each fit on data with these moments."""
    errors_ = test_errors(moments, coef, intercept) * float(moments.weight)
    total = moments.yy
    if total == 0.0:  # a constant y: r2_score's convention
        return np.where(errors_ == 0.0, 1.0, 0.0)
    return 1.0 - errors_ / total


class Folds:
    """The data's moments from the splits: `tests[k]` and `trains[k]`, fold k's test and
    training rows', and `whole`, all the rows'."""

    def __init__(self, X: Any, y: Any, sample_weight: Any, splits: list,
                 threads: int | None) -> None:  # fmt: skip
        n = X.shape[0]
        labels = fold_labels(n, splits)
        if labels is not None:
            self.tests = fold_moments(X, y, sample_weight, labels, threads)
            self.whole = merged(self.tests)
            self.trains = [
                merged([m for f, m in enumerate(self.tests) if f != k]) for k in range(len(splits))
            ]
            return
        warnings.warn(
            f"the {len(splits)} splits' test sets are not a partition of the rows, so each "
            "split's training and test rows are read on their own (two passes over X per "
            "split): use KFold-like splits for one pass",
            errors.PerformanceWarning,
            stacklevel=3,
        )

        def moments_of(rows: np.ndarray) -> Moments:
            rows = np.sort(np.asarray(rows))
            weights = None if sample_weight is None else sample_weight[rows]
            return data_moments(X[rows], y[rows], weights, threads)

        self.trains = [moments_of(train) for train, _ in splits]
        self.tests = [moments_of(test) for _, test in splits]
        self.whole = data_moments(X, y, sample_weight, threads)


def _check_data(estimator: Any, X: Any, y: Any, sample_weight: Any) -> tuple:
    """X, y and sample_weight checked as scikit-learn's CV estimators check them (Dask arrays
    lazily, by fastgd's own checks in the one pass)."""
    if is_dask_array(X) or is_dask_array(y):
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
        estimator.n_features_in_ = X.shape[1]
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D (one target), got shape {y.shape}")
        return X, y, sample_weight
    X, y = validate_data(
        estimator, X, y, dtype=_FLOATS, order="C", y_numeric=True, multi_output=True,
        accept_sparse=_SPARSE,
    )  # fmt: skip
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)  # scikit-learn's DataConversionWarning
    if y.ndim != 1:
        raise ValueError(
            f"y must be 1-D (one target), got shape {y.shape}: fit one estimator per column "
            "(scikit-learn's MultiTask*CV models fit several with a joint penalty)"
        )
    if sample_weight is not None:
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
        )
    return X, y, sample_weight


def _splits(cv: Any, X: Any, y: Any, groups: Any) -> list:
    """The (train, test) index pairs of scikit-learn's `check_cv(cv)` on these rows."""
    splitter = check_cv(cv)
    rows = np.empty((X.shape[0], 0))  # a Dask X need not be read to be split
    target = None if is_dask_array(y) else y
    return list(splitter.split(rows, target, groups))


def _threads(estimator: Any) -> int | None:
    n_jobs = estimator.n_jobs
    if n_jobs == -1:
        import numba

        return int(numba.config.NUMBA_NUM_THREADS)
    return n_jobs


class _Fitted(RegressorMixin, BaseEstimator):
    """What the three share: predict, and the coefficients in X's precision."""

    coef_: np.ndarray
    intercept_: Any

    def predict(self, X: Any) -> Any:
        """X @ coef_ + intercept_ (lazily for a Dask X)."""
        check_is_fitted(self)
        if is_dask_array(X):
            return X @ self.coef_ + self.intercept_
        X = validate_data(self, X, dtype=_FLOATS, reset=False, accept_sparse=_SPARSE)
        return np.asarray(X @ self.coef_).ravel() + self.intercept_

    def _store(self, X: Any, coef: np.ndarray, intercept: float) -> None:
        dtype = X.dtype if X.dtype in _FLOATS else np.float64
        self.coef_ = np.asarray(coef, dtype=dtype)
        self.intercept_ = np.asarray(intercept if self.fit_intercept else 0.0, dtype=dtype)[()]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class ElasticNetCVGD(_Fitted):
    """scikit-learn's `ElasticNetCV`, every fold's path from one pass over X.

    Parameters are `ElasticNetCV`'s, in its scale (alpha of `ElasticNet`); l1_ratio a number or
    a list (every one cross-validated). `precompute`, `copy_X`, `verbose`, `random_state` and
    `selection` are accepted and change nothing (the solver is coordinate descent on the
    moments, cyclic; X is never written to); `n_jobs` is the CPU threads of the one pass
    (-1: all). tol and max_iter are the coordinate descent's, as scikit-learn's: a duality gap
    below tol times y's variance, at most max_iter sweeps per alpha (sweeps over d x d numbers,
    not over X).

    Attributes are `ElasticNetCV`'s: alpha_, l1_ratio_, coef_, intercept_, mse_path_ (l1_ratios,
    alphas, folds), alphas_, dual_gap_, n_iter_.
    """

    _l1_ratio_fixed: float | None = None

    def __init__(
        self,
        *,
        l1_ratio: Any = 0.5,
        eps: float = 1e-3,
        alphas: Any = 100,
        fit_intercept: bool = True,
        precompute: Any = "auto",
        max_iter: int = 1000,
        tol: float = 1e-4,
        cv: Any = None,
        copy_X: bool = True,
        verbose: Any = 0,
        n_jobs: int | None = None,
        positive: bool = False,
        random_state: Any = None,
        selection: str = "cyclic",
    ) -> None:
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.tol = tol
        self.cv = cv
        self.copy_X = copy_X
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.positive = positive
        self.random_state = random_state
        self.selection = selection

    def _l1_ratios(self) -> np.ndarray:
        if self._l1_ratio_fixed is not None:
            return np.array([self._l1_ratio_fixed])
        ratios = np.atleast_1d(np.asarray(self.l1_ratio, dtype=np.float64))
        if ratios.ndim != 1 or ratios.size == 0 or np.any((ratios < 0) | (ratios > 1)):
            raise ValueError(f"l1_ratio must be in [0, 1] (or a list of such), got {self.l1_ratio}")
        return ratios

    def fit(self, X: Any, y: Any, sample_weight: Any = None, **params: Any) -> ElasticNetCVGD:
        """Choose alpha (and l1_ratio) by cross-validation, then fit it on all of X and y.
        `groups=` goes to the splitter (GroupKFold's groups)."""
        if self.selection not in ("cyclic", "random"):
            raise ValueError(f"selection must be 'cyclic' or 'random', got {self.selection!r}")
        ratios = self._l1_ratios()
        alphas_given = check_alphas(self.alphas)
        X, y, sample_weight = _check_data(self, X, y, sample_weight)
        splits = _splits(self.cv, X, y, params.pop("groups", None))
        if params:
            raise TypeError(f"fit got unexpected arguments {sorted(params)}: only groups=")
        if not is_dask_array(X) and working_set.wide(X.shape) and np.all(ratios > 0):
            solver: Any = _WideFolds(X, y, sample_weight, splits, self)
        else:
            solver = _MomentFolds(X, y, sample_weight, splits, self)
        grids = []
        paths = []
        for ratio in ratios:
            if isinstance(alphas_given, int):
                grid = solver.grid(float(ratio), alphas_given)
            else:
                grid = alphas_given
            grids.append(grid)
            per_fold = []
            for k in range(len(splits)):
                fits, errors_ = solver.fold(k, grid, float(ratio))
                where = f" on fold {k}" + (f" (l1_ratio={ratio:g})" if ratios.size > 1 else "")
                _warn(grid, fits, self.tol, self.max_iter, where)
                per_fold.append(errors_)
            paths.append(per_fold)
        mse = np.asarray(paths)  # (l1_ratios, folds, alphas)
        mean = mse.mean(axis=1)
        best_mse = np.inf
        for ratio, grid, curve in zip(ratios, grids, mean):
            i = int(np.argmin(curve))
            if curve[i] < best_mse:
                best_mse, self.alpha_, self.l1_ratio_ = curve[i], float(grid[i]), float(ratio)
        self.mse_path_ = np.squeeze(np.moveaxis(mse, 2, 1))
        if isinstance(alphas_given, int):
            self.alphas_ = np.asarray(grids) if ratios.size > 1 else grids[0]
        else:
            self.alphas_ = grids[0]
        coef, intercept, self.dual_gap_, self.n_iter_ = solver.refit(self.alpha_, self.l1_ratio_)
        if self.dual_gap_ > self.tol * solver.yy:
            warnings.warn(
                f"coordinate descent did not reach tol={self.tol:g} in max_iter={self.max_iter} "
                f"sweeps at the chosen alpha={self.alpha_:.3g} (duality gap "
                f"{self.dual_gap_:.3g}); raise max_iter or tol",
                ConvergenceWarning,
                stacklevel=2,
            )
        self._store(X, coef, intercept)
        return self


class _MomentFolds:
    """Every fold's path and test errors from the folds' moments (one pass over X)."""

    def __init__(self, X: Any, y: Any, sample_weight: Any, splits: list, model: Any) -> None:
        self.model = model
        self.folds = Folds(X, y, sample_weight, splits, _threads(model))
        self.whole = quadratic(self.folds.whole, model.fit_intercept)
        self.trains = [quadratic(m, model.fit_intercept) for m in self.folds.trains]
        self.yy = self.whole.yy

    def grid(self, ratio: float, n_alphas: int) -> np.ndarray:
        return alpha_grid(self.whole, ratio, self.model.positive, n_alphas, self.model.eps)

    def fold(self, k: int, grid: np.ndarray, ratio: float) -> tuple:
        model = self.model
        fits = solve_path(self.trains[k], grid, ratio, model.positive, model.tol, model.max_iter)
        return fits, test_errors(self.folds.tests[k], fits.coef, fits.intercept)

    def refit(self, alpha: float, ratio: float) -> tuple:
        """The chosen alpha's fit on all the data, from zero (as scikit-learn refits)."""
        model = self.model
        fit = solve_path(self.whole, np.array([alpha]), ratio, model.positive, model.tol,
                         model.max_iter)  # fmt: skip
        return fit.coef[0], float(fit.intercept[0]), float(fit.dual_gap[0]), int(fit.n_iter[0])


class _WideFolds:
    """X too wide for moments: each fold's training rows (a copy, as scikit-learn takes them)
    by working sets (fastgd/working_set.py), its test rows' errors from their predictions."""

    def __init__(self, X: Any, y: Any, sample_weight: Any, splits: list, model: Any) -> None:
        self.model = model
        self.X, self.y, self.s, self.splits = X, y, sample_weight, splits
        self.whole = working_set.Data(X, y, sample_weight, model.fit_intercept)
        self.trains: dict = {}
        self.yy = self.whole.yy

    def grid(self, ratio: float, n_alphas: int) -> np.ndarray:
        return working_set.alpha_grid(self.whole, ratio, self.model.positive, n_alphas,
                                      self.model.eps)  # fmt: skip

    def fold(self, k: int, grid: np.ndarray, ratio: float) -> tuple:
        model = self.model
        train, test = (np.sort(np.asarray(rows)) for rows in self.splits[k])
        if k not in self.trains:
            weights = None if self.s is None else self.s[train]
            self.trains[k] = working_set.Data(self.X[train], self.y[train], weights,
                                              model.fit_intercept)  # fmt: skip
        fits = working_set.solve_path(self.trains[k], grid, ratio, model.positive, model.tol,
                                      model.max_iter)  # fmt: skip
        predicted = np.asarray(self.X[test] @ fits.coef.T) + fits.intercept
        squared = (predicted - self.y[test][:, None]) ** 2
        weights = None if self.s is None else self.s[test]
        return fits, np.average(squared, axis=0, weights=weights)

    def refit(self, alpha: float, ratio: float) -> tuple:
        model = self.model
        solution = working_set.solve(self.whole, alpha, ratio, model.positive, model.tol,
                                     model.max_iter)  # fmt: skip
        return solution.coef, solution.intercept, solution.dual_gap, solution.n_iter


def _warn(alphas: np.ndarray, fits: Any, tol: float, max_iter: int, where: str) -> None:
    """`paths.warn_unconverged` as scikit-learn's ConvergenceWarning (which its users filter)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", errors.ConvergenceWarning)
        warn_unconverged(alphas, fits, tol, max_iter, where)
    for warning in caught:
        warnings.warn(str(warning.message), ConvergenceWarning, stacklevel=4)


class LassoCVGD(ElasticNetCVGD):
    """scikit-learn's `LassoCV`, every fold's path from one pass over X (see `ElasticNetCVGD`;
    the L1 penalty alone)."""

    _l1_ratio_fixed = 1.0

    def __init__(
        self,
        *,
        eps: float = 1e-3,
        alphas: Any = 100,
        fit_intercept: bool = True,
        precompute: Any = "auto",
        max_iter: int = 1000,
        tol: float = 1e-4,
        copy_X: bool = True,
        cv: Any = None,
        verbose: Any = False,
        n_jobs: int | None = None,
        positive: bool = False,
        random_state: Any = None,
        selection: str = "cyclic",
    ) -> None:
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.tol = tol
        self.copy_X = copy_X
        self.cv = cv
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.positive = positive
        self.random_state = random_state
        self.selection = selection

    def fit(self, X: Any, y: Any, sample_weight: Any = None, **params: Any) -> LassoCVGD:
        super().fit(X, y, sample_weight, **params)
        del self.l1_ratio_  # LassoCV has none
        return self


class RidgeCVGD(_Fitted):
    """scikit-learn's `RidgeCV` from the moments: the ridge fits of every alpha are d x d solves.

    cv=None (the default) scores each alpha by its exact leave-one-out squared error, as
    `RidgeCV` does: one pass for the moments, one more for each row's leverage and residual
    under every alpha at once (blocks of rows times the moments' eigenvectors). An int or a
    splitter scores by R² on each test fold from one pass (fastgd/folds.py), as RidgeCV's grid
    search does. scoring=None only (scikit-learn's default: those two scores); gcv_mode is
    accepted and changes nothing. One target (a 1-D y).

    Attributes: alpha_, best_score_, coef_, intercept_, and cv_results_ (n_samples, n_alphas:
    each row's leave-one-out squared error) with store_cv_results=True and cv=None; fastgd's
    own: alphas_ (the alphas tried) and, with cv=, fold_scores_ (n_folds, n_alphas: each
    fold's R²).
    """

    def __init__(
        self,
        alphas: Any = (0.1, 1.0, 10.0),
        *,
        fit_intercept: bool = True,
        scoring: Any = None,
        cv: Any = None,
        gcv_mode: Any = None,
        store_cv_results: bool = False,
        alpha_per_target: bool = False,
        n_jobs: int | None = None,
    ) -> None:
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.scoring = scoring
        self.cv = cv
        self.gcv_mode = gcv_mode
        self.store_cv_results = store_cv_results
        self.alpha_per_target = alpha_per_target
        self.n_jobs = n_jobs

    def _check_alphas(self) -> np.ndarray:
        alphas = np.atleast_1d(np.asarray(self.alphas, dtype=np.float64))
        smallest_allowed = "> 0" if self.cv is None else ">= 0"
        bad = alphas <= 0 if self.cv is None else alphas < 0
        if alphas.ndim != 1 or alphas.size == 0 or np.any(bad) or not np.all(np.isfinite(alphas)):
            raise ValueError(f"alphas must be finite and {smallest_allowed}, got {self.alphas}")
        return alphas

    def fit(self, X: Any, y: Any, sample_weight: Any = None, **params: Any) -> RidgeCVGD:
        """Choose alpha by leave-one-out (cv=None) or K-fold cross-validation, then fit it on
        all of X and y."""
        if self.scoring is not None:
            raise ValueError(
                f"scoring={self.scoring!r}: RidgeCVGD scores as RidgeCV's default (scoring=None: "
                "the leave-one-out squared error, or R² per fold); use scikit-learn's RidgeCV "
                "for another score"
            )
        alphas = self._check_alphas()
        X, y, sample_weight = _check_data(self, X, y, sample_weight)
        if self.cv is not None and self.store_cv_results:
            raise ValueError("cv!=None and store_cv_results=True are incompatible")
        if self.cv is not None and self.alpha_per_target:
            raise ValueError("cv!=None and alpha_per_target=True are incompatible")
        groups = params.pop("groups", None)
        if params:
            raise TypeError(f"fit got unexpected arguments {sorted(params)}: only groups=")
        if self.cv is None:
            whole = data_moments(X, y, sample_weight, _threads(self))
            scores, squared = _leave_one_out(X, y, sample_weight, whole, alphas,
                                             self.fit_intercept, self.store_cv_results)  # fmt: skip
            if self.store_cv_results:
                self.cv_results_ = squared
        else:
            splits = _splits(self.cv, X, y, groups)
            # Each fold's R² weighted as the fit is (GridSearchCV passes the weights to score).
            folds = Folds(X, y, sample_weight, splits, _threads(self))
            whole = folds.whole
            per_fold = []
            for train, test in zip(folds.trains, folds.tests):
                coef, intercept = _ridge_fits(train, alphas, self.fit_intercept)
                per_fold.append(test_r2(test, coef, intercept))
            self.fold_scores_ = np.asarray(per_fold)
            scores = self.fold_scores_.mean(axis=0)
        self.alphas_ = alphas
        best = int(np.argmax(scores))
        self.alpha_ = float(alphas[best]) if np.ndim(self.alphas) else float(self.alphas)
        self.best_score_ = float(scores[best])
        coef, intercept = _ridge_fits(whole, alphas[best : best + 1], self.fit_intercept)
        self._store(X, coef[0], float(intercept[0]))
        return self


def _ridge_fits(moments: Moments, alphas: np.ndarray, fit_intercept: bool) -> tuple:
    """Ridge's (coef (m, d), intercept (m,)) for each alpha in its own scale
    (||y - Xw - b||² weighted + alpha ||w||²), from the moments."""
    problem = quadratic(moments, fit_intercept)
    weight = float(moments.weight)
    coef = np.array([ridge_solve(problem, float(a) / weight)[0] for a in alphas])
    return coef, problem.y_mean - coef @ problem.x_mean


_LOO_BLOCK_ROWS = 65_536


def _leave_one_out(X: Any, y: Any, sample_weight: Any, moments: Moments, alphas: np.ndarray,
                   fit_intercept: bool, store: bool) -> tuple:  # fmt: skip
    """Each alpha's score (minus the mean leave-one-out squared error, in RidgeCV's weighted
    sense) and, if `store`, each row's squared error (n, m); from a pass over the rows.

    With the eigenvectors V and eigenvalues l of the centred weighted X'X (or uncentred,
    without an intercept), row i's leverage under alpha is s_i (1/S + sum_j z_ij² / (l_j +
    alpha)) with z_i = V'(x_i - mean) (the 1/S only with an intercept), its residual r_i that of
    the fit on all rows, and its left-out error r_i / (1 - leverage) (times sqrt(s_i))."""
    problem = quadratic(moments, fit_intercept)
    weight = float(moments.weight)
    eigenvalues, vectors = np.linalg.eigh(problem.gram * weight)
    coef, intercept = _ridge_fits(moments, alphas, fit_intercept)
    rotated = coef @ vectors  # (m, d): each fit's coefficients in the eigenvectors' basis
    inverse = 1.0 / (eigenvalues[:, None] + alphas[None, :])  # (d, m)
    x_mean = problem.x_mean
    offset = x_mean @ vectors
    base = 1.0 / weight if fit_intercept else 0.0
    n = X.shape[0]
    total = np.zeros(alphas.size)
    squared = np.empty((n, alphas.size)) if store else None
    dask = is_dask_array(X)
    for start in range(0, n, _LOO_BLOCK_ROWS):
        stop = min(start + _LOO_BLOCK_ROWS, n)
        block = X[start:stop]
        if dask:
            block = block.compute()
        z = np.asarray(block @ vectors) - offset  # (rows, d)
        y_block = np.asarray(y[start:stop], dtype=np.float64)
        if dask:
            y_block = np.asarray(y[start:stop].compute(), dtype=np.float64)
        s = np.ones(stop - start)
        if sample_weight is not None:
            s = np.asarray(sample_weight[start:stop], dtype=np.float64)
            if dask:
                s = np.asarray(sample_weight[start:stop].compute(), dtype=np.float64)
        fitted = z @ rotated.T + (intercept + rotated @ offset)[None, :]  # x'w + b per alpha
        residual = y_block[:, None] - fitted
        leverage = s[:, None] * (base + (z * z) @ inverse)
        errors_ = s[:, None] * (residual / (1.0 - leverage)) ** 2
        total += errors_.sum(axis=0)
        if squared is not None:
            squared[start:stop] = errors_
    return -total / n, squared
