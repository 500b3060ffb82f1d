"""Constraints on a plan, as objects: each knows its name, how it limits training FLOPs at a model
size (for a budget), and how it bounds the model size (for a target loss).

The planner (planner._Solver) never names a constraint: it asks each for

* ``size_cap()``: an upper bound on N, or None;
* ``flops_cap(law, N, cond)``: the most training FLOPs allowed at size N (budget mode), or None;
* ``size_range(law, target, cond, lo, hi, upper)``: the part of [lo, hi] (ln N) where the target
  loss can be reached within the constraint (target mode; ``upper`` is the constraint that set
  ``hi``, for the message when nothing is left);
* ``violated(law, N, C, cond)``: whether a candidate (a closed form's answer) breaks it.

A new constraint is one class here, one row of options.OPTIONS and one line of
planner.constraints_for. Sizes are searched in x = ln N; ``need`` functions return
log(usage / limit), negative inside the constraint. Messages name fields (errors.ref), which
the CLI shows as flags and ``scale check`` as spec keys.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import numpy as np

from scalecli.errors import InfeasibleError, ref
from scalecli.laws.base import Conditions, Law
from scalecli.numerics import argmin_unimodal, crossing

TOLERANCE = 1e-9


class Constraint(ABC):
    name: str  # the name in a plan's `binding` list (and the option that sets it)
    limit: float

    def size_cap(self) -> float | None:
        return None

    def flops_cap(self, law: Law, params: np.ndarray, cond: Conditions) -> np.ndarray | None:
        return None

    @abstractmethod
    def size_range(
        self, law: Law, target: float, cond: Conditions, lo: float, hi: float, upper: Constraint | None
    ) -> tuple[float, float]:
        """The part of [lo, hi] (ln N) where ``target`` is reached within the constraint."""

    @abstractmethod
    def violated(self, law: Law, params: float, train_flops: float, cond: Conditions) -> bool: ...

    def describe(self) -> str:
        return f"{self.name} = {self.limit:.4g}"

    def _infeasible(self, who: str, target: float, upper: Constraint | None) -> InfeasibleError:
        within = f" within {upper.describe()}" if upper is not None else ""
        also = f" or {ref(upper.name)}" if upper is not None else ""
        return InfeasibleError(
            f"{who}: loss {target:g} cannot be reached with {self.describe()}{within}; "
            f"raise {ref(self.name)}{also} or the target"
        )


class MaxParams(Constraint):
    """N <= limit."""

    name = "max_params"

    def __init__(self, limit: float, name: str = "max_params") -> None:
        self.limit = limit
        self.name = name

    def size_cap(self) -> float:
        return self.limit

    def size_range(self, law, target, cond, lo, hi, upper):
        top = min(hi, math.log(self.limit))
        if top <= lo:
            raise InfeasibleError(
                f"{law.name}: no model within {self.describe()} reaches loss {target:g} (it needs more "
                f"than {math.exp(lo):.4g} params); raise {ref(self.name)} or the target"
            )
        return lo, top

    def violated(self, law, params, train_flops, cond):
        return params > self.limit * (1 + TOLERANCE)


class _UsageCap(Constraint):
    """A cap on something a run uses that falls as N grows at a fixed loss (tokens, steps): in
    target mode it is a lower bound on N."""

    def __init__(self, name: str, limit: float) -> None:
        self.name = name
        self.limit = limit

    @abstractmethod
    def usage(self, law: Law, params: np.ndarray, train: np.ndarray, cond: Conditions) -> np.ndarray: ...

    def size_range(self, law, target, cond, lo, hi, upper):
        def need(z: float) -> float:
            params = np.exp(np.array([z]))
            with np.errstate(all="ignore"):
                value = float(self.usage(law, params, law.flops_for_loss(params, target, cond), cond)[0])
            return (math.log(value) if math.isfinite(value) and value > 0 else 1e300) - math.log(self.limit)

        if need(hi) > 0:
            raise self._infeasible(law.name, target, upper)
        if need(lo) > 0:
            return max(lo, crossing(need, lo, hi)), hi
        return lo, hi

    def violated(self, law, params, train_flops, cond):
        value = float(self.usage(law, np.array([params]), np.array([train_flops]), cond)[0])
        return value > self.limit * (1 + TOLERANCE)


class TokenCap(_UsageCap):
    """Training tokens <= limit (max_tokens; unique_tokens for laws without a repeated-data model)."""

    def flops_cap(self, law, params, cond):
        return law.train_flops(params, self.limit)

    def usage(self, law, params, train, cond):
        return law.tokens_for_flops(params, train)


class StepCap(_UsageCap):
    """Optimizer steps <= limit (the steps of the law's batch, or its critical batch)."""

    def flops_cap(self, law, params, cond):
        return law.flops_for_steps(params, self.limit, cond)

    def usage(self, law, params, train, cond):
        return law.allocation(params, train, cond)[1]


class FlopsCap(Constraint):
    """Training FLOPs <= limit, whatever the size: days on K GPUs, or dollars, converted to FLOPs on
    the training hardware. At a fixed loss the FLOPs needed are least at one size, so in target
    mode it allows an interval of sizes around that one."""

    def __init__(self, name: str, limit: float, limit_flops: float, how: str) -> None:
        self.name = name
        self.limit = limit  # in the option's own unit (days, dollars)
        self.limit_flops = limit_flops
        self.how = how  # how the limit becomes FLOPs, for messages

    def describe(self) -> str:
        return f"{self.name} = {self.limit:.4g} ({self.how}: {self.limit_flops:.3g} training FLOPs)"

    def flops_cap(self, law, params, cond):
        return np.full_like(np.asarray(params, dtype=float), self.limit_flops)

    def size_range(self, law, target, cond, lo, hi, upper):
        def need(z) -> np.ndarray:
            with np.errstate(all="ignore"):
                flops = law.flops_for_loss(np.exp(np.asarray(z, dtype=float)), target, cond)
            return np.where(np.isfinite(flops), np.log(np.maximum(flops, 1e-300)), 1e300) - math.log(
                self.limit_flops
            )

        best = argmin_unimodal(need, lo, hi)
        if float(need(np.array([best]))[0]) > 0:
            raise self._infeasible(law.name, target, upper)

        def scalar(z: float) -> float:
            return float(need(np.array([z]))[0])

        left = crossing(scalar, lo, best) if scalar(lo) > 0 else lo
        right = crossing(scalar, best, hi) if scalar(hi) > 0 else hi
        return left, right

    def violated(self, law, params, train_flops, cond):
        return train_flops > self.limit_flops * (1 + TOLERANCE)
