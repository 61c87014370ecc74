/* Rademacher weights through the matrix path (THEORY.md "Weight families";
 * the only path they have).
 * Width 1: W = +-sqrt(s2), so log r = 0.5 log s2 + (log a with probability
 * 1/2), i.i.d.: lambda = 0.5 log s2 + 0.5 log a and v = (log a)^2 / 4
 * exactly; the Monte Carlo must agree within 4 stderr.
 * Deaths: equal rows cancel, so W x = 0 exactly at any slope. A dead
 * column stays exactly 0 with increments -inf, never NaN.
 * Width 2, an independent route to the death rate: the same networks in
 * exact rational arithmetic (tests/rademacher_exact_deaths.py, Fractions):
 *     rademacher_exact_deaths.py 2 1 20 200000 64 1 -> 198064 deaths in 3056779 live layer-steps
 *     rademacher_exact_deaths.py 2 1 2  200000 64 2 -> 197987 deaths in 3064292 live layer-steps
 * (a = 0.05 and 0.5 agree: at width 2 the rate does not depend on a), so
 * deaths per live layer-step = 0.064703 +- 0.0001. The matrix path must
 * match it within 4 combined stderr: floating point leaves rounding
 * residues where the exact product is 0, which the path must recognize as
 * 0 (without that it finds 0.0624: a ~30 stderr gap).
 * A task with deaths follows the ReLU convention: death_probability is the
 * measured rate, lambda = -inf, clt_variance NaN, variance_crit +inf, and
 * the finite-depth moments are over the survivors. Fixed seeds. */
#include <stdlib.h>

#include "check.h"
#include "lyapdiag/error.h"
#include "lyapdiag/estimate.h"
#include "lyapdiag/propagate.h"
#include "lyapdiag/rng.h"

static int run(int d, double a, double s2, int replicas, int batch, const int *depths, int nd,
               lyap_task_result *r)
{
    lyap_task_spec spec = {.eps = 1e-3, .family = LYAP_FAMILY_RADEMACHER, .width = d, .slope = a, .nvariances = 1,
                           .variances = &s2, .ndepths = nd, .depths = depths, .seed = 31, .replicas = replicas,
                           .batch = batch, .method = LYAP_METHOD_AUTO};
    if (lyap_task_result_init(r, (lyap_result_dims){.nvariances = 1, .ndepths = nd, .nspectrum = 0}) != LYAP_OK ||
        lyap_estimate_task(&spec, r, NULL, NULL) != LYAP_OK) {
        check(0, "rademacher d=%d a=%g: %s", d, a, lyap_error_message());
        lyap_task_result_free(r);
        return -1;
    }
    return 0;
}

static void width1_law(double a, double s2)
{
    enum { R = 64, ND = 2 };
    static const int depths[ND] = {10, 2000};
    lyap_task_result r;
    if (run(1, a, s2, R, 2, depths, ND, &r))
        return;
    double lambda = 0.5 * log(s2) + 0.5 * log(a), v = 0.25 * log(a) * log(a);
    char what[128];
    snprintf(what, sizeof what, "rademacher d=1 a=%g s2=%g: lambda = 0.5 log s2 + 0.5 log a (4 stderr)", a, s2);
    check_near(what, r.lambda[0], lambda, 4 * r.lambda_stderr[0]);
    snprintf(what, sizeof what, "rademacher d=1 a=%g s2=%g: v = (log a)^2/4 (4 stderr)", a, s2);
    if (isfinite(r.clt_variance_stderr[0]))
        check_near(what, r.clt_variance[0], v, 4 * r.clt_variance_stderr[0]);
    else
        check(0, "%s: stderr %g is not finite", what, r.clt_variance_stderr[0]);
    snprintf(what, sizeof what, "rademacher d=1 a=%g: logn_mean(%d) = L lambda", a, depths[ND - 1]);
    check_near(what, r.logn_mean[ND - 1], depths[ND - 1] * lambda, 4 * sqrt(r.logn_var[ND - 1] / R));
    check(r.survival[ND - 1] == 1 && isnan(r.lambda_theory[0]) && *r.death_probability == 0,
          "rademacher d=1 a=%g: no deaths (survival %g), measured death probability %g; theory nan (%g): no closed "
          "form", a, r.survival[ND - 1], *r.death_probability, r.lambda_theory[0]);
    lyap_task_result_free(&r);
}

