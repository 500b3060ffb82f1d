"""The solver against REFERENCE.md §10 (items 1, 2, 3, 7), §1.6 and §1.7, plus its invariants."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalecli import presets
from scalecli.errors import InfeasibleError, InputError, as_flag
from scalecli.planner import PlanRequest, plan

# REFERENCE.md §2.6 / §10 item 1: N_opt, D_opt, D/N, L*
CHINCHILLA_TABLE = [
    ("hoffmann2022", 1e21, 1.8242e9, 9.1363e10, 50.08, 2.3289),
    ("hoffmann2022", 1e23, 1.4598e10, 1.1417e12, 78.21, 2.0050),
    ("hoffmann2022", 1e25, 1.1682e11, 1.4267e13, 122.12, 1.8453),
    ("hoffmann2022-tex", 1e21, 2.2170e9, 7.5178e10, 33.91, 2.2955),
    ("hoffmann2022-tex", 1e23, 1.8147e10, 9.1842e11, 50.61, 1.9885),
    ("hoffmann2022-tex", 1e25, 1.4855e11, 1.1220e13, 75.53, 1.8380),
    ("besiroglu2024", 1e21, 2.7785e9, 5.9985e10, 21.59, 2.3055),
    ("besiroglu2024", 1e23, 2.9446e10, 5.6601e11, 19.22, 2.0321),
    ("besiroglu2024", 1e25, 3.1207e11, 5.3407e12, 17.11, 1.9117),
]


@pytest.mark.parametrize("name, flops, n_opt, d_opt, ratio, loss", CHINCHILLA_TABLE)
def test_chinchilla_closed_form_matches_reference(name, flops, n_opt, d_opt, ratio, loss):
    p = plan(presets.load(name), PlanRequest(flops=flops))
    assert p.params == pytest.approx(n_opt, rel=1e-4)
    assert p.tokens == pytest.approx(d_opt, rel=1e-4)
    assert p.tokens_per_param == pytest.approx(ratio, rel=1e-3)
    assert p.loss == pytest.approx(loss, rel=1e-4)
    assert p.binding == [] and p.method == "closed form"


@pytest.mark.parametrize(
    "name, flops, steps",
    # REFERENCE.md §10 item 2: steps = D_opt / B_opt(C), DeepSeek batch
    [
        ("besiroglu2024", 1e21, 27770),
        ("besiroglu2024", 1e23, 58090),
        ("besiroglu2024", 1e25, 121500),
        ("hoffmann2022", 1e21, 42300),
        ("hoffmann2022", 1e23, 117200),
        ("hoffmann2022", 1e25, 324700),
    ],
)
def test_chinchilla_steps_from_deepseek_batch(name, flops, steps):
    p = plan(presets.load(name), PlanRequest(flops=flops))
    assert p.steps == pytest.approx(steps, rel=1e-3)
    # REFERENCE.md §9.2 / §10 item 9: B = 9.743e6 tokens at 1e23
    if flops == 1e23:
        assert p.batch_tokens == pytest.approx(9.743e6, rel=1e-3)


def test_batch_tokens_option_sets_the_batch():
    p = plan(presets.load("hoffmann2022"), PlanRequest(flops=1e23, batch_tokens=4e6))
    assert p.batch_tokens == 4e6
    assert p.steps == pytest.approx(p.tokens / 4e6, rel=1e-12)


@pytest.mark.parametrize(
    "flops, n, d, steps, loss",
    # REFERENCE.md §1.6 convention B (Table 6 frontier); §10 item 3
    [
        (1e21, 4.6831e9, 3.5589e10, 11384, 2.4347),
        (1e23, 1.3506e11, 1.2340e11, 13071, 1.9340),
        (1e25, 3.8953e12, 4.2787e11, 15007, 1.5362),
    ],
)
def test_kaplan_frontier_convention_b(flops, n, d, steps, loss):
    p = plan(presets.load("kaplan2020-frontier"), PlanRequest(flops=flops))
    assert p.params == pytest.approx(n, rel=1e-4)
    assert p.tokens == pytest.approx(d, rel=1e-4)
    assert p.steps == pytest.approx(steps, rel=1e-4)
    assert p.loss == pytest.approx(loss, rel=1e-4)


@pytest.mark.parametrize(
    "flops, n, loss, b_crit, steps, d, ratio",
    # REFERENCE.md §1.7 law-consistent Appendix-B table
    [
        (1e21, 1.9978e9, 2.4511, 2.798e6, 29812, 8.343e10, 41.76),
        (1e23, 4.6021e10, 1.9251, 8.840e6, 40966, 3.622e11, 7.869),
        (1e25, 1.0602e12, 1.5120, 2.793e7, 56294, 1.572e12, 1.483),
    ],
)
def test_kaplan_law_optimum(flops, n, loss, b_crit, steps, d, ratio):
    p = plan(presets.load("kaplan2020"), PlanRequest(flops=flops))
    assert p.params == pytest.approx(n, rel=1e-4)
    assert p.loss == pytest.approx(loss, rel=1e-4)
    assert p.batch_tokens == pytest.approx(b_crit, rel=1e-3)
    assert p.steps == pytest.approx(steps, rel=1e-4)
    assert p.tokens == pytest.approx(d, rel=1e-3)
    assert p.tokens_per_param == pytest.approx(ratio, rel=1e-3)


def test_kaplan_frontier_and_law_optimum_differ_as_published():
    # REFERENCE.md §1.7: ratio of law-consistent N to Table 6 N is 0.427, 0.341, 0.272
    for flops, ratio in [(1e21, 0.427), (1e23, 0.341), (1e25, 0.272)]:
        law = plan(presets.load("kaplan2020"), PlanRequest(flops=flops)).params
        frontier = plan(presets.load("kaplan2020-frontier"), PlanRequest(flops=flops)).params
        assert law / frontier == pytest.approx(ratio, abs=1e-3)


def test_dynamics_symmetric_allocation():
    # REFERENCE.md §10 item 7: a = 2, b = 1 gives N ∝ C^0.5, t ∝ C^0.5, L ∝ C^-0.5
    law = presets.load("bordelon2024")
    lo = plan(law, PlanRequest(flops=1e21, batch_tokens=1e6))
    hi = plan(law, PlanRequest(flops=1e23, batch_tokens=1e6))
    assert math.log(hi.params / lo.params, 100) == pytest.approx(0.5, abs=1e-9)
    assert math.log(hi.steps / lo.steps, 100) == pytest.approx(0.5, abs=1e-9)
    assert math.log(hi.loss / lo.loss, 100) == pytest.approx(-0.5, abs=1e-9)


def test_dynamics_cifar_like_exponents():
    # REFERENCE.md §10 item 7: a = 1.15, b = 2 -> N ∝ C^(1/3), t ∝ C^(2/3), L ∝ C^-0.05
    from scalecli.presets import preset_from_mapping

    law = preset_from_mapping(
        {
            "name": "cifar",
            "family": "dynamics",
            "params": {"a": 1.15, "b": 2, "A_N": 1, "A_S": 1, "E": 0},
            "batch": {"rule": "fixed", "tokens": 1},
        },
        "test",
    )
    lo, hi = plan(law, PlanRequest(flops=1e20)), plan(law, PlanRequest(flops=1e26))
    assert math.log(hi.params / lo.params, 1e6) == pytest.approx(1 / 3, abs=1e-9)
    assert math.log(hi.steps / lo.steps, 1e6) == pytest.approx(2 / 3, abs=1e-9)
    assert math.log(hi.loss / lo.loss, 1e6) == pytest.approx(-0.05, abs=1e-9)


NUMERIC_LAWS = [
    "hoffmann2022",
    "hoffmann2022-tex",
    "besiroglu2024",
    "muennighoff2023",
    "kaplan2020",
    "bordelon2024",
]


@pytest.mark.parametrize("name", NUMERIC_LAWS)
@pytest.mark.parametrize("flops", [1e19, 1e21, 1e23, 1e25, 1e27])
def test_numeric_solver_agrees_with_closed_form(name, flops):
    # issue 2: closed form and the bounded numerical solver agree to 1e-6 relative, every family
    preset = presets.load(name)
    closed = plan(preset, PlanRequest(flops=flops))
    numeric = plan(preset, PlanRequest(flops=flops), numeric=True)
    assert closed.method == "closed form" and numeric.method == "numerical"
    for field in ("params", "tokens", "steps", "loss", "train_flops"):
        assert getattr(numeric, field) == pytest.approx(getattr(closed, field), rel=1e-6), field


@pytest.mark.parametrize("name", NUMERIC_LAWS)
def test_numeric_target_loss_agrees_with_closed_form(name):
    preset = presets.load(name)
    loss = plan(preset, PlanRequest(flops=1e22)).loss
    closed = plan(preset, PlanRequest(target_loss=loss))
    numeric = plan(preset, PlanRequest(target_loss=loss), numeric=True)
    assert closed.train_flops == pytest.approx(1e22, rel=1e-9)  # C(L*(C)) = C, REFERENCE §10 item 1
    assert numeric.train_flops == pytest.approx(closed.train_flops, rel=1e-6)
    assert numeric.params == pytest.approx(closed.params, rel=1e-6)


@pytest.mark.parametrize("name", NUMERIC_LAWS + ["kaplan2020-frontier"])
@pytest.mark.parametrize("flops", [1e20, 1e23, 3e25])
def test_six_n_d_equals_training_flops(name, flops):
    # REFERENCE.md §10 item 1 invariant: 6·N·D = C for every plan
    p = plan(presets.load(name), PlanRequest(flops=flops))
    assert 6 * p.params * p.tokens == pytest.approx(flops, rel=1e-12)
    assert p.train_flops == pytest.approx(flops, rel=1e-12)
    assert p.tokens == pytest.approx(p.steps * p.batch_tokens, rel=1e-12)


def test_chinchilla_inverse_closed_form():
    # REFERENCE.md §2.2 corollary: Chinchilla-optimal size for a target loss
    law = presets.load("hoffmann2022")
    p = plan(law, PlanRequest(target_loss=2.1))
    c = law.law.params
    n = (c["A"] * (c["alpha"] / c["beta"] + 1) / (2.1 - c["E"])) ** (1 / c["alpha"])
    d = (c["B"] * (c["beta"] / c["alpha"] + 1) / (2.1 - c["E"])) ** (1 / c["beta"])
    assert p.params == pytest.approx(n, rel=1e-9)
    assert p.tokens == pytest.approx(d, rel=1e-9)
    assert p.loss == pytest.approx(2.1, rel=1e-12)


@pytest.mark.parametrize("name, floor", [("hoffmann2022", 1.69), ("besiroglu2024", 1.8172)])
@pytest.mark.parametrize("offset", [0.0, -0.1])
def test_target_at_or_below_irreducible_loss_is_infeasible(name, floor, offset):
    # E from REFERENCE.md §2.1 (1.69) and §3.2 (1.8172)
    with pytest.raises(InfeasibleError, match="irreducible loss") as info:
        plan(presets.load(name), PlanRequest(target_loss=floor + offset))
    assert info.value.exit_code == 3
    assert f"E = {floor:g}" in str(info.value)


def test_absurd_kaplan_target_is_infeasible_not_a_crash():
    # Kaplan has no irreducible term: L -> 0 needs unbounded compute (REFERENCE §1.4, B.6)
    with pytest.raises(InfeasibleError, match="raise the target"):
        plan(presets.load("kaplan2020"), PlanRequest(target_loss=1e-30))


def test_frontier_refuses_other_constraints():
    for request in (
        PlanRequest(target_loss=2.0),
        PlanRequest(flops=1e23, max_params=1e9),
        PlanRequest(flops=1e23, inference_tokens=1e12),
    ):
        with pytest.raises(InputError) as info:
            plan(presets.load("kaplan2020-frontier"), request)
        # the library names fields; the command line shows them as flags (errors.ref)
        assert "flops plans only" in str(info.value)
        assert "--flops plans only" in info.value.render(as_flag)


def test_request_needs_exactly_one_objective():
    with pytest.raises(InputError, match="exactly one objective"):
        PlanRequest()
    with pytest.raises(InputError, match="exactly one objective"):
        PlanRequest(flops=1e23, target_loss=2.0)


# ----- properties (hypothesis) -----------------------------------------------------------------
LAW_NAMES = st.sampled_from(
    ["hoffmann2022", "besiroglu2024", "kaplan2020", "bordelon2024", "muennighoff2023"]
)
LOG_FLOPS = st.floats(min_value=18.0, max_value=27.0)


@settings(max_examples=60, deadline=None)
@given(LAW_NAMES, LOG_FLOPS, st.floats(min_value=0.01, max_value=3.0))
def test_more_budget_never_raises_the_optimal_loss(name, log_c, more):
    preset = presets.load(name)
    low = plan(preset, PlanRequest(flops=10**log_c)).loss
    high = plan(preset, PlanRequest(flops=10 ** (log_c + more))).loss
    assert high <= low


@settings(max_examples=60, deadline=None)
@given(LAW_NAMES, LOG_FLOPS, st.sampled_from([0.9, 1.1]))
def test_perturbing_n_along_the_budget_never_beats_the_plan(name, log_c, factor):
    preset = presets.load(name)
    flops = 10**log_c
    p = plan(preset, PlanRequest(flops=flops))
    from scalecli.planner import conditions_for

    cond = conditions_for(preset, PlanRequest(flops=flops))
    other = float(preset.law.loss_on_budget(np.array([p.params * factor]), flops, cond)[0])
    assert other >= p.loss * (1 - 1e-12)


@settings(max_examples=40, deadline=None)
@given(LAW_NAMES, LOG_FLOPS, st.floats(min_value=0.05, max_value=0.9))
def test_a_cap_that_binds_never_helps_and_one_that_does_not_changes_nothing(name, log_c, shrink):
    preset = presets.load(name)
    free = plan(preset, PlanRequest(flops=10**log_c))
    loose = plan(preset, PlanRequest(flops=10**log_c, max_params=free.params * 2))
    assert loose.params == free.params and loose.binding == []
    tight = plan(preset, PlanRequest(flops=10**log_c, max_params=free.params * shrink))
    assert tight.params == pytest.approx(free.params * shrink, rel=1e-9)
    assert tight.binding == ["max_params"]
    assert tight.loss >= free.loss


@pytest.mark.parametrize("flops", [1e19, 1e21, 1e23, 1e25])
def test_kaplan_joint_only_law_closed_form_matches_numeric(flops):
    # a kaplan preset with only eq. 1.5 (Table 2 constants, REFERENCE §1.2) plans along 6ND = C;
    # its closed form N* = (p·N_c^p·C/(6·D_c))^(1/(p+1)) must agree with the bounded search
    from scalecli.presets import preset_from_mapping

    preset = preset_from_mapping(
        {
            "name": "kj",
            "family": "kaplan",
            "params": {"N_c": 6.4e13, "alpha_N": 0.076, "D_c": 1.8e13, "alpha_D": 0.103},
        },
        "test",
    )
    closed = plan(preset, PlanRequest(flops=flops))
    numeric = plan(preset, PlanRequest(flops=flops), numeric=True)
    assert closed.method == "closed form"
    assert numeric.params == pytest.approx(closed.params, rel=1e-6)
    assert closed.loss == pytest.approx(float(preset.law.joint_loss(closed.params, closed.tokens)), rel=1e-12)
    back = plan(preset, PlanRequest(target_loss=closed.loss))
    assert back.train_flops == pytest.approx(flops, rel=1e-9)
