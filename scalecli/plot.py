"""Plots (the optional ``plot`` extra): matplotlib is imported here and only here."""

from __future__ import annotations

from collections.abc import Sequence

from scalecli.errors import InputError
from scalecli.files import write_atomic


def pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError("--plot needs matplotlib: pip install 'scalecli[plot]'") from None
    return plt


def plot_sweeps(sweeps: Sequence[dict], path: str, force: bool = False) -> None:
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
    save(fig, path, force)


def save(fig, path: str, force: bool) -> None:
    plt = pyplot()

    def write(tmp: str) -> None:
        fig.savefig(tmp, dpi=120, format="png")

    try:
        write_atomic(path, write, force, flag="--plot")
    finally:
        plt.close(fig)
