/* ncout.h: the NetCDF-4 phase diagram (DESIGN.md, "Output schema").
 *
 * The schema is one table, lyap_ncout_variables[], read by the writer and
 * by the tests. The file is written as PATH.partial and renamed to PATH
 * only when complete, so a file named PATH is never half-written.
 */
#ifndef LYAPDIAG_NCOUT_H
#define LYAPDIAG_NCOUT_H

#include <stddef.h>

#include "lyapdiag/deck.h"
#include "lyapdiag/estimate.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Dimensions of a data variable after (family, width, slope). */
typedef enum {
    LYAP_SHAPE_TASK,           /* (family, width, slope) */
    LYAP_SHAPE_VARIANCE,       /* (..., variance) */
    LYAP_SHAPE_DEPTH,          /* (..., depth) */
    LYAP_SHAPE_VARIANCE_DEPTH  /* (..., variance, depth) */
} lyap_shape;

typedef struct {
    const char *name;
    lyap_shape shape;
    int is_flag;          /* stored as int8 (phase, done), else float64 */
    size_t field;         /* offsetof the double* in lyap_task_result; SIZE_MAX: done */
    const char *units;
    const char *long_name;
    const char *comment;  /* NULL or how to read special values */
} lyap_ncout_variable;

extern const lyap_ncout_variable lyap_ncout_variables[];
extern const int lyap_ncout_nvariables;

typedef struct lyap_ncout_s lyap_ncout;

/* Creates PATH.partial with the full schema, coordinates and global
 * attributes (deck verbatim, sampling settings, HISTORY). Data read as NaN
 * (done = 0) until written. LYAP_EIO names the file, cause and fix. */
int lyap_ncout_create(const char *path, const lyap_deck *deck, const char *history, lyap_ncout **out);

/* Writes the results of TASK and marks it done. LYAP_ENETCDF on failure. */
int lyap_ncout_write_task(lyap_ncout *nc, long task, const lyap_task_result *result);

/* Closes the file and renames PATH.partial to PATH; frees *NC. */
int lyap_ncout_finish(lyap_ncout **nc);

/* Closes and deletes PATH.partial (a failed run leaves no file); frees *NC.
 * Safe on NULL. */
void lyap_ncout_abort(lyap_ncout **nc);

#ifdef __cplusplus
}
#endif
#endif /* LYAPDIAG_NCOUT_H */
