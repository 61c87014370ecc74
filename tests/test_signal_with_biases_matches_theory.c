/* A task with biases (issue 12; estimate.c's signal chains) against the
 * theory modules: at every (variance, bias variance, depth) its
 * signal_mean is the mean-field iterate within 4 stderr where the tail
 * index exceeds 2 (He/2: a finite variance; E m_L is exactly the iterate
 * at every width, THEORY.md) with sb2 = 0.05 at depths 1, 5, 50, and with
 * sb2 = 0 at depths 1 and 5 only (without biases m_L = m0 prod A_l, its
 * log-variance grows like 4 v L, and at L = 50 the mean 2^-49 is carried
 * by chains far rarer than 1 in 32000: the sample mean is 1e-18);
 * signal_mean_meanfield is lyap_biastheory_meanfield_signal,
 * signal_{q05,median,q95}_exact are lyap_biaslaw_quantile's (bit for
 * bit); the Monte Carlo signal_q05, _median, _q95 lie where the exact law
 * puts 5%, 50%, 95% below them within 4 binomial stderr of the 32000
 * chains (lyap_biaslaw_cdf), and signal_median is the exact median within
 * 4 signal_median_stderr; tail_index is
 * lyap_biastheory_tail_index, phase_bias is the task's phase (Kesten:
 * stationary exactly when lambda < 0) and phase_bias_meanfield is -1
 * below He, +1 from He on; the bias-free variables are those of the same
 * task without biases, bit for bit (the chains draw their own streams). */
#include <math.h>
#include <string.h>

#include "check.h"
#include "lyapdiag/biaslaw.h"
#include "lyapdiag/biastheory.h"
#include "lyapdiag/error.h"
#include "lyapdiag/estimate.h"
#include "lyapdiag/result.h"

enum { NV = 3, NB = 2, ND = 3 };

static int run(const lyap_task_spec *spec, lyap_task_result *r, int nbias)
{
    lyap_result_dims dims = {.nvariances = NV, .ndepths = ND, .nspectrum = 0, .nbias = nbias};
    if (lyap_task_result_init(r, dims) != LYAP_OK || lyap_estimate_task(spec, r, NULL, NULL) != LYAP_OK) {
        check(0, "task runs: %s", lyap_error_message());
        return 0;
    }
    return 1;
}

