"""``scale fit``: CSV -> validated runs -> fit (+ bootstrap, holdout) -> a preset with provenance.

The preset written here is the same format ``scale plan --law FILE.yaml`` reads (CLI.md).

What is refused, with a message naming the problem and the fix (``InputError``, exit 2):

* options: ``--bootstrap`` above ``MAX_BOOTSTRAP`` = 2,000 draws (each draw is a warm-started refit,
  10-25 ms on Epoch's 240 runs, so 2,000 draws keep a fit within about a minute; the cost of a draw
  grows linearly with the rows, so draws x rows is also bounded, ``MAX_BOOTSTRAP_WORK`` = 1e7, about
  40 s; a preset carries at most 2,000 draws); a ``--seed`` that is not a
  whole number >= 0; a ``--fix`` value outside its range (``PIN_RANGES``: loss exponents in (0, 10],
  the critical-batch exponents B_crit_exp_N/D in [-10, 10], scales and E in [1e-300, 1e300], E also
  below the smallest loss fitted, since L = E + positive terms); pins that leave nothing to fit;
* data a law cannot be identified from (``_check_identifiable``): fewer than 2 distinct values of
  params or of the second input (tokens or steps), fewer distinct input points than free parameters,
  or a loss that is the same on every row;
* a fitted exponent <= 0 (or at the Kaplan forms' floor): the loss does not fall with that input,
  which usually means a wrong column or filter;
* arithmetic that overflows double precision anywhere in the fit (``OverflowError``,
  ``FloatingPointError``, ``ZeroDivisionError``, a singular matrix): reported as a designed error
  naming the fit instead of an internal error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from scalecli import __version__
from scalecli.compute import training_flops
from scalecli.errors import InputError
from scalecli.fitting import diagnose
from scalecli.fitting.data import RunTable, average_duplicates, read_runs, require, split_holdout
from scalecli.laws import Family, FitForm, FitVariant, fit_form, fit_variants

LAWS = tuple(fit_variants())  # scale fit --law choices at import (the registry is asked at run time)
METHODS = ("parametric", "isoflop")
SEARCHES = ("grid", "projection")  # --search: the reference grid of starts, or variable projection

# Bootstrap draws a fit may take (module docstring): each is a warm-started refit of the law.
MAX_BOOTSTRAP = 2_000
MAX_BOOTSTRAP_WORK = 10_000_000  # draws x rows: a draw costs ~4 us per row (40 ms at 10,000 rows)
# Plausible ranges of pinned values (--fix): (low, high, low inclusive?) per kind of parameter.
PIN_RANGES = {
    "exponent": (0.0, 10.0, False),  # (0, 10]
    "signed exponent": (-10.0, 10.0, True),  # [-10, 10]
    "scale": (1e-300, 1e300, True),  # [1e-300, 1e300]: exp of the internal log scale stays finite
}


@dataclass
class FitRequest:
    path: str
    law: str = "chinchilla"
    method: str = "parametric"
    search: str = "grid"  # parametric starts: Hoffmann's grid, or variable projection over the exponents
    columns: dict[str, str] = field(default_factory=dict)
    where: list[str] = field(default_factory=list)
    join: str | None = None
    group: str | None = None  # the run column (None: detected by name; "none": resample rows)
    fixed: dict[str, float] = field(default_factory=dict)
    bootstrap: int = 0
    seed: int = 0
    holdout: str | None = None
    average_duplicates: bool = False
    name: str | None = None
    dataset: str | None = None
    command: str = ""
    level: float = 0.9
    strict: bool = False  # refuse (exit 2) a fit the data do not identify instead of warning
    laws: tuple[str, ...] = ()  # several families: compare them out of sample (needs holdout)

    def __post_init__(self) -> None:
        if not self.laws:
            self.laws = (self.law,)
        self.law = self.laws[0]
        choices = fit_variants()
        for law in self.laws:
            if law not in choices:
                raise InputError(f"--law must be one of {', '.join(choices)} for a fit, got {law!r}")
        if len(set(self.laws)) != len(self.laws):
            raise InputError("--law: each family once")
        if len(self.laws) > 1:
            if self.holdout is None:
                raise InputError(
                    "several --law values compare families out of sample: add --holdout EXPR "
                    '(e.g. --holdout "params>7e9")'
                )
            if self.bootstrap:
                raise InputError("--bootstrap takes one --law; compare families first, then refit the one")
            if self.method != "parametric":
                raise InputError("several --law values compare parametric fits; drop --method isoflop")
        if self.search not in SEARCHES:
            raise InputError(f"--search must be {' or '.join(SEARCHES)}, got {self.search!r}")
        if self.method not in METHODS:
            raise InputError(f"--method must be parametric or isoflop, got {self.method!r}")
        if self.method == "isoflop" and self.law != "chinchilla":
            raise InputError(
                "--method isoflop fits the compute-optimal frontier; use it with --law chinchilla"
            )
        if (
            isinstance(self.bootstrap, bool)
            or not isinstance(self.bootstrap, int)
            or not (0 <= self.bootstrap <= MAX_BOOTSTRAP)
        ):
            raise InputError(
                f"--bootstrap must be a whole number from 0 to {MAX_BOOTSTRAP:,} draws "
                f"(got {self.bootstrap}): each draw refits the law; {MAX_BOOTSTRAP:,} draws already give "
                "stable 95 % intervals"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(f"--seed must be a whole number >= 0 (got {self.seed}), e.g. --seed 1")


def _num(x: float) -> str:
    """A number for a message: 1e9 rather than 1e+09."""
    return f"{x:.6g}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")


def _check_pin(family: Family, name: str, value: float) -> None:
    """A pinned value must lie in its kind's plausible range (PIN_RANGES): the kind comes from the
    family's parameter schema (a signed parameter is a critical-batch exponent, which may fall,
    stay or grow)."""
    kinds = {p.name: p.kind for p in family.params}
    if kinds.get(name) == "exponent":
        kind, what = "exponent", "a loss exponent"
    elif kinds.get(name) == "signed":
        kind, what = "signed exponent", "a critical-batch exponent"
    else:
        kind, what = "scale", "a scale"
    lo, hi, closed = PIN_RANGES[kind]
    inside = math.isfinite(value) and (lo <= value if closed else lo < value) and value <= hi
    if not inside:
        span = f"from {_num(lo)} to {_num(hi)}" if closed else f"above {_num(lo)} and at most {_num(hi)}"
        raise InputError(f"--fix {name}={_num(value)}: {name}, {what}, must be {span}")


def parse_fixed(items: list[str]) -> dict[str, float]:
    from scalecli.units import parse_number

    out = {}
    for item in items:
        if "=" not in item:
            raise InputError(f"--fix {item!r}: write NAME=VALUE, e.g. --fix E=1.69")
        name, value = (x.strip() for x in item.split("=", 1))
        out[name] = parse_number(value, f"--fix {name}", positive=False)
    return out


@dataclass
class FittedParam:
    """One fitted parameter, as lmfit's ``Parameter``: its value, the bounds the optimiser kept it
    in, whether it was pinned (--fix), its asymptotic standard error and its bootstrap interval."""

    name: str
    value: float
    stderr: float | None = None  # None: not estimable (or pinned: 0)
    interval: tuple[float, float] | None = None  # bootstrap percentile interval at the fit's level
    pinned: bool = False
    bounds: tuple[float | None, float | None] = (None, None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "stderr": self.stderr,
            "interval": None if self.interval is None else list(self.interval),
            "pinned": self.pinned,
            "bounds": list(self.bounds),
        }


@dataclass
class FitCurves:
    """What ``--plot`` draws: the fitted runs (one array per input of the form, in its role order),
    their loss, and the fitted form."""

    roles: tuple[str, ...]
    inputs: list[np.ndarray]
    loss: np.ndarray
    fit: Any  # parametric.FitResult


@dataclass
class FitReport:
    """The outcome of ``scale fit``: the preset written (``law``), the fitted parameters and the
    diagnostics. ``to_dict()`` is the JSON payload of CLI.md."""

    method: str  # parametric or isoflop
    law: dict[str, Any]  # the preset mapping, what --out writes
    points: int
    parameters: dict[str, FittedParam] = field(default_factory=dict)
    objective: float | None = None
    best_basin_starts: int | None = None
    starts: int | None = None
    grid_size: int | None = None
    intervals: dict[str, Any] | None = None
    holdout: list[dict[str, float]] | None = None
    holdout_summary: dict[str, Any] | None = None
    residuals: dict[str, float] | None = None
    regime: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    other_forms: dict[str, dict[str, float]] = field(default_factory=dict)
    isoflop: dict[str, Any] | None = None
    curves: FitCurves | None = field(default=None, repr=False)

    @property
    def standard_errors(self) -> dict[str, float | None]:
        return {name: p.stderr for name, p in self.parameters.items()}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "scalecli_version": __version__,
            "method": self.method,
            "law": self.law,
            "objective": self.objective,
            "points": self.points,
            "best_basin_starts": self.best_basin_starts,
            "intervals": self.intervals,
            "holdout": self.holdout,
            "isoflop": self.isoflop,
            "warnings": self.warnings,
        }
        if self.method == "parametric":
            out.update(
                standard_errors=self.standard_errors,
                starts=self.starts,
                grid_size=self.grid_size,
                residuals=self.residuals,
                holdout_summary=self.holdout_summary,
                regime=self.regime,
                other_forms=self.other_forms,
                parameters={name: p.to_dict() for name, p in self.parameters.items()},
            )
        return out


@dataclass
class FitComparison:
    """Several families fitted on the same rows and scored on the held-out rows."""

    holdout_expression: str
    entries: list[dict[str, Any]]
    best: str
    rows: dict[str, int]
    criterion: str = "smallest mean absolute relative error on the held-out rows"

    def to_dict(self) -> dict[str, Any]:
        return {
            "scalecli_version": __version__,
            "method": "parametric",
            "holdout_expression": self.holdout_expression,
            "comparison": self.entries,
            "best": self.best,
            "criterion": self.criterion,
            "rows": self.rows,
        }


def fit_runs(req: FitRequest, progress=None) -> FitReport | FitComparison:
    """Run the fit: a FitReport (one law), or a FitComparison (several --law with --holdout)."""
    table = read_runs(req.path, columns=req.columns, where=req.where, join=req.join, group=req.group)
    try:
        if req.method == "isoflop":
            return _isoflop(req, table, progress)
        if len(req.laws) > 1:
            return _compare(req, table)
        return _parametric(req, table, progress)
    except (OverflowError, FloatingPointError, ZeroDivisionError, np.linalg.LinAlgError) as exc:
        what = "isoflop" if req.method == "isoflop" else " and ".join(req.laws)
        raise InputError(
            f"the {what} fit of {Path(req.path).name!r} failed in double-precision arithmetic "
            f"({type(exc).__name__}: {exc}): the data or the pinned values drive a parameter out of range; "
            "check the columns (--columns), the filters (--where) and --fix"
        ) from None


# ----- parametric ----------------------------------------------------------------------------------
def _variant(law: str) -> tuple[Family, FitVariant]:
    return fit_variants()[law]


def _forms(req: FitRequest, table: RunTable) -> list[FitForm]:
    """The variant's forms these columns can fit, in its order of preference."""
    _, variant = _variant(req.law)
    forms = [fit_form(name) for name in variant.forms]
    purpose = f"a {req.law} fit" + (f" ({variant.needs})" if variant.needs else "")
    common = [r for r in forms[0].roles if all(r in f.roles for f in forms)]
    require(table, [*common, "loss"], purpose)
    usable = [f for f in forms if all(table.has(r) for r in f.roles)]
    if not usable:
        require(table, list(forms[0].roles), purpose)
    return usable


