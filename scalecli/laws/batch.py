"""Batch rules: tokens per optimizer step, and the one mapping between tokens, batch and steps.

A preset carries the batch regime its law was fitted in (``batch:`` in its YAML); every command
that turns tokens into steps or steps into tokens (plan, predict, sweep, check) goes through the
rule here, so a plan's steps and a prediction's steps mean the same thing.

Rules:

* ``fixed``: B tokens per step.
* ``deepseek2024``: B = 0.2920·C^0.3271 tokens with C = 6·N·D (DeepSeek LLM 2024, eq. 1).
* ``power``: B = coef·N^params_exponent·D^tokens_exponent, e.g. the power law ``scale fit``
  fits to a data file's batch column.
* ``table``: B given for a few model sizes (``rows: [[params, batch], ...]``), interpolated
  log-linearly in N and held constant beyond the first and last rows.

Every rule but ``table`` is B = k·N^p·D^q, so tokens for S steps have the closed form
D = (S·k·N^p)^(1/(1-q)) (q < 1 is required).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scalecli.errors import InputError
from scalecli.units import parse_number

# DeepSeek LLM (Bi et al. 2024) eq. 1: B_opt(C) = 0.2920 * C^0.3271 tokens.
DEEPSEEK_BATCH_COEF = 0.2920
DEEPSEEK_BATCH_EXPONENT = 0.3271

RULES = ("fixed", "deepseek2024", "power", "table")
KEYS = {
    "fixed": {"rule", "tokens", "source", "fitted_on"},
    "deepseek2024": {"rule"},
    "power": {"rule", "coef", "params_exponent", "tokens_exponent", "source", "fitted_on"},
    "table": {"rule", "rows", "source", "fitted_on"},
}


@dataclass(frozen=True)
class BatchRule:
    """How many tokens one optimizer step takes, as a function of model size and tokens."""

    rule: str = "deepseek2024"
    tokens: float | None = None  # fixed
    coef: float | None = None  # power
    params_exponent: float = 0.0
    tokens_exponent: float = 0.0
    rows: tuple[tuple[float, float], ...] = ()  # table: (params, batch tokens), sorted by params
    source: str = ""  # where a fitted or tabulated rule came from (shown in plan notes)
    fitted_on: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise InputError(f"batch rule must be one of {', '.join(RULES)}, got {self.rule!r}")
        if self.rule == "fixed" and self.tokens is None:
            raise InputError("batch rule 'fixed' needs 'tokens' (e.g. tokens: 4M)")
        if self.rule == "power":
            if self.coef is None:
                raise InputError(
                    "batch rule 'power' needs 'coef' (B = coef·N^params_exponent·D^tokens_exponent)"
                )
            if not self.tokens_exponent < 1:
                raise InputError(
                    f"batch rule 'power': tokens_exponent must be below 1 (got {self.tokens_exponent:g}), "
                    "or more tokens would mean fewer steps"
                )
        if self.rule == "table":
            if len(self.rows) < 1:
                raise InputError("batch rule 'table' needs rows: [[params, batch tokens], ...]")
            sizes = [r[0] for r in self.rows]
            if sizes != sorted(sizes) or len(set(sizes)) != len(sizes):
                raise InputError("batch rule 'table': rows must have distinct params in increasing order")

    # ----- the rule as B = k·N^p·D^q -----------------------------------------------------------
    def power_form(self) -> tuple[float, float, float] | None:
        """(k, p, q) with B = k·N^p·D^q, or None for a table."""
        if self.rule == "fixed":
            return float(self.tokens), 0.0, 0.0  # type: ignore[arg-type]
        if self.rule == "deepseek2024":
            e = DEEPSEEK_BATCH_EXPONENT
            return DEEPSEEK_BATCH_COEF * 6.0**e, e, e
        if self.rule == "power":
            return float(self.coef), self.params_exponent, self.tokens_exponent  # type: ignore[arg-type]
        return None

    def _table(self, params: np.ndarray) -> np.ndarray:
        sizes = np.log([r[0] for r in self.rows])
        batches = np.log([r[1] for r in self.rows])
        return np.exp(np.interp(np.log(params), sizes, batches))

    # ----- the mapping ---------------------------------------------------------------------------
    def batch_tokens(self, params, tokens) -> np.ndarray:
        """Tokens per step for a model of ``params`` trained on ``tokens`` (arrays broadcast)."""
        params = np.asarray(params, dtype=float)
        tokens = np.asarray(tokens, dtype=float)
        form = self.power_form()
        if form is None:
            return self._table(params) * np.ones_like(tokens)
        k, p, q = form
        with np.errstate(over="ignore", divide="ignore"):
            return k * params**p * tokens**q

    def steps(self, params, tokens) -> np.ndarray:
        tokens = np.asarray(tokens, dtype=float)
        return tokens / self.batch_tokens(params, tokens)

    def tokens_for_steps(self, params, steps) -> np.ndarray:
        """Tokens D of a run of S steps: D = S·B(N, D), solved in closed form."""
        params = np.asarray(params, dtype=float)
        steps = np.asarray(steps, dtype=float)
        form = self.power_form()
        if form is None:
            return steps * self._table(params)
        k, p, q = form
        with np.errstate(over="ignore", divide="ignore"):
            return (steps * k * params**p) ** (1.0 / (1.0 - q))

    # ----- words and files -----------------------------------------------------------------------
    def describe(self) -> str:
        if self.rule == "fixed":
            text = f"batch fixed at {self.tokens:.4g} tokens/step"
        elif self.rule == "deepseek2024":
            text = "batch from DeepSeek's B_opt(C) = 0.2920·C^0.3271 tokens (Bi et al. 2024, eq. 1)"
        elif self.rule == "power":
            terms = [f"{self.coef:.4g}"]
            if self.params_exponent:
                terms.append(f"N^{self.params_exponent:.4g}")
            if self.tokens_exponent:
                terms.append(f"D^{self.tokens_exponent:.4g}")
            text = f"batch = {'·'.join(terms)} tokens/step"
        else:
            text = (
                f"batch from a table of {len(self.rows)} model sizes "
                f"({_human(self.rows[0][0])} to {_human(self.rows[-1][0])} params), interpolated in log N, "
                "constant beyond its ends"
            )
        return f"{text}; {self.source}" if self.source else text

    def to_mapping(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule}
        if self.rule == "fixed":
            out["tokens"] = float(self.tokens)  # type: ignore[arg-type]
        elif self.rule == "power":
            out.update(
                coef=float(self.coef),  # type: ignore[arg-type]
                params_exponent=float(self.params_exponent),
                tokens_exponent=float(self.tokens_exponent),
            )
        elif self.rule == "table":
            out["rows"] = [[float(n), float(b)] for n, b in self.rows]
        if self.source:
            out["source"] = self.source
        if self.fitted_on:
            out["fitted_on"] = self.fitted_on
        return out

    @classmethod
    def from_mapping(cls, spec: Any, origin: str = "batch") -> BatchRule:
        """Parse a preset's ``batch:`` block (every number through the one number parser)."""
        if spec is None:
            return cls()
        if not isinstance(spec, dict):
            raise InputError(f"{origin}: 'batch' must be a mapping with a 'rule'")
        rule = spec.get("rule", "deepseek2024")
        if rule not in RULES:
            raise InputError(f"{origin}: batch rule must be one of {', '.join(RULES)}, got {rule!r}")
        unknown = set(spec) - KEYS[rule]
        if unknown:
            raise InputError(
                f"{origin}: batch rule {rule!r} takes {', '.join(sorted(KEYS[rule]))}; "
                f"unknown: {', '.join(sorted(map(str, unknown)))}"
            )
        source = spec.get("source", "")
        if not isinstance(source, str):
            raise InputError(f"{origin}: batch.source must be text")
        fitted_on = spec.get("fitted_on") or {}
        if not isinstance(fitted_on, dict):
            raise InputError(f"{origin}: batch.fitted_on must be a mapping")
        try:
            if rule == "fixed":
                tokens = spec.get("tokens")
                tokens = None if tokens is None else parse_number(tokens, "batch tokens")
                return cls("fixed", tokens=tokens, source=source, fitted_on=fitted_on)
            if rule == "power":
                return cls(
                    "power",
                    coef=parse_number(spec.get("coef"), "batch coef") if "coef" in spec else None,
                    params_exponent=parse_number(
                        spec.get("params_exponent", 0), "batch params_exponent", positive=False
                    ),
                    tokens_exponent=parse_number(
                        spec.get("tokens_exponent", 0), "batch tokens_exponent", positive=False
                    ),
                    source=source,
                    fitted_on=fitted_on,
                )
            if rule == "table":
                rows = spec.get("rows")
                if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == 2 for r in rows):
                    raise InputError("batch rule 'table' needs rows: [[params, batch tokens], ...]")
                parsed = tuple(
                    (parse_number(n, "batch table params"), parse_number(b, "batch table tokens"))
                    for n, b in rows
                )
                return cls("table", rows=parsed, source=source, fitted_on=fitted_on)
            return cls(rule)
        except InputError as exc:
            raise InputError(f"{origin}: {exc}") from None


