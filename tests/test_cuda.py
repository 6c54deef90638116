"""The CUDA backend, without a GPU: numba-cuda's simulator (NUMBA_ENABLE_CUDASIM=1, set in
conftest.py) runs the kernels with tiny grids, and every kernel is compiled to real PTX.

The simulator runs each GPU thread as a Python thread (a launch of 64 threads costs about
0.1-0.2 s), so the grids are patched to 1-2 blocks of 32 threads and the fits are short.
"""

import importlib.util
import sys
from pathlib import Path

import naive
import numpy as np
import pytest
from tiers import cases

import fastgd
from fastgd import _config, cuda, plan

if importlib.util.find_spec("numba_cuda") is None:
    pytest.skip(
        'numba-cuda is not installed (python3 -m pip install -e ".[cuda]")', allow_module_level=True
    )

from numba import cuda as numba_cuda

# The simulator computes in NumPy scalars, which warn where a GPU silently makes inf or NaN.
pytestmark = pytest.mark.filterwarnings("ignore:(overflow|invalid value) encountered")

ROOT = Path(__file__).resolve().parents[1]
THREADS = 32


@pytest.fixture(autouse=True)
def tiny_grid(monkeypatch):
    monkeypatch.setattr(_config, "CUDA_THREADS_PER_BLOCK", THREADS)
    monkeypatch.setattr(_config, "CUDA_BLOCKS_PER_SM", 2)
    # The host reads the device's status after every launch: a fit that stopped launches no
    # more (on a GPU the launches after a stop cost microseconds, in the simulator a second;
    # test_tol_stops_where_the_cpu_stops polls as on a GPU too).
    monkeypatch.setattr(_config, "CUDA_POLL_EVERY", 1)


def regression(rng, n, d, dtype=np.float64):
    X = rng.normal(loc=1.0, size=(n, d)).astype(dtype)
    y = (X @ rng.normal(size=d) + 0.5 + 0.1 * rng.normal(size=n)).astype(dtype)
    return X, y


