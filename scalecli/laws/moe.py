"""Mixture-of-experts family: the joint MoE law of Ludziejewski et al. 2025 (arXiv 2502.05172).

L(N_act, D, E) = a·Ê^δ·N_act^(α + γ·ln Ê) + b·Ê^ω·D^(β + ζ·ln Ê) + c          (eq. 6)
1/Ê = 1/(E - 1 + (1/E_start - 1/E_max)^-1) + 1/E_max                            (eq. 4)

with N_act the active parameters (embeddings included, App. A.1), D tokens, E experts (top-1
routing, experts the size of the dense MLP). The exponents are signed, as in Table 3 (α, β < 0).
For a fixed E the law is Chinchilla's eq. 2 with m = a·Ê^δ, μ = α + γ·ln Ê, n = b·Ê^ω,
ν = β + ζ·ln Ê (eq. 7, Table 4). Training costs 6·N_act·D and serving 2·N_act per token (App.
A.2); memory follows the total parameters (App. A.1, eqs. 9-10, vocabulary 50,257,
N_blocks = d_model/64):

    N_act   = 2·d·V + 13·N_blocks·d²        N_total = 2·d·V + (4 + 9E)·N_blocks·d²

A plan chooses E among the powers of two up to ``max_experts`` (the fitted range is E <= 32) as
well as N_act and D: for each size the law takes the best expert count that fits the total-
parameter cap, so the planner's one-dimensional search in N_act solves the 2-D allocation.
"""

from __future__ import annotations

import math

import numpy as np

from scalecli.errors import InputError
from scalecli.laws.base import Conditions, Family, FitVariant, Law, Param
from scalecli.laws.forms import FitForm, Projection, Schedule, lse

PARAMS = (
    Param("a", "prefactor of the active-parameter term", "nats/token"),
    Param("alpha", "exponent of N_act (signed, < 0)", "", "signed"),
    Param("delta", "expert exponent of the parameter prefactor", "", "signed"),
    Param("gamma", "expert slope of the parameter exponent (per ln Ê)", "", "signed"),
    Param("b", "prefactor of the data term", "nats/token"),
    Param("beta", "exponent of D (signed, < 0)", "", "signed"),
    Param("omega", "expert exponent of the data prefactor", "", "signed"),
    Param("zeta", "expert slope of the data exponent (per ln Ê)", "", "signed"),
    Param("E_start", "Ê at one expert (eq. 4)", "experts"),
    Param("E_max", "Ê as E grows without bound (eq. 4)", "experts"),
    Param("c", "irreducible loss", "nats/token", "loss"),
    Param("vocab", "vocabulary of the parameter count (App. A.1)", "tokens", optional=True),
    Param("max_experts", "largest expert count a plan may choose", "experts", optional=True),
)  # fmt: skip

VOCAB = 50257.0  # GPT-2 tokenizer (App. A.1)
FITTED_MAX_EXPERTS = 32.0  # E in {1, 2, 4, 8, 16, 32} in the paper's runs


def effective_experts(experts, e_start: float, e_max: float):
    """Ê of eq. 4 (Ê(1) = E_start, Ê -> E_max as E grows)."""
    e = np.asarray(experts, dtype=float)
    k = 1.0 / (1.0 / e_start - 1.0 / e_max)
    return 1.0 / (1.0 / (e - 1.0 + k) + 1.0 / e_max)


def _width(params, vocab: float, cubic: float):
    """d with 2·d·V + cubic·d³/64 = params, by Newton's method. The left side is increasing and
    convex in d, so Newton from an upper bound (either term alone equal to params) falls
    monotonically onto the root."""
    n = np.asarray(params, dtype=float)
    d = np.minimum((64.0 * n / cubic) ** (1.0 / 3.0), n / (2.0 * vocab))
    for _ in range(100):
        step = (2.0 * d * vocab + cubic * d**3 / 64.0 - n) / (2.0 * vocab + 3.0 * cubic * d**2 / 64.0)
        d = d - step
        if np.all(np.abs(step) <= 1e-14 * d):
            break
    return d


def width_for_active(params, vocab: float = VOCAB):
    """d_model with 2·d·V + 13·d³/64 = N_act (App. A.1, N_blocks = d/64)."""
    return _width(params, vocab, 13.0)


