/* Adaptive precision ([sampling] target_stderr > 0): a task runs replicas
 * in rounds of LYAP_ADAPTIVE_ROUND and stops at the first round where
 * lambda's stderr is at most the target, so every task reaches the same
 * precision; with an unreachable target it runs the cap. The estimate it
 * stops at is still within 4 stderr of THEORY.md (both paths). */
#include "check.h"
#include "lyapdiag/error.h"
#include "lyapdiag/estimate.h"
#include "lyapdiag/theory.h"

static void run(lyap_family f, int d, lyap_method method, double target, int cap)
{
    double s2 = lyap_theory_standard_variance(f, 0.2);
    int depths[] = {200};
    lyap_task_spec spec = {.eps = 1e-3, .family = f, .width = d, .slope = 0.2, .nvariances = 1, .variances = &s2, .ndepths = 1,
                           .depths = depths, .seed = 77, .replicas = cap, .target_stderr = target, .batch = 2,
                           .method = method};
    lyap_task_result r;
    if (lyap_task_result_init(&r, (lyap_result_dims){.nvariances = 1, .ndepths = 1, .nspectrum = 0}) != LYAP_OK || lyap_estimate_task(&spec, &r, NULL, NULL) != LYAP_OK) {
        check(0, "%s: %s", lyap_family_name(f), lyap_error_message());
        return;
    }
    int used = (int)*r.replicas_used;
    const char *name = lyap_family_name(f), *how = lyap_method_name(method);
    if (used < cap) {
        check(r.lambda_stderr[0] <= target && used % LYAP_ADAPTIVE_ROUND == 0,
              "%s/%s d=%d target %g: stopped after %d replicas (a whole round) at stderr %.3g <= target", name, how,
              d, target, used, r.lambda_stderr[0]);
    } else {
        check(used == cap, "%s/%s d=%d target %g: ran the cap of %d replicas (stderr %.3g)", name, how, d, target,
              cap, r.lambda_stderr[0]);
    }
    char what[128];
    snprintf(what, sizeof what, "%s/%s d=%d target %g: lambda vs theory (4 stderr)", name, how, d, target);
    check_near(what, r.lambda[0], r.lambda_theory[0], 4 * r.lambda_stderr[0]);
    lyap_task_result_free(&r);
}

int main(void)
{
    run(LYAP_FAMILY_GAUSSIAN, 8, LYAP_METHOD_EXACT, 0.01, 100000);
    run(LYAP_FAMILY_GAUSSIAN, 8, LYAP_METHOD_EXACT, 0.002, 100000);
    run(LYAP_FAMILY_ORTHOGONAL, 4, LYAP_METHOD_MATRIX, 0.01, 100000);
    run(LYAP_FAMILY_GAUSSIAN, 8, LYAP_METHOD_EXACT, 1e-9, 48); /* unreachable: the cap */
    return check_status();
}
