"""`scale sweep`: the compute-optimal allocation over a range of budgets, vectorised."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from scalecli.errors import InfeasibleError, InputError, ref
from scalecli.planner import FRONTIER, allocations
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
    settings: dict[str, list[float]] | None = None  # per budget, what the law chose (e.g. train_bits)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.settings is None:
            out.pop("settings")
        return out


def sweep(preset: Preset, flops, batch_tokens: float | None = None) -> Sweep:
    """Compute-optimal N, D, steps and loss at each budget, vectorised over the budgets
    (planner.allocations)."""
    flops = np.asarray(flops, dtype=float)
    values, method = allocations(preset, flops, batch_tokens)
    params, tokens, steps = values["params"], values["tokens"], values["steps"]
    batch, loss = values["batch_tokens"], values["loss"]
    if method != FRONTIER:
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
        settings={k: np.asarray(v).tolist() for k, v in values.items() if k not in ALLOCATION_KEYS} or None,
    )


ALLOCATION_KEYS = ("params", "tokens", "steps", "batch_tokens", "loss")


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
            raise InfeasibleError(
                f"at {c:.3g} FLOPs: {exc.raw}; narrow {ref('flops_from')}/{ref('flops_to')}"
            ) from None


def budgets(flops_from: float, flops_to: float, points: int):
    """Log-spaced budgets from ``flops_from`` to ``flops_to`` inclusive."""
    if points < 2:
        raise InputError(f"{ref('points')} must be at least 2, got {points}")
    if points > 10_000:
        raise InputError(f"{ref('points')} must be at most 10000, got {points}")
    if flops_to <= flops_from:
        raise InputError(
            f"{ref('flops_to')} ({flops_to:g}) must be above {ref('flops_from')} ({flops_from:g})"
        )
    return np.logspace(math.log10(flops_from), math.log10(flops_to), points)
