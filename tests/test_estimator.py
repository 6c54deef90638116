"""fastgd.LinearRegressionGD: scikit-learn's own estimator checks, pipelines and searches.

Needs the `sklearn` extra. SCIPY_ARRAY_API=1 is set in conftest.py (before scipy is imported) so
that scikit-learn runs its array-API check too instead of skipping it.
"""

import pickle
import subprocess
import sys
import warnings

import naive
import numpy as np
import pytest

import fastgd

sklearn = pytest.importorskip("sklearn", reason="the sklearn extra is not installed")

from estimator_checks import checks_not_passed
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastgd import LinearRegressionGD


# Some checks fit small, exactly linear or badly scaled data, on which 1000 steps of gradient
# descent do not reach tol=1e-8: the estimator says so with a ConvergenceWarning, as it should.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_passes_every_scikit_learn_check():
    # Some checks fit collinear or underdetermined data on purpose; fastgd says so.
    ran, not_passed = checks_not_passed(LinearRegressionGD(), (fastgd.ConditioningWarning,))
    assert ran > 40
    assert not not_passed, "\n".join(not_passed)


def test_fit_is_fastgd_fit(rng):
    X = rng.normal(size=(120, 3))
    y = X @ [1.0, -2.0, 0.5] + 3.0 + 0.1 * rng.normal(size=120)
    weights = rng.uniform(0.0, 2.0, size=120)
    plain = {"standardize": False, "momentum": 0.0}
    model = LinearRegressionGD(lr=0.05, n_iter=40, tol=None, **plain)
    model.fit(X, y, sample_weight=weights)
    b, w, history = naive.gradient_descent(X, y, 0.05, 40, sample_weight=weights)
    assert model.intercept_ == pytest.approx(b, rel=1e-10)
    np.testing.assert_allclose(model.coef_, w, rtol=1e-10)
    np.testing.assert_allclose(model.loss_curve_, history, rtol=1e-10)
    assert model.n_iter_ == 40 and model.n_features_in_ == 3 and model.lr_ == 0.05
    np.testing.assert_allclose(model.predict(X), X @ np.array(w) + b, rtol=1e-10)


def test_defaults_reach_the_least_squares_solution(rng):
    X = rng.normal(loc=[0.0, 1.0, -1.0], scale=[1.0, 1.5, 0.7], size=(500, 3))
    y = X @ [1.5, -0.5, 2.0] + 4.0 + rng.normal(size=500)
    weights = rng.uniform(0.5, 2.0, size=500)
    model = LinearRegressionGD().fit(X, y, sample_weight=weights)
    exact = LinearRegression().fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(model.coef_, exact.coef_, rtol=1e-9)
    assert model.intercept_ == pytest.approx(exact.intercept_, rel=1e-9)
    assert model.n_iter_ < 100  # the tolerance stopped it: standardized, well conditioned
    assert np.all(np.abs(model.coef_ - exact.coef_) <= model.coef_bound_ * (1 + 1e-6) + 1e-14)
    # With momentum the loss need not fall at every step, but never rises above its start.
    assert np.all(model.loss_curve_ <= model.loss_curve_[0])


def test_defaults_are_the_standardized_momentum_reference(rng):
    X = rng.normal(loc=[5.0, -20.0], scale=[1.0, 3.0], size=(80, 2))
    y = X @ [1.5, -0.5] + 4.0 + rng.normal(size=80)
    weights = rng.uniform(0.5, 2.0, size=80)
    model = LinearRegressionGD(n_iter=30, tol=None).fit(X, y, sample_weight=weights)
    assert 0.0 < model.momentum_ < 1.0
    b, w, history = naive.standardized_gradient_descent(
        X, y, model.lr_, 30, sample_weight=weights, momentum=model.momentum_
    )
    assert model.intercept_ == pytest.approx(b, rel=1e-9)
    np.testing.assert_allclose(model.coef_, w, rtol=1e-9)
    np.testing.assert_allclose(model.loss_curve_, history, rtol=1e-9)


