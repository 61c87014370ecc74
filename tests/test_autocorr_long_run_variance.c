/* test_autocorr_long_run_variance: lyap_autocorr estimates the long-run
 * variance v and tau_int (Sokal's convention, 1/2 for i.i.d.) with honest
 * standard errors, from series grouped by replica:
 *  - the FFT autocovariance equals the direct O(n^2) sum about the common
 *    mean, to 1e-12 of gamma_0 (the independent second route);
 *  - AR(1) x_t = phi x_{t-1} + e_t, e ~ N(0, s^2), phi = 0, 0.5, 0.9, -0.5:
 *    v = s^2/(1-phi)^2 and tau_int = (1+phi)/(2(1-phi)) exactly. The 4
 *    series of a group share 80% of their innovations' variance, as the
 *    inputs of one replica share its weights. One repetition lies within 4
 *    stderr; over 200 repetitions the z-scores have sd in [0.8, 1.25]; the
 *    mean of v over them is the truth plus the estimator's two derived
 *    O(tau/n) biases (truncation at M, the common mean), within 4 stderr of
 *    that mean; and the same data labelled as independent series gives a
 *    z sd above 1.25 (the check has the power to see a dishonest stderr);
 *  - i.i.d. exponential (skewed) steps: tau_int = 1/2 and v = 1 within 4
 *    stderr;
 *  - edge cases: n = 1 and 2, constant series (v = 0, tau_int = 1/2, no
 *    NaN), non-finite steps (LYAP_EMATH, nothing added), bad arguments,
 *    reset.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "lyapdiag/autocorr.h"
#include "lyapdiag/error.h"

#include "check.h"

/* 32 groups: the z-scores are ~ Student t_31 (sd 1.03), leaving room below 1.25. */
enum { GROUPS = 32, PER_GROUP = 4, LENGTH = 500, REPETITIONS = 200 };
static const double SHARED = 0.8; /* share of innovation variance common to a group */
static const double SIGMA = 1.3;  /* innovation sd s */
static const double OFFSET = 0.7; /* stationary mean (lambda's role) */

static void check_status_is(const char *what, int status, int ref, const char *needle)
{
    int ok = status == ref && (!needle || strstr(lyap_error_message(), needle));
    check(ok, "%s: status %d, reference %d, message \"%s\"", what, status, ref,
          status == LYAP_OK ? "" : lyap_error_message());
}

static lyap_autocorr *create_or_fail(int n, int bins)
{
    lyap_autocorr *ac = NULL;
    int status = lyap_autocorr_create(n, bins, LYAP_AUTOCORR_WINDOW_C, &ac);
    if (status != LYAP_OK) {
        check(0, "lyap_autocorr_create(%d, %d): %s", n, bins, lyap_error_message());
        exit(check_status());
    }
    return ac;
}

static void add_or_fail(lyap_autocorr *ac, const double *x, ptrdiff_t stride, int group)
{
    if (lyap_autocorr_add(ac, x, stride, group) != LYAP_OK)
        check(0, "lyap_autocorr_add: %s", lyap_error_message());
}

static lyap_autocorr_estimate result_or_fail(const lyap_autocorr *ac)
{
    lyap_autocorr_estimate est;
    memset(&est, 0, sizeof est);
    if (lyap_autocorr_result(ac, &est) != LYAP_OK)
        check(0, "lyap_autocorr_result: %s", lyap_error_message());
    return est;
}

/* ---- FFT route vs direct sum ------------------------------------------------ */

/* Direct definition (autocorr.h): about the common mean, / (N (n-k)). */
static void direct_autocovariance(const double *x, int nseries, int n, double *gamma)
{
    double m = 0.0;
    for (int i = 0; i < nseries * n; i++)
        m += x[i];
    m /= (double)nseries * n;
    for (int k = 0; k < n; k++) {
        double sum = 0.0;
        for (int j = 0; j < nseries; j++)
            for (int t = 0; t + k < n; t++)
                sum += (x[j * n + t] - m) * (x[j * n + t + k] - m);
        gamma[k] = sum / ((double)nseries * (n - k));
    }
}

