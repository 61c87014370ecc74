/* rng.h: counter-based random streams (Random123 Philox4x64-10).
 *
 * A stream is a pure function of (seed, task key, replica, layer, purpose):
 * no state is shared between tasks, so results do not depend on the number
 * of MPI ranks, the scheduling order or threads (DESIGN.md, Principles).
 */
#ifndef LYAPDIAG_RNG_H
#define LYAPDIAG_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "lyapdiag/family.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a stream is used for: distinct purposes never share variates. */
typedef enum {
    LYAP_RNG_WEIGHTS = 1,  /* matrix path: weight matrices */
    LYAP_RNG_INPUTS,       /* matrix path: the inputs */
    LYAP_RNG_EXACT_BITS,   /* exact path: bits for K ~ Binomial(d, 1/2) */
    LYAP_RNG_EXACT_POS,    /* exact path: Gamma(K/2) attempts */
    LYAP_RNG_EXACT_NEG,    /* exact path: Gamma((d-K)/2) attempts */
    LYAP_RNG_EXACT_RETRY_POS, /* exact path: gammas whose attempt was rejected */
    LYAP_RNG_EXACT_RETRY_NEG,
    LYAP_RNG_SPECTRUM,     /* Lyapunov spectrum: initial frame and each layer's weights */
    LYAP_RNG_INIT_INPUTS,  /* lyapdiag init: the inputs every candidate is scored on */
    LYAP_RNG_TWO_INPUTS,   /* two-input chain: each layer's bivariate pre-activations */
    LYAP_RNG_BIAS_CHAIN,   /* orthogonal weights with biases: each layer's direction and biases */
    LYAP_RNG_BIASES,       /* matrix path with biases: each layer's bias vector */
    LYAP_RNG_TRAIN_DATA,   /* train: the data of a seed (replica 0: training set, 1: test set) */
    LYAP_RNG_TRAIN_LAYERS, /* train: the input and output layers */
    LYAP_RNG_TRAIN_BATCHES /* train: each epoch's minibatch order */
} lyap_rng_purpose;

typedef struct {
    uint64_t key[2];     /* seed, task key */
    uint64_t counter[4]; /* block, layer, replica, purpose */
    uint64_t word[4];    /* the current block, for one-at-a-time draws */
    int available;       /* unused words left in it */
} lyap_rng;

/* 64-bit key of a task: mixes family, width and the bits of the slope and
 * of the simulated variance (0 when the variance axis comes from the
 * homogeneity shift). Depends on values, not grid positions, so a task
 * draws the same numbers in any deck that contains it. */
uint64_t lyap_rng_task_key(lyap_family f, int width, double slope, double variance);

/* 64-bit key of a simulation with biases: the task key at VARIANCE mixed
 * with the bits of BIAS_VARIANCE, distinct from every lyap_rng_task_key
 * (0 included), so each (variance, bias variance) has its own streams. */
uint64_t lyap_rng_bias_key(lyap_family f, int width, double slope, double variance, double bias_variance);

/* Positions RNG at the start of stream (seed, task_key, replica, layer, purpose). */
void lyap_rng_init(lyap_rng *rng, uint64_t seed, uint64_t task_key, uint64_t replica,
                   uint64_t layer, lyap_rng_purpose purpose);

/* Makes RNG the stream of column COLUMN (0..65535) of its purpose, for
 * paths whose columns draw independently. */
void lyap_rng_select_column(lyap_rng *rng, int column);

/* Fills OUT[0..n) with random 32-bit words (vectorized, as the normals). */
void lyap_rng_bits(lyap_rng *rng, uint32_t *out, size_t n);

/* Fills OUT[0..n) with standard normal variates and advances the stream:
 * Philox4x32-10 and Box-Muller in vectorized loops (AVX-512, AVX2 or SSE2,
 * chosen at run time; the same values on each). */
void lyap_rng_normal(lyap_rng *rng, double *out, size_t n);

/* Fills OUT[0..n) with single-precision standard normals (24-bit
 * Box-Muller, vectorized as the doubles), for precision = single. */
void lyap_rng_normal_float(lyap_rng *rng, float *out, size_t n);

/* Fills OUT[0..n) with uniform variates on the open interval (0, 1), 52
 * random bits each (vectorized, as the normals). The array draws start at
 * a fresh block (words left by the one-at-a-time draws below are skipped). */
void lyap_rng_uniform(lyap_rng *rng, double *out, size_t n);

/* Fills OUT[0..n) with uniforms on (0, 1) of 32 random bits each (k 2^-32
 * + 2^-33), twice as many per Philox block as lyap_rng_uniform: for
 * acceptance tests, where 2^-32 resolution is far below any effect. */
void lyap_rng_uniform32(lyap_rng *rng, double *out, size_t n);

/* Fills OUT[0..n) with uniforms on (-1, 1), for uniform weights: one
 * 32-bit Philox word each, (2k + 1) 2^-32 - 1 (symmetric, exact; its
 * moments are U(-1, 1)'s to relative 2^-64), four per block. */
void lyap_rng_uniform_symmetric(lyap_rng *rng, double *out, size_t n);

/* The same in single precision from the words' top 24 bits k,
 * (2k + 1) 2^-24 - 1: the same words as the doubles, so each float is
 * within 2^-24 of the double the same stream gives at its position. */
void lyap_rng_uniform_symmetric_float(lyap_rng *rng, float *out, size_t n);

/* One-at-a-time draws: the exact path's rare gamma retries. */

/* Gamma(shape, 1) for shape > 0: Marsaglia and Tsang's exact rejection
 * method (ACM TOMS 26, 2000), with Gamma(s) = Gamma(s + 1) U^(1/s) for
 * s < 1. */
double lyap_rng_gamma(lyap_rng *rng, double shape);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_RNG_H */
