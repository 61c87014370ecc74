/* trainout.c: the file of `lyapdiag train` (trainout.h), written as
 * ncout.c writes the phase diagram, through its file layer (ncfile.h). */
#define _XOPEN_SOURCE 700
#include "lyapdiag/trainout.h"

#include <errno.h>
#include <math.h>
#include <netcdf.h>
#include <netcdf_mem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "lyapdiag/error.h"
#include "lyapdiag/ncfile.h"
#include "lyapdiag/ncout.h"

enum { DIM_METHOD, DIM_WIDTH, DIM_DEPTH, DIM_SLOPE, DIM_OPTIMIZER, DIM_LR, DIM_SEED, DIM_RECORD, NDIMS };
#define TASK_DIMS 7

struct lyap_trainout_s {
    const lyap_deck *deck;
    const lyap_train_deck *t;
    long ntasks, ndone, checkpointed;
    int nrec;
    double *train_loss, *test_loss;          /* [ntasks][nrec] */
    double *final_test_loss, *initial_log_gain; /* [ntasks] */
    signed char *diverged, *done;            /* [ntasks] */
    int *steps_done;                         /* [ntasks] */
    char *path, *partial, *tmp, *lock, *history;
    int lock_fd;
    double last_checkpoint;
    const char *writing;                     /* the file a message names */
};

static double monotonic_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int check(int status, const lyap_trainout *o, const char *what)
{
    if (status == NC_NOERR)
        return LYAP_OK;
    return lyap_fail(LYAP_ENETCDF, "%s: %s: %s", o->writing, what, nc_strerror(status));
}

static char *join(const char *a, const char *b)
{
    char *s = malloc(strlen(a) + strlen(b) + 1);
    if (s)
        strcat(strcpy(s, a), b);
    return s;
}

/* ---- the schema ------------------------------------------------------------- */

static int text_attr(const lyap_trainout *o, int ncid, int varid, const char *name, const char *text)
{
    return check(nc_put_att_text(ncid, varid, name, strlen(text), text), o, name);
}

static const char *const dim_names[NDIMS] = {"method", "width", "depth", "slope", "optimizer", "learning_rate",
                                             "seed", "record"};

enum { V_TRAIN, V_TEST, V_FINAL, V_DIVERGED, V_GAIN, V_STEPS, V_DONE, NVARS };

/* The file's variables, one row each: the coordinates (one per dimension,
 * in dim_names' order), then the results over the task dimensions (and
 * record when per_record), in V_* order. Every one has a long_name; units
 * wherever the value has any ("1": a number, a count or a loss); int8
 * flags their CF flag_values and flag_meanings. */
typedef struct {
    const char *name;
    nc_type type;
    int per_record;
    const char *units, *long_name, *flag_meanings;
} variable_row;

static const variable_row coordinate_rows[NDIMS] = {
    {"method", NC_STRING, 0, NULL, "initialization of the hidden layers (THEORY.md \"Training\")", NULL},
    {"width", NC_INT, 0, "1", "network width d", NULL},
    {"depth", NC_INT, 0, "1", "hidden d x d layers L", NULL},
    {"slope", NC_DOUBLE, 0, "1", "Leaky ReLU slope a", NULL},
    {"optimizer", NC_STRING, 0, NULL, "optimizer (adam: PyTorch's Adam; sgd: heavy-ball momentum)", NULL},
    {"learning_rate", NC_DOUBLE, 0, "1", "learning rate", NULL},
    {"seed", NC_INT, 0, "1", "seed of the network and the data draws", NULL},
    {"step", NC_INT, 0, "1", "optimizer steps taken at the record (0 = at initialization)", NULL},
};

static const variable_row result_rows[NVARS] = {
    {"train_loss", NC_DOUBLE, 1, "1", "mean squared error on the training set at the record (NaN after a divergence)",
     NULL},
    {"test_loss", NC_DOUBLE, 1, "1", "mean squared error on the test set at the record (NaN after a divergence)",
     NULL},
    {"final_test_loss", NC_DOUBLE, 0, "1", "test loss after the last step (NaN if diverged)", NULL},
    {"diverged", NC_BYTE, 0, "1", "1: a non-finite loss stopped the task; 0: it ran every step; -1: not computed",
     "ran_every_step diverged"},
    {"initial_log_gain", NC_DOUBLE, 0, "1", "step 0: mean over the training inputs of log(|x_L|/|x_0|), hidden layers",
     NULL},
    {"steps_done", NC_INT, 0, "1", "optimizer steps taken (-1: not computed)", NULL},
    {"done", NC_BYTE, 0, "1", "task completion mask: 1 computed, 0 missing", "missing computed"},
};

