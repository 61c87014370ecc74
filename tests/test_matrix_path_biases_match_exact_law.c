/* The matrix path with biases (lyap_propagate_set_biases) against the
 * exact finite-width law of the signal (biaslaw.h, THEORY.md "Biases"):
 * gaussian weights, one input per network, the fractions of networks whose
 * m_L = |x_L|^2/d lies below the exact law's 5, 25, 50, 75, 95% points at
 * depths 5 and 30 agree within 4 binomial standard errors (d = 4, a = 0.1,
 * He variance, sb2 = 0.05; and ReLU at d = 8 with sb2 = 0.2, where a
 * network is exactly 0 at a layer now and then and its biases revive it).
 * Also: E m_L equals the mean-field iterate (exact at every width) within
 * 4 stderr where the tail is light enough for a sample mean; a column that dies is revived; sb2 = 0 gives the bias-free
 * increments bit for bit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "lyapdiag/biaslaw.h"
#include "lyapdiag/biastheory.h"
#include "lyapdiag/error.h"
#include "lyapdiag/propagate.h"

enum { NDEPTHS = 2, N = 6000 };
static const int depths[NDEPTHS] = {5, 30};

static void against_law(int d, double a, double s2, double sb2, double m0)
{
    lyap_propagate_plan plan;
    lyap_biaslaw *law = NULL;
    int ok = lyap_propagate_plan_create(LYAP_FAMILY_GAUSSIAN, d, a, 1, depths[NDEPTHS - 1], LYAP_METHOD_MATRIX,
                                        LYAP_PRECISION_DOUBLE, &plan) == LYAP_OK &&
             lyap_propagate_set_biases(plan, sb2, m0) == LYAP_OK &&
             lyap_biaslaw_create(d, a, s2, sb2, m0, depths, NDEPTHS, &law) == LYAP_OK;
    static const double levels[] = {0.05, 0.25, 0.5, 0.75, 0.95};
    double cut[NDEPTHS][5], below[NDEPTHS][5] = {{0}}, mean[NDEPTHS] = {0}, mean2[NDEPTHS] = {0}, revived = 0;
    for (int k = 0; ok && k < NDEPTHS; k++)
        for (int q = 0; q < 5; q++)
            ok &= lyap_biaslaw_quantile(law, depths[k], levels[q], NULL, &cut[k][q]) == LYAP_OK;
    for (int r = 0; ok && r < N; r++) {
        double inc;
        int dead = 0;
        lyap_propagate_start(plan, 77, 5, r, s2);
        for (int l = 1, k = 0; k < NDEPTHS; l++) {
            ok &= lyap_propagate_layer(plan, &inc) == LYAP_OK;
            double log_norm = lyap_propagate_log_norms(plan)[0];
            revived += dead && isfinite(log_norm);
            dead = log_norm == -INFINITY;
            if (l == depths[k]) {
                double log_m = 2 * log_norm - log((double)d);
                for (int q = 0; q < 5; q++)
                    below[k][q] += log_m < cut[k][q];
                mean[k] += exp(log_m) / N, mean2[k] += exp(2 * log_m) / N;
                k++;
            }
        }
    }
    for (int k = 0; ok && k < NDEPTHS; k++) {
        for (int q = 0; q < 5; q++) {
            double p = levels[q], se = sqrt(p * (1 - p) / N);
            check(fabs(below[k][q] / N - p) <= 4 * se, "d %d, a %g, s2 %.4g, sb2 %g, depth %d: P(m_L < exact %g "
                  "point %.4g) = %.4f (4 stderr %.4f)", d, a, s2, sb2, depths[k], p, exp(cut[k][q]), below[k][q] / N,
                  4 * se);
        }
        /* a sample mean has a trustworthy stderr only far from the heavy
         * tail: P(m > t) ~ t^-kappa, kappa = 1 at He */
        double kappa = NAN, mf = lyap_biastheory_meanfield_signal(a, s2, sb2, m0, depths[k]);
        double se = sqrt((mean2[k] - mean[k] * mean[k]) / N);
        if (a > 0 && lyap_biastheory_tail_index(d, a, s2, &kappa) == LYAP_OK && !(kappa > 4))
            printf("  (E m_L not compared: tail index %.3g, a heavy tail)\n", kappa);
        else
            check(fabs(mean[k] - mf) <= 4 * se, "  E m_L %.5f vs mean field %.5f (4 stderr %.5f)", mean[k], mf,
                  4 * se);
    }
    if (a == 0)
        check(revived > 0, "  ReLU: %g layers revived a column that was exactly 0", revived);
    check(ok, "matrix path with biases ran (d %d)", d);
    lyap_biaslaw_destroy(&law);
    lyap_propagate_plan_destroy(&plan);
}

int main(void)
{
    against_law(4, 0.1, 2 / 1.01, 0.05, 1.0);
    against_law(8, 0.0, 1.6, 0.2, 0.5);

    /* sb2 = 0: the bias-free increments, bit for bit */
    lyap_propagate_plan plain, zero;
    int ok = lyap_propagate_plan_create(LYAP_FAMILY_UNIFORM, 6, 0.2, 3, 20, LYAP_METHOD_MATRIX, LYAP_PRECISION_DOUBLE,
                                        &plain) == LYAP_OK &&
             lyap_propagate_plan_create(LYAP_FAMILY_UNIFORM, 6, 0.2, 3, 20, LYAP_METHOD_MATRIX, LYAP_PRECISION_DOUBLE,
                                        &zero) == LYAP_OK &&
             lyap_propagate_set_biases(zero, 0, 1) == LYAP_OK;
    int same = ok;
    lyap_propagate_start(plain, 1, 2, 3, 1.7);
    lyap_propagate_start(zero, 1, 2, 3, 1.7);
    for (int l = 0; ok && l < 20; l++) {
        double a[3], b[3];
        lyap_propagate_layer(plain, a);
        lyap_propagate_layer(zero, b);
        for (int j = 0; j < 3; j++)
            same &= a[j] == b[j];
    }
    check(same, "sb2 = 0: the bias-free increments bit for bit");
    check(lyap_propagate_set_biases(plain, -1, 1) == LYAP_EINTERNAL, "a negative bias variance is refused");
    lyap_propagate_plan_destroy(&plain);
    lyap_propagate_plan_destroy(&zero);
    return check_status();
}
