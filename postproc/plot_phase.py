#!/usr/bin/python3
"""Plot one slice of a lyapdiag phase diagram (NetCDF written by `lyapdiag run`).

For one weight family and one Leaky ReLU slope a, the PNG has two panels:
  (a) the Monte Carlo Lyapunov exponent lambda over (variance s^2, width d), with
      the critical variance s^2_crit (Monte Carlo +- stderr, and exact theory) and
      the He scale s^2 = 2/(1+a^2) (the standard gain for orthogonal) on top;
  (b) lambda at the He scale against width, Monte Carlo +- stderr and theory.
lambda is exactly 0.5*log(s^2) + lambda(1) (homogeneity, THEORY.md), so the He
value is shifted from the grid variance nearest to it rather than interpolated.
--width D [D ...] keeps those widths (default: all). --depth L shows a network of
that recorded depth instead of the per-layer rate: (a) P(explode) - P(vanish) at
depth L over (variance, width), Monte Carlo (red: explodes, blue: vanishes, eps the
file's), the same boundaries on top; (b) p_vanish and p_explode at the grid variance
nearest He against width, Monte Carlo +- stderr and exact.

Run with Debian's python (needs python3-xarray, -netcdf4, -matplotlib):
    /usr/bin/python3 postproc/plot_phase.py phase.nc [-o OUT.png] [--family F] [--slope A] [--width D ...] [--depth L]
    /usr/bin/python3 postproc/plot_phase.py phase.nc --table   # text table, no PNG
The PNG goes to FILE with .png (phase.nc -> phase.png) unless -o names it.
"""
import argparse
import os
import sys

from plotlib import choose_widths, plotting_modules

plt, np, xr = plotting_modules("plot_phase.py")

REQUIRED = ("lambda", "lambda_stderr", "lambda_theory",
            "variance_crit", "variance_crit_stderr", "variance_crit_theory")
DEFAULT_SLOPE = 0.1


class UsageError(Exception):
    """A problem with the command line or the input file, reported in one line."""


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("file", help="lyapdiag NetCDF phase diagram")
    p.add_argument("-o", "--output", help="PNG to write (default: FILE with .png)")
    p.add_argument("--family", help="weight family (default: the first in the file)")
    p.add_argument("--slope", type=float,
                   help=f"Leaky ReLU slope a (default: the file's slope nearest {DEFAULT_SLOPE})")
    p.add_argument("--width", "--widths", nargs="+", metavar="D",
                   help="the widths to show, e.g. --width 4 16 or --width 4,16 (default: every width)")
    p.add_argument("--depth", type=int,
                   help="a recorded depth L: show P(explode) - P(vanish) and p_vanish, p_explode at depth L "
                        "instead of lambda")
    p.add_argument("--table", action="store_true",
                   help="print the per-width He / critical-variance table instead of plotting")
    return p.parse_args(argv)


def open_phase_diagram(path):
    if not os.path.isfile(path):
        raise UsageError(f"{path}: no such file")
    try:
        ds = xr.open_dataset(path, engine="netcdf4")
    except (OSError, ValueError) as e:
        raise UsageError(f"{path}: not a readable NetCDF file ({str(e).splitlines()[0]})")
    missing = [v for v in REQUIRED + ("family", "width", "slope", "variance") if v not in ds.variables]
    if missing:
        raise UsageError(f"{path}: not a lyapdiag phase diagram (missing {', '.join(missing)})")
    return ds


def select_slice(ds, family, slope, widths=None, depth=None):
    """The (width, variance) slice for one family and slope (and the widths asked), checked
    against the file; with DEPTH, also that the file records it."""
    families = [str(f) for f in ds["family"].values]
    family = families[0] if family is None else family
    if family not in families:
        raise UsageError(f"family {family!r} not in file (has: {', '.join(families)})")
    slopes = ds["slope"].values
    target = DEFAULT_SLOPE if slope is None else slope
    i = int(np.argmin(np.abs(slopes - target)))
    if slope is not None and not np.isclose(slopes[i], slope, rtol=1e-9, atol=1e-12):
        raise UsageError(f"slope {slope:g} not in file (has: {', '.join(f'{s:g}' for s in slopes)})")
    if depth is not None:
        if "p_vanish" not in ds.variables:
            raise UsageError("--depth needs p_vanish and p_explode: the file has none (written by an older lyapdiag)")
        if depth not in ds["depth"].values:
            raise UsageError(f"depth {depth} not in file (has: {', '.join(str(int(L)) for L in ds['depth'].values)})")
    return ds.sel(family=family, width=choose_widths("plot_phase.py", ds, widths)).isel(slope=i)