/* Attributes of ROW's variable VARID: long_name, the fill value of
 * results, coordinates, units, flags. */
static int put_variable_attributes(const lyap_trainout *o, int ncid, int varid, const variable_row *row, int result)
{
    if (result && row->type == NC_DOUBLE) {
        double fill = NAN;
        LYAP_CALL(check(nc_def_var_fill(ncid, varid, 0, &fill), o, row->name));
    } else if (result && row->type == NC_BYTE) {
        signed char fill = -1;
        LYAP_CALL(check(nc_def_var_fill(ncid, varid, 0, &fill), o, row->name));
    } else if (result && row->type == NC_INT) {
        int fill = -1;
        LYAP_CALL(check(nc_def_var_fill(ncid, varid, 0, &fill), o, row->name));
    }
    LYAP_CALL(text_attr(o, ncid, varid, "long_name", row->long_name));
    if (row->per_record)
        LYAP_CALL(text_attr(o, ncid, varid, "coordinates", "step"));
    if (row->units)
        LYAP_CALL(text_attr(o, ncid, varid, "units", row->units));
    if (row->flag_meanings) {
        signed char values[2] = {0, 1};
        LYAP_CALL(check(nc_put_att_schar(ncid, varid, "flag_values", NC_BYTE, 2, values), o, "flag_values"));
        LYAP_CALL(text_attr(o, ncid, varid, "flag_meanings", row->flag_meanings));
    }
    return LYAP_OK;
}

static int put_attributes(const lyap_trainout *o, int ncid)
{
    const lyap_train_setup *s = &o->t->setup;
    char source[128];
    snprintf(source, sizeof source, "%s %s (lyapdiag train)", PACKAGE_NAME, PACKAGE_VERSION);
    LYAP_CALL(text_attr(o, ncid, NC_GLOBAL, "title", "lyapdiag train: deep narrow Leaky ReLU networks trained from "
                        "each initialization"));
    LYAP_CALL(text_attr(o, ncid, NC_GLOBAL, "Conventions", "CF-1.8"));
    LYAP_CALL(text_attr(o, ncid, NC_GLOBAL, "source", source));
    LYAP_CALL(text_attr(o, ncid, NC_GLOBAL, "history", o->history));
    LYAP_CALL(text_attr(o, ncid, NC_GLOBAL, "deck", o->deck->text));
    LYAP_CALL(text_attr(o, ncid, NC_GLOBAL, "deck_file", o->deck->name));
    LYAP_CALL(text_attr(o, ncid, NC_GLOBAL, "task", s->problem == LYAP_TRAIN_SCORE ? "score" : "polynomial"));
    LYAP_CALL(text_attr(o, ncid, NC_GLOBAL, "biases", s->biases ? "yes" : "no"));
    int ints[5] = {s->train_points, s->test_points, s->steps, s->batch, s->record_every};
    const char *int_names[5] = {"train_points", "test_points", "steps", "batch", "record_every"};
    for (int i = 0; i < 5; i++)
        LYAP_CALL(check(nc_put_att_int(ncid, NC_GLOBAL, int_names[i], NC_INT, 1, &ints[i]), o, int_names[i]));
    return LYAP_OK;
}

/* Defines the file open as NCID (define mode): dimensions, coordinates,
 * variables (ids in VARS, coordinate ids in COORDS). */
