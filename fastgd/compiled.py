"""Compiling a kernel ahead of its first call, once per process and argument types.

`fit` compiles (or loads from numba's cache) every kernel a fit needs before it starts the
fit's timer. numba's own check of whether a signature is compiled already types every argument
with `numba.typeof`, which costs tens of microseconds per array: more than a whole small fit.
So each (kernel, argument kinds) pair is remembered here after its first compile, keyed by what
decides the numba type of an argument: an array's class, dtype, dimensions, layout, whether it
is writeable and aligned; a tuple's length; the class of anything else.
"""

import numba
import numpy as np

_compiled: set = set()


def _kind(value):
    if isinstance(value, np.ndarray):
        flags = value.flags
        return (
            type(value), value.dtype.char, value.ndim, flags.c_contiguous, flags.f_contiguous,
            flags.writeable, flags.aligned,
        )  # fmt: skip
    if isinstance(value, tuple):  # a kernel's layout (gradient.kernel_width): typed by its length
        return (tuple, len(value))
    return type(value)


def compile_once(kernels, data, compile_them):
    """Call `compile_them()` unless this process did so already for these `kernels` (a tuple of
    numba dispatchers) and data of these kinds.

    `data` are the arguments whose types vary from fit to fit (the caller's arrays); every other
    argument of the kernels must be of one type always (the backend's own buffers and scalars),
    so only `data` is looked at, and nothing is allocated on the way."""
    key = (kernels, tuple(map(_kind, data)))
    if key not in _compiled:
        compile_them()
        _compiled.add(key)


def compile_for(kernel, arguments):
    """Compile `kernel` (or load it from numba's cache) for the numba types of `arguments`."""
    kernel.compile(tuple(map(numba.typeof, arguments)))
