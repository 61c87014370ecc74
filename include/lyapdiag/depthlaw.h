/* depthlaw.h: the exact law of S_L = log(|x_L| / |x_0|) at finite depth L
 * for the rotation-invariant families (THEORY.md "Finite depth"): S_L is a
 * sum of L i.i.d. copies of log r, whose law THEORY.md "Exact values" gives;
 * the L-fold convolution is taken on a grid by FFT (FFTW).
 *
 * A workspace is made once per (family, width, slope, variance) and a
 * largest depth; it holds the grid, the spectrum of one layer and the FFTW
 * plans, and answers for any depth up to that largest one (one inverse FFT
 * per depth; the law of the last depth asked is cached, so several queries
 * at one depth cost one FFT). Not thread-safe: queries update the cache.
 *
 * The discrete law. Every bin of spacing dx carries the exact probability of
 * its interval (from CDFs), at its centre; the grid is then shifted by less
 * than a bin so the mean of one layer is exactly lambda (lyap_theory_exact),
 * hence the mean of S_L is L*lambda up to rounding. Binning adds about
 * dx^2/12 per layer to the variance for each continuous part of log r (two
 * for gaussian: the chi-square and the slope part; one for orthogonal; the
 * slope part's atoms sit on bin centres). At small widths (d <= 4) the Beta
 * densities' endpoint singularities next to those atoms add O(dx^1.5):
 * measured up to 5.6 dx^2/12 in all. dx <= sqrt(v)/32, so the relative
 * excess is below ~5e-4 (a rigorous bound is n dx sqrt(v) + (n dx/2)^2
 * for n parts).
 * Probabilities between grid points spread each bin's mass uniformly over
 * the bin, so they are exact to within one bin in x. They are clamped to
 * [0, 1]: values below ~1e-15 are at the FFT's rounding level (each bin
 * carries ~1e-17 of noise), and 1e-14 bounds the mass folded back by the
 * circular convolution.
 *
 * ReLU (a = 0): a layer kills the signal with probability 2^-d (S_L = -inf
 * from then on, THEORY.md "ReLU"). The grid then holds the law conditional
 * on survival, whose per-layer lambda and v come from E and Var of log T_k
 * (psi, psi_1) given K >= 1; the probabilities below are of the full law,
 * dead mass included, and the summary reports the survival probability.
 */
#ifndef LYAPDIAG_DEPTHLAW_H
#define LYAPDIAG_DEPTHLAW_H

#include <stdint.h>

#include "lyapdiag/family.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lyap_depthlaw lyap_depthlaw;

/* Moments and grid of S_L at one depth. Natural-log units. */
typedef struct {
    double mass;       /* total mass of the discrete law given survival: 1 up to rounding */
    double mean;       /* E[S_L | alive] of the discrete law: L*lambda up to rounding */
    double variance;   /* Var[S_L | alive] of the discrete law: ~ L*(v + binning), see above */
    double survival;   /* P(x_L != 0): (1 - 2^-d)^L at a = 0, else 1 */
    double lo, hi;     /* window: P(S_L outside [lo, hi] | alive) < 1e-14 */
    double dx;         /* grid spacing (0 for a point mass) */
    double mean_shift; /* per layer: lambda minus the mean of the binned law before the
                          shift (a diagnostic of the binning: O(dx^2) for smooth laws) */
} lyap_depthlaw_summary;

/* New workspace for family F (gaussian or orthogonal), width D >= 1, slope
 * A in [0, 1], grid variance S2 > 0 (eta^2 for orthogonal) and depths up to
 * MAX_DEPTH >= 1. The window is sized for MAX_DEPTH (a Chernoff bound on the
 * binned law of one layer), so asking only the depths you need keeps it
 * small. The conditional law is a point mass when v = 0 (orthogonal a = 1,
 * or orthogonal d = 1 at a = 0): no grid then.
 * S2 only shifts the law (homogeneity, THEORY.md "The sharp boundary"):
 * S_L(s2) = S_L(1) + 0.5*L*log(s2); the grid is built with it included.
 * Returns LYAP_OK, LYAP_EDECK for another family ("no exact law for F"),
 * bad D, A, S2 or MAX_DEPTH, or a grid beyond 2^22 points (the message
 * names the size; lower MAX_DEPTH), LYAP_ENOMEM, LYAP_EMATH (GSL or FFTW
 * failure). On error *LAW is NULL. */
int lyap_depthlaw_create(lyap_family f, int d, double a, double s2, int max_depth,
                         lyap_depthlaw **law);

/* Moments of S_L at DEPTH (1..max_depth) into *OUT. LYAP_EDECK for a depth
 * out of range, LYAP_ENOMEM. */
int lyap_depthlaw_summarize(lyap_depthlaw *law, int depth, lyap_depthlaw_summary *out);

/* Tail probabilities at DEPTH for LOG_EPS = log(eps) < 0:
 *   *p_vanish  = P(|x_L| < eps |x_0|)  = P(S_L < log eps), dead mass included;
 *   *p_explode = P(|x_L| > |x_0|/eps) = P(S_L > -log eps).
 * Either pointer may be NULL. LYAP_EDECK for a bad depth or LOG_EPS >= 0. */
int lyap_depthlaw_tails(lyap_depthlaw *law, int depth, double log_eps, double *p_vanish,
                        double *p_explode);

/* The Q-quantile of S_L at DEPTH (q in [0, 1]): the x with P(S_L < x) = q,
 * the CDF interpolated linearly inside a bin; -inf when q <= P(dead).
 * LYAP_EDECK for a bad depth or q. */
int lyap_depthlaw_quantile(lyap_depthlaw *law, int depth, double q, double *x);

/* PROB[k] = P(EDGES[k] <= S_L < EDGES[k+1]) at DEPTH, k = 0..NBINS-1, for
 * ascending EDGES (NBINS + 1 of them, infinities allowed); an EDGES[0] of
 * -inf puts the dead mass in the first bin. For log-binned output and tests.
 * LYAP_EDECK for a bad depth, NBINS < 1 or edges not ascending. */
int lyap_depthlaw_mass(lyap_depthlaw *law, int depth, const double *edges, int nbins,
                       double *prob);

/* The discrete law of S_L at DEPTH given survival, for modules that build on
 * it (biaslaw.c): *N bins of spacing *DX, bin i centred at *FIRST + i*DX
 * with mass (*PMF)[i] (FFT rounding leaves ~1e-17 of either sign in the
 * bins far from the mass). *PMF belongs to LAW and holds until a query at
 * another depth. A point mass has *N = 0 at *FIRST. LYAP_EDECK for a bad
 * depth. */
int lyap_depthlaw_bins(lyap_depthlaw *law, int depth, double *first, double *dx, int64_t *n,
                       const double **pmf);

/* The smallest even 7-smooth length >= NEED (>= 1): FFTW's fast codelets. */
int64_t lyap_depthlaw_fft_length(int64_t need);

/* Frees *LAW (grid, spectra, FFTW plans) and sets it to NULL; safe on NULL. */
void lyap_depthlaw_destroy(lyap_depthlaw **law);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_DEPTHLAW_H */
