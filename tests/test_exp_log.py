"""fastgd/exp_log.py: exp, log and log1p in plain arithmetic, against NumPy's (the C library's).

They are the GLMs' row terms (fastgd/families.py), so they are held to a few units in the last
place over their whole domains, called on their own and from a fast-math kernel (numba compiles
a function with the flags of the kernel that first calls it: reassociation would fold the
float tricks they avoid), in a fresh process with an empty cache so that the kernel's call is
the first compile.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ULPS = {"exp": 4, "log": 4, "log1p": 6}  # measured 1, 2 and 3 on the development machine


def _inputs():
    rng = np.random.default_rng(5)
    exp_x = np.concatenate([
        np.linspace(-708.0, 709.0, 200_001), rng.normal(size=50_000) * 5,
        [0.0, -0.0, 1e-300, -1e-300, 0.5 * np.log(2), -0.5 * np.log(2), 1.0, -1.0],
    ])  # fmt: skip
    log_x = np.concatenate([
        np.exp(np.linspace(-700.0, 700.0, 200_001)), rng.uniform(0.5, 2.0, 50_000),
        [1.0, 2.0, 0.5, np.sqrt(0.5), np.nextafter(np.sqrt(0.5), 0), np.sqrt(2.0),
         np.finfo(np.float64).tiny, np.finfo(np.float64).max, 1e-310, 5e-324,
         np.nextafter(np.finfo(np.float64).tiny, 0)],
    ])  # fmt: skip
    log1p_x = np.concatenate([np.linspace(0.0, 1.0, 100_001), 10.0 ** -np.linspace(0, 300, 3001)])
    return {"exp": exp_x, "log": log_x, "log1p": log1p_x}


_SCRIPT = """
import json, sys
import numpy as np
from numba import njit
from fastgd import exp_log
from fastgd._config import FASTMATH
sys.path.insert(0, {tests!r})
from test_exp_log import _inputs, _ulps

def kernel(function):
    @njit(fastmath=FASTMATH, error_model="numpy")
    def each(x, out):
        for i in range(x.shape[0]):
            out[i] = function(x[i])
    return each

worst = {{}}
for name, x in _inputs().items():
    function = getattr(exp_log, name)
    out = np.empty_like(x)
    if {through_kernel}:
        kernel(function)(x, out)
    else:  # one value at a time, from Python: a sample of them
        x = x[::50]
        out = np.array([function(v) for v in x])
    worst[name] = _ulps(name, x, out)
print(json.dumps(worst))
"""


def _ulps(name, x, out):
    """The largest error, in units in the last place of the exact (NumPy's) value."""
    reference = getattr(np, name)(x)
    spacing = np.spacing(np.maximum(np.abs(reference), np.finfo(np.float64).tiny))
    return float(np.max(np.abs(out - reference) / spacing))


@pytest.mark.parametrize("through_kernel", [True, False], ids=["in a fast-math kernel", "alone"])
def test_exp_log_are_within_a_few_units_in_the_last_place(tmp_path, through_kernel):
    script = _SCRIPT.format(tests=os.path.dirname(__file__), through_kernel=through_kernel)
    environment = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))  # an empty cache: compiled here
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=environment, timeout=600, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    worst = json.loads(result.stdout.strip().splitlines()[-1])
    for name, ulps in worst.items():
        assert ulps <= ULPS[name], (name, ulps)


def test_exp_saturates_and_passes_nan_through():
    from fastgd import exp_log

    assert exp_log.exp(-1e10) == pytest.approx(np.exp(-708.0), rel=1e-15)
    assert exp_log.exp(1e10) == pytest.approx(np.exp(709.0), rel=1e-15)
    assert np.isnan(exp_log.exp(np.nan))
    assert exp_log.exp(0.0) == 1.0
    assert exp_log.log(1.0) == 0.0
    assert exp_log.log1p(0.0) == 0.0
    assert exp_log.log1p(1e-300) == 1e-300
