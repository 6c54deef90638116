import os
import pathlib

# CUDA tests run on numba-cuda's simulator unless the environment says otherwise (set
# NUMBA_ENABLE_CUDASIM=0 to run them on a real GPU). numba.cuda chooses once, when first
# imported, from numba's config -- which numba read when pytest imported it for the warning
# filters in pyproject.toml: re-read it now, before anything imports numba.cuda.
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
import numba
import numba.core.config

numba.core.config.reload_config()

import numpy as np
import pytest
from hypothesis import settings

# Hypothesis explores new random examples on every local run. CI (.ci/run sets
# HYPOTHESIS_PROFILE=ci) runs a fixed, reproducible set instead, so that a landing never depends
# on luck; what local runs find is fixed and then checked there too.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# scikit-learn's estimator checks include an array-API check that runs only when scipy was
# imported with SCIPY_ARRAY_API=1; set it before anything imports scipy (tests/test_estimator.py).
os.environ.setdefault("SCIPY_ARRAY_API", "1")

SHARED_DATA = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def lecture_points():
    """The lecture's 100 points from ../shared/data; the test is skipped where it is absent."""
    path = SHARED_DATA / "lecture_data.csv"
    if not path.exists():
        pytest.skip(f"{path} is absent (it lives beside the repository, not in it)")
    return np.loadtxt(path, delimiter=",")


@pytest.fixture
def rng():
    return np.random.default_rng(int(os.environ.get("FASTGD_TEST_SEED", "12345")))


@pytest.fixture(autouse=True)
def numba_threads_unchanged():
    """Fail a test that leaves numba's thread count changed (numba.set_num_threads): the tests
    after it would run with another count. The count is restored, so only that test fails."""
    before = numba.get_num_threads()
    yield
    after = numba.get_num_threads()
    if after != before:
        numba.set_num_threads(before)
        pytest.fail(
            f"numba's thread count was {before} before this test and {after} after it: "
            f"restore it (the numba_threads fixture of tests/test_hardening.py does)"
        )


@pytest.fixture(autouse=True)
def no_compile_notice(monkeypatch):
    """The CLI's notice that numba is compiling depends on numba's cache, not on the test: keep
    it out of the stderr that tests read (tests/test_compile_notice.py tests it)."""
    from fastgd import compile_notice

    monkeypatch.setattr(compile_notice, "DELAY", None)
