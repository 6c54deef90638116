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
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

from . import __version__, datasets, peers
from ._words import plural
from .errors import DeviceError
from .fit import gradient_descent

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

# The rows the others are measured against: "vs NumPy" and "of memory bw".
RATIO_TO = "numpy"
FLOOR = "read-floor"

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


@dataclass
class Row:
    """One row of the comparison: what it runs and how much work one run is."""

    name: str  # the report's key for the row
    label: str  # the table's
    run: Callable[[], object]  # one timed run
    points: int  # points per iteration of one run
    iterations: int  # iterations of one run
    threads: int = 1
    note: str = ""
    repeats: int | None = None  # timed runs, at most (None: the report's `repeats`)
    passes: bool = True  # reads the data once per iteration, so has a share of the bandwidth
    skip: str | None = None  # why the row is not measured on this machine, if it is not
    skip_on: tuple[type[Exception], ...] = ()  # errors of its first run that skip it too


def _rows(x, y, iters, threads, python_points):
    """The rows of the comparison, in the table's order."""
    n = x.shape[0]

    def fastgd_run(**options):
        return lambda: gradient_descent(x, y, lr=LR, n_iter=iters, **options)

    # gram runs with its own default thread count: one pass in all, threads only pay off on
    # large data (plan.py decides).
    gram_threads = gradient_descent(x, y, lr=LR, n_iter=1, method="gram").threads
    numpy_iters = max(1, min(iters, NUMPY_POINT_ITERATIONS // n))
    m = min(n, python_points)
    points = np.column_stack([x[:m], y[:m]])

    def read_passes():
        # As many passes as a fit's iterations, so that one timing is as long as a fit's.
        for _ in range(iters):
            peers.read_pass(x, y)

    return [
        Row(
            name="fastgd-serial",
            label="fastgd, 1 thread",
            run=fastgd_run(threads=1, method="loop"),
            points=n,
            iterations=iters,
        ),
        Row(
            name="fastgd-parallel",
            label=f"fastgd, {plural(threads, 'thread')}",
            run=fastgd_run(threads=threads, method="loop"),
            points=n,
            iterations=iters,
            threads=threads,
            skip=None if threads > 1 else "threads=1",
        ),
        Row(
            name="fastgd-gram",
            label=f"fastgd gram, {plural(gram_threads, 'thread')}",
            run=fastgd_run(method="gram"),
            points=n,
            iterations=iters,
            threads=gram_threads,
            note="one pass over the data in all",
            passes=False,
        ),
        Row(
            name="fastgd-cuda",
            label="fastgd, CUDA GPU",
            run=fastgd_run(device="cuda"),
            points=n,
            iterations=iters,
            threads=0,
            note="host data, copied to the GPU in every fit",
            skip=_cuda_problem(),
            skip_on=(DeviceError,),
        ),
        Row(
            name="numpy",
            label="NumPy vectorized GD",
            run=lambda: peers.numpy_gradient_descent(x, y, LR, numpy_iters),
            points=n,
            iterations=numpy_iters,
        ),
        Row(
            # Its cost is linear in points and iterations: a subsample and one iteration do.
            name="python-lecture",
            label="lecture's Python loops",
            run=lambda: peers.lecture_gradient_descent(points, 0.0, 0.0, LR, 1),
            points=m,
            iterations=1,
            note=f"on {m:,} of the {n:,} points, extrapolated per point" if m < n else "",
            repeats=3,
            passes=False,
        ),
        Row(
            name="read-floor",
            label="plain read of x and y",
            run=read_passes,
            points=n,
            iterations=iters,
            note="memory-bandwidth floor",
        ),
    ]


def _measure(rows, repeats):
    """(results, skipped) of the report: each row timed, or the reason it was not."""
    results, skipped = [], []
    for row in rows:
        if row.skip is not None:
            skipped.append({"name": row.name, "reason": row.skip})
            continue
        try:
            seconds = _time(row.run, min(repeats, row.repeats or repeats))
        except row.skip_on as error:
            skipped.append({"name": row.name, "reason": str(error)})
            continue
        median = statistics.median(seconds)
        results.append(
            {
                "name": row.name,
                "label": row.label,
                "points": row.points,
                "iterations": row.iterations,
                "threads": row.threads,
                "seconds": median,
                "seconds_all": seconds,
                "ns_per_point_iter": median * 1e9 / (row.points * row.iterations),
                "passes": row.passes,
                "note": row.note,
            }
        )
    # Ratios to the references: NumPy's time per point-iteration, and the plain read's (only
    # rows that read the data once per iteration have a share of the memory bandwidth).
    by_name = {result["name"]: result for result in results}
    numpy_ns = by_name[RATIO_TO]["ns_per_point_iter"]
    floor_ns = by_name[FLOOR]["ns_per_point_iter"]
    for result in results:
        ns = result["ns_per_point_iter"]
        result["ratio_to_numpy"] = numpy_ns / ns
        result["bandwidth_share"] = floor_ns / ns if result["passes"] else None
    return [{key: result[key] for key in RESULT_KEYS} for result in results], skipped


def _check_count(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def run(n=1_000_000, iters=100, threads=None, repeats=5, python_points=10_000):
    """Run the comparison; return the report (a dict, see SCHEMA/VERSION and RESULT_KEYS)."""
    for value, name in ((n, "n"), (iters, "iters"), (repeats, "repeats")):
        _check_count(value, name)
    threads = numba.get_num_threads() if threads is None else threads
    _check_count(threads, "threads")
    if threads > numba.config.NUMBA_NUM_THREADS:
        raise ValueError(
            f"threads={threads} exceeds numba's thread pool of {numba.config.NUMBA_NUM_THREADS}"
        )
    # Other work on the machine slows every path, the parallel ones most: record how busy it was.
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    x, y = datasets.lecture_like(n, seed=1)
    results, skipped = _measure(_rows(x, y, iters, threads, python_points), repeats)
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
            "python_points": min(n, python_points),
            "features": 1,
            "dtype": "float64",
            "lr": LR,
        },
        "results": results,
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
