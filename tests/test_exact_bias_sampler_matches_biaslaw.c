/* The exact sampler with biases (lyap_propagate_signal_layer, THEORY.md
 * "Biases": q_l = (s2 q_{l-1}/d + sb2) S_l with the bias-free S) against
 * the theory modules, not against another simulation of the same chain:
 *  - its law of m_L = q_L/d is lyap_biaslaw's: at depths 1, 5 and 50 the
 *    sample's 5%, 50% and 95% quantiles (CHAINS chains, fixed seed) lie
 *    between the law's quantiles at q -+ 4 binomial standard errors, and
 *    ReLU's dead fraction (q_L = 0) is the law's within 4 stderr; cases:
 *    THEORY.md's check point (d = 4, a = 0.1, s2 = 3, sb2 = 0.05), He at
 *    d = 16, ReLU at d = 4 (the dead revive), and m0 = 2;
 *  - its mean is the mean-field iterate, exact at every width
 *    (lyap_biastheory_meanfield_signal), within 4 stderr at He/2 (kappa >
 *    2: a finite variance), d = 4 and 16, depths 1, 5, 50;
 *  - sb2 = 0 is the bias-free chain of the same streams: log q_L = log q_0
 *    + 2 sum of lyap_propagate_layer's increments (1e-12), ReLU's dead
 *    stay dead;
 *  - other paths and families are refused (LYAP_EINTERNAL). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lyapdiag/biaslaw.h"
#include "lyapdiag/biastheory.h"
#include "lyapdiag/error.h"
#include "lyapdiag/propagate.h"
#include "lyapdiag/rng.h"

enum { BATCH = 64, CHAINS = 200000, NDEPTHS = 3 };
static const int depths[NDEPTHS] = {1, 5, 50};

static int by_value(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* log m_L of CHAINS chains at DEPTHS into OUT[k] (columns of replicas of
 * one plan, as a task would run them). */
static int run(int d, double a, double s2, double sb2, double m0, uint64_t seed, double *out[NDEPTHS])
{
    lyap_propagate_plan plan = NULL;
    double log_q[BATCH];
    if (lyap_propagate_plan_create(LYAP_FAMILY_GAUSSIAN, d, a, BATCH, depths[NDEPTHS - 1], LYAP_METHOD_EXACT,
                                   LYAP_PRECISION_DOUBLE, &plan) != LYAP_OK)
        return 0;
    for (int r = 0; r < CHAINS / BATCH; r++) {
        lyap_propagate_start(plan, seed, lyap_rng_task_key(LYAP_FAMILY_GAUSSIAN, d, a, s2), r, s2);
        for (int j = 0; j < BATCH; j++)
            log_q[j] = log(d * m0);
        for (int l = 1, k = 0; l <= depths[NDEPTHS - 1]; l++) {
            if (lyap_propagate_signal_layer(plan, s2, sb2, log_q) != LYAP_OK) {
                lyap_propagate_plan_destroy(&plan);
                return 0;
            }
            for (int j = 0; l == depths[k] && j < BATCH; j++)
                out[k][(size_t)r * BATCH + j] = log_q[j] - log(d);
            k += l == depths[k];
        }
    }
    lyap_propagate_plan_destroy(&plan);
    return 1;
}

