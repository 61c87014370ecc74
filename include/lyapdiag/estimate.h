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
    int nbias_variances;     /* 0 = no biases; else every (variance, bias variance) runs the signal chain */
    const double *bias_variances; /* [grid] bias_variances sb2 >= 0 */
    double input_m0;         /* |x_0|^2/d of the signal chain's inputs (with biases) */
    int input_cosine_on;     /* 1: pairs of inputs at cosine input_cosine (corr_* outputs) */
    double input_cosine;
    int block_replicas;      /* replicas per work unit (lyap_grid_block_replicas; with target_stderr
                                one round of LYAP_ADAPTIVE_ROUND); 0 = LYAP_ESTIMATE_DEFAULT_BLOCK,
                                or one round when adaptive */
} lyap_task_spec;

/* Replicas per block when the spec leaves it 0 (decks get theirs from
 * lyap_grid_block_replicas). */
#define LYAP_ESTIMATE_DEFAULT_BLOCK 64

/* Called after every replica, and every 512 layers inside one, with the
 * fraction of the task done; a non-OK return aborts the task with that
 * status. May be NULL. */
typedef int (*lyap_poll_fn)(void *ctx, double fraction_done);

/* Runs the Monte Carlo of SPEC and fills RESULT (initialized for SPEC's
 * sizes): its blocks in order, merged and finished as below, stopping
 * where the adaptive rule says. Deterministic: depends only on SPEC (the
 * same bits as any schedule of its blocks over ranks). Returns LYAP_OK, LYAP_ENOMEM,
 * LYAP_ELAPACK, LYAP_EMATH, or POLL's status. */
int lyap_estimate_task(const lyap_task_spec *spec, lyap_task_result *result, lyap_poll_fn poll,
                       void *poll_ctx);

/* ---- work units (DESIGN.md, "MPI") -------------------------------------------
 * A task's replicas run in blocks of B consecutive replicas (block b:
 * replicas b B .. min((b+1) B, replicas) - 1, of every simulation and of
 * the spectrum). Each block runs into a flat array of doubles, its block
 * state: every statistic the task accumulates over replicas (lambda and v,
 * the per-depth moments and live counts, the tail fractions, the matrix
 * path's autocorrelation sums, the spectrum, deaths, replicas), and, in
 * block 0, the task's exact theory. Merging block states in block order
 * into a prefix state (Chan's formula for the running moments, sums for
 * the rest) and finishing gives the result: it depends only on the spec,
 * never on which rank ran which block or when. States ship as MPI
 * messages, wait on rank 0 and go into checkpoints packed (pack.h); a
 * task's prefix is kept whole while blocks merge into it. */

/* A block or prefix state as it is shipped and kept: LENGTH doubles,
 * either the whole state (lyap_estimate_state_length) or, if PACKED, its
 * lyap_pack form; its header says which blocks it holds. */
typedef struct {
    size_t length;
    const double *values;
    int packed;
} lyap_block_state;

/* lyap_estimate_state_first / _blocks of a state in either form. */
int lyap_block_state_first(const lyap_block_state *state);
int lyap_block_state_blocks(const lyap_block_state *state);

/* B for SPEC: spec->block_replicas, or its default. */
int lyap_estimate_block_replicas(const lyap_task_spec *spec);

/* Number of blocks of SPEC at its cap: ceil(replicas / B). */
int lyap_estimate_block_count(const lyap_task_spec *spec);

/* Doubles in one block (or prefix) state of SPEC: the same for every
 * block of a task. */
size_t lyap_estimate_state_length(const lyap_task_spec *spec);

/* Sets STATE to the empty prefix (no block merged). */
void lyap_estimate_state_clear(const lyap_task_spec *spec, double *state);

/* Runs block BLOCK (0 <= block < lyap_estimate_block_count) of SPEC into
 * STATE (lyap_estimate_state_length doubles, overwritten). Deterministic:
 * depends only on SPEC and BLOCK. POLL gets the fraction of the block done
 * after every replica. Returns LYAP_OK, LYAP_ENOMEM, LYAP_ELAPACK,
 * LYAP_EMATH, LYAP_EINTERNAL (bad spec or block) or POLL's status. */
int lyap_estimate_run_block(const lyap_task_spec *spec, int block, double *state, lyap_poll_fn poll,
                            void *poll_ctx);

/* Merges block state BLOCK into prefix state PREFIX, which must hold
 * exactly the blocks before it (LYAP_EINTERNAL otherwise), then applies the
 * adaptive rule (target_stderr) to the merged prefix: a simulation that
 * reached its target stops, and later blocks leave it unchanged. LYAP_OK. */
int lyap_estimate_merge_block(const lyap_task_spec *spec, double *prefix, const double *block);

/* Blocks merged into prefix STATE (for a block state: 1); the first is
 * lyap_estimate_state_first. */
int lyap_estimate_state_blocks(const double *state);
int lyap_estimate_state_first(const double *state);

/* 1 if prefix STATE needs no more blocks: every simulation reached its
 * target, or every block is merged. */
int lyap_estimate_state_finished(const double *state);

/* Replicas of the first simulation merged into prefix STATE (the
 * replicas_used of the result). */
double lyap_estimate_state_replicas(const double *state);

/* Fills RESULT (initialized for SPEC's sizes) from a finished prefix
 * state. Returns LYAP_OK, LYAP_ENOMEM or LYAP_EMATH. */
int lyap_estimate_finish(const lyap_task_spec *spec, const double *prefix, lyap_task_result *result);

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
