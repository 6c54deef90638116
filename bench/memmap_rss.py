"""Anonymous memory of a fit on a memory-mapped file several GB large (a script, not run in CI).

    PYTHONPATH=. python3 bench/memmap_rss.py [--gb 4] [--dir /tmp]

Writes X (n, 2) and y (n,) float64 .npy files of about --gb GB in all (in blocks, so writing
them needs little memory either), maps them with np.load(mmap_mode="r"), fits, and prints the
growth of the process's RssAnon (anonymous memory: what a copy would add) and RssFile (pages of
the mapped file, which the kernel may drop at any time) from /proc/self/status.
"""

import argparse
import os
import tempfile
import time

import numpy as np

import fastgd


def rss_kb():
    fields = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            name, _, value = line.partition(":")
            if name in ("RssAnon", "RssFile"):
                fields[name] = int(value.split()[0])
    return fields


def write_data(directory, n, block=2_000_000):
    rng = np.random.default_rng(0)
    X = np.lib.format.open_memmap(os.path.join(directory, "X.npy"), "w+", np.float64, (n, 2))
    y = np.lib.format.open_memmap(os.path.join(directory, "y.npy"), "w+", np.float64, (n,))
    for start in range(0, n, block):
        stop = min(n, start + block)
        X[start:stop] = rng.normal(size=(stop - start, 2))
        y[start:stop] = X[start:stop] @ [2.0, -1.0] + 0.5 + rng.normal(size=stop - start)
    X.flush()
    y.flush()
    del X, y


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gb", type=float, default=4.0)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--iters", type=int, default=3)
    args = parser.parse_args()
    n = int(args.gb * 1e9 / 24)  # 24 bytes per row: two features and y
    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        write_data(directory, n)
        X = np.load(os.path.join(directory, "X.npy"), mmap_mode="r")
        y = np.load(os.path.join(directory, "y.npy"), mmap_mode="r")
        fastgd.gradient_descent(X[:100], y[:100], lr=0.1, n_iter=1)  # compile before measuring
        before = rss_kb()
        start = time.perf_counter()
        result = fastgd.gradient_descent(X, y, lr=0.1, n_iter=args.iters)
        seconds = time.perf_counter() - start
        after = rss_kb()
        data_mb = (X.nbytes + y.nbytes) / 1e6
        print(f"data: {n} rows, {data_mb:.0f} MB in two memory-mapped .npy files")
        print(f"fit: {args.iters} iterations in {seconds:.2f} s -> {result!r}")
        for name in ("RssAnon", "RssFile"):
            growth = (after[name] - before[name]) / 1e3
            print(f"{name}: {before[name] / 1e3:.0f} MB -> {after[name] / 1e3:.0f} MB "
                  f"(+{growth:.0f} MB, {100 * growth / data_mb:.1f}% of the data)")  # fmt: skip
        del X, y, result


if __name__ == "__main__":
    main()
