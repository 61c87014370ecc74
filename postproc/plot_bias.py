#!/usr/bin/python3
"""Plot what biases do at finite width (a lyapdiag file from a deck with
[grid] bias_variances, e.g. inputs/bias.ini; doc/THEORY.md "Biases").

Three panels:
  (1) the law of m_L = |x_L|^2/d at depth L for each width (gaussian weights
      at the He variance, one bias variance): the exact 5-50-95% points
      (signal_*_exact), the Monte Carlo ones beside them, and the mean-field
      value, which has no spread at all, on a log axis;
  (2) the (s2, sb2) phase diagram per width: the Monte Carlo phase
      (stationary / exploding), the exact boundary s2_crit, the mean-field
      boundary He, and the tail index kappa of the stationary law (it does
      not depend on sb2: vertical lines at kappa = 1/2, 1, 2; kappa < 1
      between He and s2_crit, an infinite mean);
  (3) with [sampling] input_cosine: the cosine of two inputs against depth,
      finite width (Monte Carlo mean +- sd) against mean field.

Run with Debian's python (needs python3-xarray, -netcdf4, -matplotlib):
    /usr/bin/python3 postproc/plot_bias.py bias.nc [-o OUT.png] [--family F] [--slope A]
        [--bias-variance B] [--depth L] [--table]
"""
import argparse
import os
import sys

from plotlib import fail, open_dataset, plotting_modules, save

SCRIPT = "plot_bias.py"
plt, np, xr = plotting_modules(SCRIPT)

REQUIRED = ("signal_median", "signal_mean_meanfield", "phase_bias", "tail_index", "bias_variance")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("file", help="lyapdiag NetCDF file of a deck with bias_variances")
    p.add_argument("-o", "--output", help="PNG to write (default: FILE with .png)")
    p.add_argument("--family", default="gaussian", help="weight family of panels 2 and 3 (default gaussian)")
    p.add_argument("--slope", type=float, default=0.1, help="Leaky ReLU slope a (default: the file's nearest 0.1)")
    p.add_argument("--bias-variance", type=float, default=0.05,
                   help="sb2 of panels 1 and 3 (default: the file's nearest 0.05)")
    p.add_argument("--depth", type=int, default=50, help="depth L of panel 1 (default: the file's nearest 50)")
    p.add_argument("--table", action="store_true", help="print panel 1's numbers instead of plotting")
    return p.parse_args(argv)


def open_file(path):
    if not os.path.isfile(path):
        fail(SCRIPT, f"{path}: no such file")
    ds = open_dataset(SCRIPT, xr, path)
    missing = [v for v in REQUIRED if v not in ds.variables]
    if missing:
        fail(SCRIPT, f"{path}: no biases in this file (missing {', '.join(missing)}); "
             "run a deck with [grid] bias_variances, e.g. inputs/bias.ini")
    return ds


def nearest(ds, coord, value):
    values = ds[coord].values
    i = int(np.argmin(np.abs(values - value)))
    return values[i]


def select(ds, args):
    families = [str(f) for f in ds["family"].values]
    if args.family not in families:
        fail(SCRIPT, f"family {args.family!r} not in file (has: {', '.join(families)})")
    a = nearest(ds, "slope", args.slope)
    positive = ds["bias_variance"].values[ds["bias_variance"].values > 0]
    if positive.size == 0:
        fail(SCRIPT, "the file has no bias variance > 0")
    sb2 = positive[np.argmin(np.abs(positive - args.bias_variance))]
    depth = nearest(ds, "depth", args.depth)
    return ds.sel(family=args.family, slope=a), float(a), float(sb2), int(depth)


def he(a):
    return 2.0 / (1.0 + a * a)


def law_rows(sl, sb2, depth):
    """Per width at the grid variance nearest He: (d, s2, exact q05, median, q95, MC q05, median, q95, mean field)."""
    a = float(sl["slope"])
    s2 = nearest(sl, "variance", he(a))
    at = sl.sel(variance=s2, bias_variance=sb2, depth=depth)
    get = lambda name: at[name].values if name in at else np.full(at["width"].size, np.nan)
    return s2, zip(at["width"].values, get("signal_q05_exact"), get("signal_median_exact"), get("signal_q95_exact"),
                   get("signal_q05"), get("signal_median"), get("signal_q95"), get("signal_mean_meanfield"))


def print_table(sl, sb2, depth, path):
    s2, rows = law_rows(sl, sb2, depth)
    print(f"# {path}: {str(sl['family'].item())}, a = {float(sl['slope']):g}, s2 = {s2:.6g}, sb2 = {sb2:g}, "
          f"L = {depth}: m_L = |x_L|^2/d")
    print(f"{'d':>5} {'exact q05':>11} {'median':>11} {'q95':>11} {'mc q05':>11} {'median':>11} {'q95':>11} "
          f"{'mean field':>11}")
    for row in rows:
        print(f"{row[0]:>5} " + " ".join(f"{x:>11.4g}" for x in row[1:]))


