/* ncread.h: small NetCDF readers shared by the file-checking test tools. */
#ifndef LYAPDIAG_TESTS_NCREAD_H
#define LYAPDIAG_TESTS_NCREAD_H

#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>

/* Exits 99 (automake's hard error) with the NetCDF message on failure:
 * a tool that cannot read its input must not look like a test verdict. */
static void nc_or_die(int status, const char *what)
{
    if (status != NC_NOERR) {
        fprintf(stderr, "ERROR: %s: %s\n", what, nc_strerror(status));
        exit(99);
    }
}

/* Reads variable NAME of file NCID into a new buffer of doubles
 * (converted by NetCDF); *N gets the number of values. */
static double *nc_read_doubles(int ncid, const char *name, size_t *n)
{
    int varid, ndims, dims[NC_MAX_VAR_DIMS];
    nc_or_die(nc_inq_varid(ncid, name, &varid), name);
    nc_or_die(nc_inq_varndims(ncid, varid, &ndims), name);
    nc_or_die(nc_inq_vardimid(ncid, varid, dims), name);
    *n = 1;
    for (int i = 0; i < ndims; i++) {
        size_t len;
        nc_or_die(nc_inq_dimlen(ncid, dims[i], &len), name);
        *n *= len;
    }
    double *data = malloc(sizeof *data * (*n ? *n : 1));
    if (!data) {
        fprintf(stderr, "ERROR: %s: out of memory\n", name);
        exit(99);
    }
    nc_or_die(nc_get_var_double(ncid, varid, data), name);
    return data;
}

#endif