/* Layer by layer at d = 2: once a column's increment is -inf, every later
 * one is -inf too (the zero column stays zero), and none is NaN. */
static void dead_columns_stay_dead(double a)
{
    enum { D = 2, BATCH = 4, DEPTH = 200, REPLICAS = 8 };
    lyap_propagate_plan plan;
    if (lyap_propagate_plan_create(LYAP_FAMILY_RADEMACHER, D, a, BATCH, DEPTH, LYAP_METHOD_MATRIX,
                                   LYAP_PRECISION_DOUBLE, &plan) != LYAP_OK) {
        check(0, "rademacher d=%d plan: %s", D, lyap_error_message());
        return;
    }
    uint64_t key = lyap_rng_task_key(LYAP_FAMILY_RADEMACHER, D, a, 0);
    long deaths = 0, nans = 0, revived = 0;
    for (int r = 0; r < REPLICAS; r++) {
        int dead[BATCH] = {0};
        lyap_propagate_start(plan, 3, key, r, 2.0);
        for (int layer = 1; layer <= DEPTH; layer++) {
            double inc[BATCH];
            if (lyap_propagate_layer(plan, inc) != LYAP_OK) {
                check(0, "rademacher d=%d layer: %s", D, lyap_error_message());
                break;
            }
            for (int j = 0; j < BATCH; j++) {
                nans += isnan(inc[j]);
                revived += dead[j] && inc[j] != -INFINITY;
                if (!dead[j] && inc[j] == -INFINITY) {
                    dead[j] = 1;
                    deaths++;
                }
            }
        }
    }
    lyap_propagate_plan_destroy(&plan);
    check(deaths > 0 && nans == 0 && revived == 0, "rademacher d=%d a=%g: %ld columns died (W x = 0), %ld NaN "
          "increments (reference 0), %ld increments after death not -inf (reference 0)", D, a, deaths, nans, revived);
}

/* Deaths per live layer-step at width 2 (matrix path, one input per
 * network so replicas are independent) against exact arithmetic. */
static void width2_death_rate_is_exact(double a)
{
    enum { D = 2, DEPTH = 64, REPLICAS = 40000 };
    const double reference = 396051.0 / 6121071.0, reference_stderr = 1.0e-4;
    lyap_propagate_plan plan;
    if (lyap_propagate_plan_create(LYAP_FAMILY_RADEMACHER, D, a, 1, DEPTH, LYAP_METHOD_MATRIX, LYAP_PRECISION_DOUBLE,
                                   &plan) != LYAP_OK) {
        check(0, "rademacher d=%d plan: %s", D, lyap_error_message());
        return;
    }
    uint64_t key = lyap_rng_task_key(LYAP_FAMILY_RADEMACHER, D, a, 0);
    double deaths = 0, live = 0, sum_dd = 0, sum_dl = 0, sum_ll = 0; /* per-replica moments: delta method */
    for (int r = 0; r < REPLICAS; r++) {
        double died = 0, steps = 0, inc;
        lyap_propagate_start(plan, 17, key, r, 2.0);
        for (int layer = 1; layer <= DEPTH && !died; layer++) {
            if (lyap_propagate_layer(plan, &inc) != LYAP_OK)
                break;
            steps++;
            died = inc == -INFINITY;
        }
        deaths += died;
        live += steps;
        sum_dd += died * died;
        sum_dl += died * steps;
        sum_ll += steps * steps;
    }
    lyap_propagate_plan_destroy(&plan);
    double rate = deaths / live, n = REPLICAS, mean_l = live / n;
    /* Var(d - rate l) / (n mean_l^2), the ratio estimator's variance */
    double var = (sum_dd - 2 * rate * sum_dl + rate * rate * sum_ll) / (n - 1) / (n * mean_l * mean_l);
    char what[128];
    snprintf(what, sizeof what, "rademacher d=2 a=%g: deaths per live layer-step vs exact arithmetic (%g deaths)", a,
             deaths);
    check_near(what, rate, reference, 4 * sqrt(var + reference_stderr * reference_stderr));
}

