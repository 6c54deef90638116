import os

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
from compile_report import CompileReport
from hypothesis import settings
from shared import EXPECTED_SKIPS, IN_CI, shared_data

# Hypothesis explores new random examples on every local run. CI (.ci/run sets
# HYPOTHESIS_PROFILE=ci) runs a fixed, reproducible set instead, so that a landing never depends
# on luck; what local runs find is fixed and then checked there too.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# scikit-learn's estimator checks include an array-API check that runs only when scipy was
# imported with SCIPY_ARRAY_API=1; set it before anything imports scipy (tests/test_estimator.py).
os.environ.setdefault("SCIPY_ARRAY_API", "1")


@pytest.fixture
def lecture_points():
    """The lecture's 100 points from ../shared/data (`shared_data`)."""
    return np.loadtxt(shared_data("lecture_data.csv"), delimiter=",")


@pytest.fixture
def rng():
    return np.random.default_rng(int(os.environ.get("FASTGD_TEST_SEED", "12345")))


@pytest.fixture(params=["kernel", "numpy"])
def pass_path(request, monkeypatch):
    """Each of the two ways to a pass's sums (the moments, fastgd/moments.py and sparse.py; a
    GLM's Newton pass, glm_pass.py): the compiled pass, which data of every size takes here,
    and NumPy's (scipy's) products, which it takes below a threshold out of reach. Left alone,
    a test's small data takes NumPy's."""
    monkeypatch.setattr(
        "fastgd._config.PASS_KERNEL_MIN_VALUES", 0 if request.param == "kernel" else 1 << 62
    )
    return request.param


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


# --- tiers, skips and what the run compiled ---------------------------------------------------


def pytest_addoption(parser):
    parser.addoption(
        "--full", action="store_true",
        help="the full tier (as FASTGD_TESTS=full): whole cross-products, tests marked full",
    )  # fmt: skip


def pytest_configure(config):
    if config.getoption("--full"):
        # tests/tiers.py reads this when the test modules are imported, after this hook.
        os.environ["FASTGD_TESTS"] = "full"
    config.addinivalue_line("markers", "full: runs in the full tier only (tests/tiers.py)")
    config.pluginmanager.register(CompileReport(), "fastgd_compile_report")


def pytest_collection_modifyitems(config, items):
    import tiers

    if tiers.FULL or os.environ.get("FASTGD_TESTS") == "full":
        return
    deselected = [item for item in items if item.get_closest_marker("full")]
    if deselected:
        items[:] = [item for item in items if not item.get_closest_marker("full")]
        config.hook.pytest_deselected(items=deselected)
        config._fastgd_full_only = len(deselected)


def _fail_unexpected_skip(report):
    """In CI, turn a skip whose reason is not in EXPECTED_SKIPS into a failure."""
    if not (IN_CI and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    if not reason.startswith(EXPECTED_SKIPS):
        report.outcome = "failed"
        report.longrepr = (
            f"skipped in CI: {reason}\nCI has ../shared and installs every extra the tests use, "
            f"so this skip would hide a failure (expected skips: {EXPECTED_SKIPS})"
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_unexpected_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield  # a whole module skipped (pytest.importorskip at its top)
    _fail_unexpected_skip(outcome.get_result())


def pytest_terminal_summary(terminalreporter, config):
    import tiers

    full_only = getattr(config, "_fastgd_full_only", 0)
    tier = "full" if tiers.FULL else "CI's (pairwise; FASTGD_TESTS=full or --full for all)"
    line = f"test tier: {tier}"
    if full_only:
        line += f"; {full_only} tests of the full tier deselected"
    terminalreporter.write_line(line)
