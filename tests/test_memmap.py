"""Memory-mapped input and `fastgd convert`: no copy, the same fit as in memory, bounded parsing."""

import io
import re
import tracemalloc

import numpy as np
import pytest

import fastgd
from fastgd import _validation, convert, moments
from fastgd.cli import main


def run(argv, capsys):
    out = io.StringIO()
    status = main(argv, out=out)
    return status, out.getvalue(), capsys.readouterr().err


@pytest.fixture
def saved(tmp_path, rng):
    X = rng.normal(size=(200_000, 3)) + 5.0
    y = X @ [1.0, -2.0, 0.5] + 3.0 + rng.normal(size=200_000)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    return tmp_path, X, y


@pytest.mark.parametrize("mode", ["np.load", "np.memmap"])
def test_memory_maps_are_used_without_a_copy(pass_path, saved, mode):
    path, X, y = saved
    if mode == "np.load":
        mX = np.load(path / "X.npy", mmap_mode="r")
        my = np.load(path / "y.npy", mmap_mode="r")
    else:  # a raw memmap of float32 data, opened read-only
        raw = path / "X32.bin"
        X.astype(np.float32).tofile(raw)
        y.astype(np.float32).tofile(path / "y32.bin")
        mX = np.memmap(raw, dtype=np.float32, mode="r", shape=X.shape)
        my = np.memmap(path / "y32.bin", dtype=np.float32, mode="r", shape=y.shape)
    checked_X, checked_y, _, _ = _validation.check_data(mX, my)
    assert np.shares_memory(checked_X, mX) and np.shares_memory(checked_y, my)

    fastgd.gradient_descent(
        mX, my, lr=0.01, n_iter=5
    )  # compile (the same call) outside the measurement
    tracemalloc.start()
    try:
        mapped = fastgd.gradient_descent(mX, my, lr=0.01, n_iter=5)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A copy of X or y would show here (100 % of y's bytes or more). NumPy's moments
    # (moments._numpy_moments) copy a block of rows at a time, NumPy's cast another: that much
    # scratch is allowed.
    scratch = 0 if pass_path == "kernel" else 2 * 8 * moments.NUMPY_BLOCK_VALUES
    assert peak < 0.05 * my.nbytes + scratch, peak

    # A read-only map runs another compiled variant of the kernels than an array in memory: the
    # same to the last bits, except where one was compiled in this process and the other loaded
    # from numba's cache (a few units in the last place, docs/determinism.md).
    in_memory = fastgd.gradient_descent(np.array(mX), np.array(my), lr=0.01, n_iter=5)
    np.testing.assert_allclose(mapped.loss_history, in_memory.loss_history, rtol=1e-12)
    np.testing.assert_allclose(mapped.coef, in_memory.coef, rtol=1e-12)


def test_convert_then_fit_the_mapped_files(tmp_path, rng, capsys, monkeypatch):
    X = rng.normal(size=(1000, 2))
    y = X @ [2.0, -1.0] + 0.5
    csv = tmp_path / "data.csv"
    with open(csv, "w") as handle:
        handle.write("u,v,target,unused\n")
        handle.writelines(f"{float(r[0])!r},{float(r[1])!r},{float(t)!r},7\n" for r, t in zip(X, y))
        handle.write("\n")  # a trailing blank line is not a row
    monkeypatch.setattr(convert, "BLOCK_LINES", 64)  # many blocks, and a partial last one
    status, output, err = run(
        ["convert", str(csv), str(tmp_path / "X.npy"), str(tmp_path / "y.npy"),
         "--x", "u,v", "--y", "target"], capsys,
    )  # fmt: skip
    assert status == 0 and err == "", err
    assert "wrote 1000 rows (2 x columns: u, v)" in output
    mX = np.load(tmp_path / "X.npy", mmap_mode="r")
    my = np.load(tmp_path / "y.npy", mmap_mode="r")
    assert mX.flags.c_contiguous and mX.dtype == np.float64
    assert mX.tolist() == X.tolist() and my.tolist() == y.tolist()  # repr round-trips exactly

    options = ["--lr", "0.1", "--iters", "50"]
    status, mapped, _ = run(["fit", str(tmp_path / "X.npy"), "--y-file", str(tmp_path / "y.npy"),
                             *options], capsys)  # fmt: skip
    assert status == 0
    status, parsed, _ = run(["fit", str(csv), "--x", "u,v", "--y", "target", *options], capsys)
    assert status == 0
    # The same fit, to the last bits where both kernels come from the same place: the mapped
    # file is read-only, so its kernels are another compiled variant, and where one was
    # compiled in this process and the other loaded from numba's cache they may differ by a
    # few units in the last place (docs/determinism.md).
    number = r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"
    for ours, theirs in zip(mapped.splitlines()[:2], parsed.splitlines()[:2]):
        assert re.sub(number, "#", ours) == re.sub(number, "#", theirs)
        values = [[float(v) for v in re.findall(number, line)] for line in (ours, theirs)]
        np.testing.assert_allclose(values[0], values[1], rtol=1e-12, atol=1e-300)

    # One output: an (n, d + 1) table that `fastgd fit TABLE.npy` reads.
    status, _, _ = run(["convert", str(csv), str(tmp_path / "t.npy"), "--x", "u,v", "--y",
                        "target"], capsys)  # fmt: skip
    assert status == 0
    assert np.load(tmp_path / "t.npy").tolist() == np.column_stack([X, y]).tolist()
    status, table, _ = run(["fit", str(tmp_path / "t.npy"), *options], capsys)
    assert status == 0 and table.splitlines()[:2] == parsed.splitlines()[:2]


@pytest.mark.parametrize(
    "content, message",
    [
        ("x,y\n" + "1,2\n" * 100 + "3,oops\n", r"data.csv:102: column 'y' is 'oops', not a number"),
        ("1,2\n" * 70 + "1,2,3\n", r"data.csv:71: expected 2 fields, found 3"),
        ("x,y\n", r"data.csv: has no data rows"),
        ("x,y\n\n\n", r"data.csv: has no data rows"),  # and no numpy warning on stderr
        ("", r"data.csv:1: the file is empty"),
    ],
)
def test_convert_errors_name_the_line_and_leave_no_output(tmp_path, capsys, monkeypatch,
                                                          content, message):  # fmt: skip
    monkeypatch.setattr(convert, "BLOCK_LINES", 16)
    (tmp_path / "data.csv").write_text(content)
    status, _, err = run(["convert", str(tmp_path / "data.csv"), str(tmp_path / "X.npy"),
                          str(tmp_path / "y.npy")], capsys)  # fmt: skip
    assert status == 2
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "X.npy").exists() and not (tmp_path / "y.npy").exists()


