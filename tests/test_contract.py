"""The contract every law family passes (issue 11), run over the family registry.

Every shipped preset with a loss law, and every fit form of every registered family, is checked
here without a line of family-specific test code:

* closed form (where the family has one) and the bounded numerical solver agree, in both
  objectives; the target that a budget's optimum reaches costs exactly that budget;
* plan -> predict round trip: predicting at a plan's (params, tokens) or (params, steps) gives the
  plan's loss and zero overhead;
* the optimal loss falls as the budget grows (REFERENCE §10 item 1: C(L*(C)) = C);
* the compute model is consistent: a plan's training FLOPs are the budget and equal the law's own
  ``train_flops(params, tokens)``; its serving FLOPs are the law's ``serve_flops``;
* a fit on synthetic data made from known parameters (a shipped preset's) recovers them, and the
  form's formula is the law's loss surface;
* a preset survives serialisation (the YAML ``scale fit`` writes) unchanged.

A test-only family, ``recompute`` (below), is registered for the duration of each test to show
what a new family gets for free, and what adding one touches: one module-sized block of code
(law, parameters, fit form, family record) and one ``register`` call, nothing else in scalecli.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from scalecli import presets, render
from scalecli.errors import InfeasibleError
from scalecli.laws import REGISTRY, Conditions, Family, FitForm, FitVariant, Law, Param, fit_form
from scalecli.laws.forms import lse, steps
from scalecli.planner import PlanRequest, conditions_for, plan
from scalecli.predict import predict
from scalecli.presets import Preset, parse_preset, preset_from_mapping


# ----- a test-only family ------------------------------------------------------------------------
class RecomputeLaw(Law):
    """L(N, D) = E + (A/N + B/D)^gamma, trained with full activation recomputation.

    Recomputing every activation in the backward pass re-runs the forward pass, so a token costs
    2·N (forward) + 4·N (backward) + 2·N (recomputed forward) = 8·N FLOPs instead of 6·N
    (Korthikanti et al. 2022, "Reducing activation recomputation", §5). A family whose compute
    model is not 6·N·D: the planner must take it from the law.
    """

    family = "recompute"
    params_schema = (
        Param("E", "irreducible loss", "nats/token", "loss"),
        Param("A", "model-size scale", "params"),
        Param("B", "data scale", "tokens"),
        Param("gamma", "exponent of the summed terms", "", "exponent"),
    )
    FLOPS_PER_PARAM_TOKEN = 8.0

    def train_flops(self, params, tokens):
        return self.FLOPS_PER_PARAM_TOKEN * np.asarray(params, dtype=float) * np.asarray(tokens, dtype=float)

    def _loss(self, params, tokens):
        p = self.params
        return p["E"] + (p["A"] / params + p["B"] / tokens) ** p["gamma"]

    def loss_on_budget(self, params, train_flops, cond: Conditions):
        params = np.asarray(params, dtype=float)
        return self._loss(params, self.tokens_for_flops(params, train_flops))

    def flops_for_loss(self, params, loss, cond: Conditions):
        p = self.params
        params = np.asarray(params, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            rem = max(loss - p["E"], 0.0) ** (1.0 / p["gamma"]) - p["A"] / params
            tokens = np.where(rem > 0, p["B"] / np.where(rem > 0, rem, 1.0), np.inf)
        return self.train_flops(params, tokens)

    def loss_floor(self, params, cond: Conditions):
        p = self.params
        return p["E"] + (p["A"] / np.asarray(params, dtype=float)) ** p["gamma"]

    # A/N + B/D on k·N·D = C is least at A/N = B/D: N* = sqrt(A·C/(k·B)), and then
    # L* = E + (2·sqrt(k·A·B/C))^gamma, so C(L) = 4·k·A·B/(L - E)^(2/gamma).
    def closed_form_params(self, train_flops, cond: Conditions):
        p = self.params
        return np.sqrt(p["A"] * np.asarray(train_flops, dtype=float) / (self.FLOPS_PER_PARAM_TOKEN * p["B"]))

    def closed_form_flops(self, loss: float, cond: Conditions) -> float | None:
        p = self.params
        if loss <= p["E"]:
            return None
        return 4.0 * self.FLOPS_PER_PARAM_TOKEN * p["A"] * p["B"] / (loss - p["E"]) ** (2.0 / p["gamma"])


def _recompute_log_model(c, X, jac: bool):
    """log L = LSE(e, gamma·s), s = LSE(a - ln N, b - ln D)."""
    a, b, e, gamma = c
    u, v = X
    s, (w1, w2) = lse(a - u, b - v)
    out, (pe, pt) = lse(e + 0.0 * u, gamma * s)
    if not jac:
        return out, None
    return out, [pt * gamma * w1, pt * gamma * w2, pe, pt * s]


RECOMPUTE_FORM = FitForm(
    "recompute",
    family="recompute",
    roles=("params", "tokens"),
    internal=("a", "b", "e", "gamma"),
    natural=("A", "B", "E", "gamma"),
    log_scale=(True, True, True, False),
    display=("E", "A", "B", "gamma"),
    grid_axes=(steps(0.0, 30.0, 5.0), steps(0.0, 30.0, 5.0), steps(-1.0, 1.0, 0.5), steps(0.1, 1.0, 0.3)),
    log_model=_recompute_log_model,
    model=lambda p, X: p["E"] + (p["A"] / X[0] + p["B"] / X[1]) ** p["gamma"],
    exponents=(("gamma", "params", "parameters"),),
)

RECOMPUTE = Family(
    name="recompute",
    summary="L(N, D) = E + (A/N + B/D)^gamma with 8·N·D training FLOPs (test-only family)",
    params=RecomputeLaw.params_schema,
    make=lambda params, name: RecomputeLaw(params, name),
    forms=(RECOMPUTE_FORM,),
    variants=(FitVariant("recompute", ("recompute",)),),
)

# A test fixture, not a published law: chosen so that losses at 1e19..1e25 FLOPs lie between about
# 2.3 and 1.8 nats, the range of the shipped presets. Every expected value below is a closed form.
RECOMPUTE_PRESET = {
    "name": "recompute-test",
    "family": "recompute",
    "description": "test-only family (tests/test_contract.py)",
    "params": {"E": 1.7, "A": 5e7, "B": 1e9, "gamma": 0.3},
    "batch": {"rule": "fixed", "tokens": 1e6},
}
TEST_FAMILY_CASE = "recompute-test"


@pytest.fixture(autouse=True)
def _test_family(monkeypatch):
    """Register the test-only family for each test (and only then): what `register` does."""
    monkeypatch.setitem(REGISTRY, RECOMPUTE.name, RECOMPUTE)


# ----- the cases: every shipped loss law, every form, and the test family ------------------------
SHIPPED = [p for p in presets.load_all_shipped() if isinstance(p.law, Law)]
CASES = [p.name for p in SHIPPED] + [TEST_FAMILY_CASE]
BUDGETS = [1e19, 1e22, 1e25]


def _load(case: str) -> Preset:
    if case == TEST_FAMILY_CASE:
        return preset_from_mapping(dict(RECOMPUTE_PRESET), "test preset")
    return presets.load(case)


def _configured(preset: Preset, p) -> Law:
    """The law as the plan's settings (expert count, precision) configure it."""
    assert isinstance(preset.law, Law)
    return preset.law.for_conditions(conditions_for(preset, PlanRequest(flops=p.train_flops, **p.settings)))


