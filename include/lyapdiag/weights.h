/* weights.h: samplers for the weight families of THEORY.md.
 *
 * A sampler owns the workspace its family needs (LAPACK QR for orthogonal
 * weights), made once per (family, width) and reused for every layer.
 */
#ifndef LYAPDIAG_WEIGHTS_H
#define LYAPDIAG_WEIGHTS_H

#include "lyapdiag/family.h"
#include "lyapdiag/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lyap_weights_s lyap_weights;

/* New sampler of d x d matrices of family F in *OUT. LYAP_ENOMEM, or
 * LYAP_ELAPACK if the QR workspace query fails. */
int lyap_weights_create(lyap_family f, int d, lyap_weights **out);

/* Draws one matrix at grid variance S2 as SCALE x W (W: d x d,
 * column-major), using RNG (advanced); the caller applies *SCALE (e.g. as
 * GEMM's alpha), which saves a pass over W. gaussian: N(0, 1) entries,
 * scale sqrt(s2/d); orthogonal: Haar (QR of a Gaussian matrix, column j
 * times sign(R_jj)), scale sqrt(s2); uniform: U(-1, 1) entries, scale
 * sqrt(3 s2/d). Returns LYAP_OK or LYAP_ELAPACK. */
int lyap_weights_draw(lyap_weights *w, lyap_rng *rng, double s2, double *W, double *scale);

/* Frees *W and sets it to NULL; safe on NULL. */
void lyap_weights_destroy(lyap_weights **w);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_WEIGHTS_H */
