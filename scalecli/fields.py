"""The one table of a plan's numeric fields: what each means, its unit, how to read a bound on it.

It names the JSON fields of a plan (and of a proposed configuration in ``scale check``), and every
field here can be asserted in a ``scale check`` spec as ``min_<field>`` / ``max_<field>``; the
spec's JSON Schema and docs/output.md list them from this table, so a field is assertable the day
it is added here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # units.RANGES kind used to parse a bound on it
    unit: str
    help: str
    proposed_only: bool = False


PLAN_FIELDS: tuple[Field, ...] = (
    Field("params", "count", "parameters", "model size N, in the law's own convention (see notes)"),
    Field("params_total", "count", "parameters", "all parameters, embeddings and output layer included"),
    Field("params_non_embedding", "count", "parameters", "parameters without embeddings and output layer (Kaplan et al. 2020 §2.1)"),
    Field("params_active", "count", "parameters", "a mixture of experts: parameters active per token (= params)"),
    Field("params_effective", "count", "parameters", "a precision-aware law: N_eff, the parameters' worth at the training precision"),
    Field("experts", "count", "experts", "a mixture of experts: the expert count (1 = dense)"),
    Field("train_bits", "count", "bits", "a precision-aware law: training precision of weights, activations and KV cache"),
    Field("ptq_bits", "count", "bits", "bits the weights are quantised to after training (--ptq-bits)"),
    Field("ptq_loss_increase", "loss", "nats/token", "the loss that quantising to ptq_bits adds"),
    Field("ptq_critical_tokens", "count", "tokens", "tokens beyond which more training raises the quantised model's loss"),
    Field("tokens", "count", "tokens", "training tokens D"),
    Field("steps", "count", "steps", "optimizer steps, tokens / batch"),
    Field("batch_tokens", "count", "tokens", "tokens per optimizer step"),
    Field("tokens_per_param", "ratio", "tokens per parameter", "D/N"),
    Field("loss", "loss", "nats/token", "predicted loss, on the law's own data and tokenizer"),
    Field("train_flops", "flops", "FLOPs", "training compute under the law's compute model (6·N·D unless the family says otherwise)"),
    Field("inference_flops", "flops", "FLOPs", "serving compute over the lifetime, 2·N per inference token"),
    Field("total_flops", "flops", "FLOPs", "training plus serving compute"),
    Field("train_gpu_hours", "hours", "GPU-hours", "training GPU-hours on the training hardware"),
    Field("serve_gpu_hours", "hours", "GPU-hours", "serving GPU-hours on the serving hardware"),
    Field("gpu_hours", "hours", "GPU-hours", "training plus serving GPU-hours"),
    Field("days", "hours", "days", "training wall-clock days on the training GPU count (gpus)"),
    Field("train_cost_usd", "usd", "USD", "training cost at the training price"),
    Field("serve_cost_usd", "usd", "USD", "serving cost at the serving price"),
    Field("cost_usd", "usd", "USD", "training plus serving cost"),
    Field("overhead_pct", "percent", "percent", "extra compute over the optimum at the same loss (proposed)", True),
)  # fmt: skip

BY_NAME = {f.name: f for f in PLAN_FIELDS}


def bound_keys() -> dict[str, tuple[Field, str]]:
    """Every ``min_<field>`` / ``max_<field>`` assertion key: its field and 'min' or 'max'."""
    out: dict[str, tuple[Field, str]] = {}
    for f in PLAN_FIELDS:
        out[f"min_{f.name}"] = (f, "min")
        out[f"max_{f.name}"] = (f, "max")
    return out
