"""The adversarial pass of issue 9: every attack ends in a designed one-line error with its exit
code (errors.ExitStatus), writes nothing, and answers in bounded time and memory.

Table-driven: (id, files to write, command, exit code, message fragment). Subprocess tests cover
what an in-process run cannot: signals, a full or closed stdout, the output encoding.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scalecli.errors import ExitStatus

ROOT = Path(__file__).resolve().parents[1]
LAW = "family: chinchilla\nparams: {E: 1.69, A: 406.4, B: 410.7, alpha: 0.34, beta: 0.28}\n"
RUNS = "params,tokens,loss\n" + "\n".join(
    f"{n:g},{d:g},{1.69 + 406.4 / n**0.34 + 410.7 / d**0.28:.6f}"
    for n in (1e8, 3e8, 1e9, 3e9)
    for d in (2e9, 2e10, 2e11)
)
SPEC = "name: s\nlaw: besiroglu2024\nplan: {flops: 1e21}\nassert: {max_loss: 5}\n"


def _draws(n: int) -> str:
    row = "  - {E: 1.69, A: 406.4, B: 410.7, alpha: 0.34, beta: 0.28}\n"
    return LAW + "draws:\n" + row * n


def _nested(depth: int) -> str:
    return LAW + "notes: " + "[" * depth + "]" * depth + "\n"


FILES = {
    "law.yaml": LAW,
    "runs.csv": RUNS,
    "spec.yaml": SPEC,
    "dup-spec.yaml": SPEC + "assert: {max_loss: 1}\n",
    "dup-params.yaml": LAW.replace("A: 406.4,", "A: 406.4, A: 400,"),
    "deep.yaml": _nested(100),
    "anchor.yaml": "family: chinchilla\nparams: &p {E: 1.69, A: 406.4, B: 410.7, alpha: 0.34, beta: 0.28}\n",
    "family-list.yaml": LAW.replace("family: chinchilla", "family: [chinchilla]"),
    "tiny-exponent.yaml": LAW.replace("alpha: 0.34", "alpha: 1e-300"),
    "huge-exponent.yaml": LAW.replace("beta: 0.28", "beta: 400"),
    "frontier-400.yaml": "family: kaplan\nfrontier:\n  params: {coef: 1.3e9, exponent: 0.73}\n"
    "  loss: {coef: 3.1e8, exponent: 400}\n",
    "too-many-draws.yaml": _draws(2001),
    "big.yaml": LAW + "notes:\n" + ('  - "' + "x" * 1000 + '"\n') * 2100,
    "ctl-name.yaml": SPEC.replace("name: s", 'name: "a\\x01b\\x1bc"'),
}


@pytest.fixture
def attack_files(tmp_path):
    out = {}
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
        out[name] = str(tmp_path / name)
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    out["fifo"] = str(fifo)
    out["dir"] = str(tmp_path)
    out["long"] = str(tmp_path / ("x" * 300 + ".yaml"))
    return out


ATTACKS = [
    # item 2: non-regular files are refused, not read
    ("law /dev/zero", lambda f: ["plan", "--flops", "1e23", "--law", "/dev/zero"], 2, "not a regular file"),
    ("law FIFO", lambda f: ["plan", "--flops", "1e23", "--law", f["fifo"]], 2, "not a regular file"),
    ("data /dev/urandom", lambda f: ["fit", "/dev/urandom"], 2, "not a regular file"),
    ("join /dev/zero", lambda f: ["fit", f["runs.csv"], "--join", "/dev/zero"], 2, "not a regular file"),
    (
        "config /dev/zero",
        lambda f: ["plan", "--flops", "1e23", "--config", "/dev/zero"],
        2,
        "not a regular file",
    ),
    ("spec FIFO", lambda f: ["check", f["fifo"]], 2, "not a regular file"),
    # item 7: documented size limits
    (
        "law file over 2 MB",
        lambda f: ["plan", "--flops", "1e23", "--law", f["big.yaml"]],
        2,
        "the limit is 2,000,000",
    ),
    (
        "2,001 draws",
        lambda f: ["plan", "--flops", "1e23", "--law", f["too-many-draws.yaml"]],
        2,
        "limit is 2,000",
    ),
    ("--where of 120 KB", lambda f: ["fit", f["runs.csv"], "--where", "x" * 120_000], 2, "limit is 1,000"),
    (
        "10,001 sweep points",
        lambda f: ["sweep", "--flops-from", "1e19", "--flops-to", "1e25", "--points", "10001"],
        2,
        "at most 10000",
    ),
    # item 4: duplicate YAML keys
    (
        "two assert blocks",
        lambda f: ["check", f["dup-spec.yaml"]],
        2,
        "key 'assert' appears twice (lines 4 and 5)",
    ),
    (
        "a parameter twice",
        lambda f: ["plan", "--flops", "1e23", "--law", f["dup-params.yaml"]],
        2,
        "key 'A' appears twice",
    ),
    # item 6: designed messages instead of internal errors
    (
        "nested YAML",
        lambda f: ["plan", "--flops", "1e23", "--law", f["deep.yaml"]],
        2,
        "nested more than 32 levels",
    ),
    ("anchors", lambda f: ["plan", "--flops", "1e23", "--law", f["anchor.yaml"]], 2, "anchors and aliases"),
    (
        "family as a list",
        lambda f: ["plan", "--flops", "1e23", "--law", f["family-list.yaml"]],
        2,
        "'family' must be one of",
    ),
    (
        "exponent 1e-300",
        lambda f: ["plan", "--flops", "1e23", "--law", f["tiny-exponent.yaml"]],
        2,
        "outside the range scalecli accepts",
    ),
    (
        "exponent 400",
        lambda f: ["plan", "--flops", "1e23", "--law", f["huge-exponent.yaml"]],
        2,
        "outside the range scalecli accepts",
    ),
    (
        "frontier exponent 400",
        lambda f: ["plan", "--flops", "1e23", "--law", f["frontier-400.yaml"]],
        2,
        "frontier.loss.exponent",
    ),
    ("law name over 255 bytes", lambda f: ["plan", "--flops", "1e23", "--law", f["long"]], 2, "too long"),
    ("--out name over 255 bytes", lambda f: ["fit", f["runs.csv"], "--out", f["long"]], 2, "too long"),
    # item 8: nonsense plans are refused with exit 3 and a reason
    (
        "one token",
        lambda f: ["plan", "--flops", "1e23", "--max-tokens", "1", "--law", "besiroglu2024"],
        3,
        "no plausible plan",
    ),
    (
        "one step",
        lambda f: ["plan", "--flops", "1e23", "--max-steps", "1", "--law", "kaplan2020"],
        3,
        "at least one is needed",
    ),
    (
        "target just above E",
        lambda f: ["plan", "--target-loss", "1.6900001", "--law", "hoffmann2022"],
        3,
        "more than 1e+40 FLOPs",
    ),
    (
        "mfu 1e-320",
        lambda f: ["plan", "--flops", "1e23", "--gpu", "H100", "--mfu", "1e-320"],
        2,
        "--mfu must be a fraction from 0.001 to 1",
    ),
    (
        "dollars below the FLOP floor",
        lambda f: [
            "plan",
            "--budget-usd",
            "1e-6",
            "--gpu",
            "A100",
            "--mfu",
            "0.001",
            "--usd-per-gpu-hour",
            "1e9",
        ],
        2,
        "outside the range scalecli plans for",
    ),
    # item 3 and 11: outputs checked before any work
    (
        "--out and --plot the same",
        lambda f: ["fit", f["runs.csv"], "--out", f["dir"] + "/same.png", "--plot", f["dir"] + "/same.png"],
        2,
        "name the same file",
    ),
    (
        "--out a folder path",
        lambda f: ["fit", f["runs.csv"], "--out", f["dir"] + "/newdir/"],
        2,
        "names a folder",
    ),
    (
        "--junit in a missing folder",
        lambda f: ["check", f["spec.yaml"], "--junit", "/nonexistent/r.xml"],
        2,
        "does not exist",
    ),
    # item 11: messages that said the wrong thing
    ("where loss<1e400", lambda f: ["fit", f["runs.csv"], "--where", "loss<1e400"], 2, "must be finite"),
]


@pytest.mark.parametrize("name, build, code, fragment", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_attack(cli, attack_files, name, build, code, fragment):
    before = set(os.listdir(attack_files["dir"]))
    started = time.monotonic()
    r = cli(*build(attack_files))
    assert r.code == code, (name, r.code, r.err)
    assert fragment in r.err, (name, r.err)
    assert r.err.startswith("error: ") and r.err.count("\n") == 1, r.err
    assert "internal error" not in r.err and "Traceback" not in r.err
    assert set(os.listdir(attack_files["dir"])) == before  # nothing written, no temporary left
    assert time.monotonic() - started < 60  # bounded: refused up front, not after reading forever


def test_duplicate_assert_block_no_longer_passes_silently(cli, tmp_path):
    # the CI-gate case of item 4: the first block fails; keeping only the last would exit 0
    path = tmp_path / "gate.yaml"
    path.write_text(FILES["dup-spec.yaml"])
    assert cli("check", str(path)).code == ExitStatus.INPUT


def test_junit_is_well_formed_with_control_characters(cli, tmp_path):
    import xml.etree.ElementTree as ET

    spec = tmp_path / "ctl.yaml"
    spec.write_text(FILES["ctl-name.yaml"])
    junit = tmp_path / "r.xml"
    r = cli("check", str(spec), "--junit", str(junit))
    assert r.code == 0, r.err
    suite = ET.parse(junit).getroot()[0]
    assert suite.get("name") == "scale check a\\x01b\\x1bc"
    # a control character in the file name (the spec's default name) too
    odd = tmp_path / "a\x02b.yaml"
    odd.write_text(SPEC.replace("name: s\n", ""))
    assert cli("check", str(odd), "--junit", str(tmp_path / "r2.xml")).code == 0
    ET.parse(tmp_path / "r2.xml")


def test_plot_folder_not_writable_writes_nothing(cli, tmp_path, monkeypatch):
    # as root the file system would let us write anyway, so the folder is made unwritable here
    ro = tmp_path / "ro"
    ro.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(ro) else real(p, mode))
    runs = tmp_path / "runs.csv"
    runs.write_text(RUNS)
    r = cli("fit", str(runs), "--out", str(tmp_path / "law.yaml"), "--plot", str(ro / "fit.png"))
    assert r.code == 2 and "not writable" in r.err
    assert not (tmp_path / "law.yaml").exists()


def test_deleted_working_directory(cli, monkeypatch):
    def gone():
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(os, "getcwd", gone)
    r = cli("plan", "--flops", "1e23")
    assert r.code == 2 and "working directory no longer exists" in r.err


def test_narrow_terminal_keeps_every_number(cli, monkeypatch):
    # item 11 / issue 10 item 5: at 10 (or 60) columns no number is cut and no row disappears
    for columns in ("10", "60"):
        monkeypatch.setenv("COLUMNS", columns)
        out = cli("plan", "--flops", "1e23", "--law", "besiroglu2024", "--gpu", "H100", "--mfu", "0.4").out
        # REFERENCE §10 item 1 (Epoch, 1e23): N = 2.9446e10, D = 5.6601e11, D/N 19.22, L 2.0321
        for shown in ("29.4B", "566B", "19.2", "2.032"):
            assert shown in out, (columns, shown)
        assert "…" not in out


def test_predict_unique_tokens_says_when_it_is_ignored(cli):
    r = cli(
        "predict", "--law", "besiroglu2024", "--params", "7B", "--tokens", "1T", "--unique-tokens", "100B"
    )
    assert r.code == 0 and "does not model repeated data" in r.out


def test_law_in_config_is_relative_to_the_config_file(cli, tmp_path, monkeypatch):
    sub = tmp_path / "cfg"
    sub.mkdir()
    (sub / "mylaw.yaml").write_text("name: mine\n" + LAW)
    (sub / "scale.yaml").write_text("law: mylaw.yaml\nflops: 1e21\nformat: json\n")
    monkeypatch.chdir(tmp_path)
    r = cli("plan", "--config", "cfg/scale.yaml")
    assert r.code == 0, r.err
    assert r.json()["plans"][0]["law"] == "mine"


# ----- what only a separate process shows --------------------------------------------------------
def _scale(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "scalecli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def test_closed_pipe_ends_quietly_with_the_conventional_status():
    proc = subprocess.Popen(
        [sys.executable, "-m", "scalecli", "plan", "--flops", "1e23"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) in (0, ExitStatus.BROKEN_PIPE), err
    assert err == ""


def test_closed_stdout_is_an_output_error():
    proc = subprocess.run(
        [sys.executable, "-m", "scalecli", "plan", "--flops", "1e23"],
        stdout=None, stderr=subprocess.PIPE, text=True, timeout=120, close_fds=True,
        preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    assert proc.returncode == ExitStatus.OUTPUT, proc.stderr
    assert proc.stderr == "error: standard output is closed; nothing could be printed\n"


def test_full_stdout_writes_no_file(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    runs = tmp_path / "runs.csv"
    runs.write_text(RUNS)
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "scalecli", "fit", str(runs), "--out", str(tmp_path / "law.yaml")],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert proc.returncode == ExitStatus.OUTPUT, proc.stderr
    assert "cannot write the output: no space left on the device" in proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["runs.csv"]


def test_ascii_output_encoding():
    r = _scale(
        "plan", "--flops", "1e23", "--law", "besiroglu2024", env={**os.environ, "PYTHONIOENCODING": "ascii"}
    )
    assert r.returncode == 0, r.stderr
    assert "- params are total parameters" in r.stdout and "0.2920*C^0.3271" in r.stdout


@pytest.mark.parametrize("signame, code", [("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129)])
def test_signals_abort_cleanly_and_leave_no_file(tmp_path, signame, code):
    import numpy as np

    rng = np.random.default_rng(0)
    n = np.exp(rng.uniform(np.log(1e7), np.log(1e10), 20_000))
    d = np.exp(rng.uniform(np.log(1e9), np.log(1e12), 20_000))
    loss = (1.8 + 500 * n**-0.35 + 2000 * d**-0.37) * np.exp(0.01 * rng.standard_normal(n.size))
    runs = tmp_path / "runs.csv"
    runs.write_text(
        "params,tokens,loss\n"
        + "\n".join(f"{a:.6g},{b:.6g},{c:.6g}" for a, b, c in zip(n, d, loss, strict=True))
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scalecli",
            "fit",
            str(runs),
            "--bootstrap",
            "400",  # 8e6 draw-rows, under the 1e7 limit: long enough to interrupt
            "--out",
            str(tmp_path / "l.yaml"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2.0)
    proc.send_signal(getattr(signal, signame))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err.strip() == "error: aborted"
    assert sorted(os.listdir(tmp_path)) == ["runs.csv"]


# ----- random structured inputs -------------------------------------------------------------------
NUMBERS = st.one_of(
    st.sampled_from(
        ["0", "-1", "1e-300", "1e300", "1e23", "70B", "0.34", "1e-5", "1e5", "nan", "[1]", "{}", "x"]
    ),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
)
OPTIONS = st.sampled_from(
    ["--max-params", "--max-tokens", "--max-steps", "--unique-tokens", "--batch-tokens", "--inference-tokens"]
)


@settings(
    max_examples=int(os.environ.get("SCALE_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.sampled_from(["chinchilla", "dynamics", "kaplan"]),
    st.lists(NUMBERS, min_size=6, max_size=6),
    st.lists(st.tuples(OPTIONS, NUMBERS), max_size=3),
    st.sampled_from(
        [["--flops", "1e23"], ["--target-loss", "2.0"], ["--flops", "1e8"], ["--target-loss", "1e5"]]
    ),
)
def test_random_laws_and_options_never_crash(cli, tmp_path, family, values, options, objective):
    names = {
        "chinchilla": ["E", "A", "B", "alpha", "beta", "R_D_star"],
        "dynamics": ["E", "A_N", "A_S", "alpha", "beta", "B_crit"],
        "kaplan": ["N_c", "alpha_N", "S_c", "alpha_S", "B_star", "alpha_B"],
    }[family]
    law = tmp_path / "law.yaml"
    pairs = ", ".join(f"{k}: {v}" for k, v in zip(names, values, strict=True))
    law.write_text(f"family: {family}\nparams: {{{pairs}}}\n")
    args = ["plan", *objective, "--law", str(law)]
    for opt, value in options:
        args += [opt, value]
    for command in (args, ["predict", "--law", str(law), "--params", values[0], "--tokens", values[1]]):
        r = cli(*command)
        assert r.code in (0, 2, 3), (command, r.err)
        assert "internal error" not in r.err and "Traceback" not in r.err, (command, r.err)
