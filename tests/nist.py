"""NIST StRD linear least squares reference data sets, with their certified parameters.

NIST's Statistical Reference Datasets (StRD, https://www.itl.nist.gov/div898/strd/lls/lls.shtml)
hold eleven linear regression problems whose least squares parameters NIST certified in
500-digit arithmetic. Each ``<Name>.dat`` file has a header (model, certified estimates and their
standard deviations, residual standard deviation, the line ranges of its blocks) and then the
data. The files are not in the repository: they live in ``../shared/data/nist-strd/`` next to it
(see the README.md there), and tests that use them skip when that folder is absent (and fail in
CI: tests/shared.py).

``load(name)`` parses one file into a ``NistSet`` whose ``X`` has no column of ones: the
polynomial models (Pontius, Filip, Wampler1-5) get the columns x, x**2, ..., x**k. ``digits``
gives the NIST log relative error of an estimate's worst parameter. ``python tests/nist.py``
prints what ``numpy.linalg.lstsq`` achieves on each set.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

NIST_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nist-strd"

NAMES = [
    "Norris",
    "Pontius",
    "NoInt1",
    "NoInt2",
    "Filip",
    "Longley",
    "Wampler1",
    "Wampler2",
    "Wampler3",
    "Wampler4",
    "Wampler5",
]

MAX_DIGITS = 15.0


@dataclass(frozen=True)
class NistSet:
    name: str
    X: np.ndarray  # (n, d) float64, without a column of ones
    y: np.ndarray  # (n,) float64
    intercept: float | None  # certified B0; None for the models without one
    coef: np.ndarray  # certified B1..Bk, float64
    fit_intercept: bool
    certified_residual_sd: float  # nan where the header gives none


def _line_range(header: str, block: str) -> tuple[int, int]:
    """The 1-based, inclusive line range that the header's 'File Format' gives for a block."""
    m = re.search(rf"^\s*{block}\s*\(lines (\d+) to (\d+)\)", header, re.MULTILINE)
    if m is None:
        raise ValueError(f"no line range for {block!r}")
    return int(m[1]), int(m[2])


def load(name: str) -> NistSet:
    """Parse ``NIST_DIR / f"{name}.dat"`` from its own header; raise ValueError if inconsistent."""
    text = (NIST_DIR / f"{name}.dat").read_text()
    lines = text.splitlines()
    cert_first, cert_last = _line_range(text, "Certified Values")
    data_first, data_last = _line_range(text, "Data")
    header = "\n".join(lines[: data_first - 1])
    m = re.search(r"^\s*(\d+) Observations\s*$", header, re.MULTILINE)
    if m is None:
        raise ValueError(f"{name}: no 'Number of Observations' in the header")
    n_obs = int(m[1])

    # Certified values: 'B<i>  <estimate>  <standard deviation>' and 'Standard Deviation <value>'.
    params: dict[int, float] = {}
    residual_sd = math.nan
    for line in lines[cert_first - 1 : cert_last]:
        if m := re.fullmatch(r"\s*B(\d+)\s+(\S+)\s+(\S+)\s*", line):
            params[int(m[1])] = float(m[2])
        elif m := re.fullmatch(r"\s*Standard Deviation\s+(\S+)\s*", line):
            residual_sd = float(m[1])
    has_b0 = 0 in params
    k = max(params)
    if sorted(params) != list(range(0 if has_b0 else 1, k + 1)):
        raise ValueError(f"{name}: parameters B{sorted(params)} are not consecutive")

    # Data: the line before the range names the columns ('Data:  y  x' or 'Data:  y  x1 ... x6').
    columns = lines[data_first - 2].split()
    if columns[:2] != ["Data:", "y"]:
        raise ValueError(f"{name}: unexpected data header {lines[data_first - 2]!r}")
    columns = columns[1:]
    data = np.array([line.split() for line in lines[data_first - 1 : data_last]], dtype=np.float64)
    if data.shape != (n_obs, len(columns)):
        raise ValueError(f"{name}: data is {data.shape}, header says {n_obs} x {len(columns)}")
    if any(line.strip() for line in lines[data_last:]):
        raise ValueError(f"{name}: non-blank lines after the data")

    y = data[:, 0]
    if columns[1:] == ["x"]:  # one predictor: B1*x + ... + Bk*x**k
        X = data[:, 1:2] ** np.arange(1, k + 1)
    elif columns[1:] == [f"x{i}" for i in range(1, k + 1)]:  # B1*x1 + ... + Bk*xk
        X = data[:, 1:]
    else:
        raise ValueError(f"{name}: columns {columns} do not fit parameters B1..B{k}")
    return NistSet(
        name=name,
        X=np.ascontiguousarray(X),
        y=y.copy(),
        intercept=params[0] if has_b0 else None,
        coef=np.array([params[i] for i in range(1, k + 1)], dtype=np.float64),
        fit_intercept=has_b0,
        certified_residual_sd=residual_sd,
    )


def _lre(estimate: float, certified: float) -> float:
    """-log10 of the relative error (absolute where certified is 0), within [0, MAX_DIGITS]."""
    if not math.isfinite(estimate):
        return 0.0
    error = abs(estimate - certified)
    if certified != 0:
        error /= abs(certified)
    if error == 0:
        return MAX_DIGITS
    return min(MAX_DIGITS, max(0.0, -math.log10(error)))


def digits(estimate_intercept: float | None, estimate_coef: ArrayLike, nist_set: NistSet) -> float:
    """NIST's number of correct digits (log relative error) of the worst certified parameter.

    The intercept counts where the set has one; 15 means exact, 0 means not even the first digit
    (or a non-finite estimate).
    """
    coef = np.asarray(estimate_coef, dtype=np.float64).reshape(-1)
    if coef.shape != nist_set.coef.shape:
        raise ValueError(f"expected {nist_set.coef.size} coefficients, got {coef.size}")
    pairs = list(zip(coef.tolist(), nist_set.coef.tolist()))
    if nist_set.intercept is not None:
        if estimate_intercept is None:
            raise ValueError(f"{nist_set.name} has a certified intercept: pass an estimate")
        pairs.append((float(estimate_intercept), nist_set.intercept))
    return min(_lre(e, c) for e, c in pairs)


if __name__ == "__main__":
    print(f"{'set':<10} {'n':>4} {'cols':>4} {'lstsq digits':>12}")
    for name in NAMES:
        s = load(name)
        A = np.column_stack([np.ones(len(s.y)), s.X]) if s.fit_intercept else s.X
        beta = np.linalg.lstsq(A, s.y, rcond=None)[0]
        b0, w = (beta[0], beta[1:]) if s.fit_intercept else (None, beta)
        print(f"{name:<10} {len(s.y):>4} {s.X.shape[1]:>4} {digits(b0, w, s):>12.1f}")
