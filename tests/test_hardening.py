"""Hostile input to the public surface: a correct result or a clear error, never anything else.

Every call either returns a finite result that matches the reference or raises ValueError,
TypeError or DivergenceError with a message; never a numba error, a SystemError or a crash.
The caller's arrays are bit-identical afterwards.
"""

import collections
import threading
import warnings

import naive
import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from tiers import examples

import fastgd
from fastgd import lecture

CLEAR_ERRORS = (ValueError, TypeError, fastgd.DivergenceError)

# Results that could not be compared with the reference (it overflowed in Python floats), per
# test: recorded as a Hypothesis event each time, and the test fails when more than a quarter
# of the results it got went unchecked (`most_results_are_compared`).
_COMPARED = collections.Counter()


def _compared(checked):
    event("result compared with the reference" if checked else "unchecked: reference overflowed")
    _COMPARED["checked" if checked else "unchecked"] += 1


@pytest.fixture(autouse=True)
def most_results_are_compared():
    _COMPARED.clear()
    yield
    total = sum(_COMPARED.values())
    if _COMPARED["unchecked"] > total / 4:
        pytest.fail(
            f"{_COMPARED['unchecked']} of {total} results went unchecked (the reference "
            "overflowed): draw fewer huge inputs, or a reference that can take them"
        )


ALL_DTYPES = [
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.float16, np.float32, np.float64, np.longdouble, np.complex64, np.complex128,
    np.object_, np.str_, np.bytes_, "datetime64[s]", "timedelta64[s]", "V8",
]  # fmt: skip


def _layout(array, how):
    """The same values in another memory layout: a copy, reversed, strided, Fortran, read-only."""
    if how == "strided":
        wide = np.repeat(array, 2, axis=0)
        return wide[::2]
    if how == "reversed":
        return array[::-1].copy()[::-1]
    if how == "fortran":
        return np.asfortranarray(array)
    if how == "readonly":
        array = array.copy()
        array.setflags(write=False)
        return array
    return array


@st.composite
def hostile_data(draw):
    n = draw(st.integers(0, 40))
    d = draw(st.integers(0, 3))
    shape = (n,) if d == 0 else (n, d)
    dtype = np.dtype(draw(st.sampled_from(ALL_DTYPES)))
    magnitude = draw(st.sampled_from([1.0, 1e-300, 1e150, 1e300]))
    values = draw(hnp.arrays(np.float64, shape, elements=st.floats(-10, 10)))
    y_values = draw(hnp.arrays(np.float64, n, elements=st.floats(-10, 10)))
    if draw(st.booleans()) and n > 0:
        bad = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        target = draw(st.sampled_from(["X", "y"]))
        index = draw(st.integers(0, n - 1))
        (values if target == "X" else y_values).reshape(n, -1)[index, 0] = bad
    try:
        with np.errstate(all="ignore"):
            X = (values * magnitude).astype(dtype)
    except (TypeError, ValueError):
        X = values.astype(object)
    X = _layout(X, draw(st.sampled_from(["plain", "strided", "reversed", "fortran", "readonly"])))
    y = y_values * magnitude
    if draw(st.booleans()) and n > 1:
        y = y[:-1]  # a length mismatch
    return X, y


def _parameter(valid):
    wrong = st.sampled_from(["0.1", None, True, np.bool_(False), [], 1j, object()])
    return st.one_of(valid, wrong)


@st.composite
def hostile_parameters(draw):
    lr = draw(
        _parameter(st.sampled_from(["auto", 1e-3, np.float32(0.01), 0.5, 1e300, -0.1, 0.0, np.nan]))
    )
    n_iter = draw(_parameter(st.sampled_from([0, 1, 7, np.int64(3), 2.0, -1])))
    threads = draw(st.one_of(st.none(), _parameter(st.sampled_from([1, 2, 0, 99]))))
    b0 = draw(_parameter(st.sampled_from([0.0, 1e308, np.float16(2), np.inf])))
    method = draw(st.one_of(st.sampled_from(["auto", "loop", "gram"]), _parameter(st.just("?"))))
    tol = draw(st.one_of(st.none(), _parameter(st.sampled_from([0.0, 1e-3, -1.0, np.inf]))))
    return {"lr": lr, "n_iter": n_iter, "threads": threads, "b0": b0, "method": method, "tol": tol}


