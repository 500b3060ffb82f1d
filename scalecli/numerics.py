"""Small, dependency-free numerical routines shared by the laws and the planner.

Everything here is vectorised numpy and needs no scipy, so ``scale plan`` stays fast to start.
The planner's searches run in x = ln(params); the functions along a budget are smooth and
unimodal in x, so a grid bracket followed by bisection on the sign of the derivative finds the
minimum to ~1e-10 in x, far below the 1e-6 relative agreement the closed forms are held to.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Vectorised = Callable[[np.ndarray], np.ndarray]


def root_increasing(g: Vectorised, lo: np.ndarray, hi: np.ndarray, iters: int = 80) -> np.ndarray:
    """Element-wise root of an increasing function g with g(lo) <= 0 <= g(hi), by bisection.

    At most 80 halvings, fewer once every bracket is at double precision.
    """
    lo = np.array(lo, dtype=float, copy=True)
    hi = np.array(hi, dtype=float, copy=True)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        below = g(mid) < 0
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
        if np.all(hi - lo <= 4e-16 * np.maximum(1.0, np.abs(lo))):  # at double precision: stop
            break
    return 0.5 * (lo + hi)


def crossing(g: Callable[[float], float], lo: float, hi: float, iters: int = 200) -> float:
    """Scalar x in [lo, hi] where a monotone g changes sign (g(lo) and g(hi) of opposite sign)."""
    g_lo = g(lo)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if (g(mid) < 0) == (g_lo < 0):
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-13 * max(1.0, abs(lo)):
            break
    return 0.5 * (lo + hi)


def argmin_unimodal(f: Vectorised, lo: float, hi: float, grid: int = 257) -> float:
    """Minimiser of a (piecewise) smooth unimodal f on [lo, hi]; end points allowed.

    f takes and returns arrays. A grid brackets the minimum; bisection on the sign of a
    central difference then refines it. Non-finite values count as +inf.
    """
    if hi <= lo:
        return lo
    xs = np.linspace(lo, hi, grid)
    ys = np.where(np.isfinite(f(xs)), f(xs), np.inf)
    i = int(np.argmin(ys))
    if not np.isfinite(ys[i]):
        raise ValueError("objective is not finite anywhere on the search interval")
    a, b = xs[max(i - 1, 0)], xs[min(i + 1, grid - 1)]
    h = 1e-6
    for _ in range(200):
        if b - a < 1e-11 * max(1.0, abs(a)):
            break
        mid = 0.5 * (a + b)
        pair = f(np.array([mid - h, mid + h]))
        slope = pair[1] - pair[0]
        if not np.isfinite(slope):
            slope = -1.0 if not np.isfinite(pair[0]) else 1.0
        if slope > 0:
            b = mid
        else:
            a = mid
    x = 0.5 * (a + b)
    # End points: prefer them if they are at least as good (boundary optimum).
    ends = f(np.array([lo, hi, x]))
    ends = np.where(np.isfinite(ends), ends, np.inf)
    if ends[0] <= ends[2] and abs(x - lo) < (hi - lo) / (grid - 1):
        return lo
    if ends[1] <= ends[2] and abs(x - hi) < (hi - lo) / (grid - 1):
        return hi
    return x


def argmin_rows(
    f: Vectorised, lo: np.ndarray, hi: np.ndarray, grid: int = 129, iters: int = 60
) -> np.ndarray:
    """Row-wise minimiser of K unimodal functions at once: x_k in [lo_k, hi_k] minimising f(x)[k].

    ``f`` takes an array of shape (K, M) (M points per row) and returns the same shape. A grid of
    ``grid`` points per row brackets each minimum; bisection on the sign of a central difference
    refines all rows together (one call of f per step): 44 halvings of the two-cell bracket. End points win
    when they are at least as good, as in :func:`argmin_unimodal`. Non-finite values count as +inf.
    """
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    t = np.linspace(0.0, 1.0, grid)
    xs = lo[:, None] + (hi - lo)[:, None] * t[None, :]
    with np.errstate(all="ignore"):
        ys = f(xs)
    ys = np.where(np.isfinite(ys), ys, np.inf)
    i = np.argmin(ys, axis=1)
    rows = np.arange(lo.size)
    a = xs[rows, np.maximum(i - 1, 0)]
    b = xs[rows, np.minimum(i + 1, grid - 1)]
    h = 1e-6
    for _ in range(iters):
        mid = 0.5 * (a + b)
        with np.errstate(all="ignore"):
            pair = f(np.stack([mid - h, mid + h], axis=1))
        slope = pair[:, 1] - pair[:, 0]
        slope = np.where(np.isfinite(slope), slope, np.where(np.isfinite(pair[:, 0]), 1.0, -1.0))
        up = slope > 0
        b = np.where(up, mid, b)
        a = np.where(up, a, mid)
    x = 0.5 * (a + b)
    with np.errstate(all="ignore"):
        ends = f(np.stack([lo, hi, x], axis=1))
    ends = np.where(np.isfinite(ends), ends, np.inf)
    step = (hi - lo) / (grid - 1)
    x = np.where((ends[:, 0] <= ends[:, 2]) & (np.abs(x - lo) < step), lo, x)
    x = np.where((ends[:, 1] <= ends[:, 2]) & (np.abs(x - hi) < step), hi, x)
    return x


def percentile_interval(values, level: float) -> tuple[float, float]:
    """The central ``level`` percentile interval of ``values`` (e.g. 0.9: the 5th to 95th
    percentile), non-finite values ignored; (nan, nan) when none are left. The one interval of
    bootstrap draws used by fits, isoFLOP exponents and plan intervals."""
    x = np.asarray(values, dtype=float).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.percentile(x, [50.0 * (1.0 - level), 50.0 * (1.0 + level)])
    return float(lo), float(hi)