static void fft_matches_direct(gsl_rng *rng, int n, int nseries)
{
    double *x = malloc(sizeof *x * (size_t)n * nseries);
    double *fft = malloc(sizeof *fft * n), *direct = malloc(sizeof *direct * n);
    lyap_autocorr *ac = create_or_fail(n, 3);
    for (int j = 0; j < nseries; j++) {
        for (int t = 0; t < n; t++) /* offset 5 + a slow trend: centring matters */
            x[j * n + t] = 5.0 + 0.01 * t + gsl_ran_gaussian(rng, 1.0);
        add_or_fail(ac, x + j * n, 1, j % 2); /* two groups, folded into 3 bins */
    }
    direct_autocovariance(x, nseries, n, direct);
    if (lyap_autocorr_autocovariance(ac, n, fft) != LYAP_OK)
        check(0, "lyap_autocorr_autocovariance: %s", lyap_error_message());
    double worst = 0.0;
    for (int k = 0; k < n; k++)
        worst = fmax(worst, fabs(fft[k] - direct[k]));
    char what[96];
    snprintf(what, sizeof what, "FFT vs direct autocovariance, max over lags, n=%d N=%d", n, nseries);
    check_near(what, worst, 0.0, 1e-12 * direct[0]);
    lyap_autocorr_destroy(&ac);
    free(x), free(fft), free(direct);
}

/* ---- AR(1) ------------------------------------------------------------------ */

/* One group of PER_GROUP AR(1) series, layer-major (x[t * PER_GROUP + j], as
 * propagate's increments), stationary from t = 0; innovations share a
 * common part of variance SHARED s^2 within the group. */
static void ar1_group(gsl_rng *rng, double phi, double *x)
{
    double a = sqrt(SHARED), b = sqrt(1.0 - SHARED), prev[PER_GROUP];
    double start = 1.0 / sqrt(1.0 - phi * phi);
    for (int t = 0; t < LENGTH; t++) {
        double common = gsl_ran_gaussian(rng, SIGMA);
        for (int j = 0; j < PER_GROUP; j++) {
            double e = a * common + b * gsl_ran_gaussian(rng, SIGMA);
            prev[j] = t ? phi * prev[j] + e : start * e;
            x[t * PER_GROUP + j] = OFFSET + prev[j];
        }
    }
}

typedef struct {
    double sum, sumsq;
    int n;
} moments;

static void moments_add(moments *m, double z)
{
    m->sum += z, m->sumsq += z * z, m->n++;
}

static double moments_mean(const moments *m)
{
    return m->sum / m->n;
}

static double moments_sd(const moments *m)
{
    double mean = moments_mean(m);
    return sqrt((m->sumsq - m->n * mean * mean) / (m->n - 1));
}

/* E v / v - 1 for AR(1) at window M, to first order (autocorr.c header):
 * truncation, v_M / v = 1 - 2 phi^(M+1) / (1+phi) exactly; centring on the
 * common mean, -(2M+1) Var(mean) / v with Var(mean) = v / (n N_eff), where
 * a group's series share SHARED of their long-run variance. */
static double expected_relative_bias(double phi, int window)
{
    double truncation = -2.0 * pow(phi, window + 1) / (1.0 + phi);
    double n_eff = (double)GROUPS * PER_GROUP / (1.0 + (PER_GROUP - 1) * SHARED);
    return truncation - (2.0 * window + 1.0) / (LENGTH * n_eff);
}

/* One repetition: GROUPS groups into HONEST (grouped by replica) and NAIVE
 * (every series its own group). */
static void ar1_repetition(gsl_rng *rng, double phi, double *x, lyap_autocorr *honest,
                           lyap_autocorr *naive)
{
    lyap_autocorr_reset(honest);
    lyap_autocorr_reset(naive);
    for (int g = 0; g < GROUPS; g++) {
        ar1_group(rng, phi, x);
        for (int j = 0; j < PER_GROUP; j++) {
            add_or_fail(honest, x + j, PER_GROUP, g);
            add_or_fail(naive, x + j, PER_GROUP, g * PER_GROUP + j);
        }
    }
}

