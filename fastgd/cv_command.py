"""`fastgd fit DATA --penalty l1|elasticnet|l2 --cv K`: choose alpha by K-fold cross-validation
(fastgd/cross_validation.py: every fold's fits from one pass over the data), print the curve
and the chosen alpha's fit on all the data; `--plot` draws the curve.

alpha is in scikit-learn's scale, as `LassoCV`, `ElasticNetCV` and `RidgeCV` choose it: the
lasso and the elastic net minimize ||y - Xw - b||² / (2 n) + alpha (l1_ratio |w|₁ +
(1 - l1_ratio) |w|² / 2), ridge ||y - Xw - b||² + alpha |w|². The folds are consecutive rows
(scikit-learn's KFold without shuffling); the lasso's and the elastic net's alphas are
scikit-learn's grid of 100 from alpha_max down, ridge's 41 around the data's own scale.
"""

from __future__ import annotations

import time

import numpy as np

from ._validation import check_data, locate_non_finite
from ._words import plural
from .coordinate_descent import quadratic
from .fit import data_moments
from .glm_command import GRADIENT_OPTIONS

# The options of the gradient methods and of other fits, which cross-validation has no use for:
# (flag, is it given).
_NOT_FOR_CV = {
    **GRADIENT_OPTIONS,
    "--epsilon": lambda args: args.epsilon is not None,
    "--alpha": lambda args: args.alpha is not None,
    "--save": lambda args: getattr(args, "save", None) is not None,
    "--device": lambda args: args.device == "cuda",
}
_SHOWN_ROWS = 12  # rows of the curve printed (every alpha is in --plot's picture)
RIDGE_ALPHAS = 41


def _check(args):
    if args.loss != "squared_error":
        raise ValueError(
            f"--cv cross-validates the least-squares penalties; --loss {args.loss} is not "
            "built for it yet: drop --cv (and choose --alpha yourself), or --loss"
        )
    if args.penalty is None:
        raise ValueError("--cv chooses a penalty's alpha: add --penalty l1, elasticnet or l2")
    given = [flag for flag, is_given in _NOT_FOR_CV.items() if is_given(args)]
    if given:
        raise ValueError(
            f"{', '.join(given)}: not for --cv, which chooses alpha and fits by coordinate "
            "descent on the data's moments (no step size, momentum, start or model file); "
            "drop " + ("it" if len(given) == 1 else "them")
        )
    if args.cv < 2:
        raise ValueError(f"--cv must be at least 2 folds, got {args.cv}")


def _model(args, X, y):
    """The scikit-learn twin that cross-validates --penalty, and what its alpha means."""
    try:
        from sklearn.model_selection import KFold

        from . import cross_validation
    except ImportError:
        raise ValueError(
            "--cv needs scikit-learn: python3 -m pip install 'fastgd[sklearn]'"
        ) from None
    folds = KFold(args.cv)
    common = {"fit_intercept": args.fit_intercept, "cv": folds, "n_jobs": args.threads}
    if args.penalty == "l2":
        # Ridge's alpha is in the units of X'X: a grid around its mean diagonal (from the
        # moments: X is not copied to be centred).
        problem = quadratic(data_moments(X, y, None, args.threads), args.fit_intercept)
        scale = max(float(np.trace(problem.gram)) * X.shape[0] / X.shape[1], 1e-300)
        alphas = scale * np.geomspace(1e-6, 1e2, RIDGE_ALPHAS)
        model = cross_validation.RidgeCVGD(alphas=alphas, **common)
        return model, "ridge: ||y - Xw - b||² + alpha |w|²"
    if args.penalty == "l1":
        if args.positive:
            common["positive"] = True
        model = cross_validation.LassoCVGD(tol=1e-10, max_iter=100_000, **common)
        return model, "the lasso: ||y - Xw - b||²/(2n) + alpha |w|₁"
    ratio = 0.5 if args.l1_ratio is None else float(args.l1_ratio)
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"--l1-ratio must be in (0, 1] for --cv, got {ratio:g}")
    model = cross_validation.ElasticNetCVGD(l1_ratio=ratio, tol=1e-10, max_iter=100_000,
                                            positive=args.positive, **common)  # fmt: skip
    return model, (
        f"the elastic net: ||y - Xw - b||²/(2n) + alpha ({ratio:g} |w|₁ + {(1 - ratio) / 2:g} |w|²)"
    )


def curve(model):
    """(alphas, each alpha's mean test error over the folds, their standard deviation), in
    decreasing order of alpha; the error is the mean squared error (for ridge, 1 - R²)."""
    if hasattr(model, "mse_path_"):
        path = model.mse_path_  # (alphas, folds)
        return np.asarray(model.alphas_), path.mean(axis=1), path.std(axis=1)
    order = np.argsort(model.alphas_)[::-1]
    errors = 1.0 - model.fold_scores_[:, order]  # (folds, alphas)
    return model.alphas_[order], errors.mean(axis=0), errors.std(axis=0)


def report_cv(X, y, args, out):
    """Cross-validate --penalty's alpha on X and y, print the curve, the chosen alpha and its
    fit on all the data; return the fitted scikit-learn twin."""
    _check(args)
    X, y, _, _ = check_data(X, y)
    if y.ndim != 1:
        raise ValueError(f"--cv fits one target; y has {y.shape[1]} columns")
    problem = locate_non_finite(X, y)
    if problem is not None:
        raise problem
    model, objective = _model(args, X, y)
    start = time.perf_counter()
    model.fit(X, y)
    seconds = time.perf_counter() - start
    alphas, mean, spread = curve(model)
    error_name = "1 - R²" if args.penalty == "l2" else "mean squared error"
    print(
        f"{args.cv}-fold cross-validation of {objective}; {plural(len(alphas), 'alpha')}, "
        f"{plural(len(y), 'point')}, took {seconds * 1e3:.3g} ms",
        file=out,
    )
    chosen = int(np.argmin(np.abs(alphas - model.alpha_)))
    shown = sorted(set(np.linspace(0, len(alphas) - 1, _SHOWN_ROWS).round().astype(int))
                   | {chosen})  # fmt: skip
    print(f"{'alpha':>12}  {error_name} (mean over the folds ± sd)", file=out)
    for i in shown:
        mark = "  <- chosen" if i == chosen else ""
        print(f"{alphas[i]:12.4g}  {mean[i]:.6g} ± {spread[i]:.2g}{mark}", file=out)
    coef = ", ".join(repr(float(c)) for c in model.coef_)
    coef = coef if model.coef_.shape[0] == 1 else f"[{coef}]"
    print(f"chosen alpha = {model.alpha_:.6g}", file=out)
    print(
        f"fit on all the data: b = {float(model.intercept_)!r}, m = {coef}; "
        f"{plural(int(np.count_nonzero(model.coef_)), 'nonzero coefficient')} of "
        f"{model.coef_.shape[0]}",
        file=out,
    )
    if args.plot is not None:
        from .plot import save_cv_curve

        save_cv_curve(alphas, mean, spread, model.alpha_, error_name, objective, args.plot)
        print(f"plot saved to {args.plot}", file=out)
    return model
