"""lyapdiag from Python: the critical variance for your network, the theory
as a dict, phase-diagram files as xarray, and Lyapunov initialization of a
PyTorch model (issue 14; the names below are the contract).

Use it from the top of the tree with Debian's python3 (no build step):

    import sys; sys.path.insert(0, "postproc")
    import lyapdiag, torch
    s2 = lyapdiag.critical_variance(8, 0.01)        # gaussian s2_crit at width 8, slope 0.01
    t = lyapdiag.theory(8, 0.01, depth=60)         # every value `lyapdiag theory --format json` gives
    ds = lyapdiag.open_phase("phase.nc")           # xarray.Dataset
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.LeakyReLU(0.01), torch.nn.Linear(8, 8))
    lyapdiag.lyapunov_init_(model, slope=0.01)      # every square nn.Linear at s2_crit, biases 0
    net = lyapdiag.load_network("W.nc")            # `lyapdiag init`'s network as nn.Sequential

The functions run the lyapdiag program: $LYAPDIAG if set, else the one built
beside this directory, else the one on PATH. Errors come back as
LyapdiagError with lyapdiag's own one-line message. torch is needed only by
lyapunov_init_ and load_network; xarray only by open_phase and load_network.
"""
import functools
import json
import math
import os
import shutil
import subprocess

__all__ = ["LyapdiagError", "critical_variance", "theory", "open_phase", "lyapunov_init_", "load_network"]


class LyapdiagError(RuntimeError):
    """lyapdiag refused or failed; the message is its own one-line reason."""


def _program():
    explicit = os.environ.get("LYAPDIAG")
    if explicit:
        return explicit
    built = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "lyapdiag")
    if os.access(built, os.X_OK):
        return os.path.normpath(built)
    found = shutil.which("lyapdiag")
    if found:
        return found
    raise LyapdiagError("lyapdiag not found: build it (make), put it on PATH or set LYAPDIAG")


