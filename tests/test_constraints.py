"""Inference demand, data limits, caps, hardware cost and sweeps (issue 3)."""

import csv
import io
import math

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from scalecli import files, presets
from scalecli.errors import InfeasibleError
from scalecli.planner import PlanRequest, plan
from scalecli.predict import predict
from scalecli.sweep import sweep

SARDANA_YAML = """\
name: sardana2024
family: chinchilla
params: {E: 1.69, A: 406.4, B: 410.7, alpha: 0.336, beta: 0.283}
source:
  citation: "Sardana et al. 2024, Beyond Chinchilla-Optimal"
  arxiv: "2401.00448"
  where: "utils.ChinchillaConstants of the official repository (REFERENCE.md §4.3)"
"""


@pytest.fixture
def sardana_file(tmp_path):
    path = tmp_path / "sardana.yaml"
    path.write_text(SARDANA_YAML)
    return str(path)


def test_sardana_readme_loss(cli, sardana_file):
    # REFERENCE.md §4.4: model_calculator.py --model 70e9 --data 1e12 -> 1.947273
    r = cli("predict", "--law", sardana_file, "--params", "70e9", "--tokens", "1e12", "--format", "json")
    assert r.code == 0, r.err
    assert r.json()["predictions"][0]["loss"] == pytest.approx(1.947273, rel=1e-6)


