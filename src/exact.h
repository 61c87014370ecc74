/* exact.h: the exact path of propagate (private; see src/exact.c). */
#ifndef LYAPDIAG_EXACT_H
#define LYAPDIAG_EXACT_H

#include <stdint.h>

#include "lyapdiag/family.h"

typedef struct exact_sampler exact_sampler;

/* New sampler of the increments of a rotation-invariant family with
 * closed forms THEORY (gaussian or orthogonal, lyap_family_info_of(f)->theory)
 * at width D, slope A, for BATCH independent columns. LYAP_ENOMEM on failure. */
int exact_create(lyap_theory_kind theory, int d, double a, int batch, int depth, exact_sampler **out);

/* Begins replica REPLICA of task TASK_KEY at grid variance S2. */
void exact_start(exact_sampler *e, uint64_t seed, uint64_t task_key, int replica, double s2);

/* The next layer's increment of every column (-inf once a column died). */
void exact_layer(exact_sampler *e, double *increments);

/* Biases, gaussian theory only (THEORY.md, "Biases"): advances every
 * column's LOG_Q = log |x_{l-1}|^2 to layer l of a network with weight
 * variance S2 and bias variance SB2 >= 0, log q <- log(s2 q/d + sb2) +
 * log S, S the bias-free factor of the step exact_layer would give (its
 * stream; O(1) per column, in linear form: LOG_Q is read at the first
 * layer after exact_start, then written). q = 0 (ReLU, S = 0) revives
 * where sb2 > 0. */
void exact_signal_layer(exact_sampler *e, double s2, double sb2, double *log_q);

void exact_destroy(exact_sampler **e);

#endif
