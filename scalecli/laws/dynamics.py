"""Asymmetric-dynamics law (Bordelon, Atanasov & Pehlevan 2024; REFERENCE §6).

L(N, S) = E + A_N·N^-alpha + A_S·S^-beta, S optimizer steps at B tokens per step, compute
C = 6·N·B·S. A preset may give the theory's spectral exponents (a, b) instead of (alpha, beta):
alpha = min(a - 1, 2b), beta = (a - 1)/b (REFERENCE §6.2, §6.5). With P unique tokens and a
prefactor A_P, the data bottleneck adds A_P·P^-alpha (the P^-min(a-1, 2b) law of §6.2).
"""

from __future__ import annotations

import numpy as np

from scalecli.errors import InputError
from scalecli.laws.base import Conditions, Law, check_exponents, power_law_optimum


class DynamicsLaw(Law):
    family = "dynamics"
    required = ("E", "A_N", "A_S")
    optional = ("alpha", "beta", "a", "b", "A_P")
    params_convention = "parameters in the units of the fit (N in the law's own convention)"

    def __init__(self, params, name: str = "") -> None:
        super().__init__(params, name)
        p = self.params
        spectral = "a" in p or "b" in p
        direct = "alpha" in p or "beta" in p
        if spectral and direct:
            raise InputError(
                f"dynamics law {self.name!r}: give either the spectral exponents a, b or "
                "alpha, beta, not both"
            )
        if spectral:
            if "a" not in p or "b" not in p:
                raise InputError(f"dynamics law {self.name!r}: spectral exponents need both a and b")
            if not p["a"] > 1 or not p["b"] > 0:
                raise InputError(
                    f"dynamics law {self.name!r}: spectral exponents need a > 1 and b > 0 "
                    f"(got a={p['a']}, b={p['b']})"
                )
            self.alpha, self.beta = spectral_to_exponents(p["a"], p["b"])
        elif "alpha" in p and "beta" in p:
            check_exponents(self, "alpha", "beta")
            self.alpha, self.beta = p["alpha"], p["beta"]
        else:
            raise InputError(f"dynamics law {self.name!r}: missing exponents (alpha, beta) or (a, b)")
        for key in ("A_N", "A_S"):
            if not p[key] > 0:
                raise InputError(f"dynamics law {self.name!r}: {key} must be > 0")
        self.G, self.a_exp, self.b_exp, self.k_loss = power_law_optimum(
            p["A_N"], self.alpha, p["A_S"], self.beta
        )

    @property
    def irreducible_loss(self) -> float:  # type: ignore[override]
        return self.params["E"]

    @property
    def models_repeats(self) -> bool:  # type: ignore[override]
        """With A_P the law has a data bottleneck: reusing P unique tokens is part of the model."""
        return "A_P" in self.params

    def spectral(self) -> tuple[float, float]:
        """Implied (a, b) = (1 + alpha, alpha/beta) (REFERENCE §6.5 inverse map)."""
        return 1.0 + self.alpha, self.alpha / self.beta

    def _data_term(self, cond: Conditions) -> float:
        if cond.unique_tokens is None or "A_P" not in self.params:
            return 0.0
        return self.params["A_P"] * cond.unique_tokens**-self.alpha

    def loss(self, params, steps, cond: Conditions):
        p = self.params
        return (
            p["E"]
            + p["A_N"] * np.asarray(params, dtype=float) ** -self.alpha
            + p["A_S"] * np.asarray(steps, dtype=float) ** -self.beta
            + self._data_term(cond)
        )

    def allocation(self, params, train_flops, cond: Conditions):
        params = np.asarray(params, dtype=float)
        batch = cond.batch.batch_tokens(train_flops) * np.ones_like(params)
        tokens = train_flops / (6.0 * params)
        return tokens, tokens / batch, batch

    def loss_on_budget(self, params, train_flops, cond: Conditions):
        _, steps, _ = self.allocation(params, train_flops, cond)
        return self.loss(params, steps, cond)

    def flops_for_loss(self, params, loss, cond: Conditions):
        p = self.params
        params = np.asarray(params, dtype=float)
        rem = loss - p["E"] - self._data_term(cond) - p["A_N"] * params**-self.alpha
        with np.errstate(divide="ignore", invalid="ignore"):
            steps = np.where(rem > 0, (p["A_S"] / np.where(rem > 0, rem, 1.0)) ** (1.0 / self.beta), np.inf)
        return np.where(np.isfinite(steps), cond.batch.flops_for_steps(params, steps), np.inf)

    def loss_floor(self, params, cond: Conditions):
        p = self.params
        return p["E"] + self._data_term(cond) + p["A_N"] * np.asarray(params, dtype=float) ** -self.alpha

    # ----- closed forms (REFERENCE §6.5): N* = G·(C/k)^(beta/(alpha+beta)), k = 6·B ----------
    def closed_form_params(self, train_flops, cond: Conditions):
        k = 6.0 * cond.batch.batch_tokens(train_flops)
        return self.G * (np.asarray(train_flops, dtype=float) / k) ** self.a_exp

    def closed_form_flops(self, loss: float, cond: Conditions) -> float | None:
        rem = loss - self.params["E"] - self._data_term(cond)
        if rem <= 0:
            return None
        size = (rem / self.k_loss) ** (-(self.alpha + self.beta) / (self.alpha * self.beta))
        # size = C/k = N·S at the optimum; C = 6·1·size·B(C).
        return float(cond.batch.flops_for_steps(1.0, size))

    def predict(self, params, tokens, steps, cond: Conditions):
        if steps is None:
            flops = 6.0 * params * tokens
            steps = tokens / float(cond.batch.batch_tokens(flops))
        else:
            flops = float(cond.batch.flops_for_steps(params, steps))
            tokens = flops / (6.0 * params)
        return {
            "loss": float(self.loss(params, steps, cond)),
            "tokens": tokens,
            "steps": steps,
            "batch_tokens": tokens / steps,
            "train_flops": flops,
        }

    def notes(self) -> list[str]:
        a, b = self.spectral()
        notes = [
            f"loss falls as N^-{self.alpha:.3g} with size and S^-{self.beta:.3g} with steps "
            f"(spectral a = {a:.3g}, b = {b:.3g})"
        ]
        if b <= 1:
            notes.append("b <= 1: at or outside the edge of the theory's b > 1 regime (REFERENCE §6.5)")
        return notes


def spectral_to_exponents(a: float, b: float) -> tuple[float, float]:
    """(a, b) -> (alpha, beta) = (min(a - 1, 2b), (a - 1)/b) (REFERENCE §6.2, §6.5)."""
    return min(a - 1.0, 2.0 * b), (a - 1.0) / b
