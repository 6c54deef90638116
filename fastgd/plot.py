"""Pictures of a fit and of a benchmark report, saved to a file (PNG, SVG, PDF, ...).

Needs the `plot` extra (python3 -m pip install -e ".[plot]" in a checkout of fastgd).
matplotlib is imported only when a picture is drawn, and only its object-oriented API is used
(a `Figure` of its own, never pyplot), so nothing depends on a display or changes matplotlib's
global backend: it works headless.
"""

import numpy as np

# Scatter plots of more points than this show a fixed random sample (a picture of 10**7 points
# is slow to draw and no clearer).
MAX_SCATTER_POINTS = 5_000


def _figure(**kwargs):
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "fastgd's plots need matplotlib; install it with "
            f'python3 -m pip install -e ".[plot]" in a checkout of fastgd ({error})'
        ) from error
    return Figure(**kwargs)


def _sample(n, seed=0):
    if n <= MAX_SCATTER_POINTS:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, MAX_SCATTER_POINTS, replace=False))


def fit_figure(X, y, result):
    """A Figure: the data with the fitted line (one feature) or predicted against actual
    (several), beside the loss history on a log scale."""
    X = np.asarray(X)
    X = X.reshape(len(X), -1)
    y = np.asarray(y).reshape(-1)
    figure = _figure(figsize=(10, 4), layout="constrained")
    data_axes, loss_axes = figure.subplots(1, 2)
    rows = _sample(len(y))
    shown = "" if len(rows) == len(y) else f" ({len(rows):,} of {len(y):,} points shown)"
    if X.shape[1] == 1:
        x = X[rows, 0].astype(np.float64)
        data_axes.scatter(x, y[rows], s=8, alpha=0.6, label="data" + shown)
        ends = np.array([x.min(), x.max()])
        data_axes.plot(
            ends, result.intercept + result.coef[0] * ends, color="C3", linewidth=2,
            label=f"y = {result.coef[0]:.4g} x + {result.intercept:.4g}",
        )  # fmt: skip
        data_axes.set_xlabel("x")
        data_axes.set_ylabel("y")
        data_axes.set_title("data and fitted line")
    else:
        predicted = X[rows].astype(np.float64) @ result.coef + result.intercept
        data_axes.scatter(y[rows], predicted, s=8, alpha=0.6, label="points" + shown)
        ends = np.array([min(y[rows].min(), predicted.min()), max(y[rows].max(), predicted.max())])
        data_axes.plot(ends, ends, color="C3", linewidth=1, label="predicted = actual")
        data_axes.set_xlabel("actual y")
        data_axes.set_ylabel("predicted y")
        data_axes.set_title(f"predicted against actual ({X.shape[1]} features)")
    data_axes.legend(loc="best", fontsize="small")

    history = np.asarray(result.loss_history)
    loss_axes.plot(np.arange(len(history)), history, color="C0")
    if np.all(history > 0):
        loss_axes.set_yscale("log")
    loss_axes.set_xlabel("iteration")
    loss_axes.set_ylabel("mean squared error" + (" (log scale)" if np.all(history > 0) else ""))
    loss_axes.set_title(f"loss: {history[0]:.4g} -> {history[-1]:.4g}")
    loss_axes.grid(True, which="both", alpha=0.3)
    return figure


def save_fit(X, y, result, path, offset=None):
    """Draw `fit_figure` and save it to `path` (the format follows the file's suffix), or
    `glm_figure` for a generalized linear model's fit (a result with a `link`; `offset`: its
    rows' offsets, or None)."""
    if hasattr(result, "link"):
        figure = glm_figure(X, y, result, offset)
    else:
        figure = fit_figure(X, y, result)
    figure.savefig(path, dpi=100)


_MEAN_LABELS = {  # what the y axis of a GLM's picture shows, by its link
    "identity": "y",
    "log": "y (the mean: exp(eta))",
    "logit": "y (the probability of 1)",
}


