/* precision = single (float weights and SGEMM, log-norms in double) leaves
 * no bias the Monte Carlo can see: on the matrix path, gaussian single and
 * double agree within 4 combined stderr, and single agrees with THEORY.md
 * within 4 stderr, for lambda and the CLT variance; uniform single and
 * double (no closed form) draw from the same Philox words, so their paired
 * difference must be below a hundredth of the stderr for lambda and v. Also: the deck refuses single for a family whose matrix path has no
 * single-precision version. */
#include <string.h>

#include "check.h"
#include "lyapdiag/deck.h"
#include "lyapdiag/error.h"
#include "lyapdiag/estimate.h"
#include "lyapdiag/theory.h"

static int run(lyap_family f, int d, double a, lyap_precision precision, lyap_task_result *r)
{
    static double s2;
    static const int depths[] = {500};
    s2 = lyap_theory_standard_variance(f, a);
    lyap_task_spec spec = {.eps = 1e-3, .family = f, .width = d, .slope = a, .nvariances = 1, .variances = &s2,
                           .ndepths = 1, .depths = depths, .seed = 31, .replicas = 96, .batch = 1,
                           .method = LYAP_METHOD_MATRIX, .precision = precision};
    if (lyap_task_result_init(r, (lyap_result_dims){.nvariances = 1, .ndepths = 1, .nspectrum = 0}) != LYAP_OK || lyap_estimate_task(&spec, r, NULL, NULL) != LYAP_OK) {
        check(0, "d=%d a=%g: %s", d, a, lyap_error_message());
        return -1;
    }
    return 0;
}

int main(void)
{
    const struct {
        int d;
        double a;
    } points[] = {{4, 0.1}, {16, 0.5}, {64, 0.1}};
    for (size_t i = 0; i < sizeof points / sizeof *points; i++) {
        int d = points[i].d;
        double a = points[i].a;
        lyap_task_result single, twice;
        if (run(LYAP_FAMILY_GAUSSIAN, d, a, LYAP_PRECISION_SINGLE, &single) ||
            run(LYAP_FAMILY_GAUSSIAN, d, a, LYAP_PRECISION_DOUBLE, &twice))
            continue;
        char what[96];
        snprintf(what, sizeof what, "d=%d a=%g: lambda single vs double", d, a);
        check_near(what, single.lambda[0], twice.lambda[0], 4 * hypot(single.lambda_stderr[0], twice.lambda_stderr[0]));
        snprintf(what, sizeof what, "d=%d a=%g: lambda single vs theory", d, a);
        check_near(what, single.lambda[0], single.lambda_theory[0], 4 * single.lambda_stderr[0]);
        snprintf(what, sizeof what, "d=%d a=%g: v single vs theory", d, a);
        check_near(what, single.clt_variance[0], single.clt_variance_theory[0], 4 * single.clt_variance_stderr[0]);
        lyap_task_result_free(&single);
        lyap_task_result_free(&twice);
    }
    /* Uniform weights: the float weights are the doubles' words cut to 24
     * bits (each within 2^-24 of its double), so the two runs are paired
     * network by network and their difference is the float rounding's
     * whole effect: it must be far below the Monte Carlo error. */
    for (size_t i = 0; i < sizeof points / sizeof *points; i++) {
        int d = points[i].d;
        double a = points[i].a;
        lyap_task_result single, twice;
        if (run(LYAP_FAMILY_UNIFORM, d, a, LYAP_PRECISION_SINGLE, &single) ||
            run(LYAP_FAMILY_UNIFORM, d, a, LYAP_PRECISION_DOUBLE, &twice))
            continue;
        char what[96];
        snprintf(what, sizeof what, "uniform d=%d a=%g: lambda single vs double", d, a);
        check_near(what, single.lambda[0], twice.lambda[0], 0.01 * twice.lambda_stderr[0]);
        snprintf(what, sizeof what, "uniform d=%d a=%g: v single vs double", d, a);
        check_near(what, single.clt_variance[0], twice.clt_variance[0], 0.01 * twice.clt_variance_stderr[0]);
        lyap_task_result_free(&single);
        lyap_task_result_free(&twice);
    }
    lyap_deck deck;
    int status = lyap_deck_parse("[grid]\nfamilies = gaussian, rademacher\nwidths = 4\nslopes = 0.1\nvariances = 1\n"
                                 "depths = 100\n[sampling]\nprecision = single\n", "single.ini", &deck);
    check(status == LYAP_EDECK && strstr(lyap_error_message(), "family rademacher runs in double only"),
          "single with the rademacher family refused: '%s'", lyap_error_message());
    return check_status();
}
