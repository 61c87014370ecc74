/* twoinput.c: the exact (q_x, q_y, x.y) chain of two inputs (twoinput.h). */
#include "lyapdiag/twoinput.h"

#include <math.h>

#include "lyapdiag/error.h"
#include "lyapdiag/rng.h"

/* The chain is kept in units of e^log_scale: Leaky ReLU is positively
 * homogeneous, so only the biases' variance sees the scale (sb2 e^-scale);
 * rescaling when q leaves [1e-100, 1e100] keeps an exploding or vanishing
 * chain finite without changing its cosine. */
typedef struct {
    double qx, qy, p, log_scale;
} chain;

static void rescale(chain *c)
{
    double r = fmax(c->qx, c->qy);
    if (r > 0 && (r > 1e100 || r < 1e-100)) {
        c->qx /= r, c->qy /= r, c->p /= r;
        c->log_scale += log(r);
    }
}

/* One layer: d bivariate pre-activation pairs from the 2d normals Z. */
static void layer(const lyap_twoinput_spec *s, chain *c, const double *z)
{
    int d = s->width;
    double bias = s->bias_variance * exp(-c->log_scale);
    double vx = s->variance * c->qx / d + bias, vy = s->variance * c->qy / d + bias;
    double cov = s->variance * c->p / d + bias;
    double sx = sqrt(vx), sy = sqrt(vy);
    double rho = sx > 0 && sy > 0 ? fmax(-1.0, fmin(1.0, cov / (sx * sy))) : 0.0;
    double rest = sqrt(fmax(0.0, 1.0 - rho * rho)), a = s->slope;
    double qx = 0, qy = 0, p = 0;
    for (int i = 0; i < d; i++) {
        double h = sx * z[i], g = sy * (rho * z[i] + rest * z[d + i]);
        double u = h > 0 ? h : a * h, v = g > 0 ? g : a * g;
        qx += u * u, qy += v * v, p += u * v;
    }
    c->qx = qx, c->qy = qy, c->p = p;
    rescale(c);
}

int lyap_twoinput_chain(const lyap_twoinput_spec *spec, int replica, const int *depths, int ndepths, double *work,
                        double *cosine)
{
    const lyap_twoinput_spec *s = spec;
    if (!(s->width >= 1 && s->slope >= 0 && s->slope <= 1 && s->variance > 0 && s->bias_variance >= 0 &&
          s->m0 > 0 && s->cosine0 >= -1 && s->cosine0 <= 1 && ndepths >= 1 && depths[0] >= 1))
        return lyap_fail(LYAP_EINTERNAL, "twoinput: bad chain (width %d, slope %g, s2 %g, sb2 %g, m0 %g, c0 %g)",
                         s->width, s->slope, s->variance, s->bias_variance, s->m0, s->cosine0);
    chain c = {s->width * s->m0, s->width * s->m0, s->cosine0 * s->width * s->m0, 0.0};
    rescale(&c);
    for (int l = 1, k = 0; k < ndepths; l++) {
        lyap_rng rng;
        lyap_rng_init(&rng, s->seed, s->task_key, (uint64_t)replica, (uint64_t)l, LYAP_RNG_TWO_INPUTS);
        lyap_rng_normal(&rng, work, 2 * (size_t)s->width);
        layer(s, &c, work);
        if (l == depths[k])
            cosine[k++] = c.qx > 0 && c.qy > 0 ? c.p / sqrt(c.qx * c.qy) : NAN;
    }
    return LYAP_OK;
}
