"""Deciding where and how a fit runs, from the validated data and parameters: the device, the
threads, the method, and so the backend whose `Run` does the work (see fastgd/backend.py)."""

import os
from dataclasses import dataclass

import numpy as np

from . import _config, cpu, cuda, distributed, gram, sparse, streamed
from ._validation import (
    SparseRows,
    check_dask_data,
    check_data,
    check_sparse_data,
    is_dask_array,
    is_sparse,
    locate_non_finite,
    locate_non_finite_dask,
    locate_non_finite_sparse,
)
from .backend import Columns
from .errors import DeviceError
from .folds import labelled_moments
from .threads import default_threads

# Each kind of input (`_validation.data_kind`): its checks, which return (X, y, sample_weight,
# total_weight), and the search for a NaN or inf once a loss or the moments overflowed. A new
# input format is its backend and one line here; fit names none of them.
INPUTS = {
    "host": (check_data, locate_non_finite),
    "device": (cuda.check_device_data, cuda.locate_non_finite),
    "dask": (check_dask_data, locate_non_finite_dask),
    "sparse": (check_sparse_data, locate_non_finite_sparse),
    "stream": (streamed.check_stream_data, streamed.locate_non_finite_stream),
}


@dataclass(frozen=True)
class Plan:
    device: str  # "cpu", "cuda" or "dask"
    threads: int | None  # CPU threads the kernel uses (1: the serial kernel); None on Dask
    method: str  # "loop": one pass over the data per iteration; "gram": see gram.py
    run: type  # the backend's Run class: a `backend.Run`


def choose_method(n_rows, n_features, n_iter, method="auto", moments_needed=False):
    """The method to run, "loop" or "gram": what the caller asked for, or for "auto" the cheaper
    of the two.

    In multiply-adds, roughly: the loop costs n_iter * n * d; gram costs one pass of n * d**2
    for the moments, then n_iter * d**2. With lr="auto" the moments are computed anyway (for
    the step size), so only the iterations count against gram.
    """
    if method != "auto":
        return method
    loop_cost = n_iter * n_rows * n_features
    moment_cost = 0 if moments_needed else n_rows * n_features**2
    gram_cost = moment_cost + n_iter * n_features**2
    # On a tie gram: its sums are exact formulas in the moments, so its gradient's rounding,
    # and so how close `tol` can take the fit, does not grow with the rows.
    return "gram" if loop_cost >= gram_cost else "loop"


def make_plan(n_rows, n_features, device, threads, *, method="loop", n_iter=0,
              moments_needed=False, data="host"):  # fmt: skip
    """Choose the device, the CPU thread count, the method (see `choose_method`) and so the
    backend, for data that lives in `data` ("host", "device" for a GPU, or "dask").

    device="cuda" runs the loop on the GPU or raises DeviceError saying why it cannot. With
    device="auto", data already on a GPU runs there; other data runs on the GPU when the loop is
    the cheaper method, a real GPU is usable (never numba-cuda's simulator) and the data has at
    least `_config.CUDA_MIN_VALUES` values; else on the CPU.
    threads=None uses the idle cores, up to numba's thread count (`threads.default_threads`),
    except for small data, where a parallel launch costs more than the whole pass and the
    serial kernel runs instead.
    Dask data runs on the current Dask cluster (or Dask's default scheduler), whose workers
    use their own threads.
    """
    if data == "dask":
        return _dask_plan(n_rows, n_features, device, threads, method, n_iter, moments_needed)
    if data == "stream":
        return _stream_plan(device, threads, method)
    if data == "sparse":
        return _sparse_plan(n_rows, n_features, device, threads, method, n_iter, moments_needed)
    if device == "cuda" or (device == "auto" and data == "device"):
        cuda.require_gpu()
        # The moments on the device, then gram's steps on the host (`cuda.Gram`).
        method = choose_method(n_rows, n_features, n_iter, method, moments_needed)
        on_gpu = cuda.Gram if method == "gram" else cuda.Run
        return Plan(device="cuda", threads=1, method=method, run=on_gpu)
    if data == "device":
        raise ValueError(
            "X is a GPU array but device='cpu': pass device='cuda' (or 'auto') to fit it on the "
            "GPU, or copy it to the host first (e.g. cupy.asnumpy(X), X.cpu().numpy())"
        )
    method = choose_method(n_rows, n_features, n_iter, method, moments_needed)
    big = n_rows * n_features >= _config.CUDA_MIN_VALUES
    if device == "auto" and method == "loop" and big and cuda.real_gpu_usable():
        return Plan(device="cuda", threads=1, method="loop", run=cuda.Run)
    if threads is None:
        if method == "gram":
            small = n_rows * (n_features + 1) ** 2 < _config.GRAM_PARALLEL_MIN_PRODUCTS
        else:
            small = n_rows * n_features < _config.PARALLEL_MIN_VALUES
        threads = 1 if small else default_threads()
    run = gram.Run if method == "gram" else cpu.Run
    return Plan(device="cpu", threads=threads, method=method, run=run)


def free_memory():
    """The bytes of memory free now (Linux's available pages; 8 GiB where unknown)."""
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 8.0 * 2**30


