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
#include "lyapdiag/biaschain.h"
#include "lyapdiag/biaslaw.h"
#include "lyapdiag/biastheory.h"
#include "lyapdiag/depthlaw.h"
#include "lyapdiag/error.h"
#include "lyapdiag/estimate.h"
#include "lyapdiag/pack.h"
#include "lyapdiag/propagate.h"
#include "lyapdiag/rng.h"
#include "lyapdiag/spectrum.h"
#include "lyapdiag/theory.h"
#include "lyapdiag/twoinput.h"

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
    /* a block state and a prefix state (work units), each with the
     * autocorrelation sums of every simulation on the matrix path */
    double states = 2.0 * (double)lyap_estimate_state_length(&spec);
    return 8.0 * (d * d + 2.0 * d * batch + 66.0 * d + 4.0 * batch + 3.0 * d * k + series + grid + states) + (1 << 20);
}

int lyap_estimate_clt_batch_length(int depth)
{
    int b = (int)floor(sqrt((double)depth));
    return b < 1 ? 1 : b;
}

/* ---- flat running statistics ------------------------------------------------
 * Block states are arrays of doubles; a running statistic is 3 of them:
 * count, mean, sum of squared deviations (Welford within a block, Chan's
 * parallel formula between blocks). */
enum { FS_N, FS_MEAN, FS_M2, FS_LEN };

static void fstats_push(double *s, double x)
{
    s[FS_N] += 1;
    double delta = x - s[FS_MEAN];
    s[FS_MEAN] += delta / s[FS_N];
    s[FS_M2] += delta * (x - s[FS_MEAN]);
}

/* Chan, Golub and LeVeque: the moments of the union of A's and B's samples. */
static void fstats_merge(double *a, const double *b)
{
    if (b[FS_N] == 0)
        return;
    if (a[FS_N] == 0) {
        memcpy(a, b, FS_LEN * sizeof *a);
        return;
    }
    double na = a[FS_N], nb = b[FS_N], n = na + nb, delta = b[FS_MEAN] - a[FS_MEAN];
    a[FS_MEAN] += delta * (nb / n);
    a[FS_M2] += b[FS_M2] + delta * delta * (na * nb / n);
    a[FS_N] = n;
}

static running_stats fstats_get(const double *s)
{
    return (running_stats){(long)s[FS_N], s[FS_MEAN], s[FS_M2]};
}

/* ---- the block state's layout -------------------------------------------------
 * header | simulation 0 | ... | simulation nsim-1 | spectrum | signal chains | input pairs | theory
 * Offsets depend only on the spec, so every block of a task has one layout.
 * Without biases there are no signal chains, and the layout is the
 * bias-free one bit for bit. */
enum { HDR_FIRST, HDR_BLOCKS, HDR_FINISHED, HDR_LEN };
/* per simulation */
enum { SIM_REPLICAS, SIM_STOPPED, SIM_DEATHS, SIM_LIVE_STEPS, SIM_LAMBDA, SIM_V = SIM_LAMBDA + FS_LEN,
       SIM_DEPTHS = SIM_V + FS_LEN };
/* per recorded depth, inside SIM_DEPTHS */
enum { DEPTH_MEAN, DEPTH_WITHIN = FS_LEN, DEPTH_ALIVE, DEPTH_LEN };
/* the spectrum section; per index: its statistics and a -inf flag */
enum { SPEC_REPLICAS, SPEC_GAP, SPEC_GAP_INF = SPEC_GAP + FS_LEN, SPEC_INDEX, SPEC_INDEX_LEN = FS_LEN + 1 };
/* a signal chain with biases (one per (variance, bias variance)): its
 * replicas, per recorded depth the running moments of the replica means
 * of m_L, then per depth every sample of m_L, in the slot of its replica
 * and column (a block fills its replicas' slots; the zeros of the others
 * cost nothing packed), so the quantiles merge exactly in block order */
enum { CHAIN_REPLICAS, CHAIN_DEPTHS };
/* with input_cosine, per (variance, bias variance or none): the replicas,
 * and per recorded depth the running moments of the cosine of each pair */
enum { PAIR_REPLICAS, PAIR_DEPTHS };
/* the quantiles of m_L reported (signal_q05, signal_median, signal_q95) */
static const double quantile_levels[] = {0.05, 0.5, 0.95};
#define NQUANTILES 3
/* the theory section (filled by block 0): lambda, v, s2_crit at unit scale,
 * the theory's death probability, p_vanish and p_explode theory for every
 * (variance, depth), the spectrum at unit scale, with biases the tail
 * index of every variance and the exact 5%, 50%, 95% quantiles of m_L of
 * every chain and depth */
enum { TH_PRESENT, TH_LAMBDA1, TH_V, TH_CRIT, TH_DEATH, TH_TAILS };

typedef struct {
    int nsim, nd, k, n_series; /* simulations, depths, spectrum exponents, autocorr series length */
    int nchains;               /* signal chains with biases: variances x bias variances, or 0 */
    int npairs;                /* input pairs: variances x (bias variances or 1), or 0 */
    size_t nt;                 /* variances x depths */
    size_t tails, autocorr;    /* offsets inside a simulation */
    size_t sim_len, spectrum, chains, chain_len, pairs, pair_len, theory, length;
    size_t th_kappa, th_quantiles; /* offsets inside the theory section (with biases) */
    size_t chain_samples, samples_per_depth; /* a chain's samples of m_L: offset, and per depth */
} layout;

/* Layers the exponents leave out. Looks-linear weights: the first layer
 * is a transient (it depends on how x_0 splits, THEORY.md), so lambda, v
 * and the spectrum use layers 2..L; the finite-depth moments keep it.
 * Other families: every layer. */
static int burn_in_layers(const lyap_task_spec *spec)
{
    return lyap_family_info_of(spec->family)->looks_linear ? 1 : 0;
}

static layout layout_of(const lyap_task_spec *spec)
{
    layout l;
    l.nsim = spec->verify_homogeneity ? spec->nvariances : 1;
    l.nd = spec->ndepths;
    /* Lattice weights lose rank exactly, and QR leaves rounding noise for
     * the exponents beyond it: their spectrum stays NaN (family.h). */
    l.k = lyap_family_info_of(spec->family)->lattice ? 0 : spec->spectrum;
    l.nt = (size_t)spec->nvariances * spec->ndepths;
    int matrix = lyap_method_resolve(spec->method, spec->family) == LYAP_METHOD_MATRIX;
    l.n_series = spec->depths[spec->ndepths - 1] - burn_in_layers(spec);
    l.tails = SIM_DEPTHS + (size_t)l.nd * DEPTH_LEN;
    l.autocorr = l.tails + 2 * FS_LEN * l.nt;
    l.sim_len = l.autocorr + (matrix ? lyap_autocorr_state_length(l.n_series, LYAP_AUTOCORR_BINS) : 0);
    l.spectrum = HDR_LEN + (size_t)l.nsim * l.sim_len;
    l.chains = l.spectrum + (l.k > 0 ? SPEC_INDEX + (size_t)l.k * SPEC_INDEX_LEN : 0);
    l.nchains = spec->nvariances * spec->nbias_variances;
    l.chain_samples = CHAIN_DEPTHS + (size_t)l.nd * FS_LEN;
    l.samples_per_depth = (size_t)spec->replicas * spec->batch;
    l.chain_len = l.chain_samples + (size_t)l.nd * l.samples_per_depth;
    l.pairs = l.chains + (size_t)l.nchains * l.chain_len;
    l.npairs = spec->input_cosine_on ? spec->nvariances * (spec->nbias_variances > 0 ? spec->nbias_variances : 1) : 0;
    l.pair_len = PAIR_DEPTHS + (size_t)l.nd * FS_LEN;
    l.theory = l.pairs + (size_t)l.npairs * l.pair_len;
    l.th_kappa = TH_TAILS + 2 * l.nt + (size_t)l.k;
    l.th_quantiles = l.th_kappa + (l.nchains > 0 ? (size_t)spec->nvariances : 0);
    l.length = l.theory + l.th_quantiles + (size_t)NQUANTILES * l.nchains * l.nd;
    return l;
}

