"""A request (objective + constraints) -> a Plan (params, tokens, steps, loss, binding, notes).

This module is the one place that tells the two kinds of preset apart: a loss law
(laws/base.Law) is solved by solver.Solver within the request's constraints
(constraints_for); an empirical frontier (laws/base.AllocationLaw) only allocates a budget
(allocations). ``plan``, ``allocations`` and ``loss_law`` are what predict, sweep and the
application layer call.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from scalecli.constraints import Constraint, FlopsCap, MaxParams, StepCap, TokenCap
from scalecli.errors import InfeasibleError, InputError, ref
from scalecli.laws import AllocationLaw, BatchRule, Conditions, Law
from scalecli.numerics import argmin_rows, percentile_interval
from scalecli.presets import Preset
from scalecli.solver import Solution, Solver
from scalecli.units import RANGES

if TYPE_CHECKING:
    from scalecli.compute import Hardware

CAPS = (
    "max_params",
    "max_tokens",
    "max_steps",
    "unique_tokens",
    "max_days",
    "max_train_cost_usd",
    "max_total_params",
)
BYTES_PER_WEIGHT = 2.0  # bf16 weights: what --memory-per-gpu holds


@dataclass
class PlanRequest:
    """The parsed inputs of one ``scale plan`` (the plan options of options.OPTIONS); exactly one
    of flops / target_loss. ``hardware`` (compute.Hardware) prices caps in days or dollars."""

    flops: float | None = None
    target_loss: float | None = None
    inference_tokens: float = 0.0
    max_params: float | None = None
    max_tokens: float | None = None
    max_steps: float | None = None
    unique_tokens: float | None = None
    max_days: float | None = None
    max_train_cost_usd: float | None = None
    max_total_params: float | None = None  # all parameters in memory (a mixture of experts: every expert)
    memory_per_gpu: float | None = None  # GB of weights per GPU (bf16): a cap on total params over gpus
    gpus: float | None = None  # accelerators the run has (the weights of --memory-per-gpu spread over them)
    experts: float | None = None  # a mixture of experts' expert count, fixed
    max_experts: float | None = None  # the largest expert count a plan may choose
    train_bits: float | None = None  # training precision in bits (a precision-aware law)
    ptq_bits: float | None = None  # bits the weights are quantised to after training
    batch_tokens: float | None = None
    allow_repeats: bool = False
    strict: bool = False  # outside the preset's fitted compute range is an error, not a note
    hardware: Hardware | None = None

    def __post_init__(self) -> None:
        if (self.flops is None) == (self.target_loss is None):
            raise InputError(f"give exactly one objective: {ref('flops')} C or {ref('target_loss')} L")

    def caps(self) -> dict[str, float]:
        return {n: getattr(self, n) for n in CAPS if getattr(self, n) is not None}

    def to_dict(self) -> dict[str, Any]:
        """The request as plan output echoes it: the values given (hardware is reported apart)."""
        return {
            k: getattr(self, k)
            for k in request_fields(with_flops=True)
            if getattr(self, k) not in (None, False)
        }


def request_fields(with_flops: bool = False) -> tuple[str, ...]:
    """The PlanRequest fields set from options (options.OPTIONS has a row for each)."""
    skip = {"hardware"} if with_flops else {"hardware", "flops"}
    return tuple(f.name for f in dataclasses.fields(PlanRequest) if f.name not in skip)


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
    experts: float | None = None  # a mixture of experts: the expert count
    params_active: float | None = None  # a mixture of experts: active parameters (= params)
    # the law's settings the plan was solved with (a chosen expert count or precision): predict
    # takes them back (predict(..., **settings)) to reproduce it
    settings: dict[str, float] = field(default_factory=dict)
    train_bits: float | None = None  # a precision-aware law: the training precision
    params_effective: float | None = None  # N_eff at that precision
    ptq_bits: float | None = None  # bits the weights are quantised to after training
    ptq_loss_increase: float | None = None  # the loss that quantisation adds
    ptq_critical_tokens: float | None = None  # tokens beyond which training longer hurts the quantised model
    # the recipe (scalecli.recipe): what N counts, both counts, shape, hyperparameters, memory
    params_convention: str | None = None
    params_total: float | None = None
    params_non_embedding: float | None = None
    shape: dict[str, Any] | None = None
    hparams: dict[str, Any] | None = None
    memory: dict[str, Any] | None = None
    flops_convention: dict[str, Any] | None = None

    def add_costs(self, hardware) -> None:
        """Fill the GPU-hours, days and dollars, training and serving apart (compute.Hardware)."""
        for key, value in hardware.costs(self.train_flops, self.inference_flops).items():
            setattr(self, key, value)
        note = hardware.note()
        if note and self.inference_flops > 0:
            self.notes.append(note)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# the per-plan law settings predict takes back (Plan.settings; predict's keyword arguments)
SETTINGS = ("experts", "train_bits", "ptq_bits")
PLAN_EXTRAS = (
    "experts", "params_active", "params_total", "train_bits", "params_effective", "ptq_bits",
    "ptq_loss_increase", "ptq_critical_tokens",
)  # fmt: skip


def loss_scale_note(preset: Preset) -> str:
    """Losses are specific to each paper's data and tokenizer (REFERENCE §0)."""
    return f"loss scale: {preset.source.get('dataset', 'the fit data')}; not comparable across laws"


