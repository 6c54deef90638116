"""Slow, obviously correct references: plain Python loops over plain Python floats, and the
least-squares optimum by NumPy's lstsq (an SVD: the trusted answer fits are compared with).

Every fast path in fastgd is tested against these.
"""

import math

import numpy as np


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


def standardized_gradient_descent(
    X, y, lr, n_iter, sample_weight=None, fit_intercept=True, momentum=0.0, b0=0.0, w0=None,
    l2=0.0, l1=0.0, standardize=True, epsilon=None, positive=False, penalty_weights=None,
    lower=None, upper=None, logistic=False, family=None, power=None,
):  # fmt: skip
    """Gradient descent, with Nesterov's momentum, on the standardized features, mapped back:
    the definition of `standardize=True, momentum=...`; returns (b, w, loss history).

    The standardized features z_ij = (x_ij - mean_j) / sd_j (weighted mean and standard
    deviation; without an intercept no centring, and sd_j the root mean square) are formed row
    by row, and the model y ~ c + z . beta is descended in (c, beta) by the textbook update
    (Sutskever's form of Nesterov's method: v <- m v - lr grad(theta), theta <- theta - lr
    grad(theta) + m v, the gradient taken at theta). A constant column (sd_j = 0) keeps beta_j
    = 0. The result is mapped back: w_j = beta_j / sd_j, b = c - sum_j mean_j w_j.

    With a penalty (l2 / 2) |beta|^2 + l1 |beta|_1 the objective is the loss plus it (in the
    history too), and the step is the proximal one: x = soft_threshold(theta - lr grad, lr l1),
    v = x - (theta - m v), theta = x + m v (FISTA with a constant momentum m; for l1 = 0 the
    same as above). standardize=False: the same in the data's own coordinates (mean 0, sd 1).
    epsilon: the Huber loss instead of the squared error, huber(r) = r**2 for |r| <= epsilon and
    2 epsilon |r| - epsilon**2 beyond, whose derivative is 2 clip(r, -epsilon, epsilon).
    logistic: the log-loss log(1 + e^p) - y p of the prediction p (the log-odds) instead, whose
    derivative in p is sigma(p) - y (y in [0, 1]).
    family: "poisson" or "gamma": half the family's unit deviance at the mean mu = e^p instead,
    y log(y / mu) - y + mu (derivative mu - y) or log(mu / y) + y / mu - 1 (derivative 1 - y /
    mu); "tweedie" with `power` q: y^(2-q) / ((1-q)(2-q)) - y mu^(1-q) / (1-q) + mu^(2-q) /
    (2-q) (derivative (mu - y) mu^(1-q)).
    positive: after each step a coefficient below 0 is set to 0 (the projection onto w >= 0,
    part of the proximal step, so FISTA's form with momentum).
    penalty_weights: c_j, each coefficient's penalty c_j ((l2 / 2) beta_j**2 + l1 |beta_j|).
    lower, upper: per-coefficient bounds on w (lists; None: none): the start is moved into
    them, and after each step's soft-threshold beta_j is clipped to [lower_j sd_j, upper_j
    sd_j] (with positive, lower is 0).
    """
    X = [[float(v) for v in row] for row in X]
    y = [float(v) for v in y]
    n, d = len(X), len(X[0])
    weights = [1.0] * n if sample_weight is None else [float(s) for s in sample_weight]
    total_weight = sum(weights)
    mean = [sum(s * row[j] for s, row in zip(weights, X)) / total_weight for j in range(d)]
    if not fit_intercept:
        spread = [
            (sum(s * row[j] ** 2 for s, row in zip(weights, X)) / total_weight) ** 0.5
            for j in range(d)
        ]
        mean = [0.0] * d
    else:
        spread = [
            (sum(s * (row[j] - mean[j]) ** 2 for s, row in zip(weights, X)) / total_weight) ** 0.5
            for j in range(d)
        ]
    if not standardize:
        mean, spread = [0.0] * d, [1.0] * d
    constant = [sd <= 1e-12 * abs(m) or sd == 0.0 for sd, m in zip(spread, mean)]
    Z = [[0.0 if constant[j] else (row[j] - mean[j]) / spread[j] for j in range(d)] for row in X]
    w_start = [0.0] * d if w0 is None else [float(v) for v in w0]
    c_pen = [1.0] * d if penalty_weights is None else [float(v) for v in penalty_weights]
    low = [-math.inf] * d if lower is None else [float(v) for v in lower]
    high = [math.inf] * d if upper is None else [float(v) for v in upper]
    if positive:
        low = [max(v, 0.0) for v in low]
    w_start = [min(max(v, lo), hi) for v, lo, hi in zip(w_start, low, high)]
    beta = [0.0 if constant[j] else w_start[j] * spread[j] for j in range(d)]
    # A constant column's x_j is its mean: its fixed w_j x_j is part of c.
    c = float(b0) + sum(m * wj for m, wj in zip(mean, w_start))
    v_c, v_beta = 0.0, [0.0] * d

    def loss_and_gradient(c, beta):
        total, g_c, g_beta = 0.0, 0.0, [0.0] * d
        for row, target, s in zip(Z, y, weights):
            prediction = c + sum(z * bj for z, bj in zip(row, beta))
            residual = target - prediction
            if logistic:
                total += s * (math.log1p(math.exp(-abs(prediction))) + max(prediction, 0.0)
                              - target * prediction)  # fmt: skip
                slope = (target - 1.0 / (1.0 + math.exp(-prediction))) / 2.0
            elif family == "poisson":
                mu = math.exp(prediction)
                y_log = target * math.log(target / mu) if target > 0.0 else 0.0
                total += s * (y_log - target + mu)
                slope = (target - mu) / 2.0
            elif family == "gamma":
                mu = math.exp(prediction)
                total += s * (math.log(mu / target) + target / mu - 1.0)
                slope = (target / mu - 1.0) / 2.0
            elif family == "tweedie":
                mu, q = math.exp(prediction), power
                y_term = target ** (2 - q) / ((1 - q) * (2 - q)) if target != 0 else 0.0
                total += s * (y_term - target * mu ** (1 - q) / (1 - q) + mu ** (2 - q) / (2 - q))
                slope = -(mu - target) * mu ** (1 - q) / 2.0
            elif epsilon is None or abs(residual) <= epsilon:
                total += s * residual**2
                slope = residual
            else:
                total += s * (2.0 * epsilon * abs(residual) - epsilon**2)
                slope = epsilon if residual > 0 else -epsilon
            g_c += -2.0 * s * slope / total_weight
            for j in range(d):
                g_beta[j] += -2.0 * s * slope * row[j] / total_weight
        value = total / total_weight
        value += sum(
            cj * (0.5 * l2 * bj * bj + l1 * abs(bj))
            for bj, cj, k in zip(beta, c_pen, constant)
            if not k
        )
        return value, g_c, g_beta

    def soft_threshold(value, threshold):
        return max(abs(value) - threshold, 0.0) * (1.0 if value > 0 else -1.0)

    history = []
    for k in range(n_iter + 1):
        value, g_c, g_beta = loss_and_gradient(c, beta)
        history.append(value)
        if k == n_iter:
            break
        if fit_intercept:
            v_c = momentum * v_c - lr * g_c
            c = c - lr * g_c + momentum * v_c
        for j in range(d):
            if not constant[j]:
                moved = beta[j] - lr * (g_beta[j] + c_pen[j] * l2 * beta[j])
                if l1:
                    moved = soft_threshold(moved, lr * l1 * c_pen[j])
                moved = min(max(moved, low[j] * spread[j]), high[j] * spread[j])
                v_beta[j] = moved - (beta[j] - momentum * v_beta[j])
                beta[j] = moved + momentum * v_beta[j]
    bounded = any(v > -math.inf for v in low) or any(v < math.inf for v in high)
    if (l1 or bounded) and momentum:  # FISTA's estimate: the proximal point x = theta - m v
        c = c - momentum * v_c
        beta = [bj - momentum * vj for bj, vj in zip(beta, v_beta)]
    w = [w_start[j] if constant[j] else beta[j] / spread[j] for j in range(d)]
    b = c - sum(m * wj for m, wj in zip(mean, w))
    return b, w, history


