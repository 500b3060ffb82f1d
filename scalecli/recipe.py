"""From a plan to a training recipe: the user's parameter and FLOP conventions, a model shape,
learning rate, batch, warmup and schedule, and memory per GPU (docs/recipe.md).

``plan(preset, request, recipe)`` wraps ``planner.plan``:

1. caps given in the user's parameter convention become the law's;
2. a budget given in the user's FLOP convention becomes the law's 6·N·D at the planned shape
   (a fixed point: the shape depends on the plan, the conversion on the shape);
3. with ``--hparams``, the law's batch sets the steps (another fixed point, as the batch may move
   the optimum of a steps-based law);
4. the plan gets its parameter counts in both conventions, and, when asked, the nearest shape,
   hyperparameters and memory.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from scalecli import planner
from scalecli import shape as sh
from scalecli.errors import InputError, ref
from scalecli.planner import Plan, PlanRequest
from scalecli.presets import Preset

if TYPE_CHECKING:
    from scalecli.hparams import HparamLaw

MAX_ROUNDS = 30  # fixed-point rounds; each is one plan (closed form: microseconds)


@dataclass
class Recipe:
    shape: bool = False
    hparams: str | None = None
    schedule: str = "wsd"
    params_convention: str | None = None  # what the user's N counts (None: the law's own)
    flops_convention: str | None = None  # how the user's budget counts FLOPs
    seq_len: int = 2048
    style: str = "llama"
    vocab: int = 32000
    sharding: str = "none"
    training_precision: str = "bf16"

    def shape_options(self) -> dict[str, Any]:
        return {"style": self.style, "vocab": self.vocab, "n_ctx": self.seq_len}


FIELDS = ("shape", "hparams", "schedule", "params_convention", "flops_convention", "seq_len", "style",
          "vocab",
          "sharding", "training_precision")  # fmt: skip


def from_values(values: dict[str, Any]) -> Recipe:
    return Recipe(**{k: values[k] for k in FIELDS if values.get(k) is not None})


def law_params(value: float, user: str, law: str, recipe: Recipe) -> float:
    """The user's N in the law's convention: exact through the nearest shape with --shape, else
    Pearce & Song 2024's relation."""
    if user == law:
        return value
    if recipe.shape:
        return float(sh.nearest_shape(value, user, **recipe.shape_options()).params(law))
    return sh.convert_params(value, user, law)


def plan(preset: Preset, request: PlanRequest, recipe: Recipe | None = None, hardware=None) -> Plan:
    recipe = recipe or Recipe()
    law_conv = preset.params_convention
    user_conv = recipe.params_convention or law_conv
    if request.max_params is not None and user_conv != law_conv:
        request = replace(request, max_params=law_params(request.max_params, user_conv, law_conv, recipe))
    budget_note = None
    if recipe.flops_convention and request.flops is not None:
        request, budget_note = _convert_budget(preset, request, recipe)
    result = planner.plan(preset, request)
    if result.experts is not None and result.experts != 1 and request.experts is None:
        dense = planner.plan(preset, replace(request, experts=1.0))
        result.notes.append(
            f"dense (1 expert) under the same law and caps: {dense.params:.3g} params on {dense.tokens:.3g} "
            f"tokens, loss {dense.loss:.4g} ({100 * (dense.loss / result.loss - 1):+.2f}% against "
            f"{result.experts:g} experts)"
        )
    shape = None
    if recipe.shape or recipe.hparams or recipe.flops_convention:
        shape = sh.nearest_shape(result.params, law_conv, **recipe.shape_options())
    if recipe.hparams:
        from scalecli import hparams as hp

        law = hp.load(recipe.hparams)
        result, shape = _with_hparams(preset, request, recipe, law, result, shape)
    _counts(result, preset, recipe, shape)
    if budget_note:
        result.flops_convention = budget_note
        result.notes.append(
            f"budget {budget_note['user_flops']:.4g} FLOPs counted as {budget_note['convention']} = "
            f"{result.train_flops:.4g} in the law's 6·N·D at the planned shape "
            f"({budget_note['difference_pct']:+.1f}%)"
        )
    elif recipe.flops_convention and shape is not None:
        per_token = sh.flops_per_token(shape, recipe.flops_convention, user_conv)
        result.flops_convention = {
            "convention": recipe.flops_convention,
            "user_flops": per_token * result.tokens,
            "difference_pct": 100.0 * (per_token * result.tokens / result.train_flops - 1.0),
        }
    if recipe.shape and shape is not None:
        result.shape = shape.to_dict()
        result.memory = _memory(shape, recipe, hardware)
        result.notes.append(
            f"shape: the {shape.style} style, vocab {shape.vocab:,}, sequence {shape.n_ctx:,}; "
            "memory: weights, gradients and Adam states per GPU "
            f"({recipe.training_precision}, {recipe.sharding}), "
            "activations extra (docs/recipe.md)"
        )
    return result


def _convert_budget(
    preset: Preset, request: PlanRequest, recipe: Recipe
) -> tuple[PlanRequest, dict[str, Any]]:
    """C_law = C_user · 6·N_law(shape) / f_user(shape) at the shape the law's plan chooses."""
    assert request.flops is not None and recipe.flops_convention is not None
    user_flops = request.flops
    law_flops = user_flops
    ratio = 1.0
    for _ in range(MAX_ROUNDS):
        result = planner.plan(preset, replace(request, flops=law_flops))
        shape = sh.nearest_shape(result.params, preset.params_convention, **recipe.shape_options())
        per_token_law = result.train_flops / result.tokens  # the law's compute model at its N
        per_token_law *= shape.params(preset.params_convention) / result.params
        user_conv = recipe.params_convention or preset.params_convention
        ratio = per_token_law / sh.flops_per_token(shape, recipe.flops_convention, user_conv)
        new = user_flops * ratio
        if abs(new / law_flops - 1.0) < 1e-12:
            break
        law_flops = new
    note = {
        "convention": recipe.flops_convention,
        "user_flops": user_flops,
        "law_flops": law_flops,
        "difference_pct": 100.0 * (law_flops / user_flops - 1.0),
    }
    return replace(request, flops=law_flops), note


