/* variates.c: the vectorized normal-variate kernel of the matrix path.
 *
 * The matrix path needs d*d normal variates per layer, and for d >= 16
 * they, not the GEMM, set its speed (DESIGN.md). This kernel draws them in
 * chunks with Random123's Philox4x32-10 (its rounds in intrinsics) and
 * Box-Muller in plain array loops that gcc vectorizes, for AVX-512, AVX2
 * or SSE2, chosen at run time; likewise the uniforms of uniform weights.
 * log, sin and cos are our own polynomials (accurate to a few ulp) written
 * with plain +, -, *, / and sqrt: IEEE rounds each of those exactly, and
 * without contraction into FMA (ISO C mode) every vector width computes the
 * same bits, so the streams, and results, do not depend on the CPU.
 * Built with -fno-math-errno and the dynamic vectorizer cost model
 * (Makefile.am); nothing here sees NaN or infinity.
 */
#include <Random123/philox.h>
#include <immintrin.h>
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

/* 32 random bits on the open interval (0, 1): k 2^-32 + 2^-33, exact. */
static inline __attribute__((always_inline)) double open_unit32(uint32_t w)
{
    return double_of(0x3ff0000000000000ULL | ((uint64_t)w << 20)) - (1.0 - 0x1.0p-33);
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

/* The single-precision twins of log_poly and sincos_turns, for the
 * precision = single matrix path: 24-bit uniforms and shorter series
 * (their truncation, < 3e-10, is far below float's 6e-8 rounding). */
static inline __attribute__((always_inline)) float log_polyf(float u)
{
    uint32_t b;
    memcpy(&b, &u, sizeof b);
    float e = (float)(int32_t)(b >> 23) - 127, m;
    uint32_t mb = (b & 0x007fffffu) | 0x3f800000u;
    memcpy(&m, &mb, sizeof m);
    float big = (float)(m > 1.41421356f);
    m = m - 0.5f * big * m;
    e = e + big;
    float s = (m - 1) / (m + 1), s2 = s * s;
    float p = 1.0f / 9;
    p = p * s2 + 1.0f / 7;
    p = p * s2 + 1.0f / 5;
    p = p * s2 + 1.0f / 3;
    p = p * s2 + 1.0f;
    return e * 0.693147181f + 2 * s * p;
}

static inline __attribute__((always_inline)) void sincos_turnsf(float t, float *c, float *s)
{
    int qi = (int)(4 * t + 0.5f);
    float x = (t - 0.25f * (float)qi) * 6.28318531f, x2 = x * x;
    float sp = 1.0f / 362880;
    sp = sp * x2 - 1.0f / 5040;
    sp = sp * x2 + 1.0f / 120;
    sp = sp * x2 - 1.0f / 6;
    sp = sp * x2 + 1.0f;
    float sn = x * sp;
    float cs = -1.0f / 3628800;
    cs = cs * x2 + 1.0f / 40320;
    cs = cs * x2 - 1.0f / 720;
    cs = cs * x2 + 1.0f / 24;
    cs = cs * x2 - 0.5f;
    cs = cs * x2 + 1.0f;
    float odd = (float)(qi & 1), flip_c = (float)(1 - 2 * (((qi + 1) >> 1) & 1)),
          flip_s = (float)(1 - 2 * ((qi >> 1) & 1));
    *c = flip_c * (odd * sn + (1 - odd) * cs);
    *s = flip_s * (odd * cs + (1 - odd) * sn);
}

/* U(-1, 1) from one word, for uniform weights: (2k + 1) 2^-32 - 1 for the
 * word's value k, read as the signed s = k - 2^31: (2s + 1) 2^-32, exact in
 * double (32 significant bits). Symmetric about 0 (k <-> 2^32 - 1 - k), never
 * 0 or +-1; a grid of 2^32 points whose moments differ from U(-1, 1)'s by
 * relative 2^-64 (the variance (1 - 2^-64)/3): one Philox word per weight
 * instead of two, and no pass over W for 2u - 1. int32 -> double converts
 * exactly on every vector ISA. */
static inline __attribute__((always_inline)) double symmetric32(uint32_t w)
{
    return (double)(int32_t)(w ^ 0x80000000u) * 0x1.0p-31 + 0x1.0p-32;
}

/* The same in float for precision = single: the top 24 bits k,
 * (2k + 1) 2^-24 - 1, exact in float (a multiple of 2^-24 below 1). */
static inline __attribute__((always_inline)) float symmetricf(uint32_t w)
{
    return (float)(int32_t)(w >> 8) * 0x1.0p-23f + (0x1.0p-24f - 1.0f);
}

/* 24 random bits on the open interval (0, 1). */
static inline __attribute__((always_inline)) float open_unitf(uint32_t w)
{
    return (float)(w >> 8) * 0x1.0p-24f + 0x1.0p-25f;
}


/* Philox4x32-10 (Random123's round and key schedule, its constants) on
 * CHUNK counters at once, in place, one array per word (W[j][i]: word j
 * of block i). Integer arithmetic, so every version gives the same bits
 * (tested against Random123's philox4x32). The 32 x 32 -> 64-bit products
 * are written with the vector ISA's own widening multiply (pmuludq, on
 * the even 32-bit lanes, then on the odd ones shifted down): gcc
 * vectorizes the plain C product as a full 64-bit one, with three
 * pmuludq (or AVX512DQ's vpmullq, three uops and 15 cycles), which made
 * the rounds, most of the uniform weights' cost, 1.4x slower. Round r
 * (key (k0, k1) + r (W0, W1)) maps words (x0, x1, x2, x3) to
 * (hi(M1 x2) ^ x1 ^ k0, lo(M1 x2), hi(M0 x0) ^ x3 ^ k1, lo(M0 x0)).
 * One vector of counters at a time, all ten rounds in registers: EVEN and
 * ODD products of the lanes' 32-bit words (ODD from the words shifted
 * down), then the high and low halves put back in their lanes. */
#define PHILOX_ROUNDS_WITH(V, LANES, LOAD, STORE, MUL, SRL, HI, LO, XOR, SET64, SET32)                  \
    const V m0 = SET64(PHILOX_M4x32_0), m1 = SET64(PHILOX_M4x32_1);                                    \
    for (int i = 0; i < CHUNK; i += LANES) {                                                             \
        V a = LOAD((const void *)(w[0] + i)), b = LOAD((const void *)(w[1] + i));                        \
        V c = LOAD((const void *)(w[2] + i)), d = LOAD((const void *)(w[3] + i));                        \
        uint32_t r0 = k0, r1 = k1;                                                                       \
        for (int round = 0; round < 10; round++) {                                                       \
            V p0e = MUL(a, m0), p0o = MUL(SRL(a, 32), m0), p1e = MUL(c, m1), p1o = MUL(SRL(c, 32), m1); \
            V hi0 = HI(p0e, p0o), lo0 = LO(p0e, p0o), hi1 = HI(p1e, p1o), lo1 = LO(p1e, p1o);            \
            a = XOR(XOR(hi1, b), SET32((int)r0));                                                        \
            b = lo1;                                                                                     \
            c = XOR(XOR(hi0, d), SET32((int)r1));                                                        \
            d = lo0;                                                                                     \
            r0 += PHILOX_W32_0;                                                                          \
            r1 += PHILOX_W32_1;                                                                          \
        }                                                                                                \
        STORE((void *)(w[0] + i), a);                                                                    \
        STORE((void *)(w[1] + i), b);                                                                    \
        STORE((void *)(w[2] + i), c);                                                                    \
        STORE((void *)(w[3] + i), d);                                                                    \
    }

/* high halves of the even products into the even lanes, the odd ones'
 * stay; low halves of the odd products up into the odd lanes */
#define HI512(e, o) _mm512_mask_blend_epi32(0xaaaa, _mm512_srli_epi64(e, 32), o)
#define LO512(e, o) _mm512_mask_blend_epi32(0xaaaa, e, _mm512_slli_epi64(o, 32))
__attribute__((target("avx512f"))) static void rounds_avx512(uint32_t w[4][CHUNK], uint32_t k0, uint32_t k1)
{
    PHILOX_ROUNDS_WITH(__m512i, 16, _mm512_loadu_si512, _mm512_storeu_si512, _mm512_mul_epu32, _mm512_srli_epi64,
                       HI512, LO512, _mm512_xor_si512, _mm512_set1_epi64, _mm512_set1_epi32)
}

#define LOAD256(p) _mm256_loadu_si256((const __m256i *)(p))
#define STORE256(p, v) _mm256_storeu_si256((__m256i *)(p), v)
#define HI256(e, o) _mm256_blend_epi32(_mm256_srli_epi64(e, 32), o, 0xaa)
#define LO256(e, o) _mm256_blend_epi32(e, _mm256_slli_epi64(o, 32), 0xaa)
__attribute__((target("avx2"))) static void rounds_avx2(uint32_t w[4][CHUNK], uint32_t k0, uint32_t k1)
{
    PHILOX_ROUNDS_WITH(__m256i, 8, LOAD256, STORE256, _mm256_mul_epu32, _mm256_srli_epi64, HI256, LO256,
                       _mm256_xor_si256, _mm256_set1_epi64x, _mm256_set1_epi32)
}

/* SSE2 has no blend: mask and or */
#define LOAD128(p) _mm_loadu_si128((const __m128i *)(p))
#define STORE128(p, v) _mm_storeu_si128((__m128i *)(p), v)
#define HIGH128 _mm_set1_epi64x((long long)0xffffffff00000000ULL)
#define HI128(e, o) _mm_or_si128(_mm_srli_epi64(e, 32), _mm_and_si128(o, HIGH128))
#define LO128(e, o) _mm_or_si128(_mm_andnot_si128(HIGH128, e), _mm_slli_epi64(o, 32))
static void rounds_sse2(uint32_t w[4][CHUNK], uint32_t k0, uint32_t k1)
{
    PHILOX_ROUNDS_WITH(__m128i, 4, LOAD128, STORE128, _mm_mul_epu32, _mm_srli_epi64, HI128, LO128, _mm_xor_si128,
                       _mm_set1_epi64x, _mm_set1_epi32)
}

/* One chunk (CHUNK Philox blocks FIRST.. of stream (key, ctr)) of KIND:
 *   bits:    4 CHUNK words, word j of block i at out[j CHUNK + i];
 *   uniform: 2 CHUNK values on (0, 1), from words (0, 1) then (2, 3);
 *   uniform32: 4 CHUNK values on (0, 1), word j of block i at out[j CHUNK + i];
 *   symmetric32, symmetric float: 4 CHUNK values on (-1, 1), likewise;
 *   normal:  2 CHUNK values, out[i] = r_i cos(2 pi u2_i) and
 *            out[CHUNK + i] = r_i sin(2 pi u2_i) (Box-Muller);
 *   normal float: 4 CHUNK floats, Box-Muller on 24-bit uniforms from
 *            words (0, 1) and (2, 3), cosines then sines of each pair. */
typedef void (*rounds_fn)(uint32_t w[4][CHUNK], uint32_t k0, uint32_t k1);

static inline __attribute__((always_inline)) void chunk_body(lyap_variate_kind kind, const uint32_t key[2],
                                                             const uint32_t ctr[4], uint32_t first, void *out,
                                                             rounds_fn rounds)
{
    uint32_t w[4][CHUNK];
    double u1[CHUNK], u2[CHUNK];
    for (int i = 0; i < CHUNK; i++) {
        w[0][i] = first + (uint32_t)i;
        w[1][i] = ctr[1];
        w[2][i] = ctr[2];
        w[3][i] = ctr[3];
    }
    rounds(w, key[0], key[1]);
    if (kind == LYAP_VARIATE_BITS) {
        memcpy(out, w, sizeof w);
        return;
    }
    if (kind == LYAP_VARIATE_SYMMETRIC32) {
        double *o = out;
        for (int j = 0; j < 4; j++)
            for (int i = 0; i < CHUNK; i++)
                o[j * CHUNK + i] = symmetric32(w[j][i]);
        return;
    }
    if (kind == LYAP_VARIATE_SYMMETRIC_FLOAT) {
        float *of = out;
        for (int j = 0; j < 4; j++)
            for (int i = 0; i < CHUNK; i++)
                of[j * CHUNK + i] = symmetricf(w[j][i]);
        return;
    }
    if (kind == LYAP_VARIATE_UNIFORM32) {
        double *o = out;
        for (int j = 0; j < 4; j++)
            for (int i = 0; i < CHUNK; i++)
                o[j * CHUNK + i] = open_unit32(w[j][i]);
        return;
    }
    if (kind == LYAP_VARIATE_NORMAL_FLOAT) {
        float *of = out;
        for (int h = 0; h < 2; h++)
            for (int i = 0; i < CHUNK; i++) {
                float radius = __builtin_sqrtf(-2 * log_polyf(open_unitf(w[2 * h][i]))), c, s;
                sincos_turnsf(open_unitf(w[2 * h + 1][i]), &c, &s);
                of[2 * h * CHUNK + i] = radius * c;
                of[(2 * h + 1) * CHUNK + i] = radius * s;
            }
        return;
    }
    double *o = out;
    for (int i = 0; i < CHUNK; i++) {
        u1[i] = open_unit(w[0][i], w[1][i]);
        u2[i] = open_unit(w[2][i], w[3][i]);
    }
    if (kind == LYAP_VARIATE_UNIFORM) {
        memcpy(o, u1, sizeof u1);
        memcpy(o + CHUNK, u2, sizeof u2);
        return;
    }
    for (int i = 0; i < CHUNK; i++) {
        double radius = __builtin_sqrt(-2 * log_poly(u1[i])), c, s;
        sincos_turns(u2[i], &c, &s);
        o[i] = radius * c;
        o[CHUNK + i] = radius * s;
    }
}

static inline __attribute__((always_inline)) void log_body(const double *x, double *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = log_poly(x[i]);
}

/* Ones among the first D bits of each step's NW words, word w of step i at
 * WORDS[w N + i] (SWAR popcount: vectorizes where a popcnt call would not;
 * word-major, so each word's pass is one contiguous loop). */
static inline __attribute__((always_inline)) uint32_t ones(uint32_t x)
{
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0fu;
    return (x * 0x01010101u) >> 24;
}

static inline __attribute__((always_inline)) void count_body(const uint32_t *words, int nw, int d, double *counts,
                                                             size_t n)
{
    for (size_t i = 0; i < n; i++)
        counts[i] = 0;
    for (int w = 0; w < nw; w++) {
        int bits = d - 32 * w < 32 ? d - 32 * w : 32;
        uint32_t mask = bits == 32 ? 0xffffffffu : (1u << bits) - 1;
        const uint32_t *word = words + (size_t)w * n;
        for (size_t i = 0; i < n; i++)
            counts[i] += (double)(int32_t)ones(word[i] & mask);
    }
}

/* One Marsaglia-Tsang attempt per value (ACM TOMS 26, 2000) for shape
 * a >= 1 from normal x and uniform u: the squeeze u < 1 - 0.0331 x^4
 * accepts most; REJECTED[i] = 1 marks the rest for the caller to finish.
 * The shapes here are k/2: a = 0 gives 0, and a = 1/2 is exactly x^2/2
 * (Gamma(1/2) is half a chi-square with one degree of freedom). */
static inline __attribute__((always_inline)) void gamma_body(const double *shape, const double *x, const double *u,
                                                             double *out, unsigned char *rejected, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double a = shape[i], dd = a - 1.0 / 3, c = 1 / __builtin_sqrt(9 * (a >= 1 ? dd : 1.0));
        double v = 1 + c * x[i], v3 = v * v * v, x2 = x[i] * x[i];
        int ok = (a >= 1) & (v > 0) & (u[i] < 1 - 0.0331 * x2 * x2);
        out[i] = a >= 1 ? dd * v3 : 0.5 * x2 * (double)(a == 0.5);
        rejected[i] = (unsigned char)((a >= 1) & !ok);
    }
}


