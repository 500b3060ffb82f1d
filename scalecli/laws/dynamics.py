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
from scalecli.laws.base import (
    Conditions,
    Family,
    FitVariant,
    Law,
    Param,
    check_exponent_values,
    check_exponents,
)
from scalecli.laws.forms import (
    HOFFMANN_E,
    HOFFMANN_EXP,
    HOFFMANN_SCALE,
    LN_1E9,
    VP_EXPONENTS,
    FitForm,
    Projection,
    Schedule,
    log_additive,
    lse,
    steps,
)
from scalecli.numerics import root_increasing

BATCH_AWARE = ("B_crit", "B_crit_exp_N", "B_crit_exp_D")
B_CRIT_UNIT = 1e9  # N and D are measured in units of 1e9 in B_crit(N, D)

PARAMS = (
    Param("E", "irreducible loss", "nats/token", "loss"),
    Param("A_N", "prefactor of the model-size term A_N·N^-alpha"),
    Param("A_S", "prefactor of the steps term A_S·S^-beta"),
    Param("alpha", "exponent of model size (or give a, b)", "", "exponent", optional=True),
    Param("beta", "exponent of optimizer steps (or give a, b)", "", "exponent", optional=True),
    Param("a", "spectral exponent of the target's power; alpha = min(a - 1, 2b)", "", optional=True),
    Param("b", "spectral exponent of the features' spectrum; beta = (a - 1)/b", "", optional=True),
    Param("A_P", "prefactor of the data bottleneck A_P·P^-alpha with P unique tokens", optional=True),
    Param("B_crit", "critical batch at N = D = 1e9 (batch-aware steps)", "tokens", optional=True),
    Param("B_crit_exp_N", "exponent of N in the critical batch", "", "signed", optional=True),
    Param("B_crit_exp_D", "exponent of D in the critical batch", "", "signed", optional=True),
)  # fmt: skip


class DynamicsLaw(Law):
    family = "dynamics"
    params_schema = PARAMS
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
        self.irreducible_loss = p["E"]
        self.k = float(self.train_flops(1.0, 1.0)[()])  # FLOPs per parameter per token (6)
        self.models_repeats = "A_P" in p  # a data bottleneck: reusing P unique tokens is part of the model
        if self.batch_aware:
            if not p["B_crit"] > 0:
                raise InputError(f"dynamics law {self.name!r}: B_crit must be > 0 (tokens)")
            if not p.get("B_crit_exp_D", 0.0) < 1:
                raise InputError(
                    f"dynamics law {self.name!r}: B_crit_exp_D must be below 1, or more tokens "
                    "would mean fewer effective steps"
                )

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
        return self.loss(
            params, self.effective_steps(params, self.tokens_for_flops(params, train_flops), cond), cond
        )

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
        return self.train_flops(params, tokens)

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
            p["A_S"]
            * k**self.beta
            * (np.asarray(train_flops, dtype=float) / self.k) ** (-self.beta * (1.0 - q))
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
            return float(self.k * (scale / (p["A_S"] * k**self.beta)) ** (-1.0 / (self.beta * (1.0 - q))))

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


# ----- fitting ---------------------------------------------------------------------------------------
def _model(p, X):
    n, s = X
    return p["E"] + p["A_N"] * n ** -p["alpha"] + p["A_S"] * s ** -p["beta"]


def critical_batch(p, params, tokens):
    """B_crit(N, D) = B_crit (N/1e9)^B_crit_exp_N (D/1e9)^B_crit_exp_D, in tokens."""
    n = np.asarray(params, dtype=float)
    d = np.asarray(tokens, dtype=float)
    return p["B_crit"] * (n / B_CRIT_UNIT) ** p["B_crit_exp_N"] * (d / B_CRIT_UNIT) ** p["B_crit_exp_D"]


def _model_batch(p, X):
    n, d, b = X
    s_eff = d / (b + critical_batch(p, n, d))
    return p["E"] + p["A_N"] * n ** -p["alpha"] + p["A_S"] * s_eff ** -p["beta"]


def _log_model_batch(c, X, jac: bool):
    """ln S_eff = ln D - LSE(ln B, c + gN (ln N - ln 1e9) + gD (ln D - ln 1e9));
    log L = LSE(a - alpha ln N, b - beta ln S_eff, e)."""
    a, b, e, alpha, beta, lbc, g_n, g_d = c
    u, v, z = X  # ln N, ln D, ln B
    un = u - LN_1E9
    vn = v - LN_1E9
    lb, lb_weights = lse(z + 0.0 * lbc, lbc + g_n * un + g_d * vn, weights=jac)
    s = v - lb
    t1 = a - alpha * u
    t2 = b - beta * s
    t3 = e + 0.0 * u
    if not jac:
        return lse(t1, t2, t3, weights=False)[0], None
    wc = lb_weights[1]
    out, (w1, w2, w3) = lse(t1, t2, t3)
    k = w2 * beta * wc  # d lse / d ln B_crit(N, D): through -beta · d ln S_eff = +beta · wc
    return out, [w1, w2, w3, -w1 * u, -w2 * s, k, k * un, k * vn]


