/* exact.c: the exact path. For gaussian and orthogonal weights the per-layer
 * log-norm increments are i.i.d. with a law THEORY.md gives in closed form
 * ("Exact values"), so they are drawn directly, O(1) work per step at any
 * width. With g standard normal in R^d and K of its entries positive,
 * sum phi(g_i)^2 = 2 (P + a^2 N), |g|^2 = 2 (P + N), where given K ~
 * Binomial(d, 1/2) the halved chi-square sums P ~ Gamma(K/2) and
 * N ~ Gamma((d-K)/2) are independent. Hence
 *   gaussian:   log r = 0.5 log(s2/d) + 0.5 log(2 (P + a^2 N))
 *   orthogonal: log r = 0.5 log(s2)   + 0.5 log((P + a^2 N) / (P + N));
 * at slope 0, K = 0 gives log 0 = -inf, the ReLU death of THEORY.md.
 *
 * Each column draws a block of steps at a time with the vectorized kernels of
 * src/variates.c: K as a popcount of d random bits, each gamma by one
 * Marsaglia-Tsang attempt whose rare rejections finish one by one
 * (Gamma(1/2), common at small d, is exactly Z^2/2 for a normal Z). Every
 * column and block has its own streams, so values depend only on (seed,
 * task, replica, column, step).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exact.h"
#include "lyapdiag/error.h"
#include "lyapdiag/rng.h"
#include "variates.h"

/* Steps drawn at a time per column: 512 fills whole chunks of the
 * variate kernels (512 words, 2 x 256 normals, 512 32-bit uniforms), so no
 * Philox block is computed and thrown away; replicas of at most 256 layers
 * draw 256, so short networks do not pay for steps they never take. */
enum { LONG_BLOCK = 512, SHORT_BLOCK = 256 };

struct exact_sampler {
    int chi2_norm;       /* gaussian theory: |W u|^2 carries a chi2_d factor (THEORY.md) */
    int d, batch, words_per_step;
    int block_len;       /* steps per block: LONG_BLOCK or SHORT_BLOCK */
    double a;
    /* current replica */
    uint64_t seed, task_key;
    int replica;
    long block;          /* blocks drawn so far */
    int next;            /* next unread step of the block */
    double log_scale;    /* 0.5 log(s2/d) (gaussian) or 0.5 log(s2) */
    double *ready;       /* [batch][ready_stride] increments drawn */
    int *dead;           /* [batch] */
    double *steps;       /* [batch]: the signal chain's steps (exact_signal_layer) */
    /* the signal chain with biases in linear form: q_j e^{sig_scale_j},
     * sig_bias_j = sb2 e^{-sig_scale_j} (cached: an exp only on rescale) */
    double *kept;        /* [batch][ready_stride] P + a^2 N of each step drawn (S = 2 kept, gaussian) */
    double *sig_q, *sig_scale, *sig_bias, sig_sb2;
    int sig_fresh;       /* the chain reads the caller's log q at its first layer */
    /* scratch for one column's block */
    uint32_t *words;     /* [block_len * words_per_step] */
    double *k, *shape, *pos, *neg, *x, *u, *logs, *scratch; /* [block_len] */
    double *log_u, *log_g;   /* [block_len]: the exact test's logs, for the squeeze's rejects */
    double *dd_log_dd;       /* [d + 1]: (k/2 - 1/3) log(k/2 - 1/3) for shape k/2 >= 1 */
    int *rejects;            /* [block_len]: their positions */
    unsigned char *rejected;
};

/* Distance between columns in e->ready: a block plus one cache line, so
 * the columns a layer reads are not all 4 KB apart (one L1 set). */
static size_t ready_stride(const exact_sampler *e)
{
    return (size_t)e->block_len + 8;
}

