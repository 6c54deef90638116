"""The logistic loss on the loop path (issue 28): fit(loss="logistic") minimizes the mean
log-loss log(1 + e^p) - y p of y in [0, 1] (+ the penalty), by the same accelerated gradient
steps as every loss, on every backend -- against the slow reference step by step, against
scikit-learn's LogisticRegression at the optimum, and with its domain's errors named."""

import naive
import numpy as np
import pytest

import fastgd

PATHS = [{"method": "loop", "threads": 1}, {"method": "loop", "threads": 2}]


def classes(rng, n=200, d=3, shift=1.5):
    X = rng.normal(shift, 1.5, size=(n, d))
    p = (X - shift) @ np.array([1.0, -2.0, 0.5])[:d] + 0.3
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-p))).astype(float)
    return X, y


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("standardize", [False, True])
def test_logistic_steps_are_the_reference(rng, path, standardize):
    X, y = classes(rng, n=60)
    weights = rng.uniform(0.2, 2.0, size=60)
    lr = 1.0 if standardize else 1.5 * fastgd.max_stable_lr(X, y, weights)
    for momentum in (0.0, 0.6):
        result = fastgd.gradient_descent(
            X, y, lr=lr, n_iter=20, momentum=momentum, standardize=standardize,
            loss="logistic", sample_weight=weights, **path,
        )  # fmt: skip
        b, w, history = naive.standardized_gradient_descent(
            X, y, lr, 20, sample_weight=weights, momentum=momentum, standardize=standardize,
            logistic=True,
        )  # fmt: skip
        assert result.intercept == pytest.approx(b, rel=1e-9, abs=1e-12)
        np.testing.assert_allclose(result.coef, w, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(result.loss_history, history, rtol=1e-9)


@pytest.mark.parametrize("path", [*PATHS, {"sparse": True}])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_optimum_is_scikit_learns(rng, path, weighted):
    """fit(loss="logistic", penalty="l2", alpha=a, standardize=False) is scikit-learn's
    LogisticRegression(C=1 / (a S)): the mean log-loss + a/2 |w|², the defaults reaching it."""
    from sklearn.linear_model import LogisticRegression

    X, y = classes(rng)
    weights = rng.uniform(0.5, 2.0, size=len(y)) if weighted else None
    alpha = 1e-2
    options = dict(path)
    if options.pop("sparse", False):
        import scipy.sparse

        data = scipy.sparse.csr_matrix(X)
    else:
        data = X
    result = fastgd.fit(data, y, loss="logistic", penalty="l2", alpha=alpha, standardize=False,
                        sample_weight=weights, n_iter=100_000, **options)  # fmt: skip
    total = len(y) if weights is None else weights.sum()
    expected = LogisticRegression(
        C=1.0 / (alpha * total), solver="newton-cg", tol=1e-14, max_iter=10_000
    )  # fmt: skip (lbfgs stops 1e-7 short)
    expected.fit(X, y, sample_weight=weights)
    assert result.converged and result.method == "loop"
    assert result.coef == pytest.approx(expected.coef_[0], rel=1e-7, abs=1e-9)
    assert result.intercept == pytest.approx(expected.intercept_[0], rel=1e-7, abs=1e-9)
    assert result.momentum > 0.0  # "auto", from the curvature bound


def test_dask_is_the_cpu(rng):
    da = pytest.importorskip("dask.array")
    import dask

    X, y = classes(rng, n=120)
    direct = fastgd.gradient_descent(X, y, loss="logistic", lr=0.5, n_iter=30, method="loop")
    with dask.config.set(scheduler="sync"):
        on_dask = fastgd.gradient_descent(
            da.from_array(X, chunks=(50, 3)), da.from_array(y, chunks=50), loss="logistic",
            lr=0.5, n_iter=30,
        )  # fmt: skip
        np.testing.assert_allclose(on_dask.coef, direct.coef, rtol=1e-10)
        np.testing.assert_allclose(on_dask.loss_history, direct.loss_history, rtol=1e-10)
        with pytest.raises(ValueError, match=r"y\[7\] = 2, but loss='logistic' needs y in"):
            fastgd.fit(da.from_array(X, chunks=(50, 3)),
                       da.from_array(np.where(np.arange(120) == 7, 2.0, y), chunks=50),
                       loss="logistic")  # fmt: skip


def test_what_it_refuses_is_named(rng):
    X, y = classes(rng, n=50)
    assert fastgd.fit(X, y, loss="logistic", n_iter=5).method == "loop"
    with pytest.raises(ValueError, match=r"gram.*logistic|logistic.*gram"):
        fastgd.fit(X, y, loss="logistic", method="gram")
    with pytest.raises(ValueError, match=r"y\[3\] = -1, but loss='logistic' needs y in \[0, 1\]"):
        fastgd.fit(X, np.where(np.arange(50) == 3, -1.0, y), loss="logistic")
    with pytest.raises(ValueError, match=r"loss='logistic' fits one target at a time"):
        fastgd.fit(X, np.column_stack([y, y]), loss="logistic")
    # Shares of successes are the binomial's: fitted, not refused.
    shares = fastgd.fit(X, np.clip(y * 0.8 + 0.1, 0, 1), loss="logistic", n_iter=5)
    assert np.isfinite(shares.loss)
