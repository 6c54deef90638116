"""../shared/data, beside the repository, and what CI may skip.

The lecture's data and the NIST StRD sets live in ../shared/data, not in the repository. Where
they are absent a test that needs them is skipped with a message that says so; in CI (which sets
CI=true and always has ../shared beside its clone) it fails instead.
"""

import os
import pathlib

import pytest

SHARED_DATA = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# CI installs every optional extra the tests use, so there a skip can only hide a failure:
# tests/conftest.py fails every skip in CI except those whose reason starts with one of these
# (they need hardware or services CI does not have).
EXPECTED_SKIPS = ("needs an NVIDIA GPU", "needs a remote Dask cluster")


def shared_data(name):
    """The path of ../shared/data/NAME; the test is skipped where it is absent (failed in CI)."""
    path = SHARED_DATA / name
    if not path.exists():
        message = f"{path} is absent (it lives beside the repository, in ../shared/data)"
        if IN_CI:
            pytest.fail(f"{message}: CI must have it")
        pytest.skip(message)
    return path
