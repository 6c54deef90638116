"""The generalized linear models' families: each row's loss, its derivative and curvature.

A family gives, for the linear predictor eta = b + x.w of a row and its target y, the row's
loss l(y, eta) (half its unit deviance: scikit-learn's scale), its derivative l' and its
curvature h = l'' in eta, and Fisher's h (the curvature's expectation, > 0). The math is one
compiled function, `unit_terms`, which the Newton pass calls for every row inside its one pass
over X (fastgd/glm_pass.py) and NumPy callers through `unit_arrays`: written once.

A family is a NamedTuple whose `kind` (its link: `LOG`, `IDENTITY`, `LOGIT`) and `power`
(Tweedie's: 0 normal, 1 Poisson, 2 Gamma, between 1 and 2 compound Poisson-Gamma) are what
the compiled code reads. A new family is its class, its branch in `unit_terms` and one line in
`FAMILIES`.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numba import njit

from ._config import FASTMATH

LARGEST_ETA = 700.0  # exp(eta) overflows float64 beyond about 709
LOG, IDENTITY, LOGIT = 0, 1, 2  # the links, as the compiled code reads them

_NAMES = {
    0.0: "the normal distribution",
    1.0: "the Poisson distribution",
    2.0: "the Gamma distribution",
    3.0: "the inverse Gaussian distribution",
}


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def half_deviance(power, y, mu):
    """Tweedie's unit deviance of y at the mean mu, halved; nan where mu <= 0 leaves the
    family's domain (the identity link's: the line search then steps back)."""
    if power == 0.0:
        return 0.5 * (y - mu) * (y - mu)
    if not mu > 0.0:
        return math.nan
    if power == 1.0:
        return (y * math.log(y / mu) if y > 0.0 else 0.0) - y + mu
    if power == 2.0:
        return math.log(mu / y) + y / mu - 1.0
    one, two = 1.0 - power, 2.0 - power
    y_term = y**two / (one * two) if y > 0.0 else 0.0
    return y_term - y * mu**one / one + mu**two / two


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def unit_terms(kind, power, y, eta):
    """(l, l', h, Fisher's h) of one row: the loss, its first and second derivatives in eta,
    and the second derivative's expectation."""
    if kind == LOGIT:  # l = log(1 + e^eta) - y eta, without overflow
        e = math.exp(-abs(eta))
        mu = 1.0 / (1.0 + e) if eta >= 0.0 else e / (1.0 + e)
        h = mu * (1.0 - mu)
        return max(eta, 0.0) + math.log1p(e) - y * eta, mu - y, h, h
    if kind == LOG:
        # d mu / d eta = mu and variance mu^p: l' = (mu - y) mu^(1-p), the second derivative
        # mu^(1-p) ((2 - p) mu + (p - 1) y), Fisher's mu^(2-p).
        mu = math.exp(min(eta, LARGEST_ETA))
        if power == 1.0:
            scale = 1.0
        elif power == 0.0:
            scale = mu
        elif power == 2.0:
            scale = 1.0 / mu
        else:
            scale = mu ** (1.0 - power)
        loss = half_deviance(power, y, mu)
        second = scale * ((2.0 - power) * mu + (power - 1.0) * y)
        return loss, (mu - y) * scale, second, mu * scale
    # The identity link: d l / d mu = (mu - y) mu^-p, its derivative mu^(-p-1) ((1 - p) mu +
    # p y), Fisher's mu^-p (mu > 0 along the fit: the line search keeps it there).
    mu = eta
    loss = half_deviance(power, y, mu)
    if power == 0.0:
        return loss, mu - y, 1.0, 1.0
    if not mu > 0.0:
        return loss, math.nan, math.nan, math.nan
    scale = mu ** (-power)
    return loss, (mu - y) * scale, scale * ((1.0 - power) * mu + power * y) / mu, scale


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def unit_arrays(kind, power, y, eta):
    """`unit_terms` of every row: four arrays (l, l', h, Fisher's h)."""
    n = y.shape[0]
    loss, slope, second, fisher = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        loss[i], slope[i], second[i], fisher[i] = unit_terms(kind, power, y[i], eta[i])
    return loss, slope, second, fisher


class Family(NamedTuple):
    """A Tweedie distribution and its link: power 0 normal, 1 Poisson, 2 Gamma, in between
    compound Poisson-Gamma; link "log" or "identity"."""

    power: float
    link: str

    @property
    def kind(self):
        return LOG if self.link == "log" else IDENTITY

    def mean(self, eta):
        return inverse_link(self.link, eta)

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
        why = (
            f"{self.describe()} needs every {name} {need}; drop those rows, or choose a family "
            "whose domain has them (power=0 for any value)"
        )
        refuse_rows(bad, y, name, why)

    def describe(self):
        return _NAMES.get(self.power, f"the Tweedie distribution with power={self.power:g}")

    def loss(self, y, eta):
        """l(y, eta) per row (nan where the identity link's mean leaves the domain)."""
        return unit_arrays(self.kind, self.power, _floats(y), _floats(eta))[0]


class Binomial(NamedTuple):
    """The binomial distribution with the logit link: logistic regression of y in [0, 1] (0 or
    1 for classes): l = log(1 + e^eta) - y eta, l' = sigma(eta) - y, h = sigma (1 - sigma)."""

    link: str = "logit"
    power: float = 0.0  # unused: the compiled code's argument

    @property
    def kind(self):
        return LOGIT

    def mean(self, eta):
        return inverse_link(self.link, eta)

    def link_of(self, mean):
        tiny = 1e-300
        return math.log(max(mean, tiny)) - math.log(max(1.0 - mean, tiny))

    def check_y(self, y, name="y"):
        why = f"logistic regression needs {name} in [0, 1] (the two classes as 0 and 1)"
        refuse_rows((y < 0.0) | (y > 1.0), y, name, why)

    def describe(self):
        return "the binomial distribution"

    def loss(self, y, eta):
        return unit_arrays(LOGIT, 0.0, _floats(y), _floats(eta))[0]


def _floats(values):
    return np.ascontiguousarray(values, dtype=np.float64)


def refuse_rows(bad, y, name, why):
    """A ValueError naming the first row where `bad` holds: "name[i] = value, but why"."""
    if np.any(bad):  # a Dask array's: computed here
        i = int(np.argmax(bad))
        value = float(y[i])
        raise ValueError(f"{name}[{i}] = {value:g}, but {why}")


# The families by scikit-learn's estimators (a new one: a line here).
FAMILIES: dict[str, Any] = {
    "poisson": Family(1.0, "log"),
    "gamma": Family(2.0, "log"),
    "binomial": Binomial(),
}


def inverse_link(link, eta):
    """The mean from the linear predictor eta for `link`, "identity", "log" (exp, kept finite)
    or "logit" (sigma, without overflow): what a family's `mean` and a saved model predict
    (NumPy's functions, so that a Dask array's mean stays lazy)."""
    if link == "log":
        return np.exp(np.minimum(eta, LARGEST_ETA))
    if link == "logit":
        return 0.5 * (1.0 + np.tanh(0.5 * eta))
    return eta


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
