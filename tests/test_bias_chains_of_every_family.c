/* Tasks with biases on every path (estimate.c's signal chains): the
 * gaussian exact chain is tested in test_signal_with_biases_matches_theory;
 * here the matrix path (gaussian with method = matrix, uniform,
 * rademacher, orthogonal with method = matrix) and the O(d) orthogonal
 * chain, at d = 4, a = 0.1, s2 = He/2 (tail index > 2: a sample mean has
 * a trustworthy stderr), sb2 = 0.05, depths 5 and 20:
 *   - signal_mean is the mean-field iterate within 4 stderr for each (E m_L
 *     is exactly the iterate at every width for weights with symmetric
 *     i.i.d. entries or Haar rotations, THEORY.md "Biases");
 *   - the gaussian matrix path's Monte Carlo quantiles lie where the exact
 *     law (biaslaw) puts 5, 50, 95% below them, within 4 binomial stderr;
 *   - orthogonal weights by the O(d) chain and by the matrix path (Haar
 *     matrices, QR) give medians within 4 combined stderr of each other. */
#include <math.h>

#include "check.h"
#include "lyapdiag/biaslaw.h"
#include "lyapdiag/biastheory.h"
#include "lyapdiag/error.h"
#include "lyapdiag/estimate.h"
#include "lyapdiag/result.h"

enum { ND = 2, REPLICAS = 3000 };
static const int depths[ND] = {5, 20};
static const double a = 0.1, sb2 = 0.05;

static int run(lyap_family f, lyap_method method, lyap_task_result *r)
{
    static double variance, bias;
    variance = 1 / (1 + a * a), bias = sb2; /* He / 2 */
    lyap_task_spec spec = {.family = f, .width = 4, .slope = a, .nvariances = 1, .variances = &variance,
                           .ndepths = ND, .depths = depths, .seed = 17, .replicas = REPLICAS, .batch = 1,
                           .method = method, .eps = 1e-3, .nbias_variances = 1, .bias_variances = &bias,
                           .input_m0 = 1.0};
    if (lyap_task_result_init(r, (lyap_result_dims){.nvariances = 1, .ndepths = ND, .nbias = 1}) != LYAP_OK ||
        lyap_estimate_task(&spec, r, NULL, NULL) != LYAP_OK) {
        check(0, "%s (%s) runs with biases: %s", lyap_family_name(f), lyap_method_name(method), lyap_error_message());
        return 0;
    }
    return 1;
}

int main(void)
{
    const double he2 = 1 / (1 + a * a);
    struct {
        lyap_family family;
        lyap_method method;
    } paths[] = {{LYAP_FAMILY_GAUSSIAN, LYAP_METHOD_MATRIX},   {LYAP_FAMILY_UNIFORM, LYAP_METHOD_AUTO},
                 {LYAP_FAMILY_RADEMACHER, LYAP_METHOD_AUTO},   {LYAP_FAMILY_ORTHOGONAL, LYAP_METHOD_AUTO},
                 {LYAP_FAMILY_ORTHOGONAL, LYAP_METHOD_MATRIX}};
    lyap_task_result r[5];
    int ran[5];
    for (int p = 0; p < 5; p++) {
        ran[p] = run(paths[p].family, paths[p].method, &r[p]);
        for (int k = 0; ran[p] && k < ND; k++) {
            double mf = lyap_biastheory_meanfield_signal(a, he2, sb2, 1.0, depths[k]);
            check(fabs(r[p].signal_mean[k] - mf) <= 4 * r[p].signal_mean_stderr[k],
                  "%s (%s), L = %d: signal_mean %.5f vs mean field %.5f (4 stderr %.5f)",
                  lyap_family_name(paths[p].family), lyap_method_name(paths[p].method), depths[k],
                  r[p].signal_mean[k], mf, 4 * r[p].signal_mean_stderr[k]);
        }
    }
    lyap_biaslaw *law = NULL;
    int ok = ran[0] && lyap_biaslaw_create(4, a, he2, sb2, 1.0, depths, ND, &law) == LYAP_OK;
    for (int k = 0; ok && k < ND; k++) {
        const double levels[3] = {0.05, 0.5, 0.95}, mc[3] = {r[0].signal_q05[k], r[0].signal_median[k],
                                                             r[0].signal_q95[k]};
        for (int q = 0; q < 3; q++) {
            double below = NAN, se = sqrt(levels[q] * (1 - levels[q]) / REPLICAS);
            lyap_biaslaw_cdf(law, depths[k], log(mc[q]), &below);
            check(fabs(below - levels[q]) <= 4 * se, "gaussian matrix path, L = %d: Monte Carlo %g quantile %.5g has "
                  "exact CDF %.4f (4 stderr %.4f)", depths[k], levels[q], mc[q], below, 4 * se);
        }
    }
    lyap_biaslaw_destroy(&law);
    for (int k = 0; ran[3] && ran[4] && k < ND; k++) {
        double se = hypot(r[3].signal_median_stderr[k], r[4].signal_median_stderr[k]);
        check(fabs(r[3].signal_median[k] - r[4].signal_median[k]) <= 4 * se,
              "orthogonal, L = %d: median by the O(d) chain %.5f, by Haar matrices %.5f (4 stderr %.5f)", depths[k],
              r[3].signal_median[k], r[4].signal_median[k], 4 * se);
    }
    for (int p = 0; p < 5; p++)
        if (ran[p])
            lyap_task_result_free(&r[p]);
    return check_status();
}
