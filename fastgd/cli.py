"""The `fastgd` command line: `fastgd demo`, `fit FILE`, `predict`, `bench`, `convert`, `compile`.

Every error is one line on stderr and exit status 2 (bad input) or 1 (a fit that diverged);
Ctrl-C is one line and exit status 130. There is never a traceback.
"""

import argparse
import json
import math
import os
import re
import sys
import warnings
from collections.abc import Callable
from typing import NamedTuple, TextIO

import numpy as np

from . import __version__, datasets
from ._words import plural
from .arrowfiles import format_of, is_arrow, read_arrow, read_arrow_columns, stream_arrow
from .compile_notice import compile_notice
from .convert import convert
from .cv_command import report_cv
from .datafiles import explain, parse_delimiter, read_columns, read_npy_pair, read_table
from .errors import (
    ConditioningWarning,
    ConvergenceWarning,
    DeviceError,
    DivergenceError,
    FitInterrupted,
)
from .fit import fit
from .glm_command import GLM_LOSSES, GLMResult, report_glm
from .losses import LOSSES
from .model_file import load_model, save_model
from .options import DEFAULTS, HELP
from .penalties import PENALTIES
from .progress import ProgressBar


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _number(value):
    """The lecture prints whole starting values as integers ("b = 0"), everything else in full."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _numbers(values, number=repr):
    """One coefficient as a number (as in the lecture), several as a list."""
    values = [number(float(v)) for v in np.atleast_1d(values)]
    return values[0] if len(values) == 1 else "[" + ", ".join(values) + "]"


def _float_list(text):
    try:
        return [float(item) for item in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def _learning_rate(text):
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', got {text!r}") from None


def _momentum(text):
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1) or 'auto', got {text!r}")
    return value


def _delimiter(text):
    try:
        return parse_delimiter(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_column_options(parser, x_help):
    """--x, --y and --delimiter, as `fit` and `convert` read them."""
    parser.add_argument("--x", default=None, help=x_help)
    parser.add_argument("--y", default=None, help="y column (default: the last)")
    _add_delimiter_option(parser)


def _add_delimiter_option(parser):
    parser.add_argument(
        # Absent from the parsed arguments unless given (so that it can be refused for .npy).
        "--delimiter", type=_delimiter, default=argparse.SUPPRESS,
        help="CSV field separator: one character, or tab, space (runs of spaces or tabs), "
        "comma, semicolon, pipe (default ,)",
    )  # fmt: skip


def _tolerance(text):
    if text.lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number >= 0 or 'none', got {text!r}"
        ) from None
    if not value >= 0.0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0 or 'none', got {text!r}")
    return value


# `fastgd fit` takes fit's own defaults (the optimum, to a certified tolerance); `fastgd demo`
# the lecture's plain gradient descent (fastgd.gradient_descent): 1000 steps of lr 1e-4.
# --plain's values: fastgd.gradient_descent's.
_PLAIN = {"tol": None, "standardize": False, "momentum": 0.0}
_FIT_DEFAULTS = {name: DEFAULTS[name] for name in ("lr", "n_iter", *_PLAIN)}
_DEMO_DEFAULTS = {"lr": 0.0001, "n_iter": 1000, **_PLAIN}


def _shown(value):
    return "none" if value is None else str(value)


def _add_fit_options(parser, defaults):
    lr, iters = defaults["lr"], defaults["n_iter"]
    parser.add_argument(
        "--lr", type=_learning_rate, default=lr, help=f"{HELP['lr']} (default {lr})",
    )  # fmt: skip
    parser.add_argument(
        "--iters", type=_positive_int, default=iters, help=f"{HELP['n_iter']} (default {iters})"
    )
    parser.add_argument("--b0", type=float, default=0.0, help=f"{HELP['b0']} (default 0)")
    parser.add_argument(
        "--no-intercept", dest="fit_intercept", action="store_false",
        help="fit y ~ X w, with b fixed at 0 (the default fits y ~ X w + b; fit's "
        "fit_intercept=False)",
    )  # fmt: skip
    parser.add_argument(
        "--w0", type=_float_list, default=None, help=f"{HELP['w0']}, comma-separated"
    )
    parser.add_argument(
        "--device", default="auto", choices=["auto", "cpu", "cuda"], help=HELP["device"]
    )
    parser.add_argument("--threads", type=int, default=None, help=HELP["threads"])
    parser.add_argument(
        "--method", default="auto", choices=["auto", "loop", "gram"], help=HELP["method"],
    )  # fmt: skip
    # These three default to None here, so that --plain can tell whether they were given
    # (`_descent_options` fills in the command's defaults).
    parser.set_defaults(descent_defaults=defaults)
    parser.add_argument(
        "--tol", type=_tolerance, default=None,
        help=f"{HELP['tol']} (default {_shown(defaults['tol'])})",
    )  # fmt: skip
    parser.add_argument(
        "--standardize", action=argparse.BooleanOptionalAction, default=None,
        help=f"{HELP['standardize']} (default {'on' if defaults['standardize'] else 'off'})",
    )  # fmt: skip
    parser.add_argument(
        "--momentum", type=_momentum, default=None,
        help=f"{HELP['momentum']} (default {defaults['momentum']})",
    )  # fmt: skip
    parser.add_argument(
        "--plain", action="store_true",
        help="the lecture's plain gradient descent: --iters steps of --lr in X's own units, "
        "no momentum, no tolerance (--no-standardize --momentum 0 --tol none; "
        "fastgd.gradient_descent)",
    )  # fmt: skip
    parser.add_argument(
        "--penalty", default=None, choices=[name for name in PENALTIES if name],
        help=f"{HELP['penalty']} (default none)",
    )  # fmt: skip
    parser.add_argument(
        "--alpha",
        type=float,
        default=None,
        help=f"{HELP['alpha']} (needs --penalty; default 1 with one)",
    )
    parser.add_argument(
        "--l1-ratio", type=float, default=None,
        help=f"{HELP['l1_ratio']} (with --penalty elasticnet; default 0.5)",
    )  # fmt: skip
    parser.add_argument(
        "--loss", default="squared_error",
        choices=[*LOSSES, *(name for name in GLM_LOSSES if name not in LOSSES)],
        help=f"{HELP['loss']}; here logistic, poisson (counts), gamma (y > 0) and tweedie "
        "(--power) are generalized linear models fitted by Newton's method",
    )  # fmt: skip
    parser.add_argument(
        "--power", type=float, default=None,
        help="Tweedie's power, with --loss tweedie: 0 normal, 1 Poisson, in (1, 2) compound "
        "Poisson-Gamma, 2 Gamma, 3 inverse Gaussian (default 1.5)",
    )  # fmt: skip
    parser.add_argument(
        "--epsilon", type=float, default=None,
        help=f"{HELP['epsilon']} (with --loss huber; default 1)",
    )  # fmt: skip
    parser.add_argument(
        "--positive", action="store_true", help=HELP["positive"],
    )  # fmt: skip
    parser.add_argument(
        "--plot", metavar="FILE", default=None,
        help="save a picture of the data, the fit and the loss curve (e.g. fit.png)",
    )  # fmt: skip


def _declare_demo(parser):
    parser.add_argument("--n", type=_positive_int, default=100, help="points (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="data set seed (default 0)")
    _add_fit_options(parser, _DEMO_DEFAULTS)


def _declare_fit(parser):
    parser.add_argument(
        "file", help="a .csv file (header optional), a .parquet or .feather file (the arrow "
        "extra), or an (n, k) .npy table (y: the last column unless --y says; with --y-file, X "
        "alone)",
    )  # fmt: skip
    _add_column_options(
        parser, "x columns: 0-based numbers or header names, comma-separated (default: "
        "every column but y)",
    )  # fmt: skip
    parser.add_argument(
        "--y-file", default=None, help="a .npy file holding y; FILE is then a .npy of X alone "
        "(both memory-mapped, as `fastgd convert` writes them)",
    )  # fmt: skip
    _add_fit_options(parser, _FIT_DEFAULTS)
    parser.add_argument(
        "--offset", metavar="COL", default=None,
        help="a column (name or 0-based number) added to each row's linear predictor as it is, "
        "with --loss poisson|gamma|tweedie|logistic: the log of each row's exposure for a "
        "Poisson rate (not one of X's columns)",
    )  # fmt: skip
    parser.add_argument(
        "--cv", type=_positive_int, default=None, metavar="K",
        help="choose --penalty's alpha by K-fold cross-validation (scikit-learn's scale and "
        "folds; every fold's fits from one pass over the data) and print the curve",
    )  # fmt: skip
    parser.add_argument(
        "--save", metavar="MODEL.json", default=None,
        help="save the model (coefficients by column name, options, convergence) for "
        "`fastgd predict`",
    )  # fmt: skip


def _fit_outputs(args):
    return [] if args.save is None else [(args.save, "--save")]


def _declare_predict(parser):
    parser.add_argument("model", help="a model file, as `fastgd fit DATA --save MODEL.json` wrote")
    parser.add_argument(
        "data", help="a .csv, .parquet or .feather file with the model's x columns (found by "
        "name), or an .npy file of X",
    )  # fmt: skip
    parser.add_argument(
        "-o", "--output", default=None,
        help="write the predictions to this .csv (a 'prediction' column) or .npy file "
        "(default: print them)",
    )  # fmt: skip
    _add_delimiter_option(parser)


def _predict_outputs(args):
    return [] if args.output is None else [(args.output, "--output")]


def _declare_bench(parser):
    parser.add_argument("--n", type=_positive_int, default=1_000_000, help="points (default 1e6)")
    parser.add_argument("--iters", type=_positive_int, default=100, help="iterations (default 100)")
    parser.add_argument("--threads", type=int, default=None, help="threads of the parallel path")
    parser.add_argument("--repeats", type=_positive_int, default=5, help="timed runs (default 5)")
    parser.add_argument("--json", metavar="FILE", default=None, help="also save the report")
    parser.add_argument("--plot", metavar="FILE", default=None, help="also save a bar chart")


def _declare_convert(parser):
    parser.add_argument("file", help="a .csv file (header optional), .parquet or .feather file")
    parser.add_argument(
        "output", help="X.npy (or, alone, an (n, d + 1) table of X and y), or a .parquet or "
        ".feather table of X's columns and y",
    )  # fmt: skip
    parser.add_argument("y_output", nargs="?", default=None, help="y.npy (recommended)")
    _add_column_options(parser, "x columns, as for `fastgd fit`")


def _declare_compile(parser):
    parser.add_argument(
        "--list", action="store_true", help="list the kinds of fit it compiles, compile nothing"
    )


def _compile(args, out):
    """Fill numba's cache with the common fits' kernels (fastgd/warm.py), one line each."""
    from .warm import common_fits, warm_cache

    fits = common_fits()
    if args.list:
        for common in fits:
            print(common.name, file=out)
        return
    print(
        f"fastgd: compiling the kernels of {plural(len(fits), 'common kind')} of fit into "
        "numba's cache (for this CPU; a first fit of these kinds then loads them in about a "
        "second)",
        file=out,
    )

    def progress(i, count, name, seconds):
        print(f"[{i}/{count}] {name}: {seconds:.1f} s", file=out, flush=True)

    seconds = warm_cache(fits, progress)
    print(f"done in {seconds:.1f} s", file=out)


def _build_parser():
    parser = _Parser(
        prog="fastgd", description="Linear regression by batch gradient descent, compiled."
    )
    parser.add_argument("--version", action="version", version=f"fastgd {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for name, command in COMMANDS.items():
        command.declare(commands.add_parser(name, help=command.help))
    return parser


MATPLOTLIB_MISSING = (
    "--plot needs matplotlib, which is not installed: python3 -m pip install matplotlib (or "
    'python3 -m pip install -e ".[plot]" in a checkout of fastgd)'
)


def _check_output(path, what):
    """Refuse an output file that could not be written, before any work is done."""
    folder = os.path.dirname(path) or "."
    if os.path.isdir(path):
        raise ValueError(f"{what} {path}: is a folder; name a file in it")
    if not os.path.isdir(folder):
        raise ValueError(f"{what} {path}: the folder {folder} does not exist")
    writable = os.access(path, os.W_OK) if os.path.exists(path) else os.access(folder, os.W_OK)
    if not writable:
        raise ValueError(f"{what} {path}: not writable (permission denied)")


def _check_plot(path):
    """Refuse --plot before any work when matplotlib is missing or cannot write that format."""
    _check_output(path, "--plot")
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise ImportError(MATPLOTLIB_MISSING) from None
    formats = sorted(FigureCanvasBase.get_supported_filetypes())
    suffix = os.path.splitext(path)[1][1:].lower()
    if suffix not in formats:
        raise ValueError(
            f"--plot {path}: "
            + (f"matplotlib cannot write .{suffix} files" if suffix else "no file suffix")
            + f"; end the name in one of .{', .'.join(formats)} (e.g. fit.png)"
        )


def _csv_delimiter(args):
    return getattr(args, "delimiter", ",")


def _refuse_column_options_with_y_file(args):
    """--x, --y and --delimiter mean nothing for X.npy --y-file y.npy: refuse them."""
    for option, value in (("--x", args.x), ("--y", args.y)):
        if value is not None:
            raise ValueError(
                f"{option} cannot be used with --y-file: {args.file} is used whole, as X "
                f"(every column an x), and y is {args.y_file}; choose columns when "
                "converting (fastgd convert DATA.csv X.npy y.npy --x ... --y ...)"
            )
    if hasattr(args, "delimiter"):
        raise ValueError("--delimiter cannot be used with --y-file: .npy files have none")
    if not str(args.file).endswith(".npy"):
        raise ValueError(
            f"--y-file is for a .npy file of X, and {args.file} is none: fit a CSV file "
            "without --y-file (--x and --y choose its columns)"
        )


def _read_fit_data(args):
    """X, y, X's column names and their `Source` for `fastgd fit`, refusing options that would
    be ignored; with --offset, the offset column is taken out of X (args.offset_values)."""
    args.offset_values = None
    if getattr(args, "offset", None) is None:
        return _read_x_and_y(args)
    if args.loss not in GLM_LOSSES:
        raise ValueError(
            "--offset is a generalized linear model's: add --loss poisson, gamma, tweedie or "
            "logistic, or drop --offset"
        )
    if args.y_file is not None:
        raise ValueError("--offset takes a column of the data file; not with --y-file")
    x_spec = args.x
    args.x = None if x_spec is None else f"{x_spec},{args.offset}"
    try:
        X, y, labels, source = _read_x_and_y(args)
    finally:
        args.x = x_spec
    j = _offset_position(args.offset, labels, source)
    column = source.columns[j]
    if source.columns[:-1].count(column) > 1 or column == source.columns[-1]:
        raise ValueError(f"--offset {args.offset} is one of --x's or --y's columns: an offset "
                         "is a column of its own")  # fmt: skip
    args.offset_values = np.ascontiguousarray(X[:, j], dtype=np.float64)
    args.offset_column = (labels[j], column)  # its name, and its place in the file
    keep = [c for c in range(X.shape[1]) if c != j]
    # X is in memory here (a Newton fit reads it at each step): its other columns, once.
    X = np.ascontiguousarray(X[:, keep])
    columns = [source.columns[c] for c in keep] + [source.columns[-1]]
    source.columns = columns
    return X, y, [labels[c] for c in keep], source


def _offset_position(spec, labels, source):
    """The position among X's columns (as read, the offset's included) of --offset's column."""
    if spec in labels:
        return labels.index(spec)
    try:
        column = int(spec)
    except ValueError:
        column = None
    if column is not None and column < 0:
        raise ValueError(f"--offset {spec}: give the column's name or its 0-based number, not "
                         "a negative one")  # fmt: skip
    positions = [j for j, c in enumerate(source.columns[:-1]) if c is not None and c == column]
    if not positions:
        raise ValueError(f"--offset {spec}: not among the columns read besides y "
                         f"({', '.join(labels)}); an offset is a column of its own")  # fmt: skip
    return positions[0]


