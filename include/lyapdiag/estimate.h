/* estimate.h: estimators for one task (family, width, slope): the Lyapunov
 * exponent, its standard error, the CLT variance, finite-depth moments, the
 * boundary, and the exact theory beside them, for every variance of the grid.
 *
 * Statistics follow DESIGN.md: the columns of one replica share its weights
 * and are correlated, so every standard error comes from replica-level
 * means, which are independent.
 */
#ifndef LYAPDIAG_ESTIMATE_H
#define LYAPDIAG_ESTIMATE_H

#include <stddef.h>
#include <stdint.h>

#include "lyapdiag/deck.h"
#include "lyapdiag/family.h"
#include "lyapdiag/result.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Rounding floor of a Monte Carlo lambda (renormalized double sums): the
 * phase is critical when |lambda| < 3 stderr + this. */
#define LYAP_LAMBDA_ROUNDING 1e-12

/* What one task computes. */
typedef struct {
    lyap_family family;
    int width;
    double slope;
    int nvariances;
    const double *variances; /* grid variances s2 (eta^2 for orthogonal) */
    int ndepths;
    const int *depths;       /* recorded depths, increasing; the last is simulated */
    uint64_t seed;
    int replicas;            /* all of them, or the cap when target_stderr > 0 */
    double target_stderr;    /* > 0: stop once lambda's stderr is at most this */
    int batch;
    int verify_homogeneity;  /* 1: simulate every variance; 0: exact shift */
    lyap_method method;      /* auto, exact or matrix (deck's [sampling] method) */
    lyap_precision precision; /* of the matrix path */
    int spectrum;            /* top exponents to compute at this width (0 = off) */
    double eps;              /* threshold of p_vanish and p_explode */
} lyap_task_spec;

/* Called after every replica with the fraction of the task done; a
 * non-OK return aborts the task with that status. May be NULL. */
typedef int (*lyap_poll_fn)(void *ctx, double fraction_done);

/* Runs the Monte Carlo of SPEC and fills RESULT (initialized for SPEC's
 * sizes). Deterministic: depends only on SPEC. Returns LYAP_OK, LYAP_ENOMEM,
 * LYAP_ELAPACK, LYAP_EMATH, or POLL's status. */
int lyap_estimate_task(const lyap_task_spec *spec, lyap_task_result *result, lyap_poll_fn poll,
                       void *poll_ctx);

/* Bytes lyap_estimate_task needs for SPEC: the weights and activations
 * (d x d, d x batch), the QR workspace, the spectrum's frames (about
 * 3 d x K), on the matrix path each replica's increment series (L x batch)
 * with the autocorrelation's bins, and the per-(variance, depth)
 * statistics and result. A model (within ~1 MiB), for refusing decks that
 * cannot fit before any large allocation. */
double lyap_estimate_task_bytes(const lyap_task_spec *spec);

/* Batch length b of the CLT variance estimator for a series of L layers:
 * floor(sqrt(L)) (batch means; unbiased for i.i.d. increments). */
int lyap_estimate_clt_batch_length(int depth);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_ESTIMATE_H */
