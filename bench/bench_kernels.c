/* bench_kernels: throughput of lyapdiag's kernels on this machine, each
 * measured side by side in one run (one thread). Prints one grep-able
 * BENCH line per figure:
 *   - normal variates per second (the matrix path's floor);
 *   - exact path: layer-steps per second by width (no matrix), 16 columns;
 *   - matrix path: time per layer against the time of its d*d variates
 *     and of its GEMM alone, by width, gaussian weights, and its achieved
 *     GFLOP/s (double and single) next to DGEMM and SGEMM alone;
 *   - a whole task (estimators included) per path: steps per second and
 *     the cost to reach a lambda stderr of 1e-3 (wall x (stderr/1e-3)^2),
 *     gaussian and uniform weights at d = 64;
 *   - the time one task needs for a lambda stderr of 1e-3, by width and
 *     path: with one input per network stderr^2 = v / (replicas x depth),
 *     so it takes v / 1e-6 layer-steps, at the measured steps per second
 *     (v: THEORY.md's exact CLT variance at He scale, a = 0.1);
 *   - the Lyapunov spectrum: time per layer of the QR (Benettin) step, the
 *     rotation-invariant shortcut against the full matrix path, by d and K;
 *   - the exact finite-depth law (FFT): create + laws at depths 10/100/1000.
 * Usage: bench/bench_kernels [seconds per figure, default 0.5] [section]
 * (section: normals, exact, matrix, task, spectrum, train, biases or
 * depthlaw; all by default). BENCH_ISA=avx512, avx2 or sse2 in the
 * environment runs the training kernels' build for that ISA (as on a CPU
 * without the wider ones; it must not be wider than this CPU's). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lyapdiag/biaschain.h"
#include "lyapdiag/biaslaw.h"
#include "lyapdiag/depthlaw.h"
#include "lyapdiag/error.h"
#include "lyapdiag/estimate.h"
#include "lyapdiag/mlp.h"
#include "lyapdiag/optim.h"
#include "lyapdiag/propagate.h"
#include "lyapdiag/rng.h"
#include "lyapdiag/spectrum.h"
#include "lyapdiag/theory.h"
#include "lyapdiag/twoinput.h"
#include "../src/variates.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double budget = 0.5; /* seconds per figure */

static void bench_normals(void)
{
    enum { N = 1 << 16 };
    static double z[N];
    lyap_rng rng;
    lyap_rng_init(&rng, 1, 2, 3, 4, LYAP_RNG_WEIGHTS);
    double t0 = now(), n = 0;
    while (now() - t0 < budget) {
        lyap_rng_normal(&rng, z, N);
        n += N;
    }
    printf("BENCH normals_per_s=%.3g\n", n / (now() - t0));
}

/* Layer-steps per second of one plan (one column = one step per layer). */
static double steps_per_second(lyap_family f, int d, int batch, lyap_method method, lyap_precision precision,
                               double *per_layer_s)
{
    lyap_propagate_plan plan;
    double *inc = malloc(sizeof *inc * batch);
    if (lyap_propagate_plan_create(f, d, 0.1, batch, 1 << 20, method, precision, &plan) != LYAP_OK) {
        fprintf(stderr, "bench: %s\n", lyap_error_message());
        exit(1);
    }
    lyap_propagate_start(plan, 1, 2, 0, 2.0);
    double t0 = now(), layers = 0;
    while (now() - t0 < budget)
        for (int i = 0; i < 64; i++, layers++)
            lyap_propagate_layer(plan, inc);
    double elapsed = now() - t0;
    lyap_propagate_plan_destroy(&plan);
    free(inc);
    *per_layer_s = elapsed / layers;
    return layers * batch / elapsed;
}

/* Seconds to reach a lambda stderr of 1e-3 at width D, STEPS_PER_S. */
static double time_to_stderr(int d, double steps_per_s)
{
    double v;
    lyap_theory_exact(LYAP_FAMILY_GAUSSIAN, d, 0.1, lyap_theory_standard_variance(LYAP_FAMILY_GAUSSIAN, 0.1), NULL, &v,
                      NULL);
    return v / 1e-6 / steps_per_s;
}