def _read_x_and_y(args):
    """X, y, X's column names and their `Source`, as --x and --y choose them."""
    if args.y_file is not None:
        _refuse_column_options_with_y_file(args)
        X, y, source = read_npy_pair(args.file, args.y_file)
        return X, y, [f"x{c}" for c in source.columns[:-1]], source
    if is_arrow(args.file):
        if hasattr(args, "delimiter"):
            raise ValueError(
                f"--delimiter is for CSV files; {args.file} is a {format_of(args.file)} file"
            )
        if _streams(args):
            return stream_arrow(args.file, args.x, args.y)
        return read_arrow(args.file, args.x, args.y)
    if not str(args.file).endswith(".npy"):
        return read_table(args.file, args.x, args.y, _csv_delimiter(args))
    if hasattr(args, "delimiter"):
        raise ValueError(f"--delimiter is for CSV files; {args.file} is a .npy file")
    X, y, labels, source = read_table(args.file, args.x, args.y)
    if args.y is None:
        # A table has no header to say which column is y: say it, in case FILE is X alone.
        print(
            f"fastgd: note: y is the last column of {args.file} (column "
            f"{source.columns[-1]}); pass --y to choose it, or --y-file y.npy if "
            f"{args.file} holds X alone",
            file=sys.stderr,
        )
    return X, y, labels, source


