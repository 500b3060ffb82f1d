"""Objective + constraints -> Plan (params, tokens, steps, loss, binding, notes).

Two objectives (CLI.md): ``flops`` (minimise loss within a budget; with inference demand the
budget covers 6·N·D + 2·N·T) and ``target_loss`` (reach a loss at the least training, or
lifetime, FLOPs). The closed form of the law is used when it exists and no constraint binds;
otherwise a bounded search over x = ln N: along the budget with caps on tokens and steps
folded in (a model may spend less than the budget when caps leave no other choice), or over
the FLOPs each size needs to reach the target.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from scalecli.compute import inference_flops, training_flops
from scalecli.errors import InfeasibleError, InputError
from scalecli.laws import BatchRule, Conditions
from scalecli.numerics import argmin_unimodal, crossing
from scalecli.presets import Preset
from scalecli.units import RANGES

SEARCH_SPAN = 70.0  # e-folds of N searched beyond the reachable size in target mode


@dataclass
class PlanRequest:
    """The parsed inputs of one ``scale plan``; exactly one of flops / target_loss."""

    flops: float | None = None
    target_loss: float | None = None
    inference_tokens: float = 0.0
    max_params: float | None = None
    max_tokens: float | None = None
    max_steps: float | None = None
    unique_tokens: float | None = None
    batch_tokens: float | None = None
    allow_repeats: bool = False
    strict: bool = False  # outside the preset's fitted compute range is an error, not a note

    def __post_init__(self) -> None:
        if (self.flops is None) == (self.target_loss is None):
            raise InputError("give exactly one objective: --flops C or --target-loss L")

    def caps(self) -> dict[str, float]:
        names = ("max_params", "max_tokens", "max_steps", "unique_tokens")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


@dataclass
class Plan:
    law: str
    family: str
    params: float
    tokens: float
    steps: float
    batch_tokens: float
    tokens_per_param: float
    loss: float
    train_flops: float
    inference_flops: float
    total_flops: float
    binding: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    gpu_hours: float | None = None  # training + serving (fields.py)
    days: float | None = None  # training wall-clock on hardware.gpus accelerators
    cost_usd: float | None = None  # training + serving
    interval: dict[str, Any] | None = None
    method: str = "closed form"
    comparison: dict[str, Any] | None = None
    hardware: dict[str, Any] | None = None
    extrapolation: dict[str, Any] | None = None
    recommended: bool = False
    train_gpu_hours: float | None = None
    serve_gpu_hours: float | None = None
    train_cost_usd: float | None = None
    serve_cost_usd: float | None = None

    def add_costs(self, hardware) -> None:
        """Fill the GPU-hours, days and dollars, training and serving apart (compute.Hardware)."""
        for key, value in hardware.costs(self.train_flops, self.inference_flops).items():
            setattr(self, key, value)
        note = hardware.note()
        if note and self.inference_flops > 0:
            self.notes.append(note)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def loss_scale_note(preset: Preset) -> str:
    """Losses are specific to each paper's data and tokenizer (REFERENCE §0)."""
    return f"loss scale: {preset.source.get('dataset', 'the fit data')}; not comparable across laws"


def conditions_for(preset: Preset, request: PlanRequest) -> Conditions:
    batch = preset.batch if request.batch_tokens is None else BatchRule("fixed", request.batch_tokens)
    return Conditions(batch=batch, unique_tokens=request.unique_tokens, allow_repeats=request.allow_repeats)


def extrapolation(preset: Preset, flops: float) -> dict[str, Any] | None:
    """How far (orders of magnitude) ``flops`` lies outside the preset's fitted compute range."""
    if preset.fitted_range is None:
        return None
    lo, hi = preset.fitted_range
    if lo <= flops <= hi:
        return {"orders": 0.0, "direction": "inside", "fitted_range": [lo, hi]}
    direction = "above" if flops > hi else "below"
    orders = math.log10(flops / hi) if flops > hi else math.log10(lo / flops)
    return {"orders": orders, "direction": direction, "fitted_range": [lo, hi]}


def guard_extrapolation(preset: Preset, request: PlanRequest, result: Plan) -> None:
    """Note (or, with --strict, refuse) a plan whose compute lies outside the fitted range."""
    ext = extrapolation(preset, result.train_flops)
    result.extrapolation = ext
    if ext is None:
        result.notes.append("the preset gives no fitted compute range: extrapolation is not checked")
        return
    if ext["direction"] == "inside":
        return
    lo, hi = ext["fitted_range"]
    message = (
        f"training compute {result.train_flops:.3g} FLOPs is {ext['orders']:.1f} orders of magnitude "
        f"{ext['direction']} the range {preset.name} was fitted on ({lo:.3g} to {hi:.3g})"
    )
    if request.strict:
        raise InfeasibleError(f"{message}; drop --strict to plan anyway")
    result.notes.append(f"extrapolation: {message}")