static int define(const lyap_trainout *o, int ncid, int *vars, int *coords)
{
    const lyap_train_deck *t = o->t;
    size_t lengths[NDIMS] = {(size_t)t->nmethods, (size_t)t->nwidths, (size_t)t->ndepths, (size_t)t->nslopes,
                             (size_t)t->noptimizers, (size_t)t->nlearning_rates, (size_t)t->nseeds,
                             (size_t)o->nrec};
    int dims[NDIMS];
    for (int d = 0; d < NDIMS; d++)
        LYAP_CALL(check(nc_def_dim(ncid, dim_names[d], lengths[d], &dims[d]), o, dim_names[d]));
    for (int d = 0; d < NDIMS; d++) {
        const variable_row *row = &coordinate_rows[d];
        LYAP_CALL(check(nc_def_var(ncid, row->name, row->type, 1, &dims[d], &coords[d]), o, row->name));
        LYAP_CALL(put_variable_attributes(o, ncid, coords[d], row, 0));
    }
    for (int v = 0; v < NVARS; v++) {
        const variable_row *row = &result_rows[v];
        LYAP_CALL(check(nc_def_var(ncid, row->name, row->type, row->per_record ? NDIMS : TASK_DIMS, dims, &vars[v]),
                        o, row->name));
        LYAP_CALL(put_variable_attributes(o, ncid, vars[v], row, 1));
    }
    LYAP_CALL(lyap_ncfile_add_checksums(ncid, o->writing));
    return put_attributes(o, ncid);
}

static int put_coordinates(const lyap_trainout *o, int ncid, const int *coords)
{
    const lyap_train_deck *t = o->t;
    const char *methods[LYAP_TRAIN_NMETHODS], *optimizers[LYAP_TRAIN_NOPTIMIZERS];
    for (int m = 0; m < t->nmethods; m++)
        methods[m] = lyap_train_method_name(t->methods[m]);
    for (int k = 0; k < t->noptimizers; k++)
        optimizers[k] = lyap_train_optimizer_name(t->optimizers[k]);
    LYAP_CALL(check(nc_put_var_string(ncid, coords[DIM_METHOD], methods), o, "method"));
    LYAP_CALL(check(nc_put_var_int(ncid, coords[DIM_WIDTH], t->widths), o, "width"));
    LYAP_CALL(check(nc_put_var_int(ncid, coords[DIM_DEPTH], t->depths), o, "depth"));
    LYAP_CALL(check(nc_put_var_double(ncid, coords[DIM_SLOPE], t->slopes), o, "slope"));
    LYAP_CALL(check(nc_put_var_string(ncid, coords[DIM_OPTIMIZER], optimizers), o, "optimizer"));
    LYAP_CALL(check(nc_put_var_double(ncid, coords[DIM_LR], t->learning_rates), o, "learning_rate"));
    int *ints = NULL;
    size_t n = (size_t)(t->nseeds > o->nrec ? t->nseeds : o->nrec);
    LYAP_CALL(lyap_alloc(&ints, n, sizeof *ints, "coordinates"));
    for (int i = 0; i < t->nseeds; i++)
        ints[i] = i;
    int status = check(nc_put_var_int(ncid, coords[DIM_SEED], ints), o, "seed");
    for (int r = 0; r < o->nrec; r++)
        ints[r] = r * t->setup.record_every;
    if (status == LYAP_OK)
        status = check(nc_put_var_int(ncid, coords[DIM_RECORD], ints), o, "step");
    free(ints);
    return status;
}

static int put_results(const lyap_trainout *o, int ncid, const int *vars)
{
    LYAP_CALL(check(nc_put_var_double(ncid, vars[V_TRAIN], o->train_loss), o, "train_loss"));
    LYAP_CALL(check(nc_put_var_double(ncid, vars[V_TEST], o->test_loss), o, "test_loss"));
    LYAP_CALL(check(nc_put_var_double(ncid, vars[V_FINAL], o->final_test_loss), o, "final_test_loss"));
    LYAP_CALL(check(nc_put_var_schar(ncid, vars[V_DIVERGED], o->diverged), o, "diverged"));
    LYAP_CALL(check(nc_put_var_double(ncid, vars[V_GAIN], o->initial_log_gain), o, "initial_log_gain"));
    LYAP_CALL(check(nc_put_var_int(ncid, vars[V_STEPS], o->steps_done), o, "steps_done"));
    return check(nc_put_var_schar(ncid, vars[V_DONE], o->done), o, "done");
}

/* Bytes of one snapshot, from above (as ncout.c's estimate). */
static double snapshot_bytes(const lyap_trainout *o)
{
    double values = (double)o->ntasks * (16.0 * o->nrec + 8 * 3 + 4 + 2);
    return values + (double)strlen(o->deck->text) + (double)strlen(o->history) + 4096.0 * (NVARS + NDIMS) + 65536.0;
}

