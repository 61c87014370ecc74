/* ncout.h: the NetCDF-4 phase diagram (DESIGN.md, "Output schema").
 *
 * The schema is result.h's table, lyap_result_variables[]: this module
 * writes and reads exactly its rows. The master keeps the diagram in memory and writes it as
 * whole snapshots: checkpoints to PATH.partial while running, PATH when
 * complete. Each snapshot goes to a temporary file renamed over its
 * target, so no file is ever seen half-written (even after SIGKILL), and
 * every variable carries a fletcher32 checksum, verified on resume.
 */
#ifndef LYAPDIAG_NCOUT_H
#define LYAPDIAG_NCOUT_H

#include <stddef.h>

#include "lyapdiag/deck.h"
#include "lyapdiag/estimate.h"
#include "lyapdiag/initnet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The phase diagram of one run: results in memory, checkpoints on disk. */
typedef struct lyap_ncout_s lyap_ncout;

/* How lyap_ncout_open treats an existing PATH.partial. */
enum {
    LYAP_NCOUT_NEW = 0,      /* refuse to start over it (LYAP_EIO naming its tasks) */
    LYAP_NCOUT_RESUME = 1,   /* load its finished tasks (--resume) */
    LYAP_NCOUT_OVERWRITE = 2 /* discard it (--overwrite) */
};

/* Opens the diagram of DECK for output PATH (HISTORY: this run's line), on
 * rank 0, before any work. Takes the fcntl lock PATH.lock for this process
 * (LYAP_EIO naming the pid and host holding it if another run has it; the
 * lock dies with the process, and lyap_ncout_close removes the file).
 * MODE LYAP_NCOUT_NEW refuses an existing PATH.partial (LYAP_EIO, naming its
 * finished tasks and the two ways on). Refuses (LYAP_EIO, with the bytes
 * needed and free) if PATH's file system lacks the space of three snapshots.
 * With LYAP_NCOUT_RESUME, loads the finished tasks of PATH.partial, or of
 * a complete PATH, after verifying every variable's checksum (LYAP_EIO
 * naming a damaged variable; the file is kept) and that their stored deck
 * matches DECK (LYAP_EDECK names the first differing key); *RESUMED_FROM
 * gets that file's name, or NULL if neither exists. Then writes a first
 * checkpoint PATH.partial, so an unwritable PATH fails now (LYAP_EIO names
 * the file and the fix). */
int lyap_ncout_open(const char *path, const lyap_deck *deck, const char *history, int mode,
                    const char **resumed_from, lyap_ncout **out);

/* 1 if TASK is finished (loaded or stored), else 0. */
int lyap_ncout_is_done(const lyap_ncout *nc, long task);

/* Number of finished tasks. */
long lyap_ncout_done_count(const lyap_ncout *nc);

/* Stores the results of TASK (copied) and marks it done; writes a
 * checkpoint when [output] checkpoint_seconds have passed since the last.
 * LYAP_ENETCDF/LYAP_EIO if that write fails (a full file system is named,
 * with the bytes needed and free); the previous checkpoint stays whole. */
int lyap_ncout_store_task(lyap_ncout *nc, long task, const lyap_task_result *result);

/* Keeps the N finished block states of unfinished TASK (borrowed: the
 * caller keeps them alive and unchanged, except by merging, until it
 * stores TASK's blocks or result again; they replace those kept before),
 * for the checkpoints: PATH.partial stores them packed beside the finished
 * tasks, and --resume gives them back (lyap_ncout_saved_blocks). Writes a checkpoint when [output]
 * checkpoint_seconds have passed since the last. Storing TASK's result
 * drops them. LYAP_ENOMEM, or the write's errors as lyap_ncout_store_task. */
int lyap_ncout_store_blocks(lyap_ncout *nc, long task, int n, const lyap_block_state *states);

/* Copies every borrowed block state into the writer's own memory (the
 * sweep that lent them ends). LYAP_ENOMEM. */
int lyap_ncout_adopt_blocks(lyap_ncout *nc);

/* The block states kept for TASK (loaded from PATH.partial on resume,
 * packed, or stored since): *N of them at *STATES, valid until the next
 * store. */
int lyap_ncout_saved_blocks(const lyap_ncout *nc, long task, int *n, const lyap_block_state **states);

/* Finished blocks kept for unfinished tasks, and those tasks. */
long lyap_ncout_blocks_held(const lyap_ncout *nc, long *tasks);

/* Writes every finished task to PATH.partial now (atomically). */
int lyap_ncout_checkpoint(lyap_ncout *nc);

/* Writes the complete diagram to PATH (atomically), removes PATH.partial,
 * and frees *NC. On error *NC stays open (close it). */
int lyap_ncout_finish(lyap_ncout **nc);

/* Frees *NC and sets it to NULL, removing PATH.lock and dropping the lock,
 * leaving the other files as they are (the last checkpoint stays for
 * --resume). Safe on NULL. */
void lyap_ncout_close(lyap_ncout **nc);

/* Writes the network of `lyapdiag init` to PATH, NetCDF-4, atomically (via
 * PATH.tmp and a rename; nothing is left at PATH on failure):
 * weights(layer, row, col) float64, the matrices W_l as NET stores them
 * (x_l = phi(W_l x_{l-1}), scale included), coordinates layer (1..L), row
 * and col (0-based); candidate_mean_log_gain(candidate); global attributes
 * describing the draw (family, width, slope, variance, variance_kind, seed,
 * candidates, inputs, chosen_candidate, mean_log_gain and its min/max over
 * candidates, source, HISTORY, Conventions). LYAP_EIO or LYAP_ENETCDF naming
 * the file. */
int lyap_ncout_write_init(const char *path, const lyap_initnet *net, const char *history);

/* A phase-diagram file (or its checkpoint) as `lyapdiag info` shows it:
 * read back from the file's own coordinates and attributes, never from
 * the deck it names. Tasks are family-major, slope fastest. */
typedef struct {
    char *deck, *deck_file, *source; /* global attributes (source: lyapdiag's version) */
    unsigned long long seed;
    int replicas;
    size_t nfamilies, nwidths, nslopes, nvariances, nbias, ndepths; /* nbias 0: no bias_variance axis */
    char **families;
    int *widths, *depths;
    double *slopes, *variances, *bias_variances;
    long tasks, tasks_done;
    long tasks_started; /* unfinished tasks with finished blocks kept (a checkpoint's block_task) */
    signed char *done;  /* [tasks] */
    double *variance_crit, *variance_crit_stderr, *variance_crit_theory; /* [tasks], NaN where not done */
} lyap_ncout_summary;

/* Reads the summary of PATH, a file written by `lyapdiag run` (complete, or
 * its PATH.partial checkpoint). One-line errors naming PATH and the fix:
 * LYAP_EIO for a missing or unreadable file (not NetCDF, damaged, a
 * directory) and for a NetCDF file that is not a lyapdiag phase diagram
 * (`init`'s networks are named as such); LYAP_ENOMEM. */
int lyap_ncout_read_summary(const char *path, lyap_ncout_summary *summary);

/* Frees what lyap_ncout_read_summary allocated and zeroes *SUMMARY. */
void lyap_ncout_summary_free(lyap_ncout_summary *summary);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_NCOUT_H */
