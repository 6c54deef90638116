"""numba's on-disk cache, keyed on all of fastgd's sources rather than one file's.

numba decides whether a cached kernel is fresh from the stamp of the file that defines it. But
fastgd's entry points inline functions from other modules (gradient.py, iteration.py, ...: see
the comment above the entry points in fastgd/cpu.py), so after an edit of gradient.py alone --
a `git pull` in an editable checkout, which is how the README installs fastgd -- numba would
load kernels compiled from the old gradient.py, and fits would silently follow the old math.
Here each cache locator numba tries for a function of this package adds a digest of the
sources that kernels are compiled from to that stamp (and FASTGD_LANES, fastgd/_vector.py): any
change to them recompiles what depends on it. `KERNEL_SOURCES` lists them: every module that
defines a jitted function, and every fastgd module those import (constants, types, overloads);
tests/test_cache.py checks the list against the imports. An edit elsewhere -- fit.py, the
command line, the docs -- leaves the compiled kernels valid, so CI's kept cache and a
developer's stay warm across such commits.

Under NUMBA_CACHE_DIR numba files a module's kernels in a folder named after a hash of the
module's absolute path, so a fresh clone or a copy of the same sources elsewhere (CI's checkout,
a container's) would find nothing and compile everything again. The stamp already says which
sources a kernel was compiled from, so here the folder is named after the module's place in the
package instead (`fastgd`, `fastgd-distributed`): every checkout of the same sources shares one
cache. Checkouts of different sources then overwrite each other's entries (each recompiles
after the other ran), never load them.

`install(caching)` must run before the kernels' modules are imported (fastgd/__init__.py does
it for numba's CPU cache; fastgd/cuda_kernels.py for numba-cuda's).
"""

import functools
import hashlib
import os

PACKAGE = os.path.dirname(os.path.abspath(__file__))


# The sources that kernels are compiled from, relative to the package (see the module doc).
KERNEL_SOURCES = (
    "_cache.py", "_config.py", "_prefetch.py", "_status.py", "_validation.py", "_vector.py",
    "backend.py", "compiled.py", "coordinate_descent.py", "cpu.py", "cuda_kernels.py",
    "errors.py", "exp_log.py", "families.py", "folds.py", "glm_pass.py", "gradient.py", "gram.py",
    "iteration.py", "lecture.py", "losses.py", "moments.py", "multinomial_pass.py", "peers.py",
    "penalties.py", "sparse.py", "threads.py", "working_set.py",
)  # fmt: skip


@functools.cache
def package_digest():
    """A digest of `KERNEL_SOURCES` (read once per process)."""
    digest = hashlib.sha256()
    for name in KERNEL_SOURCES:
        digest.update(name.encode())
        with open(os.path.join(PACKAGE, name), "rb") as source:
            digest.update(source.read())
    return digest.hexdigest()


def _in_package(py_file):
    return os.path.abspath(py_file).startswith(PACKAGE + os.sep)


def _package_locator(base):
    """`base`, a numba locator class, for this package's functions only, with the digest in
    its source stamp."""

    class PackageLocator(base):  # type: ignore[misc, valid-type]
        def get_source_stamp(self):
            # FASTGD_LANES changes the vectors compiled into the kernels (fastgd/_vector.py).
            lanes = os.environ.get("FASTGD_LANES")
            return (super().get_source_stamp(), package_digest(), lanes)

        @classmethod
        def from_function(cls, py_func, py_file):
            if not _in_package(py_file):
                return None
            return super().from_function(py_func, py_file)

        @classmethod
        def get_suitable_cache_subpath(cls, py_file):
            folder = os.path.relpath(os.path.dirname(os.path.abspath(py_file)), PACKAGE)
            parts = [] if folder == os.curdir else folder.split(os.sep)
            return "-".join(["fastgd", *parts])

    PackageLocator.__name__ = PackageLocator.__qualname__ = f"Package{base.__name__}"
    return PackageLocator


def _of_this_package(cache_path):
    """Whether numba's cache folder `cache_path` holds this package's kernels (the in-tree
    `__pycache__` of its modules, or the folders `get_suitable_cache_subpath` names)."""
    path = os.path.abspath(cache_path)
    return path.startswith(PACKAGE + os.sep) or os.path.basename(path).startswith("fastgd")


def _race_free(index_class):
    """numba's index-and-data cache file, with this package's entries saved so that processes
    compiling at once cannot corrupt them.

    numba numbers a function's data files 1, 2, ... by the first number its copy of the index
    does not use. Two processes compiling two signatures of one kernel at once (pytest-xdist's
    workers, a pool of processes on its first fit) read the same index, both take number 1, and
    whichever writes its data last wins while the index names the other's signature: the next
    process loads one signature's machine code for another and crashes (seen: a segfault in a
    fresh process after a two-worker test run). Here a data file is named after a digest of its
    key (signature and CPU), written before the index entry that names it, and the index is read
    again just before it is written: processes racing can at worst drop each other's index
    entries (a recompile later), never pair a key with another key's code."""

    class RaceFreeIndexDataCacheFile(index_class):  # type: ignore[misc, valid-type]
        def __init__(self, cache_path, filename_base, source_stamp):
            super().__init__(cache_path, filename_base, source_stamp)
            self._fastgd_base = filename_base if _of_this_package(cache_path) else None

        def save(self, key, data):
            if self._fastgd_base is None:
                return super().save(key, data)
            digest = hashlib.sha256(str(key).encode()).hexdigest()[:24]
            data_name = f"{self._fastgd_base}.{digest}.nbc"
            self._save_data(data_name, data)
            overloads = self._load_index()
            overloads[key] = data_name
            self._save_index(overloads)

    RaceFreeIndexDataCacheFile._fastgd = True
    return RaceFreeIndexDataCacheFile


def install_race_free_files(caching_module):
    """Make `caching_module` (numba.core.caching) create `_race_free` cache files: its Cache
    looks the class up by name each time it makes one."""
    current = caching_module.IndexDataCacheFile
    if not getattr(current, "_fastgd", False):
        caching_module.IndexDataCacheFile = _race_free(current)


def install(cache_impl):
    """Put package-aware twins of `cache_impl`'s locator classes first in its list (numba's
    `CacheImpl`, or numba-cuda's), in the same order, so that NUMBA_CACHE_DIR and the in-tree
    and user-wide fallbacks keep working as numba documents them."""
    classes = cache_impl._locator_classes
    if any(getattr(c, "_fastgd", False) for c in classes):
        return
    twins = []
    for base in list(classes):
        twin = _package_locator(base)
        twin._fastgd = True
        twins.append(twin)
    classes[:0] = twins