def _sparse_plan(n_rows, n_features, device, threads, method, n_iter, moments_needed):
    """A scipy.sparse X runs on the CPU (fastgd/sparse.py): the loop over its CSR rows, or
    gram from its moments (a dense (d + 1)-square matrix: "auto" takes the loop above
    _config.SPARSE_GRAM_MAX_FEATURES features; "gram" runs wherever the matrix fits in
    memory)."""
    if device == "cuda":
        raise ValueError(
            "a sparse X runs on the CPU only: use device='cpu' (or 'auto'), or a dense X on the GPU"
        )
    if method == "gram" and n_features > _config.SPARSE_GRAM_MAX_FEATURES:
        needed = 8.0 * (n_features + 1) ** 2
        free = free_memory()
        if needed > _config.SPARSE_GRAM_MEMORY_SHARE * free:
            raise ValueError(
                f"method='gram' on a sparse X of {n_features} features would form a dense "
                f"{n_features} x {n_features} matrix of {needed / 2**30:.3g} GiB, more than a "
                f"quarter of the {free / 2**30:.3g} GiB free; use method='loop' (or 'auto'), "
                "or LassoGD/ElasticNetGD (working sets) for an L1 penalty"
            )
    if method == "auto":
        # Costs in the dense terms of `choose_method`: an over-estimate of the loop's, which
        # reads only the stored values; gram above the feature limit is never chosen.
        method = choose_method(n_rows, n_features, n_iter, method, moments_needed)
        if n_features > _config.SPARSE_GRAM_MAX_FEATURES:
            method = "loop"
    if threads is None:
        small = n_rows < _config.PARALLEL_MIN_VALUES // 8
        threads = 1 if small else default_threads()
    run = sparse.Gram if method == "gram" else sparse.Run
    return Plan(device="cpu", threads=threads, method=method, run=run)


def _dask_plan(n_rows, n_features, device, threads, method, n_iter, moments_needed):
    if device == "cuda":
        raise DeviceError(
            "device='cuda' is not available for Dask input; use device='cpu' or 'auto' "
            "(the workers run the CPU kernel on their chunks)"
        )
    if threads is not None:
        raise ValueError(
            "threads= applies to NumPy input; with Dask input each worker uses its own "
            "threads (set them when starting the workers)"
        )
    method = choose_method(n_rows, n_features, n_iter, method, moments_needed)
    run = distributed.GramRun if method == "gram" else distributed.Run
    return Plan(device="dask", threads=None, method=method, run=run)


def _stream_plan(device, threads, method):
    if device == "cuda":
        raise DeviceError(
            "device='cuda' is not available for streamed rows; use device='cpu' or 'auto'"
        )
    if method == "loop":
        raise ValueError(streamed.STREAM_NEEDS_GRAM)
    threads = default_threads() if threads is None else threads
    return Plan(device="cpu", threads=threads, method="gram", run=streamed.GramRun)


def make_targets(plan, X, y, sample_weight, total_weight):
    """The `backend.Targets` that runs a fit of y (n,) or (n, k) on `plan`'s backend.

    One target: its backend's Run. Several: on the CPU, the loop's kernel for k targets (one
    pass over X per iteration for all of them) or gram's moments of X and all targets in one
    pass; elsewhere (the GPU, Dask, a sparse X) one Run per target, each with its own
    passes."""
    if y.ndim == 1:
        return Columns([plan.run(X, y, sample_weight, total_weight, plan.threads)])
    if plan.device == "cpu" and not isinstance(X, SparseRows):
        several = gram.Targets if plan.method == "gram" else cpu.Targets
        return several(X, y, sample_weight, total_weight, plan.threads)
    columns = [_column(y, t) for t in range(y.shape[1])]
    return Columns([plan.run(X, c, sample_weight, total_weight, plan.threads) for c in columns])


def _column(y, target):
    """y[:, target] as the backends take a 1-D y: contiguous (a copy of one column; Dask's is
    lazy)."""
    column = y[:, target]
    return column if is_dask_array(column) else np.ascontiguousarray(column)


def labelled_fold_moments(kind):
    """The pass that sorts each row into its fold (`folds.labelled_moments`) for this kind of
    input: in memory, or on a Dask cluster's workers (fastgd/distributed/gram.py); None for
    the kinds whose folds are indexed out of X instead."""
    if kind == "host":
        return labelled_moments
    if kind == "dask":
        return distributed.fold_moments
    return None


def newton_pass(X):
    """The pass of a GLM's Newton step (fastgd/glm.py) for X's kind: `glm_pass.dense_pass`
    (compiled) for a dense X of at least `_config.PASS_KERNEL_MIN_VALUES` values, else
    `glm_pass.numpy_pass` (a sparse X, or small data, where the kernel's compile would cost
    more than it saves), or the Dask one (fastgd/distributed/newton.py)."""
    if is_dask_array(X):
        from .distributed.newton import dask_pass

        return dask_pass
    from .glm_pass import dense_pass, numpy_pass

    if is_sparse(X) or X.shape[0] * (X.shape[1] + 1) < _config.PASS_KERNEL_MIN_VALUES:
        return numpy_pass
    return dense_pass


def softmax_pass(X, classes):
    """The pass of a multinomial logistic regression's step (fastgd/glm.py) for X's kind:
    `multinomial_pass.dense_pass` (compiled) for a dense X of at least KERNEL_MIN_VALUES
    values times classes, else `multinomial_pass.numpy_pass` (a sparse X, or small data, where
    the kernel's compile would cost more than it saves; an estimator's X is in memory)."""
    from .multinomial_pass import KERNEL_MIN_VALUES, dense_pass, numpy_pass

    if is_sparse(X) or X.shape[0] * X.shape[1] * classes < KERNEL_MIN_VALUES:
        return numpy_pass
    return dense_pass
