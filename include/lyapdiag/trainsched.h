/* trainsched.h: the MPI sweep of `lyapdiag train` over a training deck's
 * tasks (traindeck.h).
 *
 * Rank 0 hands out the tasks not yet done, most expensive first (the
 * cost model: steps x width x (width x depth + 4)), one at a time to
 * whoever sends a result; each worker holds one task ahead, so it never
 * waits for rank 0, which trains too and answers every 64 steps of its own
 * task. A task's numbers depend only on its coordinates (train.h), so the
 * file is the same for any number of ranks and any schedule.
 */
#ifndef LYAPDIAG_TRAINSCHED_H
#define LYAPDIAG_TRAINSCHED_H

#include "lyapdiag/deck.h"
#include "lyapdiag/trainout.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    double seconds;  /* wall time of the sweep */
    long finished;   /* tasks finished in this run by all ranks (every rank gets rank 0's count) */
    long diverged;   /* of them, diverged */
    int stopped;     /* a stop signal ended the sweep early (every rank) */
    double least_busy, most_busy; /* on rank 0: the least and the most time one rank spent in tasks */
    double task_seconds; /* on rank 0: wall time all ranks spent in tasks (busy share = this / (ranks x seconds)) */
} lyap_train_report;

/* Collective: trains every task of DECK that OUT (rank 0's output; NULL on
 * the other ranks) does not hold, storing each result on rank 0 as it
 * arrives; prints progress on stderr every 2 s unless QUIET. After
 * SIGTERM, SIGINT or SIGUSR1 on any rank, every rank stops within
 * LYAP_TRAIN_POLL_STEPS steps of its current task (abandoned: a task is
 * the smallest piece a checkpoint keeps, and restarts from zero on
 * --resume), and every rank returns LYAP_EINTERRUPTED. A worker's failure
 * aborts the run (lyap_sched_abort); rank 0's own failure (its task or a
 * write) is returned on rank 0, so the caller can close the output before
 * lyap_sched_abort. */
int lyap_train_sweep(const lyap_deck *deck, int quiet, lyap_trainout *out, lyap_train_report *report);

/* Collective: LYAP_EDECK, naming the figures and the fix, if DECK's
 * largest task on every rank of this node (lyap_train_task_bytes of the largest)
 * and rank 0's results need more memory than the node has
 * (lyap_sched_check_node_memory): refused before any file or large
 * allocation. */
int lyap_train_check_memory(const lyap_deck *deck);

/* Collective: rank 0 reads PATH, every rank parses the same text as a
 * training deck (so all agree on success or on the error). */
int lyap_train_load_deck(const char *path, lyap_deck *deck);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_TRAINSCHED_H */
