"""Slow, obviously correct references: plain Python loops over plain Python floats.

Every fast path in fastgd is tested against these.
"""


def lecture_error(b, m, points):
    """The lecture's compute_error_for_line_given_points."""
    total = 0.0
    for x, y in points:
        total += (y - (m * x + b)) ** 2
    return total / float(len(points))


def lecture_step(b_current, m_current, points, learning_rate):
    """The lecture's step_gradient."""
    b_gradient = 0.0
    m_gradient = 0.0
    N = float(len(points))
    for x, y in points:
        b_gradient += -(2 / N) * (y - ((m_current * x) + b_current))
        m_gradient += -(2 / N) * x * (y - ((m_current * x) + b_current))
    return b_current - learning_rate * b_gradient, m_current - learning_rate * m_gradient


def lecture_runner(points, starting_b, starting_m, learning_rate, num_iterations):
    """The lecture's gradient_descent_runner."""
    b, m = starting_b, starting_m
    for _ in range(num_iterations):
        b, m = lecture_step(b, m, points, learning_rate)
    return b, m


def loss(X, y, b, w, sample_weight=None):
    """Weighted mean squared error of rows X (lists of floats) against y."""
    total = 0.0
    total_weight = 0.0
    for i, row in enumerate(X):
        s = 1.0 if sample_weight is None else float(sample_weight[i])
        prediction = b + sum(float(x) * wj for x, wj in zip(row, w))
        total += s * (float(y[i]) - prediction) ** 2
        total_weight += s
    return total / total_weight


def gradient_descent(X, y, lr, n_iter, b0=0.0, w0=None, sample_weight=None, fit_intercept=True):
    """The lecture's update rule for d features; returns (b, w, loss history). Without an
    intercept, b stays at b0 (0): only w descends.

    X is a sequence of rows (each a sequence of d numbers). Every quantity is recomputed from
    its definition: loss = sum s (y - (x.w + b))^2 / sum s; b -= lr dloss/db; w -= lr dloss/dw.
    """
    X = [[float(v) for v in row] for row in X]
    y = [float(v) for v in y]
    d = len(X[0])
    b = float(b0)
    w = [0.0] * d if w0 is None else [float(v) for v in w0]
    weights = [1.0] * len(y) if sample_weight is None else [float(s) for s in sample_weight]
    total_weight = sum(weights)
    history = []
    for k in range(n_iter + 1):
        history.append(loss(X, y, b, w, weights))
        if k == n_iter:
            break
        grad_b = 0.0
        grad_w = [0.0] * d
        for row, target, s in zip(X, y, weights):
            residual = target - (b + sum(x * wj for x, wj in zip(row, w)))
            grad_b += -2.0 * s * residual / total_weight
            for j in range(d):
                grad_w[j] += -2.0 * s * residual * row[j] / total_weight
        if fit_intercept:
            b = b - lr * grad_b
        w = [wj - lr * gj for wj, gj in zip(w, grad_w)]
    return b, w, history


def centered_moments(X, y, sample_weight=None):
    """(S, means, centred comoment matrix) of the columns z = (x_1..x_d, y), by two passes.

    Returns plain Python: S a float, means a list of d + 1 floats and comoment a list of lists,
    comoment[j][k] = sum_i s_i (z_ij - mean_j)(z_ik - mean_k).
    """
    rows = [[float(v) for v in row] + [float(t)] for row, t in zip(X, y)]
    weights = [1.0] * len(rows) if sample_weight is None else [float(s) for s in sample_weight]
    size = len(rows[0])
    total_weight = sum(weights)
    means = [sum(s * row[j] for s, row in zip(weights, rows)) / total_weight for j in range(size)]
    comoment = [
        [
            sum(s * (row[j] - means[j]) * (row[k] - means[k]) for s, row in zip(weights, rows))
            for k in range(size)
        ]
        for j in range(size)
    ]
    return total_weight, means, comoment


def hessian(X, sample_weight=None):
    """The Hessian of the weighted MSE in (b, w): (2 / S) sum_i s_i a_i a_i^T, a_i = (1, x_i)."""
    rows = [[1.0] + [float(v) for v in row] for row in X]
    weights = [1.0] * len(rows) if sample_weight is None else [float(s) for s in sample_weight]
    total_weight = sum(weights)
    size = len(rows[0])
    return [
        [
            2.0 * sum(s * a[j] * a[k] for s, a in zip(weights, rows)) / total_weight
            for k in range(size)
        ]
        for j in range(size)
    ]
