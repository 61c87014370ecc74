/* autocorr.c: long-run variance of pooled stationary series (see
 * include/lyapdiag/autocorr.h; THEORY.md "Finite depth").
 *
 * Each series is zero-padded to P >= 2n (no circular wrap for lags < n),
 * and sum_t y_t y_{t+k} comes from one real FFT, |Y|^2 and one inverse:
 * O(n log n) instead of O(n^2).
 *
 * Three choices, each for the case of thousands of series pooled, where the
 * statistical error shrinks like 1/sqrt(N n) and any O(1/n) bias that does
 * not shrink with N soon dominates it:
 *  - Centring on the common mean of all series, not on each series' own.
 *    Every series of a task has the same stationary mean (lambda), so the
 *    common mean estimates it; a series' own mean removes the very
 *    low-frequency content v measures (own-mean-centred autocovariances sum
 *    to exactly 0 over all lags), biasing v by ~ -(2M+1) v / n whatever N.
 *    The common mean's bias is ~ -(2M+1) Var(mean) ~ -(2M+1) v / (n N_eff)
 *    (N_eff: series count deflated by the correlation within replicas),
 *    a fraction sqrt((2M+1) / (2 n N)) N / N_eff of the stderr: ~0.01 at
 *    M = 5, n = 1000, N = 16000, N / N_eff <= 16. Left uncorrected.
 *  - Normalising lag k by its number of products, n - k (unbiased for a
 *    known mean), not by n: the 1/n estimator's taper bias,
 *    -2 sum_k k gamma_k / n, does not shrink with N. Positive definiteness,
 *    the usual reason for 1/n, is lost to the truncated window anyway.
 *  - The mean is known only at the end, so raw lag sums are kept and
 *    centred then, exactly:
 *      sum_t (y_t - m)(y_{t+k} - m) = S_k - m (head_k + tail_k) + (n-k) m^2,
 *    head_k = sum_{t<n-k} y_t, tail_k = sum_{t>=k} y_t. Before that, every
 *    value is shifted by one value of the first series (not its mean: a
 *    constant series then becomes exactly 0), so the algebra above does not
 *    cancel a large offset like lambda against a small variance.
 */
#include <fftw3.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lyapdiag/autocorr.h"
#include "lyapdiag/error.h"

/* Largest n: keeps P >= 2n and every size product inside int / size_t. */
enum { MAX_SERIES_LENGTH = 1 << 28, MAX_BINS = 1 << 16 };

typedef struct {
    long count;      /* series in the bin */
    double total;    /* sum of every shifted value */
    double *lag_sum; /* [lags] S_k, sum over series of sum_t y_t y_{t+k} */
    double *edge_sum; /* [lags] sum over series of head_k + tail_k */
} bin;

struct lyap_autocorr {
    int n;               /* series length */
    int lags;            /* lag sums kept: lags_of(n) */
    int fft_size;        /* P >= 2n, factors 2, 3, 5, 7 only */
    int nbins;
    double window_c;
    long series;
    int shifted;         /* 1 once shift is set by the first series */
    double shift;        /* subtracted from every value (see file header) */
    bin *bins;           /* [nbins] */
    double *bin_storage; /* [nbins * 2 lags], the bins' arrays */
    double *padded;      /* [P] fftw_malloc'd: y, zeros, then the lag sums */
    fftw_complex *spectrum; /* [P/2 + 1] */
    fftw_plan forward, backward;
};

/* ---- sizes and FFT ---------------------------------------------------------- */

static int lags_of(int n)
{
    return n < LYAP_AUTOCORR_MAX_LAGS ? n : LYAP_AUTOCORR_MAX_LAGS;
}

static int is_7_smooth(int p)
{
    static const int primes[] = {2, 3, 5, 7};
    for (int i = 0; i < 4; i++)
        while (p % primes[i] == 0)
            p /= primes[i];
    return p == 1;
}

/* Smallest P >= 2n whose prime factors FFTW has fast codelets for. */
static int fft_size_for(int n)
{
    int p = 2 * n;
    while (!is_7_smooth(p))
        p++;
    return p;
}

