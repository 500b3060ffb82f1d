"""Kaplan et al. 2020: two laws behind the ``kaplan`` family, and their fit forms.

* ``KaplanStepsLaw``: L(N, S_min) = (N_c/N)^alpha_N + (S_c/S_min)^alpha_S (eq. 1.6, Table 3) with
  the critical batch B_crit(L) = B_*/L^(1/alpha_B) (eq. 1.4). Trained at B = B_crit, a run takes
  2·S_min steps and spends C = 2·C_min (eq. 5.1-5.5; the convention of Chinchilla App. D.4). With a
  fixed batch B the run has S_min = S/(1 + B_crit/B) (eq. 5.4). N is non-embedding. Plan, predict
  and sweep all use this one law: a run of N parameters on D tokens is the run that spends
  train_flops(N, D) at the critical batch (or at the fixed batch given).
* ``KaplanJointLaw``: the joint L(N, D) of eq. 1.5 (Table 2 constants; ``kaplan2020-joint``), planned
  along C = train_flops(N, D), its batch from the batch rule.

A preset's parameters choose the law: S_c, alpha_S, B_star, alpha_B give the training-time law
(D_c, alpha_D beside them are accepted and noted as unused); D_c, alpha_D alone the joint law.
The empirical Table 6 frontier is a ``frontier:`` preset (see ``laws/frontier.py``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from scalecli.errors import InputError
from scalecli.laws.base import Conditions, Family, FitVariant, Law, Param, check_exponents
from scalecli.laws.forms import FitForm, lse, steps
from scalecli.numerics import root_increasing

PF_DAY = 8.64e19  # FLOP: 1e15 x 24 x 3600 (Kaplan et al. §1.3)
STEPS_KEYS = ("S_c", "alpha_S", "B_star", "alpha_B")
JOINT_KEYS = ("D_c", "alpha_D")
# Kaplan et al. eq. 1.4: final losses at one batch size cannot identify the critical batch, so a
# kaplan fit pins these unless --fix says otherwise.
CRITICAL_BATCH = {"B_star": 2.0e8, "alpha_B": 0.21}

PARAMS = (
    Param("N_c", "model-size scale (N_c/N)^alpha_N", "non-embedding params"),
    Param("alpha_N", "exponent of model size", "", "exponent"),
    Param("S_c", "steps scale (S_c/S_min)^alpha_S (training-time law)", "steps", optional=True),
    Param("alpha_S", "exponent of steps (training-time law)", "", "exponent", optional=True),
    Param("B_star", "critical-batch scale, B_crit = B_*/L^(1/alpha_B)", "tokens", optional=True),
    Param("alpha_B", "critical-batch exponent", "", "exponent", optional=True),
    Param("D_c", "data scale of the joint L(N, D)", "tokens", optional=True),
    Param("alpha_D", "exponent of data in the joint L(N, D)", "", "exponent", optional=True),
    Param("N_c_joint", "N_c of the joint law if it differs (Table 2)", "non-embedding params", optional=True),
    Param("alpha_N_joint", "alpha_N of the joint law if it differs (Table 2)", "", "exponent", optional=True),
)  # fmt: skip


class KaplanLaw(Law):
    """The schema and checks both Kaplan laws share."""

    family = "kaplan"
    params_schema = PARAMS
    params_convention = "non-embedding parameters (Kaplan et al. §1.3)"

    def __init__(self, params: Mapping[str, object], name: str = "") -> None:
        super().__init__(params, name)
        p = self.params
        if ("D_c" in p) != ("alpha_D" in p):
            raise InputError(f"kaplan law {self.name!r}: the joint L(N, D) needs both D_c and alpha_D")
        for key in ("N_c", "S_c", "B_star", "D_c", "N_c_joint"):
            if key in p and not p[key] > 0:
                raise InputError(f"kaplan law {self.name!r}: {key} must be > 0")
        self.k = float(self.train_flops(1.0, 1.0)[()])  # FLOPs per parameter per token (6)

    @property
    def has_joint(self) -> bool:
        return "D_c" in self.params

    def _joint_constants(self) -> tuple[float, float, float, float]:
        p = self.params
        if not self.has_joint:
            raise InputError(f"kaplan law {self.name!r} has no joint L(N, D) (D_c, alpha_D)")
        return p.get("N_c_joint", p["N_c"]), p.get("alpha_N_joint", p["alpha_N"]), p["D_c"], p["alpha_D"]

    def joint_loss(self, params, tokens):
        """L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D (eq. 1.5)."""
        n_c, a_n, d_c, a_d = self._joint_constants()
        return (
            (n_c / np.asarray(params, dtype=float)) ** (a_n / a_d) + d_c / np.asarray(tokens, dtype=float)
        ) ** a_d


def make(params: Mapping[str, object], name: str = "") -> KaplanLaw:
    """The training-time law when its four constants are given, else the joint law."""
    present = [k for k in STEPS_KEYS if k in params]
    if present and len(present) < len(STEPS_KEYS):
        missing = [k for k in STEPS_KEYS if k not in params]
        raise InputError(f"kaplan law {name!r}: L(N, S_min) needs {', '.join(missing)} as well")
    if present:
        return KaplanStepsLaw(params, name)
    if "D_c" in params or "alpha_D" in params:
        return KaplanJointLaw(params, name)
    KaplanLaw.validate(params)  # unknown or missing names first
    raise InputError(
        f"kaplan law {name!r}: missing parameter(s): give S_c, alpha_S, B_star, alpha_B "
        "(training-time law) or D_c, alpha_D (joint L(N, D))"
    )


class KaplanJointLaw(KaplanLaw):
    """The joint L(N, D) of eq. 1.5, planned along C = train_flops(N, D)."""

    law_sets_batch = False
    irreducible_loss = 0.0

    def __init__(self, params: Mapping[str, object], name: str = "") -> None:
        super().__init__(params, name)
        check_exponents(self, "alpha_N", "alpha_D")

    def loss_on_budget(self, params, train_flops, cond: Conditions):
        params = np.asarray(params, dtype=float)
        return self.joint_loss(params, self.tokens_for_flops(params, train_flops))

    def flops_for_loss(self, params, loss, cond: Conditions):
        n_c, a_n, d_c, a_d = self._joint_constants()
        params = np.asarray(params, dtype=float)
        room = loss ** (1.0 / a_d) - (n_c / params) ** (a_n / a_d)
        with np.errstate(divide="ignore", invalid="ignore"):
            tokens = np.where(room > 0, d_c / np.where(room > 0, room, 1.0), np.inf)
        return self.train_flops(params, tokens)

    def loss_floor(self, params, cond: Conditions):
        n_c, a_n, _, _ = self._joint_constants()
        return (n_c / np.asarray(params, dtype=float)) ** a_n

    def closed_form_params(self, train_flops, cond: Conditions):
        # minimise (N_c/N)^p + k·D_c·N/C (p = alpha_N/alpha_D): N* = (p·N_c^p·C/(k·D_c))^(1/(p+1))
        n_c, a_n, d_c, a_d = self._joint_constants()
        power = a_n / a_d
        flops = np.asarray(train_flops, dtype=float)
        return (power * n_c**power * flops / (self.k * d_c)) ** (1.0 / (power + 1.0))

    def closed_form_flops(self, loss: float, cond: Conditions) -> float | None:
        if loss <= 0:
            return None
        # at the optimum (N_c/N)^p = f/(1+p) with f = L^(1/alpha_D), and C = k·D_c·N·(1+p)/(p·f)
        n_c, a_n, d_c, a_d = self._joint_constants()
        power = a_n / a_d
        f = loss ** (1.0 / a_d)
        params = n_c * ((1.0 + power) / f) ** (1.0 / power)
        return float(self.k * d_c * params * (1.0 + power) / (power * f))

    def notes(self) -> list[str]:
        return [
            "params follow the fit data's convention (Kaplan et al. count non-embedding)",
            "optimum of the joint L(N, D) of eq. 1.5 along C = 6ND; no critical-batch model",
        ]


class KaplanStepsLaw(KaplanLaw):
    """L(N, S_min) with the critical batch; Appendix B's optimum at B = B_crit."""

    law_sets_batch = True
    irreducible_loss = 0.0

    def __init__(self, params: Mapping[str, object], name: str = "") -> None:
        super().__init__(params, name)
        p = self.params
        check_exponents(self, "alpha_N", "alpha_S", "alpha_B")
        # Appendix B closed forms (B.6-B.10), C there is this module's C_min.
        aN, aS, aB = p["alpha_N"], p["alpha_S"], p["alpha_B"]
        self.alpha_C = 1.0 / (1.0 / aS + 1.0 / aB + 1.0 / aN)
        self.C_c = (
            self.k
            * p["N_c"]
            * p["B_star"]
            * p["S_c"]
            * (1.0 + aN / aS) ** (1.0 / aS + 1.0 / aN)
            * (aS / aN) ** (1.0 / aS)
        )

    def critical_batch(self, loss):
        """B_crit(L) = B_*/L^(1/alpha_B) tokens (eq. 1.4)."""
        return self.params["B_star"] / np.asarray(loss, dtype=float) ** (1.0 / self.params["alpha_B"])

    def _size_term(self, params):
        return (self.params["N_c"] / np.asarray(params, dtype=float)) ** self.params["alpha_N"]

    @staticmethod
    def _fixed_batch(cond: Conditions) -> float | None:
        return cond.batch.tokens if cond.batch.rule == "fixed" else None

    def _loss_for_steps(self, params, steps, fixed_batch):
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
        fixed = self._fixed_batch(cond)
        if fixed is not None:
            return self._loss_for_steps(params, self.tokens_for_flops(params, train_flops) / fixed, fixed)
        # At B_crit: S_min = C_min/(k·N·B_crit(L)), C_min = C/2 (eq. B.3):
        # L = size + b·L^(-alpha_S/alpha_B), b = (k·B_*·S_c·N/C_min)^alpha_S.
        size = self._size_term(params)
        b = (self.k * p["B_star"] * p["S_c"] * params / (np.asarray(train_flops, dtype=float) / 2.0)) ** p[
            "alpha_S"
        ]
        power = p["alpha_S"] / p["alpha_B"]
        lo = np.log(size)
        hi = np.log(size + b * size**-power)
        return np.exp(root_increasing(lambda x: np.exp(x) - size - b * np.exp(-x * power), lo, hi))

    def allocation(self, params, train_flops, cond: Conditions):
        params = np.asarray(params, dtype=float)
        tokens = self.tokens_for_flops(params, train_flops)
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
            return self.train_flops(params, b_crit * 2.0 * s_min)
        return self.train_flops(params, fixed * s_min * (1.0 + b_crit / fixed))

    def loss_floor(self, params, cond: Conditions):
        return self._size_term(params)

    def tokens_for_steps(self, params, steps, cond: Conditions):
        """At B_crit the loss after S = 2·S_min steps is L(N, S_min), so D = B_crit(L)·S."""
        fixed = self._fixed_batch(cond)
        params = np.asarray(params, dtype=float)
        steps = np.asarray(steps, dtype=float)
        if fixed is not None:
            return fixed * steps * np.ones_like(params)
        loss = self._size_term(params) + (self.params["S_c"] / (steps / 2.0)) ** self.params["alpha_S"]
        return self.critical_batch(loss) * steps

    def closed_form_params(self, train_flops, cond: Conditions):
        if self._fixed_batch(cond) is not None:
            return None
        aN, aS = self.params["alpha_N"], self.params["alpha_S"]
        c_min = np.asarray(train_flops, dtype=float) / 2.0
        return self.params["N_c"] * (c_min / self.C_c) ** (self.alpha_C / aN) * (1.0 + aN / aS) ** (1.0 / aN)

    def closed_form_flops(self, loss: float, cond: Conditions) -> float | None:
        if loss <= 0 or self._fixed_batch(cond) is not None:
            return None
        with np.errstate(over="ignore"):
            return float(2.0 * self.C_c * np.float64(loss) ** (-1.0 / self.alpha_C))  # B.6 inverted

    def notes(self) -> list[str]:
        unused = (
            ["the joint L(N, D) constants (D_c, alpha_D) are not used: plan and predict both use L(N, S_min)"]
            if self.has_joint
            else []
        )
        return [
            "params are non-embedding (Kaplan et al. §1.3); loss in nats/token on WebText2",
            "Kaplan law optimum (Appendix B): trained at the critical batch, C = 2·C_min, "
            "steps = 2·S_min (Kaplan et al. eqs. 5.1-5.2, Appendix B)",
            *unused,
        ]


