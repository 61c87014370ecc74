/* One training task (train.h), every method and both problems:
 *   - at step 0, the gradient of the training loss against central
 *     differences (30 parameters each, double), for every method, the
 *     polynomial and the score problem;
 *   - every method learns the degree-5 polynomial (test loss falls
 *     below a tenth of its start); an easy target (a line) reaches a test
 *     loss below 1e-3; the score problem's loss falls;
 *   - without biases a 1-D network is positively homogeneous and cannot fit
 *     x^2 (test loss stays above 0.01; 1/80 on each half line at best),
 *     with biases it does;
 *   - lsuv's hidden layers have unit mean square outputs on the first batch;
 *   - a learning rate far too large diverges: flagged, NaN losses, no crash;
 *   - a task is deterministic, and bad setups are refused (odd width with
 *     looks-linear, slope 0 with a lyapunov method). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lyapdiag/error.h"
#include "lyapdiag/mlp.h"
#include "lyapdiag/train.h"

static lyap_train_setup polynomial(void)
{
    lyap_train_setup s = {.problem = LYAP_TRAIN_POLYNOMIAL, .ncoefficients = 6, .coefficients = {0, 0.5, 0, -1, 0, 1},
                          .train_points = 64, .test_points = 256, .steps = 1500, .batch = 0, .record_every = 100,
                          .biases = 1, .candidates = 4, .score_sigma = 0.1};
    return s;
}

static void gradient_check(const lyap_train_setup *setup, lyap_train_task t)
{
    /* 64 training points: with more, a perturbation more often moves a
     * pre-activation across Leaky ReLU's kink, where differences lie */
    lyap_train_setup small = *setup;
    small.train_points = 64;
    small.score_sigma = 1; /* targets -e/sigma of order 1, not 10: a loss of 1, not 100, to difference */
    const lyap_train_setup *s = &small;
    lyap_mlp_shape shape = lyap_train_shape(s, &t);
    size_t n = lyap_mlp_parameter_count(&shape), points = (size_t)shape.n_in * s->train_points;
    double *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g), *g2 = malloc(n * sizeof *g);
    double *x = malloc(points * sizeof *x), *y = malloc(points * sizeof *y), *tt = malloc(points * sizeof *tt);
    lyap_mlp_workspace *ws = NULL;
    int ok = lyap_train_start(s, &t, p, x, tt) == LYAP_OK &&
             lyap_mlp_workspace_create(&shape, s->train_points, &ws) == LYAP_OK;
    double worst = 0, scale = 0;
    if (ok) {
        lyap_mlp_forward(&shape, p, x, s->train_points, ws, y);
        lyap_mlp_backward(&shape, p, tt, s->train_points, ws, g);
    }
    for (size_t i = 0; ok && i < n; i++)
        scale = fmax(scale, fabs(g[i]));
    for (int k = 0; ok && k < 30; k++) {
        size_t i = (size_t)(k * 7919) % n;
        double keep = p[i], h = 1e-6 * fmax(1, fabs(keep)), up, down;
        p[i] = keep + h;
        lyap_mlp_forward(&shape, p, x, s->train_points, ws, y);
        up = lyap_mlp_backward(&shape, p, tt, s->train_points, ws, g2);
        p[i] = keep - h;
        lyap_mlp_forward(&shape, p, x, s->train_points, ws, y);
        down = lyap_mlp_backward(&shape, p, tt, s->train_points, ws, g2);
        p[i] = keep;
        /* relative to the gradient's scale for its tiny entries */
        worst = fmax(worst, fabs((up - down) / (2 * h) - g[i]) / fmax(fabs(g[i]), 1e-4 * scale));
    }
    /* h = 1e-6 leaves ~1e-5 of rounding in the differences; a wrong
     * backpropagation is off by O(1) */
    check(ok && worst < 1e-4, "%s, %s: step-0 gradient vs central differences, max rel. error %.2g < 1e-4",
          lyap_train_method_name(t.method), s->problem == LYAP_TRAIN_SCORE ? "score" : "polynomial", worst);
    lyap_mlp_workspace_destroy(&ws);
    free(p), free(g), free(g2), free(x), free(y), free(tt);
}

