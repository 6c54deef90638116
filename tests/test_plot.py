"""Plots of a fit and of a benchmark report (the `plot` extra), and `--plot` on the CLI."""

import io
import re
import subprocess
import sys

import numpy as np
import pytest

import fastgd
from fastgd import datasets
from fastgd.cli import main

pytest.importorskip("matplotlib", reason="the plot extra is not installed")

from fastgd import plot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(data):
    """(width, height) in pixels from a PNG file's header (its IHDR chunk comes first)."""
    assert data.startswith(PNG_MAGIC) and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_one_feature_shows_data_line_and_log_loss():
    x, y = datasets.lecture_like(200, seed=3)
    result = fastgd.gradient_descent(x, y, lr=1e-4, n_iter=50)
    figure = plot.fit_figure(x, y, result)
    data_axes, loss_axes = figure.axes
    points = data_axes.collections[0].get_offsets()
    np.testing.assert_array_equal(points, np.column_stack([x, y]))
    (line,) = data_axes.get_lines()
    line_x, line_y = line.get_data()
    np.testing.assert_allclose(line_y, result.intercept + result.coef[0] * line_x)
    assert (line_x.min(), line_x.max()) == (x.min(), x.max())
    (curve,) = loss_axes.get_lines()
    np.testing.assert_array_equal(curve.get_ydata(), result.loss_history)
    assert loss_axes.get_yscale() == "log"


def test_several_features_show_predicted_against_actual(rng):
    X = rng.normal(size=(150, 3))
    y = X @ [1.0, -1.0, 2.0] + 0.5 * rng.normal(size=150)
    result = fastgd.gradient_descent(X, y, lr=0.1, n_iter=30)
    data_axes, _ = plot.fit_figure(X, y, result).axes
    points = data_axes.collections[0].get_offsets()
    np.testing.assert_allclose(points, np.column_stack([y, result.predict(X)]))
    assert data_axes.get_xlabel() == "actual y" and data_axes.get_ylabel() == "predicted y"


def test_large_data_is_sampled_and_says_so(rng):
    x = rng.normal(size=plot.MAX_SCATTER_POINTS * 3)
    result = fastgd.gradient_descent(x, 2 * x, lr=0.1, n_iter=3)
    data_axes, _ = plot.fit_figure(x, 2 * x, result).axes
    points = data_axes.collections[0].get_offsets()
    assert len(points) == plot.MAX_SCATTER_POINTS
    assert np.isin(points[:, 0], x).all()
    assert f"{plot.MAX_SCATTER_POINTS:,} of {3 * plot.MAX_SCATTER_POINTS:,}" in (
        data_axes.get_legend().get_texts()[0].get_text()
    )


def test_save_writes_a_png(tmp_path):
    x, y = datasets.lecture_like(50)
    result = fastgd.gradient_descent(x, y, lr=1e-4, n_iter=10)
    path = tmp_path / "fit.png"
    plot.save_fit(x, y, result, path)
    assert png_size(path.read_bytes()) == (1000, 400)  # 10 x 4 inches at 100 dpi


@pytest.mark.parametrize("command", [["demo"], ["fit", "DATA"]])
def test_cli_plot_option(tmp_path, capsys, command):
    x, y = datasets.lecture_like(100)
    data = tmp_path / "data.csv"
    np.savetxt(data, np.column_stack([x, y]), delimiter=",")
    picture = tmp_path / "out.png"
    argv = [str(data) if part == "DATA" else part for part in command]
    out = io.StringIO()
    status = main([*argv, "--iters", "20", "--plot", str(picture)], out=out)
    assert status == 0, capsys.readouterr().err
    assert f"plot saved to {picture}" in out.getvalue()
    # The picture is the library's of the fit the command printed (demo: the lecture's plain
    # descent, lr 1e-4; fit: fit's defaults).
    if command == ["demo"]:
        result = fastgd.gradient_descent(x, y, lr=1e-4, n_iter=20)
    else:
        result = fastgd.fit(x, y, n_iter=20)
    expected = tmp_path / "expected.png"
    plot.save_fit(x, y, result, expected)
    assert png_size(picture.read_bytes()) == (1000, 400)
    assert picture.read_bytes() == expected.read_bytes()


