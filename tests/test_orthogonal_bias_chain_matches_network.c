/* Orthogonal weights with biases as an O(d) scalar chain (biaschain.h)
 * against the network itself, simulated with explicit Haar matrices (the
 * weights module's QR sampler) and bias vectors (THEORY.md "Biases"):
 *   - the law of log m_L at depths 5 and 20 (d = 3 and 8): the fractions of
 *     each sample below the pooled sample's 5, 25, 50, 75, 95% points
 *     agree within 4 binomial standard errors;
 *   - E m_L equals the mean-field iterate at every width (q_l is linear
 *     in q_{l-1} on average: E phi(h)^2 = (1+a^2)/2 E h^2), within 4 stderr;
 *   - ReLU without biases at d = 1 dies with probability 1/2 a layer and
 *     stays dead (-inf), with biases it revives;
 *   - an exploding chain (eta^2 = 20, 3000 layers) stays finite. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lyapdiag/biaschain.h"
#include "lyapdiag/biastheory.h"
#include "lyapdiag/error.h"
#include "lyapdiag/rng.h"
#include "lyapdiag/weights.h"

enum { NDEPTHS = 2, N = 12000 };
static const int depths[NDEPTHS] = {5, 20};

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* log m_L of one network with explicit weights and biases. */
static int network(lyap_weights *w, lyap_rng *rng, const lyap_biaschain_spec *s, double *W, double *x, double *h,
                   double *out)
{
    int d = s->width;
    double b[64];
    lyap_rng_normal(rng, x, (size_t)d);
    double xx = 0;
    for (int i = 0; i < d; i++)
        xx += x[i] * x[i];
    for (int i = 0; i < d; i++)
        x[i] *= sqrt(d * s->m0 / xx);
    for (int l = 1, k = 0; k < NDEPTHS; l++) {
        double scale;
        LYAP_CALL(lyap_weights_draw(w, rng, s->variance, W, &scale));
        lyap_rng_normal(rng, b, (size_t)d);
        double q = 0;
        for (int i = 0; i < d; i++) {
            h[i] = sqrt(s->bias_variance) * b[i];
            for (int j = 0; j < d; j++)
                h[i] += scale * W[i + (size_t)j * d] * x[j];
        }
        for (int i = 0; i < d; i++) {
            x[i] = h[i] > 0 ? h[i] : s->slope * h[i];
            q += x[i] * x[i];
        }
        if (l == depths[k])
            out[k++] = log(q / d);
    }
    return LYAP_OK;
}

static void against_network(lyap_biaschain_spec s)
{
    int d = s.width;
    lyap_weights *w = NULL;
    double *W = malloc(sizeof *W * d * d), x[64], h[64], work[128];
    double *chain = malloc(sizeof *chain * N * NDEPTHS), *net = malloc(sizeof *net * N * NDEPTHS);
    int ok = lyap_weights_create(LYAP_ENTRIES_HAAR, d, &w) == LYAP_OK;
    lyap_rng rng;
    lyap_rng_init(&rng, 99, 1234, 0, 0, LYAP_RNG_WEIGHTS);
    for (int i = 0; ok && i < N; i++) {
        double c[NDEPTHS], n[NDEPTHS];
        ok &= lyap_biaschain_orthogonal(&s, i, depths, NDEPTHS, work, c) == LYAP_OK;
        ok &= network(w, &rng, &s, W, x, h, n) == LYAP_OK;
        for (int k = 0; k < NDEPTHS; k++)
            chain[k * N + i] = c[k], net[k * N + i] = n[k];
    }
    static const double levels[] = {0.05, 0.25, 0.5, 0.75, 0.95};
    for (int k = 0; ok && k < NDEPTHS; k++) {
        double *pooled = malloc(sizeof *pooled * 2 * N);
        memcpy(pooled, chain + k * N, sizeof *pooled * N);
        memcpy(pooled + N, net + k * N, sizeof *pooled * N);
        qsort(pooled, 2 * N, sizeof *pooled, by_value);
        for (int j = 0; j < 5; j++) {
            double cut = pooled[(int)(levels[j] * 2 * N)], below_c = 0, below_n = 0;
            for (int i = 0; i < N; i++)
                below_c += chain[k * N + i] < cut, below_n += net[k * N + i] < cut;
            double p = levels[j], se = sqrt(2 * p * (1 - p) / N);
            check(fabs(below_c - below_n) / N <= 4 * se,
                  "d = %d, a = %g, eta^2 = %g, sb2 = %g, depth %d: P(log m < %.3f) chain %.4f, network %.4f "
                  "(4 stderr %.4f)", d, s.slope, s.variance, s.bias_variance, depths[k], cut, below_c / N,
                  below_n / N, 4 * se);
        }
        free(pooled);
    }
    check(ok, "chain and network ran (d = %d)", d);
    lyap_weights_destroy(&w);
    free(W);
    free(chain);
    free(net);
}

