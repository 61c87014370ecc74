/* weights.c: weight samplers (THEORY.md, "Weight families"). */
#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "lyapdiag/error.h"
#include "lyapdiag/weights.h"

struct lyap_qr_s {
    int m, n;
    double *tau;  /* [n] Householder scalars */
    double *rdiag; /* [n] diagonal of R, made positive by the sign fix */
    double *work; /* [lwork] LAPACK workspace */
    lapack_int lwork;
};

struct lyap_weights_s {
    lyap_entry_law entries;
    int d;
    lyap_qr *qr; /* orthogonal: the QR behind each Haar draw */
};

static int lapack_check(lapack_int info, const char *routine, int m, int n)
{
    if (info != 0)
        return lyap_fail(LYAP_ELAPACK, "LAPACKE_%s failed with info = %d on a %d x %d matrix",
                         routine, (int)info, m, n);
    return LYAP_OK;
}

int lyap_qr_create(int m, int n, lyap_qr **out)
{
    lyap_qr *qr;
    double query_geqrf, query_orgqr, dummy = 0;
    *out = NULL;
    if (m < n || n < 1)
        return lyap_fail(LYAP_EINTERNAL, "QR of a %d x %d matrix: needs m >= n >= 1", m, n);
    LYAP_CALL(lyap_alloc(&qr, 1, sizeof *qr, "QR workspace"));
    qr->m = m;
    qr->n = n;
    int status = lyap_alloc(&qr->tau, (size_t)n, sizeof *qr->tau, "QR tau");
    if (status == LYAP_OK)
        status = lyap_alloc(&qr->rdiag, (size_t)n, sizeof *qr->rdiag, "QR diagonal");
    if (status == LYAP_OK)
        status = lapack_check(LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, m, n, &dummy, m, qr->tau, &query_geqrf, -1),
                              "dgeqrf", m, n);
    if (status == LYAP_OK)
        status = lapack_check(LAPACKE_dorgqr_work(LAPACK_COL_MAJOR, m, n, n, &dummy, m, qr->tau, &query_orgqr, -1),
                              "dorgqr", m, n);
    if (status == LYAP_OK) {
        qr->lwork = (lapack_int)fmax(fmax(query_geqrf, query_orgqr), 1);
        status = lyap_alloc(&qr->work, (size_t)qr->lwork, sizeof *qr->work, "QR workspace");
    }
    if (status != LYAP_OK)
        lyap_qr_destroy(&qr);
    *out = qr;
    return status;
}

int lyap_qr_positive(lyap_qr *qr, double *A, int want_q)
{
    int m = qr->m, n = qr->n;
    double *rdiag = qr->rdiag;
    LYAP_CALL(lapack_check(LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, m, n, A, m, qr->tau, qr->work, qr->lwork),
                           "dgeqrf", m, n));
    for (int j = 0; j < n; j++)
        rdiag[j] = A[(size_t)j * m + j];
    if (want_q)
        LYAP_CALL(lapack_check(LAPACKE_dorgqr_work(LAPACK_COL_MAJOR, m, n, n, A, m, qr->tau, qr->work,
                                                   qr->lwork), "dorgqr", m, n));
    /* Column j of Q times sign(R_jj) (and row j of R): the factorization
     * with R_jj > 0, unique, which makes Q of a Gaussian matrix exactly
     * Haar (Mezzadri 2007; LAPACK's Q alone is not). */
    for (int j = 0; j < n; j++) {
        if (rdiag[j] >= 0)
            continue;
        rdiag[j] = -rdiag[j];
        for (int i = 0; want_q && i < m; i++)
            A[(size_t)j * m + i] = -A[(size_t)j * m + i];
    }
    return LYAP_OK;
}

const double *lyap_qr_diagonal(const lyap_qr *qr)
{
    return qr->rdiag;
}

void lyap_qr_destroy(lyap_qr **qr)
{
    if (!qr || !*qr)
        return;
    free((*qr)->tau);
    free((*qr)->rdiag);
    free((*qr)->work);
    free(*qr);
    *qr = NULL;
}

