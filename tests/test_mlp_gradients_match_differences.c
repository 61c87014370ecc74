/* The trained network (mlp.h) and its optimizers (optim.h):
 *   - backpropagation against central differences in double, for several
 *     shapes (1-D and 2-D inputs and outputs, L = 0..6, Leaky ReLU and
 *     ReLU, with and without biases: without, the biases' gradient is 0);
 *   - a batch's gradient is the mean of its inputs' gradients;
 *   - Adam's first step moves every parameter by lr |g| / (|g| + 1e-8),
 *     SGD with momentum follows b_k = g (1 - mu^k) / (1 - mu) under a
 *     constant gradient (closed forms);
 *   - learning: an easy target (a line) reaches a test loss below 1e-4;
 *   - the log gain of a linear network with identity hidden layers is 0;
 *   - the kernels' AVX-512, AVX2 and SSE2 builds give the same bits (those
 *     this CPU runs; AVX2 runs 4-wide kernels, the others 8-wide ones):
 *     outputs, losses, gradients and parameters of 3 Adam steps, 9 shapes
 *     and batches. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../src/variates.h"
#include "check.h"
#include "lyapdiag/error.h"
#include "lyapdiag/mlp.h"
#include "lyapdiag/optim.h"
#include "lyapdiag/rng.h"

static void normals(uint64_t key, double sd, double *out, size_t n)
{
    lyap_rng rng;
    lyap_rng_init(&rng, 2026, key, 0, 0, LYAP_RNG_INPUTS);
    lyap_rng_normal(&rng, out, n);
    for (size_t i = 0; i < n; i++)
        out[i] *= sd;
}

static double loss_at(const lyap_mlp_shape *s, const double *p, const double *x, const double *t, int batch,
                      lyap_mlp_workspace *ws, double *y, double *g)
{
    lyap_mlp_forward(s, p, x, batch, ws, y);
    return lyap_mlp_backward(s, p, t, batch, ws, g);
}

static int is_bias(const lyap_mlp_shape *s, size_t i)
{
    for (int l = 0; l <= s->depth + 1; l++)
        if (i >= lyap_mlp_layer_of(s, l).b && i < lyap_mlp_layer_of(s, l).b + (size_t)lyap_mlp_layer_of(s, l).rows)
            return 1;
    return 0;
}

static void gradient_check(lyap_mlp_shape s, int batch, uint64_t key)
{
    size_t n = lyap_mlp_parameter_count(&s);
    double *p = malloc(sizeof *p * n), *g = malloc(sizeof *g * n), *scratch = malloc(sizeof *g * n);
    double *x = malloc(sizeof *x * s.n_in * batch), *t = malloc(sizeof *t * s.n_out * batch);
    double *y = malloc(sizeof *y * s.n_out * batch);
    normals(key, 0.8, p, n);
    normals(key + 1, 1.0, x, (size_t)s.n_in * batch);
    normals(key + 2, 1.0, t, (size_t)s.n_out * batch);
    if (!s.biases) /* biases stay at their zero initialization */
        for (int i = 0; i <= s.depth + 1; i++)
            memset(p + lyap_mlp_layer_of(&s, i).b, 0, sizeof *p * lyap_mlp_layer_of(&s, i).rows);
    lyap_mlp_workspace *ws;
    int ok = lyap_mlp_workspace_create(&s, batch, &ws) == LYAP_OK;
    loss_at(&s, p, x, t, batch, ws, y, g);
    double worst = 0, bias_grad = 0;
    const double h = 1e-6;
    for (size_t i = 0; ok && i < n; i++) {
        if (!s.biases && is_bias(&s, i))
            continue; /* not trained: its gradient is 0 by definition */
        double keep = p[i];
        p[i] = keep + h;
        double up = loss_at(&s, p, x, t, batch, ws, y, scratch);
        p[i] = keep - h;
        double down = loss_at(&s, p, x, t, batch, ws, y, scratch);
        p[i] = keep;
        worst = fmax(worst, fabs((up - down) / (2 * h) - g[i]) / fmax(1.0, fabs(g[i])));
    }
    for (int i = 0; !s.biases && i <= s.depth + 1; i++)
        for (int r = 0; r < lyap_mlp_layer_of(&s, i).rows; r++)
            bias_grad = fmax(bias_grad, fabs(g[lyap_mlp_layer_of(&s, i).b + r]));
    check(ok && worst < 1e-6 && bias_grad == 0,
          "gradient vs central differences: n_in %d, d %d, L %d, n_out %d, a %g, biases %d, batch %d: max rel. "
          "error %.2g < 1e-6%s", s.n_in, s.width, s.depth, s.n_out, s.slope, s.biases, batch, worst,
          s.biases ? "" : ", biases' gradient 0");

    /* the batch's gradient = the mean of its inputs' */
    double *mean = calloc(n, sizeof *mean), *one = malloc(sizeof *one * n), diff = 0;
    lyap_mlp_workspace *single;
    ok &= lyap_mlp_workspace_create(&s, 1, &single) == LYAP_OK;
    for (int j = 0; ok && j < batch; j++) {
        double xj[8], tj[8];
        for (int c = 0; c < s.n_in; c++)
            xj[c] = x[(size_t)c * batch + j];
        for (int c = 0; c < s.n_out; c++)
            tj[c] = t[(size_t)c * batch + j];
        loss_at(&s, p, xj, tj, 1, single, y, one);
        for (size_t i = 0; i < n; i++)
            mean[i] += one[i] / batch;
    }
    for (size_t i = 0; i < n; i++)
        diff = fmax(diff, fabs(mean[i] - g[i]) / fmax(1.0, fabs(g[i])));
    check(ok && diff < 1e-12, "  the batch's gradient is the mean of its %d inputs' (max rel. diff %.2g)", batch, diff);
    lyap_mlp_workspace_destroy(&ws);
    lyap_mlp_workspace_destroy(&single);
    free(p), free(g), free(scratch), free(x), free(t), free(y), free(mean), free(one);
}

