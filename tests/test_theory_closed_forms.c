/* test_theory_closed_forms: lyap_theory_exact and lyap_theory_h_moments
 * reproduce every closed form and limit of THEORY.md:
 *  - d = 1 and d = 2 (arcsine) closed forms of m_h (and v_h for d = 1);
 *  - a = 1: gaussian lambda and v through psi, psi_1; orthogonal v = 0 exactly;
 *  - THEORY.md reference points at d = 4 and d = 16 (to the printed digits);
 *  - homogeneity in s2, and lambda(s2_crit) = 0;
 *  - ReLU (a = 0) reports -inf / NaN / +inf and death probability 2^-d;
 *    uniform has no closed form (NaN); bad arguments are deck errors;
 *  - m_h <= log((1+a^2)/2) <= 0 (Jensen) and v_h >= 0;
 *  - large d at He scale: lambda < 0, -> 0, and both m_h and v_h match a
 *    moment series with a rigorous remainder bound (derived below), which
 *    checks v_h independently of the quadrature.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_sf_psi.h>

#include "lyapdiag/error.h"
#include "lyapdiag/theory.h"

#include "check.h"

static const double LN2 = 0.69314718055994530942;

/* THEORY.md accuracy contract: 1e-9 relative, 1e-12 absolute near 0. */
static void check_spec(const char *name, double value, double ref)
{
    check_near(name, value, ref, fmax(1e-9 * fabs(ref), 1e-12));
}

/* value == ref bit for bit in meaning: both NaN, or equal (infinities too). */
static void check_same(const char *name, double value, double ref)
{
    check((isnan(value) && isnan(ref)) || value == ref, "%s: value %.17g, reference %.17g (same)",
          name, value, ref);
}

static void check_at_most(const char *name, double value, double bound)
{
    check(value <= bound, "%s: value %.17g <= bound %.17g", name, value, bound);
}

/* STATUS == REF, and the error message contains NEEDLE (unless NULL). */
static void check_error(const char *name, int status, int ref, const char *needle)
{
    int ok = status == ref && (!needle || strstr(lyap_error_message(), needle));
    check(ok, "%s: status %d, reference %d, message \"%s\"", name, status, ref,
          status == LYAP_OK ? "" : lyap_error_message());
}

static double lambda_of(lyap_family f, int d, double a, double s2, double *v, double *s2_crit)
{
    double lambda = NAN;
    int status = lyap_theory_exact(f, d, a, s2, &lambda, v, s2_crit);
    if (status != LYAP_OK)
        check(0, "lyap_theory_exact(%s, %d, %g, %g): %s", lyap_family_name(f), d, a, s2,
              lyap_error_message());
    return lambda;
}

static void d1_and_d2(void)
{
    static const double slopes[] = {1e-6, 0.01, 0.1, 0.5, 0.9, 1.0};
    char name[96];
    for (size_t j = 0; j < sizeof slopes / sizeof slopes[0]; j++) {
        double a = slopes[j], m_h = NAN, v_h = NAN;
        /* d = 1: h = log a^2 or 0 with probability 1/2 each. */
        lyap_theory_h_moments(1, a, &m_h, &v_h);
        snprintf(name, sizeof name, "d=1 m_h = log a, a=%g", a);
        check_spec(name, m_h, log(a));
        snprintf(name, sizeof name, "d=1 v_h = (log a)^2, a=%g", a);
        check_spec(name, v_h, log(a) * log(a));
        /* d = 2: T_1 arcsine, THEORY.md closed form. */
        lyap_theory_h_moments(2, a, &m_h, NULL);
        snprintf(name, sizeof name, "d=2 m_h = 0.5 log a + log((1+a)/2), a=%g", a);
        check_spec(name, m_h, 0.5 * log(a) + log1p(a) - LN2);
    }
}

static void linear_slope(void)
{
    static const int widths[] = {1, 2, 7, 64, 4096};
    static const double variances[] = {0.5, 2.0};
    char name[96];
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++)
        for (size_t j = 0; j < 2; j++) {
            int d = widths[i];
            double s2 = variances[j], v = NAN;
            double lambda = lambda_of(LYAP_FAMILY_GAUSSIAN, d, 1.0, s2, &v, NULL);
            snprintf(name, sizeof name, "a=1 gaussian lambda, d=%d s2=%g", d, s2);
            check_spec(name, lambda, 0.5 * (log(s2 / d) + gsl_sf_psi(0.5 * d) + LN2));
            snprintf(name, sizeof name, "a=1 gaussian v = psi_1(d/2)/4, d=%d s2=%g", d, s2);
            check_spec(name, v, 0.25 * gsl_sf_psi_1(0.5 * d));
            lambda = lambda_of(LYAP_FAMILY_ORTHOGONAL, d, 1.0, s2, &v, NULL);
            snprintf(name, sizeof name, "a=1 orthogonal lambda = log eta, d=%d s2=%g", d, s2);
            check_spec(name, lambda, 0.5 * log(s2));
            snprintf(name, sizeof name, "a=1 orthogonal v = 0 exactly, d=%d s2=%g", d, s2);
            check_same(name, v, 0.0);
        }
}

