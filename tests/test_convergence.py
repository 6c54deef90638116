"""Converging to the least-squares answer: standardization, momentum, the stopping rule, the
distance bound and the conditioning warning (issue 13).

Every fast path is checked against tests/naive.py's standardized Nesterov descent, which forms
the standardized features row by row and maps the result back; `converged` and the bounds are
checked against numpy's least-squares solution.
"""

import warnings

import naive
import numpy as np
import pytest

import fastgd
from fastgd import curvature

PATHS = [
    {"method": "loop", "threads": 1},
    {"method": "loop", "threads": 2},
    {"method": "gram", "threads": 1},
]


def offset_data(rng, n=60, d=3, offset=10.0, weights=False):
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, size=d) + offset * rng.uniform(1, 2, d)
    y = X @ rng.normal(size=d) + 2.0 + 0.3 * rng.normal(size=n)
    sample_weight = rng.uniform(0.2, 2.0, size=n) if weights else None
    return X, y, sample_weight


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_standardized_steps_are_the_reference(rng, path, weights, fit_intercept):
    X, y, sample_weight = offset_data(rng, weights=weights)
    # Without an intercept only the scale changes: offset columns stay nearly collinear, and
    # L is about 2 d rather than 2.
    lr = 0.3 if fit_intercept else 0.1
    for momentum in (0.0, 0.6):
        result = fastgd.gradient_descent(
            X, y, lr=lr, n_iter=25, standardize=True, momentum=momentum,
            sample_weight=sample_weight, fit_intercept=fit_intercept, **path,
        )  # fmt: skip
        b, w, history = naive.standardized_gradient_descent(
            X, y, lr, 25, sample_weight=sample_weight, fit_intercept=fit_intercept,
            momentum=momentum,
        )  # fmt: skip
        assert result.standardized and result.momentum == momentum
        assert result.intercept == pytest.approx(b, rel=1e-9, abs=1e-12)
        np.testing.assert_allclose(result.coef, w, rtol=1e-9)
        np.testing.assert_allclose(result.loss_history, history, rtol=1e-9)


@pytest.mark.parametrize("path", PATHS)
def test_momentum_in_the_datas_coordinates_is_the_reference(rng, path):
    X, y, sample_weight = offset_data(rng, offset=1.0, weights=True)
    lr = 0.5 * fastgd.max_stable_lr(X, y, sample_weight)
    result = fastgd.gradient_descent(
        X, y, lr=lr, n_iter=30, momentum=0.8, sample_weight=sample_weight, **path
    )
    b, w, history = naive.momentum_gradient_descent(X, y, lr, 30, 0.8, sample_weight)
    assert result.intercept == pytest.approx(b, rel=1e-9)
    np.testing.assert_allclose(result.coef, w, rtol=1e-9)
    np.testing.assert_allclose(result.loss_history, history, rtol=1e-9)


def test_a_start_point_and_a_constant_column(rng):
    X, y, _ = offset_data(rng, d=3)
    X[:, 1] = 4.0  # constant: its coefficient stays where it starts
    w0 = np.array([0.1, 0.7, -0.2])
    result = fastgd.gradient_descent(X, y, lr=0.2, n_iter=15, standardize=True, b0=1.5, w0=w0)
    b, w, history = naive.standardized_gradient_descent(X, y, 0.2, 15, b0=1.5, w0=w0)
    assert result.coef[1] == 0.7
    assert result.intercept == pytest.approx(b, rel=1e-9)
    np.testing.assert_allclose(result.coef, w, rtol=1e-9)
    np.testing.assert_allclose(result.loss_history, history, rtol=1e-9)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_auto_reaches_the_optimum_and_the_bound_holds(rng, path, fit_intercept):
    X, y, sample_weight = offset_data(rng, n=200, d=4, offset=30.0, weights=True)
    result = fastgd.gradient_descent(
        X, y, standardize=True, momentum="auto", tol=1e-12, n_iter=10_000,
        sample_weight=sample_weight, fit_intercept=fit_intercept, **path,
    )  # fmt: skip
    b, w = naive.least_squares(X, y, sample_weight, fit_intercept)
    # Standardized, with an intercept, kappa is that of the features' correlations (small).
    assert result.converged and (result.n_iter < 200 or not fit_intercept)
    assert result.coef_bound is not None and result.distance_bound >= 0.0
    # The bounds hold (up to the rounding of the gradient they come from) ...
    assert np.all(np.abs(result.coef - w) <= result.coef_bound * 1.01 + 1e-12 * np.abs(w))
    assert abs(result.intercept - b) <= result.intercept_bound * 1.01 + 1e-12 * abs(b)
    # ... and tol=1e-12 means twelve digits, relative to the parameters' size.
    np.testing.assert_allclose(result.coef, w, rtol=1e-9)
    assert result.intercept == pytest.approx(b, rel=1e-9, abs=1e-12)


