/* spectrum.c: Lyapunov spectrum by the QR (Benettin) method; see
 * spectrum.h for the two paths and THEORY.md for the mathematics. */
#include <math.h>
#include <stdlib.h>

#include "lyapdiag/error.h"
#include "lyapdiag/propagate.h"
#include "lyapdiag/rng.h"
#include "lyapdiag/spectrum.h"
#include "lyapdiag/weights.h"

struct lyap_spectrum_plan_s {
    lyap_family family;
    int d, k;          /* width, exponents wanted */
    int tracked;       /* columns of the frame: k, or min(k, h) for looks-linear */
    int h;             /* looks-linear block size d/2, else 0 */
    double a;
    int shortcut;      /* draw Y = W Q directly (rotation-invariant families) */
    double log_scale;  /* per-layer log of the shortcut's unit-variance scale */
    lyap_qr *qr;       /* d x tracked */
    lyap_weights *sampler; /* full path: W (d x d) or its block A (h x h) */
    double *W;         /* full path: the weights or the block */
    double *Q;         /* full path: the tangent frame, d x tracked */
    double *Y;         /* D W Q, d x tracked */
    double *T;         /* looks-linear: Q's top minus bottom half, h x tracked */
    double *sums;      /* [tracked] sums of log R_ii */
};

void lyap_spectrum_plan_destroy(lyap_spectrum_plan *plan)
{
    if (!plan || !*plan)
        return;
    lyap_spectrum_plan p = *plan;
    lyap_qr_destroy(&p->qr);
    lyap_weights_destroy(&p->sampler);
    free(p->W);
    free(p->Q);
    free(p->Y);
    free(p->T);
    free(p->sums);
    free(p);
    *plan = NULL;
}

static int allocate_full_path(lyap_spectrum_plan p)
{
    int n = p->h ? p->h : p->d;
    LYAP_CALL(lyap_weights_create(lyap_family_info_of(p->family)->entries, n, &p->sampler));
    LYAP_CALL(lyap_alloc(&p->W, (size_t)n * n, sizeof *p->W, "spectrum weights"));
    LYAP_CALL(lyap_alloc(&p->Q, (size_t)p->d * p->tracked, sizeof *p->Q, "spectrum frame"));
    if (p->h)
        LYAP_CALL(lyap_alloc(&p->T, (size_t)p->h * p->tracked, sizeof *p->T, "spectrum differences"));
    return LYAP_OK;
}

int lyap_spectrum_plan_create(lyap_family f, int d, double a, int k, lyap_method method,
                              lyap_spectrum_plan *plan)
{
    lyap_spectrum_plan p;
    const lyap_family_info *info = lyap_family_info_of(f);
    *plan = NULL;
    if (!info || d < 1 || k < 1 || k > d || !(a >= 0 && a <= 1) || method == LYAP_METHOD_AUTO ||
        (method == LYAP_METHOD_EXACT && !info->exact_law))
        return lyap_fail(LYAP_EINTERNAL, "spectrum: bad plan (family %s, d = %d, a = %g, K = %d, method %s)",
                         lyap_family_name(f), d, a, k, lyap_method_name(method));
    LYAP_CALL(lyap_alloc(&p, 1, sizeof *p, "spectrum plan"));
    p->family = f;
    p->d = d;
    p->k = k;
    p->a = a;
    p->h = info->looks_linear ? d / 2 : 0;
    p->tracked = p->h && k > p->h ? p->h : k;
    p->shortcut = method == LYAP_METHOD_EXACT;
    p->log_scale = p->shortcut && info->entries == LYAP_ENTRIES_NORMAL ? -0.5 * log((double)d) : 0.0;
    int status = lyap_qr_create(d, p->tracked, &p->qr);
    if (status == LYAP_OK)
        status = lyap_alloc(&p->Y, (size_t)d * p->tracked, sizeof *p->Y, "spectrum image");
    if (status == LYAP_OK)
        status = lyap_alloc(&p->sums, (size_t)p->tracked, sizeof *p->sums, "spectrum sums");
    if (status == LYAP_OK && !p->shortcut)
        status = allocate_full_path(p);
    if (status != LYAP_OK)
        lyap_spectrum_plan_destroy(&p);
    *plan = p;
    return status;
}

/* Y = W Q at unit scale: this layer's weights times the frame (for
 * looks-linear through its block). */
static int full_image(lyap_spectrum_plan p, lyap_rng *rng)
{
    double scale;
    LYAP_CALL(lyap_weights_draw(p->sampler, rng, 1.0, p->W, &scale));
    lyap_propagate_multiply(p->d, p->h, p->tracked, scale, p->W, p->Q, p->T, p->Y);
    return LYAP_OK;
}

/* Shortcut: Y = W Q drawn directly, independent of Q (rotation invariance):
 * i.i.d. N(0, 1) entries (the 1/sqrt(d) goes to log_scale), or a Haar frame. */
static int shortcut_image(lyap_spectrum_plan p, lyap_rng *rng)
{
    if (lyap_family_info_of(p->family)->entries == LYAP_ENTRIES_HAAR)
        return lyap_haar_frame(p->qr, rng, p->Y);
    lyap_rng_normal(rng, p->Y, (size_t)p->d * p->tracked);
    return LYAP_OK;
}

/* Y <- D Y with D = diag(phi'(z)): z = W x_{l-1} lies along Y's first
 * column (x_{l-1} is a positive multiple of Q's first column, R_11 > 0). */
static void apply_derivative(lyap_spectrum_plan p)
{
    int d = p->d;
    for (int i = 0; i < d; i++)
        if (p->Y[i] < 0)
            for (int j = 0; j < p->tracked; j++)
                p->Y[(size_t)j * d + i] *= p->a;
}

int lyap_spectrum_replica(lyap_spectrum_plan p, uint64_t seed, uint64_t task_key, int replica, int depth,
                          int burn_in, double *exponents, int (*poll)(void *ctx, int layer), void *ctx)
{
    lyap_rng rng;
    int k = p->tracked;
    if (depth <= burn_in)
        return lyap_fail(LYAP_EINTERNAL, "spectrum: depth %d leaves no layer after a burn-in of %d", depth, burn_in);
    if (!p->shortcut) { /* the input is the frame's first column */
        lyap_rng_init(&rng, seed, task_key, (uint64_t)replica, 0, LYAP_RNG_SPECTRUM);
        LYAP_CALL(lyap_haar_frame(p->qr, &rng, p->Q));
    }
    for (int j = 0; j < k; j++)
        p->sums[j] = 0;
    for (int layer = 1; layer <= depth; layer++) {
        lyap_rng_init(&rng, seed, task_key, (uint64_t)replica, (uint64_t)layer, LYAP_RNG_SPECTRUM);
        LYAP_CALL(p->shortcut ? shortcut_image(p, &rng) : full_image(p, &rng));
        apply_derivative(p);
        LYAP_CALL(lyap_qr_positive(p->qr, p->Y, !p->shortcut));
        const double *r = lyap_qr_diagonal(p->qr);
        for (int j = 0; layer > burn_in && j < k; j++)
            p->sums[j] += log(r[j]);
        if (!p->shortcut) { /* Y now holds the next frame */
            double *next = p->Y;
            p->Y = p->Q;
            p->Q = next;
        }
        if (poll)
            LYAP_CALL(poll(ctx, layer));
    }
    for (int j = 0; j < p->k; j++)
        exponents[j] = j < k ? p->sums[j] / (depth - burn_in) + p->log_scale : -INFINITY;
    return LYAP_OK;
}
