"""`scale predict`: the loss and FLOPs of a given configuration, and how far it is from optimal.

The overhead is C / C_opt(L) - 1 (percent), C_opt(L) the least training compute that reaches the
same loss under the same law; with inference demand, the same over lifetime FLOPs (Sardana et al.).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from scalecli.errors import InfeasibleError, InputError, ref
from scalecli.laws import Law
from scalecli.planner import PlanRequest, conditions_for, loss_law, loss_scale_note, plan
from scalecli.presets import Preset
from scalecli.units import RANGES


@dataclass
class Prediction:
    law: str
    params: float
    tokens: float
    steps: float | None
    loss: float
    train_flops: float
    overhead_pct: float | None
    notes: list[str] = field(default_factory=list)
    batch_tokens: float | None = None
    optimal_train_flops: float | None = None
    inference_flops: float | None = None
    lifetime_flops: float | None = None
    optimal_lifetime_flops: float | None = None
    lifetime_overhead_pct: float | None = None
    train_gpu_hours: float | None = None
    serve_gpu_hours: float | None = None
    gpu_hours: float | None = None
    days: float | None = None
    train_cost_usd: float | None = None
    serve_cost_usd: float | None = None
    cost_usd: float | None = None
    hardware: dict[str, Any] | None = None
    experts: float | None = None
    params_total: float | None = None
    train_bits: float | None = None
    params_effective: float | None = None
    ptq_bits: float | None = None
    ptq_loss_increase: float | None = None
    ptq_critical_tokens: float | None = None

    def add_costs(self, hardware) -> None:
        """GPU-hours, days and dollars of this configuration, training and serving apart."""
        for key, value in hardware.costs(self.train_flops, self.inference_flops or 0.0).items():
            setattr(self, key, value)
        note = hardware.note()
        if note and self.inference_flops:
            self.notes.append(note)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve(
    law: Law, params: float | None, tokens: float | None, flops: float | None
) -> tuple[float | None, float | None]:
    """(params, tokens) of a configuration given as two of params, tokens and training FLOPs: the
    law's own compute model (``train_flops``; 6·N·D unless the family says otherwise) fills in the
    third, and the result must lie in the range scalecli plans for."""
    if flops is None:
        return params, tokens
    if params is None and tokens is not None:
        params = law.params_for_flops(flops, tokens)
        derived = ("params", params)
    elif tokens is None and params is not None:
        tokens = float(law.tokens_for_flops(params, flops))
        derived = ("tokens", tokens)
    else:
        raise InputError(f"give two of {ref('params')}, {ref('tokens')}, {ref('flops')}, not three")
    lo, hi = RANGES["count"]
    if not lo <= derived[1] <= hi:
        raise InputError(
            f"{ref('flops')} gives {derived[1]:.3g} {derived[0]}, outside the range scalecli plans for "
            f"({lo:g} to {hi:g})"
        )
    return params, tokens


def predict(
    preset: Preset,
    params: float | None,
    tokens: float | None = None,
    steps: float | None = None,
    batch_tokens: float | None = None,
    unique_tokens: float | None = None,
    inference_tokens: float = 0.0,
    *,
    flops: float | None = None,
    experts: float | None = None,
    train_bits: float | None = None,
    ptq_bits: float | None = None,
) -> Prediction:
    """Loss and FLOPs of a given (N, D) or (N, S) -- or of two of N, D and training FLOPs, the law's
    compute model filling in the third -- and its compute overhead versus the optimum.

    The overhead is C / C_opt(L) - 1 in percent, where C_opt(L) is the least training compute
    that reaches the same loss under the same law (CLI.md ``scale predict``).
    """
    law = loss_law(preset, "a given configuration")
    settings: dict[str, Any] = {"experts": experts, "train_bits": train_bits, "ptq_bits": ptq_bits}
    request = PlanRequest(
        target_loss=1.0,
        batch_tokens=batch_tokens,
        unique_tokens=unique_tokens,
        allow_repeats=True,
        **settings,
    )
    cond = conditions_for(preset, request)
    law = law.for_conditions(cond)  # the settings change its compute model too
    params, tokens = resolve(law, params, tokens, flops)
    if params is None or (tokens is None) == (steps is None):
        raise InputError(f"give exactly one of {ref('tokens')} or {ref('steps')} with {ref('params')}")
    values = law.predict(params, tokens, steps, cond)
    notes = list(law.notes())
    same_loss = PlanRequest(
        target_loss=values["loss"],
        batch_tokens=batch_tokens,
        unique_tokens=unique_tokens,
        allow_repeats=True,
        **settings,
    )
    try:
        optimal: float | None = plan(preset, same_loss).train_flops
    except (InputError, InfeasibleError) as exc:  # e.g. a loss no sensible model is that bad at
        optimal = None
        notes.append(f"no optimum to compare with: {exc}")
    if not law.law_sets_batch:
        notes.append(cond.batch.describe())
    if unique_tokens is not None and not law.models_repeats:
        notes.append(
            f"{preset.name} does not model repeated data: --unique-tokens does not change this prediction "
            "(use muennighoff2023 to value repeated epochs)"
        )
    notes.append(loss_scale_note(preset))
    overhead = None if optimal is None else 100.0 * (values["train_flops"] / optimal - 1.0)
    lifetime: dict[str, Any] = {}
    if inference_tokens > 0 and optimal is not None:
        serving = float(law.serve_flops(params, inference_tokens))
        best = plan(
            preset,
            PlanRequest(
                target_loss=values["loss"],
                inference_tokens=inference_tokens,
                batch_tokens=batch_tokens,
                unique_tokens=unique_tokens,
                allow_repeats=True,
                **settings,
            ),
        )
        total = values["train_flops"] + serving
        lifetime = {
            "inference_flops": serving,
            "lifetime_flops": total,
            "optimal_lifetime_flops": best.total_flops,
            "lifetime_overhead_pct": 100.0 * (total / best.total_flops - 1.0),
        }
        notes.append(
            f"lifetime = training + 2·N FLOPs per inference token; the lifetime optimum at this loss "
            f"has {best.params:.4g} params on {best.tokens:.4g} tokens (Sardana et al. 2024)"
        )
    extras = law.extras(params, values["train_flops"], cond)
    own: dict[str, Any] = {
        k: v for k, v in extras.items() if k in Prediction.__dataclass_fields__ and k != "params"
    }
    return Prediction(
        **own,
        law=preset.name,
        params=params,
        tokens=values["tokens"],
        steps=values["steps"],
        loss=values["loss"],
        train_flops=values["train_flops"],
        overhead_pct=overhead,
        notes=notes,
        batch_tokens=values["batch_tokens"],
        optimal_train_flops=optimal,
        **lifetime,
    )
