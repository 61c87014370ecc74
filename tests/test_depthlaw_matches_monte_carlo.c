/* test_depthlaw_matches_monte_carlo: the FFT law of S_L = log(|x_L|/|x_0|)
 * (src/depthlaw.c, THEORY.md "Finite depth") is the law of a sum of L
 * i.i.d. copies of log r:
 *  - grid: total mass 1 (1e-12), mean L lambda (1e-8 relative), variance
 *    L v within the binning bounds derived below, and the binned law of one
 *    layer agrees with theory.c's lambda before the mean shift (< 0.01 dx);
 *    gaussian and orthogonal, d = 1, 2, 4, 16, 64, a = 0.1, 0.5, 1,
 *    depths 1, 10, 100, 1000; orthogonal a = 1 is a point mass;
 *  - an independent Monte Carlo (GSL binomial, beta, chi-square variates,
 *    mt19937, fixed seed, N = 2e5): a chi-square test on 40 equal-probability
 *    bins of the FFT law passes at p > 1e-4, and P(|x_L| < eps |x_0|),
 *    P(|x_L| > |x_0|/eps) (eps = 1e-3, 0.1) agree within 4 binomial stderr
 *    where not too rare, at L = 1, 10, 100
 *    for gaussian d = 4 and orthogonal d = 16 (a = 0.1), and for ReLU;
 *  - the CLT: the Kolmogorov distance of the law's quantiles to
 *    N(L lambda, L v) falls with L and is below 0.01 at L = 10000;
 *  - exact laws: d = 2 closed form of m_h in the mean; orthogonal d = 1 is
 *    binomial on a lattice; ReLU survival (1 - 2^-d)^L and dead mass;
 *  - bad arguments are deck errors; d = 16, depths 10/100/1000 take < 0.1 s.
 *
 * Variance bounds. Per layer the binned law is X + e (X exact, e the shift
 * to its bin centre, |e| <= n dx/2 with n binned continuous parts: the
 * chi-square part for gaussian, the slope part unless a = 1 or d = 1, whose
 * atoms sit on bin centres), and variances add over layers. Hence, rigorously,
 *     |Var_binned - v| <= E e^2 + 2 sqrt(v E e^2) <= (n dx/2)^2 + n dx sqrt(v),
 * plus rounding (ROUNDING_V).
 * For smooth densities e is ~uniform and independent of X (Sheppard): the
 * excess is n dx^2/12; from d = 16 on the Beta endpoint singularities weigh
 * <= 2d 2^-d and that holds to 5%. At d <= 4 they sit next to the atoms and
 * add O(dx^1.5) (printed: up to ~6 dx^2/12).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_math.h> /* M_LN2 (not in C11) */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sf_psi.h>

#include "check.h"
#include "lyapdiag/depthlaw.h"
#include "lyapdiag/error.h"
#include "lyapdiag/theory.h"

enum { MC_SAMPLES = 200000, CHI2_BINS = 40 };
static const double CHI2_P_MIN = 1e-4;
static const double LOG_EPS = -6.907755278982137; /* log 1e-3 */
static const double EPSILONS[2] = {1e-3, 0.1};     /* Monte Carlo tails */
/* Variance rounding, relative: the FFT leaves ~1e-17 in each of ~2e4
 * window bins, weighted by squared distances up to (300 sd)^2 with random
 * signs (measured: 5e-12). */
static const double ROUNDING_V = 1e-10;

static lyap_depthlaw *make(lyap_family f, int d, double a, double s2, int max_depth)
{
    lyap_depthlaw *law = NULL;
    if (lyap_depthlaw_create(f, d, a, s2, max_depth, &law) != LYAP_OK)
        check(0, "create %s d=%d a=%g s2=%g: %s", lyap_family_name(f), d, a, s2,
              lyap_error_message());
    return law;
}

static double total_mass(lyap_depthlaw *law, int L)
{
    double edges[2] = {-INFINITY, INFINITY}, p = NAN;
    lyap_depthlaw_mass(law, L, edges, 1, &p);
    return p;
}

/* ---- the grid ---------------------------------------------------------------- */

static int binned_parts(lyap_family f, int d, double a)
{
    return (f == LYAP_FAMILY_GAUSSIAN) + (a < 1.0 && d > 1);
}