def _truth_preset(family: Family, form: FitForm) -> Preset | None:
    """The first preset of the family whose parameters include every parameter of the form."""
    candidates = [p for p in SHIPPED if p.family == family.name]
    if family is RECOMPUTE:
        candidates = [_load(TEST_FAMILY_CASE)]
    for preset in candidates:
        assert isinstance(preset.law, Law)
        if set(form.natural) <= set(preset.law.params):
            return preset
    if family.fit_example is not None:  # the family's published values in the form's own terms
        example = {
            "name": f"{family.name}-example",
            "family": family.name,
            "params": dict(family.fit_example),
        }
        return preset_from_mapping(example, "the family's fit example")
    return None


FAMILIES = {**REGISTRY, RECOMPUTE.name: RECOMPUTE}
FORMS = {form.name: form for fam in FAMILIES.values() for form in fam.forms}
FORM_CASES = [(fam.name, form.name) for fam in FAMILIES.values() for form in fam.forms]


def test_every_registered_family_ships_what_the_contract_needs():
    # a family registered in laws/__init__.py must ship a preset with a loss law (the plan contracts
    # run on it) and, for each of its fit forms, a preset carrying the form's parameters (the fit
    # recovery runs from it); otherwise it would escape this suite
    for family in REGISTRY.values():
        if family is RECOMPUTE:
            continue
        assert any(p.family == family.name for p in SHIPPED), (
            f"{family.name}: no shipped preset with a loss law"
        )
        for form in family.forms:
            assert _truth_preset(family, form) is not None, (
                f"{family.name}/{form.name}: no preset has its params"
            )
    assert {fam for fam, _ in FORM_CASES} >= set(REGISTRY)


