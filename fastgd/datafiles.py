"""Reading data files for the command line: CSV (header or none) and .npy tables.

Errors are `DataFileError`s that name the file, and the line where one applies. The CSV helpers
(checking the path, opening the file, the delimiter, the header, parsing rows and naming the
first line that is not a row of numbers) serve `fastgd convert` too.
"""

import codecs
import csv
import itertools
import os
import warnings
from collections.abc import Callable

import numpy as np

from ._words import plural
from .errors import DataFileError

NOT_TEXT = (
    "{path}: not a text (UTF-8) CSV file; fastgd reads .csv (text), .npy, .parquet and "
    ".feather/.arrow files, by their suffix: name the file by what it holds"
)
# --delimiter's names; None is "runs of spaces and tabs", as np.loadtxt reads delimiter=None.
DELIMITER_NAMES = {
    "tab": "\t", "\t": "\t", "\\t": "\t", "\\\\t": "\t",
    "space": None, " ": None, "whitespace": None,
    "comma": ",", "semicolon": ";", "pipe": "|", "colon": ":",
}  # fmt: skip
# Characters that are part of numbers (or of lines) cannot separate fields.
_NOT_DELIMITERS = set("0123456789.+-eE#\"'\r\n")


def parse_delimiter(text):
    """The field separator that --delimiter TEXT names: one character or a name (see
    DELIMITER_NAMES); None for runs of whitespace."""
    if text in DELIMITER_NAMES:
        return DELIMITER_NAMES[text]
    if len(text) == 1 and text not in _NOT_DELIMITERS:
        return text
    raise ValueError(
        f"expected one character (such as , ; | :) or tab, space, comma, semicolon, pipe, "
        f"colon ('\\t' also means tab), got {text!r}"
    )


def delimiter_name(delimiter):
    """--delimiter's name for `delimiter`, one that needs no quoting in a shell."""
    names = {None: "space", "\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe", ":": "colon"}
    return names.get(delimiter, repr(delimiter))


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def split_fields(line, delimiter):
    """The fields of one line as np.loadtxt splits them (a '#' starts a comment; with a
    delimiter, a field in double quotes may hold it: "Smith, J")."""
    content = line.rstrip("\r\n").split("#", 1)[0]
    if delimiter is None or '"' not in content:
        return content.split(delimiter)
    return next(csv.reader([content], delimiter=delimiter), [""])


def is_row(line, delimiter):
    """Whether np.loadtxt reads `line` as a row: it skips empty lines and comments (and, with
    delimiter None, lines of whitespace); any other line must be a row of numbers."""
    content = line.rstrip("\r\n").split("#", 1)[0]
    return bool(content.strip() if delimiter is None else content)


def _delimiter_hint(line, delimiter):
    """' (try --delimiter tab)' when `line` holds another likely separator, else ''."""
    for candidate in (",", "\t", ";", "|", ":"):
        if candidate != delimiter and candidate in line:
            return f" (try --delimiter {delimiter_name(candidate)})"
    if delimiter is not None and len(line.split()) > 1:
        return " (try --delimiter space)"
    return ""