def _known_params(req: FitRequest, forms: list[FitForm]) -> set[str]:
    family, _ = _variant(req.law)
    return {p for form in forms for p in form.display} | set(family.default_pins)


def _check_fixed(req: FitRequest, forms: list[FitForm]) -> None:
    from scalecli.errors import suggest

    family, _ = _variant(req.law)
    known = _known_params(req, forms)
    for name, value in req.fixed.items():
        if name not in known:
            raise InputError(
                f"--fix: {req.law} has no parameter {name!r}{suggest(name, known)}; "
                f"parameters: {', '.join(sorted(known))}"
            )
        _check_pin(family, name, value)
    for form in forms:
        if all(p in req.fixed for p in form.display):
            raise InputError(
                f"--fix pins every parameter of the {form.name} law ({', '.join(form.display)}): "
                "nothing left to fit; pin fewer parameters"
            )


def _resampled(req: FitRequest, table: RunTable) -> dict[str, Any]:
    """What the bootstrap resampled: whole runs (by a run column) or rows."""
    if table.groups is None:
        return {"unit": "rows", "rows": table.rows_used}
    return {
        "unit": "runs",
        "runs": table.runs,
        "rows": table.rows_used,
        "column": table.group_column,
        "column_from": "--group" if req.group else "detected by name",
    }


