"""The CUDA kernels of the CUDA backend (`fastgd/cuda.py` drives them).

This module imports numba.cuda at the top: import it only after checking that numba-cuda is
installed (fastgd/cuda.py does so, lazily, inside functions).

One iteration is one launch of the pass over the data, `partial_sums_one_feature` or
`partial_sums_many_features`:

1. Each block accumulates, in float64, the d + 2 partial sums defined in `fastgd/gradient.py`
   (sums[0] = sum s r**2, sums[1] = sum s r, sums[2 + j] = sum s r (X_j - h_j), with
   r = y - (c + (X - h) . w) and h the fit's `shift`: zeros for plain gradient descent, the
   columns' means when standardizing; for another loss, sums[0] = sum s l(r) and its gradient
   weight -l'(r) / 2 takes r's place in the others, `losses.terms_by_code` with the loss's
   number and parameter from the rule) -- the same sums the CPU kernel computes, from the same
   functions of fastgd/losses.py, tested against the same
   reference (tests/naive.py) -- over its rows, and writes them to its row of `partials`. One
   feature: a grid-stride loop, a thread per row. More: tiles of rows copied to shared memory
   with coalesced loads, a thread per row for the residuals, the threads split over the features
   for the gradient (no feature limit).
2. The last block to finish (`_finish_pass`: an integer atomic counter after a memory fence)
   adds the block rows up in a fixed order, writes the objective (the loss plus
   `gradient.penalty`) to the device-side history, checks it as `iteration.steps` does on the
   CPU -- `gradient.divergence_status` against the previous objective (plain gradient descent)
   or the starting one history[0] (with momentum), then `gradient.gradient_status` -- and,
   unless that stops the fit, takes the step of `gradient.apply_step` on the device-side
   parameters and velocity (`step` takes the first step of each block of iterations).

The fit's small float64 state -- params, velocity, `rule` (gradient.RULE_SIZE values: learning
rate, momentum, the loss's noise, the stopping rule, the penalty, the Huber loss's threshold),
`precondition` (d + 1 values, index 0 the intercept's) and `shift` (d values) -- is one device
array (`_state_views`), so a launch takes few arguments, and the same ones every iteration: the
iterate a pass computes is the device's own count (status[ITERATE] + 1). The step, the
finiteness check of the parameters, the stopping rule and the penalty are not restated here:
the kernels call `fastgd/gradient.py`'s own functions, compiled for the device from the same
Python source the CPU kernels inline (`_on_device`).

No floating-point atomics anywhere: for a given launch configuration the same input gives
bit-identical results (which block finishes last changes nothing: the rows are added in block
order). The device-side `status` array ([code, iterate, blocks arrived, stop at], codes from
`fastgd/_status.py`) tells later launches to do nothing once the fit has stopped, so the host
can queue launches without waiting for each one; a code that stops the fit is also written to
`flag`, host memory mapped for the device, which the host reads without waiting for the queue.

Device functions are declared inline="always": a kernel calling an ordinary device function
asks for the current device while compiling, which fails when compiling PTX without a GPU.
"""

import math
import types

from numba import cuda, float32, float64, int64
from numba.core.dispatcher import Dispatcher

from . import _cache

try:  # numba-cuda's cache, keyed on all of fastgd's sources (fastgd/_cache.py)
    from numba.cuda.core import caching as _cuda_caching
except ImportError:  # pragma: no cover - an older numba-cuda: numba's own stamps only
    pass
else:
    _cache.install(_cuda_caching.CacheImpl)
    _cache.install_race_free_files(_cuda_caching)

from . import gradient, losses
from ._status import PARAMS_NOT_FINITE, RAN
from .gradient import LOSS, LOSS_PARAMETER, MOMENTUM, NOISE, RULE_SIZE

# The device-side status, one int64 array: the code (`fastgd/_status.py`; RAN while the fit
# goes on), the iterate whose loss was recorded last (-1 before the starting point's), how many
# blocks of the running pass have finished (`_finish_pass`), and the iterate the current block
# of iterations stops at (no step is taken from it).
CODE, ITERATE, ARRIVED, STOP_AT = 0, 1, 2, 3
STATUS_SIZE = 4

# Rows per thread per trip of the one-feature grid-stride loop: independent loads in flight
# per thread, which a memory-bound pass needs to approach the device's bandwidth.
UNROLL = 4