/* The whole file to TARGET: built in memory, then ncfile's atomic write. */
static int write_snapshot(lyap_trainout *o, const char *target)
{
    NC_memio memio = {0};
    int ncid, vars[NVARS], coords[NDIMS];
    o->writing = o->tmp;
    int status = nc_create_mem(o->tmp, NC_NETCDF4, (size_t)snapshot_bytes(o), &ncid);
    if (status != NC_NOERR)
        return lyap_fail(LYAP_ENETCDF, "%s: cannot build the snapshot in memory (%s)", o->tmp, nc_strerror(status));
    status = define(o, ncid, vars, coords);
    if (status == LYAP_OK)
        status = check(nc_enddef(ncid), o, "enddef");
    if (status == LYAP_OK)
        status = put_coordinates(o, ncid, coords);
    if (status == LYAP_OK)
        status = put_results(o, ncid, vars);
    if (status == LYAP_OK)
        status = check(nc_close_memio(ncid, &memio), o, "close");
    else
        nc_abort(ncid);
    if (status == LYAP_OK)
        status = lyap_ncfile_write_atomic(o->path, o->partial, o->tmp, target, memio.memory, memio.size,
                                          o->checkpointed, o->ntasks, o->ndone);
    free(memio.memory);
    if (status == LYAP_OK && target == o->partial)
        o->checkpointed = o->ndone;
    o->last_checkpoint = monotonic_seconds();
    return status;
}

/* ---- resume ------------------------------------------------------------------- */

/* Reads variable NAME whole into BUF (of the file open as NCID). */
static int get(const lyap_trainout *o, int ncid, const char *name, nc_type type, void *buf)
{
    int varid;
    LYAP_CALL(check(nc_inq_varid(ncid, name, &varid), o, name));
    return check(type == NC_DOUBLE ? nc_get_var_double(ncid, varid, buf)
                 : type == NC_INT  ? nc_get_var_int(ncid, varid, buf)
                                   : nc_get_var_schar(ncid, varid, buf), o, name);
}

static void clear_task(lyap_trainout *o, long t)
{
    for (int r = 0; r < o->nrec; r++)
        o->train_loss[t * o->nrec + r] = o->test_loss[t * o->nrec + r] = NAN;
    o->final_test_loss[t] = o->initial_log_gain[t] = NAN;
    o->diverged[t] = -1;
    o->steps_done[t] = -1;
    o->done[t] = 0;
}

static int load_tasks(lyap_trainout *o, int ncid)
{
    LYAP_CALL(get(o, ncid, "done", NC_BYTE, o->done));
    LYAP_CALL(get(o, ncid, "train_loss", NC_DOUBLE, o->train_loss));
    LYAP_CALL(get(o, ncid, "test_loss", NC_DOUBLE, o->test_loss));
    LYAP_CALL(get(o, ncid, "final_test_loss", NC_DOUBLE, o->final_test_loss));
    LYAP_CALL(get(o, ncid, "diverged", NC_BYTE, o->diverged));
    LYAP_CALL(get(o, ncid, "initial_log_gain", NC_DOUBLE, o->initial_log_gain));
    LYAP_CALL(get(o, ncid, "steps_done", NC_INT, o->steps_done));
    o->ndone = 0;
    for (long t = 0; t < o->ntasks; t++) {
        if (o->done[t] != 1)
            clear_task(o, t);
        o->ndone += o->done[t];
    }
    return LYAP_OK;
}

/* A training checkpoint: the same deck, then its tasks. */
static int load_training_file(void *ctx, int ncid)
{
    lyap_trainout *o = ctx;
    LYAP_CALL(lyap_ncfile_same_deck(ncid, o->writing, o->deck, lyap_deck_parse_train, "is no training deck",
                                    "a checkpoint of `lyapdiag train`"));
    return load_tasks(o, ncid);
}

/* ---- nothing discarded unasked, room to write ---------------------------------- */

