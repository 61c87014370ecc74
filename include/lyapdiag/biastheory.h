/* biastheory.h: closed-form theory of deep Leaky ReLU networks with biases,
 * x_l = phi(W_l x_{l-1} + b_l), b_l ~ N(0, sb2 I_d) (THEORY.md "Biases" and
 * "Two inputs: correlations"): the Kesten-Goldie tail index of the
 * stationary signal law (gaussian weights), the mean-field signal map with
 * its fixed point and phase, the Leaky ReLU correlation kernel and the
 * mean-field cosine of two inputs. The exact finite-width law of the signal
 * is biaslaw.h. Pure functions (GSL), no MPI, thread-compatible.
 *
 * Notation: q_l = |x_l|^2, m_l = q_l / d; for gaussian weights
 * q_l = A_l q_{l-1} + B_l with A = s2 S/d, B = sb2 S, S = chi2_d (a^2 +
 * (1 - a^2) T_K) the bias-free per-layer factor.
 */
#ifndef LYAPDIAG_BIASTHEORY_H
#define LYAPDIAG_BIASTHEORY_H

#ifdef __cplusplus
extern "C" {
#endif

/* log E[A^kappa] for kappa >= 0, gaussian weights at width D, slope A,
 * variance S2:  kappa log(2 s2/d) + log(Gamma(d/2 + kappa)/Gamma(d/2))
 * + log E[(a^2 + (1 - a^2) T_K)^kappa] (the last from
 * lyap_theory_h_log_mgf). 0 at kappa = 0; log(s2 (1+a^2)/2) at kappa = 1;
 * its slope at 0 is E log A = 2 lambda(s2). LYAP_EDECK for bad arguments,
 * LYAP_EMATH if a GSL function fails. */
int lyap_biastheory_log_moment(int d, double a, double s2, double kappa, double *value);

/* The tail index kappa > 0 of the stationary law of q (THEORY.md "Biases",
 * Kesten-Goldie: P(q > t) ~ C t^-kappa for every sb2 > 0, kappa independent
 * of sb2), the root of log E[A^kappa] = 0, gaussian weights. That function
 * is convex, 0 at kappa = 0 with slope 2 lambda < 0, so the root is unique:
 * bracketed from kappa = 1 (where it is log(s2/He): kappa > 1 exactly when
 * s2 < He = 2/(1+a^2), the stationary law has a finite mean) and refined by
 * Brent's method to 1e-10 relative. Below kappa = 1e-4 (s2 just under
 * s2_crit), where the rounding of the quadratures (~1e-13) is of the size
 * of log E[A^kappa] near the root, the cumulant estimate -lambda/v is
 * returned instead (relative error O(kappa)).
 * *KAPPA is NaN, with LYAP_OK, where no tail index applies:
 *  - lambda(s2) >= 0 (s2 >= s2_crit): no stationary law, q explodes (at
 *    lambda = 0 exactly the root is kappa = 0, not a tail);
 *  - a = 0 (ReLU): A = 0 with probability 2^-d resets the chain, so it is
 *    stationary at every s2, E log A = -inf and log E[A^kappa] jumps to
 *    log(1 - 2^-d) at 0+; where the surviving chain grows, the root is
 *    ~2^-d / E[log A | A > 0], below double precision for d >~ 40.
 * a = 1 (linear) is covered: A = s2 chi2_d / d.
 * LYAP_EDECK for d < 1, a outside [0, 1] or s2 not finite and > 0;
 * LYAP_EMATH if a quadrature or the root finder fails. */
int lyap_biastheory_tail_index(int d, double a, double s2, double *kappa);

/* Mean field (THEORY.md "Biases"): m_l = (1+a^2)/2 (s2 m_{l-1} + sb2),
 * iterated DEPTH times from M0: m_DEPTH (+inf once it overflows). The
 * same map for gaussian and orthogonal weights (both only through the
 * entry variance s2/d). With sb2 = 0 it is m0 ((1+a^2) s2/2)^L. NaN for
 * a outside [0, 1], s2 <= 0, sb2 < 0, m0 < 0 or depth < 0. */
double lyap_biastheory_meanfield_signal(double a, double s2, double sb2, double m0, int depth);

/* The mean-field fixed point m* = (1+a^2) sb2 / (2 - (1+a^2) s2) for
 * s2 < He = 2/(1+a^2) (0 without biases), +inf for s2 >= He (no finite
 * fixed point). NaN for bad arguments as above. */
double lyap_biastheory_meanfield_fixed_point(double a, double s2, double sb2);

/* The mean-field phase: -1 (stationary: m_l -> m*) for s2 < He, +1
 * (exploding) for s2 >= He, where He is lyap_theory_standard_variance
 * (passing that value gives +1). He itself counts as exploding: there
 * m_l = m0 + l (1+a^2) sb2/2 grows without bound for sb2 > 0 (with sb2 = 0
 * it stays at m0: no stationary law either), as the exact chain has none at
 * lambda = 0. Mean field puts the boundary at He for every width, where the
 * exact one is s2_crit(d, a) > He. 0 for a outside [0, 1] or s2 <= 0. */
int lyap_biastheory_meanfield_phase(double a, double s2);

/* E[phi(u) phi(v)] for centred jointly normal (u, v) with standard
 * deviations S_U, S_V and correlation RHO (THEORY.md "Two inputs"):
 * s_u s_v [((1+a)/2)^2 rho + ((1-a)/2)^2 (2/pi)(sqrt(1-rho^2) + rho asin rho)].
 * rho = 1: (1+a^2)/2 s_u^2; rho = 0: s_u s_v ((1-a)/2)^2 2/pi;
 * rho = -1: -a s_u s_v. NaN for a outside [0, 1], s_u or s_v < 0, or
 * |rho| > 1. */
double lyap_biastheory_relu_kernel(double a, double s_u, double s_v, double rho);

/* The mean-field cosine of two inputs x, y through the same weights
 * (THEORY.md "Two inputs"), gaussian weights: with m = q/d and
 * c_xy = x.y/d, the pre-activations have variances tau^2 = s2 m + sb2 and
 * covariance s2 c_xy + sb2, so
 *   m' = (1+a^2)/2 tau^2,  c_xy' = kernel(a, tau_x, tau_y, rho),
 *   rho = (s2 c_xy + sb2) / (tau_x tau_y).
 * Starting from M_X, M_Y > 0 and cosine C0 in [-1, 1], COSINE[l] =
 * c_xy/sqrt(m_x m_y) after l layers for l = 0..DEPTH (COSINE[0] = c0;
 * DEPTH + 1 values). The map is homogeneous of degree 1 in (m_x, m_y, c_xy,
 * sb2) jointly, so the state is rescaled every layer and the cosine never
 * overflows. LYAP_EDECK for bad arguments. */
int lyap_biastheory_meanfield_cosine(double a, double s2, double sb2, double m_x, double m_y,
                                     double c0, int depth, double *cosine);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_BIASTHEORY_H */
