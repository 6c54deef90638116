"""Prints the comparison table after a benchmark run: ns per point per iteration and ratios.

Each benchmark records in extra_info the work it did (`points`, `iterations`) and the peer it
is compared with (`versus`, the name of another benchmark in the same run). Ratios are of
medians, measured in the same run on the same machine.
"""

import pytest


def _per_point_ns(bench):
    info = bench.extra_info
    return bench.stats.median * 1e9 / (info["points"] * info["iterations"])


def pytest_terminal_summary(terminalreporter, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    by_name = {
        bench.name.split("[")[0] + (f"[{bench.param}]" if bench.param else ""): bench
        for bench in session.benchmarks
    }
    rows = []
    for bench in by_name.values():
        versus = [by_name[peer] for peer in bench.extra_info.get("versus", []) if peer in by_name]
        ratios = ", ".join(
            f"{_per_point_ns(peer) / _per_point_ns(bench):.3g}x vs {peer.extra_info['label']}"
            for peer in versus
        )
        rows.append(
            (bench.extra_info["label"], bench.extra_info["points"], _per_point_ns(bench), ratios)
        )
    write = terminalreporter.write_line
    write("")
    write("fastgd benchmark table (medians; ratio = peer time / this time, >1 means faster)")
    write(f"{'benchmark':<38} {'points':>10} {'ns/point/iter':>14}  ratios")
    for label, points, ns, ratios in rows:
        write(f"{label:<38} {points:>10.3g} {ns:>14.3f}  {ratios}")
    fit, kernels = by_name.get("test_fit_small"), by_name.get("test_kernels_alone")
    if fit is not None and kernels is not None:
        overhead = (fit.stats.median - kernels.stats.median) * 1e6
        write(f"fit()'s Python cost above its kernels (medians): {overhead:.1f} us")


@pytest.fixture
def record(benchmark):
    """Set the extra_info the table needs."""

    def _record(label, points, iterations, versus=()):
        benchmark.extra_info.update(
            label=label, points=points, iterations=iterations, versus=list(versus)
        )

    return _record
