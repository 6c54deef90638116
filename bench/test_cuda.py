"""GPU benchmarks: fastgd's CUDA backend against the device's peak memory bandwidth and against
vectorized gradient descent in CuPy and PyTorch (when installed), measured in the same run.

Run: python -m pytest bench/test_cuda.py   (needs a real NVIDIA GPU; skipped cleanly elsewhere,
and under numba-cuda's simulator)

Target (H100, N = 1e8 float32, d = 1): one iteration reads x and y once (800 MB) at >= 80% of
the device's peak memory bandwidth. Printed, never asserted: achieved GB/s and % of peak for
each fastgd benchmark, and ratios against the peers in the table at the end.
"""

import numpy as np
import pytest
from quick import rows, steps

import fastgd
from fastgd import cuda as fastgd_cuda

if not fastgd_cuda.real_gpu_usable():
    pytest.skip(
        "needs an NVIDIA GPU: a real one, with numba-cuda and a driver (not the simulator)",
        allow_module_level=True,
    )

from numba import cuda

LR = 1e-4  # stable for the lecture-like data below (its limit is about 4e-4)


def peak_bandwidth():
    """The device's theoretical memory bandwidth in bytes/s: memory clock (kHz) x bus width
    (bits) x 2 (double data rate) / 8."""
    device = cuda.get_current_device()
    return device.MEMORY_CLOCK_RATE * 1e3 * device.GLOBAL_MEMORY_BUS_WIDTH * 2 / 8


def device_data(n, d, dtype):
    """Lecture-like data (x uniform in [20, 80), y = 1.32 x + 8 + noise) made on the host once
    and copied to the device, with X of shape (n, d)."""
    rng = np.random.default_rng(1)
    X = rng.uniform(20, 80, size=(n, d)).astype(dtype)
    y = (1.32 * X.sum(axis=1) / d + 8 + rng.normal(0, 10, n)).astype(dtype)
    return cuda.to_device(X[:, 0] if d == 1 else X), cuda.to_device(y)


def report_bandwidth(benchmark, n, d, dtype, iterations, capsys):
    # One fit = one evaluation pass + `iterations` passes, each reading X and y once.
    if benchmark.stats is None:
        return  # --benchmark-disable (quick mode): run once, untimed
    seconds = benchmark.stats.stats.median
    bytes_per_pass = n * (d + 1) * np.dtype(dtype).itemsize
    achieved = bytes_per_pass * (iterations + 1) / seconds
    peak = peak_bandwidth()
    benchmark.extra_info.update(achieved_GBps=achieved / 1e9, peak_GBps=peak / 1e9)
    with capsys.disabled():
        print(
            f"\n{benchmark.name}: {seconds / (iterations + 1) * 1e6:.1f} us per iteration, "
            f"{achieved / 1e9:.0f} GB/s = {100 * achieved / peak:.0f}% of the peak "
            f"{peak / 1e9:.0f} GB/s ({cuda.get_current_device().name})"
        )


def fit(X, y, iterations, lr=LR):
    # The loop: "auto" would take gram (the moments, then no pass per step) for many steps.
    return fastgd.gradient_descent(X, y, lr=lr, n_iter=iterations, device="cuda", method="loop")


# --- N = 1e8 float32, d = 1: the bandwidth target ---------------------------------------------

N = rows(100_000_000)
ITERATIONS = steps(100)


def test_fastgd_cuda_1e8_float32(benchmark, record, capsys):
    X, y = device_data(N, 1, np.float32)
    fit(X, y, 1)  # compile
    record(
        "fastgd CUDA, N=1e8 float32", N, ITERATIONS,  # 101 passes: conservative
        versus=["test_cupy_1e8_float32", "test_torch_1e8_float32"],
    )  # fmt: skip
    benchmark.pedantic(fit, (X, y, ITERATIONS), rounds=5, warmup_rounds=1)
    report_bandwidth(benchmark, N, 1, np.float32, ITERATIONS, capsys)


