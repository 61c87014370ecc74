/* biaslaw.h: the exact finite-width law of the signal of a deep Leaky ReLU
 * network with biases and gaussian weights (THEORY.md "Biases"): with
 * q_l = |x_l|^2, y_l = log q_l is the scalar Markov chain
 *     y_l = G(y_{l-1}) + Z_l,  G(y) = log(s2 e^y/d + sb2),  Z = log S,
 * S the bias-free per-layer factor, from the point mass y_0 = log(d m0)
 * (m0 = |x_0|^2/d). Its law at every depth is computed on a grid: pushed
 * through G by change of variables, then convolved with the law of Z by
 * FFT (FFTW). Mean-field theory (biastheory.h) replaces it by its mean.
 *
 * The grid. Spacing dy = 2 dx of depthlaw.h's law of one layer (dx <=
 * sqrt(v)/32: dy <= sd(Z)/32), from which the law of Z comes bin for bin.
 * The window moves with the mass: after each layer the tails holding at
 * most 1e-16 on either side are cut (Z's own once, at creation), and the
 * cut mass is kept apart (summary: lost_lo below the window, lost_hi
 * above), at most 4e-16 per layer in all. Every probability reported is
 * exact to within lost_lo + lost_hi, besides the grid's resolution:
 * quantiles are linear inside a bin, and binning adds ~dy^2/12 per layer
 * to the variance of y where G is not a shift (where it is one, sb2 e^-y
 * << s2/d, bins map onto bins exactly, so with sb2 = 0 the law is
 * depthlaw's to rounding).
 * Size: where the law spreads without bound (s2 >= s2_crit, or sb2 = 0) the
 * window holds about +-8 sd of the sum of L layers, ~512 sqrt(L) bins
 * (16000 at L = 1000, whatever d); below s2_crit it grows no faster and
 * stops once the law is stationary, whose right tail falls like
 * e^(-kappa y) (biastheory.h): ~37/kappa nats above the bulk hold all but
 * 1e-16 (a few thousand bins away from s2_crit). ReLU with biases spans
 * from log sb2, where the dead revive, to the front. At most 2^22 points
 * (LYAP_EDECK beyond).
 * Time: two FFTs of the window per layer, and the push (a log1p per bin
 * where G is not a shift): measured 0.02-0.4 s of CPU for L = 1000 at
 * d = 4..1024 (doc/THEORY.md). Memory: the window, three FFT arrays, and
 * each recorded depth's law.
 *
 * ReLU (a = 0): S = 0 with probability 2^-d kills the signal (q = 0); a
 * bias revives it at the next layer (G(-inf) = log sb2). The dead mass is
 * kept apart (y = -inf, m = 0); dead mass of at most 1e-16 about to revive
 * is counted as cut below the window instead (large widths: 2^-d).
 *
 * A workspace computes every layer up to the largest recorded depth once,
 * at creation, and keeps the laws of the recorded depths. Queries are
 * read-only (thread-compatible).
 */
#ifndef LYAPDIAG_BIASLAW_H
#define LYAPDIAG_BIASLAW_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lyap_biaslaw lyap_biaslaw;

/* The law at one recorded depth, in log m = log(q/d) (natural log). */
typedef struct {
    double dead;       /* P(q_L = 0): ReLU only */
    double mass;       /* held on the grid: 1 - dead - lost_lo - lost_hi up to rounding */
    double lost_lo;    /* cut below the window over all layers (a bound, see above) */
    double lost_hi;    /* cut above it */
    double mean_log_m; /* E[log m_L | q_L > 0] of the discrete law */
    double lo, hi;     /* window in log m */
    double dy;         /* grid spacing */
    int64_t points;    /* bins in the window */
    int64_t fft_points; /* largest FFT length used by the workspace */
} lyap_biaslaw_summary;

/* New workspace for width D >= 1, slope A in [0, 1], weight variance
 * S2 > 0, bias variance SB2 >= 0 and input M0 = |x_0|^2/d >= 0 (s2 m0 + sb2
 * > 0), holding the laws at the NDEPTHS >= 1 recorded DEPTHS (ascending,
 * >= 1). Returns LYAP_OK, LYAP_EDECK for bad arguments or a window beyond
 * 2^22 points (lower the largest depth), LYAP_ENOMEM, LYAP_EMATH (GSL or
 * FFTW failure). On error *LAW is NULL. */
int lyap_biaslaw_create(int d, double a, double s2, double sb2, double m0, const int *depths,
                        int ndepths, lyap_biaslaw **law);

/* The Q-quantile (q in [0, 1]) of m_L = q_L/d at recorded DEPTH: *M and
 * *LOG_M (either may be NULL; *M is +inf past DBL_MAX, as in the exploding
 * phase at a few hundred layers, where *LOG_M stays finite). 0 and -inf for
 * q <= P(q_L = 0); the CDF is linear inside a bin, and the lost mass lies
 * beyond the window's edges. LYAP_EDECK for a depth not recorded or q
 * outside [0, 1]. */
int lyap_biaslaw_quantile(const lyap_biaslaw *law, int depth, double q, double *m, double *log_m);

/* *P = P(m_L <= exp(LOG_M)) at recorded DEPTH (-inf: P(q_L = 0)).
 * LYAP_EDECK for a depth not recorded or a NaN LOG_M. */
int lyap_biaslaw_cdf(const lyap_biaslaw *law, int depth, double log_m, double *p);

/* The law at recorded DEPTH into *OUT. LYAP_EDECK for a depth not recorded. */
int lyap_biaslaw_summarize(const lyap_biaslaw *law, int depth, lyap_biaslaw_summary *out);

/* Frees *LAW and sets it to NULL; safe on NULL. */
void lyap_biaslaw_destroy(lyap_biaslaw **law);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_BIASLAW_H */
