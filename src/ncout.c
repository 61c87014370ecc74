/* ncout.c: the phase diagram in memory and on disk (DESIGN.md, "Output
 * schema"). CF-1.8 style: every variable has units and long_name; phase
 * uses flag_values/flag_meanings; NaN is the fill value of missing data.
 *
 * Every write is a whole snapshot to a temporary file renamed over its
 * target (rename is atomic in POSIX), so neither the checkpoint PATH.partial
 * nor the final PATH can ever be seen half-written, even after SIGKILL: a
 * crash loses at most the tasks finished since the last checkpoint.
 *
 * Nothing finished is lost by mistake either: every variable carries an
 * HDF5 fletcher32 checksum, checked before a checkpoint is trusted; a run
 * holds an fcntl lock on PATH.lock, so two runs never interleave their
 * snapshots (the kernel drops it when the process dies); a new run will
 * not discard an existing PATH.partial unless told to; and the space the
 * snapshots need is checked before any work. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netcdf.h>
#include <netcdf_mem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "lyapdiag/error.h"
#include "lyapdiag/grid.h"
#include "lyapdiag/ncfile.h"
#include "lyapdiag/ncout.h"
#include "lyapdiag/pack.h"

/* The file's dimensions: the task axes, then result.h's axes in order. */
enum { DIM_FAMILY, DIM_WIDTH, DIM_SLOPE, DIM_RESULT, NDIMS = DIM_RESULT + LYAP_NAXES };
/* The result axes' dimensions, in lyap_result_axes order. */
enum { DIM_VARIANCE = DIM_RESULT, DIM_BIAS, DIM_DEPTH, DIM_SPECTRUM };

struct lyap_ncout_s {
    const lyap_deck *deck;
    lyap_result_dims dims;     /* of every task's result */
    long ntasks, ndone;
    long checkpointed;         /* tasks in PATH.partial as last written (-1: none written yet) */
    lyap_task_result *results; /* [ntasks], NaN until done */
    signed char *done;         /* [ntasks] */
    char *path, *partial, *tmp; /* PATH, PATH.partial, PATH.partial.tmp */
    char *history;
    double last_checkpoint;    /* monotonic seconds */
    /* the snapshot being written */
    int ncid;
    int *varid;                /* [lyap_result_nvariables] */
    int coord[NDIMS];          /* coordinate variables */
    const char *writing;       /* its file name, for messages */
    char *lock;                /* PATH.lock, held (fcntl) from open to close */
    int lock_fd;               /* -1 if not held */
    /* finished blocks of unfinished tasks (checkpoint only) */
    int *nblocks;              /* [ntasks] states kept per task */
    lyap_block_state **blocks; /* [ntasks] their states: views of sched's (borrowed) or of loaded */
    double *loaded;            /* the packed states read from a checkpoint (owned) */
    double **owned;            /* [ntasks] adopted states, packed (lyap_ncout_adopt_blocks) */
};

static double monotonic_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Turns a NetCDF status into LYAP_ENETCDF with the file and operation. */
static int nc_check(int status, const lyap_ncout *nc, const char *what)
{
    if (status == NC_NOERR)
        return LYAP_OK;
    return lyap_fail(LYAP_ENETCDF, "%s: %s: %s", nc->writing, what, nc_strerror(status));
}

static int put_text_attr(lyap_ncout *nc, int varid, const char *name, const char *text)
{
    return nc_check(nc_put_att_text(nc->ncid, varid, name, strlen(text), text), nc, name);
}

static int def_coordinate(lyap_ncout *nc, const char *name, nc_type type, int dim, const char *units,
                          const char *long_name, int *varid)
{
    LYAP_CALL(nc_check(nc_def_var(nc->ncid, name, type, 1, &dim, varid), nc, name));
    LYAP_CALL(put_text_attr(nc, *varid, "long_name", long_name));
    return units ? put_text_attr(nc, *varid, "units", units) : LYAP_OK;
}

/* Length of dimension I in this run's file. */
static size_t dim_length(const lyap_ncout *nc, int i)
{
    const lyap_deck *deck = nc->deck;
    const size_t task_axes[DIM_RESULT] = {(size_t)deck->nfamilies, (size_t)deck->nwidths, (size_t)deck->nslopes};
    return i < DIM_RESULT ? task_axes[i] : (size_t)lyap_result_axis_length(nc->dims, i - DIM_RESULT);
}

/* Defines VAR (row V of the schema) over the file's dimensions DIMS. */
static int define_variable(lyap_ncout *nc, int v, const int *dims)
{
    const lyap_result_variable *var = &lyap_result_variables[v];
    int vdims[NDIMS] = {dims[DIM_FAMILY], dims[DIM_WIDTH], dims[DIM_SLOPE]}, n = DIM_RESULT;
    unsigned axes = lyap_result_axes_of(var, nc->dims);
    for (int i = 0; i < LYAP_NAXES; i++)
        if (axes & (1u << i))
            vdims[n++] = dims[DIM_RESULT + i];
    int *id = &nc->varid[v], flag = var->storage == LYAP_STORE_FLAG;
    LYAP_CALL(nc_check(nc_def_var(nc->ncid, var->name, flag ? NC_BYTE : NC_DOUBLE, n, vdims, id), nc, var->name));
    if (var->field == LYAP_RESULT_DONE_MASK) { /* always written, no _FillValue, so it stays int8 */
        LYAP_CALL(nc_check(nc_def_var_fill(nc->ncid, *id, NC_NOFILL, NULL), nc, var->name));
    } else if (flag) {
        signed char fill = NC_FILL_BYTE;
        LYAP_CALL(nc_check(nc_def_var_fill(nc->ncid, *id, 0, &fill), nc, var->name));
    } else {
        double fill = NAN;
        LYAP_CALL(nc_check(nc_def_var_fill(nc->ncid, *id, 0, &fill), nc, var->name));
    }
    LYAP_CALL(put_text_attr(nc, *id, "long_name", var->long_name));
    LYAP_CALL(put_text_attr(nc, *id, "units", var->units));
    if (var->comment)
        LYAP_CALL(put_text_attr(nc, *id, "comment", var->comment));
    if (flag) {
        signed char values[8]; /* flag_min, flag_min + 1, ...: one per word of flag_meanings */
        size_t nflags = 1;
        for (const char *c = var->flag_meanings; *c && nflags < sizeof values; c++)
            nflags += *c == ' ';
        for (size_t i = 0; i < nflags; i++)
            values[i] = (signed char)(var->flag_min + (int)i);
        LYAP_CALL(nc_check(nc_put_att_schar(nc->ncid, *id, "flag_values", NC_BYTE, nflags, values), nc,
                           "flag_values"));
        LYAP_CALL(put_text_attr(nc, *id, "flag_meanings", var->flag_meanings));
    }
    return LYAP_OK;
}

static int define_schema(lyap_ncout *nc)
{
    static const struct {
        const char *name, *units, *long_name;
        nc_type type;
    } task_axes[DIM_RESULT] = {
        {"family", NULL, "weight family (THEORY.md)", NC_STRING},
        {"width", "1", "network width d", NC_INT},
        {"slope", "1", "Leaky ReLU negative-side slope a (0 = ReLU, 1 = linear)", NC_DOUBLE},
    };
    int dims[NDIMS];
    for (int i = 0; i < NDIMS; i++) {
        const char *name = i < DIM_RESULT ? task_axes[i].name : lyap_result_axes[i - DIM_RESULT].name;
        size_t length = dim_length(nc, i);
        if (length == 0) /* an axis that is off (the spectrum): its variables are absent */
            continue;
        LYAP_CALL(nc_check(nc_def_dim(nc->ncid, name, length, &dims[i]), nc, name));
        if (i < DIM_RESULT)
            LYAP_CALL(def_coordinate(nc, name, task_axes[i].type, dims[i], task_axes[i].units,
                                     task_axes[i].long_name, &nc->coord[i]));
        else
            LYAP_CALL(def_coordinate(nc, name, i == DIM_VARIANCE || i == DIM_BIAS ? NC_DOUBLE : NC_INT, dims[i],
                                     lyap_result_axes[i - DIM_RESULT].units,
                                     lyap_result_axes[i - DIM_RESULT].long_name, &nc->coord[i]));
    }
    for (int v = 0; v < lyap_result_nvariables; v++)
        if (lyap_result_is_present(&lyap_result_variables[v], nc->dims))
            LYAP_CALL(define_variable(nc, v, dims));
    return LYAP_OK;
}

/* Families outside the limit theorems' assumptions (doc/THEORY.md, "Weight
 * families": rademacher entries have no density) are allowed but flagged:
 * the attribute limit_theorems names them, or says none is. */
static int put_outside_theorems_note(lyap_ncout *nc)
{
    char note[512] = "";
    for (int i = 0; i < nc->deck->nfamilies; i++)
        if (!lyap_family_info_of(nc->deck->families[i])->limit_theorems)
            snprintf(note + strlen(note), sizeof note - strlen(note), "%s%s", note[0] ? ", " : "",
                     lyap_family_name(nc->deck->families[i]));
    if (!note[0])
        return put_text_attr(nc, NC_GLOBAL, "limit_theorems", "every family meets the assumptions of the limit "
                             "theorems of doc/THEORY.md");
    snprintf(note + strlen(note), sizeof note - strlen(note), ": outside the assumptions of the limit theorems of "
             "doc/THEORY.md (entries without a density); allowed and flagged: lambda and v are Monte Carlo "
             "estimates only, and networks can die exactly at any slope (see death_probability)");
    return put_text_attr(nc, NC_GLOBAL, "limit_theorems", note);
}

