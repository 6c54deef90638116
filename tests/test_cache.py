"""numba's cache follows every change to fastgd, not only to the file that defines a kernel,
and serves every checkout of the same sources (fastgd/_cache.py).

The entry points inline functions from other modules (gradient.py into cpu.py's kernels), and
numba stamps a cached kernel with its own file alone: an edit of gradient.py -- a `git pull` in
an editable checkout -- used to leave the old math in the cache. And under NUMBA_CACHE_DIR numba
files kernels by their module's absolute path, so CI's fresh clone compiled everything again.
"""

import os
import shutil
import site
import subprocess
import sys

import numpy as np

from fastgd import _cache, cpu

SCRIPT = """
from numba.core import event
compiles = []
class Count(event.Listener):
    def on_start(self, ev): compiles.append(ev)
    def on_end(self, ev): pass
event.register("numba:compile", Count())
import numpy as np, fastgd
x = np.arange(10.0)
print(fastgd.__file__)
print(fastgd.gradient_descent(x, 2 * x + 1, lr=0.01, n_iter=3, method="loop", threads=1).coef[0])
print(len(compiles))
"""


def test_the_kernels_cache_is_stamped_with_their_sources():
    locator = cpu.iterate_serial._cache._impl.locator
    assert getattr(type(locator), "_fastgd", False)
    assert _cache.package_digest() in locator.get_source_stamp()


def _copy(folder):
    shutil.copytree(_cache.PACKAGE, folder / "fastgd", ignore=shutil.ignore_patterns("*.nb?"))
    return folder


def _fit_in_copy(copy, cache):
    """(slope, compiles) of SCRIPT run with the package copied to `copy`, caching in `cache`."""
    # -S: no site-packages' .pth files, so no editable install's finder can shadow the copy;
    # the installed packages (numpy, numba) come by PYTHONPATH instead.
    path = os.pathsep.join([str(copy), *site.getsitepackages()])
    env = {**os.environ, "PYTHONPATH": path, "NUMBA_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-S", "-c", SCRIPT], env=env, cwd=copy, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    where, value, compiles = done.stdout.split()
    assert where.startswith(str(copy))  # the copy, not the checkout
    return float(value), int(compiles)


def test_an_edit_of_an_inlined_module_recompiles_the_kernels(tmp_path):
    copy, cache = _copy(tmp_path / "copy"), tmp_path / "cache"
    before, compiled = _fit_in_copy(copy, cache)
    assert compiled > 0
    assert _fit_in_copy(copy, cache) == (before, 0)  # now from the cache
    gradient = copy / "fastgd" / "gradient.py"
    source = gradient.read_text()
    assert "scale = 2.0 * lr / total_weight" in source
    gradient.write_text(source.replace("scale = 2.0 * lr / total_weight", "scale = 0.0 * lr"))
    slope, recompiled = _fit_in_copy(copy, cache)
    assert slope == 0.0 and recompiled > 0  # the step is gone: the kernels were recompiled
    assert np.isfinite(before) and before != 0.0


def test_a_checkout_elsewhere_loads_the_kernels_that_another_compiled(tmp_path):
    # CI's fresh clone in a new folder, with numba's cache kept between runs (.ci/run).
    cache = tmp_path / "cache"
    first, compiled = _fit_in_copy(_copy(tmp_path / "one"), cache)
    assert compiled > 0
    assert _fit_in_copy(_copy(tmp_path / "two"), cache) == (first, 0)


def _kernel_sources():
    """Every module that defines a jitted function, and every fastgd module those import, as
    files relative to the package (read with test_architecture's import reader)."""
    import re

    from test_architecture import PACKAGE, _imports, _modules

    jitted = re.compile(r"@(njit|cuda\.jit|overload|intrinsic|register_jitable)\b|\bnjit\(")
    paths = {name: path for path, name in _modules().items()}
    needed = {name for name, path in paths.items() if jitted.search(path.read_text())}
    todo = list(needed)
    while todo:
        for top in _imports(paths[todo.pop()]):
            for name in paths:
                if (name == top or name.startswith(top + ".")) and name not in needed:
                    needed.add(name)
                    todo.append(name)
    return {str(paths[name].relative_to(PACKAGE)) for name in needed}


def test_the_digest_covers_every_source_a_kernel_is_compiled_from():
    missing = _kernel_sources() - set(_cache.KERNEL_SOURCES)
    assert not missing, f"add {sorted(missing)} to _cache.KERNEL_SOURCES: kernels depend on them"
    assert "gradient.py" in _cache.KERNEL_SOURCES and "fit.py" not in _cache.KERNEL_SOURCES
    for name in _cache.KERNEL_SOURCES:
        assert os.path.isfile(os.path.join(_cache.PACKAGE, name)), name


def test_an_edit_outside_the_kernels_sources_keeps_the_cache(tmp_path):
    copy, cache = _copy(tmp_path / "copy"), tmp_path / "cache"
    before, compiled = _fit_in_copy(copy, cache)
    assert compiled > 0
    fit = copy / "fastgd" / "fit.py"
    fit.write_text(fit.read_text() + "\n# an edit of the driver, not of a kernel\n")
    assert _fit_in_copy(copy, cache) == (before, 0)


def test_processes_compiling_at_once_never_pair_a_signature_with_another_ones_code(tmp_path):
    """numba numbers a kernel's data files by the first number free in its copy of the index:
    two processes compiling two signatures at once both took number 1, and the index named one
    signature while the file held the other's machine code (a segfault in the next process).
    fastgd's cache files (fastgd/_cache.py) name each data file after its key and write it
    before the index entry; here the race is played out step by step: B read the index before
    A wrote it, and A's data lands last. B's entry must load B's data, A's at worst nothing."""
    from numba.core import caching

    import fastgd  # noqa: F401  (installs fastgd's cache files)

    assert getattr(caching.IndexDataCacheFile, "_fastgd", False)
    folder = tmp_path / "fastgd"
    folder.mkdir()

    def cache_file(path):
        return caching.IndexDataCacheFile(str(path), "kernel-1.py311", ("stamp",))

    a, b = cache_file(folder), cache_file(folder)
    stale = b._load_index()  # B's view of the index, before A saves anything
    b._load_index = lambda: dict(stale)
    b.save(("signature B",), "code of B")
    a.save(("signature A",), "code of A")
    reader = cache_file(folder)
    assert reader.load(("signature A",)) == "code of A"
    assert reader.load(("signature B",)) in (None, "code of B")  # dropped at worst
    # numba's own numbering (this class's base), the same steps: B's entry loads A's code.
    numbered = caching.IndexDataCacheFile.__mro__[1]
    plain = tmp_path / "plain"
    plain.mkdir()
    a = numbered(str(plain), "kernel-1.py311", ("stamp",))
    b = numbered(str(plain), "kernel-1.py311", ("stamp",))
    b._load_index = dict  # B read the index before A wrote it: empty
    a.save(("signature A",), "code of A")
    b.save(("signature B",), "code of B")
    a._save_data(a._data_name(1), "code of A")  # A's data, which A named 1 too, lands last
    assert numbered(str(plain), "kernel-1.py311", ("stamp",)).load(("signature B",)) == (
        "code of A"
    )