static void ar1_is_honest(gsl_rng *rng, double phi)
{
    double v_true = SIGMA * SIGMA / ((1.0 - phi) * (1.0 - phi));
    double tau_true = (1.0 + phi) / (2.0 * (1.0 - phi));
    double *x = malloc(sizeof *x * LENGTH * PER_GROUP);
    lyap_autocorr *honest = create_or_fail(LENGTH, GROUPS);
    lyap_autocorr *naive = create_or_fail(LENGTH, GROUPS * PER_GROUP);
    moments zv = {0}, ztau = {0}, zv_naive = {0}, window = {0}, bias = {0}, model = {0};
    char what[128];
    for (int r = 0; r < REPETITIONS; r++) {
        ar1_repetition(rng, phi, x, honest, naive);
        lyap_autocorr_estimate est = result_or_fail(honest);
        lyap_autocorr_estimate est_naive = result_or_fail(naive);
        if (r == 0) {
            snprintf(what, sizeof what, "AR(1) phi=%g: v within 4 stderr (M=%d)", phi, est.window);
            check_near(what, est.v, v_true, 4.0 * est.v_stderr);
            snprintf(what, sizeof what, "AR(1) phi=%g: tau_int within 4 stderr", phi);
            check_near(what, est.tau_int, tau_true, 4.0 * est.tau_int_stderr);
            check(est.window_closed && est.stderr_from_spread && est.bins_used == GROUPS,
                  "AR(1) phi=%g: window closed %d (1), stderr from the spread %d (1) of %d bins "
                  "(%d)", phi, est.window_closed, est.stderr_from_spread, est.bins_used, GROUPS);
        }
        moments_add(&zv, (est.v - v_true) / est.v_stderr);
        moments_add(&ztau, (est.tau_int - tau_true) / est.tau_int_stderr);
        moments_add(&zv_naive, (est_naive.v - v_true) / est_naive.v_stderr);
        moments_add(&window, est.window);
        moments_add(&bias, est.v / v_true - 1.0);
        moments_add(&model, expected_relative_bias(phi, est.window));
    }
    printf("AR(1) phi=%g: mean window M = %.1f (c tau = %.1f), relative stderr of v %.3f\n", phi,
           moments_mean(&window), LYAP_AUTOCORR_WINDOW_C * tau_true,
           result_or_fail(honest).v_stderr / v_true);
    snprintf(what, sizeof what, "AR(1) phi=%g: sd of z(v) over %d repetitions in [0.8, 1.25]",
             phi, REPETITIONS);
    check_near(what, moments_sd(&zv), 1.025, 0.225);
    snprintf(what, sizeof what, "AR(1) phi=%g: sd of z(tau_int) in [0.8, 1.25]", phi);
    check_near(what, moments_sd(&ztau), 1.025, 0.225);
    snprintf(what, sizeof what, "AR(1) phi=%g: mean relative error of v = derived bias", phi);
    check_near(what, moments_mean(&bias), moments_mean(&model),
               4.0 * moments_sd(&bias) / sqrt(REPETITIONS));
    /* Power: correlated series taken as independent understate the stderr
     * by ~sqrt(1 + 3 * 0.8^2) = 1.7 (Gaussian: corr of squares = corr^2). */
    check(moments_sd(&zv_naive) > 1.25,
          "AR(1) phi=%g: series as independent groups: sd of z(v) %.3f > 1.25 (dishonest, "
          "as expected)", phi, moments_sd(&zv_naive));
    lyap_autocorr_destroy(&honest);
    lyap_autocorr_destroy(&naive);
    free(x);
}

/* ---- i.i.d. ----------------------------------------------------------------- */

static void iid_exponential(gsl_rng *rng)
{
    double x[LENGTH];
    lyap_autocorr *ac = create_or_fail(LENGTH, LYAP_AUTOCORR_BINS);
    for (int j = 0; j < 64; j++) {
        for (int t = 0; t < LENGTH; t++)
            x[t] = gsl_ran_exponential(rng, 1.0); /* mean 1, variance 1, skewed */
        add_or_fail(ac, x, 1, j);
    }
    lyap_autocorr_estimate est = result_or_fail(ac);
    check_near("i.i.d. exponential: tau_int = 1/2 within 4 stderr", est.tau_int, 0.5,
               4.0 * est.tau_int_stderr);
    check_near("i.i.d. exponential: v = variance 1 within 4 stderr", est.v, 1.0, 4.0 * est.v_stderr);
    check_near("i.i.d. exponential: mean 1 (6 sd of a mean of 64000)", est.mean, 1.0,
               6.0 / sqrt(64000.0));
    lyap_autocorr_destroy(&ac);
}

