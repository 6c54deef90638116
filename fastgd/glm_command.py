"""`fastgd fit DATA --loss logistic|poisson|gamma|tweedie`: a generalized linear model, fitted
by Newton's method (fastgd/glm.py), and its measures of fit.

The objective is scikit-learn's, glum's and statsmodels': the mean of half the unit deviance
(the log-loss for logistic regression, as `fastgd.fit(loss="logistic")` minimizes) plus
alpha/2 |w|² with --penalty l2 --alpha alpha, alpha |w|₁ with --penalty l1, and alpha (r |w|₁ +
(1 - r)/2 |w|²) with --penalty elasticnet --l1-ratio r (docs/glm.md). So `--loss tweedie --power 0`
minimizes half the squared error: the same coefficients as `--loss squared_error` without a
penalty.
"""

from __future__ import annotations

import math
import sys
import time
from typing import NamedTuple

import numpy as np

from . import glm
from ._validation import check_data, locate_non_finite
from ._words import plural
from .threads import default_threads

# --loss's names for the families (Tweedie's with --power).
GLM_LOSSES = {"logistic": "binomial", "poisson": "poisson", "gamma": "gamma", "tweedie": None}
NEWTON_TOL = 1e-10  # the last Newton step, relative to the parameters: float64's limit, nearly
NEWTON_STEPS = 100  # Newton's steps unless --iters says otherwise (scikit-learn's max_iter)

# The options of the gradient methods, which a Newton fit (and cross-validation,
# fastgd/cv_command.py) has no use for: (flag, is it given).
GRADIENT_OPTIONS = {
    "--lr": lambda args: args.lr != args.descent_defaults["lr"],
    "--momentum": lambda args: args.momentum is not None,
    "--standardize": lambda args: args.standardize is not None,
    "--plain": lambda args: args.plain,
    "--method": lambda args: args.method != "auto",
    "--b0": lambda args: args.b0 != 0.0,
    "--w0": lambda args: args.w0 is not None,
}
_NOT_FOR_NEWTON = {
    **GRADIENT_OPTIONS,
    "--cv": lambda args: getattr(args, "cv", None) is not None,
    "--positive": lambda args: args.positive,
    "--epsilon": lambda args: args.epsilon is not None,
}


class GLMResult(NamedTuple):
    """What the coefficient table, the model file and the plot take (fastgd/cli.py,
    fastgd/model_file.py, fastgd/plot.py), with a FitResult's names."""

    intercept: float
    coef: np.ndarray
    n_iter: int = 0
    converged: bool = False
    loss: float = math.nan  # the objective: the mean of half the unit deviance, + the penalty
    link: str = "identity"  # "log", "logit" or "identity": the mean from eta = b + x.w
    intercept_bound: float = math.nan
    coef_bound: None = None
    distance_bound: float = math.nan
    method: str = "newton"
    device: str = "cpu"
    lr: float = math.nan
    momentum: float = 0.0
    standardized: bool = False


def family_of(args):
    """The `glm` family --loss (and --power) name, checked."""
    name = GLM_LOSSES[args.loss]
    if name is not None:
        if args.power is not None:
            raise ValueError("--power is Tweedie's: use --loss tweedie, or drop --power")
        return glm.FAMILIES[name]
    return glm.tweedie(1.5 if args.power is None else args.power)


def _refuse_gradient_options(args):
    given = [flag for flag, is_given in _NOT_FOR_NEWTON.items() if is_given(args)]
    if given:
        raise ValueError(
            f"{', '.join(given)}: not for --loss {args.loss}, which is fitted by Newton's method "
            "(no step size, momentum or start; no cross-validation yet: fit each alpha); drop "
            + ("it" if len(given) == 1 else "them")
        )
    if args.alpha is not None and args.penalty is None:
        raise ValueError(
            "--alpha is the penalty's strength: add --penalty l2, l1 or elasticnet, or drop it"
        )

    if args.device == "cuda":
        raise ValueError(f"--loss {args.loss} runs on the CPU only so far; drop --device cuda")


