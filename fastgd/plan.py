"""Deciding where and how a fit runs, from the validated data and parameters."""

from dataclasses import dataclass

import numba

from . import _config
from .errors import DeviceError


@dataclass(frozen=True)
class Plan:
    device: str  # "cpu"
    threads: int  # CPU threads the kernel uses (1: the serial kernel)


def make_plan(n_rows, n_features, device, threads):
    """Choose the device and the CPU thread count.

    threads=None uses numba's current thread count, except for small data, where a parallel
    launch costs more than the whole pass and the serial kernel runs instead.
    """
    if device == "cuda":
        raise DeviceError(
            "device='cuda' is not available in this version of fastgd; use device='cpu' "
            "(or 'auto')"
        )
    if threads is None:
        small = n_rows * n_features < _config.PARALLEL_MIN_VALUES
        threads = 1 if small else numba.get_num_threads()
    return Plan(device="cpu", threads=threads)
