"""The Poisson and Gamma losses on the loop path (issue 28): fit(loss="poisson") and
fit(loss="gamma") minimize the mean of half the family's unit deviance at the mean e^p (+ the
penalty), by the same accelerated gradient steps as every loss, on every backend -- against the
slow reference step by step, against scikit-learn's PoissonRegressor and GammaRegressor and
statsmodels' GLM at the optimum (on data sets statsmodels ships), with lr="auto"'s restarts,
and with their domains' errors named."""

import naive
import numpy as np
import pytest

import fastgd

PATHS = [{"method": "loop", "threads": 1}, {"method": "loop", "threads": 2}]
FAMILIES = ["poisson", "gamma", "tweedie 1.5"]


def counts(rng, family, n=200, d=3, scale=1.0):
    """Rows and targets of the family (counts, positive amounts, or compound Poisson-Gamma
    amounts with zeros), the log-mean about 1."""
    X = rng.normal(1.0, 1.0, size=(n, d))
    eta = (X - 1.0) @ np.array([0.4, -0.3, 0.2])[:d] * scale + 1.0
    if family == "poisson":
        return X, rng.poisson(np.exp(eta)).astype(float)
    if family == "tweedie 1.5":  # a Poisson number of Gamma amounts
        return X, np.array([rng.gamma(2.0, 0.5, size=k).sum() for k in rng.poisson(np.exp(eta))])
    return X, rng.gamma(2.0, np.exp(eta) / 2.0)


def loss_options(family):
    """fit's loss options for the family's name here ("tweedie 1.5": loss="tweedie",
    power=1.5)."""
    name, _, power = family.partition(" ")
    return {"loss": name, "power": float(power)} if power else {"loss": name}