int main(void)
{
    lyap_train_setup s = polynomial(), score = polynomial();
    score.problem = LYAP_TRAIN_SCORE, score.steps = 600, score.train_points = 1024; /* noisy targets: enough data */
    lyap_train_task t = {.width = 8, .depth = 6, .slope = 0.05, .optimizer = LYAP_OPTIM_ADAM, .learning_rate = 1e-3,
                         .seed = 3};
    for (int m = 0; m < LYAP_TRAIN_NMETHODS; m++) {
        t.method = (lyap_train_method)m;
        gradient_check(&s, t);
        gradient_check(&score, t);
        lyap_train_result r;
        int status = lyap_train_run(&s, &t, &r);
        check(status == LYAP_OK && !r.diverged && r.final_test_loss < 0.1 * r.test_loss[0] &&
              r.steps_done == s.steps, "%s learns the degree-5 polynomial: test loss %.4g -> %.4g (log gain at step 0 "
              "%.3f)", lyap_train_method_name(t.method), status == LYAP_OK ? r.test_loss[0] : NAN, r.final_test_loss,
              r.initial_log_gain);
        lyap_train_result_free(&r);
    }

    /* an easy target */
    lyap_train_setup line = polynomial();
    line.ncoefficients = 2, line.coefficients[0] = -0.2, line.coefficients[1] = 0.7;
    t.method = LYAP_TRAIN_LYAPUNOV_GAUSSIAN, t.learning_rate = 1e-2;
    lyap_train_result r;
    int status = lyap_train_run(&line, &t, &r);
    check(status == LYAP_OK && r.final_test_loss < 1e-3, "a line is learned: test loss %.3g < 1e-3", r.final_test_loss);
    lyap_train_result_free(&r);

    /* determinism */
    lyap_train_result a, b;
    t.learning_rate = 1e-3;
    status = lyap_train_run(&s, &t, &a) | lyap_train_run(&s, &t, &b);
    check(status == LYAP_OK && memcmp(a.test_loss, b.test_loss, sizeof *a.test_loss * a.nrecords) == 0,
          "a task is deterministic (every recorded test loss bit for bit)");
    lyap_train_result_free(&a);
    lyap_train_result_free(&b);

    /* score matching learns */
    t.method = LYAP_TRAIN_HE;
    status = lyap_train_run(&score, &t, &r);
    check(status == LYAP_OK && r.final_test_loss < 0.9 * r.test_loss[0], "score matching: test loss %.4g -> %.4g",
          status == LYAP_OK ? r.test_loss[0] : NAN, r.final_test_loss);
    lyap_train_result_free(&r);

    /* biases: x^2 without them is out of reach */
    lyap_train_setup square = polynomial();
    square.ncoefficients = 3, square.coefficients[0] = 0, square.coefficients[1] = 0, square.coefficients[2] = 1;
    t.method = LYAP_TRAIN_ORTHOGONAL, t.learning_rate = 3e-3;
    lyap_train_result with, without;
    status = lyap_train_run(&square, &t, &with);
    square.biases = 0;
    status |= lyap_train_run(&square, &t, &without);
    check(status == LYAP_OK && without.final_test_loss > 0.01 && with.final_test_loss < 0.01,
          "x^2: with biases test loss %.4g < 0.01; without (positively homogeneous) %.4g > 0.01",
          with.final_test_loss, without.final_test_loss);
    lyap_train_result_free(&with);
    lyap_train_result_free(&without);

    /* lsuv: unit mean square outputs per hidden unit on the first batch */
    t.method = LYAP_TRAIN_LSUV;
    lyap_mlp_shape shape = lyap_train_shape(&s, &t);
    size_t n = lyap_mlp_parameter_count(&shape);
    double *p = malloc(n * sizeof *p), x[64], tt[64], y[64], worst = 0;
    lyap_mlp_workspace *ws = NULL;
    status = lyap_train_start(&s, &t, p, x, tt) | lyap_mlp_workspace_create(&shape, 64, &ws);
    if (status == LYAP_OK) {
        lyap_mlp_forward(&shape, p, x, 64, ws, y);
        for (int l = 1; l <= shape.depth; l++) {
            const double *out = lyap_mlp_activations(ws, l);
            double ms = 0;
            for (int i = 0; i < shape.width * 64; i++)
                ms += out[i] * out[i] / (shape.width * 64);
            worst = fmax(worst, fabs(ms - 1));
        }
    }
    check(status == LYAP_OK && worst < 1e-12, "lsuv: every hidden layer's mean square output is 1 (max |ms - 1| %.2g)",
          worst);
    lyap_mlp_workspace_destroy(&ws);
    free(p);

    /* divergence */
    t.method = LYAP_TRAIN_HE, t.optimizer = LYAP_OPTIM_SGD, t.learning_rate = 50;
    status = lyap_train_run(&s, &t, &r);
    check(status == LYAP_OK && r.diverged && isnan(r.final_test_loss) && r.steps_done < s.steps &&
          isnan(r.test_loss[r.nrecords - 1]), "SGD at lr 50 diverges: flagged after %d steps, NaN losses, no crash",
          r.steps_done);
    lyap_train_result_free(&r);

    /* refused setups */
    t.optimizer = LYAP_OPTIM_ADAM, t.learning_rate = 1e-3, t.method = LYAP_TRAIN_LOOKS_LINEAR, t.width = 7;
    check(lyap_train_run(&s, &t, &r) == LYAP_EUSAGE, "looks-linear at an odd width is refused");
    t.method = LYAP_TRAIN_LYAPUNOV_GAUSSIAN, t.width = 8, t.slope = 0;
    check(lyap_train_run(&s, &t, &r) == LYAP_EUSAGE, "lyapunov-gaussian at slope 0 (no finite s2_crit) is refused");
    return check_status();
}