int main(void)
{
    lyap_biaschain_spec s = {.width = 3, .slope = 0.2, .variance = 1.6, .bias_variance = 0.1, .m0 = 1, .seed = 3,
                             .task_key = 11};
    against_network(s);
    s.width = 8, s.slope = 0.05, s.variance = 2.5, s.bias_variance = 0.05, s.m0 = 0.5;
    against_network(s);

    /* E m_L is the mean-field iterate at every width. */
    lyap_biaschain_spec e = {.width = 8, .slope = 0.1, .variance = 1.0, .bias_variance = 0.1, .m0 = 1, .seed = 8,
                             .task_key = 5};
    double work[128], lm[NDEPTHS], sum[NDEPTHS] = {0}, sum2[NDEPTHS] = {0};
    int ok = 1;
    for (int i = 0; i < 4 * N; i++) {
        ok &= lyap_biaschain_orthogonal(&e, i, depths, NDEPTHS, work, lm) == LYAP_OK;
        for (int k = 0; k < NDEPTHS; k++)
            sum[k] += exp(lm[k]), sum2[k] += exp(2 * lm[k]);
    }
    for (int k = 0; k < NDEPTHS; k++) {
        double mean = sum[k] / (4 * N), se = sqrt((sum2[k] / (4 * N) - mean * mean) / (4 * N));
        double mf = lyap_biastheory_meanfield_signal(e.slope, e.variance, e.bias_variance, e.m0, depths[k]);
        check(ok && fabs(mean - mf) <= 4 * se, "d = 8, eta^2 = 1, sb2 = 0.1, depth %d: E m_L %.5f vs mean field %.5f "
              "(4 stderr %.5f)", depths[k], mean, mf, 4 * se);
    }

    /* ReLU at d = 1: without biases dead with probability 1 - 2^-L, for good. */
    lyap_biaschain_spec r = {.width = 1, .slope = 0, .variance = 2, .bias_variance = 0, .m0 = 1, .seed = 2,
                             .task_key = 9};
    double dead[NDEPTHS] = {0}, revived = 0;
    for (int i = 0; i < N; i++) {
        lyap_biaschain_orthogonal(&r, i, depths, NDEPTHS, work, lm);
        for (int k = 0; k < NDEPTHS; k++)
            dead[k] += isinf(lm[k]) != 0; /* glibc's isinf(-inf) is -1 */
    }
    double p5 = 1 - pow(0.5, 5), se5 = sqrt(p5 * (1 - p5) / N);
    check(fabs(dead[0] / N - p5) <= 4 * se5 && dead[1] >= dead[0],
          "ReLU, d = 1, no biases: dead at depth 5 %.4f (1 - 2^-5 = %.4f, 4 stderr %.4f), never revived", dead[0] / N,
          p5, 4 * se5);
    r.bias_variance = 0.1;
    for (int i = 0; i < N; i++) {
        lyap_biaschain_orthogonal(&r, i, depths, NDEPTHS, work, lm);
        revived += isfinite(lm[1]);
    }
    check(revived / N > 0.4, "ReLU, d = 1, with biases: alive at depth 20 in %.3f (dead only at the layer itself)",
          revived / N);

    lyap_biaschain_spec x = {.width = 4, .slope = 0.5, .variance = 20, .bias_variance = 0.1, .m0 = 1, .seed = 6,
                             .task_key = 7};
    int far[1] = {3000};
    double lx = NAN;
    int status = lyap_biaschain_orthogonal(&x, 0, far, 1, work, &lx);
    check(status == LYAP_OK && isfinite(lx) && lx > 100, "an exploding chain (eta^2 = 20, 3000 layers): log m = %.1f",
          lx);
    return check_status();
}
