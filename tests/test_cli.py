"""The command line: output in the lecture's format and one-line errors with exit status 2."""

import io
import json
import os
import re
import subprocess
import sys

import naive
import numpy as np
import pytest

from fastgd import datafiles, datasets
from fastgd.cli import main
from fastgd.errors import DeviceError

NUMBER = r"(-?[\d.e+-]+)"


@pytest.fixture(params=["pyarrow", "numpy"])
def csv_reader(request, monkeypatch):
    """CSV files read by each reader: pyarrow's (the fast path, installed with the test extra)
    and NumPy's (without pyarrow, and where pyarrow cannot tell what is wrong)."""
    if request.param == "numpy":
        monkeypatch.setattr(datafiles, "_read_with_pyarrow", lambda header, columns: None)
    return request.param


def run(argv, capsys):
    out = io.StringIO()
    status = main(argv, out=out)
    return status, out.getvalue(), capsys.readouterr().err


def parse(output):
    start = re.search(
        rf"Starting gradient descent at b = {NUMBER}, m = {NUMBER}, error = {NUMBER}", output
    )
    end = re.search(rf"After (\d+) iterations b = {NUMBER}, m = {NUMBER}, error = {NUMBER}", output)
    assert start and end, output
    return [float(v) for v in start.groups()], [float(v) for v in end.groups()]


def parse_fit(output):
    """(iterations, b, [m...], error) from the line "After N iterations b = .., m = .., ..."."""
    end = re.search(r"After (\d+) iterations? b = (\S+), m = \[?([^]\s]+(?:, [^]\s]+)*)\]?, "
                    r"error = (\S+)\n", output)  # fmt: skip
    assert end, output
    n_iter, b, m, error = end.groups()
    return int(n_iter), float(b), [float(v) for v in m.split(", ")], float(error)


def assert_fit_is_the_reference(output, X, y, lr, n_iter):
    """The printed result is the slow reference's for the same data, lr and iterations."""
    b, w, history = naive.gradient_descent(X, y, lr, n_iter)
    printed_n_iter, printed_b, printed_m, printed_error = parse_fit(output)
    assert printed_n_iter == n_iter
    assert printed_b == pytest.approx(b, rel=1e-10, abs=1e-12)
    assert printed_m == pytest.approx(w, rel=1e-10, abs=1e-12)
    assert printed_error == pytest.approx(history[-1], rel=1e-10)


def test_fit_prints_the_lecture_numbers(lecture_points, capsys, tmp_path):
    path = tmp_path / "lecture.csv"
    np.savetxt(path, lecture_points, delimiter=",", fmt="%.17g")
    status, output, err = run(
        ["fit", str(path), "--plain", "--lr", "0.0001", "--iters", "1000"], capsys
    )
    assert status == 0 and err == ""
    assert output.startswith("Starting gradient descent at b = 0, m = 0, error = ")
    start, end = parse(output)
    assert start[2] == pytest.approx(5565.107834483211, rel=1e-12)
    assert end[0] == 1000
    assert end[1:] == pytest.approx(
        [0.08893651993741346, 1.4777440851894448, 112.61481011613473], rel=1e-12
    )


def test_demo_runs_the_lecture_experiment(capsys):
    status, output, _ = run(["demo"], capsys)
    assert status == 0
    start, end = parse(output)
    x, y = datasets.lecture_like(100)
    assert start[2] == pytest.approx(np.mean(y**2), rel=1e-12)
    assert end[0] == 1000 and end[3] < start[2] / 10
    assert "device: cpu" in output and "lr 0.0001;" in output and "; 100 points, " in output
    assert_fit_is_the_reference(output, x.reshape(-1, 1), y, 1e-4, 1000)


def test_datasets_are_deterministic():
    first = datasets.lecture_like(50, seed=3)
    second = datasets.lecture_like(50, seed=3)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[1], datasets.lecture_like(50, seed=4)[1])


def test_csv_with_header_and_chosen_columns(tmp_path, capsys):
    x, y = datasets.lecture_like(40)
    path = tmp_path / "data.csv"
    path.write_text(
        "id,a,b,target\n"
        + "".join(f"{i},{u},{i * 7 % 11},{v}\n" for i, (u, v) in enumerate(zip(x, y)))
    )
    status, output, _ = run(
        [
            "fit",
            str(path),
            "--x",
            "a,b",
            "--y",
            "target",
            "--iters",
            "10",
            "--plain",
            "--lr",
            "1e-5",
        ],
        capsys,
    )
    assert status == 0
    assert re.search(r"m = \[0, 0\]", output) and re.search(
        r"After 10 iterations b = \S+, m = \[\S+, \S+\]", output
    )
    assert_fit_is_the_reference(output, np.column_stack([x, np.arange(40) * 7 % 11]), y, 1e-5, 10)
    status, output_by_number, _ = run(
        ["fit", str(path), "--x", "1,2", "--y", "3", "--iters", "10", "--plain", "--lr", "1e-5"],
        capsys,
    )
    assert output_by_number.splitlines()[:2] == output.splitlines()[:2]


def test_npy_table(tmp_path, capsys):
    x, y = datasets.lecture_like(30)
    path = tmp_path / "data.npy"
    np.save(path, np.column_stack([x, y]))
    status, output, _ = run(
        [
            "fit",
            str(path),
            "--iters",
            "5",
            "--device",
            "cpu",
            "--threads",
            "1",
            "--plain",
            "--lr",
            "1e-4",
        ],
        capsys,
    )
    assert status == 0 and "After 5 iterations" in output
    assert_fit_is_the_reference(output, x.reshape(-1, 1), y, 1e-4, 5)