static void law_matches(int d, double a, double s2, double sb2, double m0, uint64_t seed)
{
    double *x[NDEPTHS] = {NULL};
    lyap_biaslaw *law = NULL;
    int ok = lyap_biaslaw_create(d, a, s2, sb2, m0, depths, NDEPTHS, &law) == LYAP_OK;
    for (int k = 0; k < NDEPTHS; k++)
        ok &= (x[k] = malloc(sizeof *x[k] * CHAINS)) != NULL;
    ok = ok && run(d, a, s2, sb2, m0, seed, x);
    check(ok, "d=%d a=%g s2=%g sb2=%g m0=%g: law and chains (%s)", d, a, s2, sb2, m0, ok ? "ok" : lyap_error_message());
    for (int k = 0; ok && k < NDEPTHS; k++) {
        int L = depths[k];
        qsort(x[k], CHAINS, sizeof *x[k], by_value);
        lyap_biaslaw_summary sum;
        lyap_biaslaw_summarize(law, L, &sum);
        size_t dead = 0;
        while (dead < CHAINS && x[k][dead] == -INFINITY)
            dead++;
        double se_dead = sqrt(fmax(sum.dead * (1 - sum.dead), 1.0 / CHAINS) / CHAINS);
        check(fabs((double)dead / CHAINS - sum.dead) <= 4 * se_dead,
              "d=%d a=%g s2=%g sb2=%g L=%d: dead fraction %.5g, law %.5g (4 stderr %.2g)", d, a, s2, sb2, L,
              (double)dead / CHAINS, sum.dead, 4 * se_dead);
        static const double levels[] = {0.05, 0.5, 0.95};
        for (int i = 0; i < 3; i++) {
            double q = levels[i], se = sqrt(q * (1 - q) / CHAINS), lo, hi;
            double sample = x[k][(size_t)(q * CHAINS)];
            lyap_biaslaw_quantile(law, L, q - 4 * se, NULL, &lo);
            lyap_biaslaw_quantile(law, L, q + 4 * se, NULL, &hi);
            check(lo <= sample && sample <= hi,
                  "d=%d a=%g s2=%g sb2=%g m0=%g L=%d: %g quantile of m_L %.6g in the law's [%.6g, %.6g] "
                  "(levels q -+ 4 binomial stderr)", d, a, s2, sb2, m0, L, q, exp(sample), exp(lo), exp(hi));
        }
    }
    for (int k = 0; k < NDEPTHS; k++)
        free(x[k]);
    lyap_biaslaw_destroy(&law);
}

static void mean_matches(int d, double a, double s2, double sb2, double m0, uint64_t seed)
{
    double *x[NDEPTHS] = {NULL};
    int ok = 1;
    for (int k = 0; k < NDEPTHS; k++)
        ok &= (x[k] = malloc(sizeof *x[k] * CHAINS)) != NULL;
    ok = ok && run(d, a, s2, sb2, m0, seed, x);
    check(ok, "d=%d s2=%g: chains (%s)", d, s2, ok ? "ok" : lyap_error_message());
    for (int k = 0; ok && k < NDEPTHS; k++) {
        double sum = 0, sum2 = 0;
        for (size_t i = 0; i < CHAINS; i++) {
            double m = exp(x[k][i]);
            sum += m;
            sum2 += m * m;
        }
        double mean = sum / CHAINS, se = sqrt((sum2 / CHAINS - mean * mean) / (CHAINS - 1));
        char what[160];
        snprintf(what, sizeof what, "d=%d a=%g s2=%g sb2=%g m0=%g L=%d: E m_L vs the mean-field iterate (4 stderr)",
                 d, a, s2, sb2, m0, depths[k]);
        check_near(what, mean, lyap_biastheory_meanfield_signal(a, s2, sb2, m0, depths[k]), 4 * se);
    }
    for (int k = 0; k < NDEPTHS; k++)
        free(x[k]);
}

