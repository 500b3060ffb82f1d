"""``scale compare``: is recipe B better than recipe A, and by how much compute?

The effective compute multiplier of B over A at a budget C is the m with

    L_A(m·C) = L_B(C),

L_X(C) the loss of law X at its compute-optimal allocation of C: recipe A needs m times the
compute to reach what B reaches on C (m > 1: B is better). At a target loss L it is
C_A(L) / C_B(L), the ratio of the compute each needs. Each recipe is a law fitted to its runs
(as ``scale fit`` fits them) or a fitted law file; the interval comes from bootstrap draws of both
fits, paired when both ladders have the same runs in the same order (one resample of positions
applies to both), independent otherwise (docs/statistics.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scalecli.errors import InputError
from scalecli.numerics import percentile_interval

SPAN_DECADES = 4.0  # multipliers searched: 1e-4 to 1e4
GRID = 1601  # budgets on that span at which each law's optimal loss is evaluated


@dataclass
class Recipe:
    """One side of a comparison: its law (a Preset with draws, maybe) and where it came from."""

    label: str
    preset: Any
    configurations: np.ndarray | None = field(default=None, repr=False)  # fitted rows' inputs (a CSV)


@dataclass
class Comparison:
    baseline: str
    candidate: str
    flops: float | None
    target_loss: float | None
    multiplier: float
    interval: tuple[float, float] | None
    level: float
    draws: int
    pairing: str | None
    loss_baseline: float
    loss_candidate: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "candidate": self.candidate,
            "flops": self.flops,
            "target_loss": self.target_loss,
            "compute_multiplier": self.multiplier,
            "interval": None
            if self.interval is None
            else {"level": self.level, "compute_multiplier": list(self.interval)},
            "draws": self.draws,
            "pairing": self.pairing,
            "loss_baseline": self.loss_baseline,
            "loss_candidate": self.loss_candidate,
            "notes": self.notes,
        }


def load_recipe(path: str, *, law: str, bootstrap: int, seed: int, group: str | None) -> Recipe:
    """A recipe from a CSV of runs (fitted here, ``bootstrap`` draws) or a fitted law file."""
    from scalecli import presets

    if Path(path).suffix.lower() != ".csv":  # a fitted law file, or a preset by name
        preset = presets.load(path)
        return Recipe(Path(path).name, preset)
    from scalecli.fitting.workflow import FitReport, FitRequest, fit_runs

    report = fit_runs(
        FitRequest(
            path=path, laws=(law,), bootstrap=bootstrap, seed=seed, group=group, command="scale compare"
        )
    )
    assert isinstance(report, FitReport)  # one law: a report, not a comparison
    preset = presets.preset_from_mapping(report.to_dict()["law"], f"the fit of {path}")
    configurations = None
    if report.curves is not None:
        configurations = np.stack([np.asarray(x, dtype=float) for x in report.curves.inputs], axis=1)
    return Recipe(Path(path).name, preset, configurations)


def _optimal_losses(preset, flops: np.ndarray) -> np.ndarray:
    from scalecli.planner import allocations

    return np.asarray(allocations(preset, flops)[0]["loss"], dtype=float)


def multiplier_at_budget(baseline, candidate, flops: float) -> float:
    """m with L_baseline(m·C) = L_candidate(C); nan outside 1e-4 to 1e4."""
    goal = float(_optimal_losses(candidate, np.array([flops]))[0])
    grid = flops * np.logspace(-SPAN_DECADES, SPAN_DECADES, GRID)
    losses = _optimal_losses(baseline, grid)
    return _crossing(grid / flops, losses, goal)


def multiplier_at_loss(baseline, candidate, target: float, around: float) -> float:
    """C_baseline(L) / C_candidate(L), both found on 1e-4..1e4 × ``around`` FLOPs."""
    grid = around * np.logspace(-SPAN_DECADES, SPAN_DECADES, GRID)
    c_base = _crossing(grid, _optimal_losses(baseline, grid), target)
    c_cand = _crossing(grid, _optimal_losses(candidate, grid), target)
    return c_base / c_cand


def _crossing(x: np.ndarray, losses: np.ndarray, goal: float) -> float:
    """x at which the (falling) loss curve reaches ``goal``, interpolated in log x; nan if never."""
    ok = np.isfinite(losses)
    x, losses = x[ok], losses[ok]
    if losses.size < 2 or not (losses.min() <= goal <= losses.max()):
        return math.nan
    order = np.argsort(losses)
    return float(np.exp(np.interp(goal, losses[order], np.log(x[order]))))


def compare(
    baseline: Recipe,
    candidate: Recipe,
    *,
    flops: float | None = None,
    target_loss: float | None = None,
    level: float = 0.9,
) -> Comparison:
    """The compute multiplier of ``candidate`` over ``baseline`` and its bootstrap interval."""
    if (flops is None) == (target_loss is None):
        raise InputError("compare needs exactly one of --flops C or --target-loss L")
    a, b = baseline.preset, candidate.preset

    def one(pa, pb) -> float:
        if flops is not None:
            return multiplier_at_budget(pa, pb, flops)
        assert target_loss is not None  # exactly one of the two is given (checked above)
        return multiplier_at_loss(pa, pb, target_loss, _around(pb, target_loss))

    m = one(a, b)
    notes = []
    if not math.isfinite(m):
        raise InputError(
            f"the two laws do not reach the same loss within {10**-SPAN_DECADES:g}x to {10**SPAN_DECADES:g}x "
            "of the budget: they are not comparable there (different data or tokenizer?)"
        )
    if flops is not None:
        loss_a = float(_optimal_losses(a, np.array([flops]))[0])
        loss_b = float(_optimal_losses(b, np.array([flops]))[0])
    else:
        loss_a = loss_b = float(target_loss)  # type: ignore[arg-type]
    interval, draws, pairing = None, 0, None
    if a.draws and b.draws:
        k = min(len(a.draws), len(b.draws))
        pairing = _pairing(baseline, candidate)
        values = []
        for da, db in zip(a.draws[:k], b.draws[:k], strict=True):
            try:
                values.append(one(a.with_params(da), b.with_params(db)))
            except InputError:
                values.append(math.nan)
        finite = [v for v in values if math.isfinite(v)]
        if len(finite) < k:
            notes.append(f"{k - len(finite)} of {k} draw pairs reach no common loss in range: left out")
        if finite:
            interval, draws = percentile_interval(finite, level), len(finite)
    else:
        notes.append("no interval: a law without bootstrap draws (fit its runs with --bootstrap K)")
    return Comparison(
        baseline=baseline.label,
        candidate=candidate.label,
        flops=flops,
        target_loss=target_loss,
        multiplier=m,
        interval=interval,
        level=level,
        draws=draws,
        pairing=pairing,
        loss_baseline=loss_a,
        loss_candidate=loss_b,
        notes=notes,
    )


def _around(preset, target: float) -> float:
    """A budget near where ``preset`` reaches ``target`` (the search is centred there)."""
    grid = np.logspace(10, 34, 241)
    c = _crossing(grid, _optimal_losses(preset, grid), target)
    if not math.isfinite(c):
        raise InputError(f"{preset.name} does not reach loss {target:g} between 1e10 and 1e34 FLOPs")
    return c


def _pairing(baseline: Recipe, candidate: Recipe) -> str:
    """'paired' when both fits resampled the same runs in the same order (same seed, same ladder)."""
    a, b = baseline.configurations, candidate.configurations
    if a is not None and b is not None and a.shape == b.shape and np.allclose(a, b, rtol=1e-6):
        return "paired (the same runs in both files: one resample of positions applies to both)"
    return "independent (the files' runs differ: each fit resampled on its own)"


def run(
    baseline: str,
    candidate: str,
    *,
    flops: float | None,
    target_loss: float | None,
    law: str = "chinchilla",
    bootstrap: int = 200,
    seed: int = 0,
    group: str | None = None,
    level: float = 0.9,
) -> Comparison:
    """``scale compare``: load (or fit) both recipes with the same seed, then compare them."""
    from scalecli.fitting.workflow import MAX_BOOTSTRAP

    if (flops is None) == (target_loss is None):  # before any fit is made
        raise InputError("scale compare needs exactly one of --flops C or --target-loss L")
    if isinstance(bootstrap, bool) or not 0 <= bootstrap <= MAX_BOOTSTRAP:
        raise InputError(f"--bootstrap must be a whole number from 0 to {MAX_BOOTSTRAP:,}")
    a = load_recipe(baseline, law=law, bootstrap=bootstrap, seed=seed, group=group)
    b = load_recipe(candidate, law=law, bootstrap=bootstrap, seed=seed, group=group)
    if a.preset.family != b.preset.family:
        raise InputError(
            f"{a.label} is a {a.preset.family} law and {b.label} a {b.preset.family} law: compare laws of "
            "one family"
        )
    return compare(a, b, flops=flops, target_loss=target_loss, level=level)
