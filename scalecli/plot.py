"""Plots (the optional ``plot`` extra): matplotlib is imported here and only here."""

from __future__ import annotations

from collections.abc import Sequence

from scalecli.errors import InputError


def pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError("--plot needs matplotlib: pip install 'scalecli[plot]'") from None
    return plt


def plot_sweeps(sweeps: Sequence[dict], path: str) -> None:
    """N*(C) and D*(C) on log axes, one line per law."""
    plt = pyplot()
    fig, (ax_n, ax_d) = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
    for s in sweeps:
        ax_n.plot(s["flops"], s["params"], marker="o", ms=3, label=s["law"])
        ax_d.plot(s["flops"], s["tokens"], marker="o", ms=3, label=s["law"])
    for ax, what in ((ax_n, "optimal parameters N*"), (ax_d, "optimal training tokens D*")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("training compute C (FLOPs)")
        ax.set_ylabel(what)
        ax.grid(True, which="both", alpha=0.3)
    ax_n.legend(fontsize=8)
    fig.suptitle("Compute-optimal allocation (params follow each law's own convention)", fontsize=10)
    save(fig, path)


def save(fig, path: str) -> None:
    """Write the figure to ``path`` (a temporary file of files.Outputs, moved into place later)."""
    plt = pyplot()
    try:
        fig.savefig(path, dpi=120, format="png")
    finally:
        plt.close(fig)


def plot_fit(curves, path: str) -> None:
    """Loss against the form's second input (tokens or steps) per model size with the fitted curves
    (further inputs, e.g. the batch, held at each size's median), and the residuals."""
    import numpy as np

    plt = pyplot()
    fit, loss = curves.fit, curves.loss
    params, x2, *rest = curves.inputs
    groups = np.round(np.log10(params) / 0.05).astype(int)  # sizes within ~12% share a curve
    fig, (ax, ax_r) = plt.subplots(1, 2, figsize=(11, 4.4), constrained_layout=True)
    cmap = plt.get_cmap("viridis")
    keys = sorted(set(groups.tolist()))
    for i, key in enumerate(keys):
        sel = groups == key
        colour = cmap(i / max(1, len(keys) - 1))
        ax.scatter(x2[sel], loss[sel], s=8, color=colour)
        xs = np.geomspace(x2[sel].min(), x2[sel].max(), 50)
        held = [np.full_like(xs, float(np.median(x[sel]))) for x in (params, *rest)]
        ax.plot(xs, fit.predict([held[0], xs, *held[1:]]), color=colour, lw=1)
    ax.set_xscale("log")
    ax.set_xlabel(curves.roles[1])
    ax.set_ylabel("loss")
    ax.set_title(f"{fit.form} fit: data and fitted curves per model size", fontsize=9)
    rel = (fit.predict(curves.inputs) - loss) / loss
    ax_r.scatter(params, 100 * rel, s=8, c=np.log10(x2), cmap="viridis")
    ax_r.axhline(0, color="k", lw=0.8)
    ax_r.set_xscale("log")
    ax_r.set_xlabel("params")
    ax_r.set_ylabel("residual (predicted - observed), %")
    save(fig, path)


def plot_isoflop(iso: dict, path: str) -> None:
    """N* per budget and the fitted power law."""
    import numpy as np

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2), constrained_layout=True)
    optima = [o for o in iso["optima"] if o.get("params")]
    c = np.array([o["flops"] for o in optima])
    n = np.array([o["params"] for o in optima])
    ax.scatter(c, n, label="parabola vertex per budget")
    fit_c = np.geomspace(c.min(), c.max(), 50)
    coef = n[0] / c[0] ** iso["n_exponent"]
    slope, intercept = np.polyfit(np.log(c), np.log(n), 1)
    coef = float(np.exp(intercept))
    ax.plot(fit_c, coef * fit_c**slope, label=f"N* ∝ C^{iso['n_exponent']:.3f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training compute C (FLOPs)")
    ax.set_ylabel("compute-optimal params N*")
    ax.legend(fontsize=8)
    save(fig, path)
