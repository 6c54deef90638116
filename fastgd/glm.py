"""Generalized linear models by Newton's method: Poisson, Gamma and Tweedie regression (issue 28).

A family gives, for the linear predictor eta = b + x.w of a row and its target y, the row's
loss l(y, eta) (half its unit deviance: scikit-learn's scale), its derivative l' and its
curvature h in eta. The objective is scikit-learn's

    f(b, w) = (1 / S) sum_i s_i l(y_i, eta_i) + (alpha / 2) |w|²,     S = sum_i s_i,

and Newton's step from (b, w) is the weighted least-squares fit, with weights v = s h, of the
*working residual* -l' / h (iteratively reweighted least squares, for the step itself): that
fit needs only
the weighted centred moments of (X, z), which fastgd's moment pass computes in one pass over X
(`moments.centered_moments`, the kernel the gram method uses) -- so a Newton step is one pass
for eta and one for the moments, whatever the number of rows, and a (d + 1)-square solve. A
backtracking line search on f (along the segment, on eta interpolated: no further pass) keeps
every step a descent; with the log link's curvature (Fisher's, always > 0) each step is defined.
The stop: the step's size relative to the parameters' below `tol` (near the optimum, Newton's
step is the distance to it), or steps that no longer shrink (the rounding of the gradient).

A new family is a `Family` here and one line in `FAMILIES`.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from . import newton
from .moments import centered_moments

_LARGEST_ETA = 700.0  # exp(eta) overflows float64 beyond about 709


_NAMES = {
    0.0: "the normal distribution",
    1.0: "the Poisson distribution",
    2.0: "the Gamma distribution",
    3.0: "the inverse Gaussian distribution",
}


class Family(NamedTuple):
    """A GLM's distribution and link: Tweedie's power (0 normal, 1 Poisson, 2 Gamma, in between
    compound Poisson-Gamma) and "log" or "identity"."""

    power: float
    link: str

    def mean(self, eta):
        return np.exp(np.minimum(eta, _LARGEST_ETA)) if self.link == "log" else eta

    def link_of(self, mean):
        """eta for a mean: the best constant model's intercept."""
        return math.log(max(mean, np.finfo(np.float64).tiny)) if self.link == "log" else mean

    def check_y(self, y, name="y"):
        """A ValueError for a target outside the family's domain, naming the fix."""
        p = self.power
        if p == 0.0 and self.link == "identity":
            return
        if p == 0.0 or (1.0 <= p < 2.0):
            bad, need = (y < 0.0), ">= 0 (counts, amounts)"
            if p == 0.0:  # the normal with the log link: the mean exp(eta) > 0
                bad, need = (y <= 0.0), "> 0 (the log link's mean is positive)"
        else:
            bad, need = (y <= 0.0), "> 0 (e.g. costs, durations)"
        if np.any(bad):
            i = int(np.argmax(bad))
            raise ValueError(
                f"{name}[{i}] = {y[i]:g}, but {self.describe()} needs every {name} {need}; drop "
                "those rows, or choose a family whose domain has them (power=0 for any value)"
            )

    def describe(self):
        return _NAMES.get(self.power, f"the Tweedie distribution with power={self.power:g}")

    def loss(self, y, eta):
        """l(y, eta) per row: half the unit deviance at mu = mean(eta) (nan where the identity
        link's mu <= 0 leaves the family's domain: the line search then steps back)."""
        p = self.power
        mu = self.mean(eta)
        if p == 0.0:
            return 0.5 * (y - mu) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            mu = np.where(mu > 0.0, mu, np.nan)
            if p == 1.0:
                ylogy = np.where(y > 0.0, y * np.log(np.where(y > 0.0, y, 1.0) / mu), 0.0)
                return ylogy - y + mu
            if p == 2.0:
                return np.log(mu / y) + y / mu - 1.0
            one, two = 1.0 - p, 2.0 - p
            y_term = np.where(y > 0.0, np.power(np.where(y > 0.0, y, 1.0), two), 0.0) / (one * two)
            return y_term - y * np.power(mu, one) / one + np.power(mu, two) / two

    def derivatives(self, y, eta):
        """(l', h, Fisher's h): the loss's derivative in eta, its second derivative, and the
        second derivative's expectation, mu^(2 - p) > 0. For 1 <= power <= 2 (and the identity
        link) the second derivative is > 0 in every row; for other powers a row's can be
        negative (`fit_glm` then falls back on Fisher's where the system is not definite)."""
        p = self.power
        mu = self.mean(eta)
        if self.link == "identity":
            if p == 0.0:
                ones = np.ones_like(mu)
                return mu - y, ones, ones
            # d l / d mu = (mu - y) mu^-p; its derivative mu^(-p-1) ((1 - p) mu + p y); Fisher's
            # mu^-p (mu > 0 along the fit: the line search keeps it there).
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.power(mu, -p)
                return (mu - y) * scale, scale * ((1.0 - p) * mu + p * y) / mu, scale
        # d mu / d eta = mu, variance mu^p: l' = (mu - y) mu^(1-p); the second derivative
        # mu^(1-p) ((2 - p) mu + (p - 1) y); Fisher's mu^(2-p).
        scale = np.power(mu, 1.0 - p) if p != 1.0 else np.ones_like(mu)
        return (mu - y) * scale, scale * ((2.0 - p) * mu + (p - 1.0) * y), mu * scale


