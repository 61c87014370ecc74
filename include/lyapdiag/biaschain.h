/* biaschain.h: the signal of a network with orthogonal weights and biases
 * as a scalar chain (THEORY.md "Biases").
 *
 * W x = eta |x| u with u uniform on the sphere, independent of x, so the
 * law of q_l = |x_l|^2 given x_{l-1} depends on q_{l-1} only:
 *     q_l = sum_i phi(eta sqrt(q_{l-1}) u_i + b_i)^2,   b ~ N(0, sb2 I),
 * d normals for u (u = z / |z|) and d for b per layer: O(d), never a d x d
 * matrix or a QR. (Gaussian weights need even less: the exact O(1) chain
 * q_l = (s2 q_{l-1}/d + sb2) S_l of the exact path.)
 */
#ifndef LYAPDIAG_BIASCHAIN_H
#define LYAPDIAG_BIASCHAIN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int width;               /* d >= 1 */
    double slope;            /* a in [0, 1] */
    double variance;         /* eta^2 > 0 (W = eta Q, Q Haar) */
    double bias_variance;    /* sb2 >= 0 */
    double m0;               /* |x_0|^2 / d > 0 */
    uint64_t seed, task_key; /* the random stream (rng.h) */
} lyap_biaschain_spec;

/* Runs replica REPLICA's chain to the last of DEPTHS (NDEPTHS increasing,
 * >= 1) and writes log m_L = log(q_L/d) at each into LOG_M (finite in
 * exploding and vanishing chains alike; -inf once a ReLU network without
 * biases is dead). WORK holds 2 d doubles. Deterministic in (spec,
 * replica). Returns LYAP_OK, or LYAP_EINTERNAL for a bad spec. */
int lyap_biaschain_orthogonal(const lyap_biaschain_spec *spec, int replica, const int *depths, int ndepths,
                              double *work, double *log_m);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_BIASCHAIN_H */