def total_params_cap(request: PlanRequest) -> float | None:
    """The cap on all parameters: --max-total-params, or --memory-per-gpu GB of bf16 weights on
    each of --gpus accelerators, whichever is lower."""
    caps = [] if request.max_total_params is None else [request.max_total_params]
    if request.memory_per_gpu is not None:
        if request.gpus is None:
            raise InputError(f"{ref('memory_per_gpu')} needs {ref('gpus')} K: the memory is per GPU")
        accelerator = request.hardware.train.accelerator if request.hardware is not None else None
        held = accelerator.memory_gb if accelerator is not None else None
        if accelerator is not None and held is not None and request.memory_per_gpu > held:
            raise InputError(
                f"{ref('memory_per_gpu')} {request.memory_per_gpu:g} GB is more than the "
                f"{accelerator.name}'s {held:g} GB (see 'scale hardware')"
            )
        caps.append(request.gpus * request.memory_per_gpu * 1e9 / BYTES_PER_WEIGHT)
    return min(caps) if caps else None


def conditions_for(preset: Preset, request: PlanRequest) -> Conditions:
    batch = preset.batch if request.batch_tokens is None else BatchRule("fixed", request.batch_tokens)
    extra: dict[str, float] = {}
    for key in ("train_bits", "ptq_bits"):  # SETTINGS a precision-aware law reads
        if getattr(request, key) is not None:
            extra[key] = getattr(request, key)
    if isinstance(preset.law, Law) and preset.law.caps_total_params:
        cap = total_params_cap(request)
        for key, value in (
            ("max_total_params", cap),
            ("experts", request.experts),
            ("max_experts", request.max_experts),
        ):
            if value is not None:
                extra[key] = value
    return Conditions(
        batch=batch, unique_tokens=request.unique_tokens, allow_repeats=request.allow_repeats, extra=extra
    )


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
        raise InfeasibleError(f"{message}; drop {ref('strict')} to plan anyway")
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
    law = preset.law
    if not isinstance(law, Law):
        return _plan_frontier(preset, law, request)
    base = conditions_for(preset, request)
    constraints, notes = constraints_for(law, request)
    best: tuple[Solution, Conditions] | None = None
    failure: InfeasibleError | None = None
    # a discrete dimension of the allocation (a mixture of experts' expert count): solve each
    for option in law.discrete_options(base):
        cond = dataclasses.replace(base, extra={**base.extra, **option})
        configured = law.for_conditions(cond)
        caps = [*constraints, *(MaxParams(v, k) for k, v in configured.params_caps(cond).items())]
        solver = Solver(preset.name, configured, cond, caps, request.inference_tokens)
        try:
            solution = None if numeric else solver.closed_form(request.flops, request.target_loss)
            if solution is None:
                if request.flops is not None:
                    solution = solver.budget(request.flops)
                else:
                    assert request.target_loss is not None
                    solution = solver.target(request.target_loss)
            solver.guard(solution.train_flops, request.target_loss)
        except InfeasibleError as exc:
            failure = failure or exc
            continue
        if best is None or _better(configured, solution, cond, best, request):
            best = (solution, cond)
    if best is None:
        assert failure is not None
        raise failure
    solution, cond = best
    law = law.for_conditions(cond)
    out = _finish(preset, law, cond, request, solution, notes)
    if request.inference_tokens > 0:
        out.comparison = inference_free_comparison(preset, out, request)
    if preset.draws and not numeric:
        out.interval = draw_interval(preset, request, out)
    return out


