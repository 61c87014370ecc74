/* test_tail_index_solves_kesten_goldie: the tail index of the stationary
 * signal law with biases (src/biastheory.c, THEORY.md "Biases") is the root
 * kappa > 0 of E[A^kappa] = 1, A = s2 S/d:
 *  - the tilted Beta mixture E[(a^2 + (1-a^2) T_K)^kappa]
 *    (lyap_theory_h_log_mgf) against closed forms: kappa = 1 gives
 *    (1+a^2)/2, kappa = 2 the binomial mixture of Beta second moments,
 *    d = 1 gives (a^(2 kappa) + 1)/2, a = 0 the mixture of Beta moments
 *    E T_k^kappa; kappa = 0 and a = 1 give 1 (1e-11);
 *  - log E[A^kappa] has slope 2 lambda at 0 (lyap_theory_exact): the
 *    forward difference less the curvature term 2 v eps^2, within O(eps^2);
 *  - THEORY.md's check point d = 4, a = 0.1, s2 = 3: E log A = 2 lambda =
 *    -0.41497 and kappa = 0.38456 (to the printed digits);
 *  - kappa > 1 exactly when s2 < He = 2/(1+a^2): s2 = He (1 -+ 2%) at
 *    d = 2, 4, 16, 256 and a = 0.1, 0.5, 0.9, 1; log E[A] = log(s2/He);
 *  - a = 1: the root of kappa log(2 s2/d) + log Gamma(d/2+kappa)/Gamma(d/2),
 *    found here by bisection on that closed form (1e-9);
 *  - just below s2_crit the cumulant estimate -lambda/v takes over and
 *    Brent's root agrees with it to O(kappa^2);
 *  - two independent routes to E[A^kappa] = 1 at the root: the Laplace
 *    integral E[S^k] = k/Gamma(1-k) int_0^inf (1 - M(t)^d) t^(-k-1) dt for
 *    kappa < 1 (M of THEORY.md's Laplace route; 1e-10), and a Monte Carlo of
 *    S from the project's exact sampler (1e6 draws, fixed seed) within 4
 *    standard errors, which also checks E log A = 2 lambda;
 *  - NaN for s2 >= s2_crit and for ReLU; bad arguments are deck errors.
 */
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_sf_gamma.h>

#include "check.h"
#include "lyapdiag/biastheory.h"
#include "lyapdiag/error.h"
#include "lyapdiag/propagate.h"
#include "lyapdiag/rng.h"
#include "lyapdiag/theory.h"

static const double CLOSED_FORM_TOL = 1e-11;

static double log_mgf(int d, double a, double kappa)
{
    double value = NAN;
    if (lyap_theory_h_log_mgf(d, a, kappa, &value) != LYAP_OK)
        check(0, "lyap_theory_h_log_mgf(%d, %g, %g): %s", d, a, kappa, lyap_error_message());
    return value;
}

static double tail_index(int d, double a, double s2)
{
    double kappa = -1.0;
    if (lyap_biastheory_tail_index(d, a, s2, &kappa) != LYAP_OK)
        check(0, "lyap_biastheory_tail_index(%d, %g, %g): %s", d, a, s2, lyap_error_message());
    return kappa;
}

static double log_moment(int d, double a, double s2, double kappa)
{
    double value = NAN;
    if (lyap_biastheory_log_moment(d, a, s2, kappa, &value) != LYAP_OK)
        check(0, "lyap_biastheory_log_moment(%d, %g, %g, %g): %s", d, a, s2, kappa, lyap_error_message());
    return value;
}

static double binomial_weight(int d, int k)
{
    return exp(gsl_sf_lnchoose((unsigned)d, (unsigned)k) - d * M_LN2);
}

/* ---- the tilted mixture ------------------------------------------------------------ */

