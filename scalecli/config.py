"""Defaults for ``scale plan`` from ``scale.yaml`` in the working directory or ``--config FILE``.

Options given on the command line win; an objective on the command line (--flops,
--target-loss, --gpu-hours, --budget-usd) replaces any objective in the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scalecli.errors import InputError
from scalecli.laws.base import suggest

DEFAULT_FILE = "scale.yaml"
MAX_CONFIG_BYTES = 1_000_000
OBJECTIVES = ("flops", "target_loss", "gpu_hours", "budget_usd")
PLAN_KEYS = (
    *OBJECTIVES,
    "law",
    "inference_tokens",
    "max_params",
    "max_tokens",
    "max_steps",
    "unique_tokens",
    "allow_repeats",
    "batch_tokens",
    "gpu",
    "mfu",
    "gpus",
    "usd_per_gpu_hour",
    "precision",
    "strict",
    "format",
)
FLAGS = ("allow_repeats", "strict")


def load_plan_config(path: str | None) -> tuple[dict[str, Any], str | None]:
    """The validated mapping and where it came from ({} and None when there is no file)."""
    from scalecli.files import read_text
    from scalecli.yamlio import load_mapping

    if path is None:
        if not Path(DEFAULT_FILE).is_file():
            return {}, None
        path = DEFAULT_FILE
    data = load_mapping(read_text(path, "config", MAX_CONFIG_BYTES), f"config {path!r}")
    for key, value in data.items():
        if key not in PLAN_KEYS:
            raise InputError(f"config {path!r}: unknown key {key!r}{suggest(str(key), PLAN_KEYS)}")
        if key in FLAGS and not isinstance(value, bool):
            raise InputError(f"config {path!r}: {key} must be true or false")
        if key == "law":
            if isinstance(value, str):
                value = [value]
            elif not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
                raise InputError(f"config {path!r}: law must be a preset name or a list of them")
            data[key] = [_beside(path, v) for v in value]
        elif key in ("gpu", "precision", "format"):
            if not isinstance(value, str):
                raise InputError(f"config {path!r}: {key} must be text")
        elif key == "gpus":
            if not isinstance(value, int) or isinstance(value, bool):
                raise InputError(f"config {path!r}: gpus must be a whole number")
        elif key not in FLAGS:
            if isinstance(value, (list, dict)) or value is None or isinstance(value, bool):
                raise InputError(f"config {path!r}: {key} must be a number, got {value!r}")
            data[key] = str(value)  # parsed with the command-line values
    return data, str(path)


def _beside(config_path: str, law: str) -> str:
    """A law file named in a config file is relative to that file's folder, as in a spec."""
    from scalecli.presets import looks_like_path

    if looks_like_path(law) and not Path(law).is_absolute():
        return str(Path(config_path).resolve().parent / law)
    return law


def merge(given: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Command-line values (None / False = not given) over the config file's."""
    out = dict(given)
    cli_objective = any(given.get(k) is not None for k in OBJECTIVES)
    for key, value in config.items():
        if key in OBJECTIVES and cli_objective:
            continue
        current = out.get(key)
        if current is None or (key in FLAGS and current is False) or (key == "law" and not current):
            out[key] = value
    return out