static int make_fft(lyap_autocorr *ac)
{
    int p = ac->fft_size;
    ac->padded = fftw_alloc_real((size_t)p);
    ac->spectrum = fftw_alloc_complex((size_t)p / 2 + 1);
    if (!ac->padded || !ac->spectrum)
        return lyap_fail(LYAP_ENOMEM, "autocorr: cannot allocate FFT buffers of %d points", p);
    ac->forward = fftw_plan_dft_r2c_1d(p, ac->padded, ac->spectrum, FFTW_ESTIMATE);
    ac->backward = fftw_plan_dft_c2r_1d(p, ac->spectrum, ac->padded, FFTW_ESTIMATE);
    if (!ac->forward || !ac->backward)
        return lyap_fail(LYAP_ENOMEM, "autocorr: FFTW could not plan a real FFT of %d points", p);
    return LYAP_OK;
}

/* ac->padded[k] = sum_{t<n-k} y_t y_{t+k} for k < n, with y in padded[0..n). */
static void lag_products(lyap_autocorr *ac)
{
    int p = ac->fft_size, half = p / 2 + 1;
    memset(ac->padded + ac->n, 0, (size_t)(p - ac->n) * sizeof *ac->padded);
    fftw_execute(ac->forward);
    for (int j = 0; j < half; j++) {
        double re = ac->spectrum[j][0], im = ac->spectrum[j][1];
        ac->spectrum[j][0] = re * re + im * im;
        ac->spectrum[j][1] = 0.0;
    }
    fftw_execute(ac->backward); /* unnormalised: P times the lag sums */
    for (int k = 0; k < ac->lags; k++)
        ac->padded[k] /= p;
}

/* ---- accumulation ----------------------------------------------------------- */

static int check_finite(const lyap_autocorr *ac, const double *series, ptrdiff_t stride)
{
    for (int t = 0; t < ac->n; t++)
        if (!isfinite(series[t * stride]))
            return lyap_fail(LYAP_EMATH,
                             "autocorr: step %d of series %ld is %g, not finite (a dead ReLU "
                             "column or an overflow); add only surviving, finite series",
                             t, ac->series, series[t * stride]);
    return LYAP_OK;
}

/* Adds head_k + tail_k (file header) for k < n to EDGE, and returns sum y. */
static double add_edge_sums(const double *y, int n, int lags, double *edge)
{
    double total = 0.0, first = 0.0, last = 0.0; /* sums of the first and last k */
    for (int t = 0; t < n; t++)
        total += y[t];
    for (int k = 0; k < lags; k++) {
        edge[k] += (total - last) + (total - first);
        first += y[k];
        last += y[n - 1 - k];
    }
    return total;
}

int lyap_autocorr_add(lyap_autocorr *ac, const double *series, ptrdiff_t stride, int group)
{
    if (!ac || !series || stride < 1 || group < 0)
        return lyap_fail(LYAP_EINTERNAL, "autocorr: add needs a series, stride >= 1 (got %td) "
                         "and group >= 0 (got %d)", stride, group);
    LYAP_CALL(check_finite(ac, series, stride));
    int n = ac->n;
    if (!ac->shifted) {
        ac->shift = series[(n - 1) / 2 * stride];
        ac->shifted = 1;
    }
    for (int t = 0; t < n; t++)
        ac->padded[t] = series[t * stride] - ac->shift;
    bin *b = &ac->bins[group % ac->nbins];
    b->total += add_edge_sums(ac->padded, n, ac->lags, b->edge_sum); /* before the FFT overwrites y */
    lag_products(ac);
    for (int k = 0; k < ac->lags; k++)
        b->lag_sum[k] += ac->padded[k];
    b->count++;
    ac->series++;
    return LYAP_OK;
}

/* ---- estimation ------------------------------------------------------------- */

static double common_mean_shifted(const lyap_autocorr *ac)
{
    double total = 0.0;
    for (int i = 0; i < ac->nbins; i++)
        total += ac->bins[i].total;
    return total / ((double)ac->series * ac->n);
}

/* Sum over B's series of sum_{t<n-k} (y_t - m)(y_{t+k} - m) (file header). */
static double centred_lag_sum(const bin *b, int n, int k, double m)
{
    return b->lag_sum[k] - m * b->edge_sum[k] + (double)b->count * (n - k) * m * m;
}