def vectorized_gd(xp, x, y, lr, iterations, synchronize):
    """The lecture's update, vectorized: one pass for the residual, three reductions."""
    b = 0.0
    w = 0.0
    for _ in range(iterations):
        r = y - (x * w + b)
        loss = (r * r).mean()  # the loss history, as fastgd keeps it
        b = b + lr * 2.0 * r.mean()
        w = w + lr * 2.0 * (r * x).mean()
    synchronize()
    return float(b), float(w), float(loss)


def test_cupy_1e8_float32(benchmark, record):
    cupy = pytest.importorskip("cupy", reason="needs an NVIDIA GPU and CuPy (an optional peer)")
    X, y = (cupy.asarray(a) for a in device_data(N, 1, np.float32))
    sync = cupy.cuda.Device().synchronize
    vectorized_gd(cupy, X, y, LR, 1, sync)
    record("CuPy vectorized GD, N=1e8 float32", N, ITERATIONS)
    benchmark.pedantic(vectorized_gd, (cupy, X, y, LR, ITERATIONS, sync), rounds=5, warmup_rounds=1)


def test_torch_1e8_float32(benchmark, record):
    torch = pytest.importorskip("torch", reason="needs an NVIDIA GPU and PyTorch (optional peer)")
    if not torch.cuda.is_available():
        pytest.skip("needs an NVIDIA GPU and PyTorch with CUDA (this one has none)")
    X, y = (torch.as_tensor(a, device="cuda") for a in device_data(N, 1, np.float32))
    sync = torch.cuda.synchronize
    vectorized_gd(torch, X, y, LR, 1, sync)
    record("PyTorch vectorized GD, N=1e8 float32", N, ITERATIONS)
    benchmark.pedantic(
        vectorized_gd, (torch, X, y, LR, ITERATIONS, sync), rounds=5, warmup_rounds=1
    )


# --- Other shapes -------------------------------------------------------------------------------


def test_fastgd_cuda_1e7_d8_float32(benchmark, record, capsys):
    n, d, iterations = rows(10_000_000), 8, steps(50)
    lr = LR / d  # the d features add up: LR diverges here (its stable limit is about 4.9e-5)
    X, y = device_data(n, d, np.float32)
    fit(X, y, 1, lr)
    record("fastgd CUDA, N=1e7 d=8 float32", n, iterations + 1)
    benchmark.pedantic(fit, (X, y, iterations, lr), rounds=5, warmup_rounds=1)
    report_bandwidth(benchmark, n, d, np.float32, iterations, capsys)


def test_fastgd_cuda_1e8_float64(benchmark, record, capsys):
    n = rows(50_000_000)  # 800 MB per pass, like the float32 target
    X, y = device_data(n, 1, np.float64)
    fit(X, y, 1)
    record("fastgd CUDA, N=5e7 float64", n, ITERATIONS + 1)
    benchmark.pedantic(fit, (X, y, ITERATIONS), rounds=5, warmup_rounds=1)
    report_bandwidth(benchmark, n, 1, np.float64, ITERATIONS, capsys)


def test_fastgd_cuda_launch_bound_1e4(benchmark, record, capsys):
    """Small data: the time per iteration is the host's cost of a kernel launch."""
    n, iterations = rows(10_000), steps(2000)
    X, y = device_data(n, 1, np.float64)
    fit(X, y, 1)
    record("fastgd CUDA, N=1e4 (launch-bound)", n, iterations + 1)
    benchmark.pedantic(fit, (X, y, iterations), rounds=5, warmup_rounds=1)
    if benchmark.stats is None:
        return  # --benchmark-disable (quick mode): run once, untimed
    with capsys.disabled():
        per_iteration = benchmark.stats.stats.median / (iterations + 1)
        print(f"\nlaunch-bound: {per_iteration * 1e6:.1f} us per iteration (2 kernel launches)")
