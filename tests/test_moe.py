"""The mixture-of-experts family against Ludziejewski et al. 2025 (arXiv 2502.05172) itself.

* Table 4: the joint law (eq. 6, Table 3 constants) reduced to Chinchilla's form at fixed E.
  Table 3 prints its constants to 4 digits, so the reduction reproduces Table 4 to within that
  rounding: 0.3% on the prefactors m, n and 1.5e-4 on the exponents mu, nu.
* Table 1: the compute-optimal N_act and D at 1e20, 1e21, 1e22 FLOPs for E = 1..32, printed to
  2-3 significant figures (2% here).
* App. A.1: the parameter counts (App. E's 5.0B-total, 321M-active model: d_model 1024,
  16 blocks, 32 experts).
The plan/predict/fit contracts run on the family in tests/test_contract.py.
"""

from __future__ import annotations

import pytest

from scalecli import presets
from scalecli.laws.moe import effective_experts, total_params, width_for_active
from scalecli.planner import PlanRequest, plan

PRESET = presets.load("ludziejewski2025")
LAW = PRESET.law

TABLE_4 = {  # E: (m, mu, n, nu, c)
    1: (30.3640, -0.1817, 53.9838, -0.1965, 1.3637),
    2: (27.7982, -0.1780, 66.8401, -0.2065, 1.3637),
    4: (24.8462, -0.1731, 87.7022, -0.2192, 1.3637),
    8: (21.8330, -0.1676, 119.9126, -0.2338, 1.3637),
    16: (19.0159, -0.1617, 167.5073, -0.2494, 1.3637),
    32: (16.5424, -0.1557, 234.6726, -0.2652, 1.3637),
}


@pytest.mark.parametrize(("experts", "row"), TABLE_4.items())
def test_reduction_to_chinchilla_form_is_table_4(experts, row):
    m, mu, n, nu, c = LAW.reduced(experts)
    assert m == pytest.approx(row[0], rel=3e-3)
    assert mu == pytest.approx(row[1], abs=1.5e-4)
    assert n == pytest.approx(row[2], rel=3e-3)
    assert nu == pytest.approx(row[3], abs=1.5e-4)
    assert c == row[4]


def test_effective_experts_at_one_and_without_bound():
    # eq. 4: Ê(1) = E_start; Ê -> E_max as E grows
    assert float(effective_experts(1, 2.0732, 290.4521)) == pytest.approx(2.0732, rel=1e-12)
    assert float(effective_experts(1e12, 2.0732, 290.4521)) == pytest.approx(290.4521, rel=1e-6)


TABLE_1 = [  # (FLOPs, E, N_act, D)
    (1e20, 1, 1.7e9, 9.7e9),
    (1e20, 8, 990e6, 17e9),
    (1e20, 32, 669e6, 24.9e9),
    (1e21, 2, 5e9, 33e9),
    (1e21, 8, 3.8e9, 44.3e9),
    (1e21, 16, 3.3e9, 51.2e9),
    (1e22, 1, 18.8e9, 88.6e9),
    (1e22, 4, 15.8e9, 105.4e9),
    (1e22, 32, 12.2e9, 136.9e9),
]


@pytest.mark.parametrize(("flops", "experts", "active", "tokens"), TABLE_1)
def test_compute_optimal_at_fixed_experts_is_table_1(flops, experts, active, tokens):
    p = plan(PRESET, PlanRequest(flops=flops, experts=experts))
    assert p.experts == experts
    assert p.params == pytest.approx(active, rel=0.02)
    assert p.tokens == pytest.approx(tokens, rel=0.02)
    numeric = plan(PRESET, PlanRequest(flops=flops, experts=experts), numeric=True)
    assert numeric.params == pytest.approx(p.params, rel=1e-6)  # eq. 7 vs the bounded search


def test_parameter_counts_of_app_a1():
    # App. E: d_model 1024, 16 blocks (= 1024/64), 32 experts: 321M active, 5.0B total;
    # eq. 10: N_act = 2·d·V + 13·N_blocks·d², eq. 9: N_total = 2·d·V + (4 + 9E)·N_blocks·d²
    active = 2 * 1024 * 50257 + 13 * 16 * 1024**2
    assert active == pytest.approx(321e6, rel=2e-3)
    assert float(width_for_active(active)) == pytest.approx(1024, rel=1e-9)
    total = float(total_params(active, 32))
    assert total == pytest.approx(2 * 1024 * 50257 + (4 + 9 * 32) * 16 * 1024**2, rel=1e-9)
    assert total == pytest.approx(5.0e9, rel=0.01)


