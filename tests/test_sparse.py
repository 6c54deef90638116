"""A scipy.sparse X (issue 16): the CSR loop and gram backends (fastgd/sparse.py) against the
dense fit of the same data and the slow reference, without ever densifying or changing X."""

import naive
import numpy as np
import pytest

import fastgd
from fastgd import _config
from fastgd.errors import DivergenceError

sparse = pytest.importorskip("scipy.sparse")


def _data(n=120, d=7, density=0.3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = sparse.random(n, d, density=density, format="csr", random_state=seed, dtype=dtype)
    X.data += 1.0  # values away from zero, so that standardizing matters
    dense = X.toarray()
    y = dense @ rng.normal(size=d) + 0.5 + 0.1 * rng.normal(size=n)
    return X, dense, y.astype(dtype), rng.random(n) + 0.2


OPTIONS = {
    "plain": {},
    "standardized": {"standardize": True, "momentum": 0.5},
    "ridge": {"standardize": True, "penalty": "l2", "alpha": 0.2},
    "lasso": {"penalty": "l1", "alpha": 0.01, "momentum": 0.3},
    "huber": {"loss": "huber", "epsilon": 0.2, "standardize": True},
    "positive": {"positive": True, "standardize": True},
    "no-intercept": {"fit_intercept": False, "standardize": True},
}


# The Huber loss has no gram method: that pair is left out.
CASES = [(name, method) for name in OPTIONS for method in ("loop", "gram")]
CASES.remove(("huber", "gram"))


@pytest.mark.parametrize(("name", "method"), CASES)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_same_steps_as_the_dense_fit(name, method, threads, weighted):
    X, dense, y, weights = _data()
    weights = weights if weighted else None
    kwargs = dict(lr=0.05, n_iter=25, method=method, threads=threads, sample_weight=weights,
                  **OPTIONS[name])  # fmt: skip
    ours = fastgd.gradient_descent(X, y, **kwargs)
    theirs = fastgd.gradient_descent(dense, y, **kwargs)
    assert ours.method == method and ours.device == "cpu"
    np.testing.assert_allclose(ours.coef, theirs.coef, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(ours.intercept, theirs.intercept, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(ours.loss_history, theirs.loss_history, rtol=1e-10)


def test_the_loop_follows_the_slow_reference():
    X, dense, y, weights = _data(n=40, d=4)
    result = fastgd.gradient_descent(X, y, lr=0.05, n_iter=15, method="loop", sample_weight=weights,
                        standardize=True)  # fmt: skip
    b, w, history = naive.standardized_gradient_descent(dense, y, 0.05, 15, sample_weight=weights)
    np.testing.assert_allclose(result.coef, w, rtol=1e-10)
    np.testing.assert_allclose(result.intercept, b, rtol=1e-10)
    np.testing.assert_allclose(result.loss_history, history, rtol=1e-10)


def test_to_the_optimum_like_scikit_learn():
    linear_model = pytest.importorskip("sklearn.linear_model")
    X, dense, y, weights = _data(n=400, d=12, density=0.2, seed=3)
    reference = linear_model.LinearRegression().fit(dense, y, sample_weight=weights)
    for method in ("loop", "gram"):
        ours = fastgd.LinearRegressionGD(method=method).fit(X, y, sample_weight=weights)
        np.testing.assert_allclose(ours.coef_, reference.coef_, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(ours.intercept_, reference.intercept_, rtol=1e-8)
        np.testing.assert_allclose(ours.predict(X), reference.predict(dense), rtol=1e-8)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_moments_equal_the_reference(pass_path, dtype):
    from fastgd.sparse import sparse_moments

    X, dense, y, weights = _data(n=500, d=6, seed=4, dtype=dtype)
    # A row with two entries in one column (they add up) and an empty row.
    X = sparse.csr_matrix((np.r_[X.data, 0.5, 0.25], np.r_[X.indices, 2, 2],
                           np.r_[X.indptr, X.nnz + 2, X.nnz + 2]), shape=(502, 6))  # fmt: skip
    dense = X.toarray().astype(np.float64)
    y = np.r_[y, 1.5, -0.5].astype(dtype)
    weights = np.r_[weights, 0.7, 1.3]
    rows = fastgd._validation.check_sparse_data(X, y, weights)[0]
    for threads in (1, 2):
        for w in (None, weights.astype(dtype)):
            total = float(w.sum(dtype=np.float64)) if w is not None else 502.0
            ours = sparse_moments(rows, y, w, total, threads)
            weight, mean, comoment = naive.centered_moments(dense, y.astype(np.float64), w)
            assert ours.weight == pytest.approx(weight, rel=1e-12)
            np.testing.assert_allclose(ours.mean, mean, rtol=1e-12)
            np.testing.assert_allclose(ours.comoment, comoment, rtol=1e-10, atol=1e-12)
            np.testing.assert_array_equal(ours.comoment, ours.comoment.T)


def test_other_formats_duplicates_and_empty_rows():
    X, dense, y, _ = _data(n=30, d=5, seed=5)
    expected = fastgd.gradient_descent(dense, y, lr=0.05, n_iter=10)
    for format_ in ("csc", "coo", "lil", "dok"):
        result = fastgd.gradient_descent(X.asformat(format_), y, lr=0.05, n_iter=10)
        np.testing.assert_allclose(result.coef, expected.coef, rtol=1e-12)
    # A row with duplicate entries (they add up) and empty rows.
    rows, cols = np.array([0, 0, 2, 2, 2]), np.array([1, 1, 0, 3, 3])
    values = np.array([1.0, 2.0, 4.0, 0.5, 0.5])
    coo = sparse.coo_matrix((values, (rows, cols)), shape=(4, 4))
    csr = sparse.csr_matrix((values, cols, np.array([0, 2, 2, 5, 5])), shape=(4, 4))
    target = np.array([1.0, 2.0, 3.0, 4.0])
    dense_result = fastgd.gradient_descent(coo.toarray(), target, lr=0.05, n_iter=10)
    for matrix in (coo, csr):
        result = fastgd.gradient_descent(matrix, target, lr=0.05, n_iter=10)
        np.testing.assert_allclose(result.coef, dense_result.coef, rtol=1e-12)
    assert csr.nnz == 5 and not csr.has_canonical_format  # untouched


def test_float32_and_int_values():
    X, dense, y, _ = _data(n=50, d=4, seed=6, dtype=np.float32)
    result = fastgd.gradient_descent(X, y, lr=0.05, n_iter=10)
    expected = fastgd.gradient_descent(dense, y, lr=0.05, n_iter=10)
    np.testing.assert_allclose(result.coef, expected.coef, rtol=1e-6)
    counts = sparse.csr_matrix(np.array([[1, 0], [0, 2], [3, 0]]))
    result = fastgd.gradient_descent(counts, [1.0, 2.0, 3.0], lr=0.05, n_iter=5)
    assert result.coef.dtype == np.float64 and np.all(np.isfinite(result.coef))


def test_x_is_neither_densified_nor_copied_nor_changed():
    from fastgd._validation import check_sparse_data

    X, _, y, _ = _data(n=200, d=6, seed=7)
    rows = check_sparse_data(X, y)[0]
    assert np.shares_memory(rows.data, X.data) and np.shares_memory(rows.indices, X.indices)
    before = X.copy()
    fastgd.gradient_descent(X, y, standardize=True, momentum="auto", tol=1e-10, n_iter=1000)
    assert (X != before).nnz == 0 and X.format == "csr"


def test_several_targets():
    X, dense, y, _ = _data(n=60, d=5, seed=8)
    Y = np.column_stack([y, -2.0 * y + 1.0])
    result = fastgd.gradient_descent(X, Y, lr=0.05, n_iter=10)
    expected = fastgd.gradient_descent(dense, Y, lr=0.05, n_iter=10)
    np.testing.assert_allclose(result.coef, expected.coef, rtol=1e-10)


def test_bad_input_is_named():
    X, _, y, _ = _data(n=20, d=3, seed=9)
    bad = X.copy()
    bad.data[3] = np.nan
    row = int(np.searchsorted(bad.indptr, 3, side="right")) - 1
    with pytest.raises(ValueError, match=rf"X\[{row}, {bad.indices[3]}\] is nan"):
        fastgd.gradient_descent(bad, y)
    with pytest.raises(ValueError, match="sparse X runs on the CPU only"):
        fastgd.gradient_descent(X, y, device="cuda")
    with pytest.raises(ValueError, match="X is empty"):
        fastgd.gradient_descent(sparse.csr_matrix((0, 3)), np.zeros(0))
    with pytest.raises(DivergenceError, match="too large"):
        fastgd.gradient_descent(X, y, lr=100.0, n_iter=50, method="loop")


def test_gram_above_the_feature_limit_is_asked_for_and_runs_where_it_fits(monkeypatch):
    X, _, y, _ = _data(n=30, d=6, seed=10)
    monkeypatch.setattr(_config, "SPARSE_GRAM_MAX_FEATURES", 4)
    assert fastgd.gradient_descent(X, y, lr=0.05, n_iter=3000, method="auto").method == "loop"
    asked = fastgd.gradient_descent(X, y, lr=0.05, n_iter=3000, method="gram")
    loop = fastgd.gradient_descent(X, y, lr=0.05, n_iter=3000, method="loop")
    assert asked.method == "gram"
    np.testing.assert_allclose(asked.coef, loop.coef, rtol=1e-9)
    monkeypatch.setattr(_config, "SPARSE_GRAM_MEMORY_SHARE", 1e-12)  # as if memory were full
    with pytest.raises(ValueError, match=r"dense 6 x 6 matrix of .* GiB, more than a quarter"):
        fastgd.gradient_descent(X, y, method="gram")