def test_sardana_inference_aware_plan(cli, sardana_file):
    # REFERENCE.md §4.4 / §10 item 5: loss 1.947, 2e12 inference tokens
    r = cli(
        "plan",
        "--law",
        sardana_file,
        "--target-loss",
        "1.947",
        "--inference-tokens",
        "2e12",
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    p = r.json()["plans"][0]
    assert p["params"] == pytest.approx(2.4184e10, rel=1e-4)
    assert p["tokens"] == pytest.approx(2.6571e12, rel=1e-4)
    assert p["inference_flops"] == pytest.approx(2 * p["params"] * 2e12, rel=1e-12)
    assert p["total_flops"] == pytest.approx(4.8228e23, rel=1e-4)
    comp = p["comparison"]
    assert comp["params"] == pytest.approx(3.4081e10, rel=1e-4)  # Chinchilla-style model
    assert comp["tokens"] == pytest.approx(1.8103e12, rel=1e-4)
    assert comp["total_flops"] == pytest.approx(5.0651e23, rel=1e-4)
    assert comp["total_flops_ratio"] == pytest.approx(0.9522, abs=5e-5)
    assert comp["params_ratio"] == pytest.approx(0.7096, abs=5e-5)
    assert comp["tokens_ratio"] == pytest.approx(1.4677, abs=5e-5)


def test_sardana_13b_example_overhead():
    # REFERENCE.md §4.4: 13B Chinchilla-style, 2T inference tokens -> 6.969e9 params,
    # total 9.6966e22 -> 8.0049e22, saving 1.69e22 (17.4%)
    preset = presets.parse_preset(SARDANA_YAML, "test")
    law = preset.law
    tokens = (13e9 / law.G) ** (1 / law.a) / 13e9  # Chinchilla-optimal D for N = 13B (§2.2)
    assert tokens == pytest.approx(5.765e11, rel=1e-3)
    pred = predict(preset, 13e9, tokens=tokens, inference_tokens=2e12)
    assert pred.loss == pytest.approx(2.04528, rel=1e-5)
    assert pred.lifetime_flops == pytest.approx(9.6966e22, rel=1e-4)
    assert pred.optimal_lifetime_flops == pytest.approx(8.0049e22, rel=1e-4)
    saving = pred.lifetime_flops - pred.optimal_lifetime_flops
    assert saving == pytest.approx(1.69e22, rel=2e-3)
    assert saving / pred.lifetime_flops == pytest.approx(0.174, abs=5e-4)
    best = plan(preset, PlanRequest(target_loss=pred.loss, inference_tokens=2e12))
    assert best.params == pytest.approx(6.969e9, rel=1e-3)
    assert best.tokens == pytest.approx(1.248e12, rel=1e-3)


def test_inference_with_a_budget_spends_the_lifetime_budget():
    preset = presets.load("besiroglu2024")
    p = plan(preset, PlanRequest(flops=1e24, inference_tokens=5e12))
    assert p.total_flops == pytest.approx(1e24, rel=1e-9)
    assert p.train_flops + p.inference_flops == pytest.approx(p.total_flops, rel=1e-12)
    free = plan(preset, PlanRequest(flops=1e24))
    assert p.params < free.params and p.tokens_per_param > free.tokens_per_param
    assert p.comparison["total_flops_ratio"] <= 1 + 1e-9


@settings(max_examples=30, deadline=None)
@given(st.floats(min_value=20, max_value=26), st.floats(min_value=9, max_value=14))
def test_serving_aware_plan_never_costs_more_than_the_baseline(log_c, log_t):
    p = plan(presets.load("hoffmann2022"), PlanRequest(flops=10**log_c, inference_tokens=10**log_t))
    assert p.comparison["total_flops_ratio"] <= 1 + 1e-9


def test_inference_budget_too_small_is_infeasible():
    with pytest.raises(InfeasibleError, match="inference"):
        plan(presets.load("hoffmann2022"), PlanRequest(flops=1e10, inference_tokens=1e12))


# ----- data limits (Muennighoff, REFERENCE §5) ---------------------------------------------------
def test_muennighoff_readme_loss_through_the_cli(cli):
    # REFERENCE.md §5.3: scaling_law(6.34e9, 242e9, 25e9) = 2.2256440889984477
    r = cli(
        "predict",
        "--law",
        "muennighoff2023",
        "--params",
        "6.34e9",
        "--tokens",
        "242e9",
        "--unique-tokens",
        "25e9",
        "--format",
        "json",
    )
    assert r.json()["predictions"][0]["loss"] == pytest.approx(2.2256440889984477, rel=1e-12)


def test_muennighoff_optimal_allocation_with_repeats():
    # REFERENCE.md §5.3: optimal_allocation(1e22, 25e9) -> 7.0224e9 params, 2.37337e11 tokens,
    # 9.4935 epochs, loss 2.222129 (the repo grid-searches 500 multipliers; we solve continuously)
    p = plan(presets.load("muennighoff2023"), PlanRequest(flops=1e22, unique_tokens=25e9))
    assert p.params == pytest.approx(7.0224e9, rel=1e-3)
    assert p.tokens == pytest.approx(2.37337e11, rel=1e-3)
    assert p.tokens / 25e9 == pytest.approx(9.4935, rel=1e-3)
    assert p.loss == pytest.approx(2.222129, rel=1e-6)
    assert p.binding == ["unique_tokens"]
    # without the data limit: N = 9.218e9, D = 1.808e11 (REFERENCE §5.3)
    free = plan(presets.load("muennighoff2023"), PlanRequest(flops=1e22))
    assert free.params == pytest.approx(9.218e9, rel=1e-3)
    assert free.tokens == pytest.approx(1.808e11, rel=1e-3)


def test_plenty_of_unique_data_changes_nothing():
    free = plan(presets.load("muennighoff2023"), PlanRequest(flops=1e22))
    rich = plan(presets.load("muennighoff2023"), PlanRequest(flops=1e22, unique_tokens=1e12))
    assert rich.params == free.params and rich.tokens == free.tokens and rich.binding == []


def test_unique_tokens_is_a_hard_cap_without_a_repeat_model():
    preset = presets.load("hoffmann2022")
    free = plan(preset, PlanRequest(flops=1e23))
    capped = plan(preset, PlanRequest(flops=1e23, unique_tokens=5e11))
    assert capped.tokens == pytest.approx(5e11, rel=1e-9)
    assert capped.binding == ["unique_tokens"]
    assert any("hard cap" in n for n in capped.notes)
    assert capped.loss > free.loss
    repeats = plan(preset, PlanRequest(flops=1e23, unique_tokens=5e11, allow_repeats=True))
    assert repeats.tokens == free.tokens and repeats.binding == []
    assert any("--allow-repeats" in n for n in repeats.notes)


def test_dynamics_finite_data_term(tmp_path):
    # REFERENCE.md §6.2: the data bottleneck P^-min(a-1, 2b) adds A_P·P^-alpha to the loss
    preset = presets.parse_preset(
        "family: dynamics\nname: d\nparams: {a: 2, b: 1, A_N: 1, A_S: 1, E: 0, A_P: 3}\n"
        "batch: {rule: fixed, tokens: 1}\n",
        "t",
    )
    free = plan(preset, PlanRequest(flops=6e12))
    limited = plan(preset, PlanRequest(flops=6e12, unique_tokens=1e4))
    assert limited.params == free.params  # the term does not move the allocation
    assert limited.loss - free.loss == pytest.approx(3 * 1e4**-1.0, rel=1e-9)


# ----- caps ------------------------------------------------------------------------------------
CAPS = [("max_params", "params"), ("max_tokens", "tokens"), ("max_steps", "steps")]


@pytest.mark.parametrize("name", ["hoffmann2022", "besiroglu2024", "kaplan2020", "bordelon2024"])
@pytest.mark.parametrize("cap, field", CAPS)
def test_each_cap_binds_when_it_should_and_not_otherwise(name, cap, field):
    preset = presets.load(name)
    free = plan(preset, PlanRequest(flops=1e23))
    loose = plan(preset, PlanRequest(flops=1e23, **{cap: getattr(free, field) * 1.5}))
    assert loose.binding == []
    for f in ("params", "tokens", "steps", "loss"):
        assert getattr(loose, f) == getattr(free, f)
    tight = plan(preset, PlanRequest(flops=1e23, **{cap: getattr(free, field) * 0.5}))
    assert tight.binding == [cap]
    assert getattr(tight, field) == pytest.approx(getattr(free, field) * 0.5, rel=1e-7)
    assert tight.loss > free.loss
    assert tight.train_flops == pytest.approx(1e23, rel=1e-9)


def test_tokens_cap_with_a_compute_dependent_batch_leaves_budget_unused(tmp_path):
    # A steps law whose batch grows with C (DeepSeek's B(C), Bi et al. eq. 1): with tokens capped,
    # a smaller budget means a smaller batch and so more steps, a lower loss; the plan says the
    # rest of the budget is unused.
    path = tmp_path / "steps.yaml"
    path.write_text(
        "name: steps\nfamily: dynamics\nparams: {a: 2, b: 1, A_N: 1, A_S: 1, E: 0}\n"
        "batch: {rule: deepseek2024}\n"
    )
    preset = presets.load(str(path))
    free = plan(preset, PlanRequest(flops=1e23))
    tight = plan(preset, PlanRequest(flops=1e23, max_tokens=free.tokens * 0.5))
    assert tight.binding == ["max_tokens"] and tight.loss > free.loss
    assert tight.train_flops < 1e23 and any("unused" in n for n in tight.notes)


def test_two_caps_that_leave_budget_unspent():
    p = plan(presets.load("hoffmann2022"), PlanRequest(flops=1e23, max_params=1e9, max_tokens=1e10))
    assert p.params == 1e9 and p.tokens == pytest.approx(1e10)
    assert sorted(p.binding) == ["max_params", "max_tokens"]
    assert p.train_flops == pytest.approx(6e19)
    assert any("unused" in n for n in p.notes)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(target_loss=2.1, max_params=1e8), "max_params"),
        (dict(target_loss=2.1, max_tokens=1e9), "max_tokens"),
        (dict(target_loss=2.1, max_steps=100, batch_tokens=4e6), "max_steps"),
        (dict(target_loss=2.1, unique_tokens=1e9), "unique_tokens"),
        (dict(target_loss=2.1, max_params=5e9, max_tokens=1e11), "max_tokens"),
    ],
)
def test_infeasible_caps_exit_3_naming_the_cap(cli, kwargs, fragment):
    with pytest.raises(InfeasibleError, match=fragment):
        plan(presets.load("hoffmann2022"), PlanRequest(**kwargs))
    args = ["plan", "--law", "hoffmann2022"]
    for k, v in kwargs.items():
        args += [f"--{k.replace('_', '-')}", str(v)]
    r = cli(*args)
    assert r.code == 3 and fragment in r.err and r.err.startswith("error:")