def momentum_gradient_descent(X, y, lr, n_iter, momentum, sample_weight=None):
    """Nesterov's method (Sutskever's form, as above) in the data's own coordinates."""
    X = [[float(v) for v in row] for row in X]
    d = len(X[0])
    weights = [1.0] * len(y) if sample_weight is None else [float(s) for s in sample_weight]
    total_weight = sum(weights)
    b, w, v_b, v_w = 0.0, [0.0] * d, 0.0, [0.0] * d
    history = []
    for k in range(n_iter + 1):
        history.append(loss(X, y, b, w, weights))
        if k == n_iter:
            break
        g_b, g_w = 0.0, [0.0] * d
        for row, target, s in zip(X, y, weights):
            residual = float(target) - (b + sum(x * wj for x, wj in zip(row, w)))
            g_b += -2.0 * s * residual / total_weight
            for j in range(d):
                g_w[j] += -2.0 * s * residual * row[j] / total_weight
        v_b = momentum * v_b - lr * g_b
        b = b - lr * g_b + momentum * v_b
        for j in range(d):
            v_w[j] = momentum * v_w[j] - lr * g_w[j]
            w[j] = w[j] - lr * g_w[j] + momentum * v_w[j]
    return b, w, history


def least_squares(X, y, sample_weight=None, fit_intercept=True):
    """(b, w) minimizing the weighted squared error, by numpy."""
    A = np.column_stack([np.ones(len(y)), X]) if fit_intercept else X
    root = np.ones(len(y)) if sample_weight is None else np.sqrt(sample_weight)
    solution = np.linalg.lstsq(A * root[:, None], y * root, rcond=None)[0]
    return (solution[0], solution[1:]) if fit_intercept else (0.0, solution)


