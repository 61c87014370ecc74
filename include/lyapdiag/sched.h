/* sched.h: the MPI layer: start-up, the deck on every rank, and the
 * master/worker sweep (DESIGN.md, "MPI"). The only module that calls MPI.
 *
 * Rank 0 is the master and computes too: between replicas of its own work
 * units it answers workers' requests, so N ranks keep N cores busy. The
 * unit of work is a block of consecutive replicas of one task
 * (lyap_grid_block_replicas); units go out most expensive task first,
 * blocks in order, and the master merges each task's block states in block
 * order, so results depend only on the task, never on who computed which
 * block or when, nor on the number of ranks (any number works).
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

/* LYAP_OK, or LYAP_EMPI naming CALL with MPI's own message for RC; and
 * LYAP_MPI(call), which returns that status from the caller if not OK. */
int lyap_sched_mpi_check(int rc, const char *call);
#define LYAP_MPI(call) LYAP_CALL(lyap_sched_mpi_check((call), #call))

/* Collective: DECK's text, read by rank 0 and broadcast, into *TEXT on
 * every rank (malloc'd; NULL on failure, with rank 0's reason). */
int lyap_sched_read_deck_text(const char *path, char **text);
int lyap_sched_size(void);

/* Collective: the worst (most negative) STATUS over all ranks, so that all
 * ranks stop together when any of them cannot go on. */
int lyap_sched_agree(int status);

/* Collective: rank 0 reads PATH, every rank parses the same text into
 * *DECK (so all agree on success or on the error). Refuses (LYAP_EDECK)
 * biases on any path but gaussian exact, and two inputs, which the sweep
 * does not compute yet. */
int lyap_sched_load_deck(const char *path, lyap_deck *deck);

/* Collective: LYAP_EDECK, with the estimate, if the deck needs more memory
 * than this node has (ranks on the node x the widest task's working set,
 * plus the results rank 0 keeps): refused before any large allocation. */
int lyap_sched_check_memory(const lyap_deck *deck);

/* Collective: the check of lyap_sched_check_memory for any sweep: each rank
 * on this node holds up to WORKER bytes (for TASK, e.g. "width 64"), rank 0
 * MASTER more; LYAP_EDECK naming deck NAME, the figures and FIX ("reduce
 * [grid] widths or the grid") if they exceed the node's memory. */
int lyap_sched_check_node_memory(const char *name, double worker, const char *task, double master,
                                 const char *fix);

/* Prints "lyapdiag: error on rank R: MESSAGE" and aborts every rank with
 * exit status 1: for a failure one rank cannot share (LAMMPS's Error::one).
 * Besides rank 0's progress lines (lyap_sched_run), the one place outside
 * main that prints, and the only one that exits. Does not return. */
void lyap_sched_abort(void) __attribute__((noreturn));

/* On rank 0: 1 if TASK is already finished (resume), so it is skipped. */
typedef int (*lyap_done_fn)(void *ctx, long task);

/* Receives each finished task on rank 0, in arrival order. */
typedef int (*lyap_result_sink)(void *ctx, long task, const lyap_task_result *result);

/* What rank 0 reads and writes during a sweep (CTX is passed to each). */
typedef struct {
    void *ctx;
    lyap_done_fn is_done;   /* finished tasks of a resumed run are skipped */
    lyap_result_sink sink;  /* each finished task; its kept blocks are then obsolete */
    /* The finished blocks of unfinished TASK whenever they change: N
     * states (the merged prefix, if any block is merged, then the blocks
     * that arrived ahead of it), replacing those given before. Borrowed:
     * they stay valid until the task's next store_blocks or sink, or until
     * adopt_blocks. */
    int (*store_blocks)(void *ctx, long task, int n, const lyap_block_state *states);
    /* The sweep ends and frees its states: copy the ones given. */
    int (*adopt_blocks)(void *ctx);
    /* The blocks an earlier run kept for TASK (resume): *N states (0 if
     * none), valid during the call of lyap_sched_run. */
    int (*saved_blocks)(void *ctx, long task, int *n, const lyap_block_state **states);
} lyap_sched_io;

/* A work unit a stop abandoned: how far it got in this run. */
typedef struct {
    long task;       /* task number (lyap_grid_task_position) */
    int block, nblocks; /* the block (0-based) and the task's blocks */
    int replicas;    /* replicas in the block */
    double fraction; /* of the block done, 0..1 */
    double seconds;  /* wall time spent on it before it stopped */
    double needed;   /* seconds / fraction: the block's whole wall time; +inf if no replica finished */
} lyap_sched_unfinished;

/* Abandoned tasks kept in a report (the ones needing the most time). */
#define LYAP_SCHED_MAX_SHOWN 8

/* What a sweep did, filled on rank 0 (zeros elsewhere but seconds). */
typedef struct {
    double seconds;       /* wall time of the sweep */
    double slot;          /* seconds from its start to the stop signal (= seconds if none came) */
    long finished;        /* tasks finished in this run (resumed ones not counted) */
    long blocks;          /* blocks finished and kept in this run (progress, even within a task) */
    long blocks_held;     /* finished blocks of unfinished tasks at the end (kept for --resume) */
    long tasks_held;      /* unfinished tasks holding them */
    long served;          /* work-unit messages rank 0 served (received, merged, answered) */
    double serve_seconds; /* CPU time rank 0 spent serving them (the master's cost: bench/),
                             less the task-level part below */
    double task_seconds;  /* CPU time rank 0 spent starting and finishing tasks (prefix
                             state, lyap_estimate_finish, storing the result), once per task */
    int nunfinished;      /* tasks a stop abandoned */
    int nshown;           /* of them in shown[] (any order) */
    lyap_sched_unfinished shown[LYAP_SCHED_MAX_SHOWN];
} lyap_sched_report;

/* Collective: computes every task of DECK that IO->is_done denies, in
 * work units, continuing each from the blocks IO->saved_blocks kept; rank 0
 * passes each finished task to IO->sink and the finished blocks of the
 * others to IO->store_blocks, and prints progress (tasks, share of the
 * work, elapsed, ETA from the measured speed of finished units) on stderr
 * unless QUIET. After SIGTERM, SIGINT or SIGUSR1 on any rank, all ranks
 * stop within 512 layers, finished blocks still reach IO, and every rank
 * returns LYAP_EINTERRUPTED; *REPORT then names (on rank 0) the abandoned
 * units, so that a restart that finished no block can say which blocks
 * outgrow the time slot. *REPORT's seconds is the wall time on every rank.
 * Any number of ranks works. A worker whose unit fails aborts the run
 * (lyap_sched_abort); on rank 0 a failure (its unit or IO) is returned, so
 * the caller can clean up before lyap_sched_abort. IO is used on rank 0
 * only. */
int lyap_sched_run(const lyap_deck *deck, int quiet, const lyap_sched_io *io, lyap_sched_report *report);

/* The stop signal (SIGTERM, SIGINT, SIGUSR1) this rank received since
 * lyap_sched_init, or 0: for other sweeps than lyap_sched_run
 * (trainsched.c). */
int lyap_sched_stop_signal(void);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_SCHED_H */
