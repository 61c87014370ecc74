/* variates.c: the vectorized normal-variate kernel of the matrix path.
 *
 * The matrix path needs d*d normal variates per layer, and for d >= 16
 * they, not the GEMM, set its speed (DESIGN.md). This kernel draws them in
 * chunks with Random123's Philox4x32-10 and Box-Muller, in plain array
 * loops that gcc vectorizes for AVX-512, AVX2 or SSE2, chosen at run time.
 * log, sin and cos are our own polynomials (accurate to a few ulp) written
 * with plain +, -, *, / and sqrt: IEEE rounds each of those exactly, and
 * without contraction into FMA (ISO C mode) every vector width computes the
 * same bits, so the streams, and results, do not depend on the CPU.
 * Built with -fno-math-errno and the dynamic vectorizer cost model
 * (Makefile.am); nothing here sees NaN or infinity.
 */
#include <Random123/philox.h>
#include <stdint.h>
#include <string.h>

#include "variates.h"

enum { CHUNK = 128 }; /* Box-Muller pairs per chunk: 256 normals */

static inline __attribute__((always_inline)) uint64_t bits_of(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static inline __attribute__((always_inline)) double double_of(uint64_t b)
{
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* 52 random bits on the open interval (0, 1): k 2^-52 + 2^-53. Built from
 * the bits of a double in [1, 2) rather than an integer conversion, which
 * AVX2 lacks for 64-bit integers. */
static inline __attribute__((always_inline)) double open_unit(uint32_t hi, uint32_t lo)
{
    uint64_t mantissa = ((uint64_t)hi << 20) | (lo >> 12);
    return double_of(0x3ff0000000000000ULL | mantissa) - (1.0 - 0x1.0p-53);
}

/* log(u) for normal u > 0: u = m 2^e with m in [sqrt(1/2), sqrt(2)),
 * log m = 2 atanh(s), s = (m - 1)/(m + 1), |s| <= 0.1716: the odd series to
 * s^21 leaves < 1e-17. The exponent is read as a double (2^52 + field
 * minus 2^52) for the same reason as above. */
static inline __attribute__((always_inline)) double log_poly(double u)
{
    uint64_t b = bits_of(u);
    double e = double_of(0x4330000000000000ULL | (b >> 52)) - 0x1.0p52 - 1023;
    double m = double_of((b & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);
    double big = (double)(m > 1.4142135623730951);
    m = m - 0.5 * big * m;
    e = e + big;
    double s = (m - 1) / (m + 1), s2 = s * s;
    double p = 1.0 / 21;
    p = p * s2 + 1.0 / 19;
    p = p * s2 + 1.0 / 17;
    p = p * s2 + 1.0 / 15;
    p = p * s2 + 1.0 / 13;
    p = p * s2 + 1.0 / 11;
    p = p * s2 + 1.0 / 9;
    p = p * s2 + 1.0 / 7;
    p = p * s2 + 1.0 / 5;
    p = p * s2 + 1.0 / 3;
    p = p * s2 + 1.0;
    return e * 0.6931471805599453 + 2 * s * p;
}

/* cos and sin of 2 pi t for t in (0, 1): t = q/4 + r with |r| <= 1/8
 * (exact in double), x = 2 pi r in [-pi/4, pi/4], where the Taylor series
 * to x^17 (sin) and x^18 (cos) leave < 1e-17; quadrant q rotates them. */
static inline __attribute__((always_inline)) void sincos_turns(double t, double *c, double *s)
{
    int qi = (int)(4 * t + 0.5); /* nearest quadrant, 0..4 (int32: SSE2 and AVX2 convert those) */
    double q = (double)qi;
    double x = (t - 0.25 * q) * 6.283185307179586, x2 = x * x;
    double sp = 1.0 / 355687428096000.0;     /* 1/17! */
    sp = sp * x2 - 1.0 / 1307674368000.0;    /* 1/15! */
    sp = sp * x2 + 1.0 / 6227020800.0;       /* 1/13! */
    sp = sp * x2 - 1.0 / 39916800.0;         /* 1/11! */
    sp = sp * x2 + 1.0 / 362880.0;           /* 1/9! */
    sp = sp * x2 - 1.0 / 5040.0;             /* 1/7! */
    sp = sp * x2 + 1.0 / 120.0;              /* 1/5! */
    sp = sp * x2 - 1.0 / 6.0;                /* 1/3! */
    sp = sp * x2 + 1.0;
    double sn = x * sp;
    double cs = -1.0 / 6402373705728000.0;   /* 1/18! */
    cs = cs * x2 + 1.0 / 20922789888000.0;   /* 1/16! */
    cs = cs * x2 - 1.0 / 87178291200.0;      /* 1/14! */
    cs = cs * x2 + 1.0 / 479001600.0;        /* 1/12! */
    cs = cs * x2 - 1.0 / 3628800.0;          /* 1/10! */
    cs = cs * x2 + 1.0 / 40320.0;            /* 1/8! */
    cs = cs * x2 - 1.0 / 720.0;              /* 1/6! */
    cs = cs * x2 + 1.0 / 24.0;               /* 1/4! */
    cs = cs * x2 - 0.5;
    cs = cs * x2 + 1.0;
    /* rotate by q quarter turns (q = 4 is a whole turn), branch-free:
     * odd q swaps cos and sin; q = 1, 2 negate cos; q = 2, 3 negate sin */
    double odd = (double)(qi & 1), flip_c = (double)(1 - 2 * (((qi + 1) >> 1) & 1)),
           flip_s = (double)(1 - 2 * ((qi >> 1) & 1));
    *c = flip_c * (odd * sn + (1 - odd) * cs);
    *s = flip_s * (odd * cs + (1 - odd) * sn);
}

/* CHUNK Box-Muller pairs from Philox blocks FIRST.. of stream (key, ctr):
 * out[i] = r_i cos(2 pi u2_i), out[CHUNK + i] = r_i sin(2 pi u2_i). */
static inline __attribute__((always_inline)) void normal_chunk_body(const uint32_t key[2], const uint32_t ctr[4],
                                                                    uint32_t first, double *out)
{
    double u1[CHUNK], u2[CHUNK];
    philox4x32_key_t k = {{key[0], key[1]}};
    for (int i = 0; i < CHUNK; i++) {
        /* philox4x32_R(10, ...) with its rounds written out: Random123's
         * own round and key schedule, minus the round-count branches that
         * keep gcc from vectorizing the loop. */
        philox4x32_ctr_t r = {{first + (uint32_t)i, ctr[1], ctr[2], ctr[3]}};
        philox4x32_key_t rk = k;
        r = _philox4x32round(r, rk);
        for (int round = 1; round < 10; round++) {
            rk = _philox4x32bumpkey(rk);
            r = _philox4x32round(r, rk);
        }
        u1[i] = open_unit(r.v[0], r.v[1]);
        u2[i] = open_unit(r.v[2], r.v[3]);
    }
    for (int i = 0; i < CHUNK; i++) {
        double radius = __builtin_sqrt(-2 * log_poly(u1[i])), c, s;
        sincos_turns(u2[i], &c, &s);
        out[i] = radius * c;
        out[CHUNK + i] = radius * s;
    }
}

__attribute__((target("avx512f,avx512dq,avx512vl"))) static void normal_chunk_avx512(const uint32_t key[2],
                                                                                  const uint32_t ctr[4],
                                                                                  uint32_t first, double *out)
{
    normal_chunk_body(key, ctr, first, out);
}

__attribute__((target("avx2"))) static void normal_chunk_avx2(const uint32_t key[2], const uint32_t ctr[4],
                                                             uint32_t first, double *out)
{
    normal_chunk_body(key, ctr, first, out);
}

static void normal_chunk_sse2(const uint32_t key[2], const uint32_t ctr[4], uint32_t first, double *out)
{
    normal_chunk_body(key, ctr, first, out);
}

typedef void (*chunk_fn)(const uint32_t[2], const uint32_t[4], uint32_t, double *);

static chunk_fn chunk_kernel(lyap_variates_isa isa)
{
    switch (isa) {
    case LYAP_ISA_AVX512: return normal_chunk_avx512;
    case LYAP_ISA_AVX2: return normal_chunk_avx2;
    default: return normal_chunk_sse2;
    }
}

lyap_variates_isa lyap_variates_best_isa(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        return LYAP_ISA_AVX512;
    if (__builtin_cpu_supports("avx2"))
        return LYAP_ISA_AVX2;
    return LYAP_ISA_SSE2;
}

const char *lyap_variates_isa_name(lyap_variates_isa isa)
{
    return isa == LYAP_ISA_AVX512 ? "avx512" : isa == LYAP_ISA_AVX2 ? "avx2" : "sse2";
}

void lyap_variates_normal_isa(lyap_variates_isa isa, const uint32_t key[2], const uint32_t ctr[4], double *out,
                              size_t n)
{
    chunk_fn kernel = chunk_kernel(isa);
    uint32_t block = ctr[0];
    double spare[2 * CHUNK];
    size_t i = 0;
    for (; i + 2 * CHUNK <= n; i += 2 * CHUNK, block += CHUNK)
        kernel(key, ctr, block, out + i);
    if (i < n) { /* the tail: a whole chunk, of which we keep the front */
        kernel(key, ctr, block, spare);
        memcpy(out + i, spare, (n - i) * sizeof *out);
    }
}

void lyap_variates_normal(const uint32_t key[2], const uint32_t ctr[4], double *out, size_t n)
{
    static lyap_variates_isa isa = LYAP_ISA_UNKNOWN;
    if (isa == LYAP_ISA_UNKNOWN)
        isa = lyap_variates_best_isa();
    lyap_variates_normal_isa(isa, key, ctr, out, n);
}