static void mgf_closed_forms(void)
{
    static const int widths[] = {1, 2, 3, 4, 16, 64, 1024};
    static const double slopes[] = {0.0, 0.01, 0.1, 0.5, 0.9};
    static const double tilts[] = {0.38, 1.0, 2.0, 7.5};
    char what[160];
    for (size_t i = 0; i < sizeof widths / sizeof *widths; i++)
        for (size_t j = 0; j < sizeof slopes / sizeof *slopes; j++) {
            int d = widths[i];
            double a = slopes[j], a2 = a * a, b2 = 1.0 - a2;
            snprintf(what, sizeof what, "d=%d a=%g: E[e^h] = (1+a^2)/2", d, a);
            check_near(what, log_mgf(d, a, 1.0), log(0.5 * (1.0 + a2)), CLOSED_FORM_TOL);
            double second = 0.0; /* E T_k = k/d, E T_k^2 = (k/2)(k/2+1)/((d/2)(d/2+1)) */
            for (int k = 0; k <= d; k++) {
                double t1 = (double)k / d, t2 = 0.5 * k * (0.5 * k + 1.0) / (0.5 * d * (0.5 * d + 1.0));
                second += binomial_weight(d, k) * (a2 * a2 + 2.0 * a2 * b2 * t1 + b2 * b2 * t2);
            }
            snprintf(what, sizeof what, "d=%d a=%g: E[e^2h] = binomial mixture of Beta moments", d, a);
            check_near(what, log_mgf(d, a, 2.0), log(second), CLOSED_FORM_TOL);
            for (size_t t = 0; t < sizeof tilts / sizeof *tilts; t++) {
                double kappa = tilts[t], ref;
                if (d == 1) /* T_0 = 0, T_1 = 1 */
                    ref = log(0.5 * (pow(a2, kappa) + 1.0));
                else if (a == 0.0) { /* E T_k^kappa = Gamma(k/2+kappa) Gamma(d/2) / (Gamma(k/2) Gamma(d/2+kappa)) */
                    double sum = 0.0;
                    for (int k = 1; k <= d; k++)
                        sum += binomial_weight(d, k) * exp(gsl_sf_lnpoch(0.5 * k, kappa) - gsl_sf_lnpoch(0.5 * d, kappa));
                    ref = log(sum);
                } else
                    continue;
                snprintf(what, sizeof what, "d=%d a=%g kappa=%g: E[e^(kappa h)] closed form", d, a, kappa);
                check_near(what, log_mgf(d, a, kappa), ref, CLOSED_FORM_TOL * fmax(1.0, fabs(ref)));
            }
        }
    check(log_mgf(16, 0.3, 0.0) == 0.0 && log_mgf(16, 1.0, 3.7) == 0.0 && log_mgf(16, 0.0, 0.0) == 0.0,
          "E[e^(kappa h)] = 1 at kappa = 0 (also ReLU) and at a = 1");
}

/* ---- the tail index ---------------------------------------------------------------- */

static double lambda_of(int d, double a, double s2, double *v, double *s2_crit)
{
    double lambda = NAN;
    if (lyap_theory_exact(LYAP_FAMILY_GAUSSIAN, d, a, s2, &lambda, v, s2_crit) != LYAP_OK)
        check(0, "lyap_theory_exact: %s", lyap_error_message());
    return lambda;
}

static void check_point(void)
{
    double v, lambda = lambda_of(4, 0.1, 3.0, &v, NULL), eps = 1e-5;
    check_near("d=4 a=0.1 s2=3: E log A = 2 lambda (THEORY.md -0.41497)", 2.0 * lambda, -0.41497, 5e-6);
    /* log E[A^eps] = 2 lambda eps + 2 v eps^2 + O(eps^3): the slope to O(eps^2),
     * above the quadratures' rounding (~1e-13 / eps). */
    check_near("d=4 a=0.1 s2=3: slope of log E[A^kappa] at 0 = 2 lambda",
               (log_moment(4, 0.1, 3.0, eps) - 2.0 * v * eps * eps) / eps, 2.0 * lambda, 1e-7);
    double kappa = tail_index(4, 0.1, 3.0);
    check_near("d=4 a=0.1 s2=3: kappa (THEORY.md 0.38456)", kappa, 0.38456, 5e-6);
    check_near("d=4 a=0.1 s2=3: log E[A^kappa] = 0 at the root", log_moment(4, 0.1, 3.0, kappa), 0.0, 1e-9);
}

