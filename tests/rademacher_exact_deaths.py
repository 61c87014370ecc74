"""Deaths of rademacher networks in exact rational arithmetic: the
independent reference of tests/test_rademacher_matches_exact_laws.c.

    /usr/bin/python3 tests/rademacher_exact_deaths.py D NUM DEN REPLICAS DEPTH SEED

runs REPLICAS networks of width D, slope a = NUM/DEN and at most DEPTH
layers (W_ij = +-1, x_l = phi(W_l x_{l-1}); the scale is irrelevant: phi is
positively homogeneous) from random rational inputs, with Fractions, so a
row that cancels x gives exactly 0, and prints D, a, deaths, live
layer-steps and deaths per live layer-step. Standard library only."""
import random, sys
from fractions import Fraction
d, num, den, replicas, depth, seed = (int(v) for v in sys.argv[1:7])
a = Fraction(num, den)
rng = random.Random(seed)
deaths = live = 0
for r in range(replicas):
    x = [Fraction(rng.randint(-10**9, 10**9), 10**9) for _ in range(d)]
    for layer in range(depth):
        live += 1
        y = [sum(x[k] if rng.getrandbits(1) else -x[k] for k in range(d)) for _ in range(d)]
        x = [v if v > 0 else a * v for v in y]
        if not any(x):
            deaths += 1
            break
        m = max(abs(v) for v in x)
        x = [v / m for v in x]
print(d, float(a), deaths, live, deaths / live)