@pytest.mark.parametrize(
    "content, argv, message",
    [
        (None, ["--iters", "3"], r"missing\.csv: no such file"),
        ("1,2\n3,x\n", [], r"data\.csv:2: column 1 is 'x', not a number"),
        ("1,2\n3,4,5\n", [], r"data\.csv:2: expected 2 fields, found 3"),
        ("id,a,y\nA1,2,3\nA2,3,4,5\n", ["--x", "a"], r"data\.csv:3: expected 3 fields, found 4"),
        ("id,a,y\nA1,2,3\nA2,3\n", ["--x", "a"], r"data\.csv:3: expected 3 fields, found 2"),
        ("id,a,y\nA1,2,3\nA2,,4\n", ["--x", "a"], r"data\.csv:3: column 'a' is '', not a"),
        ("", [], r"data\.csv:1: the file is empty"),
        ("a,b\n", [], r"data\.csv: has no data rows"),
        ("1,2\n3,4\n", ["--x", "7"], r"column 7 does not exist"),
        ("a,b\n1,2\n", ["--x", "c"], r"no column named 'c'; columns are a, b"),
        ("1\n2\n", [], r"needs at least two columns"),
        ("1,2\n3,4\n", ["--lr", "-1"], r"lr must be > 0"),
        ("1,2\n3,4\n", ["--lr", "fast"], r"argument --lr: expected a number or 'auto', got 'fast'"),
        ("1,2\n3,4\n", ["--method", "fast"], r"argument --method: invalid choice"),
        ("1,2\n3,4\n", ["--tol", "-1"], r"argument --tol: expected a number >= 0 or 'none'"),
        ("1,2\n3,4\n", ["--iters", "-2"], r"argument --iters"),
        ("1,2\n3,4\n", ["--w0", "1,2"], r"w0 must have one value per feature"),
        ("1,2\n3,4\n", ["--device", "tpu"], r"argument --device: invalid choice"),
        ("1,2\n3,4\n", ["--threads", "0"], r"threads must be >= 1"),
        ("1,2\n3,4\n", ["--loss", "logistic"], r"y\[0\] = 2, but logistic regression needs y"),
        ("1,-2\n3,4\n", ["--loss", "poisson"], r"y\[0\] = -2, but the Poisson distribution"),
        ("1,0\n3,4\n", ["--loss", "gamma"], r"y\[0\] = 0, but the Gamma distribution needs"),
        ("1,0\n3,1\n", ["--loss", "logistic", "--lr", "0.1"], r"--lr: not for --loss logistic"),
        ("1,0\n3,1\n", ["--loss", "logistic", "--alpha", "1"], r"--alpha is the penalty's"),
        ("1,0\n3,1\n", ["--loss", "poisson", "--l1-ratio", ".5"], r"--l1-ratio is the elastic"),
        (
            "1,0\n3,1\n",
            ["--loss", "poisson", "--penalty", "l1", "--cv", "3"],
            r"--cv: not for --loss poisson",
        ),
        ("1,0\n3,1\n", ["--loss", "logistic", "--power", "2"], r"--power is Tweedie's"),
        ("1,0\n3,1\n", ["--power", "2"], r"--power is Tweedie's: add --loss tweedie"),
        ("1,1\n3,1\n", ["--loss", "tweedie", "--power", "0.5"], r"power=0.5: no Tweedie"),
        ("1,0\nnan,1\n", ["--loss", "logistic"], r"data.csv:2: column 0 is nan"),
    ],
)
def test_errors_are_one_line_with_status_2(csv_reader, tmp_path, capsys, content, argv, message):
    path = tmp_path / ("missing.csv" if content is None else "data.csv")
    if content is not None:
        path.write_text(content)
    with pytest.raises(SystemExit) if "argument" in message else _no_exit() as exit_info:
        status, _, err = run(["fit", str(path), *argv], capsys)
    if exit_info is not None and hasattr(exit_info, "value"):
        status, err = exit_info.value.code, capsys.readouterr().err
    assert status == 2
    assert re.search(message, err), err
    assert err.count("\n") == 1 and "Traceback" not in err


class _no_exit:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def test_divergence_exits_1(tmp_path, capsys):
    path = tmp_path / "data.csv"
    x, y = datasets.lecture_like(100)
    np.savetxt(path, np.column_stack([x, y]), delimiter=",")
    status, _, err = run(["fit", str(path), "--plain", "--lr", "0.01"], capsys)
    assert status == 1 and "diverged at iteration" in err


def test_console_entry_point_and_module():
    for command in (["fastgd"], [sys.executable, "-m", "fastgd"]):
        completed = subprocess.run(
            [*command, "demo", "--iters", "2"], capture_output=True, text=True
        )
        assert completed.returncode == 0, completed.stderr
        assert "After 2 iterations" in completed.stdout
    completed = subprocess.run(
        [sys.executable, "-m", "fastgd", "fit"], capture_output=True, text=True
    )
    assert completed.returncode == 2 and completed.stderr.count("\n") == 1


def test_version(capsys):
    import fastgd

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"fastgd {fastgd.__version__}\n" == "fastgd 0.1.0\n"


def test_counts_of_one_are_singular(capsys, tmp_path):
    status, output, _ = run(["demo", "--n", "1", "--iters", "1", "--threads", "1"], capsys)
    assert status == 0
    assert "\nAfter 1 iteration b = " in output and "1 thread;" in output
    assert "; 1 point, fit took" in output
    status, output, _ = run(["demo", "--n", "2", "--iters", "2"], capsys)
    assert "\nAfter 2 iterations b = " in output and "; 2 points, fit took" in output
    path = tmp_path / "one.csv"
    path.write_text("x,y\n1,2\n")
    status, output, _ = run(["convert", str(path), str(tmp_path / "X.npy")], capsys)
    assert status == 0 and "wrote 1 row (1 x column: x) to" in output


TSV = "a\tb\n1\t2\n3\t4.5\n5\t7\n"


@pytest.mark.parametrize("name", ["tab", "\\t", "\\\\t", "\t"])
def test_delimiter_tab_by_name(tmp_path, capsys, name):
    (tmp_path / "data.tsv").write_text(TSV)
    (tmp_path / "data.csv").write_text(TSV.replace("\t", ","))
    status, output, err = run(["fit", str(tmp_path / "data.tsv"), "--delimiter", name], capsys)
    assert status == 0, err
    _, expected, _ = run(["fit", str(tmp_path / "data.csv")], capsys)
    assert output.splitlines()[:2] == expected.splitlines()[:2]


@pytest.mark.parametrize(
    "name, text",
    [("semicolon", "a;b\n1;2\n3;4.5\n"), (";", "a;b\n1;2\n3;4.5\n"), ("pipe", "1|2\n3|4.5\n"),
     ("space", "a b\n1  2\n3\t4.5\n"), (" ", "1 2\n3 4.5\n"), ("comma", "1,2\n3,4.5\n")],
)  # fmt: skip
def test_delimiter_names_and_characters(tmp_path, capsys, name, text):
    path = tmp_path / "data.txt"
    path.write_text(text)
    status, output, err = run(
        ["fit", str(path), "--delimiter", name, "--iters", "3", "--plain", "--lr", "0.05"], capsys
    )
    assert status == 0, err
    assert "2 points" in output
    # Every text holds the rows (1, 2) and (3, 4.5).
    assert_fit_is_the_reference(output, [[1.0], [3.0]], [2.0, 4.5], 0.05, 3)


@pytest.mark.parametrize("name", [";;", "ab", "\\n", "0", "-"])
def test_bad_delimiter_lists_what_is_accepted(tmp_path, capsys, name):
    (tmp_path / "data.csv").write_text("1,2\n3,4\n")
    for command in (["fit", "DATA"], ["convert", "DATA", str(tmp_path / "X.npy")]):
        argv = [str(tmp_path / "data.csv") if part == "DATA" else part for part in command]
        with pytest.raises(SystemExit) as exit_info:
            main([*argv, "--delimiter", name])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and err.count("\n") == 1
        assert "argument --delimiter: expected one character" in err
        assert "tab, space, comma, semicolon, pipe" in err and repr(name) in err


@pytest.mark.parametrize(
    "text, argv, hint",
    [
        (TSV, [], "(try --delimiter tab)"),
        ("a;b\n1;2\n", [], "(try --delimiter semicolon)"),
        ("1|2\n3|4\n", [], "(try --delimiter pipe)"),
        ("x y\n1 2\n", [], "(try --delimiter space)"),
        ("1,2\n3,4\n", ["--delimiter", "tab"], "(try --delimiter comma)"),
        ("1\n2\n", [], "found 1 splitting at ','"),
    ],
)
def test_one_column_says_which_delimiter_to_try(tmp_path, capsys, text, argv, hint):
    path = tmp_path / "data.tsv"
    path.write_text(text)
    for command in (["fit", str(path)], ["convert", str(path), str(tmp_path / "X.npy")]):
        status, _, err = run([*command, *argv], capsys)
        assert status == 2 and err.count("\n") == 1
        assert "data.tsv: needs at least two columns (x and y), found 1" in err
        assert err.rstrip().endswith(hint), err


