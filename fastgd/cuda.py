"""CUDA backend: the iteration loop driven from the host, every iteration's work on the GPU.

The data is copied to the device once per fit (or used in place when it already lives there:
numba device arrays and any object with `__cuda_array_interface__`, such as CuPy arrays and
PyTorch CUDA tensors). The parameters, the partial sums, the loss history and a status flag
also live on the device, and so do the fit's `backend.Settings`: the shift subtracted from the
rows, the packed `rule` (learning rate, momentum, the loss's noise, the stopping rule, the
penalty, the Huber loss's threshold), the preconditioner and the momentum's velocity. Each
iteration is one asynchronous kernel launch (see `fastgd/cuda_kernels.py`): a fused pass over
the data computing the partial sums of `fastgd/gradient.py` (the squared error's or the Huber
loss's) per block, whose last block to finish adds the blocks up in a fixed order, records the
loss, checks it and takes the step -- the same step and stopping rule as `iteration.steps` on
the CPU, from gradient.py's own functions. The host never waits inside the loop: every
`_config.CUDA_POLL_EVERY` iterations it looks at a status flag the device writes to host
memory (so that a diverged or converged fit stops queueing launches), and at the end of each
block of iterations that `fit` asks for it reads the parameters, the velocity and the new part
of the loss history. The settings go to the device at the start of each block (a few values).

A numba kernel launch costs the host tens of microseconds (argument typing and the driver call).
Launches are asynchronous, so this overlaps the GPU's work whenever one pass over the data takes
longer than a launch (about n * d > 10^6 values on a current GPU); for many iterations over
small data the launch cost dominates, and `method="gram"` (`Gram`: the moments on the device,
the steps on the host) avoids it.

numba-cuda is an optional extra: this module imports it only inside functions, so fastgd imports
and runs on the CPU without it.
"""

import functools
import math
import warnings
from typing import Any

import numpy as np

from . import _config, gram
from ._status import PARAMS_NOT_FINITE, RAN, STOPPED
from ._validation import (
    as_array,
    check_total_weight,
    check_weight_shape,
    check_X_shape,
    check_y_shape,
    convert_array,
    dtype_problem,
    float_dtype_for,
    is_device_array,
)
from .errors import DeviceError
from .gradient import LOSS, LOSS_PARAMETER, n_sums, rule_size

INSTALL_HINT = 'python3 -m pip install -e ".[cuda]" in a checkout of fastgd'
# Threads per block start at _config.CUDA_THREADS_PER_BLOCK and halve, where a block's shared
# memory would not fit, down to one warp.
WARP = 32


def _numba_cuda():
    """numba.cuda from NVIDIA's numba-cuda package, or a DeviceError saying how to install it."""
    try:
        from numba import cuda
    except ImportError:
        cuda = None
    if cuda is None or getattr(cuda, "implementation", None) != "NVIDIA":
        raise DeviceError(
            f"device='cuda' needs NVIDIA's numba-cuda, which is not installed: {INSTALL_HINT} "
            "(or use device='cpu')"
        )
    return cuda


def _kernels():
    from . import cuda_kernels

    return cuda_kernels


def simulator_enabled():
    _numba_cuda()
    from numba.cuda.core import config

    return bool(config.ENABLE_CUDASIM)


def gpu_problem():
    """Why device='cuda' cannot run here (a sentence with the fix), or None when it can.

    numba-cuda's simulator (NUMBA_ENABLE_CUDASIM=1) counts as a usable device.
    """
    try:
        cuda = _numba_cuda()
    except DeviceError as error:
        return str(error)
    if simulator_enabled():
        return None
    try:
        count = len(cuda.gpus)
    except Exception as error:  # noqa: BLE001 -- CudaSupportError (no driver), driver errors
        reason = " ".join(str(error).split()).rstrip(" :")
        return (
            f"no usable CUDA driver ({reason}); install the NVIDIA driver on a machine with an "
            "NVIDIA GPU, or use device='cpu'"
        )
    if count == 0:
        return "no CUDA GPU is visible (check CUDA_VISIBLE_DEVICES), or use device='cpu'"
    return None