/* Seconds per call of GEMM (d x d times d x BATCH), double or single. */
static double gemm_seconds(int d, int batch, int single)
{
    size_t n = (size_t)d * d + 2 * (size_t)d * batch;
    double *dbuf = single ? NULL : calloc(n, sizeof *dbuf);
    float *sbuf = single ? calloc(n, sizeof *sbuf) : NULL;
    double t0 = now(), reps = 0;
    while (now() - t0 < budget)
        for (int i = 0; i < 16; i++, reps++)
            if (single)
                cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, d, batch, d, 1.0f, sbuf, d, sbuf + d * d, d,
                            0.0f, sbuf + d * d + d * batch, d);
            else
                cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, d, batch, d, 1.0, dbuf, d, dbuf + d * d, d,
                            0.0, dbuf + d * d + d * batch, d);
    double seconds = (now() - t0) / reps;
    free(dbuf);
    free(sbuf);
    return seconds;
}

/* The matrix path's layer against its floor, and its achieved GFLOP/s (the
 * layer's 2 d^2 batch flops over the whole layer time) next to OpenBLAS's
 * DGEMM and SGEMM alone on the same shapes. */
static void bench_matrix_layer(int d)
{
    int batch = 8;
    double per_layer, per_layer_single, *W = malloc(sizeof *W * d * d);
    steps_per_second(LYAP_FAMILY_GAUSSIAN, d, batch, LYAP_METHOD_MATRIX, LYAP_PRECISION_DOUBLE, &per_layer);
    steps_per_second(LYAP_FAMILY_GAUSSIAN, d, batch, LYAP_METHOD_MATRIX, LYAP_PRECISION_SINGLE, &per_layer_single);
    lyap_rng rng;
    lyap_rng_init(&rng, 1, 2, 3, 4, LYAP_RNG_WEIGHTS);
    double t0 = now(), reps = 0;
    while (now() - t0 < budget)
        for (int i = 0; i < 16; i++, reps++)
            lyap_rng_normal(&rng, W, (size_t)d * d);
    double variates = (now() - t0) / reps, gemm = gemm_seconds(d, batch, 0), sgemm = gemm_seconds(d, batch, 1);
    double flops = 2.0 * d * d * batch;
    printf("BENCH matrix d=%d batch=%d layer_us=%.3f variates_us=%.3f gemm_us=%.3f gemm_gflops=%.2f "
           "layer_over_floor=%.2f path_gflops=%.2f path_single_gflops=%.2f sgemm_gflops=%.2f\n", d, batch,
           1e6 * per_layer, 1e6 * variates, 1e6 * gemm, flops / gemm / 1e9, per_layer / fmax(variates, gemm),
           flops / per_layer / 1e9, flops / per_layer_single / 1e9, flops / sgemm / 1e9);
    free(W);
}

/* A whole task at He scale: wall time, stderr, cost to stderr 1e-3. */
static void bench_task(lyap_family f, int d, lyap_method method, lyap_precision precision, int replicas, int batch,
                       int depth)
{
    double s2 = lyap_theory_standard_variance(f, 0.1);
    int depths[] = {depth};
    lyap_task_spec spec = {.eps = 1e-3, .family = f, .width = d, .slope = 0.1, .nvariances = 1, .variances = &s2, .ndepths = 1,
                           .depths = depths, .seed = 1, .replicas = replicas, .batch = batch, .method = method,
                           .precision = precision};
    lyap_task_result r;
    lyap_task_result_init(&r, (lyap_result_dims){.nvariances = 1, .ndepths = 1, .nspectrum = 0});
    double t0 = now();
    if (lyap_estimate_task(&spec, &r, NULL, NULL) != LYAP_OK) {
        fprintf(stderr, "bench: %s\n", lyap_error_message());
        exit(1);
    }
    double wall = now() - t0, se = r.lambda_stderr[0];
    printf("BENCH task family=%s d=%d method=%s precision=%s replicas=%d batch=%d depth=%d wall_s=%.3f "
           "steps_per_s=%.3g stderr=%.2e cost_to_1e-3_s=%.3g\n", lyap_family_name(f), d, lyap_method_name(method),
           precision == LYAP_PRECISION_SINGLE ? "single" : "double", replicas, batch, depth, wall, (double)replicas * batch * depth / wall, se, wall * (se / 1e-3) * (se / 1e-3));
    lyap_task_result_free(&r);
}