static int put_global_attributes(lyap_ncout *nc)
{
    const lyap_deck *deck = nc->deck;
    int g = NC_GLOBAL;
    char settings[512];
    LYAP_CALL(put_text_attr(nc, g, "title", "Phase diagram of deep random Leaky ReLU networks: Lyapunov "
                            "exponent, CLT variance and the vanishing/exploding boundary"));
    LYAP_CALL(put_text_attr(nc, g, "Conventions", "CF-1.8"));
    LYAP_CALL(put_text_attr(nc, g, "source", PACKAGE_NAME " " PACKAGE_VERSION));
    LYAP_CALL(put_text_attr(nc, g, "history", nc->history));
    LYAP_CALL(put_text_attr(nc, g, "deck", deck->text));
    LYAP_CALL(put_text_attr(nc, g, "deck_file", deck->name));
    snprintf(settings, sizeof settings, "%llu", (unsigned long long)deck->seed);
    LYAP_CALL(put_text_attr(nc, g, "seed", settings));
    LYAP_CALL(nc_check(nc_put_att_int(nc->ncid, g, "replicas", NC_INT, 1, &deck->replicas), nc, "replicas"));
    LYAP_CALL(nc_check(nc_put_att_int(nc->ncid, g, "batch", NC_INT, 1, &deck->batch), nc, "batch"));
    LYAP_CALL(nc_check(nc_put_att_double(nc->ncid, g, "target_stderr", NC_DOUBLE, 1, &deck->target_stderr),
                       nc, "target_stderr"));
    LYAP_CALL(put_text_attr(nc, g, "verify_homogeneity", deck->verify_homogeneity ? "yes" : "no"));
    char methods[256] = "";
    for (int i = 0; i < deck->nfamilies; i++)
        snprintf(methods + strlen(methods), sizeof methods - strlen(methods), "%s%s: %s", i ? ", " : "",
                 lyap_family_name(deck->families[i]),
                 lyap_method_name(deck->methods[i]));
    LYAP_CALL(put_text_attr(nc, g, "method", methods));
    LYAP_CALL(put_outside_theorems_note(nc));
    LYAP_CALL(put_text_attr(nc, g, "precision", deck->precision == LYAP_PRECISION_SINGLE
                                                    ? "single (matrix path in float, log-norms in double)"
                                                    : "double"));
    LYAP_CALL(put_text_attr(nc, g, "method_note",
                            "exact: each layer's log-norm increment drawn from its exact law (THEORY.md), "
                            "columns independent; matrix: fresh weights every layer (OpenBLAS GEMM), "
                            "activations renormalized every layer; both accumulate log-norms in double; "
                            "random streams: Random123 Philox4x32-10 (vectorized variates; Philox4x64-10 for rare gamma "
                            "retries) keyed by the seed and a hash of (family, width, slope, simulated variance), "
                            "counted by (replica, layer, purpose, column)"));
    LYAP_CALL(put_text_attr(nc, g, "variance_axis",
                            deck->verify_homogeneity
                                ? "every variance simulated with independent streams"
                                : "simulated at s2 = 1 and shifted exactly: lambda(s2) = lambda(1) + 0.5 log s2"));
    snprintf(settings, sizeof settings,
             "exact path: batch means over each input's increment series (i.i.d.), batch length "
             "floor(sqrt(L)) = %d, L = %d; matrix path: FFT autocorrelation of the series (long-run "
             "variance, Sokal's window c = 5; see autocorr_time)",
             lyap_estimate_clt_batch_length(deck->depths[deck->ndepths - 1]), deck->depths[deck->ndepths - 1]);
    LYAP_CALL(put_text_attr(nc, g, "clt_variance_method", settings));
    return nc_check(nc_put_att_double(nc->ncid, g, "eps", NC_DOUBLE, 1, &deck->eps), nc, "eps");
}

static int put_coordinates(lyap_ncout *nc)
{
    const lyap_deck *deck = nc->deck;
    const char *families[LYAP_FAMILY_COUNT];
    for (int i = 0; i < deck->nfamilies; i++)
        families[i] = lyap_family_name(deck->families[i]);
    LYAP_CALL(nc_check(nc_put_var_string(nc->ncid, nc->coord[DIM_FAMILY], families), nc, "family"));
    LYAP_CALL(nc_check(nc_put_var_int(nc->ncid, nc->coord[DIM_WIDTH], deck->widths), nc, "width"));
    LYAP_CALL(nc_check(nc_put_var_double(nc->ncid, nc->coord[DIM_SLOPE], deck->slopes), nc, "slope"));
    LYAP_CALL(nc_check(nc_put_var_double(nc->ncid, nc->coord[DIM_VARIANCE], deck->variances), nc, "variance"));
    if (nc->dims.nbias > 0)
        LYAP_CALL(nc_check(nc_put_var_double(nc->ncid, nc->coord[DIM_BIAS], deck->bias_variances), nc,
                           "bias_variance"));
    LYAP_CALL(nc_check(nc_put_var_int(nc->ncid, nc->coord[DIM_DEPTH], deck->depths), nc, "depth"));
    for (int i = 0; i < nc->dims.nspectrum; i++) {
        int index = i + 1;
        size_t at = (size_t)i;
        LYAP_CALL(nc_check(nc_put_var1_int(nc->ncid, nc->coord[DIM_SPECTRUM], &at, &index), nc, "spectrum_index"));
    }
    return LYAP_OK;
}


/* Number of values of variable VAR per task. */
static size_t values_per_task(const lyap_ncout *nc, const lyap_result_variable *var)
{
    return lyap_result_values_per_task(var, nc->dims);
}

/* Writes variable V of every task (NaN / fill for tasks not done). */
static int put_variable(lyap_ncout *nc, int v)
{
    const lyap_result_variable *var = &lyap_result_variables[v];
    size_t per = values_per_task(nc, var), total = per * (size_t)nc->ntasks;
    if (var->field == LYAP_RESULT_DONE_MASK)
        return nc_check(nc_put_var_schar(nc->ncid, nc->varid[v], nc->done), nc, var->name);
    if (var->storage == LYAP_STORE_REAL) {
        double *all;
        LYAP_CALL(lyap_alloc(&all, total, sizeof *all, var->name));
        for (long t = 0; t < nc->ntasks; t++)
            memcpy(all + per * (size_t)t, lyap_result_values(&nc->results[t], var), per * sizeof *all);
        int status = nc_check(nc_put_var_double(nc->ncid, nc->varid[v], all), nc, var->name);
        free(all);
        return status;
    }
    signed char *flags;
    LYAP_CALL(lyap_alloc(&flags, total, 1, var->name));
    for (long t = 0; t < nc->ntasks; t++)
        for (size_t i = 0; i < per; i++)
        {
            double x = lyap_result_values(&nc->results[t], var)[i];
            flags[per * (size_t)t + i] = nc->done[t] && !isnan(x) ? (signed char)x : NC_FILL_BYTE;
        }
    int status = nc_check(nc_put_var_schar(nc->ncid, nc->varid[v], flags), nc, var->name);
    free(flags);
    return status;
}

/* ---- block states of unfinished tasks (checkpoints only) --------------------
 * block_task(block_entry): the task of each kept state; block_length
 * (block_entry): its doubles; block_state(block_value): the states one
 * after the other, packed (pack.h). Left out when no block is kept, and
 * from the final file (every task is finished there). The states are
 * sched's, borrowed (lyap_ncout_store_blocks): packed into one image only
 * when a snapshot is written. */

typedef struct {
    long entries;
    size_t values;
    long long *task, *length;
    double *all;
} block_image;

static void free_image(block_image *image)
{
    free(image->task);
    free(image->length);
    free(image->all);
    *image = (block_image){0};
}

static int build_image(const lyap_ncout *nc, block_image *image)
{
    size_t bound = 0;
    *image = (block_image){0};
    for (long t = 0; nc->nblocks && t < nc->ntasks; t++)
        for (int i = 0; i < nc->nblocks[t]; i++) {
            const lyap_block_state *b = &nc->blocks[t][i];
            image->entries++;
            bound += b->packed ? b->length : lyap_pack_bound(b->length);
        }
    if (image->entries == 0)
        return LYAP_OK;
    int status = lyap_alloc(&image->task, (size_t)image->entries, sizeof *image->task, "block tasks");
    if (status == LYAP_OK)
        status = lyap_alloc(&image->length, (size_t)image->entries, sizeof *image->length, "block lengths");
    if (status == LYAP_OK)
        status = lyap_alloc(&image->all, bound, sizeof *image->all, "block states");
    for (long t = 0, e = 0; status == LYAP_OK && t < nc->ntasks; t++)
        for (int i = 0; i < nc->nblocks[t]; i++, e++) {
            const lyap_block_state *b = &nc->blocks[t][i];
            double *at = image->all + image->values;
            size_t n = b->packed ? b->length : lyap_pack(b->values, b->length, at);
            if (b->packed)
                memcpy(at, b->values, n * sizeof *at);
            image->task[e] = t;
            image->length[e] = (long long)n;
            image->values += n;
        }
    if (status != LYAP_OK)
        free_image(image);
    return status;
}

static int define_blocks(lyap_ncout *nc, const block_image *image, int *vars)
{
    vars[0] = -1;
    if (image->entries == 0)
        return LYAP_OK;
    int dims[2];
    LYAP_CALL(nc_check(nc_def_dim(nc->ncid, "block_entry", (size_t)image->entries, &dims[0]), nc, "block_entry"));
    LYAP_CALL(nc_check(nc_def_dim(nc->ncid, "block_value", image->values, &dims[1]), nc, "block_value"));
    LYAP_CALL(nc_check(nc_def_var(nc->ncid, "block_task", NC_INT64, 1, &dims[0], &vars[0]), nc, "block_task"));
    LYAP_CALL(nc_check(nc_def_var(nc->ncid, "block_length", NC_INT64, 1, &dims[0], &vars[1]), nc, "block_length"));
    LYAP_CALL(nc_check(nc_def_var(nc->ncid, "block_state", NC_DOUBLE, 1, &dims[1], &vars[2]), nc, "block_state"));
    LYAP_CALL(put_text_attr(nc, vars[0], "long_name", "task (family-major, slope fastest) of each kept block state"));
    LYAP_CALL(put_text_attr(nc, vars[1], "long_name", "doubles of each kept block state in block_state"));
    return put_text_attr(nc, vars[2], "long_name", "finished replica blocks of unfinished tasks, for --resume "
                         "(lyapdiag's block states, packed; doc/DESIGN.md, MPI)");
}

