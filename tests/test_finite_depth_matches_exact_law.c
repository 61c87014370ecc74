/* Finite depth (THEORY.md "Finite depth"): the Monte Carlo p_vanish and
 * p_explode of a task against the exact FFT law beside them
 * (p_*_theory), at several depths and variances, on both paths, with one
 * input per network (independent samples: the binomial error of the exact
 * p is then the right tolerance, 4 sqrt(p (1-p) / N)); ReLU death counted
 * as vanishing; the exact tails of the task equal a direct query of the law
 * at each variance (the homogeneity shift); and the matrix path's
 * autocorrelation time is 1/2 where the increments are i.i.d. Fixed seeds. */
#include <string.h>

#include "check.h"
#include "lyapdiag/deck.h"
#include "lyapdiag/depthlaw.h"
#include "lyapdiag/error.h"
#include "lyapdiag/estimate.h"
#include "lyapdiag/theory.h"

#define ND 3
#define NV 2

static int depths[ND] = {3, 10, 40};

static int run_task(lyap_task_result *r, lyap_family f, int d, double a, const double *variances, double eps,
                    lyap_method method, int replicas)
{
    lyap_task_spec spec = {.family = f, .width = d, .slope = a, .nvariances = NV, .variances = variances,
                           .ndepths = ND, .depths = depths, .seed = 99, .replicas = replicas, .batch = 1,
                           .method = method, .eps = eps};
    if (lyap_task_result_init(r, (lyap_result_dims){.nvariances = NV, .ndepths = ND, .nspectrum = 0}) != LYAP_OK ||
        lyap_estimate_task(&spec, r, NULL, NULL) != LYAP_OK) {
        check(0, "%s d=%d a=%g: %s", lyap_family_name(f), d, a, lyap_error_message());
        return 0;
    }
    return 1;
}

/* MC against the exact law at every (variance, depth), and the task's
 * exact tails against a direct query of the law at that variance. */
static void check_task(lyap_family f, int d, double a, double eps, lyap_method method, int replicas)
{
    double variances[NV];
    lyap_theory_exact(f, d, a, 1.0, NULL, NULL, &variances[1]); /* Lyapunov scale */
    variances[0] = lyap_theory_standard_variance(f, a);
    if (!isfinite(variances[1]))
        variances[1] = 1.0;
    lyap_task_result r;
    if (!run_task(&r, f, d, a, variances, eps, method, replicas))
        return;
    for (int i = 0; i < NV; i++) {
        lyap_depthlaw *law;
        if (lyap_depthlaw_create(f, d, a, variances[i], depths[ND - 1], &law) != LYAP_OK) {
            check(0, "depthlaw: %s", lyap_error_message());
            continue;
        }
        for (int k = 0; k < ND; k++) {
            size_t at = (size_t)i * ND + k;
            double direct_vanish, direct_explode;
            lyap_depthlaw_tails(law, depths[k], log(eps), &direct_vanish, &direct_explode);
            char what[200];
            snprintf(what, sizeof what, "%s d=%d a=%g s2=%.4g L=%d eps=%g %s: p_vanish theory vs direct law",
                     lyap_family_name(f), d, a, variances[i], depths[k], eps, lyap_method_name(method));
            check_near(what, r.p_vanish_theory[at], direct_vanish, 1e-9);
            const double *mc[2] = {r.p_vanish, r.p_explode}, *th[2] = {r.p_vanish_theory, r.p_explode_theory};
            const char *name[2] = {"p_vanish", "p_explode"};
            for (int m = 0; m < 2; m++) {
                double p = th[m][at], tol = 4 * sqrt(p * (1 - p) / replicas) + 1e-12;
                snprintf(what, sizeof what, "%s d=%d a=%g s2=%.4g L=%d eps=%g %s: %s mc vs exact (4 binomial sd)",
                         lyap_family_name(f), d, a, variances[i], depths[k], eps, lyap_method_name(method),
                         name[m]);
                check_near(what, mc[m][at], p, tol);
            }
        }
        lyap_depthlaw_destroy(&law);
    }
    if (method == LYAP_METHOD_MATRIX && a > 0) /* rotation invariant: i.i.d. increments */
        check_near("matrix path: autocorrelation time of i.i.d. increments (4 stderr)", *r.autocorr_time, 0.5,
                   4 * *r.autocorr_time_stderr);
    lyap_task_result_free(&r);
}

int main(void)
{
    check_task(LYAP_FAMILY_GAUSSIAN, 4, 0.1, 0.1, LYAP_METHOD_EXACT, 4000);
    check_task(LYAP_FAMILY_GAUSSIAN, 4, 0.1, 0.1, LYAP_METHOD_MATRIX, 1000);
    check_task(LYAP_FAMILY_ORTHOGONAL, 16, 0.1, 0.3, LYAP_METHOD_EXACT, 4000);
    check_task(LYAP_FAMILY_ORTHOGONAL, 8, 0.5, 0.3, LYAP_METHOD_MATRIX, 1000);
    check_task(LYAP_FAMILY_GAUSSIAN, 2, 0.0, 0.1, LYAP_METHOD_EXACT, 4000); /* ReLU: death is vanishing */
    check_task(LYAP_FAMILY_GAUSSIAN, 16, 0.2, 1e-3, LYAP_METHOD_EXACT, 4000);
    return check_status();
}
