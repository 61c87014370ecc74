/* theory.h: exact Lyapunov exponent, CLT variance and critical variance of
 * deep bias-free Leaky ReLU networks (THEORY.md), via GSL.
 *
 * Valid for widths 1..65536 (tested to 4096) and slopes a in [0, 1]; accurate
 * to 1e-9 relative. Pure functions, no MPI, thread-compatible.
 */
#ifndef LYAPDIAG_THEORY_H
#define LYAPDIAG_THEORY_H

#include <math.h>

#include "lyapdiag/family.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Exact values at width D, slope A and grid variance S2 (> 0; for orthogonal
 * S2 = eta^2), THEORY.md "Exact values":
 *   *lambda  Lyapunov exponent per layer (natural log)
 *   *v       CLT variance per layer
 *   *s2_crit critical variance, where lambda = 0 (Lyapunov initialization)
 * Slope 0 (ReLU): lambda = -inf, v = NaN, s2_crit = +inf (THEORY.md "ReLU"),
 * except looks-linear families, exact and finite at every slope (THEORY.md
 * "Looks-linear"; LYAP_EDECK for an odd width).
 * Families without a closed form (uniform): all three NaN, LYAP_OK.
 * Returns LYAP_OK, LYAP_EDECK for d < 1, a outside [0, 1] or s2 <= 0, or
 * LYAP_EMATH if a GSL quadrature fails (message recorded). Any output pointer
 * may be NULL. */
int lyap_theory_exact(lyap_family f, int d, double a, double s2,
                      double *lambda, double *v, double *s2_crit);

/* m_h = E h and v_h = Var h for h = log(a^2 + (1 - a^2) T_K), K ~ Bin(d, 1/2),
 * T_k ~ Beta(k/2, (d-k)/2) (THEORY.md). For a = 0, m_h = -inf, v_h = NaN. */
int lyap_theory_h_moments(int d, double a, double *m_h, double *v_h);

/* log E[e^(kappa h)] = log E[(a^2 + (1 - a^2) T_K)^kappa] for kappa >= 0: the
 * slope factor of E[S^kappa], S the per-layer factor of THEORY.md "Biases"
 * (biastheory.h's tail index). 0 at kappa = 0 (x^0 = 1, also for the ReLU
 * atom h = -inf) and at a = 1; log((1+a^2)/2) at kappa = 1. The same Beta
 * integrals as m_h, each tilted by e^(kappa h) (its window follows the tilt
 * toward T = 1), to ~1e-12 relative in E. LYAP_EDECK for bad d, a or kappa. */
int lyap_theory_h_log_mgf(int d, double a, double kappa, double *value);

/* The independent second route of THEORY.md for the gaussian mean:
 * E log(sum_i phi(g_i)^2) = int_0^inf (e^-t - M(t)^d)/t dt, which equals
 * psi(d/2) + log 2 + m_h. For tests. a in (0, 1]. */
int lyap_theory_gauss_log_sumsq_laplace(int d, double a, double *value);

/* The top K (1..d) Lyapunov exponents of the input-output Jacobian at
 * width D, slope A, grid variance S2 (THEORY.md "Lyapunov spectrum"),
 * decreasing, into EXPONENTS[0..K): exact for the looks-linear families
 * (every slope; -inf beyond h = d/2, where W has rank h), gaussian at a = 1
 * (Newman 1986) and orthogonal at a = 1 (all log eta); -inf at slope 0 for
 * the families that die there; lambda_1 = lambda wherever lambda is known;
 * NaN where THEORY.md gives no per-index value. LYAP_EDECK for bad
 * arguments. */
int lyap_theory_spectrum(lyap_family f, int d, double a, double s2, int k, double *exponents);

/* The gaussian sum rule of THEORY.md: sum of all d exponents =
 * (d/2) log a + sum_i 0.5 (log(s2/d) + psi((d-i+1)/2) + log 2); -inf at
 * a = 0. For tests of spectrum = all. */
int lyap_theory_gauss_spectrum_sum(int d, double a, double s2, double *sum);

/* Positive homogeneity (THEORY.md "The sharp boundary"), for every
 * family: moving the weight variance from S2_FROM to S2_TO adds
 * 0.5 log(s2_to / s2_from) to every exponent, and L times it to
 * log(|x_L|/|x_0|) at depth L. The one place estimates are shifted. */
static inline double lyap_theory_homogeneity_shift(double s2_to, double s2_from)
{
    return 0.5 * log(s2_to / s2_from);
}

/* Per-layer probability that a layer maps the signal to exactly 0:
 * 2^-d at slope 0 (ReLU), 0 otherwise (THEORY.md "ReLU"); always 0 for the
 * looks-linear families, where u - v carries the signal linearly; NaN at
 * every slope for the families whose rows can cancel (dies_at_every_slope
 * in family.h: rademacher), where it is positive at small widths but has
 * no closed form, and for an invalid F. */
double lyap_theory_death_probability(lyap_family f, int d, double a);

/* Standard scale of family F at slope A, 2/(1+a^2) for every family: He
 * or the orthogonal gain eta^2 (lyap_family_info_of(F)->standard_scale). */
double lyap_theory_standard_variance(lyap_family f, double a);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_THEORY_H */