def require_gpu():
    problem = gpu_problem()
    if problem is not None:
        raise DeviceError(f"device='cuda' cannot run: {problem}")


@functools.lru_cache(maxsize=1)
def real_gpu_usable():
    """True when a real GPU is usable. Never the simulator: device='auto' must not pick it (it
    runs kernels as Python threads); only an explicit device='cuda' runs the simulator."""
    try:
        return gpu_problem() is None and not simulator_enabled()
    except DeviceError:
        return False


# --- Data already on the device -----------------------------------------------------------


def _as_device_array(value):
    """A numba device array viewing `value`'s GPU memory (no copy)."""
    if getattr(value, "__cuda_ndarray__", False):  # numba's own (also the simulator's)
        return value
    return _numba_cuda().as_cuda_array(value)


def _device_float_dtype(array, name, dtype=None):
    problem = dtype_problem(array.dtype)
    if problem is not None:
        raise TypeError(f"{name} holds {problem} (dtype {array.dtype}); pass real numbers")
    wanted = dtype or float_dtype_for(array.dtype)
    if array.dtype != wanted:
        raise TypeError(
            f"{name} is a GPU array of dtype {array.dtype}; fastgd uses GPU data in place and "
            f"needs {wanted} here: convert it on the GPU first (e.g. {name}.astype('{wanted}'))"
        )
    if not array.is_c_contiguous():
        raise ValueError(
            f"{name} is a GPU array that is not C-contiguous; make it contiguous on the GPU "
            f"first (e.g. cupy.ascontiguousarray({name}) or {name}.contiguous())"
        )
    return array


def _to_device_like(value, name, dtype):
    """A host value converted once to `dtype` and copied to the device, or a device array
    checked to have that dtype."""
    if is_device_array(value):
        return _device_float_dtype(_as_device_array(value), name, dtype)
    return _numba_cuda().to_device(convert_array(as_array(value, name), dtype, name))


def _configure(kernel, blocks, threads, shared_bytes=0):
    """kernel[blocks, threads, stream 0, shared_bytes], without numba's warning about small
    grids: the one-block kernels and the passes over small data are small on purpose."""
    from numba.core.errors import NumbaPerformanceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
        return kernel[blocks, threads, 0, shared_bytes]


def _weights_args(y, sample_weight):
    """(weights, weighted flag) as the kernels take them: they cannot take None, so without
    weights y stands in (never read)."""
    return (y, 0) if sample_weight is None else (sample_weight, 1)


def _launch_1d(n):
    threads = _config.CUDA_THREADS_PER_BLOCK
    return _blocks(n, threads), threads


def _first_bad_index(values, negative_too):
    """The first index of `values` (1-D, on the device) that is NaN, +-inf (or < 0), or None."""
    cuda = _numba_cuda()
    n = values.shape[0]
    first = cuda.to_device(np.array([n], dtype=np.int64))
    blocks, threads = _launch_1d(n)
    _configure(_kernels().first_bad_value, blocks, threads)(values, int(negative_too), first)
    index = int(first.copy_to_host()[0])
    return None if index == n else index


def _value_at(array, index):
    return array[index : index + 1].copy_to_host()[0]


def _total(values):
    """The sum of a 1-D device array in float64: block totals added up in block order."""
    cuda = _numba_cuda()
    kernels = _kernels()
    blocks, threads = _launch_1d(values.shape[0])
    partials = cuda.device_array(blocks, dtype=np.float64)
    shared = kernels.totals_shared_bytes(threads)
    _configure(kernels.block_totals, blocks, threads, shared)(values, partials)
    return float(math.fsum(partials.copy_to_host()))