@pytest.mark.parametrize("features", [1, 3])
@pytest.mark.parametrize("loss, link", [("poisson", "log"), ("logistic", "logit")])
def test_a_generalized_linear_models_plot_is_its_mean_curve(tmp_path, capsys, features, loss,
                                                            link):  # fmt: skip
    """`fastgd fit --loss poisson|logistic --plot`: the data against x (one feature) or against
    the linear predictor b + x.w (several), with the fitted mean through them."""
    rng = np.random.default_rng(6)
    X = rng.normal(size=(300, features))
    eta = X @ np.linspace(0.8, -0.4, features) + 0.3
    if loss == "logistic":
        y = (rng.uniform(size=300) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    else:
        y = rng.poisson(np.exp(eta)).astype(float)
    data = tmp_path / "data.csv"
    np.savetxt(data, np.column_stack([X, y]), delimiter=",", fmt="%.17g")
    picture = tmp_path / "glm.png"
    out = io.StringIO()
    status = main(["fit", str(data), "--loss", loss, "--plot", str(picture)], out=out)
    assert status == 0, capsys.readouterr().err
    assert f"plot saved to {picture}" in out.getvalue()
    assert png_size(picture.read_bytes()) == (700, 450)
    first = re.match(r"After \d+ Newton steps? b = (\S+), m = (\[[^\]]*\]|\S+),", out.getvalue())
    b = float(first.group(1))
    w = np.array([float(v) for v in first.group(2).strip("[]").split(", ")])
    from fastgd.glm_command import GLMResult

    figure = plot.glm_figure(X, y, GLMResult(b, w, 5, True, 0.5, link))
    (axes,) = figure.axes
    points = axes.collections[0].get_offsets()
    along = X[:, 0] if features == 1 else X @ w + b
    np.testing.assert_allclose(points, np.column_stack([along, y]))
    (curve,) = axes.get_lines()
    grid, mean = curve.get_data()
    eta_grid = b + w[0] * grid if features == 1 else grid
    expected = np.exp(eta_grid) if link == "log" else 1.0 / (1.0 + np.exp(-eta_grid))
    np.testing.assert_allclose(mean, expected, rtol=1e-12)
    assert (grid.min(), grid.max()) == pytest.approx((along.min(), along.max()))


def test_cli_plot_to_a_bad_place_is_one_line(tmp_path, capsys):
    out = io.StringIO()
    status = main(["demo", "--iters", "2", "--plot", str(tmp_path / "missing" / "x.png")], out=out)
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert (
        err == f"fastgd: error: --plot {tmp_path}/missing/x.png: the folder {tmp_path}/missing "
        "does not exist\n"
    )
    assert out.getvalue() == ""  # refused before the fit


@pytest.mark.parametrize("name", ["fit", "fit.xyz"])
def test_cli_plot_format_is_checked_before_the_fit(tmp_path, capsys, name):
    out = io.StringIO()
    status = main(["demo", "--iters", "2", "--plot", str(tmp_path / name)], out=out)
    err = capsys.readouterr().err
    assert status == 2 and out.getvalue() == "" and err.count("\n") == 1
    assert "; end the name in one of ." in err and ".png, " in err and "(e.g. fit.png)" in err


def test_missing_matplotlib_is_refused_before_the_fit(tmp_path):
    # sys.modules[name] = None makes `import name` fail, as if it were not installed.
    code = (
        "import sys; sys.modules['matplotlib'] = None; sys.modules['matplotlib.figure'] = None\n"
        "from fastgd.cli import main\n"
        f"sys.exit(main(['demo', '--iters', '2', '--plot', {str(tmp_path / 'x.png')!r}]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and done.stdout == ""  # refused before the fit
    assert done.stderr == (
        "fastgd: error: --plot needs matplotlib, which is not installed: python3 -m pip install "
        'matplotlib (or python3 -m pip install -e ".[plot]" in a checkout of fastgd)\n'
    )


def test_benchmark_figure():
    report = {
        "config": {"n": 1000, "iters": 5},
        "results": [
            {"label": "fast", "ns_per_point_iter": 0.5},
            {"label": "slow", "ns_per_point_iter": 500.0},
        ],
    }
    figure = plot.benchmark_figure(report)
    axes = figure.axes[0]
    # One bar a row, top to bottom in the report's order, labelled with the row's label.
    bars = sorted(axes.patches, key=lambda bar: -bar.get_y())
    assert [bar.get_width() for bar in bars] == [0.5, 500.0] and axes.get_xscale() == "log"
    labels = dict(zip(axes.get_yticks(), (label.get_text() for label in axes.get_yticklabels())))
    assert [labels[tick] for tick in sorted(labels, reverse=True)] == ["fast", "slow"]
    assert axes.get_title() == "fastgd bench: N = 1,000, 5 iterations"
    assert tuple(figure.get_size_inches()) == (8.0, 0.5 * 2 + 1.5)


def test_a_generalized_linear_models_plot_adds_the_offsets():
    """With offsets (`--offset`), the points sit at their whole linear predictor, b + x.w plus
    the row's offset, whatever the number of features: the fitted mean's curve then describes
    them."""
    from fastgd.glm_command import GLMResult

    rng = np.random.default_rng(7)
    X = rng.normal(size=(100, 1))
    offset = rng.normal(size=100)
    y = rng.poisson(np.exp(0.5 * X[:, 0] + offset)).astype(float)
    result = GLMResult(0.1, np.array([0.5]), 4, True, 1.0, "log")
    (axes,) = plot.glm_figure(X, y, result, offset).axes
    points = axes.collections[0].get_offsets()
    np.testing.assert_allclose(points[:, 0], 0.1 + 0.5 * X[:, 0] + offset)
    assert "+ offset" in axes.get_xlabel()
