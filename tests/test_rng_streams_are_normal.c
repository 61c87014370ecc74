/* Philox streams: normal variates have mean 0, variance 1 and kurtosis 3
 * within 4 standard errors; uniforms lie in (0, 1) with mean 1/2; a stream
 * is a pure function of its key (reproducible), and distinct replicas,
 * layers and purposes give distinct numbers. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
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

    lyap_rng_init(&rng, 1, key, 0, 0, LYAP_RNG_WEIGHTS);
    lyap_rng_uniform(&rng, z, N);
    double mean = 0, lo = 1, hi = 0;
    for (int i = 0; i < N; i++) {
        mean += z[i] / N;
        lo = fmin(lo, z[i]);
        hi = fmax(hi, z[i]);
    }
    check(lo > 0 && hi < 1, "uniforms in the open interval (0, 1): min %g, max %.17g", lo, hi);
    check_near("uniform mean", mean, 0.5, 4 * sqrt(1.0 / 12 / N));
    free(z);
    free(again);
    return check_status();
}
