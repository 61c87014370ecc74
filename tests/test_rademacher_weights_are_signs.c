/* The rademacher sampler (THEORY.md "Weight families": W_ij = +-sqrt(s2/d),
 * equally likely): after its scale every entry is exactly +-sqrt(s2/d);
 * the fraction of + signs is 1/2 within 4 stderr; products of two entries
 * of one row, and of one column, average 0 within 4 stderr (pairwise
 * uncorrelated signs, including across the 32-bit words the signs come
 * from); and a stream gives the same matrix every time, another layer's
 * stream a different one. Fixed seed. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lyapdiag/error.h"
#include "lyapdiag/weights.h"

static lyap_weights *sampler(int d)
{
    lyap_weights *w = NULL;
    if (lyap_weights_create(lyap_family_info_of(LYAP_FAMILY_RADEMACHER)->entries, d, &w) != LYAP_OK)
        check(0, "rademacher d=%d: create sampler: %s", d, lyap_error_message());
    return w;
}

static void open_stream(lyap_rng *rng, int d, int layer)
{
    lyap_rng_init(rng, 11, lyap_rng_task_key(LYAP_FAMILY_RADEMACHER, d, 0.5, 0), 0, (uint64_t)layer,
                  LYAP_RNG_WEIGHTS);
}

static void check_law(int d, int draws, double s2)
{
    lyap_weights *w = sampler(d);
    double *W = malloc(sizeof *W * d * d), row_sum = 0, col_sum = 0;
    long off_value = 0, positive = 0, entries = 0, row_pairs = 0, col_pairs = 0;
    double scale_error = 0;
    lyap_rng rng;
    if (!w || !W) {
        free(W);
        lyap_weights_destroy(&w);
        return;
    }
    open_stream(&rng, d, 1);
    const double value = sqrt(s2 / d);
    for (int k = 0; k < draws; k++) {
        double scale;
        if (lyap_weights_draw(w, &rng, s2, W, &scale) != LYAP_OK) {
            check(0, "rademacher d=%d: draw: %s", d, lyap_error_message());
            break;
        }
        scale_error = fmax(scale_error, fabs(scale - value));
        for (int i = 0; i < d * d; i++) {
            off_value += fabs(W[i] * scale) != value;
            positive += W[i] > 0;
            entries++;
        }
        for (int i = 0; i < d; i++) /* W(i, j) = W[i + j d], column-major */
            for (int j = 0; j < d; j++)
                for (int l = j + 1; l < d; l++) {
                    row_sum += W[i + j * d] * W[i + l * d];
                    col_sum += W[j + i * d] * W[l + i * d];
                    row_pairs++;
                    col_pairs++;
                }
    }
    check(off_value == 0 && scale_error == 0, "rademacher d=%d s2=%g: every entry is exactly +-sqrt(s2/d) = %.17g "
          "after its scale: %ld of %ld off, scale off by %.3g", d, s2, value, off_value, entries, scale_error);
    char what[128];
    snprintf(what, sizeof what, "rademacher d=%d: fraction of + signs over %ld entries", d, entries);
    check_near(what, (double)positive / entries, 0.5, 4 * sqrt(0.25 / entries));
    if (d > 1) {
        snprintf(what, sizeof what, "rademacher d=%d: mean W_ij W_ik (one row) over %ld pairs", d, row_pairs);
        check_near(what, row_sum / row_pairs, 0, 4 / sqrt((double)row_pairs));
        snprintf(what, sizeof what, "rademacher d=%d: mean W_ji W_ki (one column) over %ld pairs", d, col_pairs);
        check_near(what, col_sum / col_pairs, 0, 4 / sqrt((double)col_pairs));
    }
    lyap_weights_destroy(&w);
    free(W);
}

/* The same stream, the same matrix; the next layer's stream, another. */
static void check_deterministic(int d)
{
    lyap_weights *w = sampler(d);
    size_t n = (size_t)d * d;
    double *A = malloc(sizeof *A * n), *B = malloc(sizeof *B * n), *C = malloc(sizeof *C * n), scale;
    lyap_rng rng;
    if (w && A && B && C) {
        open_stream(&rng, d, 5);
        lyap_weights_draw(w, &rng, 1.0, A, &scale);
        open_stream(&rng, d, 5);
        lyap_weights_draw(w, &rng, 1.0, B, &scale);
        open_stream(&rng, d, 6);
        lyap_weights_draw(w, &rng, 1.0, C, &scale);
        long differ = 0;
        for (size_t i = 0; i < n; i++)
            differ += A[i] != C[i];
        check(memcmp(A, B, sizeof *A * n) == 0 && differ > 0,
              "rademacher d=%d: one stream, one matrix (identical redraw); layers 5 and 6 differ in %ld of %zu "
              "entries", d, differ, n);
    }
    lyap_weights_destroy(&w);
    free(A);
    free(B);
    free(C);
}

int main(void)
{
    /* d = 200: 40000 signs, more than the 512 words of one chunk */
    const struct {
        int d, draws;
    } cases[] = {{1, 4000}, {2, 4000}, {3, 4000}, {16, 1000}, {33, 200}, {200, 4}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_law(cases[i].d, cases[i].draws, 1.7);
    check_deterministic(16);
    check_deterministic(200);
    return check_status();
}
