"""scale design (issue 14 item 1): the ladder, its simulated precision, and the next runs.

Known law: the shipped besiroglu2024 preset (Besiroglu et al. 2024, Table 1). Expected values are
closed forms (the ladder's total compute, its centring on the law's own N*(C) from Hoffmann et
al.'s eq. 4) and simulations checked against fresh, independent simulations.
"""

from __future__ import annotations

import numpy as np
import pytest

from scalecli import presets
from scalecli.design import Shape, design, ladder
from scalecli.fitting import simulation as sim
from scalecli.fitting.parametric import fit
from scalecli.laws import Conditions

PRESET = presets.load("besiroglu2024")
LAW = PRESET.law


def test_ladder_spends_the_fraction_and_centres_on_the_prior():
    target, spend = 1e24, 0.05e24
    lad = ladder(PRESET, Shape(), target, spend)
    flops = np.asarray(LAW.train_flops(lad.params, lad.tokens))
    assert flops.sum() == pytest.approx(spend, rel=1e-9)
    budgets = sorted({float(f) for f in flops}, key=float)
    budgets = [b for i, b in enumerate(budgets) if i == 0 or b > budgets[i - 1] * (1 + 1e-9)]
    assert len(budgets) == 3 and budgets[1] / budgets[0] == pytest.approx(2, rel=1e-9)
    for c in budgets:  # five sizes from N*/4 to 4·N*, the middle one at the prior's optimum
        n = np.sort(lad.params[np.isclose(flops, c, rtol=1e-9)])
        optimum = float(LAW.closed_form_params(c, Conditions()))
        assert n.size == 5 and n[2] == pytest.approx(optimum, rel=1e-9)
        assert n[0] == pytest.approx(optimum / 4, rel=1e-9) and n[-1] == pytest.approx(optimum * 4, rel=1e-9)


def test_fresh_ladders_land_within_the_predicted_precision():
    # The design predicts the 90% range of N*(fit)/N*(truth) from 60 simulated ladders (variable
    # projection fits). 20 fresh ladders from other seeds, fitted with the reference grid search as
    # scale fit does, must land inside it about 90% of the time: at least 16 of 20 (binomial,
    # p = 0.9: P(X < 16) = 4%).
    target, spend, noise = 1e23, 0.05e23, 0.002
    d = design(PRESET, target, spend, noise=noise, replications=60, seed=11)
    lo, hi = d.precision["params"]["lo"], d.precision["params"]["hi"]
    assert lo < 1 < hi
    truth = sim.target_quantities(LAW, target)["params"]
    lad = ladder(PRESET, Shape(), target, spend)
    rng = np.random.default_rng(2024)
    inside = 0
    for _ in range(20):
        n, t, loss, _ = sim.draw_losses(lambda a, b: np.asarray(LAW.loss(a, b)), lad, noise, rng)
        res = fit("chinchilla", [n, t], loss)
        got = sim.target_quantities(type(LAW)(dict(res.params), "fit"), target)["params"]
        inside += lo <= got / truth <= hi
    assert inside >= 16


def test_cli_table_csv_json_and_compare(cli):
    r = cli("design", "--target-flops", "1e23", "--replications", "10", "--format", "csv")
    assert r.code == 0, r.err
    lines = r.out.strip().splitlines()
    assert lines[0].startswith("params,tokens,flops,steps,batch_tokens") and len(lines) == 16
    j = cli(
        "design", "--target-flops", "1e23", "--replications", "10", "--compare", "--hparams", "deepseek",
        "--format", "json",
    )  # fmt: skip
    assert j.code == 0, j.err
    out = j.json()
    assert out["runs"][0]["learning_rate"] > 0
    assert len(out["alternatives"]) == 2
    for alt in out["alternatives"]:  # equal cost
        assert alt["ladder_flops"] == pytest.approx(out["ladder_flops"], rel=1e-12)
        assert sum(x["flops"] for x in alt["runs"]) == pytest.approx(out["ladder_flops"], rel=1e-9)
    hw = cli(
        "design", "--target-flops", "1e23", "--gpu-hours", "20000", "--gpu", "H100", "--mfu", "0.4",
        "--replications", "5", "--format", "json",
    )  # fmt: skip
    assert hw.code == 0, hw.err
    # 20,000 H100-hours at 40% of 989 TFLOP/s (presets/hardware.yaml)
    assert hw.json()["ladder_flops"] == pytest.approx(20000 * 3600 * 0.4 * 9.89e14, rel=1e-9)
    assert sum(x["gpu_hours"] for x in hw.json()["runs"]) == pytest.approx(20000, rel=1e-9)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fraction", "0.05", "--gpu-hours", "100", "--gpu", "H100", "--mfu", "0.4"], "budget once"),
        (["--gpu-hours", "100"], "--gpu"),
        (["--sizes", "2"], "--sizes must be 3 to 25"),
        (["--replications", "5000"], "--replications must be 1 to 1,000"),
        (["--gpu-hours", "1e8", "--gpu", "H100", "--mfu", "0.4"], "costs as much as the target"),
        (["--law", "kaplan2020-frontier"], "frontier"),
    ],
)
def test_design_errors(cli, args, message):
    r = cli("design", "--target-flops", "1e23", "--replications", "3", *args)
    assert r.code == 2 and message in r.err, r.err


def test_next_runs_rank_by_variance_reduction_per_flop(cli, tmp_path):
    lad = ladder(PRESET, Shape(), 1e23, 0.05e23)
    n, t, loss, _ = sim.draw_losses(
        lambda a, b: np.asarray(LAW.loss(a, b)), lad, 0.002, np.random.default_rng(5)
    )
    path = tmp_path / "runs.csv"
    path.write_text(
        "params,tokens,loss\n"
        + "".join(f"{a:.8g},{b:.8g},{c:.8g}\n" for a, b, c in zip(n, t, loss, strict=True))
    )
    r = cli("design", "--target-flops", "1e23", "--next", str(path), "--format", "json")
    assert r.code == 0, r.err
    out = r.json()
    ranked = [c["reduction_per_exaflop"] for c in out["candidates"]]
    assert ranked == sorted(ranked, reverse=True)
    assert all(c["sd_ln_n_star"] <= out["sd_ln_n_star"] + 1e-12 for c in out["candidates"])
    assert out["candidates"][0]["variance_reduction"] > 0


def test_target_given_as_a_size(cli):
    # REFERENCE §10 item 1 (Epoch, besiroglu2024): at 1e23 FLOPs N_opt = 2.9446e10; so a target of
    # 2.9446e10 parameters is the 1e23 budget
    r = cli("design", "--target-params", "2.9446e10", "--replications", "3", "--format", "json")
    assert r.code == 0, r.err
    assert r.json()["target_flops"] == pytest.approx(1e23, rel=1e-3)
    both = cli("design", "--target-params", "30B", "--target-flops", "1e23")
    assert both.code == 2 and "exactly one of --target-flops" in both.err
    assert cli("design").code == 2
