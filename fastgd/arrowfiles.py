"""Parquet and Feather (Arrow IPC) files for the command line, by pyarrow (the `arrow` extra).

Columnar files are read one row group (Parquet) or record batch (Feather) at a time, and only
the columns chosen: `blocks` yields them as float64 tables, so that `fastgd convert` streams a
file of any size, `read_arrow` fills X and y without a second copy (its peak memory is X and y
plus one row group), and `stream_arrow` gives X and y as streamed rows (fastgd/streamed.py),
which a gram fit reads in one pass holding one row group at a time. Errors name the file, the
column and the row.
"""

import os

import numpy as np

from ._validation import RowBlocks
from ._words import plural
from .datafiles import (
    Source,
    check_finite,
    check_input,
    choose_columns,
    columns_by_name,
    explain,
)
from .errors import DataFileError

# The suffixes datafiles.is_arrow sends here.
FORMATS = {".parquet": "Parquet", ".pq": "Parquet", ".feather": "Feather", ".arrow": "Arrow IPC"}

ARROW_MISSING = (
    "{what} files need pyarrow, which is not installed: python3 -m pip install pyarrow (or "
    'python3 -m pip install -e ".[arrow]" in a checkout of fastgd)'
)


def is_arrow(path):
    """Whether `path` names a Parquet or Feather file, by its suffix."""
    return format_of(path) is not None


def format_of(path):
    """ "Parquet", "Feather" or "Arrow IPC" by the file's suffix; None for other files."""
    return FORMATS.get(os.path.splitext(str(path))[1].lower())


def _pyarrow(path):
    try:
        import pyarrow
    except ImportError:
        raise ImportError(ARROW_MISSING.format(what=format_of(path))) from None
    return pyarrow


class ArrowFile:
    """An open Parquet or Feather file: its column names, rows, and blocks of rows."""

    def __init__(self, path):
        check_input(path)
        self.path = path
        pyarrow = _pyarrow(path)
        try:
            if format_of(path) == "Parquet":
                import pyarrow.parquet as parquet

                self.parquet = parquet.ParquetFile(path, memory_map=False)
                self.schema = self.parquet.schema_arrow
                self.rows = self.parquet.metadata.num_rows
                self.n_blocks = self.parquet.num_row_groups
            else:
                import pyarrow.ipc as ipc

                self.parquet = None
                self.reader = ipc.open_file(pyarrow.memory_map(str(path)))
                self.schema = self.reader.schema
                self.n_blocks = self.reader.num_record_batches
                self.rows = sum(self.reader.get_batch(i).num_rows for i in range(self.n_blocks))
        except (pyarrow.ArrowInvalid, OSError) as error:
            raise DataFileError(
                f"{path}: not a {format_of(path)} file ({str(error).splitlines()[0]})"
            ) from None
        self.names = list(self.schema.names)

    def check_numeric(self, columns):
        """A DataFileError for the first of `columns` that does not hold numbers."""
        import pyarrow.types as types

        for c in columns:
            kind = self.schema.field(c).type
            if not (types.is_integer(kind) or types.is_floating(kind) or types.is_boolean(kind)):
                raise DataFileError(
                    f"{self.path}: column {self.names[c]!r} holds {kind}, not numbers; choose "
                    f"numeric columns with --x and --y (the file has {', '.join(self.names)})"
                )

    def dtype(self, columns):
        """float32 where every chosen column is float32 (the float32 kernels then run on it,
        in half the memory), else float64."""
        import pyarrow as pa

        single = all(self.schema.field(c).type == pa.float32() for c in columns)
        return np.dtype(np.float32 if single else np.float64)

    def blocks(self, columns, dtype=np.float64):
        """(first row, table) for each row group or record batch: `columns` as a (rows, len)
        array of `dtype`. A missing value is a DataFileError naming its row and column."""
        names = [self.names[c] for c in columns]
        first = 0
        for i in range(self.n_blocks):
            if self.parquet is not None:
                batch = self.parquet.read_row_group(i, columns=names)
            else:
                batch = self.reader.get_batch(i).select(names)
            table = np.empty((batch.num_rows, len(columns)), dtype=dtype)
            for j, column in enumerate(batch.columns):
                if column.null_count:
                    row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
                    raise DataFileError(
                        f"{self.path}: row {first + row} (from 0), column {names[j]!r} is "
                        "missing (null): fastgd needs a number in every row; drop or fill it"
                    )
                table[:, j] = column.to_numpy(zero_copy_only=False)
            yield first, table
            first += batch.num_rows