def test_more_experts_win_at_a_fixed_budget_and_the_plan_takes_the_most():
    # Finding 2 (§4): more experts -> better performance at fixed compute
    losses = [plan(PRESET, PlanRequest(flops=1e21, experts=e)).loss for e in (1, 2, 4, 8, 16, 32)]
    assert losses == sorted(losses, reverse=True)
    free = plan(PRESET, PlanRequest(flops=1e21))
    assert free.experts == 32 and free.loss == pytest.approx(losses[-1], rel=1e-9)


def test_a_total_parameter_cap_lowers_the_expert_count():
    capped = plan(PRESET, PlanRequest(flops=1e22, max_total_params=50e9))
    assert capped.params_total <= 50e9 * (1 + 1e-9)
    assert capped.experts < 32 and "max_total_params" in capped.binding
    free = plan(PRESET, PlanRequest(flops=1e22))
    assert capped.loss > free.loss


def test_serving_and_training_compute_use_active_parameters():
    p = plan(PRESET, PlanRequest(flops=1e21, inference_tokens=1e12))
    assert p.train_flops == pytest.approx(6 * p.params * p.tokens, rel=1e-12)
    assert p.inference_flops == pytest.approx(2 * p.params * 1e12, rel=1e-12)


def test_memory_per_gpu_caps_dense_and_moe(cli):
    args = (
        "plan",
        "--flops",
        "1e24",
        "--memory-per-gpu",
        "80",
        "--gpus",
        "2",
        "--gpu",
        "H100",
        "--mfu",
        "0.4",
    )
    r = cli(*args, "--law", "ludziejewski2025", "--law", "besiroglu2024", "--format", "json")
    assert r.code == 0, r.err
    moe, dense = r.json()["plans"]
    cap = 2 * 80e9 / 2  # bf16 weights: 80B parameters, below besiroglu2024's 95.9B optimum
    assert moe["params_total"] <= cap * (1 + 1e-9) and moe["experts"] >= 1
    assert dense["params"] == pytest.approx(cap, rel=1e-9) and dense["binding"] == ["max_total_params"]
    bad = cli("plan", "--flops", "1e24", "--memory-per-gpu", "80", "--law", "ludziejewski2025")
    assert bad.code == 2 and "--gpus" in bad.err
    # a memory cap needs the GPU count, not the GPU model or its utilisation
    bare = cli("plan", "--flops", "1e24", "--memory-per-gpu", "80", "--gpus", "2", "--law", "besiroglu2024")
    assert bare.code == 0, bare.err
    assert "max_total_params" in bare.out
    # and no more memory than the accelerator has (hardware.yaml: the H100 holds 80 GB)
    over = cli(*args[:4], "100", *args[5:], "--law", "ludziejewski2025")
    assert over.code == 2 and "H100" in over.err and "80 GB" in over.err


def test_memory_cap_in_a_check_spec(cli, tmp_path):
    # plan.memory_per_gpu with hardware.gpus: 8 x 80 GB of bf16 weights = 320B params
    spec = tmp_path / "memory.yaml"
    spec.write_text(
        "law: ludziejewski2025\n"
        "plan: {flops: 1e24, memory_per_gpu: 80}\n"
        "hardware: {gpu: H100, mfu: 0.4, gpus: 8}\n"
        "assert: {max_params_total: 320B}\n"
    )
    r = cli("check", str(spec), "--format", "json")
    assert r.code == 0, r.err
    assert r.json()["plans"][0]["params_total"] == pytest.approx(320e9, rel=1e-9)


def test_check_gates_on_experts_and_total_parameters(cli, tmp_path):
    # issue 13 item 4: the new fields are assertable through the one table of fields
    spec = tmp_path / "moe.yaml"
    spec.write_text(
        "law: ludziejewski2025\n"
        "plan: {flops: 1e22, max_total_params: 50B}\n"
        "assert: {max_params_total: 50B, max_experts: 16, min_params_active: 1T}\n"
    )
    r = cli("check", str(spec), "--format", "json")
    assert r.code == 1, r.err
    by_key = {x["assertion"]: x for x in r.json()["results"]}
    # the cap binds (as in the test above), so the plan's total is the cap itself
    assert by_key["max_params_total"]["passed"]
    assert by_key["max_params_total"]["measured"] == pytest.approx(50e9, rel=1e-9)
    assert by_key["max_experts"]["passed"] and by_key["max_experts"]["measured"] < 32
    assert not by_key["min_params_active"]["passed"]  # 1T active parameters on 1e22 FLOPs: no
