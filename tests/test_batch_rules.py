"""Batch rules (scalecli.laws.batch): the one mapping between tokens, batch and steps.

Expected values are closed forms (D = S·B(N, D) solved for D), DeepSeek LLM's eq. 1 as worked in
REFERENCE §9.2 / §10 item 2, or data generated here from a known rule.
"""

from __future__ import annotations

import numpy as np
import pytest

from scalecli import presets
from scalecli.errors import InputError
from scalecli.laws.batch import BatchRule, fit_batch_rule
from scalecli.planner import PlanRequest, plan

RULES = [
    BatchRule("fixed", tokens=4e6),
    BatchRule(),  # deepseek2024
    BatchRule("power", coef=1500.0, params_exponent=0.3),
    BatchRule("power", coef=0.05, tokens_exponent=0.5),
    BatchRule("power", coef=2.0, params_exponent=0.1, tokens_exponent=0.4),
    BatchRule("table", rows=((1e8, 5e5), (1e9, 1e6), (1e11, 4e6))),
]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.rule)
def test_tokens_for_steps_inverts_steps(rule):
    params = np.geomspace(1e7, 1e12, 11)
    tokens = np.geomspace(1e9, 1e14, 11)
    steps = rule.steps(params, tokens)
    np.testing.assert_allclose(rule.tokens_for_steps(params, steps), tokens, rtol=1e-10)
    np.testing.assert_allclose(steps * rule.batch_tokens(params, tokens), tokens, rtol=1e-12)


def test_deepseek_rule_is_bi_et_al_eq_1():
    # REFERENCE §9.2: B_opt = 0.2920·C^0.3271 tokens; at C = 1e23, 9.743e6 (§9.2 worked table)
    rule = BatchRule()
    n = 1e10
    d = 1e23 / (6 * n)
    assert float(rule.batch_tokens(n, d)) == pytest.approx(9.743e6, rel=1e-3)
    # REFERENCE §10 item 2: Epoch constants at 1e23 -> 58,090 steps
    p = plan(presets.load("besiroglu2024"), PlanRequest(flops=1e23))
    assert p.steps == pytest.approx(58090, rel=1e-3)


def test_table_interpolates_in_log_params_and_holds_its_ends():
    rule = BatchRule("table", rows=((1e8, 5e5), (1e10, 2e6)))
    assert float(rule.batch_tokens(1e9, 1e11)) == pytest.approx(1e6, rel=1e-12)  # geometric midpoint
    assert float(rule.batch_tokens(1e6, 1e11)) == pytest.approx(5e5, rel=1e-12)
    assert float(rule.batch_tokens(1e12, 1e11)) == pytest.approx(2e6, rel=1e-12)


def test_fit_batch_rule_recovers_known_rules():
    n = np.repeat(np.geomspace(1e8, 1e11, 6), 5)
    d = np.tile(np.geomspace(1e10, 1e12, 5), 6)
    rule = fit_batch_rule(n, d, 1234.0 * n**0.3, "runs.csv")
    assert rule.rule == "power" and rule.tokens_exponent == 0.0
    assert rule.coef == pytest.approx(1234.0, rel=1e-9)
    assert rule.params_exponent == pytest.approx(0.3, rel=1e-9)
    assert rule.fitted_on["rows"] == 6 and rule.fitted_on["r2_log"] == pytest.approx(1.0)
    joint = fit_batch_rule(n, d, 0.5 * n**0.1 * d**0.4, "runs.csv")
    assert (joint.coef, joint.params_exponent, joint.tokens_exponent) == pytest.approx(
        (0.5, 0.1, 0.4), rel=1e-9
    )
    fixed = fit_batch_rule(n, d, np.full_like(n, 4e6), "runs.csv")
    assert fixed.rule == "fixed" and fixed.tokens == 4e6
    # the rule a fit writes loads back as a preset's batch rule
    assert BatchRule.from_mapping(rule.to_mapping()) == rule


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ({"rule": "fixed"}, "needs 'tokens'"),
        ({"rule": "linear"}, "must be one of"),
        ({"rule": "power", "params_exponent": 0.3}, "needs 'coef'"),
        ({"rule": "power", "coef": 1, "tokens_exponent": 1.2}, "below 1"),
        ({"rule": "table", "rows": [[1e9, 1e6], [1e8, 5e5]]}, "increasing"),
        ({"rule": "table", "rows": "1e9"}, "rows"),
        ({"rule": "fixed", "tokens": "4M", "coef": 2}, "unknown: coef"),
        ({"rule": "fixed", "tokens": "-4M"}, "positive"),
    ],
)
def test_bad_batch_rules_are_input_errors(spec, fragment):
    with pytest.raises(InputError, match=fragment):
        BatchRule.from_mapping(spec, "law file")


def test_plan_notes_state_the_rule_and_where_it_came_from():
    p = plan(presets.load("dynamics-gpt3"), PlanRequest(flops=1e22))
    note = next(n for n in p.notes if n.startswith("steps = tokens / batch"))
    assert "N^0.303" in note and "fitted by scale fit" in note and "gpt3_models.csv" in note
    # and predict uses the same rule: the plan's steps at its (N, D)
    from scalecli.predict import predict

    assert predict(presets.load("dynamics-gpt3"), p.params, tokens=p.tokens).steps == pytest.approx(
        p.steps, rel=1e-9
    )
