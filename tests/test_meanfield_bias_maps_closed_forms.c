/* test_meanfield_bias_maps_closed_forms: the mean-field maps of networks
 * with biases (src/biastheory.c, THEORY.md "Biases", "Two inputs"):
 *  - the iterated signal map m_l = (1+a^2)/2 (s2 m_{l-1} + sb2) equals its
 *    geometric series r^L m0 + b (1 - r^L)/(1 - r), r = (1+a^2) s2/2,
 *    b = (1+a^2) sb2/2 (m0 + L b at r = 1, m0 r^L without biases), below,
 *    at and above He, to rounding (1e-13 L relative);
 *  - below He it converges to the fixed point m*, which the map fixes;
 *    phase -1 there, +1 at He (lyap_theory_standard_variance) and above,
 *    where m* = inf; bad arguments give NaN / phase 0;
 *  - the Leaky ReLU kernel: rho = 1 gives (1+a^2)/2 s^2, rho = 0
 *    s_u s_v ((1-a)/2)^2 2/pi, rho = -1 -a s_u s_v, a = 1 the covariance
 *    s_u s_v rho; and a 2-D Monte Carlo of bivariate normals (the project's
 *    Philox normals, fixed seed, 1e6 pairs) within 4 standard errors;
 *  - the mean-field cosine: depth 1 by hand from the kernel; a = 1 without
 *    biases preserves it; equal inputs stay at 1; without biases and a < 1
 *    it increases strictly toward 1 (> 0.99 by depth 1000, where an unscaled
 *    state would be 1e-+602); homogeneity in (m_x, m_y, sb2); bad
 *    arguments are deck errors.
 */
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_math.h> /* M_PI (not in C11) */

#include "check.h"
#include "lyapdiag/biastheory.h"
#include "lyapdiag/error.h"
#include "lyapdiag/rng.h"
#include "lyapdiag/theory.h"

static const double SLOPES[] = {0.0, 0.1, 0.5, 1.0};
enum { NSLOPES = sizeof SLOPES / sizeof *SLOPES };

/* ---- the signal map ------------------------------------------------------------------- */

static double geometric(double a, double s2, double sb2, double m0, int L)
{
    double r = 0.5 * (1.0 + a * a) * s2, b = 0.5 * (1.0 + a * a) * sb2;
    if (r == 1.0)
        return m0 + L * b;
    return pow(r, L) * m0 + b * (1.0 - pow(r, L)) / (1.0 - r);
}

static void signal_map(void)
{
    static const double scales[] = {0.5, 0.9, 1.0, 1.1}; /* s2 / He */
    static const double biases[] = {0.0, 0.05, 1.0};
    static const int depths[] = {0, 1, 5, 50, 500};
    char what[160];
    for (int i = 0; i < NSLOPES; i++)
        for (size_t j = 0; j < sizeof scales / sizeof *scales; j++)
            for (size_t k = 0; k < sizeof biases / sizeof *biases; k++)
                for (size_t l = 0; l < sizeof depths / sizeof *depths; l++) {
                    double a = SLOPES[i], sb2 = biases[k], m0 = 0.7;
                    double s2 = scales[j] * lyap_theory_standard_variance(LYAP_FAMILY_GAUSSIAN, a);
                    int L = depths[l];
                    double m = lyap_biastheory_meanfield_signal(a, s2, sb2, m0, L), ref = geometric(a, s2, sb2, m0, L);
                    snprintf(what, sizeof what, "a=%g s2=%.2f He sb2=%g L=%d: m_L = geometric series", a,
                             scales[j], sb2, L);
                    check_near(what, m, ref, 1e-13 * (L + 1) * ref);
                }
}

