"""`fastgd convert`: a CSV file to .npy files that `fit` memory-maps, in bounded memory.

Parsing text is far slower than fitting, so a large CSV is converted once. The file is read in
blocks of lines (`BLOCK_LINES`); each block is parsed by NumPy and appended to the output, so
memory stays at one block whatever the file's size. Errors name the file and line, as for
`fastgd fit FILE.csv`.

Layout. With two outputs, X.npy holds X as an (n, d) C-ordered float64 array and y.npy holds
y (n,): `fit` uses both memory-mapped, without a copy (`fastgd fit X.npy --y-file y.npy`). With
one output, the file is an (n, d + 1) table, X's columns then y, as `fastgd fit TABLE.npy`
reads (selecting X's columns from a table copies them into memory).

The .npy header is written last (the row count is known only at the end) into a fixed-size
space reserved at the start of the file.
"""

import itertools
import os

import numpy as np

from .datafiles import DataFileError, check_input, open_text, read_header

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


def convert_csv(path, x_out, y_out=None, x_columns=None, y_column=None, delimiter=","):
    """Convert the CSV file `path` to .npy (see the module doc); return (rows, x column names)."""
    check_input(path)
    for out in (x_out, y_out):
        if out is not None and not str(out).endswith(".npy"):
            raise DataFileError(f"{out}: output files must end in .npy")
    if y_out is not None and os.path.abspath(x_out) == os.path.abspath(y_out):
        raise DataFileError(f"{x_out}: X and y need two output files, not one")
    for out in (x_out, y_out):
        if out is not None and os.path.exists(out) and os.path.samefile(out, path):
            raise DataFileError(f"{out}: is the input file; writing it would destroy the data")
    with open_text(path) as handle:
        header = read_header(handle, path, delimiter)
        x_columns, y_column = header.choose_columns(x_columns, y_column)
        columns = [*x_columns, y_column]
        d = len(x_columns)
        if y_out is None:
            writers = [_NpyWriter(x_out, d + 1)]
        else:
            writers = [_NpyWriter(x_out, d), _NpyWriter(y_out, None)]
        try:
            # The first line is data unless it is the header.
            lines = itertools.chain([] if header.skip else [header.line], handle)
            line_number = header.skip + 1
            while True:
                block = list(itertools.islice(lines, BLOCK_LINES))
                if not block:
                    break
                table = header.read_lines(block, line_number, columns)
                if y_out is None:
                    writers[0].append(table)
                else:
                    writers[0].append(table[:, :d])
                    writers[1].append(table[:, d])
                line_number += len(block)
            if writers[0].rows == 0:
                raise DataFileError(f"{path}: has no data rows")
        except BaseException as error:
            for writer in writers:  # no half-written outputs
                writer.handle.close()
                os.remove(writer.path)
            if isinstance(error, UnicodeDecodeError):
                raise DataFileError(f"{path}: not a text (UTF-8) CSV file") from None
            raise
        for writer in writers:
            writer.close()
    rows = writers[0].rows
    labels = header.labels(x_columns)
    return rows, labels
