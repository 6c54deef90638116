"""`fastgd bench`: its table, its JSON report's stable layout and its plot, at tiny sizes.

Times themselves are never asserted; only how they are reported.
"""

import io
import json
import types

import numba
import pytest

from fastgd import benchmark
from fastgd.cli import main
from fastgd.errors import DeviceError

TOP_KEYS = {
    "schema", "version", "created", "fastgd", "python", "numpy", "numba", "machine", "config",
    "results", "skipped",
}  # fmt: skip
MACHINE_KEYS = {"platform", "processor", "cpus", "numba_threads", "load_average"}
CONFIG_KEYS = {"n", "iters", "threads", "repeats", "python_points", "features", "dtype", "lr"}


@pytest.fixture(scope="module")
def report():
    return benchmark.run(n=3000, iters=4, threads=None, repeats=2, python_points=1000)


def test_report_layout_is_stable(report):
    assert set(report) == TOP_KEYS
    assert (report["schema"], report["version"]) == ("fastgd-bench", 1)
    assert set(report["config"]) == CONFIG_KEYS
    assert set(report["machine"]) == MACHINE_KEYS
    assert report["config"]["python_points"] == 1000
    for row in report["results"]:
        assert tuple(row) == benchmark.RESULT_KEYS
        # The median of two runs is their mean.
        assert len(row["seconds_all"]) == 2
        assert row["seconds"] == pytest.approx(sum(row["seconds_all"]) / 2, rel=1e-12)
    for skip in report["skipped"]:
        assert set(skip) == {"name", "reason"} and skip["reason"]
    json.loads(json.dumps(report))  # plain JSON types only


def test_report_paths_and_derived_numbers(report):
    rows = {row["name"]: row for row in report["results"]}
    expected = {"fastgd-serial", "fastgd-gram", "numpy", "python-lecture", "read-floor"}
    if numba.get_num_threads() > 1:
        expected.add("fastgd-parallel")
    assert expected <= set(rows)
    assert set(rows) | {s["name"] for s in report["skipped"]} >= expected | {"fastgd-cuda"}
    numpy, floor = rows["numpy"], rows["read-floor"]
    for row in rows.values():
        # Invariants between the report's own raw numbers: the per-point-iteration time times
        # the work is the measured time, and each ratio times this row's time is the peer's.
        work = row["points"] * row["iterations"]
        assert row["ns_per_point_iter"] * work == pytest.approx(row["seconds"] * 1e9, rel=1e-12)
        ns = row["ns_per_point_iter"]
        assert row["ratio_to_numpy"] * ns == pytest.approx(numpy["ns_per_point_iter"], rel=1e-12)
        if row["bandwidth_share"] is not None:
            share = row["bandwidth_share"] * ns
            assert share == pytest.approx(floor["ns_per_point_iter"], rel=1e-12)
    assert rows["numpy"]["ratio_to_numpy"] == 1.0
    assert rows["read-floor"]["bandwidth_share"] == 1.0
    assert rows["python-lecture"]["bandwidth_share"] is None
    assert rows["fastgd-gram"]["bandwidth_share"] is None
    lecture = rows["python-lecture"]
    assert lecture["points"] == 1000 and lecture["iterations"] == 1
    assert lecture["note"] == "on 1,000 of the 3,000 points, extrapolated per point"
    assert rows["fastgd-serial"]["points"] == 3000 and rows["fastgd-serial"]["iterations"] == 4
    assert numpy["iterations"] == 4  # 3000 * 4 point-iterations: far below NumPy's cap


def fake_clock(durations):
    """time.perf_counter for benchmark._time: each timed run takes the next of `durations`."""
    readings = iter([reading for seconds in durations for reading in (0.0, seconds)])
    return types.SimpleNamespace(perf_counter=lambda: next(readings)), readings


# Seconds of each timed run, row by row, for the fake clock; and what the report must say,
# worked out by hand (n = 1000 points, 4 iterations, NumPy capped at 2000 point-iterations).
FAKE_SECONDS = {
    "fastgd-serial": [4e-6, 2e-6, 8e-6, 9e-6, 1e-6],  # median 4e-6 s / 4000 = 1 ns
    "fastgd-gram": [2e-6] * 5,  # 0.5 ns
    "numpy": [5e-5, 3e-5, 6e-5, 7e-5, 2e-5],  # 2 iterations: 5e-5 s / 2000 = 25 ns
    "python-lecture": [1e-4, 3e-4, 0.5e-4],  # at most 3 runs; 100 points, 1 iteration: 1000 ns
    "read-floor": [2e-6, 0.5e-6, 3e-6, 2e-6, 1e-6],  # 0.5 ns
}
BY_HAND = {  # name: (points, iterations, seconds, ns per point-iteration, vs NumPy, of bw)
    "fastgd-serial": (1000, 4, 4e-6, 1.0, 25.0, 0.5),
    "fastgd-gram": (1000, 4, 2e-6, 0.5, 50.0, None),
    "numpy": (1000, 2, 5e-5, 25.0, 1.0, 0.02),
    "python-lecture": (100, 1, 1e-4, 1000.0, 0.025, None),
    "read-floor": (1000, 4, 2e-6, 0.5, 50.0, 1.0),
}


