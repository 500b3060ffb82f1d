"""Parametric scaling-law fits: Huber loss on log residuals, analytic gradient, vectorised multi-start.

Every form is fitted the way Hoffmann et al. fitted Chinchilla's Approach 3 and Besiroglu et al.
(Epoch) replicated it (REFERENCE.md §2.1, §3.2):

    minimise  sum_i w_i · Huber_delta( log L_hat(x1_i, x2_i; theta) - log L_i ),   delta = 1e-3

with scipy's L-BFGS-B and an analytic gradient, keeping the best of many local runs. Every model's
log loss is a log-sum-exp of terms in ln N and ln x2, so it is evaluated stably in log space.

Forms (x1 is always N, the parameter count):

* ``chinchilla``   x2 = D tokens.  L = E + A/N^alpha + B/D^beta (eq. 2). Internal vector
  (a, b, e, alpha, beta) with A, B, E = exp(a), exp(b), exp(e), exactly as Hoffmann/Epoch;
  log L = LSE(a - alpha ln N, b - beta ln D, e).
* ``dynamics``     x2 = S steps.  L = E + A_N N^-alpha + A_S S^-beta (REFERENCE §6.5); the same
  machinery with (a, b) = (ln A_N, ln A_S).
* ``kaplan_joint`` x2 = D tokens.  L = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D (Kaplan eq. 1.5,
  REFERENCE §1.2). Internal (ln N_c, alpha_N, ln D_c, alpha_D);
  log L = alpha_D · LSE((alpha_N/alpha_D)(ln N_c - ln N), ln D_c - ln D).
* ``kaplan_steps`` x2 = S steps.  L = (N_c/N)^alpha_N + (S_c/S)^alpha_S (Kaplan eq. 1.6, §1.3).
  Internal (ln N_c, alpha_N, ln S_c, alpha_S); log L = LSE(alpha_N(ln N_c - ln N), alpha_S(ln S_c - ln S)).

Each internal coordinate maps to exactly one natural parameter (a scale through exp, an exponent
as itself), so pinning a natural parameter (``fixed``) removes one coordinate from the free vector.
The Kaplan forms keep their exponents above 1e-6 (L-BFGS-B bounds) because alpha_N/alpha_D and the
scales exp(ln N_c) are meaningless otherwise; Chinchilla and dynamics are unbounded, as in Hoffmann's fit.

Initialisation grids:

* chinchilla: Hoffmann's grid, alpha, beta in {0, 0.5, ..., 2}, e in {-1, -0.5, ..., 1},
  a, b in {0, 5, ..., 25}: 4,500 starts (§2.1).
* dynamics: the same, but b = ln A_S in {0, 2.5, ..., 25} (8,250 starts). Steps span far fewer
  e-folds than tokens (ln S ~ 5-16 against ln D ~ 19-27), so the loss is more sensitive to b at a
  given beta; the finer b spacing keeps a grid point within reach of every plausible A_S.
* kaplan_joint: ln N_c, ln D_c in {10, 15, ..., 40}, alpha_N, alpha_D in {0.05, 0.1, 0.2, 0.4, 0.8}
  (1,225 starts); Kaplan's Table 2 values are ln N_c = 31.8, ln D_c = 30.5, 0.076, 0.103.
* kaplan_steps: ln N_c in {10, ..., 40}, alpha_N in {0.05, ..., 0.8}, ln S_c in {0, 2.5, ..., 20},
  alpha_S in {0.05, ..., 1.6} (1,890 starts); Kaplan's Table 3 has ln S_c = 7.65, alpha_S = 0.76.

Speed. A plain fit runs L-BFGS-B from every grid point. Here the objective is first evaluated at all
grid points at once (one K x P array per chunk); the starts are ranked by it, starts that give the
same fitted curve are merged, and L-BFGS-B is run from the most promising distinct starts in
batches until at least 32 have run, the best basin has been reached three times
(``best_basin_starts``) and the last batch brought no improvement (at most 5 % of the grid). The
local runs use tighter tolerances than scipy's defaults (see ``_LOCAL_OPTIONS``) and the best one is
polished until L-BFGS-B stalls, so the optimum is at least as good as the plain loop's
(``benchmarks/fit.py`` compares the two: about 45x faster on Epoch's data, objective no worse).
A warm start (``theta0``) skips the grid: one local run from theta0, then the polish.

Standard errors are the asymptotic (sandwich) covariance of an M-estimator (Huber, Robust Statistics):
Cov = H^-1 M H^-1 · n/(n - p), with H = sum w psi'(r) J J^T + sum w psi(r) d2r (the Hessian of the
objective; the second term by central differences of the analytic Jacobian), M = sum w psi(r)^2 J J^T,
J the Jacobian of the log prediction in the free internal coordinates and psi = clip(r, -delta, delta);
the delta method carries them to the natural parameters (SE_A = A·SE_a). With delta = 1e-3 only the
runs with |r| <= delta enter H's first term, so these SEs are rough: on Epoch's 240 runs they are
within a factor of two of the bootstrap spread, larger for A, alpha and smaller for B, beta. Use
``bootstrap`` for intervals.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from scalecli.errors import InputError

FORMS = ("chinchilla", "dynamics", "kaplan_joint", "kaplan_steps")

DEFAULT_DELTA = 1e-3

# Multi-start schedule (see the module docstring). Candidates are taken from the ranked grid in
# batches of _BATCH; the search stops once at least _MIN_STARTS runs are done, _MIN_BASIN_HITS of
# them ended in the best basin and the last batch improved nothing, or after _MAX_FRACTION of the
# distinct grid points (but never fewer than _MIN_CAP candidates).
_BATCH = 8
_MIN_STARTS = 32
_MIN_BASIN_HITS = 3
_MAX_FRACTION = 0.05
_MIN_CAP = 64
_BASIN_RTOL = 1e-5  # a run is "in the best basin" when its objective is within this of the best
_BASIN_ATOL = 1e-12
_POLISH_ROUNDS = 3
_CHUNK_ELEMENTS = 1 << 21  # grid rows x points evaluated per vectorised chunk
_EXP_FLOOR = 1e-6  # lower bound on the Kaplan exponents

# L-BFGS-B's ftol test divides by max(|f|, 1), so with an objective of ~1e-3 its default ftol
# (2.2e-9) acts as an absolute tolerance and stops runs early: from the full-data optimum, a
# bootstrap refit with default tolerances ends up to 4 % above its minimum. These tolerances bring
# every local run to ~1e-6 of its minimum (Epoch data).
_LOCAL_OPTIONS = {"maxiter": 15000, "maxfun": 30000, "ftol": 1e-15, "gtol": 1e-12}
# Polish: no stopping tolerance, so L-BFGS-B runs until its line search can make no more progress
# (it then reports ABNORMAL; the iterate is still the lowest point it found).
_POLISH_OPTIONS = {"maxiter": 15000, "maxfun": 30000, "ftol": 0.0, "gtol": 0.0}


def _lse(*terms: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Element-wise log(sum exp(t_k)) and the softmax weights exp(t_k - lse)."""
    m = terms[0]
    for t in terms[1:]:
        m = np.maximum(m, t)
    m = np.where(np.isfinite(m), m, 0.0)
    exps = [np.exp(t - m) for t in terms]
    s = exps[0]
    for x in exps[1:]:
        s = s + x
    return m + np.log(s), [x / s for x in exps]


