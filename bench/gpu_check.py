"""The GPU check: fastgd's CUDA backend against its CPU backend, and its bandwidth, in one run.

    python3 bench/gpu_check.py [--out FILE.json] [--budget SECONDS]     # a real NVIDIA GPU
    NUMBA_ENABLE_CUDASIM=1 python3 bench/gpu_check.py --smoke           # the logic, anywhere

On a GPU (about 2-4 minutes on an H200) it checks the GPU's fits against the CPU's -- float32
and float64, d = 1 and 8, weights, tol, divergence, device arrays, n = 1, an odd n, the options
every backend has (standardize, momentum, penalties, the Huber loss, positive=True, several
targets), gram from the device's moments, 300 features and 20 (where a launch once exceeded
the shared memory) -- and measures the loop's bandwidth
(GB/s, % of the GPU's peak) and its per-iteration time at N = 1e6, 1e7 and 1e8, whose smallest
size shows the per-iteration overhead. `--smoke` runs the same checks on tiny data in numba-cuda's
simulator (CI does, from tests/test_gpu_check.py), and each benchmark's code path once, untimed
(its records keep their fields, null). Only fastgd's public API is used, so the
check stays valid as the backend changes.

One JSON object per line as it goes (flushed: a run stopped by a timeout still reports what it
did), and all of them in --out (default gpu_check.json). Exit status 1 when a check failed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's fastgd

import fastgd
from fastgd import _config

RESULTS: list[dict] = []
FAILED: list[str] = []
START = time.perf_counter()
SMOKE = False  # --smoke: tiny data and few steps (each simulated launch costs about 0.2 s)


def steps(n_iter: int) -> int:
    """`n_iter` on a GPU; a fifth of it (at least 3) in the simulator: each step is a launch."""
    return max(3, n_iter // 5) if SMOKE else n_iter


def emit(kind: str, **fields: object) -> None:
    fields = {"kind": kind, "t": round(time.perf_counter() - START, 2), **fields}
    RESULTS.append(fields)
    print(json.dumps(fields, default=str), flush=True)


def check(name: str, ok: bool, **detail: object) -> None:
    emit("check", name=name, ok=bool(ok), **detail)
    if not ok:
        FAILED.append(name)


def relative(a: object, b: object) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-300)
    return float(np.max(np.abs(a - b), initial=0.0) / scale)


def regression(rng: np.random.Generator, n: int, d: int, dtype: type) -> tuple:
    X = rng.normal(loc=1.0, size=(n, d)).astype(dtype)
    y = (X @ rng.normal(size=d) + 0.5 + 0.1 * rng.normal(size=n)).astype(dtype)
    return X, y


def same_fit(name: str, X: object, y: object, tolerance: float, **options: object) -> None:
    """The GPU's fit against the CPU's, and a second GPU fit against the first (bits); the
    loop on both unless `options` name a method."""
    options = {"method": "loop", **options}
    gpu = fastgd.gradient_descent(X, y, device="cuda", **options)
    again = fastgd.gradient_descent(X, y, device="cuda", **options)
    cpu = fastgd.gradient_descent(X, y, device="cpu", **options)
    difference = max(
        relative(gpu.coef, cpu.coef),
        relative(gpu.intercept, cpu.intercept),
        relative(gpu.loss_history, cpu.loss_history),
    )
    identical = np.array_equal(gpu.coef, again.coef) and np.array_equal(
        gpu.loss_history, again.loss_history
    )
    check(name, gpu.device == "cuda" and difference <= tolerance and identical,
          max_relative_difference=difference, bit_identical_rerun=identical,
          n_iter=np.asarray(gpu.n_iter).tolist())  # fmt: skip


def correctness(smoke: bool) -> None:
    rng = np.random.default_rng(0)
    n = 67 if smoke else 100_003  # odd, and not a multiple of any block
    layouts = [(dtype, d, weighted) for dtype in (np.float64, np.float32) for d in (1, 8)
               for weighted in (False, True)]  # fmt: skip
    if smoke and os.environ.get("FASTGD_TESTS") != "full":
        # The simulator proves the code path, not the hardware: each value once (CI's tier;
        # tests/test_cuda.py checks these kernels against the CPU pairwise).
        layouts = [(np.float64, 1, False), (np.float32, 8, True)]
    for dtype, d, weighted in layouts:
        X, y = regression(rng, n, d, dtype)
        data = np.ascontiguousarray(X[:, 0]) if d == 1 else X
        weights = rng.uniform(0.0, 2.0, n) if weighted else None
        tolerance = 1e-9 if dtype == np.float64 else 1e-5
        same_fit(f"{np.dtype(dtype).name} d={d} weighted={weighted}", data, y, tolerance,
                 lr=0.05, n_iter=steps(20), sample_weight=weights)  # fmt: skip
    X, y = regression(rng, 1, 1, np.float64)
    same_fit("n=1", X[:, 0], y, 1e-12, lr=0.1, n_iter=3)
    X, y = regression(rng, n, 3, np.float64)
    options = {
        "standardize+momentum": {"standardize": True, "momentum": "auto", "tol": 1e-10},
        "ridge": {"penalty": "l2", "alpha": 0.1, "standardize": True, "momentum": "auto"},
        "lasso": {"penalty": "l1", "alpha": 0.01, "standardize": True, "momentum": 0.5},
        "huber": {"loss": "huber", "epsilon": 0.1, "standardize": True},
        "positive": {"positive": True, "standardize": True, "momentum": 0.5},
    }
    for name, extra in options.items():
        same_fit(name, X, y, 1e-9, n_iter=steps(40), **extra)
    Y = np.column_stack([y, 2.0 * y - 1.0])
    same_fit("two targets (host data)", X, Y, 1e-9, lr=0.05, n_iter=steps(10))
    # gram from the device's moments (per-thread sums at d = 8, tiles wider: 20 in the
    # simulator's blocks of 32 threads, 40 on a GPU); the pass at a width whose rows take the
    # wide layout (more features than threads per block).
    widths = (8, 20 if smoke else 40)
    if smoke and os.environ.get("FASTGD_TESTS") != "full":
        # The tiled moments cost 47 of the smoke run's 166 s in the simulator, and
        # tests/test_cuda.py's test_wide_data_has_moments_and_gram_on_the_gpu runs the same
        # kernel at d = 20: CI's tier runs it there, the full tier here too.
        widths = (8,)
    for d in widths:
        X_gram, y_gram = regression(rng, n, d, np.float64)
        weights = rng.uniform(0.5, 2.0, n)
        same_fit(f"gram d={d}", X_gram, y_gram, 1e-8, method="gram", sample_weight=weights,
                 standardize=True, momentum="auto", n_iter=500)  # fmt: skip
    X_wide, y_wide = regression(rng, 67 if smoke else 20_011, 300, np.float64)
    same_fit("loop d=300", X_wide, y_wide, 1e-9, lr=1e-4, n_iter=5)
    # d = 20: at 256 threads the pass's dynamic shared memory alone filled the 48 KB, and its
    # static bytes made the launch fail (issue 25); float32 and float64.
    if not smoke:  # the simulator's blocks of 32 threads never came near the limit
        for dtype in (np.float32, np.float64):
            X_20, y_20 = regression(rng, n, 20, dtype)
            same_fit(f"loop d=20 {np.dtype(dtype).name}", X_20, y_20,
                     1e-9 if dtype == np.float64 else 1e-5, lr=1e-3, n_iter=10)  # fmt: skip

    # tol stops where the CPU stops; divergence says the same; device arrays, used in place.
    X, y = regression(rng, n, 1, np.float64)
    kwargs = {"lr": 0.3, "n_iter": 200, "tol": 1e-8, "method": "loop", "standardize": True}
    gpu, cpu = (
        fastgd.gradient_descent(X, y, device="cuda", **kwargs),
        fastgd.gradient_descent(X, y, device="cpu", **kwargs),
    )
    check("tol", gpu.n_iter == cpu.n_iter < 200 and gpu.converged and cpu.converged,
          gpu=gpu.n_iter, cpu=cpu.n_iter)  # fmt: skip
    messages = []
    for device in ("cuda", "cpu"):
        try:
            fastgd.gradient_descent(X, y, lr=50.0, n_iter=200, device=device, method="loop")
            messages.append("no error")
        except fastgd.DivergenceError as error:
            messages.append(str(error))
    check("divergence", messages[0] == messages[1] != "no error", gpu=messages[0][:100])
    from numba import cuda

    X_device, y_device = cuda.to_device(X), cuda.to_device(y)
    gpu = fastgd.gradient_descent(X_device, y_device, n_iter=5, method="loop")
    cpu = fastgd.gradient_descent(X, y, n_iter=5, device="cpu", method="loop")
    check("device arrays, lr='auto'", gpu.device == "cuda"
          and relative(gpu.lr, cpu.lr) < 1e-10
          and relative(gpu.loss_history, cpu.loss_history) < 1e-9,
          lr_gpu=gpu.lr, lr_cpu=cpu.lr)  # fmt: skip


def peak_bandwidth() -> float:
    """The GPU's peak memory bandwidth in bytes/s, from its clock and bus (nan if unknown)."""
    from numba import cuda

    device = cuda.get_current_device()
    try:
        return device.MEMORY_CLOCK_RATE * 1e3 * device.GLOBAL_MEMORY_BUS_WIDTH * 2 / 8
    except Exception:  # noqa: BLE001 - the simulator has neither
        return math.nan


