"""A pytest plugin that runs scikit-learn's own LinearRegression tests against fastgd.

Loaded with `-p sklearn_dropin` (tests/ on the path) while pytest runs the installed
`sklearn/linear_model/tests/test_base.py` (tests/test_sklearn_suite.py does): every collected
test module's `LinearRegression` becomes `LinearRegressionDropIn`, a thin subclass of
`fastgd.LinearRegressionGD` with LinearRegression's constructor signature and fastgd's defaults.
"""

from fastgd import LinearRegressionGD


class LinearRegressionDropIn(LinearRegressionGD):
    """LinearRegressionGD with scikit-learn's LinearRegression signature (and fastgd's defaults:
    tol=1e-13 where LinearRegression has 1e-6, for its sparse solver)."""

    def __init__(self, *, fit_intercept=True, copy_X=True, tol=1e-13, n_jobs=None, positive=False):
        super().__init__(
            fit_intercept=fit_intercept, copy_X=copy_X, tol=tol, n_jobs=n_jobs, positive=positive
        )


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and hasattr(module, "LinearRegression"):
            module.LinearRegression = LinearRegressionDropIn
