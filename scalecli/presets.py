"""Find, load, validate and write preset YAML (shipped presets via importlib.resources).

One format for shipped presets, files written by ``scale fit`` and hand-written files
(CLI.md, "Preset files"). Every number passes through :func:`scalecli.units.parse_number`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scalecli.errors import InputError, suggest
from scalecli.files import read_text, shipped_dir, shipped_text
from scalecli.laws import REGISTRY, AllocationLaw, BatchRule, Frontier, Law, family
from scalecli.shape import PARAMS_CONVENTIONS
from scalecli.units import parse_number
from scalecli.yamlio import load_mapping

TOP_KEYS = {
    "name",
    "family",
    "params",
    "frontier",
    "batch",
    "fitted_range",
    "source",
    "default",
    "aliases",
    "description",
    "notes",
    "fit",
    "draws",
    "intervals",
    "params_convention",
}
SOURCE_KEYS = {"citation", "arxiv", "where", "convention", "dataset", "fitted_on", "url", "command"}
MAX_PRESET_BYTES = 2_000_000  # a preset with MAX_DRAWS draws of 8 parameters is about 0.5 MB
MAX_DRAWS = 2_000  # bootstrap draws a preset may carry: each is one more solve per plan


@dataclass
class Preset:
    """A loaded, validated preset: the law object plus what the planner and reports need."""

    name: str
    family: str
    law: Law | AllocationLaw
    batch: BatchRule
    description: str = ""
    fitted_range: tuple[float, float] | None = None
    source: dict[str, str] = field(default_factory=dict)
    default: bool = False
    recommended: bool = False
    aliases: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    draws: list[dict[str, float]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    params_convention: str = "total"  # what N counts: shape.PARAMS_CONVENTIONS

    def with_params(self, params: dict[str, float]) -> Preset:
        """This preset with its law rebuilt from ``params`` (a bootstrap draw): no draws of its own."""
        return replace(self, law=family(self.family).make(params, self.name), draws=[])

    def source_line(self) -> str:
        parts = [self.source.get("citation", ""), self.source.get("where", "")]
        arxiv = self.source.get("arxiv")
        text = ", ".join(p for p in parts if p)
        return f"{text} (arXiv {arxiv})" if arxiv else text or "user-supplied law"


NOT_LAWS = {"hardware.yaml", "hparams.yaml"}


def shipped_names() -> list[str]:
    index = _index()
    if index is not None:
        return sorted(index)
    return sorted(
        p.name[: -len(".yaml")]
        for p in shipped_dir().iterdir()
        if p.name.endswith(".yaml") and p.name not in NOT_LAWS
    )


INDEX_FILE = "_index.json"
_INDEX: list[dict[str, dict[str, Any]] | None] = []


def _index() -> dict[str, dict[str, Any]] | None:
    """The shipped presets as parsed mappings (presets/_index.json, generated from the YAML files by
    tools/gen_docs.py and checked by the tests): reading them needs no YAML parser at start-up.
    None when the index is absent (then the YAML files are read)."""
    if not _INDEX:
        import json

        try:
            _INDEX.append(json.loads(shipped_text(INDEX_FILE)))
        except (FileNotFoundError, ValueError):
            _INDEX.append(None)
    return _INDEX[0]


def build_index() -> str:
    """The text of presets/_index.json: every shipped YAML preset, parsed by the one YAML loader."""
    import json

    out = {}
    for p in sorted(shipped_dir().iterdir(), key=lambda x: x.name):
        if p.name.endswith(".yaml") and p.name not in NOT_LAWS:
            out[p.name[: -len(".yaml")]] = load_mapping(p.read_text(encoding="utf-8"), f"preset {p.name}")
    return json.dumps(out, indent=1) + "\n"


_ALIASES = re.compile(r"^aliases:\s*\[([^\]]*)\]\s*$", re.M)


def _alias_map() -> dict[str, str]:
    """Alias -> shipped preset, without building any preset (a preset is built when it is used)."""
    index = _index()
    if index is not None:
        return {alias: name for name, data in index.items() for alias in data.get("aliases") or []}
    out = {}
    for name in shipped_names():
        match = _ALIASES.search(shipped_text(f"{name}.yaml"))
        for alias in match.group(1).split(",") if match else []:
            if alias.strip():
                out[alias.strip().strip("'\"")] = name
    return out


_cache: dict[str, Preset] = {}


def load_shipped(name: str) -> Preset:
    if name not in _cache:
        index = _index()
        origin, path = f"preset {name}", f"<shipped>/{name}.yaml"
        if index is not None and name in index:
            _cache[name] = preset_from_mapping(index[name], origin, path)
        else:
            text = (shipped_dir() / f"{name}.yaml").read_text(encoding="utf-8")
            _cache[name] = parse_preset(text, origin=origin, path=path)
    return _cache[name]


def load_all_shipped() -> list[Preset]:
    return [load_shipped(n) for n in shipped_names()]


# What `scale plan` solves with no --law: one of each family, side by side, and the one we
# recommend when a single answer is wanted (README "Which preset?"; `scale plan --brief`).
DEFAULT_PRESETS = ("hoffmann2022-tex", "besiroglu2024", "kaplan2020", "dynamics-gpt3")
RECOMMENDED = "besiroglu2024"


def default_presets() -> list[Preset]:
    return [load_shipped(name) for name in DEFAULT_PRESETS]


def looks_like_path(spec: str) -> bool:
    return spec.endswith((".yaml", ".yml")) or os.sep in spec or "/" in spec


def load(spec: str) -> Preset:
    """A shipped preset name (or alias) or a YAML file path."""
    if not isinstance(spec, str) or not spec.strip():
        raise InputError("--law needs a preset name or a YAML file path")
    if looks_like_path(spec):
        return load_file(spec)
    names = shipped_names()
    if spec in names:
        return load_shipped(spec)
    aliases = _alias_map()
    if spec in aliases:
        return load_shipped(aliases[spec])
    if Path(spec).exists():
        return load_file(spec)
    raise InputError(
        f"unknown preset {spec!r}{suggest(spec, names + list(aliases))}; "
        "run 'scale presets' for the list, or pass a YAML file path"
    )


def load_file(path: str) -> Preset:
    text = read_text(path, "law file", MAX_PRESET_BYTES)
    return parse_preset(text, origin=f"law file {path!r}", path=str(path))


def parse_preset(text: str, origin: str, path: str = "") -> Preset:
    return preset_from_mapping(load_mapping(text, origin), origin, path)


def preset_from_mapping(data: dict[str, Any], origin: str, path: str = "") -> Preset:
    unknown = [k for k in data if k not in TOP_KEYS]
    if unknown:
        key = str(unknown[0])
        raise InputError(f"{origin}: unknown key {key!r}{suggest(key, TOP_KEYS)}")
    family = data.get("family")
    if not isinstance(family, str) or family not in REGISTRY:
        raise InputError(f"{origin}: 'family' must be one of {', '.join(REGISTRY)}, got {family!r}")
    name = data.get("name") or Path(path).stem or family
    if not isinstance(name, str):
        raise InputError(f"{origin}: 'name' must be text")
    origin = f"{origin} ({name})" if name not in origin else origin
    has_params, has_frontier = "params" in data, "frontier" in data
    if has_params == has_frontier:
        raise InputError(f"{origin}: give exactly one of 'params' or 'frontier'")
    law: Law | AllocationLaw
    try:
        if has_frontier:
            law = Frontier(data["frontier"], family, name=name)
        else:
            law = REGISTRY[family].make(data["params"], name)
    except InputError as exc:
        raise InputError(f"{origin}: {exc.raw}") from None
    except (OverflowError, ZeroDivisionError, FloatingPointError):
        raise InputError(
            f"{origin}: the parameters overflow double precision in the law's closed forms; check the values"
        ) from None
    batch = _parse_batch(data.get("batch"), origin)
    source = data.get("source") or {}
    if not isinstance(source, dict):
        raise InputError(f"{origin}: 'source' must be a mapping")
    bad = [k for k in source if k not in SOURCE_KEYS]
    if bad:
        raise InputError(f"{origin}: unknown source key {bad[0]!r}{suggest(str(bad[0]), SOURCE_KEYS)}")
    notes = data.get("notes") or []
    fit = data.get("fit")
    if isinstance(fit, dict) and isinstance(fit.get("warnings"), list):  # carried into every plan
        unidentified = [w for w in fit["warnings"] if isinstance(w, str) and w.startswith("not identified")]
        notes = [*notes, *(f"fit warning: {w}" for w in unidentified)]
    aliases = data.get("aliases") or []
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise InputError(f"{origin}: 'notes' must be a list of text")
    if not isinstance(aliases, list) or not all(isinstance(n, str) for n in aliases):
        raise InputError(f"{origin}: 'aliases' must be a list of names")
    convention = data.get("params_convention", REGISTRY[family].params_convention)
    if convention not in PARAMS_CONVENTIONS:
        raise InputError(
            f"{origin}: 'params_convention' must be one of {', '.join(PARAMS_CONVENTIONS)}, "
            f"got {convention!r}"
        )
    return Preset(
        params_convention=convention,
        name=name,
        family=family,
        law=law,
        batch=batch,
        description=str(data.get("description") or ""),
        fitted_range=_parse_range(data.get("fitted_range"), origin),
        source={str(k): str(v) for k, v in source.items()},
        default=name in DEFAULT_PRESETS and path.startswith("<shipped>"),
        recommended=name == RECOMMENDED and path.startswith("<shipped>"),
        aliases=aliases,
        notes=notes,
        draws=_parse_draws(data.get("draws"), family, origin),
        raw=data,
        path=path,
    )


def _parse_batch(spec: Any, origin: str) -> BatchRule:
    return BatchRule.from_mapping(spec, origin)


def _parse_range(spec: Any, origin: str) -> tuple[float, float] | None:
    if spec is None:
        return None
    if not isinstance(spec, dict) or set(spec) != {"flops"}:
        raise InputError(f"{origin}: 'fitted_range' must be a mapping with 'flops: [low, high]'")
    pair = spec["flops"]
    if not isinstance(pair, list) or len(pair) != 2:
        raise InputError(f"{origin}: fitted_range.flops must be a list [low, high]")
    lo, hi = (parse_number(v, "fitted_range.flops") for v in pair)
    if lo > hi:
        raise InputError(f"{origin}: fitted_range.flops low {lo:g} is above high {hi:g}")
    return lo, hi


def _parse_draws(spec: Any, family: str, origin: str) -> list[dict[str, float]]:
    if spec is None:
        return []
    if not isinstance(spec, list):
        raise InputError(f"{origin}: 'draws' must be a list of parameter mappings")
    if len(spec) > MAX_DRAWS:
        raise InputError(
            f"{origin}: {len(spec):,} bootstrap draws; the limit is {MAX_DRAWS:,} "
            "(each is one more solve per plan)"
        )
    out = []
    for i, row in enumerate(spec):
        try:
            out.append(REGISTRY[family].validate(row))
        except InputError as exc:
            raise InputError(f"{origin}: draws[{i}]: {exc.raw}") from None
    return out
