"""What a test run compiled: numba's compile events, counted and timed, printed at the end.

Every kernel variant (a type that changes, an option compiled in) costs seconds of compile time
on a user's first call and in every CI run that starts with an empty numba cache. This plugin
makes that price visible: it listens to numba's "numba:compile" events (real compiles only:
a kernel loaded from numba's on-disk cache raises none) and prints, after every run, how many
functions were compiled, their seconds, the test files and the kernels that compiled most.
Compiles in subprocesses that tests start are not seen (each is its own interpreter).

Registered by tests/conftest.py.
"""

import collections
import time

import pytest
from numba.core import event


class _Listener(event.Listener):
    """Times each compile; nested ones (a kernel's callees) count, their seconds are the
    outermost's."""

    def __init__(self, report):
        self.report = report
        self.started = []

    def on_start(self, ev):
        self.started.append(time.perf_counter())

    def on_end(self, ev):
        seconds = time.perf_counter() - self.started.pop()
        self.report.record(ev.data["dispatcher"], ev.data["args"], seconds, not self.started)


class CompileReport:
    def __init__(self):
        self.where = "collection"  # the test file running now
        self.count = 0
        self.seconds = 0.0
        self.by_file = collections.defaultdict(lambda: [0, 0.0])
        self.by_kernel = collections.defaultdict(lambda: [0, 0.0])
        self.listener = _Listener(self)

    def record(self, dispatcher, args, seconds, outermost):
        self.count += 1
        name = getattr(dispatcher, "py_func", dispatcher)
        name = f"{getattr(name, '__module__', '?')}.{getattr(name, '__qualname__', name)}"
        per_file, per_kernel = self.by_file[self.where], self.by_kernel[name]
        per_file[0] += 1
        per_kernel[0] += 1
        if outermost:
            self.seconds += seconds
            per_file[1] += seconds
            per_kernel[1] += seconds

    def pytest_sessionstart(self, session):
        event.register("numba:compile", self.listener)

    def pytest_sessionfinish(self, session):
        event.unregister("numba:compile", self.listener)
        output = getattr(session.config, "workeroutput", None)
        if output is not None:  # a pytest-xdist worker: the controller prints the sums
            output["fastgd_compiles"] = {
                "count": self.count, "seconds": self.seconds,
                "by_file": dict(self.by_file), "by_kernel": dict(self.by_kernel),
            }  # fmt: skip

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        """pytest-xdist's controller: add up what each worker compiled."""
        report = getattr(node, "workeroutput", {}).get("fastgd_compiles")
        if not report:
            return
        self.count += report["count"]
        self.seconds += report["seconds"]
        for mine, theirs in ((self.by_file, report["by_file"]),
                             (self.by_kernel, report["by_kernel"])):  # fmt: skip
            for name, (count, seconds) in theirs.items():
                mine[name][0] += count
                mine[name][1] += seconds

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        self.where = item.location[0]
        yield
        self.where = "between tests"

    def pytest_terminal_summary(self, terminalreporter, config):
        write = terminalreporter.write_line
        top = 5
        terminalreporter.section("numba compiles (tests/compile_report.py)")
        write(
            f"{self.count} functions compiled, {self.seconds:.1f} s of compiling (in the test "
            "processes; kernels loaded from numba's cache and compiles in the subprocesses that "
            "tests start are not counted)"
        )
        for title, table in (("test files", self.by_file), ("kernels", self.by_kernel)):
            ranked = sorted(table.items(), key=lambda item: -item[1][1])[:top]
            if ranked:
                write(f"most compile time by {title}:")
                for name, (count, seconds) in ranked:
                    write(f"  {seconds:7.1f} s  {count:4d} compiles  {name}")
