"""The generalized linear models' families: each row's loss, its derivative and curvature.

A family gives, for the linear predictor eta = b + x.w of a row and its target y, the row's
loss l(y, eta) (half its unit deviance: scikit-learn's scale), its derivative l' and its
curvature h = l'' in eta, and Fisher's h (the curvature's expectation, > 0). The math is one
compiled function per family (`logit_terms`, `poisson_terms`, ...), which `block_terms` runs
over a block of rows (the Newton pass's, fastgd/glm_pass.py, in a loop that vectorizes), and
NumPy callers reach through `unit_arrays`: written once.

A family is a NamedTuple whose `kind` (its link: `LOG`, `IDENTITY`, `LOGIT`) and `power`
(Tweedie's: 0 normal, 1 Poisson, 2 Gamma, between 1 and 2 compound Poisson-Gamma) describe
it; its `terms` are its row math as a type (`PoissonTerms`, ...), which the compiled code is
compiled for: a kernel holds the family a fit uses, and no other. A new family is its class,
its row function and row-math type with a line in `_ROW_FUNCTIONS` (and `row_math`), and one
line in `FAMILIES`.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numba import njit, types
from numba.extending import overload

from . import exp_log
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


# The row terms (l, l', h, Fisher's h) of each family with a link that needs exp or log: one
# function each, with no branch on its parameters, so that `block_terms` runs each in a loop
# that LLVM vectorizes (fastgd/exp_log.py: exp and log in plain arithmetic). They are inlined
# by numba, into code compiled with error_model "numpy": Python's error model puts a branch
# (ZeroDivisionError) at every division, and a loop with it does not vectorize (nor does a
# kernel's loop where a function compiled with it is inlined: the Newton pass's kernels take
# "numpy" too). With the log link eta is clamped to LARGEST_ETA, and the half deviances are
# written in eta (y (log y - eta) for y log(y / mu)): one exp a row, and the log of y where the
# deviance has it. y = 0 contributes 0 to those terms (y > 0 times it).
_ROW_OPTIONS = {"fastmath": FASTMATH, "nogil": True, "error_model": "numpy"}
_ROW = {**_ROW_OPTIONS, "cache": True, "inline": "always"}
SMALLEST_Y = 1e-300  # the log of max(y, this): y = 0's term is multiplied by 0


@njit(**_ROW)
def logit_terms(power, y, eta):
    """The binomial's: l = log(1 + e^eta) - y eta without overflow, l' = sigma - y,
    h = sigma (1 - sigma), Fisher's the same."""
    e = exp_log.exp(-abs(eta))
    negative = (eta < 0.0) * 1.0  # sigma = 1 / (1 + e) above 0, e / (1 + e) below, no branch
    mu = (negative * e + (1.0 - negative)) / (1.0 + e)
    h = mu * (1.0 - mu)
    return max(eta, 0.0) + exp_log.log1p(e) - y * eta, mu - y, h, h


@njit(**_ROW)
def log_normal_terms(power, y, eta):
    """The normal with the log link (power 0): l = (y - mu)² / 2."""
    mu = exp_log.exp(min(eta, LARGEST_ETA))
    return 0.5 * (y - mu) * (y - mu), (mu - y) * mu, mu * (2.0 * mu - y), mu * mu


@njit(**_ROW)
def poisson_terms(power, y, eta):
    """Power 1: l = y log(y / mu) - y + mu, l' = mu - y, h = mu."""
    eta = min(eta, LARGEST_ETA)
    mu = exp_log.exp(eta)
    positive = (y > 0.0) * 1.0
    y_log_y = positive * y * (exp_log.log(max(y, SMALLEST_Y)) - eta)
    return y_log_y - y + mu, mu - y, mu, mu


@njit(**_ROW)
def gamma_terms(power, y, eta):
    """Power 2 (y > 0): l = log(mu / y) + y / mu - 1, l' = 1 - y / mu, h = y / mu, Fisher's 1."""
    eta = min(eta, LARGEST_ETA)
    y_over_mu = y * exp_log.exp(-eta)
    return eta - exp_log.log(y) + y_over_mu - 1.0, 1.0 - y_over_mu, y_over_mu, 1.0


@njit(**_ROW)
def tweedie_terms(power, y, eta):
    """Any other power p (with the log link): l = y^(2-p) / ((1-p)(2-p)) - y mu^(1-p) / (1-p)
    + mu^(2-p) / (2-p), l' = (mu - y) mu^(1-p), h = mu^(1-p) ((2-p) mu + (p-1) y), Fisher's
    mu^(2-p)."""
    eta = min(eta, LARGEST_ETA)
    one, two = 1.0 - power, 2.0 - power
    mu = exp_log.exp(eta)
    scale = exp_log.exp(one * eta)  # mu^(1-p)
    positive = (y > 0.0) * 1.0
    y_term = positive * exp_log.exp(two * exp_log.log(max(y, SMALLEST_Y))) / (one * two)
    loss = y_term - y * scale / one + mu * scale / two
    return loss, (mu - y) * scale, scale * (two * mu + (power - 1.0) * y), mu * scale


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def identity_terms(power, y, eta):
    """The identity link (mu = eta): d l / d mu = (mu - y) mu^-p, its derivative
    mu^(-p-1) ((1 - p) mu + p y), Fisher's mu^-p (mu > 0 along the fit: the line search keeps
    it there; nan outside)."""
    mu = eta
    loss = half_deviance(power, y, mu)
    if power == 0.0:
        return loss, mu - y, 1.0, 1.0
    if not mu > 0.0:
        return loss, math.nan, math.nan, math.nan
    scale = mu ** (-power)
    return loss, (mu - y) * scale, scale * ((1.0 - power) * mu + power * y) / mu, scale


