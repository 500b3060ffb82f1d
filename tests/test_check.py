"""`scale check`: every assertion passing and failing, JUnit XML, the schema, the examples."""

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def spec_file(tmp_path, spec: dict, name: str = "spec.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec))
    return str(path)


# Proposed: 70B on 1.4T under hoffmann2022 (eq. 10, REFERENCE §2.1): loss 1.9366, tokens/param 20;
# its overhead over the optimum at that loss comes from the §2.2 closed form below.
CHINCHILLA = {"params": "70B", "tokens": "1.4T"}
H100 = {"gpu": "H100", "mfu": 0.4, "gpus": 1000, "usd_per_gpu_hour": 2}


def _overhead_pct_70b() -> float:
    """REFERENCE §2.2: C(L) = 6·[(L - E)/(A·G^-alpha + B·G^beta)]^(-(alpha+beta)/(alpha·beta))."""
    E, A, B, a, b = 1.69, 406.4, 410.7, 0.34, 0.28
    loss = E + A / 70e9**a + B / 1.4e12**b
    G = (a * A / (b * B)) ** (1 / (a + b))
    optimal = 6 * ((loss - E) / (A * G**-a + B * G**b)) ** (-(a + b) / (a * b))
    return 100 * (6 * 70e9 * 1.4e12 / optimal - 1)


def _h100_hours(flops: float) -> float:
    peak = float(
        yaml.safe_load((ROOT / "presets" / "hardware.yaml").read_text())["accelerators"]["H100"][
            "peak_flops"
        ]["bf16"]
    )
    return flops / (peak * 0.4) / 3600


@pytest.mark.parametrize(
    "assertion, passing, failing",
    [
        ("max_loss", 1.94, 1.93),
        ("max_overhead_pct", _overhead_pct_70b() * 1.001, _overhead_pct_70b() * 0.999),
        ("tokens_per_param", {"min": 19, "max": 21}, {"min": 25}),
        ("max_gpu_hours", _h100_hours(5.88e23) * 1.001, _h100_hours(5.88e23) * 0.999),
        ("max_cost_usd", 2 * _h100_hours(5.88e23) * 1.001, 2 * _h100_hours(5.88e23) * 0.999),
    ],
)
def test_assertions_on_a_proposed_configuration(cli, tmp_path, assertion, passing, failing):
    base = {"law": "hoffmann2022", "proposed": CHINCHILLA, "hardware": H100}
    r = cli("check", spec_file(tmp_path, {**base, "assert": {assertion: passing}}), "--format", "json")
    assert r.code == 0, r.err + r.out
    result = r.json()["results"][0]
    assert result["passed"] and result["assertion"] == assertion
    r = cli("check", spec_file(tmp_path, {**base, "assert": {assertion: failing}}), "--format", "json")
    assert r.code == 1
    assert r.json()["passed"] is False and r.json()["failed"] == 1


def test_measured_values_are_the_published_ones(cli, tmp_path):
    spec = {
        "law": "hoffmann2022",
        "proposed": CHINCHILLA,
        "hardware": H100,
        "assert": {"max_loss": 3, "max_overhead_pct": 100, "max_gpu_hours": 1e9},
    }
    results = {
        x["assertion"]: x
        for x in cli("check", spec_file(tmp_path, spec), "--format", "json").json()["results"]
    }
    # loss of 70B x 1.4T under eq. 10 constants (REFERENCE §2.1): E + A/N^0.34 + B/D^0.28
    assert results["max_loss"]["measured"] == pytest.approx(
        1.69 + 406.4 / 70e9**0.34 + 410.7 / 1.4e12**0.28, rel=1e-12
    )
    assert results["max_gpu_hours"]["measured"] == pytest.approx(_h100_hours(6 * 70e9 * 1.4e12), rel=1e-12)
    assert results["max_overhead_pct"]["measured"] == pytest.approx(_overhead_pct_70b(), rel=1e-6)


def test_within_fitted_range(cli, tmp_path):
    # hoffmann2022 is fitted on 1.4e18 to 1.3e22 FLOPs (REFERENCE §3.1 range of the runs)
    inside = {"law": "hoffmann2022", "plan": {"flops": 1e21}, "assert": {"within_fitted_range": True}}
    assert cli("check", spec_file(tmp_path, inside)).code == 0
    outside = {"law": "hoffmann2022", "plan": {"flops": 1.3e24}, "assert": {"within_fitted_range": True}}
    r = cli("check", spec_file(tmp_path, outside), "--format", "json")
    assert r.code == 1
    assert r.json()["results"][0]["measured"] == pytest.approx(2.0, abs=1e-9)  # log10(1.3e24/1.3e22)
    no_range = {"law": "kaplan2020", "plan": {"flops": 1e21}, "assert": {"within_fitted_range": True}}
    r = cli("check", spec_file(tmp_path, no_range), "--format", "json")
    assert r.code == 1 and "no fitted compute range" in r.json()["results"][0]["detail"]


def test_max_interval_width(cli, tmp_path):
    law = tmp_path / "drawn.yaml"
    draws = [
        {"E": 1.69, "A": 406.4 * f, "B": 410.7, "alpha": 0.34, "beta": 0.28}
        for f in (0.8, 0.9, 1.0, 1.1, 1.2)
    ]
    law.write_text(
        yaml.safe_dump(
            {
                "name": "drawn",
                "family": "chinchilla",
                "params": {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28},
                "draws": draws,
            }
        )
    )
    spec = {"law": "drawn.yaml", "plan": {"flops": 1e23}, "assert": {"max_interval_width": 1.0}}
    r = cli("check", spec_file(tmp_path, spec), "--format", "json")
    assert r.code == 0, r.err
    width = r.json()["results"][0]["measured"]
    # N* ∝ G ∝ A^(1/(alpha+beta)) (REFERENCE §2.2), so each draw's N*/N is f^(1/0.62); the 5th and
    # 95th percentiles of five values interpolate linearly at positions 0.2 and 3.8
    n = [f ** (1 / 0.62) for f in (0.8, 0.9, 1.0, 1.1, 1.2)]
    lo, hi = n[0] + 0.2 * (n[1] - n[0]), n[3] + 0.8 * (n[4] - n[3])
    assert width == pytest.approx(hi - lo, rel=1e-9)
    spec["assert"] = {"max_interval_width": {"params": width * 0.99}}
    assert cli("check", spec_file(tmp_path, spec)).code == 1
    spec["law"] = "hoffmann2022"
    r = cli("check", spec_file(tmp_path, spec), "--format", "json")
    assert r.code == 1 and "no bootstrap draws" in r.json()["results"][0]["detail"]


def test_junit_xml_parses_with_the_standard_library(cli, tmp_path):
    spec = {
        "name": "ci",
        "law": ["hoffmann2022", "besiroglu2024"],
        "proposed": CHINCHILLA,
        "assert": {"max_loss": 1.95, "tokens_per_param": {"max": 15}},
    }
    junit = tmp_path / "report.xml"
    r = cli("check", spec_file(tmp_path, spec), "--junit", str(junit))
    assert r.code == 1
    root = ET.parse(junit).getroot()
    suite = root.find("testsuite")
    assert suite.get("tests") == "4" and suite.get("failures") == "3"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["max_loss", "tokens_per_param"] * 2
    failed = [c for c in cases if c.find("failure") is not None]
    assert len(failed) == 3
    assert "measured" in failed[0].find("failure").get("message")
    # refuses to overwrite without --force
    before = junit.read_bytes()
    r = cli("check", spec_file(tmp_path, spec), "--junit", str(junit))
    assert r.code == 2 and "--force" in r.err and junit.read_bytes() == before
    assert cli("check", spec_file(tmp_path, spec), "--junit", str(junit), "--force").code == 1


def test_schema_is_printed_and_validates_the_examples(cli):
    jsonschema = pytest.importorskip("jsonschema")
    r = cli("check", "--schema")
    assert r.code == 0
    schema = json.loads(r.out)
    jsonschema.Draft202012Validator.check_schema(schema)
    specs = sorted(EXAMPLES.rglob("*.yaml"))
    specs = [p for p in specs if "assert" in yaml.safe_load(p.read_text())]
    assert {p.name for p in specs} == {"7b.yaml", "7b-too-long.yaml", "serving-heavy.yaml", "check.yaml"}
    for path in specs:
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"plan": {"flops": 1e23}, "assert": {"max_los": 2}}, schema)


