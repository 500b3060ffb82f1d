"""The laws against the published numbers in ../shared/REFERENCE.md."""

import numpy as np
import pytest

from scalecli import presets
from scalecli.errors import InputError
from scalecli.laws import ChinchillaLaw, Conditions, DynamicsLaw, family
from scalecli.laws.dynamics import spectral_to_exponents


def kaplan_law(params, name=""):
    """The kaplan family's law for these params (L(N, S_min) or the joint L(N, D))."""
    return family("kaplan").make(params, name)


COND = Conditions()


def test_kaplan_single_point_checks():
    # REFERENCE.md §1.6 "Other checks": Table 2 joint law and Table 3 L(N, S_min)
    joint = presets.load("kaplan2020-joint").law
    assert float(joint.joint_loss(1e9, 1e10)) == pytest.approx(2.4197, rel=1e-4)
    assert joint.predict(1e9, 1e10, None, COND)["loss"] == pytest.approx(2.4197, rel=1e-4)
    kaplan = presets.load("kaplan2020").law
    pred = kaplan.predict(1e9, None, 2e5, COND)  # S = 2·S_min at B_crit
    assert pred["loss"] == pytest.approx(2.4005, rel=1e-4)


def test_kaplan_critical_batch():
    # REFERENCE.md §1.6: B_crit(L=3.0) = 1.0691e6, B_crit(L=2.0) = 7.3715e6 (B_* = 2e8)
    kaplan = presets.load("kaplan2020").law
    assert float(kaplan.critical_batch(3.0)) == pytest.approx(1.0691e6, rel=1e-4)
    assert float(kaplan.critical_batch(2.0)) == pytest.approx(7.3715e6, rel=1e-4)


def test_kaplan_appendix_b_constants():
    # REFERENCE.md §1.7: alpha_C = 0.05245, C_c = 1.3246e28 FLOP
    kaplan = presets.load("kaplan2020").law
    assert kaplan.alpha_C == pytest.approx(0.05245, rel=1e-3)
    assert kaplan.C_c == pytest.approx(1.3246e28, rel=1e-4)


def test_muennighoff_readme_losses():
    # REFERENCE.md §5.3: the README's two losses, to 16 digits (§10 item 6)
    law = presets.load("muennighoff2023").law
    assert float(law.loss(6.34e9, 242e9, 25e9)) == pytest.approx(2.2256440889984477, rel=1e-12)
    assert float(law.loss(8.67e9, 178e9, 25e9)) == pytest.approx(2.2269634075087867, rel=1e-12)


def test_muennighoff_repetition_value():
    # REFERENCE.md §5.3: D'/U after 2, 4, 10, 16, 40, 100 epochs
    law = presets.load("muennighoff2023").law
    unique = 1e10
    epochs = np.array([2, 4, 10, 16, 40, 100])
    ratio = law.effective_tokens(epochs * unique, unique) / unique
    assert ratio == pytest.approx([1.968, 3.726, 7.814, 10.58, 15.17, 16.36], rel=2e-3)


def test_sardana_loss_with_its_constants():
    # REFERENCE.md §4.3-4.4: alpha 0.336, beta 0.283 -> L(70e9, 1e12) = 1.947273
    law = ChinchillaLaw(dict(E=1.69, A=406.4, B=410.7, alpha=0.336, beta=0.283))
    assert float(law.loss(70e9, 1e12)) == pytest.approx(1.947273, rel=1e-6)


@pytest.mark.parametrize(
    "a, b, alpha, beta",
    # REFERENCE.md §6.5 exponent table: r_N = min(a-1, 2b), r_t = (a-1)/b
    [
        (2.0, 1.0, 1.0, 1.0),
        (1.5, 1.25, 0.5, 0.4),
        (1.5, 2.0, 0.5, 0.25),
        (2.0, 1.5, 1.0, 0.6667),
        (1.15, 2.0, 0.15, 0.075),
        (4.0, 1.2, 2.4, 2.5),
    ],
)
def test_spectral_mapping(a, b, alpha, beta):
    got = spectral_to_exponents(a, b)
    assert got == pytest.approx((alpha, beta), rel=1e-4)


@pytest.mark.parametrize(
    "a, b, n_exp, t_exp, l_exp",
    # REFERENCE.md §6.5 exponent table: N ∝ C^, t ∝ C^, L - E ∝ C^-
    [
        (2.0, 1.0, 0.5, 0.5, 0.5),
        (1.5, 1.25, 0.4444, 0.5556, 0.2222),
        (1.5, 2.0, 0.3333, 0.6667, 0.1667),
        (2.0, 1.5, 0.4, 0.6, 0.4),
        (2.0, 2.0, 0.3333, 0.6667, 0.3333),
        (1.15, 2.0, 0.3333, 0.6667, 0.05),
        (4.0, 1.2, 0.5102, 0.4898, 1.2245),
    ],
)
def test_dynamics_sweep_slopes_in_training_flops(tmp_path, a, b, n_exp, t_exp, l_exp):
    # REFERENCE §6.5: with C = 6·N·B·S at a fixed batch, N ∝ C^(beta/(alpha+beta)), steps ∝
    # C^(alpha/(alpha+beta)), L - E ∝ C^-(alpha·beta/(alpha+beta)): each row as a law file, swept.
    path = tmp_path / "row.yaml"
    path.write_text(
        f"name: row\nfamily: dynamics\nparams: {{a: {a}, b: {b}, A_N: 1, A_S: 1, E: 0}}\n"
        "batch: {rule: fixed, tokens: 1M}\n"
    )
    _assert_sweep_slopes(presets.load(str(path)), n_exp, t_exp, l_exp)


