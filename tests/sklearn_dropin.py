"""A pytest plugin that runs scikit-learn's own test files against fastgd's twins.

Loaded with `-p sklearn_dropin` (tests/ on the path) while pytest runs an installed
`sklearn/linear_model/tests/test_*.py` (tests/test_sklearn_suite.py does): in every collected
test module, each scikit-learn estimator named in the FASTGD_DROPIN environment variable
(comma-separated; LinearRegression by default) becomes its fastgd twin, and only those: the
others a test file uses as references (test_huber.py's Ridge, LinearRegression) stay
scikit-learn's.
"""

import os

from fastgd import (
    ElasticNetGD,
    GammaRegressorGD,
    HuberRegressorGD,
    LassoGD,
    LinearRegressionGD,
    LogisticRegressionGD,
    PoissonRegressorGD,
    RidgeGD,
    TweedieRegressorGD,
)


class LinearRegressionDropIn(LinearRegressionGD):
    """LinearRegressionGD with scikit-learn's LinearRegression signature (and fastgd's defaults:
    tol=1e-13 where LinearRegression has 1e-6, for its sparse solver)."""

    def __init__(self, *, fit_intercept=True, copy_X=True, tol=1e-13, n_jobs=None, positive=False):
        super().__init__(
            fit_intercept=fit_intercept, copy_X=copy_X, tol=tol, n_jobs=n_jobs, positive=positive
        )


class RidgeDropIn(RidgeGD):
    """RidgeGD running its one solver whatever `solver` names: scikit-learn's tests run each of
    its solvers by name, and each such test then checks fastgd's."""

    def _fastgd_alpha(self, n_rows, total_weight):
        solver, self.solver = self.solver, "auto"
        try:
            return super()._fastgd_alpha(n_rows, total_weight)
        finally:
            self.solver = solver


TWINS = {
    "LinearRegression": LinearRegressionDropIn,
    "Ridge": RidgeDropIn,
    "Lasso": LassoGD,
    "ElasticNet": ElasticNetGD,
    "HuberRegressor": HuberRegressorGD,
    "PoissonRegressor": PoissonRegressorGD,
    "GammaRegressor": GammaRegressorGD,
    "TweedieRegressor": TweedieRegressorGD,
    "LogisticRegression": LogisticRegressionGD,
}


def pytest_collection_modifyitems(session, config, items):
    names = os.environ.get("FASTGD_DROPIN", "LinearRegression").split(",")
    for item in items:
        module = getattr(item, "module", None)
        for name in names:
            if module is not None and hasattr(module, name):
                setattr(module, name, TWINS[name])
