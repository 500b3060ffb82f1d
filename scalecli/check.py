"""`scale check`: spec -> requests -> assertions -> report (table, JSON, JUnit XML).

A spec (YAML) holds a plan request and/or a proposed configuration and assertions on them;
its JSON Schema ships as ``check_spec.schema.json`` (``scale check --schema``). Assertions
apply to the proposed configuration when there is one, otherwise to the plan.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from scalecli import __version__
from scalecli.errors import InputError
from scalecli.laws.base import suggest
from scalecli.units import parse_quantity

KINDS = {
    "flops": "flops",
    "target_loss": "loss",
    "gpu_hours": "hours",
    "budget_usd": "usd",
    "usd_per_gpu_hour": "usd",
    "max_loss": "loss",
    "max_cost_usd": "usd",
    "max_gpu_hours": "hours",
    "max_overhead_pct": "percent",
    "min": "ratio",
    "max": "ratio",
    "loss": "ratio",
    "tokens": "ratio",
    "steps": "ratio",
    "mfu": "ratio",
}

ASSERTIONS = (
    "max_loss",
    "max_cost_usd",
    "max_gpu_hours",
    "max_overhead_pct",
    "tokens_per_param",
    "within_fitted_range",
    "max_interval_width",
)
BUDGET_KEYS = ("flops", "gpu_hours", "budget_usd")
MAX_SPEC_BYTES = 1_000_000


def schema_text() -> str:
    return (resources.files("scalecli") / "check_spec.schema.json").read_text(encoding="utf-8")


def schema() -> dict[str, Any]:
    return json.loads(schema_text())


@dataclass
class Spec:
    name: str
    laws: list[str]
    plan: dict[str, Any] | None
    hardware: dict[str, Any] | None
    proposed: dict[str, float] | None
    asserts: dict[str, Any]
    path: str


@dataclass
class Result:
    law: str
    assertion: str
    passed: bool
    measured: float | str | None
    bound: str
    detail: str = ""


@dataclass
class Report:
    spec: str
    results: list[Result] = field(default_factory=list)
    plans: list[dict[str, Any]] = field(default_factory=list)
    proposed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scalecli_version": __version__,
            "spec": self.spec,
            "passed": self.passed,
            "failed": sum(not r.passed for r in self.results),
            "results": [asdict(r) for r in self.results],
            "plans": self.plans,
            "proposed": self.proposed,
        }


# ----- the spec ----------------------------------------------------------------------------------
def _keys(mapping: Any, where: str, section: dict[str, Any]) -> dict[str, Any]:
    """Check a mapping's keys against a schema section (did-you-mean on unknown keys)."""
    if not isinstance(mapping, dict):
        raise InputError(f"{where} must be a mapping")
    allowed = section.get("properties", {})
    for key in mapping:
        if key not in allowed:
            raise InputError(
                f"{where}: unknown key {key!r}{suggest(str(key), allowed)}; allowed: {', '.join(allowed)}"
            )
    for key in section.get("required", []):
        if key not in mapping:
            raise InputError(f"{where}: missing {key!r}")
    return mapping


def _numbers(
    mapping: dict[str, Any], where: str, skip: tuple[str, ...] = (), kind: str | None = None
) -> dict[str, Any]:
    out = {}
    for key, value in mapping.items():
        if key in skip:
            out[key] = value
            continue
        zero = key == "inference_tokens" or key == "max_overhead_pct"
        this = kind or ("count" if where in ("proposed", "plan") else KINDS.get(key, "count"))
        if where == "plan":
            this = KINDS.get(key, "count")
        out[key] = parse_quantity(value, f"{where}.{key}", this, allow_zero=zero)
    return out


