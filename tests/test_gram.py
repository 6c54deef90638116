"""method="gram", lr="auto", max_stable_lr and tol, against the slow references in naive.py."""

import os
import re
import subprocess
import sys
import warnings

import naive
import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_properties import problems
from tiers import examples

import fastgd
from fastgd import _config, coordinates, curvature, gradient, gram, moments
from fastgd._validation import check_data
from fastgd.backend import Settings


def moments_of(X, y, sample_weight=None, threads=1):
    return moments.centered_moments(*check_data(X, y, sample_weight)[:3], threads)


def assert_moments_match(moments, X, y, sample_weight=None, rtol=1e-12):
    weight, means, comoment = naive.centered_moments(
        np.asarray(X).reshape(len(y), -1), y, sample_weight
    )
    comoment = np.array(comoment)
    assert moments.weight == pytest.approx(weight, rel=1e-14)
    np.testing.assert_allclose(moments.mean, means, rtol=rtol, atol=1e-300)
    # Entries near zero (uncorrelated columns) are compared at the scale of their row/column.
    scale = np.sqrt(np.outer(np.diag(comoment), np.diag(comoment)))
    np.testing.assert_allclose(moments.comoment, comoment, rtol=rtol, atol=rtol * scale.max())
    np.testing.assert_array_equal(moments.comoment, moments.comoment.T)


def assert_same_iterates(result, reference, rtol=1e-9):
    assert result.n_iter == reference.n_iter
    assert result.intercept == pytest.approx(reference.intercept, rel=rtol, abs=1e-300)
    np.testing.assert_allclose(result.coef, reference.coef, rtol=rtol)
    np.testing.assert_allclose(result.loss_history, reference.loss_history, rtol=rtol)


def offset_data(rng, n, d, offset=1e6):
    X = offset + rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 5.0 + rng.normal(size=n)
    return X, y


# --- the moment pass ----------------------------------------------------------------------


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("block_rows", [7, moments.BLOCK_ROWS])
def test_moments_match_the_reference(pass_path, rng, monkeypatch, threads, weighted, block_rows):
    monkeypatch.setattr(moments, "BLOCK_ROWS", block_rows)
    X = rng.normal(loc=[0.0, 50.0, -3.0], scale=[1.0, 10.0, 0.01], size=(301, 3))
    y = X @ [1.0, -2.0, 0.5] + rng.normal(size=301)
    weights = rng.uniform(0, 2, size=301) if weighted else None
    if weighted:
        weights[:20] = 0.0  # a whole block of zero weight (with block_rows = 7)
    assert_moments_match(moments_of(X, y, weights, threads), X, y, weights)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("block_rows", [7, moments.ONE_FEATURE_BLOCK_ROWS])
def test_moments_of_one_feature_match_the_reference(
    pass_path, rng, monkeypatch, weighted, block_rows
):
    # One feature and one target take blocks of their own size (the data's rows, uncopied):
    # 5000 rows are two of them, or 715 of 7 rows, merged.
    monkeypatch.setattr(moments, "ONE_FEATURE_BLOCK_ROWS", block_rows)
    x = rng.normal(loc=50.0, scale=10.0, size=5000)
    y = 3.0 * x + rng.normal(size=5000)
    weights = rng.uniform(0, 2, size=5000) if weighted else None
    if weighted:
        weights[:20] = 0.0  # whole blocks of zero weight (with block_rows = 7)
    assert_moments_match(moments_of(x, y, weights), x, y, weights)


def test_moments_keep_their_digits_at_large_offsets(pass_path, rng):
    # Uncentred sums would lose about 12 of 16 digits here (x**2 ~ 1e12, variance ~ 1).
    X, y = offset_data(rng, 1000, 2)
    assert_moments_match(moments_of(X, y, threads=2), X, y, rtol=1e-9)


def test_moments_of_float32_data_are_accumulated_in_float64(pass_path, rng):
    X = rng.normal(loc=100.0, size=(500, 2)).astype(np.float32)
    y = rng.normal(size=500).astype(np.float32)
    moments = moments_of(X, y)
    assert moments.comoment.dtype == np.float64
    assert_moments_match(moments, X.astype(np.float64), y.astype(np.float64), rtol=1e-11)


