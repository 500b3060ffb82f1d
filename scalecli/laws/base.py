"""What every law provides: the loss along a compute budget, its inverse, and a schema.

Conventions shared by all families (REFERENCE.md §0): ``params`` is N in the law's own
convention, ``tokens`` D, ``steps`` optimizer steps, ``batch`` tokens per step, and training
compute is 6·N·D FLOPs (REFERENCE §1.5, §2.5). All array methods are vectorised over params.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from scalecli.errors import InputError
from scalecli.laws.batch import BatchRule
from scalecli.units import parse_number


@dataclass(frozen=True)
class Conditions:
    """What the user knows beyond the budget: batch choice and unique data."""

    batch: BatchRule = field(default_factory=BatchRule)
    unique_tokens: float | None = None
    allow_repeats: bool = False


class Law:
    """Base class. Subclasses set the schema and implement the array methods below."""

    family: ClassVar[str] = ""
    required: ClassVar[tuple[str, ...]] = ()
    optional: ClassVar[tuple[str, ...]] = ()
    signed: ClassVar[tuple[str, ...]] = ()  # parameters that may be negative
    params_convention: ClassVar[str] = "total parameters (embeddings included)"
    # True when steps and batch come from the law itself rather than a batch rule.
    law_sets_batch: ClassVar[bool] = False
    # True when the law values repeated tokens itself (no hard unique-data cap needed).
    models_repeats: ClassVar[bool] = False

    def __init__(self, params: dict[str, object], name: str = "") -> None:
        self.name = name or self.family
        self.params = self.validate(params)

    # ----- schema -------------------------------------------------------------------------
    @classmethod
    def validate(cls, params: dict[str, object]) -> dict[str, float]:
        """Parse every value with the one number parser; reject unknown or missing names."""
        if not isinstance(params, dict):
            raise InputError(f"{cls.family} law: 'params' must be a mapping of names to numbers")
        known = set(cls.required) | set(cls.optional)
        out: dict[str, float] = {}
        for key, value in params.items():
            if key not in known:
                raise InputError(
                    f"{cls.family} law: unknown parameter {key!r}{suggest(str(key), known)}; "
                    f"expected {', '.join(cls.required)}"
                )
            out[key] = parse_number(
                value, f"{cls.family} parameter {key}", allow_zero=True, positive=key not in cls.signed
            )
        missing = [k for k in cls.required if k not in out]
        if missing:
            raise InputError(f"{cls.family} law: missing parameter(s) {', '.join(missing)}")
        return out

    # ----- what the planner needs ----------------------------------------------------------
    irreducible_loss: float = 0.0

    def loss_on_budget(self, params, train_flops, cond: Conditions):
        """Loss of a model of size N that spends all of ``train_flops`` on training."""
        raise NotImplementedError

    def allocation(self, params, train_flops, cond: Conditions):
        """(tokens, steps, batch_tokens) of that run: D = C/(6N), batch from the batch rule."""
        params = np.asarray(params, dtype=float)
        tokens = train_flops / (6.0 * params)
        batch = cond.batch.batch_tokens(params, tokens)
        return tokens, tokens / batch, batch

    def tokens_for_steps(self, params, steps, cond: Conditions):
        """Tokens of a run of ``steps`` optimizer steps at size N (the batch rule's mapping)."""
        return cond.batch.tokens_for_steps(params, steps)

    def flops_for_loss(self, params, loss, cond: Conditions):
        """Least training FLOPs for a model of size N to reach ``loss``; inf if it cannot."""
        raise NotImplementedError

    def flops_for_steps(self, params, steps, cond: Conditions):
        """Training FLOPs of a run of ``steps`` optimizer steps at size N."""
        return 6.0 * np.asarray(params, dtype=float) * self.tokens_for_steps(params, steps, cond)

    def loss_floor(self, params, cond: Conditions):
        """Loss of size N trained without limit (the best it can ever reach)."""
        raise NotImplementedError

    def closed_form_params(self, train_flops, cond: Conditions):
        """Compute-optimal N at these budgets (array in, array out) in closed form, or None."""
        return None

    def closed_form_flops(self, loss: float, cond: Conditions) -> float | None:
        """Least training FLOPs to reach ``loss`` in closed form, or None."""
        return None

    def predict(
        self, params: float, tokens: float | None, steps: float | None, cond: Conditions
    ) -> dict[str, float | None]:
        """Loss, tokens, steps, batch and training FLOPs of a given (N, D) or (N, S).

        The same mapping the planner uses: D = tokens_for_steps(N, S) and the loss of a run
        that spends 6·N·D on training, so predicting at a plan's (N, D) returns its loss.
        """
        n = np.array([float(params)])
        if tokens is None:
            tokens = float(self.tokens_for_steps(n, np.array([float(steps)]), cond)[0])  # type: ignore[arg-type]
        flops = 6.0 * float(params) * tokens
        _, run_steps, batch = self.allocation(n, flops, cond)
        return {
            "loss": float(self.loss_on_budget(n, flops, cond)[0]),
            "tokens": tokens,
            "steps": float(run_steps[0]) if steps is None else float(steps),
            "batch_tokens": float(batch[0]),
            "train_flops": flops,
        }

    def notes(self) -> list[str]:
        return [f"params are {self.params_convention}"]


def suggest(word: str, choices) -> str:
    """' (did you mean 'x'?)' when a close match exists, else ''."""
    import difflib

    match = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def power_law_optimum(coef_n: float, alpha: float, coef_d: float, beta: float):
    """Minimise coef_n·x^-alpha + coef_d·y^-beta subject to x·y = K (REFERENCE §2.2, §6.5).

    Returns (G, a, b, K_loss): x* = G·K^a, y* = K^b / G, and the reducible loss at the optimum
    K_loss·K^(-alpha·beta/(alpha+beta)).
    """
    with np.errstate(all="ignore"):  # numpy floats: overflow gives inf, checked below
        G = float(np.float64(alpha * coef_n / (beta * coef_d)) ** (1.0 / (alpha + beta)))
        a = beta / (alpha + beta)
        b = alpha / (alpha + beta)
        k_loss = float(coef_n * np.float64(G) ** (-alpha) + coef_d * np.float64(G) ** beta)
    if not (math.isfinite(G) and G > 0 and math.isfinite(k_loss) and k_loss > 0):
        raise InputError(
            "the parameters give no finite compute-optimal allocation (the prefactors and exponents "
            "overflow double precision); check the values"
        )
    return G, a, b, k_loss


# Exponents scalecli accepts in a law: published ones lie between 0.03 and 2.5; beyond these the
# closed forms overflow double precision (1/(alpha + beta) is a power).
EXPONENT_RANGE = (1e-4, 20.0)


def check_exponents(law: Law, *names: str) -> None:
    check_exponent_values(law, {name: law.params[name] for name in names})


def check_exponent_values(law: Law, values: dict[str, float]) -> None:
    lo, hi = EXPONENT_RANGE
    for name, value in values.items():
        if not value > 0:
            raise InputError(f"{law.family} law {law.name!r}: exponent {name} must be > 0, got {value}")
        if not lo <= value <= hi:
            raise InputError(
                f"{law.family} law {law.name!r}: exponent {name} = {value:g} is outside the range scalecli "
                f"accepts ({lo:g} to {hi:g})"
            )
