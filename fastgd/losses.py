"""The losses, each a type: what a kernel computes for one row, and what a fit needs to know.

A loss is a small NamedTuple whose fields are its parameters (the Huber loss's threshold). The
CPU kernels take it as an argument: numba compiles a kernel once per loss *type* and caches it
on disk, and the loss's parameters are runtime values. (skglm makes each loss a jitclass, which
numba cannot cache, so every process compiles it again; a NamedTuple can be cached.)

For a row with target y, residual r = y - p (p the prediction) and sample weight s, every
pass over the data adds up the two *row terms* of `row_terms(loss, y, r, s)`:

    value  = s l(y, p)           the row's share of the loss (its mean is the loss)
    weight = s (-l'(y, p) / 2)   the gradient's weight (l' in p): it takes r's place in the sums

so for the squared error l = r**2 they are (s r**2, s r), the lecture's sums
(fastgd/gradient.py); the squared error and the Huber loss read r alone, the logistic loss y
and p = y - r. Each loss's row terms are one function here (`squared_error_terms`,
`huber_terms`, `logistic_terms`), which both targets compile: the CPU kernels through
`row_terms`, per loss type (numba compiles a kernel once per type, its parameters runtime
values), and the GPU kernels through `terms_by_code`, which picks the loss by its number in
`LOSSES`, read from the fit's rule at run time (fastgd/cuda_kernels.py compiles it for the
device). A new loss is a class here with its terms function, its branch in `_row_terms`,
`_vector_terms` and `terms_by_code`, and one line in `LOSSES`; the kernels that call them need
no change. (The logistic loss has no `_vector_terms` branch: it fits one target at a time, and
`fit` refuses a 2-D y for it.)
"""

import math
from typing import NamedTuple

from numba import njit, types
from numba.extending import overload

from ._config import FASTMATH
from ._validation import check_real
from ._vector import maximum, minimum, splat
from .families import refuse_rows


class SquaredError(NamedTuple):
    """l(r) = r**2: least squares, the lecture's loss."""

    @property
    def curvature(self):
        """l''(p) / 2 at most, the squared error's 1 its unit: lr="auto" is 1 / (curvature L)."""
        return 1.0

    @property
    def name(self):
        return "squared_error"

    @property
    def quadratic(self):
        """Quadratic: the moments are sufficient statistics (method="gram"), and lr="auto"'s
        curvature, tol's distance bound and the conditioning warning are exact."""
        return True

    @property
    def code(self):
        """The loss's number, its place in `LOSSES` (a float, as the rule holds it):
        rule[LOSS], `terms_by_code`."""
        return 0.0

    @property
    def parameter(self):
        """Its parameter, rule[LOSS_PARAMETER]: none (0)."""
        return 0.0


class Huber(NamedTuple):
    """l(r) = r**2 for |r| <= epsilon, 2 epsilon |r| - epsilon**2 beyond: robust to outliers,
    in y's units (scikit-learn's HuberRegressor fits a scale too; fastgd does not)."""

    epsilon: float

    @property
    def curvature(self):
        """The squared error's, inside the threshold."""
        return 1.0

    @property
    def name(self):
        return "huber"

    @property
    def quadratic(self):
        """No sufficient statistics, and only an upper bound of the curvature (the squared
        error's)."""
        return False

    @property
    def code(self):
        return 1.0

    @property
    def parameter(self):
        return self.epsilon


class Logistic(NamedTuple):
    """l(y, p) = log(1 + e^p) - y p: logistic regression's log-loss, for y in [0, 1] (the two
    classes as 0 and 1; a share of successes otherwise), p the log-odds."""

    @property
    def curvature(self):
        """l'' = sigma (1 - sigma) <= 1/4, so l'' / 2 <= 1/8."""
        return 0.125

    @property
    def name(self):
        return "logistic"

    @property
    def quadratic(self):
        """No sufficient statistics; the curvature bound is global (1/4), not exact."""
        return False

    @property
    def code(self):
        return 2.0

    @property
    def parameter(self):
        return 0.0

    def check_y(self, y):
        """A ValueError naming the first target outside [0, 1] (`fit` calls it for this loss,
        the one with a domain)."""
        refuse_rows(
            ~((y >= 0.0) & (y <= 1.0)), y, "y", "loss='logistic' needs y in [0, 1] (the two "
            "classes as 0 and 1); map the labels to 0 and 1 (for more classes: "
            "fastgd.LogisticRegressionGD)",
        )  # fmt: skip