int main(void)
{
    gradient_check((lyap_mlp_shape){1, 3, 4, 1, 0.1, 1}, 7, 10);
    gradient_check((lyap_mlp_shape){2, 5, 2, 2, 0.01, 0}, 9, 20);
    gradient_check((lyap_mlp_shape){2, 4, 6, 2, 0.0, 1}, 5, 30);
    gradient_check((lyap_mlp_shape){1, 2, 0, 1, 0.5, 1}, 4, 40);
    gradient_check((lyap_mlp_shape){3, 8, 3, 1, 1.0, 1}, 6, 50);

    /* Adam's first step and SGD's momentum, closed forms */
    double w[3] = {1, -2, 0.5}, g[3] = {0.3, -4e-9, 2}, w0[3];
    memcpy(w0, w, sizeof w);
    lyap_optimizer *o;
    int ok = lyap_optimizer_create(LYAP_OPTIM_ADAM, 3, 0.01, 0, &o) == LYAP_OK;
    lyap_optimizer_step(o, w, g);
    double worst = 0;
    for (int i = 0; i < 3; i++)
        worst = fmax(worst, fabs((w0[i] - w[i]) - 0.01 * g[i] / (fabs(g[i]) + 1e-8)));
    check(ok && worst < 1e-16, "Adam's first step: lr g / (|g| + eps) to %.2g", worst);
    lyap_optimizer_destroy(&o);
    double mu = 0.9, b = 0, moved = 0;
    memcpy(w, w0, sizeof w);
    ok = lyap_optimizer_create(LYAP_OPTIM_SGD, 3, 0.1, mu, &o) == LYAP_OK;
    for (int k = 1; k <= 10; k++) {
        lyap_optimizer_step(o, w, g);
        b = g[2] * (1 - pow(mu, k)) / (1 - mu);
        moved += 0.1 * b;
    }
    check(ok && fabs((w0[2] - w[2]) - moved) < 1e-12, "SGD momentum 0.9, constant gradient, 10 steps: moved %.12g, "
          "closed form %.12g", w0[2] - w[2], moved);
    lyap_optimizer_destroy(&o);

    /* Learning a line: width 8, 2 hidden layers, Adam 1e-2, full batch */
    lyap_mlp_shape s = {1, 8, 2, 1, 0.1, 1};
    enum { TRAIN = 64, TEST = 256, STEPS = 3000 };
    size_t n = lyap_mlp_parameter_count(&s);
    double *p = malloc(sizeof *p * n), *grad = malloc(sizeof *grad * n), x[TEST], t[TEST], y[TEST];
    normals(60, 0.6, p, n);
    for (int i = 0; i <= s.depth + 1; i++)
        memset(p + lyap_mlp_layer_of(&s, i).b, 0, sizeof *p * lyap_mlp_layer_of(&s, i).rows);
    for (int j = 0; j < TEST; j++)
        x[j] = -1 + 2.0 * (j + 0.5) / TEST, t[j] = 0.5 * x[j] - 0.2;
    double xtrain[TRAIN], ttrain[TRAIN];
    for (int j = 0; j < TRAIN; j++)
        xtrain[j] = -1 + 2.0 * j / (TRAIN - 1), ttrain[j] = 0.5 * xtrain[j] - 0.2;
    lyap_mlp_workspace *ws, *test;
    ok = lyap_mlp_workspace_create(&s, TRAIN, &ws) == LYAP_OK && lyap_mlp_workspace_create(&s, TEST, &test) == LYAP_OK &&
         lyap_optimizer_create(LYAP_OPTIM_ADAM, n, 1e-2, 0, &o) == LYAP_OK;
    double first = 0, loss = 0;
    for (int k = 0; ok && k < STEPS; k++) {
        lyap_mlp_forward(&s, p, xtrain, TRAIN, ws, y);
        loss = lyap_mlp_backward(&s, p, ttrain, TRAIN, ws, grad);
        first = k == 0 ? loss : first;
        lyap_optimizer_step(o, p, grad);
    }
    lyap_mlp_forward(&s, p, x, TEST, test, y);
    double test_loss = 0;
    for (int j = 0; j < TEST; j++)
        test_loss += (y[j] - t[j]) * (y[j] - t[j]) / TEST;
    check(ok && test_loss < 1e-4, "learning a line (d 8, L 2, Adam 1e-2, %d steps): train loss %.3g -> %.3g, test %.3g",
          STEPS, first, loss, test_loss);
    lyap_optimizer_destroy(&o);
    lyap_mlp_workspace_destroy(&ws);
    lyap_mlp_workspace_destroy(&test);

    /* log gain of a linear network with identity hidden layers */
    lyap_mlp_shape lin = {2, 4, 5, 1, 1.0, 0};
    size_t nl = lyap_mlp_parameter_count(&lin);
    double *pl = calloc(nl, sizeof *pl), xl[2 * 3] = {1, 2, -1, 0.5, 3, 1}, yl[3];
    normals(70, 1, pl, (size_t)lin.width * lin.n_in);
    for (int i = 1; i <= lin.depth; i++)
        for (int r = 0; r < lin.width; r++)
            pl[lyap_mlp_layer_of(&lin, i).w + (size_t)r * lin.width + r] = 1;
    lyap_mlp_workspace *wl;
    ok = lyap_mlp_workspace_create(&lin, 3, &wl) == LYAP_OK;
    lyap_mlp_forward(&lin, pl, xl, 3, wl, yl);
    double gain = ok ? lyap_mlp_log_gain(&lin, 3, wl) : NAN;
    check(fabs(gain) < 1e-15, "log gain of identity hidden layers: %.3g", gain);
    lyap_mlp_workspace_destroy(&wl);

    /* the ISA builds, bit for bit: outputs, loss, gradient and parameters
     * of 3 Adam steps, for widths across the row and column blocks (1-9,
     * 16) and batches with every kind of edge (1; 16; 23 and 37: chunks of
     * 16 and tails of 7 and 5; 100: a tail within lanes 0-3; 128) */
    static const struct {
        lyap_mlp_shape s;
        int batch;
    } isa_cases[] = {
        {{2, 7, 3, 3, 0.2, 1}, 37}, {{1, 8, 2, 1, 0.1, 1}, 128}, {{2, 5, 1, 2, 0.0, 0}, 100},
        {{1, 1, 2, 1, 0.1, 1}, 23},  {{2, 9, 1, 1, 0.01, 1}, 16}, {{1, 4, 0, 2, 0.1, 0}, 1},
        {{2, 16, 1, 2, 0.1, 1}, 23}, {{1, 6, 2, 1, 1.0, 1}, 37},  {{1, 2, 3, 1, 0.1, 1}, 100},
    };
    for (size_t c = 0; c < sizeof isa_cases / sizeof *isa_cases; c++) {
        lyap_mlp_shape iso = isa_cases[c].s;
        int nb = isa_cases[c].batch;
        size_t ni = lyap_mlp_parameter_count(&iso), ny = (size_t)iso.n_out * nb;
        double *start = malloc(ni * sizeof *start), *pref = malloc(ni * sizeof *pref), *pi = malloc(ni * sizeof *pi);
        double *xi = malloc(sizeof *xi * iso.n_in * nb);
        double *ti = malloc(sizeof *ti * ny), *yref = malloc(sizeof *yref * ny * 3), *yi = malloc(sizeof *yi * ny * 3);
        double *gref = malloc(ni * sizeof *gref * 3), *gi = malloc(ni * sizeof *gi * 3), lref[3], li[3];
        normals(80 + 3 * c, 0.7, start, ni), normals(81 + 3 * c, 1, xi, (size_t)iso.n_in * nb);
        normals(82 + 3 * c, 1, ti, ny);
        for (size_t i = 0; i < ni; i += 7)
            start[i] = -0.0; /* -0 weights and biases count as +0 in the vectors */
        for (int i = 0; !iso.biases && i <= iso.depth + 1; i++)
            memset(start + lyap_mlp_layer_of(&iso, i).b, 0, sizeof *start * lyap_mlp_layer_of(&iso, i).rows);
        lyap_mlp_workspace *wi;
        ok = lyap_mlp_workspace_create(&iso, nb, &wi) == LYAP_OK;
        lyap_variates_isa best = lyap_variates_best_isa();
        for (int isa = LYAP_ISA_SSE2; ok && isa <= best; isa++) {
            lyap_mlp_force_isa((lyap_variates_isa)isa);
            double *p_isa = isa == LYAP_ISA_SSE2 ? pref : pi, *y_isa = isa == LYAP_ISA_SSE2 ? yref : yi;
            double *g_isa = isa == LYAP_ISA_SSE2 ? gref : gi, *l_isa = isa == LYAP_ISA_SSE2 ? lref : li;
            memcpy(p_isa, start, ni * sizeof *p_isa);
            ok &= lyap_optimizer_create(LYAP_OPTIM_ADAM, ni, 1e-2, 0, &o) == LYAP_OK;
            for (int k = 0; ok && k < 3; k++) {
                lyap_mlp_forward(&iso, p_isa, xi, nb, wi, y_isa + k * ny);
                l_isa[k] = lyap_mlp_backward(&iso, p_isa, ti, nb, wi, g_isa + k * ni);
                lyap_optimizer_step(o, p_isa, g_isa + k * ni);
            }
            lyap_optimizer_destroy(&o);
            if (isa != LYAP_ISA_SSE2)
                check(ok && memcmp(yi, yref, sizeof *yi * ny * 3) == 0 && memcmp(li, lref, sizeof li) == 0 &&
                          memcmp(gi, gref, sizeof *gi * ni * 3) == 0 && memcmp(pi, pref, sizeof *pi * ni) == 0,
                      "n_in %d, d %d, L %d, n_out %d, biases %d, batch %d: the %s build's outputs, losses, gradients "
                      "and parameters (3 Adam steps) equal the sse2 build's bit for bit", iso.n_in, iso.width,
                      iso.depth, iso.n_out, iso.biases, nb, lyap_variates_isa_name((lyap_variates_isa)isa));
        }
        lyap_mlp_force_isa(LYAP_ISA_UNKNOWN);
        lyap_mlp_workspace_destroy(&wi);
        free(start), free(pref), free(pi), free(xi), free(ti), free(yref), free(yi), free(gref), free(gi);
    }
    free(p), free(grad), free(pl);
    return check_status();
}
