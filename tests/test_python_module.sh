#!/bin/sh
# postproc/lyapdiag.py, the Python entry point (issue 14), run with Debian's
# python3 against the program's own output:
#   - critical_variance and theory give the numbers `lyapdiag theory
#     --format json` prints (bit for bit: the same text parsed), a lyapdiag
#     error comes back as LyapdiagError with its one-line message;
#   - open_phase reads a run's file with the family names as strings and
#     only finished tasks' values;
#   - with torch (skipped, and said, without it): lyapunov_init_ sets every
#     square nn.Linear at N(0, s2_crit/d) (sample variance within 4 stderr)
#     with zero biases and leaves the others alone; with candidates it keeps
#     the set whose mean log gain is closest to 0; load_network rebuilds
#     `lyapdiag init`'s network, whose float64 forward pass equals numpy's;
#   - without torch (hidden, so checked everywhere): those two raise an
#     ImportError naming themselves and python3-torch.
. "${top_srcdir:-.}/tests/lib.sh"
cd "$WORK" || exit 99
if ! "$PYTHON3" -c 'import xarray, netCDF4, numpy' 2>/dev/null; then
  echo "SKIP: $PYTHON3 lacks xarray/netCDF4 (apt-get install python3-xarray python3-netcdf4)"; exit 77
fi
export LYAPDIAG="$LYAPDIAG" PYTHONPATH="$top_srcdir/postproc"
mpi 2 "$LYAPDIAG" run "$top_srcdir/tests/decks/small.ini" --quiet --output small.nc || { fail "small.ini run"; finish; }
"$LYAPDIAG" init --width 8 --depth 6 --slope 0.1 --output W.nc >/dev/null 2>&1 || { fail "init"; finish; }
"$LYAPDIAG" theory --width 8 --slope 0.01 --format json >theory.json || { fail "theory json"; finish; }
"$PYTHON3" - <<'PY' >python.out 2>&1
import json, math, sys
import lyapdiag

def check(ok, what):
    print(("PASS: " if ok else "FAIL: ") + what)

rows = json.load(open("theory.json"))["rows"]
s2 = lyapdiag.critical_variance(8, 0.01)
check(s2 == [r["s2_crit"] for r in rows if r["family"] == "gaussian"][0], f"critical_variance(8, 0.01) = {s2!r}, the JSON's")
t = lyapdiag.theory(8, 0.01, depth=60)
keys = {"family", "scale", "variance", "lambda", "v", "s2_crit", "p_vanish", "p_explode", "q05", "median", "q95"}
check(keys <= set(t["rows"][0]), "theory(8, 0.01, depth=60) has the contract's keys")
s2o = lyapdiag.critical_variance(8, 0.01, family="orthogonal")
check(s2o == [r["s2_crit"] for r in rows if r["family"] == "orthogonal"][0], f"orthogonal eta2_crit {s2o!r}, the JSON's")
try:
    lyapdiag.theory(8, 2.0)
    check(False, "a slope of 2 raises")
except lyapdiag.LyapdiagError as e:
    check("slope" in str(e) and "\n" not in str(e), f"a slope of 2 raises LyapdiagError: {e}")

ds = lyapdiag.open_phase("small.nc")
check(all(isinstance(f, str) for f in ds["family"].values) and "gaussian" in list(ds["family"].values),
      f"open_phase: families as strings {list(ds['family'].values)}")
check(bool((ds["done"] == 1).all()) and bool(ds["lambda"].notnull().all()), "open_phase: every task done, lambda finite or inf")

try:
    import torch
except ImportError:
    print("SKIP: torch is not installed (apt-get install python3-torch): lyapunov_init_ and load_network untested")
    sys.exit(0)
torch.manual_seed(0)
d, depth, slope = 64, 8, 0.01
model = torch.nn.Sequential(torch.nn.Linear(3, d), torch.nn.LeakyReLU(slope),
                            *[m for _ in range(depth) for m in (torch.nn.Linear(d, d), torch.nn.LeakyReLU(slope))],
                            torch.nn.Linear(d, 1))
