/* Packed block states (pack.h) restore every bit: states with long and
 * short zero runs, -0.0, NaN payloads, infinities, all zeros, no zeros and
 * nothing at all; unpacking onto a zeroed state and clearing it again
 * leave it zero; peek reads any value; a damaged packed state is refused;
 * a one-replica block of a matrix-path task packs to about one bin of the
 * autocorrelation's LYAP_AUTOCORR_BINS. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lyapdiag/autocorr.h"
#include "lyapdiag/error.h"
#include "lyapdiag/estimate.h"
#include "lyapdiag/family.h"
#include "lyapdiag/pack.h"

static int same_bits(const double *a, const double *b, size_t n)
{
    return n == 0 || memcmp(a, b, n * sizeof *a) == 0;
}

static int all_zero(const double *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != 0 || signbit(a[i]))
            return 0;
    return 1;
}

static void round_trip(const char *what, const double *state, size_t n)
{
    double *packed = malloc(lyap_pack_bound(n) * sizeof *packed + 1);
    double *back = malloc(n * sizeof *back + 1), *zeroed = calloc(n + 1, sizeof *zeroed);
    size_t length = lyap_pack(state, n, packed);
    for (size_t i = 0; i < n; i++)
        back[i] = 12345.0; /* unpack must overwrite every value */
    int ok = lyap_unpack(packed, length, back, n, 0) == LYAP_OK && same_bits(back, state, n);
    check(ok && length <= lyap_pack_bound(n), "%s: %zu doubles -> %zu packed -> the same bits", what, n, length);
    ok = lyap_unpack(packed, length, zeroed, n, 1) == LYAP_OK && same_bits(zeroed, state, n);
    lyap_pack_clear(packed, length, zeroed);
    check(ok && all_zero(zeroed, n), "%s: unpacked onto zeros and cleared: zero again", what);
    int peeks = 1;
    for (size_t i = 0; i < n; i++) {
        double v = lyap_pack_peek(packed, length, i);
        peeks &= memcmp(&v, &state[i], sizeof v) == 0;
    }
    check(peeks && isnan(lyap_pack_peek(packed, length, n)), "%s: peek reads each of the %zu values, NaN beyond",
          what, n);
    free(packed);
    free(back);
    free(zeroed);
}

int main(void)
{
    enum { N = 1000 };
    double s[N];
    for (int i = 0; i < N; i++) /* runs of zeros of every length 0..9, then values */
        s[i] = (i % 19) < (i / 19) % 10 ? 0.0 : 1.0 + i;
    s[0] = -0.0, s[5] = NAN, s[6] = -INFINITY, s[N - 1] = 0.0, s[N - 2] = 0.0;
    uint64_t payload = 0x7ff8000000abcdefULL;
    memcpy(&s[7], &payload, sizeof payload);
    round_trip("mixed runs, -0.0, NaN payload, -inf", s, N);
    double zeros[64] = {0}, ones[64];
    for (int i = 0; i < 64; i++)
        ones[i] = i + 0.5;
    round_trip("all zeros", zeros, 64);
    round_trip("no zeros", ones, 64);
    round_trip("two zeros", zeros, 2);
    round_trip("empty", zeros, 0);

    double packed[N + 2], back[N];
    size_t length = lyap_pack(s, N, packed);
    check(lyap_unpack(packed, length, back, N + 1, 0) != LYAP_OK, "a packed state of %d refused as one of %d", N,
          N + 1);
    check(lyap_unpack(packed, length - 1, back, N, 0) != LYAP_OK, "a truncated packed state refused");
    packed[0] = -1;
    check(lyap_unpack(packed, length, back, N, 0) != LYAP_OK, "a negative run refused");

    /* A real block: gaussian weights on the matrix path, one replica. */
    lyap_task_spec spec = {.family = LYAP_FAMILY_GAUSSIAN, .width = 8, .slope = 0.3, .method = LYAP_METHOD_MATRIX,
                           .replicas = 4, .block_replicas = 1, .batch = 2, .seed = 11, .eps = 1e-3};
    double variance = 1.0;
    int depths[] = {50, 400};
    spec.variances = &variance, spec.nvariances = 1, spec.depths = depths, spec.ndepths = 2;
    size_t n = lyap_estimate_state_length(&spec);
    double *state = malloc(n * sizeof *state), *p = malloc(lyap_pack_bound(n) * sizeof *p);
    int status = lyap_estimate_run_block(&spec, 1, state, NULL, NULL);
    size_t plen = status == LYAP_OK ? lyap_pack(state, n, p) : 0;
    size_t bin = lyap_autocorr_state_length(400, LYAP_AUTOCORR_BINS) / LYAP_AUTOCORR_BINS;
    check(status == LYAP_OK && plen < n / 8 && plen < 3 * bin,
          "a one-replica matrix-path block (depth 400): %zu doubles pack to %zu (one autocorrelation bin: %zu)", n,
          plen, bin);
    round_trip("a one-replica block state", state, n);
    free(state);
    free(p);
    return check_status();
}
