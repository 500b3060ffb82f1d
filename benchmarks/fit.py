"""Speed of ``scale fit``'s parametric core on Epoch's 240 Chinchilla runs (REFERENCE.md §3).

In one run it times

(a) the fast fit: ``fit("chinchilla", ...)`` — the 4,500-point Hoffmann grid evaluated at once,
    L-BFGS-B from the best distinct starts only, then a polish;
(b) the plain fit: scipy's L-BFGS-B from every one of the 4,500 grid points, one after another,
    with the same objective and analytic gradient and scipy's default tolerances (Epoch's
    "replicate exactly" procedure, REFERENCE §3.2);
(c) variable projection (``fit_projected``, ``scale fit --search projection``): a 32 x 32 grid of
    the exponents with E, A, B by non-negative least squares, Nelder-Mead on that profile, then
    the same Huber polish; its objective against (a)'s;

and prints both wall times, the speed-up (target >= 20) and both best objectives (the fast one must
be no worse). Then it times ``bootstrap(..., draws=1000)`` (target: well under 60 s).

    python benchmarks/fit.py [--repeats 3] [--draws 1000] [--tight-baseline] [--gpt3]

``--tight-baseline`` also times the plain loop with the tolerances the fast fit uses for its local
runs, which is slower still. ``--gpt3`` also times the 8-parameter ``dynamics_batch`` fit on the GPT-3
learning curves (models below 7e9 parameters; target: well under 10 s) and prints its error on the
held-out 13B and 175B final losses. The data are read from ../shared/data beside the checkout.

scipy's L-BFGS-B calls OpenBLAS, whose worker threads only spin on these tiny problems (CPU time
doubles, wall time does not improve) and slow it down badly when other processes compete for the
cores. This script therefore pins BLAS to one thread (unless the variables are already set), so both
timings are of the same single-threaded work; the load average is printed for context.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

from scalecli.fitting import parametric as pm  # noqa: E402
from scalecli.fitting.bootstrap import bootstrap, intervals  # noqa: E402
from scalecli.fitting.data import average_duplicates, read_runs  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DATA = SHARED_DATA / "chinchilla-epoch" / "svg_extracted_data.csv"
GPT3 = SHARED_DATA / "gpt3-curves" / "extracted.csv"
GPT3_MODELS = Path(__file__).resolve().parents[1] / "fits" / "gpt3_models.csv"


def load() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 240 Epoch runs through scalecli's own CSV reader (tokens derived as C/(6N))."""
    if not DATA.exists():
        sys.exit(f"benchmarks/fit.py: dataset {DATA} not found (expected ../shared/data beside the checkout)")
    # Epoch drop the five highest losses: keep loss below the 5th-largest, 3.446995430227908 (SOURCE.md)
    runs = read_runs(str(DATA), where=["loss<3.446995430227908"])
    assert runs.rows_used == 240, runs.rows_used
    return runs["params"], runs["tokens"], runs["loss"]


def plain_loop(n, d, loss, options: dict | None = None) -> tuple[float, np.ndarray, int]:
    """L-BFGS-B from every grid point, same objective and gradient as the fast fit."""
    prob = pm._problem("chinchilla", [n, d], loss, None, pm.DEFAULT_DELTA, None)
    best_f, best_x, runs = math.inf, None, 0
    for x0 in prob.form.grid():
        res = minimize(prob.fun_grad, x0, jac=True, method="L-BFGS-B", options=options)
        runs += 1
        if res.fun < best_f:
            best_f, best_x = float(res.fun), res.x
    return best_f, best_x, runs