def hostile_weights(n):
    """None, or weights for n rows that may be wrong: negative, NaN, all zero, wrong length..."""
    good = hnp.arrays(np.float64, n, elements=st.floats(0.0, 5.0))
    bad = st.one_of(
        hnp.arrays(np.float64, max(n - 1, 0), elements=st.floats(0.0, 5.0)),
        hnp.arrays(np.float64, n, elements=st.floats(allow_nan=True, allow_infinity=True)),
        st.just(np.zeros(n)),
        st.just(-np.ones(n)),
        st.just(np.ones((n, 2))),
        st.sampled_from(["1", [1j] * n, None]),
    )
    return st.one_of(st.none(), good, bad)


def _float_dtype(dtype):
    """The float dtype fit computes in for data of `dtype` (see _validation.float_dtype_for)."""
    return np.float32 if dtype in (np.float16, np.float32) else np.float64


def _assert_matches_reference(X, y, weights, b0, result):
    """A returned fit equals the slow reference run with the same lr and number of steps."""
    dtype = _float_dtype(np.asarray(X).dtype)
    Xf = np.asarray(X).astype(dtype).astype(np.float64).reshape(len(y), -1)
    yf = np.asarray(y).astype(dtype).astype(np.float64)
    sw = None if weights is None else np.asarray(weights).astype(dtype).astype(np.float64)
    try:
        b, w, history = naive.gradient_descent(
            Xf, yf, result.lr, result.n_iter, b0=float(b0), sample_weight=sw
        )
    except OverflowError:
        # Python floats raise where IEEE arithmetic still has room (x**2 near 1e308), e.g. for
        # -1 cast to uint64 (1.8e19): no reference for such data, its finiteness is checked.
        _compared(False)
        return
    _compared(True)
    scale = 1.0 + abs(b) + np.abs(w).sum()
    assert abs(result.intercept - b) <= 1e-7 * scale
    np.testing.assert_allclose(result.coef, w, rtol=1e-7, atol=1e-7 * scale)
    np.testing.assert_allclose(result.loss_history, history, rtol=1e-6, atol=1e-9 * history[0])


def _snapshot(array):
    return array.tobytes() if isinstance(array, np.ndarray) else None


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_data(), hostile_parameters(), st.data())
def test_fit_returns_the_reference_result_or_a_clear_error(data, parameters, draw):
    X, y = data
    weights = draw.draw(hostile_weights(len(y)))
    before = (_snapshot(X), _snapshot(y), _snapshot(weights))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fastgd.ConvergenceWarning)
            result = fastgd.gradient_descent(X, y, sample_weight=weights, **parameters)
    except CLEAR_ERRORS as error:
        assert str(error)
        # Python's own or fastgd's exception types, not numba's (whose TypingError and the like
        # would mean a typing trace reached the user).
        assert type(error) in (ValueError, TypeError) or type(error).__module__.startswith("fastgd")
        assert "Failed in nopython mode" not in str(error)
    else:
        assert np.isfinite(result.intercept) and np.all(np.isfinite(result.coef))
        assert np.all(np.isfinite(result.loss_history))
        assert result.loss_history.shape == (result.n_iter + 1,)
        _assert_matches_reference(X, y, weights, parameters["b0"], result)
    assert (_snapshot(X), _snapshot(y), _snapshot(weights)) == before


REAL_DTYPES = [
    np.bool_, np.int8, np.int32, np.int64, np.uint8, np.uint64,
    np.float16, np.float32, np.float64, np.longdouble,
]  # fmt: skip


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_valid_input_of_any_dtype_layout_weights_and_method_matches_the_reference(draw):
    n = draw.draw(st.integers(1, 40))
    d = draw.draw(st.integers(0, 3))
    shape = (n,) if d == 0 else (n, d)
    dtype = np.dtype(draw.draw(st.sampled_from(REAL_DTYPES)))
    values = draw.draw(hnp.arrays(np.float64, shape, elements=st.floats(-10, 10)))
    if dtype.kind == "u":
        values = np.abs(values)  # -1 as uint64 is 1.8e19: valid, but not the point here
    layout = draw.draw(st.sampled_from(["plain", "strided", "fortran", "readonly"]))
    X = _layout(values.astype(dtype), layout)
    y = draw.draw(hnp.arrays(np.float64, n, elements=st.floats(-10, 10)))
    weights = draw.draw(
        st.one_of(st.none(), hnp.arrays(np.float64, n, elements=st.floats(0.0, 5.0)))
    )
    if weights is not None:
        weights[weights < 1e-30] = 0.0  # tiny weights underflow in float32 (tested elsewhere)
    if weights is not None and weights.sum() < 1e-300:
        weights[0] = 1.0  # weights summing to (almost) zero are an error, tested elsewhere
    parameters = {
        "lr": draw.draw(st.sampled_from(["auto", 1e-3, 0.02])),
        "n_iter": draw.draw(st.integers(0, 8)),
        "method": draw.draw(st.sampled_from(["auto", "loop", "gram"])),
        "threads": draw.draw(st.sampled_from([None, 1, 2])),
        "tol": draw.draw(st.sampled_from([None, 1e-3])),
        "b0": draw.draw(st.sampled_from([0.0, -2.5])),
    }
    before = (_snapshot(X), _snapshot(y), _snapshot(weights))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fastgd.ConvergenceWarning)
            result = fastgd.gradient_descent(X, y, sample_weight=weights, **parameters)
    except fastgd.DivergenceError:
        # Only a numeric lr can be too large; lr="auto" is always stable.
        assert parameters["lr"] != "auto"
        event("diverged")
    else:
        _assert_matches_reference(X, y, weights, parameters["b0"], result)
        event(f"{result.method}, weighted={weights is not None}")
    assert (_snapshot(X), _snapshot(y), _snapshot(weights)) == before


