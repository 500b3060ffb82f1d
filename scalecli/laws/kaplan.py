"""Kaplan et al. 2020 (REFERENCE §1): the training-time law, its joint L(N, D), the frontier.

* ``KaplanLaw``: L(N, S_min) = (N_c/N)^alpha_N + (S_c/S_min)^alpha_S (eq. 1.6, Table 3) with the
  critical batch B_crit(L) = B_*/L^(1/alpha_B) (eq. 1.4). Trained at B = B_crit, a run takes
  2·S_min steps and spends C = 2·C_min (eq. 5.1-5.5, convention B of §1.6-1.7). With a fixed
  batch B the run has S_min = S/(1 + B_crit/B) (eq. 5.4). N is non-embedding.
  The joint L(N, D) of eq. 1.5 (Table 2 constants) answers ``predict --tokens``.
* ``KaplanFrontier``: the empirical Table 6 power laws (allocation only).
"""

from __future__ import annotations

import numpy as np

from scalecli.errors import InputError
from scalecli.laws.base import Conditions, Law, check_exponents
from scalecli.numerics import root_increasing

PF_DAY = 8.64e19  # FLOP (REFERENCE §0)


class KaplanLaw(Law):
    family = "kaplan"
    required = ("N_c", "alpha_N", "S_c", "alpha_S", "B_star", "alpha_B")
    optional = ("D_c", "alpha_D", "N_c_joint", "alpha_N_joint")
    params_convention = "non-embedding parameters (Kaplan et al. §1.3)"
    law_sets_batch = True

    def __init__(self, params, name: str = "") -> None:
        super().__init__(params, name)
        check_exponents(self, "alpha_N", "alpha_S", "alpha_B")
        p = self.params
        if ("D_c" in p) != ("alpha_D" in p):
            raise InputError(f"kaplan law {self.name!r}: the joint L(N, D) needs both D_c and alpha_D")
        for key in ("N_c", "S_c", "B_star", "D_c", "N_c_joint"):
            if key in p and not p[key] > 0:
                raise InputError(f"kaplan law {self.name!r}: {key} must be > 0")
        # Appendix B closed forms (B.6-B.10), C there is this module's C_min.
        aN, aS, aB = p["alpha_N"], p["alpha_S"], p["alpha_B"]
        self.alpha_C = 1.0 / (1.0 / aS + 1.0 / aB + 1.0 / aN)
        self.C_c = (
            6.0
            * p["N_c"]
            * p["B_star"]
            * p["S_c"]
            * (1.0 + aN / aS) ** (1.0 / aS + 1.0 / aN)
            * (aS / aN) ** (1.0 / aS)
        )

    irreducible_loss = 0.0

    def critical_batch(self, loss):
        """B_crit(L) = B_*/L^(1/alpha_B) tokens (eq. 1.4)."""
        return self.params["B_star"] / np.asarray(loss, dtype=float) ** (1.0 / self.params["alpha_B"])

    def _size_term(self, params):
        return (self.params["N_c"] / np.asarray(params, dtype=float)) ** self.params["alpha_N"]

    @staticmethod
    def _fixed_batch(cond: Conditions) -> float | None:
        return cond.batch.tokens if cond.batch.rule == "fixed" else None

    def _loss_for_steps(self, params, steps, fixed_batch: float | None):
        """Solve L = (N_c/N)^aN + (S_c/S_min(L))^aS for L, element-wise.

        At B_crit S_min = S/2; at a fixed batch S_min = S/(1 + B_crit(L)/B). The right side
        falls as L rises, so L - RHS(L) is increasing with a root in [a, a + RHS(a)].
        """
        p = self.params
        size = self._size_term(params) * np.ones_like(np.asarray(steps, dtype=float))
        steps = np.asarray(steps, dtype=float) * np.ones_like(size)

        def rhs(loss):
            if fixed_batch is None:
                s_min = steps / 2.0
            else:
                s_min = steps / (1.0 + self.critical_batch(loss) / fixed_batch)
            return size + (p["S_c"] / s_min) ** p["alpha_S"]

        lo = np.log(size)
        hi = np.log(rhs(size))
        return np.exp(root_increasing(lambda x: np.exp(x) - rhs(np.exp(x)), lo, hi))

    def loss_on_budget(self, params, train_flops, cond: Conditions):
        p = self.params
        params = np.asarray(params, dtype=float)
        fixed = self._fixed_batch(cond)
        if fixed is not None:
            return self._loss_for_steps(params, train_flops / (6.0 * params * fixed), fixed)
        # At B_crit: S_min = C_min/(6·N·B_crit(L)), C_min = C/2 (eq. B.3):
        # L = size + b·L^(-alpha_S/alpha_B), b = (6·B_*·S_c·N/C_min)^alpha_S.
        size = self._size_term(params)
        b = (6.0 * p["B_star"] * p["S_c"] * params / (train_flops / 2.0)) ** p["alpha_S"]
        power = p["alpha_S"] / p["alpha_B"]
        lo = np.log(size)
        hi = np.log(size + b * size**-power)
        return np.exp(root_increasing(lambda x: np.exp(x) - size - b * np.exp(-x * power), lo, hi))

    def allocation(self, params, train_flops, cond: Conditions):
        params = np.asarray(params, dtype=float)
        tokens = train_flops / (6.0 * params)
        fixed = self._fixed_batch(cond)
        if fixed is not None:
            batch = np.full_like(params, fixed)
        else:
            batch = self.critical_batch(self.loss_on_budget(params, train_flops, cond))
        return tokens, tokens / batch, batch

    def flops_for_loss(self, params, loss, cond: Conditions):
        p = self.params
        params = np.asarray(params, dtype=float)
        rem = loss - self._size_term(params)
        with np.errstate(divide="ignore", invalid="ignore"):
            s_min = np.where(rem > 0, p["S_c"] / np.where(rem > 0, rem, 1.0) ** (1.0 / p["alpha_S"]), np.inf)
        b_crit = self.critical_batch(loss)
        fixed = self._fixed_batch(cond)
        if fixed is None:
            return 6.0 * params * b_crit * 2.0 * s_min
        return 6.0 * params * fixed * s_min * (1.0 + b_crit / fixed)

    def loss_floor(self, params, cond: Conditions):
        return self._size_term(params)

    def flops_for_steps(self, params, steps, cond: Conditions):
        """At B_crit the loss after S = 2·S_min steps is L(N, S_min), so C = 6·N·B_crit(L)·S."""
        fixed = self._fixed_batch(cond)
        params = np.asarray(params, dtype=float)
        if fixed is not None:
            return 6.0 * params * fixed * steps
        loss = self._size_term(params) + (self.params["S_c"] / (steps / 2.0)) ** self.params["alpha_S"]
        return 6.0 * params * self.critical_batch(loss) * steps

    def closed_form_params(self, train_flops, cond: Conditions):
        if self._fixed_batch(cond) is not None:
            return None
        aN, aS = self.params["alpha_N"], self.params["alpha_S"]
        c_min = np.asarray(train_flops, dtype=float) / 2.0
        return self.params["N_c"] * (c_min / self.C_c) ** (self.alpha_C / aN) * (1.0 + aN / aS) ** (1.0 / aN)

    def closed_form_flops(self, loss: float, cond: Conditions) -> float | None:
        if self._fixed_batch(cond) is not None or loss <= 0:
            return None
        with np.errstate(over="ignore"):
            return float(2.0 * self.C_c * np.float64(loss) ** (-1.0 / self.alpha_C))  # B.6 inverted

    # ----- the joint L(N, D) of eq. 1.5 (Table 2) ----------------------------------------
    @property
    def has_joint(self) -> bool:
        return "D_c" in self.params

    def _joint_constants(self):
        p = self.params
        if not self.has_joint:
            raise InputError(
                f"kaplan law {self.name!r} has no joint L(N, D) (D_c, alpha_D): "
                "use --steps, or a preset with D_c and alpha_D such as kaplan2020"
            )
        return p.get("N_c_joint", p["N_c"]), p.get("alpha_N_joint", p["alpha_N"]), p["D_c"], p["alpha_D"]

    def joint_loss(self, params, tokens):
        """L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D (eq. 1.5)."""
        n_c, a_n, d_c, a_d = self._joint_constants()
        return (
            (n_c / np.asarray(params, dtype=float)) ** (a_n / a_d) + d_c / np.asarray(tokens, dtype=float)
        ) ** a_d

    def joint_flops_for_loss(self, params, loss, cond: Conditions | None = None):
        n_c, a_n, d_c, a_d = self._joint_constants()
        params = np.asarray(params, dtype=float)
        room = loss ** (1.0 / a_d) - (n_c / params) ** (a_n / a_d)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(room > 0, 6.0 * params * d_c / np.where(room > 0, room, 1.0), np.inf)

    def predict(self, params, tokens, steps, cond: Conditions):
        if tokens is not None:
            return {
                "loss": float(self.joint_loss(params, tokens)),
                "tokens": tokens,
                "steps": None,
                "batch_tokens": None,
                "train_flops": 6.0 * params * tokens,
            }
        fixed = self._fixed_batch(cond)
        loss = float(self._loss_for_steps(np.array([params]), np.array([steps]), fixed)[0])
        batch = fixed if fixed is not None else float(self.critical_batch(loss))
        return {
            "loss": loss,
            "tokens": batch * steps,
            "steps": steps,
            "batch_tokens": batch,
            "train_flops": 6.0 * params * batch * steps,
        }

    def notes(self) -> list[str]:
        return [
            "params are non-embedding (Kaplan et al. §1.3); loss in nats/token on WebText2",
            "Kaplan law optimum (Appendix B): trained at the critical batch, C = 2·C_min, "
            "steps = 2·S_min (REFERENCE §1.7)",
        ]