def _better(
    law: Law, solution: Solution, cond: Conditions, best: tuple[Solution, Conditions], request
) -> bool:
    """A lower loss for a budget; fewer training FLOPs for a target."""
    if request.flops is None:
        return solution.train_flops < best[0].train_flops
    loss = float(law.loss_on_budget(np.array([solution.params]), solution.train_flops, cond)[0])
    before = law.for_conditions(best[1])
    other = float(before.loss_on_budget(np.array([best[0].params]), best[0].train_flops, best[1])[0])
    return loss < other


def loss_law(preset: Preset, purpose: str) -> Law:
    """The preset's loss surface; an empirical frontier has none, and is refused for ``purpose``."""
    if isinstance(preset.law, Law):
        return preset.law
    raise InputError(
        f"{preset.name} is an allocation-only frontier and predicts no loss for {purpose}; "
        "use a preset with a loss law (e.g. kaplan2020)"
    )


def constraints_for(law: Law, request: PlanRequest) -> tuple[list[Constraint], list[str]]:
    """The request's caps as constraint objects (constraints.py), and the notes they imply.

    Unique data is a hard token cap unless the law values repeated data itself (then the plan
    reports epochs) or --allow-repeats says repeats count as fresh data.
    """
    r = request
    out: list[Constraint] = []
    notes: list[str] = []
    if r.max_params is not None:
        out.append(MaxParams(r.max_params))
    if r.max_tokens is not None:
        out.append(TokenCap("max_tokens", r.max_tokens))
    if r.unique_tokens is not None and not law.models_repeats:
        if r.allow_repeats:
            notes.append(
                "--allow-repeats: tokens beyond --unique-tokens are repeated epochs valued as "
                "fresh data by this law (optimistic beyond ~4 epochs, Muennighoff et al. 2023)"
            )
        else:
            out.append(TokenCap("unique_tokens", r.unique_tokens))
            notes.append(
                "this law does not model repeated data: --unique-tokens is a hard cap on "
                "tokens (pass --allow-repeats to lift it, or use muennighoff2023)"
            )
    if r.max_steps is not None:
        out.append(StepCap("max_steps", r.max_steps))
    out.extend(_hardware_caps(r))
    cap = total_params_cap(r)
    if cap is not None and law.caps_total_params:  # active <= total <= cap: bounds the search
        out.append(MaxParams(cap if r.max_params is None else min(cap, r.max_params), "max_total_params"))
    if cap is not None and not law.caps_total_params:  # a dense model: every parameter is in memory
        from scalecli.shape import convert_params

        convention = "non_embedding" if law.family == "kaplan" else "total"
        limit = convert_params(cap, "total", convention)
        out.append(MaxParams(limit if r.max_params is None else min(limit, r.max_params), "max_total_params"))
    if (r.experts is not None or r.max_experts is not None) and not law.caps_total_params:
        notes.append(f"{law.name} is a dense law: --experts and --max-experts do not apply to it")
    return out, notes


def _hardware_caps(r: PlanRequest) -> list[Constraint]:
    """Caps in days on the training GPUs and in dollars, as training FLOPs on that hardware."""
    given = [n for n in ("max_days", "max_train_cost_usd") if getattr(r, n) is not None]
    if not given:
        return []
    if r.hardware is None:
        raise InputError(f"{ref(given[0])} needs {ref('gpu')} NAME and {ref('mfu')} F to turn it into FLOPs")
    from scalecli.compute import HOURS_PER_DAY

    train = r.hardware.train
    where = f"{train.gpus} {train.accelerator.name} at MFU {train.mfu:g}"
    out: list[Constraint] = []
    if r.max_days is not None:
        hours = r.max_days * HOURS_PER_DAY * train.gpus
        out.append(FlopsCap("max_days", r.max_days, train.flops_for_gpu_hours(hours), f"on {where}"))
    if r.max_train_cost_usd is not None:
        if train.usd_per_gpu_hour is None:
            raise InputError(
                f"{ref('max_train_cost_usd')} needs {ref('usd_per_gpu_hour')} to turn dollars into GPU-hours"
            )
        hours = train.gpu_hours_for_usd(r.max_train_cost_usd)
        how = f"at ${train.usd_per_gpu_hour:g} per GPU-hour on {where}"
        out.append(
            FlopsCap("max_train_cost_usd", r.max_train_cost_usd, train.flops_for_gpu_hours(hours), how)
        )
    return out


