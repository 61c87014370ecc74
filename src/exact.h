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

void exact_destroy(exact_sampler **e);

#endif