@settings(max_examples=examples(80), deadline=None)
@given(
    hnp.arrays(
        np.float64, st.tuples(st.integers(1, 30), st.integers(1, 3)), elements=st.floats(-1e3, 1e3)
    ),
    st.integers(0, 5),
    st.sampled_from(["plain", "strided", "reversed", "fortran", "readonly"]),
)
def test_any_layout_matches_the_reference(X, n_iter, layout):
    y = X.sum(axis=1) + 1.0
    lr = 0.5 / (1.0 + np.mean(np.sum(X**2, axis=1)))
    view = _layout(X, layout)
    result = fastgd.gradient_descent(view, _layout(y, layout), lr=lr, n_iter=n_iter)
    b, w, history = naive.gradient_descent(X, y, lr, n_iter)
    scale = 1.0 + abs(b) + np.abs(w).sum()
    assert abs(result.intercept - b) <= 1e-9 * scale
    np.testing.assert_allclose(result.coef, w, rtol=1e-9, atol=1e-9 * scale)
    np.testing.assert_allclose(result.loss_history, history, rtol=1e-9, atol=1e-12 * history[0])


def _plain(arguments):
    return [
        np.asarray(a, dtype=np.float64).tolist() if isinstance(a, np.ndarray) else a
        for a in arguments
    ]


def _reference_overflows(reference, arguments):
    try:
        with np.errstate(all="ignore"):
            value = reference(*_plain(arguments))
    except OverflowError:
        return True
    return not np.all(np.isfinite(value))


@settings(max_examples=examples(150), deadline=None)
@given(
    st.one_of(
        hnp.arrays(
            st.sampled_from(ALL_DTYPES[:13]), st.tuples(st.integers(0, 6), st.integers(0, 3))
        ),
        hnp.arrays(
            np.float64, st.tuples(st.integers(1, 6), st.just(2)), elements=st.floats(-1e200, 1e200)
        ),
        st.none(),
        st.text(max_size=3),
    ),
    _parameter(st.floats(-1e3, 1e3)),
    _parameter(st.floats(0, 1)),
    _parameter(st.integers(-1, 4)),
)
def test_lecture_functions_match_the_reference_or_raise_clearly(points, b, lr, iterations):
    before = _snapshot(points)
    calls = [
        (lecture.compute_error_for_line_given_points, naive.lecture_error, (b, b, points)),
        (lecture.step_gradient, naive.lecture_step, (b, b, points, lr)),
        (lecture.gradient_descent_runner, naive.lecture_runner, (points, b, b, lr, iterations)),
    ]
    for compiled, reference, arguments in calls:
        try:
            value = compiled(*arguments)
        except CLEAR_ERRORS as error:
            assert str(error)
            if isinstance(error, fastgd.DivergenceError):
                # Only a true overflow may be reported as one: the reference overflows too.
                assert _reference_overflows(reference, arguments)
            continue
        expected = reference(*_plain(arguments))
        np.testing.assert_allclose(value, expected, rtol=1e-9, atol=1e-300)
    assert _snapshot(points) == before


@pytest.mark.parametrize("method", ["loop", "gram"])
@pytest.mark.parametrize("lr", [1e-3, "auto"])
@pytest.mark.parametrize("scale", [1e200, 1e160])
def test_overflowing_data_never_returns_nan_as_success(scale, lr, method):
    rng = np.random.default_rng(0)
    x = rng.normal(size=100) * scale
    with pytest.raises(fastgd.DivergenceError, match=r"scale X and y|too large"):
        fastgd.gradient_descent(x, x, lr=lr, n_iter=10, method=method)


