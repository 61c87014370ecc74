/* propagate.h: the Monte Carlo kernels. Push a batch of unit inputs
 * through one random network, layer by layer, and return the per-column
 * log-norm increments log(|x_l| / |x_{l-1}|).
 *
 * Two paths (DESIGN.md): the matrix path draws fresh weights every layer,
 * applies them (OpenBLAS GEMM) and the Leaky ReLU, and renormalizes; it
 * serves every family. The exact path, for the rotation-invariant families,
 * draws each increment directly from its exact law (THEORY.md, "Exact
 * values"): the increments are i.i.d. and independent of the input, so no
 * matrix is needed and a step costs O(1) variates whatever the width. Its
 * columns are independent networks.
 *
 * A plan (FFTW-style) is made once per (family, width, slope, batch,
 * method) and reused for every replica of a task.
 */
#ifndef LYAPDIAG_PROPAGATE_H
#define LYAPDIAG_PROPAGATE_H

#include <stdint.h>

#include "lyapdiag/deck.h"
#include "lyapdiag/family.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lyap_propagate_plan_s *lyap_propagate_plan;

/* New plan for width D, slope A (0 <= a <= 1), BATCH inputs, replicas of
 * DEPTH layers (the exact path draws steps in blocks sized to it) and METHOD
 * (exact or matrix, as resolved by lyap_method_resolve; exact needs a
 * rotation-invariant family), the matrix path in PRECISION (single:
 * gaussian or uniform weights, float variates and SGEMM, log-norms in double).
 * LYAP_ENOMEM, LYAP_ELAPACK, or LYAP_EINTERNAL for an exact or single
 * path the family lacks (*PLAN left NULL). */
int lyap_propagate_plan_create(lyap_family f, int d, double a, int batch, int depth, lyap_method method,
                               lyap_precision precision, lyap_propagate_plan *plan);

/* Begins replica REPLICA of the task with key TASK_KEY: draws BATCH
 * independent uniformly random unit inputs (matrix path); weights will have
 * grid variance S2. Random numbers depend only on (seed, task_key, replica,
 * layer) and the method. */
void lyap_propagate_start(lyap_propagate_plan plan, uint64_t seed, uint64_t task_key, int replica,
                          double s2);

/* Networks with biases (THEORY.md "Biases"), matrix path in double only:
 * from the next lyap_propagate_start on, every layer adds a bias vector
 * b_l ~ N(0, SB2 I) (one per network, shared by its inputs; none if SB2 =
 * 0) and the inputs start at |x_0|^2 = d M0. Biases are not scale-free,
 * so from then on the plan tracks each column's log-norm
 * (lyap_propagate_log_norms), SB2 = 0 included. LYAP_EINTERNAL on the
 * exact or single-precision path. */
int lyap_propagate_set_biases(lyap_propagate_plan plan, double sb2, double m0);

/* Two inputs (THEORY.md "Two inputs"), matrix path: from the next
 * lyap_propagate_start on, each pair of columns (2j, 2j + 1) starts at
 * cosine C0 (column 2j + 1 rotated toward column 2j within their plane);
 * BATCH must be even. LYAP_EINTERNAL otherwise, or on the exact path. */
int lyap_propagate_set_input_cosine(lyap_propagate_plan plan, double c0);

/* The matrix path's current unit columns (d x batch, column-major): the
 * cosine of a pair is their dot product (0 for a column that is exactly 0). */
const double *lyap_propagate_columns(lyap_propagate_plan plan);

/* log|x_l| of each column after the last layer (with biases; without,
 * the caller sums the increments itself): -inf for a column that is
 * exactly 0 at this layer (ReLU), which the next layer's biases revive. */
const double *lyap_propagate_log_norms(lyap_propagate_plan plan);

/* Advances one layer: x_l = phi(W_l x_{l-1}) / |phi(W_l x_{l-1})|, writing
 * INCREMENTS[j] = log(|phi(W_l x_{l-1})_j| / |x_{l-1,j}|) for each column.
 * A column mapped to exactly 0 (ReLU, THEORY.md) gets -inf then and at
 * every later layer. Returns LYAP_OK or LYAP_ELAPACK. */
int lyap_propagate_layer(lyap_propagate_plan plan, double *increments);

/* Biases (THEORY.md, "Biases"), the exact path of gaussian weights:
 * advances LOG_Q[j] = log |x_{l-1,j}|^2 of each column to layer l of a
 * network with weight variance S2 and bias variance SB2 >= 0: log q <-
 * log(s2 q/d + sb2) + log S, with S the bias-free per-layer factor of the
 * step lyap_propagate_layer would have drawn (the same streams, whatever
 * variance the replica started at). O(1) per column, as fast as the
 * bias-free step (the chain runs in linear form inside the sampler: LOG_Q
 * is read at the first layer after lyap_propagate_start, then written at
 * every layer). A column with q = 0 (ReLU) revives where sb2 > 0; with
 * sb2 = 0 it is the bias-free chain. LYAP_EINTERNAL on another path or
 * family. */
int lyap_propagate_signal_layer(lyap_propagate_plan plan, double s2, double sb2, double *log_q);

/* Y = SCALE W X for N columns of length D (column-major, leading dimension
 * D) with the weights as lyap_weights_draw gives them: W is d x d, or for
 * H > 0 the h x h block A of looks-linear W = [[A, -A], [-A, A]] (T: h x N
 * scratch), applied as [z; -z] with z = A (u - v). */
void lyap_propagate_multiply(int d, int h, int n, double scale, const double *W, const double *x, double *t,
                             double *y);

/* Sets the BLAS threads of this process (OpenBLAS); lyapdiag uses one per
 * MPI rank unless asked otherwise, so ranks do not oversubscribe cores. */
void lyap_propagate_set_blas_threads(int nthreads);

/* The name of the kernels OpenBLAS runs on this CPU ("SkylakeX",
 * "Haswell", "Prescott", ...; "unknown" if it does not say): a static
 * string, for the run's header line. Not collective. */
const char *lyap_propagate_blas_core(void);

/* Frees *PLAN and sets it to NULL; safe on NULL. */
void lyap_propagate_plan_destroy(lyap_propagate_plan *plan);

/* Applies one given layer to a batch, for networks drawn elsewhere
 * (lyapdiag init): X <- phi(W X) / |phi(W X)| column by column, writing
 * INCREMENTS[j] = log|phi(W x_j)| (the log-norm increment of a unit
 * column). W: d x d ROW-major (W[i d + j] = W_ij, scale included); X:
 * d x BATCH unit columns, column-major; Y: d x BATCH scratch. A column
 * mapped to exactly 0 stays 0 with increment -inf. */
void lyap_propagate_apply(int d, int batch, double a, const double *W, double *x, double *y,
                          double *increments);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_PROPAGATE_H */
