"""The math of one gradient-descent step, defined once for every backend.

For data X (n, d), targets y (n,), sample weights s (all ones when not given), a *shift* h (d,)
and parameters (c, w), the residual of row i is

    r_i = y_i - (c + (X_i - h) . w).

With h = 0 (plain gradient descent, the lecture's) c is the intercept b. With h the columns'
means (`standardize=True`, fastgd/coordinates.py) c is the *centred* intercept, b = c - h . w:
the same model, the same residuals and loss, but a Hessian that no longer couples the intercept
to the slopes. Every backend reduces the data to the same d + 2 *partial sums* over its rows:

    sums[0]      = sum_i s_i r_i**2
    sums[1]      = sum_i s_i r_i
    sums[2 + j]  = sum_i s_i r_i (X_ij - h_j)

Partial sums over disjoint row ranges simply add up. With S = sum_i s_i, the loss of the lecture
(the weighted mean squared error) and its gradient are

    loss = sums[0] / S,   dloss/dc = -2 sums[1] / S,   dloss/dw_j = -2 sums[2 + j] / S.

One step (`apply_step`) with learning rate lr, a diagonal *preconditioner* p (d + 1 values: p[0]
for c, p[1 + j] for w_j; all ones for plain gradient descent, 1 / var(X_j) when standardizing, 0
for a parameter that does not move) and Nesterov's momentum m (0: plain gradient descent) is

    delta_j = 2 lr p_j sums[1 + j] / S        (a step against the preconditioned gradient)
    v_j     = m v_j + delta_j                 (v: the velocity, zero at the start)
    theta_j = theta_j + delta_j + m v_j       (theta = (c, w))

Nesterov's method in Sutskever's form: theta is the look-ahead point where the gradient is taken,
and for m = 0 this is exactly the lecture's update. With lr <= 1 / L (L the largest curvature,
fastgd/curvature.py) no component of the error ever grows above its start, so the loss at every
iterate stays below the starting loss (`divergence_status`); without momentum it even decreases at
every step.

`partial_sums` computes the sums on the CPU. The CPU backend calls it on each thread's block of
rows and the Dask backend on each chunk; the CUDA kernel computes the same sums per thread and
block. All are tested against the same slow reference in tests/naive.py.

Accumulation is always in float64, also for float32 data.

Most kernels here are inline="always": each backend's compiled entry point contains them
whole. The exceptions are the layout loops (`_layout_loop`, `_target_layout_loop`), a k-target
row's finish (`_finish_row`), `add_products`, and the per-step functions `apply_step`, `penalty` and
`stationarity`, which numba would compile again at every call site (see the comment above the
entry points in fastgd/cpu.py, and docs/determinism.md on what that means for the last bits).
Called, they compile once per process and are shared by every kernel and by the host-side
calls of fit and stopping: a first fit compiled 0.5-1 s less, and a step was measured no
slower (gram, d = 1: 52-55 ns against 59 ns inlined). `n_sums`, `apply_step`, `all_finite`,
`divergence_status` and `gradient_status` also run on the GPU: fastgd/cuda_kernels.py compiles
their Python source (`.py_func`) as CUDA device functions, so they keep to what numba-cuda
compiles too (scalars, `math`, indexing of arrays and their slices).
"""

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

from ._config import FASTMATH
from ._prefetch import prefetch, prefetch_to_l2
from ._status import CONVERGED, LOSS_INCREASED, LOSS_NOT_FINITE, RAN
from ._vector import LANES, load, splat, store
from .losses import row_terms, vector_terms
from .penalties import coefficient_penalty, proximal_coefficient, unpenalized

# The per-fit constants of a step and of the stopping rule, packed in one float64 array
# (`rule`) so that every backend -- and every kernel launch -- passes them as one argument:
# RULE_SIZE numbers, then three runs of d values, one per coefficient (`rule_size`).
LR = 0  # the learning rate
MOMENTUM = 1  # Nesterov's momentum m in [0, 1); 0: plain gradient descent
NOISE = 2  # the loss's rounding: a rise smaller than this is not divergence
SLOPE = 3  # converged when |preconditioned gradient| <= SLOPE |theta|_p + OFFSET
OFFSET = 4  # (`gradient_status`; negative: never)
L2 = 5  # the penalty's strengths (fastgd/penalties.py): c_j ((l2/2) u_j^2 + l1 |u_j|) on the
L1 = 6  # coefficients u_j = w_j / sqrt(p_j) (`penalty`; never on the intercept)
LOSS_PARAMETER = 7  # the loss's parameter (the Huber loss's threshold; fastgd/losses.py)
LOSS = 8  # the loss's number, its place in losses.LOSSES (the GPU kernels' `terms_by_code`)
BOUNDED = 9  # 1: some coefficient has a finite bound (a projection, `apply_step`); 0: none
RULE_SIZE = 10
# Then, per coefficient j: its penalty weight c_j at rule[RULE_SIZE + j], its lower bound at
# rule[RULE_SIZE + d + j] and its upper bound at rule[RULE_SIZE + 2 d + j] (in w's units).
WEIGHTS, LOWER, UPPER = 0, 1, 2


def rule_size(n_features):
    """The length of a fit's `rule` for `n_features` coefficients."""
    return RULE_SIZE + 3 * n_features


def make_rule(
    lr, n_features, momentum=0.0, noise=0.0, slope=0.0, offset=-1.0, loss=None, penalty=None,
):  # fmt: skip
    """A `rule` array (the per-fit constants above); by default: plain steps, no tolerance, the
    squared error (a `losses` type otherwise), no penalty (a `penalties.Penalty` otherwise)."""
    rule = np.zeros(rule_size(n_features))
    if loss is not None:
        rule[LOSS], rule[LOSS_PARAMETER] = loss.code, loss.parameter
    rule[LR], rule[MOMENTUM], rule[NOISE], rule[SLOPE], rule[OFFSET] = (
        lr, momentum, noise, slope, offset
    )  # fmt: skip
    write_penalty(rule, unpenalized(n_features) if penalty is None else penalty)
    return rule