@pytest.mark.parametrize("method", ["loop", "gram"])
def test_a_step_that_overflows_is_a_divergence(method):
    x = np.linspace(0, 1, 50)
    with pytest.raises(fastgd.DivergenceError, match="iteration 1 "):
        fastgd.gradient_descent(x, x + 1, lr=1e308, n_iter=10, method=method)


@pytest.mark.parametrize("method", ["loop", "gram"])
def test_growing_overflow_is_a_divergence_at_the_iteration_it_happens(method):
    # Moderate data and a step just too large: the iterates grow geometrically and overflow
    # after some hundreds of steps; never a NaN or inf returned as a result.
    x = np.linspace(0.0, 1.0, 200)
    lr = 1.5 * fastgd.max_stable_lr(x, 2 * x + 1)
    with pytest.raises(fastgd.DivergenceError, match=r"iteration \d+ .*exceeds the stable limit"):
        fastgd.gradient_descent(x, 2 * x + 1, lr=lr, n_iter=100_000, method=method)


@pytest.fixture
def numba_threads():
    """numba's thread count, restored after the test (which may set it)."""
    before = numba.get_num_threads()
    yield before
    numba.set_num_threads(before)


@pytest.mark.parametrize("method", ["loop", "gram"])
def test_concurrent_fits_are_correct_and_restore_thread_counts(method, numba_threads):
    rng = np.random.default_rng(1)
    problems = [(rng.normal(size=(20_000, 2)), rng.normal(size=20_000)) for _ in range(6)]
    expected = [
        fastgd.gradient_descent(X, y, lr=0.1, n_iter=30, threads=1, method=method)
        for X, y in problems
    ]
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    before = numba.get_num_threads()
    results = [None] * len(problems)
    errors = []

    def work(index):
        try:
            X, y = problems[index]
            threads = 1 + index % 2
            results[index] = fastgd.gradient_descent(
                X, y, lr=0.1, n_iter=30, threads=threads, method=method
            )
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(len(problems))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors
    for result, reference in zip(results, expected):
        np.testing.assert_allclose(result.coef, reference.coef, rtol=1e-12)
        np.testing.assert_allclose(result.loss_history, reference.loss_history, rtol=1e-12)
    assert numba.get_num_threads() == before


@pytest.mark.parametrize("method", ["loop", "gram"])
def test_large_c_contiguous_input_is_not_copied(method):
    import tracemalloc

    rng = np.random.default_rng(2)
    for dtype in (np.float64, np.float32):
        X = rng.normal(size=(500_000, 2)).astype(dtype)
        y = rng.normal(size=500_000).astype(dtype)
        # Compile outside the measurement, for the same thread count (pinned: the default
        # counts idle cores, and the warm-up's own threads may still be busy a moment later).
        threads = fastgd.gradient_descent(X, y, n_iter=0, method=method).threads
        tracemalloc.start()
        try:
            fastgd.gradient_descent(X, y, n_iter=5, method=method, threads=threads)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # numpy reports its allocations to tracemalloc: a copy of X or y would show here.
        assert peak < 0.05 * y.nbytes, peak


MALFORMED_FILES = {
    "empty.csv": b"",
    "blank.csv": b"\n\n  \n",
    "binary.csv": bytes(range(256)) * 4,
    "ragged.csv": b"1,2\n3,4\n5\n",
    "huge.csv": b"1,2\n1e400,3\n",
    "text.csv": b"x,y\n1,2\nthree,4\n",
    "semicolons.csv": b"1;2\n3;4\n",
    "onecolumn.npy": None,
    "notnpy.npy": b"this is not an npy file",
}


# An unclosed file is a ResourceWarning, reported by pytest as an "unraisable exception".
CLOSES_FILES = pytest.mark.filterwarnings(
    "error::ResourceWarning", "error::pytest.PytestUnraisableExceptionWarning"
)


@CLOSES_FILES
@pytest.mark.parametrize("name", sorted(MALFORMED_FILES))
def test_cli_malformed_files_are_one_line_errors(tmp_path, capsys, name):
    from fastgd.cli import main

    path = tmp_path / name
    content = MALFORMED_FILES[name]
    if content is None:
        np.save(path, np.arange(5.0))
    else:
        path.write_bytes(content)
    status = main(["fit", str(path), "--iters", "3"])
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.count("\n") == 1 and err.startswith("fastgd: error: ")
    assert str(path) in err or "X[1] is inf" in err, err