@pytest.mark.parametrize(
    "text, message",
    [
        ("a,b\n1,2\n3,nan\n5,6\n", "data.csv:3: column 'b' is nan"),
        ("1,2\ninf,3\n4,5\n", "data.csv:2: column 0 is inf"),
        # Blank and comment lines are no rows, but they are lines of the file.
        ("a,b\n1,2\n\n# note\n3,4\n5,-inf # here\n", "data.csv:6: column 'b' is -inf"),
        ("x,y\n1,1e400\n", "data.csv:2: column 'y' is inf"),
    ],
)
def test_nan_and_inf_are_named_by_line_and_column(csv_reader, tmp_path, capsys, text, message):
    (tmp_path / "data.csv").write_text(text)
    status, _, err = run(["fit", str(tmp_path / "data.csv")], capsys)
    assert status == 2 and err.count("\n") == 1
    assert f"fastgd: error: {tmp_path / message}: fastgd needs finite numbers" in err, err


@pytest.mark.parametrize(
    "text",
    [
        "id,a,b,y\nA1,1,2,3.5\nA2,2,3,5\nA3,3,5,8\nA4,1,1,2\n",
        # Names in quotes may hold the delimiter; an unselected column may be empty.
        'id,name,a,b,y\n1,"Smith, J",1,2,3.5\n2,,2,3,5\n3,Lee,3,5,8\n4,"",1,1,2\n',
    ],
)
def test_columns_not_selected_are_never_parsed(csv_reader, tmp_path, capsys, text):
    path = tmp_path / "data.csv"
    path.write_text(text)
    argv = ["fit", str(path), "--x", "a,b", "--y", "y", "--plain", "--lr", "0.01", "--iters", "3"]
    status, output, err = run(argv, capsys)
    assert status == 0, err
    X, y = [[1.0, 2.0], [2.0, 3.0], [3.0, 5.0], [1.0, 1.0]], [3.5, 5.0, 8.0, 2.0]
    assert_fit_is_the_reference(output, X, y, 0.01, 3)
    outputs = [str(tmp_path / "X.npy"), str(tmp_path / "y.npy")]
    status, output, err = run(["convert", str(path), *outputs, "--x", "a,b", "--y", "y"], capsys)
    assert status == 0, err
    assert np.load(tmp_path / "X.npy").tolist() == X and np.load(tmp_path / "y.npy").tolist() == y


def test_pyarrow_reads_what_numpy_reads(tmp_path):
    # The fast path is taken for a plain file, and gives NumPy's numbers to the last bit.
    rng = np.random.default_rng(1)
    table = rng.normal(size=(500, 4)) * 10.0 ** rng.integers(-5, 5, size=(500, 4))
    path = tmp_path / "data.csv"
    np.savetxt(path, table, delimiter=",", header="a,b,c,y", comments="", fmt="%.17g")
    header = datafiles.read_first_line(str(path), ",")
    fast = datafiles._read_with_pyarrow(header, [0, 2, 3])
    assert fast is not None
    assert np.array_equal(fast[:, [0, 2, 3]], table[:, [0, 2, 3]])
    assert np.array_equal(header.read_table([0, 2, 3]), table[:, [0, 2, 3]])


def test_nan_in_an_unused_column_is_no_error(tmp_path, capsys):
    (tmp_path / "data.csv").write_text("a,notes,b\n1,nan,2\n2,nan,4.5\n")
    status, _, err = run(["fit", str(tmp_path / "data.csv"), "--x", "a", "--iters", "2"], capsys)
    assert status == 0, err


def test_a_line_of_spaces_is_named(tmp_path, capsys):
    (tmp_path / "data.csv").write_text("1,2\n   \n3,4\n")
    status, _, err = run(["fit", str(tmp_path / "data.csv")], capsys)
    assert status == 2 and "data.csv:2: a line of only spaces" in err


@pytest.fixture
def pair(tmp_path):
    x, y = datasets.lecture_like(50)
    X = np.column_stack([x, np.arange(50) * 7 % 11])
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    return tmp_path, X, y


@pytest.mark.parametrize("option", [["--x", "0"], ["--y", "1"], ["--delimiter", "tab"]])
def test_options_that_y_file_ignores_are_refused(pair, capsys, option):
    path, _, _ = pair
    argv = ["fit", str(path / "X.npy"), "--y-file", str(path / "y.npy"), *option]
    status, output, err = run(argv, capsys)
    assert status == 2 and output == "" and err.count("\n") == 1
    assert err.startswith(f"fastgd: error: {option[0]} cannot be used with --y-file: ")


def test_y_file_needs_an_npy_file_of_x(tmp_path, capsys, pair):
    path, _, _ = pair
    (tmp_path / "data.csv").write_text("1,2\n3,4\n")
    status, _, err = run(["fit", str(tmp_path / "data.csv"), "--y-file", str(path / "y.npy")],
                         capsys)  # fmt: skip
    assert status == 2 and "--y-file is for a .npy file of X" in err


def test_delimiter_with_an_npy_table_is_refused(pair, capsys):
    path, _, _ = pair
    status, _, err = run(["fit", str(path / "X.npy"), "--delimiter", ";"], capsys)
    assert status == 2 and "--delimiter is for CSV files; " in err


def test_an_npy_table_says_that_y_is_its_last_column(pair, capsys):
    path, _, _ = pair
    status, output, err = run(["fit", str(path / "X.npy"), "--iters", "2"], capsys)
    assert status == 0 and "m = 0," in output  # one x column, the other is y
    assert err == (
        f"fastgd: note: y is the last column of {path / 'X.npy'} (column 1); pass --y to choose "
        f"it, or --y-file y.npy if {path / 'X.npy'} holds X alone\n"
    )
    status, _, err = run(["fit", str(path / "X.npy"), "--iters", "2", "--y", "1"], capsys)
    assert status == 0 and err == ""


def _bad_npy_files(path):
    """name -> (bytes of the file, or a function writing it), expected message."""
    table = np.arange(200.0).reshape(100, 2)
    np.save(path / "good.npy", table)
    good = (path / "good.npy").read_bytes()
    return {
        "pickled.npy": (lambda p: np.save(p, np.array([1, "a", None], dtype=object)),
                        "holds Python objects (a pickled object array), not numbers"),
        "truncated.npy": (good[:300], "not a NumPy .npy array file (truncated: its header "
                          "describes shape (100, 2) of float64, 1,600 bytes of data, but the "
                          "whole file is 300 bytes)"),
        "text.npy": (b"x,y\n1,2\n", "not a NumPy .npy array file (it holds text"),
        "empty.npy": (b"", "not a NumPy .npy array file (the file is empty)"),
        "binary.npy": (bytes(range(256)), "not a NumPy .npy array file (it does not begin"),
        "archive.npy": (lambda p: np.savez(p, a=table),
                        "not a NumPy .npy array file (a zip archive"),
        "strings.npy": (lambda p: np.save(p, np.array([["1", "2"]])), "holds strings (dtype <U1)"),
        "complex.npy": (lambda p: np.save(p, np.ones((3, 2)) * 1j), "holds complex numbers"),
        "flat.npy": (lambda p: np.save(p, np.arange(5.0)), "expected a 2-D table"),
        "rows.npy": (lambda p: np.save(p, np.ones((0, 2))), "has no rows"),
    }  # fmt: skip


