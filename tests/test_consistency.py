"""Every number a plan prints agrees with the law it came from and with the other commands.

* plan -> predict round trip: predicting at a plan's (params, tokens) gives the plan's loss and
  zero overhead, for every shipped preset with a loss law, in both objectives;
* the `chinchilla` alias reproduces Hoffmann et al.'s own Approach-3 projections (Table A3);
* the default table marks one recommended law and `--brief` prints only it.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalecli import presets
from scalecli.laws import Law
from scalecli.planner import PlanRequest, plan
from scalecli.predict import predict

LOSS_LAWS = [p.name for p in presets.load_all_shipped() if isinstance(p.law, Law)]


def test_every_family_with_a_loss_law_is_in_the_round_trip():
    families = {presets.load(n).family for n in LOSS_LAWS}
    assert families == {"chinchilla", "kaplan", "dynamics", "moe", "precision"}
    assert {"kaplan2020", "kaplan2020-joint", "dynamics-gpt3", "bordelon2024"} <= set(LOSS_LAWS)


def _round_trip(name: str, request: PlanRequest) -> None:
    preset = presets.load(name)
    p = plan(preset, request)
    pred = predict(preset, p.params, tokens=p.tokens, **p.settings)  # the expert count, bits it chose
    assert pred.loss == pytest.approx(p.loss, rel=1e-6), name
    assert pred.train_flops == pytest.approx(p.train_flops, rel=1e-9)
    assert pred.steps == pytest.approx(p.steps, rel=1e-6)
    assert pred.batch_tokens == pytest.approx(p.batch_tokens, rel=1e-6)
    assert abs(pred.overhead_pct) < 1e-4, (name, pred.overhead_pct)  # C / C_opt - 1 below 1e-6
    by_steps = predict(preset, p.params, steps=p.steps, **p.settings)
    assert by_steps.loss == pytest.approx(p.loss, rel=1e-6)
    assert by_steps.tokens == pytest.approx(p.tokens, rel=1e-6)


@pytest.mark.parametrize("name", LOSS_LAWS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(log_flops=st.floats(min_value=18.0, max_value=26.0))
def test_plan_predict_round_trip_in_flops(name, log_flops):
    _round_trip(name, PlanRequest(flops=10.0**log_flops))


@pytest.mark.parametrize("name", LOSS_LAWS)
@settings(max_examples=15, deadline=None)
@given(log_flops=st.floats(min_value=18.0, max_value=26.0))
def test_plan_predict_round_trip_in_target_loss(name, log_flops):
    # a reachable target: the loss of the budget-optimal plan at a random budget
    target = plan(presets.load(name), PlanRequest(flops=10.0**log_flops)).loss
    _round_trip(name, PlanRequest(target_loss=target))


def test_kaplan_plan_and_predict_agree():
    # the report of issue 8: plan --target-loss 2.002 then predict at its (N, D)
    preset = presets.load("kaplan2020")
    p = plan(preset, PlanRequest(target_loss=2.002))
    pred = predict(preset, p.params, tokens=p.tokens)
    assert pred.loss == pytest.approx(2.002, rel=1e-6)
    assert abs(pred.overhead_pct) < 1e-4
    # any configuration's optimum at its own loss costs what plan says that loss costs
    other = predict(preset, 7e9, tokens=2e12)
    assert other.optimal_train_flops == pytest.approx(
        plan(preset, PlanRequest(target_loss=other.loss)).train_flops, rel=1e-9
    )


# Hoffmann et al. Table A3, Approach 3 (REFERENCE §2.4): (params, FLOPs). The 175B row's printed
# 1.26e24 is a typo for 1.26e25 (6·175e9·12.0e12; REFERENCE §2.4 and §11 item 4).
TABLE_A3 = [
    (400e6, 2.21e19),
    (1e9, 1.62e20),
    (10e9, 2.46e22),
    (67e9, 1.71e24),
    (175e9, 1.26e25),
    (280e9, 3.52e25),
    (520e9, 1.36e26),
    (1e12, 5.65e26),
    (10e12, 8.55e28),
]


@pytest.mark.parametrize("params, flops", TABLE_A3)
def test_chinchilla_alias_reproduces_table_a3(params, flops):
    preset = presets.load("chinchilla")
    assert preset.name == "hoffmann2022-tex"
    p = plan(preset, PlanRequest(flops=flops))
    assert p.params == pytest.approx(params, rel=0.10)


def test_gopher_budget():
    # REFERENCE §2.6: at C = 5.76e23 the TeX constants give N = 4.036e10 (the paper projects ~40B);
    # the rounded constants give 3.219e10
    assert plan(presets.load("chinchilla"), PlanRequest(flops=5.76e23)).params == pytest.approx(
        4.036e10, rel=1e-3
    )
    assert plan(presets.load("hoffmann2022"), PlanRequest(flops=5.76e23)).params == pytest.approx(
        3.219e10, rel=1e-3
    )


def test_default_table_marks_one_recommended_law(cli):
    r = cli("plan", "--flops", "1e23", "--format", "json")
    plans = r.json()["plans"]
    assert [p["law"] for p in plans if p["recommended"]] == ["besiroglu2024"]
    assert sum(p["recommended"] for p in plans) == 1
    table = cli("plan", "--flops", "1e23").out
    assert "besiroglu2024 *" in table and "recommended" in table


def test_brief_prints_only_the_recommended_plan(cli):
    r = cli("plan", "--flops", "1e23", "--brief", "--format", "json")
    plans = r.json()["plans"]
    assert [p["law"] for p in plans] == ["besiroglu2024"]
    # REFERENCE §10 item 1, Epoch constants at 1e23: N_opt = 2.9446e10
    assert plans[0]["params"] == pytest.approx(2.9446e10, rel=1e-3)
    r = cli(
        "plan",
        "--flops",
        "1e23",
        "--brief",
        "--law",
        "kaplan2020",
        "--law",
        "besiroglu2024",
        "--format",
        "json",
    )
    assert [p["law"] for p in r.json()["plans"]] == ["besiroglu2024"]
    r = cli("plan", "--flops", "1e21", "--brief", "--law", "kaplan2020", "--format", "json")
    assert [p["law"] for p in r.json()["plans"]] == ["kaplan2020"]
    assert math.isclose(r.json()["plans"][0]["params"], 1.9978e9, rel_tol=1e-4)  # REFERENCE §1.7


@pytest.mark.parametrize("name", LOSS_LAWS)
def test_sweep_agrees_with_plan_at_every_budget(name):
    # a sweep is the plan at each budget, settings a plan chooses included (the precision law's
    # training bits, the MoE law's expert count)
    from scalecli.sweep import sweep

    preset = presets.load(name)
    budgets = [1e19, 1e21, 1e23]
    s = sweep(preset, budgets)
    for i, c in enumerate(budgets):
        p = plan(preset, PlanRequest(flops=c))
        assert s.params[i] == pytest.approx(p.params, rel=1e-5), (name, c)
        assert s.loss[i] == pytest.approx(p.loss, rel=1e-6), (name, c)
        for key, values in (s.settings or {}).items():
            assert values[i] == p.settings[key], (name, c, key)
