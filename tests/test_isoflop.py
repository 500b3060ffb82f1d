"""IsoFLOP ("Approach 2") fits: Porian et al. 2024 data (SOURCE.md), synthetic Chinchilla profiles
(REFERENCE.md §2.2-§2.3) and the edge, grouping, bootstrap and error behaviour."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalecli.errors import InputError
from scalecli.fitting.isoflop import (
    EDGE_CONCAVE,
    EDGE_LARGEST,
    EDGE_OUTSIDE,
    EDGE_SMALLEST,
    fit_isoflop,
    group_budgets,
)

PORIAN = Path(__file__).resolve().parents[2] / "shared" / "data" / "porian-isoflop"
CONFIG_FIELDS = ("source_file", "dataset", "hparams", "warmup", "decay", "param_count", "loss_type")

# REFERENCE.md §2.1 eq. 10 (rounded) constants, as in §2.6's first row.
E, A, B, ALPHA, BETA = 1.69, 406.4, 410.7, 0.34, 0.28
A_EXP = BETA / (ALPHA + BETA)  # REFERENCE.md §2.2-§2.3: a = beta/(alpha+beta) = 0.451613
B_EXP = ALPHA / (ALPHA + BETA)  # b = alpha/(alpha+beta) = 0.548387
G = (ALPHA * A / (BETA * B)) ** (1 / (ALPHA + BETA))  # REFERENCE.md §2.2; §2.6 prints G = 1.34471
BUDGETS = 1e18 * 4.0 ** np.arange(6)  # 1e18 ... 1.024e21 FLOP


def chinchilla_loss(n: np.ndarray, d: np.ndarray) -> np.ndarray:
    return E + A / n**ALPHA + B / d**BETA  # REFERENCE.md §2.1 eq. 2


def n_opt(c: float) -> float:
    return G * (c / 6) ** A_EXP  # REFERENCE.md §2.2 eq. 4


def isoflop_runs(sizes_for_budget, budgets=BUDGETS, noise=0.0, seed=0):
    """Runs (flops, params, loss) on Chinchilla isoFLOP profiles with D = C / (6 N)."""
    rng = np.random.default_rng(seed)
    c_all, n_all = [], []
    for c in budgets:
        n = np.asarray(sizes_for_budget(c), dtype=float)
        c_all.append(np.full(n.size, c))
        n_all.append(n)
    c, n = np.concatenate(c_all), np.concatenate(n_all)
    loss = chinchilla_loss(n, c / (6 * n)) + noise * rng.standard_normal(n.size)
    return c, n, loss


def centred_grid(c: float, step: float = 0.35, half: int = 4) -> np.ndarray:
    return n_opt(c) * np.exp(step * np.arange(-half, half + 1))


# A common log grid, 10^(6 + 0.15 i), as a real sweep uses; each budget keeps the sizes within
# 1.4 e-folds of its optimum (about 9 sizes), so the optimum falls at a different grid phase
# at every budget.
COMMON_STEP = 0.15 * math.log(10)


def common_grid(c: float) -> np.ndarray:
    sizes = 10.0 ** (6 + 0.15 * np.arange(60))
    return sizes[np.abs(np.log(sizes / n_opt(c))) <= 1.4]


# Bound on the slope error from the parabola's own bias on the common grid (noise-free).
# Along a budget the profile is L(u) = E + S (beta e^(-alpha u) + alpha e^(beta u)), u = ln(N/N_opt):
# its shape does not depend on C, only its scale S does. A parabola fitted through 5 points spaced h
# around the optimum shifts its vertex by about (L'''/L'') * 1.7 h^2 / 3 with L'''/L'' = beta - alpha
# = -0.06, i.e. |delta| ~ 0.004 for h = 0.345, and the grid phase changes this by a similar amount;
# take |delta - mean| <= 0.01. The unweighted slope error is sum(w_j delta_j) with
# w_j = (ln C_j - mean) / sum (ln C - mean)^2; for 6 budgets spaced ln 4 apart, sum |w_j| = 0.371,
# so |a - a_true| <= 0.0037 < 0.005.
GRID_BIAS_TOL = 0.005


# --------------------------------------------------------------------------- Porian et al. 2024


def _read(name: str) -> list[dict[str, str]]:
    path = PORIAN / name
    if not path.exists():
        pytest.skip(f"shared dataset {path} not present (tests read ../shared/data beside the checkout)")
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _porian_configs():
    path = PORIAN / "porian_fit_results_derived.csv"
    if not path.exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"shared dataset {path} not present"))]
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [pytest.param(row, id=f"{i + 1}-{row['dataset']}-{row['label']}") for i, row in enumerate(rows)]


# SOURCE.md, "The 15 configurations" table: (points, budgets) per row, in the CSV's row order.
PORIAN_COUNTS = [
    (107, 11), (131, 12), (132, 12), (88, 12), (121, 12),
    (113, 11), (132, 12), (132, 12), (88, 12), (116, 12),
    (126, 12), (126, 12), (106, 12), (123, 12), (104, 11),
]  # fmt: skip


@pytest.fixture(scope="module")
def porian_points():
    return _read("porian_isoflop_points_derived.csv")


def _porian_runs(points, config):
    rows = [r for r in points if all(r[f] == config[f] for f in CONFIG_FIELDS)]
    assert rows and all(r["label"] == config["label"] for r in rows)
    cols = {k: np.array([float(r[k]) for r in rows]) for k in ("flops", "n", "tokens", "loss")}
    return cols


@pytest.mark.parametrize("config", _porian_configs())
def test_porian_exponent_reproduced(porian_points, config):
    # SOURCE.md "Planner (Approach 2) test": a 5-point parabola per budget, edge budgets skipped and an
    # unweighted log-log line reproduce all 15 published a_n_exponent values within 0.029; tolerance 0.03.
    runs = _porian_runs(porian_points, config)
    res = fit_isoflop(runs["flops"], runs["n"], runs["loss"])
    assert res.n_exponent == pytest.approx(float(config["a_n_exponent"]), abs=0.03)
    # D* = C / (6 N*), so b = 1 - a exactly for the unweighted lines.
    assert res.tokens_exponent == pytest.approx(1 - res.n_exponent, abs=1e-12)


def test_porian_grouping_matches_source_counts(porian_points):
    # SOURCE.md "The 15 configurations": points and budgets per configuration.
    configs = _read("porian_fit_results_derived.csv")
    assert len(configs) == len(PORIAN_COUNTS) == 15
    for config, (points, budgets) in zip(configs, PORIAN_COUNTS, strict=True):
        runs = _porian_runs(porian_points, config)
        res = fit_isoflop(runs["flops"], runs["n"], runs["loss"])
        assert len(runs["flops"]) == points
        assert len(res.optima) == budgets
        assert sum(o.points for o in res.optima) == points
        # SOURCE.md: budgets are 1e17 * 2^k, k = -3 ... 8.
        k = np.log2(np.array([o.flops for o in res.optima]) / 1e17)
        assert np.allclose(k, np.round(k), atol=1e-12) and k.min() >= -3 and k.max() <= 8


def test_porian_tokens_column_gives_the_same_fit(porian_points):
    # SOURCE.md: tokens = C / (6 n) exactly, so passing tokens must not change D*.
    config = _read("porian_fit_results_derived.csv")[4]  # row 5, tuned RefinedWeb
    runs = _porian_runs(porian_points, config)
    without = fit_isoflop(runs["flops"], runs["n"], runs["loss"])
    with_tokens = fit_isoflop(runs["flops"], runs["n"], runs["loss"], tokens=runs["tokens"])
    assert with_tokens.tokens_exponent == pytest.approx(1 - without.n_exponent, abs=1e-9)
    for o in with_tokens.optima:
        if not o.edge:
            assert o.tokens == pytest.approx(o.flops / (6 * o.params), rel=1e-9)


def test_porian_bootstrap_interval(porian_points):
    config = _read("porian_fit_results_derived.csv")[4]
    runs = _porian_runs(porian_points, config)
    res = fit_isoflop(runs["flops"], runs["n"], runs["loss"], bootstrap=100, seed=3, level=0.95)
    lo, hi = res.n_exponent_interval
    assert lo <= res.n_exponent <= hi
    tlo, thi = res.tokens_exponent_interval
    assert tlo <= res.tokens_exponent <= thi
    # b = 1 - a in every draw, so the percentile intervals mirror each other.
    assert (tlo, thi) == pytest.approx((1 - hi, 1 - lo), abs=1e-12)


# --------------------------------------------------------------------------- synthetic Chinchilla


def test_constants_match_reference():
    assert A_EXP == pytest.approx(0.451613, rel=1e-5)  # REFERENCE.md §2.6
    assert G == pytest.approx(1.34471, rel=1e-5)  # REFERENCE.md §2.6
    assert n_opt(1e21) == pytest.approx(1.8242e9, rel=1e-4)  # REFERENCE.md §2.6


def test_synthetic_centred_grid_recovers_exponents_exactly():
    # With sizes at the same offsets u = ln(N / N_opt) at every budget, the profile in u is the same
    # curve up to scale (see GRID_BIAS_TOL), so every vertex is off by the same delta and the slope is
    # exact: a = beta/(alpha+beta), b = alpha/(alpha+beta) (REFERENCE.md §2.2) to rounding.
    c, n, loss = isoflop_runs(centred_grid)
    res = fit_isoflop(c, n, loss)
    assert res.budgets_used == len(BUDGETS) and not any(o.edge for o in res.optima)
    assert res.n_exponent == pytest.approx(A_EXP, abs=1e-9)
    assert res.tokens_exponent == pytest.approx(B_EXP, abs=1e-9)
    # The common offset delta is below 0.01 in ln N (GRID_BIAS_TOL comment), so the prefactors
    # G 6^-a and 6^-b / G (REFERENCE.md §2.2 eq. 4) are within 1 %.
    assert res.n_coef == pytest.approx(G * 6**-A_EXP, rel=0.01)
    assert res.tokens_coef == pytest.approx(6**-B_EXP / G, rel=0.01)
    for o in res.optima:
        assert o.params == pytest.approx(n_opt(o.flops), rel=0.01)
        assert o.tokens == pytest.approx(o.flops / (6 * o.params), rel=1e-12)
        assert o.points == 9 and o.used == 5
        # L* from REFERENCE.md §2.2: the true optimum, which the parabola's minimum matches to
        # its curvature error (the loss is flat at the optimum: 1e-4 relative).
        d_opt = o.flops / (6 * n_opt(o.flops))
        assert o.loss == pytest.approx(chinchilla_loss(n_opt(o.flops), d_opt), rel=1e-4)


def test_synthetic_common_grid_recovers_exponents():
    c, n, loss = isoflop_runs(common_grid)
    res = fit_isoflop(c, n, loss)
    assert res.budgets_used == len(BUDGETS)
    assert res.n_exponent == pytest.approx(A_EXP, abs=GRID_BIAS_TOL)
    assert res.tokens_exponent == pytest.approx(B_EXP, abs=GRID_BIAS_TOL)


def _noise_slope_sd(sigma: float, step: float, points: int = 5) -> float:
    """Linearised standard deviation of the fitted slope under loss noise sigma.

    The vertex's sd is sigma / (sqrt(sum u^2) * L'') with L'' = alpha beta (L* - E) along the budget
    (second derivative of the profile in GRID_BIAS_TOL's comment); L* - E from REFERENCE.md §2.2.
    """
    half = points // 2
    sum_u2 = step**2 * float(np.sum(np.arange(-half, half + 1) ** 2))
    reducible = np.array([chinchilla_loss(n_opt(c), c / (6 * n_opt(c))) - E for c in BUDGETS])
    sd_vertex = sigma / (math.sqrt(sum_u2) * ALPHA * BETA * reducible)
    lc = np.log(BUDGETS) - np.log(BUDGETS).mean()
    w = lc / np.sum(lc**2)
    return float(np.sqrt(np.sum((w * sd_vertex) ** 2)))


@pytest.mark.parametrize("seed", range(5))
def test_synthetic_noisy_common_grid_recovers_exponents(seed):
    sigma = 0.001  # nats
    c, n, loss = isoflop_runs(common_grid, noise=sigma, seed=seed)
    res = fit_isoflop(c, n, loss)
    # Bias bound plus 4 linearised standard deviations (about 0.0125 here).
    tol = GRID_BIAS_TOL + 4 * _noise_slope_sd(sigma, COMMON_STEP)
    assert tol < 0.02
    assert res.n_exponent == pytest.approx(A_EXP, abs=tol)
    assert res.tokens_exponent == pytest.approx(B_EXP, abs=tol)


def test_tokens_argument_carries_its_own_convention():
    # If the runs' tokens are D = 2 C / (6 N) (another FLOP convention), D* is read off them:
    # the token prefactor doubles and the exponents are unchanged.
    c, n, loss = isoflop_runs(centred_grid)
    res = fit_isoflop(c, n, loss, tokens=2 * c / (6 * n))
    assert res.n_exponent == pytest.approx(A_EXP, abs=1e-9)
    assert res.tokens_exponent == pytest.approx(B_EXP, abs=1e-9)
    assert res.tokens_coef == pytest.approx(2 * 6**-B_EXP / G, rel=0.01)
    for o in res.optima:
        assert o.tokens == pytest.approx(2 * o.flops / (6 * o.params), rel=1e-9)


# --------------------------------------------------------------------------- grouping


def test_group_budgets_with_jitter():
    rng = np.random.default_rng(1)
    nominal = np.repeat(1e17 * 2.0 ** np.arange(8), 7)
    jittered = nominal * (1 + rng.uniform(-0.02, 0.02, nominal.size))
    ids = group_budgets(jittered)
    assert np.array_equal(ids, np.repeat(np.arange(8), 7))
    # Exact values group with no tolerance at all.
    assert np.array_equal(group_budgets(nominal, rel_tol=0.0), np.repeat(np.arange(8), 7))
    # Order of the runs does not matter; ids follow increasing FLOPs.
    perm = rng.permutation(nominal.size)
    assert np.array_equal(group_budgets(jittered[perm]), ids[perm])


@settings(max_examples=50, deadline=None)
@given(
    ratios=st.lists(st.floats(1.2, 10.0), min_size=1, max_size=8),
    per_budget=st.integers(1, 6),
    jitter=st.floats(0.0, 0.02),
    seed=st.integers(0, 2**32 - 1),
)
def test_group_budgets_property(ratios, per_budget, jitter, seed):
    # Budgets at least 1.2x apart, each run jittered by at most +-2 %: consecutive runs of one budget
    # differ by < 4.1 % < 5 % and distinct budgets by > 1.2 * 0.98 / 1.02 - 1 = 15 %.
    rng = np.random.default_rng(seed)
    budgets = 1e18 * np.cumprod([1.0, *ratios])
    nominal = np.repeat(budgets, per_budget)
    flops = nominal * (1 + rng.uniform(-jitter, jitter, nominal.size))
    perm = rng.permutation(nominal.size)
    expected = np.repeat(np.arange(budgets.size), per_budget)
    assert np.array_equal(group_budgets(flops[perm]), expected[perm])


def test_fit_with_jittered_flops():
    # Same synthetic profiles as the centred-grid test with +-1 % jitter on each run's FLOPs label
    # (losses computed at the nominal budget, as when a CSV rounds or approximates its FLOPs).
    c, n, loss = isoflop_runs(centred_grid)
    rng = np.random.default_rng(7)
    jittered = c * (1 + rng.uniform(-0.01, 0.01, c.size))
    res = fit_isoflop(jittered, n, loss)
    assert len(res.optima) == len(BUDGETS) and res.budgets_used == len(BUDGETS)
    assert all(o.points == 9 for o in res.optima)
    # Each budget's representative C (median of its runs) is within 1 % of nominal, so ln C_j moves
    # by |e_j| < 0.01 while the vertices do not move; to first order the slope changes by
    # -a * sum(w_j e_j), at most 0.4516 * 0.01 * 0.371 = 0.0017 (sum |w_j| from GRID_BIAS_TOL).
    assert res.n_exponent == pytest.approx(A_EXP, abs=0.005)
    for o, nominal in zip(res.optima, BUDGETS, strict=True):
        assert o.flops == pytest.approx(nominal, rel=0.01)


# --------------------------------------------------------------------------- edge budgets


def test_edge_budgets_are_skipped_and_reported():
    c, n, loss = isoflop_runs(centred_grid)
    # Two extra budgets sampled only on one side of their optimum.
    low_c, high_c = 1e18 * 4.0**6, 1e18 * 4.0**7
    n_small = n_opt(low_c) * np.exp(-0.35 * np.arange(1, 8))  # all smaller than optimal -> min at largest
    n_large = n_opt(high_c) * np.exp(0.35 * np.arange(1, 8))  # all larger -> min at smallest
    c2 = np.concatenate([c, np.full(7, low_c), np.full(7, high_c)])
    n2 = np.concatenate([n, n_small, n_large])
    loss2 = chinchilla_loss(n2, c2 / (6 * n2))
    res = fit_isoflop(c2, n2, loss2)
    assert len(res.optima) == len(BUDGETS) + 2
    assert res.budgets_used == len(BUDGETS)
    low, high = res.optima[-2], res.optima[-1]
    assert low.edge and low.reason == EDGE_LARGEST
    assert high.edge and high.reason == EDGE_SMALLEST
    for o in (low, high):
        assert o.params is None and o.tokens is None and o.loss is None
        assert o.points == 7 and o.used == 0
    # The skipped budgets do not disturb the exact centred-grid result.
    assert res.n_exponent == pytest.approx(A_EXP, abs=1e-9)
    d = res.to_dict()
    assert [o["edge"] for o in d["optima"]] == [False] * len(BUDGETS) + [True, True]


@pytest.mark.parametrize(
    "shape, reason",
    [
        # x = ln N = 0..4. Least-squares parabola of [2,1,2,4,2] is -0.0714 x^2 + 0.586 x + 1.457 (concave).
        ([2.0, 1.0, 2.0, 4.0, 2.0], EDGE_CONCAVE),
        # [3,2,3,5,4]: 0.0714 x^2 + 0.214 x + 2.543, vertex at x = -1.5 < 0, outside the sampled sizes.
        ([3.0, 2.0, 3.0, 5.0, 4.0], EDGE_OUTSIDE),
    ],
)
def test_interior_minimum_with_unusable_parabola_is_skipped(shape, reason):
    c, n, loss = isoflop_runs(centred_grid, budgets=BUDGETS[:2])
    odd_c = 1e22
    c2 = np.concatenate([c, np.full(5, odd_c)])
    n2 = np.concatenate([n, 1e9 * np.exp(np.arange(5.0))])
    loss2 = np.concatenate([loss, shape])
    res = fit_isoflop(c2, n2, loss2)
    odd = res.optima[-1]
    assert odd.edge and odd.reason == reason and odd.params is None
    assert res.budgets_used == 2


def test_too_few_budgets_raise_input_error():
    c, n, loss = isoflop_runs(centred_grid, budgets=BUDGETS[:1])
    with pytest.raises(InputError, match=r"at least 2 budgets with an interior .*found 1"):
        fit_isoflop(c, n, loss)
    # Two budgets, one of them edge-only.
    n_small = n_opt(1e20) * np.exp(-0.35 * np.arange(1, 6))
    c2 = np.concatenate([c, np.full(5, 1e20)])
    n2 = np.concatenate([n, n_small])
    loss2 = chinchilla_loss(n2, c2 / (6 * n2))
    with pytest.raises(InputError, match=r"found 1 \(of 2 budget"):
        fit_isoflop(c2, n2, loss2)


def test_two_budgets_are_enough():
    c, n, loss = isoflop_runs(centred_grid, budgets=BUDGETS[:2])
    res = fit_isoflop(c, n, loss)
    assert res.n_exponent == pytest.approx(A_EXP, abs=1e-9)


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_interval_contains_estimate_and_is_reproducible():
    c, n, loss = isoflop_runs(common_grid, noise=0.002, seed=11)
    calls = []
    res = fit_isoflop(
        c, n, loss, bootstrap=200, seed=5, level=0.9, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(i, 200) for i in range(1, 201)]
    lo, hi = res.n_exponent_interval
    assert lo < res.n_exponent < hi
    tlo, thi = res.tokens_exponent_interval
    assert tlo < res.tokens_exponent < thi
    assert res.bootstrap == 200 and res.level == 0.9
    again = fit_isoflop(c, n, loss, bootstrap=200, seed=5, level=0.9)
    assert again.n_exponent_interval == res.n_exponent_interval
    assert again.tokens_exponent_interval == res.tokens_exponent_interval
    other = fit_isoflop(c, n, loss, bootstrap=200, seed=6, level=0.9)
    assert other.n_exponent_interval != res.n_exponent_interval
    # The point estimate does not depend on the bootstrap.
    assert other.n_exponent == res.n_exponent == fit_isoflop(c, n, loss).n_exponent
    # A wider level gives a wider (nested) interval from the same draws.
    wide = fit_isoflop(c, n, loss, bootstrap=200, seed=5, level=0.98)
    assert wide.n_exponent_interval[0] <= lo and wide.n_exponent_interval[1] >= hi


def test_no_bootstrap_means_no_interval():
    c, n, loss = isoflop_runs(centred_grid)
    res = fit_isoflop(c, n, loss)
    assert res.n_exponent_interval is None and res.tokens_exponent_interval is None
    assert res.bootstrap == 0 and res.bootstrap_dropped == 0


def test_bootstrap_drops_and_counts_degenerate_draws():
    # Budgets with three sizes only: a resample keeps all three (needed for an interior minimum)
    # with probability 3!/3^3 = 2/9, so both budgets survive in about 5 % of draws.
    c, n, loss = isoflop_runs(lambda c: centred_grid(c, half=1), budgets=BUDGETS[:2])
    res = fit_isoflop(c, n, loss, bootstrap=300, seed=0)
    survivors = 300 - res.bootstrap_dropped
    # Binomial(300, (2/9)^2 = 0.0494): mean 14.8, sd 3.8; 3 < survivors < 40 is far beyond 3 sd.
    assert 3 < survivors < 40
    assert res.n_exponent_interval is not None


# --------------------------------------------------------------------------- input checks and output


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0, 0.0])
@pytest.mark.parametrize("column", ["flops", "params", "loss", "tokens"])
def test_non_finite_or_non_positive_inputs_raise(column, bad):
    c, n, loss = isoflop_runs(centred_grid, budgets=BUDGETS[:3])
    cols = {"flops": c.copy(), "params": n.copy(), "loss": loss.copy(), "tokens": c / (6 * n)}
    cols[column][4] = bad
    with pytest.raises(InputError, match=f"{column} must be finite and positive"):
        fit_isoflop(cols["flops"], cols["params"], cols["loss"], tokens=cols["tokens"])


def test_other_bad_arguments_raise():
    c, n, loss = isoflop_runs(centred_grid, budgets=BUDGETS[:3])
    with pytest.raises(InputError, match="one value per run"):
        fit_isoflop(c, n[:-1], loss)
    with pytest.raises(InputError, match="no runs"):
        fit_isoflop([], [], [])
    with pytest.raises(InputError, match="at least 3 points"):
        fit_isoflop(c, n, loss, points_per_parabola=2)
    with pytest.raises(InputError, match="level"):
        fit_isoflop(c, n, loss, bootstrap=10, level=1.0)
    with pytest.raises(InputError, match="bootstrap"):
        fit_isoflop(c, n, loss, bootstrap=-1)
    for seed in (-1, 0.5, True):
        with pytest.raises(InputError, match="the seed must be a whole number >= 0"):
            fit_isoflop(c, n, loss, bootstrap=10, seed=seed)
    with pytest.raises(InputError, match="tolerance"):
        group_budgets(c, rel_tol=-0.1)


def test_to_dict_is_plain_json():
    c, n, loss = isoflop_runs(common_grid, noise=0.001, seed=2)
    res = fit_isoflop(c, n, loss, bootstrap=20, seed=1)
    d = json.loads(json.dumps(res.to_dict()))
    assert d["n_exponent"] == res.n_exponent and d["tokens_coef"] == res.tokens_coef
    assert d["n_exponent_interval"] == list(res.n_exponent_interval)
    assert d["budgets_used"] == res.budgets_used == len(d["optima"]) == len(BUDGETS)
    assert set(d["optima"][0]) >= {"flops", "params", "tokens", "loss", "points", "used", "edge"}
