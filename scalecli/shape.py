"""Model shapes: exact parameter counts, parameter conventions, FLOPs per token, KV cache.

A ``Shape`` is a decoder-only transformer (n_layers, d_model, heads, kv heads, head dim, d_ff,
vocabulary, context) in one of three published styles:

* ``gpt``: GPT-2/GPT-3 (Radford et al. 2019; Brown et al. 2020 §2.1): learned positions,
  LayerNorm with bias, biases on every linear layer, a 4·d_model MLP, tied embeddings.
* ``neox``: GPT-NeoX/Pythia (Biderman et al. 2023): rotary positions, LayerNorm and biases,
  untied input and output embeddings.
* ``llama``: Llama/Mistral (Touvron et al. 2023): RMSNorm (weight only), no biases, SwiGLU MLP
  (three matrices), rotary positions, untied embeddings, optionally grouped-query attention.

Counts are exact for these layouts (docs/recipe.md lists them term by term). Pure Python: this
module is on the start-up path of ``scale arch``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

from scalecli.errors import InputError, ref

STYLES: dict[str, dict[str, object]] = {
    "gpt": {"glu": False, "tied": True, "positions": "learned", "biases": True, "norm": "layernorm"},
    "neox": {"glu": False, "tied": False, "positions": "rotary", "biases": True, "norm": "layernorm"},
    "llama": {"glu": True, "tied": False, "positions": "rotary", "biases": False, "norm": "rmsnorm"},
}

# What a law's N counts. Each preset says which (``params_convention``).
PARAMS_CONVENTIONS: dict[str, str] = {
    "total": "all parameters, embeddings and output head included (Hoffmann et al. 2022)",
    "non_embedding": "without vocabulary and position embeddings or the output head "
    "(Kaplan et al. 2020 §2.1)",
    "with_head": "non-embedding plus one vocabulary matrix, the output layer (Porian et al. 2024)",
}
# Pearce & Song 2024 (arXiv 2406.12907): N_total = N_nonemb + omega·N_nonemb^(1/3), with
# omega = 47,491 from a vocabulary of 32,000 and Chinchilla's aspect ratios (one vocabulary matrix).
PEARCE_SONG_OMEGA = 47491.0


@dataclass(frozen=True)
class Shape:
    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    d_ff: int
    vocab: int
    n_ctx: int = 2048
    style: str = "llama"
    glu: bool = True
    tied: bool = False
    positions: str = "rotary"  # learned | rotary
    biases: bool = False
    norm: str = "rmsnorm"  # layernorm | rmsnorm

    def __post_init__(self) -> None:
        for name in ("n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "d_ff", "vocab", "n_ctx"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InputError(f"{ref(name)} must be a whole number >= 1, got {value!r}")
        if self.n_heads % self.n_kv_heads:
            raise InputError(
                f"{ref('heads')} ({self.n_heads}) must be a multiple of {ref('kv_heads')} ({self.n_kv_heads})"
            )

    # ----- parameters ----------------------------------------------------------------------------
    @property
    def attention_params(self) -> int:
        """One layer's attention: Q and output projections (n_heads·head_dim wide), K and V
        (n_kv_heads·head_dim wide), and their biases in the biased styles."""
        q = self.n_heads * self.head_dim
        kv = self.n_kv_heads * self.head_dim
        weights = self.d_model * q + 2 * self.d_model * kv + q * self.d_model
        return weights + ((q + 2 * kv + self.d_model) if self.biases else 0)

    @property
    def mlp_params(self) -> int:
        """One layer's MLP: two matrices (GELU) or three (SwiGLU: gate, up, down), with biases."""
        matrices = 3 if self.glu else 2
        weights = matrices * self.d_model * self.d_ff
        return weights + (((matrices - 1) * self.d_ff + self.d_model) if self.biases else 0)

    @property
    def norm_params(self) -> int:
        """One normalisation layer: weight and bias (LayerNorm) or weight only (RMSNorm)."""
        return 2 * self.d_model if self.norm == "layernorm" else self.d_model

    @property
    def layer_params(self) -> int:
        return self.attention_params + self.mlp_params + 2 * self.norm_params

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.d_model

    @property
    def head_params(self) -> int:
        """The output layer's own matrix (0 when tied to the input embedding)."""
        return 0 if self.tied else self.vocab * self.d_model

    @property
    def position_params(self) -> int:
        return self.n_ctx * self.d_model if self.positions == "learned" else 0

    @property
    def non_embedding_params(self) -> int:
        """Kaplan et al. 2020 §2.1: without vocabulary and position embeddings (layers and the
        final norm; Kaplan's 12·n_layer·d_model² also leaves out biases and norms)."""
        return self.n_layers * self.layer_params + self.norm_params

    @property
    def total_params(self) -> int:
        return self.non_embedding_params + self.embedding_params + self.head_params + self.position_params

    def params(self, convention: str) -> int:
        if convention == "total":
            return self.total_params
        if convention == "non_embedding":
            return self.non_embedding_params
        if convention == "with_head":
            return self.non_embedding_params + self.vocab * self.d_model
        raise InputError(
            f"unknown parameter convention {convention!r}; one of {', '.join(PARAMS_CONVENTIONS)}"
        )

    # ----- inference -------------------------------------------------------------------------------
    def kv_cache_bytes_per_token(self, bytes_per_value: float = 2.0) -> float:
        """K and V of every layer for one token: 2·n_layers·n_kv_heads·head_dim values."""
        return 2.0 * self.n_layers * self.n_kv_heads * self.head_dim * bytes_per_value

    @property
    def aspect_ratio(self) -> float:
        return self.d_model / self.n_layers

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = asdict(self)
        out.update(
            total_params=self.total_params,
            non_embedding_params=self.non_embedding_params,
            with_head_params=self.params("with_head"),
            active_params=self.total_params,  # dense: every parameter is active (MoE differs)
            embedding_params=self.embedding_params + self.head_params + self.position_params,
            aspect_ratio=self.aspect_ratio,
            kv_cache_bytes_per_token=self.kv_cache_bytes_per_token(),
            flops_per_token={c: flops_per_token(self, c) for c in FLOPS_CONVENTIONS},
        )
        return out