@pytest.mark.parametrize("as_y", [False, True])
def test_bad_npy_files_are_one_line_naming_the_file(tmp_path, capsys, as_y):
    for name, (content, message) in _bad_npy_files(tmp_path).items():
        path = tmp_path / name
        if callable(content):
            with open(path, "wb") as handle:
                content(handle)
        else:
            path.write_bytes(content)
        if as_y and name in ("flat.npy", "rows.npy"):
            continue  # fine as y files
        argv = ["fit", str(tmp_path / "good.npy"), "--y-file", str(path)] if as_y else [
            "fit", str(path)]  # fmt: skip
        status, output, err = run(argv, capsys)
        assert status == 2 and output == "", (name, err)
        assert err.startswith(f"fastgd: error: {path}: {message}"), (name, err)
        assert err.count("\n") == 1 and "pickle=" not in err, (name, err)


@pytest.mark.parametrize(
    "where, value, message",
    [
        (("X", 7, 1), np.nan, "X.npy: row 7, column 1 (from 0) is nan: fastgd needs finite"),
        (("y", 3, None), -np.inf, "y.npy: row 3 (from 0) is -inf: fastgd needs finite"),
        (("X", 9, 0), 1e200, "X.npy: row 9, column 0 (from 0) is 1e+200, too large: squares"),
    ],
)
def test_bad_values_in_npy_files_are_named_by_file_and_row(pair, capsys, where, value, message):
    path, X, y = pair
    array, row, column = where
    if array == "X":
        X[row, column] = value
        np.save(path / "X.npy", X)
    else:
        y[row] = value
        np.save(path / "y.npy", y)
    for method in ("loop", "gram"):
        status, output, err = run(
            [
                "fit",
                str(path / "X.npy"),
                "--y-file",
                str(path / "y.npy"),
                "--method",
                method,
                "--plain",
                "--lr",
                "1e-4",
            ],
            capsys,
        )
        assert status == 2 and output == "" and err.count("\n") == 1, err
        assert err.startswith(f"fastgd: error: {path / message}"), err


def test_pair_shapes_are_checked_naming_the_files(pair, capsys):
    path, _, _ = pair
    cases = {  # file: (array, its role, the message after "FILE: ")
        "X3.npy": (np.ones((50, 2, 2)), "X", "X must have shape (n,) for one feature or (n, d)"),
        "X0.npy": (np.ones((50, 0)), "X", "has no columns (shape (50, 0))"),
        "y2.npy": (np.ones((50, 2)), "y", "y must have shape (n,) or (n, 1), got shape (50, 2)"),
        "y4.npy": (np.ones(4), "y", f"4 rows but {path / 'X.npy'} has 50: X and y must have"),
    }
    for name, (array, role, message) in cases.items():
        np.save(path / name, array)
        x_file, y_file = (name, "y.npy") if role == "X" else ("X.npy", name)
        status, _, err = run(["fit", str(path / x_file), "--y-file", str(path / y_file)], capsys)
        assert status == 2 and err.count("\n") == 1, err
        assert err.startswith(f"fastgd: error: {path / name}: {message}"), err


def test_y_too_large_for_float32_x_names_the_file(pair, capsys):
    path, X, y = pair
    np.save(path / "X32.npy", X.astype(np.float32))
    y[5] = 1e300
    np.save(path / "y.npy", y)
    status, _, err = run(["fit", str(path / "X32.npy"), "--y-file", str(path / "y.npy")], capsys)
    assert status == 2 and err.count("\n") == 1
    assert err.startswith(f"fastgd: error: {path / 'y.npy'}: row 5 (from 0) is 1e+300, too large")
    assert "overflow float32" in err


def test_overflowing_csv_values_are_a_data_error_naming_the_line(tmp_path, capsys):
    (tmp_path / "big.csv").write_text("a,b\n1e308,1\n2,3\n")
    for lr, method in (("auto", "auto"), ("1e-4", "gram"), ("1e-4", "loop")):
        argv = ["fit", str(tmp_path / "big.csv"), "--lr", lr, "--method", method]
        status, _, err = run(argv, capsys)
        assert status == 2 and err.count("\n") == 1, err
        assert (
            f"{tmp_path / 'big.csv'}:2: column 'a' is 1e+308, too large: squares of values "
            "above 9.5e+153 overflow float64 when summed over 2 rows; scale the data" in err
        )


@pytest.mark.parametrize("command", [["demo"], ["fit", "DATA"], ["fit", "X.npy"]])
def test_divergence_is_one_line_and_exit_1(pair, capsys, command):
    path, X, y = pair
    np.savetxt(path / "data.csv", np.column_stack([X, y]), delimiter=",")
    argv = [str(path / "data.csv") if part == "DATA" else part for part in command]
    if "X.npy" in argv:
        argv += ["--y-file", str(path / "y.npy")]
    argv = [str(path / part) if part == "X.npy" else part for part in argv]
    status, output, err = run([*argv, "--plain", "--lr", "1e6"], capsys)
    assert status == 1 and output == ""
    assert err.startswith("fastgd: error: gradient descent diverged at iteration ")
    assert err.count("\n") == 1


def _refuse_work(monkeypatch):
    from fastgd import benchmark, cli

    def work(*args, **kwargs):
        raise AssertionError("the work started before the outputs were checked")

    monkeypatch.setattr(cli, "fit", work)
    monkeypatch.setattr(cli, "convert", work)
    monkeypatch.setattr(benchmark, "run", work)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "--plot", "MISSING/fit.png"], "--plot MISSING/fit.png: the folder MISSING does "
         "not exist"),
        (["fit", "DATA", "--plot", "MISSING/fit.png"], "--plot MISSING/fit.png: the folder "
         "MISSING does not exist"),
        (["fit", "DATA", "--plot", "TMP"], "--plot TMP: is a folder; name a file in it"),
        (["bench", "--json", "MISSING/b.json"], "--json MISSING/b.json: the folder MISSING does "
         "not exist"),
        (["bench", "--plot", "MISSING/b.png"], "--plot MISSING/b.png: the folder MISSING does "
         "not exist"),
        (["convert", "DATA", "MISSING/X.npy"], "output MISSING/X.npy: the folder MISSING does "
         "not exist"),
        (["convert", "DATA", "TMP/X.npy", "MISSING/y.npy"], "y output MISSING/y.npy: the folder "
         "MISSING does not exist"),
    ],
)  # fmt: skip
def test_outputs_are_checked_before_any_work(tmp_path, capsys, monkeypatch, argv, message):
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    _refuse_work(monkeypatch)
    (tmp_path / "data.csv").write_text("1,2\n3,4\n")
    names = {"DATA": tmp_path / "data.csv", "MISSING": tmp_path / "missing", "TMP": tmp_path}

    def fill(text):
        for name, path in names.items():
            text = text.replace(name, str(path))
        return text

    status, output, err = run([fill(part) for part in argv], capsys)
    assert status == 2 and output == ""
    assert err == f"fastgd: error: {fill(message)}\n"


def test_a_read_only_output_folder_is_refused(tmp_path, capsys, monkeypatch):
    _refuse_work(monkeypatch)
    (tmp_path / "data.csv").write_text("1,2\n3,4\n")
    locked = tmp_path / "locked"
    locked.mkdir()
    # Root may write anywhere: the refusal is simulated where the CLI asks.
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: str(path) != str(locked) and access(
        path, mode))  # fmt: skip
    status, _, err = run(["convert", str(tmp_path / "data.csv"), str(locked / "X.npy")], capsys)
    assert (
        status == 2
        and err == f"fastgd: error: output {locked}/X.npy: not writable (permission denied)\n"
    )