def reference_options(family):
    name, _, power = family.partition(" ")
    return {"family": name, "power": float(power)} if power else {"family": name}


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("standardize", [False, True])
def test_steps_are_the_reference(rng, family, path, standardize):
    X, y = counts(rng, family, n=60)
    weights = rng.uniform(0.2, 2.0, size=60)
    lr = 0.05
    for momentum in (0.0, 0.6):
        result = fastgd.gradient_descent(
            X, y, lr=lr, n_iter=20, momentum=momentum, standardize=standardize,
            sample_weight=weights, b0=0.5, penalty="l2", alpha=0.01, **loss_options(family),
            **path,
        )  # fmt: skip
        b, w, history = naive.standardized_gradient_descent(
            X, y, lr, 20, sample_weight=weights, momentum=momentum, standardize=standardize,
            b0=0.5, l2=0.01, **reference_options(family),
        )  # fmt: skip
        assert result.intercept == pytest.approx(b, rel=1e-9, abs=1e-12)
        np.testing.assert_allclose(result.coef, w, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(result.loss_history, history, rtol=1e-9)


def _peer(family, alpha):
    from sklearn.linear_model import GammaRegressor, PoissonRegressor, TweedieRegressor

    options = {"alpha": alpha, "solver": "newton-cholesky", "tol": 1e-14, "max_iter": 10_000}
    if family.startswith("tweedie"):
        return TweedieRegressor(power=float(family.split()[1]), link="log", **options)
    return (PoissonRegressor if family == "poisson" else GammaRegressor)(**options)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("path", [*PATHS, {"sparse": True}])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_optimum_is_scikit_learns(rng, family, path, weighted):
    """fit(loss=family, penalty="l2", alpha=a, standardize=False) is scikit-learn's
    PoissonRegressor(alpha=a) (GammaRegressor): the mean half deviance + a/2 |w|², the
    defaults (lr="auto", momentum, tol) reaching it."""
    X, y = counts(rng, family)
    weights = rng.uniform(0.5, 2.0, size=len(y)) if weighted else None
    alpha = 1e-2
    options = dict(path)
    if options.pop("sparse", False):
        import scipy.sparse

        data = scipy.sparse.csr_matrix(X)
    else:
        data = X
    result = fastgd.fit(data, y, penalty="l2", alpha=alpha, standardize=False,
                        sample_weight=weights, **loss_options(family), **options)  # fmt: skip
    expected = _peer(family, alpha).fit(X, y, sample_weight=weights)
    assert result.converged and result.method == "loop"
    assert result.coef == pytest.approx(expected.coef_, rel=1e-8, abs=1e-10)
    assert result.intercept == pytest.approx(expected.intercept_, rel=1e-8, abs=1e-10)


STATSMODELS_CASES = [  # (data set, column of y, family)
    ("cpunish", "EXECUTIONS", "poisson"),  # executions by US state (counts)
    ("scotland", "YES", "gamma"),  # the share voting yes, by council (> 0)
]


@pytest.mark.parametrize("name, column, family", STATSMODELS_CASES)
def test_statsmodels_glm_on_its_own_data(name, column, family):
    """Unpenalized, on data sets statsmodels ships, fit's defaults (standardized steps, plain
    ones: momentum="auto" is 0 for these losses, tol) reach statsmodels' GLM (IRLS at its
    tightest tolerance) to 1e-7 of the coefficients."""
    sm = pytest.importorskip("statsmodels.api")
    data = getattr(sm.datasets, name).load_pandas()
    X = np.asarray(data.exog, dtype=np.float64)
    X = X[:, X.std(axis=0) > 0]
    y = np.asarray(data.endog[column] if hasattr(data.endog, "columns") else data.endog,
                   dtype=np.float64)  # fmt: skip
    kind = sm.families.Poisson() if family == "poisson" else sm.families.Gamma(
        sm.families.links.Log())  # fmt: skip
    expected = sm.GLM(y, sm.add_constant(X), family=kind).fit(tol=1e-14, maxiter=1000)
    result = fastgd.fit(X, y, loss=family)
    assert result.converged
    parameters = np.append(result.intercept, result.coef)
    scale = np.abs(expected.params).max()
    assert np.abs(parameters - expected.params).max() <= 1e-7 * scale


def test_lr_auto_restarts_with_a_shorter_step_where_the_loss_rises(rng, monkeypatch):
    """lr="auto" guesses the Poisson loss's curvature (it has no bound) from the start and y's
    mean: on counts whose means spread far above their average the guess is short, the loss
    rises, and the fit starts again with a quarter of the step, as often as needed: the
    optimum is reached, never a DivergenceError. A given lr that diverges still raises it."""
    import importlib

    fit_module = importlib.import_module("fastgd.fit")  # the module (fastgd.fit is the function)
    X, y = counts(rng, "poisson", n=300, scale=6.0)  # log-means spread over about +-6
    starts = []
    original = fit_module._start_loss
    monkeypatch.setattr(fit_module, "_start_loss",
                        lambda *a, **k: starts.append(1) or original(*a, **k))  # fmt: skip
    alpha = 1e-2
    result = fastgd.fit(X, y, loss="poisson", penalty="l2", alpha=alpha, standardize=False,
                        momentum=0.0)  # fmt: skip
    assert len(starts) > 1  # restarted
    assert result.converged
    # The optimum by fastgd's Newton solver (tests/test_glm.py checks it against scikit-learn's
    # and statsmodels'; scikit-learn's newton-cholesky falls back to lbfgs on these counts).
    from fastgd import glm

    expected = glm.fit_glm(glm.FAMILIES["poisson"], X, y, None, alpha=alpha, fit_intercept=True,
                           tol=1e-14, max_iter=100)  # fmt: skip
    assert result.coef == pytest.approx(expected.coef, rel=1e-7, abs=1e-9)
    with pytest.raises(fastgd.DivergenceError):
        fastgd.fit(X, y, loss="poisson", lr=1e3, standardize=False, momentum=0.0)
    # fit's defaults on the same counts: plain steps (momentum="auto" is 0 here: with momentum
    # the loss wandered between 8 and 100, far above the optimum's 0.45 and below the start's
    # 537, where no rise above the start showed the step too long), converged.
    defaults = fastgd.fit(X, y, loss="poisson")
    assert defaults.converged and defaults.momentum == 0.0


@pytest.mark.parametrize("family", FAMILIES)
def test_the_default_start_is_the_best_constant(rng, family):
    """Where fit has the moments and the start is the default one, the log link's losses start
    from b = log(y's mean): the best constant model, whose curvature is the optimum's scale
    (counts of 1000 have curvature 1000 there, 1 at b = 0)."""
    X, y = counts(rng, family, n=100)
    y = y * 1000.0 if family != "poisson" else rng.poisson(1000.0 * np.exp(0.1 * X[:, 0])) * 1.0
    options = loss_options(family)
    first = fastgd.gradient_descent(X, y, n_iter=0, **options)
    assert first.intercept == pytest.approx(np.log(y.mean()), rel=1e-12)
    assert fastgd.gradient_descent(X, y, n_iter=0, b0=1.0, **options).intercept == 1.0
    assert fastgd.fit(X, y, **options).converged


def test_dask_is_the_cpu(rng):
    da = pytest.importorskip("dask.array")
    import dask

    X, y = counts(rng, "poisson", n=120)
    options = {"loss": "poisson", "lr": 0.05, "n_iter": 30, "b0": 1.0}
    direct = fastgd.gradient_descent(X, y, method="loop", **options)
    with dask.config.set(scheduler="sync"):
        on_dask = fastgd.gradient_descent(
            da.from_array(X, chunks=(50, 3)), da.from_array(y, chunks=50), **options
        )  # fmt: skip
        np.testing.assert_allclose(on_dask.coef, direct.coef, rtol=1e-10)
        np.testing.assert_allclose(on_dask.loss_history, direct.loss_history, rtol=1e-10)
        with pytest.raises(ValueError, match=r"y\[7\] = -2, but loss='poisson' needs counts"):
            fastgd.fit(da.from_array(X, chunks=(50, 3)),
                       da.from_array(np.where(np.arange(120) == 7, -2.0, y), chunks=50),
                       loss="poisson")  # fmt: skip


def test_what_they_refuse_is_named(rng):
    X, y = counts(rng, "poisson", n=50)
    with pytest.raises(ValueError, match=r"gram.*poisson|poisson.*gram"):
        fastgd.fit(X, y, loss="poisson", method="gram")
    with pytest.raises(ValueError, match=r"y\[3\] = -1, but loss='poisson' needs counts y >= 0"):
        fastgd.fit(X, np.where(np.arange(50) == 3, -1.0, y), loss="poisson")
    with pytest.raises(ValueError, match=r"y\[2\] = 0, but loss='gamma' needs y > 0"):
        fastgd.fit(X, np.where(np.arange(50) == 2, 0.0, y + 1.0), loss="gamma")
    with pytest.raises(ValueError, match=r"loss='gamma' fits one target at a time"):
        fastgd.fit(X, np.column_stack([y, y]) + 1.0, loss="gamma")
    with pytest.raises(ValueError, match=r"loss must be one of .*'poisson', 'gamma', 'tweedie'"):
        fastgd.fit(X, y, loss="binomial")
    for power in (0.0, 0.5, 3.0):
        with pytest.raises(
            ValueError, match=rf"power={power:g}: loss='tweedie' takes powers from 1"
        ):
            fastgd.fit(X, y, loss="tweedie", power=power)
    with pytest.raises(ValueError, match=r"y\[4\] = -1, but loss='tweedie' with power=1.5 needs"):
        fastgd.fit(X, np.where(np.arange(50) == 4, -1.0, y), loss="tweedie", power=1.5)
    # Powers 1 and 2 are the Poisson and Gamma losses themselves.
    assert fastgd.fit(X, y, loss="tweedie", power=1.0, n_iter=3, tol=None).coef == pytest.approx(
        fastgd.fit(X, y, loss="poisson", n_iter=3, tol=None).coef, rel=0, abs=0
    )
