"""The user-facing contract of ../shared/CLI.md: JSON fields, formats, exit codes, errors."""

import csv
import io
import json
import subprocess
import sys

import pytest
import yaml

PLAN_FIELDS = {
    "law",
    "family",
    "params",
    "tokens",
    "steps",
    "batch_tokens",
    "tokens_per_param",
    "loss",
    "train_flops",
    "inference_flops",
    "total_flops",
    "binding",
    "notes",
    "gpu_hours",
    "days",
    "cost_usd",
    "interval",
}


def test_plan_json_contract(cli):
    r = cli("plan", "--flops", "1e23", "--format", "json")
    assert r.code == 0, r.err
    data = r.json()
    assert set(data) >= {"scalecli_version", "request", "plans"}
    assert data["request"]["flops"] == 1e23
    laws = [p["law"] for p in data["plans"]]
    families = {p["family"] for p in data["plans"]}
    assert families == {"chinchilla", "kaplan", "dynamics"}  # default set: one of each family
    assert laws == ["hoffmann2022-tex", "besiroglu2024", "kaplan2020", "dynamics-gpt3"]
    for p in data["plans"]:
        assert PLAN_FIELDS <= set(p)
        assert p["binding"] == [] and p["interval"] is None
        assert 6 * p["params"] * p["tokens"] == pytest.approx(1e23, rel=1e-12)
    hoffmann = data["plans"][laws.index("hoffmann2022-tex")]
    # REFERENCE.md §10 item 1, TeX constants at 1e23
    assert hoffmann["params"] == pytest.approx(1.8147e10, rel=1e-4)
    assert hoffmann["tokens"] == pytest.approx(9.1842e11, rel=1e-4)
    assert hoffmann["loss"] == pytest.approx(1.9885, rel=1e-4)
    kaplan = data["plans"][laws.index("kaplan2020")]
    assert any("non-embedding" in n for n in kaplan["notes"])
    assert all(any("not comparable across laws" in n for n in p["notes"]) for p in data["plans"])


