"""`fastgd bench`: fastgd's paths against NumPy, the lecture's Python loops and a plain read.

The same comparison as bench/test_cpu.py, as a command anyone can run on their own machine:
every path fits the same lecture-like data (one feature, float64) and is timed in the same run
(median of `repeats` calls, after one untimed call that compiles). Times are normalised to
nanoseconds per point per iteration, so paths run with different iteration counts compare
directly:

- fastgd serial and parallel (method="loop": one pass over the data per iteration);
- fastgd gram (one pass in all, then O(d**2) per iteration; its per-iteration time therefore
  falls as iterations grow);
- fastgd on CUDA, only when a real GPU is usable;
- NumPy vectorized gradient descent (capped at about 2e7 point-iterations per call, to keep the
  run short);
- the lecture's pure-Python loops as written, on a subsample of at most `python_points` points
  and one iteration, extrapolated per point (its cost is linear in both);
- a plain read of x and y, `iters` times: the memory-bandwidth floor of a pass.

`run` returns a JSON-ready report whose layout (SCHEMA, VERSION) stays stable, so reports from
different runs and machines can be compared.
"""

import datetime
import os
import platform
import statistics
import time

import numba
import numpy as np

from . import __version__, datasets, peers
from ._words import plural
from .errors import DeviceError
from .fit import fit

SCHEMA = "fastgd-bench"
VERSION = 1

# Keys of every result row, in order (the JSON layout tests pin these).
RESULT_KEYS = (
    "name",
    "label",
    "points",
    "iterations",
    "threads",
    "seconds",
    "seconds_all",
    "ns_per_point_iter",
    "ratio_to_numpy",
    "bandwidth_share",
    "note",
)

LR = 1e-4  # stable for the lecture-like data (its limit is about 4e-4)
NUMPY_POINT_ITERATIONS = 20_000_000


def _time(function, repeats):
    function()  # compile, load caches, warm the data into memory
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return seconds


