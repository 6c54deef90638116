"""PoissonRegressorGD, GammaRegressorGD and TweedieRegressorGD (fastgd/glm.py, Newton's method on
fastgd's weighted moment pass): scikit-learn's GLM regressors by their names, parameters and
objective, checked against scikit-learn itself on real data, against the slow row-by-row
objective and gradient of tests/naive.py, and by scikit-learn's estimator checks."""

import math
import re
import warnings

import naive
import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="the sklearn extra is not installed")

from estimator_checks import checks_not_passed  # noqa: E402
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import GammaRegressor, PoissonRegressor, TweedieRegressor  # noqa: E402

import fastgd  # noqa: E402
from fastgd import glm  # noqa: E402

# (twin, scikit-learn's model, parameters, Tweedie power and link of the family)
CASES = [
    ("PoissonRegressorGD", PoissonRegressor, {"alpha": 1.0}, 1, "log"),
    ("PoissonRegressorGD", PoissonRegressor, {"alpha": 1e-3, "fit_intercept": False}, 1, "log"),
    ("GammaRegressorGD", GammaRegressor, {"alpha": 0.01}, 2, "log"),
    ("TweedieRegressorGD", TweedieRegressor, {"power": 1.5, "alpha": 0.1}, 1.5, "log"),
    ("TweedieRegressorGD", TweedieRegressor, {"power": 3.0, "alpha": 0.1}, 3.0, "log"),
    ("TweedieRegressorGD", TweedieRegressor, {"power": 0.0, "alpha": 0.5}, 0, "identity"),
    ("TweedieRegressorGD", TweedieRegressor, {"power": 0.0, "link": "log", "alpha": 0.5}, 0,
     "log"),
    ("TweedieRegressorGD", TweedieRegressor, {"power": 1.5, "link": "identity", "alpha": 0.1},
     1.5, "identity"),
]  # fmt: skip


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)  # y: 25 to 346, a disease progression score
    return X * 10.0, y / 100.0


@pytest.mark.parametrize("name, model, parameters, power, link", CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_the_optimum_of_scikit_learns_objective(diabetes, name, model, parameters, power, link,
                                                weighted):  # fmt: skip
    X, y = diabetes
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(y)) if weighted else None
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        twin = getattr(fastgd, name)(**parameters).fit(X, y, sample_weight=weights)
    expected = model(**parameters, solver="newton-cholesky", tol=1e-12, max_iter=1000)
    expected.fit(X, y, sample_weight=weights)
    scale = np.max(np.abs(expected.coef_))
    assert twin.coef_ == pytest.approx(expected.coef_, abs=1e-7 * scale)
    assert twin.intercept_ == pytest.approx(expected.intercept_, abs=1e-7 * max(scale, 1.0))
    assert twin.score(X, y, weights) == pytest.approx(expected.score(X, y, weights), rel=1e-9)
    assert twin.predict(X) == pytest.approx(expected.predict(X), rel=1e-6)
    # The slow reference: the objective no higher than scikit-learn's, and its gradient (row by
    # row) vanishing against its size at the start.
    alpha = parameters["alpha"]
    value, gradient = naive.glm_objective_and_gradient(
        power, link, X, y, twin.intercept_, twin.coef_, alpha, weights
    )
    reference, _ = naive.glm_objective_and_gradient(
        power, link, X, y, expected.intercept_, expected.coef_, alpha, weights
    )
    assert value <= reference * (1 + 1e-12)
    start_b = np.log(np.average(y, weights=weights)) if link == "log" else np.average(y)
    _, start = naive.glm_objective_and_gradient(power, link, X, y, start_b, np.zeros(10), alpha,
                                                weights)  # fmt: skip
    if not twin.fit_intercept:
        gradient, start = gradient[1:], start[1:]
    assert np.max(np.abs(gradient)) <= 1e-9 * np.max(np.abs(start))


def test_weights_are_repeated_rows_sparse_is_dense_and_warm_starts_take_no_step(diabetes):
    import scipy.sparse as sp

    X, y = diabetes
    repeat = np.arange(len(y)) % 3 + 1
    weighted = fastgd.PoissonRegressorGD(alpha=0.01).fit(X, y, sample_weight=repeat)
    repeated = fastgd.PoissonRegressorGD(alpha=0.01).fit(
        np.repeat(X, repeat, 0), np.repeat(y, repeat)
    )
    assert weighted.coef_ == pytest.approx(repeated.coef_, rel=1e-9)
    sparse = fastgd.GammaRegressorGD(alpha=0.01).fit(sp.csr_matrix(X), y)
    dense = fastgd.GammaRegressorGD(alpha=0.01).fit(X, y)
    assert sparse.coef_ == pytest.approx(dense.coef_, abs=1e-9 * np.max(np.abs(dense.coef_)))
    warm = fastgd.TweedieRegressorGD(power=1.5, alpha=0.01, warm_start=True, tol=1e-8).fit(X, y)
    assert warm.n_iter_ > 0
    assert warm.fit(X, y).n_iter_ == 0
    with pytest.warns(ConvergenceWarning, match=r"PoissonRegressorGD did not reach tol=1e-13 "
                      r"in max_iter=1 Newton steps: .*; raise max_iter$"):  # fmt: skip
        fastgd.PoissonRegressorGD(max_iter=1).fit(X, y)


@pytest.mark.parametrize(
    "estimator, y_change, message",
    [
        (fastgd.PoissonRegressorGD(), -1.0, r"y\[0\] = -1, but the Poisson distribution needs "
                                            r"every y >= 0"),
        (fastgd.GammaRegressorGD(), 0.0, r"y\[0\] = 0, but the Gamma distribution needs every "
                                         r"y > 0"),
        (fastgd.TweedieRegressorGD(power=0.5), None, r"power=0.5: no Tweedie distribution has a "
                                                     r"power in \(0, 1\)"),
        (fastgd.PoissonRegressorGD(solver="saga"), None, r"solver must be 'lbfgs' or "
                                                         r"'newton-cholesky'"),
        (fastgd.PoissonRegressorGD(alpha=-1.0), None, r"alpha must be a number >= 0"),
    ],
)  # fmt: skip
def test_targets_outside_the_family_and_bad_parameters_are_named(diabetes, estimator, y_change,
                                                                 message):  # fmt: skip
    X, y = diabetes
    y = y.copy()
    if y_change is not None:
        y[0] = y_change
    with pytest.raises(ValueError, match=message):
        estimator.fit(X, y)


def test_the_same_parameters_as_scikit_learn():
    """scikit-learn's parameters and defaults, and glum's l1_ratio (0: scikit-learn's objective)."""
    for name, model in (("PoissonRegressorGD", PoissonRegressor),
                        ("GammaRegressorGD", GammaRegressor),
                        ("TweedieRegressorGD", TweedieRegressor)):  # fmt: skip
        twin, theirs = getattr(fastgd, name)().get_params(), model().get_params()
        assert twin.pop("l1_ratio") == 0.0
        assert sorted(twin) == sorted(theirs), name
        assert {k: v for k, v in twin.items() if k != "tol"} == {
            k: v for k, v in theirs.items() if k != "tol"
        }


@pytest.mark.parametrize(
    "estimator",
    [fastgd.PoissonRegressorGD(), fastgd.GammaRegressorGD(), fastgd.TweedieRegressorGD(),
     fastgd.TweedieRegressorGD(power=1.5)],
    ids=["poisson", "gamma", "tweedie-0", "tweedie-1.5"],
)  # fmt: skip
def test_passes_every_scikit_learn_check(estimator):
    ran, not_passed = checks_not_passed(estimator, (Warning,))
    assert ran > 40
    assert not not_passed, "\n".join(not_passed)


