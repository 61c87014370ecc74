/* ncout.c: NetCDF-4 writer of the phase diagram (DESIGN.md, "Output schema").
 * CF-1.8 style: every variable has units and long_name; phase uses
 * flag_values/flag_meanings; NaN is the fill value of unwritten data. */
#include <errno.h>
#include <math.h>
#include <netcdf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "lyapdiag/error.h"
#include "lyapdiag/grid.h"
#include "lyapdiag/ncout.h"

#define FIELD(member) offsetof(lyap_task_result, member)

const lyap_ncout_variable lyap_ncout_variables[] = {
    {"lambda", LYAP_SHAPE_VARIANCE, 0, FIELD(lambda), "1",
     "Lyapunov exponent per layer, Monte Carlo (natural log growth rate of |x_L|)",
     "-inf at slope 0 (ReLU: a layer maps the signal to 0 with probability 2^-width)"},
    {"lambda_stderr", LYAP_SHAPE_VARIANCE, 0, FIELD(lambda_stderr), "1",
     "standard error of lambda (from independent replica means)", "0 at slope 0, where lambda = -inf exactly"},
    {"lambda_theory", LYAP_SHAPE_VARIANCE, 0, FIELD(lambda_theory), "1",
     "exact Lyapunov exponent per layer",
     "NaN where no closed form exists (uniform family); -inf at slope 0 for every family"},
    {"clt_variance", LYAP_SHAPE_VARIANCE, 0, FIELD(clt_variance), "1",
     "CLT variance per layer of log|x_L|, Monte Carlo (batch means of the increment series)",
     "NaN at slope 0, where lambda = -inf"},
    {"clt_variance_stderr", LYAP_SHAPE_VARIANCE, 0, FIELD(clt_variance_stderr), "1",
     "standard error of clt_variance", NULL},
    {"clt_variance_theory", LYAP_SHAPE_VARIANCE, 0, FIELD(clt_variance_theory), "1",
     "exact CLT variance per layer", "NaN where no closed form exists or at slope 0"},
    {"phase", LYAP_SHAPE_VARIANCE, 1, FIELD(phase), "1",
     "phase: -1 vanishing, 0 critical (|lambda| < 3 lambda_stderr), +1 exploding", NULL},
    {"variance_crit", LYAP_SHAPE_TASK, 0, FIELD(variance_crit), "1",
     "critical variance s2_crit where lambda = 0 (Lyapunov initialization), Monte Carlo",
     "+inf at slope 0 (no finite variance reaches the boundary)"},
    {"variance_crit_stderr", LYAP_SHAPE_TASK, 0, FIELD(variance_crit_stderr), "1",
     "standard error of variance_crit (delta method: 2 s2_crit lambda_stderr)", NULL},
    {"variance_crit_theory", LYAP_SHAPE_TASK, 0, FIELD(variance_crit_theory), "1",
     "exact critical variance exp(-2 lambda(s2 = 1))",
     "NaN where no closed form exists (uniform family); +inf at slope 0 for every family"},
    {"death_probability", LYAP_SHAPE_TASK, 0, FIELD(death_probability), "1",
     "probability per layer that the signal is mapped to exactly 0 (2^-width at slope 0, else 0)", NULL},
    {"logn_mean", LYAP_SHAPE_VARIANCE_DEPTH, 0, FIELD(logn_mean), "1",
     "mean of log(|x_L|/|x_0|) at recorded depth L, Monte Carlo",
     "at slope 0: conditional on survival (see survival)"},
    {"logn_var", LYAP_SHAPE_VARIANCE_DEPTH, 0, FIELD(logn_var), "1",
     "variance of log(|x_L|/|x_0|) at recorded depth L, Monte Carlo",
     "at slope 0: conditional on survival (see survival)"},
    {"survival", LYAP_SHAPE_DEPTH, 0, FIELD(survival), "1",
     "fraction of Monte Carlo samples with |x_L| > 0 at depth L (below 1 only at slope 0)", NULL},
    {"done", LYAP_SHAPE_TASK, 1, SIZE_MAX, "1", "task completion mask: 1 computed, 0 missing", NULL},
};
const int lyap_ncout_nvariables = (int)(sizeof lyap_ncout_variables / sizeof lyap_ncout_variables[0]);