/* Seconds per layer of one spectrum replica (family F, width D, K exponents). */
static double spectrum_layer_seconds(lyap_family f, int d, int k, lyap_method method)
{
    lyap_spectrum_plan plan;
    double *e = malloc(sizeof *e * k);
    if (!e || lyap_spectrum_plan_create(f, d, 0.1, k, method, &plan) != LYAP_OK) {
        fprintf(stderr, "bench: %s\n", e ? lyap_error_message() : "out of memory");
        exit(1);
    }
    int depth = 10, replica = 0;
    double t0 = now();
    while (now() - t0 < budget / 4 || replica < 2) {
        lyap_spectrum_replica(plan, 1, 2, replica++, depth, 0, e, NULL, NULL);
        if (replica == 8 && depth < 100000 && now() - t0 < budget / 40) /* tiny layers: longer replicas */
            depth *= 10, replica = 0, t0 = now();
    }
    double per_layer = (now() - t0) / ((double)replica * depth);
    lyap_spectrum_plan_destroy(&plan);
    free(e);
    return per_layer;
}

static void bench_spectrum(lyap_family f, int d, int k)
{
    double shortcut = spectrum_layer_seconds(f, d, k, LYAP_METHOD_EXACT);
    double full = spectrum_layer_seconds(f, d, k, LYAP_METHOD_MATRIX);
    printf("BENCH spectrum family=%s d=%d K=%d shortcut_us_per_layer=%.3g matrix_us_per_layer=%.3g saving=%.1fx\n",
           lyap_family_name(f), d, k, 1e6 * shortcut, 1e6 * full, full / shortcut);
}

/* The exact law of log(|x_L|/|x_0|): one workspace to depth 1000 and the
 * laws at depths 10, 100 and 1000 (what one task of a deck costs). */
static void bench_depthlaw(int d)
{
    const int depths[] = {10, 100, 1000};
    int n = 0;
    double t0 = now();
    while (now() - t0 < budget / 4 || n < 3) {
        lyap_depthlaw *law;
        lyap_depthlaw_summary s;
        if (lyap_depthlaw_create(LYAP_FAMILY_GAUSSIAN, d, 0.1, 1.0, 1000, &law) != LYAP_OK) {
            fprintf(stderr, "bench: %s\n", lyap_error_message());
            exit(1);
        }
        for (int i = 0; i < 3; i++)
            lyap_depthlaw_summarize(law, depths[i], &s);
        lyap_depthlaw_destroy(&law);
        n++;
    }
    printf("BENCH depthlaw family=gaussian d=%d depths=10,100,1000 ms_per_task=%.3g\n", d, 1e3 * (now() - t0) / n);
}

/* Whether SECTION is to run (all when no section was asked for). */
/* Networks with biases: layers/s of the O(d) orthogonal chain against the
 * orthogonal matrix path (one column, QR per layer), of the two-input
 * chain, and the exact law's cost per task (biaslaw, L = 50 and 1000). */
static void bench_biases(int d)
{
    int deep[1] = {256}, depths[2] = {50, 1000}, layers = 0; /* replicas of 256 layers */
    double *work = malloc(sizeof *work * 2 * (size_t)d), out;
    lyap_biaschain_spec o = {.width = d, .slope = 0.1, .variance = 1.5, .bias_variance = 0.05, .m0 = 1, .seed = 1,
                             .task_key = 2};
    double t0 = now();
    for (; now() - t0 < budget; layers += 256)
        lyap_biaschain_orthogonal(&o, layers, deep, 1, work, &out);
    double chain = layers / (now() - t0), per_layer;
    double matrix = steps_per_second(LYAP_FAMILY_ORTHOGONAL, d, 1, LYAP_METHOD_MATRIX, LYAP_PRECISION_DOUBLE,
                                     &per_layer);
    lyap_twoinput_spec two = {.width = d, .slope = 0.1, .variance = 1.5, .bias_variance = 0.05, .m0 = 1,
                              .cosine0 = 0.5, .seed = 1, .task_key = 2};
    t0 = now();
    for (layers = 0; now() - t0 < budget; layers += 256)
        lyap_twoinput_chain(&two, layers, deep, 1, work, &out);
    double pairs = layers / (now() - t0);
    lyap_biaslaw *law = NULL;
    t0 = now();
    int n = 0;
    for (; now() - t0 < budget || n == 0; n++) {
        lyap_biaslaw_create(d, 0.1, 2 / 1.01, 0.05, 1, depths, 2, &law);
        lyap_biaslaw_destroy(&law);
    }
    double law_ms = 1e3 * (now() - t0) / n;
    /* the gaussian exact path with biases against without: column-steps/s, batch 16 */
    enum { COLUMNS = 16 };
    lyap_propagate_plan plan;
    double log_q[COLUMNS], free_steps = steps_per_second(LYAP_FAMILY_GAUSSIAN, d, COLUMNS, LYAP_METHOD_EXACT,
                                                         LYAP_PRECISION_DOUBLE, &per_layer);
    if (lyap_propagate_plan_create(LYAP_FAMILY_GAUSSIAN, d, 0.1, COLUMNS, 1 << 20, LYAP_METHOD_EXACT,
                                   LYAP_PRECISION_DOUBLE, &plan) != LYAP_OK) {
        fprintf(stderr, "bench: %s\n", lyap_error_message());
        exit(1);
    }
    lyap_propagate_start(plan, 1, 2, 0, 1.5);
    for (int j = 0; j < COLUMNS; j++)
        log_q[j] = log((double)d);
    t0 = now();
    for (layers = 0; now() - t0 < budget; layers += 64)
        for (int k = 0; k < 64; k++)
            lyap_propagate_signal_layer(plan, 1.5, 0.05, log_q);
    double biased_steps = (double)layers * COLUMNS / (now() - t0);
    lyap_propagate_plan_destroy(&plan);
    printf("BENCH biases d=%d exact_steps_per_s without=%.3g with=%.3g (ratio %.2f) orthogonal_chain_layers_per_s=%.3g "
           "orthogonal_matrix_layers_per_s=%.3g saving=%.1fx two_input_layers_per_s=%.3g biaslaw_ms_per_task=%.3g\n",
           d, free_steps, biased_steps, biased_steps / free_steps, chain, matrix, chain / matrix, pairs, law_ms);
    free(work);
}

