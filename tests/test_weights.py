"""Sample weights: the weighted MSE against the slow reference and the identities weights obey.

loss = sum_i s_i r_i**2 / sum_i s_i, so: integer weights act like repeated rows, zero weights
like dropped rows, and multiplying every weight by the same constant changes nothing. Each holds
for both methods: the loop (one weighted pass per iteration) and gram (weighted moments once).
"""

import naive
import numpy as np
import pytest

import fastgd


def problem(rng, n, d):
    X = rng.normal(loc=1.0, size=(n, d))
    y = X @ rng.normal(size=d) + 0.7 + 0.3 * rng.normal(size=n)
    return X, y


METHODS = ["loop", "gram"]
# gram reorders the arithmetic (moments, then iterations): it matches the loop to 1e-9.
RTOL = {"loop": 1e-10, "gram": 1e-9}


def assert_same_fit(result, other, rtol=1e-10):
    assert result.intercept == pytest.approx(other.intercept, rel=rtol, abs=1e-12)
    np.testing.assert_allclose(result.coef, other.coef, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(result.loss_history, other.loss_history, rtol=rtol)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("d", [1, 4])
def test_weighted_fit_matches_reference(rng, d, threads, method):
    X, y = problem(rng, 151, d)
    weights = rng.uniform(0.0, 5.0, size=151)
    result = fastgd.gradient_descent(
        X[:, 0] if d == 1 else X, y, lr=0.05, n_iter=25, sample_weight=weights, threads=threads,
        method=method,
    )  # fmt: skip
    assert result.method == method
    b, w, history = naive.gradient_descent(X, y, 0.05, 25, sample_weight=weights)
    assert result.intercept == pytest.approx(b, rel=RTOL[method])
    np.testing.assert_allclose(result.coef, w, rtol=RTOL[method])
    np.testing.assert_allclose(result.loss_history, history, rtol=RTOL[method])
    # The weights matter: the unweighted fit is a different one.
    unweighted = fastgd.gradient_descent(X, y, lr=0.05, n_iter=25, threads=threads, method=method)
    assert abs(unweighted.loss_history[-1] - result.loss_history[-1]) > 1e-6


@pytest.mark.parametrize("method", METHODS)
def test_float32_weights_follow_x(rng, method):
    X, y = problem(rng, 80, 2)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    weights = rng.uniform(0.5, 2.0, size=80)
    result = fastgd.gradient_descent(
        X32, y32, lr=0.05, n_iter=20, sample_weight=weights, method=method
    )
    b, w, history = naive.gradient_descent(
        X32, y32, 0.05, 20, sample_weight=weights.astype(np.float32)
    )
    assert result.intercept == pytest.approx(b, rel=RTOL[method])
    np.testing.assert_allclose(result.coef, w, rtol=RTOL[method])
    np.testing.assert_allclose(result.loss_history, history, rtol=RTOL[method])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("d", [1, 3])
def test_integer_weights_equal_repeated_rows(rng, d, threads, method):
    X, y = problem(rng, 60, d)
    counts = rng.integers(1, 5, size=60)
    options = {"lr": 0.05, "n_iter": 30, "threads": threads, "method": method}
    weighted = fastgd.gradient_descent(X, y, sample_weight=counts, **options)
    repeated = fastgd.gradient_descent(
        np.repeat(X, counts, axis=0), np.repeat(y, counts), **options
    )
    assert_same_fit(weighted, repeated, rtol=RTOL[method])


@pytest.mark.parametrize("method", METHODS)
def test_auto_step_sees_the_weights(rng, method):
    # lr="auto" comes from the weighted moments: the same step as for the repeated rows.
    X, y = problem(rng, 60, 2)
    X[:10] *= 5.0  # heavy weights on these rows change the curvature
    counts = np.where(np.arange(60) < 10, 6, 1)
    weighted = fastgd.gradient_descent(X, y, n_iter=30, sample_weight=counts, method=method)
    repeated = fastgd.gradient_descent(
        np.repeat(X, counts, axis=0), np.repeat(y, counts), n_iter=30, method=method
    )
    unweighted = fastgd.gradient_descent(X, y, n_iter=30, method=method)
    assert weighted.lr == pytest.approx(repeated.lr, rel=1e-12)
    assert abs(weighted.lr - unweighted.lr) > 0.05 * unweighted.lr
    assert_same_fit(weighted, repeated, rtol=RTOL[method])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("threads", [1, 2])
def test_zero_weights_equal_dropped_rows(rng, threads, method):
    X, y = problem(rng, 90, 2)
    weights = rng.uniform(0.5, 2.0, size=90)
    dropped = rng.random(90) < 0.3
    weights[dropped] = 0.0
    # Rows with zero weight may hold anything finite: they must not count at all.
    y = y.copy()
    y[dropped] = 1e6
    options = {"lr": 0.05, "n_iter": 30, "threads": threads, "method": method}
    weighted = fastgd.gradient_descent(X, y, sample_weight=weights, **options)
    kept = ~dropped
    subset = fastgd.gradient_descent(X[kept], y[kept], sample_weight=weights[kept], **options)
    assert_same_fit(weighted, subset, rtol=RTOL[method])


@pytest.mark.parametrize("method", METHODS)
def test_weights_are_scale_free_and_uniform_weights_change_nothing(rng, method):
    X, y = problem(rng, 70, 2)
    weights = rng.uniform(0.1, 2.0, size=70)
    options = {"lr": 0.05, "n_iter": 20, "method": method}
    base = fastgd.gradient_descent(X, y, sample_weight=weights, **options)
    rtol = RTOL[method]
    assert_same_fit(
        base, fastgd.gradient_descent(X, y, sample_weight=1000.0 * weights, **options), rtol
    )
    plain = fastgd.gradient_descent(X, y, **options)
    assert_same_fit(
        plain, fastgd.gradient_descent(X, y, sample_weight=np.full(70, 3.0), **options), rtol
    )
    # A scalar weight is the same weight for every row.
    assert_same_fit(plain, fastgd.gradient_descent(X, y, sample_weight=2.5, **options), rtol)


@pytest.mark.parametrize("method", METHODS)
def test_large_weighted_fit_on_two_threads_matches_one_thread(rng, method):
    # Large enough that each thread's block is long (the kernels' vectorized main loops run).
    X, y = problem(rng, 120_000, 2)
    weights = rng.uniform(0.0, 3.0, size=120_000)
    options = {"lr": 0.05, "n_iter": 5, "sample_weight": weights, "method": method}
    parallel = fastgd.gradient_descent(X, y, threads=2, **options)
    serial = fastgd.gradient_descent(X, y, threads=1, **options)
    assert parallel.threads == 2
    assert_same_fit(parallel, serial, rtol=1e-12 if method == "loop" else 1e-10)
    # The loss at the start, recomputed in NumPy from its definition.
    expected = np.sum(weights * y**2) / np.sum(weights)
    assert parallel.loss_history[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_weights_are_not_modified(rng, method):
    X, y = problem(rng, 40, 2)
    weights = rng.uniform(0.5, 2.0, size=40)
    before = weights.copy()
    fastgd.gradient_descent(X, y, lr=0.05, n_iter=5, sample_weight=weights, method=method)
    np.testing.assert_array_equal(weights, before)


X = np.arange(12.0).reshape(6, 2)
Y = np.arange(6.0)


@pytest.mark.parametrize(
    "weights, error, pattern",
    [
        (-np.ones(6), ValueError, r"sample_weight\[0\] is -1.0: weights must be >= 0"),
        ([1, 1, 1, -0.5, 1, 1], ValueError, r"sample_weight\[3\] is -0.5: weights must be >= 0"),
        ([1, 1, np.nan, 1, 1, 1], ValueError, r"sample_weight\[2\] is nan: .*must be finite"),
        ([1, 1, 1, 1, np.inf, 1], ValueError, r"sample_weight\[4\] is inf: .*must be finite"),
        (np.ones(5), ValueError, r"sample_weight must have shape \(6,\).*got shape \(5,\)"),
        (np.ones(7), ValueError, r"sample_weight must have shape \(6,\).*got shape \(7,\)"),
        (np.ones((6, 1)), ValueError, r"sample_weight must have shape \(6,\)"),
        (np.zeros(6), ValueError, r"sample_weight sums to 0.0: .*at least one row"),
        (np.full(6, 1e308), ValueError, r"sample_weight sums to inf: .*rescale"),
        (np.full(6, 1e-310), ValueError, r"sample_weight sums to 6e-310, too small .*rescale"),
        (np.array(["a"] * 6), TypeError, r"sample_weight holds strings"),
        (np.ones(6, dtype=complex), TypeError, r"sample_weight holds complex numbers"),
        ("abc", TypeError, r"sample_weight must be an array of numbers"),
        (-1.0, ValueError, r"sample_weight\[0\] is -1.0"),
    ],
)
def test_bad_weights_are_named(weights, error, pattern):
    with pytest.raises(error, match=pattern):
        fastgd.gradient_descent(X, Y, lr=0.01, n_iter=3, sample_weight=weights)