def test_report_numbers_for_a_fake_clock_match_hand_computed_values(monkeypatch):
    clock, readings = fake_clock([s for seconds in FAKE_SECONDS.values() for s in seconds])
    monkeypatch.setattr(benchmark, "time", clock)
    monkeypatch.setattr(benchmark, "_cuda_problem", lambda: "no GPU in this test")
    monkeypatch.setattr(benchmark, "NUMPY_POINT_ITERATIONS", 2000)
    report = benchmark.run(n=1000, iters=4, threads=1, repeats=5, python_points=100)
    assert next(readings, None) is None  # every timed run read the clock twice, no more
    rows = {row["name"]: row for row in report["results"]}
    assert list(rows) == list(BY_HAND)
    for name, (points, iterations, seconds, ns, ratio, share) in BY_HAND.items():
        row = rows[name]
        assert (row["points"], row["iterations"]) == (points, iterations), name
        assert row["seconds_all"] == FAKE_SECONDS[name] and row["seconds"] == seconds, name
        assert row["ns_per_point_iter"] == pytest.approx(ns, rel=1e-12), name
        assert row["ratio_to_numpy"] == pytest.approx(ratio, rel=1e-12), name
        expected_share = None if share is None else pytest.approx(share, rel=1e-12)
        assert row["bandwidth_share"] == expected_share, name
    assert report["skipped"] == [
        {"name": "fastgd-parallel", "reason": "threads=1"},
        {"name": "fastgd-cuda", "reason": "no GPU in this test"},
    ]
    # The table's rows: label (28 characters), then points, iterations, ns, ratio, share, note.
    lines = benchmark.format_table(report).splitlines()
    table = {line[:28].rstrip(): line[28:].split(maxsplit=5) for line in lines}
    assert table["fastgd, 1 thread"] == ["1,000", "4", "1", "25x", "50%"]
    assert table["NumPy vectorized GD"] == ["1,000", "2", "25", "1x", "2%"]
    assert table["lecture's Python loops"] == [
        "100", "1", "1000", "0.025x", "-", "(on 100 of the 1,000 points, extrapolated per point)",
    ]  # fmt: skip
    assert table["plain read of x and y"] == [
        "1,000", "4", "0.5", "50x", "100%", "(memory-bandwidth floor)",
    ]  # fmt: skip


def test_table_has_a_row_per_path(report):
    table = benchmark.format_table(report)
    for row in report["results"]:
        assert row["label"] in table
    for skip in report["skipped"]:
        assert f"skipped {skip['name']}: {skip['reason']}" in table
    assert "ns/point/iter" in table and "vs NumPy" in table and "of memory bw" in table


def test_cli_bench_writes_json_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    out = io.StringIO()
    path, picture = tmp_path / "bench.json", tmp_path / "bench.png"
    argv = ["bench", "--n", "2000", "--iters", "3", "--repeats", "1", "--threads", "1"]
    status = main([*argv, "--json", str(path), "--plot", str(picture)], out=out)
    assert status == 0, capsys.readouterr().err
    saved = json.loads(path.read_text())
    assert set(saved) == TOP_KEYS and saved["config"]["n"] == 2000
    assert saved["config"]["threads"] == 1
    assert {s["name"]: s["reason"] for s in saved["skipped"]}["fastgd-parallel"] == "threads=1"
    text = out.getvalue()
    assert "fastgd bench: N = 2,000 points, 3 iterations" in text
    assert f"report saved to {path}" in text and f"plot saved to {picture}" in text
    # A bar a row: 5 rows (one thread, no GPU) make an 8 x (0.5 * 5 + 1.5) inch figure at 100 dpi.
    assert len(saved["results"]) == 5
    data = picture.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) == (800, 400)


@pytest.mark.parametrize(
    "argv, pattern",
    [
        (["--n", "0"], "--n and --iters must be at least 1"),
        (["--threads", str(numba.config.NUMBA_NUM_THREADS + 1)], "exceeds numba's thread pool"),
        (["--threads", "0"], "threads must be a positive integer"),
    ],
)
def test_cli_bench_bad_options_are_one_line(capsys, argv, pattern):
    status = main(["bench", *argv], out=io.StringIO())
    err = capsys.readouterr().err
    assert status == 2 and pattern in err and err.count("\n") == 1


@pytest.mark.parametrize("usable", [True, False])
def test_cuda_row_when_a_gpu_is_there(monkeypatch, usable):
    # No GPU here: stand in for one, so that the report's CUDA row and its skip are both seen.
    real_fit = benchmark.gradient_descent

    def fit(*args, device="auto", **kwargs):
        if device == "cuda" and not usable:
            raise DeviceError("the GPU is busy")
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(benchmark, "_cuda_problem", lambda: None)
    monkeypatch.setattr(benchmark, "gradient_descent", fit)
    report = benchmark.run(n=500, iters=2, repeats=1, python_points=100)
    rows = {row["name"]: row for row in report["results"]}
    skipped = {skip["name"]: skip["reason"] for skip in report["skipped"]}
    if usable:
        assert rows["fastgd-cuda"]["note"] == "host data, copied to the GPU in every fit"
        assert "fastgd-cuda" not in skipped
    else:
        assert "fastgd-cuda" not in rows and skipped["fastgd-cuda"] == "the GPU is busy"


def test_no_gpu_is_reported_as_skipped(monkeypatch):
    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "1")
    assert "simulator" in benchmark._cuda_problem()


def test_table_counts_of_one_are_singular(report):
    one = {**report, "config": {**report["config"], "iters": 1, "repeats": 1, "n": 1}}
    header = benchmark.format_table(one).splitlines()[0]
    assert header.startswith("fastgd bench: N = 1 point, 1 iteration, 1 feature, float64;")
    assert header.endswith("one run each")
    assert "medians of 2 runs" in benchmark.format_table(report)