def total_params(active, experts, vocab: float = VOCAB):
    """N_total = N_act + 9·(E - 1)·N_blocks·d² (App. A.1, eqs. 9-10)."""
    d = width_for_active(active, vocab)
    return np.asarray(active, dtype=float) + 9.0 * (np.asarray(experts, dtype=float) - 1.0) * d**3 / 64.0


class MoeLaw(Law):
    family = "moe"
    params_schema = PARAMS
    caps_total_params = True
    params_convention = "active parameters, embeddings included (Ludziejewski et al. 2025, App. A.1)"

    def __init__(self, params, name: str = "") -> None:
        super().__init__(params, name)
        p = self.params
        for key in ("a", "b", "E_start", "E_max"):
            if not p[key] > 0:
                raise InputError(f"moe law {self.name!r}: {key} must be > 0")
        if not p["E_start"] < p["E_max"]:
            raise InputError(f"moe law {self.name!r}: E_start must be below E_max")
        self.vocab = p.get("vocab", VOCAB)
        self.max_experts = p.get("max_experts", FITTED_MAX_EXPERTS)
        self.irreducible_loss = p["c"]
        for e in self.expert_choices(None):
            mu, nu = self.reduced(e)[1], self.reduced(e)[3]
            if not (mu < 0 and nu < 0):
                raise InputError(
                    f"moe law {self.name!r}: at E = {e:g} the exponents must stay negative "
                    f"(mu = {mu:.3g}, nu = {nu:.3g}); lower max_experts"
                )

    # ----- the law at a fixed expert count (eq. 7, Table 4) ---------------------------------------
    def reduced(self, experts: float) -> tuple[float, float, float, float, float]:
        """(m, mu, n, nu, c) of Chinchilla's eq. 2 at E experts."""
        p = self.params
        e_hat = float(effective_experts(experts, p["E_start"], p["E_max"]))
        le = math.log(e_hat)
        return (
            p["a"] * e_hat ** p["delta"],
            p["alpha"] + p["gamma"] * le,
            p["b"] * e_hat ** p["omega"],
            p["beta"] + p["zeta"] * le,
            p["c"],
        )

    def loss(self, active, tokens, experts: float):
        m, mu, n, nu, c = self.reduced(experts)
        return m * np.asarray(active, dtype=float) ** mu + n * np.asarray(tokens, dtype=float) ** nu + c

    def expert_choices(self, cond: Conditions | None) -> list[float]:
        fixed = None if cond is None else cond.extra.get("experts")
        if fixed is not None:
            return [float(fixed)]
        top = self.max_experts if cond is None else cond.extra.get("max_experts", self.max_experts)
        out, e = [], 1.0
        while e <= top:
            out.append(e)
            e *= 2.0
        return out

    def _per_expert(self, params, cond: Conditions, value) -> np.ndarray:
        """``value(E)`` for every expert count, inf where the total parameters exceed the cap:
        an (experts, sizes) array."""
        n = np.atleast_1d(np.asarray(params, dtype=float))
        cap = cond.extra.get("max_total_params")
        rows = []
        for e in self.expert_choices(cond):
            v = np.broadcast_to(np.asarray(value(e), dtype=float), n.shape).copy()
            if cap is not None:
                v = np.where(total_params(n, e, self.vocab) <= cap * (1 + 1e-12), v, np.inf)
            rows.append(v)
        return np.array(rows)

    def best_experts(self, params, train_flops, cond: Conditions) -> np.ndarray:
        n = np.atleast_1d(np.asarray(params, dtype=float))
        tokens = self.tokens_for_flops(n, train_flops)
        losses = self._per_expert(n, cond, lambda e: self.loss(n, tokens, e))
        choices = np.array(self.expert_choices(cond))
        return np.where(np.isfinite(losses).any(axis=0), choices[np.argmin(losses, axis=0)], np.nan)

    # ----- what the planner needs ------------------------------------------------------------------
    def loss_on_budget(self, params, train_flops, cond: Conditions):
        n = np.atleast_1d(np.asarray(params, dtype=float))
        tokens = self.tokens_for_flops(n, train_flops)
        return self._per_expert(n, cond, lambda e: self.loss(n, tokens, e)).min(axis=0)

    def flops_for_loss(self, params, loss, cond: Conditions):
        n = np.atleast_1d(np.asarray(params, dtype=float))

        def flops(e):
            m, mu, nn, nu, c = self.reduced(e)
            rem = loss - c - m * n**mu
            with np.errstate(divide="ignore", invalid="ignore"):
                tokens = np.where(rem > 0, (np.where(rem > 0, rem, 1.0) / nn) ** (1.0 / nu), np.inf)
            return self.train_flops(n, tokens)

        return self._per_expert(n, cond, flops).min(axis=0)

    def loss_floor(self, params, cond: Conditions):
        n = np.atleast_1d(np.asarray(params, dtype=float))

        def floor(e):
            m, mu, _, _, c = self.reduced(e)
            return c + m * n**mu

        return self._per_expert(n, cond, floor).min(axis=0)

    def _optimum_at(self, experts: float, flops):
        """Eq. 7 at one expert count, with |mu|, |nu| (the form that reproduces Table 1)."""
        m, mu, n, nu, _ = self.reduced(experts)
        alpha, beta = -mu, -nu
        g = (alpha * m / (beta * n)) ** (1.0 / (alpha + beta))
        k = float(self.train_flops(1.0, 1.0))
        return g * (np.asarray(flops, dtype=float) / k) ** (beta / (alpha + beta))

    def active_cap(self, experts: float, cap: float) -> float:
        """The largest N_act whose total at E experts is within ``cap``: N_total = 2·d·V +
        (13 + 9·(E - 1))·d³/64 (App. A.1) solved for d, then N_act = 2·d·V + 13·d³/64."""
        d = float(_width(cap, self.vocab, 13.0 + 9.0 * (experts - 1.0)))
        return 2.0 * d * self.vocab + 13.0 * d**3 / 64.0

    def closed_form_params(self, train_flops, cond: Conditions):
        """Eq. 7 at the expert count the planner is solving for, unless the total-parameter cap
        cuts it (then the bounded search lands on the cap and reports it)."""
        experts = cond.extra.get("experts")
        if experts is None:
            return None
        n = self._optimum_at(experts, train_flops)
        cap = cond.extra.get("max_total_params")
        if cap is not None and np.any(n > self.active_cap(experts, cap)):
            return None
        return n

    def discrete_options(self, cond: Conditions) -> list[dict[str, float]]:
        """Each expert count is solved on its own (a unimodal problem in N_act) and the best kept."""
        return [{"experts": e} for e in self.expert_choices(cond)]

    def params_caps(self, cond: Conditions) -> dict[str, float]:
        cap = cond.extra.get("max_total_params")
        if cap is None or cond.extra.get("experts") is None:
            return {}
        return {"max_total_params": self.active_cap(cond.extra["experts"], cap)}

    def extras(self, params: float, train_flops: float, cond: Conditions) -> dict[str, float]:
        experts = float(self.best_experts(np.array([params]), train_flops, cond)[0])
        out = {
            "experts": experts,
            "params_active": float(params),
            "params_total": float(total_params(params, experts, self.vocab)),
        }
        if "max_total_params" in cond.extra:  # does the cap change the expert count or bind the total?
            free = Conditions(
                batch=cond.batch, extra={k: v for k, v in cond.extra.items() if k != "max_total_params"}
            )
            unconstrained = float(self.best_experts(np.array([params]), train_flops, free)[0])
            at_cap = out["params_total"] >= cond.extra["max_total_params"] * (1 - 1e-6)
            out["binds_total_params"] = float(unconstrained != experts or at_cap)
        return out

    def notes(self) -> list[str]:
        out = [
            "params are active parameters, embeddings included; compute 6·N_act·D, serving 2·N_act per "
            "token, memory follows the total (Ludziejewski et al. 2025, App. A)"
        ]
        if self.max_experts > FITTED_MAX_EXPERTS:
            out.append(f"expert counts above {FITTED_MAX_EXPERTS:g} extrapolate beyond the paper's runs")
        return out