def test_examples_run(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert cli("check", "examples/7b.yaml").code == 0
    # the README's failing gate: 85.8% over the optimum (> 25) and 0.81 orders above the fitted range
    r = cli("check", "examples/7b-too-long.yaml", "--format", "json")
    assert r.code == 1 and r.json()["failed"] == 2
    r = cli("check", "examples/serving-heavy.yaml", "--format", "json")
    assert r.code == 0, r.err
    plans = r.json()["plans"]
    assert all(p["comparison"]["total_flops_ratio"] < 1 for p in plans)  # serving-aware beats the baseline
    # the fit-then-plan workflow, in a scratch copy
    work = tmp_path / "fit-then-plan"
    shutil.copytree(EXAMPLES / "fit-then-plan", work)
    r = cli(
        "fit",
        str(work / "runs.csv"),
        "--bootstrap",
        "100",
        "--seed",
        "0",
        "--out",
        str(work / "law.yaml"),
        "--format",
        "json",
    )
    assert r.code == 0, r.err
    p = r.json()["law"]["params"]
    # make_runs.py draws from eq. 10 (REFERENCE §2.1) with 0.5% noise
    assert p["alpha"] == pytest.approx(0.34, rel=0.1) and p["beta"] == pytest.approx(0.28, rel=0.1)
    r = cli("check", str(work / "check.yaml"), "--format", "json")
    assert r.code == 0, r.out + r.err
    assert {x["assertion"] for x in r.json()["results"]} == {
        "within_fitted_range",
        "max_interval_width",
        "max_loss",
    }


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ({"plan": {"flops": 1e23}}, "missing 'assert'"),
        ({"plan": {"flops": 1e23}, "assert": {"max_los": 2}}, "did you mean 'max_loss'"),
        ({"plan": {"flops": 1e23}, "asert": {}}, "did you mean 'assert'"),
        ({"assert": {"max_loss": 2}}, "'plan' request, a 'proposed'"),
        ({"plan": {}, "assert": {"max_loss": 2}}, "exactly one of flops"),
        ({"plan": {"flops": "lots"}, "assert": {"max_loss": 2}}, "plan.flops must be a number"),
        ({"plan": {"flops": 1e23}, "assert": {"max_overhead_pct": 5}}, "needs a 'proposed'"),
        ({"plan": {"flops": 1e23}, "assert": {"max_cost_usd": 5}}, "needs hardware"),
        (
            {"plan": {"flops": 1e23}, "assert": {"tokens_per_param": {"min": 50, "max": 10}}},
            "min is above max",
        ),
        ({"proposed": {"params": 1e9}, "assert": {"max_loss": 2}}, "exactly one of tokens or steps"),
        ({"plan": {"flops": 1e23}, "hardware": {"gpu": "H100"}, "assert": {"max_loss": 2}}, "missing 'mfu'"),
        ({"plan": {"flops": 1e23}, "assert": {"within_fitted_range": "yes"}}, "true or false"),
    ],
)
def test_bad_specs_exit_2(cli, tmp_path, spec, fragment):
    r = cli("check", spec_file(tmp_path, spec))
    assert r.code == 2 and fragment in r.err, r.err
    assert r.err.startswith("error:") and "Traceback" not in r.err