class Poisson(NamedTuple):
    """l(y, p) = y log(y / mu) - y + mu, mu = e^p: half the Poisson deviance (scikit-learn's
    PoissonRegressor's scale), for counts y >= 0 at the log of their mean, p."""

    @property
    def curvature(self):
        """None: l'' = mu has no bound (lr="auto" starts from `start_curvature` and fit
        restarts with a shorter step where the loss rises)."""
        return None

    @property
    def name(self):
        return "poisson"

    @property
    def quadratic(self):
        return False

    @property
    def code(self):
        return 3.0

    @property
    def parameter(self):
        return 0.0

    def start_curvature(self, b0, y_mean):
        """l'' / 2 where the fit starts (mu = e^b0, coef 0) or ends (mu about y's mean),
        whichever is larger: lr="auto"'s first guess."""
        return 0.5 * max(math.exp(min(b0, 700.0)), y_mean)

    def check_y(self, y):
        refuse_rows(
            ~(y >= 0.0), y, "y", "loss='poisson' needs counts y >= 0; drop those rows, or use "
            "a loss whose domain has them (squared_error)",
        )  # fmt: skip


class Gamma(NamedTuple):
    """l(y, p) = log(mu / y) + y / mu - 1, mu = e^p: half the Gamma deviance (scikit-learn's
    GammaRegressor's scale), for y > 0 (costs, durations) at the log of their mean, p."""

    @property
    def curvature(self):
        """None: l'' = y / mu has no bound (as the Poisson loss's)."""
        return None

    @property
    def name(self):
        return "gamma"

    @property
    def quadratic(self):
        return False

    @property
    def code(self):
        return 4.0

    @property
    def parameter(self):
        return 0.0

    def start_curvature(self, b0, y_mean):
        """l'' / 2 = y / (2 mu) at the start (on average), or about 1/2 at the end."""
        return 0.5 * max(y_mean * math.exp(-max(b0, -700.0)), 1.0)

    def check_y(self, y):
        refuse_rows(
            ~(y > 0.0), y, "y", "loss='gamma' needs y > 0 (costs, durations); drop those rows, "
            "or use loss='poisson' (which takes zeros)",
        )  # fmt: skip


class Tweedie(NamedTuple):
    """l(y, p) = y^(2-q) / ((1-q)(2-q)) - y mu^(1-q) / (1-q) + mu^(2-q) / (2-q), mu = e^p: half
    the Tweedie deviance of power q in (1, 2), compound Poisson-Gamma (y >= 0: amounts with
    zeros; scikit-learn's TweedieRegressor with the log link). Powers 1 and 2 are `Poisson`
    and `Gamma`; `make_loss` refuses the others (not convex in p)."""

    power: float

    @property
    def curvature(self):
        """None: l'' = mu^(1-q) ((2-q) mu + (q-1) y) has no bound."""
        return None

    @property
    def name(self):
        return "tweedie"

    @property
    def quadratic(self):
        return False

    @property
    def code(self):
        return 5.0

    @property
    def parameter(self):
        return self.power

    def start_curvature(self, b0, y_mean):
        """l'' / 2 at the start (mu = e^b0, y at its mean; Fisher's mu^(2-q) where Newton's
        is negative) or about the optimum (mu = y's mean), whichever is larger."""
        q, mu = self.power, math.exp(min(max(b0, -700.0), 700.0))
        start = mu ** (1.0 - q) * max((2.0 - q) * mu + (q - 1.0) * y_mean, mu)
        end = max(y_mean, 1e-300) ** (2.0 - q)
        return 0.5 * max(start, end)

    def check_y(self, y):
        refuse_rows(~(y >= 0.0), y, "y", f"loss='tweedie' with power={self.power:g} needs "
                    "y >= 0; drop those rows")  # fmt: skip