# ----- fitting: eq. 6 in log space, projected on (a, b, c) ------------------------------------------
def _log_e_hat(les, lem, z, jac: bool):
    """ln Ê and its derivatives in ln E_start and ln E_max (z = ln E)."""
    e_start, e_max = np.exp(les), np.exp(lem)
    k = 1.0 / (1.0 / e_start - 1.0 / e_max)
    q = np.exp(z) - 1.0 + k
    inv = 1.0 / q + 1.0 / e_max
    le = -np.log(inv)
    if not jac:
        return le, None, None
    d_les = k**2 / (inv * q**2 * e_start)
    d_lem = -(k**2 / (q**2 * e_max) - 1.0 / e_max) / inv
    return le, d_les, d_lem


def _log_model(c, X, jac: bool):
    la, lb, lc, alpha, beta, delta, gamma, omega, zeta, les, lem = c
    u, v, z = X
    le, d_les, d_lem = _log_e_hat(les, lem, z, jac)
    t1 = la + delta * le + (alpha + gamma * le) * u
    t2 = lb + omega * le + (beta + zeta * le) * v
    t3 = lc + 0.0 * u
    if not jac:
        return lse(t1, t2, t3, weights=False)[0], None
    out, (w1, w2, w3) = lse(t1, t2, t3)
    k = w1 * (delta + gamma * u) + w2 * (omega + zeta * v)
    return out, [w1, w2, w3, w1 * u, w2 * v, w1 * le, w1 * le * u, w2 * le, w2 * le * v, k * d_les, k * d_lem]