static int put_blocks(lyap_ncout *nc, const block_image *image, const int *vars)
{
    if (vars[0] < 0)
        return LYAP_OK;
    LYAP_CALL(nc_check(nc_put_var_longlong(nc->ncid, vars[0], image->task), nc, "block_task"));
    LYAP_CALL(nc_check(nc_put_var_longlong(nc->ncid, vars[1], image->length), nc, "block_length"));
    return nc_check(nc_put_var_double(nc->ncid, vars[2], image->all), nc, "block_state");
}

static void drop_blocks(lyap_ncout *nc, long task)
{
    free(nc->owned[task]);
    nc->owned[task] = NULL;
    free(nc->blocks[task]);
    nc->blocks[task] = NULL;
    nc->nblocks[task] = 0;
}

/* Replaces TASK's kept states by views of STATES (the values are borrowed). */
static int keep_blocks(lyap_ncout *nc, long task, int n, const lyap_block_state *states)
{
    drop_blocks(nc, task);
    if (n == 0)
        return LYAP_OK;
    LYAP_CALL(lyap_alloc(&nc->blocks[task], (size_t)n, sizeof **nc->blocks, "kept blocks"));
    memcpy(nc->blocks[task], states, (size_t)n * sizeof *states);
    nc->nblocks[task] = n;
    return LYAP_OK;
}

/* Copies TASK's states, packed, into one buffer it owns. */
static int adopt(lyap_ncout *nc, long task)
{
    size_t bound = 0, at = 0;
    for (int i = 0; i < nc->nblocks[task]; i++) {
        const lyap_block_state *b = &nc->blocks[task][i];
        bound += b->packed ? b->length : lyap_pack_bound(b->length);
    }
    if (bound == 0 || nc->owned[task])
        return LYAP_OK;
    double *copy;
    LYAP_CALL(lyap_alloc(&copy, bound, sizeof *copy, "kept blocks"));
    for (int i = 0; i < nc->nblocks[task]; i++) {
        lyap_block_state *b = &nc->blocks[task][i];
        size_t n = b->packed ? b->length : lyap_pack(b->values, b->length, copy + at);
        if (b->packed)
            memcpy(copy + at, b->values, n * sizeof *copy);
        *b = (lyap_block_state){n, copy + at, 1};
        at += n;
    }
    nc->owned[task] = copy;
    return LYAP_OK;
}

/* Loads the kept block states of FILE (open as NCID), if it has any. */
static int load_blocks(lyap_ncout *nc, int ncid)
{
    int vars[3], dims[1];
    size_t entries, values;
    if (nc_inq_varid(ncid, "block_task", &vars[0]) != NC_NOERR)
        return LYAP_OK;
    LYAP_CALL(nc_check(nc_inq_varid(ncid, "block_length", &vars[1]), nc, "block_length"));
    LYAP_CALL(nc_check(nc_inq_varid(ncid, "block_state", &vars[2]), nc, "block_state"));
    LYAP_CALL(nc_check(nc_inq_vardimid(ncid, vars[0], dims), nc, "block_task"));
    LYAP_CALL(nc_check(nc_inq_dimlen(ncid, dims[0], &entries), nc, "block_entry"));
    LYAP_CALL(nc_check(nc_inq_vardimid(ncid, vars[2], dims), nc, "block_state"));
    LYAP_CALL(nc_check(nc_inq_dimlen(ncid, dims[0], &values), nc, "block_value"));
    long long *task = NULL, *length = NULL;
    double *all = NULL;
    int status = lyap_alloc(&task, entries, sizeof *task, "block tasks");
    if (status == LYAP_OK)
        status = lyap_alloc(&length, entries, sizeof *length, "block lengths");
    if (status == LYAP_OK)
        status = lyap_alloc(&all, values, sizeof *all, "block states");
    if (status == LYAP_OK)
        status = nc_check(nc_get_var_longlong(ncid, vars[0], task), nc, "block_task");
    if (status == LYAP_OK)
        status = nc_check(nc_get_var_longlong(ncid, vars[1], length), nc, "block_length");
    if (status == LYAP_OK)
        status = nc_check(nc_get_var_double(ncid, vars[2], all), nc, "block_state");
    size_t at = 0;
    for (size_t e = 0; status == LYAP_OK && e < entries; e++) {
        long t = (long)task[e];
        if (t < 0 || t >= nc->ntasks || length[e] < 0 || at + (size_t)length[e] > values) {
            status = lyap_fail(LYAP_EIO, "%s: its block states do not fit its tasks; move it aside and run again",
                               nc->writing);
            break;
        }
        if (!nc->done[t]) { /* append a view of it to the task's list */
            lyap_block_state *list = realloc(nc->blocks[t], (size_t)(nc->nblocks[t] + 1) * sizeof *list);
            if (!list) {
                status = lyap_fail(LYAP_ENOMEM, "out of memory loading block states");
                break;
            }
            list[nc->nblocks[t]++] = (lyap_block_state){(size_t)length[e], all + at, 1};
            nc->blocks[t] = list;
        }
        at += (size_t)length[e];
    }
    free(task);
    free(length);
    free(nc->loaded);
    nc->loaded = all; /* the views point into it */
    return status;
}

/* Gives every variable of the file open as NCID in define mode an HDF5
 * fletcher32 checksum, so that a damaged value fails to read instead of
 * being trusted (load_checkpoint). Strings are left out: HDF5 would check
 * only their heap references, and NetCDF refuses filters on them. */
static int add_checksums(int ncid, const char *file)
{
    int nvars;
    int status = nc_inq_nvars(ncid, &nvars);
    for (int v = 0; status == NC_NOERR && v < nvars; v++) {
        nc_type type;
        status = nc_inq_vartype(ncid, v, &type);
        if (status == NC_NOERR && type != NC_STRING)
            status = nc_def_var_fletcher32(ncid, v, NC_FLETCHER32);
    }
    return status == NC_NOERR ? LYAP_OK : lyap_fail(LYAP_ENETCDF, "%s: checksums: %s", file, nc_strerror(status));
}

/* The mount point of the file system holding PATH's directory (the path
 * itself if it cannot tell), for messages about space. */
static void file_system_of(const char *dir, char *out, size_t size)
{
    char here[PATH_MAX], up[PATH_MAX + 3];
    struct stat st, parent;
    snprintf(out, size, "%s", dir);
    if (!realpath(dir, here) || stat(here, &st) != 0)
        return;
    for (;;) {
        snprintf(up, sizeof up, "%s/..", here);
        char *slash = strrchr(here, '/');
        if (strcmp(here, "/") == 0 || stat(up, &parent) != 0 || parent.st_dev != st.st_dev)
            break;
        if (slash == here)
            slash[1] = '\0';
        else
            *slash = '\0';
    }
    snprintf(out, size, "%s", here);
}

/* The directory of PATH ("." if none), in BUF. */
static void directory_of(const char *path, char *buf, size_t size)
{
    snprintf(buf, size, "%s", path);
    char *slash = strrchr(buf, '/');
    if (!slash)
        snprintf(buf, size, ".");
    else if (slash == buf)
        slash[1] = '\0';
    else
        *slash = '\0';
}

/* Free bytes for an unprivileged writer in DIR's file system, or -1. */
static double free_bytes(const char *dir)
{
    struct statvfs fs;
    return statvfs(dir, &fs) == 0 ? (double)fs.f_bavail * (double)fs.f_frsize : -1;
}

/* Bytes of one snapshot, from above: 8 per value and task (the int8
 * variables counted as doubles), the deck and history text, and HDF5's
 * headers, B-trees and checksums (measured: under 2 KB per variable and
 * 20 KB per file; 4 and 64 taken). */
static double snapshot_bytes(const lyap_ncout *nc, const block_image *image)
{
    double values = 8.0 * (double)nc->ntasks * (double)lyap_task_result_length(nc->dims) + (double)nc->ntasks;
    double text = (double)strlen(nc->deck->text) + (double)strlen(nc->history);
    values += 8.0 * (double)image->values + 16.0 * (double)image->entries;
    return values + text + 4096.0 * (lyap_result_nvariables + NDIMS) + 65536.0;
}

/* Writes the SIZE bytes at DATA to the new file TMP and syncs them to
 * disk. errno-level failures are kept exact: a full file system is named
 * in plain words, with the bytes needed and free. TMP is removed on failure. */
static int write_file(const lyap_ncout *nc, const char *tmp, const char *target, const void *data, size_t size)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), err = 0;
    if (fd < 0)
        return lyap_fail(LYAP_EIO, "%s: cannot write output (%s while creating %s); choose a writable path "
                         "with [output] file or --output", nc->path, strerror(errno), tmp);
    for (size_t done = 0; done < size && !err;) {
        ssize_t n = write(fd, (const char *)data + done, size - done);
        if (n < 0 && errno != EINTR)
            err = errno;
        done += n > 0 ? (size_t)n : 0;
    }
    if (!err && fsync(fd) != 0)
        err = errno;
    if (close(fd) != 0 && !err)
        err = errno;
    if (!err)
        return LYAP_OK;
    remove(tmp);
    if (err != ENOSPC && err != EDQUOT)
        return lyap_fail(LYAP_EIO, "%s: cannot write %s (%s); choose a writable path with [output] file or "
                         "--output", nc->path, tmp, strerror(err));
    char dir[PATH_MAX], fs[PATH_MAX];
    directory_of(nc->path, dir, sizeof dir);
    file_system_of(dir, fs, sizeof fs);
    char kept[PATH_MAX + 160] = "no checkpoint was written yet";
    if (nc->checkpointed >= 0)
        snprintf(kept, sizeof kept, "the last checkpoint %s is intact with %ld of %ld task%s (%ld finished since "
                 "then are lost)", nc->partial, nc->checkpointed, nc->ntasks, lyap_plural(nc->ntasks),
                 nc->ndone - nc->checkpointed);
    return lyap_fail(LYAP_EIO, "file system %s is full%s: writing %s needs %zu bytes but only %.0f are free; %s: "
                     "free some space on %s, then run again with --resume", fs, err == EDQUOT ? " (quota)" : "",
                     target, size, free_bytes(dir), kept, fs);
}

