"""Bootstrap intervals for a parametric fit: resample runs, refit warm-started from the best fit.

Each draw resamples the runs with replacement. The resample enters the fit as multinomial counts
used as per-point weights on the Huber terms, which is the same objective as refitting the
duplicated rows, and is refitted with L-BFGS-B from the full-data optimum (``best.theta``) instead
of the whole initialisation grid. That warm start is what makes 1,000 draws take seconds: a resample
moves the optimum only a little, so the local run starts inside the basin it ends in.

Epoch (REFERENCE.md §3.2) resampled the same way (4,000 draws, each refitted from Hoffmann's
initial values); ``intervals`` gives percentile intervals from the draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from scalecli.errors import InputError
from scalecli.fitting.parametric import DEFAULT_DELTA, FitResult, _fit_warm, _problem
from scalecli.numerics import percentile_interval


def bootstrap(
    form: str,
    inputs: Sequence,
    loss,
    best: FitResult,
    draws: int,
    seed: int,
    *,
    fixed: dict[str, float] | None = None,
    delta: float = DEFAULT_DELTA,
    progress: Callable[[int, int], None] | None = None,
    groups=None,
) -> list[dict[str, float]]:
    """Parameters of ``draws`` resampled refits (natural names), reproducible for a given ``seed``.

    ``inputs`` and ``loss`` are the runs the best fit was made on: one array per input role of the
    form, in ``parametric.roles(form)`` order, as for ``parametric.fit``.

    ``groups`` (one label per run row, e.g. a run id shared by a learning curve's checkpoints)
    makes it a block bootstrap: each draw resamples whole groups with replacement, so rows that
    share a run's seed and data order stay together (their errors are not independent).

    ``fixed`` defaults to the pins of ``best`` (the warm start only fits the same free vector).
    A draw whose refit gives a non-finite objective is returned with nan values.
    """
    if form != best.form:
        raise InputError(f"bootstrap: form {form!r} differs from the best fit's {best.form!r}")
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise InputError(f"bootstrap: draws must be a whole number >= 1 (got {draws!r})")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"bootstrap: the seed must be a whole number >= 0 (got {seed!r})")
    pins = dict(best.fixed if fixed is None else fixed)
    base = _problem(form, inputs, loss, pins, delta, None)
    theta0 = np.asarray(best.theta, dtype=float).reshape(-1)
    if theta0.size != len(base.free) or not np.all(np.isfinite(theta0)):
        raise InputError(
            f"bootstrap: the best fit has {theta0.size} free parameters but the pins "
            f"{sorted(pins)} leave {len(base.free)}; pass the same fixed parameters as the fit"
        )
    n = base.points
    if groups is None:
        codes, k = np.arange(n), n
    else:
        labels = np.asarray(groups)
        if labels.shape != (n,):
            raise InputError(f"bootstrap: {labels.size} group labels for {n} runs")
        _, codes = np.unique(labels, return_inverse=True)
        k = int(codes.max()) + 1
    rng = np.random.default_rng(seed)
    out: list[dict[str, float]] = []
    for done in range(1, int(draws) + 1):
        counts = np.bincount(rng.integers(0, k, size=k), minlength=k).astype(float)
        base.w = counts[codes]
        try:
            res = _fit_warm(base, theta0, with_se=False)
            params = dict(res.params)
        except InputError:
            params = {k: math.nan for k in best.params}
        out.append(params)
        if progress is not None:
            progress(done, int(draws))
    return out


def intervals(draws: Sequence[dict[str, float]], level: float = 0.9) -> dict[str, tuple[float, float]]:
    """Central percentile interval at ``level`` for each parameter (nan draws ignored)."""
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise InputError(f"interval level must be between 0 and 1 (got {level!r})")
    if not draws:
        raise InputError("intervals: no bootstrap draws")
    return {name: percentile_interval([d[name] for d in draws], level) for name in draws[0]}
