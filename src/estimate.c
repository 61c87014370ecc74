/* estimate.c: Monte Carlo estimators for one task (DESIGN.md, "estimate").
 *
 * One run to the largest recorded depth serves every depth; the variance
 * axis is the exact homogeneity shift of THEORY.md ("The sharp boundary"):
 * lambda(s2) = lambda(1) + 0.5 log s2 and log-norms shift by 0.5 L log s2,
 * unless the deck asks to simulate every variance (verify_homogeneity).
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lyapdiag/autocorr.h"
#include "lyapdiag/depthlaw.h"
#include "lyapdiag/error.h"
#include "lyapdiag/estimate.h"
#include "lyapdiag/propagate.h"
#include "lyapdiag/rng.h"
#include "lyapdiag/spectrum.h"
#include "lyapdiag/theory.h"

/* Welford's running mean and sum of squared deviations. */
typedef struct {
    long n;
    double mean, m2;
} running_stats;

static void stats_push(running_stats *s, double x)
{
    s->n++;
    double delta = x - s->mean;
    s->mean += delta / s->n;
    s->m2 += delta * (x - s->mean);
}

static double stats_variance(const running_stats *s)
{
    return s->n > 1 ? s->m2 / (s->n - 1) : NAN;
}

static double stats_stderr(const running_stats *s)
{
    return sqrt(stats_variance(s) / s->n);
}

/* SPEC with auto resolved: every step of a task sees exact or matrix. */
static lyap_task_spec resolve_method(const lyap_task_spec *spec)
{
    lyap_task_spec resolved = *spec;
    resolved.method = lyap_method_resolve(spec->method, spec->family);
    return resolved;
}

double lyap_estimate_task_bytes(const lyap_task_spec *requested)
{
    lyap_task_spec spec = resolve_method(requested);
    double d = spec.width, batch = spec.batch, k = spec.spectrum, depth = spec.depths[spec.ndepths - 1];
    int matrix = spec.method == LYAP_METHOD_MATRIX;
    double series = matrix ? depth * (batch + 70.0) : 0;
    /* per (variance, depth): tail statistics, moments, the result buffer */
    double grid = 26.0 * spec.nvariances * spec.ndepths;
    return 8.0 * (d * d + 2.0 * d * batch + 66.0 * d + 4.0 * batch + 3.0 * d * k + series + grid) + (1 << 20);
}

int lyap_estimate_clt_batch_length(int depth)
{
    int b = (int)floor(sqrt((double)depth));
    return b < 1 ? 1 : b;
}

/* What one simulation (one weight scale) yields. */
typedef struct {
    int replicas; /* run */
    double death_rate; /* exact deaths per live layer-step (where the theory has no death probability) */
    double lambda, lambda_stderr, v, v_stderr;
    double tau_int, tau_int_stderr; /* integrated autocorrelation time of the increments */
    double *logn_mean, *logn_var, *survival; /* [ndepths] */
    /* [nvariances * ndepths], for every grid variance (shifted) */
    double *p_vanish, *p_vanish_stderr, *p_explode, *p_explode_stderr;
} simulation;

/* Per-column state while one replica runs. */
typedef struct {
    double *cum;        /* log(|x_l|/|x_0|) so far */
    double *batch_sum;  /* increments of the open batch */
    running_stats *batches; /* over closed batch sums: long-run variance */
    double *increments; /* this layer's (exact path) */
    double *series;     /* matrix path: every layer's, [depth][batch] */
    lyap_autocorr *autocorr; /* matrix path: the long-run variance of the series */
    running_stats *vanish, *explode; /* [nvariances * ndepths]: replica fractions */
} column_state;

/* Sums over replicas at one recorded depth. */
typedef struct {
    running_stats replica_mean; /* of each replica's mean log-norm */
    double within;              /* sum of within-replica (population) variances */
    long alive;                 /* columns with |x_L| > 0 */
} depth_stats;

typedef struct {
    const lyap_task_spec *spec;
    lyap_poll_fn poll;
    void *poll_ctx;
    long done_replicas, total_replicas;
} progress;

/* Layers the exponents leave out. Looks-linear weights: the first layer
 * is a transient (it depends on how x_0 splits, THEORY.md), so lambda, v
 * and the spectrum use layers 2..L; the finite-depth moments keep it.
 * Other families: every layer. */
static int burn_in_layers(const lyap_task_spec *spec)
{
    return lyap_family_info_of(spec->family)->looks_linear ? 1 : 0;
}

