"""method="gram" on Dask: every chunk's moments where the chunk is, merged on the client."""

from typing import Any

import numpy as np

from .. import gram
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