/* Writes the whole diagram to TARGET via nc->tmp and an atomic rename.
 * NetCDF builds the file in memory and write_file puts it on disk: HDF5
 * never meets a full disk (its failed close left the file half-closed,
 * and both its exit handler and nc_abort then crashed), and the cause of a
 * failed write keeps its errno. TARGET keeps its previous snapshot on
 * failure. */
static int write_snapshot(lyap_ncout *nc, const char *target)
{
    NC_memio memio = {0};
    block_image blocks = {0};
    nc->writing = nc->tmp;
    if (strcmp(target, nc->path) != 0) /* the final file keeps no blocks */
        LYAP_CALL(build_image(nc, &blocks));
    int status = nc_create_mem(nc->tmp, NC_NETCDF4, (size_t)snapshot_bytes(nc, &blocks), &nc->ncid);
    if (status != NC_NOERR) {
        free_image(&blocks);
        return lyap_fail(LYAP_ENETCDF, "%s: cannot build the snapshot in memory (%s)", nc->tmp, nc_strerror(status));
    }
    int block_vars[3] = {-1, -1, -1};
    status = define_schema(nc);
    if (status == LYAP_OK)
        status = define_blocks(nc, &blocks, block_vars);
    if (status == LYAP_OK)
        status = add_checksums(nc->ncid, nc->writing);
    if (status == LYAP_OK)
        status = put_global_attributes(nc);
    if (status == LYAP_OK)
        status = nc_check(nc_enddef(nc->ncid), nc, "enddef");
    if (status == LYAP_OK)
        status = put_coordinates(nc);
    for (int v = 0; status == LYAP_OK && v < lyap_result_nvariables; v++)
        status = lyap_result_is_present(&lyap_result_variables[v], nc->dims) ? put_variable(nc, v) : LYAP_OK;
    if (status == LYAP_OK)
        status = put_blocks(nc, &blocks, block_vars);
    free_image(&blocks);
    if (status == LYAP_OK)
        status = nc_check(nc_close_memio(nc->ncid, &memio), nc, "close");
    else
        nc_abort(nc->ncid);
    if (status == LYAP_OK)
        status = write_file(nc, nc->tmp, target, memio.memory, memio.size);
    free(memio.memory);
    if (status == LYAP_OK && rename(nc->tmp, target) != 0) {
        status = lyap_fail(LYAP_EIO, "%s: cannot rename to %s: %s", nc->tmp, target, strerror(errno));
        remove(nc->tmp);
    }
    if (status == LYAP_OK && target == nc->partial)
        nc->checkpointed = nc->ndone;
    nc->last_checkpoint = monotonic_seconds();
    return status;
}

static char *join(const char *a, const char *b)
{
    char *s = malloc(strlen(a) + strlen(b) + 1);
    if (s)
        strcat(strcpy(s, a), b);
    return s;
}

/* ---- resume ------------------------------------------------------------------ */

static int read_text_attr(int ncid, const char *name, char **text)
{
    size_t len;
    int status = nc_inq_attlen(ncid, NC_GLOBAL, name, &len);
    if (status != NC_NOERR)
        return status;
    *text = calloc(len + 1, 1);
    if (!*text)
        return NC_ENOMEM;
    return nc_get_att_text(ncid, NC_GLOBAL, name, *text);
}

/* Checks that FILE (open as NCID) was made by DECK, naming the first key
 * that differs; its stored deck is read with PARSE (the run's or the
 * training deck's parser), and one that does not parse is NOT_WHAT ("does
 * not parse") and not a checkpoint of KIND. */
/* The first deck key (a lyap_deck_first_difference string) in which the
 * deck stored in FILE's attributes differs from DECK, in *KEY (NULL: none). */
static int stored_deck_difference(int ncid, const char *file, const lyap_deck *deck,
                                  int (*parse)(const char *text, const char *name, lyap_deck *deck),
                                  const char *not_what, const char *kind, const char **key)
{
    char *text = NULL;
    lyap_deck stored;
    int status = read_text_attr(ncid, "deck", &text);
    if (status != NC_NOERR)
        return lyap_fail(LYAP_ENETCDF, "%s: deck attribute: %s", file, nc_strerror(status));
    status = parse(text, file, &stored) == LYAP_OK
                 ? LYAP_OK
                 : lyap_fail(LYAP_EIO, "%s: its stored deck %s (%s); not %s?", file, not_what, lyap_error_message(),
                             kind);
    free(text);
    if (status != LYAP_OK)
        return status;
    *key = lyap_deck_first_difference(deck, &stored);
    lyap_deck_free(&stored);
    return LYAP_OK;
}

static int same_deck(int ncid, const char *file, const lyap_deck *deck,
                     int (*parse)(const char *text, const char *name, lyap_deck *deck), const char *not_what,
                     const char *kind)
{
    const char *key = NULL;
    LYAP_CALL(stored_deck_difference(ncid, file, deck, parse, not_what, kind, &key));
    if (key)
        return lyap_fail(LYAP_EDECK, "%s: %s differs from the deck that started this run; resume with that "
                         "deck, or start afresh with --overwrite", file, key);
    return LYAP_OK;
}

/* Loads the finished tasks of FILE (open as NCID) into memory. */
static int load_tasks(lyap_ncout *nc, int ncid)
{
    for (int v = 0; v < lyap_result_nvariables; v++) {
        const lyap_result_variable *var = &lyap_result_variables[v];
        size_t per = values_per_task(nc, var);
        int varid;
        if (!lyap_result_is_present(var, nc->dims))
            continue;
        double *all;
        int found = nc_inq_varid(ncid, var->name, &varid);
        if (found == NC_ENOTVAR)
            return lyap_fail(LYAP_EIO, "%s: has no variable %s: written by an older lyapdiag; finish it with that "
                             "version, or move it aside and start afresh with --overwrite", nc->writing, var->name);
        LYAP_CALL(nc_check(found, nc, var->name));
        LYAP_CALL(lyap_alloc(&all, per * (size_t)nc->ntasks, sizeof *all, var->name));
        int status = nc_check(nc_get_var_double(ncid, varid, all), nc, var->name);
        for (long t = 0; status == LYAP_OK && t < nc->ntasks; t++) {
            if (var->field == LYAP_RESULT_DONE_MASK)
                nc->done[t] = all[t] == 1;
            else
                memcpy(lyap_result_values(&nc->results[t], var), all + per * (size_t)t, per * sizeof *all);
        }
        free(all);
        LYAP_CALL(status);
    }
    /* Tasks not done keep NaN: what was read for them is fill. */
    nc->ndone = 0;
    for (long t = 0; t < nc->ntasks; t++) {
        if (!nc->done[t])
            for (size_t i = 0; i < nc->results[t].length; i++)
                nc->results[t].buf[i] = NAN;
        nc->ndone += nc->done[t];
    }
    return LYAP_OK;
}

/* Reads every variable of FILE (open as NCID) whole, so that HDF5 checks
 * each one's fletcher32 checksum: a flipped bit anywhere in the values
 * fails here, naming the variable, before anything is trusted. The file is
 * kept for inspection (never deleted, never advised to be). */
static int verify_checksums(int ncid, const char *file)
{
    int nvars, status = nc_inq_nvars(ncid, &nvars);
    for (int v = 0; status == NC_NOERR && v < nvars; v++) {
        char name[NC_MAX_NAME + 1] = "?";
        int ndims, dimids[NC_MAX_VAR_DIMS];
        nc_type type;
        size_t n = 1, len, size;
        void *values;
        status = nc_inq_var(ncid, v, name, &type, &ndims, dimids, NULL);
        for (int d = 0; status == NC_NOERR && d < ndims; d++) {
            status = nc_inq_dimlen(ncid, dimids[d], &len);
            n *= len;
        }
        if (status == NC_NOERR)
            status = nc_inq_type(ncid, type, NULL, &size);
        if (status != NC_NOERR)
            break;
        if (lyap_alloc(&values, n, type == NC_STRING ? sizeof(char *) : size, name) != LYAP_OK)
            return LYAP_ENOMEM;
        status = nc_get_var(ncid, v, values);
        if (status == NC_NOERR && type == NC_STRING)
            nc_free_string(n, values);
        free(values);
        if (status != NC_NOERR)
            return lyap_fail(LYAP_EIO, "%s: variable %s does not read back (%s): the file is damaged (a checksum "
                             "or its structure fails); it is kept for inspection: move it aside (mv %s %s.damaged) "
                             "and run again, which computes its tasks anew", file, name, nc_strerror(status), file,
                             file);
    }
    if (status != NC_NOERR)
        return lyap_fail(LYAP_EIO, "%s: its variables cannot be listed (%s): the file is damaged; it is kept for "
                         "inspection: move it aside (mv %s %s.damaged) and run again", file, nc_strerror(status),
                         file, file);
    return LYAP_OK;
}

/* Resumes from PARTIAL, else from a complete PATH (*FOUND names which;
 * NULL if neither exists): a file is opened, its checksums are verified,
 * LOAD(CTX, ncid) reads it (its deck, its tasks), and *HISTORY gains the
 * earlier runs' lines in front. *WRITING names the file being read, for
 * the messages of LOAD. */