# ----- fitting ---------------------------------------------------------------------------------------
def _log_joint(c, X, jac: bool):
    """log L = alpha_D · LSE((alpha_N/alpha_D)(ln N_c - u), ln D_c - v)."""
    nc, a_n, dc, a_d = c
    u, v = X
    t1 = (a_n / a_d) * (nc - u)
    t2 = dc - v
    if not jac:
        return a_d * lse(t1, t2, weights=False)[0], None
    out, (w1, w2) = lse(t1, t2)
    return a_d * out, [a_n * w1, w1 * (nc - u), a_d * w2, out - w1 * t1]


def _log_steps(c, X, jac: bool):
    """log L = LSE(alpha_N (ln N_c - u), alpha_S (ln S_c - v))."""
    nc, a_n, sc, a_s = c
    u, v = X
    d1 = nc - u
    d2 = sc - v
    if not jac:
        return lse(a_n * d1, a_s * d2, weights=False)[0], None
    out, (w1, w2) = lse(a_n * d1, a_s * d2)
    return out, [a_n * w1, w1 * d1, a_s * w2, w2 * d2]


def _model_joint(p, X):
    n, d = X
    return ((p["N_c"] / n) ** (p["alpha_N"] / p["alpha_D"]) + p["D_c"] / d) ** p["alpha_D"]


