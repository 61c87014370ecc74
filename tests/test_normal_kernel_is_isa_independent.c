/* The vectorized normal kernel (src/variates.c) gives the same bits on
 * every instruction set this CPU runs (SSE2, AVX2, AVX-512), so streams and
 * results do not depend on the machine; and each value equals Box-Muller
 * computed with Random123's philox4x32 and libm's log, cos and sin to
 * within 4e-15 relative (its polynomials are accurate to a few ulp). The
 * single-precision kernel (precision = single) matches libm's float
 * Box-Muller on the same 24-bit uniforms to within 2e-6 relative. The
 * uniform weights' variates on (-1, 1) (double and float) equal their
 * definition on Random123's philox4x32 words exactly, on every ISA. */
#include <Random123/philox.h>
#include <stdlib.h>
#include <string.h>

#include "../src/variates.h"
#include "check.h"

#define N 100000 /* not a multiple of 256: the tail path is exercised */

static double open_unit(uint32_t hi, uint32_t lo)
{
    uint64_t mantissa = ((uint64_t)hi << 20) | (lo >> 12);
    return (double)mantissa * 0x1.0p-52 + 0x1.0p-53;
}

int main(void)
{
    const uint32_t key[2] = {0xdeadbeef, 12345}, ctr[4] = {7, 3, 99, 1};
    double *ref = malloc(sizeof *ref * N), *got = malloc(sizeof *got * N);
    /* reference: chunks of 128 blocks, cos halves then sin halves */
    for (size_t base = 0; base < N; base += 256)
        for (int i = 0; i < 128; i++) {
            philox4x32_ctr_t c = {{ctr[0] + (uint32_t)(base / 2) + (uint32_t)i, ctr[1], ctr[2], ctr[3]}};
            philox4x32_key_t k = {{key[0], key[1]}};
            philox4x32_ctr_t r = philox4x32(c, k);
            double radius = sqrt(-2 * log(open_unit(r.v[0], r.v[1])));
            double angle = 6.283185307179586 * open_unit(r.v[2], r.v[3]);
            if (base + i < N)
                ref[base + i] = radius * cos(angle);
            if (base + 128 + i < N)
                ref[base + 128 + i] = radius * sin(angle);
        }
    lyap_variates_isa best = lyap_variates_best_isa();
    double *first = NULL;
    for (lyap_variates_isa isa = LYAP_ISA_SSE2; isa <= best; isa++) {
        lyap_variates_normal_isa(isa, key, ctr, got, N);
        double worst = 0;
        for (int i = 0; i < N; i++)
            worst = fmax(worst, fabs(got[i] - ref[i]) / fmax(1, fabs(ref[i])));
        check(worst < 4e-15, "%s kernel vs Philox + libm Box-Muller: max relative difference %.3g < 4e-15",
              lyap_variates_isa_name(isa), worst);
        if (!first) {
            first = malloc(sizeof *first * N);
            memcpy(first, got, sizeof *got * N);
        } else {
            check(memcmp(first, got, sizeof *got * N) == 0, "%s kernel bit-identical to sse2",
                  lyap_variates_isa_name(isa));
        }
    }
    printf("best instruction set on this CPU: %s\n", lyap_variates_isa_name(best));

    float *gotf = malloc(sizeof *gotf * N);
    lyap_variates_draw(LYAP_VARIATE_NORMAL_FLOAT, key, ctr, gotf, N);
    double worstf = 0;
    for (size_t base = 0; base < N; base += 512)
        for (int i = 0; i < 128; i++) {
            philox4x32_ctr_t c = {{ctr[0] + (uint32_t)(base / 4) + (uint32_t)i, ctr[1], ctr[2], ctr[3]}};
            philox4x32_key_t k = {{key[0], key[1]}};
            philox4x32_ctr_t r = philox4x32(c, k);
            for (int h = 0; h < 2; h++) {
                float u1 = (float)(r.v[2 * h] >> 8) * 0x1.0p-24f + 0x1.0p-25f;
                float u2 = (float)(r.v[2 * h + 1] >> 8) * 0x1.0p-24f + 0x1.0p-25f;
                double radius = sqrt(-2 * log(u1)), angle = 6.283185307179586 * u2;
                size_t at_cos = base + 2 * h * 128 + i, at_sin = at_cos + 128;
                if (at_cos < N)
                    worstf = fmax(worstf, fabs(gotf[at_cos] - radius * cos(angle)) / fmax(1, radius));
                if (at_sin < N)
                    worstf = fmax(worstf, fabs(gotf[at_sin] - radius * sin(angle)) / fmax(1, radius));
            }
        }
    check(worstf < 2e-6, "float kernel vs libm Box-Muller on the same uniforms: max relative difference %.3g < 2e-6",
          worstf);
    /* U(-1, 1): word j of block i at j 128 + i in each chunk of 512 */
    for (int as_float = 0; as_float < 2; as_float++) {
        lyap_variate_kind kind = as_float ? LYAP_VARIATE_SYMMETRIC_FLOAT : LYAP_VARIATE_SYMMETRIC32;
        const char *name = as_float ? "float uniform (-1, 1)" : "uniform (-1, 1)";
        for (lyap_variates_isa isa = LYAP_ISA_SSE2; isa <= best; isa++) {
            long wrong = 0;
            lyap_variates_draw_isa(isa, kind, key, ctr, as_float ? (void *)gotf : (void *)got, N);
            for (size_t base = 0; base < N; base += 512)
                for (int i = 0; i < 128; i++) {
                    philox4x32_ctr_t c = {{ctr[0] + (uint32_t)(base / 4) + (uint32_t)i, ctr[1], ctr[2], ctr[3]}};
                    philox4x32_key_t k = {{key[0], key[1]}};
                    philox4x32_ctr_t r = philox4x32(c, k);
                    for (int j = 0; j < 4; j++) {
                        size_t at = base + (size_t)j * 128 + i;
                        if (at >= N)
                            continue;
                        double want = as_float ? ldexp(2.0 * (r.v[j] >> 8) + 1, -24) - 1
                                               : ldexp(2.0 * r.v[j] + 1, -32) - 1;
                        wrong += (as_float ? (double)gotf[at] : got[at]) != want;
                    }
                }
            check(wrong == 0, "%s kernel: %s equals (2k + 1) 2^-b - 1 of the Philox words: %ld differ",
                  lyap_variates_isa_name(isa), name, wrong);
        }
    }
    free(gotf);
    free(ref);
    free(got);
    free(first);
    return check_status();
}