/* One group: no spread to measure, so Madras-Sokal's formula. */
static void one_group_uses_madras_sokal(gsl_rng *rng)
{
    double x[LENGTH];
    lyap_autocorr *ac = create_or_fail(LENGTH, LYAP_AUTOCORR_BINS);
    for (int j = 0; j < 8; j++) {
        for (int t = 0; t < LENGTH; t++)
            x[t] = gsl_ran_gaussian(rng, 1.0);
        add_or_fail(ac, x, 1, 7);
    }
    lyap_autocorr_estimate est = result_or_fail(ac);
    double formula = sqrt(2.0 * (2 * est.window + 1) / (8.0 * LENGTH)) * est.v;
    check(!est.stderr_from_spread && est.bins_used == 1, "one group: stderr from the spread %d (0), "
          "bins used %d (1)", est.stderr_from_spread, est.bins_used);
    check_near("one group: v_stderr = sqrt(2 (2M+1) / (N n)) v", est.v_stderr, formula, 1e-15);
    check_near("one group: i.i.d. N(0,1): v = 1 within 4 stderr", est.v, 1.0, 4.0 * est.v_stderr);
    lyap_autocorr_destroy(&ac);
}

/* ---- edge cases ------------------------------------------------------------- */

static int all_finite(const lyap_autocorr_estimate *e)
{
    return isfinite(e->v) && isfinite(e->v_stderr) && isfinite(e->tau_int) &&
           isfinite(e->tau_int_stderr) && isfinite(e->gamma0) && isfinite(e->mean);
}

static void short_series(gsl_rng *rng)
{
    double x[2], sum = 0.0, sumsq = 0.0;
    lyap_autocorr *one = create_or_fail(1, LYAP_AUTOCORR_BINS);
    lyap_autocorr *two = create_or_fail(2, LYAP_AUTOCORR_BINS);
    for (int j = 0; j < 40; j++) {
        x[0] = gsl_ran_gaussian(rng, 1.0);
        x[1] = gsl_ran_gaussian(rng, 1.0);
        sum += x[0], sumsq += x[0] * x[0];
        add_or_fail(one, x, 1, j);
        add_or_fail(two, x, 1, j);
    }
    lyap_autocorr_estimate e1 = result_or_fail(one), e2 = result_or_fail(two);
    double var = sumsq / 40 - (sum / 40) * (sum / 40);
    check(all_finite(&e1) && e1.window == 0 && !e1.window_closed && e1.tau_int == 0.5,
          "n=1: finite, M = %d (0), closed %d (0), tau_int %g (1/2)", e1.window,
          e1.window_closed, e1.tau_int);
    check_near("n=1: v = gamma_0 = variance of the values", e1.v, var, 1e-12 * var);
    check(all_finite(&e2) && e2.window == 1 && !e2.window_closed,
          "n=2: finite (v %g +- %g, tau_int %g +- %g), M = %d (1), closed %d (0)", e2.v,
          e2.v_stderr, e2.tau_int, e2.tau_int_stderr, e2.window, e2.window_closed);
    lyap_autocorr_destroy(&one);
    lyap_autocorr_destroy(&two);
}

static void constant_series(void)
{
    double x[50];
    for (int t = 0; t < 50; t++)
        x[t] = 0.7; /* looks-linear-orthogonal: every step log((1+a) eta) */
    lyap_autocorr *ac = create_or_fail(50, LYAP_AUTOCORR_BINS);
    for (int j = 0; j < 5; j++)
        add_or_fail(ac, x, 1, j % 3);
    lyap_autocorr_estimate e = result_or_fail(ac);
    check(e.v == 0.0 && e.v_stderr == 0.0 && e.tau_int == 0.5 && e.tau_int_stderr == 0.0 &&
              e.gamma0 == 0.0 && e.mean == 0.7 && e.window == 0,
          "constant series: v %g (0) +- %g (0), tau_int %g (1/2) +- %g (0), gamma_0 %g, "
          "mean %.17g (0.7), M = %d", e.v, e.v_stderr, e.tau_int, e.tau_int_stderr, e.gamma0,
          e.mean, e.window);
    lyap_autocorr_destroy(&ac);
}