def test_moments_of_one_row(pass_path, rng):
    moments = moments_of([[2.0, 3.0]], [4.0])
    assert moments.weight == 1.0 and moments.mean.tolist() == [2.0, 3.0, 4.0]
    assert not moments.comoment.any()


def test_moments_of_no_rows_weigh_nothing_and_merge_away(pass_path, rng):
    # An empty chunk (Dask) or block (streamed rows): weight 0, as the kernel always gave.
    X, y = rng.normal(size=(50, 3)), rng.normal(size=50)
    for Y in (y, np.column_stack([y, 2 * y])):
        none = moments.centered_moments(X[:0], Y[:0])
        assert none.weight == 0.0 and not none.mean.any() and not none.comoment.any()
        some = moments.centered_moments(X, Y)
        merged = moments.merge_moments(none, some)
        assert merged.weight == some.weight
        np.testing.assert_array_equal(merged.comoment, some.comoment)


def test_merge_is_the_moments_of_the_union(pass_path, rng):
    X = rng.normal(loc=1e3, size=(250, 2))
    y = rng.normal(size=250)
    weights = rng.uniform(0, 1, size=250)
    parts = [moments_of(X[a:b], y[a:b], weights[a:b]) for a, b in ((0, 90), (90, 250))]
    merged = moments.merge_moments(*parts)
    assert_moments_match(merged, X, y, weights, rtol=1e-10)
    empty = moments.Moments(0.0, np.zeros(3), np.zeros((3, 3)))
    assert moments.merge_moments(empty, parts[0]).comoment.tolist() == parts[0].comoment.tolist()
    assert moments.merge_moments(parts[1], empty).mean.tolist() == parts[1].mean.tolist()


def test_moment_properties_name_their_parts(rng):
    X = rng.normal(size=(40, 2))
    y = rng.normal(size=40)
    moments = moments_of(X, y)
    assert moments.n_features == 2
    np.testing.assert_array_equal(moments.x_mean, moments.mean[:2])
    assert moments.y_mean == moments.mean[2] and moments.yy == moments.comoment[2, 2]
    np.testing.assert_array_equal(moments.xx, moments.comoment[:2, :2])
    np.testing.assert_array_equal(moments.xy, moments.comoment[:2, 2])


# --- gram iterates are the loop's ---------------------------------------------------------


def test_gram_reproduces_the_lecture(lecture_points):
    x, y = lecture_points[:, 0], lecture_points[:, 1]
    result = fastgd.gradient_descent(x, y, lr=0.0001, n_iter=1000, method="gram")
    assert result.method == "gram" and result.lr == 0.0001
    b, w, history = naive.gradient_descent(x.reshape(-1, 1), y, 0.0001, 1000)
    assert result.intercept == pytest.approx(b, rel=1e-9)
    assert result.coef[0] == pytest.approx(w[0], rel=1e-9)
    np.testing.assert_allclose(result.loss_history, history, rtol=1e-9)
    assert_same_iterates(
        result, fastgd.gradient_descent(x, y, lr=0.0001, n_iter=1000, method="loop")
    )


@pytest.mark.parametrize("threads", [1, 2])
def test_gram_matches_the_reference_with_weights_and_a_start(rng, threads):
    X = rng.normal(loc=[2.0, -1.0], size=(120, 2))
    y = rng.normal(size=120)
    weights = rng.uniform(0, 3, size=120)
    kwargs = {"b0": 1.5, "w0": [-1.0, 2.0], "sample_weight": weights}
    result = fastgd.gradient_descent(
        X, y, lr=0.05, n_iter=30, method="gram", threads=threads, **kwargs
    )
    b, w, history = naive.gradient_descent(X, y, 0.05, 30, **kwargs)
    assert result.intercept == pytest.approx(b, rel=1e-10)
    np.testing.assert_allclose(result.coef, w, rtol=1e-10)
    np.testing.assert_allclose(result.loss_history, history, rtol=1e-10)


