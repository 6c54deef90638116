"""Reading data files for the command line: CSV (header or none) and .npy tables.

Errors are `DataFileError`s that name the file, and the line where one applies.
"""

import csv
import os
import warnings

import numpy as np


class DataFileError(ValueError):
    """A data file that cannot be read as a table of numbers."""


def _parse_columns(spec, names, n_columns, path):
    """Column indices for a comma-separated list of 0-based indices or header names."""
    indices = []
    for item in spec.split(","):
        item = item.strip()
        if names is not None and item in names:
            indices.append(names.index(item))
            continue
        try:
            index = int(item)
        except ValueError:
            known = f"; columns are {', '.join(names)}" if names else ""
            raise DataFileError(
                f"{path}: no column named {item!r}{known} (or pass 0-based column numbers)"
            ) from None
        if not -n_columns <= index < n_columns:
            raise DataFileError(
                f"{path}: column {index} does not exist; the file has {n_columns} columns "
                f"(0 to {n_columns - 1})"
            )
        indices.append(index % n_columns)
    return indices


def _choose_columns(x_spec, y_spec, names, n_columns, path):
    if n_columns < 2:
        raise DataFileError(f"{path}: needs at least two columns (x and y), found {n_columns}")
    y_column = n_columns - 1 if y_spec is None else _parse_columns(y_spec, names, n_columns, path)
    if isinstance(y_column, list):
        if len(y_column) != 1:
            raise DataFileError(f"{path}: --y names one column, got {y_spec!r}")
        y_column = y_column[0]
    if x_spec is None:
        x_columns = [c for c in range(n_columns) if c != y_column]
    else:
        x_columns = _parse_columns(x_spec, names, n_columns, path)
    if y_column in x_columns:
        raise DataFileError(f"{path}: column {y_column} is used both as x and as y")
    return x_columns, y_column


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _find_bad_line(path, delimiter, skip):
    """The first line of a CSV file that is not a row of numbers, as an error."""
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        expected = None
        for row in reader:
            line = reader.line_num
            if line <= skip or not row or all(not field.strip() for field in row):
                continue
            if expected is None:
                expected = len(row)
            if len(row) != expected:
                return DataFileError(f"{path}:{line}: expected {expected} fields, found {len(row)}")
            for column, field in enumerate(row):
                field = field.strip()
                if not _is_number(field):
                    return DataFileError(
                        f"{path}:{line}: column {column} is {field!r}, not a number"
                    )
    return None


def read_csv(path, x_columns=None, y_column=None, delimiter=","):
    """Return (X (n, d) float64, y (n,), x column names) from a CSV file."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            first = next(csv.reader(handle, delimiter=delimiter), None)
    except UnicodeDecodeError:
        raise DataFileError(f"{path}: not a text (UTF-8) CSV file") from None
    if first is None or not any(field.strip() for field in first):
        raise DataFileError(f"{path}:1: the file is empty")
    has_header = not all(_is_number(field) for field in first)
    names = [field.strip() for field in first] if has_header else None
    x_columns, y_column = _choose_columns(x_columns, y_column, names, len(first), path)
    columns = [*x_columns, y_column]
    try:
        # All columns are parsed (not just `columns`), so that ragged rows are caught.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
            table = np.loadtxt(
                path, delimiter=delimiter, skiprows=int(has_header), ndmin=2,
                dtype=np.float64, encoding="utf-8",
            )  # fmt: skip
    except ValueError:
        error = _find_bad_line(path, delimiter, int(has_header))
        raise error or DataFileError(f"{path}: could not be read as a table of numbers") from None
    if table.shape[0] == 0:
        raise DataFileError(f"{path}: has no data rows")
    table = table[:, columns]
    labels = [names[c] if names else f"x{c}" for c in x_columns]
    return table[:, : len(x_columns)], table[:, -1], labels


def read_npy(path, x_columns=None, y_column=None):
    """Return (X, y, x column names) from an (n, k) .npy table, memory-mapped, not loaded."""
    try:
        table = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as error:
        raise DataFileError(f"{path}: not a readable .npy array ({error})") from None
    if table.ndim != 2:
        raise DataFileError(
            f"{path}: expected a 2-D table of shape (n, columns), got shape {table.shape}"
        )
    x_columns, y_column = _choose_columns(x_columns, y_column, None, table.shape[1], path)
    return table[:, x_columns], table[:, y_column], [f"x{c}" for c in x_columns]


def read_npy_pair(x_path, y_path):
    """Return (X, y) from separate .npy files, both memory-mapped: fit uses them without a copy."""
    arrays = []
    for path in (x_path, y_path):
        if not os.path.isfile(path):
            raise DataFileError(f"{path}: no such file")
        try:
            arrays.append(np.load(path, mmap_mode="r", allow_pickle=False))
        except ValueError as error:
            raise DataFileError(f"{path}: not a readable .npy array ({error})") from None
    return arrays[0], arrays[1]


def read_table(path, x_columns=None, y_column=None, delimiter=","):
    """Read X, y and the x column names from a .npy or CSV file (chosen by the file's suffix)."""
    if os.path.isdir(path):
        raise DataFileError(f"{path}: is a directory, not a data file")
    if not os.path.exists(path):
        raise DataFileError(f"{path}: no such file")
    if str(path).endswith(".npy"):
        return read_npy(path, x_columns, y_column)
    return read_csv(path, x_columns, y_column, delimiter)
