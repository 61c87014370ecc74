# openblas-core.sh: sourced (". jobs/openblas-core.sh") before running
# lyapdiag, by jobs/quickstart.sh and jobs/phase.sbatch and by hand (README).
#
# OpenBLAS picks its kernels from the CPU model. Virtual machines that hide
# the model make it fall back to generic ones ("Core: Prescott", SSE3) even
# on AVX-512 CPUs, and the matrix path slows down (bench/README.md). When
# OPENBLAS_CORETYPE is unset, this asks OpenBLAS which core it picked
# (lyapdiag --version, "BLAS core: ..."); if that is weaker than what the
# flags in /proc/cpuinfo allow (avx512f: SkylakeX, avx2: Haswell, avx:
# Sandybridge, sse4_2: Nehalem), and this OpenBLAS accepts the better core,
# it exports OPENBLAS_CORETYPE and says so in one line on stderr. A value
# you set yourself is left alone. Uses $LYAPDIAG, else ./lyapdiag, else
# lyapdiag on PATH; does nothing if none runs. POSIX sh (dash and bash).

lyap_openblas_core() {
    [ -n "${OPENBLAS_CORETYPE:-}" ] && return 0
    unset OPENBLAS_CORETYPE # set but empty: OpenBLAS would not detect
    _lyap_bin=${LYAPDIAG:-./lyapdiag}
    [ -x "$_lyap_bin" ] || _lyap_bin=$(command -v lyapdiag) || return 0
    [ -r /proc/cpuinfo ] || return 0
    _lyap_picked=$("$_lyap_bin" --version 2>/dev/null | sed -n 's/^BLAS core: //p')
    [ -n "$_lyap_picked" ] || return 0
    _lyap_flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
    _lyap_has() {
        for _lyap_f in "$@"; do
            case $_lyap_flags in *" $_lyap_f "*) ;; *) return 1 ;; esac
        done
    }
    # the strongest core these flags allow, as OpenBLAS names it
    if _lyap_has avx512f avx512cd avx512bw avx512dq avx512vl; then
        _lyap_want=SkylakeX _lyap_rank=4 _lyap_why=avx512f
    elif _lyap_has avx2 fma; then
        _lyap_want=Haswell _lyap_rank=3 _lyap_why=avx2
    elif _lyap_has avx; then
        _lyap_want=Sandybridge _lyap_rank=2 _lyap_why=avx
    elif _lyap_has sse4_2; then
        _lyap_want=Nehalem _lyap_rank=1 _lyap_why=sse4_2
    else
        return 0
    fi
    # what OpenBLAS picked, on the same scale (its AMD cores included)
    case $_lyap_picked in
        SkylakeX | Cooperlake | SapphireRapids) _lyap_has_rank=4 ;;
        Haswell | Zen | Excavator) _lyap_has_rank=3 ;;
        Sandybridge | Bulldozer | Piledriver | Steamroller) _lyap_has_rank=2 ;;
        Nehalem | Barcelona | Bobcat) _lyap_has_rank=1 ;;
        *) _lyap_has_rank=0 ;; # Prescott, Katmai, Core2, Atom, Unknown, ...
    esac
    [ "$_lyap_has_rank" -ge "$_lyap_rank" ] && return 0
    # an OpenBLAS built for one core only ignores OPENBLAS_CORETYPE: check
    [ "$(OPENBLAS_CORETYPE=$_lyap_want "$_lyap_bin" --version 2>/dev/null | sed -n 's/^BLAS core: //p')" = "$_lyap_want" ] ||
        return 0
    OPENBLAS_CORETYPE=$_lyap_want
    export OPENBLAS_CORETYPE
    echo "openblas-core: OpenBLAS picked its $_lyap_picked kernels but this CPU has $_lyap_why:" \
        "using OPENBLAS_CORETYPE=$_lyap_want (set OPENBLAS_CORETYPE to choose another)" >&2
}
lyap_openblas_core
unset -f lyap_openblas_core _lyap_has 2>/dev/null
unset _lyap_bin _lyap_picked _lyap_flags _lyap_f _lyap_want _lyap_rank _lyap_why _lyap_has_rank
