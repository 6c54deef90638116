"""`fastgd convert`: a CSV, Parquet or Feather file to .npy files that `fit` memory-maps (or to
a Parquet or Feather table), in bounded memory.

Parsing text is far slower than fitting, so a large CSV is converted once. The file is read in
blocks of lines (`BLOCK_LINES`; a Parquet or Feather file a row group or record batch at a
time); each block is parsed and appended to the output, so memory stays at one block whatever
the file's size. A Parquet or Feather output holds X's columns then y, float64, by name.
Errors name the file and line, as for `fastgd fit FILE.csv`.

Layout. With two outputs, X.npy holds X as an (n, d) C-ordered float64 array and y.npy holds
y (n,): `fit` uses both memory-mapped, without a copy (`fastgd fit X.npy --y-file y.npy`). With
one output, the file is an (n, d + 1) table, X's columns then y, as `fastgd fit TABLE.npy`
reads (selecting X's columns from a table copies them into memory).

The .npy header is written last (the row count is known only at the end) into a fixed-size
space reserved at the start of the file.
"""

import contextlib
import itertools
import os

import numpy as np

from .arrowfiles import ArrowFile, format_of, is_arrow
from .datafiles import (
    NOT_TEXT,
    DataFileError,
    check_input,
    choose_columns,
    open_text,
    read_header,
)

BLOCK_LINES = 65_536
_HEADER_BYTES = 128  # magic, version, length, dict and padding; a multiple of 64


def _npy_header(shape, dtype):
    """A version 1.0 .npy header of exactly _HEADER_BYTES bytes."""
    text = repr(
        {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
    )
    room = _HEADER_BYTES - 10  # magic (6) + version (2) + header length (2)
    text = text.ljust(room - 1) + "\n"
    if len(text) != room:  # pragma: no cover - shapes need > 90 characters
        raise ValueError(f"shape {shape} is too long for the reserved .npy header")
    return b"\x93NUMPY\x01\x00" + room.to_bytes(2, "little") + text.encode("latin1")


class _NpyWriter:
    """Appends rows to an .npy file whose header is filled in on close."""

    def __init__(self, path, n_columns):
        self.path = path
        self.n_columns = n_columns
        self.rows = 0
        self.handle = open(path, "wb")  # noqa: SIM115 - closed in close()
        self.handle.write(b"\0" * _HEADER_BYTES)

    def append(self, block):
        np.ascontiguousarray(block, dtype="<f8").tofile(self.handle)
        self.rows += block.shape[0]

    def close(self):
        shape = (self.rows,) if self.n_columns is None else (self.rows, self.n_columns)
        self.handle.seek(0)
        self.handle.write(_npy_header(shape, np.dtype("<f8")))
        self.handle.close()


class _ArrowWriter:
    """Appends rows to a Parquet file (one row group per block) or a Feather file (one record
    batch per block), X's columns then y, float64, named."""

    def __init__(self, path, names):
        import pyarrow as pa

        self.path = path
        self.rows = 0
        self.schema = pa.schema([(name, pa.float64()) for name in names])
        if format_of(path) == "Parquet":
            import pyarrow.parquet as parquet

            self.writer = parquet.ParquetWriter(path, self.schema)
        else:
            self.writer = pa.ipc.new_file(path, self.schema)
        self.handle = self  # closed (on an error, before the file is removed) as the others

    def append(self, block):
        import pyarrow as pa

        columns = [pa.array(block[:, j]) for j in range(block.shape[1])]
        self.writer.write(pa.record_batch(columns, schema=self.schema))
        self.rows += block.shape[0]

    def close(self):
        self.writer.close()


def _csv_blocks(path, x_columns, y_column, delimiter, files):
    """(x names, y name, blocks of (rows, d + 1) float64: X's columns then y) of a CSV file,
    read `BLOCK_LINES` lines at a time; the file is closed with `files` (an ExitStack)."""
    handle = files.enter_context(open_text(path))
    header = read_header(handle, path, delimiter)
    x_columns, y_column = header.choose_columns(x_columns, y_column)
    columns = [*x_columns, y_column]

    def blocks():
        # The first line is data unless it is the header.
        lines = itertools.chain([] if header.skip else [header.line], handle)
        line_number = header.skip + 1
        while True:
            try:
                block = list(itertools.islice(lines, BLOCK_LINES))
            except UnicodeDecodeError:
                raise DataFileError(NOT_TEXT.format(path=path)) from None
            if not block:
                break
            yield header.read_lines(block, line_number, columns)
            line_number += len(block)

    y_name = header.names[y_column] if header.names else "y"
    return header.labels(x_columns), y_name, blocks()


def _arrow_blocks(path, x_columns, y_column):
    """As `_csv_blocks`, for a Parquet or Feather file: a row group or record batch at a
    time."""
    file = ArrowFile(path)
    x_columns, y_column = choose_columns(x_columns, y_column, file.names, len(file.names), path)
    columns = [*x_columns, y_column]
    file.check_numeric(columns)
    blocks = (table for _, table in file.blocks(columns))
    return [file.names[c] for c in x_columns], file.names[y_column], blocks


def convert(path, x_out, y_out=None, x_columns=None, y_column=None, delimiter=","):
    """Convert the CSV, Parquet or Feather file `path` to .npy files or to one Parquet or
    Feather table (see the module doc); return (rows, x column names)."""
    check_input(path)
    table_out = is_arrow(x_out)
    if table_out and y_out is not None:
        raise DataFileError(
            f"{x_out} is one table of X's columns and y: drop {y_out} (or write X.npy y.npy)"
        )
    for out in (x_out, y_out):
        if out is not None and not (str(out).endswith(".npy") or (table_out and out == x_out)):
            raise DataFileError(
                f"{out}: output files must end in .npy (X.npy [y.npy]), or be one .parquet or "
                ".feather table"
            )
    if y_out is not None and os.path.abspath(x_out) == os.path.abspath(y_out):
        raise DataFileError(f"{x_out}: X and y need two output files, not one")
    for out in (x_out, y_out):
        if out is not None and os.path.exists(out) and os.path.samefile(out, path):
            raise DataFileError(f"{out}: is the input file; writing it would destroy the data")
    with contextlib.ExitStack() as files:
        if is_arrow(path):
            labels, y_name, blocks = _arrow_blocks(path, x_columns, y_column)
        else:
            labels, y_name, blocks = _csv_blocks(path, x_columns, y_column, delimiter, files)
        return _write(path, x_out, y_out, table_out, labels, y_name, blocks)


def _write(path, x_out, y_out, table_out, labels, y_name, blocks):
    """Write `blocks` to the outputs; return (rows, x column names)."""
    d = len(labels)
    writers: list[_NpyWriter | _ArrowWriter]
    if table_out:
        writers = [_ArrowWriter(x_out, [*labels, y_name])]
    elif y_out is None:
        writers = [_NpyWriter(x_out, d + 1)]
    else:
        writers = [_NpyWriter(x_out, d), _NpyWriter(y_out, None)]
    try:
        for table in blocks:
            if len(writers) == 1:
                writers[0].append(table)
            else:
                writers[0].append(table[:, :d])
                writers[1].append(table[:, d])
        if writers[0].rows == 0:
            raise DataFileError(f"{path}: has no data rows")
    except BaseException:
        for writer in writers:  # no half-written outputs
            writer.handle.close()
            os.remove(writer.path)
        raise
    for writer in writers:
        writer.close()
    return writers[0].rows, labels