def fit_batch_rule(params: np.ndarray, tokens: np.ndarray, batch: np.ndarray, origin: str) -> BatchRule:
    """The batch rule a data file's batch column follows: fixed when it is one value, else a power
    law B = coef·N^p·D^q fitted by least squares in logs over the distinct (N, D, B) rows, with
    the variable B does not depend on left out (each model size with one batch: a law in N)."""
    params, tokens, batch = (np.asarray(x, dtype=float) for x in (params, tokens, batch))
    distinct = np.unique(np.stack([params, batch], axis=1), axis=0)
    if np.unique(batch).size == 1:
        return BatchRule("fixed", tokens=float(batch[0]), source=f"the one batch size in {origin}")
    by_params = np.unique(distinct[:, 0]).size == distinct.shape[0]
    if by_params:
        x = np.log(distinct[:, 0])
        y = np.log(distinct[:, 1])
        design = np.column_stack([np.ones_like(x), x])
        rows_used = distinct.shape[0]
        pairs = [[float(n), float(b)] for n, b in distinct]
    else:
        rows = np.unique(np.stack([params, tokens, batch], axis=1), axis=0)
        y = np.log(rows[:, 2])
        design = np.column_stack([np.ones(len(rows)), np.log(rows[:, 0]), np.log(rows[:, 1])])
        rows_used = rows.shape[0]
        pairs = []
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    fitted = design @ coef
    ss_res = float(np.sum((y - fitted) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
    p = float(coef[1])
    q = float(coef[2]) if len(coef) > 2 else 0.0
    what = "model sizes" if by_params else "distinct (params, tokens, batch) rows"
    fitted_on: dict[str, Any] = {
        "file": origin,
        "rows": rows_used,
        "r2_log": r2,
        "max_abs_log_residual": float(np.max(np.abs(y - fitted))),
    }
    if pairs:
        fitted_on["points"] = pairs
    return BatchRule(
        "power",
        coef=math.exp(float(coef[0])),
        params_exponent=p,
        tokens_exponent=min(q, 0.99),
        source=f"fitted by scale fit to the batch column of {origin} ({rows_used} {what})",
        fitted_on=fitted_on,
    )


def _human(x: float) -> str:
    from scalecli.units import human_count

    return human_count(x)