static double *sim_of(const layout *l, double *state, int s)
{
    return state + HDR_LEN + (size_t)s * l->sim_len;
}

static const double *csim_of(const layout *l, const double *state, int s)
{
    return state + HDR_LEN + (size_t)s * l->sim_len;
}

int lyap_estimate_block_replicas(const lyap_task_spec *spec)
{
    int b = spec->block_replicas > 0 ? spec->block_replicas
            : spec->target_stderr > 0 ? LYAP_ADAPTIVE_ROUND : LYAP_ESTIMATE_DEFAULT_BLOCK;
    return b < spec->replicas ? b : spec->replicas;
}

int lyap_estimate_block_count(const lyap_task_spec *spec)
{
    int b = lyap_estimate_block_replicas(spec);
    return (spec->replicas + b - 1) / b;
}

size_t lyap_estimate_state_length(const lyap_task_spec *spec)
{
    return layout_of(spec).length;
}

void lyap_estimate_state_clear(const lyap_task_spec *spec, double *state)
{
    memset(state, 0, layout_of(spec).length * sizeof *state);
}

int lyap_estimate_state_blocks(const double *state)
{
    return (int)state[HDR_BLOCKS];
}

int lyap_estimate_state_first(const double *state)
{
    return (int)state[HDR_FIRST];
}

int lyap_block_state_first(const lyap_block_state *state)
{
    return state->packed ? (int)lyap_pack_peek(state->values, state->length, HDR_FIRST)
                         : lyap_estimate_state_first(state->values);
}

int lyap_block_state_blocks(const lyap_block_state *state)
{
    return state->packed ? (int)lyap_pack_peek(state->values, state->length, HDR_BLOCKS)
                         : lyap_estimate_state_blocks(state->values);
}

int lyap_estimate_state_finished(const double *state)
{
    return state[HDR_FINISHED] != 0;
}

double lyap_estimate_state_replicas(const double *state)
{
    return state[HDR_LEN + SIM_REPLICAS];
}

/* Per-column state while one replica runs. */
typedef struct {
    double *cum;        /* log(|x_l|/|x_0|) so far */
    double *batch_sum;  /* increments of the open batch */
    running_stats *batches; /* over closed batch sums: long-run variance */
    double *increments; /* this layer's (exact path) */
    double *series;     /* matrix path: every layer's, [depth][batch] */
    lyap_autocorr *autocorr; /* matrix path: the long-run variance of the series */
} column_state;

typedef struct {
    const lyap_task_spec *spec;
    lyap_poll_fn poll;
    void *poll_ctx;
    long done_replicas, total_replicas;
} progress;

static int poll_progress(progress *prog)
{
    prog->done_replicas++;
    return prog->poll ? prog->poll(prog->poll_ctx, (double)prog->done_replicas / prog->total_replicas) : LYAP_OK;
}

/* Layers between polls inside a replica: a replica can run for minutes
 * (one of width 256 and depth 2e5), and a stop signal or a waiting
 * worker must not wait for its end. An MPI_Iprobe (~1 us) every 512
 * layers costs under 1% even on the exact path (~20 ns per column and
 * layer). */
#define POLL_LAYERS 512

/* Polls in the middle of a replica, LAYER of DEPTH done (progress only). */
static int poll_within(progress *prog, int layer, int depth)
{
    if (!prog->poll || layer % POLL_LAYERS != 0)
        return LYAP_OK;
    return prog->poll(prog->poll_ctx, (prog->done_replicas + (double)layer / depth) / prog->total_replicas);
}

/* The adaptive stopping rule, checked on the merged prefix after each
 * block (a whole number of rounds): with a target, stop once lambda's
 * stderr is at most the target, judged from LYAP_ADAPTIVE_MIN_REPLICAS
 * replicas on (a stderr from fewer is itself too noisy: stopping at its
 * first dip would understate it). Where layers are known to kill the
 * signal (slope 0) lambda = -inf needs no estimate, and the cap is run for
 * the finite-depth statistics. Depends only on the merged prefix, so it is
 * as reproducible as the blocks are. */
static int target_reached(const lyap_task_spec *spec, const double *sim)
{
    long r = (long)sim[SIM_REPLICAS];
    if (spec->target_stderr <= 0 || r < LYAP_ADAPTIVE_MIN_REPLICAS || r % LYAP_ADAPTIVE_ROUND != 0)
        return 0;
    running_stats lambda = fstats_get(sim + SIM_LAMBDA);
    return !(lyap_theory_death_probability(spec->family, spec->width, spec->slope) > 0) &&
           stats_stderr(&lambda) <= spec->target_stderr;
}

/* The tail probabilities of log(|x_L|/|x_0|) at recorded depth K (layer
 * L) for every grid variance, from this replica's columns: the fraction
 * below log eps (dead ReLU columns included: |x_L| = 0) and above -log eps,
 * after the homogeneity shift 0.5 L log(s2_i/s2) from the simulated scale.
 * Replica fractions are independent, so their spread gives the stderr (the
 * binomial error, corrected for the columns' correlation). */
static void count_tails(const lyap_task_spec *spec, const layout *l, const column_state *col, double *sim,
                        double s2, int k, int layer)
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
        fstats_push(sim + l->tails + FS_LEN * at, (double)below / spec->batch);
        fstats_push(sim + l->tails + FS_LEN * (l->nt + at), (double)above / spec->batch);
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

/* Runs replicas FIRST .. FIRST+COUNT-1 at scale S2 with stream key KEY
 * into simulation section SIM (zeroed). Columns that a layer maps to
 * exactly 0 (ReLU; rademacher rows that cancel) drop out of the
 * finite-depth moments (which are then conditional on survival, with the
 * live counts saying how many). Where the theory has no death probability
 * (NaN: rademacher), deaths are counted instead. */