def make_shape(
    n_layers: int,
    d_model: int,
    *,
    style: str = "llama",
    n_heads: int | None = None,
    n_kv_heads: int | None = None,
    head_dim: int | None = None,
    d_ff: int | None = None,
    vocab: int = 32000,
    n_ctx: int = 2048,
    glu: bool | None = None,
    tied: bool | None = None,
) -> Shape:
    """A shape with the style's defaults for what is not given: head_dim 128 (64 below d_model
    1024), heads = d_model/head_dim, kv heads = heads, d_ff = 4·d_model (GPT-3 §2.1) or, with
    SwiGLU, 8/3·d_model rounded up to a multiple of 256 (Llama's 11,008 at d_model 4,096)."""
    if style not in STYLES:
        raise InputError(f"{ref('style')} must be one of {', '.join(STYLES)}, got {style!r}")
    fields = dict(STYLES[style])
    if glu is not None:
        fields["glu"] = glu
    if tied is not None:
        fields["tied"] = tied
    if n_heads is None:
        head_dim = head_dim or (128 if d_model >= 1024 else 64)
        if d_model % head_dim:
            raise InputError(f"{ref('d_model')} {d_model} is not a multiple of the head dimension {head_dim}")
        n_heads = d_model // head_dim
    elif head_dim is None:
        if d_model % n_heads:
            raise InputError(f"{ref('d_model')} {d_model} is not a multiple of {ref('heads')} {n_heads}")
        head_dim = d_model // n_heads
    if d_ff is None:
        d_ff = default_d_ff(d_model, bool(fields["glu"]))
    return Shape(
        n_layers=n_layers,
        d_model=d_model,
        n_heads=n_heads,
        n_kv_heads=n_kv_heads or n_heads,
        head_dim=head_dim,
        d_ff=d_ff,
        vocab=vocab,
        n_ctx=n_ctx,
        style=style,
        **fields,  # type: ignore[arg-type]
    )


