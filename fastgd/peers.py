"""The peers fastgd is measured against, used by bench/ and `fastgd bench`.

They are the honest competition, written plainly: the lecture's pure-Python loops, NumPy's
vectorized gradient descent, and a single read of the data (the memory-bandwidth floor that
no pass over the data can beat).
"""

import numpy as np
from numba import njit

from ._config import FASTMATH


def lecture_gradient_descent(points, starting_b, starting_m, learning_rate, num_iterations):
    """The lecture's gradient_descent_runner as written: Python loops indexing a NumPy array."""

    def step_gradient(b_current, m_current, points, learningRate):
        b_gradient = 0
        m_gradient = 0
        N = float(len(points))
        for i in range(0, len(points)):
            x = points[i, 0]
            y = points[i, 1]
            b_gradient += -(2 / N) * (y - ((m_current * x) + b_current))
            m_gradient += -(2 / N) * x * (y - ((m_current * x) + b_current))
        new_b = b_current - (learningRate * b_gradient)
        new_m = m_current - (learningRate * m_gradient)
        return [new_b, new_m]

    b = starting_b
    m = starting_m
    for i in range(num_iterations):
        b, m = step_gradient(b, m, np.array(points), learning_rate)
    return [b, m]


def python_gradient_descent(points, b, m, learning_rate, num_iterations):
    """The same loops tuned for pure Python: a list of (x, y) pairs and Python floats."""
    N = float(len(points))
    for _ in range(num_iterations):
        b_gradient = 0.0
        m_gradient = 0.0
        for x, y in points:
            b_gradient += -(2 / N) * (y - ((m * x) + b))
            m_gradient += -(2 / N) * x * (y - ((m * x) + b))
        b = b - (learning_rate * b_gradient)
        m = m - (learning_rate * m_gradient)
    return b, m


def numpy_gradient_descent(x, y, lr, n_iter):
    """Vectorized batch gradient descent with the loss history, as a NumPy user writes it."""
    b, w = 0.0, 0.0
    history = np.empty(n_iter + 1)
    for k in range(n_iter + 1):
        residual = y - (w * x + b)
        history[k] = residual @ residual / x.shape[0]
        if k == n_iter:
            break
        b += 2.0 * lr * residual.mean()
        w += 2.0 * lr * (residual @ x) / x.shape[0]
    return b, w, history


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def read_pass(x, y):
    """Read every value of x and y once (the least any pass over the data must do)."""
    total = 0.0
    for i in range(x.shape[0]):
        total += x[i] + y[i]
    return total