int main(void)
{
    const double a = 0.1, he = 2 / (1 + a * a);
    const double variances[NV] = {he / 2, he, 3.0}, biases[NB] = {0, 0.05};
    const int depths[ND] = {1, 5, 50};
    lyap_task_spec spec = {.family = LYAP_FAMILY_GAUSSIAN, .width = 4, .slope = a, .nvariances = NV,
                           .variances = variances, .ndepths = ND, .depths = depths, .seed = 5, .replicas = 2000,
                           .batch = 16, .method = LYAP_METHOD_AUTO, .eps = 1e-3, .nbias_variances = NB,
                           .bias_variances = biases, .input_m0 = 2.0};
    lyap_task_spec plain = spec;
    plain.nbias_variances = 0;
    lyap_task_result r, p;
    if (!run(&spec, &r, NB) || !run(&plain, &p, 0))
        return check_status();
    for (int i = 0; i < NV; i++) {
        double kappa;
        lyap_biastheory_tail_index(4, a, variances[i], &kappa);
        check(r.tail_index[i] == kappa || (isnan(r.tail_index[i]) && isnan(kappa)),
              "s2 = %.4g: tail_index %.6g = lyap_biastheory_tail_index %.6g", variances[i], r.tail_index[i], kappa);
        for (int b = 0; b < NB; b++) {
            int c = i * NB + b;
            lyap_biaslaw *law = NULL;
            int law_ok = lyap_biaslaw_create(4, a, variances[i], biases[b], 2.0, depths, ND, &law) == LYAP_OK;
            for (int k = 0; law_ok && k < ND; k++) {
                size_t at = (size_t)c * ND + k;
                double q05, q50, q95;
                lyap_biaslaw_quantile(law, depths[k], 0.05, &q05, NULL);
                lyap_biaslaw_quantile(law, depths[k], 0.5, &q50, NULL);
                lyap_biaslaw_quantile(law, depths[k], 0.95, &q95, NULL);
                check(r.signal_q05_exact[at] == q05 && r.signal_median_exact[at] == q50 &&
                          r.signal_q95_exact[at] == q95,
                      "s2 = %.4g sb2 = %g L = %d: exact quantiles %.5g %.5g %.5g are biaslaw's", variances[i],
                      biases[b], depths[k], r.signal_q05_exact[at], r.signal_median_exact[at],
                      r.signal_q95_exact[at]);
            }
            for (int k = 0; law_ok && k < ND; k++) {
                size_t at = (size_t)c * ND + k;
                const double levels[3] = {0.05, 0.5, 0.95};
                const double mc[3] = {r.signal_q05[at], r.signal_median[at], r.signal_q95[at]};
                for (int q = 0; q < 3; q++) {
                    double p_below = NAN, se = sqrt(levels[q] * (1 - levels[q]) / (2000.0 * 16));
                    lyap_biaslaw_cdf(law, depths[k], log(mc[q]), &p_below);
                    check(fabs(p_below - levels[q]) <= 4 * se,
                          "s2 = %.4g sb2 = %g L = %d: Monte Carlo %g quantile %.5g has law CDF %.5f (4 stderr %.4f)",
                          variances[i], biases[b], depths[k], levels[q], mc[q], p_below, 4 * se);
                }
                check(fabs(r.signal_median[at] - r.signal_median_exact[at]) <= 4 * r.signal_median_stderr[at],
                      "s2 = %.4g sb2 = %g L = %d: median %.5g vs exact %.5g within 4 stderr %.3g", variances[i],
                      biases[b], depths[k], r.signal_median[at], r.signal_median_exact[at],
                      4 * r.signal_median_stderr[at]);
            }
            check(law_ok, "biaslaw for s2 = %.4g sb2 = %g", variances[i], biases[b]);
            lyap_biaslaw_destroy(&law);
            check(r.phase_bias[c] == r.phase[i] && r.phase_bias_meanfield[c] == (variances[i] < he ? -1 : 1),
                  "s2 = %.4g sb2 = %g: phase_bias %g = phase %g; mean field %g", variances[i], biases[b],
                  r.phase_bias[c], r.phase[i], r.phase_bias_meanfield[c]);
            for (int k = 0; k < ND; k++) {
                size_t at = (size_t)c * ND + k;
                double mf = lyap_biastheory_meanfield_signal(a, variances[i], biases[b], 2.0, depths[k]);
                check(r.signal_mean_meanfield[at] == mf, "s2 = %.4g sb2 = %g L = %d: signal_mean_meanfield %.6g",
                      variances[i], biases[b], depths[k], mf);
                if (i == 0 && (biases[b] > 0 || depths[k] < 50)) {
                    char what[128];
                    snprintf(what, sizeof what, "s2 = He/2 sb2 = %g L = %d: signal_mean vs mean field (4 stderr)",
                             biases[b], depths[k]);
                    check_near(what, r.signal_mean[at], mf, 4 * r.signal_mean_stderr[at]);
                }
            }
        }
    }
    check(r.phase[2] == -1 && r.phase_bias_meanfield[2 * NB + 1] == 1,
          "s2 = 3 at d = 4: stationary (lambda < 0, kappa %.3g) where mean field says exploding", r.tail_index[2]);
    size_t shared = (size_t)((char *)&p.survival[ND] - (char *)p.buf) / sizeof(double);
    check(memcmp(r.buf, p.buf, shared * sizeof(double)) == 0,
          "the %zu bias-free values are those of the task without biases, bit for bit", shared);
    lyap_task_result_free(&r);
    lyap_task_result_free(&p);
    return check_status();
}