def report_glm(X, y, args, out):
    """Fit the GLM --loss names to X and y, print the fit and its measures (deviance, D²;
    log-loss and accuracy for logistic regression) and return a `GLMResult`."""
    _refuse_gradient_options(args)
    family = family_of(args)
    X, y, _, _ = check_data(X, y)
    if y.ndim != 1:
        raise ValueError(f"--loss {args.loss} fits one target; y has {y.shape[1]} columns")
    if not _all_finite(X, y):
        raise locate_non_finite(X, y)
    y = np.asarray(y, dtype=np.float64)
    family.check_y(y)
    alpha = 0.0 if args.penalty is None else (1.0 if args.alpha is None else float(args.alpha))
    if not alpha >= 0.0:
        raise ValueError(f"--alpha must be >= 0, got {alpha:g}")
    ratio = _L1_SHARE.get(args.penalty, 0.5 if args.l1_ratio is None else float(args.l1_ratio))
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"--l1-ratio must be in [0, 1], got {ratio:g}")
    steps = args.iters if args.iters != args.descent_defaults["n_iter"] else NEWTON_STEPS
    threads = default_threads() if args.threads is None else args.threads
    offset = getattr(args, "offset_values", None)  # --offset's column (fastgd/cli.py)
    if offset is not None and not np.isfinite(offset).all():
        raise ValueError(f"--offset {args.offset} holds NaN or inf: offsets must be finite (a log "
                         "of 0 exposure? drop rows with no exposure)")  # fmt: skip
    start = time.perf_counter()
    solved = glm.fit_glm(
        family, X, y, None, alpha=alpha, fit_intercept=args.fit_intercept,
        tol=NEWTON_TOL if args.tol is None else float(args.tol), max_iter=steps, threads=threads,
        l1_ratio=ratio, offset=offset,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    eta = np.asarray(X @ solved.coef, dtype=np.float64) + solved.intercept
    if offset is not None:
        eta = eta + offset
    deviance = 2.0 * float(np.mean(family.loss(y, eta)))
    coef = ", ".join(repr(float(c)) for c in solved.coef)
    coef = coef if solved.coef.shape[0] == 1 else f"[{coef}]"
    name = "log-loss" if args.loss == "logistic" else "mean deviance"
    measure = deviance / 2.0 if args.loss == "logistic" else deviance
    print(
        f"After {plural(solved.n_iter, 'Newton step')} b = {solved.intercept!r}, m = {coef}, "
        f"{name} = {measure!r}",
        file=out,
    )
    print(
        f"{_model(args, family)}, {_penalty(alpha, args.penalty, ratio)}; "
        f"{plural(len(y), 'point')}, {plural(threads, 'thread')}, fit took {seconds * 1e3:.3g} ms",
        file=out,
    )
    print(_measures(args, family, y, eta, deviance, offset), file=out)
    print(
        "converged: yes" if solved.converged else f"converged: no (the last step was "
        f"{solved.step:.2g} of the parameters; see the warning below)",
        file=out,
    )  # fmt: skip
    if not solved.converged:
        print(
            f"fastgd: warning: Newton's method did not converge in {plural(steps, 'step')}: "
            "raise --iters"
            + (", or add --penalty l2 (separable classes have no optimum without one)"
               if args.loss == "logistic" else ""),
            file=sys.stderr,
        )  # fmt: skip
    return GLMResult(solved.intercept, solved.coef, solved.n_iter, solved.converged,
                     solved.objective, family.link)  # fmt: skip


def _all_finite(X, y, rows=1 << 16):
    """Whether every value is a number, a block of rows at a time (no n x d temporary)."""
    if not np.isfinite(y).all():
        return False
    return all(np.isfinite(X[start : start + rows]).all() for start in range(0, len(X), rows))


def _model(args, family):
    if args.loss == "logistic":
        return "logistic regression (binomial, logit link)"
    return f"{family.describe()}, {family.link} link"


# --penalty's share of l1 (the elastic net's is --l1-ratio's).
_L1_SHARE = {None: 0.0, "l2": 0.0, "l1": 1.0}


def _penalty(alpha, penalty, ratio):
    if alpha == 0.0:
        return "no penalty"
    if penalty == "elasticnet":
        return f"elastic-net penalty alpha {alpha:g}, l1_ratio {ratio:g}"
    return f"{penalty} penalty alpha {alpha:g}"


def _measures(args, family, y, eta, deviance, offset=None):
    """Accuracy for classes; D² (the deviance explained, against the best constant -- with the
    offsets, the best constant added to them) for all."""
    if offset is None:
        null_eta = np.full_like(y, family.link_of(float(np.mean(y))))
    else:
        constant = glm.fit_glm(family, np.empty((y.shape[0], 0)), y, None, alpha=0.0,
                               fit_intercept=True, tol=NEWTON_TOL, max_iter=NEWTON_STEPS,
                               offset=offset)  # fmt: skip
        null_eta = constant.intercept + offset
    null = 2.0 * float(np.mean(family.loss(y, null_eta)))
    explained = 1.0 - deviance / null if null > 0.0 else math.nan
    text = f"D² = {explained:.6g} (deviance {deviance:.6g}, of the best constant {null:.6g})"
    if args.loss == "logistic":
        accuracy = float(np.mean((eta > 0.0) == (y > 0.5)))
        text = f"accuracy = {accuracy:.6g} (predicting 1 where the probability > 0.5); " + text
    return text