static int refuse_to_discard(const lyap_trainout *o)
{
    struct stat st;
    if (stat(o->partial, &st) != 0)
        return LYAP_OK;
    int ncid, varid, status = nc_open(o->partial, NC_NOWRITE, &ncid);
    if (status != NC_NOERR)
        return lyap_fail(LYAP_EIO, "%s exists and cannot be read (%s): a run without --resume would replace it; "
                         "move it aside (mv %s %s.damaged), or discard it with --overwrite", o->partial,
                         nc_strerror(status), o->partial, o->partial);
    long ndone = -1, total = -1;
    int ndims, dimids[NC_MAX_VAR_DIMS];
    if (nc_inq_varid(ncid, "done", &varid) == NC_NOERR &&
        nc_inq_var(ncid, varid, NULL, NULL, &ndims, dimids, NULL) == NC_NOERR) {
        size_t n = 1, len;
        for (int d = 0; d < ndims; d++)
            n *= nc_inq_dimlen(ncid, dimids[d], &len) == NC_NOERR ? len : 0;
        signed char *done = n ? calloc(n, 1) : NULL;
        if (done && nc_get_var_schar(ncid, varid, done) == NC_NOERR) {
            total = (long)n;
            ndone = 0;
            for (size_t i = 0; i < n; i++)
                ndone += done[i] == 1;
        }
        free(done);
    }
    nc_close(ncid);
    if (ndone < 0)
        return lyap_fail(LYAP_EIO, "%s holds the tasks of an earlier run, which cannot be counted; continue it with "
                         "--resume, or discard it with --overwrite", o->partial);
    return lyap_fail(LYAP_EIO, "%s holds %ld of %ld task%s finished by an earlier run; continue it with --resume, "
                     "or discard it with --overwrite", o->partial, ndone, total, lyap_plural(total));
}

/* ---- public ------------------------------------------------------------------- */

int lyap_trainout_open(const char *path, const lyap_deck *deck, const char *history, int mode,
                       const char **resumed_from, lyap_trainout **out)
{
    lyap_trainout *o;
    *out = NULL;
    *resumed_from = NULL;
    LYAP_CALL(lyap_alloc(&o, 1, sizeof *o, "training output"));
    o->lock_fd = -1;
    o->deck = deck;
    o->t = deck->train;
    o->ntasks = lyap_train_task_count(deck->train);
    o->nrec = lyap_train_records(&deck->train->setup);
    o->checkpointed = -1;
    o->path = join(path, "");
    o->partial = join(path, ".partial");
    o->tmp = join(path, ".partial.tmp");
    o->lock = join(path, ".lock");
    o->history = join(history, "");
    o->writing = path;
    size_t n = (size_t)o->ntasks;
    int status = (o->path && o->partial && o->tmp && o->lock && o->history)
                     ? LYAP_OK : lyap_fail(LYAP_ENOMEM, "%s: out of memory", path);
    if (status == LYAP_OK)
        status = lyap_ncfile_check_path(path, "train.nc");
    if (status == LYAP_OK)
        status = lyap_ncfile_lock(o->path, o->lock, &o->lock_fd);
    if (status == LYAP_OK && mode == LYAP_NCOUT_NEW)
        status = refuse_to_discard(o);
    if (status == LYAP_OK && mode == LYAP_NCOUT_NEW)
        status = lyap_ncfile_refuse_other_result(path, deck, lyap_deck_parse_train, "a training file");
    if (status == LYAP_OK)
        status = lyap_ncfile_check_room(o->path, o->partial, snapshot_bytes(o));
    if (status == LYAP_OK)
        status = lyap_alloc(&o->train_loss, n * (size_t)o->nrec, sizeof *o->train_loss, "training losses");
    if (status == LYAP_OK)
        status = lyap_alloc(&o->test_loss, n * (size_t)o->nrec, sizeof *o->test_loss, "test losses");
    if (status == LYAP_OK)
        status = lyap_alloc(&o->final_test_loss, n, sizeof *o->final_test_loss, "final test losses");
    if (status == LYAP_OK)
        status = lyap_alloc(&o->initial_log_gain, n, sizeof *o->initial_log_gain, "initial log gains");
    if (status == LYAP_OK)
        status = lyap_alloc(&o->diverged, n, 1, "divergence flags");
    if (status == LYAP_OK)
        status = lyap_alloc(&o->done, n, 1, "done mask");
    if (status == LYAP_OK)
        status = lyap_alloc(&o->steps_done, n, sizeof *o->steps_done, "steps done");
    for (long t = 0; status == LYAP_OK && t < o->ntasks; t++)
        clear_task(o, t);
    if (status == LYAP_OK && mode == LYAP_NCOUT_RESUME)
        status = lyap_ncfile_resume(o->partial, o->path, &o->writing, &o->history, load_training_file, o,
                                    resumed_from);
    if (status == LYAP_OK)
        status = write_snapshot(o, o->partial);
    if (status != LYAP_OK) {
        lyap_trainout_close(&o);
        return status;
    }
    *out = o;
    return LYAP_OK;
}

