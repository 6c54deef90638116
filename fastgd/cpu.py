"""CPU backend: the whole iteration loop in compiled code, on one core or many.

Per iteration one fused pass over the data computes the partial sums of `gradient.partial_sums`,
from which both the loss (for the history) and the gradient (for the step) follow. With several
threads, the rows are cut into one contiguous block per thread; each `prange` iteration writes
the sums of its own block into its own row of `partials`, and the rows are added up serially in
a fixed order afterwards: no races, and bit-identical results for a given thread count.
"""

import numpy as np
from numba import njit, prange

from ._config import FASTMATH
from .compiled import compile_for, compile_once
from .gradient import (
    LOSS,
    LOSS_PARAMETER,
    kernel_shift,
    kernel_width,
    n_sums,
    partial_sums,
    target_layout,
    target_sums,
)
from .iteration import steps, steps_targets
from .losses import SquaredError, kernel_loss
from .moments import centered_moments, compile_moments, target_moments
from .threads import numba_threads


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def serial_sums(X, y, sample_weight, loss, width, b, w, shift, partials):
    """Partial sums of all rows into partials[0]: the one-thread twin of `parallel_sums`."""
    partial_sums(X, y, sample_weight, b, w, shift, loss, width, partials[0])


# A prange body calls the passes through a compiled function of their own (`_block_sums`,
# `_block_target_sums`) rather than inlined: numba 0.68 compiles an @overload that a prange body
# reaches (the layout's loop, `gradient._layout_loop`) twice, once when it types the kernel and
# again when it compiles the parallel body, and a function of its own once. Measured: a
# two-thread loop's first fit compiled 1.1 s less (the same sums: the layout's loop was a call
# of its own before too).
@njit(fastmath=FASTMATH, cache=True, nogil=True)
def _block_sums(X, y, sample_weight, loss, width, b, w, shift, out):
    partial_sums(X, y, sample_weight, b, w, shift, loss, width, out)


@njit(fastmath=FASTMATH, cache=True, parallel=True)
def parallel_sums(X, y, sample_weight, loss, width, b, w, shift, partials):
    """Partial sums of row block c into partials[c], one block per prange iteration."""
    n_blocks = partials.shape[0]
    n = X.shape[0]
    for c in prange(n_blocks):
        start = c * n // n_blocks
        stop = (c + 1) * n // n_blocks
        rows_X, rows_y = X[start:stop], y[start:stop]
        if sample_weight is None:
            _block_sums(rows_X, rows_y, None, loss, width, b, w, shift, partials[c])
        else:
            weights = sample_weight[start:stop]
            _block_sums(rows_X, rows_y, weights, loss, width, b, w, shift, partials[c])


@njit(nogil=True, inline="always")
def _evaluate(block_sums, X, y, sample_weight, loss, width, b, w, shift, partials, sums):
    """Fill `sums` with the partial sums of all rows at (b, w): `block_sums` (serial_sums or
    parallel_sums) fills one row of `partials` per block, added here in a fixed order."""
    block_sums(X, y, sample_weight, loss, width, b, w, shift, partials)
    for j in range(sums.shape[0]):
        total = 0.0
        for c in range(partials.shape[0]):
            total += partials[c, j]
        sums[j] = total


# `iteration.steps`'s loss_at, for each kernel.
@njit(nogil=True, inline="always")
def _loss_serial(X, y, sample_weight, loss, width, partials, total_weight, b, w, shift,
                 sums):  # fmt: skip
    _evaluate(serial_sums, X, y, sample_weight, loss, width, b, w, shift, partials, sums)
    return sums[0] / total_weight


@njit(nogil=True, inline="always")
def _loss_parallel(X, y, sample_weight, loss, width, partials, total_weight, b, w, shift,
                   sums):  # fmt: skip
    _evaluate(parallel_sums, X, y, sample_weight, loss, width, b, w, shift, partials, sums)
    return sums[0] / total_weight


# The entry points, one per thread layout, so that a one-thread fit never compiles the parallel
# kernel (a parallel=True compile costs seconds on first use). The bodies above are shared. An
# entry point also evaluates a starting point (k_start == k_stop, `iteration.steps`): one kernel
# per fit, not two.
#
# Most of what an entry point calls is inline="always" (inlined by numba before LLVM sees it).
# A call to another compiled function -- the parallel kernel's prange body, the loop's layout
# (`gradient._layout_loop`) -- goes to that function's own library in the process that compiled
# it and to the entry point's linked copy in the processes that load numba's cache, and the
# reassociated sums may come out in another order: the compiling process may differ from the
# later ones in the last bits, which all agree with each other (docs/determinism.md).
@njit(fastmath=FASTMATH, cache=True, nogil=True)
def iterate_serial(X, y, sample_weight, loss, width, total_weight, b, w, k_start, k_stop,
                   rule, shift, precondition, velocity, partials, sums, history):  # fmt: skip
    return steps(_loss_serial, X, y, sample_weight, loss, width, partials, total_weight, b, w,
                 k_start, k_stop, rule, shift, precondition, velocity, sums, history)  # fmt: skip


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def iterate_parallel(X, y, sample_weight, loss, width, total_weight, b, w, k_start, k_stop,
                     rule, shift, precondition, velocity, partials, sums, history):  # fmt: skip
    return steps(_loss_parallel, X, y, sample_weight, loss, width, partials, total_weight, b, w,
                 k_start, k_stop, rule, shift, precondition, velocity, sums, history)  # fmt: skip


