/* variates.h: vectorized normal variates for the matrix path (private to
 * the rng module; see src/variates.c). */
#ifndef LYAPDIAG_VARIATES_H
#define LYAPDIAG_VARIATES_H

#include <stddef.h>
#include <stdint.h>

typedef enum { LYAP_ISA_UNKNOWN = -1, LYAP_ISA_SSE2, LYAP_ISA_AVX2, LYAP_ISA_AVX512 } lyap_variates_isa;

/* The widest instruction set this CPU runs. */
lyap_variates_isa lyap_variates_best_isa(void);
const char *lyap_variates_isa_name(lyap_variates_isa isa);

/* N standard normals of Philox4x32-10 stream (KEY, CTR) into OUT, starting
 * at block CTR[0]; 128 blocks give 256 normals (a chunk), and a partial
 * chunk at the end is cut from a whole one. The same bits on every ISA. */
void lyap_variates_normal(const uint32_t key[2], const uint32_t ctr[4], double *out, size_t n);

/* The same with the kernel for ISA (which the CPU must support): tests. */
void lyap_variates_normal_isa(lyap_variates_isa isa, const uint32_t key[2], const uint32_t ctr[4], double *out,
                              size_t n);

#endif
