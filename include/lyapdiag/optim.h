/* optim.h: the optimizers `lyapdiag train` compares (THEORY.md "Training"),
 * with PyTorch's conventions so results can be checked against it:
 *   adam: m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2 (b1 0.9, b2 0.999),
 *         w -= (lr / (1-b1^t)) m / (sqrt(v) / sqrt(1-b2^t) + 1e-8);
 *   sgd:  b = mu b + g (the first step: b = g), w -= lr b (mu = 0: plain
 *         gradient descent).
 */
#ifndef LYAPDIAG_OPTIM_H
#define LYAPDIAG_OPTIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { LYAP_OPTIM_ADAM, LYAP_OPTIM_SGD } lyap_optim_kind;

typedef struct lyap_optimizer lyap_optimizer;

/* An optimizer for N parameters at learning rate LR (> 0); MOMENTUM (mu in
 * [0, 1)) for sgd. LYAP_ENOMEM or LYAP_EINTERNAL (bad arguments). */
int lyap_optimizer_create(lyap_optim_kind kind, size_t n, double lr, double momentum, lyap_optimizer **out);

/* One step on PARAMS from the gradient GRAD (both N doubles). */
void lyap_optimizer_step(lyap_optimizer *o, double *params, const double *grad);

void lyap_optimizer_destroy(lyap_optimizer **o);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_OPTIM_H */