def check_device_data(X, y, sample_weight):
    """`_validation.check_data` for data of which at least one array is on the GPU.

    Returns (X as an (n, d) device array, y (n,), sample_weight (n,) or None, total weight),
    all device arrays of X's float dtype. GPU arrays are used in place (never copied, never
    read back to the host); host arrays are converted once and copied to the device.
    """
    if is_device_array(X):
        X = _device_float_dtype(_as_device_array(X), "X")
    else:
        X = as_array(X, "X")
        X = _numba_cuda().to_device(np.ascontiguousarray(X, dtype=float_dtype_for(X.dtype)))
    check_X_shape(X)
    n = X.shape[0]
    if X.ndim == 1:
        X = X.reshape(n, 1)

    y = check_y_shape(_to_device_like(y, "y", X.dtype), n)

    total_weight = float(n)
    if sample_weight is not None:
        if not is_device_array(sample_weight) and np.ndim(sample_weight) == 0:
            sample_weight = np.full(n, sample_weight)
        sample_weight = _to_device_like(sample_weight, "sample_weight", X.dtype)
        check_weight_shape(sample_weight, n)
        bad = _first_bad_index(sample_weight, negative_too=True)
        if bad is not None:
            value = _value_at(sample_weight, bad)
            rule = "finite" if not np.isfinite(value) else ">= 0"
            raise ValueError(f"sample_weight[{bad}] is {value}: weights must be {rule}")
        total_weight = _total(sample_weight)
        check_total_weight(total_weight, X.dtype)
    return X, y, sample_weight, total_weight


