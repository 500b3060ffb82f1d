"""Asymmetric-dynamics law (Bordelon, Atanasov & Pehlevan 2024; REFERENCE §6).

L(N, S) = E + A_N·N^-alpha + A_S·S^-beta, S optimizer steps at B tokens per step, compute
C = 6·N·B·S; B comes from the preset's batch rule (``laws/batch.py``). A preset may give the
theory's spectral exponents (a, b) instead of (alpha, beta): alpha = min(a - 1, 2b),
beta = (a - 1)/b (REFERENCE §6.2, §6.5). With P unique tokens and a prefactor A_P, the data
bottleneck adds A_P·P^-alpha (the P^-min(a-1, 2b) law of §6.2).

Batch-aware variant (with ``B_crit``): the step term counts steps at the critical batch,
S_eff = S/(1 + B_crit(N, D)/B) = D/(B + B_crit(N, D)) (Kaplan et al. 2020 eq. 5.4's S_min), with
B_crit(N, D) = B_crit·(N/1e9)^B_crit_exp_N·(D/1e9)^B_crit_exp_D tokens (Zhang et al. 2024 find
the critical batch grows with data). B_crit -> 0 gives the plain steps law; B_crit >> B makes
the law token-based.
"""

from __future__ import annotations

import numpy as np

from scalecli.errors import InputError
from scalecli.laws.base import Conditions, Law, check_exponent_values, check_exponents
from scalecli.numerics import root_increasing

BATCH_AWARE = ("B_crit", "B_crit_exp_N", "B_crit_exp_D")
B_CRIT_UNIT = 1e9  # N and D are measured in units of 1e9 in B_crit(N, D)


