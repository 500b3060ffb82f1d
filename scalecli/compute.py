"""FLOPs of training and inference; FLOPs <-> GPU-hours, days and dollars (hardware presets).

Training costs 6·N FLOPs per token and inference 2·N (REFERENCE §1.5, §2.5, §4.1). A GPU
delivers peak × MFU FLOP/s, so GPU-hours = FLOPs / (peak · MFU) / 3600.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scalecli.errors import InputError
from scalecli.units import RANGES

TRAIN_FLOPS_PER_PARAM_TOKEN = 6.0  # forward + backward, C ≈ 6·N·D
INFERENCE_FLOPS_PER_PARAM_TOKEN = 2.0  # forward only, 2·N per token (Sardana et al.)
SECONDS_PER_HOUR = 3600.0
HOURS_PER_DAY = 24.0
MIN_MFU = 1e-3  # 0.1% of peak: below this a "budget" is not a training run


def training_flops(params, tokens):
    return TRAIN_FLOPS_PER_PARAM_TOKEN * params * tokens


def inference_flops(params, inference_tokens):
    return INFERENCE_FLOPS_PER_PARAM_TOKEN * params * inference_tokens


@dataclass(frozen=True)
class Accelerator:
    name: str
    description: str
    peak_flops: dict[str, float]  # precision -> dense FLOP/s
    source: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    memory_gb: float | None = None


_HARDWARE: dict[str, Accelerator] | None = None
HARDWARE_KEYS = {"description", "peak_flops", "source", "aliases", "memory_gb"}


def hardware() -> dict[str, Accelerator]:
    """The accelerators of presets/hardware.yaml, by name."""
    global _HARDWARE
    if _HARDWARE is None:
        from scalecli.presets import shipped_text
        from scalecli.units import parse_number
        from scalecli.yamlio import load_mapping

        data = load_mapping(shipped_text("hardware.yaml"), "hardware presets")
        out = {}
        for name, spec in data.get("accelerators", {}).items():
            unknown = set(spec) - HARDWARE_KEYS
            if unknown:
                raise InputError(f"hardware {name}: unknown key(s) {', '.join(sorted(unknown))}")
            peaks = {k: parse_number(v, f"{name} peak_flops.{k}") for k, v in spec["peak_flops"].items()}
            memory = spec.get("memory_gb")
            out[name] = Accelerator(
                name=name,
                description=spec.get("description", name),
                peak_flops=peaks,
                source={k: str(v) for k, v in (spec.get("source") or {}).items()},
                aliases=tuple(spec.get("aliases") or ()),
                memory_gb=None if memory is None else parse_number(memory, f"{name} memory_gb"),
            )
        _HARDWARE = out
    return _HARDWARE


def find_accelerator(name: str) -> Accelerator:
    from scalecli.laws.base import suggest

    table = hardware()
    wanted = name.strip().lower()
    for acc in table.values():
        if wanted == acc.name.lower() or wanted in (a.lower() for a in acc.aliases):
            return acc
    names = list(table) + [a for acc in table.values() for a in acc.aliases]
    raise InputError(f"unknown GPU {name!r}{suggest(name, names)}; known: {', '.join(table)}")


@dataclass(frozen=True)
class HardwarePlan:
    """The user's hardware: which accelerator, at what utilisation, how many, at what price."""

    accelerator: Accelerator
    mfu: float
    gpus: int = 1
    usd_per_gpu_hour: float | None = None
    precision: str = "bf16"

    def __post_init__(self) -> None:
        if not MIN_MFU <= self.mfu <= 1:
            raise InputError(f"--mfu must be a fraction from {MIN_MFU:g} to 1, got {self.mfu:g} (40% is 0.4)")
        if self.gpus < 1 or int(self.gpus) != self.gpus:
            raise InputError(f"--gpus must be a whole number >= 1, got {self.gpus}")
        if self.precision not in self.accelerator.peak_flops:
            have = ", ".join(self.accelerator.peak_flops)
            raise InputError(
                f"{self.accelerator.name} has no {self.precision} peak in presets/hardware.yaml "
                f"(it has: {have})"
            )

    @property
    def peak(self) -> float:
        return self.accelerator.peak_flops[self.precision]

    @property
    def sustained_flops_per_second(self) -> float:
        return self.peak * self.mfu

    def gpu_hours(self, flops: float) -> float:
        return flops / self.sustained_flops_per_second / SECONDS_PER_HOUR

    def flops_for_gpu_hours(self, hours: float) -> float:
        return hours * SECONDS_PER_HOUR * self.sustained_flops_per_second

    def gpu_hours_for_usd(self, usd: float) -> float:
        if self.usd_per_gpu_hour is None:
            raise InputError("--budget-usd needs --usd-per-gpu-hour to turn dollars into GPU-hours")
        return usd / self.usd_per_gpu_hour

    def costs(self, train: float, inference: float) -> dict[str, Any]:
        """GPU-hours and dollars of training plus inference; days of training wall-clock."""
        train_hours = self.gpu_hours(train)
        inference_hours = self.gpu_hours(inference)
        total = train_hours + inference_hours
        price = self.usd_per_gpu_hour
        return {
            "gpu_hours": total,
            "days": train_hours / self.gpus / HOURS_PER_DAY,
            "cost_usd": None if price is None else total * price,
            "hardware": {
                "gpu": self.accelerator.name,
                "precision": self.precision,
                "peak_flops": self.peak,
                "mfu": self.mfu,
                "gpus": self.gpus,
                "usd_per_gpu_hour": price,
                "train_gpu_hours": train_hours,
                "inference_gpu_hours": inference_hours,
                "train_cost_usd": None if price is None else train_hours * price,
            },
        }


def budget_flops(
    flops: float | None,
    gpu_hours: float | None,
    budget_usd: float | None,
    hardware: HardwarePlan | None,
) -> float | None:
    """The FLOP budget from --flops, --gpu-hours or --budget-usd (at most one may be given)."""
    given = [
        name
        for name, v in (("--flops", flops), ("--gpu-hours", gpu_hours), ("--budget-usd", budget_usd))
        if v is not None
    ]
    if len(given) > 1:
        raise InputError(f"give one budget, not {' and '.join(given)}")
    if flops is not None or not given:
        return flops
    if hardware is None:
        raise InputError(f"{given[0]} needs --gpu NAME and --mfu F to turn it into FLOPs")
    hours = gpu_hours if gpu_hours is not None else hardware.gpu_hours_for_usd(budget_usd)
    flops = hardware.flops_for_gpu_hours(hours)
    lo, hi = RANGES["flops"]
    if not lo <= flops <= hi:
        raise InputError(
            f"{given[0]} is {flops:.3g} FLOPs on {hardware.accelerator.name} at MFU {hardware.mfu:g}, "
            f"outside the range scalecli plans for ({lo:g} to {hi:g} FLOPs)"
        )
    return flops
