"""Streamed rows: X and y read one block of rows at a time (a Parquet file's row groups), for
data larger than memory. An input kind (`plan.INPUTS["stream"]`) and its backend.

`_validation.RowBlocks` is the input: X (n, d) or y (n,) as blocks of rows that `blocks()`
reads on demand, in order, each time it is called (fastgd/arrowfiles.py's `ArrowColumns` reads
a Parquet or Feather file's columns that way). A fit on them takes method="gram": one pass
adds each block's centred moments into the running ones (`moments.merge_moments`, in block
order: the same bits every time), so memory holds one block and the (d + 1)-square moments,
never X; the iterations then run on the moments (fastgd/gram.py). The loop, which reads every
row at every step, would read the file once per step: it is refused, with the remedy.
"""

from __future__ import annotations

import numpy as np

from . import gram
from ._validation import is_stream
from .moments import Moments, centered_moments, merge_moments

STREAM_NEEDS_GRAM = (
    "streamed rows (a file read one row group at a time) are fitted with method='gram' only: "
    "the loop (which the Huber loss needs) would read the whole file at every step; use "
    "method='gram' with the squared error, or convert the file to .npy (fastgd convert), "
    "which the loop maps from disk"
)


def check_stream_data(X, y, sample_weight=None):
    """`_validation.check_data`'s twin for `RowBlocks`: (X, y, None, n). Only the shapes and
    dtypes are checked here; the values in the one pass (`locate_non_finite_stream`)."""
    if not (is_stream(X) and is_stream(y)):
        raise TypeError(
            "streamed X needs a streamed y (both RowBlocks, e.g. from fastgd.arrowfiles."
            f"ArrowColumns); got X {type(X).__name__} and y {type(y).__name__}"
        )
    if X.ndim != 2 or y.ndim != 1:
        raise ValueError(
            f"streamed X must be (n_samples, n_features) and y (n_samples,); got X of shape "
            f"{X.shape} and y of shape {y.shape}"
        )
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows and y {y.shape[0]}: they must match")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X of shape {X.shape} is empty: fit needs at least one row and column")
    if sample_weight is not None:
        raise ValueError(
            "sample_weight is not supported with streamed rows; stream the weighted data as "
            "in-memory arrays (or a memory-mapped .npy file) instead"
        )
    return X, y, None, float(X.shape[0])


def _pairs(X, y):
    """(first row, X block, y block) for each block; a block of X and y of other lengths is a
    ValueError (the two streams do not line up)."""
    first = 0
    for block_X, block_y in zip(X.blocks(), y.blocks(), strict=True):
        if block_X.shape[0] != block_y.shape[0]:
            raise ValueError(
                f"rows {first}-: X's block has {block_X.shape[0]} rows and y's "
                f"{block_y.shape[0]}: the streams of X and y must give blocks of the same rows"
            )
        yield first, np.ascontiguousarray(block_X), np.ascontiguousarray(block_y)
        first += block_X.shape[0]


def locate_non_finite_stream(X, y):
    """A ValueError naming the first NaN or inf of X or y by row (another pass), or None."""
    for first, block_X, block_y in _pairs(X, y):
        for name, block in (("X", block_X), ("y", block_y)):
            bad = ~np.isfinite(block)
            if bad.any():
                index = np.unravel_index(int(np.argmax(bad)), block.shape)
                where = (first + int(index[0]), *map(int, index[1:]))
                return ValueError(
                    f"{name}[{', '.join(map(str, where))}] is {block[index]}: {name} must be "
                    "finite; drop or impute missing values before fitting"
                )
    return None


class GramRun:
    """method="gram" on streamed rows: the moments from one pass over the blocks (each block's
    added into the running moments, in order), then `gram.Run`'s iterations on them."""

    def __init__(self, X, y, sample_weight, total_weight, threads):
        self.data = (X, y)
        self.threads = threads
        self.n_features = X.shape[1]
        self._gram_run: gram.Run | None = None

    @property
    def gram_run(self) -> gram.Run:
        """`gram.Run` on the moments from one pass over the blocks (each block's added into
        the running moments, in order), the first time."""
        if self._gram_run is None:
            total = None
            for _, block_X, block_y in _pairs(*self.data):
                moments = centered_moments(block_X, block_y, None, self.threads)
                total = moments if total is None else merge_moments(total, moments)
            self._gram_run = gram.Run.from_moments(total)
        return self._gram_run

    def statistics(self):
        return self.gram_run.moments

    def compile(self, b, w, settings, history, statistics=False):
        # gram's iterations. The moment pass is compiled where a block first needs it: whether
        # the blocks take it or NumPy's products (moments.uses_kernel) depends on their rows.
        size = self.n_features + 1
        placeholder = Moments(1.0, np.zeros(size), np.zeros((size, size)))
        gram.Run.from_moments(placeholder).compile(b, w, settings, history)

    def evaluate(self, b, w, shift):
        return self.gram_run.evaluate(b, w, shift)

    def iterate(self, b, w, k_start, k_stop, settings, history):
        return self.gram_run.iterate(b, w, k_start, k_stop, settings, history)