def _cuda_problem():
    """None when a real GPU is usable, else why not."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return "NUMBA_ENABLE_CUDASIM=1 (the simulator is not a GPU)"
    try:
        from numba import cuda

        if not cuda.is_available():
            return "no usable CUDA GPU"
    except ImportError as error:
        return f"CUDA unavailable ({error})"
    return None


def run(n=1_000_000, iters=100, threads=None, repeats=5, python_points=10_000):
    """Run the comparison; return the report (a dict, see SCHEMA/VERSION and RESULT_KEYS)."""
    for value, name in ((n, "n"), (iters, "iters"), (repeats, "repeats")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    threads = numba.get_num_threads() if threads is None else threads
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    if threads > numba.config.NUMBA_NUM_THREADS:
        raise ValueError(
            f"threads={threads} exceeds numba's thread pool of {numba.config.NUMBA_NUM_THREADS}"
        )
    # Other work on the machine slows every path, the parallel ones most: record how busy it was.
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    x, y = datasets.lecture_like(n, seed=1)
    rows, skipped = [], []

    def add(name, label, points, iterations, seconds, threads=1, note=""):
        rows.append(
            {
                "name": name,
                "label": label,
                "points": points,
                "iterations": iterations,
                "threads": threads,
                "seconds": statistics.median(seconds),
                "seconds_all": seconds,
                "note": note,
            }
        )

    def fastgd_path(name, label, threads, note="", **options):
        seconds = _time(lambda: fit(x, y, lr=LR, n_iter=iters, threads=threads, **options), repeats)
        add(name, label, n, iters, seconds, threads=threads, note=note)

    fastgd_path("fastgd-serial", "fastgd, 1 thread", 1, method="loop")
    if threads > 1:
        fastgd_path("fastgd-parallel", f"fastgd, {threads} threads", threads, method="loop")
    else:
        skipped.append({"name": "fastgd-parallel", "reason": "threads=1"})
    # gram runs with its own default thread count: one pass in all, threads only pay off on
    # large data (plan.py decides).
    gram_threads = fit(x, y, lr=LR, n_iter=1, method="gram").threads
    label = f"fastgd gram, {gram_threads} thread{'s' * (gram_threads > 1)}"
    seconds = _time(lambda: fit(x, y, lr=LR, n_iter=iters, method="gram"), repeats)
    add("fastgd-gram", label, n, iters, seconds, gram_threads, "one pass over the data in all")
    problem = _cuda_problem()
    if problem is None:
        try:
            seconds = _time(lambda: fit(x, y, lr=LR, n_iter=iters, device="cuda"), repeats)
            note = "host data, copied to the GPU in every fit"
            add("fastgd-cuda", "fastgd, CUDA GPU", n, iters, seconds, threads=0, note=note)
        except DeviceError as error:
            skipped.append({"name": "fastgd-cuda", "reason": str(error)})
    else:
        skipped.append({"name": "fastgd-cuda", "reason": problem})

    numpy_iters = max(1, min(iters, NUMPY_POINT_ITERATIONS // n))
    seconds = _time(lambda: peers.numpy_gradient_descent(x, y, LR, numpy_iters), repeats)
    add("numpy", "NumPy vectorized GD", n, numpy_iters, seconds)

    m = min(n, python_points)
    points = np.column_stack([x[:m], y[:m]])
    seconds = _time(
        lambda: peers.lecture_gradient_descent(points, 0.0, 0.0, LR, 1), min(repeats, 3)
    )
    note = f"on {m:,} of the {n:,} points, extrapolated per point" if m < n else ""
    add("python-lecture", "lecture's Python loops", m, 1, seconds, note=note)

    def read_passes():
        # As many passes as a fit's iterations, so that one timing is as long as a fit's.
        for _ in range(iters):
            peers.read_pass(x, y)

    seconds = _time(read_passes, repeats)
    add("read-floor", "plain read of x and y", n, iters, seconds, note="memory-bandwidth floor")

    by_name = {row["name"]: row for row in rows}
    for row in rows:
        row["ns_per_point_iter"] = row["seconds"] * 1e9 / (row["points"] * row["iterations"])
    numpy_ns = by_name["numpy"]["ns_per_point_iter"]
    floor_ns = by_name["read-floor"]["ns_per_point_iter"]
    for row in rows:
        row["ratio_to_numpy"] = numpy_ns / row["ns_per_point_iter"]
        # Only paths that read the data once per iteration have a meaningful share of the
        # memory bandwidth; gram reads it once in all.
        passes = row["name"] not in ("fastgd-gram", "python-lecture")
        row["bandwidth_share"] = floor_ns / row["ns_per_point_iter"] if passes else None
    return {
        "schema": SCHEMA,
        "version": VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "fastgd": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "numba_threads": numba.config.NUMBA_NUM_THREADS,
            "load_average": load,
        },
        "config": {
            "n": n,
            "iters": iters,
            "threads": threads,
            "repeats": repeats,
            "python_points": m,
            "features": 1,
            "dtype": "float64",
            "lr": LR,
        },
        "results": [{key: row[key] for key in RESULT_KEYS} for row in rows],
        "skipped": skipped,
    }


def format_table(report):
    """The report as a plain-text table."""
    config = report["config"]
    lines = [
        (
            f"fastgd bench: N = {config['n']:,} {'point' if config['n'] == 1 else 'points'}, "
            f"{plural(config['iters'], 'iteration')}, {plural(config['features'], 'feature')}, "
            f"{config['dtype']}; "
            + (f"medians of {config['repeats']} runs" if config["repeats"] > 1 else "one run each")
        ),
        (
            f"{'path':<28} {'points':>11} {'iters':>6} {'ns/point/iter':>14} "
            f"{'vs NumPy':>10} {'of memory bw':>13}"
        ),
    ]
    for row in report["results"]:
        share = row["bandwidth_share"]
        lines.append(
            f"{row['label']:<28} {row['points']:>11,} {row['iterations']:>6} "
            f"{row['ns_per_point_iter']:>14.4g} {row['ratio_to_numpy']:>9.3g}x "
            f"{'-' if share is None else f'{100 * share:.0f}%':>13}"
            + (f"  ({row['note']})" if row["note"] else "")
        )
    for skip in report["skipped"]:
        lines.append(f"skipped {skip['name']}: {skip['reason']}")
    machine = report["machine"]
    if machine["load_average"] is not None:
        lines.append(
            f"load average at the start: {machine['load_average']:.2f} on {machine['cpus']} CPUs"
            " (other work slows every path, parallel ones most)"
        )
    lines.append(
        "vs NumPy: NumPy's time per point-iteration / this one (>1 is faster). of memory bw: "
        "the plain read's time / this one."
    )
    return "\n".join(lines)