enum { DIM_FAMILY, DIM_WIDTH, DIM_SLOPE, DIM_VARIANCE, DIM_DEPTH, NDIMS };

struct lyap_ncout_s {
    int ncid;
    int varid[sizeof lyap_ncout_variables / sizeof lyap_ncout_variables[0]];
    const lyap_deck *deck;
    char *path, *partial;
};

/* Turns a NetCDF status into LYAP_ENETCDF with the file and operation. */
static int nc_check(int status, const lyap_ncout *nc, const char *what)
{
    if (status == NC_NOERR)
        return LYAP_OK;
    return lyap_fail(LYAP_ENETCDF, "%s: %s: %s", nc->partial, what, nc_strerror(status));
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

static int define_schema(lyap_ncout *nc)
{
    const lyap_deck *deck = nc->deck;
    int dims[NDIMS], coord[NDIMS];
    size_t lengths[NDIMS] = {(size_t)deck->nfamilies, (size_t)deck->nwidths, (size_t)deck->nslopes,
                             (size_t)deck->nvariances, (size_t)deck->ndepths};
    const char *names[NDIMS] = {"family", "width", "slope", "variance", "depth"};
    for (int i = 0; i < NDIMS; i++)
        LYAP_CALL(nc_check(nc_def_dim(nc->ncid, names[i], lengths[i], &dims[i]), nc, names[i]));
    LYAP_CALL(def_coordinate(nc, "family", NC_STRING, dims[DIM_FAMILY], NULL,
                             "weight family (THEORY.md)", &coord[DIM_FAMILY]));
    LYAP_CALL(def_coordinate(nc, "width", NC_INT, dims[DIM_WIDTH], "1", "network width d", &coord[DIM_WIDTH]));
    LYAP_CALL(def_coordinate(nc, "slope", NC_DOUBLE, dims[DIM_SLOPE], "1",
                             "Leaky ReLU negative-side slope a (0 = ReLU, 1 = linear)", &coord[DIM_SLOPE]));
    LYAP_CALL(def_coordinate(nc, "variance", NC_DOUBLE, dims[DIM_VARIANCE], "1",
                             "weight variance s2: entries N(0, s2/d); eta^2 for orthogonal", &coord[DIM_VARIANCE]));
    LYAP_CALL(def_coordinate(nc, "depth", NC_INT, dims[DIM_DEPTH], "layers",
                             "recorded depth L", &coord[DIM_DEPTH]));

    for (int v = 0; v < lyap_ncout_nvariables; v++) {
        const lyap_ncout_variable *var = &lyap_ncout_variables[v];
        int vdims[NDIMS] = {dims[DIM_FAMILY], dims[DIM_WIDTH], dims[DIM_SLOPE]}, n = 3;
        if (var->shape == LYAP_SHAPE_VARIANCE || var->shape == LYAP_SHAPE_VARIANCE_DEPTH)
            vdims[n++] = dims[DIM_VARIANCE];
        if (var->shape == LYAP_SHAPE_DEPTH || var->shape == LYAP_SHAPE_VARIANCE_DEPTH)
            vdims[n++] = dims[DIM_DEPTH];
        int *id = &nc->varid[v];
        LYAP_CALL(nc_check(nc_def_var(nc->ncid, var->name, var->is_flag ? NC_BYTE : NC_DOUBLE, n, vdims, id),
                           nc, var->name));
        if (var->field == SIZE_MAX) { /* done: explicit zeros, no _FillValue, so it stays int8 */
            LYAP_CALL(nc_check(nc_def_var_fill(nc->ncid, *id, NC_NOFILL, NULL), nc, var->name));
        } else if (var->is_flag) {
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
        if (strcmp(var->name, "phase") == 0) {
            signed char flags[3] = {-1, 0, 1};
            LYAP_CALL(nc_check(nc_put_att_schar(nc->ncid, *id, "flag_values", NC_BYTE, 3, flags), nc, "flag_values"));
            LYAP_CALL(put_text_attr(nc, *id, "flag_meanings", "vanishing critical exploding"));
        }
    }
    return LYAP_OK;
}

static int put_global_attributes(lyap_ncout *nc, const char *history)
{
    const lyap_deck *deck = nc->deck;
    int g = NC_GLOBAL;
    char settings[512];
    LYAP_CALL(put_text_attr(nc, g, "title", "Phase diagram of deep random Leaky ReLU networks: Lyapunov "
                            "exponent, CLT variance and the vanishing/exploding boundary"));
    LYAP_CALL(put_text_attr(nc, g, "Conventions", "CF-1.8"));
    LYAP_CALL(put_text_attr(nc, g, "source", PACKAGE_NAME " " PACKAGE_VERSION));
    LYAP_CALL(put_text_attr(nc, g, "history", history));
    LYAP_CALL(put_text_attr(nc, g, "deck", deck->text));
    LYAP_CALL(put_text_attr(nc, g, "deck_file", deck->name));
    snprintf(settings, sizeof settings, "%llu", (unsigned long long)deck->seed);
    LYAP_CALL(put_text_attr(nc, g, "seed", settings));
    LYAP_CALL(nc_check(nc_put_att_int(nc->ncid, g, "replicas", NC_INT, 1, &deck->replicas), nc, "replicas"));
    LYAP_CALL(nc_check(nc_put_att_int(nc->ncid, g, "batch", NC_INT, 1, &deck->batch), nc, "batch"));
    LYAP_CALL(nc_check(nc_put_att_double(nc->ncid, g, "target_stderr", NC_DOUBLE, 1, &deck->target_stderr),
                       nc, "target_stderr"));
    LYAP_CALL(put_text_attr(nc, g, "verify_homogeneity", deck->verify_homogeneity ? "yes" : "no"));
    LYAP_CALL(put_text_attr(nc, g, "method",
                            "GEMM path: fresh weights every layer (OpenBLAS), activations renormalized "
                            "every layer, log-norms accumulated in double; random streams Philox4x64-10 "
                            "keyed by (seed, family, width, slope, replica, layer)"));
    LYAP_CALL(put_text_attr(nc, g, "variance_axis",
                            deck->verify_homogeneity
                                ? "every variance simulated with independent streams"
                                : "simulated at s2 = 1 and shifted exactly: lambda(s2) = lambda(1) + 0.5 log s2"));
    snprintf(settings, sizeof settings,
             "batch means over each input's increment series, batch length floor(sqrt(L)) = %d, L = %d",
             lyap_estimate_clt_batch_length(deck->depths[deck->ndepths - 1]), deck->depths[deck->ndepths - 1]);
    return put_text_attr(nc, g, "clt_variance_method", settings);
}

static int put_coordinates(lyap_ncout *nc)
{
    const lyap_deck *deck = nc->deck;
    const char *families[LYAP_FAMILY_COUNT];
    for (int i = 0; i < deck->nfamilies; i++)
        families[i] = lyap_family_name(deck->families[i]);
    LYAP_CALL(nc_check(nc_put_var_string(nc->ncid, 0, families), nc, "family"));
    LYAP_CALL(nc_check(nc_put_var_int(nc->ncid, 1, deck->widths), nc, "width"));
    LYAP_CALL(nc_check(nc_put_var_double(nc->ncid, 2, deck->slopes), nc, "slope"));
    LYAP_CALL(nc_check(nc_put_var_double(nc->ncid, 3, deck->variances), nc, "variance"));
    return nc_check(nc_put_var_int(nc->ncid, 4, deck->depths), nc, "depth");
}

/* done = 0 everywhere until a task is written (done has no fill value). */
static int clear_done(lyap_ncout *nc)
{
    size_t n = (size_t)lyap_deck_task_count(nc->deck);
    signed char *zeros;
    LYAP_CALL(lyap_alloc(&zeros, n, 1, "done mask"));
    int status = LYAP_OK;
    for (int v = 0; v < lyap_ncout_nvariables && status == LYAP_OK; v++)
        if (lyap_ncout_variables[v].field == SIZE_MAX)
            status = nc_check(nc_put_var_schar(nc->ncid, nc->varid[v], zeros), nc, "done");
    free(zeros);
    return status;
}

static char *join(const char *a, const char *b)
{
    char *s = malloc(strlen(a) + strlen(b) + 1);
    if (s)
        strcat(strcpy(s, a), b);
    return s;
}

int lyap_ncout_create(const char *path, const lyap_deck *deck, const char *history, lyap_ncout **out)
{
    lyap_ncout *nc;
    *out = NULL;
    LYAP_CALL(lyap_alloc(&nc, 1, sizeof *nc, "NetCDF writer"));
    nc->deck = deck;
    nc->ncid = -1;
    nc->path = join(path, "");
    nc->partial = join(path, ".partial");
    if (!nc->path || !nc->partial) {
        lyap_ncout_abort(&nc);
        return lyap_fail(LYAP_ENOMEM, "%s: out of memory", path);
    }
    int status = nc_create(nc->partial, NC_NETCDF4 | NC_CLOBBER, &nc->ncid);
    if (status != NC_NOERR) {
        lyap_fail(LYAP_EIO, "%s: cannot create output (%s); choose a writable path with [output] file "
                  "or --output", nc->partial, nc_strerror(status));
        nc->ncid = -1;
        lyap_ncout_abort(&nc);
        return LYAP_EIO;
    }
    status = define_schema(nc);
    if (status == LYAP_OK)
        status = put_global_attributes(nc, history);
    if (status == LYAP_OK)
        status = nc_check(nc_enddef(nc->ncid), nc, "enddef");
    if (status == LYAP_OK)
        status = put_coordinates(nc);
    if (status == LYAP_OK)
        status = clear_done(nc);
    if (status != LYAP_OK) {
        lyap_ncout_abort(&nc);
        return status;
    }
    *out = nc;
    return LYAP_OK;
}

int lyap_ncout_write_task(lyap_ncout *nc, long task, const lyap_task_result *r)
{
    int f, w, s;
    lyap_grid_task_position(nc->deck, task, &f, &w, &s);
    size_t start[NDIMS] = {(size_t)f, (size_t)w, (size_t)s, 0, 0};
    for (int v = 0; v < lyap_ncout_nvariables; v++) {
        const lyap_ncout_variable *var = &lyap_ncout_variables[v];
        size_t count[NDIMS] = {1, 1, 1, 0, 0}, n = 1;
        int k = 3;
        if (var->shape == LYAP_SHAPE_VARIANCE || var->shape == LYAP_SHAPE_VARIANCE_DEPTH)
            n *= count[k++] = (size_t)r->nvariances;
        if (var->shape == LYAP_SHAPE_DEPTH || var->shape == LYAP_SHAPE_VARIANCE_DEPTH)
            n *= count[k++] = (size_t)r->ndepths;
        if (var->field == SIZE_MAX) {
            signed char one = 1;
            LYAP_CALL(nc_check(nc_put_vara_schar(nc->ncid, nc->varid[v], start, count, &one), nc, var->name));
            continue;
        }
        const double *data = *(double *const *)((const char *)r + var->field);
        if (var->is_flag) {
            signed char *flags;
            LYAP_CALL(lyap_alloc(&flags, n, 1, var->name));
            for (size_t i = 0; i < n; i++)
                flags[i] = (signed char)data[i];
            int status = nc_check(nc_put_vara_schar(nc->ncid, nc->varid[v], start, count, flags), nc, var->name);
            free(flags);
            LYAP_CALL(status);
        } else {
            LYAP_CALL(nc_check(nc_put_vara_double(nc->ncid, nc->varid[v], start, count, data), nc, var->name));
        }
    }
    return LYAP_OK;
}

static void ncout_free(lyap_ncout **nc)
{
    free((*nc)->path);
    free((*nc)->partial);
    free(*nc);
    *nc = NULL;
}

int lyap_ncout_finish(lyap_ncout **nc)
{
    int status = nc_check(nc_close((*nc)->ncid), *nc, "close");
    (*nc)->ncid = -1;
    if (status == LYAP_OK && rename((*nc)->partial, (*nc)->path) != 0)
        status = lyap_fail(LYAP_EIO, "%s: cannot rename to %s: %s", (*nc)->partial, (*nc)->path, strerror(errno));
    if (status != LYAP_OK) {
        lyap_ncout_abort(nc);
        return status;
    }
    ncout_free(nc);
    return LYAP_OK;
}

void lyap_ncout_abort(lyap_ncout **nc)
{
    if (!nc || !*nc)
        return;
    if ((*nc)->ncid >= 0)
        nc_close((*nc)->ncid);
    if ((*nc)->partial)
        remove((*nc)->partial);
    ncout_free(nc);
}