static int simulate_block(lyap_propagate_plan plan, uint64_t key, double s2, column_state *col, int first,
                          int count, progress *prog, const layout *l, double *sim)
{
    const lyap_task_spec *spec = prog->spec;
    int nd = spec->ndepths, batch = spec->batch, depth = spec->depths[nd - 1];
    int burn_in = burn_in_layers(spec), steady = depth - burn_in;
    int b = lyap_estimate_clt_batch_length(steady), nbatches = steady / b;
    int count_deaths = isnan(lyap_theory_death_probability(spec->family, spec->width, spec->slope));
    double deaths = 0, live_steps = 0;
    int status = LYAP_OK;
    if (col->autocorr)
        lyap_autocorr_reset(col->autocorr);

    int r = first;
    for (; status == LYAP_OK && r < first + count; r++) {
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
            if (status == LYAP_OK)
                status = poll_within(prog, layer, depth);
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
            double *at = sim + SIM_DEPTHS + (size_t)k * DEPTH_LEN;
            at[DEPTH_ALIVE] += (double)here.n;
            final_alive = here.n;
            final_mean = here.mean;
            if (here.n > 0) {
                fstats_push(at + DEPTH_MEAN, here.mean);
                at[DEPTH_WITHIN] += here.m2 / here.n;
            }
            count_tails(spec, l, col, sim, s2, k, layer);
            k++;
        }
        if (status == LYAP_OK && final_alive == batch) {
            /* lambda and the CLT variance need a whole replica (always, for
             * slope > 0; at slope 0 lambda = -inf regardless, THEORY.md).
             * v: batch means on the exact path (i.i.d. increments), the
             * FFT autocorrelation of the series on the matrix path. */
            fstats_push(sim + SIM_LAMBDA, (final_mean - burn_in_mean) / steady);
            if (!col->autocorr) {
                double v_replica = 0;
                for (int j = 0; j < batch; j++)
                    v_replica += col->batches[j].m2 / ((double)(nbatches - 1) * b);
                fstats_push(sim + SIM_V, v_replica / batch);
            }
            for (int j = 0; col->autocorr && status == LYAP_OK && j < batch; j++)
                status = lyap_autocorr_add(col->autocorr, col->series + (size_t)burn_in * batch + j, batch, r);
        }
        if (status == LYAP_OK)
            status = poll_progress(prog);
    }
    sim[SIM_REPLICAS] = r - first;
    sim[SIM_DEATHS] = deaths;
    sim[SIM_LIVE_STEPS] = live_steps;
    if (col->autocorr)
        lyap_autocorr_save(col->autocorr, sim + l->autocorr);
    return status;
}

/* The matrix path keeps each replica's increment series for the FFT
 * autocorrelation (depth x batch doubles); the exact path streams. */
static int column_state_init(column_state *col, const lyap_task_spec *spec)
{
    int batch = spec->batch, depth = spec->depths[spec->ndepths - 1];
    int burn_in = burn_in_layers(spec);
    memset(col, 0, sizeof *col);
    LYAP_CALL(lyap_alloc(&col->cum, (size_t)batch, sizeof *col->cum, "column sums"));
    LYAP_CALL(lyap_alloc(&col->batch_sum, (size_t)batch, sizeof *col->batch_sum, "batch sums"));
    LYAP_CALL(lyap_alloc(&col->batches, (size_t)batch, sizeof *col->batches, "batch statistics"));
    if (spec->method == LYAP_METHOD_EXACT)
        return lyap_alloc(&col->increments, (size_t)batch, sizeof *col->increments, "increments");
    LYAP_CALL(lyap_alloc(&col->series, (size_t)depth * batch, sizeof *col->series, "increment series"));
    return lyap_autocorr_create(depth - burn_in, LYAP_AUTOCORR_BINS, LYAP_AUTOCORR_WINDOW_C, &col->autocorr);
}

static void column_state_free(column_state *col)
{
    free(col->cum);
    free(col->batch_sum);
    free(col->batches);
    free(col->increments);
    free(col->series);
    lyap_autocorr_destroy(&col->autocorr);
}

/* Pushes X unless it is -inf, which is exact (a rank-deficient Jacobian)
 * and only counted: the flag after the statistics says the estimate is -inf. */
static void push_exponent(double *index, double x)
{
    if (x == -INFINITY)
        index[FS_LEN] = 1;
    else
        fstats_push(index, x);
}

/* Spectrum replicas FIRST .. FIRST+COUNT-1 (independent trajectories at
 * unit scale) into the spectrum section SEC (zeroed). At slope 0 the
 * families that die have every exponent -inf (THEORY.md): nothing to run. */
/* The spectrum's poll inside a replica: the block's, every POLL_LAYERS. */
typedef struct {
    progress *prog;
    int depth;
} spectrum_poll_ctx;

static int spectrum_poll(void *ctx, int layer)
{
    spectrum_poll_ctx *c = ctx;
    return poll_within(c->prog, layer, c->depth);
}

static int spectrum_block(const lyap_task_spec *spec, uint64_t key, int first, int count, progress *prog,
                          double *sec)
{
    int k = spec->spectrum, burn_in = burn_in_layers(spec);
    int dies = lyap_theory_death_probability(spec->family, spec->width, spec->slope) > 0;
    double *exponents = NULL;
    lyap_spectrum_plan plan = NULL;
    int status = lyap_alloc(&exponents, (size_t)k, sizeof *exponents, "spectrum replica");
    if (status == LYAP_OK && !dies)
        status = lyap_spectrum_plan_create(spec->family, spec->width, spec->slope, k, spec->method, &plan);
    for (int r = first; status == LYAP_OK && !dies && r < first + count; r++) {
        spectrum_poll_ctx poll = {prog, spec->depths[spec->ndepths - 1]};
        status = lyap_spectrum_replica(plan, spec->seed, key, r, poll.depth, burn_in, exponents, spectrum_poll, &poll);
        for (int j = 0; status == LYAP_OK && j < k; j++)
            push_exponent(sec + SPEC_INDEX + (size_t)j * SPEC_INDEX_LEN, exponents[j]);
        if (status == LYAP_OK && exponents[k - 1] == -INFINITY)
            sec[SPEC_GAP_INF] = 1;
        else if (status == LYAP_OK)
            fstats_push(sec + SPEC_GAP, exponents[0] - exponents[k - 1]);
        if (status == LYAP_OK)
            sec[SPEC_REPLICAS]++;
        if (status == LYAP_OK)
            status = poll_progress(prog);
    }
    lyap_spectrum_plan_destroy(&plan);
    free(exponents);
    return status;
}

/* How a task's signal chains with biases run (THEORY.md "Biases"): the
 * exact O(1) chain of q for gaussian weights, the O(d) chain of
 * orthogonal weights (biaschain.h), or the matrix path with a bias vector
 * per layer (every other family, and method = matrix). */
typedef enum { CHAIN_EXACT, CHAIN_ORTHOGONAL, CHAIN_MATRIX } chain_path;

static chain_path chain_path_of(const lyap_task_spec *spec)
{
    if (lyap_method_resolve(spec->method, spec->family) == LYAP_METHOD_MATRIX)
        return CHAIN_MATRIX;
    return lyap_family_info_of(spec->family)->theory == LYAP_THEORY_GAUSSIAN ? CHAIN_EXACT : CHAIN_ORTHOGONAL;
}

/* Depth K of replica R: each column's m_L = exp(LOG_M[j]) into its slot,
 * and the replica mean into the depth's running statistics. */
static void record_depth(const layout *l, int k, int r, int batch, const double *log_m, double *chain)
{
    double mean = 0, *slot = chain + l->chain_samples + k * l->samples_per_depth + (size_t)r * batch;
    for (int j = 0; j < batch; j++) {
        slot[j] = exp(log_m[j]);
        mean += slot[j] / batch;
    }
    fstats_push(chain + CHAIN_DEPTHS + (size_t)k * FS_LEN, mean);
}

/* Replica R of an orthogonal chain: column j is the independent chain
 * R batch + j, all depths at once (O(d) a layer: milliseconds). WORK:
 * 2 d + depths (batch + 1) doubles. */