def test_in_a_pipeline_and_a_grid_search(rng):
    X = rng.normal(loc=50.0, scale=20.0, size=(300, 2))
    y = X @ [0.3, -1.2] + 7.0 + rng.normal(size=300)
    plain = LinearRegressionGD(lr=0.1, tol=None, standardize=False, momentum=0.0)
    pipeline = make_pipeline(StandardScaler(), plain)
    search = GridSearchCV(pipeline, {"linearregressiongd__n_iter": [1, 3, 300]}, cv=3)
    search.fit(X, y)
    # Three steps from zero cannot fit y; 300 steps of lr 0.1 on standardized data can.
    assert search.best_params_ == {"linearregressiongd__n_iter": 300}
    assert search.best_score_ > 0.99
    assert search.score(X, y) == pytest.approx(LinearRegression().fit(X, y).score(X, y), rel=1e-6)
    fitted = search.best_estimator_[-1]
    assert fitted.n_iter_ == 300 and fitted.loss_curve_.shape == (301,)
    # The best pipeline was refitted on all of X, standardized: the reference's steps on those.
    scaled = search.best_estimator_[0].transform(X)
    b, w, history = naive.gradient_descent(scaled, y, 0.1, 300)
    assert fitted.intercept_ == pytest.approx(b, rel=1e-9)
    np.testing.assert_allclose(fitted.coef_, w, rtol=1e-9)
    np.testing.assert_allclose(fitted.loss_curve_, history, rtol=1e-9)


def test_feature_names_and_float32(rng):
    pandas = pytest.importorskip("pandas")
    X = rng.normal(size=(50, 2)).astype(np.float32)
    y = (X @ np.array([2.0, 1.0], dtype=np.float32)).astype(np.float32)
    frame = pandas.DataFrame(X, columns=["height", "width"])
    model = LinearRegressionGD(lr=0.1, n_iter=50, tol=None).fit(frame, y)
    assert list(model.feature_names_in_) == ["height", "width"]
    reference = fastgd.gradient_descent(X, y, lr=0.1, n_iter=50, standardize=True, momentum="auto")
    np.testing.assert_array_equal(model.coef_, reference.coef)
    assert model.predict(frame).dtype == np.float64


def test_running_out_of_iterations_is_scikit_learns_convergence_warning(rng):
    X = rng.normal(loc=100.0, size=(50, 2))  # badly scaled: gradient descent is slow
    y = X @ [1.0, 2.0] + rng.normal(size=50)
    pattern = r"tol=1e-13 in n_iter=20 iterations; the coefficients may still be up to .* from"
    with pytest.warns(ConvergenceWarning, match=pattern + r".*standardize=True, or momentum"):
        LinearRegressionGD(n_iter=20, standardize=False, momentum=0.0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match=r"tol=1e-13 in n_iter=2 .*; raise n_iter$"):
        LinearRegressionGD(n_iter=2).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = LinearRegressionGD(n_iter=20, tol=None).fit(X, y)  # no tolerance: no warning
        assert model.n_iter_ == 20
        model = LinearRegressionGD().fit(X, y)  # the defaults get there
        assert model.n_iter_ < 100


def test_clone_pickle_and_params():
    model = LinearRegressionGD(lr=0.001, n_iter=7, tol=None, threads=1)
    assert clone(model).get_params() == model.get_params()
    X = np.column_stack([np.arange(10.0), np.arange(10.0) ** 2])
    y = X.sum(axis=1)
    model.fit(X, y)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(X), model.predict(X))


@pytest.mark.parametrize(
    "params, error, pattern",
    [
        ({"lr": -1.0}, ValueError, r"lr must be > 0"),
        ({"n_iter": 2.5}, TypeError, r"n_iter must be an integer"),
        ({"tol": -1.0}, ValueError, r"tol must be >= 0"),
        ({"device": "gpu"}, ValueError, r"device must be one of"),
        ({"threads": 0}, ValueError, r"threads must be >= 1"),
    ],
)
def test_bad_parameters_are_named_at_fit(params, error, pattern):
    model = LinearRegressionGD(**params)  # scikit-learn: __init__ never checks
    with pytest.raises(error, match=pattern):
        model.fit(np.ones((4, 1)), np.arange(4.0))


def test_negative_weights_are_refused():
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        LinearRegressionGD().fit(np.ones((4, 1)), np.arange(4.0), sample_weight=[1, -1, 1, 1])


def _python(code):
    return subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120
    )


def test_import_fastgd_does_not_import_sklearn():
    done = _python("import sys, fastgd; print('sklearn' in sys.modules)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_missing_sklearn_names_the_extra():
    # sys.modules[name] = None makes `import name` fail, as if it were not installed.
    done = _python(
        "import sys; sys.modules['sklearn'] = None\n"
        "import fastgd\n"
        "try:\n"
        "    fastgd.LinearRegressionGD\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    assert done.returncode == 0, done.stderr
    assert 'python3 -m pip install -e ".[sklearn]"' in done.stdout