/* THEORY.md reference points, to half a unit of the last printed digit. */
static void reference_points(void)
{
    double s2_crit = NAN;
    double he = lyap_theory_standard_variance(LYAP_FAMILY_GAUSSIAN, 0.1);
    check_near("THEORY.md d=4 a=0.1 lambda_He",
               lambda_of(LYAP_FAMILY_GAUSSIAN, 4, 0.1, he, NULL, &s2_crit), -0.41519, 0.5e-5);
    check_near("THEORY.md d=4 a=0.1 s2_crit", s2_crit, 4.5430, 0.5e-4);
    check_near("THEORY.md d=16 a=0.1 lambda_He",
               lambda_of(LYAP_FAMILY_GAUSSIAN, 16, 0.1, he, NULL, &s2_crit), -0.08467, 0.5e-5);
    check_near("THEORY.md d=16 a=0.1 s2_crit", s2_crit, 2.3456, 0.5e-4);
}

static void homogeneity_and_criticality(void)
{
    static const lyap_family families[] = {LYAP_FAMILY_GAUSSIAN, LYAP_FAMILY_ORTHOGONAL};
    static const struct { int d; double a; } cases[] = {
        {1, 0.5}, {4, 0.1}, {5, 0.3}, {16, 0.1}, {64, 0.01}, {1000, 0.7}, {4096, 0.01}};
    static const double variances[] = {0.01, 0.5, 3.0, 100.0};
    char name[96];
    for (size_t i = 0; i < 2; i++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            lyap_family f = families[i];
            int d = cases[c].d;
            double a = cases[c].a, v1 = NAN, s2_crit = NAN, v = NAN;
            double lambda1 = lambda_of(f, d, a, 1.0, &v1, &s2_crit);
            for (size_t j = 0; j < sizeof variances / sizeof variances[0]; j++) {
                double s2 = variances[j];
                double lambda = lambda_of(f, d, a, s2, &v, NULL);
                snprintf(name, sizeof name, "%s lambda(s2) - log(s2)/2, d=%d a=%g s2=%g",
                         lyap_family_name(f), d, a, s2);
                check_spec(name, lambda - 0.5 * log(s2), lambda1);
                snprintf(name, sizeof name, "%s v(s2) = v(1), d=%d a=%g s2=%g",
                         lyap_family_name(f), d, a, s2);
                check_same(name, v, v1);
            }
            snprintf(name, sizeof name, "%s lambda(s2_crit) = 0, d=%d a=%g", lyap_family_name(f),
                     d, a);
            check_near(name, lambda_of(f, d, a, s2_crit, NULL, NULL), 0.0, 1e-12);
        }
}

static void relu_and_uniform(void)
{
    static const int widths[] = {1, 4, 64};
    char name[96];
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++)
        for (int f = 0; f < LYAP_FAMILY_COUNT; f++) {
            if (lyap_family_info_of((lyap_family)f)->looks_linear)
                continue; /* no death at a = 0: test_looks_linear_matches_theory */
            int d = widths[i];
            double v = 0.0, s2_crit = 0.0;
            double lambda = lambda_of((lyap_family)f, d, 0.0, 2.0, &v, &s2_crit);
            snprintf(name, sizeof name, "a=0 %s lambda = -inf, d=%d", lyap_family_name(f), d);
            check_same(name, lambda, -INFINITY);
            snprintf(name, sizeof name, "a=0 %s v = NaN, d=%d", lyap_family_name(f), d);
            check_same(name, v, NAN);
            snprintf(name, sizeof name, "a=0 %s s2_crit = +inf, d=%d", lyap_family_name(f), d);
            check_same(name, s2_crit, INFINITY);
        }
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++) {
        int d = widths[i];
        snprintf(name, sizeof name, "death probability 2^-d at a=0, d=%d", d);
        check_same(name, lyap_theory_death_probability(LYAP_FAMILY_GAUSSIAN, d, 0.0), ldexp(1.0, -d));
        snprintf(name, sizeof name, "death probability 0 at a=0.1, d=%d", d);
        check_same(name, lyap_theory_death_probability(LYAP_FAMILY_GAUSSIAN, d, 0.1), 0.0);
    }
    double v = 0.0, s2_crit = 0.0;
    double lambda = lambda_of(LYAP_FAMILY_UNIFORM, 8, 0.1, 2.0, &v, &s2_crit);
    check_same("uniform lambda = NaN (no closed form)", lambda, NAN);
    check_same("uniform v = NaN", v, NAN);
    check_same("uniform s2_crit = NaN", s2_crit, NAN);
    for (int f = 0; f < LYAP_FAMILY_COUNT; f++) {
        snprintf(name, sizeof name, "standard variance 2/(1+a^2), %s", lyap_family_name(f));
        check_same(name, lyap_theory_standard_variance((lyap_family)f, 0.5), 2.0 / 1.25);
    }
}

