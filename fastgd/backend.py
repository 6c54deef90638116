"""What a backend is: the `Run` protocol that `fit` drives, written once.

A backend is a module with a `Run` class (fastgd/cpu.py, gram.py, cuda.py, distributed/);
`plan.make_plan` chooses it. `fit` then calls, in this order:

    run = Plan.run(X, y, sample_weight, total_weight, plan.threads)
    run.compile(b, w, settings, history, statistics=...)  # before the fit's timer starts
    run.statistics()                                      # the data's moments, if needed
    history[0] = run.evaluate(b0, w0, settings.shift)     # the loss at the starting point
    run.iterate(b, w, k, k_stop, settings, history)       # a block of steps

so a new backend implements these five methods, and a new option is added to `fit`, to the
`Settings` and to each backend once.

`fit` drives every fit through a `Targets` -- k targets y (n, k) that share X, the parameters
B (k,) and W (k, d) -- which for one target, and on backends without a kernel for several, is
`Columns`: one Run per target, stepped in lockstep by blocks. The CPU loop's `cpu.Targets`
serves all k targets with one pass over X per iteration, and gram's `gram.Targets` computes the
moments of X and all targets in one pass. The math of a step and of the stopping rule is shared by
all backends (fastgd/gradient.py, fastgd/iteration.py).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import numpy as np

from ._status import CONVERGED, RAN
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


def target_settings(settings: Settings, target: int) -> Settings:
    """One target's `Settings` from those of several (rule and velocity: one row per target)."""
    rules, shift, precondition, velocities = settings
    return Settings(rules[target], shift, precondition, velocities[target])


class Targets(Protocol):
    """A fit of k targets that share X (k = 1 for a 1-D y): what `fit` drives. The same steps
    as `Run`'s, with B (k,) and W (k, d) and one row per target in the `Settings`' rule and
    velocity and in history (k, n_iter + 1)."""

    threads: int

    def compile(
        self, B: np.ndarray, W: np.ndarray, settings: Settings, history: np.ndarray,
        statistics: bool = False,
    ) -> None: ...  # fmt: skip

    def statistics(self, target: int) -> Moments:
        """The `Moments` of X and target `target`."""

    def evaluate(self, B: np.ndarray, W: np.ndarray, shift: np.ndarray) -> np.ndarray:
        """The loss of each target at its (B[t], W[t])."""

    def sums_of(self, target: int) -> np.ndarray:
        """Target `target`'s partial sums at its last evaluated iterate."""

    def iterate(
        self, B: np.ndarray, W: np.ndarray, k_start: int, k_stop: int, settings: Settings,
        history: np.ndarray, active: np.ndarray, reached: np.ndarray,
    ) -> tuple[int, int, int]:  # fmt: skip
        """Step the active targets from iterate k_start towards k_stop (`iteration.steps`): a
        target that converges is marked inactive, with its last iterate in reached[t]. Return
        (status, target, k): CONVERGED when no target is left active, RAN at k_stop, or a
        divergence status and the target that diverged."""


class Columns:
    """`Targets` as one `Run` per target, each making its own passes: one target on any
    backend, and several on those without a kernel for them (the GPU, Dask, gram's
    iterations, which cost O(d**2) each anyway)."""

    def __init__(self, runs: list[Any]) -> None:
        self.runs = runs

    @property
    def threads(self) -> int:
        return int(self.runs[0].threads)  # known once a Dask Run has found its workers

    def compile(self, B, W, settings, history, statistics=False):
        for t, run in enumerate(self.runs):
            run.compile(float(B[t]), W[t], target_settings(settings, t), history[t], statistics)

    def statistics(self, target):
        return self.runs[target].statistics()

    def evaluate(self, B, W, shift):
        return np.array([run.evaluate(float(B[t]), W[t], shift) for t, run in enumerate(self.runs)])

    def sums_of(self, target):
        return self.runs[target].sums

    def iterate(self, B, W, k_start, k_stop, settings, history, active, reached):
        for t, run in enumerate(self.runs):
            if not active[t]:
                continue
            status, k, B[t] = run.iterate(
                float(B[t]), W[t], k_start, k_stop, target_settings(settings, t), history[t]
            )
            if status == CONVERGED:
                active[t] = False
                reached[t] = k
            elif status != RAN:
                return status, t, k
        if not active.any():
            return CONVERGED, -1, int(reached.max())
        return RAN, -1, k_stop
