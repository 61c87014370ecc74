/* spectrum.h: the Lyapunov spectrum of the input-output Jacobian by the QR
 * (Benettin) method (THEORY.md, "Lyapunov spectrum").
 *
 * Along one network's trajectory, a frame Q_l of K orthonormal tangent
 * vectors follows Q_l R_l = D_l W_l Q_{l-1} (LAPACKE QR, R_ii > 0), with
 * D_l = diag(phi'(W_l x_{l-1})) and x_{l-1} along Q_{l-1}'s first column;
 * lambda_i is the mean of log R_l(i,i) over the layers.
 *
 * Two paths, as for the activations:
 * - shortcut (gaussian, orthogonal; method exact or auto): W_l is rotation
 *   invariant and independent of Q_{l-1}, so Y = W_l Q_{l-1} is itself a
 *   fresh d x K Gaussian matrix (entries N(0, 1/d)), or a Haar frame, drawn
 *   directly; D_l follows from Y's first column. No d x d matrix, O(d K^2)
 *   per layer, and R's diagonals are i.i.d. over layers: no transient.
 * - full (every family; method matrix): the weights are drawn, Y = W Q by
 *   GEMM (looks-linear through its h x h block), O(d^2 K + d K^2).
 * Looks-linear W has rank h = d/2: only min(K, h) exponents are finite; the
 * others are -inf (THEORY.md), and only the finite ones are tracked.
 */
#ifndef LYAPDIAG_SPECTRUM_H
#define LYAPDIAG_SPECTRUM_H

#include <stdint.h>

#include "lyapdiag/deck.h"
#include "lyapdiag/family.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lyap_spectrum_plan_s *lyap_spectrum_plan;

/* New plan for the top K (1..d) exponents at width D, slope A in [0, 1]
 * (at 0 the families that die give -inf; estimate does not ask) under METHOD (as resolved by
 * lyap_method_resolve: exact means the shortcut). LYAP_ENOMEM, LYAP_ELAPACK
 * or LYAP_EINTERNAL (bad arguments). */
int lyap_spectrum_plan_create(lyap_family f, int d, double a, int k, lyap_method method,
                              lyap_spectrum_plan *plan);

/* Runs replica REPLICA (streams keyed by SEED, TASK_KEY, the replica and
 * the layer) at unit scale (s2 = 1) for DEPTH layers, and writes the mean
 * of log R_l(i,i) over layers BURN_IN+1..DEPTH to EXPONENTS[0..K). Other
 * scales shift every exponent by 0.5 log s2 (homogeneity). POLL (may be
 * NULL) is called with CTX after every layer: a replica of QR layers can
 * run for minutes, and a stop signal must not wait for its end; a non-OK
 * return stops the replica with that status. LYAP_ELAPACK, or
 * LYAP_EINTERNAL for DEPTH <= BURN_IN. */
int lyap_spectrum_replica(lyap_spectrum_plan plan, uint64_t seed, uint64_t task_key, int replica, int depth,
                          int burn_in, double *exponents, int (*poll)(void *ctx, int layer), void *ctx);

/* Frees *PLAN and sets it to NULL; safe on NULL. */
void lyap_spectrum_plan_destroy(lyap_spectrum_plan *plan);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_SPECTRUM_H */
