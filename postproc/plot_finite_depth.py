#!/usr/bin/python3
"""Plot p_vanish and p_explode against depth from a lyapdiag run.

For one width d and slope a, the PNG has two panels, p_vanish = P(|x_L| < eps |x_0|)
and p_explode = P(|x_L| > |x_0|/eps) against the recorded depths L, for every family
in the file at two scales: the standard one (He 2/(1+a^2), the orthogonal gain) and
the Lyapunov one (variance_crit_theory, or the Monte Carlo variance_crit where no
theory exists). Lines are the exact FFT law at the scale itself (gaussian,
orthogonal: the file's p_*_theory where the grid holds the scale, else
`lyapdiag theory --variance S2 --depth L`); points the Monte Carlo estimate with
its stderr (every family) at the grid variance nearest the scale, shown only
when it lies within 2% of it (the legend gives both). A scale outside the file's
variances (d = 2: s2_crit = 10.2 against a grid up to 4), or farther than 2%
from every grid variance, gets no Monte Carlo points and a warning on stderr;
a family without an exact law is then left out, with a warning. A fine
variance grid, as in inputs/finite_depth.ini, keeps the points close.

Run with Debian's python (needs python3-xarray, -netcdf4, -matplotlib):
    /usr/bin/python3 postproc/plot_finite_depth.py phase.nc [-o OUT.png] [--width D] [--slope A]
    /usr/bin/python3 postproc/plot_finite_depth.py phase.nc --table [--depth L]
"""
import argparse
import collections
import json
import math
import sys

import lyapdiag
from plotlib import fail, open_dataset, plotting_modules, save

plt, np, xr = plotting_modules("plot_finite_depth.py")

SCRIPT = "plot_finite_depth.py"
NEAR = 0.02  # Monte Carlo at a grid variance within 2% of a scale stands for that scale
LAWS = ("p_vanish", "p_explode")

# One curve: FAMILY at scale LABEL (its variance TARGET); Monte Carlo MC (the
# dataset at grid variance S2, over depth) or None; EXACT {law: values over
# depth} at TARGET itself, or None where the family has no exact law.
Curve = collections.namedtuple("Curve", "family label target s2 mc exact")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("file", help="lyapdiag NetCDF phase diagram")
    p.add_argument("-o", "--output", help="PNG to write (default: FILE with _depth.png)")
    p.add_argument("--width", type=int, help="network width d (default: the narrowest)")
    p.add_argument("--slope", type=float, help="Leaky ReLU slope a (default: nearest 0.1)")
    p.add_argument("--table", action="store_true", help="print a table instead of plotting")
    p.add_argument("--depth", type=int, help="with --table: this depth only (default: every depth)")
    return p.parse_args(argv)


def warn(message):
    print(f"{SCRIPT}: warning: {message}", file=sys.stderr)


def exact_law(t, family, target, s2):
    """{p_vanish, p_explode: values over the file's depths} of the exact law at TARGET, or
    None if FAMILY has none: the file's own where the grid holds TARGET, else lyapdiag theory's."""
    if not np.isfinite(t.p_vanish_theory.values).any():
        return None
    if abs(math.log(s2 / target)) < 1e-12:
        return {law: t.sel(variance=s2)[law + "_theory"].values for law in LAWS}
    eps = float(t.attrs.get("eps", 1e-3))
    out = {law: [] for law in LAWS}
    for L in t.depth.values:
        try:
            doc = json.loads(lyapdiag._run(["theory", "--width", int(t.width), "--slope", repr(float(t.slope)),
                                            "--family", family, "--variance", repr(target), "--depth", int(L),
                                            "--eps", repr(eps), "--format", "json"]))
        except lyapdiag.LyapdiagError as err:
            fail(SCRIPT, f"the exact law of {family} at s2 = {target:.6g}: {err}")
        row = doc["rows"][0]  # the given variance
        for law in LAWS:
            out[law].append(math.nan if row.get(law) is None else row[law])
    return {law: np.array(values) for law, values in out.items()}


def curves(sl):
    """The Curve of every family at the standard and the Lyapunov scale, with a warning for
    each scale the file's variance grid does not hold (within NEAR)."""
    a = float(sl.slope)
    v = sl.variance.values
    for fam in sl.family.values:
        fam = str(fam)
        t = sl.sel(family=fam)
        t.attrs = sl.attrs
        crit = float(t.variance_crit_theory)
        label = "Lyapunov"
        if math.isnan(crit):
            crit, label = float(t.variance_crit), "Lyapunov (Monte Carlo s2_crit)"
        for name, target in (("standard", 2 / (1 + a * a)), (label, crit)):
            if not math.isfinite(target) or target <= 0:
                warn(f"{fam}, d = {int(sl.width)}, a = {a:g}: no finite s2_crit (lambda = -inf at every "
                     "variance: the signal dies), so no Lyapunov curve")
                continue
            s2 = float(t.variance.sel(variance=target, method="nearest"))
            exact = exact_law(t, fam, target, s2)
            off = abs(math.log(s2 / target))
            if off <= NEAR:
                yield Curve(fam, name, target, s2, t.sel(variance=s2), exact)
                continue
            where = (f"lies outside the file's variances ({v.min():g} to {v.max():g})"
                     if target < v.min() or target > v.max()
                     else f"is {100 * (math.exp(off) - 1):.0f}% from the nearest grid variance {s2:g}")
            then = ("the curve is the exact law at that s2 (lyapdiag theory)" if exact is not None
                    else f"{fam} has no exact law either: left out of the plot")
            warn(f"{fam}, {name} scale at d = {int(sl.width)}, a = {a:g}: s2 = {target:.4g} {where}: no Monte "
                 f"Carlo points for it; {then}; for Monte Carlo there, give the deck variances within "
                 f"{100 * NEAR:.0f}% of {target:.4g}")
            if exact is not None:
                yield Curve(fam, name, target, None, None, exact)