static void fixed_point_and_phase(void)
{
    char what[160];
    for (int i = 0; i < NSLOPES; i++) {
        double a = SLOPES[i], he = lyap_theory_standard_variance(LYAP_FAMILY_GAUSSIAN, a), s2 = 0.8 * he, sb2 = 0.05;
        double m_star = lyap_biastheory_meanfield_fixed_point(a, s2, sb2);
        snprintf(what, sizeof what, "a=%g s2=0.8 He: m* = (1+a^2) sb2 / (2 - (1+a^2) s2)", a);
        check_near(what, m_star, (1.0 + a * a) * sb2 / (2.0 - (1.0 + a * a) * s2), 1e-15 * m_star);
        snprintf(what, sizeof what, "a=%g s2=0.8 He: the map fixes m*", a);
        check_near(what, lyap_biastheory_meanfield_signal(a, s2, sb2, m_star, 1), m_star, 1e-15 * m_star);
        snprintf(what, sizeof what, "a=%g s2=0.8 He: m_1000 from m0 = 5 -> m*", a);
        check_near(what, lyap_biastheory_meanfield_signal(a, s2, sb2, 5.0, 1000), m_star, 1e-13 * m_star);
        check(lyap_biastheory_meanfield_fixed_point(a, s2, 0.0) == 0.0, "a=%g: m* = 0 without biases", a);
        check(lyap_biastheory_meanfield_phase(a, s2) == -1 && lyap_biastheory_meanfield_phase(a, he) == +1 &&
                  lyap_biastheory_meanfield_phase(a, 1.01 * he) == +1,
              "a=%g: mean-field phase -1 below He, +1 at He and above", a);
        check(isinf(lyap_biastheory_meanfield_fixed_point(a, he, sb2)) &&
                  isinf(lyap_biastheory_meanfield_fixed_point(a, 1.5 * he, 0.0)),
              "a=%g: m* = +inf at He and above", a);
        check(isinf(lyap_biastheory_meanfield_signal(a, 1.5 * he, sb2, 1.0, 5000)),
              "a=%g: m_L overflows to +inf above He", a);
    }
    check(isnan(lyap_biastheory_meanfield_signal(1.5, 1.0, 0.0, 1.0, 3)) &&
              isnan(lyap_biastheory_meanfield_signal(0.5, 0.0, 0.0, 1.0, 3)) &&
              isnan(lyap_biastheory_meanfield_signal(0.5, 1.0, -1.0, 1.0, 3)) &&
              isnan(lyap_biastheory_meanfield_signal(0.5, 1.0, 0.0, -1.0, 3)) &&
              isnan(lyap_biastheory_meanfield_signal(0.5, 1.0, 0.0, 1.0, -1)) &&
              isnan(lyap_biastheory_meanfield_fixed_point(0.5, 1.0, NAN)) &&
              lyap_biastheory_meanfield_phase(-0.5, 1.0) == 0,
          "bad arguments: NaN, phase 0");
}

/* ---- the kernel ------------------------------------------------------------------------- */

static void kernel_closed_forms(void)
{
    char what[160];
    for (int i = 0; i < NSLOPES; i++) {
        double a = SLOPES[i], su = 1.3, sv = 0.4, even = 0.5 * (1.0 - a);
        snprintf(what, sizeof what, "a=%g: kernel at rho = 1 is (1+a^2)/2 s^2", a);
        check_near(what, lyap_biastheory_relu_kernel(a, su, su, 1.0), 0.5 * (1.0 + a * a) * su * su, 1e-15);
        snprintf(what, sizeof what, "a=%g: kernel at rho = 0 is s_u s_v ((1-a)/2)^2 2/pi", a);
        check_near(what, lyap_biastheory_relu_kernel(a, su, sv, 0.0), su * sv * even * even * 2.0 / M_PI, 1e-15);
        snprintf(what, sizeof what, "a=%g: kernel at rho = -1 is -a s_u s_v", a);
        check_near(what, lyap_biastheory_relu_kernel(a, su, sv, -1.0), -a * su * sv, 1e-15);
    }
    check_near("a=1: kernel is the covariance s_u s_v rho", lyap_biastheory_relu_kernel(1.0, 1.3, 0.4, 0.37),
               1.3 * 0.4 * 0.37, 1e-15);
    check(isnan(lyap_biastheory_relu_kernel(0.5, 1.0, 1.0, 1.0 + 1e-12)) &&
              isnan(lyap_biastheory_relu_kernel(0.5, -1.0, 1.0, 0.5)) &&
              isnan(lyap_biastheory_relu_kernel(1.5, 1.0, 1.0, 0.5)),
          "kernel: NaN for |rho| > 1, s < 0 or a outside [0, 1]");
}

static double leaky(double a, double z)
{
    return z > 0.0 ? z : a * z;
}

static void kernel_monte_carlo(void)
{
    enum { PAIRS = 1000000 };
    static const double rhos[] = {-0.9, -0.3, 0.0, 0.5, 0.95};
    double *z = malloc(sizeof *z * 2 * PAIRS);
    if (!z) {
        check(0, "kernel Monte Carlo: out of memory");
        return;
    }
    for (int i = 0; i < NSLOPES; i++)
        for (size_t j = 0; j < sizeof rhos / sizeof *rhos; j++) {
            double a = SLOPES[i], rho = rhos[j], su = 1.3, sv = 0.4, sum = 0.0, sq = 0.0;
            lyap_rng rng;
            lyap_rng_init(&rng, 77, 0, (uint64_t)i, (uint64_t)j, LYAP_RNG_INPUTS);
            lyap_rng_normal(&rng, z, 2 * PAIRS);
            for (int n = 0; n < PAIRS; n++) {
                double u = su * z[2 * n], v = sv * (rho * z[2 * n] + sqrt(1.0 - rho * rho) * z[2 * n + 1]);
                double x = leaky(a, u) * leaky(a, v);
                sum += x;
                sq += x * x;
            }
            double mean = sum / PAIRS, se = sqrt((sq / PAIRS - mean * mean) / (PAIRS - 1));
            char what[128];
            snprintf(what, sizeof what, "a=%g rho=%g: MC E[phi(u) phi(v)] vs kernel (4 stderr = %.2g)", a, rho,
                     4 * se);
            check_near(what, mean, lyap_biastheory_relu_kernel(a, su, sv, rho), 4 * se);
        }
    free(z);
}