def plan(preset: Preset, request: PlanRequest, *, numeric: bool = False) -> Plan:
    """Solve one request with one preset. ``numeric=True`` skips the closed form (for tests)."""
    try:
        result = _plan(preset, request, numeric)
    except (OverflowError, ZeroDivisionError, FloatingPointError):
        raise InfeasibleError(
            f"{preset.name}: the law's numbers overflow double precision for this request; "
            "choose a budget or target closer to the range the law was fitted on"
        ) from None
    check_plausible(preset, result)
    result.recommended = preset.recommended
    guard_extrapolation(preset, request, result)
    return result


def _plan(preset: Preset, request: PlanRequest, numeric: bool) -> Plan:
    if preset.is_frontier:
        return _plan_frontier(preset, request)
    solver = _Solver(preset, request)
    result = None if numeric else solver.closed_form()
    if result is None:
        result = solver.solve_flops() if request.flops is not None else solver.solve_target()
    out = solver.finish(*result)
    if request.inference_tokens > 0:
        out.comparison = inference_free_comparison(preset, out, request)
    if preset.draws and not numeric:
        out.interval = draw_interval(preset, request, out)
    return out


def check_plausible(preset: Preset, p: Plan) -> None:
    """A plan outside the ranges scalecli accepts as input is refused (exit 3) with the reason:
    at least one step of at least one token, sizes and FLOPs in range, a finite loss."""
    lo_flops, hi_flops = RANGES["flops"]
    lo_count, hi_count = RANGES["count"]
    problems = []
    if not ((math.isfinite(p.loss) and p.loss > 0) or (preset.is_frontier and math.isnan(p.loss))):
        problems.append(f"its loss is not a positive finite number ({p.loss:g})")
    if not lo_count <= p.params <= hi_count:
        problems.append(f"it needs {p.params:.3g} params")
    if not lo_count <= p.tokens <= hi_count:
        problems.append(f"it trains on {p.tokens:.3g} tokens")
    if not p.steps >= 1:
        problems.append(f"it takes {p.steps:.3g} optimizer steps (at least one is needed)")
    if not p.batch_tokens >= 1:
        problems.append(f"its batch is {p.batch_tokens:.3g} tokens per step (at least one is needed)")
    if not lo_flops <= p.total_flops <= hi_flops:
        problems.append(f"it needs {p.total_flops:.3g} FLOPs")
    if problems:
        raise InfeasibleError(
            f"{preset.name}: no plausible plan: {'; '.join(problems)} (scalecli plans for "
            f"{lo_count:g} to {hi_count:.0e} params or tokens and {lo_flops:.0e} to {hi_flops:.0e} FLOPs); "
            "loosen the caps, or choose another budget or target"
        )


INTERVAL_LEVEL = 0.9


def draw_interval(preset: Preset, request: PlanRequest, result: Plan, level: float = INTERVAL_LEVEL):
    """Push the fit's bootstrap draws through the solver: a ``level`` interval on the plan."""
    import dataclasses

    from scalecli.laws import FAMILIES

    family = FAMILIES[preset.family]
    rows = []
    failed = 0
    for draw in preset.draws:
        try:
            law = family(draw, name=preset.name)
            rows.append(_plan(dataclasses.replace(preset, law=law, draws=[]), request, False))
        except (InfeasibleError, InputError):
            failed += 1
    if not rows:
        result.notes.append(f"no bootstrap draw gives a feasible plan ({failed} tried): no interval")
        return None
    tail = 100.0 * (1.0 - level) / 2.0
    out: dict[str, Any] = {"level": level, "draws": len(rows)}
    for name in ("params", "tokens", "steps", "loss", "train_flops"):
        values = np.array([getattr(r, name) for r in rows])
        out[name] = [float(np.percentile(values, tail)), float(np.percentile(values, 100.0 - tail))]
    if failed:
        result.notes.append(f"{failed} of {len(preset.draws)} bootstrap draws give no feasible plan")
    result.notes.append(
        f"interval: {level:.0%} of {len(rows)} bootstrap draws of the fit, each solved like the plan"
    )
    return out


