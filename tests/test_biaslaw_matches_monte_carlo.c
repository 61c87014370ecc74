/* test_biaslaw_matches_monte_carlo: the grid law of the signal with biases
 * (src/biaslaw.c, THEORY.md "Biases") is the law of the scalar chain
 * q_l = (s2 q_{l-1}/d + sb2) S_l:
 *  - sb2 = 0: it is depthlaw's bias-free law, m_L = m0 exp(2 S_L): at depths
 *    1, 10, 100, 1000 its CDF at depthlaw's 0.1% to 99.9% quantiles is the
 *    level to within the mass cut off the grid (1e-12 beside it), the median
 *    to 1e-9 in log m, and ReLU's dead mass is 1 - survival; mass held +
 *    dead + cut = 1 (1e-12), the cut under the header's 4e-16 per layer;
 *  - the mean: E m_l obeys the mean-field map exactly at every width (q_l
 *    is linear in q_{l-1} given S_l, and E S = d (1+a^2)/2), so at He/2
 *    (kappa > 2: finite variance) E m_L of the law is
 *    lyap_biastheory_meanfield_signal up to the binning bias, below 4 dy^2/12
 *    per layer (derived below);
 *  - an independent Monte Carlo of the chain, 2e5 chains at a fixed seed,
 *    S from the project's exact sampler (GSL's binomial and chi-square for
 *    ReLU, whose dead columns the sampler keeps dead): at depths 1, 5 and
 *    50 a chi-square test on 40 bins of equal probability (plus the dead
 *    mass) passes at p > 1e-4, and the fractions of chains below the law's
 *    5%, 50% and 95% quantiles (of the living) are within 4 binomial
 *    standard errors;
 *    cases: THEORY.md's check point, an exploding one (s2 > s2_crit), a
 *    wide one near He (d = 256) and ReLU with biases;
 *  - THEORY.md's check point d = 4, a = 0.1, s2 = 3, sb2 = 0.05, L = 400:
 *    the printed median 0.151, 5% 0.0024 and 95% 73 are consistent with the
 *    law within their rounding and 4 standard errors of the simulation that
 *    produced them (4e5 chains); the law is stationary by then (L = 400 and
 *    1000 agree to 1e-3 in log m);
 *  - bad arguments and unrecorded depths are deck errors; d = 256, L = 1000
 *    takes < 2 s of CPU.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "check.h"
#include "lyapdiag/biaslaw.h"
#include "lyapdiag/biastheory.h"
#include "lyapdiag/depthlaw.h"
#include "lyapdiag/error.h"
#include "lyapdiag/propagate.h"
#include "lyapdiag/rng.h"
#include "lyapdiag/theory.h"

enum { CHAINS = 200000, BATCH = 1000, CHI2_BINS = 40 };
static const double CHI2_P_MIN = 1e-4;
static const double LEVELS[3] = {0.05, 0.5, 0.95};

static lyap_biaslaw *make(int d, double a, double s2, double sb2, double m0, const int *depths, int n)
{
    lyap_biaslaw *law = NULL;
    if (lyap_biaslaw_create(d, a, s2, sb2, m0, depths, n, &law) != LYAP_OK)
        check(0, "biaslaw d=%d a=%g s2=%g sb2=%g: %s", d, a, s2, sb2, lyap_error_message());
    return law;
}

static double log_quantile(const lyap_biaslaw *law, int L, double q)
{
    double y = NAN;
    lyap_biaslaw_quantile(law, L, q, NULL, &y);
    return y;
}

/* ---- without biases: depthlaw's law ------------------------------------------------ */

