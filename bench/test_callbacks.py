"""Overhead of a callback (the CLI's progress bar) at the default check_every, against none.

Run: python -m pytest bench/test_callbacks.py   (prints the table at the end)
 or: python bench/test_callbacks.py   (interleaved pairs: the steadier number on a busy machine)

Target (measured, never asserted): a fit with the progress bar attached takes < 2% longer than
the same fit without a callback (ratio >= 0.98x). The default block covers
_config.CHECK_BLOCK_VALUES values, so the cost per block is amortised even on small data. One
thread; the bar draws (into memory) at every block, its worst case.

On a shared machine the direct comparison is noisy (a few %), so the last pair measures the cost
of one block's return to Python itself, with a callback at every iteration on 100 points:
(time with - time without) / iterations. The overhead at the default block size is that cost
over the block's time (about 10**7 values: several milliseconds).
"""

import io

import numpy as np
import pytest
from quick import rows, steps

import fastgd
from fastgd import datasets
from fastgd.progress import ProgressBar

CASES = {
    # points: iterations (each case is 5e7 point-iterations, some 20-40 ms)
    100: steps(500_000),
    10_000: steps(5_000),
    1_000_000: steps(50),
}


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def data(n):
    x, y = datasets.lecture_like(rows(n), seed=1)
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def fit(x, y, iterations, callback):
    # The loop, where a block is shortest in time (gram's iterations are far cheaper).
    return fastgd.gradient_descent(
        x, y, lr=1e-4, n_iter=iterations, threads=1, method="loop", callback=callback
    )


def progress_bar(iterations):
    return ProgressBar(iterations, stream=_Terminal(), delay=0.0, interval=0.0)


@pytest.mark.parametrize("n", CASES)
def test_no_callback(benchmark, record, n):
    x, y = data(n)
    fit(x, y, 1, None)
    record(f"no callback, N={n:.0e}", n, CASES[n])
    benchmark.pedantic(fit, (x, y, CASES[n], None), rounds=21, warmup_rounds=2)


@pytest.mark.parametrize("n", CASES)
def test_progress_bar(benchmark, record, n):
    x, y = data(n)
    fit(x, y, 1, progress_bar(1))
    record(f"progress bar, N={n:.0e}", n, CASES[n], versus=[f"test_no_callback[{n}]"])
    benchmark.pedantic(
        lambda: fit(x, y, CASES[n], progress_bar(CASES[n])), rounds=21, warmup_rounds=2
    )


EVERY_ITERATION = steps(20_000)  # iterations on 100 points, a callback after each


def test_no_callback_short_blocks(benchmark, record):
    x, y = data(100)
    fit(x, y, 1, None)
    record("no callback, N=1e2 (20000 iterations)", 100, EVERY_ITERATION)
    benchmark.pedantic(fit, (x, y, EVERY_ITERATION, None), rounds=21, warmup_rounds=2)


def test_progress_bar_every_iteration(benchmark, record):
    x, y = data(100)

    def run():
        bar = progress_bar(EVERY_ITERATION)
        return fastgd.gradient_descent(
            x, y, lr=1e-4, n_iter=EVERY_ITERATION, threads=1, method="loop", callback=bar,
            check_every=1,
        )  # fmt: skip

    run()
    record(
        "progress bar every iteration, N=1e2", 100, EVERY_ITERATION,
        versus=["test_no_callback_short_blocks"],
    )  # fmt: skip
    benchmark.pedantic(run, rounds=21, warmup_rounds=2)


def paired_overheads(pairs=30):
    """Median over interleaved pairs of (time with the bar) / (time without), per case.

    Alternating the two fits (and their order) cancels the slow drifts of a shared machine that
    pytest-benchmark's back-to-back rounds are exposed to.
    """
    import time

    ratios = {}
    for n, iterations in CASES.items():
        x, y = data(n)

        def timed(callback, x=x, y=y, iterations=iterations):
            start = time.perf_counter()
            fit(x, y, iterations, callback)
            return time.perf_counter() - start

        timed(None), timed(progress_bar(iterations))
        pair_ratios = []
        for i in range(pairs):
            if i % 2:
                without = timed(None)
                with_bar = timed(progress_bar(iterations))
            else:
                with_bar = timed(progress_bar(iterations))
                without = timed(None)
            pair_ratios.append(with_bar / without)
        ratios[n] = float(np.median(pair_ratios))
    return ratios


if __name__ == "__main__":
    for n, ratio in paired_overheads().items():
        print(
            f"N={n:>9,} x {CASES[n]:>7,} iterations: progress bar costs {100 * (ratio - 1):+.2f}%"
        )
