/* traindeck.h: the [train] section of a training deck (`lyapdiag train`)
 * and its task grid.
 *
 * A training deck is a deck (deck.h) with a [train] section: deck.c's one
 * key table, INI pass, canonical values and one-line errors parse it, and
 * lyap_deck.train points to what this module fills. A task is one
 * (method, width, depth, slope, optimizer, learning rate, seed); its
 * numbers depend only on those coordinates (train.h).
 */
#ifndef LYAPDIAG_TRAINDECK_H
#define LYAPDIAG_TRAINDECK_H

#include "lyapdiag/deck.h"
#include "lyapdiag/optim.h"
#include "lyapdiag/train.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LYAP_TRAIN_MAX_TASKS 10000000L
#define LYAP_TRAIN_MAX_RECORDS 1000000 /* per task: one MPI message holds 2 x records doubles */
#define LYAP_TRAIN_MAX_VALUES 1e8      /* tasks x records per loss variable: rank 0 holds 1.6 GB at most */
#define LYAP_TRAIN_NOPTIMIZERS 2

typedef struct lyap_train_deck {
    lyap_train_setup setup; /* what every task shares */
    int nmethods;
    lyap_train_method methods[LYAP_TRAIN_NMETHODS]; /* in deck order */
    int nwidths;
    int *widths;            /* increasing */
    int ndepths;
    int *depths;            /* increasing */
    int nslopes;
    double *slopes;         /* increasing, in [0, 1] */
    int noptimizers;
    lyap_optim_kind optimizers[LYAP_TRAIN_NOPTIMIZERS]; /* in deck order */
    int nlearning_rates;
    double *learning_rates; /* increasing, > 0 */
    int nseeds;             /* seeds 0 .. nseeds-1 */
} lyap_train_deck;

/* Parses and validates TEXT, which must hold a [train] section, into
 * *DECK (deck->train set). As lyap_deck_parse; a deck without [train] is
 * refused naming `lyapdiag run`. */
int lyap_deck_parse_train(const char *text, const char *name, lyap_deck *deck);

/* "adam" or "sgd". */
const char *lyap_train_optimizer_name(lyap_optim_kind kind);

/* Number of tasks of the grid. */
long lyap_train_task_count(const lyap_train_deck *t);

/* Task number I's coordinates: the axes in the output's order (method,
 * width, depth, slope, optimizer, learning_rate, seed; seed fastest). */
lyap_train_task lyap_train_task_at(const lyap_train_deck *t, long i);

/* Writes the [train] and [output] keys of a training deck (default,
 * meaning) to OUT: `lyapdiag train --help-deck`. */
void lyap_deck_print_train_reference(FILE *out);

/* ---- for deck.c's key table and INI pass (not for other callers) ---- */
int lyap_train_deck_new(lyap_deck *deck);
void lyap_train_deck_free(lyap_deck *deck);
int lyap_train_deck_check(const lyap_deck *deck, const char *name);
int lyap_traindeck_task(lyap_deck *deck, const char *value, const char *where);
int lyap_traindeck_coefficients(lyap_deck *deck, const char *value, const char *where);
int lyap_traindeck_train_points(lyap_deck *deck, const char *value, const char *where);
int lyap_traindeck_test_points(lyap_deck *deck, const char *value, const char *where);
int lyap_traindeck_noise(lyap_deck *deck, const char *value, const char *where);
int lyap_traindeck_score_sigma(lyap_deck *deck, const char *value, const char *where);
int lyap_traindeck_methods(lyap_deck *deck, const char *value, const char *where);
int lyap_traindeck_widths(lyap_deck *deck, const char *value, const char *where);
int lyap_traindeck_depths(lyap_deck *deck, const char *value, const char *where);
int lyap_traindeck_slopes(lyap_deck *deck, const char *value, const char *where);
int lyap_traindeck_learning_rates(lyap_deck *deck, const char *value, const char *where);
int lyap_traindeck_optimizers(lyap_deck *deck, const char *value, const char *where);
int lyap_traindeck_momentum(lyap_deck *deck, const char *value, const char *where);
int lyap_traindeck_seeds(lyap_deck *deck, const char *value, const char *where);
int lyap_traindeck_steps(lyap_deck *deck, const char *value, const char *where);
int lyap_traindeck_batch(lyap_deck *deck, const char *value, const char *where);
int lyap_traindeck_record_every(lyap_deck *deck, const char *value, const char *where);
int lyap_traindeck_biases(lyap_deck *deck, const char *value, const char *where);
int lyap_traindeck_candidates(lyap_deck *deck, const char *value, const char *where);
const char *lyap_traindeck_method_choices(void);

/* deck.c's value parsers, shared with traindeck.c (deck.c). */
int lyap_deck_number_(const char *token, double *out);
int lyap_deck_axis_(const char *where, const char *value, int integer, double lo, int lo_open, double hi,
                    const char *range_text, double **out, int *nout);
int lyap_deck_count_(const char *where, const char *value, long lo, long hi, int *out);
int lyap_deck_int_axis_(const char *where, const char *value, double lo, double hi, const char *range_text,
                        int **out, int *nout);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_TRAINDECK_H */