def write_penalty(rule, penalty):
    """Write a `penalties.Penalty` into `rule` (one target's, or every row of (k, size))."""
    d = penalty.weights.shape[0]
    rule[..., L2], rule[..., L1] = penalty.l2, penalty.l1
    rule[..., BOUNDED] = 1.0 if penalty.bounded else 0.0
    for run, values in ((WEIGHTS, penalty.weights), (LOWER, penalty.lower), (UPPER, penalty.upper)):
        rule[..., RULE_SIZE + run * d : RULE_SIZE + (run + 1) * d] = values


def n_sums(n_features):
    """Length of the partial-sums vector for data with `n_features` columns."""
    return n_features + 2


@njit(fastmath=FASTMATH, cache=True, inline="always")
def _sums_one_feature(x, y, sample_weight, b, w, h, loss, out):
    # Kept as one loop over a 1-D slice starting at 0 so that LLVM vectorizes it: with a loop
    # starting at a runtime offset, numba's negative-index handling blocks vectorization (10x).
    # x - h is exact for h = 0, so plain gradient descent gives the lecture's numbers.
    s_rr = 0.0
    s_r = 0.0
    s_rx = 0.0
    for i in range(x.shape[0]):
        z = x[i] - h
        s = 1.0 if sample_weight is None else sample_weight[i]
        value, g = row_terms(loss, y[i], y[i] - (z * w + b), s)
        s_rr += value
        s_r += g
        s_rx += g * z
    out[0] = s_rr
    out[1] = s_r
    out[2] = s_rx


@njit(fastmath=FASTMATH, cache=True, inline="always")
def _sums_many_features(X, y, sample_weight, b, w, shift, loss, out):
    # Four rows per sweep over the features: each sweep's loads of w (and of the running sums
    # acc, the gradient's) serve four rows, and the four dot products run side by side. One row
    # per sweep spends as long on acc's loads and stores as on the data (issue 15: twice the
    # time of a plain read at d >= 8); with four the loop keeps up with memory at d >= 4 in
    # float64. The sweeps over j vectorize when d is at least the vector width.
    n, d = X.shape
    acc = np.zeros(d)
    s_rr = 0.0
    s_r = 0.0
    n4 = n - n % 4
    for i in range(0, n4, 4):
        x0, x1, x2, x3 = X[i], X[i + 1], X[i + 2], X[i + 3]
        p0 = p1 = p2 = p3 = b
        for j in range(d):
            h = 0.0 if shift is None else shift[j]
            wj = w[j]
            p0 += (x0[j] - h) * wj
            p1 += (x1[j] - h) * wj
            p2 += (x2[j] - h) * wj
            p3 += (x3[j] - h) * wj
        s0 = 1.0 if sample_weight is None else sample_weight[i]
        s1 = 1.0 if sample_weight is None else sample_weight[i + 1]
        s2 = 1.0 if sample_weight is None else sample_weight[i + 2]
        s3 = 1.0 if sample_weight is None else sample_weight[i + 3]
        v0, g0 = row_terms(loss, y[i], y[i] - p0, s0)
        v1, g1 = row_terms(loss, y[i + 1], y[i + 1] - p1, s1)
        v2, g2 = row_terms(loss, y[i + 2], y[i + 2] - p2, s2)
        v3, g3 = row_terms(loss, y[i + 3], y[i + 3] - p3, s3)
        s_rr += (v0 + v1) + (v2 + v3)
        s_r += (g0 + g1) + (g2 + g3)
        for j in range(d):
            h = 0.0 if shift is None else shift[j]
            acc[j] += (g0 * (x0[j] - h) + g1 * (x1[j] - h)) + (g2 * (x2[j] - h) + g3 * (x3[j] - h))
    for i in range(n4, n):
        x = X[i]
        p = b
        for j in range(d):
            p += (x[j] if shift is None else x[j] - shift[j]) * w[j]
        s = 1.0 if sample_weight is None else sample_weight[i]
        value, g = row_terms(loss, y[i], y[i] - p, s)
        s_rr += value
        s_r += g
        for j in range(d):
            acc[j] += g * (x[j] if shift is None else x[j] - shift[j])
    out[0] = s_rr
    out[1] = s_r
    for j in range(d):  # not out[2:] = acc, whose shape check compiles for seconds
        out[2 + j] = acc[j]


@njit(fastmath=FASTMATH, cache=True, inline="always")
def _sums_fixed_width(X, y, sample_weight, b, w, shift, loss, out, width):
    # The number of features is len(width), a tuple's length: a constant when this compiles, so
    # LLVM unrolls the loops over j and vectorizes over the rows, loading X's interleaved
    # columns with shuffles. With a runtime d the loops over j, shorter than a vector, stay
    # scalar: at d = 2 that is 4x slower than reading the data (issue 15).
    d = len(width)
    n = X.shape[0]
    flat = X.reshape(n * d)
    s_rr = 0.0
    s_r = 0.0
    acc = np.zeros(d)
    for i in range(n):
        p = b
        for j in range(d):
            p += (flat[d * i + j] if shift is None else flat[d * i + j] - shift[j]) * w[j]
        s = 1.0 if sample_weight is None else sample_weight[i]
        value, g = row_terms(loss, y[i], y[i] - p, s)
        s_rr += value
        s_r += g
        for j in range(d):
            acc[j] += g * (flat[d * i + j] if shift is None else flat[d * i + j] - shift[j])
    out[0] = s_rr
    out[1] = s_r
    for j in range(d):
        out[2 + j] = acc[j]


def kernel_width(n_features):
    """`partial_sums`'s `width` argument for data with `n_features` columns: a tuple of that
    length for one or two features (its length is a constant when the loop compiles), else
    None."""
    return (0,) * n_features if n_features <= 2 else None


def _sums_of_layout(X, y, sample_weight, b, w, shift, loss, width, out):
    """`partial_sums`'s loop for the layout that `width`'s type selects (`_layout_loop`)."""
    raise NotImplementedError("compiled code only: see _layout_loop")