int lyap_weights_create(lyap_entry_law entries, int d, lyap_weights **out)
{
    lyap_weights *w;
    *out = NULL;
    LYAP_CALL(lyap_alloc(&w, 1, sizeof *w, "weight sampler"));
    w->entries = entries;
    w->d = d;
    if (w->entries == LYAP_ENTRIES_HAAR) {
        int status = lyap_qr_create(d, d, &w->qr);
        if (status != LYAP_OK) {
            lyap_weights_destroy(&w);
            return status;
        }
    }
    *out = w;
    return LYAP_OK;
}

int lyap_haar_frame(lyap_qr *qr, lyap_rng *rng, double *Q)
{
    lyap_rng_normal(rng, Q, (size_t)qr->m * qr->n);
    return lyap_qr_positive(qr, Q, 1);
}

/* N signs +-1 into W, one random bit each (bit b of word w is entry
 * 32 w + b): a d x d matrix costs d^2/32 words, not d^2 variates. Words come
 * a chunk (512) at a time into a small buffer; the signs depend only on the
 * stream. */
static void draw_signs(lyap_rng *rng, double *W, size_t n)
{
    enum { WORDS = 512 }; /* one chunk of 128 Philox blocks */
    uint32_t bits[WORDS];
    for (size_t done = 0; done < n;) {
        size_t words = (n - done + 31) / 32;
        words = words < WORDS ? words : WORDS;
        lyap_rng_bits(rng, bits, words);
        for (size_t w = 0; w < words; w++) {
            /* 2 bit - 1, branch-free over a whole word: the loop vectorizes
             * (a per-entry branch cost 44% of a rademacher run) */
            size_t count = n - done < 32 ? n - done : 32;
            double *out = W + done;
            if (count == 32)
                for (int b = 0; b < 32; b++)
                    out[b] = (double)(int)(((bits[w] >> b) & 1u) * 2u) - 1.0;
            else
                for (size_t b = 0; b < count; b++)
                    out[b] = (double)(int)(((bits[w] >> b) & 1u) * 2u) - 1.0;
            done += count;
        }
    }
}

/* The factor that turns W's entries (THEORY.md's laws before scaling) into
 * weights of grid variance S2: entries of variance s2/d, or eta = sqrt(s2)
 * times a Haar matrix. */
static double entry_scale(const lyap_weights *w, double s2)
{
    switch (w->entries) {
    case LYAP_ENTRIES_HAAR:
        return sqrt(s2);
    case LYAP_ENTRIES_UNIFORM: /* U(-1, 1) has variance 1/3 */
        return sqrt(3.0 * s2 / w->d);
    default: /* normal and sign entries have variance 1 */
        return sqrt(s2 / w->d);
    }
}

int lyap_weights_draw(lyap_weights *w, lyap_rng *rng, double s2, double *W, double *scale)
{
    size_t n = (size_t)w->d * w->d;
    *scale = entry_scale(w, s2);
    switch (w->entries) {
    case LYAP_ENTRIES_NORMAL:
        lyap_rng_normal(rng, W, n);
        return LYAP_OK;
    case LYAP_ENTRIES_HAAR:
        return lyap_haar_frame(w->qr, rng, W);
    case LYAP_ENTRIES_UNIFORM:
        lyap_rng_uniform_symmetric(rng, W, n);
        return LYAP_OK;
    case LYAP_ENTRIES_SIGN:
        draw_signs(rng, W, n);
        return LYAP_OK;
    }
    return lyap_fail(LYAP_EINTERNAL, "weights: no sampler for entry law %d", (int)w->entries);
}

int lyap_weights_draw_float(lyap_weights *w, lyap_rng *rng, double s2, float *W, double *scale)
{
    size_t n = (size_t)w->d * w->d;
    *scale = entry_scale(w, s2);
    switch (w->entries) {
    case LYAP_ENTRIES_NORMAL:
        lyap_rng_normal_float(rng, W, n);
        return LYAP_OK;
    case LYAP_ENTRIES_UNIFORM:
        lyap_rng_uniform_symmetric_float(rng, W, n);
        return LYAP_OK;
    case LYAP_ENTRIES_HAAR:
    case LYAP_ENTRIES_SIGN:
        break;
    }
    return lyap_fail(LYAP_EINTERNAL, "weights: no single-precision sampler for entry law %d", (int)w->entries);
}

void lyap_weights_destroy(lyap_weights **w)
{
    if (!w || !*w)
        return;
    lyap_qr_destroy(&(*w)->qr);
    free(*w);
    *w = NULL;
}