@pytest.mark.parametrize("d", [1, 3, 16, 64])
def test_gram_matches_the_loop_at_large_offsets(rng, d):
    X, y = offset_data(rng, 2000, d)
    loop = fastgd.gradient_descent(X, y, n_iter=200, method="loop")
    result = fastgd.gradient_descent(X, y, n_iter=200, method="gram")
    assert result.lr == loop.lr  # the same auto step
    assert_same_iterates(result, loop)


def test_gram_matches_the_reference_at_large_offsets(rng):
    X, y = offset_data(rng, 300, 2)
    result = fastgd.gradient_descent(X, y, n_iter=25, method="gram")
    b, w, history = naive.gradient_descent(X, y, result.lr, 25)
    assert result.intercept == pytest.approx(b, rel=1e-9)
    np.testing.assert_allclose(result.coef, w, rtol=1e-9)
    np.testing.assert_allclose(result.loss_history, history, rtol=1e-9)


def test_gram_matches_the_reference_for_64_features(rng):
    X = rng.normal(loc=rng.uniform(-5, 5, size=64), size=(150, 64))
    y = X @ rng.normal(size=64) + rng.normal(size=150)
    result = fastgd.gradient_descent(X, y, n_iter=10, method="gram")
    b, w, history = naive.gradient_descent(X, y, result.lr, 10)
    assert result.intercept == pytest.approx(b, rel=1e-9)
    np.testing.assert_allclose(result.coef, w, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(result.loss_history, history, rtol=1e-9)


def test_gram_on_float32_data(rng):
    X = rng.normal(loc=3.0, size=(1000, 2)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0], dtype=np.float32) + 1.0).astype(np.float32)
    result = fastgd.gradient_descent(X, y, lr=0.04, n_iter=30, method="gram")
    b, w, history = naive.gradient_descent(X.astype(np.float64), y.astype(np.float64), 0.04, 30)
    assert result.intercept == pytest.approx(b, rel=1e-9)
    np.testing.assert_allclose(result.coef, w, rtol=1e-9)
    np.testing.assert_allclose(result.loss_history, history, rtol=1e-9)


def test_gram_with_the_same_threads_gives_identical_bits(pass_path, rng):
    X = rng.normal(size=(5001, 3))
    y = rng.normal(size=5001)
    for threads in (1, 2):
        first, second = (
            fastgd.gradient_descent(X, y, method="gram", threads=threads) for _ in range(2)
        )
        assert first.intercept == second.intercept
        np.testing.assert_array_equal(first.loss_history, second.loss_history)


def test_gram_run_from_merged_moments_is_the_whole_run(rng):
    # How the Dask backend uses gram: moments per chunk, merged, then the same iterations.
    X = rng.normal(loc=10.0, size=(400, 2))
    y = rng.normal(size=400)
    chunks = [moments_of(X[a : a + 100], y[a : a + 100]) for a in range(0, 400, 100)]
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = moments.merge_moments(merged, chunk)
    run = gram.Run.from_moments(merged)
    history = np.empty(51)
    b, w = 0.0, np.zeros(2)
    shift, precondition = coordinates.plain(2, fit_intercept=True)
    rule = gradient.make_rule(0.004, 2, noise=np.inf)
    settings = Settings(rule, shift, precondition, np.zeros(3))
    history[0] = run.evaluate(b, w, shift)
    status, k, b = run.iterate(b, w, 0, 50, settings, history)
    assert status == 0  # RAN: all 50 steps
    whole = fastgd.gradient_descent(X, y, lr=0.004, n_iter=50, method="gram")
    assert k == 50 and b == pytest.approx(whole.intercept, rel=1e-12)
    np.testing.assert_allclose(w, whole.coef, rtol=1e-12)
    np.testing.assert_allclose(history, whole.loss_history, rtol=1e-12)


