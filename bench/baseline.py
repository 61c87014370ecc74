#!/usr/bin/python3
"""The Monte Carlo a researcher would write, for comparison with lyapdiag.

Batched numpy (and PyTorch on CPU in float64 and float32, when Debian's
python3-torch is installed), one thread each: R replica networks of width d,
each pushing B unit inputs through fresh weights every layer, Leaky ReLU,
renormalization and log-norm accumulation, exactly the matrix path of
lyapdiag. Two weight laws at the He variance s2/d: gaussian N(0, s2/d), and
uniform U(-b, b) with b = sqrt(3 s2/d), drawn the way a researcher would
(rng.uniform(-b, b, ...) and Tensor.uniform_(-b, b): one pass each). Prints one BENCH line per implementation with wall time,
lambda, its stderr (from replica means, as lyapdiag) and the cost to reach a
stderr of 1e-3: wall x (stderr / 1e-3)^2. With one input per network all
implementations sample the same law, so at equal replicas and depth their
costs compare as their layer-steps per second (steps_per_s), which is not
subject to the noise of an estimated stderr.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/baseline.py [d] [replicas] [depth] [batch] [laws]

laws: gaussian, uniform or gaussian,uniform (the default).
"""
import math
import sys
import time

import numpy as np


def report(name, law, wall, lambdas, d, replicas, depth, batch):
    lam = float(np.mean(lambdas))
    se = float(np.std(lambdas, ddof=1) / math.sqrt(len(lambdas)))
    print(f"BENCH baseline={name} family={law} d={d} replicas={replicas} depth={depth} batch={batch} wall_s={wall:.3f} "
          f"steps_per_s={replicas * depth * batch / wall:.3g} lambda={lam:.5f} stderr={se:.2e} "
          f"cost_to_1e-3_s={wall * (se / 1e-3) ** 2:.4g}")


def numpy_run(law, d, replicas, depth, batch, a, s2, seed=1):
    rng = np.random.default_rng(seed)
    sd = math.sqrt(s2 / d)
    bound = math.sqrt(3 * s2 / d)
    lambdas = []
    for _ in range(replicas):
        x = rng.standard_normal((d, batch))
        x /= np.linalg.norm(x, axis=0)
        total = np.zeros(batch)
        for _ in range(depth):
            w = rng.standard_normal((d, d)) * sd if law == "gaussian" else rng.uniform(-bound, bound, (d, d))
            y = w @ x
            y = np.where(y > 0, y, a * y)
            norms = np.linalg.norm(y, axis=0)
            total += np.log(norms)
            x = y / norms
        lambdas.append(total.mean() / depth)
    return lambdas


def torch_run(torch, dtype, law, d, replicas, depth, batch, a, s2, seed=1):
    gen = torch.Generator().manual_seed(seed)
    sd = math.sqrt(s2 / d)
    bound = math.sqrt(3 * s2 / d)
    lambdas = []
    for _ in range(replicas):
        x = torch.randn(d, batch, generator=gen, dtype=dtype)
        x /= x.norm(dim=0)
        total = torch.zeros(batch, dtype=torch.float64)
        for _ in range(depth):
            if law == "gaussian":
                w = torch.randn(d, d, generator=gen, dtype=dtype) * sd
            else:
                w = torch.empty(d, d, dtype=dtype).uniform_(-bound, bound, generator=gen)
            y = torch.nn.functional.leaky_relu(w @ x, a)
            norms = y.norm(dim=0)
            total += torch.log(norms).double()
            x = y / norms
        lambdas.append(float(total.mean()) / depth)
    return lambdas


def main():
    args = sys.argv[1:]
    d, replicas, depth, batch = (int(v) for v in (args[:4] + ["64", "16", "1000", "1"][len(args[:4]):]))
    laws = (args[4] if len(args) > 4 else "gaussian,uniform").split(",")
    a = 0.1
    s2 = 2 / (1 + a * a)
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None
        print("BENCH baseline=torch skipped: python3-torch not installed")
    for law in laws:
        t0 = time.perf_counter()
        lambdas = numpy_run(law, d, replicas, depth, batch, a, s2)
        report("numpy-float64", law, time.perf_counter() - t0, lambdas, d, replicas, depth, batch)
        if torch is None:
            continue
        for dtype, name in ((torch.float64, "torch-float64"), (torch.float32, "torch-float32")):
            t0 = time.perf_counter()
            lambdas = torch_run(torch, dtype, law, d, replicas, depth, batch, a, s2)
            report(name, law, time.perf_counter() - t0, lambdas, d, replicas, depth, batch)


if __name__ == "__main__":
    main()