def _streams(args):
    """Whether a Parquet or Feather file is fitted as streamed rows (fastgd/streamed.py: one
    row group in memory at a time, gram's one pass): wherever gram can fit it -- the squared
    error on the CPU -- and no plot needs the rows themselves."""
    return (
        args.method in ("auto", "gram") and args.loss == "squared_error"
        and args.device in ("auto", "cpu") and args.plot is None
    )  # fmt: skip


def _run_fit(X, y, args, source):
    """fit() as the options say, with the progress bar and the compile notice; returns the
    result and the warnings it raised. Bad values in a file are named in the file's terms."""
    # The bar shows itself only on a terminal and after a second; elsewhere no callback at all.
    progress = ProgressBar(args.iters) if sys.stderr.isatty() else None
    result = None
    try:
        with warnings.catch_warnings(record=True) as caught, compile_notice():
            warnings.simplefilter("always", ConvergenceWarning)
            warnings.simplefilter("always", ConditioningWarning)
            result = fit(
                X, y, lr=args.lr, n_iter=args.iters, b0=args.b0, w0=args.w0, device=args.device,
                threads=args.threads, method=args.method, tol=args.tol, callback=progress,
                fit_intercept=args.fit_intercept, standardize=args.standardize,
                momentum=args.momentum, penalty=args.penalty,
                alpha=_alpha(args), l1_ratio=_or(args.l1_ratio, 0.5), loss=args.loss,
                epsilon=_or(args.epsilon, 1.0), positive=args.positive,
            )  # fmt: skip
    except DeviceError as error:
        raise DeviceError(_in_flag_terms(str(error))) from None
    except (DivergenceError, ValueError, TypeError) as error:
        # A NaN or inf in a memory-mapped file, or values whose squares overflow, are the
        # data's fault: name them in their file (exit 2), rather than as X[i, j] or as a
        # divergence (exit 1). The search is a pass over the data, on this error path only.
        about_values = "finite" in str(error) or "too large" in str(error)
        if source is not None and (isinstance(error, DivergenceError) or about_values):
            problem = explain(X, y, source)
            if problem is not None:
                raise problem from None
        if isinstance(error, DivergenceError):
            raise DivergenceError(_in_flag_terms(str(error))) from None
        raise type(error)(_in_flag_terms(str(error))) from None
    finally:
        if progress is not None:
            progress.close(*(() if result is None else (result.n_iter, result.loss)))
    return result, caught