@dataclass(frozen=True)
class _Form:
    """One parametric form: names, the internal <-> natural map, the grid and the log model."""

    name: str
    internal: tuple[str, ...]  # internal coordinates, in the order of the theta vector
    natural: tuple[str, ...]  # natural parameter for each internal coordinate (same order)
    log_scale: tuple[bool, ...]  # natural = exp(internal) where True, identity where False
    display: tuple[str, ...]  # order of natural names in FitResult.params
    grid_axes: tuple[tuple[float, ...], ...]  # per internal coordinate
    exponent_floor: bool = False  # L-BFGS-B lower bound on the exponent coordinates

    @property
    def n(self) -> int:
        return len(self.internal)

    def grid(self) -> np.ndarray:
        return np.array(list(itertools.product(*self.grid_axes)), dtype=float)

    def to_internal(self, name: str, value: float) -> float:
        i = self.natural.index(name)
        if self.log_scale[i]:
            if not value > 0:
                raise InputError(f"{self.name}: {name} must be > 0 to be pinned (got {value})")
            return math.log(value)
        return float(value)

    def bounds(self, free: Sequence[int]) -> list[tuple[float | None, float | None]] | None:
        if not self.exponent_floor:
            return None
        return [(None, None) if self.log_scale[i] else (_EXP_FLOOR, None) for i in free]

    # --- the model -------------------------------------------------------------------------------
    def logpred(self, T: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """log L_hat for K internal vectors T (K, n) at P points (u = ln x1, v = ln x2): (K, P)."""
        c = [T[:, i : i + 1] for i in range(self.n)]
        return self._logpred(c, u, v, jac=False)[0]

    def logpred_jac(self, t: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """log L_hat at one internal vector, and d log L_hat / d t_k for every coordinate k."""
        return self._logpred([float(x) for x in t], u, v, jac=True)

    def _logpred(self, c, u, v, jac: bool):
        if self.name in ("chinchilla", "dynamics"):
            a, b, e, alpha, beta = c
            t1 = a - alpha * u
            t2 = b - beta * v
            t3 = e + 0.0 * u
            lse, (w1, w2, w3) = _lse(t1, t2, t3)
            if not jac:
                return lse, None
            return lse, [w1, w2, w3, -w1 * u, -w2 * v]
        if self.name == "kaplan_joint":
            nc, a_n, dc, a_d = c
            t1 = (a_n / a_d) * (nc - u)
            t2 = dc - v
            lse, (w1, w2) = _lse(t1, t2)
            if not jac:
                return a_d * lse, None
            return a_d * lse, [a_n * w1, w1 * (nc - u), a_d * w2, lse - w1 * t1]
        # kaplan_steps
        nc, a_n, sc, a_s = c
        d1 = nc - u
        d2 = sc - v
        lse, (w1, w2) = _lse(a_n * d1, a_s * d2)
        if not jac:
            return lse, None
        return lse, [a_n * w1, w1 * d1, a_s * w2, w2 * d2]

    def predict(self, p: Mapping[str, float], x1, x2) -> np.ndarray:
        n = np.asarray(x1, dtype=float)
        x = np.asarray(x2, dtype=float)
        if self.name == "chinchilla":
            return p["E"] + p["A"] * n ** -p["alpha"] + p["B"] * x ** -p["beta"]
        if self.name == "dynamics":
            return p["E"] + p["A_N"] * n ** -p["alpha"] + p["A_S"] * x ** -p["beta"]
        if self.name == "kaplan_joint":
            return ((p["N_c"] / n) ** (p["alpha_N"] / p["alpha_D"]) + p["D_c"] / x) ** p["alpha_D"]
        return (p["N_c"] / n) ** p["alpha_N"] + (p["S_c"] / x) ** p["alpha_S"]


def _steps(lo: float, hi: float, step: float) -> tuple[float, ...]:
    return tuple(float(x) for x in np.round(np.arange(lo, hi + step / 2, step), 12))


_HOFFMANN_EXP = _steps(0.0, 2.0, 0.5)
_HOFFMANN_E = _steps(-1.0, 1.0, 0.5)
_HOFFMANN_SCALE = _steps(0.0, 25.0, 5.0)
_KAPLAN_EXP = (0.05, 0.1, 0.2, 0.4, 0.8)
_KAPLAN_SCALE = _steps(10.0, 40.0, 5.0)

_FORMS: dict[str, _Form] = {
    "chinchilla": _Form(
        "chinchilla",
        internal=("a", "b", "e", "alpha", "beta"),
        natural=("A", "B", "E", "alpha", "beta"),
        log_scale=(True, True, True, False, False),
        display=("E", "A", "B", "alpha", "beta"),
        grid_axes=(_HOFFMANN_SCALE, _HOFFMANN_SCALE, _HOFFMANN_E, _HOFFMANN_EXP, _HOFFMANN_EXP),
    ),
    "dynamics": _Form(
        "dynamics",
        internal=("a", "b", "e", "alpha", "beta"),
        natural=("A_N", "A_S", "E", "alpha", "beta"),
        log_scale=(True, True, True, False, False),
        display=("E", "A_N", "alpha", "A_S", "beta"),
        grid_axes=(_HOFFMANN_SCALE, _steps(0.0, 25.0, 2.5), _HOFFMANN_E, _HOFFMANN_EXP, _HOFFMANN_EXP),
    ),
    "kaplan_joint": _Form(
        "kaplan_joint",
        internal=("log_N_c", "alpha_N", "log_D_c", "alpha_D"),
        natural=("N_c", "alpha_N", "D_c", "alpha_D"),
        log_scale=(True, False, True, False),
        display=("N_c", "alpha_N", "D_c", "alpha_D"),
        grid_axes=(_KAPLAN_SCALE, _KAPLAN_EXP, _KAPLAN_SCALE, _KAPLAN_EXP),
        exponent_floor=True,
    ),
    "kaplan_steps": _Form(
        "kaplan_steps",
        internal=("log_N_c", "alpha_N", "log_S_c", "alpha_S"),
        natural=("N_c", "alpha_N", "S_c", "alpha_S"),
        log_scale=(True, False, True, False),
        display=("N_c", "alpha_N", "S_c", "alpha_S"),
        grid_axes=(_KAPLAN_SCALE, _KAPLAN_EXP, _steps(0.0, 20.0, 2.5), _KAPLAN_EXP + (1.6,)),
        exponent_floor=True,
    ),
}


@dataclass
class FitResult:
    form: str  # one of FORMS
    params: dict[str, float]  # natural parameter names
    standard_errors: dict[str, float]  # asymptotic SEs (nan if not estimable; 0 for pinned)
    objective: float  # summed Huber(delta) of log residuals at the optimum (weighted if weights given)
    points: int
    starts: int  # local optimisations actually run
    grid_size: int  # initial points evaluated (4500 for the Hoffmann grid)
    best_basin_starts: int  # local runs that ended within a small tolerance of the best objective
    fixed: dict[str, float]
    theta: np.ndarray = field(repr=False)  # free internal vector at the optimum (for warm starts)

    def predict(self, x1, x2) -> np.ndarray:
        """Model loss at (x1, x2): x1 = N, x2 = D or S according to the form."""
        return _FORMS[self.form].predict(self.params, x1, x2)


# --- inputs ------------------------------------------------------------------------------------------


def _form(form: str) -> _Form:
    if form not in _FORMS:
        raise InputError(f"unknown fit form {form!r}; expected one of {', '.join(FORMS)}")
    return _FORMS[form]


def _positive_array(name: str, values, n: int | None = None) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: not a list of numbers ({exc})") from None
    if n is not None and arr.size != n:
        raise InputError(f"{name}: {arr.size} values, expected {n} (one per point)")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name}: every value must be finite")
    if not np.all(arr > 0):
        raise InputError(f"{name}: every value must be > 0")
    return arr


@dataclass
class _Problem:
    form: _Form
    u: np.ndarray  # ln x1
    v: np.ndarray  # ln x2
    y: np.ndarray  # ln loss
    w: np.ndarray | None
    delta: float
    base: np.ndarray  # full internal vector, pinned coordinates filled in
    free: list[int]
    fixed: dict[str, float]
    points: int

    def full(self, theta: np.ndarray) -> np.ndarray:
        t = self.base.copy()
        t[self.free] = theta
        return t

    def huber(self, r: np.ndarray) -> np.ndarray:
        a = np.abs(r)
        d = self.delta
        return np.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d))

    def objective_many(self, T: np.ndarray) -> np.ndarray:
        """Objective at each row of T (K, n free), chunked to bound memory; nan -> inf."""
        out = np.empty(T.shape[0])
        rows = max(1, _CHUNK_ELEMENTS // max(1, self.y.size))
        full = np.repeat(self.base[None, :], T.shape[0], axis=0)
        full[:, self.free] = T
        with np.errstate(all="ignore"):
            for lo in range(0, T.shape[0], rows):
                h = self.huber(self.form.logpred(full[lo : lo + rows], self.u, self.v) - self.y)
                out[lo : lo + rows] = h.sum(axis=1) if self.w is None else h @ self.w
        out[~np.isfinite(out)] = np.inf
        return out

    def fun_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(all="ignore"):
            lp, cols = self.form.logpred_jac(self.full(theta), self.u, self.v)
            r = lp - self.y
            h = self.huber(r)
            psi = np.clip(r, -self.delta, self.delta)
            if self.w is not None:
                h = h * self.w
                psi = psi * self.w
            f = float(h.sum())
            g = np.array([psi @ cols[i] for i in self.free])
        if not (math.isfinite(f) and np.all(np.isfinite(g))):
            return math.inf, np.zeros(len(self.free))
        return f, g

    def local(self, theta0: np.ndarray, options: Mapping[str, float] = _LOCAL_OPTIONS):
        res = minimize(
            self.fun_grad,
            np.asarray(theta0, dtype=float),
            jac=True,
            method="L-BFGS-B",
            bounds=self.form.bounds(self.free),
            options=dict(options),
        )
        return np.asarray(res.x, dtype=float), float(res.fun)


def _problem(form: str, x1, x2, loss, fixed, delta, weights) -> _Problem:
    spec = _form(form)
    y = _positive_array("loss", loss)
    n = y.size
    x1a = _positive_array("x1 (parameters N)", x1, n)
    x2a = _positive_array("x2 (tokens or steps)", x2, n)
    try:
        delta = float(delta)
    except (TypeError, ValueError):
        raise InputError(f"Huber delta must be a number (got {delta!r})") from None
    if not (math.isfinite(delta) and delta > 0):
        raise InputError(f"Huber delta must be a finite number > 0 (got {delta!r})")
    w = None
    if weights is not None:
        try:
            w = np.asarray(weights, dtype=float).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise InputError(f"weights: not a list of numbers ({exc})") from None
        if w.size != n:
            raise InputError(f"weights: {w.size} values, expected {n} (one per point)")
        if not (np.all(np.isfinite(w)) and np.all(w >= 0)):
            raise InputError("weights: every weight must be finite and >= 0")
    fixed = dict(fixed or {})
    base = np.zeros(spec.n)
    pinned = set()
    for name, value in fixed.items():
        if name not in spec.natural:
            raise InputError(
                f"{form}: cannot pin unknown parameter {name!r}; parameters are {', '.join(spec.display)}"
            )
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise InputError(f"{form}: pinned {name} must be a number (got {value!r})") from None
        if not math.isfinite(value):
            raise InputError(f"{form}: pinned {name} must be finite (got {value})")
        if spec.exponent_floor and not spec.log_scale[spec.natural.index(name)] and not value > 0:
            raise InputError(f"{form}: pinned exponent {name} must be > 0 (got {value})")
        i = spec.natural.index(name)
        base[i] = spec.to_internal(name, value)
        pinned.add(i)
        fixed[name] = value
    free = [i for i in range(spec.n) if i not in pinned]
    used = n if w is None else int(np.count_nonzero(w))
    if used < len(free):
        raise InputError(
            f"{form}: {len(free)} free parameters need at least {len(free)} data points "
            f"(got {used}); add runs or pin parameters with fixed/--fix"
        )
    return _Problem(spec, np.log(x1a), np.log(x2a), np.log(y), w, float(delta), base, free, fixed, n)


# --- results -----------------------------------------------------------------------------------------


def _natural(prob: _Problem, theta: np.ndarray) -> dict[str, float]:
    spec = prob.form
    t = prob.full(theta)
    out: dict[str, float] = {}
    for name in spec.display:
        i = spec.natural.index(name)
        if name in prob.fixed:
            out[name] = prob.fixed[name]
        else:
            out[name] = float(math.exp(t[i])) if spec.log_scale[i] else float(t[i])
    return out


def _standard_errors(prob: _Problem, theta: np.ndarray, params: Mapping[str, float]) -> dict[str, float]:
    """Sandwich standard errors of the M-estimator, carried to natural parameters (module docstring)."""
    spec = prob.form
    p = len(prob.free)
    se_internal = np.full(p, math.nan)
    w = np.ones(prob.points) if prob.w is None else prob.w
    n = float(w.sum())

    def jac(t_free: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lp, cols = spec.logpred_jac(prob.full(t_free), prob.u, prob.v)
        return lp, np.column_stack([cols[i] for i in prob.free])

    with np.errstate(all="ignore"):
        lp, J = jac(theta)
        r = lp - prob.y
        psi = np.clip(r, -prob.delta, prob.delta)
        inside = (np.abs(r) <= prob.delta).astype(float)
        # Hessian of the objective: sum w psi' J J^T + sum w psi d2r, the curvature term by central
        # differences of the analytic Jacobian with psi held fixed (psi' is exact, so no kinks).
        curv = np.zeros((p, p))
        for k in range(p):
            step = 1e-6 * max(1.0, abs(float(theta[k])))
            up, down = theta.copy(), theta.copy()
            up[k] += step
            down[k] -= step
            curv[:, k] = ((w * psi) @ (jac(up)[1] - jac(down)[1])) / (2.0 * step)
        hess = J.T @ (J * (w * inside)[:, None]) + 0.5 * (curv + curv.T)
        meat = J.T @ (J * (w * psi**2)[:, None])
        ok = n > p and np.all(np.isfinite(hess)) and np.all(np.isfinite(meat))
        if ok and np.all(np.linalg.eigvalsh(hess) > 0):
            h_inv = np.linalg.inv(hess)
            diag = np.diag(h_inv @ meat @ h_inv) * n / (n - p)
            se_internal = np.where(diag >= 0, np.sqrt(np.abs(diag)), math.nan)
    out: dict[str, float] = {}
    for name in spec.display:
        i = spec.natural.index(name)
        if name in prob.fixed:
            out[name] = 0.0
            continue
        s = float(se_internal[prob.free.index(i)])
        out[name] = s * params[name] if spec.log_scale[i] else s  # delta method: d exp(t) = exp(t) dt
    return out


def _result(prob: _Problem, theta, obj, starts, grid_size, hits, with_se: bool = True) -> FitResult:
    params = _natural(prob, theta)
    se = _standard_errors(prob, theta, params) if with_se else {k: math.nan for k in params}
    return FitResult(
        form=prob.form.name,
        params=params,
        standard_errors=se,
        objective=float(obj),
        points=prob.points,
        starts=starts,
        grid_size=grid_size,
        best_basin_starts=hits,
        fixed=dict(prob.fixed),
        theta=np.asarray(theta, dtype=float).copy(),
    )


def _in_basin(obj: float, best: float) -> bool:
    return obj <= best + _BASIN_RTOL * abs(best) + _BASIN_ATOL


# --- the fit -----------------------------------------------------------------------------------------


def _ranked_candidates(prob: _Problem) -> tuple[np.ndarray, np.ndarray, int]:
    """Distinct grid starts ranked by objective; returns (starts, objectives, grid size)."""
    grid = prob.form.grid()[:, prob.free]
    grid = np.unique(grid, axis=0)
    obj = prob.objective_many(grid)
    order = np.argsort(obj, kind="stable")
    order = order[np.isfinite(obj[order])]
    return grid[order], obj[order], grid.shape[0]


def _distinct(prob: _Problem, starts: np.ndarray) -> np.ndarray:
    """Drop starts whose fitted curve (log prediction at every point) repeats an earlier one."""
    full = np.repeat(prob.base[None, :], starts.shape[0], axis=0)
    full[:, prob.free] = starts
    with np.errstate(all="ignore"):
        pred = prob.form.logpred(full, prob.u, prob.v)
    keys = np.round(pred, 9)
    _, first = np.unique(keys, axis=0, return_index=True)
    return starts[np.sort(first)]


def fit(
    form: str,
    x1,
    x2,
    loss,
    *,
    fixed: dict[str, float] | None = None,
    delta: float = DEFAULT_DELTA,
    weights=None,
    theta0=None,
) -> FitResult:
    """Fit ``form`` to runs (x1 = N, x2 = D or S, loss) by Huber-on-log L-BFGS-B (module docstring)."""
    prob = _problem(form, x1, x2, loss, fixed, delta, weights)
    if theta0 is not None:
        return _fit_warm(prob, theta0)
    starts, _, grid_size = _ranked_candidates(prob)
    cap = max(_MIN_CAP, int(math.ceil(_MAX_FRACTION * grid_size)))
    pool = _distinct(prob, starts[: 4 * cap])[:cap]
    best_x, best_f = None, math.inf
    finals: list[float] = []
    for lo in range(0, pool.shape[0], _BATCH):
        improved = False
        for x0 in pool[lo : lo + _BATCH]:
            x, f = prob.local(x0)
            finals.append(f)
            if f < best_f:
                improved = improved or best_x is None or not _in_basin(f, best_f)
                best_x, best_f = x, f
        hits = sum(_in_basin(f, best_f) for f in finals)
        if len(finals) >= _MIN_STARTS and hits >= _MIN_BASIN_HITS and not improved:
            break
    if best_x is None or not math.isfinite(best_f):
        raise InputError(f"{form}: no start gave a finite objective; check the data")
    best_x, best_f = _polish(prob, best_x, best_f)
    hits = sum(_in_basin(f, best_f) for f in finals)
    return _result(prob, best_x, best_f, len(finals), grid_size, max(hits, 1))


def _polish(prob: _Problem, x: np.ndarray, f: float) -> tuple[np.ndarray, float]:
    """Restart L-BFGS-B without stopping tolerances until a round gains nothing."""
    for _ in range(_POLISH_ROUNDS):
        x_new, f_new = prob.local(x, _POLISH_OPTIONS)
        if not f_new < f:
            break
        x, f = x_new, f_new
    return x, f


def _fit_warm(prob: _Problem, theta0, with_se: bool = True) -> FitResult:
    theta0 = np.asarray(theta0, dtype=float).reshape(-1)
    if theta0.size != len(prob.free) or not np.all(np.isfinite(theta0)):
        raise InputError(
            f"{prob.form.name}: warm start needs {len(prob.free)} finite free parameters "
            f"({', '.join(prob.form.internal[i] for i in prob.free)}), got {theta0.size}"
        )
    x, f = _polish(prob, *prob.local(theta0))
    if not math.isfinite(f):
        raise InputError(f"{prob.form.name}: the warm start gave no finite objective")
    return _result(prob, x, f, 1, 0, 1, with_se)


def objective_at(
    form: str,
    params: dict[str, float],
    x1,
    x2,
    loss,
    delta: float = DEFAULT_DELTA,
    weights=None,
) -> float:
    """The summed Huber objective at natural parameters ``params`` (all of the form's parameters)."""
    spec = _form(form)
    missing = [k for k in spec.display if k not in params]
    extra = [k for k in params if k not in spec.natural]
    if missing or extra:
        raise InputError(
            f"{form}: objective_at needs exactly {', '.join(spec.display)}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(extra)}" if extra else "")
        )
    prob = _problem(form, x1, x2, loss, params, delta, weights)
    return float(prob.objective_many(np.zeros((1, 0)))[0])