def _model_steps(p, X):
    n, s = X
    return (p["N_c"] / n) ** p["alpha_N"] + (p["S_c"] / s) ** p["alpha_S"]


EXP_FLOOR = 1e-6  # L-BFGS-B lower bound on the exponents: alpha_N/alpha_D is meaningless at 0
_EXP = (0.05, 0.1, 0.2, 0.4, 0.8)
_SCALE = steps(10.0, 40.0, 5.0)
JOINT_FORM = FitForm(
    "kaplan_joint",
    family="kaplan",
    roles=("params", "tokens"),
    internal=("log_N_c", "alpha_N", "log_D_c", "alpha_D"),
    natural=("N_c", "alpha_N", "D_c", "alpha_D"),
    log_scale=(True, False, True, False),
    display=("N_c", "alpha_N", "D_c", "alpha_D"),
    # ln N_c, ln D_c in {10, ..., 40}, exponents in {0.05, ..., 0.8}: Table 2 has 31.8, 30.5, 0.076, 0.103
    grid_axes=(_SCALE, _EXP, _SCALE, _EXP),
    log_model=_log_joint,
    model=_model_joint,
    lower=(None, EXP_FLOOR, None, EXP_FLOOR),
    exponents=(("alpha_N", "params", "parameters"), ("alpha_D", "tokens", "tokens")),
)
STEPS_FORM = FitForm(
    "kaplan_steps",
    family="kaplan",
    roles=("params", "steps"),
    internal=("log_N_c", "alpha_N", "log_S_c", "alpha_S"),
    natural=("N_c", "alpha_N", "S_c", "alpha_S"),
    log_scale=(True, False, True, False),
    display=("N_c", "alpha_N", "S_c", "alpha_S"),
    # Table 3 has ln S_c = 7.65, alpha_S = 0.76
    grid_axes=(_SCALE, _EXP, steps(0.0, 20.0, 2.5), (*_EXP, 1.6)),
    log_model=_log_steps,
    model=_model_steps,
    lower=(None, EXP_FLOOR, None, EXP_FLOOR),
    exponents=(("alpha_N", "params", "parameters"), ("alpha_S", "steps", "steps")),
)