def huber_scale_objective(X, y, coef, intercept, scale, epsilon, alpha, sample_weight=None):
    """scikit-learn's HuberRegressor objective, row by row: sum of s (sigma + H(r / sigma)
    sigma) + alpha |w|², H(z) = z² for |z| <= epsilon, 2 epsilon |z| - epsilon² beyond."""
    total = 0.0
    for i in range(X.shape[0]):
        s = 1.0 if sample_weight is None else float(sample_weight[i])
        r = float(y[i]) - sum(float(X[i, j]) * float(coef[j]) for j in range(X.shape[1]))
        z = abs(r - intercept) / scale
        h = z * z if z <= epsilon else 2.0 * epsilon * z - epsilon * epsilon
        total += s * (scale + h * scale)
    return total + alpha * sum(float(c) * float(c) for c in coef)


def glm_objective_and_gradient(power, link, X, y, intercept, coef, alpha, sample_weight=None):
    """scikit-learn's GLM objective, (1 / S) sum s l(y, eta) + alpha / 2 |w|² with l half the
    Tweedie unit deviance, and its gradient in (b, w), row by row (eta = b + x.w; mu = exp(eta)
    for the log link, eta for the identity)."""
    n, d = X.shape
    total, value = 0.0, 0.0
    gradient = [0.0] * (d + 1)
    for i in range(n):
        s = 1.0 if sample_weight is None else float(sample_weight[i])
        eta = intercept + sum(float(X[i, j]) * float(coef[j]) for j in range(d))
        mu = math.exp(eta) if link == "log" else eta
        t = float(y[i])
        if power == 0:
            loss, dmu = 0.5 * (t - mu) ** 2, mu - t
        elif power == 1:
            loss, dmu = (t * math.log(t / mu) if t > 0 else 0.0) - t + mu, 1.0 - t / mu
        elif power == 2:
            loss, dmu = math.log(mu / t) + t / mu - 1.0, 1.0 / mu - t / mu**2
        else:
            p = power
            first = max(t, 0.0) ** (2 - p) / ((1 - p) * (2 - p))
            loss = first - t * mu ** (1 - p) / (1 - p) + mu ** (2 - p) / (2 - p)
            dmu = -t * mu ** (-p) + mu ** (1 - p)
        slope = dmu * (mu if link == "log" else 1.0)  # d loss / d eta
        total += s
        value += s * loss
        gradient[0] += s * slope
        for j in range(d):
            gradient[j + 1] += s * slope * float(X[i, j])
    gradient = [g / total for g in gradient]
    for j in range(d):
        gradient[j + 1] += alpha * float(coef[j])
    return value / total + 0.5 * alpha * sum(float(c) ** 2 for c in coef), np.array(gradient)


def softmax_objective(X, Y, intercepts, coefs, alpha, sample_weight=None, offset=None):
    """(1 / S) sum s (log sum_c e^eta_c - eta_y) + alpha / 2 |W|², row by row (Y one-hot, k
    columns; `offset` (n, k) or None): the multinomial logistic objective."""
    n, d = X.shape
    k = coefs.shape[0]
    value, total = 0.0, 0.0
    for i in range(n):
        s = 1.0 if sample_weight is None else float(sample_weight[i])
        etas = [intercepts[c] + sum(float(X[i, j]) * coefs[c, j] for j in range(d))
                + (0.0 if offset is None else float(offset[i, c])) for c in range(k)]  # fmt: skip
        top = max(etas)
        log_sum = top + math.log(sum(math.exp(e - top) for e in etas))
        value += s * (log_sum - sum(float(Y[i, c]) * etas[c] for c in range(k)))
        total += s
    return value / total + 0.5 * alpha * float(np.sum(coefs * coefs))