# ----- planning --------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("flops", BUDGETS)
def test_closed_form_and_numeric_solver_agree(case, flops):
    preset = _load(case)
    closed = plan(preset, PlanRequest(flops=flops))
    numeric = plan(preset, PlanRequest(flops=flops), numeric=True)
    assert numeric.method == "numerical"
    for field in ("params", "tokens", "steps", "loss", "train_flops"):
        assert getattr(numeric, field) == pytest.approx(getattr(closed, field), rel=1e-6), field
    # target mode: the loss a budget buys costs that budget, by either route
    for numeric_route in (False, True):
        back = plan(preset, PlanRequest(target_loss=closed.loss), numeric=numeric_route)
        assert back.train_flops == pytest.approx(flops, rel=1e-6), numeric_route
        assert back.params == pytest.approx(closed.params, rel=1e-5), numeric_route


def test_the_test_family_has_its_closed_form():
    # N* = sqrt(A·C/(8·B)), L* = E + (2·sqrt(8·A·B/C))^gamma (the derivation in RecomputeLaw)
    p = plan(_load(TEST_FAMILY_CASE), PlanRequest(flops=1e22))
    assert p.method == "closed form"
    assert p.params == pytest.approx(math.sqrt(5e7 * 1e22 / (8 * 1e9)), rel=1e-12)
    assert p.loss == pytest.approx(1.7 + (2 * math.sqrt(8 * 5e7 * 1e9 / 1e22)) ** 0.3, rel=1e-12)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("flops", BUDGETS)
def test_plan_predict_round_trip(case, flops):
    preset = _load(case)
    p = plan(preset, PlanRequest(flops=flops))
    by_tokens = predict(preset, p.params, tokens=p.tokens, **p.settings)
    assert by_tokens.loss == pytest.approx(p.loss, rel=1e-9)
    assert by_tokens.train_flops == pytest.approx(p.train_flops, rel=1e-9)
    assert by_tokens.overhead_pct is not None and abs(by_tokens.overhead_pct) < 1e-4
    by_steps = predict(preset, p.params, steps=p.steps, **p.settings)
    assert by_steps.loss == pytest.approx(p.loss, rel=1e-6)
    assert by_steps.tokens == pytest.approx(p.tokens, rel=1e-6)
    # two of params, tokens, FLOPs: the law's compute model fills in the third
    by_flops = predict(preset, p.params, flops=p.train_flops, **p.settings)
    assert by_flops.tokens == pytest.approx(p.tokens, rel=1e-9)


