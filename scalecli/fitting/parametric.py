"""Parametric scaling-law fits: Huber loss on log residuals, analytic gradient, vectorised multi-start.

Every form is fitted the way Hoffmann et al. fitted Chinchilla's Approach 3 and Besiroglu et al.
(Epoch) replicated it (REFERENCE.md §2.1, §3.2):

    minimise  sum_i w_i · Huber_delta( log L_hat(x_i; theta) - log L_i ),   delta = 1e-3

with scipy's L-BFGS-B and an analytic gradient, keeping the best of many local runs. Every model's
log loss is a log-sum-exp of terms in the log inputs, so it is evaluated stably in log space.

Forms. A fit form (``laws.forms.FitForm``) is defined by its law family, next to the loss surface
it fits (``laws/chinchilla.py``, ``laws/kaplan.py``, ``laws/dynamics.py``), and found through the
family registry (``laws.fit_form(name)``, ``laws.fit_forms()``). A form takes k inputs in a fixed
order of data roles (``roles(form)``); ``fit``, ``objective_at``, ``FitResult.predict`` and
``bootstrap`` take them as one sequence of arrays, ``[fit_table[r] for r in roles(form)]``. Each
form is a log model ``(c, X, jac) -> (log L_hat, [d log L_hat / d c_i])`` on the internal
coordinates c and the log inputs X = (ln x_1, ..., ln x_k), a natural-parameter formula for
``predict``, its starts and its schedule; nothing here looks at a form's name, and a third (or
fourth) input fits without touching the optimiser.

Each internal coordinate maps to exactly one natural parameter (a scale through exp, an exponent
as itself), so pinning a natural parameter (``fixed``) removes one coordinate from the free vector.
A form may floor coordinates (L-BFGS-B bounds; Kaplan's exponents stay above 1e-6); only floored
coordinates must be pinned > 0.

Starts. Either the form's product grid (Hoffmann et al.'s for chinchilla: 4,500 starts, §2.1), or,
for a form with a ``projection``, variable projection: for every point of a small grid of the
nonlinear parameters the model is linear in a few positive coefficients, which come from a
non-negative least-squares fit of the weighted relative residuals L_hat/L - 1 (every support of
the coefficients is tried; a dropped one starts at 1e-6 of its lone fit), and the ``keep`` best
go on to the ranking by the Huber objective (``grid_size``). Pinned parameters keep their values
(a pinned coefficient moves to the target). dynamics_batch starts this way: 2,400 linear fits
(about 0.2 s on the 2,700 GPT-3 training points) instead of a 198,000-point product grid.

Speed. A plain fit runs L-BFGS-B from every grid point. Here the objective is first evaluated at all
grid points, vectorised over starts x points in chunks of at most 65,536 elements (``_CHUNK_ELEMENTS``,
512 KB per array; one start per chunk when it has more points); the starts are ranked by it, starts
that give the same fitted curve are merged (each curve reduced to a digest, chunk by chunk), and
L-BFGS-B is run from the most promising distinct starts in batches until at least 32 have run, the
best basin has been reached three times (``best_basin_starts``) and the last batch brought no
improvement (at most 5 % of the grid). The local runs use tighter tolerances than scipy's defaults
(see ``_LOCAL_OPTIONS``) and the best one is polished until L-BFGS-B stalls, so the optimum is at
least as good as the plain loop's (``benchmarks/fit.py`` compares the two: about 45x faster on
Epoch's data, objective no worse).
A warm start (``theta0``) skips the grid: one local run from theta0, then the polish.

Large data. Up to 5,000 points (``_SCREEN_POINTS``; Epoch's 240 runs, the GPT-3 curves' 3,684) every
step above uses every point. Beyond that, ranking 4,500-8,250 starts on every point would cost time
and memory in proportion to starts x points, so the screening runs on a fixed subsample: 5,000 rows
drawn without replacement by ``numpy.random.default_rng(0)`` (the same rows for the same number of
points, so a fit is reproducible). On it the grid is ranked, the distinct starts picked and the local
runs made exactly as above; then the end points of its best three runs in distinct basins
(``_FULL_RUNS``) are each refitted by L-BFGS-B on every point, and the best of those is polished on
every point. The result is the optimum on all the data (on 20,000 and 100,000 synthetic Chinchilla
runs it matches the unscreened fit to 1e-15 in objective); ``screen_points`` reports the subsample
size, ``starts`` counts the runs on the subsample and on all points, and ``best_basin_starts`` those
that ended in the best basin of the data they ran on. Time is then a constant for the screening
(about 2 s) plus a few hundred evaluations of the objective and gradient on all points, so roughly
linear in rows, and memory is linear in rows (a few dozen arrays of one value per point): on
1,000,000 synthetic chinchilla runs a fit takes about 20 s and 260 MB beyond the data on one core
(``benchmarks/fit_memory.py``; dynamics_batch about 30 s and 380 MB). The dynamics_batch linear fits
above only ever see the subsample.

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

import hashlib
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import minimize

from scalecli.errors import InputError
from scalecli.laws import fit_form, fit_forms
from scalecli.laws.forms import FitForm, Schedule, inputs_tuple

FORMS = fit_forms()
FORM_ROLES: dict[str, tuple[str, ...]] = {name: fit_form(name).roles for name in FORMS}

DEFAULT_DELTA = 1e-3

# Multi-start schedule: laws.forms.Schedule (the defaults, or a form's own).
_BASIN_RTOL = 1e-5  # a run is "in the best basin" when its objective is within this of the best
_BASIN_ATOL = 1e-12
_POLISH_ROUNDS = 3
# Every starts x points evaluation runs in chunks of at most this many elements (512 KB per float
# array; a chunk holds one start when a single start has more points). Smaller chunks stay in the
# CPU cache: 1 << 16 ranks the grid ~25 % faster than 1 << 21 and peaks ~30x lower.
_CHUNK_ELEMENTS = 1 << 16
# Large data (module docstring, "Large data"): above _SCREEN_POINTS points the starts are ranked and
# the multi-start is run on a fixed subsample of that many points (seed _SCREEN_SEED), then the
# best _FULL_RUNS distinct optima are refitted on every point. 5,000 keeps every shipped fit (the
# GPT-3 curves have 3,684 points) on the exact path.
_SCREEN_POINTS = 5_000
_SCREEN_SEED = 0
_FULL_RUNS = 3

# L-BFGS-B's ftol test divides by max(|f|, 1), so with an objective of ~1e-3 its default ftol
# (2.2e-9) acts as an absolute tolerance and stops runs early: from the full-data optimum, a
# bootstrap refit with default tolerances ends up to 4 % above its minimum. These tolerances bring
# every local run to ~1e-6 of its minimum (Epoch data).
_LOCAL_OPTIONS = {"maxiter": 15000, "maxfun": 30000, "ftol": 1e-15, "gtol": 1e-12}
# Polish: no stopping tolerance, so L-BFGS-B runs until its line search can make no more progress
# (it then reports ABNORMAL; the iterate is still the lowest point it found).
_POLISH_OPTIONS = {"maxiter": 15000, "maxfun": 30000, "ftol": 0.0, "gtol": 0.0}


_LN_MAX = math.log(np.finfo(float).max)  # exp of a larger internal scale overflows

# Variable-projection starts (module docstring, "Starts")
_PROJECTION_CHUNK = 1 << 20  # combinations x points per vectorised chunk of the linear fits
_EXCLUDED = 1e-6  # a coefficient the linear fit drops starts at this fraction of its lone fit


def _options(schedule: Schedule) -> dict[str, float]:
    return {**_LOCAL_OPTIONS, "maxiter": schedule.maxiter}


def _subsets(m: int) -> list[tuple[int, ...]]:
    return [s for k in range(m, 0, -1) for s in itertools.combinations(range(m), k)]


def _nonneg_lstsq(G: np.ndarray, r: np.ndarray, tt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """min_c |X c - t|^2 subject to c >= 0 for K small problems given as Gram matrices G (K, m, m),
    r = X^T t (K, m) and tt = t^T t (K,), by trying every support (m <= 3): (coefficients, SSE).
    A coefficient left out of the best support is 0."""
    K, m = r.shape
    best_c = np.zeros((K, m))
    best_sse = np.full(K, np.inf)
    for s in _subsets(m):
        idx = np.array(s)
        Gs = G[:, idx[:, None], idx[None, :]]
        rs = r[:, idx]
        scale = np.sqrt(np.maximum(np.einsum("kii->ki", Gs), 1e-300))
        A = Gs / (scale[:, :, None] * scale[:, None, :]) + 1e-12 * np.eye(idx.size)
        with np.errstate(all="ignore"):
            c = np.linalg.solve(A, (rs / scale)[..., None])[..., 0] / scale
            sse = tt - 2.0 * np.einsum("ki,ki->k", c, rs) + np.einsum("ki,kij,kj->k", c, Gs, c)
        ok = np.all(c > 0, axis=1) & np.isfinite(sse) & (sse < best_sse)
        best_sse[ok] = sse[ok]
        full = np.zeros((K, m))
        full[:, idx] = c
        best_c[ok] = full[ok]
    return best_c, best_sse


def _projection_starts(prob: _Problem) -> np.ndarray:
    """Starts by variable projection (module docstring, "Starts"): for every point of the grid of
    the form's nonlinear parameters, its linear coefficients by non-negative least squares of the
    weighted relative residuals; the ``keep`` best points as internal vectors. Pinned parameters
    keep their values; a pinned coefficient moves to the target.

    Only ever called on at most _SCREEN_POINTS points (``fit`` ranks the starts on a subsample above
    that); the linear fits run in chunks of _PROJECTION_CHUNK combinations x points."""
    proj = prob.form.projection
    assert proj is not None
    combos = _nonlinear_grid(prob, proj)
    coef, sse, free_lin = _profile(prob, proj, combos)
    keep = np.argsort(sse, kind="stable")[: proj.keep]
    return _profile_vectors(prob, proj, combos[keep], coef[keep], free_lin)


def _nonlinear_grid(prob: _Problem, proj) -> np.ndarray:
    """The product grid of a projection's nonlinear parameters (a pinned one at its value)."""
    axes = ([prob.fixed[name]] if name in prob.fixed else values for name, values in proj.nonlinear)
    return np.array(list(itertools.product(*axes)), dtype=float)