def _columns_batch(values, X):
    """The columns of E, A_N and A_S for fixed (alpha, beta, B_crit, B_crit_exp_N, B_crit_exp_D)."""
    u, v, z = X
    ln_b = (
        np.log(values["B_crit"])
        + values["B_crit_exp_N"] * (u - LN_1E9)
        + values["B_crit_exp_D"] * (v - LN_1E9)
    )
    ln_s = v - lse(z + 0.0 * ln_b, ln_b, weights=False)[0]
    return {
        "E": np.ones((1, u.size)),
        "A_N": np.exp(-values["alpha"] * u),
        "A_S": np.exp(-values["beta"] * ln_s),
    }


AXES = (HOFFMANN_SCALE, steps(0.0, 25.0, 2.5), HOFFMANN_E, HOFFMANN_EXP, HOFFMANN_EXP)
FORM = FitForm(
    "dynamics",
    family="dynamics",
    roles=("params", "steps"),
    internal=("a", "b", "e", "alpha", "beta"),
    natural=("A_N", "A_S", "E", "alpha", "beta"),
    log_scale=(True, True, True, False, False),
    display=("E", "A_N", "alpha", "A_S", "beta"),
    # Hoffmann's grid, with b = ln A_S in {0, 2.5, ..., 25}: steps span fewer e-folds than tokens
    grid_axes=AXES,
    log_model=log_additive,
    model=_model,
    exponents=(("alpha", "params", "parameters"), ("beta", "steps", "steps")),
    # variable projection (fitting.parametric.fit_projected): E, A_N, A_S linear for fixed exponents
    profile=Projection(
        linear=("A_N", "A_S", "E"),
        nonlinear=(("alpha", VP_EXPONENTS), ("beta", VP_EXPONENTS)),
        columns=lambda v, X: {
            "A_N": np.exp(-v["alpha"] * X[0]),
            "A_S": np.exp(-v["beta"] * X[1]),
            "E": np.ones((1, X[0].size)),
        },
    ),
)
_EXP = (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0, 1.5)
_B_CRIT = (1e4, 1e5, 1e6, 1e7, 1e8, 1e9)  # tokens
BATCH_FORM = FitForm(
    "dynamics_batch",
    family="dynamics",
    roles=("params", "tokens", "batch_tokens"),
    internal=("a", "b", "e", "alpha", "beta", "log_B_crit", "gN", "gD"),
    natural=("A_N", "A_S", "E", "alpha", "beta", "B_crit", "B_crit_exp_N", "B_crit_exp_D"),
    log_scale=(True, True, True, False, False, True, False, False),
    display=("E", "A_N", "alpha", "A_S", "beta", "B_crit", "B_crit_exp_N", "B_crit_exp_D"),
    # the nominal product grid (198,000 points, about a minute to rank on the GPT-3 curves); the
    # starts come by variable projection instead
    grid_axes=(*AXES, tuple(float(x) for x in np.log(_B_CRIT)), (0.0, 0.5), (0.0, 0.5)),
    log_model=_log_model_batch,
    model=_model_batch,
    # for fixed (alpha, beta, B_crit, exponents) the law is linear in (E, A_N, A_S): 2,400 linear
    # fits, the best 256 ranked by the objective, then 8 to 16 local runs of at most 1,000 iterations.
    # On the GPT-3 curves (8 sizes, 3,684 averaged points) a fit takes 1-5 s on one core
    # (benchmarks/fit.py --gpt3). The 8-parameter objective there also has lower minima that are
    # degenerate: |gD| and c grow without bound (B_crit beyond 1e100) and E, beta -> 0, so B_crit(N, D)
    # switches between the two regimes like a step function across the runs (objective 0.013267
    # against 0.013371 on the 2,700 points below 7e9 parameters). None of the 256 projected starts
    # leads there, even run to convergence; starts from the raw product grid can. Pin B_crit_exp_N/D
    # (--fix) if such a fit is suspected.
    projection=Projection(
        linear=("E", "A_N", "A_S"),
        nonlinear=(
            ("alpha", _EXP),
            ("beta", _EXP),
            ("B_crit", _B_CRIT),
            ("B_crit_exp_N", (0.0, 0.5)),
            ("B_crit_exp_D", (0.0, 0.5)),
        ),
        columns=_columns_batch,
    ),
    schedule=Schedule(batch=4, min_starts=8, min_basin_hits=2, max_fraction=0.0, min_cap=16, maxiter=1000),
    exponents=(("alpha", "params", "parameters"), ("beta", "tokens", "steps at the critical batch")),
)


def _fit_warnings(form: str, params) -> list[str]:
    b = params["alpha"] / params["beta"]
    if b <= 1:
        return [
            f"implied spectral exponent b = alpha/beta = {b:.3g} <= 1: outside the theory's b > 1 "
            "regime (Bordelon et al. 2024)"
        ]
    return []


def _fit_readings(form: str, params) -> dict:
    return {"spectral": {"a": 1.0 + params["alpha"], "b": params["alpha"] / params["beta"]}}


FAMILY = Family(
    name="dynamics",
    summary="L(N, S) = E + A_N·N^-alpha + A_S·S^-beta (Bordelon, Atanasov & Pehlevan 2024), optional "
    "batch-aware steps",
    params=PARAMS,
    make=lambda params, name: DynamicsLaw(params, name),
    forms=(FORM, BATCH_FORM),
    variants=(
        FitVariant("dynamics", ("dynamics",), "steps, or tokens and batch_tokens"),
        FitVariant("dynamics-batch", ("dynamics_batch",)),
    ),
    fit_warnings=_fit_warnings,
    fit_readings=_fit_readings,
)
