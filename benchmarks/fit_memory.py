"""Time and peak memory of ``scale fit`` on large synthetic data (issue "Hardened under attack", item 1).

For each size (default 1e4, 1e5 and 1e6 rows) it writes synthetic Chinchilla runs, E = 1.8, A = 500,
B = 2000, alpha = 0.35, beta = 0.37, N log-uniform in 1e7..1e10, D log-uniform in 1e9..1e12, 1 %
log-normal noise, as a CSV with columns params,tokens,loss, and measures in a fresh child process

(a) the command: ``scale fit FILE --format json`` (CSV reading, validation, fit, report);
(b) the fit alone: ``parametric.fit("chinchilla", [N, D], loss)`` on the same arrays, so the cost of
    the fit is visible apart from the CSV reader's.

Wall time and the child's peak resident set size (``os.wait4``'s ``ru_maxrss``) are printed for each,
with the child's RSS before the fit for (b) (Python, numpy and scipy loaded, data in memory) and the
fitted parameters against the truth. Targets: peak memory under 1 GB at every size, time roughly
linear in rows. BLAS is pinned to one thread, as in benchmarks/fit.py.

    python benchmarks/fit_memory.py [--sizes 1e4 1e5 1e6] [--dir DIR] [--skip-cli] [--skip-direct]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TRUTH = {"E": 1.8, "A": 500.0, "B": 2000.0, "alpha": 0.35, "beta": 0.37}
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def synthetic(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = np.exp(rng.uniform(math.log(1e7), math.log(1e10), rows))
    d = np.exp(rng.uniform(math.log(1e9), math.log(1e12), rows))
    loss = TRUTH["E"] + TRUTH["A"] * n ** -TRUTH["alpha"] + TRUTH["B"] * d ** -TRUTH["beta"]
    return n, d, loss * np.exp(0.01 * rng.standard_normal(rows))


def write_csv(path: Path, rows: int) -> None:
    n, d, loss = synthetic(rows)
    np.savetxt(
        path,
        np.column_stack([n, d, loss]),
        fmt="%.9g",
        delimiter=",",
        header="params,tokens,loss",
        comments="",
    )


def measure(cmd: list[str]) -> tuple[float, float, int, str]:
    """Run ``cmd``; its wall time (s), peak RSS (MB), exit code and stdout."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KB on Linux
    return wall, usage.ru_maxrss / scale, proc.returncode, text


def direct(rows: int) -> None:
    """Child mode: fit the synthetic arrays in this process and print a JSON line."""
    from scalecli.fitting import parametric

    n, d, loss = synthetic(rows)
    parametric.fit("chinchilla", [n[:50], d[:50]], loss[:50])  # warm-up: imports, caches
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    res = parametric.fit("chinchilla", [n, d], loss)
    took = time.perf_counter() - start
    print(
        json.dumps(
            {
                "seconds": took,
                "rss_before_kb": before,
                "params": res.params,
                "starts": res.starts,
                "screen_points": res.screen_points,
            }
        )
    )


def errors(params: dict[str, float]) -> str:
    return ", ".join(f"{k} {params[k]:.4g} ({params[k] / v - 1:+.1%})" for k, v in TRUTH.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e4, 1e5, 1e6], help="rows per file")
    parser.add_argument("--dir", help="where to write the CSVs (default: a temporary directory)")
    parser.add_argument("--skip-cli", action="store_true", help="only time parametric.fit")
    parser.add_argument("--skip-direct", action="store_true", help="only time the scale fit command")
    parser.add_argument("--child-direct", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_direct:
        direct(args.child_direct)
        return
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    print(f"{os.cpu_count()} CPUs, load average {load}; BLAS pinned to one thread")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.dir or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        rows_done: list[tuple[int, float | None, float | None, float | None, float | None]] = []
        for size in args.sizes:
            rows = int(size)
            cli_time = cli_rss = fit_time = fit_rss = None
            if not args.skip_cli:
                path = folder / f"rows{rows}.csv"
                write_csv(path, rows)
                mb = path.stat().st_size / 1e6
                cmd = [sys.executable, "-m", "scalecli", "fit", str(path), "--format", "json"]
                cli_time, cli_rss, code, text = measure(cmd)
                if code == 0:
                    params = json.loads(text)["law"]["params"]
                    print(
                        f"{rows:>9,} rows ({mb:.1f} MB CSV)  scale fit: {cli_time:7.1f} s, "
                        f"peak RSS {cli_rss:6.0f} MB; {errors(params)}"
                    )
                else:
                    print(
                        f"{rows:>9,} rows ({mb:.1f} MB CSV)  scale fit: exit {code} after {cli_time:.1f} s, "
                        f"peak RSS {cli_rss:.0f} MB: {text.strip()[-300:]}"
                    )
            if not args.skip_direct:
                cmd = [sys.executable, __file__, "--child-direct", str(rows)]
                wall, fit_rss, code, text = measure(cmd)
                if code == 0:
                    info = json.loads(text.strip().splitlines()[-1])
                    fit_time = info["seconds"]
                    before = info["rss_before_kb"] / (1024 * 1024 if sys.platform == "darwin" else 1024)
                    print(
                        f"{rows:>9,} rows  parametric.fit: {fit_time:7.1f} s, peak RSS {fit_rss:6.0f} MB "
                        f"({before:.0f} MB before the fit); {info['starts']} local runs, starts ranked on "
                        f"{info['screen_points']:,} points; {errors(info['params'])}"
                    )
                else:
                    print(f"{rows:>9,} rows  parametric.fit: exit {code}: {text.strip()[-300:]}")
            rows_done.append((rows, cli_time, cli_rss, fit_time, fit_rss))
    print("\nrows        scale fit s   peak MB   fit() s   peak MB")

    def cell(x: float | None, fmt: str) -> str:
        return format(x, fmt) if x is not None else "-".rjust(len(format(0.0, fmt)))

    for rows, ct, cr, ft, fr in rows_done:
        print(f"{rows:<11,} {cell(ct, '11.1f')} {cell(cr, '9.0f')} {cell(ft, '9.1f')} {cell(fr, '9.0f')}")


if __name__ == "__main__":
    main()