def he_variance(a):
    return 2.0 / (1.0 + a * a)


def he_label(family):
    return "orthogonal gain" if "orthogonal" in family else "He"


def he_reference(sl):
    """(s^2_He, the grid variance nearest to it in log scale)."""
    s2_he = he_variance(float(sl["slope"]))
    v = sl["variance"].values
    return s2_he, v[np.argmin(np.abs(np.log(v / s2_he)))]


def at_he(sl, name):
    """A lambda variable at s^2_He per width: lambda(ref) + 0.5 log(s^2_He / ref), exact by homogeneity."""
    s2_he, ref = he_reference(sl)
    return sl[name].sel(variance=ref).values + 0.5 * np.log(s2_he / ref)


def stderr_at_he(sl):
    """lambda_stderr per width (the shift to s^2_He is exact, so it carries no error)."""
    return sl["lambda_stderr"].sel(variance=he_reference(sl)[1]).values


def at_depth(sl, depth):
    """The slice at the grid variance nearest He and recorded depth DEPTH."""
    return sl.sel(variance=he_reference(sl)[1], depth=depth)


def print_table(sl, path, depth=None):
    family, a = str(sl["family"].item()), float(sl["slope"])
    print(f"# {path}: {family}, slope a = {a:g}, {he_label(family)} s2 = {he_variance(a):.6g}; "
          "lambda per layer" + (f"; at depth L = {depth}: p_vanish, p_explode at the grid s2 = "
                                f"{he_reference(sl)[1]:.6g} nearest it, eps = {sl.attrs.get('eps', 'see file')}"
                                if depth is not None else ""))
    print(f"{'d':>5} {'lambda_He mc':>13} {'+-':>9} {'theory':>10} "
          f"{'s2_crit mc':>11} {'+-':>9} {'theory':>10}" +
          (f" {'p_vanish mc':>12} {'+-':>8} {'exact':>10} {'p_explode mc':>12} {'+-':>8} {'exact':>10}"
           if depth is not None else ""))
    rows = zip(sl["width"].values, at_he(sl, "lambda"), stderr_at_he(sl), at_he(sl, "lambda_theory"),
               sl["variance_crit"].values, sl["variance_crit_stderr"].values,
               sl["variance_crit_theory"].values)
    for i, (d, lam, lam_se, lam_th, crit, crit_se, crit_th) in enumerate(rows):
        line = (f"{d:>5} {lam:>13.5f} {lam_se:>9.5f} {lam_th:>10.5f} "
                f"{crit:>11.4f} {crit_se:>9.4f} {crit_th:>10.4f}")
        if depth is not None:
            x = at_depth(sl, depth).isel(width=i)
            for law in ("p_vanish", "p_explode"):
                line += (f" {float(x[law]):>12.4g} {float(x[law + '_stderr']):>8.2g}"
                         f" {float(x[law + '_theory']):>10.4g}")
        print(line)


def label_if(shown, text):
    """A legend label only for artists that actually show data."""
    return text if shown else None


def offscale_text(crit, crit_th):
    text = r"$s^2_{\rm crit}$ = " + (r"$\infty$" if np.isposinf(crit) else f"{crit:.3g}")
    if np.isfinite(crit_th):
        text += f" (theory {crit_th:.3g})"
    return text + r" $\rightarrow$"


def cell_edges(x):
    """Edges of cells centred on the (increasing) grid x."""
    if len(x) == 1:
        return np.array([0.95, 1.05]) * x[0]
    mid = 0.5 * (x[1:] + x[:-1])
    return np.concatenate(([2 * x[0] - mid[0]], mid, [2 * x[-1] - mid[-1]]))