class DynamicsLaw(Law):
    family = "dynamics"
    required = ("E", "A_N", "A_S")
    optional = ("alpha", "beta", "a", "b", "A_P", *BATCH_AWARE)
    signed = ("B_crit_exp_N", "B_crit_exp_D")
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
            check_exponent_values(self, {"alpha = min(a - 1, 2b)": self.alpha, "beta = (a - 1)/b": self.beta})
        elif "alpha" in p and "beta" in p:
            check_exponents(self, "alpha", "beta")
            self.alpha, self.beta = p["alpha"], p["beta"]
        else:
            raise InputError(f"dynamics law {self.name!r}: missing exponents (alpha, beta) or (a, b)")
        for key in ("A_N", "A_S"):
            if not p[key] > 0:
                raise InputError(f"dynamics law {self.name!r}: {key} must be > 0")
        if any(k in p for k in BATCH_AWARE) and "B_crit" not in p:
            raise InputError(f"dynamics law {self.name!r}: B_crit_exp_N and B_crit_exp_D need B_crit")
        self.batch_aware = "B_crit" in p
        if self.batch_aware:
            if not p["B_crit"] > 0:
                raise InputError(f"dynamics law {self.name!r}: B_crit must be > 0 (tokens)")
            if not p.get("B_crit_exp_D", 0.0) < 1:
                raise InputError(
                    f"dynamics law {self.name!r}: B_crit_exp_D must be below 1, or more tokens "
                    "would mean fewer effective steps"
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

    def critical_batch(self, params, tokens):
        """B_crit(N, D) in tokens (batch-aware variant only)."""
        p = self.params
        return (
            p["B_crit"]
            * (np.asarray(params, dtype=float) / B_CRIT_UNIT) ** p.get("B_crit_exp_N", 0.0)
            * (np.asarray(tokens, dtype=float) / B_CRIT_UNIT) ** p.get("B_crit_exp_D", 0.0)
        )

    def effective_steps(self, params, tokens, cond: Conditions):
        """Steps the loss counts: S = D/B, or S_eff = D/(B + B_crit(N, D)) when batch-aware."""
        params = np.asarray(params, dtype=float)
        tokens = np.asarray(tokens, dtype=float)
        batch = cond.batch.batch_tokens(params, tokens)
        if self.batch_aware:
            batch = batch + self.critical_batch(params, tokens)
        return tokens / batch

    def loss(self, params, steps, cond: Conditions):
        """L at N and (effective) steps S."""
        p = self.params
        return (
            p["E"]
            + p["A_N"] * np.asarray(params, dtype=float) ** -self.alpha
            + p["A_S"] * np.asarray(steps, dtype=float) ** -self.beta
            + self._data_term(cond)
        )

    def loss_on_budget(self, params, train_flops, cond: Conditions):
        params = np.asarray(params, dtype=float)
        return self.loss(params, self.effective_steps(params, train_flops / (6.0 * params), cond), cond)

    def flops_for_loss(self, params, loss, cond: Conditions):
        p = self.params
        params = np.asarray(params, dtype=float)
        rem = loss - p["E"] - self._data_term(cond) - p["A_N"] * params**-self.alpha
        with np.errstate(divide="ignore", invalid="ignore"):
            steps = np.where(rem > 0, (p["A_S"] / np.where(rem > 0, rem, 1.0)) ** (1.0 / self.beta), np.inf)
        finite = np.isfinite(steps)
        tokens = np.full(np.broadcast(params, steps).shape, np.inf)
        if np.any(finite):
            n = np.broadcast_to(params, tokens.shape)[finite]
            s = np.broadcast_to(steps, tokens.shape)[finite]
            if self.batch_aware or cond.batch.power_form() is None:
                # S_eff(D) increases with D (B and B_crit grow slower than D): solve in ln D.
                lo = np.log(s)
                hi = lo + 250.0

                def excess(x):
                    return np.log(self.effective_steps(n, np.exp(x), cond)) - np.log(s)

                tokens[finite] = np.exp(root_increasing(excess, lo, hi))
            else:
                tokens[finite] = cond.batch.tokens_for_steps(n, s)
        return 6.0 * params * tokens

    def loss_floor(self, params, cond: Conditions):
        p = self.params
        return p["E"] + self._data_term(cond) + p["A_N"] * np.asarray(params, dtype=float) ** -self.alpha

    # ----- closed forms (REFERENCE §6.5) -------------------------------------------------------
    # With B = k·N^p·D^q and D = C/(6N), S = (C/6)^(1-q)·N^-(1-q+p)/k: the step term is
    # K·N^beta' with beta' = beta·(1 - q + p) and K = A_S·k^beta·(C/6)^(-beta·(1-q)), and
    # A_N·N^-alpha + K·N^beta' is least at N* = (alpha·A_N/(beta'·K))^(1/(alpha + beta')).
    # With a fixed batch this is N* = G·(C/(6B))^(beta/(alpha+beta)) of REFERENCE §6.5.
    def _power_batch(self, cond: Conditions):
        if self.batch_aware:
            return None
        form = cond.batch.power_form()
        if form is None:
            return None
        k, p, q = form
        beta_n = self.beta * (1.0 - q + p)
        return (k, p, q, beta_n) if beta_n > 0 else None

    def closed_form_params(self, train_flops, cond: Conditions):
        form = self._power_batch(cond)
        if form is None:
            return None
        k, _, q, beta_n = form
        p = self.params
        scale = (
            p["A_S"] * k**self.beta * (np.asarray(train_flops, dtype=float) / 6.0) ** (-self.beta * (1.0 - q))
        )
        return (self.alpha * p["A_N"] / (beta_n * scale)) ** (1.0 / (self.alpha + beta_n))

    def closed_form_flops(self, loss: float, cond: Conditions) -> float | None:
        form = self._power_batch(cond)
        rem = loss - self.params["E"] - self._data_term(cond)
        if form is None or rem <= 0:
            return None
        k, _, q, beta_n = form
        p = self.params
        params = (p["A_N"] * (1.0 + self.alpha / beta_n) / rem) ** (1.0 / self.alpha)
        scale = self.alpha * p["A_N"] / (beta_n * params ** (self.alpha + beta_n))
        with np.errstate(over="ignore"):
            return float(6.0 * (scale / (p["A_S"] * k**self.beta)) ** (-1.0 / (self.beta * (1.0 - q))))

    def notes(self) -> list[str]:
        a, b = self.spectral()
        notes = [
            f"loss falls as N^-{self.alpha:.3g} with size and S^-{self.beta:.3g} with steps "
            f"(spectral a = {a:.3g}, b = {b:.3g})"
        ]
        if b <= 1:
            notes.append(
                "b <= 1: at or outside the edge of the theory's b > 1 regime "
                "(Bordelon et al. 2024; docs/laws.md)"
            )
        if self.batch_aware:
            p = self.params
            shape = "".join(
                f"·({v}/1e9)^{p[k]:.3g}"
                for k, v in (("B_crit_exp_N", "N"), ("B_crit_exp_D", "D"))
                if p.get(k)
            )
            notes.append(
                "steps are optimizer steps at the plan's batch; the loss counts steps at the critical "
                f"batch, S_eff = S/(1 + B_crit/B), B_crit = {p['B_crit']:.3g}{shape} tokens "
                "(Kaplan et al. eq. 5.4)"
            )
        return notes


def spectral_to_exponents(a: float, b: float) -> tuple[float, float]:
    """(a, b) -> (alpha, beta) = (min(a - 1, 2b), (a - 1)/b) (REFERENCE §6.2, §6.5)."""
    return min(a - 1.0, 2.0 * b), (a - 1.0) / b