static void matches_depthlaw(int d, double a, double s2)
{
    static const int depths[] = {1, 10, 100, 1000};
    static const double levels[] = {0.001, 0.05, 0.5, 0.95, 0.999};
    double m0 = 0.3;
    char what[160];
    lyap_biaslaw *law = make(d, a, s2, 0.0, m0, depths, 4);
    lyap_depthlaw *ref = NULL;
    if (lyap_depthlaw_create(LYAP_FAMILY_GAUSSIAN, d, a, s2, 1000, &ref) != LYAP_OK || !law) {
        check(0, "sb2 = 0 setup d=%d a=%g: %s", d, a, lyap_error_message());
        lyap_biaslaw_destroy(&law);
        return;
    }
    for (int i = 0; i < 4; i++) {
        int L = depths[i];
        lyap_biaslaw_summary s;
        lyap_depthlaw_summary r;
        lyap_biaslaw_summarize(law, L, &s);
        lyap_depthlaw_summarize(ref, L, &r);
        double cut = s.lost_lo + s.lost_hi, x = NAN, y = NAN;
        for (size_t k = 0; k < sizeof levels / sizeof *levels; k++) {
            double q = levels[k], p = NAN;
            if (q <= 1.0 - r.survival)
                continue;
            lyap_depthlaw_quantile(ref, L, q, &x);
            lyap_biaslaw_cdf(law, L, log(m0) + 2.0 * x, &p);
            snprintf(what, sizeof what, "sb2=0 d=%d a=%g s2=%.4g L=%d: P(log m <= log m0 + 2 S_L(%g)) (tol: cut mass)", d,
                     a, s2, L, q);
            check_near(what, p, q, cut + 1e-12);
        }
        if (r.survival > 1e-6) { /* else the living hold little more than the cut mass */
            lyap_depthlaw_quantile(ref, L, 0.5 * (1.0 + (1.0 - r.survival)), &x);
            lyap_biaslaw_quantile(law, L, 0.5 * (1.0 + (1.0 - r.survival)), NULL, &y);
            snprintf(what, sizeof what, "sb2=0 d=%d a=%g s2=%.4g L=%d: median of the living, log m = log m0 + 2 S_L",
                     d, a, s2, L);
            check_near(what, y, log(m0) + 2.0 * x, 1e-9);
        }
        snprintf(what, sizeof what, "sb2=0 d=%d a=%g L=%d: dead mass = 1 - survival (tol: cut mass)", d, a, L);
        check_near(what, s.dead, 1.0 - r.survival, cut + 1e-14);
        snprintf(what, sizeof what, "sb2=0 d=%d a=%g L=%d: held + dead + cut = 1", d, a, L);
        check_near(what, s.mass + s.dead + cut, 1.0, 1e-12);
        check(cut <= 4e-16 * L, "sb2=0 d=%d a=%g L=%d: cut mass %.3g <= 4e-16 L", d, a, L, cut);
    }
    lyap_biaslaw_destroy(&law);
    lyap_depthlaw_destroy(&ref);
    check(law == NULL, "destroy sets the handle to NULL");
}

/* ---- the mean is mean field --------------------------------------------------------- */

/* E m_L of the law, from its CDF on a grid 4 times finer than its bins. */
static double law_mean(const lyap_biaslaw *law, int L)
{
    lyap_biaslaw_summary s;
    lyap_biaslaw_summarize(law, L, &s);
    double step = 0.25 * s.dy, prev = s.dead, mean = 0.0; /* the dead have m = 0 */
    for (double x = s.lo; x < s.hi + step; x += step) {
        double p;
        lyap_biaslaw_cdf(law, L, x + step, &p);
        mean += (p - prev) * exp(x + 0.5 * step);
        prev = p;
    }
    return mean;
}

/* Binning moves mass to bin centres, and E e^(y + e) = E e^y (1 + Var e/2)
 * for a small centred error e: per layer a relative bias of half the
 * variance binning adds: at most 5.6 dy^2/12 for Z (depthlaw.h), and
 * 2 dy^2/12 for the push (the source spread over its bins, then moved to
 * the target centres), so eps <= 3.8 dy^2/12 (measured: 2.7 for Z alone at
 * L = 1, 3.7 in all at d = 4). E m_L = r^L m0 + b sum_{j<L} r^j (r = (1+a^2)
 * s2/2, b = (1+a^2) sb2/2) collects it once per layer each term passed
 * through: the relative bias is at most eps L_eff, L_eff = (L r^L m0 +
 * b sum_{j<L} (j+1) r^j) / E m_L. Checked: 4 dy^2/12 L_eff. */
