#!/usr/bin/python3
"""Plot p_vanish and p_explode against depth from a lyapdiag run.

For one width d and slope a, the PNG has two panels, p_vanish = P(|x_L| < eps |x_0|)
and p_explode = P(|x_L| > |x_0|/eps) against the recorded depths L, for every family
in the file at two scales: the standard one (He 2/(1+a^2), the orthogonal gain) and
the Lyapunov one (variance_crit_theory, or the Monte Carlo variance_crit where no
theory exists). Each curve uses the grid variance nearest that scale (the legend
gives it; a fine variance grid, as in inputs/finite_depth.ini, keeps it close).
Lines are the exact FFT law (gaussian, orthogonal), points the Monte Carlo
estimate with its stderr (every family).

Run with Debian's python (needs python3-xarray, -netcdf4, -matplotlib):
    /usr/bin/python3 postproc/plot_finite_depth.py phase.nc [-o OUT.png] [--width D] [--slope A]
    /usr/bin/python3 postproc/plot_finite_depth.py phase.nc --table [--depth L]
"""
import argparse
import math
import sys

from plotlib import fail, open_dataset, plotting_modules, save

plt, np, xr = plotting_modules("plot_finite_depth.py")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("file", help="lyapdiag NetCDF phase diagram")
    p.add_argument("-o", "--output", help="PNG to write (default: FILE with _depth.png)")
    p.add_argument("--width", type=int, help="network width d (default: the narrowest)")
    p.add_argument("--slope", type=float, help="Leaky ReLU slope a (default: nearest 0.1)")
    p.add_argument("--table", action="store_true", help="print a table instead of plotting")
    p.add_argument("--depth", type=int, help="with --table: this depth only (default: every depth)")
    return p.parse_args(argv)


def curves(sl):
    """(family, scale label, s2 used, dataset at that variance) for the standard and Lyapunov scales."""
    a = float(sl.slope)
    for fam in sl.family.values:
        t = sl.sel(family=fam)
        crit = float(t.variance_crit_theory)
        if not math.isfinite(crit):
            crit = float(t.variance_crit)
        standard = 2 / (1 + a * a)
        for label, target in (("standard", standard), ("Lyapunov", crit)):
            if not math.isfinite(target):
                continue
            s2 = float(t.variance.sel(variance=target, method="nearest"))
            yield str(fam), label, target, s2, t.sel(variance=s2)


def print_table(sl, depth):
    depths = [int(L) for L in sl.depth.values if depth is None or int(L) == depth]
    if not depths:
        fail("plot_finite_depth.py", f"depth {depth} is not recorded; the file has {sl.depth.values.tolist()}")
    print(f"# width d = {int(sl.width)}, slope a = {float(sl.slope):g}, eps = {sl.attrs.get('eps', 'see file')}")
    print(f"{'family':<24}{'scale':<10}{'s2':>9}{'L':>7}  {'p_vanish mc +- se':>22}{'exact':>11}  "
          f"{'p_explode mc +- se':>22}{'exact':>11}")
    for fam, label, target, s2, t in curves(sl):
        for L in depths:
            x = t.sel(depth=L)
            print(f"{fam:<24}{label:<10}{s2:9.4g}{L:7d}  {float(x.p_vanish):11.4g} +- {float(x.p_vanish_stderr):7.2g}"
                  f"{float(x.p_vanish_theory):11.4g}  {float(x.p_explode):11.4g} +- "
                  f"{float(x.p_explode_stderr):7.2g}{float(x.p_explode_theory):11.4g}")


def plot(sl, out):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.8))
    L = sl.depth.values
    for i, (fam, label, target, s2, t) in enumerate(curves(sl)):
        color = f"C{i}"
        name = f"{fam}, {label} (s$^2$ = {s2:.3g})"
        for ax, var in zip(axes, ("p_vanish", "p_explode")):
            ax.errorbar(L, t[var].values, yerr=t[var + "_stderr"].values, fmt="o", ms=3, capsize=2, color=color,
                        label=name)
            exact = t[var + "_theory"].values
            if np.any(np.isfinite(exact)):
                ax.plot(L, exact, "-", color=color, lw=1)
    for ax, title in zip(axes, ("P(|x_L| < eps |x_0|): vanishing", "P(|x_L| > |x_0| / eps): exploding")):
        ax.set_xscale("log")
        ax.set_xlabel("depth L (layers)")
        ax.set_title(title, fontsize=10)
        ax.set_ylim(-0.02, 1.02)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.suptitle(f"Finite depth at width d = {int(sl.width)}, slope a = {float(sl.slope):g} "
                 "(points: Monte Carlo; lines: exact law, gaussian and orthogonal)", fontsize=10)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    save("plot_finite_depth.py", fig, out)


def main(argv):
    args = parse_args(argv)
    ds = open_dataset("plot_finite_depth.py", xr, args.file)
    if "p_vanish" not in ds:
        fail("plot_finite_depth.py", f"{args.file} has no p_vanish: written by an older lyapdiag?")
    width = int(ds.width.values[0]) if args.width is None else args.width
    if width not in ds.width.values:
        fail("plot_finite_depth.py", f"width {width} not in the file; it has {ds.width.values.tolist()}")
    slope = float(ds.slope.sel(slope=0.1 if args.slope is None else args.slope, method="nearest"))
    sl = ds.sel(width=width, slope=slope)
    sl.attrs = ds.attrs
    if args.table:
        print_table(sl, args.depth)
    else:
        plot(sl, args.output or args.file.rsplit(".", 1)[0] + "_depth.png")


if __name__ == "__main__":
    main(sys.argv[1:])
