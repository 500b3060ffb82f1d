"""``scale design``: which small runs to train before a big one, and how precisely they will pin
the big run's N*, D* and loss.

A design is an IsoFLOP ladder centred on a prior law's own optimum: ``budgets`` budgets a factor
``budget_factor`` apart (the largest set by the compute the user spends on the ladder), and at each
``sizes`` model sizes spread log-evenly over ``spread``x either side of the prior's N*(C). The
defaults follow what the literature found to work (at least 5 sizes and 3 budgets, budgets in
factors of 2, about ±4x around the optimum; Porian et al. 2024, Choshen et al. 2024). Its
predicted precision comes from simulation: draw the ladder's losses from the prior with the given
run-to-run noise, fit them (variable projection, the same objective as ``scale fit``), solve the
target, repeat; the spread and bias of the answers around the prior's own target are the
precision the ladder buys (docs/statistics.md).

``next_runs`` ranks candidate runs for a ladder already trained: each candidate's reduction of the
predicted variance of ln N* at the target per FLOP, from the fitted law's linearisation (a
cost-aware V-optimal criterion; Li et al. 2026 describe one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scalecli.errors import InputError
from scalecli.fitting import simulation as sim

MAX_REPLICATIONS = 1_000
MAX_RUNS = 200


@dataclass(frozen=True)
class Shape:
    """How a ladder is laid out."""

    sizes: int = 5
    budgets: int = 3
    spread: float = 4.0  # sizes from N*/spread to N*·spread at each budget
    budget_factor: float = 2.0

    def label(self) -> str:
        return (
            f"{self.sizes} sizes x {self.budgets} budgets, ±{self.spread:g}x, budgets x{self.budget_factor:g}"
        )

    def size_factors(self) -> np.ndarray:
        return np.exp(np.linspace(-math.log(self.spread), math.log(self.spread), self.sizes))

    def relative_budgets(self) -> np.ndarray:
        """Budgets over the largest one, smallest first."""
        return self.budget_factor ** -np.arange(self.budgets - 1, -1, -1, dtype=float)


@dataclass
class Design:
    shape: Shape
    target_flops: float
    ladder_flops: float
    noise: float
    runs: list[dict[str, float]]
    truth: dict[str, float]  # the prior's own answer at the target
    precision: dict[str, dict[str, float]] = field(default_factory=dict)
    replications: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "design": self.shape.label(),
            "sizes": self.shape.sizes,
            "budgets": self.shape.budgets,
            "spread": self.shape.spread,
            "budget_factor": self.shape.budget_factor,
            "target_flops": self.target_flops,
            "ladder_flops": self.ladder_flops,
            "fraction": self.ladder_flops / self.target_flops,
            "noise": self.noise,
            "prior_target": self.truth,
            "precision": self.precision,
            "replications": self.replications,
            "failed_replications": self.failed,
            "runs": self.runs,
            "notes": self.notes,
        }


def _check_prior(preset) -> Any:
    from scalecli.laws import Law

    law = preset.law
    if not isinstance(law, Law):
        raise InputError(
            f"{preset.name} is an empirical frontier: a design needs a loss law to simulate runs"
        )
    sim.simulable_form(preset.family)
    return law


def ladder(preset, shape: Shape, target_flops: float, ladder_flops: float) -> sim.Ladder:
    """The runs of a design: its total compute is ``ladder_flops``."""
    law = _check_prior(preset)
    if ladder_flops >= target_flops:
        raise InputError(
            f"the ladder ({ladder_flops:.3g} FLOPs) costs as much as the target run ({target_flops:.3g}): "
            "spend a fraction of it"
        )
    rel = shape.relative_budgets()
    top = ladder_flops / (shape.sizes * float(rel.sum()))  # below the target, as the ladder is
    return sim.ladder_for(law, list(top * rel), list(shape.size_factors()), checkpoints=(1.0,))


def design(
    preset,
    target_flops: float,
    ladder_flops: float,
    *,
    noise: float = 0.01,
    shape: Shape | None = None,
    replications: int = 100,
    seed: int = 0,
    hparams=None,
    hardware=None,
) -> Design:
    """A ladder for ``target_flops`` costing ``ladder_flops``, and its simulated precision."""
    shape = shape or Shape()
    _validate(shape, noise, replications)
    law = _check_prior(preset)
    lad = ladder(preset, shape, target_flops, ladder_flops)
    truth = sim.target_quantities(law, target_flops)
    out = Design(shape, target_flops, ladder_flops, noise, _runs(preset, lad, hparams, hardware), truth)
    out.precision, out.failed = _precision(preset, lad, noise, target_flops, truth, replications, seed)
    out.replications = replications
    if ladder_flops > 0.5 * target_flops:
        out.notes.append("the ladder costs more than half the target run")
    n_range = out.precision["params"]
    if math.isfinite(n_range["lo"]) and n_range["hi"] / n_range["lo"] > 4.0:
        out.notes.append(
            f"at {noise:.2%} noise this ladder leaves N* uncertain by more than a factor of 4 (90% range): "
            "spend more compute on it, add sizes or budgets (--compare), or repeat runs to lower the noise"
        )
    return out


def _validate(shape: Shape, noise: float, replications: int) -> None:
    if not 3 <= shape.sizes <= 25:
        raise InputError(f"--sizes must be 3 to 25 (a parabola needs 3), got {shape.sizes}")
    if not 2 <= shape.budgets <= 10:
        raise InputError(f"--budgets must be 2 to 10 (an exponent needs 2), got {shape.budgets}")
    if shape.sizes * shape.budgets > MAX_RUNS:
        raise InputError(f"a ladder of more than {MAX_RUNS} runs is refused")
    if not 1.0 < shape.spread <= 100.0:
        raise InputError(f"--spread must be above 1 and at most 100, got {shape.spread:g}")
    if not 1.0 < shape.budget_factor <= 100.0:
        raise InputError(f"--budget-factor must be above 1 and at most 100, got {shape.budget_factor:g}")
    if not 0.0 < noise <= 0.5:
        raise InputError(f"--noise is a relative run-to-run spread, above 0 and at most 0.5; got {noise:g}")
    if isinstance(replications, bool) or not 1 <= replications <= MAX_REPLICATIONS:
        raise InputError(f"--replications must be 1 to {MAX_REPLICATIONS:,}, got {replications}")


def _runs(preset, lad: sim.Ladder, hparams, hardware) -> list[dict[str, float]]:
    from scalecli import hparams as hp
    from scalecli.laws import Conditions

    law = preset.law
    cond = Conditions(batch=preset.batch)
    out = []
    for n, d in zip(lad.params, lad.tokens, strict=True):
        flops = float(law.train_flops(n, d))
        _, steps, batch = law.allocation(n, flops, cond)
        row = {
            "params": float(n),
            "tokens": float(d),
            "flops": flops,
            "steps": float(steps),
            "batch_tokens": float(batch),
        }
        if hparams is not None:
            lr, batch_h = hp.evaluate(hparams, float(n), float(d), flops)
            row.update(learning_rate=lr, batch_tokens=batch_h, steps=float(d) / batch_h)
        if hardware is not None:
            train = hardware.train
            row["gpu_hours"] = train.gpu_hours(flops)
            if train.usd_per_gpu_hour is not None:
                row["cost_usd"] = row["gpu_hours"] * train.usd_per_gpu_hour
        out.append(row)
    return out


def _precision(preset, lad, noise, target_flops, truth, replications, seed):
    """Relative bias (median) and the 5th-95th percentile range of estimate / truth."""
    from scalecli.fitting.parametric import fit, fit_projected
    from scalecli.laws import family
    from scalecli.numerics import percentile_interval

    spec = family(preset.family)
    form = sim.simulable_form(preset.family)
    search = fit_projected if (form.profile or form.projection) is not None else fit
    law = preset.law
    rng = np.random.default_rng(seed)
    ratios: dict[str, list[float]] = {q: [] for q in sim.QUANTITIES}
    failed = 0
    for _ in range(replications):
        n, d, loss, _ = sim.draw_losses(lambda a, b: sim.law_loss(law, a, b), lad, noise, rng)
        try:
            res = search(form.name, [n, d], loss)
            got = sim.target_quantities(spec.make(dict(res.params), "draw"), target_flops)
        except (InputError, ValueError, FloatingPointError, np.linalg.LinAlgError):
            failed += 1
            continue
        for q in sim.QUANTITIES:
            ratios[q].append(got[q] / truth[q])
    out = {}
    for q, values in ratios.items():
        v = np.array([x for x in values if math.isfinite(x)])
        if v.size == 0:
            out[q] = {"bias": math.nan, "lo": math.nan, "hi": math.nan}
            continue
        lo, hi = percentile_interval(v, 0.9)
        out[q] = {"bias": float(np.median(v) - 1.0), "lo": lo, "hi": hi}
    return out, failed


ALTERNATIVES = (
    Shape(),
    Shape(sizes=7, budgets=3, spread=8.0),
    Shape(sizes=5, budgets=5, spread=4.0),
)


def alternatives(
    preset, target_flops, ladder_flops, *, shape: Shape, noise, replications, seed
) -> list[Design]:
    """Two other ladders (ALTERNATIVES) for the same compute as ``shape``'s, with their precision."""
    others = [s for s in ALTERNATIVES if s != shape][:2]
    return [
        design(preset, target_flops, ladder_flops, noise=noise, shape=s, replications=replications, seed=seed)
        for s in others
    ]