static void check_grid_case(lyap_family f, int d, double a)
{
    static const int depths[] = {1, 10, 100, 1000};
    double s2 = lyap_theory_standard_variance(f, a), lambda, v;
    char what[160];
    lyap_theory_exact(f, d, a, s2, &lambda, &v, NULL);
    lyap_depthlaw *law = make(f, d, a, s2, 1000);
    if (!law)
        return;
    int n = binned_parts(f, d, a);
    for (size_t i = 0; i < sizeof depths / sizeof *depths; i++) {
        int L = depths[i];
        lyap_depthlaw_summary s;
        lyap_depthlaw_summarize(law, L, &s);
        snprintf(what, sizeof what, "%s d=%d a=%g L=%d: total mass", lyap_family_name(f), d, a, L);
        check_near(what, s.mass, 1.0, 1e-12);
        snprintf(what, sizeof what, "%s d=%d a=%g L=%d: mass(-inf, inf)", lyap_family_name(f), d, a, L);
        check_near(what, total_mass(law, L), 1.0, 1e-12);
        snprintf(what, sizeof what, "%s d=%d a=%g L=%d: mean = L lambda", lyap_family_name(f), d, a, L);
        check_near(what, s.mean, L * lambda, 1e-8 * fmax(1.0, fabs(L * lambda)));
        if (v == 0.0) { /* orthogonal a = 1: S_L = L log eta exactly */
            double x = NAN;
            lyap_depthlaw_quantile(law, L, 0.3, &x);
            snprintf(what, sizeof what, "%s d=%d a=1 L=%d: point mass (variance, quantile)",
                     lyap_family_name(f), d, L);
            check(s.variance == 0.0 && x == L * lambda, "%s: variance %g, quantile %.17g, L lambda %.17g",
                  what, s.variance, x, L * lambda);
            continue;
        }
        double sheppard = n * s.dx * s.dx / 12.0, excess = s.variance / L - v;
        double bound = pow(0.5 * n * s.dx, 2) + n * s.dx * sqrt(v) + ROUNDING_V * v;
        snprintf(what, sizeof what, "%s d=%d a=%g L=%d: variance/L - v = %.3f dx^2/12 (n = %d), bound",
                 lyap_family_name(f), d, a, L, excess / (s.dx * s.dx / 12.0), n);
        check_near(what, s.variance / L, v, bound);
        if (d >= 16) {
            snprintf(what, sizeof what, "%s d=%d a=%g L=%d: variance/L = v + n dx^2/12 (Sheppard)",
                     lyap_family_name(f), d, a, L);
            check_near(what, s.variance / L, v + sheppard, 0.05 * sheppard + ROUNDING_V * v);
        }
        if (i == 0) {
            snprintf(what, sizeof what, "%s d=%d a=%g: binned layer mean - lambda, in dx",
                     lyap_family_name(f), d, a);
            check_near(what, -s.mean_shift / s.dx, 0.0, 0.01);
        }
    }
    lyap_depthlaw_destroy(&law);
    check(law == NULL, "destroy sets the handle to NULL");
}

static void grid_moments(void)
{
    static const lyap_family families[] = {LYAP_FAMILY_GAUSSIAN, LYAP_FAMILY_ORTHOGONAL};
    static const int widths[] = {1, 2, 4, 16, 64};
    static const double slopes[] = {0.1, 0.5, 1.0};
    for (int i = 0; i < 2; i++)
        for (size_t j = 0; j < sizeof widths / sizeof *widths; j++)
            for (size_t k = 0; k < sizeof slopes / sizeof *slopes; k++)
                check_grid_case(families[i], widths[j], slopes[k]);
}

/* ---- Monte Carlo -------------------------------------------------------------- */

/* One draw of log r (THEORY.md "Exact values"); -inf when a ReLU layer dies. */
static double draw_log_r(gsl_rng *rng, lyap_family f, int d, double a, double s2)
{
    unsigned k = gsl_ran_binomial(rng, 0.5, (unsigned)d);
    double t = k == 0 ? 0.0 : k == (unsigned)d ? 1.0 : gsl_ran_beta(rng, 0.5 * k, 0.5 * (d - k));
    double x = 0.5 * log(a * a + (1.0 - a * a) * t);
    if (f == LYAP_FAMILY_GAUSSIAN)
        return x + 0.5 * log(s2 / d) + 0.5 * log(gsl_ran_chisq(rng, d));
    return x + 0.5 * log(s2);
}

static int compare_double(const void *p, const void *q)
{
    double x = *(const double *)p, y = *(const double *)q;
    return (x > y) - (x < y);
}

/* Chi-square test of SORTED samples against the law at depth L: up to
 * CHI2_BINS bins of equal probability among survivors (>= 50 expected
 * each), plus (if the law can die) one bin for the dead mass at -inf.
 * Returns the p-value. */