# The losses by the name `fit(loss=...)` takes: a new loss is a class above and a line here.
LOSSES = {"squared_error": SquaredError, "huber": Huber, "logistic": Logistic,
          "poisson": Poisson, "gamma": Gamma, "tweedie": Tweedie}  # fmt: skip
Loss = SquaredError | Huber | Logistic | Poisson | Gamma | Tweedie  # for annotations
SQUARED_ERROR, HUBER, LOGISTIC = SquaredError().code, Huber(1.0).code, Logistic().code
POISSON, GAMMA, TWEEDIE = Poisson().code, Gamma().code, Tweedie(1.5).code


def make_loss(name, epsilon, power=1.5):
    """The loss `name`, checked: the Huber loss with threshold `epsilon`, Tweedie's of `power`
    (1 and 2: the Poisson and Gamma losses themselves)."""
    if name not in LOSSES:
        choices = ", ".join(repr(known) for known in LOSSES)
        raise ValueError(f"loss must be one of {choices}, got {name!r}")
    if name == "tweedie":
        power = check_real(power, "power")
        if not 1.0 <= power <= 2.0:
            # Outside [1, 2] the deviance is not convex in p (l'' < 0 where mu > y (q - 1) /
            # (q - 2)): plain steps from a guessed step wander or stall.
            raise ValueError(
                f"power={power:g}: loss='tweedie' takes powers from 1 (Poisson) to 2 (Gamma); "
                "for power 0 or above 2 use fastgd.TweedieRegressorGD(power=...) (Newton's "
                "method, Fisher's curvature where the deviance is not convex), or "
                "loss='squared_error' for the normal distribution"
            )
        return Poisson() if power == 1.0 else Gamma() if power == 2.0 else Tweedie(float(power))
    if name != "huber":
        return LOSSES[name]()
    if check_real(epsilon, "epsilon") <= 0.0:
        raise ValueError(f"epsilon must be > 0 (the Huber loss's threshold), got {epsilon}")
    return Huber(float(epsilon))


def kernel_loss(code, parameter):
    """The loss as the CPU kernels take it (a NamedTuple), from its number and parameter as the
    rule holds them (rule[LOSS], rule[LOSS_PARAMETER]) and the GPU kernels read them."""
    kind = list(LOSSES.values())[int(code)]
    return kind(float(parameter)) if kind in (Huber, Tweedie) else kind()


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def squared_error_terms(parameter, r, s):
    """(s r**2, s r): the squared error's row terms (`row_terms`)."""
    sr = s * r
    return sr * r, sr


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def huber_terms(epsilon, r, s):
    """The Huber loss's row terms, without a branch: the slope clip(r, -epsilon, epsilon), and
    the value slope (2 r - slope), which is r**2 inside the threshold and 2 epsilon |r| -
    epsilon**2 beyond."""
    slope = min(max(r, -epsilon), epsilon)
    return s * (slope * (2.0 * r - slope)), s * slope


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def logistic_terms(y, r, s):
    """The log-loss's row terms at the log-odds p = y - r: s (log(1 + e^p) - y p), without
    overflow, and s (y - sigma(p)) / 2."""
    p = y - r
    e = math.exp(-abs(p))
    # sigma(p) = 1 / (1 + e) for p >= 0, e / (1 + e) below: selected without a branch (a
    # conditional expression, inlined into the kernels' loops, keeps them from vectorizing).
    negative = (p < 0.0) * 1.0
    sigma = (negative * e + (1.0 - negative)) / (1.0 + e)
    return s * (max(p, 0.0) + math.log1p(e) - y * p), s * 0.5 * (y - sigma)


