/* Two inputs through one network (input_cosine; estimate.c's pair
 * sections, THEORY.md "Two inputs"):
 *   - gaussian weights: the exact (q_x, q_y, x.y) chain and the matrix path
 *     (pairs of columns through explicit weights and biases) give mean
 *     cosines within 4 combined stderr at every depth, and spreads (corr_std)
 *     within 15% at depths 1 and 5 (d = 4, a = 0.1, s2 = He, sb2 = 0.05,
 *     c0 = 0.5);
 *   - uniform weights at d = 256 follow the mean-field cosine within
 *     4 stderr + 4/d (mean field is the d -> inf limit);
 *   - equal inputs (c0 = 1) through orthogonal weights without biases stay
 *     at cosine 1 with no spread;
 *   - corr_meanfield is lyap_biastheory_meanfield_cosine's, bit for bit. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "lyapdiag/biastheory.h"
#include "lyapdiag/error.h"
#include "lyapdiag/estimate.h"
#include "lyapdiag/result.h"

enum { ND = 3 };
static const int depths[ND] = {1, 5, 20};

static int run(lyap_family f, lyap_method method, int width, double sb2, double c0, int replicas, lyap_task_result *r)
{
    static double variance, bias;
    variance = 2 / 1.01, bias = sb2;
    lyap_task_spec spec = {.family = f, .width = width, .slope = 0.1, .nvariances = 1, .variances = &variance,
                           .ndepths = ND, .depths = depths, .seed = 21, .replicas = replicas, .batch = 1,
                           .method = method, .eps = 1e-3, .nbias_variances = sb2 > 0, .bias_variances = &bias,
                           .input_m0 = 1.0, .input_cosine_on = 1, .input_cosine = c0};
    lyap_result_dims dims = {.nvariances = 1, .ndepths = ND, .nbias = sb2 > 0, .npairs = 1};
    if (lyap_task_result_init(r, dims) != LYAP_OK || lyap_estimate_task(&spec, r, NULL, NULL) != LYAP_OK) {
        check(0, "%s (%s) with pairs runs: %s", lyap_family_name(f), lyap_method_name(method), lyap_error_message());
        return 0;
    }
    return 1;
}

int main(void)
{
    enum { N = 4000 };
    lyap_task_result chain, matrix, wide, equal;
    double mf[21];
    int ok = run(LYAP_FAMILY_GAUSSIAN, LYAP_METHOD_AUTO, 4, 0.05, 0.5, N, &chain) &&
             run(LYAP_FAMILY_GAUSSIAN, LYAP_METHOD_MATRIX, 4, 0.05, 0.5, N, &matrix);
    ok = ok && lyap_biastheory_meanfield_cosine(0.1, 2 / 1.01, 0.05, 1, 1, 0.5, 20, mf) == LYAP_OK;
    for (int k = 0; ok && k < ND; k++) {
        double se = hypot(chain.corr_std[k], matrix.corr_std[k]) / sqrt(N);
        check(fabs(chain.corr_mean[k] - matrix.corr_mean[k]) <= 4 * se,
              "gaussian d = 4, L = %d: mean cosine by the exact chain %.4f, by the matrix path %.4f (4 stderr %.4f)",
              depths[k], chain.corr_mean[k], matrix.corr_mean[k], 4 * se);
        if (depths[k] <= 5) /* deeper, the cosines crowd at 1 with rare outliers: a sample sd is too noisy */
            check(fabs(chain.corr_std[k] / matrix.corr_std[k] - 1) < 0.15, "  their spreads: %.4f and %.4f",
                  chain.corr_std[k], matrix.corr_std[k]);
        check(chain.corr_meanfield[k] == mf[depths[k]], "  corr_meanfield %.6f is the mean-field map's",
              chain.corr_meanfield[k]);
    }
    if (run(LYAP_FAMILY_UNIFORM, LYAP_METHOD_AUTO, 256, 0.05, 0.5, 64, &wide)) {
        for (int k = 0; k < ND; k++) {
            double tol = 4 * wide.corr_std[k] / sqrt(64) + 4.0 / 256;
            check(fabs(wide.corr_mean[k] - mf[depths[k]]) <= tol,
                  "uniform d = 256, L = %d: mean cosine %.4f vs mean field %.4f (tolerance %.4f)", depths[k],
                  wide.corr_mean[k], mf[depths[k]], tol);
        }
        lyap_task_result_free(&wide);
    }
    if (run(LYAP_FAMILY_ORTHOGONAL, LYAP_METHOD_AUTO, 8, 0, 1, 50, &equal)) {
        double worst = 0;
        for (int k = 0; k < ND; k++)
            worst = fmax(worst, fmax(fabs(equal.corr_mean[k] - 1), equal.corr_std[k]));
        check(worst < 1e-12, "equal inputs through orthogonal weights: cosine 1, no spread (worst %.2g)", worst);
        lyap_task_result_free(&equal);
    }
    if (ok) {
        lyap_task_result_free(&chain);
        lyap_task_result_free(&matrix);
    }
    return check_status();
}