class Run:
    """One fit's state on the CPU (method="loop"): the data, the thread count, the buffers.
    A `backend.Run`."""

    def __init__(self, X, y, sample_weight, total_weight, threads):
        self.data = (X, y, sample_weight)
        self.total_weight = total_weight
        self.threads = threads
        self.partials = np.zeros((threads, n_sums(X.shape[1])))
        self.sums = np.zeros(n_sums(X.shape[1]))
        serial = threads == 1
        self._iterate = iterate_serial if serial else iterate_parallel
        self.moments = None
        self.loss = SquaredError()  # until `compile` says otherwise
        self.width = kernel_width(X.shape[1])  # the loop's layout (`gradient.partial_sums`)
        self._idle: tuple = ()  # what an evaluation passes the kernel for its step (`compile`)

    def compile(self, b, w, settings, history, statistics=False):
        if statistics:
            compile_moments(*self.data, self.threads)

        shift = kernel_shift(settings.shift)
        # The loss, fixed for the fit (fastgd/losses.py): its type selects the loops compiled.
        self.loss = kernel_loss(settings.rule[LOSS], settings.rule[LOSS_PARAMETER])
        data = (*self.data, self.loss, self.width)
        # An evaluation runs no step: these arrays only give the kernel its argument types.
        self._idle = (settings.rule, settings.precondition, settings.velocity, history)

        def compile_them():
            rest = (0, 0, settings.rule, shift, *settings[2:], self.partials, self.sums, history)
            compile_for(self._iterate, (*data, self.total_weight, b, w, *rest))

        compile_once((self._iterate,), (*data, shift), compile_them)

    def statistics(self):
        """The data's `Moments`: one more pass over the data (for lr="auto"), the first time."""
        if self.moments is None:
            self.moments = centered_moments(*self.data, self.threads)
        return self.moments

    def _threads(self):
        return numba_threads(self.threads)

    def evaluate(self, b, w, shift):
        """The loss at (b, w); also keeps its partial sums for the next step."""
        rule, precondition, velocity, history = self._idle
        with self._threads():
            self._iterate(
                *self.data, self.loss, self.width, self.total_weight, b, w, 0, 0, rule,
                kernel_shift(shift), precondition, velocity, self.partials, self.sums, history,
            )  # fmt: skip
        return self.sums[0] / self.total_weight

    def iterate(self, b, w, k_start, k_stop, settings, history):
        with self._threads():
            rule, shift, precondition, velocity = settings
            return self._iterate(
                *self.data, self.loss, self.width, self.total_weight, b, w, k_start, k_stop,
                rule, kernel_shift(shift), precondition, velocity, self.partials, self.sums,
                history,
            )  # fmt: skip


# Several targets (y of shape (n, k)): the same structure, with `gradient.target_sums` reading
# each row of X once for all k targets and `iteration.steps_targets` stepping them together.
@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def serial_target_sums(X, Y, sample_weight, loss, layout, B, W, shift, partials):
    target_sums(X, Y, sample_weight, B, W, shift, loss, layout, partials[0])


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def _block_target_sums(X, Y, sample_weight, loss, layout, B, W, shift, out):
    target_sums(X, Y, sample_weight, B, W, shift, loss, layout, out)  # see `_block_sums`


@njit(fastmath=FASTMATH, cache=True, parallel=True)
def parallel_target_sums(X, Y, sample_weight, loss, layout, B, W, shift, partials):
    n_blocks = partials.shape[0]
    n = X.shape[0]
    for c in prange(n_blocks):
        start = c * n // n_blocks
        stop = (c + 1) * n // n_blocks
        rows_X, rows_Y = X[start:stop], Y[start:stop]
        if sample_weight is None:
            _block_target_sums(rows_X, rows_Y, None, loss, layout, B, W, shift, partials[c])
        else:
            weights = sample_weight[start:stop]
            _block_target_sums(rows_X, rows_Y, weights, loss, layout, B, W, shift, partials[c])


@njit(nogil=True, inline="always")
def _evaluate_targets(block_sums, X, Y, sample_weight, loss, layout, partials, total_weight, B,
                      W, shift, sums, losses):  # fmt: skip
    """Fill sums (k, d + 2) and losses (k,) at (B, W (k, d)), the blocks added in a fixed
    order."""
    n_targets, d = W.shape
    block_sums(X, Y, sample_weight, loss, layout, B, W, shift, partials)
    for t in range(n_targets):
        for j in range(d + 2):
            total = 0.0
            for c in range(partials.shape[0]):
                total += partials[c, t, j]
            sums[t, j] = total
        losses[t] = sums[t, 0] / total_weight