/* sb2 = 0: the chain is the bias-free one of the same streams. */
static void reduces_without_biases(int d, double a, double s2)
{
    enum { DEPTH = 300 };
    lyap_propagate_plan free_plan = NULL, chain_plan = NULL;
    double inc[BATCH], log_q[BATCH], sum[BATCH] = {0}, worst = 0;
    int ok = lyap_propagate_plan_create(LYAP_FAMILY_GAUSSIAN, d, a, BATCH, DEPTH, LYAP_METHOD_EXACT,
                                        LYAP_PRECISION_DOUBLE, &free_plan) == LYAP_OK &&
             lyap_propagate_plan_create(LYAP_FAMILY_GAUSSIAN, d, a, BATCH, DEPTH, LYAP_METHOD_EXACT,
                                        LYAP_PRECISION_DOUBLE, &chain_plan) == LYAP_OK;
    uint64_t key = lyap_rng_task_key(LYAP_FAMILY_GAUSSIAN, d, a, 0);
    int mismatched_deaths = 0;
    if (ok) {
        lyap_propagate_start(free_plan, 3, key, 0, s2);
        lyap_propagate_start(chain_plan, 3, key, 0, 1.0); /* another start variance: the same S */
        for (int j = 0; j < BATCH; j++)
            log_q[j] = log(d);
        for (int l = 0; l < DEPTH; l++) {
            lyap_propagate_layer(free_plan, inc);
            lyap_propagate_signal_layer(chain_plan, s2, 0.0, log_q);
            for (int j = 0; j < BATCH; j++) {
                sum[j] += inc[j];
                if (sum[j] == -INFINITY || log_q[j] == -INFINITY)
                    mismatched_deaths += sum[j] != log_q[j];
                else
                    worst = fmax(worst, fabs(log_q[j] - (log(d) + 2 * sum[j])) / fmax(1, fabs(log_q[j])));
            }
        }
    }
    check(ok && worst <= 1e-12 && mismatched_deaths == 0,
          "sb2 = 0, d=%d a=%g s2=%g: log q_L = log q_0 + 2 sum of the bias-free increments over %d layers "
          "(relative %.2g <= 1e-12; deaths agree: %d mismatches)", d, a, s2, DEPTH, worst, mismatched_deaths);
    lyap_propagate_plan_destroy(&free_plan);
    lyap_propagate_plan_destroy(&chain_plan);
}

static void refuses_other_paths(void)
{
    lyap_propagate_plan plan = NULL;
    double log_q[BATCH] = {0};
    int refused = 1;
    if (lyap_propagate_plan_create(LYAP_FAMILY_ORTHOGONAL, 4, 0.1, BATCH, 10, LYAP_METHOD_EXACT,
                                   LYAP_PRECISION_DOUBLE, &plan) == LYAP_OK) {
        lyap_propagate_start(plan, 1, 1, 0, 1.0);
        refused &= lyap_propagate_signal_layer(plan, 1.0, 0.05, log_q) == LYAP_EINTERNAL;
        lyap_propagate_plan_destroy(&plan);
    }
    if (lyap_propagate_plan_create(LYAP_FAMILY_GAUSSIAN, 4, 0.1, BATCH, 10, LYAP_METHOD_MATRIX,
                                   LYAP_PRECISION_DOUBLE, &plan) == LYAP_OK) {
        lyap_propagate_start(plan, 1, 1, 0, 1.0);
        refused &= lyap_propagate_signal_layer(plan, 1.0, 0.05, log_q) == LYAP_EINTERNAL;
        lyap_propagate_plan_destroy(&plan);
    }
    check(refused, "orthogonal exact and gaussian matrix plans refuse the biased exact step");
}

int main(void)
{
    double he = 2 / (1 + 0.1 * 0.1);
    law_matches(4, 0.1, 3.0, 0.05, 1.0, 11);  /* THEORY.md's check point */
    law_matches(16, 0.1, he, 0.05, 1.0, 12);  /* He at d = 16 */
    law_matches(4, 0.0, 2.0, 0.05, 1.0, 13);  /* ReLU: the dead revive */
    law_matches(4, 0.1, he / 2, 0.05, 2.0, 14); /* stationary, from m0 = 2 */
    mean_matches(4, 0.1, he / 2, 0.05, 2.0, 21);
    mean_matches(16, 0.1, he / 2, 0.05, 1.0, 22);
    reduces_without_biases(8, 0.1, 1.7);
    reduces_without_biases(4, 0.0, 2.0);
    refuses_other_paths();
    return check_status();
}