/* Pooled gamma_k about the common (shifted) mean M. */
static double pooled_gamma(const lyap_autocorr *ac, int k, double m)
{
    double sum = 0.0;
    for (int i = 0; i < ac->nbins; i++)
        if (ac->bins[i].count)
            sum += centred_lag_sum(&ac->bins[i], ac->n, k, m);
    return sum / ((double)ac->series * (ac->n - k));
}

static double bin_gamma(const lyap_autocorr *ac, const bin *b, int k, double m)
{
    return centred_lag_sum(b, ac->n, k, m) / ((double)b->count * (ac->n - k));
}

/* Sokal's window on tau_abs (header): sets est->window and window_closed. */
static void choose_window(const lyap_autocorr *ac, double m, double gamma0,
                          lyap_autocorr_estimate *est)
{
    double tau_abs = 0.5;
    for (int lag = 1; lag < ac->lags; lag++) {
        tau_abs += fabs(pooled_gamma(ac, lag, m) / gamma0);
        if (lag >= ac->window_c * tau_abs) {
            est->window = lag;
            est->window_closed = 1;
            return;
        }
    }
    est->window = ac->lags - 1;
    est->window_closed = 0;
}

/* gamma_0 + 2 sum_{k=1}^{M} gamma_k of bin B (or of the pool if B is NULL). */
static double windowed_sum(const lyap_autocorr *ac, const bin *b, double m, int window)
{
    double v = b ? bin_gamma(ac, b, 0, m) : pooled_gamma(ac, 0, m);
    for (int k = 1; k <= window; k++)
        v += 2.0 * (b ? bin_gamma(ac, b, k, m) : pooled_gamma(ac, k, m));
    return v;
}

/* Standard errors from the bins' spread: v = sum_b w_b v_b exactly (w_b =
 * share of the series), the bins are independent, so var v ~ B/(B-1)
 * sum_b w_b^2 (v_b - v)^2 (ratio-estimator form); tau = v / (2 gamma_0)
 * is linearised, its residuals (v_b - 2 tau gamma_0b) / (2 gamma_0). */
static void spread_stderr(const lyap_autocorr *ac, double m, lyap_autocorr_estimate *est)
{
    double var_v = 0.0, var_tau = 0.0;
    for (int i = 0; i < ac->nbins; i++) {
        const bin *b = &ac->bins[i];
        if (!b->count)
            continue;
        double w = (double)b->count / ac->series;
        double v_b = windowed_sum(ac, b, m, est->window);
        double tau_residual = (v_b - 2.0 * est->tau_int * bin_gamma(ac, b, 0, m)) / (2.0 * est->gamma0);
        var_v += w * w * (v_b - est->v) * (v_b - est->v);
        var_tau += w * w * tau_residual * tau_residual;
    }
    double small_sample = (double)est->bins_used / (est->bins_used - 1);
    est->v_stderr = sqrt(small_sample * var_v);
    est->tau_int_stderr = sqrt(small_sample * var_tau);
}

/* Madras & Sokal (1988): var(tau) ~ 2 (2M+1) tau^2 / (samples). */
static void madras_sokal_stderr(const lyap_autocorr *ac, lyap_autocorr_estimate *est)
{
    double relative = sqrt(2.0 * (2.0 * est->window + 1.0) / ((double)ac->series * ac->n));
    est->v_stderr = relative * fabs(est->v);
    est->tau_int_stderr = relative * fabs(est->tau_int);
}

static int count_bins_used(const lyap_autocorr *ac)
{
    int used = 0;
    for (int i = 0; i < ac->nbins; i++)
        used += ac->bins[i].count > 0;
    return used;
}

int lyap_autocorr_autocovariance(const lyap_autocorr *ac, int nlags, double *gamma)
{
    if (!ac || !gamma || nlags < 1 || nlags > ac->lags)
        return lyap_fail(LYAP_EINTERNAL, "autocorr: nlags = %d must be in [1, %d] (lags kept)", nlags,
                         ac ? ac->lags : 0);
    if (!ac->series)
        return lyap_fail(LYAP_EMATH, "autocorr: no series added: no autocovariance");
    double m = common_mean_shifted(ac);
    for (int k = 0; k < nlags; k++)
        gamma[k] = pooled_gamma(ac, k, m);
    return LYAP_OK;
}

