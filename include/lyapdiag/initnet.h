/* initnet.h: Lyapunov initialization made concrete (`lyapdiag init`).
 *
 * Draws the L weight matrices of one width-d Leaky ReLU network at the
 * critical variance s2_crit (lambda = 0, THEORY.md "The sharp boundary"),
 * or at a variance the user gives. With several candidates it keeps the
 * network whose mean log(|x_L|/|x_0|) over a batch of unit inputs is
 * closest to 0: at lambda = 0 the log gain of one network still spreads
 * like sqrt(L v) (THEORY.md, CLT), and this choice removes most of that
 * depth fluctuation.
 *
 * Random streams: candidate c's layer l (1..L) is the stream (seed, key,
 * c, l, LYAP_RNG_WEIGHTS), key = lyap_rng_task_key(family, d, a, 0), and
 * the scoring inputs, shared by every candidate, are (seed, key, 0, 0,
 * LYAP_RNG_INIT_INPUTS): a candidate's weights depend on nothing else (not
 * on the number of candidates or inputs), and the variance only scales them.
 */
#ifndef LYAPDIAG_INITNET_H
#define LYAPDIAG_INITNET_H

#include <stdint.h>

#include "lyapdiag/family.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What to draw: the command line of `lyapdiag init`, validated. */
typedef struct {
    lyap_family family;
    int width;          /* d, 1..LYAP_DECK_MAX_WIDTH; even for looks-linear families */
    double slope;       /* a, 0 <= a <= 1 */
    int depth;          /* L, number of weight matrices, >= 1 */
    double variance;    /* s2 > 0 as given by --variance; NaN = the critical s2_crit */
    uint64_t seed;
    int candidates;     /* networks drawn, >= 1 */
    int inputs;         /* unit inputs each candidate is scored on, >= 1 */
} lyap_initnet_spec;

/* The chosen network. */
typedef struct {
    lyap_initnet_spec spec;
    double variance;       /* s2 used: s2_crit, or spec.variance */
    int variance_is_critical;
    /* [depth][width][width], x_l = phi(W_l x_{l-1}) with W_l(i, j) =
     * weights[(l - 1) d^2 + i d + j] (row-major), the scale included:
     * gaussian entries N(0, s2/d), orthogonal eta O with eta^2 = s2,
     * uniform U(-c, c) with c^2 = 3 s2/d, looks-linear [[A, -A], [-A, A]]
     * with A h x h (h = d/2): N(0, s2/h) entries or eta O. */
    double *weights;
    double *scores;        /* [candidates] each candidate's mean log(|x_L|/|x_0|) */
    int chosen;            /* 0-based index of the first candidate with the smallest |score| */
} lyap_initnet;

/* Checks SPEC beyond the ranges of single flags: LYAP_EUSAGE for an odd
 * width with a looks-linear family, or for no --variance where there is no
 * finite critical variance (uniform: no closed form; slope 0 with gaussian
 * or orthogonal weights: lambda = -inf); LYAP_ENOMEM if the network (and
 * a second one while candidates are compared) would not fit in this node's
 * memory; LYAP_EMATH if the theory fails. Messages name the flag and the fix. */
int lyap_initnet_check(const lyap_initnet_spec *spec);

/* Checks, before any work, that PATH (given as --output) can be written: not a
 * directory, in an existing directory this process may write to.
 * LYAP_EIO naming the cause and the fix otherwise. */
int lyap_initnet_check_output(const char *path);

/* Draws the candidates of SPEC (checked by lyap_initnet_check), scores
 * them, and keeps the chosen one in *NET (free with lyap_initnet_free).
 * Memory: one network, plus one candidate at a time when candidates > 1.
 * A candidate that maps an input to exactly 0 (ReLU) scores -inf and is
 * chosen only if all do. Returns LYAP_OK, LYAP_EUSAGE/LYAP_ENOMEM/
 * LYAP_EMATH as lyap_initnet_check, or LYAP_ELAPACK (orthogonal draws). */
int lyap_initnet_create(const lyap_initnet_spec *spec, lyap_initnet *net);

/* The scoring inputs of SPEC: X[j d + i], j < spec->inputs, unit columns
 * uniform on the sphere (normalized Gaussian vectors), the same for every
 * candidate. X has width x inputs doubles. For readers that re-score a
 * stored network. */
void lyap_initnet_draw_inputs(const lyap_initnet_spec *spec, double *x);

/* Frees the arrays of NET and zeroes it; safe on a zeroed NET. */
void lyap_initnet_free(lyap_initnet *net);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_INITNET_H */
