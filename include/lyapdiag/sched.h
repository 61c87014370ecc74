/* sched.h: the MPI layer: start-up, the deck on every rank, and the
 * master/worker sweep (DESIGN.md, "MPI"). The only module that calls MPI.
 *
 * Rank 0 is the master and computes too: between replicas of its own tasks
 * it answers workers' requests, so N ranks keep N cores busy. Tasks go out
 * most expensive first; results depend only on the task, never on who
 * computed it or when.
 */
#ifndef LYAPDIAG_SCHED_H
#define LYAPDIAG_SCHED_H

#include "lyapdiag/deck.h"
#include "lyapdiag/estimate.h"

#ifdef __cplusplus
extern "C" {
#endif

/* MPI_Init with errors returned (not fatal), so every failure is reported
 * through lyap_fail; installs the stop handlers of SIGTERM, SIGINT and
 * SIGUSR1 (see lyap_sched_run). Returns LYAP_OK or LYAP_EMPI. */
int lyap_sched_init(int *argc, char ***argv);

/* MPI_Finalize. */
void lyap_sched_finalize(void);

int lyap_sched_rank(void);
int lyap_sched_size(void);

/* Collective: the worst (most negative) STATUS over all ranks, so that all
 * ranks stop together when any of them cannot go on. */
int lyap_sched_agree(int status);

/* Collective: rank 0 reads PATH, every rank parses the same text into
 * *DECK (so all agree on success or on the error). */
int lyap_sched_load_deck(const char *path, lyap_deck *deck);

/* LYAP_EMPI (the same on every rank) if there are more ranks than tasks:
 * extra ranks would hold cores and idle. */
int lyap_sched_check_ranks(const lyap_deck *deck);

/* Collective: LYAP_EDECK, with the estimate, if the deck needs more memory
 * than this node has (ranks on the node x the widest task's working set,
 * plus the results rank 0 keeps): refused before any large allocation. */
int lyap_sched_check_memory(const lyap_deck *deck);

/* Prints "lyapdiag: error on rank R: MESSAGE" and aborts every rank with
 * exit status 1: for a failure one rank cannot share (LAMMPS's Error::one).
 * Besides rank 0's progress lines (lyap_sched_run), the one place outside
 * main that prints, and the only one that exits. Does not return. */
void lyap_sched_abort(void) __attribute__((noreturn));

/* On rank 0: 1 if TASK is already finished (resume), so it is skipped. */
typedef int (*lyap_done_fn)(void *ctx, long task);

/* Receives each finished task on rank 0, in arrival order. */
typedef int (*lyap_result_sink)(void *ctx, long task, const lyap_task_result *result);

/* A task a stop abandoned: how far it got in this run. */
typedef struct {
    long task;       /* task number (lyap_grid_task_position) */
    double fraction; /* of its replicas done, 0..1 */
    double seconds;  /* wall time spent on it before it stopped */
    double needed;   /* seconds / fraction: its whole wall time; +inf if no replica finished */
} lyap_sched_unfinished;

/* Abandoned tasks kept in a report (the ones needing the most time). */
#define LYAP_SCHED_MAX_SHOWN 8

/* What a sweep did, filled on rank 0 (zeros elsewhere but seconds). */
typedef struct {
    double seconds;       /* wall time of the sweep */
    double slot;          /* seconds from its start to the stop signal (= seconds if none came) */
    long finished;        /* tasks finished in this run (resumed ones not counted) */
    int nunfinished;      /* tasks a stop abandoned */
    int nshown;           /* of them in shown[] (any order) */
    lyap_sched_unfinished shown[LYAP_SCHED_MAX_SHOWN];
} lyap_sched_report;

/* Collective: computes every task of DECK that IS_DONE denies; rank 0
 * passes each result to SINK and prints progress (tasks, rate, ETA) on
 * stderr unless QUIET. After SIGTERM, SIGINT or SIGUSR1 on any rank, all
 * ranks stop at the next replica, finished results still reach SINK, and
 * every rank returns LYAP_EINTERRUPTED; *REPORT then names (on rank 0) the
 * abandoned tasks, so that a restart that finished nothing can say which
 * tasks outgrow the time slot. *REPORT's seconds is the wall time on every
 * rank. Call lyap_sched_check_ranks first. A worker whose task fails
 * aborts the run (lyap_sched_abort); on rank 0 a failure (its task or
 * SINK) is returned, so the caller can clean up before lyap_sched_abort. */
int lyap_sched_run(const lyap_deck *deck, int quiet, lyap_done_fn is_done, lyap_result_sink sink, void *ctx,
                   lyap_sched_report *report);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_SCHED_H */