int lyap_trainout_is_done(const lyap_trainout *o, long task)
{
    return o->done[task] == 1;
}

long lyap_trainout_done_count(const lyap_trainout *o)
{
    return o->ndone;
}

const signed char *lyap_trainout_done_mask(const lyap_trainout *o)
{
    return o->done;
}

int lyap_trainout_store(lyap_trainout *o, long task, const lyap_train_result *r)
{
    if (r->nrecords != o->nrec)
        return lyap_fail(LYAP_EINTERNAL, "task %ld: %d records, the file has %d", task, r->nrecords, o->nrec);
    memcpy(o->train_loss + task * o->nrec, r->train_loss, (size_t)o->nrec * sizeof *r->train_loss);
    memcpy(o->test_loss + task * o->nrec, r->test_loss, (size_t)o->nrec * sizeof *r->test_loss);
    o->final_test_loss[task] = r->final_test_loss;
    o->initial_log_gain[task] = r->initial_log_gain;
    o->diverged[task] = (signed char)(r->diverged != 0);
    o->steps_done[task] = r->steps_done;
    o->ndone += o->done[task] != 1;
    o->done[task] = 1;
    if (monotonic_seconds() - o->last_checkpoint >= o->deck->checkpoint_seconds)
        return lyap_trainout_checkpoint(o);
    return LYAP_OK;
}

int lyap_trainout_checkpoint(lyap_trainout *o)
{
    return write_snapshot(o, o->partial);
}

int lyap_trainout_finish(lyap_trainout **o)
{
    LYAP_CALL(write_snapshot(*o, (*o)->path));
    if (remove((*o)->partial) != 0 && errno != ENOENT)
        return lyap_fail(LYAP_EIO, "%s: cannot remove checkpoint: %s", (*o)->partial, strerror(errno));
    lyap_trainout_close(o);
    return LYAP_OK;
}

void lyap_trainout_close(lyap_trainout **o)
{
    if (!o || !*o)
        return;
    if ((*o)->lock)
        lyap_ncfile_unlock((*o)->lock, &(*o)->lock_fd);
    free((*o)->train_loss);
    free((*o)->test_loss);
    free((*o)->final_test_loss);
    free((*o)->initial_log_gain);
    free((*o)->diverged);
    free((*o)->done);
    free((*o)->steps_done);
    free((*o)->path);
    free((*o)->partial);
    free((*o)->tmp);
    free((*o)->lock);
    free((*o)->history);
    free(*o);
    *o = NULL;
}

/* ---- lyapdiag info: a training file read back ------------------------------- */

#define TRAIN_INFO_READS "info reads the files lyapdiag run and lyapdiag train write (FILE, or its checkpoint " \
                         "FILE.partial)" /* ncout.c's INFO_READS */

static int summary_check(int status, const char *path, const char *what)
{
    if (status == NC_NOERR)
        return LYAP_OK;
    if (status == NC_ENOTVAR || status == NC_ENOTATT || status == NC_EBADDIM)
        return lyap_fail(LYAP_EIO, "%s: not a lyapdiag training file (it has no %s); " TRAIN_INFO_READS, path, what);
    return lyap_fail(LYAP_EIO, "%s: %s does not read back (%s): the file is damaged (a checksum or its structure "
                     "fails); rerun the deck, or resume it from its checkpoint", path, what, nc_strerror(status));
}

static int read_text(int ncid, const char *path, const char *name, char **text)
{
    size_t len;
    *text = NULL;
    LYAP_CALL(summary_check(nc_inq_attlen(ncid, NC_GLOBAL, name, &len), path, name));
    LYAP_CALL(lyap_alloc(text, len + 1, 1, name));
    return summary_check(nc_get_att_text(ncid, NC_GLOBAL, name, *text), path, name);
}

/* Coordinate NAME into a new array of TYPE (NC_INT, NC_DOUBLE, NC_STRING);
 * *N its length; NULL VALUES: the length only. */