def _run(args):
    proc = subprocess.run([_program()] + [str(a) for a in args], capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        raise LyapdiagError(lines[-1] if lines else f"lyapdiag exited with status {proc.returncode}")
    return proc.stdout


@functools.lru_cache(maxsize=None)
def _theory_json(width, slope, family, variance, depth):
    args = ["theory", "--width", width, "--slope", repr(slope), "--format", "json"]
    if family is not None:
        args += ["--family", family]
    if variance is not None:
        args += ["--variance", repr(variance)]
    if depth is not None:
        args += ["--depth", depth]
    return _run(args)


def theory(width, slope, family=None, variance=None, depth=None):
    """`lyapdiag theory --format json` as a dict: {"width", "slope", "rows": [{"family",
    "scale", "variance", "lambda", "v", "s2_crit", "entry_std", ...}], "notes": [...]}.
    NaN and infinities (JSON null) come back as float("nan")."""
    data = json.loads(_theory_json(int(width), float(slope), family,
                                   None if variance is None else float(variance),
                                   None if depth is None else int(depth)))
    for row in data["rows"]:
        for key, value in row.items():
            if value is None:
                row[key] = float("nan")
    return data


def critical_variance(width, slope, family="gaussian"):
    """s2_crit (lambda = 0) of FAMILY at WIDTH and SLOPE: d times the entry variance
    (gaussian), or eta^2 of W = eta O (orthogonal). Exact where a closed form exists,
    else lyapdiag's Monte Carlo estimate."""
    for row in theory(width, slope, family=family)["rows"]:
        if row["family"] == family:
            return float(row["s2_crit"])
    raise LyapdiagError(f"lyapdiag theory gave no row for family {family!r}")


def open_phase(path):
    """A `lyapdiag run` file as an xarray.Dataset with its conventions applied: the
    family coordinate as Python strings, flag variables (phase, done, ...) as integers
    with their flag_meanings kept, and only finished tasks' values (the others NaN)."""
    import xarray as xr

    ds = xr.open_dataset(path, engine="netcdf4")
    if "family" in ds.coords:
        ds = ds.assign_coords(family=[str(f) for f in ds["family"].values])
    if "done" in ds:
        done = ds["done"] == 1
        for name, var in ds.data_vars.items():
            if name != "done" and var.dtype.kind == "f" and set(done.dims) <= set(var.dims):
                ds[name] = var.where(done)
    return ds


def _torch(function):
    """torch, or ImportError saying which function needs it and how to get it."""
    try:
        import torch
    except ImportError as err:
        raise ImportError(f"lyapdiag.{function} needs PyTorch ({err}): apt-get install python3-torch "
                          "(Debian's /usr/bin/python3) or pip install torch; critical_variance, theory "
                          "and open_phase work without it") from err
    return torch


def _square_linears(module):
    import torch

    return [m for m in module.modules() if isinstance(m, torch.nn.Linear) and m.in_features == m.out_features]


def _mean_log_gain(weights, slope, inputs, generator):
    import torch

    d = weights[0].shape[0]
    x = torch.randn(inputs, d, generator=generator, dtype=torch.float64)
    x = x / x.norm(dim=1, keepdim=True)
    gain = torch.zeros(inputs, dtype=torch.float64)
    for w in weights:
        x = torch.nn.functional.leaky_relu(x @ w.T, slope)
        norm = x.norm(dim=1, keepdim=True)
        gain += norm.squeeze(1).log()
        x = x / norm
    return float(gain.mean())


def lyapunov_init_(module, slope, family="gaussian", candidates=1, inputs=16, seed=0):
    """Initializes every square nn.Linear of MODULE in place at the critical scale of
    its width (lambda = 0), biases to zero: gaussian entries N(0, s2_crit/d), or
    orthogonal with gain sqrt(eta2_crit). With CANDIDATES > 1, draws that many sets of
    square layers and keeps the one whose mean log(|x_L|/|x_0|) over INPUTS random
    unit inputs is closest to 0, as `lyapdiag init` does. Returns MODULE."""
    torch = _torch("lyapunov_init_")

    if family not in ("gaussian", "orthogonal"):
        raise ValueError("family must be 'gaussian' or 'orthogonal'")
    layers = _square_linears(module)
    if not layers:
        raise ValueError("the module has no square nn.Linear layer")
    generator = torch.Generator().manual_seed(seed)
    best, best_score = None, math.inf
    for _ in range(max(1, int(candidates))):
        drawn = []
        for layer in layers:
            d = layer.in_features
            s2 = critical_variance(d, slope, family)
            w = torch.empty(d, d, dtype=torch.float64)
            if family == "gaussian":
                w.normal_(0.0, math.sqrt(s2 / d), generator=generator)
            else:
                q, r = torch.linalg.qr(torch.randn(d, d, generator=generator, dtype=torch.float64))
                w = math.sqrt(s2) * q * torch.sign(torch.diagonal(r))  # Haar: columns' signs fixed
            drawn.append(w)
        score = abs(_mean_log_gain(drawn, slope, inputs, generator)) if candidates > 1 else 0.0
        if score < best_score:
            best, best_score = drawn, score
    with torch.no_grad():
        for layer, w in zip(layers, best):
            layer.weight.copy_(w.to(layer.weight.dtype))
            if layer.bias is not None:
                layer.bias.zero_()
    return module


def load_network(path, dtype=None):
    """`lyapdiag init`'s network (W.nc) as torch.nn.Sequential of nn.Linear(d, d,
    bias=False) and nn.LeakyReLU(slope) layers, in float32 unless DTYPE says otherwise."""
    torch = _torch("load_network")
    import xarray as xr

    ds = xr.open_dataset(path)
    if "weights" not in ds or "slope" not in ds.attrs:
        raise LyapdiagError(f"{path}: not a `lyapdiag init` file (no weights variable or slope attribute)")
    dtype = torch.float32 if dtype is None else dtype
    weights = ds["weights"].values
    layers = []
    for w in weights:
        linear = torch.nn.Linear(w.shape[1], w.shape[0], bias=False, dtype=dtype)  # in DTYPE from the start:
        with torch.no_grad():                                                       # no float32 rounding on the way
            linear.weight.copy_(torch.from_numpy(w))
        layers += [linear, torch.nn.LeakyReLU(float(ds.attrs["slope"]))]
    return torch.nn.Sequential(*layers)