static int orthogonal_chain(const lyap_task_spec *spec, uint64_t key, double s2, double sb2, int r, double *work,
                            const layout *l, double *chain)
{
    int nd = spec->ndepths, batch = spec->batch;
    double *column = work + 2 * (size_t)spec->width, *log_m = column + nd;
    lyap_biaschain_spec o = {spec->width, spec->slope, s2, sb2, spec->input_m0, spec->seed, key};
    for (int j = 0; j < batch; j++) {
        LYAP_CALL(lyap_biaschain_orthogonal(&o, r * batch + j, spec->depths, nd, work, column));
        for (int k = 0; k < nd; k++)
            log_m[(size_t)k * batch + j] = column[k];
    }
    for (int k = 0; k < nd; k++)
        record_depth(l, k, r, batch, log_m + (size_t)k * batch, chain);
    return LYAP_OK;
}

/* Signal chain replicas FIRST .. FIRST+COUNT-1 with biases at weight
 * variance S2 and bias variance SB2 into chain section CHAIN (zeroed): per
 * recorded depth the replica mean of m_L = q_L/d over the columns, and
 * every column's m_L in its slot. WORK: 2 d + depths (batch + 1) + batch
 * doubles (orthogonal_chain's; the exact and matrix paths use BATCH). */
static int chain_block(lyap_propagate_plan plan, uint64_t key, double s2, double sb2, double *work, int first,
                       int count, progress *prog, const layout *l, double *chain)
{
    const lyap_task_spec *spec = prog->spec;
    int nd = spec->ndepths, batch = spec->batch, depth = spec->depths[nd - 1];
    chain_path path = chain_path_of(spec);
    double log_d = log(spec->width), *log_q = work;
    int status = LYAP_OK;
    for (int r = first; status == LYAP_OK && r < first + count; r++) {
        if (path == CHAIN_ORTHOGONAL) {
            status = orthogonal_chain(spec, key, s2, sb2, r, work, l, chain);
        } else {
            if (path == CHAIN_MATRIX)
                status = lyap_propagate_set_biases(plan, sb2, spec->input_m0);
            lyap_propagate_start(plan, spec->seed, key, r, s2);
            for (int j = 0; j < batch; j++)
                log_q[j] = log_d + log(spec->input_m0);
            for (int layer = 1, k = 0; status == LYAP_OK && layer <= depth; layer++) {
                if (path == CHAIN_EXACT) {
                    status = lyap_propagate_signal_layer(plan, s2, sb2, log_q);
                } else if ((status = lyap_propagate_layer(plan, log_q)) == LYAP_OK) {
                    const double *log_norm = lyap_propagate_log_norms(plan); /* log_q: scratch increments */
                    for (int j = 0; j < batch; j++)
                        log_q[j] = 2 * log_norm[j];
                }
                if (status == LYAP_OK)
                    status = poll_within(prog, layer, depth);
                if (status != LYAP_OK || layer != spec->depths[k])
                    continue;
                for (int j = 0; j < batch; j++)
                    log_q[j] -= log_d; /* m_L = q_L / d, then back */
                record_depth(l, k++, r, batch, log_q, chain);
                for (int j = 0; j < batch; j++)
                    log_q[j] += log_d;
            }
        }
        if (status == LYAP_OK) {
            chain[CHAIN_REPLICAS]++;
            status = poll_progress(prog);
        }
    }
    return status;
}

/* ---- two inputs (input_cosine) ---------------------------------------------- */

/* The streams of input pair section (S2, SB2): the signal chain's key with
 * a constant flipped, so pairs and chains never share weights. */
#define PAIR_KEY_SALT 0x2545f4914f6cdd1dULL

/* Pair section P's weight variance and bias variance. */
static void pair_scales(const lyap_task_spec *spec, int p, double *s2, double *sb2)
{
    int nb = spec->nbias_variances > 0 ? spec->nbias_variances : 1;
    *s2 = spec->variances[p / nb];
    *sb2 = spec->nbias_variances > 0 ? spec->bias_variances[p % nb] : 0.0;
}

/* Replicas FIRST .. FIRST+COUNT-1 of pair section P into SECTION (zeroed):
 * the cosine of each pair at each recorded depth. Gaussian weights on the
 * exact path: BATCH independent exact (q_x, q_y, x.y) chains per replica
 * (twoinput.h); otherwise PLAN, a matrix-path plan of batch 2 holding one
 * pair per network. WORK: 2 d + depths doubles. A pair with an input
 * exactly 0 has no cosine and is left out. */
static int pair_block(lyap_propagate_plan plan, int p, double *work, int first, int count, progress *prog,
                      double *section)
{
    const lyap_task_spec *spec = prog->spec;
    int nd = spec->ndepths, depth = spec->depths[nd - 1];
    double s2, sb2, *cosine = work + 2 * (size_t)spec->width;
    pair_scales(spec, p, &s2, &sb2);
    uint64_t key = lyap_rng_bias_key(spec->family, spec->width, spec->slope, s2, sb2) ^ PAIR_KEY_SALT;
    int status = LYAP_OK;
    for (int r = first; status == LYAP_OK && r < first + count; r++) {
        if (!plan) {
            lyap_twoinput_spec t = {spec->width, spec->slope, s2, sb2, spec->input_m0, spec->input_cosine,
                                    spec->seed, key};
            for (int j = 0; status == LYAP_OK && j < spec->batch; j++) {
                status = lyap_twoinput_chain(&t, r * spec->batch + j, spec->depths, nd, work, cosine);
                for (int k = 0; status == LYAP_OK && k < nd; k++)
                    if (!isnan(cosine[k]))
                        fstats_push(section + PAIR_DEPTHS + (size_t)k * FS_LEN, cosine[k]);
            }
        } else {
            if (spec->nbias_variances > 0) /* sb2 = 0 included: no bias left from the last section */
                status = lyap_propagate_set_biases(plan, sb2, spec->input_m0);
            lyap_propagate_start(plan, spec->seed, key, r, s2);
            for (int layer = 1, k = 0; status == LYAP_OK && layer <= depth; layer++) {
                status = lyap_propagate_layer(plan, work);
                if (status == LYAP_OK)
                    status = poll_within(prog, layer, depth);
                if (status != LYAP_OK || layer != spec->depths[k])
                    continue;
                const double *x = lyap_propagate_columns(plan), *y = x + spec->width;
                double c = 0, qx = 0, qy = 0;
                for (int i = 0; i < spec->width; i++)
                    c += x[i] * y[i], qx += x[i] * x[i], qy += y[i] * y[i];
                if (qx > 0 && qy > 0) /* unit columns, or exactly 0 */
                    fstats_push(section + PAIR_DEPTHS + (size_t)k * FS_LEN, c);
                k++;
            }
        }
        if (status == LYAP_OK) {
            section[PAIR_REPLICAS]++;
            status = poll_progress(prog);
        }
    }
    return status;
}

/* Every pair section of a block: the exact chains for gaussian weights on
 * the exact path, else one matrix-path plan of batch 2 for all of them. */
