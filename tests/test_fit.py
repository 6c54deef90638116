"""fastgd.fit on the CPU against the slow reference."""

import time

import naive
import numba
import numpy as np
import pytest

import fastgd
from fastgd import _validation


def assert_matches_reference(result, X, y, lr, n_iter, rtol=1e-10, **kwargs):
    b, w, history = naive.gradient_descent(
        np.asarray(X).reshape(len(y), -1), y, lr, n_iter, **kwargs
    )
    assert result.intercept == pytest.approx(b, rel=rtol, abs=1e-12)
    np.testing.assert_allclose(result.coef, w, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(result.loss_history, history, rtol=rtol)
    assert result.loss == result.loss_history[-1]


def test_lecture_numbers_through_fit(lecture_points):
    x, y = lecture_points[:, 0], lecture_points[:, 1]
    start = time.perf_counter()
    result = fastgd.gradient_descent(x, y, lr=0.0001, n_iter=1000)
    elapsed = time.perf_counter() - start
    assert result.loss_history[0] == pytest.approx(5565.107834483211, rel=1e-12)
    assert result.intercept == pytest.approx(0.08893651993741346, rel=1e-12)
    assert result.coef[0] == pytest.approx(1.4777440851894448, rel=1e-12)
    assert result.loss == pytest.approx(112.61481011613473, rel=1e-12)
    assert result.n_iter == 1000 and result.loss_history.shape == (1001,)
    # The fit's own time: some of the call's, not all of it (the call also checks the data).
    assert result.device == "cpu" and 0 < result.seconds <= elapsed


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("d", [1, 3])
def test_matches_reference(rng, threads, d):
    X = rng.normal(size=(203, d))
    y = X @ rng.normal(size=d) + 0.5 + 0.1 * rng.normal(size=203)
    result = fastgd.gradient_descent(
        X if d > 1 else X[:, 0], y, lr=0.05, n_iter=40, threads=threads
    )
    assert result.threads == threads
    assert_matches_reference(result, X, y, 0.05, 40)


def test_starting_point_and_weights(rng):
    X = rng.normal(size=(50, 2))
    y = rng.normal(size=50)
    weights = rng.uniform(0, 3, size=50)
    result = fastgd.gradient_descent(
        X, y, lr=0.1, n_iter=15, b0=1.5, w0=[-1.0, 2.0], sample_weight=weights, threads=2
    )
    assert_matches_reference(result, X, y, 0.1, 15, b0=1.5, w0=[-1.0, 2.0], sample_weight=weights)


def test_float32_data_is_accumulated_in_float64(rng):
    X = rng.normal(loc=3.0, size=(1000, 2)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0], dtype=np.float32) + 1.0).astype(np.float32)
    result = fastgd.gradient_descent(X, y, lr=0.04, n_iter=30)
    # The reference sees the same float32 values, exactly widened to float64.
    assert_matches_reference(result, X.astype(np.float64), y.astype(np.float64), 0.04, 30)


def test_other_real_dtypes_are_converted(rng):
    X = rng.integers(0, 10, size=(40, 2))
    y = rng.integers(0, 10, size=40).astype(np.uint8)
    result = fastgd.gradient_descent(X, y, lr=0.005, n_iter=10)
    assert_matches_reference(result, X, y, 0.005, 10)


def test_n_iter_zero_reports_the_starting_loss(rng):
    x = rng.normal(size=20)
    y = rng.normal(size=20)
    result = fastgd.gradient_descent(x, y, lr=0.1, n_iter=0, b0=0.25, w0=[2.0])
    assert result.intercept == 0.25 and result.coef.tolist() == [2.0]
    assert result.loss_history.tolist() == [
        pytest.approx(naive.loss([[v] for v in x], y, 0.25, [2.0]))
    ]


def test_single_row(rng):
    result = fastgd.gradient_descent([2.0], [3.0], lr=0.1, n_iter=5)
    assert_matches_reference(result, [[2.0]], [3.0], 0.1, 5)


def test_input_arrays_are_neither_copied_nor_modified(rng):
    X = rng.normal(size=(300, 3))
    y = rng.normal(size=300)
    w0 = np.array([1.0, 2.0, 3.0])
    copies = X.copy(), y.copy(), w0.copy()
    checked_X, checked_y, _, _ = _validation.check_data(X, y)
    assert np.shares_memory(checked_X, X) and np.shares_memory(checked_y, y)
    x32 = X[:, 0].astype(np.float32)
    assert np.shares_memory(_validation.check_data(x32, y)[0], x32)
    result = fastgd.gradient_descent(X, y, lr=0.1, n_iter=3, w0=w0)
    for before, after in zip(copies, (X, y, w0)):
        np.testing.assert_array_equal(before, after)
    assert not np.shares_memory(result.coef, w0)


def test_read_only_and_strided_inputs(rng):
    X = rng.normal(size=(100, 4))
    y = rng.normal(size=100)
    X.setflags(write=False)
    y.setflags(write=False)
    view = X[::-2, 1:3]  # negative stride, not contiguous
    result = fastgd.gradient_descent(view, y[::2], lr=0.05, n_iter=8)
    assert_matches_reference(result, view, y[::2], 0.05, 8)


