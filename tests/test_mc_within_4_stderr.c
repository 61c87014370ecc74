/* Monte Carlo against THEORY.md's exact values for the rotation-invariant
 * families, on both paths (exact law and weight matrices): |lambda_mc -
 * lambda| < 4 stderr and |v_mc - v| < 4 stderr(v) (the batch-means
 * estimator is unbiased for i.i.d. increments); the finite-depth moments
 * agree with L lambda and L v; and the two paths agree with each other
 * within 4 combined stderr. Fixed seed. */
#include <stdlib.h>

#include "check.h"
#include "lyapdiag/error.h"
#include "lyapdiag/estimate.h"
#include "lyapdiag/theory.h"

/* Runs (F, D, A) at He scale by METHOD into R; returns lambda. */
static void check_task(lyap_family f, int d, double a, lyap_method method, lyap_task_result *out)
{
    double s2 = lyap_theory_standard_variance(f, a);
    enum { R = 64, ND = 4 };
    int depths[ND] = {1, 7, 20, 400};
    lyap_task_spec spec = {.eps = 1e-3, .family = f, .width = d, .slope = a, .nvariances = 1, .variances = &s2,
                           .ndepths = ND, .depths = depths, .seed = 2024, .replicas = R, .batch = 4,
                           .method = method};
    lyap_task_result r;
    char what[160];
    if (lyap_task_result_init(&r, (lyap_result_dims){.nvariances = 1, .ndepths = ND, .nspectrum = 0}) != LYAP_OK || lyap_estimate_task(&spec, &r, NULL, NULL) != LYAP_OK) {
        check(0, "%s d=%d a=%g: %s", lyap_family_name(f), d, a, lyap_error_message());
        return;
    }
    char name[64];
    snprintf(name, sizeof name, "%s/%s", lyap_family_name(f), lyap_method_name(method));
    snprintf(what, sizeof what, "%s d=%d a=%g: lambda (4 stderr = %.2g)", name, d, a, 4 * r.lambda_stderr[0]);
    /* 1e-12: rounding floor of the renormalized sums (orthogonal a = 1 has
     * v = 0, so its stderr is itself rounding, ~1e-18) */
    check_near(what, r.lambda[0], r.lambda_theory[0], 4 * r.lambda_stderr[0] + 1e-12);
    snprintf(what, sizeof what, "%s d=%d a=%g: clt variance (4 stderr)", name, d, a);
    check_near(what, r.clt_variance[0], r.clt_variance_theory[0], 4 * r.clt_variance_stderr[0] + 1e-12);
    snprintf(what, sizeof what, "%s d=%d a=%g: logn_mean(L)/L = lambda", name, d, a);
    check_near(what, r.logn_mean[ND - 1] / depths[ND - 1], r.lambda[0], 1e-12);
    /* Every recorded depth: S_L is a sum of L i.i.d. increments, so E S_L =
     * L lambda (stderr <= sqrt(Var S_L / R): replica means are independent
     * and each is at most as variable as one sample) and Var S_L = L v
     * (normal theory, relative sd sqrt(2/(R-1)), once S_L is near normal). */
    double v = r.clt_variance_theory[0];
    for (int k = 0; k < ND; k++) {
        double L = depths[k];
        snprintf(what, sizeof what, "%s d=%d a=%g: logn_mean(%d) = L lambda", name, d, a, depths[k]);
        check_near(what, r.logn_mean[k], L * r.lambda_theory[0], 4 * sqrt(r.logn_var[k] / R) + 1e-12);
        if (depths[k] < 20)
            continue;
        snprintf(what, sizeof what, "%s d=%d a=%g: logn_var(%d) = L v", name, d, a, depths[k]);
        check_near(what, r.logn_var[k], L * v, 4 * L * v * sqrt(2.0 / (R - 1)) + 1e-9);
    }
    check(r.survival[ND - 1] == 1 && *r.death_probability == 0, "%s d=%d a=%g: no deaths at slope > 0", name, d, a);
    *out = r;
}

static void check_both_paths(lyap_family f, int d, double a)
{
    lyap_task_result exact = {0}, matrix = {0};
    check_task(f, d, a, LYAP_METHOD_EXACT, &exact);
    check_task(f, d, a, LYAP_METHOD_MATRIX, &matrix);
    if (exact.buf && matrix.buf) {
        char what[128];
        snprintf(what, sizeof what, "%s d=%d a=%g: lambda exact path vs matrix path", lyap_family_name(f), d, a);
        check_near(what, exact.lambda[0], matrix.lambda[0],
                   4 * hypot(exact.lambda_stderr[0], matrix.lambda_stderr[0]) + 1e-12);
        snprintf(what, sizeof what, "%s d=%d a=%g: v exact path vs matrix path", lyap_family_name(f), d, a);
        check_near(what, exact.clt_variance[0], matrix.clt_variance[0],
                   4 * hypot(exact.clt_variance_stderr[0], matrix.clt_variance_stderr[0]) + 1e-12);
    }
    lyap_task_result_free(&exact);
    lyap_task_result_free(&matrix);
}

int main(void)
{
    const struct {
        int d;
        double a;
    } points[] = {{1, 0.3}, {2, 0.1}, {4, 0.5}, {5, 1.0}, {16, 0.1}, {32, 0.01}, {64, 0.9}};
    for (size_t i = 0; i < sizeof points / sizeof *points; i++) {
        check_both_paths(LYAP_FAMILY_GAUSSIAN, points[i].d, points[i].a);
        check_both_paths(LYAP_FAMILY_ORTHOGONAL, points[i].d, points[i].a);
    }
    return check_status();
}
