"""Exceptions and warnings raised by fastgd."""

from __future__ import annotations

import atexit
import os
import signal
import sys

import numpy as np


class DivergenceError(FloatingPointError):
    """The fit diverged: the loss increased, or the loss or the parameters stopped being finite.

    Almost always the learning rate is too large for the scale of the data.
    """


class DeviceError(RuntimeError):
    """The requested device cannot be used (missing package, driver or hardware)."""


class DistributedFitError(RuntimeError):
    """The Dask cluster failed in a way the fit could not recover from."""


class WorkerLost(RuntimeError):
    """An actor's Dask worker left the cluster while the client waited for its answer."""


class DataFileError(ValueError):
    """A data file (for the command line) that cannot be read as a table of numbers."""


class ConvergenceWarning(UserWarning):
    """A tolerance was given, but the iteration budget ran out before it was met.

    Besides the message, the numbers behind it, so that a caller (the command line) can say
    the same in its own terms: `tol`, `n_iter`, `distance` (the bound on the relative distance
    to the optimum that the fit reached, nan where unknown) and `lr_auto` (whether the step came
    from lr="auto").
    """

    def __init__(
        self,
        message: str,
        *,
        tol: float | None = None,
        n_iter: int | None = None,
        distance: float | None = None,
        lr_auto: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.tol = tol
        self.n_iter = n_iter
        self.distance = distance
        self.lr_auto = lr_auto


class ConditioningWarning(UserWarning):
    """The data's Hessian is so badly conditioned (kappa * machine epsilon near 1 or above:
    collinear or nearly collinear features) that float64 gradient descent cannot determine all
    coefficients; `condition` holds kappa."""

    def __init__(self, message: str, *, condition: float) -> None:
        super().__init__(message)
        self.condition = condition


class PerformanceWarning(UserWarning):
    """The answer is right but its way there is slower than it could be, and the message says
    how to get the fast way (e.g. cross-validation splits that read X more than once)."""


class FitInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped a fit between two blocks of iterations.

    A `KeyboardInterrupt`, so code that handles Ctrl-C handles it; it also carries the last
    complete iterate: `n_iter` steps taken, `intercept`, `coef` and its `loss`.
    """

    def __init__(self, n_iter: int, intercept: float, coef: np.ndarray, loss: float) -> None:
        super().__init__(f"fit interrupted at iteration {n_iter}")
        self.n_iter = n_iter
        self.intercept = intercept
        self.coef = coef
        self.loss = loss
        _end_as_an_interrupt_if_uncaught()


# Python ends a process whose KeyboardInterrupt nobody caught as one that SIGINT killed (a
# shell's status 130), but only for KeyboardInterrupt itself, not its subclasses: an uncaught
# FitInterrupted would end with status 1, as an error. So the first FitInterrupted wraps
# sys.excepthook: after the traceback, the process ends as Python's own would, by SIGINT, in
# the atexit handler below, registered when fastgd is imported so that it runs after the
# handlers of what was imported later (atexit runs the last registered first).
_uncaught_interrupt = False


def _end_as_an_interrupt_if_uncaught() -> None:
    if getattr(sys.excepthook, "fastgd_interrupts", False) or os.name != "posix":
        return
    previous = sys.excepthook

    def excepthook(kind, value, traceback):  # type: ignore[no-untyped-def]
        global _uncaught_interrupt
        previous(kind, value, traceback)
        _uncaught_interrupt = _uncaught_interrupt or issubclass(kind, FitInterrupted)

    excepthook.fastgd_interrupts = True  # type: ignore[attr-defined]
    sys.excepthook = excepthook


@atexit.register
def _exit_as_interrupted() -> None:
    if _uncaught_interrupt:
        sys.stdout.flush()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