def check_plausible(preset: Preset, p: Plan) -> None:
    """A plan outside the ranges scalecli accepts as input is refused (exit 3) with the reason:
    at least one step of at least one token, sizes and FLOPs in range, a finite loss (a frontier
    without a loss law reports none)."""
    lo_flops, hi_flops = RANGES["flops"]
    lo_count, hi_count = RANGES["count"]
    problems = []
    no_loss_law = p.method == FRONTIER and math.isnan(p.loss)
    if not ((math.isfinite(p.loss) and p.loss > 0) or no_loss_law):
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
INTERVAL_FIELDS = ("params", "tokens", "steps", "loss", "train_flops")


def draw_interval(preset: Preset, request: PlanRequest, result: Plan, level: float = INTERVAL_LEVEL):
    """Push the fit's bootstrap draws through the solver: a ``level`` interval on the plan."""
    rows = []
    failed = 0
    for draw in preset.draws:
        try:
            rows.append(_plan(preset.with_params(draw), request, False))
        except (InfeasibleError, InputError):
            failed += 1
    if not rows:
        result.notes.append(f"no bootstrap draw gives a feasible plan ({failed} tried): no interval")
        return None
    out: dict[str, Any] = {"level": level, "draws": len(rows)}
    for name in INTERVAL_FIELDS:
        out[name] = list(percentile_interval([getattr(r, name) for r in rows], level))
    if failed:
        result.notes.append(f"{failed} of {len(preset.draws)} bootstrap draws give no feasible plan")
    resampled = (preset.raw.get("fit") or {}).get("resampled") or {}
    out["resampled"] = resampled.get("unit")
    unit = f" (resampled {out['resampled']})" if out["resampled"] else ""
    result.notes.append(
        f"interval: {level:.0%} of {len(rows)} bootstrap draws of the fit{unit}, each solved like the plan"
    )
    return out


def inference_free_comparison(preset: Preset, result: Plan, request: PlanRequest) -> dict[str, Any]:
    """The compute-optimal model reaching the same loss when inference is ignored, and what it
    costs over the same lifetime (Sardana et al.'s "Chinchilla-style" baseline, REFERENCE §4.4).
    """
    law = loss_law(preset, "a serving comparison")
    same_loss = PlanRequest(
        target_loss=result.loss,
        batch_tokens=request.batch_tokens,
        unique_tokens=request.unique_tokens,
        allow_repeats=request.allow_repeats,
    )
    base = plan(preset, same_loss)
    serving = float(law.serve_flops(base.params, request.inference_tokens))
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


def _finish(
    preset: Preset, law: Law, cond: Conditions, request: PlanRequest, solution: Solution, notes: list[str]
) -> Plan:
    params, train = solution.params, solution.train_flops
    binding = list(solution.binding)
    tokens, steps, batch = (float(v[0]) for v in law.allocation(np.array([params]), train, cond))
    loss = float(law.loss_on_budget(np.array([params]), train, cond)[0])
    extra = [*notes, *solution.notes]
    unique = request.unique_tokens
    if law.models_repeats and unique is not None and tokens > unique * (1 + 1e-9):
        binding.append("unique_tokens")
        extra.append(
            f"{tokens / unique:.2f} epochs over the unique data "
            "(repeats valued by Muennighoff et al. 2023's effective data)"
        )
    inference = float(law.serve_flops(params, request.inference_tokens))
    all_notes = [*law.notes(), *preset.notes]
    if not law.law_sets_batch:
        all_notes.append("steps = tokens / batch; " + cond.batch.describe())
    all_notes.append(loss_scale_note(preset))
    all_notes.extend(extra)
    extras = law.extras(params, train, cond)
    all_notes.extend(law.optimum_notes(params, tokens, extras))
    if "experts" in extras and not math.isfinite(extras["experts"]):
        raise InfeasibleError(f"{preset.name}: no expert count fits the total-parameter cap at this size")
    if extras.get("binds_total_params") and "max_total_params" not in binding:
        binding.append("max_total_params")
    plan = Plan(
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
        notes=all_notes,
        method=solution.method,
    )
    plan.settings = {k: v for k, v in cond.extra.items() if k in SETTINGS}
    for key, value in extras.items():  # the family's own plan fields (fields.py lists them)
        if key in PLAN_EXTRAS:
            setattr(plan, key, value)
    return plan