int exact_create(lyap_theory_kind theory, int d, double a, int batch, int depth, exact_sampler **out)
{
    exact_sampler *e;
    *out = NULL;
    LYAP_CALL(lyap_alloc(&e, 1, sizeof *e, "exact sampler"));
    e->chi2_norm = theory == LYAP_THEORY_GAUSSIAN;
    e->d = d;
    e->a = a;
    e->batch = batch;
    e->words_per_step = (d + 31) / 32;
    e->block_len = depth <= SHORT_BLOCK ? SHORT_BLOCK : LONG_BLOCK;
    size_t n = (size_t)e->block_len;
    int status = lyap_alloc(&e->ready, (size_t)batch * ready_stride(e), sizeof *e->ready, "exact increments");
    if (status == LYAP_OK)
        status = lyap_alloc(&e->dead, (size_t)batch, sizeof *e->dead, "column flags");
    if (status == LYAP_OK)
        status = lyap_alloc(&e->steps, (size_t)batch, sizeof *e->steps, "signal steps");
    if (status == LYAP_OK)
        status = lyap_alloc(&e->kept, (size_t)batch * ready_stride(e), sizeof *e->kept, "exact factors");
    double **chain[] = {&e->sig_q, &e->sig_scale, &e->sig_bias};
    for (size_t i = 0; status == LYAP_OK && i < sizeof chain / sizeof *chain; i++)
        status = lyap_alloc(chain[i], (size_t)batch, sizeof **chain[i], "signal chain");
    if (status == LYAP_OK)
        status = lyap_alloc(&e->words, (size_t)n * e->words_per_step, sizeof *e->words, "random bits");
    double **arrays[] = {&e->k, &e->shape, &e->pos, &e->neg, &e->x, &e->logs, &e->scratch, &e->log_u, &e->log_g};
    for (size_t i = 0; status == LYAP_OK && i < sizeof arrays / sizeof *arrays; i++)
        status = lyap_alloc(arrays[i], n, sizeof **arrays[i], "exact scratch");
    if (status == LYAP_OK)
        status = lyap_alloc(&e->u, n, sizeof *e->u, "exact uniforms");
    if (status == LYAP_OK)
        status = lyap_alloc(&e->rejected, n, 1, "exact flags");
    if (status == LYAP_OK)
        status = lyap_alloc(&e->rejects, n, sizeof *e->rejects, "exact rejects");
    if (status == LYAP_OK)
        status = lyap_alloc(&e->dd_log_dd, (size_t)d + 1, sizeof *e->dd_log_dd, "gamma constants");
    for (int k = 2; status == LYAP_OK && k <= d; k++) /* shapes below 1 never reach the exact test */
        e->dd_log_dd[k] = (0.5 * k - 1.0 / 3) * log(0.5 * k - 1.0 / 3);
    if (status != LYAP_OK) {
        exact_destroy(&e);
        return status;
    }
    *out = e;
    return LYAP_OK;
}

void exact_start(exact_sampler *e, uint64_t seed, uint64_t task_key, int replica, double s2)
{
    e->seed = seed;
    e->task_key = task_key;
    e->replica = replica;
    e->block = 0;
    e->next = e->block_len; /* draw on the first layer */
    e->log_scale = 0.5 * log(e->chi2_norm ? s2 / e->d : s2);
    memset(e->dead, 0, sizeof *e->dead * (size_t)e->batch);
    e->sig_fresh = 1;
}

static void open_stream(const exact_sampler *e, lyap_rng *rng, lyap_rng_purpose purpose, int column)
{
    lyap_rng_init(rng, e->seed, e->task_key, (uint64_t)e->replica, (uint64_t)e->block, purpose);
    lyap_rng_select_column(rng, column);
}

/* OUT[i] ~ Gamma(e->shape[i]) for the block, from PURPOSE's streams. The
 * acceptance uniforms have 32 bits (a 2^-32 grid: far below any effect). */