def test_gram_callback_and_tol_behave_as_in_the_loop(rng):
    x = rng.normal(size=100)
    y = 3 * x + 1 + rng.normal(size=100)
    seen = {}
    for method in ("loop", "gram"):
        calls = []

        def callback(k, b, w, loss, calls=calls):
            calls.append(k)

        result = fastgd.gradient_descent(
            x, y, lr=0.01, n_iter=10_000, tol=1e-4, method=method, check_every=50,
            callback=callback,
        )  # fmt: skip
        assert result.converged and result.method == method
        seen[method] = (result, calls)
    assert_same_iterates(seen["gram"][0], seen["loop"][0])
    assert seen["gram"][1] == seen["loop"][1]


def test_nan_in_the_data_is_located_with_gram(rng):
    x = rng.normal(size=50)
    x[17] = np.nan
    with pytest.raises(ValueError, match=r"X\[17\] is nan"):
        fastgd.gradient_descent(x, rng.normal(size=50), method="gram")


@settings(max_examples=examples(40), deadline=None)
@given(problems(), st.booleans())
def test_gram_equals_the_reference_for_random_problems(problem, auto):
    X, y, b0, w0, weights, n_iter, threads = problem
    X2 = X.reshape(len(y), -1).astype(np.float64)
    # 1 / trace(H) <= 1 / L: a stable step (the trace with the weights, as the loss has them)
    lr = "auto" if auto else 0.5 / (1.0 + np.average(np.sum(X2**2, axis=1), weights=weights))
    result = fastgd.gradient_descent(
        X, y, lr=lr, n_iter=3 * n_iter, b0=b0, w0=w0, sample_weight=weights, threads=threads,
        method="gram",
    )  # fmt: skip
    assert result.method == "gram"
    if weights is not None:
        weights = weights.astype(X.dtype)
    b, w, history = naive.gradient_descent(
        X2, y.astype(np.float64), result.lr, 3 * n_iter, b0=b0, w0=w0, sample_weight=weights
    )
    scale = 1.0 + abs(b) + np.abs(w).sum()
    assert abs(result.intercept - b) <= 1e-9 * scale
    np.testing.assert_allclose(result.coef, w, rtol=1e-9, atol=1e-9 * scale)
    np.testing.assert_allclose(result.loss_history, history, rtol=1e-9, atol=1e-9 * history[0])


# --- choosing the method --------------------------------------------------------------------


def test_auto_method_picks_gram_for_many_iterations_and_the_loop_for_few(rng):
    X = rng.normal(size=(1000, 2))
    y = rng.normal(size=1000)
    assert fastgd.gradient_descent(X, y, lr=0.1, n_iter=1000).method == "gram"
    assert fastgd.gradient_descent(X, y, lr=0.1, n_iter=1).method == "loop"
    assert fastgd.gradient_descent(X, y, lr=0.1, n_iter=1000, method="loop").method == "loop"
    wide = rng.normal(size=(50, 40))
    assert fastgd.gradient_descent(wide, y[:50], lr=0.001, n_iter=20).method == "loop"


def test_gram_runs_its_single_pass_in_parallel_only_when_it_is_long(rng, monkeypatch):
    x = rng.normal(size=1000)
    assert fastgd.gradient_descent(x, 2 * x, lr=0.1, n_iter=100, method="gram").threads == 1
    monkeypatch.setattr(_config, "GRAM_PARALLEL_MIN_PRODUCTS", 4000)
    monkeypatch.setattr("fastgd.threads.runnable_elsewhere", lambda: 0)  # an idle machine
    result = fastgd.gradient_descent(x, 2 * x, lr=0.1, n_iter=100, method="gram")
    assert result.threads == numba.get_num_threads()
    assert (
        fastgd.gradient_descent(x, 2 * x, lr=0.1, n_iter=100, method="gram", threads=1).threads == 1
    )


@pytest.mark.parametrize(
    "method, error, match",
    [("fast", ValueError, "method must be one of"), (1, TypeError, "method must be one of")],
)
def test_bad_method_is_named(method, error, match):
    with pytest.raises(error, match=match):
        fastgd.gradient_descent([1.0, 2.0], [1.0, 2.0], method=method)