@pytest.mark.parametrize("case", CASES)
def test_optimal_loss_falls_with_budget(case):
    preset = _load(case)
    grid = np.logspace(18, 26, 17)
    plans = [plan(preset, PlanRequest(flops=float(c))) for c in grid]
    losses = np.array([p.loss for p in plans])
    assert np.all(np.diff(losses) < 0), losses
    assert np.all(np.diff([p.params for p in plans]) > 0)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("flops", BUDGETS)
def test_compute_model_is_the_laws(case, flops):
    preset = _load(case)
    p = plan(preset, PlanRequest(flops=flops))
    law = _configured(preset, p)
    assert p.train_flops == pytest.approx(flops, rel=1e-12)
    assert float(law.train_flops(p.params, p.tokens)) == pytest.approx(flops, rel=1e-12)
    assert p.tokens == pytest.approx(p.steps * p.batch_tokens, rel=1e-9)
    # with serving demand the budget is lifetime compute: the law's training plus its serving FLOPs
    served = plan(preset, PlanRequest(flops=flops, inference_tokens=flops / 1e10))
    law = _configured(preset, served)
    assert float(law.train_flops(served.params, served.tokens)) == pytest.approx(
        served.train_flops, rel=1e-12
    )
    assert served.inference_flops == pytest.approx(
        float(law.serve_flops(served.params, flops / 1e10)), rel=1e-12
    )
    assert served.total_flops == pytest.approx(flops, rel=1e-9)


def test_the_test_familys_compute_model_reaches_the_plan():
    # 8·N·D, not 6·N·D (Korthikanti et al. 2022): a planner with a literal 6 would be off by 4/3
    p = plan(_load(TEST_FAMILY_CASE), PlanRequest(flops=1e22))
    assert 8 * p.params * p.tokens == pytest.approx(1e22, rel=1e-12)
    assert p.tokens_per_param == pytest.approx(p.tokens / p.params, rel=1e-12)


def test_unreachable_target_is_infeasible_for_the_test_family():
    with pytest.raises(InfeasibleError):
        plan(_load(TEST_FAMILY_CASE), PlanRequest(target_loss=1.7))  # = E


# ----- fitting ---------------------------------------------------------------------------------------
def _synthetic_inputs(preset: Preset, form: FitForm, seed: int) -> tuple[np.ndarray, ...]:
    """Runs around the preset's own compute-optimal allocations at 1e19..1e23 FLOPs, each input
    scattered by an independent log-uniform factor in [1/4, 4], so every input varies on its own."""
    rng = np.random.default_rng(seed)
    plans = [plan(preset, PlanRequest(flops=float(c))) for c in np.logspace(19, 23, 5)]
    columns = []
    for role in form.roles:
        centre = np.array([getattr(p, role) for p in plans for _ in range(24)])
        columns.append(centre * np.exp(rng.uniform(-math.log(4), math.log(4), centre.size)))
    return tuple(columns)


def _form_case(family_name: str, form_name: str) -> tuple[Family, FitForm, Law, Preset]:
    family, form = REGISTRY[family_name], fit_form(form_name)
    preset = _truth_preset(family, form)
    assert preset is not None and isinstance(preset.law, Law)
    return family, form, preset.law, preset


@pytest.mark.parametrize(("family_name", "form_name"), FORM_CASES)
def test_fit_recovers_known_parameters(family_name, form_name):
    from scalecli.fitting.parametric import fit

    family, form, law, preset = _form_case(family_name, form_name)
    truth = {k: law.params[k] for k in form.natural}
    X = _synthetic_inputs(preset, form, seed=3)
    loss = form.predict(truth, X)
    result = fit(form_name, X, loss)
    assert result.objective < 1e-14
    np.testing.assert_allclose(result.predict(X), loss, rtol=1e-7)
    kinds = {p.name: p.kind for p in family.params}
    for name, value in truth.items():
        if kinds.get(name) == "loss":  # E may sit at its bound (0): absolute, in the loss's units
            assert result.params[name] == pytest.approx(value, abs=1e-4), name
        else:
            assert result.params[name] == pytest.approx(value, rel=1e-3), name