static int resume_from(const char *partial, const char *path, const char **writing, char **history,
                       int (*load)(void *ctx, int ncid), void *ctx, const char **found)
{
    const char *candidates[2] = {partial, path};
    *found = NULL;
    for (int i = 0; i < 2 && !*found; i++) {
        int ncid, status = nc_open(candidates[i], NC_NOWRITE, &ncid);
        *writing = candidates[i];
        if (status == ENOENT)
            continue;
        if (status != NC_NOERR)
            return lyap_fail(LYAP_EIO, "%s: cannot read it to resume (%s): it is damaged or not a lyapdiag file; it "
                             "is kept for inspection: move it aside (mv %s %s.damaged) and run again",
                             candidates[i], nc_strerror(status), candidates[i], candidates[i]);
        char *old_history = NULL;
        status = verify_checksums(ncid, candidates[i]);
        if (status == LYAP_OK)
            status = load(ctx, ncid);
        if (status == LYAP_OK && read_text_attr(ncid, "history", &old_history) == NC_NOERR) {
            char *joined = malloc(strlen(old_history) + strlen(*history) + 2);
            if (joined) {
                sprintf(joined, "%s\n%s", old_history, *history);
                free(*history);
                *history = joined;
            }
        }
        free(old_history);
        nc_close(ncid);
        LYAP_CALL(status);
        *found = candidates[i];
    }
    return LYAP_OK;
}

/* A phase diagram's checkpoint: the same deck, its tasks, its blocks. */
static int load_phase_file(void *ctx, int ncid)
{
    lyap_ncout *nc = ctx;
    LYAP_CALL(same_deck(ncid, nc->writing, nc->deck, lyap_deck_parse, "does not parse", "a lyapdiag checkpoint"));
    LYAP_CALL(load_tasks(nc, ncid));
    return load_blocks(nc, ncid);
}

/* PATH must name a file in an existing directory: checked before any
 * work, with the real cause (NetCDF reports a missing directory as
 * "Permission denied"). */
static int check_output_path(const char *path, const char *example)
{
    struct stat st;
    size_t n = strlen(path);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return lyap_fail(LYAP_EIO, "%s: is a directory; give a file name with [output] file or --output "
                         "(e.g. %s%s%s)", path, path, n && path[n - 1] == '/' ? "" : "/", example);
    char dir[PATH_MAX];
    directory_of(path, dir, sizeof dir);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return lyap_fail(LYAP_EIO, "%s: directory %s does not exist; create it or choose another path "
                         "with [output] file or --output", path, dir);
    return LYAP_OK;
}

/* ---- one run per output, nothing discarded unasked, room to write ----------- */

/* Takes the advisory write lock on PATH.lock (fcntl: the kernel drops it
 * when the process ends, even by SIGKILL, so it cannot outlive a run) and
 * writes "pid host" into it for the message of a refused second run. */
static int acquire_lock(lyap_ncout *nc)
{
    for (int attempt = 0; attempt < 10; attempt++) {
        int fd = open(nc->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return lyap_fail(LYAP_EIO, "%s: cannot create the lock file %s (%s); choose a writable directory with "
                             "[output] file or --output", nc->path, nc->lock, strerror(errno));
        struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        if (fcntl(fd, F_SETLK, &lock) != 0) {
            int err = errno;
            char holder[300] = "";
            struct flock probe = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
            ssize_t got = read(fd, holder, sizeof holder - 1);
            holder[got > 0 ? got : 0] = '\0';
            holder[strcspn(holder, "\n")] = '\0';
            long pid = 0;
            char host[256] = "";
            if (sscanf(holder, "%ld %255s", &pid, host) < 1)
                pid = 0;
            if (fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK && probe.l_pid > 0 &&
                (!host[0] || pid == 0))
                pid = probe.l_pid;
            close(fd);
            if (err != EACCES && err != EAGAIN)
                return lyap_fail(LYAP_EIO, "%s: cannot lock %s (%s); choose a file system with working locks "
                                 "with [output] file or --output", nc->path, nc->lock, strerror(err));
            char who[320] = "another process";
            if (pid > 0)
                snprintf(who, sizeof who, "process %ld%s%s", pid, host[0] ? " on " : "", host);
            return lyap_fail(LYAP_EIO, "%s: another lyapdiag run is writing it (%s holds %s); wait for that run "
                             "to end or stop it, or write elsewhere with --output", nc->path, who, nc->lock);
        }
        /* Its last holder may have removed the file between our open and
         * our lock: then we hold a lock on a name nobody sees; retry. */
        struct stat held, named;
        if (fstat(fd, &held) == 0 && stat(nc->lock, &named) == 0 && held.st_ino == named.st_ino &&
            held.st_dev == named.st_dev) {
            char line[300], host[256] = "?";
            gethostname(host, sizeof host - 1);
            int n = snprintf(line, sizeof line, "%ld %s\n", (long)getpid(), host);
            if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)n, 0) != n) {
                int err = errno;
                close(fd);
                return lyap_fail(LYAP_EIO, "%s: cannot write the lock file %s (%s); free some space or write "
                                 "elsewhere with --output", nc->path, nc->lock, strerror(err));
            }
            nc->lock_fd = fd;
            return LYAP_OK;
        }
        close(fd);
    }
    return lyap_fail(LYAP_EIO, "%s: the lock file %s keeps disappearing; is another run starting and stopping "
                     "there?", nc->path, nc->lock);
}

/* Removes PATH.lock and drops the lock (in that order: a run that opened
 * the old file meanwhile sees it gone and retries). */
static void release_lock(lyap_ncout *nc)
{
    if (nc->lock_fd < 0)
        return;
    unlink(nc->lock);
    close(nc->lock_fd);
    nc->lock_fd = -1;
}

/* Without --resume or --overwrite, an existing PATH.partial (an earlier
 * run's finished work) is refused, naming its tasks; else a new run would
 * silently replace it with its own first checkpoint. */
static int refuse_to_discard(const lyap_ncout *nc)
{
    struct stat st;
    if (stat(nc->partial, &st) != 0)
        return LYAP_OK;
    char held[700] = "";
    int ncid, varid[4];
    int status = nc_open(nc->partial, NC_NOWRITE, &ncid);
    if (status != NC_NOERR) {
        snprintf(held, sizeof held, "cannot be read (%s)", nc_strerror(status));
        return lyap_fail(LYAP_EIO, "%s exists and %s: a run without --resume would replace it; move it aside "
                         "(mv %s %s.damaged), or discard it with --overwrite", nc->partial, held, nc->partial,
                         nc->partial);
    }
    const char *names[4] = {"done", "family", "width", "slope"};
    int dimids[3], ndims = 0;
    size_t len[3] = {0, 0, 0};
    for (int i = 0; status == NC_NOERR && i < 4; i++)
        status = nc_inq_varid(ncid, names[i], &varid[i]);
    if (status == NC_NOERR)
        status = nc_inq_var(ncid, varid[0], NULL, NULL, &ndims, dimids, NULL);
    for (int i = 0; status == NC_NOERR && i < 3 && ndims == 3; i++)
        status = nc_inq_dimlen(ncid, dimids[i], &len[i]);
    size_t total = len[0] * len[1] * len[2];
    signed char *done = NULL;
    char **families = NULL;
    int *widths = NULL;
    double *slopes = NULL;
    if (status == NC_NOERR && ndims == 3 && total > 0 && (done = calloc(total, 1)) &&
        (families = calloc(len[0], sizeof *families)) && (widths = calloc(len[1], sizeof *widths)) &&
        (slopes = calloc(len[2], sizeof *slopes)) && nc_get_var_schar(ncid, varid[0], done) == NC_NOERR &&
        nc_get_var_string(ncid, varid[1], families) == NC_NOERR &&
        nc_get_var_int(ncid, varid[2], widths) == NC_NOERR && nc_get_var_double(ncid, varid[3], slopes) == NC_NOERR) {
        long ndone = 0;
        size_t n = 0;
        for (size_t t = 0; t < total; t++) {
            if (done[t] != 1)
                continue;
            if (++ndone <= 3)
                n += (size_t)snprintf(held + n, sizeof held - n, "%s%s width %d slope %g", ndone > 1 ? ", " : "",
                                      families[t / (len[1] * len[2])], widths[t / len[2] % len[1]],
                                      slopes[t % len[2]]);
            if (n >= sizeof held)
                n = sizeof held - 1;
        }
        char list[600];
        snprintf(list, sizeof list, "%ld of %zu tasks finished by an earlier run%s%s%s%s", ndone, total,
                 ndone ? " (" : "", held, ndone > 3 ? ", ..." : "", ndone ? ")" : "");
        snprintf(held, sizeof held, "%s", list);
        nc_free_string(len[0], families);
    } else {
        snprintf(held, sizeof held, "the tasks of an earlier run, which cannot be counted (%s)",
                 status != NC_NOERR ? nc_strerror(status) : "no done(family, width, slope) variable");
    }
    free(done);
    free(families);
    free(widths);
    free(slopes);
    nc_close(ncid);
    return lyap_fail(LYAP_EIO, "%s holds %s; continue it with --resume, or discard it with --overwrite",
                     nc->partial, held);
}

/* Refuses, before any work, a run whose snapshots cannot fit: up to three
 * copies live at once (PATH.partial, its .tmp, the final PATH), less the
 * space earlier copies already hold. */
/* Refuses, before any work, output PATH (checkpoint PARTIAL) whose
 * snapshots of about ONE bytes cannot fit: up to three copies live at once
 * (PATH.partial, its .tmp, the final PATH), less the space earlier copies
 * already hold. */
