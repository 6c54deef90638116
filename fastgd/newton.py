"""What every Newton solver here shares (fastgd/glm.py, fastgd/huber_scale.py): the stopping
rule on the step's size, and the backtracking line search.

Near the optimum Newton's step is the distance to it, so a fit stops when the step is within
`tol` of the parameters' size. Below about the system's condition times epsilon the step cannot
shrink any more (the gradient's rounding): steps that stop halving there end the fit too, as
converged. Above that floor, steps that stop halving are a slow convergence, and the fit goes
on. The line search asks for Armijo's decrease of the objective, but takes the full step where
the decrease it predicts is below the objective's own rounding: so close to the optimum the
step is the better guide, and halving it to nothing would stall the fit (it held Newton's steps
at 2e-10 of the parameters before).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

ARMIJO = 1e-4  # the share of the predicted decrease a step must achieve
HALVINGS = 50  # the most halvings of a step before it is given up
ROUNDING_STEP = 1e-10  # a relative step below which the gradient's rounding may hold the steps
STALLED_STEPS = 3  # steps in a row that do not halve the smallest one, at the rounding floor
F_ROUNDING = 64 * np.finfo(np.float64).eps  # the objective's sums' rounding, relative


class Stopping:
    """Newton's stopping rule for one fit: `converged(relative_step)` after each step."""

    def __init__(self, tol: float) -> None:
        self.tol = tol
        self.smallest = math.inf
        self.stalled = 0

    def converged(self, relative_step: float) -> bool:
        if relative_step <= self.tol:
            return True
        if relative_step < 0.5 * self.smallest:
            self.smallest, self.stalled = relative_step, 0
        else:
            self.stalled += 1
        return self.stalled >= STALLED_STEPS and relative_step <= ROUNDING_STEP


def backtrack(
    objective: Callable[[float], tuple[float, Any]], value: float, slope: float
) -> tuple[float, float, Any] | None:
    """(t, objective, state) for the first of t = 1, 1/2, ... whose `objective(t)` = (value,
    state) meets Armijo's condition (or any t where the predicted decrease, -slope t, is below
    the objective's rounding); None where none does (`slope`: the objective's derivative along
    the step, < 0)."""
    t = 1.0
    for _ in range(HALVINGS):
        trial, state = objective(t)
        if trial <= value + ARMIJO * t * slope or -slope <= F_ROUNDING * abs(value):
            return t, trial, state
        t *= 0.5
    return None