static void mean_is_mean_field(int d, double a, double sb2)
{
    static const int depths[] = {1, 3, 30, 300};
    double s2 = 0.5 * lyap_theory_standard_variance(LYAP_FAMILY_GAUSSIAN, a), m0 = 2.0;
    double r = 0.5 * (1.0 + a * a) * s2, b = 0.5 * (1.0 + a * a) * sb2;
    lyap_biaslaw *law = make(d, a, s2, sb2, m0, depths, 4);
    if (!law)
        return;
    for (int i = 0; i < 4; i++) {
        int L = depths[i];
        lyap_biaslaw_summary s;
        lyap_biaslaw_summarize(law, L, &s);
        double ref = lyap_biastheory_meanfield_signal(a, s2, sb2, m0, L), bias = law_mean(law, L) / ref - 1.0;
        double unit = s.dy * s.dy / 12.0, passes = L * pow(r, L) * m0;
        for (int j = 0; j < L; j++)
            passes += b * (j + 1) * pow(r, j);
        check(fabs(bias) <= 4.0 * unit * passes / ref,
              "d=%d a=%g s2=He/2 sb2=%g L=%d: E m_L = mean-field m_L = %.6g, relative bias %.3g = %.2f dy^2/12 "
              "per effective layer (L_eff %.2f, bound 4)", d, a, sb2, L, ref, bias, bias / unit / (passes / ref),
              passes / ref);
    }
    lyap_biaslaw_destroy(&law);
}

/* ---- Monte Carlo -------------------------------------------------------------------- */

static int compare_double(const void *p, const void *q)
{
    double x = *(const double *)p, y = *(const double *)q;
    return (x > y) - (x < y);
}

/* Chi-square of SORTED log m samples against the law at L: CHI2_BINS bins
 * of equal probability among the living, plus one for the dead. */
static double chi2_p_value(const lyap_biaslaw *law, int L, const double *sorted, int n)
{
    lyap_biaslaw_summary s;
    lyap_biaslaw_summarize(law, L, &s);
    double edges[CHI2_BINS + 2], stat = 0.0, below_prev = 0.0;
    int dead_bin = s.dead > 0.0, nbins = CHI2_BINS + dead_bin;
    edges[0] = -INFINITY;
    if (dead_bin)
        edges[1] = -DBL_MAX;
    for (int k = 1; k < CHI2_BINS; k++)
        edges[dead_bin + k] = log_quantile(law, L, s.dead + (1.0 - s.dead) * k / CHI2_BINS);
    edges[nbins] = INFINITY;
    for (int k = 0, at = 0; k < nbins; k++) {
        int count = 0;
        double below = 1.0;
        if (k + 1 < nbins)
            lyap_biaslaw_cdf(law, L, edges[k + 1], &below);
        while (at < n && (k + 1 == nbins || sorted[at] <= edges[k + 1]))
            at++, count++;
        double expected = n * (below - below_prev);
        stat += (count - expected) * (count - expected) / expected;
        below_prev = below;
    }
    return gsl_cdf_chisq_Q(stat, nbins - 1);
}

static void check_samples(const lyap_biaslaw *law, const char *name, int L, double *x, int n)
{
    char what[192];
    qsort(x, (size_t)n, sizeof *x, compare_double);
    double p = chi2_p_value(law, L, x, n);
    check(p > CHI2_P_MIN, "%s L=%d: chi-square p-value %.3g > %g", name, L, p, CHI2_P_MIN);
    lyap_biaslaw_summary s;
    lyap_biaslaw_summarize(law, L, &s);
    for (int k = 0; k < 3; k++) { /* levels among the living */
        double q = s.dead + (1.0 - s.dead) * LEVELS[k], y = log_quantile(law, L, q);
        int below = 0;
        while (below < n && x[below] <= y)
            below++;
        snprintf(what, sizeof what, "%s L=%d: MC fraction below the law's %g quantile %.5g (4 binomial stderr)",
                 name, L, q, exp(y));
        check_near(what, (double)below / n, q, 4.0 * sqrt(q * (1.0 - q) / n));
    }
}

/* log m at depths 1, 5, 50 of CHAINS chains; S from the exact sampler at
 * grid variance s2 = d, whose gaussian increment is 0.5 log S. Its steps
 * are i.i.d., and it draws 256 at a time: each column runs SEGMENTS chains
 * one after the other on disjoint steps. */