def test_convert_refuses_to_overwrite_its_input_or_write_x_and_y_to_one_file(tmp_path, capsys):
    data = tmp_path / "data.npy"  # a CSV file with an unusual name
    data.write_text("1,2\n3,4\n")
    status, _, err = run(["convert", str(data), str(data)], capsys)
    assert status == 2 and "is the input file; writing it would destroy the data" in err
    assert data.read_text() == "1,2\n3,4\n"
    out = str(tmp_path / "X.npy")
    status, _, err = run(["convert", str(data), out, out], capsys)
    assert status == 2 and "X and y need two output files, not one" in err


def _fit_raising(error):
    def fit(*args, **kwargs):
        raise error

    return fit


@pytest.mark.parametrize(
    "coef, shown", [(np.array([1.5]), "m = 1.5"), (np.array([1.5, -0.25]), "m = [1.5, -0.25]")]
)
def test_ctrl_c_during_a_fit_says_where_it_stopped(monkeypatch, capsys, coef, shown):
    from fastgd import cli
    from fastgd.errors import FitInterrupted

    monkeypatch.setattr(cli, "fit", _fit_raising(FitInterrupted(417, 0.125, coef, 3.5)))
    status, output, err = run(["demo", "--iters", "1000"], capsys)
    assert status == 130 and output == ""
    assert err == f"fastgd: interrupted at iteration 417: b = 0.125, {shown}, error = 3.5\n"


@pytest.mark.parametrize("command", ["fit", "convert", "bench"])
def test_ctrl_c_elsewhere_is_one_line_and_status_130(tmp_path, monkeypatch, capsys, command):
    from fastgd import benchmark

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    (tmp_path / "data.csv").write_text("1,2\n3,4\n")
    monkeypatch.setattr(np, "loadtxt", interrupted)  # while reading the CSV file
    monkeypatch.setattr(datafiles, "_read_with_pyarrow", interrupted)
    monkeypatch.setattr(benchmark, "run", interrupted)
    argv = {
        "fit": ["fit", str(tmp_path / "data.csv")],
        "convert": ["convert", str(tmp_path / "data.csv"), str(tmp_path / "X.npy")],
        "bench": ["bench", "--n", "10"],
    }[command]
    status, output, err = run(argv, capsys)
    assert (status, output, err) == (130, "", "fastgd: interrupted\n")
    assert not (tmp_path / "X.npy").exists()


@pytest.mark.parametrize(
    "options, tail",
    [
        ([], "; raise --iters, or use --standardize --momentum auto --lr auto"),
        (["--lr", "auto"], "; raise --iters, or use --standardize --momentum auto"),
        (["--standardize", "--momentum", "auto", "--lr", "auto"], "; raise --iters"),
    ],
)  # the remedies are the options the fit did not use (the demo's defaults use none)
def test_tol_warning_speaks_in_options(monkeypatch, capsys, options, tail):
    import warnings

    from fastgd import cli
    from fastgd.errors import ConvergenceWarning

    real_fit = cli.fit

    def fit(*args, **kwargs):
        result = real_fit(*args, **{**kwargs, "tol": None})  # the warning is this one's
        warnings.warn(
            ConvergenceWarning(
                "tol=1e-08 was not reached in n_iter=1000 iterations (library words)",
                tol=1e-8, n_iter=1000, distance=3.21e-5, lr_auto=None,
            ),
            stacklevel=2,
        )  # fmt: skip
        return result

    monkeypatch.setattr(cli, "fit", fit)
    status, output, err = run(["demo", "--tol", "1e-8", *options], capsys)
    assert status == 0 and "After 1000 iterations" in output
    assert err == (
        "fastgd: warning: --tol 1e-08 was not reached in 1000 iterations (the parameters may "
        f"still be up to 3.2e-05, relative, from the optimum){tail}\n"
    )


def test_tol_warning_without_its_numbers_is_the_library_message(monkeypatch, capsys):
    import warnings

    from fastgd import cli
    from fastgd.errors import ConvergenceWarning

    real_fit = cli.fit

    def fit(*args, **kwargs):
        warnings.warn(ConvergenceWarning("the library's own words"), stacklevel=2)
        return real_fit(*args, **{**kwargs, "tol": None})

    monkeypatch.setattr(cli, "fit", fit)
    status, _, err = run(["demo", "--tol", "1e-8", "--iters", "3"], capsys)
    assert status == 0 and err == "fastgd: warning: the library's own words\n"


def test_any_divergence_error_is_one_line_and_exit_1(monkeypatch, capsys, tmp_path):
    # However the library detects it (an increase of the loss, a loss that stops being finite).
    from fastgd import cli
    from fastgd.errors import DivergenceError

    error = DivergenceError("gradient descent diverged at iteration 1 (lr=10): the loss increased")
    monkeypatch.setattr(cli, "fit", _fit_raising(error))
    (tmp_path / "data.csv").write_text("1,2\n2,4.5\n3,5\n")
    for argv in (
        ["demo", "--plain", "--lr", "10"],
        ["fit", str(tmp_path / "data.csv"), "--plain", "--lr", "10"],
    ):
        status, output, err = run(argv, capsys)
        assert (status, output) == (1, "")
        # In the command line's terms.
        expected = "gradient descent diverged at iteration 1 (--lr 10): the loss increased"
        assert err == f"fastgd: error: {expected}\n"


def test_a_savetxt_header_names_the_columns(tmp_path, capsys):
    path = tmp_path / "data.csv"
    np.savetxt(path, [[1.0, 2.0, 3.0], [2.0, 4.5, 1.0], [3.0, 5.0, 0.0]], delimiter=",",
               header="x,junk,y")  # fmt: skip
    assert path.read_text().startswith("# x,junk,y\n")
    argv = ["fit", str(path), "--x", "x", "--y", "y", "--iters", "2", "--plain", "--lr", "0.05"]
    status, output, err = run(argv, capsys)
    assert status == 0 and "3 points" in output, err
    assert_fit_is_the_reference(output, [[1.0], [2.0], [3.0]], [3.0, 1.0, 0.0], 0.05, 2)
    status, output, err = run(["convert", str(path), str(tmp_path / "X.npy"), "--x", "x,junk"],
                              capsys)  # fmt: skip
    assert status == 0 and "(2 x columns: x, junk)" in output, err


@pytest.mark.parametrize("text", ["1,2\n2,4.5\n3,5\n", "x,y\n1,2\n2,4.5\n3,5\n"])
def test_a_byte_order_mark_is_not_part_of_the_data(csv_reader, tmp_path, capsys, text):
    # As spreadsheet programs write "UTF-8 CSV": without a header, the first row still counts.
    path = tmp_path / "data.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    status, output, err = run(["fit", str(path), "--iters", "2", "--plain", "--lr", "0.05"], capsys)
    assert status == 0 and "3 points" in output, err
    assert_fit_is_the_reference(output, [[1.0], [2.0], [3.0]], [2.0, 4.5, 5.0], 0.05, 2)
    status, output, err = run(["convert", str(path), str(tmp_path / "X.npy")], capsys)
    assert status == 0 and "wrote 3 rows (1 x column: " in output, err