static void non_finite_steps(gsl_rng *rng)
{
    static const double bad[] = {-INFINITY, INFINITY, NAN};
    static const char *names[] = {"-inf", "+inf", "NaN"};
    double x[10];
    lyap_autocorr *ac = create_or_fail(10, LYAP_AUTOCORR_BINS);
    for (int t = 0; t < 10; t++)
        x[t] = gsl_ran_gaussian(rng, 1.0);
    add_or_fail(ac, x, 1, 0);
    add_or_fail(ac, x, 1, 1);
    lyap_autocorr_estimate before = result_or_fail(ac);
    for (int i = 0; i < 3; i++) {
        double saved = x[3];
        x[3] = bad[i];
        char what[64];
        snprintf(what, sizeof what, "a %s step is LYAP_EMATH", names[i]);
        check_status_is(what, lyap_autocorr_add(ac, x, 1, 2), LYAP_EMATH, "not finite");
        x[3] = saved;
    }
    lyap_autocorr_estimate after = result_or_fail(ac);
    check(after.series == 2 && after.v == before.v && after.v_stderr == before.v_stderr,
          "rejected series leave the estimate unchanged: series %ld (2), v %.17g (%.17g)",
          after.series, after.v, before.v);
    lyap_autocorr_destroy(&ac);
}

static void bad_arguments(void)
{
    lyap_autocorr *ac = (lyap_autocorr *)&ac; /* must be reset to NULL on failure */
    double x[4] = {1, 2, 3, 4}, gamma[5];
    lyap_autocorr_estimate e;
    check_status_is("series length 0", lyap_autocorr_create(0, 1, 5.0, &ac), LYAP_EINTERNAL,
                    "series length");
    check(ac == NULL, "failed create leaves the handle NULL");
    check_status_is("0 bins", lyap_autocorr_create(4, 0, 5.0, &ac), LYAP_EINTERNAL, "bins");
    check_status_is("window c = 0", lyap_autocorr_create(4, 1, 0.0, &ac), LYAP_EINTERNAL, "c =");
    check_status_is("window c = NaN", lyap_autocorr_create(4, 1, NAN, &ac), LYAP_EINTERNAL, "c =");
    ac = create_or_fail(4, 2);
    check_status_is("result before any series", lyap_autocorr_result(ac, &e), LYAP_EMATH,
                    "no series");
    check_status_is("autocovariance before any series", lyap_autocorr_autocovariance(ac, 4, gamma),
                    LYAP_EMATH, "no series");
    check_status_is("group -1", lyap_autocorr_add(ac, x, 1, -1), LYAP_EINTERNAL, "group");
    check_status_is("stride 0", lyap_autocorr_add(ac, x, 0, 0), LYAP_EINTERNAL, "stride");
    add_or_fail(ac, x, 1, 0);
    check_status_is("nlags n+1", lyap_autocorr_autocovariance(ac, 5, gamma), LYAP_EINTERNAL, "nlags");
    check_status_is("nlags 0", lyap_autocorr_autocovariance(ac, 0, gamma), LYAP_EINTERNAL, "nlags");
    lyap_autocorr_destroy(&ac);
    check(ac == NULL, "destroy sets the handle to NULL");
    lyap_autocorr_destroy(&ac); /* no-ops */
    lyap_autocorr_destroy(NULL);
}

/* Reset forgets everything: the same data gives the same bits as fresh. */
static void reset_starts_over(gsl_rng *rng)
{
    double x[100], y[100];
    for (int t = 0; t < 100; t++)
        x[t] = gsl_ran_gaussian(rng, 1.0), y[t] = 3.0 + gsl_ran_gaussian(rng, 1.0);
    lyap_autocorr *used = create_or_fail(100, 4), *fresh = create_or_fail(100, 4);
    add_or_fail(used, y, 1, 3);
    lyap_autocorr_reset(used);
    add_or_fail(used, x, 1, 0), add_or_fail(used, y, 1, 1);
    add_or_fail(fresh, x, 1, 0), add_or_fail(fresh, y, 1, 1);
    lyap_autocorr_estimate a = result_or_fail(used), b = result_or_fail(fresh);
    check(a.v == b.v && a.v_stderr == b.v_stderr && a.mean == b.mean && a.series == 2,
          "reset: v %.17g == fresh %.17g, series %ld (2)", a.v, b.v, a.series);
    lyap_autocorr_destroy(&used);
    lyap_autocorr_destroy(&fresh);
}

int main(void)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20240611);
    fft_matches_direct(rng, 37, 5);
    fft_matches_direct(rng, 1, 4);
    fft_matches_direct(rng, 256, 3);
    static const double phis[] = {0.0, 0.5, 0.9, -0.5};
    for (int i = 0; i < 4; i++)
        ar1_is_honest(rng, phis[i]);
    iid_exponential(rng);
    one_group_uses_madras_sokal(rng);
    short_series(rng);
    constant_series();
    non_finite_steps(rng);
    bad_arguments();
    reset_starts_over(rng);
    gsl_rng_free(rng);
    return check_status();
}