# The log link's losses clamp p = y - r at LARGEST_P: e^p overflows beyond about 709.
LARGEST_P = 700.0


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def poisson_terms(y, r, s):
    """Half the Poisson deviance's row terms at the log-mean p = y - r: s (y log(y / mu) - y +
    mu) (y log y read as 0 at y = 0) and s (y - mu) / 2."""
    p = min(y - r, LARGEST_P)
    mu = math.exp(p)
    y_log_y = y * math.log(max(y, 1e-300))  # 0 at y = 0
    return s * (y_log_y - y * p - y + mu), s * 0.5 * (y - mu)


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def gamma_terms(y, r, s):
    """Half the Gamma deviance's row terms at the log-mean p = y - r: s (log(mu / y) + y / mu
    - 1) and s (y / mu - 1) / 2."""
    p = min(y - r, LARGEST_P)
    y_over_mu = y * math.exp(-p)
    return s * (p - math.log(y) + y_over_mu - 1.0), s * 0.5 * (y_over_mu - 1.0)


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def tweedie_terms(power, y, r, s):
    """Half the Tweedie deviance's row terms at the log-mean p = y - r: s l (`Tweedie`'s) and
    s (y - mu) mu^(1-q) / 2."""
    p = min(y - r, LARGEST_P)
    one, two = 1.0 - power, 2.0 - power
    scaled = math.exp(one * p)  # mu^(1-q)
    mu_two = math.exp(two * p)  # mu^(2-q)
    y_term = y**two / (one * two)  # 0 at y = 0, which only powers below 2 take
    return s * (y_term - y * scaled / one + mu_two / two), s * 0.5 * (y * scaled - mu_two)


@njit(fastmath=FASTMATH, cache=True, nogil=True, inline="always")
def terms_by_code(code, parameter, y, r, s):
    """The row terms of the loss numbered `code` (`SQUARED_ERROR`, `HUBER`, `LOGISTIC`), with
    its `parameter`: the GPU kernels' choice at run time, from the fit's rule, of the same
    functions the CPU kernels compile per loss type."""
    if code == HUBER:
        return huber_terms(parameter, r, s)
    if code == LOGISTIC:
        return logistic_terms(y, r, s)
    if code == POISSON:
        return poisson_terms(y, r, s)
    if code == GAMMA:
        return gamma_terms(y, r, s)
    if code == TWEEDIE:
        return tweedie_terms(parameter, y, r, s)
    return squared_error_terms(parameter, r, s)


def _is(loss, kind):
    return isinstance(loss, types.BaseNamedTuple) and loss.instance_class is kind


def row_terms(loss, y, r, s):
    """(s l, s (-l' / 2)): one row's loss term and gradient weight (the module doc), for target
    y, residual r and sample weight s. Compiled code only (`_row_terms`)."""
    raise NotImplementedError("compiled code only: see _row_terms")


# inline="always": the terms sit in the innermost loops, which must vectorize; each is a few
# operations, so inlining them at every call site costs numba little.
@overload(row_terms, inline="always", jit_options={"nogil": True})
def _row_terms(loss, y, r, s):
    if _is(loss, SquaredError):
        return lambda loss, y, r, s: squared_error_terms(0.0, r, s)
    if _is(loss, Huber):
        return lambda loss, y, r, s: huber_terms(loss.epsilon, r, s)
    if _is(loss, Logistic):
        return lambda loss, y, r, s: logistic_terms(y, r, s)
    if _is(loss, Poisson):
        return lambda loss, y, r, s: poisson_terms(y, r, s)
    if _is(loss, Gamma):
        return lambda loss, y, r, s: gamma_terms(y, r, s)
    if _is(loss, Tweedie):
        return lambda loss, y, r, s: tweedie_terms(loss.power, y, r, s)
    return None


def vector_terms(loss, r):
    """(l(r), -l'(r) / 2) of a Vector of residuals (fastgd/_vector.py), lane by lane, before
    the sample weight. Compiled code only (`_vector_terms`)."""
    raise NotImplementedError("compiled code only: see _vector_terms")


@overload(vector_terms, inline="always", jit_options={"nogil": True})
def _vector_terms(loss, r):
    if _is(loss, SquaredError):
        return lambda loss, r: (r * r, r)
    if _is(loss, Huber):

        def huber(loss, r):
            e = splat(loss.epsilon)
            slope = minimum(maximum(r, splat(0.0) - e), e)
            return slope * ((r + r) - slope), slope

        return huber
    return None
