"""The iteration, written once: step, check, evaluate, record, stop -- for every backend.

`steps` runs the iterations from iterate k_start to k_stop, and with k_start == k_stop only
fills the sums at (b, w): a backend evaluates its starting point with the kernel it steps with,
so a fit compiles one kernel per backend, not two (a loop's pass is most of its compile time:
a first 16-target fit compiled 6 s less). Each backend supplies only
`loss_at(data_0, ..., data_5, total_weight, b, w, shift, sums)`: fill `sums` with the
partial sums at (b, w) (see fastgd/gradient.py) and return the loss, from its own data, which
`steps` passes through untouched. The CPU loop computes them in one pass over its rows
(fastgd/cpu.py), the gram method from the data's moments (fastgd/gram.py), the Dask backend by
asking its workers (it runs `steps.py_func`, the same code as plain Python). The CUDA backend
runs the same step and stopping rule on the device (fastgd/cuda_kernels.py).

Six plain data arguments rather than one tuple: numba compiles only the branch that an
argument's type selects (`sample_weight is None`) where it can trace the argument back to the
entry point's, which it cannot through a tuple.

inline="always", like most of what a CPU entry point calls (fastgd/cpu.py says why).
"""

from numba import njit

from ._config import FASTMATH
from ._status import CONVERGED, PARAMS_NOT_FINITE, RAN
from .gradient import (
    MOMENTUM,
    NOISE,
    all_finite,
    apply_step,
    divergence_status,
    gradient_status,
    penalty,
)


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def steps(loss_at, data_0, data_1, data_2, data_3, data_4, data_5, total_weight, b, w, k_start,
          k_stop, rule, shift, precondition, velocity, sums, history):  # fmt: skip
    """Step from iterate k_start to iterate k_stop; return (status, k reached, b). With
    k_start == k_stop, only fill `sums` at (b, w) (nothing else is read or written).

    On entry (b, w) is iterate k_start, `sums` holds its partial sums, `velocity` its momentum
    and history[k_start] its objective (the loss plus `gradient.penalty`). w and velocity are
    updated in place, and on return (b, w), `sums` and history[k] describe iterate k. `rule`
    holds the step's, the penalty's and the stopping rule's
    constants (gradient.LR, ...). The loop stops early with CONVERGED where
    `gradient.gradient_status` says so, with LOSS_INCREASED or LOSS_NOT_FINITE where
    `gradient.divergence_status` does (against the previous loss, or with momentum the
    starting one), and with PARAMS_NOT_FINITE when a step overflows the parameters.
    """
    monotone = rule[MOMENTUM] == 0.0
    evaluate_only = k_start == k_stop
    for k in range(k_start, k_start + 1 if evaluate_only else k_stop):
        if not evaluate_only:
            b = apply_step(sums, total_weight, rule, b, w, precondition, velocity)
            if not all_finite(b, w):
                return PARAMS_NOT_FINITE, k + 1, b
        # One call site: the pass is inlined here, and compiled, once.
        loss = loss_at(data_0, data_1, data_2, data_3, data_4, data_5, total_weight, b, w, shift,
                       sums)  # fmt: skip
        if evaluate_only:
            return RAN, k_start, b
        loss += penalty(rule, w, precondition)  # the objective: the loss, penalized
        history[k + 1] = loss
        status = divergence_status(history[k] if monotone else history[0], loss, rule[NOISE])
        if status == RAN:
            status = gradient_status(sums, total_weight, rule, b, w, precondition)
        if status != RAN:
            return status, k + 1, b
    return RAN, k_stop, b


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def steps_targets(loss_at, data_0, data_1, data_2, data_3, data_4, data_5, total_weight, B, W,
                  k_start, k_stop, rules, shift, precondition, velocities, sums, history, losses,
                  active, reached):  # fmt: skip
    """`steps` for k targets that share their data, each one `steps` would take alone: one
    call of `loss_at` (which fills sums (k, d + 2) and losses (k,) at (B (k,), W (k, d))) per
    iteration serves them all. Row t of rules, velocities, sums and history is target t's.

    A target that converges stops moving (active[t] False, reached[t] its last iterate), as its
    own fit would have stopped there; the others go on. Return (status, target, k): CONVERGED
    when none is active, RAN at k_stop, or the first divergence status and its target. With
    k_start == k_stop, only fill sums and losses at (B, W), as `steps` does."""
    n_targets = B.shape[0]
    evaluate_only = k_start == k_stop
    for k in range(k_start, k_start + 1 if evaluate_only else k_stop):
        for t in range(n_targets):
            if active[t] and not evaluate_only:
                B[t] = apply_step(sums[t], total_weight, rules[t], B[t], W[t], precondition,
                                  velocities[t])  # fmt: skip
                if not all_finite(B[t], W[t]):
                    return PARAMS_NOT_FINITE, t, k + 1
        loss_at(data_0, data_1, data_2, data_3, data_4, data_5, total_weight, B, W, shift, sums,
                losses)  # fmt: skip
        if evaluate_only:
            return RAN, -1, k_start
        running = 0
        for t in range(n_targets):
            if not active[t]:
                continue
            rule = rules[t]
            loss = losses[t] + penalty(rule, W[t], precondition)
            history[t, k + 1] = loss
            reference = history[t, k] if rule[MOMENTUM] == 0.0 else history[t, 0]
            status = divergence_status(reference, loss, rule[NOISE])
            if status != RAN:
                return status, t, k + 1
            if gradient_status(sums[t], total_weight, rule, B[t], W[t], precondition) != RAN:
                active[t] = False
                reached[t] = k + 1
            else:
                running += 1
        if running == 0:
            return CONVERGED, -1, k + 1
    return RAN, -1, k_stop
