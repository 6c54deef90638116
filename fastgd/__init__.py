"""fastgd: linear regression by batch gradient descent, compiled with numba.

    result = fastgd.fit(X, y)                      # the least-squares optimum, certified
    result = fastgd.gradient_descent(x, y, lr=1e-4)  # the lecture's plain descent, 1000 steps

Importing fastgd compiles nothing: kernels compile (or load from numba's cache) on first use.
"""

from numba.core import caching as _numba_caching

from . import _cache

_cache.install(_numba_caching.CacheImpl)  # before any kernel module is imported
_cache.install_race_free_files(_numba_caching)

from .errors import (  # noqa: E402
    ConditioningWarning,
    ConvergenceWarning,
    DeviceError,
    DivergenceError,
    FitInterrupted,
)
from .fit import fit, gradient_descent, max_stable_lr  # noqa: E402
from .paths import Path, path  # noqa: E402
from .result import FitResult  # noqa: E402

__all__ = [
    "ConditioningWarning",
    "ConvergenceWarning",
    "DeviceError",
    "DivergenceError",
    "FitInterrupted",
    "FitResult",
    "Path",
    "fit",
    "gradient_descent",
    "max_stable_lr",
    "path",
]
__version__ = "0.1.0"


# The scikit-learn estimators, by the module that defines them: loaded on first use, so that
# `import fastgd` needs no sklearn.
_ESTIMATORS = {
    "LinearRegressionGD": "estimator",
    "RidgeGD": "sklearn_twins",
    "LassoGD": "sklearn_twins",
    "ElasticNetGD": "sklearn_twins",
    "HuberRegressorGD": "sklearn_twins",
    "PoissonRegressorGD": "sklearn_twins",
    "GammaRegressorGD": "sklearn_twins",
    "TweedieRegressorGD": "sklearn_twins",
    "LogisticRegressionGD": "sklearn_twins",
    "LassoCVGD": "cross_validation",
    "ElasticNetCVGD": "cross_validation",
    "RidgeCVGD": "cross_validation",
}


def __getattr__(name: str) -> type:
    if name in _ESTIMATORS:
        import importlib

        return getattr(importlib.import_module(f".{_ESTIMATORS[name]}", __name__), name)
    raise AttributeError(f"module 'fastgd' has no attribute {name!r}")


def __dir__() -> list[str]:
    # The API, not the modules that importing it loaded (fastgd.fit's, the kernels').
    # The estimators too, which load scikit-learn on first use (so not in __all__).
    return sorted([*__all__, *_ESTIMATORS, "__version__"])
