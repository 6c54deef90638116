"""Status codes a backend's compiled loop returns to `fit` after a block of iterations (and
one the CUDA backend keeps on the device only)."""

RAN = 0  # reached the end of the block
CONVERGED = 1  # the gradient says the iterate is within tol of the optimum (gradient_status)
LOSS_NOT_FINITE = 2  # the loss at the returned iterate is NaN or inf
PARAMS_NOT_FINITE = 3  # the step to the returned iterate produced NaN or inf parameters
LOSS_INCREASED = 4  # the loss rose beyond its rounding (gradient.divergence_status)

# Device-side only, never returned to `fit`: kernels launched while the CUDA backend's status
# holds it return at once (`cuda.Run.compile` launches each kernel so, to compile it and no more).
STOPPED = -1
