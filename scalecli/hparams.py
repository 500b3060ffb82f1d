"""Hyperparameter laws: peak learning rate, batch and warmup as power laws, and the schedule.

A law is a mapping (``presets/hparams.yaml`` ships three; a user's YAML file has the same keys)::

    steplaw2025:
      citation: "Li et al. 2025, Predictable Scale (arXiv 2503.04715), eq. ..."
      params_convention: non_embedding   # the N the law's powers take
      compute: 6nd                        # the C the law's powers take (6nd or deepseek: C = M·D)
      learning_rate: {coef: 1.79, params: -0.713, tokens: 0.307}
      batch_tokens: {coef: 0.58, tokens: 0.571}
      warmup: {steps: 2000}               # or {tokens_per_param: 1}: warmup tokens = N

Each power law is coef·params^a·tokens^b·flops^c (missing exponents are 0). Schedules: ``wsd``
(linear warmup, constant, then a (1 - sqrt) cooldown over the last 20% of steps; Hägele et al.
2024) or ``cosine`` (linear warmup, cosine to 10% of the peak over the run; Hoffmann et al. 2022).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scalecli.errors import InputError, ref
from scalecli.shape import FLOPS_CONVENTIONS, PARAMS_CONVENTIONS
from scalecli.units import parse_number

LAW_KEYS = {
    "description",
    "citation",
    "aliases",
    "params_convention",
    "compute",
    "learning_rate",
    "batch_tokens",
    "warmup",
}
POWER_KEYS = {"coef", "params", "tokens", "flops"}
SCHEDULES = ("wsd", "cosine")
WSD_COOLDOWN = 0.2  # fraction of steps in the (1 - sqrt) cooldown (Hägele et al. 2024)
COSINE_FINAL = 0.1  # cosine decays to 10% of the peak (Hoffmann et al. 2022)


@dataclass(frozen=True)
class Power:
    coef: float
    params: float = 0.0
    tokens: float = 0.0
    flops: float = 0.0

    def __call__(self, params: float, tokens: float, flops: float) -> float:
        return self.coef * params**self.params * tokens**self.tokens * flops**self.flops

    def describe(self, what: str) -> str:
        terms = [f"{self.coef:g}"] + [
            f"{sym}^{exp:g}"
            for sym, exp in (("N", self.params), ("D", self.tokens), ("C", self.flops))
            if exp
        ]
        return f"{what} = " + "·".join(terms)


@dataclass(frozen=True)
class HparamLaw:
    name: str
    learning_rate: Power
    batch_tokens: Power
    params_convention: str = "total"
    compute: str = "6nd"
    warmup_steps: float | None = None
    warmup_tokens_per_param: float | None = None
    citation: str = ""
    description: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


def _power(spec: Any, where: str) -> Power:
    if not isinstance(spec, dict) or "coef" not in spec:
        raise InputError(f"{where} must be a mapping with 'coef' and exponents of params, tokens or flops")
    bad = set(spec) - POWER_KEYS
    if bad:
        raise InputError(f"{where}: unknown key {sorted(bad)[0]!r}; keys are {', '.join(sorted(POWER_KEYS))}")
    values = {
        k: parse_number(v, f"{where}.{k}", allow_zero=k != "coef", positive=k == "coef")
        for k, v in spec.items()
    }
    for k, v in values.items():
        if k != "coef" and not -5.0 <= v <= 5.0:
            raise InputError(f"{where}.{k} = {v:g}: an exponent outside -5 to 5 is not a hyperparameter law")
    return Power(**values)


def parse_law(name: str, spec: Any, origin: str) -> HparamLaw:
    where = f"{origin} ({name})"
    if not isinstance(spec, dict):
        raise InputError(f"{where}: a hyperparameter law must be a mapping")
    bad = set(spec) - LAW_KEYS
    if bad:
        raise InputError(f"{where}: unknown key {sorted(bad)[0]!r}; keys are {', '.join(sorted(LAW_KEYS))}")
    aliases = spec.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise InputError(f"{where}: aliases must be a list of names")
    for key in ("learning_rate", "batch_tokens", "warmup"):
        if key not in spec:
            raise InputError(f"{where}: missing {key!r}")
    convention = spec.get("params_convention", "total")
    if convention not in PARAMS_CONVENTIONS:
        raise InputError(f"{where}: params_convention must be one of {', '.join(PARAMS_CONVENTIONS)}")
    compute = spec.get("compute", "6nd")
    if compute not in FLOPS_CONVENTIONS:
        raise InputError(f"{where}: compute must be one of {', '.join(FLOPS_CONVENTIONS)}")
    warmup = spec["warmup"]
    if not isinstance(warmup, dict) or len(warmup) != 1 or not set(warmup) <= {"steps", "tokens_per_param"}:
        raise InputError(f"{where}: warmup must be {{steps: S}} or {{tokens_per_param: R}}")
    ((wkey, wvalue),) = warmup.items()
    wnum = parse_number(wvalue, f"{where}.warmup.{wkey}", allow_zero=True)
    return HparamLaw(
        name=name,
        learning_rate=_power(spec["learning_rate"], f"{where}.learning_rate"),
        batch_tokens=_power(spec["batch_tokens"], f"{where}.batch_tokens"),
        params_convention=convention,
        compute=compute,
        warmup_steps=wnum if wkey == "steps" else None,
        warmup_tokens_per_param=wnum if wkey == "tokens_per_param" else None,
        citation=str(spec.get("citation", "")),
        description=str(spec.get("description", "")),
        raw=spec,
    )


def shipped() -> dict[str, HparamLaw]:
    from scalecli.files import shipped_text
    from scalecli.yamlio import load_mapping

    data = load_mapping(shipped_text("hparams.yaml"), "hyperparameter laws")
    return {name: parse_law(name, spec, "presets/hparams.yaml") for name, spec in data.items()}


def load(spec: str) -> HparamLaw:
    """A shipped law by name, or the one law in a YAML file (name: {...})."""
    laws = shipped()
    if spec in laws:
        return laws[spec]
    for law in laws.values():
        if spec in law.raw.get("aliases", []):
            return law
    if spec.endswith((".yaml", ".yml")) or "/" in spec:
        from scalecli.files import read_text
        from scalecli.yamlio import load_mapping

        origin = f"hyperparameter law file {spec!r}"
        data = load_mapping(read_text(Path(spec), "hyperparameter law file", 100_000), origin)
        if len(data) != 1:
            raise InputError(f"{origin}: give exactly one law (name: {{learning_rate: ..., ...}})")
        ((name, law),) = data.items()
        return parse_law(str(name), law, origin)
    from scalecli.errors import suggest

    raise InputError(
        f"{ref('hparams')} {spec!r} is not a law{suggest(spec, laws)}; "
        f"one of {', '.join(laws)} or a YAML file"
    )


@dataclass
class Hparams:
    law: str
    learning_rate: float
    batch_tokens: float
    warmup_steps: float
    warmup_tokens: float
    schedule: dict[str, Any]
    inputs: dict[str, float]  # the N, D and C the law was evaluated at, in its own conventions
    citation: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def evaluate(law: HparamLaw, params: float, tokens: float, flops: float) -> tuple[float, float]:
    """(peak learning rate, batch in tokens) at N, D, C in the law's own conventions."""
    return law.learning_rate(params, tokens, flops), law.batch_tokens(params, tokens, flops)


def schedule(kind: str, steps: float, warmup_steps: float) -> dict[str, Any]:
    """Where each phase of the schedule starts and ends, in optimizer steps."""
    if kind not in SCHEDULES:
        raise InputError(f"{ref('schedule')} must be one of {', '.join(SCHEDULES)}, got {kind!r}")
    total = math.ceil(steps)
    warm = min(math.ceil(warmup_steps), total)
    if kind == "wsd":
        cooldown = math.ceil(WSD_COOLDOWN * total)
        return {
            "kind": "wsd",
            "warmup_steps": warm,
            "stable_until_step": max(warm, total - cooldown),
            "cooldown_steps": cooldown,
            "cooldown": "1-sqrt: lr = peak·(1 - sqrt((step - stable_until_step) / cooldown_steps))",
            "final_lr_fraction": 0.0,
            "source": "Hägele et al. 2024 (arXiv 2405.18392)",
        }
    return {
        "kind": "cosine",
        "warmup_steps": warm,
        "decay_steps": total - warm,
        "final_lr_fraction": COSINE_FINAL,
        "source": "cosine cycle matched to the run, decayed 10x (Hoffmann et al. 2022)",
    }