class Header:
    """What a CSV file's first line says: its number of columns and, if it is a header (not all
    numbers), the column names."""

    def __init__(self, path, line, delimiter):
        if not line.strip():
            raise DataFileError(f"{path}:1: the file is empty")
        self.path = path
        self.line = line
        self.delimiter = delimiter
        self.names = None
        fields = split_fields(line, delimiter)
        if not all(_is_number(field) for field in fields):
            # A header: its names may be quoted ("a","b"), which numbers never are.
            if delimiter is not None:
                fields = next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), [])
            self.names = [field.strip() for field in fields]
            if self.names and self.names[0].startswith("#"):  # np.savetxt's "# x,y" header
                self.names[0] = self.names[0].lstrip("#").strip()
        self.n_columns = len(fields)

    @property
    def skip(self):
        """Lines before the first row of data."""
        return int(self.names is not None)

    def column(self, index):
        """A column as messages name it: 'name' with a header, its 0-based number without."""
        return repr(self.names[index]) if self.names else str(index)

    def labels(self, columns):
        return [self.names[c] if self.names else f"x{c}" for c in columns]

    def choose_columns(self, x_spec, y_spec):
        """(x column indices, y column index) for --x and --y (None: every other, the last)."""
        if self.n_columns < 2:
            separator = {None: "spaces", "\t": "tabs"}.get(self.delimiter, repr(self.delimiter))
            raise DataFileError(
                f"{self.path}: needs at least two columns (x and y), found 1 splitting at "
                f"{separator}{_delimiter_hint(self.line, self.delimiter)}"
            )
        return choose_columns(x_spec, y_spec, self.names, self.n_columns, self.path)

    def bad_line(self, lines, first_line, columns=None):
        """The error for the first of `lines` (numbered from `first_line`) that np.loadtxt
        cannot read as a row of this file's fields with numbers in `columns` (None: all), or
        None."""
        for number, line in enumerate(lines, first_line):
            if not is_row(line, self.delimiter):
                continue
            if not line.strip():
                return DataFileError(
                    f"{self.path}:{number}: a line of only spaces; make it empty or remove it"
                )
            fields = split_fields(line, self.delimiter)
            if len(fields) != self.n_columns:
                return DataFileError(
                    f"{self.path}:{number}: expected {plural(self.n_columns, 'field')}, found "
                    f"{len(fields)}"
                )
            for column, field in enumerate(fields):
                if (columns is None or column in columns) and not _is_number(field.strip()):
                    return DataFileError(
                        f"{self.path}:{number}: column {self.column(column)} is "
                        f"{field.strip()!r}, not a number"
                    )
        return None

    def line_of_row(self, row):
        """The file's line number (from 1) of data row `row` (from 0), as np.loadtxt counts rows:
        blank and comment lines are no rows."""
        with open_text(self.path, errors="replace") as handle:
            lines = itertools.islice(enumerate(handle, 1), self.skip, None)
            numbers = (number for number, line in lines if is_row(line, self.delimiter))
            return next(itertools.islice(numbers, row, None))

    def _loadtxt(self, rows, columns, skip=0):
        """np.loadtxt of `rows` (a path or lines) as an (n, n_columns) float64 table in which
        only `columns` are parsed (the others are split off, so that ragged rows are still
        caught, and read as 0: an ID or a name column is never parsed); None where it cannot
        read them as rows of this file's columns."""
        skipped: dict[int | str, Callable[[str], float]] = {
            c: _unparsed for c in range(self.n_columns) if c not in columns
        }
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
                table = np.loadtxt(
                    rows, delimiter=self.delimiter, skiprows=skip, ndmin=2, dtype=np.float64,
                    encoding="utf-8-sig", converters=skipped or None,
                    quotechar=None if self.delimiter is None else '"',
                )  # fmt: skip
        except ValueError:
            return None
        if table.shape[0] and table.shape[1] != self.n_columns:
            return None
        return table.reshape(-1, self.n_columns)

    def read_table(self, columns):
        """The whole file's data rows as a float64 table of `columns` (every row split into all
        its fields, so that ragged rows are caught; only `columns` parsed); a DataFileError
        naming the first line that is not a row of numbers there."""
        table = _read_with_pyarrow(self, columns)
        if table is None:
            table = self._loadtxt(self.path, columns, skip=self.skip)
        if table is not None:
            return table[:, columns]
        with open_text(self.path, errors="replace") as handle:
            lines = itertools.islice(handle, self.skip, None)
            error = self.bad_line(lines, self.skip + 1, columns)
        raise error or DataFileError(f"{self.path}: could not be read as a table of numbers")

    def read_lines(self, lines, first_line, columns):
        """`lines` of the file (from line `first_line`) as a float64 table of `columns`, as
        `read_table`."""
        table = self._loadtxt(lines, columns)
        if table is not None:
            return table[:, columns]
        error = self.bad_line(lines, first_line, columns)
        raise error or DataFileError(
            f"{self.path}:{first_line}: could not be read as rows of numbers"
        )


def _unparsed(field):
    """np.loadtxt's converter for a column that was not selected: never parsed."""
    return 0.0


def _read_with_pyarrow(header, columns):
    """The fast path: pyarrow's multi-threaded CSV reader, when it is installed, for a file it
    reads exactly as np.loadtxt would (one-character delimiter, no comments, no missing
    values); None otherwise or on any doubt, and the NumPy path then reads the file (or names
    its first bad line)."""
    if header.delimiter is None:
        return None
    try:
        from pyarrow import csv as arrow_csv
    except ImportError:
        return None
    names = [f"c{c}" for c in range(header.n_columns)]
    try:
        arrays = arrow_csv.read_csv(
            header.path,
            read_options=arrow_csv.ReadOptions(column_names=names, skip_rows=header.skip),
            parse_options=arrow_csv.ParseOptions(delimiter=header.delimiter),
            convert_options=arrow_csv.ConvertOptions(
                include_columns=[names[c] for c in columns],
                column_types={names[c]: "float64" for c in columns},
            ),
        )
    except Exception:  # noqa: BLE001 - any failure: the NumPy path reads it or names the line
        return None
    if any(column.null_count for column in arrays.columns):
        return None  # an empty field: np.loadtxt's message names its line
    table = np.zeros((arrays.num_rows, header.n_columns))
    for c, column in zip(columns, arrays.columns):
        table[:, c] = column.to_numpy()
    return table