def assert_matches_reference(result, X, y, lr, n_iter, rtol=1e-9, **kwargs):
    b, w, history = naive.gradient_descent(X.reshape(len(y), -1), y, lr, n_iter, **kwargs)
    assert result.intercept == pytest.approx(b, rel=rtol, abs=1e-12)
    np.testing.assert_allclose(result.coef, w, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(result.loss_history, history, rtol=rtol)
    assert result.loss == result.loss_history[-1]


def assert_same_fit(a, b, rtol=1e-12):
    assert a.n_iter == b.n_iter
    assert a.intercept == pytest.approx(b.intercept, rel=rtol, abs=1e-14)
    np.testing.assert_allclose(a.coef, b.coef, rtol=rtol, atol=1e-14)
    np.testing.assert_allclose(a.loss_history, b.loss_history, rtol=rtol)


# --- Equal to the CPU path and to the reference ----------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d", [1, 3])
def test_matches_cpu_and_reference(rng, d, dtype):
    # 1003 rows: not a multiple of the block size; 15-16 rows for each of the grid's 64
    # threads, through the unrolled trips and the remainder of the grid-stride loop.
    X, y = regression(rng, 1003, d, dtype)
    data = X[:, 0] if d == 1 else X
    result = fastgd.gradient_descent(data, y, lr=0.05, n_iter=3, device="cuda")
    assert result.device == "cuda" and result.n_iter == 3
    assert_matches_reference(result, X, y, 0.05, 3)
    on_cpu = fastgd.gradient_descent(data, y, lr=0.05, n_iter=3, device="cpu", method="loop")
    assert_same_fit(result, on_cpu)


def test_fewer_rows_than_threads(rng):
    X, y = regression(rng, 10, 2)
    blocks, threads = cuda.launch_config(10, 2)
    assert blocks * threads > 10
    result = fastgd.gradient_descent(X, y, lr=0.1, n_iter=2, b0=0.3, w0=[1.0, -1.0], device="cuda")
    assert_matches_reference(result, X, y, 0.1, 2, b0=0.3, w0=[1.0, -1.0])


def test_n_iter_zero(rng):
    X, y = regression(rng, 40, 1)
    result = fastgd.gradient_descent(X, y, lr=0.1, n_iter=0, b0=2.0, w0=[0.5], device="cuda")
    assert result.n_iter == 0 and result.intercept == 2.0 and result.coef.tolist() == [0.5]
    assert result.loss_history.shape == (1,)
    assert result.loss == pytest.approx(naive.loss(X, y, 2.0, [0.5]), rel=1e-12)


def test_runs_are_bit_identical_and_blocks_of_iterations_join_up(rng):
    X, y = regression(rng, 150, 2)
    seen = []

    def callback(k, b, w, loss):
        seen.append((k, b, w.copy(), loss))

    first = fastgd.gradient_descent(
        X, y, lr=0.05, n_iter=4, device="cuda", callback=callback, check_every=2
    )
    second = fastgd.gradient_descent(X, y, lr=0.05, n_iter=4, device="cuda")
    # Blocks of 2 iterations (a step kernel starts each) give the same iterates as one block.
    assert np.array_equal(first.loss_history, second.loss_history)
    assert first.intercept == second.intercept and np.array_equal(first.coef, second.coef)
    assert [k for k, *_ in seen] == [2, 4]
    assert seen[1][1] == first.intercept and np.array_equal(seen[1][2], first.coef)
    assert [loss for *_, loss in seen] == [first.loss_history[2], first.loss_history[4]]
    assert_matches_reference(first, X, y, 0.05, 4)


def test_sample_weight(rng):
    X, y = regression(rng, 120, 2)
    weights = rng.uniform(0, 3, size=120)
    weights[:7] = 0.0
    result = fastgd.gradient_descent(X, y, lr=0.1, n_iter=3, sample_weight=weights, device="cuda")
    assert_matches_reference(result, X, y, 0.1, 3, sample_weight=weights)


def test_without_intercept_like_the_reference(rng):
    X, y = regression(rng, 70, 2)
    result = fastgd.gradient_descent(X, y, lr=0.05, n_iter=3, device="cuda", fit_intercept=False)
    assert result.intercept == 0.0
    assert_matches_reference(result, X, y, 0.05, 3, fit_intercept=False)


# Polling every launch (the simulator's default here), and every 16th: the fit converges at the
# 8th, and the launches queued after it are the no-ops of a stopped fit (its status holds the
# code), as on a GPU, where polling is rarer.
@pytest.mark.parametrize("poll_every", [1, 16])
def test_tol_stops_where_the_cpu_stops(rng, monkeypatch, poll_every):
    monkeypatch.setattr(_config, "CUDA_POLL_EVERY", poll_every)
    X, y = regression(rng, 100, 1)
    kwargs = {"lr": 0.3, "n_iter": 20, "tol": 0.2, "method": "loop"}
    on_gpu = fastgd.gradient_descent(X, y, device="cuda", **kwargs)
    on_cpu = fastgd.gradient_descent(X, y, device="cpu", **kwargs)
    assert on_cpu.converged and on_cpu.n_iter < 15
    assert on_gpu.converged
    assert_same_fit(on_gpu, on_cpu)


def test_tol_zero_stops_at_the_optimum_like_the_cpu(rng):
    X, y = regression(rng, 100, 1)
    X = (X - X.mean()) / X.std()  # the loss's Hessian is 2 I: lr = 1/2 reaches the optimum
    kwargs = {"lr": 0.5, "n_iter": 40, "tol": 0.0, "method": "loop", "check_every": 40}
    on_cpu = fastgd.gradient_descent(X, y, device="cpu", **kwargs)
    on_gpu = fastgd.gradient_descent(X, y, device="cuda", **kwargs)
    # tol=0 stops once the gradient is within its own rounding, whose last bits depend on the
    # summation order: both stop within a step or two of each other, at the same answer.
    for result in (on_cpu, on_gpu):
        assert result.converged and result.n_iter <= 5
    assert on_gpu.intercept == pytest.approx(on_cpu.intercept, rel=1e-12)
    np.testing.assert_allclose(on_gpu.coef, on_cpu.coef, rtol=1e-12)


# --- Standardized coordinates and momentum: the same iterations as the CPU's ----------------


def offset_regression(rng, n, d, loc=10.0):
    """Features of mean `loc` and spread 1: plain gradient descent needs many steps here."""
    X = rng.normal(loc=loc, scale=1.0, size=(n, d))
    y = X @ rng.normal(size=d) + 0.5 + 0.1 * rng.normal(size=n)
    return X, y


def assert_same_iterations(on_gpu, on_cpu, rtol=1e-9):
    """The same fit up to rounding: the same stop at the same iterate, the same numbers."""
    assert on_gpu.device == "cuda" and on_cpu.device == "cpu"
    assert on_gpu.converged == on_cpu.converged
    assert on_gpu.n_iter == on_cpu.n_iter
    # lr and momentum "auto" come from the data's moments, summed in another order on the device.
    assert on_gpu.lr == pytest.approx(on_cpu.lr, rel=1e-12)
    assert on_gpu.momentum == pytest.approx(on_cpu.momentum, rel=1e-12, abs=1e-15)
    assert on_gpu.intercept == pytest.approx(on_cpu.intercept, rel=rtol, abs=1e-12)
    np.testing.assert_allclose(on_gpu.coef, on_cpu.coef, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(on_gpu.loss_history, on_cpu.loss_history, rtol=rtol)


def fit_on_both(X, y, **kwargs):
    """(the fit on the device, the CPU loop's fit) with the same arguments."""
    on_gpu = fastgd.gradient_descent(X, y, device="cuda", **kwargs)
    on_cpu = fastgd.gradient_descent(X, y, device="cpu", method="loop", **kwargs)
    return on_gpu, on_cpu


def one_pass(data, y, weights, b, w, h, rule, blocks, threads, layout=()):
    """The pass kernel launched by hand, at the starting point (status: no iterate yet, so the
    pass records the loss and takes no step): (its block rows, its total sums)."""
    from fastgd import cuda_kernels

    d = len(w)
    m = d + 1
    state = np.concatenate([[b], w, np.zeros(m), rule, np.ones(m), h])
    partials = numba_cuda.device_array((blocks, d + 2))
    sums = numba_cuda.device_array(d + 2)
    history = numba_cuda.to_device(np.zeros(2))
    status = numba_cuda.to_device(np.array([0, -1, 0, 0], dtype=np.int64))
    flag = np.zeros(1, dtype=np.int64)
    if not layout and d > 1:
        layout = cuda_kernels.pass_layout(d, threads)
    rows, staged = layout if layout else (threads, 1)
    shared = 8 * (2 * threads + rows + (rows * (d | 1) if staged else 0))
    kernel = cuda_kernels.pass_kernel(d)
    kernel[blocks, threads, 0, shared if d > 1 else 24 * threads](
        data, y, y if weights is None else weights, int(weights is not None), state, partials,
        sums, history, status, flag, float(len(y)), *layout,
    )  # fmt: skip
    assert status.copy_to_host().tolist() == [0, 0, 0, 0]  # the loss recorded, all blocks in
    assert history.copy_to_host()[0] == pytest.approx(sums.copy_to_host()[0] / len(y), rel=1e-15)
    return partials.copy_to_host(), sums.copy_to_host()


# The simulator's cases pairwise in CI, all of them in the full tier (tests/tiers.py).
@pytest.mark.parametrize(
    ("d", "weighted", "shift", "loss"),
    cases({"d": [1, 3], "weighted": [False, True], "shift": [False, True],
           "loss": ["squared_error", "huber", "logistic", "poisson", "gamma"]}),
)  # fmt: skip
def test_pass_kernel_sums_equal_the_cpu_sums(rng, d, weighted, shift, loss):
    # One pass over the data, kernel against `gradient.partial_sums`: the rows' shift included,
    # and the Huber loss, which the kernel reads from the rule (its number and threshold).
    from fastgd import gradient
    from fastgd.losses import LOSSES, Huber, SquaredError, kernel_loss

    X, y = offset_regression(rng, 90, d)
    if loss == "logistic":  # labels 0 and 1
        y = (y > np.median(y)).astype(np.float64)
    if loss in ("poisson", "gamma"):  # amounts > 0, at log-means of about their size
        y = np.abs(y) / np.abs(y).mean() + 0.1
    weights = rng.uniform(0, 2, size=90) if weighted else None
    b, w = 0.7, rng.normal(size=d)
    h = X.mean(axis=0) if shift else np.zeros(d)
    epsilon = None
    if loss == "huber":  # half the rows on each side of the clip
        residuals = np.abs(y - (b + (X - h) @ w))
        epsilon = float(np.median(residuals))
        assert (residuals < epsilon).sum() >= 40 and (residuals > epsilon).sum() >= 40
    chosen = SquaredError() if epsilon is None else Huber(epsilon)
    if loss in ("logistic", "poisson", "gamma"):
        chosen = LOSSES[loss]()
    rule = gradient.make_rule(0.0, d, loss=chosen)
    expected = np.zeros(d + 2)
    # The same loss, as the CPU kernels take it, from the rule as the device reads it.
    on_cpu = kernel_loss(rule[gradient.LOSS], rule[gradient.LOSS_PARAMETER])
    assert on_cpu == chosen
    gradient.partial_sums(X, y, weights, b, w, h, on_cpu, gradient.kernel_width(d), expected)

    blocks, threads = cuda.launch_config(90, d)
    data = X[:, 0] if d == 1 else X
    partials, sums = one_pass(data, y, weights, b, w, h, rule, blocks, threads)
    np.testing.assert_allclose(partials.sum(axis=0), expected, rtol=1e-12)
    np.testing.assert_allclose(sums, expected, rtol=1e-12)
    # The last block added the rows in block order, whichever it was.
    total = np.zeros(d + 2)
    for row in partials:
        total += row
    assert sums.tolist() == total.tolist()


@pytest.mark.parametrize(
    "d, threads, layout",
    [(5, 8, (8, 1)), (5, 8, (3, 1)), (13, 8, (8, 1)), (13, 8, (5, 1)), (13, 8, (8, 0)),
     (6, 8, (8, 0)), (8, 8, (8, 1))],
    ids=["narrow", "narrow-short-tiles", "wide", "wide-short-tiles", "wide-unstaged",
         "narrow-unstaged", "one-group"],
)  # fmt: skip
def test_every_layout_of_the_many_feature_pass(rng, d, threads, layout):
    # d <= threads: the threads split into groups of d, each adding its rows of every tile;
    # wider: each thread owns features and adds tile sums into the block row. Tiles staged
    # through shared memory, or read from X directly (rows too wide to stage). 2 blocks, 37 rows:
    # a partial last tile, and blocks with a different number of tiles.
    from fastgd import gradient
    from fastgd.losses import kernel_loss

    X, y = offset_regression(rng, 37, d)
    weights = rng.uniform(0, 2, size=37)
    b, w, h = 0.3, rng.normal(size=d), X.mean(axis=0)
    expected = np.zeros(d + 2)
    squared_error = kernel_loss(0, 0.0)
    gradient.partial_sums(X, y, weights, b, w, h, squared_error, gradient.kernel_width(d), expected)
    _, sums = one_pass(X, y, weights, b, w, h, gradient.make_rule(0.0, d), 2, threads, layout)
    np.testing.assert_allclose(sums, expected, rtol=1e-12)


def test_the_pass_layout_fits_shared_memory_at_any_width():
    from fastgd import cuda_kernels

    for threads in (32, 256, 1024):
        for d in (2, 3, 8, 20, 21, 30, 31, 64, 184, 185, 254, 255, 1000, 5000, 6000, 100_000):
            rows, staged = cuda_kernels.pass_layout(d, threads)
            assert 1 <= rows <= threads
            limit = cuda_kernels.DYNAMIC_SHARED_BYTES
            assert cuda_kernels.pass_shared_bytes(d, threads) <= limit
            # Staged whenever one row fits: tiles as tall as fit, up to a row per thread.
            one_row = 8 * (2 * threads + 1 + (d | 1))
            assert staged == (one_row <= limit)
            if staged and rows < threads:
                taller = 8 * (2 * threads + (rows + 1) * ((d | 1) + 1))
                assert taller > limit


def test_wide_data_fits_on_the_gpu(rng, monkeypatch):
    # No feature limit: 300 features (beyond the old shared-memory limit of 184), 4 threads a
    # block, so the pass takes the wide layout.
    monkeypatch.setattr(_config, "CUDA_THREADS_PER_BLOCK", 4)
    X, y = regression(rng, 9, 300)
    on_gpu, on_cpu = fit_on_both(X, y, lr=1e-3, n_iter=2)
    assert_same_iterations(on_gpu, on_cpu, rtol=1e-11)


@pytest.mark.parametrize("d", [1, 3])
def test_standardized_momentum_fit_equals_the_cpu_fit(rng, d):
    # Features far from zero: standardizing shifts every row by the means on the device, and
    # (for d = 3) Nesterov's momentum carries a velocity from step to step.
    X, y = offset_regression(rng, 100, d)
    kwargs = {"standardize": True, "momentum": "auto", "tol": 1e-10, "n_iter": 40}
    on_gpu, on_cpu = fit_on_both(X[:, 0] if d == 1 else X, y, **kwargs)
    assert on_cpu.converged and on_cpu.standardized
    assert on_cpu.momentum > 0.0 or d == 1  # one feature: the Hessian is diagonal, no momentum
    assert_same_iterations(on_gpu, on_cpu)


def test_with_momentum_a_rise_below_the_start_is_not_divergence(rng):
    # Correlated features: with momentum the loss rises from one step to the next (at iteration
    # 2 here) but stays below its start, the reference with momentum: the fit goes on.
    z = rng.normal(size=(100, 2))
    X = 10.0 + np.column_stack([z[:, 0], 0.9 * z[:, 0] + np.sqrt(1 - 0.9**2) * z[:, 1]])
    y = X @ np.array([1.0, -2.0]) + 0.5 + 0.1 * rng.normal(size=100)
    on_gpu, on_cpu = fit_on_both(X, y, standardize=True, momentum="auto", n_iter=6)
    rise = np.diff(on_cpu.loss_history).max()
    assert rise > 1e-4 * on_cpu.loss_history[0] and on_cpu.momentum > 0.0
    assert_same_iterations(on_gpu, on_cpu)


def test_velocity_carries_over_between_blocks_of_iterations(rng):
    # A callback every 3 iterations: the velocity goes back to the host and to the device again.
    X, y = offset_regression(rng, 100, 3)
    seen = []

    def callback(k, b, w, loss):
        seen.append(k)

    kwargs = {"standardize": True, "momentum": 0.5, "n_iter": 9}
    in_blocks = fastgd.gradient_descent(
        X, y, device="cuda", callback=callback, check_every=3, **kwargs
    )
    at_once = fastgd.gradient_descent(X, y, device="cuda", **kwargs)
    assert seen == [3, 6, 9]
    assert np.array_equal(in_blocks.loss_history, at_once.loss_history)
    assert in_blocks.intercept == at_once.intercept
    assert np.array_equal(in_blocks.coef, at_once.coef)
    assert_same_iterations(
        in_blocks, fastgd.gradient_descent(X, y, device="cpu", method="loop", **kwargs)
    )


def test_standardized_momentum_fit_with_sample_weight(rng):
    X, y = offset_regression(rng, 100, 3)
    weights = rng.uniform(0, 3, size=100)
    weights[:9] = 0.0
    kwargs = {"standardize": True, "momentum": "auto", "tol": 1e-10, "n_iter": 40}
    on_gpu, on_cpu = fit_on_both(X, y, sample_weight=weights, **kwargs)
    assert on_cpu.converged and on_cpu.momentum > 0.0
    assert_same_iterations(on_gpu, on_cpu)


@pytest.mark.parametrize("d", [1, 2])
def test_standardized_fit_without_intercept(rng, d):
    # Without an intercept nothing is shifted, only scaled, and b stays at 0 (precondition[0]).
    X, y = offset_regression(rng, 100, d, loc=1.0)
    kwargs = {"standardize": True, "momentum": "auto", "tol": 1e-10, "n_iter": 40}
    on_gpu, on_cpu = fit_on_both(X, y, fit_intercept=False, **kwargs)
    assert on_cpu.converged
    assert on_gpu.intercept == 0.0
    assert_same_iterations(on_gpu, on_cpu)


@pytest.mark.parametrize("standardize", [False, True], ids=["plain", "standardized"])
def test_divergence_with_momentum_like_on_the_cpu(rng, monkeypatch, standardize):
    # Above the stable limit with momentum the loss rises above its starting value.
    monkeypatch.setattr(_config, "CUDA_POLL_EVERY", 1)
    X, y = offset_regression(rng, 60, 1)
    lr = 3.0 if standardize else 3 * fastgd.max_stable_lr(X, y)  # standardized: 2 / L = 1
    messages = []
    for device in ("cuda", "cpu"):
        with pytest.raises(fastgd.DivergenceError, match="above its starting value") as error:
            fastgd.gradient_descent(
                X, y, lr=lr, momentum=0.5, standardize=standardize, n_iter=5, device=device,
                method="loop",
            )  # fmt: skip
        messages.append(str(error.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("kernel", ["per-thread", "tiles"])
@pytest.mark.parametrize("weighted", [False, True])
def test_moments_on_the_device_equal_the_cpu_moments(rng, monkeypatch, weighted, kernel):
    from fastgd import moments

    if kernel == "tiles":  # the kernel for wide data, on narrow data: 4 x 4 tiles of a 5 x 5
        monkeypatch.setattr(cuda, "_moment_launch", lambda n, d: None)
    X, y = regression(rng, 500 if kernel == "per-thread" else 61, 3)
    X += 1e4  # centring matters: raw second moments would lose digits here
    weights = rng.uniform(0, 2, size=len(y)) if weighted else None
    on_device = cuda.device_moments(
        *(None if a is None else numba_cuda.to_device(a) for a in (X, y, weights))
    )
    on_cpu = moments.centered_moments(X, y, weights)
    assert on_device.weight == pytest.approx(on_cpu.weight, rel=1e-14)
    np.testing.assert_allclose(on_device.mean, on_cpu.mean, rtol=1e-14)
    np.testing.assert_allclose(on_device.comoment, on_cpu.comoment, rtol=1e-10)


def test_lr_auto_on_the_device(rng):
    X, y = regression(rng, 300, 2)
    on_gpu = fastgd.gradient_descent(
        numba_cuda.to_device(X), numba_cuda.to_device(y), n_iter=3, method="loop"
    )
    on_cpu = fastgd.gradient_descent(X, y, n_iter=3, method="loop", device="cpu")
    assert on_gpu.device == "cuda" and on_gpu.method == "loop"
    assert on_gpu.lr == pytest.approx(on_cpu.lr, rel=1e-12)
    assert_same_fit(on_gpu, on_cpu, rtol=1e-11)
    limit = fastgd.max_stable_lr(numba_cuda.to_device(X), numba_cuda.to_device(y))
    assert limit == pytest.approx(fastgd.max_stable_lr(X, y), rel=1e-12)


# --- gram on the GPU: the moments on the device, the steps on the host -----------------------


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("standardize", [False, True], ids=["raw", "standardized"])
def test_gram_on_the_device_equals_the_cpu_gram(rng, weighted, standardize):
    X, y = regression(rng, 200, 3)
    X[:, 1] *= 30.0  # badly scaled: many steps unless standardized
    weights = rng.uniform(0.5, 2.0, size=200) if weighted else None
    kwargs = {"tol": 1e-9, "n_iter": 100_000, "standardize": standardize, "method": "gram",
              "momentum": "auto"}  # fmt: skip
    on_gpu = fastgd.gradient_descent(
        numba_cuda.to_device(X), numba_cuda.to_device(y),
        sample_weight=None if weights is None else numba_cuda.to_device(weights), **kwargs,
    )  # fmt: skip
    on_cpu = fastgd.gradient_descent(X, y, sample_weight=weights, device="cpu", **kwargs)
    assert on_gpu.device == "cuda" and on_gpu.method == "gram" and on_gpu.converged
    # The same iterations from moments that agree to rounding (tested above).
    assert abs(on_gpu.n_iter - on_cpu.n_iter) <= 1
    np.testing.assert_allclose(on_gpu.coef, on_cpu.coef, rtol=1e-8)
    assert on_gpu.intercept == pytest.approx(on_cpu.intercept, rel=1e-8)
    # ... which is the least-squares answer: gram is exact, not an approximation.
    root = np.sqrt(weights if weighted else np.ones(200))
    design, target = np.column_stack([np.ones(200), X]) * root[:, None], y * root
    exact = np.linalg.lstsq(design, target, rcond=None)[0]
    np.testing.assert_allclose(on_gpu.coef, exact[1:], rtol=1e-6)


def test_gram_on_the_device_is_chosen_as_on_the_cpu(rng):
    X, y = regression(rng, 300, 2)
    # lr="auto" computes the moments anyway: gram's steps cost d**2 against the loop's n d.
    on_gpu = fastgd.gradient_descent(numba_cuda.to_device(X), numba_cuda.to_device(y), n_iter=50)
    on_cpu = fastgd.gradient_descent(X, y, n_iter=50, device="cpu")
    assert on_gpu.device == "cuda" and on_gpu.method == on_cpu.method == "gram"
    assert on_gpu.lr == pytest.approx(on_cpu.lr, rel=1e-12)
    assert_same_fit(on_gpu, on_cpu, rtol=1e-9)
    # Host data with device="cuda" too, and several targets (one Run each).
    Y = np.column_stack([y, 2.0 * y])
    both = fastgd.gradient_descent(X, Y, n_iter=50, device="cuda", method="gram")
    assert both.method == "gram" and both.coef.shape == (2, 2)
    np.testing.assert_allclose(both.coef[1], 2.0 * both.coef[0], rtol=1e-9)
    np.testing.assert_allclose(both.coef[0], on_cpu.coef, rtol=1e-9)
    # Huber has no moments: the loop, as on the CPU.
    huber = fastgd.gradient_descent(X, y, n_iter=2, device="cuda", loss="huber", epsilon=1.0)
    assert huber.method == "loop"
    with pytest.raises(ValueError, match="gram' cannot fit loss='huber'"):
        fastgd.gradient_descent(X, y, n_iter=2, device="cuda", loss="huber", method="gram")


# --- Penalties: the same objective and proximal steps as the CPU's ---------------------------


def sparse_regression(rng, n=32, d=3):
    """Two rows for each thread of a grid of 2 blocks of 8 (`few_threads`); the second feature
    has no effect, which the l1 penalty finds."""
    X = rng.normal(size=(n, d))
    y = X @ np.array([1.0, 0.0, -2.0])[:d] + 0.5 + 0.3 * rng.normal(size=n)
    return X, y


@pytest.fixture
def few_threads(monkeypatch):
    """8 threads per block: the simulator runs a launch in a third less time than with 32."""
    monkeypatch.setattr(_config, "CUDA_THREADS_PER_BLOCK", 8)


@pytest.mark.usefixtures("few_threads")
@pytest.mark.parametrize(
    ("penalty", "standardize", "momentum"),
    cases({"penalty": ["l2", "l1", "elasticnet"], "standardize": [False, True],
           "momentum": [0.0, "auto"]}),
)  # fmt: skip
def test_penalized_fit_equals_the_cpu_fit(rng, penalty, standardize, momentum):
    # A start away from zero, so that the penalty is in the history from iterate 0 on.
    X, y = sparse_regression(rng)
    kwargs = {
        "penalty": penalty, "alpha": 0.3, "l1_ratio": 0.8, "momentum": momentum,
        "standardize": standardize, "tol": 1e-10, "n_iter": 60, "b0": 0.2, "w0": [0.5, 1.0, -0.5],
    }  # fmt: skip
    on_gpu, on_cpu = fit_on_both(X, y, **kwargs)
    assert on_cpu.converged
    assert_same_iterations(on_gpu, on_cpu)
    assert on_gpu.loss == on_gpu.loss_history[-1]
    # The history is of the objective: the loss plus the penalty (on the CPU too).
    assert on_cpu.loss_history[0] > naive.loss(X, y, 0.2, [0.5, 1.0, -0.5])
    # The l1 part's soft-threshold: exact zeros on the device where the CPU has them.
    zeros = on_cpu.coef == 0.0
    if momentum == 0.0:
        np.testing.assert_array_equal(on_gpu.coef == 0.0, zeros)
        assert zeros.any() == (penalty != "l2")
    elif cuda.simulator_enabled():
        # With momentum FISTA's look-ahead point, which the fit returns, is zero only where the
        # rounding of theta_new = x + m v cancels exactly: fused multiply-adds (the CPU's
        # "contract", a real GPU's) can leave about 1e-16 of it per step, a tiny nonzero. The
        # simulator's Python arithmetic has none, so its zeros include the CPU's.
        assert np.all(on_gpu.coef[zeros] == 0.0)


@pytest.mark.usefixtures("few_threads")
def test_penalty_weights_and_bounds_equal_the_cpu_fit(rng):
    # The per-feature runs of the rule (fastgd/penalties.py) travel in the device's state.
    X, y = sparse_regression(rng)
    kwargs = {
        "penalty": "elasticnet", "alpha": 0.3, "penalty_weights": [0.0, 2.0, 0.5],
        "coef_bounds": ([-np.inf, -0.5, 0.1], [0.4, np.inf, np.inf]), "momentum": 0.5,
        "tol": 1e-10, "n_iter": 60,
    }  # fmt: skip
    on_gpu, on_cpu = fit_on_both(X, y, **kwargs)
    assert_same_iterations(on_gpu, on_cpu)
    assert on_cpu.coef[0] <= 0.4 and on_cpu.coef[1] >= -0.5 and on_cpu.coef[2] >= 0.1


@pytest.mark.usefixtures("few_threads")
@pytest.mark.parametrize("momentum", [0.0, 0.5], ids=["plain", "momentum"])
@pytest.mark.parametrize("penalty", ["l2", "l1"])
def test_penalized_history_starts_at_the_objective(rng, penalty, momentum):
    # Starting at the least-squares solution, a strong penalty pulls the coefficients in: the
    # loss rises from its start, the objective (loss plus penalty) falls. Divergence is checked
    # against the starting objective, which the host adds up (`fit`): the device's history[0]
    # must be it, not the plain loss at the start. Blocks of 2 iterations (a callback) join up.
    X, y = sparse_regression(rng)
    A = np.column_stack([np.ones(len(y)), X])
    b0, *w0 = np.linalg.lstsq(A, y, rcond=None)[0]
    kwargs = {"penalty": penalty, "alpha": 1.0, "momentum": momentum, "n_iter": 4, "lr": 0.2}
    kwargs |= {"b0": b0, "w0": w0, "callback": lambda *args: None, "check_every": 2}
    on_gpu, on_cpu = fit_on_both(X, y, **kwargs)
    assert on_cpu.n_iter == 4 and not on_cpu.converged
    assert on_cpu.loss_history[1] > naive.loss(X, y, b0, w0) + 1e-3
    assert np.all(np.diff(on_cpu.loss_history) < 0.0)
    assert_same_iterations(on_gpu, on_cpu)


# --- The Huber loss: the same sums, steps and stopping rule as the CPU's -----------------------


def huber_regression(rng, d, n=40):
    """Ten rows for each of the 4 threads of 2 blocks of 2 (`test_huber_fit_equals_the_cpu_fit`):
    for one feature two unrolled trips of the grid-stride loop and a remainder. Every seventh
    target is an outlier, 5..15 away: beyond the threshold 1 at every iterate, while most rows
    lie within it."""
    X = rng.normal(size=(n, d))
    y = X @ np.array([1.0, -2.0, 0.5])[:d] + 0.5 + 0.2 * rng.normal(size=n)
    outliers = y[::7]
    outliers += rng.choice([-1.0, 1.0], size=outliers.size) * rng.uniform(5, 15, outliers.size)
    return X, y


@pytest.mark.parametrize(
    ("d", "weighted", "standardize", "momentum"),
    cases({"d": [1, 3], "weighted": [False, True], "standardize": [False, True],
           "momentum": [0.0, "auto"]}),
)  # fmt: skip
def test_huber_fit_equals_the_cpu_fit(rng, monkeypatch, d, weighted, standardize, momentum):
    # 2 blocks of 2 threads: the simulator's launches cost about its threads, and the fits take
    # 15..60 iterations.
    monkeypatch.setattr(_config, "CUDA_THREADS_PER_BLOCK", 2)
    X, y = huber_regression(rng, d)
    weights = rng.uniform(0.2, 2.0, size=len(y)) if weighted else None
    data = np.ascontiguousarray(X[:, 0]) if d == 1 else X
    kwargs = {
        "loss": "huber", "epsilon": 1.0, "standardize": standardize, "momentum": momentum,
        "tol": 1e-10, "n_iter": 200,
    }  # fmt: skip
    on_gpu = fastgd.gradient_descent(data, y, sample_weight=weights, device="cuda", **kwargs)
    on_cpu = fastgd.gradient_descent(
        data, y, sample_weight=weights, device="cpu", method="loop", **kwargs
    )
    assert on_cpu.converged and on_gpu.method == "loop"
    assert on_cpu.momentum > 0.0 or momentum == 0.0 or (d == 1 and standardize)
    assert_same_iterations(on_gpu, on_cpu)
    # Both sides of the clip, at the start and at the solution.
    for b, w in ((0.0, np.zeros(d)), (on_cpu.intercept, on_cpu.coef)):
        residuals = np.abs(y - b - X @ w)
        assert (residuals < 1.0).sum() >= 5 and (residuals > 1.0).sum() >= 5
    # Robust: the outliers weigh less than in the squared error's fit.
    kwargs |= {"loss": "squared_error", "n_iter": 1000}
    squared = fastgd.gradient_descent(data, y, sample_weight=weights, device="cpu", **kwargs)
    truth = np.array([1.0, -2.0, 0.5])[:d]
    assert np.abs(on_gpu.coef - truth).max() < np.abs(squared.coef - truth).max()


@pytest.mark.usefixtures("few_threads")
def test_huber_starting_gradient_comes_from_the_device_sums(rng, monkeypatch):
    # tol with the Huber loss bounds the gradient's reduction from the start's, which `fit`
    # computes from the Run's sums: the device's, copied to the host.
    X, y = huber_regression(rng, 2, n=32)
    seen = []
    stationarity = sys.modules["fastgd.fit"].stationarity

    def spy(sums, *args):
        seen.append((type(sums), sums.copy()))  # the CPU's sums change as the fit goes on
        return stationarity(sums, *args)

    monkeypatch.setattr(sys.modules["fastgd.fit"], "stationarity", spy)
    kwargs = {"loss": "huber", "epsilon": 0.5, "lr": 0.1, "tol": 1e-3, "n_iter": 3}
    with pytest.warns(fastgd.ConvergenceWarning):
        fastgd.gradient_descent(*map(numba_cuda.to_device, (X, y)), device="cuda", **kwargs)
    with pytest.warns(fastgd.ConvergenceWarning):
        fastgd.gradient_descent(X, y, device="cpu", method="loop", **kwargs)
    assert [kind for kind, _ in seen] == [np.ndarray, np.ndarray]
    np.testing.assert_allclose(seen[0][1], seen[1][1], rtol=1e-12)


# --- Divergence and bad data ------------------------------------------------------------------


@pytest.mark.parametrize(
    "scale, lr, what", [(1.0, 1e308, "parameters"), (1e150, 1.0, "loss")], ids=["params", "loss"]
)
def test_divergence_is_reported_like_on_the_cpu(rng, monkeypatch, scale, lr, what):
    # The first step overflows the parameters (lr 1e308), or the loss after it (data 1e150).
    monkeypatch.setattr(_config, "CUDA_POLL_EVERY", 1)  # the host stops queueing launches
    X, y = regression(rng, 50, 1)
    messages = []
    for device in ("cuda", "cpu"):
        with pytest.raises(fastgd.DivergenceError, match=f"the {what} stopped") as error:
            fastgd.gradient_descent(
                X * scale, y * scale, lr=lr, n_iter=5, device=device, method="loop"
            )
        messages.append(str(error.value))
    assert messages[0] == messages[1]
    assert "iteration 1 " in messages[0]


@pytest.mark.parametrize("tol", [None, 1e-8])
def test_a_rising_loss_is_divergence_like_on_the_cpu(rng, monkeypatch, tol):
    # Above the stable limit the loss rises at once: never `converged`, always an error.
    monkeypatch.setattr(_config, "CUDA_POLL_EVERY", 1)
    X, y = regression(rng, 60, 1)
    lr = 5 * fastgd.max_stable_lr(X, y)
    messages = []
    for device in ("cuda", "cpu"):
        with pytest.raises(fastgd.DivergenceError, match=r"iteration 1 .*rose from") as error:
            fastgd.gradient_descent(X, y, lr=lr, n_iter=3, tol=tol, device=device, method="loop")
        messages.append(str(error.value))
    assert messages[0] == messages[1]


def test_nan_in_device_data_is_located(rng):
    X, y = regression(rng, 90, 2)
    X[57, 1] = np.nan
    with pytest.raises(ValueError, match=r"X\[57, 1\] is nan"):
        fastgd.gradient_descent(numba_cuda.to_device(X), y, lr=0.1, n_iter=1, device="cuda")
    X[57, 1] = 0.0
    y[33] = -np.inf
    with pytest.raises(ValueError, match=r"y\[33\] is -inf"):
        fastgd.gradient_descent(numba_cuda.to_device(X), numba_cuda.to_device(y), lr=0.1, n_iter=1)


def test_nan_in_host_data_is_located_on_the_cuda_path(rng):
    X, y = regression(rng, 40, 1)
    X[5, 0] = np.inf
    with pytest.raises(ValueError, match=r"X\[5\] is inf"):
        fastgd.gradient_descent(X[:, 0], y, lr=0.1, n_iter=1, device="cuda")


def test_bad_device_weights(rng):
    X, y = regression(rng, 40, 1)
    weights = np.ones(40)
    weights[11] = -2.0
    with pytest.raises(ValueError, match=r"sample_weight\[11\] is -2.0: weights must be >= 0"):
        fastgd.gradient_descent(X, y, lr=0.1, n_iter=1, sample_weight=numba_cuda.to_device(weights))
    weights[11] = np.nan
    with pytest.raises(ValueError, match=r"sample_weight\[11\] is nan: weights must be finite"):
        fastgd.gradient_descent(X, y, lr=0.1, n_iter=1, sample_weight=numba_cuda.to_device(weights))
    with pytest.raises(ValueError, match="weights must sum to a positive"):
        fastgd.gradient_descent(
            X, y, lr=0.1, n_iter=1, sample_weight=numba_cuda.to_device(np.zeros(40))
        )


# --- Data on the device -----------------------------------------------------------------------


def test_device_arrays_are_used_in_place(rng, monkeypatch):
    X, y = regression(rng, 130, 2)
    weights = rng.uniform(0.5, 2, size=130)
    X_dev, y_dev, w_dev = map(numba_cuda.to_device, (X, y, weights))
    expected = fastgd.gradient_descent(
        X, y, lr=0.05, n_iter=2, sample_weight=weights, device="cpu", method="loop"
    )

    # From here on nothing as large as the data may move between host and device.
    real_to_device = numba_cuda.to_device
    fake_array = type(X_dev)
    real_copy_to_host = fake_array.copy_to_host

    def small_to_device(array, *args, **kwargs):
        assert np.size(array) < 100, "data copied to the device"
        return real_to_device(array, *args, **kwargs)

    def small_copy_to_host(self, *args, **kwargs):
        assert self.size < 100, "data copied to the host"
        return real_copy_to_host(self, *args, **kwargs)

    monkeypatch.setattr(numba_cuda, "to_device", small_to_device)
    monkeypatch.setattr(fake_array, "copy_to_host", small_copy_to_host)
    monkeypatch.setattr(np, "asarray", None)  # check_data must not even try
    result = fastgd.gradient_descent(
        X_dev, y_dev, lr=0.05, n_iter=2, sample_weight=w_dev
    )  # device="auto"
    monkeypatch.undo()

    assert result.device == "cuda"
    assert_same_fit(result, expected)
    for original, on_device in ((X, X_dev), (y, y_dev), (weights, w_dev)):
        assert np.array_equal(on_device.copy_to_host(), original)  # not modified


def test_host_and_device_arrays_mix(rng):
    X, y = regression(rng, 60, 1)
    result = fastgd.gradient_descent(X[:, 0], numba_cuda.to_device(y), lr=0.05, n_iter=1)
    assert result.device == "cuda"
    assert_matches_reference(result, X, y, 0.05, 1)


def test_host_y_too_large_for_device_float32_x(rng):
    X, y = regression(rng, 20, 1, np.float32)
    y = y.astype(np.float64)
    y[4] = 1e300
    with pytest.raises(ValueError, match=r"y\[4\] is 1e\+300, too large for float32"):
        fastgd.gradient_descent(numba_cuda.to_device(X), y, lr=0.1, n_iter=1)


def test_device_data_errors(rng):
    X, y = regression(rng, 64, 2)
    X_dev, y_dev = numba_cuda.to_device(X), numba_cuda.to_device(y)
    with pytest.raises(TypeError, match=r"X is a GPU array of dtype int32.*astype"):
        fastgd.gradient_descent(numba_cuda.to_device(X.astype(np.int32)), y_dev, lr=0.1, n_iter=1)
    with pytest.raises(TypeError, match=r"y is a GPU array of dtype float32; .* float64"):
        fastgd.gradient_descent(X_dev, numba_cuda.to_device(y.astype(np.float32)), lr=0.1, n_iter=1)
    with pytest.raises(ValueError, match="not C-contiguous"):
        fastgd.gradient_descent(numba_cuda.to_device(np.asfortranarray(X)), y_dev, lr=0.1, n_iter=1)
    with pytest.raises(ValueError, match="same number of rows, got X with 64 and y with 63"):
        fastgd.gradient_descent(X_dev, numba_cuda.to_device(y[:63]), lr=0.1, n_iter=1)
    with pytest.raises(ValueError, match="X is a GPU array but device='cpu'"):
        fastgd.gradient_descent(X_dev, y_dev, lr=0.1, n_iter=1, device="cpu")


# --- Choosing the device ----------------------------------------------------------------------


def test_auto_never_picks_the_simulator(monkeypatch):
    cuda.real_gpu_usable.cache_clear()
    assert cuda.simulator_enabled() and not cuda.real_gpu_usable()
    assert plan.make_plan(10**8, 1, "auto", None).device == "cpu"
    # With a real GPU, "auto" takes it for large data only.
    monkeypatch.setattr(cuda, "real_gpu_usable", lambda: True)
    assert plan.make_plan(10**7, 1, "auto", None).device == "cuda"
    assert plan.make_plan(1000, 1, "auto", None).device == "cpu"
    assert plan.make_plan(10**7, 1, "cpu", None).device == "cpu"
    # ... and only when the loop is the cheaper method; gram with host data on the CPU.
    many = {"method": "auto", "n_iter": 1000}
    assert plan.make_plan(10**7, 1, "auto", None, **many).device == "cpu"
    assert plan.make_plan(10**7, 1, "auto", None, **many).method == "gram"
    # On the GPU (asked for, or where the data is) the same choice, with the moments there.
    for device, data in (("cuda", "host"), ("auto", "device"), ("cuda", "device")):
        chosen = plan.make_plan(10**7, 1, device, None, data=data, **many)
        assert (chosen.device, chosen.method, chosen.run) == ("cuda", "gram", cuda.Gram)
        chosen = plan.make_plan(10**7, 1, device, None, data=data, method="auto", n_iter=1,
                                moments_needed=False)  # fmt: skip
        assert (chosen.device, chosen.method, chosen.run) == ("cuda", "loop", cuda.Run)
    few = {"method": "auto", "n_iter": 1, "moments_needed": False}
    assert plan.make_plan(10**7, 4, "auto", None, **few).device == "cuda"


def test_device_error_without_numba_cuda(monkeypatch):
    def missing():
        raise fastgd.DeviceError(f"numba-cuda is not installed: {cuda.INSTALL_HINT}")

    monkeypatch.setattr(cuda, "_numba_cuda", missing)
    with pytest.raises(fastgd.DeviceError, match=r'python3 -m pip install -e "\.\[cuda\]"'):
        fastgd.gradient_descent([1.0, 2.0], [1.0, 2.0], lr=0.1, n_iter=1, device="cuda")
    cuda.real_gpu_usable.cache_clear()
    assert fastgd.gradient_descent([1.0, 2.0], [1.0, 2.0], lr=0.1, n_iter=1).device == "cpu"
    cuda.real_gpu_usable.cache_clear()


def test_the_real_import_check(monkeypatch):
    monkeypatch.setattr(numba_cuda, "implementation", "numba's deprecated built-in target")
    with pytest.raises(fastgd.DeviceError, match=r"numba-cuda.*not installed.*\.\[cuda\]"):
        cuda.require_gpu()


class _NoDriver:
    def __len__(self):
        raise RuntimeError("Error at driver init:\n\nCUDA driver library cannot be found.")


@pytest.mark.parametrize(
    "gpus, reason",
    [(_NoDriver(), "no usable CUDA driver .*cannot be found"), ([], "no CUDA GPU is visible")],
    ids=["no driver", "no device"],
)
def test_device_error_says_why(monkeypatch, gpus, reason):
    monkeypatch.setattr(cuda, "simulator_enabled", lambda: False)
    monkeypatch.setattr(numba_cuda, "gpus", gpus, raising=False)
    with pytest.raises(fastgd.DeviceError, match=f"device='cuda' cannot run: {reason}.*'cpu'"):
        fastgd.gradient_descent([1.0, 2.0], [1.0, 2.0], lr=0.1, n_iter=1, device="cuda")


def test_wide_data_has_moments_and_gram_on_the_gpu(rng, monkeypatch):
    # 20 features: beyond what moment_sums keeps per thread with blocks of 32 (17), so the
    # tiled kernel (4 x 4 tiles, 21 tiles of the 22-square matrix, chunks of rows) runs.
    from fastgd import cuda_kernels, moments

    assert cuda._moment_launch(10**6, 17) is not None and cuda._moment_launch(10**6, 20) is None
    assert cuda.launch_config(10**6, 10**5)[1] == THREADS  # nor has the pass a limit
    X, y = regression(rng, 40, 20)
    weights = rng.uniform(0.5, 2.0, size=40)
    on_device = cuda.device_moments(*(numba_cuda.to_device(a) for a in (X, y, weights)))
    on_cpu = moments.centered_moments(X, y, weights)
    assert on_device.weight == pytest.approx(on_cpu.weight, rel=1e-14)
    np.testing.assert_allclose(on_device.mean, on_cpu.mean, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(on_device.comoment, on_cpu.comoment, rtol=1e-11, atol=1e-12)
    kwargs = {"method": "gram", "n_iter": 300, "momentum": "auto", "standardize": True}
    on_gpu = fastgd.gradient_descent(X, y, sample_weight=weights, device="cuda", **kwargs)
    on_host = fastgd.gradient_descent(X, y, sample_weight=weights, device="cpu", **kwargs)
    assert on_gpu.method == "gram"
    np.testing.assert_allclose(on_gpu.coef, on_host.coef, rtol=1e-8, atol=1e-10)
    assert cuda_kernels.moment_tile_width(THREADS) == 4
    assert cuda_kernels.moment_tile_width(256) == 16


# Real PTX, and every launch against the hardware's limits: tests/test_cuda_launch.py.


def test_several_targets_on_the_gpu_are_each_targets_own_fit(rng, monkeypatch):
    # One launch sequence per target (the GPU has no kernel for several yet); host data.
    monkeypatch.setattr(_config, "CUDA_THREADS_PER_BLOCK", 2)
    X = rng.normal(size=(9, 2))
    Y = X @ rng.normal(size=(2, 2)) + 0.1 * rng.normal(size=(9, 2))
    kwargs = {"lr": 0.1, "n_iter": 12, "standardize": True}
    on_gpu = fastgd.gradient_descent(X, Y, device="cuda", **kwargs)
    on_cpu = fastgd.gradient_descent(X, Y, device="cpu", method="loop", **kwargs)
    assert on_gpu.device == "cuda" and on_gpu.coef.shape == (2, 2)
    np.testing.assert_allclose(on_gpu.coef, on_cpu.coef, rtol=1e-9)
    np.testing.assert_allclose(on_gpu.loss_history, on_cpu.loss_history, rtol=1e-9)


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_positive_on_the_gpu_equals_the_cpu(rng, monkeypatch, momentum):
    # The projection is part of gradient.apply_step, which the kernels compile: the same steps.
    monkeypatch.setattr(_config, "CUDA_THREADS_PER_BLOCK", 2)
    X = rng.normal(size=(9, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=9)
    kwargs = {"lr": 0.1, "n_iter": 15, "standardize": True, "positive": True,
              "momentum": momentum}  # fmt: skip
    on_gpu = fastgd.gradient_descent(X, y, device="cuda", **kwargs)
    on_cpu = fastgd.gradient_descent(X, y, device="cpu", method="loop", **kwargs)
    assert on_gpu.device == "cuda" and np.all(on_gpu.coef >= 0.0) and on_gpu.coef[1] == 0.0
    np.testing.assert_allclose(on_gpu.coef, on_cpu.coef, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(on_gpu.loss_history, on_cpu.loss_history, rtol=1e-9)


@pytest.mark.parametrize(("d", "loss"), cases({"d": [1, 3], "loss": ["poisson", "gamma"]}))
def test_count_loss_fit_equals_the_cpu_fit(rng, monkeypatch, d, loss):
    """The Poisson and Gamma losses on the device, lr="auto" from the best constant's start."""
    monkeypatch.setattr(_config, "CUDA_THREADS_PER_BLOCK", 2)
    X = rng.normal(size=(40, d))
    eta = X @ np.array([0.4, -0.3, 0.2])[:d] + 1.0
    y = rng.poisson(np.exp(eta)) * 1.0 if loss == "poisson" else rng.gamma(2.0, np.exp(eta) / 2)
    data = np.ascontiguousarray(X[:, 0]) if d == 1 else X
    kwargs = {"loss": loss, "penalty": "l2", "alpha": 0.1, "tol": 1e-10, "n_iter": 300}
    on_gpu = fastgd.fit(data, y, device="cuda", **kwargs)
    on_cpu = fastgd.fit(data, y, device="cpu", method="loop", **kwargs)
    assert on_cpu.converged and on_gpu.method == "loop"
    assert_same_iterations(on_gpu, on_cpu)


@pytest.mark.parametrize(("d", "standardize"), cases({"d": [1, 3], "standardize": [False, True]}))
def test_logistic_fit_equals_the_cpu_fit(rng, monkeypatch, d, standardize):
    """The logistic loss on the device: the rule's loss number picks its row terms there."""
    monkeypatch.setattr(_config, "CUDA_THREADS_PER_BLOCK", 2)
    X = rng.normal(size=(40, d))
    y = (X @ np.array([1.0, -2.0, 0.5])[:d] + 0.3 * rng.normal(size=40) > 0).astype(np.float64)
    data = np.ascontiguousarray(X[:, 0]) if d == 1 else X
    kwargs = {"loss": "logistic", "standardize": standardize, "penalty": "l2", "alpha": 0.1,
              "tol": 1e-10, "n_iter": 300}  # fmt: skip
    on_gpu = fastgd.fit(data, y, device="cuda", **kwargs)
    on_cpu = fastgd.fit(data, y, device="cpu", method="loop", **kwargs)
    assert on_cpu.converged and on_gpu.method == "loop"
    assert_same_iterations(on_gpu, on_cpu)
