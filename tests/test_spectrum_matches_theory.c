/* The Lyapunov spectrum by QR/Benettin (THEORY.md "Lyapunov spectrum")
 * against everything THEORY.md knows, on both paths (the rotation-invariant
 * shortcut and the full matrix path), fixed seeds:
 * - lambda_1 equals the activation exponent (and its exact value);
 * - gaussian a = 1: Newman's formula, every index within 4 stderr;
 * - gaussian a < 1, K = width: the sum rule, per replica (the sum of
 *   log R_ii is log|det D W| layer by layer), within 4 stderr;
 * - orthogonal a = 1: every exponent log eta to rounding (isometry gap 0);
 * - looks-linear: the h finite exponents of (1+a) A_l at a = 0 and 0.1,
 *   -inf beyond h; looks-linear-orthogonal: all log((1+a) eta) exactly;
 * - the two paths agree index by index; a run is deterministic. */
#include <string.h>

#include "check.h"
#include "lyapdiag/deck.h"
#include "lyapdiag/error.h"
#include "lyapdiag/estimate.h"
#include "lyapdiag/rng.h"
#include "lyapdiag/spectrum.h"
#include "lyapdiag/theory.h"

#define MAXK 16

typedef struct {
    lyap_task_result r;
    char name[96];
} run;

/* Runs the task (family F, width D, slope A, variance S2, K exponents,
 * METHOD) with REPLICAS replicas of DEPTH layers. */
static int estimate(run *out, lyap_family f, int d, double a, double s2, int k, lyap_method method, int replicas,
                    int depth)
{
    int depths[] = {depth};
    lyap_task_spec spec = {.eps = 1e-3, .family = f, .width = d, .slope = a, .nvariances = 1, .variances = &s2, .ndepths = 1,
                           .depths = depths, .seed = 2026, .replicas = replicas, .batch = 2, .method = method,
                           .spectrum = k};
    snprintf(out->name, sizeof out->name, "%s d=%d a=%g %s", lyap_family_name(f), d, a, lyap_method_name(method));
    if (lyap_task_result_init(&out->r, (lyap_result_dims){.nvariances = 1, .ndepths = 1, .nspectrum = k}) != LYAP_OK ||
        lyap_estimate_task(&spec, &out->r, NULL, NULL) != LYAP_OK) {
        check(0, "%s: %s", out->name, lyap_error_message());
        return 0;
    }
    return 1;
}

/* Every exponent within 4 stderr of the theory (exactly equal where -inf). */
static void check_against_theory(const run *x, int k)
{
    for (int i = 0; i < k; i++) {
        char what[160];
        snprintf(what, sizeof what, "%s: lambda_%d (4 stderr)", x->name, i + 1);
        if (isinf(x->r.spectrum_theory[i]))
            check(x->r.spectrum[i] == x->r.spectrum_theory[i], "%s: %g, exactly %g", what, x->r.spectrum[i],
                  x->r.spectrum_theory[i]);
        else
            check_near(what, x->r.spectrum[i], x->r.spectrum_theory[i], 4 * x->r.spectrum_stderr[i] + 1e-12);
    }
}

static void newman(lyap_method method)
{
    run x;
    if (!estimate(&x, LYAP_FAMILY_GAUSSIAN, 8, 1.0, 1.3, 8, method, 128, 500))
        return;
    check_against_theory(&x, 8);
    lyap_task_result_free(&x.r);
}

/* lambda_1 is the activation exponent: against the independent activation
 * estimate (combined stderr) and the exact value. */
static void top_exponent_is_lambda(lyap_family f, double a, lyap_method method)
{
    run x;
    if (!estimate(&x, f, 16, a, 2.0, 3, method, 128, 500))
        return;
    char what[160];
    snprintf(what, sizeof what, "%s: lambda_1 vs activation lambda (4 combined stderr)", x.name);
    check_near(what, x.r.spectrum[0], x.r.lambda[0],
               4 * hypot(x.r.spectrum_stderr[0], x.r.lambda_stderr[0]));
    snprintf(what, sizeof what, "%s: spectrum_theory lambda_1 = lambda_theory", x.name);
    check_near(what, x.r.spectrum_theory[0], x.r.lambda_theory[0], 1e-14);
    check(isnan(x.r.spectrum_theory[1]), "%s: no per-index theory below lambda_1 at this slope (NaN)", x.name);
    snprintf(what, sizeof what, "%s: lambda_1 vs exact lambda (4 stderr)", x.name);
    check_near(what, x.r.spectrum[0], x.r.lambda_theory[0], 4 * x.r.spectrum_stderr[0]);
    check(x.r.isometry_gap[0] > 0 && x.r.spectrum[0] > x.r.spectrum[1] && x.r.spectrum[1] > x.r.spectrum[2],
          "%s: exponents decrease, isometry gap %g > 0", x.name, x.r.isometry_gap[0]);
    lyap_task_result_free(&x.r);
}

/* The gaussian sum rule with K = d: the replica sums of all exponents are
 * i.i.d., so their mean's stderr is exact. */
