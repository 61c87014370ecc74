/* optim.c: Adam and SGD with heavy-ball momentum (optim.h). */
#include "lyapdiag/optim.h"

#include <math.h>
#include <stdlib.h>

#include "lyapdiag/error.h"

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

void lyap_optimizer_step(lyap_optimizer *o, double *w, const double *g)
{
    o->steps++;
    if (o->kind == LYAP_OPTIM_SGD) {
        for (size_t i = 0; i < o->n; i++) {
            o->m[i] = o->steps == 1 ? g[i] : o->momentum * o->m[i] + g[i];
            w[i] -= o->lr * o->m[i];
        }
        return;
    }
    /* PyTorch's order of operations: step size lr / (1 - b1^t), denominator
     * sqrt(v) / sqrt(1 - b2^t) + eps. */
    double step = o->lr / (1 - pow(beta1, (double)o->steps)), root_c2 = sqrt(1 - pow(beta2, (double)o->steps));
    for (size_t i = 0; i < o->n; i++) {
        o->m[i] = beta1 * o->m[i] + (1 - beta1) * g[i];
        o->v[i] = beta2 * o->v[i] + (1 - beta2) * g[i] * g[i];
        w[i] -= step * o->m[i] / (sqrt(o->v[i]) / root_c2 + adam_eps);
    }
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