@cuda.jit(device=True, inline="always")
def _block_tree_sum(acc, n_values, tid):
    """Add up acc[k * T : (k + 1) * T] into acc[k * T] for each k < n_values (T = block size,
    a power of two), as a tree in a fixed order. Every thread of the block must call it."""
    threads = cuda.blockDim.x
    stride = threads // 2
    while stride > 0:
        if tid < stride:
            for k in range(n_values):
                acc[k * threads + tid] += acc[k * threads + tid + stride]
        cuda.syncthreads()
        stride //= 2


@cuda.jit(device=True, inline="always")
def _write_block_row(acc, n_values, partials, tid):
    threads = cuda.blockDim.x
    for k in range(tid, n_values, threads):
        partials[cuda.blockIdx.x, k] = acc[k * threads]


_device_twins: dict = {}  # an njit function of gradient.py -> its device function


def _on_device(function):
    """A Python function (the `.py_func` of one of gradient.py's njit functions, or a plain one)
    compiled for the device too, inline like every device function here.

    The njit functions it calls (apply_step's and stationarity's `proximal_coefficient`,
    gradient_status's `stationarity`) are CPU dispatchers in their module's globals. The
    simulator would call them as such, on its stand-in arrays, which they cannot take; a real
    compile would retarget them itself, with their CPU options (fastmath). So `function` is
    compiled from a copy whose globals name their device twins instead, made here in the same
    way: the same code, on the simulator and in PTX alike."""
    twins = {
        name: _device_twin(value)
        for name in function.__code__.co_names
        if isinstance(value := function.__globals__.get(name), Dispatcher)
    }
    if twins:
        rebound = types.FunctionType(
            function.__code__,
            {**function.__globals__, **twins},
            function.__name__,
            function.__defaults__,
            function.__closure__,
        )
        rebound.__qualname__ = function.__qualname__
        rebound.__doc__ = function.__doc__
        function = rebound
    return cuda.jit(device=True, inline="always")(function)


def _device_twin(dispatcher):
    """The device function of an njit function (one per function, shared by its callers)."""
    if dispatcher not in _device_twins:
        _device_twins[dispatcher] = _on_device(dispatcher.py_func)
    return _device_twins[dispatcher]


_apply_step = _on_device(gradient.apply_step.py_func)
_all_finite = _on_device(gradient.all_finite.py_func)
_divergence_status = _on_device(gradient.divergence_status.py_func)
_gradient_status = _on_device(gradient.gradient_status.py_func)
_penalty = _on_device(gradient.penalty.py_func)
_n_sums = _on_device(gradient.n_sums)


@cuda.jit(device=True, inline="always")
def _state_views(state, d):
    """The slices of the fit's state array (`cuda.Run.state`): params [c, w_0..w_{d-1}],
    velocity (d + 1), rule (`gradient.rule_size(d)`: RULE_SIZE, then 3 d), precondition (d + 1),
    shift (d). One kernel argument for all of them: a launch's cost on the host grows with its
    arguments."""
    m = d + 1
    size = RULE_SIZE + 3 * d
    params = state[:m]
    velocity = state[m : 2 * m]
    rule = state[2 * m : 2 * m + size]
    precondition = state[2 * m + size : 3 * m + size]
    shift = state[3 * m + size : 3 * m + size + d]
    return params, velocity, rule, precondition, shift


@cuda.jit(device=True, inline="always")
def _step_params(sums, state, status, k_next, total_weight):
    """params and velocity take `gradient.apply_step` (w: a view of params[1:]); a non-finite
    result (`gradient.all_finite`) stops the fit with PARAMS_NOT_FINITE at iterate k_next."""
    params, velocity, rule, precondition, _ = _state_views(state, sums.shape[0] - 2)
    w = params[1:]
    b = _apply_step(sums, total_weight, rule, params[0], w, precondition, velocity)
    params[0] = b
    if not _all_finite(b, w):
        status[CODE] = PARAMS_NOT_FINITE
        status[ITERATE] = k_next