static double chi2_p_value(lyap_depthlaw *law, int L, const double *sorted, int nsamples)
{
    double edges[CHI2_BINS + 2], prob[CHI2_BINS + 1], stat = 0.0;
    lyap_depthlaw_summary s;
    lyap_depthlaw_summarize(law, L, &s);
    int nb = (int)fmax(1.0, fmin(CHI2_BINS, floor(nsamples * s.survival / 50.0)));
    int dead_bin = s.survival < 1.0, nbins = nb + dead_bin;
    double dead = 1.0 - s.survival;
    edges[0] = -INFINITY;
    if (dead_bin)
        edges[1] = -DBL_MAX;
    for (int k = 1; k < nb; k++)
        lyap_depthlaw_quantile(law, L, dead + s.survival * k / nb, &edges[dead_bin + k]);
    edges[nbins] = INFINITY;
    lyap_depthlaw_mass(law, L, edges, nbins, prob);
    for (int k = 0, at = 0; k < nbins; k++) {
        int count = 0;
        while (at < nsamples && sorted[at] < edges[k + 1])
            at++, count++;
        double expected = nsamples * prob[k];
        stat += (count - expected) * (count - expected) / expected;
    }
    return gsl_cdf_chisq_Q(stat, nbins - 1);
}

/* MC fraction of samples in the event vs the law's probability P: within 4
 * binomial stderr where N p (1 - p) >= 10 (else the event is too rare here). */
static void check_fraction(const char *what, int count, int nsamples, double p)
{
    double sd = sqrt(p * (1.0 - p) / nsamples);
    if (nsamples * p * (1.0 - p) < 10.0) {
        printf("SKIP: %s: p = %.3g too small for %d samples (MC count %d)\n", what, p, nsamples,
               count);
        return;
    }
    check_near(what, (double)count / nsamples, p, 4.0 * sd);
}

static void check_against_mc(lyap_family f, int d, double a, double s2, unsigned long seed)
{
    static const int depths[] = {1, 10, 100}; /* prefix sums of one path per sample */
    int nd = 3, Lmax = 100;
    char what[160];
    double *paths;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    lyap_depthlaw *law = make(f, d, a, s2, Lmax);
    if (!rng || !law || !(paths = malloc(sizeof *paths * nd * MC_SAMPLES))) {
        check(0, "MC setup for %s d=%d", lyap_family_name(f), d);
        return;
    }
    gsl_rng_set(rng, seed);
    for (int i = 0; i < MC_SAMPLES; i++) {
        double sum = 0.0;
        for (int l = 1, j = 0; l <= Lmax; l++) {
            sum += draw_log_r(rng, f, d, a, s2);
            if (l == depths[j])
                paths[j++ * MC_SAMPLES + i] = sum;
        }
    }
    for (int j = 0; j < nd; j++) {
        int L = depths[j];
        double *x = paths + j * MC_SAMPLES;
        qsort(x, MC_SAMPLES, sizeof *x, compare_double);
        double p = chi2_p_value(law, L, x, MC_SAMPLES);
        snprintf(what, sizeof what, "%s d=%d a=%g s2=%.4g L=%d: chi-square p-value = %.3g > %g",
                 lyap_family_name(f), d, a, s2, L, p, CHI2_P_MIN);
        check(p > CHI2_P_MIN, "%s", what);
        for (int e = 0; e < 2; e++) {
            double log_eps = log(EPSILONS[e]), pv, pe;
            int below = 0, above = 0;
            for (int i = 0; i < MC_SAMPLES; i++) {
                below += x[i] < log_eps;
                above += x[i] > -log_eps;
            }
            lyap_depthlaw_tails(law, L, log_eps, &pv, &pe);
            snprintf(what, sizeof what, "%s d=%d a=%g L=%d: P(|x_L| < %g |x_0|) MC vs law",
                     lyap_family_name(f), d, a, L, EPSILONS[e]);
            check_fraction(what, below, MC_SAMPLES, pv);
            snprintf(what, sizeof what, "%s d=%d a=%g L=%d: P(|x_L| > |x_0| / %g) MC vs law",
                     lyap_family_name(f), d, a, L, EPSILONS[e]);
            check_fraction(what, above, MC_SAMPLES, pe);
        }
    }
    free(paths);
    gsl_rng_free(rng);
    lyap_depthlaw_destroy(&law);
}

static void monte_carlo(void)
{
    double s2_crit;
    check_against_mc(LYAP_FAMILY_GAUSSIAN, 4, 0.1, lyap_theory_standard_variance(LYAP_FAMILY_GAUSSIAN, 0.1), 11);
    /* At the critical gain both tails are visible by L = 100. */
    lyap_theory_exact(LYAP_FAMILY_ORTHOGONAL, 16, 0.1, 1.0, NULL, NULL, &s2_crit);
    check_against_mc(LYAP_FAMILY_ORTHOGONAL, 16, 0.1, s2_crit, 12);
    /* ReLU: dead mass is its own chi-square bin (94% dead by L = 10). */
    check_against_mc(LYAP_FAMILY_GAUSSIAN, 2, 0.0, 2.0, 13);
}

