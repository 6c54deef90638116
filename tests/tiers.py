"""The two tiers of the test suite: CI's (the default) and the full one.

Every kernel variant (dtype, layout, weights, shift, loss, penalty, one or several threads, one
or k targets, dense or sparse) costs a compile of seconds, so crossing all of them in every run
would cost most of CI's time. The default tier covers combinations *pairwise*: every value of
every factor is compiled and checked at least once, and every pair of values of two factors
appears together in some case. The full tier (`FASTGD_TESTS=full python3 -m pytest`, or
`--full`) runs the whole cross-products, every simulator case and both compute capabilities;
run it before resolving an issue that changes a kernel (docs/development.md).
"""

import itertools
import os
import random

import pytest

FULL = os.environ.get("FASTGD_TESTS", "") == "full"


def pairwise(factors, include=()):
    """Cases (dicts) over `factors` ({name: [values]}) that contain every pair of values of any
    two factors; the whole product in the full tier. The fewest found by a greedy search from
    fixed orders of the product (deterministic: the same cases every run), stopping at the
    lower bound, the product of the two largest factors' sizes. `include`: cases (dicts) to
    have among them, first (say, the types another test compiles, so that both share them)."""
    names = list(factors)
    product = [dict(zip(names, values)) for values in itertools.product(*factors.values())]
    if FULL or len(names) < 3:
        return product

    def pairs(case):
        return {(a, repr(case[a]), b, repr(case[b])) for a, b in itertools.combinations(names, 2)}

    everything = set().union(*(pairs(case) for case in product))
    fewest = max(len(a) * len(b) for a, b in itertools.combinations(factors.values(), 2))
    best = product
    for seed in range(300):
        if len(best) == fewest:
            break
        candidates = product[:]
        random.Random(seed).shuffle(candidates)
        chosen = [dict(case) for case in include]
        uncovered = everything - set().union(set(), *(pairs(case) for case in chosen))
        while uncovered:
            case = max(candidates, key=lambda case: len(pairs(case) & uncovered))
            chosen.append(case)
            uncovered -= pairs(case)
        if len(chosen) < len(best):
            best = chosen
    return best


def cases(factors, include=()):
    """`pairwise(factors, include)` as pytest parameters (in the order of `factors`), with
    readable ids."""

    def label(value):
        return getattr(value, "__name__", None) or str(value)

    return [
        pytest.param(*case.values(), id="-".join(f"{k}={label(v)}" for k, v in case.items()))
        for case in pairwise(factors, include)
    ]


def examples(n):
    """Hypothesis's max_examples: n in the full tier, a quarter (at least 10) in CI's. The
    examples are derandomized in CI (tests/conftest.py), so the same ones run every time."""
    return n if FULL else max(10, n // 4)


# A test marked `full` runs in the full tier only; in CI's it is deselected and counted in the
# summary (never a silent skip).
full = pytest.mark.full
