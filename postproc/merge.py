#!/usr/bin/python3
"""Join lyapdiag phase diagrams computed for different families into one.

    /usr/bin/python3 postproc/merge.py OUT.nc PART1.nc PART2.nc ...

The parts (e.g. from jobs/phase-array.sbatch) must come from decks that
differ only in their `families` line; the merged file holds every family in
the order given, carries a deck with the union of the families, and equals a
single run of that deck bit for bit (a task's random numbers depend only on
its own family, width and slope). Errors: one line on stderr, exit 2.
Needs Debian's python3-xarray and python3-netcdf4 (/usr/bin/python3).
"""
import argparse
import re
import sys

try:
    import xarray as xr
except ImportError as err:  # the python3 first on PATH is often not Debian's
    sys.exit(f"merge.py: {err.name} missing: run with Debian's /usr/bin/python3 "
             "(apt-get install python3-xarray python3-netcdf4)")

FAMILIES_LINE = re.compile(r"^(\s*families\s*=)[^\n;#]*", re.MULTILINE)


def fail(message):
    print(f"merge.py: {message}", file=sys.stderr)
    sys.exit(2)


def open_part(path):
    try:
        ds = xr.open_dataset(path, decode_cf=False)  # keep fill values and int8 as stored
    except (OSError, ValueError) as err:
        fail(f"{path}: cannot read ({err})")
    if "deck" not in ds.attrs or "done" not in ds:
        fail(f"{path}: not a lyapdiag phase diagram")
    if int(ds["done"].min()) != 1:
        fail(f"{path}: incomplete (some tasks not done); finish it with lyapdiag run ... --resume")
    return ds


def merged_deck(parts, families):
    """The shared deck text with the union of the families."""
    decks = {FAMILIES_LINE.sub(r"\1", ds.attrs["deck"]) for ds in parts}
    if len(decks) != 1:
        fail("the parts come from decks that differ beyond their families line")
    return FAMILIES_LINE.sub(lambda m: f"{m.group(1)} {', '.join(families)}", parts[0].attrs["deck"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("parts", nargs="+")
    args = parser.parse_args()
    parts = [open_part(p) for p in args.parts]
    families = [str(f) for ds in parts for f in ds["family"].values]
    if len(set(families)) != len(families):
        fail(f"a family appears in more than one part: {families}")
    deck = merged_deck(parts, families)
    merged = xr.concat(parts, dim="family", data_vars="all", coords="minimal", combine_attrs="override")
    merged.attrs["deck"] = deck
    merged.attrs["history"] = "\n".join(ds.attrs.get("history", "") for ds in parts) + \
        f"\nmerged by postproc/merge.py from {', '.join(args.parts)}"
    try:
        merged.to_netcdf(args.output, format="NETCDF4")
    except OSError as err:
        fail(f"{args.output}: cannot write ({err})")
    print(args.output)


if __name__ == "__main__":
    main()
