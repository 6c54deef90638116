"""fastgd without numba-cuda: it imports, fits on the CPU (also with device="auto" on data large
enough to consider a GPU) and says how to install the extra when asked for device="cuda"."""

from fresh import run_python

SCRIPT = """
import sys

class NoNumbaCuda:
    def find_spec(self, name, path=None, target=None):
        if name == "numba_cuda" or name.startswith(("numba_cuda.", "numba.cuda")):
            raise ImportError(f"{name} is blocked for this test")

sys.meta_path.insert(0, NoNumbaCuda())

import numpy as np
import fastgd

x = np.linspace(0.0, 1.0, 2_000_000)
result = fastgd.gradient_descent(x, 2.0 * x + 1.0, lr=0.5, n_iter=3)
print(result.device)
try:
    fastgd.gradient_descent(x[:10], x[:10], lr=0.5, n_iter=3, device="cuda")
except fastgd.DeviceError as error:
    print(error)
print(any(name.startswith(("numba.cuda", "numba_cuda")) for name in sys.modules))
"""


def test_fastgd_works_without_numba_cuda():
    done = run_python(SCRIPT)
    assert done.returncode == 0, done.stderr
    device, error, imported = done.stdout.strip().splitlines()
    assert device == "cpu"
    assert "numba-cuda" in error and 'python3 -m pip install -e ".[cuda]"' in error
    assert imported == "False"