static void sum_rule(double a, lyap_method method)
{
    const int d = 8, replicas = 64, depth = 300;
    double s2 = 1.7, rule, e[MAXK], sum_mean = 0, sum_sq = 0;
    lyap_spectrum_plan plan;
    uint64_t key = lyap_rng_task_key(LYAP_FAMILY_GAUSSIAN, d, a, 0);
    if (lyap_spectrum_plan_create(LYAP_FAMILY_GAUSSIAN, d, a, d, method, &plan) != LYAP_OK ||
        lyap_theory_gauss_spectrum_sum(d, a, s2, &rule) != LYAP_OK) {
        check(0, "sum rule a=%g: %s", a, lyap_error_message());
        return;
    }
    for (int r = 0; r < replicas; r++) {
        lyap_spectrum_replica(plan, 5, key, r, depth, 0, e, NULL, NULL);
        double sum = 0;
        for (int i = 0; i < d; i++)
            sum += e[i] + 0.5 * log(s2);
        sum_mean += sum / replicas;
        sum_sq += sum * sum;
    }
    double sd = sqrt((sum_sq - replicas * sum_mean * sum_mean) / (replicas - 1));
    char what[160];
    snprintf(what, sizeof what, "gaussian d=%d a=%g %s: sum of all exponents vs sum rule (4 stderr)", d, a,
             lyap_method_name(method));
    check_near(what, sum_mean, rule, 4 * sd / sqrt(replicas));
    lyap_spectrum_plan_destroy(&plan);
}

static void orthogonal_isometry(lyap_method method)
{
    run x;
    double eta2 = 1.8;
    if (!estimate(&x, LYAP_FAMILY_ORTHOGONAL, 8, 1.0, eta2, 8, method, 8, 100))
        return;
    for (int i = 0; i < 8; i++) {
        char what[160];
        snprintf(what, sizeof what, "%s: lambda_%d = log eta", x.name, i + 1);
        check_near(what, x.r.spectrum[i], 0.5 * log(eta2), 1e-13);
    }
    check(fabs(x.r.isometry_gap[0]) < 1e-13, "%s: isometry gap %g = 0", x.name, x.r.isometry_gap[0]);
    lyap_task_result_free(&x.r);
}

static void looks_linear(lyap_family f, double a)
{
    run x;
    const int d = 12, k = 8; /* h = 6: two exponents beyond the rank */
    if (!estimate(&x, f, d, a, 1.5, k, LYAP_METHOD_MATRIX, 128, 400))
        return;
    if (f == LYAP_FAMILY_LOOKS_LINEAR) {
        check_against_theory(&x, k);
    } else {
        for (int i = 0; i < d / 2; i++) {
            char what[160];
            snprintf(what, sizeof what, "%s: lambda_%d = log((1+a) eta)", x.name, i + 1);
            check_near(what, x.r.spectrum[i], log((1 + a) * sqrt(1.5)), 1e-12);
        }
        check(x.r.spectrum[6] == -INFINITY && x.r.spectrum[7] == -INFINITY, "%s: lambda_7, lambda_8 = -inf",
              x.name);
    }
    check(x.r.isometry_gap[0] == INFINITY, "%s: isometry gap +inf with K > h (%g)", x.name, x.r.isometry_gap[0]);
    lyap_task_result_free(&x.r);
}

/* The shortcut and the full path sample the same law. */
static void paths_agree(lyap_family f)
{
    run exact, matrix;
    if (!estimate(&exact, f, 6, 0.1, 1.0, 6, LYAP_METHOD_EXACT, 128, 400) ||
        !estimate(&matrix, f, 6, 0.1, 1.0, 6, LYAP_METHOD_MATRIX, 128, 400))
        return;
    for (int i = 0; i < 6; i++) {
        char what[160];
        snprintf(what, sizeof what, "%s d=6 a=0.1: lambda_%d shortcut vs matrix path (4 combined stderr)",
                 lyap_family_name(f), i + 1);
        check_near(what, exact.r.spectrum[i], matrix.r.spectrum[i],
                   4 * hypot(exact.r.spectrum_stderr[i], matrix.r.spectrum_stderr[i]));
    }
    lyap_task_result_free(&exact.r);
    lyap_task_result_free(&matrix.r);
}

static void deterministic(void)
{
    run x, y;
    if (!estimate(&x, LYAP_FAMILY_UNIFORM, 6, 0.3, 1.0, 4, LYAP_METHOD_MATRIX, 4, 50) ||
        !estimate(&y, LYAP_FAMILY_UNIFORM, 6, 0.3, 1.0, 4, LYAP_METHOD_MATRIX, 4, 50))
        return;
    check(memcmp(x.r.buf, y.r.buf, x.r.length * sizeof *x.r.buf) == 0, "uniform: two runs bit-identical");
    lyap_task_result_free(&x.r);
    lyap_task_result_free(&y.r);
}

int main(void)
{
    newman(LYAP_METHOD_EXACT);
    newman(LYAP_METHOD_MATRIX);
    top_exponent_is_lambda(LYAP_FAMILY_GAUSSIAN, 0.1, LYAP_METHOD_EXACT);
    top_exponent_is_lambda(LYAP_FAMILY_ORTHOGONAL, 0.1, LYAP_METHOD_EXACT);
    top_exponent_is_lambda(LYAP_FAMILY_GAUSSIAN, 0.5, LYAP_METHOD_MATRIX);
    sum_rule(0.1, LYAP_METHOD_EXACT);
    sum_rule(0.5, LYAP_METHOD_EXACT);
    sum_rule(0.1, LYAP_METHOD_MATRIX);
    orthogonal_isometry(LYAP_METHOD_EXACT);
    orthogonal_isometry(LYAP_METHOD_MATRIX);
    looks_linear(LYAP_FAMILY_LOOKS_LINEAR, 0.0);
    looks_linear(LYAP_FAMILY_LOOKS_LINEAR, 0.1);
    looks_linear(LYAP_FAMILY_LOOKS_LINEAR_ORTHOGONAL, 0.0);
    looks_linear(LYAP_FAMILY_LOOKS_LINEAR_ORTHOGONAL, 0.1);
    paths_agree(LYAP_FAMILY_GAUSSIAN);
    paths_agree(LYAP_FAMILY_ORTHOGONAL);
    deterministic();
    return check_status();
}