def load_spec(path: str) -> Spec:
    from scalecli.files import read_text
    from scalecli.yamlio import load_mapping

    data = load_mapping(read_text(path, "spec", MAX_SPEC_BYTES), f"spec {path!r}")
    sch = schema()
    _keys(data, f"spec {path!r}", sch)
    if "plan" not in data and "proposed" not in data:
        raise InputError(f"spec {path!r}: give a 'plan' request, a 'proposed' configuration, or both")
    name = data.get("name", Path(path).stem)
    if not isinstance(name, str):
        raise InputError(f"spec {path!r}: 'name' must be text")
    laws = data.get("law")
    if laws is None:
        laws = []
    elif isinstance(laws, str):
        laws = [laws]
    elif not (isinstance(laws, list) and laws and all(isinstance(x, str) for x in laws)):
        raise InputError(f"spec {path!r}: 'law' must be a preset name, a path, or a list of them")
    base = Path(path).resolve().parent
    laws = [
        str(base / x) if (x.endswith((".yaml", ".yml")) and not Path(x).is_absolute()) else x for x in laws
    ]

    plan = None
    if "plan" in data:
        raw = _keys(data["plan"], "spec plan", sch["properties"]["plan"])
        if "allow_repeats" in raw and not isinstance(raw["allow_repeats"], bool):
            raise InputError("spec plan.allow_repeats must be true or false")
        plan = _numbers(raw, "plan", skip=("allow_repeats",))
        objectives = [k for k in (*BUDGET_KEYS, "target_loss") if k in plan]
        if len(objectives) != 1:
            raise InputError(
                "spec plan: give exactly one of flops, target_loss, gpu_hours, budget_usd "
                f"(got {len(objectives)})"
            )
    hardware = None
    if "hardware" in data:
        raw = _keys(data["hardware"], "spec hardware", sch["properties"]["hardware"])
        hardware = {
            "gpu": raw["gpu"] if isinstance(raw["gpu"], str) else _bad("hardware.gpu", "a name"),
            "mfu": parse_quantity(raw["mfu"], "hardware.mfu", "ratio"),
            "gpus": raw.get("gpus", 1),
            "usd_per_gpu_hour": None
            if "usd_per_gpu_hour" not in raw
            else parse_quantity(raw["usd_per_gpu_hour"], "hardware.usd_per_gpu_hour", "usd"),
            "precision": raw.get("precision", "bf16"),
        }
        if not isinstance(hardware["gpus"], int) or isinstance(hardware["gpus"], bool):
            _bad("hardware.gpus", "a whole number")
    proposed = None
    if "proposed" in data:
        raw = _keys(data["proposed"], "spec proposed", sch["properties"]["proposed"])
        proposed = _numbers(raw, "proposed")
        if ("tokens" in proposed) == ("steps" in proposed):
            raise InputError("spec proposed: give params with exactly one of tokens or steps")
    asserts = _keys(data.get("assert"), "spec assert", sch["properties"]["assert"])
    if not asserts:
        raise InputError("spec assert: give at least one assertion")
    asserts = _parse_asserts(asserts)
    if "max_overhead_pct" in asserts and proposed is None:
        raise InputError("spec assert.max_overhead_pct needs a 'proposed' configuration to compare")
    if ("max_cost_usd" in asserts) and (hardware is None or hardware["usd_per_gpu_hour"] is None):
        raise InputError("spec assert.max_cost_usd needs hardware with gpu, mfu and usd_per_gpu_hour")
    if "max_gpu_hours" in asserts and hardware is None:
        raise InputError("spec assert.max_gpu_hours needs hardware with gpu and mfu")
    if "max_interval_width" in asserts and plan is None:
        raise InputError("spec assert.max_interval_width needs a 'plan' (the interval is the plan's)")
    return Spec(
        name=name, laws=laws, plan=plan, hardware=hardware, proposed=proposed, asserts=asserts, path=str(path)
    )


def _bad(where: str, what: str):
    raise InputError(f"spec {where} must be {what}")


