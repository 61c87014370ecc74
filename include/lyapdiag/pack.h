/* pack.h: block states without their runs of zeros.
 *
 * A block of one replica on the matrix path fills one of the
 * autocorrelation's LYAP_AUTOCORR_BINS bins (autocorr.h) and leaves the
 * others exactly zero: 31/32 of its doubles. Workers ship, rank 0 holds
 * and checkpoints keep block states packed; only a task's merged prefix is
 * kept whole (sched.c).
 *
 * Format: consecutive runs [zeros, literals, literal values...] covering
 * the state in order. Only +0.0 bit for bit counts as a zero (-0.0 and
 * NaNs travel as literals), so unpacking restores every bit.
 */
#ifndef LYAPDIAG_PACK_H
#define LYAPDIAG_PACK_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The most doubles lyap_pack writes for a state of N doubles. */
static inline size_t lyap_pack_bound(size_t n)
{
    return n + 2;
}

/* Packs STATE (N doubles) into PACKED (lyap_pack_bound(N) doubles);
 * returns the packed length. */
size_t lyap_pack(const double *state, size_t n, double *packed);

/* Unpacks PACKED (LENGTH doubles) into STATE (N doubles). STATE_IS_ZERO:
 * STATE is all zeros already, and only the literals are written (rank 0
 * keeps one zeroed scratch state: see lyap_pack_clear). Returns LYAP_OK,
 * or LYAP_EIO if PACKED is not a packed state of N doubles. */
int lyap_unpack(const double *packed, size_t length, double *state, size_t n, int state_is_zero);

/* Zeroes again the positions of STATE that PACKED's literals wrote. */
void lyap_pack_clear(const double *packed, size_t length, double *state);

/* Value I of the state PACKED (LENGTH doubles) holds: a header field read
 * without unpacking. NaN if I lies beyond it. */
double lyap_pack_peek(const double *packed, size_t length, size_t i);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_PACK_H */
