"""Ctrl-C stops a running fit at a clean iterate: from Python as `fastgd.FitInterrupted` (a
KeyboardInterrupt carrying the iterate), on the command line as one line and exit status 130.

Real SIGINTs sent to real processes: the compiled loop returns to Python between blocks of a
few milliseconds of work, and the signal is only noted while a block runs.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")

SCRIPT = textwrap.dedent(
    """
    import signal, sys
    # Python's own Ctrl-C, as in a terminal: a process started in the background of a
    # non-interactive shell (a CI script's `&`) inherits SIGINT ignored, and fastgd rightly
    # leaves a handler it did not expect alone.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import numpy as np, fastgd

    method = sys.argv[1]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 30)); y = X.sum(axis=1) + rng.normal(size=20_000)
    kwargs = dict(lr=0.01, method=method, threads=1)
    fastgd.gradient_descent(X, y, n_iter=2, **kwargs)  # compiled before the clock starts
    print("ready", flush=True)
    try:
        fastgd.gradient_descent(X, y, n_iter=3 * 10**7, **kwargs)  # minutes
    except fastgd.FitInterrupted as stop:
        again = fastgd.gradient_descent(X, y, n_iter=stop.n_iter, **kwargs)
        same = again.intercept == stop.intercept and np.array_equal(again.coef, stop.coef)
        restored = signal.getsignal(signal.SIGINT) is signal.default_int_handler
        print("interrupted", stop.n_iter > 0, same, again.loss == stop.loss, restored)
    """
)


def _interrupt(command, settle=0.5):
    """Start `command`, wait for its "ready" line and `settle` seconds more, send SIGINT."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        time.sleep(settle)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    return process.returncode, out, err


@pytest.mark.parametrize("method", ["loop", "gram"])
def test_ctrl_c_stops_a_fit_at_a_clean_iterate(method):
    status, out, err = _interrupt([sys.executable, "-c", SCRIPT, method])
    assert status == 0, err
    # Stopped after some steps; the iterate it carries is exactly the fit of that many steps;
    # Python's own SIGINT handler is back.
    assert out.strip() == "interrupted True True True True"


def test_ctrl_c_on_the_command_line_is_one_line_and_status_130(tmp_path):
    script = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from fastgd.cli import main; print('ready', flush=True); sys.exit(main())"
    )
    options = ["--method", "loop", "--threads", "1"]  # the kernels the warm-up compiles
    # Compile first, so that the signal arrives during the iterations.
    subprocess.run(
        [sys.executable, "-m", "fastgd", "demo", "--iters", "2", *options],
        check=True, capture_output=True,
    )  # fmt: skip
    arguments = ["demo", "--n", "100000", "--iters", "10000000", *options]
    # "ready" comes before main() makes the data and loads the kernels from numba's cache
    # (about a second on a loaded 2-core machine): the signal must arrive after that, during
    # the fit's minutes of iterations.
    status, _out, err = _interrupt([sys.executable, "-c", script, *arguments], settle=3.0)
    assert status == 130
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("fastgd: interrupted at iteration ")


UNCAUGHT = textwrap.dedent(
    """
    import atexit, signal, sys
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import numpy as np, fastgd
    atexit.register(print, "atexit ran", flush=True)  # later handlers still run
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 30)); y = X.sum(axis=1)
    kwargs = dict(lr=0.01, method="loop", threads=1)
    fastgd.gradient_descent(X, y, n_iter=2, **kwargs)
    print("ready", flush=True)
    fastgd.gradient_descent(X, y, n_iter=3 * 10**7, **kwargs)  # not caught
    """
)


def test_an_uncaught_fit_interrupt_ends_the_process_as_ctrl_c_does():
    # As an uncaught KeyboardInterrupt does: the traceback, the atexit handlers, then the
    # process ends by SIGINT (a shell's status 130), not with status 1 as an error would.
    status, out, err = _interrupt([sys.executable, "-c", UNCAUGHT])
    assert status == -signal.SIGINT, err
    assert "fastgd.errors.FitInterrupted: fit interrupted at iteration" in err
    assert out.strip() == "atexit ran"


def test_a_caught_fit_interrupt_changes_no_exit_status():
    script = (
        "import numpy as np, sys; from fastgd import FitInterrupted\n"
        "try:\n    raise FitInterrupted(3, 0.5, np.zeros(2), 1.0)\n"
        "except KeyboardInterrupt:\n    pass\n"
        "if sys.argv[1] == 'error':\n    raise ValueError('another error, uncaught')\n"
        "sys.exit(int(sys.argv[1]))\n"
    )
    for argument, status in (("0", 0), ("3", 3), ("error", 1)):
        run = subprocess.run([sys.executable, "-c", script, argument], capture_output=True)
        assert run.returncode == status, run.stderr