int lyap_autocorr_result(const lyap_autocorr *ac, lyap_autocorr_estimate *est)
{
    if (!ac || !est)
        return lyap_fail(LYAP_EINTERNAL, "autocorr: result needs an accumulator and an output");
    if (!ac->series)
        return lyap_fail(LYAP_EMATH, "autocorr: no series added: nothing to estimate "
                         "(every column died, or none was added)");
    double m = common_mean_shifted(ac);
    memset(est, 0, sizeof *est);
    est->series = ac->series;
    est->bins_used = count_bins_used(ac);
    est->mean = ac->shift + m;
    est->gamma0 = pooled_gamma(ac, 0, m);
    est->stderr_from_spread = est->bins_used >= 2;
    /* Constant input: exactly, or up to the rounding of the values (e.g.
     * looks-linear-orthogonal increments, log((1+a) eta) in exact
     * arithmetic), where the window rule would only measure noise. */
    double rounding = 64 * DBL_EPSILON * fmax(fabs(est->mean), 1.0);
    if (!(est->gamma0 > rounding * rounding)) {
        est->gamma0 = 0.0;
        est->tau_int = 0.5;
        est->window_closed = 1;
        return LYAP_OK;
    }
    choose_window(ac, m, est->gamma0, est);
    est->v = windowed_sum(ac, NULL, m, est->window);
    est->tau_int = est->v / (2.0 * est->gamma0);
    if (est->stderr_from_spread)
        spread_stderr(ac, m, est);
    else
        madras_sokal_stderr(ac, est);
    return LYAP_OK;
}

/* ---- flat state (work units) ------------------------------------------------- */

enum { STATE_SERIES, STATE_SHIFTED, STATE_SHIFT, STATE_HEADER };

size_t lyap_autocorr_state_length(int series_length, int bins)
{
    return STATE_HEADER + (size_t)bins * (2 + 2 * (size_t)lags_of(series_length));
}

void lyap_autocorr_save(const lyap_autocorr *ac, double *state)
{
    size_t n = (size_t)ac->lags;
    state[STATE_SERIES] = (double)ac->series;
    state[STATE_SHIFTED] = ac->shifted;
    state[STATE_SHIFT] = ac->shift;
    for (int i = 0; i < ac->nbins; i++) {
        double *b = state + STATE_HEADER + (size_t)i * (2 + 2 * n);
        b[0] = (double)ac->bins[i].count;
        b[1] = ac->bins[i].total;
        memcpy(b + 2, ac->bins[i].lag_sum, 2 * n * sizeof *b); /* lag and edge sums are contiguous */
    }
}

void lyap_autocorr_load(lyap_autocorr *ac, const double *state)
{
    size_t n = (size_t)ac->lags;
    ac->series = (long)state[STATE_SERIES];
    ac->shifted = state[STATE_SHIFTED] != 0;
    ac->shift = state[STATE_SHIFT];
    for (int i = 0; i < ac->nbins; i++) {
        const double *b = state + STATE_HEADER + (size_t)i * (2 + 2 * n);
        ac->bins[i].count = (long)b[0];
        ac->bins[i].total = b[1];
        memcpy(ac->bins[i].lag_sum, b + 2, 2 * n * sizeof *b);
    }
}

/* With y = y' + delta (delta = FROM's shift - INTO's), per bin of c series:
 *   total = total' + c n delta,
 *   S_k   = S'_k + delta E'_k + c (n-k) delta^2,
 *   E_k   = E'_k + 2 c (n-k) delta   (file header: S lag sums, E edge sums). */
