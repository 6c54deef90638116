"""method="loop" on Dask: one actor per worker holds that worker's chunks; each iteration asks
every actor for its chunks' partial sums and takes the step on the client."""

import warnings

import numpy as np

from ..errors import DistributedFitError, WorkerLost
from ..gradient import LOSS, LOSS_PARAMETER, n_sums
from ..iteration import steps
from ..losses import SquaredError, kernel_loss
from .chunks import ChunkGroup, ChunkHolder, current_client, delayed_parts, merge_tree, tree_sum

# Lost workers tolerated per evaluation before the fit gives up.
MAX_RECOVERIES = 3

# How often a waiting call checks that the workers it waits for are still alive.
POLL_SECONDS = 0.5


class Run:
    """One fit's state on Dask (method="loop"): a `backend.Run`.

    Creating it persists the data (one part per row chunk) and, with a distributed Client,
    places one ChunkHolder actor on every worker that holds parts.
    """

    def __init__(self, X, y, sample_weight, total_weight, threads=None):
        # threads: None, as the plan says for Dask (each worker uses its own threads);
        # self.threads becomes the threads that work on the chunks.
        import dask

        self.total_weight = total_weight
        self.sums = np.zeros(n_sums(X.shape[1]))
        self.loss = SquaredError()  # until `compile` says otherwise
        self.n_chunks = len(X.chunks[0])
        parts = delayed_parts(X, y, sample_weight)
        self.client = current_client()
        if self.client is None:
            self._start_local(dask, parts)
        else:
            self.parts = self.client.compute(parts)  # futures: the data stays on the workers
            self._place_actors()

    # -- without a Client: Dask's default scheduler, then a thread pool ---------------------

    def _start_local(self, dask, parts):
        import os

        local_parts = dask.compute(*parts)
        serial = dask.config.get("scheduler", None) in ("sync", "synchronous", "single-threaded")
        threads = 1 if serial else dask.config.get("num_workers", None) or os.cpu_count()
        self.local = ChunkGroup(local_parts, threads)
        self.threads = self.local.threads

    # -- with a Client: one actor per worker ------------------------------------------------

    def _place_actors(self):
        from distributed import wait

        wait(self.parts)
        who_has = self.client.who_has(self.parts)
        by_worker: dict[str, list[int]] = {}
        for index, part in enumerate(self.parts):
            by_worker.setdefault(who_has[part.key][0], []).append(index)
        self.placement = list(by_worker.items())
        # The futures are kept: a lost worker turns its holder's future from "finished" to
        # "lost" or "pending", which is how a call that will never answer is recognised.
        self.holders = [
            self.client.submit(
                ChunkHolder, *[self.parts[i] for i in indices], actor=True,
                workers=[worker], allow_other_workers=False, pure=False,
            )
            for worker, indices in self.placement
        ]  # fmt: skip
        self.actors = [holder.result() for holder in self.holders]
        self.threads = sum(self.client.nthreads().values())

    def _answer(self, call):
        """The call's result, or WorkerLost when an actor's worker is gone (the call would
        otherwise wait for ever)."""
        while True:
            try:
                return call.result(timeout=POLL_SECONDS)
            except TimeoutError:
                lost = [h for h in self.holders if h.status != "finished"]
                if lost:
                    raise WorkerLost(f"the worker holding {lost[0].key} is gone") from None

    def _a_worker_was_lost(self):
        return any(holder.status != "finished" for holder in self.holders)

    def _cluster_sums(self, b, w, shift):
        return self._ask_actors("sums", b, w, shift, self.loss)

    def _ask_actors(self, name, *args):
        """Every actor's answer to `name(*args)`, as one list in chunk order."""
        for attempt in range(MAX_RECOVERIES + 1):
            try:
                calls = [getattr(actor, name)(*args) for actor in self.actors]
                answers = [self._answer(call) for call in calls]
                break
            except (WorkerLost, RuntimeError, OSError) as error:
                # A lost actor shows up as WorkerLost (see _answer), as distributed's
                # RuntimeError "Worker holding Actor was lost", or as a closed connection
                # (CommClosedError, an OSError). Anything else -- or any of these while every
                # worker is still there -- is not the cluster's doing: raised at once.
                if not isinstance(error, WorkerLost) and not self._a_worker_was_lost():
                    raise
                if attempt == MAX_RECOVERIES:
                    raise DistributedFitError(
                        f"the Dask cluster failed {attempt + 1} times during one iteration "
                        f"({type(error).__name__}: {error}); check the workers' logs and "
                        "memory limits, then fit again"
                    ) from error
                warnings.warn(
                    f"fastgd: a Dask worker failed during the fit ({type(error).__name__}); "
                    "recomputing its chunks and repeating the iteration",
                    RuntimeWarning,
                    stacklevel=2,
                )
                self._place_actors()  # the scheduler recomputes lost parts from their graph
        out = [None] * self.n_chunks
        for (_, indices), answer in zip(self.placement, answers):
            for index, value in zip(indices, answer):
                out[index] = value
        return out if name != "sums" else np.array(out)

    # -- backend.Run ------------------------------------------------------------------------

    def compile(self, b, w, settings, history, statistics=False):
        """Compile the kernel in every process (or load it from numba's cache) before timing."""
        self.loss = kernel_loss(settings.rule[LOSS], settings.rule[LOSS_PARAMETER])  # fixed
        self._chunk_sums(b, w, settings.shift)

    def _chunk_sums(self, b, w, shift):
        w = np.ascontiguousarray(w, dtype=np.float64)
        if self.client is None:
            return self.local.sums(b, w, shift, self.loss)
        return self._cluster_sums(b, w, shift)

    def statistics(self):
        """The data's centred moments (for lr="auto"): one more pass, on the workers."""
        if self.client is None:
            return merge_tree(self.local.moments())
        return merge_tree(self._ask_actors("moments"))

    def evaluate(self, b, w, shift):
        """The loss at (b, w); also keeps its partial sums for the next step."""
        return self._loss_at(
            None, None, None, None, None, None, self.total_weight, b, w, shift, self.sums
        )

    def _loss_at(self, data_0, data_1, data_2, data_3, data_4, data_5, total_weight, b, w, shift,
                 sums):  # fmt: skip
        """`iteration.steps`'s loss_at: one round trip to the workers."""
        sums[:] = tree_sum(self._chunk_sums(b, w, shift))
        return sums[0] / self.total_weight

    def iterate(self, b, w, k_start, k_stop, settings, history):
        """`iteration.steps` as plain Python, each evaluation one round trip to the workers."""
        return steps.py_func(
            self._loss_at, None, None, None, None, None, None, self.total_weight, b, w, k_start,
            k_stop, *settings, self.sums, history,
        )  # fmt: skip