# fit's parameters as the command line names them, for fit's messages (`_in_flag_terms`).
_FLAGS = {
    "n_iter": "--iters", "lr": "--lr", "w0": "--w0", "b0": "--b0", "threads": "--threads",
    "alpha": "--alpha", "l1_ratio": "--l1-ratio", "epsilon": "--epsilon", "tol": "--tol",
    "momentum": "--momentum", "penalty": "--penalty", "loss": "--loss", "method": "--method",
    "device": "--device",
}  # fmt: skip
_SWITCHES = {
    "fit_intercept=False": "--no-intercept", "standardize=True": "--standardize",
    "standardize=False": "--no-standardize", "positive=True": "--positive",
}  # fmt: skip
_CHOICES = r"'(l1|l2|elasticnet|huber|squared_error|loop|gram|auto|cpu|cuda)'"
_NAMES = "|".join(_FLAGS)


def _in_flag_terms(text):
    """fit's message in the command line's terms: "penalty='l2'" as "--penalty l2", "n_iter must"
    as "--iters must"."""
    for python, flag in _SWITCHES.items():
        text = text.replace(python, flag)

    def option(match):
        value = match.group(2).strip("'\"")
        return f"{_FLAGS[match.group(1)]} {'none' if value == 'None' else value}"

    text = re.sub(rf"(?<![\w-])({_NAMES})=('[^']*'|\"[^\"]*\"|[^\s,;:)]+)", option, text)
    # A name alone where it is the subject ("alpha must", "leave alpha at 0"), or one that is
    # no English word (n_iter, l1_ratio, w0, b0, lr) anywhere.
    text = re.sub(
        rf"(?<![\w-])(?:({_NAMES})(?= must\b| cannot\b| at \d)|(n_iter|l1_ratio|w0|b0|lr)\b)",
        lambda match: _FLAGS[match.group(1) or match.group(2)], text,
    )  # fmt: skip
    return re.sub(_CHOICES, r"\1", text)


