"""Precision-aware family: Kumar et al. 2024, "Scaling Laws for Precision" (arXiv 2411.04330).

Training in P bits (weights, activations and KV cache tied, integer type) shrinks the effective
parameter count (eqs. 3-4):

    N_eff = N·Π_x (1 - e^(-P/γ_x + n_x)),   x in {weights, activations, KV cache}
    L(N, D, P) = A·N_eff^(-α) + B·D^(-β) + E,   α = β (tied, App. K)

with the offsets n_x of App. K's Table 2 ("a fit of the form e^(x/γ_x) in the main text is really
computed with offset e^(x/γ_x + n)"). Training compute is C = (6/16)·N·D·P (eq. 5), so 16 bits
is Chinchilla's 6·N·D. After training, quantising the weights to P_post bits adds (eq. 2, for a
model trained in high precision)

    δ_PTQ = C_T·(D^γ_D / N^γ_N)·e^(-P_post/γ_post)

which grows with data: beyond D_crit = (β·B·N^γ_N·e^(P_post/γ_post)/(γ_D·C_T))^(1/(γ_D+β))
(eq. 13) more tokens make the quantised model worse. N counts non-embedding parameters (§2). The
authors warn that the constants are specific to their setup (OLMo-style models of 30-220M
parameters on Dolma, integer quantisation): the trends, not the values, carry over.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from scalecli.errors import InputError
from scalecli.laws.base import Conditions, Family, FitVariant, Law, Param, power_law_optimum
from scalecli.laws.forms import HOFFMANN_E, HOFFMANN_EXP, HOFFMANN_SCALE, FitForm, lse

PARAMS = (
    Param("A", "prefactor of the effective-parameter term", "nats/token·params^alpha"),
    Param("alpha", "exponent of N_eff", "", "exponent"),
    Param("B", "prefactor of the data term", "nats/token·tokens^beta"),
    Param("beta", "exponent of D (tied to alpha when absent, App. K)", "", "exponent", optional=True),
    Param("E", "irreducible loss", "nats/token", "loss"),
    Param("gamma_w", "bits scale of the weights' factor", "bits", optional=True),
    Param("gamma_a", "bits scale of the activations' factor", "bits", optional=True),
    Param("gamma_kv", "bits scale of the KV cache's factor", "bits", optional=True),
    Param("gamma", "one bits scale for all three factors (eq. 4's tied form)", "bits", optional=True),
    Param("n_w", "offset of the weights' factor (App. K)", "", "signed", optional=True),
    Param("n_a", "offset of the activations' factor", "", "signed", optional=True),
    Param("n_kv", "offset of the KV cache's factor", "", "signed", optional=True),
    Param("C_T", "post-training quantisation: prefactor (eq. 2)", "nats/token", optional=True),
    Param("gamma_D", "post-training quantisation: exponent of D", "", "signed", optional=True),
    Param("gamma_N", "post-training quantisation: exponent of N", "", "signed", optional=True),
    Param("gamma_post", "post-training quantisation: bits scale", "bits", optional=True),
)  # fmt: skip

HIGH_PRECISION = 16.0  # bf16 training: (6/16)·N·D·16 = 6·N·D
BITS = tuple(float(b) for b in range(3, 17))  # integer precisions a plan may choose (3-12 fitted, 16 = bf16)
PTQ_KEYS = ("C_T", "gamma_D", "gamma_N", "gamma_post")


class PrecisionLaw(Law):
    family = "precision"
    params_schema = PARAMS
    params_convention = "non-embedding parameters (Kumar et al. 2024, §2)"

    def __init__(self, params, name: str = "") -> None:
        super().__init__(params, name)
        p = self.params
        p.setdefault("beta", p["alpha"])
        for key in ("n_w", "n_a", "n_kv"):
            p.setdefault(key, 0.0)
        three = [k for k in ("gamma_w", "gamma_a", "gamma_kv") if k in p]
        if "gamma" in p:
            if three:
                raise InputError(
                    f"precision law {self.name!r}: give gamma (tied) or gamma_w, gamma_a, gamma_kv"
                )
            for k in ("gamma_w", "gamma_a", "gamma_kv"):
                p[k] = p["gamma"]
        elif len(three) != 3:
            raise InputError(
                f"precision law {self.name!r}: give gamma_w, gamma_a and gamma_kv (or one gamma)"
            )
        given = [k for k in PTQ_KEYS if k in p]
        if given and len(given) != len(PTQ_KEYS):
            raise InputError(f"precision law {self.name!r}: give all of {', '.join(PTQ_KEYS)} or none")
        self.irreducible_loss = p["E"]
        self.bits = HIGH_PRECISION
        self.ptq_bits: float | None = None

    def for_conditions(self, cond: Conditions) -> PrecisionLaw:
        law = copy.copy(self)
        law.bits = float(cond.extra.get("train_bits", HIGH_PRECISION))
        law.ptq_bits = cond.extra.get("ptq_bits")
        if law.ptq_bits is not None and "C_T" not in self.params:
            raise InputError(
                f"precision law {self.name!r} has no post-training quantisation constants (C_T, ...)"
            )
        return law

    # ----- the law -------------------------------------------------------------------------------
    def factor(self, bits: float) -> float:
        """N_eff / N at ``bits`` for weights, activations and KV cache."""
        p = self.params
        out = 1.0
        for g, n in (("gamma_w", "n_w"), ("gamma_a", "n_a"), ("gamma_kv", "n_kv")):
            out *= 1.0 - math.exp(-bits / p[g] + p[n])
        if not out > 0:
            raise InputError(f"precision law {self.name!r}: at {bits:g} bits the effective parameters vanish")
        return out

    def train_flops(self, params, tokens):
        """C = (6/16)·N·D·P (eq. 5)."""
        return 6.0 / 16.0 * self.bits * np.asarray(params, dtype=float) * np.asarray(tokens, dtype=float)

    def loss(self, params, tokens):
        p = self.params
        n_eff = np.asarray(params, dtype=float) * self.factor(self.bits)
        return p["A"] * n_eff ** -p["alpha"] + p["B"] * np.asarray(tokens, dtype=float) ** -p["beta"] + p["E"]

    def loss_on_budget(self, params, train_flops, cond: Conditions):
        params = np.asarray(params, dtype=float)
        return self.loss(params, self.tokens_for_flops(params, train_flops))

    def flops_for_loss(self, params, loss, cond: Conditions):
        p = self.params
        n_eff = np.asarray(params, dtype=float) * self.factor(self.bits)
        rem = loss - p["E"] - p["A"] * n_eff ** -p["alpha"]
        with np.errstate(divide="ignore", invalid="ignore"):
            tokens = np.where(rem > 0, (p["B"] / np.where(rem > 0, rem, 1.0)) ** (1.0 / p["beta"]), np.inf)
        return self.train_flops(params, tokens)

    def loss_floor(self, params, cond: Conditions):
        p = self.params
        return p["E"] + p["A"] * (np.asarray(params, dtype=float) * self.factor(self.bits)) ** -p["alpha"]

    def _optimum(self):
        p = self.params
        a_eff = p["A"] * self.factor(self.bits) ** -p["alpha"]
        return power_law_optimum(a_eff, p["alpha"], p["B"], p["beta"])

    def closed_form_params(self, train_flops, cond: Conditions):
        g, a, _, _ = self._optimum()
        k = float(self.train_flops(1.0, 1.0))
        return g * (np.asarray(train_flops, dtype=float) / k) ** a

    def closed_form_flops(self, loss: float, cond: Conditions) -> float | None:
        p = self.params
        if loss <= p["E"]:
            return None
        _, _, _, k_loss = self._optimum()
        exponent = -(p["alpha"] + p["beta"]) / (p["alpha"] * p["beta"])
        return float(self.train_flops(1.0, 1.0)) * ((loss - p["E"]) / k_loss) ** exponent

    # ----- after training: quantisation ---------------------------------------------------------------
    def ptq_degradation(self, params: float, tokens: float, ptq_bits: float) -> float:
        """δ_PTQ of eq. 2 (the degradation of a model trained in high precision)."""
        p = self.params
        return (
            p["C_T"] * tokens ** p["gamma_D"] / params ** p["gamma_N"] * math.exp(-ptq_bits / p["gamma_post"])
        )

    def critical_tokens(self, params: float, ptq_bits: float) -> float:
        """D_crit of eq. 13: more tokens than this raise the loss after quantising to ``ptq_bits``."""
        p = self.params
        num = p["beta"] * p["B"] * params ** p["gamma_N"] * math.exp(ptq_bits / p["gamma_post"])
        return (num / (p["gamma_D"] * p["C_T"])) ** (1.0 / (p["gamma_D"] + p["beta"]))

    # ----- plans choose the precision ------------------------------------------------------------------
    def discrete_options(self, cond: Conditions) -> list[dict[str, float]]:
        if "train_bits" in cond.extra:
            return [{}]
        return [{"train_bits": b} for b in BITS if self._positive(b)]

    def _positive(self, bits: float) -> bool:
        p = self.params
        return all(
            -bits / p[g] + p[n] < 0 for g, n in (("gamma_w", "n_w"), ("gamma_a", "n_a"), ("gamma_kv", "n_kv"))
        )

    def extras(self, params: float, train_flops: float, cond: Conditions) -> dict[str, float]:
        out = {"train_bits": self.bits, "params_effective": params * self.factor(self.bits)}
        if self.ptq_bits is not None:
            tokens = float(self.tokens_for_flops(params, train_flops))
            out["ptq_bits"] = float(self.ptq_bits)
            out["ptq_loss_increase"] = self.ptq_degradation(params, tokens, self.ptq_bits)
            out["ptq_critical_tokens"] = self.critical_tokens(params, self.ptq_bits)
        return out

    def optimum_notes(self, params: float, tokens: float, extras: dict[str, float]) -> list[str]:
        critical = extras.get("ptq_critical_tokens")
        if critical is None or tokens <= critical:
            return []
        return [
            f"the plan's {tokens:.3g} tokens are past D_crit = {critical:.3g} (eq. 13): quantised to "
            f"{self.ptq_bits:g} bits after training, this model's loss rises with the last "
            f"{tokens - critical:.3g} tokens; spend them on parameters or quantise to more bits"
        ]

    def notes(self) -> list[str]:
        out = [
            f"params are non-embedding; trained in {self.bits:g}-bit integer weights, activations and "
            f"KV cache: N_eff = {self.factor(self.bits):.3f}·N, compute (6/16)·N·D·P "
            "(Kumar et al. 2024, eqs. 4-5)",
        ]
        if self.ptq_bits is not None and self.bits < HIGH_PRECISION:
            out.append(
                "quantisation loss from eq. 2 (a model trained in high precision): training in fewer bits "
                "makes a model more robust to it (eq. 8), by constants the paper does not publish"
            )
        return out


# ----- fitting: one bits column, the three factors tied to one (eq. 4's simplification) --------------
def _log_model(c, X, jac: bool):
    """log L = LSE(a - alpha·(u + 3·ln(1 - e^(-P/g))), b - beta·v, e) with g the mean bits scale."""
    a, b, e, alpha, beta, lg = c
    u, v, z = X  # ln N, ln D, ln P
    bits, g = np.exp(z), np.exp(lg)
    q = np.exp(-bits / g)
    lf = np.log1p(-q)
    t1 = a - alpha * (u + 3.0 * lf)
    t2 = b - beta * v
    t3 = e + 0.0 * u
    if not jac:
        return lse(t1, t2, t3, weights=False)[0], None
    out, (w1, w2, w3) = lse(t1, t2, t3)
    d_lf = -q / (1.0 - q) * bits / g  # d ln(1 - e^(-P/g)) / d ln g
    return out, [w1, w2, w3, -w1 * (u + 3.0 * lf), -w2 * v, -w1 * alpha * 3.0 * d_lf]


def _model(p, X):
    n, d, bits = X
    n_eff = n * (1.0 - np.exp(-bits / p["gamma"])) ** 3
    return p["E"] + p["A"] * n_eff ** -p["alpha"] + p["B"] * d ** -p["beta"]


FORM = FitForm(
    "precision",
    family="precision",
    roles=("params", "tokens", "train_bits"),
    internal=("a", "b", "e", "alpha", "beta", "ln_gamma"),
    natural=("A", "B", "E", "alpha", "beta", "gamma"),
    log_scale=(True, True, True, False, False, True),
    display=("E", "A", "alpha", "B", "beta", "gamma"),
    grid_axes=(HOFFMANN_SCALE, HOFFMANN_SCALE, HOFFMANN_E, HOFFMANN_EXP, HOFFMANN_EXP, (0.0, 0.5, 1.0, 1.5)),
    log_model=_log_model,
    model=_model,
    exponents=(("alpha", "params", "parameters"), ("beta", "tokens", "tokens")),
)


FAMILY = Family(
    name="precision",
    summary="L = A·N_eff^-alpha + B·D^-beta + E, N_eff = N·Π(1 - e^(-P/γ_x)) (Kumar et al. 2024, eqs. 3-4)",
    params=PARAMS,
    make=lambda params, name: PrecisionLaw(params, name),
    forms=(FORM,),
    variants=(FitVariant("precision", ("precision",), "params, tokens and a train_bits column"),),
    params_convention="non_embedding",
    # Table 2's constants with eq. 4's tied form (gamma = the mean of the three bits scales, no
    # offsets): where the fit form is checked, since no shipped preset is in the tied form
    fit_example={
        "A": 4.299e3,
        "alpha": 0.4965,
        "B": 1.806e4,
        "E": 2.7648,
        "gamma": (2.6745 + 2.2102 + 0.9578) / 3,
    },
)
