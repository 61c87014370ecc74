/* result.h: what a task computes and how it appears in the output: the one
 * schema table (DESIGN.md, "Output schema").
 *
 * lyap_result_variables[] lists every variable of the phase-diagram file:
 * its name, axes, storage, units, long_name, comment and where its values
 * live in a task's result. The estimator lays its result buffer out from
 * it, MPI ships that buffer, the NetCDF writer and the checkpoint reader
 * walk it, `lyapdiag --help-output` prints it, and the tests check
 * doc/DESIGN.md against that print. Adding an output variable = one row
 * here, its pointer in lyap_task_result, and the code that computes it.
 */
#ifndef LYAPDIAG_RESULT_H
#define LYAPDIAG_RESULT_H

#include <stddef.h>
#include <stdio.h>

#include "lyapdiag/deck.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The axes a variable has after (family, width, slope), as bits; in a
 * file they follow in this order, and in a buffer the first is slowest. */
enum {
    LYAP_AXIS_VARIANCE = 1 << 0, /* [grid] variances */
    LYAP_AXIS_BIAS = 1 << 1,     /* [grid] bias_variances, only when the deck has biases */
    LYAP_AXIS_DEPTH = 1 << 2,    /* [grid] depths */
    LYAP_AXIS_SPECTRUM = 1 << 3, /* spectrum_index, 1..K ([sampling] spectrum) */
    LYAP_NAXES = 4
};

/* The axes' coordinates in the file, by bit position: name ("variance",
 * "bias_variance", "depth", "spectrum_index"), units and long_name. */
typedef struct {
    const char *name, *units, *long_name;
} lyap_result_axis;
extern const lyap_result_axis lyap_result_axes[LYAP_NAXES];

/* The axis lengths of a run: the same for every task, so MPI messages have
 * one length. An axis of length 0 (the spectrum when off; the bias
 * variances of a deck without biases) drops the variables that carry it
 * from the file. npairs is 1 when the deck has [sampling] input_cosine
 * (the two-input variables), else 0. (nbias and npairs are last so that
 * {nv, nd, nk} means neither.) */
typedef struct {
    int nvariances, ndepths, nspectrum, nbias, npairs;
} lyap_result_dims;

/* The result sizes of DECK (narrower widths leave their extra spectrum
 * entries NaN). */
lyap_result_dims lyap_result_dims_of_deck(const lyap_deck *deck);

/* Length of axis number I (0 <= i < LYAP_NAXES) in DIMS. */
int lyap_result_axis_length(lyap_result_dims dims, int i);

/* Values one task holds of a variable with AXES (the product of their
 * lengths; 1 for none). */
size_t lyap_result_axes_size(unsigned axes, lyap_result_dims dims);

/* A task's results, all in one contiguous buffer of doubles (so MPI can
 * ship it as is); the pointers index into BUF, in table order. Units:
 * exponents per layer (natural log); variances in the grid's s2 units.
 * The meaning of each is its row of lyap_result_variables[]. */
typedef struct {
    lyap_result_dims dims;
    size_t length; /* number of doubles in buf */
    double *buf;
    double *lambda, *lambda_stderr, *lambda_theory;
    double *clt_variance, *clt_variance_stderr, *clt_variance_theory;
    double *phase;
    double *variance_crit, *variance_crit_stderr, *variance_crit_theory;
    double *death_probability, *replicas_used;
    double *logn_mean, *logn_var;
    double *spectrum, *spectrum_stderr, *spectrum_theory;
    double *isometry_gap, *isometry_gap_stderr;
    double *p_vanish, *p_vanish_stderr, *p_vanish_theory;
    double *p_explode, *p_explode_stderr, *p_explode_theory;
    double *autocorr_time, *autocorr_time_stderr;
    double *survival;
    double *signal_mean, *signal_mean_stderr, *signal_q05, *signal_median, *signal_median_stderr, *signal_q95;
    double *signal_mean_meanfield;
    double *signal_q05_exact, *signal_median_exact, *signal_q95_exact;
    double *tail_index, *phase_bias, *phase_bias_meanfield;
    double *corr_mean, *corr_std, *corr_meanfield;
} lyap_task_result;

/* How a variable is stored: float64 with NaN for missing values, or int8
 * flags with the values FLAG_MIN, FLAG_MIN + 1, ... naming FLAG_MEANINGS. */
typedef enum { LYAP_STORE_REAL = 0, LYAP_STORE_FLAG } lyap_storage;

/* `field` of the one variable that is not a task's value: the completion
 * mask `done`, kept by the output module. */
#define LYAP_RESULT_DONE_MASK ((size_t)-1)

/* One row of the schema. */
typedef struct {
    const char *name;
    unsigned axes;         /* LYAP_AXIS_* bits after (family, width, slope) */
    lyap_storage storage;
    size_t field;          /* offsetof its double * in lyap_task_result, or LYAP_RESULT_DONE_MASK */
    const char *units;
    const char *long_name;
    const char *comment;   /* NULL, or how to read special values */
    const char *flag_meanings; /* LYAP_STORE_FLAG: space-separated words for FLAG_MIN, FLAG_MIN + 1, ... */
    int flag_min;
    unsigned present_with; /* LYAP_AXIS_* bits it does not carry but needs on (tail_index: biases) */
    unsigned where_on;     /* LYAP_AXIS_* bits it carries where their axis is on (corr_*: biases) */
    int needs_pairs;       /* present only with [sampling] input_cosine (dims.npairs) */
} lyap_result_variable;

extern const lyap_result_variable lyap_result_variables[];
extern const int lyap_result_nvariables;

/* Task values of variable VAR in RESULT (NULL for the done mask). */
double *lyap_result_values(const lyap_task_result *result, const lyap_result_variable *var);

/* The axes VAR has in a file of DIMS: its own, and its where_on axes
 * that are on. */
unsigned lyap_result_axes_of(const lyap_result_variable *var, lyap_result_dims dims);

/* Whether VAR is in a file of DIMS: all its axes, and those it is present
 * with, have a nonzero length (and the pairs, if it needs them). */
int lyap_result_is_present(const lyap_result_variable *var, lyap_result_dims dims);

/* Values one task holds of VAR in DIMS: lyap_result_axes_size of its axes
 * where it is present, else 0 (so a deck without biases has today's
 * result buffer and messages). */
size_t lyap_result_values_per_task(const lyap_result_variable *var, lyap_result_dims dims);

/* Number of doubles in a result buffer of DIMS. */
size_t lyap_task_result_length(lyap_result_dims dims);

/* Allocates RESULT's buffer (NaN-filled) for DIMS and sets its pointers.
 * LYAP_ENOMEM on failure. */
int lyap_task_result_init(lyap_task_result *result, lyap_result_dims dims);

/* Frees RESULT's buffer; safe on a zeroed result. */
void lyap_task_result_free(lyap_task_result *result);

/* Writes the schema (every variable: name(dims), storage, units, long_name,
 * comment) to OUT: `lyapdiag --help-output` and doc/DESIGN.md's list. */
void lyap_result_print_schema(FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_RESULT_H */
