#!/usr/bin/python3
"""Plot the Lyapunov spectrum of a lyapdiag run (deck key [sampling] spectrum = K).

For one slope a and one variance s^2 (default: the grid variance nearest He,
2/(1+a^2)), one panel per width (--widths chooses them; default every width of
the file), at most 4 panels to a row: lambda_i against the index i for every
family in the file, Monte Carlo +- stderr, with the exact values where THEORY.md
has them (spectrum_theory) and, for reference, Newman's gaussian spectrum of the
linear network (a = 1) at the same s^2. A family has one colour in every panel;
each panel's legend, below it (never over the points), gives each family's
isometry gap lambda_1 - lambda_K at that width.

Run with Debian's python (needs python3-xarray, -netcdf4, -matplotlib):
    /usr/bin/python3 postproc/plot_spectrum.py phase.nc [-o OUT.png] [--slope A] [--variance S2] [--widths 4,16]
    /usr/bin/python3 postproc/plot_spectrum.py phase.nc --table    # text, no PNG
"""
import argparse
import math
import sys

from plotlib import choose_widths, fail, open_dataset, plotting_modules, save

plt, np, xr = plotting_modules("plot_spectrum.py")
import matplotlib.ticker  # noqa: E402  (after the backend is chosen)


def digamma(x):
    """psi(x) for x > 0: recurrence up to x >= 6, then the asymptotic series (error < 1e-12)."""
    shift = 0.0
    while x < 6:
        shift -= 1 / x
        x += 1
    inv2 = 1 / (x * x)
    return shift + math.log(x) - 0.5 / x - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 / 252))


def newman(d, s2, k):
    """THEORY.md: gaussian a = 1 exponents 0.5 (log(s2/d) + psi((d-i+1)/2) + log 2)."""
    return [0.5 * (math.log(s2 / d) + digamma((d - i + 1) / 2) + math.log(2)) for i in range(1, k + 1)]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("file", help="lyapdiag NetCDF file with the spectrum variables")
    p.add_argument("-o", "--output", help="PNG to write (default: FILE with _spectrum.png)")
    p.add_argument("--slope", type=float, help="Leaky ReLU slope a (default: nearest 0.1)")
    p.add_argument("--variance", type=float, help="variance s^2 (default: nearest He 2/(1+a^2))")
    p.add_argument("--widths", "--width", nargs="+", metavar="D",
                   help="the widths to show, e.g. --widths 4 16 or --widths 4,16 (default: every width)")
    p.add_argument("--table", action="store_true", help="print the spectra as text instead")
    return p.parse_args(argv)


PER_ROW = 4  # panels in a row of the figure


def select(ds, slope, variance, widths):
    if "spectrum" not in ds:
        fail("plot_spectrum.py", "the file has no spectrum: run a deck with [sampling] spectrum = K (or all)")
    a = float(ds.slope.sel(slope=0.1 if slope is None else slope, method="nearest"))
    s2 = float(ds.variance.sel(variance=2 / (1 + a * a) if variance is None else variance, method="nearest"))
    return a, s2, ds.sel(slope=a, variance=s2, width=choose_widths("plot_spectrum.py", ds, widths))


def rows(sl):
    """(family, width, mc, stderr, theory, gap) per task, finite indices only."""
    for fam in sl.family.values:
        for d in sl.width.values:
            t = sl.sel(family=fam, width=d)
            k = int(np.sum(~np.isnan(t.spectrum.values) | np.isinf(t.spectrum.values)))
            if k == 0:
                continue
            yield (str(fam), int(d), t.spectrum.values[:k], t.spectrum_stderr.values[:k],
                   t.spectrum_theory.values[:k], float(t.isometry_gap))


def print_table(a, s2, sl):
    print(f"# Lyapunov spectrum at slope a = {a:g}, variance s2 = {s2:g}: mc +- stderr (theory)")
    for fam, d, mc, se, th, gap in rows(sl):
        print(f"{fam} d={d} isometry_gap={gap:.4g}")
        for i, (m, e, t) in enumerate(zip(mc, se, th), 1):
            print(f"  lambda_{i:<3d} {m: .5f} +- {e:.5f}  ({t: .5f})")


def plot(a, s2, sl, out):
    widths = [int(d) for d in sl.width.values]
    ncols = min(PER_ROW, len(widths))
    nrows = -(-len(widths) // ncols)
    colors = {str(f): f"C{i}" for i, f in enumerate(sl.family.values)}
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 4.4 * nrows), squeeze=False, layout="constrained")
    for ax in axes.flat[len(widths):]:
        ax.set_visible(False)
    for ax, d in zip(axes.flat, widths):
        for fam, dd, mc, se, th, gap in rows(sl):
            if dd != d:
                continue
            i = np.arange(1, len(mc) + 1)
            finite = np.isfinite(mc)
            color = colors[fam]
            ax.errorbar(i[finite], mc[finite], yerr=se[finite], fmt="o", ms=3, capsize=2, color=color,
                        label=f"{fam} (gap {gap:.3g})")
            known = np.isfinite(th)
            if np.sum(known) > 1:
                ax.plot(i[known], th[known], "-", color=color, lw=1)
            elif np.any(known):  # lambda_1 = lambda alone: a marker, not a line
                ax.plot(i[known], th[known], "x", color=color, ms=9, mew=1.5)
        k = max((len(r[2]) for r in rows(sl) if r[1] == d), default=0)
        if k:
            ax.plot(np.arange(1, k + 1), newman(d, s2, k), "k:", lw=1, label="Newman, linear (a = 1)")
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_title(f"width d = {d}")
        ax.set_xlabel("index i")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_ylabel(r"$\lambda_i$ per layer")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1, frameon=False)
    fig.suptitle(f"Lyapunov spectrum of the Jacobian, a = {a:g}, s$^2$ = {s2:g} "
                 "(points: Monte Carlo; lines and x: exact; gap = $\\lambda_1 - \\lambda_K$)", fontsize=10)
    save("plot_spectrum.py", fig, out)


def main(argv):
    args = parse_args(argv)
    ds = open_dataset("plot_spectrum.py", xr, args.file)
    a, s2, sl = select(ds, args.slope, args.variance, args.widths)
    if args.table:
        print_table(a, s2, sl)
    else:
        out = args.output or args.file.rsplit(".", 1)[0] + "_spectrum.png"
        plot(a, s2, sl, out)


if __name__ == "__main__":
    main(sys.argv[1:])