class Binomial(NamedTuple):
    """The binomial distribution with the logit link: logistic regression of y in [0, 1] (0 or
    1 for classes): l = log(1 + e^eta) - y eta, l' = sigma(eta) - y, h = sigma (1 - sigma)."""

    link: str = "logit"

    def mean(self, eta):
        return 0.5 * (1.0 + np.tanh(0.5 * eta))  # sigma(eta), without overflow

    def link_of(self, mean):
        tiny = 1e-300
        return math.log(max(mean, tiny)) - math.log(max(1.0 - mean, tiny))

    def check_y(self, y, name="y"):
        bad = (y < 0.0) | (y > 1.0)
        if np.any(bad):
            i = int(np.argmax(bad))
            raise ValueError(
                f"{name}[{i}] = {y[i]:g}: logistic regression needs {name} in [0, 1] (the two "
                "classes as 0 and 1)"
            )

    def loss(self, y, eta):
        return np.logaddexp(0.0, eta) - y * eta

    def derivatives(self, y, eta):
        mu = self.mean(eta)
        h = mu * (1.0 - mu)
        return mu - y, h, h


# The families by scikit-learn's estimators (a new one: a line here).
FAMILIES: dict[str, Any] = {
    "poisson": Family(1.0, "log"),
    "gamma": Family(2.0, "log"),
    "binomial": Binomial(),
}


def tweedie(power, link="auto"):
    """The Tweedie `Family` of `power` (0, or >= 1) and `link` ("auto": identity for power 0,
    log otherwise; scikit-learn's TweedieRegressor)."""
    if isinstance(power, bool) or not isinstance(power, (int, float)) or not math.isfinite(power):
        raise ValueError(f"power must be a real number, got {power!r}")
    if 0.0 < power < 1.0:
        raise ValueError(
            f"power={power:g}: no Tweedie distribution has a power in (0, 1); use 0 (normal), "
            "1 (Poisson), between 1 and 2 (compound Poisson-Gamma), 2 (Gamma) or more"
        )
    if power < 0.0:
        raise ValueError(f"power={power:g} < 0 is not supported; use 0 or a power >= 1")
    if link not in ("auto", "log", "identity"):
        raise ValueError(f"link must be 'auto', 'log' or 'identity', got {link!r}")
    if link == "auto":
        link = "identity" if power == 0.0 else "log"
    return Family(float(power), link)


class GLMFit(NamedTuple):
    intercept: float
    coef: np.ndarray
    n_iter: int
    converged: bool
    objective: float
    step: float  # the last Newton step's size, relative to the parameters'


def _objective(family, y, s, total, alpha, eta, w):
    return float(s @ family.loss(y, eta)) / total + 0.5 * alpha * float(w @ w)


