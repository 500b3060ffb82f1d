"""What a law family is: its parameters, its loss surface (a ``Law``), its fit forms, its compute
model, its notes. One module per family (``laws/<family>.py``) defines a ``Family`` and the
registry in ``laws/__init__.py`` lists them; planner, predict, sweep, fitting and presets ask
the registry, never a family by name.

Conventions shared by all families (docs/laws.md): ``params`` is N in the law's own convention,
``tokens`` D, ``steps`` optimizer steps, ``batch`` tokens per step. Training compute and serving
compute come from the law (``train_flops``, ``serve_flops``; by default 6·N·D and 2·N·T from
``compute``), so a family can redefine them. All array methods are vectorised over params.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from scalecli.compute import inference_flops, training_flops
from scalecli.errors import InputError, suggest
from scalecli.laws.batch import BatchRule
from scalecli.units import parse_number

if TYPE_CHECKING:
    from scalecli.laws.forms import FitForm

Array = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike


@dataclass(frozen=True)
class Conditions:
    """What the law sees beyond the budget: the batch rule, unique data, and per-plan settings
    (numerical precision, and any family-specific ``extra`` values)."""

    batch: BatchRule = field(default_factory=BatchRule)
    unique_tokens: float | None = None
    allow_repeats: bool = False
    precision: str | None = None
    extra: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Param:
    """One parameter of a family: its name, what it means, its unit and the values it may take."""

    name: str
    meaning: str
    unit: str = ""
    kind: str = "scale"  # scale (> 0), exponent (EXPONENT_RANGE), loss (>= 0), signed (any finite)
    optional: bool = False


class Law(ABC):
    """A loss surface over model size and training compute. Subclasses set ``family`` and
    ``params_schema`` and implement the abstract methods; the rest has working defaults."""

    family: ClassVar[str] = ""
    params_schema: ClassVar[tuple[Param, ...]] = ()
    params_convention: ClassVar[str] = "total parameters (embeddings included)"
    # True when steps and batch come from the law itself rather than a batch rule.
    law_sets_batch: ClassVar[bool] = False
    # True when the law values repeated tokens itself (no hard unique-data cap needed).
    models_repeats: bool = False
    # True when params are active parameters and the law applies a cap on total parameters itself
    # (Conditions.extra["max_total_params"]), as a mixture of experts does.
    caps_total_params: ClassVar[bool] = False
    irreducible_loss: float = 0.0

    def __init__(self, params: Mapping[str, object], name: str = "") -> None:
        self.name = name or self.family
        self.params: dict[str, float] = self.validate(params)

    # ----- schema ------------------------------------------------------------------------------
    @classmethod
    def required(cls) -> tuple[str, ...]:
        return tuple(p.name for p in cls.params_schema if not p.optional)

    @classmethod
    def optional(cls) -> tuple[str, ...]:
        return tuple(p.name for p in cls.params_schema if p.optional)

    @classmethod
    def validate(cls, params: object) -> dict[str, float]:
        """Parse every value with the one number parser; reject unknown or missing names."""
        return validate_params(cls.family, cls.params_schema, params)

    # ----- the compute model (compute.py's 6·N·D and 2·N·T unless a family says otherwise) -----
    def train_flops(self, params: ArrayLike, tokens: ArrayLike) -> Array:
        return np.asarray(training_flops(np.asarray(params, dtype=float), np.asarray(tokens, dtype=float)))

    def tokens_for_flops(self, params: ArrayLike, train_flops: ArrayLike) -> Array:
        """Tokens D a model of size N trains on with ``train_flops`` (the inverse of train_flops)."""
        return np.asarray(train_flops, dtype=float) / self.train_flops(params, 1.0)

    def serve_flops(self, params: ArrayLike, tokens: ArrayLike) -> Array:
        return np.asarray(inference_flops(np.asarray(params, dtype=float), np.asarray(tokens, dtype=float)))

    def params_for_flops(self, train_flops: float, tokens: float) -> float:
        """The size N whose training on ``tokens`` costs ``train_flops`` (train_flops inverted in
        N; linear in N unless a family's compute model says otherwise)."""
        return float(train_flops / self.train_flops(1.0, tokens))

    def params_for_serve_flops(self, serve_flops: float, tokens: float) -> float:
        """The size N whose serving of ``tokens`` costs ``serve_flops``."""
        return float(serve_flops / self.serve_flops(1.0, tokens))

    # ----- what the planner needs ----------------------------------------------------------------
    @abstractmethod
    def loss_on_budget(self, params: ArrayLike, train_flops: ArrayLike, cond: Conditions) -> Array:
        """Loss of a model of size N that spends all of ``train_flops`` on training."""

    @abstractmethod
    def flops_for_loss(self, params: ArrayLike, loss: float, cond: Conditions) -> Array:
        """Least training FLOPs for a model of size N to reach ``loss``; inf if it cannot."""

    @abstractmethod
    def loss_floor(self, params: ArrayLike, cond: Conditions) -> Array:
        """Loss of size N trained without limit (the best it can ever reach)."""

    def allocation(
        self, params: ArrayLike, train_flops: ArrayLike, cond: Conditions
    ) -> tuple[Array, Array, Array]:
        """(tokens, steps, batch_tokens) of that run: tokens from the compute model, batch from the
        batch rule."""
        params = np.asarray(params, dtype=float)
        tokens = self.tokens_for_flops(params, train_flops)
        batch = cond.batch.batch_tokens(params, tokens)
        return tokens, tokens / batch, batch

    def tokens_for_steps(self, params: ArrayLike, steps: ArrayLike, cond: Conditions) -> Array:
        """Tokens of a run of ``steps`` optimizer steps at size N (the batch rule's mapping)."""
        return cond.batch.tokens_for_steps(params, steps)

    def flops_for_steps(self, params: ArrayLike, steps: ArrayLike, cond: Conditions) -> Array:
        """Training FLOPs of a run of ``steps`` optimizer steps at size N."""
        return self.train_flops(params, self.tokens_for_steps(params, steps, cond))

    def closed_form_params(self, train_flops: ArrayLike, cond: Conditions) -> Array | None:
        """Compute-optimal N at these budgets (array in, array out) in closed form, or None."""
        return None

    def closed_form_flops(self, loss: float, cond: Conditions) -> float | None:
        """Least training FLOPs to reach ``loss`` in closed form, or None."""
        return None

    def predict(
        self, params: float, tokens: float | None, steps: float | None, cond: Conditions
    ) -> dict[str, float]:
        """Loss, tokens, steps, batch and training FLOPs of a given (N, D) or (N, S).

        The same mapping the planner uses: D = tokens_for_steps(N, S) and the loss of a run
        that spends train_flops(N, D), so predicting at a plan's (N, D) returns its loss.
        """
        n = np.array([float(params)])
        if tokens is None:
            assert steps is not None
            tokens = float(self.tokens_for_steps(n, np.array([float(steps)]), cond)[0])
        flops = float(self.train_flops(n, tokens)[0])
        _, run_steps, batch = self.allocation(n, flops, cond)
        return {
            "loss": float(self.loss_on_budget(n, flops, cond)[0]),
            "tokens": tokens,
            "steps": float(run_steps[0]) if steps is None else float(steps),
            "batch_tokens": float(batch[0]),
            "train_flops": flops,
        }

    def for_conditions(self, cond: Conditions) -> Law:
        """The law as this plan's settings configure it (e.g. a training precision); itself by default."""
        return self

    def discrete_options(self, cond: Conditions) -> list[dict[str, float]]:
        """Values of a discrete dimension of the allocation (Conditions.extra overrides) the planner
        solves one by one and compares; one option (no override) for most laws."""
        return [{}]

    def params_caps(self, cond: Conditions) -> dict[str, float]:
        """Caps on the law's own N that one option implies, by the name the plan reports when
        they bind (e.g. a total-parameter cap as a cap on a mixture of experts' active size)."""
        return {}

    def extras(self, params: float, train_flops: float, cond: Conditions) -> dict[str, float]:
        """Plan fields beyond N and D a family adds at its optimum (e.g. experts, total params)."""
        return {}

    def optimum_notes(self, params: float, tokens: float, extras: dict[str, float]) -> list[str]:
        """Notes on one optimum (its extras included), beyond the law's general notes."""
        return []

    def notes(self) -> list[str]:
        return [f"params are {self.params_convention}"]


def validate_params(family: str, schema: Sequence[Param], params: object) -> dict[str, float]:
    """A family's parameters from a preset (or draw): every value through the one number parser;
    unknown or missing names refused."""
    if not isinstance(params, Mapping):
        raise InputError(f"{family} law: 'params' must be a mapping of names to numbers")
    by_name = {p.name: p for p in schema}
    required = [p.name for p in schema if not p.optional]
    out: dict[str, float] = {}
    for key, value in params.items():
        if key not in by_name:
            raise InputError(
                f"{family} law: unknown parameter {key!r}{suggest(str(key), by_name)}; "
                f"expected {', '.join(required)}"
            )
        signed = by_name[key].kind == "signed"
        out[key] = parse_number(value, f"{family} parameter {key}", allow_zero=True, positive=not signed)
    missing = [k for k in required if k not in out]
    if missing:
        raise InputError(f"{family} law: missing parameter(s) {', '.join(missing)}")
    return out


@runtime_checkable
class AllocationLaw(Protocol):
    """A preset that allocates a budget without a loss surface (an empirical frontier): it answers
    --flops plans and sweeps, not predictions or targets. The planner's one dispatch on the kind of
    law tells the two apart (planner.surface)."""

    name: str
    family: str
    params: dict[str, float]

    @property
    def sets_batch(self) -> bool: ...

    def allocate(self, train_flops: ArrayLike, batch_rule: BatchRule) -> dict[str, Array]: ...

    def own_laws(self, train_flops: float) -> dict[str, float]: ...


@dataclass(frozen=True)
class FitVariant:
    """What ``scale fit --law NAME`` fits for a family: its forms in order of preference (each is
    fitted when the data have its input columns; the first fitted is the one the preset is written
    from), what to tell a user whose data have none, and the family's hooks around the fit."""

    name: str
    forms: tuple[str, ...]
    needs: str = ""  # the columns it needs, in words, for the error message
    # The data as the law sees them (e.g. Kaplan's S_min from steps and a batch column): new columns
    # and a note for the report, or None to fit the data as they are.
    prepare: (
        Callable[[Mapping[str, Array], Mapping[str, float]], tuple[dict[str, Array], str] | None] | None
    ) = None
    # The law's own predictions of held-out rows when the data were prepared (implicit laws).
    predict: Callable[[Mapping[str, float], Mapping[str, Array], Mapping[str, float]], Array] | None = None


@dataclass(frozen=True)
class Family:
    """A law family: everything the rest of scalecli needs to know about it."""

    name: str
    summary: str
    params: tuple[Param, ...]  # the family's parameters (names, meaning, units, kind)
    make: Callable[[Mapping[str, object], str], Law]  # the law object for a preset's params
    forms: tuple[FitForm, ...] = ()
    variants: tuple[FitVariant, ...] = ()
    # the preset's params from the fitted forms (form name -> params, the primary form first) and
    # the pinned values; by default the primary form's params
    preset_params: Callable[[dict[str, dict[str, float]], Mapping[str, float]], dict[str, float]] | None = (
        None
    )
    # warnings on a fit's parameters (e.g. outside the theory's regime)
    fit_warnings: Callable[[str, Mapping[str, float]], list[str]] | None = None
    # extra readings of a fit stored in the preset (e.g. the spectral exponents of dynamics)
    fit_readings: Callable[[str, Mapping[str, float]], dict[str, Any]] | None = None
    # pins a fit always applies unless --fix says otherwise (e.g. Kaplan's critical batch)
    default_pins: Mapping[str, float] = field(default_factory=dict)
    # what N counts unless a preset says otherwise (shape.PARAMS_CONVENTIONS)
    params_convention: str = "total"
    # published parameters at which the fit forms are checked when no shipped preset carries
    # a form's parameters (tests/test_contract.py)
    fit_example: Mapping[str, float] | None = None

    def validate(self, params: object) -> dict[str, float]:
        return validate_params(self.name, self.params, params)


def power_law_optimum(coef_n: float, alpha: float, coef_d: float, beta: float):
    """Minimise coef_n·x^-alpha + coef_d·y^-beta subject to x·y = K (Hoffmann et al. eq. 4).

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
