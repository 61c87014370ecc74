"""What the postproc plotting scripts share: Debian's plotting modules, with a
one-line error naming the fix when the python3 running them lacks them."""
import signal
import sys


def fail(script, message):
    """Exit with status 2 and one line naming the script, as every postproc script does."""
    print(f"{script}: {message}", file=sys.stderr)
    sys.exit(2)


def plotting_modules(script):
    """(pyplot, numpy, xarray) with the Agg backend; exits with one line if one is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
        import xarray as xr
    except ImportError as err:  # the python3 first on PATH is often not Debian's
        fail(script, f"{err.name} missing: run with Debian's /usr/bin/python3 "
             "(apt-get install python3-xarray python3-netcdf4 python3-matplotlib)")
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `--table | head` ends quietly
    return plt, np, xr


def open_dataset(script, xr, path):
    """The NetCDF file at PATH as an xarray Dataset; one line and exit 2 if it cannot be read."""
    try:
        return xr.open_dataset(path)
    except (OSError, ValueError) as err:
        fail(script, f"{path}: cannot open ({err})")


def save(script, fig, out, dpi=120):
    """Writes FIG to OUT and says so; one line and exit 2 if OUT cannot be written."""
    try:
        fig.savefig(out, dpi=dpi)
    except OSError as err:
        fail(script, f"{out}: cannot write ({err.strerror or err})")
    print(f"{script}: wrote {out}")


def choose_widths(script, ds, asked):
    """The file's widths named by ASKED (--width / --widths: "4 16" or "4,16"; None: every
    width), in the file's order; one line and exit 2 for a width the file lacks."""
    have = [int(d) for d in ds["width"].values]
    if not asked:
        return have
    try:
        want = [int(w) for text in asked for w in str(text).split(",") if w.strip()]
    except ValueError:
        fail(script, f"--width takes whole numbers, e.g. --width 4 16 or --width 4,16, not {' '.join(asked)!r}")
    missing = [d for d in want if d not in have]
    if missing or not want:
        fail(script, f"width {', '.join(map(str, missing)) or '(none given)'} not in the file; "
             f"it has {', '.join(map(str, have))}")
    return [d for d in have if d in want]