# The layout is chosen when this compiles, by `width`'s type, so that an entry point holds only
# the loop it runs. A runtime branch on d (or an inline="always" function branching on
# `width is None`) makes numba inline all three loops into every entry point before it prunes
# two of them: a fit's first compile took 10 s instead of 3 (docs/benchmarks.md). The loop is
# compiled once per process and argument types and linked into each entry point that calls it
# (so the compiling process may differ in the last bits: fastgd/cpu.py on determinism).
@overload(_sums_of_layout, jit_options={"fastmath": FASTMATH, "nogil": True})
def _layout_loop(X, y, sample_weight, b, w, shift, loss, width, out):
    if isinstance(width, types.NoneType):

        def many_features(X, y, sample_weight, b, w, shift, loss, width, out):
            _sums_many_features(X, y, sample_weight, b, w, shift, loss, out)

        return many_features
    if len(width) == 1:

        def one_feature(X, y, sample_weight, b, w, shift, loss, width, out):
            # A C-contiguous (n, 1) array reshapes to (n,) without a copy.
            h = 0.0 if shift is None else shift[0]
            _sums_one_feature(X.reshape(X.shape[0]), y, sample_weight, b, w[0], h, loss, out)

        return one_feature

    def fixed_width(X, y, sample_weight, b, w, shift, loss, width, out):
        _sums_fixed_width(X, y, sample_weight, b, w, shift, loss, out, width)

    return fixed_width


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def partial_sums(X, y, sample_weight, b, w, shift, loss, width, out):
    """Write the d + 2 partial sums of the rows of X (n, d) into `out` (see the module doc).

    `loss`: the loss (fastgd/losses.py), a type the loops are compiled for: sums[0] adds up its
    values s l(r), and its gradient weight s (-l'(r) / 2) takes s r's place in the others (the
    gradient's formulas are unchanged).

    `sample_weight` is None or an (n,) array; `w` is a float64 array of length d, `shift` too,
    or None for no shift: numba then compiles the loops without the subtraction.

    One loop per shape, each written so that it vectorizes: one feature (over the rows), two
    (the width a compile-time constant), more (four rows per sweep over the features).
    `width` = `kernel_width(d)` selects it by its type (`_layout_loop`).
    """
    _sums_of_layout(X, y, sample_weight, b, w, shift, loss, width, out)


