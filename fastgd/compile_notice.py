"""A one-line notice on stderr while numba compiles fastgd's kernels for more than a second.

The first fit of a data type (and method) compiles its kernels, which takes seconds with
nothing to show; later runs load them from numba's on-disk cache. numba announces each
compilation as a "numba:compile" event, and loading from the cache fires none, so a warm run
says nothing. The notice is printed once, from a timer thread, when compilation has run for
`delay` seconds in all.
"""

import contextlib
import sys
import threading
import time

from numba.core import event

MESSAGE = (
    "fastgd: compiling the kernels for this data type (once; later runs load them from numba's "
    "cache)..."
)
# Seconds of compilation before the notice; None: no notice (the CLI's own tests use that).
DELAY: float | None = 1.0


class CompileNotice(event.Listener):
    """Prints MESSAGE once to `stream` when numba has been compiling for `delay` seconds."""

    def __init__(self, stream, delay):
        self.stream = stream
        self.delay = delay
        self.lock = threading.Lock()
        self.depth = 0  # compilations nest: a kernel compiles the functions it calls
        self.spent = 0.0  # seconds of compilation that ended
        self.started = 0.0
        self.timer: threading.Timer | None = None
        self.shown = False

    def on_start(self, event):
        with self.lock:
            self.depth += 1
            if self.depth == 1:
                self.started = time.monotonic()
                if not self.shown:
                    self.timer = threading.Timer(max(self.delay - self.spent, 0.0), self._show)
                    self.timer.daemon = True
                    self.timer.start()

    def on_end(self, event):
        with self.lock:
            self.depth -= 1
            if self.depth == 0:
                self.spent += time.monotonic() - self.started
                self._cancel()

    def _show(self):
        with self.lock:
            if self.shown or self.depth == 0:
                return
            self.shown = True
        self.stream.write(MESSAGE + "\n")
        self.stream.flush()

    def _cancel(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def close(self):
        with self.lock:
            self._cancel()


@contextlib.contextmanager
def compile_notice(stream=None):
    """Within the block, say on `stream` (default stderr) when numba compiles for long."""
    if DELAY is None:
        yield None
        return
    notice = CompileNotice(sys.stderr if stream is None else stream, DELAY)
    try:
        with event.install_listener("numba:compile", notice):
            yield notice
    finally:
        notice.close()