static void draw_gammas(exact_sampler *e, lyap_rng_purpose purpose, int column, double *out)
{
    int n = e->block_len;
    lyap_rng rng, retry;
    open_stream(e, &rng, purpose, column);
    lyap_rng_normal(&rng, e->x, n);
    lyap_rng_uniform32(&rng, e->u, n);
    lyap_variates_gamma_attempt(e->shape, e->x, e->u, out, e->rejected, n);
    /* The squeeze failed for about one in ten: Marsaglia-Tsang's exact test
     * log u < x^2/2 + dd (1 - v^3 + log v^3). The attempt left g = dd v^3
     * in OUT (v <= 0 gives g <= 0: rejected), so with dd log dd from a table
     * the test reads log u < x^2/2 + dd - g + dd log g - dd log dd, its logs
     * taken together by the vector kernel. If it fails too, a fresh draw
     * (the algorithm's next attempt). */
    int m = 0;
    for (int i = 0; i < n; i++) { /* branch-free: a reject is unpredictable */
        e->rejects[m] = i;
        m += e->rejected[i];
    }
    for (int j = 0; j < m; j++) {
        int i = e->rejects[j];
        e->log_u[j] = e->u[i];
        e->log_g[j] = out[i] > 0 ? out[i] : 1;
    }
    lyap_variates_log(e->log_u, e->log_u, (size_t)m);
    lyap_variates_log(e->log_g, e->log_g, (size_t)m);
    open_stream(e, &retry, purpose == LYAP_RNG_EXACT_POS ? LYAP_RNG_EXACT_RETRY_POS : LYAP_RNG_EXACT_RETRY_NEG,
                column);
    for (int j = 0; j < m; j++) {
        int i = e->rejects[j];
        double a = e->shape[i], dd = a - 1.0 / 3, g = out[i], x = e->x[i];
        if (!(g > 0 && e->log_u[j] < 0.5 * x * x + dd - g + dd * e->log_g[j] - e->dd_log_dd[(int)(2 * a)]))
            out[i] = lyap_rng_gamma(&retry, a);
    }
}

/* log(P + a^2 N) for the block into e->logs, exact also where the sum is 0
 * (ReLU death: -inf) or too small for the fast log (tiny slopes). */
static void log_kept(exact_sampler *e)
{
    int n = e->block_len;
    double a2 = e->a * e->a, smallest = 1;
    const double *restrict pos = e->pos, *restrict neg = e->neg;
    double *restrict sum = e->scratch;
    for (int i = 0; i < n; i++) {
        sum[i] = pos[i] + a2 * neg[i];
        smallest = sum[i] < smallest ? sum[i] : smallest;
    }
    lyap_variates_log(sum, e->logs, n);
    for (int i = 0; smallest < 0x1p-1000 && i < n; i++) /* 0 or near underflow: rare */
        if (!(sum[i] >= 0x1p-1000))
            e->logs[i] = pos[i] > 0 ? log(sum[i]) : 2 * log(e->a) + log(neg[i]);
}

/* Draws column COLUMN's next block into INCREMENTS[i STRIDE], i < n, and
 * the kept sums P + a^2 N into KEPT[i STRIDE] (gaussian). */
static void draw_block(exact_sampler *e, int column, double *increments, double *kept, int stride)
{
    int n = e->block_len;
    lyap_rng rng;
    int d = e->d;
    open_stream(e, &rng, LYAP_RNG_EXACT_BITS, column);
    lyap_rng_bits(&rng, e->words, (size_t)n * e->words_per_step);
    lyap_variates_count_bits(e->words, e->words_per_step, d, e->k, n);
    const double *restrict k = e->k, *restrict logs = e->logs;
    double *restrict shape = e->shape, *restrict total = e->scratch;
    for (int i = 0; i < n; i++)
        shape[i] = 0.5 * k[i];
    draw_gammas(e, LYAP_RNG_EXACT_POS, column, e->pos);
    for (int i = 0; i < n; i++)
        shape[i] = 0.5 * (d - k[i]);
    draw_gammas(e, LYAP_RNG_EXACT_NEG, column, e->neg);
    log_kept(e);
    if (e->chi2_norm) {
        double offset = e->log_scale + 0.5 * log(2.0);
        for (int i = 0; i < n; i++) {
            increments[(size_t)i * stride] = offset + 0.5 * logs[i];
            kept[(size_t)i * stride] = total[i]; /* log_kept's sums, before the log */
        }
        return;
    }
    for (int i = 0; i < n; i++) /* P + N > 0 always (d >= 1) */
        total[i] = e->pos[i] + e->neg[i];
    lyap_variates_log(total, total, n);
    for (int i = 0; i < n; i++)
        increments[(size_t)i * stride] = e->log_scale + 0.5 * (logs[i] - total[i]);
}