/* The adaptive stopping rule, checked before replica R: with a target,
 * stop at the end of a round once lambda's stderr is at most the target,
 * judged from LYAP_ADAPTIVE_MIN_REPLICAS replicas on (a stderr from fewer
 * is itself too noisy: stopping at its first dip would understate it).
 * Where layers are known to kill the signal (slope 0) lambda = -inf needs no
 * estimate, and the cap is run for the finite-depth statistics. Depends
 * only on the task's own numbers, so it is as reproducible as they are. */
static int target_reached(const lyap_task_spec *spec, const running_stats *lambda, int r)
{
    if (spec->target_stderr <= 0 || r < LYAP_ADAPTIVE_MIN_REPLICAS || r % LYAP_ADAPTIVE_ROUND != 0)
        return 0;
    return !(lyap_theory_death_probability(spec->family, spec->width, spec->slope) > 0) &&
           stats_stderr(lambda) <= spec->target_stderr;
}

/* The tail probabilities of log(|x_L|/|x_0|) at recorded depth K (layer
 * L) for every grid variance, from this replica's columns: the fraction
 * below log eps (dead ReLU columns included: |x_L| = 0) and above -log eps,
 * after the homogeneity shift 0.5 L log(s2_i/s2) from the simulated scale.
 * Replica fractions are independent, so their spread gives the stderr (the
 * binomial error, corrected for the columns' correlation). */
static void count_tails(const lyap_task_spec *spec, column_state *col, double s2, int k, int layer)
{
    double log_eps = log(spec->eps);
    for (int i = 0; i < spec->nvariances; i++) {
        if (spec->verify_homogeneity && spec->variances[i] != s2)
            continue; /* that variance has its own simulation */
        double shift = layer * lyap_theory_homogeneity_shift(spec->variances[i], s2);
        int below = 0, above = 0;
        for (int j = 0; j < spec->batch; j++) {
            below += col->cum[j] + shift < log_eps;
            above += col->cum[j] + shift > -log_eps;
        }
        size_t at = (size_t)i * spec->ndepths + k;
        stats_push(&col->vanish[at], (double)below / spec->batch);
        stats_push(&col->explode[at], (double)above / spec->batch);
    }
}

/* Standard error of a tail probability: the spread of the replica
 * fractions (which counts the correlation of a network's inputs), but
 * never below Agresti and Coull's binomial error for SAMPLES independent
 * inputs, so a tail no replica reached reads 0 +- ~1.4/SAMPLES, not 0 +- 0. */
static double tail_stderr(const running_stats *fractions, double samples)
{
    double p = (fractions->mean * samples + 2) / (samples + 4);
    return fmax(stats_stderr(fractions), sqrt(p * (1 - p) / (samples + 4)));
}

/* The matrix path's CLT variance: the long-run variance of the increment
 * series by FFT autocorrelation (THEORY.md "Finite depth": the increments
 * of families that are not rotation invariant form a Markov chain), with
 * its integrated autocorrelation time. NaN if the window never closed (the
 * series are too short for their correlation). */
static int long_run_variance(const lyap_autocorr *ac, long series_added, simulation *out)
{
    lyap_autocorr_estimate est;
    out->v = out->v_stderr = out->tau_int = out->tau_int_stderr = NAN;
    if (series_added == 0)
        return LYAP_OK;
    LYAP_CALL(lyap_autocorr_result(ac, &est));
    if (!est.window_closed)
        return LYAP_OK;
    out->v = est.v;
    out->v_stderr = est.v_stderr;
    out->tau_int = est.tau_int;
    out->tau_int_stderr = est.tau_int_stderr;
    return LYAP_OK;
}

/* Runs the replicas at scale S2 with stream key KEY. Columns that a layer
 * maps to exactly 0 (ReLU; rademacher rows that cancel) drop out of the
 * finite-depth moments (which are then conditional on survival, with
 * SIMULATION->survival saying how many). Where the theory has no death
 * probability (NaN: rademacher), deaths are counted instead. */
