"""Defaults from ``scale.yaml`` in the working directory or ``--config FILE``, for every command.

The keys are the options of options.OPTIONS that may be set in a file; each command takes the
keys it has an option for (``law`` and ``format`` apply to plan, predict and sweep; caps and
objectives to plan; ...) and ignores the rest. Options given on the command line win; an
objective on the command line (--flops, --target-loss, --gpu-hours, --budget-usd, --days)
replaces any objective in the file. A law path in the file is relative to the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scalecli import options
from scalecli.errors import InputError, suggest

DEFAULT_FILE = "scale.yaml"
MAX_CONFIG_BYTES = 1_000_000


def load(path: str | None, command: str) -> tuple[dict[str, Any], str | None]:
    """The file's parsed values for ``command`` and where they came from ({} and None when there
    is no file). Every key is checked, whichever command it is for."""
    from scalecli.files import read_text
    from scalecli.yamlio import load_mapping

    if path is None:
        if not Path(DEFAULT_FILE).is_file():
            return {}, None
        path = DEFAULT_FILE
    data = load_mapping(read_text(path, "config", MAX_CONFIG_BYTES), f"config {path!r}")
    known = options.config_keys()
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise InputError(f"config {path!r}: unknown key {key!r}{suggest(str(key), known)}")
        option = options.BY_NAME[key]
        parsed = options.parse_value(option, value, f"config {path!r}: {key}")
        if key == "law":
            assert isinstance(parsed, list)  # options.parse_value gives a list for kind "laws"
            parsed = [_beside(path, v) for v in parsed]
        if option.configures(command):
            out[key] = parsed
    return out, str(path)


def _beside(config_path: str, law: str) -> str:
    """A law file named in a config file is relative to that file's folder, as in a spec."""
    from scalecli.presets import looks_like_path

    if looks_like_path(law) and not Path(law).is_absolute():
        return str(Path(config_path).resolve().parent / law)
    return law


def merge(given: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Command-line values (None / False / [] = not given) over the config file's."""
    out = dict(given)
    cli_objective = any(given.get(k) is not None for k in options.OBJECTIVES)
    for key, value in config.items():
        if key in options.OBJECTIVES and cli_objective:
            continue
        if out.get(key) in (None, False, []):
            out[key] = value
    return out