def plot_law(ax, sl, sb2, depth):
    s2, rows = law_rows(sl, sb2, depth)
    for k, (d, e05, e50, e95, m05, m50, m95, mf) in enumerate(rows):
        ax.plot([e05, e95], [k + 0.1, k + 0.1], "-", color="black", lw=3, label="exact 5-95%" if k == 0 else None)
        ax.plot([e50], [k + 0.1], "o", color="black", label="exact median" if k == 0 else None)
        ax.plot([m05, m95], [k - 0.1, k - 0.1], "-", color="tab:orange", lw=2,
                label="Monte Carlo 5-95%" if k == 0 else None)
        ax.plot([m50], [k - 0.1], "o", color="tab:orange", label="Monte Carlo median" if k == 0 else None)
        ax.plot([mf], [k], "|", color="tab:blue", ms=22, mew=3, label="mean field (no spread)" if k == 0 else None)
    widths = sl["width"].values
    ax.set_yticks(range(len(widths)), [f"d = {d}" for d in widths])
    ax.set_xscale("log")
    ax.set_xlabel(r"$m_L = |x_L|^2 / d$")
    ax.set_title(rf"(1) the signal at L = {depth}: $s^2$ = {s2:.3g} (He), $\sigma_b^2$ = {sb2:g}")
    ax.legend(fontsize=7, loc="lower right")


def plot_phase(fig, axes, sl):
    a = float(sl["slope"])
    v = sl["variance"].values
    sb = sl["bias_variance"].values
    sb = sb[sb > 0]
    for ax, d in zip(axes, sl["width"].values):
        w = sl.sel(width=d)
        phase = w["phase_bias"].sel(bias_variance=sb).transpose("bias_variance", "variance").values
        edges_v = np.concatenate(([v[0] / 1.1], np.sqrt(v[1:] * v[:-1]), [v[-1] * 1.1]))
        edges_b = np.concatenate(([sb[0] / 1.5], np.sqrt(sb[1:] * sb[:-1]), [sb[-1] * 1.5]))
        ax.pcolormesh(edges_v, edges_b, phase, cmap="coolwarm", vmin=-1, vmax=1, shading="flat")
        crit = float(w["variance_crit_theory"]) if "variance_crit_theory" in w else np.nan
        if not np.isfinite(crit):
            crit = float(w["variance_crit"])
        ax.axvline(crit, color="black", lw=2, label=r"exact boundary $s^2_{\rm crit}$")
        ax.axvline(he(a), color="tab:green", ls="--", lw=2, label="mean field: He")
        kappa = w["tail_index"].values
        for level, style in ((0.5, ":"), (1, "-."), (2, (0, (1, 3)))):
            ok = np.isfinite(kappa)
            if ok.sum() >= 2 and kappa[ok].min() < level < kappa[ok].max():
                order = np.argsort(kappa[ok])
                s2_at = np.exp(np.interp(level, kappa[ok][order], np.log(v[ok][order])))
                ax.axvline(s2_at, color="purple", ls=style, lw=1, label=rf"tail index $\kappa$ = {level:g}")
                ax.text(s2_at, 0.98, rf" $\kappa$={level:g}", transform=ax.get_xaxis_transform(), color="purple",
                        fontsize=7, va="top", rotation=90)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"(2) d = {d}: blue stationary, red exploding", fontsize=9)
        ax.set_xlabel(r"$s^2$")
        ax.set_ylabel(r"$\sigma_b^2$")
    axes[0].legend(fontsize=6, loc="upper left")


def plot_cosine(ax, sl, sb2):
    a = float(sl["slope"])
    s2 = nearest(sl, "variance", he(a))
    sel = dict(variance=s2)
    if "bias_variance" in sl["corr_mean"].dims:
        sel["bias_variance"] = sb2
    for d in sl["width"].values:
        c = sl.sel(width=d, **sel)
        depth = c["depth"].values
        line = ax.errorbar(depth, c["corr_mean"].values, yerr=c["corr_std"].values, fmt="o-", capsize=2,
                           label=f"d = {d}")
        ax.plot(depth, c["corr_meanfield"].values, "--", color=line[0].get_color())
    ax.set_xlabel("depth L")
    ax.set_ylabel("cosine of two inputs")
    ax.set_title("(3) cosine of two inputs:\nfinite width (points ± sd), mean field (dashed)", fontsize=9)
    ax.legend(fontsize=7)


def plot(sl, sb2, depth, path, out):
    widths = sl["width"].values
    cosine = "corr_mean" in sl
    fig = plt.figure(figsize=(4.2 * max(3, len(widths)), 9 if cosine else 8.5), layout="constrained")
    ncols = max(2, len(widths))
    grid = fig.add_gridspec(2, ncols)
    plot_law(fig.add_subplot(grid[0, : ncols - 1] if cosine else grid[0, :]), sl, sb2, depth)
    if cosine:
        plot_cosine(fig.add_subplot(grid[0, ncols - 1]), sl, sb2)
    plot_phase(fig, [fig.add_subplot(grid[1, k]) for k in range(len(widths))], sl)
    fig.suptitle(f"{os.path.basename(path)}: {str(sl['family'].item())}, slope a = {float(sl['slope']):g}",
                 fontsize=10)
    save(SCRIPT, fig, out, dpi=110)


def main(argv):
    args = parse_args(argv)
    out = args.output or os.path.splitext(args.file)[0] + ".png"
    sl, a, sb2, depth = select(open_file(args.file), args)
    if args.table:
        print_table(sl, sb2, depth, args.file)
    else:
        plot(sl, sb2, depth, args.file, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