def test_target_loss_caps_bind():
    preset = presets.load("hoffmann2022")
    free = plan(preset, PlanRequest(target_loss=2.1))
    p = plan(preset, PlanRequest(target_loss=2.1, max_params=free.params / 2))
    assert p.binding == ["max_params"] and p.params == pytest.approx(free.params / 2, rel=1e-9)
    assert p.loss == pytest.approx(2.1, rel=1e-9) and p.train_flops > free.train_flops
    p = plan(preset, PlanRequest(target_loss=2.1, max_tokens=free.tokens / 2))
    assert p.binding == ["max_tokens"] and p.tokens == pytest.approx(free.tokens / 2, rel=1e-7)


# ----- hardware and money -----------------------------------------------------------------------
def _peak(name: str, precision: str = "bf16") -> float:
    text = (files.shipped_dir() / "hardware.yaml").read_text()
    return float(yaml.safe_load(text)["accelerators"][name]["peak_flops"][precision])


def test_gpu_hours_from_first_principles(cli):
    # issue 3: 1e23 FLOP on H100 at 40% MFU = 1e23 / (peak·0.4) / 3600 GPU-hours
    expected = 1e23 / (_peak("H100") * 0.4) / 3600
    r = cli(
        "plan",
        "--flops",
        "1e23",
        "--law",
        "hoffmann2022",
        "--gpu",
        "H100",
        "--mfu",
        "0.4",
        "--gpus",
        "1000",
        "--usd-per-gpu-hour",
        "2",
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    p = r.json()["plans"][0]
    assert p["gpu_hours"] == pytest.approx(expected, rel=1e-12)
    assert p["days"] == pytest.approx(expected / 1000 / 24, rel=1e-12)
    assert p["cost_usd"] == pytest.approx(expected * 2, rel=1e-12)


def test_budget_in_gpu_hours_and_dollars(cli):
    peak = _peak("MI300X")
    r = cli(
        "plan",
        "--gpu-hours",
        "1M",
        "--gpu",
        "mi300x",
        "--mfu",
        "0.35",
        "--law",
        "besiroglu2024",
        "--format",
        "json",
    )
    p = r.json()["plans"][0]
    assert p["train_flops"] == pytest.approx(1e6 * 3600 * peak * 0.35, rel=1e-12)
    assert p["gpu_hours"] == pytest.approx(1e6, rel=1e-12)
    r = cli(
        "plan",
        "--budget-usd",
        "2M",
        "--usd-per-gpu-hour",
        "2",
        "--gpu",
        "MI300X",
        "--mfu",
        "0.35",
        "--law",
        "besiroglu2024",
        "--format",
        "json",
    )
    assert r.json()["plans"][0]["cost_usd"] == pytest.approx(2e6, rel=1e-12)


def test_inference_gpu_hours_are_counted():
    from scalecli.compute import make_hardware

    hw = make_hardware({"gpu": "H100", "mfu": 0.5, "precision": "fp8"})
    p = plan(presets.load("hoffmann2022"), PlanRequest(flops=1e23, inference_tokens=1e12))
    p.add_costs(hw)
    sustained = _peak("H100", "fp8") * 0.5  # serving defaults to the training hardware
    assert p.serve_gpu_hours == pytest.approx(p.inference_flops / sustained / 3600)
    assert p.train_gpu_hours == pytest.approx(p.train_flops / sustained / 3600)
    assert p.gpu_hours == pytest.approx(p.total_flops / sustained / 3600)
    assert any("serving priced on the training GPU, MFU" in n for n in p.notes)


def test_training_and_serving_costs_are_apart(cli):
    # issue 10 item 1: training on H100 at MFU 0.4 and $2.5, serving on MI300X at MFU 0.3 and $2;
    # each GPU-hour figure is FLOPs / (peak x MFU) / 3600 with its own peak (presets/hardware.yaml)
    args = ["plan", "--target-loss", "2.0", "--inference-tokens", "5e12", "--law", "besiroglu2024"]
    args += ["--gpu", "H100", "--mfu", "0.4", "--usd-per-gpu-hour", "2.5", "--gpus", "1024"]
    args += [
        "--serve-gpu",
        "MI300X",
        "--serve-mfu",
        "0.3",
        "--serve-usd-per-gpu-hour",
        "2",
        "--format",
        "json",
    ]
    p = cli(*args).json()["plans"][0]
    train_hours = p["train_flops"] / (_peak("H100", "bf16") * 0.4) / 3600
    serve_hours = p["inference_flops"] / (_peak("MI300X", "bf16") * 0.3) / 3600
    assert p["train_gpu_hours"] == pytest.approx(train_hours, rel=1e-12)
    assert p["serve_gpu_hours"] == pytest.approx(serve_hours, rel=1e-12)
    assert p["train_cost_usd"] == pytest.approx(2.5 * train_hours, rel=1e-12)
    assert p["serve_cost_usd"] == pytest.approx(2.0 * serve_hours, rel=1e-12)
    assert p["cost_usd"] == pytest.approx(p["train_cost_usd"] + p["serve_cost_usd"], rel=1e-12)
    assert p["days"] == pytest.approx(train_hours / 1024 / 24, rel=1e-12)  # training only, on 1,024 GPUs
    table = cli(*args[:-2]).out
    assert "Training cost (H100 bf16 at MFU 0.4, $2.5/GPU-hour)" in table
    assert "Serving cost, lifetime (MI300X bf16 at MFU 0.3, $2/GPU-hour)" in table
    assert "days on 1,024 GPUs" in table


def test_budget_in_days_on_k_gpus(cli):
    # --days D --gpus K: C = D x 24 x 3600 x K x peak x MFU
    args = ["--days", "30", "--gpus", "1024", "--gpu", "H100", "--mfu", "0.4", "--law", "besiroglu2024"]
    p = cli("plan", *args, "--format", "json").json()["plans"][0]
    assert p["train_flops"] == pytest.approx(30 * 24 * 3600 * 1024 * _peak("H100", "bf16") * 0.4, rel=1e-12)
    assert p["days"] == pytest.approx(30.0, rel=1e-9)
    r = cli("plan", "--days", "30", "--gpu", "H100", "--mfu", "0.4")
    assert r.code == 2 and "--days needs --gpus" in r.err


def test_every_accelerator_has_a_source():
    from scalecli.compute import hardware

    table = hardware()
    assert {"A100", "H100", "H200", "B200", "MI300X", "TPU-v5p"} <= set(table)
    for acc in table.values():
        assert acc.source.get("url") and acc.source.get("where") and acc.source.get("status")
        assert acc.peak_flops["bf16"] > 0


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--gpu", "H100"], "--mfu"),
        (["--mfu", "0.4"], "needs --gpu"),
        (["--gpu", "H100", "--mfu", "40"], "fraction"),
        (["--gpu", "H1000", "--mfu", "0.4"], "did you mean"),
        (["--gpu", "A100", "--mfu", "0.4", "--precision", "fp8"], "no fp8 peak"),
        (["--gpu", "H100", "--mfu", "0.4", "--gpus", "0"], "--gpus"),
        # issue 10 item 2: every hardware option needs --gpu, --gpus and the serving ones too
        (["--gpus", "8"], "--gpus needs --gpu"),
        (["--usd-per-gpu-hour", "2"], "--usd-per-gpu-hour needs --gpu"),
        (["--serve-gpu", "H100"], "--serve-gpu needs --gpu"),
        (["--gpu", "H100", "--mfu", "0.4", "--serve-mfu", "3"], "--serve-mfu must be a fraction"),
    ],
)
def test_hardware_errors(cli, args, fragment):
    r = cli("plan", "--flops", "1e23", *args)
    assert r.code == 2 and fragment in r.err