def test_bordelon2024_preset_has_the_theory_exponents():
    # REFERENCE §6.3 / §6.5 first row: (a, b) = (2, 1) gives N ∝ C^0.5, steps ∝ C^0.5, L ∝ C^-0.5
    _assert_sweep_slopes(presets.load("bordelon2024"), 0.5, 0.5, 0.5)


def _assert_sweep_slopes(preset, n_exp, t_exp, l_exp):
    from scalecli.sweep import budgets, sweep

    flops = budgets(1e19, 1e25, 7)
    s = sweep(preset, flops)
    x = np.log(flops)
    reducible = np.array(s.loss) - preset.law.irreducible_loss
    assert np.polyfit(x, np.log(s.params), 1)[0] == pytest.approx(n_exp, abs=1e-3)
    assert np.polyfit(x, np.log(s.steps), 1)[0] == pytest.approx(t_exp, abs=1e-3)
    assert np.polyfit(x, np.log(reducible), 1)[0] == pytest.approx(-l_exp, abs=1e-3)


@pytest.mark.parametrize(
    "a, b, compute, n_opt, t_opt, loss",
    # REFERENCE.md §6.5 numeric example, k = 1 (C = N·t): a batch of 1/6 token makes 6·N·B·t = N·t
    [
        (1.5, 1.25, 1e6, 594.8, 1681, 0.09226),
        (1.5, 1.25, 1e8, 4605, 2.172e4, 0.03316),
        (2.0, 1.0, 1e6, 1000, 1000, 0.002),
    ],
)
def test_dynamics_numeric_example(a, b, compute, n_opt, t_opt, loss):
    from scalecli.laws import BatchRule

    law = DynamicsLaw(dict(a=a, b=b, A_N=1, A_S=1, E=0))
    cond = Conditions(batch=BatchRule("fixed", tokens=1.0 / 6.0))
    n = float(law.closed_form_params(compute, cond))
    _, t, _ = law.allocation(np.array([n]), compute, cond)
    assert n == pytest.approx(n_opt, rel=1e-3)
    assert float(t[0]) == pytest.approx(t_opt, rel=1e-3)
    assert float(law.loss_on_budget(np.array([n]), compute, cond)[0]) == pytest.approx(loss, rel=1e-3)


@pytest.mark.parametrize(
    "family, params, fragment",
    [
        (ChinchillaLaw, dict(E=1.69, A=406.4, B=410.7, alpha=0.34), "missing parameter"),
        (ChinchillaLaw, dict(E=1.69, A=406.4, B=410.7, alpha=-0.34, beta=0.28), "positive"),
        (
            ChinchillaLaw,
            dict(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28, alhpa=1),
            "did you mean 'alpha'",
        ),
        (ChinchillaLaw, dict(E=-1, A=406.4, B=410.7, alpha=0.34, beta=0.28), "positive"),
        (ChinchillaLaw, dict(E=1.69, A=406.4, B=410.7, alpha=0, beta=0.28), "must be > 0"),
        (kaplan_law, dict(N_c=6.5e13, alpha_N=0.077, S_c=2.1e3, alpha_S=0.76, B_star=2e8), "needs alpha_B"),
        (kaplan_law, dict(N_c=6.5e13, alpha_N=0.077), "missing parameter"),
        (kaplan_law, dict(N_c=6.5e13, alpha_N=0.077, D_c=1.8e13), "both D_c and alpha_D"),
        (DynamicsLaw, dict(a=2, b=1, alpha=1, A_N=1, A_S=1, E=0), "not both"),
        (DynamicsLaw, dict(a=0.5, b=1, A_N=1, A_S=1, E=0), "a > 1"),
        (DynamicsLaw, dict(A_N=1, A_S=1, E=0), "missing exponents"),
    ],
)
def test_parameter_validation(family, params, fragment):
    with pytest.raises(InputError, match=fragment):
        family(params, name="t")


def test_numbers_in_params_accept_strings_and_suffixes():
    # PyYAML reads 1e23 as a string: params pass through the one number parser
    law = kaplan_law(dict(N_c="6.5e13", alpha_N=0.077, S_c="2.1K", alpha_S=0.76, B_star="200M", alpha_B=0.21))
    assert law.params["N_c"] == 6.5e13 and law.params["S_c"] == 2100.0 and law.params["B_star"] == 2e8
