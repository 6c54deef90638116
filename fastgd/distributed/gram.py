"""method="gram" on Dask: every chunk's moments where the chunk is, merged on the client."""

from typing import Any

import numpy as np

from .. import gram
from ..folds import labelled_moments
from ..moments import Moments
from .chunks import current_client, delayed_parts, merge_tree, part_moments


class GramRun:
    """method="gram" on Dask: one pass computes every chunk's centred moments where the chunk
    is (nothing is persisted), the client merges them (`merge_tree`) and the iterations run
    from the merged moments on the client, as `gram.Run` does for in-memory data."""

    def __init__(self, X, y, sample_weight, total_weight=None, threads=None):
        # total_weight: the moments carry it; threads: None on Dask (the workers' own).
        import dask

        self.parts = delayed_parts(X, y, sample_weight)
        self.client = current_client()
        self.n_features = X.shape[1]
        self.gram_run: Any = None  # a gram.Run on the merged moments, made on first use
        self.threads = sum(self.client.nthreads().values()) if self.client else 1
        self.moments_of = dask.delayed(part_moments, pure=True)

    def statistics(self):
        """The merged moments of all chunks (the one pass over the data, the first time)."""
        if self.gram_run is None:
            import dask

            tasks = [self.moments_of(part) for part in self.parts]
            if self.client is None:
                moments = dask.compute(*tasks)
            else:
                moments = self.client.gather(self.client.compute(tasks))
            self.gram_run = gram.Run.from_moments(merge_tree(moments))
        return self.gram_run.moments

    def compile(self, b, w, settings, history, statistics=False):
        size = self.n_features + 1
        placeholder = Moments(1.0, np.zeros(size), np.zeros((size, size)))
        gram.Run.from_moments(placeholder).compile(b, w, settings, history)

    def evaluate(self, b, w, shift):
        self.statistics()
        return self.gram_run.evaluate(b, w, shift)

    def iterate(self, b, w, k_start, k_stop, settings, history):
        return self.gram_run.iterate(b, w, k_start, k_stop, settings, history)


def fold_moments(X, y, sample_weight, labels, n_folds, threads=None):
    """Each fold's moments (a list) of Dask data whose row i is in fold labels[i] (a NumPy
    array), from one pass: every chunk's rows sorted into their folds where the chunk is
    (`folds.labelled_moments`), each fold's moments then merged over the chunks in their
    order (`merge_tree`). threads: None (the workers use their own)."""
    import dask
    import dask.array as da

    parts = delayed_parts(X, y, sample_weight)
    label_blocks = da.from_array(labels, chunks=(X.chunks[0],)).to_delayed().ravel()
    folds_of = dask.delayed(_part_folds, pure=True)
    tasks = [folds_of(part, block, n_folds) for part, block in zip(parts, label_blocks)]
    client = current_client()
    if client is None:
        per_chunk = dask.compute(*tasks)
    else:
        per_chunk = client.gather(client.compute(tasks))
    return [merge_tree([chunk[f] for chunk in per_chunk]) for f in range(n_folds)]


def _part_folds(part, labels, n_folds):
    X, y, sample_weight = part
    return labelled_moments(X, y, sample_weight, labels, n_folds, 1)
