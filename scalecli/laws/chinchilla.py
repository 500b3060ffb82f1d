"""Chinchilla family: L(N, D) = E + A/N^alpha + B/D^beta (Hoffmann et al. 2022, eq. 2).

Optional Muennighoff et al. (2023) repeated-data terms (REFERENCE §5.1): with U unique tokens,
D is replaced by the effective data D' = U + U·R*_D·(1 - exp(-R_D/R*_D)), R_D = D/U - 1, and
N by the effective parameters N' = U_N + U_N·R*_N·(1 - exp(-R_N/R*_N)), where
U_N = min(N_opt(U), N) and R_N = N/U_N - 1.
"""

from __future__ import annotations

import numpy as np

from scalecli.errors import InputError
from scalecli.laws.base import Conditions, Family, FitVariant, Law, Param, check_exponents, power_law_optimum
from scalecli.laws.forms import (
    HOFFMANN_E,
    HOFFMANN_EXP,
    HOFFMANN_SCALE,
    VP_EXPONENTS,
    FitForm,
    Projection,
    log_additive,
)

PARAMS = (
    Param("E", "irreducible loss (the entropy of the text)", "nats/token", "loss"),
    Param("A", "prefactor of the model-size term A/N^alpha", "nats/token·params^alpha"),
    Param("B", "prefactor of the data term B/D^beta", "nats/token·tokens^beta"),
    Param("alpha", "exponent of model size", "", "exponent"),
    Param("beta", "exponent of training tokens", "", "exponent"),
    Param("R_D_star", "repeated data: epochs where repeats lose 1/e of their worth", "epochs", optional=True),
    Param("R_N_star", "repeated data: the same for excess parameters (Muennighoff)", "", optional=True),
)  # fmt: skip


class ChinchillaLaw(Law):
    family = "chinchilla"
    params_schema = PARAMS
    params_convention = "total parameters (embeddings included)"

    def __init__(self, params, name: str = "") -> None:
        super().__init__(params, name)
        check_exponents(self, "alpha", "beta")
        for key in ("A", "B", "R_D_star", "R_N_star"):
            if key in self.params and not self.params[key] > 0:
                raise InputError(f"chinchilla law {self.name!r}: {key} must be > 0")
        p = self.params
        self.G, self.a, self.b, self.k_loss = power_law_optimum(p["A"], p["alpha"], p["B"], p["beta"])
        self.irreducible_loss = p["E"]
        self.models_repeats = "R_D_star" in p
        self.k = float(self.train_flops(1.0, 1.0)[()])  # FLOPs per parameter per token (6)

    # ----- repeated data (Muennighoff et al. 2023) ----------------------------------------
    def optimal_params_for_tokens(self, tokens):
        """Compute-optimal N for D tokens: N = G·(D·G)^(beta/alpha) (REFERENCE §5.2)."""
        p = self.params
        return self.G * (np.asarray(tokens, dtype=float) * self.G) ** (p["beta"] / p["alpha"])

    def effective_tokens(self, tokens, unique):
        tokens = np.asarray(tokens, dtype=float)
        r_star = self.params.get("R_D_star")
        if unique is None or r_star is None:
            return tokens
        repeats = np.maximum(tokens / unique - 1.0, 0.0)
        repeated = unique + unique * r_star * (-np.expm1(-repeats / r_star))
        return np.where(tokens > unique, repeated, tokens)

    def effective_params(self, params, unique):
        params = np.asarray(params, dtype=float)
        r_star = self.params.get("R_N_star")
        if unique is None or r_star is None:
            return params
        unique_params = np.minimum(self.optimal_params_for_tokens(unique), params)
        repeats = params / unique_params - 1.0
        return unique_params + unique_params * r_star * (-np.expm1(-repeats / r_star))

    # ----- the surface ---------------------------------------------------------------------
    def loss(self, params, tokens, unique: float | None = None):
        p = self.params
        n_eff = self.effective_params(params, unique)
        d_eff = self.effective_tokens(tokens, unique)
        return p["E"] + p["A"] * n_eff ** -p["alpha"] + p["B"] * d_eff ** -p["beta"]

    def _unique(self, cond: Conditions) -> float | None:
        return cond.unique_tokens if self.models_repeats else None

    def loss_on_budget(self, params, train_flops, cond: Conditions):
        params = np.asarray(params, dtype=float)
        return self.loss(params, self.tokens_for_flops(params, train_flops), self._unique(cond))

    def tokens_for_loss(self, params, loss, cond: Conditions):
        p = self.params
        unique = self._unique(cond)
        rem = loss - p["E"] - p["A"] * self.effective_params(params, unique) ** -p["alpha"]
        with np.errstate(divide="ignore", invalid="ignore"):
            d_eff = np.where(rem > 0, (p["B"] / np.where(rem > 0, rem, 1.0)) ** (1.0 / p["beta"]), np.inf)
            if unique is None:
                return d_eff
            x = (d_eff / unique - 1.0) / p["R_D_star"]
            repeated = unique * (1.0 - p["R_D_star"] * np.log1p(-np.minimum(x, 1.0)))
            return np.where(d_eff <= unique, d_eff, np.where(x < 1.0, repeated, np.inf))

    def flops_for_loss(self, params, loss, cond: Conditions):
        return self.train_flops(params, self.tokens_for_loss(params, loss, cond))

    def loss_floor(self, params, cond: Conditions):
        p = self.params
        unique = self._unique(cond)
        floor = p["E"] + p["A"] * self.effective_params(params, unique) ** -p["alpha"]
        if unique is not None:
            floor = floor + p["B"] * (unique * (1.0 + p["R_D_star"])) ** -p["beta"]
        return floor

    # ----- closed forms (Hoffmann et al. eq. 4; REFERENCE §2.2) ----------------------------
    def closed_form_params(self, train_flops, cond: Conditions):
        n_opt = self.G * (np.asarray(train_flops, dtype=float) / self.k) ** self.a
        unique = self._unique(cond)
        if unique is not None and np.any(self.tokens_for_flops(n_opt, train_flops) > unique):
            return None  # repeated epochs change the optimum: no closed form (REFERENCE §5.3)
        return n_opt

    def closed_form_flops(self, loss: float, cond: Conditions) -> float | None:
        p = self.params
        if loss <= p["E"]:
            return None
        exponent = -(p["alpha"] + p["beta"]) / (p["alpha"] * p["beta"])
        flops = self.k * ((loss - p["E"]) / self.k_loss) ** exponent
        return None if self.closed_form_params(flops, cond) is None else float(flops)

    def notes(self) -> list[str]:
        notes = super().notes()
        if self.models_repeats:
            notes.append(
                "repeated epochs valued by Muennighoff et al. 2023's effective data and parameters "
                "(docs/laws.md)"
            )
        return notes


