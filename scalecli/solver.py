"""The numerical planner: the best model size under a budget or for a target loss, within a list
of constraints (constraints.py), for any loss law (laws/base.Law).

Two objectives (CLI.md): a budget ``C`` (minimise loss; with inference demand T the budget covers
the law's training and serving FLOPs) and a target loss (reach it at the least training plus
serving FLOPs). The law's closed form is used when it exists and no constraint is broken;
otherwise a bounded search over x = ln N: along the budget with every constraint's FLOPs cap
folded in (a model may spend less than the budget when the caps leave no other choice), or over
the FLOPs each size needs to reach the target, within the sizes every constraint allows.

The solver never names a constraint: it asks each for its size cap, its FLOPs cap at a size and
its range of sizes at a target, and reports the ones that bind by name.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from scalecli.constraints import Constraint
from scalecli.errors import InfeasibleError, InputError, ref
from scalecli.laws.base import Array, Conditions, Law
from scalecli.numerics import argmin_unimodal, crossing
from scalecli.units import RANGES

SEARCH_SPAN = 70.0  # e-folds of N searched beyond the reachable size in target mode
TOUCH = 1e-9  # in x = ln N: a solution this close to a bound is on it


@dataclass
class Solution:
    params: float
    train_flops: float
    binding: list[str] = field(default_factory=list)
    method: str = "closed form"
    notes: list[str] = field(default_factory=list)


class Solver:
    """One law, one set of conditions and constraints, ``inference_tokens`` of serving demand."""

    def __init__(
        self,
        who: str,
        law: Law,
        cond: Conditions,
        constraints: Sequence[Constraint],
        inference_tokens: float = 0.0,
    ) -> None:
        self.who = who
        self.law = law
        self.cond = cond
        self.constraints = tuple(constraints)
        self.T = inference_tokens

    def serve_flops(self, params) -> Array:
        return self.law.serve_flops(params, self.T)

    # ----- the closed form ---------------------------------------------------------------------
    def closed_form(self, flops: float | None, target: float | None) -> Solution | None:
        """The law's closed-form optimum when it has one and no constraint is broken there."""
        if self.T > 0:
            return None
        law = self.law
        if flops is not None:
            train = flops
        else:
            assert target is not None
            self.check_target(target)
            closed = law.closed_form_flops(target, self.cond)
            if closed is None:
                return None
            train = closed
            self.guard(train, target)
        params = law.closed_form_params(np.array([train]), self.cond)
        if params is None:
            return None
        n = float(params[0])
        if any(c.violated(law, n, train, self.cond) for c in self.constraints):
            return None
        return Solution(n, train)

    # ----- objective: a training (or lifetime) budget ------------------------------------------
    def flops_allowed(self, params: Array, budget: float) -> Array:
        """Training FLOPs allowed at each size: the budget less serving, and every FLOPs cap."""
        allowed = budget - self.serve_flops(params)
        for c in self.constraints:
            cap = c.flops_cap(self.law, params, self.cond)
            if cap is not None:
                allowed = np.minimum(allowed, cap)
        return allowed

    def budget(self, C: float) -> Solution:
        law, cond, T = self.law, self.cond, self.T
        lo, hi = 0.0, math.log(law.params_for_flops(C, 1.0))  # at least one training token
        if T > 0:
            hi = min(hi, math.log(law.params_for_serve_flops(C, T)) - 1e-9)
        upper = None
        for c in self.constraints:
            size_cap = c.size_cap()
            if size_cap is not None and math.log(size_cap) < hi:
                hi, upper = math.log(size_cap), c
        if hi < lo:
            raise InfeasibleError(
                f"{self.who}: the budget of {C:.4g} FLOPs leaves no room for training "
                f"after serving {T:.4g} inference tokens (2·N FLOPs each)"
            )

        def objective(x):
            params = np.exp(np.asarray(x, dtype=float))
            allowed = self.flops_allowed(params, C)
            with np.errstate(all="ignore"):
                return np.where(
                    allowed > 0, law.loss_on_budget(params, np.maximum(allowed, 1e-300), cond), np.inf
                )

        try:
            x = argmin_unimodal(objective, lo, hi)
        except ValueError:
            names = ", ".join(ref(c.name) for c in self.constraints) or "the budget"
            raise InfeasibleError(
                f"{self.who}: no model size trains within these caps; raise {names}"
            ) from None
        # A FLOPs cap that starts to bind at x_k makes a kink; land exactly on it when it is optimal.
        capped = [c for c in self.constraints if c.flops_cap(law, np.array([1.0]), cond) is not None]
        for c in capped:

            def excess(z: float, c: Constraint = c) -> float:
                params = np.exp(np.array([z]))
                cap = c.flops_cap(law, params, cond)
                assert cap is not None
                return float(cap[0] - (C - self.serve_flops(params)[0]))

            if excess(lo) < 0 < excess(hi) or excess(hi) < 0 < excess(lo):
                xk = crossing(excess, lo, hi)
                if abs(xk - x) < 1e-4 and objective(np.array([xk]))[0] <= objective(np.array([x]))[0]:
                    x = xk
        on_cap = upper is not None and x >= hi - TOUCH
        # On a size cap use it exactly: exp(ln(cap)) is not always the cap to the last bit.
        params = upper.size_cap() if on_cap and upper is not None else math.exp(x)
        assert params is not None
        n = np.array([params])
        train = float(self.flops_allowed(n, C)[0])
        binding = [upper.name] if on_cap and upper is not None else []
        spend = C - float(self.serve_flops(n)[0])
        for c in capped:
            cap = c.flops_cap(law, n, cond)
            assert cap is not None
            if cap[0] <= spend * (1 + 1e-7) and cap[0] <= train * (1 + 1e-7):
                binding.append(c.name)
        notes = []
        if train < spend * (1 - 1e-6):
            notes.append(
                f"caps leave {spend - train:.3g} FLOPs of the budget unused: no allowed "
                "allocation can spend them"
            )
        return Solution(params, train, binding, "numerical", notes)

    # ----- objective: a target loss ------------------------------------------------------------
    def check_target(self, target: float) -> None:
        law = self.law
        trivial = float(law.loss_on_budget(np.array([1.0]), law.train_flops(1.0, 1.0), self.cond)[0])
        if target >= trivial:
            raise InputError(
                f"{self.who}: target loss {target:g} is above the loss of a 1-parameter model "
                f"trained on one token ({trivial:.4g}); every plan meets it, choose a lower target"
            )
        floor = law.irreducible_loss
        if target <= floor:
            raise InfeasibleError(
                f"{self.who}: target loss {target:g} is at or below the irreducible loss "
                f"E = {floor:.6g}; no amount of compute reaches it (choose a target above {floor:.6g})"
            )

    def target(self, target: float) -> Solution:
        self.check_target(target)
        law, cond = self.law, self.cond

        def floor_excess(z: float) -> float:
            return float(law.loss_floor(np.array([math.exp(z)]), cond)[0]) - target

        # Smallest size that can reach the target at all (floor(N) falls with N).
        lo = -5.0
        top = SEARCH_SPAN
        while floor_excess(top) >= 0 and top < 700:
            top += SEARCH_SPAN
        if floor_excess(top) >= 0:
            raise InfeasibleError(
                f"{self.who}: target loss {target:g} is below what any model size reaches "
                f"with this data (floor {law.loss_floor(np.array([math.exp(top)]), cond)[0]:.6g}); "
                "add unique tokens or raise the target"
            )
        x_reach = lo if floor_excess(lo) < 0 else crossing(floor_excess, lo, top)
        lo, hi = x_reach + TOUCH, x_reach + SEARCH_SPAN
        lower = upper = None
        for c in self.constraints:
            new_lo, new_hi = c.size_range(law, target, cond, lo, hi, upper)
            if new_hi < hi:
                hi, upper = new_hi, c
            if new_lo > lo:
                lo, lower = new_lo, c

        def cost(x):
            params = np.exp(np.asarray(x, dtype=float))
            with np.errstate(all="ignore"):
                return law.flops_for_loss(params, target, cond) + self.serve_flops(params)

        x = argmin_unimodal(cost, lo, hi)
        binding = []
        if upper is not None and x >= hi - TOUCH:
            binding.append(upper.name)
        if lower is not None and x <= lo + TOUCH:
            binding.append(lower.name)
        exact = upper.size_cap() if upper is not None and upper.name in binding else None
        size = np.array([exact if exact is not None else math.exp(x)])
        with np.errstate(all="ignore"):
            train = law.flops_for_loss(size, target, cond)
        return Solution(float(size[0]), float(train[0]), binding, "numerical")

    def guard(self, train: float, target: float | None) -> None:
        limit = RANGES["flops"][1]
        if not math.isfinite(train) or train > limit:
            what = "the plan" if target is None else f"reaching loss {target:g}"
            raise InfeasibleError(
                f"{self.who}: {what} needs more than {limit:.0e} FLOPs ({train:.3g}), beyond what "
                "scalecli plans for; raise the target"
            )