def lambda_colormap(lam):
    """Symmetric diverging colour scale; -inf (ReLU) in black, NaN (missing) in grey."""
    finite = lam[np.isfinite(lam)]
    vmax = float(np.max(np.abs(finite))) if finite.size else 1.0
    cmap = plt.get_cmap("RdBu_r").with_extremes(under="black", bad="lightgrey")
    shown = np.nan_to_num(lam, nan=np.nan, neginf=-2 * vmax, posinf=2 * vmax)
    return shown, cmap, vmax


def plot_heatmap(ax, fig, sl, depth=None):
    family, a = str(sl["family"].item()), float(sl["slope"])
    v, widths = sl["variance"].values, sl["width"].values
    rows = np.arange(len(widths))
    if depth is None:
        lam, cmap, vmax = lambda_colormap(sl["lambda"].transpose("width", "variance").values)
        mesh = ax.pcolormesh(cell_edges(v), cell_edges(rows.astype(float)), lam,
                             cmap=cmap, vmin=-vmax, vmax=vmax, shading="flat")
        relu = np.isneginf(sl["lambda"].values).any()
        fig.colorbar(mesh, ax=ax, extend="min" if relu else "neither",
                     label=r"$\lambda$ per layer (Monte Carlo)" + (r"; black: $-\infty$" if relu else ""))
    else:
        x = sl.sel(depth=depth)
        fate = (x["p_explode"] - x["p_vanish"]).transpose("width", "variance").values
        cmap = plt.get_cmap("RdBu_r").with_extremes(bad="lightgrey")
        mesh = ax.pcolormesh(cell_edges(v), cell_edges(rows.astype(float)), fate,
                             cmap=cmap, vmin=-1, vmax=1, shading="flat")
        fig.colorbar(mesh, ax=ax, label="P(explode) - P(vanish), Monte Carlo")

    crit, crit_se, crit_th = (sl[n].values for n in REQUIRED[3:])
    lo, hi = ax.get_xlim()
    inside = (crit >= lo) & (crit <= hi)
    finite_th = np.isfinite(crit_th)
    ax.plot(np.where(finite_th, crit_th, np.nan), rows, "x--", color="black", ms=9, mew=1.5, zorder=4,
            label=label_if(finite_th.any(), r"$s^2_{\rm crit}$ theory (exact)"))
    ax.errorbar(crit[inside], rows[inside], xerr=crit_se[inside], fmt="o", color="gold",
                markeredgecolor="black", ecolor="black", capsize=3, zorder=3,
                label=label_if(inside.any(), r"$s^2_{\rm crit}$ Monte Carlo $\pm$ stderr ($\lambda$ = 0)"))
    for r in rows[~inside & ~np.isnan(crit)]:
        ax.annotate(offscale_text(crit[r], crit_th[r]), (hi, r), xytext=(-4, 0), textcoords="offset points",
                    ha="right", va="center", fontsize=8,
                    bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.8))
    s2_he = he_variance(a)
    ax.axvline(s2_he, color="tab:green", linestyle="--",
               label=rf"{he_label(family)} $s^2 = 2/(1+a^2)$ = {s2_he:.3g}")
    ax.set_xlim(lo, hi)
    ax.set_yticks(rows, [str(d) for d in widths])
    ax.set_xlabel(r"weight variance $s^2$" + (r" (= $\eta^2$)" if "orthogonal" in family else ""))
    ax.set_ylabel("width $d$")
    ax.set_title(f"(a) Lyapunov exponent: {family}, slope $a$ = {a:g}" if depth is None
                 else f"(a) Fate at depth L = {depth} (eps = {sl.attrs.get('eps', '?')}): {family}, $a$ = {a:g}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=8, frameon=False)


def plot_he_vs_width(ax, sl):
    family, a = str(sl["family"].item()), float(sl["slope"])
    widths = sl["width"].values
    ax.axhline(0.0, color="grey", linewidth=1)
    theory = at_he(sl, "lambda_theory")
    finite_th = np.isfinite(theory)
    ax.plot(widths, np.where(finite_th, theory, np.nan), "s-", color="black",
            markerfacecolor="none", label=label_if(finite_th.any(), "theory (exact)"))
    mc = at_he(sl, "lambda")
    ok = np.isfinite(mc)
    ax.errorbar(widths[ok], mc[ok], yerr=stderr_at_he(sl)[ok], fmt="o", color="tab:red", capsize=3,
                label=label_if(ok.any(), r"Monte Carlo $\pm$ stderr"))
    if np.isneginf(mc).any():
        ax.text(0.5, 0.7, r"$\lambda = -\infty$ (ReLU, $a$ = 0: a layer kills the signal w.p. $2^{-d}$)",
                transform=ax.transAxes, ha="center")
    ax.set_xscale("log", base=2)
    ax.set_xticks(widths, [str(d) for d in widths])
    ax.minorticks_off()
    ax.set_xlabel("width $d$")
    ax.set_ylabel(r"$\lambda$ per layer at " + rf"$s^2$ = {he_variance(a):.4g}")
    ax.set_title(f"(b) {he_label(family)} initialization vs width: {family}, $a$ = {a:g}")
    if ok.any() or finite_th.any():
        ax.legend(fontsize=8)


def plot_depth_vs_width(ax, sl, depth):
    """p_vanish and p_explode at depth L against width, at the grid variance nearest He."""
    family, a = str(sl["family"].item()), float(sl["slope"])
    s2 = he_reference(sl)[1]
    widths = sl["width"].values
    x = at_depth(sl, depth)
    for law, color, name in (("p_vanish", "tab:blue", "vanish"), ("p_explode", "tab:red", "explode")):
        exact = x[law + "_theory"].values
        if np.isfinite(exact).any():
            ax.plot(widths, exact, "s-", color=color, markerfacecolor="none", label=f"P({name}) exact")
        ax.errorbar(widths, x[law].values, yerr=x[law + "_stderr"].values, fmt="o", color=color, capsize=3,
                    label=rf"P({name}) Monte Carlo $\pm$ stderr")
    ax.set_xscale("log", base=2)
    ax.set_xticks(widths, [str(d) for d in widths])
    ax.minorticks_off()
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("width $d$")
    ax.set_ylabel(f"probability at depth L = {depth}")
    ax.set_title(f"(b) {he_label(family)} (grid $s^2$ = {s2:.4g}) at depth L = {depth}: {family}, $a$ = {a:g}")
    ax.legend(fontsize=8)


def plot(sl, path, out, depth=None):
    fig, (ax_a, ax_b) = plt.subplots(1, 2, figsize=(13, 5.2), width_ratios=(1.35, 1),
                                     layout="constrained")
    plot_heatmap(ax_a, fig, sl, depth)
    if depth is None:
        plot_he_vs_width(ax_b, sl)
        simulated = int(sl["depth"].max()) if "depth" in sl.coords else None
        fig.suptitle(os.path.basename(path) + (f" (simulated depth L = {simulated})" if simulated else ""),
                     fontsize=10)
    else:
        plot_depth_vs_width(ax_b, sl, depth)
        fig.suptitle(f"{os.path.basename(path)} (networks of depth L = {depth})", fontsize=10)
    try:
        fig.savefig(out, dpi=120)
    except OSError as e:
        raise UsageError(f"{out}: cannot write ({e.strerror or e})")
    finally:
        plt.close(fig)


def main(argv):
    args = parse_args(argv)
    out = args.output or os.path.splitext(args.file)[0] + ".png"
    try:
        ds = open_phase_diagram(args.file)
        sl = select_slice(ds, args.family, args.slope, args.width, args.depth)
        sl.attrs = ds.attrs
        if args.table:
            print_table(sl, args.file, args.depth)
        else:
            plot(sl, args.file, out, args.depth)
            print(f"plot_phase.py: wrote {out}")
    except UsageError as e:
        print(f"{os.path.basename(sys.argv[0])}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
