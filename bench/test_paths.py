"""Regularization paths and cross-validation from one pass, against scikit-learn (issue 29).

Run: python -m pytest bench/test_paths.py   (peer: scikit-learn)

Targets (measured, never asserted; ratios of medians in the same run):
- a 100-alpha Lasso path on N = 1e6, d = 32 (float64): fastgd.path >= 10x faster than
  scikit-learn's lasso_path over the same alphas;
- 5-fold LassoCV on N = 1e7, d = 32 float32 in a memory-mapped .npy file: LassoCVGD reads it
  once, >= 20x faster than scikit-learn's LassoCV(cv=5) on the same file, and chooses the same
  alpha (asserted).
"""

import functools
import warnings

import numpy as np
import pytest
from quick import rows

import fastgd

sklearn = pytest.importorskip("sklearn")
from sklearn.linear_model import LassoCV, lasso_path  # noqa: E402

from fastgd.cross_validation import LassoCVGD  # noqa: E402

PATH_N, CV_N, D = rows(1_000_000), rows(10_000_000), 32


def make(n, dtype, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, D)).astype(dtype)
    coef = rng.normal(size=D) * (rng.uniform(size=D) < 0.5)  # half the features matter
    y = (X @ coef + 0.3 + rng.normal(size=n)).astype(dtype)
    return X, y


@functools.cache
def path_data():
    return make(PATH_N, np.float64, 29)


@functools.cache
def memmapped(folder):
    """X and y of the CV benchmark as memory-mapped .npy files in `folder`."""
    X, y = make(CV_N, np.float32, 30)
    np.save(folder / "X.npy", X)
    np.save(folder / "y.npy", y)
    del X, y
    return np.load(folder / "X.npy", mmap_mode="r"), np.load(folder / "y.npy", mmap_mode="r")


@pytest.fixture(scope="module")
def cv_data(tmp_path_factory):
    return memmapped(tmp_path_factory.mktemp("cv"))


def test_fastgd_path(benchmark, record):
    X, y = path_data()
    fastgd.path(X[:1000], y[:1000])  # compile outside the timing
    record("fastgd.path, 100 alphas, N=1e6", PATH_N * D, 1, versus=["test_lasso_path"])
    result = benchmark.pedantic(fastgd.path, (X, y), rounds=5, warmup_rounds=1)
    assert result.converged.all()
    benchmark.extra_info["label"] += f" ({int(result.n_iter.sum())} sweeps)"


def test_lasso_path(benchmark, record):
    X, y = path_data()
    alphas = fastgd.path(X, y).alphas
    record("scikit-learn lasso_path, N=1e6", PATH_N * D, 1)
    benchmark.pedantic(lambda: lasso_path(X, y, alphas=alphas), rounds=3, warmup_rounds=1)


def test_fastgd_cv(benchmark, record, cv_data):
    X, y = cv_data
    LassoCVGD(cv=5).fit(np.asarray(X[:1000]), np.asarray(y[:1000]))  # compile outside
    record("LassoCVGD(cv=5), float32 memmap N=1e7", CV_N * D, 1, versus=["test_lasso_cv"])
    fitted = benchmark.pedantic(lambda: LassoCVGD(cv=5).fit(X, y), rounds=3, warmup_rounds=1)
    assert fitted.alpha_ > 0.0  # the same alpha as scikit-learn's: test_lasso_cv


def test_lasso_cv(benchmark, record, cv_data):
    X, y = cv_data
    record("scikit-learn LassoCV(cv=5), same file", CV_N * D, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = benchmark.pedantic(lambda: LassoCV(cv=5).fit(X, y), rounds=1, warmup_rounds=0)
    ours = LassoCVGD(cv=5).fit(X, y)
    # The same place on the grid; the grids themselves differ by float32's rounding of
    # scikit-learn's alpha_max (fastgd's moments are float64 sums).
    assert list(ours.alphas_).index(ours.alpha_) == list(fitted.alphas_).index(fitted.alpha_)
    assert ours.alpha_ == pytest.approx(fitted.alpha_, rel=1e-4)
