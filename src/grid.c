/* grid.c: tasks of the deck's grid and their cost model (DESIGN.md, MPI). */
#include <math.h>
#include <stdlib.h>

#include "lyapdiag/error.h"
#include "lyapdiag/grid.h"

void lyap_grid_task_position(const lyap_deck *deck, long task, int *family, int *width, int *slope)
{
    *slope = (int)(task % deck->nslopes);
    task /= deck->nslopes;
    *width = (int)(task % deck->nwidths);
    *family = (int)(task / deck->nwidths);
}

long lyap_grid_task_number(const lyap_deck *deck, int family, int width, int slope)
{
    return ((long)family * deck->nwidths + width) * deck->nslopes + slope;
}

/* Signal chains per variance: with biases every bias variance of the
 * axis, 0 included (the signal's statistics need its own chain). */
static int biased_count(const lyap_deck *deck)
{
    return lyap_deck_has_biases(deck) ? deck->nbias_variances : 0;
}

int lyap_grid_simulations(const lyap_deck *deck)
{
    return (deck->verify_homogeneity ? deck->nvariances : 1) + deck->nvariances * biased_count(deck);
}

/* Nanoseconds per weight entry (bench/: normals ~3.5 ns from Philox and
 * Box-Muller; uniforms ~0.7 ns, one Philox word each; signs one bit each,
 * ~0.5 ns with their conversion). Haar entries are normals before their
 * QR. */
static double entry_ns(lyap_entry_law law)
{
    switch (law) {
    case LYAP_ENTRIES_UNIFORM:
        return 0.7;
    case LYAP_ENTRIES_SIGN:
        return 0.5;
    default:
        return 3.5;
    }
}

double lyap_grid_replica_cost(const lyap_deck *deck, long task)
{
    int f, w, s;
    lyap_grid_task_position(deck, task, &f, &w, &s);
    double d = deck->widths[w];
    const lyap_family_info *info = lyap_family_info_of(deck->families[f]);
    if (info->looks_linear)
        d /= 2; /* one h x h block per layer */
    /* Nanoseconds per layer, measured by bench/ on the 2-core Zen 4
     * machines we develop on: d^2 variates (entry_ns), the GEMM at ~0.02
     * ns per flop, for orthogonal weights the QR (dgeqrf + dorgqr) at
     * ~0.34 ns x d^3, and 200 ns of fixed overhead. The exact path draws
     * a binomial (d/32 words) and two gammas, ~30 ns a column. */
    double weights = 200 + d * d * entry_ns(info->entries);
    if (info->entries == LYAP_ENTRIES_HAAR)
        weights += 0.34 * d * d * d;
    int exact = deck->methods[f] == LYAP_METHOD_EXACT;
    double layer = exact ? deck->batch * (30.0 + d / 32.0) : weights + d * d * 0.04 * deck->batch;
    /* The spectrum (K exponents, d x K frames): the QR at ~0.22 ns x d K^2
     * with ~1.5 us of LAPACK call overhead, plus d K variates (shortcut)
     * or the weights and a d x d x K GEMM (full path). */
    double k = lyap_deck_spectrum_count(deck, deck->widths[w]), spectrum = 0;
    if (k > 0) /* once per task, whatever verify_homogeneity */
        spectrum = 1500 + 0.22 * d * k * k + (exact ? 3.5 * d * k : weights + 0.04 * d * d * k);
    /* A biased simulation pays the same layer, and on the exact path the
     * chain's scalar exp, log1p and log (THEORY.md, "Biases"): +13 to +36
     * ns a column-step measured at d = 4..1024 (2 shared cores). */
    double plain = deck->verify_homogeneity ? deck->nvariances : 1;
    double biased = (double)deck->nvariances * biased_count(deck), depth = deck->depths[deck->ndepths - 1];
    return (layer * plain + (layer + (exact ? 25.0 * deck->batch : 0)) * biased + spectrum) * depth;
}

double lyap_grid_task_replicas(const lyap_deck *deck, long task)
{
    int f, w, s;
    lyap_grid_task_position(deck, task, &f, &w, &s);
    double d = deck->widths[w], depth = deck->depths[deck->ndepths - 1];
    if (lyap_family_info_of(deck->families[f])->looks_linear)
        d /= 2;
    int exact = deck->methods[f] == LYAP_METHOD_EXACT;
    double replicas = deck->replicas;
    if (deck->target_stderr > 0) {
        /* Replicas to reach the target: stderr^2 = v / (depth x inputs
         * per replica), with v ~ 1.5/d near He scale (THEORY.md's exact v
         * is ~1/(2d) + O(1/d)); matrix columns are correlated, count one. */
        double inputs = exact ? deck->batch : 1;
        double needed = 1.5 / d / (depth * inputs * deck->target_stderr * deck->target_stderr);
        replicas = fmin(replicas, fmax(LYAP_ADAPTIVE_MIN_REPLICAS, needed));
    }
    return replicas;
}

double lyap_grid_task_cost(const lyap_deck *deck, long task)
{
    return lyap_grid_replica_cost(deck, task) * lyap_grid_task_replicas(deck, task);
}

/* The work unit's size: as many replicas as fit in LYAP_GRID_UNIT_NS of
 * the cost model (0.25 s on the machines it was fitted on, 0.2-1 s on the
 * slower ones we met: long enough that rank 0's service, a message and a
 * merge are noise beside it (~60 us, bench/), short enough that a task
 * splits over many ranks and a stop loses little), at least one replica
 * (a replica runs its layers in sequence: the smallest unit there is), at
 * most the whole task. With target_stderr the block is one round of
 * LYAP_ADAPTIVE_ROUND: the rule then stops after exactly the round it
 * would stop at in one sequential run. */
int lyap_grid_block_replicas(const lyap_deck *deck, long task)
{
    if (deck->target_stderr > 0)
        return deck->replicas < LYAP_ADAPTIVE_ROUND ? deck->replicas : LYAP_ADAPTIVE_ROUND;
    double replicas = fmax(1, floor(LYAP_GRID_UNIT_NS / lyap_grid_replica_cost(deck, task)));
    return replicas >= deck->replicas ? deck->replicas : (int)replicas;
}

static const lyap_deck *sort_deck; /* qsort has no context argument */

static int by_cost_descending(const void *pa, const void *pb)
{
    long a = *(const long *)pa, b = *(const long *)pb;
    double ca = lyap_grid_task_cost(sort_deck, a), cb = lyap_grid_task_cost(sort_deck, b);
    if (ca != cb)
        return ca > cb ? -1 : 1;
    return (a > b) - (a < b);
}

int lyap_grid_schedule(const lyap_deck *deck, long **order)
{
    long n = lyap_deck_task_count(deck);
    LYAP_CALL(lyap_alloc(order, (size_t)n, sizeof **order, "task schedule"));
    for (long t = 0; t < n; t++)
        (*order)[t] = t;
    sort_deck = deck;
    qsort(*order, (size_t)n, sizeof **order, by_cost_descending);
    return LYAP_OK;
}