static int simulate(lyap_propagate_plan plan, uint64_t key, double s2, column_state *col,
                    progress *prog, simulation *out)
{
    const lyap_task_spec *spec = prog->spec;
    int nd = spec->ndepths, batch = spec->batch, depth = spec->depths[nd - 1];
    int burn_in = burn_in_layers(spec), steady = depth - burn_in;
    int b = lyap_estimate_clt_batch_length(steady), nbatches = steady / b;
    running_stats lambda = {0}, v = {0};
    int count_deaths = isnan(lyap_theory_death_probability(spec->family, spec->width, spec->slope));
    double deaths = 0, live_steps = 0;
    depth_stats *at;
    LYAP_CALL(lyap_alloc(&at, (size_t)nd, sizeof *at, "depth statistics"));
    int status = LYAP_OK;

    int r = 0;
    for (; status == LYAP_OK && r < spec->replicas && !target_reached(spec, &lambda, r); r++) {
        lyap_propagate_start(plan, spec->seed, key, r, s2);
        for (int j = 0; j < batch; j++) {
            col->cum[j] = col->batch_sum[j] = 0;
            col->batches[j] = (running_stats){0};
        }
        long final_alive = 0;
        double final_mean = 0, burn_in_mean = 0;
        for (int layer = 1, k = 0, to_batch_end = b; status == LYAP_OK && layer <= depth; layer++) {
            double *increments = col->series ? col->series + (size_t)(layer - 1) * batch : col->increments;
            status = lyap_propagate_layer(plan, increments);
            for (int j = 0; count_deaths && j < batch; j++) {
                live_steps += isfinite(col->cum[j]);
                deaths += isfinite(col->cum[j]) && increments[j] == -INFINITY;
            }
            for (int j = 0; j < batch; j++)
                col->cum[j] += increments[j];
            if (layer == burn_in)
                for (int j = 0; j < batch; j++)
                    burn_in_mean += col->cum[j] / batch;
            for (int j = 0; !col->series && layer > burn_in && j < batch; j++)
                col->batch_sum[j] += increments[j];
            if (!col->series && layer > burn_in && --to_batch_end == 0) { /* a batch of b layers closes (at most nbatches) */
                to_batch_end = b;
                for (int j = 0; j < batch; j++) {
                    stats_push(&col->batches[j], col->batch_sum[j]);
                    col->batch_sum[j] = 0;
                }
            }
            if (layer != spec->depths[k])
                continue;
            /* Replica-level moments at a recorded depth, over live columns. */
            running_stats here = {0};
            for (int j = 0; j < batch; j++)
                if (isfinite(col->cum[j]))
                    stats_push(&here, col->cum[j]);
            at[k].alive += here.n;
            final_alive = here.n;
            final_mean = here.mean;
            if (here.n > 0) {
                stats_push(&at[k].replica_mean, here.mean);
                at[k].within += here.m2 / here.n;
            }
            count_tails(spec, col, s2, k, layer);
            k++;
        }
        if (status == LYAP_OK && final_alive == batch) {
            /* lambda and the CLT variance need a whole replica (always, for
             * slope > 0; at slope 0 lambda = -inf regardless, THEORY.md).
             * v: batch means on the exact path (i.i.d. increments), the
             * FFT autocorrelation of the series on the matrix path. */
            stats_push(&lambda, (final_mean - burn_in_mean) / steady);
            if (!col->autocorr) {
                double v_replica = 0;
                for (int j = 0; j < batch; j++)
                    v_replica += col->batches[j].m2 / ((double)(nbatches - 1) * b);
                stats_push(&v, v_replica / batch);
            }
            for (int j = 0; col->autocorr && status == LYAP_OK && j < batch; j++)
                status = lyap_autocorr_add(col->autocorr, col->series + (size_t)burn_in * batch + j, batch, r);
        }
        prog->done_replicas++;
        if (status == LYAP_OK && prog->poll)
            status = prog->poll(prog->poll_ctx, (double)prog->done_replicas / prog->total_replicas);
    }
    out->replicas = r;
    out->death_rate = live_steps > 0 ? deaths / live_steps : NAN;
    out->lambda = lambda.n ? lambda.mean : NAN;
    out->lambda_stderr = stats_stderr(&lambda);
    out->v = v.n ? v.mean : NAN;
    out->v_stderr = stats_stderr(&v);
    out->tau_int = 0.5; /* exact path: i.i.d. increments (THEORY.md) */
    out->tau_int_stderr = 0;
    if (col->autocorr && status == LYAP_OK)
        status = long_run_variance(col->autocorr, lambda.n, out);
    for (size_t i = 0; status == LYAP_OK && i < (size_t)spec->nvariances * nd; i++) {
        double samples = (double)r * batch;
        out->p_vanish[i] = col->vanish[i].mean;
        out->p_vanish_stderr[i] = tail_stderr(&col->vanish[i], samples);
        out->p_explode[i] = col->explode[i].mean;
        out->p_explode_stderr[i] = tail_stderr(&col->explode[i], samples);
    }
    for (int k = 0; status == LYAP_OK && k < nd; k++) {
        /* E S and Var S of a single sample, unbiased although columns of a
         * replica are correlated: Var S = E(within-replica variance) +
         * Var(replica mean), estimated over independent replicas. */
        const running_stats *means = &at[k].replica_mean;
        out->logn_mean[k] = means->n ? means->mean : NAN;
        out->logn_var[k] = at[k].within / means->n + stats_variance(means);
        out->survival[k] = (double)at[k].alive / ((double)r * batch);
    }
    free(at);
    return status;
}