static const char *train_isa = "best";

/* One training step of `lyapdiag train` (forward, backward, Adam) on a
 * network of width D and depth L, batch 128, 1-D input and output:
 * microseconds per network-step, against bench/train_baseline.py. */
static void bench_train_step(int d, int depth)
{
    lyap_mlp_shape s = {1, d, depth, 1, 0.01, 1};
    enum { B = 128 };
    size_t n = lyap_mlp_parameter_count(&s);
    double *p = malloc(sizeof *p * n), *g = malloc(sizeof *g * n), x[B], t[B], y[B];
    lyap_rng rng;
    lyap_rng_init(&rng, 1, 2, 0, 0, LYAP_RNG_INPUTS);
    lyap_rng_normal(&rng, p, n);
    for (size_t i = 0; i < n; i++)
        p[i] *= 0.3;
    for (int j = 0; j < B; j++)
        x[j] = -1 + 2.0 * j / B, t[j] = x[j] * x[j] * x[j] - x[j];
    lyap_mlp_workspace *ws;
    lyap_optimizer *o;
    if (lyap_mlp_workspace_create(&s, B, &ws) != LYAP_OK || lyap_optimizer_create(LYAP_OPTIM_ADAM, n, 1e-3, 0, &o) != LYAP_OK) {
        fprintf(stderr, "bench: %s\n", lyap_error_message());
        exit(1);
    }
    long steps = 0;
    double t0 = now();
    while (now() - t0 < budget)
        for (int k = 0; k < 16; k++, steps++) {
            lyap_mlp_forward(&s, p, x, B, ws, y);
            lyap_mlp_backward(&s, p, t, B, ws, g);
            lyap_optimizer_step(o, p, g);
        }
    printf("BENCH train_step d=%d depth=%d batch=%d isa=%s us_per_network_step=%.1f\n", d, depth, B, train_isa,
           1e6 * (now() - t0) / steps);
    lyap_mlp_workspace_destroy(&ws);
    lyap_optimizer_destroy(&o);
    free(p), free(g);
}

