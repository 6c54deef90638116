"""fit's options, one table (fastgd/options.py): fit's signature, the record, the estimator and
the command line take their names, defaults and help from it."""

import inspect

import pytest

import fastgd
from fastgd import options
from fastgd.cli import _build_parser


def test_fits_signature_is_the_table():
    signature = inspect.signature(fastgd.fit).parameters
    keywords = [name for name in signature if name not in ("X", "y")]
    assert keywords == [parameter.name for parameter in options.PARAMETERS]
    for parameter in options.PARAMETERS:
        assert signature[parameter.name].default == parameter.default, parameter.name
        assert signature[parameter.name].kind is inspect.Parameter.KEYWORD_ONLY


def test_the_record_holds_every_option_checked():
    given = {parameter.name: parameter.default for parameter in options.PARAMETERS}
    checked = options.check_options({**given, "X": "not an option", "tol": 0, "loss": "huber"})
    assert checked._fields[: len(given)] == tuple(given)
    assert checked.tol == 0.0 and isinstance(checked.tol, float)
    assert checked.method == "loop"  # the Huber loss has no moments to use
    assert not checked.quadratic and checked.moments_needed  # lr="auto" and tol need them
    plain = {"lr": 0.1, "tol": None, "standardize": False, "momentum": 0.0}  # gradient_descent's
    checked = options.check_options({**given, **plain})
    assert checked.quadratic and not checked.moments_needed


@pytest.mark.parametrize(
    "name, value, error, match",
    [
        ("tol", -1.0, ValueError, "tol must be >= 0"),
        ("callback", 3, TypeError, "callback must be callable"),
        ("check_every", 0, ValueError, "check_every must be >= 1"),
        ("fit_intercept", 1, TypeError, "fit_intercept must be True or False"),
        ("n_iter", 2.5, TypeError, "n_iter must be an integer"),
        ("method", "fast", ValueError, "method must be one of"),
    ],
)
def test_each_option_is_checked_by_its_rule(name, value, error, match):
    given = {parameter.name: parameter.default for parameter in options.PARAMETERS}
    with pytest.raises(error, match=match):
        options.check_options({**given, name: value})


def test_the_estimator_passes_on_what_it_shares_with_fit(monkeypatch):
    pytest.importorskip("sklearn")
    from fastgd import estimator

    seen = {}

    def spy(X, y, **kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop here")

    monkeypatch.setattr(estimator, "_fit", spy)
    shared = estimator._shared_options()
    assert {"lr", "tol", "penalty", "coef_bounds", "penalty_weights", "loss"} <= set(shared)
    model = fastgd.LinearRegressionGD(lr=0.5, penalty="l1", alpha=0.1, coef_bounds=(0, 1))
    with pytest.raises(RuntimeError, match="stop here"):
        model.fit([[1.0], [2.0], [3.0]], [1.0, 2.0, 3.0])
    for name in shared:
        assert seen[name] is getattr(model, name) or seen[name] == getattr(model, name), name
    assert seen["alpha"] == 0.1 and seen["minimum_norm"] is True


def test_the_command_line_says_what_the_table_says():
    parser = _build_parser()
    commands = next(
        action
        for action in parser._actions
        if action.dest == "command"  # the subcommands
    )
    fit_parser = commands.choices["fit"]
    helps = {action.dest: action.help for action in fit_parser._actions}
    for dest, name in (("threads", "threads"), ("tol", "tol"), ("method", "method"),
                       ("standardize", "standardize"), ("loss", "loss")):  # fmt: skip
        assert helps[dest].startswith(options.HELP[name]), dest


def test_the_documented_signature_is_the_table():
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "fit.md").read_text()
    block = page[page.index("fastgd.fit(X, y, *, ") : page.index(")\n```")]
    documented = re.findall(r"(\w+)=([^,\s]+)", block)
    assert [name for name, _ in documented] == [p.name for p in options.PARAMETERS]
    for (name, default), parameter in zip(documented, options.PARAMETERS):
        assert default == repr(parameter.default).replace("'", '"'), name
