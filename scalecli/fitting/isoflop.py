"""IsoFLOP profiles ("Approach 2" of Hoffmann et al. 2022): compute-optimal N*(C) and D*(C).

Method (REFERENCE.md §2.3; the test recipe of shared/data/porian-isoflop/SOURCE.md, "Planner
(Approach 2) test"):

1. Runs are grouped into FLOP budgets (:func:`group_budgets`): real CSVs rarely carry
   bit-identical FLOPs, so runs whose ln C lie within ln(1 + rel_tol) of a neighbour share a budget.
2. At each budget the loss is fitted as a parabola in x = ln N through the runs at the
   ``points_per_parabola`` distinct sizes nearest (in x) to the lowest-loss run. The budget is
   skipped ("edge") if the lowest-loss run is at the smallest or largest size sampled at that
   budget, if the parabola opens downward, or if its vertex lies outside the sampled sizes.
   Otherwise N* = exp(vertex) and L* is the parabola's minimum.
3. D* = C / (6 N*); if per-run token counts are given, D* is read off a least-squares line of
   ln D on ln N through the same runs, evaluated at the vertex (identical when D = C / (6 N)).
4. Unweighted least-squares lines ln N* = ln n_coef + a ln C and ln D* = ln tokens_coef + b ln C.
5. Optional bootstrap: runs are resampled with replacement within each budget, steps 2-4 are
   repeated, and percentile intervals of a and b are reported. Draws leaving fewer than two
   usable budgets are dropped and counted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from scalecli.errors import InputError
from scalecli.numerics import percentile_interval

ArrayLike = Sequence[float] | np.ndarray
Progress = Callable[[int, int], None]

# Why a budget was skipped (BudgetOptimum.reason).
EDGE_SMALLEST = "minimum at the smallest size sampled"
EDGE_LARGEST = "minimum at the largest size sampled"
EDGE_CONCAVE = "parabola opens downward"
EDGE_OUTSIDE = "parabola vertex outside the sizes sampled"

# A parabola fitted to an IsoFLOP profile is biased when the sizes reach far from the optimum or
# sit off-centre around it: the profile is not a parabola in ln N unless alpha = beta, and the
# bias grows with the width (Czech 2026, Open-Athena/scaling-law-analysis: D* off by -1.3% for
# sizes within ±4x on Chinchilla's surface, -5.1% within ±16x). Grids of about ±4x centred on the
# optimum are what Porian et al. 2024 and Choshen et al. 2024 recommend.
GRID_FACTOR = 4.0
OFF_CENTRE = 2.0  # one side of the grid more than twice as wide (in ln N) as the other
MIN_SHIFT = 0.005  # a vertex that moves less than 0.5% of N* when centred is not reported
SLACK = 1.25  # a grid of ±4x around the prior optimum is ±4x of the fitted one only within a margin


@dataclass
class BudgetOptimum:
    """The fitted optimum of one isoFLOP profile."""

    flops: float  # the budget (median FLOPs of the runs in the group)
    params: float | None  # vertex of the parabola in ln N (None if the minimum is at an edge)
    tokens: float | None  # flops / (6 * params), or interpolated from the runs' tokens
    loss: float | None  # parabola's minimum loss
    points: int  # runs in this budget group
    used: int  # runs used in the parabola (0 when skipped)
    edge: bool  # minimum at the smallest/largest size sampled -> budget skipped
    reason: str | None = None  # why the budget was skipped (None when it was used)
    # a grid wide or off-centre around the vertex (grid_warnings): N* refitted on a centred window
    centred_params: float | None = None


@dataclass
class IsoflopResult:
    optima: list[BudgetOptimum]
    n_exponent: float  # a in N* = n_coef * C^a
    n_coef: float
    tokens_exponent: float  # b in D* = tokens_coef * C^b
    tokens_coef: float
    n_exponent_interval: tuple[float, float] | None  # bootstrap percentile interval (None if no bootstrap)
    tokens_exponent_interval: tuple[float, float] | None
    level: float
    budgets_used: int
    bootstrap: int = 0  # bootstrap draws requested
    bootstrap_dropped: int = 0  # draws dropped because fewer than 2 budgets had an interior minimum
    grid_warnings: list[str] = field(default_factory=list)  # grids wide or off-centre enough to bias
    n_exponent_central: float | None = None  # a with the flagged budgets' centred N* (BudgetOptimum)

    def to_dict(self) -> dict:
        """Plain JSON-able data (floats, ints, strings, lists, None)."""

        def interval(iv: tuple[float, float] | None) -> list[float] | None:
            return None if iv is None else [float(iv[0]), float(iv[1])]

        return {
            "method": "isoflop",
            "n_exponent": float(self.n_exponent),
            "n_coef": float(self.n_coef),
            "tokens_exponent": float(self.tokens_exponent),
            "tokens_coef": float(self.tokens_coef),
            "n_exponent_interval": interval(self.n_exponent_interval),
            "tokens_exponent_interval": interval(self.tokens_exponent_interval),
            "level": float(self.level),
            "budgets": len(self.optima),
            "budgets_used": int(self.budgets_used),
            "bootstrap": int(self.bootstrap),
            "bootstrap_dropped": int(self.bootstrap_dropped),
            "optima": [_plain(asdict(o)) for o in self.optima],
            "n_exponent_central": self.n_exponent_central,
            "grid_warnings": list(self.grid_warnings),
        }


def _plain(d: dict) -> dict:
    out: dict[str, Any] = {}
    for key, value in d.items():
        if isinstance(value, (bool, np.bool_)):
            out[key] = bool(value)
        elif isinstance(value, (int, np.integer)):
            out[key] = int(value)
        elif isinstance(value, (float, np.floating)):
            out[key] = float(value)
        else:
            out[key] = value
    return out


def _positive_array(values: ArrayLike, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"isoflop fit: {name} must be numbers") from exc
    if arr.ndim != 1:
        raise InputError(f"isoflop fit: {name} must be a one-dimensional list of numbers")
    bad = ~(np.isfinite(arr) & (arr > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"isoflop fit: {name} must be finite and positive; run {i + 1} has {arr[i]:g}"
            + (f" ({int(bad.sum())} bad values in all)" if bad.sum() > 1 else "")
        )
    return arr


def group_budgets(flops: ArrayLike, rel_tol: float = 0.05) -> np.ndarray:
    """Integer budget id per run (0, 1, ... in increasing FLOPs).

    Runs are sorted by ln C and a new budget starts wherever two consecutive runs differ by more
    than ln(1 + rel_tol). Jitter around a nominal budget therefore stays in one group however
    many runs there are, while distinct budgets (usually a factor of 2 or more apart) separate.
    """
    if not (math.isfinite(rel_tol) and rel_tol >= 0):
        raise InputError(f"isoflop fit: budget tolerance must be a finite number >= 0, got {rel_tol}")
    c = _positive_array(flops, "flops")
    if c.size == 0:
        return np.zeros(0, dtype=int)
    log_c = np.log(c)
    order = np.argsort(log_c, kind="stable")
    gaps = np.diff(log_c[order])
    sorted_ids = np.concatenate(([0], np.cumsum(gaps > math.log1p(rel_tol))))
    ids = np.empty(c.size, dtype=int)
    ids[order] = sorted_ids
    return ids


@dataclass
class _Vertex:
    x: float | None  # ln N*
    log_tokens: float | None  # ln D*
    loss: float | None
    used: int
    reason: str | None
    span: tuple[float, float] | None = None  # smallest and largest ln N the parabola went through


def _budget_vertex(
    x: np.ndarray, y: np.ndarray, log_tokens: np.ndarray | None, log_c: float, k: int
) -> _Vertex:
    """Parabola in x = ln N through the runs at the k distinct sizes nearest the lowest-loss run."""
    sizes = np.unique(x)
    i_min = int(np.argmin(y))
    x_min = x[i_min]
    if x_min == sizes[0]:
        return _Vertex(None, None, None, 0, EDGE_SMALLEST)
    if x_min == sizes[-1]:
        return _Vertex(None, None, None, 0, EDGE_LARGEST)
    nearest = sizes[np.argsort(np.abs(sizes - x_min), kind="stable")[:k]]
    sel = np.isin(x, nearest)
    u = x[sel] - x_min  # centred for conditioning
    design = np.column_stack((u * u, u, np.ones_like(u)))
    (c2, c1, c0), *_ = np.linalg.lstsq(design, y[sel], rcond=None)
    if not c2 > 0:
        return _Vertex(None, None, None, 0, EDGE_CONCAVE)
    u_star = -c1 / (2.0 * c2)
    x_star = x_min + u_star
    if not sizes[0] <= x_star <= sizes[-1]:
        return _Vertex(None, None, None, 0, EDGE_OUTSIDE)
    loss_star = c0 - c1 * c1 / (4.0 * c2)
    if log_tokens is None:
        lt_star = log_c - math.log(6.0) - x_star
    else:
        slope, intercept = np.polyfit(u, log_tokens[sel], 1)
        lt_star = intercept + slope * u_star
    span = (float(nearest.min()), float(nearest.max()))
    return _Vertex(float(x_star), float(lt_star), float(loss_star), int(sel.sum()), None, span)


def _line(log_c: np.ndarray, log_v: np.ndarray) -> tuple[float, float]:
    """Unweighted least-squares slope and intercept of log_v on log_c."""
    slope, intercept = np.polyfit(log_c, log_v, 1)
    return float(slope), float(intercept)


def _fit_groups(
    groups: list[np.ndarray],
    log_c_rep: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    lt: np.ndarray | None,
    k: int,
) -> list[_Vertex]:
    return [
        _budget_vertex(x[g], y[g], None if lt is None else lt[g], float(log_c_rep[j]), k)
        for j, g in enumerate(groups)
    ]


def _exponents(vertices: list[_Vertex], log_c_rep: np.ndarray) -> tuple[float, float, float, float] | None:
    ok = [j for j, v in enumerate(vertices) if v.x is not None]
    if len(ok) < 2:
        return None
    lc = log_c_rep[ok]
    a, ln_n = _line(lc, np.array([vertices[j].x for j in ok]))
    b, ln_d = _line(lc, np.array([vertices[j].log_tokens for j in ok]))
    return a, ln_n, b, ln_d


def fit_isoflop(
    flops: ArrayLike,
    params: ArrayLike,
    loss: ArrayLike,
    *,
    tokens: ArrayLike | None = None,
    points_per_parabola: int = 5,
    rel_tol: float = 0.05,
    bootstrap: int = 0,
    seed: int = 0,
    level: float = 0.9,
    progress: Progress | None = None,
) -> IsoflopResult:
    """Fit N*(C) = n_coef * C^a and D*(C) = tokens_coef * C^b from isoFLOP runs (see module doc)."""
    c = _positive_array(flops, "flops")
    n = _positive_array(params, "params")
    y = _positive_array(loss, "loss")
    d = None if tokens is None else _positive_array(tokens, "tokens")
    lengths = {len(c), len(n), len(y)} | ({len(d)} if d is not None else set())
    if len(lengths) != 1:
        raise InputError("isoflop fit: flops, params, loss (and tokens) must have one value per run")
    if c.size == 0:
        raise InputError("isoflop fit: no runs given")
    if isinstance(points_per_parabola, bool) or int(points_per_parabola) != points_per_parabola:
        raise InputError(f"isoflop fit: points per parabola must be an integer, got {points_per_parabola}")
    k = int(points_per_parabola)
    if k < 3:
        raise InputError(f"isoflop fit: a parabola needs at least 3 points, got {k}")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0:
        raise InputError(f"isoflop fit: bootstrap draws must be an integer >= 0, got {bootstrap}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"isoflop fit: the seed must be a whole number >= 0, got {seed!r}")
    if not 0.0 < level < 1.0:
        raise InputError(f"isoflop fit: interval level must be between 0 and 1 (exclusive), got {level}")

    ids = group_budgets(c, rel_tol)
    groups = [np.flatnonzero(ids == j) for j in range(int(ids.max()) + 1)]
    flops_rep = np.array([float(np.median(c[g])) for g in groups])
    log_c_rep = np.log(flops_rep)
    x = np.log(n)
    lt = None if d is None else np.log(d)

    vertices = _fit_groups(groups, log_c_rep, x, y, lt, k)
    grid_warnings, centred, a_central = _grid_check(groups, flops_rep, log_c_rep, x, y, vertices, k)
    optima = [
        BudgetOptimum(
            flops=float(flops_rep[j]),
            params=None if v.x is None else math.exp(v.x),
            tokens=None if v.log_tokens is None else math.exp(v.log_tokens),
            loss=v.loss,
            points=int(g.size),
            used=v.used,
            edge=v.x is None,
            reason=v.reason,
            centred_params=centred[j],
        )
        for j, (g, v) in enumerate(zip(groups, vertices, strict=True))
    ]
    usable = sum(not o.edge for o in optima)
    fit = _exponents(vertices, log_c_rep)
    if fit is None:
        raise InputError(
            f"isoflop fit needs at least 2 budgets with an interior loss minimum, found {usable} "
            f"(of {len(groups)} budget(s); the others have their minimum at an edge of the sizes sampled)"
        )
    a, ln_n, b, ln_d = fit

    if grid_warnings and a_central is not None:
        grid_warnings.append(_exponent_reading(a, a_central))

    n_iv = t_iv = None
    dropped = 0
    draws = int(bootstrap)
    if draws:
        rng = np.random.default_rng(seed)
        a_draws, b_draws = [], []
        for done in range(1, draws + 1):
            # Resample within each budget: indices into the run arrays, budget by budget.
            res = [g[rng.integers(0, g.size, size=g.size)] for g in groups]
            vs = _fit_groups(res, log_c_rep, x, y, lt, k)
            ex = _exponents(vs, log_c_rep)
            if ex is None:
                dropped += 1
            else:
                a_draws.append(ex[0])
                b_draws.append(ex[2])
            if progress is not None:
                progress(done, draws)
        if a_draws:
            n_iv = percentile_interval(np.array(a_draws), level)
            t_iv = percentile_interval(np.array(b_draws), level)

    return IsoflopResult(
        optima=optima,
        n_exponent=a,
        n_coef=math.exp(ln_n),
        tokens_exponent=b,
        tokens_coef=math.exp(ln_d),
        n_exponent_interval=n_iv,
        tokens_exponent_interval=t_iv,
        level=float(level),
        budgets_used=usable,
        bootstrap=draws,
        bootstrap_dropped=dropped,
        grid_warnings=grid_warnings,
        n_exponent_central=a_central,
    )


def _grid_check(
    groups: list[np.ndarray],
    flops_rep: np.ndarray,
    log_c_rep: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    vertices: list[_Vertex],
    k: int,
) -> tuple[list[str], list[float | None], float | None]:
    """Warnings for budgets whose parabola went through sizes beyond GRID_FACTOR of its vertex or
    off-centre around it, with how far N* moves when refitted on a centred window (the sizes
    within GRID_FACTOR of it, or within the narrower side's reach for an off-centre grid); per
    budget, that centred N* (None where nothing was flagged or measurable); and the N* exponent
    with the flagged budgets centred (None when fewer than 2 budgets have a vertex)."""
    out: list[str] = []
    centred: list[float | None] = []
    central: list[_Vertex] = []
    for g, v, c in zip(groups, vertices, flops_rep, strict=True):
        centred.append(None)
        central.append(v)
        if v.x is None or v.span is None:
            continue
        left, right = v.x - v.span[0], v.span[1] - v.x
        wide = max(left, right) > math.log(GRID_FACTOR * SLACK)
        skewed = min(left, right) > 0 and max(left, right) > OFF_CENTRE * min(left, right)
        if not (wide or skewed):
            continue
        reach = math.log(GRID_FACTOR * SLACK) if wide else min(left, right) + math.log(SLACK)
        near = g[np.abs(x[g] - v.x) <= reach]
        inner = _budget_vertex(x[near], y[near], None, 0.0, k) if np.unique(x[near]).size >= 3 else None
        shift = None
        if inner is not None and inner.x is not None:
            centred[-1], central[-1] = math.exp(inner.x), inner
            shift = math.exp(inner.x - v.x) - 1
        if shift is not None and abs(shift) < MIN_SHIFT:
            continue  # wide or off-centre, but the vertex does not move: no bias to report
        if shift is None and not wide:
            continue  # off-centre with too few sizes for a centred refit: nothing measured
        span = f"1/{math.exp(left):.3g}x to {math.exp(right):.3g}x of its N*"
        what = " and ".join(
            w for w, on in ((f"wider than ±{GRID_FACTOR:g}x", wide), ("off-centre", skewed)) if on
        )
        window = f"±{GRID_FACTOR:g}x" if wide else f"±{math.exp(reach):.3g}x"
        said = (
            f"N* moves {shift:+.1%} refitted on the sizes within {window}"
            if shift is not None
            else f"fewer than 3 sizes within {window} of N*: the bias cannot be measured here"
        )
        out.append(f"budget {c:.3g} FLOPs: the parabola's sizes span {span} ({what}); {said}")
    fit = _exponents(central, log_c_rep)
    return out, centred, None if fit is None else fit[0]


def _exponent_reading(a: float, a_central: float) -> str:
    """What the centred budgets do to the N* exponent."""
    if abs(a_central - a) < 1e-3:
        return (
            f"N* exponent a = {a:.4f} also with each flagged budget refitted on its centred window: the "
            "grids bias the coefficient of N*(C) (by the shifts above), not its exponent"
        )
    return (
        f"N* exponent a = {a:.4f} on all sizes, {a_central:.4f} with each flagged budget refitted on its "
        "centred window: grids wide or off-centre bias the parabola's vertex (the profile is not a "
        "parabola in ln N unless alpha = beta); prefer ±4x grids centred on the optimum, or a "
        "parametric fit (scale fit --method parametric)"
    )