/* ---- CLT ------------------------------------------------------------------------ */

/* max over q = 0.001..0.999 of |q - Phi((x_q - L lambda) / sqrt(L v))|. */
static double clt_distance(lyap_depthlaw *law, int L, double lambda, double v)
{
    double dist = 0.0;
    for (int i = 1; i < 1000; i++) {
        double q = i / 1000.0, x;
        lyap_depthlaw_quantile(law, L, q, &x);
        dist = fmax(dist, fabs(q - gsl_cdf_ugaussian_P((x - L * lambda) / sqrt(L * v))));
    }
    return dist;
}

static void clt(lyap_family f, int d, double a)
{
    static const int depths[] = {10, 100, 1000, 10000};
    double s2 = lyap_theory_standard_variance(f, a), lambda, v, prev = INFINITY;
    lyap_theory_exact(f, d, a, s2, &lambda, &v, NULL);
    lyap_depthlaw *law = make(f, d, a, s2, 10000);
    if (!law)
        return;
    for (int i = 0; i < 4; i++) {
        double dist = clt_distance(law, depths[i], lambda, v);
        check(dist < prev, "%s d=%d a=%g L=%d: KS distance to the CLT %.3g < %.3g (previous depth)",
              lyap_family_name(f), d, a, depths[i], dist, prev);
        prev = dist;
    }
    check(prev < 0.01, "%s d=%d a=%g L=10000: KS distance to the CLT %.3g < 0.01",
          lyap_family_name(f), d, a, prev);
    lyap_depthlaw_destroy(&law);
}

/* ---- exact laws ------------------------------------------------------------------ */

/* d = 2: m_h = 0.5 log a + log((1+a)/2) (THEORY.md closed forms). */
static void d2_closed_form(void)
{
    static const double slopes[] = {0.1, 0.5};
    for (int i = 0; i < 2; i++) {
        double a = slopes[i], s2 = 1.7, m_h = 0.5 * log(a) + log1p(a) - M_LN2;
        double ref[2] = {0.5 * (log(s2 / 2) + gsl_sf_psi(1.0) + M_LN2 + m_h), 0.5 * (log(s2) + m_h)};
        lyap_family f[2] = {LYAP_FAMILY_GAUSSIAN, LYAP_FAMILY_ORTHOGONAL};
        for (int j = 0; j < 2; j++) {
            lyap_depthlaw *law = make(f[j], 2, a, s2, 100);
            lyap_depthlaw_summary s;
            if (!law)
                continue;
            lyap_depthlaw_summarize(law, 100, &s);
            char what[128];
            snprintf(what, sizeof what, "%s d=2 a=%g L=100: mean/L = d=2 closed form lambda",
                     lyap_family_name(f[j]), a);
            check_near(what, s.mean / 100, ref[j], 1e-9 * fabs(ref[j]));
            lyap_depthlaw_destroy(&law);
        }
    }
}

/* Orthogonal d = 1: S_L = 0.5 L log s2 + M log a, M ~ Bin(L, 1/2); a
 * threshold halfway between lattice points gives binomial tails exactly. */
static void d1_binomial_lattice(void)
{
    static const int depths[] = {10, 100};
    double a = 0.5, s2 = 1.3;
    lyap_depthlaw *law = make(LYAP_FAMILY_ORTHOGONAL, 1, a, s2, 100);
    if (!law)
        return;
    for (int i = 0; i < 2; i++) {
        int L = depths[i], m = L / 2 + 2;
        double x = 0.5 * L * log(s2) + (m + 0.5) * log(a), p, q, e[2] = {x, INFINITY};
        lyap_depthlaw_mass(law, L, e, 1, &p);
        char what[96];
        snprintf(what, sizeof what, "orthogonal d=1 a=0.5 L=%d: P(M <= %d) binomial", L, m);
        check_near(what, p, gsl_cdf_binomial_P((unsigned)m, 0.5, (unsigned)L), 1e-12);
        lyap_depthlaw_quantile(law, L, gsl_cdf_binomial_Q((unsigned)m, 0.5, (unsigned)L), &q);
        snprintf(what, sizeof what, "orthogonal d=1 a=0.5 L=%d: quantile P(M > %d) between its atoms", L, m);
        check_near(what, q, x, 0.5 * fabs(log(a)));
    }
    lyap_depthlaw_destroy(&law);
}

