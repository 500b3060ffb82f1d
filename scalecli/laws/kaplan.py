"""Kaplan et al. 2020 (REFERENCE §1): the training-time law, its joint L(N, D), the frontier.

* ``KaplanLaw``: L(N, S_min) = (N_c/N)^alpha_N + (S_c/S_min)^alpha_S (eq. 1.6, Table 3) with the
  critical batch B_crit(L) = B_*/L^(1/alpha_B) (eq. 1.4). Trained at B = B_crit, a run takes
  2·S_min steps and spends C = 2·C_min (eq. 5.1-5.5, convention B of §1.6-1.7). With a fixed
  batch B the run has S_min = S/(1 + B_crit/B) (eq. 5.4). N is non-embedding. Plan, predict
  and sweep all use this one law: a run of N parameters on D tokens is the run that spends
  C = 6·N·D at the critical batch (or at the fixed batch given).
* A preset with only the joint L(N, D) of eq. 1.5 (Table 2 constants; ``kaplan2020-joint``)
  plans, predicts and sweeps with that law along C = 6ND instead.
The empirical Table 6 frontier is a ``frontier:`` preset (see ``laws/frontier.py``).
"""

from __future__ import annotations

import numpy as np

from scalecli.errors import InputError
from scalecli.laws.base import Conditions, Law, check_exponents
from scalecli.numerics import root_increasing

PF_DAY = 8.64e19  # FLOP (REFERENCE §0)


STEPS_KEYS = ("S_c", "alpha_S", "B_star", "alpha_B")


class KaplanLaw(Law):
    """Plans with L(N, S_min) at B_crit when S_c, alpha_S, B_star, alpha_B are given; a preset
    with only the joint L(N, D) (N_c, alpha_N, D_c, alpha_D, e.g. from ``scale fit`` on final
    losses) plans with that law along C = 6ND instead, its batch from the batch rule."""

    family = "kaplan"
    required = ("N_c", "alpha_N")
    optional = (*STEPS_KEYS, "D_c", "alpha_D", "N_c_joint", "alpha_N_joint")
    params_convention = "non-embedding parameters (Kaplan et al. §1.3)"

    def __init__(self, params, name: str = "") -> None:
        super().__init__(params, name)
        p = self.params
        if ("D_c" in p) != ("alpha_D" in p):
            raise InputError(f"kaplan law {self.name!r}: the joint L(N, D) needs both D_c and alpha_D")
        present = [k for k in STEPS_KEYS if k in p]
        if present and len(present) < len(STEPS_KEYS):
            missing = [k for k in STEPS_KEYS if k not in p]
            raise InputError(f"kaplan law {self.name!r}: L(N, S_min) needs {', '.join(missing)} as well")
        if not present and "D_c" not in p:
            raise InputError(
                f"kaplan law {self.name!r}: missing parameter(s): give S_c, alpha_S, B_star, alpha_B "
                "(training-time law) or D_c, alpha_D (joint L(N, D))"
            )
        self.joint_only = not present
        if self.joint_only:
            self.law_sets_batch = False
            check_exponents(self, "alpha_N", "alpha_D")
            return
        self.law_sets_batch = True
        check_exponents(self, "alpha_N", "alpha_S", "alpha_B")
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

    def loss_at_batch(self, params, steps, batch):
        """L(N, S_min) after ``steps`` steps at ``batch`` tokens each (eq. 5.4; arrays broadcast)."""
        return self._loss_for_steps(params, steps, np.asarray(batch, dtype=float))

    def loss_on_budget(self, params, train_flops, cond: Conditions):
        p = self.params
        params = np.asarray(params, dtype=float)
        if self.joint_only:
            return self.joint_loss(params, train_flops / (6.0 * params))
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
        if self.joint_only:
            return super().allocation(params, train_flops, cond)
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
        if self.joint_only:
            return self.joint_flops_for_loss(params, loss)
        rem = loss - self._size_term(params)
        with np.errstate(divide="ignore", invalid="ignore"):
            s_min = np.where(rem > 0, p["S_c"] / np.where(rem > 0, rem, 1.0) ** (1.0 / p["alpha_S"]), np.inf)
        b_crit = self.critical_batch(loss)
        fixed = self._fixed_batch(cond)
        if fixed is None:
            return 6.0 * params * b_crit * 2.0 * s_min
        return 6.0 * params * fixed * s_min * (1.0 + b_crit / fixed)

    def loss_floor(self, params, cond: Conditions):
        if self.joint_only:
            n_c, a_n, _, _ = self._joint_constants()
            return (n_c / np.asarray(params, dtype=float)) ** a_n
        return self._size_term(params)

    def tokens_for_steps(self, params, steps, cond: Conditions):
        """At B_crit the loss after S = 2·S_min steps is L(N, S_min), so D = B_crit(L)·S."""
        if self.joint_only:
            return cond.batch.tokens_for_steps(params, steps)
        fixed = self._fixed_batch(cond)
        params = np.asarray(params, dtype=float)
        steps = np.asarray(steps, dtype=float)
        if fixed is not None:
            return fixed * steps * np.ones_like(params)
        loss = self._size_term(params) + (self.params["S_c"] / (steps / 2.0)) ** self.params["alpha_S"]
        return self.critical_batch(loss) * steps

    def closed_form_params(self, train_flops, cond: Conditions):
        if self.joint_only:
            # minimise (N_c/N)^p + 6·D_c·N/C (p = alpha_N/alpha_D): N* = (p·N_c^p·C/(6·D_c))^(1/(p+1))
            n_c, a_n, d_c, a_d = self._joint_constants()
            power = a_n / a_d
            flops = np.asarray(train_flops, dtype=float)
            return (power * n_c**power * flops / (6.0 * d_c)) ** (1.0 / (power + 1.0))
        if self._fixed_batch(cond) is not None:
            return None
        aN, aS = self.params["alpha_N"], self.params["alpha_S"]
        c_min = np.asarray(train_flops, dtype=float) / 2.0
        return self.params["N_c"] * (c_min / self.C_c) ** (self.alpha_C / aN) * (1.0 + aN / aS) ** (1.0 / aN)

    def closed_form_flops(self, loss: float, cond: Conditions) -> float | None:
        if loss <= 0:
            return None
        if self.joint_only:
            # at the optimum (N_c/N)^p = f/(1+p) with f = L^(1/alpha_D), and C = 6·D_c·N·(1+p)/(p·f)
            n_c, a_n, d_c, a_d = self._joint_constants()
            power = a_n / a_d
            f = loss ** (1.0 / a_d)
            params = n_c * ((1.0 + power) / f) ** (1.0 / power)
            return float(6.0 * d_c * params * (1.0 + power) / (power * f))
        if self._fixed_batch(cond) is not None:
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

    def notes(self) -> list[str]:
        unused = (
            ["the joint L(N, D) constants (D_c, alpha_D) are not used: plan and predict both use L(N, S_min)"]
            if self.has_joint and not self.joint_only
            else []
        )
        if self.joint_only:
            return [
                "params follow the fit data's convention (Kaplan et al. count non-embedding)",
                "optimum of the joint L(N, D) of eq. 1.5 along C = 6ND; no critical-batch model",
            ]
        return [
            "params are non-embedding (Kaplan et al. §1.3); loss in nats/token on WebText2",
            "Kaplan law optimum (Appendix B): trained at the critical batch, C = 2·C_min, "
            "steps = 2·S_min (Kaplan et al. eqs. 5.1-5.2, Appendix B)",
            *unused,
        ]