static int read_coordinate(int ncid, const char *path, const char *name, nc_type type, size_t *n, void *values)
{
    int varid, ndims, dim;
    LYAP_CALL(summary_check(nc_inq_varid(ncid, name, &varid), path, name));
    LYAP_CALL(summary_check(nc_inq_varndims(ncid, varid, &ndims), path, name));
    if (ndims != 1)
        return lyap_fail(LYAP_EIO, "%s: not a lyapdiag training file (%s has %d dimensions, not 1); "
                         TRAIN_INFO_READS, path, name, ndims);
    LYAP_CALL(summary_check(nc_inq_vardimid(ncid, varid, &dim), path, name));
    LYAP_CALL(summary_check(nc_inq_dimlen(ncid, dim, n), path, name));
    if (!values)
        return LYAP_OK;
    size_t size = type == NC_STRING ? sizeof(char *) : type == NC_INT ? sizeof(int) : sizeof(double);
    LYAP_CALL(lyap_alloc(values, *n ? *n : 1, size, name));
    void *at = *(void **)values;
    return summary_check(type == NC_STRING ? nc_get_var_string(ncid, varid, at)
                         : type == NC_INT  ? nc_get_var_int(ncid, varid, at)
                                           : nc_get_var_double(ncid, varid, at), path, name);
}

