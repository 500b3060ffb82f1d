"""Start-up cost of the main job, relative to importing numpy.

Prints the median wall time of ``scale plan --flops 1e23 --format json`` divided by the median
of ``python -c "import numpy"``, both run as child processes of this script, alternated, so
machine noise hits both, with BLAS pinned to one thread in both. Target: ratio <= 2, which needs
scipy off this path. ``--command`` times another command line instead (e.g. "arch --params 7B").

    python benchmarks/startup.py [--runs 15] [--command "plan --flops 1e23 --format json"]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

PLAN = [sys.executable, "-m", "scalecli", "plan", "--flops", "1e23", "--format", "json"]
NUMPY = [sys.executable, "-c", "import numpy"]
SCIPY_CHECK = [
    sys.executable,
    "-c",
    "import sys, runpy; sys.argv = ['scale', 'plan', '--flops', '1e23', '--format', 'json'];"
    "import scalecli.cli as c\ntry:\n c.main()\nexcept SystemExit: pass\n"
    "print('scipy' in sys.modules, 'matplotlib' in sys.modules, file=sys.stderr)",
]


# BLAS pinned to one thread for both, as the CLI pins it: thread-pool start-up is not ours to time
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# Bytecode caching as an installed package has it: with PYTHONDONTWRITEBYTECODE every run would
# recompile scalecli's sources (about 40 ms), which no user's `pip install` pays.
ENV.pop("PYTHONDONTWRITEBYTECODE", None)


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=ENV)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--command", default="", help="the scale command line to time (default: the plan)")
    args = parser.parse_args()
    command = [sys.executable, "-m", "scalecli", *args.command.split()] if args.command else PLAN
    wall(command), wall(NUMPY)  # warm the file cache
    plan_times, numpy_times = [], []
    for _ in range(args.runs):
        plan_times.append(wall(command))
        numpy_times.append(wall(NUMPY))
    plan_med, numpy_med = statistics.median(plan_times), statistics.median(numpy_times)
    loaded = subprocess.run(SCIPY_CHECK, capture_output=True, text=True, check=True).stderr.split()
    label = "scale " + (args.command or "plan --flops 1e23 --format json")
    print(f"{label}: median {plan_med * 1000:.1f} ms over {args.runs} runs")
    print(f"python -c 'import numpy':              median {numpy_med * 1000:.1f} ms over {args.runs} runs")
    print(f"scipy imported on the plan path: {loaded[0]}; matplotlib: {loaded[1]}")
    print(f"ratio: {plan_med / numpy_med:.2f} (target <= 2)")


if __name__ == "__main__":
    main()