@njit(nogil=True, inline="always")
def _target_loss_serial(X, Y, sample_weight, loss, layout, partials, total_weight, B, W, shift,
                        sums, losses):  # fmt: skip
    _evaluate_targets(serial_target_sums, X, Y, sample_weight, loss, layout, partials,
                      total_weight, B, W, shift, sums, losses)  # fmt: skip


@njit(nogil=True, inline="always")
def _target_loss_parallel(X, Y, sample_weight, loss, layout, partials, total_weight, B, W,
                          shift, sums, losses):  # fmt: skip
    _evaluate_targets(parallel_target_sums, X, Y, sample_weight, loss, layout, partials,
                      total_weight, B, W, shift, sums, losses)  # fmt: skip


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def iterate_targets_serial(X, Y, sample_weight, loss, layout, partials, total_weight, B, W,
                           k_start, k_stop, rules, shift, precondition, velocities, sums, history,
                           losses, active, reached):  # fmt: skip
    return steps_targets(_target_loss_serial, X, Y, sample_weight, loss, layout, partials,
                         total_weight, B, W, k_start, k_stop, rules, shift, precondition,
                         velocities, sums, history, losses, active, reached)  # fmt: skip


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def iterate_targets_parallel(X, Y, sample_weight, loss, layout, partials, total_weight, B, W,
                             k_start, k_stop, rules, shift, precondition, velocities, sums,
                             history, losses, active, reached):  # fmt: skip
    return steps_targets(_target_loss_parallel, X, Y, sample_weight, loss, layout, partials,
                         total_weight, B, W, k_start, k_stop, rules, shift, precondition,
                         velocities, sums, history, losses, active, reached)  # fmt: skip


class Targets:
    """Several targets on the CPU (method="loop", y of shape (n, k)): one pass over X per
    iteration serves all k of them. A `backend.Targets`."""

    def __init__(self, X, Y, sample_weight, total_weight, threads):
        n_targets, d = Y.shape[1], X.shape[1]
        self.data = (X, Y, sample_weight)
        self.total_weight = total_weight
        self.threads = threads
        self.partials = np.zeros((threads, n_targets, n_sums(d)))
        self.sums = np.zeros((n_targets, n_sums(d)))
        self.losses = np.zeros(n_targets)
        serial = threads == 1
        self._iterate = iterate_targets_serial if serial else iterate_targets_parallel
        self.moments = None
        self.loss = SquaredError()
        self.layout = target_layout(n_targets)  # the pass's layout (`gradient.target_sums`)
        self._idle: tuple = ()  # as in `Run`

    def compile(self, B, W, settings, history, statistics=False):
        if statistics:
            compile_moments(*self.data, self.threads)
        shift = kernel_shift(settings.shift)
        self.loss = kernel_loss(settings.rule[0, LOSS], settings.rule[0, LOSS_PARAMETER])
        data = (*self.data, self.loss, self.layout, self.partials, self.total_weight)
        active, reached = np.ones(B.shape[0], np.bool_), np.zeros(B.shape[0], np.int64)
        self._idle = (settings.rule, settings.precondition, settings.velocity, history, active,
                      reached)  # fmt: skip

        def compile_them():
            rest = (settings.rule, shift, settings.precondition, settings.velocity)
            arguments = (*data, B, W, 0, 0, *rest, self.sums, history, self.losses, active,
                         reached)  # fmt: skip
            compile_for(self._iterate, arguments)

        compile_once((self._iterate,), (*self.data, self.loss, self.layout, shift), compile_them)

    def statistics(self, target):
        """Target `target`'s `Moments`: one pass over X and every target, the first time."""
        if self.moments is None:
            self.moments = centered_moments(*self.data, self.threads)
        return target_moments(self.moments, self.data[0].shape[1], target)

    def sums_of(self, target):
        return self.sums[target]

    def evaluate(self, B, W, shift):
        rules, precondition, velocities, history, active, reached = self._idle
        with numba_threads(self.threads):
            self._iterate(*self.data, self.loss, self.layout, self.partials, self.total_weight, B,
                          W, 0, 0, rules, kernel_shift(shift), precondition, velocities, self.sums,
                          history, self.losses, active, reached)  # fmt: skip
        return self.losses.copy()

    def iterate(self, B, W, k_start, k_stop, settings, history, active, reached):
        rules, shift, precondition, velocities = settings
        with numba_threads(self.threads):
            return self._iterate(
                *self.data, self.loss, self.layout, self.partials, self.total_weight, B, W,
                k_start, k_stop, rules, kernel_shift(shift), precondition, velocities, self.sums,
                history, self.losses, active, reached,
            )  # fmt: skip
