"""The k-target pass (`gradient.target_sums`, compiled into `cpu.iterate_targets_serial`)
against the definition of its sums, at every shape, layout and vector width.

A file of its own so that pytest-xdist (the README's test command) runs it beside
tests/test_targets.py: each compiles kernels of 20-40 s, different ones.
"""

import numpy as np
import pytest
from tiers import cases


def _reference_sums(X, y, weights, b, w, shift, epsilon):
    """The partial sums of one target, from their definition (fastgd/gradient.py's doc)."""
    Z = X.astype(np.float64) - (0.0 if shift is None else shift)
    r = y.astype(np.float64) - (b + Z @ w)
    s = np.ones(len(y)) if weights is None else weights.astype(np.float64)
    if epsilon is None:
        value, slope = r * r, r
    else:
        slope = np.clip(r, -epsilon, epsilon)
        value = np.where(np.abs(r) <= epsilon, r * r, 2 * epsilon * np.abs(r) - epsilon**2)
    return np.concatenate(([np.sum(s * value), np.sum(s * slope)], (s * slope) @ Z))


_FEW = [(1, 1, 2), (300, 4, 4), (700, 9, 7), (513, 2, 5)]  # fewer targets than 8 lanes
_MANY = [(64, 6, 8), (203, 8, 16), (130, 5, 17), (90, 3, 32)]


# Each case compiles the pass for its types (dtype, weights, shift, loss, layout: pairwise in
# CI, tests/tiers.py) and then runs every shape through it, which costs no further compile.
@pytest.mark.parametrize(
    ("dtype", "weighted", "shifted", "epsilon", "layout"),
    cases({"dtype": [np.float64, np.float32], "weighted": [False, True], "shifted": [False, True],
           "epsilon": [None, 0.8], "layout": ["C", "X F-ordered", "Y a slice"]}),
)  # fmt: skip
def test_the_k_target_kernel_against_its_definition(dtype, weighted, shifted, epsilon, layout):
    # Every path of `gradient.target_sums`, both layouts (fewer targets than the vectors'
    # width, or not): blocks of rows (and a last partial one), the tiles of four rows and the
    # rows past them, the four-feature tiles and the features past them, targets padded to a
    # multiple of the vectors' width or not, X and Y read in place (C-ordered float64; X with
    # no shift) or copied (float32, a shift, X F-ordered, Y a slice of a wider array).
    for n, d, k in _FEW + _MANY:
        rng = np.random.default_rng(n + d + k)
        X = (rng.normal(size=(n, d)) + 2.0).astype(dtype)
        Y = rng.normal(size=(n, k)).astype(dtype)
        B, W = rng.normal(size=k), rng.normal(size=(k, d))
        weights = rng.random(n).astype(dtype) if weighted else None
        shift = rng.normal(size=d) if shifted else None
        X_, Y_ = X, Y
        if layout == "X F-ordered":
            X_ = np.asfortranarray(X)
        elif layout == "Y a slice":
            Y_ = np.hstack([Y, np.zeros((n, 1), dtype)])[:, :k]
        out = _kernel_sums(X_, Y_, weights, B, W, shift, epsilon)
        for t in range(k):
            expected = _reference_sums(X, Y[:, t], weights, B[t], W[t], shift, epsilon)
            scale = np.abs(expected).max() + 1.0
            np.testing.assert_allclose(
                out[t], expected, rtol=1e-9, atol=1e-10 * scale, err_msg=f"n, d, k = {n, d, k}"
            )


def _kernel_sums(X, Y, weights, B, W, shift, epsilon):
    from fastgd.losses import Huber, SquaredError

    loss = SquaredError() if epsilon is None else Huber(epsilon)
    k, d = W.shape
    out, partials = np.full((k, d + 2), np.nan), np.zeros((1, k, d + 2))
    _evaluate_targets(X, Y, weights, loss, partials, B, W, shift, out)
    return out


def _evaluate_targets(X, Y, weights, loss, partials, B, W, shift, out):
    """The k-target kernel's sums at (B, W): its entry point with k_start == k_stop."""
    from fastgd.cpu import iterate_targets_serial
    from fastgd.gradient import rule_size, target_layout

    k, d = W.shape
    rules, history = np.zeros((k, rule_size(d))), np.zeros((k, 1))
    idle = (rules, shift, np.ones(d + 1), np.zeros((k, d + 1)), out, history, np.zeros(k))
    flags = (np.ones(k, np.bool_), np.zeros(k, np.int64))
    layout = target_layout(k)
    iterate_targets_serial(X, Y, weights, loss, layout, partials, 1.0, B, W, 0, 0, *idle, *flags)


_OTHER_WIDTH = """
import sys
import numpy as np
from fastgd import _vector
from fastgd.losses import Huber
sys.path.insert(0, sys.argv[3])
from test_targets_kernel import _evaluate_targets
assert _vector.LANES == int(sys.argv[1])
rng = np.random.default_rng(5)
X, Y = rng.normal(size=(301, 9)) + 2.0, rng.normal(size=(301, 19))
B, W, w = rng.normal(size=19), rng.normal(size=(19, 9)), rng.random(301)
out, partials = np.zeros((19, 11)), np.zeros((1, 19, 11))
shift = rng.normal(size=9)
_evaluate_targets(X, Y, w, Huber(0.8), partials, B, W, shift, out)
np.save(sys.argv[2], out)
"""


def test_the_k_target_kernel_gives_the_same_sums_at_either_vector_width(tmp_path):
    # fastgd/_vector.py: LANES is 8 with AVX-512, else 4 (this machine runs one of them on its
    # own); each lane computes exactly as the scalar code would, whatever the width. Each
    # width compiles into its own numba cache: a cached kernel keeps the width it had.
    import os
    import pathlib
    import subprocess
    import sys

    sums = []
    # Numba's cache kept between runs (.ci/run sets NUMBA_CACHE_DIR) serves these processes too,
    # in a folder per width: one folder would hold one width at a time.
    kept = os.environ.get("NUMBA_CACHE_DIR")
    for lanes in (4, 8):
        cache = pathlib.Path(kept) / f"lanes-{lanes}" if kept else tmp_path / str(lanes)
        env = dict(os.environ, FASTGD_LANES=str(lanes), NUMBA_CACHE_DIR=str(cache))
        path = tmp_path / f"{lanes}.npy"
        here = str(pathlib.Path(__file__).parent)
        subprocess.run([sys.executable, "-c", _OTHER_WIDTH, str(lanes), str(path), here],
                       env=env, check=True)  # fmt: skip
        sums.append(np.load(path))
    np.testing.assert_allclose(sums[0], sums[1], rtol=1e-13, atol=1e-13)