def _refuse_unused_options(args):
    """--epsilon and --l1-ratio mean something for one loss or penalty only: refuse them where
    they would be ignored."""
    if args.epsilon is not None and args.loss != "huber":
        raise ValueError(
            "--epsilon is the Huber loss's threshold: add --loss huber, or drop --epsilon"
        )
    if args.l1_ratio is not None and args.penalty != "elasticnet":
        raise ValueError(
            "--l1-ratio is the elastic net's share of l1: use --penalty elasticnet, or drop "
            "--l1-ratio"
        )


def _or(value, default):
    return default if value is None else value


def _alpha(args):
    """--alpha, 1.0 by default where --penalty is given (0 without one)."""
    if args.alpha is not None:
        return args.alpha
    return 1.0 if args.penalty else 0.0


def _print_fit(result, n_points, args, out):
    """The lecture's two lines, then the device, method, step size and time."""
    w0 = np.zeros(result.coef.shape[0]) if args.w0 is None else np.asarray(args.w0)
    print(
        f"Starting gradient descent at b = {_number(args.b0)}, m = {_numbers(w0, _number)}, "
        f"error = {float(result.loss_history[0])!r}",
        file=out,
    )
    print(
        # The lecture's line word for word ("After 1000 iterations b = ..."); singular for 1.
        f"After {plural(result.n_iter, 'iteration')} b = {result.intercept!r}, "
        f"m = {_numbers(result.coef)}, error = {result.loss!r}",
        file=out,
    )
    threads = f", {plural(result.threads, 'thread')}"
    auto = " (auto)" if args.lr == "auto" else ""
    if result.momentum:
        auto += f", momentum {result.momentum:.4g}"
    if result.standardized:
        auto += ", standardized"
    print(
        f"device: {result.device}{threads if result.device == 'cpu' else ''}; "
        f"method {result.method}, lr {result.lr:.4g}{auto}; "
        f"{plural(n_points, 'point')}, fit took {result.seconds * 1e3:.3g} ms",
        file=out,
    )
    print(_convergence_line(result, args), file=out)