static int run_chains(int d, double a, double s2, double sb2, double m0, uint64_t seed, double *out[3])
{
    enum { SEGMENTS = 5 };
    static const int depths[] = {1, 5, 50};
    lyap_propagate_plan plan = NULL;
    double inc[BATCH], q[BATCH];
    if (lyap_propagate_plan_create(LYAP_FAMILY_GAUSSIAN, d, a, BATCH, 50 * SEGMENTS, LYAP_METHOD_EXACT,
                                   LYAP_PRECISION_DOUBLE, &plan) != LYAP_OK)
        return 0;
    for (int r = 0; r < CHAINS / (BATCH * SEGMENTS); r++) {
        lyap_propagate_start(plan, seed, lyap_rng_task_key(LYAP_FAMILY_GAUSSIAN, d, a, s2), r, d);
        for (int c = 0; c < SEGMENTS; c++) {
            size_t first = (size_t)(r * SEGMENTS + c) * BATCH; /* this segment's chains */
            for (int j = 0; j < BATCH; j++)
                q[j] = d * m0;
            for (int l = 1, k = 0; l <= 50; l++) {
                lyap_propagate_layer(plan, inc);
                for (int j = 0; j < BATCH; j++)
                    q[j] = (s2 * q[j] / d + sb2) * exp(2.0 * inc[j]);
                if (l == depths[k]) {
                    for (int j = 0; j < BATCH; j++)
                        out[k][first + j] = log(q[j] / d);
                    k++;
                }
            }
        }
    }
    lyap_propagate_plan_destroy(&plan);
    return 1;
}

/* ReLU: S = chi2_K, K ~ Bin(d, 1/2) (sum of the positive squares), 0 at K = 0. */
static void run_relu_chains(int d, double s2, double sb2, double m0, unsigned long seed, double *out[3])
{
    static const int depths[] = {1, 5, 50};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    for (int i = 0; i < CHAINS; i++) {
        double q = d * m0;
        for (int l = 1, k = 0; l <= 50; l++) {
            unsigned K = gsl_ran_binomial(rng, 0.5, (unsigned)d);
            q = (s2 * q / d + sb2) * (K ? gsl_ran_chisq(rng, K) : 0.0);
            if (l == depths[k])
                out[k++][i] = log(q / d);
        }
    }
    gsl_rng_free(rng);
}

static void monte_carlo(int d, double a, double s2, double sb2, uint64_t seed)
{
    static const int depths[] = {1, 5, 50};
    double m0 = 1.0, *x[3] = {NULL, NULL, NULL};
    char name[96];
    snprintf(name, sizeof name, "MC d=%d a=%g s2=%.4g sb2=%g", d, a, s2, sb2);
    lyap_biaslaw *law = make(d, a, s2, sb2, m0, depths, 3);
    int ok = law != NULL;
    for (int k = 0; k < 3; k++)
        ok &= (x[k] = malloc(sizeof *x[k] * CHAINS)) != NULL;
    if (ok && a == 0.0)
        run_relu_chains(d, s2, sb2, m0, seed, x);
    else if (ok)
        ok = run_chains(d, a, s2, sb2, m0, seed, x);
    if (!ok)
        check(0, "%s: setup failed (%s)", name, lyap_error_message());
    for (int k = 0; ok && k < 3; k++)
        check_samples(law, name, depths[k], x[k], CHAINS);
    for (int k = 0; k < 3; k++)
        free(x[k]);
    lyap_biaslaw_destroy(&law);
}

/* ---- THEORY.md's check point ---------------------------------------------------------- */

/* A printed VALUE (rounded to +-HALF) of the Q-quantile from N samples is
 * consistent with the law when some point of [value - half, value + half]
 * has a CDF within 4 binomial standard errors of Q. */
static void check_printed(const lyap_biaslaw *law, int L, double q, double value, double half, double n)
{
    double lo, hi, tol = 4.0 * sqrt(q * (1.0 - q) / n), m;
    lyap_biaslaw_cdf(law, L, log(value - half), &lo);
    lyap_biaslaw_cdf(law, L, log(value + half), &hi);
    lyap_biaslaw_quantile(law, L, q, &m, NULL);
    check(hi >= q - tol && lo <= q + tol,
          "check point L=%d: %g quantile, law %.5g, THEORY.md %g +- %g: CDF there [%.5f, %.5f] meets %g +- %.5f", L,
          q, m, value, half, lo, hi, q, tol);
}