def inference_free_comparison(preset: Preset, result: Plan, request: PlanRequest) -> dict[str, Any]:
    """The compute-optimal model reaching the same loss when inference is ignored, and what it
    costs over the same lifetime (Sardana et al.'s "Chinchilla-style" baseline, REFERENCE §4.4).
    """
    same_loss = PlanRequest(
        target_loss=result.loss,
        batch_tokens=request.batch_tokens,
        unique_tokens=request.unique_tokens,
        allow_repeats=request.allow_repeats,
    )
    base = plan(preset, same_loss)
    serving = float(inference_flops(base.params, request.inference_tokens))
    total = base.train_flops + serving
    return {
        "label": "compute-optimal model at the same loss, ignoring inference",
        "params": base.params,
        "tokens": base.tokens,
        "train_flops": base.train_flops,
        "inference_flops": serving,
        "total_flops": total,
        "total_flops_ratio": result.total_flops / total,
        "params_ratio": result.params / base.params,
        "tokens_ratio": result.tokens / base.tokens,
        "flops_saved": total - result.total_flops,
    }


# --------------------------------------------------------------------------------------------
class _Solver:
    def __init__(self, preset: Preset, request: PlanRequest) -> None:
        self.preset = preset
        self.law = preset.law
        self.request = request
        self.cond = conditions_for(preset, request)
        self.T = request.inference_tokens
        self.notes: list[str] = []
        # Caps on tokens and steps. Unique data is a hard cap unless the law values repeats.
        self.token_caps: dict[str, float] = {}
        if request.max_tokens is not None:
            self.token_caps["max_tokens"] = request.max_tokens
        self.soft_unique = False
        if request.unique_tokens is not None:
            if self.law.models_repeats:
                self.soft_unique = True
            elif request.allow_repeats:
                self.notes.append(
                    "--allow-repeats: tokens beyond --unique-tokens are repeated epochs valued as "
                    "fresh data by this law (optimistic beyond ~4 epochs, Muennighoff et al. 2023)"
                )
            else:
                self.token_caps["unique_tokens"] = request.unique_tokens
                self.notes.append(
                    "this law does not model repeated data: --unique-tokens is a hard cap on "
                    "tokens (pass --allow-repeats to lift it, or use muennighoff2023)"
                )
        self.max_steps = request.max_steps

    # ----- helpers ---------------------------------------------------------------------------
    def _cap_flops(self, params: np.ndarray) -> dict[str, np.ndarray]:
        """Largest training FLOPs each tokens/steps cap allows at size N."""
        out = {name: training_flops(params, cap) for name, cap in self.token_caps.items()}
        if self.max_steps is not None:
            out["max_steps"] = self.law.flops_for_steps(params, self.max_steps, self.cond)
        return out

    def _violations(self, params: float, tokens: float, steps: float) -> list[str]:
        r = self.request
        bad = []
        tol = 1 + 1e-9
        if r.max_params is not None and params > r.max_params * tol:
            bad.append("max_params")
        for name, cap in self.token_caps.items():
            if tokens > cap * tol:
                bad.append(name)
        if self.max_steps is not None and steps > self.max_steps * tol:
            bad.append("max_steps")
        return bad

    def closed_form(self):
        if self.T > 0:
            return None
        if self.request.flops is not None:
            train = self.request.flops
        else:
            self._check_target_reachable()
            train = self.law.closed_form_flops(self.request.target_loss, self.cond)
            if train is None:
                return None
            self._guard(train)
        params = self.law.closed_form_params(train, self.cond)
        if params is None:
            return None
        params = float(params)
        tokens, steps, _ = self.law.allocation(np.array([params]), train, self.cond)
        if self._violations(params, float(tokens[0]), float(steps[0])):
            return None
        return params, train, [], "closed form"

    # ----- objective: a training (or lifetime) budget ---------------------------------------
    def solve_flops(self):
        C, T = self.request.flops, self.T
        lo, hi = 0.0, math.log(C / 6.0)
        hi_reason = None
        if T > 0:
            hi = min(hi, math.log(C / (2.0 * T)) - 1e-9)
        if self.request.max_params is not None and math.log(self.request.max_params) < hi:
            hi, hi_reason = math.log(self.request.max_params), "max_params"
        if hi < lo:
            raise InfeasibleError(
                f"{self.preset.name}: the budget of {C:.4g} FLOPs leaves no room for training "
                f"after serving {T:.4g} inference tokens (2·N FLOPs each)"
            )

        def train_flops_at(params):
            budget = C - inference_flops(params, T)
            for cap in self._cap_flops(params).values():
                budget = np.minimum(budget, cap)
            return budget

        def objective(x):
            params = np.exp(np.asarray(x, dtype=float))
            budget = train_flops_at(params)
            with np.errstate(all="ignore"):
                return np.where(
                    budget > 0, self.law.loss_on_budget(params, np.maximum(budget, 1e-300), self.cond), np.inf
                )

        try:
            x = argmin_unimodal(objective, lo, hi)
        except ValueError:
            raise InfeasibleError(
                f"{self.preset.name}: no model size trains within these caps; raise "
                f"{', '.join('--' + k.replace('_', '-') for k in self.request.caps()) or 'the budget'}"
            ) from None
        # A cap that starts to bind at x_k makes a kink; land exactly on it when it is optimal.
        for name in self._cap_flops(np.array([1.0])):

            def excess(z, name=name):
                params = np.exp(np.array([z]))
                return float(self._cap_flops(params)[name][0] - (C - inference_flops(params[0], T)))

            if excess(lo) < 0 < excess(hi) or excess(hi) < 0 < excess(lo):
                xk = crossing(excess, lo, hi)
                if abs(xk - x) < 1e-4 and objective(np.array([xk]))[0] <= objective(np.array([x]))[0]:
                    x = xk
        on_cap = hi_reason is not None and x >= hi - 1e-9
        # On the cap use it exactly: exp(ln(cap)) is not always the cap to the last bit.
        params = self.request.max_params if on_cap else math.exp(x)
        train = float(train_flops_at(np.array([params]))[0])
        binding = [hi_reason] if on_cap else []
        caps = self._cap_flops(np.array([params]))
        spend = C - inference_flops(params, T)
        for name, cap in caps.items():
            if cap[0] <= spend * (1 + 1e-7) and cap[0] <= train * (1 + 1e-7):
                binding.append(name)
        if train < spend * (1 - 1e-6):
            self.notes.append(
                f"caps leave {spend - train:.3g} FLOPs of the budget unused: no allowed "
                "allocation can spend them"
            )
        return params, train, binding, "numerical"

    # ----- objective: a target loss ---------------------------------------------------------
    def _check_target_reachable(self) -> None:
        target = self.request.target_loss
        trivial = float(self.law.loss_on_budget(np.array([1.0]), 6.0, self.cond)[0])
        if target >= trivial:
            raise InputError(
                f"{self.preset.name}: target loss {target:g} is above the loss of a 1-parameter model "
                f"trained on one token ({trivial:.4g}); every plan meets it, choose a lower target"
            )
        floor = self.law.irreducible_loss
        if target <= floor:
            raise InfeasibleError(
                f"{self.preset.name}: target loss {target:g} is at or below the irreducible loss "
                f"E = {floor:.6g}; no amount of compute reaches it (choose a target above {floor:.6g})"
            )

    def solve_target(self):
        self._check_target_reachable()
        target, T = self.request.target_loss, self.T
        law, cond = self.law, self.cond

        def floor_excess(z):
            return float(law.loss_floor(np.array([math.exp(z)]), cond)[0]) - target

        # Smallest size that can reach the target at all (floor(N) falls with N).
        lo = -5.0
        top = SEARCH_SPAN
        while floor_excess(top) >= 0 and top < 700:
            top += SEARCH_SPAN
        if floor_excess(top) >= 0:
            raise InfeasibleError(
                f"{self.preset.name}: target loss {target:g} is below what any model size reaches "
                f"with this data (floor {law.loss_floor(np.array([math.exp(top)]), cond)[0]:.6g}); "
                "add unique tokens or raise the target"
            )
        x_reach = lo if floor_excess(lo) < 0 else crossing(floor_excess, lo, top)
        lo, hi = x_reach + 1e-9, x_reach + SEARCH_SPAN
        hi_reason = None
        r = self.request
        if r.max_params is not None and math.log(r.max_params) < hi:
            hi, hi_reason = math.log(r.max_params), "max_params"
            if hi <= lo:
                raise InfeasibleError(
                    f"{self.preset.name}: no model within max_params = {r.max_params:.4g} reaches "
                    f"loss {target:g} (it needs more than {math.exp(x_reach):.4g} params); raise "
                    "--max-params or the target"
                )

        def usage(x):
            params = np.exp(np.asarray(x, dtype=float))
            with np.errstate(all="ignore"):
                train = law.flops_for_loss(params, target, cond)
                tokens, steps, _ = law.allocation(params, train, cond)
            return params, train, tokens, steps

        # Tokens and steps needed fall as N grows: each cap is a lower bound on x.
        low_reason = None
        limits = [(name, cap, 2) for name, cap in self.token_caps.items()]
        if self.max_steps is not None:
            limits.append(("max_steps", self.max_steps, 3))
        for name, cap, index in limits:

            def need(z, cap=cap, index=index):
                value = usage(np.array([z]))[index][0]
                return (math.log(value) if np.isfinite(value) else 1e300) - math.log(cap)

            if need(hi) > 0:
                within = f" within max_params = {r.max_params:.4g}" if hi_reason else ""
                raise InfeasibleError(
                    f"{self.preset.name}: loss {target:g} cannot be reached with {name} = {cap:.4g}"
                    f"{within}; raise --{name.replace('_', '-')}"
                    + (" or --max-params" if hi_reason else "")
                    + " or the target"
                )
            if need(lo) > 0:
                bound = crossing(need, lo, hi)
                if bound > lo:
                    lo, low_reason = bound, name

        def cost(x):
            params, train, _, _ = usage(x)
            return train + inference_flops(params, T)

        x = argmin_unimodal(cost, lo, hi)
        binding = []
        if hi_reason and x >= hi - 1e-9:
            binding.append(hi_reason)
        if low_reason and x <= lo + 1e-9:
            binding.append(low_reason)
        if "max_params" in binding:
            params = np.array([r.max_params])
            train = law.flops_for_loss(params, target, cond)
        else:
            params, train, _, _ = usage(np.array([x]))
        return float(params[0]), float(train[0]), binding, "numerical"

    # ----- the plan --------------------------------------------------------------------------
    def _guard(self, train: float) -> None:
        limit = RANGES["flops"][1]
        if not math.isfinite(train) or train > limit:
            raise InfeasibleError(
                f"{self.preset.name}: reaching loss {self.request.target_loss:g} needs more than "
                f"{limit:.0e} FLOPs ({train:.3g}), beyond what scalecli plans for; raise the target"
            )

    def finish(self, params: float, train: float, binding: list[str], method: str) -> Plan:
        law, preset = self.law, self.preset
        self._guard(train)
        tokens, steps, batch = (float(v[0]) for v in law.allocation(np.array([params]), train, self.cond))
        loss = float(law.loss_on_budget(np.array([params]), train, self.cond)[0])
        if self.soft_unique and tokens > self.request.unique_tokens * (1 + 1e-9):
            binding = [*binding, "unique_tokens"]
            epochs = tokens / self.request.unique_tokens
            self.notes.append(
                f"{epochs:.2f} epochs over the unique data "
                "(repeats valued by Muennighoff et al. 2023's effective data)"
            )
        inference = float(inference_flops(params, self.T))
        notes = [*law.notes(), *preset.notes]
        if not law.law_sets_batch:
            notes.append("steps = tokens / batch; " + self.cond.batch.describe())
        notes.append(loss_scale_note(preset))
        notes.extend(self.notes)
        return Plan(
            law=preset.name,
            family=preset.family,
            params=params,
            tokens=tokens,
            steps=steps,
            batch_tokens=batch,
            tokens_per_param=tokens / params,
            loss=loss,
            train_flops=train,
            inference_flops=inference,
            total_flops=train + inference,
            binding=binding,
            notes=notes,
            method=method,
        )


