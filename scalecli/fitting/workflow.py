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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scalecli import __version__
from scalecli.errors import InputError
from scalecli.fitting import diagnose
from scalecli.fitting.data import RunTable, average_duplicates, read_runs, require, split_holdout

# Kaplan et al. eq. 1.4 (REFERENCE §1.3): final losses at one batch size cannot identify the
# critical batch, so a kaplan fit pins these unless --fix says otherwise.
KAPLAN_CRITICAL_BATCH = {"B_star": 2.0e8, "alpha_B": 0.21}
LAWS = ("chinchilla", "kaplan", "dynamics", "dynamics-batch")
FAMILY = {
    "chinchilla": "chinchilla",
    "kaplan": "kaplan",
    "dynamics": "dynamics",
    "dynamics-batch": "dynamics",
}
METHODS = ("parametric", "isoflop")

# Bootstrap draws a fit may take (module docstring): each is a warm-started refit of the law.
MAX_BOOTSTRAP = 2_000
MAX_BOOTSTRAP_WORK = 10_000_000  # draws x rows: a draw costs ~4 us per row (40 ms at 10,000 rows)
# Plausible ranges of pinned values (--fix): (low, high, low inclusive?) per kind of parameter.
LOSS_EXPONENTS = ("alpha", "beta", "alpha_N", "alpha_D", "alpha_S", "alpha_B")
SIGNED_EXPONENTS = ("B_crit_exp_N", "B_crit_exp_D")  # the critical batch may fall, stay or grow
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
    columns: dict[str, str] = field(default_factory=dict)
    where: list[str] = field(default_factory=list)
    join: str | None = None
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
        for law in self.laws:
            if law not in LAWS:
                raise InputError(f"--law must be one of {', '.join(LAWS)} for a fit, got {law!r}")
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


def _check_pin(name: str, value: float) -> None:
    """A pinned value must lie in its kind's plausible range (PIN_RANGES)."""
    if name in LOSS_EXPONENTS:
        kind, what = "exponent", "a loss exponent"
    elif name in SIGNED_EXPONENTS:
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


def fit_runs(req: FitRequest, progress=None) -> dict[str, Any]:
    """Run the fit; return the CLI.md JSON payload (plus extra fields the report uses)."""
    table = read_runs(req.path, columns=req.columns, where=req.where, join=req.join)
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
def _forms(req: FitRequest, table: RunTable) -> list[tuple[str, str]]:
    """(form, x2 role) pairs to fit for this law and these columns."""
    if req.law == "chinchilla":
        require(table, ["params", "tokens", "loss"], "a chinchilla fit")
        return [("chinchilla", "tokens")]
    if req.law == "dynamics":
        require(table, ["params", "steps", "loss"], "a dynamics fit (steps, or tokens and batch_tokens)")
        return [("dynamics", "steps")]
    if req.law == "dynamics-batch":
        require(table, ["params", "tokens", "batch_tokens", "loss"], "a dynamics-batch fit")
        return [("dynamics_batch", "tokens")]
    require(table, ["params", "loss"], "a kaplan fit")
    forms = []
    if table.has("steps"):
        forms.append(("kaplan_steps", "steps"))
    if table.has("tokens"):
        forms.append(("kaplan_joint", "tokens"))
    if not forms:
        require(table, ["steps"], "a kaplan fit (steps for L(N, S), or tokens for the joint L(N, D))")
    return forms


FORM_PARAMS = {
    "chinchilla": ("E", "A", "B", "alpha", "beta"),
    "dynamics": ("E", "A_N", "alpha", "A_S", "beta"),
    "kaplan_steps": ("N_c", "alpha_N", "S_c", "alpha_S"),
    "kaplan_joint": ("N_c", "alpha_N", "D_c", "alpha_D"),
    "dynamics_batch": ("E", "A_N", "alpha", "A_S", "beta", "B_crit", "B_crit_exp_N", "B_crit_exp_D"),
}


