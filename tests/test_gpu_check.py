"""bench/gpu_check.py, the GPU check for a machine with an NVIDIA GPU, runs here with --smoke in
numba-cuda's simulator: its checks pass and it writes its JSON (so that it is ready to run
whenever a GPU is lent)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tiers

pytest.importorskip("numba.cuda")
SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "gpu_check.py"


def test_gpu_check_smoke_passes_in_the_simulator(tmp_path):
    out = tmp_path / "gpu_check.json"
    environment = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    completed = subprocess.run(
        # No time budget: on a busy CI machine the simulator may take minutes to get there.
        [sys.executable, str(SCRIPT), "--smoke", "--out", str(out), "--budget", "1e9"],
        env=environment, capture_output=True, text=True, timeout=1200, cwd=tmp_path,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    results = json.loads(out.read_text())
    checks = [r for r in results if r["kind"] == "check"]
    assert all(r["ok"] for r in checks)
    # CI's tier: each dtype, width and weighting once, and gram's tiled moments (d = 20) only in
    # tests/test_cuda.py, which runs that kernel too.
    layouts, tiled = (8, {"gram d=20"}) if tiers.FULL else (2, set())
    assert len(checks) == layouts + 12 + len(tiled)
    assert {r["name"] for r in checks} >= {
        "float64 d=1 weighted=False", "float32 d=8 weighted=True", "n=1", "ridge", "lasso",
        "huber", "positive", "gram d=8", "loop d=300", "tol", "divergence",
        "two targets (host data)", "device arrays, lr='auto'",
    } | tiled  # fmt: skip
    benches = [r for r in results if r["kind"] == "bench"]
    assert {(r["n"], r["d"], r["dtype"]) for r in benches} == {(200, 1, "float32"),
                                                              (100, 8, "float64")}  # fmt: skip
    fields = {"n", "d", "dtype", "iterations", "us_per_iteration", "GBps", "pct_peak", "timed"}
    assert all(fields <= r.keys() and r["timed"] is False for r in benches)
    assert results[-1]["kind"] == "summary" and results[-1]["failed"] == []