# LogisticRegressionGD: scikit-learn's LogisticRegression (l2), binary and multinomial.
LOGISTIC_CASES = [
    ("breast_cancer", {"C": 1.0}),
    ("breast_cancer", {"C": 0.05, "class_weight": "balanced"}),
    ("breast_cancer", {"C": 10.0, "fit_intercept": False}),
    ("iris", {"C": 1.0}),
    ("iris", {"C": 50.0, "class_weight": {0: 1.0, 1: 3.0, 2: 0.5}}),
    ("wine", {"C": 0.1, "fit_intercept": False}),
]


@pytest.mark.parametrize("data, parameters", LOGISTIC_CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_logistic_regression_is_scikit_learns(data, parameters, weighted):
    from sklearn import datasets
    from sklearn.linear_model import LogisticRegression
    from sklearn.utils.class_weight import compute_class_weight

    X, y = getattr(datasets, f"load_{data}")(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    weights = np.random.default_rng(1).uniform(0.5, 2.0, len(y)) if weighted else None
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        twin = fastgd.LogisticRegressionGD(**parameters).fit(X, y, sample_weight=weights)
    expected = LogisticRegression(**parameters, solver="newton-cg", tol=1e-12, max_iter=10_000)
    expected.fit(X, y, sample_weight=weights)
    scale = np.max(np.abs(expected.coef_))
    assert twin.coef_.shape == expected.coef_.shape
    assert twin.coef_ == pytest.approx(expected.coef_, abs=1e-7 * scale)
    assert twin.intercept_ == pytest.approx(expected.intercept_, abs=1e-7 * max(scale, 1.0))
    assert twin.predict_proba(X) == pytest.approx(expected.predict_proba(X), abs=1e-8)
    assert np.array_equal(twin.predict(X), expected.predict(X))
    # The slow reference: the objective's gradient, row by row, vanishes.
    s = np.ones(len(y)) if weights is None else weights
    if "class_weight" in parameters:
        classes = np.unique(y)
        s = s * compute_class_weight(parameters["class_weight"], classes=classes, y=y,
                                     sample_weight=weights)[y]  # fmt: skip
    alpha = 1.0 / (parameters["C"] * s.sum())
    if twin.coef_.shape[0] == 1:  # binary: the second class's log-odds
        Y = (y == twin.classes_[1]).astype(float)[:, None]
    else:
        Y = np.eye(len(twin.classes_))[y]
    gradient = naive.softmax_gradient(X, Y, twin.intercept_, twin.coef_, alpha, s)
    if not twin.fit_intercept:
        gradient = gradient[:, 1:]
    assert np.max(np.abs(gradient)) <= 1e-10
    # A sparse X: the same fit (its products by scipy, never densified).
    import scipy.sparse

    sparse = fastgd.LogisticRegressionGD(**parameters).fit(scipy.sparse.csr_matrix(X), y,
                                                           sample_weight=weights)  # fmt: skip
    assert sparse.coef_ == pytest.approx(twin.coef_, abs=1e-9 * scale)


def test_logistic_regression_refuses_what_it_does_not_fit():
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = (X[:, 0] > 0).astype(int)
    for parameters, message in (
        ({"penalty": "l3"}, r"penalty='l3': choose 'l2', 'l1', 'elasticnet' or None"),
        ({"l1_ratio": 1.5}, r"l1_ratio must be a number in \[0, 1\], got 1.5"),
        ({"solver": "sgd"}, r"solver='sgd': choose 'lbfgs', 'newton-cg', 'newton-cholesky',"),
        ({"C": 0.0}, r"C must be a number > 0"),
        ({"penalty": "elasticnet", "l1_ratio": None}, r"l1_ratio must be specified when"),
    ):
        with pytest.raises(ValueError, match=message):
            fastgd.LogisticRegressionGD(**parameters).fit(X, y)
    with pytest.raises(ValueError, match=r"at least 2 classes in the data, but the data "
                       r"contains only one class: np.int64\(1\)|only one class"):  # fmt: skip
        fastgd.LogisticRegressionGD().fit(X, np.ones(20, dtype=int))
    # Separable classes without a penalty have no optimum: said, not claimed converged.
    with pytest.warns(ConvergenceWarning, match=r"separable classes have no optimum"):
        fastgd.LogisticRegressionGD(penalty=None, max_iter=20).fit(X, y)


def test_logistic_regression_warns_and_sparsifies_as_scikit_learn():
    """scikit-learn's warnings about parameters that change nothing or contradict each other,
    every solver name (one solver here), and sparsify/densify of coef_."""
    import scipy.sparse

    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + rng.normal(size=60) > 0).astype(int)
    cases = [
        ({"penalty": None, "C": 4.0}, [r"Setting penalty=None will ignore the C"]),
        ({"penalty": "l1"}, [r"Inconsistent values: penalty=l1 with l1_ratio=0.0"]),
        ({"penalty": "l2", "l1_ratio": 0.5}, [r"only used when penalty is 'elasticnet'",
                                              r"Inconsistent values: penalty=l2"]),
        ({"l1_ratio": None}, [r"'l1_ratio=None' was deprecated"]),
        ({"n_jobs": 2}, [r"'n_jobs' has no effect"]),
    ]  # fmt: skip
    reference = fastgd.LogisticRegressionGD().fit(X, y)
    for parameters, messages in cases:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fastgd.LogisticRegressionGD(**parameters).fit(X, y)
        texts = [str(warning.message) for warning in caught]
        assert len(texts) == len(messages), texts
        for text, message in zip(texts, messages):
            assert re.search(message, text), texts
    for solver in ("lbfgs", "newton-cg", "newton-cholesky", "sag", "saga", "liblinear"):
        twin = fastgd.LogisticRegressionGD(solver=solver).fit(X, y)
        assert np.array_equal(twin.coef_, reference.coef_)
    scores = reference.decision_function(X)
    reference.sparsify()
    assert scipy.sparse.issparse(reference.coef_)
    assert reference.decision_function(X) == pytest.approx(scores, rel=1e-12)
    assert reference.decision_function(scipy.sparse.csr_matrix(X)) == pytest.approx(scores)
    assert isinstance(reference.densify().coef_, np.ndarray)
    assert reference.decision_function(X) == pytest.approx(scores, rel=1e-12)


@pytest.mark.parametrize("data", ["breast_cancer", "iris", "wine"])
@pytest.mark.parametrize("parameters", [{"penalty": "l1", "l1_ratio": 1.0}, {"l1_ratio": 1.0},
                                        {"l1_ratio": 0.4, "class_weight": "balanced"}])  # fmt: skip
@pytest.mark.parametrize("weighted", [False, True])
def test_l1_and_elastic_net_logistic_regression_is_optimal(data, parameters, weighted):
    """The l1 and elastic-net penalties (proximal Newton's steps, two classes and more): the
    subgradient conditions of scikit-learn's objective hold at the fit (the slow reference:
    tests/naive.py's row-by-row gradient), some coefficients are exactly 0, and scikit-learn's
    saga, run to a tight tolerance, finds the same coefficients."""
    from sklearn import datasets
    from sklearn.linear_model import LogisticRegression
    from sklearn.utils.class_weight import compute_class_weight

    X, y = getattr(datasets, f"load_{data}")(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    weights = np.random.default_rng(3).uniform(0.5, 2.0, len(y)) if weighted else None
    C = 0.05 if data == "breast_cancer" else 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        twin = fastgd.LogisticRegressionGD(C=C, **parameters).fit(X, y, sample_weight=weights)
    s = np.ones(len(y)) if weights is None else weights
    if "class_weight" in parameters:
        s = s * compute_class_weight("balanced", classes=np.unique(y), y=y,
                                     sample_weight=weights)[y]  # fmt: skip
    share = parameters.get("l1_ratio", 1.0)
    alpha = 1.0 / (C * s.sum())
    W = twin.coef_
    Y = y[:, None].astype(float) if W.shape[0] == 1 else np.eye(W.shape[0])[y]
    gradient = naive.softmax_gradient(X, Y, twin.intercept_, W, alpha * (1.0 - share), s)
    assert np.abs(gradient[:, 0]).max() <= 1e-10  # the intercepts are not penalized
    smooth = gradient[:, 1:]  # the log-loss's and the l2 part's
    zero = W == 0.0
    assert zero.any() and not zero.all()
    assert np.all(np.abs(smooth[zero]) <= alpha * share * (1 + 1e-9))
    np.testing.assert_allclose(smooth[~zero], -alpha * share * np.sign(W[~zero]), rtol=1e-8,
                               atol=1e-12)  # fmt: skip
    expected = LogisticRegression(C=C, l1_ratio=share, solver="saga", tol=1e-10,
                                  max_iter=100_000, **{k: v for k, v in parameters.items()
                                                       if k == "class_weight"})  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected.fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(twin.coef_, expected.coef_, atol=1e-6 * np.abs(W).max())


def test_logistic_regression_passes_every_scikit_learn_check():
    ran, not_passed = checks_not_passed(fastgd.LogisticRegressionGD(), (Warning,))
    assert ran > 40
    assert not not_passed, "\n".join(not_passed)


def test_large_fits_on_several_threads_finish_and_equal_one_threads(diabetes, monkeypatch):
    """The GLM solver took the parallel lock around the moment pass, which takes it again: a
    large fit on an idle multi-core machine hung forever (a plain Lock; now re-entrant)."""
    import threading

    import numba

    from fastgd import _config, sklearn_twins
    from fastgd.threads import numba_threads

    threads = min(2, numba.config.NUMBA_NUM_THREADS)
    finished = threading.Event()

    def nested():
        with numba_threads(threads), numba_threads(threads):
            finished.set()

    worker = threading.Thread(target=nested, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert finished.is_set(), "numba_threads deadlocks when entered twice by one thread"

    X, y = diabetes
    one = fastgd.PoissonRegressorGD(alpha=0.1, tol=1e-10).fit(X, y)
    monkeypatch.setattr(_config, "PARALLEL_MIN_VALUES", 1)
    monkeypatch.setattr(sklearn_twins, "default_threads", lambda: threads)
    several = fastgd.PoissonRegressorGD(alpha=0.1, tol=1e-10).fit(X, y)
    assert several.coef_ == pytest.approx(one.coef_, rel=1e-10, abs=1e-12)
    logistic = fastgd.LogisticRegressionGD().fit(X, y > 1.5)
    assert logistic.n_iter_ >= 1


PASS_FAMILIES = [(1.0, "log"), (2.0, "log"), (1.5, "log"), (3.0, "log"), (0.0, "identity"),
                 (1.5, "identity"), ("binomial", "logit")]  # fmt: skip


def _naive_value_and_gradient(power, link, X, y, b, w, s):
    """The pass's sums (not means: S times naive.glm_objective_and_gradient at alpha 0)."""
    if power != "binomial":
        value, gradient = naive.glm_objective_and_gradient(power, link, X, y, b, w, 0.0, s)
        return value * s.sum(), gradient * s.sum()
    value = sum(
        s[i] * (math.log1p(math.exp(b + float(X[i] @ w))) - y[i] * (b + float(X[i] @ w)))
        for i in range(len(y))
    )
    gradient = naive.softmax_gradient(X, y[:, None], np.array([b]), w[None, :], 0.0, s)[0]
    return value, gradient * s.sum()


@pytest.mark.parametrize("power, link", PASS_FAMILIES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("threads", [1, 2])
def test_the_newton_pass_is_the_row_by_row_sums(pass_path, power, link, dtype, threads):
    """One pass's value, gradient and Hessian (fastgd/glm_pass.py) against the slow reference:
    tests/naive.py's row-by-row value and gradient, and the Hessian as central differences of
    that gradient; a sparse X's pass (scipy's products) equals the dense one. Each path: the
    compiled pass, and NumPy's products (`glm_pass.numpy_pass`, small data's)."""
    import scipy.sparse

    from fastgd.families import FAMILIES, tweedie
    from fastgd.glm_pass import GRADIENT, VALUE, dense_pass, numpy_pass

    rng = np.random.default_rng(7)
    n, d = 1100, 4  # more rows than a block (512), so blocks and ranges are merged
    X = (rng.normal(size=(n, d)) + 3.0).astype(dtype)
    w, b = rng.normal(size=d) * 0.1, 0.3
    s = rng.uniform(0.5, 2.0, n)
    if power == "binomial":
        family, y = FAMILIES["binomial"], (rng.uniform(size=n) < 0.4).astype(float)
        b -= float(X.mean(axis=0) @ w)
    else:
        family = tweedie(power, link)
        b = 2.0 + float(np.abs(X).sum(axis=1).max() * np.abs(w).sum()) if link == "identity" else b
        y = rng.gamma(2.0, 1.0, n) + (0.0 if power in (0.0, 1.0, 1.5) else 0.1)
    X64 = X.astype(np.float64)
    shift = X64.mean(axis=0)
    offset = rng.normal(size=n) * 0.1
    dense = dense_pass if pass_path == "kernel" else numpy_pass
    sums = dense(family, X, y, s, offset, shift, b + float(shift @ w), w, threads=threads)
    with_offset = np.column_stack([X64, offset])  # the offset: a column whose coefficient is 1

    def reference(b, w):
        value, gradient = _naive_value_and_gradient(power, link, with_offset, y, b,
                                                    np.append(w, 1.0), s)  # fmt: skip
        return value, gradient[:-1]

    value, gradient = reference(b, w)
    assert sums.value == pytest.approx(value, rel=1e-12)
    shifted = np.append(gradient[1:] - shift * gradient[0], gradient[0])  # (x - c, 1)
    assert sums.grad == pytest.approx(shifted, rel=1e-10, abs=1e-10 * np.abs(shifted).max())
    assert sums.eta == pytest.approx(X64 @ w + b + offset, rel=1e-12, abs=1e-12)
    # The passes without the Hessian (a row at a time: glm_pass._range_gradient): the same sums.
    for parts in (VALUE, GRADIENT):
        part = dense(family, X, y, s, offset, shift, b + float(shift @ w), w,
                          threads=threads, parts=parts)  # fmt: skip
        assert part.value == pytest.approx(value, rel=1e-12)
        assert part.eta == pytest.approx(sums.eta, rel=1e-12, abs=1e-12)
        expected = shifted if parts == GRADIENT else np.zeros(d + 1)
        assert part.grad == pytest.approx(expected, rel=1e-10, abs=1e-10 * np.abs(shifted).max())
        assert not part.hessian.any()
    # The Hessian in (w, b) by central differences of the reference gradient, then shifted.
    h = 1e-5
    columns = []
    for j in range(d + 1):
        e = np.zeros(d + 1)
        e[j] = h
        up = reference(b + e[0], w + e[1:])[1]
        down = reference(b - e[0], w - e[1:])[1]
        columns.append((up - down) / (2 * h))
    hessian = np.array(columns)  # (b, w) order, symmetric
    order = [*range(1, d + 1), 0]
    hessian = hessian[np.ix_(order, order)]
    lift = np.eye(d + 1)
    lift[:d, d] = -shift  # (x - c, 1) = lift (x, 1)
    expected = lift @ hessian @ lift.T
    assert np.allclose(sums.hessian, sums.hessian.T)
    scale = np.abs(expected).max()
    assert np.abs(sums.hessian - expected).max() <= 1e-5 * scale
    if link == "logit" or power != 0.0:
        plain = dense(family, X, y, s, offset, np.zeros(d), b, w)
        sparse = numpy_pass(family, scipy.sparse.csr_matrix(X64), y, s, offset, np.zeros(d), b, w)
        assert sparse.value == pytest.approx(plain.value, rel=1e-12)
        assert sparse.grad == pytest.approx(plain.grad, rel=1e-10)
        assert sparse.hessian == pytest.approx(plain.hessian, rel=1e-10)
        sparse_gradient = numpy_pass(family, scipy.sparse.csr_matrix(X64), y, s, offset,
                                      np.zeros(d), b, w, parts=GRADIENT)  # fmt: skip
        assert sparse_gradient.grad == pytest.approx(plain.grad, rel=1e-10)
        assert not sparse_gradient.hessian.any()


@pytest.mark.parametrize("family_name", ["binomial", "poisson", "gamma"])
@pytest.mark.parametrize("l1_ratio", [0.0, 0.5])
def test_the_sample_start_and_chord_steps_reach_the_same_optimum(
    pass_path, monkeypatch, family_name, l1_ratio
):
    """On large data a fit starts from the optimum on every 16th row and ends with chord steps
    (passes without the Hessian, fastgd/glm.py's doc): made to run here on 6400 rows, it takes
    both and reaches the optimum of the fit without them to 1e-10, with weights and offsets; a
    sample whose fit does not converge (separable classes) leaves the usual start."""
    from fastgd import glm, glm_pass
    from fastgd.families import FAMILIES

    rng = np.random.default_rng(31)
    n, d = 6400, 5
    X = rng.normal(size=(n, d)) + 1.0
    eta = X @ rng.normal(size=d) * 0.3 + 0.2
    family = FAMILIES[family_name]
    if family_name == "binomial":
        y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    elif family_name == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    else:
        y = rng.gamma(2.0, np.exp(eta) / 2.0)
    weights, offset = rng.uniform(0.5, 2.0, n), rng.normal(size=n) * 0.1
    options = {"alpha": 1e-3, "fit_intercept": True, "tol": 1e-12, "max_iter": 100,
               "offset": offset, "l1_ratio": l1_ratio}  # fmt: skip
    monkeypatch.setattr(glm, "SAMPLE_ROWS", 10**9)  # no sample: the reference
    plain = glm.fit_glm(family, X, y, weights, **options)
    assert plain.converged
    passes = []
    pass_of = glm.newton_pass

    def counted(X):
        def each(*arguments, parts=glm_pass.HESSIAN, **keywords):
            passes.append((X.shape[0], parts))
            return pass_of(X)(*arguments, parts=parts, **keywords)

        return each

    monkeypatch.setattr(glm, "newton_pass", counted)
    monkeypatch.setattr(glm, "SAMPLE_ROWS", 100)
    monkeypatch.setattr(glm, "CHORD_MIN_VALUES", 0)
    fast = glm.fit_glm(family, X, y, weights, **options)
    assert fast.converged
    assert (n // 16, glm_pass.HESSIAN) in passes  # the sample's fit
    assert (n, glm_pass.GRADIENT) in passes  # a chord step on all the rows
    scale = max(abs(plain.intercept), np.abs(plain.coef).max())
    assert abs(fast.intercept - plain.intercept) <= 1e-10 * scale
    assert np.abs(fast.coef - plain.coef).max() <= 1e-10 * scale
    if l1_ratio > 0.0:
        assert np.array_equal(fast.coef == 0.0, plain.coef == 0.0)
    # Weights of 0 on every sampled row (a mask of period 16): no sample, the usual start.
    masked = weights.copy()
    masked[::16] = 0.0
    passes.clear()
    assert glm.fit_glm(family, X, y, masked, **options).converged
    assert (n // 16, glm_pass.HESSIAN) not in passes
    if family_name == "binomial":  # every 16th row separable: that sample's fit cannot converge
        separable = y.copy()
        separable[::16] = (X[::16, 0] > 1.0).astype(float)
        passes.clear()
        unpenalized = dict(options, alpha=0.0, l1_ratio=0.0)
        fitted = glm.fit_glm(family, X, separable, weights, **unpenalized)
        monkeypatch.setattr(glm, "SAMPLE_ROWS", 10**9)
        reference = glm.fit_glm(family, X, separable, weights, **unpenalized)
        assert fitted.converged and (n // 16, glm_pass.HESSIAN) in passes
        assert np.abs(fitted.coef - reference.coef).max() <= 1e-10 * np.abs(reference.coef).max()


def test_a_dask_fit_starts_from_a_sample_in_memory(monkeypatch):
    """A Dask X's fit takes its sample into memory (at most SAMPLE_MAX_VALUES values: a
    sparser stride beyond) and starts from its optimum: each pass on the chunks is a read of
    the data where it is, so the start spares those; the same optimum as in memory."""
    da = pytest.importorskip("dask.array")
    import dask

    from fastgd import glm
    from fastgd.families import FAMILIES

    rng = np.random.default_rng(41)
    n, d = 6400, 4
    X = rng.normal(size=(n, d))
    y = rng.poisson(np.exp(X @ np.array([0.3, -0.2, 0.1, 0.05]) + 0.5)).astype(float)
    options = {"alpha": 1e-3, "fit_intercept": True, "tol": 1e-12, "max_iter": 100}
    monkeypatch.setattr(glm, "SAMPLE_ROWS", 10**9)
    reference = glm.fit_glm(FAMILIES["poisson"], X, y, None, **options)
    monkeypatch.setattr(glm, "SAMPLE_ROWS", 100)
    monkeypatch.setattr(glm, "SAMPLE_MAX_VALUES", 200 * d)  # a stride of 32, not 16
    sampled = []
    fit_glm = glm.fit_glm

    def counted(family, X, *arguments, **keywords):
        sampled.append((type(X).__name__, X.shape[0]))
        return fit_glm(family, X, *arguments, **keywords)

    monkeypatch.setattr(glm, "fit_glm", counted)
    with dask.config.set(scheduler="sync"):
        lazy = da.from_array(X, chunks=(1000, d))
        fitted = glm.fit_glm(FAMILIES["poisson"], lazy, da.from_array(y, chunks=1000), None,
                             **options)  # fmt: skip
    assert sampled[:2] == [("Array", n), ("ndarray", 200)]  # every 32nd row, into memory
    assert fitted.converged
    scale = np.abs(reference.coef).max()
    assert np.abs(fitted.coef - reference.coef).max() <= 1e-10 * scale
    assert abs(fitted.intercept - reference.intercept) <= 1e-10 * scale


@pytest.mark.parametrize("l1_ratio, kernel", [(0.0, False), (0.5, True)])
def test_multinomial_sample_start_and_sampled_hessians_reach_the_optimum(monkeypatch, l1_ratio,
                                                                         kernel):  # fmt: skip
    """fit_multinomial's start from every 16th row, its Hessians from a sample of the rows and
    its chord steps (made to run on 6400 rows: a Hessian from every 13th): the optimum of the
    exact Newton fit to 1e-10, with weights and offsets; by NumPy's products or the compiled
    pass (`kernel`, made to run on small data)."""
    from fastgd import glm, multinomial_pass

    if kernel:
        monkeypatch.setattr(multinomial_pass, "KERNEL_MIN_VALUES", 0)

    rng = np.random.default_rng(37)
    n, d, k = 6400, 4, 3
    X = rng.normal(size=(n, d)) + 3.0  # off centre: the pass's shift matters
    eta = X @ rng.normal(size=(d, k)) * 0.7
    P = np.exp(eta - eta.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    labels = (P.cumsum(axis=1) > rng.uniform(size=(n, 1))).argmax(axis=1)
    weights, offset = rng.uniform(0.5, 2.0, n), rng.normal(size=(n, k)) * 0.1
    options = {"alpha": 1e-3, "fit_intercept": True, "tol": 1e-12, "max_iter": 100,
               "l1_ratio": l1_ratio, "offset": offset}  # fmt: skip
    strides, compiled = [], []  # each Hessian's stride, and whether the kernel took it
    hessian = glm.hessian
    monkeypatch.setattr(
        glm, "hessian",
        lambda *a: strides.append(a[6]) or compiled.append(a[8]) or hessian(*a),
    )  # fmt: skip
    monkeypatch.setattr(glm, "SAMPLE_ROWS", 10**9)
    plain = glm.fit_multinomial(X, labels, k, weights, **options)
    assert set(strides) == {1}  # exact: Newton's own
    monkeypatch.setattr(glm, "SAMPLE_ROWS", 100)
    monkeypatch.setattr(multinomial_pass, "HESSIAN_ROWS", 500)
    starts = []
    original = glm.fit_multinomial

    def counted(*arguments, **keywords):
        starts.append(arguments[0].shape[0])
        return original(*arguments, **keywords)

    monkeypatch.setattr(glm, "fit_multinomial", counted)
    strides.clear()
    fast = glm.fit_multinomial(X, labels, k, weights, **options)
    assert plain[3] and fast[3] and starts[:2] == [n, n // 16]  # the sample's fit ran
    assert set(compiled) == {kernel}
    assert 13 in strides  # the full data's Hessians from every 13th row
    scale = max(np.abs(plain[0]).max(), np.abs(plain[1]).max())
    assert np.abs(fast[0] - plain[0]).max() <= 1e-10 * scale
    assert np.abs(fast[1] - plain[1]).max() <= 1e-10 * scale
    if l1_ratio > 0.0:
        assert np.array_equal(fast[1] == 0.0, plain[1] == 0.0)


def _softmax_labels(rng, X, W, B):
    eta = X @ W.T + B
    P = np.exp(eta - eta.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    return (P.cumsum(axis=1) > rng.uniform(size=(len(X), 1))).argmax(axis=1)


@pytest.mark.parametrize("case", ["rare column", "class off the sample", "l1, zero weights"])
def test_multinomial_sampled_hessians_never_stop_short(monkeypatch, case):
    """Where a sample of the rows misleads (made to happen on small data): a column whose
    nonzeros all lie between the Hessian's sampled rows (its curvature 0 there: the fit takes
    all the rows' Hessian), a class with no row in the start's sample (the usual start
    instead), the l1 penalty's singular model with zero weights (secant updates at the
    rounding level) -- each converges to the exact Newton fit's optimum, within 1e-8."""
    from fastgd import glm, multinomial_pass

    rng = np.random.default_rng(41)
    n, d, k = 6400, 4, 3
    X = rng.normal(size=(n, d))
    labels = _softmax_labels(rng, X, rng.normal(size=(k, d)), rng.normal(size=k))
    weights, options = None, {"alpha": 0.0, "fit_intercept": True, "tol": 1e-12,
                              "max_iter": 200}  # fmt: skip
    if case == "rare column":  # ones on 100 rows that are all 1 mod 4 (the sample: 0 mod 4)
        X[:, 3] = 0.0
        rare = 4 * rng.choice(n // 4, 100, replace=False) + 1
        X[rare, 3] = 1.0
        labels[rare] = rng.choice(k, 100, p=[0.7, 0.2, 0.1])
    elif case == "class off the sample":  # class 2 on 40 rows, none a multiple of 16
        labels = np.minimum(labels, 1)
        off = 16 * rng.choice(n // 16, 40, replace=False) + 5
        labels[off] = 2
        options["alpha"] = 1.0 / n
    else:
        weights = rng.uniform(0.5, 2.0, n) * (rng.uniform(size=n) > 0.2)
        options.update(alpha=1e-2, l1_ratio=1.0)
    monkeypatch.setattr(glm, "SAMPLE_ROWS", 10**9)
    monkeypatch.setattr(multinomial_pass, "HESSIAN_ROWS", 10**9)
    exact = glm.fit_multinomial(X, labels, k, weights, **options)
    monkeypatch.setattr(glm, "SAMPLE_ROWS", 100)
    monkeypatch.setattr(multinomial_pass, "HESSIAN_ROWS", 1600)  # every 4th row
    fits = []  # the rows of each fit: the start's sample too, where it is taken
    original = glm.fit_multinomial
    monkeypatch.setattr(glm, "fit_multinomial",
                        lambda X, *a, **o: fits.append(len(X)) or original(X, *a, **o))  # fmt: skip
    sampled = glm.fit_multinomial(X, labels, k, weights, **options)
    assert exact[3] and sampled[3]
    # A class without weight in the sample would start at an intercept of log(1e-300) = -690.
    assert fits == ([n] if case == "class off the sample" else [n, n // 16])
    scale = max(np.abs(exact[0]).max(), np.abs(exact[1]).max())
    assert np.abs(sampled[0] - exact[0]).max() <= 1e-8 * scale
    assert np.abs(sampled[1] - exact[1]).max() <= 1e-8 * scale


def test_multinomial_passes_agree_far_from_the_optimum():
    """A row's loss of hundreds (etas far apart): the NumPy pass and the kernel add up the same
    value (a probability's log floored at 1e-300 capped each row's at 691)."""
    from fastgd import multinomial_pass

    rng = np.random.default_rng(2)
    n, d, k = 600, 3, 3
    X, labels = rng.normal(size=(n, d)), rng.integers(0, k, n)
    W, B = 400.0 * rng.normal(size=(k, d)), np.zeros(k)
    arguments = (X, labels, np.ones(n), None, np.zeros(d), B, W)
    kernel = multinomial_pass.dense_pass(*arguments)
    by_numpy = multinomial_pass.numpy_pass(*arguments)
    assert kernel[0] > 691.0 * n / 3  # many rows beyond the old cap
    assert by_numpy[0] == pytest.approx(kernel[0], rel=1e-12)
    np.testing.assert_allclose(by_numpy[1], kernel[1], rtol=1e-10, atol=1e-9 * n)


def test_multinomial_pass_against_the_slow_reference():
    """The multinomial pass (dense, two threads; sparse) against tests/naive.py's value and
    gradient, with weights, offsets and X off centre; its Hessian against the gradient's
    central differences, and a sampled one against every stride-th row's, scaled."""
    import scipy.sparse

    from fastgd import multinomial_pass

    rng = np.random.default_rng(5)
    n, d, k = 3000, 5, 4
    X = rng.normal(size=(n, d)) + 2.0
    labels = rng.integers(0, k, n)
    s, offset = rng.uniform(0.5, 2.0, n), rng.normal(size=(n, k))
    W, B = rng.normal(size=(k, d)), rng.normal(size=k)
    shift = X[::37].mean(axis=0)
    Y = np.eye(k)[labels]
    B_plain = B - W @ shift  # the same eta, uncentred
    total = float(s.sum())
    value = naive.softmax_objective(X, Y, B_plain, W, 0.0, sample_weight=s, offset=offset) * total
    gradient = naive.softmax_gradient(X, Y, B_plain, W, 0.0, s, offset) * total
    for run, data in ((multinomial_pass.dense_pass, X), (multinomial_pass.numpy_pass, X),
                      (multinomial_pass.numpy_pass, scipy.sparse.csr_matrix(X))):  # fmt: skip
        got_value, got_grad = run(data, labels, s, offset, shift, B, W, threads=2)
        assert got_value == pytest.approx(value, rel=1e-12)
        # the pass's gradient is in the centred columns' parameters, the intercept's last
        np.testing.assert_allclose(got_grad[:, d], gradient[:, 0], rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(got_grad[:, :d] + np.outer(got_grad[:, d], shift),
                                   gradient[:, 1:], rtol=1e-10, atol=1e-8)  # fmt: skip
    matrix = multinomial_pass.hessian(X, s, offset, shift, B, W, 1, compiled=True)
    by_numpy = multinomial_pass.hessian(X, s, offset, shift, B, W, 1)
    np.testing.assert_allclose(by_numpy, matrix, rtol=1e-10, atol=1e-10 * np.abs(matrix).max())
    theta, h = np.column_stack([W, B]), 1e-6
    differences = np.empty_like(matrix)
    for a in range(theta.size):
        for sign in (1.0, -1.0):
            moved = theta.ravel().copy()
            moved[a] += sign * h
            moved = moved.reshape(k, d + 1)
            grad = multinomial_pass.dense_pass(X, labels, s, offset, shift, moved[:, d],
                                               moved[:, :d])[1]  # fmt: skip
            differences[:, a] = (differences[:, a] if sign < 0 else 0.0) + sign * grad.ravel()
    differences /= 2 * h
    assert np.abs(matrix - differences).max() <= 1e-6 * np.abs(matrix).max()
    sampled = multinomial_pass.hessian(X, s, offset, shift, B, W, 7, 2, compiled=True)
    rows = slice(None, None, 7)
    only = multinomial_pass.hessian(X[rows], s[rows], offset[rows], shift, B, W, 1, 1, True)
    np.testing.assert_allclose(sampled, only * s.sum() / s[rows].sum(), rtol=1e-12, atol=1e-12)


STATSMODELS_CASES = [  # (data set, column of y, family name, power)
    ("cpunish", "EXECUTIONS", "poisson", 1.0),  # executions by US state (counts)
    ("scotland", "YES", "gamma", 2.0),  # the share voting yes, by council (> 0)
    ("fair", "affairs", "tweedie", 1.5),  # time in affairs (zeros and amounts)
    ("spector", "GRADE", "binomial", None),  # a grade improved or not (classes)
    ("star98", "NABOVE, NBELOW", "binomial", None),  # pupils above a score, of how many
]


@pytest.mark.parametrize("name, column, family, power", STATSMODELS_CASES)
def test_statsmodels_glm_irls_on_its_own_data(name, column, family, power):
    """The unpenalized fit equals statsmodels' GLM (IRLS, to its tightest tolerance) to 1e-8
    of the coefficients, on data sets statsmodels ships: Poisson, Gamma and Tweedie (log link),
    logistic regression of classes, and of proportions with their counts as weights."""
    import statsmodels.api as sm

    data = getattr(sm.datasets, name).load_pandas()
    X = np.asarray(data.exog, dtype=np.float64)
    X = X[:, X.std(axis=0) > 0]  # a constant column (spector has none; the intercept is ours)
    weights = None
    if name == "star98":  # (successes, failures): the share, weighted by the trials
        counts = np.asarray(data.endog, dtype=np.float64)
        weights = counts.sum(axis=1)
        y, endog = counts[:, 0] / weights, counts
    else:
        y = endog = np.asarray(data.endog, dtype=np.float64)
    log = sm.families.links.Log()
    families = {
        "poisson": sm.families.Poisson(log), "gamma": sm.families.Gamma(log),
        "tweedie": sm.families.Tweedie(var_power=1.5, link=log), "binomial": sm.families.Binomial(),
    }  # fmt: skip
    reference = sm.GLM(endog, sm.add_constant(X), family=families[family])
    reference = reference.fit(tol=1e-15, maxiter=1000)
    expected = np.asarray(reference.params)
    if family == "binomial" and name == "spector":
        twin = fastgd.LogisticRegressionGD(penalty=None, tol=1e-14).fit(X, y.astype(int))
        got = np.concatenate([twin.intercept_, twin.coef_[0]])
    else:
        chosen = glm.FAMILIES[family] if family != "tweedie" else glm.tweedie(power)
        solved = glm.fit_glm(chosen, X, y, weights, alpha=0.0, fit_intercept=True, tol=1e-14,
                             max_iter=100)  # fmt: skip
        assert solved.converged
        got = np.concatenate([[solved.intercept], solved.coef])
    assert got == pytest.approx(expected, rel=1e-8, abs=1e-8 * np.abs(expected).max())


@pytest.mark.parametrize("estimator, family", [("PoissonRegressorGD", "poisson"),
                                               ("GammaRegressorGD", "gamma")])  # fmt: skip
def test_offsets_are_statsmodels_and_a_rate_weighted_by_exposure(estimator, family):
    """`offset` (the log of each row's exposure) gives statsmodels' GLM with that offset (1e-8),
    and for Poisson scikit-learn's rate model too (y / exposure weighted by exposure: the same
    optimum); predict and score take it; a bad offset is named."""
    import statsmodels.api as sm
    from sklearn.linear_model import PoissonRegressor

    rng = np.random.default_rng(11)
    n = 400
    X = rng.normal(size=(n, 3))
    exposure = rng.uniform(0.2, 5.0, n)
    mean = exposure * np.exp(X @ [0.4, -0.3, 0.2] + 0.1)
    y = rng.poisson(mean).astype(float) if family == "poisson" else rng.gamma(2.0, mean / 2.0)
    offset = np.log(exposure)
    twin = getattr(fastgd, estimator)(alpha=0.0, tol=1e-14).fit(X, y, offset=offset)
    link = sm.families.links.Log()
    chosen = sm.families.Poisson(link) if family == "poisson" else sm.families.Gamma(link)
    expected = sm.GLM(y, sm.add_constant(X), family=chosen, offset=offset).fit(tol=1e-15)
    got = np.concatenate([[twin.intercept_], twin.coef_])
    assert got == pytest.approx(np.asarray(expected.params), rel=1e-8, abs=1e-10)
    assert twin.predict(X, offset=offset) == pytest.approx(expected.predict(), rel=1e-8)
    assert twin.predict(X) == pytest.approx(expected.predict() / exposure, rel=1e-8)
    # D² against the best constant with the offsets: statsmodels' null deviance.
    assert twin.score(X, y, offset=offset) == pytest.approx(
        1.0 - expected.deviance / expected.null_deviance, rel=1e-8
    )
    if family == "poisson":
        rate = PoissonRegressor(alpha=0.0, tol=1e-12, max_iter=1000, solver="newton-cholesky")
        rate.fit(X, y / exposure, sample_weight=exposure)
        assert twin.coef_ == pytest.approx(rate.coef_, rel=1e-7)
    with pytest.raises(ValueError, match=r"offset must have one value per row of X"):
        getattr(fastgd, estimator)().fit(X, y, offset=offset[:-1])
    with pytest.raises(ValueError, match=r"offset\[3\] is -inf: offsets must be finite"):
        getattr(fastgd, estimator)().fit(X, y, offset=np.where(np.arange(n) == 3, -np.inf, 0.0))


# (twin, its parameters, glum's family, Tweedie power and link) of the elastic-net fits:
# `l1_ratio` > 0 makes each Newton step proximal Newton's (fastgd/proximal_newton.py).
L1_CASES = [
    ("PoissonRegressorGD", {"alpha": 0.01, "l1_ratio": 0.7}, "poisson", 1, "log"),
    ("PoissonRegressorGD", {"alpha": 0.03, "l1_ratio": 1.0, "fit_intercept": False}, "poisson",
     1, "log"),
    ("GammaRegressorGD", {"alpha": 0.01, "l1_ratio": 0.5}, "gamma", 2, "log"),
    ("TweedieRegressorGD", {"power": 1.5, "alpha": 0.01, "l1_ratio": 0.7}, 1.5, 1.5, "log"),
    # Rows of negative curvature: the model is Fisher's where Newton's is not convex.
    ("TweedieRegressorGD", {"power": 3.0, "alpha": 0.01, "l1_ratio": 0.7}, 3.0, 3.0, "log"),
    ("TweedieRegressorGD", {"power": 0.0, "alpha": 0.05, "l1_ratio": 0.9}, "normal", 0,
     "identity"),
]  # fmt: skip


@pytest.mark.parametrize("name, parameters, family, power, link", L1_CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_l1_and_elastic_net_glms_are_optimal_and_glums(diabetes, name, parameters, family,
                                                       power, link, weighted):  # fmt: skip
    """With l1_ratio > 0 the penalty is glum's elastic net, alpha (r |w|₁ + (1 - r) / 2 |w|²):
    the subgradient conditions hold at the fit by the slow row-by-row gradient of tests/naive.py
    (the intercept's gradient 0, every zero coefficient's within alpha r, every other's equal to
    -alpha r sign(w)), some coefficients are exactly 0, and glum (coordinate descent within its
    IRLS steps, to its tightest tolerance) finds the same fit to 1e-9. (statsmodels' elastic net
    stops short of the optimum on this data: a zero coefficient's gradient 0.005 beyond alpha r.)"""
    from glum import GeneralizedLinearRegressor, TweedieDistribution

    X, y = diabetes
    weights = np.random.default_rng(2).uniform(0.5, 2.0, len(y)) if weighted else None
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        twin = getattr(fastgd, name)(tol=1e-14, **parameters).fit(X, y, sample_weight=weights)
    alpha, share = parameters["alpha"], parameters["l1_ratio"]
    w = twin.coef_
    _, gradient = naive.glm_objective_and_gradient(power, link, X, y, twin.intercept_, w,
                                                   alpha * (1.0 - share), weights)  # fmt: skip
    if parameters.get("fit_intercept", True):
        assert abs(gradient[0]) <= 1e-10
    zero = w == 0.0
    assert zero.any() and not zero.all()
    assert np.all(np.abs(gradient[1:][zero]) <= alpha * share * (1 + 1e-9))
    np.testing.assert_allclose(gradient[1:][~zero], -alpha * share * np.sign(w[~zero]),
                               rtol=1e-8, atol=1e-12)  # fmt: skip
    chosen = TweedieDistribution(family) if isinstance(family, float) else family
    expected = GeneralizedLinearRegressor(
        family=chosen, link=link, alpha=alpha, l1_ratio=share,
        fit_intercept=parameters.get("fit_intercept", True), gradient_tol=1e-14,
        step_size_tol=1e-16, max_iter=10_000, max_inner_iter=1_000_000,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected.fit(X, y, sample_weight=weights)
    got = np.concatenate([[twin.intercept_], w])
    reference = np.concatenate([[expected.intercept_], expected.coef_])
    assert np.abs(got - reference).max() <= 1e-9 * np.abs(reference).max()
    assert np.array_equal(zero, expected.coef_ == 0.0)
    with pytest.raises(ValueError, match=r"l1_ratio must be a number in \[0, 1\]"):
        getattr(fastgd, name)(l1_ratio=1.5).fit(X, y)


@pytest.mark.parametrize("seed", range(4))
def test_l1_fits_meet_their_subgradient_conditions_to_rounding(seed):
    """Proximal Newton's steps end exactly on the optimum's face: each subproblem is finished by
    a solve on its support (its sweeps alone stop on a duality gap that certifies only 1e-8 of
    the distance, and a review found converged fits 1e-8 off). The conditions hold to 1e-12 by
    the row-by-row gradient, with and without an intercept, for the l1 and the elastic net."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(200, 4))
    classes = (X[:, 0] + rng.normal(size=200) > 0).astype(float)
    counts = rng.poisson(np.exp(0.3 * X[:, 0])).astype(float)
    alpha = 0.05
    for family, y, power, link in ((glm.Binomial(), classes, None, None),
                                   (glm.FAMILIES["poisson"], counts, 1, "log")):  # fmt: skip
        for fit_intercept in (True, False):
            for share in (1.0, 0.5):
                solved = glm.fit_glm(family, X, y, None, alpha=alpha, fit_intercept=fit_intercept,
                                     tol=1e-13, max_iter=100, l1_ratio=share)  # fmt: skip
                assert solved.converged
                w, l2 = solved.coef, alpha * (1.0 - share)
                if power is None:
                    gradient = naive.softmax_gradient(X, y[:, None], [solved.intercept],
                                                      w[None, :], l2)[0]  # fmt: skip
                else:
                    _, gradient = naive.glm_objective_and_gradient(
                        power, link, X, y, solved.intercept, w, l2
                    )
                if fit_intercept:
                    assert abs(gradient[0]) <= 1e-12
                g, zero = gradient[1:], w == 0.0
                assert np.all(np.abs(g[zero]) <= alpha * share + 1e-12)
                assert (
                    np.abs(g[~zero] + alpha * share * np.sign(w[~zero])).max(initial=0.0) <= 1e-12
                )


def test_multinomial_offsets_are_fixed_terms_of_each_class():
    """Multinomial logistic regression with an offset per row and class: the optimum's gradient
    is 0 by the slow reference (tests/naive.py, the offset in each eta); an offset equal to
    another model's X W0' + B0 moves the unpenalized optimum by exactly (W0, B0); an offset that
    is the same for every class changes nothing (the softmax ignores it); decision_function and
    predict_proba take it."""
    rng = np.random.default_rng(12)
    n, d, k = 600, 3, 3
    X = rng.normal(size=(n, d))
    logits = X @ rng.normal(size=(d, k)) + rng.normal(size=k)
    y = np.array([rng.choice(k, p=np.exp(row) / np.exp(row).sum()) for row in logits])
    W0, B0 = rng.normal(size=(k, d)), rng.normal(size=k)
    offset = X @ W0.T + B0
    plain = fastgd.LogisticRegressionGD(C=np.inf, tol=1e-14).fit(X, y)
    shifted = fastgd.LogisticRegressionGD(C=np.inf, tol=1e-14).fit(X, y, offset=offset)
    gradient = naive.softmax_gradient(X, np.eye(k)[y], shifted.intercept_, shifted.coef_, 0.0,
                                      offset=offset)  # fmt: skip
    assert np.abs(gradient).max() <= 1e-10
    # Unpenalized, W and B are free along the classes' common shift (the softmax ignores it):
    # the fit keeps the least-norm one, each column summing to 0 over the classes.
    moved_W, moved_B = plain.coef_ - W0, plain.intercept_ - B0
    np.testing.assert_allclose(shifted.coef_, moved_W - moved_W.mean(axis=0), atol=1e-9)
    np.testing.assert_allclose(shifted.intercept_, moved_B - moved_B.mean(), atol=1e-9)
    assert shifted.predict_proba(X, offset=offset) == pytest.approx(plain.predict_proba(X))
    scores = shifted.decision_function(X, offset=offset)
    assert np.argmax(scores, axis=1) == pytest.approx(shifted.predict(X, offset=offset))
    same = fastgd.LogisticRegressionGD(C=1.0, tol=1e-14)
    penalized = same.fit(X, y).coef_.copy()
    assert same.fit(X, y, offset=np.repeat(rng.normal(size=(n, 1)), k, axis=1)).coef_ == (
        pytest.approx(penalized, abs=1e-10)
    )
    with pytest.raises(ValueError, match=r"offset must have one value per row and class, shape "
                                         r"\(600, 3\)"):  # fmt: skip
        fastgd.LogisticRegressionGD().fit(X, y, offset=offset[:, 0])


@pytest.mark.parametrize("estimator", ["PoissonRegressorGD", "TweedieRegressorGD"])
def test_dask_arrays_are_fitted_where_they_are(diabetes, estimator):
    """A Dask X: each Newton step is one pass on the chunks (fastgd/distributed/newton.py), the
    chunks' sums added in order; the fit equals the in-memory one (weights and offsets too),
    predict stays lazy, and bad targets are named."""
    da = pytest.importorskip("dask.array")
    import dask

    X, y = diabetes
    rng = np.random.default_rng(4)
    weights, offset = rng.uniform(0.5, 2.0, len(y)), rng.normal(0.0, 0.1, len(y))
    parameters = {"alpha": 0.1, "tol": 1e-12} | ({"power": 1.5} if "Tweedie" in estimator else {})
    in_memory = getattr(fastgd, estimator)(**parameters).fit(X, y, weights, offset=offset)
    lazy_X, lazy_y = da.from_array(X, chunks=(100, 5)), da.from_array(y, chunks=100)
    with dask.config.set(scheduler="sync"):
        on_dask = getattr(fastgd, estimator)(**parameters).fit(
            lazy_X, lazy_y, da.from_array(weights, chunks=150), offset=offset
        )
        prediction = on_dask.predict(lazy_X)
        assert isinstance(prediction, da.Array)
        np.testing.assert_allclose(prediction.compute(), in_memory.predict(X), rtol=1e-10)
        with pytest.raises(ValueError, match=r"y\[5\] = -1, but"):
            getattr(fastgd, estimator)(**parameters).fit(
                lazy_X, da.where(da.arange(len(y)) == 5, -1.0, lazy_y)
            )
        with pytest.raises(ValueError, match=r"X holds NaN or inf"):
            getattr(fastgd, estimator)().fit(da.where(lazy_X > 1.0, np.nan, lazy_X), lazy_y)
    np.testing.assert_allclose(on_dask.coef_, in_memory.coef_, rtol=1e-10, atol=1e-12)
    assert on_dask.intercept_ == pytest.approx(in_memory.intercept_, rel=1e-10)
    assert on_dask.n_iter_ == in_memory.n_iter_


def test_logistic_regression_offsets_are_statsmodels():
    """Two classes with an offset (a known part of each row's log-odds): statsmodels' binomial
    GLM with that offset (1e-8); the offset moves the predictions; misuse is named."""
    import statsmodels.api as sm

    rng = np.random.default_rng(21)
    X = rng.normal(size=(500, 3))
    offset = rng.normal(0.0, 1.0, 500)
    y = (rng.uniform(size=500) < 1 / (1 + np.exp(-(X @ [1.0, -0.5, 0.2] + offset)))).astype(int)
    twin = fastgd.LogisticRegressionGD(penalty=None, tol=1e-14).fit(X, y, offset=offset)
    expected = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial(), offset=offset)
    expected = expected.fit(tol=1e-15)
    got = np.concatenate([twin.intercept_, twin.coef_[0]])
    assert got == pytest.approx(np.asarray(expected.params), rel=1e-8, abs=1e-10)
    assert twin.predict_proba(X, offset=offset)[:, 1] == pytest.approx(expected.predict(),
                                                                       rel=1e-8)  # fmt: skip
    assert not np.allclose(twin.predict_proba(X)[:, 1], expected.predict())
    # With an l1 part (proximal Newton): glum's binomial model with the same offset.
    from glum import GeneralizedLinearRegressor

    alpha = 0.01
    twin = fastgd.LogisticRegressionGD(C=1.0 / (alpha * 500), l1_ratio=1.0, tol=1e-14)
    twin.fit(X, y, offset=offset)
    expected = GeneralizedLinearRegressor(family="binomial", alpha=alpha, l1_ratio=1.0,
                                          gradient_tol=1e-14, step_size_tol=1e-16,
                                          max_iter=10_000)  # fmt: skip
    expected.fit(X, y, offset=offset)
    assert twin.coef_[0] == pytest.approx(expected.coef_, rel=1e-8, abs=1e-10)
    assert twin.intercept_[0] == pytest.approx(expected.intercept_, rel=1e-8)
    with pytest.raises(ValueError, match=r"offset must have one value per row"):
        fastgd.LogisticRegressionGD().fit(X, y, offset=offset[:3])


@pytest.mark.parametrize("y", [[3.0, 1.0, 2.0, 1.0, -5.0], [1, 0, 1, 7], [True, False, True],
                               ["b", "a", "b", "c"], [2.0, 0.0, 2.0], [5, 1e6, -3, 5],
                               [1, 100_000, 7, 1]])  # fmt: skip
def test_logistic_regression_classes_are_numpy_unique(y):
    """LogisticRegressionGD's classes and row codes (by hashing and binary search for numbers):
    np.unique(y, return_inverse=True)'s, dtype and order included; its check of the targets
    scikit-learn's (the same error and warning, from the classes alone for numbers)."""
    from fastgd.sklearn_twins import _classes_and_codes

    y = np.array(y)
    classes, codes = _classes_and_codes(y)
    expected_classes, expected_codes = np.unique(y, return_inverse=True)
    assert classes.dtype == expected_classes.dtype
    np.testing.assert_array_equal(classes, expected_classes)
    np.testing.assert_array_equal(codes, expected_codes)
    from sklearn.utils.multiclass import check_classification_targets

    for target in (y + 0.5 if y.dtype.kind == "f" else y, np.arange(30) % 20):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # compared below
                check_classification_targets(target)
        except ValueError as error:
            with pytest.raises(ValueError, match=str(error)[:40]):
                _classes_and_codes(target)
            continue
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            check_classification_targets(target)
        with warnings.catch_warnings(record=True) as ours:
            warnings.simplefilter("always")
            _classes_and_codes(target)
        assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]


@pytest.mark.parametrize("family", ["binomial", "poisson"])
def test_a_column_the_sample_misses_still_reaches_the_optimum(monkeypatch, family):
    """fit_glm's first steps on all the rows use the sample's Hessian (made to run on 6400
    rows): a column whose nonzeros all lie between the sampled rows has no curvature there, and
    its coefficient would stay at 0 with the fit claiming convergence. Convergence is judged
    on all the rows' Hessian: the same optimum as the fit without a sample, unpenalized."""
    from fastgd import glm

    rng = np.random.default_rng(43)
    n = 6400
    # Each row 16 times over, so that the sample (every 16th row) fits the other parameters
    # as all the rows do, and its steps alone would be below tol at once.
    x0 = np.repeat(rng.normal(size=n // 16), 16)
    eta = 0.3 + 0.8 * x0
    if family == "binomial":
        y = np.repeat(rng.uniform(size=n // 16) < 1.0 / (1.0 + np.exp(-eta[::16])), 16)
    else:
        y = np.repeat(rng.poisson(np.exp(eta[::16])), 16)
    y = y.astype(np.float64)
    rare = 16 * rng.choice(n // 16, 40, replace=False) + 1  # never a multiple of 16
    x1 = np.zeros(n)
    x1[rare] = 1.0
    y[rare] = (rng.uniform(size=40) < 0.9) if family == "binomial" else rng.poisson(5.0, 40)
    X = np.column_stack([x0, x1])
    options = {"alpha": 0.0, "fit_intercept": True, "tol": 1e-12, "max_iter": 100}
    monkeypatch.setattr(glm, "SAMPLE_ROWS", 10**9)
    plain = glm.fit_glm(glm.FAMILIES[family], X, y, None, **options)
    monkeypatch.setattr(glm, "SAMPLE_ROWS", 100)
    monkeypatch.setattr(glm, "CHORD_MIN_VALUES", 0)
    sampled = glm.fit_glm(glm.FAMILIES[family], X, y, None, **options)
    assert plain.converged and sampled.converged and abs(plain.coef[1]) > 0.5
    np.testing.assert_allclose(sampled.coef, plain.coef, rtol=1e-9)
    assert sampled.intercept == pytest.approx(plain.intercept, rel=1e-9)


@pytest.mark.parametrize("y", [np.array([-100, 100, 0, 0], dtype=np.int8),
                               np.array([-(2**62), 2**62, 0], dtype=np.int64),
                               np.array([-128, 127, 0], dtype=np.int8),
                               np.array([2**63 + 1, 2**63 + 5, 2**63 + 1], dtype=np.uint64),
                               np.array([3, 5, 4], dtype=np.float16)])  # fmt: skip
def test_logistic_regression_classes_at_the_ends_of_their_dtype(y):
    """Labels whose range overflows their own dtype (int8 from -128 to 127), or beyond int64
    (uint64), or float16: np.unique's classes and codes, no overflow."""
    from fastgd.sklearn_twins import _classes_and_codes

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        classes, codes = _classes_and_codes(y)
    expected_classes, expected_codes = np.unique(y, return_inverse=True)
    np.testing.assert_array_equal(classes, expected_classes)
    np.testing.assert_array_equal(codes, expected_codes)


def test_one_boolean_class_is_named():
    X = np.arange(12.0).reshape(6, 2)
    with pytest.raises(ValueError, match="at least 2 classes"):
        fastgd.LogisticRegressionGD().fit(X, np.ones(6, dtype=bool))
