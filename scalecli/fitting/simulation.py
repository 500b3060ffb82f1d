"""Simulated ladders from a known law: what a fit of such runs recovers, and how often its
bootstrap interval covers the truth.

A ladder is a set of runs (model size, final tokens), each reporting its loss at a few checkpoints
(fractions of its final tokens). Noise is multiplicative and has two parts: one offset per run
(its seed and data order, shared by all its checkpoints) and a smaller one per checkpoint. That
is what makes a learning curve's rows dependent, and why a bootstrap over rows understates the
spread while one over whole runs does not (docs/statistics.md).

Everything here is plain numpy on top of ``fitting.parametric`` and ``fitting.bootstrap``; the
fits are the ones ``scale fit`` makes (same form, objective and starts).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from scalecli.errors import InputError

CHECKPOINTS = (0.25, 0.5, 0.75, 1.0)  # fractions of a run's tokens at which it reports a loss
CHECKPOINT_NOISE_SHARE = 0.25  # per-checkpoint noise, as a share of the per-run noise
QUANTITIES = ("params", "tokens", "loss")  # at the target: N*, D* and the loss there


@dataclass(frozen=True)
class Ladder:
    """Runs to train: final model size and tokens per run, and the checkpoints each reports."""

    params: np.ndarray
    tokens: np.ndarray
    checkpoints: tuple[float, ...] = CHECKPOINTS

    @property
    def runs(self) -> int:
        return int(self.params.size)

    def rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(params, tokens, run index) per reported row."""
        k = len(self.checkpoints)
        run = np.repeat(np.arange(self.runs), k)
        frac = np.tile(np.asarray(self.checkpoints, dtype=float), self.runs)
        return self.params[run], self.tokens[run] * frac, run


def ladder_for(
    law, budgets: Sequence[float], size_factors: Sequence[float], checkpoints: tuple[float, ...] = CHECKPOINTS
) -> Ladder:
    """An IsoFLOP ladder centred on ``law``'s own compute-optimal sizes: ``size_factors`` × N*(C)
    on each budget C, tokens from the law's compute model."""
    n = np.array([target_quantities(law, c)["params"] * f for c in budgets for f in size_factors])
    c = np.repeat(np.asarray(budgets, dtype=float), len(size_factors))
    return Ladder(n, np.asarray(law.tokens_for_flops(n, c), dtype=float), checkpoints)


def simulable_form(family: str):
    """The family's first fit form, if runs of (params, tokens) can be simulated and refitted."""
    from scalecli.laws import family as family_of

    form = family_of(family).forms[0]
    if form.roles != ("params", "tokens"):
        raise InputError(
            f"simulated ladders are runs of (params, tokens); the {family} family fits "
            f"{', '.join(form.roles)}"
        )
    return form


def draw_losses(
    predict: Callable[[np.ndarray, np.ndarray], np.ndarray],
    ladder: Ladder,
    noise: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(params, tokens, loss, run) rows: the law's loss times exp(run offset + checkpoint noise)."""
    params, tokens, run = ladder.rows()
    offset = rng.normal(0.0, noise, ladder.runs)[run]
    jitter = rng.normal(0.0, noise * CHECKPOINT_NOISE_SHARE, run.size)
    return params, tokens, predict(params, tokens) * np.exp(offset + jitter), run


@dataclass
class Replication:
    """One simulated ladder, fitted and bootstrapped: the estimates and intervals at the target."""

    estimate: dict[str, float]
    intervals: dict[str, dict[str, tuple[float, float]]]  # method -> quantity -> (lo, hi)


@dataclass
class Calibration:
    """Coverage of ``level`` intervals over replications, per resampling method and quantity."""

    truth: dict[str, float]
    level: float
    replications: list[Replication] = field(default_factory=list)

    def coverage(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for rep in self.replications:
            for method, spans in rep.intervals.items():
                row = out.setdefault(method, {q: 0.0 for q in spans})
                for q, (lo, hi) in spans.items():
                    row[q] += float(lo <= self.truth[q] <= hi)
        n = max(len(self.replications), 1)
        return {m: {q: v / n for q, v in row.items()} for m, row in out.items()}

    def spread(self) -> dict[str, dict[str, float]]:
        """Relative bias and spread (standard deviation) of the estimates around the truth."""
        out = {}
        for q, true in self.truth.items():
            est = np.array([r.estimate[q] for r in self.replications], dtype=float)
            rel = est / true - 1.0
            out[q] = {"bias": float(np.nanmean(rel)), "sd": float(np.nanstd(rel))}
        return out


def law_loss(law, params, tokens) -> np.ndarray:
    """The law's loss at (params, tokens), through its own compute model."""
    from scalecli.laws import Conditions

    return np.asarray(law.loss_on_budget(params, law.train_flops(params, tokens), Conditions()))


def target_quantities(law, flops: float) -> dict[str, float]:
    """N*, D* and the loss at the compute-optimal allocation of ``flops`` under ``law``."""
    from scalecli.laws import Conditions

    cond = Conditions()
    params = law.closed_form_params(flops, cond)
    if params is None:
        raise InputError(f"the {law.family} family has no closed-form optimum to simulate against")
    n = float(np.asarray(params))
    d = float(np.asarray(law.tokens_for_flops(n, flops)))
    return {"params": n, "tokens": d, "loss": float(law_loss(law, n, d))}


def calibrate(
    family: str,
    truth: Mapping[str, float],
    ladder: Ladder,
    noise: float,
    target_flops: float,
    *,
    replications: int,
    draws: int,
    seed: int = 0,
    methods: Sequence[str] = ("rows", "runs"),
    level: float = 0.9,
    progress: Callable[[int, int], None] | None = None,
) -> Calibration:
    """Simulate ``replications`` ladders from the law ``truth`` of ``family``, fit each as
    ``scale fit`` would, bootstrap it (``draws`` refits) by rows and/or whole runs, and count how
    often the ``level`` interval of N*, D* and the loss at ``target_flops`` covers the truth."""
    from scalecli.fitting import bootstrap as boot
    from scalecli.fitting.parametric import fit
    from scalecli.laws import family as family_of
    from scalecli.numerics import percentile_interval

    if replications < 1 or draws < 1:
        raise InputError("calibration needs at least one replication and one bootstrap draw")
    spec = family_of(family)
    form = simulable_form(family)
    true_law = spec.make(dict(truth), "truth")
    result = Calibration(target_quantities(true_law, target_flops), level)
    rng = np.random.default_rng(seed)

    def at_target(params: Mapping[str, float]) -> dict[str, float]:
        try:
            return target_quantities(spec.make(dict(params), "draw"), target_flops)
        except (InputError, ValueError, FloatingPointError):
            return dict.fromkeys(QUANTITIES, float("nan"))

    for i in range(replications):
        n, d, loss, run = draw_losses(lambda a, b: law_loss(true_law, a, b), ladder, noise, rng)
        best = fit(form.name, [n, d], loss)
        estimate = at_target(best.params)
        spans: dict[str, dict[str, tuple[float, float]]] = {}
        for method in methods:
            groups = run if method == "runs" else None
            raw = boot.bootstrap(form.name, [n, d], loss, best, draws, seed + i, groups=groups)
            targets = [at_target({**best.params, **r}) for r in raw]
            spans[method] = {q: percentile_interval([t[q] for t in targets], level) for q in QUANTITIES}
        result.replications.append(Replication(estimate, spans))
        if progress is not None:
            progress(i + 1, replications)
    return result