def _prepare(columns: Mapping[str, np.ndarray], pins: Mapping[str, float]):
    """Kaplan et al. fit L(N, S_min) with S_min = S/(1 + B_crit(L)/B) (eq. 5.4), B_crit(L) of eq. 1.4
    at each run's loss. With a batch column we do the same; without one, steps are taken as S_min."""
    if "steps" not in columns or "batch_tokens" not in columns:
        return None
    b_star = pins.get("B_star", CRITICAL_BATCH["B_star"])
    alpha_b = pins.get("alpha_B", CRITICAL_BATCH["alpha_B"])
    with np.errstate(all="ignore"):
        b_crit = b_star / columns["loss"] ** (1.0 / alpha_b)
        s_min = columns["steps"] / (1.0 + b_crit / columns["batch_tokens"])
    if not np.all(np.isfinite(s_min) & (s_min > 0)):
        raise InputError(
            f"the critical batch B_crit = {b_star:g}/L^(1/{alpha_b:g}) (Kaplan eq. 1.4) leaves no "
            "finite positive steps S_min at these losses; pin B_star and alpha_B nearer Kaplan's "
            f"{CRITICAL_BATCH['B_star']:g} and {CRITICAL_BATCH['alpha_B']:g}"
        )
    note = (
        "steps = S_min = S/(1 + B_crit(loss)/batch) (Kaplan eq. 5.4; "
        f"B_crit = {b_star:.3g}/L^(1/{alpha_b:g}), eq. 1.4, at each row's loss)"
    )
    return {**columns, "steps": s_min}, note


