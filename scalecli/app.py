"""The application layer: what the CLI, ``scale check`` and a notebook call to plan and predict.

Every entry point takes plain option values (the names of options.OPTIONS, already parsed) and
returns plain results, so the command line, a CI spec and Python code run the same steps:

    >>> from scalecli import app
    >>> plans = app.plan_all(app.load_laws(["besiroglu2024"]), app.plan_request({"flops": 1e23}))
    >>> round(plans[0].params / 1e9, 1), round(plans[0].tokens / 1e9)
    (29.4, 566)
    >>> p = app.predict_all(app.load_laws(["hoffmann2022"]), {"params": 70e9, "tokens": 1.4e12})[0]
    >>> round(p.loss, 3), round(p.overhead_pct, 1)
    (1.937, 19.5)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scalecli.errors import InputError, ref
from scalecli.presets import Preset


def load_laws(specs: Sequence[str] | None = None) -> list[Preset]:
    """Presets by name, alias or YAML path; the default set when none are given."""
    from scalecli import presets

    return [presets.load(spec) for spec in specs] if specs else presets.default_presets()


def make_hardware(values: dict[str, Any]):
    """Training and serving hardware from --gpu, --mfu, ... (None without --gpu)."""
    from scalecli import compute

    return compute.make_hardware(values)


def plan_request(values: dict[str, Any], hardware=None):
    """A PlanRequest from option values (the plan options of options.OPTIONS); a budget given as
    GPU-hours, dollars or days becomes FLOPs, and the hardware prices caps in days or dollars."""
    from scalecli import compute
    from scalecli.planner import PlanRequest, request_fields

    flops = compute.budget_flops(values, hardware)
    if values.get("max_days") is not None and values.get("gpus") is None:
        raise InputError(f"{ref('max_days')} needs {ref('gpus')} K, the number of accelerators the run has")
    fields = {k: values[k] for k in request_fields() if values.get(k) is not None}
    fields["inference_tokens"] = fields.get("inference_tokens") or 0.0
    return PlanRequest(flops=flops, hardware=hardware, **fields)


def plan_all(laws: Sequence[Preset], request, hardware=None, brief: bool = False) -> list:
    """One plan per law (only the recommended one, or the first, with ``brief``), costed on the
    hardware when given."""
    from scalecli import planner

    if brief:
        laws = [next((p for p in laws if p.recommended), laws[0])]
    plans = []
    for preset in laws:
        result = planner.plan(preset, request)
        if hardware is not None:
            result.add_costs(hardware)
        plans.append(result)
    return plans


def configuration(values: dict[str, Any]) -> dict[str, float | None]:
    """The given configuration of a prediction: params with tokens or steps, or any two of params,
    tokens and FLOPs (each law's compute model fills in the third, predict.resolve)."""
    params, tokens, steps, flops = (values.get(k) for k in ("params", "tokens", "steps", "flops"))
    given = [k for k in ("params", "tokens", "flops") if values.get(k) is not None]
    if steps is not None:
        if params is None or tokens is not None or flops is not None:
            raise InputError(
                f"{ref('steps')} goes with {ref('params')} only (not with {ref('tokens')} or {ref('flops')})"
            )
    elif len(given) != 2:
        raise InputError(
            f"give two of {ref('params')}, {ref('tokens')}, {ref('flops')} (the compute model fills in "
            f"the third), or {ref('params')} with {ref('steps')}"
        )
    return {"params": params, "tokens": tokens, "steps": steps, "flops": flops}


def predict_all(laws: Sequence[Preset], values: dict[str, Any], hardware=None) -> list:
    """The loss, FLOPs and overhead of one configuration under each law."""
    from scalecli.predict import predict

    given = configuration(values)
    out = []
    for preset in laws:
        result = predict(
            preset,
            given["params"],
            given["tokens"],
            given["steps"],
            values.get("batch_tokens"),
            values.get("unique_tokens"),
            values.get("inference_tokens") or 0.0,
            flops=given["flops"],
        )
        if hardware is not None:
            result.add_costs(hardware)
        out.append(result)
    return out
