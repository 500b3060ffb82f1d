"""FLOPs of training and inference; FLOPs <-> GPU-hours, days and dollars (hardware presets).

Training costs 6·N FLOPs per token and inference 2·N (REFERENCE §1.5, §2.5, §4.1). A GPU
delivers peak × MFU FLOP/s, so GPU-hours = FLOPs / (peak · MFU) / 3600.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scalecli.errors import InputError, ref
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


def training_tokens(flops, params):
    """Tokens D with training_flops(N, D) = C."""
    return flops / (TRAIN_FLOPS_PER_PARAM_TOKEN * params)


def training_params(flops, tokens):
    """Params N with training_flops(N, D) = C."""
    return flops / (TRAIN_FLOPS_PER_PARAM_TOKEN * tokens)


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
        from scalecli.files import shipped_text
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
    from scalecli.errors import suggest

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
            raise InputError(
                f"{ref('mfu')} must be a fraction from {MIN_MFU:g} to 1, got {self.mfu:g} (40% is 0.4)"
            )
        if self.gpus < 1 or int(self.gpus) != self.gpus:
            raise InputError(f"{ref('gpus')} must be a whole number >= 1, got {self.gpus}")
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
            raise InputError(
                f"{ref('budget_usd')} needs {ref('usd_per_gpu_hour')} to turn dollars into GPU-hours"
            )
        return usd / self.usd_per_gpu_hour

    def describe(self) -> dict[str, Any]:
        return {
            "gpu": self.accelerator.name,
            "precision": self.precision,
            "peak_flops": self.peak,
            "mfu": self.mfu,
            "gpus": self.gpus,
            "usd_per_gpu_hour": self.usd_per_gpu_hour,
        }


@dataclass(frozen=True)
class Hardware:
    """Training hardware and serving hardware (Sardana et al.'s cost model prices the two apart;
    serving defaults to the training accelerator, utilisation and price)."""

    train: HardwarePlan
    serve: HardwarePlan
    defaults: tuple[str, ...] = ()  # serving settings taken from training

    def costs(self, train_flops: float, inference_flops: float) -> dict[str, Any]:
        """GPU-hours, days and dollars, training and serving apart (the plan fields of fields.py)."""
        train_hours = self.train.gpu_hours(train_flops)
        serve_hours = self.serve.gpu_hours(inference_flops)
        train_usd = None if self.train.usd_per_gpu_hour is None else train_hours * self.train.usd_per_gpu_hour
        serve_usd = None if self.serve.usd_per_gpu_hour is None else serve_hours * self.serve.usd_per_gpu_hour
        return {
            "train_gpu_hours": train_hours,
            "serve_gpu_hours": serve_hours,
            "gpu_hours": train_hours + serve_hours,
            "days": train_hours / self.train.gpus / HOURS_PER_DAY,
            "train_cost_usd": train_usd,
            "serve_cost_usd": serve_usd,
            "cost_usd": None if train_usd is None or serve_usd is None else train_usd + serve_usd,
            "hardware": {**self.train.describe(), "serve": self.serve.describe()},
        }

    def note(self) -> str | None:
        if not self.defaults:
            return None
        return (
            f"serving priced on the training {', '.join(self.defaults)} (set --serve-gpu, --serve-mfu, "
            "--serve-usd-per-gpu-hour to price it apart)"
        )


def make_hardware(values: dict[str, Any]) -> Hardware | None:
    """Training and serving hardware from option values (None when no --gpu is given).

    The rules are the same for every hardware option: each needs --gpu; --gpu needs --mfu. The one
    exception is --gpus with --memory-per-gpu: a memory cap needs the count, not the model.
    """
    if values.get("gpu") is None:
        exempt = {"gpu", "gpus"} if values.get("memory_per_gpu") is not None else {"gpu"}
        given = [k for k in HARDWARE_OPTIONS if k not in exempt and values.get(k) is not None]
        if given:
            raise InputError(f"{ref(given[0])} needs {ref('gpu')} NAME (see 'scale hardware')")
        return None
    if values.get("mfu") is None:
        raise InputError(
            f"{ref('gpu')} needs {ref('mfu')} F, the fraction of peak FLOP/s you sustain (e.g. 0.4)"
        )
    precision = values.get("precision") or "bf16"
    train = HardwarePlan(
        accelerator=find_accelerator(values["gpu"]),
        mfu=values["mfu"],
        gpus=values.get("gpus") or 1,
        usd_per_gpu_hour=values.get("usd_per_gpu_hour"),
        precision=precision,
    )
    defaults = []
    serve_acc = train.accelerator
    if values.get("serve_gpu") is not None:
        serve_acc = find_accelerator(values["serve_gpu"])
    else:
        defaults.append("GPU")
    serve_mfu = values.get("serve_mfu")
    if serve_mfu is None:
        serve_mfu = train.mfu
        defaults.append("MFU")
    serve_price = values.get("serve_usd_per_gpu_hour")
    if serve_price is None and train.usd_per_gpu_hour is not None:
        serve_price = train.usd_per_gpu_hour
        defaults.append("price")
    serve_precision = precision if precision in serve_acc.peak_flops else "bf16"
    try:
        serve = HardwarePlan(serve_acc, serve_mfu, 1, serve_price, serve_precision)
    except InputError as exc:
        raise InputError(exc.raw.replace(ref("mfu"), ref("serve_mfu"))) from None
    return Hardware(train, serve, tuple(defaults))


HARDWARE_OPTIONS = (
    "gpu",
    "mfu",
    "gpus",
    "usd_per_gpu_hour",
    "precision",
    "serve_gpu",
    "serve_mfu",
    "serve_usd_per_gpu_hour",
)


def budget_flops(values: dict[str, Any], hardware: Hardware | None) -> float | None:
    """The FLOP budget from --flops, --gpu-hours, --budget-usd or --days (with --gpus): one at most."""
    kinds = ("flops", "gpu_hours", "budget_usd", "days")
    given = [k for k in kinds if values.get(k) is not None]
    if len(given) > 1:
        raise InputError(f"give one budget, not {' and '.join('--' + g.replace('_', '-') for g in given)}")
    if not given or given[0] == "flops":
        return values.get("flops")
    flag = ref(given[0])
    if hardware is None:
        raise InputError(f"{flag} needs {ref('gpu')} NAME and {ref('mfu')} F to turn it into FLOPs")
    train = hardware.train
    if given[0] == "gpu_hours":
        hours = values["gpu_hours"]
    elif given[0] == "budget_usd":
        hours = train.gpu_hours_for_usd(values["budget_usd"])
    else:
        if values.get("gpus") is None:
            raise InputError(f"{ref('days')} needs {ref('gpus')} K, the number of accelerators the run has")
        hours = values["days"] * HOURS_PER_DAY * train.gpus
    flops = train.flops_for_gpu_hours(hours)
    lo, hi = RANGES["flops"]
    if not lo <= flops <= hi:
        raise InputError(
            f"{flag} is {flops:.3g} FLOPs on {train.accelerator.name} at MFU {train.mfu:g}, "
            f"outside the range scalecli plans for ({lo:g} to {hi:g} FLOPs)"
        )
    return flops