static void check_point(void)
{
    static const int depths[] = {400, 1000};
    lyap_biaslaw *law = make(4, 0.1, 3.0, 0.05, 1.0, depths, 2);
    if (!law)
        return;
    check_printed(law, 400, 0.5, 0.151, 0.0005, 4e5);
    check_printed(law, 400, 0.05, 0.0024, 0.00005, 4e5);
    check_printed(law, 400, 0.95, 73.0, 0.5, 4e5);
    for (int k = 0; k < 3; k++) {
        char what[96];
        snprintf(what, sizeof what, "check point: %g quantile of log m stationary (L = 400 vs 1000)", LEVELS[k]);
        check_near(what, log_quantile(law, 400, LEVELS[k]), log_quantile(law, 1000, LEVELS[k]), 1e-3);
    }
    lyap_biaslaw_destroy(&law);
}

/* ---- errors and speed --------------------------------------------------------------- */

static void bad_arguments(void)
{
    lyap_biaslaw *law = NULL;
    int one = 1, bad_depths[2] = {5, 5};
    double x;
    int status[7] = {lyap_biaslaw_create(0, 0.1, 1.0, 0.1, 1.0, &one, 1, &law),
                     lyap_biaslaw_create(4, 1.5, 1.0, 0.1, 1.0, &one, 1, &law),
                     lyap_biaslaw_create(4, 0.1, 0.0, 0.1, 1.0, &one, 1, &law),
                     lyap_biaslaw_create(4, 0.1, 1.0, -0.1, 1.0, &one, 1, &law),
                     lyap_biaslaw_create(4, 0.1, 1.0, 0.0, 0.0, &one, 1, &law),
                     lyap_biaslaw_create(4, 0.1, 1.0, 0.1, 1.0, bad_depths, 2, &law),
                     lyap_biaslaw_create(4, 0.1, 1.0, 0.1, 1.0, &one, 0, &law)};
    for (int i = 0; i < 7; i++)
        check(status[i] == LYAP_EDECK, "bad argument case %d is a deck error: status %d", i, status[i]);
    check(law == NULL, "failed create leaves the handle NULL");
    law = make(4, 0.1, 1.0, 0.1, 1.0, &one, 1);
    if (!law)
        return;
    check(lyap_biaslaw_quantile(law, 2, 0.5, &x, NULL) == LYAP_EDECK && lyap_biaslaw_cdf(law, 2, 0.0, &x) == LYAP_EDECK &&
              lyap_biaslaw_quantile(law, 1, 1.5, &x, NULL) == LYAP_EDECK,
          "an unrecorded depth or q = 1.5 is a deck error");
    lyap_biaslaw_destroy(&law);
    lyap_biaslaw_destroy(&law); /* NULL: no-op */
}

static void speed(void)
{
    int depths[] = {50, 1000};
    clock_t start = clock();
    lyap_biaslaw *law = make(256, 0.1, lyap_theory_standard_variance(LYAP_FAMILY_GAUSSIAN, 0.1), 0.05, 1.0, depths, 2);
    double cpu = (double)(clock() - start) / CLOCKS_PER_SEC;
    check(law && cpu < 2.0, "d=256 a=0.1 s2=He sb2=0.05, depths 50 and 1000: %.3f s of CPU < 2 s", cpu);
    lyap_biaslaw_destroy(&law);
}

int main(void)
{
    double s2_crit;
    matches_depthlaw(4, 0.1, lyap_theory_standard_variance(LYAP_FAMILY_GAUSSIAN, 0.1));
    matches_depthlaw(16, 0.5, 1.3);
    matches_depthlaw(2, 0.0, 2.0);
    lyap_theory_exact(LYAP_FAMILY_GAUSSIAN, 64, 0.9, 1.0, NULL, NULL, &s2_crit);
    matches_depthlaw(64, 0.9, s2_crit);
    mean_is_mean_field(4, 0.1, 0.05);
    mean_is_mean_field(64, 0.5, 1.0);
    mean_is_mean_field(3, 0.0, 0.2);
    monte_carlo(4, 0.1, 3.0, 0.05, 51);
    lyap_theory_exact(LYAP_FAMILY_GAUSSIAN, 16, 0.5, 1.0, NULL, NULL, &s2_crit);
    monte_carlo(16, 0.5, 1.2 * s2_crit, 0.1, 52);
    monte_carlo(256, 0.1, lyap_theory_standard_variance(LYAP_FAMILY_GAUSSIAN, 0.1), 0.05, 53);
    monte_carlo(2, 0.0, 2.0, 0.1, 54);
    check_point();
    bad_arguments();
    speed();
    return check_status();
}