@pytest.mark.parametrize("name, first_fit", [
    ("loop, 2 features", "fastgd.fit(X, X.sum(axis=1), method='loop', threads=1, n_iter=10)"),
    ("GLMs with l1, paths, cross-validation (coordinate descent)",
     "fastgd.PoissonRegressorGD(alpha=0.01, l1_ratio=0.5).fit(X, np.floor(np.abs(X[:, 0])))"),
])  # fmt: skip
def test_compile_fills_the_cache_so_that_a_first_fit_compiles_nothing(tmp_path, name, first_fit):
    # One of the common fits (compiling all of them is what a Docker build pays once, not CI),
    # then a fresh interpreter's first fit of the same kind, on other data: every kernel comes
    # from the cache.
    # Both in their own empty cache: the suite's is shared by pytest-xdist's workers.
    compile_one = (
        "from fastgd import cli, warm\n"
        f"one = [common for common in warm.common_fits() if common.name == {name!r}]\n"
        "warm.common_fits = lambda: one\n"
        "raise SystemExit(cli.main(['compile']))\n"
    )
    first_fits = (
        "from numba.core import event\n"
        "import numpy as np, fastgd\n"
        "seen = []\n"
        "class Listener(event.Listener):\n"
        "    def on_start(self, ev): seen.append(ev.data['dispatcher'])\n"
        "    def on_end(self, ev): pass\n"
        "event.register('numba:compile', Listener())\n"
        "rng = np.random.default_rng(1)\n"
        "X = rng.normal(size=(3000, 2))\n"
        f"{first_fit}\n"
        "print('compiled', len(seen), seen)\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    environment = {**os.environ, "PYTHONPATH": root, "NUMBA_CACHE_DIR": str(tmp_path)}
    outputs = []
    for source in (compile_one, first_fits):
        done = subprocess.run(
            [sys.executable, "-c", source], capture_output=True, text=True, env=environment
        )
        assert done.returncode == 0 and done.stderr == "", done.stderr
        outputs.append(done.stdout)
    lines = outputs[0].splitlines()
    assert lines[0].startswith("fastgd: compiling the kernels of 1 common kind of fit"), lines
    assert re.fullmatch(rf"\[1/1\] {re.escape(name)}: \d+\.\d s", lines[1]), lines
    assert re.fullmatch(r"done in \d+\.\d s", lines[2]) and len(lines) == 3, lines
    assert outputs[1].startswith("compiled 0 "), outputs[1]


def test_compile_lists_what_it_compiles(capsys):
    from fastgd import warm

    status, out, _ = run(["compile", "--list"], capsys)
    assert status == 0
    assert out.splitlines() == [common.name for common in warm.common_fits()]


def _fitted(tmp_path, capsys, text, argv):
    path = tmp_path / "data.csv"
    path.write_text(text)
    model = tmp_path / "model.json"
    status, output, err = run(["fit", str(path), *argv, "--save", str(model)], capsys)
    assert status == 0, err
    return path, model, output


TABLE = "id,name,a,b,y\n1,x,1,2,3.5\n2,,2,3,5\n3,Lee,3,5,8\n4,z,1,1,2.5\n5,w,0,2,1\n"


def test_the_coefficients_are_a_table_by_column_name(tmp_path, capsys):
    _, _, output = _fitted(tmp_path, capsys, TABLE, ["--x", "b,a", "--y", "y"])
    X = np.array([[2.0, 1.0], [3.0, 2.0], [5.0, 3.0], [1.0, 1.0], [2.0, 0.0]])
    y = np.array([3.5, 5.0, 8.0, 2.5, 1.0])
    b, w = naive.least_squares(X, y)
    rows = dict(re.findall(r"^(intercept|a|b) +(\S+)  ± \S+$", output, re.MULTILINE))
    assert float(rows["intercept"]) == pytest.approx(b, rel=1e-10)
    assert [float(rows["b"]), float(rows["a"])] == pytest.approx(w, rel=1e-10)


def test_a_saved_model_predicts_by_column_name(tmp_path, capsys):
    _, model, _ = _fitted(tmp_path, capsys, TABLE, ["--x", "a,b", "--y", "y"])
    saved = json.loads(model.read_text())
    assert saved["columns"] == ["a", "b"] and saved["y"] == "y" and saved["fastgd"]
    assert saved["options"]["tol"] == 1e-13 and saved["fit"]["converged"] is True
    assert saved["fit"]["rows"] == 5
    # Other columns, in another order, and no y: found by name.
    new = tmp_path / "new.csv"
    new.write_text("b,other,a\n2,x,1\n10,y,-3\n")
    status, output, err = run(["predict", str(model), str(new)], capsys)
    assert status == 0, err
    lines = output.splitlines()
    assert lines[0] == "prediction"
    expected = saved["intercept"] + np.array([[1.0, 2.0], [-3.0, 10.0]]) @ saved["coef"]
    assert [float(v) for v in lines[1:]] == pytest.approx(expected, rel=1e-14)
    for name in ("out.csv", "out.npy"):
        status, _, err = run(["predict", str(model), str(new), "-o", str(tmp_path / name)], capsys)
        assert status == 0 and "wrote 2 predictions" in err
    assert np.load(tmp_path / "out.npy") == pytest.approx(expected, rel=1e-14)
    assert np.loadtxt(tmp_path / "out.csv", skiprows=1) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("loss", ["poisson", "logistic"])
def test_a_saved_generalized_linear_model_predicts_its_mean(tmp_path, capsys, loss):
    """`fastgd fit --loss poisson|logistic --save`: the model file says its link, and `fastgd
    predict` gives the mean, scikit-learn's predict (Poisson) and predict_proba (logistic)."""
    linear_model = pytest.importorskip("sklearn.linear_model")
    X, y = _glm_sample(loss, 200, [0.7, -0.4], 0.3, seed=9)
    if loss == "logistic":
        expected = linear_model.LogisticRegression(C=np.inf, tol=1e-12, solver="newton-cholesky")
    else:
        expected = linear_model.PoissonRegressor(alpha=0.0, tol=1e-12, solver="newton-cholesky")
    expected.fit(X, y)
    text = "a,b,y\n" + "".join(f"{a:.17g},{b:.17g},{t:.17g}\n" for (a, b), t in zip(X, y))
    path, model, output = _fitted(tmp_path, capsys, text, ["--loss", loss])
    assert f"model saved to {model}" in output
    saved = json.loads(model.read_text())
    assert saved["link"] == ("logit" if loss == "logistic" else "log")
    assert saved["options"]["loss"] == loss and saved["fit"]["method"] == "newton"
    assert saved["fit"]["converged"] is True
    status, output, err = run(["predict", str(model), str(path)], capsys)
    assert status == 0, err
    predicted = [float(v) for v in output.splitlines()[1:]]
    mean = expected.predict_proba(X)[:, 1] if loss == "logistic" else expected.predict(X)
    assert predicted == pytest.approx(mean, rel=1e-9)
    saved["link"] = "probit"
    model.write_text(json.dumps(saved))
    status, _, err = run(["predict", str(model), str(path)], capsys)
    assert status == 2 and "a model file with link 'probit', which this fastgd" in err


def test_offset_column_is_statsmodels_exposure_and_predicts_with_it(tmp_path, capsys):
    """`--offset COL` (the log of each row's exposure): statsmodels' Poisson GLM with that
    offset, and the saved model reads the column again to predict; misuses are named."""
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(10)
    n = 300
    X = rng.normal(size=(n, 2))
    exposure = rng.uniform(0.5, 4.0, n)
    y = rng.poisson(exposure * np.exp(X @ [0.5, -0.3] + 0.2)).astype(float)
    rows = zip(X[:, 0], np.log(exposure), X[:, 1], y)
    text = "a,log_exposure,b,y\n" + "".join(f"{a:.17g},{o:.17g},{b:.17g},{t:.17g}\n"
                                             for a, o, b, t in rows)  # fmt: skip
    path, model, output = _fitted(tmp_path, capsys, text,
                                  ["--loss", "poisson", "--offset", "log_exposure"])  # fmt: skip
    expected = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson(),
                      offset=np.log(exposure)).fit(tol=1e-15)  # fmt: skip
    table = dict(re.findall(r"^(intercept|a|b) +(\S+)$", output, re.MULTILINE))
    assert "log_exposure" not in re.findall(r"^(\w+) +\S+$", output, re.MULTILINE)
    got = [float(table[name]) for name in ("intercept", "a", "b")]
    assert got == pytest.approx(np.asarray(expected.params), rel=1e-8)
    # D² against the best constant with the offsets: statsmodels' null deviance.
    explained = float(re.search(r"D² = (\S+)", output).group(1))
    assert explained == pytest.approx(1.0 - expected.deviance / expected.null_deviance, rel=1e-5)
    saved = json.loads(model.read_text())
    assert saved["offset"] == {"column": "log_exposure", "index": 1}
    assert saved["columns"] == ["a", "b"]
    status, predicted, err = run(["predict", str(model), str(path)], capsys)
    assert status == 0, err
    means = [float(v) for v in predicted.splitlines()[1:]]
    assert means == pytest.approx(expected.predict(), rel=1e-8)  # exposure x rate
    for argv, message in [
        (["--offset", "log_exposure"], r"--offset is a generalized linear model's: add --loss"),
        (["--loss", "poisson", "--offset", "rate"], r"--offset rate: not among the columns read"),
        (["--loss", "poisson", "--x", "a,log_exposure", "--offset", "log_exposure"],
         r"--offset log_exposure is one of --x's or --y's columns"),
        (["--loss", "poisson", "--offset", "y"], r"--offset y: not among the columns read"),
        (["--loss", "poisson", "--offset", "-3"], r"--offset -3: give the column's name or"),
    ]:  # fmt: skip
        status, _, err = run(["fit", str(path), *argv], capsys)
        assert status == 2 and re.search(message, err), err