# --- step size --------------------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
def test_max_stable_lr_is_two_over_the_largest_eigenvalue(rng, weighted):
    X = rng.normal(loc=[5.0, 0.0, -20.0], size=(200, 3))
    y = rng.normal(size=200)
    weights = rng.uniform(0, 2, size=200) if weighted else None
    largest = np.linalg.eigvalsh(np.array(naive.hessian(X, weights)))[-1]
    assert fastgd.max_stable_lr(X, y, weights) == pytest.approx(2 / largest, rel=1e-12)
    assert fastgd.max_stable_lr(X, y, weights, threads=2) == pytest.approx(2 / largest, rel=1e-12)


def test_max_stable_lr_at_large_offsets_and_by_power_iteration(rng, monkeypatch):
    X, y = offset_data(rng, 500, 4)
    largest = np.linalg.eigvalsh(np.array(naive.hessian(X)))[-1]
    assert fastgd.max_stable_lr(X, y) == pytest.approx(2 / largest, rel=1e-12)
    monkeypatch.setattr(_config, "EIGVALSH_MAX_FEATURES", 0)
    X = rng.normal(loc=1.0, size=(300, 6))
    largest = np.linalg.eigvalsh(np.array(naive.hessian(X)))[-1]
    assert fastgd.max_stable_lr(X, y[:300]) == pytest.approx(2 / largest, rel=1e-9)


def test_max_stable_lr_of_the_lecture_data(lecture_points):
    x, y = lecture_points[:, 0], lecture_points[:, 1]
    limit = fastgd.max_stable_lr(x, y)
    assert limit == pytest.approx(2 / np.linalg.eigvalsh(naive.hessian(x.reshape(-1, 1)))[-1])
    assert f"{limit:.1e}" == "4.0e-04"
    # The limit is sharp: just below it the fit converges, just above it diverges.
    below = fastgd.gradient_descent(x, y, lr=0.98 * limit, n_iter=20_000, method="gram")
    # Below 2 / L every step of gradient descent on a quadratic lowers the loss (the descent
    # lemma): the whole history falls, to a tiny fraction of where it started.
    history = below.loss_history
    assert below.n_iter == 20_000 and np.all(np.isfinite(history))
    assert np.all(np.diff(history) <= 1e-12 * history[:-1])
    assert history[-1] < 0.05 * history[0]
    with pytest.raises(fastgd.DivergenceError):
        fastgd.gradient_descent(x, y, lr=1.02 * limit, n_iter=20_000, method="gram")


def test_max_stable_lr_rejects_bad_data():
    with pytest.raises(ValueError, match=r"y\[1\] is inf"):
        fastgd.max_stable_lr([1.0, 2.0], [0.0, np.inf])
    with pytest.raises(ValueError, match="same number of rows"):
        fastgd.max_stable_lr([1.0, 2.0], [0.0])


@pytest.mark.parametrize("method", ["loop", "gram"])
def test_auto_lr_is_one_over_l_and_the_loss_decreases_monotonically(rng, method):
    X, y = offset_data(rng, 500, 3, offset=100.0)
    result = fastgd.gradient_descent(X, y, n_iter=300, method=method)
    assert result.lr == pytest.approx(fastgd.max_stable_lr(X, y) / 2, rel=1e-14)
    assert np.all(np.diff(result.loss_history) <= 0)
    assert result.loss < result.loss_history[0]


def test_defaults_are_auto_lr_and_1000_iterations(lecture_points):
    x, y = lecture_points[:, 0], lecture_points[:, 1]
    result = fastgd.gradient_descent(x, y)
    assert result.n_iter == 1000 and result.method == "gram"
    assert result.lr == pytest.approx(fastgd.max_stable_lr(x, y) / 2)


def test_lr_auto_reaches_the_lecture_optimum(lecture_points):
    x, y = lecture_points[:, 0], lecture_points[:, 1]
    slope, intercept = np.polyfit(x, y, 1)
    result = fastgd.gradient_descent(x, y, n_iter=2_000_000)
    assert result.intercept == pytest.approx(intercept, rel=1e-6)
    assert result.coef[0] == pytest.approx(slope, rel=1e-6)