class ArrowSource(Source):
    """A value of X or y in a Parquet or Feather file's terms: its row and column name."""

    def __init__(self, path, columns, names):
        super().__init__(path, columns)
        self.names = names

    def where(self, row, j):
        return f"{self.path}: row {row} (from 0), column {self.names[self.columns[j]]!r}"


# X and y larger than this are written to memory-mapped .npy files in a temporary folder rather
# than held in memory (for the loop, which reads every row at every step): the operating system
# then keeps in memory what fits and pages the rest, as for `fastgd fit X.npy`.
SPILL_BYTES = 1 << 30


def _spill_folder():
    """A temporary folder for the memory-mapped X and y, removed when the process ends."""
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="fastgd-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _array(shape, dtype, spill, name):
    if not spill:
        return np.empty(shape, dtype=dtype)
    path = os.path.join(spill, name)
    try:
        return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    except OSError as error:
        raise DataFileError(
            f"cannot write {name} ({np.prod(shape) * np.dtype(dtype).itemsize / 1e9:.2g} GB) "
            f"to {spill} ({error.strerror}): set TMPDIR to a folder with room, or fit with "
            "--method gram, which streams the file"
        ) from None


def _open_chosen(path, x_spec, y_spec):
    """(the open file, X's columns, y's, all of them, their dtype): --x and --y by name or
    0-based number (default: y the last column, X the others), checked to hold numbers."""
    file = ArrowFile(path)
    x_columns, y_column = choose_columns(x_spec, y_spec, file.names, len(file.names), path)
    columns = [*x_columns, y_column]
    file.check_numeric(columns)
    if file.rows == 0:
        raise DataFileError(f"{path}: has no rows")
    return file, x_columns, y_column, columns, file.dtype(columns)


def read_arrow(path, x_spec=None, y_spec=None):
    """(X, y, x column names, `Source`) from a Parquet or Feather file (`_open_chosen`'s
    columns). Beyond SPILL_BYTES, X and y are memory-mapped .npy files in a temporary
    folder."""
    file, x_columns, _, columns, dtype = _open_chosen(path, x_spec, y_spec)
    d = len(x_columns)
    spill = _spill_folder() if file.rows * (d + 1) * dtype.itemsize > SPILL_BYTES else None
    X = _array((file.rows, d), dtype, spill, "X.npy")
    y = _array((file.rows,), dtype, spill, "y.npy")
    for first, table in file.blocks(columns, dtype):
        X[first : first + len(table)] = table[:, :d]
        y[first : first + len(table)] = table[:, d]
    source = ArrowSource(path, columns, file.names)
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        raise explain(X, y, source)  # the first NaN or inf, by row and column
    return X, y, [file.names[c] for c in x_columns], source


class ArrowColumns(RowBlocks):
    """Columns of a Parquet or Feather file as streamed rows (fastgd/streamed.py): X (n, d), or
    with `vector` y (n,), read a row group at a time whenever a pass needs them."""

    def __init__(self, file, columns, dtype, vector=False):
        self.file = file
        self.columns = columns
        self.dtype = np.dtype(dtype)
        self.shape = (file.rows,) if vector else (file.rows, len(columns))

    def blocks(self):
        for _, table in self.file.blocks(self.columns, self.dtype):
            yield table[:, 0] if len(self.shape) == 1 else table


def stream_arrow(path, x_spec=None, y_spec=None):
    """`read_arrow`'s (X, y, names, `Source`), with X and y streamed (`ArrowColumns`): nothing
    is read until a fit's pass, which holds one row group at a time."""
    file, x_columns, y_column, columns, dtype = _open_chosen(path, x_spec, y_spec)
    X = ArrowColumns(file, x_columns, dtype)
    y = ArrowColumns(file, [y_column], dtype, vector=True)
    return X, y, [file.names[c] for c in x_columns], ArrowSource(path, columns, file.names)


def read_arrow_columns(path, model, model_path):
    """X (n, d) float64: a model's d columns (model_file.Model), by name, from a Parquet or
    Feather file, for `fastgd predict`."""
    names = model.columns
    needs = f"{model_path} needs {plural(len(names), 'column')}: {', '.join(names)}"
    file = ArrowFile(path)
    columns = columns_by_name(path, names, file.names, needs)
    file.check_numeric(columns)
    if file.rows == 0:
        raise DataFileError(f"{path}: has no rows")
    X = np.concatenate([table for _, table in file.blocks(columns)])
    check_finite(X, ArrowSource(path, columns, file.names))
    return X