def test_a_model_of_a_file_without_header_predicts_by_position(tmp_path, capsys):
    text = "9,1,2,3.5\n9,2,3,5\n9,3,5,8\n9,1,1,2.5\n"
    path, model, _ = _fitted(tmp_path, capsys, text, ["--x", "1,2", "--y", "3"])
    saved = json.loads(model.read_text())
    assert saved["header"] is False and saved["column_indices"] == [1, 2]
    status, output, err = run(["predict", str(model), str(path)], capsys)
    assert status == 0, err
    X = np.loadtxt(path, delimiter=",")[:, 1:3]
    expected = saved["intercept"] + X @ saved["coef"]
    assert [float(v) for v in output.splitlines()[1:]] == pytest.approx(expected, rel=1e-14)
    np.save(tmp_path / "X.npy", X)
    status, output, err = run(["predict", str(model), str(tmp_path / "X.npy")], capsys)
    assert status == 0
    assert [float(v) for v in output.splitlines()[1:]] == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize(
    "model_text, data_text, message",
    [
        (None, "a,b\n1,2\n", r"new\.csv: no column named 'b'; .*model\.json needs 2 columns: "
                             r"a, b \(the file has a, c\)"),
        (None, "1,2\n", r"new\.csv: has no header line, and .*needs 2 columns: a, b"),
        (None, "a,b\n1,nan\n", r"new\.csv:2: column 'b' is nan: fastgd needs finite numbers"),
        (None, "a,b\n", r"new\.csv: has no data rows"),
        ("{", "a,b\n1,2\n", r"model\.json: not a model file \(not JSON"),
        ('{"format": "x"}', "a,b\n1,2\n", r"model\.json: not a fastgd model file"),
        ('{"format": "fastgd model", "version": 99}', "a,b\n1,2\n", r"format version 99"),
        ('{"format": "fastgd model", "version": 1}', "a,b\n1,2\n", r"a damaged model file"),
    ],
)  # fmt: skip
def test_predict_errors_name_the_file_and_the_fix(tmp_path, capsys, model_text, data_text,
                                                   message):  # fmt: skip
    _, model, _ = _fitted(tmp_path, capsys, TABLE, ["--x", "a,b", "--y", "y"])
    if model_text is not None:
        model.write_text(model_text)
    new = tmp_path / "new.csv"
    new.write_text(data_text.replace("a,b\n1,2", "a,c\n1,2") if "no column" in message else
                   data_text)  # fmt: skip
    status, output, err = run(["predict", str(model), str(new)], capsys)
    assert status == 2 and output == "" and err.count("\n") == 1
    assert re.search(message, err), err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--alpha", "0.1"], "--alpha 0.1 but --penalty none: choose --penalty l2, l1 or "
                             "elasticnet, or leave --alpha at 0"),
        (["--penalty", "l1", "--alpha", "-1"], "--alpha must be >= 0, got -1.0"),
        (["--penalty", "elasticnet", "--l1-ratio", "2"], "--l1-ratio must be in [0, 1], got 2.0"),
        (["--epsilon", "2"], "--epsilon is the Huber loss's threshold: add --loss huber, or "
                             "drop --epsilon"),
        (["--penalty", "l1", "--l1-ratio", "0.3"], "--l1-ratio is the elastic net's share of l1: "
                                                   "use --penalty elasticnet, or drop --l1-ratio"),
        (["--loss", "huber", "--method", "gram"], "--method gram cannot fit --loss huber: the "
                                                  "Huber loss has no sufficient statistics; use "
                                                  "--method loop (or auto, which picks it)"),
        (["--lr", "0"], "--lr must be > 0, got 0.0"),
        (["--b0", "nan"], "--b0 must be finite, got nan"),
    ],
)  # fmt: skip
def test_errors_speak_in_the_command_lines_terms(tmp_path, capsys, argv, message):
    (tmp_path / "data.csv").write_text("a,b,y\n1,2,3\n2,3,5\n3,5,7\n")
    status, output, err = run(["fit", str(tmp_path / "data.csv"), *argv], capsys)
    assert (status, output) == (2, "") and err == f"fastgd: error: {message}\n"


def test_device_errors_speak_in_the_command_lines_terms(monkeypatch, capsys):
    from fastgd import cli

    error = DeviceError("device='cuda' cannot run: no GPU; use device='cpu'")
    monkeypatch.setattr(cli, "fit", _fit_raising(error))
    status, _, err = run(["demo", "--device", "cuda"], capsys)
    assert status == 2
    assert err == "fastgd: error: --device cuda cannot run: no GPU; use --device cpu\n"


