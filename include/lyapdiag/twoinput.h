/* twoinput.h: two inputs through one network with gaussian weights and
 * biases (THEORY.md "Two inputs").
 *
 * Given the layer's inputs x and y, the pre-activation pairs (h_i, h'_i)
 * are i.i.d. bivariate normal with variances s2 q_x/d + sb2 and
 * s2 q_y/d + sb2 and covariance s2 p/d + sb2 (q = |.|^2, p = x.y), so
 * (q_x, q_y, p) is an exact Markov chain: d bivariate normals per layer,
 * never a d x d matrix. Its cosine c_l = p / sqrt(q_x q_y) is the finite-
 * width counterpart of the mean-field cosine (biastheory.h).
 */
#ifndef LYAPDIAG_TWOINPUT_H
#define LYAPDIAG_TWOINPUT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int width;            /* d >= 1 */
    double slope;         /* a in [0, 1] */
    double variance;      /* s2 > 0 (d times the weights' variance) */
    double bias_variance; /* sb2 >= 0 (the biases' variance) */
    double m0;            /* |x_0|^2 / d = |y_0|^2 / d > 0 */
    double cosine0;       /* x_0 . y_0 / (|x_0| |y_0|), in [-1, 1] */
    uint64_t seed, task_key; /* the random stream (rng.h) */
} lyap_twoinput_spec;

/* Runs replica REPLICA's chain to the last of DEPTHS (NDEPTHS increasing,
 * >= 1) and writes the cosine at each into COSINE; NaN where an input is
 * exactly 0 (ReLU without biases: a dead network). WORK holds 2 d
 * doubles. Deterministic in (spec, replica). Returns LYAP_OK, or
 * LYAP_EINTERNAL for a bad spec. */
int lyap_twoinput_chain(const lyap_twoinput_spec *spec, int replica, const int *depths, int ndepths, double *work,
                        double *cosine);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_TWOINPUT_H */
