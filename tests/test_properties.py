"""Property tests: fastgd.fit equals the slow reference for random shapes, dtypes and threads."""

import naive
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from tiers import examples

import fastgd


@st.composite
def problems(draw):
    n = draw(st.integers(1, 120))
    d = draw(st.integers(1, 4))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    values = st.floats(-50, 50, allow_nan=False, width=32)
    X = draw(hnp.arrays(dtype, (n, d), elements=values))
    y = draw(hnp.arrays(dtype, n, elements=values))
    b0 = draw(st.floats(-5, 5))
    w0 = draw(hnp.arrays(np.float64, d, elements=st.floats(-5, 5)))
    weights = draw(st.none() | hnp.arrays(np.float64, n, elements=st.floats(0.1, 3.0)))
    n_iter = draw(st.integers(0, 12))
    threads = draw(st.sampled_from([None, 1, 2]))
    one_feature = d == 1 and draw(st.booleans())
    return X[:, 0] if one_feature else X, y, b0, w0, weights, n_iter, threads


@settings(max_examples=examples(60), deadline=None)
@given(problems())
def test_fit_equals_reference(problem):
    X, y, b0, w0, weights, n_iter, threads = problem
    X2 = X.reshape(len(y), -1).astype(np.float64)
    # A step of 1 / trace(H) = 1 / (2 (1 + mean |x|^2)), the mean weighted as the loss is, is at
    # most 1 / L: stable (the loss falls at every step, else the fit raises DivergenceError).
    lr = 0.5 / (1.0 + np.average(np.sum(X2**2, axis=1), weights=weights))
    result = fastgd.gradient_descent(
        X, y, lr=lr, n_iter=n_iter, b0=b0, w0=w0, sample_weight=weights, threads=threads
    )
    # Weights, like y, follow X's dtype.
    if weights is not None:
        weights = weights.astype(X.dtype)
    b, w, history = naive.gradient_descent(
        X2, y.astype(np.float64), lr, n_iter, b0=b0, w0=w0, sample_weight=weights
    )
    scale = 1.0 + abs(b) + np.abs(w).sum()
    assert abs(result.intercept - b) <= 1e-9 * scale
    np.testing.assert_allclose(result.coef, w, rtol=1e-9, atol=1e-9 * scale)
    np.testing.assert_allclose(result.loss_history, history, rtol=1e-9, atol=1e-9 * history[0])
