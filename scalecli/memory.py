"""Training memory per GPU for weights, gradients and Adam states (Rajbhandari et al. 2020, ZeRO §3).

Mixed precision (``bf16``) keeps 16-bit weights and gradients and an fp32 copy of the weights with
Adam's two moments: 2 + 2 + 12 = 16 bytes per parameter (ZeRO's 2Ψ + 2Ψ + KΨ, K = 12). Pure
``fp32`` keeps 4 + 4 + 8 = 16 as well, split differently. Sharding over K data-parallel GPUs
divides the optimizer states (ZeRO-1), also the gradients (ZeRO-2), or everything (ZeRO-3).
Activations, the KV cache, buffers and fragmentation are not included: they depend on the
micro-batch, sequence length and recomputation, and come on top.
"""

from __future__ import annotations

from dataclasses import dataclass

from scalecli.errors import InputError, ref

BYTES = {  # per parameter: (weights, gradients, optimizer states)
    "bf16": (2.0, 2.0, 12.0),
    "fp32": (4.0, 4.0, 8.0),
}
SHARDING = ("none", "zero1", "zero2", "zero3")
GB = 1e9


@dataclass(frozen=True)
class Memory:
    params: float
    precision: str
    sharding: str
    gpus: int
    weights_gb: float
    gradients_gb: float
    optimizer_gb: float
    total_gb: float
    gpu: str | None = None
    gpu_memory_gb: float | None = None
    fits: bool | None = None

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)

    def describe(self) -> str:
        where = (
            f"per GPU, {self.sharding} over {self.gpus}" if self.sharding != "none" else "per GPU, unsharded"
        )
        text = (
            f"memory {where} ({self.precision}): weights {self.weights_gb:.3g} GB + gradients "
            f"{self.gradients_gb:.3g} GB + Adam states {self.optimizer_gb:.3g} GB = {self.total_gb:.3g} GB"
        )
        if self.fits is not None:
            verdict = "fits" if self.fits else "does NOT fit"
            text += f"; {verdict} in the {self.gpu}'s {self.gpu_memory_gb:g} GB before activations"
        return text


def training_memory(
    params: float,
    precision: str = "bf16",
    sharding: str = "none",
    gpus: int = 1,
    gpu: str | None = None,
    gpu_memory_gb: float | None = None,
) -> Memory:
    if precision not in BYTES:
        raise InputError(f"{ref('weights_precision')} must be one of {', '.join(BYTES)}, got {precision!r}")
    if sharding not in SHARDING:
        raise InputError(f"{ref('sharding')} must be one of {', '.join(SHARDING)}, got {sharding!r}")
    if sharding != "none" and gpus < 2:
        raise InputError(f"{ref('sharding')} {sharding} shards over {ref('gpus')} K >= 2 accelerators")
    w, g, o = (b * params / GB for b in BYTES[precision])
    k = float(gpus)
    if sharding in ("zero1", "zero2", "zero3"):
        o /= k
    if sharding in ("zero2", "zero3"):
        g /= k
    if sharding == "zero3":
        w /= k
    total = w + g + o
    fits = None if gpu_memory_gb is None else total <= gpu_memory_gb
    return Memory(params, precision, sharding, gpus, w, g, o, total, gpu, gpu_memory_gb, fits)
