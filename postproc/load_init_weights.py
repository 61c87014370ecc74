#!/usr/bin/python3
"""Load a `lyapdiag init` network and check it by a forward pass.

    /usr/bin/python3 postproc/load_init_weights.py W.nc [--inputs N] [--seed S]

W.nc holds weights(layer, row, col): the matrices W_l of x_l = phi(W_l x_{l-1}),
phi(z) = max(z, a z), scale included, so they are used as they are:

    import xarray as xr, torch
    ds = xr.open_dataset("W.nc")
    W = ds.weights.values                            # numpy, (L, d, d), float64
    L, d, _ = W.shape
    layers = []
    for l in range(L):
        linear = torch.nn.Linear(d, d, bias=False)   # computes x W^T, so weight = W_l
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W[l]))  # cast to the layer's float32
        layers += [linear, torch.nn.LeakyReLU(float(ds.attrs["slope"]))]
    net = torch.nn.Sequential(*layers)
    x = torch.nn.functional.normalize(torch.randn(100, d), dim=1)
    gain = net(x).norm(dim=1).log().mean()           # near ds.attrs["mean_log_gain"]

The script pushes N random unit inputs through the network with numpy and
prints their mean log(|x_L|/|x_0|), which Lyapunov initialization puts near 0:
it must agree with the file's mean_log_gain (measured by lyapdiag on its own
`inputs` inputs) within 4 standard errors. If PyTorch is installed, it builds
the network from nn.Linear(bias=False) + nn.LeakyReLU layers and checks that
the torch forward pass gives the same numbers; without torch it says so and
checks the numpy pass only. Exit 0 if the checks pass, 1 if not, 2 for a
file it cannot read. Needs Debian's python3-xarray, python3-netcdf4.
"""
import argparse
import sys

try:
    import numpy as np
    import xarray as xr
except ImportError as err:  # the python3 first on PATH is often not Debian's
    sys.exit(f"load_init_weights.py: {err.name} missing: run with Debian's /usr/bin/python3 "
             "(apt-get install python3-xarray python3-netcdf4)")
try:
    import torch
except ImportError:
    torch = None


def load(path):
    """The weights (L, d, d) and the file's attributes."""
    try:
        ds = xr.open_dataset(path)
    except (OSError, ValueError) as err:
        print(f"load_init_weights.py: {path}: cannot read ({err})", file=sys.stderr)
        sys.exit(2)
    if "weights" not in ds or "mean_log_gain" not in ds.attrs:
        print(f"load_init_weights.py: {path}: not a `lyapdiag init` file", file=sys.stderr)
        sys.exit(2)
    return ds.weights.values, ds.attrs


def unit_inputs(n, d, seed):
    x = np.random.default_rng(seed).standard_normal((n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def log_gains_numpy(weights, slope, x):
    """log(|x_L|/|x_0|) of each row of X (unit rows), renormalizing every layer."""
    total = np.zeros(len(x))
    for w in weights:
        z = x @ w.T
        x = np.where(z > 0, z, slope * z)
        norm = np.linalg.norm(x, axis=1)
        total += np.log(norm)
        x = x / norm[:, None]
    return total


def log_gains_torch(weights, slope, x):
    """The same with torch modules: what a training script would build."""
    d = weights.shape[1]
    layers = []
    for w in weights:
        linear = torch.nn.Linear(d, d, bias=False, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))  # Linear computes x W^T: weight = W_l
        layers.append(torch.nn.Sequential(linear, torch.nn.LeakyReLU(slope)))
    total = torch.zeros(len(x), dtype=torch.float64)
    h = torch.from_numpy(x)
    with torch.no_grad():
        for layer in layers:
            h = layer(h)
            norm = h.norm(dim=1)
            total += norm.log()
            h = h / norm[:, None]
    return total.numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", help="NetCDF file written by lyapdiag init")
    parser.add_argument("--inputs", type=int, default=1000, help="random unit inputs (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="numpy seed of the inputs (default 0)")
    args = parser.parse_args()

    weights, attrs = load(args.file)
    depth, d, _ = weights.shape
    slope = float(attrs["slope"])
    print(f"{args.file}: {attrs['family']} d = {d}, a = {slope:g}, L = {depth}, "
          f"variance {float(attrs['variance']):.9g} ({attrs['variance_kind']}); "
          f"candidate {int(attrs['chosen_candidate'])} of {int(attrs['candidates'])}")

    x = unit_inputs(args.inputs, d, args.seed)
    gains = log_gains_numpy(weights, slope, x)
    mean, sd = gains.mean(), gains.std(ddof=1) if len(gains) > 1 else 0.0
    stored, stored_inputs = float(attrs["mean_log_gain"]), int(attrs["inputs"])
    tolerance = 4 * sd * np.sqrt(1 / args.inputs + 1 / stored_inputs)
    ok = abs(mean - stored) <= tolerance
    print(f"mean log(|x_L|/|x_0|) over {args.inputs} random unit inputs: {mean:.4f} (sd {sd:.4f} per input); "
          f"file's mean_log_gain over its {stored_inputs} inputs: {stored:.4f}; "
          f"candidates spanned {float(attrs['mean_log_gain_min']):.4f} to {float(attrs['mean_log_gain_max']):.4f}")
    print(f"{'PASS' if ok else 'FAIL'}: |{mean:.4f} - {stored:.4f}| = {abs(mean - stored):.4f} "
          f"<= 4 stderr {tolerance:.4f}")

    if torch is None:
        print("torch not installed: skipped the nn.Linear check (numpy pass only)")
    else:
        diff = float(np.max(np.abs(log_gains_torch(weights, slope, x) - gains)))
        torch_ok = diff <= 1e-9 * depth
        ok = ok and torch_ok
        print(f"{'PASS' if torch_ok else 'FAIL'}: torch {torch.__version__} nn.Linear(bias=False) + LeakyReLU "
              f"forward pass = numpy's, max |diff| {diff:.3g} <= {1e-9 * depth:.3g}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