static void he_threshold(void)
{
    static const int widths[] = {2, 4, 16, 256};
    static const double slopes[] = {0.1, 0.5, 0.9, 1.0};
    for (size_t i = 0; i < sizeof widths / sizeof *widths; i++)
        for (size_t j = 0; j < sizeof slopes / sizeof *slopes; j++) {
            int d = widths[i];
            double a = slopes[j], he = lyap_theory_standard_variance(LYAP_FAMILY_GAUSSIAN, a), s2_crit;
            lambda_of(d, a, 1.0, NULL, &s2_crit);
            double below = tail_index(d, a, 0.98 * he), above = tail_index(d, a, fmin(1.02 * he, 0.5 * (he + s2_crit)));
            check(below > 1.0, "d=%d a=%g: kappa(0.98 He) = %.6f > 1 (finite mean)", d, a, below);
            check(above < 1.0, "d=%d a=%g: kappa(min(1.02 He, (He + s2_crit)/2)) = %.6f < 1 (infinite mean)", d, a, above);
            char what[96];
            snprintf(what, sizeof what, "d=%d a=%g: log E[A] = log(s2/He) at s2 = 0.98 He", d, a);
            check_near(what, log_moment(d, a, 0.98 * he, 1.0), log(0.98), CLOSED_FORM_TOL);
        }
}

/* a = 1: kappa log(2 s2/d) + lnpoch(d/2, kappa) = 0, by bisection here. */
static void linear_closed_form(void)
{
    static const int widths[] = {1, 4, 64};
    for (size_t i = 0; i < sizeof widths / sizeof *widths; i++) {
        int d = widths[i];
        double s2 = 0.6, lo = 1e-3, hi = 1e3;
        for (int it = 0; it < 200; it++) {
            double mid = sqrt(lo * hi);
            if (mid * log(2.0 * s2 / d) + gsl_sf_lnpoch(0.5 * d, mid) < 0.0)
                lo = mid;
            else
                hi = mid;
        }
        char what[96];
        snprintf(what, sizeof what, "d=%d a=1 s2=%g: kappa = root of the chi-square moment", d, s2);
        check_near(what, tail_index(d, 1.0, s2), lo, 1e-9 * lo);
    }
}

/* Near s2_crit: kappa ~ -lambda/v, exactly that below 1e-4, and Brent's
 * root within O(kappa^2) of it above (third cumulant of log A). */
static void near_boundary(void)
{
    double s2_crit, v;
    lambda_of(16, 0.5, 1.0, NULL, &s2_crit);
    double s2 = s2_crit * (1.0 - 1e-5), lambda = lambda_of(16, 0.5, s2, &v, NULL);
    check(tail_index(16, 0.5, s2) == -lambda / v, "d=16 a=0.5 s2 = s2_crit (1 - 1e-5): kappa = -lambda/v = %.3g",
          -lambda / v);
    s2 = s2_crit * (1.0 - 1e-3);
    lambda = lambda_of(16, 0.5, s2, &v, NULL);
    double kappa = tail_index(16, 0.5, s2);
    check_near("d=16 a=0.5 s2 = s2_crit (1 - 1e-3): kappa - (-lambda/v) = O(kappa^2)", kappa, -lambda / v,
               kappa * kappa);
    check(isnan(tail_index(16, 0.5, s2_crit * (1.0 + 1e-9))) && isnan(tail_index(4, 0.1, 5.0)),
          "kappa is NaN above s2_crit (no stationary law)");
    check(isnan(tail_index(4, 0.0, 1.0)), "kappa is NaN at a = 0 (ReLU resets the chain)");
}

/* ---- independent routes to E[A^kappa] = 1 -------------------------------------------- */

typedef struct {
    int d;
    double a2, kappa;
} laplace_params;

/* With t = e^s: (1 - M(t)^d) t^-kappa, M(t) = ((1+2t)^-1/2 + (1+2a^2 t)^-1/2)/2.
 * Far left (t < e^-700) its leading term d E[phi(g)^2] t^(1-kappa), as
 * 0 * inf would otherwise be NaN. */
static double laplace_integrand(double s, void *params)
{
    const laplace_params *p = params;
    if (s < -700.0)
        return p->d * 0.5 * (1.0 + p->a2) * exp((1.0 - p->kappa) * s);
    double t = exp(s);
    double m1 = 0.5 * (expm1(-0.5 * log1p(2.0 * t)) + expm1(-0.5 * log1p(2.0 * p->a2 * t))); /* M - 1 */
    return -expm1(p->d * log1p(m1)) * exp(-p->kappa * s);
}