/* The matrix path keeps each replica's increment series for the FFT
 * autocorrelation (depth x batch doubles); the exact path streams. */
static int column_state_init(column_state *col, const lyap_task_spec *spec)
{
    int batch = spec->batch, depth = spec->depths[spec->ndepths - 1];
    int burn_in = burn_in_layers(spec);
    size_t ntails = (size_t)spec->nvariances * spec->ndepths;
    memset(col, 0, sizeof *col);
    LYAP_CALL(lyap_alloc(&col->cum, (size_t)batch, sizeof *col->cum, "column sums"));
    LYAP_CALL(lyap_alloc(&col->batch_sum, (size_t)batch, sizeof *col->batch_sum, "batch sums"));
    LYAP_CALL(lyap_alloc(&col->batches, (size_t)batch, sizeof *col->batches, "batch statistics"));
    LYAP_CALL(lyap_alloc(&col->vanish, ntails, sizeof *col->vanish, "p_vanish statistics"));
    LYAP_CALL(lyap_alloc(&col->explode, ntails, sizeof *col->explode, "p_explode statistics"));
    if (spec->method == LYAP_METHOD_EXACT)
        return lyap_alloc(&col->increments, (size_t)batch, sizeof *col->increments, "increments");
    LYAP_CALL(lyap_alloc(&col->series, (size_t)depth * batch, sizeof *col->series, "increment series"));
    return lyap_autocorr_create(depth - burn_in, LYAP_AUTOCORR_BINS, LYAP_AUTOCORR_WINDOW_C, &col->autocorr);
}

/* Forgets the statistics of the last simulation. */
static void column_state_reset(column_state *col, const lyap_task_spec *spec)
{
    size_t ntails = (size_t)spec->nvariances * spec->ndepths;
    memset(col->vanish, 0, ntails * sizeof *col->vanish);
    memset(col->explode, 0, ntails * sizeof *col->explode);
    if (col->autocorr)
        lyap_autocorr_reset(col->autocorr);
}

static void column_state_free(column_state *col)
{
    free(col->cum);
    free(col->batch_sum);
    free(col->batches);
    free(col->increments);
    free(col->series);
    free(col->vanish);
    free(col->explode);
    lyap_autocorr_destroy(&col->autocorr);
}

/* -1, 0 or +1 (DESIGN.md); 1e-12 is the rounding floor of lambda, so a
 * zero-variance case exactly at lambda = 0 (orthogonal, a = 1, eta = 1)
 * reads critical. NaN stays NaN (written as the fill value). */
static double phase_of(double lambda, double stderr_)
{
    if (isnan(lambda))
        return NAN;
    if (fabs(lambda) < 3 * stderr_ + LYAP_LAMBDA_ROUNDING)
        return 0;
    return lambda < 0 ? -1 : 1;
}

/* Writes simulation SIM, run at scale S2_SIM, into variance I of RESULT,
 * shifted to the grid variance S2 (THEORY.md: lambda(s2) = lambda(s2_sim)
 * + 0.5 log(s2/s2_sim), log-norms by 0.5 L log(s2/s2_sim)). */
