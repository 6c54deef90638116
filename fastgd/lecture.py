"""The lecture's three functions, with their names, argument order and loops, compiled by numba.

    compute_error_for_line_given_points(b, w, points)
    step_gradient(b_current, w_current, points, learningRate)
    gradient_descent_runner(points, starting_b, starting_m, learning_rate, num_iterations)

`points` is an (N, 2) array of (x, y) rows. The loops are the lecture's, line for line; the only
differences are that `step_gradient` and `gradient_descent_runner` return a tuple (b, w) rather
than a list, and that the public functions check their arguments before the compiled loops run.
`fastgd.fit` is the fast, general version of `gradient_descent_runner`.
"""

from typing import Any

import numpy as np
from numba import njit
from numpy.typing import ArrayLike

from ._validation import check_count, check_real
from .errors import DivergenceError


@njit(cache=True)
def _compute_error_for_line_given_points(b: float, w: float, points: np.ndarray) -> float:
    totalError = 0.0
    for i in range(0, len(points)):
        x = points[i, 0]
        y = points[i, 1]
        totalError += (y - (w * x + b)) ** 2
    return totalError / float(len(points))


@njit(cache=True)
def _step_gradient(
    b_current: float, w_current: float, points: np.ndarray, learningRate: float
) -> tuple[float, float]:
    b_gradient = 0.0
    w_gradient = 0.0
    N = float(len(points))
    for i in range(0, len(points)):
        x = points[i, 0]
        y = points[i, 1]
        b_gradient += -(2 / N) * (y - ((w_current * x) + b_current))
        w_gradient += -(2 / N) * x * (y - ((w_current * x) + b_current))
    new_b = b_current - (learningRate * b_gradient)
    new_w = w_current - (learningRate * w_gradient)
    return new_b, new_w


@njit(cache=True)
def _gradient_descent_runner(
    points: np.ndarray,
    starting_b: float,
    starting_m: float,
    learning_rate: float,
    num_iterations: int,
) -> tuple[float, float]:
    b = starting_b
    m = starting_m
    for i in range(num_iterations):
        b, m = _step_gradient(b, m, points, learning_rate)
    return b, m


def _check_points(points: ArrayLike) -> np.ndarray:
    if isinstance(points, (str, bytes)) or points is None:
        raise TypeError(f"points must be an (N, 2) array of (x, y) rows, got {points!r}")
    try:
        array = np.asarray(points)
    except (ValueError, TypeError) as error:
        raise ValueError(f"points could not be read as an (N, 2) array: {error}") from None
    if array.dtype.kind not in "fiub":
        raise TypeError(
            f"points must hold real numbers, got dtype {array.dtype}; pass an (N, 2) float array"
        )
    if array.ndim != 2 or array.shape[1] != 2 or array.shape[0] == 0:
        raise ValueError(
            f"points must have shape (N, 2) with N >= 1, one (x, y) row per point, "
            f"got shape {array.shape}"
        )
    array = np.ascontiguousarray(array, dtype=np.float64)
    finite = np.isfinite(array)
    if not finite.all():
        row, column = np.unravel_index(int(np.argmin(finite)), array.shape)
        raise ValueError(f"points[{row}, {column}] is {array[row, column]}: points must be finite")
    return array


def _finite(values: Any, what: str) -> Any:
    """The values, if finite; an overflow is an error, never a NaN or inf returned as a result."""
    if not np.all(np.isfinite(values)):
        raise DivergenceError(
            f"{what} overflowed to {values}: the points, the starting line or the learning rate "
            "are too large in magnitude; scale the data or use a smaller learning rate"
        )
    return values


def compute_error_for_line_given_points(b: float, w: float, points: ArrayLike) -> float:
    """Mean squared error of the line y = w * x + b over the (x, y) rows of `points`."""
    error = _compute_error_for_line_given_points(
        check_real(b, "b"), check_real(w, "w"), _check_points(points)
    )
    return _finite(error, "the error")


def step_gradient(
    b_current: float, w_current: float, points: ArrayLike, learningRate: float
) -> tuple[float, float]:
    """One step of batch gradient descent on the mean squared error; returns (new_b, new_w)."""
    step = _step_gradient(
        check_real(b_current, "b_current"),
        check_real(w_current, "w_current"),
        _check_points(points),
        check_real(learningRate, "learningRate"),
    )
    return _finite(step, "the step")


def gradient_descent_runner(
    points: ArrayLike,
    starting_b: float,
    starting_m: float,
    learning_rate: float,
    num_iterations: int,
) -> tuple[float, float]:
    """`num_iterations` steps of `step_gradient` from (starting_b, starting_m); returns (b, m)."""
    result = _gradient_descent_runner(
        _check_points(points),
        check_real(starting_b, "starting_b"),
        check_real(starting_m, "starting_m"),
        check_real(learning_rate, "learning_rate"),
        check_count(num_iterations, "num_iterations", minimum=0),
    )
    return _finite(result, "gradient descent")