static void relu(void)
{
    static const int depths[] = {1, 10, 100, 1000};
    char what[128];
    lyap_depthlaw *law = make(LYAP_FAMILY_GAUSSIAN, 2, 0.0, 2.0, 1000);
    if (!law)
        return;
    for (int i = 0; i < 4; i++) {
        int L = depths[i];
        double pv, pe, x;
        lyap_depthlaw_summary s;
        lyap_depthlaw_summarize(law, L, &s);
        snprintf(what, sizeof what, "ReLU gaussian d=2 L=%d: survival (3/4)^L", L);
        check_near(what, s.survival, pow(0.75, L), 1e-14 * pow(0.75, L));
        lyap_depthlaw_tails(law, L, LOG_EPS, &pv, &pe);
        check(pv >= 1.0 - s.survival && pv <= 1.0 + 1e-12,
              "ReLU gaussian d=2 L=%d: p_vanish %.15g >= 1 - survival %.15g", L, pv, 1.0 - s.survival);
        lyap_depthlaw_quantile(law, L, 0.5 * (1.0 - s.survival), &x);
        check(x == -INFINITY, "ReLU gaussian d=2 L=%d: quantile below the dead mass is -inf (%g)", L, x);
    }
    lyap_depthlaw_destroy(&law);
    /* Orthogonal d = 1: alive means K = 1, h = 0: a point mass at L log eta. */
    law = make(LYAP_FAMILY_ORTHOGONAL, 1, 0.0, 4.0, 10);
    if (!law)
        return;
    double pv, pe;
    lyap_depthlaw_tails(law, 10, LOG_EPS, &pv, &pe);
    check_near("ReLU orthogonal d=1 L=10: p_vanish = dead mass 1 - 2^-10", pv,
               1.0 - ldexp(1.0, -10), 1e-15);
    check_near("ReLU orthogonal d=1 L=10: p_explode = 2^-10 (alive at 10 log 2 > log 1e3)", pe,
               ldexp(1.0, -10), 1e-15);
    lyap_depthlaw_destroy(&law);
}

/* ---- errors and speed ------------------------------------------------------------ */

static void check_error(const char *what, int status, const char *needle)
{
    int ok = status == LYAP_EDECK && strstr(lyap_error_message(), needle);
    check(ok, "%s: status %d (want %d), message \"%s\"", what, status, LYAP_EDECK,
          lyap_error_message());
}

static void bad_arguments(void)
{
    lyap_depthlaw *law = NULL;
    double x, e[2] = {1.0, 0.0};
    check_error("uniform has no exact law",
                lyap_depthlaw_create(LYAP_FAMILY_UNIFORM, 4, 0.1, 1.0, 10, &law), "no exact law for uniform");
    check_error("looks-linear is not handled",
                lyap_depthlaw_create(LYAP_FAMILY_LOOKS_LINEAR, 4, 0.1, 1.0, 10, &law), "no exact law for");
    check_error("slope 1.5", lyap_depthlaw_create(LYAP_FAMILY_GAUSSIAN, 4, 1.5, 1.0, 10, &law), "slope");
    check_error("depth 1e9 exceeds the 2^22 grid",
                lyap_depthlaw_create(LYAP_FAMILY_GAUSSIAN, 4, 0.1, 1.0, 1000000000, &law), "2^22");
    check(law == NULL, "failed create leaves the handle NULL");
    law = make(LYAP_FAMILY_GAUSSIAN, 4, 0.1, 1.0, 10);
    if (!law)
        return;
    check_error("depth 11 > largest", lyap_depthlaw_quantile(law, 11, 0.5, &x), "outside 1..10");
    check_error("depth 0", lyap_depthlaw_quantile(law, 0, 0.5, &x), "outside 1..10");
    check_error("q = 1.5", lyap_depthlaw_quantile(law, 5, 1.5, &x), "quantile level");
    check_error("eps = 1", lyap_depthlaw_tails(law, 5, 0.0, &x, NULL), "eps");
    check_error("descending edges", lyap_depthlaw_mass(law, 5, e, 1, &x), "ascending");
    lyap_depthlaw_destroy(&law);
    lyap_depthlaw_destroy(&law); /* NULL: no-op */
}

int main(void)
{
    grid_moments();
    d2_closed_form();
    d1_binomial_lattice();
    relu();
    bad_arguments();
    clt(LYAP_FAMILY_GAUSSIAN, 4, 0.1);
    clt(LYAP_FAMILY_ORTHOGONAL, 16, 0.1);
    monte_carlo();
    return check_status();
}