class KaplanFrontier:
    """Kaplan et al. Table 6: N, B, S_min, D and L as power laws of C_min in PF-days.

    Convention B (REFERENCE §1.6): the budget is the FLOPs actually spent at B_crit, so
    C_min = C/2, steps = 2·S_min, and tokens = C/(6N) so that 6·N·D = C.
    """

    family = "kaplan"
    params_convention = "non-embedding parameters (Kaplan et al. §1.3)"
    KEYS = ("params", "batch_tokens", "min_steps", "tokens", "loss")

    def __init__(self, frontier: dict, name: str = "") -> None:
        from scalecli.units import parse_number

        self.name = name or "kaplan-frontier"
        if not isinstance(frontier, dict):
            raise InputError("frontier: must be a mapping of power laws")
        allowed = set(self.KEYS) | {"compute_unit_flops", "min_compute_fraction"}
        unknown = set(frontier) - allowed
        if unknown:
            raise InputError(f"frontier: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        self.unit = parse_number(frontier.get("compute_unit_flops", PF_DAY), "frontier compute_unit_flops")
        self.fraction = parse_number(
            frontier.get("min_compute_fraction", 0.5), "frontier min_compute_fraction"
        )
        self.laws: dict[str, tuple[float, float]] = {}
        for key in self.KEYS:
            entry = frontier.get(key)
            if not isinstance(entry, dict) or set(entry) != {"coef", "exponent"}:
                raise InputError(f"frontier.{key}: needs exactly 'coef' and 'exponent'")
            self.laws[key] = (
                parse_number(entry["coef"], f"frontier.{key}.coef"),
                parse_number(entry["exponent"], f"frontier.{key}.exponent"),
            )
        self.params = {
            f"{k}_{part}": v[i] for k, v in self.laws.items() for i, part in enumerate(("coef", "exponent"))
        }

    irreducible_loss = 0.0

    def min_compute(self, train_flops: float) -> float:
        return train_flops * self.fraction / self.unit

    def plan(self, train_flops: float) -> dict[str, float]:
        c_min = self.min_compute(train_flops)
        n_coef, n_exp = self.laws["params"]
        s_coef, s_exp = self.laws["min_steps"]
        l_scale, l_exp = self.laws["loss"]
        params = n_coef * c_min**n_exp
        tokens = train_flops / (6.0 * params)
        steps = 2.0 * s_coef * c_min**s_exp
        return {
            "params": params,
            "tokens": tokens,
            "steps": steps,
            "batch_tokens": tokens / steps,
            "loss": (l_scale / c_min) ** l_exp,
        }

    def table_values(self, train_flops: float) -> dict[str, float]:
        """Table 6's own batch and D_opt at this budget, for the notes."""
        c_min = self.min_compute(train_flops)
        b_coef, b_exp = self.laws["batch_tokens"]
        d_coef, d_exp = self.laws["tokens"]
        return {"batch_tokens": b_coef * c_min**b_exp, "tokens": d_coef * c_min**d_exp}

    def notes(self) -> list[str]:
        return [
            "params are non-embedding (Kaplan et al. §1.3); loss in nats/token on WebText2",
            "Kaplan empirical frontier (Table 6), convention B: C_min = C/2, steps = 2·S_min, "
            "tokens = C/(6N) (REFERENCE §1.6); allocation only",
        ]
