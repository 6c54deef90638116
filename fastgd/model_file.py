"""A fitted model as a JSON file: `fastgd fit --save model.json`, `fastgd predict`.

The file holds what a prediction needs (the intercept, the coefficients and the names of the
columns they belong to, so that `fastgd predict` finds them by name in another file), what
produced it (fit's options, fastgd's version, the data file and its row count) and how good it
is (iterations, converged, the bound on the distance to the optimum). Plain JSON, readable by
any program:

    {"format": "fastgd model", "version": 1, "fastgd": "0.1.0",
     "columns": ["a", "b"], "header": true, "column_indices": [1, 2], "y": "y",
     "intercept": 8.0, "coef": [1.5, -2.0], "link": "identity",
     "options": {"lr": "auto", "n_iter": 100000, ...},
     "fit": {"file": "data.csv", "rows": 1000, "n_iter": 8, "converged": true, ...}}

`header` says whether the columns were named by the file's header (then `predict` finds them by
name) or are positions in a file without one (`column_indices`, 0-based; names "x0", "x1"...).
`offset` ({"column": name, "index": position}, or null) names the column whose values a
generalized linear model fitted with `--offset` adds to each row's eta: `predict` reads it too.
`link` says what a prediction is: "identity" (least squares, the Huber loss, the normal
distribution) predicts eta = intercept + x . coef itself; a generalized linear model's (`fastgd
fit --loss poisson|gamma|tweedie|logistic`) predicts its mean, exp(eta) for "log" and the
probability 1 / (1 + exp(-eta)) of y = 1 for "logit". A file without it (older fastgd) is
"identity".
"""

import json
import math
import os
from typing import Any, NamedTuple

from .errors import DataFileError

FORMAT = "fastgd model"
VERSION = 1
LINKS = ("identity", "log", "logit")


class Model(NamedTuple):
    columns: list[str]  # X's columns, in the coefficients' order
    header: bool  # whether `columns` are names from a header (else positions, column_indices)
    column_indices: list[int]  # their 0-based positions in the file fitted
    y: str
    intercept: float
    coef: list[float]
    link: str = "identity"
    offset: tuple | None = None  # (name, 0-based position) of the offset's column, or None

    def with_offset_column(self):
        """This model with its offset's column last among `columns` (what to read from a file:
        `predict_rows` takes it apart again)."""
        if self.offset is None:
            return self
        name, index = self.offset
        return self._replace(columns=[*self.columns, name],
                             column_indices=[*self.column_indices, index])  # fmt: skip

    def predict_rows(self, X, offset=None):
        """The prediction for X of shape (n, len(columns)): eta = X @ coef + intercept (+ the
        rows' offsets), or the mean a generalized linear model's link gives it (module doc)."""
        from .families import inverse_link

        eta = X @ self.coef + self.intercept
        return inverse_link(self.link, eta if offset is None else eta + offset)


def _finite_or_none(value):
    """JSON has no NaN or infinity: an unknown bound is null."""
    value = float(value)
    return value if math.isfinite(value) else None


def save_model(path, result, columns, column_indices, header, y, options, data_file, rows,
               offset=None):  # fmt: skip
    """Write `result` (a one-target FitResult) as a model file (see the module doc); `offset`:
    (name, 0-based position) of the offset's column, or None."""
    coef_bound = result.coef_bound
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "fastgd": _version(),
        "columns": list(columns),
        "header": bool(header),
        "column_indices": [int(c) for c in column_indices],
        "y": y,
        "intercept": float(result.intercept),
        "coef": [float(c) for c in result.coef],
        "link": getattr(result, "link", "identity"),
        "offset": None if offset is None else {"column": offset[0], "index": int(offset[1])},
        "options": options,
        "fit": {
            "file": os.path.abspath(data_file),
            "rows": int(rows),
            "n_iter": int(result.n_iter),
            "converged": bool(result.converged),
            "loss": _finite_or_none(result.loss),
            "distance_bound": _finite_or_none(result.distance_bound),
            "intercept_bound": _finite_or_none(result.intercept_bound),
            "coef_bound": None if coef_bound is None else [_finite_or_none(b) for b in coef_bound],
            "method": result.method,
            "device": result.device,
            "lr": _finite_or_none(result.lr),
            "momentum": float(result.momentum),
            "standardized": bool(result.standardized),
        },
    }
    with open(path, "w") as file:
        json.dump(document, file, indent=2)
        file.write("\n")


def _version():
    from . import __version__

    return __version__


def _offset_of(entry):
    if entry is None:
        return None
    return (str(entry["column"]), int(entry["index"]))


def load_model(path):
    """The `Model` in the file `path`; a DataFileError naming the file and what is wrong."""
    try:
        with open(path) as file:
            document = json.load(file)
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataFileError(f"{path}: is a directory, not a model file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataFileError(
            f"{path}: not a model file (not JSON: {error}); write one with "
            "`fastgd fit DATA --save model.json`"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DataFileError(
            f'{path}: not a fastgd model file (no "format": "{FORMAT}"); write one with '
            "`fastgd fit DATA --save model.json`"
        )
    if document.get("version") != VERSION:
        raise DataFileError(
            f"{path}: a model file of format version {document.get('version')!r}, which this "
            f"fastgd ({_version()}) does not read (it reads version {VERSION}); refit the model "
            "with this fastgd, or use the fastgd that wrote it"
        )
    try:
        model = Model(
            columns=[str(c) for c in document["columns"]],
            header=bool(document["header"]),
            column_indices=[int(c) for c in document["column_indices"]],
            y=str(document["y"]),
            intercept=float(document["intercept"]),
            coef=[float(c) for c in document["coef"]],
            link=str(document.get("link", "identity")),
            offset=_offset_of(document.get("offset")),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise DataFileError(
            f"{path}: a damaged model file ({error!r} is missing or wrong)"
        ) from None
    if model.link not in LINKS:
        raise DataFileError(
            f"{path}: a model file with link {model.link!r}, which this fastgd ({_version()}) "
            f"does not know (it knows {', '.join(LINKS)}); use the fastgd that wrote it"
        )
    d = len(model.coef)
    if not d or len(model.columns) != d or len(model.column_indices) != d:
        raise DataFileError(
            f"{path}: a damaged model file ({d} coefficients for {len(model.columns)} columns)"
        )
    return model