/* Task variable NAME (TASK_DIMS dimensions, TASKS values) into OUT. */
static int read_tasks(int ncid, const char *path, const char *name, long tasks, void *out)
{
    int varid, ndims;
    size_t len, n = 1;
    int dims[NC_MAX_VAR_DIMS];
    LYAP_CALL(summary_check(nc_inq_varid(ncid, name, &varid), path, name));
    LYAP_CALL(summary_check(nc_inq_var(ncid, varid, NULL, NULL, &ndims, dims, NULL), path, name));
    for (int d = 0; d < ndims && ndims == TASK_DIMS; d++) {
        LYAP_CALL(summary_check(nc_inq_dimlen(ncid, dims[d], &len), path, name));
        n *= len;
    }
    if (ndims != TASK_DIMS || (long)n != tasks)
        return lyap_fail(LYAP_EIO, "%s: not a lyapdiag training file (%s is not over method, width, depth, slope, "
                         "optimizer, learning_rate, seed); " TRAIN_INFO_READS, path, name);
    return summary_check(strcmp(name, "final_test_loss") == 0 ? nc_get_var_double(ncid, varid, out)
                                                              : nc_get_var_schar(ncid, varid, out), path, name);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy.percentile's default (linear) of the N sorted values X at P%. */
static double percentile(const double *x, long n, double p)
{
    if (n == 0)
        return NAN;
    double at = p / 100 * (double)(n - 1), t;
    long lo = (long)floor(at), hi = lo + 1 < n ? lo + 1 : lo;
    t = at - (double)lo;
    /* numpy's _lerp: from the nearer end */
    return t >= 0.5 ? x[hi] - (x[hi] - x[lo]) * (1 - t) : x[lo] + (x[hi] - x[lo]) * t;
}

static int read_training_summary(int ncid, const char *path, lyap_trainout_summary *s)
{
    LYAP_CALL(read_text(ncid, path, "deck", &s->deck));
    LYAP_CALL(read_text(ncid, path, "deck_file", &s->deck_file));
    LYAP_CALL(read_text(ncid, path, "task", &s->task));
    if (read_text(ncid, path, "source", &s->source) != LYAP_OK) {
        free(s->source);
        s->source = NULL;
    }
    LYAP_CALL(summary_check(nc_get_att_int(ncid, NC_GLOBAL, "steps", &s->steps), path, "steps attribute"));
    LYAP_CALL(summary_check(nc_get_att_int(ncid, NC_GLOBAL, "record_every", &s->record_every), path,
                            "record_every attribute"));
    LYAP_CALL(read_coordinate(ncid, path, "method", NC_STRING, &s->nmethods, &s->methods));
    LYAP_CALL(read_coordinate(ncid, path, "width", NC_INT, &s->nwidths, &s->widths));
    LYAP_CALL(read_coordinate(ncid, path, "depth", NC_INT, &s->ndepths, &s->depths));
    LYAP_CALL(read_coordinate(ncid, path, "slope", NC_DOUBLE, &s->nslopes, &s->slopes));
    LYAP_CALL(read_coordinate(ncid, path, "optimizer", NC_STRING, &s->noptimizers, &s->optimizers));
    LYAP_CALL(read_coordinate(ncid, path, "learning_rate", NC_DOUBLE, &s->nlearning_rates, &s->learning_rates));
    LYAP_CALL(read_coordinate(ncid, path, "seed", NC_INT, &s->nseeds, NULL));
    s->configurations = (long)(s->nmethods * s->nwidths * s->ndepths * s->nslopes * s->noptimizers *
                               s->nlearning_rates);
    s->tasks = s->configurations * (long)s->nseeds;
    size_t n = s->tasks ? (size_t)s->tasks : 1, nc = s->configurations ? (size_t)s->configurations : 1;
    signed char *done = NULL, *diverged = NULL;
    double *final = NULL, *finite = NULL;
    int status = lyap_alloc(&done, n, 1, "done");
    if (status == LYAP_OK)
        status = lyap_alloc(&diverged, n, 1, "diverged");
    if (status == LYAP_OK)
        status = lyap_alloc(&final, n, sizeof *final, "final_test_loss");
    if (status == LYAP_OK)
        status = lyap_alloc(&finite, s->nseeds ? s->nseeds : 1, sizeof *finite, "final_test_loss");
    if (status == LYAP_OK)
        status = lyap_alloc(&s->finished, nc, sizeof *s->finished, "finished");
    if (status == LYAP_OK)
        status = lyap_alloc(&s->config_diverged, nc, sizeof *s->config_diverged, "diverged");
    if (status == LYAP_OK)
        status = lyap_alloc(&s->median, nc, sizeof *s->median, "median");
    if (status == LYAP_OK)
        status = lyap_alloc(&s->q25, nc, sizeof *s->q25, "q25");
    if (status == LYAP_OK)
        status = lyap_alloc(&s->q75, nc, sizeof *s->q75, "q75");
    if (status == LYAP_OK)
        status = read_tasks(ncid, path, "done", s->tasks, done);
    if (status == LYAP_OK)
        status = read_tasks(ncid, path, "diverged", s->tasks, diverged);
    if (status == LYAP_OK)
        status = read_tasks(ncid, path, "final_test_loss", s->tasks, final);
    for (long c = 0; status == LYAP_OK && c < s->configurations; c++) {
        long kept = 0;
        for (long k = c * (long)s->nseeds; k < (c + 1) * (long)s->nseeds; k++) {
            if (done[k] != 1)
                continue;
            s->finished[c]++;
            s->config_diverged[c] += diverged[k] == 1;
            if (diverged[k] != 1 && isfinite(final[k]))
                finite[kept++] = final[k];
        }
        qsort(finite, (size_t)kept, sizeof *finite, by_value);
        s->q25[c] = percentile(finite, kept, 25);
        s->median[c] = percentile(finite, kept, 50);
        s->q75[c] = percentile(finite, kept, 75);
        s->tasks_done += s->finished[c];
        s->diverged += s->config_diverged[c];
    }
    free(done);
    free(diverged);
    free(final);
    free(finite);
    return status;
}

int lyap_trainout_is_training_file(const char *path)
{
    int ncid, varid;
    if (nc_open(path, NC_NOWRITE, &ncid) != NC_NOERR)
        return 0;
    int yes = nc_inq_varid(ncid, "final_test_loss", &varid) == NC_NOERR &&
              nc_inq_varid(ncid, "train_loss", &varid) == NC_NOERR;
    nc_close(ncid);
    return yes;
}

int lyap_trainout_read_summary(const char *path, lyap_trainout_summary *summary)
{
    *summary = (lyap_trainout_summary){0};
    int ncid, status = nc_open(path, NC_NOWRITE, &ncid);
    if (status != NC_NOERR)
        return lyap_fail(LYAP_EIO, "%s: cannot read it as NetCDF (%s): not a NetCDF file, or damaged; "
                         TRAIN_INFO_READS, path, nc_strerror(status));
    status = read_training_summary(ncid, path, summary);
    nc_close(ncid);
    if (status != LYAP_OK)
        lyap_trainout_summary_free(summary);
    return status;
}

void lyap_trainout_summary_free(lyap_trainout_summary *s)
{
    if (s->methods)
        nc_free_string(s->nmethods, s->methods);
    if (s->optimizers)
        nc_free_string(s->noptimizers, s->optimizers);
    free(s->methods);
    free(s->optimizers);
    free(s->deck);
    free(s->deck_file);
    free(s->source);
    free(s->task);
    free(s->widths);
    free(s->depths);
    free(s->slopes);
    free(s->learning_rates);
    free(s->finished);
    free(s->config_diverged);
    free(s->median);
    free(s->q25);
    free(s->q75);
    *s = (lyap_trainout_summary){0};
}
