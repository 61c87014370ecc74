/* THEORY.md, "The sharp boundary": scaling the weights by c shifts every
 * log-norm by L log c, so lambda(s2) = lambda(1) + 0.5 log s2 and v does
 * not depend on s2, for EVERY family. Simulating each variance with its
 * own streams (verify_homogeneity) must agree with the shifted unit-scale
 * run within sqrt(se1^2 + se2^2) x 4; the uniform and rademacher
 * families, which have no closed form, are checked here too (gaussian and
 * orthogonal run the exact path, uniform and rademacher the matrix path). Also the ReLU convention at slope 0 and
 * the death rate of both paths. */
#include <stdlib.h>

#include "check.h"
#include "lyapdiag/error.h"
#include "lyapdiag/estimate.h"
#include "lyapdiag/theory.h"

static int run(lyap_family f, int d, double a, int verify, const double *s2, int nv, lyap_task_result *r)
{
    static const int depths[] = {300};
    lyap_task_spec spec = {.eps = 1e-3, .family = f, .width = d, .slope = a, .nvariances = nv, .variances = s2,
                           .ndepths = 1, .depths = depths, .seed = 99, .replicas = 48, .batch = 2,
                           .verify_homogeneity = verify};
    if (lyap_task_result_init(r, (lyap_result_dims){.nvariances = nv, .ndepths = 1, .nspectrum = 0}) != LYAP_OK || lyap_estimate_task(&spec, r, NULL, NULL) != LYAP_OK) {
        check(0, "%s d=%d: %s", lyap_family_name(f), d, lyap_error_message());
        return -1;
    }
    return 0;
}

static void check_family(lyap_family f, int d, double a)
{
    const double s2[] = {0.5, 2.0, 5.0};
    lyap_task_result shift, direct;
    if (run(f, d, a, 0, s2, 3, &shift) || run(f, d, a, 1, s2, 3, &direct))
        return;
    for (int i = 0; i < 3; i++) {
        char what[128];
        double tol = 4 * hypot(shift.lambda_stderr[i], direct.lambda_stderr[i]);
        snprintf(what, sizeof what, "%s d=%d a=%g s2=%g: simulated lambda vs shift", lyap_family_name(f), d, a, s2[i]);
        check_near(what, direct.lambda[i], shift.lambda[i], tol);
        snprintf(what, sizeof what, "%s d=%d a=%g s2=%g: simulated v vs shift", lyap_family_name(f), d, a, s2[i]);
        check_near(what, direct.clt_variance[i], shift.clt_variance[i],
                   4 * hypot(shift.clt_variance_stderr[i], direct.clt_variance_stderr[i]));
    }
    char what[128];
    snprintf(what, sizeof what, "%s d=%d a=%g: variance_crit, verify vs shift", lyap_family_name(f), d, a);
    check_near(what, *direct.variance_crit, *shift.variance_crit,
               4 * hypot(*direct.variance_crit_stderr, *shift.variance_crit_stderr));
    lyap_task_result_free(&shift);
    lyap_task_result_free(&direct);
}

/* Slope 0: lambda = -inf, phase vanishing, no finite boundary; survival of
 * one input after L layers is (1 - 2^-d)^L (binomial stderr, batch 1 so
 * samples are independent). */
static void check_relu(int d, lyap_method method)
{
    double s2 = 2.0;
    int depths[] = {12};
    lyap_task_spec spec = {.eps = 1e-3, .family = LYAP_FAMILY_GAUSSIAN, .width = d, .slope = 0, .nvariances = 1,
                           .variances = &s2, .ndepths = 1, .depths = depths, .seed = 5, .replicas = 2000,
                           .batch = 1, .method = method};
    lyap_task_result r;
    if (lyap_task_result_init(&r, (lyap_result_dims){.nvariances = 1, .ndepths = 1, .nspectrum = 0}) != LYAP_OK || lyap_estimate_task(&spec, &r, NULL, NULL) != LYAP_OK) {
        check(0, "relu d=%d: %s", d, lyap_error_message());
        return;
    }
    double p = pow(1 - ldexp(1, -d), depths[0]);
    check(r.lambda[0] == -INFINITY && r.lambda_theory[0] == -INFINITY && r.phase[0] == -1,
          "relu d=%d: lambda = %g, theory %g, phase %g", d, r.lambda[0], r.lambda_theory[0], r.phase[0]);
    check(*r.variance_crit == INFINITY && *r.variance_crit_theory == INFINITY &&
              *r.death_probability == ldexp(1, -d),
          "relu d=%d: variance_crit %g, theory %g, death probability %g", d, *r.variance_crit,
          *r.variance_crit_theory, *r.death_probability);
    char what[64];
    snprintf(what, sizeof what, "relu d=%d %s: survival after %d layers", d, lyap_method_name(method), depths[0]);
    check_near(what, r.survival[0], p, 4 * sqrt(p * (1 - p) / spec.replicas));
    lyap_task_result_free(&r);
}

int main(void)
{
    check_family(LYAP_FAMILY_GAUSSIAN, 4, 0.2);
    check_family(LYAP_FAMILY_ORTHOGONAL, 8, 0.5);
    check_family(LYAP_FAMILY_UNIFORM, 3, 0.1);
    check_family(LYAP_FAMILY_UNIFORM, 16, 0.7);
    check_family(LYAP_FAMILY_RADEMACHER, 8, 0.3); /* no density, rows may cancel: still homogeneous */
    check_relu(2, LYAP_METHOD_EXACT);
    check_relu(2, LYAP_METHOD_MATRIX);
    check_relu(4, LYAP_METHOD_EXACT);
    check_relu(4, LYAP_METHOD_MATRIX);
    return check_status();
}
