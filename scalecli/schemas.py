"""JSON Schemas of the files scalecli reads, built from the tables that define them.

* :func:`preset` — preset and law files (``--law FILE``, ``scale fit --out``), from the families'
  parameter schemas, the batch rules and the preset keys;
* ``check.schema()`` — ``scale check`` specs, from options.OPTIONS and fields.PLAN_FIELDS.

``scale presets --schema`` and ``scale check --schema`` print them; docs/files.md shows them.
"""

from __future__ import annotations

from typing import Any

NUMBER_PATTERN = "^\\s*[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?\\s*[KMBGTPkmbgtp]?\\s*$"
NUMBER = {"oneOf": [{"type": "number"}, {"type": "string", "pattern": NUMBER_PATTERN}]}


def preset() -> dict[str, Any]:
    from scalecli.laws import REGISTRY
    from scalecli.laws.batch import KEYS as BATCH_KEYS
    from scalecli.laws.frontier import LAWS as FRONTIER_LAWS
    from scalecli.laws.frontier import SETTINGS as FRONTIER_SETTINGS
    from scalecli.presets import SOURCE_KEYS

    def params_schema(family: str) -> dict[str, Any]:
        spec = REGISTRY[family]
        return {
            "type": "object",
            "additionalProperties": False,
            "required": [p.name for p in spec.params if not p.optional],
            "properties": {p.name: {"$ref": "#/$defs/number", "description": p.meaning} for p in spec.params},
        }

    batch = {
        "oneOf": [
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["rule"] if rule != "deepseek2024" else [],
                "properties": {
                    **{
                        k: {"$ref": "#/$defs/number"}
                        for k in sorted(keys - {"rule", "source", "fitted_on", "rows"})
                    },
                    "rule": {"const": rule},
                    **(
                        {"source": {"type": "string"}, "fitted_on": {"type": "object"}}
                        if "source" in keys
                        else {}
                    ),
                    **(
                        {"rows": {"type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2}}}
                        if "rows" in keys
                        else {}
                    ),
                },
            }
            for rule, keys in BATCH_KEYS.items()
        ]
    }
    power_law = {
        "type": "object",
        "additionalProperties": False,
        "required": ["coef", "exponent"],
        "properties": {"coef": {"$ref": "#/$defs/number"}, "exponent": {"$ref": "#/$defs/number"}},
    }
    families = list(REGISTRY)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://scalecli.invalid/preset.schema.json",
        "title": "scalecli preset or law file",
        "description": "A scaling law: a family and its parameters (or an empirical frontier), the batch "
        "regime it was fitted in, its fitted compute range and its source. Numbers may be YAML numbers or "
        'strings such as "1e23" or "70B".',
        "type": "object",
        "additionalProperties": False,
        "required": ["family"],
        "oneOf": [{"required": ["params"]}, {"required": ["frontier"]}],
        "properties": {
            "name": {"type": "string"},
            "family": {"enum": families},
            "description": {"type": "string"},
            "aliases": {"type": "array", "items": {"type": "string"}},
            "params": {"oneOf": [params_schema(f) for f in families]},
            "frontier": {
                "type": "object",
                "additionalProperties": False,
                "required": ["params"],
                "properties": {
                    **{k: power_law for k in FRONTIER_LAWS},
                    **{k: {"$ref": "#/$defs/number"} for k in FRONTIER_SETTINGS},
                },
            },
            "batch": batch,
            "fitted_range": {
                "type": "object",
                "additionalProperties": False,
                "required": ["flops"],
                "properties": {
                    "flops": {
                        "type": "array",
                        "items": {"$ref": "#/$defs/number"},
                        "minItems": 2,
                        "maxItems": 2,
                    }
                },
            },
            "source": {
                "type": "object",
                "additionalProperties": False,
                "properties": {k: {"type": "string"} for k in sorted(SOURCE_KEYS)},
            },
            "notes": {"type": "array", "items": {"type": "string"}},
            "params_convention": {
                "enum": ["total", "non_embedding", "with_head"],
                "description": "What the law's N counts: all parameters, non-embedding (Kaplan et al. "
                "2020 §2.1), or non-embedding plus the output layer (Porian et al. 2024).",
            },
            "draws": {"type": "array", "items": {"type": "object"}, "maxItems": 2000},
            "fit": {"type": "object", "description": "Provenance written by scale fit (read, not checked)."},
            "intervals": {"description": "Written by scale fit (read, not checked)."},
            "default": {"description": "Ignored (the default set is fixed in code)."},
        },
        "$defs": {"number": NUMBER},
    }