/* A whole task at d = 3, deep enough for deaths at A = 0.1: the ReLU
 * convention with the measured death rate. */
static void task_with_deaths(double a)
{
    enum { ND = 3 };
    static const int depths[ND] = {100, 2000, 20000};
    lyap_task_result r;
    if (run(3, a, 2.0, 48, 4, depths, ND, &r))
        return;
    check(r.survival[ND - 1] < 1 && r.survival[ND - 1] > 0 && r.survival[0] >= r.survival[1] &&
              r.survival[1] >= r.survival[ND - 1],
          "rademacher d=3 a=%g: survival at %d, %d, %d layers: %g, %g, %g (deepest in (0, 1), non-increasing)",
          a, depths[0], depths[1], depths[2], r.survival[0], r.survival[1], r.survival[2]);
    double rate = *r.death_probability, samples = 48.0 * 4 * depths[ND - 1];
    check(rate > 0 && rate < 1e-3 && r.lambda[0] == -INFINITY && r.lambda_stderr[0] == 0 &&
              isnan(r.clt_variance[0]) && *r.variance_crit == INFINITY && r.phase[0] == -1,
          "rademacher d=3 a=%g: death_probability %g (measured, about %.0f deaths), so as at ReLU lambda %g +- %g, "
          "v %g, variance_crit %g, phase %g", a, rate, rate * samples * r.survival[ND - 1], r.lambda[0],
          r.lambda_stderr[0], r.clt_variance[0], *r.variance_crit, r.phase[0]);
    int finite = 1;
    for (int k = 0; k < ND; k++)
        finite &= isfinite(r.logn_mean[k]) && isfinite(r.logn_var[k]) && !isnan(r.p_vanish[k]) &&
                  !isnan(r.p_explode[k]);
    check(finite, "rademacher d=3 a=%g: finite-depth moments over the survivors: logn_mean(L) %g, logn_var(L) %g, "
          "p_vanish(L) %g", a, r.logn_mean[ND - 1], r.logn_var[ND - 1], r.p_vanish[ND - 1]);
    lyap_task_result_free(&r);
}

/* Lattice weights lose rank exactly, which QR cannot see: their spectrum
 * is left NaN (family.h, lattice), never rounding noise. */
static void spectrum_is_nan(void)
{
    enum { ND = 1 };
    static const int depths[ND] = {50};
    double s2 = 2.0;
    lyap_task_spec spec = {.eps = 1e-3, .family = LYAP_FAMILY_RADEMACHER, .width = 4, .slope = 0.5, .nvariances = 1,
                           .variances = &s2, .ndepths = ND, .depths = depths, .seed = 6, .replicas = 4, .batch = 2,
                           .method = LYAP_METHOD_AUTO, .spectrum = 4};
    lyap_task_result r;
    if (lyap_task_result_init(&r, (lyap_result_dims){.nvariances = 1, .ndepths = ND, .nspectrum = 4}) != LYAP_OK ||
        lyap_estimate_task(&spec, &r, NULL, NULL) != LYAP_OK) {
        check(0, "rademacher spectrum task: %s", lyap_error_message());
        return;
    }
    int nan = isnan(r.isometry_gap[0]);
    for (int i = 0; i < 4; i++)
        nan &= isnan(r.spectrum[i]) && isnan(r.spectrum_stderr[i]);
    check(nan, "rademacher d=4: spectrum NaN (%g %g %g %g), isometry gap NaN (%g)", r.spectrum[0], r.spectrum[1],
          r.spectrum[2], r.spectrum[3], r.isometry_gap[0]);
    lyap_task_result_free(&r);
}

int main(void)
{
    width1_law(0.3, 1.5);
    width1_law(0.05, 2.0);
    dead_columns_stay_dead(0.5);
    dead_columns_stay_dead(0.05);
    width2_death_rate_is_exact(0.05);
    width2_death_rate_is_exact(0.5);
    task_with_deaths(0.1);
    spectrum_is_nan();
    return check_status();
}
