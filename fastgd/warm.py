"""Compiling the common fits' kernels ahead of a user's first fit: `fastgd compile`.

A fit compiles its kernels on first use, seconds each (bench/first_calls.py times them), and
numba keeps them in its on-disk cache, so only the first process pays. A Docker image, a CI job
or a shared machine can pay once, when it is built: `warm_cache` runs a tiny fit of each common
kind, which compiles (or finds in the cache) exactly the kernels that fits of that kind need on
data of any size. A kernel depends on the data's dtype and layout, the number of features (1, 2,
more), the sample weights, standardization, the loss (a GLM's family) and the threads, never on
the number of rows (which decides only whether a fit's passes take the compiled kernels, as
these fits are made to): so each fit here takes 64 rows. numba's cache is specific to the
CPU model, so run it on the machine (or the kind of machine) that will fit.
"""

import time
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import numba
import numpy as np

from . import _config
from .fit import fit


class CommonFit(NamedTuple):
    name: str  # what a user would call it
    n_features: int
    dtype: Any
    options: dict  # fit's keyword arguments (glm.fit_glm's for Newton's)
    weighted: bool = False
    newton: bool = False  # a generalized linear model's Newton steps (fastgd/glm.py)
    family: str = "binomial"  # the GLM's family (families.FAMILIES), or "tweedie" (power 1.5)


def common_fits():
    """The fits whose kernels `warm_cache` compiles: each kind a user's first fit is likely to
    be (the defaults on one feature and several, the loop in its three layouts, on one thread
    and on several, float32, sample weights, the plain descent of `gradient_descent`, the
    Huber loss, the generalized linear models, the l1 penalty's coordinate descent)."""
    fits = [
        CommonFit("1 feature, defaults", 1, np.float64, {}),
        CommonFit("8 features, defaults", 8, np.float64, {}),
        CommonFit("loop, 1 feature", 1, np.float64, {"method": "loop", "threads": 1}),
        CommonFit("loop, 2 features", 2, np.float64, {"method": "loop", "threads": 1}),
        CommonFit("loop, 8 features", 8, np.float64, {"method": "loop", "threads": 1}),
        CommonFit("loop, float32", 8, np.float32, {"method": "loop", "threads": 1}),
        CommonFit(
            "loop, sample weights", 8, np.float64, {"method": "loop", "threads": 1}, weighted=True
        ),
        CommonFit(
            "loop, plain gradient descent",
            8,
            np.float64,
            {"method": "loop", "threads": 1, "standardize": False, "momentum": 0.0, "tol": None},
        ),
        CommonFit("Huber loss", 8, np.float64, {"loss": "huber", "threads": 1}),
        # The Newton pass is compiled per family (its row math a type) and serves every thread
        # count; Tweedie's serves every power but 0, 1 and 2.
        CommonFit("logistic regression (Newton)", 8, np.float64, {}, newton=True),
        CommonFit("Poisson regression (Newton)", 8, np.float64, {}, newton=True,
                  family="poisson"),
        CommonFit("Gamma regression (Newton)", 8, np.float64, {}, newton=True, family="gamma"),
        CommonFit("Tweedie regression (Newton)", 8, np.float64, {}, newton=True,
                  family="tweedie"),
        # Proximal Newton's coordinate descent: also fastgd.path's and the CV twins'.
        CommonFit("GLMs with l1, paths, cross-validation (coordinate descent)", 8, np.float64,
                  {"l1_ratio": 1.0}, newton=True, family="poisson"),
    ]  # fmt: skip
    if numba.config.NUMBA_NUM_THREADS > 1:  # one parallel kernel serves every thread count
        fits.append(CommonFit("loop, several threads", 8, np.float64,
                              {"method": "loop", "threads": 2}))  # fmt: skip
    return fits


def _run(common):
    # 64 rows and 2 steps: a fit this small stops on its budget (a ConvergenceWarning) and may
    # look ill-conditioned; neither matters here.
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, common.n_features)).astype(common.dtype)
    y = (X.sum(axis=1) + 1.0).astype(common.dtype)
    weights = rng.uniform(0.5, 2.0, size=64).astype(common.dtype) if common.weighted else None
    if common.newton:
        from . import glm

        family = glm.tweedie(1.5) if common.family == "tweedie" else glm.FAMILIES[common.family]
        targets = (y > np.median(y)).astype(np.float64)  # classes; counts, amounts: + 1
        targets += 0.0 if common.family == "binomial" else 1.0
        glm.fit_glm(family, X, targets, weights, alpha=0.01, fit_intercept=True, tol=1e-8,
                    max_iter=2, **common.options)  # fmt: skip
        family.loss(targets, X.sum(axis=1))  # the row terms alone: small data's pass
        return
    fit(X[:, 0] if common.n_features == 1 else X, y, sample_weight=weights, n_iter=2,
        **common.options)  # fmt: skip


def warm_cache(fits=None, progress: Callable[[int, int, str, float], None] | None = None):
    """Compile (or load from numba's cache) the kernels of `fits` (default: `common_fits()`);
    `progress(i, count, name, seconds)` after each. Return the seconds it took."""
    fits = common_fits() if fits is None else fits
    start = time.perf_counter()
    # The moment pass that larger data takes: 64 rows would take NumPy's (moments.uses_kernel).
    threshold, _config.PASS_KERNEL_MIN_VALUES = _config.PASS_KERNEL_MIN_VALUES, 0
    try:
        for i, common in enumerate(fits, 1):
            began = time.perf_counter()
            with warnings.catch_warnings():
                _run(common)
            if progress is not None:
                progress(i, len(fits), common.name, time.perf_counter() - began)
    finally:
        _config.PASS_KERNEL_MIN_VALUES = threshold
    return time.perf_counter() - start
