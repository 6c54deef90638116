"""How long a running fit takes to stop after Ctrl-C (SIGINT): median of several tries.

Run: python3 bench/interrupt_latency.py   (target: <= 0.5 s; measured, never asserted)

A child process fits a large problem (the loop, and gram), the parent sends SIGINT once the
iterations run and times until the child has caught `fastgd.FitInterrupted`.
"""

import signal
import statistics
import subprocess
import sys
import time

CHILD = """
import sys, time, numpy as np, fastgd
method = sys.argv[1]
rng = np.random.default_rng(0)
X = rng.normal(size=(200_000, 32)); y = X.sum(axis=1) + rng.normal(size=200_000)
kwargs = dict(lr=0.01, method=method, threads=1)
fastgd.gradient_descent(X, y, n_iter=2, **kwargs)
print("ready", flush=True)
try:
    fastgd.gradient_descent(X, y, n_iter=10**7, **kwargs)
except fastgd.FitInterrupted:
    print(time.perf_counter(), flush=True)
"""


def latency(method):
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, method], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    sent = time.perf_counter()
    child.send_signal(signal.SIGINT)
    caught = float(child.stdout.readline())
    child.wait(timeout=60)
    return caught - sent  # perf_counter is system-wide (CLOCK_MONOTONIC) on Linux


if __name__ == "__main__":
    for method in ("loop", "gram"):
        times = [latency(method) for _ in range(5)]
        print(
            f"{method}: SIGINT to FitInterrupted, median of 5: {statistics.median(times):.4f} s "
            f"(max {max(times):.4f} s)"
        )