void lyap_autocorr_merge_state(double *into, const double *from, int series_length, int bins)
{
    size_t n = (size_t)series_length, lags = (size_t)lags_of(series_length);
    size_t len = lyap_autocorr_state_length(series_length, bins);
    if (from[STATE_SERIES] == 0)
        return;
    if (into[STATE_SERIES] == 0) {
        memcpy(into, from, len * sizeof *into);
        return;
    }
    double delta = from[STATE_SHIFT] - into[STATE_SHIFT];
    into[STATE_SERIES] += from[STATE_SERIES];
    for (int i = 0; i < bins; i++) {
        double *a = into + STATE_HEADER + (size_t)i * (2 + 2 * lags);
        const double *b = from + STATE_HEADER + (size_t)i * (2 + 2 * lags);
        double c = b[0];
        if (c == 0)
            continue;
        a[0] += c;
        a[1] += b[1] + c * (double)n * delta;
        for (size_t k = 0; k < lags; k++) {
            double products = c * (double)(n - k);
            a[2 + k] += b[2 + k] + delta * b[2 + lags + k] + products * delta * delta;
            a[2 + lags + k] += b[2 + lags + k] + 2.0 * products * delta;
        }
    }
}

/* ---- life cycle ------------------------------------------------------------- */

void lyap_autocorr_reset(lyap_autocorr *ac)
{
    if (!ac)
        return;
    memset(ac->bin_storage, 0, (size_t)ac->nbins * 2 * ac->lags * sizeof *ac->bin_storage);
    for (int i = 0; i < ac->nbins; i++)
        ac->bins[i].count = 0, ac->bins[i].total = 0.0;
    ac->series = 0;
    ac->shifted = 0;
    ac->shift = 0.0;
}

static int check_create_args(int n, int bins, double window_c)
{
    if (n < 1 || n > MAX_SERIES_LENGTH)
        return lyap_fail(LYAP_EINTERNAL, "autocorr: series length %d must be in [1, %d]", n,
                         MAX_SERIES_LENGTH);
    if (bins < 1 || bins > MAX_BINS)
        return lyap_fail(LYAP_EINTERNAL, "autocorr: bins = %d must be in [1, %d]", bins, MAX_BINS);
    if (!(window_c > 0.0 && isfinite(window_c)))
        return lyap_fail(LYAP_EINTERNAL, "autocorr: window constant c = %g must be finite and > 0",
                         window_c);
    return LYAP_OK;
}

static int build(lyap_autocorr *ac, int n, int bins, double window_c)
{
    ac->n = n;
    ac->lags = lags_of(n);
    ac->nbins = bins;
    ac->window_c = window_c;
    ac->fft_size = fft_size_for(n);
    LYAP_CALL(lyap_alloc(&ac->bins, (size_t)bins, sizeof *ac->bins, "autocorr bins"));
    LYAP_CALL(lyap_alloc(&ac->bin_storage, (size_t)bins * 2 * (size_t)ac->lags, sizeof *ac->bin_storage,
                         "autocorr lag sums"));
    for (int i = 0; i < bins; i++) {
        ac->bins[i].lag_sum = ac->bin_storage + (size_t)i * 2 * ac->lags;
        ac->bins[i].edge_sum = ac->bins[i].lag_sum + ac->lags;
    }
    return make_fft(ac);
}

int lyap_autocorr_create(int series_length, int bins, double window_c, lyap_autocorr **ac)
{
    if (!ac)
        return lyap_fail(LYAP_EINTERNAL, "autocorr: create needs somewhere to put the handle");
    *ac = NULL;
    LYAP_CALL(check_create_args(series_length, bins, window_c));
    lyap_autocorr *new_ac;
    LYAP_CALL(lyap_alloc(&new_ac, 1, sizeof *new_ac, "autocorr workspace"));
    int status = build(new_ac, series_length, bins, window_c);
    if (status != LYAP_OK) {
        lyap_autocorr_destroy(&new_ac);
        return status;
    }
    *ac = new_ac;
    return LYAP_OK;
}

void lyap_autocorr_destroy(lyap_autocorr **ac)
{
    if (!ac || !*ac)
        return;
    lyap_autocorr *a = *ac;
    if (a->forward)
        fftw_destroy_plan(a->forward);
    if (a->backward)
        fftw_destroy_plan(a->backward);
    fftw_free(a->padded);
    fftw_free(a->spectrum);
    free(a->bin_storage);
    free(a->bins);
    free(a);
    *ac = NULL;
}