def locate_non_finite(X, y):
    """`_validation.locate_non_finite` for device arrays: searched on the device."""
    for name, array in (("X", X), ("y", y)):
        flat = array.reshape(array.size)
        index = _first_bad_index(flat, negative_too=False)
        if index is not None:
            value = _value_at(flat, index)
            if array.ndim == 2 and array.shape[1] > 1:
                where = f"{index // array.shape[1]}, {index % array.shape[1]}"
            else:
                where = str(index if array.ndim == 1 else index // array.shape[1])
            return ValueError(
                f"{name}[{where}] is {value}: {name} must be finite; drop or impute missing "
                "values before fitting"
            )
    return None


# --- Launch configuration -------------------------------------------------------------------


def _blocks_limit(shared_bytes_per_block=0):
    """A few blocks per streaming multiprocessor (`_config.CUDA_BLOCKS_PER_SM`), and no more
    than fit in its shared memory at once: every block of a grid-stride pass should be resident,
    or a second, mostly empty wave of blocks would follow the first. (The simulator reports no
    multiprocessor count: one.)"""
    device = _numba_cuda().get_current_device()
    per_sm = _config.CUDA_BLOCKS_PER_SM
    shared_per_sm = getattr(device, "MAX_SHARED_MEMORY_PER_MULTIPROCESSOR", None)
    if shared_per_sm and shared_bytes_per_block:
        # The driver reserves 1 KiB of shared memory per block.
        per_sm = max(1, min(per_sm, shared_per_sm // (shared_bytes_per_block + 1024)))
    return per_sm * getattr(device, "MULTIPROCESSOR_COUNT", 1)


def _blocks(n_rows, threads, shared_bytes=0):
    """Blocks of a grid-stride pass over n_rows rows: at most one row per thread, and no more
    than `_blocks_limit` allows."""
    return max(1, min(_blocks_limit(shared_bytes), math.ceil(n_rows / threads)))


def _smallest_block():
    return min(_config.CUDA_THREADS_PER_BLOCK, WARP)


def _launch(n_rows, n_features, shared_bytes):
    """(blocks, threads per block, shared bytes per block) of a grid-stride pass over n_rows rows
    by a kernel whose blocks need `shared_bytes(n_features, threads)` bytes of shared memory, or
    None where even the smallest block does not fit.

    Threads per block start at `_config.CUDA_THREADS_PER_BLOCK` (a power of two) and halve
    while a block would not fit in the dynamic shared memory a block may have
    (`cuda_kernels.DYNAMIC_SHARED_BYTES`), down to one warp.
    """
    limit = _kernels().DYNAMIC_SHARED_BYTES
    threads = _config.CUDA_THREADS_PER_BLOCK
    if threads < 1 or threads & (threads - 1):
        raise ValueError(f"CUDA_THREADS_PER_BLOCK must be a power of two, got {threads}")
    while threads > _smallest_block() and shared_bytes(n_features, threads) > limit:
        threads //= 2
    shared = shared_bytes(n_features, threads)
    if shared > limit:
        return None
    return _blocks(n_rows, threads, shared), threads, shared


def launch_config(n_rows, n_features):
    """(blocks, threads per block) for the pass over the data (n_rows rows):
    `_config.CUDA_THREADS_PER_BLOCK` threads (a power of two), and no more blocks than tiles of
    rows (a row per thread; `cuda_kernels.pass_layout` for several features) or than
    `_blocks_limit` allows. The pass's shared memory always fits: it has no feature limit."""
    kernels = _kernels()
    threads = _config.CUDA_THREADS_PER_BLOCK
    if threads < 1 or threads & (threads - 1):
        raise ValueError(f"CUDA_THREADS_PER_BLOCK must be a power of two, got {threads}")
    rows = threads if n_features == 1 else kernels.pass_layout(n_features, threads)[0]
    shared = kernels.pass_shared_bytes(n_features, threads)
    return max(1, min(_blocks_limit(shared), math.ceil(n_rows / rows))), threads


# --- The data's moments, for lr="auto" ------------------------------------------------------


def _moment_launch(n_rows, n_features):
    """(configured moment_sums kernel, its number of blocks, values per row), or None for data
    too wide for its per-thread sums (`_moment_tile_launch` then)."""
    kernels = _kernels()
    launch = _launch(n_rows, n_features, kernels.moment_shared_bytes)
    if launch is None:
        return None
    blocks, threads, shared = launch
    configured = _configure(kernels.moment_sums, blocks, threads, shared)
    return configured, blocks, kernels.n_moment_sums(n_features)


def moment_tile_grid(n_rows, n_features):
    """(grid, threads per block, shared bytes, tiles) of `moment_tiles`: the tiles I <= J of the
    (d + 2)-square matrix (an (n_tiles, 2) array) on the grid's x dimension, and on its y as
    many chunks of rows as keep the grid within `_blocks_limit` (at least one)."""
    kernels = _kernels()
    width = kernels.moment_tile_width(_config.CUDA_THREADS_PER_BLOCK)
    count = math.ceil((n_features + 2) / width)
    tiles = np.column_stack(np.triu_indices(count)).astype(np.int64)  # (I, J), I <= J, by rows
    shared = kernels.moment_tile_shared_bytes(width)
    room = max(1, _blocks_limit(shared) // len(tiles))
    chunks = max(1, min(room, math.ceil(n_rows / width)))
    return (len(tiles), chunks), width * width, shared, tiles  # y and z stop at 65 535


def _moment_tile_launch(n_rows, n_features):
    """(configured moment_tiles kernel, its tiles (a device array), the shape of its partials)."""
    grid, threads, shared, tiles = moment_tile_grid(n_rows, n_features)
    configured = _configure(_kernels().moment_tiles, grid, threads, shared)
    return configured, _numba_cuda().to_device(tiles), (grid[1], grid[0], threads)


def _sums_about(X, y, sample_weight, center):
    """(S, the first-order sums (d + 1), the products ((d + 1)-square)) of the rows about
    `center`, from one pass on the device; the blocks' sums added up on the host in a fixed
    order. Narrow data: `moment_sums`, a thread's sums in shared memory; wider: `moment_tiles`."""
    cuda = _numba_cuda()
    n, d = X.shape
    m = d + 1
    status = cuda.to_device(np.array([RAN, 0], dtype=np.int64))
    weights = _weights_args(y, sample_weight)
    center = cuda.to_device(np.ascontiguousarray(center, dtype=np.float64))
    narrow = _moment_launch(n, d)
    if narrow is not None:
        launch, blocks, n_values = narrow
        partials = cuda.device_array((blocks, n_values))
        launch(X, y, *weights, center, partials, status)
        sums = np.array([math.fsum(column) for column in partials.copy_to_host().T])
        second = np.empty((m, m))
        p = 1 + m
        for j in range(m):
            for k in range(j, m):
                second[j, k] = second[k, j] = sums[p]
                p += 1
        return sums[0], sums[1 : 1 + m], second
    launch, tiles, shape = _moment_tile_launch(n, d)
    partials = cuda.device_array(shape)
    launch(X, y, *weights, center, tiles, partials, status)
    by_tile = partials.copy_to_host().sum(axis=0)  # chunks added in a fixed order
    width = math.isqrt(shape[2])
    count = math.ceil((d + 2) / width)
    whole = np.zeros((count * width, count * width))
    for (i, j), values in zip(tiles.copy_to_host(), by_tile, strict=True):
        block = values.reshape(width, width)
        whole[i * width : (i + 1) * width, j * width : (j + 1) * width] = block
        whole[j * width : (j + 1) * width, i * width : (i + 1) * width] = block.T
    return whole[0, 0], whole[0, 1 : 1 + m].copy(), whole[1 : 1 + m, 1 : 1 + m].copy()


def device_moments(X, y, sample_weight):
    """The data's `moments.Moments` from device arrays (X (n, d), y (n,), sample_weight or None):
    two passes on the device, one for the means and one for the products centred on them (as
    `moments.centered_moments` computes them on the CPU, centring avoids the cancellation of raw
    second moments). Any number of features (`_sums_about`)."""
    from .moments import Moments

    m = X.shape[1] + 1
    weight, first, _ = _sums_about(X, y, sample_weight, np.zeros(m))
    mean = first / weight
    _, centred, second = _sums_about(X, y, sample_weight, mean)
    # The mean of (z - mean) is zero up to rounding; subtracting its outer product makes the
    # centred products exact for the centre actually used.
    offset = centred / weight
    comoment = second - weight * np.outer(offset, offset)
    return Moments(weight=float(weight), mean=mean + offset, comoment=comoment)


def compile_device_moments(X, y, sample_weight):
    """Compile (or load) `device_moments`'s kernel for this data: one launch that returns at
    once (status STOPPED)."""
    cuda = _numba_cuda()
    n, d = X.shape
    status = cuda.to_device(np.array([STOPPED, 0], dtype=np.int64))
    center = cuda.device_array(d + 1)
    weights = _weights_args(y, sample_weight)
    narrow = _moment_launch(n, d)
    if narrow is not None:
        launch, blocks, n_values = narrow
        launch(X, y, *weights, center, cuda.device_array((blocks, n_values)), status)
    else:
        launch, tiles, shape = _moment_tile_launch(n, d)
        launch(X, y, *weights, center, tiles, cuda.device_array(shape), status)
    cuda.synchronize()


# --- One fit ----------------------------------------------------------------------------------


class Run:
    """One fit's state on the GPU: the data, the parameters, the sums, the history, the status.

    A `backend.Run`: compile, evaluate (the loss at the starting point), statistics (the
    moments, on the device) and iterate (a block of steps), with the semantics of
    `iteration.steps` on the CPU.

    The constructor takes every backend's arguments: `threads` is the plan's count of CPU
    threads, unused on the GPU (whose threads per block `launch_config` chooses:
    `self.threads_per_block`).

    The small float64 state of the iterations lives in one device array, `self.state`, whose
    slices the kernels take as separate arguments:

        params (d + 1) | velocity (d + 1) | rule (gradient.rule_size(d)) | precondition (d + 1)
        | shift (d)

    so that the start of a block sends the settings in one copy (everything after params) and
    its end reads params and velocity back in one copy.

    The loss is fixed for the fit: `compile` writes its rule[LOSS] and rule[LOSS_PARAMETER]
    (its number and parameter, `losses.terms_by_code`) to the device, where the passes read
    them -- also
    `evaluate`'s, before `iterate` sends the rest of the rule.
    """

    def __init__(self, X, y, sample_weight, total_weight, threads):
        cuda = _numba_cuda()
        kernels = _kernels()
        # Host data is copied once here; device data (from check_device_data) is used in place.
        X, y, sample_weight = (
            a if a is None or is_device_array(a) else cuda.to_device(a)
            for a in (X, y, sample_weight)
        )
        n, d = X.shape
        self.n_values = n_sums(d)
        self.total_weight = float(total_weight)
        self.blocks, self.threads_per_block = launch_config(n, d)
        # Rows padded to whole cache lines (`cuda_kernels.partials_width`: the last block's reads)
        self.partials = cuda.device_array((self.blocks, kernels.partials_width(self.n_values)))
        self.device_sums = cuda.device_array(self.n_values)
        m, size = d + 1, rule_size(d)
        state = np.zeros(3 * m + size + d)
        self.state = cuda.to_device(state)
        self.params = self.state[:m]
        self.settings = self.state[m:]  # what `iterate` sends: velocity, rule, precondition, shift
        self.rule = self.state[2 * m : 2 * m + size]
        self.shift = self.state[3 * m + size :]
        self.status = cuda.to_device(np.zeros(kernels.STATUS_SIZE, dtype=np.int64))
        # The status code again, in host memory the device writes to: polled without a wait.
        self.flag = cuda.mapped_array(1, dtype=np.int64)
        self.flag[0] = RAN
        self.history: Any = None  # device-side loss history, allocated by compile()
        # The one-feature kernel takes x as (n,); the other, its tiles' layout.
        self.data = (X.reshape(n) if d == 1 else X, y, *_weights_args(y, sample_weight))
        self.layout = () if d == 1 else kernels.pass_layout(d, self.threads_per_block)
        self.moment_data = (X, y, sample_weight)
        self.moments = None
        shared = kernels.pass_shared_bytes(d, self.threads_per_block)
        self._pass = _configure(kernels.pass_kernel(d), self.blocks, self.threads_per_block, shared)
        self._step = _configure(kernels.step, 1, 1)

    @property
    def sums(self):
        """The partial sums of the last iterate evaluated (after `evaluate`: the starting
        point's), copied to the host: `fit` computes the Huber loss's starting gradient from
        them."""
        return self.device_sums.copy_to_host()

    def _launch_pass(self):
        """One iteration: the pass over the data, the sums, the check and the step."""
        self._pass(
            *self.data, self.state, self.partials, self.device_sums, self.history, self.status,
            self.flag, self.total_weight, *self.layout,
        )  # fmt: skip

    def _launch_step(self):
        self._step(self.device_sums, self.state, self.status, self.flag, self.total_weight)

    def _set_status(self, code, stop_at=0):
        """A new status: `code`, no iterate recorded yet, no block arrived."""
        self.status.copy_to_device(np.array([code, -1, 0, stop_at], dtype=np.int64))
        self.flag[0] = code

    def compile(self, b, w, settings, history, statistics=False):
        """Compile (or load from numba's cache) the kernels of the fit, and with `statistics`
        those of `statistics()`, now, so that the fit's timer measures the fit alone: each is
        launched once with the status STOPPED, so it returns at once. Also sends the fit's loss
        (settings.rule[LOSS_PARAMETER], rule[LOSS]: adjacent) to the device."""
        cuda = _numba_cuda()
        loss = np.ascontiguousarray(settings.rule[LOSS_PARAMETER : LOSS + 1], dtype=np.float64)
        self.rule[LOSS_PARAMETER : LOSS + 1].copy_to_device(loss)
        self.history = cuda.device_array(len(history))
        self._set_status(STOPPED)
        self._launch_pass()
        self._launch_step()
        if statistics:
            compile_device_moments(*self.moment_data)
        cuda.synchronize()

    def statistics(self):
        """The data's `moments.Moments` (for lr="auto"), computed on the device the first time."""
        if self.moments is None:
            self.moments = device_moments(*self.moment_data)
        return self.moments

    def evaluate(self, b, w, shift):
        """The loss at (b, w) (b: the intercept of the rows shifted by `shift`), which become the
        device-side parameters and shift; keeps its sums on the device for the first step."""
        self.params.copy_to_device(np.concatenate([[float(b)], w]).astype(np.float64))
        self.shift.copy_to_device(np.ascontiguousarray(shift, dtype=np.float64))
        self._set_status(RAN)
        self._launch_pass()  # iterate 0: its loss, no step
        return float(_value_at(self.history, 0))

    def iterate(self, b, w, k_start, k_stop, settings, history):
        """Step from iterate k_start to iterate k_stop on the device; return (status, k reached,
        b) with w and settings.velocity updated in place and history[k_start + 1 : k + 1]
        filled, like `iteration.steps` on the CPU.

        (b, w) is iterate k_start, whose parameters and sums are on the device already; the
        settings (velocity, rule, precondition, shift: a few values) are sent at the start of
        every block, and the velocity comes back at its end with the parameters.

        The history holds objectives: the loss plus `gradient.penalty`. The device adds the
        penalty to every iterate's loss after the start, but `evaluate` leaves the plain loss
        in the device's history[0] (it knows no penalty; `fit` adds it on the host). So the
        first block sends the host's history[0], the starting objective, which the first
        step's divergence check and every check with momentum compare against, as
        `iteration.steps` does. Later blocks start from a history[k_start] the device wrote
        itself (the host's copy of it is the same number) and need not send anything."""
        if k_start >= k_stop:  # nothing to do; the step below would move the parameters
            return RAN, k_stop, float(b)
        self.settings.copy_to_device(
            np.concatenate(
                (settings.velocity, settings.rule, settings.precondition, settings.shift)
            ).astype(np.float64, copy=False)
        )
        if k_start == 0:  # the starting objective, not evaluate's plain loss (see above)
            self.history[:1].copy_to_device(np.array(history[:1], dtype=np.float64))
        stop_at = _kernels().STOP_AT
        self.status[stop_at : stop_at + 1].copy_to_device(np.array([k_stop], dtype=np.int64))
        self._launch_step()  # from iterate k_start, whose sums are on the device
        for k in range(k_start + 1, k_stop + 1):
            self._launch_pass()  # iterate k, and the step from it unless k == k_stop
            # Launches only queue up; a fit that stopped on the device would leave the rest of
            # them to return at once, but there may be many: look now and then, at the flag
            # the device writes to host memory, without waiting for the queue to drain.
            poll = (k - k_start) % _config.CUDA_POLL_EVERY == 0 and k < k_stop
            if poll and self.flag[0] != RAN:
                break
        code, k_reached = (int(v) for v in self.status.copy_to_host()[:2])
        m = w.shape[0] + 1
        state = self.state[: 2 * m].copy_to_host()  # params, velocity
        # PARAMS_NOT_FINITE at iterate k: the last loss recorded is that of k - 1.
        last_loss = k_reached - 1 if code == PARAMS_NOT_FINITE else k_reached
        if last_loss > k_start:
            history[k_start + 1 : last_loss + 1] = self.history[
                k_start + 1 : last_loss + 1
            ].copy_to_host()
        w[:] = state[1:m]
        settings.velocity[:] = state[m:]
        return code, k_reached, float(state[0])


class Gram(gram.Run):
    """One fit by the gram method with the data on the GPU: the data's moments from two passes
    on the device (`device_moments`; the data never comes back to the host), then gram's
    iterations on the host, each O(d**2) (fastgd/gram.py): a (d + 1)-square matrix is too
    small to keep a GPU busy, and the host steps it without a launch per iteration.

    A `backend.Run`, with gram.Run's semantics; `threads` is unused, as in `Run`."""

    def __init__(self, X, y, sample_weight, total_weight, threads):
        cuda = _numba_cuda()
        # Host data is copied once here; device data (from check_device_data) is used in place.
        X, y, sample_weight = (
            a if a is None or is_device_array(a) else cuda.to_device(a)
            for a in (X, y, sample_weight)
        )
        super().__init__(X, y, sample_weight, total_weight, threads=1)

    def compile_moments(self):
        compile_device_moments(*self.data)

    def compute_moments(self):
        return device_moments(*self.data)