def test_plan_yaml_and_csv_formats_parse(cli):
    r = cli("plan", "--flops", "1e21", "--law", "besiroglu2024", "--format", "yaml")
    assert r.code == 0
    data = yaml.safe_load(r.out)
    # REFERENCE.md §2.6 Epoch row at 1e21
    assert data["plans"][0]["params"] == pytest.approx(2.7785e9, rel=1e-4)
    r = cli("plan", "--flops", "1e21", "--law", "besiroglu2024", "--law", "kaplan2020", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert [row["law"] for row in rows] == ["besiroglu2024", "kaplan2020"]
    assert float(rows[1]["params"]) == pytest.approx(1.9978e9, rel=1e-4)  # REFERENCE.md §1.7


def test_plan_table_is_human_readable(cli):
    r = cli("plan", "--flops", "1e23", "--law", "hoffmann2022")
    assert r.code == 0
    assert "14.6B" in r.out and "1.14T" in r.out and "1e23" in r.out
    assert "Hoffmann et al. 2022" in r.out  # source in the caption
    assert "\x1b[" not in r.out  # no ANSI codes when piped
    assert max(len(line) for line in r.out.splitlines()) <= 80


def test_target_loss_plan(cli):
    r = cli("plan", "--target-loss", "2.0050101", "--law", "hoffmann2022", "--format", "json")
    p = r.json()["plans"][0]
    assert p["train_flops"] == pytest.approx(1e23, rel=1e-5)  # round trip of REFERENCE §10 item 1


@pytest.mark.parametrize(
    "args, code, fragment",
    [
        (["plan", "--flops", "-5"], 2, "--flops must be positive"),
        (["plan", "--flops", "lots"], 2, "--flops must be a number"),
        (["plan", "--flops", "nan"], 2, "--flops must be a number"),
        (["plan"], 2, "exactly one objective"),
        (["plan", "--flops", "1e23", "--target-loss", "2"], 2, "exactly one objective"),
        (["plan", "--flops", "1e23", "--law", "hofmann2022"], 2, "did you mean 'hoffmann2022'"),
        (["plan", "--flops", "1e23", "--law", "missing.yaml"], 2, "does not exist"),
        (["plan", "--flops", "1e23", "--format", "xml"], 2, "--format must be one of"),
        (["plan", "--flops", "1e23", "--bogus"], 2, "No such option"),
        (["plan", "--target-loss", "1.5", "--law", "hoffmann2022"], 3, "irreducible loss E = 1.69"),
        (["plan", "--target-loss", "2", "--law", "kaplan2020-frontier"], 2, "--flops plans only"),
        (
            ["plan", "--flops", "1e23", "--law", "kaplan2020-frontier", "--max-params", "1B"],
            2,
            "--max-params",
        ),
        (
            ["predict", "--law", "hoffmann2022", "--params", "7B"],
            2,
            "give two of --params, --tokens, --flops",
        ),
        (
            ["predict", "--law", "kaplan2020-frontier", "--params", "7B", "--tokens", "1T"],
            2,
            "allocation-only",
        ),
        (["presets", "show", "nope"], 2, "unknown preset"),
    ],
)
def test_errors_are_one_line_with_exit_code(cli, args, code, fragment):
    r = cli(*args)
    assert r.code == code
    assert r.err.startswith("error: ")
    assert fragment in r.err
    assert len(r.err.strip().splitlines()) == 1
    assert "Traceback" not in r.err and r.out == ""


def test_law_file_path_and_malformed_yaml(cli, tmp_path):
    good = tmp_path / "mine.yaml"
    good.write_text(
        "name: my-chinchilla\nfamily: chinchilla\n"
        "params: {E: 1.69, A: 406.4, B: 410.7, alpha: 0.336, beta: 0.283}\n"
    )
    r = cli("plan", "--flops", "1e23", "--law", str(good), "--format", "json")
    assert r.code == 0 and r.json()["plans"][0]["law"] == "my-chinchilla"
    cases = {
        "bad.yaml": ("family: chinchilla\nparams: [1, 2\n", "malformed YAML"),
        "empty.yaml": ("", "empty"),
        "tag.yaml": ("!!python/object/apply:os.system ['echo hi']\n", "YAML tags"),
        "unknown.yaml": ("family: chinchilla\nparms: {}\n", "did you mean 'params'"),
        "string.yaml": (
            "family: chinchilla\nparams: {E: 1.69, A: lots, B: 410.7, alpha: 0.3, beta: 0.3}\n",
            "A must be a number",
        ),
        "family.yaml": ("family: chinchila\nparams: {}\n", "'family' must be one of"),
    }
    for name, (text, fragment) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        r = cli("plan", "--flops", "1e23", "--law", str(path))
        assert r.code == 2, name
        assert fragment in r.err, (name, r.err)
        assert "Traceback" not in r.err


def test_yaml_numbers_as_strings_are_parsed(cli, tmp_path):
    # PyYAML reads 1e23 as a string: the preset parser must still accept it (and 70B suffixes)
    path = tmp_path / "k.yaml"
    path.write_text(
        "family: kaplan\n"
        "params: {N_c: 6.5e13, alpha_N: 0.077, S_c: 2.1K, alpha_S: 0.76, B_star: 200M, alpha_B: 0.21}\n"
    )
    r = cli("plan", "--flops", "1e21", "--law", str(path), "--format", "json")
    assert r.code == 0, r.err
    assert r.json()["plans"][0]["params"] == pytest.approx(1.9978e9, rel=1e-4)  # REFERENCE.md §1.7


def test_predict_json_contract(cli):
    r = cli("predict", "--law", "kaplan2020-joint", "--params", "1B", "--tokens", "10B", "--format", "json")
    assert r.code == 0, r.err
    pred = r.json()["predictions"][0]
    assert set(pred) >= {"law", "params", "tokens", "steps", "loss", "train_flops", "overhead_pct", "notes"}
    assert pred["loss"] == pytest.approx(2.4197, rel=1e-4)  # REFERENCE.md §1.6
    assert pred["train_flops"] == pytest.approx(6e19)
    r = cli(
        "predict",
        "--law",
        "hoffmann2022",
        "--params",
        "1.4598e10",
        "--tokens",
        "1.1417e12",
        "--format",
        "json",
    )
    # the REFERENCE §10 item 1 optimum itself: no overhead
    assert abs(r.json()["predictions"][0]["overhead_pct"]) < 1e-3


def test_presets_list_and_show(cli):
    r = cli("presets", "--format", "json")
    names = {p["name"]: p for p in r.json()["presets"]}
    assert {
        "hoffmann2022",
        "hoffmann2022-tex",
        "besiroglu2024",
        "muennighoff2023",
        "kaplan2020",
        "kaplan2020-frontier",
        "bordelon2024",
    } <= set(names)
    assert names["hoffmann2022-tex"]["aliases"] == ["chinchilla"]
    r = cli("presets", "show", "chinchilla", "--format", "json")
    preset = r.json()["preset"]
    # REFERENCE §2.1: the TeX constants, ln E = 0.5267228
    assert preset["name"] == "hoffmann2022-tex" and preset["params"]["E"] == pytest.approx(1.6934, rel=1e-4)
    r = cli("presets", "show", "besiroglu2024")
    assert "2404.10102" in r.out


def test_every_shipped_preset_has_full_provenance():
    from scalecli import presets

    for p in presets.load_all_shipped():
        for key in ("citation", "where", "convention", "dataset"):
            assert p.source.get(key), (p.name, key)
        assert "fitted_on" in p.source or p.fitted_range, p.name
        # a published law names its paper; a law fitted by scalecli names its command and data hash
        fit = p.raw.get("fit") or {}
        assert p.source.get("arxiv") or (fit.get("command") and fit.get("sha256")), p.name


def test_help_has_runnable_examples(cli):
    for command in (["plan"], ["predict"], ["presets"], ["presets", "show"]):
        r = cli(*command, "--help")
        assert r.code == 0
        assert "scale " in r.out and "Example" in r.out, command
    assert cli("--version").out.startswith("scale ")


def test_fit_help_names_every_registered_family_and_role(cli):
    # the help text is static (the CLI does not import the registry to start): it must not go stale
    from scalecli.fitting.data import ROLES
    from scalecli.laws import fit_variants

    text = " ".join(cli("fit", "--help").out.split())
    for name in fit_variants():
        assert name in text, name
    for role in ROLES:
        assert role in text, role


def test_module_entry_point_from_another_directory(tmp_path):
    # presets ship inside the package: works with no checkout in the working directory
    out = subprocess.run(
        [sys.executable, "-m", "scalecli", "plan", "--flops", "1e23", "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert len(json.loads(out)["plans"]) == 4
    bad = subprocess.run(
        [sys.executable, "-m", "scalecli", "plan", "--flops", "-5"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and "Traceback" not in bad.stderr