def _model(p, X):
    n, d, e = X
    e_hat = effective_experts(e, p["E_start"], p["E_max"])
    le = np.log(e_hat)
    return (
        p["a"] * e_hat ** p["delta"] * n ** (p["alpha"] + p["gamma"] * le)
        + p["b"] * e_hat ** p["omega"] * d ** (p["beta"] + p["zeta"] * le)
        + p["c"]
    )


def _columns(values, X):
    u, v, z = X
    e_hat = effective_experts(np.exp(z), values["E_start"], values["E_max"])
    le = np.log(e_hat)
    return {
        "a": np.exp(values["delta"] * le + (values["alpha"] + values["gamma"] * le) * u),
        "b": np.exp(values["omega"] * le + (values["beta"] + values["zeta"] * le) * v),
        "c": np.ones((1, u.size)),
    }


# Table 3's E_start and E_max: pinned by default (a fit from a handful of expert counts rarely
# determines them; --fix E_start=... E_max=... to change, or fit them when the data span many E)
TABLE_3_E = {"E_start": 2.0732, "E_max": 290.4521}
_SIGNED = (-0.5, -0.25, -0.05)  # the paper's start grid for alpha, beta (App. B), signed
_SLOPES = (-0.5, 0.0, 0.5)  # and for delta, gamma, omega, zeta
FORM = FitForm(
    "moe",
    family="moe",
    roles=("params", "tokens", "experts"),
    internal=("la", "lb", "lc", "alpha", "beta", "delta", "gamma", "omega", "zeta", "ln_E_start", "ln_E_max"),
    natural=("a", "b", "c", "alpha", "beta", "delta", "gamma", "omega", "zeta", "E_start", "E_max"),
    log_scale=(True, True, True, False, False, False, False, False, False, True, True),
    display=("a", "alpha", "delta", "gamma", "b", "beta", "omega", "zeta", "E_start", "E_max", "c"),
    grid_axes=(
        (3.4, 4.6, 5.7),
        (3.4, 4.6, 5.7),
        (-0.7, 0.0, 0.7),
        _SIGNED,
        _SIGNED,
        _SLOPES,
        _SLOPES,
        _SLOPES,
        _SLOPES,
        (math.log(2.0732),),
        (math.log(290.4521),),
    ),  # fmt: skip
    log_model=_log_model,
    model=_model,
    projection=Projection(
        linear=("a", "b", "c"),
        nonlinear=(
            ("alpha", _SIGNED),
            ("beta", _SIGNED),
            ("delta", _SLOPES),
            ("gamma", _SLOPES),
            ("omega", _SLOPES),
            ("zeta", _SLOPES),
            ("E_start", (TABLE_3_E["E_start"],)),
            ("E_max", (TABLE_3_E["E_max"],)),
        ),
        columns=_columns,
    ),
    schedule=Schedule(batch=4, min_starts=8, min_basin_hits=2, max_fraction=0.0, min_cap=16, maxiter=3000),
    exponents=(("alpha", "params", "active parameters"), ("beta", "tokens", "tokens")),
)

FAMILY = Family(
    name="moe",
    summary="L(N_act, D, E) = a·Ê^δ·N_act^(α+γ ln Ê) + b·Ê^ω·D^(β+ζ ln Ê) + c "
    "(Ludziejewski et al. 2025, eq. 6)",
    params=PARAMS,
    make=lambda params, name: MoeLaw(params, name),
    forms=(FORM,),
    variants=(FitVariant("moe", ("moe",), "params, tokens and an experts column"),),
    default_pins=TABLE_3_E,
)
