"""fastgd: linear regression by batch gradient descent, compiled with numba.

    result = fastgd.fit(X, y)              # lr="auto", n_iter=1000, method="auto"

Importing fastgd compiles nothing: kernels compile (or load from numba's cache) on first use.
"""

from numba.core import caching as _numba_caching

from . import _cache

_cache.install(_numba_caching.CacheImpl)  # before any kernel module is imported

from .errors import (  # noqa: E402
    ConditioningWarning,
    ConvergenceWarning,
    DeviceError,
    DivergenceError,
    FitInterrupted,
)
from .fit import fit, max_stable_lr  # noqa: E402
from .result import FitResult  # noqa: E402

__all__ = [
    "ConditioningWarning",
    "ConvergenceWarning",
    "DeviceError",
    "DivergenceError",
    "FitInterrupted",
    "FitResult",
    "fit",
    "max_stable_lr",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> type:
    # The scikit-learn estimator loads on first use, so that `import fastgd` needs no sklearn.
    if name == "LinearRegressionGD":
        from .estimator import LinearRegressionGD

        return LinearRegressionGD
    raise AttributeError(f"module 'fastgd' has no attribute {name!r}")