class Source:
    """Where the command line's X and y came from, to name one of their values in the file's
    terms: `where(row, j)`, j indexing X's columns then y.

    `columns` holds the file's column of each of X's columns, then y's (None when y comes from
    `y_path`); `header` is the CSV file's, None for .npy files.
    """

    def __init__(self, path, columns, y_path=None, header=None):
        self.path = path
        self.columns = columns
        self.y_path = y_path
        self.header = header

    def where(self, row, j):
        column = self.columns[j]
        if self.header is not None:
            line = self.header.line_of_row(row)
            return f"{self.path}:{line}: column {self.header.column(column)}"
        if column is None:
            return f"{self.y_path}: row {row} (from 0)"
        return f"{self.path}: row {row}, column {column} (from 0)"


def _row_blocks(X, y, block_rows):
    """(first row, float64 block of X's and y's columns side by side) over all rows."""
    if hasattr(X, "blocks"):  # streamed rows: their own blocks
        start = 0
        for block_X, block_y in zip(X.blocks(), y.blocks(), strict=True):
            yield start, np.column_stack([block_X, block_y]).astype(np.float64)
            start += block_X.shape[0]
        return
    X = X.reshape(X.shape[0], -1)
    for start in range(0, X.shape[0], block_rows):
        stop = start + block_rows
        yield start, np.column_stack([X[start:stop], y[start:stop]]).astype(np.float64)


def explain(X, y, source, block_rows=65_536):
    """After a fit failed, what in the data is to blame, as a DataFileError naming the file:
    the first NaN or inf of X and y, else the first value so large that the squares summed by
    gradient descent overflow; None when neither (the learning rate is then to blame).

    One pass over the data in blocks of rows (memory-mapped files are never loaded whole;
    streamed ones, fastgd/streamed.py, are read by their own blocks).
    """
    n = X.shape[0]
    floats = np.dtype(np.float32 if X.dtype in (np.float32, np.float16) else np.float64)
    limit = float(np.sqrt(np.finfo(floats).max / max(n, 1)))
    large = None
    for start, block in _row_blocks(X, y, block_rows):
        finite = np.isfinite(block)
        if not finite.all():
            row, j = np.unravel_index(int(np.argmin(finite)), finite.shape)
            return DataFileError(
                f"{source.where(start + int(row), int(j))} is {block[row, j]}: fastgd needs "
                "finite numbers; drop or fill that row"
            )
        over = np.abs(block) > limit
        if large is None and over.any():
            row, j = np.unravel_index(int(np.argmax(over)), over.shape)
            large = (start + int(row), int(j), block[row, j])
    if large is None:
        return None
    return DataFileError(
        f"{source.where(large[0], large[1])} is {large[2]:g}, too large: squares of values above "
        f"{limit:.2g} overflow {floats} when summed over {plural(n, 'row')}; scale the data (e.g. "
        "standardize the columns)"
    )


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
                f"{path}: column {index} does not exist; the file has "
                f"{plural(n_columns, 'column')} (0 to {n_columns - 1})"
            )
        indices.append(index % n_columns)
    return indices


def choose_columns(x_spec, y_spec, names, n_columns, path):
    """(x column indices, y column index) for --x and --y (None: every other, the last)."""
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


def check_input(path):
    """Refuse a data file that is a folder or does not exist, naming it."""
    if os.path.isdir(path):
        raise DataFileError(f"{path}: is a directory, not a data file")
    if not os.path.exists(path):
        raise DataFileError(f"{path}: no such file")


def open_text(path, errors="strict"):
    """A CSV file opened as np.loadtxt reads it: UTF-8 with or without a byte order mark (which
    is not part of the first field), line ends kept."""
    return open(path, newline="", encoding="utf-8-sig", errors=errors)