def test_cli_directory_and_unreadable_file(tmp_path, capsys, monkeypatch):
    from fastgd import datafiles
    from fastgd.cli import main

    assert main(["fit", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    path = tmp_path / "locked.csv"
    path.write_text("1,2\n3,4\n")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    # Root can read any file, so the refusal is simulated where fastgd opens the file.
    monkeypatch.setattr(datafiles, "open", refuse, raising=False)
    assert main(["fit", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Permission denied" in err and err.count("\n") == 1


@settings(max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    hostile_data(),
    st.sampled_from(["auto", "auto", 1e-3, 0.0, -1.0, "fast", None]),
    st.sampled_from([5, 5, 0, -1, 2.5, None]),
    st.sampled_from(["auto", "loop", "gram", "?"]),
    st.data(),
)
def test_estimator_returns_the_fit_result_or_a_clear_error(data, lr, n_iter, method, draw):
    sklearn = pytest.importorskip("sklearn", reason="the sklearn extra is not installed")
    del sklearn
    X, y = data
    weights = draw.draw(hostile_weights(len(y)))
    before = (_snapshot(X), _snapshot(y), _snapshot(weights))
    model = fastgd.LinearRegressionGD(
        lr=lr, n_iter=n_iter, method=method, tol=None, standardize=False, momentum=0.0
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scikit-learn's own DataConversionWarning and the like
            model.fit(X, y, sample_weight=weights)
            predictions = model.predict(X)
    except CLEAR_ERRORS as error:
        assert str(error)
        assert type(error) in (ValueError, TypeError) or type(error).__module__.startswith(
            ("fastgd", "sklearn")
        )
        assert "Failed in nopython mode" not in str(error)
    else:
        # The estimator is fastgd.fit on scikit-learn-validated data: same parameters, same steps.
        # scikit-learn keeps float32 and converts every other dtype to float64.
        dtype = np.float32 if np.asarray(X).dtype == np.float32 else np.float64
        Xf = np.asarray(X, dtype=np.float64).reshape(len(y), -1)
        assert np.all(np.isfinite(predictions)) and predictions.shape == (len(y),)
        _assert_matches_reference_values(model, Xf, y, weights, dtype)
        event(f"fitted ({model.n_iter_} steps, weighted={weights is not None})")
        expected = Xf.astype(dtype) @ model.coef_ + model.intercept_
        np.testing.assert_allclose(predictions, expected, rtol=1e-6)
    assert (_snapshot(X), _snapshot(y), _snapshot(weights)) == before


def _assert_matches_reference_values(model, X, y, weights, dtype):
    """The estimator's parameters equal the slow reference with its lr_ and n_iter_."""
    Xf = X.astype(dtype).astype(np.float64)
    yf = np.asarray(y, dtype=np.float64).astype(dtype).astype(np.float64)
    sw = None if weights is None else np.asarray(weights).astype(dtype).astype(np.float64)
    try:
        b, w, history = naive.gradient_descent(Xf, yf, model.lr_, model.n_iter_, sample_weight=sw)
    except OverflowError:
        _compared(False)
        return  # no Python-float reference for such data (see _assert_matches_reference)
    _compared(True)
    scale = 1.0 + abs(b) + np.abs(w).sum()
    assert abs(model.intercept_ - b) <= 1e-6 * scale
    np.testing.assert_allclose(model.coef_, w, rtol=1e-6, atol=1e-6 * scale)
    np.testing.assert_allclose(model.loss_curve_, history, rtol=1e-5, atol=1e-9 * history[0])


@CLOSES_FILES
@pytest.mark.parametrize("name", sorted(n for n in MALFORMED_FILES if n.endswith(".csv")))
def test_convert_malformed_files_are_one_line_errors_and_leave_nothing(tmp_path, capsys, name):
    from fastgd.cli import main

    path = tmp_path / name
    path.write_bytes(MALFORMED_FILES[name])
    out = tmp_path / "out.npy"
    status = main(["convert", str(path), str(out)])
    err = capsys.readouterr().err
    if name == "huge.csv":
        # 1e400 parses as inf: converting stores it (fit then names it); nothing is lost.
        assert status == 0, err
        assert np.isinf(np.load(out)).any()
        return
    assert status == 2, err
    assert err.count("\n") == 1 and err.startswith("fastgd: error: ")
    assert str(path) in err, err
    assert not out.exists()