__attribute__((target("avx512f,avx512dq,avx512vl"))) static void chunk_avx512(lyap_variate_kind kind,
                                                                              const uint32_t key[2],
                                                                              const uint32_t ctr[4], uint32_t first,
                                                                              void *out)
{
    chunk_body(kind, key, ctr, first, out, rounds_avx512);
}
__attribute__((target("avx2"))) static void chunk_avx2(lyap_variate_kind kind, const uint32_t key[2],
                                                       const uint32_t ctr[4], uint32_t first, void *out)
{
    chunk_body(kind, key, ctr, first, out, rounds_avx2);
}
static void chunk_sse2(lyap_variate_kind kind, const uint32_t key[2], const uint32_t ctr[4], uint32_t first, void *out)
{
    chunk_body(kind, key, ctr, first, out, rounds_sse2);
}
ISA_VARIANTS(logs, (const double *x, double *out, size_t n), log_body(x, out, n))
ISA_VARIANTS(counts, (const uint32_t *words, int nw, int d, double *counts, size_t n),
             count_body(words, nw, d, counts, n))
ISA_VARIANTS(gammas, (const double *shape, const double *x, const double *u, double *out, unsigned char *rejected,
                      size_t n),
             gamma_body(shape, x, u, out, rejected, n))

typedef void (*chunk_fn)(lyap_variate_kind, const uint32_t[2], const uint32_t[4], uint32_t, void *);
typedef void (*log_fn)(const double *, double *, size_t);
typedef void (*count_fn)(const uint32_t *, int, int, double *, size_t);
typedef void (*gamma_fn)(const double *, const double *, const double *, double *, unsigned char *, size_t);

