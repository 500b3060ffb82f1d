"""scale compare: the compute multiplier of one recipe over another (issue 14 item 4).

Recipe B is recipe A with a known compute multiplier: A's law (besiroglu2024, Besiroglu et al.
2024 Table 1) with N and D each worth sqrt(1.3) times more, i.e. A' = A·k^-alpha, B' = B·k^-beta
with k = sqrt(1.3). Then L_B(N, D) = L_A(kN, kD) and, minimising over N at a fixed budget,
L_B*(C) = L_A*(1.3·C) exactly (closed form), so the multiplier is 1.3 at every budget and loss.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from scalecli import presets
from scalecli.fitting import simulation as sim

LAW = presets.load("besiroglu2024").law
K = math.sqrt(1.3)
A_PARAMS = dict(LAW.params)
B_PARAMS = {
    **A_PARAMS,
    "A": A_PARAMS["A"] * K ** -A_PARAMS["alpha"],
    "B": A_PARAMS["B"] * K ** -A_PARAMS["beta"],
}


def _law_file(tmp_path, name, params):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "family": "chinchilla", "params": params}))
    return str(path)


def _runs_file(tmp_path, name, params, seed, noise=0.005):
    law = type(LAW)(params, name)
    ladder = sim.ladder_for(LAW, (1e18, 4e18, 1.6e19, 6.4e19), (0.25, 0.5, 1.0, 2.0, 4.0), checkpoints=(1.0,))
    n, d, loss, _ = sim.draw_losses(
        lambda a, b: np.asarray(law.loss(a, b)), ladder, noise, np.random.default_rng(seed)
    )
    path = tmp_path / f"{name}.csv"
    path.write_text(
        "params,tokens,loss\n"
        + "".join(f"{a:.8g},{b:.8g},{c:.8g}\n" for a, b, c in zip(n, d, loss, strict=True))
    )
    return str(path)


@pytest.mark.parametrize("budget", ["1e20", "1e23"])
def test_known_multiplier_between_laws(cli, tmp_path, budget):
    a, b = _law_file(tmp_path, "a", A_PARAMS), _law_file(tmp_path, "b", B_PARAMS)
    r = cli("compare", a, b, "--flops", budget, "--format", "json")
    assert r.code == 0, r.err
    out = r.json()
    assert out["compute_multiplier"] == pytest.approx(1.3, rel=1e-4)
    assert out["loss_candidate"] < out["loss_baseline"]
    assert out["interval"] is None and "no interval" in out["notes"][0]
    back = cli("compare", b, a, "--flops", budget, "--format", "json")
    assert back.json()["compute_multiplier"] == pytest.approx(1 / 1.3, rel=1e-4)
    at_loss = cli("compare", a, b, "--target-loss", "2.3", "--format", "json")
    assert at_loss.json()["compute_multiplier"] == pytest.approx(1.3, rel=1e-4)


def test_known_multiplier_recovered_from_runs_within_its_interval(cli, tmp_path):
    # 20 runs per recipe on the same ladder (paired), 0.5% noise; compared inside the ladder's range
    a = _runs_file(tmp_path, "a", A_PARAMS, seed=1)
    b = _runs_file(tmp_path, "b", B_PARAMS, seed=2)
    r = cli("compare", a, b, "--flops", "4e18", "--bootstrap", "100", "--format", "json")
    assert r.code == 0, r.err
    out = r.json()
    lo, hi = out["interval"]["compute_multiplier"]
    assert lo <= 1.3 <= hi
    assert lo <= out["compute_multiplier"] <= hi
    assert lo > 1.0  # the recipes differ: the interval excludes "no difference"
    assert out["pairing"].startswith("paired")
    table = cli("compare", a, b, "--flops", "4e18", "--bootstrap", "20")
    assert "B is better" in table.out


def test_check_gates_on_the_multiplier(cli, tmp_path):
    _law_file(tmp_path, "a", A_PARAMS), _law_file(tmp_path, "b", B_PARAMS)
    spec = tmp_path / "gate.yaml"
    spec.write_text(
        "compare: {baseline: a.yaml, candidate: b.yaml, flops: 1e21}\n"
        "assert: {min_compute_multiplier: 1.25}\n"
    )
    r = cli("check", str(spec), "--format", "json")
    assert r.code == 0, r.err
    assert r.json()["results"][0]["measured"] == pytest.approx(1.3, rel=1e-4)
    spec.write_text(
        "compare: {baseline: a.yaml, candidate: b.yaml, flops: 1e21}\n"
        "assert: {min_compute_multiplier: 1.35}\n"
    )
    assert cli("check", str(spec)).code == 1
    spec.write_text("plan: {flops: 1e21}\nassert: {min_compute_multiplier: 1.1}\n")
    bad = cli("check", str(spec))
    assert bad.code == 2 and "needs a 'compare' section" in bad.err


def test_compare_errors(cli, tmp_path):
    a, b = _law_file(tmp_path, "a", A_PARAMS), _law_file(tmp_path, "b", B_PARAMS)
    r = cli("compare", a, b)
    assert r.code == 2 and "exactly one of --flops C or --target-loss L" in r.err
    r = cli("compare", a, "kaplan2020", "--flops", "1e21")
    assert r.code == 2
