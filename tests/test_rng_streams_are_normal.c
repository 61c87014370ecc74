/* Philox streams: normal variates have mean 0, variance 1 and kurtosis 3
 * within 4 standard errors; uniforms lie in (0, 1) with mean 1/2; Gamma(s)
 * variates have mean s and variance s, and popcounts of n random bits
 * (Binomial(n, 1/2)) mean n/2 and variance n/4 (the exact path's samplers);
 * the uniform weights' variates on (-1, 1) (double, 32 bits, and float,
 * 24 bits) lie on their symmetric grids inside (-1, 1) with mean 0,
 * variance 1/3 and fourth moment 1/5, and the float is within 2^-24 of
 * the double drawn from the same stream; a stream is a pure function of
 * its key (reproducible), and distinct replicas, layers and purposes give
 * distinct numbers. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "../src/variates.h"
#include "lyapdiag/rng.h"

#define N 1000000

int main(void)
{
    double *z = malloc(sizeof *z * N), *again = malloc(sizeof *again * N);
    lyap_rng rng;
    uint64_t key = lyap_rng_task_key(LYAP_FAMILY_GAUSSIAN, 16, 0.1, 0);
    lyap_rng_init(&rng, 42, key, 3, 7, LYAP_RNG_WEIGHTS);
    lyap_rng_normal(&rng, z, N);
    double m1 = 0, m2 = 0, m4 = 0;
    for (int i = 0; i < N; i++) {
        m1 += z[i] / N;
        m2 += z[i] * z[i] / N;
        m4 += z[i] * z[i] * z[i] * z[i] / N;
    }
    /* standard errors: sd(z) = 1, sd(z^2) = sqrt(2), sd(z^4) = sqrt(96) */
    check_near("normal mean", m1, 0, 4 / sqrt(N));
    check_near("normal variance", m2, 1, 4 * sqrt(2.0 / N));
    check_near("normal fourth moment", m4, 3, 4 * sqrt(96.0 / N));

    lyap_rng_init(&rng, 42, key, 3, 7, LYAP_RNG_WEIGHTS);
    lyap_rng_normal(&rng, again, N);
    check(memcmp(z, again, sizeof *z * N) == 0, "same key, same stream");
    lyap_rng_init(&rng, 42, key, 4, 7, LYAP_RNG_WEIGHTS);
    lyap_rng_normal(&rng, again, 8);
    check(memcmp(z, again, sizeof *z * 8) != 0, "another replica, another stream");
    lyap_rng_init(&rng, 42, key, 3, 7, LYAP_RNG_INPUTS);
    lyap_rng_normal(&rng, again, 8);
    check(memcmp(z, again, sizeof *z * 8) != 0, "another purpose, another stream");
    check(key != lyap_rng_task_key(LYAP_FAMILY_GAUSSIAN, 16, 0.1, 2.0) &&
              key != lyap_rng_task_key(LYAP_FAMILY_ORTHOGONAL, 16, 0.1, 0) &&
              key != lyap_rng_task_key(LYAP_FAMILY_GAUSSIAN, 17, 0.1, 0) &&
              key != lyap_rng_task_key(LYAP_FAMILY_GAUSSIAN, 16, 0.1000001, 0),
          "task keys differ by simulated variance, family, width and slope");

    /* Both uniform kinds: open interval, mean 1/2, variance 1/12; the
     * 32-bit ones on their grid k 2^-32 + 2^-33. */
    void (*uniform[2])(lyap_rng *, double *, size_t) = {lyap_rng_uniform, lyap_rng_uniform32};
    for (int kind = 0; kind < 2; kind++) {
        lyap_rng_init(&rng, 1, key, 0, 0, LYAP_RNG_WEIGHTS);
        uniform[kind](&rng, z, N);
        double mean = 0, second = 0, lo = 1, hi = 0;
        int off_grid = 0;
        for (int i = 0; i < N; i++) {
            mean += z[i] / N;
            second += (z[i] - 0.5) * (z[i] - 0.5) / N;
            lo = fmin(lo, z[i]);
            hi = fmax(hi, z[i]);
            off_grid += kind == 1 && ldexp(z[i], 32) - 0.5 != floor(ldexp(z[i], 32));
        }
        const char *name = kind ? "32-bit uniform" : "uniform";
        check(lo > 0 && hi < 1 && !off_grid, "%s: in the open interval (0, 1): min %g, max %.17g; %d off the grid",
              name, lo, hi, off_grid);
        check_near(kind ? "32-bit uniform mean" : "uniform mean", mean, 0.5, 4 * sqrt(1.0 / 12 / N));
        /* the variance of (u - 1/2)^2 is 1/80 - 1/144 */
        check_near(kind ? "32-bit uniform variance" : "uniform variance", second, 1.0 / 12,
                   4 * sqrt((1.0 / 80 - 1.0 / 144) / N));
    }
    /* U(-1, 1) for uniform weights: (2k + 1) 2^-b - 1, b = 32 (double) or
     * 24 (float). Moments of U(-1, 1): E u^2 = 1/3, E u^4 = 1/5, E u^8 =
     * 1/9, so sd(u) = sqrt(1/3), sd(u^2) = sqrt(1/5 - 1/9), sd(u^4) =
     * sqrt(1/9 - 1/25). */
    {
        float *f = malloc(sizeof *f * N);
        lyap_rng_init(&rng, 5, key, 2, 9, LYAP_RNG_WEIGHTS);
        lyap_rng_uniform_symmetric(&rng, z, N);
        lyap_rng_init(&rng, 5, key, 2, 9, LYAP_RNG_WEIGHTS);
        lyap_rng_uniform_symmetric_float(&rng, f, N);
        lyap_rng_init(&rng, 5, key, 2, 9, LYAP_RNG_WEIGHTS);
        lyap_rng_uniform_symmetric(&rng, again, N);
        check(memcmp(z, again, sizeof *z * N) == 0, "symmetric uniforms: same key, same stream");
        for (int b = 0; b < 2; b++) {
            double m1 = 0, m2 = 0, m4 = 0, lo = 1, hi = -1, far = 0;
            int off_grid = 0, bits = b ? 24 : 32;
            for (int i = 0; i < N; i++) {
                double u = b ? (double)f[i] : z[i];
                m1 += u / N;
                m2 += u * u / N;
                m4 += u * u * u * u / N;
                lo = fmin(lo, u);
                hi = fmax(hi, u);
                double k = (ldexp(u + 1, bits) - 1) / 2; /* exact: u + 1 is a multiple of 2^-bits */
                off_grid += k != floor(k) || k < 0 || k >= ldexp(1, bits);
                far = fmax(far, fabs(u - z[i]));
            }
            const char *name = b ? "float uniform (-1, 1)" : "uniform (-1, 1)";
            char what[64];
            check(lo > -1 && hi < 1, "%s: in the open interval: min %.17g, max %.17g", name, lo, hi);
            check(off_grid == 0, "%s: on the grid (2k + 1) 2^-%d - 1: %d off it", name, bits, off_grid);
            snprintf(what, sizeof what, "%s mean", name);
            check_near(what, m1, 0, 4 * sqrt(1.0 / 3 / N));
            snprintf(what, sizeof what, "%s second moment", name);
            check_near(what, m2, 1.0 / 3, 4 * sqrt((1.0 / 5 - 1.0 / 9) / N));
            snprintf(what, sizeof what, "%s fourth moment", name);
            check_near(what, m4, 1.0 / 5, 4 * sqrt((1.0 / 9 - 1.0 / 25) / N));
            if (b)
                check(far <= 0x1.0p-24, "float uniform within 2^-24 of the double of the same stream: %.3g", far);
        }
        free(f);
    }
    /* Gamma(s): mean s, variance s; sd of the sample variance from the
     * fourth central moment 3 s^2 + 6 s. */
    const double shapes[] = {0.5, 1.0, 3.5, 40.0};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        double s = shapes[i], sum = 0, sum2 = 0;
        int n = 400000;
        lyap_rng_init(&rng, 3, key, i, 0, LYAP_RNG_EXACT_POS);
        for (int k = 0; k < n; k++) {
            double g = lyap_rng_gamma(&rng, s);
            sum += g;
            sum2 += (g - s) * (g - s);
        }
        char what[64];
        snprintf(what, sizeof what, "gamma(%g) mean", s);
        check_near(what, sum / n, s, 4 * sqrt(s / n));
        snprintf(what, sizeof what, "gamma(%g) variance", s);
        check_near(what, sum2 / n, s, 4 * sqrt((3 * s * s + 6 * s - s * s) / n));
    }
    const int trials[] = {1, 5, 64, 100, 1000};
    for (size_t i = 0; i < sizeof trials / sizeof *trials; i++) {
        int t = trials[i], n = 200000, lo = t, hi = 0, nw = (t + 31) / 32;
        double sum = 0, sum2 = 0, *counts = malloc(sizeof *counts * n);
        uint32_t *words = malloc(sizeof *words * (size_t)n * nw);
        lyap_rng_init(&rng, 4, key, i, 0, LYAP_RNG_EXACT_BITS);
        lyap_rng_bits(&rng, words, (size_t)n * nw);
        lyap_variates_count_bits(words, nw, t, counts, n);
        for (int k = 0; k < n; k++) {
            int b = (int)counts[k];
            lo = b < lo ? b : lo;
            hi = b > hi ? b : hi;
            sum += b;
            sum2 += (b - t / 2.0) * (b - t / 2.0);
        }
        char what[64];
        snprintf(what, sizeof what, "binomial(%d, 1/2) mean", t);
        check_near(what, sum / n, t / 2.0, 4 * sqrt(t / 4.0 / n));
        snprintf(what, sizeof what, "binomial(%d, 1/2) variance", t);
        /* fourth central moment of Bin(t, 1/2): t/16 (3t - 2) */
        check_near(what, sum2 / n, t / 4.0, 4 * sqrt((t / 16.0 * (3.0 * t - 2) - t * t / 16.0) / n));
        check(lo >= 0 && hi <= t, "binomial(%d, 1/2) within [0, %d]: min %d max %d", t, t, lo, hi);
        free(counts);
        free(words);
    }
    free(z);
    free(again);
    return check_status();
}
