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


def plan_all(laws: Sequence[Preset], request, hardware=None, brief: bool = False, recipe=None) -> list:
    """One plan per law (only the recommended one, or the first, with ``brief``), costed on the
    hardware when given, with the recipe (scalecli.recipe.Recipe: conventions, shape,
    hyperparameters, memory) when given."""
    from scalecli import recipe as recipes

    if brief:
        laws = [next((p for p in laws if p.recommended), laws[0])]
    plans = []
    for preset in laws:
        result = recipes.plan(preset, request, recipe, hardware)
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
        params = given["params"]
        user = values.get("params_convention") or preset.params_convention
        if params is not None and user != preset.params_convention:
            from scalecli.shape import convert_params

            params = convert_params(params, user, preset.params_convention)
        result = predict(
            preset,
            params,
            given["tokens"],
            given["steps"],
            values.get("batch_tokens"),
            values.get("unique_tokens"),
            values.get("inference_tokens") or 0.0,
            flops=given["flops"],
            experts=values.get("experts"),
            train_bits=values.get("train_bits"),
            ptq_bits=values.get("ptq_bits"),
        )
        if hardware is not None:
            result.add_costs(hardware)
        out.append(result)
    return out


def arch(values: dict[str, Any]) -> dict[str, Any]:
    """``scale arch``: the shapes nearest ``params`` (or the one given by layers and d_model), each
    with its counts, FLOPs per token in every convention, KV cache and training memory."""
    from scalecli import shape as sh
    from scalecli.memory import training_memory

    options: dict[str, Any] = {
        "style": values.get("style") or "llama",
        "vocab": values.get("vocab") or 32000,
        "n_ctx": values.get("seq_len") or 2048,
        "n_kv_heads": values.get("kv_heads"),
    }
    if values.get("glu"):
        options["glu"] = True
    if values.get("tied"):
        options["tied"] = True
    convention = values.get("params_convention") or "total"
    explicit = values.get("layers") is not None or values.get("d_model") is not None
    if explicit:
        if values.get("layers") is None or values.get("d_model") is None:
            raise InputError(f"an explicit shape needs both {ref('layers')} and {ref('d_model')}")
        if values.get("params") is not None:
            raise InputError(
                f"give {ref('params')} (to search shapes) or {ref('layers')}/{ref('d_model')}, not both"
            )
        shapes = [
            sh.make_shape(
                values["layers"],
                values["d_model"],
                n_heads=values.get("heads"),
                head_dim=values.get("head_dim"),
                d_ff=values.get("d_ff"),
                **options,
            )
        ]
    else:
        if values.get("params") is None:
            raise InputError(f"give {ref('params')} N, or a shape as {ref('layers')} and {ref('d_model')}")
        for name in ("d_ff", "heads"):
            if values.get(name) is not None:
                raise InputError(
                    f"{ref(name)} belongs to an explicit shape (with {ref('layers')} and {ref('d_model')})"
                )
        shapes = sh.shapes_for(
            values["params"],
            convention=convention,
            count=values.get("shapes") or 5,
            aspect=sh.parse_aspect(values.get("aspect")),
            head_dim=values.get("head_dim"),
            **options,
        )
    sharding = values.get("sharding") or "none"
    precision = values.get("training_precision") or "bf16"
    gpus, gpu, memory_gb = values.get("gpus") or 1, None, None
    if values.get("gpu") is not None:
        from scalecli.compute import find_accelerator

        accelerator = find_accelerator(values["gpu"])
        gpu, memory_gb = accelerator.name, accelerator.memory_gb
    elif values.get("gpus") is not None:
        raise InputError(f"{ref('gpus')} needs {ref('gpu')} NAME (see 'scale hardware')")
    rows = []
    for s in shapes:
        row = s.to_dict()
        row["memory"] = training_memory(s.total_params, precision, sharding, gpus, gpu, memory_gb).to_dict()
        if not explicit:
            row["params_error_pct"] = 100.0 * (s.params(convention) / values["params"] - 1.0)
        rows.append(row)
    request = {k: v for k, v in values.items() if not k.startswith("_") and k != "format" and v is not None}
    return {"request": request, "params_convention": convention, "shapes": rows}
