"""Time and peak memory of the largest inputs scalecli accepts (the documented limits).

Each command runs as a child process, interleaved with the baseline ``python -c "import numpy"``
(BLAS pinned to one thread, as the CLI pins it); the script prints per command the median wall
time, its ratio to the baseline's median, and the peak resident memory of the child.

    python benchmarks/limits.py [--runs 3] [--only sweep]

Cases: a sweep at the 10,000-point limit for every shipped preset (JSON, and the table and YAML
for one numerical preset); a plan with 2,000 bootstrap draws (the per-preset limit), closed
form and numerical; a --where expression at the 1,000-character limit; a preset with 2,000
draws read and shown as YAML. Files are generated in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# Bytecode caching as an installed package has it: with PYTHONDONTWRITEBYTECODE every run would
# recompile scalecli's sources (about 40 ms), which no user's `pip install` pays.
ENV.pop("PYTHONDONTWRITEBYTECODE", None)
SCALE = [sys.executable, "-m", "scalecli"]
NUMPY = [sys.executable, "-c", "import numpy"]
WHERE = " and ".join(["loss<100"] * 76) + " and loss<1000"  # 997 characters: the limit is 1,000
PRESETS = [
    "hoffmann2022",
    "hoffmann2022-tex",
    "besiroglu2024",
    "muennighoff2023",
    "kaplan2020",
    "kaplan2020-joint",
    "kaplan2020-frontier",
    "dynamics-gpt3",
    "dynamics-gpt3-batch",
    "bordelon2024",
]


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of one child process (os.wait4's rusage)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(cmd)[:200]} failed ({code}): {err.read().decode()[-300:]}")
    return wall, usage.ru_maxrss / 1024.0  # KB on Linux


def draws_file(folder: Path, count: int) -> Path:
    rng = random.Random(0)
    lines = [
        "name: draws",
        "family: chinchilla",
        "params: {E: 1.8172, A: 482.01, B: 2085.43, alpha: 0.3478, beta: 0.3658}",
        "draws:",
    ]
    for _ in range(count):
        lines.append(
            f"  - {{E: {1.8172 * rng.uniform(0.98, 1.02):.6f}, A: {482.01 * rng.uniform(0.7, 1.3):.4f}, "
            f"B: {2085.43 * rng.uniform(0.6, 1.6):.4f}, alpha: {0.3478 * rng.uniform(0.95, 1.05):.6f}, "
            f"beta: {0.3658 * rng.uniform(0.95, 1.05):.6f}}}"
        )
    path = folder / f"draws{count}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def runs_file(folder: Path) -> Path:
    rng = random.Random(1)
    rows = ["params,tokens,loss"]
    for _ in range(2000):
        n, d = 10 ** rng.uniform(7, 10), 10 ** rng.uniform(9, 12)
        rows.append(f"{n:.6g},{d:.6g},{1.8 + 500 * n**-0.35 + 2000 * d**-0.37:.6g}")
    path = folder / "runs.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def cases(folder: Path) -> list[tuple[str, list[str]]]:
    sweep = ["sweep", "--flops-from", "1e19", "--flops-to", "1e25", "--points", "10000"]
    out = [(f"sweep 10^4 {name} json", [*sweep, "--law", name, "--format", "json"]) for name in PRESETS]
    out += [
        (
            "sweep 10^4 kaplan2020 fixed batch json",
            [*sweep, "--law", "kaplan2020", "--batch-tokens", "1M", "--format", "json"],
        ),
        ("sweep 10^4 kaplan2020 fixed batch table", [*sweep, "--law", "kaplan2020", "--batch-tokens", "1M"]),
        (
            "sweep 10^4 kaplan2020 fixed batch yaml",
            [*sweep, "--law", "kaplan2020", "--batch-tokens", "1M", "--format", "yaml"],
        ),
    ]
    draws = str(draws_file(folder, 2000))
    out += [
        ("plan, 2,000 draws, closed form", ["plan", "--flops", "1e23", "--law", draws, "--format", "json"]),
        (
            "plan, 2,000 draws, numerical",
            ["plan", "--target-loss", "2.1", "--inference-tokens", "1T", "--max-params", "20B",
             "--law", draws, "--format", "json"],
        ),
        ("presets show, 2,000 draws, yaml", ["presets", "show", draws, "--format", "yaml"]),
        ("fit with a 1,000-char --where", ["fit", str(runs_file(folder)), "--where", WHERE]),
    ]  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="", help="run only cases whose name contains this")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        todo = [c for c in cases(Path(tmp)) if args.only in c[0]]
        run(NUMPY)  # warm the file cache
        print(f"{'case':44} {'median s':>9} {'x numpy':>8} {'peak MB':>8}")
        for name, argv in todo:
            walls, peaks, bases = [], [], []
            for _ in range(args.runs):  # interleaved with the baseline
                wall, peak = run([*SCALE, *argv])
                walls.append(wall)
                peaks.append(peak)
                bases.append(run(NUMPY)[0])
            med, ref = statistics.median(walls), statistics.median(bases)
            print(f"{name:44} {med:9.2f} {med / ref:8.1f} {max(peaks):8.0f}")


if __name__ == "__main__":
    main()