first = model[0].weight.detach().clone()
lyapdiag.lyapunov_init_(model, slope)
s2 = lyapdiag.critical_variance(d, slope)
w = torch.cat([m.weight.detach().double().flatten() for m in model if isinstance(m, torch.nn.Linear) and m.in_features == d and m.out_features == d])
var, n = float(w.var()), w.numel()
se = (s2 / d) * math.sqrt(2 / n)
check(abs(var - s2 / d) < 4 * se, f"lyapunov_init_: entry variance {var:.6f} vs s2_crit/d {s2 / d:.6f} (4 stderr {4 * se:.6f})")
biases = [m.bias for m in model if isinstance(m, torch.nn.Linear) and m.in_features == d and m.out_features == d]
check(all(float(b.abs().max()) == 0 for b in biases), "lyapunov_init_: square layers' biases zero")
check(torch.equal(first, model[0].weight.detach()), "lyapunov_init_: the non-square input layer untouched")

def gain(m, inputs=256):
    g = torch.Generator().manual_seed(123)
    x = torch.randn(inputs, d, generator=g, dtype=torch.float64)
    x = x / x.norm(dim=1, keepdim=True)
    total = torch.zeros(inputs, dtype=torch.float64)
    for layer in [l for l in m if isinstance(l, torch.nn.Linear) and l.in_features == d and l.out_features == d]:
        x = torch.nn.functional.leaky_relu(x @ layer.weight.detach().double().T, slope)
        total += x.norm(dim=1).log()
        x = x / x.norm(dim=1, keepdim=True)
    return float(total.mean())
lyapdiag.lyapunov_init_(model, slope, candidates=16, inputs=64, seed=5)
best = abs(gain(model))
single = [abs(gain(lyapdiag.lyapunov_init_(model, slope, seed=s))) for s in range(8)]
check(best <= sorted(single)[len(single) // 2], f"candidates=16: |mean log gain| {best:.3f} <= the median of single draws {sorted(single)[4]:.3f}")

import numpy as np, xarray as xr
net = lyapdiag.load_network("W.nc", dtype=torch.float64)
W = xr.open_dataset("W.nc")["weights"].values
a = float(xr.open_dataset("W.nc").attrs["slope"])
x = np.random.default_rng(1).standard_normal((5, 8))
y = x.copy()
for Wl in W:
    y = y @ Wl.T
    y = np.where(y > 0, y, a * y)
out = net(torch.from_numpy(x)).detach().numpy()
check(np.array_equal(out, y) or np.allclose(out, y, rtol=1e-14, atol=0), "load_network: float64 forward pass = numpy's")
check(lyapdiag.load_network("W.nc")[0].weight.dtype == torch.float32, "load_network: float32 by default")
PY
# Without torch (hidden from the import system, so this runs everywhere):
# the torch-free functions work, and the torch ones raise ImportError
# naming the function and how to install PyTorch.
"$PYTHON3" - <<'PY' >>python.out 2>&1
import sys
sys.modules["torch"] = None  # `import torch` now fails as if not installed
import lyapdiag

def check(ok, what):
    print(("PASS: " if ok else "FAIL: ") + what)

check(lyapdiag.critical_variance(8, 0.01) > 0, "without torch: critical_variance works")
for name, call in (("lyapunov_init_", lambda: lyapdiag.lyapunov_init_(None, slope=0.01)),
                   ("load_network", lambda: lyapdiag.load_network("W.nc"))):
    try:
        call()
        check(False, f"without torch: {name} raises")
    except ImportError as e:
        check(f"lyapdiag.{name} needs PyTorch" in str(e) and "python3-torch" in str(e),
              f"without torch: {name} raises ImportError: {e}")
PY
cat python.out
grep -q '^FAIL' python.out && fail "postproc/lyapdiag.py (see above)"
grep -c '^PASS' python.out | { read n; [ "$n" -ge 7 ] && pass "postproc/lyapdiag.py: $n checks passed" || fail "only $n checks passed"; }
finish