@cuda.jit(device=True, inline="always")
def _check_and_step(sums, history, status, flag, state, total_weight):
    """One thread, once the sums of iterate k_new = status[ITERATE] + 1 are complete: record its
    objective (the loss plus `gradient.penalty`) in history[k_new], check it as
    `iteration.steps` does on the CPU -- `gradient.divergence_status` against history[k_new - 1]
    (plain gradient descent) or the starting one history[0] (with momentum), then
    `gradient.gradient_status` -- and, unless that stops the fit, step to iterate k_new + 1
    when k_new < status[STOP_AT].

    At k_new = 0 (the starting point, `Run.evaluate`) history[0] gets the plain loss, only its
    finiteness is checked, and the rule, precondition and velocity are not read: `Run.iterate`
    replaces history[0] with the host's objective before the first step. A code that stops the
    fit is also written to `flag` (host memory the host reads without waiting on the GPU)."""
    params, _, rule, precondition, _ = _state_views(state, sums.shape[0] - 2)
    k_new = status[ITERATE] + 1
    loss = sums[0] / total_weight
    if k_new > 0:  # the objective, as `iteration.steps` records it (iterate k_new's parameters)
        loss += _penalty(rule, params[1:], precondition)
    history[k_new] = loss
    status[ITERATE] = k_new
    if k_new > 0:
        reference = history[k_new - 1] if rule[MOMENTUM] == 0.0 else history[0]
        code = _divergence_status(reference, loss, rule[NOISE])
        if code == RAN:
            code = _gradient_status(sums, total_weight, rule, params[0], params[1:], precondition)
    else:  # the starting point: compared with itself, only its finiteness counts
        code = _divergence_status(loss, loss, 0.0)
    if code != RAN:
        status[CODE] = code
    elif k_new < status[STOP_AT]:
        _step_params(sums, state, status, k_new + 1, total_weight)
    if status[CODE] != RAN:
        flag[0] = status[CODE]
        cuda.threadfence_system()  # the host polls `flag` in its own memory: publish it now


@cuda.jit(device=True, inline="always")
def _finish_pass(partials, sums, history, status, flag, state, total_weight, tid):
    """Every block calls this once its row of `partials` is written. The last block to finish
    adds the rows up in a fixed order (block 0 first: the result does not depend on which block
    is last) and takes the step (`_check_and_step`): the whole iteration in one launch.

    Each block's writes are fenced before it counts itself in status[ARRIVED] (an integer
    atomic), and the last block fences again before it reads, so it sees every row."""
    last = cuda.shared.array(1, int64)
    cuda.threadfence()
    cuda.syncthreads()
    if tid == 0:
        last[0] = cuda.atomic.add(status, ARRIVED, 1) == cuda.gridDim.x - 1
    cuda.syncthreads()
    if last[0] == 0:
        return
    # Acquire: the other blocks' rows are read after the count that says they are complete.
    # None of their cache lines can be stale in this block's L1: a block loads from its own row
    # alone before this point, and rows are padded to whole cache lines (`partials_width`).
    cuda.threadfence()
    n_blocks = partials.shape[0]
    n_values = sums.shape[0]
    for k in range(tid, n_values, cuda.blockDim.x):
        total = 0.0
        for c in range(n_blocks):
            total += partials[c, k]
        sums[k] = total
    cuda.syncthreads()  # the block's writes to sums are visible to its thread 0
    if tid == 0:
        status[ARRIVED] = 0  # for the next pass
        _check_and_step(sums, history, status, flag, state, total_weight)


# The loss's row terms: `losses.terms_by_code`'s own source, compiled for the device (the
# loss's number and parameter are read from the rule at run time; one branch per row, the same
# in every thread).
_terms_by_code = _on_device(losses.terms_by_code.py_func)


@cuda.jit(device=True, inline="always")
def _add_row(data, row, s_rr, s_r, s_rx):
    """The one-feature sums (s_rr, s_r, s_rx) with row `row` of data = (x, y, sample_weight,
    weighted, b, w, h, loss, parameter) added; the same arithmetic as `gradient.partial_sums`
    (x - h is exact for h = 0, so plain gradient descent gives the lecture's numbers)."""
    x, y, sample_weight, weighted, b, w, h, loss, parameter = data
    z = x[row] - h
    r = y[row] - (z * w + b)
    value, ss = _terms_by_code(loss, parameter, y[row], r, sample_weight[row] if weighted else 1.0)
    return s_rr + value, s_r + ss, s_rx + ss * z