/* ---- the cosine ------------------------------------------------------------------------- */

static int cosines(double a, double s2, double sb2, double mx, double my, double c0, int depth, double *c)
{
    int status = lyap_biastheory_meanfield_cosine(a, s2, sb2, mx, my, c0, depth, c);
    if (status != LYAP_OK)
        check(0, "meanfield_cosine(a=%g, s2=%g, sb2=%g): %s", a, s2, sb2, lyap_error_message());
    return status;
}

static void cosine_map(void)
{
    enum { DEPTH = 1000 };
    double c[DEPTH + 1], c2[DEPTH + 1];
    /* Depth 1 by hand: tau^2 = s2 m + sb2, covariance s2 c0 sqrt(mx my) + sb2. */
    double a = 0.2, s2 = 1.5, sb2 = 0.3, mx = 2.0, my = 0.5, c0 = 0.4;
    double tx = sqrt(s2 * mx + sb2), ty = sqrt(s2 * my + sb2), rho = (s2 * c0 * sqrt(mx * my) + sb2) / (tx * ty);
    double gain = 0.5 * (1.0 + a * a);
    if (cosines(a, s2, sb2, mx, my, c0, 1, c) == LYAP_OK) {
        check(c[0] == c0, "cosine[0] is the input cosine");
        check_near("depth 1 cosine = kernel / sqrt(m_x' m_y')", c[1],
                   lyap_biastheory_relu_kernel(a, tx, ty, rho) / (gain * tx * ty), 1e-15);
    }
    /* Homogeneity: (m_x, m_y, sb2) x 1000 gives the same cosines. */
    if (cosines(a, s2, sb2, mx, my, c0, 50, c) == LYAP_OK && cosines(a, s2, 1e3 * sb2, 1e3 * mx, 1e3 * my, c0, 50, c2) == LYAP_OK)
        check_near("cosine at depth 50 is homogeneous in (m_x, m_y, sb2)", c2[50], c[50], 1e-13);
    /* a = 1 without biases: linear, the cosine is preserved. */
    double worst = 0.0;
    if (cosines(1.0, 1.7, 0.0, 2.0, 0.5, -0.3, DEPTH, c) == LYAP_OK)
        for (int l = 0; l <= DEPTH; l++)
            worst = fmax(worst, fabs(c[l] + 0.3));
    check(worst < 1e-13, "a=1, no biases: cosine preserved over %d layers (max drift %.2g)", DEPTH, worst);
    /* Equal inputs stay equal. */
    worst = 0.0;
    if (cosines(0.1, 3.0, 0.05, 1.0, 1.0, 1.0, DEPTH, c) == LYAP_OK)
        for (int l = 0; l <= DEPTH; l++)
            worst = fmax(worst, fabs(c[l] - 1.0));
    check(worst < 1e-15, "equal inputs: cosine 1 at every depth (max drift %.2g)", worst);
    /* Without biases and a < 1 the cosine rises strictly toward 1; s2 = He/4
     * and 4 He take an unscaled state to 1e-+602 by depth 1000. */
    static const double starts[] = {-0.9, 0.0, 0.6};
    static const double gains[] = {0.25, 4.0}; /* s2 / He */
    for (int i = 0; i < NSLOPES - 1; i++)
        for (size_t j = 0; j < sizeof starts / sizeof *starts; j++)
            for (size_t k = 0; k < sizeof gains / sizeof *gains; k++) {
                double s = gains[k] * lyap_theory_standard_variance(LYAP_FAMILY_GAUSSIAN, SLOPES[i]);
                int rising = 1;
                if (cosines(SLOPES[i], s, 0.0, 1.0, 3.0, starts[j], DEPTH, c) != LYAP_OK)
                    continue;
                for (int l = 1; l <= DEPTH; l++)
                    rising &= c[l] > c[l - 1] || c[l - 1] == 1.0;
                check(rising && c[DEPTH] > 0.99 && c[DEPTH] <= 1.0,
                      "a=%g s2=%g He, no biases, c0=%g: cosine rises at every layer to %.6f at depth %d",
                      SLOPES[i], gains[k], starts[j], c[DEPTH], DEPTH);
            }
    check(lyap_biastheory_meanfield_cosine(0.5, 1.0, 0.0, 0.0, 1.0, 0.5, 3, c) == LYAP_EDECK &&
              lyap_biastheory_meanfield_cosine(0.5, 1.0, 0.0, 1.0, 1.0, 1.5, 3, c) == LYAP_EDECK &&
              lyap_biastheory_meanfield_cosine(0.5, 1.0, -0.1, 1.0, 1.0, 0.5, 3, c) == LYAP_EDECK &&
              lyap_biastheory_meanfield_cosine(0.5, 1.0, 0.0, 1.0, 1.0, 0.5, -1, c) == LYAP_EDECK,
          "cosine: bad m, c0, sb2 or depth are deck errors");
}

int main(void)
{
    signal_map();
    fixed_point_and_phase();
    kernel_closed_forms();
    kernel_monte_carlo();
    cosine_map();
    return check_status();
}
