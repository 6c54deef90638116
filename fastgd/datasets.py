"""Built-in data sets, generated deterministically (no files shipped, nothing downloaded)."""

import numpy as np


def lecture_like(n: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) shaped like the lecture's data: x in [20, 80), y = 1.32 x + 8 + N(0, 10**2) noise.

    Uses the PCG64 bit generator's uniform doubles and a Box-Muller transform written out here,
    so the same (n, seed) gives the same numbers on every numpy version.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    generator = np.random.Generator(np.random.PCG64(seed))
    u = generator.random((3, n))
    x = 20.0 + 60.0 * u[0]
    noise = np.sqrt(-2.0 * np.log1p(-u[1])) * np.cos(2.0 * np.pi * u[2])
    y = 1.32 * x + 8.0 + 10.0 * noise
    return x, y
