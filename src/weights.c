/* weights.c: weight samplers (THEORY.md, "Weight families"). */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>

#include "lyapdiag/error.h"
#include "lyapdiag/weights.h"

struct lyap_weights_s {
    lyap_family family;
    int d;
    double *tau;  /* [d] Householder scalars (orthogonal) */
    double *sign; /* [d] sign(R_jj), saved before dorgqr overwrites R */
    double *work; /* [lwork] LAPACK workspace (orthogonal) */
    lapack_int lwork;
};

static int lapack_check(lapack_int info, const char *routine, int d)
{
    if (info != 0)
        return lyap_fail(LYAP_ELAPACK, "LAPACKE_%s failed with info = %d at width %d",
                         routine, (int)info, d);
    return LYAP_OK;
}

static int create_qr_workspace(lyap_weights *w)
{
    int d = w->d;
    double query_geqrf, query_orgqr, dummy = 0;
    LYAP_CALL(lyap_alloc(&w->tau, (size_t)d, sizeof *w->tau, "QR tau"));
    LYAP_CALL(lyap_alloc(&w->sign, (size_t)d, sizeof *w->sign, "QR signs"));
    LYAP_CALL(lapack_check(LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, d, d, &dummy, d, w->tau,
                                               &query_geqrf, -1), "dgeqrf", d));
    LYAP_CALL(lapack_check(LAPACKE_dorgqr_work(LAPACK_COL_MAJOR, d, d, d, &dummy, d, w->tau,
                                               &query_orgqr, -1), "dorgqr", d));
    w->lwork = (lapack_int)fmax(fmax(query_geqrf, query_orgqr), 1);
    return lyap_alloc(&w->work, (size_t)w->lwork, sizeof *w->work, "QR workspace");
}

int lyap_weights_create(lyap_family f, int d, lyap_weights **out)
{
    lyap_weights *w;
    *out = NULL;
    LYAP_CALL(lyap_alloc(&w, 1, sizeof *w, "weight sampler"));
    w->family = f;
    w->d = d;
    if (f == LYAP_FAMILY_ORTHOGONAL) {
        int status = create_qr_workspace(w);
        if (status != LYAP_OK) {
            lyap_weights_destroy(&w);
            return status;
        }
    }
    *out = w;
    return LYAP_OK;
}

/* A Haar orthogonal matrix (Mezzadri 2007): Q of a Gaussian matrix's QR
 * with column j times sign(R_jj), which makes the law exactly Haar
 * (LAPACK's Q alone is not). */
static int draw_haar(lyap_weights *w, lyap_rng *rng, double *W)
{
    int d = w->d;
    lyap_rng_normal(rng, W, (size_t)d * d);
    LYAP_CALL(lapack_check(LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, d, d, W, d, w->tau, w->work,
                                               w->lwork), "dgeqrf", d));
    for (int j = 0; j < d; j++)
        w->sign[j] = W[(size_t)j * d + j] < 0 ? -1.0 : 1.0;
    LYAP_CALL(lapack_check(LAPACKE_dorgqr_work(LAPACK_COL_MAJOR, d, d, d, W, d, w->tau, w->work,
                                               w->lwork), "dorgqr", d));
    for (int j = 0; j < d; j++)
        for (int i = 0; i < d; i++)
            W[(size_t)j * d + i] *= w->sign[j];
    return LYAP_OK;
}

int lyap_weights_draw(lyap_weights *w, lyap_rng *rng, double s2, double *W, double *scale)
{
    size_t n = (size_t)w->d * w->d;
    switch (w->family) {
    case LYAP_FAMILY_GAUSSIAN:
        *scale = sqrt(s2 / w->d);
        lyap_rng_normal(rng, W, n);
        return LYAP_OK;
    case LYAP_FAMILY_ORTHOGONAL:
        *scale = sqrt(s2);
        return draw_haar(w, rng, W);
    case LYAP_FAMILY_UNIFORM:
        *scale = sqrt(3.0 * s2 / w->d);
        lyap_rng_uniform(rng, W, n);
        for (size_t i = 0; i < n; i++)
            W[i] = 2.0 * W[i] - 1.0;
        return LYAP_OK;
    default:
        return lyap_fail(LYAP_EINTERNAL, "weights: no sampler for family %d", (int)w->family);
    }
}

void lyap_weights_destroy(lyap_weights **w)
{
    if (!w || !*w)
        return;
    free((*w)->tau);
    free((*w)->sign);
    free((*w)->work);
    free(*w);
    *w = NULL;
}
