"""The iteration, written once: step, check, evaluate, record, stop -- for every backend.

`steps` runs the lecture's iterations from iterate k_start to k_stop. Each backend supplies
only `loss_at(data_0, data_1, data_2, data_3, total_weight, b, w, sums)`: fill `sums` with the
partial sums at (b, w) (see fastgd/gradient.py) and return the loss, from its own data, which
`steps` passes through untouched. The CPU loop computes them in one pass over its rows
(fastgd/cpu.py), the gram method from the data's moments (fastgd/gram.py), the Dask backend by
asking its workers (it runs `steps.py_func`, the same code as plain Python). The CUDA backend
runs the same step and stopping rule on the device (fastgd/cuda_kernels.py).

Four plain data arguments rather than one tuple: numba compiles only the branch that an
argument's type selects (`sample_weight is None`) where it can trace the argument back to the
entry point's, which it cannot through a tuple.

inline="always", like everything a CPU entry point calls: each compiled entry point is then one
function, and the process that compiles it agrees bit for bit with those that load numba's cache.
"""

from numba import njit

from ._config import FASTMATH
from ._status import PARAMS_NOT_FINITE, RAN
from .gradient import all_finite, apply_step, loss_status


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def steps(loss_at, data_0, data_1, data_2, data_3, total_weight, b, w, lr, k_start, k_stop, tol,
          noise, fit_intercept, sums, history):  # fmt: skip
    """Step from iterate k_start to iterate k_stop; return (status, k reached, b).

    On entry (b, w) is iterate k_start, `sums` holds its partial sums and history[k_start] its
    loss. w is updated in place, and on return (b, w), `sums` and history[k] describe iterate k.
    The loop stops early where `gradient.loss_status` says so (tol, noise: its arguments), or
    with PARAMS_NOT_FINITE when a step overflows the parameters. Without `fit_intercept`, b
    stays as it is (`gradient.apply_step`).
    """
    for k in range(k_start, k_stop):
        b = apply_step(sums, total_weight, lr, b, w, fit_intercept)
        if not all_finite(b, w):
            return PARAMS_NOT_FINITE, k + 1, b
        loss = loss_at(data_0, data_1, data_2, data_3, total_weight, b, w, sums)
        history[k + 1] = loss
        status = loss_status(history[k], loss, tol, noise)
        if status != RAN:
            return status, k + 1, b
    return RAN, k_stop, b
