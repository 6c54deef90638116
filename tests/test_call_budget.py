"""How much Python a small fit runs: fastgd's own function calls, counted against a budget.

A fit on 100 points takes microseconds in its kernels, so its cost is the Python around them:
validation, planning, the result (bench/test_overhead.py times it, never asserted; the target is
<= 30 us with lr given, <= 40 us with lr="auto"). Each option added to `fit` used to add Python
to every call unnoticed (109 us where 17-25 us had been measured). This counts, with
`sys.setprofile`, the calls of fastgd's own Python functions in a second fit (the first
compiles), which is the same on every machine and numpy version, against the budgets below: a
change that adds Python to every small fit shows here, in review. Lower a budget when a change
saves calls; raise it only with a reason in the commit.
"""

import collections
import os
import sys

import pytest

import fastgd
from fastgd.datasets import lecture_like

PACKAGE = os.path.dirname(os.path.abspath(fastgd.__file__))

# Counted on 2026-12-06; then 5 more each for the penalty as a type with per-feature weights and
# bounds (fastgd/penalties.py: make_penalty, the type's constructor and strengths, and the rule's
# per-feature runs, rule_size and write_penalty), which every fit now checks and writes; then
# 5-6 more for fit's phases as functions of their own (fit.py: _start_and_penalty, _moments,
# _start_loss, _step_and_momentum, _write_stopping, _finish, _result; options.check_options),
# a call each, which a 190-line fit() had inline; then 1 more, stopping.compile_host_math (the
# step's functions, called rather than inlined, asked for once per process); then 1 more, the
# loss's number and parameter (two properties) where its threshold was one. Then 9-12 fewer:
# an option at its default is not checked again, and a fit without a penalty shares one
# unpenalized Penalty per width. Then 1 more where tol is set: the stopping rule tested at the
# start too (the parameters' size, stopping.parameters_norm), so that a warm start from the
# optimum takes no step. Then 1 fewer for the fits with moments: the moment pass decides
# whether y is one column of several once (2026-12-07). Then 8 fewer for those fits: small data's
# moments by NumPy's products (moments.uses_kernel), without the pass's scratch and range calls.
BUDGETS = {
    "lr given, loop": ({"lr": 1e-4, "n_iter": 1, "method": "loop", "threads": 1}, 99),
    "lr='auto', loop": ({"lr": "auto", "n_iter": 1, "method": "loop", "threads": 1}, 116),
    "plain, defaults, one step": ({"n_iter": 1}, 101),
    "fit's defaults, one step": ({"n_iter": 1, "fit": True}, 104),
}


def _fastgd_calls(options):
    x, y = lecture_like(100)
    options = dict(options)
    run = fastgd.fit if options.pop("fit", False) else fastgd.gradient_descent
    run(x, y, **options)  # compiles, or loads numba's cache: not counted
    counts = collections.Counter()

    def profile(frame, event, arg):
        # numba reports each call of a compiled kernel to a profiler as a call with a frame of
        # its own and no caller (f_back None): the kernels' time is not the Python around
        # them, so those are not counted.
        if event != "call" or frame.f_back is None:
            return
        if frame.f_code.co_filename.startswith(PACKAGE + os.sep):
            code = frame.f_code
            counts[f"{os.path.relpath(code.co_filename, PACKAGE)}:{code.co_name}"] += 1

    sys.setprofile(profile)
    try:
        run(x, y, **options)
    finally:
        sys.setprofile(None)
    return counts


@pytest.mark.parametrize("name", list(BUDGETS))
def test_a_small_fit_runs_no_more_python_than_its_budget(name):
    options, budget = BUDGETS[name]
    counts = _fastgd_calls(options)
    listing = "\n".join(f"  {count} {where}" for where, count in counts.most_common())
    assert sum(counts.values()) == budget, (
        f"a small fit ({name}) calls fastgd's Python {sum(counts.values())} times, its budget "
        f"is {budget}: above it, find what the change added to every fit; below it, lower the "
        f"budget here.\n{listing}"
    )
