"""How often a fit's 90% bootstrap interval covers the truth (issue 14, docs/statistics.md).

For two known laws and two noise levels, simulate IsoFLOP ladders (3 budgets x 5 sizes centred on
the law's own optimum, each run reporting 4 checkpoints; noise one offset per run plus a quarter
of it per checkpoint), fit each as `scale fit` does, bootstrap it by rows and by whole runs, and
print the coverage of the 90% intervals of N*, D* and the loss at the target budget.

    python benchmarks/calibration.py                    # 200 replications per case (about an hour)
    python benchmarks/calibration.py --replications 40  # a quick look
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from scalecli import presets  # noqa: E402
from scalecli.fitting import simulation as sim  # noqa: E402

# The shipped presets: Epoch's refit (Besiroglu et al. 2024, Table 1: nearly symmetric exponents)
# and Hoffmann et al.'s eq. 10 (alpha > beta).
LAWS = ("besiroglu2024", "hoffmann2022")
BUDGETS = (1e18, 4e18, 1.6e19)  # three budgets in factors of 4
SIZES = (0.25, 0.5, 1.0, 2.0, 4.0)  # x the law's optimum on each budget (about ±4x)
TARGET = 1e23


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--noise", type=float, nargs="+", default=[0.005, 0.02])
    parser.add_argument("--laws", nargs="+", default=list(LAWS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(
        f"{args.replications} replications, {args.draws} bootstrap draws each, "
        f"90% intervals at {TARGET:g} FLOPs"
    )
    print(f"{'law':<15} {'noise':>6} {'resampled':<9} {'N*':>6} {'D*':>6} {'loss':>6}  N* bias/sd")
    for name in args.laws:
        law = presets.load(name).law
        ladder = sim.ladder_for(law, BUDGETS, SIZES)
        for noise in args.noise:
            t0 = time.perf_counter()
            cal = sim.calibrate(
                "chinchilla",
                dict(law.params),
                ladder,
                noise,
                TARGET,
                replications=args.replications,
                draws=args.draws,
                seed=args.seed,
            )
            spread = cal.spread()["params"]
            for method, cov in cal.coverage().items():
                print(
                    f"{name:<15} {noise:>6.3f} {method:<9} {cov['params']:>6.0%} {cov['tokens']:>6.0%} "
                    f"{cov['loss']:>6.0%}  {spread['bias']:+.1%}/{spread['sd']:.1%}"
                )
            print(
                f"  ({ladder.runs} runs x {len(ladder.checkpoints)} checkpoints; "
                f"{time.perf_counter() - t0:.0f} s)"
            )
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