static void store_variance(const lyap_task_spec *spec, const simulation *sim, double s2_sim, int i,
                           lyap_task_result *res)
{
    double shift = lyap_theory_homogeneity_shift(spec->variances[i], s2_sim);
    int nd = spec->ndepths;
    res->lambda[i] = sim->lambda + shift;
    res->lambda_stderr[i] = sim->lambda_stderr;
    res->clt_variance[i] = sim->v;
    res->clt_variance_stderr[i] = sim->v_stderr;
    for (int k = 0; k < nd; k++) {
        size_t at = (size_t)i * nd + k;
        res->logn_mean[at] = sim->logn_mean[k] + shift * spec->depths[k];
        res->logn_var[at] = sim->logn_var[k];
        res->p_vanish[at] = sim->p_vanish[at];
        res->p_vanish_stderr[at] = sim->p_vanish_stderr[at];
        res->p_explode[at] = sim->p_explode[at];
        res->p_explode_stderr[at] = sim->p_explode_stderr[at];
    }
}

/* p_vanish_theory and p_explode_theory from the exact law of
 * log(|x_L|/|x_0|) (gaussian, orthogonal; NaN otherwise): one FFT law per
 * task at unit scale, shifted to each variance by 0.5 L log s2
 * (homogeneity). Depth-major, since the law caches its last depth. */
static int fill_exact_tails(const lyap_task_spec *spec, lyap_task_result *res)
{
    int nd = spec->ndepths;
    for (size_t i = 0; i < (size_t)spec->nvariances * nd; i++)
        res->p_vanish_theory[i] = res->p_explode_theory[i] = NAN;
    if (!lyap_family_info_of(spec->family)->exact_law)
        return LYAP_OK;
    lyap_depthlaw *law;
    int status = lyap_depthlaw_create(spec->family, spec->width, spec->slope, 1.0, spec->depths[nd - 1], &law);
    if (status == LYAP_EDECK) /* depths beyond the FFT grid's reach (2^22 points): left NaN */
        return LYAP_OK;
    LYAP_CALL(status);
    double log_eps = log(spec->eps);
    for (int k = 0; status == LYAP_OK && k < nd; k++)
        for (int i = 0; status == LYAP_OK && i < spec->nvariances; i++) {
            double shift = spec->depths[k] * lyap_theory_homogeneity_shift(spec->variances[i], 1.0), prob[3];
            double edges[4] = {-INFINITY, log_eps - shift, -log_eps - shift, INFINITY};
            status = lyap_depthlaw_mass(law, spec->depths[k], edges, 3, prob);
            res->p_vanish_theory[(size_t)i * nd + k] = prob[0];
            res->p_explode_theory[(size_t)i * nd + k] = prob[2];
        }
    lyap_depthlaw_destroy(&law);
    return status;
}

/* Exact theory beside the estimates (THEORY.md), and the ReLU convention:
 * where a layer kills the signal with positive probability (slope 0; or
 * rademacher weights, whose measured DEATH_RATE is then the probability
 * reported), lambda = -inf exactly, v undefined, no finite critical
 * variance; death_probability flags it. */
static int fill_theory_and_phase(const lyap_task_spec *spec, double death_rate, lyap_task_result *res)
{
    *res->death_probability = lyap_theory_death_probability(spec->family, spec->width, spec->slope);
    if (isnan(*res->death_probability))
        *res->death_probability = death_rate;
    int relu = *res->death_probability > 0;
    /* One evaluation at s2 = 1 (the costly quadrature), shifted to every
     * variance as lyap_theory_exact itself does: 0.5 log s2 + lambda(1). */
    double lambda1, v;
    LYAP_CALL(lyap_theory_exact(spec->family, spec->width, spec->slope, 1.0, &lambda1, &v,
                                res->variance_crit_theory));
    for (int i = 0; i < spec->nvariances; i++) {
        res->lambda_theory[i] = lambda1 + lyap_theory_homogeneity_shift(spec->variances[i], 1.0);
        res->clt_variance_theory[i] = v;
        if (relu) {
            res->lambda[i] = -INFINITY;
            res->lambda_stderr[i] = 0;
            res->clt_variance[i] = res->clt_variance_stderr[i] = NAN;
        }
        res->phase[i] = phase_of(res->lambda[i], res->lambda_stderr[i]);
    }
    if (relu)
        *res->autocorr_time = *res->autocorr_time_stderr = NAN;
    return fill_exact_tails(spec, res);
}

/* The boundary s2_crit = exp(-2 lambda(1)) and its delta-method stderr
 * 2 s2_crit stderr(lambda(1)). With simulated variances, lambda(1) is the
 * mean of the shifted independent estimates lambda(s2_i) - 0.5 log s2_i. */