def _hparams_inputs(law: HparamLaw, result: Plan, preset: Preset, recipe: Recipe, shape: sh.Shape):
    params = shape.params(law.params_convention)
    tokens = result.tokens
    per_token = sh.flops_per_token(shape, law.compute, law.params_convention)
    return params, tokens, per_token * tokens


def _with_hparams(preset, request, recipe, law, result, shape):
    from scalecli import hparams as hp

    batch = None
    for _ in range(MAX_ROUNDS):
        params, tokens, flops = _hparams_inputs(law, result, preset, recipe, shape)
        lr, new_batch = hp.evaluate(law, params, tokens, flops)
        if batch is not None and abs(new_batch / batch - 1.0) < 1e-9:
            break
        batch = new_batch
        result = planner.plan(preset, replace(request, batch_tokens=batch))
        shape = sh.nearest_shape(result.params, preset.params_convention, **recipe.shape_options())
    assert batch is not None
    if law.warmup_steps is not None:
        warmup_steps = law.warmup_steps
    else:
        assert law.warmup_tokens_per_param is not None
        warmup_steps = law.warmup_tokens_per_param * params / batch
    sched = hp.schedule(recipe.schedule, result.steps, warmup_steps)
    notes = _critical_batch_notes(preset, result, batch)
    if warmup_steps > 0.2 * result.steps:
        notes.append(
            f"warmup ({warmup_steps:.3g} steps) is over 20% of the run ({result.steps:.3g} steps): "
            "the law was "
            "fitted on longer runs; shorten it or check the schedule"
        )
    out = hp.Hparams(
        law=law.name,
        learning_rate=lr,
        batch_tokens=batch,
        warmup_steps=warmup_steps,
        warmup_tokens=warmup_steps * batch,
        schedule=sched,
        inputs={f"params_{law.params_convention}": params, "tokens": tokens, f"flops_{law.compute}": flops},
        citation=law.citation,
        notes=notes,
    )
    result.hparams = out.to_dict()
    result.notes.append(
        f"hparams: {law.name} ({law.citation}); its batch sets the steps; "
        f"schedule {_describe_schedule(sched)}"
    )
    result.notes.extend(notes)
    return result, shape


def _critical_batch_notes(preset: Preset, result: Plan, batch: float) -> list[str]:
    """Kaplan et al. 2020 eq. 1.4's B_crit(L) = B_*/L^(1/alpha_B) where the law carries it (its
    loss is in Kaplan's units); Zhang et al. 2024's finding otherwise."""
    params = getattr(preset.law, "params", {})
    if "B_star" in params and "alpha_B" in params:
        b_crit = params["B_star"] / result.loss ** (1.0 / params["alpha_B"])
        if batch > b_crit:
            return [
                f"batch {batch:.3g} tokens is above the critical batch {b_crit:.3g} "
                f"at loss {result.loss:.4g} "
                "(Kaplan et al. 2020 eq. 1.4): more tokens per step buy few fewer steps"
            ]
        return []
    return [
        "critical batch: Zhang et al. 2024 (arXiv 2410.21676) find it grows mainly with the data, not the "
        "model; no verified numeric estimate of theirs ships, so this batch is not checked against one"
    ]


def _describe_schedule(s: dict[str, Any]) -> str:
    if s["kind"] == "wsd":
        return "WSD: warmup, constant, then a 1-sqrt cooldown over the last 20% of steps (Hägele et al. 2024)"
    return "warmup, then cosine to 10% of the peak (Hoffmann et al. 2022)"


def _counts(result: Plan, preset: Preset, recipe: Recipe, shape: sh.Shape | None) -> None:
    law_conv = preset.params_convention
    result.params_convention = law_conv
    if result.experts is not None and result.params_total is not None:  # a mixture of experts
        result.params_non_embedding = sh.convert_params(result.params_total, "total", "non_embedding")
        return
    if shape is not None and recipe.shape:
        scale = result.params / shape.params(law_conv)  # the plan's N, not the rounded shape's
        result.params_total = shape.total_params * scale
        result.params_non_embedding = shape.non_embedding_params * scale
    else:
        result.params_total = sh.convert_params(result.params, law_conv, "total")
        result.params_non_embedding = sh.convert_params(result.params, law_conv, "non_embedding")
    if law_conv != "total":
        how = "the shape's exact counts" if recipe.shape else "Pearce & Song 2024"
        result.notes.append(
            f"total params {result.params_total:.4g} ({how}; params counts {law_conv.replace('_', '-')})"
        )


def _memory(shape: sh.Shape, recipe: Recipe, hardware) -> dict[str, Any] | None:
    from scalecli.memory import training_memory

    gpus, gpu, memory_gb = 1, None, None
    if hardware is not None:
        gpus = hardware.train.gpus
        gpu = hardware.train.accelerator.name
        memory_gb = hardware.train.accelerator.memory_gb
    if recipe.sharding != "none" and gpus < 2:
        raise InputError(
            f"{ref('sharding')} {recipe.sharding} needs {ref('gpus')} K >= 2 (with {ref('gpu')})"
        )
    return training_memory(
        shape.total_params, recipe.training_precision, recipe.sharding, gpus, gpu, memory_gb
    ).to_dict()
