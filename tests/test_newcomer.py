"""A newcomer's first hour (issue 10): the contract with scripts and CI, help, calculator mode,
the options table and the application layer."""

from __future__ import annotations

import inspect

import pytest

from scalecli import app, options
from scalecli.errors import ExitStatus


# ----- item 6: exit codes as documented ------------------------------------------------------------
def test_debug_is_accepted_anywhere(cli):
    r = cli("plan", "--flops", "1e23", "--law", "besiroglu2024", "--debug", "--format", "json")
    assert r.code == 0, r.err
    r = cli("--debug", "plan", "--flops", "1e23", "--law", "besiroglu2024", "--format", "json")
    assert r.code == 0, r.err


def test_internal_errors_have_their_own_exit_code(cli, monkeypatch):
    from scalecli import planner

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(planner, "_plan", broken)  # a bug deep in the planner
    monkeypatch.setattr(planner, "plan", lambda *a, **k: (_ for _ in ()).throw(KeyError("x")))
    r = cli("plan", "--flops", "1e23", "--law", "besiroglu2024")
    assert r.code == ExitStatus.INTERNAL == 70
    assert r.err.startswith("error: internal error (KeyError") and "report it" in r.err
    assert r.err.count("\n") == 1


def test_a_failed_check_says_so_on_stderr(cli, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("law: besiroglu2024\nplan: {flops: 1e23}\nassert: {max_loss: 1.5, max_params: 1T}\n")
    r = cli("check", str(spec))
    assert r.code == ExitStatus.CHECK_FAILED == 1
    assert r.err == "error: 1 of 2 assertions failed\n"


# ----- item 7: help that reads like a manual -------------------------------------------------------
@pytest.mark.parametrize("command", ["plan", "predict", "sweep", "fit", "check", "hardware", "presets"])
def test_help_examples_one_per_line(cli, command):
    r = cli(command, "-h")
    assert r.code == 0
    examples = [line.strip() for line in r.out.splitlines() if line.strip().startswith("scale ")]
    assert examples, r.out
    for line in examples:
        assert line.count("scale ") == 1, line  # never two examples run together


def test_metavars_name_the_kind(cli):
    out = cli("plan", "--help").out
    for shown in (
        "--flops FLOPS",
        "--max-params PARAMS",
        "--max-tokens TOKENS",
        "--max-steps STEPS",
        "--law LAW",
    ):
        assert shown in out
    assert "<str>" not in out and "TEXT" not in out
    assert "--params PARAMS" in cli("predict", "--help").out


def test_command_summaries_are_not_cut(cli):
    out = cli("--help").out
    commands = out.split("Commands:")[1]
    assert "..." not in commands and "…" not in commands
    assert "Compute-optimal model size, tokens, steps and loss." in out


def test_format_is_case_insensitive(cli):
    assert cli("plan", "--flops", "1e21", "--law", "besiroglu2024", "--format", "JSON").json()["plans"]
    assert cli("hardware", "--format", "Json").json()["accelerators"]


def test_completion_offers_laws_formats_and_gpus():
    from scalecli.cli import _complete_format, _complete_gpu, _complete_law

    assert "besiroglu2024" in _complete_law("bes") and "chinchilla" in _complete_law("chin")
    assert _complete_format("j") == ["json"]
    assert _complete_gpu("h1") == ["H100"]


def test_scale_yaml_applies_to_every_command(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scale.yaml").write_text("law: besiroglu2024\nformat: json\nflops: 1e21\nmax_params: 1B\n")
    assert [p["law"] for p in cli("plan").json()["plans"]] == ["besiroglu2024"]
    pred = cli("predict", "--params", "7B", "--tokens", "1T").json()["predictions"]
    assert [p["law"] for p in pred] == ["besiroglu2024"]  # law and format apply; the plan's cap does not
    sweep = cli("sweep", "--flops-from", "1e19", "--flops-to", "1e21", "--points", "3").json()
    assert [s["law"] for s in sweep["sweeps"]] == ["besiroglu2024"]
    assert cli("hardware").json()["accelerators"]  # format applies
    assert cli("presets").json()["presets"]


# ----- item 12: calculator mode --------------------------------------------------------------------
def test_predict_fills_in_the_third_of_params_tokens_flops(cli):
    # C = 6·N·D (REFERENCE §2.2): any two give the third
    by_tokens = cli(
        "predict", "--law", "hoffmann2022", "--params", "70B", "--tokens", "1.4T", "--format", "json"
    )
    by_flops = cli(
        "predict", "--law", "hoffmann2022", "--params", "70B", "--flops", "5.88e23", "--format", "json"
    )
    by_size = cli(
        "predict", "--law", "hoffmann2022", "--tokens", "1.4T", "--flops", "5.88e23", "--format", "json"
    )
    a, b, c = (r.json()["predictions"][0] for r in (by_tokens, by_flops, by_size))
    assert b["tokens"] == pytest.approx(1.4e12, rel=1e-12) and c["params"] == pytest.approx(70e9, rel=1e-12)
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-12) == pytest.approx(c["loss"], rel=1e-12)
    # REFERENCE §2.2 with the rounded constants: L(70B, 1.4T) = 1.69 + 406.4/N^0.34 + 410.7/D^0.28
    assert a["loss"] == pytest.approx(1.69 + 406.4 / 70e9**0.34 + 410.7 / 1.4e12**0.28, rel=1e-12)
    r = cli("predict", "--law", "hoffmann2022", "--params", "70B", "--tokens", "1.4T", "--flops", "1e23")
    assert r.code == 2 and "give two of" in r.err


# ----- item 3 and issue 11 item 4: one table of options ---------------------------------------------
def test_the_options_table_drives_cli_config_spec_and_request():
    from scalecli import check, cli, config
    from scalecli.planner import PlanRequest, request_fields

    plan_params = {
        p.name for p in inspect.signature(cli.app.registered_commands[0].callback).parameters.values()
    }
    assert {o.name for o in options.for_command("plan")} <= plan_params
    fields = set(inspect.signature(PlanRequest).parameters)
    plan_section = set(options.spec_keys("plan"))
    # every plan-section option is a request field, or a budget that becomes one (flops)
    assert plan_section - fields <= set(options.OBJECTIVES)
    # every request field the options fill is a plan option (hardware comes from the hardware ones)
    assert fields - {"hardware"} == set(request_fields(with_flops=True))
    assert set(request_fields(with_flops=True)) <= {o.name for o in options.for_command("plan")}
    schema = check.schema()["properties"]
    assert set(schema["plan"]["properties"]) == plan_section
    assert set(schema["hardware"]["properties"]) == set(options.spec_keys("hardware"))
    assert set(options.config_keys()) == {o.name for o in options.OPTIONS if o.config}
    assert config.DEFAULT_FILE == "scale.yaml"


def test_application_layer_is_what_the_cli_runs(cli):
    # REFERENCE §10 item 1, Epoch constants at 1e23
    plans = app.plan_all(app.load_laws(["besiroglu2024"]), app.plan_request({"flops": 1e23}))
    assert plans[0].params == pytest.approx(2.9446e10, rel=1e-4)
    via_cli = cli("plan", "--flops", "1e23", "--law", "besiroglu2024", "--format", "json").json()["plans"][0]
    assert via_cli["params"] == plans[0].params


# ----- item 4: a poor fit is not saved as if it were good ------------------------------------------
def _known_runs(path):
    import numpy as np

    rng = np.random.default_rng(3)
    rows = ["params,tokens,loss"]
    for n in np.geomspace(1e8, 1e10, 6):
        for ratio in (5, 10, 20, 40, 80):
            d = n * ratio
            loss = (1.8 + 500 * n**-0.35 + 2000 * d**-0.37) * np.exp(0.01 * rng.standard_normal())
            rows.append(f"{n:.6g},{d:.6g},{loss:.6f}")
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def test_unidentified_fits_warn_and_strict_refuses(cli, tmp_path):
    runs = _known_runs(tmp_path / "runs.csv")  # 30 runs of E 1.8, A 500, B 2000, alpha 0.35, beta 0.37
    good = cli("fit", runs, "--format", "json").json()
    assert good["law"]["fit"]["identified"] is True
    assert not [w for w in good["warnings"] if w.startswith("not identified")]
    se = good["standard_errors"]
    for name, truth in (("E", 1.8), ("alpha", 0.35), ("beta", 0.37)):
        assert abs(good["law"]["params"][name] - truth) < 4 * se[name], name  # the known law, within its SEs
    out = tmp_path / "small.yaml"
    r = cli("fit", runs, "--where", "params<1e9", "--out", str(out), "--format", "json")
    assert r.code == 0, r.err
    poor = r.json()
    assert poor["law"]["fit"]["identified"] is False
    issues = [w for w in poor["warnings"] if w.startswith("not identified")]
    assert any("only 3 distinct params" in w for w in issues)
    # the warning travels with the preset into every plan made with it
    notes = cli("plan", "--flops", "1e22", "--law", str(out), "--format", "json").json()["plans"][0]["notes"]
    assert any(n.startswith("fit warning: not identified") for n in notes)
    refused = tmp_path / "refused.yaml"
    r = cli("fit", runs, "--where", "params<1e9", "--strict", "--out", str(refused))
    assert r.code == 2 and "--strict refuses to write it" in r.err and not refused.exists()
