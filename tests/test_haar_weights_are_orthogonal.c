/* Weight samplers: orthogonal draws satisfy W^T W = s2 I to rounding and
 * follow the Haar law (E W_11 = 0, which fails without the sign fix of
 * THEORY.md, and E W_11^2 = s2/d); gaussian and uniform entries have
 * variance s2/d, uniform entries lie in [-c, c]. */
#include <cblas.h>
#include <stdlib.h>

#include "check.h"
#include "lyapdiag/error.h"
#include "lyapdiag/weights.h"

#define DRAWS 4000

/* Mean and variance of W_11 over DRAWS matrices; max |W^T W - s2 I|. */
static void sample(lyap_family f, int d, double s2, double *mean, double *second, double *defect,
                   double *maxabs)
{
    lyap_weights *w;
    double *W = malloc(sizeof *W * d * d), *G = malloc(sizeof *G * d * d);
    lyap_rng rng;
    *mean = *second = *defect = *maxabs = 0;
    if (lyap_weights_create(lyap_family_info_of(f)->entries, d, &w) != LYAP_OK) {
        check(0, "create sampler: %s", lyap_error_message());
        return;
    }
    lyap_rng_init(&rng, 7, lyap_rng_task_key(f, d, 0.5, 0), 0, 1, LYAP_RNG_WEIGHTS);
    for (int k = 0; k < DRAWS; k++) {
        double scale;
        if (lyap_weights_draw(w, &rng, s2, W, &scale) != LYAP_OK) {
            check(0, "draw: %s", lyap_error_message());
            break;
        }
        for (int i = 0; i < d * d; i++)
            W[i] *= scale;
        *mean += W[0] / DRAWS;
        *second += W[0] * W[0] / DRAWS;
        for (int i = 0; i < d * d; i++)
            *maxabs = fmax(*maxabs, fabs(W[i]));
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, d, d, d, 1.0, W, d, W, d, 0.0, G, d);
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                *defect = fmax(*defect, fabs(G[i + j * d] - (i == j ? s2 : 0)));
    }
    lyap_weights_destroy(&w);
    free(W);
    free(G);
}

int main(void)
{
    int widths[] = {1, 2, 5, 16};
    double s2 = 1.7, mean, second, defect, maxabs;
    for (size_t i = 0; i < sizeof widths / sizeof *widths; i++) {
        int d = widths[i];
        double var = s2 / d; /* Var W_11 for every family */
        char what[96];
        sample(LYAP_FAMILY_ORTHOGONAL, d, s2, &mean, &second, &defect, &maxabs);
        check(defect < 1e-12, "orthogonal d=%d: max |W^T W - s2 I| = %.3g < 1e-12", d, defect);
        snprintf(what, sizeof what, "orthogonal d=%d: E W_11 (Haar sign fix)", d);
        check_near(what, mean, 0, 4 * sqrt(var / DRAWS));
        if (d > 1) { /* Var W_11^2 <= E W_11^4 <= s2^2 for a unit-row matrix entry */
            snprintf(what, sizeof what, "orthogonal d=%d: E W_11^2 = s2/d", d);
            check_near(what, second, var, 4 * sqrt(s2 * s2 / DRAWS));
        }
        sample(LYAP_FAMILY_GAUSSIAN, d, s2, &mean, &second, &defect, &maxabs);
        snprintf(what, sizeof what, "gaussian d=%d: E W_11^2 = s2/d", d);
        check_near(what, second, var, 4 * sqrt(2 * var * var / DRAWS));
        sample(LYAP_FAMILY_UNIFORM, d, s2, &mean, &second, &defect, &maxabs);
        snprintf(what, sizeof what, "uniform d=%d: E W_11^2 = s2/d", d);
        check_near(what, second, var, 4 * sqrt(0.8 * var * var / DRAWS));
        check(maxabs <= sqrt(3 * var), "uniform d=%d: |W_ij| <= c = sqrt(3 s2/d): max %g", d, maxabs);
    }
    return check_status();
}
