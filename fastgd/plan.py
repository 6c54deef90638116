"""Deciding where and how a fit runs, from the validated data and parameters."""

from dataclasses import dataclass

import numba

from . import _config


@dataclass(frozen=True)
class Plan:
    device: str  # "cpu" or "cuda"
    threads: int  # CPU threads the kernel uses (1: the serial kernel)


def make_plan(n_rows, n_features, device, threads, data_on_device=False):
    """Choose the device and the CPU thread count.

    device="cuda" runs on the GPU or raises DeviceError saying why it cannot. device="auto" runs
    on the GPU when the data already is there, or when a real GPU is usable (never numba-cuda's
    simulator) and the data has at least `_config.CUDA_MIN_VALUES` values; else on the CPU.
    threads=None uses numba's current thread count, except for small data, where a parallel
    launch costs more than the whole pass and the serial kernel runs instead.
    """
    from . import cuda

    if device == "cuda" or (device == "auto" and data_on_device):
        cuda.require_gpu()
        return Plan(device="cuda", threads=1)
    if data_on_device:
        raise ValueError(
            "X is a GPU array but device='cpu': pass device='cuda' (or 'auto') to fit it on the "
            "GPU, or copy it to the host first (e.g. cupy.asnumpy(X), X.cpu().numpy())"
        )
    big = n_rows * n_features >= _config.CUDA_MIN_VALUES
    if device == "auto" and big and cuda.real_gpu_usable():
        return Plan(device="cuda", threads=1)
    if threads is None:
        small = n_rows * n_features < _config.PARALLEL_MIN_VALUES
        threads = 1 if small else numba.get_num_threads()
    return Plan(device="cpu", threads=threads)
