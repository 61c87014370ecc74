/* optim.c: Adam and SGD with heavy-ball momentum (optim.h). */
#include "lyapdiag/optim.h"

#include <math.h>
#include <stdlib.h>

#include "lyapdiag/error.h"
#include "variates.h"

static const double beta1 = 0.9, beta2 = 0.999, adam_eps = 1e-8;

struct lyap_optimizer {
    lyap_optim_kind kind;
    size_t n;
    double lr, momentum;
    long steps;
    double *m, *v; /* adam: the moments; sgd: m is the momentum buffer */
};

int lyap_optimizer_create(lyap_optim_kind kind, size_t n, double lr, double momentum, lyap_optimizer **out)
{
    *out = NULL;
    if (!(lr > 0 && isfinite(lr)) || !(momentum >= 0 && momentum < 1) || n == 0)
        return lyap_fail(LYAP_EINTERNAL, "optim: bad optimizer (lr %g, momentum %g, %zu parameters)", lr, momentum,
                         n);
    lyap_optimizer *o;
    LYAP_CALL(lyap_alloc(&o, 1, sizeof *o, "optimizer"));
    *o = (lyap_optimizer){kind, n, lr, momentum, 0, NULL, NULL};
    int status = lyap_alloc(&o->m, n, sizeof *o->m, "optimizer state");
    if (status == LYAP_OK && kind == LYAP_OPTIM_ADAM)
        status = lyap_alloc(&o->v, n, sizeof *o->v, "optimizer state");
    if (status != LYAP_OK)
        lyap_optimizer_destroy(&o);
    *out = o;
    return status;
}

/* The update loops, elementwise IEEE arithmetic (sqrt and division are
 * exact in vectors too), in the three ISA builds of variates.h. */
static inline __attribute__((always_inline)) void adam_body(size_t n, double step, double root_c2, double *m,
                                                            double *v, double *w, const double *g)
{
    /* PyTorch's order of operations: step size lr / (1 - b1^t), denominator
     * sqrt(v) / sqrt(1 - b2^t) + eps. */
    for (size_t i = 0; i < n; i++) {
        m[i] = beta1 * m[i] + (1 - beta1) * g[i];
        v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
        w[i] -= step * m[i] / (__builtin_sqrt(v[i]) / root_c2 + adam_eps);
    }
}

static inline __attribute__((always_inline)) void sgd_body(size_t n, double lr, double mu, int first, double *b,
                                                           double *w, const double *g)
{
    for (size_t i = 0; i < n; i++) {
        b[i] = first ? g[i] : mu * b[i] + g[i];
        w[i] -= lr * b[i];
    }
}

ISA_VARIANTS(adam, (size_t n, double step, double root_c2, double *m, double *v, double *w, const double *g),
             adam_body(n, step, root_c2, m, v, w, g))
ISA_VARIANTS(sgd, (size_t n, double lr, double mu, int first, double *b, double *w, const double *g),
             sgd_body(n, lr, mu, first, b, w, g))

void lyap_optimizer_step(lyap_optimizer *o, double *w, const double *g)
{
    lyap_variates_isa isa = lyap_mlp_isa();
    o->steps++;
    if (o->kind == LYAP_OPTIM_SGD) {
        (isa == LYAP_ISA_AVX512 ? sgd_avx512 : isa == LYAP_ISA_AVX2 ? sgd_avx2 : sgd_sse2)(
            o->n, o->lr, o->momentum, o->steps == 1, o->m, w, g);
        return;
    }
    double step = o->lr / (1 - pow(beta1, (double)o->steps)), root_c2 = sqrt(1 - pow(beta2, (double)o->steps));
    (isa == LYAP_ISA_AVX512 ? adam_avx512 : isa == LYAP_ISA_AVX2 ? adam_avx2 : adam_sse2)(o->n, step, root_c2, o->m,
                                                                                          o->v, w, g);
}

void lyap_optimizer_destroy(lyap_optimizer **o)
{
    if (!o || !*o)
        return;
    free((*o)->m);
    free((*o)->v);
    free(*o);
    *o = NULL;
}