def _glm_sample(loss, n, coef, intercept, seed):
    """X (n, len(coef)) and y drawn from the logistic (0 or 1) or Poisson (counts) model."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, len(coef)))
    eta = X @ coef + intercept
    if loss == "logistic":
        return X, (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    return X, rng.poisson(np.exp(eta)).astype(float)


@pytest.mark.parametrize("loss, options", [("logistic", []), ("poisson", ["--penalty", "l2"]),
                                           ("tweedie", ["--power", "1.5", "--penalty", "l2",
                                                        "--alpha", "0.2"])])  # fmt: skip
def test_generalized_linear_models_are_scikit_learns(tmp_path, capsys, loss, options):
    """`fastgd fit --loss logistic|poisson|tweedie` is scikit-learn's model, alpha in its scale
    (the mean of half the unit deviance + alpha/2 |w|²), with its measures."""
    linear_model = pytest.importorskip("sklearn.linear_model")
    X, y = _glm_sample(loss, 300, [0.8, -0.5], 0.2, seed=5)
    if loss == "logistic":
        expected = linear_model.LogisticRegression(C=np.inf, tol=1e-12, max_iter=1000)
    else:
        alpha = float(options[-1]) if "--alpha" in options else 1.0
        model = (
            linear_model.PoissonRegressor if loss == "poisson" else linear_model.TweedieRegressor
        )
        expected = model(alpha=alpha, tol=1e-12, max_iter=1000, solver="newton-cholesky",
                         **({"power": 1.5} if loss == "tweedie" else {}))  # fmt: skip
    expected.fit(X, y)
    path = tmp_path / "data.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="u,v,y", comments="",
               fmt="%.17g")  # fmt: skip
    status, output, err = run(["fit", str(path), "--loss", loss, *options], capsys)
    assert status == 0 and err == "", err
    pattern = r"After (\d+) Newton steps? b = (\S+), m = \[(\S+), (\S+)\], (log-loss|mean deviance)"
    first = re.match(pattern + r" = (\S+)", output)
    assert first is not None, output
    b, w0, w1, measure = (float(first.group(i)) for i in (2, 3, 4, 6))
    assert [b, w0, w1] == pytest.approx(
        [float(np.ravel(expected.intercept_)[0]), *np.ravel(expected.coef_)], rel=1e-8, abs=1e-10
    )
    p = expected.predict_proba(X)[:, 1] if loss == "logistic" else expected.predict(X)
    if loss == "logistic":
        assert first.group(5) == "log-loss"
        assert measure == pytest.approx(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
        accuracy = float(re.search(r"accuracy = (\S+)", output).group(1))
        assert accuracy == pytest.approx(np.mean((p > 0.5) == (y == 1)), abs=1e-6)
    else:
        assert first.group(5) == "mean deviance"
        score = expected.score(X, y)  # D²
        assert float(re.search(r"D² = (\S+)", output).group(1)) == pytest.approx(score, rel=1e-5)
    assert "converged: yes" in output and "intercept" in output


@pytest.mark.parametrize("loss, options, family, share", [
    ("poisson", ["--penalty", "elasticnet", "--l1-ratio", "0.6", "--alpha", "0.2"], "poisson",
     0.6),
    ("logistic", ["--penalty", "l1", "--alpha", "0.03"], "binomial", 1.0),
])  # fmt: skip
def test_l1_and_elastic_net_generalized_linear_models_are_glums(tmp_path, capsys, loss, options,
                                                                family, share):  # fmt: skip
    """`--penalty l1|elasticnet` with a GLM's --loss (proximal Newton): glum's elastic net in
    its scale, alpha (r |w|₁ + (1 - r)/2 |w|²), with coefficients exactly 0."""
    from glum import GeneralizedLinearRegressor

    rng = np.random.default_rng(8)
    X = rng.normal(size=(400, 4))
    eta = X @ [0.8, -0.5, 0.02, 0.0] + 0.2
    if loss == "logistic":
        y = (rng.uniform(size=400) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    else:
        y = rng.poisson(np.exp(eta)).astype(float)
    expected = GeneralizedLinearRegressor(family=family, alpha=float(options[-1]), l1_ratio=share,
                                          gradient_tol=1e-14, step_size_tol=1e-16)  # fmt: skip
    expected.fit(X, y)
    path = tmp_path / "data.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", fmt="%.17g")
    status, output, err = run(["fit", str(path), "--loss", loss, *options], capsys)
    assert status == 0 and err == "", err
    first = re.match(r"After \d+ Newton steps? b = (\S+), m = \[(.+)\],", output)
    assert first is not None, output
    got = [float(first.group(1)), *map(float, first.group(2).split(", "))]
    reference = [float(expected.intercept_), *expected.coef_]
    assert got == pytest.approx(reference, rel=1e-8, abs=1e-10)
    assert 0.0 in got[1:]  # the l1 part's exact zeros
    penalty = (
        "l1 penalty alpha 0.03" if share == 1.0 else "elastic-net penalty alpha 0.2, l1_ratio 0.6"
    )
    assert penalty in output and "converged: yes" in output


@pytest.mark.parametrize(
    ("options", "model"),
    [(["--penalty", "l1"], "LassoCV"), (["--penalty", "elasticnet", "--l1-ratio", "0.7"],
                                         "ElasticNetCV"), (["--penalty", "l2"], "RidgeCV")],
)  # fmt: skip
def test_cv_chooses_scikit_learns_alpha(tmp_path, capsys, options, model):
    """`fastgd fit --penalty ... --cv K` chooses the alpha scikit-learn's CV model chooses on
    the same folds, prints the curve, and the fit on all the data."""
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(6)
    X = rng.normal(size=(400, 4))
    y = X @ [1.0, 0.0, -0.5, 0.05] + 2.0 + rng.normal(size=400)
    path = tmp_path / "data.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="a,b,c,d,y", comments="",
               fmt="%.17g")  # fmt: skip
    status, output, err = run(["fit", str(path), *options, "--cv", "4", "--plot",
                               str(tmp_path / "cv.png")], capsys)  # fmt: skip
    assert status == 0 and err == "", err
    chosen = float(re.search(r"chosen alpha = (\S+)", output).group(1))
    if model == "RidgeCV":
        from fastgd.cv_command import RIDGE_ALPHAS

        centred = X - X.mean(axis=0)
        alphas = np.sum(centred**2) / 4 * np.geomspace(1e-6, 1e2, RIDGE_ALPHAS)
        expected = linear_model.RidgeCV(alphas=alphas, cv=4).fit(X, y)
        error = "1 - R²"
    else:
        ratio = {"l1_ratio": 0.7} if model == "ElasticNetCV" else {}
        expected = getattr(linear_model, model)(cv=4, tol=1e-10, max_iter=100_000, **ratio)
        expected.fit(X, y)
        error = "mean squared error"
    assert chosen == pytest.approx(expected.alpha_, rel=1e-5)
    assert "4-fold cross-validation of" in output and error in output
    assert output.count("<- chosen") == 1
    fitted = re.search(r"fit on all the data: b = (\S+), m = \[(.*)\];", output)
    coef = [float(v) for v in fitted.group(2).split(",")]
    np.testing.assert_allclose(coef, expected.coef_, rtol=1e-6, atol=1e-8)
    assert (tmp_path / "cv.png").stat().st_size > 0
    assert "intercept" in output  # the coefficient table by column name


@pytest.mark.parametrize(
    ("options", "message"),
    [(["--cv", "5"], r"--cv chooses a penalty's alpha: add --penalty"),
     (["--penalty", "l1", "--cv", "5", "--alpha", "1"], r"--alpha: not for --cv"),
     (["--penalty", "l1", "--cv", "1"], r"--cv must be at least 2 folds"),
     (["--penalty", "l1", "--cv", "5", "--loss", "huber"], r"--loss huber is not built for it")],
)  # fmt: skip
def test_cv_refuses_what_it_cannot_do(tmp_path, capsys, options, message):
    pytest.importorskip("sklearn")
    path = tmp_path / "data.csv"
    np.savetxt(path, np.arange(40.0).reshape(20, 2) ** 1.5, delimiter=",")
    status, _, err = run(["fit", str(path), *options], capsys)
    assert status == 2 and re.search(message, err), err