@cuda.jit(cache=True)
def partial_sums_one_feature(x, y, sample_weight, weighted, state, partials, sums, history,
                             status, flag, total_weight):  # fmt: skip
    """One iteration for one feature: the block sums [sum s r^2, sum s r, sum s r (x - h)],
    h = shift[0] (another loss's terms in their place, `losses.terms_by_code`), into this
    block's row of `partials`; then the last block adds them up and steps (`_finish_pass`).
    x and y are (n,).

    sample_weight is read only when `weighted` is nonzero (kernels cannot take None: pass any
    array of the data's dtype otherwise). Dynamic shared memory: `pass_shared_bytes`.
    """
    if status[CODE] != RAN:
        return
    acc = cuda.shared.array(0, float64)
    tid = cuda.threadIdx.x
    threads = cuda.blockDim.x
    params, _, rule, _, shift = _state_views(state, 1)
    b = params[0]
    w = params[1]
    h = shift[0]
    n = x.shape[0]
    stride = cuda.gridsize(1)
    s_rr = 0.0
    s_r = 0.0
    s_rx = 0.0
    i = cuda.grid(1)
    data = (x, y, sample_weight, weighted, b, w, h, rule[LOSS], rule[LOSS_PARAMETER])
    # The unrolled trips first (loads of UNROLL rows issued together), then the remainder.
    while i + (UNROLL - 1) * stride < n:
        for u in range(UNROLL):
            s_rr, s_r, s_rx = _add_row(data, i + u * stride, s_rr, s_r, s_rx)
        i += UNROLL * stride
    while i < n:
        s_rr, s_r, s_rx = _add_row(data, i, s_rr, s_r, s_rx)
        i += stride
    acc[tid] = s_rr
    acc[threads + tid] = s_r
    acc[2 * threads + tid] = s_rx
    cuda.syncthreads()
    _block_tree_sum(acc, 3, tid)
    _write_block_row(acc, 3, partials, tid)
    _finish_pass(partials, sums, history, status, flag, state, total_weight, tid)


@cuda.jit(cache=True)
def partial_sums_many_features(X, y, sample_weight, weighted, state, partials, sums, history,
                               status, flag, total_weight, tile_rows, staged):  # fmt: skip
    """One iteration for X of shape (n, d), d > 1: the block sums (d + 2 of them, rows shifted
    by the shift) into this block's row of `partials`, then `_finish_pass`.

    The block walks tiles of `tile_rows` rows (at most one per thread). With `staged`, the
    threads first copy the tile into shared memory together, consecutive threads reading
    consecutive values of X (coalesced, each value read once); a tile's rows are contiguous in
    a C-contiguous X. Then each thread takes one row's residual, and the gradient's sums
    sum_r slope_r z_rj are split over the threads: for d <= threads, thread (g, j) =
    divmod(tid, d) adds rows g, g + G, ... of each tile (G = threads // d groups) in a register,
    and the groups are added up at the end; for wider data thread tid owns features tid,
    tid + threads, ... and adds each tile's sums into the block's row of partials. Without
    `staged` (rows too wide for one to fit in shared memory) the same, reading X directly: slower,
    but no feature limit. Dynamic shared memory: `pass_shared_bytes` (see `pass_layout`).
    """
    if status[CODE] != RAN:
        return
    shared = cuda.shared.array(0, float64)
    tid = cuda.threadIdx.x
    threads = cuda.blockDim.x
    block = cuda.blockIdx.x
    n, d = X.shape
    params, _, rule, _, shift = _state_views(state, d)
    loss, parameter = rule[LOSS], rule[LOSS_PARAMETER]
    b = params[0]
    width = d | 1  # an odd stride between staged rows: a thread per row hits distinct banks
    sums_area = shared[: 2 * threads]
    slopes = shared[2 * threads : 2 * threads + tile_rows]
    tile = shared[2 * threads + tile_rows :]
    narrow = d <= threads
    groups = threads // d if narrow else 1
    group = tid // d if narrow else 0
    column = tid % d if narrow else tid
    if not narrow:
        for j in range(tid, d, threads):
            partials[block, 2 + j] = 0.0
    s_rr = 0.0
    s_r = 0.0
    s_rz = 0.0  # thread (group, column)'s share of sum s r (X_j - h_j), for narrow data
    # Staging: thread tid copies the tile's values f = tid, tid + threads, ..., value f at
    # (row, feature) = divmod(f, d). Advanced by divmod(threads, d) at each value rather than
    # divided: a 64-bit division per staged value could make a narrow float32 pass
    # compute-bound (issue 25).
    first_row, first_feature = tid // d, tid % d
    rows_step, features_step = threads // d, threads % d
    for start in range(block * tile_rows, n, cuda.gridDim.x * tile_rows):
        rows = min(tile_rows, n - start)
        if staged:
            r, j = first_row, first_feature
            while r < rows:
                tile[r * width + j] = X[start + r, j] - shift[j]
                r += rows_step
                j += features_step
                if j >= d:
                    j -= d
                    r += 1
            cuda.syncthreads()
        if tid < rows:
            i = start + tid
            prediction = b
            for j in range(d):
                z = tile[tid * width + j] if staged else X[i, j] - shift[j]
                prediction += z * params[1 + j]
            s = sample_weight[i] if weighted else 1.0
            value, ss = _terms_by_code(loss, parameter, y[i], y[i] - prediction, s)
            s_rr += value
            s_r += ss
            slopes[tid] = ss
        cuda.syncthreads()
        if narrow:
            if group < groups:
                for r in range(group, rows, groups):
                    z = tile[r * width + column] if staged else X[start + r, column] - shift[column]
                    s_rz += slopes[r] * z
        else:
            for j in range(tid, d, threads):
                total = 0.0
                for r in range(rows):
                    z = tile[r * width + j] if staged else X[start + r, j] - shift[j]
                    total += slopes[r] * z
                partials[block, 2 + j] += total
        cuda.syncthreads()  # before the next tile overwrites the slopes and the tile
    sums_area[tid] = s_rr
    sums_area[threads + tid] = s_r
    cuda.syncthreads()
    _block_tree_sum(sums_area, 2, tid)
    if tid == 0:
        partials[block, 0] = sums_area[0]
        partials[block, 1] = sums_area[threads]
    cuda.syncthreads()
    if narrow:  # the groups' shares, added up per feature in group order
        sums_area[tid] = s_rz
        cuda.syncthreads()
        for j in range(tid, d, threads):
            total = 0.0
            for g in range(groups):
                total += sums_area[g * d + j]
            partials[block, 2 + j] = total
    _finish_pass(partials, sums, history, status, flag, state, total_weight, tid)