def default_d_ff(d_model: int, glu: bool) -> int:
    if not glu:
        return 4 * d_model
    return 256 * math.ceil(8 * d_model / 3 / 256)


# ----- conventions without a shape ---------------------------------------------------------------
def convert_params(value: float, source: str, target: str) -> float:
    """A parameter count from one convention to another without a shape: Pearce & Song 2024,
    N_total = N_nonemb + 47,491·N_nonemb^(1/3) (one vocabulary matrix, so ``with_head`` and
    ``total`` coincide here)."""
    for c in (source, target):
        if c not in PARAMS_CONVENTIONS:
            raise InputError(f"unknown parameter convention {c!r}; one of {', '.join(PARAMS_CONVENTIONS)}")
    if (source == "non_embedding") == (target == "non_embedding"):
        return float(value)
    if source == "non_embedding":
        return value + PEARCE_SONG_OMEGA * value ** (1.0 / 3.0)
    # invert N_t = x + omega·x^(1/3) for x (increasing in x): Newton from x = N_t
    x = float(value)
    for _ in range(60):
        f = x + PEARCE_SONG_OMEGA * x ** (1.0 / 3.0) - value
        step = f / (1.0 + PEARCE_SONG_OMEGA / 3.0 * x ** (-2.0 / 3.0))
        x = max(x - step, x / 10.0)
        if abs(step) <= 1e-13 * x:
            break
    return x


# ----- FLOPs per training token ------------------------------------------------------------------
FLOPS_CONVENTIONS: dict[str, str] = {
    "6nd": "6·N per token, N the total parameters",
    "kaplan": "6·N_nonemb + 6·n_layer·n_ctx·d_attn (Kaplan et al. 2020 eq. 2.2, Table 1; x3 for backward)",
    "palm": "6·N + 12·L·H·Q·T (Chowdhery et al. 2022, Appendix B)",
    "chinchilla": "every matmul, softmax, embeddings and logits, times 3 (Hoffmann et al. 2022, Appendix F)",
    "megatron": "Megatron-LM's num_floating_point_operations: GQA, GLU, causal attention, logits",
    "deepseek": "M = 72·n_layer·d_model² + 12·n_layer·d_model·l_seq (Bi et al. 2024, eq. 2)",
}  # fmt: skip


def flops_per_token(shape: Shape, convention: str, params_convention: str = "total") -> float:
    """Training FLOPs (forward and backward) per token of ``shape`` at context ``shape.n_ctx``.

    ``params_convention`` is the N of the ``6nd`` convention (6·N·D with the user's own N)."""
    s = shape
    T = s.n_ctx
    q = s.n_heads * s.head_dim
    kv = s.n_kv_heads * s.head_dim
    mlp_matrices = 3 if s.glu else 2
    if convention == "6nd":
        return 6.0 * s.params(params_convention)
    if convention == "kaplan":  # eq. 2.2: C_forward = 2N + 2·n_layer·n_ctx·d_attn; backward 2x
        return 3.0 * (2.0 * s.non_embedding_params + 2.0 * s.n_layers * T * q)
    if convention == "palm":  # Appendix B: 6N + 12·L·H·Q·T
        return 6.0 * s.total_params + 12.0 * s.n_layers * s.n_heads * s.head_dim * T
    if convention == "chinchilla":  # Appendix F, per token (the per-sequence terms divided by T)
        attention = (
            2.0 * s.d_model * (q + 2 * kv)  # Q, K, V projections
            + 2.0 * T * q  # key @ query logits
            + 3.0 * s.n_heads * T  # softmax
            + 2.0 * T * q  # softmax @ values
            + 2.0 * q * s.d_model  # final linear
        )
        dense = 2.0 * mlp_matrices * s.d_model * s.d_ff
        forward = 2.0 * s.vocab * s.d_model + s.n_layers * (attention + dense) + 2.0 * s.d_model * s.vocab
        return 3.0 * forward
    if convention == "megatron":  # causal attention: QK^T and (QK^T)V over T/2 positions on average
        layer = s.d_model * (q + 2 * kv) + q * T + q * s.d_model + mlp_matrices * s.d_model * s.d_ff
        return 6.0 * (s.n_layers * layer + s.d_model * s.vocab)
    if convention == "deepseek":
        return 72.0 * s.n_layers * s.d_model**2 + 12.0 * s.n_layers * s.d_model * T
    raise InputError(
        f"{ref('flops_convention')} must be one of {', '.join(FLOPS_CONVENTIONS)}, got {convention!r}"
    )