def read_header(handle, path, delimiter):
    """The `Header` of the CSV file `path` open as `handle` (see `open_text`), from the line it
    reads next: its first."""
    try:
        line = handle.readline()
    except UnicodeDecodeError:
        raise DataFileError(NOT_TEXT.format(path=path)) from None
    return Header(path, line, delimiter)


def read_first_line(path, delimiter):
    """The file's `Header`, from its first line."""
    with open_text(path) as handle:
        return read_header(handle, path, delimiter)


def read_csv(path, x_columns=None, y_column=None, delimiter=","):
    """Return (X (n, d) float64, y (n,), x column names, `Source`) from a CSV file."""
    header = read_first_line(path, delimiter)
    x_columns, y_column = header.choose_columns(x_columns, y_column)
    columns = [*x_columns, y_column]
    table = header.read_table(columns)
    if table.shape[0] == 0:
        raise DataFileError(f"{path}: has no data rows")
    source = Source(path, columns, header=header)
    if not np.isfinite(table).all():  # a pass over parsed numbers: cheap beside the parsing
        raise explain(table[:, :-1], table[:, -1], source)
    return table[:, : len(x_columns)], table[:, -1], header.labels(x_columns), source


_NPY_MAGIC = b"\x93NUMPY"
_KINDS = {
    "O": "Python objects", "U": "strings", "S": "bytes", "c": "complex numbers",
    "M": "datetimes", "m": "timedeltas", "V": "structured records",
}  # fmt: skip


def _not_npy(path, start):
    """What a file that does not begin with the .npy signature seems to be instead."""
    if not start:
        return "the file is empty"
    if start.startswith(b"PK"):
        return "a zip archive, as np.savez writes; extract its arrays with np.load first"
    if start.startswith(b"\x80"):
        return "a Python pickle; save the array with np.save"
    try:  # a multi-byte character may be cut at the end: decode incrementally
        text = codecs.getincrementaldecoder("utf-8")().decode(start)
    except UnicodeDecodeError:
        text = "\0"
    if not all(char.isprintable() or char in "\t\r\n" for char in text):
        return "it does not begin with the .npy signature"
    return "it holds text: a CSV file? name it .csv"


def _npy_header(path):
    """(shape, fortran order, dtype) from an .npy file's header; a DataFileError if it has none."""
    with open(path, "rb") as handle:
        start = handle.read(len(_NPY_MAGIC))
        if start != _NPY_MAGIC:
            start += handle.read(64)
            raise DataFileError(f"{path}: not a NumPy .npy array file ({_not_npy(path, start)})")
        handle.seek(0)
        try:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                return np.lib.format.read_array_header_1_0(handle)
            return np.lib.format.read_array_header_2_0(handle)
        except (ValueError, OSError) as error:
            raise DataFileError(
                f"{path}: not a NumPy .npy array file (a damaged header: {error})"
            ) from None


def open_npy(path):
    """An .npy file's array, memory-mapped read-only (fit uses it without a copy)."""
    check_input(path)
    shape, _, dtype = _npy_header(path)
    if dtype.hasobject:
        raise DataFileError(
            f"{path}: holds Python objects (a pickled object array), not numbers; fastgd reads "
            "numeric arrays only: save one with np.save(path, array.astype(float))"
        )
    if dtype.kind in _KINDS:
        raise DataFileError(
            f"{path}: holds {_KINDS[dtype.kind]} (dtype {dtype}), not real numbers; save a "
            "numeric array, e.g. np.save(path, array.astype(float))"
        )
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as error:
        size = os.path.getsize(path)
        if "mmap length is greater than file size" in str(error):
            problem = (
                f"truncated: its header describes shape {shape} of {dtype}, "
                f"{int(np.prod(shape)) * dtype.itemsize:,} bytes of data, but the whole file "
                f"is {size:,} bytes"
            )
        else:
            problem = str(error)
        raise DataFileError(f"{path}: not a NumPy .npy array file ({problem})") from None


def read_npy(path, x_columns=None, y_column=None):
    """Return (X, y, x column names, `Source`) from an (n, k) .npy table, memory-mapped: y is
    a view of it, X a copy of its x columns."""
    table = open_npy(path)
    if table.ndim != 2:
        raise DataFileError(
            f"{path}: expected a 2-D table of shape (n, columns), X's columns then y's, got "
            f"shape {table.shape} (for X and y in two files: fastgd fit X.npy --y-file y.npy)"
        )
    x_columns, y_column = choose_columns(x_columns, y_column, None, table.shape[1], path)
    if table.shape[0] == 0:
        raise DataFileError(f"{path}: has no rows")
    source = Source(path, [*x_columns, y_column])
    return table[:, x_columns], table[:, y_column], [f"x{c}" for c in x_columns], source