@cuda.jit(cache=True)
def step(sums, state, status, flag, total_weight):
    """One thread: the step from the iterate whose sums are `sums` (status[ITERATE]) to the next
    (the first step of a block of iterations; later ones are taken by the passes)."""
    if status[CODE] != RAN or cuda.grid(1) != 0:
        return
    _step_params(sums, state, status, status[ITERATE] + 1, total_weight)
    if status[CODE] != RAN:
        flag[0] = status[CODE]
        cuda.threadfence_system()  # the host polls `flag` in its own memory: publish it now


@cuda.jit(cache=True)
def first_bad_value(values, negative_too, first):
    """first[0] = min(first[0], the smallest index i with values[i] NaN or +-inf, or also < 0
    when `negative_too`). values is 1-D; first[0] starts at len(values). Only integer atomics:
    the result does not depend on the order in which threads finish."""
    for i in range(cuda.grid(1), values.shape[0], cuda.gridsize(1)):
        value = values[i]
        if not math.isfinite(value) or (negative_too and value < 0):
            cuda.atomic.min(first, 0, i)
            return


@cuda.jit(cache=True)
def block_totals(values, partials):
    """partials[block] = the sum, in float64, of the values this block's threads walk over
    (the total sample weight, added up on the host in block order). Dynamic shared memory:
    `totals_shared_bytes`."""
    acc = cuda.shared.array(0, float64)
    tid = cuda.threadIdx.x
    total = 0.0
    for i in range(cuda.grid(1), values.shape[0], cuda.gridsize(1)):
        total += values[i]
    acc[tid] = total
    cuda.syncthreads()
    _block_tree_sum(acc, 1, tid)
    if tid == 0:
        partials[cuda.blockIdx.x] = acc[0]


def n_moment_sums(n_features):
    """Length of a `moment_sums` row: S, the d + 1 first-order sums, the packed upper triangle
    of the (d + 1)-square second-order sums."""
    m = n_features + 1
    return 1 + m + m * (m + 1) // 2


_n_moment_sums = _on_device(n_moment_sums)


