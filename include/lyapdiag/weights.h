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

/* Thin QR factorization of m x n matrices (m >= n), LAPACKE dgeqrf/dorgqr,
 * normalized to R_jj > 0: unique, so Q of a Gaussian matrix is Haar
 * distributed. The workspace is made once per shape. */
typedef struct lyap_qr_s lyap_qr;

/* New workspace for M x N matrices. LYAP_ENOMEM or LYAP_ELAPACK. */
int lyap_qr_create(int m, int n, lyap_qr **qr);

/* Factors A (m x n, column-major, leading dimension m) in place; with
 * WANT_Q, A becomes Q (orthonormal columns), else A is left in LAPACK's
 * compact form. R's positive diagonal is then lyap_qr_diagonal(QR).
 * LYAP_ELAPACK on failure. */
int lyap_qr_positive(lyap_qr *qr, double *A, int want_q);

/* R's diagonal from the last lyap_qr_positive: N values >= 0. */
const double *lyap_qr_diagonal(const lyap_qr *qr);

/* Draws a Haar-distributed m x n frame Q (orthonormal columns: the first n
 * columns of a Haar orthogonal matrix) with QR's workspace. */
int lyap_haar_frame(lyap_qr *qr, lyap_rng *rng, double *Q);

/* Frees *QR and sets it to NULL; safe on NULL. */
void lyap_qr_destroy(lyap_qr **qr);

/* New sampler of d x d matrices with entry law ENTRIES (a family's
 * lyap_family_info_of(f)->entries; a looks-linear family's is its block's,
 * drawn at d = h) in *OUT. LYAP_ENOMEM, or LYAP_ELAPACK if the QR
 * workspace query fails. */
int lyap_weights_create(lyap_entry_law entries, int d, lyap_weights **out);

/* Draws one matrix at grid variance S2 as SCALE x W (W: d x d,
 * column-major), using RNG (advanced); the caller applies *SCALE (e.g. as
 * GEMM's alpha), which saves a pass over W. gaussian: N(0, 1) entries,
 * scale sqrt(s2/d); orthogonal: Haar (QR of a Gaussian matrix, column j
 * times sign(R_jj)), scale sqrt(s2); uniform: U(-1, 1) entries, scale
 * sqrt(3 s2/d); sign (rademacher): +-1 entries from one random bit each,
 * scale sqrt(s2/d). Returns LYAP_OK or LYAP_ELAPACK. */
int lyap_weights_draw(lyap_weights *w, lyap_rng *rng, double s2, double *W, double *scale);

/* The same in single precision (precision = single) for the entry laws
 * that have it, gaussian (24-bit Box-Muller) and uniform (24-bit
 * uniforms on (-1, 1)); *SCALE as above. LYAP_EINTERNAL for the others
 * (the family table's single_precision says which). */
int lyap_weights_draw_float(lyap_weights *w, lyap_rng *rng, double s2, float *W, double *scale);

/* Frees *W and sets it to NULL; safe on NULL. */
void lyap_weights_destroy(lyap_weights **w);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_WEIGHTS_H */
