/* autocorr.h: long-run variance of a stationary series from its FFT
 * autocovariance (THEORY.md "Finite depth": for families that are not
 * rotation invariant the per-layer increments log r_l form a Markov chain,
 * and the CLT variance v is their long-run variance).
 *
 * Conventions (Sokal 1997, "Monte Carlo methods in statistical mechanics"):
 *   gamma_k  autocovariance at lag k; rho_k = gamma_k / gamma_0
 *   v        = gamma_0 + 2 sum_{k=1}^{M} gamma_k   (long-run variance per step)
 *   tau_int  = 1/2 + sum_{k=1}^{M} rho_k, so v = 2 tau_int gamma_0;
 *            tau_int = 1/2 for i.i.d. data (others' "1 + 2 sum rho" is 2 tau_int).
 *
 * Many series of one task are pooled: replicas are independent, but the
 * inputs of one replica share its weights and are correlated, so the caller
 * labels each series with its replica (its "group"), and the standard errors
 * come from the spread between groups (DESIGN.md: replica-level errors).
 * Memory does not grow with the number of series: groups are folded into a
 * fixed number of bins (group mod bins), each holding lag sums of length n.
 */
#ifndef LYAPDIAG_AUTOCORR_H
#define LYAPDIAG_AUTOCORR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sokal's window constant c: the window is the smallest M >= c tau(M).
 * The truncated tail biases v by 2 sum_{k>M} gamma_k, ~e^-c relative for
 * exponential decay (AR(1), phi = 0.9: -0.6%); the stderr grows like
 * sqrt(2M+1). c = 5 suits a stderr of a few %; pooling thousands of long
 * series can push the stderr below that bias: raise c then. */
#define LYAP_AUTOCORR_WINDOW_C 5.0
/* Independent bins of groups for the standard errors (31 degrees of
 * freedom: the stderr itself is good to ~13%). */
#define LYAP_AUTOCORR_BINS 32
/* Lags whose sums are kept (series longer than this keep the first ones):
 * the window M closes near c tau_int, so this holds tau_int up to ~200
 * layers, far beyond the matrix path's (a few layers); a window that does
 * not close below it says so (window_closed = 0). Keeping every lag of a
 * depth-5000 series made each block state 2.5 MB, most of the master's
 * cost per message (bench/README.md). */
#define LYAP_AUTOCORR_MAX_LAGS 1024

typedef struct lyap_autocorr lyap_autocorr;

/* The estimate from every series added so far. */
typedef struct {
    double v;              /* long-run variance per step, gamma_0 + 2 sum_{k<=M} gamma_k */
    double v_stderr;       /* its standard error */
    double tau_int;        /* 1/2 + sum_{k<=M} rho_k (dimensionless, in steps) */
    double tau_int_stderr; /* its standard error */
    double gamma0;         /* variance of one step about the common mean */
    double mean;           /* common mean of every step of every series */
    int window;            /* M, the last lag summed */
    int window_closed;     /* 1: M >= c tau_abs(M) was met below the lags kept; 0: not (see below) */
    int stderr_from_spread; /* 1: from >= 2 bins; 0: Madras-Sokal formula (one bin only) */
    int bins_used;         /* bins holding at least one series */
    long series;           /* number of series added */
} lyap_autocorr_estimate;

/* New accumulator for series of SERIES_LENGTH (n >= 1) steps. BINS (>= 1,
 * normally LYAP_AUTOCORR_BINS) independent bins carry the standard errors;
 * WINDOW_C (> 0, normally LYAP_AUTOCORR_WINDOW_C) sets the window. Makes
 * the FFTW plans for n once (FFTW_ESTIMATE: planning by measurement would
 * pick algorithms by timing and break bit-reproducibility). Memory:
 * 2 BINS min(n, LYAP_AUTOCORR_MAX_LAGS) doubles plus ~3n for the FFT. Returns LYAP_OK, LYAP_ENOMEM
 * (allocation or FFTW planning failed; *AC left NULL) or LYAP_EINTERNAL
 * (bad argument). Not thread-safe (FFTW's planner is not). */
int lyap_autocorr_create(int series_length, int bins, double window_c, lyap_autocorr **ac);