def _plan_frontier(preset: Preset, request: PlanRequest) -> Plan:
    extras = [
        k
        for k, v in {
            "--target-loss": request.target_loss,
            "--inference-tokens": request.inference_tokens or None,
            "--batch-tokens": request.batch_tokens,
            **{f"--{k.replace('_', '-')}": v for k, v in request.caps().items()},
        }.items()
        if v is not None
    ]
    if extras:
        raise InputError(
            f"{preset.name} is an empirical frontier: it answers --flops plans only and "
            f"cannot honour {', '.join(extras)}; use a preset with a loss law (e.g. kaplan2020)"
        )
    frontier = preset.law
    values = {k: float(v) for k, v in frontier.plan(request.flops, preset.batch).items()}
    own = frontier.own_laws(request.flops)
    notes = [*preset.notes]
    if own:
        told = " and ".join(f"{'B' if k == 'batch_tokens' else 'D'} = {v:.4g}" for k, v in own.items())
        notes.append(f"the frontier's own laws give {told} tokens at this budget; here tokens = C/(6N)")
    if "min_steps" not in frontier.laws and "batch_tokens" not in frontier.laws:
        notes.append("steps = tokens / batch; " + preset.batch.describe())
    notes.append(loss_scale_note(preset))
    return Plan(
        law=preset.name,
        family=preset.family,
        params=values["params"],
        tokens=values["tokens"],
        steps=values["steps"],
        batch_tokens=values["batch_tokens"],
        tokens_per_param=values["tokens"] / values["params"],
        loss=values["loss"],
        train_flops=request.flops,
        inference_flops=0.0,
        total_flops=request.flops,
        binding=[],
        notes=notes,
        method="empirical frontier",
    )
