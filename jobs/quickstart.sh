#!/bin/sh
# quickstart.sh: set up, build and run lyapdiag on one machine (no SLURM).
#
#   sh jobs/quickstart.sh        build, run inputs/quick.ini on all cores,
#                                leave phase.nc and phase.png
#   sh jobs/quickstart.sh check  build and run the whole test suite
#   sh jobs/quickstart.sh deps   only install the Debian packages (all of them)
#
# Missing Debian packages are installed when run as root; otherwise the
# exact apt-get line is printed and the script stops.
set -eu
cd "$(dirname "$0")/.."
mode=${1:-run}

# Everything lyapdiag needs to build, run and plot, from Debian 12 ...
PACKAGES="gcc make autoconf automake pkg-config openmpi-bin libopenmpi-dev
  libopenblas-dev liblapacke-dev libfftw3-dev libnetcdf-dev netcdf-bin libgsl-dev
  librandom123-dev libinih-dev python3-xarray python3-netcdf4 python3-matplotlib"
# ... and what only the tests use: libFuzzer with sanitizers, a real SLURM,
# NCO and CDO (the README's recipes for them).
TEST_PACKAGES="clang-14 libclang-rt-14-dev slurmctld slurmd slurm-client munge nco cdo"

say() { echo "quickstart: $*" >&2; }

install_packages() {
  missing=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    say "missing Debian packages; install them with:"
    echo "sudo apt-get update && sudo apt-get install -y$missing"
    exit 1
  fi
  say "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  # shellcheck disable=SC2086
  apt-get install -y -q $missing >&2
}

build() {
  [ -x configure ] || autoreconf -fi
  [ -f Makefile ] || ./configure
  make -j"$(nproc)"
}

# Open MPI refuses root without these; they change nothing for other users.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

case $mode in
  deps) install_packages $PACKAGES $TEST_PACKAGES ;;
  run)
    install_packages $PACKAGES
    build
    # OpenBLAS's right kernels where it cannot read the CPU model (VMs)
    . jobs/openblas-core.sh
    # An interrupted earlier run (phase.nc.partial) continues where it stopped.
    resume=""
    [ -e phase.nc.partial ] && resume=--resume
    mpirun --oversubscribe -np "$(nproc)" ./lyapdiag run inputs/quick.ini --output phase.nc $resume
    # postproc needs Debian's python (xarray, netCDF4, matplotlib), not the
    # python3 that may come first on PATH.
    /usr/bin/python3 postproc/plot_phase.py phase.nc -o phase.png
    say "done: phase.nc (ncdump -h phase.nc) and phase.png"
    ;;
  check)
    install_packages $PACKAGES $TEST_PACKAGES
    build
    make -j"$(nproc)" check
    ;;
  *) say "unknown mode '$mode' (run, check or deps)"; exit 2 ;;
esac
