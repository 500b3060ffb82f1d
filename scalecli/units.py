"""The one number parser used by the CLI, YAML presets and CSV files, and human magnitudes.

PyYAML reads ``1e23`` as a string, so every number from a file or the command line passes
through :func:`parse_number`, which accepts ``1e23``, ``1.0e+23``, plain integers and SI
suffixes for counts (``K`` 1e3, ``M`` 1e6, ``B``/``G`` 1e9, ``T`` 1e12, ``P`` 1e15).
"""

from __future__ import annotations

import math
import re

from scalecli.errors import InputError

SI_SUFFIXES = {"K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12, "P": 1e15}
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_number(
    value: object,
    what: str = "value",
    *,
    positive: bool = True,
    allow_zero: bool = False,
) -> float:
    """Parse ``value`` into a finite float, or raise :class:`InputError` naming ``what``.

    ``positive`` (the default) rejects negative numbers, and zero unless ``allow_zero``.
    """
    if isinstance(value, bool):
        raise InputError(f"{what} must be a number, got {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip().replace("_", "")
        scale = 1.0
        if text and text[-1].upper() in SI_SUFFIXES and not text[-1].isdigit():
            scale = SI_SUFFIXES[text[-1].upper()]
            text = text[:-1]
        if not _NUMBER.match(text):
            raise InputError(f"{what} must be a number like 1e23, 1.5e+23 or 70B, got {value!r}")
        number = float(text) * scale
    else:
        raise InputError(f"{what} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(number):
        raise InputError(f"{what} must be finite, got {value!r}")
    if positive:
        if number < 0 or (number == 0 and not allow_zero):
            bound = "zero or positive" if allow_zero else "positive"
            raise InputError(f"{what} must be {bound}, got {value!r}")
    return number


# What scalecli plans for. Values outside are input errors rather than overflow or underflow
# deep in a solver: far beyond any training run, and far below one parameter or one token.
RANGES = {
    "flops": (1e6, 1e40),
    "count": (1.0, 1e21),  # params, tokens, steps, batch tokens, inference tokens
    "hours": (1e-6, 1e18),
    "usd": (1e-6, 1e18),
    "loss": (1e-6, 1e6),
    "percent": (0.0, 1e9),
    "ratio": (1e-9, 1e9),
    "fraction": (1e-3, 1.0),  # utilisation (MFU): 0.1% to 100% of peak
}


def parse_quantity(value: object, what: str, kind: str, *, allow_zero: bool = False) -> float:
    """parse_number plus the plausible range of ``kind`` (see RANGES)."""
    number = parse_number(value, what, allow_zero=allow_zero)
    lo, hi = RANGES[kind]
    if number == 0 and allow_zero:
        return number
    if not lo <= number <= hi:
        raise InputError(f"{what} = {number:g} is outside the range scalecli plans for ({lo:g} to {hi:g})")
    return number


_MAGNITUDES = [(1e15, "P"), (1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")]


def human_count(x: float | None, digits: int = 3) -> str:
    """70e9 -> '70.0B', 1.4e12 -> '1.40T' (three significant figures)."""
    if x is None or not math.isfinite(x):
        return "-"
    for scale, suffix in _MAGNITUDES:
        if abs(x) >= scale * 0.9995:
            return f"{_sig(x / scale, digits)}{suffix}"
    return _sig(x, digits)


def human_flops(x: float | None) -> str:
    """2.3e23 -> '2.3e23' (no '+' and no leading zeros in the exponent)."""
    if x is None or not math.isfinite(x):
        return "-"
    if x == 0:
        return "0"
    mantissa, exponent = f"{x:.2e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def _sig(x: float, digits: int) -> str:
    if x == 0:
        return "0"
    x = float(f"{x:.{digits}g}")  # round first: 0.9996 -> 1.00, not 1.000
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(x)))))
    return f"{x:.{decimals}f}"