@cuda.jit(cache=True)
def moment_sums(X, y, sample_weight, weighted, center, partials, status):
    """Block sums for the data's moments (`moments.Moments`), about `center` (d + 1 values): with
    z_i = (X_i, y_i) and s_i the weight, [sum s, sum s (z - c)_j for each j, sum s (z - c)_j
    (z - c)_k for j <= k]. Run about 0 for the means, then about the means for the centred
    products (fastgd/cuda.py). Dynamic shared memory: `moment_shared_bytes`.
    """
    if status[0] != RAN:
        return
    acc = cuda.shared.array(0, float64)
    tid = cuda.threadIdx.x
    threads = cuda.blockDim.x
    n, d = X.shape
    m = d + 1
    n_values = _n_moment_sums(d)
    for k in range(n_values):
        acc[k * threads + tid] = 0.0
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        s = sample_weight[i] * 1.0 if weighted else 1.0
        acc[tid] += s
        p = 1 + m
        for j in range(m):
            z_j = (X[i, j] if j < d else y[i]) - center[j]
            acc[(1 + j) * threads + tid] += s * z_j
            for k in range(j, m):
                z_k = (X[i, k] if k < d else y[i]) - center[k]
                acc[p * threads + tid] += s * z_j * z_k
                p += 1
    cuda.syncthreads()
    _block_tree_sum(acc, n_values, tid)
    _write_block_row(acc, n_values, partials, tid)


@cuda.jit(device=True, inline="always")
def _augmented(X, y, center, i, column):
    """Column `column` of row i of the augmented data (1, X_i - c_X, y_i - c_y) (d + 2 values,
    c = center), and 0 beyond it (the padding of the last tiles)."""
    d = X.shape[1]
    if column == 0:
        return 1.0
    if column <= d:
        return X[i, column - 1] - center[column - 1]
    if column == d + 1:
        return y[i] - center[d]
    return 0.0


@cuda.jit(cache=True)
def moment_tiles(X, y, sample_weight, weighted, center, tiles, partials, status):
    """The sums of `moment_sums` for data of any width, as one matrix: A = sum_i s_i a_i a_i^T
    over the augmented rows a_i (`_augmented`), whose first row holds S and the first-order
    sums, and the rest the products.

    Block (t, chunk) adds up, over chunk blockIdx.y of the rows (gridDim.y contiguous chunks),
    the T x T tile t = blockIdx.x of A whose tile row and column are tiles[t] (I <= J): the
    tiles on the grid's x dimension, which has room for 2**31 - 1 of them (y and z have
    65 535, passed at d = 5 775 with T = 16), the chunks on y. T * T threads a block, thread
    a * T + b owning entry (a, b): partials[chunk, t, a * T + b] =
    A[I T + a, J T + b]. The rows go through shared memory T at a time, each thread loading
    one value of each side. Slower than `moment_sums` for narrow data (most threads of a tile
    pad), but with no feature limit. Dynamic shared memory: `moment_tile_shared_bytes`."""
    if status[0] != RAN:
        return
    shared = cuda.shared.array(0, float64)
    tid = cuda.threadIdx.x
    width = 1
    while width * width < cuda.blockDim.x:
        width *= 2
    row, col = tid // width, tid % width
    tile, chunk, chunks = cuda.blockIdx.x, cuda.blockIdx.y, cuda.gridDim.y
    first_i = tiles[tile, 0] * width
    first_j = tiles[tile, 1] * width
    left = shared[: width * width]
    right = shared[width * width : 2 * width * width]
    n = X.shape[0]
    start = chunk * n // chunks
    stop = (chunk + 1) * n // chunks
    total = 0.0
    for base in range(start, stop, width):
        i = base + row  # this thread loads row i's values in column col of both sides
        if i < stop:
            s = sample_weight[i] * 1.0 if weighted else 1.0
            left[tid] = s * _augmented(X, y, center, i, first_i + col)
            right[tid] = _augmented(X, y, center, i, first_j + col)
        else:
            left[tid] = 0.0
            right[tid] = 0.0
        cuda.syncthreads()
        for r in range(width):
            total += left[r * width + row] * right[r * width + col]
        cuda.syncthreads()
    partials[chunk, tile, tid] = total


# --- Dynamic shared memory: the bytes a block of `threads` threads needs ----------------------
#
# The kernels above that use shared memory keep float64 values in it, sized at launch:
# fastgd/cuda.py sizes every launch, and the widest data each kernel takes, with these functions.