def test_same_input_and_threads_give_identical_bits(rng):
    X = rng.normal(size=(5001, 2))
    y = rng.normal(size=5001)
    for threads in (1, 2):
        first = fastgd.gradient_descent(X, y, lr=0.1, n_iter=20, threads=threads)
        second = fastgd.gradient_descent(X, y, lr=0.1, n_iter=20, threads=threads)
        assert first.intercept == second.intercept
        np.testing.assert_array_equal(first.coef, second.coef)
        np.testing.assert_array_equal(first.loss_history, second.loss_history)


def test_threads_are_restored(rng):
    before = numba.get_num_threads()
    fastgd.gradient_descent(rng.normal(size=10), rng.normal(size=10), lr=0.1, n_iter=2, threads=1)
    fastgd.gradient_descent(rng.normal(size=10), rng.normal(size=10), lr=0.1, n_iter=2, threads=2)
    assert numba.get_num_threads() == before


def test_large_data_uses_the_idle_cores_by_default(rng, monkeypatch, tmp_path):
    from fastgd import threads

    monkeypatch.setattr(fastgd._config, "PARALLEL_MIN_VALUES", 100)
    monkeypatch.setattr(threads, "_cpu_count", lambda: 2)
    x = rng.normal(size=1000)
    loadavg = tmp_path / "loadavg"
    real = threads.runnable_elsewhere
    tasks = tmp_path / "task"  # this process's threads, as /proc/self/task lists them
    monkeypatch.setattr(threads, "runnable_elsewhere", lambda: real(str(loadavg), str(tasks)))
    for runnable, expected in ((1, min(2, numba.get_num_threads())), (2, 1), (5, 1)):
        # The run queue's count includes this thread: 1 means every other core is idle.
        loadavg.write_text(f"0.50 0.40 0.30 {runnable}/321 4242\n")
        result = fastgd.gradient_descent(x, 2 * x, lr=0.1, n_iter=3, method="loop")
        assert result.threads == expected, runnable
    # Runnable threads of this process (BLAS's workers spinning after a product) are not
    # another process's work: two runnable, one of them ours, leaves both cores to the fit.
    for name, state in (("101", "R"), ("102", "S")):
        (tasks / name).mkdir(parents=True)
        (tasks / name / "stat").write_text(f"{name} (worker (1)) {state} 1 2 3\n")
    loadavg.write_text("0.50 0.40 0.30 2/321 4242\n")
    result = fastgd.gradient_descent(x, 2 * x, lr=0.1, n_iter=3, method="loop")
    assert result.threads == min(2, numba.get_num_threads())
    loadavg.write_text("not a loadavg file")  # unknown: numba's thread count
    assert threads.default_threads() == numba.get_num_threads()
    assert fastgd.gradient_descent(x[:10], 2 * x[:10], lr=0.1, n_iter=3, method="loop").threads == 1


def test_tol_stops_at_the_documented_iterate(rng):
    # The first iterate whose distance bound |g| / mu is at most tol |(b, w)|.
    x = rng.normal(size=100)
    y = 3 * x + 1 + rng.normal(size=100)
    result = fastgd.gradient_descent(x, y, lr=0.1, n_iter=10_000, tol=1e-3)
    history = result.loss_history
    k = result.n_iter
    assert result.converged and 0 < k < 10_000 and history.shape == (k + 1,)

    def relative_bound(fitted):
        return fitted.distance_bound / np.hypot(fitted.intercept, fitted.coef[0])

    assert relative_bound(result) <= 1e-3
    before = fastgd.gradient_descent(x, y, lr=0.1, n_iter=k - 1)
    assert relative_bound(before) > 1e-3
    assert_matches_reference(result, x, y, 0.1, k)
    optimum = np.polyfit(x, y, 1)[::-1]
    found = np.array([result.intercept, result.coef[0]])
    assert np.linalg.norm(found - optimum) <= 1e-3 * np.linalg.norm(found)


def test_callback_sees_every_block_and_can_stop(rng):
    x = rng.normal(size=64)
    y = 2 * x
    seen = []

    def callback(k, b, w, loss):
        seen.append((k, b, w.copy(), loss))
        return k >= 30

    result = fastgd.gradient_descent(x, y, lr=0.01, n_iter=100, callback=callback, check_every=10)
    assert [k for k, *_ in seen] == [10, 20, 30]
    assert result.n_iter == 30
    _, b, w, loss = seen[-1]
    assert (b, w[0], loss) == (result.intercept, result.coef[0], result.loss)
    assert loss == pytest.approx(naive.loss([[v] for v in x], y, b, w))


def test_divergence_names_iteration_and_learning_rate(lecture_points):
    with pytest.raises(fastgd.DivergenceError, match=r"iteration \d+ \(lr=0\.01\).*too large"):
        fastgd.gradient_descent(lecture_points[:, 0], lecture_points[:, 1], lr=0.01, n_iter=1000)


def test_overflowing_data_is_a_clear_error():
    x = np.full(10, 1e200)
    with pytest.raises(fastgd.DivergenceError, match="scale X and y"):
        fastgd.gradient_descent(x, x, lr=0.1, n_iter=5)


def test_result_repr_and_predict(rng):
    x = rng.normal(size=30)
    result = fastgd.gradient_descent(x, 2 * x + 1, lr=0.1, n_iter=50)
    assert "FitResult(intercept=" in repr(result) and "device='cpu'" in repr(result)
    np.testing.assert_allclose(result.predict(x), result.coef[0] * x + result.intercept)
