"""Several targets, y of shape (n, k): each target's result is the one its own fit gives.

The CPU loop serves all k targets with one pass over X per iteration (`gradient.target_sums`,
`iteration.steps_targets`), gram computes the moments of X and all targets in one pass, and
the other backends run one fit per target in lockstep. Every path is checked against the slow
reference run on each column alone (tests/naive.py) and against the single-target fit.
"""

import naive
import numpy as np
import pytest
from tiers import cases

import fastgd
from fastgd.errors import DivergenceError
from fastgd.moments import centered_moments, target_moments


def _data(n=60, d=3, k=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * [1.0, 3.0, 0.5][:d] + [2.0, -1.0, 4.0][:d]
    coef = rng.normal(size=(k, d))
    Y = X @ coef.T + rng.normal(size=k) + 0.3 * rng.normal(size=(n, k))
    Y[:, -1] = rng.standard_t(2, size=n)  # a target with outliers, unlike the others
    return X.astype(dtype), Y.astype(dtype), rng.random(n) + 0.2


OPTIONS = {
    "plain": {},
    "standardized-momentum": {"standardize": True, "momentum": 0.5},
    "ridge": {"standardize": True, "penalty": "l2", "alpha": 0.3},
    "lasso-momentum": {"standardize": True, "penalty": "l1", "alpha": 0.05, "momentum": 0.4},
    "huber": {"standardize": True, "loss": "huber", "epsilon": 0.7},
    "huber-plain": {"loss": "huber", "epsilon": 0.7, "momentum": 0.3},
    "no-intercept": {"fit_intercept": False, "standardize": True},
}


def _reference_options(options):
    """fit()'s options as naive.standardized_gradient_descent takes them."""
    l2 = l1 = 0.0
    if options.get("penalty") == "l2":
        l2 = options["alpha"]
    if options.get("penalty") == "l1":
        l1 = options["alpha"]
    return {
        "fit_intercept": options.get("fit_intercept", True),
        "momentum": options.get("momentum", 0.0),
        "standardize": options.get("standardize", False),
        "l2": l2,
        "l1": l1,
        "epsilon": options.get("epsilon") if options.get("loss") == "huber" else None,
    }


def _options_compiled_as(shifted, huber):
    """The OPTIONS that run the k-target kernel compiled for this shift and loss: the kernel's
    types depend on these alone (penalty, momentum and intercept are runtime values)."""
    return [
        name for name, options in OPTIONS.items()
        if bool(options.get("standardize")) == shifted and (options.get("loss") == "huber") == huber
    ]  # fmt: skip


# The kernel's variants pairwise (tests/tiers.py): each compiles once and serves every option.
@pytest.mark.parametrize(
    ("shifted", "huber", "weighted", "threads", "dtype"),
    cases(
        {"shifted": [False, True], "huber": [False, True], "weighted": [False, True],
         "threads": [1, 2], "dtype": [np.float64, np.float32]},
        # the kernels that the tests below compile too (each a compile of 20-40 s): shared
        include=[{"shifted": True, "huber": h, "weighted": True, "threads": 1,
                  "dtype": np.float64} for h in (False, True)]
        + [{"shifted": False, "huber": True, "weighted": True, "threads": 2,
            "dtype": np.float64}],
    ),
)  # fmt: skip
def test_each_target_follows_the_reference_on_the_loop(shifted, huber, weighted, threads, dtype):
    X, Y, sample_weight = _data(dtype=dtype)
    weights = sample_weight if weighted else None
    # float32 data: the sums are float64, the data's rounding is the reference's too (it reads
    # the same float32 values), so only the kernels' own rounding differs.
    rtol = 1e-9 if dtype == np.float64 else 1e-5
    names = _options_compiled_as(shifted, huber)
    assert names
    for name in names:
        options = OPTIONS[name]
        lr, n_iter = (0.1 if options.get("standardize") else 0.01), 40
        result = fastgd.gradient_descent(
            X, Y, lr=lr, n_iter=n_iter, method="loop", threads=threads, sample_weight=weights,
            **options,
        )  # fmt: skip
        assert result.coef.shape == (3, 3) and result.intercept.shape == (3,)
        assert result.loss_history.shape == (3, n_iter + 1)
        assert list(result.n_iter) == [n_iter] * 3
        for t in range(3):
            b, w, history = naive.standardized_gradient_descent(
                X, Y[:, t], lr, n_iter, sample_weight=weights, **_reference_options(options)
            )
            np.testing.assert_allclose(result.coef[t], w, rtol=rtol, atol=rtol * 1e-3, err_msg=name)
            np.testing.assert_allclose(result.intercept[t], b, rtol=rtol, atol=rtol * 1e-3)
            np.testing.assert_allclose(result.loss_history[t], history, rtol=rtol)


@pytest.mark.parametrize(
    ("method", "name"),
    [*[("loop", name) for name in ("plain", "ridge", "lasso-momentum", "huber", "no-intercept")],
     *[("gram", name) for name in ("plain", "ridge", "lasso-momentum", "no-intercept")]],
)  # the Huber loss has no gram method  # fmt: skip
def test_each_target_equals_its_own_fit_to_tol(method, name):
    X, Y, sample_weight = _data(n=200, seed=3)
    options = dict(OPTIONS[name], standardize=True, momentum="auto")
    if name == "lasso-momentum":
        options["momentum"] = "auto"
    common = dict(tol=1e-10, n_iter=20_000, method=method, sample_weight=sample_weight)
    together = fastgd.gradient_descent(X, Y, **common, **options)
    assert together.converged
    for t in range(Y.shape[1]):
        alone = fastgd.gradient_descent(X, Y[:, t], **common, **options)
        assert alone.converged
        # The same trajectory, up to the order of the rounded sums: the same stopping step, or
        # one off where the gradient lands on the threshold within rounding.
        assert abs(int(together.n_iter[t]) - alone.n_iter) <= 1
        scale = np.abs(alone.coef).max()
        np.testing.assert_allclose(together.coef[t], alone.coef, atol=1e-8 * scale)
        np.testing.assert_allclose(together.intercept[t], alone.intercept, atol=1e-8 * scale)
        # (nan for both with the Huber loss, whose bound is unknown)
        np.testing.assert_allclose(together.distance_bound[t], alone.distance_bound, rtol=0.5)


def test_a_target_that_converges_first_stays_where_its_own_fit_stops():
    X, Y, _ = _data(n=300, seed=5)
    Y[:, 0] = X @ [1.0, 2.0, 3.0] + 4.0  # an exact fit: converges well before the noisy ones
    result = fastgd.gradient_descent(
        X, Y, tol=1e-12, n_iter=50_000, standardize=True, momentum="auto"
    )
    alone = fastgd.gradient_descent(
        X, Y[:, 0], tol=1e-12, n_iter=50_000, standardize=True, momentum="auto"
    )
    assert result.converged and int(result.n_iter[0]) == alone.n_iter
    assert result.n_iter.max() > result.n_iter[0] or result.method == "gram"
    k = result.loss_history.shape[1] - 1
    assert k == result.n_iter.max()
    # After it stopped, its loss stays (its parameters do not move).
    stop = int(result.n_iter[0])
    np.testing.assert_array_equal(result.loss_history[0, stop:], result.loss_history[0, stop])
    np.testing.assert_allclose(result.coef[0], alone.coef, rtol=1e-9)


def test_one_pass_of_moments_serves_every_target(pass_path):
    X, Y, weights = _data(n=1500, d=3, k=4, seed=2)
    for threads in (1, 2):
        joint = centered_moments(X, Y, weights, threads)
        assert joint.mean.shape == (7,) and joint.comoment.shape == (7, 7)
        for t in range(4):
            one = target_moments(joint, 3, t)
            alone = centered_moments(X, np.ascontiguousarray(Y[:, t]), weights, threads)
            np.testing.assert_allclose(one.mean, alone.mean, rtol=1e-13)
            np.testing.assert_allclose(one.comoment, alone.comoment, rtol=1e-12, atol=1e-12)
    X1 = np.ascontiguousarray(X[:, :1])  # one feature: the general kernel, y as columns
    joint = centered_moments(X1, Y)
    alone = centered_moments(X1, np.ascontiguousarray(Y[:, 2]))
    np.testing.assert_allclose(target_moments(joint, 1, 2).comoment, alone.comoment, rtol=1e-12)


def test_shapes_and_a_one_column_y():
    X, Y, _ = _data()
    result = fastgd.gradient_descent(X, Y, lr=0.01, n_iter=5)
    assert result.loss.shape == (3,) and result.n_iter.shape == (3,)
    assert result.coef_bound.shape == (3, 3) or result.coef_bound is None
    assert result.predict(X).shape == (60, 3)
    np.testing.assert_allclose(result.predict(X), X @ result.coef.T + result.intercept)
    assert "intercept=[" in repr(result)
    column = fastgd.gradient_descent(
        X, Y[:, :1], lr=0.01, n_iter=5
    )  # (n, 1): one target, as always
    assert column.coef.shape == (3,) and isinstance(column.intercept, float)
    np.testing.assert_allclose(column.coef, result.coef[0], rtol=1e-12)


def test_starting_points_per_target():
    X, Y, _ = _data()
    b0, w0 = np.array([1.0, -2.0, 0.5]), np.arange(9.0).reshape(3, 3) / 10
    result = fastgd.gradient_descent(X, Y, lr=0.01, n_iter=7, b0=b0, w0=w0)
    shared = fastgd.gradient_descent(X, Y, lr=0.01, n_iter=7, b0=0.5, w0=w0[1])
    for t in range(3):
        alone = fastgd.gradient_descent(X, Y[:, t], lr=0.01, n_iter=7, b0=b0[t], w0=w0[t])
        np.testing.assert_allclose(result.coef[t], alone.coef, rtol=1e-12)
        again = fastgd.gradient_descent(X, Y[:, t], lr=0.01, n_iter=7, b0=0.5, w0=w0[1])
        np.testing.assert_allclose(shared.coef[t], again.coef, rtol=1e-12)
    with pytest.raises(ValueError, match=r"b0 must be a number or one per target, shape \(3,\)"):
        fastgd.gradient_descent(X, Y, b0=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"w0 must have .* or \(3, 3\) one row per target"):
        fastgd.gradient_descent(X, Y, w0=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="fit_intercept=False"):
        fastgd.gradient_descent(X, Y, b0=[0.0, 1.0, 0.0], fit_intercept=False)


def test_the_callers_arrays_are_untouched_and_nothing_is_copied():
    X, Y, _ = _data()
    X_before, Y_before = X.copy(), Y.copy()
    w0 = np.ones((3, 3))
    fastgd.gradient_descent(X, Y, lr=0.01, n_iter=5, w0=w0)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(Y, Y_before)
    np.testing.assert_array_equal(w0, 1.0)


def test_divergence_names_the_target():
    X, Y, _ = _data()
    with pytest.raises(DivergenceError, match=r"on target \d \(y\[:, \d\]\).*too large"):
        fastgd.gradient_descent(X, Y, lr=5.0, n_iter=100, method="loop")


def test_callback_gets_every_target():
    X, Y, _ = _data()
    seen = []

    def callback(k, intercept, coef, loss):
        seen.append((k, intercept.shape, coef.shape, loss.shape))

    fastgd.gradient_descent(X, Y, lr=0.01, n_iter=6, callback=callback, check_every=2)
    assert seen == [(k, (3,), (3, 3), (3,)) for k in (2, 4, 6)]


def test_on_dask_each_target_is_its_own_fit():
    da = pytest.importorskip("dask.array")
    X, Y, weights = _data(n=90)
    expected = fastgd.gradient_descent(
        X, Y, lr=0.01, n_iter=20, method="loop", sample_weight=weights
    )
    for method in ("loop", "gram"):
        result = fastgd.gradient_descent(
            da.from_array(X, chunks=(40, 3)), da.from_array(Y, chunks=(25, 3)), lr=0.01,
            n_iter=20, method=method, sample_weight=weights,
        )  # fmt: skip
        assert result.device == "dask"
        np.testing.assert_allclose(result.coef, expected.coef, rtol=1e-10)
        np.testing.assert_allclose(result.intercept, expected.intercept, rtol=1e-10)


def test_estimator_has_scikit_learns_shapes():
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LinearRegression

    X, Y, weights = _data(n=200)
    ours = fastgd.LinearRegressionGD().fit(X, Y, sample_weight=weights)
    theirs = LinearRegression().fit(X, Y, sample_weight=weights)
    assert ours.coef_.shape == theirs.coef_.shape == (3, 3)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-8)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-8)
    assert ours.n_iter_.shape == (3,)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-8)
    column = fastgd.LinearRegressionGD().fit(X, Y[:, :1])
    reference = LinearRegression().fit(X, Y[:, :1])
    assert column.coef_.shape == reference.coef_.shape == (1, 3)
    assert column.intercept_.shape == reference.intercept_.shape == (1,)
    assert column.predict(X).shape == reference.predict(X).shape == (200, 1)


@pytest.mark.parametrize("threads", [1, 2])
def test_the_same_bits_every_time_for_a_thread_count(threads):
    X, Y, weights = _data(n=3000, d=3, k=6, seed=9)
    # The Huber loss, weighted: kernels test_each_target_follows_the_reference_on_the_loop
    # compiles too (each compile of the k-target pass costs 20-40 s).
    options = {"loss": "huber", "epsilon": 0.7, "standardize": threads == 1}
    runs = [
        fastgd.gradient_descent(
            X,
            Y,
            lr=0.01,
            n_iter=25,
            method="loop",
            threads=threads,
            sample_weight=weights,
            **options,
        )
        for _ in range(3)
    ]
    for other in runs[1:]:
        np.testing.assert_array_equal(other.coef, runs[0].coef)
        np.testing.assert_array_equal(other.loss_history, runs[0].loss_history)


# The k-target pass's own sums, at every shape and vector width: tests/test_targets_kernel.py.
