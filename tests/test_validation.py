"""Bad input to fastgd.fit: a ValueError or TypeError naming the argument, never a numba trace."""

import datetime

import naive
import numba
import numpy as np
import pytest

import fastgd

X = np.arange(12.0).reshape(6, 2)
Y = np.arange(6.0)


def call(**changes):
    arguments = {"X": X, "y": Y, "lr": 0.01, "n_iter": 3}
    arguments.update(changes)
    return fastgd.gradient_descent(arguments.pop("X"), arguments.pop("y"), **arguments)


@pytest.mark.parametrize(
    "changes, error, pattern",
    [
        ({"y": np.arange(5.0)}, ValueError, r"same number of rows.*6.*5"),
        ({"X": np.float64(3.0)}, ValueError, r"X must have shape .* got shape \(\)"),
        ({"X": np.ones((6, 2, 2))}, ValueError, r"X must have shape"),
        ({"y": np.ones((6, 2, 1))}, ValueError, r"y must have shape \(n,\) or \(n, k\)"),
        ({"y": np.ones((6, 0))}, ValueError, r"y has shape \(6, 0\): no targets"),
        ({"X": np.ones((0, 2)), "y": np.ones(0)}, ValueError, r"X is empty"),
        ({"X": np.ones((6, 0))}, ValueError, r"X has no features"),
        ({"X": X.astype(object)}, TypeError, r"X holds Python objects"),
        ({"X": X.astype(str)}, TypeError, r"X holds strings"),
        ({"X": X.astype(complex)}, TypeError, r"X holds complex"),
        (
            {"y": np.array([datetime.datetime(2020, 1, d) for d in range(1, 7)])},
            TypeError,
            r"y holds",
        ),
        ({"y": np.arange(6).astype("datetime64[D]")}, TypeError, r"y holds datetimes"),
        ({"X": "abc"}, TypeError, r"X must be an array"),
        ({"X": [[1.0, 2.0], [3.0]] * 3}, ValueError, r"X could not be read"),
        ({"lr": 0.0}, ValueError, r"lr must be > 0"),
        ({"lr": -1.0}, ValueError, r"lr must be > 0"),
        ({"lr": np.inf}, ValueError, r"lr must be finite"),
        ({"lr": np.nan}, ValueError, r"lr must be finite"),
        ({"lr": "0.1"}, TypeError, r"lr must be a real number"),
        ({"lr": True}, TypeError, r"lr must be a real number"),
        ({"n_iter": -1}, ValueError, r"n_iter must be >= 0"),
        ({"n_iter": 2.5}, TypeError, r"n_iter must be an integer"),
        ({"n_iter": 2.0}, TypeError, r"n_iter must be an integer"),
        ({"n_iter": None}, TypeError, r"n_iter must be an integer"),
        ({"w0": [1.0]}, ValueError, r"w0 must have one value per feature, shape \(2,\)"),
        ({"w0": [1.0, np.nan]}, ValueError, r"w0 must be finite"),
        ({"b0": np.inf}, ValueError, r"b0 must be finite"),
        ({"threads": 0}, ValueError, r"threads must be >= 1"),
        ({"threads": numba.config.NUMBA_NUM_THREADS + 1}, ValueError, r"threads=.* exceeds"),
        ({"threads": 1.5}, TypeError, r"threads must be an integer"),
        ({"device": "gpu"}, ValueError, r"device must be one of"),
        ({"device": 0}, TypeError, r"device must be one of"),
        ({"tol": -1.0}, ValueError, r"tol must be >= 0"),
        ({"check_every": 0}, ValueError, r"check_every must be >= 1"),
        ({"callback": 3}, TypeError, r"callback must be callable"),
        ({"sample_weight": np.ones(5)}, ValueError, r"sample_weight must have shape \(6,\)"),
        ({"sample_weight": -np.ones(6)}, ValueError, r"sample_weight\[0\] is -1.0"),
        ({"sample_weight": np.zeros(6)}, ValueError, r"sample_weight sums to 0"),
    ],
)
def test_bad_input_is_named(changes, error, pattern):
    with pytest.raises(error, match=pattern):
        call(**changes)


@pytest.mark.parametrize("name", ["X", "y"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_data_is_located(name, bad):
    data = {"X": X.copy(), "y": Y.copy()}
    if name == "X":
        data["X"][4, 1] = bad
        where = r"X\[4, 1\]"
    else:
        data["y"][3] = bad
        where = r"y\[3\]"
    with pytest.raises(ValueError, match=where + f" is {bad}.*must be finite"):
        call(**data)


def test_one_feature_column_vectors_are_fine():
    result = fastgd.gradient_descent(X[:, :1], Y.reshape(-1, 1), lr=0.01, n_iter=3)
    b, w, history = naive.gradient_descent(X[:, :1], Y, 0.01, 3)
    assert result.coef.shape == (1,)
    assert result.intercept == pytest.approx(b, rel=1e-12)
    np.testing.assert_allclose(result.coef, w, rtol=1e-12)
    np.testing.assert_allclose(result.loss_history, history, rtol=1e-12)


def test_bool_data_is_numeric():
    result = fastgd.gradient_descent(
        np.array([True, False, True]), [1.0, 0.0, 1.0], lr=0.1, n_iter=2
    )
    # True and False are 1 and 0.
    b, w, history = naive.gradient_descent([[1.0], [0.0], [1.0]], [1.0, 0.0, 1.0], 0.1, 2)
    assert result.coef.shape == (1,)
    assert result.intercept == pytest.approx(b, rel=1e-12)
    np.testing.assert_allclose(result.coef, w, rtol=1e-12)
    np.testing.assert_allclose(result.loss_history, history, rtol=1e-12)


def test_y_too_large_for_float32_x_names_the_value_and_the_fix():
    X = np.arange(4, dtype=np.float32)
    y = np.array([0.0, 1.0, 1e300, 2.0])
    with pytest.raises(ValueError, match=r"y\[2\] is 1e\+300, too large for float32"):
        fastgd.gradient_descent(X, y, lr=0.1, n_iter=1)
