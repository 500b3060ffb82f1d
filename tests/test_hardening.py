"""Hardened input and the user experience around it (issue 5)."""

import os
import sys

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

GOOD_LAW = "family: chinchilla\nparams: {E: 1.69, A: 406.4, B: 410.7, alpha: 0.34, beta: 0.28}\n"
GOOD_CSV = (
    "params,tokens,loss\n"
    + "\n".join(
        f"{n:g},{d:g},{1.69 + 406.4 / n**0.34 + 410.7 / d**0.28:.6f}"
        for n in (1e8, 3e8, 1e9, 3e9)
        for d in (2e9, 2e10, 2e11)
    )
    + "\n"
)


def files(tmp_path, **contents):
    out = {}
    for name, content in contents.items():
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        out[name] = str(path)
    return out


# (id, command builder given a dict of written files, expected exit code, message fragment)
BAD_INPUTS = [
    ("negative budget", lambda f: ["plan", "--flops", "-1e23"], 2, "--flops must be positive"),
    ("zero budget", lambda f: ["plan", "--flops", "0"], 2, "--flops must be positive"),
    ("nan budget", lambda f: ["plan", "--flops", "nan"], 2, "must be a number"),
    ("inf budget", lambda f: ["plan", "--flops", "inf"], 2, "must be a number"),
    ("overflowing budget", lambda f: ["plan", "--flops", "1e999"], 2, "must be finite"),
    ("text budget", lambda f: ["plan", "--flops", "a lot"], 2, "must be a number"),
    ("bad suffix", lambda f: ["plan", "--flops", "1e23", "--max-params", "7X"], 2, "must be a number"),
    (
        "two objectives",
        lambda f: ["plan", "--flops", "1e23", "--target-loss", "2"],
        2,
        "exactly one objective",
    ),
    ("unknown preset", lambda f: ["plan", "--flops", "1e23", "--law", "chinchila"], 2, "did you mean"),
    (
        "missing law file",
        lambda f: ["plan", "--flops", "1e23", "--law", "/nonexistent/x.yaml"],
        2,
        "does not exist",
    ),
    (
        "law is a directory",
        lambda f: ["plan", "--flops", "1e23", "--law", f["dir"] + "/"],
        2,
        "is a directory",
    ),
    ("binary law", lambda f: ["plan", "--flops", "1e23", "--law", f["binary.yaml"]], 2, "binary file"),
    ("latin-1 law", lambda f: ["plan", "--flops", "1e23", "--law", f["latin.yaml"]], 2, "not UTF-8"),
    ("empty law", lambda f: ["plan", "--flops", "1e23", "--law", f["empty.yaml"]], 2, "file is empty"),
    (
        "list law",
        lambda f: ["plan", "--flops", "1e23", "--law", f["list.yaml"]],
        2,
        "expected a YAML mapping",
    ),
    (
        "malformed law",
        lambda f: ["plan", "--flops", "1e23", "--law", f["broken.yaml"]],
        2,
        "malformed YAML at line",
    ),
    ("python tag", lambda f: ["plan", "--flops", "1e23", "--law", f["tag.yaml"]], 2, "YAML tags"),
    ("alias bomb", lambda f: ["plan", "--flops", "1e23", "--law", f["bomb.yaml"]], 2, "anchors and aliases"),
    (
        "unknown law key",
        lambda f: ["plan", "--flops", "1e23", "--law", f["typo.yaml"]],
        2,
        "did you mean 'params'",
    ),
    ("negative exponent", lambda f: ["plan", "--flops", "1e23", "--law", f["negexp.yaml"]], 2, "positive"),
    ("nan in yaml", lambda f: ["plan", "--flops", "1e23", "--law", f["nanlaw.yaml"]], 2, "must be finite"),
    (
        "wrong type",
        lambda f: ["plan", "--flops", "1e23", "--law", f["listparam.yaml"]],
        2,
        "must be a number",
    ),
    ("huge law file", lambda f: ["plan", "--flops", "1e23", "--law", f["huge.yaml"]], 2, "the limit is"),
    (
        "target below E",
        lambda f: ["plan", "--target-loss", "1", "--law", "hoffmann2022"],
        3,
        "irreducible loss",
    ),
    (
        "infeasible caps",
        lambda f: ["plan", "--target-loss", "2.1", "--law", "hoffmann2022", "--max-params", "1e7"],
        3,
        "max_params",
    ),
    (
        "frontier with caps",
        lambda f: ["plan", "--flops", "1e23", "--law", "kaplan2020-frontier", "--max-tokens", "1T"],
        2,
        "--flops plans only",
    ),
    (
        "mfu out of range",
        lambda f: ["plan", "--flops", "1e23", "--gpu", "H100", "--mfu", "1.5"],
        2,
        "fraction",
    ),
    ("unknown gpu", lambda f: ["plan", "--flops", "1e23", "--gpu", "H10", "--mfu", "0.4"], 2, "unknown GPU"),
    ("unknown option", lambda f: ["plan", "--flop", "1e23"], 2, "No such option"),
    ("bad format", lambda f: ["plan", "--flops", "1e23", "--format", "xlsx"], 2, "--format must be one of"),
    ("empty csv", lambda f: ["fit", f["empty.csv"]], 2, "is empty"),
    ("binary csv", lambda f: ["fit", f["binary.csv"]], 2, "binary file"),
    ("duplicate columns", lambda f: ["fit", f["dup.csv"]], 2, "duplicate column"),
    ("missing loss column", lambda f: ["fit", f["noloss.csv"]], 2, "needs column(s) loss"),
    ("negative loss row", lambda f: ["fit", f["negative.csv"]], 2, "line 3: loss"),
    ("inf in csv", lambda f: ["fit", f["inf.csv"]], 2, "is not a finite number"),
    ("missing data file", lambda f: ["fit", "/nonexistent/runs.csv"], 2, "does not exist"),
    ("out exists", lambda f: ["fit", f["good.csv"], "--out", f["good.yaml"]], 2, "already exists"),
    (
        "out folder missing",
        lambda f: ["fit", f["good.csv"], "--out", "/nonexistent/dir/x.yaml"],
        2,
        "does not exist",
    ),
    (
        "plot exists",
        lambda f: ["sweep", "--flops-from", "1e19", "--flops-to", "1e21", "--plot", f["good.yaml"]],
        2,
        "already exists",
    ),
    ("bad config key", lambda f: ["plan", "--config", f["badconfig.yaml"]], 2, "did you mean 'flops'"),
    ("spec typo", lambda f: ["check", f["badspec.yaml"]], 2, "did you mean 'max_loss'"),
    ("no spec", lambda f: ["check"], 2, "needs a SPEC.yaml"),
    ("absurd budget", lambda f: ["plan", "--flops", "1e300"], 2, "outside the range scalecli plans for"),
    (
        "sub-parameter model",
        lambda f: ["predict", "--params", "1e-3", "--tokens", "1T"],
        2,
        "outside the range",
    ),
    (
        "target above any loss",
        lambda f: ["plan", "--target-loss", "1e5", "--law", "hoffmann2022"],
        2,
        "1-parameter model",
    ),
    ("absurd spec budget", lambda f: ["check", f["absurdspec.yaml"]], 2, "plan.flops = 1e+300 is outside"),
]