def softmax_gradient(X, Y, intercepts, coefs, alpha, sample_weight=None, offset=None):
    """The gradient in (B, W) of (1 / S) sum s (log sum_c e^eta_c - eta_y) + alpha / 2 |W|²,
    row by row: the multinomial logistic objective (k classes, Y one-hot); with k = 1 and one
    column of Y (0 or 1), the binomial one, log(1 + e^eta) - y eta. `offset` (n, k), or None:
    a fixed term of each row's and class's eta."""
    n, d = X.shape
    k = coefs.shape[0]
    gradient = np.zeros((k, d + 1))
    total = 0.0
    for i in range(n):
        s = 1.0 if sample_weight is None else float(sample_weight[i])
        etas = [intercepts[c] + sum(float(X[i, j]) * coefs[c, j] for j in range(d))
                + (0.0 if offset is None else float(offset[i, c])) for c in range(k)]  # fmt: skip
        if k == 1:
            probabilities = [1.0 / (1.0 + math.exp(-etas[0]))]
        else:
            top = max(etas)
            exps = [math.exp(e - top) for e in etas]
            probabilities = [e / sum(exps) for e in exps]
        total += s
        for c in range(k):
            slope = s * (probabilities[c] - float(Y[i, c]))
            gradient[c, 0] += slope
            for j in range(d):
                gradient[c, j + 1] += slope * float(X[i, j])
    gradient /= total
    gradient[:, 1:] += alpha * coefs
    return gradient


def elastic_net_descent(X, y, alpha, l1_ratio, sweeps, sample_weight=None, fit_intercept=True,
                        positive=False):  # fmt: skip
    """(b, w) after `sweeps` cyclic coordinate-descent sweeps on scikit-learn's elastic net,
    sum_i s_i (y_i - x_i w - b)² / (2 S) + alpha l1_ratio |w|_1 + alpha (1 - l1_ratio) |w|² / 2,
    on the rows themselves: each coordinate's exact minimizer from the current residuals, the
    intercept (unpenalized) its exact minimizer after each coordinate. From zero."""
    rows = [[float(v) for v in row] for row in X]
    targets = [float(t) for t in y]
    weights = [1.0] * len(rows) if sample_weight is None else [float(s) for s in sample_weight]
    total = sum(weights)
    d = len(rows[0])
    w = [0.0] * d
    b = sum(s * t for s, t in zip(weights, targets)) / total if fit_intercept else 0.0
    l1, l2 = alpha * l1_ratio, alpha * (1.0 - l1_ratio)
    for _ in range(sweeps):
        for j in range(d):
            residual = [t - b - sum(wk * xk for wk, xk in zip(w, row)) for row, t in
                        zip(rows, targets)]  # fmt: skip
            # The coordinate's quadratic: a w_j² / 2 - c w_j, with the intercept held.
            a = sum(s * row[j] ** 2 for s, row in zip(weights, rows)) / total
            c = sum(s * row[j] * (r + row[j] * w[j]) for s, row, r in
                    zip(weights, rows, residual)) / total  # fmt: skip
            if a == 0.0:
                continue
            shrunk = max(abs(c) - l1, 0.0) * (1.0 if c >= 0 else -1.0)
            w[j] = max(shrunk, 0.0) / (a + l2) if positive else shrunk / (a + l2)
            if positive and c < 0:
                w[j] = 0.0
            if fit_intercept:
                fitted = [sum(wk * xk for wk, xk in zip(w, row)) for row in rows]
                b = sum(s * (t - f) for s, t, f in zip(weights, targets, fitted)) / total
    return b, w


def fold_moments(X, y, labels, sample_weight=None):
    """Each fold's `centered_moments` (S, means, comoment) of its own rows, fold by fold."""
    n_folds = int(max(labels)) + 1
    out = []
    for f in range(n_folds):
        rows = [i for i, label in enumerate(labels) if label == f]
        weights = None if sample_weight is None else [sample_weight[i] for i in rows]
        out.append(centered_moments([X[i] for i in rows], [y[i] for i in rows], weights))
    return out


def leave_one_out_ridge(X, y, alpha, sample_weight=None, fit_intercept=True):
    """The mean (weighted) squared error of ridge fits, ||y - Xw - b||² (weighted) + alpha |w|²,
    each on all rows but one and tested on that one: n fits, by numpy."""
    n = len(y)
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    total = 0.0
    for i in range(n):
        keep = np.arange(n) != i
        Xk, yk, sk = X[keep], y[keep], s[keep]
        if fit_intercept:
            x_mean = sk @ Xk / sk.sum()
            y_mean = sk @ yk / sk.sum()
        else:
            x_mean, y_mean = np.zeros(X.shape[1]), 0.0
        Xc, yc = Xk - x_mean, yk - y_mean
        w = np.linalg.solve(
            Xc.T @ (sk[:, None] * Xc) + alpha * np.eye(X.shape[1]), Xc.T @ (sk * yc)
        )
        b = y_mean - x_mean @ w
        total += s[i] * (y[i] - X[i] @ w - b) ** 2
    return total / n
