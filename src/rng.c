/* rng.c: counter-based streams (Salmon et al., SC'11, via Random123):
 * Philox4x64-10 for one-at-a-time draws, and the key and counter of the
 * Philox4x32-10 array kernels (variates.c). */
#include <Random123/philox.h>
#include <math.h>
#include <string.h>

#include "lyapdiag/rng.h"
#include "variates.h"

/* splitmix64 finalizer (Steele et al. 2014): a bijective 64-bit mixer. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t bits_of(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits;
}

uint64_t lyap_rng_task_key(lyap_family f, int width, double slope, double variance)
{
    uint64_t h = mix64(0x6c7961706469616eULL ^ (uint64_t)f);
    h = mix64(h ^ (uint64_t)(uint32_t)width);
    h = mix64(h ^ bits_of(slope));
    return mix64(h ^ bits_of(variance));
}

uint64_t lyap_rng_bias_key(lyap_family f, int width, double slope, double variance, double bias_variance)
{
    return mix64(lyap_rng_task_key(f, width, slope, variance) ^ mix64(0x6269617365730000ULL ^ bits_of(bias_variance)));
}

void lyap_rng_init(lyap_rng *rng, uint64_t seed, uint64_t task_key, uint64_t replica,
                   uint64_t layer, lyap_rng_purpose purpose)
{
    rng->key[0] = seed;
    rng->key[1] = task_key;
    rng->counter[0] = 0;
    rng->counter[1] = layer;
    rng->counter[2] = replica;
    rng->counter[3] = (uint64_t)purpose;
    rng->available = 0;
}

/* The next block of four 64-bit words. */
static philox4x64_ctr_t next_block(lyap_rng *rng)
{
    philox4x64_ctr_t c = {{rng->counter[0], rng->counter[1], rng->counter[2], rng->counter[3]}};
    philox4x64_key_t k = {{rng->key[0], rng->key[1]}};
    rng->counter[0]++;
    return philox4x64(c, k);
}

/* Top 53 bits to the open interval (0, 1): never 0, so log() is finite. */
static double open_unit(uint64_t bits)
{
    return ((double)(bits >> 11) + 0.5) * 0x1.0p-53;
}


/* The vectorized Philox4x32 kernels (src/variates.c) for this stream: the
 * 64-bit key mixes seed and task key; the counter keeps block, layer,
 * replica and purpose (each below 2^32: the deck's limits see to it). */
static void philox32_stream(const lyap_rng *rng, uint32_t key[2], uint32_t ctr[4])
{
    uint64_t mixed = mix64(rng->key[0] ^ mix64(rng->key[1] + 0x9e3779b97f4a7c15ULL));
    key[0] = (uint32_t)mixed;
    key[1] = (uint32_t)(mixed >> 32);
    for (int i = 0; i < 4; i++)
        ctr[i] = (uint32_t)rng->counter[i];
}

/* N values of KIND into OUT, then past the chunks of 128 blocks they took. */
static void fill(lyap_rng *rng, lyap_variate_kind kind, void *out, size_t n)
{
    uint32_t key[2], ctr[4];
    size_t per_chunk = lyap_variates_per_chunk(kind);
    philox32_stream(rng, key, ctr);
    lyap_variates_draw(kind, key, ctr, out, n);
    rng->counter[0] += 128 * ((n + per_chunk - 1) / per_chunk);
    rng->available = 0;
}

void lyap_rng_normal(lyap_rng *rng, double *out, size_t n)
{
    fill(rng, LYAP_VARIATE_NORMAL, out, n);
}

void lyap_rng_normal_float(lyap_rng *rng, float *out, size_t n)
{
    fill(rng, LYAP_VARIATE_NORMAL_FLOAT, out, n);
}

void lyap_rng_uniform32(lyap_rng *rng, double *out, size_t n)
{
    fill(rng, LYAP_VARIATE_UNIFORM32, out, n);
}

void lyap_rng_uniform(lyap_rng *rng, double *out, size_t n)
{
    fill(rng, LYAP_VARIATE_UNIFORM, out, n);
}

void lyap_rng_uniform_symmetric(lyap_rng *rng, double *out, size_t n)
{
    fill(rng, LYAP_VARIATE_SYMMETRIC32, out, n);
}

void lyap_rng_uniform_symmetric_float(lyap_rng *rng, float *out, size_t n)
{
    fill(rng, LYAP_VARIATE_SYMMETRIC_FLOAT, out, n);
}

void lyap_rng_bits(lyap_rng *rng, uint32_t *out, size_t n)
{
    fill(rng, LYAP_VARIATE_BITS, out, n);
}

void lyap_rng_select_column(lyap_rng *rng, int column)
{
    rng->counter[3] = (rng->counter[3] & 0xf) | ((uint64_t)column << 4);
}

static uint64_t next_word(lyap_rng *rng)
{
    if (rng->available == 0) {
        philox4x64_ctr_t r = next_block(rng);
        memcpy(rng->word, r.v, sizeof rng->word);
        rng->available = 4;
    }
    return rng->word[4 - rng->available--];
}


/* One standard normal (Box-Muller, cosine half). */
static double normal1(lyap_rng *rng)
{
    const double two_pi = 6.283185307179586476925286766559;
    double radius = sqrt(-2.0 * log(open_unit(next_word(rng))));
    return radius * cos(two_pi * open_unit(next_word(rng)));
}

double lyap_rng_gamma(lyap_rng *rng, double shape)
{
    if (shape < 1) /* Gamma(s) = Gamma(s + 1) U^(1/s) */
        return lyap_rng_gamma(rng, shape + 1) * pow(open_unit(next_word(rng)), 1 / shape);
    double d = shape - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (;;) {
        double x = normal1(rng), v = 1 + c * x;
        if (v <= 0)
            continue;
        v = v * v * v;
        double u = open_unit(next_word(rng)), x2 = x * x;
        if (u < 1 - 0.0331 * x2 * x2 || log(u) < 0.5 * x2 + d * (1 - v + log(v)))
            return d * v;
    }
}
