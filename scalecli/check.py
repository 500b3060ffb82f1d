"""`scale check`: spec -> requests -> assertions -> report (table, JSON, JUnit XML).

A spec (YAML) holds a plan request and/or a proposed configuration, hardware, and assertions on
them. Its keys come from the two tables: the ``plan:`` and ``hardware:`` keys are the options of
options.OPTIONS (the same as ``scale plan``'s flags), and every numeric plan field of
fields.PLAN_FIELDS can be asserted as ``min_<field>`` / ``max_<field>``; ``scale check --schema``
prints the JSON Schema built from them. Assertions apply to the proposed configuration when
there is one, otherwise to the plan.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scalecli import __version__, fields, options
from scalecli.errors import InputError, ScaleError, as_flag, suggest
from scalecli.units import parse_quantity

OTHER_ASSERTIONS = ("tokens_per_param", "within_fitted_range", "max_interval_width")
MAX_SPEC_BYTES = 1_000_000
NUMBER_PATTERN = "^\\s*[+]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?\\s*[KMBGTPkmbgtp]?\\s*$"
PROPOSED_KEYS = ("params", "tokens", "steps", "batch_tokens", "inference_tokens")


def schema() -> dict[str, Any]:
    """The JSON Schema of a spec, built from options.OPTIONS and fields.PLAN_FIELDS."""
    number = {
        "oneOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "string", "pattern": NUMBER_PATTERN}]
    }
    nonnegative = {"oneOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": NUMBER_PATTERN}]}

    def option_schema(o: options.Option) -> dict[str, Any]:
        if o.kind == "flag":
            out: dict[str, Any] = {"type": "boolean"}
        elif o.kind == "int":
            out = {"type": "integer", "minimum": 1}
        elif o.choices:
            out = {"enum": list(o.choices)}
        elif o.kind == "text":
            out = {"type": "string"}
        else:
            out = {"$ref": "#/$defs/nonnegative" if o.allow_zero else "#/$defs/positive"}
        return {**out, "description": o.help}

    bounds = {
        key: {
            "$ref": "#/$defs/nonnegative",
            "description": f"{'at least' if side == 'min' else 'at most'}: {f.help} ({f.unit})",
        }
        for key, (f, side) in fields.bound_keys().items()
    }
    plan_keys = options.spec_keys("plan")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://scalecli.invalid/check-spec.schema.json",
        "title": "scale check spec",
        "description": "A plan request and/or a proposed training configuration, plus assertions that "
        '`scale check` evaluates. Numbers may be YAML numbers or strings such as "1e23" or "70B".',
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "description": "Shown in the report and as the JUnit suite name."},
            "law": {
                "description": "Preset name or YAML path (relative to the spec file), or a list of them. "
                "Default: the default presets.",
                "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
            },
            "plan": {
                "type": "object",
                "description": "The plan request, as the options of `scale plan`. Exactly one of "
                + ", ".join(k for k in options.OBJECTIVES)
                + ".",
                "additionalProperties": False,
                "properties": {k: option_schema(options.BY_NAME[k]) for k in plan_keys},
            },
            "hardware": {
                "type": "object",
                "description": "Training hardware, and serving hardware (serve_*; default: the training "
                "ones).",
                "additionalProperties": False,
                "required": ["gpu", "mfu"],
                "properties": {k: option_schema(options.BY_NAME[k]) for k in options.spec_keys("hardware")},
            },
            "proposed": {
                "type": "object",
                "description": "The configuration someone wants to run: params and tokens, or params and "
                "steps (with batch_tokens).",
                "additionalProperties": False,
                "required": ["params"],
                "properties": {
                    k: {"$ref": "#/$defs/nonnegative" if k == "inference_tokens" else "#/$defs/positive"}
                    for k in PROPOSED_KEYS
                },
            },
            "compare": {
                "type": "object",
                "description": "Two recipes to compare (scale compare): CSVs of runs or fitted law files, "
                "paths relative to the spec, at a budget or a loss.",
                "additionalProperties": False,
                "required": ["baseline", "candidate"],
                "properties": {
                    "baseline": {"type": "string", "description": "Recipe A: runs CSV or fitted law YAML."},
                    "candidate": {"type": "string", "description": "Recipe B: runs CSV or fitted law YAML."},
                    "flops": {
                        "$ref": "#/$defs/positive",
                        "description": "Budget C: m with L_A(m·C) = L_B(C).",
                    },
                    "target_loss": {"$ref": "#/$defs/positive", "description": "Loss L: m = C_A(L)/C_B(L)."},
                    "law": {
                        "type": "string",
                        "description": "Family fitted to each CSV (default chinchilla).",
                    },
                    "bootstrap": {"type": "integer", "minimum": 0, "description": "Draws of each fit."},
                    "seed": {"type": "integer", "minimum": 0, "description": "Bootstrap seed."},
                    "group": {"type": "string", "description": "Run column of the CSVs."},
                },
            },
            "assert": {
                "type": "object",
                "description": "Bounds on the proposed configuration when there is one, else on the plan: "
                "min_<field> / max_<field> for every numeric field of a plan.",
                "additionalProperties": False,
                "minProperties": 1,
                "properties": {
                    **bounds,
                    "tokens_per_param": {
                        "type": "object",
                        "additionalProperties": False,
                        "minProperties": 1,
                        "properties": {
                            "min": {"$ref": "#/$defs/positive"},
                            "max": {"$ref": "#/$defs/positive"},
                        },
                    },
                    "min_compute_multiplier": {
                        "$ref": "#/$defs/positive",
                        "description": "At least: the compute multiplier of compare.candidate over "
                        "compare.baseline (scale compare).",
                    },
                    "min_compute_multiplier_lower": {
                        "$ref": "#/$defs/positive",
                        "description": "At least: the lower end of the multiplier's 90% bootstrap interval.",
                    },
                    "within_fitted_range": {
                        "type": "boolean",
                        "description": "The training compute lies inside the compute range the preset was "
                        "fitted on.",
                    },
                    "max_interval_width": {
                        "description": "Largest relative width (hi - lo)/value of the plan's 90% interval: a "
                        "number (for params) or a mapping of params, tokens, steps, loss.",
                        "oneOf": [
                            {"$ref": "#/$defs/positive"},
                            {
                                "type": "object",
                                "additionalProperties": False,
                                "minProperties": 1,
                                "properties": {
                                    k: {"$ref": "#/$defs/positive"}
                                    for k in ("params", "tokens", "steps", "loss")
                                },
                            },
                        ],
                    },
                },
            },
        },
        "required": ["assert"],
        "anyOf": [{"required": ["plan"]}, {"required": ["proposed"]}, {"required": ["compare"]}],
        "$defs": {"positive": number, "nonnegative": nonnegative},
    }


def schema_text() -> str:
    return json.dumps(schema(), indent=2)


@dataclass
class Spec:
    name: str
    laws: list[str]
    plan: dict[str, Any] | None
    hardware: dict[str, Any] | None
    proposed: dict[str, float] | None
    asserts: dict[str, Any]
    path: str
    compare: dict[str, Any] | None = None


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
    comparison: dict[str, Any] | None = None

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
            **({"comparison": self.comparison} if self.comparison is not None else {}),
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


def _options(raw: dict[str, Any], section: str) -> dict[str, Any]:
    return {k: options.parse_value(options.BY_NAME[k], v, f"spec {section}.{k}") for k, v in raw.items()}


def load_spec(path: str) -> Spec:
    from scalecli.files import read_text
    from scalecli.yamlio import load_mapping

    data = load_mapping(read_text(path, "spec", MAX_SPEC_BYTES), f"spec {path!r}")
    sch = schema()
    _keys(data, f"spec {path!r}", sch)
    if "plan" not in data and "proposed" not in data and "compare" not in data:
        raise InputError(
            f"spec {path!r}: give a 'plan' request, a 'proposed' configuration or a 'compare' of two recipes"
        )
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
        plan = _options(_keys(data["plan"], "spec plan", sch["properties"]["plan"]), "plan")
        objectives = [k for k in options.OBJECTIVES if k in plan]
        if len(objectives) != 1:
            raise InputError(
                f"spec plan: give exactly one of {', '.join(options.OBJECTIVES)} (got {len(objectives)})"
            )
    hardware = None
    if "hardware" in data:
        hardware = _options(
            _keys(data["hardware"], "spec hardware", sch["properties"]["hardware"]), "hardware"
        )
    proposed = None
    if "proposed" in data:
        raw = _keys(data["proposed"], "spec proposed", sch["properties"]["proposed"])
        proposed = {
            k: parse_quantity(v, f"proposed.{k}", "count", allow_zero=k == "inference_tokens")
            for k, v in raw.items()
        }
        if ("tokens" in proposed) == ("steps" in proposed):
            raise InputError("spec proposed: give params with exactly one of tokens or steps")
    compare = None
    if "compare" in data:
        compare = _compare_section(
            _keys(data["compare"], "spec compare", sch["properties"]["compare"]), Path(path).resolve().parent
        )
    asserts = _parse_asserts(_keys(data.get("assert"), "spec assert", sch["properties"]["assert"]))
    on_compare = [k for k in asserts if k in COMPARE_ASSERTS]
    if on_compare and compare is None:
        raise InputError(f"spec assert.{on_compare[0]} needs a 'compare' section (baseline, candidate)")
    if compare is not None and len(on_compare) < len(asserts) and plan is None and proposed is None:
        other = next(k for k in asserts if k not in COMPARE_ASSERTS)
        raise InputError(f"spec assert.{other} needs a 'plan' or a 'proposed' configuration")
    if not asserts:
        raise InputError("spec assert: give at least one assertion")
    needs_price = [k for k in asserts if "cost_usd" in k]
    needs_gpu = [k for k in asserts if "gpu_hours" in k or k.endswith("_days")]
    if needs_price and (hardware is None or hardware.get("usd_per_gpu_hour") is None):
        raise InputError(f"spec assert.{needs_price[0]} needs hardware with gpu, mfu and usd_per_gpu_hour")
    if needs_gpu and hardware is None:
        raise InputError(f"spec assert.{needs_gpu[0]} needs hardware with gpu and mfu")
    if "max_overhead_pct" in asserts and proposed is None:
        raise InputError("spec assert.max_overhead_pct needs a 'proposed' configuration to compare")
    if "max_interval_width" in asserts and plan is None:
        raise InputError("spec assert.max_interval_width needs a 'plan' (the interval is the plan's)")
    return Spec(
        name=name,
        laws=laws,
        plan=plan,
        hardware=hardware,
        proposed=proposed,
        asserts=asserts,
        path=str(path),
        compare=compare,
    )


COMPARE_ASSERTS = ("min_compute_multiplier", "min_compute_multiplier_lower")


def _compare_section(raw: dict[str, Any], base: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for side in ("baseline", "candidate"):
        if not isinstance(raw[side], str) or not raw[side]:
            _bad(f"compare.{side}", "a path to a runs CSV or a fitted law YAML")
        path = Path(raw[side])
        out[side] = str(path if path.is_absolute() else base / path)
    objectives = [k for k in ("flops", "target_loss") if k in raw]
    if len(objectives) != 1:
        raise InputError("spec compare: give exactly one of flops or target_loss")
    objective = objectives[0]
    kind = "flops" if objective == "flops" else "loss"
    out[objective] = parse_quantity(raw[objective], f"compare.{objective}", kind)
    for name in ("bootstrap", "seed"):
        if name in raw:
            if isinstance(raw[name], bool) or not isinstance(raw[name], int) or raw[name] < 0:
                _bad(f"compare.{name}", "a whole number >= 0")
            out[name] = raw[name]
    for name in ("law", "group"):
        if name in raw:
            if not isinstance(raw[name], str):
                _bad(f"compare.{name}", "text")
            out[name] = raw[name]
    return out


def _bad(where: str, what: str):
    raise InputError(f"spec {where} must be {what}")


def _parse_asserts(raw: dict[str, Any]) -> dict[str, Any]:
    bounds = fields.bound_keys()
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in bounds:
            f, _ = bounds[key]
            out[key] = parse_quantity(value, f"assert.{key}", f.kind, allow_zero=True)
        elif key in COMPARE_ASSERTS:
            out[key] = parse_quantity(value, f"assert.{key}", "ratio")
        elif key == "within_fitted_range":
            if not isinstance(value, bool):
                _bad("assert.within_fitted_range", "true or false")
            out[key] = value
        elif key == "tokens_per_param":
            section = schema()["properties"]["assert"]["properties"]["tokens_per_param"]
            _keys(value, "spec assert.tokens_per_param", section)
            if not value:
                _bad("assert.tokens_per_param", "a mapping with min and/or max")
            out[key] = {
                k: parse_quantity(v, f"assert.tokens_per_param.{k}", "ratio") for k, v in value.items()
            }
            if "min" in out[key] and "max" in out[key] and out[key]["min"] > out[key]["max"]:
                raise InputError("spec assert.tokens_per_param: min is above max")
        elif key == "max_interval_width":
            if isinstance(value, dict):
                section = schema()["properties"]["assert"]["properties"]["max_interval_width"]["oneOf"][1]
                _keys(value, "spec assert.max_interval_width", section)
                out[key] = {
                    k: parse_quantity(v, f"assert.max_interval_width.{k}", "ratio") for k, v in value.items()
                }
            else:
                out[key] = {"params": parse_quantity(value, "assert.max_interval_width", "ratio")}
    return out


def spec_key(name: str) -> str:
    """A field of a library message as a spec names it: hardware.gpus, plan.max_params."""
    option = options.BY_NAME.get(name)
    return f"{option.section}.{option.name}" if option and option.section else as_flag(name)


# ----- evaluation ------------------------------------------------------------------------------------
def run(spec: Spec, strict: bool = False) -> Report:
    """Plan and/or predict with every law of the spec (the same app functions as the CLI) and
    evaluate every assertion; an input error names spec keys, not flags."""
    try:
        return _run(spec, strict)
    except ScaleError as exc:
        raise type(exc)(exc.render(spec_key)) from None


def _run(spec: Spec, strict: bool) -> Report:
    from scalecli import app

    hardware = app.make_hardware(spec.hardware) if spec.hardware else None
    loaded = app.load_laws(spec.laws)
    report = Report(spec=spec.name)
    request = None
    if spec.plan:
        gpus = (spec.hardware or {}).get("gpus")
        request = app.plan_request(
            {**spec.plan, "gpus": gpus, "strict": strict or spec.plan.get("strict", False)}, hardware
        )
    if spec.compare is not None:
        _run_compare(spec, report)
        if request is None and not spec.proposed:
            return report
    for preset in loaded:
        plan_result = None
        subject: dict[str, Any] | None = None
        if request is not None:
            plan_result = app.plan_all([preset], request, hardware)[0]
            report.plans.append(plan_result.to_dict())
            subject = {"kind": "plan", **plan_result.to_dict(), "overhead_pct": 0.0}
        if spec.proposed:
            subject = _proposed_subject(preset, spec, hardware, request)
            report.proposed.append(subject)
        assert subject is not None
        for key, bound in spec.asserts.items():
            if key not in COMPARE_ASSERTS:
                report.results.append(_evaluate(key, bound, preset, subject, plan_result))
    return report


def _run_compare(spec: Spec, report: Report) -> None:
    """The compare section (scale compare) and its assertions, reported under law 'compare'."""
    from scalecli import compare as comparing

    c = dict(spec.compare or {})
    result = comparing.run(
        c.pop("baseline"),
        c.pop("candidate"),
        flops=c.pop("flops", None),
        target_loss=c.pop("target_loss", None),
        **c,
    )
    report.comparison = result.to_dict()
    label = f"{result.baseline} -> {result.candidate}"
    for key in COMPARE_ASSERTS:
        if key not in spec.asserts:
            continue
        bound = spec.asserts[key]
        value = result.multiplier if key == "min_compute_multiplier" else (result.interval or (None, None))[0]
        if value is None:
            report.results.append(
                Result(
                    "compare",
                    key,
                    False,
                    None,
                    f">= {_show(bound)}",
                    "no interval: set compare.bootstrap > 0",
                )
            )
            continue
        what = "compute multiplier" if key == "min_compute_multiplier" else "lower end of its 90% interval"
        report.results.append(
            Result("compare", key, value >= bound, value, f">= {_show(bound)}", f"{label}: {what}")
        )


def _proposed_subject(preset, spec: Spec, hardware, request) -> dict[str, Any]:
    from scalecli import app

    p = dict(spec.proposed or {})
    if request is not None:
        p.setdefault("unique_tokens", request.unique_tokens)
        p.setdefault("inference_tokens", request.inference_tokens)
    pred = app.predict_all([preset], p, hardware)[0]
    out = {"kind": "proposed", **pred.to_dict()}
    out["tokens_per_param"] = pred.tokens / pred.params
    out["inference_flops"] = pred.inference_flops or 0.0
    out["total_flops"] = pred.train_flops + out["inference_flops"]
    if p.get("inference_tokens"):
        out["overhead_pct"] = pred.lifetime_overhead_pct
        out["overhead_basis"] = "lifetime (training + inference)"
    return out


def _evaluate(key: str, bound: Any, preset, subject: dict[str, Any], plan_result) -> Result:
    from scalecli import planner

    law = preset.name
    kind = subject["kind"]
    bounds = fields.bound_keys()
    if key in bounds:
        f, side = bounds[key]
        value = subject.get(f.name)
        text = f"{'>=' if side == 'min' else '<='} {_show(bound)}"
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return Result(law, key, False, None, text, f"{kind} has no {f.name} under {law}")
        ok = value >= bound if side == "min" else value <= bound
        detail = f"{kind} {f.name}: {f.help}"
        if f.name == "overhead_pct" and subject.get("overhead_basis"):
            detail += f", {subject['overhead_basis']}"
        return Result(law, key, bool(ok), value, text, detail)
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


def _show(x: float) -> str:
    from scalecli.units import human_count

    return human_count(x) if abs(x) >= 1e4 else f"{x:g}"


def _widths(bound: dict[str, float]) -> str:
    return ", ".join(f"{f} <= {v:g}" for f, v in bound.items())


# ----- JUnit ---------------------------------------------------------------------------------------
_XML_INVALID = None


def xml_text(value: object) -> str:
    """Text that XML 1.0 can carry: control characters (other than tab, newline, carriage return),
    lone surrogates and U+FFFE/U+FFFF become visible escapes like \\x01, so the report always parses."""

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