static void bad_inputs(void)
{
    double x;
    lyap_family g = LYAP_FAMILY_GAUSSIAN;
    check_error("d = 0 is a deck error", lyap_theory_exact(g, 0, 0.1, 1.0, &x, &x, &x), LYAP_EDECK,
                "d = 0");
    check_error("a = -0.1 is a deck error", lyap_theory_exact(g, 4, -0.1, 1.0, &x, &x, &x),
                LYAP_EDECK, "a = -0.1");
    check_error("a = 1.5 is a deck error", lyap_theory_exact(g, 4, 1.5, 1.0, &x, &x, &x),
                LYAP_EDECK, "a = 1.5");
    check_error("a = NaN is a deck error", lyap_theory_exact(g, 4, NAN, 1.0, &x, &x, &x),
                LYAP_EDECK, "a = ");
    check_error("s2 = 0 is a deck error", lyap_theory_exact(g, 4, 0.1, 0.0, &x, &x, &x),
                LYAP_EDECK, "s2 = 0");
    check_error("s2 = -1 is a deck error", lyap_theory_exact(g, 4, 0.1, -1.0, &x, &x, &x),
                LYAP_EDECK, "s2 = -1");
    check_error("s2 = inf is a deck error", lyap_theory_exact(g, 4, 0.1, INFINITY, &x, &x, &x),
                LYAP_EDECK, "s2 = ");
    check_error("uniform d = 0 is still a deck error",
                lyap_theory_exact(LYAP_FAMILY_UNIFORM, 0, 0.1, 1.0, &x, &x, &x), LYAP_EDECK,
                "d = 0");
    check_error("h_moments d = 0 is a deck error", lyap_theory_h_moments(0, 0.5, &x, &x),
                LYAP_EDECK, "d = 0");
    check_error("NULL outputs are allowed", lyap_theory_exact(g, 4, 0.1, 1.0, NULL, NULL, NULL),
                LYAP_OK, NULL);
}

static void signs(void)
{
    static const int widths[] = {1, 2, 3, 7, 16, 100, 1000};
    static const double slopes[] = {0.001, 0.1, 0.5, 0.99, 1.0};
    char name[96];
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++)
        for (size_t j = 0; j < sizeof slopes / sizeof slopes[0]; j++) {
            int d = widths[i];
            double a = slopes[j], m_h = NAN, v_h = NAN;
            lyap_theory_h_moments(d, a, &m_h, &v_h);
            snprintf(name, sizeof name, "m_h <= log((1+a^2)/2) <= 0, d=%d a=%g", d, a);
            check_at_most(name, m_h, log1p(a * a) - LN2);
            snprintf(name, sizeof name, "v_h >= 0, d=%d a=%g", d, a);
            check_at_most(name, -v_h, 0.0);
        }
}

/* Large d. Write z = 1 - 2T_K. With w = g^2/|g|^2 ~ Dirichlet(1/2,...,1/2) and
 * independent signs s_i, z = sum_i s_i w_i, so z is symmetric, |z| <= 1, and
 * E z^n (n even) is a sum of Dirichlet moments E prod w_i^(n_i) =
 * prod (n_i - 1)!! / (d (d+2) ... (d+2n-2)) over the even partitions of n:
 *   E z^2 = 3/(d+2),  E z^4 = (27d + 78)/((d+2)(d+4)(d+6)),  E z^6, E z^8 below.
 * With q = (1-a^2)/(1+a^2), h = log((1+a^2)/2) + u, u = log(1 - q z)
 * = -sum_j q^j z^j / j, hence
 *   E u   = -sum_{n even} q^n E z^n / n,
 *   E u^2 =  sum_{n even} q^n E z^n c_n,  c_n = sum_{i+j=n} 1/(ij) = 2 H_{n-1}/n,
 * all terms of one sign. Truncating after n = 6 leaves tails in
 * [0, E z^8 q^8/(8(1-q^2))] and [0, c_8 E z^8 q^8/(1-q^2)] (E z^n <= E z^8 and
 * c_n <= c_8 = 363/560 for n >= 8): rigorous tolerances, nothing tuned.
 * At He scale log s2 = -log((1+a^2)/2), so 2 lambda_He = psi(d/2) - log(d/2) + E u
 * = -(1 + 1.5 q^2)/d + O(1/d^2) < 0, -> 0. */
