"""fastgd.lecture: the lecture's functions, compiled, against the lecture and the reference."""

import naive
import numpy as np
import pytest

from fastgd import lecture

# What the lecture prints for lr = 0.0001, b = m = 0, 1000 iterations (../shared/data/README.md).
LECTURE_START_ERROR = 5565.107834483211
LECTURE_B = 0.08893651993741346
LECTURE_M = 1.4777440851894448
LECTURE_END_ERROR = 112.61481011613473


def test_reproduces_the_lecture(lecture_points):
    start = lecture.compute_error_for_line_given_points(0, 0, lecture_points)
    b, m = lecture.gradient_descent_runner(lecture_points, 0, 0, 0.0001, 1000)
    end = lecture.compute_error_for_line_given_points(b, m, lecture_points)
    assert start == pytest.approx(LECTURE_START_ERROR, rel=1e-12)
    assert b == pytest.approx(LECTURE_B, rel=1e-12)
    assert m == pytest.approx(LECTURE_M, rel=1e-12)
    assert end == pytest.approx(LECTURE_END_ERROR, rel=1e-12)


def test_step_gradient_matches_reference(rng):
    points = rng.normal(size=(57, 2)) * [10.0, 3.0] + [50.0, 70.0]
    as_list = points.tolist()
    for b, m, lr in [(0.0, 0.0, 1e-4), (3.5, -1.25, 1e-3), (-7.0, 2.0, 0.0)]:
        assert lecture.step_gradient(b, m, points, lr) == pytest.approx(
            naive.lecture_step(b, m, as_list, lr), rel=1e-12
        )
        assert lecture.compute_error_for_line_given_points(b, m, points) == pytest.approx(
            naive.lecture_error(b, m, as_list), rel=1e-12
        )


def test_runner_matches_reference_and_accepts_other_dtypes(rng):
    points = rng.integers(-20, 20, size=(31, 2))
    expected = naive.lecture_runner(points.tolist(), 1.0, 0.5, 1e-3, 25)
    assert lecture.gradient_descent_runner(points, 1, 0.5, 1e-3, 25) == pytest.approx(
        expected, rel=1e-12
    )
    assert lecture.gradient_descent_runner(points.astype(np.float32), 1, 0.5, 1e-3, 0) == (1, 0.5)


def test_runner_does_not_modify_points(rng):
    points = rng.normal(size=(10, 2))
    before = points.copy()
    lecture.gradient_descent_runner(points, 0, 0, 0.01, 5)
    np.testing.assert_array_equal(points, before)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (
            lambda p: lecture.compute_error_for_line_given_points(0, 0, p[:, :1]),
            ValueError,
            "(N, 2)",
        ),
        (lambda p: lecture.compute_error_for_line_given_points(0, 0, p[:0]), ValueError, "N >= 1"),
        (lambda p: lecture.compute_error_for_line_given_points("0", 0, p), TypeError, "b must"),
        (lambda p: lecture.step_gradient(0, 0, p, None), TypeError, "learningRate"),
        (lambda p: lecture.gradient_descent_runner(p, 0, 0, 0.1, 2.5), TypeError, "num_iterations"),
        (lambda p: lecture.gradient_descent_runner(p, 0, 0, 0.1, -1), ValueError, "num_iterations"),
        (
            lambda p: lecture.gradient_descent_runner(p.astype(complex), 0, 0, 0.1, 1),
            TypeError,
            "real",
        ),
        (lambda p: lecture.gradient_descent_runner("points", 0, 0, 0.1, 1), TypeError, "points"),
    ],
)
def test_bad_arguments_are_named(call, error, words):
    points = np.ones((4, 2))
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        call(points)


def test_non_finite_points_are_located():
    points = np.ones((4, 2))
    points[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"points\[2, 1\] is nan"):
        lecture.step_gradient(0, 0, points, 0.1)
