"""Generate runs.csv: synthetic final losses from a known Chinchilla law, with noise.

The truth is Hoffmann et al.'s eq. 10 (E 1.69, A 406.4, B 410.7, alpha 0.34, beta 0.28;
REFERENCE.md §2.1) with 0.5% multiplicative noise, so a fit of runs.csv should recover it.
Run from this folder: python make_runs.py
"""

import csv
import math
import random

random.seed(20241124)
E, A, B, ALPHA, BETA = 1.69, 406.4, 410.7, 0.34, 0.28
with open("runs.csv", "w", newline="") as fh:
    out = csv.writer(fh)
    out.writerow(["params", "tokens", "loss"])
    for i in range(10):
        params = 5e7 * 10 ** (i / 4.5)  # 50M to 5B
        for ratio in (5, 10, 20, 40, 80):
            tokens = params * ratio
            loss = (E + A / params**ALPHA + B / tokens**BETA) * math.exp(random.gauss(0, 0.005))
            out.writerow([f"{params:.6g}", f"{tokens:.6g}", f"{loss:.5f}"])