def bandwidth(smoke: bool, budget: float) -> None:
    from numba import cuda

    peak = peak_bandwidth()
    device = cuda.get_current_device()
    emit("device", name=str(getattr(device, "name", "simulator")), peak_GBps=peak / 1e9,
         compute_capability=getattr(device, "compute_capability", None))  # fmt: skip
    sizes = [10**6, 10**7, 10**8]
    configs = [(n, 1, np.float32) for n in sizes] + [(n, 1, np.float64) for n in sizes[:2]]
    configs += [(n, 8, np.float32) for n in sizes]
    if smoke:  # the code path once per layout, untimed: the simulator's seconds mean nothing
        configs = [(200, 1, np.float32), (100, 8, np.float64)]
    rng = np.random.default_rng(1)
    for n, d, dtype in configs:
        if time.perf_counter() - START > budget:
            emit("skipped", n=n, d=d, dtype=np.dtype(dtype).name, why="time budget")
            continue
        # The data made on the host in chunks would take minutes at 1e8: copy a normal sample.
        X_host = rng.normal(loc=1.0, size=(min(n, 10**6), d)).astype(dtype)
        X = cuda.device_array((n, d), dtype=dtype)
        y = cuda.device_array(n, dtype=dtype)
        for start in range(0, n, X_host.shape[0]):
            stop = min(n, start + X_host.shape[0])
            X[start:stop] = X_host[: stop - start]
            y[start:stop] = (X_host[: stop - start] @ np.ones(d)).astype(dtype)
        data = X.reshape(n) if d == 1 else X
        lr = 0.5 * fastgd.max_stable_lr(data, y)
        if smoke:
            fit = fastgd.gradient_descent(data, y, lr=lr, n_iter=2, device="cuda", method="loop")
            emit("bench", n=n, d=d, dtype=np.dtype(dtype).name, iterations=fit.n_iter,
                 us_per_iteration=None, GBps=None, pct_peak=None, timed=False)  # fmt: skip
            continue
        short, long = 20, max(100, min(2000, int(2e10 / (n * (d + 1)))))
        seconds = []
        for n_iter in (short, long):
            options = {"lr": lr, "n_iter": n_iter, "device": "cuda", "method": "loop"}
            fastgd.gradient_descent(data, y, **options)  # warm
            times = [fastgd.gradient_descent(data, y, **options).seconds for _ in range(3)]
            seconds.append(statistics.median(times))
        per_iteration = (seconds[1] - seconds[0]) / (long - short)
        bytes_per_iteration = n * (d + 1) * np.dtype(dtype).itemsize
        emit("bench", n=n, d=d, dtype=np.dtype(dtype).name, iterations=long,
             us_per_iteration=per_iteration * 1e6,
             GBps=bytes_per_iteration / per_iteration / 1e9,
             pct_peak=100 * bytes_per_iteration / per_iteration / peak, timed=True)  # fmt: skip
        del X, y, data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny data (the simulator)")
    parser.add_argument("--out", default="gpu_check.json", help="where the JSON list goes")
    parser.add_argument("--budget", type=float, default=240.0,
                        help="seconds after which no new benchmark starts")  # fmt: skip
    args = parser.parse_args(argv)
    global SMOKE
    SMOKE = args.smoke
    if args.smoke:  # the simulator runs each thread as Python: small blocks
        _config.CUDA_THREADS_PER_BLOCK = 32
        _config.CUDA_BLOCKS_PER_SM = 1
        # and each launch costs a second: no launch after a fit stopped
        _config.CUDA_POLL_EVERY = 1
    try:
        correctness(args.smoke)
        bandwidth(args.smoke, args.budget)
    except Exception as error:  # noqa: BLE001 - reported, and the run fails
        check("ran to the end", False, error=repr(error)[:300])
    emit("summary", failed=FAILED, seconds=round(time.perf_counter() - START, 1))
    Path(args.out).write_text(json.dumps(RESULTS, indent=1, default=str))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