static int check_room(const char *path, const char *partial, double one)
{
    char dir[PATH_MAX], fs[PATH_MAX];
    directory_of(path, dir, sizeof dir);
    double have = free_bytes(dir), need = 3 * one;
    if (have < 0)
        return LYAP_OK; /* cannot tell: the writes will say */
    struct stat st;
    if (stat(partial, &st) == 0)
        need -= (double)st.st_size;
    if (stat(path, &st) == 0)
        need -= (double)st.st_size;
    need = need > one ? need : one;
    if (have >= need)
        return LYAP_OK;
    file_system_of(dir, fs, sizeof fs);
    return lyap_fail(LYAP_EIO, "%s: not enough space: file system %s has %.0f bytes free, and the output and its "
                     "checkpoints need about %.0f (3 copies at once of about %.0f bytes: %s.partial, its .tmp, the "
                     "final file); free some space there or write elsewhere with --output", path, fs, have, need,
                     one, path);
}

static int check_space(const lyap_ncout *nc)
{
    block_image blocks;
    LYAP_CALL(build_image(nc, &blocks)); /* the blocks a resume loaded */
    double one = snapshot_bytes(nc, &blocks);
    free_image(&blocks);
    return check_room(nc->path, nc->partial, one);
}

/* ---- public ------------------------------------------------------------------ */

int lyap_ncout_open(const char *path, const lyap_deck *deck, const char *history, int mode,
                    const char **resumed_from, lyap_ncout **out)
{
    lyap_ncout *nc;
    *out = NULL;
    *resumed_from = NULL;
    LYAP_CALL(lyap_alloc(&nc, 1, sizeof *nc, "phase diagram"));
    nc->lock_fd = -1;
    nc->deck = deck;
    nc->dims = lyap_result_dims_of_deck(deck);
    nc->ntasks = lyap_deck_task_count(deck);
    nc->checkpointed = -1;
    nc->path = join(path, "");
    nc->partial = join(path, ".partial");
    nc->tmp = join(path, ".partial.tmp");
    nc->history = join(history, "");
    nc->lock = join(path, ".lock");
    int status = (nc->path && nc->partial && nc->tmp && nc->history && nc->lock)
                     ? LYAP_OK : lyap_fail(LYAP_ENOMEM, "%s: out of memory", path);
    if (status == LYAP_OK)
        status = check_output_path(path, "phase.nc");
    if (status == LYAP_OK)
        status = acquire_lock(nc);
    if (status == LYAP_OK && mode == LYAP_NCOUT_NEW)
        status = refuse_to_discard(nc);
    if (status == LYAP_OK && mode == LYAP_NCOUT_NEW)
        status = lyap_ncfile_refuse_other_result(path, deck, lyap_deck_parse, "a phase diagram");
    if (status == LYAP_OK)
        status = check_space(nc);
    if (status == LYAP_OK)
        status = lyap_alloc(&nc->results, (size_t)nc->ntasks, sizeof *nc->results, "task results");
    if (status == LYAP_OK)
        status = lyap_alloc(&nc->done, (size_t)nc->ntasks, 1, "done mask");
    if (status == LYAP_OK)
        status = lyap_alloc(&nc->varid, (size_t)lyap_result_nvariables, sizeof *nc->varid, "variable ids");
    if (status == LYAP_OK)
        status = lyap_alloc(&nc->nblocks, (size_t)nc->ntasks, sizeof *nc->nblocks, "kept blocks");
    if (status == LYAP_OK)
        status = lyap_alloc(&nc->blocks, (size_t)nc->ntasks, sizeof *nc->blocks, "kept blocks");
    if (status == LYAP_OK)
        status = lyap_alloc(&nc->owned, (size_t)nc->ntasks, sizeof *nc->owned, "kept blocks");
    for (long t = 0; status == LYAP_OK && t < nc->ntasks; t++)
        status = lyap_task_result_init(&nc->results[t], nc->dims);
    if (status == LYAP_OK && mode == LYAP_NCOUT_RESUME)
        status = resume_from(nc->partial, nc->path, &nc->writing, &nc->history, load_phase_file, nc, resumed_from);
    if (status == LYAP_OK) /* fail now, not after hours, if PATH cannot be written */
        status = write_snapshot(nc, nc->partial);
    if (status != LYAP_OK) {
        lyap_ncout_close(&nc);
        return status;
    }
    *out = nc;
    return LYAP_OK;
}

int lyap_ncout_is_done(const lyap_ncout *nc, long task)
{
    return nc->done[task];
}

long lyap_ncout_done_count(const lyap_ncout *nc)
{
    return nc->ndone;
}

int lyap_ncout_store_blocks(lyap_ncout *nc, long task, int n, const lyap_block_state *states)
{
    LYAP_CALL(keep_blocks(nc, task, n, states));
    if (monotonic_seconds() - nc->last_checkpoint >= nc->deck->checkpoint_seconds)
        return lyap_ncout_checkpoint(nc);
    return LYAP_OK;
}

int lyap_ncout_adopt_blocks(lyap_ncout *nc)
{
    for (long t = 0; t < nc->ntasks; t++)
        LYAP_CALL(adopt(nc, t));
    return LYAP_OK;
}

int lyap_ncout_saved_blocks(const lyap_ncout *nc, long task, int *n, const lyap_block_state **states)
{
    *n = nc->nblocks[task];
    *states = nc->blocks[task];
    return LYAP_OK;
}

long lyap_ncout_blocks_held(const lyap_ncout *nc, long *tasks)
{
    long blocks = 0;
    *tasks = 0;
    for (long t = 0; t < nc->ntasks; t++) {
        for (int i = 0; i < nc->nblocks[t]; i++)
            blocks += lyap_block_state_blocks(&nc->blocks[t][i]);
        *tasks += nc->nblocks[t] > 0;
    }
    return blocks;
}

int lyap_ncout_store_task(lyap_ncout *nc, long task, const lyap_task_result *result)
{
    drop_blocks(nc, task);
    memcpy(nc->results[task].buf, result->buf, result->length * sizeof *result->buf);
    nc->ndone += !nc->done[task];
    nc->done[task] = 1;
    if (monotonic_seconds() - nc->last_checkpoint >= nc->deck->checkpoint_seconds)
        return lyap_ncout_checkpoint(nc);
    return LYAP_OK;
}

int lyap_ncout_checkpoint(lyap_ncout *nc)
{
    return write_snapshot(nc, nc->partial);
}

int lyap_ncout_finish(lyap_ncout **nc)
{
    LYAP_CALL(write_snapshot(*nc, (*nc)->path));
    if (remove((*nc)->partial) != 0 && errno != ENOENT)
        return lyap_fail(LYAP_EIO, "%s: cannot remove checkpoint: %s", (*nc)->partial, strerror(errno));
    lyap_ncout_close(nc);
    return LYAP_OK;
}

void lyap_ncout_close(lyap_ncout **nc)
{
    if (!nc || !*nc)
        return;
    release_lock(*nc);
    free((*nc)->lock);
    for (long t = 0; (*nc)->results && t < (*nc)->ntasks; t++)
        lyap_task_result_free(&(*nc)->results[t]);
    for (long t = 0; (*nc)->blocks && (*nc)->owned && t < (*nc)->ntasks; t++)
        drop_blocks(*nc, t);
    free((*nc)->blocks);
    free((*nc)->nblocks);
    free((*nc)->loaded);
    free((*nc)->owned);
    free((*nc)->results);
    free((*nc)->done);
    free((*nc)->varid);
    free((*nc)->path);
    free((*nc)->partial);
    free((*nc)->tmp);
    free((*nc)->history);
    free(*nc);
    *nc = NULL;
}

/* ---- lyapdiag info: a phase diagram read back -------------------------------- */

/* What info reads: the files `lyapdiag run` writes (the fix of most messages). */
#define INFO_READS "info reads the files lyapdiag run and lyapdiag train write (FILE, or its checkpoint FILE.partial)"

/* A failed NetCDF read of WHAT in PATH: missing pieces mean the file is not
 * a lyapdiag phase diagram; anything else, that it is damaged. */
static int summary_check(int status, const char *path, const char *what)
{
    if (status == NC_NOERR)
        return LYAP_OK;
    if (status == NC_ENOTVAR || status == NC_ENOTATT || status == NC_EBADDIM)
        return lyap_fail(LYAP_EIO, "%s: not a lyapdiag phase diagram (it has no %s); " INFO_READS, path, what);
    return lyap_fail(LYAP_EIO, "%s: %s does not read back (%s): the file is damaged (a checksum or its structure "
                     "fails); rerun the deck, or resume it from its checkpoint", path, what, nc_strerror(status));
}

/* Coordinate NAME (one dimension) of the file open as NCID into a new
 * array of TYPE (NC_INT, NC_DOUBLE or NC_STRING); *N its length, *DIM its
 * dimension. OPTIONAL: an absent variable gives *N = 0. */
static int read_axis(int ncid, const char *path, const char *name, nc_type type, int optional, size_t *n, int *dim,
                     void *values)
{
    int varid, ndims;
    *n = 0;
    int status = nc_inq_varid(ncid, name, &varid);
    if (status == NC_ENOTVAR && optional)
        return LYAP_OK;
    LYAP_CALL(summary_check(status, path, name));
    LYAP_CALL(summary_check(nc_inq_varndims(ncid, varid, &ndims), path, name));
    if (ndims != 1)
        return lyap_fail(LYAP_EIO, "%s: not a lyapdiag phase diagram (%s has %d dimensions, not 1); " INFO_READS,
                         path, name, ndims);
    LYAP_CALL(summary_check(nc_inq_vardimid(ncid, varid, dim), path, name));
    LYAP_CALL(summary_check(nc_inq_dimlen(ncid, *dim, n), path, name));
    size_t size = type == NC_STRING ? sizeof(char *) : type == NC_INT ? sizeof(int) : sizeof(double);
    LYAP_CALL(lyap_alloc(values, *n ? *n : 1, size, name));
    void *at = *(void **)values;
    status = type == NC_STRING ? nc_get_var_string(ncid, varid, at)
             : type == NC_INT  ? nc_get_var_int(ncid, varid, at)
                               : nc_get_var_double(ncid, varid, at);
    return summary_check(status, path, name);
}