def print_table(sl, depth):
    depths = [int(L) for L in sl.depth.values if depth is None or int(L) == depth]
    if not depths:
        fail(SCRIPT, f"depth {depth} is not recorded; the file has {sl.depth.values.tolist()}")
    print(f"# width d = {int(sl.width)}, slope a = {float(sl.slope):g}, eps = {sl.attrs.get('eps', 'see file')}; "
          "s2: the scale (exact law there); s2 mc: the grid variance of the Monte Carlo")
    print(f"{'family':<24}{'scale':<11}{'s2':>10}{'s2 mc':>9}{'L':>7}  {'p_vanish mc +- se':>22}{'exact':>11}  "
          f"{'p_explode mc +- se':>22}{'exact':>11}")
    all_depths = [int(L) for L in sl.depth.values]
    for c in curves(sl):
        for L in depths:
            i = all_depths.index(L)
            cells = []
            for law in LAWS:
                mc = "-" if c.mc is None else (f"{float(c.mc[law].sel(depth=L)):11.4g} +- "
                                               f"{float(c.mc[law + '_stderr'].sel(depth=L)):7.2g}")
                exact = math.nan if c.exact is None else c.exact[law][i]
                cells.append(f"{mc:>22}{exact:11.4g}")
            s2_mc = "-" if c.s2 is None else f"{c.s2:.4g}"
            print(f"{c.family:<24}{c.label.split()[0]:<11}{c.target:10.4g}{s2_mc:>9}{L:7d}  {cells[0]}  {cells[1]}")


def plot(sl, out):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.8))
    L = sl.depth.values
    names = []
    for i, c in enumerate(curves(sl)):
        color = f"C{i}"
        name = f"{c.family}, {c.label}: s$^2$ = {c.target:.4g}"
        if c.s2 is not None and abs(math.log(c.s2 / c.target)) > 1e-12:
            name += f" (Monte Carlo at {c.s2:.4g})"
        elif c.mc is None:
            name += " (exact law only)"
        names.append(name)
        for ax, law in zip(axes, LAWS):
            label = name
            if c.mc is not None:
                ax.errorbar(L, c.mc[law].values, yerr=c.mc[law + "_stderr"].values, fmt="o", ms=3, capsize=2,
                            color=color, label=label)
                label = None
            if c.exact is not None and np.any(np.isfinite(c.exact[law])):
                ax.plot(L, c.exact[law], "-", color=color, lw=1, label=label)
    for ax, title in zip(axes, ("P(|x_L| < eps |x_0|): vanishing", "P(|x_L| > |x_0| / eps): exploding")):
        ax.set_xscale("log")
        ax.set_xlabel("depth L (layers)")
        ax.set_title(title, fontsize=10)
        ax.set_ylim(-0.02, 1.02)
    shown = dict(zip(*reversed(axes[0].get_legend_handles_labels())))  # label -> handle
    fig.legend([shown[n] for n in names if n in shown], [n for n in names if n in shown], loc="lower center",
               ncol=2, fontsize=7, frameon=False)
    fig.suptitle(f"Finite depth at width d = {int(sl.width)}, slope a = {float(sl.slope):g} "
                 "(points: Monte Carlo; lines: exact law, gaussian and orthogonal)", fontsize=10)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    save(SCRIPT, fig, out)


def main(argv):
    args = parse_args(argv)
    ds = open_dataset(SCRIPT, xr, args.file)
    if "p_vanish" not in ds:
        fail(SCRIPT, f"{args.file} has no p_vanish: written by an older lyapdiag?")
    width = int(ds.width.values[0]) if args.width is None else args.width
    if width not in ds.width.values:
        fail(SCRIPT, f"width {width} not in the file; it has {ds.width.values.tolist()}")
    slope = float(ds.slope.sel(slope=0.1 if args.slope is None else args.slope, method="nearest"))
    sl = ds.sel(width=width, slope=slope)
    sl.attrs = ds.attrs
    if args.table:
        print_table(sl, args.depth)
    else:
        plot(sl, args.output or args.file.rsplit(".", 1)[0] + "_depth.png")


if __name__ == "__main__":
    main(sys.argv[1:])