# ----- shapes for a parameter count --------------------------------------------------------------
DEFAULT_ASPECT = (32.0, 128.0)  # d_model / n_layers of GPT-3 Table 2.1, Pythia and Llama 2 shapes
MAX_LAYERS = 512


def parse_aspect(text: str | None) -> tuple[float, float]:
    if text is None:
        return DEFAULT_ASPECT
    parts = str(text).replace("..", "-").split("-")
    try:
        lo, hi = (float(parts[0]), float(parts[-1]))
    except ValueError:
        raise InputError(
            f"{ref('aspect')} must be a range like 32-128 (d_model / n_layers), got {text!r}"
        ) from None
    if not (0 < lo <= hi <= 10_000):
        raise InputError(f"{ref('aspect')} must be a range like 32-128 with 0 < low <= high, got {text!r}")
    return lo, hi


def shapes_for(
    params: float,
    *,
    convention: str = "total",
    count: int = 5,
    aspect: tuple[float, float] = DEFAULT_ASPECT,
    head_dim: int | None = None,
    **options,
) -> list[Shape]:
    """The ``count`` shapes whose ``convention`` count is nearest ``params``: for every depth,
    the widths (multiples of the head dimension) on either side of the target, within the
    aspect-ratio range; nearest first. Bounded: at most 512 depths, four widths each."""
    if not (1e3 <= params <= 1e16):
        raise InputError(f"{ref('params')} must be between 1e3 and 1e16 for a shape, got {params:g}")
    hd = head_dim or (128 if params >= 5e8 else 64)
    candidates: list[Shape] = []
    for n_layers in range(1, MAX_LAYERS + 1):
        lo_d, hi_d = aspect[0] * n_layers, aspect[1] * n_layers
        d = _width_for(params, n_layers, hd, convention, options)
        if d < lo_d - hd:
            break  # deeper is narrower still, and the range only moves up
        if d > hi_d + hd:
            continue
        base = math.floor(d / hd)
        for k in range(base - 1, base + 3):
            width = hd * k
            if width >= hd and lo_d <= width <= hi_d:
                candidates.append(make_shape(n_layers, width, head_dim=hd, **options))
    if not candidates:
        raise InputError(
            f"no shape with d_model/n_layers in {aspect[0]:g}-{aspect[1]:g} has about {params:.3g} params; "
            f"widen {ref('aspect')}"
        )
    candidates.sort(key=lambda s: (abs(s.params(convention) / params - 1.0), s.n_layers))
    return candidates[:count]


def _width_for(params: float, n_layers: int, head_dim: int, convention: str, options) -> float:
    """The d_model at which the count reaches ``params`` at this depth: the count is a quadratic
    in d_model (up to d_ff's rounding), fitted through three widths and solved."""
    xs = (8 * head_dim, 16 * head_dim, 32 * head_dim)
    ys = [make_shape(n_layers, x, head_dim=head_dim, **options).params(convention) for x in xs]
    (x0, x1, x2), (y0, y1, y2) = xs, ys
    a = ((y2 - y1) / (x2 - x1) - (y1 - y0) / (x1 - x0)) / (x2 - x0)
    b = (y1 - y0) / (x1 - x0) - a * (x0 + x1)
    c = y0 - a * x0 * x0 - b * x0
    if a <= 0:
        return (params - c) / b
    return (-b + math.sqrt(max(b * b - 4 * a * (c - params), 0.0))) / (2 * a)


def nearest_shape(params: float, convention: str = "total", **options) -> Shape:
    return shapes_for(params, convention=convention, count=1, **options)[0]


def with_ctx(shape: Shape, n_ctx: int) -> Shape:
    return replace(shape, n_ctx=n_ctx)
