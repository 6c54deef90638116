"""Gram backend: the lecture's iterations run exactly from the data's sufficient statistics.

For the squared loss the partial sums of `gradient.partial_sums` are affine in (b, w) and the
loss is quadratic, and all of them depend on the data only through a few *moments*: the total
weight S, the weighted means of X and y, and the centred cross-products

    xx = sum_i s_i (x_i - x_mean)(x_i - x_mean)^T    (d, d)
    xy = sum_i s_i (x_i - x_mean)(y_i - y_mean)      (d,)
    yy = sum_i s_i (y_i - y_mean)^2

With the shift h of fastgd/gradient.py (0, or x_mean when standardizing), the mean residual
m = y_mean - b - (x_mean - h) . w (so that sum_i s_i r_i = S m) and the centred gradient
g = xy - xx w, the partial sums and the loss at (b, w) are, exactly,

    sums[1]     = S m
    sums[2 + j] = g_j + (x_mean_j - h_j) S m
    loss        = m**2 + (yy - 2 w . xy + w . xx w) / S = m**2 + (yy - w . xy - w . g) / S

So one pass over the data (`centered_moments`) replaces every later pass, and each iteration
costs O(d**2) instead of O(n d). The step itself is `gradient.apply_step`, as in every backend.

The moments come from one pass over the data (fastgd/moments.py); the step size from their
curvature (fastgd/curvature.py).
"""

from typing import Any

import numpy as np
from numba import njit

from ._config import FASTMATH
from .backend import Columns
from .compiled import compile_for, compile_once
from .iteration import steps
from .moments import Moments, centered_moments, compile_moments, target_moments
from .moments import sums_from_moments as evaluate


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def _loss_at(mean, comoment, unused_2, unused_3, unused_4, unused_5, weight, b, w, shift, sums):
    """`iteration.steps`'s loss_at, from the moments."""
    return evaluate(weight, mean, comoment, b, w, shift, sums)


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def iterate(weight, mean, comoment, b, w, k_start, k_stop, rule, shift, precondition, velocity,
            sums, history):  # fmt: skip
    """Step from iterate k_start to k_stop from the moments (`iteration.steps`)."""
    return steps(_loss_at, mean, comoment, None, None, None, None, weight, b, w, k_start, k_stop,
                 rule, shift, precondition, velocity, sums, history)  # fmt: skip


class Run:
    """One fit's state for the gram method: the moments (computed on first use), the buffers.

    A `backend.Run`. The moment pass runs inside the first `evaluate`, so it counts in the fit's
    time.
    """

    def __init__(self, X, y, sample_weight, total_weight, threads):
        self.data: Any = (X, y, sample_weight)  # None for a Run made from moments
        self.threads = threads
        self.moments: Moments | None = None
        self.sums = np.zeros(X.shape[1] + 2)

    @classmethod
    def from_moments(cls, moments):
        """A Run on moments computed elsewhere (e.g. merged from a Dask array's chunks)."""
        run = cls.__new__(cls)
        run.data = None
        run.threads = 1
        run.moments = Moments(
            float(moments.weight),
            np.ascontiguousarray(moments.mean, dtype=np.float64),
            np.ascontiguousarray(moments.comoment, dtype=np.float64),
        )
        run.sums = np.zeros(run.moments.mean.shape[0] + 1)
        return run

    def compile(self, b, w, settings, history, statistics=False):
        if self.data is not None:  # the moment pass: gram needs it whatever `statistics` says
            self.compile_moments()

        def compile_them():
            size = w.shape[0] + 1
            statistics = (1.0, np.zeros(size), np.zeros((size, size)))
            compile_for(evaluate, (*statistics, b, w, settings.shift, self.sums))
            compile_for(iterate, (*statistics, b, w, 0, 0, *settings, self.sums, history))

        compile_once((evaluate, iterate), (), compile_them)

    def compile_moments(self):
        """Compile the moment pass (`compute_moments`'s kernels)."""
        X, y, sample_weight = self.data
        compile_moments(X, y, sample_weight, self.threads)

    def compute_moments(self):
        """The data's `Moments`: one pass over the data."""
        X, y, sample_weight = self.data
        return centered_moments(X, y, sample_weight, self.threads)

    def statistics(self):
        """The data's `Moments` (`compute_moments`, the first time)."""
        if self.moments is None:
            self.moments = self.compute_moments()
        return self.moments

    def evaluate(self, b, w, shift):
        weight, mean, comoment = self.statistics()
        return evaluate(weight, mean, comoment, b, w, shift, self.sums)

    def iterate(self, b, w, k_start, k_stop, settings, history):
        weight, mean, comoment = self.statistics()
        return iterate(weight, mean, comoment, b, w, k_start, k_stop, *settings, self.sums, history)


class Targets(Columns):
    """Several targets (y of shape (n, k)) by the gram method: the moments of X and all k
    targets in one pass over the data (the X-y cross-moments are the only extra), then each
    target's iterations from its own share of them. A `backend.Targets`."""

    def __init__(self, X, Y, sample_weight, total_weight, threads):
        self.data = (X, Y, sample_weight)
        self.moment_threads = threads  # for the moment pass; the iterations run on one
        self.runs = []

    def compile(self, B, W, settings, history, statistics=False):
        compile_moments(*self.data, self.moment_threads)
        size = W.shape[1] + 1
        placeholder = Run.from_moments(Moments(1.0, np.zeros(size), np.zeros((size, size))))
        placeholder.compile(float(B[0]), W[0], settings._replace(
            rule=settings.rule[0], velocity=settings.velocity[0]), history[0])  # fmt: skip

    def statistics(self, target):
        if not self.runs:
            X, Y, sample_weight = self.data
            moments = centered_moments(X, Y, sample_weight, self.moment_threads)
            d = X.shape[1]
            self.runs = [Run.from_moments(target_moments(moments, d, t)) for t in range(Y.shape[1])]
        return self.runs[target].statistics()

    def evaluate(self, B, W, shift):
        self.statistics(0)
        return super().evaluate(B, W, shift)