static int pairs_block(const lyap_task_spec *spec, int first, int count, progress *prog, const layout *l,
                       double *state)
{
    if (l->npairs == 0)
        return LYAP_OK;
    lyap_propagate_plan plan = NULL;
    double *work = NULL;
    int status = lyap_alloc(&work, 2 * (size_t)spec->width + (size_t)spec->ndepths, sizeof *work, "input pairs");
    if (status == LYAP_OK && chain_path_of(spec) != CHAIN_EXACT) {
        status = lyap_propagate_plan_create(spec->family, spec->width, spec->slope, 2, spec->depths[spec->ndepths - 1],
                                            LYAP_METHOD_MATRIX, LYAP_PRECISION_DOUBLE, &plan);
        if (status == LYAP_OK)
            status = lyap_propagate_set_input_cosine(plan, spec->input_cosine);
    }
    for (int p = 0; status == LYAP_OK && p < l->npairs; p++)
        status = pair_block(plan, p, work, first, count, prog, state + l->pairs + p * l->pair_len);
    lyap_propagate_plan_destroy(&plan);
    free(work);
    return status;
}

/* p_vanish_theory and p_explode_theory from the exact law of
 * log(|x_L|/|x_0|) (gaussian, orthogonal; NaN otherwise): one FFT law per
 * task at unit scale, shifted to each variance by 0.5 L log s2
 * (homogeneity). Depth-major, since the law caches its last depth. */
static int exact_tails(const lyap_task_spec *spec, double *vanish, double *explode)
{
    int nd = spec->ndepths;
    for (size_t i = 0; i < (size_t)spec->nvariances * nd; i++)
        vanish[i] = explode[i] = NAN;
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
            vanish[(size_t)i * nd + k] = prob[0];
            explode[(size_t)i * nd + k] = prob[2];
        }
    lyap_depthlaw_destroy(&law);
    return status;
}

/* The exact quantiles of m_L for chain C (gaussian weights: biaslaw.h's
 * law of the chain; NaN otherwise, and where the law's window would pass
 * 2^22 points) into OUT[q * nd + k]. */
static int exact_quantiles(const lyap_task_spec *spec, int c, int gaussian, double *out)
{
    int nd = spec->ndepths, nb = spec->nbias_variances;
    for (int i = 0; i < NQUANTILES * nd; i++)
        out[i] = NAN;
    if (!gaussian)
        return LYAP_OK;
    lyap_biaslaw *law;
    int status = lyap_biaslaw_create(spec->width, spec->slope, spec->variances[c / nb], spec->bias_variances[c % nb],
                                     spec->input_m0, spec->depths, nd, &law);
    if (status == LYAP_EDECK) /* beyond the grid's reach: left NaN */
        return LYAP_OK;
    LYAP_CALL(status);
    for (int q = 0; status == LYAP_OK && q < NQUANTILES; q++)
        for (int k = 0; status == LYAP_OK && k < nd; k++)
            status = lyap_biaslaw_quantile(law, spec->depths[k], quantile_levels[q], &out[q * nd + k], NULL);
    lyap_biaslaw_destroy(&law);
    return status;
}

/* The exact theory of the task (THEORY.md) at unit scale into section TH:
 * computed once, with block 0, by whichever rank runs it. */
static int compute_theory(const lyap_task_spec *spec, const layout *l, double *th)
{
    th[TH_DEATH] = lyap_theory_death_probability(spec->family, spec->width, spec->slope);
    LYAP_CALL(lyap_theory_exact(spec->family, spec->width, spec->slope, 1.0, &th[TH_LAMBDA1], &th[TH_V],
                                &th[TH_CRIT]));
    LYAP_CALL(exact_tails(spec, th + TH_TAILS, th + TH_TAILS + l->nt));
    if (l->k > 0)
        LYAP_CALL(lyap_theory_spectrum(spec->family, spec->width, spec->slope, 1.0, l->k,
                                       th + TH_TAILS + 2 * l->nt));
    /* the tail index: gaussian weights (THEORY.md), NaN for the others */
    int gaussian = lyap_family_info_of(spec->family)->theory == LYAP_THEORY_GAUSSIAN &&
                   lyap_family_info_of(spec->family)->exact_law;
    double *kappa = th + l->th_kappa;
    for (int i = 0; l->nchains > 0 && i < spec->nvariances; i++) {
        kappa[i] = NAN;
        if (gaussian)
            LYAP_CALL(lyap_biastheory_tail_index(spec->width, spec->slope, spec->variances[i], &kappa[i]));
    }
    for (int c = 0; c < l->nchains; c++)
        LYAP_CALL(exact_quantiles(spec, c, gaussian, th + l->th_quantiles + (size_t)c * NQUANTILES * l->nd));
    th[TH_PRESENT] = 1;
    return LYAP_OK;
}

/* SPEC with auto resolved and its sizes checked. */
static int checked_spec(const lyap_task_spec *requested, lyap_task_spec *spec)
{
    *spec = resolve_method(requested);
    if (!(spec->eps > 0 && spec->eps < 1) || spec->batch < 1 || spec->replicas < 1 || spec->block_replicas < 0)
        return lyap_fail(LYAP_EINTERNAL, "estimate: bad task spec (eps %g, batch %d, replicas %d, block %d)",
                         spec->eps, spec->batch, spec->replicas, spec->block_replicas);
    return LYAP_OK;
}

int lyap_estimate_run_block(const lyap_task_spec *requested, int block, double *state, lyap_poll_fn poll,
                            void *poll_ctx)
{
    lyap_task_spec resolved;
    LYAP_CALL(checked_spec(requested, &resolved));
    const lyap_task_spec *spec = &resolved;
    layout l = layout_of(spec);
    int per_block = lyap_estimate_block_replicas(spec), nblocks = lyap_estimate_block_count(spec);
    if (block < 0 || block >= nblocks)
        return lyap_fail(LYAP_EINTERNAL, "estimate: block %d of a task of %d blocks", block, nblocks);
    int first = block * per_block, count = spec->replicas - first < per_block ? spec->replicas - first : per_block;
    memset(state, 0, l.length * sizeof *state);
    state[HDR_FIRST] = block;
    state[HDR_BLOCKS] = 1;
    progress prog = {spec, poll, poll_ctx, 0, (long)count * (l.nsim + (l.k > 0) + l.nchains + l.npairs)};
    lyap_propagate_plan plan = NULL;
    column_state col;
    int status = column_state_init(&col, spec);
    if (status == LYAP_OK)
        status = lyap_propagate_plan_create(spec->family, spec->width, spec->slope, spec->batch,
                                            spec->depths[spec->ndepths - 1], spec->method, spec->precision, &plan);
    for (int s = 0; status == LYAP_OK && s < l.nsim; s++) {
        /* Shift mode simulates unit scale once; verify mode each variance
         * with its own independent streams. */
        double s2_sim = spec->verify_homogeneity ? spec->variances[s] : 1.0;
        uint64_t key = lyap_rng_task_key(spec->family, spec->width, spec->slope, spec->verify_homogeneity ? s2_sim : 0);
        status = simulate_block(plan, key, s2_sim, &col, first, count, &prog, &l, sim_of(&l, state, s));
    }
    if (status == LYAP_OK && l.k > 0)
        status = spectrum_block(spec, lyap_rng_task_key(spec->family, spec->width, spec->slope, 0), first, count,
                                &prog, state + l.spectrum);
    double *work = NULL; /* the signal chains' (chain_block) */
    if (status == LYAP_OK && l.nchains > 0)
        status = lyap_alloc(&work, 2 * (size_t)spec->width + (size_t)spec->ndepths * (spec->batch + 1) + spec->batch,
                            sizeof *work, "signal chains");
    for (int c = 0; status == LYAP_OK && c < l.nchains; c++) {
        double s2 = spec->variances[c / spec->nbias_variances], sb2 = spec->bias_variances[c % spec->nbias_variances];
        uint64_t key = lyap_rng_bias_key(spec->family, spec->width, spec->slope, s2, sb2);
        status = chain_block(plan, key, s2, sb2, work, first, count, &prog, &l, state + l.chains + c * l.chain_len);
    }
    free(work);
    status = status == LYAP_OK ? pairs_block(spec, first, count, &prog, &l, state) : status;
    if (status == LYAP_OK && block == 0)
        status = compute_theory(spec, &l, state + l.theory);
    lyap_propagate_plan_destroy(&plan);
    column_state_free(&col);
    return status;
}