# The forms whose inputs are the law's own (params with tokens, or with steps at the preset's batch).
# kaplan_steps is not among them: eq. 1.6 is in S_min, the steps at the critical batch, which the
# variant's prepare hook computes from the data (its value is checked against Table 3 in
# test_fit_parametric.py).
SURFACE_FORMS = [
    (f, n)
    for f, n in FORM_CASES
    if FORMS[n].roles in (("params", "tokens"), ("params", "steps")) and n != "kaplan_steps"
]


@pytest.mark.parametrize(("family_name", "form_name"), SURFACE_FORMS)
def test_fit_form_is_the_laws_loss_surface(family_name, form_name):
    _, form, law, preset = _form_case(family_name, form_name)
    cond = conditions_for(preset, PlanRequest(flops=1e22))
    law = law.for_conditions(cond)
    for n, d in ((1e8, 1e10), (1e9, 3e10), (7e10, 1e12)):
        if form.roles[1] == "tokens":
            x, expected = d, law.predict(n, d, None, cond)["loss"]
        else:
            x = d / 1e6  # steps of a million tokens
            expected = law.predict(n, None, x, cond)["loss"]
        assert float(form.predict(law.params, (n, x))) == pytest.approx(expected, rel=1e-9)


# ----- serialisation ---------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES)
def test_preset_survives_the_yaml_scale_fit_writes(case):
    preset = _load(case)
    back = parse_preset(render.preset_yaml(preset.raw), "round trip")
    assert back.family == preset.family and back.name == preset.name
    assert isinstance(back.law, Law) and isinstance(preset.law, Law)
    assert back.law.params == preset.law.params
    assert back.batch == preset.batch
    assert back.draws == preset.draws
    a, b = plan(preset, PlanRequest(flops=1e22)), plan(back, PlanRequest(flops=1e22))
    assert (a.params, a.tokens, a.steps, a.loss) == (b.params, b.tokens, b.steps, b.loss)


# ----- the test family end to end: fit a CSV, write the preset, plan with it -----------------------
def test_test_family_fits_and_plans_through_the_cli(cli, tmp_path):
    preset = _load(TEST_FAMILY_CASE)
    assert isinstance(preset.law, Law)
    X = _synthetic_inputs(preset, RECOMPUTE_FORM, seed=5)
    loss = RECOMPUTE_FORM.predict(preset.law.params, X)
    csv = tmp_path / "runs.csv"
    csv.write_text(
        "params,tokens,loss\n"
        + "".join(f"{n:.17g},{d:.17g},{y:.17g}\n" for n, d, y in zip(*X, loss, strict=True))
    )
    out = tmp_path / "recompute.yaml"
    fitted = cli("fit", str(csv), "--law", "recompute", "--out", str(out), "--format", "json")
    assert fitted.code == 0, fitted.err
    params = fitted.json()["law"]["params"]
    for name, value in preset.law.params.items():
        assert params[name] == pytest.approx(value, rel=1e-3), name
    # the fitted range is in the family's own FLOPs (8·N·D)
    lo, hi = fitted.json()["law"]["fitted_range"]["flops"]
    assert lo == pytest.approx(float(np.min(8 * X[0] * X[1])), rel=1e-9)
    planned = cli("plan", "--flops", "1e22", "--law", str(out), "--format", "json")
    assert planned.code == 0, planned.err
    row = planned.json()["plans"][0]
    assert row["params"] == pytest.approx(math.sqrt(5e7 * 1e22 / (8 * 1e9)), rel=1e-3)
    schema = cli("presets", "--schema")
    assert '"recompute"' in schema.out