@pytest.fixture
def bad_files(tmp_path):
    (tmp_path / "dir").mkdir()
    written = files(
        tmp_path,
        **{
            "binary.yaml": b"\x00\x01\x02family: chinchilla",
            "latin.yaml": "name: caf\xe9\n".encode("latin-1"),
            "empty.yaml": "",
            "list.yaml": "- 1\n- 2\n",
            "broken.yaml": "family: chinchilla\nparams: {E: 1.69\n",
            "tag.yaml": "family: !!python/name:os.system\n",
            "bomb.yaml": "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n",
            "typo.yaml": "family: chinchilla\nparmas: {}\n",
            "negexp.yaml": GOOD_LAW.replace("alpha: 0.34", "alpha: -0.34"),
            "nanlaw.yaml": GOOD_LAW.replace("E: 1.69", "E: .nan"),
            "listparam.yaml": GOOD_LAW.replace("E: 1.69", "E: [1]"),
            "huge.yaml": "# " + "x" * 21_000_000 + "\n",
            "empty.csv": "",
            "binary.csv": b"params,loss\n\x00\x00\n",
            "dup.csv": "params,tokens,Params\n1,2,3\n",
            "noloss.csv": "params,tokens\n1e9,1e10\n",
            "negative.csv": "params,tokens,loss\n1e9,1e10,2.5\n2e9,1e10,-2.4\n",
            "inf.csv": "params,tokens,loss\n1e9,1e10,inf\n",
            "good.csv": GOOD_CSV,
            "good.yaml": GOOD_LAW,
            "badconfig.yaml": "flopz: 1e23\n",
            "badspec.yaml": "plan: {flops: 1e23}\nassert: {max_los: 2}\n",
            "absurdspec.yaml": "plan: {flops: 1e300}\nassert: {max_loss: 2}\n",
        },
    )
    return {**written, "dir": str(tmp_path / "dir")}