/* Adds simulation section FROM to INTO. */
static void merge_simulation(const layout *l, double *into, const double *from)
{
    into[SIM_REPLICAS] += from[SIM_REPLICAS];
    into[SIM_DEATHS] += from[SIM_DEATHS];
    into[SIM_LIVE_STEPS] += from[SIM_LIVE_STEPS];
    fstats_merge(into + SIM_LAMBDA, from + SIM_LAMBDA);
    fstats_merge(into + SIM_V, from + SIM_V);
    for (int k = 0; k < l->nd; k++) {
        double *a = into + SIM_DEPTHS + (size_t)k * DEPTH_LEN;
        const double *b = from + SIM_DEPTHS + (size_t)k * DEPTH_LEN;
        fstats_merge(a + DEPTH_MEAN, b + DEPTH_MEAN);
        a[DEPTH_WITHIN] += b[DEPTH_WITHIN];
        a[DEPTH_ALIVE] += b[DEPTH_ALIVE];
    }
    for (size_t i = 0; i < 2 * l->nt; i++)
        fstats_merge(into + l->tails + FS_LEN * i, from + l->tails + FS_LEN * i);
    if (l->sim_len > l->autocorr)
        lyap_autocorr_merge_state(into + l->autocorr, from + l->autocorr, l->n_series, LYAP_AUTOCORR_BINS);
}

static void merge_spectrum(const layout *l, double *into, const double *from)
{
    into[SPEC_REPLICAS] += from[SPEC_REPLICAS];
    fstats_merge(into + SPEC_GAP, from + SPEC_GAP);
    into[SPEC_GAP_INF] = into[SPEC_GAP_INF] || from[SPEC_GAP_INF];
    for (int j = 0; j < l->k; j++) {
        double *a = into + SPEC_INDEX + (size_t)j * SPEC_INDEX_LEN;
        const double *b = from + SPEC_INDEX + (size_t)j * SPEC_INDEX_LEN;
        fstats_merge(a, b);
        a[FS_LEN] = a[FS_LEN] || b[FS_LEN];
    }
}

