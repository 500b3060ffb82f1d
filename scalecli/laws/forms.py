"""What a law family tells the fitter: its fit forms (inputs, parameters, log model, starts).

A fit form is data and numpy functions only; the optimiser in ``fitting/parametric.py`` is generic
over forms and over their number of inputs. Each family module defines its forms next to its
loss surface (``laws/chinchilla.py``, ``laws/kaplan.py``, ``laws/dynamics.py``), and the family
registry (``laws/__init__.py``) lists them.

A log model takes the internal coordinates ``c`` (floats, or (K, 1) columns for K vectors at once)
and the log inputs ``X = (ln x_1, ..., ln x_k)`` in the form's role order, and returns log L_hat
and, when ``jac``, d log L_hat / d c_i for every internal coordinate i (same order as ``c``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scalecli.errors import InputError

LogModel = Callable[[Sequence[Any], tuple[np.ndarray, ...], bool], tuple[np.ndarray, list[np.ndarray] | None]]
NaturalModel = Callable[[Mapping[str, float], tuple[np.ndarray, ...]], np.ndarray]
Columns = Callable[[Mapping[str, np.ndarray], tuple[np.ndarray, ...]], Mapping[str, np.ndarray]]

LN_1E9 = math.log(1e9)


def lse(*terms: np.ndarray, weights: bool = True) -> tuple[np.ndarray, list[np.ndarray]]:
    """Element-wise log(sum exp(t_k)) and, when ``weights``, the softmax weights exp(t_k - lse)."""
    m = terms[0]
    for t in terms[1:]:
        m = np.maximum(m, t)
    m = np.where(np.isfinite(m), m, 0.0)
    exps = [np.exp(t - m) for t in terms]
    s = exps[0]
    for x in exps[1:]:
        s = s + x
    out = m + np.log(s)
    if not weights:
        return out, []
    return out, [x / s for x in exps]


def steps(lo: float, hi: float, step: float) -> tuple[float, ...]:
    return tuple(float(x) for x in np.round(np.arange(lo, hi + step / 2, step), 12))


# Hoffmann et al.'s initialisation grid (Approach 3): exponents 0..2, e -1..1, scales 0..25.
HOFFMANN_EXP = steps(0.0, 2.0, 0.5)
HOFFMANN_E = steps(-1.0, 1.0, 0.5)
HOFFMANN_SCALE = steps(0.0, 25.0, 5.0)
# Exponents searched by variable projection (Czech 2026, Open-Athena/scaling-law-analysis:
# a 32 x 32 grid from 0.05 to 0.95, then Nelder-Mead)
VP_EXPONENTS = tuple(float(x) for x in np.linspace(0.05, 0.95, 32))


@dataclass(frozen=True)
class Schedule:
    """How many of the ranked starts get a local L-BFGS-B run, and how long each may run."""

    batch: int = 8
    min_starts: int = 32
    min_basin_hits: int = 3
    max_fraction: float = 0.05
    min_cap: int = 64
    maxiter: int = 15000


@dataclass(frozen=True)
class Projection:
    """Starts by variable projection: the model is linear in the coefficients ``linear`` (natural
    names, positive) once the parameters of ``nonlinear`` are fixed, so for every point of the
    small ``nonlinear`` grid the coefficients come from a non-negative least-squares fit.
    ``columns(values, X)`` gives the column multiplying each linear coefficient, for nonlinear
    values given as (K, 1) arrays, as (K, P) or (1, P) arrays."""

    linear: tuple[str, ...]
    nonlinear: tuple[tuple[str, tuple[float, ...]], ...]
    columns: Columns
    keep: int = 256  # starts handed on to the ranking by the objective


@dataclass(frozen=True)
class FitForm:
    """One parametric form: input roles, the internal <-> natural map, the starts and the model."""

    name: str
    family: str
    roles: tuple[str, ...]  # the inputs, in the order fit/predict take them (data roles)
    internal: tuple[str, ...]  # internal coordinates, in the order of the theta vector
    natural: tuple[str, ...]  # natural parameter for each internal coordinate (same order)
    log_scale: tuple[bool, ...]  # natural = exp(internal) where True, identity where False
    display: tuple[str, ...]  # order of natural names in FitResult.params
    grid_axes: tuple[tuple[float, ...], ...]  # per internal coordinate: the product grid of starts
    log_model: LogModel
    model: NaturalModel
    # L-BFGS-B lower bound per internal coordinate (None: unbounded). A coordinate with a floor
    # can only be pinned to a value > 0; the others may be pinned to any finite value.
    lower: tuple[float | None, ...] | None = None
    projection: Projection | None = None  # starts by variable projection instead of the grid
    # the linear/nonlinear split parametric.fit_projected searches (default: ``projection``)
    profile: Projection | None = None
    schedule: Schedule = field(default_factory=Schedule)
    # each loss exponent: (name, the input the loss falls with, what it scales with for the regime
    # reading of a fit, Bahri et al. 2024)
    exponents: tuple[tuple[str, str, str], ...] = ()

    @property
    def n(self) -> int:
        return len(self.internal)

    def grid(self) -> np.ndarray:
        return np.array(list(itertools.product(*self.grid_axes)), dtype=float)

    def floor(self, i: int) -> float | None:
        return None if self.lower is None else self.lower[i]

    def to_internal(self, name: str, value: float) -> float:
        i = self.natural.index(name)
        if self.log_scale[i]:
            if not value > 0:
                raise InputError(f"{self.name}: {name} must be > 0 to be pinned (got {value})")
            return math.log(value)
        if self.floor(i) is not None and not value > 0:
            raise InputError(f"{self.name}: pinned exponent {name} must be > 0 (got {value})")
        return float(value)

    def bounds(self, free: Sequence[int]) -> list[tuple[float | None, float | None]] | None:
        if self.lower is None:
            return None
        return [(self.lower[i], None) for i in free]

    def logpred(self, T: np.ndarray, X: tuple[np.ndarray, ...]) -> np.ndarray:
        """log L_hat for K internal vectors T (K, n) at P points (X = log inputs, each (P,)): (K, P)."""
        c = [T[:, i : i + 1] for i in range(self.n)]
        return self.log_model(c, X, False)[0]

    def logpred_jac(self, t: np.ndarray, X: tuple[np.ndarray, ...]) -> tuple[np.ndarray, list[np.ndarray]]:
        """log L_hat at one internal vector, and d log L_hat / d t_k for every coordinate k."""
        lp, cols = self.log_model([float(x) for x in t], X, True)
        assert cols is not None
        return lp, cols

    def predict(self, p: Mapping[str, float], inputs: Sequence) -> np.ndarray:
        """Model loss at natural parameters ``p``; ``inputs`` one array (or number) per role."""
        X = inputs_tuple(self, inputs)
        return self.model(p, tuple(np.asarray(x, dtype=float) for x in X))


def inputs_tuple(form: FitForm, inputs) -> tuple:
    if isinstance(inputs, (str, bytes)) or not hasattr(inputs, "__len__") or not hasattr(inputs, "__iter__"):
        raise InputError(
            f"{form.name}: inputs must be a sequence of {len(form.roles)} arrays "
            f"({', '.join(form.roles)}), got {type(inputs).__name__}"
        )
    cols = tuple(inputs)
    if len(cols) != len(form.roles):
        raise InputError(
            f"{form.name}: expected {len(form.roles)} inputs ({', '.join(form.roles)}), got {len(cols)}"
        )
    return cols


def log_additive(c, X, jac: bool):
    """E + A·x1^-alpha + B·x2^-beta in log space: log L = LSE(a - alpha u, b - beta v, e)
    (chinchilla with x2 = D, dynamics with x2 = S)."""
    a, b, e, alpha, beta = c
    u, v = X
    t1 = a - alpha * u
    t2 = b - beta * v
    t3 = e + 0.0 * u
    if not jac:
        return lse(t1, t2, t3, weights=False)[0], None
    out, (w1, w2, w3) = lse(t1, t2, t3)
    return out, [w1, w2, w3, -w1 * u, -w2 * v]