def _predict(
    params: Mapping[str, float], columns: Mapping[str, np.ndarray], pins: Mapping[str, float]
) -> np.ndarray:
    """The law's own answer at each row's batch (L is implicit in S_min)."""
    law = KaplanStepsLaw({**params, **{k: pins.get(k, v) for k, v in CRITICAL_BATCH.items()}})
    return law.loss_at_batch(columns["params"], columns["steps"], columns["batch_tokens"])


def _preset_params(results: dict[str, dict[str, float]], pins: Mapping[str, float]) -> dict[str, float]:
    """The primary form's parameters; a steps fit adds the pinned critical batch. The joint fit of the
    same data is reported (``other_forms``), not written: plan and predict use one law."""
    primary = next(iter(results))
    out = dict(results[primary])
    if primary == "kaplan_steps":
        out.update({k: pins.get(k, v) for k, v in CRITICAL_BATCH.items()})
    return out


FAMILY = Family(
    name="kaplan",
    summary="L(N, S_min) with the critical batch (Kaplan et al. 2020, eq. 1.6, 1.4), or the joint "
    "L(N, D) of eq. 1.5",
    params=PARAMS,
    make=make,
    forms=(STEPS_FORM, JOINT_FORM),
    variants=(
        FitVariant(
            "kaplan",
            ("kaplan_steps", "kaplan_joint"),
            "steps for L(N, S), or tokens for the joint L(N, D)",
            _prepare,
            _predict,
        ),
    ),
    preset_params=_preset_params,
    default_pins=CRITICAL_BATCH,
    params_convention="non_embedding",
)