def _newton_step(X, descent, v, alpha, w, total, fit_intercept, threads):
    """Newton's step (db, dw) from (b, w), or None where its system is not positive definite.

    `descent` is -s l' per row and v = s h the curvature's weights: the system is
    (X' V X / S + alpha) dw = (X' descent) / S - alpha w, with the intercept's row (one centred
    by the weighted means decouples it). X' V X comes from fastgd's weighted moment pass (one
    pass over X, the kernel gram uses), X' descent from one product: never the working
    response -l' / h itself, whose rows blow up where h is small, and whose rounding at the
    point's own size (the classic IRLS form) would hold the steps at the system's condition
    times epsilon."""
    d = X.shape[1]
    sv = float(v.sum())
    if fit_intercept and not sv > 0.0:
        return None
    if hasattr(X, "tocsr"):  # a sparse X: the products by scipy (the moment kernel is dense)
        xx = np.asarray((X.T @ X.multiply(v[:, None]).tocsr()).todense())
        mean_x = np.asarray(X.T @ v).ravel() / sv if sv != 0.0 else np.zeros(d)
        if fit_intercept:
            xx = xx - sv * np.outer(mean_x, mean_x)
    else:
        moments = centered_moments(X, np.zeros(X.shape[0], X.dtype), v.astype(X.dtype), threads)
        mean_x, xx = moments.x_mean, moments.xx
        if not fit_intercept:  # the raw (uncentred) products
            xx = xx + sv * np.outer(mean_x, mean_x)
    right = np.asarray(X.T @ descent).ravel()
    if fit_intercept:
        right = right - mean_x * float(descent.sum())
    system = xx / total + alpha * np.eye(d)
    right = right / total - alpha * w
    try:
        np.linalg.cholesky(system)
        dw = np.linalg.solve(system, right)
    except np.linalg.LinAlgError:
        eigenvalues = np.linalg.eigvalsh(system)
        if eigenvalues[0] < -1e-12 * max(abs(eigenvalues[-1]), 1e-300):
            return None  # indefinite: a row's negative curvature (the caller takes Fisher's)
        # Singular (collinear columns without a penalty): the least-norm step, which moves
        # within the columns' span and reaches the least-norm optimum (predictions unique).
        dw = np.linalg.lstsq(system, right, rcond=None)[0]
    db = float(descent.sum()) / sv - float(mean_x @ dw) if fit_intercept else 0.0
    return db, dw


def fit_glm(family, X, y, sample_weight, *, alpha, fit_intercept, tol, max_iter, start=None,
            threads=1):  # fmt: skip
    """Minimize f by Newton steps from `start` = (b, w) (None: w = 0 and b the link of y's
    weighted mean, the best constant model). Returns a `GLMFit`."""
    n, d = X.shape
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    total = float(s.sum())
    if start is None:
        w = np.zeros(d)
        mean_y = float(s @ y) / total
        b = family.link_of(mean_y) if fit_intercept else 0.0
    else:
        b, w = float(start[0]), np.array(start[1], dtype=np.float64)
    eta = np.asarray(X @ w).ravel() + b
    value = _objective(family, y, s, total, alpha, eta, w)
    relative_step, converged = math.inf, False
    stopping = newton.Stopping(tol)
    k = 0
    for k in range(max_iter + 1):
        gradient, second, fisher = family.derivatives(y, eta)
        step = None
        descent = -s * gradient
        # Newton's own system, where it is definite (always for 1 <= power <= 2); else
        # Fisher's, definite wherever alpha > 0 or X has full rank.
        step = _newton_step(X, descent, s * second, alpha, w, total, fit_intercept, threads)
        if step is None:
            step = _newton_step(X, descent, s * fisher, alpha, w, total, fit_intercept, threads)
        if step is None:
            break  # singular even so: X's columns collinear without a penalty
        step_b, step_w = step
        new_b, new_w = b + step_b, w + step_w
        size = math.sqrt(b * b + float(w @ w))
        relative_step = math.sqrt(step_b**2 + float(step_w @ step_w)) / max(size, 1e-300)
        if stopping.converged(relative_step):
            converged = True
            break
        if k == max_iter:
            break
        step_eta = np.asarray(X @ new_w).ravel() + new_b - eta
        # The objective's slope along the step, from the gradient (one product each); the
        # line search's points on eta's segment, without another pass over X.
        slope = float(s @ (gradient * step_eta)) / total + alpha * float(w @ step_w)

        def at(t, eta=eta, w=w, step_eta=step_eta, step_w=step_w):
            trial_eta, trial_w = eta + t * step_eta, w + t * step_w
            return _objective(family, y, s, total, alpha, trial_eta, trial_w), (trial_eta, trial_w)

        found = newton.backtrack(at, value, slope)
        if found is None:  # no step lowers f: as far as float64 goes, if the step is small
            converged = relative_step <= newton.ROUNDING_STEP
            break
        t, value, (eta, w) = found
        b += t * step_b
    return GLMFit(b, w, k, converged, value, relative_step)