/* The next step of every column, as drawn (a ReLU column that died may
 * draw finite steps again). */
static void next_steps(exact_sampler *e, double *increments)
{
    if (e->next == e->block_len) {
        for (int j = 0; j < e->batch; j++)
            draw_block(e, j, e->ready + (size_t)j * ready_stride(e), e->kept + (size_t)j * ready_stride(e), 1);
        e->block++;
        e->next = 0;
    }
    for (int j = 0; j < e->batch; j++)
        increments[j] = e->ready[(size_t)j * ready_stride(e) + e->next];
    e->next++;
}

void exact_layer(exact_sampler *e, double *increments)
{
    next_steps(e, increments);
    if (e->a == 0) /* only ReLU columns die, and stay dead */
        for (int j = 0; j < e->batch; j++) {
            increments[j] = e->dead[j] ? -INFINITY : increments[j];
            e->dead[j] = increments[j] == -INFINITY;
        }
}

/* The chain in linear form (THEORY.md "Biases"): q_l = (s2 q/d + sb2) S
 * with S = 2 (P + a^2 N), the factor of the step the bias-free path draws
 * (the same streams at any variance), kept as q_j e^{sig_scale_j}: two
 * multiplies and an add a column-step and one vector log for the caller's
 * log q, where log(s2 e^y/d + sb2) took an exp and a log1p. The scale
 * moves (and the cached sb2 e^{-scale} with it) only when q leaves
 * [2^-64, 2^64]. */
void exact_signal_layer(exact_sampler *e, double s2, double sb2, double *log_q)
{
    int batch = e->batch;
    size_t stride = ready_stride(e);
    next_steps(e, e->steps);
    const double *kept = e->kept + (e->next - 1);
    if (e->sig_fresh || sb2 != e->sig_sb2) {
        for (int j = 0; j < batch; j++) {
            if (e->sig_fresh) /* the caller's starting point */
                e->sig_q[j] = 1, e->sig_scale[j] = log_q[j];
            e->sig_bias[j] = sb2 * exp(-e->sig_scale[j]);
        }
        e->sig_fresh = 0;
        e->sig_sb2 = sb2;
    }
    double slope = s2 / e->d;
    for (int j = 0; j < batch; j++)
        e->sig_q[j] = (slope * e->sig_q[j] + e->sig_bias[j]) * (2 * kept[(size_t)j * stride]);
    for (int j = 0; j < batch; j++) {
        double q = e->sig_q[j];
        if (q > 0x1p64 || (q < 0x1p-64 && q > 0)) {
            e->sig_scale[j] += log(q);
            e->sig_q[j] = 1;
            e->sig_bias[j] = sb2 * exp(-e->sig_scale[j]);
        }
    }
    lyap_variates_log(e->sig_q, e->steps, (size_t)batch); /* q in [2^-64, 2^64], or 0 (below) */
    for (int j = 0; j < batch; j++)
        log_q[j] = e->sig_q[j] > 0 ? e->steps[j] + e->sig_scale[j] : -INFINITY;
}

void exact_destroy(exact_sampler **e)
{
    if (!e || !*e)
        return;
    free((*e)->ready);
    free((*e)->dead);
    free((*e)->steps);
    free((*e)->kept);
    free((*e)->sig_q);
    free((*e)->sig_scale);
    free((*e)->sig_bias);
    free((*e)->words);
    double *arrays[] = {(*e)->k,    (*e)->shape, (*e)->pos,     (*e)->neg,   (*e)->x,
                        (*e)->u,    (*e)->logs,  (*e)->scratch, (*e)->log_u, (*e)->log_g};
    for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++)
        free(arrays[i]);
    free((*e)->rejected);
    free((*e)->rejects);
    free((*e)->dd_log_dd);
    free(*e);
    *e = NULL;
}
