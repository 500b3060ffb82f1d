"""The precision family against Kumar et al. 2024, "Scaling Laws for Precision" (arXiv 2411.04330).

Constants of Appendix K, Table 2 (written out below, not read from the preset):
A 4.299e3, alpha = beta 0.4965, B 1.806e4, E 2.7648; gamma_w 2.6745, n_w 0.3037;
gamma_a 2.2102, n_a 1.4072; gamma_kv 0.9578, n_kv 2.4185; C_T 0.0598, gamma_D 0.5068,
gamma_N 0.3439, gamma_post 0.5907.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from scalecli import presets
from scalecli.planner import PlanRequest, plan

PRESET = presets.load("kumar2024")
A, ALPHA, B, E = 4.299e3, 0.4965, 1.806e4, 2.7648
FACTORS = ((2.6745, 0.3037), (2.2102, 1.4072), (0.9578, 2.4185))
C_T, G_D, G_N, G_POST = 0.0598, 0.5068, 0.3439, 0.5907


def factor(bits: float) -> float:
    # eq. 4 with App. K's offsets: N_eff / N = prod_x (1 - e^(-P/gamma_x + n_x))
    return math.prod(1 - math.exp(-bits / g + n) for g, n in FACTORS)


@pytest.mark.parametrize("flops", [1e19, 1e21, 1e23])
def test_compute_optimal_precision_is_7_bits_at_every_budget(flops):
    # §4.3.2 / Finding 3: "7-8 bits are compute-optimal", and the optimum "is independent of
    # compute budget" (eq. 7). Integer precisions from 3 to 16 bits are searched.
    p = plan(PRESET, PlanRequest(flops=flops))
    assert p.train_bits == 7
    assert p.params_effective == pytest.approx(p.params * factor(7), rel=1e-12)


def test_compute_is_six_sixteenths_n_d_p():
    # eq. 5: C = (6/16)·N·D·P, Chinchilla's 6·N·D at 16 bits
    for bits in (16, 8, 4):
        p = plan(PRESET, PlanRequest(flops=1e21, train_bits=bits))
        assert 6 / 16 * p.params * p.tokens * bits == pytest.approx(1e21, rel=1e-12)


def test_fixed_precision_allocation_in_closed_form():
    # at fixed P the law is Chinchilla's with A' = A·f(P)^-alpha and k = 6P/16 FLOPs per param-token:
    # N* = G·(C/k)^(beta/(alpha+beta)), G = (alpha·A'/(beta·B))^(1/(alpha+beta)) (Hoffmann eq. 4)
    for bits in (4, 8, 16):
        a_eff = A * factor(bits) ** -ALPHA
        g = (a_eff / B) ** (1 / (2 * ALPHA))  # alpha = beta
        n = g * (1e21 / (6 * bits / 16)) ** 0.5
        assert plan(PRESET, PlanRequest(flops=1e21, train_bits=bits)).params == pytest.approx(n, rel=1e-9)


def test_lower_precision_means_more_parameters():
    # §4.3.1: "as precision of training decreases at fixed compute, we should increase parameters"
    sizes = [plan(PRESET, PlanRequest(flops=1e21, train_bits=b)).params for b in (16, 12, 8, 6, 4)]
    assert sizes == sorted(sizes)


def test_post_training_quantisation_and_critical_data():
    n = 220e6
    p = plan(PRESET, PlanRequest(flops=6 / 16 * 16 * n * 26e9, train_bits=16, ptq_bits=4, max_params=n))
    d = p.tokens
    # eq. 2: delta = C_T·D^gamma_D/N^gamma_N·e^(-P_post/gamma_post)
    assert p.ptq_loss_increase == pytest.approx(C_T * d**G_D / n**G_N * math.exp(-4 / G_POST), rel=1e-9)
    # eq. 13: D_crit = (beta·B·N^gamma_N·e^(P_post/gamma_post)/(gamma_D·C_T))^(1/(gamma_D + beta))
    d_crit = (ALPHA * B * n**G_N * math.exp(4 / G_POST) / (G_D * C_T)) ** (1 / (G_D + ALPHA))
    assert p.ptq_critical_tokens == pytest.approx(d_crit, rel=1e-9)

    # eq. 12, the definition: the loss after quantisation stops falling with D at D_crit
    def after(tokens):
        return B * tokens**-ALPHA + C_T * tokens**G_D / n**G_N * math.exp(-4 / G_POST)

    h = 1e-4
    slope = (after(d_crit * (1 + h)) - after(d_crit * (1 - h))) / (2 * h * d_crit)
    assert abs(slope) * d_crit < 1e-6
    assert after(2 * d_crit) > after(d_crit) < after(d_crit / 2)


@pytest.mark.parametrize("flops", [1e22, 1e24])
def test_a_plan_past_the_critical_data_says_so(flops):
    # eq. 13 at the plan's own N, computed here: the note appears exactly when D > D_crit
    p = plan(PRESET, PlanRequest(flops=flops, ptq_bits=4))
    d_crit = (ALPHA * B * p.params**G_N * math.exp(4 / G_POST) / (G_D * C_T)) ** (1 / (G_D + ALPHA))
    past = [note for note in p.notes if "past D_crit" in note]
    assert bool(past) == (p.tokens > d_crit)
    if flops == 1e24:  # D_crit grows as N^(gamma_N/(gamma_D + beta)), slower than the optimal D
        assert past and f"{d_crit:.3g}" in past[0]


def test_more_bits_after_training_cost_less():
    losses = [
        plan(PRESET, PlanRequest(flops=1e21, train_bits=16, ptq_bits=b)).ptq_loss_increase
        for b in (3, 4, 6, 8)
    ]
    assert losses == sorted(losses, reverse=True)


def test_cli_fields_and_predict(cli):
    r = cli(
        "plan",
        "--flops",
        "1e21",
        "--law",
        "kumar2024",
        "--train-bits",
        "8",
        "--ptq-bits",
        "4",
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    p = r.json()["plans"][0]
    assert p["train_bits"] == 8 and p["ptq_bits"] == 4 and p["ptq_loss_increase"] > 0
    q = cli(
        "predict", "--law", "kumar2024", "--params", str(p["params"]), "--tokens", str(p["tokens"]),
        "--train-bits", "8", "--format", "json",
    )  # fmt: skip
    assert q.code == 0, q.err
    pred = q.json()["predictions"][0]
    assert pred["loss"] == pytest.approx(p["loss"], rel=1e-9) and pred["train_bits"] == 8


def test_fit_from_runs_with_a_bits_column(cli, tmp_path):
    # eq. 4's tied form (one gamma for the three factors) from runs at several precisions
    rng = np.random.default_rng(0)
    n = np.exp(rng.uniform(np.log(3e7), np.log(2.2e8), 90))
    d = np.exp(rng.uniform(np.log(1.5e9), np.log(2.6e10), 90))
    bits = rng.choice([3, 4, 5, 6, 8, 12, 16], 90).astype(float)
    gamma = (2.6745 + 2.2102 + 0.9578) / 3
    loss = A * (n * (1 - np.exp(-bits / gamma)) ** 3) ** -ALPHA + B * d**-ALPHA + E
    csv = tmp_path / "runs.csv"
    csv.write_text(
        "params,tokens,train_bits,loss\n"
        + "".join(f"{a:.17g},{b:.17g},{c:g},{y:.17g}\n" for a, b, c, y in zip(n, d, bits, loss, strict=True))
    )
    r = cli("fit", str(csv), "--law", "precision", "--format", "json")
    assert r.code == 0, r.err
    params = r.json()["law"]["params"]
    assert params["gamma"] == pytest.approx(gamma, rel=1e-3)  # one gamma: written in the tied form
    assert params["alpha"] == pytest.approx(ALPHA, rel=1e-3) and params["E"] == pytest.approx(E, rel=1e-3)


def test_check_gates_on_bits_and_quantisation_loss(cli, tmp_path):
    # issue 13 item 4: train_bits and the PTQ loss are assertable through the one table of fields
    spec = tmp_path / "bits.yaml"
    spec.write_text(
        "law: kumar2024\nplan: {flops: 1e21, ptq_bits: 4}\n"
        "assert: {min_train_bits: 8, max_ptq_loss_increase: 10}\n"
    )
    r = cli("check", str(spec), "--format", "json")
    assert r.code == 1, r.err
    by_key = {x["assertion"]: x for x in r.json()["results"]}
    # §4.3 (eq. 7): the compute-optimal precision is 7 bits, below the gate's 8
    assert not by_key["min_train_bits"]["passed"] and by_key["min_train_bits"]["measured"] == 7
    plan_json = r.json()["plans"][0]
    assert by_key["max_ptq_loss_increase"]["measured"] == pytest.approx(plan_json["ptq_loss_increase"])
    assert plan_json["ptq_loss_increase"] > 0
