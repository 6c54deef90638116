"""The progress bar and the default callback block size."""

import io

import numpy as np
import pytest

import fastgd
from fastgd import _config
from fastgd.progress import ProgressBar


class Terminal(io.StringIO):
    def isatty(self):
        return True


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_silent_when_not_a_terminal():
    stream = io.StringIO()
    clock = Clock()
    bar = ProgressBar(100, stream=stream, clock=clock)
    clock.now = 5.0
    assert bar(50, 0.0, np.zeros(1), 1.0) is False
    bar.close(100, 0.5)
    assert stream.getvalue() == ""


def test_silent_for_the_first_second_then_shows_iteration_and_loss():
    stream, clock = Terminal(), Clock()
    bar = ProgressBar(1000, stream=stream, clock=clock, delay=1.0, interval=0.1)
    clock.now = 0.5
    bar(100, 0.0, np.zeros(1), 123.0)
    assert stream.getvalue() == ""
    clock.now = 1.2
    bar(250, 0.0, np.zeros(1), 45.5)
    text = stream.getvalue()
    assert text.startswith("\r") and "iteration   250/1,000" in text and "loss 45.5" in text
    assert "25%" in text and "1.2 s" in text
    # Redraws are throttled to one per interval.
    clock.now = 1.25
    bar(260, 0.0, np.zeros(1), 44.0)
    assert stream.getvalue() == text
    clock.now = 1.4
    bar(300, 0.0, np.zeros(1), 40.0)
    assert "iteration   300/1,000" in stream.getvalue()
    bar.close(420, 39.0)  # stopped early by tol: the final line shows where it stopped
    final = stream.getvalue().split("\r")[-1]
    assert "iteration   420/1,000" in final and "loss 39" in final and final.endswith("\n")


def test_line_has_a_proportional_bar():
    bar = ProgressBar(200, stream=io.StringIO(), width=10)
    assert "[#####.....]" in bar.line(100, 1.0, 0.0)
    assert "[##########] 100%" in bar.line(200, 1.0, 0.0)
    assert "[..........]   0%" in bar.line(0, 1.0, 0.0)


def test_as_a_fit_callback_it_changes_nothing(rng):
    x = rng.normal(size=500)
    y = 3 * x + 1
    stream = Terminal()
    with ProgressBar(300, stream=stream, delay=0.0, interval=0.0) as bar:
        with_bar = fastgd.gradient_descent(x, y, lr=0.01, n_iter=300, callback=bar, check_every=100)
    plain = fastgd.gradient_descent(x, y, lr=0.01, n_iter=300)
    np.testing.assert_array_equal(with_bar.loss_history, plain.loss_history)
    assert with_bar.coef[0] == plain.coef[0] and with_bar.intercept == plain.intercept
    drawn = stream.getvalue()
    assert "iteration 100/300" in drawn and "iteration 300/300" in drawn
    assert drawn.endswith("\n")


@pytest.mark.parametrize(
    "n, d, n_iter, calls",
    [
        (100, 1, 50, [10, 20, 30, 40, 50]),  # blocks of ceil(1000 / 100) = 10 iterations
        (100, 3, 10, [4, 8, 10]),  # ceil(1000 / 300) = 4; the last block is shorter
        (100, 1, 7, [7]),  # never longer than the whole fit
        (5000, 1, 3, [1, 2, 3]),  # one pass is already a block
    ],
)
def test_default_block_covers_check_block_values(rng, monkeypatch, n, d, n_iter, calls):
    monkeypatch.setattr(_config, "CHECK_BLOCK_VALUES", 1000)
    X = rng.normal(size=(n, d))
    seen = []
    y = X.sum(axis=1)
    fastgd.gradient_descent(
        X, y, lr=0.01, n_iter=n_iter, method="loop", callback=lambda k, *_: seen.append(k)
    )
    assert seen == calls


def test_gram_blocks_count_matrix_work(rng, monkeypatch):
    # gram's iteration works on a (d + 1)-square matrix: ceil(1000 / 16) = 63 iterations a block.
    monkeypatch.setattr(_config, "CHECK_BLOCK_VALUES", 1000)
    X = rng.normal(size=(100, 3))
    seen = []
    fastgd.gradient_descent(
        X, X.sum(axis=1), lr=0.01, n_iter=150, method="gram",
        callback=lambda k, *_: seen.append(k),
    )  # fmt: skip
    assert seen == [63, 126, 150]


def test_cli_shows_the_bar_on_a_terminal_only(monkeypatch):
    import functools

    from fastgd import cli

    # Without the one-second delay, so that a short demo draws it.
    monkeypatch.setattr(cli, "ProgressBar", functools.partial(ProgressBar, delay=0.0))
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    out = io.StringIO()
    assert cli.main(["demo", "--iters", "500"], out=out) == 0
    assert "iteration 500/500 [########################] 100%  loss " in terminal.getvalue()
    assert terminal.getvalue().endswith("\n")
    assert out.getvalue().startswith("Starting gradient descent at b = 0, m = 0, error = ")

    pipe = io.StringIO()  # not a terminal: nothing on stderr, and no callback at all
    monkeypatch.setattr("sys.stderr", pipe)
    monkeypatch.setattr(cli, "ProgressBar", None)
    assert cli.main(["demo", "--iters", "500"], out=io.StringIO()) == 0
    assert pipe.getvalue() == ""