def test_infeasible_spec_exits_3(cli, tmp_path):
    spec = {"law": "hoffmann2022", "plan": {"target_loss": 1.5}, "assert": {"max_loss": 2}}
    r = cli("check", spec_file(tmp_path, spec))
    assert r.code == 3 and "irreducible" in r.err


def test_strict_extrapolation(cli, tmp_path):
    r = cli("plan", "--flops", "1.3e25", "--law", "hoffmann2022", "--format", "json")
    notes = r.json()["plans"][0]["notes"]
    ext = r.json()["plans"][0]["extrapolation"]
    assert ext["direction"] == "above" and ext["orders"] == pytest.approx(3.0, abs=1e-9)  # 1.3e25 / 1.3e22
    assert any("3.0 orders of magnitude above" in n for n in notes)
    r = cli("plan", "--flops", "1.3e25", "--law", "hoffmann2022", "--strict")
    assert r.code == 3 and "orders of magnitude above" in r.err
    assert cli("plan", "--flops", "1e21", "--law", "hoffmann2022", "--strict").code == 0
    spec = {"law": "hoffmann2022", "plan": {"flops": 1.3e25}, "assert": {"max_loss": 3}}
    assert cli("check", spec_file(tmp_path, spec), "--strict").code == 3


# ----- every plan field is assertable (issue 10 item 3) -------------------------------------------
def test_every_plan_field_is_assertable_with_min_and_max(cli, tmp_path):
    from scalecli import fields
    from scalecli.check import schema

    asserts = schema()["properties"]["assert"]["properties"]
    for f in fields.PLAN_FIELDS:
        assert f"min_{f.name}" in asserts and f"max_{f.name}" in asserts, f.name
    # the report of issue 10: a size gate. REFERENCE §10 item 1 (Epoch, 1e23): N_opt = 2.9446e10
    spec = {
        "law": "besiroglu2024",
        "plan": {"flops": 1e23},
        "assert": {"max_params": "20B", "min_tokens": "500B"},
    }
    r = cli("check", spec_file(tmp_path, spec), "--format", "json")
    assert r.code == 1
    by_key = {x["assertion"]: x for x in r.json()["results"]}
    assert not by_key["max_params"]["passed"] and by_key["max_params"]["measured"] == pytest.approx(
        2.9446e10, rel=1e-3
    )
    assert by_key["min_tokens"]["passed"] and by_key["min_tokens"]["measured"] == pytest.approx(
        5.6601e11, rel=1e-3
    )


