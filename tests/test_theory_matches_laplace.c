/* test_theory_matches_laplace: the binomial-Beta mixture for m_h agrees with
 * the independent Laplace-integral route (THEORY.md, "Independent second
 * route"): for gaussian weights
 *     psi(d/2) + log 2 + m_h = E log sum_i phi(g_i)^2
 *                            = int_0^inf (e^-t - M(t)^d)/t dt
 * to 1e-9 relative (1e-10 absolute where the value is near 0), for widths
 * 1..4096 and slopes 0.01..1. The two routes share no quadrature: one sums
 * Beta integrals over K, the other integrates the moment generating function.
 */
#include <math.h>
#include <stdio.h>

#include <gsl/gsl_sf_psi.h>

#include "lyapdiag/error.h"
#include "lyapdiag/theory.h"

#include "check.h"

static const double LN2 = 0.69314718055994530942;

int main(void)
{
    static const int widths[] = {1, 2, 3, 4, 5, 8, 16, 64, 256, 1024, 4096};
    static const double slopes[] = {0.01, 0.1, 0.5, 0.9, 1.0};

    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++)
        for (size_t j = 0; j < sizeof slopes / sizeof slopes[0]; j++) {
            int d = widths[i];
            double a = slopes[j], m_h, v_h, laplace;
            char name[64];
            snprintf(name, sizeof name, "E log sum phi^2, d=%d a=%g", d, a);
            int s1 = lyap_theory_h_moments(d, a, &m_h, &v_h);
            int s2 = lyap_theory_gauss_log_sumsq_laplace(d, a, &laplace);
            if (s1 != LYAP_OK || s2 != LYAP_OK) {
                check(0, "%s: status %d, %d: %s", name, s1, s2, lyap_error_message());
                continue;
            }
            double mixture = gsl_sf_psi(0.5 * d) + LN2 + m_h;
            check_near(name, mixture, laplace, fmax(1e-9 * fabs(laplace), 1e-10));
        }
    return check_status();
}
