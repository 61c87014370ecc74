/* pack.c: block states without their runs of zeros (pack.h). */
#include "lyapdiag/pack.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "lyapdiag/error.h"

/* Shorter zero runs stay literals: a run costs two doubles of its own. */
enum { MIN_ZERO_RUN = 3 };

static int is_plus_zero(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits == 0;
}

static size_t zero_run(const double *state, size_t n, size_t i)
{
    size_t j = i;
    while (j < n && is_plus_zero(state[j]))
        j++;
    return j - i;
}

size_t lyap_pack(const double *state, size_t n, double *packed)
{
    size_t out = 0;
    for (size_t i = 0; i < n;) {
        size_t zeros = zero_run(state, n, i);
        if (zeros < MIN_ZERO_RUN && i + zeros < n)
            zeros = 0; /* a short run joins the literals */
        size_t start = i + zeros, end = start;
        while (end < n) {
            size_t next = zero_run(state, n, end);
            if (next >= MIN_ZERO_RUN || end + next == n)
                break;
            end += next > 0 ? next : 1;
        }
        packed[out++] = (double)zeros;
        packed[out++] = (double)(end - start);
        memcpy(packed + out, state + start, (end - start) * sizeof *state);
        out += end - start;
        i = end;
    }
    return out;
}

/* Reads the runs of a packed state one at a time. */
typedef struct {
    const double *packed;
    size_t length, p; /* the packed doubles, and the next run's offset */
    size_t at;        /* state index just past the previous run */
} run_reader;

/* The next run's literals: they go to state index *START, *COUNT of them
 * from *LITERALS. Returns 0 at the end, or at a run that does not fit in
 * N values or in the packed doubles (the reader stops there). */
static int next_run(run_reader *r, size_t n, size_t *start, const double **literals, size_t *count)
{
    if (r->p + 2 > r->length)
        return 0;
    double zeros = r->packed[r->p], literal = r->packed[r->p + 1];
    if (!(zeros >= 0 && literal >= 0 && zeros + literal <= (double)(n - r->at) &&
          (double)(r->p + 2) + literal <= (double)r->length))
        return 0;
    *start = r->at + (size_t)zeros;
    *count = (size_t)literal;
    *literals = r->packed + r->p + 2;
    r->at = *start + *count;
    r->p += 2 + *count;
    return 1;
}

int lyap_unpack(const double *packed, size_t length, double *state, size_t n, int state_is_zero)
{
    if (!state_is_zero)
        memset(state, 0, n * sizeof *state);
    run_reader r = {packed, length, 0, 0};
    size_t start, count;
    const double *literals;
    while (next_run(&r, n, &start, &literals, &count))
        memcpy(state + start, literals, count * sizeof *literals);
    if (r.p != length || r.at != n)
        return lyap_fail(LYAP_EIO, "a packed block state does not unpack to %zu values", n);
    return LYAP_OK;
}

void lyap_pack_clear(const double *packed, size_t length, double *state)
{
    run_reader r = {packed, length, 0, 0};
    size_t start, count;
    const double *literals;
    while (next_run(&r, SIZE_MAX, &start, &literals, &count))
        memset(state + start, 0, count * sizeof *state);
}

double lyap_pack_peek(const double *packed, size_t length, size_t i)
{
    run_reader r = {packed, length, 0, 0};
    size_t start, count;
    const double *literals;
    while (next_run(&r, SIZE_MAX, &start, &literals, &count))
        if (i < start + count)
            return i >= start ? literals[i - start] : 0.0;
    return NAN;
}