typedef struct {
    double mean_lo, mean_hi; /* bounds on -E u */
    double var_lo, var_hi;   /* bounds on v_h = E u^2 - (E u)^2 */
} series_bounds;

static series_bounds moment_series(double d, double a)
{
    double p6 = d * (d + 2) * (d + 4) * (d + 6) * (d + 8) * (d + 10);
    double p8 = p6 * (d + 12) * (d + 14);
    double d1 = d * (d - 1), d2 = d1 * (d - 2), d3 = d2 * (d - 3);
    double z2 = 3.0 / (d + 2.0);
    double z4 = (27.0 * d + 78.0) / ((d + 2.0) * (d + 4.0) * (d + 6.0));
    double z6 = (10395.0 * d + 15.0 * 315.0 * d1 + 15.0 * 27.0 * d2) / p6;
    double z8 = (2027025.0 * d + 28.0 * 31185.0 * d1 + 35.0 * 11025.0 * d1 +
                 210.0 * 945.0 * d2 + 105.0 * 81.0 * d3) / p8;
    double q = (1.0 - a * a) / (1.0 + a * a), q2 = q * q, q4 = q2 * q2, q6 = q4 * q2;
    double geometric = q4 * q4 / (1.0 - q2); /* q^8 / (1 - q^2) */
    double m = q2 * z2 / 2.0 + q4 * z4 / 4.0 + q6 * z6 / 6.0;
    double tm = z8 * geometric / 8.0;
    double s = q2 * z2 + q4 * z4 * 11.0 / 12.0 + q6 * z6 * 137.0 / 180.0;
    double ts = z8 * geometric * 363.0 / 560.0;
    series_bounds b = {m, m + tm, s - (m + tm) * (m + tm), s + ts - m * m};
    return b;
}

static void large_width_series(void)
{
    static const int widths[] = {256, 1024, 4096};
    char name[96];
    double previous = -INFINITY;
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++) {
        int d = widths[i];
        double a = 0.1, he = lyap_theory_standard_variance(LYAP_FAMILY_GAUSSIAN, a);
        double lambda = lambda_of(LYAP_FAMILY_GAUSSIAN, d, a, he, NULL, NULL);
        double psi_gap = gsl_sf_psi(0.5 * d) - log(0.5 * d);
        series_bounds b = moment_series(d, a);
        double lo = 0.5 * (psi_gap - b.mean_hi), hi = 0.5 * (psi_gap - b.mean_lo);
        snprintf(name, sizeof name, "He lambda vs moment series, d=%d a=0.1", d);
        check_near(name, lambda, 0.5 * (lo + hi), 0.5 * (hi - lo) + 1e-12);
        snprintf(name, sizeof name, "He lambda < 0, d=%d a=0.1", d);
        check_at_most(name, lambda, -DBL_MIN);
        if (i > 0) {
            snprintf(name, sizeof name, "He lambda increases to 0 with d, d=%d a=0.1", d);
            check_at_most(name, previous, lambda);
        }
        previous = lambda;

        a = 0.5;
        b = moment_series(d, a);
        double v_h = NAN;
        lyap_theory_h_moments(d, a, NULL, &v_h);
        snprintf(name, sizeof name, "v_h vs moment series, d=%d a=0.5", d);
        check_near(name, v_h, 0.5 * (b.var_lo + b.var_hi),
                   0.5 * (b.var_hi - b.var_lo) + 1e-9 * v_h);
    }
    check_at_most("He lambda small at d=4096: |lambda| < 1e-3", fabs(previous), 1e-3);
}

int main(void)
{
    d1_and_d2();
    linear_slope();
    reference_points();
    homogeneity_and_criticality();
    relu_and_uniform();
    bad_inputs();
    signs();
    large_width_series();
    return check_status();
}
