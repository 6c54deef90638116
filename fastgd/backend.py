"""What a backend is: the `Run` protocol that `fit` drives, written once.

A backend is a module with a `Run` class (fastgd/cpu.py, gram.py, cuda.py, distributed/);
`plan.make_plan` chooses it. `fit` then calls, in this order:

    run = Plan.run(X, y, sample_weight, total_weight, plan.threads)
    run.compile(b, w, settings, history, statistics=...)  # before the fit's timer starts
    run.statistics()                                      # the data's moments, if needed
    history[0] = run.evaluate(b0, w0, settings.shift)     # the loss at the starting point
    run.iterate(b, w, k, k_stop, settings, history)       # a block of steps

so a new backend implements these five methods, and a new option is added to `fit`, to the
`Settings` and to each backend once. The math of a step and of the stopping rule is shared by
all backends (fastgd/gradient.py, fastgd/iteration.py).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import numpy as np

from .moments import Moments


class Settings(NamedTuple):
    """What `fit` hands a backend's iterations besides the data, in the order the compiled
    `iteration.steps` takes them (a backend passes `*settings` on)."""

    rule: np.ndarray  # float64 (gradient.RULE_SIZE,): lr, momentum, noise, stopping rule
    shift: np.ndarray  # float64 (d,): subtracted from each row of X (fastgd/gradient.py)
    precondition: np.ndarray  # float64 (d + 1,): the diagonal preconditioner of (b, w)
    velocity: np.ndarray  # float64 (d + 1,): the momentum's velocity, updated in place


class Run(Protocol):
    """One fit's state on one backend: the data (validated), the buffers, the kernels."""

    #: The CPU threads (on Dask: the workers' threads) that work on the data.
    threads: int

    def __init__(
        self, X: Any, y: Any, sample_weight: Any, total_weight: float, threads: int | None
    ) -> None: ...

    def compile(
        self,
        b: float,
        w: np.ndarray,
        settings: Settings,
        history: np.ndarray,
        statistics: bool = False,
    ) -> None:
        """Compile (or load from numba's cache) the kernels the fit will run for these argument
        types, and those of `statistics()` if asked, so that the fit's timer measures the fit
        alone."""

    def evaluate(self, b: float, w: np.ndarray, shift: np.ndarray) -> float:
        """The loss at (b, w) (b: the intercept of the shifted rows, see fastgd/gradient.py),
        whose partial sums the run keeps for the first step."""

    def statistics(self) -> Moments:
        """The data's centred moments (fastgd/moments.py), computed once, where the data is."""

    def iterate(
        self,
        b: float,
        w: np.ndarray,
        k_start: int,
        k_stop: int,
        settings: Settings,
        history: np.ndarray,
    ) -> tuple[int, int, float]:
        """Steps from iterate k_start towards k_stop (see `iteration.steps`): return (status,
        k reached, b), with w and settings.velocity updated in place and
        history[k_start + 1 : k + 1] filled."""