def _check_fixed(req: FitRequest, forms: list[tuple[str, str]]) -> None:
    known = {p for form, _ in forms for p in FORM_PARAMS[form]}
    if req.law == "kaplan":
        known |= set(KAPLAN_CRITICAL_BATCH)
    from scalecli.laws.base import suggest

    for name, value in req.fixed.items():
        if name not in known:
            raise InputError(
                f"--fix: {req.law} has no parameter {name!r}{suggest(name, known)}; "
                f"parameters: {', '.join(sorted(known))}"
            )
        _check_pin(name, value)
    for form, _ in forms:
        if all(p in req.fixed for p in FORM_PARAMS[form]):
            raise InputError(
                f"--fix pins every parameter of the {form} law ({', '.join(FORM_PARAMS[form])}): "
                "nothing left to fit; pin fewer parameters"
            )


def _parametric(req: FitRequest, table: RunTable, progress) -> dict[str, Any]:
    from scalecli.fitting import bootstrap as boot
    from scalecli.fitting import parametric

    forms = _forms(req, table)
    _check_fixed(req, forms)
    primary_form, x2_role = forms[0]
    if req.average_duplicates:
        table = average_duplicates(table, list(parametric.roles(primary_form)))
    fit_table, held = split_holdout(table, req.holdout) if req.holdout else (table, None)
    if req.bootstrap * fit_table.rows_used > MAX_BOOTSTRAP_WORK:
        rows = fit_table.rows_used
        work, most = req.bootstrap * rows, max(1, int(MAX_BOOTSTRAP_WORK // rows))
        raise InputError(
            f"--bootstrap {req.bootstrap} on {rows:,} rows is {work:,.0f} draw-rows; the limit "
            f"is {MAX_BOOTSTRAP_WORK:,.0f} (each draw refits every row): use at most {most:,} draws, or "
            "average the rows (--average-duplicates, --where)"
        )
    critical = _kaplan_critical_batch(req, fit_table) if primary_form == "kaplan_steps" else None
    if critical is not None:
        fit_table = critical
    results = {}
    for form, _role in forms:
        fixed = {k: v for k, v in req.fixed.items() if k in FORM_PARAMS[form]}
        free = len(FORM_PARAMS[form]) - len(fixed)
        if fit_table.rows_used < free:
            raise InputError(
                f"data file {req.path!r}: {fit_table.rows_used} usable row(s), but the {form} law has "
                f"{free} free parameters: at least {free} rows are needed"
            )
        _check_identifiable(req, fit_table, form, free)
        _check_pinned_e(fixed, fit_table)
        results[form] = parametric.fit(
            form, [fit_table[r] for r in parametric.roles(form)], fit_table["loss"], fixed=fixed
        )
    best = results[primary_form]
    _check_falls(primary_form, best.params)
    predicted = best.predict([fit_table[r] for r in parametric.roles(primary_form)])
    payload_holdout = None
    holdout_summary = None
    if held is not None:
        if critical is not None:  # the law's own answer at each row's batch (implicit in L)
            held_pred = _kaplan_at_batch(req, best.params, held)
        else:
            held_pred = best.predict([held[r] for r in parametric.roles(primary_form)])
        payload_holdout = diagnose.holdout_rows(held.lines, held["loss"], held_pred)
        holdout_summary = diagnose.residual_summary(held["loss"], held_pred)
        holdout_summary["by_params"] = diagnose.final_errors(held, held_pred)

    params = _preset_params(req, results)
    draws: list[dict[str, float]] = []
    intervals = None
    if req.bootstrap:
        primary_fixed = {k: v for k, v in req.fixed.items() if k in FORM_PARAMS[primary_form]}
        raw = boot.bootstrap(
            primary_form,
            [fit_table[r] for r in parametric.roles(primary_form)],
            fit_table["loss"],
            best,
            req.bootstrap,
            req.seed,
            fixed=primary_fixed,
            progress=progress,
        )
        draws = [{**params, **d} for d in raw]
        spans = boot.intervals(raw, req.level)
        intervals = {"level": req.level, **{k: [float(lo), float(hi)] for k, (lo, hi) in spans.items()}}

    regime = diagnose.regime_reading(_exponents(primary_form, best.params))
    unidentified = diagnose.identification(
        best.params,
        best.standard_errors,
        best.fixed,
        fit_table["loss"],
        {r: fit_table[r] for r in parametric.roles(primary_form) if r != "batch_tokens"},
    )
    if unidentified and req.strict:
        raise InputError(
            "the fit is not identified ("
            + "; ".join(unidentified)
            + "); --strict refuses to write it: add runs "
            "at more sizes and budgets, or pin parameters with --fix"
        )
    warnings = [f"not identified: {w}" for w in unidentified] + _warnings(primary_form, best.params)
    fitted_range = _flops_range(fit_table)
    fit_block = {
        "method": "parametric",
        "form": primary_form,
        "forms": [f for f, _ in forms],
        **_provenance(req, table, fit_table),
        "objective": best.objective,
        "points": best.points,
        "starts": best.starts,
        "grid_size": best.grid_size,
        "screen_points": best.screen_points,  # points the starts were ranked on (parametric.py)
        "best_basin_starts": best.best_basin_starts,
        "standard_errors": {k: _finite(v) for k, v in best.standard_errors.items()},
        "intervals": intervals,
        "residuals": diagnose.residual_summary(fit_table["loss"], predicted),
        "holdout": {"expression": req.holdout, **holdout_summary} if holdout_summary else None,
        "regime": [r["reading"] for r in regime],
        "identified": not unidentified,
        "warnings": warnings,
    }
    if FAMILY[req.law] == "dynamics":
        a, b = 1.0 + best.params["alpha"], best.params["alpha"] / best.params["beta"]
        fit_block["spectral"] = {"a": a, "b": b}
    preset = _preset(req, table, params, fitted_range, fit_block, draws)
    return {
        "scalecli_version": __version__,
        "method": "parametric",
        "law": preset,
        "objective": best.objective,
        "points": best.points,
        "best_basin_starts": best.best_basin_starts,
        "intervals": intervals,
        "holdout": payload_holdout,
        "isoflop": None,
        "standard_errors": fit_block["standard_errors"],
        "starts": best.starts,
        "grid_size": best.grid_size,
        "residuals": fit_block["residuals"],
        "holdout_summary": holdout_summary,
        "regime": regime,
        "warnings": warnings,
        "other_forms": {f: r.params for f, r in results.items() if f != primary_form},
        "_plot": {
            "form": primary_form,
            "x2_role": x2_role,
            "params": fit_table["params"],
            "x2": fit_table[x2_role],
            "loss": fit_table["loss"],
            "fit": best,
        },
    }


ROLE_PLURAL = {"params": "model sizes", "tokens": "token counts", "steps": "step counts"}


def _rows(table: RunTable, req: FitRequest) -> str:
    n = table.rows_used
    where = " outside --holdout" if req.holdout else ""
    return f"the {n} row{where} has" if n == 1 else f"all {n} rows{where} have"


def _check_identifiable(req: FitRequest, table: RunTable, form: str, free: int) -> None:
    """Refuse data the law cannot be identified from (module docstring), before fitting."""
    from scalecli.fitting import parametric

    roles = parametric.roles(form)
    for role in roles[:2]:  # params and the second input (tokens or steps); a batch may be constant
        values = table[role]
        if np.all(values == values[0]):
            raise InputError(
                f"data file {req.path!r}: {_rows(table, req)} the same {role} ({_num(values[0])}): "
                f"a {req.law} fit needs runs at 2 or more {ROLE_PLURAL[role]}"
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
            f"({', '.join(roles)}) points, but the {form} law has {free} free parameters: add runs at "
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


FALLS_WITH = {
    "alpha": "params",
    "alpha_N": "params",
    "beta": "tokens",
    "alpha_D": "tokens",
    "alpha_S": "steps",
}


def _check_falls(form: str, params: dict[str, float]) -> None:
    """A fitted exponent <= 0 (or at the Kaplan forms' floor, 1e-6) means the loss does not fall with
    that input in this data: refuse it with the likely causes instead of writing such a law."""
    from scalecli.fitting.parametric import _EXP_FLOOR

    floor = _EXP_FLOOR * (1.0 + 1e-6) if form.startswith("kaplan") else 0.0
    for name, value in params.items():
        if name in FALLS_WITH and not value > floor:
            role = "steps" if name == "beta" and form == "dynamics" else FALLS_WITH[name]
            raise InputError(
                f"the loss does not fall with {role} in this data (fitted {name} = {value:.3g}): "
                "check the columns (--columns) and the filters"
            )


def _kaplan_critical_batch(req: FitRequest, table: RunTable) -> RunTable | None:
    """Kaplan et al. fit L(N, S_min) with S_min = S/(1 + B_crit(L)/B) (eq. 5.4), B_crit(L) of eq. 1.4
    at each run's loss. With a batch column we do the same; without one, steps are taken as S_min."""
    if not (table.has("steps") and table.has("batch_tokens")):
        return None
    from dataclasses import replace

    b_star = req.fixed.get("B_star", KAPLAN_CRITICAL_BATCH["B_star"])
    alpha_b = req.fixed.get("alpha_B", KAPLAN_CRITICAL_BATCH["alpha_B"])
    with np.errstate(all="ignore"):
        b_crit = b_star / table["loss"] ** (1.0 / alpha_b)
        s_min = table["steps"] / (1.0 + b_crit / table["batch_tokens"])
    if not np.all(np.isfinite(s_min) & (s_min > 0)):
        raise InputError(
            f"the critical batch B_crit = {_num(b_star)}/L^(1/{_num(alpha_b)}) (Kaplan eq. 1.4) leaves no "
            "finite positive steps S_min at these losses; pin B_star and alpha_B nearer Kaplan's "
            f"{_num(KAPLAN_CRITICAL_BATCH['B_star'])} and {_num(KAPLAN_CRITICAL_BATCH['alpha_B'])}"
        )
    note = (
        "steps = S_min = S/(1 + B_crit(loss)/batch) (Kaplan eq. 5.4; "
        f"B_crit = {b_star:.3g}/L^(1/{alpha_b:g}), eq. 1.4, at each row's loss)"
    )
    return replace(table, values={**table.values, "steps": s_min}, derived=[*table.derived, note])


def _kaplan_at_batch(req: FitRequest, params: dict[str, float], held: RunTable) -> np.ndarray:
    from scalecli.laws.kaplan import KaplanLaw

    law = KaplanLaw({**params, **{k: req.fixed.get(k, v) for k, v in KAPLAN_CRITICAL_BATCH.items()}})
    return law.loss_at_batch(held["params"], held["steps"], held["batch_tokens"])


def _preset_params(req: FitRequest, results: dict) -> dict[str, float]:
    """The preset's parameters: the primary form's. A kaplan fit with steps writes L(N, S) with
    the pinned critical batch; its joint L(N, D) fit is reported (``other_forms``), not written,
    because plan and predict use one law."""
    primary = next(iter(results.values()))
    out = dict(primary.params)
    if primary.form == "kaplan_steps":
        out.update({k: req.fixed.get(k, v) for k, v in KAPLAN_CRITICAL_BATCH.items()})
    return out


def _exponents(form: str, params: dict[str, float]) -> dict[str, tuple[float, str]]:
    if form == "chinchilla":
        return {"alpha": (params["alpha"], "parameters"), "beta": (params["beta"], "tokens")}
    if form == "dynamics":
        return {"alpha": (params["alpha"], "parameters"), "beta": (params["beta"], "steps")}
    if form == "dynamics_batch":
        return {
            "alpha": (params["alpha"], "parameters"),
            "beta": (params["beta"], "steps at the critical batch"),
        }
    if form == "kaplan_steps":
        return {"alpha_N": (params["alpha_N"], "parameters"), "alpha_S": (params["alpha_S"], "steps")}
    return {"alpha_N": (params["alpha_N"], "parameters"), "alpha_D": (params["alpha_D"], "tokens")}


def _warnings(form: str, params: dict[str, float]) -> list[str]:
    out = []
    if form in ("dynamics", "dynamics_batch"):
        b = params["alpha"] / params["beta"]
        if b <= 1:
            out.append(
                f"implied spectral exponent b = alpha/beta = {b:.3g} <= 1: outside the theory's b > 1 "
                "regime (Bordelon et al. 2024)"
            )
    for name, value in params.items():
        if (name.startswith("alpha") or name == "beta") and name in params:
            if value <= 1e-3 or value >= 4:
                out.append(f"{name} = {value:.3g} is at an extreme: check the data covers enough scales")
    return out


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _flops_range(table: RunTable) -> list[float] | None:
    if table.has("flops"):
        flops = table["flops"]
    elif table.has("tokens"):
        flops = 6.0 * table["params"] * table["tokens"]
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
        "family": FAMILY[req.law],
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
def _compare(req: FitRequest, table: RunTable) -> dict[str, Any]:
    """Fit each family on the same rows, predict the held-out rows, and mark the family with the
    smallest mean absolute relative error there (the one that extrapolates best)."""
    from dataclasses import replace

    known = {
        law: {p for form, _ in _forms(replace(req, law=law, laws=(law,)), table) for p in FORM_PARAMS[form]}
        | (set(KAPLAN_CRITICAL_BATCH) if law == "kaplan" else set())
        for law in req.laws
    }
    unknown = [k for k in req.fixed if not any(k in names for names in known.values())]
    if unknown:
        raise InputError(f"--fix: no family of {', '.join(req.laws)} has a parameter {unknown[0]!r}")
    entries = []
    held_out = 0
    for law in req.laws:
        pins = {k: v for k, v in req.fixed.items() if k in known[law]}
        result = _parametric(replace(req, law=law, laws=(law,), fixed=pins), table, None)
        held_out = len(result["holdout"])
        entries.append(
            {
                "law": law,
                "family": FAMILY[law],
                "form": result["law"]["fit"]["form"],
                "params": result["law"]["params"],
                "objective": result["objective"],
                "points": result["points"],
                "holdout": result["holdout_summary"],
                "warnings": result["warnings"],
            }
        )
    best = min(entries, key=lambda e: e["holdout"]["mean_abs_rel_error"])
    return {
        "scalecli_version": __version__,
        "method": "parametric",
        "holdout_expression": req.holdout,
        "comparison": entries,
        "best": best["law"],
        "criterion": "smallest mean absolute relative error on the held-out rows",
        "rows": {"fitted": entries[0]["points"], "held_out": held_out},
    }


# ----- isoflop -------------------------------------------------------------------------------------
def _isoflop(req: FitRequest, table: RunTable, progress) -> dict[str, Any]:
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
    }
    preset = _preset(req, table, {"frontier": frontier}, _flops_range(fit_table), fit_block, [])
    return {
        "scalecli_version": __version__,
        "method": "isoflop",
        "law": preset,
        "objective": None,
        "points": fit_table.rows_used,
        "best_basin_starts": None,
        "intervals": None,
        "holdout": None,
        "isoflop": {
            "n_exponent": result.n_exponent,
            "tokens_exponent": result.tokens_exponent,
            "n_exponent_interval": _pair(result.n_exponent_interval),
            "tokens_exponent_interval": _pair(result.tokens_exponent_interval),
            "level": result.level,
            "budgets_used": result.budgets_used,
            "optima": iso.get("optima"),
        },
        "warnings": [],
    }


def _pair(pair) -> list[float] | None:
    return None if pair is None else [float(pair[0]), float(pair[1])]