def _parse_asserts(raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "within_fitted_range":
            if not isinstance(value, bool):
                _bad("assert.within_fitted_range", "true or false")
            out[key] = value
        elif key == "tokens_per_param":
            section = schema()["properties"]["assert"]["properties"]["tokens_per_param"]
            _keys(value, "spec assert.tokens_per_param", section)
            if not value:
                _bad("assert.tokens_per_param", "a mapping with min and/or max")
            out[key] = _numbers(value, "assert.tokens_per_param", kind="ratio")
            if "min" in out[key] and "max" in out[key] and out[key]["min"] > out[key]["max"]:
                raise InputError("spec assert.tokens_per_param: min is above max")
        elif key == "max_interval_width":
            if isinstance(value, dict):
                section = schema()["properties"]["assert"]["properties"]["max_interval_width"]["oneOf"][1]
                _keys(value, "spec assert.max_interval_width", section)
                out[key] = _numbers(value, "assert.max_interval_width", kind="ratio")
            else:
                out[key] = {"params": parse_quantity(value, "assert.max_interval_width", "ratio")}
        else:
            out[key] = parse_quantity(
                value, f"assert.{key}", KINDS[key], allow_zero=key == "max_overhead_pct"
            )
    return out


# ----- evaluation ------------------------------------------------------------------------------------
def run(spec: Spec, strict: bool = False) -> Report:
    from scalecli import compute, planner, presets

    hardware = None
    if spec.hardware:
        h = spec.hardware
        hardware = compute.HardwarePlan(
            compute.find_accelerator(h["gpu"]),
            mfu=h["mfu"],
            gpus=h["gpus"],
            usd_per_gpu_hour=h["usd_per_gpu_hour"],
            precision=h["precision"],
        )
    loaded = [presets.load(x) for x in spec.laws] if spec.laws else presets.default_presets()
    report = Report(spec=spec.name)
    request = None
    if spec.plan:
        p = dict(spec.plan)
        budget = compute.budget_flops(
            p.pop("flops", None), p.pop("gpu_hours", None), p.pop("budget_usd", None), hardware
        )
        request = planner.PlanRequest(flops=budget, strict=strict, **p)
    for preset in loaded:
        plan_result = None
        if request is not None:
            plan_result = planner.plan(preset, request)
            if hardware:
                plan_result.add_costs(hardware)
            report.plans.append(plan_result.to_dict())
        subject = plan_result and _plan_subject(plan_result)
        if spec.proposed:
            subject = _proposed_subject(preset, spec, hardware, request)
            report.proposed.append(subject)
        for key, bound in spec.asserts.items():
            report.results.append(_evaluate(key, bound, preset, subject, plan_result))
    return report


def _plan_subject(result) -> dict[str, Any]:
    return {
        "kind": "plan",
        "loss": result.loss,
        "params": result.params,
        "tokens": result.tokens,
        "train_flops": result.train_flops,
        "gpu_hours": result.gpu_hours,
        "cost_usd": result.cost_usd,
        "overhead_pct": 0.0,
    }


def _proposed_subject(preset, spec: Spec, hardware, request) -> dict[str, Any]:
    from scalecli import predict as predicting

    p = spec.proposed
    unique = request.unique_tokens if request else None
    inference = p.get("inference_tokens", request.inference_tokens if request else 0.0)
    pred = predicting.predict(
        preset,
        p["params"],
        tokens=p.get("tokens"),
        steps=p.get("steps"),
        batch_tokens=p.get("batch_tokens"),
        unique_tokens=unique,
        inference_tokens=inference,
    )
    out = {
        "kind": "proposed",
        "law": preset.name,
        "loss": pred.loss,
        "params": pred.params,
        "tokens": pred.tokens,
        "steps": pred.steps,
        "train_flops": pred.train_flops,
        "overhead_pct": pred.overhead_pct,
        "inference_flops": pred.inference_flops or 0.0,
        "gpu_hours": None,
        "cost_usd": None,
    }
    if inference > 0:
        out["overhead_pct"] = pred.lifetime_overhead_pct
        out["overhead_basis"] = "lifetime (training + inference)"
    if hardware:
        costs = hardware.costs(pred.train_flops, out["inference_flops"])
        out["gpu_hours"], out["cost_usd"] = costs["gpu_hours"], costs["cost_usd"]
    return out


def _evaluate(key: str, bound: Any, preset, subject: dict[str, Any], plan_result) -> Result:
    from scalecli import planner

    law = preset.name
    kind = subject["kind"]
    if key in ("max_loss", "max_cost_usd", "max_gpu_hours", "max_overhead_pct"):
        field_name = {
            "max_loss": "loss",
            "max_cost_usd": "cost_usd",
            "max_gpu_hours": "gpu_hours",
            "max_overhead_pct": "overhead_pct",
        }[key]
        value = subject[field_name]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return Result(law, key, False, None, f"<= {bound:g}", f"{kind} has no {field_name} under {law}")
        detail = f"{kind} {field_name}"
        if key == "max_overhead_pct" and subject.get("overhead_basis"):
            detail += f", {subject['overhead_basis']}"
        return Result(law, key, value <= bound, value, f"<= {bound:g}", detail)
    if key == "tokens_per_param":
        ratio = subject["tokens"] / subject["params"]
        ok = bound.get("min", -math.inf) <= ratio <= bound.get("max", math.inf)
        text = " and ".join(f"{'>=' if k == 'min' else '<='} {v:g}" for k, v in bound.items())
        return Result(law, key, ok, ratio, text, f"{kind} tokens/params")
    if key == "within_fitted_range":
        ext = planner.extrapolation(preset, subject["train_flops"])
        if ext is None:
            return Result(
                law,
                key,
                not bound,
                "no fitted range",
                "inside" if bound else "any",
                f"{law} records no fitted compute range",
            )
        inside = ext["direction"] == "inside"
        lo, hi = ext["fitted_range"]
        measured = 0.0 if inside else ext["orders"]
        detail = f"{kind} training compute {subject['train_flops']:.3g} FLOPs; fitted on {lo:.3g} to {hi:.3g}"
        if not inside:
            detail += f" ({ext['orders']:.2f} orders of magnitude {ext['direction']})"
        return Result(law, key, inside or not bound, measured, "inside" if bound else "any", detail)
    if key == "max_interval_width":
        interval = plan_result.interval if plan_result else None
        if not interval:
            return Result(
                law,
                key,
                False,
                None,
                _widths(bound),
                f"{law} carries no bootstrap draws: fit it with scale fit --bootstrap K",
            )
        widths = {f: (interval[f][1] - interval[f][0]) / abs(getattr(plan_result, f)) for f in bound}
        ok = all(widths[f] <= bound[f] for f in bound)
        worst = max(bound, key=lambda f: widths[f] / bound[f])
        return Result(
            law,
            key,
            ok,
            widths[worst],
            _widths(bound),
            "relative widths of the 90% interval: " + ", ".join(f"{f} {w:.3g}" for f, w in widths.items()),
        )
    raise InputError(f"unknown assertion {key!r}")  # pragma: no cover - the spec loader rejects it


def _widths(bound: dict[str, float]) -> str:
    return ", ".join(f"{f} <= {v:g}" for f, v in bound.items())


# ----- JUnit ---------------------------------------------------------------------------------------
_XML_INVALID = None


def xml_text(value: object) -> str:
    """Text that XML 1.0 can carry: control characters (other than tab, newline, carriage return),
    lone surrogates and U+FFFE/U+FFFF become visible escapes like \\x01, so the report always parses."""
    import re

    global _XML_INVALID
    if _XML_INVALID is None:
        _XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
    return _XML_INVALID.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def junit_xml(report: Report) -> str:
    import xml.etree.ElementTree as ET

    failures = sum(not r.passed for r in report.results)
    suite = ET.Element(
        "testsuite",
        name=xml_text(f"scale check {report.spec}"),
        tests=str(len(report.results)),
        failures=str(failures),
        errors="0",
        skipped="0",
    )
    for r in report.results:
        case = ET.SubElement(
            suite, "testcase", classname=xml_text(f"{report.spec}.{r.law}"), name=xml_text(r.assertion)
        )
        detail = f"; {r.detail}" if r.detail else ""
        text = xml_text(f"measured {_fmt(r.measured)}, bound {r.bound}{detail}")
        if r.passed:
            ET.SubElement(case, "system-out").text = text
        else:
            failure = ET.SubElement(case, "failure", message=text, type="AssertionFailed")
            failure.text = text
    root = ET.Element("testsuites", tests=str(len(report.results)), failures=str(failures))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