static const char *only;
static int wanted(const char *section)
{
    return !only || strcmp(only, section) == 0;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        budget = atof(argv[1]);
    if (argc > 2)
        only = argv[2];
    lyap_propagate_set_blas_threads(1);
    printf("BENCH blas core=%s\n", lyap_propagate_blas_core()); /* the kernels OpenBLAS runs */
    const char *isa = getenv("BENCH_ISA");
    if (isa && *isa) {
        lyap_variates_isa want = LYAP_ISA_UNKNOWN;
        for (int i = LYAP_ISA_SSE2; i <= LYAP_ISA_AVX512; i++)
            if (strcmp(isa, lyap_variates_isa_name((lyap_variates_isa)i)) == 0)
                want = (lyap_variates_isa)i;
        if (want == LYAP_ISA_UNKNOWN || want > lyap_variates_best_isa()) {
            fprintf(stderr, "bench: BENCH_ISA=%s: not one of sse2, avx2, avx512 that this CPU runs (best: %s)\n", isa,
                    lyap_variates_isa_name(lyap_variates_best_isa()));
            return 1;
        }
        lyap_mlp_force_isa(want);
        train_isa = lyap_variates_isa_name(want);
    }
    if (wanted("normals"))
        bench_normals();
    const int widths[] = {2, 4, 16, 64, 256, 1024};
    for (size_t i = 0; wanted("exact") && i < sizeof widths / sizeof *widths; i++) {
        double per_layer, d = widths[i];
        /* The exact path's columns are independent networks: 16 of them per
         * replica (the default batch) cost no information, unlike the
         * matrix path's, which share their weights. */
        double exact = steps_per_second(LYAP_FAMILY_GAUSSIAN, widths[i], 16, LYAP_METHOD_EXACT, LYAP_PRECISION_DOUBLE,
                                        &per_layer);
        double matrix = steps_per_second(LYAP_FAMILY_GAUSSIAN, widths[i], 1, LYAP_METHOD_MATRIX, LYAP_PRECISION_DOUBLE,
                                         &per_layer);
        double single = steps_per_second(LYAP_FAMILY_GAUSSIAN, widths[i], 1, LYAP_METHOD_MATRIX, LYAP_PRECISION_SINGLE,
                                         &per_layer);
        printf("BENCH exact d=%d steps_per_s=%.3g\n", widths[i], exact);
        printf("BENCH time_to_stderr_1e-3 d=%d exact_s=%.3g matrix_s=%.3g matrix_single_s=%.3g\n", widths[i],
               time_to_stderr((int)d, exact), time_to_stderr((int)d, matrix), time_to_stderr((int)d, single));
    }
    for (size_t i = 0; wanted("matrix") && i < sizeof widths / sizeof *widths; i++)
        if (widths[i] >= 16)
            bench_matrix_layer(widths[i]);
    if (wanted("task")) {
        bench_task(LYAP_FAMILY_GAUSSIAN, 64, LYAP_METHOD_EXACT, LYAP_PRECISION_DOUBLE, 4096, 1, 1000);
        bench_task(LYAP_FAMILY_GAUSSIAN, 64, LYAP_METHOD_EXACT, LYAP_PRECISION_DOUBLE, 256, 16, 1000);
        bench_task(LYAP_FAMILY_GAUSSIAN, 64, LYAP_METHOD_MATRIX, LYAP_PRECISION_DOUBLE, 64, 1, 1000);
        bench_task(LYAP_FAMILY_GAUSSIAN, 64, LYAP_METHOD_MATRIX, LYAP_PRECISION_DOUBLE, 64, 8, 1000);
        bench_task(LYAP_FAMILY_GAUSSIAN, 64, LYAP_METHOD_MATRIX, LYAP_PRECISION_SINGLE, 64, 1, 1000);
        /* uniform weights: the matrix path is their only path */
        bench_task(LYAP_FAMILY_UNIFORM, 64, LYAP_METHOD_MATRIX, LYAP_PRECISION_DOUBLE, 64, 1, 1000);
        bench_task(LYAP_FAMILY_UNIFORM, 64, LYAP_METHOD_MATRIX, LYAP_PRECISION_SINGLE, 64, 1, 1000);
    }
    const int spectrum_widths[] = {16, 64, 256};
    for (size_t i = 0; wanted("spectrum") && i < sizeof spectrum_widths / sizeof *spectrum_widths; i++) {
        bench_spectrum(LYAP_FAMILY_GAUSSIAN, spectrum_widths[i], 8);
        bench_spectrum(LYAP_FAMILY_GAUSSIAN, spectrum_widths[i], spectrum_widths[i]);
        bench_spectrum(LYAP_FAMILY_ORTHOGONAL, spectrum_widths[i], 8);
        bench_spectrum(LYAP_FAMILY_ORTHOGONAL, spectrum_widths[i], spectrum_widths[i]);
    }
    if (wanted("train")) {
        bench_train_step(8, 40);
        bench_train_step(2, 40);
    }
    for (size_t i = 0; wanted("biases") && i < 3; i++)
        bench_biases((int[]){4, 16, 256}[i]);
    if (wanted("depthlaw")) {
        bench_depthlaw(4);
        bench_depthlaw(16);
        bench_depthlaw(1024);
    }
    return 0;
}