def _convergence_line(result, args):
    """Whether the fit reached the optimum, and the bound that says how close it is."""
    bound = float(np.max(result.distance_bound))
    known = f"; distance to the optimum <= {bound:.3g}" if math.isfinite(bound) else ""
    if result.converged:
        return f"converged: yes{known}"
    if args.tol is None:  # the steps asked for (the demo's lecture): not an error, not a warning
        return (
            f"converged: no, after the {plural(args.iters, 'step')} asked for{known} (plain "
            "gradient descent; `fastgd fit`'s defaults reach the optimum)"
        )
    return f"converged: no{known} (see the warning below)"


def _descent_options(args):
    """--tol, --standardize and --momentum: as given, else --plain's values or the command's
    defaults. --plain with one of them given otherwise is an error."""
    for name, plain in _PLAIN.items():
        given = getattr(args, name)
        if args.plain and given is not None and given != plain:
            raise ValueError(
                f"--plain runs plain gradient descent (--{name} {_shown(plain)}); drop "
                f"--plain to use --{name}"
            )
        if given is None:
            setattr(args, name, plain if args.plain else args.descent_defaults[name])


def _coefficient_table(result, labels):
    """The intercept and each column's coefficient, by name, with the bound on its distance
    from the optimum where the fit has one."""
    names = ["intercept", *labels]
    values = [float(result.intercept), *map(float, result.coef)]
    coef_bounds = [math.nan] * len(labels) if result.coef_bound is None else result.coef_bound
    bounds = [float(result.intercept_bound), *map(float, coef_bounds)]
    shown = any(math.isfinite(b) for b in bounds)
    width = max(len(name) for name in names)
    lines = [f"{'column':<{width}}  {'coefficient':>20}" + ("  bound" if shown else "")]
    for name, value, bound in zip(names, values, bounds):
        within = (f"  ± {bound:.2g}" if math.isfinite(bound) else "  ± ?") if shown else ""
        lines.append(f"{name:<{width}}  {value:>20.12g}{within}")
    return "\n".join(lines)


