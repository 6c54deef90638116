"""The Dask backend on a real LocalCluster (two worker processes on loopback) and without one.

Every fit is compared with the same fit on NumPy input (itself tested against tests/naive.py)
to a relative 1e-9, and small ones with the naive reference directly.
"""

import os
import warnings

import naive
import numpy as np
import pytest

import fastgd

da = pytest.importorskip("dask.array")


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "port 8787 is already in use" and the like
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, worker_class=distributed.Nanny,
        )  # fmt: skip
    with cluster, distributed.Client(cluster) as client:
        yield client


def make_data(rng, n, d, offset=0.0):
    X = rng.normal(size=(n, d)) + offset
    y = X @ rng.normal(size=d) + 0.5 + rng.normal(size=n)
    return X, y


def assert_same_fit(result, reference):
    np.testing.assert_allclose(result.loss_history, reference.loss_history, rtol=1e-9)
    np.testing.assert_allclose(result.intercept, reference.intercept, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(result.coef, reference.coef, rtol=1e-9, atol=1e-12)
    assert result.n_iter == reference.n_iter


def fit_both(X, y, x_chunks, y_chunks=None, **options):
    options = {"lr": 0.05, "n_iter": 40, **options}
    reference = fastgd.gradient_descent(X, y, **options)
    dX = da.from_array(X, chunks=x_chunks)
    dy = y if y_chunks is None else da.from_array(y, chunks=y_chunks)
    return fastgd.gradient_descent(dX, dy, **options), reference


@pytest.mark.parametrize("method", ["loop", "gram"])
@pytest.mark.parametrize("d", [1, 5])
def test_cluster_equals_numpy(client, rng, d, method):
    X, y = make_data(rng, 20_011, d, offset=100.0)  # an offset: gram's centring matters
    result, reference = fit_both(X, y, (5000, d), 5000, method=method, lr=1e-5)
    assert result.device == "dask" and result.method == reference.method == method
    assert_same_fit(result, reference)


@pytest.mark.parametrize("method", ["loop", "gram"])
def test_auto_lr_and_auto_method(client, rng, method):
    X, y = make_data(rng, 12_000, 3, offset=10.0)
    result, reference = fit_both(X, y, (2500, 3), 4000, method=method, lr="auto", n_iter=200)
    assert result.lr == pytest.approx(reference.lr, rel=1e-9)
    assert_same_fit(result, reference)
    limit = fastgd.max_stable_lr(da.from_array(X, chunks=(2500, 3)), y)
    assert limit == pytest.approx(fastgd.max_stable_lr(X, y), rel=1e-9)
    auto = fastgd.gradient_descent(da.from_array(X, chunks=(2500, 3)), y, n_iter=200)
    assert auto.method == "gram"  # 200 passes over the data cost more than one
    assert_same_fit(auto, reference)


@pytest.mark.parametrize("method", ["loop", "gram"])
def test_one_dimensional_x_and_naive_reference(client, rng, method):
    x = rng.normal(size=301)
    y = 3.0 * x - 1.0 + rng.normal(size=301)
    dx, dy = da.from_array(x, chunks=100), da.from_array(y, chunks=100)
    result = fastgd.gradient_descent(dx, dy, lr=0.1, n_iter=15, method=method)
    b, w, history = naive.gradient_descent(x.reshape(-1, 1).tolist(), y.tolist(), 0.1, 15)
    np.testing.assert_allclose(result.loss_history, history, rtol=1e-12)
    np.testing.assert_allclose([result.intercept, *result.coef], [b, *w], rtol=1e-12)


@pytest.mark.parametrize("method", ["loop", "gram"])
def test_unequal_and_misaligned_chunks(client, rng, method):
    X, y = make_data(rng, 10_000, 3)
    x_chunks = ((1, 4999, 2000, 3000), (2, 1))  # uneven rows, and split across columns
    y_chunks = ((3333, 3333, 3334),)  # boundaries different from X's: y is rechunked to X's
    result, reference = fit_both(X, y, x_chunks, y_chunks, method=method)
    assert_same_fit(result, reference)


@pytest.mark.parametrize("method", ["loop", "gram"])
def test_numpy_y_with_dask_x_and_sample_weights(client, rng, method):
    X, y = make_data(rng, 6_000, 2)
    weights = rng.uniform(0.0, 2.0, size=6_000)
    options = {"lr": 0.05, "n_iter": 30, "method": method}
    reference = fastgd.gradient_descent(X, y, sample_weight=weights, **options)
    for sample_weight in (weights, da.from_array(weights, chunks=1000)):
        result = fastgd.gradient_descent(
            da.from_array(X, chunks=(2500, 2)), y, sample_weight=sample_weight, **options
        )
        assert_same_fit(result, reference)


def test_float32_tol_and_callback(client, rng):
    X, y = make_data(rng, 8_000, 2)
    X, y = X.astype(np.float32), y.astype(np.float32)
    seen = {"numpy": [], "dask": []}
    options = {"lr": 0.05, "n_iter": 500, "tol": 1e-4, "check_every": 7, "method": "loop"}
    reference = fastgd.gradient_descent(
        X, y, callback=lambda k, *_: seen["numpy"].append(k), **options
    )
    result = fastgd.gradient_descent(
        da.from_array(X, chunks=(3000, 2)),
        da.from_array(y, chunks=3000),
        callback=lambda k, *_: seen["dask"].append(k),
        **options,
    )
    assert_same_fit(result, reference)
    assert result.converged and result.n_iter < 500
    assert seen["dask"] == seen["numpy"] and len(seen["dask"]) > 2


@pytest.mark.parametrize("scheduler", ["threads", "sync"])
def test_default_scheduler_without_client(client, rng, scheduler):
    import dask

    X, y = make_data(rng, 9_001, 3)
    with dask.config.set(scheduler=scheduler):  # the local scheduler, despite the Client
        result, reference = fit_both(X, y, (2000, 3), 1500, method="loop")
        gram_result = fastgd.gradient_descent(da.from_array(X, chunks=(2000, 3)), y, method="gram")
    assert_same_fit(result, reference)
    assert_same_fit(gram_result, fastgd.gradient_descent(X, y, method="gram"))
    assert result.threads == (1 if scheduler == "sync" else min(5, os.cpu_count()))


@pytest.mark.parametrize("method", ["loop", "gram"])
def test_without_intercept(client, rng, method):
    X, y = make_data(rng, 3_000, 2)
    on_dask = fastgd.gradient_descent(
        da.from_array(X, chunks=(1000, 2)), y, lr=0.01, n_iter=40, method=method,
        fit_intercept=False,
    )  # fmt: skip
    in_memory = fastgd.gradient_descent(
        X, y, lr=0.01, n_iter=40, method=method, fit_intercept=False
    )
    assert on_dask.intercept == in_memory.intercept == 0.0
    assert_same_fit(on_dask, in_memory)


@pytest.mark.parametrize("method", ["loop", "gram"])
def test_standardized_with_momentum_and_tol(client, rng, method):
    # Offset features: the same steps as in memory (tests/test_convergence.py checks those
    # against the slow reference), the same stop, the least-squares answer.
    X, y = make_data(rng, 3_000, 3, offset=20.0)
    options = {"standardize": True, "momentum": "auto", "tol": 1e-12, "n_iter": 2000}
    on_dask, in_memory = fit_both(X, y, (700, 3), method=method, **options)
    assert on_dask.converged and in_memory.converged and on_dask.n_iter < 100
    assert_same_fit(on_dask, in_memory)
    assert on_dask.momentum == pytest.approx(in_memory.momentum, rel=1e-12)
    fixed = fit_both(X, y, (700, 3), method=method, standardize=True, momentum=0.7, lr=0.2)
    assert_same_fit(*fixed)


def test_divergence_and_bad_values(client, rng):
    X, y = make_data(rng, 4_000, 2)
    with pytest.raises(fastgd.DivergenceError, match="diverged"):
        fastgd.gradient_descent(
            da.from_array(X, chunks=(1000, 2)), y, lr=50.0, n_iter=100, method="loop"
        )
    limit = fastgd.max_stable_lr(X, y)
    for method in ("loop", "gram"):  # a rising loss is divergence, with or without tol
        with pytest.raises(fastgd.DivergenceError, match="rose from"):
            X_chunked = da.from_array(X, chunks=(1000, 2))
            fastgd.gradient_descent(X_chunked, y, lr=3 * limit, n_iter=50, tol=1e-8, method=method)
    X[2345, 1] = np.nan
    with pytest.raises(ValueError, match=r"X\[2345, 1\] is nan"):
        fastgd.gradient_descent(da.from_array(X, chunks=(1000, 2)), y, lr=0.01, n_iter=3)


def test_bad_dask_input_is_rejected_clearly(client, rng):
    X, y = make_data(rng, 100, 2)
    dX = da.from_array(X, chunks=(50, 2))
    with pytest.raises(ValueError, match="same number of rows"):
        fastgd.gradient_descent(dX, y[:99], lr=0.1, n_iter=1)
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        fastgd.gradient_descent(dX[dX[:, 0] > 0], y[:10], lr=0.1, n_iter=1)
    with pytest.raises(TypeError, match="complex"):
        fastgd.gradient_descent(dX.astype(complex), y, lr=0.1, n_iter=1)
    with pytest.raises(ValueError, match="threads="):
        fastgd.gradient_descent(dX, y, lr=0.1, n_iter=1, threads=2)
    with pytest.raises(ValueError, match=r"sample_weight\[7\] is -1.0"):
        weights = np.ones(100)
        weights[7] = -1.0
        fastgd.gradient_descent(dX, y, lr=0.1, n_iter=1, sample_weight=weights)


def test_worker_killed_mid_fit_gives_the_right_answer(client, rng):
    X, y = make_data(rng, 40_000, 3)
    killed = []

    def kill_a_worker(k, *rest):
        if not killed:
            killed.extend(client.scheduler_info()["workers"])  # all: whichever hold chunks
            client.run(os._exit, 1, workers=killed, on_error="ignore")

    options = {"lr": 0.05, "n_iter": 40, "check_every": 10, "method": "loop"}
    reference = fastgd.gradient_descent(X, y, **options)
    with pytest.warns(RuntimeWarning, match="worker failed"):
        result = fastgd.gradient_descent(
            da.from_array(X, chunks=(5000, 3)),
            da.from_array(y, chunks=5000),
            callback=kill_a_worker,
            **options,
        )
    assert killed
    assert_same_fit(result, reference)
    client.wait_for_workers(2, timeout=60)  # the nanny restarts it for the next tests


def test_a_cluster_that_keeps_failing_raises_a_clear_error(client, rng, monkeypatch):
    from fastgd import distributed as backend

    def always_lost(self, call):
        raise backend.WorkerLost("simulated: the worker holding part 0 is gone")

    monkeypatch.setattr(backend.Run, "_answer", always_lost)
    X, y = make_data(rng, 2_000, 2)
    with (
        pytest.warns(RuntimeWarning),
        pytest.raises(backend.DistributedFitError, match=r"failed 4 times .*WorkerLost: simulated"),
    ):
        fastgd.gradient_descent(
            da.from_array(X, chunks=(500, 2)), y, lr=0.1, n_iter=3, method="loop"
        )


def test_a_bug_is_raised_at_once_not_retried(client, rng, monkeypatch):
    # Only a lost worker is retried; an error while every worker is alive is nobody's loss.
    import warnings

    from fastgd import distributed as backend

    calls = []

    def buggy(self, call):
        calls.append(call)
        raise ValueError("a bug in the code, not a lost worker")

    monkeypatch.setattr(backend.Run, "_answer", buggy)
    X, y = make_data(rng, 2_000, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no "recomputing its chunks"
        with pytest.raises(ValueError, match="a bug in the code"):
            fastgd.gradient_descent(
                da.from_array(X, chunks=(500, 2)), y, lr=0.1, n_iter=3, method="loop"
            )
    assert len(calls) == 1
    for error in (RuntimeError("a bug"), OSError("a bug")):  # these types, with no worker lost

        def raises(self, call, error=error):
            raise error

        monkeypatch.setattr(backend.Run, "_answer", raises)
        with pytest.raises(type(error), match="a bug"):
            fastgd.gradient_descent(
                da.from_array(X, chunks=(500, 2)), y, lr=0.1, n_iter=3, method="loop"
            )


def test_cross_validation_reads_the_chunks_once_on_the_workers(client, rng):
    from sklearn.model_selection import KFold

    from fastgd.cross_validation import LassoCVGD

    X, y = make_data(rng, 900, 4, offset=1.0)
    folds = KFold(3, shuffle=True, random_state=0)
    reference = LassoCVGD(cv=folds, alphas=20).fit(X, y)
    ours = LassoCVGD(cv=folds, alphas=20).fit(da.from_array(X, chunks=(200, 4)),
                                              da.from_array(y, chunks=200))  # fmt: skip
    assert ours.alpha_ == reference.alpha_
    np.testing.assert_allclose(ours.mse_path_, reference.mse_path_, rtol=1e-9)
    np.testing.assert_allclose(ours.coef_, reference.coef_, rtol=1e-9, atol=1e-12)
