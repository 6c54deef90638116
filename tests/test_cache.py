"""numba's cache follows every change to fastgd, not only to the file that defines a kernel.

The entry points inline functions from other modules (gradient.py into cpu.py's kernels), and
numba stamps a cached kernel with its own file alone: an edit of gradient.py -- a `git pull` in
an editable checkout -- used to leave the old math in the cache (fastgd/_cache.py).
"""

import os
import shutil
import site
import subprocess
import sys

import numpy as np

from fastgd import _cache, cpu

SCRIPT = """
import numpy as np, fastgd
x = np.arange(10.0)
print(fastgd.__file__)
print(fastgd.fit(x, 2 * x + 1, lr=0.01, n_iter=3, method="loop", threads=1).coef[0])
"""


def test_the_kernels_cache_is_stamped_with_the_whole_package():
    locator = cpu.iterate_serial._cache._impl.locator
    assert getattr(type(locator), "_fastgd", False)
    assert _cache.package_digest() in locator.get_source_stamp()


def test_an_edit_of_an_inlined_module_recompiles_the_kernels(tmp_path):
    shutil.copytree(_cache.PACKAGE, tmp_path / "fastgd", ignore=shutil.ignore_patterns("*.nb?"))
    # -S: no site-packages' .pth files, so no editable install's finder can shadow the copy;
    # the installed packages (numpy, numba) come by PYTHONPATH instead.
    path = os.pathsep.join([str(tmp_path), *site.getsitepackages()])
    env = {**os.environ, "PYTHONPATH": path, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}

    def slope():
        done = subprocess.run(
            [sys.executable, "-S", "-c", SCRIPT], env=env, cwd=tmp_path, capture_output=True,
            text=True,
            timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        where, value = done.stdout.split()
        assert where.startswith(str(tmp_path))  # the copy, not the checkout
        return float(value)

    before = slope()
    assert slope() == before  # now from the cache
    gradient = tmp_path / "fastgd" / "gradient.py"
    source = gradient.read_text()
    assert "scale = 2.0 * lr / total_weight" in source
    gradient.write_text(source.replace("scale = 2.0 * lr / total_weight", "scale = 0.0 * lr"))
    assert slope() == 0.0  # the step is gone: the kernels were recompiled
    assert np.isfinite(before) and before != 0.0