/* Variable NAME over (family, width, slope), the dimensions DIMS, into
 * OUT (signed char for the done mask, else double). */
static int read_task_variable(int ncid, const char *path, const char *name, const int *dims, void *out)
{
    int varid, ndims, vdims[NC_MAX_VAR_DIMS];
    LYAP_CALL(summary_check(nc_inq_varid(ncid, name, &varid), path, name));
    LYAP_CALL(summary_check(nc_inq_varndims(ncid, varid, &ndims), path, name));
    LYAP_CALL(summary_check(nc_inq_vardimid(ncid, varid, vdims), path, name));
    if (ndims != 3 || vdims[0] != dims[0] || vdims[1] != dims[1] || vdims[2] != dims[2])
        return lyap_fail(LYAP_EIO, "%s: not a lyapdiag phase diagram (%s is not over family, width, slope); "
                         INFO_READS, path, name);
    return summary_check(strcmp(name, "done") == 0 ? nc_get_var_schar(ncid, varid, out)
                                                   : nc_get_var_double(ncid, varid, out), path, name);
}

/* Unfinished tasks with finished blocks kept in a checkpoint (block_task). */
static int count_started(int ncid, const char *path, lyap_ncout_summary *s)
{
    int varid, dim;
    size_t n;
    if (nc_inq_varid(ncid, "block_task", &varid) != NC_NOERR)
        return LYAP_OK;
    LYAP_CALL(summary_check(nc_inq_vardimid(ncid, varid, &dim), path, "block_task"));
    LYAP_CALL(summary_check(nc_inq_dimlen(ncid, dim, &n), path, "block_entry"));
    long long *task;
    signed char *seen;
    LYAP_CALL(lyap_alloc(&task, n ? n : 1, sizeof *task, "block_task"));
    int status = lyap_alloc(&seen, (size_t)s->tasks, 1, "block_task");
    if (status == LYAP_OK)
        status = summary_check(nc_get_var_longlong(ncid, varid, task), path, "block_task");
    for (size_t e = 0; status == LYAP_OK && e < n; e++)
        if (task[e] >= 0 && task[e] < s->tasks && !s->done[task[e]] && !seen[task[e]]) {
            seen[task[e]] = 1;
            s->tasks_started++;
        }
    free(task);
    free(seen);
    return status;
}

static int read_summary(int ncid, const char *path, lyap_ncout_summary *s)
{
    int dims[3], dim, varid;
    char *seed = NULL;
    if (nc_inq_varid(ncid, "weights", &varid) == NC_NOERR)
        return lyap_fail(LYAP_EIO, "%s: a network written by lyapdiag init, not a phase diagram: load it with "
                         "postproc/load_init_weights.py; " INFO_READS, path);
    LYAP_CALL(summary_check(read_text_attr(ncid, "deck", &s->deck), path, "deck attribute"));
    LYAP_CALL(summary_check(read_text_attr(ncid, "deck_file", &s->deck_file), path, "deck_file attribute"));
    if (read_text_attr(ncid, "source", &s->source) != NC_NOERR) {
        free(s->source);
        s->source = NULL;
    }
    int status = summary_check(read_text_attr(ncid, "seed", &seed), path, "seed attribute");
    char *end = NULL;
    errno = 0;
    if (status == LYAP_OK)
        s->seed = strtoull(seed, &end, 10);
    if (status == LYAP_OK && (seed[0] < '0' || seed[0] > '9' || *end || errno == ERANGE))
        status = lyap_fail(LYAP_EIO, "%s: not a lyapdiag phase diagram (its seed attribute '%s' is not a whole "
                           "number); " INFO_READS, path, seed);
    free(seed);
    LYAP_CALL(status);
    LYAP_CALL(summary_check(nc_get_att_int(ncid, NC_GLOBAL, "replicas", &s->replicas), path, "replicas attribute"));
    LYAP_CALL(read_axis(ncid, path, "family", NC_STRING, 0, &s->nfamilies, &dims[0], &s->families));
    LYAP_CALL(read_axis(ncid, path, "width", NC_INT, 0, &s->nwidths, &dims[1], &s->widths));
    LYAP_CALL(read_axis(ncid, path, "slope", NC_DOUBLE, 0, &s->nslopes, &dims[2], &s->slopes));
    LYAP_CALL(read_axis(ncid, path, "variance", NC_DOUBLE, 0, &s->nvariances, &dim, &s->variances));
    LYAP_CALL(read_axis(ncid, path, "bias_variance", NC_DOUBLE, 1, &s->nbias, &dim, &s->bias_variances));
    LYAP_CALL(read_axis(ncid, path, "depth", NC_INT, 0, &s->ndepths, &dim, &s->depths));
    s->tasks = (long)(s->nfamilies * s->nwidths * s->nslopes);
    size_t n = s->tasks ? (size_t)s->tasks : 1;
    LYAP_CALL(lyap_alloc(&s->done, n, 1, "done"));
    LYAP_CALL(lyap_alloc(&s->variance_crit, n, sizeof(double), "variance_crit"));
    LYAP_CALL(lyap_alloc(&s->variance_crit_stderr, n, sizeof(double), "variance_crit_stderr"));
    LYAP_CALL(lyap_alloc(&s->variance_crit_theory, n, sizeof(double), "variance_crit_theory"));
    LYAP_CALL(read_task_variable(ncid, path, "done", dims, s->done));
    LYAP_CALL(read_task_variable(ncid, path, "variance_crit", dims, s->variance_crit));
    LYAP_CALL(read_task_variable(ncid, path, "variance_crit_stderr", dims, s->variance_crit_stderr));
    LYAP_CALL(read_task_variable(ncid, path, "variance_crit_theory", dims, s->variance_crit_theory));
    for (long t = 0; t < s->tasks; t++)
        s->tasks_done += s->done[t] == 1;
    return count_started(ncid, path, s);
}

int lyap_ncout_read_summary(const char *path, lyap_ncout_summary *summary)
{
    struct stat st;
    *summary = (lyap_ncout_summary){0};
    if (stat(path, &st) != 0) {
        int err = errno;
        char partial[PATH_MAX];
        snprintf(partial, sizeof partial, "%s.partial", path);
        if (err == ENOENT && stat(partial, &st) == 0)
            return lyap_fail(LYAP_EIO, "%s: no such file, but its checkpoint %s is there (the run has not finished): "
                             "lyapdiag info %s", path, partial, partial);
        return lyap_fail(LYAP_EIO, "%s: %s; give the file lyapdiag run or train wrote ([output] file of its deck, or --output)",
                         path, strerror(err));
    }
    if (S_ISDIR(st.st_mode))
        return lyap_fail(LYAP_EIO, "%s: is a directory; give the file lyapdiag run or train wrote in it (e.g. %s%sphase.nc)",
                         path, path, path[0] && path[strlen(path) - 1] == '/' ? "" : "/");
    int ncid, status = nc_open(path, NC_NOWRITE, &ncid);
    if (status != NC_NOERR)
        return lyap_fail(LYAP_EIO, "%s: cannot read it as NetCDF (%s): not a NetCDF file, or damaged; " INFO_READS,
                         path, nc_strerror(status));
    status = read_summary(ncid, path, summary);
    nc_close(ncid);
    if (status != LYAP_OK)
        lyap_ncout_summary_free(summary);
    return status;
}

void lyap_ncout_summary_free(lyap_ncout_summary *s)
{
    if (s->families)
        nc_free_string(s->nfamilies, s->families);
    free(s->families);
    free(s->deck);
    free(s->deck_file);
    free(s->source);
    free(s->widths);
    free(s->depths);
    free(s->slopes);
    free(s->variances);
    free(s->bias_variances);
    free(s->done);
    free(s->variance_crit);
    free(s->variance_crit_stderr);
    free(s->variance_crit_theory);
    *s = (lyap_ncout_summary){0};
}

/* ---- lyapdiag init: the weights of one network ------------------------------- */

static int put_init_attributes(lyap_ncout *nc, const lyap_initnet *net, const char *history)
{
    const lyap_initnet_spec *s = &net->spec;
    int g = NC_GLOBAL, ncid = nc->ncid;
    double lo = net->scores[0], hi = net->scores[0];
    for (int c = 1; c < s->candidates; c++) {
        lo = fmin(lo, net->scores[c]);
        hi = fmax(hi, net->scores[c]);
    }
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)s->seed);
    LYAP_CALL(put_text_attr(nc, g, "title", "Lyapunov initialization: the weights of a deep bias-free Leaky ReLU "
                            "network drawn at the critical variance (lambda = 0)"));
    LYAP_CALL(put_text_attr(nc, g, "Conventions", "CF-1.8"));
    LYAP_CALL(put_text_attr(nc, g, "source", PACKAGE_NAME " " PACKAGE_VERSION));
    LYAP_CALL(put_text_attr(nc, g, "history", history));
    LYAP_CALL(put_text_attr(nc, g, "family", lyap_family_name(s->family)));
    LYAP_CALL(nc_check(nc_put_att_int(ncid, g, "width", NC_INT, 1, &s->width), nc, "width"));
    LYAP_CALL(nc_check(nc_put_att_double(ncid, g, "slope", NC_DOUBLE, 1, &s->slope), nc, "slope"));
    LYAP_CALL(nc_check(nc_put_att_double(ncid, g, "variance", NC_DOUBLE, 1, &net->variance), nc, "variance"));
    LYAP_CALL(put_text_attr(nc, g, "variance_kind", net->variance_is_critical ? "critical (lambda = 0)" : "user"));
    LYAP_CALL(put_text_attr(nc, g, "seed", seed));
    LYAP_CALL(nc_check(nc_put_att_int(ncid, g, "candidates", NC_INT, 1, &s->candidates), nc, "candidates"));
    LYAP_CALL(nc_check(nc_put_att_int(ncid, g, "inputs", NC_INT, 1, &s->inputs), nc, "inputs"));
    LYAP_CALL(nc_check(nc_put_att_int(ncid, g, "chosen_candidate", NC_INT, 1, &net->chosen), nc, "chosen_candidate"));
    LYAP_CALL(nc_check(nc_put_att_double(ncid, g, "mean_log_gain", NC_DOUBLE, 1, &net->scores[net->chosen]), nc,
                       "mean_log_gain"));
    LYAP_CALL(nc_check(nc_put_att_double(ncid, g, "mean_log_gain_min", NC_DOUBLE, 1, &lo), nc, "mean_log_gain_min"));
    LYAP_CALL(nc_check(nc_put_att_double(ncid, g, "mean_log_gain_max", NC_DOUBLE, 1, &hi), nc, "mean_log_gain_max"));
    return put_text_attr(nc, g, "comment", "x_l = phi(W_l x_{l-1}), phi(z) = max(z, slope z), no biases; "
                         "mean_log_gain: mean of log(|x_L|/|x_0|) over `inputs` random unit inputs, for the chosen "
                         "candidate (the one closest to 0); _min/_max over all candidates");
}