# ----- budgets over arrays: sweeps, and frontiers ----------------------------------------------
FRONTIER = "empirical frontier"


def allocations(
    preset: Preset, flops, batch_tokens: float | None = None
) -> tuple[dict[str, np.ndarray], str]:
    """The compute-optimal params, tokens, steps, batch and loss at each budget (arrays), and how
    they were found: the frontier's power laws, the law's closed form vectorised over the budgets,
    or one numerical search per budget done all at once."""
    flops = np.asarray(flops, dtype=float)
    request = PlanRequest(flops=float(flops[0]), batch_tokens=batch_tokens)
    law = preset.law
    if not isinstance(law, Law):
        _refuse_frontier_extras(preset, request)
        return law.allocate(flops, preset.batch), FRONTIER
    base = conditions_for(preset, request)
    best: dict[str, np.ndarray] | None = None
    methods = set()
    # the discrete settings a plan would choose among (e.g. a precision law's training bits): each
    # solved over all budgets, the best kept per budget, as _plan does for one budget
    for option in law.discrete_options(base):
        cond = dataclasses.replace(base, extra={**base.extra, **option})
        configured = law.for_conditions(cond)
        params = configured.closed_form_params(flops, cond)
        method = "closed form"
        if params is None:
            params, method = _numeric_optimum(configured, flops, cond), "numerical"
        methods.add(method)
        tokens, steps, batch = configured.allocation(params, flops, cond)
        loss = configured.loss_on_budget(params, flops, cond)
        values = {"params": params, "tokens": tokens, "steps": steps, "batch_tokens": batch, "loss": loss}
        values = {
            k: np.broadcast_to(np.asarray(v, dtype=float), flops.shape).copy() for k, v in values.items()
        }
        for key, value in option.items():
            values[key] = np.full(flops.shape, float(value))
        if best is None:
            best = values
            continue
        better = values["loss"] < best["loss"]
        for key in values:  # every option has the same keys
            best[key] = np.where(better, values[key], best[key])
    assert best is not None  # discrete_options always gives at least one option
    return best, "numerical" if "numerical" in methods else "closed form"


def _numeric_optimum(law: Law, flops: np.ndarray, cond: Conditions) -> np.ndarray:
    """argmin over N of the loss along each budget, all budgets at once (numerics.argmin_rows):
    the search the solver runs for one budget, vectorised, so a 10,000-point sweep takes
    seconds, not minutes."""

    def objective(x):
        return law.loss_on_budget(np.exp(x), flops[:, None], cond)

    top = np.log([law.params_for_flops(c, 1.0) for c in flops])
    return np.exp(argmin_rows(objective, np.zeros_like(flops), top, grid=33))


def _refuse_frontier_extras(preset: Preset, request: PlanRequest) -> None:
    extras = [
        ref(k)
        for k, v in {
            "target_loss": request.target_loss,
            "inference_tokens": request.inference_tokens or None,
            "batch_tokens": request.batch_tokens,
            **request.caps(),
        }.items()
        if v is not None
    ]
    if extras:
        raise InputError(
            f"{preset.name} is an empirical frontier: it answers {ref('flops')} plans only and "
            f"cannot honour {', '.join(extras)}; use a preset with a loss law (e.g. kaplan2020)"
        )


def _plan_frontier(preset: Preset, frontier: AllocationLaw, request: PlanRequest) -> Plan:
    _refuse_frontier_extras(preset, request)
    assert request.flops is not None
    found, method = allocations(preset, np.array([request.flops]))
    values = {k: float(v[0]) for k, v in found.items()}
    own = frontier.own_laws(request.flops)
    notes = [*preset.notes]
    if own:
        told = " and ".join(f"{'B' if k == 'batch_tokens' else 'D'} = {v:.4g}" for k, v in own.items())
        notes.append(f"the frontier's own laws give {told} tokens at this budget; here tokens = C/(6N)")
    if not frontier.sets_batch:
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
        method=method,
    )