# ----- fitting ---------------------------------------------------------------------------------------
def _model(p, X):
    n, d = X
    return p["E"] + p["A"] * n ** -p["alpha"] + p["B"] * d ** -p["beta"]


FORM = FitForm(
    "chinchilla",
    family="chinchilla",
    roles=("params", "tokens"),
    internal=("a", "b", "e", "alpha", "beta"),
    natural=("A", "B", "E", "alpha", "beta"),
    log_scale=(True, True, True, False, False),
    display=("E", "A", "B", "alpha", "beta"),
    # Hoffmann et al.'s grid: alpha, beta in {0, 0.5, ..., 2}, e in {-1, ..., 1}, a, b in {0, 5, ..., 25}
    grid_axes=(HOFFMANN_SCALE, HOFFMANN_SCALE, HOFFMANN_E, HOFFMANN_EXP, HOFFMANN_EXP),
    log_model=log_additive,
    model=_model,
    exponents=(("alpha", "params", "parameters"), ("beta", "tokens", "tokens")),
    # variable projection (Czech 2026, Open-Athena/scaling-law-analysis, "VPNLS"): for fixed
    # exponents E, A and B are linear; exponents on their 32 x 32 grid from 0.05 to 0.95
    profile=Projection(
        linear=("A", "B", "E"),
        nonlinear=(("alpha", VP_EXPONENTS), ("beta", VP_EXPONENTS)),
        columns=lambda v, X: {
            "A": np.exp(-v["alpha"] * X[0]),
            "B": np.exp(-v["beta"] * X[1]),
            "E": np.ones((1, X[0].size)),
        },
    ),
)

FAMILY = Family(
    name="chinchilla",
    summary="L(N, D) = E + A/N^alpha + B/D^beta (Hoffmann et al. 2022, eq. 2), optional repeated data",
    params=PARAMS,
    make=lambda params, name: ChinchillaLaw(params, name),
    forms=(FORM,),
    variants=(FitVariant("chinchilla", ("chinchilla",)),),
)
