/* propagate.c: GEMM path of the Monte Carlo (DESIGN.md, "propagate").
 *
 * Activations are renormalized to unit length every layer, so any depth is
 * safe and log-norms accumulate in double (DESIGN.md, Principles).
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lyapdiag/error.h"
#include "lyapdiag/propagate.h"
#include "lyapdiag/rng.h"
#include "lyapdiag/weights.h"

struct lyap_propagate_plan_s {
    int d, batch;
    double a;
    lyap_weights *sampler;
    double *W;     /* [d*d] this layer's weights, column-major */
    double *x;     /* [d*batch] unit activations, one column per input */
    double *y;     /* [d*batch] pre-activations */
    /* current replica */
    uint64_t seed, task_key;
    int replica;
    long layer;
    double s2;
};

int lyap_propagate_plan_create(lyap_family f, int d, double a, int batch, lyap_propagate_plan *out)
{
    struct lyap_propagate_plan_s *p;
    *out = NULL;
    LYAP_CALL(lyap_alloc(&p, 1, sizeof *p, "propagate plan"));
    p->d = d;
    p->a = a;
    p->batch = batch;
    size_t cells = (size_t)d * batch;
    int status = lyap_weights_create(f, d, &p->sampler);
    if (status == LYAP_OK)
        status = lyap_alloc(&p->W, (size_t)d * d, sizeof *p->W, "weight matrix");
    if (status == LYAP_OK)
        status = lyap_alloc(&p->x, cells, sizeof *p->x, "activations");
    if (status == LYAP_OK)
        status = lyap_alloc(&p->y, cells, sizeof *p->y, "pre-activations");
    if (status != LYAP_OK) {
        lyap_propagate_plan_destroy(&p);
        return status;
    }
    *out = p;
    return LYAP_OK;
}

/* Scales each column of X (d x batch) to unit length and returns the log of
 * its old norm in LOGNORM; a zero column stays zero with log-norm -inf. */
static void normalize_columns(int d, int batch, double *x, double *lognorm)
{
    for (int j = 0; j < batch; j++) {
        double *col = x + (size_t)j * d;
        double norm = cblas_dnrm2(d, col, 1);
        lognorm[j] = log(norm); /* -inf for a dead column */
        if (norm > 0)
            cblas_dscal(d, 1.0 / norm, col, 1);
    }
}

void lyap_propagate_start(lyap_propagate_plan p, uint64_t seed, uint64_t task_key, int replica, double s2)
{
    lyap_rng rng;
    double *unused_lognorm = p->y; /* scratch: y is rewritten every layer */
    p->seed = seed;
    p->task_key = task_key;
    p->replica = replica;
    p->layer = 0;
    p->s2 = s2;
    /* A normalized Gaussian vector is uniform on the sphere. */
    lyap_rng_init(&rng, seed, task_key, (uint64_t)replica, 0, LYAP_RNG_INPUTS);
    lyap_rng_normal(&rng, p->x, (size_t)p->d * p->batch);
    normalize_columns(p->d, p->batch, p->x, unused_lognorm);
}

int lyap_propagate_layer(lyap_propagate_plan p, double *increments)
{
    lyap_rng rng;
    int d = p->d, batch = p->batch;
    size_t cells = (size_t)d * batch;
    p->layer++;
    lyap_rng_init(&rng, p->seed, p->task_key, (uint64_t)p->replica, (uint64_t)p->layer, LYAP_RNG_WEIGHTS);
    LYAP_CALL(lyap_weights_draw(p->sampler, &rng, p->s2, p->W));
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, d, batch, d, 1.0, p->W, d, p->x, d, 0.0, p->y, d);
    for (size_t i = 0; i < cells; i++) /* phi(z) = max(z, a z) for 0 <= a <= 1 */
        p->y[i] = p->y[i] > 0 ? p->y[i] : p->a * p->y[i];
    normalize_columns(d, batch, p->y, increments);
    double *swap = p->x; /* x_{l-1} had unit norm, so log|y| is the increment */
    p->x = p->y;
    p->y = swap;
    return LYAP_OK;
}

void lyap_propagate_plan_destroy(lyap_propagate_plan *p)
{
    if (!p || !*p)
        return;
    lyap_weights_destroy(&(*p)->sampler);
    free((*p)->W);
    free((*p)->x);
    free((*p)->y);
    free(*p);
    *p = NULL;
}

void lyap_propagate_set_blas_threads(int nthreads)
{
    openblas_set_num_threads(nthreads);
}