/* Defines and fills the init file open as NC->ncid. */
static int put_init_file(lyap_ncout *nc, const lyap_initnet *net, const char *history)
{
    const lyap_initnet_spec *s = &net->spec;
    const char *names[4] = {"layer", "row", "col", "candidate"};
    size_t lengths[4] = {(size_t)s->depth, (size_t)s->width, (size_t)s->width, (size_t)s->candidates};
    int dims[4], coord[4], weights, gains, *index;
    for (int i = 0; i < 4; i++)
        LYAP_CALL(nc_check(nc_def_dim(nc->ncid, names[i], lengths[i], &dims[i]), nc, names[i]));
    LYAP_CALL(def_coordinate(nc, "layer", NC_INT, dims[0], "1", "layer l = 1..L: x_l = phi(W_l x_{l-1})", &coord[0]));
    LYAP_CALL(def_coordinate(nc, "row", NC_INT, dims[1], "1", "row i of W_l (output unit, 0-based)", &coord[1]));
    LYAP_CALL(def_coordinate(nc, "col", NC_INT, dims[2], "1", "column j of W_l (input unit, 0-based)", &coord[2]));
    LYAP_CALL(def_coordinate(nc, "candidate", NC_INT, dims[3], "1", "candidate network (0-based)", &coord[3]));
    LYAP_CALL(nc_check(nc_def_var(nc->ncid, "weights", NC_DOUBLE, 3, dims, &weights), nc, "weights"));
    LYAP_CALL(nc_check(nc_def_var_fill(nc->ncid, weights, NC_NOFILL, NULL), nc, "weights"));
    LYAP_CALL(put_text_attr(nc, weights, "long_name", "weight matrix W_l, scale included: x_l = phi(W_l x_{l-1})"));
    LYAP_CALL(put_text_attr(nc, weights, "units", "1"));
    LYAP_CALL(put_text_attr(nc, weights, "comment", "PyTorch: nn.Linear(width, width, bias=False).weight = W_l "
                            "as stored (Linear computes x W^T); postproc/load_init_weights.py"));
    LYAP_CALL(nc_check(nc_def_var(nc->ncid, "candidate_mean_log_gain", NC_DOUBLE, 1, &dims[3], &gains), nc,
                       "candidate_mean_log_gain"));
    LYAP_CALL(put_text_attr(nc, gains, "long_name", "mean of log(|x_L|/|x_0|) over the scoring inputs, per candidate"));
    LYAP_CALL(put_text_attr(nc, gains, "units", "1"));
    LYAP_CALL(put_init_attributes(nc, net, history));
    LYAP_CALL(add_checksums(nc->ncid, nc->writing));
    LYAP_CALL(nc_check(nc_enddef(nc->ncid), nc, "enddef"));

    size_t n = lengths[0] + 1; /* 0..n-1 covers every coordinate; layer takes 1..L */
    for (int i = 1; i < 4; i++)
        n = lengths[i] > n ? lengths[i] : n;
    LYAP_CALL(lyap_alloc(&index, n, sizeof *index, "coordinates"));
    for (size_t i = 0; i < n; i++)
        index[i] = (int)i;
    int status = nc_check(nc_put_var_int(nc->ncid, coord[0], index + 1), nc, "layer");
    for (int i = 1; status == LYAP_OK && i < 4; i++)
        status = nc_check(nc_put_var_int(nc->ncid, coord[i], index), nc, names[i]);
    free(index);
    LYAP_CALL(status);
    LYAP_CALL(nc_check(nc_put_var_double(nc->ncid, weights, net->weights), nc, "weights"));
    return nc_check(nc_put_var_double(nc->ncid, gains, net->scores), nc, "candidate_mean_log_gain");
}

int lyap_ncout_write_init(const char *path, const lyap_initnet *net, const char *history)
{
    lyap_ncout nc = {0}; /* the helpers above need only its ncid and file name */
    char *tmp = join(path, ".tmp");
    if (!tmp)
        return lyap_fail(LYAP_ENOMEM, "%s: out of memory", path);
    nc.writing = tmp;
    int status = nc_create(tmp, NC_NETCDF4 | NC_CLOBBER, &nc.ncid);
    if (status != NC_NOERR) {
        status = lyap_fail(LYAP_EIO, "%s: cannot write (%s while creating %s); choose a writable path with --output",
                           path, nc_strerror(status), tmp);
        free(tmp);
        return status;
    }
    status = put_init_file(&nc, net, history);
    int closed = nc_close(nc.ncid);
    if (status == LYAP_OK)
        status = nc_check(closed, &nc, "close");
    if (status == LYAP_OK && rename(tmp, path) != 0)
        status = lyap_fail(LYAP_EIO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    if (status != LYAP_OK)
        remove(tmp);
    free(tmp);
    return status;
}

/* ---- the file layer for other snapshot writers (ncfile.h) ------------------------ */

int lyap_ncfile_check_path(const char *path, const char *example)
{
    return check_output_path(path, example);
}

int lyap_ncfile_lock(const char *path, const char *lock, int *fd)
{
    lyap_ncout nc = {.path = (char *)path, .lock = (char *)lock, .lock_fd = -1};
    int status = acquire_lock(&nc);
    *fd = nc.lock_fd;
    return status;
}

void lyap_ncfile_unlock(const char *lock, int *fd)
{
    lyap_ncout nc = {.lock = (char *)lock, .lock_fd = *fd};
    release_lock(&nc);
    *fd = -1;
}

double lyap_ncfile_free_bytes(const char *path, char *fs, size_t size)
{
    char dir[PATH_MAX];
    directory_of(path, dir, sizeof dir);
    file_system_of(dir, fs, size);
    return free_bytes(dir);
}

int lyap_ncfile_read_text_attr(int ncid, const char *name, char **text)
{
    return read_text_attr(ncid, name, text);
}

int lyap_ncfile_same_deck(int ncid, const char *file, const lyap_deck *deck,
                          int (*parse)(const char *text, const char *name, lyap_deck *deck), const char *not_what,
                          const char *kind)
{
    return same_deck(ncid, file, deck, parse, not_what, kind);
}

int lyap_ncfile_refuse_other_result(const char *path, const lyap_deck *deck,
                                    int (*parse)(const char *text, const char *name, lyap_deck *deck),
                                    const char *kind)
{
    int ncid, status = nc_open(path, NC_NOWRITE, &ncid);
    if (status == ENOENT)
        return LYAP_OK;
    if (status != NC_NOERR)
        return lyap_fail(LYAP_EIO, "%s exists and is not a file lyapdiag wrote (%s): write elsewhere with --output, "
                         "or replace it with --overwrite", path, nc_strerror(status));
    const char *key = NULL;
    status = stored_deck_difference(ncid, path, deck, parse, "does not parse", kind, &key);
    nc_close(ncid);
    if (status != LYAP_OK) /* no deck attribute, or another kind's deck */
        return lyap_fail(LYAP_EIO, "%s exists and is not %s (its stored deck does not parse as one): write "
                         "elsewhere with --output, or replace it with --overwrite", path, kind);
    if (key)
        return lyap_fail(LYAP_EDECK, "%s holds the finished result of another deck (its %s differs): write this "
                         "deck's elsewhere with --output, or replace it with --overwrite", path, key);
    return LYAP_OK; /* the same deck writes the same file again */
}

int lyap_ncfile_resume(const char *partial, const char *path, const char **writing, char **history,
                       int (*load)(void *ctx, int ncid), void *ctx, const char **found)
{
    return resume_from(partial, path, writing, history, load, ctx, found);
}

int lyap_ncfile_check_room(const char *path, const char *partial, double one_snapshot)
{
    return check_room(path, partial, one_snapshot);
}

int lyap_ncfile_add_checksums(int ncid, const char *file)
{
    return add_checksums(ncid, file);
}

int lyap_ncfile_verify(int ncid, const char *file)
{
    return verify_checksums(ncid, file);
}

int lyap_ncfile_write_atomic(const char *path, const char *partial, const char *tmp, const char *target,
                             const void *data, size_t size, long checkpointed, long ntasks, long ndone)
{
    lyap_ncout nc = {.path = (char *)path, .partial = (char *)partial, .checkpointed = checkpointed,
                     .ntasks = ntasks, .ndone = ndone, .lock_fd = -1};
    LYAP_CALL(write_file(&nc, tmp, target, data, size));
    if (rename(tmp, target) != 0) {
        int err = errno;
        remove(tmp);
        return lyap_fail(LYAP_EIO, "%s: cannot rename to %s: %s", tmp, target, strerror(err));
    }
    return LYAP_OK;
}
