/* flip_bit FILE VARIABLE BIT: damages one stored value of VARIABLE in the
 * NetCDF-4 file FILE the way a bad disk or a stray write would, to prove
 * that --resume refuses it (tests/test_damaged_checkpoint_is_refused.sh).
 *
 * Reads VARIABLE (float64) through NetCDF, takes the first finite, non-zero
 * value whose 8 bytes occur exactly once in the raw file (the data are
 * stored uncompressed, little-endian as in memory), closes the file, and
 * flips bit BIT (0 = lowest of the mantissa, 63 = sign) of that value in
 * place. Prints what it flipped; exits 1 if no such value exists. */
#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long occurrences(const unsigned char *raw, long size, const unsigned char *pattern, long *at)
{
    long n = 0;
    for (long i = 0; i + 8 <= size; i++)
        if (memcmp(raw + i, pattern, 8) == 0 && n++ == 0)
            *at = i;
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: flip_bit FILE VARIABLE BIT(0-63)\n");
        return 2;
    }
    const char *file = argv[1], *name = argv[2];
    int bit = atoi(argv[3]), ncid, varid, ndims, dimids[NC_MAX_VAR_DIMS];
    size_t n = 1, len;
    if (bit < 0 || bit > 63 || nc_open(file, NC_NOWRITE, &ncid) != NC_NOERR || nc_inq_varid(ncid, name, &varid) ||
        nc_inq_varndims(ncid, varid, &ndims) || nc_inq_vardimid(ncid, varid, dimids)) {
        fprintf(stderr, "flip_bit: %s: cannot read variable %s (or bad bit %s)\n", file, name, argv[3]);
        return 1;
    }
    for (int d = 0; d < ndims; d++) {
        nc_inq_dimlen(ncid, dimids[d], &len);
        n *= len;
    }
    double *values = malloc(n * sizeof *values);
    if (!values || nc_get_var_double(ncid, varid, values) != NC_NOERR) {
        fprintf(stderr, "flip_bit: %s: cannot read %s\n", file, name);
        return 1;
    }
    nc_close(ncid);

    FILE *f = fopen(file, "r+b");
    if (!f || fseek(f, 0, SEEK_END) != 0) {
        fprintf(stderr, "flip_bit: %s: cannot open for writing\n", file);
        return 1;
    }
    long size = ftell(f);
    unsigned char *raw = malloc((size_t)size);
    rewind(f);
    if (!raw || fread(raw, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "flip_bit: %s: cannot read its bytes\n", file);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        long at = -1;
        if (!isfinite(values[i]) || values[i] == 0 || occurrences(raw, size, (unsigned char *)&values[i], &at) != 1)
            continue;
        long byte = at + bit / 8;
        raw[byte] ^= (unsigned char)(1u << (bit % 8));
        double damaged;
        memcpy(&damaged, raw + at, 8);
        if (fseek(f, byte, SEEK_SET) != 0 || fputc(raw[byte], f) == EOF || fclose(f) != 0) {
            fprintf(stderr, "flip_bit: %s: cannot write byte %ld\n", file, byte);
            return 1;
        }
        printf("flip_bit: %s: %s[%zu] = %.17g -> %.17g (bit %d, file byte %ld)\n", file, name, i, values[i], damaged,
               bit, byte);
        return 0;
    }
    fprintf(stderr, "flip_bit: %s: no finite %s value with a unique byte pattern\n", file, name);
    return 1;
}