def test_the_loop_needs_a_hundred_times_fewer_passes(rng):
    # The target: offset features, one pass per step.
    X, y, _ = offset_data(rng, n=500, d=2, offset=5.0)
    plain = fastgd.gradient_descent(X, y, tol=1e-6, n_iter=2_000_000, method="gram")
    fast = fastgd.gradient_descent(X, y, tol=1e-6, n_iter=10_000, method="loop", standardize=True,
                      momentum="auto")  # fmt: skip
    assert plain.converged and fast.converged
    assert fast.n_iter * 100 <= plain.n_iter


def test_converged_never_means_merely_that_the_loss_stalled(rng):
    # Offset data: plain gradient descent's loss changes by less than 1e-9 per step long before
    # the parameters are near the optimum; tol now speaks of the distance.
    X, y, _ = offset_data(rng, n=200, d=2, offset=50.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fastgd.gradient_descent(X, y, tol=1e-6, n_iter=20_000, method="gram")
    # The old rule (a relative decrease of the loss below tol) would have said "converged".
    assert abs(result.loss_history[-2] - result.loss) <= 1e-6 * result.loss
    b, w = naive.least_squares(X, y)
    found, optimum = np.r_[result.intercept, result.coef], np.r_[b, w]
    far = np.linalg.norm(found - optimum) / np.linalg.norm(found)
    assert not result.converged and far > 1e-3
    assert [str(c.message) for c in caught if "may still be up to" in str(c.message)]


def test_momentum_auto_is_nesterovs_for_the_spectrum(rng):
    X, y, _ = offset_data(rng, n=100, d=2, offset=5.0)
    result = fastgd.gradient_descent(X, y, momentum="auto", n_iter=5, method="gram")
    H = np.array(naive.hessian(X))
    eigenvalues = np.linalg.eigvalsh(H)
    kappa = eigenvalues[-1] / eigenvalues[0]
    assert result.lr == pytest.approx(1 / eigenvalues[-1], rel=1e-9)
    assert result.momentum == pytest.approx((kappa**0.5 - 1) / (kappa**0.5 + 1), rel=1e-6)
    assert curvature.nesterov_momentum(0.5, 2.0) == 0.0  # kappa = 1: plain steps are optimal
    assert curvature.nesterov_momentum(0.5, float("nan")) == 0.0


def test_collinear_features_warn_and_still_fit(rng):
    x = rng.normal(size=80)
    X = np.column_stack([x, 2.0 * x, rng.normal(size=80)])
    y = X[:, 0] + X[:, 2] + rng.normal(size=80)
    with pytest.warns(fastgd.ConditioningWarning, match=r"collinear .*condition number") as got:
        result = fastgd.gradient_descent(
            X, y, standardize=True, momentum="auto", tol=1e-10, n_iter=5000
        )
    assert got[0].message.condition > curvature.KAPPA_LIMIT
    # One of the least-squares solutions: the predictions are those of lstsq's.
    b, w = naive.least_squares(X, y)
    np.testing.assert_allclose(result.predict(X), X @ w + b, rtol=1e-8, atol=1e-8)
    assert result.converged


def test_well_conditioned_data_does_not_warn(rng):
    X, y, _ = offset_data(rng, n=100, d=3, offset=1e3)  # raw kappa ~1e13; standardized ~1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fastgd.gradient_descent(X, y, standardize=True, momentum="auto", tol=1e-10, n_iter=1000)
    with pytest.warns(fastgd.ConditioningWarning, match="use standardize=True"):
        fastgd.gradient_descent(X, y, n_iter=10)


def test_the_callers_arrays_are_untouched(rng):
    X, y, sample_weight = offset_data(rng, weights=True)
    before = X.copy(), y.copy(), sample_weight.copy()
    fastgd.gradient_descent(
        X, y, sample_weight=sample_weight, standardize=True, momentum="auto", tol=1e-9
    )
    for array, copy in zip((X, y, sample_weight), before):
        np.testing.assert_array_equal(array, copy)


def test_callbacks_and_interruptions_speak_in_user_units(rng):
    X, y, _ = offset_data(rng, d=2)
    seen = []
    result = fastgd.gradient_descent(
        X, y, lr=0.2, n_iter=20, standardize=True, check_every=5,
        callback=lambda k, b, w, loss: seen.append((k, b, w, loss)),
    )  # fmt: skip
    b, w, history = naive.standardized_gradient_descent(X, y, 0.2, 10)
    k, b_seen, w_seen, loss = seen[1]
    assert k == 10 and b_seen == pytest.approx(b, rel=1e-9)
    np.testing.assert_allclose(w_seen, w, rtol=1e-9)
    assert loss == pytest.approx(history[-1], rel=1e-9)
    assert seen[-1][1] == result.intercept


def test_the_lecture_line_in_one_step(lecture_points):
    x, y = lecture_points[:, 0], lecture_points[:, 1]
    result = fastgd.gradient_descent(x, y, standardize=True, momentum="auto", tol=1e-12, n_iter=100)
    # Standardized, one feature has kappa = 1: lr = 1 / L is a Newton step.
    assert result.converged and result.n_iter <= 2 and result.momentum == 0.0
    assert result.intercept == pytest.approx(7.99102, abs=5e-6)
    assert result.coef[0] == pytest.approx(1.32243, abs=5e-6)
    slope, intercept = np.polyfit(x, y, 1)
    assert result.coef[0] == pytest.approx(slope, rel=1e-12)
    assert result.intercept == pytest.approx(intercept, rel=1e-12)


def test_bad_momentum_and_standardize_are_named():
    x, y = np.arange(5.0), np.arange(5.0)
    for bad, error in ((1.0, ValueError), (-0.1, ValueError), ("fast", TypeError)):
        with pytest.raises(error, match="momentum"):
            fastgd.gradient_descent(x, y, momentum=bad)
    with pytest.raises(TypeError, match="standardize must be True or False"):
        fastgd.gradient_descent(x, y, standardize=1)


def test_momentum_auto_above_the_lapack_limit_estimates_mu(rng, monkeypatch):
    # Above EIGVALSH_MAX_FEATURES parameters mu is estimated from above by power iteration:
    # a momentum below the optimal one (slower, never unstable), and no distance bound.
    from fastgd import _config

    X, y, _ = offset_data(rng, n=300, d=6, offset=5.0)
    options = {"momentum": "auto", "method": "gram", "standardize": True}
    exact = fastgd.gradient_descent(X, y, n_iter=5, **options)
    monkeypatch.setattr(_config, "EIGVALSH_MAX_FEATURES", 3)
    estimated = fastgd.gradient_descent(X, y, tol=1e-12, n_iter=200_000, **options)
    assert 0.0 < estimated.momentum <= exact.momentum
    assert estimated.lr == pytest.approx(exact.lr, rel=1e-9)
    assert estimated.converged and np.isnan(estimated.distance_bound)
    b, w = naive.least_squares(X, y)
    np.testing.assert_allclose(estimated.coef, w, rtol=1e-6)
    assert estimated.intercept == pytest.approx(b, rel=1e-6)


def test_the_convergence_warning_suggests_only_what_is_unused(rng):
    X, y, _ = offset_data(rng, n=100, d=2, offset=20.0)
    with pytest.warns(fastgd.ConvergenceWarning, match=r"raise n_iter$"):
        fastgd.gradient_descent(X, y, standardize=True, momentum="auto", tol=1e-12, n_iter=1)
    with pytest.warns(fastgd.ConvergenceWarning, match="use standardize=True and momentum='auto'"):
        fastgd.gradient_descent(X, y, tol=1e-12, n_iter=1)


@pytest.mark.parametrize("path", ["loop", "gram"])
@pytest.mark.parametrize("penalty", [None, "l1"])
def test_a_start_at_the_optimum_takes_no_step(rng, path, penalty):
    # The stopping rule is tested at the start too: a warm start from a converged fit (the
    # scikit-learn twins' warm_start, a path of fits) costs no step.
    X = rng.normal(size=(400, 5))
    Y = X @ rng.normal(size=(5, 2)) + 1.0 + rng.normal(size=(400, 2))
    options = dict(method=path, tol=1e-6, penalty=penalty, alpha=0.05 if penalty else 0.0)
    first = fastgd.fit(X, Y[:, 0], **options)
    again = fastgd.fit(X, Y[:, 0], **options, w0=first.coef, b0=first.intercept)
    assert first.n_iter > 0 and first.converged
    if penalty is None:  # the gradient at the returned point meets the rule
        assert again.n_iter == 0 and again.converged
        assert np.array_equal(again.coef, first.coef) and again.intercept == first.intercept
        assert again.loss_history.shape == (1,)
    else:  # the accelerated method tests its extrapolated point; the proximal point is near
        assert again.n_iter <= 3 and again.converged
    # y = 0 from w = 0: the exact optimum at the start, every target, no step.
    zero = fastgd.fit(X, np.zeros((400, 2)), method=path, tol=1e-6)
    assert np.array_equal(zero.n_iter, [0, 0]) and zero.converged


@pytest.mark.parametrize("method", ["loop", "gram"])
def test_converged_holds_at_every_scale_of_y(method):
    """The stopping rule's norms are scaled by their largest term (LAPACK's dnrm2): a sum of
    squares underflowed to 0 for a gradient below 1e-154, and a fit of y of 1e-170 "converged"
    at its start with coefficients 0. Every scale reaches the same optimum, to tol."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, 2.0, 3.0]) + 0.5 + rng.normal(size=200) * 0.1
    reference = fastgd.fit(X, y, method=method)
    for scale in (1e-170, 1e-200, 1e150):
        scaled = fastgd.fit(X, y * scale, method=method)
        assert scaled.converged
        np.testing.assert_allclose(scaled.coef / scale, reference.coef, rtol=1e-10)
        assert scaled.intercept / scale == pytest.approx(reference.intercept, rel=1e-10)


def test_count_losses_at_tiny_scales_never_claim_a_false_convergence():
    """The same for the Poisson and Gamma losses (y of 1e-170: n_iter 0, coefficients 0,
    "converged"; Gamma of 1e-70 ran to n_iter without certifying). At such scales the
    intercept is log(1e-170) = -390, whose rounding (6e-14 in every row's eta) may keep the
    gradient above the stopping rule: then the fit says it did not converge (a
    ConvergenceWarning), with coefficients right to that rounding."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 3))
    eta = X @ np.array([0.4, -0.3, 0.2]) + 1.0
    for loss, y, scale in (("poisson", rng.poisson(np.exp(eta)) * 1.0, 1e-170),
                           ("gamma", rng.gamma(2.0, np.exp(eta) / 2.0), 1e-70)):  # fmt: skip
        reference = fastgd.fit(X, y, loss=loss)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fastgd.ConvergenceWarning)
            scaled = fastgd.fit(X, y * scale, loss=loss, n_iter=20_000)
        assert reference.converged and scaled.n_iter > 0
        np.testing.assert_allclose(scaled.coef, reference.coef, rtol=1e-9, atol=1e-11)
