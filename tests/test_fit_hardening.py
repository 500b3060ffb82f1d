"""`scale fit` under attack (issue "Hardened under attack", items 1, 6 and 9): degenerate data and
out-of-range options are refused with a designed message, never an internal error; the fit's
starts x points work is chunked and large data is screened on a fixed subsample.

Expected numbers come from closed forms or from synthetic data with known parameters.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalecli.errors import InputError
from scalecli.fitting import parametric as pm
from scalecli.fitting.bootstrap import bootstrap
from scalecli.fitting.workflow import MAX_BOOTSTRAP, FitRequest
from scalecli.laws import FitForm, kaplan
from scalecli.laws.forms import Schedule

SIZES = (1e8, 3e8, 1e9, 3e9)
TOKENS = (2e9, 2e10, 2e11)


def _csv(header: str, rows: list[tuple[float, ...]]) -> str:
    return header + "\n" + "\n".join(",".join(repr(float(x)) for x in r) for r in rows) + "\n"


def _grid(loss: Callable[[float, float], float], header: str = "params,tokens,loss") -> str:
    """A 4 x 3 grid of runs (SIZES x TOKENS) with the given closed-form loss."""
    return _csv(header, [(n, d, loss(n, d)) for n in SIZES for d in TOKENS])


def hoffmann(n: float, d: float) -> float:  # REFERENCE §2.1 eq. 10, rounded
    return 1.69 + 406.4 / n**0.34 + 410.7 / d**0.28


SMALLEST_LOSS = hoffmann(3e9, 2e11)  # the grid's smallest loss: largest N and D
GOOD = _grid(hoffmann)
# Kaplan runs with steps and a batch column, losses 0.42 to 0.49: at alpha_B = 0.001 the critical
# batch 2e8/L^1000 overflows (0.49^1000 = 1e-310), leaving S_min = S/(1 + inf) = 0
KAPLAN_ROWS = [(n, s, 2e5, 0.3 + n**-0.1 + s**-0.5) for n in SIZES for s in (1e3, 1e4, 1e5)]

# (id, CSV text, options, fragment of the one-line error). Every case is exit 2 with that fragment.
ATTACKS = [
    # item 9: data no law can be identified from
    (
        "identical rows",
        _csv("params,tokens,loss", [(1e9, 2e10, 2.5)] * 12),
        [],
        "all 12 rows have the same params (1e9): a chinchilla fit needs runs at 2 or more model sizes",
    ),
    (
        "one model size",
        _csv("params,tokens,loss", [(1e9, d, hoffmann(1e9, d)) for d in np.geomspace(1e9, 1e12, 8)]),
        [],
        "all 8 rows have the same params (1e9): a chinchilla fit needs runs at 2 or more model sizes",
    ),
    (
        "one token count",
        _csv("params,tokens,loss", [(n, 2e10, hoffmann(n, 2e10)) for n in np.geomspace(1e8, 1e10, 7)]),
        [],
        "all 7 rows have the same tokens (2e10): a chinchilla fit needs runs at 2 or more token counts",
    ),
    (
        "one step count",
        _csv("params,steps,loss", [(n, 5e4, 2.0 + 100 / n**0.3) for n in np.geomspace(1e8, 1e10, 6)]),
        ["--law", "dynamics"],
        "all 6 rows have the same steps (50000): a dynamics fit needs runs at 2 or more step counts",
    ),
    (
        "constant loss",
        _grid(lambda n, d: 2.5),
        [],
        "all 12 rows have the same loss (2.5): there is nothing to fit",
    ),
    (
        "too few distinct points",
        # 4 distinct (params, tokens) points, each run three times with different losses
        _csv(
            "params,tokens,loss",
            [(n, 10 * n, hoffmann(n, 10 * n) * (1 + k / 100)) for n in SIZES for k in range(3)],
        ),
        [],
        "the 12 rows hold only 4 distinct (params, tokens) points, but the chinchilla law has 5 free",
    ),
    (
        "one token count after holdout",
        _csv(
            "params,tokens,loss", [(n, d, hoffmann(n, d)) for n in np.geomspace(1e8, 1e10, 6) for d in TOKENS]
        ),
        ["--holdout", "tokens>3e9"],
        "all 6 rows outside --holdout have the same tokens (2e9)",
    ),
    # item 9: the loss rises with size. Generated as chinchilla with a negative exponent, so the
    # fit recovers it exactly: L = 1.69 + 0.02 N^0.12 + 410.7 D^-0.28 -> alpha = -0.12
    (
        "loss rises with params",
        _grid(lambda n, d: 1.69 + 0.02 * n**0.12 + 410.7 / d**0.28),
        [],
        "the loss does not fall with params in this data (fitted alpha = -0.12): check the columns",
    ),
    (
        "loss rises with tokens",
        _grid(lambda n, d: 1.69 + 406.4 / n**0.34 + 0.05 * d**0.05),
        [],
        "the loss does not fall with tokens in this data (fitted beta = -0.05)",
    ),
    (
        "loss rises with steps",
        _grid(lambda n, s: 1.69 + 406.4 / n**0.34 + 0.05 * s**0.05, "params,steps,loss"),
        ["--law", "dynamics"],
        "the loss does not fall with steps in this data (fitted beta = -0.05)",
    ),
    # item 6: --fix outside the plausible range
    (
        "alpha pinned to 0",
        GOOD,
        ["--fix", "alpha=0"],
        "--fix alpha=0: alpha, a loss exponent, must be above 0",
    ),
    (
        "beta pinned negative",
        GOOD,
        ["--fix", "beta=-0.3"],
        "beta, a loss exponent, must be above 0 and at most 10",
    ),
    ("huge exponent", GOOD, ["--fix", "alpha=11"], "--fix alpha=11: alpha, a loss exponent, must be above 0"),
    ("exponent 1e300", GOOD, ["--fix", "beta=1e300"], "at most 10"),
    (
        "E above every loss",
        GOOD,
        ["--fix", "E=1e300"],
        f"--fix E=1e300: the irreducible loss must lie below every loss fitted; pin E between 1e-300 and "
        f"{SMALLEST_LOSS:.6g}",
    ),
    ("E equal to a loss", GOOD, ["--fix", f"E={SMALLEST_LOSS!r}"], "the irreducible loss must lie below"),
    ("E subnormal", GOOD, ["--fix", "E=1e-320"], ": E, a scale, must be from 1e-300 to 1e300"),
    (
        "scale too large",
        GOOD,
        ["--fix", "A=1e301"],
        "--fix A=1e301: A, a scale, must be from 1e-300 to 1e300",
    ),
    ("scale zero", GOOD, ["--fix", "B=0"], "B, a scale, must be from 1e-300 to 1e300"),
    (
        "critical-batch exponent",
        _csv("params,tokens,batch_tokens,loss", [(n, d, 1e6, hoffmann(n, d)) for n in SIZES for d in TOKENS]),
        ["--law", "dynamics-batch", "--fix", "B_crit_exp_N=11"],
        "B_crit_exp_N, a critical-batch exponent, must be from -10 to 10",
    ),
    (
        "Kaplan critical batch overflows",
        _csv("params,steps,batch_tokens,loss", KAPLAN_ROWS),
        ["--law", "kaplan", "--fix", "alpha_B=0.001"],
        "leaves no finite positive steps S_min at these losses",
    ),
    (
        "alpha_B pinned to 0",
        _csv("params,steps,batch_tokens,loss", KAPLAN_ROWS),
        ["--law", "kaplan", "--fix", "alpha_B=0"],
        "alpha_B, a loss exponent, must be above 0",
    ),
    (
        "every parameter pinned",
        GOOD,
        [
            "--fix",
            "E=1.69",
            "--fix",
            "A=406.4",
            "--fix",
            "B=410.7",
            "--fix",
            "alpha=0.34",
            "--fix",
            "beta=0.28",
        ],
        "--fix pins every parameter of the chinchilla law (E, A, B, alpha, beta): nothing left to fit; "
        "pin fewer parameters",
    ),
    (
        "every kaplan_steps parameter pinned",
        _csv("params,steps,loss", [(n, s, 2.0 + 1 / n**0.1 + 1 / s**0.5) for n in SIZES for s in TOKENS]),
        ["--law", "kaplan"]
        + [x for p in ("N_c=6e13", "alpha_N=0.07", "S_c=2e3", "alpha_S=0.7") for x in ("--fix", p)],
        "nothing left to fit",
    ),
    # item 6: bootstrap options
    (
        "negative seed",
        GOOD,
        ["--bootstrap", "5", "--seed", "-1"],
        "--seed must be a whole number >= 0 (got -1)",
    ),
    (
        "too many draws",
        GOOD,
        ["--bootstrap", "2001"],
        "--bootstrap must be a whole number from 0 to 2,000 draws (got 2001)",
    ),
    ("negative draws", GOOD, ["--bootstrap", "-1"], "from 0 to 2,000 draws (got -1)"),
    ("isoflop draws", GOOD, ["--method", "isoflop", "--bootstrap", "100000"], "from 0 to 2,000 draws"),
]


@pytest.mark.parametrize(("name", "content", "options", "fragment"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_attack_is_refused_with_a_designed_message(cli, tmp_path, name, content, options, fragment):
    path = tmp_path / "runs.csv"
    path.write_text(content)
    out = tmp_path / "law.yaml"
    r = cli("fit", str(path), *options, "--out", str(out))
    assert r.code == 2, (name, r.err, r.out[:200])
    assert r.err.startswith("error: ") and len(r.err.strip().splitlines()) == 1, r.err
    assert fragment in r.err, r.err
    assert "internal error" not in r.err and "Traceback" not in r.err
    assert not out.exists()


def test_the_attack_table_is_long_enough():
    assert len(ATTACKS) >= 25


def test_pins_inside_the_range_are_accepted(cli, tmp_path):
    # the edges of PIN_RANGES that make sense for these runs fit and pin exactly
    path = tmp_path / "runs.csv"
    path.write_text(GOOD)
    for pin, name, value in (
        ("alpha=0.34", "alpha", 0.34),
        ("E=1.69", "E", 1.69),
        ("beta=0.28", "beta", 0.28),
    ):
        r = cli("fit", str(path), "--fix", pin, "--format", "json")
        assert r.code == 0, r.err
        assert r.json()["law"]["params"][name] == value
    # the grid is Hoffmann's law exactly: pinning one of its values returns the others
    r = cli("fit", str(path), "--fix", "E=1.69", "--format", "json")
    assert r.json()["law"]["fit"]["screen_points"] == 12  # small data: starts ranked on every row
    p = r.json()["law"]["params"]
    assert p["alpha"] == pytest.approx(0.34, rel=1e-5) and p["beta"] == pytest.approx(0.28, rel=1e-5)


def test_arithmetic_overflow_in_the_fit_is_a_designed_error(cli, tmp_path, monkeypatch):
    # whatever overflows inside the fit (here: injected) names the fit and the likely fixes
    path = tmp_path / "runs.csv"
    path.write_text(GOOD)
    for exc in (
        OverflowError("(34, 'Numerical result out of range')"),
        ZeroDivisionError("float division by zero"),
    ):

        def boom(*args, exc=exc, **kwargs):
            raise exc

        monkeypatch.setattr(pm, "fit", boom)
        r = cli("fit", str(path), "--out", str(tmp_path / "law.yaml"))
        assert r.code == 2 and "internal error" not in r.err
        assert "the chinchilla fit of 'runs.csv' failed in double-precision arithmetic" in r.err
        assert type(exc).__name__ in r.err and "--fix" in r.err
        assert not (tmp_path / "law.yaml").exists()


def test_fit_request_limits():
    assert MAX_BOOTSTRAP == 2_000
    FitRequest(path="x.csv", bootstrap=2_000, seed=0)  # the limit itself is allowed
    with pytest.raises(InputError, match="from 0 to 2,000 draws"):
        FitRequest(path="x.csv", bootstrap=2_001)
    with pytest.raises(InputError, match="--seed must be a whole number >= 0"):
        FitRequest(path="x.csv", bootstrap=10, seed=-1)


# --- the parametric core -----------------------------------------------------------------------------


def _chinchilla_runs(n: int, sigma: float, seed: int):
    """The issue's synthetic data: E=1.8, A=500, B=2000, alpha=0.35, beta=0.37, N log-uniform in
    1e7..1e10, D in 1e9..1e12, lognormal noise sigma."""
    truth = {"E": 1.8, "A": 500.0, "B": 2000.0, "alpha": 0.35, "beta": 0.37}
    rng = np.random.default_rng(seed)
    N = np.exp(rng.uniform(math.log(1e7), math.log(1e10), n))
    D = np.exp(rng.uniform(math.log(1e9), math.log(1e12), n))
    loss = truth["E"] + truth["A"] * N ** -truth["alpha"] + truth["B"] * D ** -truth["beta"]
    return truth, N, D, loss * np.exp(sigma * rng.standard_normal(n))


def test_chunk_rows_bound():
    # rows x points within the budget, one row when a single row is larger
    for points in (1, 240, 3_684, 65_536, 65_537, 1_000_000):
        rows = pm._chunk_rows(points)
        assert rows >= 1
        assert rows * points <= pm._CHUNK_ELEMENTS or rows == 1
        assert (rows + 1) * points > pm._CHUNK_ELEMENTS
    assert pm._chunk_rows(240) == 65_536 // 240 == 273


def test_large_fit_is_screened_and_every_evaluation_is_chunked(monkeypatch):
    # 12,000 noiseless runs: the starts are ranked on 5,000 of them, then refitted on all; every
    # starts x points array the fit builds stays within the chunk budget, and the known parameters
    # come back exactly
    truth, N, D, loss = _chinchilla_runs(12_000, 0.0, seed=1)
    shapes: list[tuple[int, int]] = []
    original = FitForm.logpred

    def recording(self, T, X):
        shapes.append((T.shape[0], X[0].size))
        return original(self, T, X)

    monkeypatch.setattr(FitForm, "logpred", recording)
    res = pm.fit("chinchilla", [N, D], loss)
    assert shapes, "the grid ranking evaluates the starts"
    assert all(k * p <= pm._CHUNK_ELEMENTS or k == 1 for k, p in shapes)
    # the 4,500-start ranking happens on the 5,000-point subsample, never on all 12,000 points
    assert sum(k for k, p in shapes if p == pm._SCREEN_POINTS) >= 4_500
    assert sum(k for k, p in shapes if p == 12_000) <= 2 * pm._FULL_RUNS
    assert res.screen_points == pm._SCREEN_POINTS == 5_000 and res.points == 12_000
    for name, value in truth.items():
        assert res.params[name] == pytest.approx(value, rel=1e-6), name
    assert res.objective < 1e-15
    assert res.starts > Schedule().min_starts and res.best_basin_starts >= Schedule().min_basin_hits


def test_screen_rows_are_fixed_and_distinct():
    a = pm._screen_rows(20_000)
    assert a is not None and a.size == 5_000 and np.unique(a).size == 5_000
    assert np.array_equal(a, pm._screen_rows(20_000))  # the same subsample every time
    assert a.min() >= 0 and a.max() < 20_000 and np.all(np.diff(a) > 0)
    assert pm._screen_rows(5_000) is None  # up to 5,000 points: every point


def test_small_fit_uses_every_point():
    truth, N, D, loss = _chinchilla_runs(300, 0.0, seed=2)
    res = pm.fit("chinchilla", [N, D], loss)
    assert res.screen_points == 300
    for name, value in truth.items():
        assert res.params[name] == pytest.approx(value, rel=1e-6), name


def test_distinct_drops_repeated_curves_in_chunks(monkeypatch):
    # starts with the same fitted curve are merged, keeping the first of each, whatever the chunking:
    # (a, b, e, alpha, beta) and the same with alpha = beta = 0 and a, b swapped give identical
    # curves when alpha = beta = 0 (L = A + B + E at every point)
    _, N, D, loss = _chinchilla_runs(50, 0.01, seed=3)
    prob = pm._problem("chinchilla", [N, D], loss, None, 1e-3, None)
    starts = np.array(
        [
            [1.0, 2.0, 0.0, 0.0, 0.0],
            [2.0, 1.0, 0.0, 0.0, 0.0],  # same curve as row 0
            [1.0, 2.0, 0.0, 0.5, 0.0],
            [1.0, 2.0, 0.0, 0.0, 0.0],  # repeat of row 0
            [1.0, 2.0, 0.0, 0.5, 0.0],  # repeat of row 2
            [3.0, 2.0, 0.0, 0.5, 0.5],
        ]
    )
    for budget in (50, 100, 1 << 16):  # one start, two starts, all starts per chunk
        monkeypatch.setattr(pm, "_CHUNK_ELEMENTS", budget)
        assert pm._chunk_rows(50) == max(1, budget // 50)
        kept = pm._distinct(prob, starts)
        np.testing.assert_array_equal(kept, starts[[0, 2, 5]])


def test_every_parameter_pinned_in_the_core():
    truth, N, D, loss = _chinchilla_runs(30, 0.0, seed=4)
    with pytest.raises(InputError, match="nothing left to fit; pin fewer parameters"):
        pm.fit("chinchilla", [N, D], loss, fixed=truth)
    # the objective at pinned values is still available (the closed form: 0 on noiseless runs)
    assert pm.objective_at("chinchilla", truth, [N, D], loss) == pytest.approx(0.0, abs=1e-25)


def test_bootstrap_seed_must_be_whole_and_non_negative():
    truth, N, D, loss = _chinchilla_runs(40, 0.01, seed=5)
    best = pm.fit("chinchilla", [N, D], loss)
    for seed in (-1, 1.5, "1"):
        with pytest.raises(InputError, match="seed must be a whole number >= 0"):
            bootstrap("chinchilla", [N, D], loss, best, 2, seed)


def test_overflowing_scale_is_an_input_error():
    # an internal log scale beyond ln(max float) cannot be reported as a number
    truth, N, D, loss = _chinchilla_runs(30, 0.0, seed=6)
    prob = pm._problem("chinchilla", [N, D], loss, None, 1e-3, None)
    theta = np.array([800.0, math.log(2000.0), math.log(1.8), 0.35, 0.37])
    with pytest.raises(InputError, match=r"the fitted A overflows double precision \(ln A = 800\)"):
        pm._natural(prob, theta)


# --- random CSVs and options never give an internal error ---------------------------------------------

HEADERS = [
    "params,tokens,loss",
    "params,steps,loss",
    "params,tokens,batch_tokens,loss",
    "params,steps,batch_tokens,loss",
    "params,flops,loss",
]
ODD = st.sampled_from(["0", "-1", "1e-300", "1e300", "1e-320", "nan", "", "inf", "2.5", "1e9", "abc"])
EXTREME = st.sampled_from(["1e-300", "1e300", "1e-12", "1e30", "5e-324", "1.7e308"])  # valid but wild


def _positive(lo: float, hi: float) -> st.SearchStrategy[str]:
    return st.floats(min_value=math.log(lo), max_value=math.log(hi)).map(lambda x: repr(math.exp(x)))


# plausible values per column, so that many files reach the fit
PLAUSIBLE = {
    "params": _positive(1e6, 1e11),
    "tokens": _positive(1e8, 1e13),
    "steps": _positive(1e2, 1e6),
    "batch_tokens": _positive(1e4, 1e7),
    "flops": _positive(1e15, 1e24),
    "loss": _positive(0.3, 10.0),
}


@st.composite
def run_files(draw) -> str:
    """CSV text: 0-30 rows, plausible values per column, sometimes extreme or invalid cells, duplicate
    rows and constant columns."""
    header = draw(st.sampled_from(HEADERS))
    columns = header.split(",")
    odd = draw(st.sampled_from([None, None, EXTREME, ODD]))  # most files are clean
    rows = draw(st.integers(min_value=0, max_value=30))
    constant = [draw(st.integers(0, 4)) == 0 for _ in columns]  # a constant column now and then

    def cell(col: str) -> str:
        if odd is not None and draw(st.integers(0, 9)) == 0:
            return draw(odd)
        return draw(PLAUSIBLE[col])

    first = [cell(col) for col in columns]
    body: list[str] = []
    for _ in range(rows):
        if body and draw(st.integers(0, 5)) == 0:
            body.append(body[-1])  # a duplicate row
            continue
        body.append(",".join(first[j] if constant[j] else cell(col) for j, col in enumerate(columns)))
    return header + "\n" + "\n".join(body) + ("\n" if body else "")


FIX_NAMES = [
    "E",
    "A",
    "B",
    "alpha",
    "beta",
    "A_N",
    "A_S",
    "N_c",
    "alpha_N",
    "S_c",
    "alpha_S",
    "D_c",
    "alpha_D",
    "B_crit",
    "B_crit_exp_N",
    "B_crit_exp_D",
    "B_star",
    "alpha_B",
]
FIX_VALUES = ["0", "-1", "1e-300", "1e300", "1e-5", "0.3", "1.7", "10", "11", "2e8", "1e-320"]
OPTION = st.one_of(
    st.tuples(st.just("--law"), st.sampled_from(["chinchilla", "kaplan", "dynamics", "dynamics-batch"])),
    st.tuples(
        st.just("--fix"), st.builds("{}={}".format, st.sampled_from(FIX_NAMES), st.sampled_from(FIX_VALUES))
    ),
    st.tuples(st.just("--bootstrap"), st.sampled_from(["0", "2", "3", "-1", "2001"])),
    st.tuples(st.just("--seed"), st.sampled_from(["0", "7", "-1"])),
    st.tuples(st.just("--holdout"), st.sampled_from(["params>1e9", "loss<3", "tokens>=1e10"])),
    st.tuples(st.just("--where"), st.sampled_from(["loss<4", "params>1e8"])),
    st.tuples(st.just("--method"), st.sampled_from(["isoflop"])),
    st.tuples(
        st.just("--average-duplicates"),
    ),
)


@settings(
    max_examples=int(os.environ.get("SCALE_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(run_files(), st.lists(OPTION, max_size=4))
def test_random_runs_and_fit_options_never_give_an_internal_error(cli, tmp_path, content, options):
    path = tmp_path / "runs.csv"
    path.write_text(content)
    out = tmp_path / "law.yaml"
    if out.exists():
        out.unlink()
    args = ["fit", str(path), "--out", str(out), "--force"]
    for option in options:
        args += list(option)
    r = cli(*args)
    assert r.code in (0, 2), (args, content, r.err)
    assert "internal error" not in r.err and "Traceback" not in r.err, (args, content, r.err)
    if r.code:
        assert r.err.startswith("error: "), (args, r.err)
        assert not out.exists(), args


def test_standard_errors_at_the_kaplan_floor():
    # alpha_D at its floor 1e-6: a central difference of step 1e-6 would evaluate alpha_D = 0 and
    # divide by it (alpha_N/alpha_D); the one-sided difference there keeps every SE computable
    table2 = {"N_c": 6.4e13, "alpha_N": 0.076, "D_c": 1.8e13, "alpha_D": 0.103}  # Kaplan Table 2
    rng = np.random.default_rng(7)
    N = np.exp(rng.uniform(math.log(1e6), math.log(1e9), 40))
    D = np.exp(rng.uniform(math.log(1e7), math.log(1e10), 40))
    loss = ((table2["N_c"] / N) ** (table2["alpha_N"] / table2["alpha_D"]) + table2["D_c"] / D) ** table2[
        "alpha_D"
    ]
    prob = pm._problem("kaplan_joint", [N, D], loss, None, 1e-3, None)
    theta = np.array([math.log(6.4e13), 0.076, math.log(1.8e13), kaplan.EXP_FLOOR])
    params = pm._natural(prob, theta)
    assert params["alpha_D"] == 1e-6
    se = pm._standard_errors(prob, theta, params)
    assert set(se) == set(table2)


def test_regime_reading_of_non_positive_exponents():
    # Bahri et al.'s reading (REFERENCE §7): d = 4/alpha for a positive exponent; none for alpha <= 0
    from scalecli.fitting.diagnose import regime_reading

    pos, zero, neg = regime_reading(
        {"alpha": (0.34, "parameters"), "beta": (0.0, "tokens"), "alpha_S": (-0.12, "steps")}
    )
    assert pos["regime"] == "resolution-limited" and pos["intrinsic_dimension"] == pytest.approx(4 / 0.34)
    assert zero["regime"] == neg["regime"] == "none" and "intrinsic_dimension" not in zero
    assert neg["reading"] == "alpha_S = -0.12 <= 0: the loss does not fall with steps"