def read_npy_pair(x_path, y_path):
    """Return (X, y, `Source`) from separate .npy files, both memory-mapped: fit uses them
    without a copy."""
    X, y = open_npy(x_path), open_npy(y_path)
    if X.ndim not in (1, 2):
        raise DataFileError(
            f"{x_path}: X must have shape (n,) for one feature or (n, d), got shape {X.shape}"
        )
    if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
        raise DataFileError(f"{y_path}: y must have shape (n,) or (n, 1), got shape {y.shape}")
    if y.shape[0] != X.shape[0]:
        raise DataFileError(
            f"{y_path}: {plural(y.shape[0], 'row')} but {x_path} has {X.shape[0]}: X and y must "
            "have the same number of rows"
        )
    if X.shape[0] == 0:
        raise DataFileError(f"{x_path}: has no rows")
    if X.ndim == 2 and X.shape[1] == 0:
        raise DataFileError(f"{x_path}: has no columns (shape {X.shape}); X needs at least one")
    d = 1 if X.ndim == 1 else X.shape[1]
    return X, y, Source(x_path, [*range(d), None], y_path=y_path)


def read_table(path, x_columns=None, y_column=None, delimiter=","):
    """Read X, y, the x column names and their `Source` from a .npy or CSV file (chosen by the
    file's suffix; Parquet and Feather files: arrowfiles.read_arrow)."""
    check_input(path)
    if str(path).endswith(".npy"):
        return read_npy(path, x_columns, y_column)
    return read_csv(path, x_columns, y_column, delimiter)


def check_finite(X, source):
    """A DataFileError naming the first NaN or inf of X in its file's terms."""
    finite = np.isfinite(X)
    if not finite.all():
        row, j = np.unravel_index(int(np.argmin(finite)), finite.shape)
        raise DataFileError(
            f"{source.where(int(row), int(j))} is {X[row, j]}: fastgd needs finite numbers; drop "
            "or fill that row"
        )


def columns_by_name(path, wanted, names, needs):
    """The positions of the columns `wanted` among a file's column `names`; a DataFileError
    naming the missing ones and saying what `needs` them."""
    missing = [name for name in wanted if name not in names]
    if missing:
        raise DataFileError(
            f"{path}: no column named {', '.join(map(repr, missing))}; {needs} (the file has "
            f"{', '.join(names)})"
        )
    return [names.index(name) for name in wanted]


def read_columns(path, model, delimiter=",", model_path="the model"):
    """X of shape (n, d) for `model`'s d columns (a model_file.Model) from a CSV file (found by
    name in its header; by position where the model was fitted to a file without one) or an
    .npy file of X (its d columns, or the model's positions in a wider table); and its
    `Source`."""
    check_input(path)
    d = len(model.columns)
    needs = f"{model_path} needs {plural(d, 'column')}: {', '.join(model.columns)}"
    if str(path).endswith(".npy"):
        table = open_npy(path)
        table = table.reshape(-1, 1) if table.ndim == 1 else table
        if table.ndim == 2 and table.shape[1] == d:
            columns = list(range(d))
        elif table.ndim == 2 and not model.header and table.shape[1] > max(model.column_indices):
            columns = model.column_indices
        else:
            raise DataFileError(f"{path}: shape {table.shape}, but {needs} (an (n, {d}) array)")
        if table.shape[0] == 0:
            raise DataFileError(f"{path}: has no rows")
        X = np.asarray(table[:, columns], dtype=np.float64)
        check_finite(X, Source(path, columns))
        return X
    header = read_first_line(path, delimiter)
    if model.header:
        if header.names is None:
            raise DataFileError(
                f"{path}: has no header line, and {needs}, found by name: add a header line"
            )
        columns = columns_by_name(path, model.columns, header.names, needs)
    else:
        columns = model.column_indices
        if max(columns) >= header.n_columns:
            raise DataFileError(
                f"{path}: has {plural(header.n_columns, 'column')}, and {needs} (columns "
                f"{', '.join(map(str, columns))} of a file without a header)"
            )
    X = header.read_table(columns)
    if X.shape[0] == 0:
        raise DataFileError(f"{path}: has no data rows")
    check_finite(X, Source(path, columns, header=header))
    return X
