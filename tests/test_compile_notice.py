"""The CLI's notice while numba compiles: once, only after a second of compiling, never when
the kernels load from numba's cache."""

import io
import os
import subprocess
import sys
import time

import numba

from fastgd import compile_notice
from fastgd.compile_notice import MESSAGE, CompileNotice


def wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_a_long_compilation_is_announced_once():
    stream = io.StringIO()
    notice = CompileNotice(stream, delay=0.05)
    notice.on_start(None)
    notice.on_start(None)  # nested: a kernel compiles what it calls
    notice.on_end(None)
    assert wait_for(lambda: stream.getvalue() != "")
    notice.on_end(None)
    notice.on_start(None)
    time.sleep(0.2)
    notice.on_end(None)
    notice.close()
    assert stream.getvalue() == MESSAGE + "\n"


def test_short_compilations_say_nothing_until_they_add_up():
    stream = io.StringIO()
    notice = CompileNotice(stream, delay=1.0)
    for _ in range(3):
        notice.on_start(None)
        notice.on_end(None)
    time.sleep(0.1)
    assert stream.getvalue() == ""
    notice.on_start(None)  # a long one: the delay counts the compiling already done
    assert wait_for(lambda: stream.getvalue() != "", seconds=5.0)
    notice.on_end(None)
    notice.close()
    assert stream.getvalue() == MESSAGE + "\n"


def _compile_something_new():
    """A real numba compile (a new function each call, so never in numba's caches)."""
    function = numba.njit(lambda x: x + 1)
    function(1)


def test_the_context_listens_to_real_compiles_and_none_when_disabled(monkeypatch):
    monkeypatch.setattr(compile_notice, "DELAY", 0.0)  # at once: any compile is announced
    stream = io.StringIO()
    with compile_notice.compile_notice(stream) as notice:
        assert notice is not None
        _compile_something_new()
        assert wait_for(lambda: stream.getvalue() != "")
    assert stream.getvalue() == MESSAGE + "\n"
    monkeypatch.setattr(compile_notice, "DELAY", None)  # what the CLI's tests use: no notice
    stream = io.StringIO()
    with compile_notice.compile_notice(stream) as notice:
        assert notice is None
        _compile_something_new()
    time.sleep(0.05)
    assert stream.getvalue() == ""


def test_cold_run_announces_compiling_and_a_warm_run_does_not(tmp_path):
    # An empty numba cache: the first run compiles (seconds), the second loads its kernels.
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "fastgd", "demo", "--iters", "2", "--threads", "1"]
    runs = [
        subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
        for _ in range(2)
    ]
    for done in runs:
        assert done.returncode == 0, done.stderr
        assert "After 2 iterations" in done.stdout
    assert runs[0].stderr == MESSAGE + "\n"
    assert runs[1].stderr == ""