static void fill_boundary(const lyap_task_spec *spec, lyap_task_result *res)
{
    if (*res->death_probability > 0) {
        *res->variance_crit = INFINITY;
        *res->variance_crit_stderr = 0;
        return;
    }
    double lambda1 = res->lambda[0] - lyap_theory_homogeneity_shift(spec->variances[0], 1.0);
    double var1 = res->lambda_stderr[0] * res->lambda_stderr[0];
    if (spec->verify_homogeneity) { /* independent estimates: average them */
        int n = spec->nvariances;
        lambda1 = var1 = 0;
        for (int i = 0; i < n; i++) {
            lambda1 += (res->lambda[i] - lyap_theory_homogeneity_shift(spec->variances[i], 1.0)) / n;
            var1 += res->lambda_stderr[i] * res->lambda_stderr[i] / ((double)n * n);
        }
    }
    *res->variance_crit = exp(-2 * lambda1);
    *res->variance_crit_stderr = 2 * *res->variance_crit * sqrt(var1);
}

/* Pushes X unless it is -inf, which is exact (a rank-deficient Jacobian)
 * and only counted: *MINUS_INF says the estimate is -inf. */
static void push_exponent(running_stats *s, int *minus_inf, double x)
{
    if (x == -INFINITY)
        *minus_inf = 1;
    else
        stats_push(s, x);
}

/* The top K exponents over REPLICAS independent trajectories at unit
 * scale, shifted to every grid variance (homogeneity: each exponent moves
 * by 0.5 log s2, the isometry gap not at all), with replica stderrs. At
 * slope 0 the families that die have every exponent -inf (THEORY.md).
 * Entries past K (narrower widths than the axis) stay NaN. */
static int estimate_spectrum(const lyap_task_spec *spec, uint64_t key, int replicas, progress *prog,
                             lyap_task_result *res)
{
    int k = spec->spectrum, nk = res->dims.nspectrum;
    int burn_in = burn_in_layers(spec);
    int dies = lyap_theory_death_probability(spec->family, spec->width, spec->slope) > 0;
    running_stats *per_index = NULL, gap = {0};
    int *minus_inf = NULL, gap_inf = 0;
    double *exponents = NULL;
    lyap_spectrum_plan plan = NULL;
    int status = lyap_alloc(&per_index, (size_t)k, sizeof *per_index, "spectrum statistics");
    if (status == LYAP_OK)
        status = lyap_alloc(&minus_inf, (size_t)k, sizeof *minus_inf, "spectrum flags");
    if (status == LYAP_OK)
        status = lyap_alloc(&exponents, (size_t)k, sizeof *exponents, "spectrum replica");
    if (status == LYAP_OK && !dies)
        status = lyap_spectrum_plan_create(spec->family, spec->width, spec->slope, k,
                                           spec->method, &plan);
    for (int r = 0; status == LYAP_OK && !dies && r < replicas; r++) {
        status = lyap_spectrum_replica(plan, spec->seed, key, r, spec->depths[spec->ndepths - 1], burn_in,
                                       exponents);
        for (int j = 0; status == LYAP_OK && j < k; j++)
            push_exponent(&per_index[j], &minus_inf[j], exponents[j]);
        if (status == LYAP_OK && exponents[k - 1] == -INFINITY)
            gap_inf = 1;
        else if (status == LYAP_OK)
            stats_push(&gap, exponents[0] - exponents[k - 1]);
        prog->done_replicas++;
        if (status == LYAP_OK && prog->poll)
            status = prog->poll(prog->poll_ctx, (double)prog->done_replicas / prog->total_replicas);
    }
    if (status == LYAP_OK) /* at unit scale, shifted below like the estimates */
        status = lyap_theory_spectrum(spec->family, spec->width, spec->slope, 1.0, k, exponents);
    for (int i = 0; status == LYAP_OK && i < spec->nvariances; i++) {
        double shift = lyap_theory_homogeneity_shift(spec->variances[i], 1.0);
        double *mean = res->spectrum + (size_t)i * nk, *err = res->spectrum_stderr + (size_t)i * nk;
        double *theory = res->spectrum_theory + (size_t)i * nk;
        for (int j = 0; j < k; j++)
            theory[j] = exponents[j] + shift;
        for (int j = 0; j < nk; j++) {
            int exact_minus_inf = dies || (j < k && minus_inf[j]);
            mean[j] = j >= k ? NAN : exact_minus_inf ? -INFINITY : per_index[j].mean + shift;
            err[j] = j >= k ? NAN : exact_minus_inf ? 0 : stats_stderr(&per_index[j]);
            if (j >= k)
                theory[j] = NAN;
        }
        /* K = 1 has no gap to measure */
        res->isometry_gap[i] = dies || k == 1 ? NAN : gap_inf ? INFINITY : gap.mean;
        res->isometry_gap_stderr[i] = dies || k == 1 ? NAN : gap_inf ? 0 : stats_stderr(&gap);
    }
    lyap_spectrum_plan_destroy(&plan);
    free(per_index);
    free(minus_inf);
    free(exponents);
    return status;
}

