/* biaschain.c: orthogonal weights with biases as a scalar chain (biaschain.h). */
#include "lyapdiag/biaschain.h"

#include <math.h>

#include "lyapdiag/error.h"
#include "lyapdiag/rng.h"

int lyap_biaschain_orthogonal(const lyap_biaschain_spec *spec, int replica, const int *depths, int ndepths,
                              double *work, double *log_m)
{
    const lyap_biaschain_spec *s = spec;
    if (!(s->width >= 1 && s->slope >= 0 && s->slope <= 1 && s->variance > 0 && s->bias_variance >= 0 &&
          s->m0 > 0 && ndepths >= 1 && depths[0] >= 1))
        return lyap_fail(LYAP_EINTERNAL, "biaschain: bad chain (width %d, slope %g, eta^2 %g, sb2 %g, m0 %g)",
                         s->width, s->slope, s->variance, s->bias_variance, s->m0);
    int d = s->width;
    /* q in units of e^log_scale (Leaky ReLU is positively homogeneous: only
     * the biases see the scale), rescaled to 1 every layer: finite in
     * exploding and vanishing chains alike. */
    double q = 1.0, log_scale = log(d * s->m0), sb = sqrt(s->bias_variance);
    for (int l = 1, k = 0; k < ndepths; l++) {
        lyap_rng rng;
        lyap_rng_init(&rng, s->seed, s->task_key, (uint64_t)replica, (uint64_t)l, LYAP_RNG_BIAS_CHAIN);
        lyap_rng_normal(&rng, work, 2 * (size_t)d);
        double zz = 0;
        for (int i = 0; i < d; i++)
            zz += work[i] * work[i];
        double along = sqrt(s->variance * q / zz), next = 0;
        double bias = sb > 0 ? sb * exp(-0.5 * log_scale) : 0.0; /* 0 * inf is not 0 */
        for (int i = 0; i < d; i++) {
            double h = along * work[i] + bias * work[d + i];
            double x = h > 0 ? h : s->slope * h;
            next += x * x;
        }
        if (next > 0) /* else dead this layer: q = 0 (the biases alone revive it) */
            log_scale += log(next);
        q = next > 0 ? 1.0 : 0.0;
        if (l == depths[k])
            log_m[k++] = q > 0 ? log_scale - log((double)d) : -INFINITY;
        if (q == 0.0 && s->bias_variance == 0) /* dead for good */
            for (; k < ndepths; k++)
                log_m[k] = -INFINITY;
    }
    return LYAP_OK;
}
