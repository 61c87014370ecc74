#!/usr/bin/python3
"""Plot a `lyapdiag train` file (issue 13; e.g. from inputs/train_quick.ini).

For each configuration (width, depth, slope, optimizer, learning rate) one row:
  (1) the median and interquartile band of the test loss against step, per
      method (over seeds; a diverged seed drops out after its divergence);
  (2) the final test loss per method as box plots (diverged seeds left out,
      their count under each box).
A last row: (3) the initial log gain log(|x_L|/|x_0|) at step 0 against the
final test loss, every task, coloured by method.

--table prints instead, per configuration and method, the median and the
interquartile range of the final test loss and the diverged seeds: the
numbers of issue 13's closing note.

Run with Debian's python (needs python3-xarray, -netcdf4, -matplotlib):
    /usr/bin/python3 postproc/plot_training.py train.nc [-o OUT.png] [--table]
"""
import argparse
import itertools
import os
import sys
import warnings

from plotlib import fail, open_dataset, plotting_modules, save

SCRIPT = "plot_training.py"
plt, np, xr = plotting_modules(SCRIPT)
REQUIRED = ("test_loss", "final_test_loss", "diverged", "done", "initial_log_gain", "step", "method")
CONFIG_DIMS = ("width", "depth", "slope", "optimizer", "learning_rate")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("file", help="NetCDF file written by lyapdiag train")
    p.add_argument("-o", "--output", help="PNG to write (default: FILE with .png)")
    p.add_argument("--table", action="store_true", help="print the final test loss per method instead of plotting")
    return p.parse_args(argv)


def configurations(ds):
    """Every (width, depth, slope, optimizer, learning_rate) of the file, as dicts for .sel."""
    axes = [ds[d].values for d in CONFIG_DIMS]
    return [dict(zip(CONFIG_DIMS, values)) for values in itertools.product(*axes)]


def label(config):
    return (f"width {config['width']}, depth {config['depth']}, slope {config['slope']:g}, "
            f"{config['optimizer']} lr {config['learning_rate']:g}")


def finished(ds, sel):
    """Which seeds of SEL have finished (all of them in a complete file; a
    checkpoint FILE.partial marks its unfinished tasks done = 0)."""
    return ds.done.sel(sel).values.ravel() == 1


def stats(ds, config, method):
    """Finite final test losses, their quartiles, diverged seeds and finished
    seeds, for one method."""
    sel = dict(config, method=method)  # a dict: .sel(method=...) is sel's own argument
    done = finished(ds, sel)
    final = ds.final_test_loss.sel(sel).values.ravel()[done]
    diverged = int((ds.diverged.sel(sel).values.ravel()[done] == 1).sum())
    finite = final[np.isfinite(final)]
    q = np.percentile(finite, [25, 50, 75]) if finite.size else [np.nan] * 3
    return finite, q, diverged, int(done.sum())


def completeness(ds, path):
    """'' for a complete file, else a note saying how much of it is finished."""
    done, total = int((ds.done.values == 1).sum()), ds.done.size
    if done == total:
        return ""
    print(f"{SCRIPT}: {path} is unfinished: {done} of {total} tasks done; the statistics cover "
          "finished seeds only (finish it with lyapdiag train DECK --resume)", file=sys.stderr)
    return f" (unfinished: {done} of {total} tasks)"


def print_table(ds, path):
    print(f"# {path}{completeness(ds, path)}: final test loss over finished seeds (diverged seeds left out)")
    for config in configurations(ds):
        print(f"## {label(config)}")
        print(f"{'method':22s} {'median':>12s} {'q25':>12s} {'q75':>12s} {'diverged':>9s}")
        for method in ds.method.values:
            _, q, diverged, n = stats(ds, config, method)
            print(f"{method:22s} {q[1]:12.5g} {q[0]:12.5g} {q[2]:12.5g} {diverged:5d}/{n}")
    print("(diverged: diverged seeds / finished seeds)")


def plot(ds, path, out):
    unfinished = completeness(ds, path)
    configs = configurations(ds)
    methods = list(ds.method.values)
    colours = plt.cm.tab10(np.arange(len(methods)) % 10)
    fig, axes = plt.subplots(len(configs) + 1, 2, figsize=(13, 3.6 * (len(configs) + 1)), squeeze=False)
    steps = ds.step.values
    for row, config in enumerate(configs):
        curves, boxes = axes[row]
        finals, ticks = [], []
        for k, method in enumerate(methods):
            loss = ds.test_loss.sel(dict(config, method=method)).values.reshape(-1, steps.size)
            with warnings.catch_warnings():  # steps where every seed diverged (or none finished): NaN, drawn as a gap
                warnings.simplefilter("ignore", RuntimeWarning)
                lo, med, hi = np.nanpercentile(loss, [25, 50, 75], axis=0)
            curves.plot(steps, med, color=colours[k], label=method)
            curves.fill_between(steps, lo, hi, color=colours[k], alpha=0.15)
            finite, _, diverged, n = stats(ds, config, method)
            finals.append(finite if finite.size else [np.nan])
            ticks.append(f"{method}\n{diverged}/{n} div." if diverged else method)
        curves.set_yscale("log")
        curves.set_xlabel("step")
        curves.set_ylabel("test loss (median, IQR)")
        curves.set_title(label(config), fontsize=9)
        boxes.boxplot(finals, labels=ticks)
        boxes.set_yscale("log")
        boxes.set_ylabel("final test loss")
        boxes.tick_params(axis="x", labelsize=7, rotation=30)
        if row == 0:
            curves.legend(fontsize=7)
    gain_ax, note_ax = axes[-1]
    for k, method in enumerate(methods):
        sel = {"method": method}
        gain = ds.initial_log_gain.sel(sel).values.ravel()
        final = ds.final_test_loss.sel(sel).values.ravel()
        gain_ax.scatter(gain, final, s=8, color=colours[k], label=method)
    gain_ax.set_yscale("log")
    gain_ax.set_xlabel("initial log gain log(|x_L|/|x_0|), step 0")
    gain_ax.set_ylabel("final test loss")
    gain_ax.set_title("every task (diverged ones have no final loss)", fontsize=9)
    note_ax.axis("off")
    note_ax.text(0, 0.5, f"{os.path.basename(path)}\n{ds.attrs.get('task', '')}, "
                 f"{ds.attrs.get('steps', '?')} steps, seeds: {ds.sizes['seed']}{unfinished}", fontsize=10)
    fig.tight_layout()
    save(SCRIPT, fig, out)


def main(argv):
    args = parse_args(argv)
    if not os.path.isfile(args.file):
        fail(SCRIPT, f"{args.file}: no such file")
    ds = open_dataset(SCRIPT, xr, args.file)
    missing = [v for v in REQUIRED if v not in ds.variables]
    if missing:
        fail(SCRIPT, f"{args.file}: not a lyapdiag train file (missing {', '.join(missing)}); "
             "write one with lyapdiag train, e.g. inputs/train_quick.ini")
    if args.table:
        print_table(ds, args.file)
    else:
        plot(ds, args.file, args.output or os.path.splitext(args.file)[0] + ".png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
