"""Dask backend: the same compiled kernel on every chunk, a few numbers per chunk over the network.

Its input is checked in fastgd/_validation.py (`check_dask_data`) and planned in fastgd/plan.py,
like any other; the modules here are `chunks` (the work on each chunk, and the client's
current Dask), `loop` (method="loop": actors and recovery) and `gram` (method="gram").


`fit` comes here when X (or y) is a `dask.array.Array` chunked along the rows. The data is
persisted once, where Dask computes it: each row chunk becomes one *part* (X_i, y_i, s_i) on one
worker, and nothing but parameters and partial sums crosses the network afterwards.

method="loop": one Dask Actor per worker holds that worker's parts. Each iteration the client
sends (b, w) to every actor; the actor runs `gradient.partial_sums` -- the function the CPU
backend runs on each thread's block -- on each of its chunks and answers d + 2 numbers per
chunk. The client adds the chunks' sums in chunk order by a pairwise tree (so the result does
not depend on which worker holds which chunk) and takes the step (`gradient.apply_step`).
Per-iteration latency is therefore one round trip to the workers, not a Dask graph.

method="gram": one pass computes each chunk's centred moments (`moments.centered_moments`) where
the chunk is, without persisting anything; the client merges them pairwise in chunk order
(`moments.merge_moments`, exact) and runs the iterations from them (`gram.Run`).

Without a distributed Client the parts are computed with Dask's default scheduler into this
process's memory and each iteration runs the chunks on a thread pool (the kernel releases the
GIL): the same per-chunk sums, added in the same order.

A worker lost in the middle of a fit loses its actor and its parts. The scheduler recomputes the
lost parts from their graph; the Run then places new actors and repeats the interrupted
evaluation. Every chunk's sums are a pure function of (b, w) and the chunk, so the fit ends
exactly where it would have without the failure; after repeated failures it raises a
`DistributedFitError` instead.
"""

from ..errors import DistributedFitError, WorkerLost
from .gram import GramRun, fold_moments
from .loop import Run

__all__ = ["DistributedFitError", "GramRun", "Run", "WorkerLost", "fold_moments"]