@njit(cache=True, nogil=True, inline="always")
def target_block_rows(d, k):
    """Rows per block of `target_sums`: the block's copies (d + k values a row) stay in a
    16 KiB share of the L1 cache, leaving the rest to the next block, which arrives while this
    one computes. Blocks of 256 rows spilled from it: with the transposed blocks
    (`_sums_by_columns`) a pass from memory at d = 8, k = 16 took 34 ns a row against 29 with
    80, 62 against 41 at d = 32, k = 4. A multiple of 8, from 16 to 128."""
    return max(16, min(128, 2048 // (d + k) // 8 * 8))


def _copy_block(source, start, stop, offsets, target):
    """target[:stop - start, :m] = source[start:stop] (n, m) - offsets, in float64, where
    `offsets` is None or a float64 array of at least (stop - start) m values: the values to
    subtract, row after row (`_copy_of_layout`)."""
    raise NotImplementedError("compiled code only: see _copy_of_layout")


@overload(_copy_block, jit_options={"fastmath": FASTMATH, "nogil": True})
def _copy_of_layout(source, start, stop, offsets, target):
    # A C-contiguous block and a target row of the same width are one contiguous run of
    # values each: a single loop over them vectorizes, where a loop per row of 8 or 16 values
    # costs its start and remainder every row (1.9 against 3.0 ns a row of 8 float64).
    if source.layout == "C":

        def contiguous_copy(source, start, stop, offsets, target):
            rows, width = stop - start, source.shape[1]
            if target.shape[1] != width:
                _copy_rows(source, start, stop, offsets, target)
                return
            values = source[start:stop].reshape(rows * width)
            into = target.reshape(target.size)
            for p in range(rows * width):
                into[p] = values[p] - (0.0 if offsets is None else offsets[p])

        return contiguous_copy

    def copy(source, start, stop, offsets, target):
        _copy_rows(source, start, stop, offsets, target)

    return copy


def rows_of(sample_weight, start, stop):
    """sample_weight[start:stop], or None for None: one call site for both, where an `if` on
    None calls the function it guards at two places, and numba compiles it at each
    (`_rows_of_weights`)."""
    raise NotImplementedError("compiled code only: see _rows_of_weights")


@overload(rows_of, jit_options={"nogil": True})
def _rows_of_weights(sample_weight, start, stop):
    if isinstance(sample_weight, types.NoneType):
        return lambda sample_weight, start, stop: None
    return lambda sample_weight, start, stop: sample_weight[start:stop]


def _features_block(X, start, stop, shift, offsets, block):
    """The block's features, X[start:stop] - shift, as float64 rows: X's own rows when they are
    and there is no shift (no copy), else a copy into `block` (`offsets`: the shift repeated
    row after row; `_features_of_layout`)."""
    raise NotImplementedError("compiled code only: see _features_of_layout")


@overload(_features_block, jit_options={"fastmath": FASTMATH, "nogil": True})
def _features_of_layout(X, start, stop, shift, offsets, block):
    if isinstance(shift, types.NoneType):
        if X.layout == "C" and X.dtype == types.float64:
            return lambda X, start, stop, shift, offsets, block: X[start:stop]

    def copied(X, start, stop, shift, offsets, block):
        _copy_block(X, start, stop, offsets, block)
        return block[: stop - start]

    return copied


def _targets_block(Y, start, stop, R):
    """The block's targets, Y[start:stop], as float64 rows of R's width: Y's own rows when they
    are (no copy), else a copy into R (`_targets_of_layout`)."""
    raise NotImplementedError("compiled code only: see _targets_of_layout")


@overload(_targets_block, jit_options={"fastmath": FASTMATH, "nogil": True})
def _targets_of_layout(Y, start, stop, R):
    if Y.layout == "C" and Y.dtype == types.float64:

        def rows_in_place(Y, start, stop, R):
            if Y.shape[1] == R.shape[1]:  # k a multiple of 2 LANES: no padding
                return Y[start:stop]
            _copy_rows(Y, start, stop, None, R)
            return R[: stop - start]

        return rows_in_place

    def copied(Y, start, stop, R):
        _copy_block(Y, start, stop, None, R)
        return R[: stop - start]

    return copied


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def _copy_rows(source, start, stop, offsets, target):
    """`_copy_block` row by row, for any layout and width."""
    for i in range(stop - start):
        row, into = source[start + i], target[i]
        for j in range(source.shape[1]):
            into[j] = row[j] - (0.0 if offsets is None else offsets[j])


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def _vector_terms(r, sample_weight, row, loss):
    """`losses.row_terms` of LANES targets at once: (the loss terms, the gradient's weights) of the
    residuals r of one row, with weight sample_weight[row] (1 for None)."""
    value, slope = vector_terms(loss, r)
    if sample_weight is None:
        return value, slope
    s = splat(sample_weight[row])
    return s * value, s * slope


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def _finish_row(residuals, t, a0, a1, sample_weight, row, loss, sums):
    """Store the gradient weights of one row (row `row` of the data) over targets t .. t + 2
    LANES in `residuals` (its row of the block) and add its loss terms and weights to
    `sums` (None: return them)."""
    value0, slope0 = _vector_terms(a0, sample_weight, row, loss)
    value1, slope1 = _vector_terms(a1, sample_weight, row, loss)
    store(residuals, t, slope0)
    store(residuals, t + LANES, slope1)
    if sums is None:
        return value0, value1, slope0, slope1
    return _add_sums(sums, (value0, value1, slope0, slope1))


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def _add_sums(sums, more):
    """Two 4-tuples of Vectors (`_finish_row`'s sums), lane by lane."""
    return sums[0] + more[0], sums[1] + more[1], sums[2] + more[2], sums[3] + more[3]


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def _residual_tile(block, targets, W, d, i, t, b0, b1):
    """The residuals y - b - w . x of rows i .. i + 3 of the block and targets t .. t + 2 LANES
    (y from `targets`): 8 Vectors, each row's two side by side. One load of each weight serves four
    rows, and 8 independent sums hide the multiply-adds' latency."""
    x0, x1, x2, x3 = block[i], block[i + 1], block[i + 2], block[i + 3]
    r0, r1, r2, r3 = targets[i], targets[i + 1], targets[i + 2], targets[i + 3]
    a00, a01 = load(r0, t) - b0, load(r0, t + LANES) - b1
    a10, a11 = load(r1, t) - b0, load(r1, t + LANES) - b1
    a20, a21 = load(r2, t) - b0, load(r2, t + LANES) - b1
    a30, a31 = load(r3, t) - b0, load(r3, t + LANES) - b1
    for j in range(d):
        weights = W[j]
        w0, w1 = load(weights, t), load(weights, t + LANES)
        z = splat(x0[j])
        a00, a01 = a00 - z * w0, a01 - z * w1
        z = splat(x1[j])
        a10, a11 = a10 - z * w0, a11 - z * w1
        z = splat(x2[j])
        a20, a21 = a20 - z * w0, a21 - z * w1
        z = splat(x3[j])
        a30, a31 = a30 - z * w0, a31 - z * w1
    return a00, a01, a10, a11, a20, a21, a30, a31


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def _residuals(block, targets, R, W, B, rows, t, sample_weight, start, loss, sums, plan):
    """Replace y by the gradient's weights in R[:rows, t : t + 2 LANES] (the block's rows, from
    row `start` of the data) and add the loss terms to sums[:, t : t + 2 LANES]; Y's values
    come from `targets` (`_targets_block`). Each tile prefetches its share of a block ahead
    (`_prefetch_plan`)."""
    d = block.shape[1]
    b0, b1 = load(B, t), load(B, t + LANES)
    zero = splat(0.0)
    totals = (zero, zero, zero, zero)
    rows4 = rows - rows % 4
    tile = t // (2 * LANES) * max(rows4 // 4, 1)  # this chunk's first tile
    for i in range(0, rows4, 4):
        _prefetch_tile(plan, tile + i // 4)
        a00, a01, a10, a11, a20, a21, a30, a31 = _residual_tile(block, targets, W, d, i, t, b0, b1)
        row = start + i
        # The four rows' terms are added pairwise, then to the totals: one dependent addition
        # a tile rather than four.
        pair = _finish_row(R[i], t, a00, a01, sample_weight, row, loss, None)
        pair = _finish_row(R[i + 1], t, a10, a11, sample_weight, row + 1, loss, pair)
        other = _finish_row(R[i + 2], t, a20, a21, sample_weight, row + 2, loss, None)
        other = _finish_row(R[i + 3], t, a30, a31, sample_weight, row + 3, loss, other)
        totals = _add_sums(totals, _add_sums(pair, other))
    for i in range(rows4, rows):  # the rows past the tiles
        x, y, r = block[i], targets[i], R[i]
        a0, a1 = load(y, t) - b0, load(y, t + LANES) - b1
        for j in range(d):
            z = splat(x[j])
            a0, a1 = a0 - z * load(W[j], t), a1 - z * load(W[j], t + LANES)
        totals = _finish_row(r, t, a0, a1, sample_weight, start + i, loss, totals)
    loss0, loss1, total0, total1 = totals
    _add_to(sums[0], t, loss0, loss1)
    _add_to(sums[1], t, total0, total1)


PREFETCH_BLOCKS_AHEAD = 4


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def _prefetch_plan(X, Y, start, stop, tiles):
    """What `_prefetch_tile` needs to spread the 64-byte lines of a block of X and Y ahead
    (from row `start` to `stop`) over `tiles` residual tiles: the arrays and their lines per
    tile. Divisions here, once a block: in the tiles, they cost 5 ns a row."""
    next_X, next_Y = X[start:stop], Y[start:stop]
    lines_X = (next_X.size * next_X.itemsize + 63) // 64
    lines_Y = (next_Y.size * next_Y.itemsize + 63) // 64
    return next_X, (lines_X + tiles - 1) // tiles, next_Y, (lines_Y + tiles - 1) // tiles


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def _prefetch_tile(plan, tile):
    """Prefetch tile `tile`'s share of the lines of a block ahead (`_prefetch_plan`)."""
    next_X, per_tile_X, next_Y, per_tile_Y = plan
    # The same count every tile, past the block's end too (a prefetch never faults): a count
    # that changes from tile to tile costs mispredicted branches.
    _prefetch_lines(next_X, tile * per_tile_X, (tile + 1) * per_tile_X)
    _prefetch_lines(next_Y, tile * per_tile_Y, (tile + 1) * per_tile_Y)


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def _prefetch_lines(array, first, stop):
    per_line = 64 // array.itemsize
    for line in range(first, stop):
        prefetch_to_l2(array, line * per_line)


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def _add_to(array, t, first, second):
    """array[t : t + 2 LANES] += the two Vectors side by side."""
    store(array, t, load(array, t) + first)
    store(array, t + LANES, load(array, t + LANES) + second)


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def _products(block, R, rows, t, G):
    """G[j, t : t + 2 LANES] += sum over the block's rows of x_j times the row's gradient
    weights, by tiles of 2 LANES targets by four features: 8 sums in registers, one load of
    the weights for four features."""
    d = block.shape[1]
    d4 = d - d % 4
    zero = splat(0.0)
    for j in range(0, d4, 4):
        s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = zero
        for i in range(rows):
            r, x = R[i], block[i]
            a0, a1 = load(r, t), load(r, t + LANES)
            z = splat(x[j])
            s00, s01 = s00 + a0 * z, s01 + a1 * z
            z = splat(x[j + 1])
            s10, s11 = s10 + a0 * z, s11 + a1 * z
            z = splat(x[j + 2])
            s20, s21 = s20 + a0 * z, s21 + a1 * z
            z = splat(x[j + 3])
            s30, s31 = s30 + a0 * z, s31 + a1 * z
        _add_to(G[j], t, s00, s01)
        _add_to(G[j + 1], t, s10, s11)
        _add_to(G[j + 2], t, s20, s21)
        _add_to(G[j + 3], t, s30, s31)
    for j in range(d4, d):  # the features past the tiles
        s0 = s1 = zero
        for i in range(rows):
            r = R[i]
            z = splat(block[i, j])
            s0, s1 = s0 + load(r, t) * z, s1 + load(r, t + LANES) * z
        _add_to(G[j], t, s0, s1)


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def _sums_across_targets(X, Y, sample_weight, B, W, shift, loss, out):
    """`target_sums` for LANES targets or more. The k targets of a row sit side by side in Y,
    so the vectors run across them (fastgd/_vector.py: LANES targets a vector), padded with zero
    targets to a multiple of 2 LANES. The rows go by blocks. X's and Y's rows are read in place
    where they can be (float64, C-ordered; X with no shift, Y with no padding), else copied as
    they are laid out into small float64 arrays that stay in cache (`_features_block`,
    `_targets_block`). Each row's residuals (`_residuals`: tiles
    of four rows by 2 LANES targets) become the gradient's weights, which multiply the block's
    columns (`_products`: 2 LANES targets by four features). No transposition: every load is
    contiguous. With 2 d k multiply-adds per row the arithmetic takes longer than reading the
    rows (docs/models.md): a block ahead is prefetched while a block computes, so that the two
    overlap. Every target's sums are added in the same order whatever LANES is.
    """
    n, d = X.shape
    k = Y.shape[1]
    width = 2 * LANES
    padded = (k + width - 1) // width * width
    block_rows = target_block_rows(d, k)
    block = np.empty((block_rows, d))
    R = np.zeros((block_rows, padded))  # columns k.. stay 0: a zero target adds nothing
    B_padded = np.zeros(padded)
    W_by_feature = np.zeros((d, padded))
    for t in range(k):
        B_padded[t] = B[t]
        for j in range(d):
            W_by_feature[j, t] = W[t, j]
    # The shift repeated row after row, so that the block's copy is one subtraction a value.
    offsets = np.zeros(block_rows * d)
    if shift is not None:
        for p in range(block_rows * d):
            offsets[p] = shift[p % d]
    sums = np.zeros((2, padded))
    G = np.zeros((d, padded))
    for start in range(0, n, block_rows):
        stop = min(start + block_rows, n)
        rows = stop - start
        features = _features_block(X, start, stop, shift, offsets, block)
        targets = _targets_block(Y, start, stop, R)
        tiles = padded // width * max(rows // 4, 1)
        # The block four ahead, into L2 (fastgd/_prefetch.py): from memory, 17-18 ns a row
        # against 19 for the next block into L1 (d = 8, k = 16).
        ahead = min(stop + (PREFETCH_BLOCKS_AHEAD - 1) * block_rows, n)
        plan = _prefetch_plan(X, Y, ahead, min(ahead + block_rows, n), tiles)
        for t in range(0, padded, width):
            _residuals(features, targets, R, W_by_feature, B_padded, rows, t, sample_weight, start,
                       loss, sums, plan)  # fmt: skip
        for t in range(0, padded, width):
            _products(features, R, rows, t, G)
    for t in range(k):
        out[t, 0] = sums[0, t]
        out[t, 1] = sums[1, t]
        for j in range(d):
            out[t, 2 + j] = G[j, t]


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def subtract_products(W, columns, rows, residuals):
    """residuals[t, :rows] -= sum_j W[t, j] columns[j, :rows], by tiles of four targets by four
    features: each sweep over the rows loads four columns and serves four targets."""
    k, d = W.shape
    k4, d4 = k - k % 4, d - d % 4
    for t in range(0, k4, 4):
        r0, r1, r2, r3 = residuals[t], residuals[t + 1], residuals[t + 2], residuals[t + 3]
        for j in range(0, d4, 4):
            c0, c1, c2, c3 = columns[j], columns[j + 1], columns[j + 2], columns[j + 3]
            w00, w01, w02, w03 = W[t, j], W[t, j + 1], W[t, j + 2], W[t, j + 3]
            w10, w11, w12, w13 = W[t + 1, j], W[t + 1, j + 1], W[t + 1, j + 2], W[t + 1, j + 3]
            w20, w21, w22, w23 = W[t + 2, j], W[t + 2, j + 1], W[t + 2, j + 2], W[t + 2, j + 3]
            w30, w31, w32, w33 = W[t + 3, j], W[t + 3, j + 1], W[t + 3, j + 2], W[t + 3, j + 3]
            for i in range(rows):
                z0, z1, z2, z3 = c0[i], c1[i], c2[i], c3[i]
                r0[i] -= (z0 * w00 + z1 * w01) + (z2 * w02 + z3 * w03)
                r1[i] -= (z0 * w10 + z1 * w11) + (z2 * w12 + z3 * w13)
                r2[i] -= (z0 * w20 + z1 * w21) + (z2 * w22 + z3 * w23)
                r3[i] -= (z0 * w30 + z1 * w31) + (z2 * w32 + z3 * w33)
    for t in range(k4, k):  # targets past the tiles: four features per sweep, one target
        r = residuals[t]
        for j in range(0, d4, 4):
            c0, c1, c2, c3 = columns[j], columns[j + 1], columns[j + 2], columns[j + 3]
            w0, w1, w2, w3 = W[t, j], W[t, j + 1], W[t, j + 2], W[t, j + 3]
            for i in range(rows):
                r[i] -= (c0[i] * w0 + c1[i] * w1) + (c2[i] * w2 + c3[i] * w3)
    for t in range(k):  # features past the tiles
        r = residuals[t]
        for j in range(d4, d):
            column = columns[j]
            w = W[t, j]
            for i in range(rows):
                r[i] -= column[i] * w


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def _sums_by_columns(X, Y, sample_weight, B, W, shift, loss, out):
    """`target_sums` for fewer targets than LANES. The rows go by blocks: a block of
    X (shifted) and of Y is copied, transposed, into small arrays that stay in cache; each
    target's residuals (and weights) then run over contiguous columns from index 0, which
    vectorize (as in the moment pass, fastgd/moments.py). Both products, the residuals
    (`subtract_products`) and the sums r_t . x_j (`add_products`), go four targets by four
    features at a time, so that each value loaded serves four of them. With 2 d k
    multiply-adds per row the arithmetic takes longer than reading the rows (docs/models.md):
    the next block is prefetched while a block computes, so that the two overlap.
    """
    n, d = X.shape
    k = Y.shape[1]
    # Rows of the scratch 8 values longer than a block: with a power-of-two stride, the
    # transposing copy would hit the same cache set for every column.
    block_rows = target_block_rows(d, k)
    columns = np.empty((d, block_rows + 8))
    residuals = np.empty((k, block_rows + 8))
    values = np.empty(block_rows + 8)
    for t in range(k):
        for j in range(d + 2):
            out[t, j] = 0.0
    for start in range(0, n, block_rows):
        stop = min(start + block_rows, n)
        rows = stop - start
        block_X, block_Y = X[start:stop], Y[start:stop]
        # Column by column (Y's as each target's residuals start): contiguous stores from
        # strided loads, twice as fast as row by row (strided stores).
        for j in range(d):
            column = columns[j]
            h = 0.0 if shift is None else shift[j]
            for i in range(rows):
                column[i] = block_X[i, j] - h
        # The next block's rows, a share per target: they arrive while this block computes.
        ahead_X, ahead_Y = X[stop : stop + block_rows], Y[stop : stop + block_rows]
        # One prefetch per 8 values: a 64-byte line of float64 (half a line of float32).
        lines_X = (ahead_X.shape[0] * d + 7) // 8
        lines_Y = (ahead_Y.shape[0] * k + 7) // 8
        for t in range(k):
            for line in range(t * lines_X // k, (t + 1) * lines_X // k):
                prefetch(ahead_X, line * 8)
            for line in range(t * lines_Y // k, (t + 1) * lines_Y // k):
                prefetch(ahead_Y, line * 8)
            r = residuals[t]
            b = B[t]
            for i in range(rows):
                r[i] = block_Y[i, t] - b
        subtract_products(W, columns, rows, residuals)
        for t in range(k):
            r = residuals[t]
            for i in range(rows):  # the gradient's weight takes r's place (losses.row_terms)
                s = 1.0 if sample_weight is None else sample_weight[start + i]
                values[i], r[i] = row_terms(loss, block_Y[i, t], r[i], s)
            # The sums in a loop of their own, which stores nothing: a loop that both adds up
            # and stores is vectorized behind a run-time check that the stores miss the loads,
            # and LLVM's check (the pointers' difference) sent it, now and then, down the
            # scalar copy, which adds in another order (1 ulp apart from run to run).
            s_rr = 0.0
            s_r = 0.0
            for i in range(rows):
                s_rr += values[i]
                s_r += r[i]
            out[t, 0] += s_rr
            out[t, 1] += s_r
        add_products(residuals, columns, rows, out, 2, False)


def target_layout(n_targets):
    """`target_sums`'s `layout` argument for k = `n_targets` targets: None for the vectors
    across each row's targets (from LANES targets on), (0,) for blocks by columns (fewer)."""
    return None if n_targets >= LANES else (0,)


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def target_sums(X, Y, sample_weight, B, W, shift, loss, layout, out):
    """The partial sums of k targets in one pass over X: out[t] is `partial_sums` of X and the
    target Y[:, t] at (B[t], W[t]), for Y (n, k), B (k,), W (k, d), out (k, d + 2).

    Each row of X is read from memory once for all targets, by one of two layouts, which
    `layout` = `target_layout(k)` selects by its type: `_sums_across_targets` (vectors across
    each row's targets) from LANES targets on, and `_sums_by_columns` (blocks transposed,
    vectors down the columns) below, where the vectors across targets would be mostly padding.
    One pass from memory, d = 8, ns a row (columns / across): k = 2, 9.8 / 11.9; k = 4,
    11.2 / 11.9; k = 8, 15.7 / 13.2; k = 16, 25.2 / 16.6 (LANES = 8; with LANES = 4, k = 4:
    11.0 / 10.5; docs/benchmarks.md).
    """
    _target_sums_of_layout(X, Y, sample_weight, B, W, shift, loss, layout, out)


def _target_sums_of_layout(X, Y, sample_weight, B, W, shift, loss, layout, out):
    """`target_sums`'s loop for the layout that `layout`'s type selects
    (`_target_layout_loop`)."""
    raise NotImplementedError("compiled code only: see _target_layout_loop")


# The layout is chosen by `layout`'s type when an entry point compiles, as `_layout_loop` does
# for one target: a runtime branch on k compiled both layouts into every k-target kernel (a
# first fit of 16 targets compiled 4.5 s more for the layout it never ran). As `_layout_loop`,
# the loop is compiled once per process and argument types and called by the entry points
# (inlined into each, a first k-target fit, d = 3, k = 16, compiled for 49 s instead of 25), so
# the process that compiled the kernels may differ from those that load numba's cache in the
# last bits (docs/determinism.md; tests/test_determinism.py checks k = 4 and k = 16). Called,
# the transposed blocks ran 2-9 % slower than inlined (k = 2 and 4, d = 8, N = 10**6, one
# thread: 7.7 and 10.6-11.0 ns a row against 7.6 and 9.7-10.6), for a first fit of 4 targets
# that compiles in 8.5 s instead of 20 (measured 2026-12-07). An inline="always" overload
# would keep them inlined, but numba then types `shift is None` branches it cannot prune.
@overload(_target_sums_of_layout, jit_options={"fastmath": FASTMATH, "nogil": True})
def _target_layout_loop(X, Y, sample_weight, B, W, shift, loss, layout, out):
    if isinstance(layout, types.NoneType):

        def across(X, Y, sample_weight, B, W, shift, loss, layout, out):
            _sums_across_targets(X, Y, sample_weight, B, W, shift, loss, out)

        return across

    def by_columns(X, Y, sample_weight, B, W, shift, loss, layout, out):
        _sums_by_columns(X, Y, sample_weight, B, W, shift, loss, out)

    return by_columns


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def add_products(left, right, rows, out, offset, upper):
    """out[t, offset + j] += left[t, :rows] . right[j, :rows] for every row t of `left` and j of
    `right` (with `upper`, only where j >= t, at least: a square's upper triangle, plus some of
    its lower entries), by tiles of four by four (16 sums in registers, 8 loads per 16
    products), then the remainders. Rows of `left` and `right` are contiguous, so every
    product's loop vectorizes. Shared by the k-target pass (`target_sums`: residuals times
    columns) and the moment pass (fastgd/moments.py: the centred columns' products)."""
    k, d = left.shape[0], right.shape[0]
    k4, d4 = k - k % 4, d - d % 4
    for t in range(0, k4, 4):
        r0, r1, r2, r3 = left[t], left[t + 1], left[t + 2], left[t + 3]
        for j in range(t if upper else 0, d4, 4):
            c0, c1, c2, c3 = right[j], right[j + 1], right[j + 2], right[j + 3]
            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = 0.0
            s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = 0.0
            for i in range(rows):
                a0, a1, a2, a3 = r0[i], r1[i], r2[i], r3[i]
                z0, z1, z2, z3 = c0[i], c1[i], c2[i], c3[i]
                s00 += a0 * z0
                s01 += a0 * z1
                s02 += a0 * z2
                s03 += a0 * z3
                s10 += a1 * z0
                s11 += a1 * z1
                s12 += a1 * z2
                s13 += a1 * z3
                s20 += a2 * z0
                s21 += a2 * z1
                s22 += a2 * z2
                s23 += a2 * z3
                s30 += a3 * z0
                s31 += a3 * z1
                s32 += a3 * z2
                s33 += a3 * z3
            j0 = offset + j
            out[t, j0] += s00
            out[t, j0 + 1] += s01
            out[t, j0 + 2] += s02
            out[t, j0 + 3] += s03
            out[t + 1, j0] += s10
            out[t + 1, j0 + 1] += s11
            out[t + 1, j0 + 2] += s12
            out[t + 1, j0 + 3] += s13
            out[t + 2, j0] += s20
            out[t + 2, j0 + 1] += s21
            out[t + 2, j0 + 2] += s22
            out[t + 2, j0 + 3] += s23
            out[t + 3, j0] += s30
            out[t + 3, j0 + 1] += s31
            out[t + 3, j0 + 2] += s32
            out[t + 3, j0 + 3] += s33
    # The rest: rows of `left` past the tiles, and columns of `right` past them.
    for t in range(k):
        r = left[t]
        first = d4 if t < k4 else 0
        if upper:
            first = max(first, t)
        for j in range(first, d):
            column = right[j]
            total = 0.0
            for i in range(rows):
                total += r[i] * column[i]
            out[t, offset + j] += total


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def apply_step(sums, total_weight, rule, b, w, precondition, velocity):
    """One step from (b, w), whose partial sums are `sums` (see the module doc): update w and
    the velocity in place, return b. A parameter whose precondition[j] is 0 does not move (b
    without an intercept: the model is then y ~ X w, and b stays at its start, 0).

    With a penalty (fastgd/penalties.py: rule[L2], rule[L1] and each coefficient's weight c_j,
    on the coefficients in the fit's coordinates u_j = w_j / sqrt(p_j), never on b) the step is
    the proximal gradient step: the l2 part's gradient joins the loss's, the l1 part is a
    soft-threshold by lr c_j l1 (in u; lr c_j l1 sqrt(p_j) in w), and with momentum this is
    FISTA: x = prox(theta + delta), v = x - (theta - m v), theta = x + m v (the same update as
    above where prox is the identity).

    Each coefficient is kept within its bounds (rule's LOWER and UPPER runs; positive=True is
    0 and inf): prox also projects onto them (the projected gradient method; with momentum its
    accelerated form, as FISTA). The bounds are in w's units, whatever the coordinates."""
    lr = rule[LR]
    scale = 2.0 * lr / total_weight
    momentum = rule[MOMENTUM]
    shrink = lr * rule[L2]
    threshold = lr * rule[L1]
    d = w.shape[0]
    weights = RULE_SIZE + WEIGHTS * d
    lower = RULE_SIZE + LOWER * d
    upper = RULE_SIZE + UPPER * d
    # One path for every case, rather than one per case: each path is code that every entry
    # point compiles. Without a penalty and momentum it is the lecture's update, to the bit:
    # moved - 0.0 is moved, the bounds -inf and inf leave it, and moved + 0.0 * velocity is
    # moved.
    for j in range(d):
        p = precondition[1 + j]
        if p == 0.0:
            continue
        theta = w[j]
        c = rule[weights + j]
        moved = theta + scale * p * sums[2 + j] - shrink * c * theta
        clip = threshold * c * math.sqrt(p) if threshold > 0.0 else 0.0
        moved = proximal_coefficient(moved, clip, rule[lower + j], rule[upper + j])
        velocity[1 + j] = moved - theta + momentum * velocity[1 + j]
        w[j] = moved + momentum * velocity[1 + j]
    delta = scale * precondition[0] * sums[1]
    velocity[0] = momentum * velocity[0] + delta
    return b + delta + momentum * velocity[0]


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def penalty(rule, w, precondition):
    """sum c_j ((l2 / 2) u_j**2 + l1 |u_j|), u_j = w_j / sqrt(p_j), over the coefficients that
    move: the penalty the objective adds to the loss (0 without one; the bounds add nothing,
    every iterate is within them)."""
    l2 = rule[L2]
    l1 = rule[L1]
    if l2 == 0.0 and l1 == 0.0:
        return 0.0
    weights = RULE_SIZE + WEIGHTS * w.shape[0]
    total = 0.0
    for j in range(w.shape[0]):
        p = precondition[1 + j]
        if p > 0.0:
            total += coefficient_penalty(l2, l1, rule[weights + j], w[j], p)
    return total


# The largest finite float64. `abs(x) <= LARGEST` is False for NaN and +-inf: a comparison,
# which the fast-math flags of the kernels these functions are inlined into leave alone, where
# LLVM was seen to fold math.isfinite(loss) of a sum (x - x == 0) away.
LARGEST = 1.7976931348623157e308


@njit(cache=True, nogil=True, inline="always")
def all_finite(b, w):
    if not abs(b) <= LARGEST:
        return False
    for j in range(w.shape[0]):
        if not abs(w[j]) <= LARGEST:
            return False
    return True


@njit(cache=True, nogil=True, inline="always")
def divergence_status(reference, loss, noise):
    """RAN, or why the fit cannot go on at a loss of `loss`: LOSS_NOT_FINITE, or
    LOSS_INCREASED when it rose more than `noise` (the rounding of the loss, see
    `increase_allowance`) above `reference`.

    The reference is the previous iterate's loss for plain gradient descent -- with lr < 2 / L
    every step of the squared loss decreases it -- and the starting loss with momentum, where
    with lr <= 1 / L no component of the error grows above its start (the loss may rise from
    one step to the next, but never above where it began): an increase means lr is above the
    stable limit and the fit diverges, however small the rise looks now.
    A rise within the noise is neither: the fit goes on. Never a reason to stop as converged
    (`gradient_status` says that). The CUDA kernels compile this function's Python source."""
    if not abs(loss) <= LARGEST:
        return LOSS_NOT_FINITE
    if loss - reference > noise:
        return LOSS_INCREASED
    return RAN


@njit(cache=True, nogil=True)
def stationarity(sums, total_weight, rule, b, w, precondition):
    """(|G|, |u|): how far (b, w), whose partial sums are `sums`, is from stationary, and its
    size, in the fit's coordinates u_j = theta_j / sqrt(p_j) over the parameters that move.

    G is the gradient of the objective (the loss's, plus the l2 penalty's c_j l2 u_j); with an
    l1 penalty or bounds on the coefficients (rule[BOUNDED]), the proximal gradient mapping
    (u - prox(u - lr g)) / lr (`penalties.proximal_coefficient`, in u), zero exactly at the
    optimum. For the quadratic loss |u - u*| <= |G| / mu (mu its smallest curvature, the l2
    penalty's included), and at most 3 |G| / mu with a proximal step (fastgd/stopping.py)."""
    scale = 2.0 / total_weight
    lr = rule[LR]
    l2 = rule[L2]
    l1 = rule[L1]
    proximal = l1 > 0.0 or rule[BOUNDED] > 0.0
    d = w.shape[0]
    weights = RULE_SIZE + WEIGHTS * d - 1  # indexed by j = 1 + the coefficient's index
    lower = RULE_SIZE + LOWER * d - 1
    upper = RULE_SIZE + UPPER * d - 1
    # Both norms as LAPACK's dnrm2 takes them, largest / sqrt(sum (each / largest)²): a sum of
    # the squares themselves underflows to 0 below 1e-154 (y of 1e-170: |G| read 0, a fit
    # "converged" at its start) and overflows above 1e154. A NaN stays NaN.
    g_largest, g_squares, u_largest, u_squares = 0.0, 1.0, 0.0, 1.0
    value = b
    for j in range(d + 1):
        if j > 0:
            value = w[j - 1]
        p = precondition[j]
        if p > 0.0:
            root = math.sqrt(p)
            u = value / root
            g = -scale * sums[1 + j] * root
            if j > 0:
                c = rule[weights + j]
                g += l2 * c * u
                if proximal:
                    moved = proximal_coefficient(
                        u - lr * g, lr * l1 * c, rule[lower + j] / root, rule[upper + j] / root
                    )
                    g = (u - moved) / lr
            a = abs(g)
            if a > g_largest:
                g_squares = 1.0 + g_squares * (g_largest / a) * (g_largest / a)
                g_largest = a
            elif a > 0.0 or a != a:
                g_squares += (a / g_largest) * (a / g_largest)
            a = abs(u)
            if a > u_largest:
                u_squares = 1.0 + u_squares * (u_largest / a) * (u_largest / a)
                u_largest = a
            elif a > 0.0 or a != a:
                u_squares += (a / u_largest) * (a / u_largest)
    return g_largest * math.sqrt(g_squares), u_largest * math.sqrt(u_squares)


@njit(cache=True, nogil=True, inline="always")
def gradient_status(sums, total_weight, rule, b, w, precondition):
    """CONVERGED when |G| <= rule[SLOPE] |u| + rule[OFFSET] (`stationarity`), else RAN.

    For the quadratic loss |u - u*| <= |G| / mu, mu its smallest curvature, so SLOPE = tol * mu
    bounds the relative distance to the optimum by tol (fastgd/stopping.py chooses SLOPE and
    OFFSET, which also cover the rounding of the gradient). A rise of the loss has no say
    here."""
    if rule[OFFSET] < 0.0:
        return RAN
    gradient, size = stationarity(sums, total_weight, rule, b, w, precondition)
    return CONVERGED if gradient <= rule[SLOPE] * size + rule[OFFSET] else RAN


# The loss a backend computes carries rounding errors: relative ones for a sum of squares over
# the rows (the loop), and absolute ones of about machine loss times the data's scale where
# it is a difference of large moments (gram, near an exact fit). A rise of the loss smaller than
# this many parts of that scale is taken as rounding, not as divergence.
LOSS_NOISE = 1e-9


def increase_allowance(start_loss, scale=0.0):
    """The `noise` argument of `divergence_status` for a fit that started at loss `start_loss`.

    Every iterate of a converging fit has a loss below the start's, so the start's loss (or the
    backend's own `scale`, where its rounding is absolute: gram) bounds the size of the terms
    whose rounding could make the loss seem to rise."""
    return LOSS_NOISE * max(float(start_loss), float(scale))


def kernel_shift(shift):
    """The shift as the CPU kernels take it: None where it is all zeros (plain gradient
    descent), so that they compile without the subtraction (`partial_sums`)."""
    return shift if shift is not None and shift.any() else None
