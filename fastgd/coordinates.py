"""The coordinates gradient descent runs in: the data's own, or standardized.

Plain gradient descent (the lecture's) steps in (b, w) as they are. On data whose features are
far from zero or on different scales its Hessian is badly conditioned -- it needs about kappa
steps per digit, kappa its condition number, and kappa grows with the square of a feature's
offset from zero in units of its spread. `standardize=True` runs the same descent in the
coordinates of the standardized features z_j = (x_j - mean_j) / sd_j, as Spark MLlib, H2O and
glmnet do, without forming them: the kernels subtract a *shift* h = the columns' means from each
row as they read it (fastgd/gradient.py), and the step multiplies each coordinate of the
gradient by a diagonal *preconditioner* p_j = 1 / var_j. The iterate is still the user's w; the
intercept the kernels carry is that of the shifted rows, c = b + h . w (`intercept_of_shifted`),
and every result, callback and loss is reported in the user's units (`user_intercept`).

Without an intercept there is no constant to absorb a shift: standardizing then only scales, by
the root mean square of each column. A constant column (or one whose spread is below the
rounding of its mean) is left where it starts, at 0: its effect is the intercept's (and without
an intercept, a nonzero constant column is scaled like any other). Means and spreads are
weighted by the sample weights, from the moments fastgd computes anyway (fastgd/moments.py).
"""

import math

import numpy as np

# A column whose standard deviation is below this fraction of its mean's magnitude carries no
# information that float64 could resolve (its mean is rounded coarser than its spread): it is
# treated as constant.
CONSTANT_RTOL = 1e-12


def plain(n_features, fit_intercept):
    """(shift, precondition) of the lecture's gradient descent: no shift, an identity step; b
    does not move without an intercept."""
    precondition = np.ones(n_features + 1)
    if not fit_intercept:
        precondition[0] = 0.0
    return np.zeros(n_features), precondition


def standardized(moments, fit_intercept):
    """(shift, precondition) of gradient descent on the standardized features (module doc)."""
    d = moments.n_features
    precondition = np.zeros(d + 1)
    mean = np.asarray(moments.x_mean, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        variance = np.diagonal(moments.xx) / moments.weight
    if fit_intercept:
        precondition[0] = 1.0
        shift = mean.copy()
        spread = variance
        constant = np.sqrt(variance) <= CONSTANT_RTOL * np.abs(mean)
    else:
        shift = np.zeros(d)
        with np.errstate(over="ignore", invalid="ignore"):
            spread = variance + mean * mean  # the mean square
        constant = spread <= 0.0
    usable = ~constant & (spread > 0.0) & np.isfinite(spread)
    precondition[1:][usable] = 1.0 / spread[usable]
    return shift, precondition


def user_intercept(intercept, w, shift):
    """b = c - h . w: the intercept in the user's units, from the kernels' c."""
    return float(intercept - math.fsum(shift * w)) if shift.any() else float(intercept)


def intercept_of_shifted(b, w, shift):
    """c = b + h . w: the kernels' intercept of the shifted rows, from the user's b."""
    return float(b + math.fsum(shift * w)) if shift.any() else float(b)
