/* variates.h: vectorized normal variates for the matrix path (private to
 * the rng module; see src/variates.c). */
#ifndef LYAPDIAG_VARIATES_H
#define LYAPDIAG_VARIATES_H

#include <stddef.h>
#include <stdint.h>

typedef enum { LYAP_ISA_UNKNOWN = -1, LYAP_ISA_SSE2, LYAP_ISA_AVX2, LYAP_ISA_AVX512 } lyap_variates_isa;

/* The widest instruction set this CPU runs. */
lyap_variates_isa lyap_variates_best_isa(void);

/* Each kernel in three builds, picked at run time: the same source, so the
 * same arithmetic and bits (lyapdiag builds with -std=c11, which does not
 * contract a * b + c into an FMA; a kernel that wants one calls fma(),
 * which the AVX builds run as an instruction and SSE2 in software, rounded
 * alike), in vectors of 8, 4 or 2 doubles. */
#define ISA_VARIANTS(name, params, call) ISA_VARIANTS_EACH(name, params, call, call, call)
/* The same with a body per build (CALL512, CALL2, CALL_SSE2), for kernels
 * whose register blocks differ by ISA while their arithmetic does not. */
#define ISA_VARIANTS_EACH(name, params, call512, call2, call_sse2)                           \
    __attribute__((target("avx512f,avx512dq,avx512vl,fma"))) static void name##_avx512 params { \
        call512;                                                                             \
    }                                                                                        \
    __attribute__((target("avx2,fma"))) static void name##_avx2 params { call2; }           \
    static void name##_sse2 params { call_sse2; }
const char *lyap_variates_isa_name(lyap_variates_isa isa);

/* Runs mlp.c's kernels and optim.c's updates in ISA (LYAP_ISA_UNKNOWN:
 * the widest again), for the test that the three builds give the same
 * bits and for bench_kernels' BENCH_ISA. */
void lyap_mlp_force_isa(lyap_variates_isa isa);

/* The ISA those kernels run now: the forced one, else the widest. */
lyap_variates_isa lyap_mlp_isa(void);

/* What lyap_variates_draw produces, per chunk of 128 Philox blocks:
 * 512 raw 32-bit words, 256 uniforms on (0, 1) (52 bits), 512 uniforms
 * on (0, 1) with 32 bits (acceptance tests), 256 standard normals
 * (Box-Muller), 512 single-precision normals (24-bit uniforms, for
 * precision = single), or 512 uniforms on (-1, 1) (uniform weights: one
 * word each, 32 bits in double, 24 in float). */
typedef enum {
    LYAP_VARIATE_BITS,         /* uint32_t */
    LYAP_VARIATE_UNIFORM,      /* double */
    LYAP_VARIATE_UNIFORM32,    /* double, 32 random bits: 512 per chunk */
    LYAP_VARIATE_NORMAL,       /* double */
    LYAP_VARIATE_NORMAL_FLOAT, /* float */
    LYAP_VARIATE_SYMMETRIC32,  /* double on (-1, 1): (2k + 1) 2^-32 - 1, k a 32-bit word */
    LYAP_VARIATE_SYMMETRIC_FLOAT /* float on (-1, 1): (2k + 1) 2^-24 - 1, k its top 24 bits */
} lyap_variate_kind;

/* Values per chunk of KIND. */
size_t lyap_variates_per_chunk(lyap_variate_kind kind);

/* N values of KIND of Philox4x32-10 stream (KEY, CTR), from block CTR[0]
 * on, into OUT (of the kind's type); a partial chunk at the end is cut
 * from a whole one. The same bits on every ISA. */
void lyap_variates_draw(lyap_variate_kind kind, const uint32_t key[2], const uint32_t ctr[4], void *out, size_t n);

/* OUT[i] = log(X[i]) for normal positive X[i] (not 0, subnormal, inf or
 * NaN: the caller handles those), to a few ulp; OUT may be X. */
void lyap_variates_log(const double *x, double *out, size_t n);

/* COUNTS[i] = the number of ones among the first D bits of the NW words
 * WORDS[w N + i], w < NW (Binomial(d, 1/2) from random words). */
void lyap_variates_count_bits(const uint32_t *words, int nw, int d, double *counts, size_t n);

/* One Marsaglia-Tsang attempt per value for Gamma(SHAPE[i]), SHAPE in
 * {0, 1/2, 1, 3/2, ...}, from normal X and uniform U. Accepted by the
 * squeeze: OUT[i], REJECTED[i] = 0; shape 0 gives 0 and shape 1/2 gives
 * X^2/2 exactly; else REJECTED[i] = 1 and the caller finishes
 * (see src/exact.c). */
void lyap_variates_gamma_attempt(const double *shape, const double *x, const double *u, double *out,
                                 unsigned char *rejected, size_t n);

/* Double normals with the kernel for ISA (which the CPU must support): tests. */
void lyap_variates_normal_isa(lyap_variates_isa isa, const uint32_t key[2], const uint32_t ctr[4], double *out,
                              size_t n);

/* lyap_variates_draw with the kernel for ISA (which the CPU must support): tests. */
void lyap_variates_draw_isa(lyap_variates_isa isa, lyap_variate_kind kind, const uint32_t key[2],
                            const uint32_t ctr[4], void *out, size_t n);

#endif
