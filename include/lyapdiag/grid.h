/* grid.h: the deck's grid as tasks. A task is one (family, width, slope):
 * one Monte Carlo run serves all its variances and depths. Tasks are
 * numbered family-major, slope fastest, as in the output arrays. */
#ifndef LYAPDIAG_GRID_H
#define LYAPDIAG_GRID_H

#include "lyapdiag/deck.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Grid position of TASK (0 <= task < lyap_deck_task_count(deck)). */
void lyap_grid_task_position(const lyap_deck *deck, long task, int *family, int *width, int *slope);

/* The task number of grid position (FAMILY, WIDTH, SLOPE): the inverse of
 * lyap_grid_task_position. */
long lyap_grid_task_number(const lyap_deck *deck, int family, int width, int slope);

/* Simulations one replica of a task runs: one for all bias-free
 * variances (the homogeneity shift), or one per variance with
 * verify_homogeneity; plus, in a deck with biases, the signal chain of
 * every (variance, bias variance), 0 included, since biases break the
 * shift (THEORY.md, "Biases"). The same for every task:
 * a task stays one (family, width, slope), so decks without biases keep
 * their task numbers, blocks and streams. */
int lyap_grid_simulations(const lyap_deck *deck);

/* Estimated cost of TASK in nanoseconds on one core: replicas x depth x
 * the cost of one layer (d^2 normal variates, the GEMM, a d^3 QR for
 * orthogonal weights), times the simulations (lyap_grid_simulations).
 * For scheduling (most expensive first) and ETAs; only ratios matter. */
double lyap_grid_task_cost(const lyap_deck *deck, long task);

/* Estimated cost in nanoseconds of one replica of TASK (every simulation
 * and the spectrum): lyap_grid_task_cost = this x lyap_grid_task_replicas. */
double lyap_grid_replica_cost(const lyap_deck *deck, long task);

/* Replicas TASK is expected to run: [sampling] replicas, or with
 * target_stderr the model's estimate of the replicas that reach it
 * (at least LYAP_ADAPTIVE_MIN_REPLICAS, at most the cap). */
double lyap_grid_task_replicas(const lyap_deck *deck, long task);

/* Cost-model nanoseconds a work unit aims at (see lyap_grid_block_replicas). */
#define LYAP_GRID_UNIT_NS 2.5e8

/* Replicas per work unit (block) of TASK: those that fit in
 * LYAP_GRID_UNIT_NS of cost (at least 1, at most the whole task); one
 * round of LYAP_ADAPTIVE_ROUND with target_stderr.
 * Depends only on the deck's settings and the task, never on the number
 * of ranks or on the other tasks of the deck (an array job's part has the
 * blocks of the whole deck). */
int lyap_grid_block_replicas(const lyap_deck *deck, long task);

/* New array *ORDER of all task numbers, most expensive first (ties by task
 * number), for dynamic scheduling. Caller frees. LYAP_ENOMEM on failure. */
int lyap_grid_schedule(const lyap_deck *deck, long **order);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_GRID_H */