static void laplace_route(int d, double a, double s2)
{
    double kappa = tail_index(d, a, s2), value, err;
    laplace_params p = {d, a * a, kappa};
    gsl_function f = {laplace_integrand, &p};
    gsl_integration_workspace *ws = gsl_integration_workspace_alloc(1000);
    gsl_set_error_handler_off();
    int status = gsl_integration_qagi(&f, 1e-13, 1e-11, 1000, ws, &value, &err);
    gsl_integration_workspace_free(ws);
    double log_es = log(kappa) - gsl_sf_lngamma(1.0 - kappa) + log(value);
    double log_ea = kappa * log(s2 / d) + log_es;
    check(status == GSL_SUCCESS && fabs(log_ea) <= 1e-10,
          "d=%d a=%g s2=%g: Laplace route log E[A^kappa] = %.3g at kappa = %.6f (QAGI status %d), |.| <= 1e-10",
          d, a, s2, log_ea, kappa, status);
}

/* E[A^kappa] and E log A from 1e6 draws of S (the exact sampler at grid
 * variance s2 = d draws the gaussian increment 0.5 log S). */
static void monte_carlo(int d, double a, double s2, uint64_t seed)
{
    enum { BATCH = 1000, DEPTH = 1000 };
    double kappa = tail_index(d, a, s2), lambda = lambda_of(d, a, s2, NULL, NULL);
    double *inc = malloc(sizeof *inc * BATCH), sum[2] = {0, 0}, sq[2] = {0, 0};
    lyap_propagate_plan plan = NULL;
    if (!inc || lyap_propagate_plan_create(LYAP_FAMILY_GAUSSIAN, d, a, BATCH, DEPTH, LYAP_METHOD_EXACT,
                                           LYAP_PRECISION_DOUBLE, &plan) != LYAP_OK) {
        check(0, "Monte Carlo setup: %s", lyap_error_message());
        free(inc);
        return;
    }
    lyap_propagate_start(plan, seed, lyap_rng_task_key(LYAP_FAMILY_GAUSSIAN, d, a, s2), 0, d);
    for (int l = 0; l < DEPTH; l++) {
        lyap_propagate_layer(plan, inc);
        for (int j = 0; j < BATCH; j++) {
            double log_a = log(s2 / d) + 2.0 * inc[j], x[2] = {exp(kappa * log_a), log_a};
            for (int k = 0; k < 2; k++) {
                sum[k] += x[k];
                sq[k] += x[k] * x[k];
            }
        }
    }
    double n = (double)BATCH * DEPTH, ref[2] = {1.0, 2.0 * lambda};
    const char *name[2] = {"E[A^kappa] = 1", "E log A = 2 lambda"};
    for (int k = 0; k < 2; k++) {
        double mean = sum[k] / n, se = sqrt((sq[k] / n - mean * mean) / (n - 1));
        char what[128];
        snprintf(what, sizeof what, "d=%d a=%g s2=%g kappa=%.5f: MC %s (4 stderr = %.2g)", d, a, s2, kappa,
                 name[k], 4 * se);
        check_near(what, mean, ref[k], 4 * se);
    }
    lyap_propagate_plan_destroy(&plan);
    free(inc);
}

static void bad_arguments(void)
{
    double x;
    int status[6] = {lyap_biastheory_tail_index(0, 0.1, 1.0, &x), lyap_biastheory_tail_index(4, 1.5, 1.0, &x),
                     lyap_biastheory_tail_index(4, 0.1, -1.0, &x), lyap_biastheory_log_moment(4, 0.1, 1.0, -0.5, &x),
                     lyap_biastheory_log_moment(4, 0.1, 1.0, NAN, &x), lyap_theory_h_log_mgf(4, 0.1, NAN, &x)};
    for (int i = 0; i < 6; i++)
        check(status[i] == LYAP_EDECK, "bad d, a, s2 or kappa (case %d) is a deck error: status %d", i, status[i]);
}

int main(void)
{
    mgf_closed_forms();
    check_point();
    he_threshold();
    linear_closed_form();
    near_boundary();
    laplace_route(4, 0.1, 3.0);
    laplace_route(16, 0.5, 1.7);
    laplace_route(2, 0.9, 1.1 * lyap_theory_standard_variance(LYAP_FAMILY_GAUSSIAN, 0.9));
    monte_carlo(4, 0.1, 3.0, 41);
    monte_carlo(16, 0.5, 1.0, 42);
    bad_arguments();
    return check_status();
}
