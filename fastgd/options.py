"""fit's options: one table of them (name, default, check, help), checked once into a record.

`fit`'s signature spells the options out (for the reader, the editor and the type checker);
`PARAMETERS` says, once, how each is checked and what it means in one line, and the test
`tests/test_options.py` holds the two together: the same names, the same defaults.
`LinearRegressionGD` forwards the options it shares with `fit` by these names, and the command
line takes its flags' help from here.

`check_options` turns the keywords into an `Options`: each value checked by its own rule, then
the rules between them (a loss without sufficient statistics refuses method="gram"). What
depends on the data's shape -- the starting point, the penalty's per-feature weights and bounds
-- is checked with the data (`fit`, `penalties.make_penalty`).
"""

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

from ._validation import (
    check_count,
    check_device,
    check_flag,
    check_lr,
    check_method,
    check_momentum,
    check_real,
    check_threads,
)
from .losses import Loss, make_loss


class Parameter(NamedTuple):
    name: str
    default: Any
    # The value -> the checked value (raises with the fix); None: checked later, with what it
    # depends on (the data's shape, or other options). The default passes unchecked.
    check: Callable[[Any], Any] | None
    help: str  # one line: what it does


def _tol(tol):
    if tol is None:  # every step runs
        return None
    value = check_real(tol, "tol")
    if value < 0.0:
        raise ValueError(f"tol must be >= 0, got {value}")
    return value


def _callback(callback):
    if not callable(callback):
        raise TypeError(f"callback must be callable, got {callback!r}")
    return callback


# The default tolerance: a relative distance to the optimum near float64's rounding. Also what
# `converged` means where tol=None (`fit._finish`).
DEFAULT_TOL = 1e-13


def _flag(name):
    return functools.partial(check_flag, name=name)


# fmt: off
PARAMETERS = (
    Parameter("lr", "auto", check_lr, "the learning rate, a number or 'auto' (1/L from the "
              "data's moments: a step that always decreases the loss)"),
    Parameter("n_iter", 100_000, functools.partial(check_count, name="n_iter", minimum=0),
              "the most gradient steps: a budget, the fit stops at tol"),
    Parameter("b0", 0.0, None, "the starting intercept"),
    Parameter("w0", None, None, "the starting coefficients (zeros by default)"),
    Parameter("device", "auto", check_device, "cpu, cuda, or auto: a GPU for data already on "
              "one, or large data where one is usable"),
    Parameter("threads", None, check_threads, "CPU threads (default: the idle cores, up to "
              "numba's thread count; one for small data)"),
    Parameter("sample_weight", None, None, "a weight >= 0 per row"),
    Parameter("tol", DEFAULT_TOL, _tol, "stop once the parameters are provably within this "
              "relative distance of the optimum (None: run every step)"),
    Parameter("callback", None, _callback, "called as callback(k, intercept, coef, loss) "
              "between blocks of steps; True stops"),
    Parameter("check_every", None, functools.partial(check_count, name="check_every", minimum=1),
              "iterations between callbacks"),
    Parameter("method", "auto", check_method, "loop: one pass over the data per step; gram: "
              "the same steps from the data's moments (one pass in all); auto: the cheaper"),
    Parameter("fit_intercept", True, _flag("fit_intercept"), "fit y ~ X w + b (False: y ~ X w, "
              "with b fixed at 0)"),
    Parameter("standardize", True, _flag("standardize"), "descend in the coordinates of the "
              "standardized columns (centred and scaled on the fly; the result stays in the "
              "data's units): fast on columns far from zero"),
    Parameter("momentum", "auto", check_momentum, "Nesterov's momentum, a number in [0, 1) or "
              "'auto' (optimal for the data's conditioning); 0: plain gradient descent"),
    Parameter("penalty", None, None, "penalize the coefficients, alpha * R(w): l2, l1 or "
              "elasticnet (scikit-learn's names)"),
    Parameter("alpha", 0.0, None, "the penalty's strength"),
    Parameter("l1_ratio", 0.5, None, "elasticnet's share of l1"),
    Parameter("loss", "squared_error", None, "squared_error, or huber: robust to outliers, "
              "r^2 up to epsilon and linear beyond, or logistic: the log-loss of y in [0, 1], "
              "or poisson (counts), gamma (y > 0) and tweedie: half their deviance, log link"),
    Parameter("epsilon", 1.0, None, "the Huber loss's threshold, in y's units"),
    Parameter("power", 1.5, None, "Tweedie's power, with loss='tweedie': 0 normal, 1 Poisson, "
              "in (1, 2) compound Poisson-Gamma, 2 Gamma, 3 inverse Gaussian"),
    Parameter("positive", False, None, "keep the coefficients >= 0 (non-negative least "
              "squares)"),
    Parameter("penalty_weights", None, None, "a weight >= 0 per feature for the penalty's terms "
              "(0: unpenalized)"),
    Parameter("coef_bounds", None, None, "(lower, upper) bounds on the coefficients"),
    Parameter("minimum_norm", False, _flag("minimum_norm"), "among optima that fit equally "
              "well, the one of least |w|"),
)
# fmt: on
HELP = {parameter.name: parameter.help for parameter in PARAMETERS}
DEFAULTS = {parameter.name: parameter.default for parameter in PARAMETERS}
_CHECKS = {parameter.name: (parameter.check, parameter.default) for parameter in PARAMETERS}


class Options(NamedTuple):
    """fit's options, checked (`check_options`); the data-shaped ones as given."""

    lr: float | str
    n_iter: int
    b0: Any
    w0: Any
    device: str
    threads: int | None
    sample_weight: Any
    tol: float | None
    callback: Callable[..., Any] | None
    check_every: int | None
    method: str
    fit_intercept: bool
    standardize: bool
    momentum: float | str
    penalty: Any
    alpha: Any
    l1_ratio: Any
    loss: Loss
    epsilon: Any
    power: Any
    positive: Any
    penalty_weights: Any
    coef_bounds: Any
    minimum_norm: bool
    # Worked out once (a small fit reads them often):
    quadratic: bool  # the loss's: the moments are sufficient, its curvature exact
    moments_needed: bool  # the fit needs the data's moments before its first step


def check_options(options):
    """An `Options` from {name: value} (every name of `PARAMETERS`; other names, such as fit's
    X and y, are left out), each checked, and the rules between them."""
    checked = {}
    for name, (check, default) in _CHECKS.items():
        value = options[name]
        # The default itself (the same object: fit's signature hands it over) is valid as it
        # is, and checking it would cost a small fit microseconds.
        if check is None or value is default:
            checked[name] = value
        else:
            checked[name] = check(value)
    loss = make_loss(checked["loss"], checked["epsilon"], checked["power"])
    checked["loss"], checked["quadratic"] = loss, loss.quadratic
    if not checked["quadratic"]:  # no moments: the loop, and no exact curvature
        if checked["method"] == "gram":
            raise ValueError(
                f"method='gram' cannot fit loss={options['loss']!r}: the {type(loss).__name__} "
                "loss has no sufficient statistics; use method='loop' (or 'auto', which picks it)"
            )
        checked["method"] = "loop"
    checked["moments_needed"] = (
        checked["lr"] == "auto" or checked["momentum"] == "auto" or checked["standardize"]
        or checked["tol"] is not None
    )  # fmt: skip
    return Options(**checked)