int lyap_estimate_merge_block(const lyap_task_spec *requested, double *prefix, const double *block)
{
    lyap_task_spec resolved;
    LYAP_CALL(checked_spec(requested, &resolved));
    const lyap_task_spec *spec = &resolved;
    layout l = layout_of(spec);
    int next = (int)(prefix[HDR_FIRST] + prefix[HDR_BLOCKS]), nblocks = lyap_estimate_block_count(spec);
    if (block[HDR_FIRST] != next || block[HDR_BLOCKS] != 1 || prefix[HDR_FINISHED] || next >= nblocks)
        return lyap_fail(LYAP_EINTERNAL, "estimate: block %g merged after %d blocks (of %d%s)", block[HDR_FIRST],
                         next, nblocks, prefix[HDR_FINISHED] ? ", finished" : "");
    /* The spectrum and the signal chains follow the first simulation's
     * replicas (its stop). */
    if (l.k > 0 && !csim_of(&l, prefix, 0)[SIM_STOPPED])
        merge_spectrum(&l, prefix + l.spectrum, block + l.spectrum);
    for (int c = 0; !csim_of(&l, prefix, 0)[SIM_STOPPED] && c < l.nchains; c++) {
        double *into = prefix + l.chains + c * l.chain_len;
        const double *from = block + l.chains + c * l.chain_len;
        size_t first = (size_t)next * lyap_estimate_block_replicas(spec) * spec->batch;
        size_t n = (size_t)from[CHAIN_REPLICAS] * spec->batch;
        into[CHAIN_REPLICAS] += from[CHAIN_REPLICAS];
        for (int k = 0; k < l.nd; k++) {
            fstats_merge(into + CHAIN_DEPTHS + (size_t)k * FS_LEN, from + CHAIN_DEPTHS + (size_t)k * FS_LEN);
            size_t at = l.chain_samples + k * l.samples_per_depth + first;
            memcpy(into + at, from + at, n * sizeof *into);
        }
    }
    for (int p = 0; !csim_of(&l, prefix, 0)[SIM_STOPPED] && p < l.npairs; p++) {
        double *into = prefix + l.pairs + p * l.pair_len;
        const double *from = block + l.pairs + p * l.pair_len;
        into[PAIR_REPLICAS] += from[PAIR_REPLICAS];
        for (int k = 0; k < l.nd; k++)
            fstats_merge(into + PAIR_DEPTHS + (size_t)k * FS_LEN, from + PAIR_DEPTHS + (size_t)k * FS_LEN);
    }
    int running = 0;
    for (int s = 0; s < l.nsim; s++) {
        double *sim = sim_of(&l, prefix, s);
        if (sim[SIM_STOPPED])
            continue;
        merge_simulation(&l, sim, csim_of(&l, block, s));
        sim[SIM_STOPPED] = target_reached(spec, sim);
        running += !sim[SIM_STOPPED];
    }
    if (next == 0)
        memcpy(prefix + l.theory, block + l.theory, (l.length - l.theory) * sizeof *prefix);
    prefix[HDR_BLOCKS] += 1;
    prefix[HDR_FINISHED] = running == 0 || next + 1 == nblocks;
    return LYAP_OK;
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

/* The matrix path's CLT variance: the long-run variance of the increment
 * series by FFT autocorrelation (THEORY.md "Finite depth": the increments
 * of families that are not rotation invariant form a Markov chain), with
 * its integrated autocorrelation time. NaN if the window never closed (the
 * series are too short for their correlation). */
static int long_run_variance(const layout *l, const double *state, long series_added, simulation *out)
{
    lyap_autocorr_estimate est;
    lyap_autocorr *ac = NULL;
    out->v = out->v_stderr = out->tau_int = out->tau_int_stderr = NAN;
    if (series_added == 0)
        return LYAP_OK;
    LYAP_CALL(lyap_autocorr_create(l->n_series, LYAP_AUTOCORR_BINS, LYAP_AUTOCORR_WINDOW_C, &ac));
    lyap_autocorr_load(ac, state);
    int status = lyap_autocorr_result(ac, &est);
    lyap_autocorr_destroy(&ac);
    LYAP_CALL(status);
    if (!est.window_closed)
        return LYAP_OK;
    out->v = est.v;
    out->v_stderr = est.v_stderr;
    out->tau_int = est.tau_int;
    out->tau_int_stderr = est.tau_int_stderr;
    return LYAP_OK;
}

/* The estimates of merged simulation section SIM. */
static int finish_simulation(const lyap_task_spec *spec, const layout *l, const double *sim, simulation *out)
{
    int nd = spec->ndepths, batch = spec->batch;
    long r = (long)sim[SIM_REPLICAS];
    running_stats lambda = fstats_get(sim + SIM_LAMBDA), v = fstats_get(sim + SIM_V);
    out->replicas = (int)r;
    out->death_rate = sim[SIM_LIVE_STEPS] > 0 ? sim[SIM_DEATHS] / sim[SIM_LIVE_STEPS] : NAN;
    out->lambda = lambda.n ? lambda.mean : NAN;
    out->lambda_stderr = stats_stderr(&lambda);
    out->v = v.n ? v.mean : NAN;
    out->v_stderr = stats_stderr(&v);
    out->tau_int = 0.5; /* exact path: i.i.d. increments (THEORY.md) */
    out->tau_int_stderr = 0;
    if (l->sim_len > l->autocorr)
        LYAP_CALL(long_run_variance(l, sim + l->autocorr, lambda.n, out));
    for (size_t i = 0; i < l->nt; i++) {
        double samples = (double)r * batch;
        running_stats vanish = fstats_get(sim + l->tails + FS_LEN * i);
        running_stats explode = fstats_get(sim + l->tails + FS_LEN * (l->nt + i));
        out->p_vanish[i] = vanish.mean;
        out->p_vanish_stderr[i] = tail_stderr(&vanish, samples);
        out->p_explode[i] = explode.mean;
        out->p_explode_stderr[i] = tail_stderr(&explode, samples);
    }
    for (int k = 0; k < nd; k++) {
        /* E S and Var S of a single sample, unbiased although columns of a
         * replica are correlated: Var S = E(within-replica variance) +
         * Var(replica mean), estimated over independent replicas. */
        const double *at = sim + SIM_DEPTHS + (size_t)k * DEPTH_LEN;
        running_stats means = fstats_get(at + DEPTH_MEAN);
        out->logn_mean[k] = means.n ? means.mean : NAN;
        out->logn_var[k] = at[DEPTH_WITHIN] / means.n + stats_variance(&means);
        out->survival[k] = at[DEPTH_ALIVE] / ((double)r * batch);
    }
    return LYAP_OK;
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

/* Exact theory beside the estimates (THEORY.md, section TH at unit scale,
 * shifted to every variance by 0.5 log s2), and the ReLU convention:
 * where a layer kills the signal with positive probability (slope 0; or
 * rademacher weights, whose measured DEATH_RATE is then the probability
 * reported), lambda = -inf exactly, v undefined, no finite critical
 * variance; death_probability flags it. */
static void fill_theory_and_phase(const lyap_task_spec *spec, const layout *l, const double *th, double death_rate,
                                  lyap_task_result *res)
{
    *res->death_probability = th[TH_DEATH];
    if (isnan(*res->death_probability))
        *res->death_probability = death_rate;
    int relu = *res->death_probability > 0;
    *res->variance_crit_theory = th[TH_CRIT];
    for (int i = 0; i < spec->nvariances; i++) {
        res->lambda_theory[i] = th[TH_LAMBDA1] + lyap_theory_homogeneity_shift(spec->variances[i], 1.0);
        res->clt_variance_theory[i] = th[TH_V];
        if (relu) {
            res->lambda[i] = -INFINITY;
            res->lambda_stderr[i] = 0;
            res->clt_variance[i] = res->clt_variance_stderr[i] = NAN;
        }
        res->phase[i] = phase_of(res->lambda[i], res->lambda_stderr[i]);
    }
    if (relu)
        *res->autocorr_time = *res->autocorr_time_stderr = NAN;
    memcpy(res->p_vanish_theory, th + TH_TAILS, l->nt * sizeof *th);
    memcpy(res->p_explode_theory, th + TH_TAILS + l->nt, l->nt * sizeof *th);
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

/* The top K exponents from the merged spectrum section SEC, shifted to
 * every grid variance (homogeneity: each exponent moves by 0.5 log s2, the
 * isometry gap not at all), with replica stderrs; the theory from TH. At
 * slope 0 the families that die have every exponent -inf (THEORY.md).
 * Entries past K (narrower widths than the axis) stay NaN. */
static void fill_spectrum(const lyap_task_spec *spec, const layout *l, const double *sec, const double *th,
                          lyap_task_result *res)
{
    int k = l->k, nk = res->dims.nspectrum;
    int dies = th[TH_DEATH] > 0; /* the theory's: the families known to die */
    const double *unit_theory = th + TH_TAILS + 2 * l->nt;
    running_stats gap = fstats_get(sec + SPEC_GAP);
    int gap_inf = sec[SPEC_GAP_INF] != 0;
    for (int i = 0; i < spec->nvariances; i++) {
        double shift = lyap_theory_homogeneity_shift(spec->variances[i], 1.0);
        double *mean = res->spectrum + (size_t)i * nk, *err = res->spectrum_stderr + (size_t)i * nk;
        double *theory = res->spectrum_theory + (size_t)i * nk;
        for (int j = 0; j < nk; j++) {
            const double *index = sec + SPEC_INDEX + (size_t)j * SPEC_INDEX_LEN;
            running_stats per_index = j < k ? fstats_get(index) : (running_stats){0};
            int exact_minus_inf = dies || (j < k && index[FS_LEN] != 0);
            theory[j] = j >= k ? NAN : unit_theory[j] + shift;
            mean[j] = j >= k ? NAN : exact_minus_inf ? -INFINITY : per_index.mean + shift;
            err[j] = j >= k ? NAN : exact_minus_inf ? 0 : stats_stderr(&per_index);
        }
        /* K = 1 has no gap to measure */
        res->isometry_gap[i] = dies || k == 1 ? NAN : gap_inf ? INFINITY : gap.mean;
        res->isometry_gap_stderr[i] = dies || k == 1 ? NAN : gap_inf ? 0 : stats_stderr(&gap);
    }
}

static int by_value(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* The Q-quantile of the N sorted values X, linear between order statistics
 * (Hyndman and Fan's type 7). */
static double sorted_quantile(const double *x, size_t n, double q)
{
    double h = (double)(n - 1) * q;
    size_t i = (size_t)h;
    return i + 1 < n ? x[i] + (h - (double)i) * (x[i + 1] - x[i]) : x[n - 1];
}

/* With biases: the signal's Monte Carlo mean and quantiles per (variance,
 * bias variance, depth) from the chain sections, its mean-field iterate,
 * the exact quantiles and the tail index (TH), and the two phases:
 * Kesten's, decided by the Monte Carlo lambda exactly as `phase`, and mean
 * field's (He). The columns of the exact chain are independent, so the
 * median's stderr is the distribution-free one: half the distance between
 * the order statistics one binomial stderr, sqrt(1/(4n)), either side. */
static int fill_signal(const lyap_task_spec *spec, const layout *l, const double *prefix, const double *th,
                       lyap_task_result *res)
{
    int nb = spec->nbias_variances, nd = l->nd;
    double *sorted = NULL;
    if (l->nchains > 0)
        LYAP_CALL(lyap_alloc(&sorted, l->samples_per_depth, sizeof *sorted, "signal samples"));
    for (int c = 0; c < l->nchains; c++) {
        int i = c / nb;
        double s2 = spec->variances[i], sb2 = spec->bias_variances[c % nb];
        const double *chain = prefix + l->chains + c * l->chain_len;
        for (int k = 0; k < nd; k++) {
            running_stats m = fstats_get(chain + CHAIN_DEPTHS + (size_t)k * FS_LEN);
            size_t at = (size_t)c * nd + k;
            res->signal_mean[at] = m.n ? m.mean : NAN;
            res->signal_mean_stderr[at] = stats_stderr(&m);
            size_t n = (size_t)chain[CHAIN_REPLICAS] * spec->batch;
            memcpy(sorted, chain + l->chain_samples + k * l->samples_per_depth, n * sizeof *sorted);
            qsort(sorted, n, sizeof *sorted, by_value);
            double z = sqrt(0.25 / (double)n);
            res->signal_q05[at] = n ? sorted_quantile(sorted, n, 0.05) : NAN;
            res->signal_median[at] = n ? sorted_quantile(sorted, n, 0.5) : NAN;
            res->signal_q95[at] = n ? sorted_quantile(sorted, n, 0.95) : NAN;
            res->signal_median_stderr[at] =
                n > 1 ? 0.5 * (sorted_quantile(sorted, n, 0.5 + z) - sorted_quantile(sorted, n, 0.5 - z)) : NAN;
            res->signal_mean_meanfield[at] =
                lyap_biastheory_meanfield_signal(spec->slope, s2, sb2, spec->input_m0, spec->depths[k]);
            const double *exact = th + l->th_quantiles + (size_t)c * NQUANTILES * nd;
            res->signal_q05_exact[at] = exact[k];
            res->signal_median_exact[at] = exact[nd + k];
            res->signal_q95_exact[at] = exact[2 * nd + k];
        }
        res->phase_bias[c] = res->phase[i];
        res->phase_bias_meanfield[c] = lyap_biastheory_meanfield_phase(spec->slope, s2);
    }
    for (int i = 0; l->nchains > 0 && i < spec->nvariances; i++)
        res->tail_index[i] = th[l->th_kappa + (size_t)i];
    free(sorted);
    return LYAP_OK;
}

/* With input_cosine: corr_mean and corr_std per (variance, bias variance
 * or none, depth) from the pair sections, and the mean-field cosine. */
static int fill_pairs(const lyap_task_spec *spec, const layout *l, const double *prefix, lyap_task_result *res)
{
    int nd = l->nd, depth = spec->depths[nd - 1];
    double *meanfield = NULL;
    if (l->npairs > 0)
        LYAP_CALL(lyap_alloc(&meanfield, (size_t)depth + 1, sizeof *meanfield, "mean-field cosine"));
    int status = LYAP_OK;
    for (int p = 0; status == LYAP_OK && p < l->npairs; p++) {
        double s2, sb2;
        pair_scales(spec, p, &s2, &sb2);
        status = lyap_biastheory_meanfield_cosine(spec->slope, s2, sb2, spec->input_m0, spec->input_m0,
                                                  spec->input_cosine, depth, meanfield);
        for (int k = 0; status == LYAP_OK && k < nd; k++) {
            running_stats c = fstats_get(prefix + l->pairs + p * l->pair_len + PAIR_DEPTHS + (size_t)k * FS_LEN);
            size_t at = (size_t)p * nd + k;
            res->corr_mean[at] = c.n > 0 ? c.mean : NAN;
            res->corr_std[at] = c.n > 1 ? sqrt(c.m2 / (double)(c.n - 1)) : NAN;
            res->corr_meanfield[at] = meanfield[spec->depths[k]];
        }
    }
    free(meanfield);
    return status;
}

int lyap_estimate_finish(const lyap_task_spec *requested, const double *prefix, lyap_task_result *res)
{
    lyap_task_spec resolved;
    LYAP_CALL(checked_spec(requested, &resolved));
    const lyap_task_spec *spec = &resolved;
    layout l = layout_of(spec);
    int nd = spec->ndepths;
    const double *th = prefix + l.theory;
    if (!prefix[HDR_FINISHED] || th[TH_PRESENT] != 1)
        return lyap_fail(LYAP_EINTERNAL, "estimate: finishing a task after %g blocks, before its end",
                         prefix[HDR_BLOCKS]);
    simulation sim = {0};
    double *moments = NULL, death_rate = NAN;
    int status = lyap_alloc(&moments, 3 * (size_t)nd + 4 * l.nt, sizeof *moments, "depth moments");
    if (status == LYAP_OK) {
        sim.logn_mean = moments;
        sim.logn_var = moments + nd;
        sim.survival = moments + 2 * nd;
        sim.p_vanish = moments + 3 * nd;
        sim.p_vanish_stderr = sim.p_vanish + l.nt;
        sim.p_explode = sim.p_vanish_stderr + l.nt;
        sim.p_explode_stderr = sim.p_explode + l.nt;
    }
    for (int s = 0; status == LYAP_OK && s < l.nsim; s++) {
        double s2_sim = spec->verify_homogeneity ? spec->variances[s] : 1.0;
        status = finish_simulation(spec, &l, csim_of(&l, prefix, s), &sim);
        for (int i = 0; status == LYAP_OK && i < spec->nvariances; i++)
            if (!spec->verify_homogeneity || i == s)
                store_variance(spec, &sim, s2_sim, i, res);
        if (status == LYAP_OK && s == 0) { /* survival does not depend on scale */
            memcpy(res->survival, sim.survival, sizeof *res->survival * (size_t)nd);
            *res->replicas_used = sim.replicas;
            death_rate = sim.death_rate;
            *res->autocorr_time = sim.tau_int;
            *res->autocorr_time_stderr = sim.tau_int_stderr;
        }
    }
    if (status == LYAP_OK && l.k > 0)
        fill_spectrum(spec, &l, prefix + l.spectrum, th, res);
    if (status == LYAP_OK) {
        fill_theory_and_phase(spec, &l, th, death_rate, res);
        fill_boundary(spec, res);
        status = fill_signal(spec, &l, prefix, th, res);
    }
    if (status == LYAP_OK)
        status = fill_pairs(spec, &l, prefix, res);
    free(moments);
    return status;
}

/* Progress over a whole task for lyap_estimate_task's poll: blocks done
 * plus the fraction of the running one. */
typedef struct {
    lyap_poll_fn poll;
    void *ctx;
    int block, nblocks;
} task_progress;

static int poll_task(void *ctx, double fraction)
{
    task_progress *t = ctx;
    return t->poll(t->ctx, (t->block + fraction) / t->nblocks);
}

int lyap_estimate_task(const lyap_task_spec *requested, lyap_task_result *res, lyap_poll_fn poll,
                       void *poll_ctx)
{
    lyap_task_spec spec;
    LYAP_CALL(checked_spec(requested, &spec));
    size_t length = lyap_estimate_state_length(&spec);
    double *prefix = NULL, *block = NULL;
    task_progress prog = {poll, poll_ctx, 0, lyap_estimate_block_count(&spec)};
    int status = lyap_alloc(&prefix, length, sizeof *prefix, "prefix state");
    if (status == LYAP_OK)
        status = lyap_alloc(&block, length, sizeof *block, "block state");
    if (status == LYAP_OK)
        lyap_estimate_state_clear(&spec, prefix);
    for (; status == LYAP_OK && !lyap_estimate_state_finished(prefix); prog.block++) {
        status = lyap_estimate_run_block(&spec, prog.block, block, poll ? poll_task : NULL, &prog);
        if (status == LYAP_OK)
            status = lyap_estimate_merge_block(&spec, prefix, block);
    }
    if (status == LYAP_OK)
        status = lyap_estimate_finish(&spec, prefix, res);
    free(prefix);
    free(block);
    return status;
}
