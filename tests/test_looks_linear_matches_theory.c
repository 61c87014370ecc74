/* Looks-linear weights W = [[A, -A], [-A, A]] (THEORY.md "Looks-linear:
 * exact for every slope"), Monte Carlo on the matrix path against the exact
 * values: lambda within 4 stderr (from layer 2 on: the first layer is a
 * transient), v within 4 stderr, for gaussian and orthogonal A, at slopes
 * from ReLU (a = 0: no death, the signal lives in u - v) to 1; the theory
 * at THEORY.md's checked point (h = 3, a = 0.1, s2 = 1.5: 0.11356) and its
 * closed forms; odd widths refused. Fixed seed. */
#include <string.h>

#include "check.h"
#include "lyapdiag/deck.h"
#include "lyapdiag/error.h"
#include "lyapdiag/estimate.h"
#include "lyapdiag/theory.h"

static void check_mc(lyap_family f, int d, double a)
{
    double s2 = 1.5;
    int depths[] = {1, 1000};
    lyap_task_spec spec = {.eps = 1e-3, .family = f, .width = d, .slope = a, .nvariances = 1, .variances = &s2, .ndepths = 2,
                           .depths = depths, .seed = 12, .replicas = 64, .batch = 2};
    lyap_task_result r;
    if (lyap_task_result_init(&r, (lyap_result_dims){.nvariances = 1, .ndepths = 2, .nspectrum = 0}) != LYAP_OK || lyap_estimate_task(&spec, &r, NULL, NULL) != LYAP_OK) {
        check(0, "%s d=%d a=%g: %s", lyap_family_name(f), d, a, lyap_error_message());
        return;
    }
    char what[128];
    snprintf(what, sizeof what, "%s d=%d a=%g: lambda (4 stderr)", lyap_family_name(f), d, a);
    check_near(what, r.lambda[0], r.lambda_theory[0], 4 * r.lambda_stderr[0] + 1e-12);
    snprintf(what, sizeof what, "%s d=%d a=%g: clt variance (4 stderr)", lyap_family_name(f), d, a);
    check_near(what, r.clt_variance[0], r.clt_variance_theory[0], 4 * r.clt_variance_stderr[0] + 1e-12);
    if (lyap_family_info_of(f)->entries == LYAP_ENTRIES_HAAR) /* constant increments up to rounding */
        check(r.clt_variance[0] == 0 && *r.autocorr_time == 0.5, "%s d=%d a=%g: v = 0 (%g) and tau_int = 1/2 (%g): "
              "rounding noise is not measured as correlation", lyap_family_name(f), d, a, r.clt_variance[0],
              *r.autocorr_time);
    check(*r.death_probability == 0 && r.survival[1] == 1 && isfinite(r.lambda[0]),
          "%s d=%d a=%g: no death (probability %g, survival %g), finite lambda", lyap_family_name(f), d, a,
          *r.death_probability, r.survival[1]);
    lyap_task_result_free(&r);
}

int main(void)
{
    /* THEORY.md's simulated check point, and the closed forms */
    double lambda, v, crit;
    lyap_theory_exact(LYAP_FAMILY_LOOKS_LINEAR, 6, 0.1, 1.5, &lambda, &v, &crit);
    check_near("looks-linear h=3 a=0.1 s2=1.5: lambda (THEORY.md 0.11356)", lambda, 0.11356, 5e-6);
    lyap_theory_exact(LYAP_FAMILY_LOOKS_LINEAR_ORTHOGONAL, 8, 0.3, 2.0, &lambda, &v, &crit);
    check_near("looks-linear-orthogonal: lambda = log((1+a) eta)", lambda, log(1.3 * sqrt(2.0)), 1e-15);
    check(v == 0 && fabs(crit - 1 / (1.3 * 1.3)) < 1e-15, "looks-linear-orthogonal: v = 0 (%g), eta_crit^2 = "
          "1/(1+a)^2 (%.17g)", v, crit);
    lyap_theory_exact(LYAP_FAMILY_LOOKS_LINEAR, 10, 0.0, 2.0, &lambda, &v, &crit);
    check(isfinite(lambda) && lyap_theory_death_probability(LYAP_FAMILY_LOOKS_LINEAR, 10, 0) == 0,
          "looks-linear at a = 0: finite lambda %g, no death", lambda);
    check(lyap_theory_exact(LYAP_FAMILY_LOOKS_LINEAR, 5, 0.1, 1.0, &lambda, &v, &crit) == LYAP_EDECK,
          "theory refuses an odd width");

    const double slopes[] = {0.0, 0.1, 0.5, 1.0};
    const int widths[] = {6, 16};
    for (size_t i = 0; i < sizeof widths / sizeof *widths; i++)
        for (size_t j = 0; j < sizeof slopes / sizeof *slopes; j++) {
            check_mc(LYAP_FAMILY_LOOKS_LINEAR, widths[i], slopes[j]);
            check_mc(LYAP_FAMILY_LOOKS_LINEAR_ORTHOGONAL, widths[i], slopes[j]);
        }

    lyap_deck deck;
    int status = lyap_deck_parse("[grid]\nfamilies = looks-linear\nwidths = 4, 5\nslopes = 0.1\nvariances = 1\n"
                                 "depths = 100\n", "ll.ini", &deck);
    check(status == LYAP_EDECK && strstr(lyap_error_message(), "need even widths; 5 is odd"),
          "deck refuses an odd width: '%s'", lyap_error_message());
    return check_status();
}
