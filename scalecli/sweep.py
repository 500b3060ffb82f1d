"""`scale sweep`: the compute-optimal allocation over a range of budgets, vectorised."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from scalecli.errors import InfeasibleError, InputError
from scalecli.planner import PlanRequest, conditions_for, plan
from scalecli.presets import Preset


@dataclass
class Sweep:
    """Optimal allocations of one law over a range of budgets (arrays as lists)."""

    law: str
    family: str
    flops: list[float]
    params: list[float]
    tokens: list[float]
    steps: list[float]
    batch_tokens: list[float]
    tokens_per_param: list[float]
    loss: list[float]
    method: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sweep(preset: Preset, flops, batch_tokens: float | None = None) -> Sweep:
    """Compute-optimal N, D, steps and loss at each budget, vectorised over the budgets where
    the law has a closed form (one solve per budget otherwise)."""
    flops = np.asarray(flops, dtype=float)
    request = PlanRequest(flops=float(flops[0]), batch_tokens=batch_tokens)
    if preset.is_frontier:
        if batch_tokens is not None:
            plan(preset, request)  # raises the frontier's refusal
        values = preset.law.plan(flops, preset.batch)
        params, tokens, steps, loss = values["params"], values["tokens"], values["steps"], values["loss"]
        batch, method = values["batch_tokens"], "empirical frontier"
    else:
        cond = conditions_for(preset, request)
        params = preset.law.closed_form_params(flops, cond)
        if params is not None:
            tokens, steps, batch = preset.law.allocation(params, flops, cond)
            loss = preset.law.loss_on_budget(params, flops, cond)
            method = "closed form"
        else:
            params = _numeric_optimum(preset.law, flops, cond)
            tokens, steps, batch = preset.law.allocation(params, flops, cond)
            loss = preset.law.loss_on_budget(params, flops, cond)
            method = "numerical"
        _check_plausible(preset, flops, params, tokens, steps, batch, loss)
    return Sweep(
        law=preset.name,
        family=preset.family,
        flops=flops.tolist(),
        params=np.asarray(params).tolist(),
        tokens=np.asarray(tokens).tolist(),
        steps=np.asarray(steps).tolist(),
        batch_tokens=np.asarray(batch).tolist(),
        tokens_per_param=(np.asarray(tokens) / np.asarray(params)).tolist(),
        loss=np.asarray(loss).tolist(),
        method=method,
    )


def _numeric_optimum(law, flops: np.ndarray, cond) -> np.ndarray:
    """argmin over N of the loss along each budget, all budgets at once (numerics.argmin_rows):
    the same search the planner runs for one budget, vectorised, so a 10,000-point sweep takes
    seconds, not minutes."""
    from scalecli.numerics import argmin_rows

    def objective(x):
        return law.loss_on_budget(np.exp(x), flops[:, None], cond)

    return np.exp(argmin_rows(objective, np.zeros_like(flops), np.log(flops / 6.0), grid=33))


def _check_plausible(preset: Preset, flops, params, tokens, steps, batch, loss) -> None:
    """The same plausibility a single plan must meet (planner.check_plausible), per budget."""
    from scalecli.planner import Plan, check_plausible

    for i, c in enumerate(np.asarray(flops)):
        n, d = float(params[i]), float(tokens[i])
        p = Plan(
            law=preset.name, family=preset.family, params=n, tokens=d, steps=float(steps[i]),
            batch_tokens=float(batch[i]), tokens_per_param=d / n, loss=float(loss[i]),
            train_flops=float(c), inference_flops=0.0, total_flops=float(c),
        )  # fmt: skip
        try:
            check_plausible(preset, p)
        except InfeasibleError as exc:
            raise InfeasibleError(f"at {c:.3g} FLOPs: {exc}; narrow --flops-from/--flops-to") from None


def budgets(flops_from: float, flops_to: float, points: int):
    """Log-spaced budgets from ``flops_from`` to ``flops_to`` inclusive."""
    if points < 2:
        raise InputError(f"--points must be at least 2, got {points}")
    if points > 10_000:
        raise InputError(f"--points must be at most 10000, got {points}")
    if flops_to <= flops_from:
        raise InputError(f"--flops-to ({flops_to:g}) must be above --flops-from ({flops_from:g})")
    return np.logspace(math.log10(flops_from), math.log10(flops_to), points)
