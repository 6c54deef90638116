"""Parquet and Feather files on the command line (fastgd/arrowfiles.py): fit, predict and
convert read them by column name, a row group at a time; errors name the file, row and column."""

import io
import json
import re
import sys

import naive
import numpy as np
import pytest

from fastgd.cli import main

pa = pytest.importorskip("pyarrow", reason="the arrow extra (in the README's test command)")
parquet = pytest.importorskip("pyarrow.parquet")
feather = pytest.importorskip("pyarrow.feather")

SUFFIXES = [".parquet", ".feather"]


def run(argv, capsys):
    out = io.StringIO()
    status = main(argv, out=out)
    return status, out.getvalue(), capsys.readouterr().err


def write(path, table, rows_per_block=70):
    if str(path).endswith(".parquet"):
        parquet.write_table(table, path, row_group_size=rows_per_block)
    else:
        feather.write_feather(table, path, chunksize=rows_per_block)


@pytest.fixture
def data(rng):
    X = rng.normal(size=(250, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -1.0]
    y = X @ [1.5, -0.2, 4.0] + 3.0 + rng.normal(0, 0.1, 250)
    names = [f"id{i}" for i in range(250)]
    table = pa.table({"id": names, "a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "target": y})
    return table, X, y


def coefficients(output):
    rows = dict(line.split()[:2] for line in output.splitlines()[-5:-1] if "±" in line)
    return float(rows["intercept"]), [float(rows[name]) for name in ("a", "b", "c")]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_fit_and_predict_by_column_name(tmp_path, capsys, data, suffix):
    table, X, y = data
    path = tmp_path / f"data{suffix}"
    write(path, table)  # four row groups (record batches)
    model = tmp_path / "model.json"
    argv = ["fit", str(path), "--x", "a,b,c", "--y", "target", "--save", str(model)]
    status, output, err = run(argv, capsys)
    assert status == 0, err
    b, w = naive.least_squares(X, y)
    saved = json.loads(model.read_text())
    assert saved["intercept"] == pytest.approx(b, rel=1e-9)
    assert saved["coef"] == pytest.approx(w, rel=1e-9)
    assert "converged: yes" in output and "250 points" in output
    status, output, err = run(["predict", str(model), str(path)], capsys)
    assert status == 0, err
    predicted = np.array(output.split()[1:], dtype=float)
    assert predicted == pytest.approx(saved["intercept"] + X @ saved["coef"], rel=1e-12)


def test_float32_columns_stay_float32(tmp_path, capsys, data):
    table, X, y = data
    table = pa.table({"a": X[:, 0].astype(np.float32), "y": y.astype(np.float32)})
    path = tmp_path / "data.parquet"
    write(path, table)
    from fastgd.arrowfiles import read_arrow

    X32, y32, labels, _ = read_arrow(str(path))
    assert X32.dtype == np.float32 and y32.dtype == np.float32 and labels == ["a"]
    assert np.array_equal(X32[:, 0], X[:, 0].astype(np.float32))
    status, _, err = run(["fit", str(path), "--plain", "--iters", "3"], capsys)
    assert status == 0, err


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_convert_round_trips(tmp_path, capsys, data, suffix):
    table, X, y = data
    path = tmp_path / f"data{suffix}"
    write(path, table)
    outputs = [str(tmp_path / "X.npy"), str(tmp_path / "y.npy")]
    status, output, err = run(["convert", str(path), *outputs, "--x", "a,c"], capsys)
    assert status == 0 and "wrote 250 rows (2 x columns: a, c)" in output, err
    assert np.array_equal(np.load(outputs[0]), X[:, [0, 2]])
    assert np.array_equal(np.load(outputs[1]), y)
    # To a table and back: the names and every bit kept.
    back = tmp_path / f"back{suffix}"
    csv = tmp_path / "data.csv"
    np.savetxt(csv, np.column_stack([X, y]), delimiter=",", header="a,b,c,target", comments="",
               fmt="%.17g")  # fmt: skip
    status, output, err = run(["convert", str(csv), str(back)], capsys)
    assert status == 0, err
    converted = (parquet.read_table if suffix == ".parquet" else feather.read_table)(back)
    assert converted.schema.names == ["a", "b", "c", "target"]
    assert np.array_equal(np.column_stack([c.to_numpy() for c in converted.columns]),
                          np.column_stack([X, y]))  # fmt: skip


@pytest.mark.parametrize(
    "change, argv, message",
    [
        ("null", ["--x", "a,b"], r"data\.parquet: row 3 \(from 0\), column 'a' is missing "
                                 r"\(null\)"),
        ("nan", ["--x", "a,b"], r"data\.parquet: row 3 \(from 0\), column 'a' is nan: fastgd "
                                r"needs finite numbers"),
        (None, [], r"data\.parquet: column 'id' holds string, not numbers; choose numeric "
                   r"columns with --x and --y \(the file has id, a, b, c, target\)"),
        (None, ["--x", "z"], r"data\.parquet: no column named 'z'; columns are id, a, b, c"),
        ("text", [], r"data\.parquet: not a Parquet file"),
        ("empty", ["--x", "a"], r"data\.parquet: has no rows"),
    ],
)  # fmt: skip
def test_errors_name_the_file_the_row_and_the_column(tmp_path, capsys, data, change, argv,
                                                     message):  # fmt: skip
    table, X, _ = data
    path = tmp_path / "data.parquet"
    if change in ("null", "nan"):
        a = X[:, 0].tolist()
        a[3] = None if change == "null" else float("nan")
        table = table.set_column(1, "a", pa.array(a, pa.float64()))
    if change == "empty":
        table = table.slice(0, 0)
    write(path, table)
    if change == "text":
        path.write_text("a,b\n1,2\n")
    status, output, err = run(["fit", str(path), *argv], capsys)
    assert (status, output) == (2, "") and err.count("\n") == 1, err
    assert re.search(message, err), err


def test_without_pyarrow_the_message_says_how_to_install_it(tmp_path, capsys, monkeypatch, data):
    path = tmp_path / "data.feather"
    write(path, data[0])
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    status, _, err = run(["fit", str(path)], capsys)
    assert status == 2
    assert err == (
        "fastgd: error: Feather files need pyarrow, which is not installed: python3 -m pip "
        'install pyarrow (or python3 -m pip install -e ".[arrow]" in a checkout of fastgd)\n'
    )


def test_convert_to_a_table_takes_one_output(tmp_path, capsys, data):
    path = tmp_path / "data.parquet"
    write(path, data[0])
    argv = ["convert", str(path), str(tmp_path / "t.parquet"), str(tmp_path / "y.npy")]
    status, _, err = run(argv, capsys)
    assert status == 2 and "t.parquet is one table of X's columns and y: drop" in err
    assert not (tmp_path / "t.parquet").exists()


# Streamed rows (fastgd/streamed.py): a gram fit of a Parquet or Feather file reads it once, one
# row group at a time, and never holds X.
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_streamed_fit_is_the_in_memory_fit(tmp_path, data, suffix):
    import fastgd
    from fastgd.arrowfiles import read_arrow, stream_arrow

    table, X, y = data
    path = tmp_path / f"data{suffix}"
    write(path, table, rows_per_block=40)  # 7 blocks, the last one short
    X_stream, y_stream, names, _ = stream_arrow(str(path), "a,b,c", "target")
    assert X_stream.shape == (250, 3) and y_stream.shape == (250,) and names == ["a", "b", "c"]
    streamed = fastgd.fit(X_stream, y_stream, threads=2)
    in_memory = fastgd.fit(*read_arrow(str(path), "a,b,c", "target")[:2], method="gram")
    assert streamed.method == "gram" and streamed.converged
    assert streamed.coef == pytest.approx(in_memory.coef, rel=1e-12)
    assert streamed.intercept == pytest.approx(in_memory.intercept, rel=1e-12)
    b, w = naive.least_squares(X, y)
    assert streamed.coef == pytest.approx(w, rel=1e-9) and streamed.intercept == pytest.approx(b)
    again = fastgd.fit(X_stream, y_stream, threads=2)  # a new pass over the file, the same bits
    assert np.array_equal(again.coef, streamed.coef)


def test_a_streamed_fit_holds_one_row_group(tmp_path, rng):
    import tracemalloc

    import fastgd
    from fastgd.arrowfiles import stream_arrow

    X = rng.normal(size=(100_000, 8))
    y = X @ np.arange(1.0, 9.0) + rng.normal(size=100_000)
    path = tmp_path / "big.parquet"
    table = pa.table({**{f"x{j}": X[:, j] for j in range(8)}, "y": y})
    write(path, table, rows_per_block=5_000)  # X: 6.4 MB; a row group: 0.36 MB
    X_stream, y_stream, _, _ = stream_arrow(str(path))
    fastgd.fit(X_stream, y_stream)  # compiled and cached first: not part of the peak
    tracemalloc.start()
    result = fastgd.fit(X_stream, y_stream)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.converged
    assert peak < X.nbytes / 4, f"peak {peak / 1e6:.1f} MB of NumPy arrays, X is 6.4 MB"


def test_streamed_rows_refuse_what_needs_them_in_memory(tmp_path, data):
    import fastgd
    from fastgd.arrowfiles import stream_arrow
    from fastgd.errors import DeviceError

    table, X, y = data
    path = tmp_path / "data.parquet"
    write(path, table)
    X_stream, y_stream, _, _ = stream_arrow(str(path), "a,b,c", "target")
    loop = r"method='gram' only: the loop \(which the Huber loss needs\) would read the whole "
    with pytest.raises(ValueError, match=loop + r"file at every step; .*fastgd convert"):
        fastgd.fit(X_stream, y_stream, method="loop")
    with pytest.raises(ValueError, match=loop):
        fastgd.fit(X_stream, y_stream, loss="huber")
    with pytest.raises(ValueError, match=r"sample_weight is not supported with streamed rows"):
        fastgd.fit(X_stream, y_stream, sample_weight=np.ones(250))
    with pytest.raises(DeviceError, match=r"device='cuda' is not available for streamed rows"):
        fastgd.fit(X_stream, y_stream, device="cuda")
    with pytest.raises(TypeError, match=r"streamed X needs a streamed y"):
        fastgd.fit(X_stream, y)
    other, _, _, _ = stream_arrow(str(path), "a", "target")
    with pytest.raises(ValueError, match=r"streamed X must be \(n_samples, n_features\) and y"):
        fastgd.fit(X_stream, other)
    # A NaN met in the one pass: named by its row, in the library's terms (the command line's
    # names its column: test_errors_name_the_file_the_row_and_the_column).
    a = X[:, 0].copy()
    a[100] = np.nan
    write(path, table.set_column(1, "a", pa.array(a)))
    X_stream, y_stream, _, _ = stream_arrow(str(path), "a,b,c", "target")
    with pytest.raises(ValueError, match=r"X\[100, 0\] is nan: X must be finite"):
        fastgd.fit(X_stream, y_stream)


def test_a_large_file_for_the_loop_is_memory_mapped(tmp_path, capsys, data, monkeypatch):
    import fastgd.arrowfiles as arrowfiles

    table, X, y = data
    path = tmp_path / "data.parquet"
    write(path, table)
    monkeypatch.setattr(arrowfiles, "SPILL_BYTES", 0)  # every file is "large"
    X_read, y_read, _, _ = arrowfiles.read_arrow(str(path), "a,b,c", "target")
    assert isinstance(X_read, np.memmap) and isinstance(y_read, np.memmap)
    assert np.array_equal(X_read, X) and np.array_equal(y_read, y)
    status, output, err = run(["fit", str(path), "--x", "a,b,c", "--method", "loop"], capsys)
    assert status == 0 and "converged: yes" in output, err
    rows = dict(line.split()[:2] for line in output.splitlines() if "±" in line)
    b, w = naive.least_squares(X, y)
    assert float(rows["intercept"]) == pytest.approx(b, rel=1e-9)
    assert [float(rows[name]) for name in "abc"] == pytest.approx(w, rel=1e-9)