def _report(X, y, args, out, source=None, labels=None):
    """Fit X and y as `fastgd demo` and `fastgd fit` do, and print the result (with the
    coefficients by column name where `labels` names X's columns)."""
    _refuse_unused_options(args)
    if args.loss in GLM_LOSSES:
        try:
            with compile_notice():
                result = report_glm(X, y, args, out)
        except ValueError as error:  # a NaN or inf: named by its line and column in the file
            problem = explain(X, y, source) if "finite" in str(error) and source else None
            if problem is not None:
                raise problem from None
            raise
        if labels is not None:
            print(_coefficient_table(result, labels), file=out)
        _plot(X, y, result, args, out, getattr(args, "offset_values", None))
        return result
    if getattr(args, "cv", None) is not None:
        model = report_cv(X, y, args, out)
        result = GLMResult(float(model.intercept_), np.asarray(model.coef_, dtype=np.float64))
        if labels is not None:
            print(_coefficient_table(result, labels), file=out)
        return result
    if args.power is not None:
        raise ValueError("--power is Tweedie's: add --loss tweedie, or drop --power")
    _descent_options(args)
    result, caught = _run_fit(X, y, args, source)
    _print_fit(result, len(y), args, out)
    if labels is not None:
        print(_coefficient_table(result, labels), file=out)
    for warning in caught:
        print(f"fastgd: warning: {_warning_text(warning.message, args)}", file=sys.stderr)
    _plot(X, y, result, args, out)
    return result


def _plot(X, y, result, args, out, offset=None):
    """--plot: the fit's picture (fastgd/plot.py), where it was asked for."""
    if args.plot is not None:
        from .plot import save_fit

        save_fit(X, y, result, args.plot, offset)
        print(f"plot saved to {args.plot}", file=out)


def _warning_text(warning, args):
    """A warning in the command line's terms (--tol, --iters, --lr) where it carries its numbers,
    else the library's message."""
    if not isinstance(warning, ConvergenceWarning):
        return _in_flag_terms(str(warning))
    tol, n_iter, distance = warning.tol, warning.n_iter, warning.distance
    if tol is None or n_iter is None or distance is None:
        return _in_flag_terms(str(warning))
    reached = (
        f" (the parameters may still be up to {distance:.2g}, relative, from the optimum)"
        if math.isfinite(distance)
        else ""
    )
    unused = [flag for flag, off in (("--standardize", not args.standardize),
                                     ("--momentum auto", args.momentum == 0.0),
                                     ("--lr auto", args.lr != "auto")) if off]  # fmt: skip
    return (
        f"--tol {tol:g} was not reached in {plural(n_iter, 'iteration')}{reached}; raise "
        "--iters" + (", or use " + " ".join(unused) if unused else "")
    )


def _demo(args, out):
    x, y = datasets.lecture_like(args.n, seed=args.seed)
    _report(x, y, args, out)


def _fit(args, out):
    X, y, labels, source = _read_fit_data(args)
    result = _report(X, y, args, out, source, labels)
    if args.save is not None:
        header = source.header is not None and source.header.names is not None
        y_column = source.columns[-1]
        if header:
            y_name = source.header.names[y_column]
        else:
            y_name = os.path.basename(source.y_path) if y_column is None else f"column {y_column}"
        save_model(
            args.save, result, labels, source.columns[:-1], header, y_name,
            _saved_options(args), args.file, len(y),
            offset=None if args.offset_values is None else args.offset_column,
        )  # fmt: skip
        print(f"model saved to {args.save} (fastgd predict {args.save} DATA)", file=out)


def _saved_options(args):
    """fit's options as this fit ran them, for the model file."""
    names = ("lr", "n_iter", "tol", "standardize", "momentum", "penalty", "alpha", "l1_ratio",
             "loss", "epsilon", "power", "positive", "fit_intercept", "method", "device",
             "threads")  # fmt: skip
    values = vars(args) | {"n_iter": args.iters, "alpha": _alpha(args)}
    return {name: values[name] for name in names}


def _predict(args, out):
    model = load_model(args.model)
    columns = model.with_offset_column()
    if is_arrow(args.data):
        X = read_arrow_columns(args.data, columns, args.model)
    else:
        X = read_columns(args.data, columns, _csv_delimiter(args), args.model)
    offset = None
    if model.offset is not None:  # the model's offset column, read as one more column of X
        X, offset = X[:, :-1], X[:, -1]
    prediction = model.predict_rows(X, offset)
    if args.output is not None and str(args.output).endswith(".npy"):
        np.save(args.output, prediction)
    else:
        target = out if args.output is None else args.output
        np.savetxt(target, prediction, fmt="%.17g", header="prediction", comments="")
    if args.output is not None:
        print(f"wrote {plural(len(prediction), 'prediction')} to {args.output}", file=sys.stderr)