def test_divergence_names_the_stable_limit(lecture_points):
    x, y = lecture_points[:, 0], lecture_points[:, 1]
    for method in ("loop", "gram"):
        with pytest.raises(
            fastgd.DivergenceError,
            match=r"lr=0\.001 exceeds the stable limit 4\.0e-4 for this data",
        ):
            fastgd.gradient_descent(x, y, lr=0.001, n_iter=1000, method=method)


def test_bad_lr_strings_are_refused():
    with pytest.raises(TypeError, match="lr must be a real number > 0 or 'auto'"):
        fastgd.gradient_descent([1.0, 2.0], [1.0, 2.0], lr="fast")


# --- convergence --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["loop", "gram"])
def test_convergence_warning_when_tol_is_not_met(lecture_points, method):
    x, y = lecture_points[:, 0], lecture_points[:, 1]
    with pytest.warns(fastgd.ConvergenceWarning, match=r"tol=1e-12 was not reached in n_iter=50"):
        result = fastgd.gradient_descent(x, y, n_iter=50, tol=1e-12, method=method)
    assert not result.converged and result.n_iter == 50


def test_no_warning_when_tol_is_met_or_not_given(rng):
    x = rng.normal(size=100)
    y = 2 * x + 1 + rng.normal(size=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        converged = fastgd.gradient_descent(x, y, n_iter=100_000, tol=1e-8)
        fastgd.gradient_descent(x, y, n_iter=5)
    assert converged.converged and converged.n_iter < 100_000
    slope, intercept = np.polyfit(x, y, 1)
    assert converged.coef[0] == pytest.approx(slope, rel=1e-7)
    assert converged.intercept == pytest.approx(intercept, rel=1e-7)


@pytest.mark.parametrize("seed", range(8))
def test_tol_zero_reaches_the_optimum_and_says_whether_it_stopped_there(seed):
    # tol=0: stop once the gradient is within its own rounding (stopping.GRADIENT_ROUNDING, a
    # measured constant). Where the rounding of the moments' gradient stays above it (the
    # iterates reach a floating-point fixed point first: 16 of 60 such data sets on an Intel
    # Xeon, others on other CPUs), the fit runs to n_iter: then at the optimum all the same,
    # and with a ConvergenceWarning, never silently. What is guaranteed on every CPU is that.
    rng = np.random.default_rng(12_340 + seed)
    x = rng.normal(size=100)
    y = 2 * x + 1 + rng.normal(size=100)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fastgd.gradient_descent(x, y, n_iter=20_000, tol=0.0, method="gram")
    warned = [w for w in caught if issubclass(w.category, fastgd.ConvergenceWarning)]
    if result.converged:
        assert result.n_iter < 20_000 and not warned
    else:
        assert result.n_iter == 20_000 and len(warned) == 1
        assert result.distance_bound < 1e-14 * np.hypot(result.intercept, result.coef[0])
    slope, intercept = np.polyfit(x, y, 1)
    assert result.intercept == pytest.approx(intercept, rel=1e-9)
    assert result.coef[0] == pytest.approx(slope, rel=1e-9)


# --- command line -------------------------------------------------------------------------


def run_cli(argv, capsys):
    import io

    from fastgd.cli import main

    out = io.StringIO()
    status = main(argv, out=out)
    return status, out.getvalue(), capsys.readouterr().err


def test_cli_reaches_the_least_squares_answer_by_default(lecture_points, tmp_path, capsys):
    path = tmp_path / "lecture.csv"
    np.savetxt(path, lecture_points, delimiter=",", fmt="%.17g")
    status, output, err = run_cli(["fit", str(path)], capsys)
    assert status == 0 and err == ""
    assert "method gram, lr " in output and "(auto), momentum " not in output  # kappa = 1
    assert "standardized" in output and "converged: yes; distance to the optimum <= " in output
    b, m = np.polyfit(lecture_points[:, 0], lecture_points[:, 1], 1)[::-1]
    printed = re.search(r"After \d+ iterations? b = (\S+), m = (\S+), error", output)
    np.testing.assert_allclose([float(printed[1]), float(printed[2])], [b, m], rtol=1e-10)
    limit = fastgd.max_stable_lr(lecture_points[:, 0], lecture_points[:, 1])
    status, output, _ = run_cli(["fit", str(path), "--plain", "--iters", "3"], capsys)
    assert status == 0 and f"method gram, lr {limit / 2:.4g} (auto);" in output
    status, output, _ = run_cli(
        ["fit", str(path), "--plain", "--lr", "0.0001", "--iters", "1000", "--method", "loop"],
        capsys,
    )
    assert status == 0 and "method loop, lr 0.0001;" in output
    assert "After 1000 iterations b = 0.088936519937413" in output


def test_cli_reports_an_unmet_tol_as_one_warning_line(lecture_points, tmp_path, capsys):
    path = tmp_path / "lecture.csv"
    np.savetxt(path, lecture_points, delimiter=",", fmt="%.17g")
    plain = ["--no-standardize", "--momentum", "0"]
    status, output, err = run_cli(["fit", str(path), *plain, "--iters", "10", "--tol", "1e-12"],
                                  capsys)  # fmt: skip
    assert status == 0 and "After 10 iterations" in output
    # The library's words, or the CLI's own once ConvergenceWarning carries its numbers.
    assert err.startswith(("fastgd: warning: tol=1e-12 ", "fastgd: warning: --tol 1e-12 "))
    assert "was not reached" in err and err.count("\n") == 1


@pytest.mark.parametrize("d", [1, 2])
def test_loss_is_never_negative_on_data_a_plane_fits_exactly(d):
    rng = np.random.default_rng(7)
    X = rng.normal(1.0, 1.0, size=(1000, d))
    y = X @ np.arange(1.0, d + 1.0) + 3.0  # no noise: the optimum's loss is 0
    result = fastgd.gradient_descent(X, y, method="gram", n_iter=20_000)
    assert np.all(result.loss_history >= 0.0)
    # gram's loss is the difference yy - w.(xy + g) of moments of size yy: near an exact fit it
    # is rounding, a few machine epsilons of y's variance (on any CPU; the last bits differ).
    # The iterates reach the plane to the accuracy that rounding allows, sqrt of that.
    noise = 64 * np.finfo(np.float64).eps * np.var(y)
    assert result.loss <= noise
    np.testing.assert_allclose(result.coef, np.arange(1.0, d + 1.0), rtol=1e-6)
    assert result.intercept == pytest.approx(3.0, rel=1e-6)
    # The loop sums the squared residuals themselves: its loss keeps relative accuracy.
    loop = fastgd.gradient_descent(X, y, method="loop", n_iter=20_000)
    assert 0.0 <= loop.loss < 1e-20 * loop.loss_history[0]


def test_one_feature_curvature_in_closed_form_equals_lapack():
    # One feature: L comes from a formula, not LAPACK (a small fit pays for every microsecond).
    rng = np.random.default_rng(11)
    for _ in range(300):
        x = rng.normal(rng.uniform(-1e4, 1e4), 10 ** rng.uniform(-3, 3), 50)
        data = moments.centered_moments(x.reshape(-1, 1), rng.normal(size=50))
        lapack = float(np.linalg.eigvalsh(curvature.hessian(data))[-1])
        assert curvature.largest_curvature(data) == pytest.approx(lapack, rel=1e-14)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX's")
def test_a_forked_child_runs_parallel_passes(tmp_path):
    """The one-pass kernels run their row ranges on a pool of threads (threads.in_ranges). A
    child forked after a parallel pass inherits the pool without its threads: it waited for
    them forever (a multiprocessing pool's first fit hung). The child makes its own pool, and
    its moments are the parent's to the bit."""
    script = (
        "import os, numpy as np\n"
        "from fastgd.moments import centered_moments\n"
        "X = np.random.default_rng(0).normal(size=(40_000, 3)); y = X.sum(axis=1)\n"
        "parent = centered_moments(X, y, None, 2).comoment\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    child = centered_moments(X, y, None, 2).comoment\n"
        "    os._exit(0 if np.array_equal(child, parent) else 3)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "print('child', os.waitstatus_to_exitcode(status))\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": root})  # fmt: skip
    assert done.stdout.strip() == "child 0", done.stdout + done.stderr
