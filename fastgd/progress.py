"""A one-line progress display for long fits, drawn on a terminal's stderr.

`ProgressBar` is a `fit(callback=...)`: the compiled loop returns to Python between blocks of
iterations and the bar redraws there. It stays silent unless its stream is a terminal and the
fit has already run for `delay` seconds, so short fits and redirected output are unchanged.
Hand-written rather than tqdm, to keep fastgd's dependencies at numpy and numba.
"""

import sys
import time


class ProgressBar:
    """Shows `iteration k/total [####....] pct  loss L  elapsed` on `stream` (default stderr).

    Use as `fit(..., callback=bar)`, then `bar.close()` (or `with ProgressBar(n) as bar:`).
    Never stops the fit (returns False).
    """

    def __init__(self, total, *, stream=None, delay=1.0, interval=0.1, width=24, clock=None):
        self.total = max(int(total), 1)
        self.stream = sys.stderr if stream is None else stream
        self.delay = delay
        self.interval = interval
        self.width = width
        self.clock = time.monotonic if clock is None else clock
        self.start = self.clock()
        self.last_draw = None
        self.shown = False
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(isatty and isatty())

    def __call__(self, k, intercept, coef, loss):
        if not self.enabled:
            return False
        now = self.clock()
        due = self.last_draw is None or now - self.last_draw >= self.interval
        if now - self.start >= self.delay and (due or k >= self.total):
            self._draw(k, loss, now)
        return False

    def line(self, k, loss, elapsed):
        """The text of the bar at iteration k (without the carriage return)."""
        done = min(max(k / self.total, 0.0), 1.0)
        filled = round(done * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        digits = len(f"{self.total:,}")
        return (
            f"fastgd: iteration {k:>{digits},}/{self.total:,} [{bar}] {100 * done:3.0f}%  "
            f"loss {loss:.6g}  {elapsed:.1f} s"
        )

    def _draw(self, k, loss, now):
        # \r returns to the line's start; \x1b[K clears what a longer previous line left.
        self.stream.write("\r" + self.line(k, loss, now - self.start) + "\x1b[K")
        self.stream.flush()
        self.last_draw = now
        self.shown = True

    def close(self, k=None, loss=None):
        """End the bar's line, if one was drawn, first showing iteration k's loss if given
        (a fit stopped by its tolerance ends between two callbacks)."""
        if self.shown:
            if k is not None:
                self._draw(k, loss, self.clock())
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