lyap_variates_isa lyap_variates_best_isa(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        return LYAP_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) /* every AVX2 CPU has FMA */
        return LYAP_ISA_AVX2;
    return LYAP_ISA_SSE2;
}

const char *lyap_variates_isa_name(lyap_variates_isa isa)
{
    return isa == LYAP_ISA_AVX512 ? "avx512" : isa == LYAP_ISA_AVX2 ? "avx2" : "sse2";
}

static lyap_variates_isa best_isa(void)
{
    static lyap_variates_isa isa = LYAP_ISA_UNKNOWN;
    if (isa == LYAP_ISA_UNKNOWN)
        isa = lyap_variates_best_isa();
    return isa;
}

size_t lyap_variates_per_chunk(lyap_variate_kind kind)
{
    return kind == LYAP_VARIATE_UNIFORM || kind == LYAP_VARIATE_NORMAL ? 2 * CHUNK : 4 * CHUNK;
}

/* N values of KIND, whole chunks into OUT, the tail cut from one more. */
static void draw(lyap_variates_isa isa, lyap_variate_kind kind, const uint32_t key[2], const uint32_t ctr[4],
                 void *out, size_t n)
{
    chunk_fn kernel = isa == LYAP_ISA_AVX512 ? chunk_avx512 : isa == LYAP_ISA_AVX2 ? chunk_avx2 : chunk_sse2;
    size_t per_chunk = lyap_variates_per_chunk(kind), i = 0;
    size_t size = kind == LYAP_VARIATE_BITS || kind == LYAP_VARIATE_NORMAL_FLOAT || kind == LYAP_VARIATE_SYMMETRIC_FLOAT
                      ? sizeof(float)
                      : sizeof(double);
    uint32_t block = ctr[0];
    unsigned char *bytes = out;
    double spare[4 * CHUNK]; /* room for the largest chunk */
    for (; i + per_chunk <= n; i += per_chunk, block += CHUNK)
        kernel(kind, key, ctr, block, bytes + i * size);
    if (i < n) {
        kernel(kind, key, ctr, block, spare);
        memcpy(bytes + i * size, spare, (n - i) * size);
    }
}