def test_training_and_serving_are_gated_apart(cli):
    r = cli("check", str(EXAMPLES / "serving-heavy.yaml"), "--format", "json")
    assert r.code == 0, r.err
    results = r.json()["results"]
    plans = r.json()["plans"]
    for x in results:
        plan = next(p for p in plans if p["law"] == x["law"])
        if x["assertion"] == "max_train_cost_usd":
            assert x["measured"] == pytest.approx(plan["train_cost_usd"])
        if x["assertion"] == "max_serve_cost_usd":
            assert x["measured"] == pytest.approx(plan["serve_cost_usd"])
        if x["assertion"] == "max_cost_usd":
            assert x["measured"] == pytest.approx(plan["train_cost_usd"] + plan["serve_cost_usd"])
            assert "training plus serving" in x["detail"]


def test_spec_errors_name_spec_keys_not_flags(cli, tmp_path):
    spec = {
        "plan": {"flops": 1e23},
        "hardware": {"gpu": "H100", "mfu": 0.4, "serve_mfu": 7},
        "assert": {"max_loss": 3},
    }
    r = cli("check", spec_file(tmp_path, spec))
    assert r.code == 2 and "hardware.serve_mfu" in r.err and "--" not in r.err.split(":", 1)[1]


def test_library_errors_name_fields_each_front_end_in_its_words(cli, tmp_path):
    # issue 11: one message, shown as a spec key by check and as a flag by plan
    spec = {"plan": {"flops": 1e23, "max_days": 10}, "hardware": {"gpu": "H100", "mfu": 0.4}}
    r = cli("check", spec_file(tmp_path, {**spec, "assert": {"max_loss": 3}}))
    assert r.code == 2 and "plan.max_days needs hardware.gpus K" in r.err
    r = cli("plan", "--flops", "1e23", "--max-days", "10", "--gpu", "H100", "--mfu", "0.4")
    assert r.code == 2 and "--max-days needs --gpus K" in r.err
    from scalecli import app
    from scalecli.errors import InputError

    with pytest.raises(InputError) as info:
        app.plan_request({"flops": 1e23, "max_days": 10})
    assert str(info.value).startswith("max_days needs gpus K")