def _parametric(req: FitRequest, table: RunTable, progress) -> FitReport:
    from scalecli.fitting import bootstrap as boot
    from scalecli.fitting import parametric

    family, variant = _variant(req.law)
    pins = {**family.default_pins, **req.fixed}
    forms = _forms(req, table)
    _check_fixed(req, forms)
    primary = forms[0]
    if req.average_duplicates:
        table = average_duplicates(table, list(primary.roles))
    fit_table, held = split_holdout(table, req.holdout) if req.holdout else (table, None)
    if req.bootstrap * fit_table.rows_used > MAX_BOOTSTRAP_WORK:
        rows = fit_table.rows_used
        work, most = req.bootstrap * rows, max(1, int(MAX_BOOTSTRAP_WORK // rows))
        raise InputError(
            f"--bootstrap {req.bootstrap} on {rows:,} rows is {work:,.0f} draw-rows; the limit "
            f"is {MAX_BOOTSTRAP_WORK:,.0f} (each draw refits every row): use at most {most:,} draws, or "
            "average the rows (--average-duplicates, --where)"
        )
    prepared = variant.prepare(fit_table.values, pins) if variant.prepare is not None else None
    if prepared is not None:
        values, note = prepared
        fit_table = replace(fit_table, values=dict(values), derived=[*fit_table.derived, note])
    results = {}
    for form in forms:
        fixed = {k: v for k, v in req.fixed.items() if k in form.display}
        free = len(form.display) - len(fixed)
        if fit_table.rows_used < free:
            raise InputError(
                f"data file {req.path!r}: {fit_table.rows_used} usable row(s), but the {form.name} law has "
                f"{free} free parameters: at least {free} rows are needed"
            )
        _check_identifiable(req, fit_table, form, free)
        _check_pinned_e(fixed, fit_table)
        search = parametric.fit_projected if req.search == "projection" else parametric.fit
        results[form.name] = search(
            form.name, [fit_table[r] for r in form.roles], fit_table["loss"], fixed=fixed
        )
    best = results[primary.name]
    _check_falls(primary, best.params)
    inputs = [fit_table[r] for r in primary.roles]
    predicted = best.predict(inputs)
    holdout_rows = None
    holdout_summary: dict[str, Any] | None = None
    if held is not None:
        if prepared is not None and variant.predict is not None:  # the law's own answer (implicit laws)
            held_pred = variant.predict(best.params, held.values, pins)
        else:
            held_pred = best.predict([held[r] for r in primary.roles])
        holdout_rows = diagnose.holdout_rows(held.lines, held["loss"], held_pred)
        holdout_summary = dict(diagnose.residual_summary(held["loss"], held_pred))
        holdout_summary["by_params"] = diagnose.final_errors(held, held_pred)

    fitted = {name: r.params for name, r in results.items()}
    params = family.preset_params(fitted, pins) if family.preset_params else dict(best.params)
    draws: list[dict[str, float]] = []
    intervals = None
    spans: dict[str, tuple[float, float]] = {}
    if req.bootstrap:
        raw = boot.bootstrap(
            primary.name,
            inputs,
            fit_table["loss"],
            best,
            req.bootstrap,
            req.seed,
            fixed={k: v for k, v in req.fixed.items() if k in primary.display},
            progress=progress,
            groups=fit_table.groups,
        )
        draws = [{**params, **d} for d in raw]
        spans = boot.intervals(raw, req.level)
        intervals = {"level": req.level, **{k: [float(lo), float(hi)] for k, (lo, hi) in spans.items()}}

    regime = diagnose.regime_reading({name: (best.params[name], what) for name, _, what in primary.exponents})
    unidentified = diagnose.identification(
        best.params,
        best.standard_errors,
        best.fixed,
        fit_table["loss"],
        {r: fit_table[r] for r in primary.roles if r != "batch_tokens"},
    )
    if unidentified and req.strict:
        raise InputError(
            "the fit is not identified ("
            + "; ".join(unidentified)
            + "); --strict refuses to write it: add runs "
            "at more sizes and budgets, or pin parameters with --fix"
        )
    warnings = [f"not identified: {w}" for w in unidentified] + _warnings(family, primary, best.params)
    standard_errors = {k: _finite(v) for k, v in best.standard_errors.items()}
    fit_block = {
        "method": "parametric",
        "form": primary.name,
        "forms": [f.name for f in forms],
        **_provenance(req, table, fit_table),
        "objective": best.objective,
        "search": req.search,
        "points": best.points,
        "starts": best.starts,
        "grid_size": best.grid_size,
        "screen_points": best.screen_points,  # points the starts were ranked on (parametric.py)
        "best_basin_starts": best.best_basin_starts,
        "standard_errors": standard_errors,
        "intervals": intervals,
        "resampled": _resampled(req, fit_table) if req.bootstrap else None,
        "residuals": diagnose.residual_summary(fit_table["loss"], predicted),
        "holdout": {"expression": req.holdout, **holdout_summary} if holdout_summary else None,
        "regime": [r["reading"] for r in regime],
        "identified": not unidentified,
        "warnings": warnings,
    }
    if family.fit_readings is not None:
        fit_block.update(family.fit_readings(primary.name, best.params))
    flops_range = _flops_range(fit_table, family.make(params, "fitted").train_flops)
    preset = _preset(req, table, params, flops_range, fit_block, draws)
    return FitReport(
        method="parametric",
        law=preset,
        points=best.points,
        parameters={
            name: FittedParam(
                name,
                value,
                standard_errors.get(name),
                spans.get(name),
                name in best.fixed,
                _bounds(primary, name),
            )
            for name, value in best.params.items()
        },
        objective=best.objective,
        best_basin_starts=best.best_basin_starts,
        starts=best.starts,
        grid_size=best.grid_size,
        intervals=intervals,
        holdout=holdout_rows,
        holdout_summary=holdout_summary,
        residuals=fit_block["residuals"],
        regime=regime,
        warnings=warnings,
        other_forms={f: r.params for f, r in results.items() if f != primary.name},
        curves=FitCurves(primary.roles, inputs, fit_table["loss"], best),
    )


def _bounds(form: FitForm, name: str) -> tuple[float | None, float | None]:
    """The optimiser's bounds on a natural parameter: a scale is > 0, a floored exponent at least
    its floor, the rest unbounded."""
    i = form.natural.index(name)
    if form.log_scale[i]:
        return (0.0, None)
    return (form.floor(i), None)


ROLE_PLURAL = {"params": "model sizes", "tokens": "token counts", "steps": "step counts"}


def _rows(table: RunTable, req: FitRequest) -> str:
    n = table.rows_used
    where = " outside --holdout" if req.holdout else ""
    return f"the {n} row{where} has" if n == 1 else f"all {n} rows{where} have"


def _check_identifiable(req: FitRequest, table: RunTable, form: FitForm, free: int) -> None:
    """Refuse data the law cannot be identified from (module docstring), before fitting."""
    roles = form.roles
    for role in roles[:2]:  # params and the second input (tokens or steps); a batch may be constant
        values = table[role]
        if np.all(values == values[0]):
            raise InputError(
                f"data file {req.path!r}: {_rows(table, req)} the same {role} ({_num(values[0])}): "
                f"a {req.law} fit needs runs at 2 or more {ROLE_PLURAL.get(role, role + ' values')}"
            )
    loss = table["loss"]
    if np.all(loss == loss[0]):
        raise InputError(
            f"data file {req.path!r}: {_rows(table, req)} the same loss ({_num(loss[0])}): there is nothing "
            "to fit; check the loss column (--columns loss=HEADER) and the filters"
        )
    points = np.unique(np.stack([table[r] for r in roles], axis=1), axis=0).shape[0]
    if points < free:
        raise InputError(
            f"data file {req.path!r}: the {table.rows_used} rows hold only {points} distinct "
            f"({', '.join(roles)}) points, but the {form.name} law has {free} free parameters: add runs at "
            "other sizes, or pin parameters with --fix"
        )


def _check_pinned_e(fixed: dict[str, float], table: RunTable) -> None:
    """L = E + positive terms, so a pinned E must lie below every loss fitted."""
    if "E" in fixed:
        low = float(np.min(table["loss"]))
        if not fixed["E"] < low:
            lo = PIN_RANGES["scale"][0]
            raise InputError(
                f"--fix E={_num(fixed['E'])}: the irreducible loss must lie below every loss fitted; "
                f"pin E between {_num(lo)} and {_num(low)} (the smallest loss)"
            )


def _check_falls(form: FitForm, params: dict[str, float]) -> None:
    """A fitted exponent <= 0 (or at its floor, e.g. the Kaplan forms' 1e-6) means the loss does not
    fall with that input in this data: refuse it with the likely causes instead of writing such a law."""
    for name, falls_with, _ in form.exponents:
        floor = form.floor(form.natural.index(name))
        limit = 0.0 if floor is None else floor * (1.0 + 1e-6)
        value = params[name]
        if not value > limit:
            raise InputError(
                f"the loss does not fall with {falls_with} in this data (fitted {name} = {value:.3g}): "
                "check the columns (--columns) and the filters"
            )


def _warnings(family: Family, form: FitForm, params: dict[str, float]) -> list[str]:
    out = family.fit_warnings(form.name, params) if family.fit_warnings is not None else []
    for name, _, _ in form.exponents:
        value = params[name]
        if value <= 1e-3 or value >= 4:
            out.append(f"{name} = {value:.3g} is at an extreme: check the data covers enough scales")
    return out


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _flops_range(table: RunTable, train_flops: Callable[..., Any] = training_flops) -> list[float] | None:
    """The training compute the runs span: the FLOPs column, else the law's compute model of
    (params, tokens) (6·N·D for an isoflop frontier)."""
    if "flops" in table.columns:  # a FLOPs column the user gave
        flops = table["flops"]
    elif table.has("tokens"):
        flops = np.asarray(train_flops(table["params"], table["tokens"]))
    elif table.has("flops"):
        flops = table["flops"]
    else:
        return None
    return [float(flops.min()), float(flops.max())]


def _provenance(req: FitRequest, table: RunTable, fit_table: RunTable) -> dict[str, Any]:
    return {
        "file": Path(req.path).name,
        "sha256": table.sha256,
        "rows_read": table.rows_read,
        "rows_used": fit_table.rows_used,
        "columns": dict(table.columns),
        "derived": list(fit_table.derived),
        "filters": list(req.where),
        "join": Path(req.join).name if req.join else None,
        "averaged_duplicates": table.averaged if req.average_duplicates else None,
        "options": {
            "fixed": dict(req.fixed),
            "bootstrap": req.bootstrap,
            "seed": req.seed,
            "holdout": req.holdout,
            "huber_delta": 1e-3,
        },
        "scalecli_version": __version__,
        "command": req.command,
    }


def _preset(req, table, params, fitted_range, fit_block, draws) -> dict[str, Any]:
    from scalecli.presets import preset_from_mapping

    name = req.name or f"{Path(req.path).stem}-{req.law}"
    mapping: dict[str, Any] = {
        "name": name,
        "family": _variant(req.law)[0].name,
        # what N counts: the family's convention (the data's params are taken to count the same)
        "params_convention": _variant(req.law)[0].params_convention,
        "description": f"fitted by scale fit ({fit_block['method']}) on {Path(req.path).name}",
        "batch": _batch_rule(req, table),
    }
    if "frontier" in params:
        mapping["frontier"] = params["frontier"]
    else:
        mapping["params"] = {k: float(v) for k, v in params.items()}
    if fitted_range:
        mapping["fitted_range"] = {"flops": fitted_range}
    mapping["source"] = {
        "citation": f"scale fit of {Path(req.path).name}",
        "where": f"{fit_block['method']} fit ({fit_block.get('form', 'isoflop')}), "
        f"{fit_block['rows_used']} of {fit_block['rows_read']} rows",
        "convention": "params, tokens and loss as in the data file",
        "dataset": req.dataset or Path(req.path).name,
        "fitted_on": (
            f"{fit_block['rows_used']} rows, C = {fitted_range[0]:.3g} to {fitted_range[1]:.3g} FLOPs"
            if fitted_range
            else f"{fit_block['rows_used']} rows"
        ),
        "command": req.command,
    }
    mapping["fit"] = fit_block
    if draws:
        mapping["draws"] = [{k: float(v) for k, v in d.items()} for d in draws]
    preset_from_mapping(mapping, "the fitted law")  # what we write must load
    return mapping


def _batch_rule(req: FitRequest, table: RunTable) -> dict[str, Any]:
    """The batch regime the data was trained in, as a preset batch rule: fitted to the batch
    column (or to tokens/steps when both are given), else DeepSeek's B(C) as a default."""
    from scalecli.laws.batch import fit_batch_rule

    if table.has("tokens") and (table.has("batch_tokens") or table.has("steps")):
        batch = table["batch_tokens"] if table.has("batch_tokens") else table["tokens"] / table["steps"]
        origin = Path(req.path).name + (f" (joined with {Path(req.join).name})" if req.join else "")
        return fit_batch_rule(table["params"], table["tokens"], batch, origin).to_mapping()
    return {"rule": "deepseek2024"}


# ----- comparing families out of sample ------------------------------------------------------------
def _compare(req: FitRequest, table: RunTable) -> FitComparison:
    """Fit each family on the same rows, predict the held-out rows, and mark the family with the
    smallest mean absolute relative error there (the one that extrapolates best)."""
    known = {}
    for law in req.laws:
        one = replace(req, law=law, laws=(law,))
        known[law] = _known_params(one, _forms(one, table))
    unknown = [k for k in req.fixed if not any(k in names for names in known.values())]
    if unknown:
        raise InputError(f"--fix: no family of {', '.join(req.laws)} has a parameter {unknown[0]!r}")
    entries = []
    held_out = 0
    for law in req.laws:
        pins = {k: v for k, v in req.fixed.items() if k in known[law]}
        report = _parametric(replace(req, law=law, laws=(law,), fixed=pins), table, None)
        held_out = len(report.holdout or [])
        entries.append(
            {
                "law": law,
                "family": report.law["family"],
                "form": report.law["fit"]["form"],
                "params": report.law["params"],
                "objective": report.objective,
                "points": report.points,
                "holdout": report.holdout_summary,
                "warnings": report.warnings,
            }
        )
    best = min(entries, key=lambda e: e["holdout"]["mean_abs_rel_error"])
    assert req.holdout is not None
    return FitComparison(
        holdout_expression=req.holdout,
        entries=entries,
        best=best["law"],
        rows={"fitted": entries[0]["points"], "held_out": held_out},
    )


# ----- isoflop -------------------------------------------------------------------------------------
def _isoflop(req: FitRequest, table: RunTable, progress) -> FitReport:
    from scalecli.fitting.isoflop import fit_isoflop

    require(table, ["params", "flops", "loss"], "an isoflop fit")
    if req.fixed:
        raise InputError("--fix applies to parametric fits, not --method isoflop")
    if req.holdout:
        raise InputError("--holdout applies to parametric fits; an isoflop fit predicts no loss per run")
    fit_table, held = split_holdout(table, req.holdout) if req.holdout else (table, None)
    result = fit_isoflop(
        fit_table["flops"],
        fit_table["params"],
        fit_table["loss"],
        tokens=fit_table["tokens"] if fit_table.has("tokens") else None,
        bootstrap=req.bootstrap,
        seed=req.seed,
        level=req.level,
        progress=progress,
    )
    frontier: dict[str, Any] = {
        "params": {"coef": result.n_coef, "exponent": result.n_exponent},
        "tokens": {"coef": result.tokens_coef, "exponent": result.tokens_exponent},
    }
    used = [o for o in result.optima if not o.edge and o.params is not None]
    c = np.array([o.flops for o in used])
    loss = np.array([o.loss for o in used], dtype=float)
    if np.all(np.isfinite(loss) & (loss > 0)) and np.unique(c).size >= 2:
        slope, intercept = np.polyfit(np.log(c), np.log(loss), 1)
        with np.errstate(all="ignore"):
            coef = float(np.exp(intercept / -slope)) if slope < 0 else math.nan
        if slope < 0 and math.isfinite(coef) and coef > 0:
            # L*(C) = k·C^slope  ->  frontier loss law (coef/C)^e with e = -slope
            frontier["loss"] = {"coef": coef, "exponent": float(-slope)}
    iso = result.to_dict()
    fit_block = {
        "method": "isoflop",
        **_provenance(req, table, fit_table),
        "n_exponent": result.n_exponent,
        "tokens_exponent": result.tokens_exponent,
        "n_exponent_interval": _pair(result.n_exponent_interval),
        "tokens_exponent_interval": _pair(result.tokens_exponent_interval),
        "budgets_used": result.budgets_used,
        "budgets": len(result.optima),
        "n_exponent_central": result.n_exponent_central,
        "warnings": list(result.grid_warnings),
    }
    preset = _preset(req, table, {"frontier": frontier}, _flops_range(fit_table), fit_block, [])
    return FitReport(
        method="isoflop",
        law=preset,
        points=fit_table.rows_used,
        isoflop={
            "n_exponent": result.n_exponent,
            "tokens_exponent": result.tokens_exponent,
            "n_exponent_interval": _pair(result.n_exponent_interval),
            "tokens_exponent_interval": _pair(result.tokens_exponent_interval),
            "level": result.level,
            "budgets_used": result.budgets_used,
            "optima": iso.get("optima"),
            "n_exponent_central": result.n_exponent_central,
        },
        warnings=list(result.grid_warnings),
    )


def _pair(pair) -> list[float] | None:
    return None if pair is None else [float(pair[0]), float(pair[1])]