def gpt3_batch(repeats: int) -> None:
    """dynamics_batch on the GPT-3 curves: fit the models below 7e9 parameters, predict 13B and 175B."""
    if not GPT3.exists():
        sys.exit(f"benchmarks/fit.py: dataset {GPT3} not found")
    table = read_runs(
        str(GPT3),
        columns={"tokens": "step*1e9", "loss": "val_loss"},
        where=["val_loss>0 and step>=20"],
        join=str(GPT3_MODELS),
    )
    table = average_duplicates(table, ["params", "steps"])
    train = table["params"] < 7e9
    print(f"GPT-3 curves: {table.rows_used} points, {int(train.sum())} below 7e9 parameters")
    for fixed in ({}, {"B_crit_exp_N": 0.0}, {"B_crit_exp_N": 0.0, "B_crit_exp_D": 0.0}):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            res = pm.fit(
                "dynamics_batch",
                [table[r][train] for r in pm.roles("dynamics_batch")],
                table["loss"][train],
                fixed=fixed,
            )
            times.append(time.perf_counter() - start)
        errors = []
        for n in (12850e6, 174600e6):
            end = (table["params"] == n) & (table["tokens"] >= 295e9)
            pred = np.median(res.predict([table[r][end] for r in pm.roles("dynamics_batch")]))
            errors.append(f"{pred / np.median(table['loss'][end]) - 1:+.2%}")
        print(
            f"dynamics_batch fixed={fixed or '{}'}: {statistics.median(times):.2f} s (median of {repeats}); "
            f"objective {res.objective:.9f}; local runs {res.starts}; 13B, 175B final-loss error "
            + ", ".join(errors)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fast-fit repetitions (median reported)")
    parser.add_argument("--draws", type=int, default=1000, help="bootstrap draws to time")
    parser.add_argument("--tight-baseline", action="store_true", help="also time the plain loop tightly")
    parser.add_argument("--gpt3", action="store_true", help="also time dynamics_batch on the GPT-3 curves")
    args = parser.parse_args()
    n, d, loss = load()
    load_avg = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    print(f"Epoch Chinchilla runs: {loss.size} points; {os.cpu_count()} CPUs, load average {load_avg}")

    pm.fit("chinchilla", [n, d], loss)  # warm-up (imports, caches)
    searches = {"grid": pm.fit, "projection": pm.fit_projected}
    times: dict[str, list[float]] = {name: [] for name in searches}
    results = {}
    for _ in range(args.repeats):  # interleaved, so both see the same machine load
        for name, search in searches.items():
            start = time.perf_counter()
            results[name] = search("chinchilla", [n, d], loss)
            times[name].append(time.perf_counter() - start)
    fast, vp = results["grid"], results["projection"]
    t_fast, t_vp = (statistics.median(times[name]) for name in searches)
    print(
        f"(a) fast fit:  {t_fast:8.3f} s (median of {args.repeats}); grid {fast.grid_size}, "
        f"local runs {fast.starts}, best-basin runs {fast.best_basin_starts}; objective {fast.objective:.13g}"
    )
    print(
        f"(c) variable projection: {t_vp:8.3f} s (median of {args.repeats}); {vp.grid_size} exponent pairs, "
        f"Nelder-Mead, polish; objective {vp.objective:.13g} ({vp.objective - fast.objective:+.2e} against "
        f"(a); {t_fast / t_vp:.1f}x faster)"
    )

    start = time.perf_counter()
    plain_f, plain_x, runs = plain_loop(n, d, loss)
    t_plain = time.perf_counter() - start
    print(
        f"(b) plain loop: {t_plain:7.3f} s; {runs} L-BFGS-B runs (scipy defaults); objective {plain_f:.13g}"
    )
    print(f"speed-up (b)/(a): {t_plain / t_fast:.1f}x (target >= 20)")
    verdict = "no worse" if fast.objective <= plain_f else "WORSE"
    print(f"objective fast - plain: {fast.objective - plain_f:+.3e} ({verdict})")
    plain_params = dict(zip(("A", "B", "E"), np.exp(plain_x[:3]), strict=True))
    plain_params.update(alpha=plain_x[3], beta=plain_x[4])
    print("fast  params: " + ", ".join(f"{k}={v:.6g}" for k, v in fast.params.items()))
    print("plain params: " + ", ".join(f"{k}={plain_params[k]:.6g}" for k in fast.params))

    if args.tight_baseline:
        start = time.perf_counter()
        tight_f, _, runs = plain_loop(n, d, loss, dict(pm._LOCAL_OPTIONS))
        t_tight = time.perf_counter() - start
        print(
            f"(b') plain loop, tight tolerances: {t_tight:.3f} s; objective {tight_f:.13g}; "
            f"speed-up {t_tight / t_fast:.1f}x"
        )

    start = time.perf_counter()
    draws = bootstrap("chinchilla", [n, d], loss, fast, args.draws, seed=42)
    t_boot = time.perf_counter() - start
    print(
        f"bootstrap {args.draws} draws: {t_boot:.2f} s "
        f"({t_boot / args.draws * 1000:.1f} ms/draw; target < 60 s)"
    )
    iv = intervals(draws, 0.95)
    print("95% intervals: " + ", ".join(f"{k} ({lo:.4g}, {hi:.4g})" for k, (lo, hi) in iv.items()))

    if args.gpt3:
        gpt3_batch(args.repeats)


if __name__ == "__main__":
    main()