def glm_figure(X, y, result, offset=None):
    """A Figure of a generalized linear model's fit (`fastgd fit --loss poisson|...`): the data
    against x with the fitted mean curve (one feature), or against the linear predictor eta =
    b + x.w (+ the row's offset) with the mean as a function of it (several features, or any
    with offsets): the link's curve through the data."""
    X = np.asarray(X)
    X = X.reshape(len(X), -1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    from .families import inverse_link

    y_label = _MEAN_LABELS[result.link]

    def mean(eta):
        return inverse_link(result.link, eta)

    figure = _figure(figsize=(7, 4.5), layout="constrained")
    axes = figure.subplots()
    rows = _sample(len(y))
    shown = "" if len(rows) == len(y) else f" ({len(rows):,} of {len(y):,} points shown)"
    if X.shape[1] == 1 and offset is None:
        x = X[rows, 0].astype(np.float64)
        grid = np.linspace(x.min(), x.max(), 200)
        curve = mean(result.intercept + result.coef[0] * grid)
        x_label = "x"
    else:
        x = X[rows].astype(np.float64) @ result.coef + result.intercept
        if offset is not None:
            x = x + offset[rows]
        grid = np.linspace(x.min(), x.max(), 200)
        curve = mean(grid)
        x_label = "the linear predictor b + x . w" + (" + offset" if offset is not None else "")
        x_label += f" ({X.shape[1]} features)"
    axes.scatter(x, y[rows], s=8, alpha=0.4, label="data" + shown)
    axes.plot(grid, curve, color="C3", linewidth=2, label=f"fitted mean ({result.link} link)")
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.set_title(f"{result.n_iter} Newton steps, objective {result.loss:.6g}", fontsize="medium")
    axes.legend(loc="best", fontsize="small")
    return figure


def benchmark_figure(report):
    """A Figure: each path's nanoseconds per point per iteration, on a log scale."""
    rows = report["results"]
    figure = _figure(figsize=(8, 0.5 * len(rows) + 1.5), layout="constrained")
    axes = figure.subplots()
    labels = [row["label"] for row in rows]
    values = [row["ns_per_point_iter"] for row in rows]
    positions = np.arange(len(rows))[::-1]
    axes.barh(positions, values, color=[f"C{i}" for i in range(len(rows))])
    axes.set_yticks(positions, labels)
    axes.set_xscale("log")
    axes.set_xlabel("nanoseconds per point per iteration (log scale; shorter is faster)")
    for position, value in zip(positions, values):
        axes.annotate(f" {value:.3g}", (value, position), va="center", fontsize="small")
    config = report["config"]
    axes.set_title(f"fastgd bench: N = {config['n']:,}, {config['iters']} iterations")
    return figure


def save_benchmark(report, path):
    benchmark_figure(report).savefig(path, dpi=100)


def cv_figure(alphas, mean, spread, chosen, error_name, objective):
    """A Figure: the folds' mean test error against alpha (log scale), one standard deviation
    shaded, the chosen alpha marked."""
    figure = _figure(figsize=(7, 4.5), layout="constrained")
    axes = figure.subplots()
    axes.plot(alphas, mean, color="C0", label="mean over the folds")
    axes.fill_between(alphas, mean - spread, mean + spread, color="C0", alpha=0.2,
                      label="± one standard deviation")  # fmt: skip
    axes.axvline(chosen, color="C3", linestyle="--", label=f"chosen alpha = {chosen:.4g}")
    axes.set_xscale("log")
    axes.set_xlabel("alpha (log scale)")
    axes.set_ylabel(error_name)
    axes.set_title(f"cross-validation of {objective}", fontsize="medium")
    axes.legend()
    return figure


def save_cv_curve(alphas, mean, spread, chosen, error_name, objective, path):
    cv_figure(alphas, mean, spread, chosen, error_name, objective).savefig(path, dpi=100)
