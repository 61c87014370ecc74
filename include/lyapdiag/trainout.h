/* trainout.h: the NetCDF-4 file of `lyapdiag train` (issue 13's names are
 * the contract): dimensions method (strings), width, depth, slope,
 * optimizer (strings), learning_rate, seed, record (coordinate step);
 * train_loss and test_loss (method, ..., seed, record); final_test_loss,
 * diverged (int8), initial_log_gain, steps_done and the done mask
 * (method, ..., seed); the deck verbatim in the attributes.
 *
 * As ncout.h does for `run` (and with its file layer, ncfile.h): rank 0
 * keeps the results in memory and writes whole snapshots, checkpoints to
 * PATH.partial and the complete PATH, each built in memory, written to a
 * temporary file and renamed; fletcher32 checksums verified on resume; an
 * fcntl lock on PATH.lock; an existing PATH.partial refused unless
 * --resume or --overwrite; the space of three snapshots checked first.
 */
#ifndef LYAPDIAG_TRAINOUT_H
#define LYAPDIAG_TRAINOUT_H

#include "lyapdiag/deck.h"
#include "lyapdiag/train.h"
#include "lyapdiag/traindeck.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lyap_trainout_s lyap_trainout;

/* Opens the output of training deck DECK at PATH on rank 0 (MODE: ncout.h's
 * LYAP_NCOUT_NEW, _RESUME or _OVERWRITE; HISTORY this run's line); with
 * _RESUME loads the finished tasks of PATH.partial, else of a complete
 * PATH (*RESUMED_FROM names it, or NULL), refusing a damaged file or
 * another deck (LYAP_EDECK naming the first differing key). Writes a first
 * checkpoint, so an unwritable PATH fails now. */
int lyap_trainout_open(const char *path, const lyap_deck *deck, const char *history, int mode,
                       const char **resumed_from, lyap_trainout **out);

int lyap_trainout_is_done(const lyap_trainout *o, long task);
long lyap_trainout_done_count(const lyap_trainout *o);
/* The done mask, one byte per task (for broadcasting to the ranks). */
const signed char *lyap_trainout_done_mask(const lyap_trainout *o);

/* Stores TASK's result (copied) and marks it done; checkpoints when [output]
 * checkpoint_seconds have passed since the last. */
int lyap_trainout_store(lyap_trainout *o, long task, const lyap_train_result *result);

int lyap_trainout_checkpoint(lyap_trainout *o);

/* Writes the complete PATH, removes PATH.partial and closes *O. */
int lyap_trainout_finish(lyap_trainout **o);

/* Frees *O, drops the lock; the files stay. Safe on NULL. */
void lyap_trainout_close(lyap_trainout **o);

/* A training file (or its checkpoint) as `lyapdiag info` shows it, read
 * back from the file's own coordinates and attributes. A configuration is
 * one (method, width, depth, slope, optimizer, learning rate), the seeds
 * its samples; configurations in the file's order (learning rate fastest). */
typedef struct {
    char *deck, *deck_file, *source, *task; /* global attributes */
    int steps, record_every;
    size_t nmethods, nwidths, ndepths, nslopes, noptimizers, nlearning_rates, nseeds;
    char **methods, **optimizers;
    int *widths, *depths;
    double *slopes, *learning_rates;
    long tasks, tasks_done, diverged; /* diverged: of the done tasks */
    long configurations;
    long *finished, *config_diverged;  /* [configurations]: seeds done, and of them diverged */
    double *median, *q25, *q75;        /* [configurations]: final_test_loss over done, non-diverged seeds
                                        * (numpy's linear percentiles); NaN if none */
} lyap_trainout_summary;

/* 1 if PATH is a NetCDF file written by `lyapdiag train` (FILE or
 * FILE.partial: it has final_test_loss and train_loss), else 0. */
int lyap_trainout_is_training_file(const char *path);

/* Reads the summary of PATH, a file of `lyapdiag train`. One-line errors
 * naming PATH: LYAP_EIO (unreadable, damaged, not a training file),
 * LYAP_ENOMEM. */
int lyap_trainout_read_summary(const char *path, lyap_trainout_summary *summary);

/* Frees what lyap_trainout_read_summary allocated and zeroes *SUMMARY. */
void lyap_trainout_summary_free(lyap_trainout_summary *summary);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_TRAINOUT_H */