@pytest.mark.parametrize("name, build, code, fragment", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_table(cli, bad_files, name, build, code, fragment):
    before = {p: os.path.getsize(p) for p in bad_files.values() if os.path.isfile(p)}
    r = cli(*build(bad_files))
    assert r.code == code, (name, r.err)
    assert r.err.startswith("error: "), name
    assert len(r.err.strip().splitlines()) == 1, (name, r.err)
    assert fragment in r.err, (name, r.err)
    assert "Traceback" not in r.err and "internal error" not in r.err
    assert {p: os.path.getsize(p) for p in before} == before  # nothing the user had was changed


def test_the_table_is_long_enough():
    assert len(BAD_INPUTS) >= 30


def test_nothing_is_written_on_error(cli, tmp_path):
    out = tmp_path / "law.yaml"
    bad = tmp_path / "bad.csv"
    bad.write_text("params,tokens,loss\n1e9,1e10,oops\n")
    assert cli("fit", str(bad), "--out", str(out)).code == 2
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


# ----- random input through the entry point --------------------------------------------------------
COMMANDS = st.sampled_from(["plan", "predict", "fit", "check", "sweep", "presets"])
OPTIONS = st.sampled_from(
    [
        "--flops",
        "--target-loss",
        "--law",
        "--max-params",
        "--max-tokens",
        "--max-steps",
        "--unique-tokens",
        "--batch-tokens",
        "--inference-tokens",
        "--params",
        "--tokens",
        "--steps",
        "--gpu",
        "--mfu",
        "--gpus",
        "--format",
        "--columns",
        "--where",
        "--fix",
        "--holdout",
        "--points",
        "--flops-from",
        "--flops-to",
        "--method",
        "--bootstrap",
        "--config",
        "--precision",
        "--gpu-hours",
        "--budget-usd",
    ]
)
VALUES = st.one_of(
    st.sampled_from(
        [
            "1e23",
            "-1",
            "0",
            "nan",
            "inf",
            "70B",
            "1e400",
            "",
            "json",
            "hoffmann2022",
            "H100",
            "0.4",
            "loss<4",
            "E=1.69",
            "x=y",
            "2",
            "isoflop",
            "kaplan2020-frontier",
            "bordelon2024",
        ]
    ),
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
)


@settings(
    max_examples=int(os.environ.get("SCALE_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(COMMANDS, st.lists(st.tuples(OPTIONS, VALUES), max_size=4), st.binary(max_size=300))
def test_random_options_and_bytes_never_crash(cli, tmp_path, command, options, blob):
    path = tmp_path / "input.yaml"
    path.write_bytes(blob)
    args = [command]
    if command in ("fit", "check"):
        args.append(str(path))
    for opt, value in options:
        args += [opt, str(path) if opt in ("--law", "--config") and value == "" else value]
    if command == "fit" and "--out" not in args:
        pass  # nothing is written without --out
    r = cli(*args)
    assert r.code in (0, 2, 3), (args, r.err)
    assert "Traceback" not in r.err and "internal error" not in r.err, (args, r.err)
    if r.code:
        assert r.err.startswith("error: "), (args, r.err)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400), st.sampled_from(["law", "csv", "spec", "config"]))
def test_random_file_contents_never_crash(cli, tmp_path, blob, kind):
    path = tmp_path / f"input.{'csv' if kind == 'csv' else 'yaml'}"
    path.write_bytes(blob)
    args = {
        "law": ["plan", "--flops", "1e23", "--law", str(path)],
        "csv": ["fit", str(path)],
        "spec": ["check", str(path)],
        "config": ["plan", "--config", str(path)],
    }[kind]
    r = cli(*args)
    assert r.code in (0, 2, 3), (kind, blob, r.err)
    assert "Traceback" not in r.err and "internal error" not in r.err, (kind, blob, r.err)


# ----- config --------------------------------------------------------------------------------------
def test_scale_yaml_in_the_working_directory(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scale.yaml").write_text(
        "law: besiroglu2024\nflops: 1e21\ngpu: H100\nmfu: 0.4\nformat: json\n"
    )
    r = cli("plan")
    assert r.code == 0, r.err
    data = r.json()
    # REFERENCE.md §2.6 Epoch row at 1e21
    assert data["plans"][0]["params"] == pytest.approx(2.7785e9, rel=1e-4)
    assert data["request"]["config"] == "scale.yaml" and data["plans"][0]["gpu_hours"] is not None
    # the command line wins, and its objective replaces the file's
    r = cli("plan", "--target-loss", "2.3055", "--law", "hoffmann2022")
    assert r.code == 0, r.err
    plan = r.json()["plans"][0]
    assert plan["law"] == "hoffmann2022" and plan["loss"] == pytest.approx(2.3055)


def test_config_option_and_errors(cli, tmp_path):
    cfg = tmp_path / "team.yaml"
    cfg.write_text("law: [hoffmann2022]\nmax_params: 1B\nformat: json\n")
    r = cli("plan", "--config", str(cfg), "--flops", "1e23")
    assert r.code == 0 and r.json()["plans"][0]["binding"] == ["max_params"]
    cfg.write_text("strict: maybe\n")
    r = cli("plan", "--config", str(cfg), "--flops", "1e23")
    assert r.code == 2 and "true or false" in r.err


# ----- output ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["plan", "--flops", "1e23"],
        [
            "plan",
            "--flops",
            "1e23",
            "--inference-tokens",
            "2T",
            "--gpu",
            "H100",
            "--mfu",
            "0.4",
            "--usd-per-gpu-hour",
            "2",
            "--max-params",
            "20B",
        ],
        [
            "predict",
            "--law",
            "hoffmann2022",
            "--law",
            "besiroglu2024",
            "--params",
            "70B",
            "--tokens",
            "1.4T",
            "--inference-tokens",
            "1T",
        ],
        ["sweep", "--flops-from", "1e19", "--flops-to", "1e25"],
        ["presets"],
        ["presets", "show", "muennighoff2023"],
        ["hardware"],
        ["check", "examples/7b.yaml"],
    ],
)
def test_tables_fit_80_columns_without_ansi(cli, args, monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    r = cli(*args)
    assert r.code == 0, r.err
    assert "\x1b[" not in r.out
    assert max(len(line) for line in r.out.splitlines()) <= 80


def test_no_color_is_respected_on_a_terminal(cli, monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    r = cli("plan", "--flops", "1e23", "--law", "hoffmann2022")
    assert r.code == 0 and "\x1b[" not in r.out


def test_progress_bar_only_on_a_terminal_after_a_second(monkeypatch, capsys):
    import itertools
    import time

    from scalecli import render

    # rich's refresh thread reads the clock too: after the scripted times it stays at 3 s
    clock = itertools.chain([0.0, 0.5, 2.0, 2.1, 2.2, 2.3, 2.4], itertools.repeat(3.0))
    monkeypatch.setattr(time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    progress = render.progress_callback("bootstrap")
    progress(1, 3)  # 0.5 s in: nothing shown
    assert progress.bar is None
    progress(2, 3)  # 2 s in: the bar appears
    assert progress.bar is not None
    progress(3, 3)  # done: the bar goes away
    assert progress.bar is None
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    quiet = render.progress_callback("bootstrap")
    quiet(1, 3)
    quiet(2, 3)
    assert quiet.bar is None


def test_shell_completion_is_offered(cli):
    r = cli("--help")
    assert "--install-completion" in r.out and "--show-completion" in r.out


def test_yaml_numbers_and_the_dumped_preset_round_trip(tmp_path):
    # every number in a preset goes through the one parser, whatever YAML made of it
    from scalecli.presets import parse_preset

    text = (
        "family: kaplan\n"
        "params: {N_c: 6.5e+13, alpha_N: 0.077, S_c: '2.1K', alpha_S: .76, B_star: 2e8, alpha_B: 0.21}\n"
    )
    preset = parse_preset(text, "test")
    assert preset.law.params["S_c"] == 2100.0 and preset.law.params["B_star"] == 2e8
    assert yaml.safe_load(text)["params"]["B_star"] == "2e8"  # PyYAML reads it as a string