# Each family's row math as a type: a NamedTuple of its power, whose class the compiled code
# reads (`block_terms`), so that a kernel is compiled for the family a fit uses and no other
# (the Newton pass with every family's loop compiled for 4.5 s on the 2-core machine, with one
# for 3.1 s). numba caches a kernel per type; the power is a runtime value.
class LogitTerms(NamedTuple):
    power: float = 0.0  # unused: every family's row function takes it


class PoissonTerms(NamedTuple):
    power: float = 1.0


class GammaTerms(NamedTuple):
    power: float = 2.0


class LogNormalTerms(NamedTuple):
    power: float = 0.0


class TweedieTerms(NamedTuple):
    power: float


class IdentityTerms(NamedTuple):
    power: float


# A type's row function (power, y, eta) -> (l, l', h, Fisher's h).
_ROW_FUNCTIONS = {
    LogitTerms: logit_terms,
    PoissonTerms: poisson_terms,
    GammaTerms: gamma_terms,
    LogNormalTerms: log_normal_terms,
    TweedieTerms: tweedie_terms,
    IdentityTerms: identity_terms,
}


def row_math(link, power):
    """The row-terms type of a family with this link ("logit", "log", "identity") and power."""
    if link == "logit":
        return LogitTerms()
    if link == "identity":
        return IdentityTerms(float(power))
    if link != "log":
        raise ValueError(f"link must be 'log', 'identity' or 'logit', got {link!r}")
    types_by_power = {1.0: PoissonTerms, 2.0: GammaTerms, 0.0: LogNormalTerms}
    return types_by_power.get(power, TweedieTerms)(float(power))


def block_terms(terms, fisher, y, eta, s, losses, slopes, curvatures):
    """The row terms of each row of a block for the family of `terms` (a type above), weighted
    by s: losses = s l, slopes = s l', curvatures = s h (Fisher's with `fisher`). Compiled code
    only (`_block_terms_of`)."""
    raise NotImplementedError("compiled code only: see _block_terms_of")


# Called, with the families' error model: its loop over the rows vectorizes (numba's IR checks
# warned of a variable out of scope where the overload was inlined into the kernels).
@overload(block_terms, jit_options=_ROW_OPTIONS)
def _block_terms_of(terms, fisher, y, eta, s, losses, slopes, curvatures):
    if not isinstance(terms, types.BaseNamedTuple):
        return None
    row = _ROW_FUNCTIONS.get(terms.instance_class)
    if row is None:
        return None

    def block(terms, fisher, y, eta, s, losses, slopes, curvatures):
        power = terms.power
        for i in range(eta.shape[0]):
            loss, slope, second, expected = row(power, y[i], eta[i])
            h = expected if fisher else second
            losses[i], slopes[i], curvatures[i] = s[i] * loss, s[i] * slope, s[i] * h

    return block


@njit(fastmath=FASTMATH, cache=True, nogil=True, error_model="numpy")
def unit_arrays(terms, y, eta):
    """The row terms of every row for the family of `terms`: four arrays (l, l', h, Fisher's
    h)."""
    n = y.shape[0]
    ones = np.ones(n)
    loss, slope, second, fisher = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    block_terms(terms, False, y, eta, ones, loss, slope, second)
    block_terms(terms, True, y, eta, ones, loss, slope, fisher)
    return loss, slope, second, fisher


class Family(NamedTuple):
    """A Tweedie distribution and its link: power 0 normal, 1 Poisson, 2 Gamma, in between
    compound Poisson-Gamma; link "log" or "identity"."""

    power: float
    link: str

    @property
    def kind(self):
        return LOG if self.link == "log" else IDENTITY

    @property
    def terms(self):
        """Its row math as the compiled code takes it (`row_math`)."""
        return row_math(self.link, self.power)

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
        return unit_arrays(self.terms, _floats(y), _floats(eta))[0]


class Binomial(NamedTuple):
    """The binomial distribution with the logit link: logistic regression of y in [0, 1] (0 or
    1 for classes): l = log(1 + e^eta) - y eta, l' = sigma(eta) - y, h = sigma (1 - sigma)."""

    link: str = "logit"
    power: float = 0.0  # unused: the compiled code's argument

    @property
    def kind(self):
        return LOGIT

    @property
    def terms(self):
        return LogitTerms()

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
        return unit_arrays(LogitTerms(), _floats(y), _floats(eta))[0]


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