def test_budget_errors(cli):
    r = cli("plan", "--gpu-hours", "1000")
    assert r.code == 2 and "--gpu" in r.err
    r = cli("plan", "--budget-usd", "1000", "--gpu", "H100", "--mfu", "0.4")
    assert r.code == 2 and "--usd-per-gpu-hour" in r.err
    r = cli("plan", "--flops", "1e23", "--gpu-hours", "1000", "--gpu", "H100", "--mfu", "0.4")
    assert r.code == 2 and "one budget" in r.err


# ----- sweeps -------------------------------------------------------------------------------------
def test_sweep_is_vectorised_and_matches_plans():
    budgets = [1e19, 1e21, 1e23, 1e25]
    for name in ["hoffmann2022", "besiroglu2024", "kaplan2020", "kaplan2020-frontier", "bordelon2024"]:
        s = sweep(presets.load(name), budgets)
        assert s.method in ("closed form", "empirical frontier")
        for i, c in enumerate(budgets):
            p = plan(presets.load(name), PlanRequest(flops=c))
            assert s.params[i] == pytest.approx(p.params, rel=1e-12)
            assert s.steps[i] == pytest.approx(p.steps, rel=1e-9)
            assert s.loss[i] == pytest.approx(p.loss, rel=1e-12)


def test_sweep_cli(cli):
    r = cli(
        "sweep",
        "--flops-from",
        "1e19",
        "--flops-to",
        "1e25",
        "--points",
        "7",
        "--law",
        "hoffmann2022",
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    data = r.json()
    assert data["flops"] == pytest.approx([10.0**k for k in range(19, 26)], rel=1e-12)
    hoffmann = next(s for s in data["sweeps"] if s["law"] == "hoffmann2022")
    # REFERENCE.md §2.6 rounded rows
    assert hoffmann["params"][2] == pytest.approx(1.8242e9, rel=1e-4)
    assert hoffmann["params"][4] == pytest.approx(1.4598e10, rel=1e-4)
    assert hoffmann["params"][6] == pytest.approx(1.1682e11, rel=1e-4)
    r = cli(
        "sweep",
        "--flops-from",
        "1e19",
        "--flops-to",
        "1e25",
        "--points",
        "3",
        "--law",
        "kaplan2020",
        "--format",
        "csv",
    )
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert len(rows) == 3 and float(rows[2]["params"]) == pytest.approx(1.0602e12, rel=1e-4)  # §1.7
    for bad, fragment in [(["--points", "1"], "at least 2"), (["--flops-to", "1e18"], "must be above")]:
        args = {"--flops-from": "1e19", "--flops-to": "1e25"}
        r = cli("sweep", *[x for kv in args.items() for x in kv], *bad)
        assert r.code == 2 and fragment in r.err


def test_sweep_plot(cli, tmp_path):
    pytest.importorskip("matplotlib", reason="the plot extra is not installed")
    out = tmp_path / "alloc.png"
    r = cli("sweep", "--flops-from", "1e19", "--flops-to", "1e25", "--plot", str(out))
    assert r.code == 0, r.err
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    before = out.read_bytes()
    r = cli("sweep", "--flops-from", "1e19", "--flops-to", "1e25", "--plot", str(out))
    assert r.code == 2 and "--force" in r.err and out.read_bytes() == before
    r = cli("sweep", "--flops-from", "1e19", "--flops-to", "1e25", "--plot", str(out), "--force")
    assert r.code == 0


def test_kaplan_steps_cap_uses_the_law_batch():
    p = plan(presets.load("kaplan2020"), PlanRequest(flops=1e23, max_steps=2e4))
    assert p.steps == pytest.approx(2e4, rel=1e-7) and p.binding == ["max_steps"]
    assert p.tokens == pytest.approx(p.steps * p.batch_tokens, rel=1e-9)
    kaplan = presets.load("kaplan2020").law
    assert p.batch_tokens == pytest.approx(float(kaplan.critical_batch(p.loss)), rel=1e-9)
    assert math.isfinite(p.loss)


def test_kaplan_predict_with_tokens_uses_the_planning_law():
    # REFERENCE §1.7 (convention B): a run of N params on D tokens at the critical batch spends
    # C = 6·N·D, and its loss is the plan's L(N, C). At the 1e21 optimum (N = 1.9978e9,
    # D = 8.343e10, L = 2.4511) predict --tokens must give that loss.
    pred = predict(presets.load("kaplan2020"), 1.9978e9, tokens=8.343e10)
    assert pred.loss == pytest.approx(2.4511, rel=2e-4)
    assert pred.steps == pytest.approx(29812, rel=1e-3)
    assert pred.batch_tokens == pytest.approx(2.798e6, rel=1e-3)
    assert abs(pred.overhead_pct) < 0.01


# ----- issue 11: caps in days and dollars are constraint objects on the training hardware ----------
def _hardware_request(**kwargs):
    from scalecli import app

    values = {"gpu": "H100", "mfu": 0.4, "gpus": 64, "usd_per_gpu_hour": 2.0, **kwargs}
    hardware = app.make_hardware(values)
    return app.plan_request(values, hardware)


def test_max_days_caps_training_flops_at_the_budget_it_allows():
    # 10 days on 64 H100 at 40% MFU is 10·24·64·3600·peak·0.4 FLOPs (first principles); under a
    # larger budget the plan is the compute-optimal plan of that many FLOPs (Hoffmann eq. 4)
    cap = 10 * 24 * 64 * 3600 * _peak("H100") * 0.4
    preset = presets.load("besiroglu2024")
    p = plan(preset, _hardware_request(flops=1e24, max_days=10))
    assert p.binding == ["max_days"]
    assert p.train_flops == pytest.approx(cap, rel=1e-12)
    free = plan(preset, PlanRequest(flops=cap))
    assert free.method == "closed form"
    assert p.params == pytest.approx(free.params, rel=1e-6)
    assert p.loss == pytest.approx(free.loss, rel=1e-9)
    assert any("unused" in n for n in p.notes)
    # a cap above the budget does not bind and leaves the closed form in charge
    loose = plan(preset, _hardware_request(flops=1e21, max_days=10))
    assert loose.binding == [] and loose.method == "closed form"


def test_max_train_cost_caps_the_training_bill():
    # $200k at $2 per H100-hour is 1e5 GPU-hours of training
    cap = 1e5 * 3600 * _peak("H100") * 0.4
    p = plan(presets.load("besiroglu2024"), _hardware_request(flops=1e24, max_train_cost_usd=2e5))
    assert p.binding == ["max_train_cost_usd"]
    assert p.train_flops == pytest.approx(cap, rel=1e-12)


def test_flops_cap_in_target_mode_bounds_sizes_on_both_sides():
    preset = presets.load("besiroglu2024")
    free = plan(preset, PlanRequest(target_loss=2.1))
    days = free.train_flops / (24 * 64 * 3600 * _peak("H100") * 0.4)
    # room to spare: the unconstrained optimum stands
    roomy = plan(preset, _hardware_request(target_loss=2.1, max_days=2 * days))
    assert roomy.binding == [] and roomy.params == pytest.approx(free.params, rel=1e-9)
    # too little time: no size reaches the target (exit 3 naming the cap)
    with pytest.raises(InfeasibleError, match="max_days"):
        plan(preset, _hardware_request(target_loss=2.1, max_days=0.5 * days))
    # with serving demand the lifetime optimum is a smaller model trained longer (Sardana et al.);
    # a cap just above the training optimum's time makes the cap bind at the edge of the sizes allowed
    serving = plan(preset, PlanRequest(target_loss=2.1, inference_tokens=1e13))
    assert serving.train_flops > free.train_flops
    capped = plan(preset, _hardware_request(target_loss=2.1, inference_tokens=1e13, max_days=1.1 * days))
    assert capped.binding == ["max_days"]
    assert capped.train_flops == pytest.approx(1.1 * free.train_flops, rel=1e-6)
    assert capped.loss == pytest.approx(2.1, rel=1e-9)
    assert serving.params < capped.params < free.params


def test_hardware_caps_need_their_hardware(cli):
    r = cli("plan", "--flops", "1e23", "--max-days", "10")
    assert r.code == 2 and "--max-days needs --gpus" in r.err
    r = cli("plan", "--flops", "1e23", "--max-days", "10", "--gpus", "8")
    assert r.code == 2 and "--gpus needs --gpu" in r.err
    r = cli("plan", "--flops", "1e23", "--max-train-cost-usd", "1M", "--gpu", "H100", "--mfu", "0.4")
    assert r.code == 2 and "--max-train-cost-usd needs --usd-per-gpu-hour" in r.err
    args = ["plan", "--target-loss", "1.95", "--law", "besiroglu2024", "--gpu", "H100", "--mfu", "0.4"]
    r = cli(*args, "--gpus", "8", "--max-days", "1")
    assert r.code == 3 and "raise --max-days or the target" in r.err
