"""Status codes a backend's compiled loop returns to `fit` after a block of iterations."""

RAN = 0  # reached the end of the block
CONVERGED = 1  # the loss decreased, by at most tol of its value
LOSS_NOT_FINITE = 2  # the loss at the returned iterate is NaN or inf
PARAMS_NOT_FINITE = 3  # the step to the returned iterate produced NaN or inf parameters
LOSS_INCREASED = 4  # the step to the returned iterate increased the loss beyond rounding noise
