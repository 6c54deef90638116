"""Exceptions and warnings raised by fastgd."""


class DivergenceError(FloatingPointError):
    """The loss or the parameters stopped being finite during a fit.

    Almost always the learning rate is too large for the scale of the data.
    """


class DeviceError(RuntimeError):
    """The requested device cannot be used (missing package, driver or hardware)."""


class ConvergenceWarning(UserWarning):
    """A tolerance was given, but the iteration budget ran out before it was met."""
