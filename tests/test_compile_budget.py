"""How many kernels a user's first calls need: counted, not timed, against numbers written here.

A user's first call compiles every kernel it needs (bench/first_calls.py times them), so a change
that adds a kernel to a common path costs every new user, CI job and container seconds. This
test makes that change show in review: each call of bench/first_calls.py runs in a fresh
interpreter (with the suite's numba cache: loading a kernel counts as needing it, as compiling
it does) and the kernels it needed, signature by signature, must be the ones below. When a change
needs more on purpose, update the number and say why in the commit; when it needs fewer, lower it.
"""

import importlib.util
import os
import sys

import pytest
from tiers import FULL

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location(
    "first_calls", os.path.join(_ROOT, "bench", "first_calls.py")
)
first_calls = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(first_calls)

# The kernel signatures that each first call asks numba for (bench/first_calls.py: compiled or
# loaded from the cache; the functions a kernel calls are not counted, except the step's
# functions that the host calls too, which fit asks for by themselves: stopping.compile_host_math).
# A default fit on gram needs 4: gram's iterations, and the host's penalty, stationarity and loss
# from the moments (`moments.sums_from_moments`, gram's loss too); the moments of these small
# data come from NumPy's products (`moments.uses_kernel`), not the compiled pass. The loop needs
# 4: its iterations in gram's place, which also evaluate the starting point (`iteration.steps`
# with k_start == k_stop); the Huber and logistic losses have no moment bound, so no
# sums_from_moments. Measured on 2026-12-07 (the moment pass below 2^18 values by NumPy: one
# kernel fewer in every first call but the Newton pass's, two fewer in the two-thread loop).
EXPECTED = {
    "import": 0,
    "1-D, defaults": 4,
    "(10^4, 8), defaults": 4,
    "loop, one thread": 4,
    "loop, two threads": 4,
    "standardize, momentum, tol": 4,
    "LinearRegressionGD": 4,
    "penalty l1": 4,
    "huber": 3,
    "16 targets, loop": 4,
    "CSR X": 4,
    "float32, loop": 4,
    "logistic, loop": 3,  # as the Huber loss: no moment bound
    # Below 2^18 values the Newton pass is NumPy's products: Poisson's row terms alone.
    "PoissonRegressorGD (Newton)": 1,
    "demo": 4,
}

# In CI's tier the calls that share no kernels with each other (each is a fresh interpreter, 1-2 s
# with a filled cache); all of them in the full tier.
_CI = ["import", "1-D, defaults", "loop, two threads", "16 targets, loop", "CSR X", "demo"]


@pytest.mark.parametrize("name", list(first_calls.CASES) if FULL else _CI)
def test_a_first_call_needs_the_kernels_it_always_did(name):
    _, _, needed = first_calls.run(name)  # with the suite's numba cache
    listing = "\n".join(f"  {kernel}: {count}" for kernel, count in sorted(needed.items()))
    assert sum(needed.values()) == EXPECTED[name], (
        f"{name!r} needs {sum(needed.values())} kernel signatures, not {EXPECTED[name]}:\n"
        f"{listing}\nA change that adds a kernel to this first call costs every new user its "
        "compile time: remove it, or update EXPECTED and say why (bench/first_calls.py)."
    )


def test_the_benchmark_lists_every_call_this_test_counts():
    assert set(EXPECTED) == set(first_calls.CASES), sys.modules[__name__].__doc__