void lyap_variates_normal_isa(lyap_variates_isa isa, const uint32_t key[2], const uint32_t ctr[4], double *out,
                              size_t n)
{
    draw(isa, LYAP_VARIATE_NORMAL, key, ctr, out, n);
}

void lyap_variates_draw_isa(lyap_variates_isa isa, lyap_variate_kind kind, const uint32_t key[2],
                            const uint32_t ctr[4], void *out, size_t n)
{
    draw(isa, kind, key, ctr, out, n);
}

void lyap_variates_draw(lyap_variate_kind kind, const uint32_t key[2], const uint32_t ctr[4], void *out, size_t n)
{
    draw(best_isa(), kind, key, ctr, out, n);
}

void lyap_variates_log(const double *x, double *out, size_t n)
{
    lyap_variates_isa isa = best_isa();
    log_fn kernel = isa == LYAP_ISA_AVX512 ? logs_avx512 : isa == LYAP_ISA_AVX2 ? logs_avx2 : logs_sse2;
    kernel(x, out, n);
}

void lyap_variates_count_bits(const uint32_t *words, int nw, int d, double *counts, size_t n)
{
    lyap_variates_isa isa = best_isa();
    count_fn kernel = isa == LYAP_ISA_AVX512 ? counts_avx512 : isa == LYAP_ISA_AVX2 ? counts_avx2 : counts_sse2;
    kernel(words, nw, d, counts, n);
}

void lyap_variates_gamma_attempt(const double *shape, const double *x, const double *u, double *out,
                                 unsigned char *rejected, size_t n)
{
    lyap_variates_isa isa = best_isa();
    gamma_fn kernel = isa == LYAP_ISA_AVX512 ? gammas_avx512 : isa == LYAP_ISA_AVX2 ? gammas_avx2 : gammas_sse2;
    kernel(shape, x, u, out, rejected, n);
}