int lyap_estimate_task(const lyap_task_spec *requested, lyap_task_result *res, lyap_poll_fn poll,
                       void *poll_ctx)
{
    lyap_task_spec resolved = resolve_method(requested);
    const lyap_task_spec *spec = &resolved;
    int nd = spec->ndepths, nsim = spec->verify_homogeneity ? spec->nvariances : 1;
    lyap_propagate_plan plan = NULL;
    column_state col;
    simulation sim = {0};
    double death_rate = NAN;
    double *moments = NULL;
    if (!(spec->eps > 0 && spec->eps < 1) || spec->batch < 1 || spec->replicas < 1)
        return lyap_fail(LYAP_EINTERNAL, "estimate: bad task spec (eps %g, batch %d, replicas %d)", spec->eps,
                         spec->batch, spec->replicas);
    /* Replicas to run (the cap, if adaptive), the spectrum's included. */
    /* Lattice weights lose rank exactly, and QR leaves rounding noise for
     * the exponents beyond it: their spectrum stays NaN (family.h). */
    int spectrum = spec->spectrum > 0 && !lyap_family_info_of(spec->family)->lattice;
    progress prog = {spec, poll, poll_ctx, 0, (long)spec->replicas * (nsim + spectrum)};

    size_t ntails = (size_t)spec->nvariances * nd;
    int status = column_state_init(&col, spec);
    if (status == LYAP_OK)
        status = lyap_alloc(&moments, 3 * (size_t)nd + 4 * ntails, sizeof *moments, "depth moments");
    if (status == LYAP_OK)
        status = lyap_propagate_plan_create(spec->family, spec->width, spec->slope, spec->batch, spec->depths[nd - 1],
                                            spec->method, spec->precision, &plan);
    if (status == LYAP_OK) {
        sim.logn_mean = moments;
        sim.logn_var = moments + nd;
        sim.survival = moments + 2 * nd;
        sim.p_vanish = moments + 3 * nd;
        sim.p_vanish_stderr = sim.p_vanish + ntails;
        sim.p_explode = sim.p_vanish_stderr + ntails;
        sim.p_explode_stderr = sim.p_explode + ntails;
    }
    for (int s = 0; status == LYAP_OK && s < nsim; s++) {
        /* Shift mode simulates unit scale once; verify mode each variance
         * with its own independent streams. */
        double s2_sim = spec->verify_homogeneity ? spec->variances[s] : 1.0;
        uint64_t key = lyap_rng_task_key(spec->family, spec->width, spec->slope, spec->verify_homogeneity ? s2_sim : 0);
        column_state_reset(&col, spec);
        status = simulate(plan, key, s2_sim, &col, &prog, &sim);
        for (int i = 0; status == LYAP_OK && i < spec->nvariances; i++)
            if (!spec->verify_homogeneity || i == s)
                store_variance(spec, &sim, s2_sim, i, res);
        if (status == LYAP_OK && s == 0) { /* survival does not depend on scale */
            memcpy(res->survival, sim.survival, sizeof *res->survival * (size_t)nd);
            *res->replicas_used = sim.replicas;
            death_rate = sim.death_rate;
            *res->autocorr_time = sim.tau_int;
            *res->autocorr_time_stderr = sim.tau_int_stderr;
            prog.total_replicas -= (long)(spec->replicas - sim.replicas) * spectrum;
            if (spectrum)
                status = estimate_spectrum(spec, lyap_rng_task_key(spec->family, spec->width, spec->slope, 0),
                                           sim.replicas, &prog, res);
        }
    }
    if (status == LYAP_OK)
        status = fill_theory_and_phase(spec, death_rate, res);
    if (status == LYAP_OK)
        fill_boundary(spec, res);
    lyap_propagate_plan_destroy(&plan);
    column_state_free(&col);
    free(moments);
    return status;
}