/* Adds one series SERIES[0], SERIES[STRIDE], ..., SERIES[(n-1) STRIDE]
 * (STRIDE >= 1: a column of a layer-major increments array reads in place)
 * of group GROUP >= 0 (its replica: series of one group may be correlated,
 * series of different groups must be independent). The series is expected
 * stationary: drop any burn-in before. Returns LYAP_OK, LYAP_EMATH if a
 * value is not finite (-inf: a ReLU column died; the series is not added,
 * the accumulator is unchanged), or LYAP_EINTERNAL (bad argument). */
int lyap_autocorr_add(lyap_autocorr *ac, const double *series, ptrdiff_t stride, int group);

/* GAMMA[k] for k = 0..NLAGS-1 (1 <= NLAGS <= n): the autocovariance of
 * all series pooled, about their common mean m,
 *     gamma_k = sum_series sum_{t=0}^{n-1-k} (x_t - m)(x_{t+k} - m) / (N (n-k)),
 * N the number of series. Returns LYAP_OK, LYAP_EMATH (no series yet) or
 * LYAP_EINTERNAL (bad NLAGS). */
int lyap_autocorr_autocovariance(const lyap_autocorr *ac, int nlags, double *gamma);

/* Fills EST from every series added so far (the accumulator is unchanged:
 * more series may follow). Window: the smallest M >= 1 with
 * M >= c tau_abs(M), tau_abs(M) = 1/2 + sum_{k<=M} |rho_k|, which is
 * Sokal's rule when every rho_k >= 0; the absolute values keep negatively
 * correlated steps (rho_1 < 0 makes tau(1) tiny) from closing the window
 * at M = 1 with a large bias. If no M below the lags kept (min(n,
 * LYAP_AUTOCORR_MAX_LAGS)) qualifies, M is the last of them and
 * window_closed = 0: the series are too short for their correlation time,
 * v is then unreliable (n = 1: M = 0 and v = gamma_0). A constant input
 * (gamma_0 = 0) gives v = 0, tau_int = 1/2, M = 0 and zero stderrs.
 * Standard errors: from the spread of the bins' estimates at the pooled
 * window and mean (independent groups; bins weighted by their series);
 * with one bin only, Madras-Sokal's var(tau) ~ 2 (2M+1) tau^2 / (N n),
 * which treats the N series as independent. v may come out slightly
 * negative when the true v is near 0 (it is not clamped: no bias).
 * Returns LYAP_OK or LYAP_EMATH (no series yet). */
int lyap_autocorr_result(const lyap_autocorr *ac, lyap_autocorr_estimate *est);

/* Work units (DESIGN.md, "MPI"): the accumulator as a flat array of
 * doubles, so blocks of series accumulated on different ranks can be
 * shipped, checkpointed and combined exactly.
 * Layout: series, shifted, shift, then per bin: count, total, the n lag
 * sums, the n edge sums. */

/* Doubles of the flat state of an accumulator of SERIES_LENGTH and BINS. */
size_t lyap_autocorr_state_length(int series_length, int bins);

/* Writes AC's state into STATE (lyap_autocorr_state_length doubles). */
void lyap_autocorr_save(const lyap_autocorr *ac, double *state);

/* Replaces AC's series by those of STATE (saved from an accumulator of the
 * same length and bins). */
void lyap_autocorr_load(lyap_autocorr *ac, const double *state);

/* Adds the series of state FROM to state INTO (both of SERIES_LENGTH and
 * BINS), as if they had been added to one accumulator: bins add, and FROM's
 * sums are re-centred exactly from its shift to INTO's (the shifts differ
 * by a difference of two increments, so no large offset cancels).
 * Deterministic: merging the same states in the same order gives the same
 * bits, whoever computed them. */
void lyap_autocorr_merge_state(double *into, const double *from, int series_length, int bins);

/* Forgets every series (keeps the plans: reuse for the next task of the
 * same series length). */
void lyap_autocorr_reset(lyap_autocorr *ac);

/* Frees *AC and sets it to NULL; safe on NULL and on *AC == NULL. */
void lyap_autocorr_destroy(lyap_autocorr **ac);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_AUTOCORR_H */
