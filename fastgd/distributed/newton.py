"""A Newton step's pass on Dask (fastgd/glm.py's GLMs): each row chunk's value, gradient and
Hessian where the chunk is (`glm_pass.dense_pass`), added on the client in chunk order.

Per step one Dask graph reads X once; only (b, w) go out and (d + 1)² + d + 2 numbers per
chunk come back. The rows' eta stays on the workers (a shorter step's value is another,
value-only, pass). The sums are added in chunk order, whichever worker holds which chunk: the
same bits for the same chunks. Persist X (and y) first when they come from files, so that the
~10 steps do not read them again.
"""

import numpy as np

from ..glm_pass import HESSIAN, PassSums, dense_pass
from .chunks import current_client


def _chunk_sums(family, X, y, s, offset, shift, b, w, fisher, parts):
    sums = dense_pass(
        family, np.ascontiguousarray(X), np.ascontiguousarray(y, dtype=np.float64),
        np.ascontiguousarray(s, dtype=np.float64), np.ascontiguousarray(offset, dtype=np.float64),
        shift, b, w, fisher=fisher, parts=parts,
    )  # fmt: skip
    return sums.value, sums.grad, sums.hessian


def dask_pass(family, X, y, s, offset, shift, b, w, *, fisher=False, parts=HESSIAN, threads=1):
    """`glm_pass.dense_pass` of Dask arrays X (row chunks, all columns in each), y, s and offset
    (chunked as X's rows), with eta None. `threads`: the workers' own (unused)."""
    import dask

    chunk_sums = dask.delayed(_chunk_sums, pure=True)
    blocks = zip(X.to_delayed().ravel(), y.to_delayed().ravel(), s.to_delayed().ravel(),
                 offset.to_delayed().ravel())  # fmt: skip
    tasks = [chunk_sums(family, *block, shift, float(b), w, fisher, parts) for block in blocks]
    client = current_client()
    results = dask.compute(*tasks) if client is None else client.gather(client.compute(tasks))
    size = X.shape[1] + 1
    value, grad, hessian = 0.0, np.zeros(size), np.zeros((size, size))
    for chunk_value, chunk_grad, chunk_hessian in results:  # in chunk order
        value, grad, hessian = value + chunk_value, grad + chunk_grad, hessian + chunk_hessian
    return PassSums(float(value), None, grad, hessian)