def next_runs(preset, path: str, target_flops: float, *, top: int = 10) -> dict[str, Any]:
    """Rank candidate next runs for the ladder in ``path`` (a runs CSV, fitted here with the prior's
    family) by how much each would shrink the predicted variance of ln N* at the target, per FLOP.

    Linearised: with J the Jacobian of ln L_hat in the fit's coordinates at the runs and s² the
    residual variance, the coordinates' covariance is s²·(JᵀJ)⁻¹ and Var ln N* = gᵀ(JᵀJ)⁻¹g·s²,
    g the gradient of ln N* at the target. A candidate adds its row j: (JᵀJ + jjᵀ). Candidates are
    sizes at 1/4x to 4x of the fitted N*(C) on the largest budget run so far and on 2x and 4x of it."""
    from scalecli.fitting import parametric as pm
    from scalecli.fitting.data import read_runs
    from scalecli.laws import family

    _check_prior(preset)
    spec = family(preset.family)
    form = sim.simulable_form(preset.family)
    table = read_runs(path)
    missing = [r for r in form.roles if not table.has(r)]
    if missing:
        raise InputError(f"data file {path!r}: no {missing[0]} column (needed by the {form.name} form)")
    inputs = [table[r] for r in form.roles]
    best = pm.fit(form.name, inputs, table["loss"])
    prob = pm._problem(form.name, inputs, table["loss"], None, pm.DEFAULT_DELTA, None)
    theta = np.asarray(best.theta, dtype=float)

    lp, J = prob.jacobian(theta)
    dof = max(prob.points - len(prob.free), 1)
    s2 = float((lp - prob.y) @ (lp - prob.y)) / dof
    info = J.T @ J

    def ln_n_star(t: np.ndarray) -> float:
        law = spec.make(pm._natural(prob, t), "fit")
        return math.log(sim.target_quantities(law, target_flops)["params"])

    g = np.empty(theta.size)
    for k in range(theta.size):
        h = 1e-5 * max(1.0, abs(theta[k]))
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        g[k] = (ln_n_star(up) - ln_n_star(down)) / (2 * h)
    base_var = float(g @ np.linalg.pinv(info) @ g) * s2
    fitted = spec.make(dict(best.params), "fit")
    flops_seen = np.asarray(fitted.train_flops(table["params"], table["tokens"]), dtype=float)
    top_budget = float(flops_seen.max())
    candidates = []
    for factor in (1.0, 2.0, 4.0):
        c = top_budget * factor
        n_star = float(sim.target_quantities(fitted, c)["params"])
        for f in np.exp(np.linspace(-math.log(4.0), math.log(4.0), 5)):
            n = n_star * f
            d = float(fitted.tokens_for_flops(n, c))
            j = prob.jacobian(theta, (np.array([math.log(n)]), np.array([math.log(d)])))[1][0]
            var = float(g @ np.linalg.pinv(info + np.outer(j, j)) @ g) * s2
            candidates.append(
                {
                    "params": n,
                    "tokens": d,
                    "flops": c,
                    "sd_ln_n_star": math.sqrt(max(var, 0.0)),
                    "variance_reduction": base_var - var,
                    "reduction_per_exaflop": (base_var - var) / (c / 1e18),
                }
            )
    candidates.sort(key=lambda r: -r["reduction_per_exaflop"])
    return {
        "law": preset.name,
        "data": path,
        "runs": table.rows_used,
        "target_flops": target_flops,
        "n_star": float(sim.target_quantities(fitted, target_flops)["params"]),
        "sd_ln_n_star": math.sqrt(max(base_var, 0.0)),
        "candidates": candidates[:top],
    }


def flops_for_params(preset, params: float) -> float:
    """The budget whose compute-optimal size under the prior is ``params`` (for --target-params)."""
    law = _check_prior(preset)

    def n_star(log_c: float) -> float:
        return sim.target_quantities(law, math.exp(log_c))["params"]

    lo, hi = math.log(1e12), math.log(1e36)
    if not n_star(lo) <= params <= n_star(hi):  # N*(C) rises with C
        raise InputError(
            f"{preset.name} never makes {params:.3g} parameters compute-optimal between 1e12 and 1e36 FLOPs"
        )
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if n_star(mid) < params else (lo, mid)
    return math.exp(0.5 * (lo + hi))