def _profile_vectors(prob: _Problem, proj, combos: np.ndarray, coef: np.ndarray, free_lin) -> np.ndarray:
    """Internal vectors from nonlinear values and their linear coefficients."""
    form = prob.form
    out = np.repeat(prob.base[None, :], combos.shape[0], axis=0)
    for j, k in enumerate(free_lin):
        out[:, form.natural.index(k)] = _internal(form, k, coef[:, j])
    for j, (name, _) in enumerate(proj.nonlinear):
        out[:, form.natural.index(name)] = _internal(form, name, combos[:, j])
    return out


def _profile(prob: _Problem, proj, combos: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """For each row of nonlinear values ``combos``: the linear coefficients by non-negative least
    squares of the weighted relative residuals, and that sum of squares."""
    loss = np.exp(prob.y)
    w = np.ones(prob.points) if prob.w is None else prob.w
    sw = np.sqrt(w)
    scale = sw / loss  # sqrt(w)·(L_hat/L - 1): each column divided by L, times sqrt(w), against sqrt(w)

    names = [name for name, _ in proj.nonlinear]
    pinned = {k: prob.fixed[k] for k in proj.linear if k in prob.fixed}
    free_lin = [k for k in proj.linear if k not in pinned]
    K = combos.shape[0]
    coef = np.zeros((K, len(free_lin)))
    sse = np.zeros(K)
    rows = max(1, _PROJECTION_CHUNK // prob.points)
    for lo in range(0, K, rows):
        chunk = combos[lo : lo + rows]
        k_sl = chunk.shape[0]
        with np.errstate(all="ignore"):
            raw = proj.columns({n: chunk[:, j : j + 1] for j, n in enumerate(names)}, prob.X)
        cols = {k: np.broadcast_to(raw[k] * scale, (k_sl, prob.points)) for k in proj.linear}
        ts = sw - sum((pinned[k] * cols[k] for k in pinned), np.zeros((k_sl, prob.points)))
        sl = slice(lo, lo + k_sl)
        if not free_lin:
            sse[sl] = np.einsum("kp,kp->k", ts, ts)
            continue
        X = np.stack([cols[k] for k in free_lin], axis=2)  # (k, P, m)
        G = np.matmul(X.transpose(0, 2, 1), X)
        r = np.einsum("kpi,kp->ki", X, ts)
        coef[sl], sse[sl] = _nonneg_lstsq(G, r, np.einsum("kp,kp->k", ts, ts))
        # a coefficient the fit dropped (0) starts small instead: a fraction of its lone fit
        lone = np.abs(r) / np.maximum(np.einsum("kii->ki", G), 1e-300)
        coef[sl] = np.where(coef[sl] > 0, coef[sl], _EXCLUDED * np.maximum(lone, 1e-300))
    sse = np.where(np.isfinite(sse), sse, np.inf)
    return coef, sse, free_lin


def _internal(form: FitForm, name: str, values: np.ndarray) -> np.ndarray:
    """Natural values of ``name`` as internal coordinates (log of a scale, an exponent as is)."""
    return np.log(values) if form.log_scale[form.natural.index(name)] else values


def roles(form: str) -> tuple[str, ...]:
    """The input roles ``form`` takes, in the order of ``fit``/``predict``'s ``inputs``."""
    return fit_form(form).roles


@dataclass
class FitResult:
    form: str  # a fit form's name (laws.fit_forms())
    params: dict[str, float]  # natural parameter names
    standard_errors: dict[str, float]  # asymptotic SEs (nan if not estimable; 0 for pinned)
    objective: float  # summed Huber(delta) of log residuals at the optimum (weighted if weights given)
    points: int
    starts: int  # local optimisations actually run
    grid_size: int  # initial points evaluated (4500 for the Hoffmann grid)
    best_basin_starts: int  # local runs that ended within a small tolerance of the best objective
    fixed: dict[str, float]
    theta: np.ndarray = field(repr=False)  # free internal vector at the optimum (for warm starts)
    # points the starts were ranked and the multi-start run on: all of them up to _SCREEN_POINTS,
    # else that fixed subsample (module docstring, "Large data"); 0 for a warm start
    screen_points: int = 0

    def predict(self, inputs: Sequence) -> np.ndarray:
        """Model loss at ``inputs``: one array (or number) per role of the form, in ``roles(form)`` order."""
        return fit_form(self.form).predict(self.params, inputs)


# --- inputs ------------------------------------------------------------------------------------------


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


def _chunk_rows(points: int, budget: int | None = None) -> int:
    """Starts per vectorised chunk: rows x points stays within ``budget`` elements (default
    ``_CHUNK_ELEMENTS``; one start per chunk when a single start has more points than that)."""
    return max(1, (_CHUNK_ELEMENTS if budget is None else budget) // max(1, int(points)))


@dataclass
class _Problem:
    form: FitForm
    X: tuple[np.ndarray, ...]  # ln of each input, in the form's role order
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

    def jacobian(
        self, theta: np.ndarray, X: tuple[np.ndarray, ...] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """log L_hat and its Jacobian in the free coordinates (points x free), at the problem's
        points or at other log inputs ``X``."""
        lp, cols = self.form.logpred_jac(self.full(theta), self.X if X is None else X)
        return lp, np.column_stack([np.broadcast_to(cols[i], lp.shape) for i in self.free])

    def subset(self, rows: np.ndarray) -> _Problem:
        """The same problem on the points ``rows`` only."""
        return replace(
            self,
            X=tuple(x[rows] for x in self.X),
            y=self.y[rows],
            w=None if self.w is None else self.w[rows],
            points=int(rows.size),
        )

    def huber(self, r: np.ndarray) -> np.ndarray:
        a = np.abs(r)
        d = self.delta
        return np.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d))

    def objective_many(self, T: np.ndarray) -> np.ndarray:
        """Objective at each row of T (K, n free), chunked to bound memory; nan -> inf."""
        out = np.empty(T.shape[0])
        rows = _chunk_rows(self.y.size)
        full = np.repeat(self.base[None, :], T.shape[0], axis=0)
        full[:, self.free] = T
        with np.errstate(all="ignore"):
            for lo in range(0, T.shape[0], rows):
                h = self.huber(self.form.logpred(full[lo : lo + rows], self.X) - self.y)
                out[lo : lo + rows] = h.sum(axis=1) if self.w is None else h @ self.w
        out[~np.isfinite(out)] = np.inf
        return out

    def fun_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(all="ignore"):
            lp, cols = self.form.logpred_jac(self.full(theta), self.X)
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


def _problem(form: str, inputs, loss, fixed, delta, weights) -> _Problem:
    spec = fit_form(form)
    cols = inputs_tuple(spec, inputs)
    y = _positive_array("loss", loss)
    n = y.size
    X = tuple(np.log(_positive_array(role, x, n)) for role, x in zip(spec.roles, cols, strict=True))
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
    return _Problem(spec, X, np.log(y), w, float(delta), base, free, fixed, n)


# --- results -----------------------------------------------------------------------------------------


def _natural(prob: _Problem, theta: np.ndarray) -> dict[str, float]:
    spec = prob.form
    t = prob.full(theta)
    out: dict[str, float] = {}
    for name in spec.display:
        i = spec.natural.index(name)
        if name in prob.fixed:
            out[name] = prob.fixed[name]
        elif not spec.log_scale[i]:
            out[name] = float(t[i])
        elif t[i] > _LN_MAX:
            raise InputError(
                f"{spec.name}: the fitted {name} overflows double precision (ln {name} = {t[i]:.4g}): "
                f"the data do not determine it; add runs over a wider range or pin {name} with --fix"
            )
        else:
            out[name] = float(math.exp(t[i]))
    return out


def _standard_errors(prob: _Problem, theta: np.ndarray, params: Mapping[str, float]) -> dict[str, float]:
    """Sandwich standard errors of the M-estimator, carried to natural parameters (module docstring)."""
    spec = prob.form
    p = len(prob.free)
    se_internal = np.full(p, math.nan)
    w = np.ones(prob.points) if prob.w is None else prob.w
    n = float(w.sum())

    jac = prob.jacobian
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
            span = 2.0 * step
            floor = spec.floor(prob.free[k])
            if floor is not None and down[k] < floor:  # at a Kaplan exponent's floor: one-sided
                down[k] = theta[k]
                span = step
            curv[:, k] = ((w * psi) @ (jac(up)[1] - jac(down)[1])) / span
        hess = J.T @ (J * (w * inside)[:, None]) + 0.5 * (curv + curv.T)
        meat = J.T @ (J * (w * psi**2)[:, None])
        ok = n > p and np.all(np.isfinite(hess)) and np.all(np.isfinite(meat))
        if ok and np.all(np.linalg.eigvalsh(hess) > 0):
            try:
                h_inv = np.linalg.inv(hess)
            except np.linalg.LinAlgError:  # positive but numerically singular: not estimable
                h_inv = np.full((p, p), math.nan)
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


def _result(
    prob: _Problem, theta, obj, starts, grid_size, hits, with_se: bool = True, screen_points: int = 0
) -> FitResult:
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
        screen_points=int(screen_points),
    )


def _in_basin(obj: float, best: float) -> bool:
    return obj <= best + _BASIN_RTOL * abs(best) + _BASIN_ATOL


# --- the fit -----------------------------------------------------------------------------------------


def _ranked_candidates(prob: _Problem) -> tuple[np.ndarray, np.ndarray, int]:
    """Distinct grid starts ranked by objective; returns (starts, objectives, grid size)."""
    full = prob.form.grid() if prob.form.projection is None else _projection_starts(prob)
    grid = np.unique(full[:, prob.free], axis=0)
    obj = prob.objective_many(grid)
    order = np.argsort(obj, kind="stable")
    order = order[np.isfinite(obj[order])]
    return grid[order], obj[order], grid.shape[0]


def _distinct(prob: _Problem, starts: np.ndarray) -> np.ndarray:
    """Drop starts whose fitted curve (log prediction at every point, rounded to 1e-9) repeats an
    earlier one. Chunked: each curve is reduced to a 128-bit digest of its rounded values, so only
    one chunk of starts x points is ever held (the same starts as comparing the rows themselves)."""
    full = np.repeat(prob.base[None, :], starts.shape[0], axis=0)
    full[:, prob.free] = starts
    seen: set[bytes] = set()
    keep: list[int] = []
    rows = _chunk_rows(prob.points)
    for lo in range(0, starts.shape[0], rows):
        with np.errstate(all="ignore"):
            keys = np.round(prob.form.logpred(full[lo : lo + rows], prob.X), 9) + 0.0  # -0.0 -> 0.0
        for j, key in enumerate(np.ascontiguousarray(keys)):
            digest = hashlib.blake2b(key.tobytes(), digest_size=16).digest()
            if digest not in seen:
                seen.add(digest)
                keep.append(lo + j)
    return starts[np.array(keep, dtype=int)]


def fit(
    form: str,
    inputs: Sequence,
    loss,
    *,
    fixed: dict[str, float] | None = None,
    delta: float = DEFAULT_DELTA,
    weights=None,
    theta0=None,
) -> FitResult:
    """Fit ``form`` to runs by Huber-on-log L-BFGS-B (module docstring).

    ``inputs`` holds one array per input role of the form, in ``roles(form)`` order (e.g.
    ``[params, tokens]`` for chinchilla); ``loss`` one value per run.
    """
    prob = _problem(form, inputs, loss, fixed, delta, weights)
    if not prob.free:
        raise InputError(
            f"{form}: every parameter ({', '.join(prob.form.display)}) is pinned: nothing left to fit; "
            "pin fewer parameters"
        )
    if theta0 is not None:
        return _fit_warm(prob, theta0)
    schedule = prob.form.schedule
    screen = _screen_rows(prob.points)
    if screen is None:
        runs, grid_size = _multistart(prob, schedule)
        best_x, best_f = _best(runs)
        best_x, best_f = _polish(prob, best_x, best_f)
        hits = sum(_in_basin(f, best_f) for _, f in runs)
        return _result(prob, best_x, best_f, len(runs), grid_size, max(hits, 1), screen_points=prob.points)
    # Large data: the multi-start on the subsample, then its best distinct optima on every point
    sub_runs, grid_size = _multistart(prob.subset(screen), schedule)
    sub_best = _best(sub_runs)[1]
    sub_hits = sum(_in_basin(f, sub_best) for _, f in sub_runs)
    full_runs = [prob.local(x0, _options(schedule)) for x0 in _basin_ends(sub_runs, _FULL_RUNS)]
    best_x, best_f = _best(full_runs)
    if not math.isfinite(best_f):
        raise InputError(f"{prob.form.name}: no start gave a finite objective on all points; check the data")
    best_x, best_f = _polish(prob, best_x, best_f)
    hits = sub_hits + sum(_in_basin(f, best_f) for _, f in full_runs)
    return _result(
        prob,
        best_x,
        best_f,
        len(sub_runs) + len(full_runs),
        grid_size,
        max(hits, 1),
        screen_points=screen.size,
    )


def _screen_rows(points: int) -> np.ndarray | None:
    """The fixed subsample the starts are ranked on (sorted row indices), or None to use every point."""
    if points <= _SCREEN_POINTS:
        return None
    rng = np.random.default_rng(_SCREEN_SEED)
    return np.sort(rng.choice(points, _SCREEN_POINTS, replace=False))


def _best(runs: Sequence[tuple[np.ndarray, float]]) -> tuple[np.ndarray, float]:
    """The first run with the lowest objective."""
    best_x, best_f = runs[0]
    for x, f in runs[1:]:
        if f < best_f:
            best_x, best_f = x, f
    return best_x, best_f


def _basin_ends(runs: Sequence[tuple[np.ndarray, float]], count: int) -> list[np.ndarray]:
    """End points of the ``count`` best runs in distinct basins (finite objectives only), best first."""
    picked: list[float] = []
    ends: list[np.ndarray] = []
    for x, f in sorted(runs, key=lambda run: run[1]):
        if not math.isfinite(f) or any(_in_basin(f, g) for g in picked):
            continue
        picked.append(f)
        ends.append(x)
        if len(ends) == count:
            break
    return ends


def _multistart(prob: _Problem, schedule: Schedule) -> tuple[list[tuple[np.ndarray, float]], int]:
    """Local runs from the ranked distinct starts (module docstring): every run's end point and
    objective, in order, and the number of starts ranked."""
    starts, _, grid_size = _ranked_candidates(prob)
    cap = max(schedule.min_cap, int(math.ceil(schedule.max_fraction * grid_size)))
    pool = _distinct(prob, starts[: 4 * cap])[:cap]
    options = _options(schedule)
    best_f = math.inf
    runs: list[tuple[np.ndarray, float]] = []
    for lo in range(0, pool.shape[0], schedule.batch):
        improved = False
        for x0 in pool[lo : lo + schedule.batch]:
            x, f = prob.local(x0, options)
            runs.append((x, f))
            if f < best_f:
                improved = improved or not math.isfinite(best_f) or not _in_basin(f, best_f)
                best_f = f
        hits = sum(_in_basin(f, best_f) for _, f in runs)
        if len(runs) >= schedule.min_starts and hits >= schedule.min_basin_hits and not improved:
            break
    if not runs or not math.isfinite(best_f):
        raise InputError(f"{prob.form.name}: no start gave a finite objective; check the data")
    return runs, grid_size


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


def fit_projected(
    form: str,
    inputs: Sequence,
    loss,
    fixed: dict[str, float] | None = None,
    delta: float = DEFAULT_DELTA,
) -> FitResult:
    """Variable projection (Czech 2026, Open-Athena/scaling-law-analysis): the search runs over the
    nonlinear parameters only (the exponents), the linear coefficients following by non-negative
    least squares of the relative residuals; a grid of the exponents, then Nelder-Mead on the best
    point's profile, then the Huber objective of ``fit`` polished from there with every
    coordinate free. The objective is ``fit``'s, so the two can be compared directly
    (benchmarks/fit.py)."""
    from scipy.optimize import minimize

    spec = fit_form(form)
    proj = spec.profile or spec.projection
    if proj is None:
        raise InputError(f"the {form} form has no linear/nonlinear split for variable projection")
    prob = _problem(form, inputs, loss, fixed, delta, None)
    free = [j for j, (name, _) in enumerate(proj.nonlinear) if name not in prob.fixed]
    grid = _nonlinear_grid(prob, proj)
    _, sse, free_lin = _profile(prob, proj, grid)
    start = grid[int(np.argmin(sse))]

    def profile_sse(z: np.ndarray) -> float:
        combo = start.copy()
        combo[free] = z
        return float(_profile(prob, proj, combo[None, :])[1][0])

    best = start
    if free:
        res = minimize(
            profile_sse,
            start[free],
            method="Nelder-Mead",
            options={"xatol": 1e-6, "fatol": 1e-13, "maxiter": 800},
        )
        best = start.copy()
        best[free] = res.x
    c_best, _, _ = _profile(prob, proj, best[None, :])
    theta0 = _profile_vectors(prob, proj, best[None, :], c_best, free_lin)[0][prob.free]
    result = _fit_warm(prob, theta0)
    result.grid_size = int(grid.shape[0])
    return result


def objective_at(
    form: str,
    params: dict[str, float],
    inputs: Sequence,
    loss,
    delta: float = DEFAULT_DELTA,
    weights=None,
) -> float:
    """The summed Huber objective at natural parameters ``params`` (all of the form's parameters)."""
    spec = fit_form(form)
    missing = [k for k in spec.display if k not in params]
    extra = [k for k in params if k not in spec.natural]
    if missing or extra:
        raise InputError(
            f"{form}: objective_at needs exactly {', '.join(spec.display)}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(extra)}" if extra else "")
        )
    prob = _problem(form, inputs, loss, params, delta, weights)
    return float(prob.objective_many(np.zeros((1, 0)))[0])