def _softmax(eta):
    shifted = eta - eta.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True), np.log(exp.sum(axis=1)) + eta.max(axis=1)


def _multinomial_objective(eta, Y, s, total, alpha, W):
    _, log_total = _softmax(eta)
    rows = log_total - np.einsum("ij,ij->i", Y, eta)
    return float(s @ rows) / total + 0.5 * alpha * float(np.sum(W * W))


def fit_multinomial(X, Y, sample_weight, *, alpha, fit_intercept, tol, max_iter, start=None):
    """Multinomial logistic regression (softmax over k classes, Y (n, k) one-hot) by Newton's
    method: minimizes (1 / S) sum s (log sum_c e^eta_c - eta_y) + alpha / 2 |W|², eta = X W' +
    B. Each step's Hessian is the k (d + 1)-square matrix of the blocks
    X' diag(s p_a (delta_ab - p_b)) X (one product per pair of classes); the intercepts, free to
    move together, are kept summing to 0 (the least-norm choice, scikit-learn's). Returns
    (B (k,), W (k, d), steps, converged, last relative step)."""
    n, d = X.shape
    k = Y.shape[1]
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    total = float(s.sum())
    if start is None:
        W = np.zeros((k, d))
        shares = np.maximum((s @ Y) / total, 1e-300)
        B = np.log(shares) - np.log(shares).mean() if fit_intercept else np.zeros(k)
    else:
        B, W = np.array(start[0], dtype=np.float64), np.array(start[1], dtype=np.float64)
    columns = d + 1 if fit_intercept else d
    dense = X.toarray() if hasattr(X, "toarray") else X
    design = np.hstack([np.ones((n, 1)), dense]) if fit_intercept else dense
    eta = np.asarray(X @ W.T) + B
    value = _multinomial_objective(eta, Y, s, total, alpha, W)
    penalty = np.ones(columns)
    if fit_intercept:
        penalty[0] = 0.0
    relative_step, converged = math.inf, False
    stopping = newton.Stopping(tol)
    k_step = 0
    for k_step in range(max_iter + 1):
        P, _ = _softmax(eta)
        theta = np.hstack([B[:, None], W]) if fit_intercept else W.copy()
        gradient = ((s[:, None] * (P - Y)).T @ design) / total + alpha * theta * penalty
        hessian = np.zeros((k, columns, k, columns))
        for a in range(k):
            for b in range(a, k):
                u = s * P[:, a] * ((1.0 if a == b else 0.0) - P[:, b]) / total
                block = design.T @ (u[:, None] * design)
                if a == b:
                    block += alpha * np.diag(penalty)
                hessian[a, :, b, :] = block
                hessian[b, :, a, :] = block.T
        size = k * columns
        step = -np.linalg.lstsq(hessian.reshape(size, size), gradient.reshape(size),
                                rcond=None)[0].reshape(k, columns)  # fmt: skip
        if fit_intercept:
            step[:, 0] -= step[:, 0].mean()  # the intercepts' free direction: none of it
        norm = math.sqrt(float(np.sum(theta * theta)))
        relative_step = math.sqrt(float(np.sum(step * step))) / max(norm, 1e-300)
        if stopping.converged(relative_step):
            converged = True
            break
        if k_step == max_iter:
            break
        step_B = step[:, 0] if fit_intercept else np.zeros(k)
        step_W = step[:, 1:] if fit_intercept else step
        step_eta = np.asarray(X @ step_W.T) + step_B

        def at(t, eta=eta, W=W, step_eta=step_eta, step_W=step_W):
            trial_eta, trial_W = eta + t * step_eta, W + t * step_W
            value = _multinomial_objective(trial_eta, Y, s, total, alpha, trial_W)
            return value, (trial_eta, trial_W)

        found = newton.backtrack(at, value, float(np.sum(gradient * step)))
        if found is None:
            converged = relative_step <= newton.ROUNDING_STEP
            break
        t, value, (eta, W) = found
        B = B + t * step_B
    return B, W, k_step, converged, relative_step
