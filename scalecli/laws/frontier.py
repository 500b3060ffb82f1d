"""Empirical compute-optimal frontiers: N, D, batch, steps and loss as power laws of compute.

Kaplan et al. Table 6 (REFERENCE §1.4, §1.6) and the output of ``scale fit --method isoflop``
(Hoffmann et al. Approach 2) are frontiers: they give the allocation at a budget, not a loss
surface, so they answer ``--flops`` plans only. Compute enters as
C_min = C · min_compute_fraction / compute_unit_flops (Kaplan: C/2 in PF-days, convention B).
Tokens are C/(6N) so that 6·N·D = C; the frontier's own D law, if any, is reported in the notes.
"""

from __future__ import annotations

import math

import numpy as np

from scalecli.compute import training_flops
from scalecli.errors import InputError
from scalecli.units import parse_number

LAWS = ("params", "tokens", "batch_tokens", "min_steps", "loss")
MAX_EXPONENT = 10.0  # published frontier exponents are below 1; larger ones overflow
SETTINGS = ("compute_unit_flops", "min_compute_fraction", "steps_per_min_step")


class Frontier:
    """Power laws ``coef · C_min^exponent``; the loss law is ``(coef / C_min)^exponent``.

    An ``AllocationLaw`` (laws/base.py): it allocates a budget but has no loss surface, so it
    answers --flops plans and sweeps only."""

    def __init__(self, frontier: dict, family: str, name: str = "") -> None:
        self.family = family
        self.name = name or "frontier"
        if not isinstance(frontier, dict):
            raise InputError("frontier: must be a mapping of power laws")
        unknown = set(frontier) - set(LAWS) - set(SETTINGS)
        if unknown:
            raise InputError(f"frontier: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        self.unit = parse_number(frontier.get("compute_unit_flops", 1.0), "frontier compute_unit_flops")
        self.fraction = parse_number(
            frontier.get("min_compute_fraction", 1.0), "frontier min_compute_fraction"
        )
        self.steps_factor = parse_number(
            frontier.get("steps_per_min_step", 1.0), "frontier steps_per_min_step"
        )
        if "params" not in frontier:
            raise InputError("frontier: needs at least a 'params' power law")
        self.laws: dict[str, tuple[float, float]] = {}
        for key in LAWS:
            if key not in frontier:
                continue
            entry = frontier[key]
            if not isinstance(entry, dict) or set(entry) != {"coef", "exponent"}:
                raise InputError(f"frontier.{key}: needs exactly 'coef' and 'exponent'")
            exponent = parse_number(entry["exponent"], f"frontier.{key}.exponent", positive=False)
            if abs(exponent) > MAX_EXPONENT:
                raise InputError(
                    f"frontier.{key}.exponent = {exponent:g} is outside the range scalecli accepts "
                    f"(-{MAX_EXPONENT:g} to {MAX_EXPONENT:g})"
                )
            self.laws[key] = (parse_number(entry["coef"], f"frontier.{key}.coef"), exponent)
        self.params = {
            f"{k}_{part}": v[i] for k, v in self.laws.items() for i, part in enumerate(("coef", "exponent"))
        }

    irreducible_loss = 0.0

    @property
    def sets_batch(self) -> bool:
        """True when the frontier gives the batch or steps itself (no batch rule needed)."""
        return "min_steps" in self.laws or "batch_tokens" in self.laws

    def min_compute(self, train_flops):
        return np.asarray(train_flops, dtype=float) * self.fraction / self.unit

    def _law(self, key: str, c_min):
        coef, exponent = self.laws[key]
        return coef * c_min**exponent

    def allocate(self, train_flops, batch_rule) -> dict[str, np.ndarray]:
        """Allocation at each budget (arrays in, arrays out); tokens so that train_flops(N, D) = C."""
        flops = np.asarray(train_flops, dtype=float)
        c_min = self.min_compute(flops)
        params = self._law("params", c_min)
        tokens = flops / training_flops(params, 1.0)
        if "min_steps" in self.laws:
            steps = self.steps_factor * self._law("min_steps", c_min)
            batch = tokens / steps
        else:
            batch = (
                self._law("batch_tokens", c_min)
                if "batch_tokens" in self.laws
                else batch_rule.batch_tokens(params, tokens)
            )
            steps = tokens / batch
        if "loss" in self.laws:
            coef, exponent = self.laws["loss"]
            loss = (coef / c_min) ** exponent
        else:
            loss = np.full_like(flops, math.nan)
        return {"params": params, "tokens": tokens, "steps": steps, "batch_tokens": batch, "loss": loss}

    def own_laws(self, train_flops: float) -> dict[str, float]:
        """The frontier's own batch and D laws at this budget (for the notes), where it has them."""
        c_min = self.min_compute(train_flops)
        return {k: float(self._law(k, c_min)) for k in ("batch_tokens", "tokens") if k in self.laws}