FLOAT64_BYTES = 8
# Shared memory a block may use without opting in to more, on every GPU numba-cuda supports:
# static and dynamic arrays together (cuLaunchKernel refuses a launch above it).
SHARED_MEMORY_BYTES = 48 * 1024
# The kernels' static shared arrays (`_finish_pass`'s flag: 8 bytes, 16 in the PTX), reserved out
# of SHARED_MEMORY_BYTES; the dynamic arrays get the rest. tests/test_cuda_launch.py reads every
# kernel's .shared declarations from its PTX and checks that they fit in the reserve.
STATIC_SHARED_BYTES = 64
DYNAMIC_SHARED_BYTES = SHARED_MEMORY_BYTES - STATIC_SHARED_BYTES
# A cache line: rows of a pass's `partials` are padded to whole lines (`partials_width`).
CACHE_LINE_VALUES = 128 // FLOAT64_BYTES


def pass_kernel(n_features):
    """The kernel of the pass over data with this many features."""
    return partial_sums_one_feature if n_features == 1 else partial_sums_many_features


def pass_layout(n_features, threads):
    """(tile_rows, staged) of `partial_sums_many_features` for blocks of `threads` threads:
    tiles of as many rows as threads when they fit in shared memory (after the 2 * threads
    values for the block's sums and a slope per row), fewer for wide rows, and unstaged tiles
    of `threads` rows read from X directly where not even one row fits."""
    free = DYNAMIC_SHARED_BYTES // FLOAT64_BYTES - 2 * threads
    rows = min(threads, free // ((n_features | 1) + 1))
    return (rows, 1) if rows >= 1 else (threads, 0)


def pass_shared_bytes(n_features, threads):
    """`pass_kernel(n_features)`'s: 3 values per thread for one feature; for more, 2 per thread,
    then a slope per tile row and the staged tile (`pass_layout`). Never more than
    DYNAMIC_SHARED_BYTES: the pass has no feature limit."""
    if n_features == 1:
        return FLOAT64_BYTES * 3 * threads
    rows, staged = pass_layout(n_features, threads)
    return FLOAT64_BYTES * (2 * threads + rows + (rows * (n_features | 1) if staged else 0))


def partials_width(n_values):
    """Values per row of a pass's `partials` for `n_values` sums: padded to whole cache lines,
    so that a block that adds into its own row in global memory (the wide pass) never pulls
    another block's values into its L1, where the last block could read them stale."""
    return -(-n_values // CACHE_LINE_VALUES) * CACHE_LINE_VALUES


def totals_shared_bytes(threads):
    """`block_totals`'s: one value per thread."""
    return FLOAT64_BYTES * threads


def moment_shared_bytes(n_features, threads):
    """`moment_sums`'s: the n_moment_sums(d) values of each thread."""
    return FLOAT64_BYTES * n_moment_sums(n_features) * threads


def moment_tile_width(threads):
    """T of `moment_tiles` for blocks of at most `threads` threads (a power of two): the largest
    power of two whose square fits."""
    width = 1
    while 4 * width * width <= threads:
        width *= 2
    return width


def moment_tile_shared_bytes(width):
    """`moment_tiles`'s: both sides of a T x T stage of rows."""
    return FLOAT64_BYTES * 2 * width * width


def ptx_signatures():
    """(kernel, signature) for every kernel and data dtype, for compiling PTX ahead of time in
    the tests (the same types the backend launches them with: C-contiguous arrays; `flag` is
    host memory mapped for the device, an int64 array to the kernels)."""
    signatures = []
    flags = int64[::1]
    vector = float64[::1]
    table = float64[:, ::1]
    for real in (float32, float64):
        data1 = real[::1]
        iteration = (vector, table, vector, vector, flags, flags, float64)
        signatures += [
            (partial_sums_one_feature, (data1, data1, data1, int64, *iteration)),
            (partial_sums_many_features,
             (real[:, ::1], data1, data1, int64, *iteration, int64, int64)),
            (first_bad_value, (data1, int64, flags)),
            (block_totals, (data1, float64[::1])),
            (moment_sums, (real[:, ::1], data1, data1, int64, float64[::1], table, flags)),
            (moment_tiles,
             (real[:, ::1], data1, data1, int64, vector, int64[:, ::1], float64[:, :, ::1],
              flags)),
        ]  # fmt: skip
    signatures.append((step, (vector, vector, flags, flags, float64)))
    return signatures