def _bench(args, out):
    from . import benchmark

    if args.n < 1 or args.iters < 1:
        raise ValueError("--n and --iters must be at least 1")
    with compile_notice():
        report = benchmark.run(
            n=args.n, iters=args.iters, threads=args.threads, repeats=args.repeats
        )
    print(benchmark.format_table(report), file=out)
    if args.json is not None:
        with open(args.json, "w") as file:
            json.dump(report, file, indent=2)
            file.write("\n")
        print(f"report saved to {args.json}", file=out)
    if args.plot is not None:
        from .plot import save_benchmark

        save_benchmark(report, args.plot)
        print(f"plot saved to {args.plot}", file=out)


def _bench_outputs(args):
    return [] if args.json is None else [(args.json, "--json")]


def _convert(args, out):
    rows, labels = convert(
        args.file, args.output, args.y_output, args.x, args.y, _csv_delimiter(args)
    )
    outputs = args.output + (f" and {args.y_output}" if args.y_output else "")
    print(f"wrote {plural(rows, 'row')} ({plural(len(labels), 'x column')}: "
          f"{', '.join(labels)}) to {outputs}", file=out)  # fmt: skip


def _convert_outputs(args):
    return [(args.output, "output")] + (
        [] if args.y_output is None else [(args.y_output, "y output")]
    )


def _no_outputs(args):
    return []


class _Command(NamedTuple):
    help: str  # the line `fastgd --help` shows
    declare: Callable[[argparse.ArgumentParser], None]  # adds the command's arguments
    run: Callable[[argparse.Namespace, TextIO], None]  # does the work, printing to `out`
    # (path, what) for each file it writes, --plot aside: checked before any work.
    outputs: Callable[[argparse.Namespace], list[tuple[str, str]]] = _no_outputs


COMMANDS = {
    "demo": _Command(
        help="the lecture's experiment on a built-in data set",
        declare=_declare_demo,
        run=_demo,
    ),
    "fit": _Command(
        help="fit a line (or plane) to a .csv or .npy file",
        declare=_declare_fit,
        run=_fit,
        outputs=_fit_outputs,
    ),
    "predict": _Command(
        help="predict with a saved model (fastgd fit --save) from a .csv or .npy file",
        declare=_declare_predict,
        run=_predict,
        outputs=_predict_outputs,
    ),
    "bench": _Command(
        help="time fastgd against NumPy, the lecture's loops and a plain read",
        declare=_declare_bench,
        run=_bench,
        outputs=_bench_outputs,
    ),
    "convert": _Command(
        help="convert a large CSV, Parquet or Feather file to .npy files that `fastgd fit` maps "
        "(or to Parquet or Feather)",
        declare=_declare_convert,
        run=_convert,
        outputs=_convert_outputs,
    ),
    "compile": _Command(
        help="compile the common fits' kernels ahead of time (for images, CI, shared machines)",
        declare=_declare_compile,
        run=_compile,
    ),
}


def main(argv=None, out=None):
    """Run the command line; return the exit status."""
    out = sys.stdout if out is None else out
    args = _build_parser().parse_args(argv)
    command = COMMANDS[args.command]
    try:
        # Outputs are checked first: a fit or a benchmark is not redone for a typo in a path.
        for path, what in command.outputs(args):
            _check_output(path, what)
        if getattr(args, "plot", None) is not None:
            _check_plot(args.plot)
        command.run(args, out)
    except FitInterrupted as stop:  # Ctrl-C during a fit: where it stood, in the lecture's terms
        print(
            f"fastgd: interrupted at iteration {stop.n_iter}: b = {float(stop.intercept)!r}, "
            f"m = {_numbers(stop.coef)}, error = {float(stop.loss)!r}",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:  # `fastgd predict ... | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 141  # as a shell reports a process that SIGPIPE ended
    except KeyboardInterrupt:  # Ctrl-C anywhere else (reading a file, converting, bench)
        print("fastgd: interrupted", file=sys.stderr)
        return 130
    except DivergenceError as error:
        print(f"fastgd: error: {error}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, OSError, DeviceError, ImportError) as error:
        print(f"fastgd: error: {error}", file=sys.stderr)
        return 2
    return 0
