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

/* The sizes of a task's result: the deck's variance and depth axes, and
 * the spectrum_index axis (0 when [sampling] spectrum is off). */
typedef struct {
    int nvariances, ndepths, nspectrum;
} lyap_result_dims;

/* The result sizes of DECK (the same for every task, so MPI messages have
 * one length; narrower widths leave their extra spectrum entries NaN). */
lyap_result_dims lyap_result_dims_of_deck(const lyap_deck *deck);

/* Axes of a result field after (family, width, slope). */
typedef enum {
    LYAP_SHAPE_TASK,             /* one value */
    LYAP_SHAPE_VARIANCE,         /* [nvariances] */
    LYAP_SHAPE_DEPTH,            /* [ndepths] */
    LYAP_SHAPE_VARIANCE_DEPTH,   /* [nvariances * ndepths], variance-major */
    LYAP_SHAPE_VARIANCE_SPECTRUM /* [nvariances * nspectrum], variance-major */
} lyap_shape;

/* Number of values of a field of SHAPE. */
size_t lyap_shape_size(lyap_shape shape, lyap_result_dims dims);

/* A task's results, all in one contiguous buffer of doubles (so MPI can
 * ship it as is); the pointers below index into BUF. Units: exponents per
 * layer (natural log); variances of the grid in s2 units. */
typedef struct {
    lyap_result_dims dims;
    size_t length;              /* number of doubles in buf */
    double *buf;
    /* LYAP_SHAPE_VARIANCE */
    double *lambda, *lambda_stderr, *lambda_theory;
    double *clt_variance, *clt_variance_stderr, *clt_variance_theory;
    double *phase;              /* -1 vanishing, 0 critical (|lambda| < 3 stderr + 1e-12), +1 exploding */
    double *isometry_gap, *isometry_gap_stderr; /* lambda_1 - lambda_K (NaN when the spectrum is off) */
    /* LYAP_SHAPE_VARIANCE_DEPTH */
    double *logn_mean, *logn_var;
    /* P(|x_L| < eps |x_0|) and P(|x_L| > |x_0| / eps): Monte Carlo, its
     * stderr, and the exact law's value (gaussian, orthogonal; else NaN) */
    double *p_vanish, *p_vanish_stderr, *p_vanish_theory;
    double *p_explode, *p_explode_stderr, *p_explode_theory;
    /* LYAP_SHAPE_VARIANCE_SPECTRUM: lambda_1 >= ... >= lambda_K */
    double *spectrum, *spectrum_stderr, *spectrum_theory;
    /* LYAP_SHAPE_DEPTH */
    double *survival;           /* fraction of samples not mapped to 0 (ReLU) */
    /* LYAP_SHAPE_TASK */
    double *variance_crit, *variance_crit_stderr, *variance_crit_theory;
    double *death_probability;  /* per layer: 2^-d at slope 0, else 0 */
    double *replicas_used;      /* replicas run (per simulation; fewer than the cap when adaptive) */
    double *autocorr_time, *autocorr_time_stderr; /* tau_int of the increments: 1/2 if i.i.d. */
} lyap_task_result;

/* Number of doubles in a result buffer of DIMS. */
size_t lyap_task_result_length(lyap_result_dims dims);

/* Allocates RESULT's buffer (NaN-filled) for DIMS and sets its pointers. */
int lyap_task_result_init(lyap_task_result *result, lyap_result_dims dims);

/* Frees RESULT's buffer; safe on a zeroed result. */
void lyap_task_result_free(lyap_task_result *result);

/* Called after every replica with the fraction of the task done; a
 * non-OK return aborts the task with that status. May be NULL. */
typedef int (*lyap_poll_fn)(void *ctx, double fraction_done);

/* Runs the Monte Carlo of SPEC and fills RESULT (initialized for SPEC's
 * sizes). Deterministic: depends only on SPEC. Returns LYAP_OK, LYAP_ENOMEM,
 * LYAP_ELAPACK, LYAP_EMATH, or POLL's status. */
int lyap_estimate_task(const lyap_task_spec *spec, lyap_task_result *result, lyap_poll_fn poll,
                       void *poll_ctx);

/* Batch length b of the CLT variance estimator for a series of L layers:
 * floor(sqrt(L)) (batch means; unbiased for i.i.d. increments). */
int lyap_estimate_clt_batch_length(int depth);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_ESTIMATE_H */