def test_convert_a_block_of_only_blank_lines(tmp_path, capsys, monkeypatch):
    # Blank lines are no rows, even a whole block of them (np.loadtxt warns of "no data" there:
    # the warning is no part of the output).
    monkeypatch.setattr(convert, "BLOCK_LINES", 4)
    (tmp_path / "data.csv").write_text("x,y\n1,2\n3,4\n" + "\n" * 9 + "5,6.5\n")
    status, output, err = run(["convert", str(tmp_path / "data.csv"), str(tmp_path / "X.npy"),
                               str(tmp_path / "y.npy")], capsys)  # fmt: skip
    assert (status, err) == (0, "")
    assert "wrote 3 rows (1 x column: x)" in output
    assert np.load(tmp_path / "X.npy").tolist() == [[1.0], [3.0], [5.0]]
    assert np.load(tmp_path / "y.npy").tolist() == [2.0, 4.0, 6.5]


def test_fit_y_file_errors(tmp_path, capsys):
    np.save(tmp_path / "X.npy", np.ones((5, 2)))
    status, _, err = run(["fit", str(tmp_path / "X.npy"), "--y-file", str(tmp_path / "no.npy")],
                         capsys)  # fmt: skip
    assert status == 2 and "no.npy: no such file" in err
    np.save(tmp_path / "y.npy", np.ones(4))
    status, _, err = run(["fit", str(tmp_path / "X.npy"), "--y-file", str(tmp_path / "y.npy")],
                         capsys)  # fmt: skip
    assert status == 2 and "same number of rows" in err
