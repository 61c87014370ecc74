/* nc_compare A.nc B.nc: exit 0 if every data variable of the schema
 * (lyap_result_variables) and every numeric coordinate is bit-identical in
 * the two files, 1 otherwise (printing the first difference). Used by the
 * rank-invariance test. */
#include <string.h>

#include "lyapdiag/ncout.h"
#include "ncread.h"

static int compare(int a, int b, const char *name)
{
    size_t na, nb;
    int ida, idb;
    if (nc_inq_varid(a, name, &ida) == NC_ENOTVAR && nc_inq_varid(b, name, &idb) == NC_ENOTVAR) {
        printf("PASS: %s: absent from both\n", name);
        return 1;
    }
    double *x = nc_read_doubles(a, name, &na), *y = nc_read_doubles(b, name, &nb);
    int same = na == nb && memcmp(x, y, sizeof *x * na) == 0;
    for (size_t i = 0; !same && na == nb && i < na; i++)
        if (memcmp(&x[i], &y[i], sizeof *x) != 0) {
            printf("FAIL: %s[%zu]: %.17g vs %.17g\n", name, i, x[i], y[i]);
            break;
        }
    if (na != nb)
        printf("FAIL: %s: %zu vs %zu values\n", name, na, nb);
    if (same)
        printf("PASS: %s: %zu values bit-identical\n", name, na);
    free(x);
    free(y);
    return same;
}

int main(int argc, char **argv)
{
    int a, b, same = 1;
    const char *coordinates[] = {"width", "slope", "variance", "bias_variance", "depth"};
    if (argc != 3) {
        fprintf(stderr, "usage: nc_compare A.nc B.nc\n");
        return 99;
    }
    nc_or_die(nc_open(argv[1], NC_NOWRITE, &a), argv[1]);
    nc_or_die(nc_open(argv[2], NC_NOWRITE, &b), argv[2]);
    for (size_t i = 0; i < sizeof coordinates / sizeof *coordinates; i++)
        same &= compare(a, b, coordinates[i]);
    for (int v = 0; v < lyap_result_nvariables; v++)
        same &= compare(a, b, lyap_result_variables[v].name);
    nc_close(a);
    nc_close(b);
    return same ? 0 : 1;
}
