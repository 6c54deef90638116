"""Newton's step with an l1 part in the penalty: proximal Newton (glmnet's and glum's method).

The Newton solvers (fastgd/glm.py) minimize F = f + l2 / 2 |w|² + l1 |w|₁, f smooth (the mean
loss), over parameters theta of which some are free (the intercepts, never penalized) and the
others are the coefficients w. With l1 = 0 a step is one linear solve. With l1 > 0 the step
minimizes F's model instead, f's second-order expansion at theta plus the penalty itself:

    q(delta) = g'delta + delta'H delta / 2 + l2 / 2 |w + delta_w|² + l1 |w + delta_w|₁.

The free parameters enter q without a penalty, so they are eliminated exactly (H's Schur
complement on the coefficients: A = H_ww - H_wf H_ff⁺ H_fw, r = g_w - H_wf H_ff⁺ g_f) and the
coefficients' part v = w + delta_w is an elastic net in the moments' form

    v'A v / 2 - c'v + l2 / 2 |v|² + l1 |v|₁,    c = A w - r,

which coordinate descent solves (fastgd/coordinate_descent.py: the same sweeps, duality gap and
face polish as `fastgd.path`), from v = w. The free parameters then follow: delta_f =
-H_ff⁺ (g_f + H_fw delta_w). The line search uses F's directional decrease along the step, D =
g'delta + l2 w'delta_w + l1 (|w + delta_w|₁ - |w|₁) < 0 (Tseng and Yun; Lee, Sun and Saunders):
every accepted step lowers F, and near the optimum the full step is the distance to it.
"""

from __future__ import annotations

import numpy as np

from .coordinate_descent import minimize, optimum_on_the_face

# The subproblem is solved to its duality gap's rounding (a tolerance relative to the model's
# own scale, below which `coordinate_descent.descend` stops at the gap's floor anyway): an
# inexact step would hold Newton's relative steps above the fits' default tol (1e-13).
SUBPROBLEM_TOL = 1e-15
SUBPROBLEM_SWEEPS = 100_000


def _solver(matrix):
    """x -> the least-norm solution of matrix x = b (the free parameters' block: the intercept's
    weight, or the k intercepts of the softmax, singular along their common shift)."""
    if matrix.shape[0] == 1 and matrix[0, 0] > 0.0:
        return lambda b: b / matrix[0, 0]
    return lambda b: np.linalg.lstsq(matrix, b, rcond=None)[0]


def step(hessian, grad, w, free, l1, l2, positive=False):
    """Proximal Newton's step (m,) for parameters theta (m,) at which f has Hessian `hessian`
    (m, m) and gradient `grad` (m,), per unit of weight; `free` (m,) bool marks the unpenalized
    parameters, w = theta[~free] the coefficients. None where the model is not convex (a row's
    negative curvature: the caller takes Fisher's)."""
    penalized, free_at = np.flatnonzero(~free), np.flatnonzero(free)
    A = hessian[np.ix_(penalized, penalized)]
    r = grad[penalized]
    if free_at.size:
        coupling = hessian[np.ix_(penalized, free_at)]
        solve_free = _solver(hessian[np.ix_(free_at, free_at)])
        A = A - coupling @ solve_free(coupling.T)
        r = r - coupling @ solve_free(grad[free_at])
    A = np.ascontiguousarray(0.5 * (A + A.T))
    if A.shape[0]:
        eigenvalues = np.linalg.eigvalsh(A)
        if eigenvalues[0] + l2 < -1e-12 * max(abs(eigenvalues[-1]), 1e-300):
            return None
    correlation = np.ascontiguousarray(A @ w - r)
    # The model's constant (the squared norm of its "data", c'A⁺c): the duality gap's scale.
    yy = max(float(correlation @ np.linalg.lstsq(A, correlation, rcond=None)[0]), 0.0)
    v = np.array(w, dtype=np.float64)
    minimize(A, correlation, yy, l1, l2, positive, v, SUBPROBLEM_TOL, SUBPROBLEM_SWEEPS)
    # The sweeps stop on the model's duality gap, which shrinks as the square of the distance to
    # its optimum: at the gap's rounding v can still be 1e-8 (relative) from it, and near the
    # GLM's optimum the sweeps would not move at all -- a zero step that Newton's stopping rule
    # took for convergence, 1e-8 short (35 of 240 fits in a review). On the right support one
    # solve is exact, and Newton's steps then converge as without the l1 part.
    optimum_on_the_face(A, correlation, l1, l2, v)
    full = np.zeros(hessian.shape[0])
    full[penalized] = v - w
    if free_at.size:
        full[free_at] = -solve_free(grad[free_at] + coupling.T @ (v - w))
    return full


def decrease(grad, full, w, step_w, l1, l2):
    """D: F's decrease along the step predicted at its start (< 0 for a step that descends),
    what the line search's Armijo condition takes a share of."""
    moved = w + step_w
    return (
        float(grad @ full)
        + l2 * float(w @ step_w)
        + l1 * (float(np.abs(moved).sum()) - float(np.abs(w).sum()))
    )
