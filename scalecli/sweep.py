"""`scale sweep`: the compute-optimal allocation over a range of budgets, vectorised."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from scalecli.errors import InputError
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
            plans = [plan(preset, PlanRequest(flops=float(c), batch_tokens=batch_tokens)) for c in flops]
            params, tokens, steps, batch, loss = (
                np.array([getattr(p, f) for p in plans])
                for f in ("params", "tokens", "steps", "batch_tokens", "loss")
            )
            method = "numerical"
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


def budgets(flops_from: float, flops_to: float, points: int):
    """Log-spaced budgets from ``flops_from`` to ``flops_to`` inclusive."""
    if points < 2:
        raise InputError(f"--points must be at least 2, got {points}")
    if points > 10_000:
        raise InputError(f"--points must be at most 10000, got {points}")
    if flops_to <= flops_from:
        raise InputError(f"--flops-to ({flops_to:g}) must be above --flops-from ({flops_from:g})")
    return np.logspace(math.log10(flops_from), math.log10(flops_to), points)
